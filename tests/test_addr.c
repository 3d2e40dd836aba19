// SPDX-License-Identifier: Apache-2.0
/* Addresses, prefixes and ipBlocks: parse, format, contains, within. */
#include <errno.h>
#include <string.h>

#include "addr.h"
#include "check.h"

/* Address texts: NULL canonical means rejected, why a substring of the
 * reason. */
static const struct {
	const char *in;
	const char *canon;
	const char *why;
} addr_cases[] = {
	{ "10.0.0.1", "10.0.0.1", NULL },
	{ "0.0.0.0", "0.0.0.0", NULL },
	{ "255.255.255.255", "255.255.255.255", NULL },
	{ "256.0.0.1", NULL, "valid IP" },
	{ "1.2.3", NULL, "valid IP" },
	{ "1.2.3.4.5", NULL, "valid IP" },
	{ "1.2.3.", NULL, "valid IP" },
	{ "1..2.3", NULL, "valid IP" },
	{ "010.1.2.3", NULL, "leading 0s" },
	{ "1.2.3.04", NULL, "leading 0s" },
	{ " 1.2.3.4", NULL, "valid IP" },
	{ "1.2.3.4 ", NULL, "valid IP" },
	{ "", NULL, "valid IP" },
	{ "1.2.3.-4", NULL, "valid IP" },
	{ "::", "::", NULL },
	{ "::1", "::1", NULL },
	{ "1::", "1::", NULL },
	{ "FD00::1", "fd00::1", NULL },
	{ "2001:db8:0:0:0:0:0:1", "2001:db8::1", NULL },
	{ "2001:0db8:0000:0000:0001:0000:0000:0001", "2001:db8::1:0:0:1",
	  NULL },
	{ "2001:db8:0:1:0:0:0:1", "2001:db8:0:1::1", NULL },
	{ "2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1", NULL },
	{ "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8", NULL },
	{ "1:0:3:4:5:6:7:8", "1:0:3:4:5:6:7:8", NULL },
	{ "1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0", NULL },
	{ "::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8", NULL },
	{ "64:ff9b::1.2.3.4", "64:ff9b::102:304", NULL },
	{ "::1.2.3.4", "::102:304", NULL },
	{ "1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304", NULL },
	{ "::ffff:1.2.3.4", NULL, "IPv4-mapped" },
	{ "::ffff:102:304", NULL, "IPv4-mapped" },
	{ "::ffff:01.2.3.4", NULL, "leading 0s" },
	{ "fe80::1%eth0", NULL, "valid IP" },
	{ "1:2:3:4:5:6:7:8:9", NULL, "valid IP" },
	{ "1:2:3:4:5:6:7:8::", NULL, "valid IP" },
	{ "1:2:3:4:5:6:7", NULL, "valid IP" },
	{ "1::2::3", NULL, "valid IP" },
	{ ":::", NULL, "valid IP" },
	{ ":1::", NULL, "valid IP" },
	{ "1:", NULL, "valid IP" },
	{ "12345::", NULL, "valid IP" },
	{ "g::", NULL, "valid IP" },
	{ "1:2:3:4:5:6:7:1.2.3.4", NULL, "valid IP" },
	{ "1.2.3.4::", NULL, "valid IP" },
};

static void test_addr_parse(void)
{
	for (size_t i = 0; i < PW_ARRAY_SIZE(addr_cases); i++) {
		const char *in = addr_cases[i].in, *why = NULL;
		struct pw_addr a;
		char buf[PW_ADDR_STRLEN];
		int ret = pw_addr_parse_why(in, &a, &why);

		if (!addr_cases[i].canon) {
			CHECK(ret == -EINVAL, "'%s' accepted", in);
			CHECK(why && strstr(why, addr_cases[i].why),
			      "'%s': reason '%s'", in, why ? why : "(none)");
			continue;
		}
		CHECK(ret == 0, "'%s' rejected: %s", in, why ? why : "");
		if (ret)
			continue;
		pw_addr_format(&a, buf, sizeof(buf));
		CHECK(!strcmp(buf, addr_cases[i].canon),
		      "'%s' -> '%s', not '%s'", in, buf, addr_cases[i].canon);
		CHECK(pw_addr_parse(buf, &a) == 0, "canonical '%s' reparses",
		      buf);
	}
}

