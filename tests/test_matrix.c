// SPDX-License-Identifier: Apache-2.0
/*
 * The matrix against a naive evaluator: random small clusters from a
 * deterministic generator, every cell of pw_engine_matrix(), every count
 * of pw_engine_count() and every pair of pw_engine_explain() compared
 * with a reference written straight from the NetworkPolicy rules, pair by
 * pair, policy by policy. Also the 64x64 block transpose against a
 * bit-by-bit one.
 */
#include <errno.h>
#include <string.h>

#include "bitset.h"
#include "check.h"
#include "engine.h"
#include "engine_fixture.h"
#include <podwall/podwall.h>

/*
 * Cell comparisons are counted per matrix, not per cell, so the closing
 * line counts what was checked (a matrix, a count) rather than millions of
 * cells; the first few differing cells of a run are printed.
 */
static unsigned cell_bad;
#define CELL(cond, ...)                           \
	do {                                      \
		if (!(cond) && cell_bad++ < 10) { \
			printf("  cell: ");       \
			printf(__VA_ARGS__);      \
			printf("\n");             \
		}                                 \
	} while (0)

#define TEST_RNG_SEED 0x9e3779b97f4a7c15ULL
#include "rng.h"

#define PICK(arr) ((arr)[pick(PW_ARRAY_SIZE(arr))])

/* ---- the reference ------------------------------------------------------ */

/* A connection end: a pod, a node (by one of its addresses) or an
 * address outside the cluster. */
struct ref_ep {
	const struct pw_pod *pod;
	const struct pw_node *node;
	struct pw_addr addr; /* node, outside */
};

static bool ref_prefix(const struct pw_cidr *c, const struct pw_addr *a)
{
	if (c->addr.family != a->family)
		return false;
	for (unsigned i = 0; i < c->len; i++) {
		unsigned bit = 7 - i % 8;

		if (((c->addr.b[i / 8] >> bit) & 1) !=
		    ((a->b[i / 8] >> bit) & 1))
			return false;
	}
	return true;
}

static const struct pw_addr *ref_addr(const struct ref_ep *x, int fam)
{
	if (!x->pod)
		return x->addr.family == fam ? &x->addr : NULL;
	for (size_t i = 0; i < x->pod->nips; i++)
		if (x->pod->ips[i].family == fam)
			return &x->pod->ips[i];
	return NULL;
}

static int ref_first_family(const struct ref_ep *x)
{
	if (!x->pod)
		return x->addr.family;
	return x->pod->nips ? x->pod->ips[0].family : 0;
}

static const struct pw_namespace *ref_ns(const struct pw_cluster *c,
					 const char *name)
{
	for (size_t i = 0; i < c->nnss; i++)
		if (!strcmp(c->nss[i].name, name))
			return &c->nss[i];
	return NULL;
}

static bool ref_peer(const struct pw_cluster *c, const struct pw_policy *p,
		     const struct pw_peer *pe, const struct ref_ep *x, int fam)
{
	if (pe->has_ipblock) {
		const struct pw_addr *a = ref_addr(x, fam);

		if (!a || !ref_prefix(&pe->ipblock.cidr, a))
			return false;
		for (size_t i = 0; i < pe->ipblock.nexcept; i++)
			if (ref_prefix(&pe->ipblock.except[i].cidr, a))
				return false;
		return true;
	}
	if (!x->pod || x->pod->host_network)
		return false;
	if (pe->has_ns_sel &&
	    !pw_selector_matches(&pe->ns_sel, &ref_ns(c, x->pod->ns)->labels))
		return false;
	if (!pe->has_ns_sel && strcmp(x->pod->ns, p->ns))
		return false;
	return !pe->has_pod_sel ||
	       pw_selector_matches(&pe->pod_sel, &x->pod->labels);
}

