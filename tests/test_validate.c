// SPDX-License-Identifier: Apache-2.0
/*
 * The API server's rules, one row per rule: a model built in C (each
 * field at a distinct position), the expected number of records, and the
 * record that names the rule: severity, field path, a piece of the
 * message, line and column.
 */
#include <errno.h>
#include <string.h>

#include <podwall/cluster.h>

#include "addr.h"
#include "check.h"
#include "validate.h"

#define F "t.yaml"
#define P(l, c) ((struct pw_pos){ F, (l), (c) })

static struct pw_cluster cl;
static struct pw_policy pol;
static struct pw_rule rules[2];
static struct pw_peer peers[2];
static struct pw_np_port ports[2];
static struct pw_except excepts[2];
static struct pw_sel_req reqs[2];
static char *vals[2];
static struct pw_pos val_pos[2];
static struct pw_label lbls[2];
static struct pw_policy_type types[3];
static struct pw_pod pods[2];
static struct pw_cport cports[2];
static struct pw_namespace nss[1];
static struct pw_node nodes[1];
static struct pw_cidr node_cidrs[3];
static struct pw_service svcs[1];
static struct pw_svc_port sports[2];

static void reset(void)
{
	memset(&cl, 0, sizeof(cl));
	memset(&pol, 0, sizeof(pol));
	memset(rules, 0, sizeof(rules));
	memset(peers, 0, sizeof(peers));
	memset(ports, 0, sizeof(ports));
	memset(excepts, 0, sizeof(excepts));
	memset(reqs, 0, sizeof(reqs));
	memset(lbls, 0, sizeof(lbls));
	memset(types, 0, sizeof(types));
	memset(pods, 0, sizeof(pods));
	memset(cports, 0, sizeof(cports));
	memset(nss, 0, sizeof(nss));
	memset(nodes, 0, sizeof(nodes));
	memset(svcs, 0, sizeof(svcs));
	memset(sports, 0, sizeof(sports));
	pol.name = "web";
	pol.ns = "shop";
	pol.pos = P(1, 1);
	pol.name_pos = P(4, 9);
	pol.ns_pos = P(5, 14);
	pol.pod_sel.pos = P(7, 5);
	cl.pols = &pol;
	cl.npols = 1;
}

/* ---- building blocks ---------------------------------------------- */

static void one_rule(enum pw_dir d)
{
	rules[0].pos = P(9, 5);
	pol.rules[d] = rules;
	pol.nrules[d] = 1;
}

static void one_peer(void)
{
	one_rule(PW_DIR_INGRESS);
	rules[0].peers = peers;
	rules[0].npeers = 1;
	peers[0].pos = P(10, 7);
}

static void one_port(void)
{
	one_rule(PW_DIR_INGRESS);
	rules[0].ports = ports;
	rules[0].nports = 1;
	ports[0].pos = P(12, 7);
	ports[0].port_pos = P(12, 13);
	ports[0].proto_pos = P(13, 17);
	ports[0].end_pos = P(14, 18);
}

static void num_port(int64_t port)
{
	one_port();
	ports[0].has_port = true;
	ports[0].port = port;
}

static void named_port(char *name)
{
	one_port();
	ports[0].has_port = true;
	ports[0].named = true;
	ports[0].name = name;
}

static void ipblock(char *cidr)
{
	one_peer();
	peers[0].has_ipblock = true;
	peers[0].ipblock.pos = P(11, 9);
	peers[0].ipblock.cidr_text = cidr;
	peers[0].ipblock.cidr_pos = P(11, 17);
}

static void except(char *cidr, char *ex)
{
	ipblock(cidr);
	excepts[0].text = ex;
	excepts[0].pos = P(20, 11);
	peers[0].ipblock.except = excepts;
	peers[0].ipblock.nexcept = 1;
}

/* A requirement in spec.podSelector. */
static void req(char *key, char *op, int nvalues)
{
	static char *sample[] = { "a", "b" };

	reqs[0].key = key;
	reqs[0].op_text = op;
	reqs[0].pos = P(30, 9);
	reqs[0].key_pos = P(30, 14);
	reqs[0].op_pos = P(31, 19);
	for (int i = 0; i < nvalues; i++) {
		vals[i] = sample[i];
		val_pos[i] = P(33 + i, 13);
	}
	reqs[0].values = vals;
	reqs[0].value_pos = val_pos;
	reqs[0].nvalues = (size_t)nvalues;
	reqs[0].values_present = nvalues > 0;
	pol.pod_sel.reqs = reqs;
	pol.pod_sel.nreqs = 1;
}

static void match_label(char *key, char *value)
{
	lbls[0].key = key;
	lbls[0].value = value;
	lbls[0].pos = P(8, 7);
	pol.pod_sel.match_labels.v = lbls;
	pol.pod_sel.match_labels.n = 1;
}

static void policy_types(char *a, char *b, char *c)
{
	char *t[3] = { a, b, c };

	pol.types = types;
	pol.types_pos = P(40, 3);
	for (int i = 0; i < 3 && t[i]; i++) {
		types[i].text = t[i];
		types[i].pos = P(41 + i, 5);
		pol.ntypes++;
	}
}

static void one_pod(const char *kind)
{
	pods[0].name = "api";
	pods[0].ns = "shop";
	pods[0].kind = kind;
	pods[0].pos = P(50, 1);
	pods[0].name_pos = P(52, 9);
	pods[0].phase = PW_PHASE_RUNNING;
	cl.pods = pods;
	cl.npods = 1;
	cl.npols = 0;
}

