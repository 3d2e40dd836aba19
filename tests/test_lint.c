// SPDX-License-Identifier: Apache-2.0
/*
 * Lint: one table row per rule, with a minimal cluster that triggers it
 * and one that does not; then witnesses, suppressions, exclusions, the
 * catalogue, and a check of PW007's proof against the engine (removing
 * what it reports leaves every matrix cell as it was).
 *
 * Clusters are written to files under a temporary directory and loaded by
 * path, as the command does, so the annotations lint reads back from the
 * files are exercised too.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <podwall/lint.h>
#include <podwall/podwall.h>

#include "check.h"

#define PW_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- the clusters --------------------------------------------------------- */

/* Namespaces a and b, pods a/web (http 80/TCP), a/db (5432/TCP),
 * b/client and b/other (9999/UDP), and the cluster DNS. */
#define NS                                                                   \
	"{apiVersion: v1, kind: Namespace, metadata: {name: a, labels: "     \
	"{team: a}}}\n---\n"                                                 \
	"{apiVersion: v1, kind: Namespace, metadata: {name: b, labels: "     \
	"{team: b}}}\n---\n"                                                 \
	"{apiVersion: v1, kind: Namespace, metadata: {name: kube-system}}\n" \
	"---\n"
#define POD(ns, name, labels, ip, ports)                                \
	"{apiVersion: v1, kind: Pod, metadata: {name: " name            \
	", namespace: " ns ", labels: {" labels                         \
	"}}, spec: {containers: [{name: c, image: "                     \
	"i, ports: [" ports "]}]}, status: {phase: Running, podIP: " ip \
	"}}\n---\n"
#define PODS                                                                   \
	POD("a", "web", "app: web", "10.1.0.1",                                \
	    "{name: http, containerPort: 80}")                                 \
	POD("a", "db", "app: db", "10.1.0.2", "{containerPort: 5432}")         \
	POD("b", "client", "app: client", "10.1.1.1", "{containerPort: 8080}") \
	POD("b", "other", "app: other", "10.1.1.2",                            \
	    "{containerPort: 9999, protocol: UDP}")                            \
	POD("kube-system", "dns", "k8s-app: kube-dns", "10.1.2.1",             \
	    "{containerPort: 53, protocol: UDP}, {containerPort: 53, "         \
	    "name: dns-tcp}")
#define BASE NS PODS
#define POL(name, spec)                                                      \
	"{apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, metadata: " \
	"{name: " name ", namespace: a}, spec: " spec "}\n---\n"

struct row {
	const char *rule;
	const char *bad; /* a cluster the rule reports on */
	const char *good; /* the same idea, written right */
};

