/*
 * The BPF ground's handle without loading anything into the kernel (unit tests must
 * never change the machine; agent_ground.sh loads the real program, scoped): a
 * disabled or failed ground says so in status and warns with the sysctls; a bad
 * scope is refused, not ignored; the mode setter and destroy accept every state.
 */
#include "tests/unit/testutil.h"

#include "agent/backends/bpfground.h"

#include <string.h>

static void test_disabled_warns(void **state)
{
	ward_bpfground_opts_t o = { .disabled = true, .mode = WARD_MODE_LOCKDOWN };
	ward_bpfground_t *g = NULL;
	ward_error_t err = { 0 };
	json_t *j;
	(void)state;

	assert_int_equal(ward_bpfground_open(&o, &g, &err), WARD_OK);
	assert_non_null(g);
	assert_int_equal(ward_bpfground_state(g), WARD_GROUND_DISABLED);
	assert_string_equal(ward_bpfground_state_name(ward_bpfground_state(g)), "disabled");
	ward_bpfground_set_mode(g, WARD_MODE_MONITOR); /* no-op, no crash */
	assert_int_equal(ward_bpfground_start(g, &err), WARD_OK);
	j = ward_bpfground_status_json(g);
	assert_string_equal(json_string_value(json_object_get(j, "state")), "disabled");
	assert_true(json_is_null(json_object_get(j, "hook")));
	assert_non_null(strstr(json_string_value(json_object_get(j, "warning")), "vm.memfd_noexec=2"));
	assert_non_null(strstr(json_string_value(json_object_get(j, "warning")), "user.max_user_namespaces=0"));
	assert_string_equal(json_string_value(json_object_get(j, "scope_uids")), "all");
	json_decref(j);
	ward_bpfground_destroy(g);
}

static void test_too_many_scope_uids_refused(void **state)
{
	uint32_t uids[65];
	ward_bpfground_opts_t o = { .scope_uids = uids, .nscope = 65, .mode = WARD_MODE_LOCKDOWN };
	ward_bpfground_t *g = NULL;
	ward_error_t err = { 0 };
	json_t *j;
	(void)state;

	memset(uids, 0, sizeof(uids));
	assert_int_equal(ward_bpfground_open(&o, &g, &err), WARD_OK);
	assert_int_equal(ward_bpfground_state(g), WARD_GROUND_FAILED);
	assert_non_null(strstr(ward_bpfground_reason(g), "scope"));
	j = ward_bpfground_status_json(g);
	assert_string_equal(json_string_value(json_object_get(j, "state")), "failed");
	assert_true(json_is_string(json_object_get(j, "warning")));
	json_decref(j);
	ward_bpfground_destroy(g);
}

static void test_null_handle(void **state)
{
	json_t *j;
	(void)state;

	ward_bpfground_set_mode(NULL, WARD_MODE_LOCKDOWN);
	ward_bpfground_destroy(NULL);
	assert_int_equal(ward_bpfground_state(NULL), WARD_GROUND_DISABLED);
	j = ward_bpfground_status_json(NULL);
	assert_string_equal(json_string_value(json_object_get(j, "state")), "disabled");
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_disabled_warns),
		cmocka_unit_test(test_too_many_scope_uids_refused),
		cmocka_unit_test(test_null_handle),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