static bool ref_port(const struct pw_np_port *pp, const struct pw_port *port,
		     const struct ref_ep *dst)
{
	if (pp->proto != port->proto)
		return false;
	if (!pp->has_port)
		return true;
	if (pp->named) {
		for (size_t i = 0; dst->pod && i < dst->pod->nports; i++) {
			const struct pw_cport *cp = &dst->pod->ports[i];

			if (cp->name && !strcmp(cp->name, pp->name) &&
			    cp->proto == pp->proto && cp->port == port->num)
				return true;
		}
		return false;
	}
	if (pp->has_end)
		return pp->port <= port->num && port->num <= pp->end_port;
	return pp->port == port->num;
}

static bool ref_rule(const struct pw_cluster *c, const struct pw_policy *p,
		     const struct pw_rule *r, const struct ref_ep *other,
		     const struct ref_ep *dst, const struct pw_port *port,
		     int fam)
{
	bool port_ok = !r->nports, peer_ok = !r->npeers;

	for (size_t i = 0; i < r->nports; i++)
		port_ok |= ref_port(&r->ports[i], port, dst);
	for (size_t i = 0; i < r->npeers; i++)
		peer_ok |= ref_peer(c, p, &r->peers[i], other, fam);
	return port_ok && peer_ok;
}

/* Whether self's side (direction d) admits the connection. */
static bool ref_side(const struct pw_cluster *c, enum pw_dir d,
		     const struct ref_ep *self, const struct ref_ep *other,
		     const struct ref_ep *dst, const struct pw_port *port,
		     int fam, bool *isolated)
{
	bool ok = false;

	*isolated = false;
	if (!self->pod || self->pod->host_network)
		return true;
	for (size_t i = 0; i < c->npols; i++) {
		const struct pw_policy *p = &c->pols[i];

		if (strcmp(p->ns, self->pod->ns) || !p->affects[d] ||
		    !pw_selector_matches(&p->pod_sel, &self->pod->labels))
			continue;
		*isolated = true;
		for (size_t k = 0; k < p->nrules[d]; k++)
			ok |= ref_rule(c, p, &p->rules[d][k], other, dst, port,
				       fam);
	}
	return !*isolated || ok;
}

static bool ref_node_traffic(const struct ref_ep *s, const struct ref_ep *d)
{
	const char *node = NULL;

	if (!d->pod || d->pod->host_network || !d->pod->node)
		return false;
	if (s->node)
		node = s->node->name;
	else if (s->pod && s->pod->host_network)
		node = s->pod->node;
	return node && !strcmp(node, d->pod->node);
}

static bool ref_allowed(const struct pw_cluster *c, const struct ref_ep *s,
			const struct ref_ep *d, const struct pw_port *port,
			enum pw_reason *reason)
{
	int fam = ref_first_family(d) ? ref_first_family(d) :
					ref_first_family(s);
	bool iso_e, iso_i, ok_e, ok_i;

	ok_e = ref_side(c, PW_DIR_EGRESS, s, d, d, port, fam, &iso_e);
	ok_i = ref_side(c, PW_DIR_INGRESS, d, s, d, port, fam, &iso_i);
	if (s->pod && s->pod == d->pod) {
		*reason = PW_REASON_SAME_POD;
		return true;
	}
	if (ref_node_traffic(s, d)) {
		*reason = PW_REASON_NODE_TRAFFIC;
		return true;
	}
	*reason = iso_e || iso_i ? PW_REASON_POLICY : PW_REASON_NOT_ISOLATED;
	return ok_e && ok_i;
}

/* ---- random clusters ---------------------------------------------------- */

static const char *const ns_labels[] = { "", "team=a", "team=b", "team=a,env=x",
					 "env=y" };
