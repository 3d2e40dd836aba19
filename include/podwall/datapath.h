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
#include <stdint.h>
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

/*
 * Adds a pod range of this node ("10.244.1.0/24", "fd00:10:244:1::/64"),
 * for clusters whose manifests hold no Node with spec.podCIDRs (the
 * --pod-cidr option): addresses in it that belong to no known pod are
 * dropped (fail-closed). Added to the Node's ranges, if any. 0, or
 * -EINVAL for text that is no CIDR, -ENOMEM.
 */
int pw_ruleset_add_pod_cidr(struct pw_ruleset *rs, const char *cidr);

/* Verdict events for the flow log (podwalld --flow-log): nflog group `group`. */
enum pw_flow_log_flags {
	PW_FLOW_LOG_DENIED = 1u << 0, /* every dropped packet */
	/* packets of new connections a local pod's class admitted */
	PW_FLOW_LOG_ALLOWED = 1u << 1,
};

/*
 * 0 or -EINVAL (unknown flag); set before render/apply/update; flags 0 =
 * no log statements. The nflog prefixes are fixed strings
 * ("podwall:denied:ingress", ..., docs/DATAPATH.md "Flow log"); nothing
 * from a manifest is in them. The named counters denied_ingress,
 * denied_egress, denied_unknown and denied_spoof are in every table
 * whatever the flags; allowed_ingress and allowed_egress only with
 * PW_FLOW_LOG_ALLOWED (their per-packet cost, docs/BENCHMARKS.md).
 */
int pw_ruleset_set_flow_log(struct pw_ruleset *rs, unsigned int flags,
			    uint16_t group);

/*
 * The verdict cache. A packet of a connection that is not established
 * yet (an unanswered UDP flow, a SYN retransmitted) is judged by the
 * policies, and once admitted, the connection's conntrack mark carries
 * the ruleset generation that admitted it in the bits of `mask`; its later
 * packets are accepted on that mark alone while the generation is the
 * one in force. Every transaction that changes the table moves to the
 * next generation, so no admission outlives the rules that made it
 * (docs/DATAPATH.md, "The verdict cache"). The bits must be contiguous
 * and written by no other software on the node; 0 turns the cache off
 * (every such packet is judged). 0 or -EINVAL. Set before render/apply.
 */
#define PW_CT_MARK_MASK_DEFAULT 0x0fff0000u
int pw_ruleset_set_ct_mark_mask(struct pw_ruleset *rs, uint32_t mask);
/* A mask as the command lines take it ("0x0fff0000", "0"; C's integer
 * syntax), checked as pw_ruleset_set_ct_mark_mask checks it. 0 with *mask,
 * or -EINVAL. */
int pw_ct_mark_mask_parse(const char *text, uint32_t *mask);

/* Sizes of the table: chains, sets and maps, and elements of all sets. */
size_t pw_ruleset_chain_count(const struct pw_ruleset *rs);
size_t pw_ruleset_set_count(const struct pw_ruleset *rs);
size_t pw_ruleset_element_count(const struct pw_ruleset *rs);
/* Local pods enforced, and local pods skipped because they have no
 * address (workload templates are not real pods). */
size_t pw_ruleset_local_count(const struct pw_ruleset *rs);
/* Distinct addresses of the local pods (what anti-spoofing can bind). */
size_t pw_ruleset_local_addr_count(const struct pw_ruleset *rs);
size_t pw_ruleset_skipped_count(const struct pw_ruleset *rs);
/* Pod ranges of the node (its Node's spec.podCIDRs, merged) that are
 * fail-closed; 0 without a node or when the manifests give none. */
size_t pw_ruleset_range_count(const struct pw_ruleset *rs);

/*
 * Anti-spoofing: finds, in the current network namespace, the interface
 * of each local pod address (the output interface of the direct route to
 * it; docs/DATAPATH.md) and lets packets entering from that interface
 * carry only the addresses of the pods behind it. Without it (podwall
 * compile) the sets are empty and nothing is dropped for spoofing.
 * Returns the number of addresses bound, or a negative errno.
 */
