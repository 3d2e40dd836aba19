// SPDX-License-Identifier: Apache-2.0
/*
 * PW007: rules and policies whose removal changes no verdict.
 *
 * The argument, on the engine's semantics: for a pod y and a direction,
 * the verdict is decided by whether y is isolated (some policy selects it
 * for that direction) and by the union, over the rules of the policies
 * selecting y, of peers x ports. A rule A can go when, on every pod y its
 * policy selects, another rule B of a policy selecting y contains it:
 * A's peers admit a subset of what B's peers admit (for every address
 * view, and for ipBlocks as address ranges, not only on pod addresses)
 * and each of A's port entries lies within one of B's. The union is then
 * unchanged on every y, and so is every verdict, for pods and for
 * addresses outside the cluster alike. A policy can go when that holds
 * for all its rules with B from other policies, and each pod it selects
 * is isolated by another policy too.
 *
 * Containment is checked only where the cheap conditions hold (another
 * policy selects the pod; port entries contained), and the subset test
 * on bitsets comes last. Removals are decided one at a time, each against
 * what is left after the earlier ones (from the last rule backwards, so
 * of two equal rules the later one is reported): removing everything
 * reported, or any one of it, changes no verdict. The proof is about the
 * pods of this cluster: a pod added later may make a rule matter, which
 * is why default-deny policies (every pod, no rule) are never reported.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "bitset.h"
#include "lint_rules.h"

struct red_ctx {
	struct lint_ctx *x;
	const struct pw_engine *e;
	bool *gone_rule; /* per engine rule */
	bool *gone_pol; /* per cluster policy */
	uint32_t *stamp[PW_DIR_NR]; /* per selection class: generation */
	uint32_t gen;
	uint64_t *scratch; /* union of a rule's peers, one view */
};

/* Who covers a rule on a pod, for the message. */
struct cover {
	long pol, rule, pod;
};

/* ---- containment ---------------------------------------------------------- */

static bool entry_within(const struct pw_np_port *a, const struct pw_np_port *b)
{
	int64_t alo, ahi, blo, bhi;

	if (a->proto != b->proto)
		return false;
	if (!b->has_port)
		return true;
	if (!a->has_port || a->named != b->named)
		return false;
	if (a->named)
		return !strcmp(a->name, b->name);
	alo = a->port;
	ahi = a->has_end ? a->end_port : a->port;
	blo = b->port;
	bhi = b->has_end ? b->end_port : b->port;
	return alo >= blo && ahi <= bhi;
}

static bool ports_within(const struct pw_rule *a, const struct pw_rule *b)
{
	if (!b->nports)
		return true;
	if (!a->nports)
		return false;
	for (size_t i = 0; i < a->nports; i++) {
		bool in = false;

		for (size_t j = 0; j < b->nports && !in; j++)
			in = entry_within(&a->ports[i], &b->ports[j]);
		if (!in)
			return false;
	}
	return true;
}

static bool cidr_overlap(const struct pw_cidr *a, const struct pw_cidr *b)
{
	return pw_cidr_within(a, b) || pw_cidr_within(b, a);
}

/* The addresses of block a lie within those of block b. */
static bool block_within(const struct pw_ipblock *a, const struct pw_ipblock *b)
{
	if (!a->cidr_ok || !b->cidr_ok || !pw_cidr_within(&a->cidr, &b->cidr))
		return false;
	for (size_t i = 0; i < b->nexcept; i++) {
		const struct pw_cidr *ex = &b->except[i].cidr;
		bool cut = false;

		if (!cidr_overlap(ex, &a->cidr))
			continue;
		/* b leaves out part of a: a must leave it out too */
		for (size_t j = 0; j < a->nexcept && !cut; j++)
			cut = pw_cidr_within(ex, &a->except[j].cidr);
		if (!cut)
			return false;
	}
	return true;
}

static bool bits_within(const uint64_t *a, const uint64_t *b, size_t words)
{
	for (size_t w = 0; w < words; w++)
		if (a[w] & ~b[w])
			return false;
	return true;
}

/* Selector peer set sa within the union of rule eb's peers, per view. */
static bool set_within(struct red_ctx *rc, const struct pw_peerset *sa,
		       size_t eb)
{
	const struct pw_engine *e = rc->e;
	size_t nb = e->rules[eb].r->npeers;

	for (size_t j = 0; j < nb; j++)
		if (lint_peer_set(e, eb, j) == sa)
			return true;
	for (int v = 0; v < PW_VIEW_NR; v++) {
		memset(rc->scratch, 0, e->words * sizeof(uint64_t));
		for (size_t j = 0; j < nb; j++)
			pw_bits_or(rc->scratch,
				   lint_peer_set(e, eb, j)->bits[v], e->words);
		if (!bits_within(sa->bits[v], rc->scratch, e->words))
			return false;
	}
	return true;
}

