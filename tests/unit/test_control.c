/* Unit tests for agent/control.c: request framing, dispatch and privileges. */
#include "tests/unit/testutil.h"

#include <unistd.h>

#include "agent/control.h"
#include "common/limits.h"

static int calls;

static json_t *h_echo(void *ctx, const ward_ctl_peer_t *peer, json_t *req, ward_error_t *err)
{
	(void)ctx;
	(void)err;
	calls++;
	return json_pack("{s:i, s:O?}", "uid", (int)peer->uid, "arg", json_object_get(req, "arg"));
}

static json_t *h_fail(void *ctx, const ward_ctl_peer_t *peer, json_t *req, ward_error_t *err)
{
	(void)ctx;
	(void)peer;
	(void)req;
	calls++;
	ward_error_set(err, WARD_E_NOTFOUND, "no such rule");
	return NULL;
}

static const ward_ctl_command_t cmds[] = {
	{ "echo", WARD_CTL_ANY, h_echo, "" },
	{ "admin", WARD_CTL_ADMIN, h_echo, "" },
	{ "fail", WARD_CTL_ANY, h_fail, "" },
};

static json_t *run(const ward_ctl_peer_t *peer, const char *line)
{
	char *out = ward_ctl_handle_line(cmds, 3, NULL, peer, line, strlen(line));
	json_t *j;

	assert_non_null(out);
	assert_null(strchr(out, '\n'));
	j = json_loads(out, 0, NULL);
	assert_non_null(j);
	free(out);
	return j;
}

static void expect_error(const ward_ctl_peer_t *peer, const char *line, const char *code)
{
	json_t *j = run(peer, line);
	assert_true(json_is_false(json_object_get(j, "ok")));
	assert_string_equal(json_string_value(json_object_get(j, "code")), code);
	assert_non_null(json_string_value(json_object_get(j, "error")));
	json_decref(j);
}

static void test_dispatch_and_id(void **state)
{
	ward_ctl_peer_t user = { .uid = 1000 };
	json_t *j;
	(void)state;

	calls = 0;
	j = run(&user, "{\"cmd\":\"echo\",\"arg\":[1,2],\"id\":\"x7\"}\r");
	assert_true(json_is_true(json_object_get(j, "ok")));
	assert_int_equal(json_integer_value(json_object_get(j, "uid")), 1000);
	assert_string_equal(json_string_value(json_object_get(j, "id")), "x7");
	assert_int_equal(json_array_size(json_object_get(j, "arg")), 2);
	json_decref(j);
	expect_error(&user, "{\"cmd\":\"fail\"}", "not found");
	assert_int_equal(calls, 2);
}

static void test_privilege_from_the_peer_not_the_request(void **state)
{
	ward_ctl_peer_t user = { .uid = 1000 }, root = { .uid = 0, .admin = true };
	json_t *j;
	(void)state;

	calls = 0;
	expect_error(&user, "{\"cmd\":\"admin\"}", "permission denied");
	expect_error(&user, "{\"cmd\":\"admin\",\"uid\":0,\"admin\":true}", "permission denied");
	assert_int_equal(calls, 0); /* the handler never ran */
	j = run(&root, "{\"cmd\":\"admin\"}");
	assert_true(json_is_true(json_object_get(j, "ok")));
	json_decref(j);
}

static void test_malformed(void **state)
{
	ward_ctl_peer_t user = { .uid = 1000 };
	char *big, *out;
	(void)state;

	calls = 0;
	expect_error(&user, "", "malformed");
	expect_error(&user, "nope", "malformed");
	expect_error(&user, "[\"cmd\",\"echo\"]", "malformed");
	expect_error(&user, "{\"cmd\":1}", "malformed");
	expect_error(&user, "{\"arg\":1}", "malformed");
	expect_error(&user, "{\"cmd\":\"echo\",\"cmd\":\"admin\"}", "malformed");
	expect_error(&user, "{\"cmd\":\"echo\"} trailing", "malformed");
	expect_error(&user, "{\"cmd\":\"nope\"}", "not found");
	out = ward_ctl_handle_line(cmds, 3, NULL, &user, "{\"cmd\":\"echo\"\0}", 15);
	assert_non_null(strstr(out, "\"ok\":false"));
	free(out);
	big = malloc(WARD_MAX_CTL_MESSAGE + 2);
	memset(big, ' ', WARD_MAX_CTL_MESSAGE + 1);
	memcpy(big, "{\"cmd\":\"echo\"}", 14);
	out = ward_ctl_handle_line(cmds, 3, NULL, &user, big, WARD_MAX_CTL_MESSAGE + 1);
	assert_non_null(strstr(out, "limit exceeded"));
	free(out);
	free(big);
	assert_int_equal(calls, 0);
}

static void test_admin_membership(void **state)
{
	(void)state;
	assert_true(ward_ctl_peer_is_admin(0, 0, getpid(), (gid_t)-1));
	assert_false(ward_ctl_peer_is_admin(1000, 1000, getpid(), (gid_t)-1));
	assert_true(ward_ctl_peer_is_admin(1000, 4242, getpid(), 4242));
	assert_false(ward_ctl_peer_is_admin(1000, 1000, getpid(), 4242));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dispatch_and_id),
		cmocka_unit_test(test_privilege_from_the_peer_not_the_request),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_admin_membership),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
