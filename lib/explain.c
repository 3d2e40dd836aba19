// SPDX-License-Identifier: Apache-2.0
/*
 * One connection, explained: the policies isolating each side and, for
 * each, the first rule, peer and port entry that allowed it. Only the
 * policies that select the two endpoints are looked at (engine.h), and
 * peers are judged directly on labels and addresses, independently of
 * the bitsets the matrix uses.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "engine.h"
#include "labels.h"

struct pw_pmatch {
	const struct pw_policy *pol;
	int rule, peer, port;
};

struct pw_side {
	bool isolated, allowed;
	struct pw_pmatch *v;
	size_t n;
};

struct pw_verdict {
	char *from, *to;
	struct pw_port port;
	bool allowed;
	enum pw_reason reason;
	struct pw_side side[PW_DIR_NR];
};

/* The connection between two endpoints, as one side sees it. */
struct conn {
	const struct pw_engine *e;
	const struct pw_ep *src, *dst;
	const struct pw_pod *dst_pod; /* for named ports; NULL if none */
	struct pw_port port;
	int family; /* 4, 6, or 0 when nobody has an IP */
};

PW_EXPORT const char *pw_reason_name(enum pw_reason r)
{
	static const char *const names[] = {
		[PW_REASON_POLICY] = "policy",
		[PW_REASON_NOT_ISOLATED] = "not-isolated",
		[PW_REASON_NODE_TRAFFIC] = "node-traffic",
		[PW_REASON_SAME_POD] = "same-pod",
	};

	return (unsigned)r < PW_ARRAY_SIZE(names) ? names[r] : NULL;
}

PW_EXPORT const char *pw_dir_name(enum pw_dir d)
{
	static const char *const names[] = {
		[PW_DIR_INGRESS] = "ingress",
		[PW_DIR_EGRESS] = "egress",
	};

	return (unsigned)d < PW_ARRAY_SIZE(names) ? names[d] : NULL;
}

static int first_family(const struct pw_ep *ep)
{
	if (ep->kind == PW_EP_NODE || ep->kind == PW_EP_IP)
		return ep->addr.family;
	return ep->pod->nips ? ep->pod->ips[0].family : 0;
}

/* Selector peers see only matrix pods; an ipBlock sees the address the
 * endpoint uses for this connection. */
static bool peer_admits(const struct conn *cn, const struct pw_policy *pol,
			const struct pw_peer *peer, const struct pw_ep *x)
{
	const struct pw_namespace *ns;

	if (peer->has_ipblock) {
		const struct pw_addr *a = pw_ep_addr(x, cn->family);

		return a && pw_ipblock_matches(&peer->ipblock, a);
	}
	if (x->kind != PW_EP_POD)
		return false;
	ns = cn->e->pods[x->idx].ns;
	if (peer->has_ns_sel) {
		if (!pw_selector_matches(&peer->ns_sel, &ns->labels))
			return false;
	} else if (strcmp(ns->name, pol->ns)) {
		return false;
	}
	return pw_selector_matches(&peer->pod_sel, &x->pod->labels);
}

static int first_peer(const struct conn *cn, const struct pw_policy *pol,
		      const struct pw_rule *r, const struct pw_ep *other)
{
	if (!r->npeers)
		return -1;
	for (size_t i = 0; i < r->npeers; i++)
		if (peer_admits(cn, pol, &r->peers[i], other))
			return (int)i;
	return -2;
}

static int first_port(const struct conn *cn, const struct pw_rule *r)
{
	if (!r->nports)
		return -1;
	for (size_t i = 0; i < r->nports; i++)
		if (pw_np_port_matches(&r->ports[i], &cn->port, cn->dst_pod))
			return (int)i;
	return -2;
}

/* Fills m with the first rule of pol that allows the connection. */
static void judge_policy(const struct conn *cn, const struct pw_policy *pol,
			 enum pw_dir d, struct pw_pmatch *m)
{
	const struct pw_ep *other = d == PW_DIR_INGRESS ? cn->src : cn->dst;

	m->pol = pol;
	m->rule = m->peer = m->port = -1;
	for (size_t k = 0; k < pol->nrules[d]; k++) {
		const struct pw_rule *r = &pol->rules[d][k];
		int port = first_port(cn, r), peer;

		if (port == -2)
			continue;
		peer = first_peer(cn, pol, r, other);
		if (peer == -2)
			continue;
		m->rule = (int)k;
		m->peer = peer;
		m->port = port;
		return;
	}
}

