// SPDX-License-Identifier: Apache-2.0
/*
 * What programs read of the model through the public API: the cluster's
 * pod and node accessors and pw_cluster_pod_assign (the lab's), the
 * engine's pod accessors, the ports of a service named as an endpoint
 * (explain's), and diff's grouping of pods by their controller owner.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include <podwall/diff.h>
#include <podwall/podwall.h>

static struct pw_cluster *load(const char *yaml, bool finalize)
{
	struct pw_diags *d = pw_diags_new();
	struct pw_cluster *c = pw_cluster_new();
	char buf[256];
	bool ok;

	ok = d && c &&
	     !pw_cluster_load_buffer(c, "m.yaml", yaml, strlen(yaml), d) &&
	     (!finalize || !pw_cluster_finalize(c, d));
	for (size_t i = 0; d && i < pw_diags_count(d); i++) {
		pw_diag_format(pw_diags_get(d, i), buf, sizeof(buf));
		printf("  diag: %s\n", buf);
	}
	pw_diags_free(d);
	if (!ok) {
		pw_cluster_free(c);
		return NULL;
	}
	return c;
}

static struct pw_addr addr(const char *text)
{
	struct pw_addr a = { 0 };

	if (inet_pton(AF_INET, text, a.b) == 1)
		a.family = 4;
	else if (inet_pton(AF_INET6, text, a.b) == 1)
		a.family = 6;
	return a;
}

static bool addr_is(const struct pw_addr *a, const char *text)
{
	struct pw_addr want = addr(text);

	return !memcmp(a, &want, sizeof(want));
}

/* ---- the cluster's accessors ---------------------------------------- */

static const char lab_yaml[] =
	"apiVersion: v1\nkind: Node\nmetadata: {name: n1}\n"
	"spec: {podCIDRs: [10.244.1.0/24, 'fd00:1::/64']}\n"
	"status:\n  addresses:\n  - {type: Hostname, address: n1}\n"
	"  - {type: InternalIP, address: 192.168.0.10}\n"
	"  - {type: InternalIP, address: 'fd00::10'}\n"
	"---\n"
	"apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: x}\n"
	"spec:\n  nodeName: n1\n  containers:\n"
	"  - {name: c, ports: [{containerPort: 80}, "
	"{containerPort: 53, protocol: UDP}]}\n"
	"  - {name: d, ports: [{containerPort: 9000, protocol: SCTP}]}\n"
	"status: {phase: Running, podIPs: [{ip: 10.244.1.5}, "
	"{ip: 'fd00:1::5'}]}\n"
	"---\n"
	"apiVersion: v1\nkind: Pod\nmetadata: {name: b, namespace: x}\n"
	"spec: {containers: [{name: c}]}\n"
	"---\n"
	"apiVersion: v1\nkind: Pod\nmetadata: {name: done, namespace: x}\n"
	"spec: {containers: [{name: c}]}\nstatus: {phase: Succeeded}\n"
	"---\n"
	"apiVersion: v1\nkind: Pod\nmetadata: {name: h, namespace: x}\n"
	"spec: {hostNetwork: true, nodeName: n1, containers: [{name: c}]}\n"
	"---\n"
	"apiVersion: apps/v1\nkind: Deployment\n"
	"metadata: {name: t, namespace: x}\n"
	"spec: {template: {metadata: {labels: {app: t}}, "
	"spec: {containers: [{name: c}]}}}\n";

