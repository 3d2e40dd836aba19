/* SPDX-License-Identifier: Apache-2.0 */
/* Label sets, label selectors, and the label syntax rules. */
#ifndef PW_LABELS_H
#define PW_LABELS_H

#include <stdbool.h>
#include <stddef.h>
#include "model.h"

/* The label the API server puts on every namespace. */
#define PW_NS_NAME_LABEL "kubernetes.io/metadata.name"

/* The value of key, or NULL. l must be sorted. */
const char *pw_labels_get(const struct pw_labels *l, const char *key);
/* Sets key to value (copies both), keeping l sorted. 0 or -ENOMEM. */
int pw_labels_set(struct pw_labels *l, const char *key, const char *value);
/* Sorts l by key (after a decoder appended in document order). */
void pw_labels_sort(struct pw_labels *l);

/* Whether s selects a set of labels l. An empty selector matches all. */
bool pw_selector_matches(const struct pw_selector *s,
			 const struct pw_labels *l);
bool pw_selector_is_empty(const struct pw_selector *s);
/* Hash and equality of the canonical form (order of matchLabels,
 * requirements and values does not matter), to share work between
 * policies that use the same selector. */
uint64_t pw_selector_hash(const struct pw_selector *s);
bool pw_selector_equal(const struct pw_selector *a,
		       const struct pw_selector *b);

/*
 * Parses kubectl's selector syntax ("app=web,tier in (a,b),!legacy,x!=y")
 * into *out (which the caller clears with pw_selector_clear). 0 or -EINVAL
 * with a message in err.
 */
int pw_selector_parse(const char *s, struct pw_selector *out, char *err,
		      size_t errlen);

#endif
