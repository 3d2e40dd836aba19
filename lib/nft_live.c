// SPDX-License-Identifier: Apache-2.0
/*
 * The incremental compiler (include/podwall/datapath.h, struct pw_live).
 *
 * A ruleset is a function of three things that change at very different
 * rates: which pods each distinct peer admits (a pod event touches the
 * few peers that admit it), which policies select each local pod (only
 * the pods of the namespace whose policies or labels changed), and the
 * elements of each class (only classes whose policies or peers changed).
 * pw_live keeps all three, keyed by names that survive from one cluster
 * to the next, and moves them to the next cluster in passes:
 *
 *   namespaces  matched by name; labels compared.
 *   pods        matched by engine name ("ns/name", "ns/name[Kind]"); a
 *               pod whose labels, addresses, node or ports changed leaves
 *               every peer it was in and is tested again against the
 *               peers that could admit it (its namespace's own peers and
 *               the peers with a namespaceSelector).
 *   namespaces  whose labels changed: their pods are tested again
 *               against the peers with a namespaceSelector.
 *   policies    matched by (namespace, name); a changed policy releases
 *               its peers and takes the new ones (a peer seen for the
 *               first time is matched against the pods it could admit)
 *               and makes its namespace's pods choose their classes again.
 *   selection   the local pods marked above find the policies that select
 *               them and the class of that list.
 *   classes     rebuilt when new, when one of their policies changed,
 *               when a peer they name changed its pods, or, for egress
 *               rules with named ports (which resolve on every
 *               destination), when any pod changed.
 *
 * Objects are recognised as unchanged first by identity: a cluster built
 * from pw_units shares the unit's objects, so the struct of an unchanged
 * object is byte-equal from one cluster to the next. Otherwise their
 * content is compared (the same manifests parsed again are no change).
 *
 * What stays proportional to the cluster per call: the walks that match
 * the new cluster's objects to the kept ones (hash lookups, pointer
 * updates) and the copy of the ruleset handed out (the caller owns it
 * and diffs it against the one applied). No selector is evaluated and no
 * class is built for what did not change.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "addr.h"
#include "datapath.h"
#include "engine.h"
#include "labels.h"
#include "nsindex.h"

#define NONE UINT32_MAX

struct lpod {
	const struct pw_pod *p; /* in the current cluster; NULL: free */
	char *name; /* the engine's name of the pod */
	uint64_t hash; /* of name */
	uint32_t ns;
	uint32_t cls[PW_DIR_NR]; /* its classes, NONE when not isolated */
	uint32_t epoch; /* last call that saw it */
	uint32_t pos; /* in the last cluster's order of matrix pods */
	bool local;
	bool reselect; /* its classes are to be found again */
};

struct lns {
	const struct pw_namespace *n; /* NULL: free */
	uint64_t hash; /* of its name */
	uint32_t epoch;
	bool relabelled;
	uint32_t *pods; /* matrix pods in it, unordered */
	size_t npods, cap_pods;
	uint32_t *pols; /* its policies, sorted by name */
	size_t npols, cap_pols;
	uint32_t *peers; /* peers without namespaceSelector of its policies */
	size_t npeers, cap_peers;
};

struct lpol {
	const struct pw_policy *p; /* NULL: free */
	uint64_t hash; /* of (namespace, name) */
	uint32_t ns;
	uint32_t epoch;
	bool changed; /* this call: its rules differ from last call's */
	bool dead; /* removed this call; freed after the selection */
	/* peer slot of peer k of rule r on side d: peer[roff[d][r] + k],
	 * NONE for an ipBlock */
	uint32_t *peer;
	uint32_t *roff[PW_DIR_NR];
};

struct lpeer {
	const struct pw_peer *rep; /* NULL: free */
	uint32_t ns; /* the policy's namespace (no namespaceSelector) */
	uint64_t hash;
	uint32_t refs;
	uint32_t *members; /* sorted pod slots */
	size_t nmembers, cap_members;
	struct pw_ivals addrs[PW_FAM_NR]; /* of the members, merged */
	bool stale; /* members changed since addrs were merged */
	bool changed; /* this call */
};

struct lclass {
	uint32_t refs; /* local pods; 0: free */
	enum pw_dir dir;
	uint64_t hash; /* of the key */
	uint32_t *pols; /* the key: policy slots in cluster order ... */
	size_t npols;
	struct pw_cport *ports; /* ... and the named ports they resolve */
	size_t nports;
	bool built, named_egress;
	struct pw_nft_class k;
	uint32_t out; /* index in the ruleset being assembled */
};

/* Open addressing over slots of one of the arrays above (slot + 1; 0 is
 * empty), linear probing, deletion by backward shift. */
struct lmap {
	uint32_t *v;
	size_t size, n;
};

