// SPDX-License-Identifier: Apache-2.0
/*
 * The incremental compiler against the full one. Random sequences of
 * clusters, each step a few changes away from the one before, go through
 * pw_live_compile() for every pod (node NULL) and for node1; after every
 * step each ruleset's render must be byte for byte that of
 * pw_ruleset_new(pw_engine_new(c), node).
 *
 * One model of the cluster is built two ways each step:
 *  - from units, as podwalld builds it: each object, or each bundle of
 *    objects (a file of manifests), is a YAML text parsed into a pw_unit
 *    only when its text changed, so that unchanged objects are shared by
 *    identity, and a rewritten bundle brings its other objects back with
 *    the same content in new pointers;
 *  - by hand with the engine fixture: every pointer is new each step, and
 *    only content says what changed.
 *
 * The first mismatch of a sequence is printed with its seed, step and
 * changes, then shrunk to a small pair of clusters (previous, next) that
 * a fresh pw_live still gets wrong, printed as manifests; the sequence
 * stops there. The statistics are checked where the answer is plain: the
 * first call is full, an unchanged step changes and rebuilds nothing, one
 * pod relabelled is one pod changed, one policy changed is one policy.
 *
 *   test_live                 the suite's sequences
 *   test_live SEQUENCE [-b|-l]  that sequence alone, printing each step
 *                             (-b, -l: as those options run it)
 *   test_live -n COUNT        COUNT other small sequences, to search
 *   test_live -b COUNT        COUNT other sequences of a big cluster
 *   test_live -l COUNT        COUNT other long sequences
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "datapath.h"
#include "engine_fixture.h"
#include "live_change.h"
#include "live_model.h"
#include <podwall/podwall.h>

#define SMALL_SEQUENCES 200
#define BIG_SEQUENCES 4
#define LONG_SEQUENCES 6 /* small clusters, many steps: slots reused */
#define STEPS 13 /* the first cluster and 12 changes */
#define LONG_STEPS 120
#define SEQUENCES (SMALL_SEQUENCES + BIG_SEQUENCES + LONG_SEQUENCES)
#define MAX_SHRINKS 3 /* failures shrunk to a reproduction, per run */

static bool verbose;
/* The suite's sequences are small, then big, then long; -b and -l make
 * every sequence of the run one of those. */
enum seq_kind { SEQ_SMALL, SEQ_BIG, SEQ_LONG };
static int forced = -1;
static const char *const seq_names[] = { "small", "big", "long" };

static enum seq_kind seq_kind(unsigned seq)
{
	if (forced >= 0)
		return (enum seq_kind)forced;
	if (seq < SMALL_SEQUENCES || seq >= SEQUENCES)
		return SEQ_SMALL;
	return seq < SMALL_SEQUENCES + BIG_SEQUENCES ? SEQ_BIG : SEQ_LONG;
}

/* ---- comparing ------------------------------------------------------ */

enum step_kind {
	STEP_FIRST,
	STEP_EMPTY, /* nothing changed */
	STEP_RECREATE, /* every unit parsed again: same content */
	STEP_SAME, /* the very same cluster object again */
	STEP_RELABEL, /* one matrix pod relabelled, nothing else */
	STEP_POLICY, /* one policy changed, nothing else */
	STEP_ONE, /* one change */
	STEP_MANY, /* two to four changes */
	STEP_KIND_NR,
};
static const char *const step_names[STEP_KIND_NR] = {
	"first", "empty", "recreate", "same", "relabel", "policy", "one", "many"
};
static unsigned step_count[STEP_KIND_NR];
static unsigned long compared; /* rulesets compared, in all */

static const char *const live_nodes[] = { NULL, "node1" };
#define NLIVE 2

/* Statistics checks, counted like CHECK but each kind printed at most
 * three times: one misunderstanding should not print thousands. */
enum {
	ST_FULL,
	ST_UNCHANGED,
	ST_RELABEL,
	ST_POLICY,
	ST_CLASSES,
	ST_KEPT,
	ST_KIND_NR,
};
static const char *const stat_names[ST_KIND_NR] = {
	"full flag",	      "unchanged step", "one pod relabelled",
	"one policy changed", "classes held",	"earlier ruleset kept",
};
static unsigned stat_bad[ST_KIND_NR], stat_checked[ST_KIND_NR];

