// SPDX-License-Identifier: Apache-2.0
/*
 * The ruleset compiled from the engine (lib/datapath.h describes the
 * model, docs/DATAPATH.md the table it becomes): per local pod and
 * direction, the class of what that side admits (nft_class.c builds it
 * from the engine's peer sets), shared by every pod that admits the same
 * traffic; then the verdict maps, the address lists and the node's pod
 * ranges. The assembling steps are shared with the incremental compiler
 * (nft_live.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "bitset.h"
#include "datapath.h"
#include "engine.h"

/* ---- the compiler --------------------------------------------------- */

/* An engine class key (selection list class, and port class for
 * ingress) and the ruleset class it became. */
struct key_map {
	uint64_t key;
	uint32_t cls;
};

/*
 * The addresses of one engine peer set, merged: computed on first use
 * and shared by every rule naming that set. Policies that differ only in
 * the pods they select often share their peers (`namespaceSelector: {}`
 * in every namespace), and one sort of the set's pods then serves every
 * class instead of one sort per class and rule.
 */
struct peer_addrs {
	bool done;
	struct pw_ivals v[PW_FAM_NR];
};

struct compiler {
	const struct pw_engine *e;
	struct pw_ruleset *rs;
	struct key_map *keys[PW_DIR_NR];
	size_t nkeys[PW_DIR_NR], cap_keys[PW_DIR_NR];
	struct pw_nft_scratch scratch;
	struct peer_addrs *sets; /* by engine peer set, e->nsets */
	/* the class being built: local pod i's side d */
	size_t pod;
	enum pw_dir dir;
	const struct pw_policy **pols;
	size_t cap_pols;
};

static int add_pod_addrs(struct pw_ivals *v, const struct pw_pod *p)
{
	for (size_t j = 0; j < p->nips; j++) {
		pw_u128 a = pw_addr_to_u128(&p->ips[j]);

		if (pw_ivals_add(&v[pw_addr_fam(&p->ips[j])], a, a))
			return -ENOMEM;
	}
	return 0;
}

static int add_bits_addrs(const struct pw_engine *e, struct pw_ivals *v,
			  const uint64_t *bits)
{
	for (size_t w = 0; w < e->words; w++) {
		for (uint64_t m = bits[w]; m; m &= m - 1) {
			size_t i = w * 64 + (size_t)__builtin_ctzll(m);

			if (add_pod_addrs(v, e->pods[i].pod))
				return -ENOMEM;
		}
	}
	return 0;
}

/* The merged addresses of engine peer set si (peer_addrs). */
static const struct peer_addrs *set_addrs(struct compiler *c, uint32_t si)
{
	struct peer_addrs *pa = &c->sets[si];

	if (pa->done)
		return pa;
	if (add_bits_addrs(c->e, pa->v, c->e->sets[si].bits[PW_VIEW_FIRST]))
		return NULL;
	for (int f = 0; f < PW_FAM_NR; f++)
		pw_ivals_normalize(&pa->v[f]);
	pa->done = true;
	return pa;
}

/* Peer k of rule r of the j-th policy selecting the pod being built. */
static uint32_t peer_set_at(const struct compiler *c, size_t j, size_t r,
			    size_t k)
{
	const struct pw_engine *e = c->e;
	const struct pw_eng_pod *ep = &e->pods[c->pod];
	uint32_t pol = e->sel[ep->sel_off[c->dir] + j];
	const struct pw_erule *er = &e->rules[e->rule_base[pol][c->dir] + r];

	return e->peer_set[er->peer_base + k];
}

static const struct pw_ivals *src_addrs(void *ctx, size_t j, size_t r, size_t k)
{
	struct compiler *c = ctx;
	const struct peer_addrs *pa = set_addrs(c, peer_set_at(c, j, r, k));

	return pa ? pa->v : NULL;
}

static size_t src_npods(void *ctx)
{
	const struct compiler *c = ctx;

	return c->e->npods;
}

static const struct pw_pod *src_pod(void *ctx, size_t q)
{
	const struct compiler *c = ctx;

	return c->e->pods[q].pod;
}

