// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * policy.bpf.c: the per-packet work of an eBPF podwall datapath, as a
 * cost model for bench/datapath_bpf.sh (not part of podwall). Maps and
 * lookup order: policy.h. Loaded and attached by bench/bpf/dp_bpf.c.
 *
 * Where the programs run, on the node side of each pod's veth:
 *   tc ingress  = the pod's egress   ("from" programs: source side)
 *   tc egress   = the pod's ingress  ("to" programs: destination side)
 *
 * How each learns the connection's state, the nftables table's first rule
 * (`ct state established,related accept`):
 *   _ct     bpf_skb_ct_lookup() (kfunc): a lookup of the packet's tuple in
 *           the conntrack table. At tc ingress it is the only way: the
 *           packet has not met netfilter yet (its own conntrack was
 *           scrubbed when it crossed the veth into the node).
 *   _nfct   the skb's own conntrack reference (skb->_nfct, through
 *           bpf_cast_to_kern_ctx()): at tc egress the packet has been
 *           through netfilter (prerouting .. postrouting), so its ctinfo
 *           is there for free, exactly what `ct state` reads.
 *   (none)  no connection state: every packet judged (cost separation
 *           only: replies would be judged as new flows).
 * pw_both_cache adds a verdict cache in front of the judgement (below).
 *
 * Not modelled (a real datapath needs them): IPv6 (passed here), ICMP
 * errors as "related" for the kfunc programs (the inner tuple would have
 * to be parsed), IP fragments (non-first fragments are dropped: at tc
 * ingress they carry no ports and no conntrack has reassembled them).
 */
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "policy.h"

#define TC_ACT_OK 0
#define TC_ACT_SHOT 2
#define ETH_P_IP 0x0800
#define IP_OFFSET 0x1fff
#define NFCT_INFOMASK 7UL

extern struct nf_conn *
bpf_skb_ct_lookup(struct __sk_buff *skb_ctx, struct bpf_sock_tuple *bpf_tuple,
		  u32 tuple__sz, struct bpf_ct_opts *opts, u32 opts__sz) __ksym;
extern void bpf_ct_release(struct nf_conn *ct) __ksym;
extern void *bpf_cast_to_kern_ctx(void *obj) __ksym;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PW_MAX_PODS);
	__type(key, struct pw_if_key);
	__type(value, struct pw_pod);
} pod_by_if SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PW_MAX_PODS);
	__type(key, __u32);
	__type(value, struct pw_pod);
} pod_by_addr SEC(".maps");

/* ifindexes of local pods' veths: a miss of pod_by_if from one is spoofed */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PW_MAX_PODS);
	__type(key, __u32);
	__type(value, __u8);
} pod_ifs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PW_MAX_RULES);
	__type(key, struct pw_rule_key);
	__type(value, __u8);
} rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, PW_MAX_CIDRS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct pw_lpm_key);
	__type(value, __u8);
} rules_lpm SEC(".maps");

/*
 * The verdict cache of pw_both_cache: flows admitted under the current
 * policy generation, keyed by the packet's 5-tuple and the interface it
 * came in on (the source side depends on it). The control plane would
 * bump policy_gen with every change it makes, which invalidates every
 * entry at once: unlike a mark in the conntrack entry, a cached admission
 * never outlives the policy that admitted it.
 */
struct flow_key {
	__u32 ifindex;
	__u32 saddr;
	__u32 daddr;
	__u16 sport;
	__u16 dport;
	__u8 proto;
	__u8 pad[3];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct flow_key);
	__type(value, __u32);
} verdicts SEC(".maps");

volatile __u32 policy_gen;

struct flow {
	__u32 saddr;
	__u32 daddr;
	__u16 sport;
	__u16 dport;
	__u8 proto;
};

enum parsed { P_PASS, P_DROP, P_JUDGE };

enum ct_source { CT_NONE, CT_KFUNC, CT_SKB };

