// SPDX-License-Identifier: Apache-2.0
/*
 * The API server's validation rules, applied to a loaded cluster.
 *
 * The rules and their messages follow the Kubernetes sources:
 * pkg/apis/networking/validation (NetworkPolicy), pkg/apis/core/validation
 * (Pod, Service, Node, IP and CIDR fields), apimachinery's ObjectMeta and
 * LabelSelector validation. A message reads as the API server's does,
 * "<kind of error>: <value>: <detail>", under the field path of the
 * offending value, so that what podwall rejects is what kubectl apply
 * would have rejected, and the fix is the same.
 *
 * Besides checking, this fills the values the model keeps beside the text:
 * parsed CIDRs, protocols, selector operators and effective policyTypes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "labels.h"
#include "ports.h"
#include "validate.h"

struct vctx {
	struct pw_diags *d;
	struct pw_path path;
	int errors;
	bool oom;
};

typedef size_t (*syntax_fn)(const char *s, const char **msgs, size_t max);

static void report(struct vctx *v, enum pw_severity sev,
		   const struct pw_pos *pos, const char *fmt, ...)
	PW_PRINTF(4, 5);

static void report(struct vctx *v, enum pw_severity sev,
		   const struct pw_pos *pos, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (pw_diags_vadd(v->d, sev, pos, v->path.buf, fmt, ap))
		v->oom = true;
	va_end(ap);
	if (sev == PW_SEV_ERROR)
		v->errors++;
}

#define verr(v, pos, ...) report(v, PW_SEV_ERROR, pos, __VA_ARGS__)
#define vwarn(v, pos, ...) report(v, PW_SEV_WARNING, pos, __VA_ARGS__)

/* The more precise of two positions: a when known. */
static const struct pw_pos *at(const struct pw_pos *a, const struct pw_pos *b)
{
	return a && a->line ? a : b;
}

/* seg[i] (seg NULL: [i]) under the current path; the mark to pop. */
static size_t path_at(struct pw_path *p, const char *seg, size_t i)
{
	size_t mark = seg ? pw_path_push(p, seg) : p->len;

	pw_path_push_index(p, i);
	return mark;
}

/* One "Invalid value" per problem fn finds in value, under seg (NULL: the
 * current path). */
static void check_syntax(struct vctx *v, const struct pw_pos *pos,
			 const char *seg, const char *value, syntax_fn fn)
{
	const char *msgs[8]; /* more than any syntax rule set can yield */
	size_t mark = seg ? pw_path_push(&v->path, seg) : v->path.len;
	size_t n = fn(value, msgs, PW_ARRAY_SIZE(msgs));

	for (size_t i = 0; i < n && i < PW_ARRAY_SIZE(msgs); i++)
		verr(v, pos, "Invalid value: \"%s\": %s", value, msgs[i]);
	pw_path_pop(&v->path, mark);
}

static void check_required(struct vctx *v, const struct pw_pos *pos,
			   const char *seg, const char *value, syntax_fn fn)
{
	size_t mark;

	if (value && *value) {
		check_syntax(v, pos, seg, value, fn);
		return;
	}
	mark = pw_path_push(&v->path, seg);
	verr(v, pos, "Required value");
	pw_path_pop(&v->path, mark);
}

/* ---- metadata, labels, selectors ------------------------------------ */

/* metadata.name and metadata.namespace of an object. */
static void check_meta(struct vctx *v, const char *name,
		       const struct pw_pos *name_pos, syntax_fn name_fn,
		       const char *ns, const struct pw_pos *ns_pos)
{
	if (!name || !*name) {
		size_t mark = pw_path_push(&v->path, "metadata.name");

		verr(v, name_pos,
		     "Required value: name or generateName is required");
		pw_path_pop(&v->path, mark);
	} else {
		check_syntax(v, name_pos, "metadata.name", name, name_fn);
	}
	if (ns)
		check_syntax(v, ns_pos, "metadata.namespace", ns,
			     pw_dns_label_errors);
}

/* A map of labels, under the current path (the map's, as the API server
 * reports it, not the key's). */
static void check_labels(struct vctx *v, const struct pw_labels *l,
			 const struct pw_pos *pos)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct pw_pos *p = at(&l->v[i].pos, pos);

		check_syntax(v, p, NULL, l->v[i].key, pw_label_key_errors);
		check_syntax(v, p, NULL, l->v[i].value, pw_label_value_errors);
	}
}

