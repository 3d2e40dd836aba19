// SPDX-License-Identifier: Apache-2.0
/*
 * The manifests folder as a source: every *.yaml, *.yml and *.json file
 * under DIR (recursively; hidden names skipped) is one store entry of
 * kind "File" named by its path, so that a file that stops parsing keeps
 * its last good contents in force as a whole.
 *
 * Driven by the agent's loop (fd + dispatch), with inotify:
 *  - a file counts when it is complete: IN_CLOSE_WRITE, or IN_MOVED_TO
 *    (write-then-rename), or IN_CREATE of a symlink; never on IN_MODIFY,
 *    so a file half-way through a write is never read;
 *  - IN_DELETE / IN_MOVED_FROM remove it; a directory created or moved
 *    in is watched and scanned, one removed or moved out takes its files;
 *  - a queue overflow, or a change to a ".." name (the atomic ..data
 *    symlink swap of a Kubernetes ConfigMap volume), rescans the tree:
 *    unchanged files cost nothing downstream (the store compares texts).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "source.h"

#define DIR_MAX_FILE (64u << 20)
#define DIR_MASK                                                    \
	(IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | \
	 IN_CREATE | IN_DELETE_SELF | IN_ONLYDIR)

struct strv {
	char **v;
	size_t n, cap;
};

struct watch {
	int wd;
	char *path;
};

struct dir_src {
	struct src base;
	char *root;
	int ifd;
	src_emit_fn *emit;
	void *ctx;
	struct watch *w;
	size_t nw, capw;
	struct strv files; /* paths reported as present */
};

static const char *const suffixes[] = { ".yaml", ".yml", ".json" };

static bool is_manifest_name(const char *name)
{
	size_t n = strlen(name);

	if (name[0] == '.')
		return false;
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		size_t k = strlen(suffixes[i]);

		if (n > k && !strcmp(name + n - k, suffixes[i]))
			return true;
	}
	return false;
}

static ssize_t strv_find(const struct strv *s, const char *p)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->v[i], p))
			return (ssize_t)i;
	return -1;
}

static int strv_add(struct strv *s, const char *p)
{
	if (strv_find(s, p) >= 0)
		return 0;
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 64;
		char **v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n] = strdup(p);
	if (!s->v[s->n])
		return -ENOMEM;
	s->n++;
	return 0;
}

static void strv_del_at(struct strv *s, size_t i)
{
	free(s->v[i]);
	s->v[i] = s->v[--s->n];
}

static void strv_free(struct strv *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = s->cap = 0;
}

static void emit_file(struct dir_src *d, enum src_event ev, const char *path,
		      const char *text, size_t len)
{
	struct src_object o = {
		.kind = "File",
		.ns = "",
		.name = path,
		.text = text,
		.len = len,
		.origin = path,
	};

	d->emit(d->ctx, ev, &o);
}

static void file_gone(struct dir_src *d, const char *path)
{
	ssize_t i = strv_find(&d->files, path);

	if (i < 0)
		return;
	strv_del_at(&d->files, (size_t)i);
	emit_file(d, SRC_DELETE, path, NULL, 0);
}

