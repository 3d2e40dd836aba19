// SPDX-License-Identifier: Apache-2.0
/*
 * The second step of the diff (lib/diff.h): per port class, the engine's
 * matrix of each version compared pair by pair over the union of both
 * versions' pods, and the verdicts towards and from address classes
 * computed per class of policy selection, since an outside address is
 * only ever matched by ipBlocks. Only the rows and columns of pods whose
 * sides may have changed are compared (diff_sides.c). Each change is
 * folded at once into its (workload, workload) entry: a bitset of the
 * port classes that changed and the first concrete connection seen, the
 * witness.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "bitset.h"
#include "util.h"
#include "diff.h"

/* ---- recording changes ---------------------------------------------- */

static uint64_t entry_key(int change, struct end from, struct end to)
{
	return (uint64_t)change << 60 | (uint64_t)from.kind << 58 |
	       (uint64_t)from.id << 30 | (uint64_t)to.kind << 28 | to.id;
}

static long entry_new(struct ctx *x, int change, struct end from, struct end to,
		      struct end wf, struct end wt, uint32_t k)
{
	struct entry *en;

	if (pw_grow((void **)&x->pool, &x->cap_pool, x->npool + x->cw,
		    sizeof(*x->pool)))
		return -ENOMEM;
	en = PW_PUSH(x->ents, x->nents, x->cap_ents);
	if (!en)
		return -ENOMEM;
	en->change = (uint8_t)change;
	en->from = from;
	en->to = to;
	en->wfrom = wf;
	en->wto = wt;
	en->wcls = k;
	en->bits = x->npool;
	memset(x->pool + x->npool, 0, x->cw * sizeof(*x->pool));
	x->npool += x->cw;
	if (u64map_put(&x->ent_by_key, entry_key(change, from, to),
		       (uint32_t)(x->nents - 1)))
		return -ENOMEM;
	return (long)(x->nents - 1);
}

/* Folds one changed connection wf -> wt on port class k into the entry of
 * its ends (changes come in runs of one pair of ends: checked first). */
static int record(struct ctx *x, int change, struct end from, struct end to,
		  struct end wf, struct end wt, uint32_t k)
{
	const struct entry *last = x->last_ent ? &x->ents[x->last_ent - 1] :
						 NULL;
	long i;

	if (last && last->change == change && end_eq(last->from, from) &&
	    end_eq(last->to, to)) {
		i = (long)x->last_ent - 1;
	} else {
		i = u64map_get(&x->ent_by_key, entry_key(change, from, to));
		if (i < 0)
			i = entry_new(x, change, from, to, wf, wt, k);
		if (i < 0)
			return (int)i;
	}
	x->last_ent = (size_t)i + 1;
	pw_bits_set(x->pool + x->ents[i].bits, k);
	return 0;
}

/* Counts a pair once, whatever the number of its ports that changed. */
static void count_pair(struct ctx *x, uint64_t *seen, int change, size_t bit)
{
	if (pw_bits_test(seen, bit))
		return;
	pw_bits_set(seen, bit);
	x->d->pairs[change]++;
}
/* ---- comparing pods ------------------------------------------------- */

/* Whether the version's matrix allows pods f -> t (union indexes). */
static bool pair_allowed(const struct pw_matrix *m, const int32_t *ix,
			 int32_t f, size_t t)
{
	return f >= 0 && ix[t] >= 0 &&
	       pw_matrix_allowed(m, 0, (size_t)f, (size_t)ix[t]);
}

/* Records the change of f -> t on class k, if any. */
static int compare_pair(struct ctx *x, uint32_t k,
			struct pw_matrix *const m[V_NR], size_t f, size_t t)
{
	const int32_t *io = x->ix[V_OLD], *in = x->ix[V_NEW];
	bool was = pair_allowed(m[V_OLD], io, io[f], t);
	bool is = pair_allowed(m[V_NEW], in, in[f], t);
	int c = is ? PW_CHANGE_ADDED : PW_CHANGE_REMOVED;
	int err;

	if (was == is || f == t)
		return 0;
	err = record(x, c, end_of(END_WL, x->up[f].wl),
		     end_of(END_WL, x->up[t].wl), end_of(END_POD, f),
		     end_of(END_POD, t), k);
	if (!err)
		count_pair(x, x->seen[c], c, f * x->nup + t);
	return err;
}

