// SPDX-License-Identifier: Apache-2.0
/*
 * The connectivity change between two versions of a cluster.
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
 * policies (or the pods themselves) changed are compared (see "sides that
 * can have changed"). Each change is folded at
 * once into its (workload, workload) entry: a bitset of the port classes
 * that changed and the first concrete connection seen, the witness.
 *
 * Third, entries are merged: every workload of a namespace that changed
 * alike towards one end becomes the namespace, then adjacent address
 * classes with the same change become one range, and the port classes of
 * each group become sorted, merged port ranges.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <podwall/diff.h>

#include "addr.h"
#include "addrclass.h"
#include "bitset.h"
#include "engine.h"
#include "workload.h"

enum { V_OLD, V_NEW, V_NR };

/* The version whose pods make up the universe of a change. */
static const int change_version[PW_CHANGE_NR] = {
	[PW_CHANGE_ADDED] = V_NEW,
	[PW_CHANGE_REMOVED] = V_OLD,
};

/* ---- a small hash map from 64-bit keys to indexes ------------------- */

struct u64map {
	uint64_t *keys;
	uint32_t *vals; /* index + 1; 0 for a free slot */
	size_t size, used;
};

static void u64map_free(struct u64map *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}

static size_t u64map_slot(const struct u64map *m, uint64_t key)
{
	size_t mask = m->size - 1;
	size_t at = pw_hash_bytes(PW_HASH_INIT, &key, sizeof(key)) & mask;

	while (m->vals[at] && m->keys[at] != key)
		at = (at + 1) & mask;
	return at;
}

static int u64map_grow(struct u64map *m)
{
	struct u64map n = { .size = m->size ? 2 * m->size : 64 };

	n.keys = calloc(n.size, sizeof(*n.keys));
	n.vals = calloc(n.size, sizeof(*n.vals));
	if (!n.keys || !n.vals) {
		u64map_free(&n);
		return -ENOMEM;
	}
	for (size_t i = 0; i < m->size; i++) {
		size_t at;

		if (!m->vals[i])
			continue;
		at = u64map_slot(&n, m->keys[i]);
		n.keys[at] = m->keys[i];
		n.vals[at] = m->vals[i];
	}
	n.used = m->used;
	u64map_free(m);
	*m = n;
	return 0;
}

/* The index stored for key, or -1. */
static long u64map_get(const struct u64map *m, uint64_t key)
{
	size_t at;

	if (!m->size)
		return -1;
	at = u64map_slot(m, key);
	return m->vals[at] ? (long)m->vals[at] - 1 : -1;
}

static int u64map_put(struct u64map *m, uint64_t key, uint32_t val)
{
	size_t at;

	if (2 * (m->used + 1) > m->size && u64map_grow(m))
		return -ENOMEM;
	at = u64map_slot(m, key);
	if (!m->vals[at])
		m->used++;
	m->keys[at] = key;
	m->vals[at] = val + 1;
	return 0;
}

/* ---- port classes ------------------------------------------------------ */

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

static int add_feat(struct ports *ps, uint8_t proto, int64_t lo, int64_t hi)
{
	struct feat *f = PW_PUSH(ps->feats, ps->nfeats, ps->cap_feats);

	if (!f)
		return -ENOMEM;
	f->proto = proto;
	f->lo = (uint16_t)lo;
	f->hi = (uint16_t)hi;
	return 0;
}

static int entry_feat(struct ports *ps, const struct pw_np_port *pp)
{
	const struct pw_np_port **n;

	if (!pp->has_port) {
		ps->portless[pp->proto] = true;
		return 0;
	}
	if (!pp->named)
		return add_feat(ps, pp->proto, pp->port,
				pp->has_end ? pp->end_port : pp->port);
	n = PW_PUSH(ps->names, ps->nnames, ps->cap_names);
	if (!n)
		return -ENOMEM;
	*n = pp;
	return 0;
}

