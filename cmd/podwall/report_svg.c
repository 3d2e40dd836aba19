// SPDX-License-Identifier: Apache-2.0
/*
 * The reachability picture of podwall report as inline SVG, laid out here
 * without a library: namespaces are boxes in a grid (sorted by name, row
 * by row), a namespace's workloads sit in columns inside its box, and an
 * allowed connection is an arrow from one workload to another, curved to
 * its right so that the two directions between a pair stay apart,
 * labelled with its ports. A workload that reaches itself (one pod to
 * another of it) gets a small loop. The layout is a function of the names
 * only, so the same manifests always give the same picture.
 *
 * Every element a test or a reader may look for carries data-*
 * attributes: class="workload" data-name, class="edge" data-from data-to
 * data-ports (space-separated, as "80/TCP").
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

/* Geometry, in SVG user units (CSS pixels). */
enum {
	NODE_W = 214,
	NODE_H = 62,
	GAP_X = 72, /* between workload columns: room for labels */
	GAP_Y = 64,
	NS_PAD = 22,
	NS_HEAD = 30,
	NS_GAP = 110, /* between namespace boxes */
	MARGIN = 24,
	LEGEND_H = 64,
};

struct pt {
	double x, y;
};

/* Where each namespace box and workload node is. */
struct layout {
	double *ns_x, *ns_y, *ns_w, *ns_h;
	double *wl_x, *wl_y; /* top left of the node */
	double out_w, out_h; /* the box of the outside, at the top */
	double width, height;
};

static size_t isqrt_up(size_t n)
{
	size_t c = 1;

	while (c * c < n)
		c++;
	return c;
}

/* Columns of workloads inside a namespace: a square-ish grid, at most 3
 * wide so that long names still fit a screen. */
static size_t wl_cols(size_t n)
{
	size_t c = isqrt_up(n);

	return c > 3 ? 3 : c;
}

static double inner_w(size_t n)
{
	size_t c = wl_cols(n);

	return (double)(c * NODE_W + (c - 1) * GAP_X);
}

static double inner_h(size_t n)
{
	size_t c = wl_cols(n), rows = (n + c - 1) / c;

	return (double)(rows * NODE_H + (rows ? rows - 1 : 0) * GAP_Y);
}

/* Column widths and row heights of the namespace grid. */
static void grid_sizes(const struct report *r, size_t g, double *cw, double *rh)
{
	for (size_t n = 0; n < r->nnss; n++) {
		double w = inner_w(r->nss[n].n) + 2 * NS_PAD;
		double h = inner_h(r->nss[n].n) + 2 * NS_PAD + NS_HEAD;

		if (w > cw[n % g])
			cw[n % g] = w;
		if (h > rh[n / g])
			rh[n / g] = h;
	}
}

static void place_workloads(const struct report *r, struct layout *L, size_t n)
{
	const struct rep_ns *ns = &r->nss[n];
	size_t c = wl_cols(ns->n);
	double x0 = L->ns_x[n] + (L->ns_w[n] - inner_w(ns->n)) / 2;
	double y0 = L->ns_y[n] + NS_HEAD +
		    (L->ns_h[n] - NS_HEAD - inner_h(ns->n)) / 2;

	for (size_t k = 0; k < ns->n; k++) {
		L->wl_x[ns->first + k] =
			x0 + (double)(k % c) * (NODE_W + GAP_X);
		L->wl_y[ns->first + k] =
			y0 + (double)(k / c) * (NODE_H + GAP_Y);
	}
}

/* Addresses outside the cluster sit in a box above the namespaces, at
 * most OUT_COLS to a row: most arrows to them start at workloads that are
 * not isolated, usually the infrastructure. Returns the box's height. */
enum { OUT_COLS = 5 };

