// SPDX-License-Identifier: Apache-2.0
/*
 * Probes: from every pod to every other pod on every port, with real
 * connections. One process per source pod enters its netns and keeps many
 * non-blocking sockets in one epoll set; source pods run in parallel.
 *
 * TCP succeeds when the handshake completes. UDP sends one datagram on a
 * connected socket and succeeds when the echo comes back (a connected
 * socket also sees the ICMP error of a closed port at once). A probe that
 * fails in the first, short round is tried again with a longer timeout, so
 * that a loaded machine cannot pass a slow answer off as a drop.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lab.h"

/* Sockets open at once in one source process, and source processes at
 * once: well under the default limit of 1024 descriptors, and enough to
 * keep two cores busy. */
#define PROBE_CHUNK 256
#define PROBE_PARALLEL 32
static const char probe_payload[] = "podwall-lab-probe";

struct target {
	struct sockaddr_storage sa;
	socklen_t salen;
	int type; /* SOCK_STREAM, SOCK_DGRAM */
	size_t slot; /* into the source's result row: to * nports + p */
};

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void target_addr(struct target *t, const struct lab_addr *a,
			uint16_t port)
{
	memset(&t->sa, 0, sizeof(t->sa));
	if (a->family == 6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&t->sa;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		memcpy(&s6->sin6_addr, a->b, 16);
		t->salen = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&t->sa;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		memcpy(&s4->sin_addr, a->b, 4);
		t->salen = sizeof(*s4);
	}
}

/* Opens one probe; returns the socket, or -1 when it already failed.
 * *done is set when it already succeeded. */
static int probe_open(const struct target *t, bool *done)
{
	int fd = socket(t->sa.ss_family, t->type | SOCK_NONBLOCK | SOCK_CLOEXEC,
			0);

	*done = false;
	if (fd < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)&t->sa, t->salen)) {
		if (errno == EINPROGRESS)
			return fd;
		close(fd);
		return -1;
	}
	if (t->type == SOCK_STREAM) {
		*done = true;
		close(fd);
		return -1;
	}
	if (send(fd, probe_payload, sizeof(probe_payload), 0) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The answer an event brings: 1 success, 0 failure, -1 not yet. */
static int probe_event(const struct target *t, int fd, uint32_t ev)
{
	char buf[64];
	int err = 0;
	socklen_t len = sizeof(err);

	if (t->type == SOCK_STREAM) {
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) || err)
			return 0;
		return (ev & EPOLLOUT) ? 1 : -1;
	}
	if (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) >= 0)
		return 1;
	return errno == EAGAIN ? -1 : 0;
}

/* One chunk of probes at once: up to PROBE_CHUNK sockets in one epoll,
 * until each has an answer or the deadline passes. */
