// SPDX-License-Identifier: Apache-2.0
/*
 * Lint rules about what selectors select: peers ORed where an AND was
 * meant (PW001), policies and peers that select nothing (PW002, PW003),
 * selectors on labels the platform generates (PW011) and podSelector-only
 * peers meant for another namespace (PW012). Each judges a selector by
 * the pods it matches in the engine, not by how it is written.
 */
#include <stdlib.h>
#include <string.h>

#include "bitset.h"
#include "lint_rules.h"

/* One peer of one rule, as the walkers hand it to a check. */
struct peer_ref {
	size_t pi; /* cluster policy index */
	const struct pw_policy *p;
	int d;
	size_t k; /* rule within the policy and direction */
	const struct pw_rule *r;
	size_t erule; /* engine rule index */
	size_t j;
	const struct pw_peer *peer;
};

typedef int (*peer_fn)(struct lint_ctx *x, const struct peer_ref *pr);

struct peer_walk {
	peer_fn fn;
};

static int rule_peers(struct lint_ctx *x, const struct lint_rule_ref *rr,
		      void *arg)
{
	const struct peer_walk *pw = arg;
	struct peer_ref pr = {
		.pi = rr->pi,
		.p = rr->p,
		.d = rr->d,
		.k = rr->k,
		.r = rr->r,
		.erule = rr->erule,
	};
	int err = 0;

	for (pr.j = 0; !err && pr.j < pr.r->npeers; pr.j++) {
		pr.peer = &pr.r->peers[pr.j];
		err = pw->fn(x, &pr);
	}
	return err;
}

/* Calls fn on every peer of every rule of every policy. */
static int each_peer(struct lint_ctx *x, peer_fn fn)
{
	struct peer_walk pw = { fn };

	return lint_each_rule(x, false, rule_peers, &pw);
}

/*
 * A witness for a rule of policy p: the pod `peer` on the peer side and a
 * pod p selects on the other, ingress or egress as d says. false when p
 * selects no pod but peer, or no port can be named.
 */
static bool rule_witness(struct lint_ctx *x, const struct peer_ref *pr,
			 long peer, struct lint_witness *w)
{
	const struct pw_engine *e = x->e;
	size_t lo, hi;
	long sel = -1;

	if (!lint_ns_pods(e, pr->p->ns, &lo, &hi))
		return false;
	for (size_t k = lo; k < hi && sel < 0; k++)
		if ((long)k != peer && lint_selects(e, pr->p, k))
			sel = (long)k;
	if (sel < 0)
		return false;
	w->from = pr->d == PW_DIR_INGRESS ? peer : sel;
	w->to = pr->d == PW_DIR_INGRESS ? sel : peer;
	w->to_text = NULL;
	return lint_rule_port(pr->r, e->pods[w->to].pod, w);
}

static void peer_where(const struct peer_ref *pr, long j, struct pw_path *path,
		       struct lint_where *at)
{
	lint_rule_path(path, pr->d, pr->k, j, -1);
	*at = lint_at_policy(pr->p, &pr->r->peers[j].pos, path->buf);
}

/* ---- PW001: namespaceSelector OR podSelector --------------------------- */

static bool only_ns(const struct pw_peer *p)
{
	return p->has_ns_sel && !p->has_pod_sel && !p->has_ipblock;
}

static bool only_pod(const struct pw_peer *p)
{
	return p->has_pod_sel && !p->has_ns_sel && !p->has_ipblock;
}

/* A pod in `in` the AND of nsp's namespaceSelector and podp's podSelector
 * does not admit; -1 when none. */
static long or_not_and(const struct pw_engine *e, const uint64_t *in,
		       const struct pw_peer *nsp, const struct pw_peer *podp)
{
	for (long k = lint_first_bit(e, in); k >= 0 && (size_t)k < e->npods;
	     k++) {
		const struct pw_eng_pod *ep = &e->pods[k];

		if (!pw_bits_test(in, (size_t)k))
			continue;
		if (!pw_selector_matches(&nsp->ns_sel, &ep->ns->labels) ||
		    !pw_selector_matches(&podp->pod_sel, &ep->pod->labels))
			return k;
	}
	return -1;
}

/* A pod the OR of peers a (namespaceSelector only) and b (podSelector
 * only) admits and their AND would not; -1 when none or when they are
 * not such a pair. */
static long or_and_diff(const struct pw_engine *e, const struct peer_ref *pr,
			size_t a, size_t b)
{
	const struct pw_peer *nsp = &pr->r->peers[a], *podp = &pr->r->peers[b];
	long k;

	if (!only_ns(nsp) || !only_pod(podp))
		return -1;
	/* Pods of the selected namespaces first: that is the wider leak. */
	k = or_not_and(e, lint_peer_set(e, pr->erule, a)->bits[PW_VIEW_FIRST],
		       nsp, podp);
	if (k < 0)
		k = or_not_and(
			e, lint_peer_set(e, pr->erule, b)->bits[PW_VIEW_FIRST],
			nsp, podp);
	return k;
}