struct pw_live {
	char *node;
	uint32_t epoch;
	struct lpod *pods;
	size_t npods, cap_pods;
	struct lns *nss;
	size_t nnss, cap_nss;
	struct lpol *pols;
	size_t npols, cap_pols;
	struct lpeer *peers;
	size_t npeers, cap_peers;
	struct lclass *cls;
	size_t ncls, cap_cls;
	struct lmap pod_map, ns_map, pol_map, peer_map, cls_map;
	/* free slots, reused by the next object */
	uint32_t *free_pods, *free_peers, *free_cls, *free_nss, *free_pols;
	size_t nfree_pods, nfree_peers, nfree_cls, nfree_nss, nfree_pols;
	size_t cap_free_pods, cap_free_peers, cap_free_cls, cap_free_nss,
		cap_free_pols;
	/* The matrix pods of the last cluster in its order, for matching
	 * the next cluster's pods without hashing their names. */
	uint32_t *order;
	size_t norder;
	uint32_t *nssel; /* peers with a namespaceSelector */
	/* The namespaces' labels indexed, built when a new peer with a
	 * namespaceSelector first needs it in a call; cleared after. */
	struct pw_nsindex nsx;
	bool nsx_built;
	size_t nnssel, cap_nssel;
	bool pods_changed; /* this call: for classes with named egress ports */
	struct pw_nft_scratch scratch;
	struct pw_live_stats st;
	const struct pw_policy **polv; /* a class's policies, while building */
	size_t cap_polv;
};

/* ---- hashing ---------------------------------------------------------- */

static uint64_t hash_str(uint64_t h, const char *s)
{
	return pw_hash_bytes(h, s, strlen(s));
}

/* The hash of the engine's name of pod p, without writing the name. */
static uint64_t pod_hash(const struct pw_pod *p)
{
	uint64_t h = hash_str(hash_str(hash_str(PW_HASH_INIT, p->ns), "/"),
			      p->name);

	if (p->kind)
		h = hash_str(hash_str(hash_str(h, "["), p->kind), "]");
	return h;
}

/* Whether name is the engine's name of p. */
static bool pod_named(const char *name, const struct pw_pod *p)
{
	size_t ln = strlen(p->ns), lm = strlen(p->name);

	if (strncmp(name, p->ns, ln) || name[ln] != '/' ||
	    strncmp(name + ln + 1, p->name, lm))
		return false;
	name += ln + 1 + lm;
	if (!p->kind)
		return !*name;
	return *name == '[' && !strncmp(name + 1, p->kind, strlen(p->kind)) &&
	       !strcmp(name + 1 + strlen(p->kind), "]");
}

static uint64_t pol_hash(const char *ns, const char *name)
{
	return hash_str(hash_str(hash_str(PW_HASH_INIT, ns), "/"), name);
}

/* ---- slot maps -------------------------------------------------------- */

/* The hash of the object in slot s, for moving entries on deletion. */
typedef uint64_t (*slot_hash_fn)(const struct pw_live *l, uint32_t s);

static int lmap_grow(struct lmap *m, const struct pw_live *l, slot_hash_fn hf)
{
	size_t size = m->size ? 2 * m->size : 64;
	uint32_t *v = calloc(size, sizeof(*v));

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < m->size; i++) {
		size_t at;

		if (!m->v[i])
			continue;
		for (at = hf(l, m->v[i] - 1) & (size - 1); v[at];
		     at = (at + 1) & (size - 1))
			;
		v[at] = m->v[i];
	}
	free(m->v);
	m->v = v;
	m->size = size;
	return 0;
}

/* Room for one more entry (at most half full). */
static int lmap_reserve(struct lmap *m, const struct pw_live *l,
			slot_hash_fn hf)
{
	return 2 * (m->n + 1) > m->size ? lmap_grow(m, l, hf) : 0;
}

static void lmap_put(struct lmap *m, uint64_t h, uint32_t s)
{
	size_t at;

	for (at = h & (m->size - 1); m->v[at]; at = (at + 1) & (m->size - 1))
		;
	m->v[at] = s + 1;
	m->n++;
}

static void lmap_del(struct lmap *m, const struct pw_live *l, slot_hash_fn hf,
		     uint64_t h, uint32_t s)
{
	size_t mask = m->size - 1, at, next;

	for (at = h & mask; m->v[at] != s + 1; at = (at + 1) & mask)
		;
	m->v[at] = 0;
	m->n--;
	/* Moves back the entries that probed past the hole. */
	for (next = (at + 1) & mask; m->v[next]; next = (next + 1) & mask) {
		size_t home = hf(l, m->v[next] - 1) & mask;

		if (((next - home) & mask) >= ((next - at) & mask)) {
			m->v[at] = m->v[next];
			m->v[next] = 0;
			at = next;
		}
	}
}

/* Iterates the candidate slots of hash h: `for (s = first; s != NONE; s =
 * next)`. */
static uint32_t lmap_first(const struct lmap *m, uint64_t h, size_t *at)
{
	if (!m->size)
		return NONE;
	*at = h & (m->size - 1);
	return m->v[*at] ? m->v[*at] - 1 : NONE;
}

static uint32_t lmap_next(const struct lmap *m, size_t *at)
{
	*at = (*at + 1) & (m->size - 1);
	return m->v[*at] ? m->v[*at] - 1 : NONE;
}

static uint64_t pod_slot_hash(const struct pw_live *l, uint32_t s)
{
	return l->pods[s].hash;
}

static uint64_t ns_slot_hash(const struct pw_live *l, uint32_t s)
{
	return l->nss[s].hash;
}

static uint64_t pol_slot_hash(const struct pw_live *l, uint32_t s)
{
	return l->pols[s].hash;
}

static uint64_t peer_slot_hash(const struct pw_live *l, uint32_t s)
{
	return l->peers[s].hash;
}

static uint64_t cls_slot_hash(const struct pw_live *l, uint32_t s)
{
	return l->cls[s].hash;
}

/* ---- slots ------------------------------------------------------------ */

