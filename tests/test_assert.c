// SPDX-License-Identifier: Apache-2.0
/*
 * podwall assert's library part: SHA-256 against the FIPS 180-2 example
 * vectors, the expectations parser (good files, and bad ones with the
 * position, field path and message of each error), the checker on small
 * clusters with known answers (counterexamples included), and port
 * classes against brute force: on random clusters, "deny: all" and
 * "allow" agree with a matrix over every one of the 65535 ports of each
 * protocol.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "load.h"
#include "expect.h"
#include <podwall/assert.h>
#include <podwall/podwall.h>

/* ---- SHA-256 ---------------------------------------------------------- */

static const struct {
	const char *msg;
	size_t repeat;
	const char *hex;
} sha_vectors[] = {
	{ "abc", 1,
	  "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
	{ "", 1,
	  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
	{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 1,
	  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
	{ "a", 1000000,
	  "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0" },
	/* 55 and 56 bytes: the padding boundary */
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 1,
	  "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318" },
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 1,
	  "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a" },
};

static char *repeat(const char *s, size_t n, size_t *len)
{
	size_t k = strlen(s);
	char *buf = malloc(k * n + 1);

	if (!buf)
		exit(2);
	for (size_t i = 0; i < n; i++)
		memcpy(buf + i * k, s, k);
	buf[k * n] = '\0';
	*len = k * n;
	return buf;
}

static void test_sha256(void)
{
	uint8_t d[PW_SHA256_LEN];
	char hex[PW_SHA256_HEXLEN], path[] = "/tmp/pw-test-sha-XXXXXX";

	for (size_t i = 0; i < PW_ARRAY_SIZE(sha_vectors); i++) {
		size_t len;
		char *msg =
			repeat(sha_vectors[i].msg, sha_vectors[i].repeat, &len);
		int fd;

		pw_sha256(msg, len, d);
		pw_sha256_hex(d, hex);
		CHECK(!strcmp(hex, sha_vectors[i].hex), "vector %zu: %s", i,
		      hex);
		/* the same through a file, read in blocks */
		fd = mkstemp(path);
		CHECK(fd >= 0 && write(fd, msg, len) == (ssize_t)len,
		      "temp file");
		close(fd);
		memset(d, 0, sizeof(d));
		CHECK(pw_sha256_file(path, d) == 0, "file %zu", i);
		pw_sha256_hex(d, hex);
		CHECK(!strcmp(hex, sha_vectors[i].hex), "file %zu: %s", i, hex);
		unlink(path);
		strcpy(path, "/tmp/pw-test-sha-XXXXXX");
		free(msg);
	}
	CHECK(pw_sha256_file("/nonexistent/x", d) == -ENOENT, "missing file");
}

/* ---- the parser -------------------------------------------------------- */

static struct pw_expect_set *parse(const char *text, struct pw_diags **d)
{
	*d = pw_diags_new();
	if (!*d)
		exit(2);
	return pw_expect_set_parse("x.yaml", text, strlen(text), *d);
}

static void test_parse_good(void)
{
	static const char text[] =
		"expectations:\n"
		"- name: a\n"
		"  from: {namespace: dev}\n"
		"  to: {namespace: prod, pod: {app: db, tier: data}}\n"
		"  deny: [5432/TCP, 53/udp, 80, 5432]\n"
		"- name: b\n"
		"  to: {pod: {app: db}}\n"
		"  only-from: [{namespace: shop}, 10.0.0.0/8, 'fd00::1']\n"
		"- name: c\n"
		"  isolated: {namespace: prod, direction: egress}\n"
		"- name: d\n"
		"  from: {}\n"
		"  egress-only-to: [203.0.113.0/24]\n"
		"  ports: [443]\n";
	struct pw_diags *d;
	struct pw_expect_set *s = parse(text, &d);
	const struct pw_expect *x;

	CHECK(s && pw_diags_count(d) == 0, "good file parses");
	if (!s)
		goto out;
	CHECK(pw_expect_set_count(s) == 4, "count %zu", s->n);
	x = &s->v[0];
	CHECK(x->kind == PW_EXPECT_DENY && !x->all_ports && x->nports == 3,
	      "deny ports %zu", x->nports);
	CHECK(x->ports[0].num == 80 && x->ports[1].num == 5432 &&
		      x->ports[2].num == 53 &&
		      x->ports[2].proto == PW_PROTO_UDP,
	      "ports sorted and unique");
	CHECK(!strcmp(x->from.ns, "dev") && !strcmp(x->to.ns, "prod") &&
		      x->to.labels.n == 2,
	      "selectors");
	CHECK(x->pos.line == 2 && x->pos.col == 3, "position %u:%u",
	      x->pos.line, x->pos.col);
	x = &s->v[1];
	CHECK(x->kind == PW_EXPECT_ONLY_FROM && x->all_ports &&
		      x->npeers == 3 && !x->to.ns,
	      "only-from");
	CHECK(!x->peers[0].is_cidr && x->peers[1].is_cidr &&
		      x->peers[1].cidr.len == 8 && x->peers[2].cidr.len == 128,
	      "peers");
	x = &s->v[2];
	CHECK(x->kind == PW_EXPECT_ISOLATED && !strcmp(x->ns, "prod") &&
		      !x->dirs[PW_DIR_INGRESS] && x->dirs[PW_DIR_EGRESS],
	      "isolated");
	x = &s->v[3];
	CHECK(x->kind == PW_EXPECT_EGRESS_ONLY_TO && !x->all_ports &&
		      x->nports == 1 && !x->from.ns && !x->from.labels.n,
	      "egress-only-to");
out:
	pw_expect_set_free(s);
	pw_diags_free(d);
}

static void test_load(void)
{
	static const char text[] =
		"expectations:\n- {name: a, isolated: {namespace: a}}\n";
	char path[] = "/tmp/pw-test-expect-XXXXXX";
	struct pw_diags *d = pw_diags_new();
	struct pw_expect_set *s;
	int fd = mkstemp(path);

	CHECK(fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text),
	      "temp file");
	close(fd);
	s = pw_expect_set_load(path, d);
	CHECK(s && pw_expect_set_count(s) == 1 && !pw_diags_count(d),
	      "load a file");
	CHECK(s && !strcmp(s->v[0].pos.file, path), "positions name it");
	pw_expect_set_free(s);
	unlink(path);
	s = pw_expect_set_load(path, d);
	CHECK(!s && errno == ENOENT && pw_diags_error_count(d) == 1,
	      "a missing file");
	CHECK(pw_diags_error_count(d) == 1 &&
		      !strcmp(pw_diag_file(pw_diags_get(d, 0)), path),
	      "is reported with its name");
	pw_diags_free(d);
}

