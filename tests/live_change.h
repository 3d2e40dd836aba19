/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Random objects and the changes of tests/test_live.c: each change
 * mutates the model one way (a pod relabelled, a policy's peer changed,
 * a namespace removed, ...) and says what it did. Included once, after
 * live_model.h, by test_live.c.
 */
#ifndef PW_TESTS_LIVE_CHANGE_H
#define PW_TESTS_LIVE_CHANGE_H

#include "live_model.h"

/* ---- random objects ----------------------------------------------------- */

static uint8_t rand_bundle(void)
{
	return pick(4) ? 0 : (uint8_t)(1 + pick(NBUNDLES));
}

/* A namespace for a new object: n3 only when it exists. */
static uint8_t rand_ns(const struct model *m)
{
	return (uint8_t)pick(m->ns[3].live ? 4 : 3);
}

static uint8_t rand_form(void)
{
	static const uint8_t forms[] = { ADDR_V4,   ADDR_V4,   ADDR_V4,
					 ADDR_V4,   ADDR_V4,   ADDR_V6,
					 ADDR_V4V6, ADDR_V6V4, ADDR_NONE };

	return forms[pick(NELEM(forms))];
}

/* A fresh address number: unique among live pods unless the range is
 * full (two pods on one address are a step of their own). A big
 * cluster's are dense, as a node's pod range is: its classes merge into
 * fewer intervals, and its renders stay small enough to compare often. */
static uint16_t fresh_addr(const struct model *m, bool v6)
{
	unsigned range = m->big ? 400 : v6 ? 600 : 1000, a = pick(range);

	for (int tries = 0; tries < 20; tries++) {
		bool used = false;

		for (unsigned i = 0; i < m->npods && !used; i++)
			used = m->pods[i].live &&
			       (v6 ? m->pods[i].a6 : m->pods[i].a4) == a;
		if (!used)
			break;
		a = pick(range);
	}
	return (uint16_t)a;
}

static void new_addrs(const struct model *m, struct m_pod *p)
{
	p->a4 = fresh_addr(m, false);
	p->a6 = fresh_addr(m, true);
}

static void rand_pod(const struct model *m, struct m_pod *p)
{
	memset(p, 0, sizeof(*p));
	p->live = true;
	p->kind = -1;
	p->ns = rand_ns(m);
	p->labels = (uint8_t)pick(NELEM(pod_labels));
	p->form = rand_form();
	new_addrs(m, p);
	p->node = pick(8) ? (int8_t)pick(MAX_NODES) : -1;
	p->host = !pick(15);
	p->phase = pick(8) ? 0 : (uint8_t)pick(NELEM(phases));
	p->ports = (uint8_t)pick(NELEM(cport_sets));
	p->bundle = rand_bundle();
}

static void rand_template(const struct model *m, struct m_pod *p)
{
	rand_pod(m, p);
	p->kind = (int8_t)pick(NELEM(kinds));
}

/*
 * Keeps only the fields the peer's kind writes, so that two peers differ
 * exactly when their manifests do. {namespaceSelector: X, podSelector:
 * {}} is {namespaceSelector: X}: the pair always has a podSelector that
 * selects, or a change between the two would be none.
 */
static void peer_fix(struct m_peer *pe)
{
	if (pe->kind != PEER_POD && pe->kind != PEER_BOTH)
		pe->pod_sel = 0;
	if (pe->kind != PEER_NS && pe->kind != PEER_BOTH)
		pe->ns_sel = 0;
	if (pe->kind != PEER_IPBLOCK)
		pe->block = 0;
	if (pe->kind == PEER_BOTH && !pe->pod_sel)
		pe->pod_sel = (uint8_t)(1 + pick(NELEM(pod_sels) - 1));
}

