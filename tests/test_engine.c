// SPDX-License-Identifier: Apache-2.0
/*
 * The engine's semantics, case by case: each case builds a small cluster
 * and lists connections with the expected verdict and reason. Every
 * connection between two matrix pods is also checked in the matrix, so
 * explain and the bitset engine must agree.
 */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "engine.h"
#include "engine_fixture.h"
#include <podwall/podwall.h>

#define TCP PW_PROTO_TCP
#define UDP PW_PROTO_UDP
#define SCTP PW_PROTO_SCTP
#define ING PW_DIR_INGRESS
#define EGR PW_DIR_EGRESS

enum { DENY, ALLOW };

struct conn_case {
	const char *from, *to, *port;
	int allowed;
	enum pw_reason reason;
};

struct sem_case {
	const char *name;
	void (*build)(struct pw_cluster *c);
	const struct conn_case *conns;
	size_t nconns;
};

/* ---- clusters --------------------------------------------------------- */

static void two_pods(struct pw_cluster *c)
{
	fx_pod(c, "a/x", "app=x", "10.0.0.1", "n1");
	fx_pod(c, "a/y", "app=y", "10.0.0.2", "n1");
}

static void deny_ingress(struct pw_cluster *c)
{
	two_pods(c);
	fx_pol(c, "a/deny", "", "Ingress");
}

static void deny_egress(struct pw_cluster *c)
{
	two_pods(c);
	fx_pol(c, "a/deny", "", "Egress");
}

static void pod_selector(struct pw_cluster *c)
{
	fx_pod(c, "a/db", "app=db", "10.0.0.1", NULL);
	fx_pod(c, "a/web", "app=web", "10.0.0.2", NULL);
	fx_pod(c, "a/other", "app=other", "10.0.0.3", NULL);
	fx_pod(c, "b/web", "app=web", "10.0.1.2", NULL);
	fx_peer(fx_rule(fx_pol(c, "a/db", "app=db", NULL), ING), "app=web",
		NULL);
}

static void three_ns(struct pw_cluster *c)
{
	fx_ns(c, "b", "team=x");
	fx_ns(c, "c", "team=y");
	fx_pod(c, "a/db", "app=db", "10.0.0.1", NULL);
	fx_pod(c, "a/web", "app=web", "10.0.0.2", NULL);
	fx_pod(c, "b/web", "app=web", "10.0.1.2", NULL);
	fx_pod(c, "b/other", "app=other", "10.0.1.3", NULL);
	fx_pod(c, "c/web", "app=web", "10.0.2.2", NULL);
}

static void ns_selector(struct pw_cluster *c)
{
	three_ns(c);
	fx_peer(fx_rule(fx_pol(c, "a/db", "app=db", NULL), ING), NULL,
		"ml:team=x");
}

static void and_peer(struct pw_cluster *c)
{
	three_ns(c);
	fx_peer(fx_rule(fx_pol(c, "a/db", "app=db", NULL), ING), "app=web",
		"team in (x)");
}

static void two_peers(struct pw_cluster *c)
{
	struct pw_rule *r;

	three_ns(c);
	r = fx_rule(fx_pol(c, "a/db", "app=db", NULL), ING);
	fx_peer(r, NULL, "team=x");
	fx_peer(r, "ml:app=web", NULL);
}

static void ipblock4(struct pw_cluster *c)
{
	fx_pod(c, "a/db", "app=db", "10.0.0.1", NULL);
	fx_pod(c, "a/in", "", "10.1.2.5", NULL);
	fx_pod(c, "a/ex", "", "10.1.1.5", NULL);
	fx_peer_ip(fx_rule(fx_pol(c, "a/db", "app=db", NULL), ING),
		   "10.1.0.0/16", "10.1.1.0/24");
}

static void ipblock6(struct pw_cluster *c)
{
	fx_pod(c, "a/db", "app=db", "fd00::1", NULL);
	fx_pod(c, "a/in", "", "fd00:1::5", NULL);
	fx_pod(c, "a/ex", "", "fd00:1::1:5", NULL);
	fx_pod(c, "a/dual", "", "10.1.0.9,fd00:1::9", NULL);
	fx_pod(c, "a/v4", "", "10.1.0.8", NULL);
	fx_peer_ip(fx_rule(fx_pol(c, "a/db", "app=db", NULL), ING),
		   "fd00:1::/64", "fd00:1::1:0/112");
}

/* Egress to an ipBlock judges the destination pod's address too. */
static void ipblock_egress(struct pw_cluster *c)
{
	fx_pod(c, "a/cli", "app=cli", "10.0.0.1", NULL);
	fx_pod(c, "a/in", "", "10.1.2.5", NULL);
	fx_pod(c, "a/ex", "", "10.1.1.5", NULL);
	fx_peer_ip(fx_rule(fx_pol(c, "a/cli", "app=cli", "Egress"), EGR),
		   "10.1.0.0/16", "10.1.1.0/24");
}

static void named_ports(struct pw_cluster *c)
{
	struct pw_pod *p;
	struct pw_rule *r;

	p = fx_pod(c, "a/db", "app=db", "10.0.0.1", NULL);
	fx_cport(p, "http", 8080, TCP);
	fx_cport(p, "dns", 53, TCP);
	p = fx_pod(c, "a/db2", "app=db", "10.0.0.2", NULL);
	fx_cport(p, "http", 9090, TCP);
	fx_cport(p, "dns", 53, UDP);
	p = fx_pod(c, "a/db3", "app=db", "10.0.0.4", NULL);
	fx_cport(p, "web", 8080, TCP);
	fx_pod(c, "a/cli", "app=cli", "10.0.0.3", NULL);
	r = fx_rule(fx_pol(c, "a/db", "app=db", NULL), ING);
	fx_port_named(r, TCP, "http");
	fx_port_named(r, UDP, "dns");
	fx_port_named(r, TCP, "web");
	r = fx_rule(fx_pol(c, "a/cli", "app=cli", "Egress"), EGR);
	fx_port_named(r, TCP, "http");
	fx_port_named(r, TCP, "web");
}

