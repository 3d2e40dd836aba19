/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The maps of the eBPF datapath model (bench/bpf/policy.bpf.c), shared
 * with its loader (bench/bpf/dp_bpf.c). Includes nothing: the program
 * gets __u32 and friends from vmlinux.h, the loader from <linux/types.h>.
 *
 * A packet is judged on each side that is isolated, in two steps per
 * side, as podwall's nftables fast path does (docs/DATAPATH.md, rules 4
 * and 6):
 *
 *   1. the pod -> its class: the source by {ifindex, saddr} (which is
 *      also the anti-spoofing check: a pod's veth may only send from its
 *      own addresses), the destination by daddr;
 *   2. the class and the peer -> allowed: {class, peer, proto, port} in
 *      a hash (peers that are pods: exact addresses), then the same key
 *      with port 0 (rules without ports), then an LPM trie on the peer
 *      (ipBlock CIDRs, and 0.0.0.0/0 for "any peer").
 *
 * Class ids of egress and ingress classes are disjoint (the top bit marks
 * ingress classes), so one rule map serves both directions. Class 0 means
 * "not isolated on that side": the side passes without step 2.
 */
#ifndef PW_BENCH_BPF_POLICY_H
#define PW_BENCH_BPF_POLICY_H

#define PW_CLASS_INGRESS 0x80000000u

/* pod_by_if: {ifindex, saddr} -> struct pw_pod (the source side). */
struct pw_if_key {
	__u32 ifindex;
	__u32 addr; /* network order */
};

/* pod_by_if and pod_by_addr values. */
struct pw_pod {
	__u32 egress_class; /* 0: egress not isolated */
	__u32 ingress_class; /* 0: ingress not isolated */
};

/* rules: exact peers. port and addr in network order; port 0: any port. */
struct pw_rule_key {
	__u32 class;
	__u32 peer;
	__u8 proto;
	__u8 pad;
	__u16 port;
};

/*
 * rules_lpm: CIDR peers. The trie matches a prefix of the key's bytes
 * after prefixlen, so the exact parts (class, proto, port) come first and
 * prefixlen is PW_LPM_FIXED_BITS plus the CIDR's length.
 */
struct pw_lpm_key {
	__u32 prefixlen;
	__u32 class;
	__u8 proto;
	__u8 pad;
	__u16 port;
	__u32 peer;
};

#define PW_LPM_FIXED_BITS 64

#define PW_MAX_PODS 16384
#define PW_MAX_RULES 131072
#define PW_MAX_CIDRS 16384

#endif
