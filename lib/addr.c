// SPDX-License-Identifier: Apache-2.0
/*
 * IP addresses, prefixes and ipBlocks.
 *
 * Which texts are addresses: we follow the API server with its strict IP
 * and CIDR validation (KEP-4858, the StrictIPCIDRValidation rules in
 * pkg/apis/core/validation/ips.go), which is Go's net/netip grammar:
 *
 *  - an IPv4 octet with a leading zero ("010.1.2.3") is rejected: libc
 *    reads it as octal, Go as decimal, so the same text names two
 *    addresses;
 *  - IPv6 zones ("fe80::1%eth0") are rejected;
 *  - IPv4-mapped IPv6 addresses ("::ffff:1.2.3.4", in any spelling) are
 *    rejected: some software treats them as IPv4, some as IPv6, and
 *    Kubernetes has no use for them. Other IPv6 forms with an embedded
 *    IPv4 tail ("64:ff9b::1.2.3.4") are plain IPv6 and accepted;
 *  - a prefix length with a leading zero ("10.0.0.0/08") is rejected.
 *
 * Older API servers accepted the first and third forms in legacy fields
 * (ipBlock among them) and only warn; a policy that relies on them is
 * ambiguous, so podwall refuses it. To say why, the parsers run a second,
 * sloppy pass that tells "leading zeros" apart from plain garbage.
 *
 * Host bits in a CIDR ("10.0.0.1/8") are accepted and cleared, as the API
 * server still does for ipBlock (strict validation turns them into an
 * error only when the feature gate is on); the caller warns.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"

#define MSG_BAD_IP \
	"must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
#define MSG_BAD_CIDR \
	"must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"

static const uint8_t v4mapped_prefix[12] = { 0, 0, 0, 0, 0,    0,
					     0, 0, 0, 0, 0xff, 0xff };

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int hex_val(char c)
{
	if (is_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* A decimal number of at most `max` value from s[0..n); leading zeros only
 * when sloppy. Returns the digits consumed, 0 on error. */
static size_t parse_dec(const char *s, size_t n, unsigned max, bool sloppy,
			unsigned *out)
{
	size_t i = 0;
	unsigned v = 0;

	while (i < n && is_digit(s[i]) && i < 10) {
		v = v * 10 + (unsigned)(s[i] - '0');
		i++;
	}
	if (!i || v > max || (i > 1 && s[0] == '0' && !sloppy))
		return 0;
	*out = v;
	return i;
}

/* Dotted quad in exactly s[0..n). */
static int parse_v4(const char *s, size_t n, uint8_t out[4], bool sloppy)
{
	size_t i = 0;

	for (int k = 0; k < 4; k++) {
		unsigned v;
		size_t d;

		if (k) {
			if (i >= n || s[i] != '.')
				return -EINVAL;
			i++;
		}
		d = parse_dec(s + i, n - i, 255, sloppy, &v);
		if (!d)
			return -EINVAL;
		out[k] = (uint8_t)v;
		i += d;
	}
	return i == n ? 0 : -EINVAL;
}

/* Reads up to four hex digits at s[*i]; -1 when there is none or more. */
static int parse_group(const char *s, size_t n, size_t *i)
{
	size_t start = *i;
	int v = 0;

	while (*i < n && hex_val(s[*i]) >= 0 && *i - start < 5)
		v = v * 16 + hex_val(s[(*i)++]);
	if (*i == start || *i - start > 4)
		return -1;
	return v;
}

struct v6state {
	uint16_t g[8];
	int ng;
	int ellipsis; /* index of "::", -1 when absent */
};

/* The groups of s[0..n), with the "::" position noted. */
static int scan_v6(const char *s, size_t n, struct v6state *st, bool sloppy)
{
	size_t i = 0;

	st->ng = 0;
	st->ellipsis = -1;
	if (n >= 2 && s[0] == ':' && s[1] == ':') {
		st->ellipsis = 0;
		i = 2;
	}
	while (i < n) {
		size_t start = i;
		int v = parse_group(s, n, &i);

		if (i < n && s[i] == '.') {
			uint8_t b4[4];

			if (st->ng > 6 ||
			    parse_v4(s + start, n - start, b4, sloppy))
				return -EINVAL;
			st->g[st->ng++] = (uint16_t)(b4[0] << 8 | b4[1]);
			st->g[st->ng++] = (uint16_t)(b4[2] << 8 | b4[3]);
			return 0;
		}
		if (v < 0 || st->ng == 8)
			return -EINVAL;
		st->g[st->ng++] = (uint16_t)v;
		if (i == n)
			break;
		if (s[i++] != ':' || i == n)
			return -EINVAL;
		if (s[i] == ':') {
			if (st->ellipsis >= 0)
				return -EINVAL;
			st->ellipsis = st->ng;
			i++;
		}
	}
	return 0;
}

