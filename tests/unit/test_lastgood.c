/*
 * Unit tests for agent/lastgood.c: the last good configuration wardend starts from when
 * its sources do not load. What is saved reads back as the same configuration; a file
 * others could write, of another format, or with an invalid value is refused.
 */
#include "tests/unit/testutil.h"

#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/lastgood.h"

static char dir[64], conf[PATH_MAX], snap[PATH_MAX];

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/warden-test-lastgood-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(conf, sizeof(conf), "%s/warden.conf", dir);
	snprintf(snap, sizeof(snap), "%s/" WARD_LASTGOOD_NAME, dir);
	return 0;
}

static int teardown(void **state)
{
	char tmp[PATH_MAX + 8];

	(void)state;
	snprintf(tmp, sizeof(tmp), "%s.tmp", snap);
	unlink(conf);
	unlink(snap);
	unlink(tmp);
	return rmdir(dir);
}

static void test_path_next_to_store(void **state)
{
	char p[PATH_MAX];

	(void)state;
	assert_true(ward_lastgood_path("/var/lib/warden/warden.db", p, sizeof(p)));
	assert_string_equal(p, "/var/lib/warden/last-good-config.json");
	assert_true(ward_lastgood_path("/warden.db", p, sizeof(p)));
	assert_string_equal(p, "/last-good-config.json");
	assert_false(ward_lastgood_path("/var/lib/warden/warden.db", p, 10));
}

static void test_save_load_round_trip(void **state)
{
	ward_confset_t *cs = NULL;
	ward_error_t e = { 0 };
	ward_config_t cfg;
	json_t *sources = NULL;
	struct stat sb;
	int64_t at = 0;

	(void)state;
	write_file(conf, "{\"ClientMode\": \"LOCKDOWN\", \"DecisionBudgetMs\": 1234, \"TrustedPaths\": [\"/opt/x\"],"
	           " \"BlockedPathRegex\": \"^/tmp/\", \"FileAccessPolicy\": {\"Version\": \"v1\"}}", 0644);
	assert_int_equal(ward_config_load_sources(conf, NULL, WARD_LOAD_CONF_REQUIRED, &cs, NULL, &e), WARD_OK);
	assert_int_equal(ward_lastgood_load(snap, &cfg, &at, NULL, &e), WARD_E_NOTFOUND);
	assert_int_equal(ward_lastgood_save(snap, cs, "start", 1700000000, &e), WARD_OK);
	assert_int_equal(stat(snap, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	assert_int_equal(ward_lastgood_load(snap, &cfg, &at, &sources, &e), WARD_OK);
	assert_int_equal(at, 1700000000);
	assert_int_equal(cfg.mode, WARD_MODE_LOCKDOWN);
	assert_int_equal(cfg.decision_budget_ms, 1234);
	assert_int_equal(cfg.ntrusted_paths, 1);
	assert_string_equal(cfg.trusted_paths[0], "/opt/x");
	assert_string_equal(cfg.blocked_path_regex, "^/tmp/");
	assert_string_equal(cfg.allowed_path_regex, "");
	assert_true(cfg.file_access_policy_set);
	assert_int_equal(json_array_size(sources), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(sources, 0), "file")), conf);
	json_decref(sources);
	ward_confset_free(cs);
}

static void test_untrusted_snapshot_refused(void **state)
{
	ward_error_t e = { 0 };
	ward_config_t cfg;
	int64_t at = 0;

	(void)state;
	write_file(snap, "{\"format\": \"warden-last-good-config\", \"version\": 1, \"saved_at_unix\": 5,"
	           " \"config\": {\"ClientMode\": \"LOCKDOWN\"}}", 0600);
	assert_int_equal(ward_lastgood_load(snap, &cfg, &at, NULL, &e), WARD_OK);
	assert_int_equal(cfg.mode, WARD_MODE_LOCKDOWN);
	/* writable by others: whoever wrote it would choose the policy */
	assert_int_equal(chmod(snap, 0620), 0);
	assert_int_equal(ward_lastgood_load(snap, &cfg, &at, NULL, &e), WARD_E_PERM);
	assert_non_null(strstr(e.msg, snap));
	write_file(snap, "{\"ClientMode\": \"LOCKDOWN\"}", 0600); /* a warden.conf, not a snapshot */
	assert_int_equal(ward_lastgood_load(snap, &cfg, &at, NULL, &e), WARD_E_BADMAGIC);
	write_file(snap, "{\"format\": \"warden-last-good-config\", \"version\": 2, \"saved_at_unix\": 5,"
	           " \"config\": {}}", 0600);
	assert_int_equal(ward_lastgood_load(snap, &cfg, &at, NULL, &e), WARD_E_UNSUPPORTED);
	write_file(snap, "{\"format\": \"warden-last-good-config\", \"version\": 1, \"saved_at_unix\": 5,"
	           " \"config\": {\"ClientMode\": 7}}", 0600);
	cfg.mode = WARD_MODE_LOCKDOWN;
	assert_int_equal(ward_lastgood_load(snap, &cfg, &at, NULL, &e), WARD_E_INVAL);
	assert_non_null(strstr(e.msg, "ClientMode"));
	write_file(snap, "{\"format\": \"warden-last-good-config\", \"vers", 0600);
	assert_int_equal(ward_lastgood_load(snap, &cfg, &at, NULL, &e), WARD_E_MALFORMED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_next_to_store),
		cmocka_unit_test_setup_teardown(test_save_load_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_untrusted_snapshot_refused, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
