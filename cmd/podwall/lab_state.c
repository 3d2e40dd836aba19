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
#include <arpa/inet.h>
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

int lab_state_save(const char *id, const struct lab_record *rec)
{
	char(*pn)[32] = calloc(rec->nports + 1, sizeof(*pn));
	const char **lines =
		calloc(rec->npaths + rec->nports + 1, sizeof(*lines));
	char **abs = calloc(rec->npaths + 1, sizeof(*abs));
	char digest[24];
	int ret = -ENOMEM;

	if (!pn || !lines || !abs)
		goto out;
	for (size_t i = 0; i < rec->npaths; i++) {
		bool dash = !strcmp(rec->paths[i], "-");

		abs[i] = dash ? strdup("-") : realpath(rec->paths[i], NULL);
		if (!abs[i]) {
			ret = -errno;
			goto out;
		}
		lines[i] = abs[i];
	}
	ret = write_lines(id, "manifests", lines, rec->npaths);
	for (size_t i = 0; i < rec->nports; i++) {
		pw_port_format(&rec->ports[i], pn[i], sizeof(pn[i]));
		lines[i] = pn[i];
	}
	if (!ret)
		ret = write_lines(id, "ports", lines, rec->nports);
	snprintf(digest, sizeof(digest), "%016llx",
		 (unsigned long long)rec->network);
	lines[0] = digest;
	if (!ret)
		ret = write_lines(id, "network", lines, 1);
out:
	for (size_t i = 0; abs && i < rec->npaths; i++)
		free(abs[i]);
	free(abs);
	free(lines);
	free(pn);
	return ret;
}

/* Reads the lines of one state file into a NULL-terminated array. */
static int read_lines(const char *id, const char *file, char ***out, size_t *n)
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

static void free_lines(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

void lab_record_free(struct lab_record *rec)
{
	free_lines(rec->paths, rec->npaths);
	free(rec->ports);
	memset(rec, 0, sizeof(*rec));
}

int lab_state_load(const char *id, struct lab_record *rec)
{
	char **pl = NULL, **dl = NULL;
	size_t n = 0, nd = 0;
	int ret;

	memset(rec, 0, sizeof(*rec));
	ret = read_lines(id, "manifests", &rec->paths, &rec->npaths);
	if (!ret)
		ret = read_lines(id, "ports", &pl, &n);
	if (!ret)
		ret = read_lines(id, "network", &dl, &nd);
	if (!ret && nd)
		rec->network = strtoull(dl[0], NULL, 16);
	if (!ret)
		rec->ports = calloc(n + 1, sizeof(*rec->ports));
	for (size_t i = 0; rec->ports && i < n; i++)
		if (!pw_port_parse(pl[i], &rec->ports[rec->nports]))
			rec->nports++;
	if (!ret && !rec->ports)
		ret = -ENOMEM;
	free_lines(pl, n);
	free_lines(dl, nd);
	if (ret)
		lab_record_free(rec);
	return ret;
}

/*
 * The plan file, one line per node and per pod; names come last since
 * they are the only free text (written as data, never parsed by anything
 * but this reader):
 *   node K ADDR4 ADDR6|- NAME
 *   pod K NODE-K ALLOCATED IP0 IP1|- PORTS|- NAME     PORTS: 80/TCP,53/UDP
 */
static void put_addr(FILE *f, const struct lab_addr *a, bool has)
{
	char s[64];

	if (has)
		lab_addr_str(a, s, sizeof(s));
	fprintf(f, " %s", has ? s : "-");
}

static void put_pod(FILE *f, const struct lab_plan *plan,
		    const struct lab_pod *p)
{
	char pn[32];

	fprintf(f, "pod %u %u %d", p->k, plan->nodes[p->node].k, p->allocated);
	put_addr(f, &p->ips[0], p->nips > 0);
	put_addr(f, &p->ips[1], p->nips > 1);
	for (size_t i = 0; i < p->nports; i++) {
		pw_port_format(&p->ports[i], pn, sizeof(pn));
		fprintf(f, "%c%s", i ? ',' : ' ', pn);
	}
	fprintf(f, "%s %s\n", p->nports ? "" : " -", p->name);
}

int lab_state_save_plan(const char *id, const struct lab_plan *plan)
{
	char path[PATH_MAX];
	FILE *f;

	state_path(path, sizeof(path), id, "plan");
	f = fopen(path, "we");
	if (!f)
		return -errno;
	for (size_t j = 0; j < plan->nnodes; j++) {
		const struct lab_node *n = &plan->nodes[j];

		fprintf(f, "node %u", n->k);
		put_addr(f, &n->addr4, true);
		put_addr(f, &n->addr6, n->has6);
		fprintf(f, " %s\n", n->name);
	}
	for (size_t i = 0; i < plan->npods; i++)
		put_pod(f, plan, &plan->pods[i]);
	return fclose(f) ? -errno : 0;
}

static bool get_addr(const char *s, struct lab_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, a->b) == 1)
		a->family = 4;
	else if (inet_pton(AF_INET6, s, a->b) == 1)
		a->family = 6;
	return a->family;
}

