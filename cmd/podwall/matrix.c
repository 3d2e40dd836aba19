// SPDX-License-Identifier: Apache-2.0
/* podwall matrix: every pod-to-pod connection, per port. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "podwall.h"

const char matrix_usage[] =
	"usage: podwall matrix [--port P]... [--count] [--all]\n"
	"                      [-o text|json|csv|md] [-f PATH]... [PATH...]\n"
	"\n"
	"Whether a new connection from each pod to each other pod is allowed,\n"
	"per port. hostNetwork pods and finished pods are left out.\n"
	"\n"
	"  --port P            80, 80/TCP, 53/UDP, 9000/SCTP (repeatable); by\n"
	"                      default every container port a pod declares and\n"
	"                      every port a policy names\n"
	"  --count             only the totals per port (for big clusters)\n"
	"  --all               tables even for more than 60 pods (text)\n"
	"  -o, --output FMT    text (default): a table per port, rows are\n"
	"                      sources, columns destinations, '+' allowed,\n"
	"                      '.' denied, '-' the pod itself;\n"
	"                      json: the object of spec/cli.md;\n"
	"                      csv: port,from,to,allowed rows;\n"
	"                      md: a Markdown table per port\n"
	"  -f, --file PATH     a manifest, a directory or '-' (repeatable)\n"
	"  -h, --help          this text\n"
	"\n"
	"Exit status: 0 answered, 1 errors in the manifests, 2 usage, I/O or\n"
	"parse errors.\n";

/* Beyond this many pods, text output gives the totals unless --all. */
#define TABLE_MAX_PODS 60

enum {
	OPT_PORT = 1000,
	OPT_COUNT,
	OPT_ALL,
};

/* What one run prints: the pods, the ports and either the whole matrix
 * or only the totals. */
struct view {
	const struct pw_engine *e;
	size_t npods;
	struct pw_port *ports;
	char (*port_names)[32];
	size_t nports, cap;
	struct pw_matrix *m; /* NULL when only counting */
	uint64_t *allowed, *denied;
	bool count, all;
};

static const char *pod(const struct view *v, size_t i)
{
	return pw_engine_pod_name(v->e, i);
}

static char cell(const struct view *v, size_t p, size_t from, size_t to)
{
	if (from == to)
		return '-';
	return pw_matrix_allowed(v->m, p, from, to) ? '+' : '.';
}

static void percent(char *buf, size_t len, uint64_t allowed, uint64_t denied)
{
	if (allowed + denied)
		snprintf(buf, len, "%.1f",
			 100.0 * (double)allowed / (double)(allowed + denied));
	else
		snprintf(buf, len, "-");
}

static int digits(size_t n)
{
	int d = 1;

	while (n >= 10) {
		n /= 10;
		d++;
	}
	return d;
}

/* ---- whole matrices ---------------------------------------------- */

static void table_text(const struct view *v, size_t p, int wi, int wn)
{
	char pct[16];

	printf("%s (rows: from, columns: to)\n", v->port_names[p]);
	printf("%*s", wi + wn + 2, "");
	for (size_t j = 0; j < v->npods; j++)
		printf(" %*zu", wi, j + 1);
	putchar('\n');
	for (size_t i = 0; i < v->npods; i++) {
		printf("%*zu %-*s ", wi, i + 1, wn, pod(v, i));
		for (size_t j = 0; j < v->npods; j++)
			printf(" %*c", wi, cell(v, p, i, j));
		putchar('\n');
	}
	percent(pct, sizeof(pct), v->allowed[p], v->denied[p]);
	printf("%s: %llu of %llu pairs allowed (%s%%)\n", v->port_names[p],
	       (unsigned long long)v->allowed[p],
	       (unsigned long long)(v->allowed[p] + v->denied[p]), pct);
}

