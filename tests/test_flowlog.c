// SPDX-License-Identifier: Apache-2.0
/*
 * podwalld's flow log without a kernel: nflog messages and packet headers
 * read into events (prefixes of the datapath contract, IPv4 and IPv6,
 * fragments, ICMP), and the window: identical events folded with exact
 * counts, the line cap folding into coarser keys without losing a count,
 * explanations from a published snapshot, sequence gaps counted as lost,
 * and the per-policy series bounded.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <podwall/podwall.h>
#include "check.h"
#include "../cmd/podwalld/log.c"
#include "../cmd/podwalld/snap.c"
#include "../cmd/podwalld/nflog.c"
#include "../cmd/podwalld/prom.c"
#include "../cmd/podwalld/flowlog.c"

static void test_prefixes(void)
{
	static const struct {
		const char *prefix;
		bool ok;
		uint8_t verdict, dir, check;
	} cases[] = {
		{ "podwall:denied:ingress", true, PW_FLOW_DENIED,
		  PW_DIR_INGRESS, FLOW_CHECK_POLICY },
		{ "podwall:denied:egress", true, PW_FLOW_DENIED, PW_DIR_EGRESS,
		  FLOW_CHECK_POLICY },
		{ "podwall:denied:unknown", true, PW_FLOW_DENIED,
		  PW_DIR_INGRESS, FLOW_CHECK_UNKNOWN },
		{ "podwall:denied:spoof", true, PW_FLOW_DENIED, PW_DIR_EGRESS,
		  FLOW_CHECK_SPOOF },
		{ "podwall:allowed:ingress", true, PW_FLOW_ALLOWED,
		  PW_DIR_INGRESS, FLOW_CHECK_POLICY },
		{ "podwall:allowed:egress", true, PW_FLOW_ALLOWED,
		  PW_DIR_EGRESS, FLOW_CHECK_POLICY },
		{ "podwall:denied:", false, 0, 0, 0 },
		{ "podwall:denied:ingress ", false, 0, 0, 0 },
		{ "someone-else", false, 0, 0, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct flow_event ev = { .verdict = 9 };
		bool ok = flow_prefix(cases[i].prefix, &ev);

		CHECK(ok == cases[i].ok, "prefix %s", cases[i].prefix);
		if (ok)
			CHECK(ev.verdict == cases[i].verdict &&
				      ev.dir == cases[i].dir &&
				      ev.check == cases[i].check,
			      "prefix %s fields", cases[i].prefix);
	}
}

/* IPv4 header (20 bytes) + 4 bytes of L4 ports. */
static size_t v4(uint8_t *p, int proto, uint16_t frag, bool l4)
{
	memset(p, 0, 24);
	p[0] = 0x45;
	p[6] = (uint8_t)(frag >> 8);
	p[7] = (uint8_t)frag;
	p[9] = (uint8_t)proto;
	memcpy(p + 12, (uint8_t[]){ 10, 0, 0, 1 }, 4);
	memcpy(p + 16, (uint8_t[]){ 10, 0, 0, 2 }, 4);
	memcpy(p + 20, (uint8_t[]){ 0x9c, 0x40, 0x00, 0x50 }, 4); /* 40000 80 */
	return l4 ? 24 : 20;
}

/* IPv6 header, optionally a hop-by-hop header, then 4 bytes of ports. */
static size_t v6(uint8_t *p, int proto, bool hbh)
{
	size_t off = 40;

	memset(p, 0, 52);
	p[0] = 0x60;
	p[6] = hbh ? 0 : (uint8_t)proto;
	p[8] = 0xfd;
	p[23] = 1;
	p[24] = 0xfd;
	p[39] = 2;
	if (hbh) {
		p[40] = (uint8_t)proto;
		p[41] = 0; /* 8 bytes */
		off += 8;
	}
	memcpy(p + off, (uint8_t[]){ 0x00, 0x35, 0x13, 0x88 }, 4); /* 53 5000 */
	return off + 4;
}