static void rand_peers(struct m_rule *r)
{
	r->npeers = (uint8_t)pick(MAX_PEERS + 1);
	for (size_t i = 0; i < r->npeers; i++) {
		struct m_peer *pe = &r->peers[i];
		unsigned k = pick(5);

		pe->kind = (uint8_t)(k < PEER_IPBLOCK ? k : PEER_IPBLOCK);
		pe->pod_sel = (uint8_t)pick(NELEM(pod_sels));
		pe->ns_sel = (uint8_t)pick(NELEM(ns_sels));
		pe->block = (uint8_t)pick(NELEM(blocks));
		peer_fix(pe);
	}
	for (size_t i = r->npeers; i < MAX_PEERS; i++)
		r->peers[i] = (struct m_peer){ 0 };
}

static void rand_ports(struct m_rule *r)
{
	r->nports = (uint8_t)pick(MAX_PORTS + 1);
	for (size_t i = 0; i < r->nports; i++) {
		struct m_port *pp = &r->ports[i];
		unsigned k = pick(5);

		pp->kind = (uint8_t)(k < PORT_NUM ? k : PORT_NUM);
		pp->proto = pick(3) ? PW_PROTO_TCP :
			    pick(4) ? PW_PROTO_UDP :
				      PW_PROTO_SCTP;
		pp->val = (uint8_t)pick(port_vals[pp->kind]);
	}
	for (size_t i = r->nports; i < MAX_PORTS; i++)
		r->ports[i] = (struct m_port){ 0 };
}

static void rand_policy(const struct model *m, struct m_pol *p)
{
	memset(p, 0, sizeof(*p));
	p->live = true;
	p->ns = rand_ns(m);
	p->sel = (uint8_t)pick(NELEM(pod_sels));
	p->types = (uint8_t)pick(NELEM(types));
	p->bundle = rand_bundle();
	for (int d = 0; d < PW_DIR_NR; d++) {
		p->nrules[d] = (uint8_t)pick(MAX_RULES);
		for (size_t i = 0; i < p->nrules[d]; i++) {
			rand_peers(&p->rules[d][i]);
			rand_ports(&p->rules[d][i]);
		}
	}
}

static void model_init(struct model *m, bool big)
{
	unsigned npods = big ? 280 + pick(40) : pick(21);
	unsigned npols = big ? 40 : pick(9);

	memset(m, 0, sizeof(*m));
	m->big = big;
	for (unsigned i = 0; i < 3; i++)
		m->ns[i] = (struct m_ns){ true, (uint8_t)pick(NELEM(ns_labels)),
					  rand_bundle() };
	for (unsigned i = 0; i < MAX_NODES; i++)
		m->nodes[i] = (struct m_node){ i < 2 || pick(2),
					       (uint8_t)pick(NELEM(node_cidrs)),
					       rand_bundle() };
	for (; m->npods < npods; m->npods++) {
		if (pick(10))
			rand_pod(m, &m->pods[m->npods]);
		else
			rand_template(m, &m->pods[m->npods]);
	}
	for (; m->npols < npols; m->npols++)
		rand_policy(m, &m->pols[m->npols]);
}

/* ---- changes -----------------------------------------------------------
 *
 * Each changes the model and says what it did in d; false when there was
 * nothing to change (no such object). A change that returns true changed
 * the cluster's content.
 */

enum pod_filter { POD_REAL, POD_MATRIX, POD_ADDRESSED, POD_TEMPLATE };

static bool pod_is(const struct m_pod *p, enum pod_filter f)
{
	bool real = p->kind < 0;

	switch (f) {
	case POD_REAL:
		return real;
	case POD_MATRIX: /* what the engine's matrix holds */
		return !real || (!p->host && p->phase < PHASE_FINISHED);
	case POD_ADDRESSED:
		return real && !p->host && p->form != ADDR_NONE;
	default:
		return !real;
	}
}

static int pick_pod(const struct model *m, enum pod_filter f)
{
	unsigned cand[MAX_PODS], n = 0;

	for (unsigned i = 0; i < m->npods; i++)
		if (m->pods[i].live && pod_is(&m->pods[i], f))
			cand[n++] = i;
	return n ? (int)cand[pick(n)] : -1;
}

