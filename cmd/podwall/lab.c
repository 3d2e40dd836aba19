// SPDX-License-Identifier: Apache-2.0
/*
 * podwall lab: the cluster of the manifests built in network namespaces,
 * enforced with the rulesets of `apply`, and probed with real traffic
 * (docs/LAB.md). Subcommands are found in a table, as commands are.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <unistd.h>
#include <podwall/datapath.h>

#include "lab.h"
#include "podwall.h"

const char lab_usage[] =
	"usage: podwall lab up [--name LAB] [--port P]... [--verbose]\n"
	"                      [-f PATH]... [PATH...]\n"
	"       podwall lab apply [--name LAB] [--verbose] [-f PATH]... [PATH...]\n"
	"       podwall lab probe [--name LAB] [--port P]... [-o text|json]\n"
	"       podwall lab down [--name LAB]\n"
	"       podwall lab run [--port P]... [--verbose] [-o text|json]\n"
	"                       [-f PATH]... [PATH...]\n"
	"\n"
	"Builds the cluster of the manifests in network namespaces on this\n"
	"machine (root): a namespace per node and per pod, routed, every pod\n"
	"serving its container ports and the --port values on TCP and UDP,\n"
	"each node enforcing its ruleset as 'podwall apply --node' would\n"
	"(incrementally, with anti-spoofing and the node's pod ranges).\n"
	"Probes open a real connection for every ordered pair of pods and\n"
	"every port; one that fails is tried again with a longer timeout.\n"
	"\n"
	"  up                  build a lab and leave it running\n"
	"  apply               give a running lab new manifests: new rulesets\n"
	"                      in place; pods and nodes that changed are\n"
	"                      built again, the others stay as they are\n"
	"  probe               probe a running lab; text shows the engine's\n"
	"                      answer next to the traffic's\n"
	"  down                remove a lab (without --name: every lab)\n"
	"  run                 up, probe, compare with the engine, down\n"
	"\n"
	"  --name LAB          the lab's id, 1 to 8 of [a-z0-9] (default: a new\n"
	"                      one for up and run, the only one otherwise)\n"
	"  --port P            80, 80/TCP, 53/UDP (repeatable); by default the\n"
	"                      ports of 'podwall matrix'\n"
	"  --verbose           per node, on stderr: local pods, addresses\n"
	"                      bound to their interface, pod ranges, and\n"
	"                      what changed in its table\n"
	"  -o, --output FMT    text (default) or json (spec/cli.md)\n"
	"  -f, --file PATH     a manifest, a directory or '-' (repeatable)\n"
	"  -h, --help          this text\n"
	"\n"
	"Exit status: 0 nothing mismatched (run) or done, 1 a mismatch or\n"
	"errors in the manifests, 2 usage errors or the lab could not be built.\n";

enum {
	OPT_NAME = 1000,
	OPT_PORT,
	OPT_VERBOSE,
};

struct lab_opts {
	struct inputs in;
	const char *name;
	struct pw_port *ports;
	size_t nports;
	bool verbose;
};

/* One lab being worked on in this process. */
struct lab {
	char id[LAB_ID_MAX];
	struct loaded l;
	struct pw_engine *e;
	struct lab_plan plan;
	pid_t *pids; /* servers that are our children, plan.npods */
	bool exists; /* the state directory is ours: down on failure */
	bool verbose; /* say what enforcing each node changed */
};

static int lab_fail(const struct lab *lab, const char *what, int err)
{
	if (err == -EINTR || lab_stop)
		fprintf(stderr, "podwall lab: interrupted\n");
	else
		fprintf(stderr, "podwall lab: %s: %s\n", what, strerror(-err));
	return EXIT_TROUBLE;
}

/* ---- options -------------------------------------------------------- */

static int add_port(const struct cmd *cmd, struct lab_opts *o, const char *arg)
{
	struct pw_port port, *v;

	if (port_arg(cmd, arg, &port))
		return EXIT_TROUBLE;
	for (size_t i = 0; i < o->nports; i++)
		if (!pw_port_cmp(&o->ports[i], &port))
			return 0;
	v = realloc(o->ports, (o->nports + 1) * sizeof(*v));
	if (!v)
		return cmd_fail(cmd, "%s", strerror(ENOMEM));
	o->ports = v;
	o->ports[o->nports++] = port;
	return 0;
}

