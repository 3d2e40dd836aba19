// SPDX-License-Identifier: Apache-2.0
/*
 * podwall diff's library part: hand-made version pairs whose change is
 * known (default deny, port ranges, named ports, namespaces, workloads,
 * pods that come and go, ipBlocks), and for every diff of the suite two
 * checks against the engine itself: each group's witness really changed
 * (explained on both versions), and every changed pod pair on a set of
 * probe ports (every bound of every range, and their neighbours) is
 * covered by a group, exactly so for groups between two pods.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "check.h"
#include <podwall/diff.h>
#include <podwall/podwall.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- building versions ------------------------------------------------- */

struct version {
	struct pw_cluster *c;
	struct pw_engine *e;
};

static bool version_load(struct version *v, const char *yaml)
{
	struct pw_diags *d = pw_diags_new();
	bool ok;

	v->c = pw_cluster_new();
	v->e = NULL;
	ok = d && v->c &&
	     !pw_cluster_load_buffer(v->c, "test.yaml", yaml, strlen(yaml),
				     d) &&
	     !pw_cluster_finalize(v->c, d);
	for (size_t i = 0; !ok && d && i < pw_diags_count(d); i++) {
		char buf[256];

		pw_diag_format(pw_diags_get(d, i), buf, sizeof(buf));
		printf("  diag: %s\n", buf);
	}
	pw_diags_free(d);
	if (ok)
		v->e = pw_engine_new(v->c);
	return v->e != NULL;
}

static void version_free(struct version *v)
{
	pw_engine_free(v->e);
	pw_cluster_free(v->c);
}

/* A running pod with one container port "http" on 8080/TCP. */
#define POD(ns, name, labels, ip)                                       \
	"---\napiVersion: v1\nkind: Pod\nmetadata: {name: " name        \
	", namespace: " ns ", labels: " labels "}\n"                    \
	"spec: {containers: [{name: c, image: i, ports: [{name: http, " \
	"containerPort: 8080}]}]}\n"                                    \
	"status: {phase: Running, podIP: " ip "}\n"

#define POLICY(ns, name, spec)                                         \
	"---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n" \
	"metadata: {name: " name ", namespace: " ns "}\nspec: " spec "\n"

#define BASE                                  \
	POD("a", "x", "{app: x}", "10.0.0.1") \
	POD("a", "v", "{app: v}", "10.0.0.2") \
	POD("b", "z", "{app: z}", "10.0.1.1")

#define DENY_X_IN                                        \
	POLICY("a", "deny-x",                            \
	       "{podSelector: {matchLabels: {app: x}}, " \
	       "policyTypes: [Ingress]}")

/* ---- checking a diff against the engine ----------------------------------- */

/* Whether version v allows from -> to on port; false when an end does
 * not exist in v. */
static bool allowed(const struct version *v, const char *from, const char *to,
		    const struct pw_port *port)
{
	struct pw_endpoints *f = pw_engine_resolve(v->e, from);
	struct pw_endpoints *t = pw_engine_resolve(v->e, to);
	struct pw_verdict *vd = NULL;
	bool ok = false;

	if (f && t && pw_endpoints_count(f) && pw_endpoints_count(t))
		vd = pw_engine_explain(v->e, f, 0, t, 0, port);
	if (vd)
		ok = pw_verdict_allowed(vd);
	pw_verdict_free(vd);
	pw_endpoints_free(f);
	pw_endpoints_free(t);
	return ok;
}

static bool in_ranges(const struct pw_diff *d, enum pw_change c, size_t i,
		      const struct pw_port *p)
{
	for (size_t j = 0; j < pw_diff_range_count(d, c, i); j++) {
		struct pw_port first;
		uint16_t last;

		pw_diff_range(d, c, i, j, &first, &last);
		if (first.proto == p->proto && first.num <= p->num &&
		    p->num <= last)
			return true;
	}
	return false;
}

static void check_witnesses(const struct pw_diff *d, const struct version *o,
			    const struct version *n)
{
	for (int c = 0; c < PW_CHANGE_NR; c++) {
		for (size_t i = 0; i < pw_diff_count(d, c); i++) {
			const char *f = pw_diff_witness_from(d, c, i);
			const char *t = pw_diff_witness_to(d, c, i);
			struct pw_port p = pw_diff_witness_port(d, c, i);
			bool was = allowed(o, f, t, &p),
			     is = allowed(n, f, t, &p);

			CHECK(was != is && is == (c == PW_CHANGE_ADDED),
			      "witness %s -> %s on %u: was %d, is %d", f, t,
			      p.num, was, is);
			CHECK(in_ranges(d, c, i, &p),
			      "witness port %u outside the group's ranges",
			      p.num);
		}
	}
}

