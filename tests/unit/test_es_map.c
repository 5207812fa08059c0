/*
 * The EndpointSecurity mapping layer (agent/backends/es/es_map.c) on hand-built messages.
 * Including es_api.h compiles every layout pin of es_layout.h for this target too.
 */
#include "testutil.h"

#include <stdint.h>

#include "agent/backends/es/es_map.h"
#include "agent/backends/es/eslogger.h"
#include "rules/rules.h"

#define SEC 1000000000ull

typedef struct {
	es_message_t msg;
	es_process_t proc, target;
	es_file_t proc_exe, target_exe, file, file2;
	ward_darwin_statfs_t sfs;
} fixture_t;

static es_string_token_t tok(const char *s)
{
	es_string_token_t t = {strlen(s), s};
	return t;
}

static void file_init(es_file_t *f, const char *path, uint64_t ino)
{
	memset(f, 0, sizeof(*f));
	f->path = tok(path);
	f->stat.st_dev = 0x1000004;
	f->stat.st_ino = ino;
	f->stat.st_mode = 0100755;
	f->stat.st_uid = 501;
	f->stat.st_ctimespec.tv_sec = 1700000000;
	f->stat.st_ctimespec.tv_nsec = 123;
	f->stat.st_size = 4096;
}

static void proc_init(es_process_t *p, es_file_t *exe, unsigned pid, unsigned pidver)
{
	memset(p, 0, sizeof(*p));
	p->audit_token.val[WARD_AT_PID] = pid;
	p->audit_token.val[WARD_AT_PIDVERSION] = pidver;
	p->audit_token.val[WARD_AT_EUID] = 501;
	p->audit_token.val[WARD_AT_EGID] = 20;
	p->audit_token.val[WARD_AT_RUID] = 502;
	p->ppid = 1;
	p->executable = exe;
}

static fixture_t *fx_new(es_event_type_t type, es_action_type_t action, uint32_t version)
{
	fixture_t *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	file_init(&f->proc_exe, "/bin/zsh", 11);
	file_init(&f->target_exe, "/usr/local/bin/tool", 22);
	file_init(&f->file, "/Users/a/secret.txt", 33);
	file_init(&f->file2, "/Users/a", 44);
	proc_init(&f->proc, &f->proc_exe, 4242, 7);
	proc_init(&f->target, &f->target_exe, 4242, 8);
	f->msg.version = version;
	f->msg.process = &f->proc;
	f->msg.seq_num = 99;
	f->msg.event_type = type;
	f->msg.action_type = action;
	f->msg.mach_time = 1000;
	f->msg.deadline = 1000 + 60 * SEC; /* timebase 1/1 below */
	return f;
}

static const ward_es_clock_t clk11 = {1, 1, 1000, 5 * SEC};

static void test_layout_pinned(void **state)
{
	(void)state;
	/* Compile-time pins live in es_layout.h; these make the key numbers visible here. */
	assert_int_equal(sizeof(es_message_t), 224);
	assert_int_equal(offsetof(es_message_t, event), 104);
	assert_int_equal(offsetof(es_message_t, thread), 208);
	assert_int_equal(sizeof(es_process_t), 208);
	assert_int_equal(offsetof(es_process_t, cdhash), 54);
	assert_int_equal(sizeof(es_file_t), 168);
	assert_int_equal(offsetof(es_file_t, stat), 24);
}

