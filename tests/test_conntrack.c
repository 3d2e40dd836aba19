// SPDX-License-Identifier: Apache-2.0
/*
 * The conntrack sweep without a kernel: the ctnetlink parser on messages
 * built here as the kernel builds them, and the judge's decisions on a
 * small cluster (which entries concern a node, service translation, ICMP,
 * node traffic, the node's own connections, related entries).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <podwall/podwall.h>

#include "check.h"

#define CT_NEW ((NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW)

/* -- building messages ---------------------------------------------------- */

static struct pw_addr addr(const char *s)
{
	struct pw_addr a = { .family = 0 };

	if (inet_pton(AF_INET, s, a.b) == 1)
		a.family = 4;
	else if (inet_pton(AF_INET6, s, a.b) == 1)
		a.family = 6;
	return a;
}

static struct pw_ct_tuple tuple(const char *src, const char *dst, uint8_t proto,
				uint16_t sport, uint16_t dport)
{
	struct pw_ct_tuple t = { .src = addr(src), .dst = addr(dst) };

	t.proto = proto;
	t.has_ports = true;
	t.sport = sport;
	t.dport = dport;
	return t;
}

static void put_tuple(struct nlmsghdr *nlh, uint16_t type,
		      const struct pw_ct_tuple *t)
{
	struct nlattr *n = mnl_attr_nest_start(nlh, type), *ip, *p;
	bool v4 = t->src.family == 4;

	ip = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);
	mnl_attr_put(nlh, v4 ? CTA_IP_V4_SRC : CTA_IP_V6_SRC, v4 ? 4 : 16,
		     t->src.b);
	mnl_attr_put(nlh, v4 ? CTA_IP_V4_DST : CTA_IP_V6_DST, v4 ? 4 : 16,
		     t->dst.b);
	mnl_attr_nest_end(nlh, ip);
	p = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
	mnl_attr_put_u8(nlh, CTA_PROTO_NUM, t->proto);
	if (t->proto == IPPROTO_ICMP) {
		mnl_attr_put_u16(nlh, CTA_PROTO_ICMP_ID, htons(t->sport));
		mnl_attr_put_u8(nlh, CTA_PROTO_ICMP_TYPE, t->dport >> 8);
		mnl_attr_put_u8(nlh, CTA_PROTO_ICMP_CODE, t->dport & 0xff);
	} else if (t->has_ports) {
		mnl_attr_put_u16(nlh, CTA_PROTO_SRC_PORT, htons(t->sport));
		mnl_attr_put_u16(nlh, CTA_PROTO_DST_PORT, htons(t->dport));
	}
	mnl_attr_nest_end(nlh, p);
	mnl_attr_nest_end(nlh, n);
}

/* Appends one entry message at buf + *off, as ctnetlink dumps it. */
static void put_entry(char *buf, size_t *off, const struct pw_ct_entry *en)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf + *off);
	struct nfgenmsg *nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));

	nlh->nlmsg_type = CT_NEW;
	nlh->nlmsg_flags = NLM_F_MULTI;
	nfg->nfgen_family = en->orig.src.family == 4 ? AF_INET : AF_INET6;
	put_tuple(nlh, CTA_TUPLE_ORIG, &en->orig);
	if (en->has_reply)
		put_tuple(nlh, CTA_TUPLE_REPLY, &en->reply);
	mnl_attr_put_u32(nlh, CTA_STATUS, htonl(en->status));
	mnl_attr_put_u32(nlh, CTA_ID, htonl(en->id));
	mnl_attr_put_u32(nlh, CTA_MARK, htonl(en->mark));
	if (en->zone)
		mnl_attr_put_u16(nlh, CTA_ZONE, htons(en->zone));
	*off += MNL_ALIGN(nlh->nlmsg_len);
}

static void put_simple(char *buf, size_t *off, uint16_t type, int error)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf + *off);

	nlh->nlmsg_type = type;
	if (type == NLMSG_ERROR) {
		struct nlmsgerr *e =
			mnl_nlmsg_put_extra_header(nlh, sizeof(*e));

		e->error = error;
	}
	*off += MNL_ALIGN(nlh->nlmsg_len);
}