/* Pods after finalize: x/a, x/b, x/done, x/h, x/t[Deployment]. */
static void test_pod_accessors(const struct pw_cluster *c)
{
	struct pw_addr ips[4];
	struct pw_port ports[4];
	char text[32];

	CHECK(pw_cluster_count(c, PW_KIND_POD) == 5, "five pods");
	CHECK(!strcmp(pw_cluster_pod_namespace(c, 0), "x") &&
		      !strcmp(pw_cluster_pod_name(c, 0), "a") &&
		      !pw_cluster_pod_kind(c, 0) &&
		      !strcmp(pw_cluster_pod_node(c, 0), "n1"),
	      "pod 0: x/a on n1");
	CHECK(pw_cluster_pod_addrs(c, 0, ips, 4) == 2 &&
		      addr_is(&ips[0], "10.244.1.5") &&
		      addr_is(&ips[1], "fd00:1::5"),
	      "dual-stack addresses");
	CHECK(pw_cluster_pod_addrs(c, 0, ips, 1) == 2, "count beyond max");
	CHECK(pw_cluster_pod_addrs(c, 0, NULL, 0) == 2, "count only");
	CHECK(pw_cluster_pod_ports(c, 0, ports, 4) == 3, "three ports");
	pw_port_format(&ports[2], text, sizeof(text));
	CHECK(!strcmp(text, "9000/SCTP"), "every container's ports: %s", text);
	CHECK(!pw_cluster_pod_node(c, 1) && !pw_cluster_pod_addrs(c, 1, ips, 4),
	      "x/b: no node, no address");
	CHECK(pw_cluster_pod_finished(c, 2) && !pw_cluster_pod_finished(c, 1),
	      "finished");
	CHECK(pw_cluster_pod_host_network(c, 3) &&
		      !pw_cluster_pod_host_network(c, 0),
	      "hostNetwork");
	CHECK(!strcmp(pw_cluster_pod_kind(c, 4), "Deployment"), "template");
	CHECK(!pw_cluster_pod_name(c, 5) && !pw_cluster_pod_node(c, 5) &&
		      !pw_cluster_pod_addrs(c, 5, ips, 4) &&
		      !pw_cluster_pod_ports(c, 5, ports, 4) &&
		      !pw_cluster_pod_finished(c, 5),
	      "out of range reads as nothing");
}

static void test_node_accessors(const struct pw_cluster *c)
{
	struct pw_addr ips[4];
	struct pw_cidr cidrs[4];

	CHECK(pw_cluster_count(c, PW_KIND_NODE) == 1 &&
		      !strcmp(pw_cluster_node_name(c, 0), "n1") &&
		      !pw_cluster_node_name(c, 1),
	      "node names");
	CHECK(pw_cluster_node_addrs(c, "n1", ips, 4) == 2 &&
		      addr_is(&ips[0], "192.168.0.10") &&
		      addr_is(&ips[1], "fd00::10"),
	      "InternalIP addresses, not the Hostname");
	CHECK(pw_cluster_node_pod_cidrs(c, "n1", cidrs, 4) == 2 &&
		      addr_is(&cidrs[0].addr, "10.244.1.0") &&
		      cidrs[0].len == 24 && cidrs[1].addr.family == 6 &&
		      cidrs[1].len == 64,
	      "pod CIDRs");
	CHECK(!pw_cluster_node_addrs(c, "n9", ips, 4) &&
		      !pw_cluster_node_pod_cidrs(c, "n9", cidrs, 4),
	      "an unknown node has nothing");
}

static void test_assign(struct pw_cluster *c)
{
	struct pw_addr a = addr("10.244.1.9"), got, bad = { .family = 5 };

	memset(a.b + 4, 0xff, 12); /* junk after an IPv4 address */
	CHECK(pw_cluster_pod_assign(c, 1, "n1", &a) == 0, "assign x/b");
	CHECK(!strcmp(pw_cluster_pod_node(c, 1), "n1") &&
		      pw_cluster_pod_addrs(c, 1, &got, 1) == 1 &&
		      addr_is(&got, "10.244.1.9"),
	      "x/b now has both, the address normalized");
	CHECK(pw_cluster_pod_assign(c, 1, "n2", NULL) == -EEXIST &&
		      pw_cluster_pod_assign(c, 0, NULL, &a) == -EEXIST,
	      "a node or address once only");
	CHECK(pw_cluster_pod_assign(c, 4, "n1", NULL) == -EINVAL &&
		      pw_cluster_pod_assign(c, 3, NULL, &a) == -EINVAL &&
		      pw_cluster_pod_assign(c, 9, "n1", NULL) == -EINVAL,
	      "templates, hostNetwork pods, out of range");
	CHECK(pw_cluster_pod_assign(c, 2, "", NULL) == -EINVAL &&
		      pw_cluster_pod_assign(c, 2, NULL, &bad) == -EINVAL &&
		      !pw_cluster_pod_node(c, 2),
	      "an empty node or a bad family changes nothing");
}

