// SPDX-License-Identifier: Apache-2.0
/* What compile and apply share: --node, --pod-cidr, --flow-log,
 * --nflog-group, --ct-mark-mask, building the ruleset. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <podwall/datapath.h>

#include "podwall.h"

static const struct {
	const char *name;
	unsigned int flags;
} flow_logs[] = {
	{ "none", 0 },
	{ "denied", PW_FLOW_LOG_DENIED },
	{ "all", PW_FLOW_LOG_DENIED | PW_FLOW_LOG_ALLOWED },
};

static int flow_log_opt(const struct cmd *cmd, struct ruleset_opts *o,
			const char *arg)
{
	for (size_t i = 0; i < sizeof(flow_logs) / sizeof(flow_logs[0]); i++) {
		if (!strcmp(arg, flow_logs[i].name)) {
			o->flow_log = flow_logs[i].flags;
			return 0;
		}
	}
	return cmd_fail(cmd, "--flow-log: none, denied or all, not '%s'", arg);
}

static int group_opt(const struct cmd *cmd, struct ruleset_opts *o,
		     const char *arg)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(arg, &end, 10);
	if (errno || end == arg || *end || *arg == '-' || v > 65535)
		return cmd_fail(
			cmd, "--nflog-group: a number 0-65535, not '%s'", arg);
	o->nflog_group = (unsigned int)v;
	return 0;
}

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
	case OPT_RS_FLOW_LOG:
		return flow_log_opt(cmd, o, arg);
	case OPT_RS_NFLOG_GROUP:
		return group_opt(cmd, o, arg);
	case OPT_RS_CT_MARK_MASK:
		if (pw_ct_mark_mask_parse(arg, &o->ct_mark_mask))
			return cmd_fail(cmd,
					"--ct-mark-mask: one run of bits of a "
					"32-bit mark (e.g. 0x0fff0000), or 0, "
					"not '%s'",
					arg);
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
	if (pw_ruleset_set_flow_log(rs, o->flow_log,
				    (uint16_t)o->nflog_group)) {
		pw_ruleset_free(rs);
		return cmd_fail(cmd, "--flow-log: %s", strerror(EINVAL));
	}
	pw_ruleset_set_ct_mark_mask(rs, o->ct_mark_mask); /* parsed: valid */
	if (o->node && !pw_ruleset_range_count(rs))
		fprintf(stderr,
			"warning: no Node '%s' with spec.podCIDRs in the "
			"manifests: addresses of unknown pods are not "
			"dropped (fail-closed is off)\n",
			o->node);
	*out = rs;
	return 0;
}