/* One bad file: the first error's line:col, path and a piece of its
 * message. */
static const struct {
	const char *text;
	unsigned line, col;
	const char *path, *msg;
} bad[] = {
	{ "", 0, 0, "", "one YAML document" },
	{ "[1]\n", 1, 1, "", "expected a mapping" },
	{ "other: 1\n", 1, 1, "", "unknown field \"other\"" },
	{ "expectations: {}\n", 1, 15, "expectations", "expected a list" },
	{ "expectations:\n- frm: {}\n  name: a\n  isolated: {namespace: a}\n",
	  2, 3, "expectations[0]", "unknown field \"frm\"" },
	{ "expectations:\n- name: a\n  from: {}\n  to: {}\n  deny: some\n", 5,
	  9, "expectations[0].deny", "\"all\" or a list" },
	{ "expectations:\n- name: a\n  from: {}\n  to: {}\n  allow: []\n", 5,
	  10, "expectations[0].allow", "lists no port" },
	{ "expectations:\n- name: a\n  from: {}\n  to: {}\n"
	  "  allow: [80, 0]\n",
	  5, 15, "expectations[0].allow[1]", "not a port" },
	{ "expectations:\n- name: a\n  from: {}\n  to: {}\n"
	  "  allow: [80/ICMP]\n",
	  5, 11, "expectations[0].allow[0]", "not a port" },
	{ "expectations:\n- name: a\n  from: {pod: {app: yes}}\n"
	  "  to: {}\n  deny: all\n",
	  3, 21, "expectations[0].from.pod.app", "expected string" },
	{ "expectations:\n- name: a\n  from: {namespace: 7}\n"
	  "  to: {}\n  deny: all\n",
	  3, 21, "expectations[0].from.namespace", "expected string" },
	{ "expectations:\n- name: a\n  to: {}\n"
	  "  only-from: [10.0.0.1/8]\n",
	  4, 15, "expectations[0].only-from[0]", "host bits" },
	{ "expectations:\n- name: a\n  to: {}\n"
	  "  only-from: [10.0.0.0/33]\n",
	  4, 15, "expectations[0].only-from[0]", "not a CIDR" },
	{ "expectations:\n- name: a\n  to: {}\n  only-from: [[]]\n", 4, 15,
	  "expectations[0].only-from[0]", "expected string" },
	{ "expectations:\n- name: a\n  from: {}\n  deny: all\n", 2, 3,
	  "expectations[0]", "deny needs \"to\"" },
	{ "expectations:\n- name: a\n  from: {}\n  to: {}\n  deny: all\n"
	  "  ports: [80]\n",
	  6, 3, "expectations[0]", "deny takes no \"ports\"" },
	{ "expectations:\n- name: a\n  from: {}\n  to: {}\n"
	  "  only-from: [{}]\n",
	  3, 3, "expectations[0]", "only-from takes no \"from\"" },
	{ "expectations:\n- name: a\n  from: {}\n  to: {}\n  deny: all\n"
	  "  allow: [80]\n",
	  6, 3, "expectations[0]", "\"allow\" and \"deny\" in one" },
	{ "expectations:\n- name: a\n", 2, 3, "expectations[0]",
	  "says nothing" },
	{ "expectations:\n- isolated: {namespace: a}\n", 2, 3,
	  "expectations[0]", "name is required" },
	{ "expectations:\n- name: a\n"
	  "  isolated: {namespace: a, direction: in}\n",
	  3, 39, "expectations[0].isolated.direction", "not a direction" },
	{ "expectations:\n- name: a\n  isolated: {direction: both}\n", 3, 13,
	  "expectations[0].isolated", "namespace is required" },
	{ "expectations:\n- name: a\n  isolated: {namespace: a}\n"
	  "- name: a\n  isolated: {namespace: b}\n",
	  4, 9, "expectations[1].name", "duplicate name \"a\"" },
	{ "expectations:\n- name: ''\n  isolated: {namespace: a}\n", 2, 9,
	  "expectations[0].name", "non-empty" },
	/* YAML errors: the reader's position and words */
	{ "expectations: [\n", 2, 1, NULL, "" },
	{ "expectations: &a [*a]\n", 0, 0, NULL, "" },
};

