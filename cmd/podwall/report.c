// SPDX-License-Identifier: Apache-2.0
/*
 * podwall report: one document about a cluster's policies for people who
 * review them: the reachability picture, the matrix as a heat map,
 * coverage, lint findings and assertion results, as a self-contained HTML
 * page, Markdown, JUnit XML or DOT. This file loads the cluster and
 * computes the facts; the writers (report_*.c) only print them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "podwall.h"
#include "report.h"

const char report_usage[] =
	"usage: podwall report -o FILE [--format FMT] [--expect FILE]\n"
	"                      [--port PORT]... [-f PATH]... [PATH...]\n"
	"\n"
	"Writes a report of the manifests' policies: the reachability picture\n"
	"(namespaces, workloads, allowed connections with their ports, those\n"
	"with addresses outside the cluster, which workloads are isolated),\n"
	"the workload matrix as a heat map, coverage (pods isolated per\n"
	"direction and namespace), the lint findings and, with --expect, the\n"
	"result of each expectation. Pods are grouped by the workload that\n"
	"created them (\"ns/name[Kind]\"), as diff groups them. The HTML page\n"
	"is self-contained: inline CSS and SVG, no script, nothing fetched.\n"
	"\n"
	"  -o, --output FILE   where to write it ('-' for standard output)\n"
	"  --format FMT        html, md, junit or dot; by default from FILE's\n"
	"                      extension (.html .htm .md .xml .dot .gv)\n"
	"  --expect FILE       check these expectations (as podwall assert)\n"
	"  --port PORT         a port to examine (repeatable); by default the\n"
	"                      ports of podwall matrix\n"
	"  -f, --file PATH     a manifest, a directory or '-' (repeatable)\n"
	"  -h, --help          this text\n"
	"\n"
	"JUnit XML holds one test case per expectation and per lint finding\n"
	"(a failure for a failing expectation and for an unsuppressed finding\n"
	"of severity warning or error; suppressed findings are skipped with\n"
	"their reason) and one passing case per lint rule without findings.\n"
	"\n"
	"Exit status: 0 the report was written (whatever it says: gate with\n"
	"lint, diff and assert), 1 the manifests hold errors, 2 usage, I/O or\n"
	"parse errors (a bad expectations file is reported with its\n"
	"position).\n";

enum rep_fmt {
	REP_HTML,
	REP_MD,
	REP_JUNIT,
	REP_DOT,
	REP_NR,
};

static const struct {
	const char *name;
	int (*write)(const struct report *r, FILE *f);
} writers[REP_NR] = {
	[REP_HTML] = { "html", report_html },
	[REP_MD] = { "md", report_md },
	[REP_JUNIT] = { "junit", report_junit },
	[REP_DOT] = { "dot", report_dot },
};

static const struct {
	const char *ext;
	enum rep_fmt fmt;
} exts[] = {
	{ ".html", REP_HTML }, { ".htm", REP_HTML }, { ".md", REP_MD },
	{ ".xml", REP_JUNIT }, { ".dot", REP_DOT },  { ".gv", REP_DOT },
};

enum {
	OPT_FORMAT = 1000,
	OPT_EXPECT,
	OPT_PORT,
};

struct opts {
	struct inputs in;
	const char *out;
	const char *format;
	const char *expect;
	struct pw_port ports[REPORT_MAX_PORTS];
	size_t nports;
};

static int fmt_of(const struct cmd *cmd, const struct opts *o,
		  enum rep_fmt *fmt)
{
	size_t n = strlen(o->out), e;

	for (int i = 0; o->format && i < REP_NR; i++)
		if (!strcmp(o->format, writers[i].name)) {
			*fmt = i;
			return 0;
		}
	if (o->format)
		return cmd_fail(cmd, "no format '%s' (html, md, junit, dot)",
				o->format);
	for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
		e = strlen(exts[i].ext);
		if (n > e && !strcasecmp(o->out + n - e, exts[i].ext)) {
			*fmt = exts[i].fmt;
			return 0;
		}
	}
	return cmd_fail(cmd, "cannot tell the format from '%s': give --format",
			o->out);
}

static int opt_port(const struct cmd *cmd, struct opts *o, const char *s)
{
	if (o->nports == REPORT_MAX_PORTS)
		return cmd_fail(cmd, "at most %d ports", REPORT_MAX_PORTS);
	if (pw_port_parse(s, &o->ports[o->nports]))
		return cmd_fail(cmd, "bad port '%s'", s);
	o->nports++;
	return 0;
}

/* A cmd_opt_fn for report's options: -o names the file, not a format. */
static int report_opt(const struct cmd *cmd, void *ctx, int opt,
		      const char *arg)
{
	struct opts *o = ctx;

	switch (opt) {
	case 'o':
		o->out = arg;
		return 0;
	case OPT_FORMAT:
		o->format = arg;
		return 0;
	case OPT_EXPECT:
		o->expect = arg;
		return 0;
	case OPT_PORT:
		return opt_port(cmd, o, arg);
	}
	return -1;
}