static void test_exec_subject_target_and_key(void **state)
{
	(void)state;
	fixture_t *f = fx_new(ES_EVENT_TYPE_AUTH_EXEC, ES_ACTION_TYPE_AUTH, 6);
	ward_es_event_t ev;
	f->msg.event.exec.target = &f->target;
	assert_int_equal(ward_es_map(&f->msg, &clk11, &ev, NULL), WARD_OK);
	assert_int_equal(ev.kind, WARD_ES_K_EXEC);
	assert_true(ev.auth);
	assert_int_equal(ev.seq, 99);
	assert_int_equal(ev.proc.pid, 4242);
	assert_int_equal(ev.proc.pidversion, 7);
	assert_int_equal(ev.target.pidversion, 8);
	assert_int_equal(ev.proc.euid, 501);
	assert_int_equal(ev.proc.egid, 20);
	assert_int_equal(ev.proc.ruid, 502);
	assert_string_equal(ev.proc.exe.path, "/bin/zsh");
	/* the decision is about the new image */
	assert_true(ev.file.present && ev.file.key_ok && ev.file.path_ok);
	assert_string_equal(ev.file.path, "/usr/local/bin/tool");
	assert_int_equal(ev.file.key.dev, 0x1000004);
	assert_int_equal(ev.file.key.ino, 22);
	assert_int_equal(ev.file.key.ctime_sec, 1700000000);
	assert_int_equal(ev.file.key.ctime_nsec, 123);
	assert_int_equal(ev.file.key.size, 4096);
	assert_int_equal(ev.file.st_uid, 501);
	assert_int_equal(ev.file.st_mode, 0100755);
	free(f);
}

static void test_exec_hints_only_from_valid_signature(void **state)
{
	(void)state;
	fixture_t *f = fx_new(ES_EVENT_TYPE_AUTH_EXEC, ES_ACTION_TYPE_AUTH, 6);
	ward_es_event_t ev;
	f->msg.event.exec.target = &f->target;
	memset(f->target.cdhash, 0xab, sizeof(f->target.cdhash));
	f->target.team_id = tok("EQHXZ8M8AV");
	f->target.signing_id = tok("com.google.Chrome");
	f->target.is_platform_binary = true;

	/* signed and valid: the kernel's facts are hints */
	f->target.codesigning_flags = 0x20000001u;
	assert_int_equal(ward_es_map(&f->msg, &clk11, &ev, NULL), WARD_OK);
	assert_true(ev.target.hints.valid);
	assert_true(ev.target.hints.platform);
	assert_int_equal(ev.target.hints.cdhash[19], 0xab);
	assert_string_equal(ev.target.hints.team_id, "EQHXZ8M8AV");
	assert_string_equal(ev.target.hints.signing_id, "com.google.Chrome");

	/* ad-hoc: no team */
	f->target.codesigning_flags = 0x20000003u;
	assert_int_equal(ward_es_map(&f->msg, &clk11, &ev, NULL), WARD_OK);
	assert_true(ev.target.hints.valid && ev.target.hints.adhoc);
	assert_string_equal(ev.target.hints.team_id, "");

	/* signed but invalid (or unsigned): nothing is vouched for, not even platform */
	f->target.codesigning_flags = 0x20000000u;
	assert_int_equal(ward_es_map(&f->msg, &clk11, &ev, NULL), WARD_OK);
	assert_false(ev.target.hints.valid);
	assert_false(ev.target.hints.platform);
	assert_string_equal(ev.target.hints.signing_id, "");
	assert_int_equal(ev.target.hints.cdhash[0], 0);
	free(f);
}

static void test_version_gates_never_read_newer_fields(void **state)
{
	(void)state;
	fixture_t *f = fx_new(ES_EVENT_TYPE_AUTH_EXEC, ES_ACTION_TYPE_AUTH, 1);
	ward_es_event_t ev;
	f->msg.event.exec.target = &f->target;
	/* In a version-1 message these bytes are reserved: a read would crash. */
	f->msg.event.exec.script = (es_file_t *)(uintptr_t)1;
	f->msg.seq_num = 12345;
	assert_int_equal(ward_es_map(&f->msg, &clk11, &ev, NULL), WARD_OK);
	assert_false(ev.script.present);
	assert_int_equal(ev.seq, 0);

	/* version 2: the script is reported */
	f->msg.version = 2;
	f->msg.event.exec.script = &f->file;
	assert_int_equal(ward_es_map(&f->msg, &clk11, &ev, NULL), WARD_OK);
	assert_true(ev.script.present);
	assert_string_equal(ev.script.path, "/Users/a/secret.txt");
	assert_int_equal(ev.seq, 12345);
	free(f);
}

