// SPDX-License-Identifier: Apache-2.0
/*
 * The text formats of podwall report: Markdown (a pull-request comment or
 * a job summary), JUnit XML (what CI systems show as test results) and
 * DOT (for Graphviz, when someone wants another layout).
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "report.h"

static const char *const iso_words[] = { "open", "partly", "isolated" };

static int iso_level(const struct rep_wl *wl, enum pw_dir d)
{
	if (!wl->isolated[d])
		return 0;
	return wl->isolated[d] == wl->members ? 2 : 1;
}

/* ---- Markdown ------------------------------------------------------------- */

static void md_escape(FILE *f, const char *s);

/* A name as code, which Markdown shows as written; a name that could end
 * the code span or the table cell is escaped instead. */
static void md_code(FILE *f, const char *s)
{
	if (strpbrk(s, "`|\n\r<>&")) {
		md_escape(f, s);
		return;
	}
	fprintf(f, "`%s`", s);
}

/* Markdown punctuation is escaped with a backslash, HTML's with entities
 * (GitHub renders inline HTML), line breaks become spaces: a string can
 * neither break a table row nor open markup. */
static void md_escape(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (strchr("\\`*_[]|#!~", *s))
			fprintf(f, "\\%c", *s);
		else if (*s == '<')
			fputs("&lt;", f);
		else if (*s == '>')
			fputs("&gt;", f);
		else if (*s == '&')
			fputs("&amp;", f);
		else if (*s == '\n' || *s == '\r' || *s == '\t')
			fputc(' ', f);
		else
			fputc(*s, f);
	}
}

static void md_workloads(const struct report *r, FILE *f)
{
	fputs("\n## Workloads\n\n| workload | kind | pods | ingress | egress "
	      "|\n| --- | --- | --- | --- | --- |\n",
	      f);
	for (size_t k = 0; k < r->nwls; k++) {
		const struct rep_wl *wl = &r->wls[k];

		fputs("| ", f);
		md_code(f, wl->name);
		fprintf(f, " | %s | %zu | %s | %s |\n", wl->kind, wl->pods,
			iso_words[iso_level(wl, PW_DIR_INGRESS)],
			iso_words[iso_level(wl, PW_DIR_EGRESS)]);
	}
}

static void md_edges(const struct report *r, FILE *f)
{
	char ports[REPORT_MAX_PORTS * 12];

	fputs("\n## Allowed connections\n\n| from | to | ports |\n"
	      "| --- | --- | --- |\n",
	      f);
	for (size_t i = 0; i < r->nedges; i++) {
		const struct rep_edge *ed = &r->edges[i];

		report_ports_text(r, ed->ports, ports, sizeof(ports));
		fputs("| ", f);
		md_code(f, r->wls[ed->from].name);
		fputs(" | ", f);
		md_code(f, r->wls[ed->to].name);
		fprintf(f, " | %s%s |\n", ports,
			ed->partial ? " (not every pod pair)" : "");
	}
}

static void md_outside(const struct report *r, FILE *f)
{
	if (!r->outside)
		fprintf(f,
			"\nConnections with addresses outside the cluster "
			"are left out above %d workloads: podwall diff "
			"against an empty cluster lists them.\n",
			REPORT_MAX_DRAWN);
	if (!r->nexts)
		return;
	fputs("\n## Connections with addresses outside the cluster\n\n"
	      "On every port, not only those examined.\n\n"
	      "| from | to | ports |\n| --- | --- | --- |\n",
	      f);
	for (size_t i = 0; i < r->nexts; i++) {
		const struct rep_ext *x = &r->exts[i];
		const char *wl = r->wls[x->wl].name, *cidr = r->cidrs[x->cidr];

		fputs("| ", f);
		md_code(f, x->egress ? wl : cidr);
		fputs(" | ", f);
		md_code(f, x->egress ? cidr : wl);
		fprintf(f, " | %s |\n", x->all ? "all ports" : x->ports);
	}
}

static void md_coverage(const struct report *r, FILE *f)
{
	fputs("\n## Coverage\n\n| namespace | counted | ingress isolated | "
	      "egress isolated |\n| --- | --- | --- | --- |\n",
	      f);
	for (size_t n = 0; n < r->nnss; n++) {
		const struct rep_ns *ns = &r->nss[n];

		fputs("| ", f);
		md_code(f, ns->name);
		fprintf(f, " | %zu %s | %zu | %zu |\n", ns->counted,
			ns->pods ?
				(ns->counted == 1 ? "pod" : "pods") :
				(ns->counted == 1 ? "template" : "templates"),
			ns->isolated[PW_DIR_INGRESS],
			ns->isolated[PW_DIR_EGRESS]);
	}
}