static bool valid_id(const char *s)
{
	size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789");

	return n && n < LAB_ID_MAX && !s[n];
}

/* A cmd_opt_fn for the lab's own options. */
static int lab_opt(const struct cmd *cmd, void *ctx, int opt, const char *arg)
{
	struct lab_opts *o = ctx;

	switch (opt) {
	case OPT_NAME:
		o->name = arg;
		return 0;
	case OPT_PORT:
		return add_port(cmd, o, arg);
	case OPT_VERBOSE:
		o->verbose = true;
		return 0;
	}
	return -1;
}

/* Not cmd_parse(): probe and down read no manifests. */
static int lab_parse(const struct cmd *cmd, struct lab_opts *o, int argc,
		     char **argv, bool inputs)
{
	static const struct option longopts[] = {
		COMMON_LONGOPTS,
		{ "name", required_argument, NULL, OPT_NAME },
		{ "port", required_argument, NULL, OPT_PORT },
		{ "verbose", no_argument, NULL, OPT_VERBOSE },
		{ 0 },
	};
	int status = cmd_parse_opts(cmd, &o->in, argc, argv, COMMON_SHORTOPTS,
				    longopts, lab_opt, o);

	if (status)
		return status;
	if (o->name && !valid_id(o->name))
		return cmd_fail(cmd, "--name: 1 to 8 of a-z and 0-9");
	if (inputs)
		return inputs_finish(cmd, &o->in, argc, argv);
	if (optind < argc || o->in.n)
		return cmd_fail(cmd, "this subcommand reads no manifests");
	return 0;
}

/* ---- opening a lab: manifests, plan, engine ----------------------- */

static int lab_open(struct lab *lab, const struct inputs *in,
		    const struct lab_plan *prev)
{
	int status = loaded_load(&lab->l, in), ret;

	diags_print(lab->l.diags, stderr);
	if (status)
		return status;
	ret = lab_plan_build(&lab->plan, lab->id, lab->l.cluster, prev);
	if (ret)
		return lab_fail(lab, "cannot plan the lab", ret);
	lab->e = pw_engine_new(lab->l.cluster);
	if (!lab->e)
		return lab_fail(lab, "cannot analyse the cluster", -errno);
	ret = lab_plan_bind(&lab->plan, lab->e);
	if (ret)
		return lab_fail(lab, "pods of the lab and the engine differ",
				ret);
	lab->pids = calloc(lab->plan.npods + 1, sizeof(*lab->pids));
	return lab->pids ? 0 : lab_fail(lab, "lab", -ENOMEM);
}

static void lab_close(struct lab *lab)
{
	if (lab->pids)
		lab_serve_stop(lab->pids, lab->plan.npods);
	if (lab->exists && lab_state_down(lab->id))
		fprintf(stderr,
			"podwall lab: lab %s was not removed whole: run "
			"'podwall lab down --name %s'\n",
			lab->id, lab->id);
	free(lab->pids);
	lab_plan_free(&lab->plan);
	pw_engine_free(lab->e);
	loaded_free(&lab->l);
	memset(lab, 0, sizeof(*lab));
}

/* A new lab's id: --name, or "pw" and 4 random hex digits not in use. */
static int new_id(struct lab *lab, const char *name)
{
	uint16_t r;
	int ret;

	for (int tries = 0; tries < 16; tries++) {
		if (name) {
			snprintf(lab->id, sizeof(lab->id), "%s", name);
		} else {
			if (getrandom(&r, sizeof(r), 0) != sizeof(r))
				return -errno;
			snprintf(lab->id, sizeof(lab->id), "pw%04x", r);
		}
		ret = lab_state_create(lab->id);
		if (ret != -EEXIST || name)
			return ret;
	}
	return -EEXIST;
}

/* The id of an existing lab: --name, or the only one there is. */
static int find_id(struct lab *lab, const char *name)
{
	int ret;

	if (name) {
		snprintf(lab->id, sizeof(lab->id), "%s", name);
		return 0;
	}
	ret = lab_state_only(lab->id, sizeof(lab->id));
	if (ret == -EEXIST)
		fprintf(stderr, "podwall lab: several labs run: say which "
				"with --name\n");
	else if (ret)
		fprintf(stderr, "podwall lab: no lab runs\n");
	return ret;
}

/* ---- ports ---------------------------------------------------------- */