static int judge_side(const struct conn *cn, enum pw_dir d,
		      struct pw_side *side)
{
	const struct pw_engine *e = cn->e;
	const struct pw_ep *self = d == PW_DIR_INGRESS ? cn->dst : cn->src;
	const struct pw_eng_pod *ep;

	side->allowed = true;
	if (self->kind != PW_EP_POD || !e->pods[self->idx].nsel[d])
		return 0;
	ep = &e->pods[self->idx];
	side->isolated = true;
	side->allowed = false;
	side->v = calloc(ep->nsel[d], sizeof(*side->v));
	if (!side->v)
		return -ENOMEM;
	side->n = ep->nsel[d];
	for (size_t i = 0; i < side->n; i++) {
		const uint32_t pol = e->sel[ep->sel_off[d] + i];

		judge_policy(cn, &e->c->pols[pol], d, &side->v[i]);
		if (side->v[i].rule >= 0)
			side->allowed = true;
	}
	return 0;
}

static bool same_pod(const struct pw_ep *a, const struct pw_ep *b)
{
	return (a->kind == PW_EP_POD || a->kind == PW_EP_HOST_POD) &&
	       (b->kind == PW_EP_POD || b->kind == PW_EP_HOST_POD) &&
	       a->pod == b->pod;
}

/* From the destination pod's own node: one of the node's addresses, or a
 * hostNetwork pod scheduled on it. */
static bool node_traffic(const struct pw_ep *src, const struct pw_ep *dst)
{
	const char *node = dst->kind == PW_EP_POD ? dst->pod->node : NULL;

	if (!node)
		return false;
	if (src->kind == PW_EP_NODE)
		return !strcmp(src->node->name, node);
	if (src->kind == PW_EP_HOST_POD)
		return src->pod->node && !strcmp(src->pod->node, node);
	return false;
}

/*
 * A service port seen by one backend: its target port, a name resolved
 * against the backend's container ports (a name the backend does not
 * declare stays as it is). Without a service the port is the pod's own.
 * -ENOENT for a port the service does not define: such a connection goes
 * nowhere, so there is nothing to explain.
 */
static int service_port(const struct pw_service *s,
			const struct pw_ep *backend,
			const struct pw_port *port, struct pw_port *out)
{
	*out = *port;
	if (!s)
		return 0;
	for (size_t i = 0; i < s->nports; i++) {
		const struct pw_svc_port *sp = &s->ports[i];

		if (sp->port != port->num || sp->proto != port->proto)
			continue;
		if (!sp->target_named) {
			out->num = (uint16_t)sp->target_port;
			return 0;
		}
		for (size_t j = 0; backend->pod && j < backend->pod->nports;
		     j++) {
			const struct pw_cport *cp = &backend->pod->ports[j];

			if (cp->name && cp->proto == sp->proto &&
			    !strcmp(cp->name, sp->target_name)) {
				out->num = (uint16_t)cp->port;
				return 0;
			}
		}
		return 0;
	}
	return -ENOENT;
}

static enum pw_reason reason_of(const struct pw_verdict *v,
				const struct conn *cn)
{
	if (same_pod(cn->src, cn->dst))
		return PW_REASON_SAME_POD;
	if (node_traffic(cn->src, cn->dst))
		return PW_REASON_NODE_TRAFFIC;
	if (!v->side[PW_DIR_INGRESS].isolated &&
	    !v->side[PW_DIR_EGRESS].isolated)
		return PW_REASON_NOT_ISOLATED;
	return PW_REASON_POLICY;
}

static int judge(struct pw_verdict *v, struct conn *cn)
{
	int err;

	cn->dst_pod = cn->dst->kind == PW_EP_POD ||
				      cn->dst->kind == PW_EP_HOST_POD ?
			      cn->dst->pod :
			      NULL;
	cn->family = first_family(cn->dst);
	if (!cn->family)
		cn->family = first_family(cn->src);
	for (int d = 0; d < PW_DIR_NR; d++) {
		err = judge_side(cn, d, &v->side[d]);
		if (err)
			return err;
	}
	v->reason = reason_of(v, cn);
	v->allowed = v->reason == PW_REASON_SAME_POD ||
		     v->reason == PW_REASON_NODE_TRAFFIC ||
		     (v->side[PW_DIR_INGRESS].allowed &&
		      v->side[PW_DIR_EGRESS].allowed);
	v->port = cn->port;
	return 0;
}

