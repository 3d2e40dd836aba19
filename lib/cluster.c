// SPDX-License-Identifier: Apache-2.0
/*
 * The cluster: objects loaded from buffers, files and directories, then
 * finalized (implicit namespaces, the namespace name label, sorting,
 * duplicates, validation). Also the destructors of the model's objects.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "labels.h"
#include "model.h"
#include "validate.h"
#include "yaml.h"

/* ---- destructors -------------------------------------------------- */

void pw_labels_clear(struct pw_labels *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].key);
		free(l->v[i].value);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

void pw_owner_clear(struct pw_owner *o)
{
	free(o->kind);
	free(o->name);
	memset(o, 0, sizeof(*o));
}

static void req_clear(struct pw_sel_req *r)
{
	free(r->key);
	free(r->op_text);
	for (size_t i = 0; i < r->nvalues; i++)
		free(r->values[i]);
	free(r->values);
	free(r->value_pos);
}

void pw_selector_clear(struct pw_selector *s)
{
	pw_labels_clear(&s->match_labels);
	for (size_t i = 0; i < s->nreqs; i++)
		req_clear(&s->reqs[i]);
	free(s->reqs);
	memset(s, 0, sizeof(*s));
}

static void peer_clear(struct pw_peer *p)
{
	pw_selector_clear(&p->pod_sel);
	pw_selector_clear(&p->ns_sel);
	free(p->ipblock.cidr_text);
	for (size_t i = 0; i < p->ipblock.nexcept; i++)
		free(p->ipblock.except[i].text);
	free(p->ipblock.except);
}

static void rule_clear(struct pw_rule *r)
{
	for (size_t i = 0; i < r->npeers; i++)
		peer_clear(&r->peers[i]);
	free(r->peers);
	for (size_t i = 0; i < r->nports; i++) {
		free(r->ports[i].proto_text);
		free(r->ports[i].name);
	}
	free(r->ports);
}

void pw_policy_clear(struct pw_policy *p)
{
	free(p->ns);
	free(p->name);
	pw_labels_clear(&p->annotations);
	pw_selector_clear(&p->pod_sel);
	for (size_t i = 0; i < p->ntypes; i++)
		free(p->types[i].text);
	free(p->types);
	for (int d = 0; d < PW_DIR_NR; d++) {
		for (size_t i = 0; i < p->nrules[d]; i++)
			rule_clear(&p->rules[d][i]);
		free(p->rules[d]);
	}
	memset(p, 0, sizeof(*p));
}

void pw_pod_clear(struct pw_pod *p)
{
	free(p->ns);
	free(p->name);
	pw_labels_clear(&p->labels);
	pw_labels_clear(&p->annotations);
	pw_owner_clear(&p->owner);
	free(p->node);
	for (size_t i = 0; i < p->nports; i++) {
		free(p->ports[i].name);
		free(p->ports[i].path);
	}
	free(p->ports);
	memset(p, 0, sizeof(*p));
}

void pw_namespace_clear(struct pw_namespace *n)
{
	free(n->name);
	pw_labels_clear(&n->labels);
	pw_labels_clear(&n->annotations);
	memset(n, 0, sizeof(*n));
}

void pw_node_clear(struct pw_node *n)
{
	free(n->name);
	pw_labels_clear(&n->annotations);
	free(n->addrs);
	free(n->pod_cidrs);
	memset(n, 0, sizeof(*n));
}

void pw_service_clear(struct pw_service *s)
{
	free(s->ns);
	free(s->name);
	pw_labels_clear(&s->annotations);
	pw_labels_clear(&s->selector);
	free(s->cluster_ips);
	for (size_t i = 0; i < s->nports; i++) {
		free(s->ports[i].name);
		free(s->ports[i].target_name);
	}
	free(s->ports);
	memset(s, 0, sizeof(*s));
}

/* ---- the cluster -------------------------------------------------- */

PW_EXPORT struct pw_cluster *pw_cluster_new(void)
{
	return calloc(1, sizeof(struct pw_cluster));
}

