// SPDX-License-Identifier: Apache-2.0
/*
 * The lab's network, routed as Calico routes it (docs/LAB.md):
 *
 *   pod netns "<id>-p<k>"      eth0: the pod's /32 and /128; default
 *        |  veth                routes via 169.254.1.1 and fe80::1,
 *        |                      static neighbours for both
 *   node netns "<id>-n<j>"     p<k>: host route per pod address,
 *        |  veth fab0           static neighbour; fab0: node address
 *        |                      and fe80::a:<j+1>; routes to other
 *   fabric netns "<id>-f"      nodes' pods via those nodes
 *        bridge br0 with ports n<j>
 *
 * No bridge on the nodes and no ARP or NDP needed on the pod links, so the
 * only thing between two pods is routing through their nodes: exactly the
 * place where a node's ruleset sees the traffic. Forwarding is enabled in
 * node namespaces only; the root namespace is never touched.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lab.h"

struct mac {
	char s[18];
};

/* Locally administered MACs: 02:70:<side>:<k>; side 1 is the node end of
 * pod k's veth, side 2 the pod's eth0. */
static struct mac pod_mac(size_t k, int side)
{
	struct mac m;

	snprintf(m.s, sizeof(m.s), "02:70:%02x:%02x:%02x:%02x", side,
		 (unsigned)(k >> 16) & 0xff, (unsigned)(k >> 8) & 0xff,
		 (unsigned)k & 0xff);
	return m;
}

static int create_netns(const char *name)
{
	int ret = lab_ip("netns", "add", name, NULL);

	if (!ret)
		ret = lab_ip("-n", name, "link", "set", "lo", "up", NULL);
	return ret;
}

static int node_sysctls(void *arg)
{
	static const char *const on[] = {
		"net/ipv4/ip_forward",
		"net/ipv6/conf/all/forwarding",
	};
	int ret = 0;

	(void)arg;
	for (size_t i = 0; i < sizeof(on) / sizeof(on[0]) && !ret; i++)
		ret = lab_sysctl(on[i], "1");
	return ret;
}

static int fabric_up(const struct lab_plan *plan)
{
	int ret = create_netns(plan->fabric);

	if (!ret)
		ret = lab_ip("-n", plan->fabric, "link", "add", "br0", "type",
			     "bridge", NULL);
	if (!ret)
		ret = lab_ip("-n", plan->fabric, "link", "set", "br0", "up",
			     NULL);
	return ret;
}

static int node_up(const struct lab_plan *plan, const struct lab_node *n)
{
	char a4[64], a6[64], ll[64];
	const char *ns = n->netns;
	int ret;

	lab_addr_str(&n->addr4, a4, sizeof(a4));
	strcat(a4, "/32");
	lab_addr_str(&n->ll6, ll, sizeof(ll));
	strcat(ll, "/64");
	ret = create_netns(ns);
	if (!ret)
		ret = lab_ip("-n", ns, "link", "add", "fab0", "type", "veth",
			     "peer", "name", n->fabif, "netns", plan->fabric,
			     NULL);
	if (!ret)
		ret = lab_ip("-n", plan->fabric, "link", "set", n->fabif,
			     "master", "br0", "up", NULL);
	if (!ret)
		ret = lab_ip("-n", ns, "addr", "add", a4, "dev", "fab0", NULL);
	if (!ret)
		ret = lab_ip("-n", ns, "addr", "add", ll, "dev", "fab0",
			     "nodad", NULL);
	if (!ret && n->has6) {
		lab_addr_str(&n->addr6, a6, sizeof(a6));
		strcat(a6, "/128");
		ret = lab_ip("-n", ns, "addr", "add", a6, "dev", "fab0",
			     "nodad", NULL);
	}
	if (!ret)
		ret = lab_ip("-n", ns, "link", "set", "fab0", "up", NULL);
	if (!ret)
		ret = lab_netns_call(ns, node_sysctls, NULL);
	return ret;
}

/* Inside the pod: its addresses, the gateway and the default routes. */
static int pod_inside(const struct lab_pod *p, const struct mac *gw)
{
	char a[64];
	const char *ns = p->netns;
	bool six = false;
	int ret = 0;

	for (size_t i = 0; i < p->nips && !ret; i++) {
		lab_addr_str(&p->ips[i], a, sizeof(a));
		six |= p->ips[i].family == 6;
		strcat(a, p->ips[i].family == 6 ? "/128" : "/32");
		ret = lab_ip("-n", ns, "addr", "add", a, "dev", "eth0", "nodad",
			     NULL);
	}
	if (!ret)
		ret = lab_ip("-n", ns, "link", "set", "eth0", "up", NULL);
	if (!ret)
		ret = lab_ip("-n", ns, "neigh", "add", LAB_GW4, "lladdr", gw->s,
			     "dev", "eth0", "nud", "permanent", NULL);
	if (!ret)
		ret = lab_ip("-n", ns, "route", "add", LAB_GW4, "dev", "eth0",
			     "scope", "link", NULL);
	if (!ret)
		ret = lab_ip("-n", ns, "route", "add", "default", "via",
			     LAB_GW4, "dev", "eth0", NULL);
	if (!ret && six)
		ret = lab_ip("-n", ns, "-6", "neigh", "add", LAB_GW6, "lladdr",
			     gw->s, "dev", "eth0", "nud", "permanent", NULL);
	if (!ret && six)
		ret = lab_ip("-n", ns, "-6", "route", "add", "default", "via",
			     LAB_GW6, "dev", "eth0", NULL);
	return ret;
}

