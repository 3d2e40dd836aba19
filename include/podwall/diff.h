/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The connectivity change between two versions of a cluster: every
 * connection (from, to, port) that one version allows and the other does
 * not, grouped for a person to review.
 *
 * Both versions are compiled into engines and compared with the engine's
 * matrix, one port class at a time: ports on which no policy of either
 * version can tell two numbers apart share one answer, so every port
 * (1-65535, TCP, UDP and SCTP) is covered without asking about each.
 * Pods are matched between the versions by name ("ns/name"); a pod that
 * exists only in the new version has all its allowed connections added,
 * one only in the old version has them removed.
 *
 * Changes are grouped by workload (the pods of one Deployment,
 * StatefulSet, DaemonSet or Job, and its template), then by namespace when
 * every workload of a namespace changed alike; the ports of a group are
 * ranges such as "8000-8080/TCP". Each group keeps a witness: one concrete
 * pod pair and port that changed.
 */
#ifndef PODWALL_DIFF_H
#define PODWALL_DIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <podwall/engine.h>
#include <podwall/port.h>

#ifdef __cplusplus
extern "C" {
#endif

struct pw_diff;

enum pw_change {
	PW_CHANGE_ADDED, /* allowed in the new version only */
	PW_CHANGE_REMOVED, /* allowed in the old version only */
	PW_CHANGE_NR,
};

/* What one end of a group names. */
enum pw_diff_end {
	PW_DIFF_POD, /* "ns/name" */
	PW_DIFF_WORKLOAD, /* "ns/name[Kind]" */
	PW_DIFF_NAMESPACE, /* "ns" */
	PW_DIFF_CIDR, /* "203.0.113.0/24" */
};

/*
 * Compares the connectivity of old and new (engines of finalized clusters,
 * borrowed only during the call). NULL and errno (ENOMEM) on failure.
 */
struct pw_diff *pw_diff_new(const struct pw_engine *old,
			    const struct pw_engine *new);
/* NULL is a no-op. */
void pw_diff_free(struct pw_diff *d);

/* "added", "removed". */
const char *pw_change_name(enum pw_change c);

/* Groups of one kind of change, sorted by from, then to. */
size_t pw_diff_count(const struct pw_diff *d, enum pw_change c);
/* Ordered endpoint pairs (pod to pod, pod to address class, address
 * class to pod) that changed on at least one port. */
uint64_t pw_diff_pair_count(const struct pw_diff *d, enum pw_change c);
/* Port classes compared (matrices computed per version). */
size_t pw_diff_port_class_count(const struct pw_diff *d);

/* The ends of group i: borrowed names and what they name. */
const char *pw_diff_from(const struct pw_diff *d, enum pw_change c, size_t i);
const char *pw_diff_to(const struct pw_diff *d, enum pw_change c, size_t i);
enum pw_diff_end pw_diff_from_kind(const struct pw_diff *d, enum pw_change c,
				   size_t i);
enum pw_diff_end pw_diff_to_kind(const struct pw_diff *d, enum pw_change c,
				 size_t i);

/* The port ranges of group i, sorted by protocol then number, adjacent
 * ranges merged. Range j is first..last of protocol first.proto. */
size_t pw_diff_range_count(const struct pw_diff *d, enum pw_change c, size_t i);
void pw_diff_range(const struct pw_diff *d, enum pw_change c, size_t i,
		   size_t j, struct pw_port *first, uint16_t *last);
/* Range j as "80/TCP" or "8000-8080/TCP"; returns the length like
 * snprintf. */
int pw_diff_range_format(const struct pw_diff *d, enum pw_change c, size_t i,
			 size_t j, char *buf, size_t len);

/* One connection of group i that changed: borrowed endpoint names (a pod
 * "ns/name" or an address) and the port. */
const char *pw_diff_witness_from(const struct pw_diff *d, enum pw_change c,
				 size_t i);
const char *pw_diff_witness_to(const struct pw_diff *d, enum pw_change c,
			       size_t i);
struct pw_port pw_diff_witness_port(const struct pw_diff *d, enum pw_change c,
				    size_t i);

#ifdef __cplusplus
}
#endif
#endif