/* Whether a group end may stand for pod: the pod itself, its namespace,
 * or a workload "ns/name[Kind]" whose pods are named "ns/name-...". */
static bool end_covers(const char *end, enum pw_diff_end kind, const char *pod)
{
	size_t n = strlen(end);
	const char *bracket = strchr(end, '[');

	if (!strcmp(end, pod))
		return true;
	if (kind == PW_DIFF_NAMESPACE)
		return !strncmp(pod, end, n) && pod[n] == '/';
	if (kind != PW_DIFF_WORKLOAD || !bracket)
		return false;
	n = (size_t)(bracket - end);
	return !strncmp(pod, end, n) && pod[n] == '-';
}

static long covering_group(const struct pw_diff *d, enum pw_change c,
			   const char *f, const char *t,
			   const struct pw_port *p)
{
	for (size_t i = 0; i < pw_diff_count(d, c); i++)
		if (end_covers(pw_diff_from(d, c, i),
			       pw_diff_from_kind(d, c, i), f) &&
		    end_covers(pw_diff_to(d, c, i), pw_diff_to_kind(d, c, i),
			       t) &&
		    in_ranges(d, c, i, p))
			return (long)i;
	return -1;
}

/* Ports where answers can change: every range bound and its neighbours. */
static size_t probe_ports(const struct pw_diff *d, struct pw_port *out,
			  size_t max)
{
	static const uint16_t fixed[] = { 1, 53, 79, 80, 81, 8080, 65535 };
	size_t n = 0;

	for (int pr = 0; pr < PW_PROTO_NR; pr++)
		for (size_t k = 0; k < ARRAY_SIZE(fixed) && n < max; k++)
			out[n++] = (struct pw_port){ fixed[k], (uint8_t)pr };
	for (int c = 0; c < PW_CHANGE_NR; c++) {
		for (size_t i = 0; i < pw_diff_count(d, c); i++) {
			for (size_t j = 0; j < pw_diff_range_count(d, c, i);
			     j++) {
				struct pw_port first;
				uint16_t last;

				pw_diff_range(d, c, i, j, &first, &last);
				if (n + 4 > max)
					return n;
				out[n++] = first;
				out[n] = first;
				out[n++].num = last;
				if (first.num > 1) {
					out[n] = first;
					out[n++].num = first.num - 1;
				}
				if (last < 65535) {
					out[n] = first;
					out[n++].num = last + 1;
				}
			}
		}
	}
	return n;
}

static const char *pod_in(const struct version *v, const char *name)
{
	for (size_t i = 0; i < pw_engine_pod_count(v->e); i++)
		if (!strcmp(pw_engine_pod_name(v->e, i), name))
			return name;
	return NULL;
}

static bool pod_group(const struct pw_diff *d, enum pw_change c, long g)
{
	return g >= 0 && pw_diff_from_kind(d, c, (size_t)g) == PW_DIFF_POD &&
	       pw_diff_to_kind(d, c, (size_t)g) == PW_DIFF_POD;
}

/* One pod pair on the probe ports: a change must be covered by a group
 * of that change; no change must not be claimed by a pod-to-pod group.
 * Returns the number of ports where that fails. */
static unsigned check_pair(const struct pw_diff *d, const struct version *o,
			   const struct version *n, const char *f,
			   const char *t, const struct pw_port *ports,
			   size_t np)
{
	bool in_o = pod_in(o, f) && pod_in(o, t);
	bool in_n = pod_in(n, f) && pod_in(n, t);
	unsigned bad = 0;

	for (size_t k = 0; k < np; k++) {
		bool was = in_o && allowed(o, f, t, &ports[k]);
		bool is = in_n && allowed(n, f, t, &ports[k]);
		enum pw_change c = is ? PW_CHANGE_ADDED : PW_CHANGE_REMOVED;

		if (was == is) {
			for (int x = 0; x < PW_CHANGE_NR; x++)
				if (pod_group(d, x,
					      covering_group(d, x, f, t,
							     &ports[k])))
					bad++;
			continue;
		}
		if (covering_group(d, c, f, t, &ports[k]) < 0 && bad++ < 3) {
			printf("  uncovered: %s -> %s on %u/%s\n", f, t,
			       ports[k].num, pw_proto_name(ports[k].proto));
		}
	}
	return bad;
}