static void pod_label(char *key, char *value)
{
	lbls[0].key = key;
	lbls[0].value = value;
	lbls[0].pos = P(54, 7);
	pods[0].labels.v = lbls;
	pods[0].labels.n = 1;
}

static void pod_ports(char *n0, int64_t p0, char *n1, int64_t p1)
{
	cports[0] = (struct pw_cport){ n0, p0, PW_PROTO_TCP, P(60, 11),
				       "spec.containers[0].ports[0]" };
	cports[1] = (struct pw_cport){ n1, p1, PW_PROTO_TCP, P(62, 11),
				       "spec.containers[1].ports[0]" };
	pods[0].ports = cports;
	pods[0].nports = 2;
}

static void pod_ip(struct pw_pod *p, const char *ip)
{
	pw_addr_parse(ip, &p->ips[p->nips++]);
}

static void one_svc(void)
{
	svcs[0].name = "web";
	svcs[0].ns = "shop";
	svcs[0].pos = P(70, 1);
	svcs[0].name_pos = P(72, 9);
	sports[0] = (struct pw_svc_port){
		.name = "http", .port = 80, .target_port = 8080, .pos = P(75, 7)
	};
	sports[1] = (struct pw_svc_port){ .name = "https",
					  .port = 443,
					  .target_port = 8443,
					  .pos = P(78, 7) };
	svcs[0].ports = sports;
	svcs[0].nports = 2;
	cl.svcs = svcs;
	cl.nsvcs = 1;
	cl.npols = 0;
}

static void one_node(void)
{
	nodes[0].name = "node-1";
	nodes[0].pos = P(80, 1);
	nodes[0].name_pos = P(82, 9);
	nodes[0].pod_cidrs = node_cidrs;
	cl.nodes = nodes;
	cl.nnodes = 1;
	cl.npols = 0;
}

/* ---- the rows ----------------------------------------------------- */

