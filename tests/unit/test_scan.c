/*
 * Unit tests for scanner/scan.[ch] and scanner/scanpool.c: what a match means, the
 * time budget, one scan per key, rule reloads, limits, the bounded queue.
 *
 * The slow rule is a regular expression whose atoms hit at every byte of a file made
 * of 'a's, each hit running the regex up to 100 bytes forward: about 1 s for the
 * 384 KiB file below on this machine kind. Assertions about time are correctness
 * bounds (a caller is answered within budget + margin, long before the scan ends),
 * not speed measurements.
 */
#include "tests/unit/testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <yara.h>

#include "scanner/scan.h"

#define MARK_BLOCK "WARDEN-TEST-BLOCK-MARKER"
#define MARK_META "WARDEN-TEST-META-MARKER"
#define MARK_AUDIT "WARDEN-TEST-AUDIT-MARKER"
#define MARK_PLAIN "WARDEN-TEST-PLAIN-MARKER"

#define SLOW_BYTES (384u << 10)
#define BUDGET_MS 100u
#define MARGIN_MS 100u

static const char rules_main[] =
	"rule tagged_block : block { strings: $m = \"" MARK_BLOCK "\" condition: $m }\n"
	"rule meta_block { meta: warden_action = \"block\" strings: $m = \"" MARK_META "\"\n"
	"  condition: $m }\n"
	"rule audited : audit { strings: $m = \"" MARK_AUDIT "\" condition: $m }\n"
	"rule plain { strings: $m = \"" MARK_PLAIN "\" condition: $m }\n"
	"rule slow : block { strings: $r = /aa[a-z]{1,100}b/ condition: $r }\n";

static char tmpdir[] = "/tmp/warden-test-scan-XXXXXX";

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Write a file in tmpdir; returns its path in a static-lifetime buffer from the caller. */
static void put_file(char *path, size_t cap, const char *name, const void *data, size_t len)
{
	int fd;

	snprintf(path, cap, "%s/%s", tmpdir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static void put_text(char *path, size_t cap, const char *name, const char *text)
{
	put_file(path, cap, name, text, strlen(text));
}

/* A binary-looking file with a marker in the middle. */
static void put_marked(char *path, size_t cap, const char *name, const char *marker)
{
	uint8_t buf[8192];

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 131u + 7u);
	if (marker)
		memcpy(buf + 4000, marker, strlen(marker));
	put_file(path, cap, name, buf, sizeof(buf));
}

static void put_slow(char *path, size_t cap, const char *name)
{
	uint8_t *buf = malloc(SLOW_BYTES + 1);

	assert_non_null(buf);
	memset(buf, 'a', SLOW_BYTES);
	buf[SLOW_BYTES] = 'b'; /* so the slow rule finally matches: the late verdict is BLOCK */
	put_file(path, cap, name, buf, SLOW_BYTES + 1);
	free(buf);
}

static void key_of(const char *path, ward_scan_key_t *key)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	ward_scan_key_from_stat(&st, key);
}

static ward_yrules_t *compile(const char *src)
{
	ward_yrules_t *r = NULL;
	ward_error_t e = { 0 };

	if (ward_yrules_compile_string(src, "t", NULL, NULL, &r, &e) != WARD_OK)
		fail_msg("compile: %s", e.msg);
	return r;
}

static ward_scanpool_t *pool_with(ward_yrules_t *r, unsigned workers, unsigned queue)
{
	ward_scanpool_opts_t o;
	ward_scanpool_t *p = NULL;
	ward_error_t e = { 0 };

	ward_scanpool_opts_default(&o);
	o.workers = workers;
	o.queue_len = queue;
	if (ward_scanpool_create(&o, &p, &e) != WARD_OK)
		fail_msg("pool: %s", e.msg);
	ward_scanpool_set_rules(p, r);
	return p;
}

/* Submit path (opened by the worker) with its current key. */
static ward_scan_verdict_t submit_path(ward_scanpool_t *p, const char *path, uint32_t budget_ms)
{
	ward_scan_req_t req = { .fd = -1, .path = path, .budget_ms = budget_ms };
	ward_scan_verdict_t v;

	key_of(path, &req.key);
	assert_int_equal(ward_scanpool_submit(p, &req, &v, NULL), WARD_OK);
	return v;
}

