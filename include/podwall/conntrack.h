/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Cutting established connections that the policies no longer allow.
 *
 * The datapath accepts `ct state established,related` before any policy
 * (docs/DATAPATH.md), so a connection admitted before a change keeps
 * flowing after it. The sweep dumps the conntrack table of the current
 * network namespace (ctnetlink), judges every entry that concerns this
 * node's pods with the engine, and deletes the entries it no longer
 * allows: their next packet is then judged again by the ruleset in force
 * (and dropped). docs/AGENT.md, "Cutting connections a change no longer
 * allows", gives the semantics and the time bound.
 */
#ifndef PODWALL_CONNTRACK_H
#define PODWALL_CONNTRACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <podwall/cluster.h>
#include <podwall/engine.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * One direction of a conntrack entry, as the kernel keeps it: a plain
 * value (like struct pw_addr). Ports in host order; for ICMP and ICMPv6
 * sport is the echo id and dport is type << 8 | code.
 */
struct pw_ct_tuple {
	struct pw_addr src, dst;
	uint8_t proto; /* IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP, ... */
	bool has_ports; /* the kernel gave ports (or ICMP id, type, code) */
	uint16_t sport, dport;
};

struct pw_ct_judge;

/* One conntrack entry of a dump. */
struct pw_ct_entry {
	struct pw_ct_tuple orig; /* as the first packet came in */
	struct pw_ct_tuple reply; /* as replies come back (after NAT) */
	uint32_t id; /* the kernel's CTA_ID: a delete names exactly it */
	uint32_t status; /* IPS_* bits */
	uint16_t zone;
	bool has_reply; /* the dump gave a reply tuple */
	uint32_t mark; /* the conntrack mark (0 when the dump gave none) */
};

/* What the sweep does with one entry. */
enum pw_ct_decision {
	PW_CT_IGNORE, /* not this node's pod traffic: left alone */
	PW_CT_KEEP, /* judged and still allowed */
	PW_CT_CUT, /* judged and no longer allowed */
};

/*
 * Parses buf, len bytes of ctnetlink messages as a dump answers them
 * (several netlink messages, possibly ending with NLMSG_DONE), calling
 * fn for every entry (IPCTNL_MSG_CT_NEW with both addresses of the
 * original tuple); fn returns 0 to go on or a negative errno to stop.
 * Returns 0 when buf ended, 1 after NLMSG_DONE, -EBADMSG on a malformed
 * message, a negative errno the kernel sent in an NLMSG_ERROR, or fn's.
 */
int pw_conntrack_parse(const void *buf, size_t len,
		       int (*fn)(const struct pw_ct_entry *en, void *data),
		       void *data);

/*
 * A judge: decides entries against engine e for node (NULL: every pod is
 * local, as pw_ruleset_new does). It borrows e. NULL and errno on failure.
 */
struct pw_ct_judge *pw_ct_judge_new(const struct pw_engine *e,
				    const char *node);
/* NULL is a no-op. */
void pw_ct_judge_free(struct pw_ct_judge *j);
/*
 * One of the addresses of this network namespace (the node's own): a
 * connection it originated left through the output hook, which podwall
 * does not filter, so it is never cut. 0 or -ENOMEM.
 */
int pw_ct_judge_add_host_addr(struct pw_ct_judge *j, const struct pw_addr *a);
/*
 * The decision for en (enum pw_ct_decision). Negative errno on failure
 * (ENOMEM); the judge caches endpoints and decisions, so it is for one
 * thread at a time. AGENT.md, "Cutting connections a change no longer
 * allows", lists the rules.
 */
int pw_ct_judge_decide(struct pw_ct_judge *j, const struct pw_ct_entry *en);

/*
 * Looks at the n entries about to be decided and precomputes what pays
 * off: when many pod-to-pod entries share a few ports (at least 256 on
 * one port), the all-pairs matrix of those ports (at most 8, and 64 MiB),
 * so that they cost one bit each instead of one explain. The decisions
 * are the same with or without it. 0, or -ENOMEM (the judge then works
 * without it).
 */
int pw_ct_judge_prepare(struct pw_ct_judge *j, const struct pw_ct_entry *v,
			size_t n);

/* What one sweep did. */
struct pw_sweep_stats {
	uint64_t seen; /* entries dumped */
	uint64_t judged; /* entries that concern this node, judged */
	uint64_t cut; /* entries deleted */
	uint64_t errors; /* deletes or judgments that failed */
	uint64_t gone; /* to cut, but already gone or replaced (ENOENT) */
};

/*
 * Sweeps the conntrack table of the current network namespace: every
 * entry that e (for node, NULL: all pods local) no longer allows is
 * deleted. st may be NULL. 0 when the table was read (failed deletes are
 * counted in st->errors), or a negative errno: -EPERM without
 * CAP_NET_ADMIN, -ENOMEM, -EBADMSG, or what the socket said.
 */
int pw_conntrack_sweep(const struct pw_engine *e, const char *node,
		       struct pw_sweep_stats *st);

#ifdef __cplusplus
}
#endif
#endif