static const struct row rows[] = {
	{ "PW001",
	  BASE POL("or", "{podSelector: {matchLabels: {app: db}}, ingress: "
			 "[{from: [{namespaceSelector: {matchLabels: {team: "
			 "b}}}, {podSelector: {matchLabels: {app: "
			 "client}}}]}]}"),
	  BASE POL("and", "{podSelector: {matchLabels: {app: db}}, ingress: "
			  "[{from: [{namespaceSelector: {matchLabels: {team: "
			  "b}}, podSelector: {matchLabels: {app: "
			  "client}}}]}]}") },
	{ "PW002",
	  BASE POL("none", "{podSelector: {matchLabels: {app: nope}}}"),
	  BASE POL("some", "{podSelector: {matchLabels: {app: web}}}") },
	{ "PW003",
	  BASE POL("p", "{podSelector: {}, ingress: [{from: "
			"[{namespaceSelector: {matchLabels: {team: "
			"nope}}}]}]}"),
	  BASE POL("p", "{podSelector: {}, ingress: [{from: "
			"[{namespaceSelector: {matchLabels: {team: "
			"b}}}]}]}") },
	{ "PW004",
	  BASE POL("web-only", "{podSelector: {matchLabels: {app: "
			       "web}}, policyTypes: [Ingress]}"),
	  BASE POL("deny", "{podSelector: {}, policyTypes: [Ingress, "
			   "Egress]}")
		  POL("ks",
		      "{podSelector: {}, "
		      "policyTypes: [Ingress, "
		      "Egress]}") "{apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, "
				  "metadata: {name: deny, namespace: b}, spec: {podSelector: "
				  "{}, policyTypes: [Ingress, Egress]}}\n---\n"
				  "{apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, "
				  "metadata: {name: deny, namespace: kube-system}, spec: "
				  "{podSelector: {}, policyTypes: [Ingress, Egress]}}\n" },
	{ "PW005",
	  BASE POL("egress", "{podSelector: {}, policyTypes: [Egress], egress: "
			     "[{to: [{namespaceSelector: {}, podSelector: "
			     "{matchLabels: {k8s-app: kube-dns}}}], ports: "
			     "[{port: 53, protocol: UDP}]}]}"),
	  BASE POL("egress", "{podSelector: {}, policyTypes: [Egress], egress: "
			     "[{to: [{namespaceSelector: {}, podSelector: "
			     "{matchLabels: {k8s-app: kube-dns}}}], ports: "
			     "[{port: 53, protocol: UDP}, {port: 53}]}]}") },
	{ "PW006",
	  BASE POL("deny", "{podSelector: {}, policyTypes: [Ingress]}")
		  POL("all", "{podSelector: {matchLabels: {app: db}}, ingress: "
			     "[{}]}"),
	  BASE POL("deny", "{podSelector: {}, policyTypes: [Ingress]}") POL(
		  "some", "{podSelector: {matchLabels: {app: db}}, ingress: "
			  "[{ports: [{port: 5432}]}]}") },
	{ "PW007",
	  BASE POL("wide", "{podSelector: {}, ingress: [{from: [{podSelector: "
			   "{}}]}]}") POL("narrow", "{podSelector: "
						    "{matchLabels: {app: "
						    "db}}, ingress: [{from: "
						    "[{podSelector: "
						    "{matchLabels: {app: "
						    "web}}}], ports: [{port: "
						    "5432}]}]}"),
	  BASE POL("wide", "{podSelector: {}, ingress: [{from: [{podSelector: "
			   "{}}], ports: [{port: 80}]}]}")
		  POL("narrow", "{podSelector: {matchLabels: {app: db}}, "
				"ingress: [{from: [{podSelector: "
				"{matchLabels: {app: web}}}], ports: [{port: "
				"5432}]}]}") },
	{ "PW008",
	  BASE POL("p", "{podSelector: {}, policyTypes: [Egress], egress: "
			"[{ports: [{port: 9999}]}]}"),
	  BASE POL("p", "{podSelector: {}, policyTypes: [Egress], egress: "
			"[{ports: [{port: 9999, protocol: UDP}]}]}") },
	{ "PW009",
	  BASE POL("p", "{podSelector: {matchLabels: {app: web}}, ingress: "
			"[{ports: [{port: https}]}]}"),
	  BASE POL("p", "{podSelector: {matchLabels: {app: web}}, ingress: "
			"[{ports: [{port: http}]}]}") },
	{ "PW010",
	  BASE POL("p", "{podSelector: {}, ingress: [{from: [{ipBlock: {cidr: "
			"10.1.0.0/16}}]}]}"),
	  BASE POL("p", "{podSelector: {}, ingress: [{from: [{ipBlock: {cidr: "
			"0.0.0.0/0, except: [10.1.0.0/16]}}]}]}") },
	{ "PW011",
	  BASE POL("p", "{podSelector: {matchLabels: {pod-template-hash: "
			"abc}}}"),
	  BASE POL("p", "{podSelector: {matchExpressions: [{key: job-name, "
			"operator: DoesNotExist}]}}") },
	{ "PW012",
	  BASE POL("p", "{podSelector: {}, ingress: [{from: [{podSelector: "
			"{matchLabels: {app: client}}}]}]}"),
	  BASE POL("p", "{podSelector: {}, ingress: [{from: [{podSelector: "
			"{matchLabels: {app: client}}, namespaceSelector: "
			"{}}]}]}") },
	{ "PW014",
	  BASE "{apiVersion: v1, kind: Pod, metadata: {name: x}, spec: "
	       "{containers: [{name: c, image: i}]}}\n",
	  BASE "{apiVersion: v1, kind: Pod, metadata: {name: x, namespace: "
	       "default}, spec: {containers: [{name: c, image: i}]}}\n" },
};

static char tmpdir[] = "/tmp/test_lint.XXXXXX";