#define STAT(kind, cond, ...)                                               \
	do {                                                                \
		stat_checked[kind]++;                                       \
		if (cond) {                                                 \
			check_passed++;                                     \
		} else {                                                    \
			check_failed++;                                     \
			if (stat_bad[kind]++ < 3) {                         \
				printf("FAIL %s:%d: ", __FILE__, __LINE__); \
				printf(__VA_ARGS__);                        \
				printf("\n");                               \
			}                                                   \
		}                                                           \
	} while (0)

static char *render(const struct pw_ruleset *rs)
{
	char *text = NULL;

	if (rs && pw_ruleset_render(rs, &text))
		fx_die("render", "failed");
	return text;
}

/* What the render may not show: the counts of the ruleset. */
static bool same_counts(const struct pw_ruleset *a, const struct pw_ruleset *b)
{
	return pw_ruleset_local_count(a) == pw_ruleset_local_count(b) &&
	       pw_ruleset_skipped_count(a) == pw_ruleset_skipped_count(b) &&
	       pw_ruleset_range_count(a) == pw_ruleset_range_count(b) &&
	       pw_ruleset_chain_count(a) == pw_ruleset_chain_count(b) &&
	       pw_ruleset_set_count(a) == pw_ruleset_set_count(b) &&
	       pw_ruleset_element_count(a) == pw_ruleset_element_count(b);
}

static bool same_ruleset(const struct pw_ruleset *got, const char *gt,
			 const struct pw_ruleset *want, const char *wt)
{
	return got && gt && !strcmp(gt, wt) && same_counts(got, want);
}

static void print_line(const char *who, const char *s)
{
	if (!s || !*s)
		printf("    %s: (end of text)\n", who);
	else
		printf("    %s: %.*s\n", who, (int)strcspn(s, "\n"), s);
}

static void print_first_diff(const struct pw_ruleset *got, const char *g,
			     const struct pw_ruleset *want, const char *w)
{
	unsigned line = 1;

	if (!g) {
		printf("  pw_live_compile gave no ruleset\n");
		return;
	}
	if (!strcmp(g, w)) {
		printf("  same render, other counts: local %zu/%zu skipped "
		       "%zu/%zu ranges %zu/%zu chains %zu/%zu sets %zu/%zu "
		       "elements %zu/%zu (live/full)\n",
		       pw_ruleset_local_count(got),
		       pw_ruleset_local_count(want),
		       pw_ruleset_skipped_count(got),
		       pw_ruleset_skipped_count(want),
		       pw_ruleset_range_count(got),
		       pw_ruleset_range_count(want),
		       pw_ruleset_chain_count(got),
		       pw_ruleset_chain_count(want), pw_ruleset_set_count(got),
		       pw_ruleset_set_count(want),
		       pw_ruleset_element_count(got),
		       pw_ruleset_element_count(want));
		return;
	}
	for (;;) {
		size_t gl = strcspn(g, "\n"), wl = strcspn(w, "\n");

		if (gl != wl || memcmp(g, w, gl) || !g[gl] || !w[wl])
			break;
		g += gl + 1;
		w += wl + 1;
		line++;
	}
	printf("  first difference, line %u:\n", line);
	print_line("live", g);
	print_line("full", w);
}

/* Whether a fresh pw_live, given a then b, gets b wrong. */
static bool replay_differs(enum builder bl, int node, const struct model *a,
			   const struct model *b)
{
	struct units *u = calloc(1, sizeof(*u));
	struct pw_live *l = pw_live_new(live_nodes[node]);
	struct pw_cluster *ca, *cb;
	struct pw_ruleset *got, *want;
	struct pw_engine *e;
	char *gt, *wt;
	bool differs;

	if (!u || !l)
		fx_die("replay", "out of memory");
	ca = build(bl, u, a, false);
	pw_ruleset_free(pw_live_compile(l, ca, NULL));
	cb = build(bl, u, b, false);
	got = pw_live_compile(l, cb, NULL);
	cluster_free(bl, ca);
	e = pw_engine_new(cb);
	want = e ? pw_ruleset_new(e, live_nodes[node]) : NULL;
	if (!want)
		fx_die("reference", strerror(errno));
	gt = render(got);
	wt = render(want);
	differs = !same_ruleset(got, gt, want, wt);
	free(gt);
	free(wt);
	pw_ruleset_free(got);
	pw_ruleset_free(want);
	pw_engine_free(e);
	pw_live_free(l);
	cluster_free(bl, cb);
	units_clear(u);
	free(u);
	return differs;
}

