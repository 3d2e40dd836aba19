/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The cluster model of tests/test_live.c: a seeded random generator, the
 * model's objects, their manifests, and the two ways of building a
 * cluster from the model (parsed units, as podwalld's store holds them,
 * and by hand with the engine fixture). Included once, by test_live.c.
 */
#ifndef PW_TESTS_LIVE_MODEL_H
#define PW_TESTS_LIVE_MODEL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_fixture.h"
#include <podwall/podwall.h>

/* ---- random numbers ------------------------------------------------- */

#define TEST_RNG_SEED 1 /* each sequence seeds its own (rng_seed) */
#include "rng.h"

/* splitmix64 of the seed: close seeds give unrelated, non-zero states. */
static void rng_seed(uint64_t seed)
{
	uint64_t z = seed + 0x9e3779b97f4a7c15ULL;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	rng_state = (z ^ (z >> 31)) | 1;
}

/* A value below n other than old (n > 1). */
static uint8_t pick_other(unsigned n, unsigned old)
{
	return (uint8_t)((old + 1 + pick(n - 1)) % n);
}

#define NELEM(a) ((unsigned)PW_ARRAY_SIZE(a))

/* ---- a growing string ----------------------------------------------- */

struct sbuf {
	char *s;
	size_t n, cap;
};

static void sb_printf(struct sbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (len < 0)
		fx_die("format", fmt);
	if (b->n + (size_t)len + 1 > b->cap) {
		size_t cap = 2 * (b->n + (size_t)len + 1);
		char *s = realloc(b->s, cap);

		if (!s)
			fx_die("text", "out of memory");
		b->s = s;
		b->cap = cap;
	}
	va_start(ap, fmt);
	vsnprintf(b->s + b->n, b->cap - b->n, fmt, ap);
	va_end(ap);
	b->n += (size_t)len;
}

static void sb_reset(struct sbuf *b)
{
	b->n = 0;
	if (b->s)
		b->s[0] = '\0';
}

/* ---- what clusters are made of --------------------------------------- */

/* A selector as the fixture reads it and as a manifest writes it. */
struct sel {
	const char *fx, *yaml;
};

static const char *const ns_labels[] = { "", "team=a", "team=b", "team=a,env=x",
					 "env=y" };
static const char *const pod_labels[] = {
	"", "app=a", "app=b", "app=c", "app=a,tier=1", "app=b,tier=2"
};
static const struct sel pod_sels[] = {
	{ "", "{}" },
	{ "app=a", "{matchLabels: {app: a}}" },
	{ "app in (a,b)",
	  "{matchExpressions: [{key: app, operator: In, values: [a, b]}]}" },
	{ "!tier",
	  "{matchExpressions: [{key: tier, operator: DoesNotExist}]}" },
	{ "ml:app=b,tier=2", "{matchLabels: {app: b, tier: '2'}}" },
	{ "tier notin (1)",
	  "{matchExpressions: [{key: tier, operator: NotIn, values: ['1']}]}" },
	{ "ml:app=c", "{matchLabels: {app: c}}" },
	{ "app", "{matchExpressions: [{key: app, operator: Exists}]}" },
	{ "app=zz", "{matchLabels: {app: zz}}" },
};
static const struct sel ns_sels[] = {
	{ "", "{}" },
	{ "team=a", "{matchLabels: {team: a}}" },
	{ "ml:team=b", "{matchLabels: {team: b}}" },
	{ "team in (a,b)",
	  "{matchExpressions: [{key: team, operator: In, values: [a, b]}]}" },
	{ "!env", "{matchExpressions: [{key: env, operator: DoesNotExist}]}" },
	{ "kubernetes.io/metadata.name in (n0,n2)",
	  "{matchExpressions: [{key: kubernetes.io/metadata.name, "
	  "operator: In, values: [n0, n2]}]}" },
	{ "ml:kubernetes.io/metadata.name=n1",
	  "{matchLabels: {kubernetes.io/metadata.name: n1}}" },
	{ "env notin (x)",
	  "{matchExpressions: [{key: env, operator: NotIn, values: [x]}]}" },
};
static const struct {
	const char *cidr, *except; /* except: comma-separated */
} blocks[] = {
	{ "10.0.0.0/16", "10.0.1.0/24" },
	{ "10.0.2.0/24", NULL },
	{ "fd00::/64", "fd00::100/120" },
	{ "192.168.0.0/24", "192.168.0.2/32" },
	{ "0.0.0.0/0", "10.0.0.0/8" },
	{ "::/0", NULL },
	{ "10.0.0.0/8", "10.0.0.0/25,10.0.3.0/24" },
	/* the same ranges with other exceptions */
	{ "10.0.0.0/16", NULL },
	{ "10.0.0.0/16", "10.0.1.0/24,10.0.2.128/25" },
	{ "fd00::/64", NULL },
	{ "0.0.0.0/0", "10.0.0.0/9" },
};
static const struct sel types[] = {
	{ NULL, NULL },
	{ "Ingress", "[Ingress]" },
	{ "Egress", "[Egress]" },
	{ "Ingress,Egress", "[Ingress, Egress]" },
	{ "Egress,Ingress", "[Egress, Ingress]" },
};