static void test_open_fflag_to_access_and_flags_result(void **state)
{
	(void)state;
	fixture_t *f = fx_new(ES_EVENT_TYPE_AUTH_OPEN, ES_ACTION_TYPE_AUTH, 4);
	ward_es_event_t ev;
	f->msg.event.open.file = &f->file;
	f->msg.event.open.fflag = WARD_DARWIN_FREAD | WARD_DARWIN_FWRITE | 0x0400 /* O_TRUNC */;
	assert_int_equal(ward_es_map(&f->msg, &clk11, &ev, NULL), WARD_OK);
	assert_int_equal(ev.kind, WARD_ES_K_OPEN);
	assert_int_equal(ev.access, WARD_ES_ACC_READ | WARD_ES_ACC_WRITE);
	assert_string_equal(ev.file.path, "/Users/a/secret.txt");
	assert_int_equal(ev.file.key.ino, 33);

	assert_int_equal(ward_es_fflag_access(WARD_DARWIN_FREAD), WARD_ES_ACC_READ);
	assert_int_equal(ward_es_fflag_access(WARD_DARWIN_FWRITE), WARD_ES_ACC_WRITE);
	assert_int_equal(ward_es_fflag_access(0), 0);
	/* whole request allowed: every flag */
	assert_int_equal(ward_es_flags_result(0x0403, WARD_ES_ACC_READ | WARD_ES_ACC_WRITE),
	                 UINT32_MAX);
	assert_int_equal(ward_es_flags_result(0x0001, WARD_ES_ACC_READ), UINT32_MAX);
	/* read allowed, write denied: FWRITE taken away, the rest kept */
	assert_int_equal(ward_es_flags_result(0x0403, WARD_ES_ACC_READ), 0x0401);
	/* nothing allowed */
	assert_int_equal(ward_es_flags_result(0x0003, 0), 0);
	assert_int_equal(ward_es_flags_result(0x0002, WARD_ES_ACC_READ), 0);
	free(f);
}

static void test_deadline_santa_discipline(void **state)
{
	(void)state;
	/* headroom: a tenth of the time left, within [1 s, 5 s], at most half */
	assert_int_equal(ward_es_budget_ns(60 * SEC), 55 * SEC);
	assert_int_equal(ward_es_budget_ns(100 * SEC), 95 * SEC);
	assert_int_equal(ward_es_budget_ns(15 * SEC), 13 * SEC + SEC / 2);
	assert_int_equal(ward_es_budget_ns(5 * SEC), 4 * SEC);
	assert_int_equal(ward_es_budget_ns(SEC + SEC / 2), SEC / 2 + SEC / 4);
	assert_int_equal(ward_es_budget_ns(2), 1);
	assert_int_equal(ward_es_budget_ns(1), 0);
	assert_int_equal(ward_es_budget_ns(0), 0);

	/* Apple silicon timebase 125/3: 24 MHz ticks */
	fixture_t *f = fx_new(ES_EVENT_TYPE_AUTH_OPEN, ES_ACTION_TYPE_AUTH, 4);
	ward_es_event_t ev;
	ward_es_clock_t as = {125, 3, 24000000ull * 100, 7 * SEC};
	f->msg.event.open.file = &f->file;
	f->msg.mach_time = as.now_mach;
	f->msg.deadline = as.now_mach + 24000000ull * 60; /* 60 s of ticks */
	assert_int_equal(ward_es_map(&f->msg, &as, &ev, NULL), WARD_OK);
	assert_int_equal(ev.left_ns, 60 * SEC);
	assert_int_equal(ev.t_recv_ns, 7 * SEC);
	assert_int_equal(ev.deadline_ns, 7 * SEC + 55 * SEC);

	/* already past: answer at once */
	f->msg.deadline = as.now_mach - 1;
	assert_int_equal(ward_es_map(&f->msg, &as, &ev, NULL), WARD_OK);
	assert_int_equal(ev.left_ns, 0);
	assert_int_equal(ev.deadline_ns, 7 * SEC);

	/* NOTIFY messages have no deadline */
	f->msg.action_type = ES_ACTION_TYPE_NOTIFY;
	f->msg.event_type = ES_EVENT_TYPE_NOTIFY_CLOSE;
	f->msg.event.close.target = &f->file;
	assert_int_equal(ward_es_map(&f->msg, &as, &ev, NULL), WARD_OK);
	assert_false(ev.auth);
	assert_int_equal(ev.deadline_ns, 0);

	/* conversion saturates instead of wrapping */
	assert_int_equal(ward_es_mach_to_ns(&as, UINT64_MAX), UINT64_MAX);
	assert_int_equal(ward_es_mach_to_ns(&as, 3), 125);
	free(f);
}

