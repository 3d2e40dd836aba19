// SPDX-License-Identifier: Apache-2.0
/* podwall apply: program the ruleset into this network namespace. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <podwall/datapath.h>

#include "podwall.h"

const char apply_usage[] =
	"usage: podwall apply [--node NAME] [--pod-cidr CIDR]...\n"
	"                     [--flow-log none|denied|all] [--nflog-group N]\n"
	"                     [--ct-mark-mask MASK]\n"
	"                     [-f PATH]... [PATH...]\n"
	"       podwall apply --flush\n"
	"\n"
	"Makes podwall's nftables table (inet podwall) in the current\n"
	"network namespace hold the ruleset 'podwall compile' prints, in one\n"
	"atomic transaction: if anything fails, the previous table stays.\n"
	"The table in the kernel is read back and only what differs is\n"
	"changed (set elements, class chains); a missing table, or one\n"
	"podwall did not make, is loaded whole. Invalid manifests are\n"
	"refused before the kernel is touched. Prints two lines: the size\n"
	"of the ruleset, and what changed (kernel elements: an interval\n"
	"counts its start and end).\n"
	"\n"
	"  --node NAME         enforce as node NAME (see 'podwall help compile')\n"
	"  --pod-cidr CIDR     a pod range of this node, when no Node gives\n"
	"                      spec.podCIDRs (repeatable; fail-closed)\n"
	"  --cut-established   then delete the conntrack entries of the\n"
	"                      connections the ruleset no longer allows\n"
	"                      (docs/AGENT.md, \"Cutting connections\")\n"
	"  --flush             remove podwall's table instead\n"
	"  --flow-log WHAT     log statements for podwalld's flow log: none\n"
	"                      (default), denied (every dropped packet) or all\n"
	"                      (also new connections the classes admit)\n"
	"  --nflog-group N     the nflog group of those statements (default 0)\n" RULESET_CT_MARK_USAGE
	"  -f, --file PATH     a manifest, a directory or '-' (repeatable)\n"
	"  -h, --help          this text\n"
	"\n"
	"Exit status: 0 applied, 1 errors in the manifests, 2 usage, I/O or\n"
	"parse errors, or the kernel refused the ruleset.\n";

enum {
	OPT_FLUSH = 1000,
	OPT_CUT,
};

struct apply_opts {
	struct ruleset_opts rs;
	bool flush;
	bool cut; /* --cut-established */
};

static int apply_parse(const struct cmd *cmd, struct inputs *in,
		       struct apply_opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		COMMON_LONGOPTS,
		RULESET_LONGOPTS,
		{ "flush", no_argument, NULL, OPT_FLUSH },
		{ "cut-established", no_argument, NULL, OPT_CUT },
		{ 0 },
	};
	int opt, status;

	/* Not cmd_parse(): --flush reads no input. */
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, COMMON_SHORTOPTS, longopts,
				  NULL)) != -1) {
		o->flush |= opt == OPT_FLUSH;
		o->cut |= opt == OPT_CUT;
		status = opt == OPT_FLUSH || opt == OPT_CUT ?
				 0 :
				 ruleset_opt(cmd, &o->rs, opt, optarg);
		if (status < 0)
			status = common_opt(cmd, in, opt, argv);
		if (status < 0)
			status = cmd_fail(cmd, "unexpected option");
		if (status)
			return status;
	}
	if (o->flush) {
		if (optind < argc || in->n || o->rs.node || o->rs.ncidrs ||
		    o->rs.flow_log || o->cut)
			return cmd_fail(cmd, "--flush takes no other input");
		return 0;
	}
	return inputs_finish(cmd, in, argc, argv);
}

/* One line: what nftables said and what to do about it. */
static int kernel_fail(const struct cmd *cmd, int err, const char *msg)
{
	fprintf(stderr, "podwall %s: nftables: %s: %s\n", cmd->name,
		msg && *msg ? msg : strerror(-err), pw_datapath_hint(err));
	return EXIT_TROUBLE;
}

static int flush(const struct cmd *cmd)
{
	char *msg = NULL;
	int ret = pw_datapath_flush(&msg), status = 0;

	if (ret)
		status = kernel_fail(cmd, ret, msg);
	else
		printf("removed table inet podwall\n");
	free(msg);
	return status;
}

static int load(const struct cmd *cmd, const struct pw_ruleset *rs)
{
	struct pw_apply_stats st;
	char *msg = NULL, what[256];
	int ret = pw_ruleset_sync(rs, &st, &msg), status = 0;

	if (ret) {
		status = kernel_fail(cmd, ret, msg);
	} else {
		pw_apply_stats_format(&st, what, sizeof(what));
		printf("applied table inet podwall: %zu chains, %zu sets, "
		       "%zu elements; %zu local pods",
		       pw_ruleset_chain_count(rs), pw_ruleset_set_count(rs),
		       pw_ruleset_element_count(rs),
		       pw_ruleset_local_count(rs));
		if (pw_ruleset_skipped_count(rs))
			printf(" (%zu without an address not enforced)",
			       pw_ruleset_skipped_count(rs));
		printf("; %zu addresses bound to their interface\n",
		       pw_ruleset_bound_count(rs));
		printf("changed: %s\n", what);
	}
	free(msg);
	return status;
}

/* The sweep of podwall/conntrack.h with the engine just enforced. */
static int cut_established(const struct cmd *cmd, const struct pw_engine *e,
			   const char *node)
{
	struct pw_sweep_stats st;
	int ret = pw_conntrack_sweep(e, node, &st);

	if (ret) {
		fprintf(stderr, "podwall %s: conntrack: %s\n", cmd->name,
			strerror(-ret));
		return EXIT_TROUBLE;
	}
	printf("cut: %llu connections no longer allowed (%llu entries, "
	       "%llu judged, %llu already gone, %llu errors)\n",
	       (unsigned long long)st.cut, (unsigned long long)st.seen,
	       (unsigned long long)st.judged, (unsigned long long)st.gone,
	       (unsigned long long)st.errors);
	return st.errors ? EXIT_TROUBLE : 0;
}

int cmd_apply(const struct cmd *cmd, int argc, char **argv)
{
	struct inputs in = { .fmts = OUT_MASK(OUT_TEXT) };
	struct apply_opts o = { .rs = RULESET_OPTS_INIT };
	struct pw_ruleset *rs = NULL;
	struct pw_engine *e = NULL;
	struct loaded l = { 0 };
	int status, nb;

	status = apply_parse(cmd, &in, &o, argc, argv);
	if (status || o.flush) {
		status = status ? status : flush(cmd);
		goto out_inputs;
	}
	status = loaded_engine(cmd, &l, &in, &e);
	if (status)
		goto out_loaded;
	status = ruleset_build(cmd, e, &o.rs, &rs);
	if (status)
		goto out_free;
	/* Anti-spoofing needs the routes of this namespace; without them the
	 * rest still holds. */
	nb = pw_ruleset_bind_interfaces(rs);
	if (nb < 0)
		fprintf(stderr,
			"warning: cannot read the routes to the pods (%s): "
			"anti-spoofing is off\n",
			strerror(-nb));
	status = load(cmd, rs);
	if (!status && o.cut)
		status = cut_established(cmd, e, o.rs.node);
out_free:
	pw_ruleset_free(rs);
	pw_engine_free(e);
out_loaded:
	loaded_free(&l);
out_inputs:
	inputs_free(&in);
	return status == CMD_DONE ? 0 : status;
}