static void test_parse_bad(void)
{
	for (size_t i = 0; i < PW_ARRAY_SIZE(bad); i++) {
		struct pw_diags *d;
		struct pw_expect_set *s = parse(bad[i].text, &d);
		const struct pw_diag *r;

		CHECK(!s && errno == EBADMSG, "bad %zu parsed", i);
		CHECK(pw_diags_error_count(d) > 0, "bad %zu: no error", i);
		if (!pw_diags_error_count(d)) {
			pw_expect_set_free(s);
			pw_diags_free(d);
			continue;
		}
		pw_diags_sort(d);
		r = pw_diags_get(d, 0);
		if (bad[i].line)
			CHECK(pw_diag_line(r) == bad[i].line &&
				      pw_diag_column(r) == bad[i].col,
			      "bad %zu: at %u:%u: %s", i, pw_diag_line(r),
			      pw_diag_column(r), pw_diag_message(r));
		CHECK(!bad[i].path || !strcmp(pw_diag_path(r), bad[i].path),
		      "bad %zu: path %s (%s)", i, pw_diag_path(r),
		      pw_diag_message(r));
		CHECK(strstr(pw_diag_message(r), bad[i].msg) != NULL,
		      "bad %zu: message %s", i, pw_diag_message(r));
		CHECK(!strcmp(pw_diag_file(r), "x.yaml"), "bad %zu: file", i);
		pw_expect_set_free(s);
		pw_diags_free(d);
	}
}

/* ---- checking, with known answers ----------------------------------------- */

#define POD(ns, name, labels, ip, port)                                         \
	"---\napiVersion: v1\nkind: Pod\nmetadata: {name: " name                \
	", namespace: " ns ", labels: {" labels "}}\n"                          \
	"spec: {containers: [{name: c, image: i, ports: [{containerPort: " port \
	"}]}]}\n"                                                               \
	"status: {phase: Running, podIP: " ip "}\n"

