/* Unit tests for agent/engine/metrics.c: counters and the latency histogram. */
#include "tests/unit/testutil.h"

#include "agent/engine/metrics.h"

static void test_buckets_contain_their_values(void **state)
{
	(void)state;
	unsigned prev = 0;
	for (uint64_t us = 0; us < 5000000; us = us < 64 ? us + 1 : us + us / 7) {
		unsigned b = ward_metrics_bucket(us);
		assert_true(b >= prev);             /* monotone */
		assert_true(us <= ward_metrics_bucket_upper(b));
		if (b > 0)
			assert_true(us > ward_metrics_bucket_upper(b - 1));
		/* an upper edge at most 12.5% above the value */
		assert_true((double)ward_metrics_bucket_upper(b) <= (double)us * 1.125 + 1);
		prev = b;
	}
	assert_int_equal(ward_metrics_bucket(UINT64_MAX), WARD_HIST_BUCKETS - 1);
}

static void test_quantiles(void **state)
{
	static ward_metrics_t m;
	(void)state;

	ward_metrics_init(&m);
	assert_int_equal(ward_metrics_quantile(&m, 0.5), 0);
	for (int i = 0; i < 990; i++)
		ward_metrics_latency(&m, 10);
	for (int i = 0; i < 10; i++)
		ward_metrics_latency(&m, 1000);
	ward_metrics_latency(&m, 50000);
	uint64_t p50 = ward_metrics_quantile(&m, 0.50), p99 = ward_metrics_quantile(&m, 0.99);
	assert_true(p50 >= 10 && p50 <= 11);
	/* 990 of 1001 (98.9%) are 10 us: the 99th percentile is among the 1000 us ones */
	assert_true(p99 >= 1000 && p99 <= 1125);
	uint64_t p999 = ward_metrics_quantile(&m, 0.999);
	assert_true(p999 >= 1000 && p999 <= 1125);
	assert_int_equal(ward_metrics_quantile(&m, 1.0), 50000); /* capped at the true max */
	assert_int_equal(atomic_load(&m.lat_max_us), 50000);
	assert_int_equal(atomic_load(&m.lat_count), 1001);
}

static void test_decision_counters(void **state)
{
	static ward_metrics_t m;
	ward_verdict_t v = { .decision = WARD_DENY, .reason = WARD_RSN_MODE };
	(void)state;

	ward_metrics_init(&m);
	ward_metrics_decision(&m, &v);
	ward_metrics_decision(&m, &v);
	v.decision = WARD_ALLOW;
	v.reason = WARD_RSN_DEADLINE;
	ward_metrics_decision(&m, &v);
	assert_int_equal(atomic_load(&m.decisions[1][WARD_RSN_MODE]), 2);
	assert_int_equal(atomic_load(&m.decisions[0][WARD_RSN_DEADLINE]), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buckets_contain_their_values),
		cmocka_unit_test(test_quantiles),
		cmocka_unit_test(test_decision_counters),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