/* Reductions tried on both clusters of a failing pair: object k gone,
 * rule k gone, peer or port k gone, a field at its simplest. */
enum {
	RED_POD,
	RED_POL,
	RED_NS,
	RED_NODE,
	RED_RULE,
	RED_PEER,
	RED_PORT,
	RED_POD_PLAIN,
	RED_POL_PLAIN,
	RED_NR,
};

/* The rule reductions number (policy, direction, rule, item). */
static void rule_drop(struct m_rule *v, uint8_t *n, unsigned k)
{
	if (k >= *n)
		return;
	memmove(&v[k], &v[k + 1], (*n - k - 1) * sizeof(*v));
	(*n)--;
	memset(&v[*n], 0, sizeof(*v));
}

static void item_drop(void *v, uint8_t *n, unsigned k, size_t size, size_t max)
{
	char *b = v;

	if (k >= *n)
		return;
	memmove(b + k * size, b + (k + 1) * size, (*n - k - 1) * size);
	(*n)--;
	memset(b + *n * size, 0, (max - *n) * size);
}

static void reduce(struct model *m, unsigned what, unsigned k)
{
	unsigned pol = k / (PW_DIR_NR * MAX_RULES * MAX_PEERS);
	unsigned dir = k / (MAX_RULES * MAX_PEERS) % PW_DIR_NR;
	unsigned rule = k / MAX_PEERS % MAX_RULES, item = k % MAX_PEERS;
	struct m_rule *r = &m->pols[pol].rules[dir][rule];

	switch (what) {
	case RED_POD:
		m->pods[k].live = false;
		break;
	case RED_POL:
		m->pols[k].live = false;
		break;
	case RED_NS:
		m->ns[k].live = false;
		break;
	case RED_NODE:
		m->nodes[k].live = false;
		break;
	case RED_RULE:
		if (!item)
			rule_drop(m->pols[pol].rules[dir],
				  &m->pols[pol].nrules[dir], rule);
		break;
	case RED_PEER:
		item_drop(r->peers, &r->npeers, item, sizeof(r->peers[0]),
			  MAX_PEERS);
		break;
	case RED_PORT:
		item_drop(r->ports, &r->nports, item, sizeof(r->ports[0]),
			  MAX_PORTS);
		break;
	case RED_POD_PLAIN:
		m->pods[k].ports = 0;
		m->pods[k].bundle = 0;
		break;
	case RED_POL_PLAIN:
		m->pols[k].bundle = 0;
		break;
	}
}

/* How many reductions of a kind there are for models a and b. */
static unsigned reduce_span(unsigned what, const struct model *a,
			    const struct model *b)
{
	unsigned npods = a->npods > b->npods ? a->npods : b->npods;
	unsigned npols = a->npols > b->npols ? a->npols : b->npols;
	unsigned nrules = npols * PW_DIR_NR * MAX_RULES * MAX_PEERS;
	const unsigned spans[RED_NR] = {
		[RED_POD] = npods,	 [RED_POL] = npols,
		[RED_NS] = MAX_NS,	 [RED_NODE] = MAX_NODES,
		[RED_RULE] = nrules,	 [RED_PEER] = nrules,
		[RED_PORT] = nrules,	 [RED_POD_PLAIN] = npods,
		[RED_POL_PLAIN] = npols,
	};

	return spans[what];
}

/* Greedy: every reduction that keeps the mismatch is kept, until none
 * does (or the budget of replays is spent). */
static void shrink(enum builder bl, int node, struct model *a, struct model *b)
{
	struct model *ta = malloc(sizeof(*ta)), *tb = malloc(sizeof(*tb));
	unsigned budget = 4000;
	bool progress = true;

	if (!ta || !tb)
		fx_die("shrink", "out of memory");
	while (progress && budget) {
		progress = false;
		for (unsigned w = 0; w < RED_NR && budget; w++) {
			for (unsigned k = 0; k < reduce_span(w, a, b) && budget;
			     k++) {
				*ta = *a;
				*tb = *b;
				reduce(ta, w, k);
				reduce(tb, w, k);
				if (!memcmp(ta, a, sizeof(*a)) &&
				    !memcmp(tb, b, sizeof(*b)))
					continue;
				budget--;
				if (!replay_differs(bl, node, ta, tb))
					continue;
				*a = *ta;
				*b = *tb;
				progress = true;
			}
		}
	}
	free(ta);
	free(tb);
}