/* On the node: the pod's end of the veth, its routes and neighbours. */
static int pod_node_side(const struct lab_pod *p, const char *ns,
			 const struct mac *pm)
{
	const char *dev = p->ifname;
	char a[64], r[80];
	int ret;

	ret = lab_ip("-n", ns, "addr", "add", LAB_GW6 "/64", "dev", dev,
		     "nodad", NULL);
	if (!ret)
		ret = lab_ip("-n", ns, "link", "set", dev, "up", NULL);
	for (size_t i = 0; i < p->nips && !ret; i++) {
		lab_addr_str(&p->ips[i], a, sizeof(a));
		snprintf(r, sizeof(r), "%s/%s", a,
			 p->ips[i].family == 6 ? "128" : "32");
		ret = lab_ip("-n", ns, "neigh", "add", a, "lladdr", pm->s,
			     "dev", dev, "nud", "permanent", NULL);
		if (!ret)
			ret = lab_ip("-n", ns, "route", "add", r, "dev", dev,
				     NULL);
	}
	return ret;
}

static int pod_up(const struct lab_plan *plan, const struct lab_pod *p)
{
	const char *node = plan->nodes[p->node].netns;
	struct mac gw = pod_mac(p->k, 1), pm = pod_mac(p->k, 2);
	int ret;

	ret = create_netns(p->netns);
	if (!ret)
		ret = lab_ip("-n", node, "link", "add", p->ifname, "address",
			     gw.s, "type", "veth", "peer", "name", "eth0",
			     "address", pm.s, "netns", p->netns, NULL);
	if (!ret)
		ret = pod_node_side(p, node, &pm);
	if (!ret)
		ret = pod_inside(p, &gw);
	return ret;
}

/* On node `from`, the on-link route to node `to`'s address. */
static int node_link(const struct lab_plan *plan, size_t from, size_t to)
{
	char gw4[64];

	lab_addr_str(&plan->nodes[to].addr4, gw4, sizeof(gw4));
	return lab_ip("-n", plan->nodes[from].netns, "route", "add", gw4, "dev",
		      "fab0", "scope", "link", NULL);
}

static void pod_prefix(const struct lab_addr *a, char *buf, size_t len)
{
	char s[64];

	lab_addr_str(a, s, sizeof(s));
	snprintf(buf, len, "%s/%s", s, a->family == 6 ? "128" : "32");
}

int lab_net_pod_route(const struct lab_plan *plan, size_t i, size_t j)
{
	const struct lab_pod *p = &plan->pods[i];
	const struct lab_node *dst = &plan->nodes[p->node];
	char gw4[64], gw6[64], r[80];
	int ret = 0;

	lab_addr_str(&dst->addr4, gw4, sizeof(gw4));
	lab_addr_str(&dst->ll6, gw6, sizeof(gw6));
	for (size_t a = 0; a < p->nips && !ret; a++) {
		pod_prefix(&p->ips[a], r, sizeof(r));
		ret = lab_ip("-n", plan->nodes[j].netns, "route", "add", r,
			     "via", p->ips[a].family == 6 ? gw6 : gw4, "dev",
			     "fab0", NULL);
	}
	return ret;
}

int lab_net_up(const struct lab_plan *plan)
{
	int ret = fabric_up(plan);

	for (size_t j = 0; j < plan->nnodes && !ret; j++)
		ret = node_up(plan, &plan->nodes[j]);
	for (size_t j = 0; j < plan->nnodes && !ret; j++)
		for (size_t k = 0; k < plan->nnodes && !ret; k++)
			if (j != k)
				ret = node_link(plan, j, k);
	for (size_t i = 0; i < plan->npods && !ret; i++)
		ret = lab_net_pod_add(plan, i);
	return ret;
}

int lab_net_pod_add(const struct lab_plan *plan, size_t i)
{
	int ret = pod_up(plan, &plan->pods[i]);

	for (size_t j = 0; j < plan->nnodes && !ret; j++)
		if (j != plan->pods[i].node)
			ret = lab_net_pod_route(plan, i, j);
	return ret;
}

int lab_net_node_add(const struct lab_plan *plan, size_t j)
{
	int ret = node_up(plan, &plan->nodes[j]);

	for (size_t k = 0; k < plan->nnodes && !ret; k++)
		if (k != j) {
			ret = node_link(plan, j, k);
			if (!ret)
				ret = node_link(plan, k, j);
		}
	return ret;
}

int lab_net_pod_del(const struct lab_plan *old, size_t i,
		    const struct lab_plan *now)
{
	const struct lab_pod *p = &old->pods[i];
	const struct lab_node *n;
	char r[80];
	int ret = lab_ip("netns", "del", p->netns, NULL);

	/* Its own node lost the routes with the veth; the others route to
	 * it through that node. */
	for (size_t j = 0; j < old->nnodes && !ret; j++) {
		n = &old->nodes[j];
		if (j == p->node || lab_plan_node(now, n->name) == now->nnodes)
			continue;
		for (size_t a = 0; a < p->nips && !ret; a++) {
			pod_prefix(&p->ips[a], r, sizeof(r));
			ret = lab_ip("-n", n->netns, "route", "del", r, NULL);
		}
	}
	return ret;
}

int lab_net_node_del(const struct lab_plan *old, size_t j,
		     const struct lab_plan *now)
{
	const struct lab_node *n;
	char a4[64];
	int ret;

	pw_datapath_release(); /* it may hold the namespace */
	ret = lab_ip("netns", "del", old->nodes[j].netns, NULL);

	lab_addr_str(&old->nodes[j].addr4, a4, sizeof(a4));
	for (size_t k = 0; k < old->nnodes && !ret; k++) {
		n = &old->nodes[k];
		if (k != j && lab_plan_node(now, n->name) < now->nnodes)
			ret = lab_ip("-n", n->netns, "route", "del", a4, "dev",
				     "fab0", NULL);
	}
	return ret;
}