static void test_packets(void)
{
	uint8_t p[64];
	struct flow_event ev;
	size_t n;

	n = v4(p, 6, 0, true);
	CHECK(flow_packet(p, n, &ev) && ev.family == 4 &&
		      ev.proto == PW_FLOW_TCP && ev.sport == 40000 &&
		      ev.dport == 80 && ev.src[3] == 1 && ev.dst[3] == 2,
	      "v4 tcp");
	n = v4(p, 17, 0, true);
	CHECK(flow_packet(p, n, &ev) && ev.proto == PW_FLOW_UDP &&
		      ev.dport == 80,
	      "v4 udp");
	n = v4(p, 1, 0, true);
	CHECK(flow_packet(p, n, &ev) && ev.proto == PW_FLOW_ICMP &&
		      ev.sport == -1 && ev.dport == -1,
	      "v4 icmp: no ports");
	n = v4(p, 6, 0x0010, true);
	CHECK(flow_packet(p, n, &ev) && ev.proto == PW_FLOW_TCP &&
		      ev.dport == -1,
	      "v4 later fragment: no ports");
	n = v4(p, 6, 0, false);
	CHECK(flow_packet(p, n, &ev) && ev.dport == -1, "v4 cut: no ports");
	n = v4(p, 47, 0, true);
	CHECK(flow_packet(p, n, &ev) && ev.proto == PW_FLOW_PROTO_NR,
	      "v4 gre: no protocol a line names");
	CHECK(!flow_packet(p, 10, &ev), "v4 too short");
	n = v6(p, 17, false);
	CHECK(flow_packet(p, n, &ev) && ev.family == 6 &&
		      ev.proto == PW_FLOW_UDP && ev.sport == 53 &&
		      ev.dport == 5000 && ev.src[0] == 0xfd && ev.dst[15] == 2,
	      "v6 udp");
	n = v6(p, 6, true);
	CHECK(flow_packet(p, n, &ev) && ev.proto == PW_FLOW_TCP &&
		      ev.dport == 5000,
	      "v6 tcp after hop-by-hop");
	n = v6(p, 58, false);
	CHECK(flow_packet(p, n, &ev) && ev.proto == PW_FLOW_ICMPV6 &&
		      ev.dport == -1,
	      "v6 icmpv6");
	p[0] = 0x20;
	CHECK(!flow_packet(p, n, &ev), "not IP");
}

/* An NFULNL_MSG_PACKET as the kernel sends it. */
static struct nlmsghdr *nflog_msg(char *buf, const char *prefix, uint32_t seq,
				  bool ts)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfulnl_msg_packet_timestamp t = { .sec = htobe64(1795672800),
						 .usec = htobe64(42) };
	uint8_t pkt[64];
	size_t n = v4(pkt, 17, 0, true);

	nlh->nlmsg_type = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET;
	mnl_nlmsg_put_extra_header(nlh, sizeof(struct nfgenmsg));
	mnl_attr_put_strz(nlh, NFULA_PREFIX, prefix);
	mnl_attr_put(nlh, NFULA_PAYLOAD, n, pkt);
	/* The kernel's attributes are 4-byte aligned: put the 8-byte time
	 * stamp where an aligned read would trip UBSan. */
	if (((uintptr_t)mnl_nlmsg_get_payload_tail(nlh) + 4) % 8 == 0)
		mnl_attr_put(nlh, NFULA_HWLEN, 0, NULL);
	if (ts)
		mnl_attr_put(nlh, NFULA_TIMESTAMP, sizeof(t), &t);
	mnl_attr_put_u32(nlh, NFULA_SEQ, htonl(seq));
	return nlh;
}

static void test_nflog(void)
{
	char buf[512];
	struct flow_event ev;
	struct nlmsghdr *nlh;

	nlh = nflog_msg(buf, "podwall:denied:egress", 7, true);
	CHECK(nflog_event(nlh, &ev) == 1 && ev.verdict == PW_FLOW_DENIED &&
		      ev.dir == PW_DIR_EGRESS && ev.proto == PW_FLOW_UDP &&
		      ev.dport == 80 && ev.sec == 1795672800 && ev.usec == 42 &&
		      ev.has_seq && ev.seq == 7,
	      "nflog message");
	nlh = nflog_msg(buf, "podwall:allowed:ingress", 8, false);
	CHECK(nflog_event(nlh, &ev) == 1 && ev.sec > 1700000000,
	      "no time stamp: the time read");
	nlh = nflog_msg(buf, "iptables: ", 9, true);
	CHECK(nflog_event(nlh, &ev) == 0, "another prefix: not ours");
}

static const char cluster_yaml[] =
	"apiVersion: v1\nkind: Pod\n"
	"metadata: {name: a, namespace: t, labels: {app: a}}\n"
	"spec: {containers: [{name: c}]}\n"
	"status: {phase: Running, podIP: 10.0.0.1}\n"
	"---\napiVersion: v1\nkind: Pod\n"
	"metadata: {name: b, namespace: t, labels: {app: b}}\n"
	"spec: {containers: [{name: c}]}\n"
	"status: {phase: Running, podIP: 10.0.0.2}\n"
	"---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
	"metadata: {name: deny, namespace: t}\n"
	"spec: {podSelector: {}, policyTypes: [Ingress]}\n"
	"---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
	"metadata: {name: web, namespace: t}\n"
	"spec:\n  podSelector: {matchLabels: {app: b}}\n"
	"  ingress:\n  - ports: [{port: 9}]\n"
	"  - from: [{podSelector: {matchLabels: {app: a}}}]\n"
	"    ports: [{port: 80}]\n";