static int parse_opts(const struct cmd *cmd, struct opts *o, int argc,
		      char **argv)
{
	static const struct option longopts[] = {
		COMMON_LONGOPTS,
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "expect", required_argument, NULL, OPT_EXPECT },
		{ "port", required_argument, NULL, OPT_PORT },
		{ NULL, 0, NULL, 0 },
	};
	int st = cmd_parse_opts(cmd, &o->in, argc, argv, COMMON_SHORTOPTS,
				longopts, report_opt, o);

	if (st)
		return st;
	if (!o->out)
		return cmd_fail(cmd, "give the report's file with -o FILE");
	return inputs_finish(cmd, &o->in, argc, argv);
}

/* ---- the facts ------------------------------------------------------------ */

/* "name[Kind]" without "[Kind]". */
static char *short_name(const char *s)
{
	const char *b = strchr(s, '[');

	return strndup(s, b ? (size_t)(b - s) : strlen(s));
}

static int add_workloads(struct report *r)
{
	size_t n = pw_workloads_count(r->w);

	r->wls = calloc(n + 1, sizeof(*r->wls));
	r->nss = calloc(n + 1, sizeof(*r->nss));
	if (!r->wls || !r->nss)
		return -ENOMEM;
	for (size_t k = 0; k < n; k++) {
		struct rep_wl *wl = &r->wls[k];
		const char *ns = pw_workloads_namespace(r->w, k);

		r->nwls = k + 1;
		wl->name = pw_workloads_name(r->w, k);
		wl->kind = pw_workloads_kind(r->w, k);
		wl->short_name = short_name(wl->name + strlen(ns) + 1);
		if (!wl->short_name)
			return -ENOMEM;
		if (!r->nnss || strcmp(r->nss[r->nnss - 1].name, ns)) {
			r->nss[r->nnss].name = ns;
			r->nss[r->nnss++].first = k;
		}
		wl->ns = r->nnss - 1;
		r->nss[r->nnss - 1].n++;
	}
	return 0;
}

/* Pods and their isolation, per workload and namespace. */
static void count_members(struct report *r)
{
	size_t npods = pw_engine_pod_count(r->e);

	for (size_t i = 0; i < npods; i++) {
		struct rep_wl *wl = &r->wls[pw_workloads_of(r->w, i)];
		bool tmpl = pw_workloads_is_template(r->w, i);
		struct rep_ns *ns = &r->nss[wl->ns];

		wl->members++;
		ns->members++;
		wl->pods += !tmpl;
		ns->pods += !tmpl;
		for (int d = 0; d < PW_DIR_NR; d++)
			wl->isolated[d] += pw_workloads_isolated(r->w, i, d);
	}
	/* A namespace counts its pods, or its templates when it has none. */
	for (size_t n = 0; n < r->nnss; n++)
		r->nss[n].counted = r->nss[n].pods ? r->nss[n].pods :
						     r->nss[n].members;
	for (size_t i = 0; i < npods; i++) {
		struct rep_ns *ns =
			&r->nss[r->wls[pw_workloads_of(r->w, i)].ns];

		if (ns->pods && pw_workloads_is_template(r->w, i))
			continue;
		for (int d = 0; d < PW_DIR_NR; d++)
			ns->isolated[d] += pw_workloads_isolated(r->w, i, d);
	}
}

/*
 * Engine pods ordered by workload: the members of workload k are
 * order[start[k] .. start[k + 1]). Pairs are then counted workload pair
 * by workload pair, so memory stays linear in the pods whatever the
 * number of workloads.
 */
