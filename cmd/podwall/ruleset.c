// SPDX-License-Identifier: Apache-2.0
/* What compile and apply share: --node, --pod-cidr, building the ruleset. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <podwall/datapath.h>

#include "podwall.h"

int ruleset_opt(const struct cmd *cmd, void *ctx, int opt, const char *arg)
{
	struct ruleset_opts *o = ctx;

	switch (opt) {
	case OPT_RS_NODE:
		o->node = arg;
		return 0;
	case OPT_RS_POD_CIDR:
		if (o->ncidrs == RS_MAX_POD_CIDRS)
			return cmd_fail(cmd, "too many --pod-cidr");
		o->cidrs[o->ncidrs++] = arg;
		return 0;
	}
	return -1;
}

int ruleset_build(const struct cmd *cmd, const struct pw_engine *e,
		  const struct ruleset_opts *o, struct pw_ruleset **out)
{
	struct pw_ruleset *rs = pw_ruleset_new(e, o->node);

	*out = NULL;
	if (!rs)
		return cmd_fail(cmd, "%s", strerror(errno));
	for (size_t i = 0; i < o->ncidrs; i++) {
		if (pw_ruleset_add_pod_cidr(rs, o->cidrs[i])) {
			pw_ruleset_free(rs);
			return cmd_fail(cmd, "--pod-cidr: not a CIDR: %s",
					o->cidrs[i]);
		}
	}
	if (o->node && !pw_ruleset_range_count(rs))
		fprintf(stderr,
			"warning: no Node '%s' with spec.podCIDRs in the "
			"manifests: addresses of unknown pods are not "
			"dropped (fail-closed is off)\n",
			o->node);
	*out = rs;
	return 0;
}
