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
		s[i]->ev.pid = 100 + i;
		ward_queue_push(q, s[i]);
	}
	assert_null(ward_queue_get(q)); /* full: the reader answers the fallback */
	assert_int_equal(ward_queue_depth(q), 4);
	assert_int_equal(ward_queue_high_water(q), 4);
	for (int i = 0; i < 4; i++) {
		ward_slot_t *p = ward_queue_pop(q);
		assert_int_equal(p->ev.pid, 100 + i);
	}
	/* Popped but not put: still in flight, still no free slot. */
	assert_null(ward_queue_get(q));
	ward_queue_put(q, s[2]);
	assert_ptr_equal(ward_queue_get(q), s[2]);
	assert_false(atomic_load(&s[2]->answered));
	ward_queue_destroy(q);
}

static void count_slot(ward_slot_t *s, void *arg)
{
	(void)s;
	(*(int *)arg)++;
}

static void test_claim_once_and_inflight(void **state)
{
	ward_queue_t *q;
	int n = 0;
	(void)state;

	assert_int_equal(ward_queue_create(8, &q, NULL), WARD_OK);
	ward_slot_t *a = ward_queue_get(q), *b = ward_queue_get(q);
	ward_queue_push(q, a);
	(void)b; /* taken, not queued yet: still in flight */
	ward_queue_foreach_inflight(q, count_slot, &n);
	assert_int_equal(n, 2);
	assert_true(ward_slot_claim(a));
	assert_false(ward_slot_claim(a));
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
		cmocka_unit_test(test_claim_once_and_inflight),
		cmocka_unit_test(test_shutdown_wakes_workers),
		cmocka_unit_test(test_capacity_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