static void print_model(const char *title, const struct model *m)
{
	struct sbuf *t = calloc(NSLOTS, sizeof(*t));

	if (!t)
		fx_die("print", "out of memory");
	model_texts(m, t);
	printf("  ---- %s ----\n", title);
	for (size_t s = 0; s < NSLOTS; s++) {
		char name[32];

		if (!t[s].n)
			continue;
		slot_name(s, name, sizeof(name));
		printf("# %s\n%s", name, t[s].s);
		if (s + 1 < NSLOTS)
			printf("---\n");
	}
	for (size_t s = 0; s < NSLOTS; s++)
		free(t[s].s);
	free(t);
}

static unsigned shrinks;

/* The first mismatch of a run's first few failing sequences, reduced to
 * two clusters and printed as the texts a builder would load. */
static void reproduce(enum builder bl, int node, const struct model *prev,
		      const struct model *cur)
{
	struct model *a, *b;

	if (shrinks++ >= MAX_SHRINKS)
		return;
	a = malloc(sizeof(*a));
	b = malloc(sizeof(*b));
	if (!a || !b)
		fx_die("reproduce", "out of memory");
	*a = *prev;
	*b = *cur;
	if (!replay_differs(bl, node, a, b)) {
		printf("  a fresh pw_live compiling the previous cluster then "
		       "this one gets it right: the mismatch needs the "
		       "earlier steps (run test_live with the sequence)\n");
		free(a);
		free(b);
		return;
	}
	shrink(bl, node, a, b);
	printf("  reproduction: a fresh pw_live(%s), %s, compiles the first "
	       "cluster, then gets the second wrong\n",
	       live_nodes[node] ? live_nodes[node] : "NULL", builder_names[bl]);
	print_model("first cluster", a);
	print_model("second cluster", b);
	free(a);
	free(b);
}

/* ---- sequences ---------------------------------------------------------- */

/* One pw_live and the ruleset it returned last. */
struct side {
	struct pw_live *l;
	struct pw_ruleset *rs;
	char *text;
};

struct run {
	unsigned seq;
	uint64_t seed;
	unsigned step;
	enum step_kind kind;
	struct model m, prev;
	struct units units;
	struct pw_cluster *c[B_NR]; /* the last step's, borrowed */
	struct side side[B_NR][NLIVE];
	bool failed;
	struct sbuf desc; /* this step's changes */
	unsigned compared;
};

static void check_stats(struct run *r, enum builder bl, int node,
			const struct pw_live_stats *st,
			const struct pw_ruleset *want)
{
	const char *nn = live_nodes[node] ? live_nodes[node] : "NULL";
	size_t cls = want->ncls[0] + want->ncls[1];
	size_t implicit = !r->m.ns[r->m.pols[last_pol].ns].live;

	STAT(ST_FULL, st->full == (r->step == 0),
	     "sequence %u step %u (%s), %s, node %s: full %d", r->seq, r->step,
	     step_names[r->kind], builder_names[bl], nn, st->full);
	if (r->kind == STEP_EMPTY || r->kind == STEP_RECREATE ||
	    r->kind == STEP_SAME)
		STAT(ST_UNCHANGED,
		     !st->pods_changed && !st->policies_changed &&
			     !st->namespaces_changed && !st->nodes_changed &&
			     !st->classes_rebuilt,
		     "sequence %u step %u (%s), %s, node %s: changed pods %zu "
		     "policies %zu namespaces %zu nodes %zu, classes rebuilt "
		     "%zu",
		     r->seq, r->step, step_names[r->kind], builder_names[bl],
		     nn, st->pods_changed, st->policies_changed,
		     st->namespaces_changed, st->nodes_changed,
		     st->classes_rebuilt);
	if (r->kind == STEP_RELABEL)
		STAT(ST_RELABEL,
		     st->pods_changed == 1 && !st->policies_changed &&
			     !st->namespaces_changed && !st->nodes_changed,
		     "sequence %u step %u, %s, node %s: %s: changed pods %zu "
		     "policies %zu namespaces %zu nodes %zu",
		     r->seq, r->step, builder_names[bl], nn, r->desc.s,
		     st->pods_changed, st->policies_changed,
		     st->namespaces_changed, st->nodes_changed);
	if (r->kind == STEP_POLICY)
		STAT(ST_POLICY,
		     st->policies_changed == 1 && !st->pods_changed &&
			     st->namespaces_changed <= implicit &&
			     !st->nodes_changed,
		     "sequence %u step %u, %s, node %s: %s: changed pods %zu "
		     "policies %zu namespaces %zu nodes %zu",
		     r->seq, r->step, builder_names[bl], nn, r->desc.s,
		     st->pods_changed, st->policies_changed,
		     st->namespaces_changed, st->nodes_changed);
	STAT(ST_CLASSES, st->classes == cls,
	     "sequence %u step %u, %s, node %s: %zu classes held, the "
	     "ruleset has %zu",
	     r->seq, r->step, builder_names[bl], nn, st->classes, cls);
}

