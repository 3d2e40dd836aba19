// SPDX-License-Identifier: Apache-2.0
/*
 * podwall assert: checks an expectations file against the manifests and
 * prints the evidence an auditor asks for: what was checked, against which
 * manifests (with their SHA-256), and the result of each expectation with
 * a counterexample when it failed.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <podwall/assert.h>

#include "json.h"
#include "podwall.h"

const char assert_usage[] =
	"usage: podwall assert --expect FILE [-o text|json] [-f PATH]...\n"
	"                      [PATH...]\n"
	"\n"
	"Checks the expectations in FILE (spec/cli.md, \"Expectations file\":\n"
	"deny, allow, only-from, egress-only-to, isolated) against the\n"
	"manifests, exhaustively: every pod a selector matches, every port\n"
	"class (each port where some policy's answer can change, plus one no\n"
	"policy names, for TCP, UDP and SCTP) and, for only-from and\n"
	"egress-only-to, every address class outside the pods (the pieces the\n"
	"cluster's CIDRs cut the address space into) and every node address.\n"
	"An expectation whose selectors match no pod fails: it proves nothing.\n"
	"\n"
	"  --expect FILE       the expectations file ('-' for standard input)\n"
	"  -o, --output FMT    text (default) or json\n"
	"  -f, --file PATH     a manifest, a directory or '-' (repeatable)\n"
	"  -h, --help          this text\n"
	"\n"
	"JSON (lists in file and load order):\n"
	"{\"version\": 1, \"podwall\": \"VERSION\",\n"
	" \"expect\": {\"file\", \"sha256\"},\n"
	" \"inputs\": [{\"file\", \"sha256\"}],     sha256 null for stdin\n"
	" \"expectations\": [{\"name\", \"kind\", \"statement\", \"line\",\n"
	"   \"column\", \"ports\": [\"80/TCP\", ...],\n"
	"   \"result\": \"pass\" | \"fail\", \"note\": \"...\" | null,\n"
	"   \"checked\": {\"sources\", \"destinations\", \"addresses\",\n"
	"                 \"ports\", \"checks\", \"violations\"},\n"
	"   \"counterexample\": {\"from\", \"to\", \"port\", \"allowed\",\n"
	"     \"reason\", \"class\", \"egress\", \"ingress\"} | null}],\n"
	"     (class: the address class an outside address stands for)\n"
	"     (egress and ingress as in \"podwall explain -o json\")\n"
	" \"passed\": N, \"failed\": N}\n"
	"\n"
	"Exit status: 0 every expectation holds, 1 one failed or the manifests\n"
	"hold errors, 2 usage, I/O or parse errors (a bad expectations file\n"
	"is reported with its position).\n";

enum {
	OPT_EXPECT = 1000,
};

/* The expectations file, read once so that it is hashed as parsed. */
struct expect_file {
	const char *path;
	char *buf;
	size_t len;
	char sha[PW_SHA256_HEXLEN];
	struct pw_expect_set *set;
};

/* One manifest file with its hash; sha[0] == 0 when it has none. */
struct input_hash {
	const char *file;
	char sha[PW_SHA256_HEXLEN];
};

struct evidence {
	struct input_hash *v;
	size_t n;
};

