// SPDX-License-Identifier: Apache-2.0
/*
 * Flow records (podwall/flow.h): the exact line of the spec, escaping,
 * the round trip, and the parser's strictness, each error at its column.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <podwall/podwall.h>
#include "check.h"

static struct pw_flow *sample(void)
{
	struct pw_flow *f = pw_flow_new();

	pw_flow_set_time(f, 1795672800, 123456); /* 2026-11-26T06:00:00 */
	pw_flow_set_str(f, PW_FLOW_NODE, "node-1");
	pw_flow_set_verdict(f, PW_FLOW_DENIED);
	pw_flow_set_direction(f, PW_DIR_INGRESS);
	pw_flow_set_str(f, PW_FLOW_SRC, "dev/client");
	pw_flow_set_str(f, PW_FLOW_DST, "prod/db");
	pw_flow_set_str(f, PW_FLOW_SRC_IP, "10.0.1.5");
	pw_flow_set_str(f, PW_FLOW_DST_IP, "10.0.2.7");
	pw_flow_set_proto(f, PW_FLOW_TCP);
	pw_flow_set_num(f, PW_FLOW_SPORT, 40000);
	pw_flow_set_num(f, PW_FLOW_DPORT, 5432);
	pw_flow_add_policy(f, "prod/default-deny");
	pw_flow_add_policy(f, "prod/db");
	pw_flow_set_num(f, PW_FLOW_COUNT, 3);
	return f;
}

static const char sample_line[] =
	"{\"version\":1,\"time\":\"2026-11-26T06:00:00.123456Z\","
	"\"node\":\"node-1\",\"verdict\":\"denied\",\"direction\":\"ingress\","
	"\"src\":\"dev/client\",\"dst\":\"prod/db\",\"src_ip\":\"10.0.1.5\","
	"\"dst_ip\":\"10.0.2.7\",\"protocol\":\"TCP\",\"sport\":40000,"
	"\"dport\":5432,\"policy\":null,\"rule\":null,"
	"\"policies\":[\"prod/default-deny\",\"prod/db\"],\"count\":3}\n";

static void test_format(void)
{
	struct pw_flow *f = sample();
	char buf[1024], small[16];
	int n = pw_flow_format(f, buf, sizeof(buf));

	CHECK(n == (int)strlen(sample_line), "length %d", n);
	CHECK(!strcmp(buf, sample_line), "line:\n%s", buf);
	CHECK(pw_flow_format(f, small, sizeof(small)) == n, "size asked");
	CHECK(strlen(small) == sizeof(small) - 1, "truncated, terminated");
	pw_flow_set_str(f, PW_FLOW_CHECK, "policy");
	pw_flow_format(f, buf, sizeof(buf));
	CHECK(strstr(buf, ",\"count\":3,\"check\":\"policy\"}\n") != NULL,
	      "check after count: %s", buf);
	pw_flow_free(f);
}

static void test_escape(void)
{
	struct pw_flow *f = sample(), *g;
	char buf[1024];

	pw_flow_set_str(f, PW_FLOW_SRC, "a\"b\\c\n\x01\x7f\xc3\xa9");
	pw_flow_format(f, buf, sizeof(buf));
	CHECK(strstr(buf,
		     "\"src\":\"a\\\"b\\\\c\\u000a\\u0001\\u007f\xc3\xa9\"") !=
		      NULL,
	      "escaped: %s", buf);
	CHECK(!strchr(buf, '\n') || strchr(buf, '\n') == buf + strlen(buf) - 1,
	      "one line");
	g = pw_flow_parse(buf, strlen(buf), "x", 1, NULL);
	CHECK(g && pw_flow_equal(f, g), "escaped round trip");
	pw_flow_free(g);
	pw_flow_free(f);
}

