// SPDX-License-Identifier: Apache-2.0
/*
 * The kernel side of the flow log: a netlink socket bound to one nflog
 * group, and the reading of each logged packet (prefix, timestamp, IP
 * and L4 headers) into a flow event. The prefixes are the contract with
 * the datapath (docs/DATAPATH.md, "Flow log"); the kernel copies only the
 * first NFLOG_COPY bytes of each packet: the headers, never the data.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <time.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>

#include <podwall/podwall.h>
#include "flowlog.h"

/* IPv6 with a few extension headers and a TCP header with options. */
#define NFLOG_COPY 160
/* Batching in the kernel: packets per message, and the longest wait in
 * 1/100 s (its default is 100 packets or a whole second). */
#define NFLOG_QTHRESH 64
#define NFLOG_TIMEOUT 10
/* The socket's receive buffer: bursts wait here while a window is
 * written; beyond it the kernel drops (counted: ENOBUFS, sequence gaps). */
#define NFLOG_RCVBUF (8 << 20)

static const struct {
	const char *prefix;
	uint8_t verdict, dir, check;
} prefixes[] = {
	{ "podwall:denied:ingress", PW_FLOW_DENIED, PW_DIR_INGRESS,
	  FLOW_CHECK_POLICY },
	{ "podwall:denied:egress", PW_FLOW_DENIED, PW_DIR_EGRESS,
	  FLOW_CHECK_POLICY },
	/* The direction of unknown is settled later, from the addresses. */
	{ "podwall:denied:unknown", PW_FLOW_DENIED, PW_DIR_INGRESS,
	  FLOW_CHECK_UNKNOWN },
	/* Anti-spoofing checks a source: the egress side. */
	{ "podwall:denied:spoof", PW_FLOW_DENIED, PW_DIR_EGRESS,
	  FLOW_CHECK_SPOOF },
	{ "podwall:allowed:ingress", PW_FLOW_ALLOWED, PW_DIR_INGRESS,
	  FLOW_CHECK_POLICY },
	{ "podwall:allowed:egress", PW_FLOW_ALLOWED, PW_DIR_EGRESS,
	  FLOW_CHECK_POLICY },
};

bool flow_prefix(const char *prefix, struct flow_event *ev)
{
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		if (strcmp(prefix, prefixes[i].prefix))
			continue;
		ev->verdict = prefixes[i].verdict;
		ev->dir = prefixes[i].dir;
		ev->check = prefixes[i].check;
		return true;
	}
	return false;
}

static void ports(const uint8_t *l4, size_t n, int proto, struct flow_event *ev)
{
	static const struct {
		int ipproto;
		enum pw_flow_proto proto;
		bool ports;
	} l4s[] = {
		{ 6, PW_FLOW_TCP, true },      { 17, PW_FLOW_UDP, true },
		{ 132, PW_FLOW_SCTP, true },   { 1, PW_FLOW_ICMP, false },
		{ 58, PW_FLOW_ICMPV6, false },
	};

	for (size_t i = 0; i < sizeof(l4s) / sizeof(l4s[0]); i++) {
		if (l4s[i].ipproto != proto)
			continue;
		ev->proto = (uint8_t)l4s[i].proto;
		if (l4s[i].ports && l4 && n >= 4) {
			ev->sport = l4[0] << 8 | l4[1];
			ev->dport = l4[2] << 8 | l4[3];
		}
		return;
	}
	ev->proto = PW_FLOW_PROTO_NR; /* not one a line can name */
}

static bool ipv4(const uint8_t *p, size_t n, struct flow_event *ev)
{
	size_t ihl = (size_t)(p[0] & 0x0f) * 4;
	bool later_fragment;

	if (n < 20 || ihl < 20)
		return false;
	ev->family = 4;
	memcpy(ev->src, p + 12, 4);
	memcpy(ev->dst, p + 16, 4);
	later_fragment = ((p[6] & 0x1f) << 8 | p[7]) != 0;
	ports(later_fragment || n < ihl ? NULL : p + ihl, n < ihl ? 0 : n - ihl,
	      p[9], ev);
	return true;
}

/* Walks the extension headers that may come before L4. */
static bool ipv6(const uint8_t *p, size_t n, struct flow_event *ev)
{
	size_t off = 40;
	int next;
	bool later_fragment = false;

	if (n < 40)
		return false;
	ev->family = 6;
	memcpy(ev->src, p + 8, 16);
	memcpy(ev->dst, p + 24, 16);
	next = p[6];
	while ((next == 0 || next == 43 || next == 60 || next == 44) &&
	       off + 8 <= n) {
		int nh = p[off];

		if (next == 44) {
			later_fragment =
				((p[off + 2] << 8 | p[off + 3]) & 0xfff8) != 0;
			off += 8;
		} else {
			off += (size_t)(p[off + 1] + 1) * 8;
		}
		next = nh;
	}
	ports(later_fragment || off > n ? NULL : p + off, off > n ? 0 : n - off,
	      next, ev);
	return true;
}

bool flow_packet(const uint8_t *p, size_t n, struct flow_event *ev)
{
	ev->sport = ev->dport = -1;
	if (n < 1)
		return false;
	switch (p[0] >> 4) {
	case 4:
		return ipv4(p, n, ev);
	case 6:
		return ipv6(p, n, ev);
	}
	return false;
}

