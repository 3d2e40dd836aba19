// SPDX-License-Identifier: Apache-2.0
/*
 * Endpoints as the command line names them: "ns/name", "ns/name[Kind]",
 * "ns/svc/name" or an address, resolved against the engine's cluster.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "engine.h"

static bool pod_live(const struct pw_pod *p)
{
	return p->phase != PW_PHASE_SUCCEEDED && p->phase != PW_PHASE_FAILED;
}

const struct pw_addr *pw_ep_addr(const struct pw_ep *ep, int family)
{
	if (!family)
		return NULL;
	if (ep->kind == PW_EP_NODE || ep->kind == PW_EP_IP)
		return ep->addr.family == family ? &ep->addr : NULL;
	for (size_t i = 0; i < ep->pod->nips; i++)
		if (ep->pod->ips[i].family == family)
			return &ep->pod->ips[i];
	return NULL;
}

struct pw_ep *pw_endpoints_push(struct pw_endpoints *eps, enum pw_ep_kind kind,
				const char *name)
{
	struct pw_ep *ep = PW_PUSH(eps->v, eps->n, eps->cap);

	if (!ep)
		return NULL;
	ep->kind = kind;
	ep->name = strdup(name);
	if (!ep->name) {
		eps->n--;
		return NULL;
	}
	return ep;
}

static int add_pod(struct pw_endpoints *eps, const struct pw_engine *e,
		   size_t idx)
{
	struct pw_ep *ep = pw_endpoints_push(eps, PW_EP_POD, e->pods[idx].name);

	if (!ep)
		return -ENOMEM;
	ep->pod = e->pods[idx].pod;
	ep->idx = idx;
	return 0;
}

static int add_host_pod(struct pw_endpoints *eps, const struct pw_pod *p)
{
	char *name = pw_pod_matrix_name(p);
	struct pw_ep *ep;

	if (!name)
		return -ENOMEM;
	ep = pw_endpoints_push(eps, PW_EP_HOST_POD, name);
	free(name);
	if (!ep)
		return -ENOMEM;
	ep->pod = p;
	return 0;
}

static int add_addr(struct pw_endpoints *eps, enum pw_ep_kind kind,
		    const struct pw_addr *a, const struct pw_node *node)
{
	char buf[PW_ADDR_STRLEN];
	struct pw_ep *ep;

	pw_addr_format(a, buf, sizeof(buf));
	ep = pw_endpoints_push(eps, kind, buf);
	if (!ep)
		return -ENOMEM;
	ep->addr = *a;
	ep->node = node;
	return 0;
}

static bool has_addr(const struct pw_addr *v, size_t n, const struct pw_addr *a)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].family == a->family && !memcmp(v[i].b, a->b, 16))
			return true;
	return false;
}

/* A pod's address, else a node's, else a hostNetwork pod's (which is a
 * node's address the cluster has no Node object for), else outside. */
static int resolve_addr(const struct pw_engine *e, const char *text,
			struct pw_endpoints *eps)
{
	const struct pw_cluster *c = e->c;
	struct pw_addr a;
	long k;

	if (pw_addr_parse(text, &a))
		return -EINVAL;
	k = pw_engine_addr_pod(e, &a);
	if (k >= 0)
		return add_pod(eps, e, (size_t)k);
	for (size_t i = 0; i < c->nnodes; i++)
		if (has_addr(c->nodes[i].addrs, c->nodes[i].naddrs, &a))
			return add_addr(eps, PW_EP_NODE, &a, &c->nodes[i]);
	for (size_t i = 0; i < c->npods; i++) {
		const struct pw_pod *p = &c->pods[i];

		if (p->host_network && pod_live(p) &&
		    has_addr(p->ips, p->nips, &a))
			return add_host_pod(eps, p);
	}
	return add_addr(eps, PW_EP_IP, &a, NULL);
}

static int resolve_pod(const struct pw_engine *e, const char *text,
		       struct pw_endpoints *eps)
{
	const struct pw_cluster *c = e->c;
	long idx = pw_engine_pod_index(e, text);

	if (idx >= 0)
		return add_pod(eps, e, (size_t)idx);
	/* Not a matrix pod: maybe a hostNetwork one (there are few). */
	for (size_t i = 0; i < c->npods; i++) {
		const struct pw_pod *p = &c->pods[i];
		char *name;
		bool same;

		if (!p->host_network || !pod_live(p))
			continue;
		name = pw_pod_matrix_name(p);
		if (!name)
			return -ENOMEM;
		same = !strcmp(name, text);
		free(name);
		if (same)
			return add_host_pod(eps, p);
	}
	return -ENOENT;
}

