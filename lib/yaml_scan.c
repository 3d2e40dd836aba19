// SPDX-License-Identifier: Apache-2.0
/*
 * The fast reader of yaml_scan.h: block YAML as manifests are written.
 *
 * What it reads: printable ASCII and newlines only (so a column is a byte
 * offset, as libyaml's character count would be), comments, "---" lines
 * between documents, block mappings and sequences (compact ones too, and
 * a sequence at its key's own indentation), one-line plain scalars, quoted
 * scalars without escapes, and the empty flow collections {} and [].
 * Anything else (tabs, anchors, tags, block and multi-line scalars, flow
 * collections with content, "...", directives, any error) is -EAGAIN.
 *
 * It reads by lines: each block function returns with the cursor on the
 * first character of the next line that holds content, whose column
 * (s->ind) tells the enclosing blocks whether they go on; a "---" line
 * or the end of the input has no column (-1) and closes them all.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "yaml_scan.h"

/* libyaml's limit on the length of an implicit key is 1024 characters;
 * well under it, nothing can differ. */
#define MAX_KEY 1000

struct scan {
	const char *p; /* the next byte */
	const char *bol; /* the start of p's line */
	const char *end;
	uint32_t line; /* of p, 0-based */
	int ind; /* column of the current content line; -1: none */
	unsigned depth; /* of open blocks */
	pw_yev_fn fn;
	void *ctx;
};

/* A scalar (or an empty flow collection) read from one line. */
struct tok {
	const char *text;
	size_t len;
	uint32_t line, col;
	enum pw_scalar_style style;
	char flow; /* '{' or '[' for {} or []; 0 for a scalar */
	bool key; /* followed by ": " or ":" at the end of the line */
};

static uint32_t col_of(const struct scan *s)
{
	return (uint32_t)(s->p - s->bol);
}

static bool at_eol(const struct scan *s, const char *q)
{
	return q == s->end || *q == '\n';
}

static bool blank_after(const struct scan *s, const char *q)
{
	return q == s->end || *q == ' ' || *q == '\n';
}

static bool is_dash(const struct scan *s)
{
	return *s->p == '-' && blank_after(s, s->p + 1);
}

static int emit(struct scan *s, enum pw_yev_type type, uint32_t line,
		uint32_t col)
{
	struct pw_yev ev = { .type = type, .line = line, .col = col };

	return s->fn(s->ctx, &ev);
}

static int emit_scalar(struct scan *s, const char *text, size_t len,
		       enum pw_scalar_style style, uint32_t line, uint32_t col)
{
	struct pw_yev ev = { .type = PW_YEV_SCALAR,
			     .line = line,
			     .col = col,
			     .text = text,
			     .len = len,
			     .style = style };

	return s->fn(s->ctx, &ev);
}

/* ---- lines -------------------------------------------------------- */

#define ONES 0x0101010101010101ULL
#define HIGH (ONES * 0x80)

/* Bit 7 set in each byte of w that is not 0 (no carry crosses bytes). */
static uint64_t nonzero_bytes(uint64_t w)
{
	return (((w & ~HIGH) + ~HIGH) | w) & HIGH;
}

/* Bit 7 set in each byte of w that is not printable ASCII or '\n'. */
static uint64_t bad_bytes(uint64_t w)
{
	uint64_t ge20 = ((w & ~HIGH) + ONES * 0x60) & HIGH;
	uint64_t not_nl = nonzero_bytes(w ^ (ONES * '\n'));
	uint64_t not_del = nonzero_bytes(w ^ (ONES * 0x7f));

	return (w | (~ge20 & not_nl) | ~not_del) & HIGH;
}

/* Whether every byte is one the fast reader handles: libyaml checks the
 * encoding and counts characters, and we would rather not. Eight bytes
 * at a time: this reads the whole input once more. */
static bool plain_ascii(const char *buf, size_t len)
{
	uint64_t bad = 0, w;
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		memcpy(&w, buf + i, 8);
		bad |= bad_bytes(w);
	}
	w = 0x2020202020202020ULL; /* spaces, which are fine */
	memcpy(&w, buf + i, len - i);
	return !(bad | bad_bytes(w));
}

/* From the start of a line, moves to the first line that holds content
 * and sets s->ind. */
static int skip_to_content(struct scan *s)
{
	const char *q;

	for (;;) {
		s->bol = s->p;
		while (s->p < s->end && *s->p == ' ')
			s->p++;
		if (s->p == s->end) {
			s->ind = -1;
			return 0;
		}
		if (*s->p == '#') {
			q = memchr(s->p, '\n', (size_t)(s->end - s->p));
			s->p = q ? q : s->end;
		}
		if (s->p < s->end && *s->p != '\n')
			break;
		if (s->p == s->end) {
			s->ind = -1;
			return 0;
		}
		s->p++;
		s->line++;
	}
	s->ind = (int)col_of(s);
	if (s->ind || s->end - s->p < 3 || !blank_after(s, s->p + 3))
		return 0;
	if (!memcmp(s->p, "---", 3))
		s->ind = -1;
	else if (!memcmp(s->p, "...", 3))
		return -EAGAIN;
	return 0;
}

