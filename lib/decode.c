// SPDX-License-Identifier: Apache-2.0
/*
 * The decoder's core: errors with field paths, the visit budget, typed
 * scalars, field tables, ObjectMeta, and the dispatch of documents by
 * apiVersion and kind. The kinds live in decode_pod.c (Pods, workloads,
 * Nodes, Services, Namespaces) and decode_policy.c (NetworkPolicy).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "decode.h"
#include "labels.h"

/* ---- errors and the visit budget ---------------------------------- */

static void dec_verr(struct pw_dec *x, const struct pw_pos *pos,
		     const char *fmt, va_list ap) PW_PRINTF(3, 0);
static void dec_verr(struct pw_dec *x, const struct pw_pos *pos,
		     const char *fmt, va_list ap)
{
	if (x->doc_errors >= PW_DEC_MAX_ERRORS)
		return;
	if (pw_diags_vadd(x->d, PW_SEV_ERROR, pos, x->path.buf, fmt, ap))
		x->oom = true;
	x->errors++;
	x->c->load_errors++;
	if (++x->doc_errors == PW_DEC_MAX_ERRORS &&
	    pw_diags_add(x->d, PW_SEV_ERROR, pos, NULL,
			 "too many errors, the rest of the document is "
			 "not read"))
		x->oom = true;
}

void pw_dec_err_at(struct pw_dec *x, const struct pw_pos *pos, const char *fmt,
		   ...)
{
	va_list ap;

	va_start(ap, fmt);
	dec_verr(x, pos, fmt, ap);
	va_end(ap);
}

void pw_dec_err(struct pw_dec *x, const struct pw_ynode *n, const char *fmt,
		...)
{
	va_list ap;

	va_start(ap, fmt);
	dec_verr(x, n ? &n->pos : NULL, fmt, ap);
	va_end(ap);
}

/*
 * Aliases make a tree cheap to write and expensive to walk; every node the
 * decoder reads is charged to the document, so an alias bomb ends here.
 */
bool pw_dec_visit(struct pw_dec *x, const struct pw_ynode *n)
{
	if (!pw_dec_ok(x))
		return false;
	if (pw_yaml_doc_charge(x->y, x->doc, 1))
		return true;
	pw_dec_err(x, n,
		   "document expands aliases beyond its budget of node visits");
	x->exhausted = true;
	return false;
}

/* ---- types -------------------------------------------------------- */

static void type_error(struct pw_dec *x, const struct pw_ynode *n,
		       const char *want)
{
	pw_dec_err(x, n, "expected %s, got %s", want, pw_node_kind_name(n));
}

/* A mapping or a sequence as wanted; null is fine (empty) but false. */
static bool want_type(struct pw_dec *x, const struct pw_ynode *n,
		      enum pw_node_type t)
{
	if (!n || pw_node_is_null(n))
		return false;
	if (n->type == t)
		return true;
	type_error(x, n, t == PW_NODE_MAP ? "mapping" : "sequence");
	return false;
}

bool pw_dec_str(struct pw_dec *x, const struct pw_ynode *n, char **out)
{
	*out = NULL;
	if (!n || pw_node_is_null(n)) {
		*out = strdup("");
	} else if (!pw_node_is_string(n)) {
		type_error(x, n, "string");
		return false;
	} else if (n->scalar.nul) {
		pw_dec_err(x, n, "string contains a NUL character");
		return false;
	} else {
		*out = malloc(n->scalar.len + 1);
		if (*out)
			memcpy(*out, n->scalar.text, n->scalar.len + 1);
	}
	if (!*out)
		x->oom = true;
	return *out != NULL;
}

