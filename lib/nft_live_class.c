// SPDX-License-Identifier: Apache-2.0
/*
 * Classes of the incremental compiler (nft_live.h): the local pods that
 * must choose again find the policies that select them and the class of
 * that list; classes whose inputs changed are built again (nft_class.c
 * does the building, with this compiler's peers as the source); and the
 * ruleset handed out is assembled as the compiler from the engine
 * assembles it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "labels.h"
#include "nft_live.h"

/* ---- classes ------------------------------------------------------------ */

/* The key of a side: the policies selecting it, in cluster order, and
 * for ingress the named container ports they resolve. */
struct ckey {
	enum pw_dir dir;
	const uint32_t *pols;
	size_t npols;
	const struct pw_cport *ports; /* sorted (cport_cmp) */
	size_t nports;
};

static int cport_cmp(const void *pa, const void *pb)
{
	const struct pw_cport *a = pa, *b = pb;
	int r = strcmp(a->name, b->name);

	if (r)
		return r;
	if (a->proto != b->proto)
		return a->proto < b->proto ? -1 : 1;
	return a->port < b->port ? -1 : a->port > b->port;
}

static uint64_t ckey_hash(const struct ckey *k)
{
	uint64_t h = pw_hash_bytes(PW_HASH_INIT, &k->dir, sizeof(k->dir));

	h = pw_hash_bytes(h, k->pols, k->npols * sizeof(*k->pols));
	for (size_t i = 0; i < k->nports; i++) {
		h = lv_hash_str(h, k->ports[i].name);
		h = pw_hash_bytes(h, &k->ports[i].port,
				  sizeof(k->ports[i].port));
		h = pw_hash_bytes(h, &k->ports[i].proto,
				  sizeof(k->ports[i].proto));
	}
	return h;
}

static bool ckey_eq(const struct lclass *x, const struct ckey *k)
{
	if (x->dir != k->dir || x->npols != k->npols ||
	    x->nports != k->nports ||
	    memcmp(x->pols, k->pols, k->npols * sizeof(*k->pols)))
		return false;
	for (size_t i = 0; i < k->nports; i++)
		if (cport_cmp(&x->ports[i], &k->ports[i]))
			return false;
	return true;
}

static void cls_free(struct pw_live *l, uint32_t s)
{
	struct lclass *x = &l->cls[s];

	lv_map_del(&l->cls_map, l, lv_cls_hash_of, x->hash, s);
	for (size_t i = 0; i < x->nports; i++)
		free(x->ports[i].name);
	free(x->ports);
	free(x->pols);
	pw_nft_class_clear(&x->k);
	memset(x, 0, sizeof(*x));
	l->free_cls[l->nfree_cls++] = s;
}

void lv_cls_put(struct pw_live *l, uint32_t s)
{
	if (s != NONE && !--l->cls[s].refs)
		cls_free(l, s);
}

static int cls_new(struct pw_live *l, const struct ckey *k, uint64_t h,
		   uint32_t *out)
{
	struct lclass *x;
	uint32_t s;

	if (lv_map_reserve(&l->cls_map, l, lv_cls_hash_of))
		return -ENOMEM;
	s = SLOT_NEW(l, cls);
	if (s == NONE ||
	    lv_reserve_free(&l->free_cls, &l->cap_free_cls, l->ncls))
		return -ENOMEM;
	x = &l->cls[s];
	x->dir = k->dir;
	x->hash = h;
	lv_map_put(&l->cls_map, h, s);
	x->pols = malloc((k->npols ? k->npols : 1) * sizeof(*x->pols));
	x->ports = calloc(k->nports ? k->nports : 1, sizeof(*x->ports));
	if (!x->pols || !x->ports)
		return -ENOMEM; /* cls_free frees what there is */
	memcpy(x->pols, k->pols, k->npols * sizeof(*k->pols));
	x->npols = k->npols;
	for (size_t i = 0; i < k->nports; i++, x->nports++) {
		x->ports[i] = k->ports[i];
		x->ports[i].path = NULL;
		x->ports[i].name = strdup(k->ports[i].name);
		if (!x->ports[i].name)
			return -ENOMEM;
	}
	*out = s;
	return 0;
}

