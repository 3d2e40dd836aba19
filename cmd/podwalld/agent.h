/* SPDX-License-Identifier: Apache-2.0 */
/*
 * podwalld: the agent's state, shared by its parts.
 *
 * One thread runs everything that decides (main.c's epoll loop): source
 * events arrive through the evq, change the store, and arm the settle
 * timer; when it fires, reconcile.c assembles the cluster from the
 * store's good versions (parsed once, when they arrived), compiles the
 * ruleset for this node and moves the kernel to it in one transaction.
 * metrics.c counts, http.c serves them.
 */
#ifndef PODWALLD_AGENT_H
#define PODWALLD_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <podwall/podwall.h>

#include "evq.h"
#include "flowlog.h"
#include "prom.h"
#include "snap.h"
#include "source.h"
#include "store.h"

#define AGENT_MAX_POD_CIDRS 16

struct metrics {
	uint64_t reconciles_ok, reconciles_invalid, reconciles_failed;
	uint64_t events[4]; /* by enum src_event */
	uint64_t rejections; /* versions rejected, ever */
	uint64_t apply_errors;
	uint64_t full_loads, incremental_updates;
	/* The verdict cache: the generation in force, and the unanswered
	 * connections deleted when a cycle of generations began. */
	uint32_t ct_generation;
	uint64_t ct_purged;
	uint64_t drift_repairs; /* the kernel's table differed from ours */
	uint64_t route_changes; /* route/link notifications that matter */
	uint64_t rebinds; /* route-driven transactions that changed the table */
	double last_apply_unix; /* 0: never */
	struct hist reconcile_seconds;
	struct hist latency_seconds; /* event emitted -> kernel updated */
	size_t chains, sets, elements, local_pods;
	/* Local pod addresses bound to their interface (anti-spoofing), and
	 * those without a route to a pod interface yet. */
	size_t bound, unbound;
	size_t cluster_objects[PW_KIND_NR]; /* in the applied cluster */
	/* The incremental compiler (pw_live_stats), summed: compiles from
	 * nothing, pods and policies it found changed, classes rebuilt. */
	uint64_t compiles_full, compile_pods, compile_policies;
	uint64_t compile_classes;
	/* Where the last reconcile spent its time: reading the store into
	 * a cluster, compiling the ruleset, the kernel transaction. */
	uint64_t stage_ns[3];
	uint64_t cpu_ns; /* CPU time of the last reconcile (this thread) */
};

struct agent {
	struct src_config cfg;
	const char *metrics_addr;
	struct evq *q;
	struct store *st;
	struct src *srcs[2];
	size_t nsrcs;

	/* Kinds a source must list before anything is applied. */
	const char *const *need_sync;
	size_t nneed;
	uint32_t synced; /* bit i: need_sync[i] listed */
	uint32_t resyncing; /* bit i: reset, waiting for SYNCED */

	bool dirty; /* the store changed since the last build */
	bool build_failed; /* the good texts do not form a valid cluster */
	bool apply_failed; /* the kernel lags behind the store */
	uint64_t first_ns; /* oldest event not yet enforced (0: none) */
	uint64_t last_ns; /* newest event */
	uint64_t *pending; /* emit times of the events not yet enforced */
	size_t npending, cappending;

	struct pw_ruleset *applied; /* what the kernel holds, when known */
	/* The incremental compiler, and the snapshot of the cluster it
	 * compiled last, which it borrows until the next compile (published
	 * when its transaction succeeded). */
	struct pw_live *live;
	struct snap *compiled;
	struct pw_live_stats live_st; /* of the last compile */
	/* The cluster of `applied`, for other threads (snap.h). */
	struct snap_slot *enforced;
	uint64_t generation; /* snapshots published */
	/* The flow log (flowlog.h): options, and its thread when running. */
	struct flowlog_opts flow;
	struct flowlog *flowlog;
	/* The conntrack sweep's thread (ctsweep.c); NULL with --no-ct-sweep. */
	struct ctsweep *ct;
	bool ct_due; /* the last transaction changed the ruleset */
	/* --pod-cidr: this node's pod ranges (or the cluster's), fail-closed. */
	const char *pod_cidrs[AGENT_MAX_POD_CIDRS];
	size_t npod_cidrs;
	bool warned_open; /* logged once: no pod range, fail-closed is off */
	/* --ct-mark-mask: the verdict cache's conntrack mark bits. */
	uint32_t ct_mark_mask;
	/* Routes or links changed since the last bind (routes.c): first and
	 * last notification, 0 when nothing is pending. */
	uint64_t rebind_first_ns, rebind_last_ns;
	struct metrics m;
};

