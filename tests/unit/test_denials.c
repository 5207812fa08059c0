/*
 * Unit tests for agent/denials.c (the recent-denials memory behind `wardenctl blocked`)
 * and the request hint in event log lines: bounds, dedupe, eviction order, shell
 * quoting, and which denials get a hint.
 */
#include "tests/unit/testutil.h"

#include <limits.h>

#include "agent/denials.h"
#include "agent/eventlog.h"
#include "agent/exceptions.h"

#define SHA "abababababababababababababababababababababababababababababababab"

static ward_denials_t *make(void)
{
	ward_denials_t *d = NULL;

	assert_int_equal(ward_denials_create(&d, NULL), WARD_OK);
	return d;
}

static void test_dedupe_and_order(void **state)
{
	ward_denials_t *d = make();
	json_t *a;

	(void)state;
	ward_denials_note(d, 1000, 100, "/opt/a", SHA, WARD_RSN_MODE);
	ward_denials_note(d, 1000, 101, "/opt/b", "", WARD_RSN_RULE);
	ward_denials_note(d, 1000, 102, "/opt/a", SHA, WARD_RSN_MODE);
	ward_denials_note(d, 2000, 103, "/opt/c", SHA, WARD_RSN_MODE);
	a = ward_denials_json(d, 1000);
	assert_int_equal(json_array_size(a), 2);
	/* newest first; the same file again counts instead of taking a new entry */
	assert_string_equal(json_string_value(json_object_get(json_array_get(a, 0), "path")), "/opt/a");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(a, 0), "count")), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(a, 0), "time")),
	                    "1970-01-01T00:01:42Z");
	assert_string_equal(json_string_value(json_object_get(json_array_get(a, 0), "request_hint")),
	                    "wardenctl request '/opt/a' --reason 'why you need it'");
	/* a rule's block: listed, but no hint (an exception cannot lift it) */
	assert_string_equal(json_string_value(json_object_get(json_array_get(a, 1), "reason")), "rule");
	assert_true(json_is_null(json_object_get(json_array_get(a, 1), "request_hint")));
	assert_true(json_is_null(json_object_get(json_array_get(a, 1), "sha256")));
	json_decref(a);
	/* users see only their own */
	a = ward_denials_json(d, 2000);
	assert_int_equal(json_array_size(a), 1);
	json_decref(a);
	a = ward_denials_json(d, 3000);
	assert_int_equal(json_array_size(a), 0);
	json_decref(a);
	ward_denials_destroy(d);
}

static void test_bounds(void **state)
{
	ward_denials_t *d = make();
	char path[64];
	json_t *a;

	(void)state;
	/* per user: the oldest file is forgotten first */
	for (unsigned i = 0; i < WARD_DENIALS_PER_UID + 3; i++) {
		snprintf(path, sizeof(path), "/opt/f%u", i);
		ward_denials_note(d, 1000, 1000 + i, path, SHA, WARD_RSN_MODE);
	}
	a = ward_denials_json(d, 1000);
	assert_int_equal(json_array_size(a), WARD_DENIALS_PER_UID);
	snprintf(path, sizeof(path), "/opt/f%u", WARD_DENIALS_PER_UID + 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(a, 0), "path")), path);
	assert_string_equal(json_string_value(json_object_get(json_array_get(a, WARD_DENIALS_PER_UID - 1),
	                                                      "path")), "/opt/f3");
	json_decref(a);

	/* users: the one denied longest ago is forgotten first */
	for (unsigned u = 1; u < WARD_DENIAL_UIDS; u++)
		ward_denials_note(d, 5000 + u, 5000 + u, "/opt/x", SHA, WARD_RSN_MODE);
	ward_denials_note(d, 1000, 9000, "/opt/again", SHA, WARD_RSN_MODE); /* 1000 is recent now */
	ward_denials_note(d, 99999, 9001, "/opt/x", SHA, WARD_RSN_MODE);    /* evicts uid 5001 */
	a = ward_denials_json(d, 5001);
	assert_int_equal(json_array_size(a), 0);
	json_decref(a);
	a = ward_denials_json(d, 1000);
	assert_int_equal(json_array_size(a), WARD_DENIALS_PER_UID);
	json_decref(a);
	a = ward_denials_json(d, 99999);
	assert_int_equal(json_array_size(a), 1);
	json_decref(a);

	/* nothing is kept for an empty or over-long path */
	char *longp = malloc(PATH_MAX + 1);
	assert_non_null(longp);
	memset(longp, 'a', PATH_MAX);
	longp[0] = '/';
	longp[PATH_MAX] = '\0';
	ward_denials_note(d, 77, 1, longp, SHA, WARD_RSN_MODE);
	ward_denials_note(d, 77, 1, "", SHA, WARD_RSN_MODE);
	a = ward_denials_json(d, 77);
	assert_int_equal(json_array_size(a), 0);
	json_decref(a);
	free(longp);
	ward_denials_destroy(d);
	ward_denials_destroy(NULL);
}

