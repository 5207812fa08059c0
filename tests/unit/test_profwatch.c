/*
 * Unit tests for agent/profwatch.c: which changes to warden.conf and the profiles
 * directory schedule a reload, the debounce (quiet period, maximum delay) on a clock
 * the test drives, following the directory when it is created, moved or removed, and
 * the reload record that status shows. inotify on a private directory under /tmp;
 * inotify events are queued by the syscall that causes them, so no waiting is needed.
 */
#include "tests/unit/testutil.h"

#define _XOPEN_SOURCE_EXTENDED 1
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/profwatch.h"
#include "profiles/diag.h"

struct fx {
	char base[64];
	char conf[192];
	char pdir[192];
};

static void put(const char *dir, const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static const char *in(const char *dir, const char *name)
{
	static char path[2][256];
	static int k;

	k ^= 1;
	snprintf(path[k], sizeof(path[k]), "%s/%s", dir, name);
	return path[k];
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->base, sizeof(f->base), "/tmp/ward-profwatch.XXXXXX");
	assert_non_null(mkdtemp(f->base));
	snprintf(f->conf, sizeof(f->conf), "%s/warden.conf", f->base);
	snprintf(f->pdir, sizeof(f->pdir), "%s/profiles", f->base);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	tu_rmtree(f->base);
	free(f);
	return 0;
}

static ward_profwatch_t *open_pw(const struct fx *f)
{
	ward_profwatch_t *pw = NULL;
	ward_error_t err = { 0 };

	assert_int_equal(ward_profwatch_create(f->conf, f->pdir, &pw, &err), WARD_OK);
	assert_true(ward_profwatch_fd(pw) >= 0);
	return pw;
}

/* Whether a reload got scheduled by what happened since the last call (and clear it). */
static bool scheduled(ward_profwatch_t *pw, uint64_t now)
{
	ward_profwatch_read(pw, now);
	if (ward_profwatch_timeout(pw, now) < 0)
		return false;
	assert_true(ward_profwatch_due(pw, now + WARD_RELOAD_MAX_DELAY_MS));
	assert_int_equal(ward_profwatch_timeout(pw, now), -1);
	return true;
}

static void test_debounce(void **state)
{
	struct fx *f = *state;
	ward_profwatch_t *pw;

	assert_int_equal(mkdir(f->pdir, 0755), 0);
	pw = open_pw(f);
	assert_int_equal(ward_profwatch_timeout(pw, 1000), -1);
	assert_false(ward_profwatch_due(pw, 1000));

	/* one change: due WARD_RELOAD_QUIET_MS later, once */
	put(f->pdir, "10-a.plist", "<plist/>");
	ward_profwatch_read(pw, 1000);
	assert_int_equal(ward_profwatch_timeout(pw, 1000), WARD_RELOAD_QUIET_MS);
	assert_false(ward_profwatch_due(pw, 1000 + WARD_RELOAD_QUIET_MS - 1));
	assert_true(ward_profwatch_due(pw, 1000 + WARD_RELOAD_QUIET_MS));
	assert_false(ward_profwatch_due(pw, 1000 + WARD_RELOAD_QUIET_MS + 1));
	assert_int_equal(ward_profwatch_timeout(pw, 2000), -1);

	/* a writer that keeps writing postpones the reload, but not past the maximum delay */
	uint64_t t = 10000;
	for (; t < 10000 + WARD_RELOAD_MAX_DELAY_MS; t += 100) {
		put(f->pdir, "10-a.plist", "<plist/>");
		ward_profwatch_read(pw, t);
		assert_false(ward_profwatch_due(pw, t));
		assert_true(ward_profwatch_timeout(pw, t) <= (int)WARD_RELOAD_QUIET_MS);
	}
	put(f->pdir, "10-a.plist", "<plist/>");
	ward_profwatch_read(pw, t);
	assert_int_equal(ward_profwatch_timeout(pw, t), 0);
	assert_true(ward_profwatch_due(pw, t));
	ward_profwatch_destroy(pw);
}

