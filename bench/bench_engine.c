// SPDX-License-Identifier: Apache-2.0
/*
 * bench_engine: loads a cluster once and times what happens after loading,
 * which a stopwatch around the podwall program cannot separate from the
 * parse: compiling the engine, and single `explain` queries.
 *
 *   bench_engine [--explains N] [--port P]... [--seed S] PATH...
 *
 * An explain here is what `podwall explain --from A --to B --port P` does
 * once the cluster is loaded: resolve both names, compute the verdict with
 * its reasons, free it. The pairs are drawn with a seeded PRNG over the
 * pods of the matrix, and the ports cycle through the --port values. Each
 * query is timed on its own with CLOCK_MONOTONIC, and the program prints
 * "key value" lines (times in ms for the phases, us per explain) that
 * bench/run.sh reads.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <podwall/podwall.h>

#define MAX_PORTS 16
#define DIAGS_SHOWN 10

static const char *const default_ports[] = { "1001/TCP", "5003/TCP",
					     "8080/TCP" };

struct args {
	long explains;
	uint64_t seed;
	struct pw_port ports[MAX_PORTS];
	size_t nports;
	char **paths;
	int npaths;
};

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static void usage(FILE *f)
{
	fputs("usage: bench_engine [--explains N] [--port P]... [--seed S] "
	      "PATH...\n"
	      "Loads the cluster in PATH once, then times engine compilation\n"
	      "and N explain queries (default 1000) between random pods.\n"
	      "Default ports: 1001/TCP 5003/TCP 8080/TCP.\n",
	      f);
}

static int add_port(struct args *a, const char *s)
{
	if (a->nports == MAX_PORTS || pw_port_parse(s, &a->ports[a->nports]))
		return -EINVAL;
	a->nports++;
	return 0;
}

static int parse_num(const char *s, long *out)
{
	char *end;

	errno = 0;
	*out = strtol(s, &end, 10);
	return (errno || end == s || *end || *out < 1) ? -EINVAL : 0;
}

static int parse_args(int argc, char **argv, struct args *a)
{
	static const struct option lo[] = {
		{ "explains", required_argument, NULL, 'n' },
		{ "port", required_argument, NULL, 'p' },
		{ "seed", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	long seed = 1;
	size_t i;
	int c, err = 0;

	a->explains = 1000;
	while (!err &&
	       (c = getopt_long(argc, argv, "n:p:s:h", lo, NULL)) != -1) {
		if (c == 'n')
			err = parse_num(optarg, &a->explains);
		else if (c == 'p')
			err = add_port(a, optarg);
		else if (c == 's')
			err = parse_num(optarg, &seed);
		else if (c == 'h')
			err = 1;
		else
			err = -EINVAL;
	}
	for (i = 0; !a->nports && i < 3; i++)
		add_port(a, default_ports[i]);
	if (!a->nports)
		return -EINVAL;
	a->seed = (uint64_t)seed;
	a->paths = argv + optind;
	a->npaths = argc - optind;
	if (err == 1) {
		usage(stdout);
		exit(0);
	}
	return err ? err : (a->npaths > 0 ? 0 : -EINVAL);
}

/* splitmix64, as in gen_scale: the same pairs on every run. */
static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void print_diags(const struct pw_diags *d)
{
	char buf[1024];
	size_t i, n = pw_diags_count(d);

	for (i = 0; i < n && i < DIAGS_SHOWN; i++) {
		pw_diag_format(pw_diags_get(d, i), buf, sizeof(buf));
		fprintf(stderr, "bench_engine: %s\n", buf);
	}
}

static struct pw_cluster *load(const struct args *a)
{
	struct pw_diags *d = pw_diags_new();
	struct pw_cluster *c = pw_cluster_new();
	int i, err = (!d || !c) ? -ENOMEM : 0;

	for (i = 0; !err && i < a->npaths; i++)
		err = pw_cluster_load_path(c, a->paths[i], d);
	if (!err)
		err = pw_cluster_finalize(c, d);
	if (err) {
		print_diags(d);
		fprintf(stderr, "bench_engine: loading failed: %s\n",
			strerror(-err));
		pw_cluster_free(c);
		c = NULL;
	}
	pw_diags_free(d);
	return c;
}

