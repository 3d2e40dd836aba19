// SPDX-License-Identifier: Apache-2.0
/*
 * The ctnetlink parser of the conntrack sweep: the messages of a dump of
 * the kernel's connection table into struct pw_ct_entry (lib/conntrack.h
 * has the parts), with every length checked by hand: libmnl's own walk
 * trusts a message length near 2^32 (found by fuzz/fuzz_conntrack.c).
 */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <podwall/conntrack.h>

#include "addr.h"
#include "conntrack.h"
#include "util.h"

/* -- parsing ------------------------------------------------------------ */

/* The attribute types each nest understands, with their netlink type; a
 * table so that validation is one lookup. Unknown types are skipped (the
 * kernel adds attributes over time). */
struct attr_spec {
	enum mnl_attr_data_type type;
	size_t len; /* for MNL_TYPE_BINARY */
};

static const struct attr_spec top_spec[CTA_MAX + 1] = {
	[CTA_TUPLE_ORIG] = { MNL_TYPE_NESTED, 0 },
	[CTA_TUPLE_REPLY] = { MNL_TYPE_NESTED, 0 },
	[CTA_STATUS] = { MNL_TYPE_U32, 0 },
	[CTA_ID] = { MNL_TYPE_U32, 0 },
	[CTA_ZONE] = { MNL_TYPE_U16, 0 },
	[CTA_MARK] = { MNL_TYPE_U32, 0 },
};

static const struct attr_spec tuple_spec[CTA_TUPLE_MAX + 1] = {
	[CTA_TUPLE_IP] = { MNL_TYPE_NESTED, 0 },
	[CTA_TUPLE_PROTO] = { MNL_TYPE_NESTED, 0 },
};

static const struct attr_spec ip_spec[CTA_IP_MAX + 1] = {
	[CTA_IP_V4_SRC] = { MNL_TYPE_BINARY, 4 },
	[CTA_IP_V4_DST] = { MNL_TYPE_BINARY, 4 },
	[CTA_IP_V6_SRC] = { MNL_TYPE_BINARY, 16 },
	[CTA_IP_V6_DST] = { MNL_TYPE_BINARY, 16 },
};

static const struct attr_spec proto_spec[CTA_PROTO_MAX + 1] = {
	[CTA_PROTO_NUM] = { MNL_TYPE_U8, 0 },
	[CTA_PROTO_SRC_PORT] = { MNL_TYPE_U16, 0 },
	[CTA_PROTO_DST_PORT] = { MNL_TYPE_U16, 0 },
	[CTA_PROTO_ICMP_ID] = { MNL_TYPE_U16, 0 },
	[CTA_PROTO_ICMP_TYPE] = { MNL_TYPE_U8, 0 },
	[CTA_PROTO_ICMP_CODE] = { MNL_TYPE_U8, 0 },
	[CTA_PROTO_ICMPV6_ID] = { MNL_TYPE_U16, 0 },
	[CTA_PROTO_ICMPV6_TYPE] = { MNL_TYPE_U8, 0 },
	[CTA_PROTO_ICMPV6_CODE] = { MNL_TYPE_U8, 0 },
};

struct nest {
	const struct attr_spec *spec;
	unsigned max;
	const struct nlattr **tb;
};

static int attr_cb(const struct nlattr *attr, void *data)
{
	const struct nest *n = data;
	unsigned type = mnl_attr_get_type(attr);
	const struct attr_spec *s;

	if (type > n->max || !n->spec[type].type)
		return MNL_CB_OK;
	s = &n->spec[type];
	if (s->type == MNL_TYPE_BINARY) {
		if (mnl_attr_get_payload_len(attr) != s->len)
			return MNL_CB_ERROR;
	} else if (mnl_attr_validate(attr, s->type) < 0) {
		return MNL_CB_ERROR;
	}
	n->tb[type] = attr;
	return MNL_CB_OK;
}

/* Fills tb (max + 1 slots, zeroed here) from the attributes nested in
 * attr. -EBADMSG when one of them is malformed. */