/* Writes text to a file of the temporary directory; its path, static. */
static const char *write_file(const char *text)
{
	static char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "%s/cluster.yaml", tmpdir);
	f = fopen(path, "w");
	if (!f || fputs(text, f) < 0 || fclose(f)) {
		perror(path);
		exit(2);
	}
	return path;
}

struct run {
	struct pw_cluster *c;
	struct pw_engine *e;
	struct pw_lint *l;
};

static void run_free(struct run *r)
{
	pw_lint_free(r->l);
	pw_engine_free(r->e);
	pw_cluster_free(r->c);
	memset(r, 0, sizeof(*r));
}

/* Loads text and lints it, options set by `setup`; false (and a failed
 * check) when the cluster does not load. */
static bool run_lint(struct run *r, const char *text,
		     void (*setup)(struct pw_lint *l))
{
	struct pw_diags *d = pw_diags_new();
	const char *path = write_file(text);
	bool ok;

	memset(r, 0, sizeof(*r));
	r->c = pw_cluster_new();
	ok = !pw_cluster_load_path(r->c, path, d) &&
	     !pw_cluster_finalize(r->c, d);
	for (size_t i = 0; !ok && i < pw_diags_count(d); i++) {
		char buf[300];

		pw_diag_format(pw_diags_get(d, i), buf, sizeof(buf));
		printf("  %s\n", buf);
	}
	pw_diags_free(d);
	CHECK(ok, "cluster loads");
	if (!ok)
		return false;
	r->e = pw_engine_new(r->c);
	r->l = pw_lint_new();
	if (setup)
		setup(r->l);
	CHECK(r->e && r->l && !pw_lint_run(r->l, r->e), "lint runs");
	return r->e && r->l;
}

/* The first finding of rule id, or NULL. */
static const struct pw_finding *find(const struct run *r, const char *id)
{
	for (size_t i = 0; i < pw_lint_count(r->l); i++)
		if (!strcmp(pw_finding_rule_id(pw_lint_get(r->l, i)), id))
			return pw_lint_get(r->l, i);
	return NULL;
}

static void dump(const struct run *r)
{
	for (size_t i = 0; i < pw_lint_count(r->l); i++) {
		const struct pw_finding *f = pw_lint_get(r->l, i);

		printf("  %s %u:%u %s: %s\n", pw_finding_rule_id(f),
		       pw_finding_line(f), pw_finding_column(f),
		       pw_finding_path(f), pw_finding_message(f));
	}
}

static void test_rows(void)
{
	bool verbose = getenv("TEST_LINT_VERBOSE");
	struct run r;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		if (verbose)
			printf("%s:\n", rows[i].rule);
		if (run_lint(&r, rows[i].bad, NULL)) {
			CHECK(find(&r, rows[i].rule), "%s: reported",
			      rows[i].rule);
			if (!find(&r, rows[i].rule) || verbose)
				dump(&r);
		}
		run_free(&r);
		if (run_lint(&r, rows[i].good, NULL)) {
			CHECK(!find(&r, rows[i].rule), "%s: not reported",
			      rows[i].rule);
			if (find(&r, rows[i].rule))
				dump(&r);
		}
		run_free(&r);
	}
}

/* Every rule of the catalogue has a row, and the catalogue is sane. */
static void test_catalogue(void)
{
	for (size_t i = 0; i < pw_lint_rule_count(); i++) {
		const char *id = pw_lint_rule_id(i);
		bool has_row = false;

		for (size_t j = 0; j < sizeof(rows) / sizeof(rows[0]); j++)
			has_row |= !strcmp(rows[j].rule, id);
		CHECK(has_row, "%s has a test row", id);
		CHECK(pw_lint_rule_find(id) == (long)i, "%s found", id);
		CHECK(i == 0 || strcmp(pw_lint_rule_id(i - 1), id) < 0,
		      "%s in id order", id);
		CHECK(pw_lint_rule_summary(i) && pw_lint_rule_help(i) &&
			      pw_lint_rule_name(i),
		      "%s documented", id);
	}
	CHECK(pw_lint_rule_id(pw_lint_rule_count()) == NULL, "out of range");
	CHECK(pw_lint_rule_find("PW999") == -1, "unknown id");
}