/* Whether a CIDR end ("10.0.0.0/16" or "first-last") holds address a. */
static bool cidr_end_holds(const char *end, const char *a)
{
	struct pw_addr addr, lo, hi;
	struct pw_cidr c;
	const char *dash = strchr(end, '-');
	char first[64];

	if (pw_addr_parse(a, &addr))
		return false;
	if (!dash)
		return !pw_cidr_parse(end, &c, NULL, NULL) &&
		       pw_cidr_contains(&c, &addr);
	snprintf(first, sizeof(first), "%.*s", (int)(dash - end), end);
	return !pw_addr_parse(first, &lo) && !pw_addr_parse(dash + 1, &hi) &&
	       lo.family == addr.family && pw_addr_cmp(&lo, &addr) <= 0 &&
	       pw_addr_cmp(&addr, &hi) <= 0;
}

static bool addr_group(const struct pw_diff *d, enum pw_change c, size_t i,
		       const char *pod, const char *a, bool egress,
		       const struct pw_port *p)
{
	const char *pe = egress ? pw_diff_from(d, c, i) : pw_diff_to(d, c, i);
	const char *ae = egress ? pw_diff_to(d, c, i) : pw_diff_from(d, c, i);
	enum pw_diff_end pk = egress ? pw_diff_from_kind(d, c, i) :
				       pw_diff_to_kind(d, c, i);
	enum pw_diff_end ak = egress ? pw_diff_to_kind(d, c, i) :
				       pw_diff_from_kind(d, c, i);

	return ak == PW_DIFF_CIDR && end_covers(pe, pk, pod) &&
	       cidr_end_holds(ae, a) && in_ranges(d, c, i, p);
}

/* Pods to and from addresses outside the cluster, on the probe ports:
 * every change covered by a group of that change. */
static unsigned check_addr_pod(const struct pw_diff *d, const struct version *o,
			       const struct version *n, const char *pod,
			       const struct pw_port *ports, size_t np)
{
	static const char *const addrs[] = { "192.0.2.7", "10.0.1.9",
					     "10.0.77.1", "8.8.8.8" };
	unsigned bad = 0;

	for (size_t a = 0; a < ARRAY_SIZE(addrs); a++) {
		for (size_t k = 0; k < np; k++) {
			for (int eg = 0; eg < 2; eg++) {
				const char *f = eg ? pod : addrs[a];
				const char *t = eg ? addrs[a] : pod;
				bool was = pod_in(o, pod) &&
					   allowed(o, f, t, &ports[k]);
				bool is = pod_in(n, pod) &&
					  allowed(n, f, t, &ports[k]);
				enum pw_change c = is ? PW_CHANGE_ADDED :
							PW_CHANGE_REMOVED;
				bool found = false;

				for (size_t i = 0;
				     was != is && i < pw_diff_count(d, c); i++)
					found |= addr_group(d, c, i, pod,
							    addrs[a], eg,
							    &ports[k]);
				if (was != is && !found && bad++ < 3)
					printf("  uncovered: %s -> %s on %u\n",
					       f, t, ports[k].num);
			}
		}
	}
	return bad;
}

/* Every ordered pair of pods of either version, on every probe port. */
static void check_coverage(const struct pw_diff *d, const struct version *o,
			   const struct version *n)
{
	const struct version *vs[2] = { o, n };
	struct pw_port ports[256];
	size_t np = probe_ports(d, ports, ARRAY_SIZE(ports));
	unsigned bad = 0;

	for (int a = 0; a < 4; a++) {
		const struct pw_engine *ef = vs[a / 2]->e, *et = vs[a % 2]->e;

		for (size_t i = 0; i < pw_engine_pod_count(ef); i++)
			for (size_t j = 0; j < pw_engine_pod_count(et); j++)
				if (strcmp(pw_engine_pod_name(ef, i),
					   pw_engine_pod_name(et, j)))
					bad += check_pair(
						d, o, n,
						pw_engine_pod_name(ef, i),
						pw_engine_pod_name(et, j),
						ports, np);
	}
	for (int a = 0; a < 2; a++)
		for (size_t i = 0; i < pw_engine_pod_count(vs[a]->e); i++)
			bad += check_addr_pod(d, o, n,
					      pw_engine_pod_name(vs[a]->e, i),
					      ports, np);
	CHECK(bad == 0, "%u pod pairs and ports not covered exactly", bad);
}