static void test_untrustworthy_paths_are_dropped(void **state)
{
	(void)state;
	fixture_t *f = fx_new(ES_EVENT_TYPE_AUTH_OPEN, ES_ACTION_TYPE_AUTH, 4);
	ward_es_event_t ev;
	static char longp[WARD_ES_MAX_PATH + 10];
	f->msg.event.open.file = &f->file;

	/* truncated: a prefix of the real path must not pass a path rule */
	f->file.path_truncated = true;
	assert_int_equal(ward_es_map(&f->msg, &clk11, &ev, NULL), WARD_OK);
	assert_false(ev.file.path_ok);
	assert_string_equal(ev.file.path, "");
	assert_true(ev.file.key_ok); /* the key still identifies the file */

	/* a NUL inside the token: "/usr/bin\0/../tmp/x" */
	f->file.path_truncated = false;
	f->file.path.data = "/usr/bin\0/../tmp/x";
	f->file.path.length = 18;
	assert_int_equal(ward_es_map(&f->msg, &clk11, &ev, NULL), WARD_OK);
	assert_false(ev.file.path_ok);

	/* longer than a Darwin path can be */
	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	f->file.path = tok(longp);
	assert_int_equal(ward_es_map(&f->msg, &clk11, &ev, NULL), WARD_OK);
	assert_false(ev.file.path_ok);
	free(f);
}

static void test_notify_kinds(void **state)
{
	(void)state;
	fixture_t *f = fx_new(ES_EVENT_TYPE_NOTIFY_CLOSE, ES_ACTION_TYPE_NOTIFY, 6);
	ward_es_event_t ev;

	f->msg.event.close.target = &f->file;
	f->msg.event.close.modified = false;
	assert_int_equal(ward_es_map(&f->msg, &clk11, &ev, NULL), WARD_OK);
	assert_int_equal(ev.kind, WARD_ES_K_CLOSE);
	f->msg.event.close.modified = true;
	assert_int_equal(ward_es_map(&f->msg, &clk11, &ev, NULL), WARD_OK);
	assert_int_equal(ev.kind, WARD_ES_K_MODIFIED);
	assert_int_equal(ev.file.key.ino, 33);

	memset(&f->msg.event, 0, sizeof(f->msg.event));
	f->msg.event_type = ES_EVENT_TYPE_NOTIFY_RENAME;
	f->msg.event.rename.source = &f->target_exe;
	f->msg.event.rename.destination_type = ES_DESTINATION_TYPE_NEW_PATH;
	f->msg.event.rename.destination.new_path.dir = &f->file2;
	f->msg.event.rename.destination.new_path.filename = tok("tool2");
	assert_int_equal(ward_es_map(&f->msg, &clk11, &ev, NULL), WARD_OK);
	assert_int_equal(ev.kind, WARD_ES_K_RENAME);
	assert_int_equal(ev.file.key.ino, 22);
	assert_string_equal(ev.dest.path, "/Users/a/tool2");
	assert_false(ev.dest.key_ok);
	f->msg.event.rename.destination_type = ES_DESTINATION_TYPE_EXISTING_FILE;
	f->msg.event.rename.destination.existing_file = &f->file;
	assert_int_equal(ward_es_map(&f->msg, &clk11, &ev, NULL), WARD_OK);
	assert_true(ev.dest.key_ok);
	assert_int_equal(ev.dest.key.ino, 33);

	memset(&f->msg.event, 0, sizeof(f->msg.event));
	f->msg.event_type = ES_EVENT_TYPE_NOTIFY_UNLINK;
	f->msg.event.unlink.target = &f->file;
	assert_int_equal(ward_es_map(&f->msg, &clk11, &ev, NULL), WARD_OK);
	assert_int_equal(ev.kind, WARD_ES_K_UNLINK);
	assert_int_equal(ev.file.key.ino, 33);

	f->msg.event_type = ES_EVENT_TYPE_NOTIFY_EXIT;
	f->msg.event.exit.stat = 9;
	assert_int_equal(ward_es_map(&f->msg, &clk11, &ev, NULL), WARD_OK);
	assert_int_equal(ev.kind, WARD_ES_K_EXIT);
	assert_int_equal(ev.exit_status, 9);
	assert_int_equal(ev.proc.pidversion, 7);

	f->msg.event_type = ES_EVENT_TYPE_NOTIFY_UNMOUNT;
	f->sfs.f_fsid[0] = 0x1000004;
	strcpy(f->sfs.f_mntonname, "/Volumes/USB");
	f->msg.event.unmount.statfs = &f->sfs;
	assert_int_equal(ward_es_map(&f->msg, &clk11, &ev, NULL), WARD_OK);
	assert_int_equal(ev.kind, WARD_ES_K_UNMOUNT);
	assert_int_equal(ev.unmount_dev, 0x1000004);
	assert_string_equal(ev.unmount_on, "/Volumes/USB");
	free(f);
}