static void check_labels_at(struct vctx *v, const char *seg,
			    const struct pw_labels *l, const struct pw_pos *pos)
{
	size_t mark = pw_path_push(&v->path, seg);

	check_labels(v, l, pos);
	pw_path_pop(&v->path, mark);
}

static void check_req_op(struct vctx *v, struct pw_sel_req *r)
{
	const struct pw_pos *pos = at(&r->op_pos, &r->pos);
	size_t mark = pw_path_push(&v->path, "operator");

	r->op = pw_sel_op_parse(r->op_text);
	if (!r->op_text)
		verr(v, pos,
		     "Required value: supported values: \"In\", "
		     "\"NotIn\", \"Exists\", \"DoesNotExist\"");
	else if (r->op == PW_SEL_INVALID)
		verr(v, pos,
		     "Unsupported value: \"%s\": supported values: "
		     "\"In\", \"NotIn\", \"Exists\", \"DoesNotExist\"",
		     r->op_text);
	pw_path_pop(&v->path, mark);
}

static void check_req_values(struct vctx *v, const struct pw_sel_req *r)
{
	bool set_op = r->op == PW_SEL_IN || r->op == PW_SEL_NOT_IN;
	bool exist_op = r->op == PW_SEL_EXISTS ||
			r->op == PW_SEL_DOES_NOT_EXIST;
	size_t mark = pw_path_push(&v->path, "values");

	if (set_op && !r->nvalues)
		verr(v, &r->pos,
		     "Required value: must be specified when "
		     "`operator` is 'In' or 'NotIn'");
	if (exist_op && r->nvalues)
		verr(v, &r->pos,
		     "Forbidden: may not be specified when "
		     "`operator` is 'Exists' or 'DoesNotExist'");
	pw_path_pop(&v->path, mark);
	for (size_t i = 0; i < r->nvalues; i++) {
		const struct pw_pos *p =
			at(r->value_pos ? &r->value_pos[i] : NULL, &r->pos);

		mark = path_at(&v->path, "values", i);
		check_syntax(v, p, NULL, r->values[i], pw_label_value_errors);
		pw_path_pop(&v->path, mark);
	}
}

static void check_req(struct vctx *v, struct pw_sel_req *r)
{
	check_req_op(v, r);
	check_req_values(v, r);
	check_required(v, at(&r->key_pos, &r->pos), "key", r->key,
		       pw_label_key_errors);
}

/* A LabelSelector under the current path. */
static void check_selector(struct vctx *v, struct pw_selector *s,
			   const struct pw_pos *pos)
{
	pos = at(&s->pos, pos);
	check_labels_at(v, "matchLabels", &s->match_labels,
			at(&s->match_labels_pos, pos));
	for (size_t i = 0; i < s->nreqs; i++) {
		size_t mark = path_at(&v->path, "matchExpressions", i);

		check_req(v, &s->reqs[i]);
		pw_path_pop(&v->path, mark);
	}
}

static void check_selector_at(struct vctx *v, const char *seg,
			      struct pw_selector *s, const struct pw_pos *pos)
{
	size_t mark = pw_path_push(&v->path, seg);

	check_selector(v, s, pos);
	pw_path_pop(&v->path, mark);
}

/* ---- NetworkPolicy --------------------------------------------------- */

/* The warning for a CIDR with host bits, in the API server's words: the
 * value could mean the network or the one address. */
static void warn_host_bits(struct vctx *v, const struct pw_pos *pos,
			   const char *text, const struct pw_cidr *c)
{
	char net[PW_ADDR_STRLEN], ip[PW_ADDR_STRLEN];
	size_t n = strcspn(text, "/");
	struct pw_addr host;

	pw_cidr_format(c, net, sizeof(net));
	snprintf(ip, sizeof(ip), "%.*s", (int)n, text);
	if (n >= sizeof(ip) || pw_addr_parse(ip, &host)) {
		vwarn(v, pos,
		      "CIDR value \"%s\" is ambiguous in this context: "
		      "read as \"%s\"",
		      text, net);
		return;
	}
	pw_addr_format(&host, ip, sizeof(ip));
	vwarn(v, pos,
	      "CIDR value \"%s\" is ambiguous in this context (should be "
	      "\"%s\" or \"%s/%u\"?): read as \"%s\"",
	      text, net, ip, pw_addr_bits(&host), net);
}

