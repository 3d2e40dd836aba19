// SPDX-License-Identifier: Apache-2.0
/*
 * nft_backends: the two ways of loading one ruleset into the kernel,
 * measured in the same run, alternating, in the current network
 * namespace (docs/DATAPATH.md, "Talking to the kernel").
 *
 *   nft_backends [--reps N] [--node NAME] [--ct-mark-mask M] PATH...
 *   nft_backends [--reps N] [--node NAME] [--ct-mark-mask M] --pod FILE PATH...
 *
 * The cluster is loaded and compiled once, untimed. Each of N rounds
 * (default 7) times one full load through libnftables (the rendered text,
 * pw_ruleset_apply_text: render + parse + evaluate + netlink) and one
 * through netlink messages built with libnftnl (pw_ruleset_apply), in
 * alternating order, each starting from the other's table, so both
 * replace a table of the same size. Prints each time and the medians.
 *
 * With --pod, the cluster with and without the pod in FILE are compiled,
 * the one without is loaded, and each round times pw_ruleset_update to
 * the cluster with the pod and back: the whole call, and its parts as
 * pw_apply_stats reports them (comparing and building the batch; the
 * kernel). The kernel form of each ruleset is built on its first update
 * and cached in it; that one-off cost is printed apart ("encode").
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <podwall/podwall.h>

#define MAX_REPS 101

typedef int (*apply_fn)(const struct pw_ruleset *, char **);

static const struct {
	const char *name;
	apply_fn fn;
} backends[] = {
	{ "libnftables", pw_ruleset_apply_text },
	{ "netlink", pw_ruleset_apply },
};

#define NB (sizeof(backends) / sizeof(backends[0]))

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static struct pw_ruleset *compile(char **paths, int n, const char *extra,
				  const char *node)
{
	struct pw_diags *d = pw_diags_new();
	struct pw_cluster *c = pw_cluster_new();
	struct pw_ruleset *rs = NULL;
	struct pw_engine *e = NULL;
	int err = d && c ? 0 : -ENOMEM;

	for (int i = 0; !err && i < n; i++)
		err = pw_cluster_load_path(c, paths[i], d);
	if (!err && extra)
		err = pw_cluster_load_path(c, extra, d);
	if (!err)
		err = pw_cluster_finalize(c, d);
	if (!err && !pw_diags_error_count(d))
		e = pw_engine_new(c);
	if (e)
		rs = pw_ruleset_new(e, node);
	pw_engine_free(e);
	pw_cluster_free(c);
	pw_diags_free(d);
	return rs;
}

static int run(const struct pw_ruleset *rs, long reps)
{
	static double t[NB][MAX_REPS];
	char *msg = NULL;

	for (long r = 0; r < reps; r++) {
		for (size_t k = 0; k < NB; k++) {
			size_t b = (size_t)r % 2 ? NB - 1 - k : k;
			double t0 = now_ms();
			int err = backends[b].fn(rs, &msg);

			if (err) {
				fprintf(stderr, "nft_backends: %s: %s: %s\n",
					backends[b].name,
					msg ? msg : strerror(-err),
					pw_datapath_hint(err));
				free(msg);
				return 1;
			}
			t[b][r] = now_ms() - t0;
			printf("round %ld %s %.1f ms\n", r, backends[b].name,
			       t[b][r]);
		}
	}
	for (size_t b = 0; b < NB; b++) {
		qsort(t[b], (size_t)reps, sizeof(double), cmp_double);
		printf("median %s %.1f ms (min %.1f, max %.1f), %zu "
		       "elements\n",
		       backends[b].name, t[b][reps / 2], t[b][0],
		       t[b][reps - 1], pw_ruleset_element_count(rs));
	}
	return 0;
}

static int update(const struct pw_ruleset *from, const struct pw_ruleset *to,
		  double t[3], struct pw_apply_stats *st)
{
	char *msg = NULL;
	double t0 = now_ms();
	int err = pw_ruleset_update(from, to, st, &msg);

	if (err) {
		fprintf(stderr, "nft_backends: update: %s: %s\n",
			msg ? msg : strerror(-err), pw_datapath_hint(err));
		free(msg);
		return 1;
	}
	t[0] = now_ms() - t0;
	t[1] = (double)st->diff_ns / 1e6;
	t[2] = (double)st->kernel_ns / 1e6;
	return 0;
}

static void medians(const char *what, double v[3][MAX_REPS], long reps)
{
	static const char *const part[] = { "call", "diff", "kernel" };

	for (int k = 0; k < 3; k++) {
		qsort(v[k], (size_t)reps, sizeof(double), cmp_double);
		printf("median %s %s %.3f ms (min %.3f, max %.3f)\n", what,
		       part[k], v[k][reps / 2], v[k][0], v[k][reps - 1]);
	}
}

static int run_pod(const struct pw_ruleset *a, const struct pw_ruleset *b,
		   long reps)
{
	static double add[3][MAX_REPS], del[3][MAX_REPS];
	struct pw_apply_stats st;
	char what[256];
	double t[3];

	if (update(NULL, a, t, &st) || update(a, b, t, &st))
		return 1;
	printf("encode+add (first update, builds the kernel form of the "
	       "new ruleset) %.1f ms\n",
	       t[0]);
	if (update(b, a, t, &st))
		return 1;
	for (long r = 0; r < reps; r++) {
		if (update(a, b, t, &st))
			return 1;
		for (int k = 0; k < 3; k++)
			add[k][r] = t[k];
		pw_apply_stats_format(&st, what, sizeof(what));
		printf("round %ld add %.3f ms (diff %.3f, kernel %.3f): %s\n",
		       r, t[0], t[1], t[2], what);
		if (update(b, a, t, &st))
			return 1;
		for (int k = 0; k < 3; k++)
			del[k][r] = t[k];
		pw_apply_stats_format(&st, what, sizeof(what));
		printf("round %ld remove %.3f ms (diff %.3f, kernel %.3f): %s\n",
		       r, t[0], t[1], t[2], what);
	}
	medians("add", add, reps);
	medians("remove", del, reps);
	printf("elements %zu\n", pw_ruleset_element_count(a));
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "reps", required_argument, NULL, 'r' },
		{ "node", required_argument, NULL, 'n' },
		{ "pod", required_argument, NULL, 'p' },
		{ "ct-mark-mask", required_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 },
	};
	const char *node = NULL, *pod = NULL;
	struct pw_ruleset *rs, *rs2 = NULL;
	uint32_t mask = PW_CT_MARK_MASK_DEFAULT;
	long reps = 7;
	int c, status;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'r')
			reps = strtol(optarg, NULL, 10);
		else if (c == 'n')
			node = optarg;
		else if (c == 'p')
			pod = optarg;
		else if (c == 'm')
			mask = (uint32_t)strtoul(optarg, NULL, 0);
		else
			return 2;
	}
	if (optind >= argc || reps < 1 || reps > MAX_REPS) {
		fprintf(stderr, "usage: nft_backends [--reps N] [--node NAME] "
				"[--ct-mark-mask MASK] [--pod FILE] PATH...\n");
		return 2;
	}
	rs = compile(argv + optind, argc - optind, NULL, node);
	if (pod)
		rs2 = compile(argv + optind, argc - optind, pod, node);
	if (!rs || (pod && !rs2) || pw_ruleset_set_ct_mark_mask(rs, mask) ||
	    (rs2 && pw_ruleset_set_ct_mark_mask(rs2, mask))) {
		fprintf(stderr, "nft_backends: cannot compile the cluster\n");
		pw_ruleset_free(rs2);
		pw_ruleset_free(rs);
		return 2;
	}
	status = pod ? run_pod(rs, rs2, reps) : run(rs, reps);
	pw_ruleset_free(rs2);
	pw_ruleset_free(rs);
	return status;
}