static void test_round_trip(void)
{
	struct pw_flow *f = sample(), *g, *h;
	char buf[1024];

	g = pw_flow_parse(sample_line, strlen(sample_line), "x", 1, NULL);
	CHECK(g && pw_flow_equal(f, g), "parse of the spec line");
	CHECK(g && pw_flow_time(g, NULL) == 1795672800, "time");
	CHECK(g && pw_flow_policy_count(g) == 2 &&
		      !strcmp(pw_flow_policy(g, 1), "prod/db"),
	      "policies");
	/* allowed, with policy and rule, ICMP without ports */
	pw_flow_set_verdict(f, PW_FLOW_ALLOWED);
	pw_flow_set_direction(f, PW_DIR_EGRESS);
	pw_flow_set_str(f, PW_FLOW_POLICY, "dev/allow-web");
	pw_flow_set_num(f, PW_FLOW_RULE, 2);
	pw_flow_set_proto(f, PW_FLOW_ICMPV6);
	pw_flow_set_num(f, PW_FLOW_SPORT, -1);
	pw_flow_set_num(f, PW_FLOW_DPORT, -1);
	pw_flow_set_str(f, PW_FLOW_CHECK, "spoof");
	pw_flow_format(f, buf, sizeof(buf));
	h = pw_flow_parse(buf, strlen(buf), "x", 1, NULL);
	CHECK(h && pw_flow_equal(f, h), "round trip: %s", buf);
	CHECK(strstr(buf, "\"sport\":null,\"dport\":null,\"policy\":"
			  "\"dev/allow-web\",\"rule\":2") != NULL,
	      "nulls and rule: %s", buf);
	CHECK(h && !pw_flow_equal(g, h), "different records differ");
	pw_flow_free(g);
	pw_flow_free(h);
	pw_flow_free(f);
}

static void test_setters(void)
{
	struct pw_flow *f = pw_flow_new(), *d;

	CHECK(pw_flow_set_num(f, PW_FLOW_SPORT, 65536) == -EINVAL, "port");
	CHECK(pw_flow_set_num(f, PW_FLOW_COUNT, 0) == -EINVAL, "count 0");
	CHECK(pw_flow_set_num(f, PW_FLOW_NUM_NR, 1) == -EINVAL, "field");
	CHECK(pw_flow_set_time(f, 1, 1000000) == -EINVAL, "usec");
	CHECK(pw_flow_set_time(f, -1, 0) == -EINVAL, "before 1970");
	CHECK(pw_flow_set_proto(f, PW_FLOW_PROTO_NR) == -EINVAL, "proto");
	CHECK(pw_flow_set_direction(f, PW_DIR_NR) == -EINVAL, "dir");
	CHECK(pw_flow_num(f, PW_FLOW_RULE) == -1, "rule null by default");
	CHECK(pw_flow_num(f, PW_FLOW_COUNT) == 1, "count 1 by default");
	d = pw_flow_dup(f);
	CHECK(d && pw_flow_equal(f, d), "dup");
	pw_flow_free(d);
	pw_flow_free(f);
	pw_flow_free(NULL);
}

/* Replaces the first `from` in the spec line by `to`. */
static char *edit(const char *from, const char *to)
{
	const char *p = strstr(sample_line, from);
	size_t n = strlen(sample_line) + strlen(to) + 1;
	char *s = malloc(n);

	if (!p || !s) {
		free(s);
		return NULL;
	}
	snprintf(s, n, "%.*s%s%s", (int)(p - sample_line), sample_line, to,
		 p + strlen(from));
	return s;
}

