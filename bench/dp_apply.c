// SPDX-License-Identifier: Apache-2.0
/*
 * dp_apply: how long the datapath takes to enforce a cluster, and one pod
 * added to it, once the manifests are in memory (what a daemon holding
 * the cluster pays; `podwall apply` adds reading the YAML, which
 * bench/datapath.sh times around the whole command).
 *
 *   dp_apply [--reps N] [--node NAME] --pod FILE PATH...
 *
 * PATH... is the cluster; FILE holds one more pod. Both clusters (without
 * and with the pod) are loaded once, untimed. Then each of N rounds
 * (default 5) flushes podwall's table and times, in the current network
 * namespace:
 *
 *   full    engine of the cluster, its ruleset, a full load (apply)
 *   add     engine of the cluster with the pod, its ruleset, and the
 *           kernel update from the previous ruleset
 *   remove  back to the cluster without the pod, likewise
 *
 * each split into engine, ruleset and kernel time (ms). The kernel update
 * is pw_ruleset_update when libpodwall has it (incremental: only the
 * elements and chains that differ), else pw_ruleset_apply (a replacement
 * of the whole table in one transaction); the "api" line says which.
 * Output, for bench/datapath.sh:
 *
 *   api update
 *   elements 123456 123460
 *   full 120.1 40.2 310.5 470.8
 *   add ...
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <podwall/podwall.h>

#define DIAGS_SHOWN 10

/*
 * The incremental update is being added to libpodwall while this
 * benchmark is written: a weak reference lets one source measure both
 * libraries, probing at run time whether the symbol is there.
 */
#pragma weak pw_ruleset_update

struct args {
	long reps;
	const char *node;
	const char *pod;
	char **paths;
	int npaths;
};

/* Times of one step, ms. */
struct step {
	double engine, ruleset, kernel;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: dp_apply [--reps N] [--node NAME] --pod FILE "
		   "PATH...\n");
}

static int parse_args(int argc, char **argv, struct args *a)
{
	static const struct option opts[] = {
		{ "reps", required_argument, NULL, 'r' },
		{ "node", required_argument, NULL, 'n' },
		{ "pod", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int c;

	*a = (struct args){ .reps = 5 };
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			a->reps = strtol(optarg, &end, 10);
			if (*end || a->reps < 1 || a->reps > 1000)
				return -EINVAL;
			break;
		case 'n':
			a->node = optarg;
			break;
		case 'p':
			a->pod = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			return -EINVAL;
		}
	}
	a->paths = argv + optind;
	a->npaths = argc - optind;
	return a->pod && a->npaths > 0 ? 0 : -EINVAL;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void print_diags(const struct pw_diags *d)
{
	char buf[512];
	size_t i;

	for (i = 0; i < pw_diags_count(d) && i < DIAGS_SHOWN; i++) {
		pw_diag_format(pw_diags_get(d, i), buf, sizeof(buf));
		fprintf(stderr, "dp_apply: %s\n", buf);
	}
}

/* Loads paths (and extra, when not NULL) into a finalized cluster. */
static struct pw_cluster *load(char **paths, int npaths, const char *extra)
{
	struct pw_diags *d = pw_diags_new();
	struct pw_cluster *c = pw_cluster_new();
	int i, err = d && c ? 0 : -ENOMEM;

	for (i = 0; !err && i < npaths; i++)
		err = pw_cluster_load_path(c, paths[i], d);
	if (!err && extra)
		err = pw_cluster_load_path(c, extra, d);
	if (!err)
		err = pw_cluster_finalize(c, d);
	if (!err && pw_diags_error_count(d))
		err = -EINVAL;
	if (err) {
		if (d)
			print_diags(d);
		pw_cluster_free(c);
		c = NULL;
	}
	pw_diags_free(d);
	return c;
}

static int kernel_error(const char *what, int err, char *msg)
{
	fprintf(stderr, "dp_apply: %s: %s: %s\n", what,
		msg ? msg : strerror(-err), pw_datapath_hint(err));
	free(msg);
	return err;
}

/*
 * Builds the ruleset of c for node and moves the kernel from old (NULL:
 * nothing podwall made) to it, timing each part into *st. The new ruleset
 * goes to *out.
 */
static int enforce(const struct pw_cluster *c, const char *node,
		   const struct pw_ruleset *old, struct pw_ruleset **out,
		   struct step *st)
{
	struct pw_engine *e;
	struct pw_ruleset *rs;
	char *msg = NULL;
	double t0 = now_ms(), t1, t2;
	int err;

	e = pw_engine_new(c);
	if (!e)
		return -errno;
	t1 = now_ms();
	rs = pw_ruleset_new(e, node);
	err = rs ? 0 : -errno;
	pw_engine_free(e);
	if (err)
		return err;
	t2 = now_ms();
	if (pw_ruleset_update && old)
		err = pw_ruleset_update(old, rs, NULL, &msg);
	else
		err = pw_ruleset_apply(rs, &msg);
	if (err) {
		pw_ruleset_free(rs);
		return kernel_error("apply", err, msg);
	}
	*st = (struct step){ t1 - t0, t2 - t1, now_ms() - t2 };
	*out = rs;
	return 0;
}

static void print_step(const char *name, const struct step *st)
{
	printf("%s %.3f %.3f %.3f %.3f\n", name, st->engine, st->ruleset,
	       st->kernel, st->engine + st->ruleset + st->kernel);
}

/* One round: flush, full load, pod added, pod removed. */
static int round_trip(const struct pw_cluster *base,
		      const struct pw_cluster *more, const char *node,
		      bool first)
{
	struct pw_ruleset *r0 = NULL, *r1 = NULL, *r2 = NULL;
	struct step st;
	char *msg = NULL;
	int err;

	err = pw_datapath_flush(&msg);
	if (err)
		return kernel_error("flush", err, msg);
	err = enforce(base, node, NULL, &r0, &st);
	if (err)
		goto out;
	print_step("full", &st);
	err = enforce(more, node, r0, &r1, &st);
	if (err)
		goto out;
	print_step("add", &st);
	err = enforce(base, node, r1, &r2, &st);
	if (err)
		goto out;
	print_step("remove", &st);
	if (first)
		printf("elements %zu %zu\n", pw_ruleset_element_count(r0),
		       pw_ruleset_element_count(r1));
out:
	pw_ruleset_free(r2);
	pw_ruleset_free(r1);
	pw_ruleset_free(r0);
	return err;
}

int main(int argc, char **argv)
{
	struct pw_cluster *base = NULL, *more = NULL;
	struct args a;
	long i;
	int err = 0;

	if (parse_args(argc, argv, &a)) {
		usage(stderr);
		return 2;
	}
	base = load(a.paths, a.npaths, NULL);
	more = base ? load(a.paths, a.npaths, a.pod) : NULL;
	if (!base || !more) {
		fprintf(stderr, "dp_apply: cannot load the cluster\n");
		err = -EINVAL;
		goto out;
	}
	printf("api %s\n", pw_ruleset_update ? "update" : "apply");
	for (i = 0; !err && i < a.reps; i++)
		err = round_trip(base, more, a.node, i == 0);
	if (err && err != -EINVAL)
		fprintf(stderr, "dp_apply: %s\n", strerror(-err));
out:
	pw_cluster_free(more);
	pw_cluster_free(base);
	return err ? 1 : 0;
}