static int attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(attr);

	if (mnl_attr_type_valid(attr, NFULA_MAX) > 0)
		tb[type] = attr;
	return MNL_CB_OK;
}

static void timestamp(const struct nlattr *a, struct flow_event *ev)
{
	struct nfulnl_msg_packet_timestamp ts;
	struct timespec now;

	if (a && mnl_attr_get_payload_len(a) >= sizeof(ts)) {
		/* attributes are 4-byte aligned, the fields 8 bytes wide */
		memcpy(&ts, mnl_attr_get_payload(a), sizeof(ts));
		ev->sec = (int64_t)be64toh(ts.sec);
		ev->usec = (uint32_t)(be64toh(ts.usec) % 1000000);
		if (ev->sec > 0)
			return;
	}
	/* Forwarded packets often carry no time stamp: the time read. */
	clock_gettime(CLOCK_REALTIME, &now);
	ev->sec = now.tv_sec;
	ev->usec = (uint32_t)(now.tv_nsec / 1000);
}

int nflog_event(const struct nlmsghdr *nlh, struct flow_event *ev)
{
	const struct nlattr *tb[NFULA_MAX + 1] = { NULL };
	char prefix[64];
	size_t n;

	if (NFNL_MSG_TYPE(nlh->nlmsg_type) != NFULNL_MSG_PACKET)
		return 0;
	if (mnl_attr_parse(nlh, sizeof(struct nfgenmsg), attr_cb, tb) < 0)
		return -EINVAL;
	if (!tb[NFULA_PREFIX] || !tb[NFULA_PAYLOAD])
		return 0;
	n = mnl_attr_get_payload_len(tb[NFULA_PREFIX]);
	if (n == 0 || n > sizeof(prefix))
		return 0;
	memcpy(prefix, mnl_attr_get_payload(tb[NFULA_PREFIX]), n);
	prefix[n - 1] = '\0'; /* the kernel sends it with its NUL */
	memset(ev, 0, sizeof(*ev));
	if (!flow_prefix(prefix, ev))
		return 0;
	if (!flow_packet(mnl_attr_get_payload(tb[NFULA_PAYLOAD]),
			 mnl_attr_get_payload_len(tb[NFULA_PAYLOAD]), ev))
		return 0;
	timestamp(tb[NFULA_TIMESTAMP], ev);
	if (tb[NFULA_SEQ] && mnl_attr_get_payload_len(tb[NFULA_SEQ]) == 4) {
		ev->seq = ntohl(mnl_attr_get_u32(tb[NFULA_SEQ]));
		ev->has_seq = true;
	}
	return 1;
}

/* NFULNL_MSG_CONFIG for group with cmd (0: none) and attributes. */
static int config(struct mnl_socket *nl, uint16_t group, uint8_t cmd, bool mode)
{
	char buf[8192];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *g;
	uint32_t seq = (uint32_t)time(NULL), port = mnl_socket_get_portid(nl);
	ssize_t r;

	nlh->nlmsg_type = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->nfgen_family = AF_UNSPEC;
	g->version = NFNETLINK_V0;
	g->res_id = htons(group);
	if (cmd) {
		struct nfulnl_msg_config_cmd c = { .command = cmd };

		mnl_attr_put(nlh, NFULA_CFG_CMD, sizeof(c), &c);
	}
	if (mode) {
		struct nfulnl_msg_config_mode m = {
			.copy_range = htonl(NFLOG_COPY),
			.copy_mode = NFULNL_COPY_PACKET,
		};

		mnl_attr_put(nlh, NFULA_CFG_MODE, sizeof(m), &m);
		/* sequence numbers tell how many events were lost */
		mnl_attr_put_u16(nlh, NFULA_CFG_FLAGS, htons(NFULNL_CFG_F_SEQ));
		/* The kernel batches up to QTHRESH packets or TIMEOUT: few
		 * messages in a flood, little delay when quiet. */
		mnl_attr_put_u32(nlh, NFULA_CFG_QTHRESH, htonl(NFLOG_QTHRESH));
		mnl_attr_put_u32(nlh, NFULA_CFG_TIMEOUT, htonl(NFLOG_TIMEOUT));
	}
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	r = mnl_socket_recvfrom(nl, buf, sizeof(buf));
	if (r < 0)
		return -errno;
	return mnl_cb_run(buf, (size_t)r, seq, port, NULL, NULL) < 0 ? -errno :
								       0;
}

struct mnl_socket *nflog_open(uint16_t group)
{
	struct mnl_socket *nl = mnl_socket_open(NETLINK_NETFILTER);
	int size = NFLOG_RCVBUF, ret;

	if (!nl)
		return NULL;
	ret = mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0 ? -errno : 0;
	if (!ret)
		ret = config(nl, group, NFULNL_CFG_CMD_BIND, false);
	if (!ret)
		ret = config(nl, group, 0, true);
	if (ret) {
		mnl_socket_close(nl);
		errno = -ret;
		return NULL;
	}
	/* FORCE needs CAP_NET_ADMIN, which the agent has; else the
	 * ordinary limit. ENOBUFS is reported, not ignored. */
	if (setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUFFORCE, &size,
		       sizeof(size)))
		setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUF, &size,
			   sizeof(size));
	setsockopt(mnl_socket_get_fd(nl), SOL_NETLINK, NETLINK_NO_ENOBUFS,
		   &(int){ 0 }, sizeof(int));
	return nl;
}
