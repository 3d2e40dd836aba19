// SPDX-License-Identifier: Apache-2.0
/*
 * Lint rules about the ports of a rule, judged against the pods the rule
 * applies to: a port left to default to TCP where the destinations serve
 * it over UDP only (PW008), and a named port that no destination defines
 * (PW009). The destinations of an ingress rule are the pods its policy
 * selects; those of an egress rule the pods its peers admit.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bitset.h"
#include "lint_rules.h"

/* One rule with its destinations as a bitset over matrix pods. */
struct rule_ref {
	size_t pi;
	const struct pw_policy *p;
	int d;
	size_t k;
	const struct pw_rule *r;
	size_t erule;
	uint64_t *dst;
};

static void rule_dsts(const struct pw_engine *e, struct rule_ref *rr)
{
	size_t lo, hi;

	memset(rr->dst, 0, e->words * sizeof(uint64_t));
	if (rr->d == PW_DIR_INGRESS) {
		if (!lint_ns_pods(e, rr->p->ns, &lo, &hi))
			return;
		for (size_t k = lo; k < hi; k++)
			if (lint_selects(e, rr->p, k))
				pw_bits_set(rr->dst, k);
		return;
	}
	if (!rr->r->npeers) {
		pw_bits_or(rr->dst, e->ones, e->words);
		return;
	}
	for (size_t j = 0; j < rr->r->npeers; j++)
		pw_bits_or(rr->dst,
			   lint_peer_set(e, rr->erule, j)->bits[PW_VIEW_FIRST],
			   e->words);
}

/* A pod on the other side of rule rr from destination dst; -1 if none. */
static long other_side(const struct pw_engine *e, const struct rule_ref *rr,
		       size_t dst)
{
	size_t lo, hi;

	if (rr->d == PW_DIR_EGRESS) {
		if (!lint_ns_pods(e, rr->p->ns, &lo, &hi))
			return -1;
		for (size_t k = lo; k < hi; k++)
			if (k != dst && lint_selects(e, rr->p, k))
				return (long)k;
		return -1;
	}
	for (size_t j = 0; j < rr->r->npeers; j++) {
		const uint64_t *b =
			lint_peer_set(e, rr->erule, j)->bits[PW_VIEW_FIRST];

		for (size_t k = 0; k < e->npods; k++)
			if (k != dst && pw_bits_test(b, k))
				return (long)k;
	}
	for (size_t k = 0; !rr->r->npeers && k < e->npods; k++)
		if (k != dst)
			return (long)k;
	return -1;
}

typedef int (*rule_fn)(struct lint_ctx *x, struct rule_ref *rr);

struct rule_walk {
	rule_fn fn;
	uint64_t *dst;
};

static int rule_with_dsts(struct lint_ctx *x, const struct lint_rule_ref *ref,
			  void *arg)
{
	const struct rule_walk *rw = arg;
	struct rule_ref rr = {
		.pi = ref->pi,
		.p = ref->p,
		.d = ref->d,
		.k = ref->k,
		.r = ref->r,
		.erule = ref->erule,
		.dst = rw->dst,
	};

	rule_dsts(x->e, &rr);
	return rw->fn(x, &rr);
}

/* Calls fn for every rule of every policy in a direction it affects,
 * with the rule's destinations computed. */
static int each_rule(struct lint_ctx *x, rule_fn fn)
{
	struct rule_walk rw = { fn, calloc(x->e->words + 1, sizeof(uint64_t)) };
	int err;

	if (!rw.dst)
		return -ENOMEM;
	err = lint_each_rule(x, true, rule_with_dsts, &rw);
	free(rw.dst);
	return err;
}

static struct lint_where port_where(const struct rule_ref *rr, size_t j,
				    struct pw_path *path)
{
	lint_rule_path(path, rr->d, rr->k, -1, (long)j);
	return lint_at_policy(rr->p, &rr->r->ports[j].pos, path->buf);
}

/* ---- PW009: a named port no destination defines ------------------------- */

static bool defines(const struct pw_pod *p, const struct pw_np_port *pp)
{
	for (size_t i = 0; i < p->nports; i++)
		if (p->ports[i].name && p->ports[i].proto == pp->proto &&
		    !strcmp(p->ports[i].name, pp->name))
			return true;
	return false;
}