static void test_witness(void)
{
	const struct pw_finding *f;
	const char *from, *to, *port;
	struct run r;

	if (run_lint(&r, rows[0].bad, NULL)) {
		f = find(&r, "PW001");
		CHECK(f && pw_finding_witness(f, &from, &to, &port),
		      "PW001 has a witness");
		/* The OR admits every pod of b; the AND only b/client. */
		if (f && pw_finding_witness(f, &from, &to, &port)) {
			CHECK(!strcmp(to, "a/db"), "to a/db: %s", to);
			CHECK(!strcmp(from, "b/other"), "from b/other: %s",
			      from);
			CHECK(!strcmp(port, "any"), "any port: %s", port);
		}
		CHECK(f && pw_finding_line(f) > 0, "PW001 positioned");
		CHECK(f && !strcmp(pw_finding_path(f),
				   "spec.ingress[0].from[1]"),
		      "PW001 path: %s", f ? pw_finding_path(f) : "");
	}
	run_free(&r);
	if (run_lint(&r, rows[4].bad, NULL)) {
		f = find(&r, "PW005");
		CHECK(f && pw_finding_witness(f, &from, &to, &port) &&
			      !strcmp(port, "53/TCP") &&
			      !strcmp(to, "kube-system/dns"),
		      "PW005 witness on 53/TCP to the DNS pod");
	}
	run_free(&r);
}

/* An ipBlock on a Service's cluster IP: the witness is that address. */
static void test_service_ip(void)
{
	static const char text[] = BASE
		"{apiVersion: v1, kind: Service, metadata: {name: api, "
		"namespace: b}, spec: {selector: {app: client}, clusterIP: "
		"10.96.0.10, ports: [{port: 80, targetPort: 8080}]}}\n---\n" POL(
			"p", "{podSelector: {matchLabels: {app: web}}, "
			     "policyTypes: [Egress], egress: [{to: [{ipBlock: "
			     "{cidr: 10.96.0.0/16}}], ports: [{port: 80}]}]}");
	const char *from, *to, *port;
	const struct pw_finding *f;
	struct run r;

	if (run_lint(&r, text, NULL)) {
		f = find(&r, "PW010");
		CHECK(f && strstr(pw_finding_message(f),
				  "cluster IP 10.96.0.10"),
		      "PW010 on a cluster IP");
		CHECK(f && pw_finding_witness(f, &from, &to, &port) &&
			      !strcmp(from, "a/web") &&
			      !strcmp(to, "10.96.0.10") &&
			      !strcmp(port, "80/TCP"),
		      "PW010 witness to the cluster IP");
	}
	run_free(&r);
}

/* PW008 also knows a port's protocol from the Services in front of pods
 * that do not declare it. */
static void test_proto_service(void)
{
	static const char text[] = BASE
		"{apiVersion: v1, kind: Service, metadata: {name: syslog, "
		"namespace: b}, spec: {selector: {app: other}, ports: "
		"[{port: 514, protocol: UDP}]}}\n---\n" POL(
			"p", "{podSelector: {}, policyTypes: [Egress], "
			     "egress: [{to: [{namespaceSelector: {}}], "
			     "ports: [{port: 514}]}]}");
	const char *from, *to, *port;
	const struct pw_finding *f;
	struct run r;

	if (run_lint(&r, text, NULL)) {
		f = find(&r, "PW008");
		CHECK(f && pw_finding_witness(f, &from, &to, &port) &&
			      !strcmp(to, "b/other") &&
			      !strcmp(port, "514/UDP"),
		      "PW008 through a Service's UDP port");
	}
	run_free(&r);
}

/* Nothing to say: no findings, and no trouble saying so. */
static void test_nothing(void)
{
	struct run r;

	if (run_lint(&r,
		     "{apiVersion: v1, kind: Namespace, metadata: "
		     "{name: a}}\n",
		     NULL))
		CHECK(pw_lint_count(r.l) == 0 && !pw_lint_get(r.l, 0),
		      "no findings");
	run_free(&r);
}

