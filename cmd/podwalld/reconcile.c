// SPDX-License-Identifier: Apache-2.0
/*
 * From source events to the kernel: the store takes the events (parsing
 * each version once, when it arrives), the reconciler assembles the
 * cluster from the store's good versions, compiles the ruleset of this
 * node and moves the kernel to it in one transaction. Level-triggered:
 * whatever happened in between, a reconcile enforces the store as it is,
 * so coalescing a burst of events into one reconcile loses nothing.
 */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent.h"
#include "log.h"

static void pending_add(struct agent *a, uint64_t t_ns)
{
	if (!a->first_ns)
		a->first_ns = t_ns;
	a->last_ns = t_ns;
	a->dirty = true;
	if (a->npending == a->cappending) {
		size_t cap = a->cappending ? 2 * a->cappending : 64;
		uint64_t *v = realloc(a->pending, cap * sizeof(*v));

		if (!v)
			return; /* the latency histogram misses one sample */
		a->pending = v;
		a->cappending = cap;
	}
	a->pending[a->npending++] = t_ns;
}

static void log_diags(const char *event, const struct src_object *o,
		      const struct pw_diags *d)
{
	char buf[1024];

	for (size_t i = 0; i < pw_diags_count(d); i++) {
		const struct pw_diag *r = pw_diags_get(d, i);

		if (pw_diag_severity(r) != PW_SEV_ERROR)
			continue;
		pw_diag_format(r, buf, sizeof(buf));
		if (o)
			alog("error", event, "kind", o->kind, "ns", o->ns,
			     "name", o->name, "diag", buf, NULL);
		else
			alog("error", event, "diag", buf, NULL);
	}
}

static void on_upsert(struct agent *a, const struct evq_item *it)
{
	struct pw_diags *d = NULL;
	int r = store_upsert(a->st, &it->o, &d);

	switch (r) {
	case STORE_CHANGED:
		alog("info", "upsert", "kind", it->o.kind, "ns", it->o.ns,
		     "name", it->o.name, "origin", it->o.origin, NULL);
		pending_add(a, it->t_ns);
		break;
	case STORE_REJECTED:
		a->m.rejections++;
		log_diags("rejected", &it->o, d);
		alog("warning", "rejected", "kind", it->o.kind, "ns", it->o.ns,
		     "name", it->o.name, "origin", it->o.origin, "kept",
		     "last good version (if any)", NULL);
		break;
	case STORE_UNCHANGED:
		break;
	default:
		alog("error", "upsert", "kind", it->o.kind, "name", it->o.name,
		     "error", strerror(-r), NULL);
		a->m.rejections++;
	}
	pw_diags_free(d);
}

static ssize_t need_index(const struct agent *a, const char *kind)
{
	for (size_t i = 0; i < a->nneed; i++)
		if (!strcmp(a->need_sync[i], kind))
			return (ssize_t)i;
	return -1;
}

static void on_list_event(struct agent *a, const struct evq_item *it)
{
	ssize_t i = need_index(a, it->o.kind);
	uint32_t bit = i >= 0 ? 1u << i : 0;

	if (it->ev == SRC_RESET) {
		a->resyncing |= bit;
		store_reset(a->st, it->o.kind);
		alog("info", "reset", "kind", it->o.kind, "origin",
		     it->o.origin, NULL);
		return;
	}
	if (store_sweep(a->st, it->o.kind) || !(a->synced & bit))
		pending_add(a, it->t_ns);
	a->synced |= bit;
	a->resyncing &= ~bit;
	alog("info", "synced", "kind", it->o.kind, "origin", it->o.origin,
	     NULL);
}

void agent_event(struct agent *a, const struct evq_item *it)
{
	if ((size_t)it->ev < sizeof(a->m.events) / sizeof(a->m.events[0]))
		a->m.events[it->ev]++;
	switch (it->ev) {
	case SRC_UPSERT:
		on_upsert(a, it);
		break;
	case SRC_DELETE:
		if (store_delete(a->st, it->o.kind, it->o.ns, it->o.name)) {
			alog("info", "delete", "kind", it->o.kind, "ns",
			     it->o.ns, "name", it->o.name, NULL);
			pending_add(a, it->t_ns);
		}
		break;
	case SRC_RESET:
	case SRC_SYNCED:
		on_list_event(a, it);
		break;
	}
}

