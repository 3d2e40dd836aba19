/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The ruleset model behind include/podwall/datapath.h (internal).
 *
 * nft_compile.c fills it from the engine, nft_render.c prints it, and
 * nft_apply.c hands the printed script to libnftables. Everything here is
 * plain data: addresses as 128-bit integers (IPv4 in the low 32 bits), so
 * interval arithmetic is ordinary integer arithmetic.
 *
 * A class is what one local pod's side (ingress or egress) admits, as the
 * elements of at most four sets: per family, address intervals admitted
 * on every protocol and port (rules without `ports`), and boxes (address
 * interval, protocol, port interval) for rules with ports. The elements
 * are normalized (sorted, disjoint, merged), so two pods admit the same
 * traffic exactly when their classes are byte-equal: they then share one
 * chain. The kernel's concatenated interval sets (pipapo) reject
 * overlapping elements, which is one more reason to normalize here.
 */
#ifndef PW_DATAPATH_H
#define PW_DATAPATH_H

#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <podwall/datapath.h>
#include "model.h"

typedef unsigned __int128 pw_u128;

struct pw_nft_image;

enum pw_fam {
	PW_FAM_V4,
	PW_FAM_V6,
	PW_FAM_NR,
};

/* [lo, hi], both included. */
struct pw_ival {
	pw_u128 lo, hi;
};

/* Addresses [lo, hi] on protocol proto (an IP protocol number), ports
 * [plo, phi]. */
struct pw_box {
	pw_u128 lo, hi;
	uint8_t proto;
	uint16_t plo, phi;
};

struct pw_ivals {
	struct pw_ival *v;
	size_t n, cap;
};

struct pw_boxes {
	struct pw_box *v;
	size_t n, cap;
};

/*
 * A class's id names its chain (in_c<id as 16 hex digits>) and sets. It is
 * not the order in which the compiler met the class (a class met early
 * would rename every later one, and an update would replace nearly the
 * whole table) but its identity: a hash of the names of the policies that
 * select its pods on that side and, for ingress, of the named container
 * ports those policies' rules resolve on them, the only inputs besides the
 * peers' addresses (which only change the elements). Pods with equal
 * identity and elements share the class. Two classes whose identities
 * hash alike (astronomically rare) are ordered by their elements and the
 * later one takes the next free id, so ids stay unique and deterministic.
 */
struct pw_nft_class {
	uint64_t id; /* chain in_c<id> or eg_c<id> */
	uint64_t ident; /* hash of the identity, before the tie-break */
	struct pw_ivals addr[PW_FAM_NR];
	struct pw_boxes ports[PW_FAM_NR];
	uint64_t hash; /* of the normalized elements */
	char *comment; /* sanitized policy names */
};

/* A vmap element: local pod address -> class chain. */
struct pw_nft_vmap {
	pw_u128 addr;
	uint64_t cls; /* the class's id */
	uint32_t pod; /* matrix index, to order duplicates */
	char *comment; /* sanitized pod name */
};

struct pw_nft_vmaps {
	struct pw_nft_vmap *v;
	size_t n, cap;
};

struct pw_addrs {
	pw_u128 *v;
	size_t n, cap;
};

/* Anti-spoofing: packets entering from interface ifname may carry
 * source addr (a local pod's address, whose route leads there). */
struct pw_nft_spoof {
	char ifname[16]; /* IFNAMSIZ, NUL-padded as the kernel compares */
	pw_u128 addr;
};

struct pw_nft_spoofs {
	struct pw_nft_spoof *v;
	size_t n, cap;
};

struct pw_ruleset {
	char *node; /* NULL: every pod is local */
	struct pw_nft_class *cls[PW_DIR_NR];
	size_t ncls[PW_DIR_NR], cap_cls[PW_DIR_NR];
	struct pw_nft_vmaps vmap[PW_DIR_NR][PW_FAM_NR];
	struct pw_ivals ranges[PW_FAM_NR]; /* this node's pod CIDRs */
	struct pw_addrs known[PW_FAM_NR]; /* every pod address */
	struct pw_addrs self[PW_FAM_NR]; /* local pod addresses */
	struct pw_nft_spoofs spoof[PW_FAM_NR]; /* sorted by (ifname, addr) */
	size_t nlocal, nskipped;
	unsigned int flow_log; /* PW_FLOW_LOG_* */
	uint16_t flow_group; /* nflog group */
	/* The verdict cache (docs/DATAPATH.md "The verdict cache"): the
	 * conntrack mark bits podwall owns (0: no cache), and the
	 * generation the rules carry in them: the first one until an apply
	 * gives the next, which it writes back here (a cache, like image),
	 * so that an image built again later carries what the kernel has. */
	uint32_t ct_mask;
	uint32_t ct_gen;
	/* The kernel form of the ruleset (nft_image.h), built the first
	 * time it is applied and kept, so that the next update compares
	 * against it without building it again. A cache: filled through a
	 * const pointer, so one ruleset is not applied from two threads at
	 * once. */
	struct pw_nft_image *image;
};