bool pw_dec_int32(struct pw_dec *x, const struct pw_ynode *n, int64_t *out)
{
	*out = 0;
	if (!n || pw_node_is_null(n))
		return true;
	if (!pw_node_as_int(n, out)) {
		if (!strcmp(pw_node_kind_name(n), "integer"))
			pw_dec_err(x, n, "integer %s out of range",
				   n->scalar.text);
		else
			type_error(x, n, "integer");
		return false;
	}
	if (*out < INT32_MIN || *out > INT32_MAX) {
		pw_dec_err(x, n, "integer %s out of range (32 bits)",
			   n->scalar.text);
		return false;
	}
	return true;
}

bool pw_dec_bool(struct pw_dec *x, const struct pw_ynode *n, bool *out)
{
	*out = false;
	if (!n || pw_node_is_null(n) || pw_node_as_bool(n, out))
		return true;
	type_error(x, n, "boolean");
	return false;
}

bool pw_dec_int_or_str(struct pw_dec *x, const struct pw_ynode *n, int64_t *num,
		       char **name)
{
	*num = 0;
	*name = NULL;
	if (n && n->type == PW_NODE_SCALAR && pw_node_is_string(n))
		return pw_dec_str(x, n, name);
	if (n && n->type == PW_NODE_SCALAR &&
	    !strcmp(pw_node_kind_name(n), "integer"))
		return pw_dec_int32(x, n, num);
	type_error(x, n, "integer or string");
	return false;
}

bool pw_dec_proto(struct pw_dec *x, const struct pw_ynode *n,
		  enum pw_proto *out)
{
	char *s;
	bool ok;

	*out = PW_PROTO_TCP;
	if (!n || pw_node_is_null(n))
		return true;
	if (!pw_dec_str(x, n, &s))
		return false;
	ok = !pw_proto_parse(s, out);
	if (!ok)
		pw_dec_err(x, n,
			   "unsupported protocol \"%s\" (TCP, UDP or SCTP)", s);
	free(s);
	return ok;
}

bool pw_dec_addr(struct pw_dec *x, const struct pw_ynode *n,
		 struct pw_addr *out)
{
	char *s;
	bool ok;

	if (!pw_dec_str(x, n, &s))
		return false;
	ok = !pw_addr_parse(s, out);
	if (!ok)
		pw_dec_err(x, n, "\"%s\" is not a valid IP address", s);
	free(s);
	return ok;
}

bool pw_dec_cidr(struct pw_dec *x, const struct pw_ynode *n,
		 struct pw_cidr *out)
{
	const char *why = NULL;
	char *s;
	bool ok;

	if (!pw_dec_str(x, n, &s))
		return false;
	ok = !pw_cidr_parse(s, out, NULL, &why);
	if (!ok)
		pw_dec_err(x, n, "\"%s\" is not a valid CIDR%s%s", s,
			   why ? ": " : "", why ? why : "");
	free(s);
	return ok;
}

/* ---- mappings and sequences --------------------------------------- */

static const struct pw_field *find_field(const struct pw_field *f, size_t nf,
					 const char *name)
{
	/* the first character tells most fields apart */
	for (size_t i = 0; i < nf; i++)
		if (f[i].name[0] == name[0] && !strcmp(f[i].name, name))
			return &f[i];
	return NULL;
}

/* A mapping key as JSON sees it: a scalar, whose text names the field. */
static bool key_ok(struct pw_dec *x, const struct pw_ynode *k)
{
	if (!pw_dec_visit(x, k))
		return false;
	if (k->type == PW_NODE_SCALAR && !k->scalar.nul)
		return true;
	pw_dec_err(x, k, "expected a string key, got %s", pw_node_kind_name(k));
	return false;
}