static double place_outside(const struct report *r, struct layout *L)
{
	size_t cols = r->ncidrs < OUT_COLS ? r->ncidrs : OUT_COLS;
	size_t rows = (r->ncidrs + cols - 1) / cols;

	for (size_t c = 0; c < r->ncidrs; c++) {
		L->wl_x[r->nwls + c] =
			MARGIN + NS_PAD + (double)(c % cols) * (NODE_W + GAP_X);
		L->wl_y[r->nwls + c] = MARGIN + NS_HEAD +
				       (double)(c / cols) * (NODE_H + GAP_Y);
	}
	L->out_w = (double)(cols * NODE_W + (cols - 1) * GAP_X + 2 * NS_PAD);
	L->out_h =
		(double)(rows * NODE_H + (rows - 1) * GAP_Y + NS_PAD + NS_HEAD);
	return L->out_h;
}

static int layout_new(const struct report *r, struct layout *L)
{
	size_t g = isqrt_up(r->nnss ? r->nnss : 1),
	       rows = (r->nnss + g - 1) / g;
	double *cw = calloc(g, sizeof(double)),
	       *rh = calloc(rows + 1, sizeof(double));
	double x, y = MARGIN;

	L->ns_x = calloc(r->nnss + 1, sizeof(double));
	L->ns_y = calloc(r->nnss + 1, sizeof(double));
	L->ns_w = calloc(r->nnss + 1, sizeof(double));
	L->ns_h = calloc(r->nnss + 1, sizeof(double));
	L->wl_x = calloc(r->nwls + r->ncidrs + 1, sizeof(double));
	L->wl_y = calloc(r->nwls + r->ncidrs + 1, sizeof(double));
	if (!cw || !rh || !L->ns_x || !L->ns_y || !L->ns_w || !L->ns_h ||
	    !L->wl_x || !L->wl_y) {
		free(cw);
		free(rh);
		return -1;
	}
	grid_sizes(r, g, cw, rh);
	L->width = 0;
	if (r->ncidrs)
		y += place_outside(r, L) + NS_GAP;
	for (size_t row = 0; row < rows; row++) {
		x = MARGIN;
		for (size_t col = 0; col < g && row * g + col < r->nnss;
		     col++) {
			size_t n = row * g + col;

			L->ns_x[n] = x;
			L->ns_y[n] = y;
			L->ns_w[n] = cw[col];
			L->ns_h[n] = rh[row];
			place_workloads(r, L, n);
			x += cw[col] + NS_GAP;
		}
		if (x - NS_GAP + MARGIN > L->width)
			L->width = x - NS_GAP + MARGIN;
		y += rh[row] + NS_GAP;
	}
	L->height = (rows ? y - NS_GAP : y) + MARGIN + LEGEND_H;
	if (L->width < 640)
		L->width = 640;
	if (L->out_w + 2 * MARGIN > L->width)
		L->width = L->out_w + 2 * MARGIN;
	free(cw);
	free(rh);
	return 0;
}

static void layout_free(struct layout *L)
{
	free(L->ns_x);
	free(L->ns_y);
	free(L->ns_w);
	free(L->ns_h);
	free(L->wl_x);
	free(L->wl_y);
}

/* ---- nodes ---------------------------------------------------------------- */

/* How isolated a workload is one way: none, some or all members. */
enum iso {
	ISO_NONE,
	ISO_SOME,
	ISO_ALL,
};

static enum iso iso_of(const struct rep_wl *wl, enum pw_dir d)
{
	if (!wl->isolated[d])
		return ISO_NONE;
	return wl->isolated[d] == wl->members ? ISO_ALL : ISO_SOME;
}

static const char *const iso_class[] = {
	[ISO_NONE] = "open",
	[ISO_SOME] = "some",
	[ISO_ALL] = "iso",
};

static const char *const iso_words[] = {
	[ISO_NONE] = "not isolated",
	[ISO_SOME] = "partly isolated",
	[ISO_ALL] = "isolated",
};

