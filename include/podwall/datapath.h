/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The nftables datapath: the engine's decisions compiled into one table,
 * `inet podwall`, that the kernel enforces.
 *
 * A ruleset is built from an engine for one node (or for every pod when
 * no node is named), rendered as nft syntax for review, and applied to
 * the current network namespace in one atomic transaction. podwall owns
 * that table and touches nothing else. docs/DATAPATH.md explains the
 * layout of the table and why.
 */
#ifndef PODWALL_DATAPATH_H
#define PODWALL_DATAPATH_H

#include <stddef.h>
#include <stdio.h>
#include <podwall/engine.h>

#ifdef __cplusplus
extern "C" {
#endif

struct pw_ruleset;

/*
 * Compiles the ruleset of node `node` from e: pods whose spec.nodeName is
 * node are local (their egress and ingress are enforced here), every
 * other pod is a peer known by its addresses. node NULL: every pod with
 * an address is local. The ruleset borrows nothing: e may be freed
 * afterwards. NULL and errno (ENOMEM) on failure.
 */
struct pw_ruleset *pw_ruleset_new(const struct pw_engine *e, const char *node);
/* NULL is a no-op. */
void pw_ruleset_free(struct pw_ruleset *rs);

/*
 * The ruleset as an nft script (what `nft -f` reads), deterministic:
 * the same cluster always gives the same bytes. *out is malloc'd and
 * NUL-terminated; the caller frees it. 0 or -ENOMEM.
 */
int pw_ruleset_render(const struct pw_ruleset *rs, char **out);

/* Sizes of the table: chains, sets and maps, and elements of all sets. */
size_t pw_ruleset_chain_count(const struct pw_ruleset *rs);
size_t pw_ruleset_set_count(const struct pw_ruleset *rs);
size_t pw_ruleset_element_count(const struct pw_ruleset *rs);
/* Local pods enforced, and local pods skipped because they have no
 * address (workload templates are not real pods). */
size_t pw_ruleset_local_count(const struct pw_ruleset *rs);
size_t pw_ruleset_skipped_count(const struct pw_ruleset *rs);
/* Pod ranges of the node (its Node's spec.podCIDRs, merged) that are
 * fail-closed; 0 without a node or when the manifests give none. */
size_t pw_ruleset_range_count(const struct pw_ruleset *rs);

/*
 * Replaces podwall's table in the current network namespace by rs in one
 * nftables transaction: on any error the previous table stays as it was.
 * Returns 0 or a negative errno (-EPERM without CAP_NET_ADMIN, -ENOENT or
 * -EOPNOTSUPP when the kernel lacks an nf_tables feature, -EIO for other
 * kernel or nft errors). On error, *errmsg (when errmsg is not NULL) gets
 * a malloc'd one-line message from nftables, or NULL.
 */
int pw_ruleset_apply(const struct pw_ruleset *rs, char **errmsg);

/* Removes podwall's table, if there is one. Errors as pw_ruleset_apply. */
int pw_datapath_flush(char **errmsg);

/* What to do about an error of apply or flush, in a few words ("run as
 * root (CAP_NET_ADMIN)"); a static string, never NULL. */
const char *pw_datapath_hint(int err);

#ifdef __cplusplus
}
#endif
#endif
