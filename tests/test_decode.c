// SPDX-License-Identifier: Apache-2.0
/* Strict decoding of manifests into the model, and loading paths. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "model.h"
#include "addr.h"
#include "labels.h"
#include "yaml.h"

static struct pw_cluster *c;
static struct pw_diags *d;

static void reset(void)
{
	pw_cluster_free(c);
	pw_diags_free(d);
	c = pw_cluster_new();
	d = pw_diags_new();
}

static int load(const char *text)
{
	reset();
	return pw_cluster_load_buffer(c, "m.yaml", text, strlen(text), d);
}

static int load_buffer_reset(const char *buf, size_t len)
{
	reset();
	return pw_cluster_load_buffer(c, "m.yaml", buf, len, d);
}

static const struct pw_diag *find_diag(const char *msg)
{
	for (size_t i = 0; i < pw_diags_count(d); i++) {
		const struct pw_diag *r = pw_diags_get(d, i);

		if (strstr(pw_diag_message(r), msg))
			return r;
	}
	return NULL;
}

static void dump_diags(void)
{
	char buf[512];

	for (size_t i = 0; i < pw_diags_count(d); i++) {
		pw_diag_format(pw_diags_get(d, i), buf, sizeof(buf));
		printf("  diag: %s\n", buf);
	}
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

#define NP_HEAD                              \
	"apiVersion: networking.k8s.io/v1\n" \
	"kind: NetworkPolicy\n"              \
	"metadata: {name: p, namespace: a}\n"
#define POD_HEAD           \
	"apiVersion: v1\n" \
	"kind: Pod\n"      \
	"metadata: {name: x}\n"

/* ---- diagnostics, table-driven ------------------------------------ */

