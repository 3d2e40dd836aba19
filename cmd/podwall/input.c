// SPDX-License-Identifier: Apache-2.0
/*
 * Input handling shared by every command: the -f/-o/-h options, loading
 * and finalizing the cluster, and printing what the library found.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "podwall.h"

static const char *const fmt_names[OUT_NR] = {
	[OUT_TEXT] = "text",
	[OUT_JSON] = "json",
	[OUT_CSV] = "csv",
	[OUT_MD] = "md",
};

int out_fmt_parse(const char *s, unsigned allowed, enum out_fmt *out)
{
	for (unsigned i = 0; i < OUT_NR; i++) {
		if ((allowed & OUT_MASK(i)) && !strcmp(s, fmt_names[i])) {
			*out = i;
			return 0;
		}
	}
	return -EINVAL;
}

static int inputs_add(struct inputs *in, const char *path)
{
	const char **v;

	if (in->n == in->cap) {
		in->cap = in->cap ? 2 * in->cap : 8;
		v = realloc(in->paths, in->cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		in->paths = v;
	}
	in->paths[in->n++] = path;
	return 0;
}

void inputs_free(struct inputs *in)
{
	free(in->paths);
	in->paths = NULL;
	in->n = in->cap = 0;
}

/* getopt's complaint about argv[optind - 1], in our words. */
static int bad_opt(const struct cmd *cmd, int opt, char **argv)
{
	const char *arg = argv[optind - 1];

	if (opt == ':')
		return cmd_fail(cmd, "option '%s' needs a value", arg);
	if (optopt && optopt != '?')
		return cmd_fail(cmd, "unknown option '-%c'", optopt);
	return cmd_fail(cmd, "unknown option '%s'", arg);
}

int common_opt(const struct cmd *cmd, struct inputs *in, int opt, char **argv)
{
	switch (opt) {
	case 'f':
		if (inputs_add(in, optarg))
			return cmd_fail(cmd, "%s", strerror(ENOMEM));
		return 0;
	case 'o':
		if (out_fmt_parse(optarg, in->fmts, &in->fmt))
			return cmd_fail(cmd, "no output format '%s' here",
					optarg);
		return 0;
	case 'h':
		cmd_usage(cmd, stdout);
		return CMD_DONE;
	case ':':
	case '?':
		return bad_opt(cmd, opt, argv);
	}
	return -1;
}

int port_arg(const struct cmd *cmd, const char *arg, struct pw_port *out)
{
	if (pw_port_parse(arg, out))
		return cmd_fail(cmd,
				"'%s' is not a port such as 80, 80/TCP or "
				"53/UDP",
				arg);
	return 0;
}

int inputs_finish(const struct cmd *cmd, struct inputs *in, int argc,
		  char **argv)
{
	for (int i = optind; i < argc; i++)
		if (inputs_add(in, argv[i]))
			return cmd_fail(cmd, "%s", strerror(ENOMEM));
	if (!in->n)
		return cmd_fail(cmd, "no input: give -f PATH or a PATH "
				     "('-' for standard input)");
	return 0;
}

static bool is_manifest_name(const char *name)
{
	static const char *const exts[] = { ".yaml", ".yml", ".json" };
	size_t n = strlen(name), e;

	for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
		e = strlen(exts[i]);
		if (n > e && !strcmp(name + n - e, exts[i]))
			return true;
	}
	return false;
}

/* Directories already counted, so that a symlink loop ends as it does in
 * the loader. */
struct seen {
	struct stat *v;
	size_t n, cap;
};

static bool seen_dir(struct seen *s, const struct stat *st)
{
	struct stat *v;

	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].st_dev == st->st_dev &&
		    s->v[i].st_ino == st->st_ino)
			return true;
	if (s->n == s->cap) {
		v = realloc(s->v, (s->cap ? 2 * s->cap : 16) * sizeof(*v));
		if (!v)
			return true;
		s->v = v;
		s->cap = s->cap ? 2 * s->cap : 16;
	}
	s->v[s->n++] = *st;
	return false;
}

/*
 * Files the loader reads for path, counted for the summary of check with
 * the loader's rules: a file or "-" is one, a directory holds its
 * *.yaml, *.yml and *.json files, recursively, hidden entries left out.
 */
