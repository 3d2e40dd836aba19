// SPDX-License-Identifier: Apache-2.0
/*
 * The conntrack sweep: established connections that the policies in
 * force no longer allow are deleted from the kernel's connection table,
 * so that their next packet is judged again by the ruleset (and dropped).
 * This file dumps the table through libmnl, hands the entries to the
 * judge (conntrack_judge.c) and deletes what it cuts, in batches.
 */
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <podwall/conntrack.h>

#include "conntrack.h"
#include "nlkeep.h"
#include "util.h"

/* -- the sweep ---------------------------------------------------------- */

struct sweep {
	struct pw_ct_judge *j; /* NULL: a purge of the verdict cache */
	struct pw_sweep_stats *st;
	/* The dump; after judging, its first ncut entries are to delete. */
	struct pw_ct_entry *v;
	size_t n, cap, ncut;
	/* A purge keeps only the unanswered entries whose mark has a
	 * generation of mask other than keep. */
	uint32_t mask, keep;
};

static bool stale(const struct sweep *s, const struct pw_ct_entry *en)
{
	uint32_t gen = en->mark & s->mask;

	return gen && gen != s->keep && !(en->status & IPS_SEEN_REPLY);
}

static int on_entry(const struct pw_ct_entry *en, void *data)
{
	struct sweep *s = data;

	if (!s->j && !stale(s, en))
		return 0;

	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 256;
		struct pw_ct_entry *v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = *en;
	s->st->seen++;
	return 0;
}

static int decide_all(struct sweep *s)
{
	/* Without memory for the matrix, every pair is explained. */
	pw_ct_judge_prepare(s->j, s->v, s->n);
	for (size_t i = 0; i < s->n; i++) {
		int d = pw_ct_judge_decide(s->j, &s->v[i]);

		if (d == -ENOMEM)
			return -ENOMEM;
		if (d < 0) {
			s->st->errors++;
			continue;
		}
		s->st->judged += d != PW_CT_IGNORE;
		if (d == PW_CT_CUT)
			s->v[s->ncut++] = s->v[i];
	}
	return 0;
}

/* The node's own addresses: connections it originates are not judged. */
static int add_host_addrs(struct pw_ct_judge *j)
{
	struct ifaddrs *ifa, *i;
	int ret = 0;

	if (getifaddrs(&ifa))
		return -errno;
	for (i = ifa; i && !ret; i = i->ifa_next) {
		struct pw_addr a = { .family = 0 };
		const struct sockaddr *sa = i->ifa_addr;

		if (sa && sa->sa_family == AF_INET) {
			a.family = 4;
			memcpy(a.b,
			       &((const struct sockaddr_in *)(const void *)sa)
					->sin_addr,
			       4);
		} else if (sa && sa->sa_family == AF_INET6) {
			a.family = 6;
			memcpy(a.b,
			       &((const struct sockaddr_in6 *)(const void *)sa)
					->sin6_addr,
			       16);
		}
		if (a.family)
			ret = pw_ct_judge_add_host_addr(j, &a);
	}
	freeifaddrs(ifa);
	return ret;
}

static struct nlmsghdr *put_header(void *buf, uint16_t type, uint16_t flags,
				   uint8_t family, uint32_t seq)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *nfg;

	nlh->nlmsg_type = CT_MSG(type);
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = seq;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = family;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = 0;
	return nlh;
}

/* Dumps the table (every family) and judges each entry. */
static int dump(struct mnl_socket *nl, char *buf, size_t len, struct sweep *s)
{
	struct nlmsghdr *nlh = put_header(buf, IPCTNL_MSG_CT_GET, NLM_F_DUMP,
					  AF_UNSPEC, (uint32_t)time(NULL));
	ssize_t n;
	int ret;

	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	do {
		n = mnl_socket_recvfrom(nl, buf, len);
		if (n < 0)
			return -errno;
		ret = pw_conntrack_parse(buf, (size_t)n, on_entry, s);
	} while (ret == 0 && n > 0);
	return ret < 0 ? ret : 0;
}

static void put_tuple(struct nlmsghdr *nlh, const struct pw_ct_tuple *t)
{
	struct nlattr *tuple = mnl_attr_nest_start(nlh, CTA_TUPLE_ORIG);
	struct nlattr *ip = mnl_attr_nest_start(nlh, CTA_TUPLE_IP), *proto;
	bool v4 = t->src.family == 4;

	mnl_attr_put(nlh, v4 ? CTA_IP_V4_SRC : CTA_IP_V6_SRC, v4 ? 4 : 16,
		     t->src.b);
	mnl_attr_put(nlh, v4 ? CTA_IP_V4_DST : CTA_IP_V6_DST, v4 ? 4 : 16,
		     t->dst.b);
	mnl_attr_nest_end(nlh, ip);
	proto = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
	mnl_attr_put_u8(nlh, CTA_PROTO_NUM, t->proto);
	for (size_t i = 0; i < PW_CT_ICMP_NR && t->has_ports; i++) {
		const struct pw_ct_icmp_attrs *ia = &pw_ct_icmp_attrs[i];

		if (t->proto != ia->proto)
			continue;
		mnl_attr_put_u16(nlh, (uint16_t)ia->id, htons(t->sport));
		mnl_attr_put_u8(nlh, (uint16_t)ia->type,
				(uint8_t)(t->dport >> 8));
		mnl_attr_put_u8(nlh, (uint16_t)ia->code, (uint8_t)t->dport);
		goto out;
	}
	if (t->has_ports) {
		mnl_attr_put_u16(nlh, CTA_PROTO_SRC_PORT, htons(t->sport));
		mnl_attr_put_u16(nlh, CTA_PROTO_DST_PORT, htons(t->dport));
	}
out:
	mnl_attr_nest_end(nlh, proto);
	mnl_attr_nest_end(nlh, tuple);
}

