// SPDX-License-Identifier: Apache-2.0
/*
 * Address classes (see addrclass.h for what they are and why).
 *
 * Building them: every CIDR of the cluster is an interval of addresses,
 * so the points where some CIDR starts or ends (its first address, and
 * the address after its last) cut each family's space into intervals
 * that no CIDR boundary crosses. Sorting and deduplicating the cuts gives
 * the classes directly; the endpoint addresses are then skipped when
 * picking each class's representative.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "addr.h"
#include "addrclass.h"
#include "engine.h"

struct addr_vec {
	struct pw_addr *v;
	size_t n, cap;
};

struct pw_addrclass_set {
	struct pw_addrclass *v;
	size_t n, cap;
	struct addr_vec eps; /* endpoint addresses, sorted, unique */
};

static unsigned nbytes(const struct pw_addr *a)
{
	return a->family == 4 ? 4 : 16;
}

/* a + 1 within its family; false (a unchanged) when a is the last one. */
static bool addr_inc(struct pw_addr *a)
{
	struct pw_addr t = *a;

	for (int i = (int)nbytes(a) - 1; i >= 0; i--) {
		if (++t.b[i] != 0) {
			*a = t;
			return true;
		}
	}
	return false;
}

/* Sets (or clears) the bits of a after the first len. */
static void fill_host_bits(struct pw_addr *a, unsigned len, bool set)
{
	for (unsigned i = 0; i < nbytes(a); i++) {
		unsigned lo = i * 8;
		uint8_t mask;

		if (len >= lo + 8)
			continue;
		mask = len <= lo ? 0xff : (uint8_t)(0xff >> (len - lo));
		a->b[i] = set ? (a->b[i] | mask) : (a->b[i] & ~mask);
	}
}

static int push_addr(struct addr_vec *vec, const struct pw_addr *a)
{
	struct pw_addr *slot = PW_PUSH(vec->v, vec->n, vec->cap);

	if (!slot)
		return -ENOMEM;
	*slot = *a;
	return 0;
}

static int addr_qcmp(const void *a, const void *b)
{
	return pw_addr_cmp(a, b);
}

static void sort_unique(struct addr_vec *vec)
{
	size_t w = 0;

	if (!vec->n)
		return;
	qsort(vec->v, vec->n, sizeof(*vec->v), addr_qcmp);
	for (size_t r = 1; r < vec->n; r++)
		if (pw_addr_cmp(&vec->v[r], &vec->v[w]))
			vec->v[++w] = vec->v[r];
	vec->n = w + 1;
}

/* The cuts of one CIDR: where it starts and where the next piece does. */
static int add_cidr(struct addr_vec *cuts, const struct pw_cidr *c)
{
	struct pw_addr end = c->addr;

	if (push_addr(cuts, &c->addr))
		return -ENOMEM;
	fill_host_bits(&end, c->len, true);
	if (addr_inc(&end) && push_addr(cuts, &end))
		return -ENOMEM;
	return 0;
}

static int add_ipblock(struct addr_vec *cuts, const struct pw_ipblock *b)
{
	if (b->cidr_ok && add_cidr(cuts, &b->cidr))
		return -ENOMEM;
	for (size_t i = 0; i < b->nexcept; i++)
		if (b->except[i].ok && add_cidr(cuts, &b->except[i].cidr))
			return -ENOMEM;
	return 0;
}

static int add_policy(struct addr_vec *cuts, const struct pw_policy *p)
{
	for (int d = 0; d < PW_DIR_NR; d++) {
		for (size_t r = 0; r < p->nrules[d]; r++) {
			const struct pw_rule *rule = &p->rules[d][r];

			for (size_t k = 0; k < rule->npeers; k++) {
				const struct pw_peer *peer = &rule->peers[k];

				if (peer->has_ipblock &&
				    add_ipblock(cuts, &peer->ipblock))
					return -ENOMEM;
			}
		}
	}
	return 0;
}

