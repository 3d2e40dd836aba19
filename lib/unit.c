// SPDX-License-Identifier: Apache-2.0
/*
 * Parsed units: the objects of one text, decoded and validated once, and
 * added to any number of clusters by reference (see model.h, struct
 * pw_unit, for how the objects are shared).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

/* ---- the string pool -------------------------------------------------
 *
 * Most of a decoded pod is strings that every pod repeats: label keys and
 * values ("app", "true"), its namespace and node. Each is a malloc'd copy,
 * 32 bytes or more with the allocator's header, so a unit keeps them once,
 * in one block of exactly their size, and points its objects there. The
 * pool walks the same fields when the unit goes and clears the pointers
 * into the block, so the objects' destructors free only what is still
 * theirs: a field the walk does not know keeps its own copy, which costs
 * memory, never safety.
 */

struct pw_strpool {
	char *block; /* the distinct strings, each once */
	size_t size;
	char **slots; /* open addressing, while pooling */
	size_t nslots, n;
	int err; /* -ENOMEM while collecting: no pool */
};

static size_t slot_of(const struct pw_strpool *p, const char *s)
{
	size_t h = pw_hash_bytes(PW_HASH_INIT, s, strlen(s)) & (p->nslots - 1);

	while (p->slots[h] && strcmp(p->slots[h], s))
		h = (h + 1) & (p->nslots - 1);
	return h;
}

static int pool_grow(struct pw_strpool *p)
{
	struct pw_strpool big = *p;

	big.nslots = p->nslots ? 2 * p->nslots : 32;
	big.slots = calloc(big.nslots, sizeof(*big.slots));
	if (!big.slots)
		return -ENOMEM;
	for (size_t i = 0; i < p->nslots; i++)
		if (p->slots[i])
			big.slots[slot_of(&big, p->slots[i])] = p->slots[i];
	free(p->slots);
	*p = big;
	return 0;
}

/* First pass: the distinct strings and their total size. */
static void pool_collect(struct pw_strpool *p, char **s)
{
	size_t h;

	if (!*s || p->err)
		return;
	if (2 * (p->n + 1) > p->nslots && (p->err = pool_grow(p)))
		return;
	h = slot_of(p, *s);
	if (p->slots[h])
		return;
	p->slots[h] = *s;
	p->n++;
	p->size += strlen(*s) + 1;
}

/* Second pass: *s replaced by the block's copy, its own freed. */
static void pool_point(struct pw_strpool *p, char **s)
{
	char *copy;

	if (!*s)
		return;
	copy = p->slots[slot_of(p, *s)];
	if (copy != *s) {
		free(*s);
		*s = copy;
	}
}

/* When the unit goes: *s no longer points into the block, so its
 * destructor leaves it. */
static void pool_release(struct pw_strpool *p, char **s)
{
	if ((uintptr_t)*s >= (uintptr_t)p->block &&
	    (uintptr_t)*s < (uintptr_t)p->block + p->size)
		*s = NULL;
}

static void pool_free(struct pw_strpool *p)
{
	if (!p)
		return;
	free(p->block);
	free(p->slots);
	free(p);
}

typedef void str_fn(struct pw_strpool *p, char **s);

static void walk_labels(struct pw_strpool *p, struct pw_labels *l, str_fn *fn)
{
	for (size_t i = 0; i < l->n; i++) {
		fn(p, &l->v[i].key);
		fn(p, &l->v[i].value);
	}
}

static void walk_selector(struct pw_strpool *p, struct pw_selector *s,
			  str_fn *fn)
{
	walk_labels(p, &s->match_labels, fn);
	for (size_t i = 0; i < s->nreqs; i++) {
		fn(p, &s->reqs[i].key);
		for (size_t k = 0; k < s->reqs[i].nvalues; k++)
			fn(p, &s->reqs[i].values[k]);
	}
}

static void walk_policy(struct pw_strpool *p, struct pw_policy *pol, str_fn *fn)
{
	fn(p, &pol->ns);
	walk_selector(p, &pol->pod_sel, fn);
	for (int d = 0; d < PW_DIR_NR; d++) {
		for (size_t i = 0; i < pol->nrules[d]; i++) {
			struct pw_rule *r = &pol->rules[d][i];

			for (size_t k = 0; k < r->npeers; k++) {
				walk_selector(p, &r->peers[k].pod_sel, fn);
				walk_selector(p, &r->peers[k].ns_sel, fn);
			}
		}
	}
}