static bool src_admits(void *ctx, size_t j, size_t r, size_t k, size_t q)
{
	const struct compiler *c = ctx;
	const struct pw_peerset *ps = &c->e->sets[peer_set_at(c, j, r, k)];

	return pw_bits_test(ps->bits[PW_VIEW_FIRST], q);
}

static const struct pw_nft_src_ops engine_src = {
	.addrs = src_addrs,
	.npods = src_npods,
	.pod = src_pod,
	.admits = src_admits,
};

static int build_class(struct compiler *c, size_t i, enum pw_dir d,
		       struct pw_nft_class *k)
{
	const struct pw_engine *e = c->e;
	const struct pw_eng_pod *ep = &e->pods[i];
	struct pw_nft_src src = {
		.ops = &engine_src,
		.ctx = c,
		.dir = d,
		.npols = ep->nsel[d],
		.ports = ep->pod->ports,
		.nports = d == PW_DIR_INGRESS ? ep->pod->nports : 0,
	};

	if (pw_grow((void **)&c->pols, &c->cap_pols, src.npols,
		    sizeof(*c->pols)))
		return -ENOMEM;
	for (size_t n = 0; n < src.npols; n++)
		c->pols[n] = &e->c->pols[e->sel[ep->sel_off[d] + n]];
	src.pols = c->pols;
	c->pod = i;
	c->dir = d;
	return pw_nft_class_build(&src, &c->scratch, k);
}

/* Finds or builds the class of local pod i's side d, into *cls. What a
 * side admits depends only on the engine's class of its selection list
 * (and, for ingress, of its container ports, which named ports resolve
 * against), so each such key is built once; keys that turn out to admit
 * the same traffic share the class. */
static int class_of(struct compiler *c, size_t i, enum pw_dir d, uint32_t *cls)
{
	const struct pw_eng_pod *ep = &c->e->pods[i];
	struct pw_ruleset *rs = c->rs;
	uint64_t key = (uint64_t)ep->set[d] << 32 |
		       (d == PW_DIR_INGRESS ? ep->pclass : 0);
	struct pw_nft_class k = { 0 }, *nk = NULL;
	struct key_map *km;
	size_t j;
	int ret;

	for (j = 0; j < c->nkeys[d]; j++)
		if (c->keys[d][j].key == key) {
			*cls = c->keys[d][j].cls;
			return 0;
		}
	ret = build_class(c, i, d, &k);
	for (j = 0; !ret && j < rs->ncls[d]; j++)
		if (rs->cls[d][j].hash == k.hash &&
		    rs->cls[d][j].ident == k.ident &&
		    !pw_nft_class_cmp(&rs->cls[d][j], &k))
			break;
	if (!ret && j == rs->ncls[d]) {
		nk = PW_PUSH(rs->cls[d], rs->ncls[d], rs->cap_cls[d]);
		if (!nk)
			ret = -ENOMEM;
	}
	if (nk) {
		*nk = k;
		memset(&k, 0, sizeof(k)); /* now owned by the ruleset */
	}
	km = ret ? NULL : PW_PUSH(c->keys[d], c->nkeys[d], c->cap_keys[d]);
	if (!ret && !km)
		ret = -ENOMEM;
	if (km)
		*km = (struct key_map){ .key = key, .cls = (uint32_t)j };
	*cls = (uint32_t)j;
	pw_nft_class_clear(&k);
	return ret;
}

int pw_nft_addrs_add(struct pw_addrs *s, pw_u128 a)
{
	pw_u128 *p = PW_PUSH(s->v, s->n, s->cap);

	if (!p)
		return -ENOMEM;
	*p = a;
	return 0;
}

