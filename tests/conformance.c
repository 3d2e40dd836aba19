// SPDX-License-Identifier: Apache-2.0
/*
 * The Kubernetes e2e NetworkPolicy suite, run offline.
 *
 * Reads the cases of /work/shared/conformance/k8s-e2e-netpol.json (see its
 * README) with the library's own YAML reader, writes the cluster state of
 * each probe as manifest text (so the real decoder and validator see it, as
 * they would see a user's files), loads it, builds the engine and compares
 * the matrix on the probe's port with the expected one, pair by pair.
 *
 * usage: conformance FILE [-v]     (-v prints the manifests of failures)
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <podwall/podwall.h>

#include "yaml.h"

/* A growing text buffer. Allocation failures latch `oom`, checked once at
 * the end, so the emitters stay short. */
struct buf {
	char *s;
	size_t n, cap;
	bool oom;
};

static void buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->oom || pw_grow((void **)&b->s, &b->cap, b->n + n + 1, 1)) {
		b->oom = true;
		return;
	}
	memcpy(b->s + b->n, s, n);
	b->n += n;
	b->s[b->n] = '\0';
}

static void buf_puts(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

static void PW_PRINTF(2, 3) buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->oom = true;
		return;
	}
	buf_add(b, s, n);
	free(s);
}

static void buf_free(struct buf *b)
{
	free(b->s);
	memset(b, 0, sizeof(*b));
}

/* ---- writing manifests as JSON ---------------------------------- */

/* What a probe's manifests are made of. */
struct state {
	const struct pw_ynode *pods; /* cluster.pods: name -> synthetic_ip */
	const struct pw_ynode *served; /* case.served.containers */
	const struct pw_ynode *step; /* cases[i].steps[k] */
};

static const char *scalar(const struct pw_ynode *n)
{
	return n && n->type == PW_NODE_SCALAR ? n->scalar.text : NULL;
}

/* The synthetic IP of pod "ns/name", or NULL. */
static const char *pod_ip(const struct state *st, const char *name, size_t len)
{
	const struct pw_ynode *m = st->pods;

	for (size_t i = 0; m && m->type == PW_NODE_MAP && i < m->map.n; i++) {
		const struct pw_pair *p = &m->map.pairs[i];

		if (p->key->scalar.len == len &&
		    !memcmp(p->key->scalar.text, name, len))
			return scalar(pw_node_get(p->value, "synthetic_ip"));
	}
	return NULL;
}

static void json_escaped(struct buf *b, const char *s, size_t n)
{
	char esc[8];

	for (size_t i = 0; i < n; i++) {
		unsigned char c = s[i];

		if (c == '"' || c == '\\' || c < 0x20) {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			buf_puts(b, esc);
		} else {
			buf_add(b, &s[i], 1);
		}
	}
}

/* A string with every ${IP:ns/pod} replaced by that pod's IP; an unknown
 * pod stays as written, and the validator will reject it. */
static void json_string_subst(struct buf *b, const struct state *st,
			      const char *s, size_t n)
{
	static const char mark[] = "${IP:";
	const size_t ml = sizeof(mark) - 1;
	const char *end = s + n, *p, *close, *ip;

	buf_puts(b, "\"");
	while (s < end) {
		p = memmem(s, end - s, mark, ml);
		close = p ? memchr(p, '}', end - p) : NULL;
		if (!close) {
			json_escaped(b, s, end - s);
			break;
		}
		json_escaped(b, s, p - s);
		ip = pod_ip(st, p + ml, close - p - ml);
		if (ip)
			json_escaped(b, ip, strlen(ip));
		else
			json_escaped(b, p, close + 1 - p);
		s = close + 1;
	}
	buf_puts(b, "\"");
}

/* Writes a node of the (JSON) file back as JSON. Plain scalars are JSON
 * numbers, booleans and null, written as they were. */
static void emit(struct buf *b, const struct state *st,
		 const struct pw_ynode *n)
{
	const char *sep = "";

	switch (n->type) {
	case PW_NODE_SCALAR:
		if (n->scalar.style == PW_SCALAR_PLAIN)
			buf_add(b, n->scalar.text, n->scalar.len);
		else
			json_string_subst(b, st, n->scalar.text, n->scalar.len);
		return;
	case PW_NODE_SEQ:
		buf_puts(b, "[");
		for (size_t i = 0; i < n->seq.n; i++, sep = ",") {
			buf_puts(b, sep);
			emit(b, st, n->seq.items[i]);
		}
		buf_puts(b, "]");
		return;
	case PW_NODE_MAP:
		buf_puts(b, "{");
		for (size_t i = 0; i < n->map.n; i++, sep = ",") {
			const struct pw_pair *p = &n->map.pairs[i];

			buf_puts(b, sep);
			emit(b, st, p->key);
			buf_puts(b, ":");
			emit(b, st, p->value);
		}
		buf_puts(b, "}");
		return;
	}
}