static int pick_pol(const struct model *m, bool with_rule)
{
	unsigned cand[MAX_POLS], n = 0;

	for (unsigned i = 0; i < m->npols; i++)
		if (m->pols[i].live &&
		    (!with_rule || m->pols[i].nrules[0] + m->pols[i].nrules[1]))
			cand[n++] = i;
	return n ? (int)cand[pick(n)] : -1;
}

static bool add_pod_like(struct model *m, struct sbuf *d, bool tmpl)
{
	char name[48];

	if (m->npods >= MAX_PODS)
		return false;
	if (tmpl)
		rand_template(m, &m->pods[m->npods]);
	else
		rand_pod(m, &m->pods[m->npods]);
	pod_name(m, m->npods, name, sizeof(name));
	sb_printf(d, "add %s %s; ", tmpl ? "template" : "pod", name);
	m->npods++;
	return true;
}

static bool mut_pod_add(struct model *m, struct sbuf *d)
{
	return add_pod_like(m, d, false);
}

static bool mut_template_add(struct model *m, struct sbuf *d)
{
	return add_pod_like(m, d, true);
}

static bool remove_pod_like(struct model *m, struct sbuf *d, enum pod_filter f)
{
	int i = pick_pod(m, f);
	char name[48];

	if (i < 0)
		return false;
	m->pods[i].live = false;
	pod_name(m, (unsigned)i, name, sizeof(name));
	sb_printf(d, "remove %s; ", name);
	return true;
}

static bool mut_pod_remove(struct model *m, struct sbuf *d)
{
	return remove_pod_like(m, d, POD_REAL);
}

static bool mut_template_remove(struct model *m, struct sbuf *d)
{
	return remove_pod_like(m, d, POD_TEMPLATE);
}

/* Pod (or template) i's labels, to another set. */
static bool relabel(struct model *m, struct sbuf *d, int i)
{
	struct m_pod *p;
	uint8_t old;
	char name[48];

	if (i < 0)
		return false;
	p = &m->pods[i];
	old = p->labels;
	p->labels = pick_other(NELEM(pod_labels), old);
	pod_name(m, (unsigned)i, name, sizeof(name));
	sb_printf(d, "relabel %s {%s} -> {%s}; ", name, pod_labels[old],
		  pod_labels[p->labels]);
	return true;
}

static bool mut_pod_relabel(struct model *m, struct sbuf *d)
{
	return relabel(m, d, pick_pod(m, pick(4) ? POD_REAL : POD_TEMPLATE));
}

static const char *const form_names[ADDR_NR] = { "none", "IPv4", "IPv6",
						 "IPv4+IPv6", "IPv6+IPv4" };

static bool mut_pod_readdress(struct model *m, struct sbuf *d)
{
	int i = pick_pod(m, POD_REAL);
	char name[48], ips[2][48];
	struct m_pod *p;
	size_t n;

	if (i < 0)
		return false;
	p = &m->pods[i];
	p->form = pick(4) ? rand_form() : pick_other(ADDR_NR, p->form);
	new_addrs(m, p);
	n = pod_ips(p, ips);
	pod_name(m, (unsigned)i, name, sizeof(name));
	sb_printf(d, "new address %s: %s %s %s; ", name, form_names[p->form],
		  n ? ips[0] : "", n > 1 ? ips[1] : "");
	return true;
}

static bool mut_pod_move(struct model *m, struct sbuf *d)
{
	int i = pick_pod(m, POD_REAL);
	char name[48];
	struct m_pod *p;

	if (i < 0)
		return false;
	p = &m->pods[i];
	p->node = (int8_t)pick_other(MAX_NODES, p->node < 0 ? 0 : p->node);
	pod_name(m, (unsigned)i, name, sizeof(name));
	sb_printf(d, "move %s to %s; ", name, node_names[p->node]);
	return true;
}

static bool mut_pod_unschedule(struct model *m, struct sbuf *d)
{
	int i = pick_pod(m, POD_REAL);
	char name[48];

	if (i < 0 || m->pods[i].node < 0)
		return false;
	m->pods[i].node = -1;
	if (pick(2))
		m->pods[i].form = ADDR_NONE;
	pod_name(m, (unsigned)i, name, sizeof(name));
	sb_printf(d, "unschedule %s%s; ", name,
		  m->pods[i].form == ADDR_NONE ? " (no address)" : "");
	return true;
}

