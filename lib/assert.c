// SPDX-License-Identifier: Apache-2.0
/*
 * Checking expectations (expect.h) against a compiled cluster.
 *
 * "Exhaustively" means over three finite sets that together stand for
 * every connection there can be:
 *
 * Pods: every matrix pod (running and pending pods, workload templates)
 * that a selector of the expectation matches, paired with every pod on
 * the other side (a pod with itself is left out: it can always reach
 * itself, and the matrix leaves that pair out too).
 *
 * Port classes: the verdict for a protocol is a step function of the
 * port number. It can only change where some policy port starts or stops
 * matching: at a numeric port p (p matches, p+1 no longer does), at an
 * endPort range [a, b] (at a and at b+1) and, for named ports, at the
 * container port the name resolves to on some pod (at c and c+1). Those
 * points cut 1..65535 into pieces within which every port is matched by
 * exactly the same policy ports on every pod, so the verdict is the same
 * everywhere in a piece; the first port of each piece represents it. The
 * piece starting at 1, or after the last port some policy names, stands
 * for every port no policy names. This is done for TCP, UDP and SCTP.
 * An expectation that lists its ports is checked on exactly those.
 *
 * Address classes (addrclass.h): for only-from and egress-only-to, the
 * other side is also every address outside the pods: one representative
 * per class (cut by the cluster's CIDRs and by the expectation's own, so
 * each class lies wholly inside or outside each CIDR the expectation
 * lists) and every node and hostNetwork address, which are endpoints of
 * their own.
 *
 * Pod pairs are read from one pw_engine_matrix() per port, shared by all
 * expectations. Address verdicts come from pw_engine_explain(); pods whose
 * verdict towards an outside address cannot differ (same selecting
 * policies on that side, same named ports, same address family) are
 * asked once per group. The first violation of an expectation is kept and
 * explained as its counterexample; the others are counted.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "addrclass.h"
#include "engine.h"
#include "expect.h"
#include "labels.h"

enum cx_side {
	CX_POD,
	CX_ADDR,
};

/* One endpoint of a counterexample: a pod or an address, by index. */
struct cx_end {
	enum cx_side side;
	size_t idx;
};

struct xres {
	const struct pw_expect *x; /* during the check only */
	char *name;
	enum pw_expect_kind kind;
	struct pw_pos pos; /* file points at res->file */
	char *statement;
	const char *note; /* static */
	uint64_t stat[PW_ASSERT_STAT_NR];
	bool have_cx;
	struct cx_end cx_from, cx_to;
	struct pw_port cx_port;
	struct pw_verdict *verdict;
	char *cx_class; /* the class of an address endpoint, or NULL */
	/* while checking: who is on each side */
	bool *src, *dst; /* per pod */
	bool *addr_ok; /* per address: on the other side (not excused) */
	struct pw_port *ports;
	size_t nports;
};

struct pw_assert_result {
	struct xres *v;
	size_t n;
	size_t failed;
	char *file;
};

/* What checking needs besides the results. */
struct actx {
	const struct pw_engine *e;
	struct pw_addrclass_set *classes;
	struct pw_endpoints *pods; /* every matrix pod, by matrix index */
	struct pw_endpoints *addrs; /* class representatives, then nodes */
	size_t nreps; /* addrs[0..nreps) are class representatives */
	struct pw_port *pclass; /* port classes */
	size_t npclass;
	uint32_t *grp[PW_DIR_NR]; /* per pod: group for outside addresses */
	size_t ngrp[PW_DIR_NR];
};

/* ---- selecting pods ----------------------------------------------------- */

static bool sel_matches(const struct pw_xsel *s, const struct pw_eng_pod *ep)
{
	if (s->ns && strcmp(s->ns, ep->pod->ns))
		return false;
	for (size_t i = 0; i < s->labels.n; i++) {
		const char *v =
			pw_labels_get(&ep->pod->labels, s->labels.v[i].key);

		if (!v || strcmp(v, s->labels.v[i].value))
			return false;
	}
	return true;
}

static bool in_cidrs(const struct pw_expect *x, const struct pw_addr *a,
		     size_t n)
{
	for (size_t k = 0; k < x->npeers; k++)
		for (size_t i = 0; i < n; i++)
			if (x->peers[k].is_cidr &&
			    pw_cidr_contains(&x->peers[k].cidr, &a[i]))
				return true;
	return false;
}

/* Whether a pod is among the peers of only-from or egress-only-to. */
static bool pod_listed(const struct pw_expect *x, const struct pw_eng_pod *ep)
{
	for (size_t k = 0; k < x->npeers; k++)
		if (!x->peers[k].is_cidr && sel_matches(&x->peers[k].sel, ep))
			return true;
	return in_cidrs(x, ep->pod->ips, ep->pod->nips);
}

static size_t count_true(const bool *v, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		k += v[i];
	return k;
}

