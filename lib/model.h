/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The cluster model: typed objects as decoded from manifests.
 *
 * The decoder (decode.c) fills these from the YAML tree with strict typing
 * and records the position of every field that a later check may need to
 * point at. Fields whose meaning depends on API validation rules (CIDRs,
 * ports of a policy, selector operators, policyTypes) are kept as the text
 * the user wrote; validate.c checks that text and fills the parsed values
 * (the `*_ok` flags say whether it could). The engine reads only objects of
 * a cluster that finalized without errors, so it can trust every parsed
 * value.
 *
 * All strings are owned by their object and freed with it.
 *
 * Every object keeps its metadata.annotations (a map of strings, typed as
 * strictly as labels): lint reads its suppressions there, so it needs no
 * second look at the manifests' text and works on standard input too.
 */
#ifndef PW_MODEL_H
#define PW_MODEL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <podwall/cluster.h>
#include <podwall/engine.h>
#include <podwall/port.h>
#include "util.h"

/* ---- addresses ---------------------------------------------------- */

/* struct pw_addr and struct pw_cidr are public plain values: see
 * include/podwall/cluster.h. */

/* ---- labels and selectors ----------------------------------------- */

struct pw_label {
	char *key;
	char *value;
	struct pw_pos pos; /* of the key */
};

/* Sorted by key; keys are unique (the decoder rejects duplicates). */
struct pw_labels {
	struct pw_label *v;
	size_t n;
};

enum pw_sel_op {
	PW_SEL_IN,
	PW_SEL_NOT_IN,
	PW_SEL_EXISTS,
	PW_SEL_DOES_NOT_EXIST,
	PW_SEL_INVALID, /* op_text is not one of the four: validate reports it */
};

struct pw_sel_req {
	char *key;
	char *op_text; /* as written; NULL when absent */
	enum pw_sel_op op; /* set by the decoder from op_text */
	char **values;
	size_t nvalues;
	bool values_present; /* `values:` written (even if empty) */
	struct pw_pos pos; /* the requirement (sequence item) */
	struct pw_pos key_pos;
	struct pw_pos op_pos;
	struct pw_pos *value_pos; /* nvalues entries */
};

/*
 * A metav1.LabelSelector: the AND of matchLabels and every requirement.
 * Empty (no labels, no requirements) selects everything.
 */
struct pw_selector {
	struct pw_labels match_labels;
	struct pw_pos match_labels_pos;
	struct pw_sel_req *reqs;
	size_t nreqs;
	struct pw_pos pos;
};

/* ---- NetworkPolicy ------------------------------------------------ */

/* One entry of ipBlock.except. */
struct pw_except {
	char *text;
	struct pw_cidr cidr; /* valid when ok */
	bool ok;
	struct pw_pos pos;
};

struct pw_ipblock {
	char *cidr_text; /* NULL when `cidr` is missing */
	struct pw_cidr cidr; /* valid when cidr_ok */
	bool cidr_ok;
	struct pw_pos cidr_pos;
	struct pw_except *except;
	size_t nexcept;
	struct pw_pos pos;
};

/* A NetworkPolicyPeer: exactly what was written. */
struct pw_peer {
	bool has_pod_sel;
	bool has_ns_sel;
	bool has_ipblock;
	struct pw_selector pod_sel;
	struct pw_selector ns_sel;
	struct pw_ipblock ipblock;
	struct pw_pos pos;
};

/* A NetworkPolicyPort. `port` is an int-or-string: a number, or a name
 * (which the API resolves against the destination pod's container ports). */
struct pw_np_port {
	char *proto_text; /* NULL when absent: TCP */
	enum pw_proto proto; /* valid after validate */
	bool has_port;
	bool named; /* port given as a string */
	int64_t port; /* when has_port && !named, as written */
	char *name; /* when has_port && named */
	bool has_end;
	int64_t end_port; /* when has_end, as written */
	struct pw_pos pos;
	struct pw_pos proto_pos;
	struct pw_pos port_pos;
	struct pw_pos end_pos;
};

