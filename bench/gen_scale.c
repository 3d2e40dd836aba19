// SPDX-License-Identifier: Apache-2.0
/*
 * gen_scale: writes a cluster in the shape of the sig-network NetworkPolicy
 * scale workload (the kube-burner "network-policy" workload of
 * github.com/npinaeva/k8s-netpol-scale), as one multi-document YAML file.
 *
 * The workload's knobs keep their names (NAMESPACES, PODS_PER_NAMESPACE,
 * NETPOLS_PER_NAMESPACE, LOCAL_PODS, SINGLE_PORTS, PORT_RANGES,
 * POD_SELECTORS, PEER_NAMESPACES, PEER_PODS, CIDRS) as options here, and
 * the objects follow its templates:
 *
 *   - namespaces network-policy-perf-<i>, i from 0;
 *   - pods test-pod-<r>, r from 1, labelled "1".."r" = "true" (so the
 *     label "k" selects the pods k..PODS) plus num=<r> and test-pod=true;
 *   - policies ingress-<r> and egress-<r> selecting the last LOCAL_PODS
 *     pods; each has POD_SELECTORS rules whose one peer selects the last
 *     PEER_PODS pods of PEER_NAMESPACES namespaces named with
 *     `kubernetes.io/metadata.name In [...]`, and CIDRS rules whose peer is
 *     an ipBlock 1.0.0.0/24, 1.0.1.0/24, ... (different inside a
 *     namespace); every rule lists SINGLE_PORTS ports 1001, 1002, ... and
 *     PORT_RANGES ranges 5000-5005, 5010-5015, ...
 *
 * Where this differs from the templates, on purpose: the namespace sets
 * are drawn with a seeded PRNG and never repeat (the templates walk the
 * combinations in lexicographic order, so neighbours share all but one
 * namespace, and mirror ingress onto egress); pods get addresses, nodes
 * and a second container port, which a real cluster has and an offline
 * analysis needs. docs/BENCHMARKS.md explains both.
 *
 * The output depends only on the options: same options, same bytes.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS_PREFIX "network-policy-perf-"
#define SINGLE_PORT_BASE 1000 /* the first single port is 1001 */
#define RANGE_BASE 5000 /* ranges 5000-5005, 5010-5015, ... */
#define RANGE_WIDTH 5
#define RANGE_STEP 10

/* ---- options ------------------------------------------------------- */

struct opts {
	long namespaces;
	long pods;
	long netpols;
	long local_pods;
	long single_ports;
	long port_ranges;
	long pod_selectors;
	long peer_namespaces;
	long peer_pods;
	long cidrs;
	long nodes;
	long ingress;
	long egress;
	long seed;
};

/*
 * Every numeric option, its default (the size of the real cluster the
 * workload was modelled on: 604 namespaces, ~5400 pods, ~13700 policies,
 * with the median policy profile of that cluster) and its bounds.
 */
struct opt_def {
	const char *name;
	size_t off;
	long def;
	long min;
	long max;
	const char *help;
};

#define OPT(name, field) name, offsetof(struct opts, field)

static const struct opt_def opt_defs[] = {
	{ OPT("namespaces", namespaces), 604, 1, 100000, "NAMESPACES" },
	{ OPT("pods", pods), 9, 1, 1000, "PODS_PER_NAMESPACE" },
	{ OPT("netpols", netpols), 11, 0, 10000,
	  "NETPOLS_PER_NAMESPACE (each direction)" },
	{ OPT("local-pods", local_pods), 6, 1, 1000,
	  "LOCAL_PODS selected by spec.podSelector" },
	{ OPT("single-ports", single_ports), 1, 0, 1000,
	  "SINGLE_PORTS per rule" },
	{ OPT("port-ranges", port_ranges), 1, 0, 1000, "PORT_RANGES per rule" },
	{ OPT("pod-selectors", pod_selectors), 1, 0, 1000,
	  "POD_SELECTORS rules per policy" },
	{ OPT("peer-namespaces", peer_namespaces), 3, 1, 100000,
	  "PEER_NAMESPACES per selector" },
	{ OPT("peer-pods", peer_pods), 2, 1, 1000, "PEER_PODS per selector" },
	{ OPT("cidrs", cidrs), 1, 0, 65536, "CIDRS rules per policy" },
	{ OPT("nodes", nodes), 20, 1, 65536, "nodes the pods are spread over" },
	{ OPT("ingress", ingress), 1, 0, 1,
	  "generate ingress-<n> policies (INGRESS)" },
	{ OPT("egress", egress), 1, 0, 1,
	  "generate egress-<n> policies (EGRESS)" },
	{ OPT("seed", seed), 1, 0, 0x7fffffff,
	  "PRNG seed for the namespace sets" },
};