static int policy_feats(struct ports *ps, const struct pw_policy *p)
{
	for (int d = 0; d < PW_DIR_NR; d++) {
		for (size_t k = 0; k < p->nrules[d]; k++) {
			const struct pw_rule *r = &p->rules[d][k];

			for (size_t j = 0; j < r->nports; j++) {
				int err = entry_feat(ps, &r->ports[j]);

				if (err)
					return err;
			}
		}
	}
	return 0;
}

static bool name_used(const struct ports *ps, const struct pw_cport *cp)
{
	for (size_t i = 0; i < ps->nnames; i++)
		if (ps->names[i]->proto == cp->proto &&
		    !strcmp(ps->names[i]->name, cp->name))
			return true;
	return false;
}

/* A container port matters only when some entry uses its name. */
static int pod_feats(struct ports *ps, const struct pw_pod *p)
{
	for (size_t i = 0; i < p->nports; i++) {
		const struct pw_cport *cp = &p->ports[i];

		if (!cp->name || cp->port < 1 || cp->port > 65535 ||
		    !name_used(ps, cp))
			continue;
		if (add_feat(ps, cp->proto, cp->port, cp->port))
			return -ENOMEM;
	}
	return 0;
}

static int cluster_feats(struct ports *ps, const struct pw_cluster *const *cs)
{
	int err = 0;

	for (int v = 0; v < V_NR && !err; v++)
		for (size_t i = 0; i < cs[v]->npols && !err; i++)
			err = policy_feats(ps, &cs[v]->pols[i]);
	for (int v = 0; v < V_NR && !err; v++)
		for (size_t i = 0; i < cs[v]->npods && !err; i++)
			err = pod_feats(ps, &cs[v]->pods[i]);
	return err;
}

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* The class of the features in sig, a new one when no class has them. */
static int class_of(struct ports *ps, const uint64_t *sig, bool shared,
		    uint8_t proto, uint16_t lo, uint32_t *cls)
{
	size_t w = ps->sig_words;
	struct pw_port *rep;

	for (size_t c = 0; c < ps->ncls; c++) {
		if (memcmp(ps->sigs + c * w, sig, w * sizeof(*sig)))
			continue;
		if (ps->reps[c].proto == proto ||
		    (shared && !ps->portless[ps->reps[c].proto])) {
			*cls = (uint32_t)c;
			return 0;
		}
	}
	if (pw_grow((void **)&ps->sigs, &ps->cap_sigs, (ps->ncls + 1) * w,
		    sizeof(*sig)))
		return -ENOMEM;
	rep = PW_PUSH(ps->reps, ps->ncls, ps->cap_cls);
	if (!rep)
		return -ENOMEM;
	memcpy(ps->sigs + (ps->ncls - 1) * w, sig, w * sizeof(*sig));
	rep->proto = proto;
	rep->num = lo;
	*cls = (uint32_t)(ps->ncls - 1);
	return 0;
}

static int add_interval(struct ports *ps, uint8_t proto, uint32_t lo,
			uint32_t hi, uint64_t *sig)
{
	bool empty = true, shared;
	struct piv *iv;
	uint32_t cls;

	memset(sig, 0, ps->sig_words * sizeof(*sig));
	for (size_t f = 0; f < ps->nfeats; f++) {
		if (ps->feats[f].proto == proto && ps->feats[f].lo <= lo &&
		    lo <= ps->feats[f].hi) {
			pw_bits_set(sig, f);
			empty = false;
		}
	}
	shared = empty && !ps->portless[proto];
	if (class_of(ps, sig, shared, proto, (uint16_t)lo, &cls))
		return -ENOMEM;
	iv = PW_PUSH(ps->ivs, ps->nivs, ps->cap_ivs);
	if (!iv)
		return -ENOMEM;
	iv->proto = proto;
	iv->lo = (uint16_t)lo;
	iv->hi = (uint16_t)hi;
	iv->cls = cls;
	return 0;
}