/* ---- the cases -------------------------------------------------------- */

struct pair {
	struct version o, n;
	struct pw_diff *d;
};

/* Loads both versions, diffs them and runs the generic checks. */
static bool pair_load(struct pair *p, const char *old, const char *new)
{
	memset(p, 0, sizeof(*p));
	if (!version_load(&p->o, old) || !version_load(&p->n, new)) {
		CHECK(false, "a version did not load");
		return false;
	}
	p->d = pw_diff_new(p->o.e, p->n.e);
	CHECK(p->d != NULL, "pw_diff_new: %s", strerror(errno));
	if (!p->d)
		return false;
	check_witnesses(p->d, &p->o, &p->n);
	check_coverage(p->d, &p->o, &p->n);
	return true;
}

static void pair_free(struct pair *p)
{
	pw_diff_free(p->d);
	version_free(&p->o);
	version_free(&p->n);
}

static long find(const struct pw_diff *d, enum pw_change c, const char *from,
		 const char *to)
{
	for (size_t i = 0; i < pw_diff_count(d, c); i++)
		if (!strcmp(pw_diff_from(d, c, i), from) &&
		    !strcmp(pw_diff_to(d, c, i), to))
			return (long)i;
	return -1;
}

/* The ranges of group i as "81-90/TCP, 53/UDP". */
static const char *ports_text(const struct pw_diff *d, enum pw_change c, long i)
{
	static char buf[256];
	size_t n = 0;

	buf[0] = '\0';
	for (size_t j = 0; i >= 0 && j < pw_diff_range_count(d, c, (size_t)i);
	     j++) {
		if (j)
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, ", ");
		n += (size_t)pw_diff_range_format(d, c, (size_t)i, j, buf + n,
						  sizeof(buf) - n);
	}
	return buf;
}

/* A group that must exist, with its ports and end kinds. */
struct expect {
	enum pw_change c;
	const char *from, *to, *ports;
	enum pw_diff_end fk, tk;
};

static void check_group(const struct pw_diff *d, const struct expect *x)
{
	long i = find(d, x->c, x->from, x->to);

	CHECK(i >= 0, "no %s group %s -> %s", pw_change_name(x->c), x->from,
	      x->to);
	if (i < 0)
		return;
	CHECK(!strcmp(ports_text(d, x->c, i), x->ports),
	      "%s -> %s: ports '%s', want '%s'", x->from, x->to,
	      ports_text(d, x->c, i), x->ports);
	CHECK(pw_diff_from_kind(d, x->c, (size_t)i) == x->fk &&
		      pw_diff_to_kind(d, x->c, (size_t)i) == x->tk,
	      "%s -> %s: end kinds %d, %d", x->from, x->to,
	      pw_diff_from_kind(d, x->c, (size_t)i),
	      pw_diff_to_kind(d, x->c, (size_t)i));
}

#define ALL_PORTS "1-65535/TCP, 1-65535/UDP, 1-65535/SCTP"

#define ALLOW_X_IN(ports)                                \
	POLICY("a", "allow-x",                           \
	       "{podSelector: {matchLabels: {app: x}}, " \
	       "ingress: [{ports: " ports "}]}")

#define C_PODS                                \
	POD("c", "p", "{app: p}", "10.0.2.1") \
	POD("c", "q", "{app: q}", "10.0.2.2")

#define W_PODS                                               \
	POD("w", "web-5d8f9c7b6-abcde",                      \
	    "{app: web, pod-template-hash: "                 \
	    "5d8f9c7b6}",                                    \
	    "10.0.3.1")                                      \
	POD("w", "web-5d8f9c7b6-fghij",                      \
	    "{app: web, pod-template-hash: "                 \
	    "5d8f9c7b6}",                                    \
	    "10.0.3.2")                                      \
	POD("w", "db-0",                                     \
	    "{app: db, statefulset.kubernetes.io/pod-name: " \
	    "db-0}",                                         \
	    "10.0.3.3")