/*
 * Parses one CIDR of an ipBlock under the current path. Host bits are
 * accepted and cleared with a warning, as the API server does for this
 * legacy field.
 */
static bool parse_block_cidr(struct vctx *v, const char *text,
			     const struct pw_pos *pos, struct pw_cidr *out)
{
	const char *why = NULL;
	bool host_bits;

	if (pw_cidr_parse(text, out, &host_bits, &why)) {
		verr(v, pos, "Invalid value: \"%s\": %s", text, why);
		return false;
	}
	if (host_bits)
		warn_host_bits(v, pos, text, out);
	return true;
}

/* Each except must be a strict subset of cidr, of the same family. */
static void check_except(struct vctx *v, const struct pw_ipblock *b,
			 struct pw_except *e)
{
	const struct pw_pos *pos = at(&e->pos, &b->pos);

	e->ok = false;
	if (!e->text || !*e->text) {
		verr(v, pos,
		     "Invalid value: \"\": must be a valid CIDR value, "
		     "(e.g. 10.9.8.0/24 or 2001:db8::/64)");
		return;
	}
	if (!parse_block_cidr(v, e->text, pos, &e->cidr))
		return;
	if (e->cidr.len <= b->cidr.len ||
	    !pw_cidr_contains(&b->cidr, &e->cidr.addr)) {
		verr(v, pos,
		     "Invalid value: \"%s\": must be a strict subset of `cidr`",
		     e->text);
		return;
	}
	e->ok = true;
}

static void check_ipblock(struct vctx *v, struct pw_ipblock *b)
{
	const struct pw_pos *pos = at(&b->cidr_pos, &b->pos);
	size_t mark = pw_path_push(&v->path, "cidr");

	b->cidr_ok = false;
	for (size_t i = 0; i < b->nexcept; i++)
		b->except[i].ok = false;
	if (!b->cidr_text || !*b->cidr_text)
		verr(v, pos, "Required value");
	else
		b->cidr_ok = parse_block_cidr(v, b->cidr_text, pos, &b->cidr);
	pw_path_pop(&v->path, mark);
	/* Without a cidr there is nothing to compare the excepts with. */
	if (!b->cidr_ok)
		return;
	for (size_t i = 0; i < b->nexcept; i++) {
		mark = path_at(&v->path, "except", i);
		check_except(v, b, &b->except[i]);
		pw_path_pop(&v->path, mark);
	}
}

static void check_peer(struct vctx *v, struct pw_peer *p)
{
	int n = p->has_pod_sel + p->has_ns_sel + p->has_ipblock;

	if (p->has_pod_sel)
		check_selector_at(v, "podSelector", &p->pod_sel, &p->pos);
	if (p->has_ns_sel)
		check_selector_at(v, "namespaceSelector", &p->ns_sel, &p->pos);
	if (p->has_ipblock) {
		size_t mark = pw_path_push(&v->path, "ipBlock");

		check_ipblock(v, &p->ipblock);
		pw_path_pop(&v->path, mark);
	}
	if (!n)
		verr(v, &p->pos,
		     "Required value: must specify a peer: must set "
		     "at least one of podSelector, "
		     "namespaceSelector or ipBlock");
	else if (n > 1 && p->has_ipblock)
		verr(v, &p->pos,
		     "Forbidden: may not specify both ipBlock and "
		     "another peer: ipBlock cannot be combined "
		     "with %s",
		     p->has_pod_sel ? "podSelector" : "namespaceSelector");
}

static void field_error(struct vctx *v, const struct pw_pos *pos,
			const char *seg, int64_t value, const char *msg)
{
	size_t mark = pw_path_push(&v->path, seg);

	verr(v, pos, "Invalid value: %lld: %s", (long long)value, msg);
	pw_path_pop(&v->path, mark);
}

static void check_proto(struct vctx *v, struct pw_np_port *p)
{
	size_t mark;

	p->proto = PW_PROTO_TCP;
	if (!p->proto_text || !pw_proto_parse(p->proto_text, &p->proto))
		return;
	mark = pw_path_push(&v->path, "protocol");
	verr(v, at(&p->proto_pos, &p->pos),
	     "Unsupported value: \"%s\": supported values: \"TCP\", \"UDP\", "
	     "\"SCTP\"",
	     p->proto_text);
	pw_path_pop(&v->path, mark);
}