struct members {
	size_t *order;
	size_t *start;
};

static int members_new(const struct report *r, struct members *mb)
{
	size_t npods = pw_engine_pod_count(r->e), *fill;

	mb->order = calloc(npods + 1, sizeof(size_t));
	mb->start = calloc(r->nwls + 2, sizeof(size_t));
	fill = calloc(r->nwls + 1, sizeof(size_t));
	if (!mb->order || !mb->start || !fill) {
		free(fill);
		return -ENOMEM;
	}
	for (size_t i = 0; i < npods; i++)
		mb->start[pw_workloads_of(r->w, i) + 1]++;
	for (size_t k = 0; k < r->nwls; k++)
		mb->start[k + 1] += mb->start[k];
	for (size_t i = 0; i < npods; i++) {
		size_t k = pw_workloads_of(r->w, i);

		mb->order[mb->start[k] + fill[k]++] = i;
	}
	free(fill);
	return 0;
}

static void members_free(struct members *mb)
{
	free(mb->order);
	free(mb->start);
}

/* Allowed and examined member pairs (from != to) of workloads a, b on
 * port p. */
static void count_pair(const struct report *r, const struct members *mb,
		       const struct pw_matrix *m, size_t a, size_t b, size_t p,
		       uint64_t *allowed, uint64_t *total)
{
	*allowed = *total = 0;
	for (size_t i = mb->start[a]; i < mb->start[a + 1]; i++)
		for (size_t j = mb->start[b]; j < mb->start[b + 1]; j++) {
			size_t from = mb->order[i], to = mb->order[j];

			if (from == to)
				continue;
			++*total;
			*allowed += pw_matrix_allowed(m, p, from, to);
		}
}

static int add_edge(struct report *r, const struct members *mb,
		    const struct pw_matrix *m, size_t a, size_t b)
{
	struct rep_edge ed = { .from = a, .to = b }, *v;
	uint64_t al, to;

	for (size_t p = 0; p < r->nports; p++) {
		count_pair(r, mb, m, a, b, p, &al, &to);
		if (r->cell_allowed) {
			r->cell_allowed[a * r->nwls + b] += al;
			r->cell_total[a * r->nwls + b] += to;
		}
		if (al)
			ed.ports |= 1ull << p;
		if (al && al < to)
			ed.partial |= 1ull << p;
	}
	if (!ed.ports)
		return 0;
	if (r->nedges == r->cap_edges) {
		r->cap_edges = r->cap_edges ? 2 * r->cap_edges : 64;
		v = realloc(r->edges, r->cap_edges * sizeof(*v));
		if (!v)
			return -ENOMEM;
		r->edges = v;
	}
	r->edges[r->nedges++] = ed;
	return 0;
}

static int compute_edges(struct report *r)
{
	size_t nw = r->nwls;
	struct pw_matrix *m = pw_engine_matrix(r->e, r->ports, r->nports);
	struct members mb = { 0 };
	int err = -ENOMEM;

	/* The heat map only when it is drawn: it is quadratic. */
	if (nw <= REPORT_MAX_DRAWN) {
		r->cell_allowed = calloc(nw * nw + 1, sizeof(uint64_t));
		r->cell_total = calloc(nw * nw + 1, sizeof(uint64_t));
		if (!r->cell_allowed || !r->cell_total)
			goto out_free;
	}
	if (!m || members_new(r, &mb))
		goto out_free;
	err = 0;
	for (size_t a = 0; !err && a < nw; a++)
		for (size_t b = 0; !err && b < nw; b++)
			err = add_edge(r, &mb, m, a, b);
out_free:
	members_free(&mb);
	pw_matrix_free(m);
	return err;
}

void report_ports_text(const struct report *r, uint64_t mask, char *buf,
		       size_t len)
{
	size_t at = 0;
	char port[32];
	int n;

	buf[0] = 0;
	for (size_t p = 0; p < r->nports; p++) {
		if (!(mask & (1ull << p)))
			continue;
		pw_port_format(&r->ports[p], port, sizeof(port));
		n = snprintf(buf + at, len - at, "%s%s", at ? " " : "", port);
		if (n < 0 || (size_t)n >= len - at)
			break;
		at += (size_t)n;
	}
}

/* ---- lint and assertions -------------------------------------------------- */