static struct snap_slot *published(void)
{
	struct pw_cluster *c = pw_cluster_new();
	struct pw_diags *d = pw_diags_new();
	struct snap_slot *sl = snap_slot_new();

	if (pw_cluster_load_buffer(c, "t.yaml", cluster_yaml,
				   strlen(cluster_yaml), d) ||
	    pw_cluster_finalize(c, d)) {
		CHECK(0, "cluster");
		pw_cluster_free(c);
		pw_diags_free(d);
		return sl;
	}
	snap_slot_publish(sl, snap_new(c, 1)); /* the engine: on first use */
	pw_diags_free(d);
	return sl;
}

static struct flow_event event(int sport, int dport, uint8_t verdict)
{
	struct flow_event ev = {
		.verdict = verdict,
		.dir = PW_DIR_INGRESS,
		.check = FLOW_CHECK_POLICY,
		.proto = PW_FLOW_TCP,
		.family = 4,
		.sport = sport,
		.dport = dport,
		.sec = 1795672800,
	};

	ev.src[0] = ev.dst[0] = 10;
	ev.src[3] = 1;
	ev.dst[3] = 2;
	return ev;
}

/* The lines of the log: count of lines, sum of counts, and checks. */
static void read_log(const char *path, size_t *lines, int64_t *sum,
		     size_t *coarse, struct pw_flow **allowed)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	*lines = *coarse = 0;
	*sum = 0;
	while (f && (n = getline(&line, &cap, f)) > 0) {
		struct pw_flow *r =
			pw_flow_parse(line, (size_t)n, path, 1, NULL);

		CHECK(r != NULL, "line parses: %s", line);
		if (!r)
			continue;
		(*lines)++;
		*sum += pw_flow_num(r, PW_FLOW_COUNT);
		*coarse += pw_flow_num(r, PW_FLOW_SPORT) < 0;
		if (pw_flow_verdict(r) == PW_FLOW_ALLOWED && !*allowed)
			*allowed = r;
		else
			pw_flow_free(r);
	}
	free(line);
	if (f)
		fclose(f);
}

static void test_window(void)
{
	char path[] = "/tmp/podwall-test-flowlog.XXXXXX";
	int fd = mkstemp(path);
	struct flowlog_opts o = {
		.path = path, .node = "n1", .rate = 3, .per_policy = 1
	};
	struct flowlog *fl = calloc(1, sizeof(*fl));
	struct pw_flow *allowed = NULL;
	struct flow_event ev;
	size_t lines, coarse;
	int64_t sum;
	char *m = NULL;
	size_t mlen = 0;
	FILE *mf;

	if (fd < 0 || !fl) {
		CHECK(0, "setup");
		free(fl);
		return;
	}
	close(fd);
	fl->o = o;
	fl->enforced = published();
	pthread_mutex_init(&fl->lock, NULL);
	/* 4 identical: one line; then 6 new source ports and an allowed
	 * connection over a cap of 3 lines: 2 more lines with ports, then
	 * every new key folds with sport null (2 coarse lines) */
	for (int i = 0; i < 4; i++) {
		ev = event(40000, 8080, PW_FLOW_DENIED);
		on_event(fl, &ev);
	}
	for (int i = 1; i <= 6; i++) {
		ev = event(40000 + i, 8080, PW_FLOW_DENIED);
		on_event(fl, &ev);
	}
	ev = event(41000, 80, PW_FLOW_ALLOWED);
	on_event(fl, &ev);
	CHECK(fl->n == 5, "lines in the window: %zu", fl->n);
	flush(fl);
	read_log(path, &lines, &sum, &coarse, &allowed);
	CHECK(lines == 5 && sum == 11, "5 lines, 11 events: %zu %lld", lines,
	      (long long)sum);
	CHECK(coarse == 2, "two coarse lines: %zu", coarse);
	CHECK(allowed && !strcmp(pw_flow_str(allowed, PW_FLOW_SRC), "t/a") &&
		      !strcmp(pw_flow_str(allowed, PW_FLOW_POLICY), "t/web") &&
		      pw_flow_num(allowed, PW_FLOW_RULE) == 1,
	      "allowed explained: t/a -> t/b by t/web rule 1");
	pw_flow_free(allowed);
	/* a sequence gap of 3 is 3 events lost */
	ev = event(1, 2, PW_FLOW_DENIED);
	ev.has_seq = true;
	ev.seq = 10;
	on_event(fl, &ev);
	ev.seq = 14;
	on_event(fl, &ev);
	CHECK(fl->lost == 3, "lost %llu", (unsigned long long)fl->lost);
	flush(fl);
	mf = open_memstream(&m, &mlen);
	flowlog_metrics(fl, mf);
	fclose(mf);
	CHECK(strstr(m, "podwall_flow_events_total{verdict=\"denied\","
			"direction=\"ingress\"} 12\n") != NULL,
	      "events counted: %s", m);
	CHECK(strstr(m, "podwall_flow_events_lost_total 3\n") != NULL,
	      "lost counted");
	{
		size_t series = 0;

		for (char *p = m; (p = strstr(p, "\npodwall_policy_verdicts_"
						 "total{policy=\"t/"));
		     p++)
			series++;
		CHECK(series == 2, "one policy series (2 verdicts): %zu",
		      series);
	}
	/* Both policies isolate t/b (10 denied events each); t/web also
	 * allowed one, so it had the most and got the series. Since then
	 * one more denied line of 2 events (seq 10 and 14). */
	CHECK(strstr(m, "podwall_policy_verdicts_total{policy=\"t/web\","
			"verdict=\"denied\"} 2\n") != NULL,
	      "t/web's series counts from when it got it");
	CHECK(strstr(m, "podwall_policy_verdicts_total{policy=\"_other\","
			"verdict=\"denied\"} 22\n") != NULL,
	      "_other: t/deny's 12 and t/web's 10 from before its series");
	CHECK(strstr(m, "{policy=\"_other\",verdict=\"denied\"} ") != NULL,
	      "the rest in _other");
	free(m);
	snap_slot_free(fl->enforced);
	fl->enforced = NULL;
	fl->stop_fd = -1;
	flowlog_free(fl);
	unlink(path);
}

