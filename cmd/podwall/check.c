// SPDX-License-Identifier: Apache-2.0
/* podwall check: validate the manifests and summarize the cluster. */
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "podwall.h"

const char check_usage[] =
	"usage: podwall check [-f PATH]... [-o text|json] [PATH...]\n"
	"\n"
	"Reads the manifests (files, directories, '-' for standard input),\n"
	"validates them as the API server would, prints every diagnostic to\n"
	"standard error as 'error: FILE:LINE:COL: FIELD: MESSAGE' and a summary\n"
	"line to standard output.\n"
	"\n"
	"  -f, --file PATH     a manifest, a directory or '-' (repeatable)\n"
	"  -o, --output FMT    text (default) or json: {\"version\": 1,\n"
	"                      \"diagnostics\": [{\"severity\", \"file\", \"line\",\n"
	"                      \"column\", \"path\", \"message\"}], \"counts\": {...}}\n"
	"  -h, --help          this text\n"
	"\n"
	"Exit status: 0 valid, 1 errors in the manifests, 2 an input could not\n"
	"be read or parsed.\n";

/* What the summary counts, in the order it says them. */
static const struct {
	const char *key; /* in -o json "counts" */
	const char *one, *many; /* in the text summary */
	enum pw_kind kind;
	bool always; /* said even when zero */
} kinds[] = {
	{ "namespaces", "namespace", "namespaces", PW_KIND_NAMESPACE, true },
	{ "pods", "pod", "pods", PW_KIND_POD, true },
	{ "policies", "policy", "policies", PW_KIND_NETWORK_POLICY, true },
	{ "nodes", "node", "nodes", PW_KIND_NODE, false },
	{ "services", "service", "services", PW_KIND_SERVICE, false },
};

static size_t count_sev(const struct pw_diags *d, enum pw_severity sev)
{
	size_t n = 0;

	for (size_t i = 0; i < pw_diags_count(d); i++)
		n += pw_diag_severity(pw_diags_get(d, i)) == sev;
	return n;
}

static const char *plural(size_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

static void summary_text(const struct loaded *l)
{
	size_t n, errs = count_sev(l->diags, PW_SEV_ERROR);
	size_t warns = count_sev(l->diags, PW_SEV_WARNING);
	size_t notes = count_sev(l->diags, PW_SEV_NOTE);
	const char *sep = ": ";

	printf("%zu %s", l->nfiles, plural(l->nfiles, "file", "files"));
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		n = pw_cluster_count(l->cluster, kinds[i].kind);
		if (!n && !kinds[i].always)
			continue;
		printf("%s%zu %s", sep, n,
		       plural(n, kinds[i].one, kinds[i].many));
		sep = ", ";
	}
	printf("; %zu %s, %zu %s", errs, plural(errs, "error", "errors"), warns,
	       plural(warns, "warning", "warnings"));
	if (notes)
		printf(", %zu %s", notes, plural(notes, "note", "notes"));
	putchar('\n');
}

static void diag_json(struct json *w, const struct pw_diag *r)
{
	json_inline(w);
	json_obj_open(w, NULL);
	json_str(w, "severity", pw_severity_name(pw_diag_severity(r)));
	json_str(w, "file", pw_diag_file(r));
	if (pw_diag_line(r))
		json_uint(w, "line", pw_diag_line(r));
	else
		json_null(w, "line");
	if (pw_diag_column(r))
		json_uint(w, "column", pw_diag_column(r));
	else
		json_null(w, "column");
	json_str(w, "path", pw_diag_path(r));
	json_str(w, "message", pw_diag_message(r));
	json_obj_close(w);
}

static void summary_json(const struct loaded *l)
{
	struct json w;

	json_init(&w, stdout);
	json_obj_open(&w, NULL);
	json_int(&w, "version", 1);
	json_arr_open(&w, "diagnostics");
	for (size_t i = 0; i < pw_diags_count(l->diags); i++)
		diag_json(&w, pw_diags_get(l->diags, i));
	json_arr_close(&w);
	json_obj_open(&w, "counts");
	json_uint(&w, "files", l->nfiles);
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		json_uint(&w, kinds[i].key,
			  pw_cluster_count(l->cluster, kinds[i].kind));
	json_uint(&w, "errors", count_sev(l->diags, PW_SEV_ERROR));
	json_uint(&w, "warnings", count_sev(l->diags, PW_SEV_WARNING));
	json_uint(&w, "notes", count_sev(l->diags, PW_SEV_NOTE));
	json_obj_close(&w);
	json_obj_close(&w);
	json_end(&w);
}

int cmd_check(const struct cmd *cmd, int argc, char **argv)
{
	static const struct option longopts[] = { COMMON_LONGOPTS, { 0 } };
	struct inputs in = { .fmts = OUT_MASK(OUT_TEXT) | OUT_MASK(OUT_JSON) };
	struct loaded l;
	int status;

	status = cmd_parse(cmd, &in, argc, argv, longopts, NULL, NULL);
	if (status)
		goto out;
	status = loaded_load(&l, &in);
	if (!l.cluster || !l.diags) {
		/* out of memory, already said */
	} else if (in.fmt == OUT_JSON) {
		summary_json(&l);
	} else {
		diags_print(l.diags, stderr);
		summary_text(&l);
	}
	loaded_free(&l);
out:
	inputs_free(&in);
	return status == CMD_DONE ? 0 : status;
}
