// SPDX-License-Identifier: Apache-2.0
/*
 * podwall diff: the connectivity change between two versions of the
 * manifests, for reviewing a pull request before it reaches a cluster.
 *
 * A version is a file, a folder, or git:REV:PATH, read from the Git
 * repository of the current directory with git itself (run without a
 * shell, its arguments as a vector).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <podwall/diff.h>

#include "json.h"
#include "podwall.h"

const char diff_usage[] =
	"usage: podwall diff OLD NEW [-o text|json|md]\n"
	"                    [--fail-on added|removed|any]\n"
	"\n"
	"Every connection (from, to, port) that one version of the manifests\n"
	"allows and the other does not: between pods, matched by name, and\n"
	"between pods and the addresses outside the cluster, on every port.\n"
	"Changes are grouped by workload (or namespace, or CIDR) and port\n"
	"range, each group with one concrete connection as a witness.\n"
	"Connections of pods that exist only in NEW count as added, of pods\n"
	"only in OLD as removed.\n"
	"\n"
	"  OLD, NEW            a manifest, a directory, or git:REV:PATH (a file\n"
	"                      or folder at revision REV of the Git repository\n"
	"                      of the current directory, PATH from its root)\n"
	"  -o, --output FMT    text (default); json: {\"version\": 1, \"added\":\n"
	"                      [...], \"removed\": [...]}, each item {\"from\",\n"
	"                      \"to\", \"ports\", \"witness\": {\"from\", \"to\",\n"
	"                      \"port\"}}; md: a pull-request comment\n"
	"  --fail-on WHAT      exit 1 when connections were added (default),\n"
	"                      removed, or either (any)\n"
	"  -h, --help          this text\n"
	"\n"
	"Exit status: 0 no change the gate looks at, 1 a gated change or\n"
	"errors in the manifests, 2 usage, I/O, Git or parse errors.\n";

enum {
	OPT_FAIL_ON = 1000,
};

enum fail_on {
	FAIL_ADDED,
	FAIL_REMOVED,
	FAIL_ANY,
};

static const char *const fail_names[] = {
	[FAIL_ADDED] = "added",
	[FAIL_REMOVED] = "removed",
	[FAIL_ANY] = "any",
};

struct diff_args {
	const char *path[2]; /* OLD, NEW */
	enum out_fmt fmt;
	enum fail_on fail_on;
};

/* One version: its cluster and what loading it said. */
struct version {
	struct pw_cluster *c;
	struct pw_diags *diags;
	struct pw_engine *e;
};

/* ---- reading from Git ---------------------------------------------- */

/* What a git command printed. */
struct output {
	char *buf;
	size_t len, cap;
};

static int output_read(struct output *o, int fd, bool *open)
{
	ssize_t n;

	if (o->cap - o->len < 4096) {
		size_t cap = o->cap ? 2 * o->cap : 65536;
		char *nb = realloc(o->buf, cap + 1);

		if (!nb)
			return -ENOMEM;
		o->buf = nb;
		o->cap = cap;
	}
	n = read(fd, o->buf + o->len, o->cap - o->len);
	if (n < 0 && errno == EINTR)
		return 0;
	if (n < 0)
		return -errno;
	if (n == 0)
		*open = false;
	o->len += (size_t)n;
	o->buf[o->len] = '\0';
	return 0;
}

/* Reads the child's standard output and error until both close. */
static int drain(int out_fd, int err_fd, struct output *out, struct output *err)
{
	bool open[2] = { true, true };
	int ret = 0;

	while (!ret && (open[0] || open[1])) {
		struct pollfd p[2] = {
			{ .fd = open[0] ? out_fd : -1, .events = POLLIN },
			{ .fd = open[1] ? err_fd : -1, .events = POLLIN },
		};

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (p[0].revents)
			ret = output_read(out, out_fd, &open[0]);
		if (!ret && p[1].revents)
			ret = output_read(err, err_fd, &open[1]);
	}
	return ret;
}