/* Fills src and dst for the pods of the expectation. */
static void pick_pods(const struct actx *a, struct xres *r)
{
	const struct pw_expect *x = r->x;

	for (size_t i = 0; i < a->e->npods; i++) {
		const struct pw_eng_pod *ep = &a->e->pods[i];

		switch (x->kind) {
		case PW_EXPECT_DENY:
		case PW_EXPECT_ALLOW:
			r->src[i] = sel_matches(&x->from, ep);
			r->dst[i] = sel_matches(&x->to, ep);
			break;
		case PW_EXPECT_ONLY_FROM:
			r->src[i] = !pod_listed(x, ep);
			r->dst[i] = sel_matches(&x->to, ep);
			break;
		case PW_EXPECT_EGRESS_ONLY_TO:
			r->src[i] = sel_matches(&x->from, ep);
			r->dst[i] = !pod_listed(x, ep);
			break;
		case PW_EXPECT_ISOLATED:
		case PW_EXPECT_NR:
			r->src[i] = r->dst[i] = !strcmp(ep->pod->ns, x->ns);
			break;
		}
	}
}

/* Outside addresses are the other side of only-from and egress-only-to,
 * unless a CIDR of the expectation covers them. */
static void pick_addrs(const struct actx *a, struct xres *r)
{
	bool any = r->x->kind == PW_EXPECT_ONLY_FROM ||
		   r->x->kind == PW_EXPECT_EGRESS_ONLY_TO;

	for (size_t i = 0; i < a->addrs->n; i++)
		r->addr_ok[i] = any && !in_cidrs(r->x, &a->addrs->v[i].addr, 1);
}

/* ---- port classes ---------------------------------------------------------- */

struct cuts {
	uint64_t bits[PW_PROTO_NR][(65536 + 63) / 64];
};

static void cut(struct cuts *c, int proto, int64_t port)
{
	if (proto < 0 || proto >= PW_PROTO_NR || port < 1 || port > 65535)
		return;
	c->bits[proto][port / 64] |= 1ULL << (port % 64);
}

static void cut_policy(struct cuts *c, const struct pw_policy *p)
{
	for (int d = 0; d < PW_DIR_NR; d++) {
		for (size_t r = 0; r < p->nrules[d]; r++) {
			const struct pw_rule *rule = &p->rules[d][r];

			for (size_t k = 0; k < rule->nports; k++) {
				const struct pw_np_port *pp = &rule->ports[k];

				if (!pp->has_port || pp->named)
					continue;
				cut(c, pp->proto, pp->port);
				cut(c, pp->proto,
				    (pp->has_end ? pp->end_port : pp->port) +
					    1);
			}
		}
	}
}

static int port_classes(struct actx *a)
{
	const struct pw_cluster *c = a->e->c;
	struct cuts *cs = calloc(1, sizeof(*cs));
	size_t cap = 0;

	if (!cs)
		return -ENOMEM;
	for (int p = 0; p < PW_PROTO_NR; p++)
		cut(cs, p, 1);
	for (size_t i = 0; i < c->npols; i++)
		cut_policy(cs, &c->pols[i]);
	for (size_t i = 0; i < c->npods; i++) {
		for (size_t k = 0; k < c->pods[i].nports; k++) {
			const struct pw_cport *cp = &c->pods[i].ports[k];

			cut(cs, cp->proto, cp->port);
			cut(cs, cp->proto, cp->port + 1);
		}
	}
	for (int p = 0; p < PW_PROTO_NR; p++) {
		for (uint32_t n = 1; n <= 65535; n++) {
			struct pw_port *slot;

			if (!(cs->bits[p][n / 64] & (1ULL << (n % 64))))
				continue;
			slot = PW_PUSH(a->pclass, a->npclass, cap);
			if (!slot) {
				free(cs);
				return -ENOMEM;
			}
			*slot = (struct pw_port){ .num = (uint16_t)n,
						  .proto = (uint8_t)p };
		}
	}
	free(cs);
	return 0;
}

/* ---- endpoints ---------------------------------------------------------- */

static int all_pods(struct actx *a)
{
	a->pods = calloc(1, sizeof(*a->pods));
	if (!a->pods)
		return -ENOMEM;
	for (size_t i = 0; i < a->e->npods; i++) {
		struct pw_ep *ep = pw_endpoints_push(a->pods, PW_EP_POD,
						     a->e->pods[i].name);

		if (!ep)
			return -ENOMEM;
		ep->pod = a->e->pods[i].pod;
		ep->idx = i;
	}
	return 0;
}