/* Row f: every destination when f's egress may have changed, else only
 * the destinations whose ingress may have, in the same order. */
static int compare_row(struct ctx *x, uint32_t k,
		       struct pw_matrix *const m[V_NR], size_t f)
{
	int err = 0;

	if (side_changed(x, PW_DIR_EGRESS, f)) {
		for (size_t t = 0; t < x->nup && !err; t++)
			err = compare_pair(x, k, m, f, t);
		return err;
	}
	for (size_t i = 0; i < x->nin_changed && !err; i++)
		err = compare_pair(x, k, m, f, x->in_changed[i]);
	return err;
}

static int compare_pods(struct ctx *x, uint32_t k,
			struct pw_matrix *const m[V_NR])
{
	int err = 0;

	for (size_t f = 0; f < x->nup && !err; f++)
		err = compare_row(x, k, m, f);
	return err;
}

/* ---- comparing address classes ------------------------------------ */

static bool rule_admits(const struct pw_rule *r, const struct pw_port *port,
			const struct pw_pod *dst, const struct pw_addr *a)
{
	bool port_ok = !r->nports;

	for (size_t j = 0; j < r->nports && !port_ok; j++)
		port_ok = pw_np_port_matches(&r->ports[j], port, dst);
	if (!port_ok)
		return false;
	if (!r->npeers)
		return true;
	for (size_t j = 0; j < r->npeers; j++)
		if (r->peers[j].has_ipblock &&
		    pw_ipblock_matches(&r->peers[j].ipblock, a))
			return true;
	return false;
}

/* Whether pod i's side d admits outside address a on port: only ipBlocks
 * and rules without peers can. */
static bool side_admits(const struct pw_engine *e, size_t i, enum pw_dir d,
			const struct pw_port *port, const struct pw_addr *a)
{
	const struct pw_eng_pod *ep = &e->pods[i];
	const uint32_t *pols = e->sel + ep->sel_off[d];
	const struct pw_pod *dst = d == PW_DIR_INGRESS ? ep->pod : NULL;

	if (!ep->nsel[d])
		return true;
	for (size_t k = 0; k < ep->nsel[d]; k++) {
		const struct pw_policy *p = &e->c->pols[pols[k]];

		for (size_t r = 0; r < p->nrules[d]; r++)
			if (rule_admits(&p->rules[d][r], port, dst, a))
				return true;
	}
	return false;
}

/* Per version and direction, the address classes each pod's side admits,
 * shared by pods alike: the same selection list (and, for ingress, the
 * same container ports, which named ports look at). */
struct addr_rows {
	struct u64map by_key;
	uint64_t *bits;
	size_t n, cap, words;
	uint32_t *row; /* per engine pod */
};

static void addr_rows_free(struct addr_rows *ar)
{
	u64map_free(&ar->by_key);
	free(ar->bits);
	free(ar->row);
	memset(ar, 0, sizeof(*ar));
}

static uint64_t side_key(const struct pw_eng_pod *ep, enum pw_dir d)
{
	if (d == PW_DIR_EGRESS)
		return ep->set[d];
	return (uint64_t)ep->set[d] << 32 | ep->pclass;
}

static int addr_row_fill(const struct ctx *x, struct addr_rows *ar,
			 const struct pw_engine *e, size_t i, enum pw_dir d,
			 const struct pw_port *port)
{
	uint64_t *row;

	if (pw_grow((void **)&ar->bits, &ar->cap, (ar->n + 1) * ar->words,
		    sizeof(*ar->bits)))
		return -ENOMEM;
	row = ar->bits + ar->n * ar->words;
	memset(row, 0, ar->words * sizeof(*row));
	for (size_t a = 0; a < x->nac; a++)
		if (side_admits(e, i, d, port,
				&pw_addrclass_get(x->ac, a)->rep))
			pw_bits_set(row, a);
	return u64map_put(&ar->by_key, side_key(&e->pods[i], d),
			  (uint32_t)ar->n++);
}

