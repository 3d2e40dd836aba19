// SPDX-License-Identifier: Apache-2.0
/*
 * API responses to source events: the pages of a list and the lines of a
 * watch stream, read with jansson. Each object is handed over as compact
 * JSON with its apiVersion and kind (list items lack them) and without
 * metadata.managedFields: the server's bookkeeping of field owners, often
 * half of an object's bytes, which podwall never reads.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube.h"

/* The string member key of o, or NULL. */
static const char *get_str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static int set_rv(struct kube_sink *s, const char *rv)
{
	char *c;

	if (!rv || !rv[0])
		return 0;
	c = strdup(rv);
	if (!c)
		return -ENOMEM;
	free(*s->rv);
	*s->rv = c;
	return 0;
}

/*
 * The object's identity, checked: a name, and a namespace exactly when
 * the kind is namespaced. -EBADMSG (message set) otherwise.
 */
static int object_id(struct kube_sink *s, const json_t *obj, const char **ns,
		     const char **name)
{
	const json_t *meta = json_object_get(obj, "metadata");

	*name = get_str(meta, "name");
	*ns = get_str(meta, "namespace");
	if (!json_is_object(obj) || !*name || !(*name)[0]) {
		snprintf(s->msg, sizeof(s->msg), "%s: an object without a name",
			 s->k->resource);
		return -EBADMSG;
	}
	if (s->k->namespaced != (*ns && (*ns)[0])) {
		snprintf(s->msg, sizeof(s->msg), "%s %s: %s", s->k->resource,
			 *name,
			 s->k->namespaced ? "no namespace" :
					    "a namespace on a cluster object");
		return -EBADMSG;
	}
	if (!*ns)
		*ns = "";
	return 0;
}

/* Gives obj its type and drops managedFields (obj is modified). */
static int normalize(const struct kube_kind *k, json_t *obj)
{
	json_t *meta = json_object_get(obj, "metadata");

	if (json_object_set_new(obj, "apiVersion",
				json_string(k->api_version)) ||
	    json_object_set_new(obj, "kind", json_string(k->kind)))
		return -ENOMEM;
	json_object_del(meta, "managedFields");
	return 0;
}

/* Emits an upsert or a delete of obj (already checked by object_id). */
static int emit_object(struct kube_sink *s, enum src_event ev, json_t *obj,
		       const char *ns, const char *name)
{
	struct src_object o = { .kind = s->k->kind, .ns = ns, .name = name };
	char origin[512], *text = NULL;

	snprintf(origin, sizeof(origin), "kube:%s/%s%s%s", s->k->resource, ns,
		 ns[0] ? "/" : "", name);
	o.origin = origin;
	if (ev == SRC_UPSERT) {
		if (normalize(s->k, obj))
			return -ENOMEM;
		text = json_dumps(obj, JSON_COMPACT);
		if (!text)
			return -ENOMEM;
		o.text = text;
		o.len = strlen(text);
	}
	s->emit(s->ctx, ev, &o);
	free(text);
	return 0;
}

void kube_emit_marker(struct kube_sink *s, enum src_event ev)
{
	struct src_object o = { .kind = s->k->kind, .ns = "", .name = "" };
	char origin[64];

	snprintf(origin, sizeof(origin), "kube:%s", s->k->resource);
	o.origin = origin;
	s->emit(s->ctx, ev, &o);
}

static int list_items_check(struct kube_sink *s, const json_t *items)
{
	const char *ns, *name;
	size_t i;
	json_t *it;

	if (!json_is_array(items)) {
		snprintf(s->msg, sizeof(s->msg), "%s: a list without items",
			 s->k->resource);
		return -EBADMSG;
	}
	json_array_foreach(items, i, it) if (object_id(s, it, &ns,
						       &name)) return -EBADMSG;
	return 0;
}