/* Cuts one protocol's ports 1-65535 at every feature's bounds. */
static int proto_intervals(struct ports *ps, uint8_t proto, uint64_t *sig)
{
	uint32_t *cuts = malloc((2 * ps->nfeats + 2) * sizeof(*cuts));
	size_t n = 0, m = 0;
	int err = 0;

	if (!cuts)
		return -ENOMEM;
	cuts[n++] = 1;
	cuts[n++] = 65536;
	for (size_t f = 0; f < ps->nfeats; f++) {
		if (ps->feats[f].proto != proto)
			continue;
		cuts[n++] = ps->feats[f].lo;
		cuts[n++] = (uint32_t)ps->feats[f].hi + 1;
	}
	qsort(cuts, n, sizeof(*cuts), u32_cmp);
	for (size_t i = 1; i < n; i++)
		if (cuts[i] != cuts[m])
			cuts[++m] = cuts[i];
	for (size_t i = 0; i < m && !err; i++)
		err = add_interval(ps, proto, cuts[i], cuts[i + 1] - 1, sig);
	free(cuts);
	return err;
}

static void ports_free(struct ports *ps)
{
	free(ps->feats);
	free(ps->names);
	free(ps->ivs);
	free(ps->reps);
	free(ps->sigs);
}

static int ports_build(struct ports *ps, const struct pw_cluster *const *cs)
{
	uint64_t *sig;
	int err;

	memset(ps, 0, sizeof(*ps));
	err = cluster_feats(ps, cs);
	if (err)
		return err;
	ps->sig_words = pw_bits_words(ps->nfeats) + 1;
	sig = calloc(ps->sig_words, sizeof(*sig));
	if (!sig)
		return -ENOMEM;
	for (uint8_t p = 0; p < PW_PROTO_NR && !err; p++)
		err = proto_intervals(ps, p, sig);
	free(sig);
	return err;
}

/* ---- pods, workloads and namespaces ------------------------------------ */

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
	 * versions: see "sides that can have changed". */
	bool *changed[PW_DIR_NR];
	uint32_t *in_changed; /* union pods whose ingress changed */
	size_t nin_changed;
	struct pw_diff *d;
};

static long wl_find(const struct ctx *x, uint32_t ns, const char *name)
{
	uint64_t h = pw_hash_bytes(PW_HASH_INIT, name, strlen(name));
	long i = u64map_get(&x->wl_by_hash, h);

	if (i >= 0 && !strcmp(x->wls[i].name, name))
		return i;
	if (i < 0)
		return -1;
	/* Two names with one hash: look through the namespace. */
	for (size_t k = x->nwls; k-- > 0 && x->wls[k].ns == ns;)
		if (!strcmp(x->wls[k].name, name))
			return (long)k;
	return -1;
}

/* The index of the namespace ns; pods come sorted by name, so a
 * namespace's pods are contiguous and only the last one can match. */
static int ns_id(struct ctx *x, const char *ns, uint32_t *id)
{
	struct uns *n;

	if (!x->nnss || strcmp(x->nss[x->nnss - 1].name, ns)) {
		n = PW_PUSH(x->nss, x->nnss, x->cap_nss);
		if (!n)
			return -ENOMEM;
		n->name = ns;
	}
	*id = (uint32_t)(x->nnss - 1);
	return 0;
}

static int wl_add(struct ctx *x, char *name, enum pw_diff_end kind, uint32_t ns,
		  uint32_t *id)
{
	uint64_t h = pw_hash_bytes(PW_HASH_INIT, name, strlen(name));
	struct wl *w = PW_PUSH(x->wls, x->nwls, x->cap_wls);

	if (!w) {
		free(name);
		return -ENOMEM;
	}
	w->name = name;
	w->kind = kind;
	w->ns = ns;
	*id = (uint32_t)(x->nwls - 1);
	if (u64map_get(&x->wl_by_hash, h) >= 0)
		return 0;
	return u64map_put(&x->wl_by_hash, h, *id);
}

