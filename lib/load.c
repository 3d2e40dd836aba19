// SPDX-License-Identifier: Apache-2.0
/*
 * Reading manifests from paths: a file, a directory tree (its *.yaml,
 * *.yml and *.json files in sorted order of their full paths) or "-" for
 * standard input. Each file's text goes to pw_cluster_load_buffer().
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model.h"
#include "yaml.h"

/* A read error as the API promises it: -ENOENT, -EACCES or -EIO. */
static int io_errno(int e)
{
	switch (e) {
	case ENOENT:
	case ENOTDIR:
		return -ENOENT;
	case EACCES:
	case EPERM:
		return -EACCES;
	case ENOMEM:
		return -ENOMEM;
	default:
		return -EIO;
	}
}

static int io_error(struct pw_diags *d, const char *path, int e)
{
	struct pw_pos pos = { .file = path };

	if (pw_diags_add(d, PW_SEV_ERROR, &pos, NULL, "cannot read: %s",
			 strerror(e)))
		return -ENOMEM;
	return io_errno(e);
}

/* Reads all of fd, up to the input limit (then -EFBIG). */
static int read_all(int fd, char **out, size_t *len)
{
	size_t cap = 64 << 10, n = 0;
	char *buf = malloc(cap), *nb;
	ssize_t r;

	while (buf) {
		if (n == cap) {
			if (cap > PW_YAML_MAX_INPUT) {
				free(buf);
				return -EFBIG;
			}
			cap *= 2;
			nb = realloc(buf, cap);
			if (!nb)
				break;
			buf = nb;
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			r = -errno;
			free(buf);
			return (int)r;
		}
		if (r == 0) {
			*out = buf;
			*len = n;
			return 0;
		}
		n += (size_t)r;
	}
	free(buf);
	return -ENOMEM;
}

static int load_fd(struct pw_cluster *c, const char *name, int fd,
		   struct pw_diags *d)
{
	struct pw_pos pos = { .file = name };
	size_t len = 0;
	char *buf = NULL;
	int ret;

	ret = read_all(fd, &buf, &len);
	if (ret == -EFBIG) {
		c->load_errors++;
		ret = pw_diags_add(d, PW_SEV_ERROR, &pos, NULL,
				   "input exceeds the limit of %u bytes",
				   PW_YAML_MAX_INPUT);
		return ret ? ret : -EBADMSG;
	}
	if (ret == -ENOMEM)
		return ret;
	if (ret) {
		c->load_errors++;
		return io_error(d, name, -ret);
	}
	ret = pw_cluster_load_buffer(c, name, buf, len, d);
	free(buf);
	return ret;
}

static int load_file(struct pw_cluster *c, const char *path, struct pw_diags *d)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int ret;

	if (fd < 0) {
		c->load_errors++;
		return io_error(d, path, errno);
	}
	ret = load_fd(c, path, fd, d);
	close(fd);
	return ret;
}

/* ---- directories -------------------------------------------------- */

struct walk {
	char **files;
	size_t nfiles, cap_files;
	struct stat *dirs; /* visited, so a symlink loop ends */
	size_t ndirs, cap_dirs;
	int ret; /* the first error */
};

static bool is_manifest(const char *name)
{
	static const char *const exts[] = { ".yaml", ".yml", ".json" };
	size_t n = strlen(name), e;

	for (size_t i = 0; i < PW_ARRAY_SIZE(exts); i++) {
		e = strlen(exts[i]);
		if (n > e && !strcmp(name + n - e, exts[i]))
			return true;
	}
	return false;
}

static bool seen_dir(struct walk *w, const struct stat *st)
{
	struct stat *slot;

	for (size_t i = 0; i < w->ndirs; i++)
		if (w->dirs[i].st_dev == st->st_dev &&
		    w->dirs[i].st_ino == st->st_ino)
			return true;
	slot = PW_PUSH(w->dirs, w->ndirs, w->cap_dirs);
	if (slot)
		*slot = *st;
	else
		w->ret = w->ret ? w->ret : -ENOMEM;
	return !slot;
}

static void walk_fail(struct walk *w, struct pw_cluster *c, struct pw_diags *d,
		      const char *path, int e)
{
	int ret;

	c->load_errors++;
	ret = io_error(d, path, e);
	if (!w->ret)
		w->ret = ret;
}

static void walk_dir(struct walk *w, struct pw_cluster *c, struct pw_diags *d,
		     const char *path);

/* One directory entry: a subdirectory to walk or a manifest to keep. */
static void walk_entry(struct walk *w, struct pw_cluster *c, struct pw_diags *d,
		       char *sub)
{
	struct stat st;
	char **slot;

	if (stat(sub, &st)) {
		/* a dangling link is only a problem if it was a manifest */
		if (is_manifest(sub))
			walk_fail(w, c, d, sub, errno);
	} else if (S_ISDIR(st.st_mode)) {
		if (!seen_dir(w, &st))
			walk_dir(w, c, d, sub);
	} else if (S_ISREG(st.st_mode) && is_manifest(sub)) {
		slot = PW_PUSH(w->files, w->nfiles, w->cap_files);
		if (slot) {
			*slot = sub;
			return;
		}
		w->ret = w->ret ? w->ret : -ENOMEM;
	}
	free(sub);
}

/* Hidden entries (.git and the like) are not manifests. */
static void walk_dir(struct walk *w, struct pw_cluster *c, struct pw_diags *d,
		     const char *path)
{
	DIR *dir = opendir(path);
	struct dirent *de;
	char *sub;

	if (!dir) {
		walk_fail(w, c, d, path, errno);
		return;
	}
	while ((de = readdir(dir)) && w->ret != -ENOMEM) {
		if (de->d_name[0] == '.')
			continue;
		if (asprintf(&sub, "%s%s%s", path,
			     path[strlen(path) - 1] == '/' ? "" : "/",
			     de->d_name) < 0) {
			w->ret = -ENOMEM;
			break;
		}
		walk_entry(w, c, d, sub);
	}
	closedir(dir);
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int load_dir(struct pw_cluster *c, const char *path,
		    const struct stat *st, struct pw_diags *d)
{
	struct walk w = { 0 };
	int ret;

	if (!seen_dir(&w, st))
		walk_dir(&w, c, d, path);
	if (w.nfiles > 1)
		qsort(w.files, w.nfiles, sizeof(*w.files), str_cmp);
	for (size_t i = 0; i < w.nfiles; i++) {
		if (w.ret != -ENOMEM) {
			ret = load_file(c, w.files[i], d);
			if (ret && (!w.ret || ret == -ENOMEM))
				w.ret = ret;
		}
		free(w.files[i]);
	}
	free(w.files);
	free(w.dirs);
	return w.ret;
}

PW_EXPORT int pw_cluster_load_path(struct pw_cluster *c, const char *path,
				   struct pw_diags *diags)
{
	struct stat st;

	if (!strcmp(path, "-"))
		return load_fd(c, "-", STDIN_FILENO, diags);
	if (stat(path, &st)) {
		c->load_errors++;
		return io_error(diags, path, errno);
	}
	if (S_ISDIR(st.st_mode))
		return load_dir(c, path, &st, diags);
	return load_file(c, path, diags);
}