static size_t count_files(const char *path, struct seen *seen)
{
	struct dirent *de;
	struct stat st;
	size_t n = 0;
	char *sub;
	DIR *dir;

	if (!strcmp(path, "-"))
		return 1;
	if (stat(path, &st))
		return 0;
	if (!S_ISDIR(st.st_mode))
		return 1;
	if (seen_dir(seen, &st) || !(dir = opendir(path)))
		return 0;
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		if (asprintf(&sub, "%s/%s", path, de->d_name) < 0)
			break;
		if (!stat(sub, &st) && S_ISDIR(st.st_mode))
			n += count_files(sub, seen);
		else if (is_manifest_name(de->d_name))
			n++;
		free(sub);
	}
	closedir(dir);
	return n;
}

/* An error loading path: 2 for I/O and parse errors and for ENOMEM. */
static int load_one(struct loaded *l, const char *path)
{
	size_t before = pw_diags_count(l->diags);
	int ret = pw_cluster_load_path(l->cluster, path, l->diags);
	struct seen seen = { 0 };

	l->nfiles += count_files(path, &seen);
	free(seen.v);
	if (!ret)
		return 0;
	/* The loader records why; say it ourselves if it did not. */
	if (pw_diags_count(l->diags) == before)
		fprintf(stderr, "error: %s: %s\n", path, strerror(-ret));
	return EXIT_TROUBLE;
}

int loaded_load(struct loaded *l, const struct inputs *in)
{
	int status = 0, ret;

	memset(l, 0, sizeof(*l));
	l->cluster = pw_cluster_new();
	l->diags = pw_diags_new();
	if (!l->cluster || !l->diags) {
		perror("podwall");
		return EXIT_TROUBLE;
	}
	for (size_t i = 0; i < in->n; i++)
		if (load_one(l, in->paths[i]))
			status = EXIT_TROUBLE;
	/* Finalize even after a failed read, so that one run reports the
	 * problems of every file that could be read. */
	ret = pw_cluster_finalize(l->cluster, l->diags);
	pw_diags_sort(l->diags);
	if (ret == -ENOMEM) {
		fprintf(stderr, "podwall: %s\n", strerror(ENOMEM));
		return EXIT_TROUBLE;
	}
	if (!status && (ret || pw_diags_error_count(l->diags)))
		status = EXIT_PROBLEMS;
	return status;
}

void loaded_free(struct loaded *l)
{
	pw_cluster_free(l->cluster);
	pw_diags_free(l->diags);
	memset(l, 0, sizeof(*l));
}

void diags_print(const struct pw_diags *d, FILE *f)
{
	char small[512], *text;
	const struct pw_diag *r;
	int n;

	for (size_t i = 0; i < pw_diags_count(d); i++) {
		r = pw_diags_get(d, i);
		text = small;
		n = pw_diag_format(r, small, sizeof(small));
		if (n >= (int)sizeof(small) && (text = malloc(n + 1)))
			pw_diag_format(r, text, n + 1);
		if (!text)
			text = small;
		fprintf(f, "%s: %s\n", pw_severity_name(pw_diag_severity(r)),
			text);
		if (text != small)
			free(text);
	}
}

int loaded_engine(const struct cmd *cmd, struct loaded *l,
		  const struct inputs *in, struct pw_engine **e)
{
	int status = loaded_load(l, in);

	diags_print(l->diags, stderr);
	if (status)
		return status;
	*e = pw_engine_new(l->cluster);
	if (!*e) {
		fprintf(stderr, "podwall %s: cannot analyse the cluster: %s\n",
			cmd->name, strerror(errno));
		return EXIT_TROUBLE;
	}
	return 0;
}

int cmd_parse_opts(const struct cmd *cmd, struct inputs *in, int argc,
		   char **argv, const char *shortopts,
		   const struct option *longopts, cmd_opt_fn *own, void *ctx)
{
	int opt, status;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, shortopts, longopts, NULL)) !=
	       -1) {
		status = own ? own(cmd, ctx, opt, optarg) : -1;
		if (status < 0)
			status = common_opt(cmd, in, opt, argv);
		if (status < 0)
			status = cmd_fail(cmd, "unexpected option");
		if (status)
			return status;
	}
	return 0;
}

int cmd_parse(const struct cmd *cmd, struct inputs *in, int argc, char **argv,
	      const struct option *longopts, cmd_opt_fn *own, void *ctx)
{
	int status = cmd_parse_opts(cmd, in, argc, argv, COMMON_SHORTOPTS,
				    longopts, own, ctx);

	return status ? status : inputs_finish(cmd, in, argc, argv);
}