/* qsort, which must not see a NULL array even when it is empty. */
static inline void pw_sort(void *v, size_t n, size_t size,
			   int (*cmp)(const void *, const void *))
{
	if (n > 1)
		qsort(v, n, size, cmp);
}

static inline int pw_u128_cmp(pw_u128 a, pw_u128 b)
{
	return a < b ? -1 : a > b;
}

/* qsort orders of intervals (lo, then hi), boxes (address, protocol,
 * port) and plain addresses. */
int pw_ival_cmp(const void *pa, const void *pb);
int pw_box_cmp(const void *pa, const void *pb);
int pw_u128_qcmp(const void *pa, const void *pb);

/* The highest address of a family. */
static inline pw_u128 pw_fam_max(enum pw_fam f)
{
	return f == PW_FAM_V4 ? (pw_u128)0xffffffffu : ~(pw_u128)0;
}

pw_u128 pw_addr_to_u128(const struct pw_addr *a);
void pw_u128_to_addr(pw_u128 v, enum pw_fam f, struct pw_addr *out);
enum pw_fam pw_addr_fam(const struct pw_addr *a);
/* The addresses of a prefix. */
struct pw_ival pw_cidr_ival(const struct pw_cidr *c);

/* Appends one interval / box; 0 or -ENOMEM. */
int pw_ivals_add(struct pw_ivals *s, pw_u128 lo, pw_u128 hi);
int pw_boxes_add(struct pw_boxes *s, const struct pw_box *b);
/* Sorts and merges overlapping and adjacent intervals, in place. */
void pw_ivals_normalize(struct pw_ivals *s);
/* Adds [c.cidr] minus every except of b (all in c's family). 0/-ENOMEM. */
int pw_ivals_add_ipblock(struct pw_ivals *s, const struct pw_ipblock *b);
/*
 * Rewrites the boxes as disjoint boxes covering the same points, sorted
 * by (address, protocol, port): per protocol, the address line is cut
 * where any box starts or ends, each piece gets the merged union of the
 * port intervals covering it, and neighbouring pieces with equal port
 * lists are joined. 0 or -ENOMEM (then s is unchanged).
 */
int pw_boxes_normalize(struct pw_boxes *s, enum pw_fam f);

/*
 * Writes an interval as nft reads it: "10.0.0.1", "10.0.0.0/24", or
 * "10.0.0.1-10.0.0.6" when it is no prefix. Returns the length like
 * snprintf.
 */
int pw_ival_format(const struct pw_ival *iv, enum pw_fam f, char *buf,
		   size_t len);
/* A class chain's name: its direction's prefix, "_c" and its id as 16
 * hex digits (sets append "_<kind>"). */
#define PW_NFT_CLASS_FMT "%s_c%016" PRIx64

/* Room for a comment with its NUL: nft takes at most 128 characters. */
#define PW_NFT_COMMENT_MAX 120

/* Copies s into buf keeping [A-Za-z0-9_./:-] and writing '_' for any
 * other byte, cut at len - 1 with "..." when longer. */
void pw_nft_sanitize(const char *s, char *buf, size_t len);

/* The distinct interface names of the anti-spoofing entries, sorted:
 * their number; *out (when out is not NULL) a malloc'd array of borrowed
 * names, NULL on ENOMEM (then 0). */
size_t pw_nft_ifnames(const struct pw_ruleset *rs, const char ***out);

/* The entry of addr in a verdict map (sorted by address), or NULL. */
const struct pw_nft_vmap *pw_nft_vmap_find(const struct pw_nft_vmaps *m,
					   pw_u128 addr);

/* ---- classes (nft_class.c) ---------------------------------------- */

/* IP protocol numbers of enum pw_proto. */
extern const uint8_t pw_proto_num[PW_PROTO_NR];

/* A port span of a rule: protocol number and [lo, hi]. */
struct pw_nft_span {
	uint8_t proto;
	uint16_t lo, hi;
};

struct pw_nft_spans {
	struct pw_nft_span *v;
	size_t n, cap;
};

/* Memory a class build works in, reused from one build to the next. */
struct pw_nft_scratch {
	struct pw_ivals peer[PW_FAM_NR]; /* one rule's peers */
	struct pw_nft_spans spans; /* one rule's ports */
};