#define X_EGRESS(rules)                                  \
	POLICY("a", "eg",                                \
	       "{podSelector: {matchLabels: {app: x}}, " \
	       "policyTypes: [Egress]" rules "}")

/* b/z may only open connections to app=x pods, in any namespace. */
#define Z_TO_X                                                        \
	POLICY("b", "z-out",                                          \
	       "{podSelector: {matchLabels: {app: z}}, policyTypes: " \
	       "[Egress], egress: [{to: [{namespaceSelector: {}, "    \
	       "podSelector: {matchLabels: {app: x}}}]}]}")

static const struct {
	const char *name, *old, *new;
	size_t nadded, nremoved; /* (size_t)-1: not checked */
	struct expect groups[3];
} cases[] = {
	{ "identical", BASE, BASE, 0, 0, { { 0 } } },
	{ "default deny",
	  BASE,
	  BASE DENY_X_IN,
	  0,
	  (size_t)-1,
	  { { PW_CHANGE_REMOVED, "b/z", "a/x", ALL_PORTS, PW_DIFF_POD,
	      PW_DIFF_POD },
	    { PW_CHANGE_REMOVED, "a/v", "a/x", ALL_PORTS, PW_DIFF_POD,
	      PW_DIFF_POD } } },
	{ "port range",
	  BASE ALLOW_X_IN("[{port: 80}]"),
	  BASE ALLOW_X_IN("[{port: 80, endPort: 90}]"),
	  (size_t)-1,
	  0,
	  { { PW_CHANGE_ADDED, "b/z", "a/x", "81-90/TCP", PW_DIFF_POD,
	      PW_DIFF_POD } } },
	{ "named port",
	  BASE DENY_X_IN,
	  BASE DENY_X_IN ALLOW_X_IN("[{port: http}]"),
	  (size_t)-1,
	  0,
	  { { PW_CHANGE_ADDED, "a/v", "a/x", "8080/TCP", PW_DIFF_POD,
	      PW_DIFF_POD } } },
	{ "protocol without port",
	  BASE,
	  BASE ALLOW_X_IN("[{protocol: UDP}]"),
	  0,
	  (size_t)-1,
	  { { PW_CHANGE_REMOVED, "b/z", "a/x", "1-65535/TCP, 1-65535/SCTP",
	      PW_DIFF_POD, PW_DIFF_POD } } },
	{ "namespace",
	  BASE C_PODS DENY_X_IN,
	  BASE C_PODS POLICY("a", "from-c",
			     "{podSelector: {matchLabels: {app: x}}, "
			     "ingress: [{from: [{namespaceSelector: "
			     "{matchLabels: {kubernetes.io/metadata.name: "
			     "c}}}]}]}") DENY_X_IN,
	  1,
	  0,
	  { { PW_CHANGE_ADDED, "c", "a/x", ALL_PORTS, PW_DIFF_NAMESPACE,
	      PW_DIFF_POD } } },
	{ "workloads",
	  W_PODS,
	  W_PODS POLICY("w", "db", "{podSelector: {matchLabels: {app: db}}}"),
	  0,
	  (size_t)-1,
	  { { PW_CHANGE_REMOVED, "w/web[Deployment]", "w/db[StatefulSet]",
	      ALL_PORTS, PW_DIFF_WORKLOAD, PW_DIFF_WORKLOAD } } },
	{ "pods come and go",
	  BASE DENY_X_IN ALLOW_X_IN("[{port: 80}]"),
	  POD("a", "x", "{app: x}", "10.0.0.1")
		  POD("a", "new", "{app: v}", "10.0.0.3")
			  POD("b", "z", "{app: z}", "10.0.1.1")
				  DENY_X_IN ALLOW_X_IN("[{port: 80}]"),
	  (size_t)-1,
	  (size_t)-1,
	  { { PW_CHANGE_ADDED, "a/new", "a/x", "80/TCP", PW_DIFF_POD,
	      PW_DIFF_POD },
	    { PW_CHANGE_REMOVED, "a/v", "a/x", "80/TCP", PW_DIFF_POD,
	      PW_DIFF_POD },
	    { PW_CHANGE_REMOVED, "a/v", "b/z", ALL_PORTS, PW_DIFF_POD,
	      PW_DIFF_POD } } },
	{ "relabelled pod",
	  BASE Z_TO_X,
	  POD("a", "x", "{app: x}", "10.0.0.1")
		  POD("a", "v", "{app: x}", "10.0.0.2")
			  POD("b", "z", "{app: z}", "10.0.1.1") Z_TO_X,
	  1,
	  0,
	  { { PW_CHANGE_ADDED, "b/z", "a/v", ALL_PORTS, PW_DIFF_POD,
	      PW_DIFF_POD } } },
	{ "ipBlock",
	  BASE X_EGRESS(""),
	  BASE X_EGRESS(
		  ", egress: [{to: [{ipBlock: {cidr: 203.0.113.0/24, "
		  "except: [203.0.113.128/25]}}], ports: [{port: 443}]}]"),
	  1,
	  0,
	  { { PW_CHANGE_ADDED, "a/x", "203.0.113.0/25", "443/TCP", PW_DIFF_POD,
	      PW_DIFF_CIDR } } },
};