static void r_valid(void)
{
	one_peer();
	peers[0].has_pod_sel = true;
	num_port(80);
}
static void r_name(void)
{
	pol.name = "Web_1";
}
static void r_no_name(void)
{
	pol.name = "";
}
static void r_ns(void)
{
	pol.ns = "Shop";
}
static void r_peer_empty(void)
{
	one_peer();
}
static void r_egress_peer_empty(void)
{
	one_rule(PW_DIR_EGRESS);
	rules[0].peers = peers;
	rules[0].npeers = 1;
	peers[0].pos = P(10, 7);
}
static void r_peer_both(void)
{
	ipblock("10.0.0.0/8");
	peers[0].has_pod_sel = true;
}
static void r_peer_both_ns(void)
{
	ipblock("10.0.0.0/8");
	peers[0].has_ns_sel = true;
}
static void r_sel_pair(void)
{
	one_peer();
	peers[0].has_pod_sel = true;
	peers[0].has_ns_sel = true;
}
static void r_no_cidr(void)
{
	ipblock(NULL);
	peers[0].ipblock.cidr_pos = (struct pw_pos){ 0 };
}
static void r_bad_cidr(void)
{
	ipblock("10.0.0.0/33");
}
static void r_zero_cidr(void)
{
	ipblock("010.0.0.0/8");
}
static void r_mapped_cidr(void)
{
	ipblock("::ffff:10.0.0.0/104");
}
static void r_no_prefix(void)
{
	ipblock("10.0.0.1");
}
static void r_host_bits(void)
{
	ipblock("10.1.2.3/8");
}
static void r_v6_host_bits(void)
{
	ipblock("fd00::1/64");
}
static void r_except_equal(void)
{
	except("10.0.0.0/8", "10.0.0.0/8");
}
static void r_except_outside(void)
{
	except("10.0.0.0/8", "11.0.0.0/16");
}
static void r_except_family(void)
{
	except("10.0.0.0/8", "fd00::/64");
}
static void r_except_bad(void)
{
	except("10.0.0.0/8", "10.1.0.0/33");
}
static void r_except_wider(void)
{
	except("10.1.0.0/16", "10.0.0.0/8");
}
static void r_except_ok(void)
{
	except("10.0.0.0/8", "10.1.0.0/16");
}
static void r_except_host_bits(void)
{
	except("10.0.0.0/8", "10.1.0.1/16");
}
static void r_except_bad_cidr(void)
{
	except("10.0.0.0/33", "10.1.0.0/16");
}
static void r_proto(void)
{
	num_port(80);
	ports[0].proto_text = "tcp";
}
static void r_port0(void)
{
	num_port(0);
}
static void r_port_big(void)
{
	num_port(65536);
}
static void r_port_name(void)
{
	named_port("HTTP");
}
static void r_port_name_hyphens(void)
{
	named_port("http--x");
}
static void r_port_name_long(void)
{
	named_port("abcdefghijklmnop");
}
static void r_end_named(void)
{
	named_port("http");
	ports[0].has_end = true;
	ports[0].end_port = 90;
}
static void r_end_alone(void)
{
	one_port();
	ports[0].has_end = true;
	ports[0].end_port = 90;
}
static void r_end_low(void)
{
	num_port(80);
	ports[0].has_end = true;
	ports[0].end_port = 79;
}
static void r_end_big(void)
{
	num_port(80);
	ports[0].has_end = true;
	ports[0].end_port = 70000;
}
static void r_end_ok(void)
{
	num_port(80);
	ports[0].proto_text = "SCTP";
	ports[0].has_end = true;
	ports[0].end_port = 80;
}
static void r_type_bad(void)
{
	policy_types("Ingress", "Foo", NULL);
}
static void r_type_case(void)
{
	policy_types("ingress", NULL, NULL);
}
static void r_type_dup(void)
{
	policy_types("Egress", "Egress", NULL);
}
static void r_type_three(void)
{
	policy_types("Ingress", "Egress", "Foo");
}
static void r_ml_key(void)
{
	match_label("-bad", "x");
}
static void r_ml_prefix(void)
{
	match_label("Example.com/app", "x");
}
static void r_ml_value(void)
{
	match_label(
		"app",
		"a234567890123456789012345678901234567890123456789012345678901234");
}
static void r_ml_value_chars(void)
{
	match_label("app", "web-");
}
static void r_op(void)
{
	req("app", "Foo", 1);
}
static void r_op_missing(void)
{
	req("app", NULL, 1);
	reqs[0].op_pos = (struct pw_pos){ 0 };
}
static void r_in_empty(void)
{
	req("app", "NotIn", 0);
}
static void r_exists_values(void)
{
	req("app", "Exists", 1);
}
static void r_req_value(void)
{
	req("app", "In", 2);
	vals[1] = "a b";
}
static void r_req_key(void)
{
	req("a/b/c", "DoesNotExist", 0);
}
static void r_ns_sel(void)
{
	one_peer();
	peers[0].has_ns_sel = true;
	peers[0].ns_sel.pos = P(11, 9);
	reqs[0] = (struct pw_sel_req){ .key = "team",
				       .op_text = "exists",
				       .pos = P(12, 11),
				       .op_pos = P(13, 21) };
	peers[0].ns_sel.reqs = reqs;
	peers[0].ns_sel.nreqs = 1;
}
static void r_pod_name(void)
{
	one_pod(NULL);
	pods[0].name = "Api_1";
}
static void r_pod_ns(void)
{
	one_pod(NULL);
	pods[0].ns = "kube_system";
}
static void r_pod_label(void)
{
	one_pod(NULL);
	pod_label("app!", "x");
}
static void r_tmpl_label(void)
{
	one_pod("Deployment");
	pod_label("app", "x y");
}
static void r_cron_label(void)
{
	one_pod("CronJob");
	pod_label("app", ".x");
}
static void r_cron_name(void)
{
	one_pod("CronJob");
	pods[0].name = "a2345678901234567890123456789012345678901234567890123";
}
static void r_deploy_name_long(void)
{
	one_pod("Deployment");
	pods[0].name = "a2345678901234567890123456789012345678901234567890123";
}
static void r_cport(void)
{
	one_pod(NULL);
	pod_ports("http", 80, NULL, 0);
}
static void r_cport_name(void)
{
	one_pod(NULL);
	pod_ports("HTTP", 80, NULL, 81);
}
static void r_cport_dup(void)
{
	one_pod(NULL);
	pod_ports("http", 80, "http", 8080);
}
static void r_pod_ips(void)
{
	one_pod(NULL);
	pod_ip(&pods[0], "10.0.0.1");
	pod_ip(&pods[0], "10.0.0.2");
}
static void r_pod_ips_dual(void)
{
	one_pod(NULL);
	pod_ip(&pods[0], "10.0.0.1");
	pod_ip(&pods[0], "fd00::1");
}
static void r_shared_ip(void)
{
	one_pod(NULL);
	pods[1] = pods[0];
	pods[1].name = "db";
	pods[1].pos = P(90, 1);
	pod_ip(&pods[0], "10.0.0.7");
	pod_ip(&pods[1], "10.0.0.7");
	cl.npods = 2;
}
static void r_shared_ip_gone(void)
{
	r_shared_ip();
	pods[0].phase = PW_PHASE_SUCCEEDED;
}
static void r_node_name(void)
{
	one_pod(NULL);
	pods[0].node = "Node_1";
}
static void r_ns_name(void)
{
	nss[0] = (struct pw_namespace){ .name = "Shop",
					.declared = true,
					.pos = P(100, 1),
					.name_pos = P(102, 9) };
	cl.nss = nss;
	cl.nnss = 1;
	cl.npols = 0;
}
static void r_ns_long(void)
{
	static char name[] =
		"a234567890123456789012345678901234567890123456789012345678901234";

	r_ns_name();
	nss[0].name = name;
	lbls[0] = (struct pw_label){ .key = "kubernetes.io/metadata.name",
				     .value = name };
	nss[0].labels.v = lbls;
	nss[0].labels.n = 1;
}
static void r_ns_ref(void)
{
	r_ns_name();
	nss[0].declared = false;
}
static void r_ns_label(void)
{
	r_ns_name();
	nss[0].name = "shop";
	lbls[0] = (struct pw_label){ "team", "a_", P(104, 7) };
	nss[0].labels.v = lbls;
	nss[0].labels.n = 1;
}
static void r_node(void)
{
	one_node();
	nodes[0].name = "Node_1";
}
static void r_node_cidrs(void)
{
	one_node();
	pw_cidr_parse("10.0.0.0/24", &node_cidrs[0], NULL, NULL);
	pw_cidr_parse("10.0.1.0/24", &node_cidrs[1], NULL, NULL);
	nodes[0].npod_cidrs = 2;
}
static void r_node_cidrs_many(void)
{
	r_node_cidrs();
	pw_cidr_parse("fd00::/64", &node_cidrs[2], NULL, NULL);
	nodes[0].npod_cidrs = 3;
}
static void r_svc_name(void)
{
	one_svc();
	svcs[0].name = "1web";
}
static void r_svc_port_unnamed(void)
{
	one_svc();
	sports[1].name = NULL;
}
static void r_svc_port_dup(void)
{
	one_svc();
	sports[1].port = 80;
}
static void r_svc_name_dup(void)
{
	one_svc();
	sports[1].name = "http";
}
static void r_svc_target(void)
{
	one_svc();
	sports[0].target_named = true;
	sports[0].target_name = "Http";
}
static void r_svc_port0(void)
{
	one_svc();
	sports[1].port = 0;
}
static struct pw_addr svc_ips[3];
static void r_svc_ips(void)
{
	one_svc();
	pw_addr_parse("10.96.0.10", &svc_ips[0]);
	pw_addr_parse("10.96.0.11", &svc_ips[1]);
	svcs[0].cluster_ips = svc_ips;
	svcs[0].ncluster_ips = 2;
}
static void r_svc_ips_dual(void)
{
	r_svc_ips();
	pw_addr_parse("fd00::a", &svc_ips[1]);
}
static void r_svc_ips_many(void)
{
	r_svc_ips_dual();
	svcs[0].ncluster_ips = 3;
}
static void r_svc_selector(void)
{
	one_svc();
	lbls[0] = (struct pw_label){ "app", "-web", P(74, 9) };
	svcs[0].selector.v = lbls;
	svcs[0].selector.n = 1;
	svcs[0].has_selector = true;
}