static long *opt_field(struct opts *o, const struct opt_def *d)
{
	return (long *)((char *)o + d->off);
}

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: gen_scale [OPTION]... OUTPUT\n"
		   "Writes the NetworkPolicy scale workload as YAML to OUTPUT "
		   "(- for standard output).\n\n");
	for (i = 0; i < sizeof(opt_defs) / sizeof(opt_defs[0]); i++) {
		fprintf(f, "  --%s=N", opt_defs[i].name);
		fprintf(f, "%*s%s (default %ld)\n",
			(int)(18 - strlen(opt_defs[i].name)), "",
			opt_defs[i].help, opt_defs[i].def);
	}
}

static int parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* Cross-option rules: selectors must be able to select something. */
static int check_opts(const struct opts *o)
{
	if (o->local_pods > o->pods || o->peer_pods > o->pods) {
		fprintf(stderr, "gen_scale: --local-pods and --peer-pods must "
				"not exceed --pods\n");
		return -EINVAL;
	}
	if (o->peer_namespaces > o->namespaces) {
		fprintf(stderr, "gen_scale: --peer-namespaces must not exceed "
				"--namespaces\n");
		return -EINVAL;
	}
	if (o->netpols * o->cidrs > 65536) {
		fprintf(stderr, "gen_scale: --netpols times --cidrs must not "
				"exceed 65536 (the /24s of 1.0.0.0/8)\n");
		return -EINVAL;
	}
	return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o, const char **out)
{
	enum { N = sizeof(opt_defs) / sizeof(opt_defs[0]) };
	struct option lo[N + 2];
	size_t i;
	int c, idx;

	for (i = 0; i < N; i++) {
		lo[i] = (struct option){ opt_defs[i].name, required_argument,
					 NULL, 0 };
		*opt_field(o, &opt_defs[i]) = opt_defs[i].def;
	}
	lo[N] = (struct option){ "help", no_argument, NULL, 'h' };
	lo[N + 1] = (struct option){ NULL, 0, NULL, 0 };
	while ((c = getopt_long(argc, argv, "h", lo, &idx)) != -1) {
		if (c == 'h') {
			usage(stdout);
			exit(0);
		}
		if (c != 0 || (size_t)idx >= N)
			return -EINVAL;
		if (parse_long(optarg, opt_defs[idx].min, opt_defs[idx].max,
			       opt_field(o, &opt_defs[idx]))) {
			fprintf(stderr, "gen_scale: --%s: want %ld..%ld\n",
				opt_defs[idx].name, opt_defs[idx].min,
				opt_defs[idx].max);
			return -EINVAL;
		}
	}
	if (optind != argc - 1)
		return -EINVAL;
	*out = argv[optind];
	return 0;
}

/* ---- deterministic randomness ---------------------------------------- */

/* splitmix64: tiny, fast, and the same sequence on every platform. */
static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in [0, n), by rejection so that no value is favoured. */
static uint64_t rng_below(uint64_t *s, uint64_t n)
{
	uint64_t limit = UINT64_MAX - UINT64_MAX % n;
	uint64_t v;

	do
		v = rng_next(s);
	while (v >= limit);
	return v % n;
}

/* ---- namespace sets ---------------------------------------------------- */

/*
 * The sets of peer namespaces handed out so far, as 64-bit hashes of the
 * sorted index lists in an open-addressing table. A hash collision only
 * costs a redraw, never a repeat. When there are fewer distinct sets than
 * selectors (small clusters), repeats are allowed, as in the workload.
 */
