// SPDX-License-Identifier: Apache-2.0
/* The YAML layer: scalar resolution, positions, limits, hostile input. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "yaml.h"

static struct pw_diags *diags;

static int parse(const char *text, size_t len, struct pw_yaml **y)
{
	pw_diags_free(diags);
	diags = pw_diags_new();
	return pw_yaml_parse("t.yaml", text, len, y, diags);
}

static int parse_str(const char *text, struct pw_yaml **y)
{
	return parse(text, strlen(text), y);
}

/* The first diagnostic containing msg, or NULL. */
static const struct pw_diag *find_diag(const char *msg)
{
	for (size_t i = 0; i < pw_diags_count(diags); i++) {
		const struct pw_diag *r = pw_diags_get(diags, i);

		if (strstr(pw_diag_message(r), msg))
			return r;
	}
	return NULL;
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* ---- scalars ------------------------------------------------------ */

static const struct {
	const char *text; /* the value of key v */
	const char *kind;
	int64_t ival; /* for "integer" */
	int bval; /* for "boolean" */
} scalars[] = {
	{ "80", "integer", 80, 0 },
	{ "+80", "integer", 80, 0 },
	{ "-80", "integer", -80, 0 },
	{ "0x1F", "integer", 31, 0 },
	{ "0o17", "integer", 15, 0 },
	{ "017", "integer", 15, 0 },
	{ "0b101", "integer", 5, 0 },
	{ "1_000", "integer", 1000, 0 },
	{ "0", "integer", 0, 0 },
	{ "08", "float", 0, 0 }, /* not octal: go-yaml reads a float */
	{ "1.5", "float", 0, 0 },
	{ ".5", "float", 0, 0 },
	{ "1e3", "float", 0, 0 },
	{ ".inf", "float", 0, 0 },
	{ "-.Inf", "float", 0, 0 },
	{ ".NaN", "float", 0, 0 },
	{ "1e999", "string", 0, 0 }, /* out of range: go-yaml keeps it */
	{ "y", "boolean", 0, 1 },
	{ "Y", "boolean", 0, 1 },
	{ "yes", "boolean", 0, 1 },
	{ "Yes", "boolean", 0, 1 },
	{ "YES", "boolean", 0, 1 },
	{ "on", "boolean", 0, 1 },
	{ "On", "boolean", 0, 1 },
	{ "ON", "boolean", 0, 1 },
	{ "true", "boolean", 0, 1 },
	{ "True", "boolean", 0, 1 },
	{ "TRUE", "boolean", 0, 1 },
	{ "n", "boolean", 0, 0 },
	{ "N", "boolean", 0, 0 },
	{ "no", "boolean", 0, 0 },
	{ "No", "boolean", 0, 0 },
	{ "NO", "boolean", 0, 0 },
	{ "off", "boolean", 0, 0 },
	{ "Off", "boolean", 0, 0 },
	{ "OFF", "boolean", 0, 0 },
	{ "false", "boolean", 0, 0 },
	{ "False", "boolean", 0, 0 },
	{ "FALSE", "boolean", 0, 0 },
	{ "~", "null", 0, 0 },
	{ "null", "null", 0, 0 },
	{ "Null", "null", 0, 0 },
	{ "NULL", "null", 0, 0 },
	{ "", "null", 0, 0 },
	{ "nULL", "string", 0, 0 },
	{ "yES", "string", 0, 0 },
	{ "web", "string", 0, 0 },
	{ "2024-01-01", "string", 0, 0 }, /* timestamps stay strings */
	{ "1.2.3", "string", 0, 0 },
	{ "0x", "string", 0, 0 },
	{ "-x", "string", 0, 0 },
	{ "+", "string", 0, 0 },
	{ "'80'", "string", 0, 0 },
	{ "\"yes\"", "string", 0, 0 },
	{ "\"\"", "string", 0, 0 },
	{ "!!str 80", "string", 0, 0 },
	{ "!!str yes", "string", 0, 0 },
	{ "! 80", "string", 0, 0 },
	{ "!!int \"80\"", "integer", 80, 0 },
	{ "!!bool 'on'", "boolean", 0, 1 },
	{ "!!float 1", "float", 0, 0 },
	{ "|\n  80\n", "string", 0, 0 },
	{ ">\n  yes\n", "string", 0, 0 },
	{ "9223372036854775807", "integer", INT64_MAX, 0 },
	{ "-9223372036854775808", "integer", INT64_MIN, 0 },
};

static void test_scalars(void)
{
	for (size_t i = 0; i < sizeof(scalars) / sizeof(scalars[0]); i++) {
		char text[256];
		struct pw_yaml *y = NULL;
		const struct pw_ynode *v;
		int64_t iv = 0;
		bool bv = false;

		snprintf(text, sizeof(text), "v: %s\n", scalars[i].text);
		CHECK(parse_str(text, &y) == 0, "parse %s", scalars[i].text);
		v = pw_node_get(pw_yaml_doc(y, 0), "v");
		CHECK(v && !strcmp(pw_node_kind_name(v), scalars[i].kind),
		      "%s: got %s, want %s", scalars[i].text,
		      v ? pw_node_kind_name(v) : "nothing", scalars[i].kind);
		if (v && !strcmp(scalars[i].kind, "integer"))
			CHECK(pw_node_as_int(v, &iv) && iv == scalars[i].ival,
			      "%s: int %lld", scalars[i].text, (long long)iv);
		if (v && !strcmp(scalars[i].kind, "boolean"))
			CHECK(pw_node_as_bool(v, &bv) && bv == scalars[i].bval,
			      "%s: bool", scalars[i].text);
		if (v && !strcmp(scalars[i].kind, "string"))
			CHECK(pw_node_is_string(v) && !pw_node_as_int(v, &iv),
			      "%s: string", scalars[i].text);
		pw_yaml_free(y);
	}
}

static void test_int_overflow(void)
{
	struct pw_yaml *y = NULL;
	const struct pw_ynode *v;
	int64_t iv;

	CHECK(parse_str("v: 9223372036854775808\n", &y) == 0, "parse");
	v = pw_node_get(pw_yaml_doc(y, 0), "v");
	CHECK(v && !strcmp(pw_node_kind_name(v), "integer") &&
		      !pw_node_as_int(v, &iv),
	      "a uint64 reads as an integer out of int64 range");
	pw_yaml_free(y);
}

/* ---- tree, positions, documents ----------------------------------- */

static void test_positions(void)
{
	const char *text = "a:\n"
			   "  b: [1, \"two\"]\n"
			   "  c:\n"
			   "  - x: 1\n"
			   "    y: 2\n";
	const struct pw_ynode *root, *b, *c, *y;
	struct pw_yaml *yy = NULL;

	CHECK(parse_str(text, &yy) == 0, "parse");
	root = pw_yaml_doc(yy, 0);
	CHECK(root && root->type == PW_NODE_MAP && root->map.n == 1, "root");
	b = pw_node_get(pw_node_get(root, "a"), "b");
	CHECK(b && b->type == PW_NODE_SEQ && b->seq.n == 2, "b");
	CHECK(b && b->pos.line == 2 && b->pos.col == 6, "b at 2:6, got %u:%u",
	      b ? b->pos.line : 0, b ? b->pos.col : 0);
	CHECK(b && b->seq.items[1]->pos.line == 2 &&
		      b->seq.items[1]->pos.col == 10 &&
		      b->seq.items[1]->scalar.style == PW_SCALAR_QUOTED,
	      "b[1] at 2:10, quoted");
	CHECK(b && !strcmp(b->pos.file, "t.yaml"), "file name");
	c = pw_node_get(pw_node_get(root, "a"), "c");
	y = c && c->type == PW_NODE_SEQ ? pw_node_get(c->seq.items[0], "y") :
					  NULL;
	CHECK(y && y->pos.line == 5 && y->pos.col == 8, "y at 5:8, got %u:%u",
	      y ? y->pos.line : 0, y ? y->pos.col : 0);
	pw_yaml_free(yy);
}

static void test_documents(void)
{
	struct pw_yaml *y = NULL;

	CHECK(parse_str("a: 1\n---\n---\nb: 2\n...\n", &y) == 0, "multi");
	CHECK(pw_yaml_doc_count(y) == 3, "3 documents, got %zu",
	      pw_yaml_doc_count(y));
	CHECK(pw_yaml_doc(y, 0) && pw_yaml_doc(y, 1) == NULL &&
		      pw_yaml_doc(y, 2),
	      "the empty document has no root");
	pw_yaml_free(y);

	CHECK(parse_str("", &y) == 0 && pw_yaml_doc_count(y) == 0, "empty");
	pw_yaml_free(y);
	CHECK(parse_str("# only a comment\n", &y) == 0 &&
		      pw_yaml_doc_count(y) == 0,
	      "comment only");
	pw_yaml_free(y);

	CHECK(parse_str("{\"a\": [1, \"2\", true, null], \"b\": {}}", &y) == 0,
	      "json");
	CHECK(y && pw_node_get(pw_yaml_doc(y, 0), "a")->seq.n == 4, "json a");
	pw_yaml_free(y);
}

/* ---- errors ------------------------------------------------------- */

static const struct {
	const char *name;
	const char *text;
	const char *msg;
	unsigned line, col;
	const char *path; /* NULL: not checked */
} bad[] = {
	{ "unclosed flow", "a: [1, 2\nb: 3\n", "did not find expected", 0, 0,
	  NULL },
	{ "bad indentation", "a:\n  b: 1\n c: 2\n", "did not find expected", 3,
	  2, NULL },
	{ "tab indentation", "a:\n\tb: 1\n", "", 2, 1, NULL },
	{ "duplicate key", "a: 1\nb:\n  c: 1\n  c: 2\n",
	  "duplicate key \"c\" (first at line 3, column 3)", 4, 3, "b.c" },
	{ "duplicate JSON key", "{\"a\": 1, \"a\": 2}", "duplicate key \"a\"",
	  1, 10, "a" },
	{ "duplicate key, quoted and plain", "x: [{a: 1, 'a': 2}]\n",
	  "duplicate key", 1, 12, "x[0].a" },
	{ "duplicate among many keys",
	  "k1: 1\nk2: 1\nk3: 1\nk4: 1\nk5: 1\nk6: 1\nk7: 1\nk8: 1\nk9: 1\n"
	  "k3: 2\n",
	  "duplicate key \"k3\" (first at line 3, column 1)", 10, 1, "k3" },
	{ "merge key", "a: &a {x: 1}\nb:\n  <<: *a\n", "merge keys", 3, 3,
	  NULL },
	{ "unknown anchor", "a: *nope\n", "unknown anchor", 1, 4, NULL },
	{ "self alias", "a: &a [1, *a]\n", "unknown anchor", 1, 11, NULL },
	{ "trailing JSON garbage", "{\"a\": 1} x", "", 1, 0, NULL },
	{ "two JSON documents", "{\"a\": 1}\n{\"b\": 2}\n", "", 2, 0, NULL },
	{ "unknown tag", "a: !foo 1\n", "unsupported tag !foo", 1, 4, NULL },
	{ "bad int tag", "a: !!int abc\n", "cannot read \"abc\" as !!int", 1, 4,
	  NULL },
	{ "map tag on a sequence", "a: !!map [1]\n", "unsupported tag", 1, 4,
	  NULL },
	{ "invalid UTF-8", "a: \xc3\x28\n", "", 0, 0, NULL },
	{ "control character", "a: b\x01\n", "", 0, 0, NULL },
};

static void test_errors(void)
{
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct pw_yaml *y = (struct pw_yaml *)1;
		const struct pw_diag *r;
		int ret = parse_str(bad[i].text, &y);

		CHECK(ret == -EBADMSG && !y, "%s: ret %d", bad[i].name, ret);
		r = find_diag(bad[i].msg);
		CHECK(r && pw_diag_severity(r) == PW_SEV_ERROR,
		      "%s: no error with \"%s\"", bad[i].name, bad[i].msg);
		if (!r)
			continue;
		CHECK(!strcmp(pw_diag_file(r), "t.yaml"), "%s: file",
		      bad[i].name);
		if (bad[i].line)
			CHECK(pw_diag_line(r) == bad[i].line,
			      "%s: line %u, want %u", bad[i].name,
			      pw_diag_line(r), bad[i].line);
		if (bad[i].col)
			CHECK(pw_diag_column(r) == bad[i].col,
			      "%s: column %u, want %u", bad[i].name,
			      pw_diag_column(r), bad[i].col);
		if (bad[i].path)
			CHECK(!strcmp(pw_diag_path(r), bad[i].path),
			      "%s: path \"%s\", want \"%s\"", bad[i].name,
			      pw_diag_path(r), bad[i].path);
	}
}