static void end_port(struct pw_cluster *c)
{
	two_pods(c);
	fx_port(fx_rule(fx_pol(c, "a/x", "app=x", NULL), ING), TCP, 8000, 8080);
}

static void proto_only(struct pw_cluster *c)
{
	two_pods(c);
	fx_port(fx_rule(fx_pol(c, "a/x", "app=x", NULL), ING), UDP, 0, 0);
}

/* policyTypes absent: egress rules make it an egress policy too. */
static void types_absent(struct pw_cluster *c)
{
	struct pw_policy *p;

	fx_pod(c, "a/x", "app=x", "10.0.0.1", NULL);
	fx_pod(c, "a/y", "app=y", "10.0.0.2", NULL);
	fx_pod(c, "a/z", "app=z", "10.0.0.3", NULL);
	fx_pol(c, "a/in-only", "app=x", NULL);
	p = fx_pol(c, "a/both", "app=y", NULL);
	fx_peer(fx_rule(p, EGR), "app=z", NULL);
}

static void host_network(struct pw_cluster *c)
{
	struct pw_pod *h;
	struct pw_policy *p;

	fx_node(c, "n1", "192.168.0.1");
	fx_node(c, "n2", "192.168.0.2");
	fx_pod(c, "a/x", "app=x", "10.0.0.1", "n2");
	fx_pod(c, "a/y", "app=y", "10.0.0.2", "n2");
	fx_pod(c, "a/z", "app=z", "10.0.0.3", "n1");
	h = fx_pod(c, "a/h", "app=x", "192.168.0.1", "n1");
	h->host_network = true;
	h = fx_pod(c, "a/h3", "app=x", "192.168.0.3", "n3");
	h->host_network = true;
	h = fx_pod(c, "a/hd", "app=x", NULL, NULL);
	h->host_network = true;
	h->kind = "DaemonSet";
	/* Selects app=x: never the hostNetwork pods. */
	p = fx_pol(c, "a/x", "app=x", NULL);
	fx_peer(fx_rule(p, ING), "", NULL);
	fx_peer_ip(fx_rule(p, ING), "192.168.0.3/32", NULL);
	fx_pol(c, "a/z", "app=z", NULL);
}

static void same_pod(struct pw_cluster *c)
{
	two_pods(c);
	fx_pol(c, "a/deny", "", "Ingress,Egress");
}

static void finished(struct pw_cluster *c)
{
	two_pods(c);
	fx_pod(c, "a/done", "app=x", "10.0.0.9", NULL)->phase =
		PW_PHASE_SUCCEEDED;
	fx_pod(c, "a/bad", "app=x", "10.0.0.8", NULL)->phase = PW_PHASE_FAILED;
	fx_peer(fx_rule(fx_pol(c, "a/x", "app=x", NULL), ING), "app=x", NULL);
}

static void templates(struct pw_cluster *c)
{
	struct pw_pod *t;
	struct pw_rule *r;

	fx_pod(c, "a/x", "app=x", "10.0.0.1", NULL);
	t = fx_pod(c, "a/web", "app=web", NULL, NULL);
	t->kind = "Deployment";
	t = fx_pod(c, "a/db", "app=db", NULL, NULL);
	t->kind = "StatefulSet";
	r = fx_rule(fx_pol(c, "a/db", "app=db", NULL), ING);
	fx_peer(r, "app=web", NULL);
	fx_peer_ip(r, "10.0.0.0/8", NULL);
	fx_peer_ip(fx_rule(fx_pol(c, "a/x", "app=x", NULL), ING), "0.0.0.0/0",
		   NULL);
}

static void services(struct pw_cluster *c)
{
	struct pw_service *s;
	struct pw_pod *p;

	p = fx_pod(c, "a/web-1", "app=web", "10.0.0.1", NULL);
	fx_cport(p, "http", 8080, TCP);
	p = fx_pod(c, "a/web-2", "app=web", "10.0.0.2", NULL);
	fx_cport(p, "http", 9090, TCP);
	fx_pod(c, "a/cli", "app=cli", "10.0.0.3", NULL);
	fx_pod(c, "b/web-3", "app=web", "10.0.1.1", NULL);
	fx_port(fx_rule(fx_pol(c, "a/web", "app=web", NULL), ING), TCP, 8080,
		0);
	s = fx_svc(c, "a/web", "app=web");
	fx_svc_port(s, 80, TCP, 0, "http");
	fx_svc_port(s, 81, TCP, 9090, NULL);
	fx_svc(c, "a/empty", NULL);
}

/* ---- expectations ------------------------------------------------------ */

static const struct conn_case deny_ingress_c[] = {
	{ "a/x", "a/y", "80", DENY, PW_REASON_POLICY },
	{ "a/y", "a/x", "53/UDP", DENY, PW_REASON_POLICY },
	{ "203.0.113.1", "a/x", "80", DENY, PW_REASON_POLICY },
	{ "a/x", "203.0.113.1", "80", ALLOW, PW_REASON_NOT_ISOLATED },
};

