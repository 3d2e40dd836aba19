// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target for the expectations file: the bytes go through the
 * parser, and whatever parses is checked against a small fixed cluster
 * (pods in two namespaces, an ipBlock with an except, a named port, an
 * endPort range), so the checker meets every shape the parser lets
 * through. Any input must end in a result or clean diagnostics, never a
 * crash, a leak or a hang.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <podwall/assert.h>
#include <podwall/podwall.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char cluster_yaml[] =
	"apiVersion: v1\nkind: Pod\n"
	"metadata: {name: web, namespace: a, labels: {app: web}}\n"
	"spec: {containers: [{name: c, image: i, ports: [{name: http, "
	"containerPort: 80}]}]}\n"
	"status: {phase: Running, podIP: 10.1.0.1}\n"
	"---\napiVersion: v1\nkind: Pod\n"
	"metadata: {name: db, namespace: b, labels: {app: db}}\n"
	"spec: {containers: [{name: c, image: i}]}\n"
	"status: {phase: Running, podIPs: [{ip: 10.2.0.1}, {ip: 'fd00::1'}]}\n"
	"---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
	"metadata: {name: p, namespace: b}\n"
	"spec:\n"
	"  podSelector: {}\n"
	"  policyTypes: [Ingress, Egress]\n"
	"  ingress:\n"
	"  - from: [{namespaceSelector: {}}]\n"
	"    ports: [{port: http}, {port: 7000, endPort: 7100}]\n"
	"  egress:\n"
	"  - to: [{ipBlock: {cidr: 0.0.0.0/0, except: [10.0.0.0/8]}}]\n";

static struct pw_engine *engine(void)
{
	static struct pw_engine *e;
	struct pw_cluster *c;
	struct pw_diags *d;

	if (e)
		return e;
	c = pw_cluster_new();
	d = pw_diags_new();
	if (!c || !d ||
	    pw_cluster_load_buffer(c, "cluster.yaml", cluster_yaml,
				   strlen(cluster_yaml), d) ||
	    pw_cluster_finalize(c, d))
		abort();
	pw_diags_free(d);
	/* the cluster lives as long as the process, with the engine */
	e = pw_engine_new(c);
	if (!e)
		abort();
	return e;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pw_diags *d = pw_diags_new();
	struct pw_expect_set *x;
	struct pw_assert_result *r;
	char buf[256];

	if (!d)
		return 0;
	x = pw_expect_set_parse("fuzz.yaml", (const char *)data, size, d);
	/* a failed parse says why; a good one says nothing */
	if (!x && errno == EBADMSG && !pw_diags_error_count(d))
		abort();
	if (x && pw_diags_error_count(d))
		abort();
	for (size_t i = 0; i < pw_diags_count(d); i++)
		pw_diag_format(pw_diags_get(d, i), buf, sizeof(buf));
	r = x ? pw_assert_check(engine(), x) : NULL;
	for (size_t i = 0; r && i < pw_assert_count(r); i++) {
		/* a result is a pass, or a failure with a reason */
		if (!pw_assert_passed(r, i) && !pw_assert_note(r, i) &&
		    !pw_assert_counterexample(r, i))
			abort();
		if (pw_assert_passed(r, i) &&
		    pw_assert_stat(r, i, PW_ASSERT_VIOLATIONS))
			abort();
	}
	pw_assert_result_free(r);
	pw_expect_set_free(x);
	pw_diags_free(d);
	return 0;
}