static bool mut_pod_host(struct model *m, struct sbuf *d)
{
	int i = pick_pod(m, POD_REAL);
	char name[48];

	if (i < 0)
		return false;
	m->pods[i].host = !m->pods[i].host;
	pod_name(m, (unsigned)i, name, sizeof(name));
	sb_printf(d, "hostNetwork %s %s; ", m->pods[i].host ? "on" : "off",
		  name);
	return true;
}

static bool mut_pod_phase(struct model *m, struct sbuf *d)
{
	int i = pick_pod(m, POD_REAL);
	char name[48];
	struct m_pod *p;

	if (i < 0)
		return false;
	p = &m->pods[i];
	/* Mostly to and from Succeeded/Failed, the phases that matter. */
	if (p->phase >= PHASE_FINISHED)
		p->phase = pick(3) ? 0 : pick_other(NELEM(phases), p->phase);
	else
		p->phase = pick(4) ? (uint8_t)(PHASE_FINISHED + pick(2)) :
				     pick_other(PHASE_FINISHED, p->phase);
	pod_name(m, (unsigned)i, name, sizeof(name));
	sb_printf(d, "phase %s %s; ", name, phases[p->phase].text);
	return true;
}

static bool mut_pod_ports(struct model *m, struct sbuf *d)
{
	int i = pick_pod(m, pick(4) ? POD_REAL : POD_TEMPLATE);
	char name[48];

	if (i < 0)
		return false;
	m->pods[i].ports = pick_other(NELEM(cport_sets), m->pods[i].ports);
	pod_name(m, (unsigned)i, name, sizeof(name));
	sb_printf(d, "container ports %s set %u; ", name, m->pods[i].ports);
	return true;
}

/* A namespace for an object that was in ns, other than ns. */
static uint8_t other_ns(const struct model *m, uint8_t ns)
{
	unsigned n = m->ns[3].live ? 4 : 3;

	return ns < n ? pick_other(n, ns) : (uint8_t)pick(n);
}

/* Deleted and created again in another namespace, with the same name,
 * labels and addresses (a pod) or rules (a policy). */
static bool mut_pod_other_ns(struct model *m, struct sbuf *d)
{
	int i = pick_pod(m, pick(4) ? POD_REAL : POD_TEMPLATE);
	char from[48], to[48];

	if (i < 0)
		return false;
	pod_name(m, (unsigned)i, from, sizeof(from));
	m->pods[i].ns = other_ns(m, m->pods[i].ns);
	pod_name(m, (unsigned)i, to, sizeof(to));
	sb_printf(d, "%s is now %s; ", from, to);
	return true;
}

static bool mut_template_kind(struct model *m, struct sbuf *d)
{
	int i = pick_pod(m, POD_TEMPLATE);
	char from[48], to[48];

	if (i < 0)
		return false;
	pod_name(m, (unsigned)i, from, sizeof(from));
	m->pods[i].kind = (int8_t)pick_other(NELEM(kinds), m->pods[i].kind);
	pod_name(m, (unsigned)i, to, sizeof(to));
	sb_printf(d, "%s is now %s; ", from, to);
	return true;
}

/* A second pod takes the addresses of a first one. */
static bool mut_pod_same_addr(struct model *m, struct sbuf *d)
{
	int a = pick_pod(m, POD_ADDRESSED), b = pick_pod(m, POD_REAL);
	char na[48], nb[48];

	if (a < 0 || b < 0 || a == b)
		return false;
	m->pods[b].form = m->pods[a].form;
	m->pods[b].a4 = m->pods[a].a4;
	m->pods[b].a6 = m->pods[a].a6;
	m->pods[b].host = false;
	pod_name(m, (unsigned)a, na, sizeof(na));
	pod_name(m, (unsigned)b, nb, sizeof(nb));
	sb_printf(d, "%s takes the addresses of %s; ", nb, na);
	return true;
}