PW_EXPORT void pw_cluster_free(struct pw_cluster *c)
{
	if (!c)
		return;
	/* shared objects belong to their unit, freed with it */
	for (size_t i = 0; i < c->nnss; i++)
		if (!c->nss[i].shared)
			pw_namespace_clear(&c->nss[i]);
	for (size_t i = 0; i < c->npods; i++)
		if (!c->pods[i].shared)
			pw_pod_clear(&c->pods[i]);
	for (size_t i = 0; i < c->npols; i++)
		if (!c->pols[i].shared)
			pw_policy_clear(&c->pols[i]);
	for (size_t i = 0; i < c->nnodes; i++)
		if (!c->nodes[i].shared)
			pw_node_clear(&c->nodes[i]);
	for (size_t i = 0; i < c->nsvcs; i++)
		if (!c->svcs[i].shared)
			pw_service_clear(&c->svcs[i]);
	for (size_t i = 0; i < c->nfiles; i++)
		free(c->files[i]);
	for (size_t i = 0; i < c->nunits; i++)
		pw_unit_free(c->units[i]);
	free(c->units);
	free(c->nss);
	free(c->pods);
	free(c->pols);
	free(c->nodes);
	free(c->svcs);
	free(c->files);
	free(c);
}

PW_EXPORT size_t pw_cluster_count(const struct pw_cluster *c, enum pw_kind kind)
{
	const size_t n[PW_KIND_NR] = {
		[PW_KIND_NAMESPACE] = c->nnss,	     [PW_KIND_POD] = c->npods,
		[PW_KIND_NETWORK_POLICY] = c->npols, [PW_KIND_NODE] = c->nnodes,
		[PW_KIND_SERVICE] = c->nsvcs,
	};

	return (unsigned)kind < PW_KIND_NR ? n[kind] : 0;
}

/*
 * Positions point at interned names. A directory may hold thousands of
 * files, each interned once, so only the latest names are searched: a
 * name kept twice costs a few bytes, a full search per file n^2.
 */
const char *pw_cluster_intern_file(struct pw_cluster *c, const char *name)
{
	char **slot;

	for (size_t i = c->nfiles, k = 0; i-- > 0 && k < 8; k++)
		if (!strcmp(c->files[i], name))
			return c->files[i];
	slot = PW_PUSH(c->files, c->nfiles, c->cap_files);
	if (!slot)
		return NULL;
	*slot = strdup(name);
	if (!*slot)
		c->nfiles--;
	return *slot;
}

static int ns_key_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct pw_namespace *)elem)->name);
}

const struct pw_namespace *pw_cluster_find_ns(const struct pw_cluster *c,
					      const char *name)
{
	if (!c->nnss)
		return NULL;
	return bsearch(name, c->nss, c->nnss, sizeof(*c->nss), ns_key_cmp);
}

/* ---- loading ------------------------------------------------------ */

/* Decoding document by document, as the fast reader reads them. */
struct stream {
	struct pw_cluster *c;
	struct pw_diags *d; /* decoding's records, until the read succeeds */
	int ret; /* -EBADMSG: a document ran out of its budget */
};

static int decode_doc(void *ctx, struct pw_yaml *y)
{
	struct stream *s = ctx;
	int ret = pw_decode_yaml(s->c, y, s->d);

	if (ret == -ENOMEM)
		return ret;
	if (ret)
		s->ret = ret;
	return 0;
}

static int diags_append(struct pw_diags *to, const struct pw_diags *from)
{
	const struct pw_diag *r;
	struct pw_pos pos;

	for (size_t i = 0; i < pw_diags_count(from); i++) {
		r = pw_diags_get(from, i);
		pos = (struct pw_pos){ .file = pw_diag_file(r),
				       .line = pw_diag_line(r),
				       .col = pw_diag_column(r) };
		if (pw_diags_add(to, pw_diag_severity(r), &pos, pw_diag_path(r),
				 "%s", pw_diag_message(r)))
			return -ENOMEM;
	}
	return 0;
}

/*
 * Most manifests are plain block YAML, which the fast reader reads; then
 * each document is decoded as soon as it is read, and memory holds one
 * document's tree, not the whole input's. When the reader declines
 * (-EAGAIN), what was decoded is taken back and the caller reads again:
 * the records and the cluster are then as if this had not run.
 */
static int load_fast(struct pw_cluster *c, const char *file, const char *buf,
		     size_t len, struct pw_diags *diags)
{
	struct stream s = { .c = c, .d = pw_diags_new() };
	struct pw_dec_mark m = pw_dec_mark(c);
	size_t errors = c->load_errors;
	int ret;

	if (!s.d)
		return -ENOMEM;
	ret = pw_yaml_parse_docs(file, buf, len, decode_doc, &s);
	if (ret == -EAGAIN) {
		pw_dec_rollback(c, &m);
		c->load_errors = errors;
	} else if (!ret) {
		ret = diags_append(diags, s.d);
		ret = ret ? ret : s.ret;
	}
	pw_diags_free(s.d);
	return ret;
}