/* The class of key k, with one more reference. */
static int cls_get(struct pw_live *l, const struct ckey *k, uint32_t *out)
{
	uint64_t h = ckey_hash(k);
	size_t at;
	int ret;

	for (uint32_t s = lv_map_first(&l->cls_map, h, &at); s != NONE;
	     s = lv_map_next(&l->cls_map, &at))
		if (l->cls[s].hash == h && ckey_eq(&l->cls[s], k)) {
			l->cls[s].refs++;
			*out = s;
			return 0;
		}
	ret = cls_new(l, k, h, out);
	if (!ret)
		l->cls[*out].refs = 1;
	return ret;
}

/* Scratch of one selection: a side's policies and named ports. */
struct select {
	uint32_t *pols;
	size_t npols, cap_pols;
	struct pw_cport *ports;
	size_t nports, cap_ports;
};

/* The policies among pols[0..n) (as pointers) that name a port of q. */
static int named_ports(struct pw_live *l, struct select *sel,
		       const struct pw_pod *q)
{
	sel->nports = 0;
	for (size_t i = 0; i < q->nports; i++) {
		struct pw_cport *cp;

		if (!pw_nft_port_named(l->polv, sel->npols, PW_DIR_INGRESS,
				       &q->ports[i]))
			continue;
		cp = PW_PUSH(sel->ports, sel->nports, sel->cap_ports);
		if (!cp)
			return -ENOMEM;
		*cp = q->ports[i];
	}
	pw_sort(sel->ports, sel->nports, sizeof(*sel->ports), cport_cmp);
	return 0;
}

/* Side d of local pod s: the policies of its namespace that select it. */
static int select_side(struct pw_live *l, struct select *sel, uint32_t s,
		       enum pw_dir d, uint32_t *out)
{
	const struct lpod *q = &l->pods[s];
	const struct lns *n = &l->nss[q->ns];
	struct ckey k = { .dir = d };

	sel->npols = 0;
	for (size_t i = 0; i < n->npols; i++) {
		const struct pw_policy *p = l->pols[n->pols[i]].p;

		if (p->affects[d] &&
		    pw_selector_matches(&p->pod_sel, &q->p->labels) &&
		    lv_push_u32(&sel->pols, &sel->npols, &sel->cap_pols,
				n->pols[i]))
			return -ENOMEM;
	}
	*out = NONE;
	if (!sel->npols)
		return 0; /* not isolated on that side */
	if (pw_grow((void **)&l->polv, &l->cap_polv, sel->npols,
		    sizeof(*l->polv)))
		return -ENOMEM;
	for (size_t i = 0; i < sel->npols; i++)
		l->polv[i] = l->pols[sel->pols[i]].p;
	if (d == PW_DIR_INGRESS && named_ports(l, sel, q->p))
		return -ENOMEM;
	k.pols = sel->pols;
	k.npols = sel->npols;
	k.ports = sel->ports;
	k.nports = d == PW_DIR_INGRESS ? sel->nports : 0;
	return cls_get(l, &k, out);
}

/* The marked pods find their classes: only local pods with an address
 * are enforced (the compiler's rule). */
int lv_select_all(struct pw_live *l)
{
	struct select sel = { 0 };
	int ret = 0;

	for (uint32_t s = 0; s < l->npods && !ret; s++) {
		struct lpod *q = &l->pods[s];

		if (!q->p || !q->reselect)
			continue;
		q->reselect = false;
		for (int d = 0; d < PW_DIR_NR && !ret; d++) {
			uint32_t cls = NONE;

			if (q->local && q->p->nips)
				ret = select_side(l, &sel, s, (enum pw_dir)d,
						  &cls);
			lv_cls_put(l, q->cls[d]);
			q->cls[d] = cls;
		}
	}
	free(sel.pols);
	free(sel.ports);
	return ret;
}

/* ---- building classes --------------------------------------------------- */

struct live_src {
	struct pw_live *l;
	const struct lclass *x;
};

static struct lpeer *src_peer(const struct live_src *ls, size_t j, size_t r,
			      size_t k)
{
	const struct lpol *p = &ls->l->pols[ls->x->pols[j]];

	return &ls->l->peers[p->peer[p->roff[ls->x->dir][r] + k]];
}