static void test_all_duplicates_reported(void)
{
	struct pw_yaml *y = NULL;

	CHECK(parse_str("a: 1\na: 2\nb: {c: 1, c: 2}\n", &y) == -EBADMSG,
	      "dups");
	CHECK(pw_diags_error_count(diags) == 2, "both duplicates, got %zu",
	      pw_diags_error_count(diags));
}

/* A flood of duplicates is cut short instead of recorded one by one. */
static void test_error_flood(void)
{
	const size_t n = 50000;
	char *text = malloc(5 * n + 1);
	struct pw_yaml *y = NULL;

	for (size_t i = 0; i < n; i++)
		memcpy(text + 5 * i, "a: 1\n", 5);
	text[5 * n] = '\0';
	CHECK(parse_str(text, &y) == -EBADMSG, "duplicate flood");
	CHECK(pw_diags_error_count(diags) > 10 &&
		      pw_diags_error_count(diags) <= 100,
	      "errors capped: %zu", pw_diags_error_count(diags));
	free(text);
}

static void test_nul_bytes(void)
{
	static const char text[] = "a: b\0c\n";
	struct pw_yaml *y = NULL;

	CHECK(parse(text, sizeof(text) - 1, &y) == -EBADMSG,
	      "a NUL byte is an error");
	CHECK(pw_diags_error_count(diags) == 1, "one error");
}