int pw_nft_vmap_add(struct pw_ruleset *rs, enum pw_dir d,
		    const struct pw_pod *p, const char *name, uint32_t order,
		    uint32_t cls)
{
	char comment[PW_NFT_COMMENT_MAX];

	pw_nft_sanitize(name, comment, sizeof(comment));
	for (size_t j = 0; j < p->nips; j++) {
		const struct pw_addr *a = &p->ips[j];
		struct pw_nft_vmaps *m = &rs->vmap[d][pw_addr_fam(a)];
		struct pw_nft_vmap *v = PW_PUSH(m->v, m->n, m->cap);

		if (!v)
			return -ENOMEM;
		v->addr = pw_addr_to_u128(a);
		v->cls = cls;
		v->pod = order;
		v->comment = strdup(comment);
		if (!v->comment)
			return -ENOMEM;
	}
	return 0;
}

static bool is_local(const struct pw_ruleset *rs, const struct pw_pod *p)
{
	return !rs->node || (p->node && !strcmp(p->node, rs->node));
}

/* Pod i: known by its addresses; when local, its sides are enforced. */
static int add_pod(struct compiler *c, size_t i)
{
	const struct pw_eng_pod *ep = &c->e->pods[i];
	struct pw_ruleset *rs = c->rs;
	bool local = is_local(rs, ep->pod);
	uint32_t cls;
	int ret = 0;

	for (size_t j = 0; j < ep->pod->nips && !ret; j++) {
		const struct pw_addr *a = &ep->pod->ips[j];

		ret = pw_nft_addrs_add(&rs->known[pw_addr_fam(a)],
				       pw_addr_to_u128(a));
		if (!ret && local)
			ret = pw_nft_addrs_add(&rs->self[pw_addr_fam(a)],
					       pw_addr_to_u128(a));
	}
	if (ret || !local)
		return ret;
	if (!ep->pod->nips) {
		rs->nskipped++;
		return 0;
	}
	rs->nlocal++;
	for (int d = 0; d < PW_DIR_NR && !ret; d++) {
		if (!ep->nsel[d])
			continue; /* not isolated: no entry, nothing to check */
		ret = class_of(c, i, (enum pw_dir)d, &cls);
		if (!ret) /* the index, until classes get their ids */
			ret = pw_nft_vmap_add(rs, (enum pw_dir)d, ep->pod,
					      ep->name, (uint32_t)i, cls);
	}
	return ret;
}

/* ---- the ruleset ---------------------------------------------------- */

static int vmap_cmp(const void *pa, const void *pb)
{
	const struct pw_nft_vmap *a = pa, *b = pb;

	if (a->addr != b->addr)
		return pw_u128_cmp(a->addr, b->addr);
	return a->pod < b->pod ? -1 : a->pod > b->pod;
}

/* Sorted by address; an address twice (two pods claiming one IP, which
 * the API server would not allow at once) keeps the first pod in matrix
 * order, since a map holds one verdict per key. */
static void vmap_sort(struct pw_nft_vmaps *m)
{
	size_t out = 0;

	pw_sort(m->v, m->n, sizeof(*m->v), vmap_cmp);
	for (size_t i = 0; i < m->n; i++) {
		if (out && m->v[i].addr == m->v[out - 1].addr) {
			free(m->v[i].comment);
			continue;
		}
		m->v[out++] = m->v[i];
	}
	m->n = out;
}

static void addrs_sort(struct pw_addrs *s)
{
	size_t out = 0;

	pw_sort(s->v, s->n, sizeof(*s->v), pw_u128_qcmp);
	for (size_t i = 0; i < s->n; i++)
		if (!out || s->v[i] != s->v[out - 1])
			s->v[out++] = s->v[i];
	s->n = out;
}

/* This node's pod ranges: where an address that is no known pod is
 * dropped (fail-closed). */
int pw_nft_node_ranges(struct pw_ruleset *rs, const struct pw_cluster *c)
{
	for (size_t i = 0; rs->node && i < c->nnodes; i++) {
		const struct pw_node *n = &c->nodes[i];

		if (strcmp(n->name, rs->node))
			continue;
		for (size_t j = 0; j < n->npod_cidrs; j++) {
			struct pw_ival iv = pw_cidr_ival(&n->pod_cidrs[j]);
			enum pw_fam f = pw_addr_fam(&n->pod_cidrs[j].addr);

			if (pw_ivals_add(&rs->ranges[f], iv.lo, iv.hi))
				return -ENOMEM;
		}
	}
	for (int f = 0; f < PW_FAM_NR; f++)
		pw_ivals_normalize(&rs->ranges[f]);
	return 0;
}

