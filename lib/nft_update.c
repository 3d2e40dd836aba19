// SPDX-License-Identifier: Apache-2.0
/*
 * Full loads and incremental updates through netlink.
 *
 * A full load is "create the table if missing, delete it, build it
 * again" in one batch, like the text path. An update compares the image
 * of what the kernel holds with the image of the new ruleset and sends
 * only the difference, in one batch:
 *
 *   1. elements that went away (and vmap entries that jump to a chain
 *      about to be recreated),
 *   2. chains that went away or are recreated, rules of chains whose
 *      recipe changed or that use a set about to be recreated,
 *   3. sets that went away or are recreated,
 *   4. new and recreated chains, new and recreated sets with their
 *      elements, new elements of kept sets,
 *   5. rules of new, recreated and replaced chains.
 *
 * Every set and chain the old image holds with the same name and kind
 * (and, for chains, comment) is kept where it is. The kernel lists sets
 * and chains in creation order, so a class added by an update lists after
 * the classes that were there, while a fresh load lists classes by id
 * (nft_render.c), and a concatenated interval set lists the elements an
 * update added after the ones it kept: the two tables hold the same
 * objects with the same contents and rules, and differ only in orders of
 * creation, which no packet sees. Class ids do not depend on which
 * other classes exist (datapath.h), so a pod added or removed changes only
 * its vmap elements, the peer elements holding its addresses and at most
 * the class it creates or empties, never the names of the others.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conntrack.h"
#include "nft_image.h"
#include "nft_netlink.h"
#include "util.h"

static unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ull +
	       (unsigned long long)ts.tv_nsec;
}

/* Sends bt, timing the kernel's part into st. */
static int send_timed(struct pw_nl_batch *bt, struct pw_apply_stats *st)
{
	unsigned long long t0 = now_ns();
	int ret = pw_nl_batch_send(bt);

	st->kernel_ns = now_ns() - t0;
	return ret;
}

/* ---- full load ------------------------------------------------------ */

/* Element lists to send, as pointers into the images. */
struct elist {
	const struct pw_nft_elem **v;
	size_t n, cap;
};

static int elist_push(struct elist *l, const struct pw_nft_elem *e)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		const struct pw_nft_elem **v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = e;
	return 0;
}

static void all_elems(struct pw_nl_batch *bt, const struct pw_nft_set *s,
		      struct elist *l)
{
	l->n = 0;
	for (size_t i = 0; i < s->n; i++)
		if (elist_push(l, &s->v[i])) {
			pw_nl_batch_fail(bt, -ENOMEM);
			return;
		}
	pw_nl_elems(bt, true, s->name, l->v, l->n);
}

static void build_full(struct pw_nl_batch *bt, const struct pw_nft_image *img,
		       struct pw_apply_stats *st)
{
	struct elist tmp = { 0 };

	pw_nl_table_new(bt);
	pw_nl_table_del(bt);
	pw_nl_table_new(bt);
	for (size_t i = 0; i < img->nchains; i++)
		pw_nl_chain_add(bt, &img->chains[i]);
	for (int c = 0; c < PW_CNT_NR; c++)
		if (img->counters & (1u << c))
			pw_nl_counter_add(bt, pw_nft_counter_names[c]);
	for (size_t i = 0; i < img->nsets; i++) {
		pw_nl_set_add(bt, &img->sets[i]);
		all_elems(bt, &img->sets[i], &tmp);
		st->elems_added += img->sets[i].n;
	}
	for (size_t i = 0; i < img->nchains; i++)
		pw_nl_chain_rules(bt, img, &img->chains[i]);
	free(tmp.v);
	st->full = 1;
	st->sets_added = img->nsets;
	st->chains_added = img->nchains;
}

/*
 * The verdict cache (docs/DATAPATH.md). Every transaction that changes
 * the table moves the generation on, and the base chains' cache rules
 * carry it, so a connection admitted under other rules is judged again.
 * A generation comes back only after the counter wraps, which begins a
 * new cycle, as does a full load (the kernel's generation is not
 * trusted then): before the transaction that puts the first generation
 * in force, every unanswered connection stamped by an earlier cycle is
 * deleted, and after it, those the rules stamped meanwhile (with the
 * last generation of the old cycle). So no stamp that was written under
 * other rules ever matches.
 */