/* Whether PW001 reports peer j with one of its neighbours. */
static bool in_or_and(const struct pw_engine *e, const struct peer_ref *pr)
{
	size_t j = pr->j, n = pr->r->npeers;

	return (j > 0 && or_and_diff(e, pr, j - 1, j) >= 0) ||
	       (j + 1 < n && or_and_diff(e, pr, j + 1, j) >= 0);
}

static int or_and_pair(struct lint_ctx *x, const struct peer_ref *pr, size_t a,
		       size_t b)
{
	const struct pw_engine *e = x->e;
	struct lint_witness w = { 0 };
	struct lint_where at;
	struct pw_path path;
	long k = or_and_diff(e, pr, a, b);

	if (k < 0)
		return 0; /* not a pair, or the OR admits what the AND would */
	peer_where(pr, (long)(a > b ? a : b), &path, &at);
	return lint_report(x, &at, rule_witness(x, pr, k, &w) ? &w : NULL,
			   "%s[%zu] (namespaceSelector) and %s[%zu] "
			   "(podSelector) are two peers, ORed: the rule admits "
			   "%s, which one peer with both selectors would not",
			   pr->d == PW_DIR_INGRESS ? "from" : "to", a,
			   pr->d == PW_DIR_INGRESS ? "from" : "to", b,
			   e->pods[k].name);
}

static int or_and_peer(struct lint_ctx *x, const struct peer_ref *pr)
{
	int err;

	if (pr->j + 1 >= pr->r->npeers)
		return 0;
	err = or_and_pair(x, pr, pr->j, pr->j + 1);
	if (!err)
		err = or_and_pair(x, pr, pr->j + 1, pr->j);
	return err;
}

int lint_or_and(struct lint_ctx *x)
{
	return each_peer(x, or_and_peer);
}

/* ---- PW002: a policy that selects no pod -------------------------------- */

int lint_empty_policy(struct lint_ctx *x)
{
	const struct pw_cluster *c = x->c;
	struct lint_where at;
	size_t lo, hi;
	int err = 0;

	for (size_t i = 0; !err && i < c->npols; i++) {
		const struct pw_policy *p = &c->pols[i];

		if (lint_first_selected(x->e, p) >= 0)
			continue;
		at = lint_at_policy(p, &p->pod_sel.pos, "spec.podSelector");
		if (!lint_ns_pods(x->e, p->ns, &lo, &hi))
			err = lint_report(x, &at, NULL,
					  "policy \"%s\" selects no pod: "
					  "namespace \"%s\" has none",
					  p->name, p->ns);
		else
			err = lint_report(
				x, &at, NULL,
				"policy \"%s\" selects no pod: no pod "
				"of namespace \"%s\" matches "
				"spec.podSelector",
				p->name, p->ns);
	}
	return err;
}

/* ---- PW012: a podSelector meant for another namespace --------------------- */

static bool selector_peer(const struct pw_peer *p)
{
	return !p->has_ipblock;
}

static bool set_empty(const struct pw_engine *e, const struct pw_peerset *s)
{
	return lint_first_bit(e, s->bits[PW_VIEW_FIRST]) < 0;
}

/* A pod outside the policy's namespace that the peer's podSelector would
 * match; -1 when none. */
static long elsewhere(const struct pw_engine *e, const struct peer_ref *pr)
{
	if (!only_pod(pr->peer) || pw_selector_is_empty(&pr->peer->pod_sel))
		return -1;
	for (size_t k = 0; k < e->npods; k++)
		if (strcmp(e->pods[k].pod->ns, pr->p->ns) &&
		    pw_selector_matches(&pr->peer->pod_sel,
					&e->pods[k].pod->labels))
			return (long)k;
	return -1;
}

static int cross_ns_peer(struct lint_ctx *x, const struct peer_ref *pr)
{
	const struct pw_engine *e = x->e;
	struct lint_witness w = { 0 };
	struct lint_where at;
	struct pw_path path;
	long k;

	if (!only_pod(pr->peer) ||
	    !set_empty(e, lint_peer_set(e, pr->erule, pr->j)))
		return 0;
	k = elsewhere(e, pr);
	if (k < 0 || in_or_and(e, pr))
		return 0; /* PW001 says more */
	peer_where(pr, (long)pr->j, &path, &at);
	return lint_report(x, &at, rule_witness(x, pr, k, &w) ? &w : NULL,
			   "the podSelector matches no pod of the policy's "
			   "namespace \"%s\" but matches pods of namespace "
			   "\"%s\" (%s): without a namespaceSelector it only "
			   "selects pods of \"%s\"",
			   pr->p->ns, e->pods[k].pod->ns, e->pods[k].name,
			   pr->p->ns);
}