/* Past the '\n' the cursor is on (if any), to the next content line. */
static int next_content(struct scan *s)
{
	if (s->p < s->end) {
		s->p++;
		s->line++;
	}
	return skip_to_content(s);
}

/* The rest of the line must be blank or a comment; then on to the next
 * content line. */
static int end_line(struct scan *s)
{
	const char *q;

	while (s->p < s->end && *s->p == ' ')
		s->p++;
	if (s->p < s->end && *s->p == '#' && s->p[-1] == ' ') {
		q = memchr(s->p, '\n', (size_t)(s->end - s->p));
		s->p = q ? q : s->end;
	}
	if (!at_eol(s, s->p))
		return -EAGAIN;
	return next_content(s);
}

/* ---- scalars ------------------------------------------------------ */

/* Characters a plain scalar cannot start with (some can, in YAML, when a
 * non-space follows: we leave those to libyaml). */
static bool plain_start(char c)
{
	static const char no[] = "-?:,[]{}#&*!|>'\"%@` ";

	/* every character is printable ASCII here: most are letters */
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return true;
	return !memchr(no, c, sizeof(no) - 1);
}

/* A quoted scalar on one line without escapes; q is past it. */
static int scan_quoted(struct scan *s, struct tok *t, const char **q)
{
	char quote = *s->p;
	const char *e = s->p + 1;

	while (e < s->end && *e != quote && *e != '\n' && *e != '\\')
		e++;
	if (e == s->end || *e != quote)
		return -EAGAIN;
	/* '' is an escaped quote in single quotes */
	if (e + 1 < s->end && e[1] == quote)
		return -EAGAIN;
	t->text = s->p + 1;
	t->len = (size_t)(e - t->text);
	t->style = PW_SCALAR_QUOTED;
	*q = e + 1;
	return 0;
}

/* A plain scalar ends at ": ", at " #" and at the end of the line; its
 * trailing spaces are not part of it. */
static void scan_plain(struct scan *s, struct tok *t, const char **q)
{
	const char *e = s->p;

	for (; e < s->end && *e != '\n'; e++) {
		if (*e == ':' && blank_after(s, e + 1))
			break;
		if (*e == '#' && e[-1] == ' ')
			break;
	}
	*q = e;
	while (e > s->p && e[-1] == ' ')
		e--;
	t->text = s->p;
	t->len = (size_t)(e - s->p);
	t->style = PW_SCALAR_PLAIN;
}

/* Reads the scalar (or {} or []) at s->p, and the ':' after it if it is
 * a key. */
static int scan_tok(struct scan *s, struct tok *t)
{
	const char *q;
	char c = *s->p;
	int ret;

	memset(t, 0, sizeof(*t));
	t->line = s->line;
	t->col = col_of(s);
	if ((c == '{' || c == '[') && s->p + 1 < s->end &&
	    s->p[1] == (c == '{' ? '}' : ']')) {
		t->flow = c;
		q = s->p + 2;
	} else if (c == '\'' || c == '"') {
		if ((ret = scan_quoted(s, t, &q)))
			return ret;
	} else if (plain_start(c)) {
		scan_plain(s, t, &q);
	} else {
		return -EAGAIN;
	}
	t->key = q < s->end && *q == ':' && blank_after(s, q + 1);
	if (t->key && (t->flow || q - s->p > MAX_KEY))
		return -EAGAIN;
	s->p = t->key ? q + 1 : q;
	return 0;
}

static int emit_tok(struct scan *s, const struct tok *t)
{
	int ret;

	if (!t->flow)
		return emit_scalar(s, t->text, t->len, t->style, t->line,
				   t->col);
	ret = emit(s, t->flow == '{' ? PW_YEV_MAP_START : PW_YEV_SEQ_START,
		   t->line, t->col);
	return ret ? ret : emit(s, PW_YEV_COLL_END, t->line, t->col);
}

/* ---- blocks ------------------------------------------------------- */

static int parse_node(struct scan *s);
static int parse_seq(struct scan *s, int col, bool indentless);

/*
 * The value after a key's ':' (s->p is past it) in a mapping at column
 * col: on the same line, on the lines below (more indented, or a sequence
 * at col), or none: an empty scalar where the ':' ends, as libyaml has it.
 */