static void test_hint_quoting(void **state)
{
	char buf[256];

	(void)state;
	assert_true(ward_request_hint("/home/o'brien/my tool", buf, sizeof(buf)));
	assert_string_equal(buf, "wardenctl request '/home/o'\\''brien/my tool' --reason 'why you need it'");
	assert_false(ward_request_hint("/tmp/evil\n/usr/bin/ok", buf, sizeof(buf)));
	assert_string_equal(buf, "");
	assert_false(ward_request_hint("/tmp/\x1b[31mred", buf, sizeof(buf)));
	assert_false(ward_request_hint("", buf, sizeof(buf)));
	assert_false(ward_request_hint("/a/long/path/that/does/not/fit", buf, 40));
	assert_string_equal(buf, "");
	/* exactly fits */
	const char *want = "wardenctl request '/x' --reason 'why you need it'";
	assert_true(ward_request_hint("/x", buf, strlen(want) + 1));
	assert_string_equal(buf, want);
	assert_false(ward_request_hint("/x", buf, strlen(want)));

	assert_true(ward_denial_requestable(WARD_RSN_MODE));
	assert_true(ward_denial_requestable(WARD_RSN_SCAN));
	assert_false(ward_denial_requestable(WARD_RSN_RULE));
	assert_false(ward_denial_requestable(WARD_RSN_DEADLINE));
	assert_false(ward_denial_requestable(WARD_RSN_QUEUE_FULL));
	assert_false(ward_denial_requestable(WARD_RSN_ERROR));
}

static json_t *format(const ward_evrec_t *r)
{
	char *line = ward_evlog_format(r);
	json_t *j;

	assert_non_null(line);
	j = json_loads(line, 0, NULL);
	assert_non_null(j);
	free(line);
	return j;
}

static void rec(ward_evrec_t *r, ward_decision_t dec, ward_reason_t why)
{
	memset(r, 0, sizeof(*r));
	r->when.tv_sec = 1700000000;
	r->kind = WARD_EV_EXEC;
	r->v.decision = dec;
	r->v.reason = why;
	r->v.has_sha256 = true;
	memset(r->v.sha256, 0xab, sizeof(r->v.sha256));
	r->mode = WARD_MODE_LOCKDOWN;
	r->proc.pid = 42;
	r->pinfo.ok = true;
	r->pinfo.uid = 1000;
	strcpy(r->path, "/opt/x/tool");
}

static void test_event_log_hint(void **state)
{
	ward_evrec_t *r = malloc(sizeof(*r));
	json_t *j;

	(void)state;
	assert_non_null(r);
	rec(r, WARD_DENY, WARD_RSN_MODE);
	j = format(r);
	assert_string_equal(json_string_value(json_object_get(j, "request_hint")),
	                    "wardenctl request '/opt/x/tool' --reason 'why you need it'");
	json_decref(j);
	/* no hint: allowed, blocked by a rule, silently blocked, fallback verdicts */
	rec(r, WARD_ALLOW, WARD_RSN_MODE);
	j = format(r);
	assert_null(json_object_get(j, "request_hint"));
	json_decref(j);
	rec(r, WARD_DENY, WARD_RSN_RULE);
	j = format(r);
	assert_null(json_object_get(j, "request_hint"));
	json_decref(j);
	rec(r, WARD_DENY, WARD_RSN_SCAN);
	r->v.silent = true;
	j = format(r);
	assert_null(json_object_get(j, "request_hint"));
	json_decref(j);
	rec(r, WARD_DENY, WARD_RSN_DEADLINE);
	j = format(r);
	assert_null(json_object_get(j, "request_hint"));
	json_decref(j);
	free(r);
}

static void test_hook_filters(void **state)
{
	ward_exc_t *x = NULL;
	ward_evrec_t *r = malloc(sizeof(*r));
	ward_ctl_peer_t peer = { .uid = 1000 };
	ward_daemon_t *d = calloc(1, sizeof(*d));
	ward_store_t *st = NULL;
	ward_error_t err = { 0 };
	json_t *reply;

	(void)state;
	assert_non_null(r);
	assert_non_null(d);
	assert_int_equal(ward_exc_create(&x, NULL), WARD_OK);
	rec(r, WARD_DENY, WARD_RSN_MODE);
	ward_exc_evlog_hook(x, r);             /* kept */
	rec(r, WARD_DENY, WARD_RSN_RULE);
	strcpy(r->path, "/opt/silent");
	r->v.silent = true;
	ward_exc_evlog_hook(x, r);             /* silent: never told */
	rec(r, WARD_ALLOW, WARD_RSN_MODE);
	strcpy(r->path, "/opt/allowed");
	ward_exc_evlog_hook(x, r);             /* not a denial */
	rec(r, WARD_DENY, WARD_RSN_MODE);
	strcpy(r->path, "/opt/gone");
	r->pinfo.ok = false;
	ward_exc_evlog_hook(x, r);             /* no uid known */

	/* Through the control handler, as uid 1000 and as another uid. */
	assert_int_equal(ward_store_open(":memory:", WARD_STORE_CREATE, &st, &err), WARD_OK);
	ward_config_defaults(&d->cfg);
	d->store = st;
	d->exc = x;
	reply = ward_exc_cmd_blocked(d, &peer, NULL, &err);
	assert_non_null(reply);
	assert_int_equal(json_array_size(json_object_get(reply, "denials")), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(reply, "denials"), 0),
	                                                      "path")), "/opt/x/tool");
	json_decref(reply);
	peer.uid = 1001;
	reply = ward_exc_cmd_blocked(d, &peer, NULL, &err);
	assert_int_equal(json_array_size(json_object_get(reply, "denials")), 0);
	json_decref(reply);

	ward_store_close(st);
	ward_exc_destroy(x);
	free(d);
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dedupe_and_order),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_hint_quoting),
		cmocka_unit_test(test_event_log_hint),
		cmocka_unit_test(test_hook_filters),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
