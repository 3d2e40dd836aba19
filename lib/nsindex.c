// SPDX-License-Identifier: Apache-2.0
/* The inverted index of namespace labels (nsindex.h). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nsindex.h"

int pw_nsindex_add(struct pw_nsindex *x, const struct pw_labels *l, uint32_t ns)
{
	for (size_t i = 0; i < l->n; i++) {
		struct pw_ns_post *p = PW_PUSH(x->v, x->n, x->cap);

		if (!p)
			return -ENOMEM;
		p->key = l->v[i].key;
		p->value = l->v[i].value;
		p->ns = ns;
	}
	return 0;
}

static int post_cmp(const void *a, const void *b)
{
	const struct pw_ns_post *x = a, *y = b;
	int d = strcmp(x->key, y->key);

	return d ? d : strcmp(x->value, y->value);
}

void pw_nsindex_sort(struct pw_nsindex *x)
{
	if (x->n > 1)
		qsort(x->v, x->n, sizeof(*x->v), post_cmp);
}

void pw_nsindex_clear(struct pw_nsindex *x)
{
	free(x->v);
	memset(x, 0, sizeof(*x));
}

/* The postings of key=value: [*lo, return value). */
static size_t post_range(const struct pw_nsindex *x, const char *key,
			 const char *value, size_t *lo)
{
	struct pw_ns_post want = { .key = key, .value = value };
	size_t a = 0, b = x->n, end;

	while (a < b) {
		size_t mid = a + (b - a) / 2;

		if (post_cmp(&x->v[mid], &want) < 0)
			a = mid + 1;
		else
			b = mid;
	}
	for (end = a; end < x->n && !post_cmp(&x->v[end], &want); end++)
		;
	*lo = a;
	return end;
}

/*
 * The narrowest positive term of a selector as a list of label pairs: a
 * matchLabels entry (*ml) or an In requirement (*req). Returns the
 * number of candidate namespaces, or SIZE_MAX when the selector has no
 * positive term.
 */
static size_t best_term(const struct pw_nsindex *x, const struct pw_selector *s,
			const struct pw_sel_req **req, size_t *ml)
{
	size_t best = SIZE_MAX, lo, hi;

	for (size_t i = 0; i < s->match_labels.n; i++) {
		hi = post_range(x, s->match_labels.v[i].key,
				s->match_labels.v[i].value, &lo);
		if (hi - lo < best) {
			best = hi - lo;
			*ml = i;
			*req = NULL;
		}
	}
	for (size_t i = 0; i < s->nreqs; i++) {
		size_t n = 0;

		if (s->reqs[i].op != PW_SEL_IN)
			continue;
		for (size_t j = 0; j < s->reqs[i].nvalues; j++) {
			hi = post_range(x, s->reqs[i].key, s->reqs[i].values[j],
					&lo);
			n += hi - lo;
		}
		if (n < best) {
			best = n;
			*req = &s->reqs[i];
		}
	}
	return best;
}

static void each_posted(const struct pw_nsindex *x, const char *key,
			const char *value, void (*fn)(void *ctx, uint32_t ns),
			void *ctx)
{
	size_t lo, hi = post_range(x, key, value, &lo);

	for (size_t i = lo; i < hi; i++)
		fn(ctx, x->v[i].ns);
}

bool pw_nsindex_each(const struct pw_nsindex *x, const struct pw_selector *s,
		     void (*fn)(void *ctx, uint32_t ns), void *ctx)
{
	const struct pw_sel_req *req = NULL;
	size_t ml = 0;

	if (best_term(x, s, &req, &ml) == SIZE_MAX)
		return false;
	if (req) /* a namespace has one value per key: no repeats */
		for (size_t j = 0; j < req->nvalues; j++)
			each_posted(x, req->key, req->values[j], fn, ctx);
	else
		each_posted(x, s->match_labels.v[ml].key,
			    s->match_labels.v[ml].value, fn, ctx);
	return true;
}