struct got {
	struct pw_ct_entry v[8];
	size_t n;
	int stop_at; /* return -ECANCELED at this entry (0: never) */
};

static int collect(const struct pw_ct_entry *en, void *data)
{
	struct got *g = data;

	if (g->n < 8)
		g->v[g->n] = *en;
	g->n++;
	return g->stop_at && (int)g->n == g->stop_at ? -ECANCELED : 0;
}

static bool tuple_eq(const struct pw_ct_tuple *a, const struct pw_ct_tuple *b)
{
	return !memcmp(&a->src, &b->src, sizeof(a->src)) &&
	       !memcmp(&a->dst, &b->dst, sizeof(a->dst)) &&
	       a->proto == b->proto && a->has_ports == b->has_ports &&
	       a->sport == b->sport && a->dport == b->dport;
}

static bool entry_eq(const struct pw_ct_entry *a, const struct pw_ct_entry *b)
{
	return tuple_eq(&a->orig, &b->orig) && a->has_reply == b->has_reply &&
	       (!a->has_reply || tuple_eq(&a->reply, &b->reply)) &&
	       a->id == b->id && a->status == b->status && a->zone == b->zone &&
	       a->mark == b->mark;
}

/* A DNAT'ed TCP entry, an IPv6 UDP one in zone 3, an ICMP echo. */
static struct pw_ct_entry samples[3];

static void samples_init(void)
{
	samples[0].orig =
		tuple("10.0.0.1", "10.96.0.10", IPPROTO_TCP, 40000, 80);
	samples[0].reply =
		tuple("10.0.0.2", "10.0.0.1", IPPROTO_TCP, 5432, 40000);
	samples[0].has_reply = true;
	samples[0].id = 0xdeadbeef;
	samples[0].status = IPS_CONFIRMED | IPS_ASSURED | IPS_DST_NAT;
	samples[1].orig = tuple("fd00::1", "fd00::2", IPPROTO_UDP, 5353, 53);
	samples[1].reply = tuple("fd00::2", "fd00::1", IPPROTO_UDP, 53, 5353);
	samples[1].has_reply = true;
	samples[1].id = 2;
	samples[1].zone = 3;
	samples[1].mark = 0x0abc0007; /* a generation and someone else's bits */
	samples[2].orig =
		tuple("10.0.0.1", "10.0.0.4", IPPROTO_ICMP, 77, 8 << 8);
	samples[2].reply = tuple("10.0.0.4", "10.0.0.1", IPPROTO_ICMP, 77, 0);
	samples[2].has_reply = true;
	samples[2].id = 3;
}

static void test_parse_dump(void)
{
	static char buf[8192];
	struct got g = { .n = 0 };
	size_t off = 0;
	int ret;

	for (size_t i = 0; i < 3; i++)
		put_entry(buf, &off, &samples[i]);
	put_simple(buf, &off, NLMSG_NOOP, 0);
	put_simple(buf, &off, NLMSG_DONE, 0);
	put_entry(buf, &off, &samples[0]); /* after DONE: not read */
	ret = pw_conntrack_parse(buf, off, collect, &g);
	CHECK(ret == 1, "a dump ending in DONE returns 1, got %d", ret);
	CHECK(g.n == 3, "3 entries, got %zu", g.n);
	for (size_t i = 0; i < 3 && i < g.n; i++)
		CHECK(entry_eq(&g.v[i], &samples[i]), "entry %zu parsed back",
		      i);
	/* A chunk of a dump without DONE: 0, more to read. */
	g.n = 0;
	off = 0;
	put_entry(buf, &off, &samples[1]);
	ret = pw_conntrack_parse(buf, off, collect, &g);
	CHECK(ret == 0 && g.n == 1, "a chunk: 0 and 1 entry, got %d, %zu", ret,
	      g.n);
	/* The callback stops the walk. */
	g = (struct got){ .stop_at = 2 };
	off = 0;
	for (size_t i = 0; i < 3; i++)
		put_entry(buf, &off, &samples[i]);
	ret = pw_conntrack_parse(buf, off, collect, &g);
	CHECK(ret == -ECANCELED && g.n == 2, "stopped by fn: %d after %zu", ret,
	      g.n);
	CHECK(pw_conntrack_parse(buf, 0, collect, &g) == 0, "empty buffer");
}

