/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The incremental compiler's state (internal to nft_live*.c; the design is
 * at the top of nft_live.c and in docs/DATAPATH.md, "Incremental
 * compilation"): objects in arrays of slots, found by name through slot
 * maps, refer to each other by slot.
 *
 *   nft_live.c        the object, the passes over namespaces, pods and
 *                     policies, and what counts as a change
 *   nft_live_peer.c   peers: members, candidates, merged addresses
 *   nft_live_class.c  selection, classes, the ruleset handed out
 *   nft_live_slot.c   slot maps and slot allocation
 */
#ifndef PW_NFT_LIVE_H
#define PW_NFT_LIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "datapath.h"
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

/* The hash of the object in slot s, for moving entries on deletion. */
typedef uint64_t (*slot_hash_fn)(const struct pw_live *l, uint32_t s);

#define SLOT_NEW(l, what)                                                 \
	lv_slot_new((void **)&(l)->what, &(l)->n##what, &(l)->cap_##what, \
		    sizeof(*(l)->what), (l)->free_##what, &(l)->nfree_##what)

/* nft_live_slot.c */
uint64_t lv_hash_str(uint64_t h, const char *s);
/* Room for one more entry (at most half full). 0 or -ENOMEM. */
int lv_map_reserve(struct lmap *m, const struct pw_live *l, slot_hash_fn hf);
void lv_map_put(struct lmap *m, uint64_t h, uint32_t s);
void lv_map_del(struct lmap *m, const struct pw_live *l, slot_hash_fn hf,
		uint64_t h, uint32_t s);
/* The candidate slots of hash h: `for (s = lv_map_first(m, h, &at);
 * s != NONE; s = lv_map_next(m, &at))`. */
uint32_t lv_map_first(const struct lmap *m, uint64_t h, size_t *at);
uint32_t lv_map_next(const struct lmap *m, size_t *at);
uint64_t lv_pod_hash_of(const struct pw_live *l, uint32_t s);
uint64_t lv_ns_hash_of(const struct pw_live *l, uint32_t s);
uint64_t lv_pol_hash_of(const struct pw_live *l, uint32_t s);
uint64_t lv_peer_hash_of(const struct pw_live *l, uint32_t s);
uint64_t lv_cls_hash_of(const struct pw_live *l, uint32_t s);
int lv_push_u32(uint32_t **v, size_t *n, size_t *cap, uint32_t x);
/* Removes x from an unordered list. */
void lv_drop_u32(uint32_t *v, size_t *n, uint32_t x);
uint32_t lv_slot_new(void **arr, size_t *n, size_t *cap, size_t elem,
		     uint32_t *free_v, size_t *nfree);
/* Reserves room in a free list for every slot of its array, so that
 * freeing never fails. */
int lv_reserve_free(uint32_t **v, size_t *cap, size_t n);
int lv_reserve_all_free(struct pw_live *l);

/* nft_live_peer.c */
bool lv_is_member(const struct lpeer *x, uint32_t q);
/* Calls fn on every peer that could hold pod q. */
int lv_each_candidate(struct pw_live *l, uint32_t q,
		      int (*fn)(struct pw_live *l, struct lpeer *x,
				uint32_t q));
/* fn of lv_each_candidate: q leaves x; q joins x if x admits it; q is
 * tested again (its labels or its namespace's changed). */
int lv_leave(struct pw_live *l, struct lpeer *x, uint32_t q);
int lv_join(struct pw_live *l, struct lpeer *x, uint32_t q);
int lv_rejoin(struct pw_live *l, struct lpeer *x, uint32_t q);
/* The slot of the peer equal to p of a policy in namespace ns, with one
 * more reference (a new peer is filled); 0 or -ENOMEM. */
int lv_peer_get(struct pw_live *l, const struct pw_peer *p, uint32_t ns,
		uint32_t *out);
/* Drops a reference (NONE: none); the last frees the peer. */
void lv_peer_put(struct pw_live *l, uint32_t s);
/* The members' addresses, merged again when they changed; NULL on
 * ENOMEM. */
const struct pw_ivals *lv_peer_addrs(struct pw_live *l, struct lpeer *x);

/* nft_live_class.c */
/* Drops a reference to class s (NONE: none); the last frees it. */
void lv_cls_put(struct pw_live *l, uint32_t s);
/* The marked local pods find their classes. 0 or -ENOMEM. */
int lv_select_all(struct pw_live *l);
/* Builds the classes whose inputs changed. 0 or -ENOMEM. */
int lv_cls_rebuild(struct pw_live *l);
/* The ruleset of the state, for cluster c (its node's ranges). */
int lv_out_ruleset(struct pw_live *l, const struct pw_cluster *c,
		   struct pw_ruleset **out);

#endif