static void md_lint(const struct report *r, FILE *f)
{
	const char *from, *to, *port;

	fputs("\n## Lint\n\n", f);
	if (!pw_lint_count(r->lint)) {
		fputs("No findings.\n", f);
		return;
	}
	fputs("| severity | rule | where | finding |\n"
	      "| --- | --- | --- | --- |\n",
	      f);
	for (size_t i = 0; i < pw_lint_count(r->lint); i++) {
		const struct pw_finding *fd = pw_lint_get(r->lint, i);

		fprintf(f, "| %s | %s | ",
			pw_lint_severity_name(pw_finding_severity(fd)),
			pw_finding_rule_id(fd));
		md_escape(f, pw_finding_file(fd));
		fprintf(f, ":%u:%u | ", pw_finding_line(fd),
			pw_finding_column(fd));
		md_escape(f, pw_finding_message(fd));
		if (pw_finding_witness(fd, &from, &to, &port)) {
			fputs(" (witness: ", f);
			md_escape(f, from);
			fputs(" -> ", f);
			md_escape(f, to);
			fprintf(f, " on %s)", port);
		}
		if (pw_finding_suppressed(fd)) {
			fputs(" suppressed: ", f);
			md_escape(f, pw_finding_reason(fd));
		}
		fputs(" |\n", f);
	}
}

static void md_asserts(const struct report *r, FILE *f)
{
	const struct pw_assert_result *a = r->asserts;

	if (!a)
		return;
	fputs("\n## Expectations\n\n| result | expectation | expected |\n"
	      "| --- | --- | --- |\n",
	      f);
	for (size_t i = 0; i < pw_assert_count(a); i++) {
		fprintf(f, "| %s | ", pw_assert_passed(a, i) ? "PASS" : "FAIL");
		md_escape(f, pw_assert_name(a, i));
		fputs(" | ", f);
		md_escape(f, pw_assert_statement(a, i));
		fputs(" |\n", f);
	}
}

int report_md(const struct report *r, FILE *f)
{
	fprintf(f,
		"# podwall report\n\n%zu %s, %zu %s, %zu allowed workload "
		"%s, %zu lint %s (%zu at warning or above)",
		r->nnss, PLURAL(r->nnss, "namespace"), r->nwls,
		PLURAL(r->nwls, "workload"), r->nedges,
		PLURAL(r->nedges, "connection"), pw_lint_count(r->lint),
		PLURAL(pw_lint_count(r->lint), "finding"),
		pw_lint_count_at(r->lint, PW_LINT_WARNING));
	if (r->asserts)
		fprintf(f, ", %zu of %zu expectations hold",
			pw_assert_count(r->asserts) -
				pw_assert_failed_count(r->asserts),
			pw_assert_count(r->asserts));
	fputs(".\n", f);
	md_workloads(r, f);
	md_edges(r, f);
	md_outside(r, f);
	md_coverage(r, f);
	md_lint(r, f);
	md_asserts(r, f);
	return ferror(f) ? -EIO : 0;
}

/* ---- JUnit XML ------------------------------------------------------------ */

/* Whether a finding fails the build: not suppressed, warning or worse. */
static bool finding_fails(const struct pw_finding *fd)
{
	return !pw_finding_suppressed(fd) &&
	       pw_finding_severity(fd) <= PW_LINT_WARNING;
}

static size_t rule_findings(const struct report *r, size_t rule)
{
	size_t n = 0;

	for (size_t i = 0; i < pw_lint_count(r->lint); i++)
		n += pw_finding_rule(pw_lint_get(r->lint, i)) == rule;
	return n;
}

/* "RuleName: FILE:LINE:COL: SEVERITY: MESSAGE (witness: A -> B on P)". */
static void finding_text(FILE *f, const struct pw_finding *fd)
{
	const char *from, *to, *port;

	fprintf(f, "%s: ", pw_lint_rule_name(pw_finding_rule(fd)));
	html_escape(f, pw_finding_file(fd));
	fprintf(f, ":%u:%u: %s: ", pw_finding_line(fd), pw_finding_column(fd),
		pw_lint_severity_name(pw_finding_severity(fd)));
	html_escape(f, pw_finding_message(fd));
	if (pw_finding_witness(fd, &from, &to, &port)) {
		fputs(" (witness: ", f);
		html_escape(f, from);
		fputs(" -&gt; ", f);
		html_escape(f, to);
		fputs(" on ", f);
		html_escape(f, port);
		fputs(")", f);
	}
}

