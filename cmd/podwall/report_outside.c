// SPDX-License-Identifier: Apache-2.0
/*
 * podwall report: connections between workloads and addresses outside the
 * cluster. The pod matrix does not have them; podwall diff does, on every
 * port and grouped by workload and CIDR: the cluster compared with an
 * empty one has every allowed connection as "added", and the groups with
 * a CIDR end are the ones wanted here. A group whose other end is a
 * namespace (every workload of it alike) stands for each of its
 * workloads.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

static long wl_find(const struct report *r, const char *name)
{
	size_t lo = 0, hi = r->nwls;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(r->wls[mid].name, name);

		if (!c)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static long ns_find(const struct report *r, const char *name)
{
	for (size_t n = 0; n < r->nnss; n++)
		if (!strcmp(r->nss[n].name, name))
			return (long)n;
	return -1;
}

static long cidr_intern(struct report *r, const char *cidr)
{
	char **v;

	for (size_t i = 0; i < r->ncidrs; i++)
		if (!strcmp(r->cidrs[i], cidr))
			return (long)i;
	v = realloc(r->cidrs, (r->ncidrs + 1) * sizeof(*v));
	if (!v)
		return -1;
	r->cidrs = v;
	v[r->ncidrs] = strdup(cidr);
	return v[r->ncidrs] ? (long)r->ncidrs++ : -1;
}

/* The ranges of group i as "443/TCP 8000-8080/TCP"; *all when they are
 * every port of every protocol. NULL on ENOMEM. */
static char *group_ports(const struct pw_diff *d, size_t i, bool *all)
{
	size_t n = pw_diff_range_count(d, PW_CHANGE_ADDED, i), len = 0;
	char *s = calloc(n + 1, 24);
	struct pw_port first;
	uint16_t last;
	unsigned full = 0;

	if (!s)
		return NULL;
	for (size_t j = 0; j < n; j++) {
		if (j)
			s[len++] = ' ';
		len += (size_t)pw_diff_range_format(d, PW_CHANGE_ADDED, i, j,
						    s + len, 23);
		pw_diff_range(d, PW_CHANGE_ADDED, i, j, &first, &last);
		if (first.num == 1 && last == 65535)
			full |= 1u << first.proto;
	}
	*all = full == (1u << PW_PROTO_NR) - 1;
	return s;
}

static int ext_add(struct report *r, size_t wl, long cidr, bool egress,
		   const char *ports, bool all)
{
	struct rep_ext *v;

	if (r->nexts == r->cap_exts) {
		r->cap_exts = r->cap_exts ? 2 * r->cap_exts : 16;
		v = realloc(r->exts, r->cap_exts * sizeof(*v));
		if (!v)
			return -ENOMEM;
		r->exts = v;
	}
	v = &r->exts[r->nexts];
	*v = (struct rep_ext){
		.wl = wl, .cidr = (size_t)cidr, .egress = egress, .all = all
	};
	v->ports = strdup(ports);
	if (!v->ports)
		return -ENOMEM;
	r->nexts++;
	return 0;
}

/* Group i of d, when one end is a CIDR. */
static int add_group(struct report *r, const struct pw_diff *d, size_t i)
{
	enum pw_diff_end fk = pw_diff_from_kind(d, PW_CHANGE_ADDED, i);
	enum pw_diff_end tk = pw_diff_to_kind(d, PW_CHANGE_ADDED, i);
	bool egress = tk == PW_DIFF_CIDR;
	const char *cidr = pw_diff_to(d, PW_CHANGE_ADDED, i);
	const char *end = pw_diff_from(d, PW_CHANGE_ADDED, i);
	enum pw_diff_end kind = fk;
	size_t first, n = 1;
	bool all = false;
	char *ports;
	long c, k;
	int err = 0;

	if ((fk == PW_DIFF_CIDR) == egress)
		return 0; /* pods at both ends: the matrix has it */
	if (!egress) {
		cidr = end;
		end = pw_diff_to(d, PW_CHANGE_ADDED, i);
		kind = tk;
	}
	if (kind == PW_DIFF_NAMESPACE) {
		if ((k = ns_find(r, end)) < 0)
			return 0;
		first = r->nss[k].first;
		n = r->nss[k].n;
	} else {
		if ((k = wl_find(r, end)) < 0)
			return 0;
		first = (size_t)k;
	}
	ports = group_ports(d, i, &all);
	c = cidr_intern(r, cidr);
	if (!ports || c < 0)
		err = -ENOMEM;
	for (size_t w = first; !err && w < first + n; w++)
		err = ext_add(r, w, c, egress, ports, all);
	free(ports);
	return err;
}