/* The strings of c's objects that repeat, each given to fn. */
static void walk_strings(struct pw_cluster *c, struct pw_strpool *p, str_fn *fn)
{
	for (size_t i = 0; i < c->nnss; i++)
		walk_labels(p, &c->nss[i].labels, fn);
	for (size_t i = 0; i < c->npods; i++) {
		fn(p, &c->pods[i].ns);
		fn(p, &c->pods[i].node);
		walk_labels(p, &c->pods[i].labels, fn);
		walk_labels(p, &c->pods[i].annotations, fn);
	}
	for (size_t i = 0; i < c->npols; i++)
		walk_policy(p, &c->pols[i], fn);
	for (size_t i = 0; i < c->nsvcs; i++) {
		fn(p, &c->svcs[i].ns);
		walk_labels(p, &c->svcs[i].selector, fn);
	}
}

/* Pools c's repeated strings; without memory they stay as they are. */
static struct pw_strpool *pool_strings(struct pw_cluster *c)
{
	struct pw_strpool *p = calloc(1, sizeof(*p));
	char *at;

	if (!p)
		return NULL;
	walk_strings(c, p, pool_collect);
	p->block = p->err || !p->n ? NULL : malloc(p->size);
	if (!p->block) {
		pool_free(p);
		return NULL;
	}
	/* the slots move from the objects' strings to their copies */
	at = p->block;
	for (size_t i = 0; i < p->nslots; i++) {
		if (!p->slots[i])
			continue;
		memcpy(at, p->slots[i], strlen(p->slots[i]) + 1);
		p->slots[i] = at;
		at += strlen(at) + 1;
	}
	walk_strings(c, p, pool_point);
	free(p->slots);
	p->slots = NULL;
	return p;
}

/* The array v of n elements of size at its exact size (kept on failure:
 * it only costs memory). */
static void fit(void **v, size_t n, size_t *cap, size_t size)
{
	void *nv;

	if (*cap == n)
		return;
	if (!n) {
		free(*v);
		*v = NULL;
		*cap = 0;
		return;
	}
	nv = realloc(*v, n * size);
	if (nv) {
		*v = nv;
		*cap = n;
	}
}

/*
 * A unit lives as long as its text is current, and an agent keeps one per
 * object: what it holds beyond its objects is dropped. The namespaces it
 * only references are not its objects (a cluster adding the unit makes
 * its own), and the arrays lose their spare room.
 */
static void shrink(struct pw_cluster *c)
{
	size_t k = 0;

	for (size_t i = 0; i < c->nnss; i++) {
		if (c->nss[i].declared)
			c->nss[k++] = c->nss[i];
		else
			pw_namespace_clear(&c->nss[i]);
	}
	c->nnss = k;
	fit((void **)&c->nss, c->nnss, &c->cap_nss, sizeof(*c->nss));
	fit((void **)&c->pods, c->npods, &c->cap_pods, sizeof(*c->pods));
	fit((void **)&c->pols, c->npols, &c->cap_pols, sizeof(*c->pols));
	fit((void **)&c->nodes, c->nnodes, &c->cap_nodes, sizeof(*c->nodes));
	fit((void **)&c->svcs, c->nsvcs, &c->cap_svcs, sizeof(*c->svcs));
	fit((void **)&c->files, c->nfiles, &c->cap_files, sizeof(*c->files));
}

PW_EXPORT struct pw_unit *pw_unit_new(const char *name, const char *buf,
				      size_t len, struct pw_diags *diags)
{
	size_t before = pw_diags_error_count(diags);
	struct pw_unit *u = calloc(1, sizeof(*u));
	int ret = -ENOMEM;

	if (!u)
		goto err;
	atomic_init(&u->refs, 1);
	u->c = pw_cluster_new();
	if (!u->c)
		goto err_free_unit;
	ret = pw_cluster_load_buffer(u->c, name, buf, len, diags);
	if (ret == -ENOMEM)
		goto err_free_unit;
	/* a text that did not parse is not validated further: its
	 * parse errors are what to fix first */
	if (!ret)
		ret = pw_cluster_finalize(u->c, diags);
	if (ret == -ENOMEM)
		goto err_free_unit;
	if (ret || pw_diags_error_count(diags) != before) {
		ret = -EINVAL;
		goto err_free_unit;
	}
	shrink(u->c);
	u->pool = pool_strings(u->c);
	return u;

err_free_unit:
	pw_unit_free(u);
err:
	errno = -ret;
	return NULL;
}