static int assign_wl(struct ctx *x, struct upod *u)
{
	const struct pw_pod *p = u->pod;
	enum pw_diff_end kind = PW_DIFF_WORKLOAD;
	const char *wkind;
	char *name;
	uint32_t ns;
	long have;

	if (pw_pod_workload(p, &name, &wkind))
		return -ENOMEM;
	if (!name) {
		kind = p->kind ? PW_DIFF_WORKLOAD : PW_DIFF_POD;
		name = strdup(u->name);
		if (!name)
			return -ENOMEM;
	}
	if (ns_id(x, p->ns, &ns)) {
		free(name);
		return -ENOMEM;
	}
	have = wl_find(x, ns, name);
	if (have >= 0) {
		free(name);
		u->wl = (uint32_t)have;
		return 0;
	}
	return wl_add(x, name, kind, ns, &u->wl);
}

/* The pods of both versions, by name, each with its workload. */
static int union_pods(struct ctx *x)
{
	const struct pw_engine *o = x->e[V_OLD], *n = x->e[V_NEW];
	size_t i = 0, j = 0;

	x->up = calloc(o->npods + n->npods + 1, sizeof(*x->up));
	for (int v = 0; v < V_NR; v++)
		x->ix[v] = calloc(o->npods + n->npods + 1, sizeof(int32_t));
	if (!x->up || !x->ix[V_OLD] || !x->ix[V_NEW])
		return -ENOMEM;
	while (i < o->npods || j < n->npods) {
		struct upod *u = &x->up[x->nup++];
		int c = i == o->npods ?
				1 :
			j == n->npods ?
				-1 :
				strcmp(o->pods[i].name, n->pods[j].name);

		u->idx[V_OLD] = c <= 0 ? (long)i++ : -1;
		u->idx[V_NEW] = c >= 0 ? (long)j++ : -1;
		x->ix[V_OLD][x->nup - 1] = (int32_t)u->idx[V_OLD];
		x->ix[V_NEW][x->nup - 1] = (int32_t)u->idx[V_NEW];
		u->name = c >= 0 ? n->pods[j - 1].name : o->pods[i - 1].name;
		u->pod = c >= 0 ? n->pods[j - 1].pod : o->pods[i - 1].pod;
		if (assign_wl(x, u))
			return -ENOMEM;
	}
	return 0;
}

/* How many workloads of each namespace have pods in each version. */
static void count_workloads(struct ctx *x)
{
	for (size_t i = 0; i < x->nup; i++)
		for (int c = 0; c < PW_CHANGE_NR; c++)
			if (x->up[i].idx[change_version[c]] >= 0 &&
			    !x->wls[x->up[i].wl].count[c]++)
				x->nss[x->wls[x->up[i].wl].ns].count[c]++;
}

/* ---- recording changes ------------------------------------------------- */

static uint64_t entry_key(int change, struct end from, struct end to)
{
	return (uint64_t)change << 60 | (uint64_t)from.kind << 58 |
	       (uint64_t)from.id << 30 | (uint64_t)to.kind << 28 | to.id;
}

