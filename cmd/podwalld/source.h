/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Sources of cluster state for podwalld.
 *
 * A source (the manifests folder, the Kubernetes API) reports objects to
 * the agent's store through one callback, `emit`. The store keeps, for
 * every (kind, namespace, name), the last version that decoded and
 * validated; the reconciler builds the cluster from the store.
 *
 * Threading. A source may run in threads of its own (the API client does
 * blocking HTTP in one) or be driven by the agent's event loop; either
 * way it calls emit:
 *  - emit is thread-safe and may be called from any thread, at any time
 *    between start() returning 0 and stop() returning;
 *  - emit copies everything it needs (o and every string it points to)
 *    before it returns: the source may free or reuse them right after;
 *  - emit never blocks on I/O (it takes a mutex, queues a copy and
 *    wakes the event loop through an eventfd), so a source may call it
 *    while holding its own locks.
 * The events are applied to the store in the order emit was called.
 *
 * Events:
 *  SRC_UPSERT  o->kind, o->ns, o->name, o->text/len (the object as one
 *              complete JSON or YAML document, with its "apiVersion" and
 *              "kind": items of a List response lack them, add them),
 *              o->origin (where it came from, for logs and diagnostics:
 *              "kube:pods/shop/web-1" or a file name).
 *  SRC_DELETE  o->kind, o->ns, o->name, o->origin; text NULL.
 *  SRC_RESET   o->kind, o->origin: the source must relist that kind. The
 *              objects of that kind from this source are kept in force
 *              but marked stale; the agent does not reconcile (and is
 *              not ready) until SRC_SYNCED for that kind.
 *  SRC_SYNCED  o->kind, o->origin: the initial list (or relist) of that
 *              kind is complete; the objects still marked stale are
 *              deleted. Before the first SYNCED of every kind a source
 *              serves, the agent applies nothing (a half-listed cluster
 *              would open pods whose policies were not read yet).
 * Kinds are spelled as in manifests: "Pod", "Namespace", "NetworkPolicy"
 * (and "Node", "Service" when a source serves them). For cluster-scoped
 * kinds (Namespace, Node) ns is "". All strings are NUL-terminated;
 * text need not be (len counts its bytes).
 *
 * Lifecycle (the agent calls, from its main thread):
 *   s = <type>_src_new(&cfg);     NULL + errno on failure
 *   s->ops->start(s, emit, ctx);  0 or -errno; may spawn threads
 *   ... events ...
 *   s->ops->stop(s);              emit is not called after this returns
 *   s->ops->free(s);              NULL-safe at the call site
 * A source embeds struct src as its first member.
 */
#ifndef PODWALLD_SOURCE_H
#define PODWALLD_SOURCE_H

#include <stdbool.h>
#include <stddef.h>

enum src_event {
	SRC_UPSERT,
	SRC_DELETE,
	SRC_SYNCED,
	SRC_RESET,
};

struct src_object {
	const char *kind;
	const char *ns;
	const char *name;
	const char *text;
	size_t len;
	const char *origin;
};

/* The function type of emit (not a pointer typedef). */
typedef void src_emit_fn(void *ctx, enum src_event ev,
			 const struct src_object *o);

struct src;

struct src_ops {
	const char *name; /* "manifests", "kube": for logs */
	/* Begins reporting; 0 or -errno (then nothing was started). */
	int (*start)(struct src *s, src_emit_fn *emit, void *ctx);
	/* Stops every thread of the source; idempotent. */
	void (*stop)(struct src *s);
	/* Frees the source (stopped first when it was not). */
	void (*free)(struct src *s);
	/*
	 * Optional, for sources driven by the agent's loop: a pollable fd
	 * (or -1) and the function the loop calls when it is readable.
	 * NULL for sources that run in threads of their own.
	 */
	int (*fd)(const struct src *s);
	int (*dispatch)(struct src *s);
	/*
	 * Optional, callable from any thread: NULL while the source works,
	 * else why it cannot keep the store current (the agent is then not
	 * ready; the objects last read stay in force).
	 */
	const char *(*trouble)(const struct src *s);
};

struct src {
	const struct src_ops *ops;
};

/* What the agent passes to source constructors. Borrowed: a source
 * copies what it keeps. */
struct src_config {
	const char *node; /* --node NAME, or NULL */
	const char *kubeconfig; /* --kubeconfig FILE, or NULL: in-cluster */
	const char *manifests; /* --manifests DIR */
	/* Logging from a source: the agent's structured logger (see log.h),
	 * so a source need not print on its own. */
};

/* The manifests folder (dirwatch.c): one object per document. */
struct src *dir_src_new(const struct src_config *cfg);
/* The Kubernetes API (kube*.c): Pods, Namespaces, NetworkPolicies. */
struct src *kube_src_new(const struct src_config *cfg);

#endif