static void full_text(const struct view *v)
{
	int wi = digits(v->npods), wn = 1, len;

	for (size_t i = 0; i < v->npods; i++) {
		len = (int)strlen(pod(v, i));
		if (len > wn)
			wn = len;
	}
	if (!v->nports)
		printf("no ports: no pod declares one and no policy names one "
		       "(use --port)\n");
	for (size_t p = 0; p < v->nports; p++) {
		if (p)
			putchar('\n');
		table_text(v, p, wi, wn);
	}
	if (v->nports)
		printf("legend: + allowed, . denied, - the pod itself\n");
}

static void full_json(const struct view *v)
{
	struct json w;

	json_init(&w, stdout);
	json_obj_open(&w, NULL);
	json_int(&w, "version", 1);
	json_inline(&w);
	json_arr_open(&w, "pods");
	for (size_t i = 0; i < v->npods; i++)
		json_str(&w, NULL, pod(v, i));
	json_arr_close(&w);
	json_inline(&w);
	json_arr_open(&w, "ports");
	for (size_t p = 0; p < v->nports; p++)
		json_str(&w, NULL, v->port_names[p]);
	json_arr_close(&w);
	json_obj_open(&w, "matrix");
	for (size_t p = 0; p < v->nports; p++) {
		json_obj_open(&w, v->port_names[p]);
		for (size_t i = 0; i < v->npods; i++) {
			json_inline(&w);
			json_obj_open(&w, pod(v, i));
			for (size_t j = 0; j < v->npods; j++)
				if (i != j)
					json_bool(&w, pod(v, j),
						  pw_matrix_allowed(v->m, p, i,
								    j));
			json_obj_close(&w);
		}
		json_obj_close(&w);
	}
	json_obj_close(&w);
	json_obj_close(&w);
	json_end(&w);
}

/* A CSV field, quoted when it must be (RFC 4180). */
static void csv_field(const char *s)
{
	if (!strpbrk(s, ",\"\r\n")) {
		fputs(s, stdout);
		return;
	}
	putchar('"');
	for (; *s; s++) {
		if (*s == '"')
			putchar('"');
		putchar(*s);
	}
	putchar('"');
}

static void full_csv(const struct view *v)
{
	printf("port,from,to,allowed\n");
	for (size_t p = 0; p < v->nports; p++) {
		for (size_t i = 0; i < v->npods; i++) {
			for (size_t j = 0; j < v->npods; j++) {
				if (i == j)
					continue;
				printf("%s,", v->port_names[p]);
				csv_field(pod(v, i));
				putchar(',');
				csv_field(pod(v, j));
				printf(",%s\n",
				       pw_matrix_allowed(v->m, p, i, j) ?
					       "true" :
					       "false");
			}
		}
	}
}

/* Text in a Markdown table cell: pipes escaped. */
static void md_text(const char *s)
{
	for (; *s; s++) {
		if (*s == '|' || *s == '\\')
			putchar('\\');
		putchar(*s);
	}
}

static void table_md(const struct view *v, size_t p)
{
	char pct[16];

	printf("### %s\n\n| from \\\\ to |", v->port_names[p]);
	for (size_t j = 0; j < v->npods; j++) {
		putchar(' ');
		md_text(pod(v, j));
		printf(" |");
	}
	printf("\n| --- |");
	for (size_t j = 0; j < v->npods; j++)
		printf(" :-: |");
	putchar('\n');
	for (size_t i = 0; i < v->npods; i++) {
		printf("| ");
		md_text(pod(v, i));
		printf(" |");
		for (size_t j = 0; j < v->npods; j++)
			printf(" %c |", cell(v, p, i, j));
		putchar('\n');
	}
	percent(pct, sizeof(pct), v->allowed[p], v->denied[p]);
	printf("\n%llu of %llu pairs allowed (%s%%); + allowed, . denied, "
	       "- the pod itself.\n",
	       (unsigned long long)v->allowed[p],
	       (unsigned long long)(v->allowed[p] + v->denied[p]), pct);
}

static void full_md(const struct view *v)
{
	for (size_t p = 0; p < v->nports; p++) {
		if (p)
			putchar('\n');
		table_md(v, p);
	}
}

/* ---- totals only ------------------------------------------------- */