int lint_cross_ns(struct lint_ctx *x)
{
	return each_peer(x, cross_ns_peer);
}

/* ---- PW003: a peer that selects nothing ----------------------------------- */

static bool any_ns_matches(const struct pw_cluster *c, const struct pw_peer *p)
{
	for (size_t i = 0; i < c->nnss; i++)
		if (pw_selector_matches(&p->ns_sel, &c->nss[i].labels))
			return true;
	return false;
}

static int empty_peer(struct lint_ctx *x, const struct peer_ref *pr)
{
	const struct pw_engine *e = x->e;
	struct lint_where at;
	struct pw_path path;

	if (!selector_peer(pr->peer) ||
	    !set_empty(e, lint_peer_set(e, pr->erule, pr->j)))
		return 0;
	if (elsewhere(e, pr) >= 0 || in_or_and(e, pr))
		return 0; /* PW012 or PW001 say more */
	peer_where(pr, (long)pr->j, &path, &at);
	if (!pr->peer->has_ns_sel)
		return lint_report(x, &at, NULL,
				   "the peer selects nothing: no pod of "
				   "namespace \"%s\" matches its podSelector",
				   pr->p->ns);
	if (!any_ns_matches(x->c, pr->peer))
		return lint_report(x, &at, NULL,
				   "the peer selects nothing: no namespace "
				   "matches its namespaceSelector");
	return lint_report(x, &at, NULL,
			   "the peer selects nothing: no pod that matches its "
			   "podSelector lives in a namespace its "
			   "namespaceSelector matches");
}

int lint_empty_peer(struct lint_ctx *x)
{
	return each_peer(x, empty_peer);
}

/* ---- PW011: labels the platform generates ----------------------------------- */

/* Set by controllers per rollout, per pod or per job run. */
static const char *const generated[] = {
	"pod-template-hash",
	"controller-revision-hash",
	"statefulset.kubernetes.io/pod-name",
	"job-name",
	"batch.kubernetes.io/job-name",
	"controller-uid",
	"batch.kubernetes.io/controller-uid",
	"apps.kubernetes.io/pod-index",
	"batch.kubernetes.io/job-completion-index",
};

static bool is_generated(const char *key)
{
	for (size_t i = 0; i < PW_ARRAY_SIZE(generated); i++)
		if (!strcmp(generated[i], key))
			return true;
	return false;
}

static int generated_report(struct lint_ctx *x, const struct pw_policy *p,
			    const struct pw_pos *pos, const char *path,
			    const char *key)
{
	struct lint_where at = lint_at_policy(p, pos, path);

	return lint_report(x, &at, NULL,
			   "the selector pins label \"%s\", which the platform "
			   "generates: it changes with each rollout or run",
			   key);
}

/*
 * matchLabels entries and In requirements pin a generated value; Exists,
 * DoesNotExist and NotIn ("not a job's pod") stay true across rollouts
 * and are not reported.
 */
static int generated_in(struct lint_ctx *x, const struct pw_policy *p,
			const struct pw_selector *s, struct pw_path *path)
{
	size_t mark;
	int err = 0;

	for (size_t i = 0; !err && i < s->match_labels.n; i++) {
		if (!is_generated(s->match_labels.v[i].key))
			continue;
		mark = pw_path_push(path, "matchLabels");
		err = generated_report(x, p, &s->match_labels.v[i].pos,
				       path->buf, s->match_labels.v[i].key);
		pw_path_pop(path, mark);
	}
	for (size_t i = 0; !err && i < s->nreqs; i++) {
		if (s->reqs[i].op != PW_SEL_IN || !is_generated(s->reqs[i].key))
			continue;
		mark = pw_path_index(path, "matchExpressions", i);
		err = generated_report(x, p, &s->reqs[i].key_pos, path->buf,
				       s->reqs[i].key);
		pw_path_pop(path, mark);
	}
	return err;
}

static int generated_peer(struct lint_ctx *x, const struct peer_ref *pr)
{
	struct pw_path path;

	if (!pr->peer->has_pod_sel)
		return 0;
	lint_rule_path(&path, pr->d, pr->k, (long)pr->j, -1);
	pw_path_push(&path, "podSelector");
	return generated_in(x, pr->p, &pr->peer->pod_sel, &path);
}

int lint_generated_labels(struct lint_ctx *x)
{
	struct pw_path path;
	int err = 0;

	for (size_t i = 0; !err && i < x->c->npols; i++) {
		pw_path_init(&path);
		pw_path_push(&path, "spec.podSelector");
		err = generated_in(x, &x->c->pols[i], &x->c->pols[i].pod_sel,
				   &path);
	}
	return err ? err : each_peer(x, generated_peer);
}
