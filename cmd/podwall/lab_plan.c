// SPDX-License-Identifier: Apache-2.0
/*
 * What the lab builds, read from a finalized cluster: the nodes, the pods
 * on them and every address.
 *
 * This is the one file of the program that reads the cluster model
 * (lib/model.h) instead of the public API: libpodwall has no public
 * accessors yet for a pod's node, addresses and container ports, nor for
 * a Node's addresses and pod CIDRs. It only reads, except for one thing it
 * does on purpose: addresses the lab allocates are written into the pods
 * that had none, before the engine is built, so that the engine, the
 * rulesets and the traffic all see the same addresses. When public
 * accessors exist (docs/LAB.md lists the ones needed), this file is the
 * only one to change.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/model.h"
#include "lab.h"

/* Addresses in use, so that an allocated one never collides. */
struct used {
	struct lab_addr *v;
	size_t n, cap;
};

static int used_add(struct used *u, const struct lab_addr *a)
{
	struct lab_addr *v;

	if (u->n == u->cap) {
		v = realloc(u->v, (u->cap ? 2 * u->cap : 64) * sizeof(*v));
		if (!v)
			return -ENOMEM;
		u->v = v;
		u->cap = u->cap ? 2 * u->cap : 64;
	}
	u->v[u->n++] = *a;
	return 0;
}

static bool used_has(const struct used *u, const struct lab_addr *a)
{
	for (size_t i = 0; i < u->n; i++)
		if (!memcmp(&u->v[i], a, sizeof(*a)))
			return true;
	return false;
}

static struct lab_addr from_model(const struct pw_addr *m)
{
	struct lab_addr a = { .family = m->family };

	memcpy(a.b, m->b, sizeof(a.b));
	return a;
}

static struct lab_addr v4(uint32_t host)
{
	struct lab_addr a = { .family = 4 };

	a.b[0] = host >> 24;
	a.b[1] = host >> 16;
	a.b[2] = host >> 8;
	a.b[3] = host;
	return a;
}

void lab_addr_str(const struct lab_addr *a, char *buf, size_t len)
{
	if (!inet_ntop(a->family == 6 ? AF_INET6 : AF_INET, a->b, buf,
		       (socklen_t)len))
		snprintf(buf, len, "?");
}

/*
 * The first free address from base + first to base + last: allocation
 * walks a range and skips what the manifests or earlier allocations use.
 */
static int alloc4(struct used *u, uint32_t base, uint32_t first,
		  uint32_t last, struct lab_addr *out)
{
	for (uint32_t h = first; h <= last; h++) {
		*out = v4(base + h);
		if (!used_has(u, out))
			return used_add(u, out);
	}
	return -ENOSPC;
}