static int cycle_before(const struct pw_nft_image *img,
			struct pw_apply_stats *st)
{
	if (!img->ct_mask)
		return 0;
	return pw_ct_purge_stamped(img->ct_mask, 0, &st->ct_purged);
}

/* After the transaction: failing here leaves stamps of the old cycle's
 * last generation made in the moment before it, which match only when
 * this cycle reaches that generation; counted, not fatal (the table is
 * in force). */
static void cycle_after(const struct pw_nft_image *img,
			struct pw_apply_stats *st)
{
	if (img->ct_mask &&
	    pw_ct_purge_stamped(img->ct_mask, img->ct_gen, &st->ct_purged))
		st->ct_purge_failed = 1;
}

/* The image's generation is the one thing an apply writes into it: the
 * image is the ruleset's cache (datapath.h), and its generation is what
 * the kernel holds once the transaction succeeds. */
static void set_gen(const struct pw_nft_image *img, uint32_t gen)
{
	((struct pw_nft_image *)img)->ct_gen = gen;
}

static int send_full(const struct pw_nft_image *img, struct pw_apply_stats *st)
{
	unsigned long long t0 = now_ns();
	struct pw_nl_batch *bt;
	bool cycle;
	int ret = pw_nl_batch_init(&bt);

	if (ret)
		return ret;
	memset(st, 0, sizeof(*st));
	set_gen(img, pw_nft_gen_next(img->ct_mask, 0, &cycle));
	build_full(bt, img, st);
	st->diff_ns = now_ns() - t0;
	ret = cycle_before(img, st);
	if (!ret)
		ret = send_timed(bt, st);
	if (!ret)
		cycle_after(img, st);
	st->generation = img->ct_gen;
	pw_nl_batch_free(bt);
	return ret;
}

/* ---- the difference ------------------------------------------------- */

/* What happens to each object of the new image and of the old one. */
enum fate {
	KEEP, /* in both, same place: elements or rules change in place */
	ADD, /* new, or recreated (then also in the old image as DROP) */
	DROP, /* deleted */
};

/* Names of the old image's objects, sorted, for lookups by name. */
struct name_ix {
	const char *name;
	size_t i;
};

static int name_ix_cmp(const void *a, const void *b)
{
	return strcmp(((const struct name_ix *)a)->name,
		      ((const struct name_ix *)b)->name);
}

static size_t ix_find(const struct name_ix *ix, size_t n, const char *name)
{
	struct name_ix key = { name, 0 };
	const struct name_ix *hit =
		n ? bsearch(&key, ix, n, sizeof(*ix), name_ix_cmp) : NULL;

	return hit ? hit->i : SIZE_MAX;
}

/*
 * Finds the old image's objects by name. Both images list their objects
 * in the same order (the order nft creates them in), so the object after
 * the last one found is tried first: an update that adds or removes a
 * few objects finds all the others with one strcmp each. Only a miss
 * sorts the names (once per diff) and searches them; sorting 2237 set
 * and 2230 chain names for every update was most of its cost at 10k
 * pods.
 */
struct finder {
	const char *base; /* object i's name at base + i * stride */
	size_t stride, n;
	size_t next; /* where the next name is looked for first */
	struct name_ix *ix; /* the names sorted, built on the first miss */
};

struct plan {
	const struct pw_nft_image *old, *new;
	enum fate *set_new, *set_old, *ch_new, *ch_old;
	size_t *set_match, *ch_match; /* new index -> old index, or SIZE_MAX */
	struct finder old_sets, old_chains;
	bool *rerule; /* per new chain: delete and write its rules again */
	bool chains_dropped; /* some old chain is deleted or recreated */
};

static const char *finder_name(const struct finder *f, size_t i)
{
	return f->base + i * f->stride;
}

static int finder_sort(struct finder *f)
{
	if (f->ix)
		return 0;
	f->ix = malloc((f->n + 1) * sizeof(*f->ix));
	if (!f->ix)
		return -ENOMEM;
	for (size_t i = 0; i < f->n; i++)
		f->ix[i] = (struct name_ix){ finder_name(f, i), i };
	if (f->n > 1)
		qsort(f->ix, f->n, sizeof(*f->ix), name_ix_cmp);
	return 0;
}

