// SPDX-License-Identifier: Apache-2.0
/*
 * Reading a flow-log line back (pw_flow_parse). The line is one flat JSON
 * object; a small reader of our own keeps the library free of a JSON
 * dependency and gives every error the column where it is. Known fields
 * are strict (type, range, no duplicates, none missing); unknown ones are
 * skipped whatever they hold, so a newer writer's extra fields do not
 * break an older reader.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "flow_impl.h"
#include "util.h"

/* Unknown fields may nest; deeper than this is not a flow line. */
#define SKIP_DEPTH 32

struct rd {
	const char *s;
	size_t n, i;
	struct pw_pos pos;
	struct pw_diags *d;
	const char *field; /* the path of an error */
	bool failed, nomem;
};

static bool fail(struct rd *r, const char *msg)
{
	if (r->failed)
		return false;
	r->failed = true;
	r->pos.col = (uint32_t)(r->i < UINT32_MAX - 1 ? r->i + 1 : UINT32_MAX);
	if (pw_diags_add(r->d, PW_SEV_ERROR, &r->pos, r->field, "%s", msg))
		r->nomem = true;
	return false;
}

static void ws(struct rd *r)
{
	while (r->i < r->n && strchr(" \t\r\n", r->s[r->i]) && r->s[r->i])
		r->i++;
}

static int peek(struct rd *r)
{
	ws(r);
	return r->i < r->n ? (unsigned char)r->s[r->i] : -1;
}

static bool expect(struct rd *r, char c, const char *msg)
{
	if (peek(r) != c)
		return fail(r, msg);
	r->i++;
	return true;
}

static bool literal(struct rd *r, const char *word)
{
	size_t n = strlen(word);

	if (r->n - r->i < n || memcmp(r->s + r->i, word, n))
		return false;
	r->i += n;
	return true;
}

static int hex4(const char *p)
{
	int v = 0;

	for (int k = 0; k < 4; k++) {
		char c = p[k];
		int x = c >= '0' && c <= '9' ? c - '0' :
			c >= 'a' && c <= 'f' ? c - 'a' + 10 :
			c >= 'A' && c <= 'F' ? c - 'A' + 10 :
					       -1;

		if (x < 0)
			return -1;
		v = v * 16 + x;
	}
	return v;
}

static size_t utf8(char *out, unsigned cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* \uXXXX, with a surrogate pair when there is one; -1 when malformed. */
static long unicode_escape(struct rd *r)
{
	int hi, lo;

	if (r->n - r->i < 5 || (hi = hex4(r->s + r->i + 1)) < 0)
		return -1;
	r->i += 5;
	if (hi < 0xd800 || hi > 0xdfff)
		return hi;
	if (hi > 0xdbff || r->n - r->i < 6 || r->s[r->i] != '\\' ||
	    r->s[r->i + 1] != 'u' || (lo = hex4(r->s + r->i + 2)) < 0xdc00 ||
	    lo > 0xdfff)
		return -1;
	r->i += 6;
	return 0x10000 + ((long)(hi - 0xd800) << 10) + (lo - 0xdc00);
}

/* One escape after the backslash, appended at out; its length or 0. */
static size_t escape(struct rd *r, char *out)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *p;
	long cp;

	if (r->i >= r->n)
		return 0;
	if (r->s[r->i] == 'u') {
		cp = unicode_escape(r);
		return cp > 0 ? utf8(out, (unsigned)cp) : 0; /* no NUL */
	}
	p = r->s[r->i] ? strchr(from, r->s[r->i]) : NULL;
	if (!p)
		return 0;
	r->i++;
	out[0] = to[p - from];
	return 1;
}