#define E PW_SEV_ERROR
#define W PW_SEV_WARNING

static const struct row {
	const char *name;
	void (*setup)(void);
	int errors; /* the return value */
	size_t ndiags;
	enum pw_severity sev;
	const char *path, *msg;
	unsigned line, col;
} rows[] = {
	{ "valid policy", r_valid, 0, 0, E, NULL, NULL, 0, 0 },
	{ "policy name", r_name, 1, 1, E, "metadata.name",
	  "Invalid value: \"Web_1\": a lowercase RFC 1123 subdomain", 4, 9 },
	{ "policy without name", r_no_name, 1, 1, E, "metadata.name",
	  "Required value", 4, 9 },
	{ "namespace name", r_ns, 1, 1, E, "metadata.namespace",
	  "a lowercase RFC 1123 label must consist", 5, 14 },
	{ "empty peer", r_peer_empty, 1, 1, E, "spec.ingress[0].from[0]",
	  "must set at least one of podSelector, namespaceSelector or ipBlock",
	  10, 7 },
	{ "empty egress peer", r_egress_peer_empty, 1, 1, E,
	  "spec.egress[0].to[0]", "must specify a peer", 10, 7 },
	{ "ipBlock and podSelector", r_peer_both, 1, 1, E,
	  "spec.ingress[0].from[0]",
	  "may not specify both ipBlock and another peer: ipBlock cannot be "
	  "combined with podSelector",
	  10, 7 },
	{ "ipBlock and namespaceSelector", r_peer_both_ns, 1, 1, E,
	  "spec.ingress[0].from[0]",
	  "cannot be combined with namespaceSelector", 10, 7 },
	{ "podSelector and namespaceSelector", r_sel_pair, 0, 0, E, NULL, NULL,
	  0, 0 },
	{ "ipBlock without cidr", r_no_cidr, 1, 1, E,
	  "spec.ingress[0].from[0].ipBlock.cidr", "Required value", 11, 9 },
	{ "prefix too long", r_bad_cidr, 1, 1, E,
	  "spec.ingress[0].from[0].ipBlock.cidr",
	  "Invalid value: \"10.0.0.0/33\": must be a valid CIDR value", 11,
	  17 },
	{ "leading zeros", r_zero_cidr, 1, 1, E,
	  "spec.ingress[0].from[0].ipBlock.cidr", "must not have leading 0s",
	  11, 17 },
	{ "IPv4-mapped", r_mapped_cidr, 1, 1, E,
	  "spec.ingress[0].from[0].ipBlock.cidr", "IPv4-mapped", 11, 17 },
	{ "no prefix length", r_no_prefix, 1, 1, E,
	  "spec.ingress[0].from[0].ipBlock.cidr", "valid CIDR", 11, 17 },
	{ "host bits", r_host_bits, 0, 1, W,
	  "spec.ingress[0].from[0].ipBlock.cidr",
	  "\"10.1.2.3/8\" is ambiguous in this context (should be "
	  "\"10.0.0.0/8\" or \"10.1.2.3/32\"?)",
	  11, 17 },
	{ "IPv6 host bits", r_v6_host_bits, 0, 1, W,
	  "spec.ingress[0].from[0].ipBlock.cidr",
	  "(should be \"fd00::/64\" or \"fd00::1/128\"?)", 11, 17 },
	{ "except equal to cidr", r_except_equal, 1, 1, E,
	  "spec.ingress[0].from[0].ipBlock.except[0]",
	  "Invalid value: \"10.0.0.0/8\": must be a strict subset of `cidr`",
	  20, 11 },
	{ "except outside", r_except_outside, 1, 1, E,
	  "spec.ingress[0].from[0].ipBlock.except[0]",
	  "must be a strict subset of `cidr`", 20, 11 },
	{ "except of the other family", r_except_family, 1, 1, E,
	  "spec.ingress[0].from[0].ipBlock.except[0]",
	  "must be a strict subset of `cidr`", 20, 11 },
	{ "except wider", r_except_wider, 1, 1, E,
	  "spec.ingress[0].from[0].ipBlock.except[0]",
	  "must be a strict subset of `cidr`", 20, 11 },
	{ "bad except", r_except_bad, 1, 1, E,
	  "spec.ingress[0].from[0].ipBlock.except[0]", "valid CIDR", 20, 11 },
	{ "good except", r_except_ok, 0, 0, E, NULL, NULL, 0, 0 },
	{ "except with host bits", r_except_host_bits, 0, 1, W,
	  "spec.ingress[0].from[0].ipBlock.except[0]", "ambiguous", 20, 11 },
	{ "except under a bad cidr", r_except_bad_cidr, 1, 1, E,
	  "spec.ingress[0].from[0].ipBlock.cidr", "valid CIDR", 11, 17 },
	{ "protocol case", r_proto, 1, 1, E,
	  "spec.ingress[0].ports[0].protocol",
	  "Unsupported value: \"tcp\": supported values: \"TCP\", \"UDP\", "
	  "\"SCTP\"",
	  13, 17 },
	{ "port 0", r_port0, 1, 1, E, "spec.ingress[0].ports[0].port",
	  "Invalid value: 0: must be between 1 and 65535, inclusive", 12, 13 },
	{ "port 65536", r_port_big, 1, 1, E, "spec.ingress[0].ports[0].port",
	  "65536: must be between 1 and 65535", 12, 13 },
	/* Upper case breaks two rules: the charset and "one letter". */
	{ "port name case", r_port_name, 2, 2, E,
	  "spec.ingress[0].ports[0].port",
	  "\"HTTP\": must contain only alpha-numeric characters", 12, 13 },
	{ "port name hyphens", r_port_name_hyphens, 1, 1, E,
	  "spec.ingress[0].ports[0].port", "consecutive hyphens", 12, 13 },
	{ "port name length", r_port_name_long, 1, 1, E,
	  "spec.ingress[0].ports[0].port", "no more than 15 characters", 12,
	  13 },
	{ "endPort with a name", r_end_named, 1, 1, E,
	  "spec.ingress[0].ports[0].endPort",
	  "Invalid value: 90: may not be specified when `port` is non-numeric",
	  14, 18 },
	{ "endPort alone", r_end_alone, 1, 1, E,
	  "spec.ingress[0].ports[0].endPort",
	  "may not be specified when `port` is not specified", 14, 18 },
	{ "endPort below port", r_end_low, 1, 1, E,
	  "spec.ingress[0].ports[0].endPort",
	  "must be greater than or equal to `port`", 14, 18 },
	{ "endPort too big", r_end_big, 1, 1, E,
	  "spec.ingress[0].ports[0].endPort",
	  "70000: must be between 1 and 65535", 14, 18 },
	{ "endPort equal to port", r_end_ok, 0, 0, E, NULL, NULL, 0, 0 },
	{ "unknown policyType", r_type_bad, 1, 1, E, "spec.policyTypes[1]",
	  "Unsupported value: \"Foo\": supported values: \"Ingress\", "
	  "\"Egress\"",
	  42, 5 },
	{ "policyType case", r_type_case, 1, 1, E, "spec.policyTypes[0]",
	  "Unsupported value: \"ingress\"", 41, 5 },
	{ "duplicate policyType", r_type_dup, 0, 1, W, "spec.policyTypes[1]",
	  "Duplicate value: \"Egress\"", 42, 5 },
	{ "three policyTypes", r_type_three, 2, 2, E, "spec.policyTypes",
	  "may not specify more than two policyTypes", 40, 3 },
	{ "matchLabels key", r_ml_key, 1, 1, E, "spec.podSelector.matchLabels",
	  "Invalid value: \"-bad\": name part must consist", 8, 7 },
	{ "matchLabels key prefix", r_ml_prefix, 1, 1, E,
	  "spec.podSelector.matchLabels", "prefix part a lowercase RFC 1123", 8,
	  7 },
	{ "matchLabels value length", r_ml_value, 1, 1, E,
	  "spec.podSelector.matchLabels", "must be no more than 63 characters",
	  8, 7 },
	{ "matchLabels value chars", r_ml_value_chars, 1, 1, E,
	  "spec.podSelector.matchLabels", "a valid label must be an empty", 8,
	  7 },
	{ "unknown operator", r_op, 1, 1, E,
	  "spec.podSelector.matchExpressions[0].operator",
	  "Unsupported value: \"Foo\": supported values: \"In\", \"NotIn\", "
	  "\"Exists\", \"DoesNotExist\"",
	  31, 19 },
	{ "missing operator", r_op_missing, 1, 1, E,
	  "spec.podSelector.matchExpressions[0].operator", "Required value", 30,
	  9 },
	{ "NotIn without values", r_in_empty, 1, 1, E,
	  "spec.podSelector.matchExpressions[0].values",
	  "Required value: must be specified when `operator` is 'In' or "
	  "'NotIn'",
	  30, 9 },
	{ "Exists with values", r_exists_values, 1, 1, E,
	  "spec.podSelector.matchExpressions[0].values",
	  "Forbidden: may not be specified when `operator` is 'Exists' or "
	  "'DoesNotExist'",
	  30, 9 },
	{ "bad value", r_req_value, 1, 1, E,
	  "spec.podSelector.matchExpressions[0].values[1]",
	  "Invalid value: \"a b\": a valid label", 34, 13 },
	{ "bad key", r_req_key, 1, 1, E,
	  "spec.podSelector.matchExpressions[0].key",
	  "a qualified name must consist", 30, 14 },
	{ "namespaceSelector operator", r_ns_sel, 1, 1, E,
	  "spec.ingress[0].from[0].namespaceSelector.matchExpressions[0]."
	  "operator",
	  "Unsupported value: \"exists\"", 13, 21 },
	{ "pod name", r_pod_name, 1, 1, E, "metadata.name",
	  "\"Api_1\": a lowercase RFC 1123 subdomain", 52, 9 },
	{ "pod namespace", r_pod_ns, 1, 1, E, "metadata.namespace",
	  "\"kube_system\": a lowercase RFC 1123 label", 50, 1 },
	{ "pod label", r_pod_label, 1, 1, E, "metadata.labels",
	  "\"app!\": name part must consist", 54, 7 },
	{ "template label", r_tmpl_label, 1, 1, E,
	  "spec.template.metadata.labels", "\"x y\": a valid label", 54, 7 },
	{ "CronJob template label", r_cron_label, 1, 1, E,
	  "spec.jobTemplate.spec.template.metadata.labels",
	  "\".x\": a valid label", 54, 7 },
	{ "CronJob name", r_cron_name, 1, 1, E, "metadata.name",
	  "must be no more than 52 characters", 52, 9 },
	{ "Deployment name of 53", r_deploy_name_long, 0, 0, E, NULL, NULL, 0,
	  0 },
	{ "containerPort 0", r_cport, 1, 1, E,
	  "spec.containers[1].ports[0].containerPort",
	  "Invalid value: 0: must be between 1 and 65535", 62, 11 },
	{ "container port name", r_cport_name, 2, 2, E,
	  "spec.containers[0].ports[0].name",
	  "\"HTTP\": must contain only alpha-numeric", 60, 11 },
	{ "duplicate port name", r_cport_dup, 1, 1, E,
	  "spec.containers[1].ports[0].name", "Duplicate value: \"http\"", 62,
	  11 },
	{ "two IPv4 pod IPs", r_pod_ips, 1, 1, E, "status.podIPs[1]",
	  "\"10.0.0.2\": may specify no more than one IP for each IP family",
	  50, 1 },
	{ "dual-stack pod IPs", r_pod_ips_dual, 0, 0, E, NULL, NULL, 0, 0 },
	{ "two pods, one IP", r_shared_ip, 0, 1, W, "status.podIPs",
	  "pod IP 10.0.0.7 is also the address of pod shop/api", 90, 1 },
	{ "a finished pod's IP reused", r_shared_ip_gone, 0, 0, E, NULL, NULL,
	  0, 0 },
	{ "nodeName", r_node_name, 1, 1, E, "spec.nodeName",
	  "\"Node_1\": a lowercase RFC 1123 subdomain", 50, 1 },
	{ "namespace object name", r_ns_name, 1, 1, E, "metadata.name",
	  "\"Shop\": a lowercase RFC 1123 label", 102, 9 },
	{ "namespace name of 64", r_ns_long, 1, 1, E, "metadata.name",
	  "must be no more than 63 characters", 102, 9 },
	{ "namespace only referenced", r_ns_ref, 0, 0, E, NULL, NULL, 0, 0 },
	{ "namespace label", r_ns_label, 1, 1, E, "metadata.labels",
	  "\"a_\": a valid label", 104, 7 },
	{ "node name", r_node, 1, 1, E, "metadata.name",
	  "\"Node_1\": a lowercase RFC 1123 subdomain", 82, 9 },
	{ "node podCIDRs of one family", r_node_cidrs, 1, 1, E, "spec.podCIDRs",
	  "no more than one CIDR for each IP family", 80, 1 },
	{ "three node podCIDRs", r_node_cidrs_many, 1, 1, E, "spec.podCIDRs",
	  "Too many: 3: must have at most 2 items", 80, 1 },
	{ "service name", r_svc_name, 1, 1, E, "metadata.name",
	  "\"1web\": a DNS-1035 label", 72, 9 },
	{ "unnamed service port", r_svc_port_unnamed, 1, 1, E,
	  "spec.ports[1].name", "Required value", 78, 7 },
	{ "duplicate service port", r_svc_port_dup, 1, 1, E, "spec.ports[1]",
	  "Duplicate value: \"80/TCP\"", 78, 7 },
	{ "duplicate service port name", r_svc_name_dup, 1, 1, E,
	  "spec.ports[1].name", "Duplicate value: \"http\"", 78, 7 },
	{ "service targetPort name", r_svc_target, 1, 1, E,
	  "spec.ports[0].targetPort", "\"Http\": must contain only", 75, 7 },
	{ "service port 0", r_svc_port0, 1, 1, E, "spec.ports[1].port",
	  "Invalid value: 0: must be between 1 and 65535", 78, 7 },
	{ "two IPv4 ClusterIPs", r_svc_ips, 1, 1, E, "spec.clusterIPs[1]",
	  "\"10.96.0.11\": may specify no more than one IP for each IP family",
	  70, 1 },
	{ "dual-stack ClusterIPs", r_svc_ips_dual, 0, 0, E, NULL, NULL, 0, 0 },
	{ "three ClusterIPs", r_svc_ips_many, 1, 1, E, "spec.clusterIPs",
	  "Too many: 3", 70, 1 },
	{ "service selector", r_svc_selector, 1, 1, E, "spec.selector",
	  "\"-web\": a valid label", 74, 9 },
};