int pw_ruleset_bind_interfaces(struct pw_ruleset *rs);
/*
 * As pw_ruleset_bind_interfaces, but an address that prev bound keeps
 * prev's interface without asking the kernel; only the others are looked
 * up. For a caller that knows the routes did not change since prev was
 * bound (podwalld follows them, docs/AGENT.md): a reconcile then asks
 * for the routes of new pods only. prev NULL: as
 * pw_ruleset_bind_interfaces.
 */
int pw_ruleset_bind_interfaces_from(struct pw_ruleset *rs,
				    const struct pw_ruleset *prev);
/* Addresses bound to interfaces by pw_ruleset_bind_interfaces. */
size_t pw_ruleset_bound_count(const struct pw_ruleset *rs);

/*
 * Replaces podwall's table in the current network namespace by rs in one
 * nftables transaction (netlink messages built with libnftnl, no nft
 * parser): on any error the previous table stays as it was.
 * Returns 0 or a negative errno (-EPERM without CAP_NET_ADMIN, -ENOENT or
 * -EOPNOTSUPP when the kernel lacks an nf_tables feature, otherwise the
 * kernel's errno). On error, *errmsg (when errmsg is not NULL) gets a
 * malloc'd one-line message (the kernel's error as text), or NULL.
 */
int pw_ruleset_apply(const struct pw_ruleset *rs, char **errmsg);

/*
 * The same transaction as pw_ruleset_apply, built from the rendered text
 * by libnftables instead of netlink messages built directly: the
 * reference path (what `nft -f` of `podwall compile` would do), kept for
 * tests and measurements. Errors as pw_ruleset_apply, except that other
 * kernel or nft errors are -EIO and *errmsg is nft's first error line.
 */
int pw_ruleset_apply_text(const struct pw_ruleset *rs, char **errmsg);

/* What one apply or update changed in the kernel. Plain counters, filled
 * by pw_ruleset_update; fields may be added at the end. */
struct pw_apply_stats {
	int full; /* 1: the whole table was (re)loaded */
	size_t elems_added, elems_removed;
	size_t sets_added, sets_removed, sets_changed, sets_unchanged;
	size_t chains_added, chains_removed, chains_replaced;
	/* Nanoseconds spent comparing and building the batch, and in the
	 * kernel (sending it until the kernel answered). */
	unsigned long long diff_ns, kernel_ns;
	/* The verdict cache: the generation now in force (in the mask's
	 * bits; 0 without a cache), and the conntrack entries deleted
	 * because a new cycle of generations began (a full load, or the
	 * counter wrapped): unanswered connections stamped by an earlier
	 * cycle, which are judged again at their next packet. */
	uint32_t generation;
	size_t ct_purged;
	int ct_purge_failed; /* 1: the purge after the transaction failed */
};

/*
 * Moves the kernel from old to rs in one transaction touching only what
 * differs: set and map elements added and removed, class chains and their
 * sets created, replaced or deleted (docs/DATAPATH.md, "Incremental
 * updates"). old must be what the kernel holds (the ruleset the caller
 * applied last); old NULL gives a full load, as pw_ruleset_apply. When the
 * transaction fails because the kernel did not hold old (the table was
 * deleted or changed by someone else: ENOENT, EEXIST, EBUSY), it falls
 * back to a full load; st->full says so. A change that does not make the
 * transaction fail (an element added by hand) is not noticed: use
 * pw_ruleset_sync to compare with the kernel itself. The kernel form of
 * each ruleset is built on first use and cached in it, so neither ruleset
 * may be used from another thread meanwhile. st may be NULL. Errors as
 * pw_ruleset_apply; on error the previous table stays.
 */