/* Indexed by enum pw_proto. */
static const char *const proto_names[PW_PROTO_NR] = {
	[PW_PROTO_TCP] = "TCP",
	[PW_PROTO_UDP] = "UDP",
	[PW_PROTO_SCTP] = "SCTP",
};

/* A NetworkPolicy port: every port of a protocol, a range, a name, a
 * number. */
enum { PORT_ALL, PORT_RANGE, PORT_NAMED, PORT_NUM, PORT_KIND_NR };
static const int port_nums[] = { 80, 8080, 53, 8000, 5353 };
static const int port_ranges[][2] = {
	{ 8000, 8080 }, { 50, 60 }, { 1, 1024 }, { 8000, 8443 }, { 1, 60 },
};
static const char *const port_names[] = { "http", "dns" };
static const unsigned port_vals[PORT_KIND_NR] = {
	[PORT_ALL] = 1,
	[PORT_RANGE] = NELEM(port_ranges),
	[PORT_NAMED] = NELEM(port_names),
	[PORT_NUM] = NELEM(port_nums),
};

/* Container ports of a pod, a table of sets (num 0 ends a set). */
struct cport {
	const char *name;
	int num;
	enum pw_proto proto;
};
#define MAX_CPORTS 2
static const struct cport cport_sets[][MAX_CPORTS] = {
	{ { NULL, 0, PW_PROTO_TCP } },
	{ { "http", 80, PW_PROTO_TCP } },
	{ { "http", 8080, PW_PROTO_TCP }, { "dns", 53, PW_PROTO_UDP } },
	{ { "dns", 53, PW_PROTO_TCP } },
	{ { NULL, 8000, PW_PROTO_TCP }, { "http", 80, PW_PROTO_TCP } },
	{ { "dns", 5353, PW_PROTO_UDP }, { NULL, 53, PW_PROTO_UDP } },
	{ { "http", 8001, PW_PROTO_TCP }, { "dns", 53, PW_PROTO_TCP } },
	{ { NULL, 3868, PW_PROTO_SCTP }, { "dns", 53, PW_PROTO_SCTP } },
};

static const struct {
	const char *text;
	enum pw_phase phase;
} phases[] = {
	{ "Running", PW_PHASE_RUNNING },
	{ "Pending", PW_PHASE_PENDING },
	{ "Succeeded", PW_PHASE_SUCCEEDED },
	{ "Failed", PW_PHASE_FAILED },
};
#define PHASE_FINISHED 2 /* phases from here on are gone */

static const char *const kinds[] = { "Deployment", "StatefulSet" };

#define MAX_NODES 3
static const char *const node_names[MAX_NODES] = { "node1", "node2", "node3" };
static const char *const node_addrs[MAX_NODES] = { "192.168.0.1",
						   "192.168.0.2,fd00::ff02",
						   "192.168.0.3" };
static const char *const node_cidrs[] = { "", "10.0.0.0/24",
					  "10.0.1.0/24,fd00::/120",
					  "10.0.0.0/23", "fd00::100/120" };

/* ---- the model ----------------------------------------------------------
 *
 * Plain values that index the tables above, so that a step changes a
 * field and both builders write the same cluster from it. Objects are
 * never moved: a pod's index is its name (p<index>, w<index> for a
 * workload template), a removed object only loses `live`.
 */

