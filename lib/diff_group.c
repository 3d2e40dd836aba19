// SPDX-License-Identifier: Apache-2.0
/*
 * The third step of the diff (lib/diff.h): entries are merged (every
 * workload of a namespace that changed alike towards one end becomes the
 * namespace, then adjacent address classes with the same change become
 * one range) and become groups, whose port classes are sorted, merged
 * port ranges and whose ends are named.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "bitset.h"
#include "util.h"
#include "diff.h"

/* ---- merging entries ------------------------------------------------ */

static int end_cmp(struct end a, struct end b)
{
	if (a.kind != b.kind)
		return a.kind < b.kind ? -1 : 1;
	if (a.id != b.id)
		return a.id < b.id ? -1 : 1;
	return (a.last > b.last) - (a.last < b.last);
}

/* Orders entries by change, the end that stays, the port classes and the
 * end being merged, so that candidates for one merge are adjacent. */
static int merge_cmp(const void *pa, const void *pb, void *arg)
{
	const struct ctx *x = arg;
	const struct entry *a = &x->ents[*(const uint32_t *)pa];
	const struct entry *b = &x->ents[*(const uint32_t *)pb];
	bool on_to = x->on_to;
	int c;

	if (a->change != b->change)
		return a->change < b->change ? -1 : 1;
	c = on_to ? end_cmp(a->from, b->from) : end_cmp(a->to, b->to);
	if (c)
		return c;
	c = memcmp(x->pool + a->bits, x->pool + b->bits,
		   x->cw * sizeof(*x->pool));
	if (c)
		return c;
	return on_to ? end_cmp(a->to, b->to) : end_cmp(a->from, b->from);
}

/* The live entries, sorted for merging the `to` side (or the `from`). */
static uint32_t *sorted_entries(struct ctx *x, bool on_to, size_t *n)
{
	uint32_t *idx = malloc((x->nents + 1) * sizeof(*idx));

	*n = 0;
	if (!idx)
		return NULL;
	for (size_t i = 0; i < x->nents; i++)
		if (!x->ents[i].dead)
			idx[(*n)++] = (uint32_t)i;
	x->on_to = on_to;
	qsort_r(idx, *n, sizeof(*idx), merge_cmp, x);
	return idx;
}

static bool same_but_side(const struct ctx *x, const struct entry *a,
			  const struct entry *b, bool on_to)
{
	return a->change == b->change &&
	       end_eq(on_to ? a->from : a->to, on_to ? b->from : b->to) &&
	       !memcmp(x->pool + a->bits, x->pool + b->bits,
		       x->cw * sizeof(*x->pool));
}

static struct end *side(struct entry *en, bool on_to)
{
	return on_to ? &en->to : &en->from;
}

/* Entries run[0..n) differ only in their workload on one side, all of one
 * namespace: when they are every workload of it, they become one entry
 * naming the namespace. */
static void merge_ns_run(struct ctx *x, const uint32_t *run, size_t n,
			 bool on_to)
{
	struct entry *first = &x->ents[run[0]];
	uint32_t ns = x->wls[side(first, on_to)->id].ns;

	if (n < 2 || n != x->nss[ns].count[first->change])
		return;
	*side(first, on_to) = end_of(END_NS, ns);
	for (size_t i = 1; i < n; i++)
		x->ents[run[i]].dead = true;
}

/* Whether b extends the run of a: the same change, other end and ports,
 * and a workload of the same namespace on the merged side. */
static bool same_ns_run(struct ctx *x, struct entry *a, struct entry *b,
			bool on_to)
{
	struct end *ea = side(a, on_to), *eb = side(b, on_to);

	return ea->kind == END_WL && eb->kind == END_WL &&
	       same_but_side(x, a, b, on_to) &&
	       x->wls[ea->id].ns == x->wls[eb->id].ns;
}

int diff_merge_namespaces(struct ctx *x, bool on_to)
{
	size_t n, start = 0;
	uint32_t *idx = sorted_entries(x, on_to, &n);

	if (!idx)
		return -ENOMEM;
	for (size_t i = 1; i <= n; i++) {
		struct entry *a = &x->ents[idx[start]];

		if (i < n && same_ns_run(x, a, &x->ents[idx[i]], on_to))
			continue;
		if (side(a, on_to)->kind == END_WL)
			merge_ns_run(x, idx + start, i - start, on_to);
		start = i;
	}
	free(idx);
	return 0;
}

/* Whether address b comes right after address a. */
static bool addr_next(const struct pw_addr *a, const struct pw_addr *b)
{
	struct pw_addr n = *a;
	int len = a->family == 4 ? 4 : 16;

	if (a->family != b->family)
		return false;
	for (int i = len - 1; i >= 0; i--)
		if (++n.b[i])
			break;
	return !memcmp(n.b, b->b, sizeof(n.b)) &&
	       memcmp(a->b, n.b, sizeof(n.b)) < 0;
}