static int parse_nest(const struct nlattr *attr, const struct attr_spec *spec,
		      unsigned max, const struct nlattr **tb)
{
	struct nest n = { spec, max, tb };

	memset(tb, 0, (max + 1) * sizeof(*tb));
	if (mnl_attr_parse_nested(attr, attr_cb, &n) < 0)
		return -EBADMSG;
	return 0;
}

static void get_addr(const struct nlattr *a, uint8_t family,
		     struct pw_addr *out)
{
	memset(out, 0, sizeof(*out));
	out->family = family;
	memcpy(out->b, mnl_attr_get_payload(a), family == 4 ? 4 : 16);
}

static int parse_ip(const struct nlattr *attr, struct pw_ct_tuple *t,
		    bool *complete)
{
	const struct nlattr *tb[CTA_IP_MAX + 1];
	int ret = parse_nest(attr, ip_spec, CTA_IP_MAX, tb);

	if (ret)
		return ret;
	if (tb[CTA_IP_V4_SRC] && tb[CTA_IP_V4_DST]) {
		get_addr(tb[CTA_IP_V4_SRC], 4, &t->src);
		get_addr(tb[CTA_IP_V4_DST], 4, &t->dst);
	} else if (tb[CTA_IP_V6_SRC] && tb[CTA_IP_V6_DST]) {
		get_addr(tb[CTA_IP_V6_SRC], 6, &t->src);
		get_addr(tb[CTA_IP_V6_DST], 6, &t->dst);
	} else {
		*complete = false;
	}
	return 0;
}

const struct pw_ct_icmp_attrs pw_ct_icmp_attrs[PW_CT_ICMP_NR] = {
	{ IPPROTO_ICMP, CTA_PROTO_ICMP_ID, CTA_PROTO_ICMP_TYPE,
	  CTA_PROTO_ICMP_CODE },
	{ IPPROTO_ICMPV6, CTA_PROTO_ICMPV6_ID, CTA_PROTO_ICMPV6_TYPE,
	  CTA_PROTO_ICMPV6_CODE },
};

static void get_icmp(const struct nlattr **tb, struct pw_ct_tuple *t)
{
	for (size_t i = 0; i < PW_CT_ICMP_NR; i++) {
		const struct pw_ct_icmp_attrs *ia = &pw_ct_icmp_attrs[i];

		if (t->proto != ia->proto || !tb[ia->id] || !tb[ia->type] ||
		    !tb[ia->code])
			continue;
		t->has_ports = true;
		t->sport = ntohs(mnl_attr_get_u16(tb[ia->id]));
		t->dport = (uint16_t)(mnl_attr_get_u8(tb[ia->type]) << 8 |
				      mnl_attr_get_u8(tb[ia->code]));
	}
}

static int parse_proto(const struct nlattr *attr, struct pw_ct_tuple *t,
		       bool *complete)
{
	const struct nlattr *tb[CTA_PROTO_MAX + 1];
	int ret = parse_nest(attr, proto_spec, CTA_PROTO_MAX, tb);

	if (ret)
		return ret;
	if (!tb[CTA_PROTO_NUM]) {
		*complete = false;
		return 0;
	}
	t->proto = mnl_attr_get_u8(tb[CTA_PROTO_NUM]);
	if (tb[CTA_PROTO_SRC_PORT] && tb[CTA_PROTO_DST_PORT]) {
		t->has_ports = true;
		t->sport = ntohs(mnl_attr_get_u16(tb[CTA_PROTO_SRC_PORT]));
		t->dport = ntohs(mnl_attr_get_u16(tb[CTA_PROTO_DST_PORT]));
	}
	get_icmp(tb, t);
	return 0;
}

/* 0 with *complete telling whether the tuple has addresses and a
 * protocol; -EBADMSG. */
