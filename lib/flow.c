// SPDX-License-Identifier: Apache-2.0
/*
 * Flow records and their JSON line (podwall/flow.h). The line is written
 * by hand rather than through a JSON library: the fields and their order
 * are a contract, and the agent formats one per kernel event.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "flow_impl.h"
#include "util.h"

PW_EXPORT const char *pw_flow_verdict_name(enum pw_flow_verdict v)
{
	static const char *const names[] = {
		[PW_FLOW_ALLOWED] = "allowed",
		[PW_FLOW_DENIED] = "denied",
	};

	return (unsigned)v < PW_ARRAY_SIZE(names) ? names[v] : NULL;
}

PW_EXPORT const char *pw_flow_proto_name(enum pw_flow_proto p)
{
	static const char *const names[] = {
		[PW_FLOW_TCP] = "TCP",	     [PW_FLOW_UDP] = "UDP",
		[PW_FLOW_SCTP] = "SCTP",     [PW_FLOW_ICMP] = "ICMP",
		[PW_FLOW_ICMPV6] = "ICMPv6",
	};

	return (unsigned)p < PW_ARRAY_SIZE(names) ? names[p] : NULL;
}

PW_EXPORT struct pw_flow *pw_flow_new(void)
{
	struct pw_flow *f = calloc(1, sizeof(*f));

	if (!f) {
		errno = ENOMEM;
		return NULL;
	}
	f->num[PW_FLOW_VERSION] = 1;
	f->num[PW_FLOW_SPORT] = -1;
	f->num[PW_FLOW_DPORT] = -1;
	f->num[PW_FLOW_RULE] = -1;
	f->num[PW_FLOW_COUNT] = 1;
	f->verdict = PW_FLOW_DENIED;
	return f;
}

PW_EXPORT void pw_flow_free(struct pw_flow *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < PW_FLOW_STR_NR; i++)
		free(f->str[i]);
	for (size_t i = 0; i < f->npol; i++)
		free(f->pol[i]);
	free(f->pol);
	free(f);
}

PW_EXPORT struct pw_flow *pw_flow_dup(const struct pw_flow *f)
{
	struct pw_flow *c = pw_flow_new();

	if (!c)
		return NULL;
	memcpy(c->num, f->num, sizeof(c->num));
	c->sec = f->sec;
	c->usec = f->usec;
	c->verdict = f->verdict;
	c->dir = f->dir;
	c->proto = f->proto;
	for (size_t i = 0; i < PW_FLOW_STR_NR; i++)
		if (pw_flow_set_str(c, (enum pw_flow_str)i, f->str[i]))
			goto err_free;
	for (size_t i = 0; i < f->npol; i++)
		if (pw_flow_add_policy(c, f->pol[i]))
			goto err_free;
	return c;

err_free:
	pw_flow_free(c);
	errno = ENOMEM;
	return NULL;
}

PW_EXPORT int pw_flow_set_str(struct pw_flow *f, enum pw_flow_str k,
			      const char *v)
{
	char *s = NULL;

	if ((unsigned)k >= PW_FLOW_STR_NR)
		return -EINVAL;
	if (v && !(s = strdup(v)))
		return -ENOMEM;
	free(f->str[k]);
	f->str[k] = s;
	return 0;
}

/* What each integer field may hold; -1 stands for null where allowed. */
static const struct {
	int64_t min, max;
} num_range[PW_FLOW_NUM_NR] = {
	[PW_FLOW_VERSION] = { 1, INT32_MAX },
	[PW_FLOW_SPORT] = { -1, 65535 },
	[PW_FLOW_DPORT] = { -1, 65535 },
	[PW_FLOW_RULE] = { -1, INT32_MAX },
	[PW_FLOW_COUNT] = { 1, INT64_MAX },
};

bool flow_num_ok(enum pw_flow_num k, int64_t v)
{
	return v >= num_range[k].min && v <= num_range[k].max;
}