static const struct pw_node *find_node(const struct pw_cluster *c,
				       const char *name)
{
	for (size_t i = 0; name && i < c->nnodes; i++)
		if (!strcmp(c->nodes[i].name, name))
			return &c->nodes[i];
	return NULL;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Why a pod of the manifests is not built, or NULL when it is. Finished
 * pods are gone for policy purposes and not mentioned. */
static const char *not_built(const struct pw_pod *p, bool *quiet)
{
	*quiet = p->phase == PW_PHASE_SUCCEEDED || p->phase == PW_PHASE_FAILED;
	if (*quiet)
		return "finished";
	if (p->kind)
		return "a workload template has no address: not built";
	if (p->host_network)
		return "hostNetwork: node traffic, not in the matrix: "
		       "not built";
	return NULL;
}

static int add_note(struct lab_plan *plan, const struct pw_pod *p,
		    const char *why)
{
	struct lab_note *v;
	char *name;

	if (asprintf(&name, "%s/%s", p->ns, p->name) < 0)
		return -ENOMEM;
	v = realloc(plan->notes, (plan->nnotes + 1) * sizeof(*v));
	if (!v) {
		free(name);
		return -ENOMEM;
	}
	plan->notes = v;
	plan->notes[plan->nnotes++] = (struct lab_note){ name, why };
	return 0;
}

/* The nodes: every distinct spec.nodeName of a built pod, sorted, then
 * the default node when some pod has none. */
static int plan_nodes(struct lab_plan *plan, const struct pw_cluster *c)
{
	char **names = calloc(c->npods + 1, sizeof(*names));
	size_t n = 0, k = 0;
	bool dflt = false, quiet;

	if (!names)
		return -ENOMEM;
	for (size_t i = 0; i < c->npods; i++) {
		if (not_built(&c->pods[i], &quiet))
			continue;
		if (c->pods[i].node)
			names[n++] = c->pods[i].node;
		else
			dflt = true;
	}
	qsort(names, n, sizeof(*names), cmp_str);
	plan->nodes = calloc(n + 1, sizeof(*plan->nodes));
	if (!plan->nodes) {
		free(names);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		if (!k || strcmp(plan->nodes[k - 1].name, names[i]))
			plan->nodes[k++].name = strdup(names[i]);
	if (dflt)
		k++; /* name NULL */
	plan->nnodes = k;
	free(names);
	for (size_t i = 0; i < k; i++)
		if (i + 1 < k || !dflt)
			if (!plan->nodes[i].name)
				return -ENOMEM;
	return 0;
}

static size_t node_index(const struct lab_plan *plan, const char *name)
{
	for (size_t i = 0; i < plan->nnodes; i++)
		if (name && plan->nodes[i].name &&
		    !strcmp(plan->nodes[i].name, name))
			return i;
	return plan->nnodes - 1; /* the default node */
}

static int pod_fill(struct lab_pod *lp, const struct pw_pod *p,
		    struct used *u)
{
	size_t np = 0;
	int ret;

	if (asprintf(&lp->name, "%s/%s", p->ns, p->name) < 0) {
		lp->name = NULL;
		return -ENOMEM;
	}
	for (size_t i = 0; i < p->nips && i < 2; i++) {
		lp->ips[lp->nips] = from_model(&p->ips[i]);
		if (used_has(u, &lp->ips[lp->nips])) {
			fprintf(stderr,
				"podwall lab: pod %s: address used twice in "
				"the manifests\n",
				lp->name);
			return -EEXIST;
		}
		ret = used_add(u, &lp->ips[lp->nips++]);
		if (ret)
			return ret;
	}
	lp->ports = calloc(p->nports + 1, sizeof(*lp->ports));
	if (!lp->ports)
		return -ENOMEM;
	for (size_t i = 0; i < p->nports; i++)
		if (p->ports[i].port > 0 && p->ports[i].port <= 65535)
			lp->ports[np++] = (struct pw_port){
				(uint16_t)p->ports[i].port,
				(uint8_t)p->ports[i].proto
			};
	lp->nports = np;
	return 0;
}

static int plan_pods(struct lab_plan *plan, const struct pw_cluster *c,
		     struct used *u)
{
	const struct pw_pod *p;
	struct lab_pod *lp;
	const char *why;
	bool quiet;
	int ret;

	plan->pods = calloc(c->npods + 1, sizeof(*plan->pods));
	if (!plan->pods)
		return -ENOMEM;
	for (size_t i = 0; i < c->npods; i++) {
		p = &c->pods[i];
		why = not_built(p, &quiet);
		if (why) {
			ret = quiet ? 0 : add_note(plan, p, why);
			if (ret)
				return ret;
			continue;
		}
		lp = &plan->pods[plan->npods];
		lp->node = node_index(plan, p->node);
		snprintf(lp->netns, sizeof(lp->netns), "%s-p%zu", plan->id,
			 plan->npods);
		snprintf(lp->ifname, sizeof(lp->ifname), "p%zu", plan->npods);
		plan->npods++;
		ret = pod_fill(lp, p, u);
		if (ret)
			return ret;
	}
	return 0;
}

/* Node addresses: the Node's first IPv4 and IPv6 address when it gives
 * them, else one of 172.31.0.0/16 for IPv4. */
static int node_addrs(struct lab_plan *plan, const struct pw_cluster *c,
		      struct used *u)
{
	const struct pw_node *m;
	struct lab_node *n;
	bool has4;
	int ret;

	for (size_t k = 0; k < plan->nnodes; k++) {
		n = &plan->nodes[k];
		m = find_node(c, n->name);
		has4 = false;
		for (size_t i = 0; m && i < m->naddrs; i++) {
			struct lab_addr a = from_model(&m->addrs[i]);

			if (a.family == 4 && !has4 && !used_has(u, &a)) {
				n->addr4 = a;
				has4 = true;
			} else if (a.family == 6 && !n->has6 &&
				   !used_has(u, &a)) {
				n->addr6 = a;
				n->has6 = true;
			}
		}
		ret = has4 ? used_add(u, &n->addr4) : 0;
		if (n->has6 && !ret)
			ret = used_add(u, &n->addr6);
		if (!has4 && !ret)
			ret = alloc4(u, 0xac1f0000, 1, 0xfffe, &n->addr4);
		if (ret)
			return ret;
		n->ll6.family = 6;
		n->ll6.b[0] = 0xfe;
		n->ll6.b[1] = 0x80;
		n->ll6.b[13] = 0x0a;
		n->ll6.b[14] = (k + 1) >> 8;
		n->ll6.b[15] = (k + 1) & 0xff;
		snprintf(n->netns, sizeof(n->netns), "%s-n%zu", plan->id, k);
		snprintf(n->fabif, sizeof(n->fabif), "n%zu", k);
	}
	return 0;
}

/* The range a node's pods get addresses from: its first IPv4 podCIDR, or
 * 10.244.<k>.0/24 (10.244.0.0/14 in all). */
static void pod_range(const struct pw_cluster *c, const struct lab_node *n,
		      size_t k, uint32_t *base, uint32_t *last)
{
	const struct pw_node *m = find_node(c, n->name);
	uint32_t size;

	for (size_t i = 0; m && i < m->npod_cidrs; i++) {
		const struct pw_cidr *r = &m->pod_cidrs[i];

		if (r->addr.family != 4 || r->len > 30)
			continue;
		*base = (uint32_t)r->addr.b[0] << 24 | r->addr.b[1] << 16 |
			r->addr.b[2] << 8 | r->addr.b[3];
		size = r->len ? 1u << (32 - r->len) : 0xffffffffu;
		*last = size - 2;
		return;
	}
	*base = 0x0af40000 + ((uint32_t)(k % 1024) << 8);
	*last = 254;
}

/* Gives an address to every pod without one, and writes it into the
 * cluster's pod so that the engine sees it too. */
static int allocate(struct lab_plan *plan, struct pw_cluster *c,
		    struct used *u)
{
	uint32_t base, last;
	struct pw_pod *p;
	size_t j = 0;
	bool quiet;
	int ret;

	for (size_t i = 0; i < c->npods; i++) {
		p = &c->pods[i];
		if (not_built(p, &quiet))
			continue;
		struct lab_pod *lp = &plan->pods[j++];

		if (lp->nips)
			continue;
		pod_range(c, &plan->nodes[lp->node], lp->node, &base, &last);
		ret = alloc4(u, base, 2, last, &lp->ips[0]);
		if (ret) {
			fprintf(stderr,
				"podwall lab: pod %s: no free address left "
				"in its node's pod range\n",
				lp->name);
			return ret;
		}
		lp->nips = 1;
		lp->allocated = true;
		p->ips[0].family = 4;
		memcpy(p->ips[0].b, lp->ips[0].b, sizeof(p->ips[0].b));
		p->nips = 1;
	}
	return 0;
}

int lab_plan_build(struct lab_plan *plan, const char *id,
		   struct pw_cluster *c)
{
	struct used u = { 0 };
	int ret;

	memset(plan, 0, sizeof(*plan));
	snprintf(plan->id, sizeof(plan->id), "%s", id);
	snprintf(plan->fabric, sizeof(plan->fabric), "%s-f", id);
	ret = plan_nodes(plan, c);
	if (!ret)
		ret = plan_pods(plan, c, &u);
	if (!ret)
		ret = node_addrs(plan, c, &u);
	if (!ret)
		ret = allocate(plan, c, &u);
	free(u.v);
	if (ret)
		lab_plan_free(plan);
	return ret;
}

static int cmp_name_idx(const void *a, const void *b)
{
	return strcmp(((const struct lab_pod *)a)->name,
		      ((const struct lab_pod *)b)->name);
}

int lab_plan_bind(struct lab_plan *plan, const struct pw_engine *e)
{
	size_t n = pw_engine_pod_count(e);
	struct lab_pod key, *lp;

	/* The plan follows the cluster's order; the engine's is by name.
	 * Sort the plan by name too, so that both list pods alike. */
	qsort(plan->pods, plan->npods, sizeof(*plan->pods), cmp_name_idx);
	for (size_t i = 0; i < plan->npods; i++)
		plan->pods[i].eidx = (size_t)-1;
	for (size_t i = 0; i < n; i++) {
		key.name = (char *)pw_engine_pod_name(e, i);
		lp = bsearch(&key, plan->pods, plan->npods, sizeof(*lp),
			     cmp_name_idx);
		if (lp)
			lp->eidx = i;
	}
	for (size_t i = 0; i < plan->npods; i++)
		if (plan->pods[i].eidx == (size_t)-1)
			return -ENOENT;
	return 0;
}

void lab_plan_free(struct lab_plan *plan)
{
	for (size_t i = 0; i < plan->nnodes; i++)
		free(plan->nodes[i].name);
	for (size_t i = 0; i < plan->npods; i++) {
		free(plan->pods[i].name);
		free(plan->pods[i].ports);
	}
	for (size_t i = 0; i < plan->nnotes; i++)
		free(plan->notes[i].pod);
	free(plan->nodes);
	free(plan->pods);
	free(plan->notes);
	memset(plan, 0, sizeof(*plan));
}