/* a: web (10.1.0.1, 80) and db (10.1.0.2, 5432); b: cli (10.2.0.1).
 * db takes 5432 from web and 7000-7999 from namespace b; a is
 * default-deny for ingress; web may go out to 0.0.0.0/0 except
 * 192.168.0.0/16, on 443 only. */
static const char known_cluster[] = POD("a", "web", "app: web", "10.1.0.1",
					"80") POD("a", "db", "app: db",
						  "10.1.0.2", "5432")
	POD("b", "cli", "app: cli", "10.2.0.1",
	    "9000") "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
		    "metadata: {name: deny, namespace: a}\n"
		    "spec: {podSelector: {}}\n"
		    "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
		    "metadata: {name: db, namespace: a}\n"
		    "spec:\n"
		    "  podSelector: {matchLabels: {app: db}}\n"
		    "  ingress:\n"
		    "  - from: [{podSelector: {matchLabels: {app: web}}}]\n"
		    "    ports: [{port: 5432}]\n"
		    "  - from: [{namespaceSelector: {matchLabels: "
		    "{kubernetes.io/metadata.name: b}}}]\n"
		    "    ports: [{port: 7000, endPort: 7999}]\n"
		    "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
		    "metadata: {name: web-out, namespace: a}\n"
		    "spec:\n"
		    "  podSelector: {matchLabels: {app: web}}\n"
		    "  policyTypes: [Egress]\n"
		    "  egress:\n"
		    "  - to: [{ipBlock: {cidr: 0.0.0.0/0, except: [192.168.0.0/16]}}]\n"
		    "    ports: [{port: 443}]\n";

/* The expectations and what each must give: passed, and for a failure the
 * counterexample's from, to and port ("" when there is none). */
static const struct {
	const char *yaml;
	bool passed;
	const char *from, *to, *port;
} known[] = {
	{ "from: {namespace: b}\n  to: {namespace: a}\n  deny: [5432]", true,
	  NULL, NULL, NULL },
	{ "from: {namespace: b}\n  to: {namespace: a}\n  deny: all", false,
	  "b/cli", "a/db", "7000/TCP" },
	{ "from: {namespace: b}\n  to: {namespace: a, pod: {app: db}}\n"
	  "  allow: [7000, 7999/TCP]",
	  true, NULL, NULL, NULL },
	{ "from: {namespace: b}\n  to: {namespace: a, pod: {app: db}}\n"
	  "  allow: [8000]",
	  false, "b/cli", "a/db", "8000/TCP" },
	{ "from: {namespace: a}\n  to: {namespace: a, pod: {app: db}}\n"
	  "  allow: [5432]",
	  false, "a/web", "a/db", "5432/TCP" }, /* web's egress: 443 only */
	{ "to: {namespace: a, pod: {app: db}}\n"
	  "  only-from: [{namespace: b}, {pod: {app: web}}]",
	  true, NULL, NULL, NULL },
	{ "to: {namespace: a, pod: {app: db}}\n"
	  "  only-from: [{namespace: a}]",
	  false, "b/cli", "a/db", "7000/TCP" },
	{ "to: {namespace: a, pod: {app: db}}\n"
	  "  only-from: [{namespace: a}]\n  ports: [5432]",
	  true, NULL, NULL, NULL },
	{ "to: {namespace: a, pod: {app: web}}\n  only-from: [10.9.9.9]", true,
	  NULL, NULL, NULL },
	{ "to: {namespace: b}\n  only-from: [{namespace: a}, 10.2.0.0/16]",
	  false, "0.0.0.0", "b/cli", "1/TCP" },
	/* egress of web: the first address class outside 10.0.0.0/8 */
	{ "from: {namespace: a, pod: {app: web}}\n"
	  "  egress-only-to: [10.0.0.0/8]",
	  false, "a/web", "0.0.0.0", "443/TCP" },
	{ "from: {namespace: a, pod: {app: web}}\n"
	  "  egress-only-to: [0.0.0.0/0]",
	  true, NULL, NULL, NULL },
	/* 192.168.0.0/16 is the except: only the cut the expectation adds
	 * at 192.169.0.0 finds what lies just past it */
	{ "from: {namespace: a, pod: {app: web}}\n"
	  "  egress-only-to: [0.0.0.0/1, 128.0.0.0/2, 192.0.0.0/9, "
	  "192.128.0.0/11, 192.160.0.0/13, 192.168.0.0/16, 192.170.0.0/15, "
	  "192.172.0.0/14, 192.176.0.0/12, 192.192.0.0/10, 193.0.0.0/8, "
	  "194.0.0.0/7, 196.0.0.0/6, 200.0.0.0/5, 208.0.0.0/4, 224.0.0.0/3]",
	  false, "a/web", "192.169.0.0", "443/TCP" },
	{ "from: {namespace: a, pod: {app: web}}\n"
	  "  egress-only-to: [0.0.0.0/0]\n  ports: [80]",
	  true, NULL, NULL, NULL },
	/* a's pods deny b on 1/TCP: the first violation is outside */
	{ "from: {namespace: b}\n  egress-only-to: [{namespace: a}]", false,
	  "b/cli", "0.0.0.0", "1/TCP" },
	{ "isolated: {namespace: a, direction: ingress}", true, NULL, NULL,
	  NULL },
	{ "isolated: {namespace: a}", false, "a/db", "0.0.0.0", "5432/TCP" },
	{ "isolated: {namespace: b, direction: ingress}", false, "0.0.0.0",
	  "b/cli", "9000/TCP" },
	/* vacuous: nothing is selected, so nothing is proven */
	{ "from: {namespace: c}\n  to: {namespace: a}\n  deny: all", false, "",
	  NULL, NULL },
	{ "isolated: {namespace: c}", false, "", NULL, NULL },
	{ "from: {namespace: b}\n  to: {namespace: b}\n  deny: all", false, "",
	  NULL, NULL },
};

