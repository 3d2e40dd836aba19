// SPDX-License-Identifier: Apache-2.0
/*
 * dp_tcpconn: new TCP connections per second, for the datapath benchmark
 * (bench/datapath.sh).
 *
 *   dp_tcpconn [--cpu N] [--seconds S] [--accept-in NETNS] ADDR PORT
 *   dp_tcpconn --server PORT [--cpu N]
 *
 * The client opens connections one after the other for S seconds (default
 * 2): socket, connect (the three-way handshake), close. It closes with
 * SO_LINGER 0, so the connection ends with a RST and leaves no TIME_WAIT:
 * a run of tens of thousands of connections never runs out of source
 * ports, and each new connection is a new conntrack entry whose SYN the
 * firewall judges. A connect that fails or takes longer than a second
 * counts as an error. It prints one line of "key=value" fields:
 *
 *   connections=24873 errors=0 seconds=2.000 cps=12436 cpu=1.990
 *
 * With --accept-in, the client is also the server: it listens on PORT in
 * the network namespace NETNS (a name under /run/netns, as `ip netns`
 * makes them; the socket stays in that namespace after the process goes
 * back to its own) and accepts and closes each connection it opened. Then
 * all the work of a connection, both ends and every hop between, is done
 * by one process on one CPU, and "cpu" (its user + system time) is the
 * whole cost, whatever share of the CPU the neighbours left it.
 *
 * --server PORT is a server alone: it accepts and closes until SIGTERM,
 * and prints "ready" once it listens.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "dp_util.h"

#define BACKLOG 4096

struct args {
	long cpu;
	double seconds;
	long server_port;
	const char *accept_in;
	const char *addr;
	long port;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: dp_tcpconn [--cpu N] [--seconds S] ADDR PORT\n"
		   "       dp_tcpconn --server PORT [--cpu N]\n"
		   "  (client options: --accept-in NETNS)\n");
}

static int parse_args(int argc, char **argv, struct args *a)
{
	static const struct option opts[] = {
		{ "cpu", required_argument, NULL, 'c' },
		{ "seconds", required_argument, NULL, 's' },
		{ "server", required_argument, NULL, 'S' },
		{ "accept-in", required_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, err = 0;

	*a = (struct args){ .cpu = -1, .seconds = 2 };
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			err = parse_long(optarg, 0, CPU_SETSIZE - 1, &a->cpu);
			break;
		case 's':
			err = parse_seconds(optarg, &a->seconds);
			break;
		case 'S':
			err = parse_long(optarg, 1, 65535, &a->server_port);
			break;
		case 'a':
			a->accept_in = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			return -EINVAL;
		}
		if (err)
			return err;
	}
	if (a->server_port)
		return optind == argc ? 0 : -EINVAL;
	if (argc - optind != 2)
		return -EINVAL;
	a->addr = argv[optind];
	return parse_long(argv[optind + 1], 1, 65535, &a->port);
}

static int fill_addr(const char *addr, long port, struct sockaddr_storage *ss,
		     socklen_t *len)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, addr, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
		*len = sizeof(*in4);
		return 0;
	}
	if (inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*in6);
		return 0;
	}
	return -EINVAL;
}

/* A TCP socket listening on PORT on every address, IPv4 and IPv6. */
static int listen_port(long port)
{
	struct sockaddr_in6 in6 = { .sin6_family = AF_INET6,
				    .sin6_port = htons((uint16_t)port),
				    .sin6_addr = IN6ADDR_ANY_INIT };
	int off = 0, on = 1;
	int fd, err;

	fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)) ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) ||
	    bind(fd, (struct sockaddr *)&in6, sizeof(in6)) ||
	    listen(fd, BACKLOG)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* listen_port in the network namespace /run/netns/NAME; the process
 * returns to its own namespace, the socket stays in NAME's. */
static int listen_in(const char *name, long port)
{
	char path[256];
	int self, ns, fd;

	if (strchr(name, '/') || snprintf(path, sizeof(path), "/run/netns/%s",
					  name) >= (int)sizeof(path))
		return -EINVAL;
	self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return -errno;
	ns = open(path, O_RDONLY | O_CLOEXEC);
	if (ns < 0 || setns(ns, CLONE_NEWNET)) {
		fd = -errno;
		goto out_close;
	}
	fd = listen_port(port);
	if (setns(self, CLONE_NEWNET)) {
		if (fd >= 0)
			close(fd);
		fd = -errno;
	}
out_close:
	if (ns >= 0)
		close(ns);
	close(self);
	return fd;
}

/* One connection: the connected socket, or -errno. */
static int connect_once(const struct sockaddr_storage *ss, socklen_t len)
{
	static const struct linger abort_close = { .l_onoff = 1,
						   .l_linger = 0 };
	static const struct timeval limit = { .tv_sec = 1 };
	int fd, err;

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* SO_SNDTIMEO bounds a blocking connect: a dropped SYN is an error
	 * after a second, not after the kernel's minutes of retries. */
	if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort_close,
		       sizeof(abort_close)) ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof(limit)) ||
	    connect(fd, (const struct sockaddr *)ss, len)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/*
 * Connects, and with a listening socket lfd (>= 0) accepts the other end
 * before closing both: the handshake is complete once connect returns, so
 * accept does not wait for the network. 0 or -errno.
 */
static int one_connection(const struct sockaddr_storage *ss, socklen_t len,
			  int lfd)
{
	int fd, c, err = 0;

	fd = connect_once(ss, len);
	if (fd < 0)
		return fd;
	if (lfd >= 0) {
		c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			err = -errno;
		else
			close(c);
	}
	close(fd);
	return err;
}

static int client(const struct args *a)
{
	struct sockaddr_storage ss;
	unsigned long long ok = 0, failed = 0;
	socklen_t len;
	double t0, c0, t;
	int lfd = -1;

	if (fill_addr(a->addr, a->port, &ss, &len))
		return -EINVAL;
	if (a->accept_in) {
		lfd = listen_in(a->accept_in, a->port);
		if (lfd < 0)
			return lfd;
	}
	c0 = cpu_seconds();
	t0 = now();
	do {
		if (one_connection(&ss, len, lfd))
			failed++;
		else
			ok++;
		t = now() - t0;
	} while (t < a->seconds);
	printf("connections=%llu errors=%llu seconds=%.3f cps=%.0f cpu=%.3f\n",
	       ok, failed, t, (double)ok / t, cpu_seconds() - c0);
	if (lfd >= 0)
		close(lfd);
	return 0;
}

static void on_term(int sig)
{
	(void)sig;
	_exit(0);
}

static int server(long port)
{
	int fd, c;

	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	fd = listen_port(port);
	if (fd < 0)
		return fd;
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
		if (c >= 0)
			close(c);
		else if (errno != ECONNABORTED && errno != EINTR)
			return -errno;
	}
}

int main(int argc, char **argv)
{
	struct args a;
	int err;

	if (parse_args(argc, argv, &a)) {
		usage(stderr);
		return 2;
	}
	err = pin_cpu(a.cpu);
	if (err) {
		fprintf(stderr, "dp_tcpconn: cpu %ld: %s\n", a.cpu,
			strerror(-err));
		return 1;
	}
	err = a.server_port ? server(a.server_port) : client(&a);
	if (err) {
		fprintf(stderr, "dp_tcpconn: %s\n", strerror(-err));
		return 1;
	}
	return 0;
}