void pw_dec_map(struct pw_dec *x, const struct pw_ynode *n,
		const struct pw_field *f, size_t nf, void *obj)
{
	const struct pw_field *fd;
	const struct pw_pair *p;
	size_t mark;

	if (!pw_dec_visit(x, n) || !want_type(x, n, PW_NODE_MAP))
		return;
	for (size_t i = 0; i < n->map.n && pw_dec_ok(x); i++) {
		p = &n->map.pairs[i];
		if (!key_ok(x, p->key))
			continue;
		mark = pw_path_push(&x->path, p->key->scalar.text);
		fd = find_field(f, nf, p->key->scalar.text);
		if (!fd)
			pw_dec_err(x, p->key, "unknown field \"%s\"",
				   p->key->scalar.text);
		else if (fd->fn && !pw_node_is_null(p->value))
			fd->fn(x, p->value, obj);
		pw_path_pop(&x->path, mark);
	}
}

void *pw_dec_array(struct pw_dec *x, const struct pw_ynode *n, size_t elem,
		   size_t *count, pw_item_fn fn, void *ctx)
{
	const struct pw_ynode *item;
	char *v;
	size_t mark;

	*count = 0;
	if (!pw_dec_visit(x, n) || !want_type(x, n, PW_NODE_SEQ) || !n->seq.n)
		return NULL;
	v = calloc(n->seq.n, elem);
	if (!v) {
		x->oom = true;
		return NULL;
	}
	*count = n->seq.n;
	for (size_t i = 0; i < n->seq.n && pw_dec_ok(x); i++) {
		item = n->seq.items[i];
		mark = pw_path_push_index(&x->path, i);
		if (pw_dec_visit(x, item) && fn)
			fn(x, item, v + i * elem, ctx);
		pw_path_pop(&x->path, mark);
	}
	return v;
}

/* ---- labels and ObjectMeta ---------------------------------------- */

static bool label_value_fast(const struct pw_ynode *v)
{
	return pw_node_is_string(v) && !v->scalar.nul;
}

/* Labels go in document order, then sorted; the YAML layer has already
 * rejected duplicate keys. */
void pw_dec_labels(struct pw_dec *x, const struct pw_ynode *n,
		   struct pw_labels *out)
{
	const struct pw_pair *p;
	struct pw_label *l;
	size_t mark;

	if (!pw_dec_visit(x, n) || !want_type(x, n, PW_NODE_MAP) || !n->map.n)
		return;
	out->v = calloc(n->map.n, sizeof(*out->v));
	if (!out->v) {
		x->oom = true;
		return;
	}
	for (size_t i = 0; i < n->map.n && pw_dec_ok(x); i++) {
		p = &n->map.pairs[i];
		if (!key_ok(x, p->key) || !pw_dec_visit(x, p->value))
			continue;
		l = &out->v[out->n];
		/* the path is only needed for an error */
		mark = x->path.len;
		if (!label_value_fast(p->value))
			pw_path_pushf(&x->path, "[%s]", p->key->scalar.text);
		if (pw_dec_str(x, p->value, &l->value)) {
			l->key = strdup(p->key->scalar.text);
			l->pos = p->key->pos;
			if (l->key)
				out->n++;
			else
				x->oom = true;
		}
		if (!l->key) {
			free(l->value);
			l->value = NULL;
		}
		pw_path_pop(&x->path, mark);
	}
	pw_labels_sort(out);
}

static void meta_name(struct pw_dec *x, const struct pw_ynode *v, void *obj)
{
	struct pw_meta *m = obj;

	free(m->name);
	pw_dec_str(x, v, &m->name);
	m->name_pos = v->pos;
}

static void meta_ns(struct pw_dec *x, const struct pw_ynode *v, void *obj)
{
	struct pw_meta *m = obj;

	free(m->ns);
	pw_dec_str(x, v, &m->ns);
	m->ns_pos = v->pos;
}

static void meta_labels(struct pw_dec *x, const struct pw_ynode *v, void *obj)
{
	pw_dec_labels(x, v, &((struct pw_meta *)obj)->labels);
}

/* Annotations are typed as labels are: a non-string value is the error
 * the API server would give. */
static void meta_annotations(struct pw_dec *x, const struct pw_ynode *v,
			     void *obj)
{
	struct pw_meta *m = obj;

	pw_labels_clear(&m->annotations);
	pw_dec_labels(x, v, &m->annotations);
}

