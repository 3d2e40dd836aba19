// SPDX-License-Identifier: Apache-2.0
/* Protocols, ports and port names. */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "ports.h"
#include "util.h"

static const struct {
	const char *in;
	const char *out; /* NULL: rejected */
} port_cases[] = {
	{ "80", "80/TCP" },	{ "80/TCP", "80/TCP" },
	{ "80/tcp", "80/TCP" }, { "53/UDP", "53/UDP" },
	{ "53/Udp", "53/UDP" }, { "9000/SCTP", "9000/SCTP" },
	{ "1", "1/TCP" },	{ "65535/UDP", "65535/UDP" },
	{ "65536", NULL },	{ "0", NULL },
	{ "00080", "80/TCP" },	{ "-1", NULL },
	{ "", NULL },		{ "/TCP", NULL },
	{ "80/", NULL },	{ "80/ICMP", NULL },
	{ "80/TCP/UDP", NULL }, { "80 ", NULL },
	{ " 80", NULL },	{ "8o", NULL },
	{ "http", NULL },	{ "999999", NULL },
};

static void test_port_parse(void)
{
	for (size_t i = 0; i < PW_ARRAY_SIZE(port_cases); i++) {
		struct pw_port p;
		char buf[32];
		int ret = pw_port_parse(port_cases[i].in, &p);

		if (!port_cases[i].out) {
			CHECK(ret == -EINVAL, "'%s' accepted",
			      port_cases[i].in);
			continue;
		}
		CHECK(ret == 0, "'%s' rejected", port_cases[i].in);
		if (ret)
			continue;
		pw_port_format(&p, buf, sizeof(buf));
		CHECK(!strcmp(buf, port_cases[i].out), "'%s' -> '%s', not '%s'",
		      port_cases[i].in, buf, port_cases[i].out);
	}
}

static void test_proto(void)
{
	enum pw_proto p = PW_PROTO_NR;

	CHECK(pw_proto_parse("TCP", &p) == 0 && p == PW_PROTO_TCP, "TCP");
	CHECK(pw_proto_parse("UDP", &p) == 0 && p == PW_PROTO_UDP, "UDP");
	CHECK(pw_proto_parse("SCTP", &p) == 0 && p == PW_PROTO_SCTP, "SCTP");
	CHECK(pw_proto_parse("tcp", &p) == -EINVAL, "lower case rejected");
	CHECK(pw_proto_parse("ICMP", &p) == -EINVAL, "ICMP rejected");
	CHECK(pw_proto_parse("", &p) == -EINVAL, "empty rejected");
	CHECK(pw_proto_parse(NULL, &p) == -EINVAL, "NULL rejected");
	CHECK(!strcmp(pw_proto_name(PW_PROTO_SCTP), "SCTP"), "name");
	CHECK(pw_proto_name(PW_PROTO_NR) == NULL, "out of range");
	CHECK(pw_proto_name((enum pw_proto) - 1) == NULL, "negative");
}

static void test_port_cmp(void)
{
	struct pw_port tcp80 = { 80, PW_PROTO_TCP };
	struct pw_port tcp443 = { 443, PW_PROTO_TCP };
	struct pw_port udp53 = { 53, PW_PROTO_UDP };
	struct pw_port sctp1 = { 1, PW_PROTO_SCTP };

	CHECK(pw_port_cmp(&tcp80, &tcp443) < 0, "80 < 443");
	CHECK(pw_port_cmp(&tcp443, &udp53) < 0, "TCP before UDP");
	CHECK(pw_port_cmp(&udp53, &sctp1) < 0, "UDP before SCTP");
	CHECK(pw_port_cmp(&sctp1, &tcp80) > 0, "SCTP after TCP");
	CHECK(pw_port_cmp(&udp53, &udp53) == 0, "equal");
}

/* Port names: NULL means valid, else a substring of the first message. */
static const struct {
	const char *name;
	const char *why;
} name_cases[] = {
	{ "http", NULL },
	{ "h", NULL },
	{ "web-8080", NULL },
	{ "a1", NULL },
	{ "123456789012345", "at least one letter" },
	{ "abcdefghijklmno", NULL },
	{ "abcdefghijklmnop", "no more than 15 characters" },
	{ "HTTP", "only alpha-numeric" },
	{ "http_alt", "only alpha-numeric" },
	{ "", "only alpha-numeric" },
	{ "8080", "at least one letter" },
	{ "web--1", "consecutive hyphens" },
	{ "-web", "begin or end with a hyphen" },
	{ "web-", "begin or end with a hyphen" },
	{ "-", "at least one letter" },
};

static void test_port_names(void)
{
	for (size_t i = 0; i < PW_ARRAY_SIZE(name_cases); i++) {
		const char *msgs[PW_PORT_MAX_ERRS] = { 0 };
		size_t n = pw_port_name_errors(name_cases[i].name, msgs,
					       PW_PORT_MAX_ERRS);

		CHECK(pw_port_name_valid(name_cases[i].name) ==
			      !name_cases[i].why,
		      "'%s' validity", name_cases[i].name);
		if (!name_cases[i].why) {
			CHECK(n == 0, "'%s' rejected: %s", name_cases[i].name,
			      msgs[0]);
			continue;
		}
		CHECK(n >= 1 && strstr(msgs[0], name_cases[i].why),
		      "'%s': first message '%s'", name_cases[i].name,
		      n ? msgs[0] : "(valid)");
	}
	CHECK(pw_port_num_valid(1) && pw_port_num_valid(65535), "range ends");
	CHECK(!pw_port_num_valid(0) && !pw_port_num_valid(65536), "outside");
	CHECK(!pw_port_num_valid(-80), "negative");
}

int main(void)
{
	test_port_parse();
	test_proto();
	test_port_cmp();
	test_port_names();
	return check_done("port");
}
