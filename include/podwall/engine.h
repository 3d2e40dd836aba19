/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The policy engine: a finalized cluster compiled into an index that
 * answers "is this connection allowed, and why" for one pair, and all
 * pairs at once for the matrix.
 */
#ifndef PODWALL_ENGINE_H
#define PODWALL_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <podwall/cluster.h>
#include <podwall/port.h>

#ifdef __cplusplus
extern "C" {
#endif

struct pw_engine;
struct pw_endpoints;
struct pw_verdict;
struct pw_matrix;

enum pw_dir {
	PW_DIR_INGRESS,
	PW_DIR_EGRESS,
	PW_DIR_NR,
};

/* Why a verdict is what it is (the "reason" of explain -o json). */
enum pw_reason {
	PW_REASON_POLICY, /* some side is isolated: policies decided */
	PW_REASON_NOT_ISOLATED, /* neither side is isolated */
	PW_REASON_NODE_TRAFFIC, /* from the destination pod's own node */
	PW_REASON_SAME_POD, /* a pod to itself */
};

/* "policy", "not-isolated", "node-traffic", "same-pod". */
const char *pw_reason_name(enum pw_reason r);
/* "ingress", "egress". */
const char *pw_dir_name(enum pw_dir d);

/*
 * Compiles c, which must be finalized without errors (EINVAL otherwise).
 * The engine borrows c: keep it alive until pw_engine_free().
 * NULL and errno set on failure.
 */
struct pw_engine *pw_engine_new(const struct pw_cluster *c);
/* NULL is a no-op. */
void pw_engine_free(struct pw_engine *e);

/*
 * The pods of the matrix, sorted by "ns/name": running and pending pods
 * and workload templates ("ns/name[Kind]"); hostNetwork pods and pods in
 * phase Succeeded or Failed are left out.
 */
size_t pw_engine_pod_count(const struct pw_engine *e);
const char *pw_engine_pod_name(const struct pw_engine *e, size_t i);
/*
 * Matrix pod i's node (spec.nodeName, NULL when unscheduled or a
 * template), addresses and declared container ports, as the cluster
 * accessors of podwall/cluster.h give them (the same borrowing and
 * counting rules); NULL or 0 for an index out of range.
 */
const char *pw_engine_pod_node(const struct pw_engine *e, size_t i);
size_t pw_engine_pod_addrs(const struct pw_engine *e, size_t i,
			   struct pw_addr *out, size_t max);
size_t pw_engine_pod_ports(const struct pw_engine *e, size_t i,
			   struct pw_port *out, size_t max);

/*
 * The default ports of the matrix: every container port a pod declares and
 * every port a policy names (numeric ports, and the first port of each
 * range), sorted by protocol then number, without duplicates. Writes at
 * most max into out and returns how many there are in all.
 */
size_t pw_engine_default_ports(const struct pw_engine *e, struct pw_port *out,
			       size_t max);

/*
 * Endpoints named as on the command line: "ns/name" (a pod),
 * "ns/name[Kind]" (a workload template), "ns/svc/name" (a service: its
 * backend pods, with the service port mapped to each backend's target
 * port), or an IP address (a known pod's or node's address means that pod
 * or node; any other address is outside the cluster).
 * NULL with errno ENOENT (no such pod or service), EINVAL (malformed).
 */
struct pw_endpoints *pw_engine_resolve(const struct pw_engine *e,
				       const char *text);
/* NULL is a no-op. */
void pw_endpoints_free(struct pw_endpoints *eps);
size_t pw_endpoints_count(const struct pw_endpoints *eps);
/* "ns/name" for a pod, the address for anything else. */
const char *pw_endpoints_name(const struct pw_endpoints *eps, size_t i);

/*
 * When eps was named as a service ("ns/svc/name"): the service's
 * namespace and name (borrowed) and its ports, in the order written;
 * NULL and 0 otherwise. Port i's name goes to *name (NULL when unnamed;
 * name may be NULL); an index out of range gives the zero port. A
 * connection to a service on a port it does not define goes nowhere.
 */
const char *pw_endpoints_service_namespace(const struct pw_endpoints *eps);
const char *pw_endpoints_service_name(const struct pw_endpoints *eps);
size_t pw_endpoints_service_port_count(const struct pw_endpoints *eps);
struct pw_port pw_endpoints_service_port(const struct pw_endpoints *eps,
					 size_t i, const char **name);

/*
 * Explains one connection from endpoint fi of from to endpoint ti of to on
 * port (a service port when to came from a service). NULL with errno on
 * failure (ENOMEM; EINVAL for an index out of range; ENOENT when to came
 * from a service that does not define port: that connection goes nowhere).
 */
struct pw_verdict *pw_engine_explain(const struct pw_engine *e,
				     const struct pw_endpoints *from, size_t fi,
				     const struct pw_endpoints *to, size_t ti,
				     const struct pw_port *port);
/* NULL is a no-op. */
void pw_verdict_free(struct pw_verdict *v);
bool pw_verdict_allowed(const struct pw_verdict *v);
enum pw_reason pw_verdict_reason(const struct pw_verdict *v);
const char *pw_verdict_from(const struct pw_verdict *v);
const char *pw_verdict_to(const struct pw_verdict *v);
/* The port the destination sees (after service translation). */
struct pw_port pw_verdict_port(const struct pw_verdict *v);

/* Whether that side is isolated by some policy, and whether it allowed. */
bool pw_verdict_isolated(const struct pw_verdict *v, enum pw_dir d);
bool pw_verdict_side_allowed(const struct pw_verdict *v, enum pw_dir d);
/* The policies that isolate that side, sorted by namespace and name. */
size_t pw_verdict_policy_count(const struct pw_verdict *v, enum pw_dir d);
const char *pw_verdict_policy_namespace(const struct pw_verdict *v,
					enum pw_dir d, size_t i);
const char *pw_verdict_policy_name(const struct pw_verdict *v, enum pw_dir d,
				   size_t i);
/*
 * 0-based indexes of the first rule, peer and port entry of policy i that
 * allowed the connection; -1 for null (rule -1: the policy did not allow
 * it; peer -1: the rule has no from/to; port -1: the rule has no ports).
 */
void pw_verdict_policy_match(const struct pw_verdict *v, enum pw_dir d,
			     size_t i, int *rule, int *peer, int *port);
/*
 * Where the matching rule (or, if none matched, the policy) is written:
 * borrowed file name, 1-based line and column (0 when unknown).
 */
const char *pw_verdict_policy_where(const struct pw_verdict *v, enum pw_dir d,
				    size_t i, unsigned *line, unsigned *col);

/*
 * The all-pairs matrix over the pods of pw_engine_pod_name() for each of
 * the nports ports. NULL and errno on failure.
 */
struct pw_matrix *pw_engine_matrix(const struct pw_engine *e,
				   const struct pw_port *ports, size_t nports);
/* NULL is a no-op. */
void pw_matrix_free(struct pw_matrix *m);
/* Whether a new connection from pod `from` to pod `to` is allowed on port
 * index p (from == to is always allowed). */
bool pw_matrix_allowed(const struct pw_matrix *m, size_t p, size_t from,
		       size_t to);
/* Allowed ordered pairs on port index p, leaving out from == to. */
uint64_t pw_matrix_count_allowed(const struct pw_matrix *m, size_t p);

/*
 * Counts allowed pairs (from != to) on one port without keeping the
 * matrix, for clusters too large to list. 0 or negative errno.
 */
int pw_engine_count(const struct pw_engine *e, const struct pw_port *port,
		    uint64_t *allowed, uint64_t *denied);

#ifdef __cplusplus
}
#endif
#endif
