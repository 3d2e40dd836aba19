/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Flow records: one verdict event of the kernel, explained, as podwalld
 * writes it to its flow log and `podwall observe` reads it back. The line
 * format is the contract of spec/cli.md ("podwalld", flow log); the
 * fields and their order are fixed, readers ignore fields they do not
 * know. docs/FLOWLOG.md says what each field means for each check.
 */
#ifndef PODWALL_FLOW_H
#define PODWALL_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <podwall/diag.h>
#include <podwall/engine.h>

#ifdef __cplusplus
extern "C" {
#endif

struct pw_flow;

/* Where podwalld's DaemonSet writes the flow log and where `podwall
 * observe` reads it unless told otherwise. */
#define PW_FLOW_LOG_PATH "/var/log/podwall/flows.log"

enum pw_flow_verdict {
	PW_FLOW_ALLOWED,
	PW_FLOW_DENIED,
};

/* The protocols a line may name: the API's three and ICMP. */
enum pw_flow_proto {
	PW_FLOW_TCP,
	PW_FLOW_UDP,
	PW_FLOW_SCTP,
	PW_FLOW_ICMP,
	PW_FLOW_ICMPV6,
	PW_FLOW_PROTO_NR,
};

/* String fields; NULL is JSON null where the spec allows it. */
enum pw_flow_str {
	PW_FLOW_NODE,
	PW_FLOW_SRC, /* "ns/name" for a known pod, else the address */
	PW_FLOW_DST,
	PW_FLOW_SRC_IP,
	PW_FLOW_DST_IP,
	PW_FLOW_POLICY, /* "ns/name" of the policy that allowed, or NULL */
	/* Extension after the spec's fields: which check decided,
	 * "policy", "unknown" or "spoof"; NULL leaves it out. */
	PW_FLOW_CHECK,
	PW_FLOW_STR_NR,
};

/* Integer fields; -1 is JSON null for the ports and the rule. */
enum pw_flow_num {
	PW_FLOW_VERSION, /* 1 */
	PW_FLOW_SPORT,
	PW_FLOW_DPORT,
	PW_FLOW_RULE, /* 0-based index of the rule that allowed */
	PW_FLOW_COUNT, /* events folded into this line, >= 1 */
	PW_FLOW_NUM_NR,
};

/* "allowed"/"denied"; "TCP".."ICMPv6"; NULL when out of range. */
const char *pw_flow_verdict_name(enum pw_flow_verdict v);
const char *pw_flow_proto_name(enum pw_flow_proto p);

/* An empty record: version 1, count 1, ports and rule null, time 0,
 * verdict denied, direction ingress, protocol TCP. NULL + ENOMEM. */
struct pw_flow *pw_flow_new(void);
/* NULL is a no-op. */
void pw_flow_free(struct pw_flow *f);
/* A deep copy; NULL + ENOMEM. */
struct pw_flow *pw_flow_dup(const struct pw_flow *f);

/* Setters copy; 0, -ENOMEM or -EINVAL (value out of range). */
int pw_flow_set_str(struct pw_flow *f, enum pw_flow_str k, const char *v);
int pw_flow_set_num(struct pw_flow *f, enum pw_flow_num k, int64_t v);
/* Unix seconds and microseconds (0..999999). */
int pw_flow_set_time(struct pw_flow *f, int64_t sec, uint32_t usec);
int pw_flow_set_verdict(struct pw_flow *f, enum pw_flow_verdict v);
int pw_flow_set_direction(struct pw_flow *f, enum pw_dir d);
int pw_flow_set_proto(struct pw_flow *f, enum pw_flow_proto p);
/* Appends "ns/name" to the isolating policies. */
int pw_flow_add_policy(struct pw_flow *f, const char *name);

/* Getters return borrowed values. */
const char *pw_flow_str(const struct pw_flow *f, enum pw_flow_str k);
int64_t pw_flow_num(const struct pw_flow *f, enum pw_flow_num k);
int64_t pw_flow_time(const struct pw_flow *f, uint32_t *usec);
enum pw_flow_verdict pw_flow_verdict(const struct pw_flow *f);
enum pw_dir pw_flow_direction(const struct pw_flow *f);
enum pw_flow_proto pw_flow_proto(const struct pw_flow *f);
size_t pw_flow_policy_count(const struct pw_flow *f);
const char *pw_flow_policy(const struct pw_flow *f, size_t i);

/*
 * One JSON line, the spec's fields in the spec's order ("check" after
 * them when set), strings escaped, ending with "\n", into buf (always
 * NUL-terminated when len > 0). Returns the length the whole line needs,
 * like snprintf.
 */
int pw_flow_format(const struct pw_flow *f, char *buf, size_t len);

/*
 * Parses one line (a trailing newline is allowed). Strict about what it
 * knows: a known field with a value of the wrong type or out of range, a
 * duplicate field, a missing one, or text after the object is an error;
 * unknown fields are skipped (forward compatibility). On error: NULL,
 * errno EINVAL and one diagnostic at file:line:column with the field as
 * its path (d may be NULL); ENOMEM without a diagnostic.
 */
struct pw_flow *pw_flow_parse(const char *text, size_t len, const char *file,
			      unsigned line, struct pw_diags *d);

/* Whether two records have the same fields. */
bool pw_flow_equal(const struct pw_flow *a, const struct pw_flow *b);

/*
 * The named counters of podwall's table (table inet podwall), read from
 * the kernel of the current network namespace through netlink.
 */
struct pw_counters;
/* NULL + errno (ENOENT: no table; EPERM; ENOMEM; EIO). */
struct pw_counters *pw_counters_read(void);
void pw_counters_free(struct pw_counters *c);
/* Packets of counter name ("denied_ingress"...); false when the table
 * has no such counter (not counted, which is not zero). */
bool pw_counters_get(const struct pw_counters *c, const char *name,
		     uint64_t *packets, uint64_t *bytes);

#ifdef __cplusplus
}
#endif
#endif
