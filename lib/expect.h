/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The expectations file as parsed (expect.c), for the checker (assert.c).
 *
 * Every expectation is one of five kinds. The parser guarantees the shape
 * each kind needs, so the checker never re-validates:
 *
 *   deny            from, to; ports (all_ports for `deny: all`)
 *   allow           from, to; ports (a non-empty list)
 *   only-from       to; peers (selectors and CIDRs); ports or all_ports
 *   egress-only-to  from; peers (selectors and CIDRs); ports or all_ports
 *   isolated        ns; dirs
 */
#ifndef PW_EXPECT_H
#define PW_EXPECT_H

#include <stdbool.h>
#include <stddef.h>
#include <podwall/assert.h>
#include "model.h"

enum pw_expect_kind {
	PW_EXPECT_DENY,
	PW_EXPECT_ALLOW,
	PW_EXPECT_ONLY_FROM,
	PW_EXPECT_EGRESS_ONLY_TO,
	PW_EXPECT_ISOLATED,
	PW_EXPECT_NR,
};

/* The spelling in the file: "deny", ... */
const char *pw_expect_kind_name(enum pw_expect_kind k);

/* {namespace: NAME, pod: {label: value, ...}}: pods of that namespace
 * (any when ns is NULL) that carry every label. */
struct pw_xsel {
	char *ns;
	struct pw_labels labels;
	struct pw_pos pos;
};

/* An item of only-from or egress-only-to: a selector or a CIDR. */
struct pw_xpeer {
	bool is_cidr;
	struct pw_cidr cidr;
	struct pw_xsel sel;
	struct pw_pos pos;
};

struct pw_expect {
	char *name;
	enum pw_expect_kind kind;
	struct pw_pos pos;
	struct pw_xsel from, to;
	bool all_ports;
	struct pw_port *ports; /* sorted, unique */
	size_t nports;
	struct pw_xpeer *peers;
	size_t npeers;
	char *ns; /* isolated */
	bool dirs[PW_DIR_NR]; /* isolated: the directions required */
};

struct pw_expect_set {
	struct pw_expect *v;
	size_t n, cap;
	char *file; /* positions point here */
};

#endif