static void test_bad_messages_still_report_auth(void **state)
{
	(void)state;
	fixture_t *f = fx_new(ES_EVENT_TYPE_AUTH_RENAME, ES_ACTION_TYPE_AUTH, 6);
	ward_es_event_t ev;
	ward_error_t err;
	/* not subscribed: unsupported, but the caller still learns it must answer */
	assert_int_equal(ward_es_map(&f->msg, &clk11, &ev, &err), WARD_E_UNSUPPORTED);
	assert_true(ev.auth);
	assert_int_equal(ev.deadline_ns, 5 * SEC + 55 * SEC);

	f->msg.event_type = ES_EVENT_TYPE_AUTH_EXEC;
	f->msg.event.exec.target = NULL;
	assert_int_equal(ward_es_map(&f->msg, &clk11, &ev, &err), WARD_E_MALFORMED);
	assert_true(ev.auth);

	f->msg.process = NULL;
	assert_int_equal(ward_es_map(&f->msg, &clk11, &ev, &err), WARD_E_MALFORMED);

	/* a negative Darwin dev_t widens as an fstat's would (ward_filekey_from_stat) */
	f->msg.process = &f->proc;
	f->msg.event_type = ES_EVENT_TYPE_AUTH_OPEN;
	f->msg.event.open.file = &f->file;
	f->file.stat.st_dev = -2;
	assert_int_equal(ward_es_map(&f->msg, &clk11, &ev, &err), WARD_OK);
	assert_true(ev.file.key.dev == (uint64_t)(int64_t)-2);
	free(f);
}

static void test_match_key_from_kernel_hints(void **state)
{
	(void)state;
	ward_es_hints_t h;
	ward_match_key_t k;

	memset(&h, 0, sizeof(h));
	h.valid = true;
	memset(h.cdhash, 0xab, sizeof(h.cdhash));
	strcpy(h.team_id, "EQHXZ8M8AV");
	strcpy(h.signing_id, "com.google.Chrome");
	ward_es_match_key(&h, &k);
	assert_string_equal(k.cdhash, "abababababababababababababababababababab");
	assert_string_equal(k.team_id, "EQHXZ8M8AV");
	assert_string_equal(k.signing_id, "EQHXZ8M8AV:com.google.Chrome");
	assert_string_equal(k.sha256, "");

	/* platform binary: only the kernel can say so */
	h.platform = true;
	h.team_id[0] = '\0';
	strcpy(h.signing_id, "com.apple.ls");
	ward_es_match_key(&h, &k);
	assert_string_equal(k.signing_id, "platform:com.apple.ls");

	/* ad-hoc: cdhash only */
	h.platform = false;
	h.adhoc = true;
	ward_es_match_key(&h, &k);
	assert_string_equal(k.team_id, "");
	assert_string_equal(k.signing_id, "");
	assert_int_equal(strlen(k.cdhash), 40);

	/* a signing ID that does not fit whole is dropped, never cut to another's prefix */
	h.adhoc = false;
	memset(h.team_id, 'A', WARD_MAX_TEAM_ID);
	h.team_id[WARD_MAX_TEAM_ID] = '\0';
	memset(h.signing_id, 'x', WARD_MAX_SIGNING_ID);
	h.signing_id[WARD_MAX_SIGNING_ID] = '\0';
	ward_es_match_key(&h, &k);
	assert_string_equal(k.signing_id, "");

	/* not valid: nothing */
	h.valid = false;
	ward_es_match_key(&h, &k);
	assert_string_equal(k.cdhash, "");
	assert_string_equal(k.team_id, "");
}