/* ---- limits ------------------------------------------------------- */

static void test_deep_nesting(void)
{
	const size_t levels = 200000;
	char *text = malloc(2 * levels + 1);
	struct pw_yaml *y = NULL;
	double t0;

	for (size_t i = 0; i < levels; i++) {
		text[i] = '[';
		text[levels + i] = ']';
	}
	text[2 * levels] = '\0';
	t0 = now();
	CHECK(parse_str(text, &y) == -EBADMSG, "200k levels of [");
	CHECK(find_diag("nesting deeper than"), "depth message");
	CHECK(now() - t0 < 2.0, "depth error is quick: %.2fs", now() - t0);

	/* the same in block style: "- - - - ..." */
	for (size_t i = 0; i < levels; i++) {
		text[2 * i] = '-';
		text[2 * i + 1] = ' ';
	}
	text[2 * levels - 1] = '1';
	t0 = now();
	CHECK(parse_str(text, &y) == -EBADMSG, "200k block levels");
	CHECK(now() - t0 < 2.0, "quick: %.2fs", now() - t0);
	free(text);

	/* just under the limit is fine */
	text = malloc(2 * PW_YAML_MAX_DEPTH + 1);
	for (size_t i = 0; i < PW_YAML_MAX_DEPTH; i++) {
		text[i] = '[';
		text[PW_YAML_MAX_DEPTH + i] = ']';
	}
	text[2 * PW_YAML_MAX_DEPTH] = '\0';
	CHECK(parse_str(text, &y) == 0, "%d levels are fine",
	      PW_YAML_MAX_DEPTH);
	pw_yaml_free(y);
	free(text);
}

