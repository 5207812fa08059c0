/* Unit tests for agent/engine/cache.c: the bounded user-space verdict cache. */
#include "tests/unit/testutil.h"

#include "agent/engine/cache.h"

static ward_filekey_t key(uint64_t ino, int64_t ctime_nsec, uint64_t size)
{
	ward_filekey_t k = { .dev = 42, .ino = ino, .ctime_sec = 1000, .ctime_nsec = ctime_nsec, .size = size };
	return k;
}

static ward_verdict_t verdict(ward_decision_t d)
{
	ward_verdict_t v = { .decision = d, .reason = WARD_RSN_RULE, .cacheable = true };
	return v;
}

static void test_hit_miss_and_key_change(void **state)
{
	ward_cache_t *c;
	ward_cache_stats_t s;
	ward_verdict_t v = verdict(WARD_ALLOW), out;
	ward_filekey_t k = key(7, 1, 100);
	(void)state;

	assert_int_equal(ward_cache_create(64, 1000, &c, NULL), WARD_OK);
	assert_false(ward_cache_lookup(c, &k, 0, &out));
	ward_cache_insert(c, &k, &v, 0);
	assert_true(ward_cache_lookup(c, &k, 0, &out));
	assert_int_equal(out.decision, WARD_ALLOW);
	assert_true(out.cached);
	/* Same inode, new ctime (a write) or new size (truncate): a miss. */
	ward_filekey_t k2 = key(7, 2, 100), k3 = key(7, 1, 99);
	assert_false(ward_cache_lookup(c, &k2, 0, &out));
	assert_false(ward_cache_lookup(c, &k3, 0, &out));
	/* Inserting the new key replaces the stale entry of the same inode. */
	ward_cache_insert(c, &k2, &v, 0);
	assert_false(ward_cache_lookup(c, &k, 0, &out));
	ward_cache_stats(c, &s);
	assert_int_equal(s.entries, 1);
	assert_int_equal(s.hits, 1);
	assert_int_equal(s.misses, 4);
	ward_cache_destroy(c);
}

static void test_deny_expires_allow_does_not(void **state)
{
	ward_cache_t *c;
	ward_verdict_t a = verdict(WARD_ALLOW), d = verdict(WARD_DENY), out;
	ward_filekey_t ka = key(1, 0, 1), kd = key(2, 0, 1);
	ward_cache_stats_t s;
	(void)state;

	assert_int_equal(ward_cache_create(64, 5000, &c, NULL), WARD_OK);
	ward_cache_insert(c, &ka, &a, 100);
	ward_cache_insert(c, &kd, &d, 100);
	assert_true(ward_cache_lookup(c, &kd, 5099, &out));
	assert_false(ward_cache_lookup(c, &kd, 5100, &out));
	assert_true(ward_cache_lookup(c, &ka, 1000000000, &out));
	ward_cache_stats(c, &s);
	assert_int_equal(s.expired, 1);
	assert_int_equal(s.entries, 1);
	ward_cache_destroy(c);
}

static void test_bounded_with_evictions(void **state)
{
	ward_cache_t *c;
	ward_cache_stats_t s;
	ward_verdict_t v = verdict(WARD_ALLOW), out;
	(void)state;

	assert_int_equal(ward_cache_create(16, 1000, &c, NULL), WARD_OK);
	for (uint64_t i = 0; i < 10000; i++) {
		ward_filekey_t k = key(i, 0, 1);
		ward_cache_insert(c, &k, &v, 0);
	}
	ward_cache_stats(c, &s);
	assert_int_equal(s.capacity, 16);
	assert_true(s.entries <= 16);
	assert_int_equal(s.inserts, 10000);
	assert_int_equal(s.evictions, 10000 - s.entries);
	assert_int_equal(s.bytes, s.capacity * (s.bytes / s.capacity));
	/* The most recent insert is still there. */
	ward_filekey_t last = key(9999, 0, 1);
	assert_true(ward_cache_lookup(c, &last, 0, &out));
	ward_cache_destroy(c);
}

static void test_lru_keeps_the_used_entry(void **state)
{
	ward_cache_t *c;
	ward_verdict_t v = verdict(WARD_ALLOW), out;
	(void)state;

	/* 4 entries = one 4-way set: every key shares it. */
	assert_int_equal(ward_cache_create(4, 1000, &c, NULL), WARD_OK);
	for (uint64_t i = 0; i < 4; i++) {
		ward_filekey_t k = key(i, 0, 1);
		ward_cache_insert(c, &k, &v, 0);
	}
	ward_filekey_t k0 = key(0, 0, 1), k1 = key(1, 0, 1), k4 = key(4, 0, 1);
	assert_true(ward_cache_lookup(c, &k0, 0, &out)); /* 0 is now most recent */
	ward_cache_insert(c, &k4, &v, 0);                /* evicts 1, the least recent */
	assert_true(ward_cache_lookup(c, &k0, 0, &out));
	assert_false(ward_cache_lookup(c, &k1, 0, &out));
	assert_true(ward_cache_lookup(c, &k4, 0, &out));
	ward_cache_destroy(c);
}

static void test_flush_and_uncacheable(void **state)
{
	ward_cache_t *c;
	ward_cache_stats_t s;
	ward_verdict_t v = verdict(WARD_ALLOW), nc = verdict(WARD_ALLOW), out;
	ward_filekey_t k = key(5, 0, 1), k2 = key(6, 0, 1);
	(void)state;

	nc.cacheable = false;
	assert_int_equal(ward_cache_create(64, 1000, &c, NULL), WARD_OK);
	ward_cache_insert(c, &k2, &nc, 0);
	assert_false(ward_cache_lookup(c, &k2, 0, &out));
	ward_cache_insert(c, &k, &v, 0);
	ward_cache_flush(c);
	assert_false(ward_cache_lookup(c, &k, 0, &out));
	ward_cache_stats(c, &s);
	assert_int_equal(s.entries, 0);
	assert_int_equal(s.flushes, 1);
	ward_cache_destroy(c);
	assert_int_equal(ward_cache_create((size_t)1 << 30, 1000, &c, NULL), WARD_E_LIMIT);
	assert_null(c);
	ward_cache_destroy(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hit_miss_and_key_change),
		cmocka_unit_test(test_deny_expires_allow_does_not),
		cmocka_unit_test(test_bounded_with_evictions),
		cmocka_unit_test(test_lru_keeps_the_used_entry),
		cmocka_unit_test(test_flush_and_uncacheable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