static bool mut_ns_add(struct model *m, struct sbuf *d)
{
	unsigned cand[MAX_NS], n = 0;

	for (unsigned i = 0; i < MAX_NS; i++)
		if (!m->ns[i].live)
			cand[n++] = i;
	if (!n)
		return false;
	n = cand[pick(n)];
	m->ns[n] = (struct m_ns){ true, (uint8_t)pick(NELEM(ns_labels)),
				  rand_bundle() };
	sb_printf(d, "add namespace n%u {%s}; ", n, ns_labels[m->ns[n].labels]);
	return true;
}

/* Mostly with its pods and policies, as the API server deletes them;
 * else they stay, in a namespace that is only referenced. */
static bool mut_ns_remove(struct model *m, struct sbuf *d)
{
	unsigned cand[MAX_NS], n = 0;
	bool all = pick(3);

	for (unsigned i = 0; i < MAX_NS; i++)
		if (m->ns[i].live)
			cand[n++] = i;
	if (!n)
		return false;
	n = cand[pick(n)];
	m->ns[n].live = false;
	for (unsigned i = 0; all && i < m->npods; i++)
		if (m->pods[i].ns == n)
			m->pods[i].live = false;
	for (unsigned i = 0; all && i < m->npols; i++)
		if (m->pols[i].ns == n)
			m->pols[i].live = false;
	sb_printf(d, "remove namespace n%u%s; ", n,
		  all ? " with its objects" : " (objects stay)");
	return true;
}

static bool mut_ns_relabel(struct model *m, struct sbuf *d)
{
	unsigned cand[MAX_NS], n = 0;
	uint8_t old;

	for (unsigned i = 0; i < MAX_NS; i++)
		if (m->ns[i].live)
			cand[n++] = i;
	if (!n)
		return false;
	n = cand[pick(n)];
	old = m->ns[n].labels;
	m->ns[n].labels = pick_other(NELEM(ns_labels), old);
	sb_printf(d, "relabel namespace n%u {%s} -> {%s}; ", n, ns_labels[old],
		  ns_labels[m->ns[n].labels]);
	return true;
}

/* The policy the last policy change touched: a step that changes one
 * policy changes the namespaces too when that policy's is only
 * referenced (it comes or goes with the policy). */
static int last_pol;

static bool mut_pol_add(struct model *m, struct sbuf *d)
{
	if (m->npols >= MAX_POLS)
		return false;
	rand_policy(m, &m->pols[m->npols]);
	last_pol = (int)m->npols;
	sb_printf(d, "add policy n%u/pol%u; ", m->pols[m->npols].ns, m->npols);
	m->npols++;
	return true;
}

static bool mut_pol_remove(struct model *m, struct sbuf *d)
{
	int i = pick_pol(m, false);

	if (i < 0)
		return false;
	m->pols[i].live = false;
	last_pol = i;
	sb_printf(d, "remove policy n%u/pol%d; ", m->pols[i].ns, i);
	return true;
}

static bool mut_pol_other_ns(struct model *m, struct sbuf *d)
{
	int i = pick_pol(m, false);
	unsigned from;

	if (i < 0)
		return false;
	from = m->pols[i].ns;
	m->pols[i].ns = other_ns(m, (uint8_t)from);
	sb_printf(d, "policy n%u/pol%d is now in n%u; ", from, i,
		  m->pols[i].ns);
	return true;
}

static bool mut_pol_selector(struct model *m, struct sbuf *d)
{
	int i = pick_pol(m, false);

	if (i < 0)
		return false;
	m->pols[i].sel = pick_other(NELEM(pod_sels), m->pols[i].sel);
	last_pol = i;
	sb_printf(d, "policy n%u/pol%d podSelector '%s'; ", m->pols[i].ns, i,
		  pod_sels[m->pols[i].sel].fx);
	return true;
}

static bool mut_pol_types(struct model *m, struct sbuf *d)
{
	int i = pick_pol(m, false);
	const char *t;

	if (i < 0)
		return false;
	m->pols[i].types = pick_other(NELEM(types), m->pols[i].types);
	t = types[m->pols[i].types].fx;
	sb_printf(d, "policy n%u/pol%d policyTypes %s; ", m->pols[i].ns, i,
		  t ? t : "(absent)");
	return true;
}