/* The old index of name, or SIZE_MAX: none, or -ENOMEM in *err. */
static size_t finder_find(struct finder *f, const char *name, int *err)
{
	size_t i = f->next;

	if (i >= f->n || strcmp(finder_name(f, i), name)) {
		if (finder_sort(f)) {
			*err = -ENOMEM;
			return SIZE_MAX;
		}
		i = ix_find(f->ix, f->n, name);
	}
	if (i != SIZE_MAX)
		f->next = i + 1;
	return i;
}

/*
 * Keeps every object of the new image that the old one holds (for sets
 * with the same kind; for chains with the same kind and comment, which
 * cannot be changed in place), wherever it stands; the rest is added.
 */
static void plan_order(size_t nnew, size_t nold, const size_t *match,
		       enum fate *fnew, enum fate *fold, const bool *compat)
{
	for (size_t i = 0; i < nold; i++)
		fold[i] = DROP;
	for (size_t i = 0; i < nnew; i++) {
		fnew[i] = compat[i] ? KEEP : ADD;
		if (compat[i])
			fold[match[i]] = KEEP;
	}
}

/* Whether the fixed chains name set `name` (a stale set of another name
 * is deleted without touching any rule). */
static bool fixed_set(const char *name)
{
	static const char *const prefixes[] = {
		"pod_ranges_", "pods_",	  "pod_ifaces",
		"egress_if_",  "egress_", "ingress_",
	};

	for (size_t i = 0; i < PW_ARRAY_SIZE(prefixes); i++)
		if (!strncmp(name, prefixes[i], strlen(prefixes[i])))
			return true;
	return false;
}

static bool fixed_chain(const struct pw_nft_chain *c)
{
	return c->kind != PW_CK_CLASS_IN && c->kind != PW_CK_CLASS_EG;
}

/*
 * Which kept chains must have their rules written again: the recipe
 * changed, a set they use is deleted or recreated, or the flow log
 * (statements in every chain) or the counters changed. A class set
 * belongs to the class chain it is named after, self_v4/v6 are used by
 * every class chain, the other base sets and maps by the fixed chains.
 */
static void plan_rerule(struct plan *p)
{
	const struct pw_nft_image *o = p->old, *n = p->new;
	/* A new verdict cache mask rewrites every chain: the base chains
	 * carry it, and a table of a podwall before the cache has ingress
	 * classes that accept instead of returning to be stamped. */
	bool all = o->flow_log != n->flow_log ||
		   o->flow_group != n->flow_group ||
		   o->counters != n->counters || o->ct_mask != n->ct_mask;
	bool fixed = false, classes = false;
	char cls[PW_NFT_NAME_MAX];

	for (size_t i = 0; i < n->nchains; i++)
		p->rerule[i] = p->ch_new[i] == KEEP &&
			       (all || n->chains[i].mask !=
					       o->chains[p->ch_match[i]].mask);
	for (size_t s = 0; s < o->nsets; s++) {
		const char *name = o->sets[s].name, *cut;

		if (p->set_old[s] != DROP)
			continue;
		if (!strncmp(name, "in_c", 4) || !strncmp(name, "eg_c", 4)) {
			cut = strchr(name + 4, '_');
			if (!cut || (size_t)(cut - name) >= sizeof(cls))
				continue;
			snprintf(cls, sizeof(cls), "%.*s", (int)(cut - name),
				 name);
			for (size_t i = 0; i < n->nchains; i++)
				if (p->ch_new[i] == KEEP &&
				    !strcmp(n->chains[i].name, cls))
					p->rerule[i] = true;
		} else if (!strncmp(name, "self_", 5)) {
			classes = true;
		} else {
			fixed |= fixed_set(name);
		}
	}
	for (size_t i = 0; i < n->nchains; i++)
		if (p->ch_new[i] == KEEP &&
		    (fixed_chain(&n->chains[i]) ? fixed : classes))
			p->rerule[i] = true;
}