int kube_list_page(struct kube_sink *s, const char *body, size_t len,
		   char **cont)
{
	json_t *root, *meta, *items, *it;
	const char *ns, *name, *c;
	json_error_t jerr;
	int ret = -EBADMSG;
	size_t i;

	*cont = NULL;
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		snprintf(s->msg, sizeof(s->msg), "%s: list: %s", s->k->resource,
			 jerr.text);
		return -EBADMSG;
	}
	meta = json_object_get(root, "metadata");
	items = json_object_get(root, "items");
	/* a list is read whole before anything of it is emitted */
	if (list_items_check(s, items))
		goto out;
	/* the watch that follows starts from it */
	if (!get_str(meta, "resourceVersion") ||
	    !get_str(meta, "resourceVersion")[0]) {
		snprintf(s->msg, sizeof(s->msg),
			 "%s: a list without a resourceVersion",
			 s->k->resource);
		goto out;
	}
	ret = set_rv(s, get_str(meta, "resourceVersion"));
	c = get_str(meta, "continue");
	if (!ret && c && c[0] && !(*cont = strdup(c)))
		ret = -ENOMEM;
	if (!ret && s->reset)
		kube_emit_marker(s, SRC_RESET);
	json_array_foreach(items, i, it)
	{
		if (ret)
			break;
		object_id(s, it, &ns, &name);
		ret = emit_object(s, SRC_UPSERT, it, ns, name);
	}
out:
	json_decref(root);
	return ret;
}

/* What each watch event type does. */
static const struct {
	const char *type;
	enum src_event ev;
	bool emits;
} event_types[] = {
	{ "ADDED", SRC_UPSERT, true },
	{ "MODIFIED", SRC_UPSERT, true },
	{ "DELETED", SRC_DELETE, true },
	{ "BOOKMARK", SRC_UPSERT, false }, /* only moves resourceVersion */
};

/* An ERROR event's object is a Status; 410 means relist. */
static enum kube_line error_event(struct kube_sink *s, const json_t *obj)
{
	json_int_t code = json_integer_value(json_object_get(obj, "code"));
	const char *msg = get_str(obj, "message");

	snprintf(s->msg, sizeof(s->msg), "%s: watch error %lld: %s",
		 s->k->resource, (long long)code, msg ? msg : "(no message)");
	return code == 410 ? KUBE_LINE_GONE : KUBE_LINE_ERROR;
}

static bool blank(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
			return false;
	return true;
}

static enum kube_line event(struct kube_sink *s, const char *type, json_t *obj)
{
	const char *ns, *name, *rv;
	size_t i;

	if (!strcmp(type, "ERROR"))
		return error_event(s, obj);
	for (i = 0; i < KUBE_ARRAY_SIZE(event_types); i++)
		if (!strcmp(event_types[i].type, type))
			break;
	if (i == KUBE_ARRAY_SIZE(event_types)) {
		snprintf(s->msg, sizeof(s->msg), "%s: unknown event type %.32s",
			 s->k->resource, type);
		return KUBE_LINE_BAD;
	}
	rv = get_str(json_object_get(obj, "metadata"), "resourceVersion");
	if (!json_is_object(obj) || !rv || !rv[0]) {
		snprintf(s->msg, sizeof(s->msg),
			 "%s: %s event without a resourceVersion",
			 s->k->resource, type);
		return KUBE_LINE_BAD;
	}
	if (event_types[i].emits) {
		if (object_id(s, obj, &ns, &name))
			return KUBE_LINE_BAD;
		/* before normalize() can drop anything rv points into */
		if (set_rv(s, rv))
			return KUBE_LINE_NOMEM;
		if (emit_object(s, event_types[i].ev, obj, ns, name))
			return KUBE_LINE_NOMEM;
		return KUBE_LINE_OK;
	}
	return set_rv(s, rv) ? KUBE_LINE_NOMEM : KUBE_LINE_OK;
}

enum kube_line kube_watch_line(struct kube_sink *s, const char *line,
			       size_t len)
{
	enum kube_line ret = KUBE_LINE_BAD;
	json_error_t jerr;
	const char *type;
	json_t *root;

	if (blank(line, len))
		return KUBE_LINE_OK;
	root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		snprintf(s->msg, sizeof(s->msg), "%s: watch line: %s",
			 s->k->resource, jerr.text);
		return KUBE_LINE_BAD;
	}
	type = get_str(root, "type");
	if (type && json_is_object(json_object_get(root, "object")))
		ret = event(s, type, json_object_get(root, "object"));
	else
		snprintf(s->msg, sizeof(s->msg),
			 "%s: watch line is not an event", s->k->resource);
	json_decref(root);
	return ret;
}