/* Every pod isolated, but by label: the next pod would not be. */
static void test_no_wall(void)
{
	static const char text[] =
		BASE POL("web", "{podSelector: {matchLabels: {app: web}}}")
			POL("db", "{podSelector: {matchLabels: {app: db}}}");
	const struct pw_finding *f;
	struct run r;
	size_t n = 0;

	if (run_lint(&r, text, NULL)) {
		for (size_t i = 0; i < pw_lint_count(r.l); i++) {
			f = pw_lint_get(r.l, i);
			if (!strcmp(pw_finding_rule_id(f), "PW004") &&
			    !strcmp(pw_finding_object(f), "Namespace a"))
				n += !!strstr(pw_finding_message(f),
					      "no default deny for ingress");
		}
		CHECK(n == 1, "namespace a has no default deny for ingress");
	}
	run_free(&r);
}

/* ---- suppressions -------------------------------------------------------- */

static const char suppressed_cluster[] = BASE
	"{apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, "
	"metadata: {name: none, namespace: a, annotations: "
	"{podwall.io/lint-ignore: 'PW011: rollout pinned on purpose; "
	"PW002: deployed later'}}, spec: {podSelector: {matchLabels: "
	"{pod-template-hash: abc}}}}\n";

/* PW004 belongs to the namespace: its annotation suppresses it. */
static const char ns_annotated[] =
	"{apiVersion: v1, kind: Namespace, metadata: {name: b, annotations: "
	"{podwall.io/lint-ignore: 'pw004: not ours'}}}\n---\n" POD(
		"b", "client", "app: client", "10.1.1.1", "");

static void exclude_a(struct pw_lint *l)
{
	CHECK(!pw_lint_exclude_namespace(l, "a"), "exclude a");
}

static void test_suppress(void)
{
	const struct pw_finding *f;
	struct run r;

	if (run_lint(&r, suppressed_cluster, NULL)) {
		f = find(&r, "PW002");
		CHECK(f && pw_finding_suppressed(f) &&
			      strstr(pw_finding_reason(f), "deployed later"),
		      "PW002 suppressed with its reason");
		f = find(&r, "PW011");
		CHECK(f && pw_finding_suppressed(f) &&
			      strstr(pw_finding_reason(f), "on purpose"),
		      "PW011 suppressed with its reason");
		CHECK(pw_lint_count_at(r.l, PW_LINT_INFO) ==
			      pw_lint_count(r.l) - 2,
		      "suppressed findings do not count");
	}
	run_free(&r);
	if (run_lint(&r, ns_annotated, NULL)) {
		f = find(&r, "PW004");
		CHECK(f && pw_finding_suppressed(f) &&
			      !strcmp(pw_finding_reason(f),
				      "podwall.io/lint-ignore: not ours"),
		      "a namespace's annotation suppresses PW004 (%s)",
		      f ? pw_finding_reason(f) : "none");
		CHECK(!pw_lint_count_at(r.l, PW_LINT_INFO), "all suppressed");
		CHECK(f && !strcmp(pw_finding_object(f), "Namespace b"),
		      "object: %s", f ? pw_finding_object(f) : "");
	}
	run_free(&r);
	if (run_lint(&r, rows[1].bad, exclude_a)) {
		f = find(&r, "PW002");
		CHECK(f && pw_finding_suppressed(f) &&
			      strstr(pw_finding_reason(f), "excluded"),
		      "excluded namespace suppresses, and says so");
	}
	run_free(&r);
}

/* ---- PW007, checked against the engine ----------------------------------- */

/* Every cell of the matrices of two clusters over the same ports. */
static bool same_matrix(const char *a, const char *b)
{
	static const struct pw_port ports[] = {
		{ 80, PW_PROTO_TCP },
		{ 5432, PW_PROTO_TCP },
		{ 8080, PW_PROTO_TCP },
		{ 53, PW_PROTO_UDP },
	};
	struct run ra, rb;
	struct pw_matrix *ma = NULL, *mb = NULL;
	bool same;

	run_lint(&ra, a, NULL);
	run_lint(&rb, b, NULL);
	same = ra.e && rb.e;
	if (same) {
		ma = pw_engine_matrix(ra.e, ports, 4);
		mb = pw_engine_matrix(rb.e, ports, 4);
		same = ma && mb;
	}
	for (size_t p = 0; same && p < 4; p++)
		for (size_t i = 0; i < pw_engine_pod_count(ra.e); i++)
			for (size_t j = 0; j < pw_engine_pod_count(ra.e); j++)
				same &= pw_matrix_allowed(ma, p, i, j) ==
					pw_matrix_allowed(mb, p, i, j);
	pw_matrix_free(ma);
	pw_matrix_free(mb);
	run_free(&ra);
	run_free(&rb);
	return same;
}