static const struct pw_diag *find(const struct pw_diags *d, const struct row *r)
{
	for (size_t i = 0; i < pw_diags_count(d); i++) {
		const struct pw_diag *g = pw_diags_get(d, i);

		if (!strcmp(pw_diag_path(g), r->path) &&
		    strstr(pw_diag_message(g), r->msg))
			return g;
	}
	return NULL;
}

static void dump(const struct pw_diags *d)
{
	char buf[1024];

	for (size_t i = 0; i < pw_diags_count(d); i++) {
		pw_diag_format(pw_diags_get(d, i), buf, sizeof(buf));
		printf("    got: %s\n", buf);
	}
}

static void run_row(const struct row *r)
{
	struct pw_diags *d = pw_diags_new();
	unsigned failed = check_failed;
	const struct pw_diag *g;
	int ret;

	reset();
	r->setup();
	ret = pw_validate_cluster(&cl, d);
	CHECK(ret == r->errors, "%s: %d errors, expected %d", r->name, ret,
	      r->errors);
	CHECK(pw_diags_count(d) == r->ndiags, "%s: %zu records, expected %zu",
	      r->name, pw_diags_count(d), r->ndiags);
	if (r->path) {
		g = find(d, r);
		CHECK(g, "%s: no record '%s: %s'", r->name, r->path, r->msg);
		if (g) {
			CHECK(pw_diag_severity(g) == r->sev, "%s: severity",
			      r->name);
			CHECK(pw_diag_line(g) == r->line &&
				      pw_diag_column(g) == r->col,
			      "%s: at %u:%u, expected %u:%u", r->name,
			      pw_diag_line(g), pw_diag_column(g), r->line,
			      r->col);
			CHECK(!strcmp(pw_diag_file(g), F), "%s: file", r->name);
		}
	}
	if (check_failed != failed)
		dump(d);
	pw_diags_free(d);
}