PW_EXPORT int pw_ruleset_add_pod_cidr(struct pw_ruleset *rs, const char *cidr)
{
	struct pw_cidr c;
	struct pw_ival iv;
	enum pw_fam f;

	if (pw_cidr_parse(cidr, &c, NULL, NULL))
		return -EINVAL;
	iv = pw_cidr_ival(&c);
	f = pw_addr_fam(&c.addr);
	if (pw_ivals_add(&rs->ranges[f], iv.lo, iv.hi))
		return -ENOMEM;
	pw_ivals_normalize(&rs->ranges[f]);
	/* The cached kernel image no longer matches. */
	pw_nft_image_free(rs->image);
	rs->image = NULL;
	return 0;
}

const struct pw_nft_vmap *pw_nft_vmap_find(const struct pw_nft_vmaps *m,
					   pw_u128 addr)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->v[mid].addr == addr)
			return &m->v[mid];
		if (m->v[mid].addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

PW_EXPORT int pw_ruleset_set_flow_log(struct pw_ruleset *rs, unsigned int flags,
				      uint16_t group)
{
	if (flags & ~(unsigned int)(PW_FLOW_LOG_DENIED | PW_FLOW_LOG_ALLOWED))
		return -EINVAL;
	rs->flow_log = flags;
	rs->flow_group = flags ? group : 0;
	pw_nft_image_free(rs->image);
	rs->image = NULL;
	return 0;
}

PW_EXPORT int pw_ruleset_set_ct_mark_mask(struct pw_ruleset *rs, uint32_t mask)
{
	if (!pw_nft_mask_ok(mask))
		return -EINVAL;
	rs->ct_mask = mask;
	rs->ct_gen = pw_nft_gen_first(mask);
	pw_nft_image_free(rs->image);
	rs->image = NULL;
	return 0;
}

PW_EXPORT int pw_ct_mark_mask_parse(const char *text, uint32_t *mask)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(text, &end, 0);
	if (errno || end == text || *end || *text == '-' || v > UINT32_MAX ||
	    !pw_nft_mask_ok((uint32_t)v))
		return -EINVAL;
	*mask = (uint32_t)v;
	return 0;
}

/* Orders classes by identity, then elements (the tie-break). */
static int class_order(const void *pa, const void *pb)
{
	const struct pw_nft_class *a = pa, *b = pb;

	if (a->ident != b->ident)
		return a->ident < b->ident ? -1 : 1;
	return pw_nft_class_cmp(a, b);
}

/*
 * Gives side d's classes their ids and sorts them by id, which is the
 * order they are rendered in: the identity, or the next id after the
 * previous class's when a collision took it. The vmap entries, which
 * hold class indices until now, then get the ids.
 */
static int class_ids(struct pw_ruleset *rs, enum pw_dir d)
{
	size_t n = rs->ncls[d];
	uint64_t *ids = calloc(n + 1, sizeof(*ids));

	if (!ids)
		return -ENOMEM;
	for (size_t j = 0; j < n; j++)
		rs->cls[d][j].id = j; /* remember the index across the sort */
	pw_sort(rs->cls[d], n, sizeof(*rs->cls[d]), class_order);
	for (size_t j = 0; j < n; j++) {
		struct pw_nft_class *k = &rs->cls[d][j];
		uint64_t id = k->ident;

		if (j && id <= rs->cls[d][j - 1].id)
			id = rs->cls[d][j - 1].id + 1;
		ids[k->id] = id;
		k->id = id;
	}
	for (int f = 0; f < PW_FAM_NR; f++)
		for (size_t i = 0; i < rs->vmap[d][f].n; i++)
			rs->vmap[d][f].v[i].cls = ids[rs->vmap[d][f].v[i].cls];
	free(ids);
	return 0;
}

