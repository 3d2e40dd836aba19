// SPDX-License-Identifier: Apache-2.0
/* podwall lint: checks of the policies built on the engine's semantics. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <podwall/lint.h>

#include "json.h"
#include "podwall.h"
#include "sarif.h"

const char lint_usage[] =
	"usage: podwall lint [-o text|json|sarif] [--fail-on LEVEL]\n"
	"                    [--exclude-namespace NS]... [--dns-selector SEL]\n"
	"                    [--dns-namespace NS] [-f PATH]... [PATH...]\n"
	"\n"
	"Checks the NetworkPolicies against the cluster they apply to: peers\n"
	"ORed where an AND was meant, policies and peers that select nothing,\n"
	"pods without a default deny, egress that blocks DNS, allow-all rules,\n"
	"redundant rules and policies, ports and named ports the pods do not\n"
	"serve, ipBlocks over pod addresses, generated labels, podSelectors\n"
	"meant for another namespace, objects without a namespace.\n"
	"docs/LINT.md describes each rule.\n"
	"\n"
	"  -o, --output FMT         text (default), json ({\"version\": 1,\n"
	"                           \"findings\": [...]}) or sarif (SARIF 2.1.0)\n"
	"  --fail-on LEVEL          error (default), warning or info: exit 1\n"
	"                           when a finding at or above LEVEL is not\n"
	"                           suppressed\n"
	"  --exclude-namespace NS   suppress findings about objects of NS\n"
	"                           (repeatable; they are still listed)\n"
	"  --dns-selector SEL       the cluster DNS pods of PW005, a label\n"
	"                           selector (default k8s-app=kube-dns)\n"
	"  --dns-namespace NS       their namespace (default kube-system)\n"
	"  -f, --file PATH          a manifest, a directory or '-' (repeatable)\n"
	"  -h, --help               this text\n"
	"\n"
	"An object's annotation podwall.io/lint-ignore: \"PW003: reason; PW011:\n"
	"reason\" suppresses those rules' findings about it.\n"
	"\n"
	"Exit status: 0 no finding at or above --fail-on, 1 such findings or\n"
	"errors in the manifests, 2 usage, I/O or parse errors.\n";

enum {
	OPT_FAIL_ON = 1000,
	OPT_EXCLUDE,
	OPT_DNS_SEL,
	OPT_DNS_NS,
};

struct lint_opts {
	struct inputs in;
	bool sarif;
	enum pw_lint_severity fail_on;
	const char *dns_sel, *dns_ns;
	const char **exclude;
	size_t nexclude;
};

/* ---- text ---------------------------------------------------------------- */

static void finding_text(const struct pw_finding *f)
{
	const char *from, *to, *port, *path = pw_finding_path(f);

	printf("%s[%s]: %s:%u:%u: %s%s%s\n",
	       pw_lint_severity_name(pw_finding_severity(f)),
	       pw_finding_rule_id(f), pw_finding_file(f), pw_finding_line(f),
	       pw_finding_column(f), path, *path ? ": " : "",
	       pw_finding_message(f));
	if (pw_finding_witness(f, &from, &to, &port))
		printf("  witness: %s -> %s on %s\n", from, to, port);
	if (pw_finding_suppressed(f))
		printf("  suppressed: %s\n", pw_finding_reason(f));
}

