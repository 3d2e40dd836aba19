/* SPDX-License-Identifier: Apache-2.0 */
/* The Prometheus text format for the agent's series (prom.c). */
#ifndef PODWALLD_PROM_H
#define PODWALLD_PROM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* A histogram with fixed upper bounds (seconds), Prometheus style. */
#define HIST_MAX_BUCKETS 16
struct hist {
	const double *bounds; /* ascending; +Inf is implicit */
	size_t nb;
	uint64_t counts[HIST_MAX_BUCKETS + 1];
	double sum;
	uint64_t count;
};

void hist_observe(struct hist *h, double v);
/* The q-quantile (0..1) estimated from the buckets' upper bounds. */
double hist_quantile(const struct hist *h, double q);

/* The HELP and TYPE lines, a whole counter, gauge or histogram, and a
 * label value escaped (\\, \" and \n). */
void metric_help(FILE *f, const char *name, const char *type, const char *text);
void metric_counter(FILE *f, const char *name, const char *text, uint64_t v);
void metric_gauge(FILE *f, const char *name, const char *text, double v);
void metric_histogram(FILE *f, const char *name, const char *text,
		      const struct hist *h);
void metric_label(FILE *f, const char *s);

#endif