static int parse_v6(const char *s, size_t n, uint8_t out[16], bool sloppy)
{
	struct v6state st;
	int k = 0;

	if (scan_v6(s, n, &st, sloppy))
		return -EINVAL;
	/* "::" stands for at least one group of zeros. */
	if (st.ellipsis < 0 ? st.ng != 8 : st.ng > 7)
		return -EINVAL;
	memset(out, 0, 16);
	for (int i = 0; i < st.ng; i++) {
		if (i == st.ellipsis)
			k += 8 - st.ng;
		out[2 * k] = (uint8_t)(st.g[i] >> 8);
		out[2 * k + 1] = (uint8_t)st.g[i];
		k++;
	}
	return 0;
}

static int parse_any(const char *s, size_t n, struct pw_addr *out, bool sloppy)
{
	memset(out, 0, sizeof(*out));
	if (memchr(s, ':', n)) {
		out->family = 6;
		return parse_v6(s, n, out->b, sloppy);
	}
	out->family = 4;
	return parse_v4(s, n, out->b, sloppy);
}

static bool is_v4mapped(const struct pw_addr *a)
{
	return a->family == 6 && !memcmp(a->b, v4mapped_prefix, 12);
}

static int set_why(const char **why, const char *msg)
{
	if (why)
		*why = msg;
	return -EINVAL;
}

/* Parses s[0..n) strictly; on failure tells why with a sloppy retry. */
static int parse_addr_n(const char *s, size_t n, struct pw_addr *out,
			const char **why, const char *bad, const char *zeros,
			const char *mapped)
{
	struct pw_addr tmp;

	if (parse_any(s, n, out, false)) {
		if (!parse_any(s, n, &tmp, true))
			return set_why(why, zeros);
		return set_why(why, bad);
	}
	if (is_v4mapped(out))
		return set_why(why, mapped);
	return 0;
}

int pw_addr_parse_why(const char *s, struct pw_addr *out, const char **why)
{
	return parse_addr_n(s, strlen(s), out, why, MSG_BAD_IP,
			    "must not have leading 0s",
			    "must not be an IPv4-mapped IPv6 address");
}

int pw_addr_parse(const char *s, struct pw_addr *out)
{
	return pw_addr_parse_why(s, out, NULL);
}

unsigned pw_addr_bits(const struct pw_addr *a)
{
	return a->family == 4 ? 32 : 128;
}

/* The mask of byte i of a prefix of len bits. */
static uint8_t byte_mask(unsigned len, unsigned i)
{
	if (len >= 8 * (i + 1))
		return 0xff;
	if (len <= 8 * i)
		return 0;
	return (uint8_t)(0xff00u >> (len - 8 * i));
}

/* Clears (when clear) and tests the bits after len. */
static bool host_bits(struct pw_addr *a, unsigned len, bool clear)
{
	unsigned nbytes = pw_addr_bits(a) / 8;
	bool any = false;

	for (unsigned i = 0; i < nbytes; i++) {
		uint8_t mask = byte_mask(len, i);

		any |= (a->b[i] & (uint8_t)~mask) != 0;
		if (clear)
			a->b[i] &= mask;
	}
	return any;
}

bool pw_addr_has_host_bits(const struct pw_addr *a, unsigned len)
{
	struct pw_addr tmp = *a;

	return host_bits(&tmp, len, false);
}

static int parse_len(const char *s, unsigned max, unsigned *len,
		     const char **why)
{
	size_t n = strlen(s);

	if (n && parse_dec(s, n, max, false, len) == n)
		return 0;
	if (n && parse_dec(s, n, max, true, len) == n)
		return set_why(why, "must not have leading 0s in IP or prefix "
				    "length");
	return set_why(why, MSG_BAD_CIDR);
}