PW_EXPORT int pw_cluster_load_buffer(struct pw_cluster *c, const char *name,
				     const char *buf, size_t len,
				     struct pw_diags *diags)
{
	size_t before = pw_diags_error_count(diags), n;
	const char *file = pw_cluster_intern_file(c, name);
	struct pw_yaml *y;
	int ret;

	if (!file)
		return -ENOMEM;
	ret = load_fast(c, file, buf, len, diags);
	if (ret != -EAGAIN)
		return ret;
	ret = pw_yaml_parse_with(file, buf, len, PW_YAML_LIBYAML, &y, diags);
	if (ret == -EBADMSG) {
		n = pw_diags_error_count(diags) - before;
		c->load_errors += n ? n : 1;
	}
	if (ret)
		return ret;
	ret = pw_decode_yaml(c, y, diags);
	pw_yaml_free(y);
	return ret;
}

/* ---- finalizing --------------------------------------------------- */

/* Ties between equal keys go by position, so that the first written is
 * the one a duplicate is reported against, whatever qsort does. */
static int pos_cmp(const struct pw_pos *a, const struct pw_pos *b)
{
	int r = strcmp(a->file ? a->file : "", b->file ? b->file : "");

	if (r)
		return r;
	if (a->line != b->line)
		return a->line < b->line ? -1 : 1;
	return a->col < b->col ? -1 : a->col > b->col;
}

static int ns_cmp(const void *pa, const void *pb)
{
	const struct pw_namespace *a = pa, *b = pb;
	int r = strcmp(a->name, b->name);

	return r ? r : pos_cmp(&a->pos, &b->pos);
}

/* Pods before templates; templates by kind. */
static int pod_key_cmp(const struct pw_pod *a, const struct pw_pod *b)
{
	int r = strcmp(a->ns, b->ns);

	if (!r)
		r = strcmp(a->name, b->name);
	if (!r && a->kind != b->kind)
		r = !a->kind ? -1 : !b->kind ? 1 : strcmp(a->kind, b->kind);
	return r;
}

static int pod_cmp(const void *pa, const void *pb)
{
	const struct pw_pod *a = pa, *b = pb;
	int r = pod_key_cmp(a, b);

	return r ? r : pos_cmp(&a->pos, &b->pos);
}

static int pol_cmp(const void *pa, const void *pb)
{
	const struct pw_policy *a = pa, *b = pb;
	int r = strcmp(a->ns, b->ns);

	if (!r)
		r = strcmp(a->name, b->name);
	return r ? r : pos_cmp(&a->pos, &b->pos);
}

static int svc_cmp(const void *pa, const void *pb)
{
	const struct pw_service *a = pa, *b = pb;
	int r = strcmp(a->ns, b->ns);

	if (!r)
		r = strcmp(a->name, b->name);
	return r ? r : pos_cmp(&a->pos, &b->pos);
}

static int node_cmp(const void *pa, const void *pb)
{
	const struct pw_node *a = pa, *b = pb;
	int r = strcmp(a->name, b->name);

	return r ? r : pos_cmp(&a->pos, &b->pos);
}

typedef int cmp_fn(const void *, const void *);

/* Merges the sorted arrays a and b into out. */
static void merge(char *out, const char *a, size_t na, const char *b, size_t nb,
		  size_t size, cmp_fn *cmp)
{
	while (na && nb) {
		if (cmp(b, a) < 0) {
			memcpy(out, b, size);
			b += size;
			nb--;
		} else {
			memcpy(out, a, size);
			a += size;
			na--;
		}
		out += size;
	}
	memcpy(out, a, na * size);
	memcpy(out + na * size, b, nb * size);
}

#define SORT_MAX_RUNS 64

/*
 * Sorts as qsort does, in n log(runs) comparisons when v is a few sorted
 * runs: a cluster assembled from units is their sorted arrays one after
 * the other, and an agent that changed one unit should not pay a full
 * sort of every object. Many runs (input that was not sorted) or no
 * memory for the merge: qsort. The comparisons are a total order (ties
 * go by position), so the result is the same either way.
 */