/* A badge "in"/"out", with a shield when isolated that way. */
static void badge(FILE *f, double x, double y, const char *text, enum iso iso)
{
	fprintf(f,
		"<g class=\"badge %s\"><rect x=\"%.1f\" y=\"%.1f\" "
		"width=\"42\" height=\"16\" rx=\"8\"/>",
		iso_class[iso], x, y);
	if (iso != ISO_NONE)
		fprintf(f,
			"<path class=\"shield\" d=\"M%.1f,%.1f l4.5,1.6 "
			"v3.6 c0,3 -2.2,4.6 -4.5,5.6 c-2.3,-1 -4.5,-2.6 "
			"-4.5,-5.6 v-3.6 z\"/>",
			x + 10, y + 2.6);
	fprintf(f, "<text x=\"%.1f\" y=\"%.1f\">%s</text></g>\n",
		x + (iso == ISO_NONE ? 21 : 26), y + 12, text);
}

static void node(FILE *f, const struct report *r, const struct layout *L,
		 size_t k)
{
	const struct rep_wl *wl = &r->wls[k];
	enum iso in = iso_of(wl, PW_DIR_INGRESS),
		 eg = iso_of(wl, PW_DIR_EGRESS);
	double x = L->wl_x[k], y = L->wl_y[k];

	fputs("<g class=\"workload\" data-name=\"", f);
	html_escape(f, wl->name);
	fprintf(f, "\" data-ingress=\"%s\" data-egress=\"%s\"><title>",
		iso_class[in], iso_class[eg]);
	html_escape(f, wl->name);
	fprintf(f, "\ningress: %s\negress: %s</title>\n", iso_words[in],
		iso_words[eg]);
	fprintf(f,
		"<rect class=\"node %s\" x=\"%.1f\" y=\"%.1f\" width=\"%d\" "
		"height=\"%d\" rx=\"7\"/>\n",
		in == ISO_ALL && eg == ISO_ALL	 ? "iso" :
		in == ISO_NONE && eg == ISO_NONE ? "open" :
						   "some",
		x, y, NODE_W, NODE_H);
	fprintf(f, "<text class=\"wname\" x=\"%.1f\" y=\"%.1f\">", x + 10,
		y + 18);
	html_escape(f, wl->short_name);
	fprintf(f, "</text>\n<text class=\"wkind\" x=\"%.1f\" y=\"%.1f\">",
		x + 10, y + 33);
	html_escape(f, wl->kind);
	fprintf(f, " \xc2\xb7 %zu %s</text>\n", wl->pods,
		wl->pods == 1 ? "pod" : "pods");
	badge(f, x + 10, y + 40, "in", in);
	badge(f, x + 56, y + 40, "out", eg);
	fputs("</g>\n", f);
}

static void ns_box(FILE *f, const struct report *r, const struct layout *L,
		   size_t n)
{
	fputs("<g class=\"namespace\" data-name=\"", f);
	html_escape(f, r->nss[n].name);
	fprintf(f,
		"\"><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
		"rx=\"10\"/><text x=\"%.1f\" y=\"%.1f\">namespace ",
		L->ns_x[n], L->ns_y[n], L->ns_w[n], L->ns_h[n], L->ns_x[n] + 12,
		L->ns_y[n] + 20);
	html_escape(f, r->nss[n].name);
	fputs("</text></g>\n", f);
}

/* ---- edges ---------------------------------------------------------------- */

static struct pt center(const struct layout *L, size_t k)
{
	return (struct pt){ L->wl_x[k] + NODE_W / 2.0,
			    L->wl_y[k] + NODE_H / 2.0 };
}

/* Where the ray from the centre of node k towards t leaves the node. */
static struct pt border(const struct layout *L, size_t k, struct pt t)
{
	struct pt c = center(L, k);
	double dx = t.x - c.x, dy = t.y - c.y, s = 1e9;

	if (fabs(dx) > 1e-9)
		s = (NODE_W / 2.0 + 3) / fabs(dx);
	if (fabs(dy) > 1e-9 && (NODE_H / 2.0 + 3) / fabs(dy) < s)
		s = (NODE_H / 2.0 + 3) / fabs(dy);
	return (struct pt){ c.x + dx * s, c.y + dy * s };
}

