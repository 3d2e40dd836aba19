// SPDX-License-Identifier: Apache-2.0
/*
 * Lint rules about isolation: pods no default deny covers (PW004), egress
 * isolation that cuts pods off the cluster DNS (PW005), and allow-all
 * rules that make every other policy of their pods meaningless (PW006).
 * They read which policies select each pod from the engine (sel[]).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bitset.h"
#include "lint_rules.h"

static const uint32_t *sel_of(const struct pw_engine *e, size_t k, int d)
{
	return e->sel + e->pods[k].sel_off[d];
}

/* ---- PW004: pods and namespaces without a default deny ------------------------------------ */

static struct lint_where ns_where(const struct pw_engine *e, size_t ns,
				  size_t first)
{
	const struct pw_namespace *n = &e->c->nss[ns];
	const struct pw_pod *p = e->pods[first].pod;

	return (struct lint_where){
		.pos = n->declared ? &n->name_pos : &p->pos,
		.path = n->declared ? "metadata.name" : NULL,
		.kind = "Namespace",
		.ns = n->name,
		.cluster_scoped = true,
		.name = n->name,
		.obj = n->declared ? &n->pos : NULL,
	};
}

/*
 * Namespace ns in direction d: pods no policy isolates now, or, when all
 * are, no policy selecting every pod (podSelector {}) that would isolate
 * the next one. wall: whether there is such a policy.
 */
static int coverage_dir(struct lint_ctx *x, size_t ns, int d, bool wall)
{
	const struct pw_engine *e = x->e;
	size_t lo = e->ns_lo[ns], hi = e->ns_hi[ns], n = 0;
	const char *type = d == PW_DIR_INGRESS ? "Ingress" : "Egress";
	struct lint_where at = ns_where(e, ns, lo);
	long first = -1;

	for (size_t k = lo; k < hi; k++) {
		if (e->pods[k].nsel[d])
			continue;
		if (first < 0)
			first = (long)k;
		n++;
	}
	if (first >= 0) {
		at = ns_where(e, ns, (size_t)first);
		return lint_report(
			x, &at, NULL,
			"%zu of %zu pods of namespace \"%s\" are not "
			"isolated for %s (e.g. %s): no policy with "
			"policyType %s selects them",
			n, hi - lo, e->c->nss[ns].name, pw_dir_name(d),
			e->pods[first].name, type);
	}
	if (wall)
		return 0;
	return lint_report(x, &at, NULL,
			   "namespace \"%s\" has no default deny for %s: its "
			   "pods are isolated by policies that select them by "
			   "label, but a new pod would not be (no policy with "
			   "podSelector {} and policyType %s)",
			   e->c->nss[ns].name, pw_dir_name(d), type);
}

int lint_coverage(struct lint_ctx *x)
{
	const struct pw_engine *e = x->e;
	const struct pw_cluster *c = e->c;
	bool(*wall)[PW_DIR_NR] = calloc(c->nnss + 1, sizeof(*wall));
	int err = 0;

	if (!wall)
		return -ENOMEM;
	for (size_t i = 0; i < c->npols; i++) {
		long ns = pw_engine_ns_index(c, c->pols[i].ns);

		for (int d = 0; ns >= 0 && d < PW_DIR_NR; d++)
			if (c->pols[i].affects[d] &&
			    pw_selector_is_empty(&c->pols[i].pod_sel))
				wall[ns][d] = true;
	}
	for (size_t ns = 0; !err && ns < c->nnss; ns++) {
		if (e->ns_hi[ns] <= e->ns_lo[ns])
			continue;
		for (int d = 0; !err && d < PW_DIR_NR; d++)
			err = coverage_dir(x, ns, d, wall[ns][d]);
	}
	free(wall);
	return err;
}

/* ---- PW005: egress isolation that blocks DNS ----------------------------- */

enum { NEED_UDP = 1, NEED_TCP = 2 };

static bool rule_reaches(const struct pw_engine *e, size_t er,
			 const struct pw_port *port, size_t d)
{
	const struct pw_rule *r = e->rules[er].r;
	bool port_ok = !r->nports;

	for (size_t j = 0; j < r->nports && !port_ok; j++)
		port_ok =
			pw_np_port_matches(&r->ports[j], port, e->pods[d].pod);
	if (!port_ok)
		return false;
	if (!r->npeers)
		return true;
	for (size_t j = 0; j < r->npeers; j++)
		if (pw_bits_test(lint_peer_set(e, er, j)->bits[PW_VIEW_FIRST],
				 d))
			return true;
	return false;
}