#define MAX_NS 4 /* n0..n3; n3 only appears when a namespace is added */
#define MAX_PODS 400
#define MAX_POLS 64
#define MAX_RULES 3
#define MAX_PEERS 3
#define MAX_PORTS 3
#define NBUNDLES 3 /* files of several manifests; 0: a text of its own */

enum { ADDR_NONE, ADDR_V4, ADDR_V6, ADDR_V4V6, ADDR_V6V4, ADDR_NR };
enum { PEER_POD, PEER_NS, PEER_BOTH, PEER_IPBLOCK, PEER_KIND_NR };

struct m_ns {
	bool live;
	uint8_t labels, bundle;
};

struct m_node {
	bool live;
	uint8_t cidrs, bundle;
};

struct m_pod {
	bool live, host;
	uint8_t ns, labels, form, phase, ports, bundle;
	int8_t node; /* -1: not scheduled */
	int8_t kind; /* -1: a Pod, else a workload template of kinds[] */
	uint16_t a4, a6; /* address numbers, see pod_ips() */
};

struct m_peer {
	uint8_t kind, pod_sel, ns_sel, block;
};

struct m_port {
	uint8_t kind, proto, val;
};

struct m_rule {
	uint8_t npeers, nports;
	struct m_peer peers[MAX_PEERS];
	struct m_port ports[MAX_PORTS];
};

struct m_pol {
	bool live;
	uint8_t ns, sel, types, bundle;
	uint8_t nrules[PW_DIR_NR];
	struct m_rule rules[PW_DIR_NR][MAX_RULES];
};

struct model {
	struct m_ns ns[MAX_NS];
	struct m_node nodes[MAX_NODES];
	struct m_pod pods[MAX_PODS];
	struct m_pol pols[MAX_POLS];
	unsigned npods, npols; /* indices used so far */
	bool big;
};

/* The pod's addresses as text, in status.podIPs order; how many. */
static size_t pod_ips(const struct m_pod *p, char out[2][48])
{
	static const uint8_t fams[ADDR_NR][2] = {
		[ADDR_V4] = { 4 },
		[ADDR_V6] = { 6 },
		[ADDR_V4V6] = { 4, 6 },
		[ADDR_V6V4] = { 6, 4 },
	};
	size_t n = 0;

	if (p->kind >= 0)
		return 0;
	if (p->host) {
		snprintf(out[0], 48, "192.168.0.%d",
			 p->node >= 0 ? p->node + 1 : 9);
		return 1;
	}
	for (size_t i = 0; i < 2 && fams[p->form][i]; i++, n++) {
		if (fams[p->form][i] == 4)
			snprintf(out[n], 48, "10.0.%u.%u", p->a4 / 250u,
				 p->a4 % 250u + 1);
		else
			snprintf(out[n], 48, "fd00::%x", 0xf0u + p->a6);
	}
	return n;
}

static void pod_name(const struct model *m, unsigned i, char *buf, size_t len)
{
	const struct m_pod *p = &m->pods[i];

	if (p->kind < 0)
		snprintf(buf, len, "n%u/p%u", p->ns, i);
	else
		snprintf(buf, len, "n%u/w%u[%s]", p->ns, i, kinds[p->kind]);
}

/* ---- manifests ---------------------------------------------------------- */

/* "k=v,k2=v2" as a flow mapping, on one line: a relabelled object keeps
 * the positions of everything after it in its text. */
static void yaml_labels(struct sbuf *b, const char *text)
{
	const char *p = text;

	sb_printf(b, "{");
	while (*p) {
		size_t k = strcspn(p, "="), v = strcspn(p + k + 1, ",");

		sb_printf(b, "%s%.*s: '%.*s'", p == text ? "" : ", ", (int)k, p,
			  (int)v, p + k + 1);
		p += k + 1 + v;
		if (*p == ',')
			p++;
	}
	sb_printf(b, "}");
}

static void yaml_cports(struct sbuf *b, unsigned set, const char *indent)
{
	const struct cport *cp = cport_sets[set];

	if (!cp[0].num)
		return;
	sb_printf(b, "%sports: [", indent);
	for (size_t i = 0; i < MAX_CPORTS && cp[i].num; i++) {
		sb_printf(b, "%s{", i ? ", " : "");
		if (cp[i].name)
			sb_printf(b, "name: %s, ", cp[i].name);
		sb_printf(b, "containerPort: %d, protocol: %s}", cp[i].num,
			  proto_names[cp[i].proto]);
	}
	sb_printf(b, "]\n");
}

