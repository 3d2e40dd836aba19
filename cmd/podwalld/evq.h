/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The hand-over of source events to the agent's loop: sources call
 * evq_emit (any thread), which queues a deep copy and makes evq_fd()
 * readable; the loop takes the whole queue with evq_take.
 */
#ifndef PODWALLD_EVQ_H
#define PODWALLD_EVQ_H

#include <stdint.h>
#include "source.h"

struct evq_item {
	struct evq_item *next;
	enum src_event ev;
	struct src_object o; /* strings owned by the item */
	uint64_t t_ns; /* CLOCK_MONOTONIC when it was emitted */
};

/* NULL + errno on failure. */
struct evq *evq_new(void);
void evq_free(struct evq *q);
/* An eventfd, readable while items are queued. */
int evq_fd(const struct evq *q);
/* src_emit_fn; ctx is the struct evq. Out of memory drops the event
 * and counts it (evq_dropped): the agent then asks for a resync. */
void evq_emit(void *ctx, enum src_event ev, const struct src_object *o);
/* The queued items in emit order (caller frees with evq_item_free). */
struct evq_item *evq_take(struct evq *q);
void evq_item_free(struct evq_item *it);
unsigned long evq_dropped(const struct evq *q);

uint64_t mono_ns(void);
/* CPU time of the calling thread. */
uint64_t thread_cpu_ns(void);

#endif
