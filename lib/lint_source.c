// SPDX-License-Identifier: Apache-2.0
/*
 * What lint needs to know about each object as written, beyond its
 * semantics: the suppression annotation and whether it wrote
 * metadata.namespace. Both come from the model (the objects' annotations
 * and namespace positions), so input from standard input or a buffer is
 * judged exactly as input from files.
 *
 * Findings name their object by the position of its document (struct
 * lint_where.obj, the pw_pod.pos, pw_policy.pos, ... of the object), so
 * the index is a table of those positions, sorted, searched per finding.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "labels.h"
#include "lint_rules.h"

struct src_obj {
	struct pw_pos pos;
	const char *ignore; /* the annotation's text (borrowed), or NULL */
	bool no_ns;
};

struct lint_source {
	struct src_obj *v;
	size_t n, cap;
};

static int pos_cmp(const struct pw_pos *a, const struct pw_pos *b)
{
	int r = strcmp(a->file ? a->file : "", b->file ? b->file : "");

	if (r)
		return r;
	if (a->line != b->line)
		return a->line < b->line ? -1 : 1;
	return a->col < b->col ? -1 : a->col > b->col;
}

static int obj_cmp(const void *a, const void *b)
{
	return pos_cmp(&((const struct src_obj *)a)->pos,
		       &((const struct src_obj *)b)->pos);
}

/*
 * One object. ns_pos is NULL for cluster-scoped kinds; a zero ns_pos
 * means the namespace was not written. Objects that no document holds
 * (implicit namespaces) have no position and no entry.
 */
static int add_object(struct lint_source *s, const struct pw_pos *pos,
		      const struct pw_labels *annotations,
		      const struct pw_pos *ns_pos)
{
	struct src_obj *o;

	if (!pos->line)
		return 0;
	o = PW_PUSH(s->v, s->n, s->cap);
	if (!o)
		return -ENOMEM;
	o->pos = *pos;
	o->ignore = pw_labels_get(annotations, PW_LINT_IGNORE_ANNOTATION);
	o->no_ns = ns_pos && !ns_pos->line;
	return 0;
}

static int add_all(struct lint_source *s, const struct pw_cluster *c)
{
	int err = 0;

	for (size_t i = 0; !err && i < c->npols; i++)
		err = add_object(s, &c->pols[i].pos, &c->pols[i].annotations,
				 &c->pols[i].ns_pos);
	for (size_t i = 0; !err && i < c->npods; i++)
		err = add_object(s, &c->pods[i].pos, &c->pods[i].annotations,
				 &c->pods[i].ns_pos);
	for (size_t i = 0; !err && i < c->nsvcs; i++)
		err = add_object(s, &c->svcs[i].pos, &c->svcs[i].annotations,
				 &c->svcs[i].ns_pos);
	for (size_t i = 0; !err && i < c->nnss; i++)
		err = add_object(s, &c->nss[i].pos, &c->nss[i].annotations,
				 NULL);
	for (size_t i = 0; !err && i < c->nnodes; i++)
		err = add_object(s, &c->nodes[i].pos, &c->nodes[i].annotations,
				 NULL);
	return err;
}

struct lint_source *lint_source_new(const struct pw_cluster *c)
{
	struct lint_source *s = calloc(1, sizeof(*s));

	if (!s)
		goto err_out;
	if (add_all(s, c))
		goto err_free_source;
	if (s->n)
		qsort(s->v, s->n, sizeof(*s->v), obj_cmp);
	return s;

err_free_source:
	lint_source_free(s);
err_out:
	errno = ENOMEM;
	return NULL;
}

void lint_source_free(struct lint_source *s)
{
	if (!s)
		return;
	free(s->v);
	free(s);
}

static const struct src_obj *find(const struct lint_source *s,
				  const struct pw_pos *obj)
{
	struct src_obj key = { .pos = *obj };

	if (!obj->line || !s->n)
		return NULL;
	return bsearch(&key, s->v, s->n, sizeof(*s->v), obj_cmp);
}

const char *lint_source_ignore(const struct lint_source *s,
			       const struct pw_pos *obj)
{
	const struct src_obj *o = find(s, obj);

	return o ? o->ignore : NULL;
}

bool lint_source_no_ns(const struct lint_source *s, const struct pw_pos *obj)
{
	const struct src_obj *o = find(s, obj);

	return o && o->no_ns;
}

/* ---- PW014: objects without a namespace ------------------------------ */

static int no_ns_report(struct lint_ctx *x, const char *kind, const char *name,
			const struct pw_pos *name_pos, const struct pw_pos *obj)
{
	struct lint_where at = {
		.pos = name_pos->line ? name_pos : obj,
		.path = "metadata.namespace",
		.kind = kind,
		.ns = "default",
		.name = name,
		.obj = obj,
	};

	return lint_report(
		x, &at, NULL,
		"%s \"%s\" has no metadata.namespace: it was read as "
		"namespace \"default\"",
		kind, name);
}

int lint_no_namespace(struct lint_ctx *x)
{
	const struct pw_cluster *c = x->c;
	int err = 0;

	for (size_t i = 0; !err && i < c->npols; i++) {
		const struct pw_policy *p = &c->pols[i];

		if (lint_source_no_ns(x->src, &p->pos))
			err = no_ns_report(x, "NetworkPolicy", p->name,
					   &p->name_pos, &p->pos);
	}
	for (size_t i = 0; !err && i < c->npods; i++) {
		const struct pw_pod *p = &c->pods[i];

		if (lint_source_no_ns(x->src, &p->pos))
			err = no_ns_report(x, p->kind ? p->kind : "Pod",
					   p->name, &p->name_pos, &p->pos);
	}
	for (size_t i = 0; !err && i < c->nsvcs; i++) {
		const struct pw_service *s = &c->svcs[i];

		if (lint_source_no_ns(x->src, &s->pos))
			err = no_ns_report(x, "Service", s->name, &s->name_pos,
					   &s->pos);
	}
	return err;
}
