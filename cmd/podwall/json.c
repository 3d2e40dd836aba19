// SPDX-License-Identifier: Apache-2.0
/* The JSON writer behind every -o json (see json.h). */
#include <inttypes.h>
#include <string.h>

#include "json.h"

void json_init(struct json *w, FILE *f)
{
	memset(w, 0, sizeof(*w));
	w->f = f;
}

void json_inline(struct json *w)
{
	w->inline_next = true;
}

void json_end(struct json *w)
{
	fputc('\n', w->f);
}

/* Length of the valid UTF-8 sequence at s, or 0 when it is not one
 * (overlong forms, surrogates and values past U+10FFFF included). */
static size_t utf8_len(const unsigned char *s)
{
	uint32_t cp;
	size_t n, i;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3;
		cp = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) ||
	    (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

static void write_escape(FILE *f, unsigned char c)
{
	static const char *const short_esc[] = {
		['"'] = "\\\"", ['\\'] = "\\\\", ['\b'] = "\\b", ['\f'] = "\\f",
		['\n'] = "\\n", ['\r'] = "\\r",	 ['\t'] = "\\t",
	};

	if (c < sizeof(short_esc) / sizeof(short_esc[0]) && short_esc[c])
		fputs(short_esc[c], f);
	else
		fprintf(f, "\\u%04x", c);
}

void json_write_string(FILE *f, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n;

	fputc('"', f);
	while (*s) {
		if (*s < 0x20 || *s == '"' || *s == '\\' || *s == 0x7f) {
			write_escape(f, *s++);
			continue;
		}
		n = utf8_len(s);
		if (!n) {
			fputs("\\ufffd", f);
			s++;
			continue;
		}
		fwrite(s, 1, n, f);
		s += n;
	}
	fputc('"', f);
}

static void newline(struct json *w)
{
	fputc('\n', w->f);
	for (unsigned i = 0; i < w->depth; i++)
		fputs("  ", w->f);
}

/* Writes the comma, the separator and the key that precede any value. */
static void begin_value(struct json *w, const char *key)
{
	unsigned d = w->depth;

	if (d) {
		if (w->need_comma[d])
			fputs(w->inlined[d] ? ", " : ",", w->f);
		if (!w->inlined[d])
			newline(w);
		w->need_comma[d] = true;
	}
	if (key) {
		json_write_string(w->f, key);
		fputs(": ", w->f);
	}
}

static void open_level(struct json *w, const char *key, char c)
{
	bool inl = w->inline_next || w->inlined[w->depth];

	begin_value(w, key);
	fputc(c, w->f);
	w->inline_next = false;
	/* Deeper documents than ours are a bug; stay in bounds anyway. */
	if (w->depth + 1 < JSON_MAX_DEPTH)
		w->depth++;
	w->need_comma[w->depth] = false;
	w->inlined[w->depth] = inl;
}

static void close_level(struct json *w, char c)
{
	bool newline_due = w->need_comma[w->depth] && !w->inlined[w->depth];

	if (w->depth)
		w->depth--;
	if (newline_due)
		newline(w);
	fputc(c, w->f);
}

void json_obj_open(struct json *w, const char *key)
{
	open_level(w, key, '{');
}

void json_obj_close(struct json *w)
{
	close_level(w, '}');
}

void json_arr_open(struct json *w, const char *key)
{
	open_level(w, key, '[');
}

void json_arr_close(struct json *w)
{
	close_level(w, ']');
}

void json_str(struct json *w, const char *key, const char *s)
{
	begin_value(w, key);
	json_write_string(w->f, s);
}

void json_int(struct json *w, const char *key, int64_t v)
{
	begin_value(w, key);
	fprintf(w->f, "%" PRId64, v);
}

void json_uint(struct json *w, const char *key, uint64_t v)
{
	begin_value(w, key);
	fprintf(w->f, "%" PRIu64, v);
}

void json_bool(struct json *w, const char *key, bool v)
{
	begin_value(w, key);
	fputs(v ? "true" : "false", w->f);
}

void json_null(struct json *w, const char *key)
{
	begin_value(w, key);
	fputs("null", w->f);
}

void json_index(struct json *w, const char *key, int v)
{
	if (v < 0)
		json_null(w, key);
	else
		json_int(w, key, v);
}