static const struct conn_case deny_egress_c[] = {
	{ "a/x", "a/y", "80", DENY, PW_REASON_POLICY },
	{ "a/x", "203.0.113.1", "80", DENY, PW_REASON_POLICY },
	{ "203.0.113.1", "a/x", "80", ALLOW, PW_REASON_NOT_ISOLATED },
};

static const struct conn_case no_policy_c[] = {
	{ "a/x", "a/y", "80", ALLOW, PW_REASON_NOT_ISOLATED },
	{ "a/x", "a/x", "80", ALLOW, PW_REASON_SAME_POD },
};

static const struct conn_case pod_selector_c[] = {
	{ "a/web", "a/db", "5432", ALLOW, PW_REASON_POLICY },
	{ "a/other", "a/db", "5432", DENY, PW_REASON_POLICY },
	{ "b/web", "a/db", "5432", DENY, PW_REASON_POLICY },
	{ "10.0.0.2", "a/db", "5432", ALLOW, PW_REASON_POLICY },
	{ "a/db", "a/web", "80", ALLOW, PW_REASON_NOT_ISOLATED },
};

static const struct conn_case ns_selector_c[] = {
	{ "b/web", "a/db", "80", ALLOW, PW_REASON_POLICY },
	{ "b/other", "a/db", "80", ALLOW, PW_REASON_POLICY },
	{ "c/web", "a/db", "80", DENY, PW_REASON_POLICY },
	{ "a/web", "a/db", "80", DENY, PW_REASON_POLICY },
};

static const struct conn_case and_peer_c[] = {
	{ "b/web", "a/db", "80", ALLOW, PW_REASON_POLICY },
	{ "b/other", "a/db", "80", DENY, PW_REASON_POLICY },
	{ "c/web", "a/db", "80", DENY, PW_REASON_POLICY },
	{ "a/web", "a/db", "80", DENY, PW_REASON_POLICY },
};

static const struct conn_case two_peers_c[] = {
	{ "b/web", "a/db", "80", ALLOW, PW_REASON_POLICY },
	{ "b/other", "a/db", "80", ALLOW, PW_REASON_POLICY },
	{ "c/web", "a/db", "80", DENY, PW_REASON_POLICY },
	{ "a/web", "a/db", "80", ALLOW, PW_REASON_POLICY },
};

static const struct conn_case ipblock4_c[] = {
	{ "a/in", "a/db", "80", ALLOW, PW_REASON_POLICY },
	{ "a/ex", "a/db", "80", DENY, PW_REASON_POLICY },
	{ "10.1.200.1", "a/db", "80", ALLOW, PW_REASON_POLICY },
	{ "10.1.1.200", "a/db", "80", DENY, PW_REASON_POLICY },
	{ "10.2.0.1", "a/db", "80", DENY, PW_REASON_POLICY },
	{ "fd00::5", "a/db", "80", DENY, PW_REASON_POLICY },
};

static const struct conn_case ipblock6_c[] = {
	{ "a/in", "a/db", "80", ALLOW, PW_REASON_POLICY },
	{ "a/ex", "a/db", "80", DENY, PW_REASON_POLICY },
	/* A dual-stack pod talks to an IPv6 pod with its IPv6 address. */
	{ "a/dual", "a/db", "80", ALLOW, PW_REASON_POLICY },
	{ "a/v4", "a/db", "80", DENY, PW_REASON_POLICY },
	{ "fd00:1::ffff", "a/db", "80", ALLOW, PW_REASON_POLICY },
	{ "fd00:1::1:ffff", "a/db", "80", DENY, PW_REASON_POLICY },
	{ "10.1.0.9", "a/db", "80", ALLOW, PW_REASON_POLICY },
};

static const struct conn_case ipblock_egress_c[] = {
	{ "a/cli", "a/in", "80", ALLOW, PW_REASON_POLICY },
	{ "a/cli", "a/ex", "80", DENY, PW_REASON_POLICY },
	{ "a/cli", "10.1.0.1", "80", ALLOW, PW_REASON_POLICY },
	{ "a/cli", "10.1.1.1", "80", DENY, PW_REASON_POLICY },
};

static const struct conn_case named_ports_c[] = {
	{ "a/cli", "a/db", "8080", ALLOW, PW_REASON_POLICY },
	{ "a/cli", "a/db", "9090", DENY, PW_REASON_POLICY },
	{ "a/cli", "a/db2", "9090", ALLOW, PW_REASON_POLICY },
	{ "a/cli", "a/db2", "8080", DENY, PW_REASON_POLICY },
	/* two names in one rule: either one */
	{ "a/cli", "a/db3", "8080", ALLOW, PW_REASON_POLICY },
	{ "a/cli", "a/db3", "9090", DENY, PW_REASON_POLICY },
	{ "a/cli", "a/db", "8080/UDP", DENY, PW_REASON_POLICY },
	/* The UDP entry "dns" names a UDP container port only. */
	{ "10.9.9.9", "a/db", "53/UDP", DENY, PW_REASON_POLICY },
	{ "10.9.9.9", "a/db", "53/TCP", DENY, PW_REASON_POLICY },
	{ "10.9.9.9", "a/db2", "53/UDP", ALLOW, PW_REASON_POLICY },
	/* Egress named ports resolve against the destination; an address
	 * outside the cluster has no named ports. */
	{ "a/cli", "10.9.9.9", "8080", DENY, PW_REASON_POLICY },
	{ "a/cli", "a/cli", "8080", ALLOW, PW_REASON_SAME_POD },
};

