// SPDX-License-Identifier: Apache-2.0
/*
 * The Prometheus text format (exposition format 0.0.4) as the agent's
 * parts write it: metrics.c, flowlog.c and ctsweep.c each render their
 * own series with these, so that HELP/TYPE lines, histograms and label
 * escaping are written one way.
 */
#include <math.h>
#include <stdio.h>

#include "prom.h"

void hist_observe(struct hist *h, double v)
{
	size_t i = 0;

	while (i < h->nb && v > h->bounds[i])
		i++;
	h->counts[i]++;
	h->sum += v;
	h->count++;
}

double hist_quantile(const struct hist *h, double q)
{
	uint64_t want = (uint64_t)ceil(q * (double)h->count), seen = 0;

	for (size_t i = 0; i <= h->nb; i++) {
		seen += h->counts[i];
		if (seen >= want && seen)
			return i < h->nb ? h->bounds[i] : INFINITY;
	}
	return NAN;
}

void metric_help(FILE *f, const char *name, const char *type, const char *text)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, text, name, type);
}

/* A label value as the text format wants it: \\, \" and \n escaped. */
void metric_label(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', f);
		if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

void metric_counter(FILE *f, const char *name, const char *text, uint64_t v)
{
	metric_help(f, name, "counter", text);
	fprintf(f, "%s %llu\n", name, (unsigned long long)v);
}

void metric_gauge(FILE *f, const char *name, const char *text, double v)
{
	metric_help(f, name, "gauge", text);
	fprintf(f, "%s %.17g\n", name, v);
}

void metric_histogram(FILE *f, const char *name, const char *text,
		      const struct hist *h)
{
	uint64_t cum = 0;

	metric_help(f, name, "histogram", text);
	for (size_t i = 0; i < h->nb; i++) {
		cum += h->counts[i];
		fprintf(f, "%s_bucket{le=\"%g\"} %llu\n", name, h->bounds[i],
			(unsigned long long)cum);
	}
	cum += h->counts[h->nb];
	fprintf(f, "%s_bucket{le=\"+Inf\"} %llu\n", name,
		(unsigned long long)cum);
	fprintf(f, "%s_sum %.9g\n%s_count %llu\n", name, h->sum, name,
		(unsigned long long)h->count);
}