static bool peer_within(struct red_ctx *rc, size_t ea, size_t j, size_t eb)
{
	const struct pw_peer *pa = &rc->e->rules[ea].r->peers[j];
	const struct pw_rule *b = rc->e->rules[eb].r;

	if (!pa->has_ipblock)
		return set_within(rc, lint_peer_set(rc->e, ea, j), eb);
	for (size_t i = 0; i < b->npeers; i++)
		if (b->peers[i].has_ipblock &&
		    block_within(&pa->ipblock, &b->peers[i].ipblock))
			return true;
	return false;
}

/* Everything engine rule ea allows, rule eb allows too. */
static bool rule_within(struct red_ctx *rc, size_t ea, size_t eb)
{
	const struct pw_rule *a = rc->e->rules[ea].r, *b = rc->e->rules[eb].r;

	if (!ports_within(a, b))
		return false;
	if (!b->npeers)
		return true;
	if (!a->npeers)
		return false;
	for (size_t j = 0; j < a->npeers; j++)
		if (!peer_within(rc, ea, j, eb))
			return false;
	return true;
}

/* ---- coverage on one pod ------------------------------------------------ */

static const uint32_t *sel_of(const struct pw_engine *e, size_t k, int d)
{
	return e->sel + e->pods[k].sel_off[d];
}

/* A rule still there, of a policy other than `skip` selecting pod y for
 * d, that contains rule ea. */
static bool covered_at(struct red_ctx *rc, size_t ea, size_t y, int d,
		       long skip, struct cover *by)
{
	const struct pw_engine *e = rc->e;
	const uint32_t *pols = sel_of(e, y, d);

	for (size_t i = 0; i < e->pods[y].nsel[d]; i++) {
		size_t q = pols[i], base = e->rule_base[q][d];

		if ((long)q == skip || rc->gone_pol[q])
			continue;
		for (size_t k = 0; k < e->c->pols[q].nrules[d]; k++) {
			if (base + k == ea || rc->gone_rule[base + k] ||
			    !rule_within(rc, ea, base + k))
				continue;
			*by = (struct cover){ (long)q, (long)k, (long)y };
			return true;
		}
	}
	return false;
}

/* A policy other than pa, still there, that isolates pod y for d; -1
 * when there is none. */
static long isolated_by_other(const struct red_ctx *rc, size_t y, int d,
			      size_t pa)
{
	const uint32_t *pols = sel_of(rc->e, y, d);

	for (size_t i = 0; i < rc->e->pods[y].nsel[d]; i++)
		if (pols[i] != pa && !rc->gone_pol[pols[i]])
			return pols[i];
	return -1;
}

/*
 * Calls the test on one pod of each selection class policy pa selects
 * for d (pods of a class see the same rules). true when it held on all
 * of them and there was at least one; *first gets the first cover.
 */
static bool on_all_pods(struct red_ctx *rc, size_t pa, int d,
			bool (*test)(struct red_ctx *rc, size_t pa, int d,
				     size_t y, const void *arg,
				     struct cover *by),
			const void *arg, struct cover *first)
{
	const struct pw_engine *e = rc->e;
	const struct pw_policy *p = &e->c->pols[pa];
	struct cover by = { -1, -1, -1 };
	bool any = false;
	size_t lo, hi;

	if (!lint_ns_pods(e, p->ns, &lo, &hi))
		return false;
	rc->gen++;
	for (size_t y = lo; y < hi; y++) {
		uint32_t *st = &rc->stamp[d][e->pods[y].set[d]];

		if (*st == rc->gen || !lint_selects(e, p, y))
			continue;
		*st = rc->gen;
		if (!test(rc, pa, d, y, arg, any ? &by : first))
			return false;
		any = true;
	}
	return any;
}

/* ---- rules ------------------------------------------------------------------ */

static bool rule_test(struct red_ctx *rc, size_t pa, int d, size_t y,
		      const void *arg, struct cover *by)
{
	return covered_at(rc, *(const size_t *)arg, y, d, -1, by);
}

static int rule_report(struct red_ctx *rc, size_t pa, int d, size_t k,
		       const struct cover *by)
{
	const struct pw_cluster *c = rc->e->c;
	const struct pw_policy *p = &c->pols[pa];
	struct lint_where at;
	struct pw_path path, other;

	lint_rule_path(&path, d, k, -1, -1);
	lint_rule_path(&other, d, (size_t)by->rule, -1, -1);
	at = lint_at_policy(p, &p->rules[d][k].pos, path.buf);
	return lint_report(rc->x, &at, NULL,
			   "the rule is redundant: on every pod it applies to, "
			   "another rule allows all it allows (e.g. %s of "
			   "policy \"%s\" on %s); removing it changes no "
			   "verdict",
			   other.buf, c->pols[by->pol].name,
			   rc->e->pods[by->pod].name);
}