static void test_redundant_proof(void)
{
	/* rows[6].bad: "narrow" is contained in "wide" on every pod. */
	static const char without[] =
		BASE POL("wide", "{podSelector: {}, ingress: [{from: "
				 "[{podSelector: {}}]}]}");
	static const char dup_rules[] =
		BASE POL("p", "{podSelector: {}, ingress: [{from: "
			      "[{podSelector: {matchLabels: {app: web}}}]}, "
			      "{from: [{podSelector: {matchLabels: {app: "
			      "web}}}]}]}");
	struct run r;
	size_t n = 0;

	CHECK(same_matrix(rows[6].bad, without),
	      "removing the policy PW007 reports changes no verdict");
	CHECK(!same_matrix(rows[6].good, without),
	      "removing the one it does not report does");
	/* Of two equal rules, one is reported, not both. */
	if (run_lint(&r, dup_rules, NULL)) {
		for (size_t i = 0; i < pw_lint_count(r.l); i++)
			n += !strcmp(pw_finding_rule_id(pw_lint_get(r.l, i)),
				     "PW007");
		CHECK(n == 1, "one of two equal rules reported (%zu)", n);
		CHECK(find(&r, "PW007") &&
			      !strcmp(pw_finding_path(find(&r, "PW007")),
				      "spec.ingress[1]"),
		      "the later one");
	}
	run_free(&r);
}

/* ---- PW007 on random clusters ----------------------------------------- */

/*
 * Random policies over a fixed set of pods; whatever PW007 reports is
 * removed, all at once, and every verdict must stay: pod to pod on a set
 * of ports, and between pods and addresses outside the cluster.
 */
static const char *const rnd_sels[] = {
	"{}",
	"{matchLabels: {app: web}}",
	"{matchLabels: {app: db}}",
	"{matchLabels: {tier: back}}",
};
static const char *const rnd_peers[] = {
	"{podSelector: {}}",
	"{podSelector: {matchLabels: {app: web}}}",
	"{namespaceSelector: {}}",
	("{namespaceSelector: {matchLabels: {team: b}}, podSelector: "
	 "{matchLabels: {app: db}}}"),
	"{namespaceSelector: {matchLabels: {team: b}}}",
	"{ipBlock: {cidr: 10.1.0.0/16}}",
	"{ipBlock: {cidr: 10.1.0.0/24}}",
	"{ipBlock: {cidr: 0.0.0.0/0, except: [10.1.1.0/24]}}",
	"{ipBlock: {cidr: 192.0.2.0/24}}",
};
static const char *const rnd_ports[] = {
	"",
	"[{port: 80}]",
	"[{port: 80, endPort: 90}]",
	"[{port: http}]",
	"[{port: 443}, {port: 80}]",
	"[{port: 53, protocol: UDP}]",
	"[{protocol: TCP}]",
};

#define RND_POLS 4
#define RND_RULES 3
#define RND_PEERS 2

struct rnd_rule {
	int npeers, peer[RND_PEERS], ports;
	bool gone;
};

struct rnd_pol {
	int ns, sel, types; /* types: 1 Ingress, 2 Egress, 3 both */
	int nrules[2];
	struct rnd_rule rule[2][RND_RULES];
	bool gone;
};

static unsigned long rnd_state = 12345;

static int rnd(int n)
{
	rnd_state = rnd_state * 6364136223846793005UL + 1442695040888963407UL;
	return (int)((rnd_state >> 33) % (unsigned long)n);
}

static void rnd_policy(struct rnd_pol *p)
{
	memset(p, 0, sizeof(*p));
	p->ns = rnd(2);
	p->sel = rnd(PW_ARRAY_LEN(rnd_sels));
	p->types = 1 + rnd(3);
	for (int d = 0; d < 2; d++) {
		if (!(p->types & (1 << d)))
			continue;
		p->nrules[d] = rnd(RND_RULES + 1);
		for (int k = 0; k < p->nrules[d]; k++) {
			struct rnd_rule *r = &p->rule[d][k];

			r->npeers = rnd(RND_PEERS + 1);
			for (int j = 0; j < r->npeers; j++)
				r->peer[j] = rnd(PW_ARRAY_LEN(rnd_peers));
			r->ports = rnd(PW_ARRAY_LEN(rnd_ports));
		}
	}
}

