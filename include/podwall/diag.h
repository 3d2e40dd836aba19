/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Diagnostics: problems found in user input, as records with positions.
 *
 * The library never prints. Everything it has to say about a manifest
 * (a YAML syntax error, an unknown field, a policy the API server would
 * reject, a host-bits warning) becomes one record here, and the program
 * decides how to show it.
 */
#ifndef PODWALL_DIAG_H
#define PODWALL_DIAG_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

enum pw_severity {
	PW_SEV_ERROR,
	PW_SEV_WARNING,
	PW_SEV_NOTE,
};

struct pw_diag;
struct pw_diags;

/* An empty list; NULL and errno = ENOMEM on failure. */
struct pw_diags *pw_diags_new(void);
/* Frees the list and its records; NULL is a no-op. */
void pw_diags_free(struct pw_diags *d);

size_t pw_diags_count(const struct pw_diags *d);
/* Records of severity PW_SEV_ERROR. */
size_t pw_diags_error_count(const struct pw_diags *d);
/* Borrowed record i, in the order they were added (or sorted). */
const struct pw_diag *pw_diags_get(const struct pw_diags *d, size_t i);
/* Sorts by file, line, column (stable), so output does not depend on
 * the order in which checks ran. */
void pw_diags_sort(struct pw_diags *d);

enum pw_severity pw_diag_severity(const struct pw_diag *r);
/* "error", "warning", "note". */
const char *pw_severity_name(enum pw_severity s);
/* File name as given by the caller ("-" for standard input); never NULL. */
const char *pw_diag_file(const struct pw_diag *r);
/* 1-based; 0 when the problem has no position (e.g. an unreadable file). */
unsigned pw_diag_line(const struct pw_diag *r);
unsigned pw_diag_column(const struct pw_diag *r);
/* Field path such as "spec.ingress[0].from[1].ipBlock.cidr"; "" if none. */
const char *pw_diag_path(const struct pw_diag *r);
const char *pw_diag_message(const struct pw_diag *r);

/*
 * Formats r as "file:line:col: path: message" (parts that are unknown are
 * left out) into buf, always NUL-terminated. Returns the length the full
 * text needs, like snprintf.
 */
int pw_diag_format(const struct pw_diag *r, char *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif
