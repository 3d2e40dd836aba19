/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The connectivity change between two versions of a cluster: what the
 * files of lib/diff*.c share (include/podwall/diff.h is the API).
 *
 * Three steps. First the ports are cut into classes: the answer on a port
 * depends only on which policy port entries (numbers and ranges) contain
 * it and on which container ports with a name some policy uses sit on it,
 * so the elementary intervals between those bounds, grouped by the set of
 * entries that contain them, are the classes; one representative port per
 * class stands for all its ports. Ports that nothing names behave alike on
 * every protocol unless some entry names a protocol without a port, so
 * they share one class across protocols.
 *
 * Second, per class, the engine's matrix of each version is compared pair
 * by pair over the union of both versions' pods (matched by name), and the
 * verdicts towards and from address classes (lib/addrclass.h) are
 * computed per class of policy selection, since an outside address is
 * only ever matched by ipBlocks. Only the rows and columns of pods whose
 * policies (or the pods themselves) changed are compared (diff_sides.c).
 * Each change is folded at once into its (workload, workload) entry: a
 * bitset of the port classes that changed and the first concrete
 * connection seen, the witness.
 *
 * Third, entries are merged: every workload of a namespace that changed
 * alike towards one end becomes the namespace, then adjacent address
 * classes with the same change become one range, and the port classes of
 * each group become sorted, merged port ranges.
 *
 * The files, one concept each:
 *   diff.c          the diff: pods of both versions and their workloads,
 *                   the computation from start to end, the accessors
 *   diff_map.c      a small hash map from 64-bit keys to indexes
 *   diff_ports.c    port classes (first step)
 *   diff_sides.c    which sides of which pods can have changed
 *   diff_compare.c  comparing pods and address classes, recording the
 *                   changes into entries (second step)
 *   diff_group.c    merging entries and making groups (third step)
 */
#ifndef PODWALL_LIB_DIFF_H
#define PODWALL_LIB_DIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <podwall/diff.h>

#include "addrclass.h"
#include "engine.h"

enum { V_OLD, V_NEW, V_NR };

/* ---- diff_map.c ------------------------------------------------------- */

struct u64map {
	uint64_t *keys;
	uint32_t *vals; /* index + 1; 0 for a free slot */
	size_t size, used;
};

void u64map_free(struct u64map *m);
/* The index stored for key, or -1. */
long u64map_get(const struct u64map *m, uint64_t key);
/* Stores val for key (replacing it). 0 or -ENOMEM. */
int u64map_put(struct u64map *m, uint64_t key, uint32_t val);

/* ---- diff_ports.c ----------------------------------------------------- */

/* A range of ports named by a policy entry, or a named container port. */
struct feat {
	uint8_t proto;
	uint16_t lo, hi;
};

/* An elementary interval of ports, all in one class. */
struct piv {
	uint8_t proto;
	uint16_t lo, hi;
	uint32_t cls;
};

struct ports {
	struct feat *feats;
	size_t nfeats, cap_feats;
	const struct pw_np_port **names; /* named entries, for container ports */
	size_t nnames, cap_names;
	bool portless[PW_PROTO_NR]; /* an entry names the protocol only */
	struct piv *ivs;
	size_t nivs, cap_ivs;
	struct pw_port *reps; /* per class */
	size_t ncls, cap_cls;
	uint64_t *sigs; /* per class, the features containing it */
	size_t sig_words, cap_sigs;
};

/* Cuts the ports of both clusters (cs[V_OLD], cs[V_NEW]) into classes.
 * 0 or -ENOMEM; ps is freed with diff_ports_free() in every case. */
int diff_ports_build(struct ports *ps, const struct pw_cluster *const *cs);
void diff_ports_free(struct ports *ps);

/* ---- the model: pods, workloads, namespaces, entries, groups ---------- */

/* A pod of either version, matched by name. */
struct upod {
	const char *name; /* borrowed from an engine */
	const struct pw_pod *pod; /* the new version's when it has one */
	long idx[V_NR]; /* matrix index per version, -1 when absent */
	uint32_t wl;
};