/* An endpoint address (node, hostNetwork pod) as explain resolves it. */
static int add_known(struct actx *a, const struct pw_addr *addr)
{
	char text[PW_ADDR_STRLEN];
	struct pw_endpoints *one;
	struct pw_ep *slot;

	pw_addr_format(addr, text, sizeof(text));
	for (size_t i = a->nreps; i < a->addrs->n; i++)
		if (!pw_addr_cmp(&a->addrs->v[i].addr, addr))
			return 0;
	one = pw_engine_resolve(a->e, text);
	if (!one)
		return -errno;
	if (one->n == 1 && one->v[0].kind != PW_EP_POD) {
		slot = PW_PUSH(a->addrs->v, a->addrs->n, a->addrs->cap);
		if (!slot) {
			pw_endpoints_free(one);
			return -ENOMEM;
		}
		*slot = one->v[0];
		slot->addr = *addr; /* a hostNetwork pod: the address asked */
		one->n = 0;
	}
	pw_endpoints_free(one);
	return 0;
}

static int known_addrs(struct actx *a)
{
	const struct pw_cluster *c = a->e->c;

	for (size_t i = 0; i < c->nnodes; i++)
		for (size_t k = 0; k < c->nodes[i].naddrs; k++)
			if (add_known(a, &c->nodes[i].addrs[k]))
				return -ENOMEM;
	for (size_t i = 0; i < c->npods; i++) {
		const struct pw_pod *p = &c->pods[i];

		if (!p->host_network || p->phase == PW_PHASE_SUCCEEDED ||
		    p->phase == PW_PHASE_FAILED)
			continue;
		for (size_t k = 0; k < p->nips; k++)
			if (add_known(a, &p->ips[k]))
				return -ENOMEM;
	}
	return 0;
}

static int all_addrs(struct actx *a)
{
	char text[PW_ADDR_STRLEN];

	a->addrs = calloc(1, sizeof(*a->addrs));
	if (!a->addrs)
		return -ENOMEM;
	for (size_t i = 0; i < pw_addrclass_count(a->classes); i++) {
		const struct pw_addrclass *cls =
			pw_addrclass_get(a->classes, i);
		struct pw_ep *ep;

		pw_addr_format(&cls->rep, text, sizeof(text));
		ep = pw_endpoints_push(a->addrs, PW_EP_IP, text);
		if (!ep)
			return -ENOMEM;
		ep->addr = cls->rep;
	}
	a->nreps = a->addrs->n;
	return known_addrs(a);
}

/* ---- groups of pods that outside addresses see alike -------------------- */

static int first_family(const struct pw_pod *p)
{
	return p->nips ? p->ips[0].family : 0;
}

static unsigned family_mask(const struct pw_pod *p)
{
	unsigned m = 0;

	for (size_t i = 0; i < p->nips; i++)
		m |= p->ips[i].family == 4 ? 1 : 2;
	return m;
}

/*
 * The key of a pod for one direction. Egress towards an outside address
 * depends on the pod's egress policies and the families it can send; ingress
 * from one on its ingress policies, its named ports and its family.
 */
static void group_key(const struct pw_engine *e, size_t i, int d,
		      uint64_t key[2])
{
	const struct pw_eng_pod *ep = &e->pods[i];

	if (d == PW_DIR_EGRESS) {
		key[0] = ep->set[d];
		key[1] = family_mask(ep->pod);
	} else {
		key[0] = (uint64_t)ep->set[d] << 32 | ep->pclass;
		key[1] = (unsigned)first_family(ep->pod);
	}
}

struct keyed {
	uint64_t key[2];
	uint32_t pod;
};

static int keyed_cmp(const void *pa, const void *pb)
{
	const struct keyed *a = pa, *b = pb;

	for (int k = 0; k < 2; k++)
		if (a->key[k] != b->key[k])
			return a->key[k] < b->key[k] ? -1 : 1;
	return a->pod < b->pod ? -1 : a->pod > b->pod;
}

static int make_groups(struct actx *a, int d)
{
	size_t n = a->e->npods;
	struct keyed *v = calloc(n ? n : 1, sizeof(*v));

	a->grp[d] = calloc(n ? n : 1, sizeof(*a->grp[d]));
	if (!v || !a->grp[d]) {
		free(v);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		group_key(a->e, i, d, v[i].key);
		v[i].pod = (uint32_t)i;
	}
	qsort(v, n, sizeof(*v), keyed_cmp);
	for (size_t i = 0, g = 0; i < n; i++) {
		if (i && memcmp(v[i - 1].key, v[i].key, sizeof(v[i].key)))
			g++;
		a->grp[d][v[i].pod] = (uint32_t)g;
		a->ngrp[d] = g + 1;
	}
	free(v);
	return 0;
}

/* ---- recording what was found ------------------------------------------- */

static void violation(struct xres *r, struct cx_end from, struct cx_end to,
		      const struct pw_port *port, uint64_t n)
{
	r->stat[PW_ASSERT_VIOLATIONS] += n;
	if (r->have_cx || !n)
		return;
	r->have_cx = true;
	r->cx_from = from;
	r->cx_to = to;
	r->cx_port = *port;
}

