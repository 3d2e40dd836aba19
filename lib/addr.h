/* SPDX-License-Identifier: Apache-2.0 */
/* IP addresses, prefixes and ipBlocks. */
#ifndef PW_ADDR_H
#define PW_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include "model.h"

/* Longest text of an address or prefix, with the NUL. */
#define PW_ADDR_STRLEN 50

/*
 * Parses an IPv4 or IPv6 address as the API server accepts it (no zone,
 * no IPv4 octet with a leading zero). 0 or -EINVAL.
 */
int pw_addr_parse(const char *s, struct pw_addr *out);
/*
 * Parses "addr/len". Host bits are cleared in *out; *host_bits (may be
 * NULL) tells whether any were set. 0 or -EINVAL (message in *why when
 * not NULL: a static string).
 */
int pw_cidr_parse(const char *s, struct pw_cidr *out, bool *host_bits,
		  const char **why);
/* Canonical text ("10.0.0.1", "fd00::1", "10.0.0.0/8"); length like
 * snprintf. */
int pw_addr_format(const struct pw_addr *a, char *buf, size_t len);
int pw_cidr_format(const struct pw_cidr *c, char *buf, size_t len);
int pw_addr_cmp(const struct pw_addr *a, const struct pw_addr *b);

bool pw_cidr_contains(const struct pw_cidr *c, const struct pw_addr *a);
/* inner lies within outer (same family; equal counts as within). */
bool pw_cidr_within(const struct pw_cidr *inner, const struct pw_cidr *outer);
/* a lies in b.cidr and in none of b.except; false for a block that did not
 * validate. */
bool pw_ipblock_matches(const struct pw_ipblock *b, const struct pw_addr *a);

/*
 * pw_addr_parse with the reason of a failure in *why (may be NULL): a
 * static string in the API server's words ("must not have leading 0s").
 */
int pw_addr_parse_why(const char *s, struct pw_addr *out, const char **why);
/* The bits of the family: 32 or 128. */
unsigned pw_addr_bits(const struct pw_addr *a);
/* Whether a has the bits after len set (it is not the network address). */
bool pw_addr_has_host_bits(const struct pw_addr *a, unsigned len);

#endif