/* Whether egress-isolated pod s may open a connection to d on port. */
static bool egress_allows(const struct pw_engine *e, size_t s,
			  const struct pw_port *port, size_t d)
{
	const uint32_t *pols = sel_of(e, s, PW_DIR_EGRESS);

	for (size_t i = 0; i < e->pods[s].nsel[PW_DIR_EGRESS]; i++) {
		const struct pw_policy *p = &e->c->pols[pols[i]];

		for (size_t k = 0; k < p->nrules[PW_DIR_EGRESS]; k++)
			if (rule_reaches(
				    e, lint_erule(e, pols[i], PW_DIR_EGRESS, k),
				    port, d))
				return true;
	}
	return false;
}

/* The DNS pods: an array of matrix indexes (*n of them), NULL if none. */
static size_t *dns_pods(const struct lint_ctx *x, size_t *n)
{
	const struct pw_engine *e = x->e;
	size_t lo, hi, *v;

	*n = 0;
	if (!lint_ns_pods(e, x->dns_ns, &lo, &hi))
		return NULL;
	v = calloc(hi - lo, sizeof(*v));
	if (!v)
		return NULL;
	for (size_t k = lo; k < hi; k++)
		if (pw_selector_matches(x->dns_sel, &e->pods[k].pod->labels))
			v[(*n)++] = k;
	return v;
}

/* What pod s lacks (NEED_UDP | NEED_TCP) to reach some DNS pod. */
static unsigned dns_missing(const struct pw_engine *e, size_t s,
			    const size_t *dns, size_t ndns)
{
	static const struct pw_port p53[] = {
		{ 53, PW_PROTO_UDP },
		{ 53, PW_PROTO_TCP },
	};
	unsigned missing = 0;

	for (size_t p = 0; p < PW_ARRAY_SIZE(p53); p++) {
		bool ok = false;

		for (size_t i = 0; i < ndns && !ok; i++)
			ok = egress_allows(e, s, &p53[p], dns[i]);
		if (!ok)
			missing |= 1u << p;
	}
	return missing;
}

static const char *missing_text(unsigned m)
{
	static const char *const text[] = { "", "UDP port 53", "TCP port 53",
					    "port 53, neither UDP nor TCP" };

	return text[m & 3];
}

/* The pods of one namespace that lack the same (missing) protocols. */
struct dns_group {
	long first;
	size_t n;
};

struct dns_scan {
	struct lint_ctx *x;
	const size_t *dns;
	size_t ndns;
	uint8_t *memo; /* per egress class: missing + 1, 0 until known */
	uint32_t *votes; /* per policy, while reporting */
};

static unsigned missing_of(struct dns_scan *ds, size_t s)
{
	const struct pw_engine *e = ds->x->e;
	uint8_t *m = &ds->memo[e->pods[s].set[PW_DIR_EGRESS]];

	if (!e->pods[s].nsel[PW_DIR_EGRESS])
		return 0;
	if (!*m)
		*m = (uint8_t)(dns_missing(e, s, ds->dns, ds->ndns) + 1);
	return *m - 1u;
}

/* The policy that isolates most pods of the group (the first of those on
 * a tie): the one to point at. */
static size_t group_policy(struct dns_scan *ds, size_t lo, size_t hi,
			   unsigned missing)
{
	const struct pw_engine *e = ds->x->e;
	size_t best = SIZE_MAX;

	for (size_t s = lo; s < hi; s++) {
		const uint32_t *pols = sel_of(e, s, PW_DIR_EGRESS);

		if (missing_of(ds, s) != missing)
			continue;
		for (size_t i = 0; i < e->pods[s].nsel[PW_DIR_EGRESS]; i++) {
			uint32_t q = pols[i];

			ds->votes[q]++;
			if (best == SIZE_MAX ||
			    ds->votes[q] > ds->votes[best] ||
			    (ds->votes[q] == ds->votes[best] && q < best))
				best = q;
		}
	}
	for (size_t s = lo; s < hi; s++) {
		const uint32_t *pols = sel_of(e, s, PW_DIR_EGRESS);

		for (size_t i = 0; i < e->pods[s].nsel[PW_DIR_EGRESS]; i++)
			ds->votes[pols[i]] = 0;
	}
	return best;
}