/* Aliases must not build a tree deeper than the limit either. */
static void test_deep_aliases(void)
{
	char *text = malloc(64 * 1024), *p = text;
	struct pw_yaml *y = NULL;

	p += sprintf(p, "a0: &a0 [1]\n");
	for (int i = 1; i < 300; i++)
		p += sprintf(p, "a%d: &a%d [*a%d]\n", i, i, i - 1);
	CHECK(parse_str(text, &y) == -EBADMSG, "alias chain depth");
	CHECK(find_diag("through aliases"), "alias depth message");
	free(text);
}

static void test_big_scalar(void)
{
	const size_t n = 8u << 20;
	char *text = malloc(n + 8);
	struct pw_yaml *y = NULL;

	memcpy(text, "a: ", 3);
	memset(text + 3, 'x', n);
	text[n + 3] = '\n';
	CHECK(parse(text, n + 4, &y) == -EBADMSG, "8 MB scalar");
	CHECK(find_diag("exceeds the limit"), "scalar limit message");
	free(text);
}

/* A billion laughs: tiny tree, astronomic expansion; the budget stops
 * whoever walks it. */
static void test_alias_bomb(void)
{
	char text[2048], *p = text;
	struct pw_yaml *y = NULL;
	size_t visits = 0;

	p += sprintf(p, "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\","
			"\"lol\",\"lol\",\"lol\",\"lol\"]\n");
	for (char c = 'b'; c <= 'i'; c++)
		p += sprintf(p,
			     "%c: &%c [*%c,*%c,*%c,*%c,*%c,*%c,*%c,*%c,*%c]\n",
			     c, c, c - 1, c - 1, c - 1, c - 1, c - 1, c - 1,
			     c - 1, c - 1, c - 1);
	CHECK(parse_str(text, &y) == 0, "the bomb parses (aliases shared)");
	while (pw_yaml_doc_charge(y, 0, 1))
		visits++;
	CHECK(visits > 1000 && visits < 100000, "budget %zu visits", visits);
	pw_yaml_free(y);
}

