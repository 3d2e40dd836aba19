// SPDX-License-Identifier: Apache-2.0
/*
 * The conntrack sweep's thread: after a transaction that changed the
 * ruleset, and every --ct-sweep-interval seconds, it deletes the
 * conntrack entries of the connections the enforced snapshot no longer
 * allows (pw_conntrack_sweep, podwall/conntrack.h). It runs beside the
 * reconcile loop so that a sweep of a big table never delays the next
 * transaction; wakeups that arrive while it sweeps are coalesced into
 * one more sweep, which sees the newest snapshot.
 *
 * docs/AGENT.md, "Cutting connections a change no longer allows", says
 * what is cut and within which time.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent.h"
#include "log.h"

/* A sweep reads the whole table: well under a millisecond for a few
 * entries, tens of milliseconds for tens of thousands. */
static const double sweep_bounds[] = { 0.0005, 0.001, 0.0025, 0.005, 0.01,
				       0.025,  0.05,  0.1,    0.25,  0.5,
				       1,      2.5,   5,      10 };

struct ctsweep {
	struct snap_slot *enforced;
	const char *node;
	unsigned interval_s; /* 0: only after changes */

	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool pending; /* a sweep is due */
	bool stop;

	/* Under lock: read by the metrics page on the agent's thread. */
	uint64_t sweeps, cut, errors;
	struct hist seconds;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void log_sweep(int ret, const struct pw_sweep_stats *st, uint64_t gen,
		      double secs)
{
	char v[6][24];

	snprintf(v[0], sizeof(v[0]), "%llu", (unsigned long long)st->cut);
	snprintf(v[1], sizeof(v[1]), "%llu", (unsigned long long)st->seen);
	snprintf(v[2], sizeof(v[2]), "%llu", (unsigned long long)st->judged);
	snprintf(v[3], sizeof(v[3]), "%llu", (unsigned long long)st->errors);
	snprintf(v[4], sizeof(v[4]), "%.3f", secs * 1e3);
	snprintf(v[5], sizeof(v[5]), "%llu", (unsigned long long)gen);
	if (ret)
		alog("error", "ct-sweep", "error", strerror(-ret), "generation",
		     v[5], NULL);
	else
		alog(st->errors ? "warning" : "info", "ct-sweep", "cut", v[0],
		     "entries", v[1], "judged", v[2], "errors", v[3], "ms",
		     v[4], "generation", v[5], NULL);
}

/* One sweep with the snapshot enforced now; nothing before the first. */
static void sweep_once(struct ctsweep *s)
{
	struct snap *sn = snap_slot_get(s->enforced);
	struct pw_sweep_stats st = { .seen = 0 };
	uint64_t t0 = now_ns(), gen;
	double secs;
	int ret;

	if (!sn)
		return;
	gen = snap_generation(sn);
	ret = snap_engine(sn) ?
		      pw_conntrack_sweep(snap_engine(sn), s->node, &st) :
		      -ENOMEM;
	snap_put(sn);
	secs = (double)(now_ns() - t0) / 1e9;
	pthread_mutex_lock(&s->lock);
	s->sweeps++;
	s->cut += st.cut;
	s->errors += st.errors + (ret != 0);
	hist_observe(&s->seconds, secs);
	pthread_mutex_unlock(&s->lock);
	if (ret || st.cut || st.errors)
		log_sweep(ret, &st, gen, secs);
}

/* Waits (lock held) until a sweep is due or the thread must stop; the
 * periodic sweep falls due interval_s after the end of the last one. */
static void wait_due(struct ctsweep *s)
{
	uint64_t at = now_ns() + (uint64_t)s->interval_s * 1000000000u;
	struct timespec ts = { .tv_sec = (time_t)(at / 1000000000u),
			       .tv_nsec = (long)(at % 1000000000u) };

	while (!s->pending && !s->stop) {
		if (!s->interval_s) {
			pthread_cond_wait(&s->cond, &s->lock);
		} else if (pthread_cond_timedwait(&s->cond, &s->lock, &ts) ==
			   ETIMEDOUT) {
			s->pending = true;
		}
	}
}

/*
 * Sweeps start at least SWEEP_GAP_NS apart. A sweep judges connections
 * with the snapshot's engine, which is built for the sweep (snap.h): at
 * hundreds of events a second, sweeping after each would compile the
 * whole cluster after each, which the incremental reconcile exists to
 * avoid. Waits (lock held) until the gap since `last` has passed or the
 * thread must stop; wakeups meanwhile fold into the sweep that follows.
 */
#define SWEEP_GAP_NS 1000000000ull

static void wait_gap(struct ctsweep *s, uint64_t last)
{
	uint64_t at = last + SWEEP_GAP_NS;
	struct timespec ts = { .tv_sec = (time_t)(at / 1000000000u),
			       .tv_nsec = (long)(at % 1000000000u) };

	while (last && !s->stop && now_ns() < at)
		pthread_cond_timedwait(&s->cond, &s->lock, &ts);
}

static void *run(void *arg)
{
	struct ctsweep *s = arg;
	uint64_t last = 0;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		wait_due(s);
		wait_gap(s, last);
		if (s->stop)
			break;
		s->pending = false;
		last = now_ns();
		pthread_mutex_unlock(&s->lock);
		sweep_once(s);
		pthread_mutex_lock(&s->lock);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

static int init_sync(struct ctsweep *s)
{
	pthread_condattr_t ca;
	int ret = pthread_condattr_init(&ca);

	if (ret)
		return -ret;
	ret = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (!ret)
		ret = pthread_cond_init(&s->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (ret)
		return -ret;
	ret = pthread_mutex_init(&s->lock, NULL);
	if (ret) {
		pthread_cond_destroy(&s->cond);
		return -ret;
	}
	return 0;
}

struct ctsweep *ctsweep_new(struct snap_slot *enforced, const char *node,
			    unsigned interval_s)
{
	struct ctsweep *s = calloc(1, sizeof(*s));
	int ret = -ENOMEM;

	if (!s)
		goto err_out;
	s->enforced = enforced;
	s->node = node;
	s->interval_s = interval_s;
	s->seconds.bounds = sweep_bounds;
	s->seconds.nb = sizeof(sweep_bounds) / sizeof(sweep_bounds[0]);
	ret = init_sync(s);
	if (ret)
		goto err_free;
	ret = -pthread_create(&s->thread, NULL, run, s);
	if (ret)
		goto err_destroy_sync;
	return s;

err_destroy_sync:
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
err_free:
	free(s);
err_out:
	errno = -ret;
	return NULL;
}

void ctsweep_wake(struct ctsweep *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	s->pending = true;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

void ctsweep_free(struct ctsweep *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	s->stop = true;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->thread, NULL);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* The series exist (at 0) with the sweep off too, so that dashboards and
 * alerts do not depend on the options. */
void ctsweep_metrics(struct ctsweep *s, FILE *f)
{
	struct hist h = { .bounds = sweep_bounds,
			  .nb = sizeof(sweep_bounds) /
				sizeof(sweep_bounds[0]) };
	uint64_t sweeps = 0, cut = 0, errors = 0;

	if (s) {
		pthread_mutex_lock(&s->lock);
		sweeps = s->sweeps;
		cut = s->cut;
		errors = s->errors;
		h = s->seconds;
		pthread_mutex_unlock(&s->lock);
	}
	metric_counter(f, "podwall_conntrack_sweeps_total",
		       "Conntrack sweeps run (after changes and periodic).",
		       sweeps);
	metric_counter(
		f, "podwall_conntrack_entries_cut_total",
		"Conntrack entries of connections no longer allowed, deleted.",
		cut);
	metric_counter(f, "podwall_conntrack_sweep_errors_total",
		       "Sweeps that could not read the table, and entries that "
		       "could not be judged or deleted.",
		       errors);
	metric_histogram(f, "podwall_conntrack_sweep_seconds",
			 "Time of one conntrack sweep.", &h);
}