/* The ruleset returned last time is the caller's: this call must not
 * have changed or freed it. */
static void check_kept(struct run *r, struct side *s, enum builder bl, int node)
{
	char *again;

	if (!s->rs)
		return;
	again = render(s->rs);
	STAT(ST_KEPT, !strcmp(again, s->text),
	     "sequence %u step %u, %s, node %s: the previous ruleset changed",
	     r->seq, r->step, builder_names[bl],
	     live_nodes[node] ? live_nodes[node] : "NULL");
	free(again);
}

/* The full compiler's rulesets of one cluster, for each node. */
struct ref {
	struct pw_ruleset *rs[NLIVE];
	char *text[NLIVE];
};

static void reference(struct ref *ref, const struct pw_cluster *c)
{
	struct pw_engine *e = pw_engine_new(c);

	if (!e)
		fx_die("engine", strerror(errno));
	for (int n = 0; n < NLIVE; n++) {
		ref->rs[n] = pw_ruleset_new(e, live_nodes[n]);
		if (!ref->rs[n])
			fx_die("reference ruleset", strerror(errno));
		ref->text[n] = render(ref->rs[n]);
	}
	pw_engine_free(e);
}

static void ref_clear(struct ref *ref)
{
	for (int n = 0; n < NLIVE; n++) {
		pw_ruleset_free(ref->rs[n]);
		free(ref->text[n]);
	}
}

/* The two builders must make the same cluster, or the test compares
 * less than it thinks (a check of the test itself). */
static void check_builders(struct run *r, const struct ref *ref)
{
	for (int n = 0; n < NLIVE; n++)
		CHECK(!strcmp(ref[B_UNITS].text[n], ref[B_FIXTURE].text[n]),
		      "sequence %u step %u, node %s: the builders' clusters "
		      "differ",
		      r->seq, r->step, live_nodes[n] ? live_nodes[n] : "NULL");
}

static void compare(struct run *r, enum builder bl, int node,
		    const struct pw_cluster *c, const struct pw_ruleset *want,
		    const char *wt)
{
	struct side *s = &r->side[bl][node];
	struct pw_ruleset *got;
	struct pw_live_stats st;
	char *gt;
	bool same;

	/* Fields the call leaves alone fail the checks that read them. */
	memset(&st, 0x55, sizeof(st));
	got = pw_live_compile(s->l, c, &st);
	gt = render(got);
	same = same_ruleset(got, gt, want, wt);
	r->compared++;
	compared++;
	CHECK(same, "sequence %u (%s, seed %#llx) step %u, %s, node %s: %s: %s",
	      r->seq, seq_names[seq_kind(r->seq)], (unsigned long long)r->seed,
	      r->step, builder_names[bl],
	      live_nodes[node] ? live_nodes[node] : "NULL", step_names[r->kind],
	      r->desc.n ? r->desc.s : "no change");
	if (!same && !r->failed) {
		print_first_diff(got, gt, want, wt);
		reproduce(bl, node, &r->prev, &r->m);
	}
	r->failed |= !same;
	if (verbose && bl == B_UNITS)
		printf("  node %s: %zu bytes, %zu classes, %zu classes "
		       "rebuilt, %.3f ms\n",
		       live_nodes[node] ? live_nodes[node] : "NULL", strlen(wt),
		       want->ncls[0] + want->ncls[1],
		       got ? st.classes_rebuilt : 0, got ? st.ns / 1e6 : 0.0);
	/* A big cluster's render costs: the small ones check this. */
	if (!r->m.big)
		check_kept(r, s, bl, node);
	if (got)
		check_stats(r, bl, node, &st, want);
	pw_ruleset_free(s->rs);
	free(s->text);
	s->rs = got;
	s->text = gt;
}