static void edge_open(FILE *f, const struct report *r,
		      const struct rep_edge *ed, char *ports, size_t len)
{
	report_ports_text(r, ed->ports, ports, len);
	fprintf(f, "<g class=\"edge%s\" data-from=\"",
		ed->partial ? " partial" : "");
	html_escape(f, r->wls[ed->from].name);
	fputs("\" data-to=\"", f);
	html_escape(f, r->wls[ed->to].name);
	fprintf(f, "\" data-ports=\"%s\"><title>", ports);
	html_escape(f, r->wls[ed->from].name);
	fputs(" \xe2\x86\x92 ", f);
	html_escape(f, r->wls[ed->to].name);
	fprintf(f, "\n%s%s</title>\n", ports,
		ed->partial ? "\n(not every pod pair on every port)" : "");
}

/* The visible label: the ports, or their count when the edge has every
 * port examined and there are many. */
static void edge_label(FILE *f, const struct report *r,
		       const struct rep_edge *ed, const char *ports,
		       struct pt at)
{
	int n = __builtin_popcountll(ed->ports);

	fprintf(f, "<text class=\"elabel\" x=\"%.1f\" y=\"%.1f\">", at.x,
		at.y + 4);
	if ((size_t)n == r->nports && n > 3)
		fprintf(f, "all %d ports", n);
	else
		fputs(ports, f);
	fputs("</text>\n", f);
}

/*
 * Many arrows into one workload on the same ports (every pod to the DNS
 * pods) would pile their labels up at it: from SHARE_MIN of them on, the
 * label is written once, next to the destination, on the side they come
 * from.
 */
enum { SHARE_MIN = 3 };

/* How many edges from other workloads go to ed->to on ed's ports; *first
 * (when given) is the index of the first of them. */
static size_t same_into(const struct report *r, const struct rep_edge *ed,
			size_t *first)
{
	size_t n = 0;

	for (size_t i = 0; i < r->nedges; i++) {
		const struct rep_edge *o = &r->edges[i];

		if (o->to != ed->to || o->from == o->to ||
		    o->ports != ed->ports)
			continue;
		if (!n++ && first)
			*first = i;
	}
	return n;
}

static void shared_label(FILE *f, const struct report *r,
			 const struct layout *L, size_t i, size_t n)
{
	const struct rep_edge *ed = &r->edges[i];
	struct pt c = center(L, ed->to), u = { 0, 0 }, at;
	char ports[REPORT_MAX_PORTS * 12];
	double len;

	for (size_t k = 0; k < r->nedges; k++) {
		const struct rep_edge *o = &r->edges[k];
		struct pt s = center(L, o->from);

		if (o->to != ed->to || o->from == o->to ||
		    o->ports != ed->ports)
			continue;
		len = hypot(s.x - c.x, s.y - c.y);
		u.x += (s.x - c.x) / len;
		u.y += (s.y - c.y) / len;
	}
	len = hypot(u.x, u.y);
	u = len < 1e-9 ? (struct pt){ 0, 1 } :
			 (struct pt){ u.x / len, u.y / len };
	at = border(L, ed->to, (struct pt){ c.x + u.x, c.y + u.y });
	report_ports_text(r, ed->ports, ports, sizeof(ports));
	fprintf(f,
		"<text class=\"elabel shared\" x=\"%.1f\" y=\"%.1f\">%s "
		"(%zu arrows)</text>\n",
		at.x + u.x * 34, at.y + u.y * 34 + 4, ports, n);
}

static void shared_labels(FILE *f, const struct report *r,
			  const struct layout *L)
{
	size_t first = 0, n;

	for (size_t i = 0; i < r->nedges; i++) {
		n = same_into(r, &r->edges[i], &first);
		if (r->edges[i].from != r->edges[i].to && n >= SHARE_MIN &&
		    first == i)
			shared_label(f, r, L, i, n);
	}
}

