/*
 * Unit tests for agent/yarascan.c, the scan step between decide() and the YARA pool,
 * with real rules, real files and a fake backend: what each pool answer becomes, the
 * budget counted from the event's arrival, the late verdict's event-log line, reloads
 * (unchanged files rebuild nothing, a new set flushes the agent's caches, a broken set
 * keeps the old one and is reported, no rules means no pool), the fileinfo view.
 *
 * The slow rule is the one of test_scan.c: a regular expression whose atoms hit at
 * every byte of a file of 'a's (about 1 s for 384 KiB here). Time assertions are
 * correctness bounds, not speed measurements.
 */
#include "tests/unit/testutil.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent/eventlog.h"
#include "agent/yarascan.h"
#include "common/clock.h"

#define SLOW_BYTES (384u << 10)

static char dir[] = "/tmp/warden-test-yarascan-XXXXXX";
static char rules_glob[256], evlog_path[256];
static int flushes;
static bool started; /* the engine's threads run: a new rule set must flush */

struct fx {
	ward_evlog_t *evlog;
	ward_config_t cfg;
	ward_yarascan_t *y;
};

/* The hooks the scan step gets instead of the engine. */
static void h_flush(void *arg)
{
	(void)arg;
	if (started)
		flushes++;
}

static void h_emit(void *arg, const ward_record_t *r)
{
	struct fx *f = arg;
	assert_true(ward_evlog_submit(f->evlog, r));
}

static ward_mode_t h_mode(void *arg)
{
	(void)arg;
	return WARD_MODE_MONITOR;
}

static void put(const char *name, const void *data, size_t len)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static void put_text(const char *name, const char *text)
{
	put(name, text, strlen(text));
}

static void put_slow(const char *name)
{
	uint8_t *buf = malloc(SLOW_BYTES + 1);

	assert_non_null(buf);
	memset(buf, 'a', SLOW_BYTES);
	buf[SLOW_BYTES] = 'b';
	put(name, buf, SLOW_BYTES + 1);
	free(buf);
}

static uint64_t now_ms(void)
{
	return ward_mono_ns() / 1000000u;
}

/* An exec event for dir/name as a backend makes it, arrived ago_ms before now. */
static ward_event_t event(const char *name, uint64_t ago_ms)
{
	char path[512];
	struct stat st;
	ward_event_t ev = { .kind = WARD_EV_EXEC, .proc = { .pid = 1 } };

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ev.fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(ev.fd >= 0);
	assert_int_equal(fstat(ev.fd, &st), 0);
	ev.key_ok = true;
	ward_filekey_from_stat(&st, &ev.key);
	ev.t_recv_ns = ward_mono_ns() - ago_ms * 1000000u;
	return ev;
}

/* The step's outcome in the log's words, as the event log will write it. */
static void words(ward_scanstep_t r, const ward_scan_out_t *so, char *detail, size_t len)
{
	static ward_record_t rec;

	ward_record_reset(&rec, WARD_EV_EXEC);
	rec.scan_step = (int)r + 1;
	snprintf(rec.scan_rule, sizeof(rec.scan_rule), "%s", so->what);
	if (so->audit)
		rec.notes |= WARD_NOTE_SCAN_AUDIT;
	rec.scan_other = so->other_matches > 0;
	ward_record_detail(&rec, detail, len);
}

static ward_scanstep_t step(struct fx *f, const char *name, uint64_t ago_ms, char *detail,
                            size_t len)
{
	ward_event_t ev = event(name, ago_ms);
	ward_identity_t id = { .has_sha256 = true };
	ward_scanstep_t r;

	ward_scan_out_t so;

	memset(id.sha256, 0xab, sizeof(id.sha256));
	memset(&so, 0, sizeof(so));
	r = ward_yarascan_step(f->y, &ev, name, &id, ev.t_recv_ns + (uint64_t)f->cfg.scan_budget_ms * 1000000u, &so);
	words(r, &so, detail, len);
	close(ev.fd);
	return r;
}

static json_t *rules_json(struct fx *f)
{
	return ward_yarascan_rules_json(f->y);
}