/* The rulesets pw_live_compile returns are any ruleset: pod ranges and
 * the flow log go on them as on the full compiler's. */
static void check_extras(struct run *r, enum builder bl, int node)
{
	struct side *s = &r->side[bl][node];
	const struct pw_cluster *c = r->c[bl];
	struct pw_engine *e = pw_engine_new(c);
	struct pw_ruleset *want = e ? pw_ruleset_new(e, live_nodes[node]) :
				      NULL;
	char *wt, *gt;

	if (!want || !s->rs)
		fx_die("extras", "no ruleset");
	CHECK(!pw_ruleset_add_pod_cidr(s->rs, "10.0.3.0/24") &&
		      !pw_ruleset_add_pod_cidr(want, "10.0.3.0/24") &&
		      !pw_ruleset_set_flow_log(s->rs, PW_FLOW_LOG_DENIED, 7) &&
		      !pw_ruleset_set_flow_log(want, PW_FLOW_LOG_DENIED, 7),
	      "extras");
	wt = render(want);
	gt = render(s->rs);
	CHECK(same_ruleset(s->rs, gt, want, wt),
	      "sequence %u, %s, node %s: pod range and flow log added", r->seq,
	      builder_names[bl], live_nodes[node] ? live_nodes[node] : "NULL");
	free(wt);
	free(gt);
	pw_ruleset_free(want);
	pw_engine_free(e);
}

static enum step_kind choose_kind(void)
{
	static const struct {
		unsigned upto;
		enum step_kind kind;
	} odds[] = {
		{ 5, STEP_EMPTY },    { 10, STEP_RECREATE }, { 13, STEP_SAME },
		{ 20, STEP_RELABEL }, { 28, STEP_POLICY },   { 64, STEP_ONE },
		{ 100, STEP_MANY },
	};
	unsigned x = pick(100);
	size_t i = 0;

	while (x >= odds[i].upto)
		i++;
	return odds[i].kind;
}

/* Changes the model for this step; the kind may fall back to STEP_ONE
 * when the cluster has nothing to relabel. */
static void change(struct run *r)
{
	int i;

	sb_reset(&r->desc);
	switch (r->kind) {
	case STEP_FIRST:
	case STEP_EMPTY:
	case STEP_RECREATE:
	case STEP_SAME:
		return;
	case STEP_RELABEL:
		i = pick_pod(&r->m, POD_MATRIX);
		if (i >= 0 && relabel(&r->m, &r->desc, i))
			return;
		r->kind = STEP_ONE;
		break;
	case STEP_POLICY:
		if (mutate(&r->m, &r->desc, true))
			return;
		r->kind = STEP_ONE;
		break;
	case STEP_MANY:
		for (unsigned n = 2 + pick(3); n > 0; n--)
			mutate(&r->m, &r->desc, false);
		return;
	default:
		break;
	}
	mutate(&r->m, &r->desc, false);
}

