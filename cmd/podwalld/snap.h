/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The cluster and engine the kernel enforces now, shared with the threads
 * that need the engine's answers after the reconcile that built them has
 * moved on: the flow log (which policy and rule decided a packet) and the
 * conntrack sweep (which established connections are no longer allowed).
 *
 * A snapshot is immutable and reference counted. The reconcile publishes a
 * new one after each successful transaction; a reader takes a reference,
 * works without any lock, and drops it. The last reference frees the
 * engine and the cluster.
 */
#ifndef PODWALLD_SNAP_H
#define PODWALLD_SNAP_H

#include <stdint.h>
#include <podwall/podwall.h>

struct snap;
struct snap_slot;

/* Takes ownership of c and e (freed with the last reference). NULL and
 * errno ENOMEM on failure, when c and e are freed too. */
struct snap *snap_new(struct pw_cluster *c, struct pw_engine *e,
		      uint64_t generation);
struct snap *snap_get(struct snap *s);
void snap_put(struct snap *s);

const struct pw_cluster *snap_cluster(const struct snap *s);
const struct pw_engine *snap_engine(const struct snap *s);
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
