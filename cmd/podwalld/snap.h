/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The cluster the kernel enforces now, and its engine, shared with the
 * threads that need the engine's answers after the reconcile that
 * enforced the cluster has moved on: the flow log (which policy and rule
 * decided a packet) and the conntrack sweep (which established
 * connections are no longer allowed).
 *
 * The reconcile compiles the ruleset incrementally (pw_live) and never
 * needs an engine: a snapshot builds its engine the first time a reader
 * asks for it, so an event costs a whole engine only when, and as often
 * as, a reader needs one: the flow log once per window of verdicts (a
 * second, flowlog.c), the sweep at most once a second (ctsweep.c).
 *
 * A snapshot's cluster is immutable and the snapshot reference counted.
 * The reconcile publishes a new one after each successful transaction; a
 * reader takes a reference, asks for the engine (built once, under the
 * snapshot's lock), works without any lock, and drops the reference. The
 * last reference frees the engine and the cluster.
 */
#ifndef PODWALLD_SNAP_H
#define PODWALLD_SNAP_H

#include <stdint.h>
#include <podwall/podwall.h>

struct snap;
struct snap_slot;

/* Takes ownership of c (freed with the last reference). NULL and errno
 * ENOMEM on failure, when c is freed too. */
struct snap *snap_new(struct pw_cluster *c, uint64_t generation);
struct snap *snap_get(struct snap *s);
void snap_put(struct snap *s);

const struct pw_cluster *snap_cluster(const struct snap *s);
/* The engine of the cluster, built by the first caller (the others wait
 * for it); NULL and errno ENOMEM when it cannot be built. */
const struct pw_engine *snap_engine(struct snap *s);
/* Counts the reconciles that published: 1 for the first snapshot. */
uint64_t snap_generation(const struct snap *s);

/* The published snapshot: one slot per agent, safe across threads. */
struct snap_slot *snap_slot_new(void);
void snap_slot_free(struct snap_slot *sl);
/* Replaces the published snapshot with s (the slot takes the caller's
 * reference) and drops the slot's reference to the previous one. */
void snap_slot_publish(struct snap_slot *sl, struct snap *s);
/* A new reference to the published snapshot, or NULL before the first. */
struct snap *snap_slot_get(struct snap_slot *sl);

#endif