static void step(struct run *r)
{
	struct ref ref[B_NR] = { 0 };

	r->kind = r->step ? choose_kind() : STEP_FIRST;
	r->prev = r->m;
	change(r);
	step_count[r->kind]++;
	if (verbose)
		printf("step %u (%s): %s\n", r->step, step_names[r->kind],
		       r->desc.n ? r->desc.s : "");
	for (int bl = 0; bl < B_NR; bl++) {
		struct pw_cluster *c = r->c[bl];
		const struct ref *want;

		if (r->kind != STEP_SAME)
			c = build((enum builder)bl, &r->units, &r->m,
				  r->kind == STEP_RECREATE);
		/* The builders make one cluster (checked on the small
		 * ones): a big one is compiled in full once. */
		if (bl == B_UNITS || !r->m.big)
			reference(&ref[bl], c);
		if (bl == B_FIXTURE && !r->m.big)
			check_builders(r, ref);
		want = ref[bl].rs[0] ? &ref[bl] : &ref[B_UNITS];
		for (int n = 0; n < NLIVE; n++)
			compare(r, (enum builder)bl, n, c, want->rs[n],
				want->text[n]);
		/* Both pw_live have moved on: the old cluster may go. */
		if (c != r->c[bl])
			cluster_free((enum builder)bl, r->c[bl]);
		r->c[bl] = c;
	}
	ref_clear(&ref[B_UNITS]);
	ref_clear(&ref[B_FIXTURE]);
}

static void run_sequence(unsigned seq)
{
	struct run *r = calloc(1, sizeof(*r));
	unsigned steps;

	if (!r)
		fx_die("run", "out of memory");
	r->seq = seq;
	r->seed = 0x11fe0000ULL + seq;
	rng_seed(r->seed);
	model_init(&r->m, seq_kind(seq) == SEQ_BIG);
	steps = seq_kind(seq) == SEQ_LONG ? LONG_STEPS : STEPS;
	for (int bl = 0; bl < B_NR; bl++) {
		for (int n = 0; n < NLIVE; n++) {
			r->side[bl][n].l = pw_live_new(live_nodes[n]);
			if (!r->side[bl][n].l)
				fx_die("pw_live_new", strerror(errno));
		}
	}
	for (r->step = 0; r->step < steps && !r->failed; r->step++)
		step(r);
	for (int bl = 0; bl < B_NR; bl++) {
		for (int n = 0; n < NLIVE; n++) {
			if (!r->failed)
				check_extras(r, (enum builder)bl, n);
			pw_live_free(r->side[bl][n].l);
			pw_ruleset_free(r->side[bl][n].rs);
			free(r->side[bl][n].text);
		}
		cluster_free((enum builder)bl, r->c[bl]);
	}
	if (verbose)
		printf("sequence %u: %zu units parsed, %u rulesets compared\n",
		       seq, r->units.parsed, r->compared);
	units_clear(&r->units);
	free(r->desc.s);
	free(r);
}

/* What the header promises outside the sequences. */
static void test_basics(void)
{
	struct pw_live *l = pw_live_new(NULL);

	pw_live_free(NULL);
	CHECK(l != NULL, "pw_live_new(NULL)");
	pw_live_free(l);
	l = pw_live_new("node1");
	CHECK(l != NULL, "pw_live_new(node1)");
	pw_live_free(l);
}

static void summary(unsigned nseq)
{
	printf("live: %u sequences, %lu rulesets compared; steps:", nseq,
	       compared);
	for (int k = 0; k < STEP_KIND_NR; k++)
		printf(" %s %u", step_names[k], step_count[k]);
	printf("\nlive: changes:");
	for (unsigned k = 0; k < NELEM(mutations); k++)
		printf("%s %s %u", k ? "," : "", mutations[k].name, applied[k]);
	printf("\n");
	for (int k = 0; k < ST_KIND_NR; k++)
		if (stat_bad[k])
			printf("live: statistics '%s': %u of %u checks "
			       "failed\n",
			       stat_names[k], stat_bad[k], stat_checked[k]);
}

int main(int argc, char **argv)
{
	static const char *const opts[] = { "-n", "-b", "-l" };
	unsigned first = 0, n = SEQUENCES;

	test_basics();
	for (int k = 0; argc > 2 && k < (int)NELEM(opts); k++) {
		if (strcmp(argv[1], opts[k]))
			continue;
		/* more sequences of one kind, after the suite's */
		forced = k;
		first = SEQUENCES;
		n = (unsigned)strtoul(argv[2], NULL, 0);
	}
	if (argc > 1 && forced < 0) {
		verbose = true;
		first = (unsigned)strtoul(argv[1], NULL, 0);
		n = 1;
		for (int k = 1; argc > 2 && k < (int)NELEM(opts); k++)
			if (!strcmp(argv[2], opts[k]))
				forced = k;
	}
	for (unsigned seq = first; seq < first + n; seq++)
		run_sequence(seq);
	summary(n);
	return check_done("live");
}