static int plan_make(struct plan *p, const struct pw_nft_image *old,
		     const struct pw_nft_image *new)
{
	size_t ns = new->nsets, nc = new->nchains;
	bool *compat;
	int err = 0;

	memset(p, 0, sizeof(*p));
	p->old = old;
	p->new = new;
	p->set_new = calloc(ns + 1, sizeof(enum fate));
	p->set_old = calloc(old->nsets + 1, sizeof(enum fate));
	p->ch_new = calloc(nc + 1, sizeof(enum fate));
	p->ch_old = calloc(old->nchains + 1, sizeof(enum fate));
	p->set_match = calloc(ns + 1, sizeof(size_t));
	p->ch_match = calloc(nc + 1, sizeof(size_t));
	compat = calloc(ns + nc + 1, sizeof(bool));
	p->rerule = calloc(nc + 1, sizeof(bool));
	if (!p->set_new || !p->set_old || !p->ch_new || !p->ch_old ||
	    !p->set_match || !p->ch_match || !compat || !p->rerule) {
		free(compat);
		return -ENOMEM;
	}
	p->old_sets = (struct finder){ old->nsets ? old->sets[0].name : NULL,
				       sizeof(*old->sets), old->nsets, 0,
				       NULL };
	p->old_chains =
		(struct finder){ old->nchains ? old->chains[0].name : NULL,
				 sizeof(*old->chains), old->nchains, 0, NULL };
	for (size_t i = 0; i < ns; i++) {
		p->set_match[i] =
			finder_find(&p->old_sets, new->sets[i].name, &err);
		compat[i] = p->set_match[i] != SIZE_MAX &&
			    old->sets[p->set_match[i]].kind ==
				    new->sets[i].kind;
	}
	plan_order(ns, old->nsets, p->set_match, p->set_new, p->set_old,
		   compat);
	for (size_t i = 0; i < nc; i++) {
		p->ch_match[i] =
			finder_find(&p->old_chains, new->chains[i].name, &err);
		compat[ns + i] =
			p->ch_match[i] != SIZE_MAX &&
			pw_nft_chain_same_ident(&old->chains[p->ch_match[i]],
						&new->chains[i]);
	}
	plan_order(nc, old->nchains, p->ch_match, p->ch_new, p->ch_old,
		   compat + ns);
	for (size_t i = 0; i < old->nchains; i++)
		p->chains_dropped |= p->ch_old[i] == DROP;
	free(compat);
	/* jumps_to_dropped looks chains up in no order */
	if (!err && p->chains_dropped)
		err = finder_sort(&p->old_chains);
	if (!err)
		plan_rerule(p);
	return err;
}

static void plan_free(struct plan *p)
{
	free(p->set_new);
	free(p->set_old);
	free(p->ch_new);
	free(p->ch_old);
	free(p->set_match);
	free(p->ch_match);
	free(p->old_sets.ix);
	free(p->old_chains.ix);
	free(p->rerule);
}

/* Whether an old element jumps to a chain that goes. Asked for every
 * element of a changed map (10k with every pod local), so the common
 * case, no chain goes, answers without looking the name up. */
static bool jumps_to_dropped(const struct plan *p, const char *jump)
{
	size_t j;

	if (!p->chains_dropped || !jump)
		return false;
	j = ix_find(p->old_chains.ix, p->old_chains.n, jump);
	return j != SIZE_MAX && p->ch_old[j] == DROP;
}

static bool is_vmap(enum pw_nft_setkind k)
{
	return k == PW_SK_VMAP_V4 || k == PW_SK_VMAP_V6 ||
	       k == PW_SK_IFVMAP_V4 || k == PW_SK_IFVMAP_V6;
}

/* Merge of two sorted element lists: what goes, what comes. Entries
 * that jump to a recreated chain go and come back, so a map is skipped
 * by digest only when no chain goes. */
static int elem_diff(const struct plan *p, const struct pw_nft_set *o,
		     const struct pw_nft_set *n, struct elist *del,
		     struct elist *add)
{
	size_t i = 0, j = 0;
	int ret = 0;