static bool wants_port(const struct xres *r, const struct pw_port *p)
{
	size_t lo = 0, hi = r->nports;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = pw_port_cmp(&r->ports[mid], p);

		if (!c)
			return true;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* ---- pod pairs ------------------------------------------------------------ */

static void check_pairs(const struct actx *a, struct xres *r,
			const struct pw_matrix *m, const struct pw_port *port)
{
	bool want = r->x->kind == PW_EXPECT_ALLOW;
	size_t n = a->e->npods;

	for (size_t s = 0; s < n; s++) {
		if (!r->src[s])
			continue;
		for (size_t d = 0; d < n; d++) {
			if (!r->dst[d] || s == d)
				continue;
			r->stat[PW_ASSERT_CHECKS]++;
			if (pw_matrix_allowed(m, 0, s, d) != want)
				violation(r, (struct cx_end){ CX_POD, s },
					  (struct cx_end){ CX_POD, d }, port,
					  1);
		}
	}
}

/* ---- outside addresses ------------------------------------------------------ */

/* Whether a connection between pod p and address ep can exist: a pod with
 * addresses talks only in their families (ingress: the family explain
 * judges, its first one). */
static bool family_fits(const struct pw_pod *p, const struct pw_ep *ep, int d)
{
	if (!p->nips)
		return true;
	if (d == PW_DIR_INGRESS)
		return first_family(p) == ep->addr.family;
	return family_mask(p) & (ep->addr.family == 4 ? 1u : 2u);
}

static int explain_allowed(const struct actx *a, size_t pod, size_t addr, int d,
			   const struct pw_port *port, bool *allowed)
{
	struct pw_verdict *v = d == PW_DIR_EGRESS ?
				       pw_engine_explain(a->e, a->pods, pod,
							 a->addrs, addr, port) :
				       pw_engine_explain(a->e, a->addrs, addr,
							 a->pods, pod, port);

	if (!v)
		return -errno;
	*allowed = pw_verdict_allowed(v);
	pw_verdict_free(v);
	return 0;
}

/* One address against the pods on one side, a group at a time; the
 * members of a group are counted, and the first is the counterexample. */
struct grp_scan {
	size_t *first; /* per group: first member, or SIZE_MAX */
	uint64_t *count;
};

static int check_addr(const struct actx *a, struct xres *r, size_t ai, int d,
		      const struct grp_scan *g, const struct pw_port *port)
{
	struct cx_end pe = { CX_POD, 0 }, ae = { CX_ADDR, ai };
	bool allowed = false;
	int err;

	/* Groups in the order of their first members, so that the
	 * counterexample is the first pod that shows it. */
	for (size_t i = 0; i < a->e->npods; i++) {
		size_t k = a->grp[d][i];

		if (g->first[k] != i)
			continue;
		pe.idx = i;
		if (!family_fits(a->e->pods[pe.idx].pod, &a->addrs->v[ai], d))
			continue;
		err = explain_allowed(a, pe.idx, ai, d, port, &allowed);
		if (err)
			return err;
		r->stat[PW_ASSERT_CHECKS] += g->count[k];
		if (allowed)
			violation(r, d == PW_DIR_EGRESS ? pe : ae,
				  d == PW_DIR_EGRESS ? ae : pe, port,
				  g->count[k]);
	}
	return 0;
}

/* A node address: the node rule makes each destination pod different, so
 * no groups (ingress); towards it (egress) groups are exact. */
static int check_node_ingress(const struct actx *a, struct xres *r, size_t ai,
			      const struct pw_port *port)
{
	struct pw_verdict *v;

	for (size_t i = 0; i < a->e->npods; i++) {
		if (!r->dst[i] ||
		    !family_fits(a->e->pods[i].pod, &a->addrs->v[ai],
				 PW_DIR_INGRESS))
			continue;
		v = pw_engine_explain(a->e, a->addrs, ai, a->pods, i, port);
		if (!v)
			return -errno;
		/* Node traffic cannot be blocked: not a violation, and not
		 * something the expectation could be about. */
		if (pw_verdict_reason(v) != PW_REASON_NODE_TRAFFIC) {
			r->stat[PW_ASSERT_CHECKS]++;
			if (pw_verdict_allowed(v))
				violation(r, (struct cx_end){ CX_ADDR, ai },
					  (struct cx_end){ CX_POD, i }, port,
					  1);
		}
		pw_verdict_free(v);
	}
	return 0;
}

static int scan_groups(const struct actx *a, const bool *pods, int d,
		       struct grp_scan *g)
{
	g->first = malloc((a->ngrp[d] + 1) * sizeof(*g->first));
	g->count = calloc(a->ngrp[d] + 1, sizeof(*g->count));
	if (!g->first || !g->count)
		return -ENOMEM;
	for (size_t k = 0; k < a->ngrp[d]; k++)
		g->first[k] = SIZE_MAX;
	for (size_t i = 0; i < a->e->npods; i++) {
		uint32_t k = a->grp[d][i];

		if (!pods[i])
			continue;
		if (g->first[k] == SIZE_MAX)
			g->first[k] = i;
		g->count[k]++;
	}
	return 0;
}

static int check_addrs(const struct actx *a, struct xres *r,
		       const struct pw_port *port)
{
	int d = r->x->kind == PW_EXPECT_ONLY_FROM ? PW_DIR_INGRESS :
						    PW_DIR_EGRESS;
	struct grp_scan g = { 0 };
	int err;

	err = scan_groups(a, d == PW_DIR_EGRESS ? r->src : r->dst, d, &g);
	for (size_t ai = 0; !err && ai < a->addrs->n; ai++) {
		if (!r->addr_ok[ai])
			continue;
		if (ai >= a->nreps && d == PW_DIR_INGRESS)
			err = check_node_ingress(a, r, ai, port);
		else
			err = check_addr(a, r, ai, d, &g, port);
	}
	free(g.first);
	free(g.count);
	return err;
}

/* ---- isolation -------------------------------------------------------------- */

/* A port for the counterexample of a pod that is not isolated: one it
 * serves, else the first port class. */
static struct pw_port probe_port(const struct actx *a, const struct pw_pod *p)
{
	if (p->nports)
		return (struct pw_port){ .num = (uint16_t)p->ports[0].port,
					 .proto = (uint8_t)p->ports[0].proto };
	return a->pclass[0];
}

/* An outside address the pod can talk to, for the counterexample. */
static size_t probe_addr(const struct actx *a, const struct pw_pod *p)
{
	for (size_t i = 0; i < a->nreps; i++)
		if (family_fits(p, &a->addrs->v[i], PW_DIR_INGRESS))
			return i;
	return 0;
}

static void check_isolated(const struct actx *a, struct xres *r)
{
	for (size_t i = 0; i < a->e->npods; i++) {
		const struct pw_pod *p = a->e->pods[i].pod;

		if (!r->src[i])
			continue;
		for (int d = 0; d < PW_DIR_NR; d++) {
			struct cx_end pe = { CX_POD, i };
			struct cx_end ae = { CX_ADDR, probe_addr(a, p) };
			struct pw_port port = probe_port(a, p);

			if (!r->x->dirs[d])
				continue;
			r->stat[PW_ASSERT_CHECKS]++;
			if (a->e->pods[i].nsel[d])
				continue;
			violation(r, d == PW_DIR_EGRESS ? pe : ae,
				  d == PW_DIR_EGRESS ? ae : pe, &port, 1);
		}
	}
}

/* ---- statements ----------------------------------------------------------- */

struct sbuf {
	char *s;
	size_t len, cap;
	bool oom;
};

static void sb_add(struct sbuf *b, const char *text)
{
	size_t n = strlen(text);

	if (b->oom || pw_grow((void **)&b->s, &b->cap, b->len + n + 1, 1)) {
		b->oom = true;
		return;
	}
	memcpy(b->s + b->len, text, n + 1);
	b->len += n;
}

static void sb_sel(struct sbuf *b, const struct pw_xsel *s)
{
	sb_add(b, s->ns ? s->ns : "*");
	sb_add(b, "/");
	if (!s->labels.n)
		sb_add(b, "*");
	for (size_t i = 0; i < s->labels.n; i++) {
		if (i)
			sb_add(b, ",");
		sb_add(b, s->labels.v[i].key);
		sb_add(b, "=");
		sb_add(b, s->labels.v[i].value);
	}
}

static void sb_peers(struct sbuf *b, const struct pw_expect *x)
{
	char text[PW_ADDR_STRLEN];

	for (size_t i = 0; i < x->npeers; i++) {
		if (i)
			sb_add(b, i + 1 == x->npeers ? " or " : ", ");
		if (x->peers[i].is_cidr) {
			pw_cidr_format(&x->peers[i].cidr, text, sizeof(text));
			sb_add(b, text);
		} else {
			sb_sel(b, &x->peers[i].sel);
		}
	}
}

static void sb_ports(struct sbuf *b, const struct pw_expect *x)
{
	char text[32];

	if (x->all_ports) {
		sb_add(b, "every port");
		return;
	}
	for (size_t i = 0; i < x->nports; i++) {
		if (i)
			sb_add(b, ", ");
		pw_port_format(&x->ports[i], text, sizeof(text));
		sb_add(b, text);
	}
}

static char *statement(const struct pw_expect *x)
{
	static const char *const dirs[] = { "ingress", "egress",
					    "ingress and egress" };
	struct sbuf b = { 0 };

	switch (x->kind) {
	case PW_EXPECT_DENY:
	case PW_EXPECT_ALLOW:
		sb_sel(&b, &x->from);
		sb_add(&b, " -> ");
		sb_sel(&b, &x->to);
		sb_add(&b, x->kind == PW_EXPECT_DENY ? ": denied on " :
						       ": allowed on ");
		break;
	case PW_EXPECT_ONLY_FROM:
		sb_add(&b, "only ");
		sb_peers(&b, x);
		sb_add(&b, " -> ");
		sb_sel(&b, &x->to);
		sb_add(&b, " on ");
		break;
	case PW_EXPECT_EGRESS_ONLY_TO:
		sb_sel(&b, &x->from);
		sb_add(&b, " -> only ");
		sb_peers(&b, x);
		sb_add(&b, " on ");
		break;
	case PW_EXPECT_ISOLATED:
	case PW_EXPECT_NR:
		sb_add(&b, "every pod of namespace ");
		sb_add(&b, x->ns);
		sb_add(&b, " isolated for ");
		sb_add(&b,
		       dirs[x->dirs[PW_DIR_INGRESS] && x->dirs[PW_DIR_EGRESS] ?
				    2 :
				    x->dirs[PW_DIR_EGRESS]]);
		return b.oom ? (free(b.s), NULL) : b.s;
	}
	sb_ports(&b, x);
	if (b.oom) {
		free(b.s);
		return NULL;
	}
	return b.s;
}

/* ---- one expectation ------------------------------------------------------- */

static int expect_ports(const struct actx *a, struct xres *r)
{
	const struct pw_port *src = r->x->all_ports ? a->pclass : r->x->ports;
	size_t n = r->x->all_ports ? a->npclass : r->x->nports;

	if (r->x->kind == PW_EXPECT_ISOLATED || !n)
		return 0;
	r->ports = malloc(n * sizeof(*r->ports));
	if (!r->ports)
		return -ENOMEM;
	memcpy(r->ports, src, n * sizeof(*r->ports));
	r->nports = n;
	return 0;
}

/* Why an expectation proves nothing, when its selectors match no pod. */
static const char *vacuous(const struct xres *r)
{
	static const struct {
		bool from, to; /* which side the kind names */
	} sides[PW_EXPECT_NR] = {
		[PW_EXPECT_DENY] = { true, true },
		[PW_EXPECT_ALLOW] = { true, true },
		[PW_EXPECT_ONLY_FROM] = { false, true },
		[PW_EXPECT_EGRESS_ONLY_TO] = { true, false },
	};
	size_t nsrc = r->stat[PW_ASSERT_SOURCES];
	size_t ndst = r->stat[PW_ASSERT_DESTINATIONS];

	if (r->x->kind == PW_EXPECT_ISOLATED)
		return nsrc || ndst ? NULL : "the namespace has no pods";
	if (sides[r->x->kind].from && !nsrc)
		return "from selects no pod";
	if (sides[r->x->kind].to && !ndst)
		return "to selects no pod";
	return NULL;
}

static int xres_init(const struct actx *a, struct xres *r,
		     const struct pw_expect *x)
{
	size_t np = a->e->npods, na = a->addrs->n;

	r->x = x;
	r->name = strdup(x->name);
	r->kind = x->kind;
	r->pos = x->pos;
	r->statement = statement(x);
	r->src = calloc(np + 1, sizeof(*r->src));
	r->dst = calloc(np + 1, sizeof(*r->dst));
	r->addr_ok = calloc(na + 1, sizeof(*r->addr_ok));
	if (!r->name || !r->statement || !r->src || !r->dst || !r->addr_ok ||
	    expect_ports(a, r))
		return -ENOMEM;
	pick_pods(a, r);
	pick_addrs(a, r);
	r->stat[PW_ASSERT_SOURCES] = count_true(r->src, np);
	r->stat[PW_ASSERT_DESTINATIONS] = count_true(r->dst, np);
	r->stat[PW_ASSERT_ADDRESSES] = count_true(r->addr_ok, na);
	r->stat[PW_ASSERT_PORTS] = r->nports;
	if (x->kind == PW_EXPECT_ISOLATED) {
		if (!x->dirs[PW_DIR_EGRESS])
			r->stat[PW_ASSERT_SOURCES] = 0;
		if (!x->dirs[PW_DIR_INGRESS])
			r->stat[PW_ASSERT_DESTINATIONS] = 0;
	}
	r->note = vacuous(r);
	return 0;
}

/* ---- all of them ------------------------------------------------------------ */

static int port_qcmp(const void *a, const void *b)
{
	return pw_port_cmp(a, b);
}

static int union_ports(const struct pw_assert_result *res, struct pw_port **out,
		       size_t *n)
{
	size_t cap = 0, w = 0;

	*out = NULL;
	*n = 0;
	for (size_t i = 0; i < res->n; i++) {
		const struct xres *r = &res->v[i];

		if (r->note)
			continue;
		for (size_t k = 0; k < r->nports; k++) {
			struct pw_port *slot = PW_PUSH(*out, *n, cap);

			if (!slot)
				return -ENOMEM;
			*slot = r->ports[k];
		}
	}
	if (!*n)
		return 0;
	qsort(*out, *n, sizeof(**out), port_qcmp);
	for (size_t r = 1; r < *n; r++)
		if (pw_port_cmp(&(*out)[r], &(*out)[w]))
			(*out)[++w] = (*out)[r];
	*n = w + 1;
	return 0;
}

static bool has_addr_side(const struct xres *r)
{
	return r->x->kind == PW_EXPECT_ONLY_FROM ||
	       r->x->kind == PW_EXPECT_EGRESS_ONLY_TO;
}

static int check_port(const struct actx *a, struct pw_assert_result *res,
		      const struct pw_port *port)
{
	struct pw_matrix *m = pw_engine_matrix(a->e, port, 1);
	int err = 0;

	if (!m)
		return -errno;
	for (size_t i = 0; !err && i < res->n; i++) {
		struct xres *r = &res->v[i];

		if (r->note || !wants_port(r, port))
			continue;
		check_pairs(a, r, m, port);
		if (has_addr_side(r))
			err = check_addrs(a, r, port);
	}
	pw_matrix_free(m);
	return err;
}

static int check_all(const struct actx *a, struct pw_assert_result *res)
{
	struct pw_port *ports;
	size_t nports;
	int err = union_ports(res, &ports, &nports);

	for (size_t k = 0; !err && k < nports; k++)
		err = check_port(a, res, &ports[k]);
	free(ports);
	for (size_t i = 0; !err && i < res->n; i++)
		if (!res->v[i].note && res->v[i].x->kind == PW_EXPECT_ISOLATED)
			check_isolated(a, &res->v[i]);
	return err;
}

static const struct pw_endpoints *cx_eps(const struct actx *a,
					 const struct cx_end *end)
{
	return end->side == CX_POD ? a->pods : a->addrs;
}

/* The class text of the counterexample's outside address, if any. */
static int cx_class(const struct actx *a, struct xres *r)
{
	const struct cx_end *end = r->cx_from.side == CX_ADDR ? &r->cx_from :
				   r->cx_to.side == CX_ADDR   ? &r->cx_to :
								NULL;
	char text[PW_ADDRCLASS_STRLEN];

	if (!end || end->idx >= a->nreps)
		return 0;
	pw_addrclass_format(pw_addrclass_get(a->classes, end->idx), text,
			    sizeof(text));
	r->cx_class = strdup(text);
	return r->cx_class ? 0 : -ENOMEM;
}

/* Explains the counterexample and settles the result. */
static int finish(const struct actx *a, struct pw_assert_result *res,
		  struct xres *r)
{
	/* deny and allow between one pod and itself check nothing; the
	 * complements of only-from and egress-only-to may rightly be empty */
	if (!r->note && !r->stat[PW_ASSERT_CHECKS] &&
	    (r->kind == PW_EXPECT_DENY || r->kind == PW_EXPECT_ALLOW))
		r->note = "no connection to check: the only pairs are pods "
			  "with themselves";
	if (r->have_cx) {
		r->verdict = pw_engine_explain(a->e, cx_eps(a, &r->cx_from),
					       r->cx_from.idx,
					       cx_eps(a, &r->cx_to),
					       r->cx_to.idx, &r->cx_port);
		if (!r->verdict)
			return -errno;
		if (cx_class(a, r))
			return -ENOMEM;
	}
	if (r->note || r->have_cx)
		res->failed++;
	free(r->src);
	free(r->dst);
	free(r->addr_ok);
	r->src = r->dst = r->addr_ok = NULL;
	return 0;
}

static int collect_cidrs(const struct pw_expect_set *x, struct pw_cidr **out,
			 size_t *n)
{
	size_t cap = 0;

	*out = NULL;
	*n = 0;
	for (size_t i = 0; i < x->n; i++) {
		for (size_t k = 0; k < x->v[i].npeers; k++) {
			struct pw_cidr *slot;

			if (!x->v[i].peers[k].is_cidr)
				continue;
			slot = PW_PUSH(*out, *n, cap);
			if (!slot)
				return -ENOMEM;
			*slot = x->v[i].peers[k].cidr;
		}
	}
	return 0;
}

static void actx_free(struct actx *a)
{
	pw_addrclass_set_free(a->classes);
	pw_endpoints_free(a->pods);
	pw_endpoints_free(a->addrs);
	free(a->pclass);
	for (int d = 0; d < PW_DIR_NR; d++)
		free(a->grp[d]);
}

static int actx_init(struct actx *a, const struct pw_engine *e,
		     const struct pw_expect_set *x)
{
	struct pw_cidr *extra;
	size_t nextra;
	int err;

	a->e = e;
	err = collect_cidrs(x, &extra, &nextra);
	if (!err)
		err = pw_addrclass_build_with(&e->c, 1, extra, nextra,
					      &a->classes);
	free(extra);
	if (!err)
		err = all_pods(a);
	if (!err)
		err = all_addrs(a);
	if (!err)
		err = port_classes(a);
	for (int d = 0; !err && d < PW_DIR_NR; d++)
		err = make_groups(a, d);
	return err;
}

PW_EXPORT void pw_assert_result_free(struct pw_assert_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++) {
		free(r->v[i].name);
		free(r->v[i].statement);
		pw_verdict_free(r->v[i].verdict);
		free(r->v[i].cx_class);
		free(r->v[i].src);
		free(r->v[i].dst);
		free(r->v[i].addr_ok);
		free(r->v[i].ports);
	}
	free(r->v);
	free(r->file);
	free(r);
}