static const struct {
	const char *name;
	const char *text;
	int ret; /* of the load */
	const char *msg;
	unsigned line, col;
	const char *path;
	enum pw_severity sev;
	size_t added; /* objects added despite the error */
} cases[] = {
	{ "unknown field in a peer",
	  NP_HEAD "spec:\n"
		  "  ingress:\n"
		  "  - from:\n"
		  "    - podSelector: {}\n"
		  "    - podselector: {}\n",
	  0, "unknown field \"podselector\"", 8, 7,
	  "spec.ingress[0].from[1].podselector", PW_SEV_ERROR, 0 },
	{ "unknown top-level field", NP_HEAD "spex: {}\n", 0,
	  "unknown field \"spex\"", 4, 1, "spex", PW_SEV_ERROR, 0 },
	{ "unknown metadata field",
	  "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n"
	  "  label: {}\n",
	  0, "unknown field \"label\"", 5, 3, "metadata.label", PW_SEV_ERROR,
	  0 },
	{ "unknown field in a selector",
	  NP_HEAD "spec:\n  podSelector:\n    matchLabel: {a: b}\n", 0,
	  "unknown field \"matchLabel\"", 6, 5, "spec.podSelector.matchLabel",
	  PW_SEV_ERROR, 0 },
	{ "unknown field in a container port",
	  POD_HEAD "spec:\n  containers:\n  - name: c\n    ports:\n"
		   "    - {containerPort: 80, prot: TCP}\n",
	  0, "unknown field \"prot\"", 8, 27,
	  "spec.containers[0].ports[0].prot", PW_SEV_ERROR, 0 },
	{ "number as an annotation value",
	  "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n  annotations:\n"
	  "    replicas: 3\n",
	  0, "expected string, got integer", 6, 15,
	  "metadata.annotations[replicas]", PW_SEV_ERROR, 0 },
	{ "string as ownerReferences' controller",
	  "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n"
	  "  ownerReferences:\n"
	  "  - {kind: ReplicaSet, name: r, controller: \"true\"}\n",
	  0, "expected boolean, got string", 6, 45,
	  "metadata.ownerReferences[0].controller", PW_SEV_ERROR, 0 },
	{ "unknown field in ownerReferences",
	  "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n"
	  "  ownerReferences:\n"
	  "  - {kind: ReplicaSet, name: r, contoller: true}\n",
	  0, "unknown field \"contoller\"", 6, 33,
	  "metadata.ownerReferences[0].contoller", PW_SEV_ERROR, 0 },
	{ "two controller owners",
	  "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n"
	  "  ownerReferences:\n"
	  "  - {kind: ReplicaSet, name: r, controller: true}\n"
	  "  - {kind: Job, name: j, controller: true}\n",
	  0, "only one reference can have controller set to true", 7, 5,
	  "metadata.ownerReferences[1]", PW_SEV_ERROR, 0 },
	{ "ownerReferences as a mapping",
	  "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n"
	  "  ownerReferences: {kind: Job}\n",
	  0, "expected sequence, got mapping", 5, 20,
	  "metadata.ownerReferences", PW_SEV_ERROR, 0 },
	{ "unknown field in a pod spec",
	  POD_HEAD "spec:\n  hostNetwerk: true\n", 0,
	  "unknown field \"hostNetwerk\"", 5, 3, "spec.hostNetwerk",
	  PW_SEV_ERROR, 0 },
	{ "unknown field in a service port",
	  "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n"
	  "  ports:\n  - {port: 80, targetport: 8080}\n",
	  0, "unknown field \"targetport\"", 6, 16, "spec.ports[0].targetport",
	  PW_SEV_ERROR, 0 },
	{ "unknown field in a workload spec",
	  "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n"
	  "spec:\n  replica: 3\n  template: {}\n",
	  0, "unknown field \"replica\"", 5, 3, "spec.replica", PW_SEV_ERROR,
	  0 },
	{ "unknown field after metadata",
	  POD_HEAD "  # a comment\n"
		   "metadata2: 1\n",
	  0, "unknown field \"metadata2\"", 5, 1, "metadata2", PW_SEV_ERROR,
	  0 },
	{ "yes as a label value",
	  "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n  labels:\n"
	  "    debug: yes\n",
	  0, "expected string, got boolean", 6, 12, "metadata.labels[debug]",
	  PW_SEV_ERROR, 0 },
	{ "on as a label value",
	  "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: x\n"
	  "  labels: {istio: on}\n",
	  0, "expected string, got boolean", 5, 19, "metadata.labels[istio]",
	  PW_SEV_ERROR, 0 },
	{ "no as a matchLabels value",
	  NP_HEAD "spec:\n  podSelector:\n    matchLabels: {a: no}\n", 0,
	  "expected string, got boolean", 6, 22,
	  "spec.podSelector.matchLabels[a]", PW_SEV_ERROR, 0 },
	{ "integer as a label value",
	  "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n  labels:\n"
	  "    version: 2\n",
	  0, "expected string, got integer", 6, 14, "metadata.labels[version]",
	  PW_SEV_ERROR, 0 },
	{ "integer as a name",
	  "apiVersion: v1\nkind: Pod\nmetadata:\n  name: 123\n", 0,
	  "expected string, got integer", 4, 9, "metadata.name", PW_SEV_ERROR,
	  0 },
	{ "quoted container port",
	  POD_HEAD "spec:\n  containers:\n  - name: c\n    ports:\n"
		   "    - containerPort: \"80\"\n",
	  0, "expected integer, got string", 8, 22,
	  "spec.containers[0].ports[0].containerPort", PW_SEV_ERROR, 0 },
	{ "map where a list belongs",
	  NP_HEAD "spec:\n  ingress:\n    from: []\n", 0,
	  "expected sequence, got mapping", 6, 5, "spec.ingress", PW_SEV_ERROR,
	  0 },
	{ "string where a selector belongs",
	  NP_HEAD "spec:\n  podSelector: app=web\n", 0,
	  "expected mapping, got string", 5, 16, "spec.podSelector",
	  PW_SEV_ERROR, 0 },
	{ "string where a peer selector belongs",
	  NP_HEAD "spec:\n  egress:\n  - to:\n    - namespaceSelector: prod\n",
	  0, "expected mapping, got string", 7, 26,
	  "spec.egress[0].to[0].namespaceSelector", PW_SEV_ERROR, 0 },
	{ "from in an egress rule", NP_HEAD "spec:\n  egress:\n  - from: []\n",
	  0, "unknown field \"from\"", 6, 5, "spec.egress[0].from",
	  PW_SEV_ERROR, 0 },
	{ "boolean as a policy port",
	  NP_HEAD "spec:\n  ingress:\n  - ports:\n    - port: true\n", 0,
	  "expected integer or string, got boolean", 7, 13,
	  "spec.ingress[0].ports[0].port", PW_SEV_ERROR, 0 },
	{ "port out of int32 range",
	  NP_HEAD "spec:\n  ingress:\n  - ports:\n    - port: 99999999999\n", 0,
	  "out of range", 7, 13, "spec.ingress[0].ports[0].port", PW_SEV_ERROR,
	  0 },
	{ "hostNetwork as a string",
	  POD_HEAD "spec:\n  hostNetwork: \"true\"\n", 0,
	  "expected boolean, got string", 5, 16, "spec.hostNetwork",
	  PW_SEV_ERROR, 0 },
	{ "missing containerPort",
	  POD_HEAD "spec:\n  containers:\n  - ports:\n    - name: http\n", 0,
	  "required value", 7, 7, "spec.containers[0].ports[0].containerPort",
	  PW_SEV_ERROR, 0 },
	{ "bad protocol",
	  POD_HEAD "spec:\n  containers:\n  - ports:\n"
		   "    - {containerPort: 80, protocol: tcp}\n",
	  0, "unsupported protocol \"tcp\"", 7, 37,
	  "spec.containers[0].ports[0].protocol", PW_SEV_ERROR, 0 },
	{ "bad pod IP", POD_HEAD "status:\n  podIP: 10.0.0.300\n", 0,
	  "\"10.0.0.300\" is not a valid IP address", 5, 10, "status.podIP",
	  PW_SEV_ERROR, 0 },
	{ "too many pod IPs",
	  POD_HEAD "status:\n  podIPs: [{ip: 10.0.0.1}, {ip: 10.0.0.2}]\n", 0,
	  "at most one address per IP family", 5, 11, "status.podIPs",
	  PW_SEV_ERROR, 0 },
	{ "unknown phase", POD_HEAD "status:\n  phase: Dancing\n", 0,
	  "unknown pod phase \"Dancing\"", 5, 10, "status.phase", PW_SEV_ERROR,
	  0 },
	{ "bad node address",
	  "apiVersion: v1\nkind: Node\nmetadata: {name: n}\nstatus:\n"
	  "  addresses:\n  - {type: InternalIP, address: nope}\n",
	  0, "is not a valid IP address", 6, 33, "status.addresses[0].address",
	  PW_SEV_ERROR, 0 },
	{ "bad node pod CIDR",
	  "apiVersion: v1\nkind: Node\nmetadata: {name: n}\nspec:\n"
	  "  podCIDR: 10.0.0.0/33\n",
	  0, "is not a valid CIDR", 5, 12, "spec.podCIDR", PW_SEV_ERROR, 0 },
	{ "bad cluster IP",
	  "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n"
	  "  clusterIP: 10.96.0.\n",
	  0, "is not a valid IP address", 5, 14, "spec.clusterIP", PW_SEV_ERROR,
	  0 },
	{ "cluster IP as a sequence",
	  "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n"
	  "  clusterIP: [10.96.0.1]\n",
	  0, "expected string, got sequence", 5, 14, "spec.clusterIP",
	  PW_SEV_ERROR, 0 },
	{ "bad entry of clusterIPs",
	  "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n"
	  "  clusterIPs: [10.96.0.1, x]\n",
	  0, "\"x\" is not a valid IP address", 5, 27, "spec.clusterIPs[1]",
	  PW_SEV_ERROR, 0 },
	{ "missing name",
	  "apiVersion: v1\nkind: Pod\nmetadata:\n  namespace: a\n", 0,
	  "required value", 4, 3, "metadata.name", PW_SEV_ERROR, 0 },
	{ "missing metadata", "apiVersion: v1\nkind: Namespace\n", 0,
	  "required value", 1, 1, "metadata.name", PW_SEV_ERROR, 0 },
	{ "missing kind", "apiVersion: v1\nmetadata: {name: x}\n", 0,
	  "needs apiVersion and kind", 1, 1, "kind", PW_SEV_ERROR, 0 },
	{ "missing apiVersion", "kind: Pod\nmetadata: {name: x}\n", 0,
	  "needs apiVersion and kind", 1, 1, "apiVersion", PW_SEV_ERROR, 0 },
	{ "a document that is not a mapping", "- a\n- b\n", 0,
	  "expected mapping (a Kubernetes object), got sequence", 1, 1, "",
	  PW_SEV_ERROR, 0 },
	{ "old apiVersion of a known kind",
	  "apiVersion: extensions/v1beta1\nkind: NetworkPolicy\n"
	  "metadata: {name: p}\n",
	  0, "apiVersion \"extensions/v1beta1\" of kind NetworkPolicy", 1, 13,
	  "apiVersion", PW_SEV_ERROR, 0 },
	{ "a known kind in the wrong case",
	  "apiVersion: networking.k8s.io/v1\nkind: networkpolicy\n"
	  "metadata: {name: p}\n",
	  0, "unknown kind \"networkpolicy\" (did you mean NetworkPolicy?)", 2,
	  7, "kind", PW_SEV_ERROR, 0 },
	{ "other kinds are skipped",
	  "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {a: b}\n",
	  0, "kind ConfigMap (v1) skipped", 1, 1, "", PW_SEV_NOTE, 0 },
	{ "missing workload template",
	  "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n"
	  "spec: {replicas: 2}\n",
	  0, "required value", 1, 1, "spec.template", PW_SEV_ERROR, 0 },
	{ "missing cronjob template",
	  "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: d}\n"
	  "spec:\n  schedule: '* * * * *'\n  jobTemplate:\n    spec: {}\n",
	  0, "required value", 1, 1, "spec.jobTemplate.spec.template",
	  PW_SEV_ERROR, 0 },
	{ "unknown field in a template",
	  "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: d}\nspec:\n"
	  "  template:\n    metadata: {labels: {a: b}}\n    spec:\n"
	  "      containers: [{name: c, portz: []}]\n",
	  0, "unknown field \"portz\"", 8, 30,
	  "spec.template.spec.containers[0].portz", PW_SEV_ERROR, 0 },
	{ "unknown field in a List item",
	  "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n"
	  "  metadata: {name: a}\n- apiVersion: v1\n  kind: Pod\n"
	  "  metadata: {name: b, nmespace: x}\n",
	  0, "unknown field \"nmespace\"", 9, 23, "items[1].metadata.nmespace",
	  PW_SEV_ERROR, 1 },
	{ "items of a List must be a sequence",
	  "apiVersion: v1\nkind: List\nitems: {a: 1}\n", 0,
	  "expected sequence, got mapping", 3, 8, "items", PW_SEV_ERROR, 0 },
	{ "a selector operator that is not a string",
	  NP_HEAD "spec:\n  podSelector:\n    matchExpressions:\n"
		  "    - {key: a, operator: 1}\n",
	  0, "expected string, got integer", 7, 26,
	  "spec.podSelector.matchExpressions[0].operator", PW_SEV_ERROR, 0 },
	{ "values as a string",
	  NP_HEAD "spec:\n  podSelector:\n    matchExpressions:\n"
		  "    - {key: a, operator: In, values: x}\n",
	  0, "expected sequence, got string", 7, 38,
	  "spec.podSelector.matchExpressions[0].values", PW_SEV_ERROR, 0 },
	{ "except as a string",
	  NP_HEAD "spec:\n  ingress:\n  - from:\n    - ipBlock:\n"
		  "        cidr: 10.0.0.0/8\n        except: 10.1.0.0/16\n",
	  0, "expected sequence, got string", 9, 17,
	  "spec.ingress[0].from[0].ipBlock.except", PW_SEV_ERROR, 0 },
	{ "a non-string key", POD_HEAD "? [a]\n: 1\n", 0,
	  "expected a string key, got sequence", 4, 3, "", PW_SEV_ERROR, 0 },
	{ "a NUL in a string",
	  "apiVersion: v1\nkind: Pod\nmetadata: {name: \"a\\0b\"}\n", 0,
	  "NUL character", 3, 18, "metadata.name", PW_SEV_ERROR, 0 },
	{ "syntax error", "apiVersion: v1\nkind: [Pod\n", -EBADMSG, "", 0, 0,
	  NULL, PW_SEV_ERROR, 0 },
	{ "duplicate key", POD_HEAD "kind: Pod\n", -EBADMSG,
	  "duplicate key \"kind\" (first at line 2, column 1)", 4, 1, "kind",
	  PW_SEV_ERROR, 0 },
	{ "trailing garbage after JSON",
	  "{\"apiVersion\": \"v1\", \"kind\": \"Namespace\", "
	  "\"metadata\": {\"name\": \"a\"}} trailing",
	  -EBADMSG, "", 1, 0, NULL, PW_SEV_ERROR, 0 },
};