static void test_parse_errors(void)
{
	static char buf[4096];
	struct got g = { .n = 0 };
	struct nlmsghdr *nlh;
	size_t off = 0;
	int ret;

	put_simple(buf, &off, NLMSG_ERROR, -EPERM);
	ret = pw_conntrack_parse(buf, off, collect, &g);
	CHECK(ret == -EPERM, "an error message gives its errno: %d", ret);
	off = 0;
	put_simple(buf, &off, NLMSG_ERROR, 0); /* an ack */
	put_entry(buf, &off, &samples[0]);
	ret = pw_conntrack_parse(buf, off, collect, &g);
	CHECK(ret == 0 && g.n == 1, "an ack is skipped: %d, %zu", ret, g.n);
	/* Trailing bytes that are not a whole message. */
	off = 0;
	put_entry(buf, &off, &samples[0]);
	ret = pw_conntrack_parse(buf, off + 8, collect, &g);
	CHECK(ret == -EBADMSG, "trailing garbage: %d", ret);
	/* An entry cut short inside its attributes. */
	off = 0;
	put_entry(buf, &off, &samples[0]);
	nlh = (struct nlmsghdr *)buf;
	nlh->nlmsg_len -= 30;
	g.n = 0;
	ret = pw_conntrack_parse(buf, nlh->nlmsg_len, collect, &g);
	CHECK(ret == -EBADMSG || (ret == 0 && g.n <= 1),
	      "a truncated entry is refused or incomplete: %d", ret);
	/* An address of the wrong size. */
	off = 0;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = CT_NEW;
	mnl_nlmsg_put_extra_header(nlh, sizeof(struct nfgenmsg));
	{
		struct nlattr *t = mnl_attr_nest_start(nlh, CTA_TUPLE_ORIG);
		struct nlattr *ip = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);

		mnl_attr_put_u16(nlh, CTA_IP_V4_SRC, 1);
		mnl_attr_nest_end(nlh, ip);
		mnl_attr_nest_end(nlh, t);
	}
	ret = pw_conntrack_parse(buf, nlh->nlmsg_len, collect, &g);
	CHECK(ret == -EBADMSG, "a 2-byte IPv4 address: %d", ret);
	/* A message too short for its nfgenmsg. */
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = CT_NEW;
	ret = pw_conntrack_parse(buf, nlh->nlmsg_len, collect, &g);
	CHECK(ret == -EBADMSG, "no nfgenmsg: %d", ret);
	/* Well formed, but no original tuple: skipped. */
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = CT_NEW;
	mnl_nlmsg_put_extra_header(nlh, sizeof(struct nfgenmsg));
	mnl_attr_put_u32(nlh, CTA_ID, htonl(5));
	g.n = 0;
	ret = pw_conntrack_parse(buf, nlh->nlmsg_len, collect, &g);
	CHECK(ret == 0 && g.n == 0, "no tuple: skipped (%d, %zu)", ret, g.n);
}

/* -- the judge ----------------------------------------------------------- */