static const char *const pod_labels[] = {
	"", "app=a", "app=b", "app=c", "app=a,tier=1", "app=b,tier=2"
};
static const char *const selectors[] = {
	"",
	"app=a",
	"app in (a,b)",
	"!tier",
	"ml:app=b,tier=2",
	"tier notin (1)",
	"ml:app=c",
	"app",
	"app=zz",
};
static const char *const ns_selectors[] = {
	"",
	"team=a",
	"ml:team=b",
	"team in (a,b)",
	"!env",
	"kubernetes.io/metadata.name in (n0,n2)",
	"ml:kubernetes.io/metadata.name=n1",
	"env notin (x)",
};
static const struct {
	const char *cidr, *except;
} blocks[] = {
	{ "10.0.0.0/16", "10.0.1.0/24" },
	{ "10.0.2.0/24", NULL },
	{ "fd00::/64", "fd00::100/120" },
	{ "192.168.0.0/24", "192.168.0.2/32" },
	{ "0.0.0.0/0", "10.0.0.0/8" },
	{ "::/0", NULL },
};
static const char *const types[] = { NULL, "Ingress", "Egress",
				     "Ingress,Egress" };
static const char *const cport_names[] = { "http", "dns", NULL };
static const int cport_nums[] = { 80, 8080, 53, 8000 };
static const char *const kinds[] = { "Deployment", "StatefulSet" };

static void rand_ips(char *buf, size_t len, unsigned i)
{
	switch (pick(6)) {
	case 0:
		snprintf(buf, len, "fd00::%x", 0xf0 + i);
		break;
	case 1:
		snprintf(buf, len, "10.0.%u.%u,fd00::1%02x", pick(3), i, i);
		break;
	case 2:
		snprintf(buf, len, "fd00::1%02x,10.0.%u.%u", i, pick(3), i);
		break;
	default:
		snprintf(buf, len, "10.0.%u.%u", pick(3), i);
	}
}

static void rand_pod(struct pw_cluster *c, unsigned i)
{
	char name[32], ips[64];
	struct pw_pod *p;
	unsigned what = pick(10);

	snprintf(name, sizeof(name), "n%u/p%u", pick(3), i);
	rand_ips(ips, sizeof(ips), i);
	p = fx_pod(c, name, PICK(pod_labels), what < 2 ? NULL : ips,
		   pick(2) ? "node1" : "node2");
	if (what < 2) {
		p->kind = PICK(kinds);
		free(p->node);
		p->node = NULL;
	} else if (what == 2) {
		p->host_network = true;
		snprintf(ips, sizeof(ips), "192.168.0.%u", 1 + pick(3));
		fx_addrs(p->ips, &p->nips, PW_POD_MAX_IPS, ips);
	} else if (what == 3) {
		p->phase = pick(2) ? PW_PHASE_SUCCEEDED : PW_PHASE_FAILED;
	}
	for (unsigned k = pick(3); k > 0; k--)
		fx_cport(p, PICK(cport_names), PICK(cport_nums),
			 pick(3) ? PW_PROTO_TCP : PW_PROTO_UDP);
}

static void rand_peer(struct pw_rule *r)
{
	unsigned b;

	switch (pick(5)) {
	case 0:
		fx_peer(r, PICK(selectors), NULL);
		break;
	case 1:
		fx_peer(r, NULL, PICK(ns_selectors));
		break;
	case 2:
		fx_peer(r, PICK(selectors), PICK(ns_selectors));
		break;
	default:
		b = pick(PW_ARRAY_SIZE(blocks));
		fx_peer_ip(r, blocks[b].cidr, blocks[b].except);
	}
}

static void rand_port(struct pw_rule *r)
{
	enum pw_proto proto = pick(3) ? PW_PROTO_TCP : PW_PROTO_UDP;

	switch (pick(5)) {
	case 0:
		fx_port(r, proto, 0, 0);
		break;
	case 1:
		fx_port(r, proto, 8000, 8080);
		break;
	case 2:
		fx_port_named(r, proto, pick(2) ? "http" : "dns");
		break;
	default:
		fx_port(r, proto, PICK(cport_nums), 0);
	}
}