static const struct conn_case end_port_c[] = {
	{ "a/y", "a/x", "8000", ALLOW, PW_REASON_POLICY },
	{ "a/y", "a/x", "8080", ALLOW, PW_REASON_POLICY },
	{ "a/y", "a/x", "8040", ALLOW, PW_REASON_POLICY },
	{ "a/y", "a/x", "7999", DENY, PW_REASON_POLICY },
	{ "a/y", "a/x", "8081", DENY, PW_REASON_POLICY },
	{ "a/y", "a/x", "8000/UDP", DENY, PW_REASON_POLICY },
};

static const struct conn_case proto_only_c[] = {
	{ "a/y", "a/x", "53/UDP", ALLOW, PW_REASON_POLICY },
	{ "a/y", "a/x", "1/UDP", ALLOW, PW_REASON_POLICY },
	{ "a/y", "a/x", "53/TCP", DENY, PW_REASON_POLICY },
	{ "a/y", "a/x", "53/SCTP", DENY, PW_REASON_POLICY },
};

static const struct conn_case types_absent_c[] = {
	{ "a/y", "a/x", "80", DENY, PW_REASON_POLICY },
	{ "a/x", "a/z", "80", ALLOW, PW_REASON_NOT_ISOLATED },
	{ "a/x", "a/y", "80", DENY, PW_REASON_POLICY },
	{ "a/y", "a/z", "80", ALLOW, PW_REASON_POLICY },
	{ "a/y", "10.9.9.9", "80", DENY, PW_REASON_POLICY },
};

static const struct conn_case host_network_c[] = {
	/* a/h is a hostNetwork pod on n1: not selected, not matched. */
	{ "a/h", "a/x", "80", DENY, PW_REASON_POLICY },
	{ "a/h3", "a/x", "80", ALLOW, PW_REASON_POLICY },
	{ "a/hd[DaemonSet]", "a/x", "80", DENY, PW_REASON_POLICY },
	{ "192.168.0.3", "a/x", "80", ALLOW, PW_REASON_POLICY },
	{ "a/y", "a/x", "80", ALLOW, PW_REASON_POLICY },
	{ "a/x", "a/h", "80", ALLOW, PW_REASON_NOT_ISOLATED },
	/* node traffic: the node's own address or its hostNetwork pods */
	{ "a/h", "a/z", "80", ALLOW, PW_REASON_NODE_TRAFFIC },
	{ "192.168.0.1", "a/z", "80", ALLOW, PW_REASON_NODE_TRAFFIC },
	{ "192.168.0.2", "a/z", "80", DENY, PW_REASON_POLICY },
	{ "192.168.0.2", "a/x", "80", ALLOW, PW_REASON_NODE_TRAFFIC },
	{ "a/x", "a/z", "80", DENY, PW_REASON_POLICY },
};

static const struct conn_case same_pod_c[] = {
	{ "a/x", "a/x", "80", ALLOW, PW_REASON_SAME_POD },
	{ "10.0.0.1", "a/x", "80", ALLOW, PW_REASON_SAME_POD },
	{ "a/x", "a/y", "80", DENY, PW_REASON_POLICY },
};

static const struct conn_case finished_c[] = {
	{ "a/y", "a/x", "80", DENY, PW_REASON_POLICY },
	/* the finished pods' address is just an address now */
	{ "10.0.0.9", "a/x", "80", DENY, PW_REASON_POLICY },
	{ "a/x", "10.0.0.8", "80", ALLOW, PW_REASON_NOT_ISOLATED },
};

static const struct conn_case templates_c[] = {
	{ "a/web[Deployment]", "a/db[StatefulSet]", "80", ALLOW,
	  PW_REASON_POLICY },
	/* to a template (no address), the source's own family counts */
	{ "a/x", "a/db[StatefulSet]", "80", ALLOW, PW_REASON_POLICY },
	/* from a template: no address, no ipBlock matches it */
	{ "a/web[Deployment]", "a/x", "80", DENY, PW_REASON_POLICY },
	{ "10.0.0.5", "a/x", "80", ALLOW, PW_REASON_POLICY },
	{ "a/db[StatefulSet]", "a/db[StatefulSet]", "80", ALLOW,
	  PW_REASON_SAME_POD },
	{ "10.1.1.1", "a/db[StatefulSet]", "80", ALLOW, PW_REASON_POLICY },
	{ "192.168.1.1", "a/db[StatefulSet]", "80", DENY, PW_REASON_POLICY },
};

static const struct conn_case services_c[] = {
	{ "a/cli", "a/svc/web", "80", ALLOW, PW_REASON_POLICY },
	{ "a/cli", "a/web-1", "80", DENY, PW_REASON_POLICY },
	{ "a/cli", "a/web-1", "8080", ALLOW, PW_REASON_POLICY },
};

static const struct sem_case cases[] = {
#define CASE(n, b, c)                     \
	{                                 \
		n, b, c, PW_ARRAY_SIZE(c) \
	}
	CASE("default deny ingress", deny_ingress, deny_ingress_c),
	CASE("default deny egress", deny_egress, deny_egress_c),
	CASE("no policy", two_pods, no_policy_c),
	CASE("podSelector", pod_selector, pod_selector_c),
	CASE("namespaceSelector", ns_selector, ns_selector_c),
	CASE("namespace AND pod in one peer", and_peer, and_peer_c),
	CASE("namespace OR pod in two peers", two_peers, two_peers_c),
	CASE("ipBlock IPv4 with except", ipblock4, ipblock4_c),
	CASE("ipBlock IPv6 with except", ipblock6, ipblock6_c),
	CASE("ipBlock egress", ipblock_egress, ipblock_egress_c),
	CASE("named ports", named_ports, named_ports_c),
	CASE("endPort", end_port, end_port_c),
	CASE("protocol without port", proto_only, proto_only_c),
	CASE("policyTypes absent", types_absent, types_absent_c),
	CASE("hostNetwork and node traffic", host_network, host_network_c),
	CASE("same pod", same_pod, same_pod_c),
	CASE("finished pods", finished, finished_c),
	CASE("templates", templates, templates_c),
	CASE("services", services, services_c),
#undef CASE
};