struct combos {
	uint64_t *slot; /* 0 = empty */
	size_t cap; /* power of two */
	bool unique;
	uint64_t rng;
	long *pick; /* the current set, sorted */
	long k, n;
};

/* C(n, k) >= need, without overflowing. */
static bool enough_sets(long n, long k, uint64_t need)
{
	double c = 1;
	long i;

	for (i = 0; i < k; i++) {
		c = c * (double)(n - i) / (double)(i + 1);
		if (c >= (double)need * 2)
			return true;
	}
	return c >= (double)need * 2;
}

static int combos_init(struct combos *cs, const struct opts *o)
{
	uint64_t need = (uint64_t)o->namespaces * (uint64_t)o->netpols * 2 *
			(uint64_t)o->pod_selectors;

	memset(cs, 0, sizeof(*cs));
	cs->n = o->namespaces;
	cs->k = o->peer_namespaces;
	cs->rng = (uint64_t)o->seed;
	cs->unique = enough_sets(cs->n, cs->k, need);
	cs->cap = 16;
	while (cs->cap < need * 2)
		cs->cap *= 2;
	cs->pick = calloc((size_t)cs->k, sizeof(*cs->pick));
	if (cs->unique)
		cs->slot = calloc(cs->cap, sizeof(*cs->slot));
	if (!cs->pick || (cs->unique && !cs->slot))
		return -ENOMEM;
	return 0;
}

static void combos_free(struct combos *cs)
{
	free(cs->slot);
	free(cs->pick);
}

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return (x > y) - (x < y);
}

/* Floyd's algorithm: k distinct values of [0, n) in k draws. */
static void draw_set(struct combos *cs)
{
	long j, m = 0, t, i;

	for (j = cs->n - cs->k; j < cs->n; j++) {
		t = (long)rng_below(&cs->rng, (uint64_t)j + 1);
		for (i = 0; i < m && cs->pick[i] != t; i++)
			;
		cs->pick[m] = i < m ? j : t;
		m++;
	}
	qsort(cs->pick, (size_t)cs->k, sizeof(*cs->pick), cmp_long);
}

/* Records the current set; false when it was handed out before. */
static bool claim_set(struct combos *cs)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < (size_t)cs->k; i++) {
		h ^= (uint64_t)cs->pick[i];
		h *= 0x100000001b3ULL;
	}
	h |= 1; /* never the empty marker */
	for (i = h & (cs->cap - 1); cs->slot[i]; i = (i + 1) & (cs->cap - 1))
		if (cs->slot[i] == h)
			return false;
	cs->slot[i] = h;
	return true;
}

static void next_set(struct combos *cs)
{
	do
		draw_set(cs);
	while (cs->unique && !claim_set(cs));
}

/* ---- addresses --------------------------------------------------------- */

/*
 * Node k owns the pod range 10.0.0.0/8 cut into equal blocks big enough for
 * its share of pods (at least a /24, as kube-controller-manager hands out);
 * its own address is 172.16.0.10 + k. Pod g (global index) runs on node
 * g % nodes, in slot g / nodes of that node's block, from .2 up.
 */
struct layout {
	unsigned host_bits;
	long nodes;
};

static int layout_init(struct layout *l, const struct opts *o)
{
	uint64_t total = (uint64_t)o->namespaces * (uint64_t)o->pods;
	uint64_t per_node =
		(total + (uint64_t)o->nodes - 1) / (uint64_t)o->nodes;

	l->nodes = o->nodes;
	l->host_bits = 8;
	while ((1ULL << l->host_bits) < per_node + 3)
		l->host_bits++;
	if (((uint64_t)o->nodes << l->host_bits) > (1ULL << 24)) {
		fprintf(stderr,
			"gen_scale: %" PRIu64 " pods on %ld nodes do "
			"not fit in 10.0.0.0/8\n",
			total, o->nodes);
		return -EINVAL;
	}
	return 0;
}

static void put_ipv4(FILE *f, uint32_t a)
{
	fprintf(f, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255,
		a & 255);
}

static uint32_t node_block(const struct layout *l, long k)
{
	return (10u << 24) + ((uint32_t)k << l->host_bits);
}