static void run_case(size_t k)
{
	struct pair p;

	if (!pair_load(&p, cases[k].old, cases[k].new)) {
		printf("  in case '%s'\n", cases[k].name);
		pair_free(&p);
		return;
	}
	if (cases[k].nadded != (size_t)-1)
		CHECK(pw_diff_count(p.d, PW_CHANGE_ADDED) == cases[k].nadded,
		      "%s: %zu groups added, want %zu", cases[k].name,
		      pw_diff_count(p.d, PW_CHANGE_ADDED), cases[k].nadded);
	if (cases[k].nremoved != (size_t)-1)
		CHECK(pw_diff_count(p.d, PW_CHANGE_REMOVED) ==
			      cases[k].nremoved,
		      "%s: %zu groups removed, want %zu", cases[k].name,
		      pw_diff_count(p.d, PW_CHANGE_REMOVED), cases[k].nremoved);
	for (size_t g = 0; g < ARRAY_SIZE(cases[k].groups); g++)
		if (cases[k].groups[g].from)
			check_group(p.d, &cases[k].groups[g]);
	pair_free(&p);
}

static void test_pairs_counted(void)
{
	struct pair p;

	if (!pair_load(&p, BASE, BASE DENY_X_IN))
		goto out;
	/* a/y and b/z lose a/x, once each whatever the ports; and outside
	 * addresses lose it too (one pair per address class). */
	CHECK(pw_diff_pair_count(p.d, PW_CHANGE_REMOVED) > 2,
	      "removed pairs %llu",
	      (unsigned long long)pw_diff_pair_count(p.d, PW_CHANGE_REMOVED));
	CHECK(pw_diff_pair_count(p.d, PW_CHANGE_ADDED) == 0, "added pairs");
	CHECK(pw_diff_port_class_count(p.d) >= 1, "port classes");
out:
	pair_free(&p);
}

/* ---- random versions ---------------------------------------------------- */

#define TEST_RNG_SEED 0x2545f4914f6cdd1dULL
#include "rng.h"

struct text {
	char buf[16384];
	size_t n;
};

static void add(struct text *t, const char *s)
{
	size_t len = strlen(s);

	if (t->n + len < sizeof(t->buf)) {
		memcpy(t->buf + t->n, s, len + 1);
		t->n += len;
	}
}

static const char *const apps[] = { "web", "api", "db" };
static const char *const nss[] = { "n0", "n1", "n2" };

/* Pods p0..p5; pod `skip` left out, pod `relabel` with another app. */
static void random_pods(struct text *t, unsigned skip, unsigned relabel)
{
	static const char *const cports[] = {
		"[]",
		"[{name: http, containerPort: 8080}]",
		("[{name: http, containerPort: 8000}, {name: dns, "
		 "containerPort: 53, protocol: UDP}]"),
	};
	char buf[512];

	for (unsigned i = 0; i < 6; i++) {
		if (i == skip)
			continue;
		snprintf(
			buf, sizeof(buf),
			"---\napiVersion: v1\nkind: Pod\nmetadata: {name: "
			"p%u, namespace: %s, labels: {app: %s}}\n"
			"spec: {containers: [{name: c, image: i, ports: %s}]}\n"
			"status: {phase: Running, podIP: 10.0.%u.1}\n",
			i, nss[i % 3], apps[(i / 3 + i + (i == relabel)) % 3],
			cports[i % 3], i);
		add(t, buf);
	}
}