/* parse: Ethernet, IPv4, the ports of TCP, UDP and SCTP. */
static __always_inline enum parsed parse(struct __sk_buff *skb, struct flow *f)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	__u16 *ports;

	if ((void *)(eth + 1) > end)
		return P_PASS;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return P_PASS; /* ARP; IPv6 is not modelled */
	if ((void *)(ip + 1) > end || ip->ihl < 5)
		return P_DROP;
	if (ip->frag_off & bpf_htons(IP_OFFSET))
		return P_DROP;
	f->saddr = ip->saddr;
	f->daddr = ip->daddr;
	f->proto = ip->protocol;
	f->sport = 0;
	f->dport = 0;
	if (f->proto != IPPROTO_TCP && f->proto != IPPROTO_UDP &&
	    f->proto != IPPROTO_SCTP)
		return P_JUDGE;
	ports = (void *)ip + ip->ihl * 4;
	if ((void *)(ports + 2) > end)
		return P_DROP;
	f->sport = ports[0];
	f->dport = ports[1];
	return P_JUDGE;
}

/* The connection is established or related: `ct state established,related`. */
static __always_inline bool ct_kfunc_passes(struct __sk_buff *skb,
					    const struct flow *f)
{
	struct bpf_sock_tuple t = {};
	struct bpf_ct_opts o;
	struct nf_conn *ct;
	unsigned long status;

	__builtin_memset(&o, 0, sizeof(o));
	o.netns_id = BPF_F_CURRENT_NETNS;

	/* the kfunc knows TCP and UDP only */
	if (f->proto != IPPROTO_TCP && f->proto != IPPROTO_UDP)
		return false;
	o.l4proto = f->proto;
	t.ipv4.saddr = f->saddr;
	t.ipv4.daddr = f->daddr;
	t.ipv4.sport = f->sport;
	t.ipv4.dport = f->dport;
	ct = bpf_skb_ct_lookup(skb, &t, sizeof(t.ipv4), &o, sizeof(o));
	if (!ct)
		return false;
	status = ct->status;
	bpf_ct_release(ct);
	/* what nf_conntrack_in would set as ctinfo for this packet */
	return o.dir == IP_CT_DIR_REPLY ||
	       (status & (IPS_SEEN_REPLY | IPS_EXPECTED));
}

static __always_inline bool ct_skb_passes(struct __sk_buff *skb)
{
	struct sk_buff *kskb = bpf_cast_to_kern_ctx(skb);
	unsigned long nfct = kskb->_nfct;
	unsigned long info = nfct & NFCT_INFOMASK;

	/* no pointer: no conntrack, or untracked (not established) */
	if (!(nfct & ~NFCT_INFOMASK))
		return false;
	return info != IP_CT_NEW;
}

static __always_inline bool ct_passes(struct __sk_buff *skb,
				      const struct flow *f, enum ct_source src)
{
	if (src == CT_KFUNC)
		return ct_kfunc_passes(skb, f);
	if (src == CT_SKB)
		return ct_skb_passes(skb);
	return false;
}

/*
 * A class admits the peer: exact peer with the port, with any port of the
 * protocol, with any protocol; then the same three in the CIDR trie.
 */
static __always_inline bool class_admits(__u32 class, __u32 peer, __u8 proto,
					 __u16 port)
{
	struct pw_rule_key k = {
		.class = class, .peer = peer, .proto = proto, .port = port
	};
	struct pw_lpm_key l = { .prefixlen = PW_LPM_FIXED_BITS + 32,
				.class = class,
				.peer = peer,
				.proto = proto,
				.port = port };

	if (bpf_map_lookup_elem(&rules, &k))
		return true;
	k.port = 0;
	if (bpf_map_lookup_elem(&rules, &k))
		return true;
	k.proto = 0;
	if (bpf_map_lookup_elem(&rules, &k))
		return true;
	if (bpf_map_lookup_elem(&rules_lpm, &l))
		return true;
	l.port = 0;
	if (bpf_map_lookup_elem(&rules_lpm, &l))
		return true;
	l.proto = 0;
	return bpf_map_lookup_elem(&rules_lpm, &l) != NULL;
}

/* The source side: anti-spoofing and the source pod's egress class. */
static __always_inline bool source_passes(__u32 ifindex, const struct flow *f,
					  bool pod_if)
{
	struct pw_if_key k = { .ifindex = ifindex, .addr = f->saddr };
	struct pw_pod *pod = bpf_map_lookup_elem(&pod_by_if, &k);

	if (!pod) /* spoofed from a pod's veth; else another node's pod */
		return !pod_if && !bpf_map_lookup_elem(&pod_ifs, &ifindex);
	if (!pod->egress_class)
		return true;
	return class_admits(pod->egress_class, f->daddr, f->proto, f->dport);
}