static int named_rule(struct lint_ctx *x, struct rule_ref *rr)
{
	const struct pw_engine *e = x->e;
	struct lint_where at;
	struct pw_path path;
	int err = 0;

	if (rr->d == PW_DIR_INGRESS && lint_first_bit(e, rr->dst) < 0)
		return 0; /* selects no pod: PW002 */
	for (size_t j = 0; !err && j < rr->r->nports; j++) {
		const struct pw_np_port *pp = &rr->r->ports[j];
		bool found = false;

		if (!pp->has_port || !pp->named)
			continue;
		for (size_t k = 0; k < e->npods && !found; k++)
			found = pw_bits_test(rr->dst, k) &&
				defines(e->pods[k].pod, pp);
		if (found)
			continue;
		at = port_where(rr, j, &path);
		err = lint_report(
			x, &at, NULL,
			"no %s pod of the rule declares a %s "
			"container port named \"%s\": the entry opens "
			"nothing",
			rr->d == PW_DIR_INGRESS ? "selected" : "destination",
			pw_proto_name(pp->proto), pp->name);
	}
	return err;
}

int lint_named_port(struct lint_ctx *x)
{
	return each_rule(x, named_rule);
}

/* ---- PW008: TCP by default on a UDP-only port ------------------------------- */

/* Protocols (bit 1 << proto) in which destination pods serve port num:
 * their container ports, and the target ports of Services that select
 * them. *udp_pod gets a pod that serves it over UDP. */
static unsigned served(const struct pw_engine *e, const uint64_t *dst,
		       int64_t num, long *udp_pod)
{
	unsigned protos = 0;

	for (size_t k = 0; k < e->npods; k++) {
		const struct pw_pod *p = e->pods[k].pod;

		if (!pw_bits_test(dst, k))
			continue;
		for (size_t i = 0; i < p->nports; i++) {
			if (p->ports[i].port != num)
				continue;
			protos |= 1u << p->ports[i].proto;
			if (p->ports[i].proto == PW_PROTO_UDP && *udp_pod < 0)
				*udp_pod = (long)k;
		}
	}
	return protos;
}

static bool svc_selects(const struct pw_service *s, const struct pw_pod *p)
{
	return s->has_selector && s->selector.n && !strcmp(s->ns, p->ns) &&
	       pw_selector_matches(&(struct pw_selector){ .match_labels =
								  s->selector },
				   &p->labels);
}

/* A destination pod Service s sends to; -1 when none. */
static long svc_backend(const struct pw_engine *e, const uint64_t *dst,
			const struct pw_service *s)
{
	for (size_t k = 0; k < e->npods; k++)
		if (pw_bits_test(dst, k) && svc_selects(s, e->pods[k].pod))
			return (long)k;
	return -1;
}

/* The same for Services: protocols of their ports whose target is num
 * on one of the destination pods. */
static unsigned svc_served(const struct pw_engine *e, const uint64_t *dst,
			   int64_t num, long *udp_pod)
{
	const struct pw_cluster *c = e->c;
	unsigned protos = 0;

	for (size_t i = 0; i < c->nsvcs; i++) {
		const struct pw_service *s = &c->svcs[i];
		long k = -1;

		for (size_t j = 0; j < s->nports; j++) {
			const struct pw_svc_port *sp = &s->ports[j];

			if (sp->target_named || sp->target_port != num ||
			    (k < 0 && (k = svc_backend(e, dst, s)) < 0))
				continue;
			protos |= 1u << sp->proto;
			if (sp->proto == PW_PROTO_UDP && *udp_pod < 0)
				*udp_pod = k;
		}
	}
	return protos;
}

static int proto_entry(struct lint_ctx *x, struct rule_ref *rr, size_t j)
{
	const struct pw_np_port *pp = &rr->r->ports[j];
	struct lint_witness w = { 0 };
	struct lint_where at;
	struct pw_path path;
	long udp = -1;
	unsigned protos;

	if (pp->proto_text || !pp->has_port || pp->named || pp->has_end)
		return 0;
	protos = served(x->e, rr->dst, pp->port, &udp) |
		 svc_served(x->e, rr->dst, pp->port, &udp);
	if (!(protos & (1u << PW_PROTO_UDP)) || (protos & (1u << PW_PROTO_TCP)))
		return 0;
	w.to = udp;
	w.from = other_side(x->e, rr, (size_t)udp);
	w.port = (struct pw_port){ (uint16_t)pp->port, PW_PROTO_UDP };
	at = port_where(rr, j, &path);
	return lint_report(x, &at, w.from >= 0 ? &w : NULL,
			   "port %lld has no protocol, so it means TCP, but "
			   "the %s pods serve it over UDP only (%s)",
			   (long long)pp->port,
			   rr->d == PW_DIR_INGRESS ? "selected" : "destination",
			   x->e->pods[udp].name);
}

static int proto_rule(struct lint_ctx *x, struct rule_ref *rr)
{
	int err = 0;

	for (size_t j = 0; !err && j < rr->r->nports; j++)
		err = proto_entry(x, rr, j);
	return err;
}

int lint_proto_default(struct lint_ctx *x)
{
	return each_rule(x, proto_rule);
}