/* Same through an open fd, closed right after submitting (the pool keeps its own). */
static ward_scan_verdict_t submit_fd(ward_scanpool_t *p, const char *path, uint32_t budget_ms)
{
	ward_scan_req_t req = { .path = path, .budget_ms = budget_ms };
	ward_scan_verdict_t v;
	struct stat st;

	req.fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(req.fd >= 0);
	assert_int_equal(fstat(req.fd, &st), 0);
	ward_scan_key_from_stat(&st, &req.key);
	assert_int_equal(ward_scanpool_submit(p, &req, &v, NULL), WARD_OK);
	close(req.fd);
	return v;
}

static void wait_running(ward_scanpool_t *p, unsigned n)
{
	ward_scanpool_stats_t st;
	uint64_t t0 = now_ms();

	for (;;) {
		ward_scanpool_stats(p, &st);
		if (st.running >= n)
			return;
		if (now_ms() - t0 > 10000)
			fail_msg("no scan started within 10 s");
		sleep_ms(2);
	}
}

/* Threads of this process whose nice value is nice (/proc/self/task/<tid>/stat field 19). */
static unsigned threads_with_nice(int nice)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *de;
	unsigned n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		char path[300], buf[1024], *p;
		int field = 3, val;
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/stat", de->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		p = fgets(buf, sizeof(buf), f);
		fclose(f);
		if (p == NULL || (p = strrchr(buf, ')')) == NULL)
			continue;
		for (p = strtok(p + 1, " "); p && field < 19; p = strtok(NULL, " "))
			field++;
		if (p && sscanf(p, "%d", &val) == 1 && val == nice)
			n++;
	}
	closedir(d);
	return n;
}

/* ------------------------------------------------------------------ meaning */

static void test_block_rule_blocks_with_reason(void **state)
{
	char blk[512], meta[512];
	ward_yrules_t *r = compile(rules_main);
	ward_scanpool_t *p = pool_with(r, 2, 8);
	ward_scan_verdict_t v;

	(void)state;
	put_marked(blk, sizeof(blk), "blk.bin", MARK_BLOCK);
	put_marked(meta, sizeof(meta), "meta.bin", MARK_META);

	v = submit_fd(p, blk, 10000);
	assert_int_equal(v.status, WARD_SCAN_DONE);
	assert_int_equal(v.action, WARD_SCAN_BLOCK);
	assert_string_equal(v.reason, "yara:t:tagged_block");
	assert_int_equal(v.nmatches, 1);
	assert_false(v.cached);
	assert_int_equal(v.generation, ward_yrules_generation(r));

	v = submit_path(p, meta, 10000);
	assert_int_equal(v.status, WARD_SCAN_DONE);
	assert_int_equal(v.action, WARD_SCAN_BLOCK);
	assert_string_equal(v.reason, "yara:t:meta_block");

	/* Asked again: from the cache, no second scan. */
	v = submit_path(p, blk, 10000);
	assert_int_equal(v.action, WARD_SCAN_BLOCK);
	assert_true(v.cached);
	ward_scanpool_stats_t st;
	ward_scanpool_stats(p, &st);
	assert_int_equal(st.scans, 2);
	assert_int_equal(st.cache_hits, 1);
	assert_int_equal(st.blocked, 2);
	assert_true(st.scan_us_p99 >= st.scan_us_p50);
	assert_true(st.scan_us_max >= st.scan_us_mean);

	ward_scanpool_destroy(p);
	ward_yrules_unref(r);
}