static void probe_chunk(int ep, const struct target *t, size_t n,
			int timeout_ms, uint8_t *res)
{
	struct epoll_event evs[64], ev;
	int fds[PROBE_CHUNK], r;
	long deadline = now_ms() + timeout_ms, left;
	size_t open = 0;
	bool done;

	for (size_t i = 0; i < n; i++) {
		fds[i] = probe_open(&t[i], &done);
		res[t[i].slot] = done;
		if (fds[i] < 0)
			continue;
		ev.events = t[i].type == SOCK_STREAM ? EPOLLOUT : EPOLLIN;
		ev.data.u64 = i;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev)) {
			close(fds[i]);
			fds[i] = -1;
			continue;
		}
		open++;
	}
	while (open && (left = deadline - now_ms()) > 0) {
		int k = epoll_wait(ep, evs, 64, (int)left);

		for (int j = 0; j < k; j++) {
			size_t i = evs[j].data.u64;

			r = probe_event(&t[i], fds[i], evs[j].events);
			if (r < 0)
				continue;
			res[t[i].slot] = (uint8_t)r;
			close(fds[i]); /* also leaves the epoll set */
			fds[i] = -1;
			open--;
		}
	}
	for (size_t i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/* One round over the targets whose result is still 0. */
static void probe_round(const struct target *all, size_t n, int timeout_ms,
			uint8_t *res)
{
	struct target *todo = calloc(n + 1, sizeof(*todo));
	size_t m = 0;
	int ep = epoll_create1(EPOLL_CLOEXEC);

	if (!todo || ep < 0)
		goto out;
	for (size_t i = 0; i < n; i++)
		if (!res[all[i].slot])
			todo[m++] = all[i];
	for (size_t i = 0; i < m; i += PROBE_CHUNK)
		probe_chunk(ep, todo + i,
			    m - i < PROBE_CHUNK ? m - i : PROBE_CHUNK,
			    timeout_ms, res);
out:
	if (ep >= 0)
		close(ep);
	free(todo);
}

/* The probe process of source pod s: never returns. Writes one byte per
 * (to, port) slot to out. */
static void probe_child(const struct lab_plan *plan, const struct lab_result *r,
			size_t s, int out)
{
	size_t n = 0, slots = plan->npods * r->nports;
	struct target *t = calloc(slots + 1, sizeof(*t));
	uint8_t *res = calloc(slots + 1, 1);
	char what[16];

	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	snprintf(what, sizeof(what), "q%u", (unsigned)s);
	lab_proc_name(plan->id, what);
	if (!t || !res || lab_netns_enter(plan->pods[s].netns))
		_exit(1);
	for (size_t d = 0; d < plan->npods; d++) {
		for (size_t p = 0; p < r->nports; p++) {
			if (d == s) {
				res[d * r->nports + p] = 1;
				continue;
			}
			target_addr(&t[n], &plan->pods[d].ips[0],
				    r->ports[p].num);
			t[n].type = r->ports[p].proto == PW_PROTO_UDP ?
					    SOCK_DGRAM :
					    SOCK_STREAM;
			t[n++].slot = d * r->nports + p;
		}
	}
	probe_round(t, n, LAB_PROBE_FAST_MS, res);
	probe_round(t, n, LAB_PROBE_SLOW_MS, res);
	_exit(write(out, res, slots) == (ssize_t)slots ? 0 : 1);
}

static pid_t probe_spawn(const struct lab_plan *plan,
			 const struct lab_result *r, size_t s, int *fd)
{
	int pfd[2];
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC))
		return -1;
	pid = fork();
	if (!pid) {
		close(pfd[0]);
		probe_child(plan, r, s, pfd[1]);
	}
	close(pfd[1]);
	if (pid < 0)
		close(pfd[0]);
	else
		*fd = pfd[0];
	return pid;
}

/* Reads source s's row into r->observed. 0 or -errno. */
static int probe_collect(struct lab_result *r, size_t s, pid_t pid, int fd)
{
	size_t slots = r->npods * r->nports, got = 0;
	uint8_t *row = calloc(slots + 1, 1);
	int status, ret = 0;
	ssize_t n;

	while (row && got < slots) {
		n = read(fd, row + got, slots - got);
		if (n < 0 && errno == EINTR && !lab_stop)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got < slots) {
		ret = lab_stop ? -EINTR : -EIO;
		kill(pid, SIGKILL);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	for (size_t d = 0; !ret && d < r->npods; d++)
		for (size_t p = 0; p < r->nports; p++)
			r->observed[lab_cell(r, p, s, d)] =
				row[d * r->nports + p];
	free(row);
	return row ? ret : -ENOMEM;
}

int lab_probe_run(const struct lab_plan *plan, struct lab_result *r)
{
	pid_t pids[PROBE_PARALLEL];
	int fds[PROBE_PARALLEL], ret = 0;

	for (size_t base = 0; base < plan->npods && !ret;
	     base += PROBE_PARALLEL) {
		size_t n = plan->npods - base, started = 0;

		if (n > PROBE_PARALLEL)
			n = PROBE_PARALLEL;
		for (; started < n; started++) {
			pids[started] = probe_spawn(plan, r, base + started,
						    &fds[started]);
			if (pids[started] < 0) {
				ret = -errno;
				break;
			}
		}
		for (size_t i = 0; i < started; i++) {
			if (ret) {
				kill(pids[i], SIGKILL);
				waitpid(pids[i], NULL, 0);
			} else {
				ret = probe_collect(r, base + i, pids[i],
						    fds[i]);
			}
			close(fds[i]);
		}
	}
	return ret;
}
