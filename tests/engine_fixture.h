/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Clusters built by hand for the engine's tests, without the loader:
 * objects are pushed into a struct pw_cluster and fx_finalize() does what
 * pw_cluster_finalize() promises the engine (implicit namespaces, the
 * kubernetes.io/metadata.name label, sorted arrays, effective
 * policyTypes, parsed CIDRs), so the engine's tests do not depend on the
 * loader's progress. Everything is freed by fx_free().
 */
#ifndef PW_TESTS_ENGINE_FIXTURE_H
#define PW_TESTS_ENGINE_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "labels.h"
#include "model.h"

static inline void fx_die(const char *what, const char *s)
{
	fprintf(stderr, "fixture: %s: %s\n", what, s ? s : "(null)");
	exit(2);
}

static inline void *fx_push(void **v, size_t *n, size_t *cap, size_t elem)
{
	void *p = pw_push(v, n, cap, elem);

	if (!p)
		fx_die("push", "out of memory");
	return p;
}
#define FX_PUSH(arr, n, cap)                                     \
	((__typeof__(arr))fx_push((void **)&(arr), &(n), &(cap), \
				  sizeof(*(arr))))

static inline char *fx_strdup(const char *s)
{
	char *d = strdup(s);

	if (!d)
		fx_die("strdup", "out of memory");
	return d;
}

/* "k=v,k2=v2" into l. */
static inline void fx_labels(struct pw_labels *l, const char *text)
{
	char *copy, *save = NULL;

	if (!text || !*text)
		return;
	copy = fx_strdup(text);
	for (char *kv = strtok_r(copy, ",", &save); kv;
	     kv = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(kv, '=');

		if (!eq)
			fx_die("label", kv);
		*eq = '\0';
		if (pw_labels_set(l, kv, eq + 1))
			fx_die("label", kv);
	}
	free(copy);
}

/* kubectl syntax; "ml:k=v,..." puts the pairs in matchLabels instead. */
static inline void fx_selector(struct pw_selector *s, const char *text)
{
	char err[200];

	if (!strncmp(text, "ml:", 3)) {
		fx_labels(&s->match_labels, text + 3);
		return;
	}
	if (pw_selector_parse(text, s, err, sizeof(err)))
		fx_die(err, text);
}

static inline void fx_ns(struct pw_cluster *c, const char *name,
			 const char *labels)
{
	struct pw_namespace *ns = FX_PUSH(c->nss, c->nnss, c->cap_nss);

	ns->name = fx_strdup(name);
	ns->declared = true;
	fx_labels(&ns->labels, labels);
}

static inline void fx_split_name(const char *full, char **ns, char **name)
{
	const char *slash = strchr(full, '/');

	if (!slash)
		fx_die("name", full);
	*ns = strndup(full, (size_t)(slash - full));
	*name = fx_strdup(slash + 1);
}

static inline void fx_addrs(struct pw_addr *out, size_t *n, size_t max,
			    const char *text)
{
	char *copy, *save = NULL;

	*n = 0;
	if (!text || !*text)
		return;
	copy = fx_strdup(text);
	for (char *a = strtok_r(copy, ",", &save); a && *n < max;
	     a = strtok_r(NULL, ",", &save))
		if (pw_addr_parse(a, &out[(*n)++]))
			fx_die("address", a);
	free(copy);
}

/* A running pod; ips "10.0.0.1,fd00::1" (may be NULL), node may be NULL.
 * The pointer is good until the next pod is added. */
static inline struct pw_pod *fx_pod(struct pw_cluster *c, const char *full,
				    const char *labels, const char *ips,
				    const char *node)
{
	struct pw_pod *p = FX_PUSH(c->pods, c->npods, c->cap_pods);

	fx_split_name(full, &p->ns, &p->name);
	fx_labels(&p->labels, labels);
	fx_addrs(p->ips, &p->nips, PW_POD_MAX_IPS, ips);
	p->node = node ? fx_strdup(node) : NULL;
	p->phase = PW_PHASE_RUNNING;
	return p;
}