static void test_audit_logs_plain_rule_has_no_effect(void **state)
{
	char aud[512], plain[512], clean[512], both[512];
	ward_yrules_t *r = compile(rules_main);
	ward_scanpool_t *p = pool_with(r, 2, 8);
	ward_scan_verdict_t v;
	uint8_t buf[4096];

	(void)state;
	put_marked(aud, sizeof(aud), "aud.bin", MARK_AUDIT);
	put_marked(plain, sizeof(plain), "plain.bin", MARK_PLAIN);
	put_marked(clean, sizeof(clean), "clean.bin", NULL);
	memset(buf, 0, sizeof(buf));
	memcpy(buf + 10, MARK_AUDIT, strlen(MARK_AUDIT));
	memcpy(buf + 1000, MARK_BLOCK, strlen(MARK_BLOCK));
	put_file(both, sizeof(both), "both.bin", buf, sizeof(buf));

	v = submit_path(p, aud, 10000);
	assert_int_equal(v.status, WARD_SCAN_DONE);
	assert_int_equal(v.action, WARD_SCAN_AUDIT);
	assert_string_equal(v.reason, "yara:t:audited");

	v = submit_path(p, plain, 10000);
	assert_int_equal(v.status, WARD_SCAN_DONE);
	assert_int_equal(v.action, WARD_SCAN_NONE);
	assert_int_equal(v.nmatches, 1);
	assert_string_equal(v.reason, "yara:t:plain");

	v = submit_path(p, clean, 10000);
	assert_int_equal(v.status, WARD_SCAN_DONE);
	assert_int_equal(v.action, WARD_SCAN_NONE);
	assert_int_equal(v.nmatches, 0);
	assert_string_equal(v.reason, "");

	/* Block wins over audit, whichever rule comes first. */
	v = submit_path(p, both, 10000);
	assert_int_equal(v.action, WARD_SCAN_BLOCK);
	assert_int_equal(v.nmatches, 2);
	assert_string_equal(v.reason, "yara:t:tagged_block");

	ward_scanpool_destroy(p);
	ward_yrules_unref(r);
}

static void test_bad_warden_action_is_rejected(void **state)
{
	ward_yrules_t *r = (ward_yrules_t *)1;
	ward_error_t e = { 0 };

	(void)state;
	assert_int_equal(ward_yrules_compile_string(
	        "rule typo { meta: warden_action = \"blok\" condition: true }", "ns", NULL, NULL,
	        &r, &e), WARD_E_INVAL);
	assert_null(r);
	assert_non_null(strstr(e.msg, "ns:typo"));
	assert_non_null(strstr(e.msg, "blok"));
	assert_int_equal(ward_yrules_compile_string(
	        "rule num { meta: warden_action = 1 condition: true }", "ns", NULL, NULL, &r, &e),
	        WARD_E_INVAL);
}

/* ------------------------------------------------------------------ time */

struct late_log {
	pthread_mutex_t mu;
	unsigned calls, late;
	ward_scan_verdict_t last;
};

static void on_done(void *ctx, const ward_scan_key_t *key, const char *path,
                    const ward_scan_verdict_t *v, bool late)
{
	struct late_log *l = ctx;

	(void)key;
	(void)path;
	pthread_mutex_lock(&l->mu);
	l->calls++;
	l->late += late;
	l->last = *v;
	pthread_mutex_unlock(&l->mu);
}