/* One ownerReferences entry, read into a scratch owner. */
struct owner_doc {
	struct pw_owner o;
	bool controller;
};

static void owner_kind(struct pw_dec *x, const struct pw_ynode *v, void *obj)
{
	struct owner_doc *d = obj;

	free(d->o.kind);
	pw_dec_str(x, v, &d->o.kind);
}

static void owner_name(struct pw_dec *x, const struct pw_ynode *v, void *obj)
{
	struct owner_doc *d = obj;

	free(d->o.name);
	pw_dec_str(x, v, &d->o.name);
}

static void owner_str(struct pw_dec *x, const struct pw_ynode *v, void *obj)
{
	char *s;

	if (pw_dec_str(x, v, &s))
		free(s);
}

static void owner_controller(struct pw_dec *x, const struct pw_ynode *v,
			     void *obj)
{
	pw_dec_bool(x, v, &((struct owner_doc *)obj)->controller);
}

static void owner_bool(struct pw_dec *x, const struct pw_ynode *v, void *obj)
{
	bool b;

	pw_dec_bool(x, v, &b);
}

static const struct pw_field owner_fields[] = {
	{ "apiVersion", owner_str },
	{ "kind", owner_kind },
	{ "name", owner_name },
	{ "uid", owner_str },
	{ "controller", owner_controller },
	{ "blockOwnerDeletion", owner_bool },
};

/* The entry with controller: true is kept; the API allows only one. */
static void owner_item(struct pw_dec *x, const struct pw_ynode *n, void *item,
		       void *ctx)
{
	struct pw_meta *m = ctx;
	struct owner_doc d = { 0 };

	PW_DEC_MAP(x, n, owner_fields, &d);
	if (!d.controller || !pw_dec_ok(x)) {
		pw_owner_clear(&d.o);
		return;
	}
	if (m->owner.kind)
		pw_dec_err(x, n,
			   "only one reference can have controller set to "
			   "true");
	if (m->owner.kind || !d.o.kind || !d.o.kind[0] || !d.o.name ||
	    !d.o.name[0]) {
		pw_owner_clear(&d.o);
		return;
	}
	m->owner = d.o;
}

static void meta_owners(struct pw_dec *x, const struct pw_ynode *v, void *obj)
{
	struct pw_meta *m = obj;
	size_t n;

	pw_owner_clear(&m->owner);
	free(pw_dec_array(x, v, 1, &n, owner_item, m));
}

static const struct pw_field meta_fields[] = {
	{ "name", meta_name },
	{ "namespace", meta_ns },
	{ "labels", meta_labels },
	{ "annotations", meta_annotations },
	{ "generateName", NULL },
	{ "uid", NULL },
	{ "resourceVersion", NULL },
	{ "generation", NULL },
	{ "creationTimestamp", NULL },
	{ "deletionTimestamp", NULL },
	{ "deletionGracePeriodSeconds", NULL },
	{ "ownerReferences", meta_owners },
	{ "finalizers", NULL },
	{ "managedFields", NULL },
	{ "selfLink", NULL },
	{ "clusterName", NULL },
};

void pw_dec_meta(struct pw_dec *x, const struct pw_ynode *n, struct pw_meta *m)
{
	m->pos = n->pos;
	PW_DEC_MAP(x, n, meta_fields, m);
}

void pw_meta_clear(struct pw_meta *m)
{
	free(m->name);
	free(m->ns);
	pw_labels_clear(&m->labels);
	pw_labels_clear(&m->annotations);
	pw_owner_clear(&m->owner);
	memset(m, 0, sizeof(*m));
}

bool pw_meta_finish(struct pw_dec *x, const struct pw_ynode *obj,
		    struct pw_meta *m, bool namespaced)
{
	size_t mark;