	/* Most sets do not change: sealed images say so by digest without
	 * reading the elements (nft_image.h). Unsealed, elements have no
	 * padding and sets without strings hold no pointers, so equal
	 * arrays memcmp equal. */
	if (pw_nft_set_same_digest(o, n) &&
	    !(p->chains_dropped && is_vmap(o->kind)))
		return 0;
	if (!(o->sealed && n->sealed) && o->n == n->n &&
	    (!o->n ||
	     (!o->v[0].jump && !memcmp(o->v, n->v, o->n * sizeof(*o->v)))))
		return 0;
	while (!ret && (i < o->n || j < n->n)) {
		int c = i == o->n ? 1 :
			j == n->n ? -1 :
				    pw_nft_elem_cmp(&o->v[i], &n->v[j]);

		if (c < 0) {
			ret = elist_push(del, &o->v[i++]);
		} else if (c > 0) {
			ret = elist_push(add, &n->v[j++]);
		} else if (jumps_to_dropped(p, o->v[i].jump)) {
			ret = elist_push(del, &o->v[i++]);
			ret = ret ? ret : elist_push(add, &n->v[j++]);
		} else {
			i++;
			j++;
		}
	}
	return ret;
}

/*
 * Element deletions of the kept sets now (step 1), additions remembered
 * for step 4. Exactly the difference goes to the kernel: a concatenated
 * interval set (pipapo) then lists the added elements after the kept
 * ones, where a fresh load lists them sorted. That order is the set's
 * history, not its content (a lookup finds an element wherever it sits),
 * so the state of B is the same (docs/DATAPATH.md, "The state of B").
 */
static int kept_set_diffs(struct pw_nl_batch *bt, const struct plan *p,
			  struct elist *adds, struct pw_apply_stats *st)
{
	struct elist del = { 0 };
	int ret = 0;

	for (size_t i = 0; i < p->new->nsets && !ret; i++) {
		const struct pw_nft_set *n = &p->new->sets[i], *o;

		if (p->set_new[i] != KEEP)
			continue;
		o = &p->old->sets[p->set_match[i]];
		del.n = adds[i].n = 0;
		ret = elem_diff(p, o, n, &del, &adds[i]);
		if (!ret && del.n)
			pw_nl_elems(bt, false, n->name, del.v, del.n);
		st->elems_removed += del.n;
		st->elems_added += adds[i].n;
		if (del.n || adds[i].n)
			st->sets_changed++;
		else
			st->sets_unchanged++;
	}
	free(del.v);
	return ret;
}

static void drop_chains(struct pw_nl_batch *bt, const struct plan *p,
			struct pw_apply_stats *st)
{
	for (size_t i = 0; i < p->old->nchains; i++)
		if (p->ch_old[i] == DROP) {
			pw_nl_chain_del(bt, p->old->chains[i].name);
			st->chains_removed++;
		}
	for (size_t i = 0; i < p->new->nchains; i++)
		if (p->rerule[i]) {
			pw_nl_chain_flush(bt, p->new->chains[i].name);
			st->chains_replaced++;
		}
}

static void drop_sets(struct pw_nl_batch *bt, const struct plan *p,
		      struct pw_apply_stats *st)
{
	/* Counters no rule names any more (their chains were flushed). */
	for (int c = 0; c < PW_CNT_NR; c++)
		if (p->old->counters & ~p->new->counters &(1u << c))
			pw_nl_counter_del(bt, pw_nft_counter_names[c]);
	for (size_t i = 0; i < p->old->nsets; i++)
		if (p->set_old[i] == DROP) {
			pw_nl_set_del(bt, p->old->sets[i].name);
			st->sets_removed++;
			st->elems_removed += p->old->sets[i].n;
		}
}

static int add_objects(struct pw_nl_batch *bt, const struct plan *p,
		       struct elist *adds, struct pw_apply_stats *st)
{
	struct elist tmp = { 0 };

	for (size_t i = 0; i < p->new->nchains; i++)
		if (p->ch_new[i] == ADD) {
			pw_nl_chain_add(bt, &p->new->chains[i]);
			st->chains_added++;
		}
	for (size_t i = 0; i < p->new->nsets; i++) {
		const struct pw_nft_set *s = &p->new->sets[i];

		if (p->set_new[i] == ADD) {
			pw_nl_set_add(bt, s);
			all_elems(bt, s, &tmp);
			st->sets_added++;
			st->elems_added += s->n;
		} else if (adds[i].n) {
			pw_nl_elems(bt, true, s->name, adds[i].v, adds[i].n);
		}
	}
	for (int c = 0; c < PW_CNT_NR; c++)
		if (p->new->counters & ~p->old->counters &(1u << c))
			pw_nl_counter_add(bt, pw_nft_counter_names[c]);
	for (size_t i = 0; i < p->new->nchains; i++)
		if (p->ch_new[i] == ADD || p->rerule[i])
			pw_nl_chain_rules(bt, p->new, &p->new->chains[i]);
	free(tmp.v);
	return 0;
}