/* reconcile.c */
/* Applies one source event to the store (logging rejections). */
void agent_event(struct agent *a, const struct evq_item *it);
/* Whether the store may be applied (every kind listed, none relisting). */
bool agent_synced(const struct agent *a);
/* Builds, compiles and applies the store; 0 or -errno (logged). */
int agent_reconcile(struct agent *a);
/*
 * Reads the table back and repairs it when it is not what the agent
 * applied last (someone flushed or edited it). 0 or -errno (logged; the
 * agent then reconciles again).
 */
int agent_verify(struct agent *a);
/* Why a source cannot keep the store current, or NULL. */
const char *agent_source_trouble(const struct agent *a);
/* /readyz: synced, nothing rejected, kernel up to date, sources working. */
bool agent_ready(const struct agent *a, const char **why);

/*
 * ctsweep.c: deletes the conntrack entries of the connections that the
 * published snapshot no longer allows, on its own thread: when woken
 * (after a transaction that changed the ruleset) and every interval_s
 * seconds (0: only when woken). Borrows enforced and node. NULL + errno.
 */
struct ctsweep;
struct ctsweep *ctsweep_new(struct snap_slot *enforced, const char *node,
			    unsigned interval_s);
/* Asks for a sweep; wakeups during a sweep make one more. NULL: no-op. */
void ctsweep_wake(struct ctsweep *s);
/* Stops and joins the thread. NULL is a no-op. */
void ctsweep_free(struct ctsweep *s);
/* Its series on the /metrics page (zeros for NULL). */
void ctsweep_metrics(struct ctsweep *s, FILE *f);

/*
 * Binds the local pods' interfaces again for the ruleset last applied
 * (the cluster and engine of the published snapshot) and moves the kernel
 * to it, after routes or links changed. Does nothing when a reconcile is
 * due anyway (it binds too). 0 or -errno (logged; a reconcile follows).
 */
int agent_rebind(struct agent *a);

/* metrics.c */
void metrics_init(struct metrics *m);
/* The /metrics page; malloc'd, NULL on failure. */
char *metrics_render(const struct agent *a, size_t *len);

/* main.c: the event loop. Everything polled embeds a handler. */
struct handler {
	void (*fn)(struct handler *h, uint32_t events);
};
struct loop;
int loop_add(struct loop *l, int fd, uint32_t events, struct handler *h);
int loop_mod(struct loop *l, int fd, uint32_t events, struct handler *h);
void loop_del(struct loop *l, int fd);

#define container_of(ptr, type, member) \
	((type *)((char *)(ptr)-offsetof(type, member)))

/*
 * routes.c: rtnetlink route and link changes (RTNLGRP_LINK, _IPV4_ROUTE,
 * _IPV6_ROUTE) on the loop; changed(arg, n) after each read that saw n
 * notifications that can change which interface leads to a pod. NULL +
 * errno.
 */
typedef void routes_changed_fn(void *arg, unsigned int n);
struct routes;
struct routes *routes_new(struct loop *l, routes_changed_fn *changed,
			  void *arg);
/* NULL is a no-op. */
void routes_free(struct routes *r);

/* http.c: /metrics, /healthz, /readyz on a nonblocking socket. */
struct http;
/* Binds addr ("127.0.0.1:9469", "[::1]:9469"; numeric only) and
 * registers with l. NULL + errno. */
struct http *http_new(const char *addr, struct agent *a, struct loop *l);
void http_free(struct http *h);

#endif
