/* Unit tests for agent/engine/queue.c: the bounded queue of events in flight. */
#include "tests/unit/testutil.h"

#include <pthread.h>

#include "agent/engine/queue.h"

static void test_bounded_fifo(void **state)
{
	ward_queue_t *q;
	ward_slot_t *s[4];
	(void)state;

	assert_int_equal(ward_queue_create(4, &q, NULL), WARD_OK);
	for (int i = 0; i < 4; i++) {
		s[i] = ward_queue_get(q);
		assert_non_null(s[i]);
		s[i]->ev.proc.pid = 100 + i;
		ward_queue_push(q, s[i]);
	}
	assert_null(ward_queue_get(q)); /* full: the reader answers the fallback */
	assert_int_equal(ward_queue_depth(q), 4);
	assert_int_equal(ward_queue_high_water(q), 4);
	for (int i = 0; i < 4; i++) {
		ward_slot_t *p = ward_queue_pop(q);
		assert_int_equal(p->ev.proc.pid, 100 + i);
	}
	/* Popped but not put: still in flight, still no free slot. */
	assert_null(ward_queue_get(q));
	ward_queue_put(q, s[2]);
	assert_ptr_equal(ward_queue_get(q), s[2]);
	assert_false(atomic_load(&s[2]->answered));
	ward_queue_destroy(q);
}

/* The keeper claims what is late, once, pinned; the worker's put waits for the unpin. */
static void test_claim_late_once(void **state)
{
	ward_queue_t *q;
	ward_late_t late[4];
	(void)state;

	assert_int_equal(ward_queue_create(8, &q, NULL), WARD_OK);
	ward_slot_t *a = ward_queue_get(q), *b = ward_queue_get(q);
	a->ev.deadline_ns = 100;
	b->ev.deadline_ns = 300;
	ward_queue_push(q, a);
	ward_queue_push(q, b);
	assert_ptr_equal(ward_queue_pop(q), a); /* a is being decided */
	assert_int_equal(ward_queue_next_deadline(q), 100);
	assert_int_equal(ward_queue_claim_late(q, 200, late, 4), 1);
	assert_ptr_equal(late[0].slot, a);
	assert_true(late[0].working);
	assert_false(ward_slot_claim(a));                         /* the worker lost */
	assert_int_equal(ward_queue_claim_late(q, 200, late, 4), 0); /* never twice */
	assert_int_equal(ward_queue_next_deadline(q), 300);
	assert_int_equal(ward_queue_claim_late(q, 400, late, 4), 1);
	assert_ptr_equal(late[0].slot, b);
	assert_false(late[0].working);                            /* still queued */
	ward_queue_unpin(q, a);
	ward_queue_put(q, a);                                     /* unpinned: returns */
	ward_queue_unpin(q, b);
	ward_queue_destroy(q);
}

/* One user's events hold at most its share of the workers; others are served. */
static void test_fair_share(void **state)
{
	ward_queue_t *q;
	ward_slot_t *s[4];
	(void)state;

	assert_int_equal(ward_queue_create(8, &q, NULL), WARD_OK);
	ward_queue_set_share(q, 1);
	for (int i = 0; i < 3; i++) {
		s[i] = ward_queue_get(q);
		s[i]->ev.proc.creds_ok = true;
		s[i]->ev.proc.uid = 1000;
		s[i]->ev.proc.pid = 10 + i;
		ward_queue_push(q, s[i]);
	}
	s[3] = ward_queue_get(q);
	s[3]->ev.proc.creds_ok = true;
	s[3]->ev.proc.uid = 2000;
	s[3]->ev.proc.pid = 99;
	ward_queue_push(q, s[3]);
	assert_int_equal(ward_queue_user_load(q, 1000), 3);
	assert_ptr_equal(ward_queue_pop(q), s[0]);  /* user 1000's share: one worker */
	assert_ptr_equal(ward_queue_pop(q), s[3]);  /* the next worker skips to user 2000 */
	ward_queue_put(q, s[0]);
	assert_ptr_equal(ward_queue_pop(q), s[1]);  /* 1000's worker freed: its next one */
	/* root is never limited */
	ward_slot_t *r1 = ward_queue_get(q), *r2 = ward_queue_get(q);
	r1->ev.proc.creds_ok = r2->ev.proc.creds_ok = true;
	r1->ev.proc.uid = r2->ev.proc.uid = 0;
	ward_queue_push(q, r1);
	ward_queue_push(q, r2);
	assert_ptr_equal(ward_queue_pop(q), r1);
	assert_ptr_equal(ward_queue_pop(q), r2);
	ward_queue_destroy(q);
}

static void *popper(void *arg)
{
	return ward_queue_pop(arg);
}

static void test_shutdown_wakes_workers(void **state)
{
	ward_queue_t *q;
	pthread_t t;
	void *ret = (void *)1;
	(void)state;

	assert_int_equal(ward_queue_create(2, &q, NULL), WARD_OK);
	assert_int_equal(pthread_create(&t, NULL, popper, q), 0);
	ward_queue_shutdown(q);
	pthread_join(t, &ret);
	assert_null(ret);
	assert_null(ward_queue_get(q));
	ward_queue_destroy(q);
}

static void test_capacity_limits(void **state)
{
	ward_queue_t *q;
	(void)state;

	assert_int_equal(ward_queue_create(0, &q, NULL), WARD_E_LIMIT);
	assert_int_equal(ward_queue_create(WARD_MAX_QUEUE + 1, &q, NULL), WARD_E_LIMIT);
	assert_null(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bounded_fifo),
		cmocka_unit_test(test_claim_late_once),
		cmocka_unit_test(test_fair_share),
		cmocka_unit_test(test_shutdown_wakes_workers),
		cmocka_unit_test(test_capacity_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