static void emit_namespaces(struct buf *b, const struct state *st)
{
	const struct pw_ynode *nl = pw_node_get(st->step, "namespace_labels");

	for (size_t i = 0; nl && nl->type == PW_NODE_MAP && i < nl->map.n;
	     i++) {
		buf_puts(b,
			 "---\n{\"apiVersion\":\"v1\",\"kind\":\"Namespace\","
			 "\"metadata\":{\"name\":");
		emit(b, st, nl->map.pairs[i].key);
		buf_puts(b, ",\"labels\":");
		emit(b, st, nl->map.pairs[i].value);
		buf_puts(b, "}}\n");
	}
}

/* The containers of case.served, the same in every pod. */
static void emit_containers(struct buf *b, const struct state *st)
{
	const struct pw_ynode *cs = st->served;
	const char *sep = "";

	buf_puts(b, "[");
	for (size_t i = 0; cs && cs->type == PW_NODE_SEQ && i < cs->seq.n;
	     i++, sep = ",") {
		const struct pw_ynode *c = cs->seq.items[i];

		buf_printf(b, "%s{\"name\":", sep);
		emit(b, st, pw_node_get(c, "container"));
		buf_puts(b, ",\"ports\":[{\"containerPort\":");
		emit(b, st, pw_node_get(c, "containerPort"));
		buf_puts(b, ",\"protocol\":");
		emit(b, st, pw_node_get(c, "protocol"));
		buf_puts(b, ",\"name\":");
		emit(b, st, pw_node_get(c, "portName"));
		buf_puts(b, "}]}");
	}
	buf_puts(b, "]");
}

/* One Pod; returns -EINVAL when the file lacks what it needs. */
static int emit_pod(struct buf *b, const struct state *st,
		    const struct pw_pair *p)
{
	const char *full = p->key->scalar.text, *slash = strchr(full, '/');
	const char *ip = pod_ip(st, full, p->key->scalar.len);

	if (!slash || !ip)
		return -EINVAL;
	buf_puts(b, "---\n{\"apiVersion\":\"v1\",\"kind\":\"Pod\","
		    "\"metadata\":{\"namespace\":");
	json_string_subst(b, st, full, slash - full);
	buf_puts(b, ",\"name\":");
	json_string_subst(b, st, slash + 1, strlen(slash + 1));
	buf_puts(b, ",\"labels\":");
	emit(b, st, p->value);
	buf_puts(b, "},\"spec\":{\"containers\":");
	emit_containers(b, st);
	buf_puts(b, "},\"status\":{\"phase\":\"Running\",\"podIP\":");
	json_string_subst(b, st, ip, strlen(ip));
	buf_puts(b, "}}\n");
	return 0;
}

/* The manifests of one step: namespaces, pods, policies. */
static int emit_state(struct buf *b, const struct state *st)
{
	const struct pw_ynode *pl = pw_node_get(st->step, "pod_labels");
	const struct pw_ynode *pols = pw_node_get(st->step, "policies");

	if (!pl || pl->type != PW_NODE_MAP || !st->served)
		return -EINVAL;
	emit_namespaces(b, st);
	for (size_t i = 0; i < pl->map.n; i++)
		if (emit_pod(b, st, &pl->map.pairs[i]))
			return -EINVAL;
	for (size_t i = 0; pols && pols->type == PW_NODE_SEQ && i < pols->seq.n;
	     i++) {
		buf_puts(b, "---\n");
		emit(b, st, pols->seq.items[i]);
		buf_puts(b, "\n");
	}
	return b->oom ? -ENOMEM : 0;
}

/* ---- running a probe -------------------------------------------- */

struct probe_run {
	const char *case_id;
	const struct pw_ynode *probe;
	struct buf *report; /* mismatches and errors, for the case */
	bool verbose;
};

static void report_diags(struct buf *r, const struct pw_diags *d)
{
	char line[1024];

	for (size_t i = 0; i < pw_diags_count(d); i++) {
		const struct pw_diag *g = pw_diags_get(d, i);

		pw_diag_format(g, line, sizeof(line));
		buf_printf(r, "    %s: %s\n",
			   pw_severity_name(pw_diag_severity(g)), line);
	}
}

static long pod_index(const struct pw_engine *e, const char *name)
{
	for (size_t i = 0; i < pw_engine_pod_count(e); i++)
		if (!strcmp(pw_engine_pod_name(e, i), name))
			return (long)i;
	return -1;
}

/* Checks expected[from][to]; returns 1 on a mismatch, 0 when it agrees,
 * -1 for the diagonal, which upstream never checks. */
