// SPDX-License-Identifier: Apache-2.0
/* Protocols, ports and port names. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ports.h"
#include "util.h"

static const char *const proto_names[] = {
	[PW_PROTO_TCP] = "TCP",
	[PW_PROTO_UDP] = "UDP",
	[PW_PROTO_SCTP] = "SCTP",
};

PW_EXPORT const char *pw_proto_name(enum pw_proto p)
{
	return (unsigned)p < PW_ARRAY_SIZE(proto_names) ? proto_names[p] : NULL;
}

static int proto_lookup(const char *s, enum pw_proto *out,
			int (*cmp)(const char *, const char *))
{
	for (size_t i = 0; i < PW_ARRAY_SIZE(proto_names); i++) {
		if (!cmp(s, proto_names[i])) {
			*out = (enum pw_proto)i;
			return 0;
		}
	}
	return -EINVAL;
}

PW_EXPORT int pw_proto_parse(const char *s, enum pw_proto *out)
{
	return s ? proto_lookup(s, out, strcmp) : -EINVAL;
}

/* Decimal 1..65535 in s[0..n), digits only. */
static int parse_num(const char *s, size_t n, uint16_t *out)
{
	uint32_t v = 0;

	if (!n || n > 5)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (uint32_t)(s[i] - '0');
	}
	if (!pw_port_num_valid(v))
		return -EINVAL;
	*out = (uint16_t)v;
	return 0;
}

PW_EXPORT int pw_port_parse(const char *s, struct pw_port *out)
{
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	enum pw_proto proto = PW_PROTO_TCP;
	uint16_t num;

	if (parse_num(s, n, &num))
		return -EINVAL;
	if (slash && proto_lookup(slash + 1, &proto, strcasecmp))
		return -EINVAL;
	out->num = num;
	out->proto = (uint8_t)proto;
	return 0;
}

PW_EXPORT int pw_port_format(const struct pw_port *p, char *buf, size_t len)
{
	const char *name = pw_proto_name((enum pw_proto)p->proto);

	return snprintf(buf, len, "%u/%s", p->num, name ? name : "?");
}

PW_EXPORT int pw_port_cmp(const struct pw_port *a, const struct pw_port *b)
{
	if (a->proto != b->proto)
		return a->proto < b->proto ? -1 : 1;
	if (a->num != b->num)
		return a->num < b->num ? -1 : 1;
	return 0;
}

bool pw_port_num_valid(int64_t port)
{
	return port >= 1 && port <= 65535;
}

static size_t add_msg(const char **msgs, size_t max, size_t n, const char *msg)
{
	if (n < max)
		msgs[n] = msg;
	return n + 1;
}

/* The checks of IsValidPortName, in its order and words. */
size_t pw_port_name_errors(const char *name, const char **msgs, size_t max)
{
	size_t len = strlen(name), n = 0;
	bool letter = false, bad = !len; /* the charset needs one */

	for (size_t i = 0; i < len; i++) {
		char c = name[i];

		letter |= c >= 'a' && c <= 'z';
		bad |= !((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			 c == '-');
	}
	if (len > 15)
		n = add_msg(msgs, max, n, "must be no more than 15 characters");
	if (bad)
		n = add_msg(msgs, max, n,
			    "must contain only alpha-numeric characters "
			    "(a-z, 0-9), and hyphens (-)");
	if (!letter)
		n = add_msg(msgs, max, n,
			    "must contain at least one letter (a-z)");
	if (strstr(name, "--"))
		n = add_msg(msgs, max, n,
			    "must not contain consecutive hyphens");
	if (len && (name[0] == '-' || name[len - 1] == '-'))
		n = add_msg(msgs, max, n,
			    "must not begin or end with a hyphen");
	return n;
}

bool pw_port_name_valid(const char *name)
{
	return !pw_port_name_errors(name, NULL, 0);
}