static void sort_objects(void *v, size_t n, size_t size, cmp_fn *cmp)
{
	size_t run[SORT_MAX_RUNS + 1], nruns = 1, k;
	char *src = v, *dst, *tmp, *other;

	run[0] = 0;
	for (size_t i = 1; i < n; i++) {
		if (cmp(src + (i - 1) * size, src + i * size) <= 0)
			continue;
		if (nruns == SORT_MAX_RUNS)
			goto fallback;
		run[nruns++] = i;
	}
	if (nruns == 1)
		return;
	run[nruns] = n;
	dst = tmp = malloc(n * size);
	if (!tmp)
		goto fallback;
	for (; nruns > 1; nruns = k) {
		/* run pairs merged into dst; an odd last run is copied */
		for (size_t r = k = 0; r < nruns; r += 2) {
			size_t lo = run[r], mid = run[r + 1];
			size_t hi = r + 1 < nruns ? run[r + 2] : mid;

			merge(dst + lo * size, src + lo * size, mid - lo,
			      src + mid * size, hi - mid, size, cmp);
			run[k++] = lo;
		}
		run[k] = n;
		other = src; /* what dst holds now is the next pass's input */
		src = dst;
		dst = other;
	}
	if (src != v)
		memcpy(v, src, n * size);
	free(tmp);
	return;

fallback:
	qsort(v, n, size, cmp);
}

static void sort_all(struct pw_cluster *c)
{
	sort_objects(c->nss, c->nnss, sizeof(*c->nss), ns_cmp);
	sort_objects(c->pods, c->npods, sizeof(*c->pods), pod_cmp);
	sort_objects(c->pols, c->npols, sizeof(*c->pols), pol_cmp);
	sort_objects(c->svcs, c->nsvcs, sizeof(*c->svcs), svc_cmp);
	sort_objects(c->nodes, c->nnodes, sizeof(*c->nodes), node_cmp);
}

/* Adds name as an undeclared namespace unless it exists; c->nss is
 * sorted up to nsorted. */
static int ns_reference(struct pw_cluster *c, size_t nsorted, const char *name)
{
	struct pw_namespace *ns;

	if (nsorted &&
	    bsearch(name, c->nss, nsorted, sizeof(*c->nss), ns_key_cmp))
		return 0;
	for (size_t i = nsorted; i < c->nnss; i++)
		if (!strcmp(c->nss[i].name, name))
			return 0;
	ns = PW_PUSH(c->nss, c->nnss, c->cap_nss);
	if (!ns)
		return -ENOMEM;
	ns->name = strdup(name);
	if (!ns->name) {
		c->nnss--;
		return -ENOMEM;
	}
	return 0;
}

/*
 * Namespaces that pods, policies and services are in but that no manifest
 * declares exist with only their automatic label. The objects arrive
 * sorted by namespace, so each new name is checked once.
 */
static int add_implicit_namespaces(struct pw_cluster *c)
{
	size_t nsorted = c->nnss;
	const char *last = NULL;
	int ret = 0;

	for (size_t i = 0; i < c->npods && !ret; i++)
		if (!last || strcmp(last, c->pods[i].ns))
			ret = ns_reference(c, nsorted, last = c->pods[i].ns);
	last = NULL;
	for (size_t i = 0; i < c->npols && !ret; i++)
		if (!last || strcmp(last, c->pols[i].ns))
			ret = ns_reference(c, nsorted, last = c->pols[i].ns);
	last = NULL;
	for (size_t i = 0; i < c->nsvcs && !ret; i++)
		if (!last || strcmp(last, c->svcs[i].ns))
			ret = ns_reference(c, nsorted, last = c->svcs[i].ns);
	if (!ret && c->nnss > 1)
		qsort(c->nss, c->nnss, sizeof(*c->nss), ns_cmp);
	return ret;
}

/* A shared namespace got its label when its unit was finalized, and its
 * labels are the unit's: they are not written again. */
static int label_namespaces(struct pw_cluster *c)
{
	for (size_t i = 0; i < c->nnss; i++)
		if (!c->nss[i].shared &&
		    pw_labels_set(&c->nss[i].labels, PW_NS_NAME_LABEL,
				  c->nss[i].name))
			return -ENOMEM;
	return 0;
}

/* What names an object, for finding and reporting duplicates. */
struct obj_ref {
	const char *kind; /* "Pod", "Deployment", ... */
	const char *ns; /* NULL when cluster-scoped */
	const char *name;
	const struct pw_pos *pos;
	bool implicit; /* a namespace nobody declared */
};