static const struct {
	const char *in;
	const char *canon;
	bool host_bits;
	const char *why; /* rejected when set */
} cidr_cases[] = {
	{ "10.0.0.0/8", "10.0.0.0/8", false, NULL },
	{ "10.1.2.3/8", "10.0.0.0/8", true, NULL },
	{ "10.1.2.3/32", "10.1.2.3/32", false, NULL },
	{ "0.0.0.0/0", "0.0.0.0/0", false, NULL },
	{ "1.2.3.4/0", "0.0.0.0/0", true, NULL },
	{ "192.168.1.129/25", "192.168.1.128/25", true, NULL },
	{ "192.168.1.128/25", "192.168.1.128/25", false, NULL },
	{ "172.16.255.255/12", "172.16.0.0/12", true, NULL },
	{ "10.0.0.0/33", NULL, false, "valid CIDR" },
	{ "10.0.0.0/08", NULL, false, "leading 0s" },
	{ "010.0.0.0/8", NULL, false, "leading 0s" },
	{ "10.0.0.0", NULL, false, "valid CIDR" },
	{ "10.0.0.0/", NULL, false, "valid CIDR" },
	{ "10.0.0.0/-1", NULL, false, "valid CIDR" },
	{ "10.0.0.0/8/8", NULL, false, "valid CIDR" },
	{ "/8", NULL, false, "valid CIDR" },
	{ "fd00::/8", "fd00::/8", false, NULL },
	{ "fd00::1/64", "fd00::/64", true, NULL },
	{ "2001:db8::/129", NULL, false, "valid CIDR" },
	{ "2001:db8::/128", "2001:db8::/128", false, NULL },
	{ "2001:DB8:0:0:8000::/65", "2001:db8:0:0:8000::/65", false, NULL },
	{ "2001:db8:0:0:1::/65", "2001:db8::/65", true, NULL },
	{ "2001:db8::ffff/127", "2001:db8::fffe/127", true, NULL },
	{ "::/0", "::/0", false, NULL },
	{ "::ffff:10.0.0.0/104", NULL, false, "IPv4-mapped" },
	{ "fe80::%1/64", NULL, false, "valid CIDR" },
};

static void test_cidr_parse(void)
{
	for (size_t i = 0; i < PW_ARRAY_SIZE(cidr_cases); i++) {
		const char *in = cidr_cases[i].in, *why = NULL;
		struct pw_cidr c;
		bool hb = !cidr_cases[i].host_bits;
		char buf[PW_ADDR_STRLEN];
		int ret = pw_cidr_parse(in, &c, &hb, &why);

		if (cidr_cases[i].why) {
			CHECK(ret == -EINVAL, "'%s' accepted", in);
			CHECK(why && strstr(why, cidr_cases[i].why),
			      "'%s': reason '%s'", in, why ? why : "(none)");
			continue;
		}
		CHECK(ret == 0, "'%s' rejected: %s", in, why ? why : "");
		if (ret)
			continue;
		pw_cidr_format(&c, buf, sizeof(buf));
		CHECK(!strcmp(buf, cidr_cases[i].canon),
		      "'%s' -> '%s', not '%s'", in, buf, cidr_cases[i].canon);
		CHECK(hb == cidr_cases[i].host_bits, "'%s': host bits %d", in,
		      hb);
	}
}

static struct pw_cidr cidr(const char *s)
{
	struct pw_cidr c;

	if (pw_cidr_parse(s, &c, NULL, NULL))
		memset(&c, 0, sizeof(c));
	return c;
}

static struct pw_addr addr(const char *s)
{
	struct pw_addr a;

	if (pw_addr_parse(s, &a))
		memset(&a, 0, sizeof(a));
	return a;
}

static const struct {
	const char *cidr, *addr;
	bool in;
} contains_cases[] = {
	{ "10.0.0.0/8", "10.255.1.2", true },
	{ "10.0.0.0/8", "11.0.0.0", false },
	{ "10.0.0.0/8", "9.255.255.255", false },
	{ "192.168.1.128/25", "192.168.1.128", true },
	{ "192.168.1.128/25", "192.168.1.127", false },
	{ "192.168.1.128/25", "192.168.1.255", true },
	{ "10.1.2.3/32", "10.1.2.3", true },
	{ "10.1.2.3/32", "10.1.2.4", false },
	{ "0.0.0.0/0", "203.0.113.9", true },
	{ "0.0.0.0/0", "::1", false },
	{ "::/0", "10.0.0.1", false },
	{ "::/0", "2001:db8::1", true },
	{ "2001:db8::/32", "2001:db8:ffff::1", true },
	{ "2001:db8::/32", "2001:db9::", false },
	{ "fd00::/7", "fdff::1", true },
	{ "fd00::/7", "fe00::1", false },
	{ "fd00::/7", "fc00::", true },
	{ "2001:db8::1/128", "2001:db8::1", true },
	{ "2001:db8::1/128", "2001:db8::2", false },
};