static int compare_cell(struct probe_run *pr, const struct pw_engine *e,
			const struct pw_matrix *m, const char *where,
			const struct pw_ynode *from, const struct pw_pair *cell)
{
	const char *fn = from->scalar.text, *tn = cell->key->scalar.text;
	long fi = pod_index(e, fn), ti = pod_index(e, tn);
	bool want, got;

	if (!strcmp(fn, tn))
		return -1;
	if (fi < 0 || ti < 0 || !pw_node_as_bool(cell->value, &want)) {
		buf_printf(pr->report, "  %s: %s -> %s: not in the matrix\n",
			   where, fn, tn);
		return 1;
	}
	got = pw_matrix_allowed(m, 0, fi, ti);
	if (got == want)
		return 0;
	buf_printf(pr->report, "  %s: %s -> %s: expected %s, got %s\n", where,
		   fn, tn, want ? "allowed" : "denied",
		   got ? "allowed" : "denied");
	return 1;
}

/*
 * Compares the matrix with probe.expected; returns the mismatches. Every
 * pair of the matrix must be checked, so that a short `expected` cannot
 * pass for a good one.
 */
static int compare(struct probe_run *pr, const struct pw_engine *e,
		   const struct pw_matrix *m, const char *where)
{
	const struct pw_ynode *exp = pw_node_get(pr->probe, "expected");
	size_t n = pw_engine_pod_count(e), checked = 0;
	int bad = 0, r;

	for (size_t i = 0; exp && exp->type == PW_NODE_MAP && i < exp->map.n;
	     i++) {
		const struct pw_pair *row = &exp->map.pairs[i];

		for (size_t j = 0;
		     row->value->type == PW_NODE_MAP && j < row->value->map.n;
		     j++) {
			r = compare_cell(pr, e, m, where, row->key,
					 &row->value->map.pairs[j]);
			bad += r > 0;
			checked += r >= 0;
		}
	}
	if (checked != n * (n - 1) || !n) {
		buf_printf(pr->report,
			   "  %s: %zu pairs checked, %zu in the "
			   "matrix\n",
			   where, checked, n * (n ? n - 1 : 0));
		bad++;
	}
	return bad;
}

/* Loads text, builds the engine and compares. 0 when every pair agrees. */
static int probe_check(struct probe_run *pr, const char *name,
		       const struct buf *text, const struct pw_port *port,
		       const char *where)
{
	struct pw_cluster *c = pw_cluster_new();
	struct pw_diags *d = pw_diags_new();
	struct pw_engine *e = NULL;
	struct pw_matrix *m = NULL;
	int ret = -ENOMEM;

	if (!c || !d)
		goto out;
	ret = pw_cluster_load_buffer(c, name, text->s, text->n, d);
	if (!ret)
		ret = pw_cluster_finalize(c, d);
	if (ret) {
		buf_printf(pr->report,
			   "  %s: the manifests did not load (%s)\n", where,
			   strerror(-ret));
		report_diags(pr->report, d);
		goto out;
	}
	e = pw_engine_new(c);
	m = e ? pw_engine_matrix(e, port, 1) : NULL;
	if (!m) {
		ret = -errno;
		buf_printf(pr->report, "  %s: no matrix: %s\n", where,
			   strerror(errno));
		goto out;
	}
	ret = compare(pr, e, m, where) ? -EDOM : 0;
out:
	pw_matrix_free(m);
	pw_engine_free(e);
	pw_diags_free(d);
	pw_cluster_free(c);
	return ret;
}

/* Parses {step, port, protocol} and finds the step. */
static int probe_params(const struct pw_ynode *cs, const struct pw_ynode *probe,
			const struct pw_ynode **step, struct pw_port *port,
			char *where, size_t wlen)
{
	const struct pw_ynode *steps = pw_node_get(cs, "steps");
	const char *proto = scalar(pw_node_get(probe, "protocol"));
	int64_t k, num;
	enum pw_proto pr;

	if (!pw_node_as_int(pw_node_get(probe, "step"), &k) ||
	    !pw_node_as_int(pw_node_get(probe, "port"), &num) || !proto ||
	    pw_proto_parse(proto, &pr) || !steps ||
	    steps->type != PW_NODE_SEQ || k < 0 ||
	    (uint64_t)k >= steps->seq.n || num < 1 || num > 65535)
		return -EINVAL;
	*step = steps->seq.items[k];
	port->num = (uint16_t)num;
	port->proto = (uint8_t)pr;
	snprintf(where, wlen, "step %" PRId64 " port %" PRId64 "/%s", k, num,
		 proto);
	return 0;
}

