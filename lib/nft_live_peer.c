// SPDX-License-Identifier: Apache-2.0
/*
 * Peers of the incremental compiler (nft_live.h): one per distinct
 * (namespaceSelector, podSelector) or (policy namespace, podSelector),
 * with its member pods, sorted, and their merged addresses. A pod joins
 * and leaves the peers that could admit it; a peer seen for the first
 * time is matched against the pods it can reach.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "labels.h"
#include "nft_live.h"

/* ---- peers ------------------------------------------------------------ */

/* The ns slot is part of the key of a peer without namespaceSelector;
 * slots are stable for as long as the namespace exists, and a peer of a
 * namespace's policy goes with the policy. */
static uint64_t peer_hash(const struct pw_peer *p, uint32_t ns)
{
	uint64_t h = PW_HASH_INIT, v;

	if (p->has_ns_sel) {
		v = pw_selector_hash(&p->ns_sel);
		h = pw_hash_bytes(pw_hash_bytes(h, "n", 1), &v, sizeof(v));
	} else {
		h = pw_hash_bytes(pw_hash_bytes(h, "o", 1), &ns, sizeof(ns));
	}
	v = pw_selector_hash(&p->pod_sel);
	return pw_hash_bytes(h, &v, sizeof(v));
}

static bool peer_eq(const struct lpeer *x, const struct pw_peer *p, uint32_t ns)
{
	const struct pw_peer *a = x->rep;

	if (a->has_ns_sel != p->has_ns_sel)
		return false;
	if (a->has_ns_sel ? !pw_selector_equal(&a->ns_sel, &p->ns_sel) :
			    x->ns != ns)
		return false;
	return pw_selector_equal(&a->pod_sel, &p->pod_sel);
}

static bool peer_admits(const struct pw_live *l, const struct lpeer *x,
			const struct lpod *q)
{
	if (x->rep->has_ns_sel ?
		    !pw_selector_matches(&x->rep->ns_sel,
					 &l->nss[q->ns].n->labels) :
		    q->ns != x->ns)
		return false;
	return pw_selector_matches(&x->rep->pod_sel, &q->p->labels);
}