static void check_known(const struct pw_engine *e, size_t i)
{
	char text[1024], port[32];
	struct pw_diags *d;
	struct pw_expect_set *s;
	struct pw_assert_result *r;
	const struct pw_verdict *v;

	snprintf(text, sizeof(text), "expectations:\n- name: t\n  %s\n",
		 known[i].yaml);
	s = parse(text, &d);
	CHECK(s != NULL, "known %zu: parse", i);
	r = s ? pw_assert_check(e, s) : NULL;
	CHECK(r != NULL, "known %zu: check", i);
	if (!r)
		goto out;
	CHECK(pw_assert_passed(r, 0) == known[i].passed, "known %zu: %s", i,
	      pw_assert_passed(r, 0) ? "passed" : "failed");
	CHECK(pw_assert_failed_count(r) == !known[i].passed,
	      "known %zu: failed count", i);
	v = pw_assert_counterexample(r, 0);
	if (known[i].passed || !known[i].from[0]) {
		CHECK(!v, "known %zu: counterexample", i);
		CHECK(known[i].passed == !pw_assert_note(r, 0),
		      "known %zu: note", i);
		goto out;
	}
	CHECK(v != NULL, "known %zu: no counterexample", i);
	if (!v)
		goto out;
	struct pw_port p = pw_verdict_port(v);

	pw_port_format(&p, port, sizeof(port));
	CHECK(!strcmp(pw_verdict_from(v), known[i].from) &&
		      !strcmp(pw_verdict_to(v), known[i].to) &&
		      !strcmp(port, known[i].port),
	      "known %zu: %s -> %s on %s", i, pw_verdict_from(v),
	      pw_verdict_to(v), port);
	/* an outside address comes with the class it stands for */
	CHECK(!pw_assert_counterexample_class(r, 0) ==
		      !(isdigit((unsigned char)known[i].from[0]) ||
			isdigit((unsigned char)known[i].to[0])),
	      "known %zu: class %s", i,
	      pw_assert_counterexample_class(r, 0) ?
		      pw_assert_counterexample_class(r, 0) :
		      "(none)");
	CHECK(pw_assert_stat(r, 0, PW_ASSERT_VIOLATIONS) > 0 &&
		      pw_assert_stat(r, 0, PW_ASSERT_CHECKS) >=
			      pw_assert_stat(r, 0, PW_ASSERT_VIOLATIONS),
	      "known %zu: stats", i);
out:
	pw_assert_result_free(r);
	pw_expect_set_free(s);
	pw_diags_free(d);
}

static void test_known(void)
{
	struct pw_cluster *c = test_cluster("c.yaml", known_cluster);
	struct pw_engine *e = pw_engine_new(c);

	CHECK(e != NULL, "engine");
	for (size_t i = 0; e && i < PW_ARRAY_SIZE(known); i++)
		check_known(e, i);
	pw_engine_free(e);
	pw_cluster_free(c);
}

