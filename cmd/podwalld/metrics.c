// SPDX-License-Identifier: Apache-2.0
/*
 * The agent's metrics in Prometheus text format (exposition format
 * 0.0.4). docs/AGENT.md lists every series and what it means.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "agent.h"

/* Reconciling 1k pods takes milliseconds, 10k tens to hundreds; the
 * target for event to enforcement is 100 ms at p99. */
static const double duration_bounds[] = { 0.001, 0.002, 0.005, 0.01, 0.02,
					  0.035, 0.05,	0.075, 0.1,  0.25,
					  0.5,	 1,	2.5,   5,    10 };

void metrics_init(struct metrics *m)
{
	m->reconcile_seconds.bounds = duration_bounds;
	m->reconcile_seconds.nb = sizeof(duration_bounds) / sizeof(double);
	m->latency_seconds.bounds = duration_bounds;
	m->latency_seconds.nb = sizeof(duration_bounds) / sizeof(double);
}

static const char *const kind_names[PW_KIND_NR] = {
	[PW_KIND_NAMESPACE] = "Namespace",
	[PW_KIND_POD] = "Pod",
	[PW_KIND_NETWORK_POLICY] = "NetworkPolicy",
	[PW_KIND_NODE] = "Node",
	[PW_KIND_SERVICE] = "Service",
};

static const char *const event_names[] = {
	[SRC_UPSERT] = "upsert",
	[SRC_DELETE] = "delete",
	[SRC_SYNCED] = "synced",
	[SRC_RESET] = "reset",
};

static const char *const stage_names[] = { "build", "compile", "kernel" };

/* Source kinds the store may hold: a fixed list, so labels stay bounded
 * whatever a source sends. */
static const char *const store_kinds[] = { "File", "Namespace",
					   "Pod",  "NetworkPolicy",
					   "Node", "Service" };

static void render_counts(FILE *f, const struct agent *a)
{
	const struct metrics *m = &a->m;

	metric_help(
		f, "podwall_reconciles_total", "counter",
		"Reconciles by result: ok (applied), invalid (the store does not "
		"form a valid cluster), error (compile or kernel failed).");
	fprintf(f, "podwall_reconciles_total{result=\"ok\"} %llu\n",
		(unsigned long long)m->reconciles_ok);
	fprintf(f, "podwall_reconciles_total{result=\"invalid\"} %llu\n",
		(unsigned long long)m->reconciles_invalid);
	fprintf(f, "podwall_reconciles_total{result=\"error\"} %llu\n",
		(unsigned long long)m->reconciles_failed);
	metric_help(f, "podwall_source_events_total", "counter",
		    "Events received from the sources, by type.");
	for (size_t i = 0; i < 4; i++)
		fprintf(f, "podwall_source_events_total{event=\"%s\"} %llu\n",
			event_names[i], (unsigned long long)m->events[i]);
	metric_counter(
		f, "podwall_source_events_dropped_total",
		"Events lost for lack of memory (the agent is then not ready).",
		evq_dropped(a->q));
	metric_counter(
		f, "podwall_rejections_total",
		"Object versions rejected as invalid (their last good version "
		"stays in force).",
		m->rejections);
	metric_gauge(f, "podwall_objects_rejected",
		     "Objects whose latest version is rejected right now.",
		     (double)store_rejected(a->st));
	metric_counter(
		f, "podwall_apply_errors_total",
		"Kernel transactions that failed (the previous ruleset stayed).",
		m->apply_errors);
}