/*
 * A delete of exactly the entry en, at buf: its original tuple (which the
 * kernel requires: a delete without a tuple would flush the whole table)
 * and its id, so that an entry made since for the same tuple, which the
 * new ruleset judged, is not touched (ENOENT). No NLM_F_ACK: the kernel
 * answers only the deletes that fail.
 */
static size_t put_delete(char *buf, const struct pw_ct_entry *en, uint32_t seq)
{
	struct nlmsghdr *nlh =
		put_header(buf, IPCTNL_MSG_CT_DELETE, 0,
			   en->orig.src.family == 4 ? AF_INET : AF_INET6, seq);

	put_tuple(nlh, &en->orig);
	if (en->id)
		mnl_attr_put_u32(nlh, CTA_ID, htonl(en->id));
	if (en->zone)
		mnl_attr_put_u16(nlh, CTA_ZONE, htons(en->zone));
	return NLMSG_ALIGN(nlh->nlmsg_len);
}

/* Counts the error answers queued on the socket (without waiting). */
static void count_failures(struct mnl_socket *nl, char *buf, size_t len,
			   struct sweep *s, size_t *failed)
{
	ssize_t n;

	while ((n = recv(mnl_socket_get_fd(nl), buf, len, MSG_DONTWAIT)) > 0) {
		const struct nlmsghdr *nlh = (const void *)buf;

		for (int rem = (int)n; mnl_nlmsg_ok(nlh, rem);
		     nlh = mnl_nlmsg_next(nlh, &rem)) {
			int err = nlh->nlmsg_type == NLMSG_ERROR ?
					  pw_ct_nl_error(nlh) :
					  0;

			if (!err)
				continue;
			(*failed)++;
			if (err == -ENOENT)
				s->st->gone++;
			else
				s->st->errors++;
		}
	}
}

/* Deletes per batch: one write of up to DELETE_BATCH messages, which the
 * kernel handles before the write returns (netlink to the kernel is
 * synchronous), so their error answers are queued by then. */
#define DELETE_BATCH 128

static void delete_all(struct mnl_socket *nl, char *buf, size_t len,
		       struct sweep *s)
{
	size_t i = 0;

	while (i < s->ncut) {
		size_t off = 0, first = i, failed = 0;

		while (i < s->ncut && i - first < DELETE_BATCH &&
		       off + MNL_SOCKET_BUFFER_SIZE / 8 <= len / 2) {
			off += put_delete(buf + off, &s->v[i], (uint32_t)i + 1);
			i++;
		}
		if (mnl_socket_sendto(nl, buf, off) < 0) {
			s->st->errors += i - first;
			continue;
		}
		count_failures(nl, buf + len / 2, len / 2, s, &failed);
		s->st->cut +=
			i - first - (failed < i - first ? failed : i - first);
	}
}

static int sweep_kernel(struct sweep *s)
{
	size_t len = 1 << 16;
	char *buf = malloc(len);
	struct mnl_socket *nl = NULL;
	int ret = -ENOMEM;

	if (!buf)
		goto out;
	/* A socket of the sweeps' own, kept open: closing a netfilter
	 * socket right after a transaction that deleted something waits,
	 * holding nf_tables' commit lock (nlkeep.h); and not the
	 * transactions' one, which a long dump would hold up. */
	nl = pw_nlkeep_borrow(&pw_ct_sock);
	ret = nl ? dump(nl, buf, len, s) : -errno;
	if (!ret && s->j)
		ret = decide_all(s);
	else if (!ret)
		s->ncut = s->n;
	if (!ret)
		delete_all(nl, buf, len, s);
	if (nl)
		pw_nlkeep_return(&pw_ct_sock, !ret);
out:
	free(buf);
	return ret;
}

PW_EXPORT int pw_conntrack_sweep(const struct pw_engine *e, const char *node,
				 struct pw_sweep_stats *st)
{
	struct pw_sweep_stats local;
	struct sweep s = { .st = st ? st : &local };
	int ret;

	memset(s.st, 0, sizeof(*s.st));
	s.j = pw_ct_judge_new(e, node);
	if (!s.j)
		return -errno;
	ret = add_host_addrs(s.j);
	if (!ret)
		ret = sweep_kernel(&s);
	free(s.v);
	pw_ct_judge_free(s.j);
	return ret;
}

/*
 * The verdict cache's purge (nft_update.c, docs/DATAPATH.md "The verdict
 * cache"): deletes the unanswered entries whose mark carries a generation
 * of mask other than keep (0: any). Their next packet makes a new entry,
 * judged by the ruleset in force. Answered ones are left alone: the
 * established rule admits them before the cache is read.
 */
int pw_ct_purge_stamped(uint32_t mask, uint32_t keep, size_t *purged)
{
	struct pw_sweep_stats st = { 0 };
	struct sweep s = { .st = &st, .mask = mask, .keep = keep };
	int ret = sweep_kernel(&s);

	free(s.v);
	*purged += (size_t)st.cut;
	return ret;
}