/* The statistics of one expectation, counted by hand. */
static void test_stats(void)
{
	static const char text[] = "expectations:\n"
				   "- name: s\n"
				   "  to: {namespace: a, pod: {app: db}}\n"
				   "  only-from: [{namespace: a}]\n"
				   "  ports: [5432, 53/UDP]\n";
	struct pw_cluster *c = test_cluster("c.yaml", known_cluster);
	struct pw_engine *e = pw_engine_new(c);
	struct pw_diags *d;
	struct pw_expect_set *s = parse(text, &d);
	struct pw_assert_result *r = s && e ? pw_assert_check(e, s) : NULL;

	CHECK(r != NULL, "stats: check");
	if (r) {
		/* sources: b/cli; addresses: the classes 0.0.0.0-... cut by
		 * 0.0.0.0/0 (none), 192.168.0.0/16: three IPv4, one IPv6 */
		CHECK(pw_assert_stat(r, 0, PW_ASSERT_SOURCES) == 1, "sources");
		CHECK(pw_assert_stat(r, 0, PW_ASSERT_DESTINATIONS) == 1,
		      "destinations");
		CHECK(pw_assert_stat(r, 0, PW_ASSERT_ADDRESSES) == 4,
		      "addresses %llu",
		      (unsigned long long)pw_assert_stat(r, 0,
							 PW_ASSERT_ADDRESSES));
		CHECK(pw_assert_stat(r, 0, PW_ASSERT_PORTS) == 2, "ports");
		/* per port: 1 pod pair + 3 IPv4 classes (IPv6 does not fit
		 * an IPv4 pod) */
		CHECK(pw_assert_stat(r, 0, PW_ASSERT_CHECKS) == 8,
		      "checks %llu",
		      (unsigned long long)pw_assert_stat(r, 0,
							 PW_ASSERT_CHECKS));
		CHECK(pw_assert_passed(r, 0), "passes");
		CHECK(!strcmp(pw_assert_kind(r, 0), "only-from"), "kind");
		CHECK(!strcmp(pw_assert_statement(r, 0),
			      "only a/* -> a/app=db on 5432/TCP, 53/UDP"),
		      "statement: %s", pw_assert_statement(r, 0));
	}
	pw_assert_result_free(r);
	pw_expect_set_free(s);
	pw_diags_free(d);
	pw_engine_free(e);
	pw_cluster_free(c);
}

/* ---- port classes against brute force -------------------------------------- */

#define TEST_RNG_SEED 0x853c49e6748fea9bULL
#include "rng.h"

static void append(char **s, size_t *len, const char *text)
{
	size_t n = strlen(text);
	char *t = realloc(*s, *len + n + 1);

	if (!t)
		exit(2);
	memcpy(t + *len, text, n + 1);
	*s = t;
	*len += n;
}

static const char *const protos[] = { "TCP", "UDP", "SCTP" };

/* A rule port: a number, a range or a named port, near the others so
 * that they overlap. */
static void random_np_port(char *buf, size_t len)
{
	unsigned p = 1000 + (unsigned)(rng() % 40);
	const char *proto = protos[rng() % 3];

	switch (rng() % 4) {
	case 0:
		snprintf(buf, len, "{protocol: %s, port: %u}", proto, p);
		break;
	case 1:
		snprintf(buf, len, "{protocol: %s, port: %u, endPort: %u}",
			 proto, p, p + (unsigned)(rng() % 20));
		break;
	case 2:
		snprintf(buf, len, "{protocol: %s, port: p%u}", proto,
			 (unsigned)(rng() % 3));
		break;
	default:
		snprintf(buf, len, "{protocol: %s}", proto);
		break;
	}
}

static void random_policy(char **s, size_t *len, int i)
{
	static const char *const dirs[] = { "ingress", "egress" };
	const char *dir = dirs[rng() % 2];
	char line[300], port[120];

	snprintf(line, sizeof(line),
		 "---\napiVersion: networking.k8s.io/v1\n"
		 "kind: NetworkPolicy\nmetadata: {name: p%d, namespace: ns1}\n"
		 "spec:\n  podSelector: {matchLabels: {app: a%u}}\n"
		 "  policyTypes: [%s]\n  %s:\n  - ports:\n",
		 i, (unsigned)(rng() % 3), dir[0] == 'i' ? "Ingress" : "Egress",
		 dir);
	append(s, len, line);
	for (unsigned k = 0, n = 1 + (unsigned)(rng() % 3); k < n; k++) {
		random_np_port(port, sizeof(port));
		snprintf(line, sizeof(line), "    - %s\n", port);
		append(s, len, line);
	}
}

