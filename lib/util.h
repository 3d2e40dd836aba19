/* SPDX-License-Identifier: Apache-2.0 */
/* Small helpers every file of the library uses: allocation, growable
 * arrays, field paths and adding diagnostics. */
#ifndef PW_UTIL_H
#define PW_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <podwall/diag.h>

#define PW_EXPORT __attribute__((visibility("default")))
#define PW_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define PW_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* A position in an input file. file is interned by its owner (the cluster
 * or the diags) and outlives the position. line/col are 1-based, 0 when
 * unknown. */
struct pw_pos {
	const char *file;
	uint32_t line;
	uint32_t col;
};

/*
 * Makes room for `need` elements of size `elem` in *v, whose capacity is
 * *cap, growing geometrically. 0 or -ENOMEM (then *v is unchanged).
 */
int pw_grow(void **v, size_t *cap, size_t need, size_t elem);

/* Appends one zeroed element to the array (*v, *n, *cap); returns a pointer
 * to it, or NULL on ENOMEM. */
void *pw_push(void **v, size_t *n, size_t *cap, size_t elem);
#define PW_PUSH(arr, n, cap)                                     \
	((__typeof__(arr))pw_push((void **)&(arr), &(n), &(cap), \
				  sizeof(*(arr))))

/* strdup / strndup that accept NULL (returning NULL without setting errno). */
char *pw_strdup(const char *s);
char *pw_strndup(const char *s, size_t n);

/*
 * A field path being built while walking an object, e.g.
 * "spec.ingress[0].from[1].ipBlock". push() appends a segment and returns
 * the length to restore with pop(). Segments that start with '[' are not
 * preceded by a dot. Overlong paths are truncated with "...", never
 * overflowed.
 */
struct pw_path {
	char buf[512];
	size_t len;
};
void pw_path_init(struct pw_path *p);
size_t pw_path_push(struct pw_path *p, const char *seg);
size_t pw_path_pushf(struct pw_path *p, const char *fmt, ...) PW_PRINTF(2, 3);
size_t pw_path_index(struct pw_path *p, const char *seg, size_t i);
/* Appends "[i]" (as pw_path_pushf(p, "[%zu]", i) does, without printf:
 * walkers index every item, erroneous or not). */
size_t pw_path_push_index(struct pw_path *p, size_t i);
void pw_path_pop(struct pw_path *p, size_t mark);

/*
 * Adds a record. pos may be NULL (no position); path may be NULL or "".
 * The format string is always a literal of ours: strings from manifests go
 * in only as %s arguments. Returns 0 or -ENOMEM. A NULL diags is allowed
 * and drops the record.
 */
int pw_diags_add(struct pw_diags *d, enum pw_severity sev,
		 const struct pw_pos *pos, const char *path, const char *fmt,
		 ...) PW_PRINTF(5, 6);
int pw_diags_vadd(struct pw_diags *d, enum pw_severity sev,
		  const struct pw_pos *pos, const char *path, const char *fmt,
		  va_list ap) PW_PRINTF(5, 0);

/* 64-bit FNV-1a, for hashing canonical forms. */
uint64_t pw_hash_bytes(uint64_t h, const void *p, size_t n);
#define PW_HASH_INIT 0xcbf29ce484222325ULL

#endif