static void yaml_template(struct sbuf *b, const struct m_pod *p, unsigned id)
{
	sb_printf(b,
		  "apiVersion: apps/v1\nkind: %s\nmetadata:\n  name: w%u\n"
		  "  namespace: n%u\nspec:\n  template:\n    metadata:\n"
		  "      labels: ",
		  kinds[p->kind], id, p->ns);
	yaml_labels(b, pod_labels[p->labels]);
	sb_printf(b, "\n    spec:\n      containers:\n      - name: c\n");
	yaml_cports(b, p->ports, "        ");
}

static void yaml_pod(struct sbuf *b, const struct m_pod *p, unsigned id)
{
	char ips[2][48];
	size_t n = pod_ips(p, ips);

	if (p->kind >= 0) {
		yaml_template(b, p, id);
		return;
	}
	sb_printf(b,
		  "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p%u\n"
		  "  namespace: n%u\n  labels: ",
		  id, p->ns);
	yaml_labels(b, pod_labels[p->labels]);
	sb_printf(b, "\nspec:\n");
	if (p->node >= 0)
		sb_printf(b, "  nodeName: %s\n", node_names[p->node]);
	if (p->host)
		sb_printf(b, "  hostNetwork: true\n");
	sb_printf(b, "  containers:\n  - name: c\n");
	yaml_cports(b, p->ports, "    ");
	sb_printf(b, "status:\n  phase: %s\n", phases[p->phase].text);
	if (!n)
		return;
	sb_printf(b, "  podIPs: [");
	for (size_t i = 0; i < n; i++)
		sb_printf(b, "%s{ip: '%s'}", i ? ", " : "", ips[i]);
	sb_printf(b, "]\n");
}

static void yaml_ns(struct sbuf *b, const struct m_ns *ns, unsigned id)
{
	sb_printf(b,
		  "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: n%u\n"
		  "  labels: ",
		  id);
	yaml_labels(b, ns_labels[ns->labels]);
	sb_printf(b, "\n");
}

/* "a,b" as a flow sequence of quoted items. */
static void yaml_list(struct sbuf *b, const char *text)
{
	const char *p = text;

	sb_printf(b, "[");
	while (*p) {
		size_t n = strcspn(p, ",");

		sb_printf(b, "%s'%.*s'", p == text ? "" : ", ", (int)n, p);
		p += n + (p[n] == ',');
	}
	sb_printf(b, "]");
}

static void yaml_node(struct sbuf *b, const struct m_node *n, unsigned id)
{
	sb_printf(b, "apiVersion: v1\nkind: Node\nmetadata:\n  name: %s\n",
		  node_names[id]);
	if (*node_cidrs[n->cidrs]) {
		sb_printf(b, "spec:\n  podCIDRs: ");
		yaml_list(b, node_cidrs[n->cidrs]);
		sb_printf(b, "\n");
	}
	sb_printf(b, "status:\n  addresses: [");
	for (const char *p = node_addrs[id]; *p;) {
		size_t len = strcspn(p, ",");

		sb_printf(b, "%s{type: InternalIP, address: '%.*s'}",
			  p == node_addrs[id] ? "" : ", ", (int)len, p);
		p += len + (p[len] == ',');
	}
	sb_printf(b, "]\n");
}

static void yaml_peer(struct sbuf *b, const struct m_peer *pe)
{
	switch (pe->kind) {
	case PEER_POD:
		sb_printf(b, "{podSelector: %s}", pod_sels[pe->pod_sel].yaml);
		break;
	case PEER_NS:
		sb_printf(b, "{namespaceSelector: %s}",
			  ns_sels[pe->ns_sel].yaml);
		break;
	case PEER_BOTH:
		sb_printf(b, "{podSelector: %s, namespaceSelector: %s}",
			  pod_sels[pe->pod_sel].yaml, ns_sels[pe->ns_sel].yaml);
		break;
	default:
		sb_printf(b, "{ipBlock: {cidr: '%s'", blocks[pe->block].cidr);
		if (blocks[pe->block].except) {
			sb_printf(b, ", except: ");
			yaml_list(b, blocks[pe->block].except);
		}
		sb_printf(b, "}}");
	}
}