static void test_random_bytes(void)
{
	uint64_t s = 0x9e3779b97f4a7c15ULL;
	char buf[512];
	int ok = 0, failed = 0, other = 0;

	for (int iter = 0; iter < 3000; iter++) {
		struct pw_yaml *y = NULL;
		size_t len = 1 + iter % sizeof(buf);
		int ret;

		for (size_t i = 0; i < len; i++) {
			s ^= s << 13;
			s ^= s >> 7;
			s ^= s << 17;
			/* half the runs use YAML-ish bytes to go deeper */
			buf[i] = iter & 1 ? "ab: -[]{},&*!|>'\"\n#?"[s % 21] :
					    (char)(s >> 24);
		}
		ret = parse(buf, len, &y);
		if (ret == 0)
			ok++;
		else if (ret == -EBADMSG && pw_diags_error_count(diags) > 0)
			failed++;
		else
			other++;
		pw_yaml_free(y);
	}
	CHECK(other == 0, "random bytes: %d unexpected results", other);
	CHECK(failed > 0, "random bytes: some must fail (%d ok)", ok);
}

static void test_input_limit(void)
{
	struct pw_yaml *y = NULL;

	/* the limit is checked before anything is read */
	CHECK(parse("a", (size_t)PW_YAML_MAX_INPUT + 1, &y) == -EBADMSG,
	      "input limit");
	CHECK(find_diag("exceeds the limit"), "input limit message");
}

int main(void)
{
	test_scalars();
	test_int_overflow();
	test_positions();
	test_documents();
	test_errors();
	test_all_duplicates_reported();
	test_nul_bytes();
	test_error_flood();
	test_deep_nesting();
	test_deep_aliases();
	test_big_scalar();
	test_alias_bomb();
	test_random_bytes();
	test_input_limit();
	pw_diags_free(diags);
	return check_done("yaml");
}