int pw_ruleset_update(const struct pw_ruleset *old, const struct pw_ruleset *rs,
		      struct pw_apply_stats *st, char **errmsg);

/*
 * Reads podwall's table back from the kernel (netlink dumps of its sets,
 * elements, chains and rule counts) and then does what pw_ruleset_update
 * does with what it read as old: what `podwall apply` uses, since a
 * command has no memory of the last run. A missing table, or one holding
 * objects or rules podwall does not make, is replaced by a full load. st
 * may be NULL. Errors as pw_ruleset_apply.
 */
int pw_ruleset_sync(const struct pw_ruleset *rs, struct pw_apply_stats *st,
		    char **errmsg);

/* "+3 elements, -1 element, 1 chain replaced, 12 unchanged sets" (or
 * "full load: ..."); snprintf's return convention. */
int pw_apply_stats_format(const struct pw_apply_stats *st, char *buf,
			  size_t len);

/*
 * Incremental compilation, for an agent that follows a cluster as it
 * changes. A pw_live keeps what the ruleset of one node is made of: which
 * pods each distinct peer admits (and their merged addresses), which
 * policies select each local pod, and the class of each local pod's
 * sides. Given the next cluster it compares it with the previous one
 * (pods, namespaces, policies, nodes; unchanged objects shared from the
 * same pw_unit are recognised by identity, others by content) and redoes
 * only what the differences reach: a pod is tested against the peers
 * that could admit it, a policy's peers are matched against the pods,
 * and only the classes that depend on what changed are rebuilt.
 * docs/DATAPATH.md, "Incremental compilation", has the dependencies.
 */
struct pw_live;

/* What one pw_live_compile did; fields may be added at the end. */
struct pw_live_stats {
	int full; /* 1: compiled from nothing (the first call, or after an error) */
	size_t pods_changed; /* added, removed or changed (matrix pods) */
	size_t namespaces_changed, policies_changed, nodes_changed;
	size_t peers_recomputed; /* peers whose addresses were merged again */
	size_t classes_rebuilt; /* classes whose elements were built again */
	size_t classes; /* classes held, both directions */
	unsigned long long ns; /* wall time of the call */
};

/* For node `node` (NULL: every pod is local, as pw_ruleset_new). NULL
 * and errno (ENOMEM). */
struct pw_live *pw_live_new(const char *node);
/* NULL is a no-op. */
void pw_live_free(struct pw_live *l);

/*
 * The ruleset of finalized cluster c: byte for byte what
 * pw_ruleset_new(pw_engine_new(c), node) gives (tests/test_live.c checks
 * it on random sequences of changes). l borrows c until the next call of
 * pw_live_compile or pw_live_free, which compare against it: the caller
 * keeps c alive until then. The ruleset returned is new and the caller's
 * (add pod ranges, flow log and interface bindings to it as to any
 * other). On error NULL and errno (ENOMEM); l then forgets everything and
 * the next call compiles c from nothing. st may be NULL.
 */
struct pw_ruleset *pw_live_compile(struct pw_live *l,
				   const struct pw_cluster *c,
				   struct pw_live_stats *st);

/*
 * Closes the netlink socket the datapath keeps open between transactions
 * (a close right after a transaction that deleted something would wait
 * for the kernel to free it: docs/DATAPATH.md, "The kept socket"). The
 * socket holds a reference to the network namespace it was opened in:
 * a program that applies in a namespace it is about to delete calls
 * this first, or the namespace (and its interfaces) lives until the
 * next transaction elsewhere or the end of the process.
 */
void pw_datapath_release(void);

/* Removes podwall's table, if there is one. Errors as pw_ruleset_apply. */
int pw_datapath_flush(char **errmsg);

/* What to do about an error of apply or flush, in a few words ("run as
 * root (CAP_NET_ADMIN)"); a static string, never NULL. */
const char *pw_datapath_hint(int err);

#ifdef __cplusplus
}
#endif
#endif