static void rand_policy(struct pw_cluster *c, unsigned i)
{
	char name[32];
	struct pw_policy *p;

	snprintf(name, sizeof(name), "n%u/pol%u", pick(3), i);
	p = fx_pol(c, name, PICK(selectors), PICK(types));
	for (int d = 0; d < PW_DIR_NR; d++) {
		for (unsigned k = pick(3); k > 0; k--) {
			struct pw_rule *r = fx_rule(p, d);

			for (unsigned j = pick(3); j > 0; j--)
				rand_peer(r);
			for (unsigned j = pick(3); j > 0; j--)
				rand_port(r);
		}
	}
}

static struct pw_cluster *rand_cluster(unsigned max_pods)
{
	struct pw_cluster *c = fx_new();
	unsigned npods = pick(max_pods), npols = pick(7);

	for (unsigned i = 0; i < 3; i++) {
		char name[8];

		snprintf(name, sizeof(name), "n%u", i);
		fx_ns(c, name, PICK(ns_labels));
	}
	fx_node(c, "node1", "192.168.0.1");
	fx_node(c, "node2", "192.168.0.2,fd00::ff02");
	for (unsigned i = 0; i < npods; i++)
		rand_pod(c, i);
	for (unsigned i = 0; i < npols; i++)
		rand_policy(c, i);
	fx_finalize(c);
	return c;
}

/* ---- comparing ---------------------------------------------------------- */

static const struct pw_port test_ports[] = {
	{ 80, PW_PROTO_TCP }, { 8080, PW_PROTO_TCP }, { 53, PW_PROTO_UDP },
	{ 53, PW_PROTO_TCP }, { 8000, PW_PROTO_TCP }, { 8040, PW_PROTO_UDP },
};

/* The matrix pods as the reference sees them: live, not hostNetwork,
 * sorted by name. */
static size_t ref_pods(const struct pw_cluster *c, const struct pw_engine *e,
		       const struct pw_pod **out)
{
	size_t n = 0;

	for (size_t i = 0; i < c->npods; i++) {
		const struct pw_pod *p = &c->pods[i];

		if (p->host_network || p->phase == PW_PHASE_SUCCEEDED ||
		    p->phase == PW_PHASE_FAILED)
			continue;
		n++;
	}
	CHECK(n == pw_engine_pod_count(e), "pod count %zu vs %zu", n,
	      pw_engine_pod_count(e));
	/* The engine's order must be by name; map names back to pods. */
	for (size_t k = 0; k < pw_engine_pod_count(e) && k < n; k++) {
		const char *name = pw_engine_pod_name(e, k);

		out[k] = NULL;
		for (size_t i = 0; i < c->npods; i++) {
			const struct pw_pod *p = &c->pods[i];
			char buf[128];

			if (p->kind)
				snprintf(buf, sizeof(buf), "%s/%s[%s]", p->ns,
					 p->name, p->kind);
			else
				snprintf(buf, sizeof(buf), "%s/%s", p->ns,
					 p->name);
			if (!strcmp(buf, name) && !p->host_network)
				out[k] = p;
		}
		CHECK(out[k] != NULL, "pod %s", name);
		if (k)
			CHECK(strcmp(pw_engine_pod_name(e, k - 1), name) < 0,
			      "sorted at %zu", k);
	}
	return n;
}

static bool explain_allowed(const struct pw_engine *e, const char *from,
			    const char *to, const struct pw_port *port,
			    enum pw_reason *reason)
{
	struct pw_endpoints *f = pw_engine_resolve(e, from);
	struct pw_endpoints *t = pw_engine_resolve(e, to);
	struct pw_verdict *v = NULL;
	bool ok = false;

	if (f && t)
		v = pw_engine_explain(e, f, 0, t, 0, port);
	CELL(v != NULL, "explain %s -> %s", from, to);
	if (v) {
		ok = pw_verdict_allowed(v);
		*reason = pw_verdict_reason(v);
	}
	pw_verdict_free(v);
	pw_endpoints_free(f);
	pw_endpoints_free(t);
	return ok;
}