static void rnd_rule_text(FILE *f, const struct rnd_rule *r, int d)
{
	const char *sep = "";

	fputs("{", f);
	if (r->npeers) {
		fprintf(f, "%s: [", d ? "to" : "from");
		for (int j = 0; j < r->npeers; j++)
			fprintf(f, "%s%s", j ? ", " : "",
				rnd_peers[r->peer[j]]);
		fputs("]", f);
		sep = ", ";
	}
	if (*rnd_ports[r->ports])
		fprintf(f, "%sports: %s", sep, rnd_ports[r->ports]);
	fputs("}", f);
}

static void rnd_policy_text(FILE *f, const struct rnd_pol *p, int i)
{
	static const char *const types[] = { "", "[Ingress]", "[Egress]",
					     "[Ingress, Egress]" };

	fprintf(f,
		"{apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, "
		"metadata: {name: p%d, namespace: %s}, spec: {podSelector: %s, "
		"policyTypes: %s",
		i, p->ns ? "b" : "a", rnd_sels[p->sel], types[p->types]);
	for (int d = 0; d < 2; d++) {
		bool first = true;

		if (!(p->types & (1 << d)))
			continue;
		fprintf(f, ", %s: [", d ? "egress" : "ingress");
		for (int k = 0; k < p->nrules[d]; k++) {
			if (p->rule[d][k].gone)
				continue;
			fputs(first ? "" : ", ", f);
			rnd_rule_text(f, &p->rule[d][k], d);
			first = false;
		}
		fputs("]", f);
	}
	fputs("}}\n---\n", f);
}

#define RND_NS                                                           \
	"{apiVersion: v1, kind: Namespace, metadata: {name: a, labels: " \
	"{team: a}}}\n---\n"                                             \
	"{apiVersion: v1, kind: Namespace, metadata: {name: b, labels: " \
	"{team: b}}}\n---\n"
#define RND_WEB_A                                            \
	POD("a", "web", "app: web, tier: front", "10.1.0.1", \
	    "{name: http, containerPort: 80}")
#define RND_DB_A                                          \
	POD("a", "db", "app: db, tier: back", "10.1.0.2", \
	    "{containerPort: 5432}")
#define RND_API_A                                           \
	POD("a", "api", "app: api, tier: back", "10.1.0.3", \
	    "{name: http, containerPort: 8080}")
#define RND_WEB_B                               \
	POD("b", "web", "app: web", "10.1.1.1", \
	    "{name: http, containerPort: 80}")
#define RND_DB_B                                          \
	POD("b", "db", "app: db, tier: back", "10.1.1.2", \
	    "{containerPort: 5432}")
#define RND_BASE RND_NS RND_WEB_A RND_DB_A RND_API_A RND_WEB_B RND_DB_B

static char *rnd_cluster(const struct rnd_pol *pols)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		exit(2);
	fputs(RND_BASE, f);
	for (int i = 0; i < RND_POLS; i++)
		if (!pols[i].gone)
			rnd_policy_text(f, &pols[i], i);
	fclose(f);
	return text;
}

/* Marks what PW007 reported as gone; how many. */
static int rnd_drop(const struct run *r, struct rnd_pol *pols)
{
	int n = 0;

	for (size_t i = 0; i < pw_lint_count(r->l); i++) {
		const struct pw_finding *f = pw_lint_get(r->l, i);
		const char *obj = strchr(pw_finding_object(f), '/');
		const char *path = pw_finding_path(f);
		int pi, k;

		if (strcmp(pw_finding_rule_id(f), "PW007") || !obj ||
		    sscanf(obj, "/p%d", &pi) != 1)
			continue;
		n++;
		if (!*path)
			pols[pi].gone = true;
		else if (sscanf(path, "spec.ingress[%d]", &k) == 1)
			pols[pi].rule[0][k].gone = true;
		else if (sscanf(path, "spec.egress[%d]", &k) == 1)
			pols[pi].rule[1][k].gone = true;
	}
	return n;
}