static int parse_value(struct scan *s, int col)
{
	uint32_t line = s->line, at = col_of(s);
	struct tok t;
	int ret;

	while (s->p < s->end && *s->p == ' ')
		s->p++;
	if (at_eol(s, s->p) || *s->p == '#') {
		if ((ret = end_line(s)))
			return ret;
		if (s->ind > col)
			return parse_node(s);
		if (s->ind == col && is_dash(s))
			return parse_seq(s, col, true);
		return emit_scalar(s, "", 0, PW_SCALAR_PLAIN, line, at);
	}
	if (is_dash(s) || (ret = scan_tok(s, &t)))
		return -EAGAIN;
	if (t.key)
		return -EAGAIN; /* a: b: c */
	if ((ret = emit_tok(s, &t)))
		return ret;
	return end_line(s);
}

/* A block mapping at column col whose first key, t, is read. */
static int parse_map(struct scan *s, int col, struct tok *t)
{
	int ret = emit(s, PW_YEV_MAP_START, t->line, t->col);

	while (!ret) {
		if ((ret = emit_tok(s, t)) || (ret = parse_value(s, col)))
			return ret;
		if (s->ind < col)
			break;
		if (s->ind > col || is_dash(s))
			return -EAGAIN;
		if ((ret = scan_tok(s, t)))
			return ret;
		if (!t->key)
			return -EAGAIN;
	}
	return ret ? ret : emit(s, PW_YEV_COLL_END, 0, 0);
}

/* One item of a block sequence at column col; s->p is past its '-'. */
static int parse_item(struct scan *s, int col)
{
	uint32_t line = s->line, at = col_of(s);
	int ret;

	while (s->p < s->end && *s->p == ' ')
		s->p++;
	if (!at_eol(s, s->p) && *s->p != '#')
		return parse_node(s);
	if ((ret = end_line(s)))
		return ret;
	if (s->ind > col)
		return parse_node(s);
	return emit_scalar(s, "", 0, PW_SCALAR_PLAIN, line, at);
}

/* A block sequence whose first '-' is at s->p, column col. An indentless
 * one (a mapping's value at the key's column) ends at a line at col that
 * is not an item: the mapping's next key. */
static int parse_seq(struct scan *s, int col, bool indentless)
{
	int ret = emit(s, PW_YEV_SEQ_START, s->line, (uint32_t)col);

	while (!ret) {
		s->p++;
		if ((ret = parse_item(s, col)))
			return ret;
		if (s->ind < col ||
		    (s->ind == col && !is_dash(s) && indentless))
			break;
		if (s->ind > col || !is_dash(s))
			return -EAGAIN;
	}
	return ret ? ret : emit(s, PW_YEV_COLL_END, 0, 0);
}

/* The node at s->p: a sequence, a mapping or a one-line scalar. */
static int parse_node(struct scan *s)
{
	int col = (int)col_of(s);
	struct tok t;
	int ret;

	if (++s->depth > PW_YAML_MAX_DEPTH)
		return -EAGAIN; /* libyaml's reading reports it */
	if (is_dash(s)) {
		ret = parse_seq(s, col, false);
	} else if (!(ret = scan_tok(s, &t))) {
		if (t.key)
			ret = parse_map(s, col, &t);
		else if (!(ret = emit_tok(s, &t)))
			ret = end_line(s);
	}
	s->depth--;
	return ret;
}

/* ---- documents ---------------------------------------------------- */

/* Where libyaml puts the end of the stream: a last line without a '\n'
 * counts as ended. */
static uint32_t end_line_no(const struct scan *s)
{
	return s->line + (s->bol < s->end ? 1 : 0);
}

/* A document after its "---" line (s->p is on it), or the implicit first
 * one (explicit false). An empty document holds an empty scalar placed
 * where the next token starts. */
static int parse_doc(struct scan *s, bool explicit)
{
	int ret = emit(s, PW_YEV_DOC_START, s->line, 0);

	if (!ret && explicit) {
		s->p += 3;
		ret = end_line(s);
	}
	if (ret)
		return ret;
	if (s->ind >= 0)
		ret = parse_node(s);
	else if (s->p == s->end)
		ret = emit_scalar(s, "", 0, PW_SCALAR_PLAIN, end_line_no(s), 0);
	else
		ret = emit_scalar(s, "", 0, PW_SCALAR_PLAIN, s->line, 0);
	if (!ret && s->ind >= 0)
		return -EAGAIN; /* something after the root node */
	return ret ? ret : emit(s, PW_YEV_DOC_END, s->line, 0);
}

int pw_yaml_scan(const char *buf, size_t len, pw_yev_fn fn, void *ctx)
{
	struct scan s = { .p = buf, .fn = fn, .ctx = ctx };
	int ret;

	/* NULL is libyaml's to read as empty */
	if (!buf || !plain_ascii(buf, len))
		return -EAGAIN;
	s.end = buf + len;
	if ((ret = skip_to_content(&s)))
		return ret;
	if (s.ind >= 0 && (ret = parse_doc(&s, false)))
		return ret;
	while (!ret && s.p < s.end)
		ret = parse_doc(&s, true);
	return ret;
}
