/* Unit tests for agent/eventlog.c and agent/backends/procinfo.c: line format, writer thread. */
#include "tests/unit/testutil.h"

#include <unistd.h>

#include "agent/eventlog.h"
#include "agent/backends/procinfo.h"
#include "common/platform.h"

static void fill(ward_evrec_t *r)
{
	memset(r, 0, sizeof(*r));
	r->when.tv_sec = 1700000000;
	r->when.tv_nsec = 123456789;
	r->kind = WARD_EV_EXEC;
	r->v.decision = WARD_DENY;
	r->v.reason = WARD_RSN_RULE;
	r->v.has_rule = true;
	r->v.rule_type = WARD_RT_BINARY;
	r->v.rule_policy = WARD_POL_BLOCKLIST;
	r->v.rule_id = 12;
	r->v.has_sha256 = true;
	memset(r->v.sha256, 0xab, sizeof(r->v.sha256));
	r->mode = WARD_MODE_LOCKDOWN;
	r->proc.pid = 4321;
	r->latency_us = 77;
	strcpy(r->path, "/opt/x/tool");
	strcpy(r->rule_identifier, "abab");
}

static void test_format_fields(void **state)
{
	ward_evrec_t r;
	(void)state;

	fill(&r);
	r.pinfo.ok = true;
	r.pinfo.ppid = 1;
	r.pinfo.uid = 1000;
	memcpy(r.pinfo.argv, "tool\0-v\0", 8);
	r.pinfo.argv_len = 8;
	char *line = ward_evlog_format(&r);
	assert_non_null(line);
	assert_null(strchr(line, '\n'));
	json_t *j = json_loads(line, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "time")), "2023-11-14T22:13:20.123Z");
	assert_string_equal(json_string_value(json_object_get(j, "decision")), "DENY");
	assert_string_equal(json_string_value(json_object_get(j, "reason")), "rule");
	assert_string_equal(json_string_value(json_object_get(j, "mode")), "LOCKDOWN");
	json_t *rule = json_object_get(j, "rule");
	assert_string_equal(json_string_value(json_object_get(rule, "type")), "BINARY");
	assert_string_equal(json_string_value(json_object_get(rule, "policy")), "BLOCKLIST");
	assert_int_equal(json_integer_value(json_object_get(rule, "id")), 12);
	assert_string_equal(json_string_value(json_object_get(j, "path")), "/opt/x/tool");
	assert_string_equal(json_string_value(json_object_get(j, "sha256")),
	                    "abababababababababababababababababababababababababababababababab");
	assert_true(json_is_null(json_object_get(j, "cdhash")));
	assert_true(json_is_null(json_object_get(j, "team_id")));
	assert_true(json_is_null(json_object_get(j, "signing_id")));
	assert_int_equal(json_integer_value(json_object_get(j, "pid")), 4321);
	assert_int_equal(json_integer_value(json_object_get(j, "ppid")), 1);
	assert_int_equal(json_integer_value(json_object_get(j, "uid")), 1000);
	assert_int_equal(json_array_size(json_object_get(j, "argv")), 2);
	assert_string_equal(json_string_value(json_array_get(json_object_get(j, "argv"), 1)), "-v");
	assert_int_equal(json_integer_value(json_object_get(j, "latency_us")), 77);
	assert_null(json_object_get(j, "caller_argv"));
	json_decref(j);
	free(line);

	/* Linux, read before the exec completed: named for what it is */
	r.pinfo.argv_is_caller = true;
	line = ward_evlog_format(&r);
	j = json_loads(line, 0, NULL);
	assert_null(json_object_get(j, "argv"));
	assert_int_equal(json_array_size(json_object_get(j, "caller_argv")), 2);
	json_decref(j);
	free(line);
}

/* Lines that are not decisions (an exception's state change) go through the writer
 * thread too, with a time, in order. */
static void test_submit_json(void **state)
{
	char path[] = "/tmp/warden-evlog-json-XXXXXX";
	int fd = mkstemp(path);
	ward_evlog_t *l;
	char buf[4096];
	ssize_t n;
	(void)state;

	assert_true(fd >= 0);
	assert_int_equal(ward_evlog_open(path, 4, &l, NULL), WARD_OK);
	assert_int_equal(ward_evlog_start(l, NULL), WARD_OK);
	json_t *o = json_pack("{s:s, s:s, s:i}", "kind", "exception", "action", "approve", "request_id", 7);
	assert_true(ward_evlog_submit_json(l, o));
	json_decref(o);
	ward_evlog_close(l); /* writes what is queued */
	n = read(fd, buf, sizeof(buf) - 1);
	assert_true(n > 0);
	buf[n] = '\0';
	json_t *j = json_loads(buf, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "action")), "approve");
	assert_non_null(json_string_value(json_object_get(j, "time")));
	json_decref(j);
	close(fd);
	unlink(path);
}

