/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the parts of the conntrack sweep share (include/podwall/conntrack.h
 * is the interface): conntrack_parse.c reads ctnetlink messages into
 * struct pw_ct_entry, conntrack_judge.c decides each entry with the
 * engine, conntrack.c dumps the kernel's table and deletes what the judge
 * cuts.
 */
#ifndef PW_LIB_CONNTRACK_H
#define PW_LIB_CONNTRACK_H

#include <stddef.h>
#include <stdint.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>

/* The nfnetlink message type of ctnetlink command t. */
#define CT_MSG(t) ((NFNL_SUBSYS_CTNETLINK << 8) | (t))

/* Where ICMP and ICMPv6 keep what TCP keeps in ports: the echo id, type
 * and code (conntrack_parse.c reads them, conntrack.c writes them). */
struct pw_ct_icmp_attrs {
	uint8_t proto;
	unsigned id, type, code;
};

#define PW_CT_ICMP_NR 2
extern const struct pw_ct_icmp_attrs pw_ct_icmp_attrs[PW_CT_ICMP_NR];

/*
 * Deletes the conntrack entries of this network namespace that no reply
 * was seen for and whose mark has nonzero bits of mask other than keep:
 * connections the verdict cache admitted in an earlier cycle of
 * generations (nft_update.c). Adds to *purged the entries deleted. 0 or
 * -errno (the dump failed).
 */
int pw_ct_purge_stamped(uint32_t mask, uint32_t keep, size_t *purged);

/* An NLMSG_ERROR: its errno (0 for an acknowledgement), or -EBADMSG. */
int pw_ct_nl_error(const struct nlmsghdr *nlh);

#endif
