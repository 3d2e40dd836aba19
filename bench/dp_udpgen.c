// SPDX-License-Identifier: Apache-2.0
/*
 * dp_udpgen: the packet generator of the datapath benchmark
 * (bench/datapath.sh), and the sink it sends to.
 *
 *   dp_udpgen [--cpu N] [--seconds S] [--size BYTES] [--batch N] ADDR PORT
 *   dp_udpgen --sink PORT
 *
 * The generator sends one UDP flow (one source port, one destination) of
 * BYTES-byte payloads (default 64) with sendmmsg(), BATCH datagrams per
 * call, for S seconds (default 2), pinned to CPU N. On veth links the
 * receive side of every hop runs in the softirq of the sending CPU, so the
 * whole path (pod, node forward hook, pod) is paid for on that one CPU and
 * the rate measures it. It prints one line of "key=value" fields:
 *
 *   sent=5401344 seconds=2.000 pps=2700672 cpu=1.998
 *
 * The flow is never answered: the sink binds the port (so the destination
 * sends no ICMP port-unreachable, which conntrack would see as related
 * traffic) and never reads. Its receive buffer fills and the kernel drops
 * further datagrams at the socket, after they crossed the node; the
 * benchmark counts them at the destination pod's interface.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dp_util.h"

#define MAX_BATCH 1024
#define MAX_SIZE 1472 /* one Ethernet frame of IPv4 + UDP */
#define SINK_RCVBUF 4096

struct args {
	long cpu;
	double seconds;
	long size;
	long batch;
	long sink_port;
	const char *addr;
	long port;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: dp_udpgen [--cpu N] [--seconds S] [--size BYTES] "
		   "[--batch N] ADDR PORT\n"
		   "       dp_udpgen --sink PORT\n");
}

static int parse_args(int argc, char **argv, struct args *a)
{
	static const struct option opts[] = {
		{ "cpu", required_argument, NULL, 'c' },
		{ "seconds", required_argument, NULL, 's' },
		{ "size", required_argument, NULL, 'z' },
		{ "batch", required_argument, NULL, 'b' },
		{ "sink", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, err = 0;

	*a = (struct args){ .cpu = -1, .seconds = 2, .size = 64, .batch = 64 };
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			err = parse_long(optarg, 0, CPU_SETSIZE - 1, &a->cpu);
			break;
		case 's':
			err = parse_seconds(optarg, &a->seconds);
			break;
		case 'z':
			err = parse_long(optarg, 0, MAX_SIZE, &a->size);
			break;
		case 'b':
			err = parse_long(optarg, 1, MAX_BATCH, &a->batch);
			break;
		case 'k':
			err = parse_long(optarg, 1, 65535, &a->sink_port);
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
	if (a->sink_port)
		return optind == argc ? 0 : -EINVAL;
	if (argc - optind != 2)
		return -EINVAL;
	a->addr = argv[optind];
	return parse_long(argv[optind + 1], 1, 65535, &a->port);
}

/* A socket connected to ADDR PORT (IPv4 or IPv6); -errno on failure. */
static int open_flow(const char *addr, long port)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;
	int fd;

	if (inet_pton(AF_INET, addr, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
		len = sizeof(*in4);
	} else if (inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		len = sizeof(*in6);
	} else {
		return -EINVAL;
	}
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&ss, len)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/*
 * Sends batches until the time is up. A full queue (ENOBUFS, EAGAIN) is
 * not an error: the datagrams were not sent and are not counted.
 */
static int send_flow(int fd, const struct args *a)
{
	static char payload[MAX_SIZE];
	static struct mmsghdr msgs[MAX_BATCH];
	struct iovec iov = { .iov_base = payload, .iov_len = (size_t)a->size };
	unsigned long long sent = 0;
	double t0, c0, t;
	long i;
	int n;

	memset(payload, 'p', sizeof(payload));
	for (i = 0; i < a->batch; i++) {
		msgs[i].msg_hdr.msg_iov = &iov;
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	c0 = cpu_seconds();
	t0 = now();
	do {
		n = sendmmsg(fd, msgs, (unsigned int)a->batch, 0);
		if (n > 0)
			sent += (unsigned long long)n;
		else if (errno != ENOBUFS && errno != EAGAIN && errno != EINTR)
			return -errno;
		t = now() - t0;
	} while (t < a->seconds);
	printf("sent=%llu seconds=%.3f pps=%.0f cpu=%.3f\n", sent, t,
	       (double)sent / t, cpu_seconds() - c0);
	return 0;
}

static void on_term(int sig)
{
	(void)sig;
	_exit(0);
}

/* Binds PORT on every address and never reads; ends on SIGTERM/SIGINT. */
static int sink(long port)
{
	struct sockaddr_in6 in6 = { .sin6_family = AF_INET6,
				    .sin6_port = htons((uint16_t)port),
				    .sin6_addr = IN6ADDR_ANY_INIT };
	int off = 0, buf = SINK_RCVBUF;
	int fd;

	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)) ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf)) ||
	    bind(fd, (struct sockaddr *)&in6, sizeof(in6)))
		return -errno;
	/* Tell the script the port is bound: it starts sending only then. */
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	struct args a;
	int fd, err;

	if (parse_args(argc, argv, &a)) {
		usage(stderr);
		return 2;
	}
	if (a.sink_port) {
		err = sink(a.sink_port);
		fprintf(stderr, "dp_udpgen: sink: %s\n", strerror(-err));
		return 1;
	}
	err = pin_cpu(a.cpu);
	if (err) {
		fprintf(stderr, "dp_udpgen: cpu %ld: %s\n", a.cpu,
			strerror(-err));
		return 1;
	}
	fd = open_flow(a.addr, a.port);
	if (fd < 0) {
		fprintf(stderr, "dp_udpgen: %s: %s\n", a.addr, strerror(-fd));
		return 1;
	}
	err = send_flow(fd, &a);
	close(fd);
	if (err) {
		fprintf(stderr, "dp_udpgen: sendmmsg: %s\n", strerror(-err));
		return 1;
	}
	return 0;
}
