// SPDX-License-Identifier: Apache-2.0
/*
 * The fast YAML reader (lib/yaml_scan.c) against libyaml: on every input,
 * written or mutated at random, it reads the same trees with the same
 * positions, or it declines and libyaml reads the input; the inputs it
 * must read itself (the manifests people write) it does read.
 */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <podwall/podwall.h>

#include "check.h"
#define TEST_RNG_SEED 0x5ca1ab1e5eedULL
#include "rng.h"
#include "yaml_same.h"

static const struct {
	const char *text;
	bool fast; /* the fast reader must read it itself */
} cases[] = {
	{ "", true },
	{ "# only a comment\n", true },
	{ "a: 1\n", true },
	{ "a: 1", true },
	{ "a:\n", true },
	{ "a:", true },
	{ "a:   # c\nb: x\n", true },
	{ "---\n", true },
	{ "---", true },
	{ "--- # c\na: 1\n---\n---\nb: 2\n", true },
	{ "# c\n---\na:\nb: x\nc:\n  - p\n  -\n  - q: 1\n    r:\n  # x\n"
	  "d:\n- 1\n-\ne:\n---\n---\n",
	  true },
	{ "kind: Pod\nmetadata:\n  name: web\n  labels:\n    app: web\n"
	  "spec:\n  containers:\n  - name: c\n    ports:\n    - containerPort: 80\n"
	  "      protocol: TCP\n",
	  true },
	{ "spec:\n  podSelector: {}\n  ingress:\n  - {}\n  egress: []\n",
	  true },
	{ "a: 'x y'\nb: \"z\"\n'c': 1\n\"d\": 2\n", true },
	{ "- - a\n  - b\n- - - c\n", true },
	{ "-\n  a: 1\n-\n  - x\n", true },
	{ "  a: 1\n  b: 2\n", true },
	{ "a:\n    b: 1\n    c:\n      - d\n", true },
	{ "a: b # c\n", true },
	{ "a: b#c\n", true },
	{ "a: http://x:80/y\n", true },
	{ "a: [b]\n", false }, /* a flow sequence */
	{ "a  : 1\n", true },
	{ "a: 1  \n", true },
	{ "x\n", true },
	{ "\n\n  \n# x\n  # y\na: 1\n\n", true },
	{ "a: 1\nb: 1\na: 2\n", false }, /* duplicate: libyaml's to report */
	{ "a: b: c\n", false },
	{ "a: b\n  c\n", false },
	{ "a: b # x\n  c\n", false },
	{ "a:\n  b: 1\n c: 2\n", false },
	{ "a: |\n  x\n", false },
	{ "a: &x 1\nb: *x\n", false },
	{ "a: !!str 1\n", false },
	{ "a:\t1\n", false },
	{ "a: 'it''s'\n", false },
	{ "a: \"x\\ty\"\n", false },
	{ "a: \"x\n  y\"\n", false },
	{ "{\"a\": 1}\n", false },
	{ "a: {b: 1}\n", false },
	{ "...\n", false },
	{ "%YAML 1.1\n---\na: 1\n", false },
	{ "a: 1\r\nb: 2\r\n", false },
	{ "a: caf\xc3\xa9\n", false },
	{ "abcdefgh: caf\xc3\xa9\n", false },
	{ "abcdefgh: 1234567\x7f\n", false },
	{ "abcdefgh: 1234567\x01\n", false },
	{ "abcdefgh: 12345678\n\n\n\n\n\n\n\nb: ~\n", true },
	{ "- a\nb: 1\n", false },
	{ "a:\n- 1\n - 2\n", false },
	{ "a: 1\n- 2\n", false },
	{ "? a\n: 1\n", false },
	{ "a: -1\n", false },
	{ "a: 'x' y\n", false },
	{ "a: {}: 1\n", false },
	{ "--- a: 1\n", false },
	{ "a: 1\n...\n", false },
};

static void test_cases(void)
{
	bool fast;

	for (size_t i = 0; i < PW_ARRAY_SIZE(cases); i++) {
		const char *t = cases[i].text;

		CHECK(readers_agree(t, strlen(t), PW_YAML_AUTO, &fast),
		      "case %zu: auto differs from libyaml", i);
		CHECK(readers_agree(t, strlen(t), PW_YAML_FAST, &fast),
		      "case %zu: fast differs from libyaml", i);
		CHECK(fast == cases[i].fast, "case %zu: fast reader %s it", i,
		      fast ? "read" : "declined");
		CHECK(loads_agree(t, strlen(t)), "case %zu: loading differs",
		      i);
	}
	/* a NULL buffer is an empty input, as libyaml reads it */
	CHECK(readers_agree(NULL, 0, PW_YAML_AUTO, &fast), "NULL differs");
	CHECK(loads_agree(NULL, 0), "loading NULL differs");
}

/* Every byte value, in the word-at-a-time check and in its tail: the
 * fast reader takes printable ASCII and newlines only. */