/* endPort needs a numeric port to extend. */
static void check_end_port(struct vctx *v, const struct pw_np_port *p)
{
	const struct pw_pos *pos = at(&p->end_pos, &p->pos);

	if (!p->has_end)
		return;
	if (!p->has_port)
		field_error(v, pos, "endPort", p->end_port,
			    "may not be specified when `port` is not "
			    "specified");
	else if (p->named)
		field_error(v, pos, "endPort", p->end_port,
			    "may not be specified when `port` is non-numeric");
	if (!p->has_port || p->named)
		return;
	if (p->end_port < p->port)
		field_error(v, pos, "endPort", p->end_port,
			    "must be greater than or equal to `port`");
	if (!pw_port_num_valid(p->end_port))
		field_error(v, pos, "endPort", p->end_port, PW_PORT_NUM_MSG);
}

static void check_np_port(struct vctx *v, struct pw_np_port *p)
{
	const struct pw_pos *pos = at(&p->port_pos, &p->pos);

	check_proto(v, p);
	if (p->has_port && p->named)
		check_syntax(v, pos, "port", p->name ? p->name : "",
			     pw_port_name_errors);
	else if (p->has_port && !pw_port_num_valid(p->port))
		field_error(v, pos, "port", p->port, PW_PORT_NUM_MSG);
	check_end_port(v, p);
}

static const char *const dir_fields[PW_DIR_NR][2] = {
	[PW_DIR_INGRESS] = { "ingress", "from" },
	[PW_DIR_EGRESS] = { "egress", "to" },
};

static void check_rule(struct vctx *v, enum pw_dir dir, struct pw_rule *r)
{
	for (size_t i = 0; i < r->nports; i++) {
		size_t mark = path_at(&v->path, "ports", i);

		check_np_port(v, &r->ports[i]);
		pw_path_pop(&v->path, mark);
	}
	for (size_t i = 0; i < r->npeers; i++) {
		size_t mark = path_at(&v->path, dir_fields[dir][1], i);

		check_peer(v, &r->peers[i]);
		pw_path_pop(&v->path, mark);
	}
}

/* "Ingress" and "Egress", indexed by enum pw_dir. */
static const char *const type_names[PW_DIR_NR] = {
	[PW_DIR_INGRESS] = "Ingress",
	[PW_DIR_EGRESS] = "Egress",
};

static int type_lookup(const char *s)
{
	for (int d = 0; d < PW_DIR_NR; d++)
		if (s && !strcmp(s, type_names[d]))
			return d;
	return -1;
}

/* Checks policyTypes and fills affects[]. An empty list counts as absent,
 * as the API server's defaulting treats it. */
static void check_types(struct vctx *v, struct pw_policy *pol)
{
	size_t mark = pw_path_push(&v->path, "policyTypes");

	memset(pol->affects, 0, sizeof(pol->affects));
	if (!pol->ntypes) {
		pol->affects[PW_DIR_INGRESS] = true;
		pol->affects[PW_DIR_EGRESS] = pol->nrules[PW_DIR_EGRESS] > 0;
	}
	if (pol->ntypes > PW_DIR_NR)
		verr(v, at(&pol->types_pos, &pol->pos),
		     "Invalid value: %zu items: may not specify more than two "
		     "policyTypes",
		     pol->ntypes);
	for (size_t i = 0; i < pol->ntypes; i++) {
		const struct pw_policy_type *t = &pol->types[i];
		const struct pw_pos *pos = at(&t->pos, &pol->types_pos);
		int d = type_lookup(t->text);
		size_t m = path_at(&v->path, NULL, i);

		if (d < 0)
			verr(v, pos,
			     "Unsupported value: \"%s\": supported "
			     "values: \"Ingress\", \"Egress\"",
			     t->text ? t->text : "");
		else if (pol->affects[d])
			/* The API server accepts a repeated type; it changes
			 * nothing, but is most likely a slip. */
			vwarn(v, pos, "Duplicate value: \"%s\"", t->text);
		else
			pol->affects[d] = true;
		pw_path_pop(&v->path, m);
	}
	pw_path_pop(&v->path, mark);
}