static json_int_t rules_int(struct fx *f, const char *key)
{
	json_t *j = rules_json(f);
	json_int_t v = json_integer_value(json_object_get(j, key));

	json_decref(j);
	return v;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	ward_yarascan_hooks_t h = { .flush = h_flush, .emit = h_emit, .mode = h_mode };

	assert_non_null(f);
	h.arg = f;
	assert_non_null(mkdtemp(dir));
	snprintf(rules_glob, sizeof(rules_glob), "%s/*.yar", dir);
	snprintf(evlog_path, sizeof(evlog_path), "%s/events.jsonl", dir);
	ward_config_defaults(&f->cfg);
	f->cfg.scan_budget_ms = 100;
	f->cfg.nyara_rules_paths = 1;
	snprintf(f->cfg.yara_rules_paths[0], WARD_MAX_PATH, "%s", rules_glob);
	assert_int_equal(ward_evlog_open(evlog_path, 64, &f->evlog, NULL), WARD_OK);
	assert_int_equal(ward_evlog_start(f->evlog, NULL), WARD_OK);
	assert_int_equal(ward_yarascan_create(&h, &f->y, NULL), WARD_OK);
	flushes = 0;
	started = false;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[600];

	ward_yarascan_destroy(f->y);
	ward_evlog_close(f->evlog);
	free(f);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	memcpy(dir + strlen(dir) - 6, "XXXXXX", 6);
	return 0;
}

/* No rule file at all: no pool, every step SKIPPED without a word, no error. */
static void test_no_rules(void **state)
{
	struct fx *f = *state;
	ward_error_t err = { 0 };
	char detail[WARD_SCAN_REASON_MAX + 128];
	bool changed;
	json_t *st;

	assert_int_equal(ward_yarascan_reload(f->y, &f->cfg, &changed, &err), WARD_OK);
	assert_true(changed);
	put_text("prog", "anything");
	assert_int_equal(step(f, "prog", 0, detail, sizeof(detail)), WARD_SCANSTEP_SKIPPED);
	assert_string_equal(detail, "");
	st = ward_yarascan_status_json(f->y, &f->cfg);
	assert_true(json_is_false(json_object_get(st, "enabled")));
	assert_true(json_is_null(json_object_get(json_object_get(st, "rules"), "error")));
	json_decref(st);
	/* a missing directory is the same */
	snprintf(f->cfg.yara_rules_paths[0], WARD_MAX_PATH, "%s/absent/*.yar", dir);
	assert_int_equal(ward_yarascan_reload(f->y, &f->cfg, &changed, &err), WARD_OK);
	assert_int_equal(rules_int(f, "count"), 0);
}

static void test_verdicts(void **state)
{
	struct fx *f = *state;
	ward_error_t err = { 0 };
	char detail[WARD_SCAN_REASON_MAX + 128];
	ward_event_t ev;
	ward_identity_t id = { 0 };

	put_text("m.yar", "rule blk : block { strings: $m = \"YS-BLOCK\" condition: $m }\n"
	                  "rule aud : audit { strings: $m = \"YS-AUDIT\" condition: $m }\n"
	                  "rule note { strings: $m = \"YS-NOTE\" condition: $m }\n");
	assert_int_equal(ward_yarascan_reload(f->y, &f->cfg, NULL, &err), WARD_OK);
	assert_int_equal(flushes, 0); /* the engine has not started: nothing to flush */
	put_text("bad", "xx YS-BLOCK xx");
	put_text("aud", "xx YS-AUDIT xx");
	put_text("note", "xx YS-NOTE xx");
	put_text("clean", "nothing here");
	assert_int_equal(step(f, "bad", 0, detail, sizeof(detail)), WARD_SCANSTEP_BLOCK);
	assert_string_equal(detail, "yara:m:blk (block)");
	assert_int_equal(step(f, "aud", 0, detail, sizeof(detail)), WARD_SCANSTEP_CLEAN);
	assert_string_equal(detail, "yara:m:aud (audit)");
	assert_int_equal(step(f, "note", 0, detail, sizeof(detail)), WARD_SCANSTEP_CLEAN);
	assert_non_null(strstr(detail, "none block or audit (yara:m:note)"));
	assert_int_equal(step(f, "clean", 0, detail, sizeof(detail)), WARD_SCANSTEP_CLEAN);
	assert_string_equal(detail, "yara: no match");

	/* over ScanMaxBytes (taken from the config on reload): not scanned, for good */
	f->cfg.scan_max_bytes = 5;
	assert_int_equal(ward_yarascan_reload(f->y, &f->cfg, NULL, &err), WARD_OK);
	assert_int_equal(step(f, "bad", 0, detail, sizeof(detail)), WARD_SCANSTEP_SKIPPED);
	assert_non_null(strstr(detail, "over ScanMaxBytes (5)"));
	f->cfg.scan_max_bytes = 1u << 20;
	assert_int_equal(ward_yarascan_reload(f->y, &f->cfg, NULL, &err), WARD_OK);

	/* the file changed since the kernel's stat: not scanned this time, never cached */
	ev = event("clean", 0);
	ev.key.size++;
	ward_scan_out_t so = { .what = "" };
	assert_int_equal(ward_yarascan_step(f->y, &ev, NULL, &id, ward_mono_ns() + 1000000000ull, &so),
	                 WARD_SCANSTEP_UNSCANNED);
	assert_non_null(strstr(so.what, "file changed"));
	close(ev.fd);
}