/* The ports to probe: --port, else the engine's defaults; SCTP is put
 * aside with the reason. */
static int choose_ports(struct lab *lab, const struct lab_opts *o,
			struct lab_result *r)
{
	size_t n = o->nports ? o->nports :
			       pw_engine_default_ports(lab->e, NULL, 0);
	struct pw_port *all = calloc(n + 1, sizeof(*all));

	r->ports = calloc(n + 1, sizeof(*r->ports));
	r->skips = calloc(n + 1, sizeof(*r->skips));
	if (!all || !r->ports || !r->skips) {
		free(all);
		return -ENOMEM;
	}
	if (o->nports)
		memcpy(all, o->ports, n * sizeof(*all));
	else
		n = pw_engine_default_ports(lab->e, all, n);
	for (size_t i = 0; i < n; i++) {
		if (all[i].proto == PW_PROTO_SCTP)
			r->skips[r->nskips++] =
				(struct lab_skip){ all[i],
						   "this kernel has no SCTP" };
		else
			r->ports[r->nports++] = all[i];
	}
	free(all);
	r->npods = lab->plan.npods;
	return 0;
}

/* The engine's matrix over the lab's pods. */
static int fill_expected(struct lab *lab, struct lab_result *r)
{
	struct pw_matrix *m = pw_engine_matrix(lab->e, r->ports, r->nports);
	const struct lab_pod *pods = lab->plan.pods;

	if (!m)
		return -errno;
	r->expected = calloc(r->nports * r->npods * r->npods + 1, 1);
	for (size_t p = 0; r->expected && p < r->nports; p++)
		for (size_t i = 0; i < r->npods; i++)
			for (size_t j = 0; j < r->npods; j++)
				r->expected[lab_cell(r, p, i, j)] =
					i == j ||
					pw_matrix_allowed(m, p, pods[i].eidx,
							  pods[j].eidx);
	pw_matrix_free(m);
	return r->expected ? 0 : -ENOMEM;
}

/* ---- building ------------------------------------------------------- */

/*
 * What the child that enforced a node says, in one write: smaller than
 * PIPE_BUF, so it arrives whole or not at all (a crash).
 */
struct enforce_report {
	int err; /* 0 or -errno of the ruleset code */
	int bound; /* pw_ruleset_bind_interfaces(): addresses, or -errno */
	size_t local, ranges;
	struct pw_apply_stats st;
	char msg[512]; /* nftables' message on error */
};

/*
 * Node j's ruleset as `podwall apply --node NAME [--pod-cidr RANGE]`
 * makes it, with the same calls in the same order: the ruleset of the
 * node, its pod range when the lab chose it (a Node's spec.podCIDRs are
 * the ruleset's already), pod interfaces bound from the node's routes
 * (anti-spoofing), and the kernel's table moved to it incrementally.
 */
static int enforce_here(const struct lab *lab, size_t j,
			struct enforce_report *rep)
{
	const struct lab_node *n = &lab->plan.nodes[j];
	struct pw_ruleset *rs;
	char *msg = NULL;
	int ret;

	rs = pw_ruleset_new(lab->e, n->name);
	if (!rs)
		return -errno;
	ret = n->range[0] ? pw_ruleset_add_pod_cidr(rs, n->range) : 0;
	if (!ret) {
		rep->bound = pw_ruleset_bind_interfaces(rs);
		ret = pw_ruleset_sync(rs, &rep->st, &msg);
	}
	rep->local = pw_ruleset_local_count(rs);
	rep->ranges = pw_ruleset_range_count(rs);
	if (msg)
		snprintf(rep->msg, sizeof(rep->msg), "%s", msg);
	free(msg);
	pw_ruleset_free(rs);
	return ret;
}

/*
 * The child: enters the node's netns and enforces there, so that whatever
 * happens (even a crash) this process stays where it is and can take the
 * lab down.
 */
static void enforce_child(const struct lab *lab, size_t j, int out)
{
	struct enforce_report rep = { 0 };

	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	rep.err = lab_netns_enter(lab->plan.nodes[j].netns);
	if (!rep.err)
		rep.err = enforce_here(lab, j, &rep);
	_exit(write(out, &rep, sizeof(rep)) == sizeof(rep) ? 0 : 1);
}

/* Says what enforcing node j did: errors, a warning when anti-spoofing is
 * off, and with --verbose what changed in the kernel. */