static void check_policy(struct vctx *v, struct pw_policy *pol)
{
	size_t mark;

	pw_path_init(&v->path);
	check_meta(v, pol->name, at(&pol->name_pos, &pol->pos),
		   pw_dns_subdomain_errors, pol->ns,
		   at(&pol->ns_pos, &pol->pos));
	mark = pw_path_push(&v->path, "spec");
	check_selector_at(v, "podSelector", &pol->pod_sel, &pol->pos);
	for (int d = 0; d < PW_DIR_NR; d++) {
		for (size_t i = 0; i < pol->nrules[d]; i++) {
			size_t m = path_at(&v->path, dir_fields[d][0], i);

			check_rule(v, (enum pw_dir)d, &pol->rules[d][i]);
			pw_path_pop(&v->path, m);
		}
	}
	check_types(v, pol);
	pw_path_pop(&v->path, mark);
}

/* ---- pods and workload templates ------------------------------------- */

/* Where a kind keeps its pod template; Pods have kind NULL, every other
 * workload but CronJob keeps it at spec.template. */
struct pod_kind {
	const char *kind;
	const char *meta;
	const char *spec;
	size_t max_name; /* 0: the subdomain's own limit */
};

static const struct pod_kind pod_kinds[] = {
	{ "CronJob", "spec.jobTemplate.spec.template.metadata",
	  "spec.jobTemplate.spec.template.spec", 52 },
	{ "*", "spec.template.metadata", "spec.template.spec", 0 },
};

static const struct pod_kind plain_pod = { NULL, "metadata", "spec", 0 };

static const struct pod_kind *pod_kind_of(const char *kind)
{
	size_t i;

	if (!kind)
		return &plain_pod;
	for (i = 0; i + 1 < PW_ARRAY_SIZE(pod_kinds); i++)
		if (!strcmp(kind, pod_kinds[i].kind))
			break;
	return &pod_kinds[i];
}

static bool cport_name_seen(const struct pw_pod *p, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (p->ports[j].name &&
		    !strcmp(p->ports[j].name, p->ports[i].name))
			return true;
	return false;
}

/* Container ports, each at the field path the decoder recorded (one list
 * holds every container's ports). */
static void check_cports(struct vctx *v, const struct pw_pod *p)
{
	struct pw_path saved = v->path;

	for (size_t i = 0; i < p->nports; i++) {
		const struct pw_cport *cp = &p->ports[i];
		const struct pw_pos *pos = at(&cp->pos, &p->pos);
		size_t m;

		pw_path_init(&v->path);
		pw_path_push(&v->path, cp->path ? cp->path : "");
		if (!pw_port_num_valid(cp->port))
			field_error(v, pos, "containerPort", cp->port,
				    PW_PORT_NUM_MSG);
		if (!cp->name)
			continue;
		check_syntax(v, pos, "name", cp->name, pw_port_name_errors);
		if (!cport_name_seen(p, i))
			continue;
		m = pw_path_push(&v->path, "name");
		verr(v, pos, "Duplicate value: \"%s\"", cp->name);
		pw_path_pop(&v->path, m);
	}
	v->path = saved;
}

static void check_pod_ips(struct vctx *v, const struct pw_pod *p)
{
	char ip[PW_ADDR_STRLEN];
	size_t mark;

	if (p->nips < 2 || p->ips[0].family != p->ips[1].family)
		return;
	pw_addr_format(&p->ips[1], ip, sizeof(ip));
	mark = pw_path_push(&v->path, "status.podIPs[1]");
	verr(v, &p->pos,
	     "Invalid value: \"%s\": may specify no more than one IP for each "
	     "IP family",
	     ip);
	pw_path_pop(&v->path, mark);
}

static void check_pod(struct vctx *v, const struct pw_pod *p)
{
	const struct pod_kind *k = pod_kind_of(p->kind);
	const struct pw_pos *name_pos = at(&p->name_pos, &p->pos);
	size_t mark;

	pw_path_init(&v->path);
	check_meta(v, p->name, name_pos, pw_dns_subdomain_errors, p->ns,
		   &p->pos);
	if (k->max_name && p->name && strlen(p->name) > k->max_name) {
		mark = pw_path_push(&v->path, "metadata.name");
		verr(v, name_pos,
		     "Invalid value: \"%s\": must be no more than %zu characters",
		     p->name, k->max_name);
		pw_path_pop(&v->path, mark);
	}
	mark = pw_path_push(&v->path, k->meta);
	check_labels_at(v, "labels", &p->labels, &p->pos);
	pw_path_pop(&v->path, mark);
	mark = pw_path_push(&v->path, k->spec);
	if (p->node)
		check_syntax(v, &p->pos, "nodeName", p->node,
			     pw_dns_subdomain_errors);
	check_cports(v, p);
	pw_path_pop(&v->path, mark);
	check_pod_ips(v, p);
}