static void test_bytes(void)
{
	char t[] = "abcdefgh: 12345678X\n";
	size_t at[] = { 3, 18 };
	bool fast;

	for (size_t k = 0; k < PW_ARRAY_SIZE(at); k++) {
		for (unsigned b = 0; b < 256; b++) {
			char u[sizeof(t)];
			bool ok = (b >= 0x20 && b < 0x7f) || b == '\n';

			memcpy(u, t, sizeof(t));
			u[at[k]] = (char)b;
			CHECK(readers_agree(u, sizeof(t) - 1, PW_YAML_FAST,
					    &fast),
			      "byte 0x%02x at %zu: fast differs", b, at[k]);
			CHECK(ok || !fast, "byte 0x%02x at %zu: read", b,
			      at[k]);
		}
	}
}

/* ---- files and their mutations ---------------------------------------- */

struct text {
	char *buf;
	size_t len;
};

static struct text files[512];
static size_t nfiles;

static int add_file(const char *path, const struct stat *st, int type,
		    struct FTW *ftw)
{
	size_t n = strlen(path);
	FILE *f;

	if (type != FTW_F || nfiles == PW_ARRAY_SIZE(files) ||
	    !((n > 5 && !strcmp(path + n - 5, ".yaml")) ||
	      (n > 5 && !strcmp(path + n - 5, ".json"))) ||
	    st->st_size > (1 << 20))
		return 0;
	f = fopen(path, "rb");
	if (!f)
		return 0;
	files[nfiles].buf = malloc((size_t)st->st_size + 1);
	if (files[nfiles].buf) {
		files[nfiles].len =
			fread(files[nfiles].buf, 1, (size_t)st->st_size, f);
		nfiles++;
	}
	fclose(f);
	return 0;
}

static void test_files(void)
{
	size_t nfast = 0;
	bool fast;

	nftw("examples", add_file, 16, FTW_PHYS);
	nftw("tests/data", add_file, 16, FTW_PHYS);
	nftw("tests/golden", add_file, 16, FTW_PHYS);
	CHECK(nfiles >= 20, "only %zu manifests found (run from the top)",
	      nfiles);
	for (size_t i = 0; i < nfiles; i++) {
		CHECK(readers_agree(files[i].buf, files[i].len, PW_YAML_FAST,
				    &fast),
		      "file %zu: fast differs from libyaml", i);
		CHECK(loads_agree(files[i].buf, files[i].len),
		      "file %zu: loading differs from libyaml's", i);
		nfast += fast;
	}
	/* most manifests are plain block YAML */
	CHECK(nfast * 2 > nfiles, "the fast reader read %zu of %zu files",
	      nfast, nfiles);
}

/* The bytes that change how YAML reads. */
static const char alphabet[] = " \n\n  --::#'\"{}[]ab|&*!.\t0";

/* One to four edits (insert, delete, replace) of a copy of t. */
static size_t mutate(const struct text *t, char *out, size_t cap)
{
	size_t len = t->len < cap - 8 ? t->len : cap - 8;
	unsigned edits = 1 + pick(4);

	memcpy(out, t->buf, len);
	for (unsigned e = 0; e < edits && len; e++) {
		size_t at = pick((unsigned)len);
		char c = alphabet[pick(sizeof(alphabet) - 1)];

		switch (pick(3)) {
		case 0:
			memmove(out + at + 1, out + at, len - at);
			out[at] = c;
			len++;
			break;
		case 1:
			memmove(out + at, out + at + 1, len - at - 1);
			len--;
			break;
		default:
			out[at] = c;
		}
	}
	return len;
}

static void test_mutations(void)
{
	static char buf[8192];
	size_t bad = 0, nfast = 0, runs = 0, len;
	struct text t;
	bool fast;

	for (size_t i = 0; i < PW_ARRAY_SIZE(cases) + nfiles; i++) {
		t.buf = (char *)(i < PW_ARRAY_SIZE(cases) ?
					 cases[i].text :
					 files[i - PW_ARRAY_SIZE(cases)].buf);
		t.len = i < PW_ARRAY_SIZE(cases) ?
				strlen(cases[i].text) :
				files[i - PW_ARRAY_SIZE(cases)].len;
		if (t.len > sizeof(buf) / 2)
			continue;
		for (int k = 0; k < 300; k++, runs++) {
			len = mutate(&t, buf, sizeof(buf));
			if ((!readers_agree(buf, len,
					    k & 1 ? PW_YAML_FAST : PW_YAML_AUTO,
					    &fast) ||
			     (k % 10 == 0 && !loads_agree(buf, len))) &&
			    !bad++)
				printf("first difference:\n%.*s\n---- end\n",
				       (int)len, buf);
			nfast += fast;
		}
	}
	CHECK(!bad, "%zu of %zu mutated inputs read differently", bad, runs);
	CHECK(nfast * 10 > runs / 2, "the fast reader read %zu of %zu", nfast,
	      runs / 2);
}

int main(void)
{
	test_cases();
	test_bytes();
	test_files();
	test_mutations();
	for (size_t i = 0; i < nfiles; i++)
		free(files[i].buf);
	return check_done("yaml_fast");
}
