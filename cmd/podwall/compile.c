// SPDX-License-Identifier: Apache-2.0
/* podwall compile: the nftables ruleset that apply would load. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <podwall/datapath.h>

#include "podwall.h"

const char compile_usage[] =
	"usage: podwall compile [--node NAME] [--pod-cidr CIDR]...\n"
	"                       [--flow-log none|denied|all] [--nflog-group N]\n"
	"                       [--ct-mark-mask MASK]\n"
	"                       [-f PATH]... [PATH...]\n"
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
	"  --flow-log WHAT     log statements for podwalld's flow log: none\n"
	"                      (default), denied (every dropped packet) or all\n"
	"                      (also new connections the classes admit)\n"
	"  --nflog-group N     the nflog group of those statements (default 0)\n" RULESET_CT_MARK_USAGE
	"  -f, --file PATH     a manifest, a directory or '-' (repeatable)\n"
	"  -h, --help          this text\n"
	"\n"
	"Exit status: 0 printed, 1 errors in the manifests, 2 usage, I/O or\n"
	"parse errors.\n";

int cmd_compile(const struct cmd *cmd, int argc, char **argv)
{
	struct inputs in = { .fmts = OUT_MASK(OUT_TEXT) };
	struct pw_ruleset *rs = NULL;
	struct pw_engine *e = NULL;
	struct loaded l = { 0 };
	static const struct option longopts[] = {
		COMMON_LONGOPTS,
		RULESET_LONGOPTS,
		{ 0 },
	};
	struct ruleset_opts o = RULESET_OPTS_INIT;
	char *text = NULL;
	int status, ret;

	status = cmd_parse(cmd, &in, argc, argv, longopts, ruleset_opt, &o);
	if (status)
		goto out_inputs;
	status = loaded_engine(cmd, &l, &in, &e);
	if (status)
		goto out_loaded;
	status = ruleset_build(cmd, e, &o, &rs);
	if (status)
		goto out_free;
	ret = pw_ruleset_render(rs, &text);
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