PW_EXPORT struct pw_unit *pw_unit_ref(struct pw_unit *u)
{
	if (u)
		atomic_fetch_add_explicit(&u->refs, 1, memory_order_relaxed);
	return u;
}

PW_EXPORT void pw_unit_free(struct pw_unit *u)
{
	if (!u)
		return;
	/* release, then acquire before freeing: what other holders did
	 * with the unit happens before it goes */
	if (atomic_fetch_sub_explicit(&u->refs, 1, memory_order_release) != 1)
		return;
	atomic_thread_fence(memory_order_acquire);
	if (u->pool && u->c)
		walk_strings(u->c, u->pool, pool_release);
	pw_cluster_free(u->c);
	pool_free(u->pool);
	free(u);
}

/* shrink() left only the declared namespaces */
PW_EXPORT size_t pw_unit_count(const struct pw_unit *u, enum pw_kind kind)
{
	return pw_cluster_count(u->c, kind);
}

/* ---- adding a unit to a cluster ------------------------------------ */

/* One array of the cluster and its kind's element size. */
struct obj_array {
	void **v;
	size_t *n, *cap;
	size_t size;
};

static void obj_arrays(struct pw_cluster *c, struct obj_array a[PW_KIND_NR])
{
	a[PW_KIND_NAMESPACE] = (struct obj_array){ (void **)&c->nss, &c->nnss,
						   &c->cap_nss,
						   sizeof(*c->nss) };
	a[PW_KIND_POD] = (struct obj_array){ (void **)&c->pods, &c->npods,
					     &c->cap_pods, sizeof(*c->pods) };
	a[PW_KIND_NETWORK_POLICY] = (struct obj_array){ (void **)&c->pols,
							&c->npols, &c->cap_pols,
							sizeof(*c->pols) };
	a[PW_KIND_NODE] = (struct obj_array){ (void **)&c->nodes, &c->nnodes,
					      &c->cap_nodes,
					      sizeof(*c->nodes) };
	a[PW_KIND_SERVICE] = (struct obj_array){ (void **)&c->svcs, &c->nsvcs,
						 &c->cap_svcs,
						 sizeof(*c->svcs) };
}

/* Room for everything first, so that adding cannot fail half-way. */
static int reserve(struct pw_cluster *c, const struct pw_unit *u)
{
	struct obj_array to[PW_KIND_NR];

	obj_arrays(c, to);
	for (int k = 0; k < PW_KIND_NR; k++)
		if (pw_grow(to[k].v, to[k].cap,
			    *to[k].n + pw_cluster_count(u->c, (enum pw_kind)k),
			    to[k].size))
			return -ENOMEM;
	return pw_grow((void **)&c->units, &c->cap_units, c->nunits + 1,
		       sizeof(*c->units));
}

static void copy_objects(struct pw_cluster *c, const struct pw_cluster *from)
{
	for (size_t i = 0; i < from->nnss; i++) {
		c->nss[c->nnss] = from->nss[i];
		c->nss[c->nnss++].shared = true;
	}
	for (size_t i = 0; i < from->npods; i++) {
		c->pods[c->npods] = from->pods[i];
		c->pods[c->npods++].shared = true;
	}
	for (size_t i = 0; i < from->npols; i++) {
		c->pols[c->npols] = from->pols[i];
		c->pols[c->npols++].shared = true;
	}
	for (size_t i = 0; i < from->nnodes; i++) {
		c->nodes[c->nnodes] = from->nodes[i];
		c->nodes[c->nnodes++].shared = true;
	}
	for (size_t i = 0; i < from->nsvcs; i++) {
		c->svcs[c->nsvcs] = from->svcs[i];
		c->svcs[c->nsvcs++].shared = true;
	}
}

PW_EXPORT int pw_cluster_add_unit(struct pw_cluster *c, struct pw_unit *u)
{
	if (c->finalized || !u)
		return -EINVAL;
	if (reserve(c, u))
		return -ENOMEM;
	copy_objects(c, u->c);
	c->units[c->nunits++] = pw_unit_ref(u);
	return 0;
}