static void junit_finding(FILE *f, const struct pw_finding *fd)
{
	fprintf(f, "    <testcase classname=\"lint.%s\" name=\"",
		pw_finding_rule_id(fd));
	html_escape(f, pw_finding_object(fd));
	fputs(" ", f);
	html_escape(f, pw_finding_path(fd));
	fputs("\" file=\"", f);
	html_escape(f, pw_finding_file(fd));
	fprintf(f, "\" line=\"%u\">\n", pw_finding_line(fd));
	if (pw_finding_suppressed(fd)) {
		fputs("      <skipped message=\"suppressed: ", f);
		html_escape(f, pw_finding_reason(fd));
		fputs("\"/>\n", f);
	} else if (finding_fails(fd)) {
		fprintf(f, "      <failure type=\"%s\" message=\"",
			pw_lint_severity_name(pw_finding_severity(fd)));
		html_escape(f, pw_finding_message(fd));
		fputs("\">", f);
		finding_text(f, fd);
		fputs("</failure>\n", f);
	} else {
		fputs("      <system-out>", f);
		finding_text(f, fd);
		fputs("</system-out>\n", f);
	}
	fputs("    </testcase>\n", f);
}

static void junit_lint(const struct report *r, FILE *f)
{
	size_t failures = 0, skipped = 0, tests = 0;

	for (size_t i = 0; i < pw_lint_count(r->lint); i++) {
		failures += finding_fails(pw_lint_get(r->lint, i));
		skipped += pw_finding_suppressed(pw_lint_get(r->lint, i));
	}
	for (size_t k = 0; k < pw_lint_rule_count(); k++)
		tests += rule_findings(r, k) ? rule_findings(r, k) : 1;
	fprintf(f,
		"  <testsuite name=\"podwall.lint\" tests=\"%zu\" "
		"failures=\"%zu\" errors=\"0\" skipped=\"%zu\">\n",
		tests, failures, skipped);
	for (size_t k = 0; k < pw_lint_rule_count(); k++)
		if (!rule_findings(r, k))
			fprintf(f,
				"    <testcase classname=\"lint.%s\" "
				"name=\"%s: no findings\"/>\n",
				pw_lint_rule_id(k), pw_lint_rule_name(k));
	for (size_t i = 0; i < pw_lint_count(r->lint); i++)
		junit_finding(f, pw_lint_get(r->lint, i));
	fputs("  </testsuite>\n", f);
}

/* The failure of expectation i: its statement, its note or its
 * counterexample. */
static void junit_assert_failure(FILE *f, const struct pw_assert_result *a,
				 size_t i)
{
	const struct pw_verdict *v = pw_assert_counterexample(a, i);
	struct pw_port p;
	char port[32];

	fputs("      <failure type=\"expectation\" message=\"", f);
	html_escape(f, pw_assert_statement(a, i));
	fputs("\">", f);
	if (pw_assert_note(a, i))
		html_escape(f, pw_assert_note(a, i));
	if (v) {
		p = pw_verdict_port(v);
		pw_port_format(&p, port, sizeof(port));
		fputs("counterexample: ", f);
		html_escape(f, pw_verdict_from(v));
		fputs(" -&gt; ", f);
		html_escape(f, pw_verdict_to(v));
		fprintf(f, " on %s is %s", port,
			pw_verdict_allowed(v) ? "allowed" : "denied");
	}
	fputs("</failure>\n", f);
}

static void junit_assert_case(FILE *f, const struct pw_assert_result *a,
			      size_t i)
{
	unsigned line, col;
	const char *file = pw_assert_where(a, i, &line, &col);
	bool ok = pw_assert_passed(a, i);

	fprintf(f, "    <testcase classname=\"assert.%s\" name=\"",
		pw_assert_kind(a, i));
	html_escape(f, pw_assert_name(a, i));
	fputs("\" file=\"", f);
	html_escape(f, file ? file : "");
	fprintf(f, "\" line=\"%u\"%s>\n", line, ok ? "/" : "");
	if (ok)
		return;
	junit_assert_failure(f, a, i);
	fputs("    </testcase>\n", f);
}