/* ---- the values validation fills in --------------------------------- */

static int validate_quiet(void)
{
	struct pw_diags *d = pw_diags_new();
	int ret = pw_validate_cluster(&cl, d);

	pw_diags_free(d);
	return ret;
}

static void test_affects(void)
{
	static const struct {
		char *t0, *t1;
		bool egress_rule;
		bool ingress, egress;
	} cases[] = {
		{ NULL, NULL, false, true, false },
		{ NULL, NULL, true, true, true },
		{ "Ingress", NULL, true, true, false },
		{ "Egress", NULL, false, false, true },
		{ "Ingress", "Egress", false, true, true },
		{ "Egress", "Ingress", false, true, true },
	};

	for (size_t i = 0; i < PW_ARRAY_SIZE(cases); i++) {
		reset();
		if (cases[i].egress_rule)
			one_rule(PW_DIR_EGRESS);
		if (cases[i].t0)
			policy_types(cases[i].t0, cases[i].t1, NULL);
		CHECK(validate_quiet() == 0, "affects case %zu valid", i);
		CHECK(pol.affects[PW_DIR_INGRESS] == cases[i].ingress &&
			      pol.affects[PW_DIR_EGRESS] == cases[i].egress,
		      "affects case %zu: %d %d", i, pol.affects[0],
		      pol.affects[1]);
	}
	/* An empty policyTypes list is the same as none. */
	reset();
	one_rule(PW_DIR_EGRESS);
	pol.types = types;
	pol.ntypes = 0;
	validate_quiet();
	CHECK(pol.affects[PW_DIR_INGRESS] && pol.affects[PW_DIR_EGRESS],
	      "empty policyTypes");
}