static void test_relevant_names(void **state)
{
	struct fx *f = *state;
	ward_profwatch_t *pw;

	assert_int_equal(mkdir(f->pdir, 0755), 0);
	pw = open_pw(f);

	/* not profiles, and other files next to warden.conf: nothing to reload */
	put(f->pdir, "notes.txt", "x");
	put(f->pdir, ".20-b.plist.tmp", "x");
	put(f->pdir, ".20-b.plist", "x");
	put(f->base, "warden.conf.bak", "{}");
	assert_false(scheduled(pw, 1000));
	assert_int_equal(ward_profwatch_changes(pw), 0);

	/* a profile renamed into place (how MDM clients write), a .mobileconfig, removal */
	assert_int_equal(rename(in(f->pdir, ".20-b.plist"), in(f->pdir, "20-b.plist")), 0);
	assert_true(scheduled(pw, 2000));
	put(f->pdir, "30-c.mobileconfig", "x");
	assert_true(scheduled(pw, 3000));
	assert_int_equal(chmod(in(f->pdir, "30-c.mobileconfig"), 0600), 0);
	assert_true(scheduled(pw, 4000));
	assert_int_equal(unlink(in(f->pdir, "20-b.plist")), 0);
	assert_true(scheduled(pw, 5000));
	/* a profile renamed away to a name that is not read */
	assert_int_equal(rename(in(f->pdir, "30-c.mobileconfig"), in(f->pdir, "30-c.mobileconfig.off")), 0);
	assert_true(scheduled(pw, 6000));

	/* warden.conf: written in place, replaced by rename, removed */
	put(f->base, "warden.conf", "{}");
	assert_true(scheduled(pw, 7000));
	put(f->base, ".warden.conf.new", "{}");
	assert_false(scheduled(pw, 8000));
	assert_int_equal(rename(in(f->base, ".warden.conf.new"), f->conf), 0);
	assert_true(scheduled(pw, 9000));
	assert_int_equal(unlink(f->conf), 0);
	assert_true(scheduled(pw, 10000));
	ward_profwatch_destroy(pw);
}

static void test_directory_follows(void **state)
{
	struct fx *f = *state;
	ward_profwatch_t *pw = open_pw(f);
	char old[224];

	/* no profiles directory yet: its creation is seen, then what is written in it */
	put(f->base, "x", "");
	assert_false(scheduled(pw, 1000));
	assert_int_equal(mkdir(f->pdir, 0755), 0);
	assert_true(scheduled(pw, 2000));
	put(f->pdir, "10-a.plist", "x");
	assert_true(scheduled(pw, 3000));

	/* moved away: a reload (its profiles are gone), and the old one is not watched */
	snprintf(old, sizeof(old), "%s.old", f->pdir);
	assert_int_equal(rename(f->pdir, old), 0);
	assert_true(scheduled(pw, 4000));
	put(old, "20-b.plist", "x");
	assert_false(scheduled(pw, 5000));

	/* another directory moved into place is watched */
	assert_int_equal(rename(old, f->pdir), 0);
	assert_true(scheduled(pw, 6000));
	put(f->pdir, "30-c.plist", "x");
	assert_true(scheduled(pw, 7000));

	/* a new directory renamed over the (empty) one in place: the new one is watched */
	snprintf(old, sizeof(old), "%s.new", f->pdir);
	assert_int_equal(mkdir(old, 0755), 0);
	put(old, "50-e.plist", "x");
	assert_false(scheduled(pw, 7500));
	assert_int_equal(unlink(in(f->pdir, "10-a.plist")), 0);
	assert_int_equal(unlink(in(f->pdir, "20-b.plist")), 0);
	assert_int_equal(unlink(in(f->pdir, "30-c.plist")), 0);
	assert_true(scheduled(pw, 7600));
	assert_int_equal(rename(old, f->pdir), 0);
	assert_true(scheduled(pw, 7700));
	put(f->pdir, "60-f.plist", "x");
	assert_true(scheduled(pw, 7800));

	/* removed, then made again */
	assert_int_equal(tu_rmtree(f->pdir), 0);
	assert_true(scheduled(pw, 8000));
	assert_int_equal(mkdir(f->pdir, 0755), 0);
	assert_true(scheduled(pw, 9000));
	put(f->pdir, "40-d.plist", "x");
	assert_true(scheduled(pw, 10000));
	ward_profwatch_destroy(pw);
}

/* Nothing exists yet (no /etc/warden): the periodic tick notices the directory. */
static void test_tick_finds_new_directory(void **state)
{
	struct fx *f = *state;
	ward_profwatch_t *pw;
	char etc[128];

	snprintf(etc, sizeof(etc), "%s/etc", f->base);
	snprintf(f->conf, sizeof(f->conf), "%s/warden.conf", etc);
	snprintf(f->pdir, sizeof(f->pdir), "%s/profiles", etc);
	pw = open_pw(f);
	ward_profwatch_tick(pw, 1000);
	assert_false(scheduled(pw, 1000));
	assert_int_equal(mkdir(etc, 0755), 0);
	ward_profwatch_tick(pw, 2000);
	assert_int_equal(ward_profwatch_timeout(pw, 2000), WARD_RELOAD_QUIET_MS);
	assert_true(scheduled(pw, 2000));
	ward_profwatch_tick(pw, 3000); /* watched now: nothing new */
	assert_false(scheduled(pw, 3000));
	put(etc, "warden.conf", "{}");
	assert_true(scheduled(pw, 4000));
	assert_int_equal(mkdir(f->pdir, 0755), 0);
	assert_true(scheduled(pw, 5000));
	ward_profwatch_destroy(pw);
}

