/* SPDX-License-Identifier: Apache-2.0 */
/*
 * podwalld's flow log: verdict events of the kernel (nflog), folded,
 * explained with the enforced engine, written as JSON lines, and counted
 * for /metrics. docs/FLOWLOG.md describes it for operators.
 *
 *   kernel ──nflog──▶ flow thread: parse ─▶ fold (1 s window, line cap)
 *                                   └─ at the window's end: explain with
 *                                      the published snapshot, write lines
 */
#ifndef PODWALLD_FLOWLOG_H
#define PODWALLD_FLOWLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <libmnl/libmnl.h>

#include "snap.h"

#define FLOWLOG_GROUP_DEFAULT 9469
/* The kernel's longest wait before it sends what it logged (nflog.c), in
 * milliseconds: on stop the agent waits that long for the last events. */
#define NFLOG_DELAY_MS 100
#define FLOWLOG_RATE_DEFAULT 1000

struct flowlog_opts {
	const char *path; /* NULL: no flow log; "-": standard output */
	bool allowed; /* --flow-log-allowed */
	uint16_t group; /* --flow-log-group */
	unsigned rate; /* --flow-log-rate: lines per second before folding */
	unsigned per_policy; /* --metrics-per-policy: 0 = no such series */
	const char *node; /* the "node" field */
};

/* podwalld's options for the flow log, handled by flowlog_opt(). */
enum {
	OPT_FLOW_LOG = 1000,
	OPT_FLOW_LOG_ALLOWED,
	OPT_FLOW_LOG_GROUP,
	OPT_FLOW_LOG_RATE,
	OPT_METRICS_PER_POLICY,
};
#define FLOWLOG_LONGOPTS                                       \
	{ "flow-log", required_argument, NULL, OPT_FLOW_LOG }, \
		{ "flow-log-allowed", no_argument, NULL,       \
		  OPT_FLOW_LOG_ALLOWED },                      \
		{ "flow-log-group", required_argument, NULL,   \
		  OPT_FLOW_LOG_GROUP },                        \
		{ "flow-log-rate", required_argument, NULL,    \
		  OPT_FLOW_LOG_RATE },                         \
	{                                                      \
		"metrics-per-policy", required_argument, NULL, \
			OPT_METRICS_PER_POLICY                 \
	}
#define FLOWLOG_USAGE                                              \
	"                [--flow-log FILE|- [--flow-log-allowed] " \
	"[--flow-log-group N]\n"                                   \
	"                 [--flow-log-rate LINES]] "               \
	"[--metrics-per-policy N]\n"
/* Sets defaults in o (once, before parsing). */
void flowlog_opts_init(struct flowlog_opts *o);
/* One getopt result c with its argument: 0 when handled, -1 when it is
 * not a flow-log option or its argument is wrong (said on stderr). */
int flowlog_opt(struct flowlog_opts *o, int c, const char *arg);

/* Which check of the table decided (the nflog prefix's middle part). */
enum flow_check {
	FLOW_CHECK_POLICY,
	FLOW_CHECK_UNKNOWN,
	FLOW_CHECK_SPOOF,
	FLOW_CHECK_NR,
};

/* One verdict event as the kernel reported it. */
struct flow_event {
	uint8_t verdict; /* enum pw_flow_verdict */
	uint8_t dir; /* enum pw_dir; unknown/spoof: see nflog.c */
	uint8_t check; /* enum flow_check */
	uint8_t proto; /* enum pw_flow_proto */
	uint8_t family; /* 4 or 6 */
	uint8_t src[16], dst[16];
	int32_t sport, dport; /* -1: none (ICMP, a later fragment) */
	int64_t sec;
	uint32_t usec;
	uint32_t seq; /* the kernel's per-group sequence number */
	bool has_seq;
};

/* nflog.c: the kernel side. */
/* A netlink socket bound to nflog group `group`, copying headers only.
 * NULL + errno. */
struct mnl_socket *nflog_open(uint16_t group);
/*
 * One NFULNL_MSG_PACKET into ev: 1 when it is a podwall event, 0 when it
 * is something else (another prefix, a packet we cannot read), -errno.
 */
int nflog_event(const struct nlmsghdr *nlh, struct flow_event *ev);
/* The IP packet at p (n bytes, maybe cut after the L4 header) into ev's
 * addresses, protocol and ports; false when it is not IP we read. */
bool flow_packet(const uint8_t *p, size_t n, struct flow_event *ev);
/* The event of an nflog prefix; false when it is not podwall's. */
bool flow_prefix(const char *prefix, struct flow_event *ev);

/* flowlog.c: the thread. */
struct flowlog;
/* Opens the output and the socket (so errors show at start). NULL +
 * errno, logged. */
struct flowlog *flowlog_new(const struct flowlog_opts *o,
			    struct snap_slot *enforced);
int flowlog_start(struct flowlog *fl);
/* Stops the thread, writes what is folded, frees; NULL is a no-op. */
void flowlog_free(struct flowlog *fl);
/* The flow series of /metrics (fl may be NULL: the kernel's named
 * counters only). */
void flowlog_metrics(struct flowlog *fl, FILE *f);

#endif