static void test_budget_holds_and_late_verdict_lands(void **state)
{
	struct late_log log = { .mu = PTHREAD_MUTEX_INITIALIZER };
	char slow[512];
	ward_yrules_t *r = compile(rules_main);
	ward_scanpool_opts_t o;
	ward_scanpool_t *p = NULL;
	ward_scan_verdict_t v;
	ward_scan_key_t key;
	ward_scanpool_stats_t st;
	uint64_t t0, took;

	(void)state;
	put_slow(slow, sizeof(slow), "slow.bin");
	key_of(slow, &key);
	ward_scanpool_opts_default(&o);
	o.workers = 2;
	o.on_done = on_done;
	o.on_done_ctx = &log;
	assert_int_equal(ward_scanpool_create(&o, &p, NULL), WARD_OK);
	ward_scanpool_set_rules(p, r);

	t0 = now_ms();
	v = submit_fd(p, slow, BUDGET_MS);
	took = now_ms() - t0;
	assert_int_equal(v.status, WARD_SCAN_PENDING);
	assert_true(took + 1 >= BUDGET_MS);          /* it did wait out its budget */
	assert_true(took <= BUDGET_MS + MARGIN_MS);  /* and not longer */
	/* The scan is still running: no verdict yet, nothing reported yet. */
	assert_false(ward_scanpool_lookup(p, &key, &v));
	pthread_mutex_lock(&log.mu);
	assert_int_equal(log.calls, 0);
	pthread_mutex_unlock(&log.mu);

	/* The late verdict lands in the cache. */
	t0 = now_ms();
	while (!ward_scanpool_lookup(p, &key, &v)) {
		if (now_ms() - t0 > 60000)
			fail_msg("no late verdict within 60 s");
		sleep_ms(10);
	}
	assert_int_equal(v.status, WARD_SCAN_DONE);
	assert_int_equal(v.action, WARD_SCAN_BLOCK);
	assert_string_equal(v.reason, "yara:t:slow");
	/* The caller was answered long before the scan ended. */
	assert_true(v.scan_us / 1000u > took + 300u);

	/* The completion callback saw it as late (poll: it runs just after the cache insert). */
	t0 = now_ms();
	for (;;) {
		pthread_mutex_lock(&log.mu);
		unsigned calls = log.calls, late = log.late;
		pthread_mutex_unlock(&log.mu);
		if (calls == 1) {
			assert_int_equal(late, 1);
			break;
		}
		if (now_ms() - t0 > 10000)
			fail_msg("on_done not called");
		sleep_ms(5);
	}
	assert_int_equal(log.last.action, WARD_SCAN_BLOCK);

	/* The next caller gets it at once. */
	t0 = now_ms();
	v = submit_path(p, slow, BUDGET_MS);
	assert_true(v.cached);
	assert_int_equal(v.action, WARD_SCAN_BLOCK);
	assert_true(now_ms() - t0 < BUDGET_MS);

	ward_scanpool_stats(p, &st);
	assert_int_equal(st.scans, 1);
	assert_int_equal(st.pending, 1);
	assert_int_equal(st.late, 1);
	ward_scanpool_destroy(p);
	ward_yrules_unref(r);
}

struct submitter {
	ward_scanpool_t *p;
	const char *path;
	ward_scan_verdict_t v;
};

static void *submit_thread(void *arg)
{
	struct submitter *s = arg;
	ward_scan_req_t req = { .fd = -1, .path = s->path, .budget_ms = 60000 };
	struct stat st;

	if (stat(s->path, &st) == 0) {
		ward_scan_key_from_stat(&st, &req.key);
		ward_scanpool_submit(s->p, &req, &s->v, NULL);
	}
	return NULL;
}

static void test_concurrent_submits_share_one_scan(void **state)
{
	char slow[512];
	ward_yrules_t *r = compile(rules_main);
	ward_scanpool_t *p = pool_with(r, 2, 8);
	struct submitter a = { .p = p }, b = { .p = p };
	pthread_t ta, tb;
	ward_scanpool_stats_t st;

	(void)state;
	put_slow(slow, sizeof(slow), "slow2.bin");
	a.path = b.path = slow;
	assert_int_equal(pthread_create(&ta, NULL, submit_thread, &a), 0);
	wait_running(p, 1);
	assert_int_equal(pthread_create(&tb, NULL, submit_thread, &b), 0);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);

	assert_int_equal(a.v.status, WARD_SCAN_DONE);
	assert_int_equal(b.v.status, WARD_SCAN_DONE);
	assert_int_equal(a.v.action, WARD_SCAN_BLOCK);
	assert_int_equal(b.v.action, WARD_SCAN_BLOCK);
	ward_scanpool_stats(p, &st);
	assert_int_equal(st.scans, 1);  /* exactly one scan for both */
	assert_int_equal(st.joined, 1);
	assert_int_equal(st.pending, 0);
	ward_scanpool_destroy(p);
	ward_yrules_unref(r);
}

