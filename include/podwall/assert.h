/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Policy as code: expectations about connectivity, checked exhaustively
 * against a compiled cluster, with evidence an auditor can keep.
 *
 * An expectations file (spec/cli.md, "Expectations file") lists named
 * expectations: deny, allow, only-from, egress-only-to and isolated.
 * pw_assert_check() checks each one over every pod it concerns, every
 * port class and every address class (never sampled), counts what it
 * examined and keeps the first counterexample with the engine's
 * explanation. SHA-256 helpers identify the manifests that were checked.
 */
#ifndef PODWALL_ASSERT_H
#define PODWALL_ASSERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <podwall/diag.h>
#include <podwall/engine.h>
#include <podwall/port.h>

#ifdef __cplusplus
extern "C" {
#endif

struct pw_expect_set;
struct pw_assert_result;

/*
 * Parses an expectations file held in buf; name is what diagnostics call
 * it. Strict: unknown keys, wrong types, bad ports, CIDRs or directions
 * and duplicate names are errors with their position in diags. NULL and
 * errno: EBADMSG when diags received errors, ENOMEM.
 */
struct pw_expect_set *pw_expect_set_parse(const char *name, const char *buf,
					  size_t len, struct pw_diags *diags);
/* The same for a file ("-" is standard input); errno also as open(2) when
 * the file cannot be read (recorded in diags too). */
struct pw_expect_set *pw_expect_set_load(const char *path,
					 struct pw_diags *diags);
/* NULL is a no-op. */
void pw_expect_set_free(struct pw_expect_set *x);
size_t pw_expect_set_count(const struct pw_expect_set *x);

/*
 * Checks every expectation of x against the cluster of e. Both are
 * borrowed for the call only. NULL and errno (ENOMEM) on failure; a
 * failing expectation is a result, not an error.
 */
struct pw_assert_result *pw_assert_check(const struct pw_engine *e,
					 const struct pw_expect_set *x);
/* NULL is a no-op. */
void pw_assert_result_free(struct pw_assert_result *r);

/* One entry per expectation, in file order. */
size_t pw_assert_count(const struct pw_assert_result *r);
size_t pw_assert_failed_count(const struct pw_assert_result *r);
const char *pw_assert_name(const struct pw_assert_result *r, size_t i);
/* "deny", "allow", "only-from", "egress-only-to", "isolated". */
const char *pw_assert_kind(const struct pw_assert_result *r, size_t i);
/* A one-line statement of what was expected, e.g.
 * "shop/app=frontend -> shop/app=backend: allowed on 8080/TCP". */
const char *pw_assert_statement(const struct pw_assert_result *r, size_t i);
/* Where the expectation is written (borrowed file name, 1-based line). */
const char *pw_assert_where(const struct pw_assert_result *r, size_t i,
			    unsigned *line, unsigned *col);
bool pw_assert_passed(const struct pw_assert_result *r, size_t i);
/*
 * Why a failed expectation failed when there is no counterexample (an
 * expectation whose selectors match no pod proves nothing and fails:
 * "from selects no pod"); NULL otherwise.
 */
const char *pw_assert_note(const struct pw_assert_result *r, size_t i);

/* What one expectation examined. */
enum pw_assert_stat {
	PW_ASSERT_SOURCES, /* source pods (or pods checked for egress) */
	PW_ASSERT_DESTINATIONS, /* destination pods */
	PW_ASSERT_ADDRESSES, /* address classes and node addresses */
	PW_ASSERT_PORTS, /* ports or port classes */
	PW_ASSERT_CHECKS, /* verdicts examined in all */
	PW_ASSERT_VIOLATIONS, /* verdicts that contradicted it */
	PW_ASSERT_STAT_NR,
};
/* "sources", "destinations", "addresses", "ports", "checks",
 * "violations". */
const char *pw_assert_stat_name(enum pw_assert_stat s);
uint64_t pw_assert_stat(const struct pw_assert_result *r, size_t i,
			enum pw_assert_stat s);

/* The ports (or representatives of port classes) expectation i was
 * checked on, sorted by protocol then number; none for isolated. */
size_t pw_assert_port_count(const struct pw_assert_result *r, size_t i);
struct pw_port pw_assert_port(const struct pw_assert_result *r, size_t i,
			      size_t k);

/*
 * The first counterexample of a failed expectation, as the engine
 * explains it (borrowed): pw_verdict_from/to/port name both endpoints and
 * the port. NULL when the expectation passed or failed without one.
 */
const struct pw_verdict *
pw_assert_counterexample(const struct pw_assert_result *r, size_t i);

/*
 * When an endpoint of the counterexample is an address outside the
 * cluster, the address class it stands for ("0.0.0.0-9.255.255.255",
 * "203.0.113.0/24"): every address in it gets the same verdict. NULL
 * otherwise.
 */
const char *pw_assert_counterexample_class(const struct pw_assert_result *r,
					   size_t i);

/* ---- evidence ------------------------------------------------------ */

#define PW_SHA256_LEN 32
#define PW_SHA256_HEXLEN 65 /* 64 hex digits and the NUL */

/* SHA-256 (FIPS 180-4) of len bytes. */
void pw_sha256(const void *buf, size_t len, uint8_t out[PW_SHA256_LEN]);
/* The digest in lower-case hex, NUL-terminated. */
void pw_sha256_hex(const uint8_t digest[PW_SHA256_LEN],
		   char out[PW_SHA256_HEXLEN]);
/* SHA-256 of a file's content: 0 or -errno. */
int pw_sha256_file(const char *path, uint8_t out[PW_SHA256_LEN]);

#ifdef __cplusplus
}
#endif
#endif