/* A string into a malloc'd copy (*out); false after an error. */
static bool string(struct rd *r, char **out)
{
	char *b;
	size_t n = 0;

	if (!expect(r, '"', "expected a string"))
		return false;
	/* Escapes only shrink the text, so the rest of the line is room
	 * enough. */
	b = malloc(r->n - r->i + 1);
	if (!b) {
		r->nomem = true;
		return fail(r, "out of memory");
	}
	while (r->i < r->n && r->s[r->i] != '"') {
		unsigned char c = (unsigned char)r->s[r->i];
		size_t k;

		if (c < 0x20) {
			free(b);
			return fail(r, "control character in a string");
		}
		if (c != '\\') {
			b[n++] = (char)c;
			r->i++;
			continue;
		}
		r->i++;
		k = escape(r, b + n);
		if (!k) {
			free(b);
			return fail(r, "invalid escape in a string");
		}
		n += k;
	}
	if (r->i >= r->n) {
		free(b);
		return fail(r, "unterminated string");
	}
	r->i++;
	b[n] = '\0';
	*out = b;
	return true;
}

/* An integer without fraction or exponent; null gives -1 if allowed. */
static bool integer(struct rd *r, bool nullable, int64_t *out)
{
	size_t start;
	int64_t v = 0;
	bool neg;

	if (peek(r) == 'n' && nullable && literal(r, "null")) {
		*out = -1;
		return true;
	}
	start = r->i;
	neg = r->i < r->n && r->s[r->i] == '-';
	r->i += neg;
	if (r->i >= r->n || r->s[r->i] < '0' || r->s[r->i] > '9' ||
	    (r->s[r->i] == '0' && r->i + 1 < r->n && r->s[r->i + 1] >= '0' &&
	     r->s[r->i + 1] <= '9')) {
		r->i = start;
		return fail(r, nullable ? "expected an integer or null" :
					  "expected an integer");
	}
	while (r->i < r->n && r->s[r->i] >= '0' && r->s[r->i] <= '9') {
		int dgt = r->s[r->i++] - '0';

		if (v > (INT64_MAX - dgt) / 10) {
			r->i = start;
			return fail(r, "integer out of range");
		}
		v = v * 10 + dgt;
	}
	if (r->i < r->n && strchr(".eE", r->s[r->i]) && r->s[r->i]) {
		r->i = start;
		return fail(r, "expected an integer");
	}
	*out = neg ? -v : v;
	return true;
}

/* A number of any JSON shape, for a field we do not know. */
static bool number(struct rd *r)
{
	size_t start = r->i;

	while (r->i < r->n && r->s[r->i] &&
	       strchr("0123456789.eE+-", r->s[r->i]))
		r->i++;
	if (r->i == start)
		return fail(r, "expected a value");
	return true;
}

/* Skips the members or items of an object or array after its opener. */
static bool skip(struct rd *r, int depth);

static bool skip_items(struct rd *r, char close, int depth)
{
	char *s = NULL;

	r->i++;
	if (peek(r) == close) {
		r->i++;
		return true;
	}
	for (;;) {
		if (close == '}') {
			if (!string(r, &s))
				return false;
			free(s);
			s = NULL;
			if (!expect(r, ':', "expected ':'"))
				return false;
		}
		if (!skip(r, depth + 1))
			return false;
		if (peek(r) != ',')
			break;
		r->i++;
	}
	return expect(r, close,
		      close == ']' ? "expected ',' or ']'" :
				     "expected ',' or '}'");
}

/* Skips any JSON value (an unknown field's). */
static bool skip(struct rd *r, int depth)
{
	int c = peek(r);
	char *s = NULL;
	bool ok;

	if (depth > SKIP_DEPTH)
		return fail(r, "nested too deeply");
	if (c == '"') {
		ok = string(r, &s);
		free(s);
		return ok;
	}
	if (c == '[')
		return skip_items(r, ']', depth);
	if (c == '{')
		return skip_items(r, '}', depth);
	if (literal(r, "null") || literal(r, "true") || literal(r, "false"))
		return true;
	return number(r);
}

/* ---- the fields ------------------------------------------------------ */