static void yaml_port(struct sbuf *b, const struct m_port *pp)
{
	sb_printf(b, "{protocol: %s", proto_names[pp->proto]);
	switch (pp->kind) {
	case PORT_RANGE:
		sb_printf(b, ", port: %d, endPort: %d", port_ranges[pp->val][0],
			  port_ranges[pp->val][1]);
		break;
	case PORT_NAMED:
		sb_printf(b, ", port: %s", port_names[pp->val]);
		break;
	case PORT_NUM:
		sb_printf(b, ", port: %d", port_nums[pp->val]);
		break;
	}
	sb_printf(b, "}");
}

/* One rule on one line: its changes move nothing after it. */
static void yaml_rule(struct sbuf *b, const struct m_rule *r, enum pw_dir d)
{
	sb_printf(b, "  - {");
	if (r->npeers) {
		sb_printf(b, "%s: [", d == PW_DIR_INGRESS ? "from" : "to");
		for (size_t i = 0; i < r->npeers; i++) {
			sb_printf(b, "%s", i ? ", " : "");
			yaml_peer(b, &r->peers[i]);
		}
		sb_printf(b, "]%s", r->nports ? ", " : "");
	}
	if (r->nports) {
		sb_printf(b, "ports: [");
		for (size_t i = 0; i < r->nports; i++) {
			sb_printf(b, "%s", i ? ", " : "");
			yaml_port(b, &r->ports[i]);
		}
		sb_printf(b, "]");
	}
	sb_printf(b, "}\n");
}

static void yaml_pol(struct sbuf *b, const struct m_pol *p, unsigned id)
{
	static const char *const dirs[PW_DIR_NR] = { "ingress", "egress" };

	sb_printf(b,
		  "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
		  "metadata:\n  name: pol%u\n  namespace: n%u\nspec:\n"
		  "  podSelector: %s\n",
		  id, p->ns, pod_sels[p->sel].yaml);
	if (types[p->types].yaml)
		sb_printf(b, "  policyTypes: %s\n", types[p->types].yaml);
	for (int d = 0; d < PW_DIR_NR; d++) {
		if (p->nrules[d])
			sb_printf(b, "  %s:\n", dirs[d]);
		for (size_t i = 0; i < p->nrules[d]; i++)
			yaml_rule(b, &p->rules[d][i], (enum pw_dir)d);
	}
}

/* ---- building from units -------------------------------------------------
 *
 * One text per slot: each object has a slot of its own, and each bundle
 * one; an object in a bundle leaves its own slot empty.
 */

#define SLOT_NODE MAX_NS
#define SLOT_POD (SLOT_NODE + MAX_NODES)
#define SLOT_POL (SLOT_POD + MAX_PODS)
#define SLOT_BUNDLE (SLOT_POL + MAX_POLS)
#define NSLOTS (SLOT_BUNDLE + NBUNDLES)

struct slot {
	char *text; /* what u was parsed from */
	struct pw_unit *u;
};

struct units {
	struct slot v[NSLOTS];
	struct sbuf next[NSLOTS]; /* this step's texts */
	size_t parsed; /* units made */
};

/* Where an object's manifest goes: its own text or its bundle's. */
static struct sbuf *text_of(struct sbuf *t, size_t own, unsigned bundle)
{
	struct sbuf *b = bundle ? &t[SLOT_BUNDLE + bundle - 1] : &t[own];

	if (b->n)
		sb_printf(b, "---\n");
	return b;
}

static void model_texts(const struct model *m, struct sbuf *t)
{
	for (size_t s = 0; s < NSLOTS; s++)
		sb_reset(&t[s]);
	for (unsigned i = 0; i < MAX_NS; i++)
		if (m->ns[i].live)
			yaml_ns(text_of(t, i, m->ns[i].bundle), &m->ns[i], i);
	for (unsigned i = 0; i < MAX_NODES; i++)
		if (m->nodes[i].live)
			yaml_node(text_of(t, SLOT_NODE + i, m->nodes[i].bundle),
				  &m->nodes[i], i);
	for (unsigned i = 0; i < m->npods; i++)
		if (m->pods[i].live)
			yaml_pod(text_of(t, SLOT_POD + i, m->pods[i].bundle),
				 &m->pods[i], i);
	for (unsigned i = 0; i < m->npols; i++)
		if (m->pols[i].live)
			yaml_pol(text_of(t, SLOT_POL + i, m->pols[i].bundle),
				 &m->pols[i], i);
}