static bool end_eq(struct end a, struct end b)
{
	return a.kind == b.kind && a.id == b.id && a.last == b.last;
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

static struct end end_of(uint8_t kind, size_t id)
{
	return (struct end){ .kind = kind,
			     .id = (uint32_t)id,
			     .last = (uint32_t)id };
}

/* Counts a pair once, whatever the number of its ports that changed. */
static void count_pair(struct ctx *x, uint64_t *seen, int change, size_t bit)
{
	if (pw_bits_test(seen, bit))
		return;
	pw_bits_set(seen, bit);
	x->d->pairs[change]++;
}

/* ---- sides that can have changed ----------------------------------------- */

/*
 * Whether a pod belongs to a peer set depends only on the pod (its labels,
 * its namespace's labels, its addresses) and on the peer; which named
 * ports match, only on the pod's container ports. So for two pods s and d
 * that are alike in both versions, s -> d can only change when the
 * policies that select s for egress, or d for ingress, do: only the rows
 * of changed egress sides and the columns of changed ingress sides need
 * comparing, where a pod that is new, gone or different has both sides
 * changed. Equality here is structural, in the order written: a policy
 * rewritten into an equivalent one counts as changed, which costs time,
 * never answers.
 */

static bool str_eq(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static bool labels_eq(const struct pw_labels *a, const struct pw_labels *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i].key, b->v[i].key) ||
		    strcmp(a->v[i].value, b->v[i].value))
			return false;
	return true;
}

static bool req_eq(const struct pw_sel_req *a, const struct pw_sel_req *b)
{
	if (strcmp(a->key, b->key) || a->op != b->op ||
	    a->nvalues != b->nvalues)
		return false;
	for (size_t i = 0; i < a->nvalues; i++)
		if (strcmp(a->values[i], b->values[i]))
			return false;
	return true;
}

static bool selector_eq(const struct pw_selector *a,
			const struct pw_selector *b)
{
	if (!labels_eq(&a->match_labels, &b->match_labels) ||
	    a->nreqs != b->nreqs)
		return false;
	for (size_t i = 0; i < a->nreqs; i++)
		if (!req_eq(&a->reqs[i], &b->reqs[i]))
			return false;
	return true;
}

static bool cidr_eq(const struct pw_cidr *a, const struct pw_cidr *b)
{
	return a->len == b->len && !memcmp(&a->addr, &b->addr, sizeof(a->addr));
}

static bool ipblock_eq(const struct pw_ipblock *a, const struct pw_ipblock *b)
{
	if (a->cidr_ok != b->cidr_ok || !cidr_eq(&a->cidr, &b->cidr) ||
	    a->nexcept != b->nexcept)
		return false;
	for (size_t i = 0; i < a->nexcept; i++)
		if (a->except[i].ok != b->except[i].ok ||
		    !cidr_eq(&a->except[i].cidr, &b->except[i].cidr))
			return false;
	return true;
}

static bool peer_eq(const struct pw_peer *a, const struct pw_peer *b)
{
	return a->has_pod_sel == b->has_pod_sel &&
	       a->has_ns_sel == b->has_ns_sel &&
	       a->has_ipblock == b->has_ipblock &&
	       (!a->has_pod_sel || selector_eq(&a->pod_sel, &b->pod_sel)) &&
	       (!a->has_ns_sel || selector_eq(&a->ns_sel, &b->ns_sel)) &&
	       (!a->has_ipblock || ipblock_eq(&a->ipblock, &b->ipblock));
}

static bool np_port_eq(const struct pw_np_port *a, const struct pw_np_port *b)
{
	return a->proto == b->proto && a->has_port == b->has_port &&
	       a->named == b->named && a->port == b->port &&
	       str_eq(a->name, b->name) && a->has_end == b->has_end &&
	       a->end_port == b->end_port;
}

static bool rule_eq(const struct pw_rule *a, const struct pw_rule *b)
{
	if (a->npeers != b->npeers || a->nports != b->nports)
		return false;
	for (size_t i = 0; i < a->npeers; i++)
		if (!peer_eq(&a->peers[i], &b->peers[i]))
			return false;
	for (size_t i = 0; i < a->nports; i++)
		if (!np_port_eq(&a->ports[i], &b->ports[i]))
			return false;
	return true;
}