bool agent_synced(const struct agent *a)
{
	uint32_t all = a->nneed >= 32 ? ~0u : (1u << a->nneed) - 1;

	return (a->synced & all) == all && !a->resyncing;
}

/* The first source that cannot keep the store current, or NULL. */
const char *agent_source_trouble(const struct agent *a)
{
	const char *why = NULL;

	for (size_t i = 0; i < a->nsrcs && !why; i++)
		if (a->srcs[i]->ops->trouble)
			why = a->srcs[i]->ops->trouble(a->srcs[i]);
	return why;
}

bool agent_ready(const struct agent *a, const char **why)
{
	static const struct {
		int idx;
		const char *why;
	} reasons[] = {
		{ 0, "sources not listed yet" },
		{ 1, "source events were lost" },
		{ 2, "input rejected" },
		{ 3, "objects do not form a valid cluster" },
		{ 4, "kernel transaction failed" },
		{ 5, "kernel behind the store" },
		{ 6, "a source keeps failing" },
	};
	bool bad[] = {
		!agent_synced(a),
		evq_dropped(a->q) > 0,
		store_rejected(a->st) > 0,
		a->build_failed,
		a->apply_failed,
		a->dirty,
		agent_source_trouble(a) != NULL,
	};

	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
		if (bad[reasons[i].idx]) {
			*why = reasons[i].why;
			return false;
		}
	}
	*why = "";
	return true;
}

/*
 * The cluster of the store's good versions, assembled from their parsed
 * units without parsing again; NULL when it is not valid (the errors are
 * logged) or on ENOMEM.
 */
static struct pw_cluster *build(struct agent *a)
{
	struct pw_cluster *c = pw_cluster_new();
	struct pw_diags *d = pw_diags_new();
	const struct store_entry **v = NULL;
	size_t n = 0;
	int ret = -ENOMEM;

	if (!c || !d)
		goto out;
	v = store_list(a->st, &n);
	if (!v)
		goto out;
	ret = 0;
	for (size_t i = 0; i < n && !ret; i++)
		ret = pw_cluster_add_unit(c, v[i]->unit);
	if (!ret)
		ret = pw_cluster_finalize(c, d);
	if (ret) {
		pw_diags_sort(d);
		log_diags("invalid-cluster", NULL, d);
	}
out:
	if (ret == -ENOMEM)
		alog("error", "build", "error", strerror(ENOMEM), NULL);
	free(v);
	pw_diags_free(d);
	if (!ret)
		return c;
	pw_cluster_free(c);
	return NULL;
}

/*
 * Moves the kernel to rs in one transaction that touches only what
 * differs from what the kernel holds. The first transaction of the agent
 * reads podwall's table back from the kernel and moves it to rs in place
 * (adoption without a window: nothing is flushed, nothing reloaded that
 * is already right); the next ones diff against the ruleset last applied,
 * and the datapath falls back to a full load when the kernel no longer
 * holds it (someone changed or removed the table).
 */
static bool changed_anything(const struct pw_apply_stats *st);

static int kernel_apply(struct agent *a, const struct pw_ruleset *rs,
			char **msg)
{
	struct pw_apply_stats st = { .full = 0 };
	char what[256], diff[24], sent[24];
	int ret;

	if (a->applied)
		ret = pw_ruleset_update(a->applied, rs, &st, msg);
	else
		ret = pw_ruleset_sync(rs, &st, msg);
	if (ret)
		return ret;
	if (st.full)
		a->m.full_loads++;
	else
		a->m.incremental_updates++;
	a->m.ct_generation = st.generation;
	a->m.ct_purged += st.ct_purged;
	pw_apply_stats_format(&st, what, sizeof(what));
	snprintf(diff, sizeof(diff), "%.3f", (double)st.diff_ns / 1e6);
	snprintf(sent, sizeof(sent), "%.3f", (double)st.kernel_ns / 1e6);
	alog("info", "transaction", "mode", st.full ? "full" : "incremental",
	     "changes", what, "diff_ms", diff, "netlink_ms", sent, NULL);
	a->ct_due = changed_anything(&st);
	return 0;
}

static bool changed_anything(const struct pw_apply_stats *st)
{
	return st->full || st->elems_added || st->elems_removed ||
	       st->sets_added || st->sets_removed || st->sets_changed ||
	       st->chains_added || st->chains_removed || st->chains_replaced;
}