	if (!m->name || !m->name[0]) {
		mark = pw_path_push(&x->path, "metadata.name");
		pw_dec_err_at(x, m->pos.line ? &m->pos : &obj->pos,
			      "required value");
		pw_path_pop(&x->path, mark);
		return false;
	}
	if (namespaced && (!m->ns || !m->ns[0])) {
		free(m->ns);
		m->ns = strdup("default");
		m->ns_pos = (struct pw_pos){ 0 };
		if (!m->ns) {
			x->oom = true;
			return false;
		}
	}
	return true;
}

/* ---- documents ---------------------------------------------------- */

static void decode_list(struct pw_dec *x, const struct pw_kind_ops *k,
			const struct pw_ynode *root);

/*
 * Kinds by apiVersion and kind. A kind podwall models under another
 * apiVersion is an error, not a skip: skipping a NetworkPolicy would fail
 * open. Lists are what `kubectl get -o yaml` prints.
 */
static const struct pw_kind_ops kinds[] = {
	{ "v1", "Namespace", pw_decode_namespace },
	{ "v1", "Pod", pw_decode_pod },
	{ "v1", "Node", pw_decode_node },
	{ "v1", "Service", pw_decode_service },
	{ "v1", "ReplicationController", pw_decode_workload },
	{ "networking.k8s.io/v1", "NetworkPolicy", pw_decode_policy },
	{ "apps/v1", "Deployment", pw_decode_workload },
	{ "apps/v1", "StatefulSet", pw_decode_workload },
	{ "apps/v1", "DaemonSet", pw_decode_workload },
	{ "apps/v1", "ReplicaSet", pw_decode_workload },
	{ "batch/v1", "Job", pw_decode_workload },
	{ "batch/v1", "CronJob", pw_decode_workload },
	{ "v1", "List", decode_list },
	{ "v1", "NamespaceList", decode_list },
	{ "v1", "PodList", decode_list },
	{ "v1", "NodeList", decode_list },
	{ "v1", "ServiceList", decode_list },
	{ "networking.k8s.io/v1", "NetworkPolicyList", decode_list },
	{ "apps/v1", "DeploymentList", decode_list },
	{ "apps/v1", "StatefulSetList", decode_list },
	{ "apps/v1", "DaemonSetList", decode_list },
	{ "apps/v1", "ReplicaSetList", decode_list },
	{ "batch/v1", "JobList", decode_list },
	{ "batch/v1", "CronJobList", decode_list },
};

/* The entry for kind, spelled exactly or (exact false) in any case. */
static const struct pw_kind_ops *find_kind(const char *kind, bool exact)
{
	for (size_t i = 0; i < PW_ARRAY_SIZE(kinds); i++)
		if (exact ? !strcmp(kinds[i].kind, kind) :
			    !strcasecmp(kinds[i].kind, kind))
			return &kinds[i];
	return NULL;
}

/* apiVersion or kind: a string that must be there. */
static char *type_meta(struct pw_dec *x, const struct pw_ynode *root,
		       const char *field)
{
	const struct pw_ynode *v = pw_node_get(root, field);
	size_t mark = pw_path_push(&x->path, field);
	char *s = NULL;

	if (!v || pw_node_is_null(v))
		pw_dec_err(x, root,
			   "required value: a manifest needs "
			   "apiVersion and kind");
	else if (pw_dec_str(x, v, &s) && !s[0])
		pw_dec_err(x, v, "required value");
	pw_path_pop(&x->path, mark);
	if (s && !s[0]) {
		free(s);
		s = NULL;
	}
	return s;
}

