// SPDX-License-Identifier: Apache-2.0
/*
 * The conntrack sweep: established connections that the policies in
 * force no longer allow are deleted from the kernel's connection table,
 * so that their next packet is judged again by the ruleset (and dropped).
 *
 * Three parts: the ctnetlink parser (messages of a dump into struct
 * pw_ct_entry), the judge (an entry against the engine, as the datapath
 * judges the first packet of a connection, with caches and the engine's
 * matrix for big tables), and the sweep (a dump of the table through
 * libmnl, then the deletes, in batches).
 *
 * Which connection an entry is. After DNAT (a Service) the original
 * tuple still names the service address; the reply tuple's source is the
 * backend that answers and its source port the port the backend listens
 * on. The datapath's forward hook runs after DNAT, so it judged the
 * client (original source) against that backend and port; so does the
 * judge. SNAT (masquerade) happens after the forward hook and changes
 * only the reply's destination, which nobody judges.
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

#include "addr.h"
#include "engine.h"
#include "model.h"
#include "util.h"

#define CT_MSG(t) ((NFNL_SUBSYS_CTNETLINK << 8) | (t))

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

/* Where ICMP keeps what TCP keeps in ports: the echo id, type and code. */
static const struct icmp_attrs {
	uint8_t proto;
	unsigned id, type, code;
} icmp_attrs[] = {
	{ IPPROTO_ICMP, CTA_PROTO_ICMP_ID, CTA_PROTO_ICMP_TYPE,
	  CTA_PROTO_ICMP_CODE },
	{ IPPROTO_ICMPV6, CTA_PROTO_ICMPV6_ID, CTA_PROTO_ICMPV6_TYPE,
	  CTA_PROTO_ICMPV6_CODE },
};