static int enforce_said(const struct lab *lab, size_t j,
			const struct enforce_report *rep)
{
	const struct lab_node *n = &lab->plan.nodes[j];
	char what[256];

	if (rep->err) {
		fprintf(stderr, "podwall lab: node %s: nftables: %s: %s\n",
			n->netns,
			rep->msg[0]	    ? rep->msg :
			rep->err == -ECHILD ? "the ruleset code crashed" :
					      strerror(-rep->err),
			pw_datapath_hint(rep->err));
		return rep->err;
	}
	if (rep->bound < 0)
		fprintf(stderr,
			"warning: node %s: cannot read the routes to the pods "
			"(%s): anti-spoofing is off\n",
			n->netns, strerror(-rep->bound));
	if (!lab->verbose)
		return 0;
	pw_apply_stats_format(&rep->st, what, sizeof(what));
	fprintf(stderr,
		"lab %s: node %s (%s): %zu local pods, %d addresses bound, "
		"%zu pod ranges%s%s%s; changed: %s\n",
		lab->id, n->name, n->netns, rep->local,
		rep->bound < 0 ? 0 : rep->bound, rep->ranges,
		n->range[0] ? " (the lab's: " : "", n->range,
		n->range[0] ? ")" : "", what);
	return 0;
}

static int enforce_node(const struct lab *lab, size_t j)
{
	struct enforce_report rep = { 0 };
	int pfd[2], status;
	ssize_t n;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (!pid)
		enforce_child(lab, j, pfd[1]);
	close(pfd[1]);
	if (pid < 0) {
		close(pfd[0]);
		return -errno;
	}
	while ((n = read(pfd[0], &rep, sizeof(rep))) < 0 && errno == EINTR)
		;
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (n != sizeof(rep) || !WIFEXITED(status) || WEXITSTATUS(status))
		rep = (struct enforce_report){ .err = -ECHILD };
	return enforce_said(lab, j, &rep);
}

static int lab_enforce(struct lab *lab)
{
	int ret = 0;

	for (size_t j = 0; j < lab->plan.nnodes && !ret && !lab_stop; j++)
		ret = enforce_node(lab, j);
	return lab_stop ? -EINTR : ret;
}

/* Every port number a server must answer: the probed ports and the ports
 * asked for, without duplicates. */
static int serve_set(const struct lab_opts *o, const struct lab_result *r,
		     struct pw_port **out, size_t *n)
{
	*out = calloc(o->nports + r->nports + 1, sizeof(**out));
	*n = 0;
	if (!*out)
		return -ENOMEM;
	for (size_t i = 0; i < o->nports + r->nports; i++) {
		const struct pw_port *q =
			i < r->nports ? &r->ports[i] : &o->ports[i - r->nports];
		size_t j = 0;

		while (j < *n && pw_port_cmp(&(*out)[j], q))
			j++;
		if (j == *n && q->proto != PW_PROTO_SCTP)
			(*out)[(*n)++] = *q;
	}
	return 0;
}

/* Namespaces, servers, rulesets. On failure what exists stays for
 * lab_close(), which removes it. */
static int lab_build(struct lab *lab, const struct inputs *in,
		     const struct pw_port *serve, size_t nserve, unsigned flags)
{
	struct lab_record rec = {
		.paths = (char **)in->paths,
		.npaths = in->n,
		.ports = (struct pw_port *)serve,
		.nports = nserve,
		.network = lab_plan_digest(&lab->plan),
	};
	int ret = lab_state_save(lab->id, &rec);

	if (!ret)
		ret = lab_state_save_plan(lab->id, &lab->plan);
	if (ret)
		return lab_fail(lab, "cannot record the lab", ret);
	ret = lab_net_up(&lab->plan);
	if (ret)
		return lab_fail(lab, "cannot build the network", ret);
	ret = lab_serve_start(&lab->plan, serve, nserve, flags, NULL,
			      lab->pids);
	if (ret)
		return lab_fail(lab, "cannot start the servers", ret);
	ret = lab_enforce(lab);
	if (ret)
		return lab_fail(lab, "cannot enforce the rulesets", ret);
	return 0;
}

static int lab_new(struct lab *lab, const struct lab_opts *o,
		   struct lab_result *r)
{
	int status, ret;