static bool policy_eq(const struct pw_policy *a, const struct pw_policy *b)
{
	if (strcmp(a->ns, b->ns) || strcmp(a->name, b->name) ||
	    a->has_pod_sel != b->has_pod_sel ||
	    !selector_eq(&a->pod_sel, &b->pod_sel))
		return false;
	for (int d = 0; d < PW_DIR_NR; d++) {
		if (a->affects[d] != b->affects[d] ||
		    a->nrules[d] != b->nrules[d])
			return false;
		for (size_t k = 0; k < a->nrules[d]; k++)
			if (!rule_eq(&a->rules[d][k], &b->rules[d][k]))
				return false;
	}
	return true;
}

static bool cports_eq(const struct pw_pod *a, const struct pw_pod *b)
{
	if (a->nports != b->nports)
		return false;
	for (size_t i = 0; i < a->nports; i++)
		if (!str_eq(a->ports[i].name, b->ports[i].name) ||
		    a->ports[i].port != b->ports[i].port ||
		    a->ports[i].proto != b->ports[i].proto)
			return false;
	return true;
}

static bool pod_eq(const struct pw_eng_pod *a, const struct pw_eng_pod *b)
{
	return !strcmp(a->name, b->name) &&
	       labels_eq(&a->pod->labels, &b->pod->labels) &&
	       labels_eq(&a->ns->labels, &b->ns->labels) &&
	       a->pod->nips == b->pod->nips &&
	       !memcmp(a->pod->ips, b->pod->ips,
		       a->pod->nips * sizeof(*a->pod->ips)) &&
	       cports_eq(a->pod, b->pod);
}

/* For each old policy, the index of an equal new policy, or -1. */
static long *policy_matches(const struct pw_cluster *o,
			    const struct pw_cluster *n)
{
	long *m = malloc((o->npols + 1) * sizeof(*m));
	size_t j = 0;

	if (!m)
		return NULL;
	for (size_t i = 0; i < o->npols; i++) {
		const struct pw_policy *p = &o->pols[i];
		int c = 1;

		/* Both lists are sorted by (ns, name). */
		while (j < n->npols &&
		       (c = strcmp(n->pols[j].ns, p->ns) ?
				    strcmp(n->pols[j].ns, p->ns) :
				    strcmp(n->pols[j].name, p->name)) < 0)
			j++;
		m[i] = j < n->npols && !c && policy_eq(p, &n->pols[j]) ?
			       (long)j :
			       -1;
	}
	return m;
}

/* Whether the side d of old pod i and new pod j is selected by the same
 * policies in both versions. */
static bool side_same(const struct ctx *x, const long *m, long i, long j,
		      enum pw_dir d)
{
	const struct pw_eng_pod *a = &x->e[V_OLD]->pods[i];
	const struct pw_eng_pod *b = &x->e[V_NEW]->pods[j];
	const uint32_t *sa = x->e[V_OLD]->sel + a->sel_off[d];
	const uint32_t *sb = x->e[V_NEW]->sel + b->sel_off[d];

	if (a->nsel[d] != b->nsel[d])
		return false;
	for (size_t k = 0; k < a->nsel[d]; k++)
		if (m[sa[k]] != (long)sb[k])
			return false;
	return true;
}

/* Marks the sides of pod u that may have changed: both when the pod is
 * not in both versions alike, else those whose policies differ. */
static void mark_sides(struct ctx *x, const long *m, size_t u)
{
	long i = x->up[u].idx[V_OLD], j = x->up[u].idx[V_NEW];
	bool same = i >= 0 && j >= 0 &&
		    pod_eq(&x->e[V_OLD]->pods[i], &x->e[V_NEW]->pods[j]);

	for (int d = 0; d < PW_DIR_NR; d++)
		x->changed[d][u] = !same || !side_same(x, m, i, j, d);
	if (x->changed[PW_DIR_INGRESS][u])
		x->in_changed[x->nin_changed++] = (uint32_t)u;
}