static inline void fx_cport(struct pw_pod *p, const char *name, int port,
			    enum pw_proto proto)
{
	size_t cap = p->nports;
	struct pw_cport *cp = FX_PUSH(p->ports, p->nports, cap);

	cp->name = name ? fx_strdup(name) : NULL;
	cp->port = port;
	cp->proto = proto;
}

static inline void fx_node(struct pw_cluster *c, const char *name,
			   const char *addrs)
{
	struct pw_node *n = FX_PUSH(c->nodes, c->nnodes, c->cap_nodes);
	struct pw_addr a[8];

	n->name = fx_strdup(name);
	fx_addrs(a, &n->naddrs, 8, addrs);
	n->addrs = calloc(n->naddrs + 1, sizeof(*n->addrs));
	if (!n->addrs)
		fx_die("node", name);
	memcpy(n->addrs, a, n->naddrs * sizeof(*a));
}

/* types: NULL (absent), "Ingress", "Egress" or "Ingress,Egress". */
static inline struct pw_policy *fx_pol(struct pw_cluster *c, const char *full,
				       const char *pod_sel, const char *types)
{
	struct pw_policy *p = FX_PUSH(c->pols, c->npols, c->cap_pols);
	char *copy, *save = NULL;
	size_t cap = 0;

	fx_split_name(full, &p->ns, &p->name);
	p->has_pod_sel = true;
	fx_selector(&p->pod_sel, pod_sel);
	p->pos.line = (uint32_t)c->npols;
	if (!types)
		return p;
	copy = fx_strdup(types);
	for (char *t = strtok_r(copy, ",", &save); t;
	     t = strtok_r(NULL, ",", &save)) {
		struct pw_policy_type *pt = FX_PUSH(p->types, p->ntypes, cap);

		pt->text = fx_strdup(t);
	}
	free(copy);
	return p;
}

static inline struct pw_rule *fx_rule(struct pw_policy *p, enum pw_dir d)
{
	size_t cap = p->nrules[d];
	struct pw_rule *r = FX_PUSH(p->rules[d], p->nrules[d], cap);

	r->pos.line = 1000 * (uint32_t)(d + 1) + (uint32_t)p->nrules[d] - 1;
	return r;
}

/* NULL for an absent selector. */
static inline void fx_peer(struct pw_rule *r, const char *pod_sel,
			   const char *ns_sel)
{
	size_t cap = r->npeers;
	struct pw_peer *pe = FX_PUSH(r->peers, r->npeers, cap);

	pe->has_pod_sel = pod_sel != NULL;
	pe->has_ns_sel = ns_sel != NULL;
	if (pod_sel)
		fx_selector(&pe->pod_sel, pod_sel);
	if (ns_sel)
		fx_selector(&pe->ns_sel, ns_sel);
}

static inline void fx_cidr(const char *text, struct pw_cidr *out)
{
	if (pw_cidr_parse(text, out, NULL, NULL))
		fx_die("cidr", text);
}

/* except: "10.0.1.0/24,10.0.2.0/24" or NULL. */
static inline void fx_peer_ip(struct pw_rule *r, const char *cidr,
			      const char *except)
{
	size_t cap = r->npeers, ecap = 0;
	struct pw_peer *pe = FX_PUSH(r->peers, r->npeers, cap);
	char *copy, *save = NULL;

	pe->has_ipblock = true;
	pe->ipblock.cidr_text = fx_strdup(cidr);
	pe->ipblock.cidr_ok = true;
	fx_cidr(cidr, &pe->ipblock.cidr);
	if (!except)
		return;
	copy = fx_strdup(except);
	for (char *x = strtok_r(copy, ",", &save); x;
	     x = strtok_r(NULL, ",", &save)) {
		struct pw_except *ex =
			FX_PUSH(pe->ipblock.except, pe->ipblock.nexcept, ecap);

		ex->text = fx_strdup(x);
		ex->ok = true;
		fx_cidr(x, &ex->cidr);
	}
	free(copy);
}