static void render_sizes(FILE *f, const struct agent *a)
{
	const struct metrics *m = &a->m;

	metric_help(
		f, "podwall_store_objects", "gauge",
		"Entries in the agent's store by source kind (a manifests file "
		"is one File entry).");
	for (size_t i = 0; i < sizeof(store_kinds) / sizeof(*store_kinds); i++)
		fprintf(f, "podwall_store_objects{kind=\"%s\"} %zu\n",
			store_kinds[i],
			store_count_kind(a->st, store_kinds[i]));
	metric_help(
		f, "podwall_cluster_objects", "gauge",
		"Objects of the cluster last applied, by kind (including implicit "
		"namespaces).");
	for (size_t i = 0; i < PW_KIND_NR; i++)
		fprintf(f, "podwall_cluster_objects{kind=\"%s\"} %zu\n",
			kind_names[i], m->cluster_objects[i]);
	metric_gauge(f, "podwall_ruleset_chains",
		     "Chains in the table applied.", (double)m->chains);
	metric_gauge(f, "podwall_ruleset_sets",
		     "Sets and maps in the table applied.", (double)m->sets);
	metric_gauge(f, "podwall_ruleset_elements",
		     "Elements of all sets and maps in the table applied.",
		     (double)m->elements);
	metric_gauge(f, "podwall_local_pods",
		     "Local pods enforced on this node.",
		     (double)m->local_pods);
	metric_gauge(
		f, "podwall_pod_addresses_bound",
		"Local pod addresses bound to the interface the route to them "
		"leads to (anti-spoofing).",
		(double)m->bound);
	metric_gauge(
		f, "podwall_pod_addresses_unbound",
		"Local pod addresses without a direct route to a pod interface "
		"(not wired yet, or not routed): not checked for spoofing.",
		(double)m->unbound);
	metric_counter(
		f, "podwall_route_changes_total",
		"Route and link notifications that can change which interface "
		"leads to a pod.",
		m->route_changes);
	metric_counter(
		f, "podwall_rebinds_total",
		"Route or link changes that changed the table's interface "
		"bindings (without a cluster event).",
		m->rebinds);
}

static void render_times(FILE *f, const struct agent *a)
{
	const struct metrics *m = &a->m;
	const char *why;

	metric_gauge(
		f, "podwall_last_apply_success_timestamp_seconds",
		"Unix time of the last successful kernel transaction (0: none).",
		m->last_apply_unix);
	metric_counter(f, "podwall_apply_full_total",
		       "Successful transactions that loaded the whole table.",
		       m->full_loads);
	metric_counter(
		f, "podwall_drift_repairs_total",
		"Periodic checks that found the kernel's table changed by someone "
		"else, and put it back.",
		m->drift_repairs);
	metric_counter(
		f, "podwall_apply_incremental_total",
		"Successful transactions that changed only what differed.",
		m->incremental_updates);
	metric_gauge(f, "podwall_verdict_cache_generation",
		     "The verdict cache's generation in force, as the "
		     "conntrack mark bits hold it (0: no cache).",
		     m->ct_generation);
	metric_counter(
		f, "podwall_verdict_cache_purged_total",
		"Unanswered connections deleted because a cycle of the verdict "
		"cache's generations began, to be judged again.",
		m->ct_purged);
	metric_counter(f, "podwall_compile_full_total",
		       "Compiles of the whole ruleset from nothing (the first, "
		       "and after running out of memory).",
		       m->compiles_full);
	metric_counter(
		f, "podwall_compile_objects_changed_total",
		"Pods and policies the incremental compiler found added, "
		"removed or changed.",
		m->compile_pods + m->compile_policies);
	metric_counter(f, "podwall_compile_classes_rebuilt_total",
		       "Classes (per-side chains) whose elements were built "
		       "again because what they depend on changed.",
		       m->compile_classes);
	metric_histogram(f, "podwall_reconcile_duration_seconds",
			 "Time to build, compile and apply the cluster once.",
			 &m->reconcile_seconds);
	metric_histogram(
		f, "podwall_event_to_enforcement_seconds",
		"From a source event (file closed or renamed in, watch event "
		"received) to the kernel enforcing it.",
		&m->latency_seconds);
	metric_help(
		f, "podwall_last_reconcile_stage_seconds", "gauge",
		"Time the last reconcile spent per stage: build (store to cluster), "
		"compile (the ruleset, incrementally), kernel (the transaction).");
	for (size_t i = 0; i < 3; i++)
		fprintf(f,
			"podwall_last_reconcile_stage_seconds{stage=\"%s\"} "
			"%.9f\n",
			stage_names[i], (double)m->stage_ns[i] / 1e9);
	metric_gauge(f, "podwall_ready", "1 when /readyz answers ready.",
		     agent_ready(a, &why));
	metric_gauge(
		f, "podwall_source_failing",
		"1 while a source's requests keep failing (the objects last read "
		"stay in force).",
		agent_source_trouble(a) != NULL);
}

char *metrics_render(const struct agent *a, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	if (!f)
		return NULL;
	fprintf(f,
		"# HELP podwall_build_info The agent's version.\n"
		"# TYPE podwall_build_info gauge\n"
		"podwall_build_info{version=\"%s\"} 1\n",
		pw_version());
	render_counts(f, a);
	render_sizes(f, a);
	render_times(f, a);
	flowlog_metrics(a->flowlog, f); /* flowlog.c: verdicts, counters */
	ctsweep_metrics(a->ct, f); /* ctsweep.c: conntrack sweeps */
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	return buf;
}
