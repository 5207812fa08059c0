/*
 * The bounded queue between the backend reader and the workers. A fixed table of
 * slots (an event in flight lives in one from the moment it is queued until its worker
 * is done) and a fixed list of ready slots. Never grows: when every slot is taken,
 * ward_queue_get fails and the reader answers the fallback verdict at once.
 *
 * Fair to users: a worker takes the oldest queued event whose user (the subject's uid)
 * holds fewer than its share of the workers (ward_queue_set_share; root and events of
 * unknown users are never limited), so one user's storm of slow decisions cannot keep
 * anyone else's events waiting past their deadline.
 *
 * Every slot carries an "answered" flag so that exactly one of {worker, deadline keeper}
 * answers the kernel for it, and a pin count: the keeper pins a slot it answers (outside
 * the queue lock) so that its worker cannot give the event back (closing its fd) under
 * the keeper's write.
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
	atomic_bool answered;
	int state;              /* internal: free, queued, working (under the queue lock) */
	unsigned pins;          /* internal: keeper answers in progress (under the lock) */
	unsigned next;          /* internal: free list / ready list link */
} ward_slot_t;

typedef struct ward_queue ward_queue_t;

ward_err_t ward_queue_create(unsigned capacity, ward_queue_t **out, ward_error_t *err);
void ward_queue_destroy(ward_queue_t *q); /* NULL ok */

/* At most share workers for one non-root user at once (0: no limit; the default). */
void ward_queue_set_share(ward_queue_t *q, unsigned share);

/* A free slot (answered = false), or NULL when all are in flight. Never blocks. */
ward_slot_t *ward_queue_get(ward_queue_t *q);
/* Queue a slot filled by the reader for the workers. */
void ward_queue_push(ward_queue_t *q, ward_slot_t *s);
/* The oldest queued slot whose user is under its share; blocks until one exists. NULL
 * once ward_queue_shutdown was called and nothing eligible is queued. */
ward_slot_t *ward_queue_pop(ward_queue_t *q);
/* Return a slot to the free list (the worker is done with it). Waits while the keeper
 * has it pinned. */
void ward_queue_put(ward_queue_t *q, ward_slot_t *s);
/* Wake every worker; pops return NULL once the queue is drained. */
void ward_queue_shutdown(ward_queue_t *q);

/* True if this call is the one that answers s (atomic test-and-set). */
static inline bool ward_slot_claim(ward_slot_t *s)
{
	return !atomic_exchange(&s->answered, true);
}

/* A slot the keeper claimed: answer it, then ward_queue_unpin. */
typedef struct ward_late {
	ward_slot_t *slot;
	bool working;      /* a worker was deciding it (the file took the time) */
	bool user_busy;    /* its user had other events in flight (the user's own load) */
} ward_late_t;

/*
 * Claim and pin up to max in-flight slots whose deadline (ev.deadline_ns) is at or before
 * now_ns and that nobody answered yet. Short, under the queue lock; the caller answers
 * them without it, then unpins each. Returns how many.
 */
size_t ward_queue_claim_late(ward_queue_t *q, uint64_t now_ns, ward_late_t *out, size_t max);
void ward_queue_unpin(ward_queue_t *q, ward_slot_t *s);

/* The earliest deadline among unanswered slots in flight (0: none). */
uint64_t ward_queue_next_deadline(ward_queue_t *q);

/* Events of uid in flight now (queued or being decided). */
unsigned ward_queue_user_load(ward_queue_t *q, uid_t uid);

/* Slots in flight now, and the most ever. */
unsigned ward_queue_depth(ward_queue_t *q);
unsigned ward_queue_high_water(ward_queue_t *q);
unsigned ward_queue_capacity(const ward_queue_t *q);

#endif