/* port 0: no port (every port of proto); end 0: no endPort. */
static inline void fx_port(struct pw_rule *r, enum pw_proto proto, int port,
			   int end)
{
	size_t cap = r->nports;
	struct pw_np_port *pp = FX_PUSH(r->ports, r->nports, cap);

	pp->proto = proto;
	pp->has_port = port != 0;
	pp->port = port;
	pp->has_end = end != 0;
	pp->end_port = end;
}

static inline void fx_port_named(struct pw_rule *r, enum pw_proto proto,
				 const char *name)
{
	size_t cap = r->nports;
	struct pw_np_port *pp = FX_PUSH(r->ports, r->nports, cap);

	pp->proto = proto;
	pp->has_port = true;
	pp->named = true;
	pp->name = fx_strdup(name);
}

static inline struct pw_service *fx_svc(struct pw_cluster *c, const char *full,
					const char *selector)
{
	struct pw_service *s = FX_PUSH(c->svcs, c->nsvcs, c->cap_svcs);

	fx_split_name(full, &s->ns, &s->name);
	s->has_selector = selector != NULL;
	fx_labels(&s->selector, selector);
	return s;
}

/* target_name NULL: numeric target_port. */
static inline void fx_svc_port(struct pw_service *s, int port,
			       enum pw_proto proto, int target,
			       const char *target_name)
{
	size_t cap = s->nports;
	struct pw_svc_port *sp = FX_PUSH(s->ports, s->nports, cap);

	sp->port = port;
	sp->proto = proto;
	sp->target_port = target;
	sp->target_named = target_name != NULL;
	sp->target_name = target_name ? fx_strdup(target_name) : NULL;
}

/* ---- finalize ---------------------------------------------------------- */

static inline void fx_need_ns(struct pw_cluster *c, const char *name)
{
	for (size_t i = 0; i < c->nnss; i++)
		if (!strcmp(c->nss[i].name, name))
			return;
	fx_ns(c, name, NULL);
	c->nss[c->nnss - 1].declared = false;
}

static inline int fx_ns_cmp(const void *a, const void *b)
{
	return strcmp(((const struct pw_namespace *)a)->name,
		      ((const struct pw_namespace *)b)->name);
}

static inline int fx_pod_cmp(const void *a, const void *b)
{
	const struct pw_pod *x = a, *y = b;
	int d = strcmp(x->ns, y->ns);

	if (!d)
		d = strcmp(x->name, y->name);
	if (!d && (!x->kind || !y->kind))
		d = !!x->kind - !!y->kind;
	if (!d && x->kind)
		d = strcmp(x->kind, y->kind);
	return d;
}

static inline int fx_pol_cmp(const void *a, const void *b)
{
	const struct pw_policy *x = a, *y = b;
	int d = strcmp(x->ns, y->ns);

	return d ? d : strcmp(x->name, y->name);
}

static inline int fx_svc_cmp(const void *a, const void *b)
{
	const struct pw_service *x = a, *y = b;
	int d = strcmp(x->ns, y->ns);

	return d ? d : strcmp(x->name, y->name);
}

static inline void fx_affects(struct pw_policy *p)
{
	bool ing = false, eg = false;

	for (size_t i = 0; i < p->ntypes; i++) {
		ing |= !strcmp(p->types[i].text, "Ingress");
		eg |= !strcmp(p->types[i].text, "Egress");
	}
	if (!p->ntypes) {
		ing = true;
		eg = p->nrules[PW_DIR_EGRESS] > 0;
	}
	p->affects[PW_DIR_INGRESS] = ing;
	p->affects[PW_DIR_EGRESS] = eg;
}