/* Adjacent address classes that changed alike become one range. */
int diff_merge_addrs(struct ctx *x, bool on_to)
{
	size_t n;
	uint32_t *idx = sorted_entries(x, on_to, &n);
	struct entry *prev = NULL;

	if (!idx)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct entry *en = &x->ents[idx[i]];
		struct end *s = side(en, on_to);

		if (prev && s->kind == END_ADDR &&
		    same_but_side(x, prev, en, on_to) &&
		    side(prev, on_to)->last + 1 == s->id &&
		    addr_next(&pw_addrclass_get(x->ac, s->id - 1)->last,
			      &pw_addrclass_get(x->ac, s->id)->first)) {
			side(prev, on_to)->last = s->last;
			en->dead = true;
			continue;
		}
		prev = s->kind == END_ADDR ? en : NULL;
	}
	free(idx);
	return 0;
}

/* ---- groups --------------------------------------------------------- */

static char *addr_text(const struct ctx *x, struct end e)
{
	struct pw_addrclass span = *pw_addrclass_get(x->ac, e.id);
	char buf[PW_ADDRCLASS_STRLEN];

	span.last = pw_addrclass_get(x->ac, e.last)->last;
	pw_addrclass_format(&span, buf, sizeof(buf));
	return strdup(buf);
}

static char *end_text(const struct ctx *x, struct end e, enum pw_diff_end *kind)
{
	switch (e.kind) {
	case END_WL:
		*kind = x->wls[e.id].kind;
		return strdup(x->wls[e.id].name);
	case END_NS:
		*kind = PW_DIFF_NAMESPACE;
		return strdup(x->nss[e.id].name);
	case END_POD:
		*kind = PW_DIFF_POD;
		return strdup(x->up[e.id].name);
	}
	*kind = PW_DIFF_CIDR;
	return addr_text(x, e);
}

/* A witness end that is an address: the representative of its class. */
static char *witness_text(const struct ctx *x, struct end e)
{
	enum pw_diff_end kind;
	char buf[PW_ADDR_STRLEN];

	if (e.kind != END_ADDR)
		return end_text(x, e, &kind);
	pw_addr_format(&pw_addrclass_get(x->ac, e.id)->rep, buf, sizeof(buf));
	return strdup(buf);
}

/* The ports of the classes in bits, as sorted ranges, adjacent merged. */
static int group_ranges(const struct ctx *x, const uint64_t *bits,
			struct group *g)
{
	size_t cap = 0;

	for (size_t i = 0; i < x->ps.nivs; i++) {
		const struct piv *iv = &x->ps.ivs[i];
		struct range *r = g->nr ? &g->r[g->nr - 1] : NULL;

		if (!pw_bits_test(bits, iv->cls))
			continue;
		if (r && r->first.proto == iv->proto &&
		    (uint32_t)r->last + 1 == iv->lo) {
			r->last = iv->hi;
			continue;
		}
		r = PW_PUSH(g->r, g->nr, cap);
		if (!r)
			return -ENOMEM;
		r->first.proto = iv->proto;
		r->first.num = iv->lo;
		r->last = iv->hi;
	}
	return 0;
}

void diff_group_clear(struct group *g)
{
	free(g->from);
	free(g->to);
	free(g->r);
	free(g->wfrom);
	free(g->wto);
}

static int add_group(struct ctx *x, const struct entry *en)
{
	struct pw_diff *d = x->d;
	int c = en->change;
	struct group *g = PW_PUSH(d->g[c], d->n[c], d->cap[c]);

	if (!g)
		return -ENOMEM;
	g->from = end_text(x, en->from, &g->fk);
	g->to = end_text(x, en->to, &g->tk);
	g->wfrom = witness_text(x, en->wfrom);
	g->wto = witness_text(x, en->wto);
	g->wport = x->ps.reps[en->wcls];
	if (!g->from || !g->to || !g->wfrom || !g->wto)
		return -ENOMEM;
	return group_ranges(x, x->pool + en->bits, g);
}

static int group_cmp(const void *pa, const void *pb)
{
	const struct group *a = pa, *b = pb;
	int c = strcmp(a->from, b->from);

	if (!c)
		c = strcmp(a->to, b->to);
	if (!c && a->nr && b->nr)
		c = pw_port_cmp(&a->r[0].first, &b->r[0].first);
	return c;
}

int diff_build_groups(struct ctx *x)
{
	for (size_t i = 0; i < x->nents; i++)
		if (!x->ents[i].dead && add_group(x, &x->ents[i]))
			return -ENOMEM;
	for (int c = 0; c < PW_CHANGE_NR; c++)
		if (x->d->n[c])
			qsort(x->d->g[c], x->d->n[c], sizeof(*x->d->g[c]),
			      group_cmp);
	return 0;
}
