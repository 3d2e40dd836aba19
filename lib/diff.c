// SPDX-License-Identifier: Apache-2.0
/*
 * The connectivity change between two versions of a cluster: the pods of
 * both versions with their workloads and namespaces, the computation in
 * its three steps (lib/diff.h says which file does which), and the
 * accessors of include/podwall/diff.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bitset.h"
#include "util.h"
#include "workload.h"
#include "diff.h"

/* The version whose pods make up the universe of a change. */
static const int change_version[PW_CHANGE_NR] = {
	[PW_CHANGE_ADDED] = V_NEW,
	[PW_CHANGE_REMOVED] = V_OLD,
};

/* ---- pods, workloads and namespaces -------------------------------- */

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

/* ---- the whole computation ------------------------------------------------ */

static void ctx_free(struct ctx *x)
{
	diff_ports_free(&x->ps);
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
	err = diff_ports_build(&x->ps, cs);
	if (!err)
		err = pw_addrclass_build_clusters(cs, V_NR, &x->ac);
	if (!err)
		err = union_pods(x);
	if (err)
		return err;
	count_workloads(x);
	err = diff_find_changed_sides(x);
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
		err = diff_compare_class(x, (uint32_t)k);
	if (!err)
		err = diff_merge_namespaces(x, false);
	if (!err)
		err = diff_merge_namespaces(x, true);
	if (!err)
		err = diff_merge_addrs(x, true);
	if (!err)
		err = diff_merge_addrs(x, false);
	if (!err)
		err = diff_build_groups(x);
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
			diff_group_clear(&d->g[c][i]);
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