static int check_set(struct actx *a, struct pw_assert_result *res,
		     const struct pw_expect_set *x)
{
	int err = 0;

	for (size_t i = 0; !err && i < x->n; i++)
		err = xres_init(a, &res->v[i], &x->v[i]);
	if (!err)
		err = check_all(a, res);
	for (size_t i = 0; !err && i < x->n; i++)
		err = finish(a, res, &res->v[i]);
	return err;
}

PW_EXPORT struct pw_assert_result *
pw_assert_check(const struct pw_engine *e, const struct pw_expect_set *x)
{
	struct pw_assert_result *res;
	struct actx a = { 0 };
	int err = -EINVAL;

	if (!e || !x)
		goto err_out;
	err = -ENOMEM;
	res = calloc(1, sizeof(*res));
	if (!res)
		goto err_out;
	res->v = calloc(x->n + 1, sizeof(*res->v));
	if (!res->v)
		goto err_free_res;
	res->n = x->n;
	res->file = strdup(x->file ? x->file : "");
	if (!res->file)
		goto err_free_res;
	err = actx_init(&a, e, x);
	if (!err)
		err = check_set(&a, res, x);
	actx_free(&a);
	if (err)
		goto err_free_res;
	for (size_t i = 0; i < res->n; i++) {
		res->v[i].x = NULL; /* borrowed for the call only */
		res->v[i].pos.file = res->file;
	}
	return res;

err_free_res:
	pw_assert_result_free(res);
err_out:
	errno = -err;
	return NULL;
}