static void compare_pairs(const struct pw_cluster *c, const struct pw_engine *e,
			  const struct pw_pod **pods, size_t n,
			  const struct pw_matrix *m, size_t pi, unsigned iter)
{
	const struct pw_port *port = &test_ports[pi];
	unsigned bad = cell_bad;
	uint64_t allowed = 0;

	for (size_t s = 0; s < n; s++) {
		for (size_t d = 0; d < n; d++) {
			struct ref_ep rs = { .pod = pods[s] };
			struct ref_ep rd = { .pod = pods[d] };
			enum pw_reason want_r, got_r = PW_REASON_POLICY;
			bool want = ref_allowed(c, &rs, &rd, port, &want_r);
			bool got = pw_matrix_allowed(m, pi, s, d);
			bool ex = explain_allowed(e, pw_engine_pod_name(e, s),
						  pw_engine_pod_name(e, d),
						  port, &got_r);

			CELL(got == want && ex == want && got_r == want_r,
			     "iteration %u port %u/%u: %s -> %s: matrix %d "
			     "explain %d (%s) reference %d (%s)",
			     iter, port->num, port->proto,
			     pw_engine_pod_name(e, s), pw_engine_pod_name(e, d),
			     got, ex, pw_reason_name(got_r), want,
			     pw_reason_name(want_r));
			allowed += want && s != d;
		}
	}
	CHECK(cell_bad == bad, "iteration %u port %u/%u: %u cells differ", iter,
	      port->num, port->proto, cell_bad - bad);
	CHECK(pw_matrix_count_allowed(m, pi) == allowed,
	      "iteration %u: count %llu vs %llu", iter,
	      (unsigned long long)pw_matrix_count_allowed(m, pi),
	      (unsigned long long)allowed);
}

static void compare_count(const struct pw_engine *e, size_t n, size_t pi,
			  uint64_t want, unsigned iter)
{
	uint64_t allowed = ~0ULL, denied = ~0ULL;
	int err = pw_engine_count(e, &test_ports[pi], &allowed, &denied);

	CHECK(!err && allowed == want &&
		      denied == (n ? (uint64_t)n * (n - 1) : 0) - want,
	      "iteration %u: pw_engine_count %llu/%llu, want %llu", iter,
	      (unsigned long long)allowed, (unsigned long long)denied,
	      (unsigned long long)want);
}

static void parse_ep(const char *text, struct ref_ep *ep)
{
	memset(ep, 0, sizeof(*ep));
	if (pw_addr_parse(text, &ep->addr))
		fx_die("address", text);
}

/* Addresses outside the cluster and nodes, in both directions. */
static void compare_outside(const struct pw_cluster *c,
			    const struct pw_engine *e,
			    const struct pw_pod **pods, size_t n, unsigned iter)
{
	static const char *const addrs[] = { "10.0.1.77",   "10.0.2.77",
					     "fd00::177",   "fd00::77",
					     "192.168.0.1", "172.16.0.1" };

	unsigned bad = cell_bad;

	for (size_t a = 0; a < PW_ARRAY_SIZE(addrs); a++) {
		struct ref_ep x;
		struct pw_endpoints *xe = pw_engine_resolve(e, addrs[a]);

		/* A pod of the random cluster may own the address. */
		if (!xe || xe->v[0].kind == PW_EP_POD ||
		    xe->v[0].kind == PW_EP_HOST_POD) {
			pw_endpoints_free(xe);
			continue;
		}
		parse_ep(addrs[a], &x);
		x.node = xe->v[0].node;
		pw_endpoints_free(xe);
		for (size_t k = 0; k < n; k++) {
			for (size_t pi = 0; pi < PW_ARRAY_SIZE(test_ports);
			     pi++) {
				const struct pw_port *port = &test_ports[pi];
				struct ref_ep p = { .pod = pods[k] };
				enum pw_reason wr, gr = PW_REASON_POLICY;
				const char *name = pw_engine_pod_name(e, k);
				bool want = ref_allowed(c, &x, &p, port, &wr);
				bool got = explain_allowed(e, addrs[a], name,
							   port, &gr);

				CELL(got == want && gr == wr,
				     "iteration %u: %s -> %s", iter, addrs[a],
				     name);
				want = ref_allowed(c, &p, &x, port, &wr);
				got = explain_allowed(e, name, addrs[a], port,
						      &gr);
				CELL(got == want && gr == wr,
				     "iteration %u: %s -> %s", iter, name,
				     addrs[a]);
			}
		}
	}
	CHECK(cell_bad == bad, "iteration %u: outside addresses: %u differ",
	      iter, cell_bad - bad);
}