static void test_filled(void)
{
	struct pw_addr a;
	char buf[PW_ADDR_STRLEN];

	reset();
	except("10.9.8.7/8", "10.1.0.0/16");
	CHECK(validate_quiet() == 0, "host bits are not an error");
	CHECK(peers[0].ipblock.cidr_ok && excepts[0].ok, "ok flags set");
	pw_cidr_format(&peers[0].ipblock.cidr, buf, sizeof(buf));
	CHECK(!strcmp(buf, "10.0.0.0/8"), "cidr masked: %s", buf);
	pw_addr_parse("10.1.2.3", &a);
	CHECK(!pw_ipblock_matches(&peers[0].ipblock, &a), "except applies");
	pw_addr_parse("10.2.2.3", &a);
	CHECK(pw_ipblock_matches(&peers[0].ipblock, &a), "cidr applies");

	reset();
	except("10.0.0.0/8", "11.0.0.0/16");
	validate_quiet();
	CHECK(peers[0].ipblock.cidr_ok && !excepts[0].ok,
	      "a bad except is not ok");

	reset();
	num_port(53);
	ports[0].proto = PW_PROTO_SCTP; /* validate resets it */
	validate_quiet();
	CHECK(ports[0].proto == PW_PROTO_TCP, "no protocol means TCP");
	ports[0].proto_text = "UDP";
	validate_quiet();
	CHECK(ports[0].proto == PW_PROTO_UDP, "UDP parsed");

	reset();
	req("app", "NotIn", 1);
	reqs[0].op = PW_SEL_IN;
	validate_quiet();
	CHECK(reqs[0].op == PW_SEL_NOT_IN, "operator parsed from its text");
}

/* ---- the same rules through the loader ------------------------------ */

static const char bad_yaml[] = "apiVersion: networking.k8s.io/v1\n"
			       "kind: NetworkPolicy\n"
			       "metadata:\n"
			       "  name: np\n"
			       "  namespace: shop\n"
			       "spec:\n"
			       "  podSelector:\n"
			       "    matchLabels:\n"
			       "      -app: web\n"
			       "    matchExpressions:\n"
			       "    - key: tier\n"
			       "      operator: Foo\n"
			       "      values: [a, \"b c\"]\n"
			       "  policyTypes: [Ingress, Ingress]\n"
			       "  ingress:\n"
			       "  - from:\n"
			       "    - ipBlock:\n"
			       "        cidr: 10.1.2.3/8\n"
			       "        except: [11.0.0.0/16, 10.1.0.0/16]\n"
			       "      podSelector: {}\n"
			       "    - {}\n"
			       "    ports:\n"
			       "    - protocol: tcp\n"
			       "      port: 0\n"
			       "    - port: http\n"
			       "      endPort: 90\n"
			       "---\n"
			       "apiVersion: v1\n"
			       "kind: Pod\n"
			       "metadata:\n"
			       "  name: Web\n"
			       "  namespace: shop\n"
			       "  labels: {app: \"-x\"}\n"
			       "spec:\n"
			       "  containers:\n"
			       "  - name: c\n"
			       "    ports:\n"
			       "    - {containerPort: 80, name: http}\n"
			       "    - {containerPort: 81, name: http}\n";

