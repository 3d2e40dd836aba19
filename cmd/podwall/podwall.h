/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the subcommands of podwall share: the command table, option and
 * output-format handling, and loading the cluster the way every command
 * does (spec/cli.md, "Input" and "Exit status").
 */
#ifndef PODWALL_CMD_PODWALL_H
#define PODWALL_CMD_PODWALL_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <podwall/podwall.h>

/* Exit statuses of spec/cli.md. */
#define EXIT_PROBLEMS 1 /* the command worked and found problems */
#define EXIT_TROUBLE 2 /* usage, I/O or parse errors stopped it */

struct cmd {
	const char *name;
	int (*fn)(const struct cmd *cmd, int argc, char **argv);
	const char *summary; /* one line, for `podwall help` */
	const char *usage; /* the whole text of `podwall help NAME` */
};

/* Prints cmd's usage text to f. */
void cmd_usage(const struct cmd *cmd, FILE *f);
/* Prints "podwall CMD: MESSAGE" and a pointer to the help to stderr;
 * returns EXIT_TROUBLE. */
int cmd_fail(const struct cmd *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Output formats; a command accepts a subset (a mask of 1 << fmt). */
enum out_fmt {
	OUT_TEXT,
	OUT_JSON,
	OUT_CSV,
	OUT_MD,
	OUT_NR,
};
#define OUT_MASK(f) (1u << (f))
/* 0, or -EINVAL when s names no format in allowed. */
int out_fmt_parse(const char *s, unsigned allowed, enum out_fmt *out);

/* The options every cluster-reading command takes. */
#define COMMON_SHORTOPTS ":f:o:h"
#define COMMON_LONGOPTS                                     \
	{ "file", required_argument, NULL, 'f' },           \
		{ "output", required_argument, NULL, 'o' }, \
	{                                                   \
		"help", no_argument, NULL, 'h'              \
	}

/* Paths to read: -f values and positional arguments, in order. */
struct inputs {
	const char **paths; /* borrowed from argv */
	size_t n, cap;
	enum out_fmt fmt;
	unsigned fmts; /* formats the command accepts */
};

/*
 * Handles an option getopt_long returned that is common to all commands
 * (-f, -o, -h and getopt's errors). Returns 0 when it was handled and the
 * command should go on, -1 when the option is not a common one, or an exit
 * status (> 0) to return at once; a help request returns
 * CMD_DONE, which the command turns into exit status 0.
 */
#define CMD_DONE 256
int common_opt(const struct cmd *cmd, struct inputs *in, int opt, char **argv);
/*
 * A command's own option (arg is its argument or NULL): 0 when handled,
 * -1 when it is not one of the command's, or an exit status.
 */
typedef int cmd_opt_fn(const struct cmd *cmd, void *ctx, int opt,
		       const char *arg);
/*
 * Parses argv with getopt_long over COMMON_SHORTOPTS and longopts: the
 * command's own options through own(cmd, ctx, ...) (may be NULL), the
 * common ones through common_opt(), then the positional inputs. 0 or an
 * exit status (CMD_DONE after --help).
 */
int cmd_parse(const struct cmd *cmd, struct inputs *in, int argc, char **argv,
	      const struct option *longopts, cmd_opt_fn *own, void *ctx);
/* cmd_parse's option loop alone, over shortopts (COMMON_SHORTOPTS, or a
 * subset for a command that reads no -f): for commands whose positional
 * arguments are not, or not always, inputs. 0 or an exit status. */
int cmd_parse_opts(const struct cmd *cmd, struct inputs *in, int argc,
		   char **argv, const char *shortopts,
		   const struct option *longopts, cmd_opt_fn *own, void *ctx);
/* A --port value: 0, or an exit status after saying what a port is. */
int port_arg(const struct cmd *cmd, const char *arg, struct pw_port *out);
/* Adds the positional arguments after getopt; fails when there are no
 * inputs at all. 0 or an exit status. */
int inputs_finish(const struct cmd *cmd, struct inputs *in, int argc,
		  char **argv);
void inputs_free(struct inputs *in);

/* A loaded and finalized cluster with what loading said. */
struct loaded {
	struct pw_cluster *cluster;
	struct pw_diags *diags; /* sorted */
	size_t nfiles; /* files read, counted as the loader does */
};

/*
 * Loads every input and finalizes. Returns 0, EXIT_PROBLEMS when the
 * manifests hold errors, EXIT_TROUBLE when some input could not be read or
 * parsed (or memory ran out). l is filled in every case and freed with
 * loaded_free().
 */
int loaded_load(struct loaded *l, const struct inputs *in);
void loaded_free(struct loaded *l);

/* Prints every diagnostic as "SEVERITY: FILE:LINE:COL: PATH: MESSAGE". */
void diags_print(const struct pw_diags *d, FILE *f);

/*
 * What commands that answer a question do first: load, print the
 * diagnostics, and stop on any error (spec: invalid input stops analysis).
 * Returns 0 with an engine in *e, or the exit status.
 */
int loaded_engine(const struct cmd *cmd, struct loaded *l,
		  const struct inputs *in, struct pw_engine **e);

/* --node, --pod-cidr, --flow-log, --nflog-group and --ct-mark-mask,
 * which compile and apply share (ruleset.c). */
#define RS_MAX_POD_CIDRS 16
enum {
	OPT_RS_NODE = 900,
	OPT_RS_POD_CIDR,
	OPT_RS_FLOW_LOG,
	OPT_RS_NFLOG_GROUP,
	OPT_RS_CT_MARK_MASK,
};
/* clang-format off */
#define RULESET_LONGOPTS                                                   \
	{ "node", required_argument, NULL, OPT_RS_NODE },                  \
	{ "pod-cidr", required_argument, NULL, OPT_RS_POD_CIDR },          \
	{ "flow-log", required_argument, NULL, OPT_RS_FLOW_LOG },          \
	{ "nflog-group", required_argument, NULL, OPT_RS_NFLOG_GROUP },    \
	{ "ct-mark-mask", required_argument, NULL, OPT_RS_CT_MARK_MASK }
/* clang-format on */
struct ruleset_opts {
	const char *node;
	const char *cidrs[RS_MAX_POD_CIDRS];
	size_t ncidrs;
	unsigned int flow_log; /* PW_FLOW_LOG_* */
	unsigned int nflog_group;
	uint32_t ct_mark_mask; /* PW_CT_MARK_MASK_DEFAULT unless given */
};
#define RULESET_OPTS_INIT                               \
	{                                               \
		.ct_mark_mask = PW_CT_MARK_MASK_DEFAULT \
	}
/* The usage lines of --ct-mark-mask, which compile and apply print. */
#define RULESET_CT_MARK_USAGE                                                   \
	"  --ct-mark-mask MASK the conntrack mark bits of the verdict cache\n"  \
	"                      (contiguous; default 0x0fff0000; 0: no cache,\n" \
	"                      every packet of an unanswered connection is\n"   \
	"                      judged; docs/DATAPATH.md)\n"
struct pw_ruleset;
/* A cmd_opt_fn for struct ruleset_opts. */
int ruleset_opt(const struct cmd *cmd, void *ctx, int opt, const char *arg);
/* The ruleset of e for o (warning when fail-closed has no range): 0 with
 * *out, or an exit status after saying why. */
int ruleset_build(const struct cmd *cmd, const struct pw_engine *e,
		  const struct ruleset_opts *o, struct pw_ruleset **out);

struct json;
/* One side of a verdict as `explain -o json` prints it (explain.c). */
void verdict_side_json(struct json *w, const struct pw_verdict *v,
		       enum pw_dir d);

/* The commands, one file each (lab: lab.h), with their usage texts. */
#define PW_CMD(name)                                                  \
	int cmd_##name(const struct cmd *cmd, int argc, char **argv); \
	extern const char name##_usage[]
PW_CMD(check);
PW_CMD(explain);
PW_CMD(matrix);
PW_CMD(compile);
PW_CMD(apply);
PW_CMD(diff);
PW_CMD(lint);
PW_CMD(assert);
PW_CMD(report);
PW_CMD(observe);
#undef PW_CMD

#endif