static const char cluster_yaml[] =
	"apiVersion: v1\nkind: Node\nmetadata: {name: n1}\n"
	"status: {addresses: [{type: InternalIP, address: 192.168.0.1}]}\n"
	"---\n"
	"apiVersion: v1\nkind: Pod\n"
	"metadata: {name: web, namespace: a, labels: {app: web}}\n"
	"spec: {nodeName: n1, containers: [{name: c}]}\n"
	"status: {phase: Running, podIP: 10.0.0.1}\n"
	"---\n"
	"apiVersion: v1\nkind: Pod\n"
	"metadata: {name: db, namespace: a, labels: {app: db}}\n"
	"spec: {nodeName: n1, containers: [{name: c, ports: "
	"[{name: pg, containerPort: 5432}]}]}\n"
	"status: {phase: Running, podIP: 10.0.0.2}\n"
	"---\n"
	"apiVersion: v1\nkind: Pod\n"
	"metadata: {name: cli, namespace: a, labels: {app: cli}}\n"
	"spec: {nodeName: n2, containers: [{name: c}]}\n"
	"status: {phase: Running, podIP: 10.0.0.3}\n"
	"---\n"
	"apiVersion: v1\nkind: Pod\n"
	"metadata: {name: ping, namespace: a, labels: {app: ping}}\n"
	"spec: {nodeName: n1, containers: [{name: c}]}\n"
	"status: {phase: Running, podIP: 10.0.0.4}\n"
	"---\n"
	"apiVersion: v1\nkind: Pod\n"
	"metadata: {name: six, namespace: a, labels: {app: six}}\n"
	"spec: {nodeName: n2, containers: [{name: c}]}\n"
	"status: {phase: Running, podIP: 'fd00::6'}\n"
	"---\n"
	"apiVersion: v1\nkind: Service\nmetadata: {name: pg, namespace: a}\n"
	"spec: {selector: {app: db}, clusterIP: 10.96.0.10,\n"
	"  ports: [{port: 80, targetPort: pg}]}\n"
	"---\n"
	"apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
	"metadata: {name: db-in, namespace: a}\n"
	"spec:\n  podSelector: {matchLabels: {app: db}}\n"
	"  ingress: [{from: [{podSelector: {matchLabels: {app: web}}}],\n"
	"             ports: [{port: pg}]}]\n"
	"---\n"
	"apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
	"metadata: {name: ping-in, namespace: a}\n"
	"spec:\n  podSelector: {matchLabels: {app: ping}}\n"
	"  ingress:\n"
	"  - from: [{podSelector: {matchLabels: {app: cli}}}]\n"
	"    ports: [{port: 80}]\n"
	"  - from: [{podSelector: {matchLabels: {app: web}}}]\n"
	"---\n"
	"apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
	"metadata: {name: cli-out, namespace: a}\n"
	"spec:\n  podSelector: {matchLabels: {app: cli}}\n"
	"  policyTypes: [Egress]\n"
	"  egress: [{to: [{podSelector: {matchLabels: {app: db}}}]}]\n";

static struct pw_ct_entry conn(const char *client, const char *server,
			       uint8_t proto, uint16_t dport)
{
	struct pw_ct_entry en = { .has_reply = true };

	en.orig = tuple(client, server, proto, 40000, dport);
	en.reply = tuple(server, client, proto, dport, 40000);
	if (proto == IPPROTO_ICMP)
		en.reply.dport = 0; /* echo reply */
	return en;
}

/* A connection to a service address that DNAT sent to backend:port. */
static struct pw_ct_entry via_service(const char *client, const char *vip,
				      uint16_t vport, const char *backend,
				      uint16_t port)
{
	struct pw_ct_entry en = conn(client, vip, IPPROTO_TCP, vport);

	en.reply = tuple(backend, client, IPPROTO_TCP, port, 40000);
	en.status = IPS_DST_NAT;
	return en;
}

struct judge_case {
	const char *what;
	const char *node; /* NULL: every pod local */
	struct pw_ct_entry en;
	int want;
};

static void run_cases(const struct pw_engine *e, const struct judge_case *c,
		      size_t n)
{
	static const char *const names[] = { "ignore", "keep", "cut" };

	for (size_t i = 0; i < n; i++) {
		struct pw_ct_judge *j = pw_ct_judge_new(e, c[i].node);
		struct pw_addr host = addr("10.0.0.254");
		int got;

		if (!j) {
			CHECK(0, "%s: judge: %s", c[i].what, strerror(errno));
			continue;
		}
		CHECK(!pw_ct_judge_add_host_addr(j, &host), "host address");
		got = pw_ct_judge_decide(j, &c[i].en);
		CHECK(got == c[i].want, "%s (node %s): want %s, got %d (%s)",
		      c[i].what, c[i].node ? c[i].node : "all",
		      names[c[i].want], got,
		      got >= 0 && got < 3 ? names[got] : "error");
		pw_ct_judge_free(j);
	}
}

