// SPDX-License-Identifier: Apache-2.0
/*
 * What a lab leaves on the machine, and how to find it again.
 *
 * /run/podwall/lab/<id>/ holds "manifests" (absolute paths, one a line)
 * and "ports" (the ports the servers serve, "80/TCP" one a line), written
 * when the lab is built so that probe, apply and down in later runs know
 * the lab. Removal does not trust that record: every namespace whose name
 * starts with "<id>-" and every process whose name does is the lab's (the
 * lab names both so), which also finds what a crash left half-built.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lab.h"

static void state_path(char *buf, size_t len, const char *id, const char *f)
{
	snprintf(buf, len, "%s/%s%s%s", LAB_STATE_ROOT, id, f ? "/" : "",
		 f ? f : "");
}

static int mkdirs(const char *path)
{
	char tmp[PATH_MAX];

	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *s = tmp + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(tmp, 0755) && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	return mkdir(tmp, 0700) ? -errno : 0;
}

int lab_state_create(const char *id)
{
	char dir[PATH_MAX];

	state_path(dir, sizeof(dir), id, NULL);
	return mkdirs(dir);
}

static int write_lines(const char *id, const char *file,
		       const char *const *lines, size_t n)
{
	char path[PATH_MAX];
	FILE *f;
	int ret = 0;

	state_path(path, sizeof(path), id, file);
	f = fopen(path, "we");
	if (!f)
		return -errno;
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s\n", lines[i]);
	if (fclose(f))
		ret = -errno;
	return ret;
}

int lab_state_save(const char *id, const char *const *paths, size_t npaths,
		   const struct pw_port *ports, size_t nports)
{
	char (*pn)[32] = calloc(nports + 1, sizeof(*pn));
	const char **lines = calloc(npaths + nports + 1, sizeof(*lines));
	char **abs = calloc(npaths + 1, sizeof(*abs));
	int ret = -ENOMEM;

	if (!pn || !lines || !abs)
		goto out;
	for (size_t i = 0; i < npaths; i++) {
		abs[i] = realpath(paths[i], NULL);
		if (!abs[i]) {
			ret = -errno;
			goto out;
		}
		lines[i] = abs[i];
	}
	ret = write_lines(id, "manifests", lines, npaths);
	for (size_t i = 0; i < nports; i++) {
		pw_port_format(&ports[i], pn[i], sizeof(pn[i]));
		lines[i] = pn[i];
	}
	if (!ret)
		ret = write_lines(id, "ports", lines, nports);
out:
	for (size_t i = 0; abs && i < npaths; i++)
		free(abs[i]);
	free(abs);
	free(lines);
	free(pn);
	return ret;
}

/* Reads the lines of one state file into a NULL-terminated array. */
static int read_lines(const char *id, const char *file, char ***out,
		      size_t *n)
{
	char path[PATH_MAX], *line = NULL, **v;
	size_t cap = 0;
	ssize_t len;
	FILE *f;

	*out = NULL;
	*n = 0;
	state_path(path, sizeof(path), id, file);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while ((len = getline(&line, &cap, f)) > 0) {
		if (line[len - 1] == '\n')
			line[len - 1] = '\0';
		v = realloc(*out, (*n + 2) * sizeof(*v));
		if (!v)
			break;
		*out = v;
		v[(*n)++] = line;
		v[*n] = NULL;
		line = NULL;
		cap = 0;
	}
	free(line);
	fclose(f);
	return 0;
}

int lab_state_load(const char *id, char ***paths, size_t *npaths,
		   struct pw_port **ports, size_t *nports)
{
	char **pl;
	size_t n;
	int ret;

	ret = read_lines(id, "manifests", paths, npaths);
	if (ret)
		return ret;
	ret = read_lines(id, "ports", &pl, &n);
	if (ret)
		return ret;
	*ports = calloc(n + 1, sizeof(**ports));
	*nports = 0;
	for (size_t i = 0; i < n; i++) {
		if (*ports && !pw_port_parse(pl[i], &(*ports)[*nports]))
			(*nports)++;
		free(pl[i]);
	}
	free(pl);
	return *ports ? 0 : -ENOMEM;
}

/* Whether name is one of lab id's: "<id>-..." */
static bool is_lab_name(const char *name, const char *id)
{
	size_t n = strlen(id);

	return !strncmp(name, id, n) && name[n] == '-';
}