/* Finished pods are gone: their addresses are free for anyone. */
static int add_pod(struct addr_vec *eps, const struct pw_pod *p)
{
	if (p->phase == PW_PHASE_SUCCEEDED || p->phase == PW_PHASE_FAILED)
		return 0;
	for (size_t i = 0; i < p->nips; i++)
		if (push_addr(eps, &p->ips[i]))
			return -ENOMEM;
	return 0;
}

static int add_node(struct addr_vec *cuts, struct addr_vec *eps,
		    const struct pw_node *n)
{
	for (size_t i = 0; i < n->naddrs; i++)
		if (push_addr(eps, &n->addrs[i]))
			return -ENOMEM;
	for (size_t i = 0; i < n->npod_cidrs; i++)
		if (add_cidr(cuts, &n->pod_cidrs[i]))
			return -ENOMEM;
	return 0;
}

static int add_cluster(struct addr_vec *cuts, struct addr_vec *eps,
		       const struct pw_cluster *c)
{
	for (size_t i = 0; i < c->npols; i++)
		if (add_policy(cuts, &c->pols[i]))
			return -ENOMEM;
	for (size_t i = 0; i < c->npods; i++)
		if (add_pod(eps, &c->pods[i]))
			return -ENOMEM;
	for (size_t i = 0; i < c->nnodes; i++)
		if (add_node(cuts, eps, &c->nodes[i]))
			return -ENOMEM;
	return 0;
}