static void random_rule(struct text *t)
{
	static const char *const peers[] = {
		"",
		"from: [{podSelector: {matchLabels: {app: web}}}], ",
		("from: [{namespaceSelector: {matchLabels: "
		 "{kubernetes.io/metadata.name: n1}}}], "),
		"from: [{ipBlock: {cidr: 10.0.0.0/16, except: [10.0.1.0/24]}}], ",
		"from: [{ipBlock: {cidr: 192.0.2.0/24}}], ",
	};
	static const char *const ports[] = {
		"",
		"ports: [{port: 80}]",
		"ports: [{port: 8000, endPort: 8100}]",
		"ports: [{port: http}]",
		"ports: [{protocol: UDP, port: 53}, {port: dns, protocol: UDP}]",
		"ports: [{protocol: UDP}]",
	};

	add(t, "{");
	add(t, peers[pick(ARRAY_SIZE(peers))]);
	add(t, ports[pick(ARRAY_SIZE(ports))]);
	add(t, "}");
}

/* A policy; the same rules serve ingress ("from") and egress ("to"). */
static void random_policy(struct text *t, unsigned i)
{
	static const char *const types[] = { "Ingress", "Egress" };
	struct text r = { .n = 0 };
	char buf[256];
	/* One pick per statement: argument order is unspecified in C, and
	 * every compiler must generate the same clusters. */
	unsigned dir = pick(2);
	unsigned nrules = pick(3);
	unsigned ns = pick(3);
	unsigned app = pick(3);

	r.buf[0] = '\0';
	for (unsigned k = 0; k < nrules; k++) {
		if (k)
			add(&r, ", ");
		random_rule(&r);
	}
	if (dir == 1)
		for (char *s = r.buf; (s = strstr(s, "from: ")); s += 4)
			memcpy(s, "to:   ", 6);
	snprintf(buf, sizeof(buf),
		 "---\napiVersion: networking.k8s.io/v1\nkind: "
		 "NetworkPolicy\nmetadata: {name: r%u, namespace: %s}\n"
		 "spec: {podSelector: {matchLabels: {app: %s}}, "
		 "policyTypes: [%s], %s: [",
		 i, nss[ns], apps[app], types[dir], dir ? "egress" : "ingress");
	add(t, buf);
	add(t, r.buf);
	add(t, "]}\n");
}

static void random_version(struct text *t, unsigned skip, unsigned relabel)
{
	t->n = 0;
	t->buf[0] = '\0';
	random_pods(t, skip, relabel);
	for (unsigned i = 0, n = pick(5); i < n; i++)
		random_policy(t, i);
}

/* Random pairs: other policies over the same pods, or with a pod gone
 * or relabelled too; the generic checks (witnesses, coverage) judge. */
static void test_random(void)
{
	static struct text old, new;

	for (unsigned run = 0; run < 60; run++) {
		struct pair p;

		unsigned skip = run % 3 == 0 ? pick(6) : 99;
		unsigned relabel = run % 2 ? pick(6) : 99;

		random_version(&old, 99, 99);
		random_version(&new, skip, relabel);
		if (pair_load(&p, old.buf, new.buf) && p.d &&
		    !pw_diff_count(p.d, PW_CHANGE_ADDED) &&
		    !pw_diff_count(p.d, PW_CHANGE_REMOVED))
			CHECK(pw_diff_pair_count(p.d, PW_CHANGE_ADDED) == 0,
			      "pairs without groups");
		pair_free(&p);
	}
}

static void test_errors(void)
{
	errno = 0;
	CHECK(pw_diff_new(NULL, NULL) == NULL && errno == EINVAL,
	      "NULL engines: errno %d", errno);
	pw_diff_free(NULL);
	CHECK(!strcmp(pw_change_name(PW_CHANGE_ADDED), "added") &&
		      !strcmp(pw_change_name(PW_CHANGE_REMOVED), "removed"),
	      "change names");
}

int main(void)
{
	for (size_t k = 0; k < ARRAY_SIZE(cases); k++)
		run_case(k);
	test_pairs_counted();
	test_random();
	test_errors();
	return check_done("test_diff");
}
