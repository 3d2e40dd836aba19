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

#include <stddef.h>
#include <podwall/diag.h>

#ifdef __cplusplus
extern "C" {
#endif

struct pw_cluster;

enum pw_kind {
	PW_KIND_NAMESPACE,
	PW_KIND_POD,		/* Pods and workload templates */
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

/* Objects of one kind (after finalize: including implicit namespaces). */
size_t pw_cluster_count(const struct pw_cluster *c, enum pw_kind kind);

/* The files the cluster was loaded from, in load order, named as
 * diagnostics name them ("-" for standard input); borrowed. */
size_t pw_cluster_file_count(const struct pw_cluster *c);
const char *pw_cluster_file_name(const struct pw_cluster *c, size_t i);

#ifdef __cplusplus
}
#endif
#endif