/* The curve from node a to node b (indexes of the layout: workloads,
 * then CIDRs); returns where its label goes. */
static struct pt arrow(FILE *f, const struct layout *L, size_t from, size_t to)
{
	struct pt a = center(L, from), b = center(L, to), c, p, q;
	double dx = b.x - a.x, dy = b.y - a.y, len = hypot(dx, dy), bend;

	/* Bend to the right of the direction of travel. */
	bend = len * 0.18 < 24 ? 24 : len * 0.18;
	c = (struct pt){ (a.x + b.x) / 2 + dy / len * bend,
			 (a.y + b.y) / 2 - dx / len * bend };
	p = border(L, from, c);
	q = border(L, to, c);
	fprintf(f,
		"<path d=\"M%.1f,%.1f Q%.1f,%.1f %.1f,%.1f\" "
		"marker-end=\"url(#arrow)\"/>\n",
		p.x, p.y, c.x, c.y, q.x, q.y);
	/* Nearer the source than the middle: arrows gather at busy
	 * destinations (the DNS pods), their sources are spread out. */
	return (struct pt){ 0.36 * p.x + 0.48 * c.x + 0.16 * q.x,
			    0.36 * p.y + 0.48 * c.y + 0.16 * q.y };
}

static void edge(FILE *f, const struct report *r, const struct layout *L,
		 const struct rep_edge *ed)
{
	char ports[REPORT_MAX_PORTS * 12];
	struct pt m;

	edge_open(f, r, ed, ports, sizeof(ports));
	m = arrow(f, L, ed->from, ed->to);
	if (same_into(r, ed, NULL) < SHARE_MIN)
		edge_label(f, r, ed, ports, m);
	fputs("</g>\n", f);
}

/* A connection with addresses outside the cluster. */
static void ext_edge(FILE *f, const struct report *r, const struct layout *L,
		     const struct rep_ext *x)
{
	const char *wl = r->wls[x->wl].name, *cidr = r->cidrs[x->cidr];
	size_t node = r->nwls + x->cidr;
	struct pt m;

	fputs("<g class=\"edge external\" data-from=\"", f);
	html_escape(f, x->egress ? wl : cidr);
	fputs("\" data-to=\"", f);
	html_escape(f, x->egress ? cidr : wl);
	fprintf(f, "\" data-ports=\"%s\"><title>", x->ports);
	html_escape(f, x->egress ? wl : cidr);
	fputs(" \xe2\x86\x92 ", f);
	html_escape(f, x->egress ? cidr : wl);
	fprintf(f, "\n%s</title>\n", x->ports);
	m = x->egress ? arrow(f, L, x->wl, node) : arrow(f, L, node, x->wl);
	fprintf(f, "<text class=\"elabel\" x=\"%.1f\" y=\"%.1f\">%s</text>\n",
		m.x, m.y + 4, x->all ? "all ports" : x->ports);
	fputs("</g>\n", f);
}

/* The box of the outside and its CIDRs. */
static void outside(FILE *f, const struct report *r, const struct layout *L)
{
	if (!r->ncidrs)
		return;
	fprintf(f,
		"<g class=\"outside\"><rect x=\"%d\" y=\"%d\" width=\"%.1f\" "
		"height=\"%.1f\" rx=\"10\"/><text x=\"%d\" y=\"%d\">outside "
		"the cluster</text></g>\n",
		MARGIN, MARGIN, L->out_w, L->out_h, MARGIN + 12, MARGIN + 20);
	for (size_t c = 0; c < r->ncidrs; c++) {
		double x = L->wl_x[r->nwls + c], y = L->wl_y[r->nwls + c];
		const char *s = r->cidrs[c];
		bool any = !strncmp(s, "0.0.0.0/0", 9) ||
			   !strncmp(s, "::/0", 4);

		fputs("<g class=\"cidr\" data-name=\"", f);
		html_escape(f, s);
		fprintf(f,
			"\"><rect class=\"node ext\" x=\"%.1f\" y=\"%.1f\" "
			"width=\"%d\" height=\"%d\" rx=\"7\"/><text "
			"class=\"wname\" x=\"%.1f\" y=\"%.1f\">",
			x, y, NODE_W, NODE_H, x + 10, y + 24);
		html_escape(f, s);
		fprintf(f,
			"</text><text class=\"wkind\" x=\"%.1f\" y=\"%.1f\">"
			"%s</text></g>\n",
			x + 10, y + 42,
			any ? "every address not named elsewhere" :
			      "addresses");
	}
}

