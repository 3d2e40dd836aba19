/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the datapath benchmark's traffic generators share: argument
 * parsing, pinning to a CPU, and the clocks they report.
 */
#ifndef PW_BENCH_DP_UTIL_H
#define PW_BENCH_DP_UTIL_H

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

static inline int parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static inline int parse_seconds(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v > 0 && v <= 3600))
		return -EINVAL;
	*out = v;
	return 0;
}

static inline int pin_cpu(long cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return 0;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) ? -errno : 0;
}

/* CPU time of this process, user and system, in seconds. Without
 * IRQ_TIME_ACCOUNTING the softirq work done on the way out of our system
 * calls (the whole veth path) is charged to us as system time, so rate per
 * CPU second is the cost of a packet whatever share of the CPU we got. */
static inline double cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static inline double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#endif
