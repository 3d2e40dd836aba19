/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A small streaming JSON writer: every command prints its JSON through it,
 * so escaping and commas are handled in one place.
 *
 * Calls nest like the document: json_obj_open(w, "key") inside an object,
 * json_obj_open(w, NULL) inside an array or at the top. The writer keeps
 * track of whether a comma is due and indents two spaces per level.
 * Strings are escaped for JSON and bytes that are not valid UTF-8 become
 * U+FFFD, since manifest strings can hold anything.
 */
#ifndef PODWALL_CMD_JSON_H
#define PODWALL_CMD_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 32

struct json {
	FILE *f;
	unsigned depth;
	bool need_comma[JSON_MAX_DEPTH];
	/* Levels written on one line ({"a": 1, "b": 2}). */
	bool inlined[JSON_MAX_DEPTH];
	bool inline_next;
};

/* Starts a document on f. */
void json_init(struct json *w, FILE *f);
/* Writes the next object or array opened, and all it holds, on one line
 * (for the innermost levels of big documents such as the matrix). */
void json_inline(struct json *w);
/* Ends the document with a newline. */
void json_end(struct json *w);

void json_obj_open(struct json *w, const char *key);
void json_obj_close(struct json *w);
void json_arr_open(struct json *w, const char *key);
void json_arr_close(struct json *w);

void json_str(struct json *w, const char *key, const char *s);
void json_int(struct json *w, const char *key, int64_t v);
void json_uint(struct json *w, const char *key, uint64_t v);
void json_bool(struct json *w, const char *key, bool v);
void json_null(struct json *w, const char *key);
/* An index that is null when negative. */
void json_index(struct json *w, const char *key, int v);

/* Writes s as a JSON string literal, quotes included. */
void json_write_string(FILE *f, const char *s);

#endif