/* What fileinfo shows: the cached verdict of the active generation, or found = false. */
static void test_lookup(void **state)
{
	struct fx *f = *state;
	char detail[WARD_SCAN_REASON_MAX + 128], path[512];
	ward_scan_key_t key;
	struct stat st;
	json_t *j;

	put_text("m.yar", "rule blk : block { strings: $m = \"YS-BLOCK\" condition: $m }\n");
	assert_int_equal(ward_yarascan_reload(f->y, &f->cfg, NULL, NULL), WARD_OK);
	put_text("bad", "xx YS-BLOCK xx");
	snprintf(path, sizeof(path), "%s/bad", dir);
	assert_int_equal(stat(path, &st), 0);
	ward_scan_key_from_stat(&st, &key);
	j = ward_yarascan_lookup_json(f->y, &key);
	assert_true(json_is_true(json_object_get(j, "scanning")));
	assert_true(json_is_false(json_object_get(j, "found")));
	json_decref(j);
	assert_int_equal(step(f, "bad", 0, detail, sizeof(detail)), WARD_SCANSTEP_BLOCK);
	j = ward_yarascan_lookup_json(f->y, &key);
	assert_true(json_is_true(json_object_get(j, "found")));
	assert_string_equal(json_string_value(json_object_get(j, "action")), "block");
	assert_string_equal(json_string_value(json_object_get(j, "reason")), "yara:m:blk");
	assert_int_equal(json_integer_value(json_object_get(j, "generation")), rules_int(f, "generation"));
	json_decref(j);
}

/* Read the event log until a "kind":"scan" line for path shows up (10 s at most). */
static json_t *wait_scan_line(const char *path)
{
	for (int i = 0; i < 200; i++) {
		FILE *fp = fopen(evlog_path, "r");
		char line[8192];

		while (fp && fgets(line, sizeof(line), fp)) {
			json_t *j = json_loads(line, 0, NULL);
			if (j && strcmp(json_string_value(json_object_get(j, "kind")), "scan") == 0 &&
			    strcmp(json_string_value(json_object_get(j, "path")), path) == 0) {
				fclose(fp);
				return j;
			}
			json_decref(j);
		}
		if (fp)
			fclose(fp);
		struct timespec ts = { 0, 50 * 1000000L };
		nanosleep(&ts, NULL);
	}
	fail_msg("no scan line in the event log");
	return NULL;
}

/*
 * The budget counts from the event's arrival: an event that already waited longer than
 * ScanBudgetMs gets no wait at all; one that waited part of it gets the rest. The late
 * verdict reaches the log and the pool's cache.
 */
static void test_budget_and_late_verdict(void **state)
{
	struct fx *f = *state;
	char detail[WARD_SCAN_REASON_MAX + 128];
	uint64_t t0;
	json_t *j;

	put_text("s.yar", "rule slow : block { strings: $r = /aa[a-z]{1,100}b/ condition: $r }\n");
	assert_int_equal(ward_yarascan_reload(f->y, &f->cfg, NULL, NULL), WARD_OK);
	put_slow("slow");
	put_slow("slow2");

	t0 = now_ms();
	assert_int_equal(step(f, "slow", 150, detail, sizeof(detail)), WARD_SCANSTEP_PENDING);
	/* the budget was already spent: no wait (waiting it out would take >= 100 ms) */
	assert_true(now_ms() - t0 < 100);
	assert_non_null(strstr(detail, "scan pending: no YARA verdict within the budget"));

	t0 = now_ms();
	assert_int_equal(step(f, "slow2", 60, detail, sizeof(detail)), WARD_SCANSTEP_PENDING);
	assert_true(now_ms() - t0 >= 35);  /* ~40 ms were left */
	assert_true(now_ms() - t0 < 100);  /* not the whole budget */

	j = wait_scan_line("slow");
	assert_string_equal(json_string_value(json_object_get(j, "decision")), "DENY");
	assert_string_equal(json_string_value(json_object_get(j, "reason")), "scan");
	assert_non_null(strstr(json_string_value(json_object_get(j, "detail")),
	                       "late scan verdict: yara:s:slow (block)"));
	assert_string_equal(json_string_value(json_object_get(j, "sha256")),
	                    "abababababababababababababababababababababababababababababababab");
	assert_true(json_is_null(json_object_get(j, "pid")));
	json_decref(j);
	/* ...and the next exec is decided from the cache at once */
	t0 = now_ms();
	assert_int_equal(step(f, "slow", 0, detail, sizeof(detail)), WARD_SCANSTEP_BLOCK);
	assert_true(now_ms() - t0 < 50);
	/* let slow2's scan finish before teardown (destroy would leave it running) */
	for (int i = 0; i < 200; i++) {
		json_t *s = ward_yarascan_status_json(f->y, &f->cfg);
		json_int_t late = json_integer_value(json_object_get(s, "late_logged"));
		json_decref(s);
		if (late >= 2)
			break;
		struct timespec ts = { 0, 50 * 1000000L };
		nanosleep(&ts, NULL);
	}
}

