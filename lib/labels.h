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

/*
 * The API server's syntax rules for names and labels
 * (k8s.io/apimachinery/pkg/util/validation). Each *_errors function
 * writes up to `max` messages, static strings in the API server's words,
 * into msgs and returns how many problems it found (0: valid).
 */
#define PW_NAME_MAX_ERRS 4

/* Label keys: an optional DNS-1123 subdomain prefix and "/", then a name
 * of at most 63 characters, alphanumerics and '-', '_', '.' inside. */
size_t pw_label_key_errors(const char *key, const char **msgs, size_t max);
/* Label values: at most 63 characters, empty or like a key's name part. */
size_t pw_label_value_errors(const char *v, const char **msgs, size_t max);
/* RFC 1123 subdomain (object names): lower case, at most 253 characters. */
size_t pw_dns_subdomain_errors(const char *s, const char **msgs, size_t max);
/* RFC 1123 label (namespace names): lower case, at most 63 characters. */
size_t pw_dns_label_errors(const char *s, const char **msgs, size_t max);
/* RFC 1035 label (Service names): like an RFC 1123 label, but starting
 * with a letter. */
size_t pw_dns1035_label_errors(const char *s, const char **msgs, size_t max);

/* "In", "NotIn", "Exists", "DoesNotExist"; NULL for PW_SEL_INVALID. */
const char *pw_sel_op_name(enum pw_sel_op op);
/* The operator spelled exactly as the API does; PW_SEL_INVALID otherwise
 * (and for NULL). */
enum pw_sel_op pw_sel_op_parse(const char *s);

#endif