	lab_signals_install();
	ret = new_id(lab, o->name);
	if (ret)
		return lab_fail(lab,
				ret == -EEXIST ? "that lab exists" :
						 LAB_STATE_ROOT,
				ret);
	lab->exists = true;
	status = lab_open(lab, &o->in, NULL);
	if (status)
		return status;
	ret = choose_ports(lab, o, r);
	if (ret)
		return lab_fail(lab, "ports", ret);
	return lab_stop ? lab_fail(lab, "", -EINTR) : 0;
}

/* ---- subcommands ---------------------------------------------------- */

static void print_notes(const struct lab *lab)
{
	for (size_t i = 0; i < lab->plan.nnotes; i++)
		fprintf(stderr, "note: %s: not built: %s\n",
			lab->plan.notes[i].pod, lab->plan.notes[i].why);
}

/* The JSON of probe has no room for skipped ports: say it on stderr. */
static void print_skips(const struct lab_result *r)
{
	char pn[32];

	for (size_t i = 0; i < r->nskips; i++) {
		pw_port_format(&r->skips[i].port, pn, sizeof(pn));
		fprintf(stderr, "note: %s skipped: %s\n", pn, r->skips[i].why);
	}
}

static int sub_up(struct lab *lab, const struct lab_opts *o)
{
	struct lab_result r = { 0 };
	struct pw_port *serve = NULL;
	size_t nserve;
	int status;

	status = lab_new(lab, o, &r);
	if (!status && serve_set(o, &r, &serve, &nserve))
		status = lab_fail(lab, "ports", -ENOMEM);
	if (!status)
		status =
			lab_build(lab, &o->in, serve, nserve, LAB_SERVE_DAEMON);
	if (!status) {
		print_notes(lab);
		printf("lab %s up: %zu nodes, %zu pods, %zu ports served\n",
		       lab->id, lab->plan.nnodes, lab->plan.npods, nserve);
		/* The lab outlives this process. */
		memset(lab->pids, 0, lab->plan.npods * sizeof(*lab->pids));
		lab->exists = false;
	}
	free(serve);
	lab_result_free(&r);
	return status;
}

static int sub_run(struct lab *lab, const struct lab_opts *o)
{
	struct lab_result r = { 0 };
	struct pw_port *serve = NULL;
	size_t nserve;
	int status, ret;

	status = lab_new(lab, o, &r);
	if (!status && serve_set(o, &r, &serve, &nserve))
		status = lab_fail(lab, "ports", -ENOMEM);
	if (!status)
		status = lab_build(lab, &o->in, serve, nserve, 0);
	r.observed = calloc(r.nports * r.npods * r.npods + 1, 1);
	ret = status ? 0 : r.observed ? lab_probe_run(&lab->plan, &r) : -ENOMEM;
	if (!status && !ret)
		ret = fill_expected(lab, &r);
	if (!status && ret)
		status = lab_fail(lab, "probe", ret);
	if (!status) {
		if (o->in.fmt == OUT_JSON) {
			print_notes(lab);
			lab_out_json(&lab->plan, &r, true);
		} else {
			lab_out_text(&lab->plan, &r);
		}
		status = lab_result_mismatches(&r) ? EXIT_PROBLEMS : 0;
	}
	free(serve);
	lab_result_free(&r);
	return status;
}

/* Reads the record of the lab that runs (--name, or the only one). */
static int lab_find(struct lab *lab, const struct lab_opts *o,
		    struct lab_record *rec)
{
	int ret = find_id(lab, o->name);

	if (ret)
		return EXIT_TROUBLE;
	ret = lab_state_load(lab->id, rec);
	if (ret) {
		fprintf(stderr, "podwall lab: no lab %s runs\n", lab->id);
		return EXIT_TROUBLE;
	}
	return 0;
}

/* Opens the lab that runs, with the manifests it was built from, which
 * must still describe the network that was built. */
static int lab_reopen(struct lab *lab, const struct lab_opts *o,
		      struct lab_record *rec)
{
	struct lab_plan built = { 0 };
	struct inputs in = { 0 };
	int status = lab_find(lab, o, rec), ret;

