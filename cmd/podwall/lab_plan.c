// SPDX-License-Identifier: Apache-2.0
/*
 * What the lab builds, read from a finalized cluster: the nodes, the pods
 * on them and every address.
 *
 * It reads the cluster through the public accessors of podwall/cluster.h
 * and changes it in one way, on purpose: the addresses the lab allocates,
 * and its default node, are given to the pods that had none
 * (pw_cluster_pod_assign) before the engine is built, so that the engine,
 * the rulesets and the traffic all see the same addresses.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static struct lab_addr lab_addr_of(const struct pw_addr *m)
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
static int alloc4(struct used *u, uint32_t base, uint32_t first, uint32_t last,
		  struct lab_addr *out)
{
	for (uint32_t h = first; h <= last; h++) {
		*out = v4(base + h);
		if (!used_has(u, out))
			return used_add(u, out);
	}
	return -ENOSPC;
}

/* The pod ranges of the Node named name (NULL: none), in *n; a new
 * array, or NULL with *n 0 when it has none or memory ran out. */
static struct pw_cidr *node_cidrs(const struct pw_cluster *c, const char *name,
				  size_t *n)
{
	struct pw_cidr *v;

	*n = name ? pw_cluster_node_pod_cidrs(c, name, NULL, 0) : 0;
	v = *n ? calloc(*n, sizeof(*v)) : NULL;
	if (!v)
		*n = 0;
	else
		pw_cluster_node_pod_cidrs(c, name, v, *n);
	return v;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Why a pod of the manifests is not built, or NULL when it is. Finished
 * pods are gone for policy purposes and not mentioned. */
static const char *not_built(const struct pw_cluster *c, size_t i, bool *quiet)
{
	*quiet = pw_cluster_pod_finished(c, i);
	if (*quiet)
		return "finished";
	if (pw_cluster_pod_kind(c, i))
		return "a workload template has no address";
	if (pw_cluster_pod_host_network(c, i))
		return "hostNetwork: node traffic, not in the matrix";
	return NULL;
}

static int add_note(struct lab_plan *plan, const struct pw_cluster *c, size_t i,
		    const char *why)
{
	const char *kind = pw_cluster_pod_kind(c, i);
	struct lab_note *v;
	char *name;

	/* Named as the engine names pods and templates: "ns/name[Kind]". */
	if (asprintf(&name, "%s/%s%s%s%s", pw_cluster_pod_namespace(c, i),
		     pw_cluster_pod_name(c, i), kind ? "[" : "",
		     kind ? kind : "", kind ? "]" : "") < 0)
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

size_t lab_plan_node(const struct lab_plan *plan, const char *name)
{
	size_t i = 0;

	while (i < plan->nnodes && strcmp(plan->nodes[i].name, name))
		i++;
	return i;
}

size_t lab_plan_pod(const struct lab_plan *plan, const char *name)
{
	size_t i = 0;

	while (i < plan->npods && strcmp(plan->pods[i].name, name))
		i++;
	return i;
}

/* Node ids: a node of prev keeps its own, the others take the next ones
 * after prev's highest (without prev: their positions). */
static void keep_node_ids(struct lab_plan *plan, const struct lab_plan *prev)
{
	unsigned next = 0;
	size_t j;

	for (j = 0; prev && j < prev->nnodes; j++)
		if (prev->nodes[j].k >= next)
			next = prev->nodes[j].k + 1;
	for (size_t i = 0; i < plan->nnodes; i++) {
		j = prev ? lab_plan_node(prev, plan->nodes[i].name) : 0;
		plan->nodes[i].k = prev && j < prev->nnodes ? prev->nodes[j].k :
							      next++;
	}
}

/* The same for pods, after plan_pods. */
static void keep_pod_ids(struct lab_plan *plan, const struct lab_plan *prev)
{
	unsigned next = 0;
	size_t j;

	for (j = 0; prev && j < prev->npods; j++)
		if (prev->pods[j].k >= next)
			next = prev->pods[j].k + 1;
	for (size_t i = 0; i < plan->npods; i++) {
		j = prev ? lab_plan_pod(prev, plan->pods[i].name) : 0;
		plan->pods[i].k = prev && j < prev->npods ? prev->pods[j].k :
							    next++;
	}
}

static void name_node(const struct lab_plan *plan, struct lab_node *n)
{
	n->ll6 = (struct lab_addr){ .family = 6 };
	n->ll6.b[0] = 0xfe;
	n->ll6.b[1] = 0x80;
	n->ll6.b[13] = 0x0a;
	n->ll6.b[14] = (n->k + 1) >> 8;
	n->ll6.b[15] = (n->k + 1) & 0xff;
	snprintf(n->netns, sizeof(n->netns), "%s-n%u", plan->id, n->k);
	snprintf(n->fabif, sizeof(n->fabif), "n%u", n->k);
}

void lab_plan_names(struct lab_plan *plan)
{
	snprintf(plan->fabric, sizeof(plan->fabric), "%s-f", plan->id);
	for (size_t j = 0; j < plan->nnodes; j++)
		name_node(plan, &plan->nodes[j]);
	for (size_t i = 0; i < plan->npods; i++) {
		struct lab_pod *p = &plan->pods[i];

		snprintf(p->netns, sizeof(p->netns), "%s-p%u", plan->id, p->k);
		snprintf(p->ifname, sizeof(p->ifname), "p%u", p->k);
	}
}

/* The nodes: every distinct spec.nodeName of a built pod, sorted, then
 * the default node when some pod has none. */
static int plan_nodes(struct lab_plan *plan, const struct pw_cluster *c,
		      const struct lab_plan *prev)
{
	size_t npods = pw_cluster_count(c, PW_KIND_POD), n = 0, k = 0;
	const char **names = calloc(npods + 1, sizeof(*names));
	bool dflt = false, quiet;

	if (!names)
		return -ENOMEM;
	for (size_t i = 0; i < npods; i++) {
		if (not_built(c, i, &quiet))
			continue;
		names[n] = pw_cluster_pod_node(c, i);
		if (names[n])
			n++;
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
	/* Pods without spec.nodeName share a node of the lab's own. */
	if (dflt &&
	    asprintf(&plan->nodes[k++].name, "%s-default", plan->id) < 0)
		plan->nodes[k - 1].name = NULL;
	plan->nnodes = k;
	free(names);
	for (size_t i = 0; i < k; i++)
		if (!plan->nodes[i].name)
			return -ENOMEM;
	keep_node_ids(plan, prev);
	return 0;
}

static size_t node_index(const struct lab_plan *plan, const char *name)
{
	for (size_t i = 0; i < plan->nnodes; i++)
		if (name && !strcmp(plan->nodes[i].name, name))
			return i;
	return plan->nnodes - 1; /* the default node */
}

static int pod_fill(struct lab_pod *lp, const struct pw_cluster *c, size_t pi,
		    struct used *u)
{
	struct pw_addr ips[2];
	size_t nips = pw_cluster_pod_addrs(c, pi, ips, 2);
	int ret;

	if (asprintf(&lp->name, "%s/%s", pw_cluster_pod_namespace(c, pi),
		     pw_cluster_pod_name(c, pi)) < 0) {
		lp->name = NULL;
		return -ENOMEM;
	}
	for (size_t i = 0; i < nips && i < 2; i++) {
		lp->ips[lp->nips] = lab_addr_of(&ips[i]);
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
	lp->nports = pw_cluster_pod_ports(c, pi, NULL, 0);
	lp->ports = calloc(lp->nports + 1, sizeof(*lp->ports));
	if (!lp->ports)
		return -ENOMEM;
	pw_cluster_pod_ports(c, pi, lp->ports, lp->nports);
	return 0;
}

static int plan_pods(struct lab_plan *plan, const struct pw_cluster *c,
		     struct used *u)
{
	size_t npods = pw_cluster_count(c, PW_KIND_POD);
	struct lab_pod *lp;
	const char *why;
	bool quiet;
	int ret;

	plan->pods = calloc(npods + 1, sizeof(*plan->pods));
	if (!plan->pods)
		return -ENOMEM;
	for (size_t i = 0; i < npods; i++) {
		why = not_built(c, i, &quiet);
		if (why) {
			ret = quiet ? 0 : add_note(plan, c, i, why);
			if (ret)
				return ret;
			continue;
		}
		lp = &plan->pods[plan->npods++];
		lp->node = node_index(plan, pw_cluster_pod_node(c, i));
		ret = pod_fill(lp, c, i, u);
		if (ret)
			return ret;
	}
	return 0;
}

/* A node's addresses as its Node gives them: the first IPv4 and IPv6
 * ones of status.addresses that nothing else uses. */
static int node_given(struct lab_node *n, const struct pw_cluster *c,
		      struct used *u, bool *has4)
{
	size_t na = pw_cluster_node_addrs(c, n->name, NULL, 0);
	struct pw_addr *addrs = na ? calloc(na, sizeof(*addrs)) : NULL;
	int ret;

	*has4 = false;
	if (na && !addrs)
		return -ENOMEM;
	pw_cluster_node_addrs(c, n->name, addrs, na);
	for (size_t i = 0; i < na; i++) {
		struct lab_addr a = lab_addr_of(&addrs[i]);

		if (a.family == 4 && !*has4 && !used_has(u, &a)) {
			n->addr4 = a;
			*has4 = true;
		} else if (a.family == 6 && !n->has6 && !used_has(u, &a)) {
			n->addr6 = a;
			n->has6 = true;
		}
	}
	free(addrs);
	ret = *has4 ? used_add(u, &n->addr4) : 0;
	if (n->has6 && !ret)
		ret = used_add(u, &n->addr6);
	return ret;
}

/*
 * Node addresses: the Node's own, else the one the node had in prev, else
 * the next free one of 172.31.0.0/16. Addresses of every kind are taken
 * in that order (given, kept, allocated), so that a kept address is never
 * handed to someone else first.
 */
static int node_addrs(struct lab_plan *plan, const struct pw_cluster *c,
		      struct used *u, const struct lab_plan *prev)
{
	bool *has4 = calloc(plan->nnodes + 1, sizeof(*has4));
	size_t j;
	int ret = has4 ? 0 : -ENOMEM;

	for (size_t k = 0; k < plan->nnodes && !ret; k++)
		ret = node_given(&plan->nodes[k], c, u, &has4[k]);
	for (size_t k = 0; k < plan->nnodes && !ret && prev; k++) {
		j = lab_plan_node(prev, plan->nodes[k].name);
		if (has4[k] || j == prev->nnodes ||
		    used_has(u, &prev->nodes[j].addr4))
			continue;
		plan->nodes[k].addr4 = prev->nodes[j].addr4;
		has4[k] = true;
		ret = used_add(u, &plan->nodes[k].addr4);
	}
	for (size_t k = 0; k < plan->nnodes && !ret; k++)
		if (!has4[k])
			ret = alloc4(u, 0xac1f0000, 1, 0xfffe,
				     &plan->nodes[k].addr4);
	free(has4);
	return ret;
}

/* Pods that had an address of the lab's in prev keep it. */
static int keep_pod_addrs(struct lab_plan *plan, struct used *u,
			  const struct lab_plan *prev)
{
	const struct lab_pod *old;
	size_t j;
	int ret = 0;

	for (size_t i = 0; i < plan->npods && !ret && prev; i++) {
		struct lab_pod *lp = &plan->pods[i];

		j = lab_plan_pod(prev, lp->name);
		old = j < prev->npods ? &prev->pods[j] : NULL;
		/* A pod that moved takes an address of its new node. */
		if (lp->nips || !old || !old->allocated ||
		    strcmp(prev->nodes[old->node].name,
			   plan->nodes[lp->node].name) ||
		    used_has(u, &old->ips[0]))
			continue;
		lp->ips[0] = old->ips[0];
		lp->nips = 1;
		lp->allocated = true;
		ret = used_add(u, &lp->ips[0]);
	}
	return ret;
}

static uint32_t host_of(const struct pw_addr *a)
{
	return (uint32_t)a->b[0] << 24 | a->b[1] << 16 | a->b[2] << 8 | a->b[3];
}

/* Whether the /24 at base overlaps one of the n IPv4 ranges v. */
static bool overlaps(const struct pw_cidr *v, size_t n, uint32_t base)
{
	for (size_t i = 0; i < n; i++) {
		uint32_t lo = host_of(&v[i].addr);
		uint32_t hi = lo + (v[i].len ? (1u << (32 - v[i].len)) - 1 :
					       0xffffffffu);

		if (v[i].addr.family == 4 && base <= hi && base + 255 >= lo)
			return true;
	}
	return false;
}

/* Whether the /24 at base overlaps the IPv4 pod range of some Node. */
static bool range_taken(const struct pw_cluster *c, uint32_t base)
{
	size_t nn = pw_cluster_count(c, PW_KIND_NODE), n;
	struct pw_cidr *v;
	bool taken = false;

	for (size_t j = 0; j < nn && !taken; j++) {
		v = node_cidrs(c, pw_cluster_node_name(c, j), &n);
		taken = overlaps(v, n, base);
		free(v);
	}
	return taken;
}

/* The range a node's pods get addresses from: its first IPv4 podCIDR, or
 * the k-th /24 of 10.244.0.0/14 that no Node's pod range overlaps (a
 * node's ruleset drops its pod range's unknown addresses: fail-closed, so
 * the lab must not put a pod into another node's range). A range the lab
 * chose is written into n->range for the node's ruleset. */
static void node_pool(const struct pw_cluster *c, struct lab_node *n)
{
	size_t nc;
	struct pw_cidr *v = node_cidrs(c, n->name, &nc);
	uint32_t size;

	n->range[0] = '\0';
	for (size_t i = 0; i < nc; i++) {
		const struct pw_cidr *r = &v[i];

		if (r->addr.family != 4 || r->len > 30)
			continue;
		n->pool = host_of(&r->addr);
		size = r->len ? 1u << (32 - r->len) : 0xffffffffu;
		n->pool_last = size - 2;
		free(v);
		return;
	}
	free(v);
	for (uint32_t t = 0, seen = 0; t < 1024; t++) {
		n->pool = 0x0af40000 + (t << 8);
		if (!range_taken(c, n->pool) && seen++ == n->k % 1024)
			break;
	}
	n->pool_last = 254;
	snprintf(n->range, sizeof(n->range), "%u.%u.%u.0/24", n->pool >> 24,
		 (n->pool >> 16) & 0xff, (n->pool >> 8) & 0xff);
}

/* Pod i (plan pod lp): an address of its node's range when it has none
 * (or the one it kept), and the default node when it has no node. */
static int pod_allocate(struct lab_plan *plan, struct pw_cluster *c, size_t i,
			struct lab_pod *lp, struct used *u)
{
	const char *node =
		pw_cluster_pod_node(c, i) ? NULL : plan->nodes[lp->node].name;
	const struct lab_node *n = &plan->nodes[lp->node];
	struct pw_addr addr = { .family = 4 };
	int ret;

	if (!lp->nips) {
		ret = alloc4(u, n->pool, 2, n->pool_last, &lp->ips[0]);
		if (ret) {
			fprintf(stderr,
				"podwall lab: pod %s: no free address left "
				"in its node's pod range\n",
				lp->name);
			return ret;
		}
		lp->nips = 1;
		lp->allocated = true;
	}
	memcpy(addr.b, lp->ips[0].b, 4);
	return pw_cluster_pod_assign(c, i, node, lp->allocated ? &addr : NULL);
}

/*
 * Chooses every node's pool, gives an address of it to every pod without
 * one, and the default node's name to every pod without a node, and
 * writes both into the cluster's pod so that the engine and the rulesets
 * see them too.
 */
static int allocate(struct lab_plan *plan, struct pw_cluster *c, struct used *u)
{
	size_t npods = pw_cluster_count(c, PW_KIND_POD), j = 0;
	bool quiet;
	int ret;

	for (size_t k = 0; k < plan->nnodes; k++)
		node_pool(c, &plan->nodes[k]);
	for (size_t i = 0; i < npods; i++) {
		if (not_built(c, i, &quiet))
			continue;
		ret = pod_allocate(plan, c, i, &plan->pods[j++], u);
		if (ret)
			return ret;
	}
	return 0;
}

int lab_plan_build(struct lab_plan *plan, const char *id, struct pw_cluster *c,
		   const struct lab_plan *prev)
{
	struct used u = { 0 };
	int ret;

	memset(plan, 0, sizeof(*plan));
	snprintf(plan->id, sizeof(plan->id), "%s", id);
	ret = plan_nodes(plan, c, prev);
	if (!ret)
		ret = plan_pods(plan, c, &u);
	if (!ret) {
		keep_pod_ids(plan, prev);
		lab_plan_names(plan);
		ret = node_addrs(plan, c, &u, prev);
	}
	if (!ret)
		ret = keep_pod_addrs(plan, &u, prev);
	if (!ret)
		ret = allocate(plan, c, &u);
	free(u.v);
	if (ret)
		lab_plan_free(plan);
	return ret;
}

/* FNV-1a, 64 bits: a digest to notice change, not a defence. */
static uint64_t fnv(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

static uint64_t fnv_str(uint64_t h, const char *s)
{
	return fnv(h, s, strlen(s) + 1);
}

uint64_t lab_plan_digest(const struct lab_plan *plan)
{
	uint64_t h = fnv_str(0xcbf29ce484222325ull, plan->id);

	for (size_t j = 0; j < plan->nnodes; j++) {
		const struct lab_node *n = &plan->nodes[j];

		h = fnv_str(h, n->name);
		h = fnv(h, &n->addr4, sizeof(n->addr4));
		h = fnv(h, &n->addr6, sizeof(n->addr6));
	}
	for (size_t i = 0; i < plan->npods; i++) {
		const struct lab_pod *p = &plan->pods[i];

		h = fnv_str(h, p->name);
		h = fnv_str(h, p->netns);
		h = fnv(h, &p->node, sizeof(p->node));
		h = fnv(h, p->ips, p->nips * sizeof(p->ips[0]));
		h = fnv(h, &p->nips, sizeof(p->nips));
		for (size_t k = 0; k < p->nports; k++) {
			h = fnv(h, &p->ports[k].num, sizeof(p->ports[k].num));
			h = fnv(h, &p->ports[k].proto,
				sizeof(p->ports[k].proto));
		}
		h = fnv(h, &p->nports, sizeof(p->nports));
	}
	return h;
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