PW_EXPORT int pw_flow_set_num(struct pw_flow *f, enum pw_flow_num k, int64_t v)
{
	if ((unsigned)k >= PW_FLOW_NUM_NR || !flow_num_ok(k, v))
		return -EINVAL;
	f->num[k] = v;
	return 0;
}

PW_EXPORT int pw_flow_set_time(struct pw_flow *f, int64_t sec, uint32_t usec)
{
	if (sec < 0 || sec > FLOW_TIME_MAX || usec > 999999)
		return -EINVAL;
	f->sec = sec;
	f->usec = usec;
	return 0;
}

PW_EXPORT int pw_flow_set_verdict(struct pw_flow *f, enum pw_flow_verdict v)
{
	if (!pw_flow_verdict_name(v))
		return -EINVAL;
	f->verdict = v;
	return 0;
}

PW_EXPORT int pw_flow_set_direction(struct pw_flow *f, enum pw_dir d)
{
	if ((unsigned)d >= PW_DIR_NR)
		return -EINVAL;
	f->dir = d;
	return 0;
}

PW_EXPORT int pw_flow_set_proto(struct pw_flow *f, enum pw_flow_proto p)
{
	if (!pw_flow_proto_name(p))
		return -EINVAL;
	f->proto = p;
	return 0;
}

PW_EXPORT int pw_flow_add_policy(struct pw_flow *f, const char *name)
{
	char *s = strdup(name);

	if (!s || pw_grow((void **)&f->pol, &f->cappol, f->npol + 1,
			  sizeof(*f->pol))) {
		free(s);
		return -ENOMEM;
	}
	f->pol[f->npol++] = s;
	return 0;
}

PW_EXPORT const char *pw_flow_str(const struct pw_flow *f, enum pw_flow_str k)
{
	return (unsigned)k < PW_FLOW_STR_NR ? f->str[k] : NULL;
}

PW_EXPORT int64_t pw_flow_num(const struct pw_flow *f, enum pw_flow_num k)
{
	return (unsigned)k < PW_FLOW_NUM_NR ? f->num[k] : -1;
}

PW_EXPORT int64_t pw_flow_time(const struct pw_flow *f, uint32_t *usec)
{
	if (usec)
		*usec = f->usec;
	return f->sec;
}

PW_EXPORT enum pw_flow_verdict pw_flow_verdict(const struct pw_flow *f)
{
	return (enum pw_flow_verdict)f->verdict;
}

PW_EXPORT enum pw_dir pw_flow_direction(const struct pw_flow *f)
{
	return (enum pw_dir)f->dir;
}

PW_EXPORT enum pw_flow_proto pw_flow_proto(const struct pw_flow *f)
{
	return (enum pw_flow_proto)f->proto;
}

PW_EXPORT size_t pw_flow_policy_count(const struct pw_flow *f)
{
	return f->npol;
}

PW_EXPORT const char *pw_flow_policy(const struct pw_flow *f, size_t i)
{
	return i < f->npol ? f->pol[i] : NULL;
}

static bool str_eq(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

PW_EXPORT bool pw_flow_equal(const struct pw_flow *a, const struct pw_flow *b)
{
	if (memcmp(a->num, b->num, sizeof(a->num)) || a->sec != b->sec ||
	    a->usec != b->usec || a->verdict != b->verdict ||
	    a->dir != b->dir || a->proto != b->proto || a->npol != b->npol)
		return false;
	for (size_t i = 0; i < PW_FLOW_STR_NR; i++)
		if (!str_eq(a->str[i], b->str[i]))
			return false;
	for (size_t i = 0; i < a->npol; i++)
		if (strcmp(a->pol[i], b->pol[i]))
			return false;
	return true;
}

/* ---- the JSON line ------------------------------------------------- */

/* Output that counts what it could not write, like snprintf. */
struct out {
	char *buf;
	size_t len, n;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->n < o->len) {
		size_t room = o->len - o->n;

		memcpy(o->buf + o->n, s, n < room ? n : room);
	}
	o->n += n;
}

static void puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