	if (status)
		return status;
	ret = lab_state_load_plan(lab->id, &built);
	if (ret)
		return lab_fail(lab, "the lab's record of its plan", ret);
	in.paths = (const char **)rec->paths;
	in.n = rec->npaths;
	status = lab_open(lab, &in, &built);
	lab_plan_free(&built);
	if (!status && lab_plan_digest(&lab->plan) != rec->network) {
		fprintf(stderr,
			"podwall lab: the manifests of lab %s changed since "
			"it was built: give them to 'podwall lab apply'\n",
			lab->id);
		status = EXIT_TROUBLE;
	}
	return status;
}

/* Ports to probe that the lab's servers do not answer yet. */
static size_t missing_ports(const struct lab_result *r,
			    const struct pw_port *served, size_t nserved,
			    struct pw_port *out)
{
	size_t n = 0, j;

	for (size_t i = 0; i < r->nports; i++) {
		for (j = 0; j < nserved && served[j].num != r->ports[i].num;
		     j++)
			;
		if (j == nserved)
			out[n++] = r->ports[i];
	}
	return n;
}

static int sub_probe(struct lab *lab, const struct lab_opts *o)
{
	struct lab_record rec = { 0 };
	struct pw_port *extra = NULL;
	struct lab_result r = { 0 };
	size_t nextra;
	int status, ret;

	lab_signals_install();
	status = lab_reopen(lab, o, &rec);
	ret = status ? 0 : choose_ports(lab, o, &r);
	if (!status && !ret) {
		extra = calloc(r.nports + 1, sizeof(*extra));
		r.observed = calloc(r.nports * r.npods * r.npods + 1, 1);
		ret = extra && r.observed ? 0 : -ENOMEM;
	}
	nextra = ret || status ?
			 0 :
			 missing_ports(&r, rec.ports, rec.nports, extra);
	if (!status && !ret && nextra)
		ret = lab_serve_start(&lab->plan, extra, nextra, LAB_SERVE_ONLY,
				      NULL, lab->pids);
	if (!status && !ret)
		ret = lab_probe_run(&lab->plan, &r);
	if (!status && !ret)
		ret = fill_expected(lab, &r);
	if (!status && ret)
		status = lab_fail(lab, "probe", ret);
	if (!status && o->in.fmt == OUT_JSON) {
		print_skips(&r);
		lab_out_json(&lab->plan, &r, false);
	} else if (!status) {
		lab_out_text(&lab->plan, &r);
	}
	lab_record_free(&rec);
	free(extra);
	lab_result_free(&r);
	return status;
}

/* Records the new manifests and the network they built. */
static int save_applied(struct lab *lab, const struct lab_opts *o,
			const struct lab_record *rec)
{
	struct lab_record now = *rec;
	int ret;

	now.paths = (char **)o->in.paths;
	now.npaths = o->in.n;
	now.network = lab_plan_digest(&lab->plan);
	ret = lab_state_save(lab->id, &now);
	return ret ? ret : lab_state_save_plan(lab->id, &lab->plan);
}

/* The network stays as it is: new rulesets only. */
static int apply_rulesets(struct lab *lab, const struct lab_opts *o,
			  const struct lab_record *rec)
{
	int ret = save_applied(lab, o, rec);

	if (!ret)
		ret = lab_enforce(lab);
	if (ret)
		return lab_fail(lab, "cannot enforce", ret);
	printf("lab %s: rulesets of %zu nodes updated\n", lab->id,
	       lab->plan.nnodes);
	return 0;
}

/* The network changed in a way that pieces cannot follow (a node's
 * address): down, then up again under the same name. */
static int rebuild(struct lab *lab, const struct lab_opts *o,
		   const struct lab_record *rec)
{
	int ret = lab_state_down(lab->id), status;

	ret = ret ? ret : lab_state_create(lab->id);
	if (ret)
		return lab_fail(lab, "cannot rebuild the lab", ret);
	lab->exists = true;
	status = lab_build(lab, &o->in, rec->ports, rec->nports,
			   LAB_SERVE_DAEMON);
	if (status)
		return status;
	printf("lab %s rebuilt (a node's address changed): %zu nodes, %zu "
	       "pods\n",
	       lab->id, lab->plan.nnodes, lab->plan.npods);
	memset(lab->pids, 0, lab->plan.npods * sizeof(*lab->pids));
	lab->exists = false;
	return 0;
}