static int find_changed_sides(struct ctx *x)
{
	long *m;

	for (int d = 0; d < PW_DIR_NR; d++) {
		x->changed[d] = calloc(x->nup + 1, sizeof(bool));
		if (!x->changed[d])
			return -ENOMEM;
	}
	x->in_changed = calloc(x->nup + 1, sizeof(*x->in_changed));
	m = policy_matches(x->e[V_OLD]->c, x->e[V_NEW]->c);
	if (!x->in_changed || !m) {
		free(m);
		return -ENOMEM;
	}
	for (size_t u = 0; u < x->nup; u++)
		mark_sides(x, m, u);
	free(m);
	return 0;
}

static bool side_changed(const struct ctx *x, enum pw_dir d, size_t f)
{
	return x->changed[d][f];
}

/* ---- comparing pods ---------------------------------------------------- */

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

/* ---- comparing address classes ------------------------------------------ */

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

static int compare_class(struct ctx *x, uint32_t k)
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

/* ---- merging entries --------------------------------------------------- */

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

static int merge_namespaces(struct ctx *x, bool on_to)
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
static int merge_addrs(struct ctx *x, bool on_to)
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

/* ---- groups ------------------------------------------------------------- */

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

static void group_clear(struct group *g)
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

static int build_groups(struct ctx *x)
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

/* ---- the whole computation ------------------------------------------------ */

static void ctx_free(struct ctx *x)
{
	ports_free(&x->ps);
	pw_addrclass_set_free(x->ac);
	free(x->up);
	free(x->ix[V_OLD]);
	free(x->ix[V_NEW]);
	for (size_t i = 0; i < x->nwls; i++)
		free(x->wls[i].name);
	free(x->wls);
	free(x->nss);
	u64map_free(&x->wl_by_hash);
	free(x->ents);
	u64map_free(&x->ent_by_key);
	free(x->pool);
	free(x->changed[PW_DIR_INGRESS]);
	free(x->changed[PW_DIR_EGRESS]);
	free(x->in_changed);
	for (int c = 0; c < PW_CHANGE_NR; c++) {
		free(x->seen[c]);
		for (int d = 0; d < PW_DIR_NR; d++)
			free(x->seen_addr[c][d]);
	}
}

static int ctx_init(struct ctx *x, const struct pw_engine *old,
		    const struct pw_engine *new)
{
	const struct pw_cluster *cs[V_NR] = { old->c, new->c };
	int err;

	x->e[V_OLD] = old;
	x->e[V_NEW] = new;
	err = ports_build(&x->ps, cs);
	if (!err)
		err = pw_addrclass_build_clusters(cs, V_NR, &x->ac);
	if (!err)
		err = union_pods(x);
	if (err)
		return err;
	count_workloads(x);
	err = find_changed_sides(x);
	if (err)
		return err;
	x->nac = pw_addrclass_count(x->ac);
	x->cw = pw_bits_words(x->ps.ncls) + 1;
	for (int c = 0; c < PW_CHANGE_NR; c++) {
		x->seen[c] = calloc(pw_bits_words(x->nup * x->nup) + 1,
				    sizeof(uint64_t));
		if (!x->seen[c])
			return -ENOMEM;
		for (int d = 0; d < PW_DIR_NR; d++) {
			x->seen_addr[c][d] =
				calloc(pw_bits_words(x->nup * x->nac) + 1,
				       sizeof(uint64_t));
			if (!x->seen_addr[c][d])
				return -ENOMEM;
		}
	}
	return 0;
}

static int diff_compute(struct ctx *x)
{
	int err = 0;

	for (size_t k = 0; k < x->ps.ncls && !err; k++)
		err = compare_class(x, (uint32_t)k);
	if (!err)
		err = merge_namespaces(x, false);
	if (!err)
		err = merge_namespaces(x, true);
	if (!err)
		err = merge_addrs(x, true);
	if (!err)
		err = merge_addrs(x, false);
	if (!err)
		err = build_groups(x);
	return err;
}