static void test_reload(void **state)
{
	struct fx *f = *state;
	ward_error_t err = { 0 };
	char detail[WARD_SCAN_REASON_MAX + 128];
	json_int_t gen;
	bool changed;
	json_t *j;

	put_text("a.yar", "rule one : block { strings: $m = \"YS-ONE\" condition: $m }\n");
	assert_int_equal(ward_yarascan_reload(f->y, &f->cfg, &changed, &err), WARD_OK);
	assert_true(changed);
	started = true; /* from now on a new set must flush the engine's caches */
	gen = rules_int(f, "generation");
	put_text("two", "xx YS-TWO xx");
	assert_int_equal(step(f, "two", 0, detail, sizeof(detail)), WARD_SCANSTEP_CLEAN);

	/* unchanged files: nothing rebuilt, nothing flushed */
	assert_int_equal(ward_yarascan_reload(f->y, &f->cfg, &changed, &err), WARD_OK);
	assert_false(changed);
	assert_int_equal(rules_int(f, "generation"), gen);
	assert_int_equal(flushes, 0);

	/* a broken file: the old set stays, the error names file and line */
	put_text("b.yar", "rule ok { condition: true }\nrule broken { condition: and }\n");
	ward_err_t rc = ward_yarascan_reload(f->y, &f->cfg, &changed, &err);
	assert_int_not_equal(rc, WARD_OK);
	assert_false(changed);
	assert_non_null(strstr(err.msg, "b.yar:2:"));
	assert_int_equal(rules_int(f, "generation"), gen);
	assert_int_equal(rules_int(f, "reload_failures"), 1);
	j = rules_json(f);
	assert_non_null(strstr(json_string_value(json_object_get(j, "error")), "b.yar:2:"));
	json_decref(j);
	assert_int_equal(flushes, 0);
	put_text("one", "xx YS-ONE xx");
	assert_int_equal(step(f, "one", 0, detail, sizeof(detail)), WARD_SCANSTEP_BLOCK);
	/* the same broken files again: not recompiled, still reported */
	assert_int_equal(ward_yarascan_reload(f->y, &f->cfg, &changed, &err), rc);
	assert_int_equal(rules_int(f, "reload_failures"), 1);

	/* the broken file removed: the files are the active set's again, the error clears */
	snprintf(detail, sizeof(detail), "%s/b.yar", dir);
	assert_int_equal(unlink(detail), 0);
	assert_int_equal(ward_yarascan_reload(f->y, &f->cfg, &changed, &err), WARD_OK);
	assert_false(changed);
	j = rules_json(f);
	assert_true(json_is_null(json_object_get(j, "error")));
	json_decref(j);

	/* a new rule: a new generation, the agent's caches flushed, the file rescanned */
	put_text("c.yar", "rule two : block { strings: $m = \"YS-TWO\" condition: $m }\n");
	assert_int_equal(ward_yarascan_reload(f->y, &f->cfg, &changed, &err), WARD_OK);
	assert_true(changed);
	assert_true(rules_int(f, "generation") > gen);
	assert_int_equal(rules_int(f, "count"), 2);
	assert_int_equal(flushes, 1);
	assert_int_equal(step(f, "two", 0, detail, sizeof(detail)), WARD_SCANSTEP_BLOCK);

	/* --yara overrides YaraRulesPaths */
	const char *only[] = { detail };
	snprintf(detail, sizeof(detail), "%s/a.yar", dir);
	assert_int_equal(ward_yarascan_override(f->y, only, 1, &err), WARD_OK);
	assert_int_equal(ward_yarascan_reload(f->y, &f->cfg, &changed, &err), WARD_OK);
	assert_true(changed);
	assert_int_equal(rules_int(f, "count"), 1);
	assert_int_equal(step(f, "two", 0, detail, sizeof(detail)), WARD_SCANSTEP_CLEAN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_no_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verdicts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lookup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_budget_and_late_verdict, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reload, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
