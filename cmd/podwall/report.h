/* SPDX-License-Identifier: Apache-2.0 */
/*
 * podwall report: what the writers of each format share. report.c loads
 * the cluster and computes the facts once (workloads, the edges between
 * them, coverage, lint, assertions); report_html.c, report_svg.c and
 * report_text.c only print them.
 */
#ifndef PODWALL_CMD_REPORT_H
#define PODWALL_CMD_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <podwall/podwall.h>
#include <podwall/report.h>

#define REPORT_MAX_PORTS 64
/* Beyond this many workloads the picture and the heat map are not drawn
 * (nobody reads them, and the page would be tens of megabytes): the page
 * says so and points to the other formats. */
#define REPORT_MAX_DRAWN 150

/* One workload as the picture shows it. */
struct rep_wl {
	const char *name; /* "ns/name[Kind]" or "ns/name" */
	char *short_name; /* after "ns/", without "[Kind]"; owned */
	const char *kind;
	size_t ns; /* index into report.nss */
	size_t pods; /* pods, templates left out */
	size_t members; /* pods and templates */
	size_t isolated[PW_DIR_NR]; /* members isolated that way */
};

/* A namespace: its workloads are wls[first .. first + n). */
struct rep_ns {
	const char *name;
	size_t first, n;
	size_t members;
	size_t pods;
	size_t isolated[PW_DIR_NR]; /* pods (or members when no pods) */
	size_t counted; /* what isolated[] counts: pods, else members */
};

/*
 * Connections from workload `from` to workload `to`: a port is in
 * `ports` when some member of from reaches some member of to on it
 * (members are distinct pods: a pod always reaches itself), and in
 * `partial` when some other pair of them is denied on it.
 */
struct rep_edge {
	size_t from, to;
	uint64_t ports; /* bit p: report.ports[p] */
	uint64_t partial;
};

/*
 * A connection between a workload and addresses outside the cluster (a
 * CIDR of the address classes), on every port, not only those examined:
 * report_outside.c takes them from podwall diff's grouping of the cluster
 * against an empty one, where every allowed connection is "added".
 */
struct rep_ext {
	size_t wl;
	size_t cidr; /* index into report.cidrs */
	bool egress; /* workload -> CIDR; else CIDR -> workload */
	char *ports; /* "443/TCP 8000-8080/TCP", owned */
	bool all; /* every port of TCP, UDP and SCTP */
};

struct report {
	const struct pw_engine *e;
	struct pw_workloads *w;
	struct pw_port ports[REPORT_MAX_PORTS];
	size_t nports;
	struct rep_wl *wls;
	size_t nwls;
	struct rep_ns *nss;
	size_t nnss;
	struct rep_edge *edges; /* sorted by from, then to */
	size_t nedges, cap_edges;
	/* Heat map: per (from, to) workload pair, allowed and examined
	 * (pair, port) combinations; NULL when there are more than
	 * REPORT_MAX_DRAWN workloads. */
	uint64_t *cell_allowed, *cell_total;
	/* As diff sorts them, owned; CIDRs that every workload treats alike
	 * share one entry, their names joined by a space. */
	char **cidrs;
	bool outside; /* cidrs and exts computed (not for big clusters) */
	size_t ncidrs;
	struct rep_ext *exts;
	size_t nexts, cap_exts;
	struct pw_lint *lint;
	struct pw_assert_result *asserts; /* NULL without --expect */
	const char *expect_path;
	size_t nfiles; /* manifest files */
	const struct pw_cluster *cluster;
};

/* "namespace" or "namespaces": a word whose plural adds an s. */
#define PLURAL(n, word) ((n) == 1 ? word : word "s")

/* Writers, one per format: 0 or -errno of the stream. */
int report_html(const struct report *r, FILE *f);
int report_md(const struct report *r, FILE *f);
int report_junit(const struct report *r, FILE *f);
int report_dot(const struct report *r, FILE *f);

/* Fills cidrs and exts (report_outside.c). 0 or -ENOMEM. */
int report_outside(struct report *r);
void report_outside_free(struct report *r);

/* The SVG picture of the workloads and edges (report_svg.c). */
void report_svg(const struct report *r, FILE *f);

/* Writes s escaped for HTML text and attribute values (& < > " '), and
 * bytes that are not printable ASCII or valid UTF-8 as U+FFFD, so that a
 * manifest or file name can never open markup. */
void html_escape(FILE *f, const char *s);

/* "80/TCP 443/TCP" for the ports in mask, into buf (space-separated). */
void report_ports_text(const struct report *r, uint64_t mask, char *buf,
		       size_t len);

/* Counts and cells of the heat map. */
static inline uint64_t report_cell(const uint64_t *v, const struct report *r,
				   size_t from, size_t to)
{
	return v[from * r->nwls + to];
}

#endif