static int run_probe(struct probe_run *pr, const struct state *base,
		     const struct pw_ynode *cs)
{
	struct state st = *base;
	struct buf text = { 0 };
	struct pw_port port;
	char where[64], name[128];
	int ret;

	ret = probe_params(cs, pr->probe, &st.step, &port, where,
			   sizeof(where));
	if (ret) {
		buf_printf(pr->report,
			   "  a probe without step/port/protocol\n");
		return ret;
	}
	snprintf(name, sizeof(name), "%s-%s.json", pr->case_id, where);
	for (char *p = name; *p; p++)
		if (*p == ' ' || *p == '/')
			*p = '-';
	ret = emit_state(&text, &st);
	if (ret)
		buf_printf(pr->report, "  %s: cannot build the manifests\n",
			   where);
	else
		ret = probe_check(pr, name, &text, &port, where);
	if (ret && pr->verbose && text.s)
		buf_printf(pr->report, "  manifests of %s:\n%s\n", where,
			   text.s);
	buf_free(&text);
	return ret;
}

/* ---- the suite -------------------------------------------------- */

struct tally {
	unsigned passed, failed, cases;
};

static void run_case(const struct pw_ynode *cs, const struct pw_ynode *pods,
		     struct tally *t, bool verbose)
{
	const struct pw_ynode *probes = pw_node_get(cs, "probes");
	const char *id = scalar(pw_node_get(cs, "id"));
	const char *title = scalar(pw_node_get(cs, "name"));
	const struct pw_ynode *served = pw_node_get(cs, "served");
	struct state st = {
		.pods = pods,
		.served = pw_node_get(served, "containers"),
	};
	struct buf report = { 0 };
	unsigned bad = 0;

	if (!id || !title || !probes || probes->type != PW_NODE_SEQ ||
	    !probes->seq.n) {
		printf("FAIL %s: a case without id, name or probes\n",
		       id ? id : "?");
		t->failed++;
		return;
	}
	for (size_t i = 0; i < probes->seq.n; i++) {
		struct probe_run pr = { id, probes->seq.items[i], &report,
					verbose };

		if (run_probe(&pr, &st, cs))
			bad++;
	}
	printf("%s %s %s\n", bad ? "FAIL" : "ok", id, title);
	if (report.s)
		fputs(report.s, stdout);
	t->failed += bad;
	t->passed += probes->seq.n - bad;
	t->cases++;
	buf_free(&report);
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct buf b = { 0 };
	char chunk[65536];
	size_t n;

	if (!f)
		return NULL;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(&b, chunk, n);
	if (ferror(f) || b.oom || !b.s) {
		fclose(f);
		buf_free(&b);
		return NULL;
	}
	fclose(f);
	*len = b.n;
	return b.s;
}

static int run_suite(const struct pw_ynode *root, bool verbose)
{
	const struct pw_ynode *cases = pw_node_get(root, "cases");
	const struct pw_ynode *pods =
		pw_node_get(pw_node_get(root, "cluster"), "pods");
	struct tally t = { 0 };

	if (!cases || cases->type != PW_NODE_SEQ || !pods) {
		printf("FAIL the file has no cases or no cluster.pods\n");
		t.failed++;
	}
	for (size_t i = 0;
	     cases && cases->type == PW_NODE_SEQ && i < cases->seq.n; i++)
		run_case(cases->seq.items[i], pods, &t, verbose);
	if (cases && cases->type == PW_NODE_SEQ && t.cases < cases->seq.n)
		printf("FAIL only %u of %zu cases ran\n", t.cases,
		       cases->seq.n);
	printf("conformance: %u passed, %u failed\n", t.passed, t.failed);
	return t.failed || !cases || t.cases < cases->seq.n;
}

int main(int argc, char **argv)
{
	bool verbose = argc > 2 && !strcmp(argv[2], "-v");
	struct pw_diags *d = pw_diags_new();
	struct pw_yaml *y = NULL;
	size_t len = 0;
	char *text;
	int ret = 1;

	if (argc < 2) {
		fprintf(stderr, "usage: conformance FILE [-v]\n");
		return 2;
	}
	text = read_file(argv[1], &len);
	if (!text || !d) {
		printf("FAIL %s: %s\nconformance: 0 passed, 1 failed\n",
		       argv[1], strerror(errno));
		goto out;
	}
	if (pw_yaml_parse(argv[1], text, len, &y, d) || !pw_yaml_doc_count(y)) {
		printf("FAIL %s: not readable as JSON\n", argv[1]);
		for (size_t i = 0; i < pw_diags_count(d); i++)
			printf("  %s\n", pw_diag_message(pw_diags_get(d, i)));
		printf("conformance: 0 passed, 1 failed\n");
		goto out;
	}
	ret = run_suite(pw_yaml_doc(y, 0), verbose);
out:
	pw_yaml_free(y);
	pw_diags_free(d);
	free(text);
	return ret;
}