/* An address and the pod that has it. */
struct ip_owner {
	struct pw_addr addr;
	size_t pod;
};

static int ip_owner_cmp(const void *pa, const void *pb)
{
	const struct ip_owner *a = pa, *b = pb;
	int r = pw_addr_cmp(&a->addr, &b->addr);

	if (r)
		return r;
	return a->pod < b->pod ? -1 : a->pod > b->pod;
}

/* Pods that can hold an address now: not host-network, not finished. */
static bool pod_owns_ips(const struct pw_pod *p)
{
	return !p->host_network && p->phase != PW_PHASE_SUCCEEDED &&
	       p->phase != PW_PHASE_FAILED;
}

static void warn_shared_ip(struct vctx *v, const struct pw_cluster *c,
			   const struct ip_owner *first,
			   const struct ip_owner *dup)
{
	const struct pw_pod *a = &c->pods[first->pod], *b = &c->pods[dup->pod];
	char ip[PW_ADDR_STRLEN];

	pw_addr_format(&dup->addr, ip, sizeof(ip));
	pw_path_init(&v->path);
	pw_path_push(&v->path, "status.podIPs");
	vwarn(v, &b->pos,
	      "pod IP %s is also the address of pod %s/%s: traffic to it "
	      "cannot be attributed to one pod",
	      ip, a->ns ? a->ns : "default", a->name ? a->name : "");
}

/*
 * Two live pods with one address: the API server does not look across
 * objects, but the engine maps addresses to pods, so say so.
 */
static void check_shared_ips(struct vctx *v, const struct pw_cluster *c)
{
	struct ip_owner *o = NULL;
	size_t n = 0, cap = 0;

	for (size_t i = 0; i < c->npods; i++) {
		const struct pw_pod *p = &c->pods[i];

		for (size_t j = 0; pod_owns_ips(p) && j < p->nips; j++) {
			struct ip_owner *slot = PW_PUSH(o, n, cap);

			if (!slot)
				goto err_free;
			slot->addr = p->ips[j];
			slot->pod = i;
		}
	}
	if (n > 1)
		qsort(o, n, sizeof(*o), ip_owner_cmp);
	for (size_t i = 1; i < n; i++) {
		size_t first = i - 1;

		while (first > 0 &&
		       !pw_addr_cmp(&o[first - 1].addr, &o[i].addr))
			first--;
		if (!pw_addr_cmp(&o[first].addr, &o[i].addr) &&
		    o[first].pod != o[i].pod)
			warn_shared_ip(v, c, &o[first], &o[i]);
	}
	free(o);
	return;

err_free:
	free(o);
	v->oom = true;
}

/* ---- namespaces, nodes, services ------------------------------------- */

static void check_namespace(struct vctx *v, const struct pw_namespace *n)
{
	size_t mark;

	/* A namespace only referenced has no document: its name is
	 * reported where it is referenced (metadata.namespace). */
	if (!n->declared)
		return;
	pw_path_init(&v->path);
	check_meta(v, n->name, at(&n->name_pos, &n->pos), pw_dns_label_errors,
		   NULL, NULL);
	mark = pw_path_push(&v->path, "metadata.labels");
	for (size_t i = 0; i < n->labels.n; i++) {
		const struct pw_labels one = { &n->labels.v[i], 1 };

		/* The API server sets this one from the name, already
		 * checked above; a long name would be reported twice. */
		if (!strcmp(n->labels.v[i].key, PW_NS_NAME_LABEL))
			continue;
		check_labels(v, &one, &n->pos);
	}
	pw_path_pop(&v->path, mark);
}

static void check_node(struct vctx *v, const struct pw_node *n)
{
	size_t mark;

	pw_path_init(&v->path);
	check_meta(v, n->name, at(&n->name_pos, &n->pos),
		   pw_dns_subdomain_errors, NULL, NULL);
	mark = pw_path_push(&v->path, "spec.podCIDRs");
	if (n->npod_cidrs > 2)
		verr(v, &n->pos, "Too many: %zu: must have at most 2 items",
		     n->npod_cidrs);
	else if (n->npod_cidrs == 2 &&
		 n->pod_cidrs[0].addr.family == n->pod_cidrs[1].addr.family)
		verr(v, &n->pos,
		     "Invalid value: may specify no more than one "
		     "CIDR for each IP family");
	pw_path_pop(&v->path, mark);
}

