// SPDX-License-Identifier: Apache-2.0
/* Thread-safe queue of source events with an eventfd wake-up. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "evq.h"

struct evq {
	pthread_mutex_t lock;
	struct evq_item *head, **tail;
	int fd;
	unsigned long dropped;
};

uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct evq *evq_new(void)
{
	struct evq *q = calloc(1, sizeof(*q));

	if (!q)
		return NULL;
	q->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (q->fd < 0) {
		free(q);
		return NULL;
	}
	pthread_mutex_init(&q->lock, NULL);
	q->tail = &q->head;
	return q;
}

void evq_item_free(struct evq_item *it)
{
	while (it) {
		struct evq_item *next = it->next;

		free((char *)it->o.kind);
		free((char *)it->o.ns);
		free((char *)it->o.name);
		free((char *)it->o.text);
		free((char *)it->o.origin);
		free(it);
		it = next;
	}
}

void evq_free(struct evq *q)
{
	if (!q)
		return;
	evq_item_free(q->head);
	close(q->fd);
	pthread_mutex_destroy(&q->lock);
	free(q);
}

int evq_fd(const struct evq *q)
{
	return q->fd;
}

static char *dup_or_empty(const char *s)
{
	return strdup(s ? s : "");
}

static struct evq_item *item_copy(enum src_event ev, const struct src_object *o)
{
	struct evq_item *it = calloc(1, sizeof(*it));

	if (!it)
		return NULL;
	it->ev = ev;
	it->t_ns = mono_ns();
	it->o.kind = dup_or_empty(o->kind);
	it->o.ns = dup_or_empty(o->ns);
	it->o.name = dup_or_empty(o->name);
	it->o.origin = dup_or_empty(o->origin);
	if (o->text) {
		char *t = malloc(o->len + 1);

		if (t) {
			memcpy(t, o->text, o->len);
			t[o->len] = '\0';
		}
		it->o.text = t;
		it->o.len = o->len;
	}
	if (!it->o.kind || !it->o.ns || !it->o.name || !it->o.origin ||
	    (o->text && !it->o.text)) {
		evq_item_free(it);
		return NULL;
	}
	return it;
}

void evq_emit(void *ctx, enum src_event ev, const struct src_object *o)
{
	struct evq *q = ctx;
	struct evq_item *it = item_copy(ev, o);
	uint64_t one = 1;

	pthread_mutex_lock(&q->lock);
	if (it) {
		*q->tail = it;
		q->tail = &it->next;
	} else {
		__atomic_fetch_add(&q->dropped, 1, __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&q->lock);
	if (write(q->fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return; /* the counter is full: the loop is awake anyway */
}

struct evq_item *evq_take(struct evq *q)
{
	struct evq_item *all;
	uint64_t n;

	if (read(q->fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		n = 0;
	pthread_mutex_lock(&q->lock);
	all = q->head;
	q->head = NULL;
	q->tail = &q->head;
	pthread_mutex_unlock(&q->lock);
	return all;
}

unsigned long evq_dropped(const struct evq *q)
{
	return __atomic_load_n(&q->dropped, __ATOMIC_RELAXED);
}