/* The verdicts between an outside address and a pod, both ways. */
static bool outside_same(const struct run *a, const struct run *b,
			 const char *ip, const char *pod,
			 const struct pw_port *port)
{
	const struct run *runs[2] = { a, b };
	int v[2][2] = { { -1, -1 }, { -1, -1 } };

	for (int r = 0; r < 2; r++) {
		struct pw_endpoints *x = pw_engine_resolve(runs[r]->e, ip);
		struct pw_endpoints *y = pw_engine_resolve(runs[r]->e, pod);
		struct pw_verdict *in = NULL, *out = NULL;

		if (x && y) {
			in = pw_engine_explain(runs[r]->e, x, 0, y, 0, port);
			out = pw_engine_explain(runs[r]->e, y, 0, x, 0, port);
		}
		if (in && out) {
			v[r][0] = pw_verdict_allowed(in);
			v[r][1] = pw_verdict_allowed(out);
		}
		pw_verdict_free(in);
		pw_verdict_free(out);
		pw_endpoints_free(x);
		pw_endpoints_free(y);
	}
	return v[0][0] >= 0 && v[0][0] == v[1][0] && v[0][1] == v[1][1];
}

/* Every verdict of a and b, pod to pod and with outside addresses. */
static bool rnd_same(const struct run *a, const struct run *b)
{
	static const struct pw_port ports[] = {
		{ 80, PW_PROTO_TCP },	{ 85, PW_PROTO_TCP },
		{ 443, PW_PROTO_TCP },	{ 5432, PW_PROTO_TCP },
		{ 8080, PW_PROTO_TCP }, { 53, PW_PROTO_UDP },
	};
	static const char *const ips[] = { "192.0.2.7", "10.1.1.9",
					   "198.51.100.1" };
	size_t n = pw_engine_pod_count(a->e), np = PW_ARRAY_LEN(ports);
	struct pw_matrix *ma = pw_engine_matrix(a->e, ports, np);
	struct pw_matrix *mb = pw_engine_matrix(b->e, ports, np);
	bool same = ma && mb;

	for (size_t p = 0; same && p < np; p++)
		for (size_t i = 0; i < n; i++)
			for (size_t j = 0; j < n; j++)
				same &= pw_matrix_allowed(ma, p, i, j) ==
					pw_matrix_allowed(mb, p, i, j);
	for (size_t x = 0; same && x < PW_ARRAY_LEN(ips); x++)
		for (size_t i = 0; same && i < n; i++)
			for (size_t p = 0; same && p < np; p++)
				same = outside_same(a, b, ips[x],
						    pw_engine_pod_name(a->e, i),
						    &ports[p]);
	pw_matrix_free(ma);
	pw_matrix_free(mb);
	return same;
}

static void test_redundant_random(void)
{
	struct rnd_pol pols[RND_POLS];
	int dropped = 0, rounds = 300, bad = 0;

	for (int round = 0; round < rounds; round++) {
		struct run full, less;
		char *text;

		for (int i = 0; i < RND_POLS; i++)
			rnd_policy(&pols[i]);
		text = rnd_cluster(pols);
		if (!run_lint(&full, text, NULL)) {
			printf("%s\n", text);
			free(text);
			run_free(&full);
			return;
		}
		free(text);
		if (!rnd_drop(&full, pols)) {
			run_free(&full);
			continue;
		}
		dropped++;
		text = rnd_cluster(pols);
		if (run_lint(&less, text, NULL) && !rnd_same(&full, &less)) {
			if (!bad++)
				printf("verdicts changed without:\n%s\n", text);
		}
		free(text);
		run_free(&less);
		run_free(&full);
	}
	CHECK(!bad,
	      "removing what PW007 reports changes no verdict (%d of "
	      "%d clusters differ)",
	      bad, dropped);
	printf("PW007 on random clusters: %d of %d had something to remove\n",
	       dropped, rounds);
	CHECK(dropped > rounds / 10,
	      "PW007 found something often enough "
	      "(%d of %d)",
	      dropped, rounds);
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 2;
	}
	test_catalogue();
	test_rows();
	test_witness();
	test_no_wall();
	test_nothing();
	test_service_ip();
	test_proto_service();
	test_suppress();
	test_redundant_proof();
	test_redundant_random();
	unlink(write_file(""));
	rmdir(tmpdir);
	return check_done("lint");
}