static void test_eslogger_lines(void **state)
{
	(void)state;
	size_t len;
	uint8_t *all = tu_slurp(FIXTURES "/eslogger/pilot.jsonl", &len);
	char *line = (char *)all, *nl;
	ward_es_event_t *ev = malloc(sizeof(*ev));
	ward_error_t err;
	int n = 0;

	assert_non_null(ev);
	all[len] = '\0';
	for (; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
		ward_err_t rc = ward_eslogger_parse(line, (size_t)(nl - line), ev, &err);
		n++;
		switch (n) {
		case 1: /* Chrome: team and signing ID from the kernel's signing facts */
			assert_int_equal(rc, WARD_OK);
			assert_int_equal(ev->kind, WARD_ES_K_EXEC);
			assert_string_equal(ev->file.path, "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome");
			assert_true(ev->target.hints.valid);
			assert_string_equal(ev->target.hints.team_id, "EQHXZ8M8AV");
			assert_int_equal(ev->target.pid, 801);
			assert_int_equal(ev->proc.pid, 700);
			assert_int_equal(ev->file.key.ino, 21);
			break;
		case 3: /* ad-hoc: no team */
			assert_int_equal(rc, WARD_OK);
			assert_true(ev->target.hints.adhoc);
			assert_string_equal(ev->target.hints.team_id, "");
			break;
		case 4: /* open */
			assert_int_equal(rc, WARD_OK);
			assert_int_equal(ev->kind, WARD_ES_K_OPEN);
			assert_int_equal(ev->access, WARD_ES_ACC_READ);
			assert_string_equal(ev->file.path, "/Users/alice/secret.txt");
			break;
		case 5: /* cut short */
			assert_int_equal(rc, WARD_E_MALFORMED);
			break;
		case 7: /* unsigned: no hints */
			assert_int_equal(rc, WARD_OK);
			assert_false(ev->target.hints.valid);
			break;
		case 9: /* close: not replayed */
			assert_int_equal(rc, WARD_E_UNSUPPORTED);
			break;
		default:
			assert_int_equal(rc, WARD_OK);
		}
	}
	assert_int_equal(n, 10);

	/* wrong types and bad cdhash are named */
	const char *bad = "{\"event_type\":9,\"process\":{\"executable\":{\"path\":\"/x\"},\"codesigning_flags\":536870913,"
	                  "\"cdhash\":\"xyz\"},\"event\":{}}";
	assert_int_equal(ward_eslogger_parse(bad, strlen(bad), ev, &err), WARD_E_MALFORMED);
	assert_non_null(strstr(err.msg, "cdhash"));
	const char *dup = "{\"event_type\":9,\"event_type\":10}";
	assert_int_equal(ward_eslogger_parse(dup, strlen(dup), ev, &err), WARD_E_MALFORMED);
	free(ev);
	free(all);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout_pinned),
		cmocka_unit_test(test_exec_subject_target_and_key),
		cmocka_unit_test(test_exec_hints_only_from_valid_signature),
		cmocka_unit_test(test_version_gates_never_read_newer_fields),
		cmocka_unit_test(test_open_fflag_to_access_and_flags_result),
		cmocka_unit_test(test_deadline_santa_discipline),
		cmocka_unit_test(test_untrustworthy_paths_are_dropped),
		cmocka_unit_test(test_notify_kinds),
		cmocka_unit_test(test_bad_messages_still_report_auth),
		cmocka_unit_test(test_match_key_from_kernel_hints),
		cmocka_unit_test(test_eslogger_lines),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