static int read_stream(FILE *f, char **out, size_t *len)
{
	size_t cap = 0, n = 0, got;
	char *buf = NULL, *t;

	errno = 0;
	do {
		if (n == cap) {
			cap = cap ? 2 * cap : 65536;
			t = realloc(buf, cap);
			if (!t) {
				free(buf);
				return -ENOMEM;
			}
			buf = t;
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
	} while (got);
	if (ferror(f)) {
		int err = errno ? -errno : -EIO;

		free(buf);
		return err;
	}
	*out = buf;
	*len = n;
	return 0;
}

static int expect_read(const struct cmd *cmd, struct expect_file *x)
{
	bool in = !strcmp(x->path, "-");
	FILE *f = in ? stdin : fopen(x->path, "rb");
	uint8_t digest[PW_SHA256_LEN];
	struct pw_diags *d;
	int err;

	if (!f)
		return cmd_fail(cmd, "%s: %s", x->path, strerror(errno));
	err = read_stream(f, &x->buf, &x->len);
	if (!in)
		fclose(f);
	if (err)
		return cmd_fail(cmd, "%s: %s", x->path, strerror(-err));
	pw_sha256(x->buf, x->len, digest);
	pw_sha256_hex(digest, x->sha);
	d = pw_diags_new();
	if (!d)
		return cmd_fail(cmd, "%s", strerror(ENOMEM));
	x->set = pw_expect_set_parse(x->path, x->buf, x->len, d);
	err = x->set ? 0 : errno;
	pw_diags_sort(d);
	diags_print(d, stderr);
	pw_diags_free(d);
	if (err == ENOMEM)
		return cmd_fail(cmd, "%s", strerror(ENOMEM));
	return err ? EXIT_TROUBLE : 0;
}

static int evidence_collect(const struct pw_cluster *c, struct evidence *ev)
{
	uint8_t digest[PW_SHA256_LEN];

	ev->n = pw_cluster_file_count(c);
	ev->v = calloc(ev->n + 1, sizeof(*ev->v));
	if (!ev->v)
		return -ENOMEM;
	for (size_t i = 0; i < ev->n; i++) {
		ev->v[i].file = pw_cluster_file_name(c, i);
		/* Standard input was consumed by the loader: no hash. */
		if (strcmp(ev->v[i].file, "-") &&
		    !pw_sha256_file(ev->v[i].file, digest))
			pw_sha256_hex(digest, ev->v[i].sha);
	}
	return 0;
}

/* ---- text ----------------------------------------------------------------- */

static void side_text(const struct pw_verdict *v, enum pw_dir d)
{
	size_t n = pw_verdict_policy_count(v, d);
	unsigned line, col;
	int rule, peer, port;

	printf("          %s of %s: ", pw_dir_name(d),
	       d == PW_DIR_EGRESS ? pw_verdict_from(v) : pw_verdict_to(v));
	if (!pw_verdict_isolated(v, d))
		printf("not isolated, ");
	else
		printf("isolated by %zu %s, ", n,
		       n == 1 ? "policy" : "policies");
	printf("%s\n", pw_verdict_side_allowed(v, d) ? "allowed" : "denied");
	for (size_t i = 0; i < n; i++) {
		const char *file =
			pw_verdict_policy_where(v, d, i, &line, &col);

		pw_verdict_policy_match(v, d, i, &rule, &peer, &port);
		printf("            %s/%s (%s:%u:%u): ",
		       pw_verdict_policy_namespace(v, d, i),
		       pw_verdict_policy_name(v, d, i), file ? file : "-", line,
		       col);
		if (rule < 0)
			printf("no rule admits it\n");
		else
			printf("rule %d admits it\n", rule);
	}
}

static void counterexample_text(const struct pw_verdict *v, const char *cls)
{
	struct pw_port p = pw_verdict_port(v);
	char port[32];

	pw_port_format(&p, port, sizeof(port));
	printf("      counterexample: %s -> %s on %s is %s (%s)\n",
	       pw_verdict_from(v), pw_verdict_to(v), port,
	       pw_verdict_allowed(v) ? "allowed" : "denied",
	       pw_reason_name(pw_verdict_reason(v)));
	if (cls)
		printf("        (the address stands for %s: every address in "
		       "it gets this verdict)\n",
		       cls);
	side_text(v, PW_DIR_EGRESS);
	side_text(v, PW_DIR_INGRESS);
}

static void stat_text(const struct pw_assert_result *r, size_t i,
		      enum pw_assert_stat s, const char *one, const char *many,
		      const char *sep)
{
	uint64_t n = pw_assert_stat(r, i, s);

	printf("%" PRIu64 " %s%s", n, n == 1 ? one : many, sep);
}

static void checked_text(const struct pw_assert_result *r, size_t i)
{
	printf("      checked: ");
	stat_text(r, i, PW_ASSERT_SOURCES, "source pod", "source pods", ", ");
	stat_text(r, i, PW_ASSERT_DESTINATIONS, "destination pod",
		  "destination pods", ", ");
	stat_text(r, i, PW_ASSERT_ADDRESSES, "address", "addresses", ", ");
	stat_text(r, i, PW_ASSERT_PORTS, "port", "ports", ": ");
	stat_text(r, i, PW_ASSERT_CHECKS, "verdict", "verdicts", ", ");
	stat_text(r, i, PW_ASSERT_VIOLATIONS, "violation", "violations", "\n");
}

/* The ports checked, on as many lines as they need. */
static void ports_text(const struct pw_assert_result *r, size_t i)
{
	size_t n = pw_assert_port_count(r, i), col = 0;
	char port[32];

	for (size_t k = 0; k < n; k++) {
		struct pw_port p = pw_assert_port(r, i, k);
		int len = pw_port_format(&p, port, sizeof(port));

		if (!col || col + (size_t)len + 1 > 76) {
			printf("%s", col ? "\n            " : "      ports:");
			col = 12;
		}
		printf(" %s", port);
		col += (size_t)len + 1;
	}
	if (col)
		putchar('\n');
}

static void result_text(const struct pw_assert_result *r)
{
	for (size_t i = 0; i < pw_assert_count(r); i++) {
		const struct pw_verdict *v = pw_assert_counterexample(r, i);
		unsigned line, col;
		const char *file = pw_assert_where(r, i, &line, &col);

		printf("%s  %s (%s:%u:%u)\n",
		       pw_assert_passed(r, i) ? "PASS" : "FAIL",
		       pw_assert_name(r, i), file, line, col);
		printf("      expected: %s (%s)\n", pw_assert_statement(r, i),
		       pw_assert_kind(r, i));
		checked_text(r, i);
		ports_text(r, i);
		if (pw_assert_note(r, i))
			printf("      note: %s\n", pw_assert_note(r, i));
		if (v)
			counterexample_text(
				v, pw_assert_counterexample_class(r, i));
	}
}

static void evidence_text(const struct expect_file *x,
			  const struct evidence *ev)
{
	printf("podwall %s assert\n", pw_version());
	printf("expectations: %s\n  sha256 %s\n", x->path, x->sha);
	printf("manifests: %zu %s\n", ev->n, ev->n == 1 ? "file" : "files");
	for (size_t i = 0; i < ev->n; i++)
		printf("  sha256 %s  %s\n",
		       ev->v[i].sha[0] ? ev->v[i].sha :
					 "(standard input, not hashed)   ",
		       ev->v[i].file);
	putchar('\n');
}

static void report_text(const struct expect_file *x, const struct evidence *ev,
			const struct pw_assert_result *r)
{
	size_t failed = pw_assert_failed_count(r);

	evidence_text(x, ev);
	result_text(r);
	printf("\n%zu %s: %zu passed, %zu failed\n", pw_assert_count(r),
	       pw_assert_count(r) == 1 ? "expectation" : "expectations",
	       pw_assert_count(r) - failed, failed);
}

/* ---- json ----------------------------------------------------------------- */

static void counterexample_json(struct json *w, const struct pw_verdict *v,
				const char *cls)
{
	struct pw_port p;
	char port[32];

	if (!v) {
		json_null(w, "counterexample");
		return;
	}
	p = pw_verdict_port(v);
	pw_port_format(&p, port, sizeof(port));
	json_obj_open(w, "counterexample");
	json_str(w, "from", pw_verdict_from(v));
	json_str(w, "to", pw_verdict_to(v));
	json_str(w, "port", port);
	json_bool(w, "allowed", pw_verdict_allowed(v));
	json_str(w, "reason", pw_reason_name(pw_verdict_reason(v)));
	if (cls)
		json_str(w, "class", cls);
	else
		json_null(w, "class");
	verdict_side_json(w, v, PW_DIR_EGRESS);
	verdict_side_json(w, v, PW_DIR_INGRESS);
	json_obj_close(w);
}

static void expectation_json(struct json *w, const struct pw_assert_result *r,
			     size_t i)
{
	unsigned line, col;

	pw_assert_where(r, i, &line, &col);
	json_obj_open(w, NULL);
	json_str(w, "name", pw_assert_name(r, i));
	json_str(w, "kind", pw_assert_kind(r, i));
	json_str(w, "statement", pw_assert_statement(r, i));
	json_uint(w, "line", line);
	json_uint(w, "column", col);
	json_str(w, "result", pw_assert_passed(r, i) ? "pass" : "fail");
	if (pw_assert_note(r, i))
		json_str(w, "note", pw_assert_note(r, i));
	else
		json_null(w, "note");
	json_inline(w);
	json_arr_open(w, "ports");
	for (size_t k = 0; k < pw_assert_port_count(r, i); k++) {
		struct pw_port p = pw_assert_port(r, i, k);
		char port[32];

		pw_port_format(&p, port, sizeof(port));
		json_str(w, NULL, port);
	}
	json_arr_close(w);
	json_inline(w);
	json_obj_open(w, "checked");
	for (int s = 0; s < PW_ASSERT_STAT_NR; s++)
		json_uint(w, pw_assert_stat_name(s), pw_assert_stat(r, i, s));
	json_obj_close(w);
	counterexample_json(w, pw_assert_counterexample(r, i),
			    pw_assert_counterexample_class(r, i));
	json_obj_close(w);
}

static void file_json(struct json *w, const char *key, const char *file,
		      const char *sha)
{
	json_inline(w);
	json_obj_open(w, key);
	json_str(w, "file", file);
	if (sha[0])
		json_str(w, "sha256", sha);
	else
		json_null(w, "sha256");
	json_obj_close(w);
}

static void report_json(const struct expect_file *x, const struct evidence *ev,
			const struct pw_assert_result *r)
{
	size_t failed = pw_assert_failed_count(r);
	struct json w;

	json_init(&w, stdout);
	json_obj_open(&w, NULL);
	json_int(&w, "version", 1);
	json_str(&w, "podwall", pw_version());
	file_json(&w, "expect", x->path, x->sha);
	json_arr_open(&w, "inputs");
	for (size_t i = 0; i < ev->n; i++)
		file_json(&w, NULL, ev->v[i].file, ev->v[i].sha);
	json_arr_close(&w);
	json_arr_open(&w, "expectations");
	for (size_t i = 0; i < pw_assert_count(r); i++)
		expectation_json(&w, r, i);
	json_arr_close(&w);
	json_uint(&w, "passed", pw_assert_count(r) - failed);
	json_uint(&w, "failed", failed);
	json_obj_close(&w);
	json_end(&w);
}

/* ---- the command ------------------------------------------------------------ */

static int expect_opt(const struct cmd *cmd, void *ctx, int opt,
		      const char *arg)
{
	struct expect_file *x = ctx;

	if (opt != OPT_EXPECT)
		return -1;
	x->path = arg;
	return 0;
}

static int assert_parse(const struct cmd *cmd, struct inputs *in,
			struct expect_file *x, int argc, char **argv)
{
	static const struct option longopts[] = {
		COMMON_LONGOPTS,
		{ "expect", required_argument, NULL, OPT_EXPECT },
		{ 0 },
	};
	int status = cmd_parse(cmd, in, argc, argv, longopts, expect_opt, x);

	if (!status && !x->path)
		return cmd_fail(cmd, "--expect FILE is required");
	for (size_t i = 0; !status && i < in->n; i++)
		if (!strcmp(x->path, "-") && !strcmp(in->paths[i], "-"))
			return cmd_fail(cmd, "standard input can be read once: "
					     "not for both --expect and -f");
	return status;
}

static int run(const struct cmd *cmd, const struct inputs *in,
	       const struct expect_file *x, const struct pw_engine *e,
	       const struct pw_cluster *c)
{
	struct evidence ev = { 0 };
	struct pw_assert_result *r;
	int status;

	r = pw_assert_check(e, x->set);
	if (!r || evidence_collect(c, &ev)) {
		pw_assert_result_free(r);
		free(ev.v);
		return cmd_fail(cmd, "%s", strerror(ENOMEM));
	}
	if (in->fmt == OUT_JSON)
		report_json(x, &ev, r);
	else
		report_text(x, &ev, r);
	status = pw_assert_failed_count(r) ? EXIT_PROBLEMS : 0;
	pw_assert_result_free(r);
	free(ev.v);
	return status;
}

int cmd_assert(const struct cmd *cmd, int argc, char **argv)
{
	struct inputs in = { .fmts = OUT_MASK(OUT_TEXT) | OUT_MASK(OUT_JSON) };
	struct expect_file x = { 0 };
	struct pw_engine *e = NULL;
	struct loaded l = { 0 };
	int status;

	status = assert_parse(cmd, &in, &x, argc, argv);
	if (status)
		goto out_inputs;
	/* The expectations first: a bad file is a usage error (2) whatever
	 * the manifests say. */
	status = expect_read(cmd, &x);
	if (status)
		goto out_expect;
	status = loaded_engine(cmd, &l, &in, &e);
	if (!status)
		status = run(cmd, &in, &x, e, l.cluster);
	pw_engine_free(e);
	loaded_free(&l);
out_expect:
	pw_expect_set_free(x.set);
	free(x.buf);
out_inputs:
	inputs_free(&in);
	return status == CMD_DONE ? 0 : status;
}