static void random_round(unsigned iter, unsigned max_pods)
{
	struct pw_cluster *c = rand_cluster(max_pods);
	struct pw_engine *e = pw_engine_new(c);
	const struct pw_pod **pods = calloc(max_pods + 1, sizeof(*pods));
	struct pw_matrix *m;
	size_t n;

	CHECK(e && pods, "iteration %u: engine", iter);
	if (!e || !pods) {
		free(pods);
		pw_engine_free(e);
		fx_free(c);
		return;
	}
	n = ref_pods(c, e, pods);
	m = pw_engine_matrix(e, test_ports, PW_ARRAY_SIZE(test_ports));
	CHECK(m != NULL, "iteration %u: matrix", iter);
	for (size_t pi = 0; m && pi < PW_ARRAY_SIZE(test_ports); pi++) {
		compare_pairs(c, e, pods, n, m, pi, iter);
		compare_count(e, n, pi, pw_matrix_count_allowed(m, pi), iter);
	}
	compare_outside(c, e, pods, n, iter);
	free(pods);
	pw_matrix_free(m);
	pw_engine_free(e);
	fx_free(c);
}

/* ---- the transpose ------------------------------------------------------ */

static void test_transpose(void)
{
	for (int t = 0; t < 20; t++) {
		uint64_t a[64], b[64];
		bool ok = true;

		for (size_t r = 0; r < 64; r++)
			a[r] = b[r] = t ? rng() & rng() : 1ULL << r % 64;
		pw_bits_transpose64(b);
		for (size_t r = 0; r < 64; r++)
			for (size_t col = 0; col < 64; col++)
				ok &= ((a[r] >> col) & 1) ==
				      ((b[col] >> r) & 1);
		CHECK(ok, "transpose64, block %d", t);
	}
}

static void test_fill_count(void)
{
	uint64_t b[3] = { 0 };

	pw_bits_fill(b, 130);
	CHECK(pw_bits_count(b, 3) == 130 && b[2] == 3, "fill 130");
	pw_bits_fill(b, 64);
	CHECK(pw_bits_count(b, 1) == 64, "fill 64");
}

static void test_empty(void)
{
	struct pw_cluster *c = fx_new();
	struct pw_engine *e;
	struct pw_matrix *m;
	uint64_t a = 1, d = 1;

	fx_finalize(c);
	e = pw_engine_new(c);
	CHECK(e && pw_engine_pod_count(e) == 0, "empty cluster");
	m = e ? pw_engine_matrix(e, test_ports, 1) : NULL;
	CHECK(m && pw_matrix_count_allowed(m, 0) == 0 &&
		      !pw_matrix_allowed(m, 0, 0, 0),
	      "empty matrix");
	CHECK(e && !pw_engine_count(e, test_ports, &a, &d) && !a && !d,
	      "empty count");
	pw_matrix_free(m);
	pw_engine_free(e);
	fx_free(c);
}

int main(int argc, char **argv)
{
	unsigned rounds = argc > 1 ? (unsigned)atoi(argv[1]) : 300;

	test_transpose();
	test_fill_count();
	test_empty();
	for (unsigned i = 0; i < rounds; i++)
		random_round(i, 14);
	/* more than 64 pods: several words per row, several strips */
	for (unsigned i = 0; i < rounds / 30; i++)
		random_round(rounds + i, 64 + pick(160));
	return check_done("matrix");
}