void pw_nft_scratch_clear(struct pw_nft_scratch *s);

/*
 * What the builder asks about selector peers: peer k of rule r (on the
 * source's side) of the source's policy j. Pods are slots 0..npods-1
 * of the caller's numbering, NULL for an empty slot; they are only asked
 * for by egress rules with named ports, which resolve on each
 * destination.
 */
struct pw_nft_src_ops {
	/* The admitted pods' addresses, merged, per family (an array of
	 * PW_FAM_NR); NULL on ENOMEM. */
	const struct pw_ivals *(*addrs)(void *ctx, size_t j, size_t r,
					size_t k);
	size_t (*npods)(void *ctx);
	const struct pw_pod *(*pod)(void *ctx, size_t q);
	bool (*admits)(void *ctx, size_t j, size_t r, size_t k, size_t q);
};

/* The inputs of one class: a side, the policies selecting its pods on
 * that side in cluster order, and for ingress the container ports its
 * named ports resolve on (a pod's ports; only those the policies name
 * count). */
struct pw_nft_src {
	const struct pw_nft_src_ops *ops;
	void *ctx;
	enum pw_dir dir;
	const struct pw_policy *const *pols;
	size_t npols;
	const struct pw_cport *ports;
	size_t nports;
};

/* Builds k (elements normalized, hash, identity, comment; not its id).
 * 0 or -ENOMEM (k then empty). */
int pw_nft_class_build(const struct pw_nft_src *src, struct pw_nft_scratch *s,
		       struct pw_nft_class *k);
/* Whether one of the policies' rules on side d names container port cp
 * (which then is part of an ingress class's identity). */
bool pw_nft_port_named(const struct pw_policy *const *pols, size_t n,
		       enum pw_dir d, const struct pw_cport *cp);
/* A total order on the elements (equal: 0), for the tie-break of
 * classes whose identities hash alike. */
int pw_nft_class_cmp(const struct pw_nft_class *a,
		     const struct pw_nft_class *b);
/* A deep copy; 0 or -ENOMEM (to then empty). */
int pw_nft_class_copy(struct pw_nft_class *to, const struct pw_nft_class *from);
void pw_nft_class_clear(struct pw_nft_class *k);

/* ---- assembling a ruleset (nft_compile.c) ------------------------- */

/* Adds local pod p's addresses to side d's verdict maps, towards class
 * index cls (until pw_nft_finish gives classes their ids); order breaks
 * ties between pods claiming one address (lower wins: the engine's
 * matrix order). 0 or -ENOMEM. */
int pw_nft_vmap_add(struct pw_ruleset *rs, enum pw_dir d,
		    const struct pw_pod *p, const char *name, uint32_t order,
		    uint32_t cls);
/* An empty ruleset for node (NULL: every pod local), with the default
 * verdict cache; NULL on ENOMEM. */
struct pw_ruleset *pw_nft_ruleset_alloc(const char *node);
/* Adds this node's pod ranges from the cluster's Node. 0 or -ENOMEM. */
int pw_nft_node_ranges(struct pw_ruleset *rs, const struct pw_cluster *c);
/* Gives classes their ids, sorts everything into its rendered order and
 * drops duplicate addresses. 0 or -ENOMEM. */
int pw_nft_finish(struct pw_ruleset *rs);
/* Appends an address to a list; 0 or -ENOMEM. */
int pw_nft_addrs_add(struct pw_addrs *s, pw_u128 a);

/* The generations of a verdict cache of mask (contiguous bits): the
 * counter in those bits, from 1 (the lowest bit) to all ones. 0 is never
 * a generation: a new connection's mark has none. */
static inline uint32_t pw_nft_gen_first(uint32_t mask)
{
	return mask & (~mask + 1);
}

/* Whether mask is one run of set bits, or 0 (no cache). */
static inline bool pw_nft_mask_ok(uint32_t mask)
{
	return !((mask + pw_nft_gen_first(mask)) & mask);
}

/* The generation after gen, or the first one when gen is none (0, or not
 * of this mask) or the last: a new cycle, which *wrapped says. */
static inline uint32_t pw_nft_gen_next(uint32_t mask, uint32_t gen,
				       bool *wrapped)
{
	uint32_t one = pw_nft_gen_first(mask);

	*wrapped = !mask || !gen || (gen & ~mask) || gen == mask;
	return *wrapped ? one : gen + one;
}

/* Frees the cached kernel image of a ruleset (nft_image.c). */
void pw_nft_image_free(struct pw_nft_image *img);

/* Whether this process may change nf_tables in its network namespace
 * (CAP_NET_ADMIN); true when that cannot be told. */
bool pw_nft_may_admin_net(void);

#endif
