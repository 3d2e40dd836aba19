// SPDX-License-Identifier: Apache-2.0
/*
 * Workloads: the pods of an engine grouped by the controller that made
 * them, for the picture of podwall report (include/podwall/report.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <podwall/report.h>

#include "engine.h"
#include "util.h"
#include "workload.h"

struct wl {
	char *name;
	char *ns;
	const char *kind;
};

struct pw_workloads {
	struct wl *v;
	size_t n;
	size_t npods;
	size_t *of; /* per engine pod: its workload */
	bool *tmpl; /* per engine pod: a template */
	bool *iso[PW_DIR_NR]; /* per engine pod and direction */
};

/* The workload of engine pod ep, filled into w (name owned). */
static int wl_of_pod(const struct pw_eng_pod *ep, struct wl *w)
{
	const struct pw_pod *p = ep->pod;

	w->kind = p->kind ? p->kind : "Pod";
	if (pw_pod_workload(p, &w->name, &w->kind))
		return -ENOMEM;
	if (!w->name)
		w->name = strdup(ep->name);
	w->ns = strdup(p->ns);
	return w->name && w->ns ? 0 : -ENOMEM;
}

static int wl_cmp(const void *a, const void *b)
{
	return strcmp(((const struct wl *)a)->name,
		      ((const struct wl *)b)->name);
}

static size_t wl_find(const struct pw_workloads *w, const char *name)
{
	struct wl key = { .name = (char *)name };
	const struct wl *hit = bsearch(&key, w->v, w->n, sizeof(*w->v), wl_cmp);

	return hit ? (size_t)(hit - w->v) : (size_t)-1;
}

/* Sorts the per-pod entries and drops duplicates. */
static void wl_unique(struct pw_workloads *w)
{
	size_t k = 0;

	qsort(w->v, w->n, sizeof(*w->v), wl_cmp);
	for (size_t i = 0; i < w->n; i++) {
		if (k && !strcmp(w->v[k - 1].name, w->v[i].name)) {
			free(w->v[i].name);
			free(w->v[i].ns);
			continue;
		}
		w->v[k++] = w->v[i];
	}
	w->n = k;
}

static int wl_alloc(struct pw_workloads *w, size_t n)
{
	w->npods = n;
	w->v = calloc(n + 1, sizeof(*w->v));
	w->of = calloc(n + 1, sizeof(*w->of));
	w->tmpl = calloc(n + 1, sizeof(*w->tmpl));
	for (int d = 0; d < PW_DIR_NR; d++)
		w->iso[d] = calloc(n + 1, sizeof(bool));
	if (!w->v || !w->of || !w->tmpl || !w->iso[PW_DIR_INGRESS] ||
	    !w->iso[PW_DIR_EGRESS])
		return -ENOMEM;
	return 0;
}

PW_EXPORT struct pw_workloads *pw_workloads_new(const struct pw_engine *e)
{
	struct pw_workloads *w = calloc(1, sizeof(*w));

	if (!w || wl_alloc(w, e->npods))
		goto err_free;
	for (size_t i = 0; i < e->npods; i++) {
		w->n++;
		if (wl_of_pod(&e->pods[i], &w->v[i]))
			goto err_free;
		w->tmpl[i] = e->pods[i].pod->kind != NULL;
		for (int d = 0; d < PW_DIR_NR; d++)
			w->iso[d][i] = e->pods[i].nsel[d] > 0;
	}
	wl_unique(w);
	/* The names were moved: look each pod's up again. */
	for (size_t i = 0; i < e->npods; i++) {
		struct wl one = { 0 };

		if (wl_of_pod(&e->pods[i], &one)) {
			free(one.name);
			free(one.ns);
			goto err_free;
		}
		w->of[i] = wl_find(w, one.name);
		free(one.name);
		free(one.ns);
	}
	return w;

err_free:
	pw_workloads_free(w);
	errno = ENOMEM;
	return NULL;
}

PW_EXPORT void pw_workloads_free(struct pw_workloads *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->n; i++) {
		free(w->v[i].name);
		free(w->v[i].ns);
	}
	free(w->v);
	free(w->of);
	free(w->tmpl);
	for (int d = 0; d < PW_DIR_NR; d++)
		free(w->iso[d]);
	free(w);
}

PW_EXPORT size_t pw_workloads_count(const struct pw_workloads *w)
{
	return w->n;
}

PW_EXPORT const char *pw_workloads_name(const struct pw_workloads *w, size_t k)
{
	return k < w->n ? w->v[k].name : NULL;
}

PW_EXPORT const char *pw_workloads_namespace(const struct pw_workloads *w,
					     size_t k)
{
	return k < w->n ? w->v[k].ns : NULL;
}

PW_EXPORT const char *pw_workloads_kind(const struct pw_workloads *w, size_t k)
{
	return k < w->n ? w->v[k].kind : NULL;
}

PW_EXPORT size_t pw_workloads_of(const struct pw_workloads *w, size_t pod)
{
	return pod < w->npods ? w->of[pod] : (size_t)-1;
}

PW_EXPORT bool pw_workloads_is_template(const struct pw_workloads *w,
					size_t pod)
{
	return pod < w->npods && w->tmpl[pod];
}

PW_EXPORT bool pw_workloads_isolated(const struct pw_workloads *w, size_t pod,
				     enum pw_dir d)
{
	return pod < w->npods && d < PW_DIR_NR && w->iso[d][pod];
}
