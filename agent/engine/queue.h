/*
 * The bounded queue between the backend reader and the workers. A fixed table of
 * slots (an event in flight lives in one from the moment it is queued until its worker
 * is done) and a fixed ring of ready slots. Never grows: when every slot is taken,
 * ward_queue_get fails and the reader answers the fallback verdict at once.
 *
 * Every slot carries an "answered" flag so that exactly one of {worker, deadline keeper,
 * shutdown} answers the kernel for it.
 */
#ifndef WARD_AGENT_QUEUE_H
#define WARD_AGENT_QUEUE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/backend.h"
#include "common/error.h"

typedef struct ward_slot {
	ward_event_t ev;
	uint64_t deadline_ns;   /* CLOCK_MONOTONIC: the keeper answers after this */
	atomic_bool answered;
	int state;              /* internal: free, queued, working (under the queue lock) */
	unsigned next_free;     /* internal */
} ward_slot_t;

typedef struct ward_queue ward_queue_t;

ward_err_t ward_queue_create(unsigned capacity, ward_queue_t **out, ward_error_t *err);
void ward_queue_destroy(ward_queue_t *q); /* NULL ok */

/* A free slot (answered = false), or NULL when all are in flight. Never blocks. */
ward_slot_t *ward_queue_get(ward_queue_t *q);
/* Queue a slot filled by the reader for the workers. */
void ward_queue_push(ward_queue_t *q, ward_slot_t *s);
/* Next queued slot; blocks until one exists. NULL once ward_queue_shutdown was called
 * and the ring is empty. */
ward_slot_t *ward_queue_pop(ward_queue_t *q);
/* Return a slot to the free list (the worker is done with it). */
void ward_queue_put(ward_queue_t *q, ward_slot_t *s);
/* Wake every worker; pops return NULL once the ring is drained. */
void ward_queue_shutdown(ward_queue_t *q);

/* True if this call is the one that answers s (atomic test-and-set). */
static inline bool ward_slot_claim(ward_slot_t *s)
{
	return !atomic_exchange(&s->answered, true);
}

/*
 * Call fn on every slot in flight (queued or being decided), under the queue lock so
 * no slot is freed meanwhile: fn must be short (the deadline keeper's check-and-answer).
 */
void ward_queue_foreach_inflight(ward_queue_t *q, void (*fn)(ward_slot_t *s, void *arg),
                                 void *arg);

/* Slots in flight now, and the most ever. */
unsigned ward_queue_depth(ward_queue_t *q);
unsigned ward_queue_high_water(ward_queue_t *q);
unsigned ward_queue_capacity(const ward_queue_t *q);

#endif
