/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Workloads: the pods of an engine grouped the way a person thinks of
 * them, for pictures and reports (podwall report).
 *
 * A pod that a controller created belongs to its workload, named as the
 * workload's template is ("ns/name[Kind]"): the controller's labels say
 * which (pod-template-hash for a Deployment's ReplicaSet,
 * statefulset.kubernetes.io/pod-name, controller-revision-hash for a
 * DaemonSet, job-name), as podwall diff groups them. A template belongs
 * to its own workload; any other pod is a workload of its own, named
 * "ns/name". Workloads are sorted by name, so a namespace's workloads are
 * contiguous.
 *
 * The grouping also says which pods are isolated (selected by some
 * policy) in each direction, which the public engine API only tells per
 * connection.
 */
#ifndef PODWALL_REPORT_H
#define PODWALL_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <podwall/engine.h>

#ifdef __cplusplus
extern "C" {
#endif

struct pw_workloads;

/*
 * Groups the pods of e (pw_engine_pod_name() order). The result owns its
 * strings and does not borrow e. NULL and errno (ENOMEM) on failure.
 */
struct pw_workloads *pw_workloads_new(const struct pw_engine *e);
/* NULL is a no-op. */
void pw_workloads_free(struct pw_workloads *w);

size_t pw_workloads_count(const struct pw_workloads *w);
/* "ns/name[Kind]" or, for a pod of no workload, "ns/name"; borrowed. */
const char *pw_workloads_name(const struct pw_workloads *w, size_t k);
/* The namespace of workload k; borrowed. */
const char *pw_workloads_namespace(const struct pw_workloads *w, size_t k);
/* "Deployment", ... or "Pod" for a pod of no workload; static. */
const char *pw_workloads_kind(const struct pw_workloads *w, size_t k);

/* The workload of engine pod i; (size_t)-1 when i is out of range. */
size_t pw_workloads_of(const struct pw_workloads *w, size_t pod);
/* Whether engine pod i is a workload template rather than a pod. */
bool pw_workloads_is_template(const struct pw_workloads *w, size_t pod);
/* Whether engine pod i is isolated in direction d: some policy of its
 * namespace selects it for that direction. */
bool pw_workloads_isolated(const struct pw_workloads *w, size_t pod,
			   enum pw_dir d);

#ifdef __cplusplus
}
#endif
#endif