/* ---- accessors ------------------------------------------------------------ */

PW_EXPORT size_t pw_assert_count(const struct pw_assert_result *r)
{
	return r->n;
}

PW_EXPORT size_t pw_assert_failed_count(const struct pw_assert_result *r)
{
	return r->failed;
}

PW_EXPORT const char *pw_assert_name(const struct pw_assert_result *r, size_t i)
{
	return i < r->n ? r->v[i].name : NULL;
}

PW_EXPORT const char *pw_assert_kind(const struct pw_assert_result *r, size_t i)
{
	return i < r->n ? pw_expect_kind_name(r->v[i].kind) : NULL;
}

PW_EXPORT const char *pw_assert_statement(const struct pw_assert_result *r,
					  size_t i)
{
	return i < r->n ? r->v[i].statement : NULL;
}

PW_EXPORT const char *pw_assert_where(const struct pw_assert_result *r,
				      size_t i, unsigned *line, unsigned *col)
{
	if (i >= r->n)
		return NULL;
	if (line)
		*line = r->v[i].pos.line;
	if (col)
		*col = r->v[i].pos.col;
	return r->v[i].pos.file;
}

PW_EXPORT bool pw_assert_passed(const struct pw_assert_result *r, size_t i)
{
	return i < r->n && !r->v[i].note && !r->v[i].have_cx;
}