/* One explain as the CLI runs it: resolve, verdict, free. -1 on error. */
static int explain_one(const struct pw_engine *e, const char *from,
		       const char *to, const struct pw_port *port)
{
	struct pw_endpoints *f = pw_engine_resolve(e, from);
	struct pw_endpoints *t = pw_engine_resolve(e, to);
	struct pw_verdict *v = NULL;
	int ret = -1;

	if (!f || !t)
		goto out_free_endpoints;
	v = pw_engine_explain(e, f, 0, t, 0, port);
	if (v)
		ret = pw_verdict_allowed(v);
	pw_verdict_free(v);
out_free_endpoints:
	pw_endpoints_free(t);
	pw_endpoints_free(f);
	return ret;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

struct explain_stats {
	double *us; /* per query, sorted afterwards */
	double first; /* the first query, which may fill caches */
	long n;
	long allowed;
};

static int run_explains(const struct pw_engine *e, const struct args *a,
			struct explain_stats *st)
{
	size_t npods = pw_engine_pod_count(e);
	uint64_t rng = a->seed;
	size_t fi, ti;
	double t0;
	long i;
	int r;

	if (npods < 2)
		return -EINVAL;
	for (i = 0; i < a->explains; i++) {
		fi = rng_next(&rng) % npods;
		ti = (fi + 1 + rng_next(&rng) % (npods - 1)) % npods;
		t0 = now_us();
		r = explain_one(e, pw_engine_pod_name(e, fi),
				pw_engine_pod_name(e, ti),
				&a->ports[(size_t)i % a->nports]);
		st->us[i] = now_us() - t0;
		if (r < 0)
			return -EIO;
		st->allowed += r;
	}
	st->n = a->explains;
	st->first = st->us[0];
	qsort(st->us, (size_t)st->n, sizeof(*st->us), cmp_double);
	return 0;
}

static void print_stats(const struct explain_stats *st)
{
	double sum = 0;
	long i;

	for (i = 0; i < st->n; i++)
		sum += st->us[i];
	printf("explains %ld\n", st->n);
	printf("explain_allowed %ld\n", st->allowed);
	printf("explain_us_median %.2f\n", st->us[st->n / 2]);
	printf("explain_us_p99 %.2f\n", st->us[st->n * 99 / 100]);
	printf("explain_us_min %.2f\n", st->us[0]);
	printf("explain_us_first %.2f\n", st->first);
	printf("explain_us_max %.2f\n", st->us[st->n - 1]);
	printf("explain_us_mean %.2f\n", sum / (double)st->n);
}

static int bench(const struct args *a)
{
	struct explain_stats st = { 0 };
	struct pw_cluster *c;
	struct pw_engine *e;
	double t0, t1, t2;
	int err;

	t0 = now_us();
	c = load(a);
	if (!c)
		return -EINVAL;
	t1 = now_us();
	e = pw_engine_new(c);
	t2 = now_us();
	if (!e) {
		err = -errno;
		goto err_free_cluster;
	}
	printf("pods %zu\n", pw_engine_pod_count(e));
	printf("load_ms %.1f\ncompile_ms %.1f\n", (t1 - t0) / 1e3,
	       (t2 - t1) / 1e3);
	st.us = calloc((size_t)a->explains, sizeof(*st.us));
	err = -ENOMEM;
	if (!st.us)
		goto err_free_engine;
	err = run_explains(e, a, &st);
	if (!err)
		print_stats(&st);
	free(st.us);
err_free_engine:
	pw_engine_free(e);
err_free_cluster:
	pw_cluster_free(c);
	return err;
}

int main(int argc, char **argv)
{
	struct args a = { 0 };
	int err;

	if (parse_args(argc, argv, &a)) {
		usage(stderr);
		return 2;
	}
	err = bench(&a);
	if (err) {
		fprintf(stderr, "bench_engine: %s\n", strerror(-err));
		return 1;
	}
	return 0;
}
