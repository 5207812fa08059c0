/*
 * Unit tests for agent/fileaccess: the agent's OPEN decision on the real opener (this
 * test's own executable, named by its SHA-256): allowed and denied by identity, only
 * plain ALLOWs remembered and never across openers or policies, counters per item, the
 * event-log budget with its drop counter.
 */
#include "tests/unit/testutil.h"

#include <fcntl.h>
#include <unistd.h>

#include "agent/fileaccess.h"
#include "common/hex.h"
#include "scanner/identity.h"

static char self_sha[65];

static ward_faa_t *policy(const char *version)
{
	ward_faa_t *p = NULL;
	ward_error_t e = { 0 };
	json_t *j = json_pack(
		"{s:s, s:{"
		"s:{s:[s], s:{s:b}, s:[{s:s}]},"                 /* Mine: only this binary */
		"s:{s:[s], s:{s:b}, s:[{s:s}]},"                 /* Theirs: only another */
		"s:{s:[s], s:{s:s, s:b}, s:[{s:s}]}"             /* Audit: this binary audited */
		"}}",
		"Version", version, "WatchItems",
		"Mine", "Paths", "/w/mine", "Options", "AuditOnly", 0, "Processes", "Sha256", self_sha,
		"Theirs", "Paths", "/w/theirs", "Options", "AuditOnly", 0, "Processes", "Sha256",
		"00000000000000000000000000000000000000000000000000000000000000ff",
		"Audit", "Paths", "/w/audit", "Options", "RuleType", "PathsWithDeniedProcesses", "AuditOnly", 1,
		"Processes", "Sha256", self_sha);
	assert_non_null(j);
	if (ward_faa_parse(j, NULL, &p, &e) != WARD_OK)
		fail_msg("%s", e.msg);
	json_decref(j);
	return p;
}

static int setup(void **state)
{
	uint8_t sha[32];
	ward_error_t e;
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(ward_sha256_fd(fd, sha, &e), WARD_OK);
	close(fd);
	ward_hex_encode(sha, 32, self_sha);
	return 0;
}

static ward_fa_request_t rq(const char *path, uint64_t ino)
{
	ward_fa_request_t r = { .path = path, .key_ok = true, .access = WARD_FAA_READ, .pid = getpid() };
	r.key.dev = 1;
	r.key.ino = ino;
	return r;
}

static void test_decide_and_cache(void **state)
{
	ward_fileaccess_t *fa = NULL;
	ward_error_t e = { 0 };
	ward_fa_verdict_t v;
	ward_fa_request_t r;
	ward_faa_t *p = policy("1");
	json_t *st, *it;

	(void)state;
	assert_int_equal(ward_fileaccess_create(&fa, &e), WARD_OK);
	assert_false(ward_fileaccess_active(fa));
	r = rq("/w/mine", 10);
	ward_fileaccess_decide(fa, &r, &v);
	assert_int_equal(v.r.outcome, WARD_FAA_UNWATCHED); /* no policy yet */

	assert_true(ward_fileaccess_set(fa, p, NULL));
	ward_faa_free(p); /* fa holds its own reference */
	assert_true(ward_fileaccess_active(fa));

	ward_fileaccess_decide(fa, &r, &v);
	assert_int_equal(v.r.outcome, WARD_FAA_ALLOW);
	assert_string_equal(v.r.item_name, "Mine");
	assert_true(v.opener_ok);
	assert_false(v.cached);
	assert_false(v.log);
	ward_fileaccess_decide(fa, &r, &v);
	assert_int_equal(v.r.outcome, WARD_FAA_ALLOW);
	assert_true(v.cached); /* the same file, opener and access */
	r.access = WARD_FAA_WRITE;
	ward_fileaccess_decide(fa, &r, &v);
	assert_false(v.cached); /* another access is another question */

	r = rq("/w/theirs", 11);
	ward_fileaccess_decide(fa, &r, &v);
	assert_int_equal(v.r.outcome, WARD_FAA_DENY);
	assert_true(v.log);
	ward_fileaccess_decide(fa, &r, &v);
	assert_false(v.cached); /* denies are never remembered */

	r = rq("/w/audit", 12);
	ward_fileaccess_decide(fa, &r, &v);
	assert_int_equal(v.r.outcome, WARD_FAA_AUDIT);
	ward_fileaccess_decide(fa, &r, &v);
	assert_false(v.cached);

	/* a new policy forgets the remembered ALLOW */
	p = policy("2");
	ward_fileaccess_set(fa, p, NULL);
	ward_faa_free(p);
	r = rq("/w/mine", 10);
	ward_fileaccess_decide(fa, &r, &v);
	assert_int_equal(v.r.outcome, WARD_FAA_ALLOW);
	assert_false(v.cached);
	assert_string_equal(v.policy_version, "2");

	st = ward_fileaccess_status(fa);
	assert_string_equal(json_string_value(json_object_get(st, "version")), "2");
	it = json_array_get(json_object_get(st, "items"), 1); /* sorted: Audit, Mine, Theirs */
	assert_string_equal(json_string_value(json_object_get(it, "name")), "Mine");
	assert_int_equal(json_integer_value(json_object_get(it, "allowed")), 1);
	json_decref(st);
	ward_fileaccess_destroy(fa);
}