static void get_icmp(const struct nlattr **tb, struct pw_ct_tuple *t)
{
	for (size_t i = 0; i < PW_ARRAY_SIZE(icmp_attrs); i++) {
		const struct icmp_attrs *ia = &icmp_attrs[i];

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
	return orig_ok ? 1 : 0;
}

/* An NLMSG_ERROR: its errno (0 for an acknowledgement), or -EBADMSG. */
static int nl_error(const struct nlmsghdr *nlh)
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
		return nl_error(nlh);
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

/* -- judging ------------------------------------------------------------ */

/* A pod address of the matrix, sorted for binary search. */
struct pod_addr {
	struct pw_addr a;
	size_t pod;
};

/* Endpoints of addresses that are not matrix pods (nodes, hostNetwork
 * pods, the outside), resolved once: open addressing, power-of-two size. */
struct other_ep {
	struct pw_addr a;
	struct pw_endpoints *eps; /* NULL: empty slot */
};

/*
 * Decisions already taken in this sweep, by (client, server, port): many
 * connections share them (one per client source port), and explain is
 * the expensive part (microseconds on a cluster of 13k policies).
 */
struct vkey {
	struct pw_addr c, s;
	uint16_t port;
	uint8_t proto;
	uint8_t used;
};

struct vslot {
	struct vkey k;
	int decision;
};

struct pw_ct_judge {
	const struct pw_engine *e;
	char *node;
	size_t npods;
	bool *local; /* per matrix pod: enforced on this node */
	struct pw_endpoints **pod_eps; /* per matrix pod, resolved lazily */
	struct pod_addr *addrs;
	size_t naddrs;
	/* Addresses of Nodes and hostNetwork pods, sorted: the only ones
	 * besides pods that are not simply outside the cluster. */
	struct pw_addr *known;
	size_t nknown;
	struct other_ep *other;
	size_t nother, capother;
	struct vslot *seen;
	size_t nseen, capseen;
	/* All pairs on the ports most pod-to-pod entries use (a sweep of
	 * many entries): one bit per pair instead of one explain. */
	struct pw_matrix *m;
	struct pw_port mports[8];
	size_t nmports;
	struct pw_addr *host;
	size_t nhost, caphost;
};

static int addr_cmp(const void *x, const void *y)
{
	return memcmp(x, y, sizeof(struct pw_addr));
}

/* By address, then matrix index: the first of equal addresses is the
 * first pod in matrix order. */
static int pod_addr_cmp(const void *x, const void *y)
{
	const struct pod_addr *a = x, *b = y;
	int c = addr_cmp(&a->a, &b->a);

	if (c)
		return c;
	return a->pod < b->pod ? -1 : a->pod > b->pod;
}

static bool pod_is_local(const struct pw_engine *e, size_t i, const char *node)
{
	const char *n = pw_engine_pod_node(e, i);

	return !node || (n && !strcmp(n, node));
}

/* Every address of every matrix pod, sorted. */
static int index_pods(struct pw_ct_judge *j)
{
	const struct pw_engine *e = j->e;
	size_t cap = 0, k = 0;
	struct pw_addr a[4];

	for (size_t i = 0; i < j->npods; i++)
		cap += pw_engine_pod_addrs(e, i, NULL, 0);
	j->addrs = calloc(cap ? cap : 1, sizeof(*j->addrs));
	if (!j->addrs)
		return -ENOMEM;
	for (size_t i = 0; i < j->npods; i++) {
		size_t n = pw_engine_pod_addrs(e, i, a, PW_ARRAY_SIZE(a));

		for (size_t m = 0; m < n && m < PW_ARRAY_SIZE(a) && k < cap;
		     m++) {
			memset(&j->addrs[k].a, 0, sizeof(j->addrs[k].a));
			j->addrs[k].a.family = a[m].family;
			memcpy(j->addrs[k].a.b, a[m].b, sizeof(a[m].b));
			j->addrs[k++].pod = i;
		}
		j->local[i] = pod_is_local(e, i, j->node);
	}
	j->naddrs = k;
	/* Two pods claiming one address: the first in matrix order wins, as
	 * in the ruleset's maps. */
	qsort(j->addrs, k, sizeof(*j->addrs), pod_addr_cmp);
	return 0;
}

static int push_addr(struct pw_addr **v, size_t *n, size_t *cap,
		     const struct pw_addr *a)
{
	if (*n == *cap) {
		size_t c = *cap ? 2 * *cap : 8;
		struct pw_addr *w = realloc(*v, c * sizeof(*w));

		if (!w)
			return -ENOMEM;
		*v = w;
		*cap = c;
	}
	memset(&(*v)[*n], 0, sizeof(**v));
	(*v)[*n].family = a->family;
	memcpy((*v)[*n].b, a->b, a->family == 4 ? 4 : 16);
	(*n)++;
	return 0;
}

/* What pw_engine_resolve() finds for an address besides pods: the
 * Nodes' addresses and the live hostNetwork pods' (lib/endpoint.c). */
static int index_known(struct pw_ct_judge *j)
{
	const struct pw_cluster *c = j->e->c;
	size_t cap = 0;
	int ret = 0;

	for (size_t i = 0; i < c->nnodes && !ret; i++)
		for (size_t k = 0; k < c->nodes[i].naddrs && !ret; k++)
			ret = push_addr(&j->known, &j->nknown, &cap,
					&c->nodes[i].addrs[k]);
	for (size_t i = 0; i < c->npods && !ret; i++) {
		const struct pw_pod *p = &c->pods[i];

		if (!p->host_network || pw_cluster_pod_finished(c, i))
			continue;
		for (size_t k = 0; k < p->nips && !ret; k++)
			ret = push_addr(&j->known, &j->nknown, &cap,
					&p->ips[k]);
	}
	if (j->nknown)
		qsort(j->known, j->nknown, sizeof(*j->known), addr_cmp);
	return ret;
}

PW_EXPORT struct pw_ct_judge *pw_ct_judge_new(const struct pw_engine *e,
					      const char *node)
{
	struct pw_ct_judge *j = calloc(1, sizeof(*j));

	if (!j)
		goto err_nomem;
	j->e = e;
	j->npods = pw_engine_pod_count(e);
	j->node = node ? strdup(node) : NULL;
	j->local = calloc(j->npods + 1, sizeof(*j->local));
	j->pod_eps = calloc(j->npods + 1, sizeof(*j->pod_eps));
	if ((node && !j->node) || !j->local || !j->pod_eps || index_pods(j) ||
	    index_known(j))
		goto err_free_judge;
	return j;

err_free_judge:
	pw_ct_judge_free(j);
err_nomem:
	errno = ENOMEM;
	return NULL;
}

PW_EXPORT void pw_ct_judge_free(struct pw_ct_judge *j)
{
	if (!j)
		return;
	for (size_t i = 0; i < j->npods; i++)
		pw_endpoints_free(j->pod_eps[i]);
	for (size_t i = 0; i < j->capother; i++)
		pw_endpoints_free(j->other[i].eps);
	free(j->other);
	free(j->seen);
	pw_matrix_free(j->m);
	free(j->known);
	free(j->pod_eps);
	free(j->local);
	free(j->addrs);
	free(j->host);
	free(j->node);
	free(j);
}

PW_EXPORT int pw_ct_judge_add_host_addr(struct pw_ct_judge *j,
					const struct pw_addr *a)
{
	return push_addr(&j->host, &j->nhost, &j->caphost, a);
}

static bool is_host(const struct pw_ct_judge *j, const struct pw_addr *a)
{
	for (size_t i = 0; i < j->nhost; i++)
		if (!addr_cmp(&j->host[i], a))
			return true;
	return false;
}

/* The matrix pod with address a, or -1. */
static long pod_of(const struct pw_ct_judge *j, const struct pw_addr *a)
{
	size_t lo = 0, hi = j->naddrs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = addr_cmp(a, &j->addrs[mid].a);

		if (!c) {
			/* The first of equal keys: the lowest pod. */
			while (mid > 0 && !addr_cmp(a, &j->addrs[mid - 1].a))
				mid--;
			return (long)j->addrs[mid].pod;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

static uint64_t hash_bytes(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h ^ (h >> 29);
}

static struct other_ep *other_slot(struct other_ep *v, size_t cap,
				   const struct pw_addr *a)
{
	size_t i = (size_t)hash_bytes(a, sizeof(*a)) & (cap - 1);

	while (v[i].eps && addr_cmp(&v[i].a, a))
		i = (i + 1) & (cap - 1);
	return &v[i];
}

static int other_grow(struct pw_ct_judge *j)
{
	size_t cap = j->capother ? 2 * j->capother : 64;
	struct other_ep *v = calloc(cap, sizeof(*v));

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < j->capother; i++)
		if (j->other[i].eps)
			*other_slot(v, cap, &j->other[i].a) = j->other[i];
	free(j->other);
	j->other = v;
	j->capother = cap;
	return 0;
}

/*
 * An address outside the cluster, as pw_engine_resolve() makes it but
 * without its linear search through every pod (which the judge has
 * already done with its index): one PW_EP_IP endpoint (lib/engine.h).
 */
static struct pw_endpoints *outside(const struct pw_addr *a)
{
	struct pw_endpoints *eps = calloc(1, sizeof(*eps));
	char text[PW_ADDR_STRLEN];

	if (!eps)
		goto err_nomem;
	eps->v = calloc(1, sizeof(*eps->v));
	if (!eps->v || pw_addr_format(a, text, sizeof(text)) <= 0)
		goto err_free_eps;
	eps->v->name = strdup(text);
	if (!eps->v->name)
		goto err_free_eps;
	eps->n = eps->cap = 1;
	eps->v->kind = PW_EP_IP;
	eps->v->addr = *a;
	return eps;

err_free_eps:
	pw_endpoints_free(eps);
err_nomem:
	errno = ENOMEM;
	return NULL;
}

static struct pw_endpoints *resolve_other(struct pw_ct_judge *j,
					  const struct pw_addr *a)
{
	char text[PW_ADDR_STRLEN];
	struct other_ep *s;

	if (2 * (j->nother + 1) > j->capother && other_grow(j))
		return NULL;
	s = other_slot(j->other, j->capother, a);
	if (s->eps)
		return s->eps;
	if (bsearch(a, j->known, j->nknown, sizeof(*a), addr_cmp)) {
		if (pw_addr_format(a, text, sizeof(text)) <= 0)
			return NULL;
		s->eps = pw_engine_resolve(j->e, text);
	} else {
		s->eps = outside(a);
	}
	if (!s->eps)
		return NULL;
	s->a = *a;
	j->nother++;
	return s->eps;
}

static struct pw_endpoints *resolve(struct pw_ct_judge *j,
				    const struct pw_addr *a, long pod)
{
	if (pod < 0)
		return resolve_other(j, a);
	if (!j->pod_eps[pod])
		j->pod_eps[pod] =
			pw_engine_resolve(j->e, pw_engine_pod_name(j->e, pod));
	return j->pod_eps[pod];
}

/*
 * The port the destination sees. Only TCP, UDP and SCTP have ports in a
 * NetworkPolicy; any other protocol (ICMP, ICMPv6, GRE, ...) is judged
 * with a protocol no port entry names (PW_PROTO_NR), so that exactly the
 * rules without ports admit it: what the class chains do (their port
 * sets hold TCP, UDP and SCTP elements only).
 */
static struct pw_port dest_port(const struct pw_ct_entry *en)
{
	static const struct {
		uint8_t ipproto;
		enum pw_proto proto;
	} map[] = {
		{ IPPROTO_TCP, PW_PROTO_TCP },
		{ IPPROTO_UDP, PW_PROTO_UDP },
		{ IPPROTO_SCTP, PW_PROTO_SCTP },
	};
	struct pw_port p = { .num = 0, .proto = PW_PROTO_NR };

	for (size_t i = 0; i < PW_ARRAY_SIZE(map); i++) {
		if (en->orig.proto != map[i].ipproto || !en->orig.has_ports)
			continue;
		p.proto = (uint8_t)map[i].proto;
		p.num = en->has_reply && en->reply.has_ports ? en->reply.sport :
							       en->orig.dport;
	}
	return p;
}

/* Whether the verdict denies a side this node enforces. */
static bool denied_here(const struct pw_verdict *v, bool src_local,
			bool dst_local)
{
	enum pw_reason r = pw_verdict_reason(v);

	if (r == PW_REASON_SAME_POD || r == PW_REASON_NODE_TRAFFIC)
		return false;
	return (src_local && !pw_verdict_side_allowed(v, PW_DIR_EGRESS)) ||
	       (dst_local && !pw_verdict_side_allowed(v, PW_DIR_INGRESS));
}

static struct vslot *vslot_find(struct vslot *v, size_t cap,
				const struct vkey *k)
{
	size_t i = (size_t)hash_bytes(k, sizeof(*k)) & (cap - 1);

	while (v[i].k.used && memcmp(&v[i].k, k, sizeof(*k)))
		i = (i + 1) & (cap - 1);
	return &v[i];
}

static int seen_grow(struct pw_ct_judge *j)
{
	size_t cap = j->capseen ? 2 * j->capseen : 256;
	struct vslot *v = calloc(cap, sizeof(*v));

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < j->capseen; i++)
		if (j->seen[i].k.used)
			*vslot_find(v, cap, &j->seen[i].k) = j->seen[i];
	free(j->seen);
	j->seen = v;
	j->capseen = cap;
	return 0;
}

/* The slot of (client, server, port): used when decided already; NULL
 * without memory (the caller then decides without the cache). */
static struct vslot *seen_slot(struct pw_ct_judge *j,
			       const struct pw_addr *client,
			       const struct pw_addr *server,
			       const struct pw_port *port)
{
	struct vkey k;

	memset(&k, 0, sizeof(k)); /* the padding is hashed too */
	k.c = *client;
	k.s = *server;
	k.port = port->num;
	k.proto = port->proto;
	k.used = 1;
	if (2 * (j->nseen + 1) > j->capseen && seen_grow(j))
		return NULL;
	return vslot_find(j->seen, j->capseen, &k);
}

/* Explains client -> server:port and keeps what this node enforces. */
static int judge_pair(struct pw_ct_judge *j, const struct pw_addr *client,
		      long cp, const struct pw_addr *server, long sp,
		      const struct pw_port *port)
{
	bool cl = cp >= 0 && j->local[cp], sl = sp >= 0 && j->local[sp];
	struct pw_endpoints *from = resolve(j, client, cp), *to;
	struct pw_verdict *v;
	bool cut;

	to = from ? resolve(j, server, sp) : NULL;
	if (!to)
		return errno == ENOMEM ? -ENOMEM : -EINVAL;
	v = pw_engine_explain(j->e, from, 0, to, 0, port);
	if (!v)
		return -errno;
	cut = denied_here(v, cl, sl);
	pw_verdict_free(v);
	return cut ? PW_CT_CUT : PW_CT_KEEP;
}

/*
 * From the matrix when it covers the pair's port: allowed means both
 * sides admit it; denied is a cut when this node enforces both sides,
 * else explain says which side denied (-1: not decided here).
 */
static int matrix_decide(const struct pw_ct_judge *j, long cp, long sp,
			 const struct pw_port *port)
{
	if (!j->m || cp < 0 || sp < 0)
		return -1;
	for (size_t i = 0; i < j->nmports; i++) {
		if (pw_port_cmp(&j->mports[i], port))
			continue;
		if (pw_matrix_allowed(j->m, i, (size_t)cp, (size_t)sp))
			return PW_CT_KEEP;
		return j->local[cp] && j->local[sp] ? PW_CT_CUT : -1;
	}
	return -1;
}

PW_EXPORT int pw_ct_judge_decide(struct pw_ct_judge *j,
				 const struct pw_ct_entry *en)
{
	const struct pw_addr *client = &en->orig.src;
	const struct pw_addr *server = en->has_reply ? &en->reply.src :
						       &en->orig.dst;
	long cp = pod_of(j, client), sp = pod_of(j, server);
	struct pw_port port;
	struct vslot *slot;
	int d;

	/* Born related (an expectation's connection): the datapath admitted
	 * it for its master, which is judged on its own. */
	if (en->status & IPS_EXPECTED)
		return PW_CT_IGNORE;
	if (!(cp >= 0 && j->local[cp]) && !(sp >= 0 && j->local[sp]))
		return PW_CT_IGNORE;
	if (is_host(j, client))
		return PW_CT_IGNORE;
	if (cp == sp)
		return PW_CT_KEEP; /* same-pod */
	port = dest_port(en);
	slot = seen_slot(j, client, server, &port);
	if (slot && slot->k.used)
		return slot->decision;
	d = matrix_decide(j, cp, sp, &port);
	if (d < 0)
		d = judge_pair(j, client, cp, server, sp, &port);
	if (d >= 0 && slot) {
		memset(&slot->k, 0, sizeof(slot->k));
		slot->k.c = *client;
		slot->k.s = *server;
		slot->k.port = port.num;
		slot->k.proto = port.proto;
		slot->k.used = 1;
		slot->decision = d;
		j->nseen++;
	}
	return d;
}

/* -- the sweep ---------------------------------------------------------- */

struct sweep {
	struct pw_ct_judge *j;
	struct pw_sweep_stats *st;
	/* The dump; after judging, its first ncut entries are to delete. */
	struct pw_ct_entry *v;
	size_t n, cap, ncut;
};

static int on_entry(const struct pw_ct_entry *en, void *data)
{
	struct sweep *s = data;

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

/* Ports are worth a matrix when this many entries use them. */
#define MATRIX_MIN_ENTRIES 256
/* And at most this much memory for it (pods^2 / 8 bytes per port). */
#define MATRIX_MAX_BYTES (64ull << 20)

struct port_count {
	struct pw_port p;
	size_t n;
};

static int by_count(const void *x, const void *y)
{
	const struct port_count *a = x, *b = y;

	return a->n < b->n ? 1 : a->n > b->n ? -1 : 0;
}

/* Whether en is between two different pods, one of them local, on a
 * protocol with ports: what the matrix can answer. */
static bool matrix_kind(const struct pw_ct_judge *j,
			const struct pw_ct_entry *en, struct pw_port *port)
{
	long cp = pod_of(j, &en->orig.src);
	long sp = pod_of(j, en->has_reply ? &en->reply.src : &en->orig.dst);

	*port = dest_port(en);
	return cp >= 0 && sp >= 0 && cp != sp && port->proto < PW_PROTO_NR &&
	       (j->local[cp] || j->local[sp]);
}

/* Counts those entries per destination port (the first max ports). */
static size_t count_ports(const struct pw_ct_judge *j,
			  const struct pw_ct_entry *v, size_t nv,
			  struct port_count *pc, size_t max)
{
	size_t npc = 0, k;
	struct pw_port port;

	for (size_t i = 0; i < nv; i++) {
		if (!matrix_kind(j, &v[i], &port))
			continue;
		for (k = 0; k < npc && pw_port_cmp(&pc[k].p, &port); k++)
			;
		if (k == npc && npc < max) {
			pc[k].p = port;
			pc[k].n = 0;
			npc++;
		}
		if (k < npc)
			pc[k].n++;
	}
	return npc;
}

PW_EXPORT int pw_ct_judge_prepare(struct pw_ct_judge *j,
				  const struct pw_ct_entry *v, size_t n)
{
	struct port_count pc[64];
	size_t npc = count_ports(j, v, n, pc, PW_ARRAY_SIZE(pc)), k = 0;
	unsigned long long per =
		(unsigned long long)j->npods * j->npods / 8 + 1;

	pw_matrix_free(j->m);
	j->m = NULL;
	j->nmports = 0;
	qsort(pc, npc, sizeof(*pc), by_count);
	while (k < npc && k < PW_ARRAY_SIZE(j->mports) &&
	       pc[k].n >= MATRIX_MIN_ENTRIES &&
	       per * (k + 1) <= MATRIX_MAX_BYTES) {
		j->mports[k] = pc[k].p;
		k++;
	}
	if (!k)
		return 0;
	j->m = pw_engine_matrix(j->e, j->mports, k);
	if (!j->m)
		return -errno;
	j->nmports = k;
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
	for (size_t i = 0; i < PW_ARRAY_SIZE(icmp_attrs) && t->has_ports; i++) {
		const struct icmp_attrs *ia = &icmp_attrs[i];

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
					  nl_error(nlh) :
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
	struct mnl_socket *nl = mnl_socket_open(NETLINK_NETFILTER);
	int ret = -ENOMEM;

	if (!buf)
		goto out;
	ret = -errno;
	if (!nl)
		goto out;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		goto out;
	}
	ret = dump(nl, buf, len, s);
	if (!ret)
		ret = decide_all(s);
	if (!ret)
		delete_all(nl, buf, len, s);
out:
	if (nl)
		mnl_socket_close(nl);
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