static void test_cases(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct pw_diag *r;
		int ret = load(cases[i].text);

		CHECK(ret == cases[i].ret, "%s: ret %d, want %d", cases[i].name,
		      ret, cases[i].ret);
		r = find_diag(cases[i].msg);
		CHECK(r && pw_diag_severity(r) == cases[i].sev,
		      "%s: no diagnostic \"%s\"", cases[i].name, cases[i].msg);
		if (!r) {
			dump_diags();
			continue;
		}
		CHECK(!strcmp(pw_diag_file(r), "m.yaml"), "%s: file",
		      cases[i].name);
		if (cases[i].line)
			CHECK(pw_diag_line(r) == cases[i].line,
			      "%s: line %u, want %u", cases[i].name,
			      pw_diag_line(r), cases[i].line);
		if (cases[i].col)
			CHECK(pw_diag_column(r) == cases[i].col,
			      "%s: column %u, want %u", cases[i].name,
			      pw_diag_column(r), cases[i].col);
		if (cases[i].path)
			CHECK(!strcmp(pw_diag_path(r), cases[i].path),
			      "%s: path \"%s\", want \"%s\"", cases[i].name,
			      pw_diag_path(r), cases[i].path);
		/* an object with an error is not added */
		CHECK(c->npods + c->npols + c->nnss + c->nnodes + c->nsvcs ==
			      cases[i].added,
		      "%s: %zu objects added", cases[i].name, cases[i].added);
		CHECK(c->load_errors == (cases[i].sev == PW_SEV_ERROR ?
						 pw_diags_error_count(d) :
						 0),
		      "%s: load_errors %zu", cases[i].name, c->load_errors);
	}
}

/* ---- decoded values ----------------------------------------------- */

static bool addr_is(const struct pw_addr *a, const char *text)
{
	struct pw_addr b;

	return !pw_addr_parse(text, &b) && !memcmp(a, &b, sizeof(b));
}

static const char *label(const struct pw_labels *l, const char *key)
{
	return pw_labels_get(l, key);
}

static void test_pod(void)
{
	const struct pw_pod *p;
	int ret;

	ret = load(
		"apiVersion: v1\n"
		"kind: Pod\n"
		"metadata:\n"
		"  name: web-1\n"
		"  namespace: shop\n"
		"  labels: {tier: front, app: web, version: \"2\"}\n"
		"  annotations: {a: b}\n"
		"  uid: 1234\n"
		"  creationTimestamp: 2024-01-01T00:00:00Z\n"
		"  ownerReferences: [{kind: ReplicaSet, name: web}]\n"
		"spec:\n"
		"  nodeName: node-1\n"
		"  initContainers:\n"
		"  - name: init\n"
		"    ports: [{containerPort: 53, protocol: UDP}]\n"
		"  containers:\n"
		"  - name: main\n"
		"    image: nginx\n"
		"    env: [{name: A, value: 'x'}, {name: B, valueFrom: {}}]\n"
		"    resources: {limits: {cpu: 1}}\n"
		"    ports:\n"
		"    - {name: http, containerPort: 8080}\n"
		"    - {containerPort: 9000, protocol: SCTP, hostPort: 9000}\n"
		"  volumes: [{name: v, emptyDir: {}}]\n"
		"status:\n"
		"  phase: Running\n"
		"  podIP: 10.0.0.5\n"
		"  podIPs: [{ip: 10.0.0.5}, {ip: 'fd00::5'}]\n"
		"  hostIP: 192.168.0.1\n"
		"  conditions: [{type: Ready, status: 'True'}]\n");
	CHECK(ret == 0 && pw_diags_count(d) == 0 && c->npods == 1,
	      "pod loads: ret %d", ret);
	if (c->npods != 1) {
		dump_diags();
		return;
	}
	p = &c->pods[0];
	CHECK(!strcmp(p->ns, "shop") && !strcmp(p->name, "web-1") && !p->kind,
	      "pod name");
	CHECK(p->labels.n == 3 && !strcmp(p->labels.v[0].key, "app") &&
		      !strcmp(label(&p->labels, "version"), "2"),
	      "labels sorted, quoted value kept");
	CHECK(p->labels.v[0].pos.line == 6 && p->labels.v[0].pos.col == 25,
	      "label position %u:%u", p->labels.v[0].pos.line,
	      p->labels.v[0].pos.col);
	CHECK(p->node && !strcmp(p->node, "node-1") && !p->host_network,
	      "node");
	CHECK(p->phase == PW_PHASE_RUNNING, "phase");
	CHECK(p->nips == 2 && addr_is(&p->ips[0], "10.0.0.5") &&
		      addr_is(&p->ips[1], "fd00::5"),
	      "podIPs");
	CHECK(p->nports == 3, "ports of all containers: %zu", p->nports);
	if (p->nports == 3) {
		CHECK(p->ports[0].port == 53 &&
			      p->ports[0].proto == PW_PROTO_UDP &&
			      !p->ports[0].name,
		      "init container port");
		CHECK(p->ports[1].port == 8080 &&
			      p->ports[1].proto == PW_PROTO_TCP &&
			      p->ports[1].name &&
			      !strcmp(p->ports[1].name, "http"),
		      "named port, TCP by default");
		CHECK(p->ports[2].proto == PW_PROTO_SCTP, "SCTP");
		CHECK(p->ports[1].pos.line == 22 && p->ports[1].pos.col == 7,
		      "port position %u:%u", p->ports[1].pos.line,
		      p->ports[1].pos.col);
	}
	CHECK(p->pos.line == 1 && p->pos.col == 1 && p->name_pos.line == 4 &&
		      p->name_pos.col == 9,
	      "positions");
	CHECK(!strcmp(p->pos.file, "m.yaml"), "file");

	ret = load("apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n"
		   "spec: {hostNetwork: true}\n"
		   "status: {podIP: 192.168.1.1, phase: Succeeded}\n");
	CHECK(ret == 0 && c->npods == 1, "second pod");
	if (c->npods == 1) {
		p = &c->pods[0];
		CHECK(!strcmp(p->ns, "default"), "namespace defaults");
		CHECK(p->host_network && p->phase == PW_PHASE_SUCCEEDED &&
			      p->nips == 1 &&
			      addr_is(&p->ips[0], "192.168.1.1"),
		      "hostNetwork, podIP");
		CHECK(!p->node, "no node");
	}
}

