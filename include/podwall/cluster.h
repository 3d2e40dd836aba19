/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Cluster state read from manifests.
 *
 * A cluster is filled by one or more loads (files, directories, standard
 * input, buffers) and then finalized: finalizing adds namespaces that are
 * referenced but not defined, applies defaults, sorts, and validates
 * everything with the API server's rules. Only a finalized cluster without
 * errors can be compiled into an engine.
 */
#ifndef PODWALL_CLUSTER_H
#define PODWALL_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <podwall/diag.h>
#include <podwall/port.h>

#ifdef __cplusplus
extern "C" {
#endif

struct pw_cluster;

/*
 * An IPv4 or IPv6 address: a plain value (like struct pw_port), so
 * callers can keep arrays of them. IPv4 uses b[0..3] and leaves the rest
 * zero, so that addresses compare with memcmp.
 */
struct pw_addr {
	uint8_t family; /* 4 or 6 */
	uint8_t b[16];
};

/* A prefix, its host bits cleared. */
struct pw_cidr {
	struct pw_addr addr;
	uint8_t len;
};

enum pw_kind {
	PW_KIND_NAMESPACE,
	PW_KIND_POD, /* Pods and workload templates */
	PW_KIND_NETWORK_POLICY,
	PW_KIND_NODE,
	PW_KIND_SERVICE,
	PW_KIND_NR,
};

/* An empty cluster; NULL and errno = ENOMEM on failure. */
struct pw_cluster *pw_cluster_new(void);
/* NULL is a no-op. */
void pw_cluster_free(struct pw_cluster *c);

/*
 * Loads a file, a directory (recursively, *.yaml, *.yml, *.json in sorted
 * order) or "-" for standard input. Problems go to diags.
 * Returns 0 when everything could be read and parsed (the diags may still
 * hold decoding errors such as an unknown field), -ENOENT / -EIO / -EACCES
 * when a path could not be read, -EBADMSG when a document is not valid
 * YAML or JSON or exceeds a limit (depth, scalar size, alias expansion),
 * -ENOMEM. Objects of a document that failed to parse are not added.
 */
int pw_cluster_load_path(struct pw_cluster *c, const char *path,
			 struct pw_diags *diags);
/* The same for a buffer; name is what diagnostics call it. */
int pw_cluster_load_buffer(struct pw_cluster *c, const char *name,
			   const char *buf, size_t len, struct pw_diags *diags);

/*
 * Completes the cluster and validates it. Returns 0, -EINVAL when any
 * error was recorded in diags (here or during loading), or -ENOMEM.
 * Call once, after the last load.
 */
int pw_cluster_finalize(struct pw_cluster *c, struct pw_diags *diags);

/*
 * A parsed unit: the objects of one text (a file of manifests, an object
 * from the API), decoded and validated on their own, once. A program that
 * keeps cluster state in pieces (podwalld) parses each piece when it
 * changes, and assembles a cluster from the units of every piece with
 * pw_cluster_add_unit(), without parsing again.
 *
 * A unit is immutable and reference counted (atomically: a cluster that
 * holds it may be freed in another thread). A cluster that adds it shares
 * its objects, copying only their top-level structs, and holds a
 * reference until it is freed, so a unit may be freed by its maker while
 * clusters still use it.
 */
struct pw_unit;

/*
 * Parses, decodes and validates buf as pw_cluster_load_buffer() and
 * pw_cluster_finalize() of a cluster of its own would (name is what
 * diagnostics call it). Returns the unit with one reference, or NULL and
 * errno: EINVAL when the text has errors (in diags; a text that does not
 * parse is not validated further), ENOMEM. Warnings go to diags too.
 */
struct pw_unit *pw_unit_new(const char *name, const char *buf, size_t len,
			    struct pw_diags *diags);
/* Takes a reference; returns u. */
struct pw_unit *pw_unit_ref(struct pw_unit *u);
/* Drops a reference; the last one frees the unit. NULL is a no-op. */
void pw_unit_free(struct pw_unit *u);
/* Objects of one kind the text declares (not the namespaces it only
 * references). */
size_t pw_unit_count(const struct pw_unit *u, enum pw_kind kind);

/*
 * Adds u's objects to c by reference (c takes a reference to u), before
 * pw_cluster_finalize(). Finalizing c checks what concerns several
 * objects (duplicates across texts, implicit namespaces) over all of
 * them, but does not validate u's objects again: their errors and
 * warnings were given by pw_unit_new(), and the warning for two pods with
 * one address is given only within a text. u's pods cannot be assigned
 * (pw_cluster_pod_assign() answers -EBUSY). 0, -EINVAL when c is
 * finalized or u is NULL, -ENOMEM (c unchanged).
 */
int pw_cluster_add_unit(struct pw_cluster *c, struct pw_unit *u);

/* Objects of one kind (after finalize: including implicit namespaces). */
size_t pw_cluster_count(const struct pw_cluster *c, enum pw_kind kind);

/* The files the cluster was loaded from, in load order, named as
 * diagnostics name them ("-" for standard input); borrowed. */
size_t pw_cluster_file_count(const struct pw_cluster *c);
const char *pw_cluster_file_name(const struct pw_cluster *c, size_t i);

/*
 * Pods and workload templates, i < pw_cluster_count(c, PW_KIND_POD), in
 * the cluster's order after finalize: by namespace, name, then Pods
 * before templates. Strings are borrowed from the cluster; an index out
 * of range reads as NULL, false or 0.
 */
const char *pw_cluster_pod_namespace(const struct pw_cluster *c, size_t i);
const char *pw_cluster_pod_name(const struct pw_cluster *c, size_t i);
/* NULL for a Pod; "Deployment", "StatefulSet", ... for a template. */
const char *pw_cluster_pod_kind(const struct pw_cluster *c, size_t i);
/* spec.nodeName, NULL when the pod is not scheduled. */
const char *pw_cluster_pod_node(const struct pw_cluster *c, size_t i);
bool pw_cluster_pod_host_network(const struct pw_cluster *c, size_t i);
/* In phase Succeeded or Failed: gone for policy purposes. */
bool pw_cluster_pod_finished(const struct pw_cluster *c, size_t i);
/*
 * The pod's addresses (status.podIPs, else status.podIP; at most one per
 * family) and its containers' declared ports. Each writes at most max
 * values into out (NULL when max is 0) and returns how many there are.
 */
size_t pw_cluster_pod_addrs(const struct pw_cluster *c, size_t i,
			    struct pw_addr *out, size_t max);
size_t pw_cluster_pod_ports(const struct pw_cluster *c, size_t i,
			    struct pw_port *out, size_t max);

/*
 * Gives pod i a node and an address when it has none, as a network
 * plugin would (the lab does it for manifests without them). node or
 * addr may be NULL to leave that part alone; both are copied. Call
 * after finalize and before pw_engine_new(): an engine reads the pods
 * as they were when it was built. 0; -EINVAL (index out of range, a
 * template or hostNetwork pod, an empty node name, an address that is
 * not IPv4 or IPv6); -EEXIST (the pod has a node or an address already);
 * -EBUSY (the pod is shared from a unit); -ENOMEM. Nothing changes on an
 * error.
 */
int pw_cluster_pod_assign(struct pw_cluster *c, size_t i, const char *node,
			  const struct pw_addr *addr);

/* Node i's name, i < pw_cluster_count(c, PW_KIND_NODE), sorted after
 * finalize; borrowed, NULL out of range. */
const char *pw_cluster_node_name(const struct pw_cluster *c, size_t i);
/*
 * The Node named name: its addresses (status.addresses of type
 * InternalIP and ExternalIP, in order) and its pod ranges (spec.podCIDRs,
 * else spec.podCIDR). Write at most max values into out and return how
 * many there are; 0 for a node the manifests do not define.
 */
size_t pw_cluster_node_addrs(const struct pw_cluster *c, const char *name,
			     struct pw_addr *out, size_t max);
size_t pw_cluster_node_pod_cidrs(const struct pw_cluster *c, const char *name,
				 struct pw_cidr *out, size_t max);

#ifdef __cplusplus
}
#endif
#endif