/* ---- running the cases ------------------------------------------------- */

static struct pw_engine *build(void (*fn)(struct pw_cluster *),
			       struct pw_cluster **cp)
{
	struct pw_cluster *c = fx_new();
	struct pw_engine *e;

	fn(c);
	fx_finalize(c);
	e = pw_engine_new(c);
	if (!e)
		fx_die("pw_engine_new", strerror(errno));
	*cp = c;
	return e;
}

/* The same pair in the matrix, when both ends are matrix pods. */
static void check_matrix(const struct pw_engine *e, const char *case_name,
			 const struct conn_case *cc, const struct pw_port *port)
{
	long f = pw_engine_pod_index(e, cc->from);
	long t = pw_engine_pod_index(e, cc->to);
	struct pw_matrix *m;

	if (f < 0 || t < 0)
		return;
	m = pw_engine_matrix(e, port, 1);
	CHECK(m != NULL, "%s: matrix", case_name);
	if (!m)
		return;
	CHECK(pw_matrix_allowed(m, 0, (size_t)f, (size_t)t) == cc->allowed,
	      "%s: matrix %s -> %s %s", case_name, cc->from, cc->to, cc->port);
	pw_matrix_free(m);
}

static void check_conn(const struct pw_engine *e, const char *case_name,
		       const struct conn_case *cc)
{
	struct pw_endpoints *from = pw_engine_resolve(e, cc->from);
	struct pw_endpoints *to = pw_engine_resolve(e, cc->to);
	struct pw_verdict *v = NULL;
	struct pw_port port;

	CHECK(from && to && pw_endpoints_count(from) == 1 &&
		      pw_endpoints_count(to) >= 1,
	      "%s: resolve %s, %s", case_name, cc->from, cc->to);
	CHECK(!pw_port_parse(cc->port, &port), "port %s", cc->port);
	if (from && to && pw_endpoints_count(to))
		v = pw_engine_explain(e, from, 0, to, 0, &port);
	CHECK(v != NULL, "%s: explain %s -> %s", case_name, cc->from, cc->to);
	if (v) {
		CHECK(pw_verdict_allowed(v) == cc->allowed,
		      "%s: %s -> %s %s: allowed %d", case_name, cc->from,
		      cc->to, cc->port, pw_verdict_allowed(v));
		CHECK(pw_verdict_reason(v) == cc->reason,
		      "%s: %s -> %s %s: reason %s", case_name, cc->from, cc->to,
		      cc->port, pw_reason_name(pw_verdict_reason(v)));
	}
	check_matrix(e, case_name, cc, &port);
	pw_verdict_free(v);
	pw_endpoints_free(from);
	pw_endpoints_free(to);
}

static void test_semantics(void)
{
	for (size_t i = 0; i < PW_ARRAY_SIZE(cases); i++) {
		struct pw_cluster *c;
		struct pw_engine *e = build(cases[i].build, &c);

		for (size_t j = 0; j < cases[i].nconns; j++)
			check_conn(e, cases[i].name, &cases[i].conns[j]);
		pw_engine_free(e);
		fx_free(c);
	}
}

/* ---- explain details --------------------------------------------------- */

static void indexes(struct pw_cluster *c)
{
	struct pw_policy *p;
	struct pw_rule *r;

	fx_ns(c, "b", "team=x");
	fx_pod(c, "a/db", "app=db", "10.0.0.1", NULL);
	fx_pod(c, "a/web", "app=web", "10.0.0.2", NULL);
	/* policy "p1": rule 0 does not match, rule 1 via peer 1, port 1 */
	p = fx_pol(c, "a/p1", "app=db", NULL);
	r = fx_rule(p, ING);
	fx_peer(r, "app=nomatch", NULL);
	fx_port(r, TCP, 80, 0);
	r = fx_rule(p, ING);
	fx_peer(r, NULL, "team=x");
	fx_peer(r, "app=web", NULL);
	fx_port(r, TCP, 81, 0);
	fx_port(r, TCP, 80, 0);
	fx_port(r, TCP, 70, 90);
	/* "p0" sorts first: a rule without peers or ports */
	fx_rule(fx_pol(c, "a/p0", "app=db", "Ingress"), ING);
	/* "p2" does not allow; "p3" selects other pods */
	fx_port(fx_rule(fx_pol(c, "a/p2", "", NULL), ING), UDP, 0, 0);
	fx_pol(c, "a/p3", "app=web", NULL);
	/* egress: rule with peers and no ports */
	fx_peer(fx_rule(fx_pol(c, "a/e", "app=web", "Egress"), EGR), "app=db",
		NULL);
}

static struct pw_verdict *explain(const struct pw_engine *e, const char *from,
				  const char *to, const char *port_text,
				  size_t ti)
{
	struct pw_endpoints *f = pw_engine_resolve(e, from);
	struct pw_endpoints *t = pw_engine_resolve(e, to);
	struct pw_verdict *v = NULL;
	struct pw_port port;

	if (f && t && !pw_port_parse(port_text, &port))
		v = pw_engine_explain(e, f, 0, t, ti, &port);
	pw_endpoints_free(f);
	pw_endpoints_free(t);
	return v;
}