/* A workload that reaches itself: a loop over its top edge. */
static void loop(FILE *f, const struct report *r, const struct layout *L,
		 const struct rep_edge *ed)
{
	double x = L->wl_x[ed->from] + 24, y = L->wl_y[ed->from];
	char ports[REPORT_MAX_PORTS * 12];

	edge_open(f, r, ed, ports, sizeof(ports));
	fprintf(f,
		"<path d=\"M%.1f,%.1f C%.1f,%.1f %.1f,%.1f %.1f,%.1f\" "
		"marker-end=\"url(#arrow)\"/>\n",
		x, y - 2, x - 14, y - 34, x + 34, y - 34, x + 22, y - 4);
	edge_label(f, r, ed, ports, (struct pt){ x + 62, y - 22 });
	fputs("</g>\n", f);
}

/* ---- the picture ---------------------------------------------------------- */

static void defs(FILE *f)
{
	fputs("<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"9\" "
	      "refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" "
	      "orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" "
	      "class=\"arrowhead\"/></marker></defs>\n",
	      f);
}

static void legend(FILE *f, const struct layout *L)
{
	double y = L->height - LEGEND_H + 14;

	fprintf(f, "<g class=\"legend\" transform=\"translate(%d,%.1f)\">\n",
		MARGIN, y);
	badge(f, 0, 0, "in", ISO_ALL);
	fputs("<text x=\"48\" y=\"12\">isolated for ingress (a policy selects "
	      "every pod)</text>\n",
	      f);
	badge(f, 400, 0, "in", ISO_SOME);
	fputs("<text x=\"448\" y=\"12\">some pods isolated</text>\n", f);
	badge(f, 600, 0, "in", ISO_NONE);
	fputs("<text x=\"648\" y=\"12\">not isolated: open to all "
	      "(\"out\": the same for egress)</text>\n",
	      f);
	fputs("<path class=\"lg\" d=\"M0,36 L40,36\" "
	      "marker-end=\"url(#arrow)\"/><text x=\"48\" y=\"40\">allowed "
	      "connection, with the ports examined on which it is allowed "
	      "(with the outside: every port); dashed: not for every pod "
	      "pair</text>\n</g>\n",
	      f);
}

void report_svg(const struct report *r, FILE *f)
{
	struct layout L = { 0 };

	if (layout_new(r, &L)) {
		layout_free(&L);
		fputs("<p>(out of memory: no picture)</p>\n", f);
		return;
	}
	fprintf(f,
		"<svg class=\"picture\" "
		"width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
		"role=\"img\">\n",
		L.width, L.height, L.width, L.height);
	defs(f);
	for (size_t n = 0; n < r->nnss; n++)
		ns_box(f, r, &L, n);
	outside(f, r, &L);
	for (size_t k = 0; k < r->nwls; k++)
		node(f, r, &L, k);
	/* Over the nodes, so that no label hides under one. */
	fputs("<g class=\"edges\">\n", f);
	for (size_t i = 0; i < r->nedges; i++)
		if (r->edges[i].from == r->edges[i].to)
			loop(f, r, &L, &r->edges[i]);
		else
			edge(f, r, &L, &r->edges[i]);
	shared_labels(f, r, &L);
	for (size_t i = 0; i < r->nexts; i++)
		ext_edge(f, r, &L, &r->exts[i]);
	fputs("</g>\n", f);
	legend(f, &L);
	fputs("</svg>\n", f);
	layout_free(&L);
}