static void count_text(const struct view *v)
{
	int wp = 4, wa = 7, wd = 6, len;
	char pct[16];

	for (size_t p = 0; p < v->nports; p++) {
		len = (int)strlen(v->port_names[p]);
		if (len > wp)
			wp = len;
		len = snprintf(NULL, 0, "%llu",
			       (unsigned long long)v->allowed[p]);
		if (len > wa)
			wa = len;
		len = snprintf(NULL, 0, "%llu",
			       (unsigned long long)v->denied[p]);
		if (len > wd)
			wd = len;
	}
	printf("%-*s  %*s  %*s  %s\n", wp, "port", wa, "allowed", wd, "denied",
	       "% allowed");
	for (size_t p = 0; p < v->nports; p++) {
		percent(pct, sizeof(pct), v->allowed[p], v->denied[p]);
		printf("%-*s  %*llu  %*llu  %9s\n", wp, v->port_names[p], wa,
		       (unsigned long long)v->allowed[p], wd,
		       (unsigned long long)v->denied[p], pct);
	}
}

static void count_json(const struct view *v)
{
	static const char *const keys[] = { "allowed", "denied" };
	const uint64_t *vals[] = { v->allowed, v->denied };
	struct json w;

	json_init(&w, stdout);
	json_obj_open(&w, NULL);
	json_int(&w, "version", 1);
	json_uint(&w, "pod_count", v->npods);
	json_inline(&w);
	json_arr_open(&w, "ports");
	for (size_t p = 0; p < v->nports; p++)
		json_str(&w, NULL, v->port_names[p]);
	json_arr_close(&w);
	for (size_t k = 0; k < 2; k++) {
		json_inline(&w);
		json_obj_open(&w, keys[k]);
		for (size_t p = 0; p < v->nports; p++)
			json_uint(&w, v->port_names[p], vals[k][p]);
		json_obj_close(&w);
	}
	json_obj_close(&w);
	json_end(&w);
}

static void count_csv(const struct view *v)
{
	printf("port,allowed,denied\n");
	for (size_t p = 0; p < v->nports; p++)
		printf("%s,%llu,%llu\n", v->port_names[p],
		       (unsigned long long)v->allowed[p],
		       (unsigned long long)v->denied[p]);
}

static void count_md(const struct view *v)
{
	char pct[16];

	printf("| port | allowed | denied | %% allowed |\n"
	       "| --- | ---: | ---: | ---: |\n");
	for (size_t p = 0; p < v->nports; p++) {
		percent(pct, sizeof(pct), v->allowed[p], v->denied[p]);
		printf("| %s | %llu | %llu | %s |\n", v->port_names[p],
		       (unsigned long long)v->allowed[p],
		       (unsigned long long)v->denied[p], pct);
	}
}

static const struct {
	void (*full)(const struct view *v);
	void (*count)(const struct view *v);
} outputs[OUT_NR] = {
	[OUT_TEXT] = { full_text, count_text },
	[OUT_JSON] = { full_json, count_json },
	[OUT_CSV] = { full_csv, count_csv },
	[OUT_MD] = { full_md, count_md },
};

/* ---- options and computing --------------------------------------- */

static int view_add_port(struct view *v, const struct pw_port *port)
{
	void *np, *nn;

	for (size_t i = 0; i < v->nports; i++)
		if (!pw_port_cmp(&v->ports[i], port))
			return 0;
	if (v->nports == v->cap) {
		v->cap = v->cap ? 2 * v->cap : 8;
		np = realloc(v->ports, v->cap * sizeof(*v->ports));
		if (np)
			v->ports = np;
		nn = realloc(v->port_names, v->cap * sizeof(*v->port_names));
		if (nn)
			v->port_names = nn;
		if (!np || !nn)
			return -ENOMEM;
	}
	v->ports[v->nports] = *port;
	pw_port_format(port, v->port_names[v->nports], 32);
	v->nports++;
	return 0;
}

static void view_free(struct view *v)
{
	pw_matrix_free(v->m);
	free(v->ports);
	free(v->port_names);
	free(v->allowed);
	free(v->denied);
}