static int parse_tuple(const struct nlattr *attr, struct pw_ct_tuple *t,
		       bool *complete)
{
	const struct nlattr *tb[CTA_TUPLE_MAX + 1];
	int ret = parse_nest(attr, tuple_spec, CTA_TUPLE_MAX, tb);

	memset(t, 0, sizeof(*t));
	*complete = tb[CTA_TUPLE_IP] && tb[CTA_TUPLE_PROTO];
	if (!ret && tb[CTA_TUPLE_IP])
		ret = parse_ip(tb[CTA_TUPLE_IP], t, complete);
	if (!ret && tb[CTA_TUPLE_PROTO])
		ret = parse_proto(tb[CTA_TUPLE_PROTO], t, complete);
	return ret;
}

/* 1 with en filled, 0 for a well-formed entry without a usable original
 * tuple (skipped), -EBADMSG. */
static int parse_entry(const struct nlmsghdr *nlh, struct pw_ct_entry *en)
{
	const struct nlattr *tb[CTA_MAX + 1] = { NULL };
	struct nest n = { top_spec, CTA_MAX, tb };
	bool orig_ok = false, reply_ok = false;
	int ret;

	memset(en, 0, sizeof(*en));
	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(struct nfgenmsg) ||
	    mnl_attr_parse(nlh, sizeof(struct nfgenmsg), attr_cb, &n) < 0)
		return -EBADMSG;
	if (!tb[CTA_TUPLE_ORIG])
		return 0;
	ret = parse_tuple(tb[CTA_TUPLE_ORIG], &en->orig, &orig_ok);
	if (!ret && tb[CTA_TUPLE_REPLY])
		ret = parse_tuple(tb[CTA_TUPLE_REPLY], &en->reply, &reply_ok);
	if (ret)
		return ret;
	en->has_reply = reply_ok && en->reply.src.family == en->orig.src.family;
	if (!en->has_reply)
		memset(&en->reply, 0, sizeof(en->reply));
	en->id = tb[CTA_ID] ? ntohl(mnl_attr_get_u32(tb[CTA_ID])) : 0;
	en->status = tb[CTA_STATUS] ? ntohl(mnl_attr_get_u32(tb[CTA_STATUS])) :
				      0;
	en->zone = tb[CTA_ZONE] ? ntohs(mnl_attr_get_u16(tb[CTA_ZONE])) : 0;
	en->mark = tb[CTA_MARK] ? ntohl(mnl_attr_get_u32(tb[CTA_MARK])) : 0;
	return orig_ok ? 1 : 0;
}

int pw_ct_nl_error(const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*err))
		return -EBADMSG;
	return err->error > 0 ? -err->error : err->error;
}

/* One message of a dump: 1 after NLMSG_DONE, 0 to go on, or an error. */
static int parse_one(const struct nlmsghdr *nlh,
		     int (*fn)(const struct pw_ct_entry *en, void *data),
		     void *data)
{
	struct pw_ct_entry en;
	int ret;

	switch (nlh->nlmsg_type) {
	case NLMSG_DONE:
		return 1;
	case NLMSG_ERROR:
		return pw_ct_nl_error(nlh);
	case CT_MSG(IPCTNL_MSG_CT_NEW):
		ret = parse_entry(nlh, &en);
		if (ret <= 0)
			return ret;
		ret = fn(&en, data);
		return ret < 0 ? ret : 0;
	default:
		return 0; /* NLMSG_NOOP, or not an entry */
	}
}

/*
 * The walk checks each length against what is left in size_t (libmnl's
 * mnl_nlmsg_ok() casts nlmsg_len to int, and MNL_ALIGN wraps on a length
 * near 2^32: found by fuzz/fuzz_conntrack.c).
 */
PW_EXPORT int pw_conntrack_parse(const void *buf, size_t len,
				 int (*fn)(const struct pw_ct_entry *en,
					   void *data),
				 void *data)
{
	size_t off = 0;
	int ret;

	while (len - off >= sizeof(struct nlmsghdr)) {
		const struct nlmsghdr *nlh =
			(const void *)((const char *)buf + off);
		size_t l = nlh->nlmsg_len;

		if (l < sizeof(*nlh) || l > len - off)
			return -EBADMSG;
		ret = parse_one(nlh, fn, data);
		if (ret)
			return ret;
		l = NLMSG_ALIGN(l);
		off = l < len - off ? off + l : len;
	}
	return off < len ? -EBADMSG : 0;
}