/* The rules of policy pa in direction d, from the last one backwards. */
static int rules_of(struct red_ctx *rc, size_t pa, int d)
{
	struct cover by;
	int err = 0;

	for (size_t k = rc->e->c->pols[pa].nrules[d]; !err && k-- > 0;) {
		size_t ea = lint_erule(rc->e, pa, d, k);

		if (!on_all_pods(rc, pa, d, rule_test, &ea, &by))
			continue;
		rc->gone_rule[ea] = true;
		err = rule_report(rc, pa, d, k, &by);
	}
	return err;
}

static int rules_pass(struct red_ctx *rc)
{
	const struct pw_cluster *c = rc->e->c;
	int err = 0;

	for (size_t pa = c->npols; !err && pa-- > 0;) {
		if (rc->gone_pol[pa])
			continue;
		for (int d = 0; !err && d < PW_DIR_NR; d++)
			if (c->pols[pa].affects[d])
				err = rules_of(rc, pa, d);
	}
	return err;
}

/* ---- policies --------------------------------------------------------------- */

static bool policy_test(struct red_ctx *rc, size_t pa, int d, size_t y,
			const void *arg, struct cover *by)
{
	const struct pw_policy *p = &rc->e->c->pols[pa];

	*by = (struct cover){ isolated_by_other(rc, y, d, pa), -1, (long)y };
	if (by->pol < 0)
		return false;
	for (size_t k = 0; k < p->nrules[d]; k++)
		if (!covered_at(rc, lint_erule(rc->e, pa, d, k), y, d, (long)pa,
				by))
			return false;
	return true;
}

/* A default deny: every pod of the namespace, no rule. It is there for
 * the pods to come, which the proof (about today's pods) cannot see. */
static bool default_deny(const struct pw_policy *p)
{
	return pw_selector_is_empty(&p->pod_sel) &&
	       !p->nrules[PW_DIR_INGRESS] && !p->nrules[PW_DIR_EGRESS];
}

static bool policy_redundant(struct red_ctx *rc, size_t pa, struct cover *by)
{
	const struct pw_policy *p = &rc->e->c->pols[pa];
	struct cover d0;
	bool any = false;

	if (default_deny(p))
		return false;
	for (int d = 0; d < PW_DIR_NR; d++) {
		if (!p->affects[d])
			continue;
		if (!on_all_pods(rc, pa, d, policy_test, NULL, any ? &d0 : by))
			return false;
		any = true;
	}
	return any;
}

static int policy_report(struct red_ctx *rc, size_t pa, const struct cover *by)
{
	const struct pw_cluster *c = rc->e->c;
	const struct pw_policy *p = &c->pols[pa];
	struct lint_where at = lint_at_policy(p, &p->name_pos, NULL);

	return lint_report(
		rc->x, &at, NULL,
		"policy \"%s\" is redundant: every pod it selects is "
		"isolated by other policies that allow all it "
		"allows (e.g. policy \"%s\" on %s); removing it "
		"changes no verdict",
		p->name, c->pols[by->pol].name, rc->e->pods[by->pod].name);
}

static int policies_pass(struct red_ctx *rc)
{
	const struct pw_cluster *c = rc->e->c;
	struct cover by;
	int err = 0;

	for (size_t pa = c->npols; !err && pa-- > 0;) {
		if (!policy_redundant(rc, pa, &by))
			continue;
		rc->gone_pol[pa] = true;
		err = policy_report(rc, pa, &by);
	}
	return err;
}

int lint_redundant(struct lint_ctx *x)
{
	const struct pw_engine *e = x->e;
	struct red_ctx rc = { .x = x, .e = e };
	int err = -ENOMEM;

	rc.gone_rule = calloc(e->nrules + 1, sizeof(bool));
	rc.gone_pol = calloc(e->c->npols + 1, sizeof(bool));
	rc.scratch = calloc(e->words + 1, sizeof(uint64_t));
	for (int d = 0; d < PW_DIR_NR; d++)
		rc.stamp[d] = calloc(e->nset_ids[d] + 1, sizeof(uint32_t));
	if (rc.gone_rule && rc.gone_pol && rc.scratch && rc.stamp[0] &&
	    rc.stamp[1]) {
		err = policies_pass(&rc);
		if (!err)
			err = rules_pass(&rc);
	}
	for (int d = 0; d < PW_DIR_NR; d++)
		free(rc.stamp[d]);
	free(rc.scratch);
	free(rc.gone_pol);
	free(rc.gone_rule);
	return err;
}