/* One ingress or egress rule. No peers (absent or empty `from`/`to`) means
 * every peer; no ports means every port. */
struct pw_rule {
	struct pw_peer *peers;
	size_t npeers;
	struct pw_np_port *ports;
	size_t nports;
	struct pw_pos pos;
};

struct pw_policy_type {
	char *text;
	struct pw_pos pos;
};

struct pw_policy {
	char *ns;
	char *name;
	struct pw_pos pos; /* the document */
	struct pw_pos name_pos;
	struct pw_pos ns_pos; /* zero when namespace was not written */
	struct pw_labels annotations; /* metadata.annotations */
	bool has_pod_sel;
	struct pw_selector pod_sel;
	struct pw_policy_type *types; /* policyTypes as written */
	size_t ntypes;
	struct pw_pos types_pos;
	/* Effective policyTypes, set by validate: Ingress when absent or listed;
	 * Egress when listed, or when absent and egress has a rule. */
	bool affects[PW_DIR_NR];
	struct pw_rule *rules[PW_DIR_NR]; /* ingress, egress */
	size_t nrules[PW_DIR_NR];
	struct pw_pos rules_pos[PW_DIR_NR];
	bool shared; /* borrowed from a unit (below): not owned, not freed */
};

/* ---- pods, workloads, namespaces, nodes, services ----------------- */

enum pw_phase {
	PW_PHASE_NONE, /* not written (templates, fresh pods) */
	PW_PHASE_PENDING,
	PW_PHASE_RUNNING,
	PW_PHASE_SUCCEEDED,
	PW_PHASE_FAILED,
	PW_PHASE_UNKNOWN,
};

struct pw_cport {
	char *name; /* NULL when unnamed */
	int64_t port;
	enum pw_proto proto;
	struct pw_pos pos;
	/* Field path of the entry ("spec.containers[1].ports[0]"): one list
	 * holds every container's ports, so diagnostics need it. */
	char *path;
};

#define PW_POD_MAX_IPS 2 /* one per family */

/*
 * The controller of a pod: the metadata.ownerReferences entry with
 * controller: true (the API allows one), as written. Diff groups pods by
 * it (a ReplicaSet's pods belong to its Deployment).
 */
struct pw_owner {
	char *kind; /* NULL: no controller owner */
	char *name;
};

/*
 * A Pod, or the pod template of a workload (kind != NULL). A template's
 * labels are the template's; its annotations, namespace position and
 * owner are the workload's own metadata (they describe the object the
 * user wrote, e.g. for lint suppressions).
 */
struct pw_pod {
	char *ns;
	char *name;
	const char *kind; /* NULL for a Pod; "Deployment", ... (static) */
	struct pw_labels labels;
	struct pw_labels annotations; /* metadata.annotations */
	struct pw_owner owner; /* controller owner, Pods only */
	char *node; /* spec.nodeName, NULL when unscheduled */
	bool host_network;
	enum pw_phase phase;
	struct pw_addr ips[PW_POD_MAX_IPS]; /* status.podIPs, else podIP */
	size_t nips;
	struct pw_cport *ports; /* every container's ports */
	size_t nports;
	struct pw_pos pos;
	struct pw_pos name_pos;
	struct pw_pos ns_pos; /* zero when namespace was not written */
	bool shared; /* borrowed from a unit */
};

struct pw_namespace {
	char *name;
	/* Includes kubernetes.io/metadata.name = name, added at finalize
	 * (the API server sets it and it cannot be changed). */
	struct pw_labels labels;
	struct pw_labels annotations; /* metadata.annotations */
	bool declared; /* false: only referenced */
	bool shared; /* borrowed from a unit */
	struct pw_pos pos;
	struct pw_pos name_pos;
};