static void slot_name(size_t s, char *buf, size_t len)
{
	if (s >= SLOT_BUNDLE)
		snprintf(buf, len, "bundle%zu.yaml", s - SLOT_BUNDLE + 1);
	else
		snprintf(buf, len, "object%zu.yaml", s);
}

static void print_diags(const struct pw_diags *d)
{
	char buf[512];

	for (size_t i = 0; i < pw_diags_count(d); i++) {
		pw_diag_format(pw_diags_get(d, i), buf, sizeof(buf));
		printf("  %s\n", buf);
	}
}

/* A text the generator wrote must parse: if not, the test is wrong. */
static struct pw_unit *unit_of(size_t s, const struct sbuf *t)
{
	struct pw_diags *d = pw_diags_new();
	struct pw_unit *u;
	char name[32];

	slot_name(s, name, sizeof(name));
	u = d ? pw_unit_new(name, t->s, t->n, d) : NULL;
	if (!u) {
		print_diags(d);
		printf("%s:\n%s", name, t->s);
		fx_die("unit does not load", name);
	}
	pw_diags_free(d);
	return u;
}

static void slot_clear(struct slot *sl)
{
	pw_unit_free(sl->u);
	free(sl->text);
	sl->u = NULL;
	sl->text = NULL;
}

/* Units for texts that changed (every text when force), the others'
 * shared; the cluster of them all. */
static struct pw_cluster *units_build(struct units *u, const struct model *m,
				      bool force)
{
	struct pw_cluster *c = pw_cluster_new();
	struct pw_diags *d = pw_diags_new();

	if (!c || !d)
		fx_die("cluster", "out of memory");
	model_texts(m, u->next);
	for (size_t s = 0; s < NSLOTS; s++) {
		struct slot *sl = &u->v[s];
		struct sbuf *t = &u->next[s];

		if (!t->n) {
			slot_clear(sl);
			continue;
		}
		if (sl->text && !force && !strcmp(sl->text, t->s))
			continue;
		slot_clear(sl);
		sl->u = unit_of(s, t);
		sl->text = fx_strdup(t->s);
		u->parsed++;
	}
	for (size_t s = 0; s < NSLOTS; s++)
		if (u->v[s].u && pw_cluster_add_unit(c, u->v[s].u))
			fx_die("add unit", "failed");
	if (pw_cluster_finalize(c, d)) {
		print_diags(d);
		fx_die("cluster", "does not finalize");
	}
	pw_diags_free(d);
	return c;
}

static void units_clear(struct units *u)
{
	for (size_t s = 0; s < NSLOTS; s++) {
		slot_clear(&u->v[s]);
		free(u->next[s].s);
		u->next[s] = (struct sbuf){ NULL, 0, 0 };
	}
}

/* ---- building by hand ----------------------------------------------- */

static void fx_build_pod(struct pw_cluster *c, const struct m_pod *p,
			 unsigned id)
{
	char name[32], ips[2][48], joined[100];
	size_t n = pod_ips(p, ips);
	const struct cport *cp = cport_sets[p->ports];
	struct pw_pod *pod;

	snprintf(joined, sizeof(joined), "%s%s%s", n ? ips[0] : "",
		 n > 1 ? "," : "", n > 1 ? ips[1] : "");
	snprintf(name, sizeof(name), "n%u/%c%u", p->ns, p->kind < 0 ? 'p' : 'w',
		 id);
	if (p->kind >= 0) {
		pod = fx_pod(c, name, pod_labels[p->labels], NULL, NULL);
		pod->kind = kinds[p->kind];
		pod->phase = PW_PHASE_NONE;
	} else {
		pod = fx_pod(c, name, pod_labels[p->labels], joined,
			     p->node >= 0 ? node_names[p->node] : NULL);
		pod->host_network = p->host;
		pod->phase = phases[p->phase].phase;
	}
	for (size_t i = 0; i < MAX_CPORTS && cp[i].num; i++)
		fx_cport(pod, cp[i].name, cp[i].num, cp[i].proto);
}