struct pmatch_case {
	enum pw_dir d;
	const char *name;
	int rule, peer, port;
};

static void check_pmatch(const struct pw_verdict *v,
			 const struct pmatch_case *want, size_t n)
{
	CHECK(pw_verdict_policy_count(v, want[0].d) == n, "policy count %zu",
	      pw_verdict_policy_count(v, want[0].d));
	for (size_t i = 0; i < n && i < pw_verdict_policy_count(v, want[0].d);
	     i++) {
		int rule, peer, port;

		pw_verdict_policy_match(v, want[i].d, i, &rule, &peer, &port);
		CHECK(!strcmp(pw_verdict_policy_name(v, want[i].d, i),
			      want[i].name) &&
			      !strcmp(pw_verdict_policy_namespace(v, want[i].d,
								  i),
				      "a"),
		      "policy %zu is %s", i,
		      pw_verdict_policy_name(v, want[i].d, i));
		CHECK(rule == want[i].rule && peer == want[i].peer &&
			      port == want[i].port,
		      "%s: rule %d peer %d port %d", want[i].name, rule, peer,
		      port);
	}
}

static void test_explain_indexes(void)
{
	static const struct pmatch_case ing[] = {
		{ ING, "p0", 0, -1, -1 },
		{ ING, "p1", 1, 1, 1 },
		{ ING, "p2", -1, -1, -1 },
	};
	static const struct pmatch_case ing70[] = {
		{ ING, "p0", 0, -1, -1 },
		{ ING, "p1", 1, 1, 2 },
		{ ING, "p2", -1, -1, -1 },
	};
	static const struct pmatch_case eg[] = {
		{ EGR, "e", 0, 0, -1 },
	};
	struct pw_cluster *c;
	struct pw_engine *e = build(indexes, &c);
	struct pw_verdict *v = explain(e, "a/web", "a/db", "80", 0);
	unsigned line, col;

	CHECK(v && pw_verdict_allowed(v), "indexes: allowed");
	if (v) {
		check_pmatch(v, ing, PW_ARRAY_SIZE(ing));
		check_pmatch(v, eg, PW_ARRAY_SIZE(eg));
		CHECK(pw_verdict_isolated(v, ING) &&
			      pw_verdict_isolated(v, EGR),
		      "both isolated");
		/* p1's matching rule is its second ingress rule */
		pw_verdict_policy_where(v, ING, 1, &line, &col);
		CHECK(line == 1001, "where: line %u", line);
		/* p2 did not allow: the policy itself */
		pw_verdict_policy_where(v, ING, 2, &line, &col);
		CHECK(line == 3, "where p2: line %u", line);
	}
	pw_verdict_free(v);
	v = explain(e, "a/web", "a/db", "75", 0);
	if (v)
		check_pmatch(v, ing70, PW_ARRAY_SIZE(ing70));
	CHECK(v != NULL, "explain 75");
	pw_verdict_free(v);
	/* the egress side of a/db is not isolated: no policies */
	v = explain(e, "a/db", "10.1.1.1", "80", 0);
	CHECK(v && !pw_verdict_isolated(v, EGR) &&
		      pw_verdict_side_allowed(v, EGR) &&
		      !pw_verdict_policy_count(v, EGR) &&
		      !pw_verdict_isolated(v, ING) &&
		      pw_verdict_reason(v) == PW_REASON_NOT_ISOLATED,
	      "outside side");
	pw_verdict_free(v);
	pw_engine_free(e);
	fx_free(c);
}

static void test_services(void)
{
	struct pw_cluster *c;
	struct pw_engine *e = build(services, &c);
	struct pw_endpoints *eps = pw_engine_resolve(e, "a/svc/web");
	struct pw_verdict *v;
	struct pw_port p;

	CHECK(eps && pw_endpoints_count(eps) == 2, "two backends");
	if (eps && pw_endpoints_count(eps) == 2)
		CHECK(!strcmp(pw_endpoints_name(eps, 0), "a/web-1") &&
			      !strcmp(pw_endpoints_name(eps, 1), "a/web-2"),
		      "backend names");
	pw_endpoints_free(eps);
	v = explain(e, "a/cli", "a/svc/web", "80", 1);
	p = v ? pw_verdict_port(v) : (struct pw_port){ 0 };
	CHECK(v && !pw_verdict_allowed(v) && p.num == 9090, "web-2 via svc");
	CHECK(v && !strcmp(pw_verdict_to(v), "a/web-2") &&
		      !strcmp(pw_verdict_from(v), "a/cli"),
	      "verdict names");
	pw_verdict_free(v);
	v = explain(e, "a/cli", "a/svc/web", "81", 0);
	p = v ? pw_verdict_port(v) : (struct pw_port){ 0 };
	CHECK(v && !pw_verdict_allowed(v) && p.num == 9090, "numeric target");
	pw_verdict_free(v);
	v = explain(e, "a/cli", "a/svc/web", "80", 0);
	p = v ? pw_verdict_port(v) : (struct pw_port){ 0 };
	CHECK(v && pw_verdict_allowed(v) && p.num == 8080, "web-1 via svc");
	pw_verdict_free(v);
	/* a port the service does not define goes nowhere: nothing to
	 * explain (the pod itself on 82 is another question) */
	errno = 0;
	v = explain(e, "a/cli", "a/svc/web", "82", 0);
	CHECK(!v && errno == ENOENT, "undefined service port: errno %d", errno);
	pw_verdict_free(v);
	v = explain(e, "a/cli", "a/svc/web", "80/UDP", 0);
	CHECK(!v && errno == ENOENT, "service port of another protocol");
	pw_verdict_free(v);
	eps = pw_engine_resolve(e, "a/svc/empty");
	CHECK(eps && pw_endpoints_count(eps) == 0, "no selector: no backends");
	pw_endpoints_free(eps);
	pw_engine_free(e);
	fx_free(c);
}