/* A lab id as the lab writes them: 1 to 8 of [a-z0-9]. */
static bool is_lab_id(const char *s)
{
	size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789");

	return n && n < LAB_ID_MAX && !s[n];
}

int lab_state_only(char *id, size_t len)
{
	DIR *d = opendir(LAB_STATE_ROOT);
	struct dirent *de;
	size_t n = 0;

	if (!d)
		return -ENOENT;
	while ((de = readdir(d)))
		if (is_lab_id(de->d_name) && !n++)
			snprintf(id, len, "%s", de->d_name);
	closedir(d);
	return n == 1 ? 0 : n ? -EEXIST : -ENOENT;
}

/* A zombie has ended; only its parent's wait is missing. */
static bool is_zombie(long pid)
{
	char path[64], buf[512], *paren;
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return true;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	paren = strrchr(buf, ')');
	return !paren || paren[1] != ' ' || paren[2] == 'Z' || paren[2] == 'X';
}

/* Signals every process named "<id>-..."; how many there were. */
static size_t kill_procs(const char *id, int sig)
{
	char path[64], comm[32];
	DIR *d = opendir("/proc");
	struct dirent *de;
	size_t n = 0;
	FILE *f;

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		long pid = strtol(de->d_name, NULL, 10);

		if (pid <= 1 || pid == getpid())
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
		f = fopen(path, "re");
		if (!f)
			continue;
		if (fgets(comm, sizeof(comm), f) && is_lab_name(comm, id) &&
		    !is_zombie(pid)) {
			kill((pid_t)pid, sig);
			n++;
		}
		fclose(f);
	}
	closedir(d);
	return n;
}

static void nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* SIGTERM, up to a second to go, then SIGKILL. */
static int stop_procs(const char *id)
{
	if (!kill_procs(id, SIGTERM))
		return 0;
	for (int i = 0; i < 50; i++) {
		nap_ms(20);
		if (!kill_procs(id, 0))
			return 0;
	}
	kill_procs(id, SIGKILL);
	for (int i = 0; i < 50; i++) {
		nap_ms(20);
		if (!kill_procs(id, 0))
			return 0;
	}
	return -EBUSY;
}

/* Deletes every /run/netns/<id>-* (pods first, fabric last: the order
 * does not matter to the kernel, only to a reader of a failure). */
static int del_netns(const char *id)
{
	DIR *d = opendir(LAB_NETNS_DIR);
	struct dirent *de;
	int ret = 0, r;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		if (!is_lab_name(de->d_name, id))
			continue;
		r = lab_ip("netns", "del", de->d_name, NULL);
		if (r && !ret)
			ret = r;
	}
	closedir(d);
	return ret;
}

static void del_state(const char *id)
{
	static const char *const files[] = { "manifests", "ports" };
	char path[PATH_MAX];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		state_path(path, sizeof(path), id, files[i]);
		unlink(path);
	}
	state_path(path, sizeof(path), id, NULL);
	rmdir(path);
}

int lab_state_down(const char *id)
{
	int ret = stop_procs(id), r;
	sig_atomic_t stopping = lab_stop;

	/* Removal must run to its end even when a signal asked to stop. */
	lab_stop = 0;
	if (ret)
		fprintf(stderr, "podwall lab: processes of lab %s would not "
				"end\n",
			id);
	r = del_netns(id);
	if (r && !ret)
		ret = r;
	if (!ret)
		del_state(id);
	lab_stop = stopping;
	return ret;
}

int lab_state_down_all(size_t *count)
{
	DIR *d = opendir(LAB_STATE_ROOT);
	struct dirent *de;
	int ret = 0, r;

	*count = 0;
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		if (!is_lab_id(de->d_name))
			continue;
		r = lab_state_down(de->d_name);
		(*count)++;
		if (r && !ret)
			ret = r;
	}
	closedir(d);
	return ret;
}

bool lab_state_traces(const char *id)
{
	DIR *d = opendir(LAB_NETNS_DIR);
	struct dirent *de;
	bool found = kill_procs(id, 0) > 0;

	while (d && !found && (de = readdir(d)))
		found = is_lab_name(de->d_name, id);
	if (d)
		closedir(d);
	return found;
}