static void test_hard_limit_aborts_scan(void **state)
{
	ward_yrules_t *r = compile(rules_main);
	ward_yscanner_t *s = NULL;
	ward_scan_verdict_t v;
	size_t len = 4u << 20; /* ~10 s of work for the slow rule */
	uint8_t *buf = malloc(len);
	uint64_t t0;

	(void)state;
	assert_non_null(buf);
	memset(buf, 'a', len);
	assert_int_equal(ward_yscanner_create(r, 1, &s, NULL), WARD_OK);
	t0 = now_ms();
	assert_int_equal(ward_yscanner_scan_mem(s, buf, len, NULL, NULL, &v, NULL), WARD_OK);
	assert_int_equal(v.status, WARD_SCAN_ABORTED);
	assert_non_null(strstr(v.reason, "hard limit"));
	assert_true(now_ms() - t0 < 5000);
	/* The scanner is usable again afterwards. */
	memcpy(buf, MARK_BLOCK, strlen(MARK_BLOCK));
	assert_int_equal(ward_yscanner_scan_mem(s, buf, 100, NULL, NULL, &v, NULL), WARD_OK);
	assert_int_equal(v.status, WARD_SCAN_DONE);
	assert_int_equal(v.action, WARD_SCAN_BLOCK);
	free(buf);
	ward_yscanner_destroy(s);
	ward_yrules_unref(r);
}

/* ------------------------------------------------------------------ reload */

static void test_broken_rules_keep_old_set(void **state)
{
	char good[512], broken[512], blk[512];
	const char *paths[1];
	ward_scanpool_opts_t o;
	ward_scanpool_t *p = NULL;
	ward_yrules_status_t rs;
	ward_scanpool_stats_t st;
	ward_scan_verdict_t v;
	ward_error_t e = { 0 };
	uint64_t g1;

	(void)state;
	put_text(good, sizeof(good), "good.yar",
	         "rule mark : block { strings: $m = \"" MARK_BLOCK "\" condition: $m }\n");
	put_text(broken, sizeof(broken), "broken.yar",
	         "rule ok { condition: true }\n"
	         "\n"
	         "rule broken { strings: $m = \"x\" condition: $m and and }\n");
	put_marked(blk, sizeof(blk), "blk2.bin", MARK_BLOCK);
	ward_scanpool_opts_default(&o);
	o.workers = 1;
	assert_int_equal(ward_scanpool_create(&o, &p, NULL), WARD_OK);

	paths[0] = good;
	assert_int_equal(ward_scanpool_reload(p, paths, 1, &e), WARD_OK);
	ward_scanpool_rules_status(p, &rs);
	g1 = rs.generation;
	assert_true(g1 > 0);
	assert_int_equal(rs.nrules, 1);
	assert_false(rs.reload_failed);
	v = submit_path(p, blk, 10000);
	assert_int_equal(v.action, WARD_SCAN_BLOCK);
	assert_string_equal(v.reason, "yara:good:mark");

	paths[0] = broken;
	assert_int_equal(ward_scanpool_reload(p, paths, 1, &e), WARD_E_MALFORMED);
	assert_non_null(strstr(e.msg, "broken.yar:3:"));
	ward_scanpool_rules_status(p, &rs);
	assert_int_equal(rs.generation, g1);
	assert_true(rs.reload_failed);
	assert_non_null(strstr(rs.error, "broken.yar:3:"));
	v = submit_path(p, blk, 10000);
	assert_int_equal(v.action, WARD_SCAN_BLOCK); /* old rules still active */
	assert_true(v.cached);

	/* New rules: a new generation, the same file is scanned again and now audited. */
	put_text(good, sizeof(good), "good.yar",
	         "rule mark : audit { strings: $m = \"" MARK_BLOCK "\" condition: $m }\n");
	paths[0] = good;
	assert_int_equal(ward_scanpool_reload(p, paths, 1, &e), WARD_OK);
	ward_scanpool_rules_status(p, &rs);
	assert_true(rs.generation > g1);
	assert_false(rs.reload_failed);
	assert_string_equal(rs.error, "");
	v = submit_path(p, blk, 10000);
	assert_false(v.cached);
	assert_int_equal(v.action, WARD_SCAN_AUDIT);
	assert_int_equal(v.generation, rs.generation);
	ward_scanpool_stats(p, &st);
	assert_int_equal(st.scans, 2);
	ward_scanpool_destroy(p);
}

static void diag_count(void *ctx, bool warning, const char *file, int line, const char *msg)
{
	(void)file;
	(void)line;
	(void)msg;
	if (!warning)
		(*(unsigned *)ctx)++;
}

