/*
 * The bounded queue: a slot table with an intrusive free list and an intrusive FIFO of
 * ready slots. One mutex and two condition variables. Every operation is O(1) except a
 * pop that skips users over their share and the keeper's scan, both O(capacity).
 */
#include "agent/engine/queue.h"

#include <pthread.h>
#include <stdlib.h>

#include "common/limits.h"

enum { SLOT_FREE = 0, SLOT_QUEUED, SLOT_WORKING };
#define NONE ((unsigned)-1)

struct ward_queue {
	pthread_mutex_t mu;
	pthread_cond_t cv;       /* workers: something may be eligible */
	pthread_cond_t unpin_cv; /* put: a pin was dropped */
	unsigned cap;
	ward_slot_t *slots;
	unsigned free_head;
	unsigned ready_head, ready_tail, nready;
	unsigned inflight, high_water;
	unsigned share;
	bool shutdown;
	/* The slots being decided (at most one per worker, so a short list). */
	unsigned working[WARD_MAX_WORKERS * 4];
	unsigned nworking;
};

ward_err_t ward_queue_create(unsigned capacity, ward_queue_t **out, ward_error_t *err)
{
	ward_queue_t *q;

	*out = NULL;
	if (capacity == 0 || capacity > WARD_MAX_QUEUE)
		return ward_error_set(err, WARD_E_LIMIT, "queue: capacity %u not in [1, %u]",
		                      capacity, WARD_MAX_QUEUE);
	if ((q = calloc(1, sizeof(*q))) == NULL ||
	    (q->slots = calloc(capacity, sizeof(*q->slots))) == NULL) {
		free(q);
		return ward_error_set(err, WARD_E_NOMEM, "queue: out of memory");
	}
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv, NULL);
	pthread_cond_init(&q->unpin_cv, NULL);
	q->cap = capacity;
	for (unsigned i = 0; i < capacity; i++)
		q->slots[i].next = i + 1 < capacity ? i + 1 : NONE;
	q->free_head = 0;
	q->ready_head = q->ready_tail = NONE;
	*out = q;
	return WARD_OK;
}

void ward_queue_destroy(ward_queue_t *q)
{
	if (q == NULL)
		return;
	pthread_cond_destroy(&q->unpin_cv);
	pthread_cond_destroy(&q->cv);
	pthread_mutex_destroy(&q->mu);
	free(q->slots);
	free(q);
}

void ward_queue_set_share(ward_queue_t *q, unsigned share)
{
	pthread_mutex_lock(&q->mu);
	q->share = share;
	pthread_mutex_unlock(&q->mu);
}

ward_slot_t *ward_queue_get(ward_queue_t *q)
{
	ward_slot_t *s = NULL;

	pthread_mutex_lock(&q->mu);
	if (q->free_head != NONE && !q->shutdown) {
		s = &q->slots[q->free_head];
		q->free_head = s->next;
		s->state = SLOT_QUEUED;
		s->pins = 0;
		s->next = NONE;
		atomic_store(&s->answered, false);
		if (++q->inflight > q->high_water)
			q->high_water = q->inflight;
	}
	pthread_mutex_unlock(&q->mu);
	return s;
}