static void ns_ref(const struct pw_cluster *c, size_t i, struct obj_ref *r)
{
	*r = (struct obj_ref){ "Namespace", NULL, c->nss[i].name,
			       &c->nss[i].name_pos, !c->nss[i].declared };
}

static void pod_ref(const struct pw_cluster *c, size_t i, struct obj_ref *r)
{
	const struct pw_pod *p = &c->pods[i];

	*r = (struct obj_ref){ p->kind ? p->kind : "Pod", p->ns, p->name,
			       &p->name_pos, false };
}

static void pol_ref(const struct pw_cluster *c, size_t i, struct obj_ref *r)
{
	*r = (struct obj_ref){ "NetworkPolicy", c->pols[i].ns, c->pols[i].name,
			       &c->pols[i].name_pos, false };
}

static void node_ref(const struct pw_cluster *c, size_t i, struct obj_ref *r)
{
	*r = (struct obj_ref){ "Node", NULL, c->nodes[i].name,
			       &c->nodes[i].name_pos, false };
}

static void svc_ref(const struct pw_cluster *c, size_t i, struct obj_ref *r)
{
	*r = (struct obj_ref){ "Service", c->svcs[i].ns, c->svcs[i].name,
			       &c->svcs[i].name_pos, false };
}

static const struct {
	enum pw_kind kind;
	void (*ref)(const struct pw_cluster *c, size_t i, struct obj_ref *r);
} obj_refs[] = {
	{ PW_KIND_NAMESPACE, ns_ref },	     { PW_KIND_POD, pod_ref },
	{ PW_KIND_NETWORK_POLICY, pol_ref }, { PW_KIND_NODE, node_ref },
	{ PW_KIND_SERVICE, svc_ref },
};

static bool same_obj(const struct obj_ref *a, const struct obj_ref *b)
{
	return !a->implicit && !b->implicit && !strcmp(a->kind, b->kind) &&
	       !strcmp(a->ns ? a->ns : "", b->ns ? b->ns : "") &&
	       !strcmp(a->name, b->name);
}

/* Reports b as a duplicate of a; 0 or -ENOMEM. */
static int dup_report(struct pw_diags *d, const struct obj_ref *a,
		      const struct obj_ref *b)
{
	return pw_diags_add(
		d, PW_SEV_ERROR, b->pos, "metadata.name",
		"duplicate %s \"%s%s%s\" (also defined at %s:%u:%u)", b->kind,
		b->ns ? b->ns : "", b->ns ? "/" : "", b->name,
		a->pos->file ? a->pos->file : "", a->pos->line, a->pos->col);
}

/*
 * The same kind, namespace and name twice is an error naming both places;
 * the arrays are sorted, so duplicates are neighbours, the first written
 * first. Returns how many were found, or -ENOMEM.
 */
static int find_dups(const struct pw_cluster *c, struct pw_diags *d)
{
	struct obj_ref prev = { 0 }, cur;
	size_t n;
	int dups = 0;

	for (size_t k = 0; k < PW_ARRAY_SIZE(obj_refs); k++) {
		n = pw_cluster_count(c, obj_refs[k].kind);
		for (size_t i = 0; i < n; i++, prev = cur) {
			obj_refs[k].ref(c, i, &cur);
			if (!i || !same_obj(&prev, &cur))
				continue;
			if (dup_report(d, &prev, &cur))
				return -ENOMEM;
			dups++;
		}
	}
	return dups;
}

/* One array of objects of the cluster, and where its shared flag is. */
struct obj_array {
	void **v;
	size_t *n;
	size_t size, shared_off;
};

#define OBJ_ARRAY(c, arr, n, type)                                      \
	((struct obj_array){ (void **)&(c)->arr, &(c)->n, sizeof(type), \
			     offsetof(type, shared) })

static bool obj_shared(const struct obj_array *a, size_t i)
{
	return *(const bool *)((const char *)*a->v + i * a->size +
			       a->shared_off);
}

/* Moves the owned objects of a to the array of view (NULL + ENOMEM). */
static int view_owned(const struct obj_array *a, struct obj_array *view)
{
	char *out = malloc(*a->n ? *a->n * a->size : 1);

	if (!out)
		return -ENOMEM;
	*view->v = out;
	*view->n = 0;
	for (size_t i = 0; i < *a->n; i++)
		if (!obj_shared(a, i))
			memcpy(out + (*view->n)++ * a->size,
			       (char *)*a->v + i * a->size, a->size);
	return 0;
}