static bool svc_port_dup(const struct pw_service *s, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (s->ports[j].port == s->ports[i].port &&
		    s->ports[j].proto == s->ports[i].proto)
			return true;
	return false;
}

static bool svc_name_dup(const struct pw_service *s, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (s->ports[j].name &&
		    !strcmp(s->ports[j].name, s->ports[i].name))
			return true;
	return false;
}

static void check_svc_port_name(struct vctx *v, const struct pw_service *s,
				size_t i)
{
	const struct pw_svc_port *p = &s->ports[i];
	size_t mark;

	if (p->name && *p->name) {
		check_syntax(v, &p->pos, "name", p->name, pw_dns_label_errors);
		if (!svc_name_dup(s, i))
			return;
		mark = pw_path_push(&v->path, "name");
		verr(v, &p->pos, "Duplicate value: \"%s\"", p->name);
	} else if (s->nports > 1) {
		mark = pw_path_push(&v->path, "name");
		verr(v, &p->pos, "Required value");
	} else {
		return;
	}
	pw_path_pop(&v->path, mark);
}

static void check_svc_port(struct vctx *v, const struct pw_service *s, size_t i)
{
	const struct pw_svc_port *p = &s->ports[i];
	char text[32];

	check_svc_port_name(v, s, i);
	if (!pw_port_num_valid(p->port))
		field_error(v, &p->pos, "port", p->port, PW_PORT_NUM_MSG);
	if (p->target_named)
		check_syntax(v, &p->pos, "targetPort",
			     p->target_name ? p->target_name : "",
			     pw_port_name_errors);
	else if (p->target_port && !pw_port_num_valid(p->target_port))
		field_error(v, &p->pos, "targetPort", p->target_port,
			    PW_PORT_NUM_MSG);
	if (!svc_port_dup(s, i))
		return;
	snprintf(text, sizeof(text), "%lld/%s", (long long)p->port,
		 pw_proto_name(p->proto) ? pw_proto_name(p->proto) : "?");
	verr(v, &p->pos, "Duplicate value: \"%s\"", text);
}

/* Dual-stack services have one ClusterIP per family. */
static void check_cluster_ips(struct vctx *v, const struct pw_service *s)
{
	char ip[PW_ADDR_STRLEN];
	size_t mark;

	if (s->ncluster_ips < 2)
		return;
	if (s->ncluster_ips > 2) {
		mark = pw_path_push(&v->path, "spec.clusterIPs");
		verr(v, &s->pos, "Too many: %zu: must have at most 2 items",
		     s->ncluster_ips);
	} else if (s->cluster_ips[0].family == s->cluster_ips[1].family) {
		pw_addr_format(&s->cluster_ips[1], ip, sizeof(ip));
		mark = pw_path_push(&v->path, "spec.clusterIPs[1]");
		verr(v, &s->pos,
		     "Invalid value: \"%s\": may specify no more than one IP "
		     "for each IP family",
		     ip);
	} else {
		return;
	}
	pw_path_pop(&v->path, mark);
}

static void check_service(struct vctx *v, const struct pw_service *s)
{
	size_t mark;

	pw_path_init(&v->path);
	check_meta(v, s->name, at(&s->name_pos, &s->pos),
		   pw_dns1035_label_errors, s->ns, &s->pos);
	if (s->has_selector)
		check_labels_at(v, "spec.selector", &s->selector, &s->pos);
	check_cluster_ips(v, s);
	for (size_t i = 0; i < s->nports; i++) {
		mark = path_at(&v->path, "spec.ports", i);
		check_svc_port(v, s, i);
		pw_path_pop(&v->path, mark);
	}
}

int pw_validate_cluster(struct pw_cluster *c, struct pw_diags *d)
{
	struct vctx v = { .d = d };

	for (size_t i = 0; i < c->nnss; i++)
		check_namespace(&v, &c->nss[i]);
	for (size_t i = 0; i < c->npods; i++)
		check_pod(&v, &c->pods[i]);
	check_shared_ips(&v, c);
	for (size_t i = 0; i < c->nnodes; i++)
		check_node(&v, &c->nodes[i]);
	for (size_t i = 0; i < c->nsvcs; i++)
		check_service(&v, &c->svcs[i]);
	for (size_t i = 0; i < c->npols; i++)
		check_policy(&v, &c->pols[i]);
	return v.oom ? -ENOMEM : v.errors;
}