/* The position of pod slot q in x's members, or where it would go. */
static size_t member_at(const struct lpeer *x, uint32_t q)
{
	size_t lo = 0, hi = x->nmembers;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (x->members[mid] < q)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

bool lv_is_member(const struct lpeer *x, uint32_t q)
{
	size_t at = member_at(x, q);

	return at < x->nmembers && x->members[at] == q;
}

static void peer_touch(struct pw_live *l, struct lpeer *x)
{
	if (!x->changed)
		l->st.peers_recomputed++;
	x->stale = x->changed = true;
}

static int member_add(struct pw_live *l, struct lpeer *x, uint32_t q)
{
	size_t at = member_at(x, q);

	if (at < x->nmembers && x->members[at] == q)
		return 0;
	if (pw_grow((void **)&x->members, &x->cap_members, x->nmembers + 1,
		    sizeof(*x->members)))
		return -ENOMEM;
	memmove(&x->members[at + 1], &x->members[at],
		(x->nmembers - at) * sizeof(*x->members));
	x->members[at] = q;
	x->nmembers++;
	peer_touch(l, x);
	return 0;
}

static void member_del(struct pw_live *l, struct lpeer *x, uint32_t q)
{
	size_t at = member_at(x, q);

	if (at == x->nmembers || x->members[at] != q)
		return;
	memmove(&x->members[at], &x->members[at + 1],
		(x->nmembers - at - 1) * sizeof(*x->members));
	x->nmembers--;
	peer_touch(l, x);
}

/* Calls fn on every peer that could hold pod q: its namespace's own
 * peers and those with a namespaceSelector. */
int lv_each_candidate(struct pw_live *l, uint32_t q,
		      int (*fn)(struct pw_live *l, struct lpeer *x, uint32_t q))
{
	const struct lns *n = &l->nss[l->pods[q].ns];
	int ret = 0;

	for (size_t i = 0; i < n->npeers && !ret; i++)
		ret = fn(l, &l->peers[n->peers[i]], q);
	for (size_t i = 0; i < l->nnssel && !ret; i++)
		ret = fn(l, &l->peers[l->nssel[i]], q);
	return ret;
}

int lv_leave(struct pw_live *l, struct lpeer *x, uint32_t q)
{
	member_del(l, x, q);
	return 0;
}

int lv_join(struct pw_live *l, struct lpeer *x, uint32_t q)
{
	return peer_admits(l, x, &l->pods[q]) ? member_add(l, x, q) : 0;
}

/* Tests pod q again (its labels or its namespace's changed). */
int lv_rejoin(struct pw_live *l, struct lpeer *x, uint32_t q)
{
	if (peer_admits(l, x, &l->pods[q]))
		return member_add(l, x, q);
	member_del(l, x, q);
	return 0;
}

/* The pods of namespace ns that peer x admits. */
static int fill_ns(struct pw_live *l, struct lpeer *x, uint32_t ns)
{
	const struct lns *n = &l->nss[ns];
	int ret = 0;

	if (x->rep->has_ns_sel &&
	    !pw_selector_matches(&x->rep->ns_sel, &n->n->labels))
		return 0;
	for (size_t i = 0; i < n->npods && !ret; i++)
		ret = lv_join(l, x, n->pods[i]);
	return ret;
}

static int nsx_build(struct pw_live *l)
{
	if (l->nsx_built)
		return 0;
	for (uint32_t s = 0; s < l->nnss; s++)
		if (l->nss[s].n &&
		    pw_nsindex_add(&l->nsx, &l->nss[s].n->labels, s))
			return -ENOMEM;
	pw_nsindex_sort(&l->nsx);
	l->nsx_built = true;
	return 0;
}

struct fill {
	struct pw_live *l;
	struct lpeer *x;
	int ret;
};

static void fill_candidate(void *ctx, uint32_t ns)
{
	struct fill *f = ctx;

	if (!f->ret)
		f->ret = fill_ns(f->l, f->x, ns);
}

/* The pods peer x admits: those of its policy's namespace, or of the
 * namespaces its namespaceSelector can match (nsindex.h). */
static int peer_fill(struct pw_live *l, struct lpeer *x)
{
	struct fill f = { .l = l, .x = x };

	if (!x->rep->has_ns_sel)
		return fill_ns(l, x, x->ns);
	f.ret = nsx_build(l);
	if (!f.ret &&
	    pw_nsindex_each(&l->nsx, &x->rep->ns_sel, fill_candidate, &f))
		return f.ret;
	for (size_t i = 0; i < l->nnss && !f.ret; i++)
		if (l->nss[i].n)
			f.ret = fill_ns(l, x, (uint32_t)i);
	return f.ret;
}

static void peer_free(struct pw_live *l, uint32_t s)
{
	struct lpeer *x = &l->peers[s];

	lv_map_del(&l->peer_map, l, lv_peer_hash_of, x->hash, s);
	if (x->rep->has_ns_sel)
		lv_drop_u32(l->nssel, &l->nnssel, s);
	else
		lv_drop_u32(l->nss[x->ns].peers, &l->nss[x->ns].npeers, s);
	free(x->members);
	for (int f = 0; f < PW_FAM_NR; f++)
		free(x->addrs[f].v);
	memset(x, 0, sizeof(*x));
	l->free_peers[l->nfree_peers++] = s;
}

static int peer_new(struct pw_live *l, const struct pw_peer *p, uint32_t ns,
		    uint64_t h, uint32_t *out)
{
	uint32_t s;
	struct lpeer *x;
	int ret;

	if (lv_map_reserve(&l->peer_map, l, lv_peer_hash_of) ||
	    lv_push_u32(&l->nssel, &l->nnssel, &l->cap_nssel, 0) ||
	    lv_push_u32(&l->nss[ns].peers, &l->nss[ns].npeers,
			&l->nss[ns].cap_peers, 0))
		return -ENOMEM;
	l->nnssel--; /* room reserved in both lists */
	l->nss[ns].npeers--;
	s = SLOT_NEW(l, peers);
	if (s == NONE ||
	    lv_reserve_free(&l->free_peers, &l->cap_free_peers, l->npeers))
		return -ENOMEM;
	x = &l->peers[s];
	x->rep = p;
	x->ns = ns;
	x->hash = h;
	x->refs = 1;
	lv_map_put(&l->peer_map, h, s);
	if (p->has_ns_sel)
		l->nssel[l->nnssel++] = s;
	else
		l->nss[ns].peers[l->nss[ns].npeers++] = s;
	peer_touch(l, x);
	ret = peer_fill(l, x);
	*out = s;
	return ret;
}

/* The slot of the peer equal to p (of a policy in namespace ns), taking
 * a reference; a peer seen for the first time is matched against the
 * pods. */
int lv_peer_get(struct pw_live *l, const struct pw_peer *p, uint32_t ns,
		uint32_t *out)
{
	uint64_t h = peer_hash(p, ns);
	size_t at;

	for (uint32_t s = lv_map_first(&l->peer_map, h, &at); s != NONE;
	     s = lv_map_next(&l->peer_map, &at)) {
		struct lpeer *x = &l->peers[s];

		if (x->hash == h && peer_eq(x, p, ns)) {
			x->refs++;
			*out = s;
			return 0;
		}
	}
	return peer_new(l, p, ns, h, out);
}

void lv_peer_put(struct pw_live *l, uint32_t s)
{
	if (s != NONE && !--l->peers[s].refs)
		peer_free(l, s);
}

/* The members' addresses, merged again when the members changed. */
const struct pw_ivals *lv_peer_addrs(struct pw_live *l, struct lpeer *x)
{
	if (!x->stale)
		return x->addrs;
	for (int f = 0; f < PW_FAM_NR; f++)
		x->addrs[f].n = 0;
	for (size_t i = 0; i < x->nmembers; i++) {
		const struct pw_pod *p = l->pods[x->members[i]].p;

		for (size_t j = 0; j < p->nips; j++) {
			pw_u128 a = pw_addr_to_u128(&p->ips[j]);

			if (pw_ivals_add(&x->addrs[pw_addr_fam(&p->ips[j])], a,
					 a))
				return NULL;
		}
	}
	for (int f = 0; f < PW_FAM_NR; f++)
		pw_ivals_normalize(&x->addrs[f]);
	x->stale = false;
	return x->addrs;
}