static void test_resolve_errors(void)
{
	static const struct {
		const char *text;
		int err;
	} bad[] = {
		{ "a/nope", ENOENT },
		{ "b/web-1", ENOENT },
		{ "a/svc/nope", ENOENT },
		{ "zz/svc/web", ENOENT },
		{ "a/web-1[Job]", ENOENT },
		{ "a/x/web", EINVAL },
		{ "a/b/c/d", EINVAL },
		{ "not-an-ip", EINVAL },
		{ "", EINVAL },
		{ "a/", EINVAL },
		{ "/web-1", EINVAL },
		{ "10.0.0.256", EINVAL },
	};
	struct pw_cluster *c;
	struct pw_engine *e = build(services, &c);
	struct pw_endpoints *eps;
	struct pw_port port = { 80, TCP };

	for (size_t i = 0; i < PW_ARRAY_SIZE(bad); i++) {
		errno = 0;
		eps = pw_engine_resolve(e, bad[i].text);
		CHECK(!eps && errno == bad[i].err, "resolve \"%s\": errno %d",
		      bad[i].text, errno);
		pw_endpoints_free(eps);
	}
	eps = pw_engine_resolve(e, "a/cli");
	errno = 0;
	CHECK(eps && !pw_engine_explain(e, eps, 1, eps, 0, &port) &&
		      errno == EINVAL,
	      "explain index out of range");
	pw_endpoints_free(eps);
	eps = pw_engine_resolve(e, "10.0.0.2");
	CHECK(eps && !strcmp(pw_endpoints_name(eps, 0), "a/web-2"),
	      "pod by address");
	pw_endpoints_free(eps);
	eps = pw_engine_resolve(e, "fd00::0:1");
	CHECK(eps && !strcmp(pw_endpoints_name(eps, 0), "fd00::1"),
	      "outside address, canonical");
	pw_endpoints_free(eps);
	pw_engine_free(e);
	fx_free(c);
}

static void test_new_refuses(void)
{
	struct pw_cluster *c = fx_new();

	two_pods(c);
	errno = 0;
	CHECK(!pw_engine_new(c) && errno == EINVAL, "not finalized");
	fx_finalize(c);
	c->valid = false;
	errno = 0;
	CHECK(!pw_engine_new(c) && errno == EINVAL, "not valid");
	errno = 0;
	CHECK(!pw_engine_new(NULL) && errno == EINVAL, "NULL");
	fx_free(c);
	pw_engine_free(NULL);
}

static void test_pods_and_ports(void)
{
	static const char *const names[] = {
		"a-x/p", "a/db[StatefulSet]", "a/web-1",
		"a/x",	 "a/x[Deployment]",
	};
	static const struct pw_port want[] = {
		{ 80, TCP },
		{ 8080, TCP },
		{ 8443, TCP },
		{ 53, UDP },
	};
	struct pw_cluster *c = fx_new();
	struct pw_port got[8];
	struct pw_engine *e;
	struct pw_pod *p;
	struct pw_rule *r;
	size_t n;

	fx_pod(c, "a/x", "", "10.0.0.1", NULL);
	fx_pod(c, "a/x", "", NULL, NULL)->kind = "Deployment";
	fx_pod(c, "a/db", "", NULL, NULL)->kind = "StatefulSet";
	p = fx_pod(c, "a/web-1", "", "10.0.0.2", NULL);
	fx_cport(p, "http", 8080, TCP);
	fx_cport(p, NULL, 53, UDP);
	fx_pod(c, "a-x/p", "", "10.0.0.3", NULL);
	fx_pod(c, "a/h", "", "10.0.0.4", NULL)->host_network = true;
	fx_cport(&c->pods[c->npods - 1], NULL, 9999, TCP);
	r = fx_rule(fx_pol(c, "a/p", "", NULL), ING);
	fx_port(r, TCP, 80, 0);
	fx_port(r, TCP, 8443, 8500);
	fx_port_named(r, TCP, "http");
	fx_port(r, UDP, 0, 0);
	fx_port(r, UDP, 53, 0);
	fx_finalize(c);
	e = pw_engine_new(c);
	CHECK(e && pw_engine_pod_count(e) == PW_ARRAY_SIZE(names), "pods");
	for (size_t i = 0; e && i < pw_engine_pod_count(e); i++)
		CHECK(!strcmp(pw_engine_pod_name(e, i), names[i]), "pod %zu %s",
		      i, pw_engine_pod_name(e, i));
	n = e ? pw_engine_default_ports(e, got, 2) : 0;
	CHECK(n == PW_ARRAY_SIZE(want), "default ports: %zu", n);
	n = e ? pw_engine_default_ports(e, got, PW_ARRAY_SIZE(got)) : 0;
	for (size_t i = 0; i < n && i < PW_ARRAY_SIZE(want); i++)
		CHECK(got[i].num == want[i].num &&
			      got[i].proto == want[i].proto,
		      "default port %zu: %u", i, got[i].num);
	pw_engine_free(e);
	fx_free(c);
}