static void test_judge(const struct pw_engine *e)
{
	const struct judge_case cases[] = {
		{ "web to db on pg", "n1",
		  conn("10.0.0.1", "10.0.0.2", IPPROTO_TCP, 5432), PW_CT_KEEP },
		{ "web to db on 22", "n1",
		  conn("10.0.0.1", "10.0.0.2", IPPROTO_TCP, 22), PW_CT_CUT },
		{ "web to db on UDP 5432", "n1",
		  conn("10.0.0.1", "10.0.0.2", IPPROTO_UDP, 5432), PW_CT_CUT },
		{ "remote cli to local db", "n1",
		  conn("10.0.0.3", "10.0.0.2", IPPROTO_TCP, 5432), PW_CT_CUT },
		{ "service, web to its backend db", "n1",
		  via_service("10.0.0.1", "10.96.0.10", 80, "10.0.0.2", 5432),
		  PW_CT_KEEP },
		{ "service, cli to its backend db", "n1",
		  via_service("10.0.0.3", "10.96.0.10", 80, "10.0.0.2", 5432),
		  PW_CT_CUT },
		{ "service judged on the backend's port, not the service's",
		  "n1",
		  via_service("10.0.0.1", "10.96.0.10", 5432, "10.0.0.2", 80),
		  PW_CT_CUT },
		{ "a pod to itself", "n1",
		  conn("10.0.0.2", "10.0.0.2", IPPROTO_TCP, 22), PW_CT_KEEP },
		{ "a pod to itself through its service", "n1",
		  via_service("10.0.0.2", "10.96.0.10", 80, "10.0.0.2", 22),
		  PW_CT_KEEP },
		{ "the node's address to its pod (node-traffic)", "n1",
		  conn("192.168.0.1", "10.0.0.2", IPPROTO_TCP, 22),
		  PW_CT_KEEP },
		{ "another node's address to the pod", "n2",
		  conn("192.168.0.1", "10.0.0.3", IPPROTO_TCP, 22),
		  PW_CT_KEEP },
		{ "outside to db", "n1",
		  conn("8.8.8.8", "10.0.0.2", IPPROTO_TCP, 5432), PW_CT_CUT },
		{ "the namespace's own address to db (output hook)", "n1",
		  conn("10.0.0.254", "10.0.0.2", IPPROTO_TCP, 22),
		  PW_CT_IGNORE },
		{ "not pod traffic", "n1",
		  conn("8.8.8.8", "9.9.9.9", IPPROTO_TCP, 22), PW_CT_IGNORE },
		{ "remote pods only", "n1",
		  conn("10.0.0.3", "fd00::6", IPPROTO_TCP, 22), PW_CT_IGNORE },
		{ "ICMP from web: a rule without ports", "n1",
		  conn("10.0.0.1", "10.0.0.4", IPPROTO_ICMP, 8 << 8),
		  PW_CT_KEEP },
		{ "ICMP from cli: its rule has ports", "n1",
		  conn("10.0.0.3", "10.0.0.4", IPPROTO_ICMP, 8 << 8),
		  PW_CT_CUT },
		{ "TCP 80 from cli", "n1",
		  conn("10.0.0.3", "10.0.0.4", IPPROTO_TCP, 80), PW_CT_KEEP },
		{ "GRE from cli (no ports)", "n1",
		  conn("10.0.0.3", "10.0.0.4", 47, 0), PW_CT_CUT },
		{ "cli egress to db, on cli's node", "n2",
		  conn("10.0.0.3", "10.0.0.2", IPPROTO_TCP, 5432), PW_CT_KEEP },
		{ "cli egress to web, on cli's node", "n2",
		  conn("10.0.0.3", "10.0.0.1", IPPROTO_TCP, 80), PW_CT_CUT },
		{ "cli to web on web's node: egress is not enforced here", "n1",
		  conn("10.0.0.3", "10.0.0.1", IPPROTO_TCP, 80), PW_CT_KEEP },
		{ "cli to web, every pod local", NULL,
		  conn("10.0.0.3", "10.0.0.1", IPPROTO_TCP, 80), PW_CT_CUT },
		{ "remote pods, every pod local", NULL,
		  conn("10.0.0.1", "10.0.0.3", IPPROTO_TCP, 80), PW_CT_KEEP },
	};
	struct pw_ct_entry rel = conn("10.0.0.3", "10.0.0.2", IPPROTO_TCP, 20);
	struct judge_case related = { "born related", "n1", rel, PW_CT_IGNORE };

	run_cases(e, cases, sizeof(cases) / sizeof(cases[0]));
	related.en.status = IPS_EXPECTED;
	run_cases(e, &related, 1);
}