/* Puts the owned objects back (validation fills values in them). */
static void unview_owned(const struct obj_array *a, struct obj_array *view)
{
	size_t k = 0;

	for (size_t i = 0; i < *a->n && *view->v; i++)
		if (!obj_shared(a, i))
			memcpy((char *)*a->v + i * a->size,
			       (char *)*view->v + k++ * a->size, a->size);
	free(*view->v);
	*view->v = NULL;
}

/*
 * Validates the objects the cluster owns. Objects shared from a unit were
 * validated in their unit and are immutable now (other threads may read
 * them), so they are not validated again: the view holds only the owned
 * ones, which validation may write to.
 */
static int validate_owned(struct pw_cluster *c, struct pw_diags *diags)
{
	struct pw_cluster view = { 0 };
	const struct obj_array all[] = {
		OBJ_ARRAY(c, nss, nnss, struct pw_namespace),
		OBJ_ARRAY(c, pods, npods, struct pw_pod),
		OBJ_ARRAY(c, pols, npols, struct pw_policy),
		OBJ_ARRAY(c, nodes, nnodes, struct pw_node),
		OBJ_ARRAY(c, svcs, nsvcs, struct pw_service),
	};
	struct obj_array owned[] = {
		OBJ_ARRAY(&view, nss, nnss, struct pw_namespace),
		OBJ_ARRAY(&view, pods, npods, struct pw_pod),
		OBJ_ARRAY(&view, pols, npols, struct pw_policy),
		OBJ_ARRAY(&view, nodes, nnodes, struct pw_node),
		OBJ_ARRAY(&view, svcs, nsvcs, struct pw_service),
	};
	int ret = 0;

	if (!c->nunits)
		return pw_validate_cluster(c, diags);
	for (size_t k = 0; k < PW_ARRAY_SIZE(all) && !ret; k++)
		ret = view_owned(&all[k], &owned[k]);
	if (!ret)
		ret = pw_validate_cluster(&view, diags);
	for (size_t k = 0; k < PW_ARRAY_SIZE(all); k++)
		unview_owned(&all[k], &owned[k]);
	return ret;
}

PW_EXPORT int pw_cluster_finalize(struct pw_cluster *c, struct pw_diags *diags)
{
	int dups, bad;

	if (c->finalized)
		return c->valid ? 0 : -EINVAL;
	sort_all(c);
	if (add_implicit_namespaces(c) || label_namespaces(c))
		return -ENOMEM;
	dups = find_dups(c, diags);
	if (dups < 0)
		return dups;
	bad = validate_owned(c, diags);
	if (bad < 0)
		return bad;
	c->finalized = true;
	c->valid = !c->load_errors && !dups && !bad;
	return c->valid ? 0 : -EINVAL;
}

/* The files of its units come after the cluster's own. */
PW_EXPORT size_t pw_cluster_file_count(const struct pw_cluster *c)
{
	size_t n = c->nfiles;

	for (size_t k = 0; k < c->nunits; k++)
		n += c->units[k]->c->nfiles;
	return n;
}

PW_EXPORT const char *pw_cluster_file_name(const struct pw_cluster *c, size_t i)
{
	if (i < c->nfiles)
		return c->files[i];
	i -= c->nfiles;
	for (size_t k = 0; k < c->nunits; k++) {
		const struct pw_cluster *u = c->units[k]->c;

		if (i < u->nfiles)
			return u->files[i];
		i -= u->nfiles;
	}
	return NULL;
}

/* ---- public accessors --------------------------------------------- */

static const struct pw_pod *pod_at(const struct pw_cluster *c, size_t i)
{
	return i < c->npods ? &c->pods[i] : NULL;
}

PW_EXPORT const char *pw_cluster_pod_namespace(const struct pw_cluster *c,
					       size_t i)
{
	const struct pw_pod *p = pod_at(c, i);

	return p ? p->ns : NULL;
}

PW_EXPORT const char *pw_cluster_pod_name(const struct pw_cluster *c, size_t i)
{
	const struct pw_pod *p = pod_at(c, i);

	return p ? p->name : NULL;
}