static int push_u32(uint32_t **v, size_t *n, size_t *cap, uint32_t x)
{
	uint32_t *p = PW_PUSH(*v, *n, *cap);

	if (!p)
		return -ENOMEM;
	*p = x;
	return 0;
}

/* Removes x from an unordered list. */
static void drop_u32(uint32_t *v, size_t *n, uint32_t x)
{
	for (size_t i = 0; i < *n; i++)
		if (v[i] == x) {
			v[i] = v[--*n];
			return;
		}
}

/* A free slot of an array of elem-sized objects, zeroed: a freed one or
 * a new one at the end. NONE on ENOMEM. */
static uint32_t slot_new(void **arr, size_t *n, size_t *cap, size_t elem,
			 uint32_t *free_v, size_t *nfree)
{
	uint32_t s;

	if (*nfree) {
		s = free_v[--*nfree];
	} else {
		if (!pw_push(arr, n, cap, elem))
			return NONE;
		s = (uint32_t)(*n - 1);
	}
	memset((char *)*arr + (size_t)s * elem, 0, elem);
	return s;
}

#define SLOT_NEW(l, what)                                                \
	slot_new((void **)&(l)->what, &(l)->n##what, &(l)->cap_##what,   \
		 sizeof(*(l)->what), (l)->free_##what, &(l)->nfree_##what)

/* Reserves room in a free list for every slot of its array, so that
 * freeing never fails. */
static int reserve_free(uint32_t **v, size_t *cap, size_t n)
{
	return pw_grow((void **)v, cap, n + 1, sizeof(**v));
}

static int reserve_all_free(struct pw_live *l)
{
	if (reserve_free(&l->free_pods, &l->cap_free_pods, l->npods) ||
	    reserve_free(&l->free_peers, &l->cap_free_peers, l->npeers) ||
	    reserve_free(&l->free_cls, &l->cap_free_cls, l->ncls) ||
	    reserve_free(&l->free_nss, &l->cap_free_nss, l->nnss) ||
	    reserve_free(&l->free_pols, &l->cap_free_pols, l->npols))
		return -ENOMEM;
	return 0;
}

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

static bool peer_eq(const struct lpeer *x, const struct pw_peer *p,
		    uint32_t ns)
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

static bool is_member(const struct lpeer *x, uint32_t q)
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
static int each_candidate(struct pw_live *l, uint32_t q,
			  int (*fn)(struct pw_live *l, struct lpeer *x,
				    uint32_t q))
{
	const struct lns *n = &l->nss[l->pods[q].ns];
	int ret = 0;

	for (size_t i = 0; i < n->npeers && !ret; i++)
		ret = fn(l, &l->peers[n->peers[i]], q);
	for (size_t i = 0; i < l->nnssel && !ret; i++)
		ret = fn(l, &l->peers[l->nssel[i]], q);
	return ret;
}

static int leave(struct pw_live *l, struct lpeer *x, uint32_t q)
{
	member_del(l, x, q);
	return 0;
}

static int join(struct pw_live *l, struct lpeer *x, uint32_t q)
{
	return peer_admits(l, x, &l->pods[q]) ? member_add(l, x, q) : 0;
}

/* Tests pod q again (its labels or its namespace's changed). */
static int rejoin(struct pw_live *l, struct lpeer *x, uint32_t q)
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
		ret = join(l, x, n->pods[i]);
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
	if (!f.ret && pw_nsindex_each(&l->nsx, &x->rep->ns_sel, fill_candidate,
				      &f))
		return f.ret;
	for (size_t i = 0; i < l->nnss && !f.ret; i++)
		if (l->nss[i].n)
			f.ret = fill_ns(l, x, (uint32_t)i);
	return f.ret;
}

static void peer_free(struct pw_live *l, uint32_t s)
{
	struct lpeer *x = &l->peers[s];

	lmap_del(&l->peer_map, l, peer_slot_hash, x->hash, s);
	if (x->rep->has_ns_sel)
		drop_u32(l->nssel, &l->nnssel, s);
	else
		drop_u32(l->nss[x->ns].peers, &l->nss[x->ns].npeers, s);
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

	if (lmap_reserve(&l->peer_map, l, peer_slot_hash) ||
	    push_u32(&l->nssel, &l->nnssel, &l->cap_nssel, 0) ||
	    push_u32(&l->nss[ns].peers, &l->nss[ns].npeers,
		     &l->nss[ns].cap_peers, 0))
		return -ENOMEM;
	l->nnssel--; /* room reserved in both lists */
	l->nss[ns].npeers--;
	s = SLOT_NEW(l, peers);
	if (s == NONE || reserve_free(&l->free_peers, &l->cap_free_peers,
				      l->npeers))
		return -ENOMEM;
	x = &l->peers[s];
	x->rep = p;
	x->ns = ns;
	x->hash = h;
	x->refs = 1;
	lmap_put(&l->peer_map, h, s);
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
static int peer_get(struct pw_live *l, const struct pw_peer *p, uint32_t ns,
		    uint32_t *out)
{
	uint64_t h = peer_hash(p, ns);
	size_t at;

	for (uint32_t s = lmap_first(&l->peer_map, h, &at); s != NONE;
	     s = lmap_next(&l->peer_map, &at)) {
		struct lpeer *x = &l->peers[s];

		if (x->hash == h && peer_eq(x, p, ns)) {
			x->refs++;
			*out = s;
			return 0;
		}
	}
	return peer_new(l, p, ns, h, out);
}

static void peer_put(struct pw_live *l, uint32_t s)
{
	if (s != NONE && !--l->peers[s].refs)
		peer_free(l, s);
}

/* The members' addresses, merged again when the members changed. */
static const struct pw_ivals *peer_addrs(struct pw_live *l, struct lpeer *x)
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

/* ---- what changed ------------------------------------------------------- */

static bool labels_eq(const struct pw_labels *a, const struct pw_labels *b)
{
	if (a->v == b->v && a->n == b->n)
		return true;
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++) /* sorted by key */
		if (strcmp(a->v[i].key, b->v[i].key) ||
		    strcmp(a->v[i].value, b->v[i].value))
			return false;
	return true;
}

