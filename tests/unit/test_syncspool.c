/* Unit tests for agent/syncspool.c: which decisions are spooled and in what shape, the
 * bound (oldest dropped and counted), acknowledgement, persistence across reopen. */
#include "tests/unit/testutil.h"

#include <unistd.h>

#include "agent/syncspool.h"

#define fx tu_dir

static int setup(void **state)
{
	*state = tu_dir_new("spool", "spool.db");
	return 0;
}

#define teardown tu_dir_teardown

static ward_syncspool_t *open_ok(const char *path, uint64_t max)
{
	ward_syncspool_t *sp = NULL;
	ward_error_t err = { 0 };

	if (ward_syncspool_open(path, max, &sp, &err) != WARD_OK)
		fail_msg("open %s: %s", path, err.msg);
	return sp;
}

static void add_n(ward_syncspool_t *sp, int from, int n)
{
	for (int i = from; i < from + n; i++) {
		json_t *e = json_pack("{s:i}", "n", i);
		assert_int_equal(ward_syncspool_add(sp, e, NULL), WARD_OK);
		json_decref(e);
	}
}

/* The "n" of every event take returns, and their ids. */
static size_t take(ward_syncspool_t *sp, int64_t after, size_t max, int *ns, int64_t *ids)
{
	json_t *a = NULL, *e;
	size_t i;

	assert_int_equal(ward_syncspool_take(sp, after, max, 1u << 20, &a, NULL), WARD_OK);
	json_array_foreach(a, i, e) {
		ns[i] = (int)json_integer_value(json_object_get(json_object_get(e, "event"), "n"));
		ids[i] = json_integer_value(json_object_get(e, "id"));
	}
	i = json_array_size(a);
	json_decref(a);
	return i;
}

static void test_bound_ack_persist(void **state)
{
	struct fx *f = *state;
	ward_syncspool_t *sp = open_ok(f->path, 5);
	ward_syncspool_stats_t st;
	int ns[16];
	int64_t ids[16];
	size_t n, removed;

	add_n(sp, 0, 8); /* 0..7: 0, 1, 2 dropped */
	ward_syncspool_stats(sp, &st);
	assert_int_equal(st.depth, 5);
	assert_int_equal(st.dropped, 3);
	assert_int_equal(st.spooled, 8);
	n = take(sp, 0, 2, ns, ids);
	assert_int_equal(n, 2);
	assert_int_equal(ns[0], 3);
	assert_int_equal(ns[1], 4);
	/* take does not remove; after pages on */
	n = take(sp, ids[1], 10, ns, ids);
	assert_int_equal(n, 3);
	assert_int_equal(ns[0], 5);
	/* ack two of them, and an id that is not there */
	int64_t ack[3] = { ids[0], ids[1], 999999 };
	assert_int_equal(ward_syncspool_ack(sp, ack, 3, &removed, NULL), WARD_OK);
	assert_int_equal(removed, 2);
	ward_syncspool_close(sp);

	/* reopened: the same events and counters */
	sp = open_ok(f->path, 5);
	ward_syncspool_stats(sp, &st);
	assert_int_equal(st.depth, 3);
	assert_int_equal(st.uploaded, 2);
	assert_int_equal(st.dropped, 3);
	n = take(sp, 0, 10, ns, ids);
	assert_int_equal(n, 3);
	assert_int_equal(ns[0], 3);
	assert_int_equal(ns[1], 4);
	assert_int_equal(ns[2], 7);
	ward_syncspool_close(sp);
}

static void test_take_byte_bound(void **state)
{
	struct fx *f = *state;
	ward_syncspool_t *sp = open_ok(f->path, 100);
	json_t *a = NULL;

	add_n(sp, 0, 50);
	/* a tiny byte budget still returns one event (progress), never more than fits */
	assert_int_equal(ward_syncspool_take(sp, 0, 50, 1, &a, NULL), WARD_OK);
	assert_int_equal(json_array_size(a), 1);
	json_decref(a);
	ward_syncspool_close(sp);
}

static void test_wanted_and_shape(void **state)
{
	ward_evrec_t r;
	json_t *e;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.kind = WARD_EV_EXEC;
	r.when.tv_sec = 1700000000;
	r.proc.pid = 42;
	r.pinfo.ok = true;
	r.pinfo.ppid = 1;
	r.pinfo.uid = 0;
	snprintf(r.path, sizeof(r.path), "/opt/app/bin/tool");
	r.v.decision = WARD_ALLOW;
	r.v.reason = WARD_RSN_RULE;
	assert_false(ward_syncspool_wanted(&r)); /* allowed by a rule: not uploaded */
	r.v.reason = WARD_RSN_TRUSTED;
	assert_false(ward_syncspool_wanted(&r));
	r.v.reason = WARD_RSN_MODE;
	assert_true(ward_syncspool_wanted(&r)); /* ALLOW_UNKNOWN */
	r.v.decision = WARD_DENY;
	r.v.reason = WARD_RSN_RULE;
	r.v.has_rule = true;
	r.v.rule_type = WARD_RT_TEAMID;
	r.v.has_sha256 = true;
	memset(r.v.sha256, 0xab, sizeof(r.v.sha256));
	snprintf(r.team_id, sizeof(r.team_id), "EQHXZ8M8AV");
	assert_true(ward_syncspool_wanted(&r));
	assert_non_null(e = ward_syncspool_event_json(&r));
	assert_string_equal(json_string_value(json_object_get(e, "decision")), "BLOCK_TEAMID");
	assert_string_equal(json_string_value(json_object_get(e, "file_path")), "/opt/app/bin");
	assert_string_equal(json_string_value(json_object_get(e, "file_name")), "tool");
	assert_string_equal(json_string_value(json_object_get(e, "team_id")), "EQHXZ8M8AV");
	assert_string_equal(json_string_value(json_object_get(e, "executing_user")), "root");
	assert_int_equal(strlen(json_string_value(json_object_get(e, "file_sha256"))), 64);
	assert_int_equal(json_integer_value(json_object_get(e, "pid")), 42);
	assert_int_equal(json_integer_value(json_object_get(e, "ppid")), 1);
	assert_true(json_real_value(json_object_get(e, "execution_time")) == 1700000000.0);
	json_decref(e);
	r.v.reason = WARD_RSN_MODE;
	r.v.has_rule = false;
	assert_non_null(e = ward_syncspool_event_json(&r));
	assert_string_equal(json_string_value(json_object_get(e, "decision")), "BLOCK_UNKNOWN");
	json_decref(e);
	/* the process exited before its details were read: the user the event was decided
	 * with, no ppid */
	r.pinfo.ok = false;
	r.proc.creds_ok = true;
	r.proc.uid = 0;
	assert_non_null(e = ward_syncspool_event_json(&r));
	assert_string_equal(json_string_value(json_object_get(e, "executing_user")), "root");
	assert_null(json_object_get(e, "ppid"));
	json_decref(e);
	r.kind = WARD_EV_OPEN;
	assert_false(ward_syncspool_wanted(&r));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_bound_ack_persist, setup, teardown),
		cmocka_unit_test_setup_teardown(test_take_byte_bound, setup, teardown),
		cmocka_unit_test(test_wanted_and_shape),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