static void fx_build_rule(struct pw_rule *r, const struct m_rule *m)
{
	for (size_t i = 0; i < m->npeers; i++) {
		const struct m_peer *pe = &m->peers[i];
		const char *ps = pod_sels[pe->pod_sel].fx;
		const char *ns = ns_sels[pe->ns_sel].fx;

		if (pe->kind == PEER_IPBLOCK)
			fx_peer_ip(r, blocks[pe->block].cidr,
				   blocks[pe->block].except);
		else
			fx_peer(r, pe->kind == PEER_NS ? NULL : ps,
				pe->kind == PEER_POD ? NULL : ns);
	}
	for (size_t i = 0; i < m->nports; i++) {
		const struct m_port *pp = &m->ports[i];
		enum pw_proto proto = pp->proto;

		if (pp->kind == PORT_ALL)
			fx_port(r, proto, 0, 0);
		else if (pp->kind == PORT_RANGE)
			fx_port(r, proto, port_ranges[pp->val][0],
				port_ranges[pp->val][1]);
		else if (pp->kind == PORT_NAMED)
			fx_port_named(r, proto, port_names[pp->val]);
		else
			fx_port(r, proto, port_nums[pp->val], 0);
	}
}

static void fx_build_pol(struct pw_cluster *c, const struct m_pol *p,
			 unsigned id)
{
	struct pw_policy *pol;
	char name[32];

	snprintf(name, sizeof(name), "n%u/pol%u", p->ns, id);
	pol = fx_pol(c, name, pod_sels[p->sel].fx, types[p->types].fx);
	/* Where it is "written": the same from step to step, as an
	 * unchanged text's positions. */
	pol->pos.line = id + 1;
	for (int d = 0; d < PW_DIR_NR; d++)
		for (size_t i = 0; i < p->nrules[d]; i++)
			fx_build_rule(fx_rule(pol, (enum pw_dir)d),
				      &p->rules[d][i]);
}

static void fx_build_node(struct pw_cluster *c, const struct m_node *n,
			  unsigned id)
{
	char *copy, *save = NULL;
	struct pw_node *node;

	fx_node(c, node_names[id], node_addrs[id]);
	node = &c->nodes[c->nnodes - 1];
	node->pod_cidrs = calloc(2, sizeof(*node->pod_cidrs));
	if (!node->pod_cidrs)
		fx_die("node", "out of memory");
	copy = fx_strdup(node_cidrs[n->cidrs]);
	for (char *s = strtok_r(copy, ",", &save); s;
	     s = strtok_r(NULL, ",", &save))
		fx_cidr(s, &node->pod_cidrs[node->npod_cidrs++]);
	free(copy);
}

static struct pw_cluster *fixture_build(const struct model *m)
{
	struct pw_cluster *c = fx_new();

	for (unsigned i = 0; i < MAX_NS; i++) {
		char name[8];

		snprintf(name, sizeof(name), "n%u", i);
		if (m->ns[i].live)
			fx_ns(c, name, ns_labels[m->ns[i].labels]);
	}
	for (unsigned i = 0; i < MAX_NODES; i++)
		if (m->nodes[i].live)
			fx_build_node(c, &m->nodes[i], i);
	for (unsigned i = 0; i < m->npods; i++)
		if (m->pods[i].live)
			fx_build_pod(c, &m->pods[i], i);
	for (unsigned i = 0; i < m->npols; i++)
		if (m->pols[i].live)
			fx_build_pol(c, &m->pols[i], i);
	fx_finalize(c);
	return c;
}

/* fx_free() does not know the pod ranges fx_build_node() added. */
static void fixture_free(struct pw_cluster *c)
{
	for (size_t i = 0; c && i < c->nnodes; i++)
		free(c->nodes[i].pod_cidrs);
	fx_free(c);
}

enum builder { B_UNITS, B_FIXTURE, B_NR };
static const char *const builder_names[B_NR] = { "units", "fixture" };

static struct pw_cluster *build(enum builder b, struct units *u,
				const struct model *m, bool force)
{
	return b == B_UNITS ? units_build(u, m, force) : fixture_build(m);
}

static void cluster_free(enum builder b, struct pw_cluster *c)
{
	if (b == B_UNITS)
		pw_cluster_free(c);
	else
		fixture_free(c);
}

#endif