static char *random_cluster(void)
{
	char *s = NULL, line[400];
	size_t len = 0;

	for (int i = 0; i < 3; i++) {
		unsigned p = 1000 + (unsigned)(rng() % 40);

		snprintf(line, sizeof(line),
			 "---\napiVersion: v1\nkind: Pod\n"
			 "metadata: {name: x%d, namespace: ns1, labels: {app: "
			 "a%d}}\n"
			 "spec: {containers: [{name: c, image: i, ports: "
			 "[{name: p%u, containerPort: %u, protocol: %s}]}]}\n"
			 "status: {phase: Running, podIP: 10.0.0.%d}\n",
			 i, i, (unsigned)(rng() % 3), p, protos[rng() % 3],
			 i + 1);
		append(&s, &len, line);
	}
	/* half of the clusters start from a default deny, so that both
	 * answers come up */
	if (rng() % 2)
		append(&s, &len,
		       "---\napiVersion: networking.k8s.io/v1\n"
		       "kind: NetworkPolicy\n"
		       "metadata: {name: deny, namespace: ns1}\n"
		       "spec: {podSelector: {}, policyTypes: [Ingress, "
		       "Egress]}\n");
	for (int i = 0, n = 1 + (int)(rng() % 4); i < n; i++)
		random_policy(&s, &len, i);
	return s;
}

/* Whether some other pod is allowed on some port of some protocol from
 * x0 (out) or to x0 (in), asking the matrix about every port. */
static void brute(const struct pw_engine *e, bool *out, bool *in)
{
	static struct pw_port ports[65535];
	size_t n = pw_engine_pod_count(e);

	*out = *in = false;
	for (int p = 0; p < 3; p++) {
		struct pw_matrix *m;

		for (unsigned k = 0; k < 65535; k++)
			ports[k] = (struct pw_port){ .num = (uint16_t)(k + 1),
						     .proto = (uint8_t)p };
		m = pw_engine_matrix(e, ports, 65535);
		if (!m)
			exit(2);
		for (size_t k = 0; k < 65535; k++) {
			for (size_t t = 1; t < n; t++) {
				*out |= pw_matrix_allowed(m, k, 0, t);
				*in |= pw_matrix_allowed(m, k, t, 0);
			}
		}
		pw_matrix_free(m);
	}
}

static void test_brute(void)
{
	static const char text[] =
		"expectations:\n"
		"- {name: out, from: {pod: {app: a0}}, to: {}, deny: all}\n"
		"- {name: in, from: {}, to: {pod: {app: a0}}, deny: all}\n";
	unsigned wrong = 0, failed = 0;

	for (int round = 0; round < 8; round++) {
		char *yaml = random_cluster();
		struct pw_cluster *c = test_cluster("c.yaml", yaml);
		struct pw_engine *e = pw_engine_new(c);
		struct pw_diags *d;
		struct pw_expect_set *s = parse(text, &d);
		struct pw_assert_result *r = pw_assert_check(e, s);
		bool out, in;

		brute(e, &out, &in);
		if (!r || pw_assert_passed(r, 0) != !out ||
		    pw_assert_passed(r, 1) != !in) {
			wrong++;
			printf("  round %d: out %d/%d in %d/%d\n%s\n", round,
			       r && pw_assert_passed(r, 0), !out,
			       r && pw_assert_passed(r, 1), !in, yaml);
		}
		failed += r ? (unsigned)pw_assert_failed_count(r) : 0;
		pw_assert_result_free(r);
		pw_expect_set_free(s);
		pw_diags_free(d);
		pw_engine_free(e);
		pw_cluster_free(c);
		free(yaml);
	}
	CHECK(!wrong, "%u disagreements with brute force", wrong);
	/* the generator makes both answers */
	CHECK(failed > 0 && failed < 16, "%u of 16 failed", failed);
}

int main(void)
{
	test_sha256();
	test_parse_good();
	test_load();
	test_parse_bad();
	test_known();
	test_stats();
	test_brute();
	return check_done("assert");
}