static int days_from_civil(int y, int m, int d)
{
	int era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static bool digits(const char *s, size_t n, int *out)
{
	int v = 0;

	for (size_t k = 0; k < n; k++) {
		if (s[k] < '0' || s[k] > '9')
			return false;
		v = v * 10 + (s[k] - '0');
	}
	*out = v;
	return true;
}

/* "2026-11-26T06:00:00.123456Z" exactly, as pw_flow_format writes it. */
static bool parse_time(const char *t, int64_t *sec, uint32_t *usec)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30,
				     31, 31, 30, 31, 30, 31 };
	int y, mo, d, h, mi, s, us;
	bool leap;

	if (strlen(t) != 27 || t[4] != '-' || t[7] != '-' || t[10] != 'T' ||
	    t[13] != ':' || t[16] != ':' || t[19] != '.' || t[26] != 'Z')
		return false;
	if (!digits(t, 4, &y) || !digits(t + 5, 2, &mo) ||
	    !digits(t + 8, 2, &d) || !digits(t + 11, 2, &h) ||
	    !digits(t + 14, 2, &mi) || !digits(t + 17, 2, &s) ||
	    !digits(t + 20, 6, &us))
		return false;
	leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
	    (mo == 2 && d == 29 && !leap) || h > 23 || mi > 59 || s > 59)
		return false;
	*sec = (int64_t)days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 +
	       s;
	*usec = (uint32_t)us;
	return true;
}

static bool f_time(struct rd *r, struct pw_flow *f, int arg)
{
	char *s = NULL;
	bool ok;

	if (!string(r, &s))
		return false;
	ok = parse_time(s, &f->sec, &f->usec);
	free(s);
	return ok || fail(r, "expected a time like "
			     "\"2026-11-26T06:00:00.123456Z\"");
}

static bool f_num(struct rd *r, struct pw_flow *f, int arg)
{
	enum pw_flow_num k = (enum pw_flow_num)arg;
	size_t at;
	int64_t v;

	ws(r);
	at = r->i;
	if (!integer(r, flow_num_ok(k, -1), &v))
		return false;
	if (!flow_num_ok(k, v)) {
		r->i = at;
		return fail(r, "integer out of range");
	}
	f->num[k] = v;
	return true;
}

/* Strings that may be null: the policy. Every other is required. */
static bool f_str(struct rd *r, struct pw_flow *f, int arg)
{
	if (arg == PW_FLOW_POLICY && peek(r) == 'n' && literal(r, "null"))
		return true;
	return string(r, &f->str[arg]);
}

static const char *const dir_names[] = { "ingress", "egress" };
static const char *const verdict_names[] = { "allowed", "denied" };
static const char *const proto_names[] = { "TCP", "UDP", "SCTP", "ICMP",
					   "ICMPv6" };
static const struct {
	const char *const *names;
	size_t n;
	size_t off;
	const char *msg;
} enums[] = {
	{ verdict_names, 2, offsetof(struct pw_flow, verdict),
	  "expected \"allowed\" or \"denied\"" },
	{ dir_names, 2, offsetof(struct pw_flow, dir),
	  "expected \"ingress\" or \"egress\"" },
	{ proto_names, 5, offsetof(struct pw_flow, proto),
	  "expected \"TCP\", \"UDP\", \"SCTP\", \"ICMP\" or \"ICMPv6\"" },
};

static bool f_enum(struct rd *r, struct pw_flow *f, int arg)
{
	char *s = NULL;
	size_t at;

	ws(r);
	at = r->i;
	if (!string(r, &s))
		return false;
	for (size_t k = 0; k < enums[arg].n; k++) {
		if (!strcmp(s, enums[arg].names[k])) {
			*((uint8_t *)f + enums[arg].off) = (uint8_t)k;
			free(s);
			return true;
		}
	}
	free(s);
	r->i = at;
	return fail(r, enums[arg].msg);
}