/* Reads the whole file; NULL + errno (EFBIG beyond DIR_MAX_FILE). */
static char *slurp(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t cap = 8192, n = 0;
	char *buf = NULL, *nb;
	ssize_t r;

	if (fd < 0)
		return NULL;
	do {
		if (n == cap || !buf) {
			cap = buf ? cap * 2 : cap;
			if (cap > DIR_MAX_FILE + 1) {
				errno = EFBIG;
				goto err_free;
			}
			nb = realloc(buf, cap);
			if (!nb)
				goto err_free;
			buf = nb;
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			goto err_free;
		n += (size_t)r;
	} while (r > 0);
	close(fd);
	*len = n;
	return buf;
err_free:
	free(buf);
	close(fd);
	return NULL;
}

static void file_changed(struct dir_src *d, const char *path)
{
	size_t len = 0;
	char *text = slurp(path, &len);

	if (!text) {
		if (errno == ENOENT || errno == ENOTDIR) {
			file_gone(d, path);
			return;
		}
		alog("error", "read", "file", path, "error", strerror(errno),
		     NULL);
		/* Unreadable: a never-valid upsert would change nothing,
		 * and a known file keeps its last good version. */
		emit_file(d, SRC_UPSERT, path, "\x01", 1);
		return;
	}
	if (strv_add(&d->files, path))
		alog("error", "read", "file", path, "error", "out of memory",
		     NULL);
	emit_file(d, SRC_UPSERT, path, text, len);
	free(text);
}

static const char *wd_path(const struct dir_src *d, int wd)
{
	for (size_t i = 0; i < d->nw; i++)
		if (d->w[i].wd == wd)
			return d->w[i].path;
	return NULL;
}

static void wd_forget(struct dir_src *d, int wd)
{
	for (size_t i = 0; i < d->nw; i++) {
		if (d->w[i].wd == wd) {
			free(d->w[i].path);
			d->w[i] = d->w[--d->nw];
			return;
		}
	}
}

static int watch_dir(struct dir_src *d, const char *path)
{
	int wd = inotify_add_watch(d->ifd, path, DIR_MASK);
	struct watch *w;

	if (wd < 0)
		return -errno;
	if (wd_path(d, wd))
		return 0;
	if (d->nw == d->capw) {
		size_t cap = d->capw ? 2 * d->capw : 16;

		w = realloc(d->w, cap * sizeof(*w));
		if (!w)
			return -ENOMEM;
		d->w = w;
		d->capw = cap;
	}
	d->w[d->nw].wd = wd;
	d->w[d->nw].path = strdup(path);
	if (!d->w[d->nw].path)
		return -ENOMEM;
	d->nw++;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void scan_entry(struct dir_src *d, const char *path, const char *name,
		       struct strv *seen);

/* Watches path and reports every manifest under it, in sorted order;
 * seen (when not NULL) collects the files found. */
static void scan(struct dir_src *d, const char *path, struct strv *seen)
{
	struct strv names = { 0 };
	struct dirent *de;
	DIR *dir;
	int ret = watch_dir(d, path);

	if (ret)
		alog("error", "watch", "dir", path, "error", strerror(-ret),
		     NULL);
	dir = opendir(path);
	if (!dir)
		return;
	while ((de = readdir(dir)))
		if (de->d_name[0] != '.' && strv_add(&names, de->d_name))
			break;
	closedir(dir);
	qsort(names.v, names.n, sizeof(*names.v), cmp_str);
	for (size_t i = 0; i < names.n; i++)
		scan_entry(d, path, names.v[i], seen);
	strv_free(&names);
}

static void scan_entry(struct dir_src *d, const char *path, const char *name,
		       struct strv *seen)
{
	char full[PATH_MAX];
	struct stat lst, st;

	if (snprintf(full, sizeof(full), "%s/%s", path, name) >=
	    (int)sizeof(full))
		return;
	if (lstat(full, &lst))
		return;
	if (S_ISDIR(lst.st_mode)) {
		scan(d, full, seen); /* symlinked dirs are not followed */
		return;
	}
	if (!is_manifest_name(name) || stat(full, &st) || !S_ISREG(st.st_mode))
		return;
	if (seen && strv_add(seen, full))
		return;
	file_changed(d, full);
}

/* The whole tree again: what is there is reported, what is gone too. */
static void rescan(struct dir_src *d)
{
	struct strv seen = { 0 };

	scan(d, d->root, &seen);
	for (size_t i = d->files.n; i-- > 0;)
		if (strv_find(&seen, d->files.v[i]) < 0)
			file_gone(d, d->files.v[i]);
	strv_free(&seen);
}

/* A directory went away: so did every file under it. */
static void dir_gone(struct dir_src *d, const char *path)
{
	size_t k = strlen(path);

	for (size_t i = d->files.n; i-- > 0;)
		if (!strncmp(d->files.v[i], path, k) && d->files.v[i][k] == '/')
			file_gone(d, d->files.v[i]);
	for (size_t i = d->nw; i-- > 0;) {
		const char *p = d->w[i].path;

		if (!strncmp(p, path, k) && (p[k] == '/' || !p[k])) {
			inotify_rm_watch(d->ifd, d->w[i].wd);
			free(d->w[i].path);
			d->w[i] = d->w[--d->nw];
		}
	}
}

static void on_dir_event(struct dir_src *d, uint32_t mask, const char *full)
{
	if (mask & (IN_CREATE | IN_MOVED_TO))
		scan(d, full, NULL);
	else if (mask & (IN_DELETE | IN_MOVED_FROM))
		dir_gone(d, full);
}

static void on_file_event(struct dir_src *d, uint32_t mask, const char *full,
			  const char *name)
{
	struct stat st;

	if (!is_manifest_name(name))
		return;
	if (mask & (IN_CLOSE_WRITE | IN_MOVED_TO))
		file_changed(d, full);
	else if (mask & (IN_DELETE | IN_MOVED_FROM))
		file_gone(d, full);
	else if ((mask & IN_CREATE) && !lstat(full, &st) && S_ISLNK(st.st_mode))
		file_changed(d, full);
}

/* One inotify event; true when the tree must be rescanned. */
static bool on_event(struct dir_src *d, const struct inotify_event *ev)
{
	char full[PATH_MAX];
	const char *dir;

	if (ev->mask & IN_Q_OVERFLOW)
		return true;
	if (ev->mask & IN_IGNORED) {
		wd_forget(d, ev->wd);
		return false;
	}
	dir = wd_path(d, ev->wd);
	if (!dir || !ev->len)
		return false;
	if (!strncmp(ev->name, "..", 2))
		return true;
	if (snprintf(full, sizeof(full), "%s/%s", dir, ev->name) >=
	    (int)sizeof(full))
		return false;
	if (ev->mask & IN_ISDIR)
		on_dir_event(d, ev->mask, full);
	else
		on_file_event(d, ev->mask, full, ev->name);
	return false;
}

static int dir_dispatch(struct src *s)
{
	struct dir_src *d = (struct dir_src *)s;
	char buf[64 * 1024]
		__attribute__((aligned(__alignof__(struct inotify_event))));
	bool again = false;
	ssize_t n;

	while ((n = read(d->ifd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const void *)p;

			again |= on_event(d, ev);
			p += sizeof(*ev) + ev->len;
		}
	}
	if (n < 0 && errno != EAGAIN && errno != EINTR)
		return -errno;
	if (again) {
		alog("info", "rescan", "dir", d->root, NULL);
		rescan(d);
	}
	return 0;
}

static int dir_fd(const struct src *s)
{
	return ((const struct dir_src *)s)->ifd;
}

static int dir_start(struct src *s, src_emit_fn *emit, void *ctx)
{
	struct dir_src *d = (struct dir_src *)s;
	struct src_object o = { .kind = "File", .ns = "", .name = "" };
	struct stat st;

	if (stat(d->root, &st))
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	d->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (d->ifd < 0)
		return -errno;
	d->emit = emit;
	d->ctx = ctx;
	scan(d, d->root, NULL);
	o.origin = d->root;
	emit(ctx, SRC_SYNCED, &o);
	return 0;
}

static void dir_stop(struct src *s)
{
	struct dir_src *d = (struct dir_src *)s;

	if (d->ifd >= 0)
		close(d->ifd);
	d->ifd = -1;
}

static void dir_free(struct src *s)
{
	struct dir_src *d = (struct dir_src *)s;

	if (!d)
		return;
	dir_stop(s);
	for (size_t i = 0; i < d->nw; i++)
		free(d->w[i].path);
	free(d->w);
	strv_free(&d->files);
	free(d->root);
	free(d);
}

static const struct src_ops dir_ops = {
	.name = "manifests",
	.start = dir_start,
	.stop = dir_stop,
	.free = dir_free,
	.fd = dir_fd,
	.dispatch = dir_dispatch,
};

struct src *dir_src_new(const struct src_config *cfg)
{
	struct dir_src *d = calloc(1, sizeof(*d));
	size_t n;

	if (!d)
		return NULL;
	d->base.ops = &dir_ops;
	d->ifd = -1;
	d->root = strdup(cfg->manifests);
	if (!d->root) {
		free(d);
		return NULL;
	}
	n = strlen(d->root);
	while (n > 1 && d->root[n - 1] == '/')
		d->root[--n] = '\0';
	return &d->base;
}