/* A flood of denials is logged up to the budget; the rest are counted as dropped. */
static void test_log_budget(void **state)
{
	ward_fileaccess_t *fa = NULL;
	ward_error_t e = { 0 };
	ward_fa_verdict_t v;
	ward_fa_request_t r = rq("/w/theirs", 11);
	ward_faa_t *p = policy("1");
	unsigned logged = 0, n = WARD_FAA_LOG_BURST * 3;
	json_t *st;

	(void)state;
	assert_int_equal(ward_fileaccess_create(&fa, &e), WARD_OK);
	ward_fileaccess_set(fa, p, NULL);
	ward_faa_free(p);
	for (unsigned i = 0; i < n; i++) {
		ward_fileaccess_decide(fa, &r, &v);
		assert_int_equal(v.r.outcome, WARD_FAA_DENY);
		logged += v.log;
	}
	assert_true(logged >= WARD_FAA_LOG_BURST && logged < n);
	st = ward_fileaccess_status(fa);
	assert_int_equal(json_integer_value(json_object_get(st, "log_dropped")), n - logged);
	json_decref(st);
	ward_fileaccess_destroy(fa);
}

/* The built-in items: only wardenctl (by path and SHA-256) may write warden's files;
 * everyone may read them; a user item cannot take a built-in name. */
static void test_builtin_items(void **state)
{
	static const char *const yara[] = { "/etc/warden/yara/*.yar", NULL };
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	ward_fa_self_t me = { "/var/lib/warden/warden.db", "/var/lib/warden/lastgood.json",
	                      "/etc/warden/warden.conf", "/etc/warden/profiles",
	                      NULL, "/var/log/warden/events.jsonl", yara, "/usr/sbin/wardend", self };
	ward_fa_self_t other = me;
	ward_fileaccess_t *fa = NULL;
	ward_faa_t *p = NULL;
	ward_error_t e = { 0 };
	ward_fa_verdict_t v;
	ward_fa_request_t r;
	json_t *user;

	(void)state;
	assert_true(n > 0);
	self[n] = '\0';
	assert_int_equal(ward_fileaccess_create(&fa, &e), WARD_OK);

	/* this test plays wardenctl */
	assert_int_equal(ward_fileaccess_policy(NULL, &me, &p, &e), WARD_OK);
	ward_fileaccess_set(fa, p, NULL);
	ward_faa_free(p);
	r = rq("/var/lib/warden/warden.db-journal", 20);
	r.access = WARD_FAA_WRITE;
	ward_fileaccess_decide(fa, &r, &v);
	assert_int_equal(v.r.outcome, WARD_FAA_ALLOW);
	assert_string_equal(v.r.item_name, "warden:state");

	/* another wardenctl: this test is just some root program */
	other.wardenctl = "/usr/bin/true";
	assert_int_equal(ward_fileaccess_policy(NULL, &other, &p, &e), WARD_OK);
	ward_fileaccess_set(fa, p, NULL);
	ward_faa_free(p);
	static const char *const targets[][2] = {
		{ "/var/lib/warden/warden.db", "warden:state" },
		{ "/etc/warden/warden.conf", "warden:config" },
		{ "/etc/warden/profiles/10-santa.mobileconfig", "warden:config" },
		{ "/etc/warden/yara/evil.yar", "warden:yara" },
		{ "/var/log/warden/events.jsonl", "warden:eventlog" },
		{ "/usr/sbin/wardend", "warden:binaries" },
	};
	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		r = rq(targets[i][0], 30 + i);
		r.access = WARD_FAA_WRITE;
		ward_fileaccess_decide(fa, &r, &v);
		if (v.r.outcome != WARD_FAA_DENY || strcmp(v.r.item_name, targets[i][1]) != 0)
			fail_msg("%s: %s", targets[i][0], v.r.why);
		assert_non_null(strstr(v.r.block_message, "only wardend and wardenctl"));
		r.access = WARD_FAA_READ;
		ward_fileaccess_decide(fa, &r, &v);
		assert_int_equal(v.r.outcome, WARD_FAA_ALLOW);
	}
	/* the profiles directory is a prefix, the config file is not */
	r = rq("/etc/warden/warden.conf.bak", 40);
	r.access = WARD_FAA_WRITE;
	ward_fileaccess_decide(fa, &r, &v);
	assert_int_equal(v.r.outcome, WARD_FAA_UNWATCHED);

	user = json_pack("{s:s, s:{s:{s:[s]}}}", "Version", "1", "WatchItems", "warden:config", "Paths", "/x");
	assert_int_equal(ward_fileaccess_policy(user, &me, &p, &e), WARD_E_INVAL);
	assert_null(p);
	assert_non_null(strstr(e.msg, "built-in"));
	json_decref(user);
	/* a user policy keeps its items next to the built-in ones */
	user = json_pack("{s:s, s:{s:{s:[s]}}}", "Version", "u1", "WatchItems", "Mine", "Paths", "/x");
	assert_int_equal(ward_fileaccess_policy(user, &me, &p, &e), WARD_OK);
	assert_int_equal(ward_faa_nitems(p), 6);
	assert_string_equal(ward_faa_version(p), "u1");
	ward_faa_free(p);
	json_decref(user);
	ward_fileaccess_destroy(fa);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decide_and_cache),
		cmocka_unit_test(test_log_budget),
		cmocka_unit_test(test_builtin_items),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
