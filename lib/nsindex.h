/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An inverted index of namespace labels (internal): which namespaces
 * carry key=value. A namespaceSelector can only match namespaces that
 * carry one of its positive terms (a matchLabels entry, or one value of
 * an `In` requirement), so its narrowest term gives the few namespaces
 * worth testing instead of all of them. The engine (engine.c) and the
 * incremental compiler (nft_live.c) both match peers this way.
 */
#ifndef PW_NSINDEX_H
#define PW_NSINDEX_H

#include <stddef.h>
#include <stdint.h>
#include "model.h"

/* A namespace label, sorted by (key, value). */
struct pw_ns_post {
	const char *key;
	const char *value;
	uint32_t ns; /* the caller's number for the namespace */
};

struct pw_nsindex {
	struct pw_ns_post *v;
	size_t n, cap;
};

/* Adds namespace ns with labels l (borrowed until the index is cleared);
 * then pw_nsindex_sort before any query. 0 or -ENOMEM. */
int pw_nsindex_add(struct pw_nsindex *x, const struct pw_labels *l,
		   uint32_t ns);
void pw_nsindex_sort(struct pw_nsindex *x);
void pw_nsindex_clear(struct pw_nsindex *x);

/*
 * Calls fn(ctx, ns) for each namespace carrying the narrowest positive
 * term of s (each once), which the caller then matches against the whole
 * selector. Returns false, calling nothing, when s has no positive term:
 * any namespace may match, the caller tests them all.
 */
bool pw_nsindex_each(const struct pw_nsindex *x, const struct pw_selector *s,
		     void (*fn)(void *ctx, uint32_t ns), void *ctx);

#endif