PW_EXPORT struct pw_verdict *
pw_engine_explain(const struct pw_engine *e, const struct pw_endpoints *from,
		  size_t fi, const struct pw_endpoints *to, size_t ti,
		  const struct pw_port *port)
{
	struct conn cn = { .e = e };
	struct pw_verdict *v = NULL;
	int err;

	if (fi >= from->n || ti >= to->n || !port) {
		errno = EINVAL;
		return NULL;
	}
	cn.src = &from->v[fi];
	cn.dst = &to->v[ti];
	err = service_port(to->svc, cn.dst, port, &cn.port);
	if (err)
		goto err_out;
	err = -ENOMEM;
	v = calloc(1, sizeof(*v));
	if (!v)
		goto err_out;
	v->from = strdup(cn.src->name);
	v->to = strdup(cn.dst->name);
	if (!v->from || !v->to)
		goto err_free_verdict;
	err = judge(v, &cn);
	if (err)
		goto err_free_verdict;
	return v;

err_free_verdict:
	pw_verdict_free(v);
err_out:
	errno = -err;
	return NULL;
}

PW_EXPORT void pw_verdict_free(struct pw_verdict *v)
{
	if (!v)
		return;
	for (int d = 0; d < PW_DIR_NR; d++)
		free(v->side[d].v);
	free(v->from);
	free(v->to);
	free(v);
}

PW_EXPORT bool pw_verdict_allowed(const struct pw_verdict *v)
{
	return v->allowed;
}

PW_EXPORT enum pw_reason pw_verdict_reason(const struct pw_verdict *v)
{
	return v->reason;
}

PW_EXPORT const char *pw_verdict_from(const struct pw_verdict *v)
{
	return v->from;
}

PW_EXPORT const char *pw_verdict_to(const struct pw_verdict *v)
{
	return v->to;
}

PW_EXPORT struct pw_port pw_verdict_port(const struct pw_verdict *v)
{
	return v->port;
}

PW_EXPORT bool pw_verdict_isolated(const struct pw_verdict *v, enum pw_dir d)
{
	return (unsigned)d < PW_DIR_NR && v->side[d].isolated;
}

PW_EXPORT bool pw_verdict_side_allowed(const struct pw_verdict *v,
				       enum pw_dir d)
{
	return (unsigned)d < PW_DIR_NR && v->side[d].allowed;
}

PW_EXPORT size_t pw_verdict_policy_count(const struct pw_verdict *v,
					 enum pw_dir d)
{
	return (unsigned)d < PW_DIR_NR ? v->side[d].n : 0;
}

static const struct pw_pmatch *pmatch(const struct pw_verdict *v, enum pw_dir d,
				      size_t i)
{
	if ((unsigned)d >= PW_DIR_NR || i >= v->side[d].n)
		return NULL;
	return &v->side[d].v[i];
}

PW_EXPORT const char *pw_verdict_policy_namespace(const struct pw_verdict *v,
						  enum pw_dir d, size_t i)
{
	const struct pw_pmatch *m = pmatch(v, d, i);

	return m ? m->pol->ns : NULL;
}

PW_EXPORT const char *pw_verdict_policy_name(const struct pw_verdict *v,
					     enum pw_dir d, size_t i)
{
	const struct pw_pmatch *m = pmatch(v, d, i);

	return m ? m->pol->name : NULL;
}

PW_EXPORT void pw_verdict_policy_match(const struct pw_verdict *v,
				       enum pw_dir d, size_t i, int *rule,
				       int *peer, int *port)
{
	const struct pw_pmatch *m = pmatch(v, d, i);

	*rule = m ? m->rule : -1;
	*peer = m ? m->peer : -1;
	*port = m ? m->port : -1;
}

PW_EXPORT const char *pw_verdict_policy_where(const struct pw_verdict *v,
					      enum pw_dir d, size_t i,
					      unsigned *line, unsigned *col)
{
	const struct pw_pmatch *m = pmatch(v, d, i);
	const struct pw_pos *pos;

	*line = *col = 0;
	if (!m)
		return NULL;
	pos = &m->pol->pos;
	if (m->rule >= 0 && m->pol->rules[d][m->rule].pos.line)
		pos = &m->pol->rules[d][m->rule].pos;
	*line = pos->line;
	*col = pos->col;
	return pos->file;
}