static const struct row yaml_rows[] = {
	{ "yaml: pod name", NULL, 0, 0, E, "metadata.name", "\"Web\"", 31, 9 },
	{ "yaml: pod label", NULL, 0, 0, E, "metadata.labels", "\"-x\"", 33,
	  12 },
	{ "yaml: port name", NULL, 0, 0, E, "spec.containers[0].ports[1].name",
	  "Duplicate value: \"http\"", 39, 7 },
	{ "yaml: matchLabels", NULL, 0, 0, E, "spec.podSelector.matchLabels",
	  "\"-app\"", 9, 7 },
	{ "yaml: operator", NULL, 0, 0, E,
	  "spec.podSelector.matchExpressions[0].operator",
	  "Unsupported value: \"Foo\"", 12, 17 },
	{ "yaml: value", NULL, 0, 0, E,
	  "spec.podSelector.matchExpressions[0].values[1]", "\"b c\"", 13, 19 },
	{ "yaml: protocol", NULL, 0, 0, E, "spec.ingress[0].ports[0].protocol",
	  "Unsupported value: \"tcp\"", 23, 17 },
	{ "yaml: port", NULL, 0, 0, E, "spec.ingress[0].ports[0].port",
	  "Invalid value: 0", 24, 13 },
	{ "yaml: endPort", NULL, 0, 0, E, "spec.ingress[0].ports[1].endPort",
	  "non-numeric", 26, 16 },
	{ "yaml: host bits", NULL, 0, 0, W,
	  "spec.ingress[0].from[0].ipBlock.cidr", "ambiguous", 18, 15 },
	{ "yaml: except", NULL, 0, 0, E,
	  "spec.ingress[0].from[0].ipBlock.except[0]", "strict subset", 19,
	  18 },
	{ "yaml: ipBlock and podSelector", NULL, 0, 0, E,
	  "spec.ingress[0].from[0]", "Forbidden", 17, 7 },
	{ "yaml: empty peer", NULL, 0, 0, E, "spec.ingress[0].from[1]",
	  "must specify a peer", 21, 7 },
	{ "yaml: policyTypes", NULL, 0, 0, W, "spec.policyTypes[1]",
	  "Duplicate value: \"Ingress\"", 14, 26 },
};

static const char good_yaml[] =
	"apiVersion: networking.k8s.io/v1\n"
	"kind: NetworkPolicy\n"
	"metadata: {name: np, namespace: shop}\n"
	"spec:\n"
	"  podSelector: {matchLabels: {app: db}}\n"
	"  egress:\n"
	"  - to:\n"
	"    - ipBlock:\n"
	"        cidr: fd00::/8\n"
	"        except: [fd00:1::/32]\n"
	"    ports:\n"
	"    - {protocol: UDP, port: 53, endPort: 54}\n";

static void test_yaml(void)
{
	struct pw_cluster *c = pw_cluster_new();
	struct pw_diags *d = pw_diags_new();
	const struct pw_diag *g;

	pw_cluster_load_buffer(c, F, bad_yaml, strlen(bad_yaml), d);
	CHECK(pw_cluster_finalize(c, d) == -EINVAL, "bad yaml is invalid");
	CHECK(pw_diags_count(d) == PW_ARRAY_SIZE(yaml_rows),
	      "yaml: %zu records, expected %zu", pw_diags_count(d),
	      PW_ARRAY_SIZE(yaml_rows));
	for (size_t i = 0; i < PW_ARRAY_SIZE(yaml_rows); i++) {
		const struct row *r = &yaml_rows[i];

		g = find(d, r);
		CHECK(g && pw_diag_severity(g) == r->sev &&
			      pw_diag_line(g) == r->line &&
			      pw_diag_column(g) == r->col,
		      "%s: %s at %u:%u", r->name, g ? "found" : "missing",
		      g ? pw_diag_line(g) : 0, g ? pw_diag_column(g) : 0);
	}
	pw_cluster_free(c);
	pw_diags_free(d);

	c = pw_cluster_new();
	d = pw_diags_new();
	pw_cluster_load_buffer(c, F, good_yaml, strlen(good_yaml), d);
	CHECK(pw_cluster_finalize(c, d) == 0, "good yaml is valid");
	CHECK(pw_diags_count(d) == 0, "good yaml: %zu records",
	      pw_diags_count(d));
	if (c->npols == 1 && c->pols[0].nrules[PW_DIR_EGRESS] == 1) {
		const struct pw_policy *p = &c->pols[0];
		const struct pw_rule *r = &p->rules[PW_DIR_EGRESS][0];

		/* Without policyTypes, Ingress always, Egress for its rule. */
		CHECK(p->affects[PW_DIR_INGRESS] && p->affects[PW_DIR_EGRESS],
		      "policy affects both directions");
		CHECK(r->npeers == 1 && r->peers[0].ipblock.cidr_ok &&
			      r->peers[0].ipblock.nexcept == 1 &&
			      r->peers[0].ipblock.except[0].ok,
		      "ipBlock parsed");
		CHECK(r->nports == 1 && r->ports[0].proto == PW_PROTO_UDP,
		      "protocol parsed");
	} else {
		CHECK(0, "good yaml: policy not loaded");
	}
	pw_cluster_free(c);
	pw_diags_free(d);
}

int main(void)
{
	for (size_t i = 0; i < PW_ARRAY_SIZE(rows); i++)
		run_row(&rows[i]);
	test_affects();
	test_filled();
	test_yaml();
	return check_done("validate");
}