PW_EXPORT const char *pw_assert_note(const struct pw_assert_result *r, size_t i)
{
	return i < r->n ? r->v[i].note : NULL;
}

PW_EXPORT const char *pw_assert_stat_name(enum pw_assert_stat s)
{
	static const char *const names[PW_ASSERT_STAT_NR] = {
		[PW_ASSERT_SOURCES] = "sources",
		[PW_ASSERT_DESTINATIONS] = "destinations",
		[PW_ASSERT_ADDRESSES] = "addresses",
		[PW_ASSERT_PORTS] = "ports",
		[PW_ASSERT_CHECKS] = "checks",
		[PW_ASSERT_VIOLATIONS] = "violations",
	};

	return (unsigned)s < PW_ASSERT_STAT_NR ? names[s] : NULL;
}

PW_EXPORT uint64_t pw_assert_stat(const struct pw_assert_result *r, size_t i,
				  enum pw_assert_stat s)
{
	return i < r->n && (unsigned)s < PW_ASSERT_STAT_NR ? r->v[i].stat[s] :
							     0;
}

PW_EXPORT const struct pw_verdict *
pw_assert_counterexample(const struct pw_assert_result *r, size_t i)
{
	return i < r->n ? r->v[i].verdict : NULL;
}

PW_EXPORT size_t pw_assert_port_count(const struct pw_assert_result *r,
				      size_t i)
{
	return i < r->n ? r->v[i].nports : 0;
}

PW_EXPORT struct pw_port pw_assert_port(const struct pw_assert_result *r,
					size_t i, size_t k)
{
	if (i >= r->n || k >= r->v[i].nports)
		return (struct pw_port){ 0 };
	return r->v[i].ports[k];
}

PW_EXPORT const char *
pw_assert_counterexample_class(const struct pw_assert_result *r, size_t i)
{
	return i < r->n ? r->v[i].cx_class : NULL;
}