/* The engine sees what was assigned before it was built. */
static void test_engine_accessors(const struct pw_cluster *c)
{
	struct pw_engine *e = pw_engine_new(c);
	struct pw_addr ips[2];
	struct pw_port ports[4];
	size_t n = e ? pw_engine_pod_count(e) : 0;

	/* matrix pods: x/a, x/b, x/t[Deployment] */
	CHECK(n == 3, "three matrix pods, got %zu", n);
	if (n != 3) {
		pw_engine_free(e);
		return;
	}
	CHECK(!strcmp(pw_engine_pod_name(e, 1), "x/b") &&
		      !strcmp(pw_engine_pod_node(e, 1), "n1") &&
		      pw_engine_pod_addrs(e, 1, ips, 2) == 1 &&
		      addr_is(&ips[0], "10.244.1.9"),
	      "x/b as assigned");
	CHECK(pw_engine_pod_ports(e, 0, ports, 4) == 3 &&
		      pw_engine_pod_addrs(e, 0, ips, 2) == 2,
	      "x/a ports and addresses");
	CHECK(!pw_engine_pod_node(e, 2) && !pw_engine_pod_addrs(e, 2, ips, 2),
	      "a template has no node and no address");
	CHECK(!pw_engine_pod_node(e, 3) && !pw_engine_pod_ports(e, 3, ports, 4),
	      "out of range");
	pw_engine_free(e);
}

static void test_cluster(void)
{
	struct pw_cluster *c = load(lab_yaml, true);

	CHECK(c != NULL, "lab cluster loads");
	if (!c)
		return;
	test_pod_accessors(c);
	test_node_accessors(c);
	test_assign(c);
	test_engine_accessors(c);
	pw_cluster_free(c);
}

/* ---- a service's ports ---------------------------------------------- */

static void test_service_ports(void)
{
	static const char yaml[] =
		"apiVersion: v1\nkind: Pod\n"
		"metadata: {name: w, namespace: s, labels: {app: w}}\n"
		"spec: {containers: [{name: c}]}\n"
		"status: {podIP: 10.0.0.1}\n"
		"---\n"
		"apiVersion: v1\nkind: Service\nmetadata: {name: web, "
		"namespace: s}\n"
		"spec:\n  selector: {app: w}\n  ports:\n"
		"  - {name: http, port: 80, targetPort: 8080}\n"
		"  - {name: dns, port: 53, protocol: UDP}\n"
		"---\n"
		"apiVersion: v1\nkind: Service\nmetadata: {name: solo, "
		"namespace: s}\n"
		"spec: {selector: {app: w}, ports: [{port: 8443}]}\n";
	struct pw_cluster *c = load(yaml, true);
	struct pw_engine *e = c ? pw_engine_new(c) : NULL;
	struct pw_endpoints *svc = e ? pw_engine_resolve(e, "s/svc/web") : NULL;
	struct pw_endpoints *pod = e ? pw_engine_resolve(e, "s/w") : NULL;
	struct pw_endpoints *solo = e ? pw_engine_resolve(e, "s/svc/solo") :
					NULL;
	const char *name = "x";
	struct pw_port p;

	CHECK(svc && pod && solo, "resolves");
	if (svc && pod && solo) {
		CHECK(!strcmp(pw_endpoints_service_namespace(svc), "s") &&
			      !strcmp(pw_endpoints_service_name(svc), "web") &&
			      pw_endpoints_service_port_count(svc) == 2,
		      "the service and its two ports");
		p = pw_endpoints_service_port(svc, 0, &name);
		CHECK(p.num == 80 && p.proto == PW_PROTO_TCP && name &&
			      !strcmp(name, "http"),
		      "port 0: 80/TCP http");
		p = pw_endpoints_service_port(svc, 1, &name);
		CHECK(p.num == 53 && p.proto == PW_PROTO_UDP && name &&
			      !strcmp(name, "dns"),
		      "port 1: 53/UDP dns");
		p = pw_endpoints_service_port(solo, 0, &name);
		CHECK(p.num == 8443 && !name &&
			      pw_endpoints_service_port_count(solo) == 1,
		      "an unnamed port");
		p = pw_endpoints_service_port(svc, 2, &name);
		CHECK(!p.num && !name, "out of range: the zero port");
		CHECK(!pw_endpoints_service_name(pod) &&
			      !pw_endpoints_service_namespace(pod) &&
			      !pw_endpoints_service_port_count(pod),
		      "a pod is no service");
	}
	pw_endpoints_free(svc);
	pw_endpoints_free(pod);
	pw_endpoints_free(solo);
	pw_engine_free(e);
	pw_cluster_free(c);
}

/* ---- diff groups pods by their controller owner ----------------------- */