static int run_checks(const struct cmd *cmd, struct report *r)
{
	struct pw_expect_set *x;
	struct pw_diags *d;
	int err;

	r->lint = pw_lint_new();
	if (!r->lint || pw_lint_run(r->lint, r->e))
		return cmd_fail(cmd, "lint: %s", strerror(ENOMEM));
	if (!r->expect_path)
		return 0;
	d = pw_diags_new();
	if (!d)
		return cmd_fail(cmd, "%s", strerror(ENOMEM));
	x = pw_expect_set_load(r->expect_path, d);
	err = x ? 0 : errno;
	pw_diags_sort(d);
	diags_print(d, stderr);
	pw_diags_free(d);
	if (!x)
		return err == ENOMEM ? cmd_fail(cmd, "%s", strerror(err)) :
				       EXIT_TROUBLE;
	r->asserts = pw_assert_check(r->e, x);
	pw_expect_set_free(x);
	if (!r->asserts)
		return cmd_fail(cmd, "assert: %s", strerror(errno));
	return 0;
}

static int build(const struct cmd *cmd, struct report *r, struct opts *o)
{
	r->nports = o->nports;
	memcpy(r->ports, o->ports, sizeof(o->ports));
	if (!r->nports)
		r->nports = pw_engine_default_ports(r->e, r->ports,
						    REPORT_MAX_PORTS);
	if (r->nports > REPORT_MAX_PORTS)
		return cmd_fail(cmd,
				"the manifests name %zu ports, a report shows "
				"at most %d: choose with --port",
				r->nports, REPORT_MAX_PORTS);
	r->w = pw_workloads_new(r->e);
	if (!r->w || add_workloads(r))
		return cmd_fail(cmd, "%s", strerror(ENOMEM));
	count_members(r);
	if (compute_edges(r))
		return cmd_fail(cmd, "%s", strerror(ENOMEM));
	/* A full diff: worth it for a cluster a person reads a picture of. */
	r->outside = r->nwls <= REPORT_MAX_DRAWN;
	if (r->outside && report_outside(r))
		return cmd_fail(cmd, "%s", strerror(ENOMEM));
	r->expect_path = o->expect;
	return run_checks(cmd, r);
}

static void report_free(struct report *r)
{
	pw_assert_result_free(r->asserts);
	pw_lint_free(r->lint);
	report_outside_free(r);
	free(r->cell_total);
	free(r->cell_allowed);
	free(r->edges);
	free(r->nss);
	for (size_t k = 0; r->wls && k < r->nwls; k++)
		free(r->wls[k].short_name);
	free(r->wls);
	pw_workloads_free(r->w);
}

static int write_out(const struct cmd *cmd, const struct report *r,
		     const char *path, enum rep_fmt fmt)
{
	bool out = !strcmp(path, "-");
	FILE *f = out ? stdout : fopen(path, "w");
	int err;

	if (!f)
		return cmd_fail(cmd, "%s: %s", path, strerror(errno));
	errno = 0;
	err = writers[fmt].write(r, f);
	if ((fflush(f) || ferror(f)) && !err)
		err = errno ? -errno : -EIO;
	if (!out && fclose(f) && !err)
		err = -errno;
	if (err)
		return cmd_fail(cmd, "%s: %s", path, strerror(-err));
	return 0;
}

int cmd_report(const struct cmd *cmd, int argc, char **argv)
{
	struct opts o = { .in = { .fmts = 0 } };
	struct report r = { 0 };
	struct loaded l = { 0 };
	struct pw_engine *e = NULL;
	enum rep_fmt fmt = REP_HTML;
	int st;

	st = parse_opts(cmd, &o, argc, argv);
	if (!st)
		st = fmt_of(cmd, &o, &fmt);
	if (!st)
		st = loaded_engine(cmd, &l, &o.in, &e);
	if (!st) {
		r.e = e;
		r.cluster = l.cluster;
		r.nfiles = pw_cluster_file_count(l.cluster);
		st = build(cmd, &r, &o);
	}
	if (!st)
		st = write_out(cmd, &r, o.out, fmt);
	report_free(&r);
	pw_engine_free(e);
	loaded_free(&l);
	inputs_free(&o.in);
	return st == CMD_DONE ? 0 : st;
}