static const struct pw_ivals *src_addrs(void *ctx, size_t j, size_t r, size_t k)
{
	struct live_src *ls = ctx;

	return lv_peer_addrs(ls->l, src_peer(ls, j, r, k));
}

static size_t src_npods(void *ctx)
{
	const struct live_src *ls = ctx;

	return ls->l->npods;
}

static const struct pw_pod *src_pod(void *ctx, size_t q)
{
	const struct live_src *ls = ctx;

	return ls->l->pods[q].p;
}

static bool src_admits(void *ctx, size_t j, size_t r, size_t k, size_t q)
{
	return lv_is_member(src_peer(ctx, j, r, k), (uint32_t)q);
}

static const struct pw_nft_src_ops live_ops = {
	.addrs = src_addrs,
	.npods = src_npods,
	.pod = src_pod,
	.admits = src_admits,
};

/* Whether an egress rule of the class names a port: such ports resolve
 * on each destination, so the class depends on every pod. */
static bool names_egress_port(const struct pw_live *l, const struct lclass *x)
{
	for (size_t j = 0; x->dir == PW_DIR_EGRESS && j < x->npols; j++) {
		const struct pw_policy *p = l->pols[x->pols[j]].p;

		for (size_t r = 0; r < p->nrules[PW_DIR_EGRESS]; r++)
			for (size_t i = 0;
			     i < p->rules[PW_DIR_EGRESS][r].nports; i++)
				if (p->rules[PW_DIR_EGRESS][r].ports[i].named)
					return true;
	}
	return false;
}

/* Whether class x must be built again. */
static bool cls_stale(const struct pw_live *l, const struct lclass *x)
{
	if (!x->built || (x->named_egress && l->pods_changed))
		return true;
	for (size_t j = 0; j < x->npols; j++) {
		const struct lpol *p = &l->pols[x->pols[j]];
		size_t lo, hi;

		if (p->changed)
			return true;
		lo = p->roff[x->dir][0];
		hi = p->roff[x->dir][p->p->nrules[x->dir]];
		for (size_t i = lo; i < hi; i++)
			if (p->peer[i] != NONE && l->peers[p->peer[i]].changed)
				return true;
	}
	return false;
}

static int cls_build(struct pw_live *l, uint32_t s)
{
	struct lclass *x = &l->cls[s];
	struct live_src ls = { .l = l, .x = x };
	struct pw_nft_src src = {
		.ops = &live_ops,
		.ctx = &ls,
		.dir = x->dir,
		.npols = x->npols,
		.ports = x->ports,
		.nports = x->nports,
	};

	if (pw_grow((void **)&l->polv, &l->cap_polv, x->npols,
		    sizeof(*l->polv)))
		return -ENOMEM;
	for (size_t j = 0; j < x->npols; j++)
		l->polv[j] = l->pols[x->pols[j]].p;
	src.pols = l->polv;
	pw_nft_class_clear(&x->k);
	x->built = false;
	if (pw_nft_class_build(&src, &l->scratch, &x->k))
		return -ENOMEM;
	x->built = true;
	x->named_egress = names_egress_port(l, x);
	l->st.classes_rebuilt++;
	return 0;
}

int lv_cls_rebuild(struct pw_live *l)
{
	int ret = 0;

	for (uint32_t s = 0; s < l->ncls && !ret; s++)
		if (l->cls[s].refs && cls_stale(l, &l->cls[s]))
			ret = cls_build(l, s);
	for (uint32_t s = 0; s < l->npeers; s++)
		l->peers[s].changed = false;
	return ret;
}

/* ---- the ruleset handed out --------------------------------------------- */

static int kclass_order(const void *pa, const void *pb)
{
	const struct pw_nft_class *a = *(const struct pw_nft_class *const *)pa;
	const struct pw_nft_class *b = *(const struct pw_nft_class *const *)pb;

	if (a->ident != b->ident)
		return a->ident < b->ident ? -1 : 1;
	return pw_nft_class_cmp(a, b);
}

/*
 * Side d's classes into rs, each once: two keys that admit the same
 * traffic with the same identity are one class, as in the compiler.
 * Each live class learns its index (x->out).
 */