static bool str_eq(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static bool cport_eq(const struct pw_cport *a, const struct pw_cport *b)
{
	return a->port == b->port && a->proto == b->proto &&
	       str_eq(a->name, b->name);
}

/* Whether two versions of a matrix pod compile alike: what peers,
 * selection, classes and maps read of a pod. */
static bool pod_same(const struct pw_pod *a, const struct pw_pod *b)
{
	if (!memcmp(a, b, sizeof(*a)))
		return true; /* the same unit's object */
	if (!labels_eq(&a->labels, &b->labels) || !str_eq(a->node, b->node) ||
	    a->nips != b->nips || a->nports != b->nports)
		return false;
	for (size_t i = 0; i < a->nips; i++)
		if (memcmp(&a->ips[i], &b->ips[i], sizeof(a->ips[i])))
			return false;
	for (size_t i = 0; i < a->nports; i++)
		if (!cport_eq(&a->ports[i], &b->ports[i]))
			return false;
	return true;
}

static bool cidr_eq(const struct pw_cidr *a, const struct pw_cidr *b)
{
	return a->len == b->len && a->addr.family == b->addr.family &&
	       !memcmp(a->addr.b, b->addr.b, sizeof(a->addr.b));
}

static bool peer_same(const struct pw_peer *a, const struct pw_peer *b)
{
	if (a->has_ipblock != b->has_ipblock ||
	    a->has_ns_sel != b->has_ns_sel)
		return false;
	if (a->has_ipblock) {
		if (!cidr_eq(&a->ipblock.cidr, &b->ipblock.cidr) ||
		    a->ipblock.nexcept != b->ipblock.nexcept)
			return false;
		for (size_t i = 0; i < a->ipblock.nexcept; i++)
			if (!cidr_eq(&a->ipblock.except[i].cidr,
				     &b->ipblock.except[i].cidr))
				return false;
		return true;
	}
	return (!a->has_ns_sel || pw_selector_equal(&a->ns_sel, &b->ns_sel)) &&
	       pw_selector_equal(&a->pod_sel, &b->pod_sel);
}

static bool port_same(const struct pw_np_port *a, const struct pw_np_port *b)
{
	return a->proto == b->proto && a->has_port == b->has_port &&
	       a->named == b->named && a->has_end == b->has_end &&
	       (!a->has_port ||
		(a->named ? !strcmp(a->name, b->name) : a->port == b->port)) &&
	       (!a->has_end || a->end_port == b->end_port);
}

static bool rule_same(const struct pw_rule *a, const struct pw_rule *b)
{
	if (a->npeers != b->npeers || a->nports != b->nports)
		return false;
	for (size_t k = 0; k < a->npeers; k++)
		if (!peer_same(&a->peers[k], &b->peers[k]))
			return false;
	for (size_t k = 0; k < a->nports; k++)
		if (!port_same(&a->ports[k], &b->ports[k]))
			return false;
	return true;
}

/* Whether two versions of a policy compile alike. */
static bool pol_same(const struct pw_policy *a, const struct pw_policy *b)
{
	if (!memcmp(a, b, sizeof(*a)))
		return true;
	if (!pw_selector_equal(&a->pod_sel, &b->pod_sel))
		return false;
	for (int d = 0; d < PW_DIR_NR; d++) {
		if (a->affects[d] != b->affects[d] ||
		    a->nrules[d] != b->nrules[d])
			return false;
		for (size_t r = 0; r < a->nrules[d]; r++)
			if (!rule_same(&a->rules[d][r], &b->rules[d][r]))
				return false;
	}
	return true;
}

/* ---- namespaces --------------------------------------------------------- */

static uint32_t ns_find(const struct pw_live *l, const char *name, uint64_t h)
{
	size_t at;

	for (uint32_t s = lmap_first(&l->ns_map, h, &at); s != NONE;
	     s = lmap_next(&l->ns_map, &at))
		if (l->nss[s].hash == h && !strcmp(l->nss[s].n->name, name))
			return s;
	return NONE;
}

static int ns_walk(struct pw_live *l, const struct pw_cluster *c)
{
	for (size_t i = 0; i < c->nnss; i++) {
		const struct pw_namespace *n = &c->nss[i];
		uint64_t h = hash_str(PW_HASH_INIT, n->name);
		uint32_t s = ns_find(l, n->name, h);

		if (s == NONE) {
			if (lmap_reserve(&l->ns_map, l, ns_slot_hash))
				return -ENOMEM;
			s = SLOT_NEW(l, nss);
			if (s == NONE)
				return -ENOMEM;
			l->nss[s].hash = h;
			lmap_put(&l->ns_map, h, s);
			l->st.namespaces_changed++;
		} else if (!labels_eq(&l->nss[s].n->labels, &n->labels)) {
			l->nss[s].relabelled = true;
			l->st.namespaces_changed++;
		}
		l->nss[s].n = n;
		l->nss[s].epoch = l->epoch;
	}
	return 0;
}

/* After pods and policies are gone from them. */
static void ns_sweep(struct pw_live *l)
{
	for (uint32_t s = 0; s < l->nnss; s++) {
		struct lns *n = &l->nss[s];

		if (!n->n)
			continue;
		n->relabelled = false;
		if (n->epoch == l->epoch)
			continue;
		l->st.namespaces_changed++;
		lmap_del(&l->ns_map, l, ns_slot_hash, n->hash, s);
		free(n->pods);
		free(n->pols);
		free(n->peers);
		memset(n, 0, sizeof(*n));
		l->free_nss[l->nfree_nss++] = s;
	}
}

/* Namespaces whose labels changed: their pods against the peers with a
 * namespaceSelector. */
static int ns_relabel(struct pw_live *l)
{
	int ret = 0;

	for (uint32_t s = 0; s < l->nnss && !ret; s++) {
		const struct lns *n = &l->nss[s];

		if (!n->n || !n->relabelled)
			continue;
		for (size_t i = 0; i < n->npods && !ret; i++)
			for (size_t k = 0; k < l->nnssel && !ret; k++)
				ret = rejoin(l, &l->peers[l->nssel[k]],
					     n->pods[i]);
	}
	return ret;
}

/* ---- pods --------------------------------------------------------------- */

static bool pod_local(const struct pw_live *l, const struct pw_pod *p)
{
	return !l->node || (p->node && !strcmp(p->node, l->node));
}

static uint32_t pod_find(const struct pw_live *l, const struct pw_pod *p,
			 uint64_t h)
{
	size_t at;

	for (uint32_t s = lmap_first(&l->pod_map, h, &at); s != NONE;
	     s = lmap_next(&l->pod_map, &at))
		if (l->pods[s].hash == h && pod_named(l->pods[s].name, p))
			return s;
	return NONE;
}

static int pod_new(struct pw_live *l, const struct pw_pod *p, uint64_t h)
{
	uint32_t ns = ns_find(l, p->ns, hash_str(PW_HASH_INIT, p->ns));
	uint32_t s;
	struct lpod *q;

	if (ns == NONE)
		return -EINVAL; /* finalize adds every namespace */
	if (lmap_reserve(&l->pod_map, l, pod_slot_hash) ||
	    push_u32(&l->nss[ns].pods, &l->nss[ns].npods,
		     &l->nss[ns].cap_pods, 0))
		return -ENOMEM;
	l->nss[ns].npods--; /* room reserved */
	s = SLOT_NEW(l, pods);
	if (s == NONE)
		return -ENOMEM;
	q = &l->pods[s];
	q->name = pw_pod_matrix_name(p);
	if (!q->name)
		return -ENOMEM;
	q->p = p;
	q->hash = h;
	q->ns = ns;
	q->cls[PW_DIR_INGRESS] = q->cls[PW_DIR_EGRESS] = NONE;
	q->local = pod_local(l, p);
	q->reselect = true;
	lmap_put(&l->pod_map, h, s);
	l->nss[ns].pods[l->nss[ns].npods++] = s;
	return each_candidate(l, s, join);
}

static void cls_put(struct pw_live *l, uint32_t s);

/*
 * The slot of pod p, or NONE. Clusters keep their pods sorted, so the
 * pod after the last one matched is the likely one; when both are the
 * same unit's object (the name string is shared), that is certain and no
 * hash is needed. *cursor follows the old order.
 */
static uint32_t pod_match(const struct pw_live *l, const struct pw_pod *p,
			  size_t *cursor, uint64_t *h)
{
	uint32_t s;

	if (*cursor < l->norder) {
		s = l->order[*cursor];
		if (l->pods[s].p && l->pods[s].p->name == p->name &&
		    l->pods[s].p->ns == p->ns && l->pods[s].p->kind == p->kind) {
			++*cursor;
			*h = l->pods[s].hash;
			return s;
		}
	}
	*h = pod_hash(p);
	s = pod_find(l, p, *h);
	if (s != NONE && l->pods[s].pos < l->norder &&
	    l->order[l->pods[s].pos] == s)
		*cursor = l->pods[s].pos + 1;
	return s;
}

/* One pod of the new cluster: new, changed (it leaves its peers and joins
 * those that admit it now) or the same (only its pointer moves). */
static int pod_step(struct pw_live *l, const struct pw_pod *p, size_t *cursor,
		    uint32_t *out)
{
	uint64_t h;
	uint32_t s = pod_match(l, p, cursor, &h);
	int ret = 0;

	if (s == NONE) {
		ret = pod_new(l, p, h);
		s = ret ? NONE : pod_find(l, p, h);
	} else if (!pod_same(l->pods[s].p, p)) {
		each_candidate(l, s, leave);
		l->pods[s].p = p;
		l->pods[s].local = pod_local(l, p);
		l->pods[s].reselect = true;
		ret = each_candidate(l, s, join);
	} else {
		l->pods[s].p = p;
		l->pods[s].epoch = l->epoch;
		*out = s;
		return 0;
	}
	if (s != NONE)
		l->pods[s].epoch = l->epoch;
	l->st.pods_changed++;
	l->pods_changed = true;
	*out = s;
	return ret;
}

/* Every matrix pod of c, in c's order, which becomes the order the next
 * call's cursor follows. */
static int pod_walk(struct pw_live *l, const struct pw_cluster *c)
{
	uint32_t *order = calloc(c->npods + 1, sizeof(*order));
	size_t cursor = 0, n = 0;
	int ret = order ? 0 : -ENOMEM;

	for (size_t i = 0; i < c->npods && !ret; i++) {
		uint32_t s = NONE;

		if (!pw_pod_in_matrix(&c->pods[i]))
			continue;
		ret = pod_step(l, &c->pods[i], &cursor, &s);
		if (!ret)
			order[n++] = s;
	}
	if (ret) {
		free(order);
		return ret;
	}
	for (size_t i = 0; i < n; i++)
		l->pods[order[i]].pos = (uint32_t)i;
	free(l->order);
	l->order = order;
	l->norder = n;
	return 0;
}

static void pod_free(struct pw_live *l, uint32_t s)
{
	struct lpod *q = &l->pods[s];

	each_candidate(l, s, leave);
	for (int d = 0; d < PW_DIR_NR; d++)
		cls_put(l, q->cls[d]);
	drop_u32(l->nss[q->ns].pods, &l->nss[q->ns].npods, s);
	lmap_del(&l->pod_map, l, pod_slot_hash, q->hash, s);
	free(q->name);
	memset(q, 0, sizeof(*q));
	l->free_pods[l->nfree_pods++] = s;
}

static void pod_sweep(struct pw_live *l)
{
	for (uint32_t s = 0; s < l->npods; s++) {
		if (!l->pods[s].p || l->pods[s].epoch == l->epoch)
			continue;
		pod_free(l, s);
		l->st.pods_changed++;
		l->pods_changed = true;
	}
}

/* ---- policies ----------------------------------------------------------- */

static uint32_t pol_find(const struct pw_live *l, const struct pw_policy *p,
			 uint64_t h)
{
	size_t at;

	for (uint32_t s = lmap_first(&l->pol_map, h, &at); s != NONE;
	     s = lmap_next(&l->pol_map, &at)) {
		const struct lpol *x = &l->pols[s];

		if (x->hash == h && !x->dead && !strcmp(x->p->ns, p->ns) &&
		    !strcmp(x->p->name, p->name))
			return s;
	}
	return NONE;
}

/* Every local pod of namespace ns finds its classes again. */
static void ns_reselect(struct pw_live *l, uint32_t ns)
{
	const struct lns *n = &l->nss[ns];

	for (size_t i = 0; i < n->npods; i++)
		l->pods[n->pods[i]].reselect = true;
}

/* Takes the peers of policy s's rules. */
static int pol_acquire(struct pw_live *l, uint32_t s)
{
	struct lpol *x = &l->pols[s];
	const struct pw_policy *p = x->p;
	size_t n = 0;
	int ret = 0;

	for (int d = 0; d < PW_DIR_NR; d++) {
		x->roff[d] = calloc(p->nrules[d] + 1, sizeof(*x->roff[d]));
		if (!x->roff[d])
			return -ENOMEM;
		for (size_t r = 0; r < p->nrules[d]; r++) {
			x->roff[d][r] = (uint32_t)n;
			n += p->rules[d][r].npeers;
		}
		x->roff[d][p->nrules[d]] = (uint32_t)n; /* the end */
	}
	x->peer = malloc((n ? n : 1) * sizeof(*x->peer));
	if (!x->peer)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		x->peer[i] = NONE;
	for (int d = 0; d < PW_DIR_NR && !ret; d++) {
		for (size_t r = 0; r < p->nrules[d] && !ret; r++) {
			const struct pw_rule *ru = &p->rules[d][r];

			for (size_t k = 0; k < ru->npeers && !ret; k++) {
				/* the slot, written when peer_get succeeded */
				uint32_t at = l->pols[s].roff[d][r] + (uint32_t)k, ps;

				if (ru->peers[k].has_ipblock)
					continue;
				ret = peer_get(l, &ru->peers[k], l->pols[s].ns,
					       &ps);
				if (!ret)
					l->pols[s].peer[at] = ps;
			}
		}
	}
	return ret;
}

/* Gives back the peers of policy s's rules (as they were taken). */
static void pol_release(struct pw_live *l, uint32_t s)
{
	struct lpol *x = &l->pols[s];
	size_t n = 0;

	for (int d = 0; d < PW_DIR_NR && x->roff[d]; d++)
		for (size_t r = 0; r < x->p->nrules[d]; r++)
			n += x->p->rules[d][r].npeers;
	for (size_t i = 0; x->peer && i < n; i++)
		peer_put(l, x->peer[i]);
	free(x->peer);
	x->peer = NULL;
	for (int d = 0; d < PW_DIR_NR; d++) {
		free(x->roff[d]);
		x->roff[d] = NULL;
	}
}

/* Inserts policy s into its namespace's list, sorted by name. */
static int ns_add_pol(struct pw_live *l, uint32_t s)
{
	struct lns *n = &l->nss[l->pols[s].ns];
	const char *name = l->pols[s].p->name;
	size_t at = 0;

	if (push_u32(&n->pols, &n->npols, &n->cap_pols, s))
		return -ENOMEM;
	while (at + 1 < n->npols && strcmp(l->pols[n->pols[at]].p->name, name) < 0)
		at++;
	memmove(&n->pols[at + 1], &n->pols[at],
		(n->npols - 1 - at) * sizeof(*n->pols));
	n->pols[at] = s;
	return 0;
}

static void ns_del_pol(struct pw_live *l, uint32_t s)
{
	struct lns *n = &l->nss[l->pols[s].ns];

	for (size_t i = 0; i < n->npols; i++)
		if (n->pols[i] == s) {
			memmove(&n->pols[i], &n->pols[i + 1],
				(n->npols - i - 1) * sizeof(*n->pols));
			n->npols--;
			return;
		}
}

static int pol_new(struct pw_live *l, const struct pw_policy *p, uint64_t h)
{
	uint32_t ns = ns_find(l, p->ns, hash_str(PW_HASH_INIT, p->ns));
	uint32_t s;
	int ret;

	if (ns == NONE)
		return -EINVAL;
	if (lmap_reserve(&l->pol_map, l, pol_slot_hash))
		return -ENOMEM;
	s = SLOT_NEW(l, pols);
	if (s == NONE)
		return -ENOMEM;
	l->pols[s].p = p;
	l->pols[s].hash = h;
	l->pols[s].ns = ns;
	l->pols[s].epoch = l->epoch;
	l->pols[s].changed = true;
	lmap_put(&l->pol_map, h, s);
	ret = ns_add_pol(l, s);
	if (!ret)
		ret = pol_acquire(l, s);
	ns_reselect(l, ns);
	return ret;
}

static int pol_walk(struct pw_live *l, const struct pw_cluster *c)
{
	int ret = 0;

	for (size_t i = 0; i < c->npols && !ret; i++) {
		const struct pw_policy *p = &c->pols[i];
		uint64_t h = pol_hash(p->ns, p->name);
		uint32_t s = pol_find(l, p, h);

		if (s == NONE) {
			ret = pol_new(l, p, h);
		} else if (!pol_same(l->pols[s].p, p)) {
			pol_release(l, s);
			l->pols[s].p = p;
			l->pols[s].changed = true;
			ret = pol_acquire(l, s);
			ns_reselect(l, l->pols[s].ns);
		} else {
			l->pols[s].p = p;
			l->pols[s].epoch = l->epoch;
			continue;
		}
		if (s != NONE)
			l->pols[s].epoch = l->epoch;
		l->st.policies_changed++;
	}
	return ret;
}

/* Policies gone from the cluster: they give back their peers at once and
 * are freed after the selection, when no class names them any more. */
static void pol_sweep(struct pw_live *l)
{
	for (uint32_t s = 0; s < l->npols; s++) {
		struct lpol *x = &l->pols[s];

		if (!x->p || x->dead || x->epoch == l->epoch)
			continue;
		pol_release(l, s);
		ns_del_pol(l, s);
		ns_reselect(l, x->ns);
		x->dead = true;
		l->st.policies_changed++;
	}
}

static void pol_free_dead(struct pw_live *l)
{
	for (uint32_t s = 0; s < l->npols; s++) {
		struct lpol *x = &l->pols[s];

		if (x->p && !x->dead)
			x->changed = false;
		if (!x->p || !x->dead)
			continue;
		lmap_del(&l->pol_map, l, pol_slot_hash, x->hash, s);
		memset(x, 0, sizeof(*x));
		l->free_pols[l->nfree_pols++] = s;
	}
}

/* Every peer's representative points into the new cluster, which the
 * next call may need after the old one is freed. */
static void peer_repoint(struct pw_live *l)
{
	for (uint32_t s = 0; s < l->npols; s++) {
		const struct lpol *x = &l->pols[s];

		if (!x->p || x->dead)
			continue;
		for (int d = 0; d < PW_DIR_NR; d++)
			for (size_t r = 0; r < x->p->nrules[d]; r++)
				for (size_t k = 0;
				     k < x->p->rules[d][r].npeers; k++) {
					uint32_t ps = x->peer[x->roff[d][r] + k];

					if (ps != NONE)
						l->peers[ps].rep =
							&x->p->rules[d][r]
								 .peers[k];
				}
	}
}

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
		h = hash_str(h, k->ports[i].name);
		h = pw_hash_bytes(h, &k->ports[i].port, sizeof(k->ports[i].port));
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

	lmap_del(&l->cls_map, l, cls_slot_hash, x->hash, s);
	for (size_t i = 0; i < x->nports; i++)
		free(x->ports[i].name);
	free(x->ports);
	free(x->pols);
	pw_nft_class_clear(&x->k);
	memset(x, 0, sizeof(*x));
	l->free_cls[l->nfree_cls++] = s;
}