/* Whether every node both plans have keeps its addresses. */
static bool nodes_stay(const struct lab_plan *old, const struct lab_plan *now)
{
	const struct lab_node *a, *b;
	size_t k;

	for (size_t j = 0; j < old->nnodes; j++) {
		a = &old->nodes[j];
		k = lab_plan_node(now, a->name);
		if (k == now->nnodes)
			continue;
		b = &now->nodes[k];
		if (memcmp(&a->addr4, &b->addr4, sizeof(a->addr4)) ||
		    a->has6 != b->has6 ||
		    (a->has6 && memcmp(&a->addr6, &b->addr6, sizeof(a->addr6))))
			return false;
	}
	return true;
}

/* Whether pod a of plan pa is built as pod b of plan pb. */
static bool pod_stays(const struct lab_plan *pa, const struct lab_pod *a,
		      const struct lab_plan *pb, const struct lab_pod *b)
{
	if (strcmp(pa->nodes[a->node].name, pb->nodes[b->node].name) ||
	    a->nips != b->nips || a->nports != b->nports ||
	    memcmp(a->ips, b->ips, a->nips * sizeof(a->ips[0])))
		return false;
	for (size_t i = 0; i < a->nports; i++)
		if (pw_port_cmp(&a->ports[i], &b->ports[i]))
			return false;
	return true;
}

/* Removes the pods of old that are gone or changed, then the nodes that
 * are gone. */
static int remove_old(const struct lab_plan *old, const struct lab_plan *now,
		      size_t *removed)
{
	char what[16];
	size_t j;
	int ret = 0;

	for (size_t i = 0; i < old->npods && !ret; i++) {
		j = lab_plan_pod(now, old->pods[i].name);
		if (j < now->npods &&
		    pod_stays(old, &old->pods[i], now, &now->pods[j]))
			continue;
		snprintf(what, sizeof(what), "s%u", old->pods[i].k);
		ret = lab_state_kill(old->id, what);
		if (!ret)
			ret = lab_net_pod_del(old, i, now);
		(*removed)++;
	}
	for (j = 0; j < old->nnodes && !ret; j++)
		if (lab_plan_node(now, old->nodes[j].name) == now->nnodes)
			ret = lab_net_node_del(old, j, now);
	return ret;
}

/* Adds the nodes that are new, then the pods that are new or changed,
 * with their servers. */
static int add_new(struct lab *lab, const struct lab_plan *old,
		   const struct lab_record *rec, size_t *added)
{
	const struct lab_plan *now = &lab->plan;
	bool *add = calloc(now->npods + 1, sizeof(*add));
	size_t k;
	int ret = add ? 0 : -ENOMEM;

	for (size_t i = 0; i < now->npods && !ret; i++) {
		k = lab_plan_pod(old, now->pods[i].name);
		add[i] = k == old->npods ||
			 !pod_stays(old, &old->pods[k], now, &now->pods[i]);
	}
	for (size_t j = 0; j < now->nnodes && !ret; j++) {
		if (lab_plan_node(old, now->nodes[j].name) < old->nnodes)
			continue;
		ret = lab_net_node_add(now, j);
		/* A new node routes to the pods that stay; the new pods
		 * route themselves below. */
		for (size_t i = 0; i < now->npods && !ret; i++)
			if (!add[i] && now->pods[i].node != j)
				ret = lab_net_pod_route(now, i, j);
	}
	for (size_t i = 0; i < now->npods && !ret; i++) {
		if (add[i]) {
			ret = lab_net_pod_add(now, i);
			(*added)++;
		}
	}
	if (!ret && *added)
		ret = lab_serve_start(now, rec->ports, rec->nports,
				      LAB_SERVE_DAEMON, add, lab->pids);
	free(add);
	return ret;
}

/* Only what changed: pods and nodes come and go, then every node gets
 * its new ruleset. */
static int apply_changes(struct lab *lab, const struct lab_opts *o,
			 const struct lab_record *rec,
			 const struct lab_plan *old)
{
	size_t added = 0, removed = 0;
	int ret = remove_old(old, &lab->plan, &removed);

	if (!ret)
		ret = add_new(lab, old, rec, &added);
	if (!ret)
		ret = save_applied(lab, o, rec);
	if (!ret)
		ret = lab_enforce(lab);
	if (ret) {
		lab_fail(lab, "cannot change the lab", ret);
		fprintf(stderr,
			"podwall lab: lab %s is changed half-way: run "
			"'podwall lab down --name %s'\n",
			lab->id, lab->id);
		return EXIT_TROUBLE;
	}
	/* The new servers outlive this command. */
	memset(lab->pids, 0, lab->plan.npods * sizeof(*lab->pids));
	printf("lab %s: %zu pods removed, %zu added; rulesets of %zu nodes "
	       "updated\n",
	       lab->id, removed, added, lab->plan.nnodes);
	return 0;
}