PW_EXPORT struct pw_diff *pw_diff_new(const struct pw_engine *old,
				      const struct pw_engine *new)
{
	struct ctx x = { 0 };
	int err = -EINVAL;

	if (!old || !new)
		goto err_out;
	err = -ENOMEM;
	x.d = calloc(1, sizeof(*x.d));
	if (!x.d)
		goto err_out;
	err = ctx_init(&x, old, new);
	if (!err)
		err = diff_compute(&x);
	if (err)
		goto err_free_ctx;
	x.d->nclasses = x.ps.ncls;
	ctx_free(&x);
	return x.d;

err_free_ctx:
	ctx_free(&x);
	pw_diff_free(x.d);
err_out:
	errno = -err;
	return NULL;
}

PW_EXPORT void pw_diff_free(struct pw_diff *d)
{
	if (!d)
		return;
	for (int c = 0; c < PW_CHANGE_NR; c++) {
		for (size_t i = 0; i < d->n[c]; i++)
			group_clear(&d->g[c][i]);
		free(d->g[c]);
	}
	free(d);
}

PW_EXPORT const char *pw_change_name(enum pw_change c)
{
	return c == PW_CHANGE_ADDED ? "added" : "removed";
}

PW_EXPORT size_t pw_diff_count(const struct pw_diff *d, enum pw_change c)
{
	return (unsigned)c < PW_CHANGE_NR ? d->n[c] : 0;
}

PW_EXPORT uint64_t pw_diff_pair_count(const struct pw_diff *d, enum pw_change c)
{
	return (unsigned)c < PW_CHANGE_NR ? d->pairs[c] : 0;
}

PW_EXPORT size_t pw_diff_port_class_count(const struct pw_diff *d)
{
	return d->nclasses;
}

static const struct group *group(const struct pw_diff *d, enum pw_change c,
				 size_t i)
{
	return &d->g[c][i];
}

PW_EXPORT const char *pw_diff_from(const struct pw_diff *d, enum pw_change c,
				   size_t i)
{
	return group(d, c, i)->from;
}

PW_EXPORT const char *pw_diff_to(const struct pw_diff *d, enum pw_change c,
				 size_t i)
{
	return group(d, c, i)->to;
}

PW_EXPORT enum pw_diff_end pw_diff_from_kind(const struct pw_diff *d,
					     enum pw_change c, size_t i)
{
	return group(d, c, i)->fk;
}

PW_EXPORT enum pw_diff_end pw_diff_to_kind(const struct pw_diff *d,
					   enum pw_change c, size_t i)
{
	return group(d, c, i)->tk;
}

PW_EXPORT size_t pw_diff_range_count(const struct pw_diff *d, enum pw_change c,
				     size_t i)
{
	return group(d, c, i)->nr;
}

PW_EXPORT void pw_diff_range(const struct pw_diff *d, enum pw_change c,
			     size_t i, size_t j, struct pw_port *first,
			     uint16_t *last)
{
	const struct range *r = &group(d, c, i)->r[j];

	*first = r->first;
	*last = r->last;
}

PW_EXPORT int pw_diff_range_format(const struct pw_diff *d, enum pw_change c,
				   size_t i, size_t j, char *buf, size_t len)
{
	const struct range *r = &group(d, c, i)->r[j];
	const char *proto = pw_proto_name(r->first.proto);

	if (r->last == r->first.num)
		return snprintf(buf, len, "%u/%s", r->first.num, proto);
	return snprintf(buf, len, "%u-%u/%s", r->first.num, r->last, proto);
}

PW_EXPORT const char *pw_diff_witness_from(const struct pw_diff *d,
					   enum pw_change c, size_t i)
{
	return group(d, c, i)->wfrom;
}

PW_EXPORT const char *pw_diff_witness_to(const struct pw_diff *d,
					 enum pw_change c, size_t i)
{
	return group(d, c, i)->wto;
}

PW_EXPORT struct pw_port pw_diff_witness_port(const struct pw_diff *d,
					      enum pw_change c, size_t i)
{
	return group(d, c, i)->wport;
}
