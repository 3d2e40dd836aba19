// SPDX-License-Identifier: Apache-2.0
/*
 * The servers of the lab: one process per pod, inside the pod's netns,
 * answering on every port it serves so that a failed probe can only mean
 * that something in between dropped it. TCP: accept, then close (the
 * handshake is the answer). UDP: one datagram back to its sender.
 * Sockets are IPv6 with IPV6_V6ONLY off, so one socket serves both
 * families.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lab.h"

/* How long a server may take to listen before the lab gives up. */
#define SERVE_READY_MS 10000
#define UDP_KEY (1ull << 32)

/* The port numbers pod p serves: its TCP and UDP container ports and
 * every probed port, without duplicates; SCTP has no kernel support. */
static size_t serve_ports(const struct lab_pod *p, const struct pw_port *ports,
			  size_t nports, unsigned flags, uint16_t *out)
{
	size_t own = (flags & LAB_SERVE_ONLY) ? 0 : p->nports, n = 0, j;

	for (size_t i = 0; i < own + nports; i++) {
		const struct pw_port *q = i < own ? &p->ports[i] :
						    &ports[i - own];

		if (q->proto == PW_PROTO_SCTP)
			continue;
		for (j = 0; j < n && out[j] != q->num; j++)
			;
		if (j == n)
			out[n++] = q->num;
	}
	return n;
}

static int open_socket(int type, uint16_t port)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6,
				   .sin6_port = htons(port) };
	int fd = socket(AF_INET6, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int off = 0, on = 1;

	if (fd < 0)
		return -errno;
	setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    (type == SOCK_STREAM && listen(fd, 512))) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	return fd;
}

static int add_socket(int ep, int type, uint16_t port)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int fd = open_socket(type, port);

	if (fd < 0)
		return fd;
	ev.data.u64 = (uint64_t)fd | (type == SOCK_DGRAM ? UDP_KEY : 0);
	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

static void on_tcp(int fd)
{
	int c;

	while ((c = accept4(fd, NULL, NULL, SOCK_CLOEXEC)) >= 0)
		close(c);
}

static void on_udp(int fd)
{
	struct sockaddr_storage from;
	socklen_t len = sizeof(from);
	char buf[512];
	ssize_t n;

	while ((n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from,
			     &len)) >= 0) {
		sendto(fd, buf, (size_t)n, MSG_DONTWAIT,
		       (struct sockaddr *)&from, len);
		len = sizeof(from);
	}
}

static void serve_loop(int ep)
{
	struct epoll_event evs[64];
	int n;

	for (;;) {
		n = epoll_wait(ep, evs, 64, -1);
		for (int i = 0; i < n; i++) {
			int fd = (int)(evs[i].data.u64 & 0xffffffffu);

			if (evs[i].data.u64 & UDP_KEY)
				on_udp(fd);
			else
				on_tcp(fd);
		}
	}
}

/* A server that outlives the command leaves its terminal and the
 * command's output: whoever reads that output until its end (a shell's
 * $(...), a pipe) must not wait for the lab to go down. */
static void detach(void)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	setsid();
	if (null < 0)
		return;
	dup2(null, STDIN_FILENO);
	dup2(null, STDOUT_FILENO);
	dup2(null, STDERR_FILENO);
}

/* The server process: never returns. Reports on ready (a 0 byte, or the
 * errno that stopped it) and then serves until killed. */
static void serve_child(const struct lab_plan *plan, size_t k,
			const struct pw_port *ports, size_t nports,
			unsigned flags, int ready)
{
	bool daemon = flags & LAB_SERVE_DAEMON;
	const struct lab_pod *p = &plan->pods[k];
	uint16_t *nums = calloc(p->nports + nports + 1, sizeof(*nums));
	char what[16];
	size_t n;
	int ep, ret = 0;
	unsigned char code;

	signal(SIGINT, daemon ? SIG_IGN : SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_IGN);
	if (daemon)
		detach();
	else
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	snprintf(what, sizeof(what), "s%u", p->k);
	lab_proc_name(plan->id, what);
	ret = nums ? lab_netns_enter(p->netns) : -ENOMEM;
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (!ret && ep < 0)
		ret = -errno;
	n = ret ? 0 : serve_ports(p, ports, nports, flags, nums);
	for (size_t i = 0; i < n && !ret; i++) {
		ret = add_socket(ep, SOCK_STREAM, nums[i]);
		if (!ret)
			ret = add_socket(ep, SOCK_DGRAM, nums[i]);
	}
	code = (unsigned char)-ret;
	if (write(ready, &code, 1) != 1 || ret)
		_exit(1);
	close(ready);
	free(nums);
	serve_loop(ep);
	_exit(0);
}

/* Waits for the ready byte of one server. 0 or -errno. */
static int wait_ready(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	unsigned char code;
	int n;

	do {
		n = poll(&pfd, 1, SERVE_READY_MS);
	} while (n < 0 && errno == EINTR && !lab_stop);
	if (lab_stop)
		return -EINTR;
	if (n <= 0)
		return -ETIMEDOUT;
	if (read(fd, &code, 1) != 1)
		return -EIO;
	return -(int)code;
}

int lab_serve_start(const struct lab_plan *plan, const struct pw_port *ports,
		    size_t nports, unsigned flags, const bool *which,
		    pid_t *pids)
{
	int pfd[2], ret = 0;

	for (size_t k = 0; k < plan->npods && !ret; k++) {
		if (which && !which[k])
			continue;
		if (pipe2(pfd, O_CLOEXEC))
			return -errno;
		pids[k] = fork();
		if (pids[k] < 0) {
			ret = -errno;
			pids[k] = 0;
		} else if (!pids[k]) {
			close(pfd[0]);
			serve_child(plan, k, ports, nports, flags, pfd[1]);
		}
		close(pfd[1]);
		if (!ret)
			ret = wait_ready(pfd[0]);
		if (ret && ret != -EINTR)
			fprintf(stderr,
				"podwall lab: the server of pod %s failed: "
				"%s\n",
				plan->pods[k].name, strerror(-ret));
		close(pfd[0]);
	}
	return ret;
}

void lab_serve_stop(pid_t *pids, size_t n)
{
	int status;

	for (size_t i = 0; i < n; i++)
		if (pids[i] > 0)
			kill(pids[i], SIGKILL);
	for (size_t i = 0; i < n; i++) {
		if (pids[i] <= 0)
			continue;
		while (waitpid(pids[i], &status, 0) < 0 && errno == EINTR)
			;
		pids[i] = 0;
	}
}
