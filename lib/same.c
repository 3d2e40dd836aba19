// SPDX-License-Identifier: Apache-2.0
/*
 * Structural equality of model objects (model.h): whether two versions
 * of an object compile alike, field by field in the order written, with
 * positions, annotations and owners ignored. A policy rewritten into an
 * equivalent one (selector terms reordered) counts as different: that
 * costs its callers work, never a wrong answer. The diff (diff_sides.c)
 * and the incremental compiler (nft_live.c) use it to tell what changed;
 * the engine to class pods by their container ports.
 */
#include <string.h>

#include "model.h"

static bool str_same(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

bool pw_labels_same(const struct pw_labels *a, const struct pw_labels *b)
{
	if (a->n != b->n)
		return false;
	if (a->v == b->v)
		return true; /* shared from one unit */
	for (size_t i = 0; i < a->n; i++) /* sorted by key */
		if (strcmp(a->v[i].key, b->v[i].key) ||
		    strcmp(a->v[i].value, b->v[i].value))
			return false;
	return true;
}

bool pw_cports_same(const struct pw_pod *a, const struct pw_pod *b)
{
	if (a->nports != b->nports)
		return false;
	for (size_t i = 0; i < a->nports; i++)
		if (!str_same(a->ports[i].name, b->ports[i].name) ||
		    a->ports[i].port != b->ports[i].port ||
		    a->ports[i].proto != b->ports[i].proto)
			return false;
	return true;
}

static bool req_same(const struct pw_sel_req *a, const struct pw_sel_req *b)
{
	if (strcmp(a->key, b->key) || a->op != b->op ||
	    a->nvalues != b->nvalues)
		return false;
	for (size_t i = 0; i < a->nvalues; i++)
		if (strcmp(a->values[i], b->values[i]))
			return false;
	return true;
}

static bool selector_same(const struct pw_selector *a,
			  const struct pw_selector *b)
{
	if (!pw_labels_same(&a->match_labels, &b->match_labels) ||
	    a->nreqs != b->nreqs)
		return false;
	for (size_t i = 0; i < a->nreqs; i++)
		if (!req_same(&a->reqs[i], &b->reqs[i]))
			return false;
	return true;
}

static bool cidr_same(const struct pw_cidr *a, const struct pw_cidr *b)
{
	return a->len == b->len && a->addr.family == b->addr.family &&
	       !memcmp(a->addr.b, b->addr.b, sizeof(a->addr.b));
}

bool pw_ipblock_same(const struct pw_ipblock *a, const struct pw_ipblock *b)
{
	if (a->cidr_ok != b->cidr_ok || !cidr_same(&a->cidr, &b->cidr) ||
	    a->nexcept != b->nexcept)
		return false;
	for (size_t i = 0; i < a->nexcept; i++)
		if (a->except[i].ok != b->except[i].ok ||
		    !cidr_same(&a->except[i].cidr, &b->except[i].cidr))
			return false;
	return true;
}

static bool peer_same(const struct pw_peer *a, const struct pw_peer *b)
{
	return a->has_pod_sel == b->has_pod_sel &&
	       a->has_ns_sel == b->has_ns_sel &&
	       a->has_ipblock == b->has_ipblock &&
	       (!a->has_pod_sel || selector_same(&a->pod_sel, &b->pod_sel)) &&
	       (!a->has_ns_sel || selector_same(&a->ns_sel, &b->ns_sel)) &&
	       (!a->has_ipblock || pw_ipblock_same(&a->ipblock, &b->ipblock));
}

static bool port_same(const struct pw_np_port *a, const struct pw_np_port *b)
{
	return a->proto == b->proto && a->has_port == b->has_port &&
	       a->named == b->named && a->port == b->port &&
	       str_same(a->name, b->name) && a->has_end == b->has_end &&
	       a->end_port == b->end_port;
}

static bool rule_same(const struct pw_rule *a, const struct pw_rule *b)
{
	if (a->npeers != b->npeers || a->nports != b->nports)
		return false;
	for (size_t i = 0; i < a->npeers; i++)
		if (!peer_same(&a->peers[i], &b->peers[i]))
			return false;
	for (size_t i = 0; i < a->nports; i++)
		if (!port_same(&a->ports[i], &b->ports[i]))
			return false;
	return true;
}

bool pw_policy_same(const struct pw_policy *a, const struct pw_policy *b)
{
	if (a->has_pod_sel != b->has_pod_sel ||
	    !selector_same(&a->pod_sel, &b->pod_sel))
		return false;
	for (int d = 0; d < PW_DIR_NR; d++) {
		if (a->affects[d] != b->affects[d] ||
		    a->nrules[d] != b->nrules[d])
			return false;
		for (size_t k = 0; k < a->nrules[d]; k++)
			if (!rule_same(&a->rules[d][k], &b->rules[d][k]))
				return false;
	}
	return true;
}