static int build_diff(struct pw_nl_batch *bt, const struct plan *p,
		      struct pw_apply_stats *st)
{
	struct elist *adds = calloc(p->new->nsets + 1, sizeof(*adds));
	int ret;

	if (!adds)
		return -ENOMEM;
	ret = kept_set_diffs(bt, p, adds, st);
	if (!ret) {
		drop_chains(bt, p, st);
		drop_sets(bt, p, st);
		ret = add_objects(bt, p, adds, st);
	}
	for (size_t i = 0; i < p->new->nsets; i++)
		free(adds[i].v);
	free(adds);
	return ret;
}

/* Errors that mean the kernel did not hold what we thought. */
static bool drifted(int err)
{
	return err == -ENOENT || err == -EEXIST || err == -EBUSY;
}

/* The base chains' rules written again with the next generation, when
 * the batch changes anything else and their recipe is the same (else
 * they are rewritten already). Not counted as chains replaced: it is
 * what every update does. */
static void next_generation(struct pw_nl_batch *bt, const struct plan *p)
{
	for (size_t i = 0; i < p->new->nchains; i++) {
		const struct pw_nft_chain *ch = &p->new->chains[i];

		if ((ch->kind != PW_CK_FORWARD && ch->kind != PW_CK_INPUT) ||
		    p->ch_new[i] != KEEP || p->rerule[i])
			continue;
		pw_nl_chain_flush(bt, ch->name);
		pw_nl_chain_rules(bt, p->new, ch);
	}
}

/* Builds the batch from old to new, with new's generation (the next one
 * when anything changes, else old's); sends it when send says so. */
static int diff(const struct pw_nft_image *old, const struct pw_nft_image *new,
		struct pw_apply_stats *st, bool send)
{
	unsigned long long t0 = now_ns();
	uint32_t prev = old->ct_mask == new->ct_mask ? old->ct_gen : 0;
	struct pw_nl_batch *bt;
	struct plan p;
	bool cycle;
	int ret;

	memset(st, 0, sizeof(*st));
	set_gen(new, pw_nft_gen_next(new->ct_mask, prev, &cycle));
	ret = plan_make(&p, old, new);
	if (!ret)
		ret = pw_nl_batch_init(&bt);
	if (ret) {
		plan_free(&p);
		return ret;
	}
	ret = build_diff(bt, &p, st);
	if (!ret && new->ct_mask && pw_nl_batch_empty(bt))
		set_gen(new, prev); /* nothing changes: nothing is sent */
	else if (!ret && new->ct_mask)
		next_generation(bt, &p);
	cycle = cycle && !pw_nl_batch_empty(bt);
	st->diff_ns = now_ns() - t0;
	if (!ret && send && cycle)
		ret = cycle_before(new, st);
	if (!ret && send)
		ret = send_timed(bt, st);
	if (!ret && send && cycle)
		cycle_after(new, st);
	st->generation = new->ct_gen;
	pw_nl_batch_free(bt);
	plan_free(&p);
	return ret;
}

static int send_diff(const struct pw_nft_image *old,
		     const struct pw_nft_image *new, struct pw_apply_stats *st)
{
	return diff(old, new, st, true);
}

int pw_nft_diff_plan(const struct pw_nft_image *old,
		     const struct pw_nft_image *new, struct pw_apply_stats *st)
{
	return diff(old, new, st, false);
}

/* ---- the API -------------------------------------------------------- */

static void set_errmsg(char **errmsg, int err)
{
	if (errmsg)
		*errmsg = err ? pw_strdup(strerror(-err)) : NULL;
}

/* A diff when the kernel's image is known, else (or when the kernel did
 * not hold it after all) the whole table. */
static int apply_images(const struct pw_nft_image *old,
			const struct pw_nft_image *new,
			struct pw_apply_stats *st)
{
	int ret;

	if (!old)
		return send_full(new, st);
	ret = send_diff(old, new, st);
	if (drifted(ret))
		ret = send_full(new, st);
	return ret;
}