/* Many entries through one judge: the caches give the same answers. */
static void test_judge_cached(const struct pw_engine *e)
{
	struct pw_ct_judge *j = pw_ct_judge_new(e, "n1");
	unsigned wrong = 0, cut = 0;
	char a[32];

	CHECK(j != NULL, "judge");
	if (!j)
		return;
	for (unsigned i = 0; i < 3000; i++) {
		struct pw_ct_entry en;
		int d;

		snprintf(a, sizeof(a), "198.51.%u.%u", i / 250, i % 250 + 1);
		en = conn(a, "10.0.0.2", IPPROTO_TCP, i % 2 ? 5432 : 22);
		d = pw_ct_judge_decide(j, &en);
		cut += d == PW_CT_CUT;
		en = conn("10.0.0.1", "10.0.0.2", IPPROTO_TCP,
			  i % 2 ? 5432 : 22);
		wrong += pw_ct_judge_decide(j, &en) !=
			 (i % 2 ? PW_CT_KEEP : PW_CT_CUT);
	}
	CHECK(cut == 3000, "3000 outside clients cut, got %u", cut);
	CHECK(wrong == 0, "cached pod endpoints: %u wrong", wrong);
	pw_ct_judge_free(j);
}

/*
 * The matrix that pw_ct_judge_prepare() builds gives the decisions
 * explain gives: 3000 entries between random pods and outside addresses
 * on three TCP ports (over 256 entries each, so it is used), decided by
 * two judges, for each node and for all pods local.
 */
static void test_prepare(const struct pw_engine *e)
{
	static const char *const addrs[] = { "10.0.0.1", "10.0.0.2",
					     "10.0.0.3", "10.0.0.4",
					     "8.8.8.8",	 "192.168.0.1" };
	static const uint16_t ports[] = { 5432, 80, 22 };
	static const char *const nodes[] = { "n1", "n2", NULL };
	struct pw_ct_entry *v = calloc(3000, sizeof(*v));
	unsigned seed = 7;

	if (!v)
		return;
	for (size_t i = 0; i < 3000; i++) {
		seed = seed * 1103515245u + 12345u;
		v[i] = conn(addrs[(seed >> 8) % 6], addrs[(seed >> 16) % 6],
			    IPPROTO_TCP, ports[(seed >> 4) % 3]);
	}
	for (size_t k = 0; k < 3; k++) {
		struct pw_ct_judge *plain = pw_ct_judge_new(e, nodes[k]);
		struct pw_ct_judge *fast = pw_ct_judge_new(e, nodes[k]);
		unsigned diff = 0, cut = 0;

		CHECK(plain && fast && !pw_ct_judge_prepare(fast, v, 3000),
		      "judges and prepare");
		for (size_t i = 0; plain && fast && i < 3000; i++) {
			int a = pw_ct_judge_decide(plain, &v[i]);

			diff += a != pw_ct_judge_decide(fast, &v[i]);
			cut += a == PW_CT_CUT;
		}
		CHECK(diff == 0, "node %s: %u decisions differ with the matrix",
		      nodes[k] ? nodes[k] : "all", diff);
		CHECK(cut > 0, "node %s: some entries cut",
		      nodes[k] ? nodes[k] : "all");
		pw_ct_judge_free(plain);
		pw_ct_judge_free(fast);
	}
	free(v);
}

int main(void)
{
	struct pw_cluster *c = pw_cluster_new();
	struct pw_diags *d = pw_diags_new();
	struct pw_engine *e = NULL;

	samples_init();
	test_parse_dump();
	test_parse_errors();
	if (!c || !d ||
	    pw_cluster_load_buffer(c, "cluster.yaml", cluster_yaml,
				   strlen(cluster_yaml), d) ||
	    pw_cluster_finalize(c, d)) {
		CHECK(0, "the test cluster loads (%zu diagnostics)",
		      d ? pw_diags_count(d) : 0);
	} else {
		e = pw_engine_new(c);
		CHECK(e != NULL, "engine");
	}
	if (e) {
		test_judge(e);
		test_judge_cached(e);
		test_prepare(e);
	}
	pw_engine_free(e);
	pw_cluster_free(c);
	pw_diags_free(d);
	return check_done("test_conntrack");
}