static inline void fx_finalize(struct pw_cluster *c)
{
	for (size_t i = 0; i < c->npods; i++)
		fx_need_ns(c, c->pods[i].ns);
	for (size_t i = 0; i < c->npols; i++)
		fx_need_ns(c, c->pols[i].ns);
	for (size_t i = 0; i < c->nsvcs; i++)
		fx_need_ns(c, c->svcs[i].ns);
	for (size_t i = 0; i < c->nnss; i++)
		if (pw_labels_set(&c->nss[i].labels, PW_NS_NAME_LABEL,
				  c->nss[i].name))
			fx_die("ns label", c->nss[i].name);
	for (size_t i = 0; i < c->npols; i++)
		fx_affects(&c->pols[i]);
	if (c->nnss)
		qsort(c->nss, c->nnss, sizeof(*c->nss), fx_ns_cmp);
	if (c->npods)
		qsort(c->pods, c->npods, sizeof(*c->pods), fx_pod_cmp);
	if (c->npols)
		qsort(c->pols, c->npols, sizeof(*c->pols), fx_pol_cmp);
	if (c->nsvcs)
		qsort(c->svcs, c->nsvcs, sizeof(*c->svcs), fx_svc_cmp);
	c->finalized = true;
	c->valid = true;
}

/* ---- free --------------------------------------------------------------- */

static inline void fx_labels_free(struct pw_labels *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].key);
		free(l->v[i].value);
	}
	free(l->v);
}

static inline void fx_selector_free(struct pw_selector *s)
{
	fx_labels_free(&s->match_labels);
	for (size_t i = 0; i < s->nreqs; i++) {
		struct pw_sel_req *r = &s->reqs[i];

		for (size_t j = 0; j < r->nvalues; j++)
			free(r->values[j]);
		free(r->values);
		free(r->value_pos);
		free(r->key);
		free(r->op_text);
	}
	free(s->reqs);
}

static inline void fx_rule_free(struct pw_rule *r)
{
	for (size_t i = 0; i < r->npeers; i++) {
		struct pw_peer *pe = &r->peers[i];

		fx_selector_free(&pe->pod_sel);
		fx_selector_free(&pe->ns_sel);
		free(pe->ipblock.cidr_text);
		for (size_t j = 0; j < pe->ipblock.nexcept; j++)
			free(pe->ipblock.except[j].text);
		free(pe->ipblock.except);
	}
	for (size_t i = 0; i < r->nports; i++)
		free(r->ports[i].name);
	free(r->peers);
	free(r->ports);
}

static inline void fx_policy_free(struct pw_policy *p)
{
	free(p->ns);
	free(p->name);
	fx_selector_free(&p->pod_sel);
	for (size_t i = 0; i < p->ntypes; i++)
		free(p->types[i].text);
	free(p->types);
	for (int d = 0; d < PW_DIR_NR; d++) {
		for (size_t i = 0; i < p->nrules[d]; i++)
			fx_rule_free(&p->rules[d][i]);
		free(p->rules[d]);
	}
}

static inline void fx_pod_free(struct pw_pod *p)
{
	free(p->ns);
	free(p->name);
	fx_labels_free(&p->labels);
	free(p->node);
	for (size_t i = 0; i < p->nports; i++)
		free(p->ports[i].name);
	free(p->ports);
}

static inline void fx_svc_free(struct pw_service *s)
{
	free(s->ns);
	free(s->name);
	fx_labels_free(&s->selector);
	for (size_t i = 0; i < s->nports; i++) {
		free(s->ports[i].name);
		free(s->ports[i].target_name);
	}
	free(s->ports);
	free(s->cluster_ips);
}

static inline void fx_free(struct pw_cluster *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nnss; i++) {
		free(c->nss[i].name);
		fx_labels_free(&c->nss[i].labels);
	}
	for (size_t i = 0; i < c->npods; i++)
		fx_pod_free(&c->pods[i]);
	for (size_t i = 0; i < c->npols; i++)
		fx_policy_free(&c->pols[i]);
	for (size_t i = 0; i < c->nnodes; i++) {
		free(c->nodes[i].name);
		free(c->nodes[i].addrs);
	}
	for (size_t i = 0; i < c->nsvcs; i++)
		fx_svc_free(&c->svcs[i]);
	free(c->nss);
	free(c->pods);
	free(c->pols);
	free(c->nodes);
	free(c->svcs);
	free(c);
}

static inline struct pw_cluster *fx_new(void)
{
	struct pw_cluster *c = calloc(1, sizeof(*c));

	if (!c)
		fx_die("cluster", "out of memory");
	return c;
}

#endif