/* A rule of a policy that has one: *pol, *dir, *rule. */
static bool pick_rule(const struct model *m, int *pol, int *dir, int *rule)
{
	const struct m_pol *p;

	*pol = pick_pol(m, true);
	if (*pol < 0)
		return false;
	p = &m->pols[*pol];
	*dir = p->nrules[0] && (!p->nrules[1] || pick(2)) ? 0 : 1;
	*rule = (int)pick(p->nrules[*dir]);
	return true;
}

static const char *const dir_names[PW_DIR_NR] = { "ingress", "egress" };

/* Regenerates a part of a rule until it differs. */
static bool change_rule(struct model *m, struct sbuf *d, bool peers)
{
	struct m_rule *r, old;
	int p, dir, k;

	if (!pick_rule(m, &p, &dir, &k))
		return false;
	r = &m->pols[p].rules[dir][k];
	old = *r;
	last_pol = p;
	for (int tries = 0; tries < 20 && !memcmp(&old, r, sizeof(old));
	     tries++) {
		if (peers)
			rand_peers(r);
		else
			rand_ports(r);
	}
	if (!memcmp(&old, r, sizeof(old)))
		return false;
	sb_printf(d, "policy n%u/pol%d %s[%d] %s (%u of them); ", m->pols[p].ns,
		  p, dir_names[dir], k, peers ? "peers" : "ports",
		  peers ? r->npeers : r->nports);
	return true;
}

static bool mut_rule_peers(struct model *m, struct sbuf *d)
{
	return change_rule(m, d, true);
}

static bool mut_rule_ports(struct model *m, struct sbuf *d)
{
	return change_rule(m, d, false);
}

/* Another block with the same range when there is one (its exceptions
 * alone change), else any other. */
static uint8_t other_block(uint8_t old)
{
	unsigned cand[NELEM(blocks)], n = 0;

	for (unsigned i = 0; i < NELEM(blocks); i++)
		if (i != old && !strcmp(blocks[i].cidr, blocks[old].cidr))
			cand[n++] = i;
	return n && pick(4) ? (uint8_t)cand[pick(n)] :
			      pick_other(NELEM(blocks), old);
}

/* One field of one peer: the smallest change a policy can see. */
static bool mut_peer_field(struct model *m, struct sbuf *d)
{
	static const char *const what[] = { "podSelector", "namespaceSelector",
					    "ipBlock", "kind" };
	int p, dir, k;
	unsigned w = pick(NELEM(what)), j;
	struct m_peer *pe;
	struct m_rule *r;

	if (!pick_rule(m, &p, &dir, &k))
		return false;
	r = &m->pols[p].rules[dir][k];
	if (!r->npeers)
		return false;
	j = pick(r->npeers);
	pe = &r->peers[j];
	/* the field the peer's kind writes */
	if (w == 0 && pe->kind != PEER_POD && pe->kind != PEER_BOTH)
		w = pe->kind == PEER_NS ? 1 : 2;
	if (w == 1 && pe->kind != PEER_NS && pe->kind != PEER_BOTH)
		w = pe->kind == PEER_POD ? 0 : 2;
	if (w == 2 && pe->kind != PEER_IPBLOCK)
		w = 3;
	if (w == 0 && pe->kind == PEER_BOTH)
		pe->pod_sel =
			1 + pick_other(NELEM(pod_sels) - 1, pe->pod_sel - 1u);
	else if (w == 0)
		pe->pod_sel = pick_other(NELEM(pod_sels), pe->pod_sel);
	else if (w == 1)
		pe->ns_sel = pick_other(NELEM(ns_sels), pe->ns_sel);
	else if (w == 2)
		pe->block = other_block(pe->block);
	else
		pe->kind = pick_other(PEER_KIND_NR, pe->kind);
	peer_fix(pe);
	last_pol = p;
	sb_printf(d, "policy n%u/pol%d %s[%d] peer %u %s; ", m->pols[p].ns, p,
		  dir_names[dir], k, j, what[w]);
	return true;
}