/* The destination side: the destination pod's ingress class. */
static __always_inline bool dest_passes(const struct flow *f)
{
	struct pw_pod *pod = bpf_map_lookup_elem(&pod_by_addr, &f->daddr);

	if (!pod)
		return false; /* out of a pod's veth to no local pod */
	if (!pod->ingress_class)
		return true;
	return class_admits(pod->ingress_class, f->saddr, f->proto, f->dport);
}

static __always_inline int from_pod(struct __sk_buff *skb, enum ct_source src)
{
	struct flow f;

	switch (parse(skb, &f)) {
	case P_PASS:
		return TC_ACT_OK;
	case P_DROP:
		return TC_ACT_SHOT;
	default:
		break;
	}
	if (ct_passes(skb, &f, src))
		return TC_ACT_OK;
	return source_passes(skb->ifindex, &f, true) ? TC_ACT_OK : TC_ACT_SHOT;
}

static __always_inline int to_pod(struct __sk_buff *skb, enum ct_source src,
				  bool both_sides)
{
	struct flow f;

	switch (parse(skb, &f)) {
	case P_PASS:
		return TC_ACT_OK;
	case P_DROP:
		return TC_ACT_SHOT;
	default:
		break;
	}
	if (ct_passes(skb, &f, src))
		return TC_ACT_OK;
	/* both_sides: the source side judged here too, after routing */
	if (both_sides && !source_passes(skb->ingress_ifindex, &f, false))
		return TC_ACT_SHOT;
	return dest_passes(&f) ? TC_ACT_OK : TC_ACT_SHOT;
}

/* Both sides at the destination's tc egress, admissions cached. */
static __always_inline int cached(struct __sk_buff *skb)
{
	struct flow_key k;
	struct flow f;
	__u32 gen = policy_gen, *v;

	switch (parse(skb, &f)) {
	case P_PASS:
		return TC_ACT_OK;
	case P_DROP:
		return TC_ACT_SHOT;
	default:
		break;
	}
	if (ct_skb_passes(skb))
		return TC_ACT_OK;
	__builtin_memset(&k, 0, sizeof(k));
	k.ifindex = skb->ingress_ifindex;
	k.saddr = f.saddr;
	k.daddr = f.daddr;
	k.sport = f.sport;
	k.dport = f.dport;
	k.proto = f.proto;
	v = bpf_map_lookup_elem(&verdicts, &k);
	if (v && *v == gen)
		return TC_ACT_OK;
	if (!source_passes(k.ifindex, &f, false) || !dest_passes(&f))
		return TC_ACT_SHOT;
	bpf_map_update_elem(&verdicts, &k, &gen, BPF_ANY);
	return TC_ACT_OK;
}

SEC("tc")
int pw_pass(struct __sk_buff *skb)
{
	return TC_ACT_OK;
}

SEC("tc")
int pw_from_ct(struct __sk_buff *skb)
{
	return from_pod(skb, CT_KFUNC);
}

SEC("tc")
int pw_from(struct __sk_buff *skb)
{
	return from_pod(skb, CT_NONE);
}

SEC("tc")
int pw_to_ct(struct __sk_buff *skb)
{
	return to_pod(skb, CT_KFUNC, false);
}

SEC("tc")
int pw_to_nfct(struct __sk_buff *skb)
{
	return to_pod(skb, CT_SKB, false);
}

SEC("tc")
int pw_to(struct __sk_buff *skb)
{
	return to_pod(skb, CT_NONE, false);
}

SEC("tc")
int pw_both_nfct(struct __sk_buff *skb)
{
	return to_pod(skb, CT_SKB, true);
}

SEC("tc")
int pw_both_cache(struct __sk_buff *skb)
{
	return cached(skb);
}

/* Dual licensed: kfuncs and GPL-only helpers need a GPL-compatible
 * license string, and BSD keeps the program usable with the rest. */
char LICENSE[] SEC("license") = "Dual BSD/GPL";