PW_EXPORT const char *pw_cluster_pod_kind(const struct pw_cluster *c, size_t i)
{
	const struct pw_pod *p = pod_at(c, i);

	return p ? p->kind : NULL;
}

PW_EXPORT const char *pw_cluster_pod_node(const struct pw_cluster *c, size_t i)
{
	const struct pw_pod *p = pod_at(c, i);

	return p ? p->node : NULL;
}

PW_EXPORT bool pw_cluster_pod_host_network(const struct pw_cluster *c, size_t i)
{
	const struct pw_pod *p = pod_at(c, i);

	return p && p->host_network;
}

PW_EXPORT bool pw_cluster_pod_finished(const struct pw_cluster *c, size_t i)
{
	const struct pw_pod *p = pod_at(c, i);

	return p &&
	       (p->phase == PW_PHASE_SUCCEEDED || p->phase == PW_PHASE_FAILED);
}

PW_EXPORT size_t pw_cluster_pod_addrs(const struct pw_cluster *c, size_t i,
				      struct pw_addr *out, size_t max)
{
	const struct pw_pod *p = pod_at(c, i);

	if (!p)
		return 0;
	for (size_t k = 0; k < p->nips && k < max; k++)
		out[k] = p->ips[k];
	return p->nips;
}

/* Validation keeps container ports in 1..65535; the check is for an
 * unvalidated cluster, whose other ports are left out. */
PW_EXPORT size_t pw_cluster_pod_ports(const struct pw_cluster *c, size_t i,
				      struct pw_port *out, size_t max)
{
	const struct pw_pod *p = pod_at(c, i);
	size_t n = 0;

	for (size_t k = 0; p && k < p->nports; k++) {
		const struct pw_cport *cp = &p->ports[k];

		if (cp->port < 1 || cp->port > 65535)
			continue;
		if (n < max)
			out[n] = (struct pw_port){ (uint16_t)cp->port,
						   (uint8_t)cp->proto };
		n++;
	}
	return n;
}

static bool assignable(const struct pw_pod *p, const char *node,
		       const struct pw_addr *addr)
{
	if (!p || p->kind || p->host_network)
		return false;
	if (node && (!node[0] || strlen(node) > 253))
		return false;
	return !addr || addr->family == 4 || addr->family == 6;
}

PW_EXPORT int pw_cluster_pod_assign(struct pw_cluster *c, size_t i,
				    const char *node,
				    const struct pw_addr *addr)
{
	struct pw_pod *p = i < c->npods ? &c->pods[i] : NULL;
	char *copy = NULL;

	if (!assignable(p, node, addr))
		return -EINVAL;
	if (p->shared)
		return -EBUSY; /* its unit is immutable */
	if ((node && p->node) || (addr && p->nips))
		return -EEXIST;
	if (node && !(copy = strdup(node)))
		return -ENOMEM;
	if (copy)
		p->node = copy;
	if (addr) {
		/* IPv4 leaves the rest zero, so addresses compare with memcmp */
		memset(&p->ips[0], 0, sizeof(p->ips[0]));
		p->ips[0].family = addr->family;
		memcpy(p->ips[0].b, addr->b, addr->family == 4 ? 4 : 16);
		p->nips = 1;
	}
	return 0;
}

PW_EXPORT const char *pw_cluster_node_name(const struct pw_cluster *c, size_t i)
{
	return i < c->nnodes ? c->nodes[i].name : NULL;
}

static const struct pw_node *node_named(const struct pw_cluster *c,
					const char *name)
{
	for (size_t i = 0; name && i < c->nnodes; i++)
		if (!strcmp(c->nodes[i].name, name))
			return &c->nodes[i];
	return NULL;
}

PW_EXPORT size_t pw_cluster_node_addrs(const struct pw_cluster *c,
				       const char *name, struct pw_addr *out,
				       size_t max)
{
	const struct pw_node *n = node_named(c, name);

	if (!n)
		return 0;
	for (size_t k = 0; k < n->naddrs && k < max; k++)
		out[k] = n->addrs[k];
	return n->naddrs;
}

PW_EXPORT size_t pw_cluster_node_pod_cidrs(const struct pw_cluster *c,
					   const char *name,
					   struct pw_cidr *out, size_t max)
{
	const struct pw_node *n = node_named(c, name);

	if (!n)
		return 0;
	for (size_t k = 0; k < n->npod_cidrs && k < max; k++)
		out[k] = n->pod_cidrs[k];
	return n->npod_cidrs;
}