static void test_policy(void)
{
	const struct pw_policy *p;
	const struct pw_rule *r;
	const struct pw_peer *peer;
	int ret;

	ret = load("apiVersion: networking.k8s.io/v1\n"
		   "kind: NetworkPolicy\n"
		   "metadata:\n"
		   "  name: db\n"
		   "  namespace: shop\n"
		   "spec:\n"
		   "  podSelector:\n"
		   "    matchLabels: {app: db}\n"
		   "  policyTypes: [Ingress, Egress]\n"
		   "  ingress:\n"
		   "  - from:\n"
		   "    - podSelector:\n"
		   "        matchExpressions:\n"
		   "        - {key: app, operator: In, values: [api, web]}\n"
		   "        - {key: legacy, operator: DoesNotExist}\n"
		   "      namespaceSelector: {}\n"
		   "    - ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16]}\n"
		   "    ports:\n"
		   "    - {port: 5432}\n"
		   "    - {protocol: UDP, port: \"80\"}\n"
		   "    - {port: 8000, endPort: 8080, protocol: TCP}\n"
		   "  egress:\n"
		   "  - {}\n"
		   "  - to:\n"
		   "    - podSelector:\n"
		   "status: {}\n");
	CHECK(ret == 0 && pw_diags_count(d) == 0 && c->npols == 1,
	      "policy loads");
	if (c->npols != 1) {
		dump_diags();
		return;
	}
	p = &c->pols[0];
	CHECK(!strcmp(p->ns, "shop") && !strcmp(p->name, "db"), "name");
	CHECK(p->ns_pos.line == 5 && p->ns_pos.col == 14, "ns_pos");
	CHECK(p->has_pod_sel && p->pod_sel.match_labels.n == 1 &&
		      p->pod_sel.pos.line == 8 && p->pod_sel.pos.col == 5,
	      "podSelector %u:%u", p->pod_sel.pos.line, p->pod_sel.pos.col);
	CHECK(p->ntypes == 2 && !strcmp(p->types[1].text, "Egress") &&
		      p->types[1].pos.line == 9 && p->types[1].pos.col == 26 &&
		      p->types_pos.line == 9 && p->types_pos.col == 16,
	      "policyTypes");
	CHECK(p->nrules[PW_DIR_INGRESS] == 1 && p->nrules[PW_DIR_EGRESS] == 2,
	      "rules");
	CHECK(p->rules_pos[PW_DIR_EGRESS].line == 23, "egress pos");
	r = &p->rules[PW_DIR_INGRESS][0];
	CHECK(r->npeers == 2 && r->nports == 3 && r->pos.line == 11 &&
		      r->pos.col == 5,
	      "ingress rule");
	peer = &r->peers[0];
	CHECK(peer->has_pod_sel && peer->has_ns_sel && !peer->has_ipblock &&
		      peer->pod_sel.nreqs == 2 && peer->ns_sel.nreqs == 0,
	      "peer 0");
	CHECK(peer->pod_sel.reqs[0].op == PW_SEL_IN &&
		      peer->pod_sel.reqs[0].nvalues == 2 &&
		      !strcmp(peer->pod_sel.reqs[0].values[1], "web") &&
		      peer->pod_sel.reqs[0].value_pos[1].col == 50 &&
		      peer->pod_sel.reqs[0].values_present,
	      "In requirement");
	CHECK(peer->pod_sel.reqs[1].op == PW_SEL_DOES_NOT_EXIST &&
		      !peer->pod_sel.reqs[1].values_present &&
		      !strcmp(peer->pod_sel.reqs[1].op_text, "DoesNotExist") &&
		      peer->pod_sel.reqs[1].op_pos.line == 15,
	      "DoesNotExist requirement");
	peer = &r->peers[1];
	CHECK(peer->has_ipblock && !peer->has_pod_sel &&
		      !strcmp(peer->ipblock.cidr_text, "10.0.0.0/8") &&
		      peer->ipblock.nexcept == 1 &&
		      !strcmp(peer->ipblock.except[0].text, "10.1.0.0/16") &&
		      peer->ipblock.cidr_pos.line == 17 &&
		      peer->ipblock.cidr_pos.col == 23,
	      "ipBlock");
	CHECK(r->ports[0].has_port && !r->ports[0].named &&
		      r->ports[0].port == 5432 && !r->ports[0].proto_text,
	      "numeric port");
	CHECK(r->ports[1].has_port && r->ports[1].named &&
		      !strcmp(r->ports[1].name, "80") &&
		      !strcmp(r->ports[1].proto_text, "UDP"),
	      "quoted \"80\" is the port name \"80\"");
	CHECK(r->ports[2].has_end && r->ports[2].end_port == 8080 &&
		      r->ports[2].end_pos.line == 21,
	      "endPort");
	r = p->rules[PW_DIR_EGRESS];
	CHECK(r[0].npeers == 0 && r[0].nports == 0, "empty egress rule");
	CHECK(r[1].npeers == 1 && !r[1].peers[0].has_pod_sel,
	      "a null podSelector is absent");
}