static void dispatch(struct pw_dec *x, const struct pw_ynode *root,
		     const char *api, const char *kind)
{
	const struct pw_kind_ops *k = find_kind(kind, true);
	const struct pw_kind_ops *near = k ? k : find_kind(kind, false);
	size_t mark;

	if (k && !strcmp(k->api_version, api)) {
		x->errors = 0;
		k->decode(x, k, root);
		return;
	}
	if (!near) {
		if (pw_diags_add(x->d, PW_SEV_NOTE, &root->pos, x->path.buf,
				 "kind %s (%s) skipped", kind, api))
			x->oom = true;
		return;
	}
	mark = pw_path_push(&x->path, k ? "apiVersion" : "kind");
	if (k)
		pw_dec_err(x, pw_node_get(root, "apiVersion"),
			   "apiVersion \"%s\" of kind %s is not supported "
			   "(podwall reads %s)",
			   api, kind, k->api_version);
	else
		pw_dec_err(x, pw_node_get(root, "kind"),
			   "unknown kind \"%s\" (did you mean %s?)", kind,
			   near->kind);
	pw_path_pop(&x->path, mark);
}

static void decode_object(struct pw_dec *x, const struct pw_ynode *root)
{
	char *api, *kind;

	if (!pw_dec_visit(x, root))
		return;
	if (root->type != PW_NODE_MAP) {
		type_error(x, root, "mapping (a Kubernetes object)");
		return;
	}
	api = type_meta(x, root, "apiVersion");
	kind = type_meta(x, root, "kind");
	if (api && kind)
		dispatch(x, root, api, kind);
	free(api);
	free(kind);
}

static void list_item(struct pw_dec *x, const struct pw_ynode *n, void *item,
		      void *ctx)
{
	decode_object(x, n);
}

static const struct pw_field list_fields[] = {
	{ "apiVersion", NULL },
	{ "kind", NULL },
	{ "metadata", NULL }, /* ListMeta: nothing podwall reads */
	{ "items", NULL }, /* read below, in order */
};

/* Each item is a whole object with its own apiVersion and kind. */
static void decode_list(struct pw_dec *x, const struct pw_kind_ops *k,
			const struct pw_ynode *root)
{
	const struct pw_ynode *items = pw_node_get(root, "items");
	size_t mark, n;
	void *v;

	PW_DEC_MAP(x, root, list_fields, NULL);
	if (!items || !pw_dec_ok(x))
		return;
	mark = pw_path_push(&x->path, "items");
	v = pw_dec_array(x, items, 1, &n, list_item, NULL);
	free(v);
	pw_path_pop(&x->path, mark);
}

struct pw_dec_mark pw_dec_mark(const struct pw_cluster *c)
{
	return (struct pw_dec_mark){ c->nnss, c->npods, c->npols, c->nnodes,
				     c->nsvcs };
}

void pw_dec_rollback(struct pw_cluster *c, const struct pw_dec_mark *m)
{
	while (c->nnss > m->nss)
		pw_namespace_clear(&c->nss[--c->nnss]);
	while (c->npods > m->pods)
		pw_pod_clear(&c->pods[--c->npods]);
	while (c->npols > m->pols)
		pw_policy_clear(&c->pols[--c->npols]);
	while (c->nnodes > m->nodes)
		pw_node_clear(&c->nodes[--c->nnodes]);
	while (c->nsvcs > m->svcs)
		pw_service_clear(&c->svcs[--c->nsvcs]);
}

int pw_decode_yaml(struct pw_cluster *c, struct pw_yaml *y, struct pw_diags *d)
{
	struct pw_dec x = { .c = c, .d = d, .y = y };
	const struct pw_ynode *root;
	struct pw_dec_mark m;
	int ret = 0;

	for (x.doc = 0; x.doc < pw_yaml_doc_count(y) && !x.oom; x.doc++) {
		root = pw_yaml_doc(y, x.doc);
		if (!root)
			continue;
		pw_path_init(&x.path);
		x.exhausted = false;
		x.doc_errors = 0;
		m = pw_dec_mark(c);
		decode_object(&x, root);
		if (x.exhausted) {
			pw_dec_rollback(c, &m);
			ret = -EBADMSG;
		}
	}
	return x.oom ? -ENOMEM : ret;
}