/* A scan: every event a new source, destination and port. */
static void test_levels(void)
{
	char path[] = "/tmp/podwall-test-flowlog.XXXXXX";
	int fd = mkstemp(path);
	struct flowlog *fl = calloc(1, sizeof(*fl));
	struct flow_event ev;
	FILE *f;
	char *line = NULL;
	size_t cap = 0, lines = 0, wild_dst = 0, wild_src = 0;
	int64_t sum = 0;
	ssize_t n;

	if (fd < 0 || !fl) {
		CHECK(0, "setup");
		free(fl);
		return;
	}
	close(fd);
	fl->o = (struct flowlog_opts){ .path = path, .node = "n", .rate = 1 };
	fl->enforced = snap_slot_new(); /* nothing published yet */
	pthread_mutex_init(&fl->lock, NULL);
	for (int i = 0; i < 40; i++) {
		ev = event(1000 + i, 2000 + i, PW_FLOW_DENIED);
		ev.src[3] = (uint8_t)(10 + i);
		ev.dst[3] = (uint8_t)(100 + i);
		on_event(fl, &ev);
	}
	/* 1 exact, 3 without sport, 4 without destination, 1 without
	 * either address: 9 lines for 40 events */
	CHECK(fl->n == 9, "lines in the window: %zu", fl->n);
	flush(fl);
	f = fopen(path, "r");
	while (f && (n = getline(&line, &cap, f)) > 0) {
		struct pw_flow *r =
			pw_flow_parse(line, (size_t)n, path, 1, NULL);

		CHECK(r != NULL, "parses: %s", line);
		if (!r)
			continue;
		lines++;
		sum += pw_flow_num(r, PW_FLOW_COUNT);
		wild_dst += !strcmp(pw_flow_str(r, PW_FLOW_DST), "*");
		wild_src += !strcmp(pw_flow_str(r, PW_FLOW_SRC_IP), "*");
		CHECK(!strcmp(pw_flow_str(r, PW_FLOW_SRC), "10.0.0.10") ||
			      pw_flow_num(r, PW_FLOW_SPORT) < 0,
		      "only the first line keeps its source port");
		pw_flow_free(r);
	}
	if (f)
		fclose(f);
	free(line);
	CHECK(lines == 9 && sum == 40, "9 lines, 40 events: %zu %lld", lines,
	      (long long)sum);
	CHECK(wild_dst == 5 && wild_src == 1, "dst * %zu, src * %zu", wild_dst,
	      wild_src);
	snap_slot_free(fl->enforced);
	fl->enforced = NULL;
	fl->stop_fd = -1;
	flowlog_free(fl);
	unlink(path);
}

static void test_label_escape(void)
{
	char *m = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&m, &n);

	metric_label(f, "a\"b\\c\nd");
	fclose(f);
	CHECK(!strcmp(m, "a\\\"b\\\\c\\nd"), "label escaped: %s", m);
	free(m);
}

int main(void)
{
	test_prefixes();
	test_packets();
	test_nflog();
	test_window();
	test_levels();
	test_label_escape();
	return check_done("test_flowlog");
}