/* ---- CIDRs treated alike ------------------------------------------------ */

static bool has_ext(const struct report *r, size_t cidr,
		    const struct rep_ext *x)
{
	for (size_t i = 0; i < r->nexts; i++) {
		const struct rep_ext *y = &r->exts[i];

		if (y->cidr == cidr && y->wl == x->wl &&
		    y->egress == x->egress && !strcmp(y->ports, x->ports))
			return true;
	}
	return false;
}

static size_t ext_count(const struct report *r, size_t cidr)
{
	size_t n = 0;

	for (size_t i = 0; i < r->nexts; i++)
		n += r->exts[i].cidr == cidr;
	return n;
}

/* Whether every workload has the same connections with CIDRs a and b. */
static bool alike(const struct report *r, size_t a, size_t b)
{
	if (ext_count(r, a) != ext_count(r, b))
		return false;
	for (size_t i = 0; i < r->nexts; i++)
		if (r->exts[i].cidr == b && !has_ext(r, a, &r->exts[i]))
			return false;
	return true;
}

/* Folds CIDR b into a ("0.0.0.0/0 ::/0"): its connections go, the names
 * join. */
static int fold(struct report *r, size_t a, size_t b)
{
	size_t k = 0;
	char *name;

	if (asprintf(&name, "%s %s", r->cidrs[a], r->cidrs[b]) < 0)
		return -ENOMEM;
	free(r->cidrs[a]);
	r->cidrs[a] = name;
	for (size_t i = 0; i < r->nexts; i++) {
		if (r->exts[i].cidr == b) {
			free(r->exts[i].ports);
			continue;
		}
		r->exts[i].cidr -= r->exts[i].cidr > b;
		r->exts[k++] = r->exts[i];
	}
	r->nexts = k;
	free(r->cidrs[b]);
	memmove(r->cidrs + b, r->cidrs + b + 1,
		(r->ncidrs - b - 1) * sizeof(*r->cidrs));
	r->ncidrs--;
	return 0;
}

/*
 * One node for CIDRs that every workload treats alike (0.0.0.0/0 and ::/0
 * when no policy tells the families apart): the picture then has one box
 * and one arrow where it would have two of each.
 */
static int fold_alike(struct report *r)
{
	for (size_t a = 0; a < r->ncidrs; a++)
		for (size_t b = a + 1; b < r->ncidrs;)
			if (!alike(r, a, b))
				b++;
			else if (fold(r, a, b))
				return -ENOMEM;
	return 0;
}

/* The engine of a cluster with nothing in it. */
static struct pw_engine *empty_engine(struct pw_cluster **c)
{
	struct pw_diags *d = pw_diags_new();
	struct pw_engine *e = NULL;

	*c = pw_cluster_new();
	if (d && *c && !pw_cluster_finalize(*c, d))
		e = pw_engine_new(*c);
	pw_diags_free(d);
	return e;
}

int report_outside(struct report *r)
{
	struct pw_cluster *c = NULL;
	struct pw_engine *none = empty_engine(&c);
	struct pw_diff *d = none ? pw_diff_new(none, r->e) : NULL;
	int err = d ? 0 : -ENOMEM;

	for (size_t i = 0; !err && i < pw_diff_count(d, PW_CHANGE_ADDED); i++)
		err = add_group(r, d, i);
	if (!err)
		err = fold_alike(r);
	pw_diff_free(d);
	pw_engine_free(none);
	pw_cluster_free(c);
	return err;
}

void report_outside_free(struct report *r)
{
	for (size_t i = 0; i < r->nexts; i++)
		free(r->exts[i].ports);
	free(r->exts);
	for (size_t i = 0; i < r->ncidrs; i++)
		free(r->cidrs[i]);
	free(r->cidrs);
}