#define POD(ns, name, labels, owner, ip)                                  \
	"---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: " name "\n"   \
	"  namespace: " ns "\n  labels: " labels "\n"                     \
	"  ownerReferences: " owner "\n"                                  \
	"spec: {containers: [{name: c, ports: [{containerPort: 80}]}]}\n" \
	"status: {phase: Running, podIP: " ip "}\n"

#define OWNER(kind, name) "[{kind: " kind ", name: " name ", controller: true}]"

/*
 * Names that the label heuristics would read otherwise (or not at all):
 * only the owner says that web-x and web-y are one Deployment's, that
 * odd is a ReplicaSet of its own and that db-main is a StatefulSet's.
 * mirror's controller is a Node: the label heuristics decide (none).
 */
static const char owners_yaml[] = POD(
	"a", "web-x", "{app: web, pod-template-hash: 5d4f8}",
	OWNER("ReplicaSet", "web-5d4f8"),
	"10.0.0.1") POD("a", "web-y", "{app: web, pod-template-hash: 77c9b}",
			OWNER("ReplicaSet", "web-77c9b"), "10.0.0.2")
	POD("a", "odd", "{app: odd}", OWNER("ReplicaSet", "odd-rs"), "10.0.0.3")
		POD("a", "db-main", "{app: db, pod-template-hash: zz}",
		    OWNER("StatefulSet", "db"),
		    "10.0.0.4") POD("a", "mirror-n1", "{app: m}",
				    OWNER("Node", "n1"), "10.0.0.5")
			POD("a", "keep", "{app: keep}", "[]", "10.0.0.6")
				POD("b", "cli", "{app: cli}", "[]", "10.0.1.1");

/* cli keeps only a/keep: a namespace not changed alike stays split. */
static const char deny_yaml[] =
	"---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
	"metadata: {name: only-keep, namespace: b}\n"
	"spec: {podSelector: {matchLabels: {app: cli}}, "
	"policyTypes: [Egress], egress: [{to: [{namespaceSelector: {}, "
	"podSelector: {matchLabels: {app: keep}}}]}]}\n";

static bool has_to(const struct pw_diff *d, const char *from,
		   enum pw_diff_end kind)
{
	for (size_t i = 0; i < pw_diff_count(d, PW_CHANGE_REMOVED); i++)
		if (!strcmp(pw_diff_to(d, PW_CHANGE_REMOVED, i), from) &&
		    pw_diff_to_kind(d, PW_CHANGE_REMOVED, i) == kind)
			return true;
	return false;
}

static void test_diff_owners(void)
{
	char *with_deny = malloc(sizeof(owners_yaml) + sizeof(deny_yaml));
	struct pw_cluster *oc = load(owners_yaml, true), *nc = NULL;
	struct pw_engine *oe = NULL, *ne = NULL;
	struct pw_diff *d = NULL;

	if (with_deny) {
		strcpy(with_deny, owners_yaml);
		strcat(with_deny, deny_yaml);
		nc = load(with_deny, true);
	}
	oe = oc ? pw_engine_new(oc) : NULL;
	ne = nc ? pw_engine_new(nc) : NULL;
	d = oe && ne ? pw_diff_new(oe, ne) : NULL;
	CHECK(d != NULL, "diff computed");
	if (d) {
		/* cli loses its egress to every other pod of a */
		CHECK(has_to(d, "a/web[Deployment]", PW_DIFF_WORKLOAD),
		      "two ReplicaSets, one Deployment");
		CHECK(has_to(d, "a/odd-rs[ReplicaSet]", PW_DIFF_WORKLOAD),
		      "no pod-template-hash: the ReplicaSet itself");
		CHECK(has_to(d, "a/db[StatefulSet]", PW_DIFF_WORKLOAD),
		      "the owner over the labels");
		CHECK(has_to(d, "a/mirror-n1", PW_DIFF_POD),
		      "a Node owner names no workload");
		CHECK(!has_to(d, "a/web-x", PW_DIFF_POD) &&
			      !has_to(d, "a/keep", PW_DIFF_POD) &&
			      !has_to(d, "a", PW_DIFF_NAMESPACE),
		      "no pod of a workload alone, nothing more");
	}
	pw_diff_free(d);
	pw_engine_free(oe);
	pw_engine_free(ne);
	pw_cluster_free(oc);
	pw_cluster_free(nc);
	free(with_deny);
}

int main(void)
{
	test_cluster();
	test_service_ports();
	test_diff_owners();
	return check_done("model");
}