static void test_names(void)
{
	CHECK(!strcmp(pw_reason_name(PW_REASON_POLICY), "policy") &&
		      !strcmp(pw_reason_name(PW_REASON_NOT_ISOLATED),
			      "not-isolated") &&
		      !strcmp(pw_reason_name(PW_REASON_NODE_TRAFFIC),
			      "node-traffic") &&
		      !strcmp(pw_reason_name(PW_REASON_SAME_POD), "same-pod"),
	      "reason names");
	CHECK(!strcmp(pw_dir_name(PW_DIR_INGRESS), "ingress") &&
		      !strcmp(pw_dir_name(PW_DIR_EGRESS), "egress") &&
		      !pw_dir_name(PW_DIR_NR),
	      "direction names");
}

/* ---- from manifests ---------------------------------------------------- */

/* The same semantics through the loader: what finalize computes (implicit
 * namespaces and their label, effective policyTypes, parsed CIDRs, default
 * protocols) is what the engine relies on. */
static const char yaml_cluster[] =
	"apiVersion: v1\n"
	"kind: Namespace\n"
	"metadata: {name: prod, labels: {env: prod}}\n"
	"---\n"
	"apiVersion: v1\n"
	"kind: Node\n"
	"metadata: {name: n1}\n"
	"status: {addresses: [{type: InternalIP, address: 192.168.0.1}]}\n"
	"---\n"
	"apiVersion: v1\n"
	"kind: Pod\n"
	"metadata: {name: db, namespace: prod, labels: {app: db}}\n"
	"spec:\n"
	"  nodeName: n1\n"
	"  containers:\n"
	"  - name: c\n"
	"    image: pg\n"
	"    ports: [{name: pg, containerPort: 5432}]\n"
	"status: {phase: Running, podIP: 10.0.0.1}\n"
	"---\n"
	"apiVersion: v1\n"
	"kind: Pod\n"
	"metadata: {name: api, namespace: prod, labels: {app: api}}\n"
	"spec: {containers: [{name: c, image: api}]}\n"
	"status: {phase: Running, podIP: 10.0.0.2}\n"
	"---\n"
	"apiVersion: v1\n"
	"kind: Pod\n"
	"metadata: {name: api, namespace: dev, labels: {app: api}}\n"
	"spec: {containers: [{name: c, image: api}]}\n"
	"status: {phase: Running, podIP: 10.0.1.2}\n"
	"---\n"
	"apiVersion: networking.k8s.io/v1\n"
	"kind: NetworkPolicy\n"
	"metadata: {name: db, namespace: prod}\n"
	"spec:\n"
	"  podSelector: {matchLabels: {app: db}}\n"
	"  ingress:\n"
	"  - from:\n"
	"    - podSelector: {matchLabels: {app: api}}\n"
	"      namespaceSelector:\n"
	"        matchExpressions:\n"
	"        - {key: kubernetes.io/metadata.name, operator: In, "
	"values: [prod]}\n"
	"    ports: [{port: pg}]\n"
	"  - from: [{ipBlock: {cidr: 10.0.0.0/16, except: [10.0.1.0/24]}}]\n"
	"    ports: [{port: 5000, endPort: 5432}]\n"
	"  egress:\n"
	"  - to: [{namespaceSelector: {matchLabels: {env: prod}}}]\n";

static const struct conn_case yaml_conns[] = {
	{ "prod/api", "prod/db", "5432", ALLOW, PW_REASON_POLICY },
	{ "prod/api", "prod/db", "5432/UDP", DENY, PW_REASON_POLICY },
	{ "dev/api", "prod/db", "5432", DENY, PW_REASON_POLICY },
	{ "10.0.200.1", "prod/db", "5431", ALLOW, PW_REASON_POLICY },
	{ "10.0.1.2", "prod/db", "5431", DENY, PW_REASON_POLICY },
	{ "192.168.0.1", "prod/db", "22", ALLOW, PW_REASON_NODE_TRAFFIC },
	/* egress rules without policyTypes: egress isolation too */
	{ "prod/db", "prod/api", "80", ALLOW, PW_REASON_POLICY },
	{ "prod/db", "dev/api", "80", DENY, PW_REASON_POLICY },
	{ "dev/api", "prod/api", "80", ALLOW, PW_REASON_NOT_ISOLATED },
};

static void test_from_yaml(void)
{
	struct pw_cluster *c = pw_cluster_new();
	struct pw_diags *d = pw_diags_new();
	struct pw_engine *e = NULL;
	int err = -ENOMEM;

	if (c && d)
		err = pw_cluster_load_buffer(c, "test.yaml", yaml_cluster,
					     strlen(yaml_cluster), d);
	if (!err)
		err = pw_cluster_finalize(c, d);
	CHECK(!err, "load: %d, %zu diagnostics", err,
	      d ? pw_diags_count(d) : 0);
	for (size_t i = 0; d && i < pw_diags_count(d); i++) {
		char buf[256];

		pw_diag_format(pw_diags_get(d, i), buf, sizeof(buf));
		printf("  %s\n", buf);
	}
	if (!err)
		e = pw_engine_new(c);
	CHECK(err || e, "engine from manifests");
	for (size_t i = 0; e && i < PW_ARRAY_SIZE(yaml_conns); i++)
		check_conn(e, "yaml", &yaml_conns[i]);
	pw_engine_free(e);
	pw_cluster_free(c);
	pw_diags_free(d);
}

int main(void)
{
	test_semantics();
	test_explain_indexes();
	test_services();
	test_resolve_errors();
	test_new_refuses();
	test_pods_and_ports();
	test_names();
	test_from_yaml();
	return check_done("engine");
}