struct pw_node {
	char *name;
	struct pw_labels annotations; /* metadata.annotations */
	struct pw_addr
		*addrs; /* status.addresses of type InternalIP/ExternalIP */
	size_t naddrs;
	struct pw_cidr *pod_cidrs; /* spec.podCIDRs, else spec.podCIDR */
	size_t npod_cidrs;
	struct pw_pos pos;
	struct pw_pos name_pos;
	bool shared; /* borrowed from a unit */
};

struct pw_svc_port {
	char *name;
	enum pw_proto proto;
	int64_t port;
	bool target_named;
	int64_t target_port; /* defaults to port */
	char *target_name;
	struct pw_pos pos;
};

struct pw_service {
	char *ns;
	char *name;
	struct pw_labels annotations; /* metadata.annotations */
	bool has_selector;
	struct pw_labels selector;
	struct pw_addr *cluster_ips;
	size_t ncluster_ips;
	struct pw_svc_port *ports;
	size_t nports;
	struct pw_pos pos;
	struct pw_pos name_pos;
	struct pw_pos ns_pos; /* zero when namespace was not written */
	bool shared; /* borrowed from a unit */
};

/* ---- the cluster -------------------------------------------------- */

struct pw_cluster {
	struct pw_namespace *nss;
	size_t nnss, cap_nss;
	struct pw_pod *pods;
	size_t npods, cap_pods;
	struct pw_policy *pols;
	size_t npols, cap_pols;
	struct pw_node *nodes;
	size_t nnodes, cap_nodes;
	struct pw_service *svcs;
	size_t nsvcs, cap_svcs;
	char **files; /* interned file names, for pw_pos.file */
	size_t nfiles, cap_files;
	size_t load_errors; /* errors recorded while loading */
	struct pw_unit **units; /* referenced by the shared objects */
	size_t nunits, cap_units;
	bool finalized;
	bool valid; /* finalized without errors */
};

/*
 * A parsed unit (include/podwall/cluster.h): the objects of one text in
 * a cluster of their own, finalized and valid, never changed again. A
 * cluster that adds the unit copies the object structs (flagged shared)
 * and takes a reference; the strings and arrays they point to stay the
 * unit's, so the objects cost a struct copy and are freed once, with the
 * last reference. The count is atomic: a cluster published to other
 * threads (podwalld's snapshots) may drop the last reference there.
 */
struct pw_unit {
	atomic_size_t refs;
	struct pw_cluster *c;
	/* The strings that repeat across its objects (label keys and
	 * values, namespace and node names), once each: see unit.c. */
	struct pw_strpool *pool;
};

/*
 * After finalize, every array is sorted: namespaces by name, pods by
 * (ns, name, kind) with Pods before templates, policies, services by
 * (ns, name), nodes by name.
 */

/* Interns a file name for positions; NULL on ENOMEM. */
const char *pw_cluster_intern_file(struct pw_cluster *c, const char *name);
/* Lookup after finalize (binary search); NULL when absent. */
const struct pw_namespace *pw_cluster_find_ns(const struct pw_cluster *c,
					      const char *name);

/*
 * Structural equality (same.c): whether two versions compile alike,
 * field by field in the order written; positions, annotations and owners
 * do not count. Labels: keys and values. Container ports of two pods:
 * names, numbers, protocols. A policy: its podSelector, effective
 * policyTypes and rules (not its namespace and name).
 */
bool pw_labels_same(const struct pw_labels *a, const struct pw_labels *b);
bool pw_cports_same(const struct pw_pod *a, const struct pw_pod *b);
bool pw_ipblock_same(const struct pw_ipblock *a, const struct pw_ipblock *b);
bool pw_policy_same(const struct pw_policy *a, const struct pw_policy *b);

/* Frees what the object owns (not the object itself). */
void pw_labels_clear(struct pw_labels *l);
void pw_owner_clear(struct pw_owner *o);
void pw_selector_clear(struct pw_selector *s);
void pw_policy_clear(struct pw_policy *p);
void pw_pod_clear(struct pw_pod *p);
void pw_namespace_clear(struct pw_namespace *n);
void pw_node_clear(struct pw_node *n);
void pw_service_clear(struct pw_service *s);

#endif
