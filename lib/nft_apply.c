// SPDX-License-Identifier: Apache-2.0
/*
 * Programming the kernel through libnftables: the reference path
 * (pw_ruleset_apply_text), and the flush. pw_ruleset_apply goes through
 * netlink directly (nft_netlink.c); docs/DATAPATH.md says why.
 *
 * One buffer is one nftables transaction: "table inet podwall" (creates
 * the table if it is missing, so that the delete cannot fail), "delete
 * table inet podwall", then the whole new table. The kernel commits all
 * of it or nothing, so on any error the previous table stays in force and
 * no packet ever sees a half-built ruleset. Only the table podwall owns
 * is named; nothing else in the kernel is read or changed.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/capability.h>
#include <nftables/libnftables.h>
#include <sys/syscall.h>

#include "datapath.h"
#include "util.h"

static const char replace_prefix[] = "table inet podwall\n"
				     "delete table inet podwall\n";

/* The errno behind nft's message, recognized by its strerror text, and
 * what the user can do about it. */
static const struct {
	int err;
	const char *hint;
} kernel_errors[] = {
	{ EPERM, "run as root (CAP_NET_ADMIN in this network namespace)" },
	{ EACCES, "run as root (CAP_NET_ADMIN in this network namespace)" },
	{ EOPNOTSUPP,
	  "the kernel lacks an nf_tables feature podwall needs "
	  "(inet tables, concatenated interval sets: Linux >= 5.6)" },
	{ ENOENT, "the kernel lacks an nf_tables feature podwall needs "
		  "(inet tables, concatenated interval sets: Linux >= 5.6)" },
	{ EAFNOSUPPORT, "the kernel has no nf_tables for this family" },
	/* ctnetlink missing: the verdict cache cannot purge old stamps */
	{ EPROTONOSUPPORT,
	  "the kernel lacks conntrack netlink (nf_conntrack_netlink), which "
	  "the verdict cache needs to begin a cycle of generations: load it, "
	  "or turn the cache off with --ct-mark-mask 0" },
	{ ENOMEM, "the kernel ran out of memory; the previous ruleset stays" },
	{ ENOSPC, "the kernel ran out of memory; the previous ruleset stays" },
};

PW_EXPORT const char *pw_datapath_hint(int err)
{
	if (err < 0)
		err = -err;
	for (size_t i = 0; i < PW_ARRAY_SIZE(kernel_errors); i++)
		if (kernel_errors[i].err == err)
			return kernel_errors[i].hint;
	return "the previous ruleset is unchanged; please report this as a "
	       "podwall bug";
}

static int errno_of(const char *msg)
{
	for (size_t i = 0; i < PW_ARRAY_SIZE(kernel_errors); i++)
		if (strstr(msg, strerror(kernel_errors[i].err)))
			return -kernel_errors[i].err;
	return -EIO;
}

/* The first line of nft's error text, from after its "Error: " (nft
 * may put "netlink: " or a file position in front). */
static char *first_line(const char *msg)
{
	static const char prefix[] = "Error: ";
	size_t n = strcspn(msg, "\n");
	const char *at = strstr(msg, prefix);

	if (at && at < msg + n) {
		n -= (size_t)(at + sizeof(prefix) - 1 - msg);
		msg = at + sizeof(prefix) - 1;
	}
	return pw_strndup(msg, n);
}

/*
 * Whether this process may change nf_tables at all. libnftables prints
 * its own line to stderr when it may not, and a library must not print:
 * asking first lets the caller say it once, its way. Any doubt (capget
 * failing) answers yes and lets the kernel decide.
 */
bool pw_nft_may_admin_net(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = { 0 };

	if (syscall(SYS_capget, &hdr, data))
		return true;
	return data[CAP_NET_ADMIN / 32].effective &
	       (1u << (CAP_NET_ADMIN % 32));
}

/* Runs one buffer as one transaction. */
static int run(const char *buf, char **errmsg)
{
	struct nft_ctx *ctx;
	const char *msg;
	int ret = 0;

	if (errmsg)
		*errmsg = NULL;
	if (!pw_nft_may_admin_net())
		return -EPERM;
	ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!ctx)
		return -ENOMEM;
	if (nft_ctx_buffer_output(ctx) || nft_ctx_buffer_error(ctx)) {
		ret = -ENOMEM;
		goto out_free_ctx;
	}
	if (nft_run_cmd_from_buffer(ctx, buf)) {
		msg = nft_ctx_get_error_buffer(ctx);
		msg = msg ? msg : "";
		ret = errno_of(msg);
		if (errmsg)
			*errmsg = first_line(msg);
	}
out_free_ctx:
	nft_ctx_free(ctx);
	return ret;
}

PW_EXPORT int pw_ruleset_apply_text(const struct pw_ruleset *rs, char **errmsg)
{
	char *text, *buf;
	size_t n;
	int ret;

	if (errmsg)
		*errmsg = NULL;
	ret = pw_ruleset_render(rs, &text);
	if (ret)
		return ret;
	n = strlen(text);
	buf = malloc(sizeof(replace_prefix) + n);
	if (!buf) {
		free(text);
		return -ENOMEM;
	}
	memcpy(buf, replace_prefix, sizeof(replace_prefix) - 1);
	memcpy(buf + sizeof(replace_prefix) - 1, text, n + 1);
	free(text);
	ret = run(buf, errmsg);
	free(buf);
	return ret;
}

PW_EXPORT int pw_datapath_flush(char **errmsg)
{
	return run(replace_prefix, errmsg);
}