static bool f_list(struct rd *r, struct pw_flow *f, int arg)
{
	char *s = NULL;

	if (!expect(r, '[', "expected a list of strings"))
		return false;
	if (peek(r) == ']') {
		r->i++;
		return true;
	}
	for (;;) {
		if (!string(r, &s))
			return false;
		if (pw_grow((void **)&f->pol, &f->cappol, f->npol + 1,
			    sizeof(*f->pol))) {
			free(s);
			r->nomem = true;
			return fail(r, "out of memory");
		}
		f->pol[f->npol++] = s;
		if (peek(r) != ',')
			break;
		r->i++;
	}
	return expect(r, ']', "expected ',' or ']'");
}

/* The fields of spec/cli.md in their order, then our extension. */
static const struct field {
	const char *name;
	bool (*parse)(struct rd *r, struct pw_flow *f, int arg);
	int arg;
	bool optional;
} fields[] = {
	{ "version", f_num, PW_FLOW_VERSION, false },
	{ "time", f_time, 0, false },
	{ "node", f_str, PW_FLOW_NODE, false },
	{ "verdict", f_enum, 0, false },
	{ "direction", f_enum, 1, false },
	{ "src", f_str, PW_FLOW_SRC, false },
	{ "dst", f_str, PW_FLOW_DST, false },
	{ "src_ip", f_str, PW_FLOW_SRC_IP, false },
	{ "dst_ip", f_str, PW_FLOW_DST_IP, false },
	{ "protocol", f_enum, 2, false },
	{ "sport", f_num, PW_FLOW_SPORT, false },
	{ "dport", f_num, PW_FLOW_DPORT, false },
	{ "policy", f_str, PW_FLOW_POLICY, false },
	{ "rule", f_num, PW_FLOW_RULE, false },
	{ "policies", f_list, 0, false },
	{ "count", f_num, PW_FLOW_COUNT, false },
	{ "check", f_str, PW_FLOW_CHECK, true },
};

static const struct field *find_field(const char *name)
{
	for (size_t k = 0; k < PW_ARRAY_SIZE(fields); k++)
		if (!strcmp(fields[k].name, name))
			return &fields[k];
	return NULL;
}

/* One "name": value member. */
static bool member(struct rd *r, struct pw_flow *f, uint32_t *seen)
{
	const struct field *fd;
	char *key = NULL;
	size_t at;
	bool ok;

	ws(r);
	at = r->i;
	if (!string(r, &key))
		return false;
	fd = find_field(key);
	free(key);
	if (!expect(r, ':', "expected ':'"))
		return false;
	if (!fd)
		return skip(r, 0);
	r->field = fd->name;
	if (*seen & 1u << (fd - fields)) {
		r->i = at;
		return fail(r, "duplicate field");
	}
	*seen |= 1u << (fd - fields);
	ok = fd->parse(r, f, fd->arg);
	r->field = NULL;
	return ok;
}

static bool object(struct rd *r, struct pw_flow *f)
{
	uint32_t seen = 0;

	if (!expect(r, '{', "expected a JSON object"))
		return false;
	if (peek(r) == '}') {
		r->i++;
	} else {
		do {
			if (!member(r, f, &seen))
				return false;
		} while (peek(r) == ',' && ++r->i);
		if (!expect(r, '}', "expected ',' or '}'"))
			return false;
	}
	if (peek(r) != -1)
		return fail(r, "text after the object");
	for (size_t k = 0; k < PW_ARRAY_SIZE(fields); k++) {
		if (!fields[k].optional && !(seen & 1u << k)) {
			r->field = fields[k].name;
			return fail(r, "missing field");
		}
	}
	return true;
}

PW_EXPORT struct pw_flow *pw_flow_parse(const char *text, size_t len,
					const char *file, unsigned line,
					struct pw_diags *d)
{
	struct rd r = { .s = text, .n = len, .d = d };
	struct pw_flow *f = pw_flow_new();

	if (!f)
		return NULL;
	r.pos.file = file ? file : "";
	r.pos.line = line;
	r.i = strnlen(text, len);
	if (r.i < len) {
		fail(&r, "NUL byte in the line");
	} else {
		r.i = 0;
		if (object(&r, f))
			return f;
	}
	pw_flow_free(f);
	errno = r.nomem ? ENOMEM : EINVAL;
	return NULL;
}