static void cls_put(struct pw_live *l, uint32_t s)
{
	if (s != NONE && !--l->cls[s].refs)
		cls_free(l, s);
}

static int cls_new(struct pw_live *l, const struct ckey *k, uint64_t h,
		   uint32_t *out)
{
	struct lclass *x;
	uint32_t s;

	if (lmap_reserve(&l->cls_map, l, cls_slot_hash))
		return -ENOMEM;
	s = SLOT_NEW(l, cls);
	if (s == NONE ||
	    reserve_free(&l->free_cls, &l->cap_free_cls, l->ncls))
		return -ENOMEM;
	x = &l->cls[s];
	x->dir = k->dir;
	x->hash = h;
	lmap_put(&l->cls_map, h, s);
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

	for (uint32_t s = lmap_first(&l->cls_map, h, &at); s != NONE;
	     s = lmap_next(&l->cls_map, &at))
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
		    push_u32(&sel->pols, &sel->npols, &sel->cap_pols,
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
static int select_all(struct pw_live *l)
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
			cls_put(l, q->cls[d]);
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

	return peer_addrs(ls->l, src_peer(ls, j, r, k));
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
	return is_member(src_peer(ctx, j, r, k), (uint32_t)q);
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

static int cls_rebuild(struct pw_live *l)
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
		struct lclass *x = (struct lclass *)((char *)v[i] -
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

static int out_ruleset(struct pw_live *l, const struct pw_cluster *c,
		       struct pw_ruleset **out)
{
	struct pw_ruleset *rs = calloc(1, sizeof(*rs));
	int ret = rs ? 0 : -ENOMEM;

	if (!ret) {
		rs->node = pw_strdup(l->node);
		if (l->node && !rs->node)
			ret = -ENOMEM;
	}
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

/* ---- the object --------------------------------------------------------- */

static void live_clear(struct pw_live *l)
{
	for (uint32_t s = 0; s < l->npods; s++)
		free(l->pods[s].name);
	for (uint32_t s = 0; s < l->nnss; s++) {
		free(l->nss[s].pods);
		free(l->nss[s].pols);
		free(l->nss[s].peers);
	}
	for (uint32_t s = 0; s < l->npols; s++) {
		free(l->pols[s].peer);
		for (int d = 0; d < PW_DIR_NR; d++)
			free(l->pols[s].roff[d]);
	}
	for (uint32_t s = 0; s < l->npeers; s++) {
		free(l->peers[s].members);
		for (int f = 0; f < PW_FAM_NR; f++)
			free(l->peers[s].addrs[f].v);
	}
	for (uint32_t s = 0; s < l->ncls; s++) {
		for (size_t i = 0; i < l->cls[s].nports; i++)
			free(l->cls[s].ports[i].name);
		free(l->cls[s].ports);
		free(l->cls[s].pols);
		pw_nft_class_clear(&l->cls[s].k);
	}
	free(l->pods);
	free(l->nss);
	free(l->pols);
	free(l->peers);
	free(l->cls);
	free(l->pod_map.v);
	free(l->ns_map.v);
	free(l->pol_map.v);
	free(l->peer_map.v);
	free(l->cls_map.v);
	free(l->free_pods);
	free(l->free_peers);
	free(l->free_cls);
	free(l->free_nss);
	free(l->free_pols);
	free(l->nssel);
	free(l->order);
	pw_nsindex_clear(&l->nsx);
	free(l->polv);
	pw_nft_scratch_clear(&l->scratch);
	memset(l, 0, sizeof(*l));
}

PW_EXPORT struct pw_live *pw_live_new(const char *node)
{
	struct pw_live *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->node = pw_strdup(node);
	if (node && !l->node) {
		free(l);
		errno = ENOMEM;
		return NULL;
	}
	return l;
}

PW_EXPORT void pw_live_free(struct pw_live *l)
{
	if (!l)
		return;
	free(l->node);
	live_clear(l);
	free(l);
}

/* Forgets everything but the node: the next call compiles from nothing. */
static void live_reset(struct pw_live *l)
{
	char *node = l->node;

	l->node = NULL;
	live_clear(l);
	l->node = node;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The passes, in the order the header comment gives. */
static int live_step(struct pw_live *l, const struct pw_cluster *c)
{
	int ret = reserve_all_free(l);

	if (!ret)
		ret = ns_walk(l, c);
	if (!ret)
		ret = pod_walk(l, c);
	if (!ret)
		ret = reserve_all_free(l);
	if (!ret) {
		pod_sweep(l);
		ret = ns_relabel(l);
	}
	if (!ret)
		ret = pol_walk(l, c);
	if (!ret)
		ret = reserve_all_free(l);
	if (ret)
		return ret;
	pol_sweep(l);
	peer_repoint(l);
	ret = select_all(l);
	if (!ret)
		ret = cls_rebuild(l);
	if (!ret)
		ret = reserve_all_free(l);
	if (ret)
		return ret;
	pol_free_dead(l);
	ns_sweep(l);
	return 0;
}

PW_EXPORT struct pw_ruleset *pw_live_compile(struct pw_live *l,
					     const struct pw_cluster *c,
					     struct pw_live_stats *st)
{
	uint64_t t0 = now_ns();
	struct pw_ruleset *rs = NULL;
	int ret = -EINVAL;

	if (!l || !c)
		goto out;
	memset(&l->st, 0, sizeof(l->st));
	l->st.full = l->epoch == 0;
	l->epoch++;
	l->pods_changed = false;
	ret = live_step(l, c);
	pw_nsindex_clear(&l->nsx); /* labels change before the next call */
	l->nsx_built = false;
	if (!ret)
		ret = out_ruleset(l, c, &rs);
	if (ret) {
		live_reset(l);
		goto out;
	}
	for (uint32_t s = 0; s < l->ncls; s++)
		l->st.classes += l->cls[s].refs > 0;
	l->st.ns = now_ns() - t0;
	if (st)
		*st = l->st;
out:
	if (ret)
		errno = -ret;
	return rs;
}