static void test_namespace_node_service(void)
{
	const struct pw_service *s;
	const struct pw_node *n;
	int ret;

	ret = load("apiVersion: v1\nkind: Namespace\n"
		   "metadata: {name: shop, labels: {team: a}}\n"
		   "spec: {finalizers: [kubernetes]}\nstatus: {phase: Active}\n"
		   "---\n"
		   "apiVersion: v1\nkind: Node\nmetadata: {name: n1}\n"
		   "spec: {podCIDR: 10.244.1.0/24, podCIDRs: [10.244.1.0/24, "
		   "'fd00:1::/64'], taints: []}\n"
		   "status:\n  capacity: {cpu: 4}\n  addresses:\n"
		   "  - {type: Hostname, address: n1}\n"
		   "  - {type: InternalIP, address: 192.168.0.10}\n"
		   "  - {type: ExternalIP, address: 203.0.113.7}\n"
		   "---\n"
		   "apiVersion: v1\nkind: Node\nmetadata: {name: n2}\n"
		   "spec: {podCIDR: 10.244.2.0/24}\n"
		   "---\n"
		   "apiVersion: v1\nkind: Service\n"
		   "metadata: {name: web, namespace: shop}\n"
		   "spec:\n  type: ClusterIP\n  selector: {app: web}\n"
		   "  clusterIP: 10.96.0.10\n"
		   "  ports:\n  - {name: http, port: 80, targetPort: 8080}\n"
		   "  - {port: 443, targetPort: https, protocol: TCP}\n"
		   "  - {port: 53, protocol: UDP}\n"
		   "---\n"
		   "apiVersion: v1\nkind: Service\n"
		   "metadata: {name: headless}\n"
		   "spec: {clusterIP: None, clusterIPs: [None]}\n"
		   "---\n"
		   "apiVersion: v1\nkind: Service\n"
		   "metadata: {name: dual}\n"
		   "spec: {clusterIP: 10.96.0.1, clusterIPs: [10.96.0.2, "
		   "'fd00::2']}\n");
	CHECK(ret == 0 && pw_diags_count(d) == 0, "loads");
	if (pw_diags_count(d))
		dump_diags();
	CHECK(c->nnss == 1 && c->nss[0].declared &&
		      !strcmp(label(&c->nss[0].labels, "team"), "a"),
	      "namespace");
	CHECK(c->nnodes == 2, "nodes");
	if (c->nnodes == 2) {
		n = &c->nodes[0];
		CHECK(n->naddrs == 2 && addr_is(&n->addrs[0], "192.168.0.10") &&
			      addr_is(&n->addrs[1], "203.0.113.7"),
		      "node addresses");
		CHECK(n->npod_cidrs == 2 && n->pod_cidrs[1].addr.family == 6,
		      "podCIDRs win");
		CHECK(c->nodes[1].npod_cidrs == 1 && c->nodes[1].naddrs == 0,
		      "podCIDR alone");
	}
	CHECK(c->nsvcs == 3, "services");
	if (c->nsvcs != 3)
		return;
	s = &c->svcs[2];
	CHECK(s->ncluster_ips == 2 &&
		      addr_is(&s->cluster_ips[0], "10.96.0.2") &&
		      addr_is(&s->cluster_ips[1], "fd00::2"),
	      "clusterIPs win over clusterIP");
	s = &c->svcs[0];
	CHECK(s->has_selector && !strcmp(label(&s->selector, "app"), "web"),
	      "selector");
	CHECK(s->ncluster_ips == 1 && addr_is(&s->cluster_ips[0], "10.96.0.10"),
	      "clusterIP");
	CHECK(s->nports == 3 && s->ports[0].target_port == 8080 &&
		      !s->ports[0].target_named &&
		      !strcmp(s->ports[0].name, "http"),
	      "targetPort number");
	CHECK(s->ports[1].target_named &&
		      !strcmp(s->ports[1].target_name, "https"),
	      "targetPort name");
	CHECK(s->ports[2].target_port == 53 &&
		      s->ports[2].proto == PW_PROTO_UDP,
	      "targetPort defaults to port");
	s = &c->svcs[1];
	CHECK(!strcmp(s->ns, "default") && !s->has_selector &&
		      s->ncluster_ips == 0,
	      "headless service");
}

static const struct {
	const char *kind;
	const char *api;
	const char *spec; /* the spec up to its pod template */
	int indent; /* of the template's fields */
} workloads[] = {
	{ "Deployment", "apps/v1",
	  "spec:\n  replicas: 3\n  selector: {}\n  strategy: {type: Recreate}\n"
	  "  template:\n",
	  4 },
	{ "StatefulSet", "apps/v1", "spec:\n  serviceName: x\n  template:\n",
	  4 },
	{ "DaemonSet", "apps/v1", "spec:\n  updateStrategy: {}\n  template:\n",
	  4 },
	{ "ReplicaSet", "apps/v1", "spec:\n  replicas: 1\n  template:\n", 4 },
	{ "ReplicationController", "v1", "spec:\n  replicas: 1\n  template:\n",
	  4 },
	{ "Job", "batch/v1", "spec:\n  backoffLimit: 4\n  template:\n", 4 },
	{ "CronJob", "batch/v1",
	  "spec:\n  schedule: '@daily'\n  jobTemplate:\n    metadata: {}\n"
	  "    spec:\n      template:\n",
	  8 },
};

/* The pod template, its fields indented by n. */
static void template_text(char *buf, size_t len, int n)
{
	snprintf(buf, len,
		 "%*smetadata:\n"
		 "%*s  labels: {app: w}\n"
		 "%*sspec:\n"
		 "%*s  hostNetwork: false\n"
		 "%*s  containers:\n"
		 "%*s  - name: c\n"
		 "%*s    ports: [{containerPort: 7000}]\n",
		 n, "", n, "", n, "", n, "", n, "", n, "", n, "");
}

static void test_workloads(void)
{
	for (size_t i = 0; i < sizeof(workloads) / sizeof(workloads[0]); i++) {
		char text[2048], tmpl[1024];
		const struct pw_pod *p;
		int ret;

		template_text(tmpl, sizeof(tmpl), workloads[i].indent);
		snprintf(
			text, sizeof(text),
			"apiVersion: %s\nkind: %s\n"
			"metadata: {name: w, namespace: prod, labels: {x: z}}\n"
			"%s%s",
			workloads[i].api, workloads[i].kind, workloads[i].spec,
			tmpl);
		ret = load(text);
		CHECK(ret == 0 && c->npods == 1 && pw_diags_count(d) == 0,
		      "%s loads", workloads[i].kind);
		if (c->npods != 1) {
			printf("%s", text);
			dump_diags();
			continue;
		}
		p = &c->pods[0];
		CHECK(p->kind && !strcmp(p->kind, workloads[i].kind),
		      "%s: kind", workloads[i].kind);
		CHECK(!strcmp(p->name, "w") && !strcmp(p->ns, "prod"),
		      "%s: name", workloads[i].kind);
		CHECK(p->labels.n == 1 &&
			      !strcmp(label(&p->labels, "app"), "w"),
		      "%s: template labels, not the workload's",
		      workloads[i].kind);
		CHECK(p->nports == 1 && p->ports[0].port == 7000 && !p->nips &&
			      !p->node && p->phase == PW_PHASE_NONE,
		      "%s: ports, no IP, no node", workloads[i].kind);
	}
}