static bool svc_selects(const struct pw_service *s, const struct pw_pod *p)
{
	if (!s->has_selector || strcmp(s->ns, p->ns))
		return false;
	for (size_t i = 0; i < s->selector.n; i++) {
		const struct pw_label *want = &s->selector.v[i];
		bool found = false;

		for (size_t j = 0; j < p->labels.n && !found; j++)
			found = !strcmp(p->labels.v[j].key, want->key) &&
				!strcmp(p->labels.v[j].value, want->value);
		if (!found)
			return false;
	}
	return true;
}

/* Backends: the matrix pods (and templates) the selector picks, in matrix
 * order, then hostNetwork pods. No selector: no backends. */
static int add_backends(const struct pw_engine *e, const struct pw_service *s,
			struct pw_endpoints *eps)
{
	const struct pw_cluster *c = e->c;
	int err = 0;

	eps->svc = s;
	for (size_t k = 0; k < e->npods && !err; k++)
		if (svc_selects(s, e->pods[k].pod))
			err = add_pod(eps, e, k);
	for (size_t i = 0; i < c->npods && !err; i++) {
		const struct pw_pod *p = &c->pods[i];

		if (p->host_network && pod_live(p) && svc_selects(s, p))
			err = add_host_pod(eps, p);
	}
	return err;
}

static int resolve_service(const struct pw_engine *e, const char *text,
			   struct pw_endpoints *eps)
{
	const char *mid = strchr(text, '/'), *name;
	size_t nslen = (size_t)(mid - text);

	if (strncmp(mid, "/svc/", 5))
		return -EINVAL;
	name = mid + 5;
	for (size_t i = 0; i < e->c->nsvcs; i++) {
		const struct pw_service *s = &e->c->svcs[i];

		if (strlen(s->ns) == nslen && !strncmp(s->ns, text, nslen) &&
		    !strcmp(s->name, name))
			return add_backends(e, s, eps);
	}
	return -ENOENT;
}

static size_t count_char(const char *s, char ch)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == ch;
	return n;
}

PW_EXPORT struct pw_endpoints *pw_engine_resolve(const struct pw_engine *e,
						 const char *text)
{
	static int (*const by_slashes[])(const struct pw_engine *, const char *,
					 struct pw_endpoints *) = {
		resolve_addr,
		resolve_pod,
		resolve_service,
	};
	struct pw_endpoints *eps;
	size_t slashes;
	int err;

	if (!text || !*text || text[0] == '/' ||
	    (slashes = count_char(text, '/')) >= PW_ARRAY_SIZE(by_slashes) ||
	    text[strlen(text) - 1] == '/') {
		errno = EINVAL;
		return NULL;
	}
	eps = calloc(1, sizeof(*eps));
	if (!eps) {
		errno = ENOMEM;
		return NULL;
	}
	err = by_slashes[slashes](e, text, eps);
	if (err) {
		pw_endpoints_free(eps);
		errno = -err;
		return NULL;
	}
	return eps;
}

PW_EXPORT void pw_endpoints_free(struct pw_endpoints *eps)
{
	if (!eps)
		return;
	for (size_t i = 0; i < eps->n; i++)
		free(eps->v[i].name);
	free(eps->v);
	free(eps);
}

PW_EXPORT size_t pw_endpoints_count(const struct pw_endpoints *eps)
{
	return eps->n;
}

PW_EXPORT const char *pw_endpoints_name(const struct pw_endpoints *eps,
					size_t i)
{
	return i < eps->n ? eps->v[i].name : NULL;
}

/* ---- the service an endpoint list was named by ------------------------- */

PW_EXPORT const char *
pw_endpoints_service_namespace(const struct pw_endpoints *eps)
{
	return eps->svc ? eps->svc->ns : NULL;
}

PW_EXPORT const char *pw_endpoints_service_name(const struct pw_endpoints *eps)
{
	return eps->svc ? eps->svc->name : NULL;
}

PW_EXPORT size_t pw_endpoints_service_port_count(const struct pw_endpoints *eps)
{
	return eps->svc ? eps->svc->nports : 0;
}

PW_EXPORT struct pw_port
pw_endpoints_service_port(const struct pw_endpoints *eps, size_t i,
			  const char **name)
{
	const struct pw_svc_port *sp;

	if (name)
		*name = NULL;
	if (i >= pw_endpoints_service_port_count(eps))
		return (struct pw_port){ 0 };
	sp = &eps->svc->ports[i];
	if (name)
		*name = sp->name && sp->name[0] ? sp->name : NULL;
	/* validated: 1..65535 */
	return (struct pw_port){ (uint16_t)sp->port, (uint8_t)sp->proto };
}