static const char *plural(size_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

/* Unsuppressed findings of exactly severity s. */
static size_t count_sev(const struct pw_lint *l, enum pw_lint_severity s)
{
	size_t n = 0;

	for (size_t i = 0; i < pw_lint_count(l); i++) {
		const struct pw_finding *f = pw_lint_get(l, i);

		n += !pw_finding_suppressed(f) && pw_finding_severity(f) == s;
	}
	return n;
}

static void lint_text(const struct pw_lint *l)
{
	size_t nsup = 0, e, w, n;

	for (size_t i = 0; i < pw_lint_count(l); i++) {
		if (pw_finding_suppressed(pw_lint_get(l, i)))
			nsup++;
		else
			finding_text(pw_lint_get(l, i));
	}
	if (nsup)
		printf("\nsuppressed:\n");
	for (size_t i = 0; nsup && i < pw_lint_count(l); i++)
		if (pw_finding_suppressed(pw_lint_get(l, i)))
			finding_text(pw_lint_get(l, i));
	e = count_sev(l, PW_LINT_ERROR);
	w = count_sev(l, PW_LINT_WARNING);
	n = count_sev(l, PW_LINT_INFO);
	if (pw_lint_count(l))
		putchar('\n');
	printf("%zu %s, %zu %s, %zu info; %zu suppressed\n", e,
	       plural(e, "error", "errors"), w,
	       plural(w, "warning", "warnings"), n, nsup);
}

/* ---- json ---------------------------------------------------------------- */

static void finding_json(struct json *w, const struct pw_finding *f)
{
	json_obj_open(w, NULL);
	json_str(w, "rule", pw_finding_rule_id(f));
	json_str(w, "severity", pw_lint_severity_name(pw_finding_severity(f)));
	json_str(w, "file", pw_finding_file(f));
	if (pw_finding_line(f))
		json_uint(w, "line", pw_finding_line(f));
	else
		json_null(w, "line");
	if (pw_finding_column(f))
		json_uint(w, "column", pw_finding_column(f));
	else
		json_null(w, "column");
	json_str(w, "message", pw_finding_message(f));
	if (!finding_witness_json(w, f))
		json_null(w, "witness");
	json_str(w, "path", pw_finding_path(f));
	json_str(w, "object", pw_finding_object(f));
	json_bool(w, "suppressed", pw_finding_suppressed(f));
	if (pw_finding_suppressed(f))
		json_str(w, "reason", pw_finding_reason(f));
	json_obj_close(w);
}

static void lint_json(const struct pw_lint *l)
{
	struct json w;

	json_init(&w, stdout);
	json_obj_open(&w, NULL);
	json_int(&w, "version", 1);
	json_arr_open(&w, "findings");
	for (size_t i = 0; i < pw_lint_count(l); i++)
		finding_json(&w, pw_lint_get(l, i));
	json_arr_close(&w);
	json_obj_close(&w);
	json_end(&w);
}

/* ---- options ------------------------------------------------------------- */

static int add_exclude(const struct cmd *cmd, struct lint_opts *o,
		       const char *ns)
{
	const char **v = realloc(o->exclude, (o->nexclude + 1) * sizeof(*v));

	if (!v)
		return cmd_fail(cmd, "%s", strerror(ENOMEM));
	o->exclude = v;
	o->exclude[o->nexclude++] = ns;
	return 0;
}

/* A cmd_opt_fn for lint's own options; -o sarif is lint's own format,
 * the others are the common ones. */
static int lint_opt(const struct cmd *cmd, void *ctx, int opt, const char *arg)
{
	struct lint_opts *o = ctx;

	switch (opt) {
	case 'o':
		o->sarif = !strcmp(arg, "sarif");
		return o->sarif ? 0 : -1;
	case OPT_FAIL_ON:
		if (pw_lint_severity_parse(arg, &o->fail_on))
			return cmd_fail(cmd,
					"--fail-on takes error, warning "
					"or info, not '%s'",
					arg);
		return 0;
	case OPT_EXCLUDE:
		return add_exclude(cmd, o, arg);
	case OPT_DNS_SEL:
		o->dns_sel = arg;
		return 0;
	case OPT_DNS_NS:
		o->dns_ns = arg;
		return 0;
	}
	return -1;
}

static int parse_opts(const struct cmd *cmd, struct lint_opts *o, int argc,
		      char **argv)
{
	static const struct option longopts[] = {
		COMMON_LONGOPTS,
		{ "fail-on", required_argument, NULL, OPT_FAIL_ON },
		{ "exclude-namespace", required_argument, NULL, OPT_EXCLUDE },
		{ "dns-selector", required_argument, NULL, OPT_DNS_SEL },
		{ "dns-namespace", required_argument, NULL, OPT_DNS_NS },
		{ 0 },
	};

	return cmd_parse(cmd, &o->in, argc, argv, longopts, lint_opt, o);
}

/* ---- the command ---------------------------------------------------------- */

static int configure(const struct cmd *cmd, const struct lint_opts *o,
		     struct pw_lint *l)
{
	int err = 0;

	if (o->dns_sel || o->dns_ns) {
		err = pw_lint_set_dns(l, o->dns_ns ? o->dns_ns : "kube-system",
				      o->dns_sel ? o->dns_sel :
						   "k8s-app=kube-dns");
		if (err == -EINVAL)
			return cmd_fail(cmd,
					"--dns-selector: cannot parse '%s'",
					o->dns_sel);
	}
	for (size_t i = 0; !err && i < o->nexclude; i++)
		err = pw_lint_exclude_namespace(l, o->exclude[i]);
	if (err)
		return cmd_fail(cmd, "%s", strerror(-err));
	return 0;
}

static int lint_cluster(const struct cmd *cmd, const struct lint_opts *o,
			const struct pw_engine *e)
{
	struct pw_lint *l = pw_lint_new();
	int status, err;

	if (!l)
		return cmd_fail(cmd, "%s", strerror(errno));
	status = configure(cmd, o, l);
	if (status)
		goto out_free_lint;
	err = pw_lint_run(l, e);
	if (err) {
		fprintf(stderr, "podwall %s: %s\n", cmd->name, strerror(-err));
		status = EXIT_TROUBLE;
		goto out_free_lint;
	}
	if (o->sarif)
		sarif_print(l, stdout);
	else if (o->in.fmt == OUT_JSON)
		lint_json(l);
	else
		lint_text(l);
	status = pw_lint_count_at(l, o->fail_on) ? EXIT_PROBLEMS : 0;
out_free_lint:
	pw_lint_free(l);
	return status;
}

int cmd_lint(const struct cmd *cmd, int argc, char **argv)
{
	struct lint_opts o = {
		.in = { .fmts = OUT_MASK(OUT_TEXT) | OUT_MASK(OUT_JSON) },
		.fail_on = PW_LINT_ERROR,
	};
	struct pw_engine *e = NULL;
	struct loaded l = { 0 };
	int status;

	status = parse_opts(cmd, &o, argc, argv);
	if (!status)
		status = loaded_engine(cmd, &l, &o.in, &e);
	if (!status)
		status = lint_cluster(cmd, &o, e);
	pw_engine_free(e);
	loaded_free(&l);
	inputs_free(&o.in);
	free(o.exclude);
	return status == CMD_DONE ? 0 : status;
}
