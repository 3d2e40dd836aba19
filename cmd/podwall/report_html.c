// SPDX-License-Identifier: Apache-2.0
/*
 * The HTML page of podwall report: one self-contained file, no script,
 * no external fonts, images or style sheets, so that it can be attached
 * to a pull request or archived as evidence and opened offline. Every
 * string that comes from a manifest, an expectations file or a file name
 * goes through html_escape().
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "report.h"

/* Length of the UTF-8 sequence starting at s (1-4), 0 when it is not a
 * valid one (overlong forms, surrogates and code points past U+10FFFF
 * included). */
static size_t utf8_len(const unsigned char *s)
{
	size_t n = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;
	unsigned cp;

	if (!n || s[0] > 0xf4)
		return 0;
	cp = s[0] & (0x7f >> n);
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

static const char *const entities[128] = {
	['&'] = "&amp;",  ['<'] = "&lt;",   ['>'] = "&gt;",
	['"'] = "&quot;", ['\''] = "&#39;",
};

void html_escape(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;

	while (*p) {
		if (*p < 0x80 && entities[*p]) {
			fputs(entities[*p++], f);
		} else if (*p == '\n' || *p == '\t' ||
			   (*p >= 0x20 && *p < 0x7f)) {
			fputc(*p++, f);
		} else if (*p >= 0x80 && (n = utf8_len(p))) {
			fwrite(p, 1, n, f);
			p += n;
		} else {
			fputs("\xef\xbf\xbd", f); /* U+FFFD */
			p++;
		}
	}
}

static const char style[] =
	"body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;"
	"color:#1d2433;margin:24px;background:#fff}\n"
	"h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;"
	"border-bottom:1px solid #d8dde6;padding-bottom:4px}\n"
	".meta{color:#5a6475}.muted{color:#6b7280}\n"
	"table{border-collapse:collapse;margin:6px 0}"
	"td,th{border:1px solid #d8dde6;padding:4px 8px;text-align:left;"
	"vertical-align:top}th{background:#f3f5f9}\n"
	".pass{color:#1b5e20;font-weight:600}.fail{color:#b71c1c;"
	"font-weight:600}.sup{color:#6b7280}\n"
	".sev-error{color:#b71c1c;font-weight:600}.sev-warning{color:#a15c00;"
	"font-weight:600}.sev-info{color:#35598a}\n"
	".summary span{display:inline-block;margin-right:18px}\n"
	"svg.picture{display:block;max-width:100%;height:auto;"
	"font-family:inherit}\n"
	".scroll{overflow-x:auto}\n"
	".namespace rect{fill:#f4f6fb;stroke:#9aa5b8;stroke-width:1.2}\n"
	".namespace text{font-size:13px;font-weight:600;fill:#3c4a63}\n"
	".outside rect{fill:#fbf7ee;stroke:#c9b48a;stroke-width:1.2}"
	".outside text{font-size:13px;font-weight:600;fill:#6a5530}\n"
	"rect.node.ext{stroke:#a08850;stroke-dasharray:2 2}\n"
	"rect.node{fill:#fff;stroke-width:2}rect.node.iso{stroke:#2e7d32}"
	"rect.node.some{stroke:#c77800}rect.node.open{stroke:#9aa0aa;"
	"stroke-dasharray:5 3}\n"
	".wname{font-size:13px;font-weight:600;fill:#1d2433}"
	".wkind{font-size:11px;fill:#5a6475}\n"
	".badge rect{stroke-width:1.2}.badge text{font-size:10px;"
	"text-anchor:middle;font-weight:600}\n"
	".badge.iso rect{fill:#2e7d32;stroke:#2e7d32}.badge.iso text{fill:#fff}"
	".badge.iso .shield{fill:#fff}.badge.some .shield{fill:#c77800}"
	"\n.badge.some rect{fill:#ffe0b2;stroke:#c77800}.badge.some text"
	"{fill:#7a4a00}\n.badge.open rect{fill:#fff;stroke:#9aa0aa;"
	"stroke-dasharray:3 2}.badge.open text{fill:#6b7280}\n"
	".edge path,.legend path.lg{fill:none;stroke:#3557a7;stroke-width:1.6;"
	"opacity:.85}.edge.partial path{stroke-dasharray:6 4}\n"
	".arrowhead{fill:#3557a7}\n"
	".elabel{font-size:11px;fill:#1f3a7a;text-anchor:middle;"
	"paint-order:stroke;stroke:#fff;stroke-width:4px;stroke-linejoin:round}"
	"\n.legend text{font-size:12px;fill:#3c4a63}\n"
	"table.heat td{width:22px;height:22px;padding:0;text-align:center;"
	"font-size:10px}\ntable.heat th{font-size:12px;font-weight:500;"
	"white-space:nowrap}\ntable.heat th.nsh{background:#e8ecf4;"
	"font-weight:600}\ntable.heat th.col{writing-mode:vertical-rl;"
	"transform:rotate(180deg);vertical-align:bottom;padding:6px 2px}\n"
	".bar{display:inline-block;height:10px;background:#2e7d32;"
	"vertical-align:middle}.bar0{display:inline-block;height:10px;"
	"background:#e4e7ec;vertical-align:middle}\n";

/* ---- sections ------------------------------------------------------------- */

static void header(const struct report *r, FILE *f)
{
	char ports[REPORT_MAX_PORTS * 12];

	report_ports_text(r, r->nports >= 64 ? ~0ull : (1ull << r->nports) - 1,
			  ports, sizeof(ports));
	fprintf(f,
		"<h1>podwall report</h1>\n<p class=\"meta\">podwall %s "
		"&middot; %zu manifest %s:",
		pw_version(), r->nfiles, r->nfiles == 1 ? "file" : "files");
	for (size_t i = 0; i < r->nfiles; i++) {
		fputs(i ? ", " : " ", f);
		html_escape(f, pw_cluster_file_name(r->cluster, i));
	}
	fprintf(f, "<br>ports examined: %s</p>\n", r->nports ? ports : "none");
}

static void summary(const struct report *r, FILE *f)
{
	size_t lint_bad = pw_lint_count_at(r->lint, PW_LINT_WARNING);

	fprintf(f,
		"<p class=\"summary\"><span><b>%zu</b> %s</span>"
		"<span><b>%zu</b> %s</span><span><b>%zu</b> allowed "
		"workload %s</span><span><b>%zu</b> lint %s, "
		"%zu at warning or above</span>",
		r->nnss, PLURAL(r->nnss, "namespace"), r->nwls,
		PLURAL(r->nwls, "workload"), r->nedges,
		PLURAL(r->nedges, "connection"), pw_lint_count(r->lint),
		PLURAL(pw_lint_count(r->lint), "finding"), lint_bad);
	if (r->asserts)
		fprintf(f, "<span><b>%zu</b> of %zu expectations hold</span>",
			pw_assert_count(r->asserts) -
				pw_assert_failed_count(r->asserts),
			pw_assert_count(r->asserts));
	fputs("</p>\n", f);
}

/* Whether there are too many workloads to draw; then says so. */
static bool too_many(const struct report *r, FILE *f)
{
	if (r->nwls <= REPORT_MAX_DRAWN)
		return false;
	fprintf(f,
		"<p><b>%zu workloads are too many to draw</b> (at most %d): "
		"the Markdown and DOT formats list every allowed connection, "
		"podwall matrix every pod pair.</p>\n",
		r->nwls, REPORT_MAX_DRAWN);
	return true;
}

static void picture(const struct report *r, FILE *f)
{
	fputs("<h2 id=\"picture\">Reachability</h2>\n<p class=\"muted\">Each "
	      "box is a workload (the pods one controller made, or a lone "
	      "pod); an arrow is a connection some of its pods may open to "
	      "some pods of the other, labelled with the ports examined; "
	      "arrows to and from addresses outside the cluster (the pieces "
	      "the policies' ipBlocks cut the address space into) are "
	      "labelled with every port they are allowed on. A pod "
	      "reaching itself and kubelet probes from its node are always "
	      "allowed and not drawn.</p>\n",
	      f);
	if (too_many(r, f))
		return;
	fputs("<div class=\"scroll\">\n", f);
	report_svg(r, f);
	fputs("</div>\n", f);
}

/* White through blue: the share of (pod pair, port) allowed. */
static void heat_cell(const struct report *r, FILE *f, size_t a, size_t b)
{
	uint64_t al = report_cell(r->cell_allowed, r, a, b);
	uint64_t to = report_cell(r->cell_total, r, a, b);
	double share = to ? (double)al / (double)to : 0;
	int light = 97 - (int)(share * 55);

	if (!to) {
		fputs("<td style=\"background:#f3f4f6\" title=\"no pair\">"
		      "</td>",
		      f);
		return;
	}
	fprintf(f, "<td style=\"background:hsl(218,62%%,%d%%)%s\" title=\"",
		al ? light : 100, light < 65 ? ";color:#fff" : "");
	html_escape(f, r->wls[a].name);
	fputs(" \xe2\x86\x92 ", f);
	html_escape(f, r->wls[b].name);
	fprintf(f, ": %" PRIu64 " of %" PRIu64 " (pod pair, port)\">%s</td>",
		al, to, al == to ? "&#10003;" : "");
}

/* The header rows: namespaces over their workloads' short names. */
static void heat_head(const struct report *r, FILE *f)
{
	fputs("<tr><th colspan=\"2\" rowspan=\"2\">from \\ to</th>", f);
	for (size_t n = 0; n < r->nnss; n++) {
		fprintf(f, "<th class=\"nsh\" colspan=\"%zu\">", r->nss[n].n);
		html_escape(f, r->nss[n].name);
		fputs("</th>", f);
	}
	fputs("</tr>\n<tr>", f);
	for (size_t b = 0; b < r->nwls; b++) {
		fputs("<th class=\"col\">", f);
		html_escape(f, r->wls[b].short_name);
		fputs("</th>", f);
	}
	fputs("</tr>\n", f);
}

static void heat_row(const struct report *r, FILE *f, size_t a)
{
	const struct rep_ns *ns = &r->nss[r->wls[a].ns];

	fputs("<tr>", f);
	if (a == ns->first) {
		fprintf(f, "<th class=\"nsh\" rowspan=\"%zu\">", ns->n);
		html_escape(f, ns->name);
		fputs("</th>", f);
	}
	fputs("<th>", f);
	html_escape(f, r->wls[a].short_name);
	fputs("</th>", f);
	for (size_t b = 0; b < r->nwls; b++)
		heat_cell(r, f, a, b);
	fputs("</tr>\n", f);
}

static void heat(const struct report *r, FILE *f)
{
	fputs("<h2 id=\"matrix\">Matrix</h2>\n<p class=\"muted\">Rows are "
	      "sources, columns destinations, grouped by namespace. The darker "
	      "the cell, the larger the share of (pod pair, port) combinations "
	      "allowed; &#10003; marks all of them. Hover a cell for the "
	      "count.</p>\n",
	      f);
	if (too_many(r, f))
		return;
	fputs("<div class=\"scroll\"><table class=\"heat\">\n", f);
	heat_head(r, f);
	for (size_t a = 0; a < r->nwls; a++)
		heat_row(r, f, a);
	fputs("</table></div>\n", f);
}

static void cov_cell(FILE *f, size_t isolated, size_t total)
{
	int w = total ? (int)(60 * isolated / total) : 0;

	fprintf(f,
		"<td><span class=\"bar\" style=\"width:%dpx\"></span><span "
		"class=\"bar0\" style=\"width:%dpx\"></span> %zu of %zu</td>",
		w, 60 - w, isolated, total);
}

static void coverage(const struct report *r, FILE *f)
{
	fputs("<h2 id=\"coverage\">Coverage</h2>\n<p class=\"muted\">Pods "
	      "isolated (selected by some policy) per direction; a namespace "
	      "without pods counts its workload templates.</p>\n<table>\n"
	      "<tr><th>namespace</th><th>counted</th><th>ingress isolated</th>"
	      "<th>egress isolated</th></tr>\n",
	      f);
	for (size_t n = 0; n < r->nnss; n++) {
		const struct rep_ns *ns = &r->nss[n];

		fputs("<tr><td>", f);
		html_escape(f, ns->name);
		fprintf(f, "</td><td>%zu %s</td>", ns->counted,
			ns->pods ?
				(ns->counted == 1 ? "pod" : "pods") :
				(ns->counted == 1 ? "template" : "templates"));
		cov_cell(f, ns->isolated[PW_DIR_INGRESS], ns->counted);
		cov_cell(f, ns->isolated[PW_DIR_EGRESS], ns->counted);
		fputs("</tr>\n", f);
	}
	fputs("</table>\n", f);
}

static void finding_row(FILE *f, const struct pw_finding *fd)
{
	const char *from, *to, *port;
	const char *sev = pw_lint_severity_name(pw_finding_severity(fd));

	fprintf(f, "<tr><td class=\"sev-%s\">%s</td><td>%s</td><td>", sev, sev,
		pw_finding_rule_id(fd));
	html_escape(f, pw_finding_file(fd));
	fprintf(f, ":%u:%u</td><td>", pw_finding_line(fd),
		pw_finding_column(fd));
	html_escape(f, pw_finding_object(fd));
	fputs("</td><td>", f);
	html_escape(f, pw_finding_message(fd));
	if (pw_finding_witness(fd, &from, &to, &port)) {
		fputs("<br><span class=\"muted\">witness: ", f);
		html_escape(f, from);
		fputs(" \xe2\x86\x92 ", f);
		html_escape(f, to);
		fputs(" on ", f);
		html_escape(f, port);
		fputs("</span>", f);
	}
	if (pw_finding_suppressed(fd)) {
		fputs("<br><span class=\"sup\">suppressed: ", f);
		html_escape(f, pw_finding_reason(fd));
		fputs("</span>", f);
	}
	fputs("</td></tr>\n", f);
}

static void lint(const struct report *r, FILE *f)
{
	size_t n = pw_lint_count(r->lint);

	fputs("<h2 id=\"lint\">Lint</h2>\n", f);
	if (!n) {
		fputs("<p>No findings.</p>\n", f);
		return;
	}
	fputs("<table>\n<tr><th>severity</th><th>rule</th><th>where</th>"
	      "<th>object</th><th>finding</th></tr>\n",
	      f);
	for (size_t i = 0; i < n; i++)
		finding_row(f, pw_lint_get(r->lint, i));
	fputs("</table>\n", f);
}

static void counterexample(FILE *f, const struct pw_assert_result *a, size_t i)
{
	const struct pw_verdict *v = pw_assert_counterexample(a, i);
	struct pw_port p;
	char port[32];

	if (pw_assert_note(a, i)) {
		fputs("<br>", f);
		html_escape(f, pw_assert_note(a, i));
	}
	if (!v)
		return;
	p = pw_verdict_port(v);
	pw_port_format(&p, port, sizeof(port));
	fputs("<br>counterexample: ", f);
	html_escape(f, pw_verdict_from(v));
	fputs(" \xe2\x86\x92 ", f);
	html_escape(f, pw_verdict_to(v));
	fprintf(f, " on %s is %s", port,
		pw_verdict_allowed(v) ? "allowed" : "denied");
}

static void asserts(const struct report *r, FILE *f)
{
	const struct pw_assert_result *a = r->asserts;
	unsigned line, col;

	if (!a)
		return;
	fputs("<h2 id=\"assertions\">Expectations</h2>\n<p class=\"meta\">", f);
	html_escape(f, r->expect_path);
	fputs("</p>\n<table>\n<tr><th>result</th><th>expectation</th>"
	      "<th>expected</th><th>where</th></tr>\n",
	      f);
	for (size_t i = 0; i < pw_assert_count(a); i++) {
		const char *file = pw_assert_where(a, i, &line, &col);
		bool ok = pw_assert_passed(a, i);

		fprintf(f, "<tr><td class=\"%s\">%s</td><td>",
			ok ? "pass" : "fail", ok ? "PASS" : "FAIL");
		html_escape(f, pw_assert_name(a, i));
		fputs("</td><td>", f);
		html_escape(f, pw_assert_statement(a, i));
		counterexample(f, a, i);
		fputs("</td><td>", f);
		html_escape(f, file ? file : "");
		fprintf(f, ":%u</td></tr>\n", line);
	}
	fputs("</table>\n", f);
}

int report_html(const struct report *r, FILE *f)
{
	fprintf(f,
		"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
		"<meta charset=\"utf-8\">\n"
		/* Nothing may be fetched, even if a string slipped by. */
		"<meta http-equiv=\"Content-Security-Policy\" "
		"content=\"default-src 'none'; style-src 'unsafe-inline'\">\n"
		"<meta name=\"viewport\" "
		"content=\"width=device-width\">\n<title>podwall report"
		"</title>\n<style>\n%s</style>\n</head>\n<body>\n",
		style);
	header(r, f);
	summary(r, f);
	picture(r, f);
	heat(r, f);
	coverage(r, f);
	lint(r, f);
	asserts(r, f);
	fputs("</body>\n</html>\n", f);
	return ferror(f) ? -EIO : 0;
}
