// SPDX-License-Identifier: Apache-2.0
/* podwall compile: the nftables ruleset that apply would load. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <podwall/datapath.h>

#include "podwall.h"

const char compile_usage[] =
	"usage: podwall compile [--node NAME] [--pod-cidr CIDR]... [-f PATH]...\n"
	"                       [PATH...]\n"
	"\n"
	"Prints the nftables ruleset (table inet podwall) that 'podwall apply'\n"
	"would load, for review. Invalid manifests are reported as 'check'\n"
	"reports them, and nothing is printed.\n"
	"\n"
	"  --node NAME         compile for node NAME: pods whose spec.nodeName\n"
	"                      is NAME are enforced here, other pods are peers\n"
	"                      known by their addresses, and addresses in the\n"
	"                      Node's spec.podCIDRs that no pod has are dropped;\n"
	"                      without it every pod is local\n"
	"  --pod-cidr CIDR     a pod range of this node, when no Node in the\n"
	"                      manifests gives spec.podCIDRs (repeatable):\n"
	"                      its addresses that no pod has are dropped\n"
	"  -f, --file PATH     a manifest, a directory or '-' (repeatable)\n"
	"  -h, --help          this text\n"
	"\n"
	"Exit status: 0 printed, 1 errors in the manifests, 2 usage, I/O or\n"
	"parse errors.\n";

enum {
	OPT_NODE = 1000,
	OPT_POD_CIDR,
};

#define MAX_POD_CIDRS 16

struct compile_opts {
	const char *node;
	const char *cidrs[MAX_POD_CIDRS];
	size_t ncidrs;
};

static int compile_parse(const struct cmd *cmd, struct inputs *in,
			 struct compile_opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		COMMON_LONGOPTS,
		{ "node", required_argument, NULL, OPT_NODE },
		{ "pod-cidr", required_argument, NULL, OPT_POD_CIDR },
		{ 0 },
	};
	int opt, status;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, COMMON_SHORTOPTS, longopts,
				  NULL)) != -1) {
		if (opt == OPT_NODE) {
			o->node = optarg;
			continue;
		}
		if (opt == OPT_POD_CIDR) {
			if (o->ncidrs == MAX_POD_CIDRS)
				return cmd_fail(cmd, "too many --pod-cidr");
			o->cidrs[o->ncidrs++] = optarg;
			continue;
		}
		status = common_opt(cmd, in, opt, argv);
		if (status < 0)
			status = cmd_fail(cmd, "unexpected option");
		if (status)
			return status;
	}
	return inputs_finish(cmd, in, argc, argv);
}

int cmd_compile(const struct cmd *cmd, int argc, char **argv)
{
	struct inputs in = { .fmts = OUT_MASK(OUT_TEXT) };
	struct pw_ruleset *rs = NULL;
	struct pw_engine *e = NULL;
	struct loaded l = { 0 };
	struct compile_opts o = { 0 };
	char *text = NULL;
	int status, ret;

	status = compile_parse(cmd, &in, &o, argc, argv);
	if (status)
		goto out_inputs;
	status = loaded_engine(cmd, &l, &in, &e);
	if (status)
		goto out_loaded;
	rs = pw_ruleset_new(e, o.node);
	for (size_t i = 0; rs && i < o.ncidrs; i++)
		if (pw_ruleset_add_pod_cidr(rs, o.cidrs[i]))
			status = cmd_fail(cmd, "--pod-cidr: not a CIDR: %s",
					  o.cidrs[i]);
	if (status)
		goto out_free;
	if (rs && o.node && !pw_ruleset_range_count(rs))
		fprintf(stderr,
			"warning: no Node '%s' with spec.podCIDRs in the "
			"manifests: addresses of unknown pods are not "
			"dropped (fail-closed is off)\n",
			o.node);
	ret = rs ? pw_ruleset_render(rs, &text) : -errno;
	if (ret)
		status = cmd_fail(cmd, "%s", strerror(-ret));
	else
		fputs(text, stdout);
	free(text);
out_free:
	pw_ruleset_free(rs);
	pw_engine_free(e);
out_loaded:
	loaded_free(&l);
out_inputs:
	inputs_free(&in);
	return status == CMD_DONE ? 0 : status;
}