void ward_queue_push(ward_queue_t *q, ward_slot_t *s)
{
	unsigned i = (unsigned)(s - q->slots);

	pthread_mutex_lock(&q->mu);
	s->next = NONE;
	if (q->ready_tail == NONE)
		q->ready_head = i;
	else
		q->slots[q->ready_tail].next = i;
	q->ready_tail = i;
	q->nready++;
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

/* Caller holds mu. Workers busy with uid's events. */
static unsigned working_for(const ward_queue_t *q, uid_t uid)
{
	unsigned n = 0;

	for (unsigned i = 0; i < q->nworking; i++) {
		const ward_slot_t *s = &q->slots[q->working[i]];
		if (s->ev.proc.creds_ok && s->ev.proc.uid == uid)
			n++;
	}
	return n;
}

static bool limited(const ward_queue_t *q, const ward_slot_t *s)
{
	return q->share != 0 && s->ev.proc.creds_ok && s->ev.proc.uid != 0 &&
	       working_for(q, s->ev.proc.uid) >= q->share;
}

ward_slot_t *ward_queue_pop(ward_queue_t *q)
{
	ward_slot_t *s = NULL;

	pthread_mutex_lock(&q->mu);
	for (;;) {
		unsigned prev = NONE;
		for (unsigned i = q->ready_head; i != NONE; prev = i, i = q->slots[i].next) {
			if (limited(q, &q->slots[i]))
				continue;
			s = &q->slots[i];
			if (prev == NONE)
				q->ready_head = s->next;
			else
				q->slots[prev].next = s->next;
			if (q->ready_tail == i)
				q->ready_tail = prev;
			q->nready--;
			s->next = NONE;
			s->state = SLOT_WORKING;
			if (q->nworking < sizeof(q->working) / sizeof(q->working[0]))
				q->working[q->nworking++] = i;
			break;
		}
		if (s != NULL || (q->shutdown && q->nready == 0))
			break;
		if (q->shutdown) {
			/* Only over-share events left: nobody else will take them. */
			q->share = 0;
			continue;
		}
		pthread_cond_wait(&q->cv, &q->mu);
	}
	pthread_mutex_unlock(&q->mu);
	return s;
}

void ward_queue_put(ward_queue_t *q, ward_slot_t *s)
{
	pthread_mutex_lock(&q->mu);
	while (s->pins > 0)
		pthread_cond_wait(&q->unpin_cv, &q->mu);
	for (unsigned i = 0; i < q->nworking; i++)
		if (q->working[i] == (unsigned)(s - q->slots)) {
			q->working[i] = q->working[--q->nworking];
			break;
		}
	s->state = SLOT_FREE;
	s->next = q->free_head;
	q->free_head = (unsigned)(s - q->slots);
	q->inflight--;
	/* A user's share may have freed up: let every waiting worker look again. */
	if (q->nready > 0)
		pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

void ward_queue_shutdown(ward_queue_t *q)
{
	pthread_mutex_lock(&q->mu);
	q->shutdown = true;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

/* Caller holds mu. */
static unsigned load_locked(const ward_queue_t *q, uid_t uid)
{
	unsigned n = 0;

	for (unsigned i = 0; i < q->cap; i++)
		if (q->slots[i].state != SLOT_FREE && q->slots[i].ev.proc.creds_ok &&
		    q->slots[i].ev.proc.uid == uid)
			n++;
	return n;
}

size_t ward_queue_claim_late(ward_queue_t *q, uint64_t now_ns, ward_late_t *out, size_t max)
{
	size_t n = 0;

	pthread_mutex_lock(&q->mu);
	for (unsigned i = 0; i < q->cap && n < max; i++) {
		ward_slot_t *s = &q->slots[i];
		if (s->state == SLOT_FREE || atomic_load(&s->answered) || now_ns < s->ev.deadline_ns ||
		    !ward_slot_claim(s))
			continue;
		s->pins++;
		out[n].slot = s;
		out[n].working = s->state == SLOT_WORKING;
		out[n].user_busy = s->ev.proc.creds_ok && load_locked(q, s->ev.proc.uid) > 1;
		n++;
	}
	pthread_mutex_unlock(&q->mu);
	return n;
}

void ward_queue_unpin(ward_queue_t *q, ward_slot_t *s)
{
	pthread_mutex_lock(&q->mu);
	if (s->pins > 0 && --s->pins == 0)
		pthread_cond_broadcast(&q->unpin_cv);
	pthread_mutex_unlock(&q->mu);
}

uint64_t ward_queue_next_deadline(ward_queue_t *q)
{
	uint64_t next = 0;

	pthread_mutex_lock(&q->mu);
	for (unsigned i = 0; i < q->cap; i++) {
		const ward_slot_t *s = &q->slots[i];
		if (s->state != SLOT_FREE && !atomic_load(&s->answered) &&
		    (next == 0 || s->ev.deadline_ns < next))
			next = s->ev.deadline_ns;
	}
	pthread_mutex_unlock(&q->mu);
	return next;
}

unsigned ward_queue_user_load(ward_queue_t *q, uid_t uid)
{
	unsigned n;

	pthread_mutex_lock(&q->mu);
	n = load_locked(q, uid);
	pthread_mutex_unlock(&q->mu);
	return n;
}

unsigned ward_queue_depth(ward_queue_t *q)
{
	unsigned n;

	pthread_mutex_lock(&q->mu);
	n = q->inflight;
	pthread_mutex_unlock(&q->mu);
	return n;
}

unsigned ward_queue_high_water(ward_queue_t *q)
{
	unsigned n;

	pthread_mutex_lock(&q->mu);
	n = q->high_water;
	pthread_mutex_unlock(&q->mu);
	return n;
}

unsigned ward_queue_capacity(const ward_queue_t *q)
{
	return q->cap;
}