int pw_nft_finish(struct pw_ruleset *rs)
{
	int ret = 0;

	for (int d = 0; d < PW_DIR_NR && !ret; d++)
		ret = class_ids(rs, (enum pw_dir)d);
	for (int f = 0; f < PW_FAM_NR && !ret; f++) {
		for (int d = 0; d < PW_DIR_NR; d++)
			vmap_sort(&rs->vmap[d][f]);
		addrs_sort(&rs->known[f]);
		addrs_sort(&rs->self[f]);
	}
	return ret;
}

static int compile(struct compiler *c)
{
	int ret = pw_nft_node_ranges(c->rs, c->e->c);

	for (size_t i = 0; i < c->e->npods && !ret; i++)
		ret = add_pod(c, i);
	return ret ? ret : pw_nft_finish(c->rs);
}

/* The compiler's working memory (not the ruleset it fills). */
static void compiler_free(struct compiler *c)
{
	for (int d = 0; d < PW_DIR_NR; d++)
		free(c->keys[d]);
	pw_nft_scratch_clear(&c->scratch);
	free(c->pols);
	for (size_t i = 0; c->sets && i < c->e->nsets; i++)
		for (int f = 0; f < PW_FAM_NR; f++)
			free(c->sets[i].v[f].v);
	free(c->sets);
}

struct pw_ruleset *pw_nft_ruleset_alloc(const char *node)
{
	struct pw_ruleset *rs = calloc(1, sizeof(*rs));

	if (!rs)
		return NULL;
	rs->node = pw_strdup(node);
	if (node && !rs->node) {
		free(rs);
		return NULL;
	}
	rs->ct_mask = PW_CT_MARK_MASK_DEFAULT;
	rs->ct_gen = pw_nft_gen_first(rs->ct_mask);
	return rs;
}

PW_EXPORT struct pw_ruleset *pw_ruleset_new(const struct pw_engine *e,
					    const char *node)
{
	struct compiler c = { .e = e };
	int ret = -EINVAL;

	if (!e)
		goto err;
	ret = -ENOMEM;
	c.rs = pw_nft_ruleset_alloc(node);
	c.sets = calloc(e->nsets ? e->nsets : 1, sizeof(*c.sets));
	if (!c.rs || !c.sets) {
		free(c.sets);
		pw_ruleset_free(c.rs);
		goto err;
	}
	ret = compile(&c);
	compiler_free(&c);
	if (ret)
		goto err_free_rs;
	return c.rs;
err_free_rs:
	pw_ruleset_free(c.rs);
err:
	errno = -ret;
	return NULL;
}

PW_EXPORT void pw_ruleset_free(struct pw_ruleset *rs)
{
	if (!rs)
		return;
	for (int d = 0; d < PW_DIR_NR; d++) {
		for (size_t i = 0; i < rs->ncls[d]; i++)
			pw_nft_class_clear(&rs->cls[d][i]);
		free(rs->cls[d]);
		for (int f = 0; f < PW_FAM_NR; f++) {
			for (size_t i = 0; i < rs->vmap[d][f].n; i++)
				free(rs->vmap[d][f].v[i].comment);
			free(rs->vmap[d][f].v);
		}
	}
	for (int f = 0; f < PW_FAM_NR; f++) {
		free(rs->ranges[f].v);
		free(rs->known[f].v);
		free(rs->self[f].v);
		free(rs->spoof[f].v);
	}
	pw_nft_image_free(rs->image);
	free(rs->node);
	free(rs);
}

PW_EXPORT size_t pw_ruleset_local_count(const struct pw_ruleset *rs)
{
	return rs->nlocal;
}

PW_EXPORT size_t pw_ruleset_local_addr_count(const struct pw_ruleset *rs)
{
	return rs->self[PW_FAM_V4].n + rs->self[PW_FAM_V6].n;
}

PW_EXPORT size_t pw_ruleset_skipped_count(const struct pw_ruleset *rs)
{
	return rs->nskipped;
}

PW_EXPORT size_t pw_ruleset_range_count(const struct pw_ruleset *rs)
{
	return rs->ranges[PW_FAM_V4].n + rs->ranges[PW_FAM_V6].n;
}