/*
 * New manifests for a running lab. When they build the same network (the
 * same pods with the same addresses and ports on the same nodes), only the
 * rulesets change, in place, which the datapath does incrementally. Else
 * pods and nodes that changed are removed and built again, the others stay
 * as they are; only a node whose address changed rebuilds the lab.
 */
static int sub_apply(struct lab *lab, const struct lab_opts *o)
{
	struct lab_record rec = { 0 };
	struct lab_plan old = { 0 };
	int status, ret;

	lab_signals_install();
	status = lab_find(lab, o, &rec);
	ret = status ? 0 : lab_state_load_plan(lab->id, &old);
	if (ret)
		status = lab_fail(lab, "the lab's record of its plan", ret);
	if (!status)
		status = lab_open(lab, &o->in, &old);
	if (!status && lab_plan_digest(&lab->plan) == rec.network)
		status = apply_rulesets(lab, o, &rec);
	else if (!status && nodes_stay(&old, &lab->plan))
		status = apply_changes(lab, o, &rec, &old);
	else if (!status)
		status = rebuild(lab, o, &rec);
	lab_plan_free(&old);
	lab_record_free(&rec);
	return status;
}

static int sub_down(struct lab *lab, const struct lab_opts *o)
{
	size_t n;
	int ret;

	if (o->name && !lab_state_traces(o->name)) {
		printf("no lab %s\n", o->name);
		return 0;
	}
	if (o->name) {
		ret = lab_state_down(o->name);
		if (!ret)
			printf("lab %s removed\n", o->name);
		return ret ? lab_fail(lab, o->name, ret) : 0;
	}
	ret = lab_state_down_all(&n);
	if (!ret)
		printf("%zu labs removed\n", n);
	return ret ? lab_fail(lab, LAB_STATE_ROOT, ret) : 0;
}

struct lab_sub {
	const char *name;
	int (*fn)(struct lab *lab, const struct lab_opts *o);
	bool inputs; /* reads manifests */
	bool keeps; /* the lab outlives the command: manifests are read
		     * again later, so not from standard input */
	unsigned fmts;
};

static const struct lab_sub subs[] = {
	{ "up", sub_up, true, true, OUT_MASK(OUT_TEXT) },
	{ "apply", sub_apply, true, true, OUT_MASK(OUT_TEXT) },
	{ "probe", sub_probe, false, false,
	  OUT_MASK(OUT_TEXT) | OUT_MASK(OUT_JSON) },
	{ "down", sub_down, false, false, OUT_MASK(OUT_TEXT) },
	{ "run", sub_run, true, false,
	  OUT_MASK(OUT_TEXT) | OUT_MASK(OUT_JSON) },
};

int cmd_lab(const struct cmd *cmd, int argc, char **argv)
{
	const struct lab_sub *sub = NULL;
	struct lab_opts o = { 0 };
	struct lab lab = { 0 };
	int status;

	if (argc >= 2 &&
	    (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		cmd_usage(cmd, stdout);
		return 0;
	}
	for (size_t i = 0; argc >= 2 && i < sizeof(subs) / sizeof(subs[0]); i++)
		if (!strcmp(subs[i].name, argv[1]))
			sub = &subs[i];
	if (argc < 2)
		return cmd_fail(cmd, "which: up, apply, probe, down or run?");
	if (!sub)
		return cmd_fail(cmd, "unknown subcommand '%s'", argv[1]);
	o.in.fmts = sub->fmts;
	status = lab_parse(cmd, &o, argc - 1, argv + 1, sub->inputs);
	for (size_t i = 0; !status && sub->keeps && i < o.in.n; i++)
		if (!strcmp(o.in.paths[i], "-"))
			status = cmd_fail(cmd,
					  "lab %s: the lab reads its "
					  "manifests again later: give "
					  "files, not '-'",
					  sub->name);
	lab.verbose = o.verbose;
	if (!status)
		status = sub->fn(&lab, &o);
	lab_close(&lab);
	inputs_free(&o.in);
	free(o.ports);
	return status == CMD_DONE ? 0 : status;
}