static int dns_report(struct dns_scan *ds, size_t lo, size_t hi,
		      unsigned missing, const struct dns_group *g)
{
	const struct pw_engine *e = ds->x->e;
	const struct pw_policy *p =
		&e->c->pols[group_policy(ds, lo, hi, missing)];
	struct lint_witness w = {
		.from = g->first,
		.to = (long)ds->dns[0],
		.port = { 53,
			  missing & NEED_UDP ? PW_PROTO_UDP : PW_PROTO_TCP },
	};
	struct lint_where at = lint_at_policy(p, &p->name_pos, NULL);

	return lint_report(ds->x, &at, &w,
			   "%zu egress-isolated %s of namespace \"%s\" (e.g. "
			   "%s) may not reach the cluster DNS on %s: no policy "
			   "selecting them allows it",
			   g->n, g->n == 1 ? "pod" : "pods", p->ns,
			   e->pods[g->first].name, missing_text(missing));
}

/* The pods of one namespace, [lo, hi), grouped by what they miss. */
static int dns_namespace(struct dns_scan *ds, size_t lo, size_t hi)
{
	struct dns_group g[4] = { 0 };
	int err = 0;

	for (size_t s = lo; s < hi; s++) {
		unsigned m = missing_of(ds, s);

		if (!m)
			continue;
		if (!g[m].n)
			g[m].first = (long)s;
		g[m].n++;
	}
	for (unsigned m = 1; !err && m < 4; m++)
		if (g[m].n)
			err = dns_report(ds, lo, hi, m, &g[m]);
	return err;
}

int lint_dns(struct lint_ctx *x)
{
	const struct pw_engine *e = x->e;
	struct dns_scan ds = { .x = x };
	size_t *dns = dns_pods(x, &ds.ndns);
	int err = -ENOMEM;

	if (!ds.ndns) {
		free(dns);
		return 0; /* no DNS pods in the input: nothing to judge */
	}
	ds.dns = dns;
	ds.memo = calloc(e->nset_ids[PW_DIR_EGRESS] + 1, sizeof(*ds.memo));
	ds.votes = calloc(e->c->npols + 1, sizeof(*ds.votes));
	if (ds.memo && ds.votes) {
		err = 0;
		for (size_t ns = 0; !err && ns < e->c->nnss; ns++)
			if (e->ns_hi[ns] > e->ns_lo[ns])
				err = dns_namespace(&ds, e->ns_lo[ns],
						    e->ns_hi[ns]);
	}
	free(ds.votes);
	free(ds.memo);
	free(dns);
	return err;
}

/* ---- PW006: allow-all rules ------------------------------------------------ */

static bool peer_admits_all(const struct pw_peer *p)
{
	if (p->has_ipblock)
		return p->ipblock.cidr_ok && !p->ipblock.cidr.len &&
		       !p->ipblock.nexcept;
	return p->has_ns_sel && pw_selector_is_empty(&p->ns_sel) &&
	       (!p->has_pod_sel || pw_selector_is_empty(&p->pod_sel));
}

static bool rule_allows_all(const struct pw_rule *r)
{
	if (r->nports)
		return false;
	if (!r->npeers)
		return true;
	for (size_t j = 0; j < r->npeers; j++)
		if (peer_admits_all(&r->peers[j]))
			return true;
	return false;
}

/* Another policy that selects one of pi's pods for d: its index, with
 * the shared pod in *pod; -1 when there is none. */
static long voided(const struct pw_engine *e, size_t pi, int d, size_t *pod)
{
	const struct pw_policy *p = &e->c->pols[pi];
	size_t lo, hi;

	if (!lint_ns_pods(e, p->ns, &lo, &hi))
		return -1;
	for (size_t k = lo; k < hi; k++) {
		const uint32_t *pols = sel_of(e, k, d);

		if (!lint_selects(e, p, k))
			continue;
		for (size_t i = 0; i < e->pods[k].nsel[d]; i++) {
			if (pols[i] != pi) {
				*pod = k;
				return pols[i];
			}
		}
	}
	return -1;
}

static int allow_all_rule(struct lint_ctx *x, const struct lint_rule_ref *rr,
			  void *arg)
{
	struct lint_where at;
	struct pw_path path;
	size_t pod;
	long q;

	if (!rule_allows_all(rr->r))
		return 0;
	q = voided(x->e, rr->pi, rr->d, &pod);
	if (q < 0)
		return 0;
	lint_rule_path(&path, rr->d, rr->k, -1, -1);
	at = lint_at_policy(rr->p, &rr->r->pos, path.buf);
	return lint_report(
		x, &at, NULL,
		"the rule allows every %s on every port: policy "
		"\"%s\", which also selects %s for %s, has no effect "
		"there",
		rr->d == PW_DIR_INGRESS ? "source" : "destination",
		x->c->pols[q].name, x->e->pods[pod].name, pw_dir_name(rr->d));
}

int lint_allow_all(struct lint_ctx *x)
{
	return lint_each_rule(x, true, allow_all_rule, NULL);
}