/* Another range with the same start when there is one (endPort alone
 * changes), else any other. */
static uint8_t other_range(uint8_t old)
{
	unsigned cand[NELEM(port_ranges)], n = 0;

	for (unsigned i = 0; i < NELEM(port_ranges); i++)
		if (i != old && port_ranges[i][0] == port_ranges[old][0])
			cand[n++] = i;
	return n && pick(4) ? (uint8_t)cand[pick(n)] :
			      pick_other(NELEM(port_ranges), old);
}

/* One field of one port: protocol, value or kind. */
static bool mut_port_field(struct model *m, struct sbuf *d)
{
	static const char *const what[] = { "protocol", "port", "kind" };
	int p, dir, k;
	unsigned w = pick(NELEM(what)), j;
	struct m_port *pp;
	struct m_rule *r;

	if (!pick_rule(m, &p, &dir, &k))
		return false;
	r = &m->pols[p].rules[dir][k];
	if (!r->nports)
		return false;
	j = pick(r->nports);
	pp = &r->ports[j];
	if (pp->kind == PORT_RANGE && pick(2))
		w = 1;
	if (w == 1 && port_vals[pp->kind] < 2)
		w = 0;
	if (w == 0) {
		pp->proto = pick_other(PW_PROTO_NR, pp->proto);
	} else if (w == 1 && pp->kind == PORT_RANGE) {
		pp->val = other_range(pp->val);
	} else if (w == 1) {
		pp->val = pick_other(port_vals[pp->kind], pp->val);
	} else {
		pp->kind = pick_other(PORT_KIND_NR, pp->kind);
		pp->val = (uint8_t)pick(port_vals[pp->kind]);
	}
	last_pol = p;
	sb_printf(d, "policy n%u/pol%d %s[%d] port %u %s; ", m->pols[p].ns, p,
		  dir_names[dir], k, j, what[w]);
	return true;
}

static bool mut_rule_add_remove(struct model *m, struct sbuf *d)
{
	int i = pick_pol(m, false), dir = (int)pick(PW_DIR_NR);
	struct m_pol *p;

	if (i < 0)
		return false;
	p = &m->pols[i];
	last_pol = i;
	if (p->nrules[dir] && (p->nrules[dir] == MAX_RULES || pick(2))) {
		unsigned k = pick(p->nrules[dir]);

		memmove(&p->rules[dir][k], &p->rules[dir][k + 1],
			(p->nrules[dir] - k - 1) * sizeof(p->rules[dir][0]));
		p->nrules[dir]--;
		memset(&p->rules[dir][p->nrules[dir]], 0,
		       sizeof(p->rules[dir][0]));
		sb_printf(d, "policy n%u/pol%d remove %s[%u]; ", p->ns, i,
			  dir_names[dir], k);
		return true;
	}
	rand_peers(&p->rules[dir][p->nrules[dir]]);
	rand_ports(&p->rules[dir][p->nrules[dir]]);
	sb_printf(d, "policy n%u/pol%d add %s[%u]; ", p->ns, i, dir_names[dir],
		  p->nrules[dir]);
	p->nrules[dir]++;
	return true;
}

static bool mut_node_add_remove(struct model *m, struct sbuf *d)
{
	unsigned i = pick(MAX_NODES);

	m->nodes[i].live = !m->nodes[i].live;
	sb_printf(d, "%s node %s; ", m->nodes[i].live ? "add" : "remove",
		  node_names[i]);
	return true;
}

static bool mut_node_cidrs(struct model *m, struct sbuf *d)
{
	unsigned i = pick(MAX_NODES);

	if (!m->nodes[i].live)
		return false;
	m->nodes[i].cidrs = pick_other(NELEM(node_cidrs), m->nodes[i].cidrs);
	sb_printf(d, "node %s podCIDRs '%s'; ", node_names[i],
		  node_cidrs[m->nodes[i].cidrs]);
	return true;
}