static void child(char *const argv[], const int out[2], const int err[2])
{
	dup2(out[1], STDOUT_FILENO);
	dup2(err[1], STDERR_FILENO);
	close(out[0]);
	close(out[1]);
	close(err[0]);
	close(err[1]);
	execvp(argv[0], argv);
	dprintf(STDERR_FILENO, "cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/*
 * Runs argv (argv[0] found in PATH) and collects its output. Returns the
 * exit status (0 success), or a negative errno when it could not run.
 */
static int run(char *const argv[], struct output *out, struct output *err)
{
	int po[2], pe[2], status = 0, ret;
	pid_t pid;

	if (pipe2(po, O_CLOEXEC))
		return -errno;
	if (pipe2(pe, O_CLOEXEC)) {
		ret = -errno;
		goto err_close_out;
	}
	pid = fork();
	if (pid < 0) {
		ret = -errno;
		goto err_close_err;
	}
	if (pid == 0)
		child(argv, po, pe);
	close(po[1]);
	close(pe[1]);
	ret = drain(po[0], pe[0], out, err);
	/* Closed before waiting, so that a git still writing after a
	 * failed read gets EPIPE instead of blocking forever. */
	close(po[0]);
	close(pe[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (ret)
		return ret;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;

err_close_err:
	close(pe[0]);
	close(pe[1]);
err_close_out:
	close(po[0]);
	close(po[1]);
	return ret;
}

/* The first line of what git said, for an error message. */
static const char *first_line(struct output *err)
{
	char *nl;

	if (!err->buf)
		return "no message";
	nl = strchr(err->buf, '\n');
	if (nl)
		*nl = '\0';
	return err->buf[0] ? err->buf : "no message";
}

/* The command line of argv, for messages. */
static void print_argv(char *const argv[])
{
	for (size_t i = 0; argv[i]; i++)
		fprintf(stderr, "%s%s", i ? " " : "", argv[i]);
}

/* Runs git with args; on failure says so (with git's words) and returns
 * EXIT_TROUBLE. */
static int git(const struct cmd *cmd, char *const argv[], struct output *out)
{
	struct output err = { 0 };
	int ret = run(argv, out, &err);

	if (ret) {
		fprintf(stderr, "podwall %s: ", cmd->name);
		print_argv(argv);
		if (ret < 0)
			fprintf(stderr, ": cannot run: %s\n", strerror(-ret));
		else
			fprintf(stderr, ": failed: %s\n", first_line(&err));
	}
	free(err.buf);
	return ret ? EXIT_TROUBLE : 0;
}

static bool plain_text(const char *s)
{
	if (!*s || *s == '-')
		return false;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

/* Splits "git:REV:PATH" into malloc'd REV and PATH (trailing '/' cut);
 * 0 or an exit status. */
static int git_parse(const struct cmd *cmd, const char *spec, char **rev,
		     char **path)
{
	const char *s = spec + 4, *colon = strchr(s, ':');
	size_t n;

	*rev = *path = NULL;
	if (!colon)
		return cmd_fail(cmd, "'%s': write git:REV:PATH", spec);
	*rev = strndup(s, (size_t)(colon - s));
	*path = strdup(colon + 1);
	if (!*rev || !*path)
		return cmd_fail(cmd, "%s", strerror(ENOMEM));
	n = strlen(*path);
	while (n > 1 && (*path)[n - 1] == '/')
		(*path)[--n] = '\0';
	if (!plain_text(*rev) || strpbrk(*rev, " \t"))
		return cmd_fail(cmd,
				"'%s': the revision must be plain text "
				"that does not start with '-'",
				spec);
	if (!plain_text(*path))
		return cmd_fail(cmd,
				"'%s': the path must be plain text "
				"that does not start with '-'",
				spec);
	return 0;
}

/* The text of what `git show REV:FILE` prints, loaded as "REV:FILE". */
static int git_load_file(const struct cmd *cmd, struct version *v,
			 const char *rev, const char *file)
{
	struct output out = { 0 };
	char *obj;
	int status, ret;

	if (asprintf(&obj, "%s:%s", rev, file) < 0)
		return cmd_fail(cmd, "%s", strerror(ENOMEM));
	status = git(cmd, (char *[]){ "git", "show", obj, NULL }, &out);
	if (!status) {
		ret = pw_cluster_load_buffer(v->c, obj, out.buf ? out.buf : "",
					     out.len, v->diags);
		if (ret == -ENOMEM)
			fprintf(stderr, "podwall %s: %s\n", cmd->name,
				strerror(ENOMEM));
		status = ret ? EXIT_TROUBLE : 0;
	}
	free(out.buf);
	free(obj);
	return status;
}

static bool is_manifest(const char *name)
{
	static const char *const exts[] = { ".yaml", ".yml", ".json" };
	const char *base = strrchr(name, '/');
	size_t n = strlen(name);

	base = base ? base + 1 : name;
	for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
		size_t e = strlen(exts[i]);

		if (n > e && !strcmp(name + n - e, exts[i]) && strlen(base) > e)
			return true;
	}
	return false;
}

/* Whether a file of a folder is read as the loader reads directories:
 * manifests only, hidden entries below the folder left out. */
static bool tree_file_wanted(const char *file, const char *dir)
{
	size_t n = strlen(dir);
	const char *s = file + n;

	if (strncmp(file, dir, n) || (*s && *s != '/') || !is_manifest(file))
		return false;
	for (; *s; s++)
		if (*s == '/' && s[1] == '.')
			return false;
	return true;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every manifest of folder dir at rev, in sorted order. */
static int git_load_tree(const struct cmd *cmd, struct version *v,
			 const char *rev, const char *dir)
{
	char *argv[] = { "git",		"ls-tree",     "-r",	    "-z",
			 "--name-only", "--full-tree", (char *)rev, "--",
			 (char *)dir,	NULL };
	struct output out = { 0 };
	char **files = NULL;
	size_t n = 0, cap = 0;
	int status = git(cmd, argv, &out);

	for (size_t at = 0; !status && at < out.len;
	     at += strlen(out.buf + at) + 1) {
		char **slot;

		if (!tree_file_wanted(out.buf + at, dir))
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			slot = realloc(files, cap * sizeof(*slot));
			if (!slot) {
				status = cmd_fail(cmd, "%s", strerror(ENOMEM));
				break;
			}
			files = slot;
		}
		files[n++] = out.buf + at;
	}
	if (files)
		qsort(files, n, sizeof(*files), str_cmp);
	for (size_t i = 0; i < n && !status; i++)
		status = git_load_file(cmd, v, rev, files[i]);
	free(files);
	free(out.buf);
	return status;
}

static int git_load(const struct cmd *cmd, struct version *v, const char *spec)
{
	struct output type = { 0 };
	char *rev, *path, *obj = NULL;
	int status = git_parse(cmd, spec, &rev, &path);

	if (!status && asprintf(&obj, "%s:%s", rev, path) < 0)
		status = cmd_fail(cmd, "%s", strerror(ENOMEM));
	if (!status)
		status = git(cmd,
			     (char *[]){ "git", "cat-file", "-t", obj, NULL },
			     &type);
	if (!status && type.buf && !strcmp(type.buf, "tree\n"))
		status = git_load_tree(cmd, v, rev, path);
	else if (!status && type.buf && !strcmp(type.buf, "blob\n"))
		status = git_load_file(cmd, v, rev, path);
	else if (!status)
		status = cmd_fail(cmd, "'%s' is neither a file nor a folder",
				  spec);
	free(type.buf);
	free(obj);
	free(rev);
	free(path);
	return status;
}

/* ---- loading a version ------------------------------------------------- */

static int path_load(struct version *v, const char *path)
{
	size_t before = pw_diags_count(v->diags);
	int ret = pw_cluster_load_path(v->c, path, v->diags);

	if (!ret)
		return 0;
	if (pw_diags_count(v->diags) == before)
		fprintf(stderr, "error: %s: %s\n", path, strerror(-ret));
	return EXIT_TROUBLE;
}

/*
 * Loads one version, prints what loading said and compiles it. 0, or
 * EXIT_PROBLEMS for errors in the manifests, EXIT_TROUBLE when something
 * could not be read.
 */
static int version_load(const struct cmd *cmd, struct version *v,
			const char *spec)
{
	int status, ret;

	v->c = pw_cluster_new();
	v->diags = pw_diags_new();
	if (!v->c || !v->diags)
		return cmd_fail(cmd, "%s", strerror(ENOMEM));
	if (!strncmp(spec, "git:", 4))
		status = git_load(cmd, v, spec);
	else
		status = path_load(v, spec);
	ret = pw_cluster_finalize(v->c, v->diags);
	pw_diags_sort(v->diags);
	diags_print(v->diags, stderr);
	if (ret == -ENOMEM)
		return cmd_fail(cmd, "%s", strerror(ENOMEM));
	if (!status && (ret || pw_diags_error_count(v->diags)))
		status = EXIT_PROBLEMS;
	if (status)
		return status;
	v->e = pw_engine_new(v->c);
	if (!v->e) {
		fprintf(stderr, "podwall %s: cannot analyse %s: %s\n",
			cmd->name, spec, strerror(errno));
		return EXIT_TROUBLE;
	}
	return 0;
}

static void version_free(struct version *v)
{
	pw_engine_free(v->e);
	pw_cluster_free(v->c);
	pw_diags_free(v->diags);
}

/* ---- output ------------------------------------------------------------ */

static const enum pw_change changes[] = { PW_CHANGE_ADDED, PW_CHANGE_REMOVED };

static void port_text(const struct pw_diff *d, enum pw_change c, size_t i,
		      size_t j, char *buf, size_t len)
{
	pw_diff_range_format(d, c, i, j, buf, len);
}

static void witness_port(const struct pw_diff *d, enum pw_change c, size_t i,
			 char *buf, size_t len)
{
	struct pw_port p = pw_diff_witness_port(d, c, i);

	pw_port_format(&p, buf, len);
}

static const char *plural(uint64_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

static void summary_text(const struct pw_diff *d, enum pw_change c)
{
	size_t n = pw_diff_count(d, c);
	uint64_t pairs = pw_diff_pair_count(d, c);

	printf("%zu %s %s (%llu endpoint %s)", n, plural(n, "group", "groups"),
	       pw_change_name(c), (unsigned long long)pairs,
	       plural(pairs, "pair", "pairs"));
}

static void group_text(const struct pw_diff *d, enum pw_change c, size_t i)
{
	char buf[32];

	printf("  %c %s -> %s\n    ports:   ", c == PW_CHANGE_ADDED ? '+' : '-',
	       pw_diff_from(d, c, i), pw_diff_to(d, c, i));
	for (size_t j = 0; j < pw_diff_range_count(d, c, i); j++) {
		port_text(d, c, i, j, buf, sizeof(buf));
		printf("%s%s", j ? ", " : "", buf);
	}
	witness_port(d, c, i, buf, sizeof(buf));
	printf("\n    witness: %s -> %s on %s\n", pw_diff_witness_from(d, c, i),
	       pw_diff_witness_to(d, c, i), buf);
}

static void diff_text(const struct pw_diff *d, const struct diff_args *a)
{
	printf("%s -> %s: ", a->path[0], a->path[1]);
	if (!pw_diff_count(d, PW_CHANGE_ADDED) &&
	    !pw_diff_count(d, PW_CHANGE_REMOVED)) {
		printf("no connectivity change (%zu port classes compared)\n",
		       pw_diff_port_class_count(d));
		return;
	}
	summary_text(d, PW_CHANGE_ADDED);
	printf(", ");
	summary_text(d, PW_CHANGE_REMOVED);
	printf("\n");
	for (size_t k = 0; k < 2; k++) {
		enum pw_change c = changes[k];

		if (!pw_diff_count(d, c))
			continue;
		printf("\n%s:\n", pw_change_name(c));
		for (size_t i = 0; i < pw_diff_count(d, c); i++)
			group_text(d, c, i);
	}
}

static void group_json(struct json *w, const struct pw_diff *d,
		       enum pw_change c, size_t i)
{
	char buf[32];

	json_obj_open(w, NULL);
	json_str(w, "from", pw_diff_from(d, c, i));
	json_str(w, "to", pw_diff_to(d, c, i));
	json_inline(w);
	json_arr_open(w, "ports");
	for (size_t j = 0; j < pw_diff_range_count(d, c, i); j++) {
		port_text(d, c, i, j, buf, sizeof(buf));
		json_str(w, NULL, buf);
	}
	json_arr_close(w);
	json_inline(w);
	json_obj_open(w, "witness");
	json_str(w, "from", pw_diff_witness_from(d, c, i));
	json_str(w, "to", pw_diff_witness_to(d, c, i));
	witness_port(d, c, i, buf, sizeof(buf));
	json_str(w, "port", buf);
	json_obj_close(w);
	json_obj_close(w);
}

static void diff_json(const struct pw_diff *d, const struct diff_args *a)
{
	struct json w;

	json_init(&w, stdout);
	json_obj_open(&w, NULL);
	json_int(&w, "version", 1);
	for (size_t k = 0; k < 2; k++) {
		enum pw_change c = changes[k];

		json_arr_open(&w, pw_change_name(c));
		for (size_t i = 0; i < pw_diff_count(d, c); i++)
			group_json(&w, d, c, i);
		json_arr_close(&w);
	}
	json_obj_close(&w);
	json_end(&w);
}

/* Text in Markdown: characters that would make markup escaped. */
static void md_text(const char *s)
{
	for (; *s; s++) {
		if (strchr("\\|`*_<>[]#", *s))
			putchar('\\');
		if ((unsigned char)*s >= 0x20)
			putchar(*s);
	}
}

static void group_md(const struct pw_diff *d, enum pw_change c, size_t i)
{
	char buf[32];

	printf("| ");
	md_text(pw_diff_from(d, c, i));
	printf(" | ");
	md_text(pw_diff_to(d, c, i));
	printf(" | ");
	for (size_t j = 0; j < pw_diff_range_count(d, c, i); j++) {
		port_text(d, c, i, j, buf, sizeof(buf));
		printf("%s%s", j ? ", " : "", buf);
	}
	printf(" | ");
	md_text(pw_diff_witness_from(d, c, i));
	printf(" → ");
	md_text(pw_diff_witness_to(d, c, i));
	witness_port(d, c, i, buf, sizeof(buf));
	printf(" on %s |\n", buf);
}

static void diff_md(const struct pw_diff *d, const struct diff_args *a)
{
	printf("### podwall diff: %zu added, %zu removed\n\n",
	       pw_diff_count(d, PW_CHANGE_ADDED),
	       pw_diff_count(d, PW_CHANGE_REMOVED));
	printf("Connectivity of ");
	md_text(a->path[1]);
	printf(" compared with ");
	md_text(a->path[0]);
	printf(": ");
	if (!pw_diff_count(d, PW_CHANGE_ADDED) &&
	    !pw_diff_count(d, PW_CHANGE_REMOVED)) {
		printf("no change (%zu port classes compared).\n",
		       pw_diff_port_class_count(d));
		return;
	}
	summary_text(d, PW_CHANGE_ADDED);
	printf(", ");
	summary_text(d, PW_CHANGE_REMOVED);
	printf(".\n");
	for (size_t k = 0; k < 2; k++) {
		enum pw_change c = changes[k];

		if (!pw_diff_count(d, c))
			continue;
		printf("\n#### %s\n\n| from | to | ports | witness |\n"
		       "| --- | --- | --- | --- |\n",
		       c == PW_CHANGE_ADDED ? "Added" : "Removed");
		for (size_t i = 0; i < pw_diff_count(d, c); i++)
			group_md(d, c, i);
	}
}

static void (*const outputs[OUT_NR])(const struct pw_diff *d,
				     const struct diff_args *a) = {
	[OUT_TEXT] = diff_text,
	[OUT_JSON] = diff_json,
	[OUT_MD] = diff_md,
};

/* ---- options and the command ---------------------------------------------- */

static int parse_fail_on(const struct cmd *cmd, struct diff_args *a,
			 const char *s)
{
	for (size_t i = 0; i < sizeof(fail_names) / sizeof(fail_names[0]);
	     i++) {
		if (!strcmp(s, fail_names[i])) {
			a->fail_on = (enum fail_on)i;
			return 0;
		}
	}
	return cmd_fail(cmd, "--fail-on takes added, removed or any, not '%s'",
			s);
}

/* A cmd_opt_fn for --fail-on; -o and -h are the common ones. */
static int diff_opt(const struct cmd *cmd, void *ctx, int opt, const char *arg)
{
	return opt == OPT_FAIL_ON ? parse_fail_on(cmd, ctx, arg) : -1;
}

/* Not cmd_parse(): the two versions are not inputs to load together, and
 * there is no -f. */
static int diff_parse(const struct cmd *cmd, struct diff_args *a, int argc,
		      char **argv)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "fail-on", required_argument, NULL, OPT_FAIL_ON },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct inputs in = {
		.fmt = a->fmt,
		.fmts = OUT_MASK(OUT_TEXT) | OUT_MASK(OUT_JSON) |
			OUT_MASK(OUT_MD),
	};
	int status = cmd_parse_opts(cmd, &in, argc, argv, ":o:h", longopts,
				    diff_opt, a);

	a->fmt = in.fmt;
	if (status)
		return status;
	if (argc - optind != 2)
		return cmd_fail(cmd, "give two versions, OLD and NEW");
	a->path[0] = argv[optind];
	a->path[1] = argv[optind + 1];
	return 0;
}

static bool gated(const struct pw_diff *d, enum fail_on f)
{
	bool added = pw_diff_count(d, PW_CHANGE_ADDED) > 0;
	bool removed = pw_diff_count(d, PW_CHANGE_REMOVED) > 0;

	return f == FAIL_ANY   ? added || removed :
	       f == FAIL_ADDED ? added :
				 removed;
}

int cmd_diff(const struct cmd *cmd, int argc, char **argv)
{
	struct diff_args a = { .fmt = OUT_TEXT, .fail_on = FAIL_ADDED };
	struct version v[2] = { { 0 } };
	struct pw_diff *d = NULL;
	int status, st;

	status = diff_parse(cmd, &a, argc, argv);
	if (status)
		return status == CMD_DONE ? 0 : status;
	/* Both versions are read, so that one run shows every problem. */
	for (size_t i = 0; i < 2; i++) {
		st = version_load(cmd, &v[i], a.path[i]);
		if (st > status)
			status = st;
	}
	if (status)
		goto out_versions;
	d = pw_diff_new(v[0].e, v[1].e);
	if (!d) {
		status = cmd_fail(cmd, "%s", strerror(errno));
		goto out_versions;
	}
	outputs[a.fmt](d, &a);
	if (gated(d, a.fail_on))
		status = EXIT_PROBLEMS;
	pw_diff_free(d);
out_versions:
	for (size_t i = 0; i < 2; i++)
		version_free(&v[i]);
	return status;
}
