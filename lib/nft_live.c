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
#include "engine.h"
#include "labels.h"
#include "nft_live.h"

/* ---- hashing ---------------------------------------------------------- */

/* The hash of the engine's name of pod p, without writing the name. */
static uint64_t pod_hash(const struct pw_pod *p)
{
	uint64_t h = lv_hash_str(
		lv_hash_str(lv_hash_str(PW_HASH_INIT, p->ns), "/"), p->name);

	if (p->kind)
		h = lv_hash_str(lv_hash_str(lv_hash_str(h, "["), p->kind), "]");
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
	return lv_hash_str(lv_hash_str(lv_hash_str(PW_HASH_INIT, ns), "/"),
			   name);
}

/* ---- what changed ------------------------------------------------------- */

static bool str_eq(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

/* Whether two versions of a matrix pod compile alike: what peers,
 * selection, classes and maps read of a pod (its namespace is in its
 * name; the namespace's labels are compared on their own). */
static bool pod_same(const struct pw_pod *a, const struct pw_pod *b)
{
	if (!memcmp(a, b, sizeof(*a)))
		return true; /* the same unit's object */
	return pw_labels_same(&a->labels, &b->labels) &&
	       str_eq(a->node, b->node) && a->nips == b->nips &&
	       !memcmp(a->ips, b->ips, a->nips * sizeof(*a->ips)) &&
	       pw_cports_same(a, b);
}

/* Whether two versions of a policy compile alike. */
static bool pol_same(const struct pw_policy *a, const struct pw_policy *b)
{
	return !memcmp(a, b, sizeof(*a)) || pw_policy_same(a, b);
}

/* ---- namespaces --------------------------------------------------------- */

static uint32_t ns_find(const struct pw_live *l, const char *name, uint64_t h)
{
	size_t at;

	for (uint32_t s = lv_map_first(&l->ns_map, h, &at); s != NONE;
	     s = lv_map_next(&l->ns_map, &at))
		if (l->nss[s].hash == h && !strcmp(l->nss[s].n->name, name))
			return s;
	return NONE;
}

static int ns_walk(struct pw_live *l, const struct pw_cluster *c)
{
	for (size_t i = 0; i < c->nnss; i++) {
		const struct pw_namespace *n = &c->nss[i];
		uint64_t h = lv_hash_str(PW_HASH_INIT, n->name);
		uint32_t s = ns_find(l, n->name, h);

		if (s == NONE) {
			if (lv_map_reserve(&l->ns_map, l, lv_ns_hash_of))
				return -ENOMEM;
			s = SLOT_NEW(l, nss);
			if (s == NONE)
				return -ENOMEM;
			l->nss[s].hash = h;
			lv_map_put(&l->ns_map, h, s);
			l->st.namespaces_changed++;
		} else if (!pw_labels_same(&l->nss[s].n->labels, &n->labels)) {
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
		lv_map_del(&l->ns_map, l, lv_ns_hash_of, n->hash, s);
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
				ret = lv_rejoin(l, &l->peers[l->nssel[k]],
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

	for (uint32_t s = lv_map_first(&l->pod_map, h, &at); s != NONE;
	     s = lv_map_next(&l->pod_map, &at))
		if (l->pods[s].hash == h && pod_named(l->pods[s].name, p))
			return s;
	return NONE;
}

static int pod_new(struct pw_live *l, const struct pw_pod *p, uint64_t h)
{
	uint32_t ns = ns_find(l, p->ns, lv_hash_str(PW_HASH_INIT, p->ns));
	uint32_t s;
	struct lpod *q;

	if (ns == NONE)
		return -EINVAL; /* finalize adds every namespace */
	if (lv_map_reserve(&l->pod_map, l, lv_pod_hash_of) ||
	    lv_push_u32(&l->nss[ns].pods, &l->nss[ns].npods,
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
	lv_map_put(&l->pod_map, h, s);
	l->nss[ns].pods[l->nss[ns].npods++] = s;
	return lv_each_candidate(l, s, lv_join);
}

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
		    l->pods[s].p->ns == p->ns &&
		    l->pods[s].p->kind == p->kind) {
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
		lv_each_candidate(l, s, lv_leave);
		l->pods[s].p = p;
		l->pods[s].local = pod_local(l, p);
		l->pods[s].reselect = true;
		ret = lv_each_candidate(l, s, lv_join);
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

	lv_each_candidate(l, s, lv_leave);
	for (int d = 0; d < PW_DIR_NR; d++)
		lv_cls_put(l, q->cls[d]);
	lv_drop_u32(l->nss[q->ns].pods, &l->nss[q->ns].npods, s);
	lv_map_del(&l->pod_map, l, lv_pod_hash_of, q->hash, s);
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

	for (uint32_t s = lv_map_first(&l->pol_map, h, &at); s != NONE;
	     s = lv_map_next(&l->pol_map, &at)) {
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
				uint32_t at = l->pols[s].roff[d][r] +
					      (uint32_t)k,
					 ps;

				if (ru->peers[k].has_ipblock)
					continue;
				ret = lv_peer_get(l, &ru->peers[k],
						  l->pols[s].ns, &ps);
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
		lv_peer_put(l, x->peer[i]);
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

	if (lv_push_u32(&n->pols, &n->npols, &n->cap_pols, s))
		return -ENOMEM;
	while (at + 1 < n->npols &&
	       strcmp(l->pols[n->pols[at]].p->name, name) < 0)
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
	uint32_t ns = ns_find(l, p->ns, lv_hash_str(PW_HASH_INIT, p->ns));
	uint32_t s;
	int ret;

	if (ns == NONE)
		return -EINVAL;
	if (lv_map_reserve(&l->pol_map, l, lv_pol_hash_of))
		return -ENOMEM;
	s = SLOT_NEW(l, pols);
	if (s == NONE)
		return -ENOMEM;
	l->pols[s].p = p;
	l->pols[s].hash = h;
	l->pols[s].ns = ns;
	l->pols[s].epoch = l->epoch;
	l->pols[s].changed = true;
	lv_map_put(&l->pol_map, h, s);
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
		lv_map_del(&l->pol_map, l, lv_pol_hash_of, x->hash, s);
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
				for (size_t k = 0; k < x->p->rules[d][r].npeers;
				     k++) {
					uint32_t ps =
						x->peer[x->roff[d][r] + k];

					if (ps != NONE)
						l->peers[ps].rep =
							&x->p->rules[d][r]
								 .peers[k];
				}
	}
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
	int ret = lv_reserve_all_free(l);

	if (!ret)
		ret = ns_walk(l, c);
	if (!ret)
		ret = pod_walk(l, c);
	if (!ret)
		ret = lv_reserve_all_free(l);
	if (!ret) {
		pod_sweep(l);
		ret = ns_relabel(l);
	}
	if (!ret)
		ret = pol_walk(l, c);
	if (!ret)
		ret = lv_reserve_all_free(l);
	if (ret)
		return ret;
	pol_sweep(l);
	peer_repoint(l);
	ret = lv_select_all(l);
	if (!ret)
		ret = lv_cls_rebuild(l);
	if (!ret)
		ret = lv_reserve_all_free(l);
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
		ret = lv_out_ruleset(l, c, &rs);
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
