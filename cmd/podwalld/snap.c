// SPDX-License-Identifier: Apache-2.0
/* The enforced cluster and its engine, shared by reference (snap.h). */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "snap.h"

struct snap {
	atomic_uint refs;
	struct pw_cluster *c;
	pthread_mutex_t lock; /* guards e while it is built */
	struct pw_engine *e; /* built on first use */
	uint64_t generation;
};

struct snap_slot {
	pthread_mutex_t lock;
	struct snap *cur;
};

struct snap *snap_new(struct pw_cluster *c, uint64_t generation)
{
	struct snap *s = calloc(1, sizeof(*s));

	if (!s) {
		pw_cluster_free(c);
		errno = ENOMEM;
		return NULL;
	}
	atomic_init(&s->refs, 1);
	pthread_mutex_init(&s->lock, NULL);
	s->c = c;
	s->generation = generation;
	return s;
}

struct snap *snap_get(struct snap *s)
{
	if (s)
		atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
	return s;
}

void snap_put(struct snap *s)
{
	/* acq_rel: the frees below see every reader's last access */
	if (!s ||
	    atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
		return;
	pw_engine_free(s->e);
	pw_cluster_free(s->c);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

const struct pw_cluster *snap_cluster(const struct snap *s)
{
	return s->c;
}

const struct pw_engine *snap_engine(struct snap *s)
{
	const struct pw_engine *e;

	pthread_mutex_lock(&s->lock);
	if (!s->e)
		s->e = pw_engine_new(s->c);
	e = s->e;
	pthread_mutex_unlock(&s->lock);
	return e;
}

uint64_t snap_generation(const struct snap *s)
{
	return s->generation;
}

struct snap_slot *snap_slot_new(void)
{
	struct snap_slot *sl = calloc(1, sizeof(*sl));

	if (sl)
		pthread_mutex_init(&sl->lock, NULL);
	return sl;
}

void snap_slot_free(struct snap_slot *sl)
{
	if (!sl)
		return;
	snap_put(sl->cur);
	pthread_mutex_destroy(&sl->lock);
	free(sl);
}

void snap_slot_publish(struct snap_slot *sl, struct snap *s)
{
	struct snap *old;

	pthread_mutex_lock(&sl->lock);
	old = sl->cur;
	sl->cur = s;
	pthread_mutex_unlock(&sl->lock);
	snap_put(old); /* outside the lock: it may free a whole engine */
}

struct snap *snap_slot_get(struct snap_slot *sl)
{
	struct snap *s;

	pthread_mutex_lock(&sl->lock);
	s = snap_get(sl->cur);
	pthread_mutex_unlock(&sl->lock);
	return s;
}