/* A workload, or a pod that belongs to none. */
struct wl {
	char *name;
	enum pw_diff_end kind;
	uint32_t ns;
	uint32_t count[PW_CHANGE_NR]; /* with pods in that change's version */
};

struct uns {
	const char *name; /* borrowed from a pod */
	uint32_t count[PW_CHANGE_NR]; /* workloads */
};

/* Ends of an entry: a workload, a namespace or address classes id..last;
 * a witness end is a union pod or an address class. */
enum end_kind { END_WL, END_NS, END_ADDR, END_POD };

struct end {
	uint8_t kind;
	uint32_t id, last;
};

/* The changes between one ordered pair of ends. */
struct entry {
	uint8_t change;
	bool dead; /* merged into another entry */
	struct end from, to;
	struct end wfrom, wto; /* the witness */
	uint32_t wcls;
	size_t bits; /* offset into the class bitset pool */
};

struct range {
	struct pw_port first;
	uint16_t last;
};

struct group {
	char *from, *to;
	enum pw_diff_end fk, tk;
	struct range *r;
	size_t nr;
	char *wfrom, *wto;
	struct pw_port wport;
};

struct pw_diff {
	struct group *g[PW_CHANGE_NR];
	size_t n[PW_CHANGE_NR], cap[PW_CHANGE_NR];
	uint64_t pairs[PW_CHANGE_NR];
	size_t nclasses;
};

/* Everything the computation needs; freed once the groups are built. */
struct ctx {
	const struct pw_engine *e[V_NR];
	struct ports ps;
	struct pw_addrclass_set *ac;
	size_t nac;
	struct upod *up;
	size_t nup;
	int32_t *ix[V_NR]; /* per union pod, its matrix index or -1 */
	struct wl *wls;
	size_t nwls, cap_wls;
	struct uns *nss;
	size_t nnss, cap_nss;
	struct u64map wl_by_hash;
	struct entry *ents;
	size_t nents, cap_ents;
	struct u64map ent_by_key;
	uint64_t *pool;
	size_t npool, cap_pool, cw; /* cw: words per class bitset */
	uint64_t *seen[PW_CHANGE_NR]; /* pod pairs already counted */
	uint64_t *seen_addr[PW_CHANGE_NR][PW_DIR_NR];
	size_t last_ent; /* + 1: the entry of the last change */
	bool on_to; /* the side being merged, while sorting */
	/* Sides (per direction and union pod) that may differ between the
	 * versions: see diff_sides.c. */
	bool *changed[PW_DIR_NR];
	uint32_t *in_changed; /* union pods whose ingress changed */
	size_t nin_changed;
	struct pw_diff *d;
};

/* Ends of entries: equal, and an end of one element. */
static inline bool end_eq(struct end a, struct end b)
{
	return a.kind == b.kind && a.id == b.id && a.last == b.last;
}

static inline struct end end_of(uint8_t kind, size_t id)
{
	return (struct end){ .kind = kind,
			     .id = (uint32_t)id,
			     .last = (uint32_t)id };
}

/* ---- diff_sides.c ----------------------------------------------------- */

/* Marks, per direction and union pod, the sides that may differ between
 * the versions (x->changed, x->in_changed). 0 or -ENOMEM. */
int diff_find_changed_sides(struct ctx *x);
/* Whether side d of union pod f may have changed. */
static inline bool side_changed(const struct ctx *x, enum pw_dir d, size_t f)
{
	return x->changed[d][f];
}

/* ---- diff_compare.c --------------------------------------------------- */

/* Compares both versions on port class k: pods, then address classes,
 * folding every change into x's entries. 0 or -errno. */
int diff_compare_class(struct ctx *x, uint32_t k);

/* ---- diff_group.c ----------------------------------------------------- */

/* Merges workloads into namespaces, then adjacent address classes, on the
 * `to` side when on_to, else on the `from` side. 0 or -ENOMEM. */
int diff_merge_namespaces(struct ctx *x, bool on_to);
int diff_merge_addrs(struct ctx *x, bool on_to);
/* Makes the groups of x->d from the live entries, sorted. 0 or -ENOMEM. */
int diff_build_groups(struct ctx *x);
void diff_group_clear(struct group *g);

#endif