int pw_cidr_parse(const char *s, struct pw_cidr *out, bool *host_bits_set,
		  const char **why)
{
	const char *slash = strchr(s, '/');
	unsigned len;
	bool any;

	memset(out, 0, sizeof(*out));
	if (!slash)
		return set_why(why, MSG_BAD_CIDR);
	if (parse_addr_n(s, (size_t)(slash - s), &out->addr, why, MSG_BAD_CIDR,
			 "must not have leading 0s in IP or prefix length",
			 "must not have an IPv4-mapped IPv6 address"))
		return -EINVAL;
	if (parse_len(slash + 1, pw_addr_bits(&out->addr), &len, why))
		return -EINVAL;
	out->len = (uint8_t)len;
	any = host_bits(&out->addr, len, true);
	if (host_bits_set)
		*host_bits_set = any;
	return 0;
}

/* The longest run of at least two zero groups (the first of equals), as
 * RFC 5952 section 4.2 asks; *start = -1 when there is none. */
static void zero_run(const uint16_t g[8], int *start, int *len)
{
	*start = -1;
	*len = 1;
	for (int i = 0; i < 8;) {
		int j = i;

		while (j < 8 && !g[j])
			j++;
		if (j - i > *len) {
			*start = i;
			*len = j - i;
		}
		i = j > i ? j : i + 1;
	}
}

static int format_v6(const uint8_t b[16], char *buf, size_t len)
{
	uint16_t g[8];
	char out[PW_ADDR_STRLEN];
	size_t o = 0;
	int zs, zl, ng = 8;

	for (int i = 0; i < 8; i++)
		g[i] = (uint16_t)(b[2 * i] << 8 | b[2 * i + 1]);
	/* RFC 5952 section 5: IPv4-mapped addresses keep the dotted tail. */
	if (!memcmp(b, v4mapped_prefix, 12))
		ng = 6;
	zero_run(g, &zs, &zl);
	if (zs >= ng)
		zs = -1;
	for (int i = 0; i < ng; i++) {
		if (i == zs) {
			o += (size_t)snprintf(out + o, sizeof(out) - o, "::");
			i += zl - 1;
			continue;
		}
		o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%x",
				      i && i != zs + zl ? ":" : "", g[i]);
	}
	if (ng == 6)
		snprintf(out + o, sizeof(out) - o, "%s%u.%u.%u.%u",
			 zs >= 0 && zs + zl == 6 ? "" : ":", b[12], b[13],
			 b[14], b[15]);
	return snprintf(buf, len, "%s", out);
}

int pw_addr_format(const struct pw_addr *a, char *buf, size_t len)
{
	if (a->family == 6)
		return format_v6(a->b, buf, len);
	return snprintf(buf, len, "%u.%u.%u.%u", a->b[0], a->b[1], a->b[2],
			a->b[3]);
}

int pw_cidr_format(const struct pw_cidr *c, char *buf, size_t len)
{
	char a[PW_ADDR_STRLEN];

	pw_addr_format(&c->addr, a, sizeof(a));
	return snprintf(buf, len, "%s/%u", a, c->len);
}

int pw_addr_cmp(const struct pw_addr *a, const struct pw_addr *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	return memcmp(a->b, b->b, sizeof(a->b));
}

bool pw_cidr_contains(const struct pw_cidr *c, const struct pw_addr *a)
{
	unsigned nbytes = pw_addr_bits(a) / 8;

	if (a->family != c->addr.family)
		return false;
	for (unsigned i = 0; i < nbytes; i++)
		if ((a->b[i] ^ c->addr.b[i]) & byte_mask(c->len, i))
			return false;
	return true;
}

bool pw_cidr_within(const struct pw_cidr *inner, const struct pw_cidr *outer)
{
	return inner->len >= outer->len &&
	       pw_cidr_contains(outer, &inner->addr);
}

bool pw_ipblock_matches(const struct pw_ipblock *b, const struct pw_addr *a)
{
	if (!b->cidr_ok || !pw_cidr_contains(&b->cidr, a))
		return false;
	for (size_t i = 0; i < b->nexcept; i++) {
		if (!b->except[i].ok)
			return false;
		if (pw_cidr_contains(&b->except[i].cidr, a))
			return false;
	}
	return true;
}