/* A JSON string: quote, backslash and control bytes escaped (DEL too,
 * so a name cannot drive a terminal); other bytes pass as they are. */
static void put_str(struct out *o, const char *s)
{
	char esc[8];

	if (!s) {
		puts_(o, "null");
		return;
	}
	put(o, "\"", 1);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			put(o, esc, 2);
		} else if (c < 0x20 || c == 0x7f) {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			put(o, esc, 6);
		} else {
			put(o, s, 1);
		}
	}
	put(o, "\"", 1);
}

static void put_num(struct out *o, int64_t v, bool nullable)
{
	char b[24];

	if (nullable && v < 0) {
		puts_(o, "null");
		return;
	}
	snprintf(b, sizeof(b), "%" PRId64, v);
	puts_(o, b);
}

static void put_time(struct out *o, const struct pw_flow *f)
{
	time_t t = (time_t)f->sec;
	struct tm tm;
	char b[96]; /* room for any int, though the range keeps it at 29 */

	gmtime_r(&t, &tm);
	snprintf(b, sizeof(b), "\"%04d-%02d-%02dT%02d:%02d:%02d.%06uZ\"",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, (unsigned)f->usec);
	puts_(o, b);
}

static void put_policies(struct out *o, const struct pw_flow *f)
{
	put(o, "[", 1);
	for (size_t i = 0; i < f->npol; i++) {
		if (i)
			put(o, ",", 1);
		put_str(o, f->pol[i]);
	}
	put(o, "]", 1);
}

/* Required strings are never null on the line. */
static const char *req(const struct pw_flow *f, enum pw_flow_str k)
{
	return f->str[k] ? f->str[k] : "";
}

PW_EXPORT int pw_flow_format(const struct pw_flow *f, char *buf, size_t len)
{
	struct out o = { .buf = buf, .len = len };

	puts_(&o, "{\"version\":");
	put_num(&o, f->num[PW_FLOW_VERSION], false);
	puts_(&o, ",\"time\":");
	put_time(&o, f);
	puts_(&o, ",\"node\":");
	put_str(&o, req(f, PW_FLOW_NODE));
	puts_(&o, ",\"verdict\":");
	put_str(&o, pw_flow_verdict_name(pw_flow_verdict(f)));
	puts_(&o, ",\"direction\":");
	put_str(&o, pw_dir_name(pw_flow_direction(f)));
	puts_(&o, ",\"src\":");
	put_str(&o, req(f, PW_FLOW_SRC));
	puts_(&o, ",\"dst\":");
	put_str(&o, req(f, PW_FLOW_DST));
	puts_(&o, ",\"src_ip\":");
	put_str(&o, req(f, PW_FLOW_SRC_IP));
	puts_(&o, ",\"dst_ip\":");
	put_str(&o, req(f, PW_FLOW_DST_IP));
	puts_(&o, ",\"protocol\":");
	put_str(&o, pw_flow_proto_name(pw_flow_proto(f)));
	puts_(&o, ",\"sport\":");
	put_num(&o, f->num[PW_FLOW_SPORT], true);
	puts_(&o, ",\"dport\":");
	put_num(&o, f->num[PW_FLOW_DPORT], true);
	puts_(&o, ",\"policy\":");
	put_str(&o, f->str[PW_FLOW_POLICY]);
	puts_(&o, ",\"rule\":");
	put_num(&o, f->num[PW_FLOW_RULE], true);
	puts_(&o, ",\"policies\":");
	put_policies(&o, f);
	puts_(&o, ",\"count\":");
	put_num(&o, f->num[PW_FLOW_COUNT], false);
	if (f->str[PW_FLOW_CHECK]) {
		puts_(&o, ",\"check\":");
		put_str(&o, f->str[PW_FLOW_CHECK]);
	}
	puts_(&o, "}\n");
	if (len)
		buf[o.n < len ? o.n : len - 1] = '\0';
	return o.n > INT32_MAX ? INT32_MAX : (int)o.n;
}