static void test_record(void **state)
{
	struct fx *f = *state;
	ward_profwatch_t *pw;
	ward_confset_t *cs = NULL;
	ward_error_t err = { 0 };
	json_t *st, *diags;

	assert_int_equal(mkdir(f->pdir, 0755), 0);
	put(f->pdir, "10-mode.plist",
	    "<?xml version=\"1.0\"?>\n<plist version=\"1.0\"><dict>\n"
	    "<key>ClientMode</key><string>LOCKDOWN</string>\n<key>NoSuchKey</key><true/>\n</dict></plist>\n");
	assert_int_equal(ward_config_load_sources(NULL, f->pdir, 0, &cs, NULL, &err), WARD_OK);
	pw = open_pw(f);

	/* before the first load: nothing in force, no error */
	st = ward_profwatch_status(pw);
	assert_true(json_is_null(json_object_get(st, "loaded_at")));
	assert_true(json_is_null(json_object_get(st, "last_error")));
	assert_string_equal(json_string_value(json_object_get(st, "profiles_dir")), f->pdir);
	assert_string_equal(json_string_value(json_object_get(st, "config_file")), f->conf);
	assert_true(json_is_true(json_object_get(st, "watching")));
	json_decref(st);

	ward_profwatch_loaded(pw, cs, "start");
	assert_false(ward_profwatch_in_error(pw));
	st = ward_profwatch_status(pw);
	assert_string_equal(json_string_value(json_object_get(st, "loaded_trigger")), "start");
	assert_true(json_is_string(json_object_get(st, "loaded_at")));
	assert_int_equal(json_integer_value(json_object_get(st, "reloads")), 0);
	assert_int_equal(json_array_size(json_object_get(st, "sources")), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(st, "sources"), 0), "file")),
	                    in(f->pdir, "10-mode.plist"));
	assert_int_equal(json_array_size(json_object_get(st, "warnings")), 1); /* NoSuchKey */
	json_decref(st);

	/* a failed attempt: shown with every error (not the warnings), counted */
	diags = json_array();
	ward_diag_add(diags, WARD_DIAG_WARNING, "/p/20-x.plist", 3, "Foo", "unknown key");
	ward_diag_add(diags, WARD_DIAG_ERROR, "/p/30-y.plist", 12, NULL, "Opening and ending tag mismatch");
	ward_diag_add(diags, WARD_DIAG_ERROR, "/p/40-z.plist", 7, "DecisionBudgetMs", "5 is out of range");
	ward_error_set(&err, WARD_E_MALFORMED, "/p/30-y.plist:12: Opening and ending tag mismatch (and 1 more error)");
	ward_profwatch_failed(pw, &err, diags, "inotify");
	json_decref(diags);
	assert_true(ward_profwatch_in_error(pw));
	st = ward_profwatch_status(pw);
	json_t *e = json_object_get(st, "last_error");
	assert_true(json_is_object(e));
	assert_string_equal(json_string_value(json_object_get(e, "message")), err.msg);
	assert_string_equal(json_string_value(json_object_get(e, "trigger")), "inotify");
	assert_string_equal(json_string_value(json_object_get(e, "code")), "malformed");
	assert_int_equal(json_array_size(json_object_get(e, "errors")), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(e, "errors"), 0), "text")),
	                    "/p/30-y.plist:12: Opening and ending tag mismatch");
	assert_int_equal(json_integer_value(json_object_get(st, "failures")), 1);
	/* the configuration in force is still the one loaded before */
	assert_string_equal(json_string_value(json_object_get(st, "loaded_trigger")), "start");
	assert_int_equal(json_array_size(json_object_get(st, "sources")), 1);
	json_decref(st);

	/* the next good load clears the error */
	ward_profwatch_loaded(pw, cs, "SIGHUP");
	assert_false(ward_profwatch_in_error(pw));
	st = ward_profwatch_status(pw);
	assert_true(json_is_null(json_object_get(st, "last_error")));
	assert_int_equal(json_integer_value(json_object_get(st, "reloads")), 1);
	assert_int_equal(json_integer_value(json_object_get(st, "failures")), 1);
	assert_string_equal(json_string_value(json_object_get(st, "loaded_trigger")), "SIGHUP");
	json_decref(st);
	ward_profwatch_destroy(pw);
	ward_confset_free(cs);
}

static void test_no_paths(void **state)
{
	ward_profwatch_t *pw = NULL;
	json_t *st;
	(void)state;

	assert_int_equal(ward_profwatch_create(NULL, "", &pw, NULL), WARD_OK);
	assert_int_equal(ward_profwatch_timeout(pw, 0), -1);
	ward_profwatch_tick(pw, 0);
	assert_false(ward_profwatch_due(pw, 100000));
	st = ward_profwatch_status(pw);
	assert_true(json_is_null(json_object_get(st, "config_file")));
	assert_true(json_is_null(json_object_get(st, "profiles_dir")));
	assert_true(json_is_false(json_object_get(st, "watching")));
	json_decref(st);
	ward_profwatch_destroy(pw);
	ward_profwatch_destroy(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_debounce, setup, teardown),
		cmocka_unit_test_setup_teardown(test_relevant_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_directory_follows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tick_finds_new_directory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_record, setup, teardown),
		cmocka_unit_test(test_no_paths),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
