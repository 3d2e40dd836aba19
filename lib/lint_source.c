// SPDX-License-Identifier: Apache-2.0
/*
 * What lint needs from the manifests' text that the model does not keep:
 * the suppression annotation of each object and whether it wrote
 * metadata.namespace. The files the cluster was loaded from are read
 * again and each object document is recorded by its position, which is
 * also the position the model keeps for the object (pw_pod.pos,
 * pw_policy.pos, ...), so findings find their object's entry by it.
 *
 * Standard input and buffers cannot be read twice: objects from them
 * have no entry, so they cannot be suppressed by annotation (namespace
 * exclusion still works) and PW014 judges only policies there.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lint_rules.h"
#include "yaml.h"

struct src_obj {
	struct pw_pos pos;
	char *ignore; /* the annotation's text, or NULL */
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

/* The text of a string scalar at key of map, or NULL. */
static const char *str_at(const struct pw_ynode *map, const char *key)
{
	const struct pw_ynode *v;

	if (!map || map->type != PW_NODE_MAP)
		return NULL;
	v = pw_node_get(map, key);
	if (!v || v->type != PW_NODE_SCALAR || pw_node_is_null(v))
		return NULL;
	return v->scalar.text;
}

static int add_object(struct lint_source *s, const struct pw_ynode *obj)
{
	const struct pw_ynode *meta = pw_node_get(obj, "metadata");
	const struct pw_ynode *ann = NULL;
	const char *ns, *ign;
	struct src_obj *o;

	if (meta && meta->type == PW_NODE_MAP)
		ann = pw_node_get(meta, "annotations");
	ns = str_at(meta, "namespace");
	ign = str_at(ann, PW_LINT_IGNORE_ANNOTATION);
	o = PW_PUSH(s->v, s->n, s->cap);
	if (!o)
		return -ENOMEM;
	o->pos = obj->pos;
	o->no_ns = !ns || !*ns;
	if (ign && !(o->ignore = strdup(ign)))
		return -ENOMEM;
	return 0;
}

/* A document: one object, or the items of a List. */
static int add_document(struct lint_source *s, const struct pw_ynode *root)
{
	const struct pw_ynode *items;
	const char *kind;
	size_t len;
	int err = 0;

	if (!root || root->type != PW_NODE_MAP)
		return 0;
	kind = str_at(root, "kind");
	items = pw_node_get(root, "items");
	len = kind ? strlen(kind) : 0;
	if (len < 4 || strcmp(kind + len - 4, "List") || !items ||
	    items->type != PW_NODE_SEQ)
		return add_object(s, root);
	for (size_t i = 0; !err && i < items->seq.n; i++)
		if (items->seq.items[i]->type == PW_NODE_MAP)
			err = add_object(s, items->seq.items[i]);
	return err;
}

/* The whole file, or NULL (unreadable files are skipped: the loader has
 * read them, so this only happens when they changed since). */
static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	size_t cap = 0, n = 0, got;
	char *buf = NULL, *nb;

	if (!f)
		return NULL;
	do {
		if (n + 4096 > cap) {
			cap = cap ? 2 * cap : 65536;
			nb = cap > PW_YAML_MAX_INPUT ? NULL : realloc(buf, cap);
			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
	} while (got);
	fclose(f);
	*len = n;
	return buf;
}

/* Whether an object read from file may have defaulted its namespace:
 * only those in "default" can have (policies record it themselves). */
static bool has_default_ns(const struct pw_cluster *c, const char *file)
{
	for (size_t i = 0; i < c->npods; i++)
		if (c->pods[i].pos.file == file &&
		    !strcmp(c->pods[i].ns, "default"))
			return true;
	for (size_t i = 0; i < c->nsvcs; i++)
		if (c->svcs[i].pos.file == file &&
		    !strcmp(c->svcs[i].ns, "default"))
			return true;
	return false;
}

/*
 * Parsing a big file again costs as much as loading it did, so only
 * files that hold the annotation's name or objects of "default" are.
 */
static int add_file(struct lint_source *s, const struct pw_cluster *c,
		    const char *file)
{
	static const char ann[] = PW_LINT_IGNORE_ANNOTATION;
	struct pw_yaml *y = NULL;
	size_t len = 0;
	char *buf;
	int err = 0;

	if (!strcmp(file, "-"))
		return 0;
	buf = read_all(file, &len);
	if (!buf)
		return 0;
	if ((memmem(buf, len, ann, sizeof(ann) - 1) ||
	     has_default_ns(c, file)) &&
	    !pw_yaml_parse(file, buf, len, &y, NULL)) {
		for (size_t i = 0; !err && i < pw_yaml_doc_count(y); i++)
			err = add_document(s, pw_yaml_doc(y, i));
	}
	pw_yaml_free(y);
	free(buf);
	return err;
}

struct lint_source *lint_source_new(const struct pw_cluster *c)
{
	struct lint_source *s = calloc(1, sizeof(*s));

	if (!s)
		goto err_out;
	for (size_t i = 0; i < c->nfiles; i++)
		if (add_file(s, c, c->files[i]))
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
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i].ignore);
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

		if (p->pos.line && !p->ns_pos.line)
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