static void test_contains(void)
{
	for (size_t i = 0; i < PW_ARRAY_SIZE(contains_cases); i++) {
		struct pw_cidr c = cidr(contains_cases[i].cidr);
		struct pw_addr a = addr(contains_cases[i].addr);

		CHECK(pw_cidr_contains(&c, &a) == contains_cases[i].in,
		      "%s contains %s: expected %d", contains_cases[i].cidr,
		      contains_cases[i].addr, contains_cases[i].in);
	}
}

static const struct {
	const char *inner, *outer;
	bool within;
} within_cases[] = {
	{ "10.1.0.0/16", "10.0.0.0/8", true },
	{ "10.0.0.0/8", "10.0.0.0/8", true },
	{ "10.0.0.0/8", "10.0.0.0/16", false },
	{ "11.0.0.0/16", "10.0.0.0/8", false },
	{ "10.0.0.1/32", "0.0.0.0/0", true },
	{ "fd00:1::/32", "fd00::/16", true },
	{ "fd00::/16", "fd00:1::/32", false },
	{ "10.0.0.0/8", "::/0", false },
};

static void test_within(void)
{
	for (size_t i = 0; i < PW_ARRAY_SIZE(within_cases); i++) {
		struct pw_cidr in = cidr(within_cases[i].inner);
		struct pw_cidr out = cidr(within_cases[i].outer);

		CHECK(pw_cidr_within(&in, &out) == within_cases[i].within,
		      "%s within %s: expected %d", within_cases[i].inner,
		      within_cases[i].outer, within_cases[i].within);
	}
}

static void test_cmp(void)
{
	struct pw_addr a = addr("10.0.0.1"), b = addr("10.0.0.2");
	struct pw_addr c = addr("::1");

	CHECK(pw_addr_cmp(&a, &b) < 0, "10.0.0.1 < 10.0.0.2");
	CHECK(pw_addr_cmp(&b, &a) > 0, "10.0.0.2 > 10.0.0.1");
	CHECK(pw_addr_cmp(&a, &a) == 0, "equal");
	CHECK(pw_addr_cmp(&a, &c) < 0, "IPv4 before IPv6");
	CHECK(pw_addr_has_host_bits(&a, 24), "10.0.0.1/24 has host bits");
	CHECK(!pw_addr_has_host_bits(&a, 32), "10.0.0.1/32 has none");
}

/* ipBlock 10.0.0.0/8 except 10.1.0.0/16 and 10.2.3.0/24. */
static const struct {
	const char *addr;
	bool match;
} block_cases[] = {
	{ "10.0.0.1", true },	   { "10.1.0.1", false },
	{ "10.1.255.255", false }, { "10.2.3.4", false },
	{ "10.2.4.4", true },	   { "11.0.0.1", false },
	{ "10.255.0.0", true },	   { "::1", false },
};

static void test_ipblock(void)
{
	struct pw_except ex[2] = {
		{ .cidr = cidr("10.1.0.0/16"), .ok = true },
		{ .cidr = cidr("10.2.3.0/24"), .ok = true },
	};
	struct pw_ipblock b = {
		.cidr = cidr("10.0.0.0/8"),
		.cidr_ok = true,
		.except = ex,
		.nexcept = 2,
	};
	struct pw_addr a;

	for (size_t i = 0; i < PW_ARRAY_SIZE(block_cases); i++) {
		a = addr(block_cases[i].addr);
		CHECK(pw_ipblock_matches(&b, &a) == block_cases[i].match,
		      "ipBlock matches %s: expected %d", block_cases[i].addr,
		      block_cases[i].match);
	}
	a = addr("10.0.0.1");
	ex[1].ok = false;
	CHECK(!pw_ipblock_matches(&b, &a), "a block with a bad except fails");
	ex[1].ok = true;
	b.cidr_ok = false;
	CHECK(!pw_ipblock_matches(&b, &a), "a block with a bad cidr fails");
}

static void test_format_len(void)
{
	struct pw_addr a = addr("2001:db8:1:2:3:4:5:6");
	char small[8];
	int n = pw_addr_format(&a, small, sizeof(small));

	CHECK(n == (int)strlen("2001:db8:1:2:3:4:5:6"), "length %d", n);
	CHECK(strlen(small) == sizeof(small) - 1, "truncated, terminated");
}

int main(void)
{
	test_addr_parse();
	test_cidr_parse();
	test_contains();
	test_within();
	test_cmp();
	test_ipblock();
	test_format_len();
	return check_done("addr");
}