static void test_list_json_multidoc(void)
{
	int ret;

	ret = load(
		"apiVersion: v1\nkind: List\nmetadata: {resourceVersion: ''}\n"
		"items:\n"
		"- apiVersion: v1\n  kind: Namespace\n  metadata: {name: a}\n"
		"- apiVersion: v1\n  kind: Pod\n"
		"  metadata: {name: p, namespace: a}\n"
		"- apiVersion: v1\n  kind: Secret\n  metadata: {name: s}\n"
		"- apiVersion: v1\n  kind: List\n  items:\n"
		"  - apiVersion: v1\n    kind: Pod\n"
		"    metadata: {name: q, namespace: a}\n");
	CHECK(ret == 0 && c->nnss == 1 && c->npods == 2, "List: ret %d", ret);
	CHECK(c->npods == 2 && c->pods[1].pos.line == 17 &&
		      c->pods[1].pos.col == 5,
	      "List item positions");
	CHECK(find_diag("kind Secret (v1) skipped"), "note for Secret");

	ret = load("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicyList\n"
		   "items:\n- apiVersion: networking.k8s.io/v1\n"
		   "  kind: NetworkPolicy\n  metadata: {name: p}\n"
		   "  spec: {podSelector: {}}\n");
	CHECK(ret == 0 && c->npols == 1, "NetworkPolicyList");

	ret = load(
		"{\"apiVersion\": \"v1\", \"kind\": \"Pod\",\n"
		" \"metadata\": {\"name\": \"j\", \"labels\": {\"a\": \"1\"}},\n"
		" \"spec\": {\"containers\": [{\"name\": \"c\", \"ports\": "
		"[{\"containerPort\": 80}]}]}}\n");
	CHECK(ret == 0 && c->npods == 1 && c->pods[0].nports == 1 &&
		      !strcmp(label(&c->pods[0].labels, "a"), "1"),
	      "JSON pod");
	ret = load("{\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"metadata\": "
		   "{\"name\": \"j\", \"labels\": {\"a\": 1}}}\n");
	CHECK(ret == 0 && c->npods == 0 &&
		      find_diag("expected string, got integer"),
	      "JSON number as a label value");

	ret = load(
		"---\napiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n"
		"---\n---\n"
		"apiVersion: v1\nkind: Namespace\nmetadata: {name: b}\n...\n");
	CHECK(ret == 0 && c->nnss == 2, "multi-document");
}

/* Errors in one object do not stop the others. */
static void test_errors_isolated(void)
{
	int ret;

	ret = load(
		"apiVersion: v1\nkind: Pod\nmetadata: {name: a, x: 1}\n"
		"---\n"
		"apiVersion: v1\nkind: Pod\nmetadata: {name: b}\n"
		"---\n"
		"apiVersion: v1\nkind: Pod\nmetadata: {name: c, labels: {a: on}}\n"
		"spec: {hostNetwork: 1}\n");
	CHECK(ret == 0 && c->npods == 1 && !strcmp(c->pods[0].name, "b"),
	      "the good pod is kept");
	CHECK(pw_diags_error_count(d) == 3 && c->load_errors == 3,
	      "every error reported: %zu", pw_diags_error_count(d));
	CHECK(pw_cluster_finalize(c, d) == -EINVAL, "finalize fails");
}

static void test_bad_file_adds_nothing(void)
{
	int ret = load("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n"
		       "---\nkey: [\n");

	CHECK(ret == -EBADMSG && c->nnss == 0 && c->load_errors == 1,
	      "nothing of a file that does not parse");
	CHECK(pw_cluster_finalize(c, d) == -EINVAL, "finalize fails");
}

/* ---- hostile input ------------------------------------------------ */

/* Ten aliases per level through the levels a policy nests (List items,
 * rules, peers, requirements, values): 10^5 visits from a few hundred
 * bytes, and one more level per factor of ten. */
static void test_alias_bomb(void)
{
	static const char *const levels[][2] = {
		{ "m", "{key: k, operator: In, values: *v}" },
		{ "f", "{podSelector: {matchExpressions: *m}}" },
		{ "i", "{from: *f}" },
		{ "p",
		  "{apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, "
		  "metadata: {name: p}, spec: {ingress: *i}}" },
	};
	char text[8192], *p = text;
	double t0;
	int ret;

	p += sprintf(p, "apiVersion: v1\nkind: List\nmetadata:\n"
			"  v: &v [a, a, a, a, a, a, a, a, a, a]\n");
	for (size_t l = 0; l < sizeof(levels) / sizeof(levels[0]); l++) {
		p += sprintf(p, "  %s: &%s [", levels[l][0], levels[l][0]);
		for (int i = 0; i < 10; i++)
			p += sprintf(p, "%s%s", i ? ", " : "", levels[l][1]);
		p += sprintf(p, "]\n");
	}
	sprintf(p, "items: *p\n");
	t0 = now();
	ret = load(text);
	CHECK(ret == -EBADMSG, "alias bomb: ret %d", ret);
	CHECK(find_diag("beyond its budget"), "budget message");
	CHECK(c->npols == 0, "nothing of the document is kept: %zu", c->npols);
	CHECK(now() - t0 < 2.0, "the bomb fails fast: %.2fs", now() - t0);

	/* aliases within the budget are fine */
	ret = load("apiVersion: v1\nkind: Pod\n"
		   "metadata: {name: a, labels: &l {app: web}}\n"
		   "---\napiVersion: v1\nkind: Pod\n"
		   "metadata: {name: b, labels: {app: web}}\n");
	CHECK(ret == 0 && c->npods == 2, "small aliases");
}

static void test_deep_and_big(void)
{
	const size_t levels = 200000, big = 8u << 20;
	char *text = malloc(big + 64);
	double t0;
	int ret;

	strcpy(text, "apiVersion: v1\nkind: Pod\nspec: ");
	memset(text + strlen(text), '[', levels);
	text[31 + levels] = '\0';
	t0 = now();
	ret = load(text);
	CHECK(ret == -EBADMSG && find_diag("nesting deeper"),
	      "200k levels: ret %d", ret);
	CHECK(now() - t0 < 2.0, "quick: %.2fs", now() - t0);

	memcpy(text, "apiVersion: v1\nkind: Pod\nmetadata: {name: ", 42);
	memset(text + 42, 'a', big);
	memcpy(text + 42 + big, "}\n", 3);
	ret = load(text);
	CHECK(ret == -EBADMSG && find_diag("exceeds the limit"),
	      "8 MB scalar: ret %d", ret);
	free(text);
}