int report_junit(const struct report *r, FILE *f)
{
	const struct pw_assert_result *a = r->asserts;

	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites "
	      "name=\"podwall\">\n",
	      f);
	junit_lint(r, f);
	if (a) {
		fprintf(f,
			"  <testsuite name=\"podwall.assert\" tests=\"%zu\" "
			"failures=\"%zu\" errors=\"0\" skipped=\"0\">\n",
			pw_assert_count(a), pw_assert_failed_count(a));
		for (size_t i = 0; i < pw_assert_count(a); i++)
			junit_assert_case(f, a, i);
		fputs("  </testsuite>\n", f);
	}
	fputs("</testsuites>\n", f);
	return ferror(f) ? -EIO : 0;
}

/* ---- DOT ------------------------------------------------------------------ */

/* Inside a DOT string: quotes and backslashes escaped, line breaks as
 * spaces. */
static void dot_escape(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		fputc(*s == '\n' || *s == '\r' ? ' ' : *s, f);
	}
}

static void dot_node(const struct report *r, FILE *f, size_t k)
{
	const struct rep_wl *wl = &r->wls[k];
	int in = iso_level(wl, PW_DIR_INGRESS),
	    eg = iso_level(wl, PW_DIR_EGRESS);

	fputs("    \"", f);
	dot_escape(f, wl->name);
	fputs("\" [label=\"", f);
	dot_escape(f, wl->short_name);
	fprintf(f,
		"\\n%s, %zu %s\\ningress %s, egress %s\", style=\"%s\", "
		"color=\"%s\"];\n",
		wl->kind, wl->pods, wl->pods == 1 ? "pod" : "pods",
		iso_words[in], iso_words[eg],
		in == 2 && eg == 2 ? "bold" :
		in || eg	   ? "solid" :
				     "dashed",
		in == 2 && eg == 2 ? "darkgreen" :
		in || eg	   ? "orange" :
				     "gray");
}

/* The outside as one more cluster, its CIDRs as nodes, with the
 * connections to and from them. */
static void dot_outside(const struct report *r, FILE *f)
{
	if (!r->ncidrs)
		return;
	fputs("  subgraph cluster_outside {\n    label=\"outside the "
	      "cluster\";\n",
	      f);
	for (size_t c = 0; c < r->ncidrs; c++) {
		fputs("    \"", f);
		dot_escape(f, r->cidrs[c]);
		fputs("\" [style=dotted];\n", f);
	}
	fputs("  }\n", f);
	for (size_t i = 0; i < r->nexts; i++) {
		const struct rep_ext *x = &r->exts[i];
		const char *wl = r->wls[x->wl].name, *cidr = r->cidrs[x->cidr];

		fputs("  \"", f);
		dot_escape(f, x->egress ? wl : cidr);
		fputs("\" -> \"", f);
		dot_escape(f, x->egress ? cidr : wl);
		fprintf(f, "\" [label=\"%s\"];\n",
			x->all ? "all ports" : x->ports);
	}
}

int report_dot(const struct report *r, FILE *f)
{
	char ports[REPORT_MAX_PORTS * 12];

	fputs("digraph podwall {\n  rankdir=LR;\n  node [shape=box];\n", f);
	for (size_t n = 0; n < r->nnss; n++) {
		fprintf(f, "  subgraph cluster_%zu {\n    label=\"namespace ",
			n);
		dot_escape(f, r->nss[n].name);
		fputs("\";\n", f);
		for (size_t k = r->nss[n].first;
		     k < r->nss[n].first + r->nss[n].n; k++)
			dot_node(r, f, k);
		fputs("  }\n", f);
	}
	dot_outside(r, f);
	for (size_t i = 0; i < r->nedges; i++) {
		const struct rep_edge *ed = &r->edges[i];

		report_ports_text(r, ed->ports, ports, sizeof(ports));
		fputs("  \"", f);
		dot_escape(f, r->wls[ed->from].name);
		fputs("\" -> \"", f);
		dot_escape(f, r->wls[ed->to].name);
		fprintf(f, "\" [label=\"%s\"%s];\n", ports,
			ed->partial ? ", style=dashed" : "");
	}
	fputs("}\n", f);
	return ferror(f) ? -EIO : 0;
}
