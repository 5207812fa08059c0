/*
 * The bounded queue: a slot table with an intrusive free list, and a ring of slot
 * indices for the workers. One mutex and one condition variable; every operation is
 * O(1) except the keeper's scan, which is O(capacity) and runs a few times a second.
 */
#include "agent/engine/queue.h"

#include <pthread.h>
#include <stdlib.h>

enum { SLOT_FREE = 0, SLOT_QUEUED, SLOT_WORKING };
#define NONE ((unsigned)-1)

struct ward_queue {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned cap;
	ward_slot_t *slots;
	unsigned free_head;
	unsigned *ring;          /* cap entries: indices of queued slots */
	unsigned head, count;    /* ring */
	unsigned inflight, high_water;
	bool shutdown;
};

ward_err_t ward_queue_create(unsigned capacity, ward_queue_t **out, ward_error_t *err)
{
	ward_queue_t *q;

	*out = NULL;
	if (capacity == 0 || capacity > WARD_MAX_QUEUE)
		return ward_error_set(err, WARD_E_LIMIT, "queue: capacity %u not in [1, %u]",
		                      capacity, WARD_MAX_QUEUE);
	if ((q = calloc(1, sizeof(*q))) == NULL ||
	    (q->slots = calloc(capacity, sizeof(*q->slots))) == NULL ||
	    (q->ring = calloc(capacity, sizeof(*q->ring))) == NULL) {
		if (q)
			free(q->slots);
		free(q);
		return ward_error_set(err, WARD_E_NOMEM, "queue: out of memory");
	}
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv, NULL);
	q->cap = capacity;
	for (unsigned i = 0; i < capacity; i++)
		q->slots[i].next_free = i + 1 < capacity ? i + 1 : NONE;
	q->free_head = 0;
	*out = q;
	return WARD_OK;
}

void ward_queue_destroy(ward_queue_t *q)
{
	if (q == NULL)
		return;
	pthread_cond_destroy(&q->cv);
	pthread_mutex_destroy(&q->mu);
	free(q->ring);
	free(q->slots);
	free(q);
}

ward_slot_t *ward_queue_get(ward_queue_t *q)
{
	ward_slot_t *s = NULL;

	pthread_mutex_lock(&q->mu);
	if (q->free_head != NONE && !q->shutdown) {
		s = &q->slots[q->free_head];
		q->free_head = s->next_free;
		s->state = SLOT_QUEUED;
		atomic_store(&s->answered, false);
		if (++q->inflight > q->high_water)
			q->high_water = q->inflight;
	}
	pthread_mutex_unlock(&q->mu);
	return s;
}

void ward_queue_push(ward_queue_t *q, ward_slot_t *s)
{
	pthread_mutex_lock(&q->mu);
	/* count < cap always: a slot is queued at most once and there are cap slots. */
	q->ring[(q->head + q->count) % q->cap] = (unsigned)(s - q->slots);
	q->count++;
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

ward_slot_t *ward_queue_pop(ward_queue_t *q)
{
	ward_slot_t *s = NULL;

	pthread_mutex_lock(&q->mu);
	while (q->count == 0 && !q->shutdown)
		pthread_cond_wait(&q->cv, &q->mu);
	if (q->count > 0) {
		s = &q->slots[q->ring[q->head]];
		q->head = (q->head + 1) % q->cap;
		q->count--;
		s->state = SLOT_WORKING;
	}
	pthread_mutex_unlock(&q->mu);
	return s;
}

void ward_queue_put(ward_queue_t *q, ward_slot_t *s)
{
	pthread_mutex_lock(&q->mu);
	s->state = SLOT_FREE;
	s->next_free = q->free_head;
	q->free_head = (unsigned)(s - q->slots);
	q->inflight--;
	pthread_mutex_unlock(&q->mu);
}

void ward_queue_shutdown(ward_queue_t *q)
{
	pthread_mutex_lock(&q->mu);
	q->shutdown = true;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

void ward_queue_foreach_inflight(ward_queue_t *q, void (*fn)(ward_slot_t *s, void *arg),
                                 void *arg)
{
	pthread_mutex_lock(&q->mu);
	for (unsigned i = 0; i < q->cap; i++)
		if (q->slots[i].state != SLOT_FREE)
			fn(&q->slots[i], arg);
	pthread_mutex_unlock(&q->mu);
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