/* Index of the first endpoint >= a. */
static size_t ep_lower_bound(const struct addr_vec *eps,
			     const struct pw_addr *a)
{
	size_t lo = 0, hi = eps->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (pw_addr_cmp(&eps->v[mid], a) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The lowest address of [first, last] that is no endpoint; false when
 * there is none. */
static bool pick_rep(const struct addr_vec *eps, const struct pw_addr *first,
		     const struct pw_addr *last, struct pw_addr *rep)
{
	size_t k = ep_lower_bound(eps, first);

	*rep = *first;
	while (k < eps->n && !pw_addr_cmp(&eps->v[k], rep)) {
		if (!addr_inc(rep) || pw_addr_cmp(rep, last) > 0)
			return false;
		k++;
	}
	return true;
}

static int add_class(struct pw_addrclass_set *s, const struct pw_addr *first,
		     const struct pw_addr *last)
{
	struct pw_addrclass cls = { .first = *first, .last = *last };
	struct pw_addrclass *slot;

	if (!pick_rep(&s->eps, first, last, &cls.rep))
		return 0;
	slot = PW_PUSH(s->v, s->n, s->cap);
	if (!slot)
		return -ENOMEM;
	*slot = cls;
	return 0;
}

/* The intervals between consecutive cuts of one family: cuts[0..n) are
 * sorted, and the first is the family's zero address. */
static int add_family(struct pw_addrclass_set *s, const struct pw_addr *cuts,
		      size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct pw_addr last;

		if (i + 1 < n) {
			/* cuts[i + 1] - 1: the cut is never the zero address */
			last = cuts[i + 1];
			for (int b = (int)nbytes(&last) - 1; b >= 0; b--)
				if (last.b[b]-- != 0)
					break;
		} else {
			last = cuts[i];
			fill_host_bits(&last, 0, true);
		}
		if (add_class(s, &cuts[i], &last))
			return -ENOMEM;
	}
	return 0;
}

static int make_classes(struct pw_addrclass_set *s, struct addr_vec *cuts)
{
	struct pw_addr zero4 = { .family = 4 }, zero6 = { .family = 6 };
	size_t split;

	if (push_addr(cuts, &zero4) || push_addr(cuts, &zero6))
		return -ENOMEM;
	sort_unique(cuts);
	sort_unique(&s->eps);
	for (split = 0; split < cuts->n; split++)
		if (cuts->v[split].family != 4)
			break;
	if (add_family(s, cuts->v, split) ||
	    add_family(s, cuts->v + split, cuts->n - split))
		return -ENOMEM;
	return 0;
}

int pw_addrclass_build_clusters(const struct pw_cluster *const *cs, size_t n,
				struct pw_addrclass_set **out)
{
	return pw_addrclass_build_with(cs, n, NULL, 0, out);
}

int pw_addrclass_build_with(const struct pw_cluster *const *cs, size_t n,
			    const struct pw_cidr *extra, size_t nextra,
			    struct pw_addrclass_set **out)
{
	struct addr_vec cuts = { 0 };
	struct pw_addrclass_set *s;

	if (!cs || !out || !n || (nextra && !extra))
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (add_cluster(&cuts, &s->eps, cs[i]))
			goto err_free_set;
	for (size_t i = 0; i < nextra; i++)
		if (add_cidr(&cuts, &extra[i]))
			goto err_free_set;
	if (make_classes(s, &cuts))
		goto err_free_set;
	free(cuts.v);
	*out = s;
	return 0;

err_free_set:
	free(cuts.v);
	pw_addrclass_set_free(s);
	return -ENOMEM;
}

int pw_addrclass_build(const struct pw_engine *e, struct pw_addrclass_set **out)
{
	if (!e)
		return -EINVAL;
	return pw_addrclass_build_clusters(&e->c, 1, out);
}

void pw_addrclass_set_free(struct pw_addrclass_set *s)
{
	if (!s)
		return;
	free(s->eps.v);
	free(s->v);
	free(s);
}

size_t pw_addrclass_count(const struct pw_addrclass_set *s)
{
	return s->n;
}

const struct pw_addrclass *pw_addrclass_get(const struct pw_addrclass_set *s,
					    size_t i)
{
	return &s->v[i];
}

bool pw_addrclass_is_endpoint(const struct pw_addrclass_set *s,
			      const struct pw_addr *a)
{
	size_t k = ep_lower_bound(&s->eps, a);

	return k < s->eps.n && !pw_addr_cmp(&s->eps.v[k], a);
}

long pw_addrclass_find(const struct pw_addrclass_set *s,
		       const struct pw_addr *a)
{
	size_t lo = 0, hi = s->n;

	if (pw_addrclass_is_endpoint(s, a))
		return -1;
	/* the last class whose first address is <= a */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (pw_addr_cmp(&s->v[mid].first, a) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || pw_addr_cmp(&s->v[lo - 1].last, a) < 0)
		return -1;
	return (long)(lo - 1);
}

/* The largest prefix that starts at a and ends at or before last. */
static unsigned largest_prefix(const struct pw_addr *a,
			       const struct pw_addr *last, struct pw_addr *end)
{
	unsigned bits = pw_addr_bits(a);

	for (unsigned len = 0; len < bits; len++) {
		if (pw_addr_has_host_bits(a, len))
			continue;
		*end = *a;
		fill_host_bits(end, len, true);
		if (pw_addr_cmp(end, last) <= 0)
			return len;
	}
	*end = *a;
	return bits;
}

size_t pw_addrclass_prefixes(const struct pw_addrclass *c, struct pw_cidr *out,
			     size_t max)
{
	struct pw_addr cur = c->first, end;
	size_t n = 0;

	for (;;) {
		unsigned len = largest_prefix(&cur, &c->last, &end);

		if (n < max)
			out[n] = (struct pw_cidr){ .addr = cur,
						   .len = (uint8_t)len };
		n++;
		if (!pw_addr_cmp(&end, &c->last))
			return n;
		cur = end;
		addr_inc(&cur);
	}
}

int pw_addrclass_format(const struct pw_addrclass *c, char *buf, size_t len)
{
	char a[PW_ADDR_STRLEN], b[PW_ADDR_STRLEN];
	struct pw_cidr one;

	if (pw_addrclass_prefixes(c, &one, 1) == 1)
		return pw_cidr_format(&one, buf, len);
	pw_addr_format(&c->first, a, sizeof(a));
	pw_addr_format(&c->last, b, sizeof(b));
	return snprintf(buf, len, "%s-%s", a, b);
}
