/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Address classes: the pieces into which a cluster's CIDRs cut the IPv4
 * and IPv6 address spaces, so that an analysis can check "every address"
 * by checking one representative per piece.
 *
 * The cuts come from every ipBlock cidr and except of every policy and
 * from every node's pod CIDRs. Each class is one interval [first, last]
 * between two consecutive cuts, so every CIDR of the cluster either
 * contains the whole interval or none of it: two addresses of one class
 * are treated alike by every ipBlock (and by nothing else, since
 * selectors never see addresses outside the cluster's pods).
 *
 * The known endpoint addresses (pods that are not finished, hostNetwork
 * pods included, and nodes) are not members of any class: they are
 * endpoints in their own right, and a verdict for them depends on more
 * than ipBlocks (their pod's labels, the node rule). An interval may
 * contain such addresses; the representative is never one of them, and
 * an interval made only of endpoint addresses (a /32 ipBlock naming a
 * pod) is not a class at all.
 *
 * Classes are sorted by family (IPv4 first), then by first address; they
 * partition the non-endpoint addresses of both families.
 */
#ifndef PW_ADDRCLASS_H
#define PW_ADDRCLASS_H

#include <stdbool.h>
#include <stddef.h>
#include "model.h"

struct pw_addrclass {
	struct pw_addr first; /* lowest address of the interval */
	struct pw_addr last; /* highest address of the interval */
	struct pw_addr rep; /* lowest member that is no endpoint */
};

struct pw_addrclass_set;

/*
 * The classes of the cluster the engine was built from. 0, -EINVAL (NULL
 * argument) or -ENOMEM; *out is set only on success, free it with
 * pw_addrclass_set_free().
 */
int pw_addrclass_build(const struct pw_engine *e,
		       struct pw_addrclass_set **out);
/*
 * The common refinement of several finalized clusters (n >= 1): every
 * class lies within one class of each cluster, and the endpoints are those
 * of all of them. For comparing versions (diff). Same returns.
 */
int pw_addrclass_build_clusters(const struct pw_cluster *const *cs, size_t n,
				struct pw_addrclass_set **out);
/*
 * The same with more cuts: every class lies within or outside each of the
 * nextra prefixes (the CIDRs an expectation names, say).
 */
int pw_addrclass_build_with(const struct pw_cluster *const *cs, size_t n,
			    const struct pw_cidr *extra, size_t nextra,
			    struct pw_addrclass_set **out);
/* NULL is a no-op. */
void pw_addrclass_set_free(struct pw_addrclass_set *s);

size_t pw_addrclass_count(const struct pw_addrclass_set *s);
/* Borrowed; i < count. */
const struct pw_addrclass *pw_addrclass_get(const struct pw_addrclass_set *s,
					    size_t i);
/* The index of the class holding a, or -1 when a is a known endpoint. */
long pw_addrclass_find(const struct pw_addrclass_set *s,
		       const struct pw_addr *a);
/* Whether a is a known endpoint address (pod or node). */
bool pw_addrclass_is_endpoint(const struct pw_addrclass_set *s,
			      const struct pw_addr *a);

/*
 * The shortest list of prefixes that covers [first, last] exactly, in
 * address order. Writes at most max and returns how many there are (at
 * most 2 * 128).
 */
size_t pw_addrclass_prefixes(const struct pw_addrclass *c, struct pw_cidr *out,
			     size_t max);
/*
 * Text of the interval: the prefix when it is one ("10.0.0.0/8"), else
 * "first-last". Length like snprintf; PW_ADDRCLASS_STRLEN always fits.
 */
#define PW_ADDRCLASS_STRLEN 100
int pw_addrclass_format(const struct pw_addrclass *c, char *buf, size_t len);

#endif