/* The scan step's marks: scan_pending on an exec line; a late verdict's "scan" line. */
static void test_scan_lines(void **state)
{
	ward_evrec_t r;
	json_t *j;
	char *line;
	(void)state;

	fill(&r);
	r.v.has_rule = false;
	r.v.reason = WARD_RSN_MODE;
	r.v.decision = WARD_ALLOW;
	r.v.scan_pending = true;
	line = ward_evlog_format(&r);
	j = json_loads(line, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(j, "kind")), "exec");
	assert_true(json_is_true(json_object_get(j, "scan_pending")));
	json_decref(j);
	free(line);

	r.v.scan_pending = false;
	r.kind = WARD_EV_SCAN;
	r.v.decision = WARD_DENY;
	r.v.reason = WARD_RSN_SCAN;
	line = ward_evlog_format(&r);
	j = json_loads(line, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(j, "kind")), "scan");
	assert_string_equal(json_string_value(json_object_get(j, "reason")), "scan");
	assert_null(json_object_get(j, "scan_pending"));
	assert_true(json_is_null(json_object_get(j, "pid"))); /* no process asked */
	json_decref(j);
	free(line);
}

static void test_bytes_that_are_not_utf8(void **state)
{
	ward_evrec_t r;
	(void)state;

	fill(&r);
	strcpy(r.path, "/tmp/\xff\xfe");
	char *line = ward_evlog_format(&r);
	assert_non_null(line);
	json_t *j = json_loads(line, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(j, "path")), "hex:2f746d702ffffe");
	assert_true(json_is_null(json_object_get(j, "argv"))); /* no process info */
	json_decref(j);
	free(line);
}

static void test_counters_add_up(void **state)
{
	char path[] = "/tmp/warden-evlog-XXXXXX";
	int fd = mkstemp(path);
	ward_evlog_t *l;
	ward_evrec_t r;
	uint64_t written, dropped, errors, ok = 0;
	(void)state;

	close(fd);
	assert_int_equal(ward_evlog_open(path, 2, &l, NULL), WARD_OK);
	assert_int_equal(ward_evlog_start(l, NULL), WARD_OK);
	fill(&r);
	assert_true(ward_procinfo_read(getpid(), &r.pinfo));
	for (int i = 0; i < 500; i++)
		ok += ward_evlog_submit(l, &r);
	/* Let the writer drain, then read the counters before closing. */
	for (int i = 0; i < 200; i++) {
		ward_evlog_stats(l, &written, &dropped, &errors);
		if (written + errors == ok)
			break;
		usleep(10000);
	}
	assert_int_equal(written + errors, ok);
	assert_int_equal(dropped, 500 - ok);
	assert_int_equal(errors, 0);
	ward_evlog_close(l);
	/* Every counted line is in the file, whole, and says who the process is. */
	FILE *f = fopen(path, "r");
	char buf[8192];
	uint64_t lines = 0;
	assert_non_null(f);
	while (fgets(buf, sizeof(buf), f)) {
		json_t *j = json_loads(buf, 0, NULL);
		assert_non_null(j);
		assert_int_equal(json_integer_value(json_object_get(j, "uid")), getuid());
		json_decref(j);
		lines++;
	}
	fclose(f);
	unlink(path);
	assert_int_equal(lines, written);
	assert_int_equal(ward_evlog_open("/nonexistent-dir/x.jsonl", 4, &l, NULL), WARD_E_IO);
	assert_null(l);
}

static void test_procinfo(void **state)
{
	ward_procinfo_t pi;
	pid_t ppid;
	uid_t uid;
	(void)state;

	assert_true(ward_procinfo_parse_status("Name:\tx\nPPid:\t17\nUid:\t1000\t1000\t1000\t1000\n", &ppid, &uid));
	assert_int_equal(ppid, 17);
	assert_int_equal(uid, 1000);
	assert_false(ward_procinfo_parse_status("Name:\tx\n", &ppid, &uid));
	assert_false(ward_procinfo_parse_status("PPid:\t\nUid:\t1\n", &ppid, &uid));
	assert_true(ward_procinfo_read(getpid(), &pi));
	assert_int_equal(pi.ppid, getppid());
	assert_int_equal(pi.uid, getuid());
	assert_non_null(strstr(pi.argv, "test_eventlog"));
	assert_false(pi.argv_not_read);
	/* the event reader's thread never reads another process's memory: the command line
	 * is left out, the rest (/proc status and stat: no lock of the process) is read */
	ward_thread_set_no_waits(true);
	assert_true(ward_procinfo_read(getpid(), &pi));
	ward_thread_set_no_waits(false);
	assert_true(pi.argv_not_read);
	assert_int_equal(pi.argv_len, 0);
	assert_int_equal(pi.ppid, getppid());
	assert_false(ward_procinfo_read(0x7ffffff0, &pi));
	/* the start time that tells a reused pid apart: field 22, counted after the comm,
	 * whatever the comm holds */
	assert_int_equal(ward_procinfo_parse_start_time(
		"42 (a) b (c) S 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10"), 987654);
	assert_int_equal(ward_procinfo_parse_start_time("42 (x"), 0);
	assert_true(ward_procinfo_start_time(getpid()) > 0);
	assert_int_equal(ward_procinfo_start_time(0x7ffffff0), 0);
	uid_t eu;
	gid_t eg;
	assert_true(ward_procinfo_creds(getpid(), &eu, &eg));
	assert_int_equal(eu, geteuid());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_fields),
		cmocka_unit_test(test_scan_lines),
		cmocka_unit_test(test_bytes_that_are_not_utf8),
		cmocka_unit_test(test_counters_add_up),
		cmocka_unit_test(test_procinfo),
		cmocka_unit_test(test_submit_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