static void test_rule_paths_globs_namespaces(void **state)
{
	char a[512], b[512], sub[512], pat[600], missing[600], blk[512];
	const char *paths[2];
	ward_yrules_t *r = NULL;
	ward_yscanner_t *s = NULL;
	ward_scan_verdict_t v;
	ward_error_t e = { 0 };
	unsigned nerr = 0;
	int fd;

	(void)state;
	snprintf(sub, sizeof(sub), "%s/rules.d", tmpdir);
	assert_int_equal(mkdir(sub, 0755), 0);
	put_text(a, sizeof(a), "rules.d/alpha.yar",
	         "rule same : block { strings: $m = \"" MARK_BLOCK "\" condition: $m }\n");
	put_text(b, sizeof(b), "rules.d/beta.yar", "rule same { condition: false }\n");
	snprintf(pat, sizeof(pat), "%s/*.yar", sub);
	paths[0] = pat;
	/* Same rule name in two files: two namespaces, no clash. */
	assert_int_equal(ward_yrules_open(paths, 1, NULL, NULL, &r, &e), WARD_OK);
	assert_int_equal(ward_yrules_count(r), 2);
	assert_int_equal(ward_yrules_files(r), 2);
	put_marked(blk, sizeof(blk), "blk3.bin", MARK_BLOCK);
	assert_int_equal(ward_yscanner_create(r, 0, &s, NULL), WARD_OK);
	fd = open(blk, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(ward_yscanner_scan_fd(s, fd, 1u << 20, NULL, NULL, NULL, NULL, &v, NULL),
	                 WARD_OK);
	close(fd);
	assert_string_equal(v.reason, "yara:alpha:same");
	ward_yscanner_destroy(s);
	ward_yrules_unref(r);

	/* A pattern matching nothing is an empty set; a missing plain path is an error. */
	snprintf(pat, sizeof(pat), "%s/*.nothing", sub);
	assert_int_equal(ward_yrules_open(paths, 1, NULL, NULL, &r, &e), WARD_OK);
	assert_int_equal(ward_yrules_count(r), 0);
	ward_yrules_unref(r);
	snprintf(missing, sizeof(missing), "%s/missing.yar", sub);
	paths[0] = missing;
	assert_int_equal(ward_yrules_open(paths, 1, NULL, NULL, &r, &e), WARD_E_IO);
	assert_null(r);
	assert_non_null(strstr(e.msg, "missing.yar"));

	/* Every error goes to the diagnostic callback. */
	put_text(b, sizeof(b), "rules.d/beta.yar", "rule x { condition: $nope }\n");
	snprintf(pat, sizeof(pat), "%s/*.yar", sub);
	paths[0] = pat;
	assert_int_equal(ward_yrules_open(paths, 1, diag_count, &nerr, &r, &e), WARD_E_MALFORMED);
	assert_true(nerr >= 1);
	assert_non_null(strstr(e.msg, "beta.yar:1:"));
}

static void test_precompiled_rules(void **state)
{
	char src[512], bin[512], blk[512], txt[512];
	const char *paths[2];
	YR_COMPILER *c = NULL;
	YR_RULES *yr = NULL;
	ward_yrules_t *r = NULL;
	ward_yscanner_t *s = NULL;
	ward_scan_verdict_t v;
	ward_error_t e = { 0 };
	FILE *f;
	int fd;

	(void)state;
	put_text(src, sizeof(src), "pre.yar",
	         "rule pre : block { strings: $m = \"" MARK_BLOCK "\" condition: $m }\n");
	snprintf(bin, sizeof(bin), "%s/pre.yarc", tmpdir);
	assert_int_equal(yr_initialize(), ERROR_SUCCESS);
	assert_int_equal(yr_compiler_create(&c), ERROR_SUCCESS);
	f = fopen(src, "r");
	assert_non_null(f);
	assert_int_equal(yr_compiler_add_file(c, f, "pre", src), 0);
	fclose(f);
	assert_int_equal(yr_compiler_get_rules(c, &yr), ERROR_SUCCESS);
	assert_int_equal(yr_rules_save(yr, bin), ERROR_SUCCESS);
	yr_rules_destroy(yr);
	yr_compiler_destroy(c);
	yr_finalize();
	assert_int_equal(chmod(bin, 0644), 0);

	paths[0] = bin;
	assert_int_equal(ward_yrules_open(paths, 1, NULL, NULL, &r, &e), WARD_OK);
	put_marked(blk, sizeof(blk), "blk4.bin", MARK_BLOCK);
	assert_int_equal(ward_yscanner_create(r, 0, &s, NULL), WARD_OK);
	fd = open(blk, O_RDONLY | O_CLOEXEC);
	assert_int_equal(ward_yscanner_scan_fd(s, fd, 1u << 20, NULL, NULL, NULL, NULL, &v, NULL),
	                 WARD_OK);
	close(fd);
	assert_int_equal(v.action, WARD_SCAN_BLOCK);
	assert_string_equal(v.reason, "yara:pre:pre");
	ward_yscanner_destroy(s);
	ward_yrules_unref(r);

	/* Writable by others: libyara would trust whatever someone put there. Refused. */
	assert_int_equal(chmod(bin, 0666), 0);
	assert_int_equal(ward_yrules_open(paths, 1, NULL, NULL, &r, &e), WARD_E_PERM);
	assert_int_equal(chmod(bin, 0644), 0);
	/* Compiled rules do not mix with sources. */
	put_text(txt, sizeof(txt), "other.yar", "rule o { condition: false }\n");
	paths[1] = txt;
	assert_int_equal(ward_yrules_open(paths, 2, NULL, NULL, &r, &e), WARD_E_INVAL);
	/* A corrupt compiled file is an error, not a crash. */
	put_text(txt, sizeof(txt), "corrupt.yarc", "YARA\x0b\x00\x00\x00garbage garbage garbage");
	paths[0] = txt;
	assert_int_not_equal(ward_yrules_open(paths, 1, NULL, NULL, &r, &e), WARD_OK);
	assert_null(r);
}

/* ------------------------------------------------------------------ limits */

static void test_file_over_max_bytes_not_scanned(void **state)
{
	char big[512];
	ward_yrules_t *r = compile(rules_main);
	ward_scanpool_opts_t o;
	ward_scanpool_t *p = NULL;
	ward_yscanner_t *s = NULL;
	ward_scanpool_stats_t st;
	ward_scan_verdict_t v;
	int fd;

	(void)state;
	put_marked(big, sizeof(big), "big.bin", MARK_BLOCK); /* 8192 bytes */
	ward_scanpool_opts_default(&o);
	o.workers = 1;
	o.max_bytes = 8191;
	assert_int_equal(ward_scanpool_create(&o, &p, NULL), WARD_OK);
	ward_scanpool_set_rules(p, r);
	v = submit_path(p, big, 10000);
	assert_int_equal(v.status, WARD_SCAN_SKIPPED);
	assert_int_equal(v.action, WARD_SCAN_NONE);
	assert_non_null(strstr(v.reason, "ScanMaxBytes"));
	ward_scanpool_stats(p, &st);
	assert_int_equal(st.scans, 0);
	assert_int_equal(st.skipped, 1);
	ward_scanpool_destroy(p);

	/* The scanner checks the real size too (a caller's key could be stale). */
	assert_int_equal(ward_yscanner_create(r, 0, &s, NULL), WARD_OK);
	fd = open(big, O_RDONLY | O_CLOEXEC);
	assert_int_equal(ward_yscanner_scan_fd(s, fd, 8191, NULL, NULL, NULL, NULL, &v, NULL), WARD_OK);
	assert_int_equal(v.status, WARD_SCAN_SKIPPED);
	assert_int_equal(ward_yscanner_scan_fd(s, fd, 8192, NULL, NULL, NULL, NULL, &v, NULL), WARD_OK);
	assert_int_equal(v.status, WARD_SCAN_DONE);
	assert_int_equal(v.action, WARD_SCAN_BLOCK);
	close(fd);
	ward_yscanner_destroy(s);
	ward_yrules_unref(r);
}

static void test_queue_full_answers_busy_at_once(void **state)
{
	char slow[512], b[512], c[512];
	ward_yrules_t *r = compile(rules_main);
	ward_scanpool_t *p = pool_with(r, 1, 1);
	ward_scanpool_stats_t st;
	ward_scan_verdict_t v;
	uint64_t t0;

	(void)state;
	put_slow(slow, sizeof(slow), "slow3.bin");
	put_marked(b, sizeof(b), "qb.bin", NULL);
	put_marked(c, sizeof(c), "qc.bin", "c");
	v = submit_path(p, slow, 0); /* budget 0: queue it and do not wait */
	assert_int_equal(v.status, WARD_SCAN_PENDING);
	wait_running(p, 1);          /* the only worker is busy for ~1 s */
	v = submit_path(p, b, 0);
	assert_int_equal(v.status, WARD_SCAN_PENDING); /* queued: the queue is now full */
	t0 = now_ms();
	v = submit_path(p, c, 5000);
	assert_int_equal(v.status, WARD_SCAN_BUSY);
	assert_true(now_ms() - t0 < MARGIN_MS); /* at once, not after its 5 s budget */
	/* The worker scans at a lower priority than the threads deciding (this one). */
	assert_int_equal(threads_with_nice(getpriority(PRIO_PROCESS, 0) + WARD_SCAN_WORKER_NICE), 1);
	ward_scanpool_stats(p, &st);
	assert_int_equal(st.busy, 1);
	assert_int_equal(st.queue_depth, 1);
	assert_int_equal(st.queue_capacity, 1);
	assert_int_equal(st.running, 1);
	ward_scanpool_destroy(p); /* drops the queued scan, waits for the running one */
	ward_yrules_unref(r);
}

static void test_changed_file_and_no_rules(void **state)
{
	char f[512];
	ward_yrules_t *r = compile(rules_main);
	ward_scanpool_t *p = pool_with(NULL, 1, 4);
	ward_scan_req_t req = { .fd = -1, .budget_ms = 10000 };
	ward_scan_verdict_t v;
	int fd;

	(void)state;
	put_marked(f, sizeof(f), "changing.bin", MARK_BLOCK);
	v = submit_path(p, f, 10000);
	assert_int_equal(v.status, WARD_SCAN_SKIPPED);
	assert_non_null(strstr(v.reason, "no YARA rules"));

	ward_scanpool_set_rules(p, r);
	req.path = f;
	key_of(f, &req.key);
	fd = open(f, O_WRONLY | O_APPEND | O_CLOEXEC);
	assert_int_equal(write(fd, "more", 4), 4);
	close(fd);
	assert_int_equal(ward_scanpool_submit(p, &req, &v, NULL), WARD_OK);
	assert_int_equal(v.status, WARD_SCAN_FAILED);
	assert_non_null(strstr(v.reason, "changed"));
	assert_false(ward_scanpool_lookup(p, &req.key, &v)); /* never cached */

	/* Bad requests. */
	req.path = NULL;
	assert_int_equal(ward_scanpool_submit(p, &req, &v, NULL), WARD_E_INVAL);
	req.path = f;
	req.budget_ms = WARD_SCAN_MAX_BUDGET_MS + 1;
	assert_int_equal(ward_scanpool_submit(p, &req, &v, NULL), WARD_E_INVAL);
	ward_scanpool_destroy(p);
	ward_yrules_unref(r);
}

/* ------------------------------------------------------------------ setup */

static int setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return tu_rmtree(tmpdir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_block_rule_blocks_with_reason),
		cmocka_unit_test(test_audit_logs_plain_rule_has_no_effect),
		cmocka_unit_test(test_bad_warden_action_is_rejected),
		cmocka_unit_test(test_budget_holds_and_late_verdict_lands),
		cmocka_unit_test(test_concurrent_submits_share_one_scan),
		cmocka_unit_test(test_hard_limit_aborts_scan),
		cmocka_unit_test(test_broken_rules_keep_old_set),
		cmocka_unit_test(test_rule_paths_globs_namespaces),
		cmocka_unit_test(test_precompiled_rules),
		cmocka_unit_test(test_file_over_max_bytes_not_scanned),
		cmocka_unit_test(test_queue_full_answers_busy_at_once),
		cmocka_unit_test(test_changed_file_and_no_rules),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