static int addr_rows_build(const struct ctx *x, struct addr_rows *ar,
			   const struct pw_engine *e, enum pw_dir d,
			   const struct pw_port *port)
{
	memset(ar, 0, sizeof(*ar));
	ar->words = pw_bits_words(x->nac) + 1;
	ar->row = calloc(e->npods + 1, sizeof(*ar->row));
	if (!ar->row)
		return -ENOMEM;
	for (size_t i = 0; i < e->npods; i++) {
		long r = u64map_get(&ar->by_key, side_key(&e->pods[i], d));

		if (r < 0) {
			if (addr_row_fill(x, ar, e, i, d, port))
				return -ENOMEM;
			r = (long)ar->n - 1;
		}
		ar->row[i] = (uint32_t)r;
	}
	return 0;
}

static bool addr_allowed(const struct ctx *x, const struct addr_rows *ar, int v,
			 size_t f, size_t a)
{
	long i = x->up[f].idx[v];

	return i >= 0 && pw_bits_test(ar->bits + ar->row[i] * ar->words, a);
}

/* Whether a pod can hold a connection with an address of family fam. */
static bool has_family(const struct pw_pod *p, int fam)
{
	if (!p->nips)
		return true;
	for (size_t i = 0; i < p->nips; i++)
		if (p->ips[i].family == fam)
			return true;
	return false;
}

static int record_addr(struct ctx *x, enum pw_dir d, int c, size_t f, size_t a,
		       uint32_t k)
{
	struct end pod = end_of(END_WL, x->up[f].wl);
	struct end addr = end_of(END_ADDR, a);
	struct end wp = end_of(END_POD, f);
	int err;

	if (d == PW_DIR_EGRESS)
		err = record(x, c, pod, addr, wp, addr, k);
	else
		err = record(x, c, addr, pod, addr, wp, k);
	if (!err)
		count_pair(x, x->seen_addr[c][d], c, f * x->nac + a);
	return err;
}

static int compare_side(struct ctx *x, uint32_t k, enum pw_dir d,
			struct addr_rows *const ar[V_NR])
{
	for (size_t f = 0; f < x->nup; f++) {
		if (!side_changed(x, d, f))
			continue;
		for (size_t a = 0; a < x->nac; a++) {
			const struct pw_addrclass *ac =
				pw_addrclass_get(x->ac, a);
			bool was = addr_allowed(x, ar[V_OLD], V_OLD, f, a);
			bool is = addr_allowed(x, ar[V_NEW], V_NEW, f, a);
			int err;

			if (was == is ||
			    !has_family(x->up[f].pod, ac->first.family))
				continue;
			err = record_addr(
				x, d, is ? PW_CHANGE_ADDED : PW_CHANGE_REMOVED,
				f, a, k);
			if (err)
				return err;
		}
	}
	return 0;
}

static int compare_addrs(struct ctx *x, uint32_t k)
{
	const struct pw_port *port = &x->ps.reps[k];
	struct addr_rows rows[V_NR][PW_DIR_NR] = { 0 };
	int err = 0;

	for (int v = 0; v < V_NR && !err; v++)
		for (int d = 0; d < PW_DIR_NR && !err; d++)
			err = addr_rows_build(x, &rows[v][d], x->e[v], d, port);
	for (int d = 0; d < PW_DIR_NR && !err; d++) {
		struct addr_rows *const ar[V_NR] = { &rows[V_OLD][d],
						     &rows[V_NEW][d] };

		err = compare_side(x, k, d, ar);
	}
	for (int v = 0; v < V_NR; v++)
		for (int d = 0; d < PW_DIR_NR; d++)
			addr_rows_free(&rows[v][d]);
	return err;
}

int diff_compare_class(struct ctx *x, uint32_t k)
{
	struct pw_matrix *m[V_NR] = { NULL, NULL };
	int err = -ENOMEM;

	for (int v = 0; v < V_NR; v++) {
		m[v] = pw_engine_matrix(x->e[v], &x->ps.reps[k], 1);
		if (!m[v]) {
			err = -errno;
			goto out_free_matrices;
		}
	}
	err = compare_pods(x, k, m);
	if (!err)
		err = compare_addrs(x, k);
out_free_matrices:
	for (int v = 0; v < V_NR; v++)
		pw_matrix_free(m[v]);
	return err;
}