int agent_verify(struct agent *a)
{
	struct pw_apply_stats st = { .full = 0 };
	char *msg = NULL, what[256];
	int ret;

	if (!a->applied || a->dirty)
		return 0; /* a reconcile is due anyway */
	ret = pw_ruleset_sync(a->applied, &st, &msg);
	if (ret) {
		a->m.apply_errors++;
		a->apply_failed = true;
		a->dirty = true;
		alog("error", "verify", "error", strerror(-ret), "nft", msg,
		     "hint", pw_datapath_hint(ret), NULL);
		free(msg);
		return ret;
	}
	if (changed_anything(&st)) {
		a->m.drift_repairs++;
		pw_apply_stats_format(&st, what, sizeof(what));
		alog("warning", "drift", "table", "repaired", "changes", what,
		     NULL);
	}
	return 0;
}

static double now_unix(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Numbers for a log line, each formatted into its own slot: as many
 * slots as the longest line has numbers (log_applied). */
#define NUMBUF_SLOTS 16
struct numbuf {
	char s[NUMBUF_SLOTS][24];
	size_t n;
};

static const char *count(struct numbuf *nb, size_t v)
{
	char *out = nb->s[nb->n++ % NUMBUF_SLOTS];

	snprintf(out, sizeof(nb->s[0]), "%zu", v);
	return out;
}

static const char *ms(struct numbuf *nb, uint64_t ns)
{
	char *out = nb->s[nb->n++ % NUMBUF_SLOTS];

	snprintf(out, sizeof(nb->s[0]), "%.3f", (double)ns / 1e6);
	return out;
}

static void log_applied(const struct agent *a, size_t events, uint64_t worst)
{
	const struct metrics *m = &a->m;
	struct numbuf nb = { .n = 0 };

	alog("info", "applied", "pods_changed",
	     count(&nb, a->live_st.pods_changed), "policies_changed",
	     count(&nb, a->live_st.policies_changed), "classes_rebuilt",
	     count(&nb, a->live_st.classes_rebuilt), "chains",
	     count(&nb, m->chains), "sets", count(&nb, m->sets), "elements",
	     count(&nb, m->elements), "local_pods", count(&nb, m->local_pods),
	     "bound", count(&nb, m->bound), "unbound", count(&nb, m->unbound),
	     "events", count(&nb, events), "max_latency_ms", ms(&nb, worst),
	     "build_ms", ms(&nb, m->stage_ns[0]), "compile_ms",
	     ms(&nb, m->stage_ns[1]), "kernel_ms", ms(&nb, m->stage_ns[2]),
	     "cpu_ms", ms(&nb, m->cpu_ns), NULL);
}

static void log_rebind(const struct agent *a, const char *what, uint64_t ns)
{
	struct numbuf nb = { .n = 0 };

	alog("info", "rebind", "bound", count(&nb, a->m.bound), "unbound",
	     count(&nb, a->m.unbound), "changes", what, "ms", ms(&nb, ns),
	     NULL);
}

/* Hands the cluster now enforced to the other threads. */
static void publish(struct agent *a)
{
	snap_slot_publish(a->enforced, snap_get(a->compiled));
}

/*
 * The bound addresses, and the local pod addresses that have no route
 * to a pod interface (not wired yet, or not routed): the ruleset knows
 * both, addresses claimed twice once.
 */
static void count_bound(struct agent *a, const struct pw_ruleset *rs)
{
	size_t all = pw_ruleset_local_addr_count(rs);

	a->m.bound = pw_ruleset_bound_count(rs);
	a->m.unbound = all > a->m.bound ? all - a->m.bound : 0;
}

static void applied(struct agent *a, const struct pw_cluster *c,
		    struct pw_ruleset *rs)
{
	uint64_t now = mono_ns(), worst = 0;
	size_t events = a->npending;

	for (size_t i = 0; i < a->npending; i++) {
		uint64_t lat = now - a->pending[i];

		hist_observe(&a->m.latency_seconds, (double)lat / 1e9);
		worst = lat > worst ? lat : worst;
	}
	a->npending = 0;
	a->first_ns = 0;
	for (int k = 0; k < PW_KIND_NR; k++)
		a->m.cluster_objects[k] = pw_cluster_count(c, (enum pw_kind)k);
	a->m.chains = pw_ruleset_chain_count(rs);
	a->m.sets = pw_ruleset_set_count(rs);
	a->m.elements = pw_ruleset_element_count(rs);
	a->m.local_pods = pw_ruleset_local_count(rs);
	count_bound(a, rs);
	a->m.last_apply_unix = now_unix();
	pw_ruleset_free(a->applied);
	a->applied = rs;
	log_applied(a, events, worst);
}

/*
 * Returns the heap's free pages to the kernel. Parsing a large text
 * needs a syntax tree many times its size for a moment, and each
 * reconcile frees the previous cluster, engine and ruleset; the
 * allocator keeps such holes mapped when they are below memory still in
 * use, so without this the agent's RSS stays at its peak (83 MiB
 * instead of 37 at 10k pods, docs/AGENT.md).
 */
static void give_back_memory(void)
{
	malloc_trim(0); /* about 1.5 ms at 10k pods, after the transaction */
}

/* Once: without pod ranges an address nobody knows is not dropped. */
static void warn_open(struct agent *a, const struct pw_ruleset *rs)
{
	if (a->warned_open || pw_ruleset_range_count(rs) || a->npod_cidrs)
		return;
	a->warned_open = true;
	alog("warning", "fail-closed", "node", a->cfg.node, "pod_ranges",
	     "none", "hint",
	     "no Node with spec.podCIDRs and no --pod-cidr: addresses of pods "
	     "not known yet are not dropped",
	     NULL);
}

/*
 * The ruleset of this node for the cluster compiled last, as `podwall
 * apply` makes it: the --pod-cidr ranges (fail-closed), the flow log's
 * statements, and the local pods bound to the interfaces the routes of
 * this namespace lead to now (anti-spoofing). Clears the pending route
 * changes: the bind reads the routes as they are. NULL + errno.
 */
static struct pw_ruleset *ruleset_decorate(struct agent *a,
					   struct pw_ruleset *rs)
{
	int ret = 0;

	for (size_t i = 0; i < a->npod_cidrs && !ret; i++)
		ret = pw_ruleset_add_pod_cidr(rs, a->pod_cidrs[i]);
	if (ret) { /* the ranges were checked at start: ENOMEM */
		pw_ruleset_free(rs);
		errno = -ret;
		return NULL;
	}
	pw_ruleset_set_ct_mark_mask(rs, a->ct_mark_mask); /* checked at start */
	if (a->flow.path) /* flags are known: cannot fail */
		pw_ruleset_set_flow_log(
			rs,
			PW_FLOW_LOG_DENIED |
				(a->flow.allowed ? PW_FLOW_LOG_ALLOWED : 0),
			a->flow.group);
	if (a->cfg.node)
		warn_open(a, rs);
	/* With no route change pending since the ruleset applied was bound,
	 * its bindings hold: only new addresses are asked of the kernel (a
	 * route lookup per local pod was a tenth of a reconcile at 10k
	 * pods). Otherwise every address is looked up again. */
	if (a->rebind_first_ns || !a->applied)
		ret = pw_ruleset_bind_interfaces(rs);
	else
		ret = pw_ruleset_bind_interfaces_from(rs, a->applied);
	a->rebind_first_ns = a->rebind_last_ns = 0;
	if (ret < 0) /* the rest of the table still holds */
		alog("warning", "bind", "error", strerror(-ret), "hint",
		     "cannot read the routes to the pods: anti-spoofing is off",
		     NULL);
	return rs;
}

/*
 * Compiles cluster c incrementally against the one compiled last. The
 * compiler borrows c until the next compile, so c goes into a snapshot
 * that the agent keeps (a->compiled) whether or not the kernel takes
 * the ruleset: the next compile compares against it. NULL + errno; c is
 * freed on failure.
 */
static struct pw_ruleset *compile(struct agent *a, struct pw_cluster *c)
{
	struct snap *s = snap_new(c, a->generation + 1);
	struct pw_ruleset *rs;

	if (!s)
		return NULL;
	rs = pw_live_compile(a->live, c, &a->live_st);
	if (!rs) { /* the compiler forgot everything: nothing borrowed */
		int err = errno;

		snap_put(s);
		errno = err;
		return NULL;
	}
	snap_put(a->compiled);
	a->compiled = s;
	return ruleset_decorate(a, rs);
}

/* The incremental compile's work, summed into the metrics (the applied
 * line of the log shows the last one's). */
static void count_compiled(struct agent *a)
{
	const struct pw_live_stats *st = &a->live_st;

	a->m.compiles_full += (uint64_t)st->full;
	a->m.compile_pods += st->pods_changed;
	a->m.compile_policies += st->policies_changed;
	a->m.compile_classes += st->classes_rebuilt;
}

static int compile_apply(struct agent *a, struct pw_cluster *c, uint64_t cpu0)
{
	uint64_t t0 = mono_ns();
	struct pw_ruleset *rs = compile(a, c);
	char *msg = NULL;
	int ret;

	if (!rs) {
		alog("error", "compile", "error", strerror(errno), NULL);
		return -ENOMEM;
	}
	a->m.stage_ns[1] = mono_ns() - t0;
	count_compiled(a);
	t0 = mono_ns();
	ret = kernel_apply(a, rs, &msg);
	a->m.stage_ns[2] = mono_ns() - t0;
	a->m.cpu_ns = thread_cpu_ns() - cpu0;
	if (ret) {
		a->m.apply_errors++;
		alog("error", "apply", "error", strerror(-ret), "nft", msg,
		     "hint", pw_datapath_hint(ret), NULL);
		free(msg);
		pw_ruleset_free(rs);
		return ret;
	}
	a->generation++;
	applied(a, snap_cluster(a->compiled), rs);
	publish(a);
	if (a->ct_due) /* ctsweep.c: cut what the change no longer allows */
		ctsweep_wake(a->ct);
	give_back_memory();
	return 0;
}

int agent_reconcile(struct agent *a)
{
	uint64_t t0 = mono_ns(), cpu0 = thread_cpu_ns();
	struct pw_cluster *c;
	int ret;

	a->dirty = false;
	c = build(a);
	a->m.stage_ns[0] = mono_ns() - t0;
	if (!c) {
		a->build_failed = true;
		a->m.reconciles_invalid++;
		return -EINVAL;
	}
	a->build_failed = false;
	a->m.cpu_ns = 0; /* set before the log line of applied() */
	ret = compile_apply(a, c, cpu0); /* c is its own now */
	a->apply_failed = ret != 0;
	if (ret) {
		a->dirty = true;
		a->m.reconciles_failed++;
	} else {
		a->m.reconciles_ok++;
	}
	hist_observe(&a->m.reconcile_seconds, (double)(mono_ns() - t0) / 1e9);
	return ret;
}

/*
 * After routes or links changed: the ruleset of the cluster enforced now,
 * bound again, replaces the one applied. The diff is the binding's
 * elements, or nothing (an empty transaction: routes that led to no
 * local pod). Compiling the same cluster again changes nothing in the
 * incremental compiler (every object is the same object) and costs only
 * its walk over the cluster.
 *
 * The cluster is the one compiled last, unless a reconcile binds
 * instead: one is due, none succeeded yet, or the last compile was not
 * applied (rebinding with it would apply it), in which case one is made
 * due.
 */
static bool rebind_due(struct agent *a)
{
	if (!a->applied || a->dirty)
		return false;
	if (a->compiled && snap_generation(a->compiled) == a->generation)
		return true;
	a->dirty = true;
	return false;
}

int agent_rebind(struct agent *a)
{
	struct pw_apply_stats st = { .full = 0 };
	uint64_t t0 = mono_ns();
	struct pw_ruleset *rs;
	char *msg = NULL, what[256];
	int ret = 0;

	if (!rebind_due(a))
		return 0; /* the reconcile due binds, seeing routes changed */
	rs = pw_live_compile(a->live, snap_cluster(a->compiled), NULL);
	if (rs)
		rs = ruleset_decorate(a, rs);
	if (!rs)
		ret = -errno;
	else
		ret = pw_ruleset_update(a->applied, rs, &st, &msg);
	if (ret) {
		a->m.apply_errors++;
		a->apply_failed = true;
		a->dirty = true; /* a whole reconcile, with its backoff */
		alog("error", "rebind", "error", strerror(-ret), "nft", msg,
		     "hint", pw_datapath_hint(ret), NULL);
		free(msg);
		pw_ruleset_free(rs);
		return ret;
	}
	count_bound(a, rs);
	pw_ruleset_free(a->applied);
	a->applied = rs;
	if (!changed_anything(&st))
		return 0;
	a->m.rebinds++;
	a->m.elements = pw_ruleset_element_count(rs);
	pw_apply_stats_format(&st, what, sizeof(what));
	log_rebind(a, what, mono_ns() - t0);
	return 0;
}