static int matrix_opt(const struct cmd *cmd, void *ctx, int opt,
		      const char *arg)
{
	struct view *v = ctx;
	struct pw_port port;

	switch (opt) {
	case OPT_PORT:
		if (port_arg(cmd, arg, &port))
			return EXIT_TROUBLE;
		if (view_add_port(v, &port))
			return cmd_fail(cmd, "%s", strerror(ENOMEM));
		return 0;
	case OPT_COUNT:
		v->count = true;
		return 0;
	case OPT_ALL:
		v->all = true;
		return 0;
	}
	return -1;
}

static int matrix_parse(const struct cmd *cmd, struct inputs *in,
			struct view *v, int argc, char **argv)
{
	static const struct option longopts[] = {
		COMMON_LONGOPTS,
		{ "port", required_argument, NULL, OPT_PORT },
		{ "count", no_argument, NULL, OPT_COUNT },
		{ "all", no_argument, NULL, OPT_ALL },
		{ 0 },
	};
	return cmd_parse(cmd, in, argc, argv, longopts, matrix_opt, v);
}

static int default_ports(struct view *v)
{
	size_t n = pw_engine_default_ports(v->e, NULL, 0);
	struct pw_port *all = calloc(n ? n : 1, sizeof(*all));
	int ret = 0;

	if (!all)
		return -ENOMEM;
	n = pw_engine_default_ports(v->e, all, n);
	for (size_t i = 0; i < n && !ret; i++)
		ret = view_add_port(v, &all[i]);
	free(all);
	return ret;
}

/* Fills the matrix or the totals. 0 or a negative errno. */
static int view_compute(struct view *v)
{
	uint64_t pairs;
	int ret;

	v->npods = pw_engine_pod_count(v->e);
	pairs = (uint64_t)v->npods * (v->npods ? v->npods - 1 : 0);
	v->allowed = calloc(v->nports + 1, sizeof(*v->allowed));
	v->denied = calloc(v->nports + 1, sizeof(*v->denied));
	if (!v->allowed || !v->denied)
		return -ENOMEM;
	if (v->count) {
		for (size_t p = 0; p < v->nports; p++) {
			ret = pw_engine_count(v->e, &v->ports[p],
					      &v->allowed[p], &v->denied[p]);
			if (ret)
				return ret;
		}
		return 0;
	}
	v->m = pw_engine_matrix(v->e, v->ports, v->nports);
	if (!v->m)
		return -errno;
	for (size_t p = 0; p < v->nports; p++) {
		v->allowed[p] = pw_matrix_count_allowed(v->m, p);
		v->denied[p] = pairs - v->allowed[p];
	}
	return 0;
}

int cmd_matrix(const struct cmd *cmd, int argc, char **argv)
{
	struct inputs in = { .fmts = OUT_MASK(OUT_TEXT) | OUT_MASK(OUT_JSON) |
				     OUT_MASK(OUT_CSV) | OUT_MASK(OUT_MD) };
	struct pw_engine *e = NULL;
	struct loaded l = { 0 };
	struct view v = { 0 };
	int status, ret;

	status = matrix_parse(cmd, &in, &v, argc, argv);
	if (status)
		goto out_inputs;
	status = loaded_engine(cmd, &l, &in, &e);
	if (status)
		goto out_loaded;
	v.e = e;
	ret = v.nports ? 0 : default_ports(&v);
	if (!ret && in.fmt == OUT_TEXT && !v.all && !v.count &&
	    pw_engine_pod_count(e) > TABLE_MAX_PODS) {
		printf("%zu pods: too many for tables, totals only "
		       "(--all prints the tables)\n",
		       pw_engine_pod_count(e));
		v.count = true;
	}
	if (!ret)
		ret = view_compute(&v);
	if (ret) {
		status = cmd_fail(cmd, "%s", strerror(-ret));
		goto out_view;
	}
	(v.count ? outputs[in.fmt].count : outputs[in.fmt].full)(&v);
out_view:
	view_free(&v);
	pw_engine_free(e);
out_loaded:
	loaded_free(&l);
out_inputs:
	inputs_free(&in);
	return status == CMD_DONE ? 0 : status;
}
