// SPDX-License-Identifier: Apache-2.0
/*
 * podwall: the command table and dispatch, as iproute2's ip does it.
 * Each command lives in its own file and is found here by name.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lab.h"
#include "podwall.h"

static int cmd_help(const struct cmd *cmd, int argc, char **argv);
static int cmd_version(const struct cmd *cmd, int argc, char **argv);

static const char help_usage[] =
	"usage: podwall help [COMMAND]\n"
	"\n"
	"Lists the commands, or shows the options of COMMAND.\n";

static const char version_usage[] =
	"usage: podwall version\n"
	"\n"
	"Prints the version of podwall and of libpodwall.\n";

static const struct cmd cmds[] = {
	{ "check", cmd_check, "validate manifests and summarize the cluster",
	  check_usage },
	{ "explain", cmd_explain,
	  "say whether one connection is allowed, and why", explain_usage },
	{ "matrix", cmd_matrix, "every pod-to-pod connection, per port",
	  matrix_usage },
	{ "compile", cmd_compile, "print the nftables ruleset apply loads",
	  compile_usage },
	{ "apply", cmd_apply, "enforce the policies here with nftables",
	  apply_usage },
	{ "lab", cmd_lab, "build the cluster in namespaces, probe it",
	  lab_usage },
	{ "diff", cmd_diff, "the connectivity change between two versions",
	  diff_usage },
	{ "lint", cmd_lint, "find mistakes in the policies", lint_usage },
	{ "assert", cmd_assert, "check expectations, with evidence",
	  assert_usage },
	{ "report", cmd_report, "write a report: picture, matrix, findings",
	  report_usage },
	{ "observe", cmd_observe, "follow podwalld's flow log, filtered",
	  observe_usage },
	{ "help", cmd_help, "show the commands, or the options of one",
	  help_usage },
	{ "version", cmd_version, "print the version", version_usage },
};

static const struct cmd *cmd_find(const char *name)
{
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(cmds[i].name, name))
			return &cmds[i];
	return NULL;
}

static void usage(FILE *f)
{
	fputs("usage: podwall <command> [options] [PATH...]\n"
	      "\n"
	      "Kubernetes NetworkPolicy, checked and explained offline.\n"
	      "\n"
	      "commands:\n",
	      f);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %-9s %s\n", cmds[i].name, cmds[i].summary);
	fputs("\n"
	      "Run 'podwall help COMMAND' or 'podwall COMMAND --help' for the\n"
	      "options of a command. Exit status: 0 success, 1 problems found,\n"
	      "2 usage, I/O or parse errors.\n",
	      f);
}

void cmd_usage(const struct cmd *cmd, FILE *f)
{
	fputs(cmd->usage, f);
}

int cmd_fail(const struct cmd *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "podwall %s: ", cmd->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'podwall help %s'.\n", cmd->name);
	return EXIT_TROUBLE;
}

static int cmd_help(const struct cmd *cmd, int argc, char **argv)
{
	const struct cmd *which;

	if (argc < 2) {
		usage(stdout);
		return 0;
	}
	if (argc > 2)
		return cmd_fail(cmd, "one command at a time");
	which = cmd_find(argv[1]);
	if (!which)
		return cmd_fail(cmd, "unknown command '%s'", argv[1]);
	cmd_usage(which, stdout);
	return 0;
}

static int cmd_version(const struct cmd *cmd, int argc, char **argv)
{
	if (argc > 1 &&
	    (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		cmd_usage(cmd, stdout);
		return 0;
	}
	if (argc > 1)
		return cmd_fail(cmd, "unexpected argument '%s'", argv[1]);
	printf("podwall %s\n", pw_version());
	return 0;
}

static int finish(int status)
{
	/* A full disk or a closed pipe must not pass for success. */
	if (fflush(stdout) || ferror(stdout)) {
		perror("podwall: standard output");
		return EXIT_TROUBLE;
	}
	return status;
}

int main(int argc, char **argv)
{
	const struct cmd *cmd;
	const char *name;

	if (argc < 2) {
		usage(stderr);
		return EXIT_TROUBLE;
	}
	name = argv[1];
	if (!strcmp(name, "--help") || !strcmp(name, "-h"))
		name = "help";
	else if (!strcmp(name, "--version") || !strcmp(name, "-V"))
		name = "version";
	cmd = cmd_find(name);
	if (!cmd) {
		fprintf(stderr,
			"podwall: unknown command '%s'\n"
			"Try 'podwall help'.\n",
			name);
		return EXIT_TROUBLE;
	}
	return finish(cmd->fn(cmd, argc - 1, argv + 1));
}
