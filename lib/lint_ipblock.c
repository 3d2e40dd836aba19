// SPDX-License-Identifier: Apache-2.0
/*
 * PW010: an ipBlock that covers addresses inside the cluster: a pod's
 * address, part of a node's pod network (spec.podCIDRs), or a Service's
 * cluster IP. ipBlock is meant for the outside; inside, what it matches
 * depends on the network plugin, and cluster IPs are translated before
 * any policy sees the packet.
 */
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "lint_rules.h"

/* Whether prefix n is excluded as a whole by one of b's excepts. */
static bool excepted(const struct pw_ipblock *b, const struct pw_cidr *n)
{
	for (size_t i = 0; i < b->nexcept; i++)
		if (b->except[i].ok && pw_cidr_within(n, &b->except[i].cidr))
			return true;
	return false;
}

/* Whether b reaches into the pod network n. */
static bool covers_cidr(const struct pw_ipblock *b, const struct pw_cidr *n)
{
	if (b->cidr.addr.family != n->addr.family)
		return false;
	if (pw_cidr_within(n, &b->cidr))
		return !excepted(b, n);
	return pw_cidr_within(&b->cidr, n) && !excepted(b, &b->cidr);
}

/* A matrix pod with an address in the block: the engine's sets of the
 * ipBlock, one per address view, hold them already. -1 when none. */
static long covered_pod(const struct pw_engine *e, const struct pw_peerset *s)
{
	for (size_t w = 0; w < e->words; w++) {
		uint64_t b = s->bits[PW_VIEW_V4][w] | s->bits[PW_VIEW_V6][w];

		if (b)
			return (long)(w * 64 + (size_t)__builtin_ctzll(b));
	}
	return -1;
}

/* What a block covers: a pod (pod >= 0), or an address of a Service
 * (addr), or a node's pod network; `what` says it in words. */
struct covered {
	long pod;
	char addr[PW_ADDR_STRLEN];
	char what[200];
};

static bool covers_pod(const struct pw_engine *e, const struct pw_ipblock *b,
		       const struct pw_peerset *set, struct covered *cv)
{
	long k = covered_pod(e, set);

	for (size_t i = 0; k >= 0 && i < e->pods[k].pod->nips; i++) {
		const struct pw_addr *ip = &e->pods[k].pod->ips[i];

		if (!pw_ipblock_matches(b, ip))
			continue;
		cv->pod = k;
		pw_addr_format(ip, cv->addr, sizeof(cv->addr));
		snprintf(cv->what, sizeof(cv->what), "the address %s of pod %s",
			 cv->addr, e->pods[k].name);
		return true;
	}
	return false;
}

static bool covers_node(const struct pw_cluster *c, const struct pw_ipblock *b,
			struct covered *cv)
{
	char net[PW_ADDR_STRLEN];

	for (size_t i = 0; i < c->nnodes; i++) {
		for (size_t j = 0; j < c->nodes[i].npod_cidrs; j++) {
			if (!covers_cidr(b, &c->nodes[i].pod_cidrs[j]))
				continue;
			pw_cidr_format(&c->nodes[i].pod_cidrs[j], net,
				       sizeof(net));
			snprintf(cv->what, sizeof(cv->what),
				 "the pod network %s of node %s", net,
				 c->nodes[i].name);
			return true;
		}
	}
	return false;
}

static bool covers_svc(const struct pw_cluster *c, const struct pw_ipblock *b,
		       struct covered *cv)
{
	for (size_t i = 0; i < c->nsvcs; i++) {
		for (size_t j = 0; j < c->svcs[i].ncluster_ips; j++) {
			if (!pw_ipblock_matches(b, &c->svcs[i].cluster_ips[j]))
				continue;
			pw_addr_format(&c->svcs[i].cluster_ips[j], cv->addr,
				       sizeof(cv->addr));
			snprintf(cv->what, sizeof(cv->what),
				 "the cluster IP %s of service %s/%s", cv->addr,
				 c->svcs[i].ns, c->svcs[i].name);
			return true;
		}
	}
	return false;
}

/* Pods first: they make the best witness. */
static bool block_covers(const struct pw_engine *e, const struct pw_ipblock *b,
			 const struct pw_peerset *set, struct covered *cv)
{
	cv->pod = -1;
	cv->addr[0] = '\0';
	return covers_pod(e, b, set, cv) || covers_svc(e->c, b, cv) ||
	       covers_node(e->c, b, cv);
}

/*
 * The witness: the covered pod on the peer side and a pod the policy
 * selects on the other; for egress to a Service IP, that address as the
 * destination (the connection the rule was written for, which the
 * translation to a pod address makes it miss).
 */
static bool block_witness(const struct pw_engine *e, const struct pw_policy *p,
			  int d, const struct pw_rule *r,
			  const struct covered *cv, struct lint_witness *w)
{
	long sel = -1;
	size_t lo, hi;

	if (cv->pod < 0 && (d == PW_DIR_INGRESS || !cv->addr[0]))
		return false;
	if (!lint_ns_pods(e, p->ns, &lo, &hi))
		return false;
	for (size_t k = lo; k < hi && sel < 0; k++)
		if ((long)k != cv->pod && lint_selects(e, p, k))
			sel = (long)k;
	if (sel < 0)
		return false;
	w->from = d == PW_DIR_INGRESS ? cv->pod : sel;
	w->to = d == PW_DIR_INGRESS ? sel : cv->pod;
	w->to_text = cv->addr;
	return lint_rule_port(r, w->to >= 0 ? e->pods[w->to].pod : NULL, w);
}

static int block_peer(struct lint_ctx *x, const struct lint_rule_ref *rr,
		      size_t j)
{
	const struct pw_policy *p = rr->p;
	const struct pw_rule *r = rr->r;
	int d = rr->d;
	const struct pw_ipblock *b = &r->peers[j].ipblock;
	struct lint_witness w = { 0 };
	struct lint_where at;
	struct pw_path path;
	struct covered cv;

	if (!r->peers[j].has_ipblock || !b->cidr_ok)
		return 0;
	if (!block_covers(x->e, b, lint_peer_set(x->e, rr->erule, j), &cv))
		return 0;
	lint_rule_path(&path, d, rr->k, (long)j, -1);
	pw_path_push(&path, "ipBlock");
	at = lint_at_policy(p, &b->pos, path.buf);
	return lint_report(x, &at,
			   block_witness(x->e, p, d, r, &cv, &w) ? &w : NULL,
			   "ipBlock %s covers %s: ipBlock is for addresses "
			   "outside the cluster",
			   b->cidr_text ? b->cidr_text : "", cv.what);
}

static int block_rule(struct lint_ctx *x, const struct lint_rule_ref *rr,
		      void *arg)
{
	int err = 0;

	for (size_t j = 0; !err && j < rr->r->npeers; j++)
		err = block_peer(x, rr, j);
	return err;
}

int lint_ipblock_pods(struct lint_ctx *x)
{
	return lint_each_rule(x, false, block_rule, NULL);
}