/* An object moves between its own text and a bundle: its content is the
 * same, its pointers new (and its bundle's others' too). */
static bool mut_rebundle(struct model *m, struct sbuf *d)
{
	uint8_t *bundle;
	char name[48];
	int i;

	switch (pick(3)) {
	case 0:
		i = pick_pod(m, pick(2) ? POD_REAL : POD_TEMPLATE);
		if (i < 0)
			return false;
		bundle = &m->pods[i].bundle;
		pod_name(m, (unsigned)i, name, sizeof(name));
		break;
	case 1:
		i = pick_pol(m, false);
		if (i < 0)
			return false;
		bundle = &m->pols[i].bundle;
		snprintf(name, sizeof(name), "policy n%u/pol%d", m->pols[i].ns,
			 i);
		break;
	default:
		i = (int)pick(MAX_NS);
		if (!m->ns[i].live)
			return false;
		bundle = &m->ns[i].bundle;
		snprintf(name, sizeof(name), "namespace n%d", i);
	}
	*bundle = pick_other(NBUNDLES + 1, *bundle);
	sb_printf(d, "%s moves to %s%u (same content); ", name,
		  *bundle ? "bundle" : "its own text", *bundle);
	return true;
}

/* Everything replaced by a new random cluster, its names the old ones. */
static bool mut_reset(struct model *m, struct sbuf *d)
{
	model_init(m, m->big);
	sb_printf(d, "a new cluster (%u pods, %u policies); ", m->npods,
		  m->npols);
	return true;
}

struct mutation {
	const char *name;
	bool (*fn)(struct model *m, struct sbuf *d);
	bool policy; /* changes one policy alone */
};

static const struct mutation mutations[] = {
	{ "pod added", mut_pod_add, false },
	{ "pod removed", mut_pod_remove, false },
	{ "pod relabelled", mut_pod_relabel, false },
	{ "pod address", mut_pod_readdress, false },
	{ "pod moved", mut_pod_move, false },
	{ "pod unscheduled", mut_pod_unschedule, false },
	{ "pod hostNetwork", mut_pod_host, false },
	{ "pod phase", mut_pod_phase, false },
	{ "pod container ports", mut_pod_ports, false },
	{ "two pods one address", mut_pod_same_addr, false },
	{ "pod to another namespace", mut_pod_other_ns, false },
	{ "template kind", mut_template_kind, false },
	{ "template added", mut_template_add, false },
	{ "template removed", mut_template_remove, false },
	{ "namespace added", mut_ns_add, false },
	{ "namespace removed", mut_ns_remove, false },
	{ "namespace relabelled", mut_ns_relabel, false },
	{ "policy added", mut_pol_add, true },
	{ "policy removed", mut_pol_remove, true },
	{ "policy to another namespace", mut_pol_other_ns, false },
	{ "policy podSelector", mut_pol_selector, true },
	{ "policy policyTypes", mut_pol_types, false },
	{ "rule peers", mut_rule_peers, true },
	{ "rule ports", mut_rule_ports, true },
	{ "one peer's field", mut_peer_field, true },
	{ "one port's field", mut_port_field, true },
	{ "rule added or removed", mut_rule_add_remove, true },
	{ "node added or removed", mut_node_add_remove, false },
	{ "node podCIDRs", mut_node_cidrs, false },
	{ "object moved between texts", mut_rebundle, false },
	{ "whole cluster replaced", mut_reset, false },
};
#define RESET_MUTATION (NELEM(mutations) - 1)

static unsigned applied[NELEM(mutations)];

/* One change from the table (policy: only those that change one policy
 * alone); the whole cluster is replaced rarely. */
static bool mutate(struct model *m, struct sbuf *d, bool policy)
{
	for (int tries = 0; tries < 20; tries++) {
		unsigned k = pick(NELEM(mutations) - 1);

		if (!policy && !pick(80))
			k = RESET_MUTATION;
		if (policy && !mutations[k].policy)
			continue;
		if (mutations[k].fn(m, d)) {
			applied[k]++;
			return true;
		}
	}
	return false;
}

#endif