int pw_nft_apply_image(const struct pw_nft_image *old,
		       const struct pw_nft_image *new,
		       struct pw_apply_stats *st, char **errmsg)
{
	struct pw_apply_stats dummy;
	int ret;

	if (errmsg)
		*errmsg = NULL;
	st = st ? st : &dummy;
	memset(st, 0, sizeof(*st));
	if (!pw_nft_may_admin_net())
		return -EPERM;
	ret = apply_images(old, new, st);
	set_errmsg(errmsg, ret);
	return ret;
}

int pw_nft_apply_ruleset(const struct pw_nft_image *old,
			 const struct pw_ruleset *rs,
			 const struct pw_nft_image *new,
			 struct pw_apply_stats *st, char **errmsg)
{
	struct pw_apply_stats dummy;
	int ret;

	st = st ? st : &dummy;
	ret = pw_nft_apply_image(old, new, st, errmsg);
	/* what the kernel now holds, for an image of rs built again */
	if (!ret)
		((struct pw_ruleset *)rs)->ct_gen = new->ct_gen;
	return ret;
}

PW_EXPORT int pw_ruleset_apply(const struct pw_ruleset *rs, char **errmsg)
{
	return pw_ruleset_update(NULL, rs, NULL, errmsg);
}

PW_EXPORT int pw_ruleset_update(const struct pw_ruleset *old,
				const struct pw_ruleset *rs,
				struct pw_apply_stats *st, char **errmsg)
{
	const struct pw_nft_image *io = NULL, *in;

	if (errmsg)
		*errmsg = NULL;
	if (old)
		io = pw_nft_ruleset_image(old);
	/* from old's image: what did not change is copied, not encoded */
	in = pw_nft_ruleset_image_from(rs, old);
	if (!in || (old && !io))
		return -ENOMEM;
	return pw_nft_apply_ruleset(io, rs, in, st, errmsg);
}

static const struct {
	size_t off;
	const char *sign, *one, *many;
} stat_words[] = {
	{ offsetof(struct pw_apply_stats, elems_added), "+", "element",
	  "elements" },
	{ offsetof(struct pw_apply_stats, elems_removed), "-", "element",
	  "elements" },
	{ offsetof(struct pw_apply_stats, sets_added), "", "set added",
	  "sets added" },
	{ offsetof(struct pw_apply_stats, sets_removed), "", "set removed",
	  "sets removed" },
	{ offsetof(struct pw_apply_stats, chains_added), "", "chain added",
	  "chains added" },
	{ offsetof(struct pw_apply_stats, chains_removed), "", "chain removed",
	  "chains removed" },
	{ offsetof(struct pw_apply_stats, chains_replaced), "",
	  "chain replaced", "chains replaced" },
	{ offsetof(struct pw_apply_stats, sets_unchanged), "", "unchanged set",
	  "unchanged sets" },
	{ offsetof(struct pw_apply_stats, ct_purged), "",
	  "unanswered connection to judge again",
	  "unanswered connections to judge again" },
};

/* Appends to buf what snprintf would, keeping count past the end. */
static void put(char *buf, size_t len, size_t *at, const char *sep,
		const char *sign, size_t v, const char *word)
{
	int n = snprintf(*at < len ? buf + *at : NULL,
			 *at < len ? len - *at : 0, "%s%s%zu %s", sep, sign, v,
			 word);

	*at += n > 0 ? (size_t)n : 0;
}

PW_EXPORT int pw_apply_stats_format(const struct pw_apply_stats *st, char *buf,
				    size_t len)
{
	const char *sep = st->full ? "full load: " : "";
	size_t at = 0;

	if (len)
		*buf = '\0';
	for (size_t i = 0; i < PW_ARRAY_SIZE(stat_words); i++) {
		size_t v =
			*(const size_t *)((const char *)st + stat_words[i].off);
		bool always =
			!st->full &&
			stat_words[i].off ==
				offsetof(struct pw_apply_stats, sets_unchanged);

		if (!v && !always)
			continue;
		put(buf, len, &at, sep, stat_words[i].sign, v,
		    v == 1 ? stat_words[i].one : stat_words[i].many);
		sep = ", ";
	}
	return (int)at;
}