static int out_classes(struct pw_live *l, struct pw_ruleset *rs, enum pw_dir d)
{
	const struct pw_nft_class **v = calloc(l->ncls + 1, sizeof(*v));
	size_t n = 0;
	int ret = 0;

	if (!v)
		return -ENOMEM;
	for (uint32_t s = 0; s < l->ncls; s++)
		if (l->cls[s].refs && l->cls[s].dir == d)
			v[n++] = &l->cls[s].k;
	pw_sort(v, n, sizeof(*v), kclass_order);
	rs->cls[d] = calloc(n + 1, sizeof(*rs->cls[d]));
	rs->cap_cls[d] = n + 1;
	if (!rs->cls[d])
		ret = -ENOMEM;
	for (size_t i = 0; i < n && !ret; i++) {
		struct lclass *x =
			(struct lclass *)((char *)v[i] -
					  offsetof(struct lclass, k));

		if (!rs->ncls[d] || kclass_order(&v[i], &v[i - 1])) {
			ret = pw_nft_class_copy(&rs->cls[d][rs->ncls[d]], v[i]);
			rs->ncls[d] += !ret;
		}
		x->out = (uint32_t)rs->ncls[d] - 1;
	}
	free(v);
	return ret;
}

static int vmap_addr_cmp(const void *pa, const void *pb)
{
	const struct pw_nft_vmap *a = pa, *b = pb;

	return pw_u128_cmp(a->addr, b->addr);
}

/*
 * Two local pods claiming one address: the map keeps the first in the
 * engine's order (by name). Entries hold pod slots until here; this
 * leaves 0 for the one to keep and 1 for the others, which
 * pw_nft_finish's sort by (address, order) then drops.
 */
static void vmap_order(const struct pw_live *l, struct pw_nft_vmaps *m)
{
	pw_sort(m->v, m->n, sizeof(*m->v), vmap_addr_cmp);
	for (size_t i = 0, j; i < m->n; i = j) {
		size_t best = i;

		for (j = i + 1; j < m->n && m->v[j].addr == m->v[i].addr; j++)
			if (strcmp(l->pods[m->v[j].pod].name,
				   l->pods[m->v[best].pod].name) < 0)
				best = j;
		for (size_t k = i; k < j; k++)
			m->v[k].pod = k != best;
	}
}

static int out_pod(const struct pw_live *l, struct pw_ruleset *rs, uint32_t s)
{
	const struct lpod *q = &l->pods[s];
	int ret = 0;

	for (size_t j = 0; j < q->p->nips && !ret; j++) {
		pw_u128 a = pw_addr_to_u128(&q->p->ips[j]);
		enum pw_fam f = pw_addr_fam(&q->p->ips[j]);

		ret = pw_nft_addrs_add(&rs->known[f], a);
		if (!ret && q->local)
			ret = pw_nft_addrs_add(&rs->self[f], a);
	}
	if (ret || !q->local)
		return ret;
	if (!q->p->nips) {
		rs->nskipped++;
		return 0;
	}
	rs->nlocal++;
	for (int d = 0; d < PW_DIR_NR && !ret; d++)
		if (q->cls[d] != NONE)
			ret = pw_nft_vmap_add(rs, (enum pw_dir)d, q->p, q->name,
					      s, l->cls[q->cls[d]].out);
	return ret;
}

int lv_out_ruleset(struct pw_live *l, const struct pw_cluster *c,
		   struct pw_ruleset **out)
{
	struct pw_ruleset *rs = pw_nft_ruleset_alloc(l->node);
	int ret = rs ? 0 : -ENOMEM;

	if (!ret)
		ret = pw_nft_node_ranges(rs, c);
	for (int d = 0; d < PW_DIR_NR && !ret; d++)
		ret = out_classes(l, rs, (enum pw_dir)d);
	for (uint32_t s = 0; s < l->npods && !ret; s++)
		if (l->pods[s].p)
			ret = out_pod(l, rs, s);
	for (int d = 0; d < PW_DIR_NR && !ret; d++)
		for (int f = 0; f < PW_FAM_NR; f++)
			vmap_order(l, &rs->vmap[d][f]);
	if (!ret)
		ret = pw_nft_finish(rs);
	if (ret) {
		pw_ruleset_free(rs);
		rs = NULL;
	}
	*out = rs;
	return ret;
}