static void test_random_input(void)
{
	static const char *const words[] = {
		"apiVersion: v1\n",
		"kind: Pod\n",
		"metadata:\n",
		"  name: a\n",
		"  labels: {a: yes}\n",
		"spec:\n",
		"  containers:\n",
		"  - ports: [{containerPort: 80}]\n",
		"---\n",
		"&x ",
		"*x ",
		"[",
		"]",
		"{",
		"}",
		": ",
		"\n",
		"- ",
		"\"",
		"\xff",
		"kind: NetworkPolicy\n",
		"apiVersion: networking.k8s.io/v1\n",
		"  ingress: [{}]\n",
	};
	uint64_t s = 42;
	char buf[1024];
	int other = 0, errors = 0;

	for (int iter = 0; iter < 2000; iter++) {
		size_t len = 0;
		int ret;

		while (len < 600) {
			const char *w;

			s ^= s << 13;
			s ^= s >> 7;
			s ^= s << 17;
			w = words[s % (sizeof(words) / sizeof(words[0]))];
			if (iter % 3 == 0)
				buf[len++] = (char)(s >> 32);
			else
				len += (size_t)snprintf(
					buf + len, sizeof(buf) - len, "%s", w);
		}
		ret = load_buffer_reset(buf, len);
		if (ret != 0 && ret != -EBADMSG)
			other++;
		if (ret == -EBADMSG && !pw_diags_error_count(d))
			errors++;
		pw_cluster_finalize(c, d);
	}
	CHECK(other == 0, "random input: %d unexpected returns", other);
	CHECK(errors == 0, "random input: %d failures without a message",
	      errors);
}

static void test_empty(void)
{
	CHECK(load("") == 0 && pw_diags_count(d) == 0, "empty input");
	CHECK(pw_cluster_load_buffer(c, "null", NULL, 0, d) == 0,
	      "a NULL buffer of length 0");
	CHECK(load("---\n...\n# nothing\n") == 0 && pw_diags_count(d) == 0,
	      "empty documents");
	CHECK(pw_cluster_finalize(c, d) == 0 && c->nnss == 0,
	      "an empty cluster finalizes");
}

/* ---- finalize ----------------------------------------------------- */

static void test_finalize(void)
{
	const struct pw_namespace *ns;
	int ret;

	ret = load(
		"apiVersion: v1\nkind: Namespace\nmetadata: {name: zeta}\n"
		"---\napiVersion: v1\nkind: Pod\n"
		"metadata: {name: b, namespace: shop}\n"
		"---\napiVersion: apps/v1\nkind: Deployment\n"
		"metadata: {name: a, namespace: shop}\n"
		"spec: {template: {}}\n"
		"---\napiVersion: v1\nkind: Pod\n"
		"metadata: {name: a, namespace: shop}\n"
		"---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
		"metadata: {name: p}\nspec: {podSelector: {}}\n"
		"---\napiVersion: v1\nkind: Service\n"
		"metadata: {name: s, namespace: alpha}\n"
		"---\napiVersion: v1\nkind: Node\nmetadata: {name: n2}\n"
		"---\napiVersion: v1\nkind: Node\nmetadata: {name: n1}\n");
	CHECK(ret == 0, "loads");
	ret = pw_cluster_finalize(c, d);
	CHECK(ret == 0, "finalizes: %d", ret);
	if (ret)
		dump_diags();
	CHECK(pw_cluster_count(c, PW_KIND_NAMESPACE) == 4 &&
		      pw_cluster_count(c, PW_KIND_POD) == 3 &&
		      pw_cluster_count(c, PW_KIND_NETWORK_POLICY) == 1 &&
		      pw_cluster_count(c, PW_KIND_SERVICE) == 1 &&
		      pw_cluster_count(c, PW_KIND_NODE) == 2,
	      "counts");
	CHECK(c->nnss == 4 && !strcmp(c->nss[0].name, "alpha") &&
		      !strcmp(c->nss[1].name, "default") &&
		      !strcmp(c->nss[2].name, "shop") &&
		      !strcmp(c->nss[3].name, "zeta"),
	      "namespaces sorted, referenced ones added");
	ns = pw_cluster_find_ns(c, "shop");
	CHECK(ns && !ns->declared &&
		      !strcmp(label(&ns->labels, PW_NS_NAME_LABEL), "shop"),
	      "implicit namespace with its name label");
	ns = pw_cluster_find_ns(c, "zeta");
	CHECK(ns && ns->declared &&
		      !strcmp(label(&ns->labels, PW_NS_NAME_LABEL), "zeta"),
	      "declared namespace gets the label too");
	CHECK(!pw_cluster_find_ns(c, "nope"), "find_ns: absent");
	CHECK(!strcmp(c->pods[0].name, "a") && !c->pods[0].kind &&
		      !strcmp(c->pods[1].name, "a") && c->pods[1].kind &&
		      !strcmp(c->pods[2].name, "b"),
	      "pods by name, Pods before templates");
	CHECK(!strcmp(c->nodes[0].name, "n1"), "nodes sorted");
	CHECK(c->finalized && c->valid, "flags");
}

static void test_duplicates(void)
{
	const struct pw_diag *r;
	int ret;

	ret = load("apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n"
		   "---\napiVersion: v1\nkind: Pod\nmetadata: {name: a}\n"
		   "---\napiVersion: apps/v1\nkind: Deployment\n"
		   "metadata: {name: a}\nspec: {template: {}}\n");
	CHECK(ret == 0, "loads");
	CHECK(pw_cluster_finalize(c, d) == -EINVAL, "duplicates are errors");
	r = find_diag(
		"duplicate Pod \"default/a\" (also defined at m.yaml:3:18)");
	CHECK(r && pw_diag_line(r) == 7 && pw_diag_column(r) == 18,
	      "duplicate names both positions");
	if (!r)
		dump_diags();
	CHECK(pw_diags_error_count(d) == 1,
	      "a template does not clash with a Pod: %zu errors",
	      pw_diags_error_count(d));
}