static int get_ports(struct lab_pod *p, char *list)
{
	char *save = NULL, *tok;

	p->ports = calloc(strlen(list) / 2 + 1, sizeof(*p->ports));
	if (!p->ports)
		return -ENOMEM;
	for (tok = strtok_r(list, ",", &save); tok && strcmp(tok, "-");
	     tok = strtok_r(NULL, ",", &save))
		if (pw_port_parse(tok, &p->ports[p->nports++]))
			return -EBADMSG;
	return 0;
}

static int get_node(struct lab_plan *plan, char *line)
{
	struct lab_node *n = &plan->nodes[plan->nnodes];
	char a4[64], a6[64], name[256];

	if (sscanf(line, "node %u %63s %63s %255s", &n->k, a4, a6, name) != 4 ||
	    !get_addr(a4, &n->addr4))
		return -EBADMSG;
	n->has6 = get_addr(a6, &n->addr6);
	n->name = strdup(name);
	plan->nnodes++;
	return n->name ? 0 : -ENOMEM;
}

static int get_pod(struct lab_plan *plan, char *line)
{
	struct lab_pod *p = &plan->pods[plan->npods];
	char ip0[64], ip1[64], ports[1024], name[512];
	unsigned nk;
	int alloc;

	if (sscanf(line, "pod %u %u %d %63s %63s %1023s %511s", &p->k, &nk,
		   &alloc, ip0, ip1, ports, name) != 7)
		return -EBADMSG;
	p->allocated = alloc;
	p->nips = get_addr(ip0, &p->ips[0]);
	p->nips += p->nips && get_addr(ip1, &p->ips[1]);
	for (p->node = 0; p->node < plan->nnodes; p->node++)
		if (plan->nodes[p->node].k == nk)
			break;
	p->name = strdup(name);
	plan->npods++;
	if (!p->name)
		return -ENOMEM;
	return p->node < plan->nnodes ? get_ports(p, ports) : -EBADMSG;
}

int lab_state_load_plan(const char *id, struct lab_plan *plan)
{
	char **lines;
	size_t n;
	int ret;

	memset(plan, 0, sizeof(*plan));
	snprintf(plan->id, sizeof(plan->id), "%s", id);
	ret = read_lines(id, "plan", &lines, &n);
	if (ret)
		return ret;
	plan->nodes = calloc(n + 1, sizeof(*plan->nodes));
	plan->pods = calloc(n + 1, sizeof(*plan->pods));
	ret = plan->nodes && plan->pods ? 0 : -ENOMEM;
	for (size_t i = 0; i < n && !ret; i++)
		ret = !strncmp(lines[i], "node ", 5) ?
			      get_node(plan, lines[i]) :
			      get_pod(plan, lines[i]);
	free_lines(lines, n);
	if (ret)
		lab_plan_free(plan);
	else
		lab_plan_names(plan);
	return ret;
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
/* Whether the process name comm is one of lab id's, or exactly
 * "<id>-<what>" when what is not NULL. */
static bool proc_matches(const char *comm, const char *id, const char *what)
{
	return is_lab_name(comm, id) &&
	       (!what || !strcmp(comm + strlen(id) + 1, what));
}

static size_t kill_procs(const char *id, const char *what, int sig)
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
		if (fgets(comm, sizeof(comm), f))
			comm[strcspn(comm, "\n")] = '\0';
		else
			comm[0] = '\0';
		if (proc_matches(comm, id, what) && !is_zombie(pid)) {
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
static int stop_procs(const char *id, const char *what)
{
	if (!kill_procs(id, what, SIGTERM))
		return 0;
	for (int i = 0; i < 50; i++) {
		nap_ms(20);
		if (!kill_procs(id, what, 0))
			return 0;
	}
	kill_procs(id, what, SIGKILL);
	for (int i = 0; i < 50; i++) {
		nap_ms(20);
		if (!kill_procs(id, what, 0))
			return 0;
	}
	return -EBUSY;
}

int lab_state_kill(const char *id, const char *what)
{
	return stop_procs(id, what);
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
	pw_datapath_release(); /* its socket may hold a node's namespace */
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
	static const char *const files[] = { "manifests", "ports", "network",
					     "plan" };
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
	int ret = stop_procs(id, NULL), r;
	sig_atomic_t stopping = lab_stop;

	/* Removal must run to its end even when a signal asked to stop. */
	lab_stop = 0;
	if (ret)
		fprintf(stderr,
			"podwall lab: processes of lab %s would not "
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
	char path[PATH_MAX];
	struct dirent *de;
	bool found;

	state_path(path, sizeof(path), id, NULL);
	found = !access(path, F_OK) || kill_procs(id, NULL, 0) > 0;

	while (d && !found && (de = readdir(d)))
		found = is_lab_name(de->d_name, id);
	if (d)
		closedir(d);
	return found;
}