static uint32_t pod_addr(const struct layout *l, uint64_t g)
{
	return node_block(l, (long)(g % (uint64_t)l->nodes)) +
	       (uint32_t)(g / (uint64_t)l->nodes) + 2;
}

/* ---- objects ----------------------------------------------------------- */

static void emit_namespace(FILE *f, long i)
{
	fprintf(f,
		"---\napiVersion: v1\nkind: Namespace\nmetadata:\n"
		"  name: " NS_PREFIX "%ld\n"
		"  labels:\n    kube-burner-job: network-policy-perf\n",
		i);
}

static void emit_node(FILE *f, const struct layout *l, long k)
{
	fprintf(f,
		"---\napiVersion: v1\nkind: Node\nmetadata:\n"
		"  name: node-%ld\nspec:\n  podCIDR: ",
		k);
	put_ipv4(f, node_block(l, k));
	fprintf(f,
		"/%u\nstatus:\n  addresses:\n  - type: InternalIP\n"
		"    address: ",
		32 - l->host_bits);
	put_ipv4(f, (172u << 24) + (16u << 16) + 10 + (uint32_t)k);
	fputc('\n', f);
}

/* Pod r (from 1) of namespace i; g is its global index. */
static void emit_pod(FILE *f, const struct layout *l, long i, long r,
		     uint64_t g)
{
	long k;

	fprintf(f,
		"---\napiVersion: v1\nkind: Pod\nmetadata:\n"
		"  name: test-pod-%ld\n  namespace: " NS_PREFIX "%ld\n"
		"  labels:\n    test-pod: \"true\"\n    num: \"%ld\"\n",
		r, i, r);
	for (k = 1; k <= r; k++)
		fprintf(f, "    \"%ld\": \"true\"\n", k);
	fprintf(f,
		"spec:\n  nodeName: node-%ld\n  containers:\n"
		"  - name: sleeper\n    image: registry.k8s.io/pause:3.9\n"
		"    ports:\n    - name: http\n      containerPort: 8080\n"
		"      protocol: TCP\n    - name: metrics\n"
		"      containerPort: 9001\n      protocol: TCP\n"
		"status:\n  phase: Running\n  podIP: ",
		(long)(g % (uint64_t)l->nodes));
	put_ipv4(f, pod_addr(l, g));
	fputc('\n', f);
}

/* The ports of every rule; nothing at all when there are none (all ports). */
static void emit_ports(FILE *f, const struct opts *o)
{
	long j;

	if (!o->single_ports && !o->port_ranges)
		return;
	fputs("    ports:\n", f);
	for (j = 1; j <= o->single_ports; j++)
		fprintf(f, "    - protocol: TCP\n      port: %ld\n",
			SINGLE_PORT_BASE + j);
	for (j = 0; j < o->port_ranges; j++)
		fprintf(f,
			"    - protocol: TCP\n      port: %ld\n"
			"      endPort: %ld\n",
			RANGE_BASE + j * RANGE_STEP,
			RANGE_BASE + j * RANGE_STEP + RANGE_WIDTH);
}

static void emit_selector_rule(FILE *f, const struct opts *o, struct combos *cs,
			       const char *peers)
{
	long j;

	next_set(cs);
	fprintf(f,
		"  - %s:\n    - podSelector:\n        matchLabels:\n"
		"          \"%ld\": \"true\"\n      namespaceSelector:\n"
		"        matchExpressions:\n"
		"        - key: kubernetes.io/metadata.name\n"
		"          operator: In\n          values:\n",
		peers, o->pods + 1 - o->peer_pods);
	for (j = 0; j < cs->k; j++)
		fprintf(f, "          - " NS_PREFIX "%ld\n", cs->pick[j]);
	emit_ports(f, o);
}

/* CIDR rule c of policy r: subnet (r - 1) * CIDRS + c of 1.0.0.0/8. */
static void emit_cidr_rule(FILE *f, const struct opts *o, long r, long c,
			   const char *peers)
{
	uint32_t s = (uint32_t)((r - 1) * o->cidrs + c);

	fprintf(f, "  - %s:\n    - ipBlock:\n        cidr: ", peers);
	put_ipv4(f, (1u << 24) + (s << 8));
	fputs("/24\n", f);
	emit_ports(f, o);
}