/* ---- paths -------------------------------------------------------- */

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static void test_paths(void)
{
	char dir[] = "/tmp/pw-test-decode-XXXXXX", path[512];
	int ret;

	if (!mkdtemp(dir)) {
		CHECK(0, "mkdtemp");
		return;
	}
	snprintf(path, sizeof(path), "%s/sub", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/.hidden", dir);
	mkdir(path, 0755);
	write_file(dir, "b.yaml",
		   "apiVersion: v1\nkind: Namespace\nmetadata: {name: b}\n");
	write_file(dir, "sub/a.yml",
		   "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n");
	write_file(dir, "c.json",
		   "{\"apiVersion\": \"v1\", \"kind\": \"Namespace\", "
		   "\"metadata\": {\"name\": \"c\"}}");
	write_file(dir, "notes.txt", "not: [a manifest\n");
	write_file(dir, ".hidden/x.yaml", "not: [a manifest\n");
	snprintf(path, sizeof(path), "%s/sub/loop", dir);
	CHECK(symlink("..", path) == 0, "symlink");
	/* neither a dangling link that is no manifest nor a FIFO is read */
	snprintf(path, sizeof(path), "%s/dangling", dir);
	CHECK(symlink("nowhere", path) == 0, "dangling symlink");
	snprintf(path, sizeof(path), "%s/fifo.yaml", dir);
	CHECK(mkfifo(path, 0600) == 0, "fifo");

	reset();
	ret = pw_cluster_load_path(c, dir, d);
	CHECK(ret == 0 && c->nnss == 3 && pw_diags_count(d) == 0,
	      "directory: ret %d, %zu namespaces", ret, c->nnss);
	/* sorted by full path: b.yaml, c.json, sub/a.yml */
	CHECK(c->nnss == 3 && !strcmp(c->nss[0].name, "b") &&
		      !strcmp(c->nss[1].name, "c") &&
		      !strcmp(c->nss[2].name, "a"),
	      "files in sorted order");
	CHECK(c->nnss == 3 && strstr(c->nss[2].pos.file, "/sub/a.yml"),
	      "positions name the file");

	snprintf(path, sizeof(path), "%s/b.yaml", dir);
	reset();
	CHECK(pw_cluster_load_path(c, path, d) == 0 && c->nnss == 1,
	      "one file");
	snprintf(path, sizeof(path), "%s/notes.txt", dir);
	reset();
	CHECK(pw_cluster_load_path(c, path, d) == -EBADMSG,
	      "a file named explicitly is read whatever its name");

	snprintf(path, sizeof(path), "%s/missing.yaml", dir);
	reset();
	ret = pw_cluster_load_path(c, path, d);
	CHECK(ret == -ENOENT && pw_diags_error_count(d) == 1 &&
		      c->load_errors == 1,
	      "missing file: %d", ret);
	CHECK(find_diag("cannot read"), "missing file message");

	/* standard input */
	snprintf(path, sizeof(path), "%s/b.yaml", dir);
	{
		int saved = dup(0), fd = open(path, O_RDONLY);

		dup2(fd, 0);
		close(fd);
		reset();
		ret = pw_cluster_load_path(c, "-", d);
		dup2(saved, 0);
		close(saved);
		CHECK(ret == 0 && c->nnss == 1 &&
			      !strcmp(c->nss[0].pos.file, "-"),
		      "standard input");
	}

	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	CHECK(system(path) == 0, "cleanup");
}

/* The realistic samples under tests/data/reader load and validate. */
/* Annotations on every kind, ns_pos, and the controller owner of pods. */
static const char meta_yaml[] =
	"apiVersion: v1\nkind: Namespace\n"
	"metadata: {name: shop, annotations: {owner: team-a}}\n"
	"---\n"
	"apiVersion: v1\nkind: Pod\nmetadata:\n"
	"  name: web-7d4b9c-x2kq9\n  namespace: shop\n"
	"  annotations: {podwall.io/lint-ignore: \"PW004: why\"}\n"
	"  ownerReferences:\n"
	"  - {apiVersion: v1, kind: Node, name: n1, uid: u0}\n"
	"  - {apiVersion: apps/v1, kind: ReplicaSet, name: web-7d4b9c,\n"
	"     uid: u1, controller: true, blockOwnerDeletion: true}\n"
	"---\n"
	"apiVersion: v1\nkind: Pod\nmetadata:\n  name: loose\n"
	"  ownerReferences: [{kind: ReplicaSet, name: r, controller: false}]\n"
	"---\n"
	"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n"
	"  name: api\n  namespace: shop\n  annotations: {a: workload}\n"
	"  ownerReferences: [{kind: X, name: z, controller: true}]\n"
	"spec:\n  template:\n"
	"    metadata: {labels: {app: api}, annotations: {a: template}}\n"
	"    spec: {containers: [{name: c}]}\n"
	"---\n"
	"apiVersion: v1\nkind: Service\n"
	"metadata: {name: s, annotations: {b: svc}}\n"
	"---\n"
	"apiVersion: v1\nkind: Node\nmetadata: {name: n1, annotations: {c: node}}\n"
	"---\n"
	"apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
	"metadata: {name: p, namespace: shop, annotations: {d: pol}}\n"
	"spec: {podSelector: {}}\n";

/* The value of key in l, "" when absent (so a failure is not a crash). */
static const char *ann(const struct pw_labels *l, const char *key)
{
	const char *v = pw_labels_get(l, key);

	return v ? v : "";
}

static void test_annotations_owners(void)
{
	const struct pw_pod *web, *loose, *api;

	CHECK(load(meta_yaml) == 0 && pw_cluster_finalize(c, d) == 0, "loads");
	if (pw_diags_count(d))
		dump_diags();
	if (c->npods != 3 || c->nnss < 2 || c->nsvcs != 1 || c->nnodes != 1 ||
	    c->npols != 1) {
		CHECK(false, "objects: %zu pods", c->npods);
		return;
	}
	/* sorted: default/loose, shop/api[Deployment], shop/web-... */
	loose = &c->pods[0];
	api = &c->pods[1];
	web = &c->pods[2];
	CHECK(!strcmp(ann(&web->annotations, "podwall.io/lint-ignore"),
		      "PW004: why"),
	      "pod annotation");
	CHECK(web->owner.kind && !strcmp(web->owner.kind, "ReplicaSet") &&
		      !strcmp(web->owner.name, "web-7d4b9c"),
	      "the controller owner, not the first reference");
	CHECK(web->ns_pos.line == 9 && !loose->ns_pos.line &&
		      !strcmp(loose->ns, "default"),
	      "ns_pos: written or not");
	CHECK(!loose->owner.kind && !loose->owner.name,
	      "controller: false is no controller");
	CHECK(!strcmp(api->kind, "Deployment") &&
		      !strcmp(ann(&api->annotations, "a"), "workload") &&
		      !api->owner.kind && api->ns_pos.line == 26,
	      "a template: the workload's annotations, no owner");
	CHECK(!strcmp(ann(&c->svcs[0].annotations, "b"), "svc") &&
		      !c->svcs[0].ns_pos.line,
	      "service annotations and ns_pos");
	CHECK(!strcmp(ann(&c->nodes[0].annotations, "c"), "node"),
	      "node annotations");
	CHECK(!strcmp(ann(&c->pols[0].annotations, "d"), "pol"),
	      "policy annotations");
	CHECK(!strcmp(ann(&pw_cluster_find_ns(c, "shop")->annotations, "owner"),
		      "team-a") &&
		      !pw_cluster_find_ns(c, "default")->annotations.n,
	      "namespace annotations; none on an implicit one");
}

static void test_samples(void)
{
	reset();
	CHECK(pw_cluster_load_path(c, "tests/data/reader", d) == 0 &&
		      pw_cluster_finalize(c, d) == 0,
	      "samples load cleanly");
	if (pw_diags_error_count(d))
		dump_diags();
	CHECK(c->npods >= 5 && c->npols >= 3 && c->nnodes >= 1 && c->nsvcs >= 1,
	      "samples: %zu pods, %zu policies", c->npods, c->npols);
}

int main(void)
{
	test_cases();
	test_pod();
	test_policy();
	test_namespace_node_service();
	test_workloads();
	test_list_json_multidoc();
	test_errors_isolated();
	test_bad_file_adds_nothing();
	test_alias_bomb();
	test_deep_and_big();
	test_random_input();
	test_empty();
	test_finalize();
	test_duplicates();
	test_paths();
	test_annotations_owners();
	test_samples();
	pw_cluster_free(c);
	pw_diags_free(d);
	return check_done("decode");
}