static const struct bad {
	const char *from, *to; /* applied to the spec line */
	const char *path, *msg;
	unsigned col; /* 0: do not check */
} bads[] = {
	{ "\"dport\":5432", "\"dport\":\"5432\"", "dport",
	  "expected an integer or null", 0 },
	{ "\"version\":1", "\"version\":1.0", "version", "expected an integer",
	  12 },
	{ "\"count\":3", "\"count\":0", "count", "integer out of range", 0 },
	{ "\"sport\":40000", "\"sport\":70000", "sport", "integer out of range",
	  0 },
	{ "\"verdict\":\"denied\"", "\"verdict\":\"dropped\"", "verdict",
	  "expected \"allowed\" or \"denied\"", 0 },
	{ "\"protocol\":\"TCP\"", "\"protocol\":\"tcp\"", "protocol", NULL, 0 },
	{ "\"src\":\"dev/client\"", "\"src\":null", "src", "expected a string",
	  0 },
	{ "\"policies\":[", "\"policies\":[1,", "policies", "expected a string",
	  0 },
	{ "2026-11-26T06:00:00.123456Z", "2026-11-26 06:00:00Z", "time", NULL,
	  0 },
	{ "2026-11-26T06:00:00.123456Z", "2026-02-29T06:00:00.123456Z", "time",
	  NULL, 0 },
	{ "\"count\":3}", "\"count\":3,\"count\":4}", "count",
	  "duplicate field", 0 },
	{ "\"node\":\"node-1\",", "", "node", "missing field", 0 },
	{ "\"count\":3}", "\"count\":3} x", "", "text after the object", 0 },
	{ "\"node-1\"", "\"node\\x\"", "node", "invalid escape in a string",
	  0 },
	{ "\"node-1\"", "\"a\\u0000\"", "node", "invalid escape in a string",
	  0 },
	{ "\"node-1\"", "\"\\ud800\"", "node", "invalid escape in a string",
	  0 },
	{ "\"node-1\"", "\"a\tb\"", "node", "control character in a string",
	  0 },
	{ "\"count\":3}", "\"count\":3", "", "expected ',' or '}'", 0 },
	{ "\"count\":3}", "\"count\":99999999999999999999}", "count",
	  "integer out of range", 0 },
	{ "\"count\":3}",
	  "\"count\":3,\"x\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
	  "[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
	  "", "nested too deeply", 0 },
};

static void test_bad(void)
{
	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		const struct bad *b = &bads[i];
		struct pw_diags *d = pw_diags_new();
		char *line = edit(b->from, b->to);
		struct pw_flow *f;
		const struct pw_diag *r;

		if (!line || !d) {
			CHECK(0, "setup %zu", i);
			free(line);
			pw_diags_free(d);
			continue;
		}
		errno = 0;
		f = pw_flow_parse(line, strlen(line), "flows.log", 7, d);
		r = pw_diags_get(d, 0);
		CHECK(!f && errno == EINVAL, "bad %zu accepted: %s", i, line);
		CHECK(pw_diags_count(d) == 1 && r && pw_diag_line(r) == 7 &&
			      !strcmp(pw_diag_file(r), "flows.log") &&
			      pw_diag_column(r) > 0,
		      "bad %zu: one diagnostic with a position", i);
		if (r) {
			CHECK(!strcmp(pw_diag_path(r), b->path),
			      "bad %zu path %s", i, pw_diag_path(r));
			CHECK(!b->msg || !strcmp(pw_diag_message(r), b->msg),
			      "bad %zu message %s", i, pw_diag_message(r));
			CHECK(!b->col || pw_diag_column(r) == b->col,
			      "bad %zu column %u", i, pw_diag_column(r));
		}
		pw_flow_free(f);
		pw_diags_free(d);
		free(line);
	}
}

static void test_forward_compatible(void)
{
	char *line = edit("\"count\":3}",
			  "\"count\":3,\"future\":{\"a\":[1.5e3,true,null,"
			  "\"\\u00e9\"]},\"zone\":-2}");
	struct pw_flow *f = sample(), *g;
	char nul[] = "{\"version\":1}\0x";

	g = line ? pw_flow_parse(line, strlen(line), "x", 1, NULL) : NULL;
	CHECK(g && pw_flow_equal(f, g), "unknown fields ignored");
	pw_flow_free(g);
	g = pw_flow_parse(nul, sizeof(nul) - 1, "x", 1, NULL);
	CHECK(!g && errno == EINVAL, "NUL byte rejected");
	g = pw_flow_parse("", 0, "x", 1, NULL);
	CHECK(!g && errno == EINVAL, "empty line rejected");
	free(line);
	pw_flow_free(f);
}

int main(void)
{
	test_format();
	test_escape();
	test_round_trip();
	test_setters();
	test_bad();
	test_forward_compatible();
	return check_done("test_flow");
}