struct direction {
	const char *name; /* policy name prefix, and the spec key */
	const char *type; /* policyTypes entry */
	const char *peers; /* from / to */
};

static const struct direction dirs[] = {
	{ "ingress", "Ingress", "from" },
	{ "egress", "Egress", "to" },
};

static void emit_policy(FILE *f, const struct opts *o, struct combos *cs,
			const struct direction *d, long i, long r)
{
	long j;

	fprintf(f,
		"---\napiVersion: networking.k8s.io/v1\n"
		"kind: NetworkPolicy\nmetadata:\n  name: %s-%ld\n"
		"  namespace: " NS_PREFIX "%ld\nspec:\n"
		"  podSelector:\n    matchLabels:\n"
		"      \"%ld\": \"true\"\n  policyTypes:\n  - %s\n",
		d->name, r, i, o->pods + 1 - o->local_pods, d->type);
	if (!o->pod_selectors && !o->cidrs)
		return; /* deny-only */
	fprintf(f, "  %s:\n", d->name);
	for (j = 0; j < o->pod_selectors; j++)
		emit_selector_rule(f, o, cs, d->peers);
	for (j = 0; j < o->cidrs; j++)
		emit_cidr_rule(f, o, r, j, d->peers);
}

static void emit_policies(FILE *f, const struct opts *o, struct combos *cs)
{
	const long want[] = { o->ingress, o->egress };
	long i, r;
	size_t d;

	for (i = 0; i < o->namespaces; i++)
		for (d = 0; d < sizeof(dirs) / sizeof(dirs[0]); d++)
			for (r = 1; want[d] && r <= o->netpols; r++)
				emit_policy(f, o, cs, &dirs[d], i, r);
}

static void emit_cluster(FILE *f, const struct opts *o, const struct layout *l,
			 struct combos *cs)
{
	uint64_t g = 0;
	long i, r;

	fprintf(f, "# Generated by bench/gen_scale: the sig-network "
		   "NetworkPolicy scale workload.\n");
	for (i = 0; i < o->namespaces; i++)
		emit_namespace(f, i);
	for (i = 0; i < o->nodes; i++)
		emit_node(f, l, i);
	for (i = 0; i < o->namespaces; i++)
		for (r = 1; r <= o->pods; r++)
			emit_pod(f, l, i, r, g++);
	emit_policies(f, o, cs);
}

static FILE *open_output(const char *path)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "w") : stdout;

	if (f)
		setvbuf(f, NULL, _IOFBF, 1 << 20);
	return f;
}

static int write_cluster(const char *path, const struct opts *o,
			 const struct layout *l, struct combos *cs)
{
	FILE *f = open_output(path);
	int err;

	if (!f) {
		err = -errno;
		fprintf(stderr, "gen_scale: %s: %s\n", path, strerror(-err));
		return err;
	}
	emit_cluster(f, o, l, cs);
	err = ferror(f) ? -EIO : 0;
	if ((f == stdout ? fflush(f) : fclose(f)) || err) {
		fprintf(stderr, "gen_scale: %s: write error\n", path);
		return -EIO;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct layout l;
	struct combos cs;
	struct opts o;
	const char *path;
	int err;

	if (parse_opts(argc, argv, &o, &path)) {
		usage(stderr);
		return 2;
	}
	if (check_opts(&o) || layout_init(&l, &o))
		return 2;
	if (combos_init(&cs, &o)) {
		fprintf(stderr, "gen_scale: out of memory\n");
		goto err_free_combos;
	}
	err = write_cluster(path, &o, &l, &cs);
	combos_free(&cs);
	if (err)
		return 1;
	fprintf(stderr,
		"gen_scale: %ld namespaces, %ld pods, %ld policies, "
		"%ld nodes%s\n",
		o.namespaces, o.namespaces * o.pods,
		o.namespaces * o.netpols * (o.ingress + o.egress), o.nodes,
		cs.unique ? "" : " (namespace sets repeat)");
	return 0;

err_free_combos:
	combos_free(&cs);
	return 1;
}
