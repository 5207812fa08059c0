/*
 * The scan step: decide() asks the YARA pool about a file no rule named, within what is
 * left of ScanBudgetMs since the event arrived, and maps the pool's answer onto a
 * ward_scanstep_t. The pool caches verdicts per (file key, rule-set generation); the
 * agent's own caches hold only what decide() made of them, and are flushed whenever a
 * new rule set goes in, so nothing decided under old rules survives new ones.
 *
 * A verdict that arrives after its exec was decided (the budget ran out) reaches the
 * engine's subscribers (the event log: a "kind": "scan" line) through the pool's
 * completion callback; the next exec of the file is decided from the pool's cache.
 * The step knows nothing of the engine but the hooks it was given.
 */
#include "agent/yarascan.h"

#include "agent/confine.h"

#include <errno.h>
#include <glob.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "agent/log.h"
#include "common/clock.h"
#include "common/platform.h"

/* Files whose exec got PENDING, remembered so the late verdict's line can name the
 * SHA-256 (a rule can then be written from the log). Older entries are overwritten. */
#define PENDING_SLOTS 64u

struct pending {
	bool used;
	ward_scan_key_t key;
	bool has_sha256;
	uint8_t sha256[WARD_SHA256_LEN];
};

struct ward_yarascan {
	ward_yarascan_hooks_t hooks;
	_Atomic(ward_scanpool_t *) pool; /* NULL until a set with rules is loaded */
	_Atomic uint64_t max_bytes;      /* ScanMaxBytes */
	_Atomic uint64_t skipped_size;   /* execs over ScanMaxBytes (never submitted) */
	_Atomic uint64_t late_logged;

	/* main thread only */
	char override[WARD_MAX_YARA_PATHS][WARD_MAX_PATH];
	unsigned noverride;
	bool have_active, have_failed;
	uint64_t active_fp, failed_fp;   /* fingerprints of the rule files */

	pthread_mutex_t mu;              /* guards what follows (read by scan workers too) */
	bool closing;
	struct pending pend[PENDING_SLOTS];
	unsigned pend_next;
	/* status */
	uint64_t generation;
	uint32_t nrules, nfiles;
	int64_t loaded_at;
	char paths[WARD_MAX_YARA_PATHS][WARD_MAX_PATH];
	unsigned npaths;
	char error[WARD_ERRMSG_MAX];
	ward_err_t error_code;
	int64_t failed_at;
	uint64_t reloads, failures;
};

/* ------------------------------------------------------------------ late verdicts */

static void pending_note(ward_yarascan_t *y, const ward_scan_key_t *key, const ward_identity_t *id)
{
	struct pending *slot = NULL;

	pthread_mutex_lock(&y->mu);
	for (unsigned i = 0; i < PENDING_SLOTS && slot == NULL; i++)
		if (y->pend[i].used && ward_filekey_eq(&y->pend[i].key, key))
			slot = &y->pend[i];
	if (slot == NULL)
		slot = &y->pend[y->pend_next++ % PENDING_SLOTS];
	slot->used = true;
	slot->key = *key;
	slot->has_sha256 = id->has_sha256;
	memcpy(slot->sha256, id->sha256, sizeof(slot->sha256));
	pthread_mutex_unlock(&y->mu);
}

/* Caller holds y->mu. */
static bool pending_take(ward_yarascan_t *y, const ward_scan_key_t *key, uint8_t *sha256)
{
	for (unsigned i = 0; i < PENDING_SLOTS; i++) {
		struct pending *p = &y->pend[i];
		if (p->used && ward_filekey_eq(&p->key, key)) {
			p->used = false;
			if (p->has_sha256)
				memcpy(sha256, p->sha256, WARD_SHA256_LEN);
			return p->has_sha256;
		}
	}
	return false;
}

/*
 * The pool's completion callback, on a scan worker. Only verdicts that reached no exec
 * (late) are written: what the next exec of the file will get from them, the scan's own
 * duration as latency_us, and the match in detail.
 */
static void on_done(void *ctx, const ward_scan_key_t *key, const char *path,
                    const ward_scan_verdict_t *sv, bool late)
{
	ward_yarascan_t *y = ctx;
	ward_record_t *rec;
	ward_mode_t mode;

	if (!late || y->hooks.emit == NULL || (rec = calloc(1, sizeof(*rec))) == NULL)
		return;
	mode = y->hooks.mode ? y->hooks.mode(y->hooks.arg) : WARD_MODE_MONITOR;
	ward_record_reset(rec, WARD_EV_SCAN);
	clock_gettime(CLOCK_REALTIME, &rec->when);
	rec->mode = mode;
	rec->latency_us = sv->scan_us;
	rec->key_ok = true;
	rec->key = *key;
	if (sv->status == WARD_SCAN_DONE && sv->action == WARD_SCAN_BLOCK) {
		rec->v.decision = WARD_DENY;
		rec->v.reason = WARD_RSN_SCAN;
		rec->scan_step = WARD_SCANSTEP_BLOCK + 1;
	} else {
		rec->v.decision = mode == WARD_MODE_LOCKDOWN ? WARD_DENY : WARD_ALLOW;
		rec->v.reason = WARD_RSN_MODE;
		rec->scan_step = (sv->status == WARD_SCAN_DONE ? WARD_SCANSTEP_CLEAN : WARD_SCANSTEP_UNSCANNED) + 1;
		if (sv->status == WARD_SCAN_DONE && sv->action == WARD_SCAN_AUDIT)
			rec->notes |= WARD_NOTE_SCAN_AUDIT;
	}
	if (sv->status != WARD_SCAN_DONE || sv->action != WARD_SCAN_NONE)
		snprintf(rec->scan_rule, sizeof(rec->scan_rule), "%s", sv->reason);
	snprintf(rec->path, sizeof(rec->path), "%s", path ? path : "");
	pthread_mutex_lock(&y->mu);
	rec->v.has_sha256 = pending_take(y, key, rec->v.sha256);
	if (!rec->v.has_sha256 && sv->has_sha256) {
		/* the scan's own read hashed it */
		rec->v.has_sha256 = true;
		memcpy(rec->v.sha256, sv->sha256, sizeof(rec->v.sha256));
	}
	/* Never after the log is closed: destroy sets closing under this lock first. */
	if (!y->closing) {
		y->hooks.emit(y->hooks.arg, rec);
		atomic_fetch_add_explicit(&y->late_logged, 1, memory_order_relaxed);
	}
	pthread_mutex_unlock(&y->mu);
	free(rec);
}

/* ------------------------------------------------------------------ the step */

static uint32_t ms_left(uint64_t deadline_ns)
{
	uint64_t now = ward_mono_ns();

	if (deadline_ns == 0)
		return UINT32_MAX;
	if (now >= deadline_ns)
		return 0;
	return (uint32_t)((deadline_ns - now + 999999u) / 1000000u);
}

bool ward_yarascan_idle(void *arg)
{
	ward_yarascan_t *y = arg;

	return atomic_load_explicit(&y->pool, memory_order_acquire) == NULL;
}

ward_scanstep_t ward_yarascan_step(void *arg, const ward_event_t *ev, const char *path,
                                   const ward_identity_t *id, uint64_t deadline_ns,
                                   ward_scan_out_t *out)
{
	ward_yarascan_t *y = arg;
	ward_scanpool_t *p = atomic_load_explicit(&y->pool, memory_order_acquire);
	uint64_t max = atomic_load_explicit(&y->max_bytes, memory_order_relaxed);
	ward_scan_req_t req = { .fd = ev->fd, .path = path };
	ward_scan_verdict_t v;

	if (p == NULL || !ev->key_ok)
		return WARD_SCANSTEP_SKIPPED;
	if (ev->key.size > max) {
		atomic_fetch_add_explicit(&y->skipped_size, 1, memory_order_relaxed);
		snprintf(out->what, sizeof(out->what), "%llu bytes is over ScanMaxBytes (%llu)",
		         (unsigned long long)ev->key.size, (unsigned long long)max);
		return WARD_SCANSTEP_SKIPPED;
	}
	req.key = ev->key;
	req.budget_ms = ms_left(deadline_ns);
	if (ward_scanpool_submit(p, &req, &v, NULL) != WARD_OK) {
		snprintf(out->what, sizeof(out->what), "%s", v.reason);
		return WARD_SCANSTEP_UNSCANNED;
	}
	if (v.has_sha256) {
		out->has_sha256 = true;
		memcpy(out->sha256, v.sha256, sizeof(out->sha256));
	}
	switch (v.status) {
	case WARD_SCAN_DONE:
		if (v.action == WARD_SCAN_BLOCK) {
			snprintf(out->what, sizeof(out->what), "%s", v.reason);
			return WARD_SCANSTEP_BLOCK;
		}
		if (v.action == WARD_SCAN_AUDIT) {
			snprintf(out->what, sizeof(out->what), "%s", v.reason);
			out->audit = true;
		} else if (v.nmatches > 0) {
			snprintf(out->what, sizeof(out->what), "%s", v.reason);
			out->other_matches = v.nmatches;
		}
		return WARD_SCANSTEP_CLEAN;
	case WARD_SCAN_PENDING:
		pending_note(y, &req.key, id);
		return WARD_SCANSTEP_PENDING;
	case WARD_SCAN_SKIPPED:
		/* No rules in the active set: nothing worth a word in every log line. */
		if (v.generation != 0)
			snprintf(out->what, sizeof(out->what), "%s", v.reason);
		return WARD_SCANSTEP_SKIPPED;
	case WARD_SCAN_ABORTED:
		/* Cached by the pool: the file would hit the hard limit again. */
		snprintf(out->what, sizeof(out->what), "%s", v.reason);
		return WARD_SCANSTEP_SKIPPED;
	case WARD_SCAN_BUSY:
	case WARD_SCAN_FAILED:
		break;
	}
	snprintf(out->what, sizeof(out->what), "%s", v.reason);
	return WARD_SCANSTEP_UNSCANNED;
}

/* ------------------------------------------------------------------ rule sets */

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

static uint64_t fnv_file(uint64_t h, const char *path)
{
	struct stat st;
	int64_t f[7] = { 0 };

	h = fnv(h, path, strlen(path) + 1);
	if (stat(path, &st) == 0) {
		f[0] = (int64_t)st.st_dev;
		f[1] = (int64_t)st.st_ino;
		f[2] = (int64_t)st.st_size;
		f[3] = (int64_t)st.st_mtim.tv_sec;
		f[4] = (int64_t)st.st_mtim.tv_nsec;
		f[5] = (int64_t)st.st_ctim.tv_sec;
		f[6] = (int64_t)st.st_ctim.tv_nsec;
	} else {
		f[0] = -errno;
	}
	return fnv(h, f, sizeof(f));
}

/*
 * What the rule files look like now: every path, as ward_yrules_open would expand it,
 * with its identity and times. Change detection only (whoever can write rule files
 * decides what the agent blocks anyway). An expansion error gives a fingerprint that
 * matches nothing, so the compile runs and reports it.
 */
static uint64_t fingerprint(const char *const *paths, size_t n)
{
	static uint64_t unique;
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++) {
		glob_t g;
		int rc;

		h = fnv(h, paths[i], strlen(paths[i]) + 1);
		if (strpbrk(paths[i], "*?[") == NULL) {
			h = fnv_file(h, paths[i]);
			continue;
		}
		rc = glob(paths[i], 0, NULL, &g);
		if (rc == 0)
			for (size_t k = 0; k < g.gl_pathc; k++)
				h = fnv_file(h, g.gl_pathv[k]);
		globfree(&g);
		if (rc != 0 && rc != GLOB_NOMATCH) {
			unique++;
			return fnv(h, &unique, sizeof(unique));
		}
	}
	return h;
}

static void diag_log(void *ctx, bool warning, const char *file, int line, const char *msg)
{
	(void)ctx;
	if (warning)
		log_warnx("YARA rules: %s:%d: warning: %s", file ? file : "-", line, msg);
}

ward_err_t ward_yarascan_create(const ward_yarascan_hooks_t *h, ward_yarascan_t **out,
                                ward_error_t *err)
{
	ward_yarascan_t *y;

	*out = NULL;
	if ((y = calloc(1, sizeof(*y))) == NULL)
		return ward_error_set(err, WARD_E_NOMEM, "scan step: out of memory");
	y->hooks = *h;
	atomic_init(&y->pool, NULL);
	atomic_init(&y->max_bytes, UINT64_MAX);
	pthread_mutex_init(&y->mu, NULL);
	*out = y;
	return WARD_OK;
}

ward_err_t ward_yarascan_override(ward_yarascan_t *y, const char *const *paths, size_t n,
                                  ward_error_t *err)
{
	if (n > WARD_MAX_YARA_PATHS)
		return ward_error_set(err, WARD_E_LIMIT, "--yara: at most %u paths", WARD_MAX_YARA_PATHS);
	for (size_t i = 0; i < n; i++)
		if (paths[i][0] == '\0' || strlen(paths[i]) >= WARD_MAX_PATH)
			return ward_error_set(err, WARD_E_INVAL, "--yara: bad path '%.64s'", paths[i]);
	for (size_t i = 0; i < n; i++)
		snprintf(y->override[i], WARD_MAX_PATH, "%s", paths[i]);
	y->noverride = (unsigned)n;
	return WARD_OK;
}

/* A scan worker reads bytes an attacker chose with libyara's parsers (pe, elf, macho
 * modules): confined before its first scan. */
static void confine_scan_worker(void)
{
	ward_confine_thread(WARD_CONFINE_SCAN);
}

static ward_err_t start_pool(ward_yarascan_t *y, ward_error_t *err)
{
	ward_scanpool_opts_t o;
	ward_scanpool_t *p;
	ward_err_t rc;

	ward_scanpool_opts_default(&o);
	o.max_bytes = UINT64_MAX >> 1; /* ScanMaxBytes is checked by the step (it may change) */
	o.on_done = on_done;
	o.on_done_ctx = y;
	o.on_thread_start = confine_scan_worker;
	if ((rc = ward_scanpool_create(&o, &p, err)) != WARD_OK)
		return rc;
	atomic_store_explicit(&y->pool, p, memory_order_release);
	return WARD_OK;
}

ward_err_t ward_yarascan_reload(ward_yarascan_t *y, const ward_config_t *cfg, bool *changed,
                                ward_error_t *err)
{
	const char *paths[WARD_MAX_YARA_PATHS];
	ward_scanpool_t *p = atomic_load(&y->pool);
	ward_yrules_t *r = NULL;
	ward_error_t e = { 0 };
	size_t n = 0;
	uint64_t fp;
	ward_err_t rc;

	if (changed)
		*changed = false;
	atomic_store(&y->max_bytes, cfg->scan_max_bytes);
	if (y->noverride > 0)
		for (unsigned i = 0; i < y->noverride; i++)
			paths[n++] = y->override[i];
	else
		for (unsigned i = 0; i < cfg->nyara_rules_paths && i < WARD_MAX_YARA_PATHS; i++)
			paths[n++] = cfg->yara_rules_paths[i];
	fp = fingerprint(paths, n);

	if (y->have_active && fp == y->active_fp) {
		/* The files are those of the active set again (a broken file was removed). */
		pthread_mutex_lock(&y->mu);
		y->error[0] = '\0';
		y->failed_at = 0;
		pthread_mutex_unlock(&y->mu);
		y->have_failed = false;
		return WARD_OK;
	}
	if (y->have_failed && fp == y->failed_fp) {
		pthread_mutex_lock(&y->mu);
		rc = ward_error_set(err, y->error_code, "%s", y->error);
		pthread_mutex_unlock(&y->mu);
		return rc;
	}

	rc = ward_yrules_open(paths, n, diag_log, NULL, &r, &e);
	if (rc == WARD_OK && ward_yrules_count(r) > 0 && p == NULL) {
		if ((rc = start_pool(y, &e)) == WARD_OK)
			p = atomic_load(&y->pool);
		else
			ward_yrules_unref(r);
	}
	if (rc != WARD_OK) {
		pthread_mutex_lock(&y->mu);
		snprintf(y->error, sizeof(y->error), "%s", e.msg);
		y->error_code = rc;
		y->failed_at = (int64_t)time(NULL);
		y->failures++;
		pthread_mutex_unlock(&y->mu);
		y->have_failed = true;
		y->failed_fp = fp;
		log_warnx("YARA rules: %s; %s", e.msg,
		          y->have_active && y->nrules > 0 ? "the previous rules stay active"
		                                          : "no scanning until the rules load");
		return ward_error_set(err, rc, "%s", e.msg);
	}

	if (p != NULL)
		ward_scanpool_set_rules(p, r);
	pthread_mutex_lock(&y->mu);
	y->generation = ward_yrules_generation(r);
	y->nrules = ward_yrules_count(r);
	y->nfiles = ward_yrules_files(r);
	y->loaded_at = (int64_t)time(NULL);
	for (size_t i = 0; i < n; i++)
		snprintf(y->paths[i], WARD_MAX_PATH, "%s", paths[i]);
	y->npaths = (unsigned)n;
	y->error[0] = '\0';
	y->failed_at = 0;
	y->reloads++;
	pthread_mutex_unlock(&y->mu);
	ward_yrules_unref(r);
	y->have_active = true;
	y->have_failed = false;
	y->active_fp = fp;
	/* Verdicts decided with the old set (or with none: a cached ALLOW of a file that was
	 * never scanned) must not outlive it. Before the agent starts nothing is cached. */
	if (y->hooks.flush != NULL)
		y->hooks.flush(y->hooks.arg);
	if (y->nrules > 0)
		log_info("YARA rules: %u rules from %u files, generation %llu", y->nrules, y->nfiles,
		         (unsigned long long)y->generation);
	else
		log_info("YARA rules: none found (%s%s): no scanning", n ? paths[0] : "no paths",
		         n > 1 ? " ..." : "");
	if (changed)
		*changed = true;
	return WARD_OK;
}

/* ------------------------------------------------------------------ views */

static json_t *int_or_null(int64_t v)
{
	return v ? json_integer((json_int_t)v) : json_null();
}

json_t *ward_yarascan_rules_json(ward_yarascan_t *y)
{
	json_t *o = json_object(), *paths = json_array();

	pthread_mutex_lock(&y->mu);
	json_object_set_new(o, "generation", json_integer((json_int_t)y->generation));
	json_object_set_new(o, "count", json_integer(y->nrules));
	json_object_set_new(o, "files", json_integer(y->nfiles));
	for (unsigned i = 0; i < y->npaths; i++)
		json_array_append_new(paths, json_string(y->paths[i]));
	json_object_set_new(o, "paths", paths);
	json_object_set_new(o, "loaded_at", int_or_null(y->loaded_at));
	json_object_set_new(o, "error", y->error[0] ? json_string(y->error) : json_null());
	json_object_set_new(o, "failed_at", int_or_null(y->failed_at));
	json_object_set_new(o, "reloads", json_integer((json_int_t)y->reloads));
	json_object_set_new(o, "reload_failures", json_integer((json_int_t)y->failures));
	pthread_mutex_unlock(&y->mu);
	return o;
}

json_t *ward_yarascan_status_json(ward_yarascan_t *y, const ward_config_t *cfg)
{
	ward_scanpool_t *p = atomic_load(&y->pool);
	ward_scanpool_stats_t st = { 0 };
	uint64_t big = atomic_load(&y->skipped_size);
	json_t *o = json_object(), *j;
	uint32_t nrules;

	if (p != NULL)
		ward_scanpool_stats(p, &st);
	pthread_mutex_lock(&y->mu);
	nrules = y->nrules;
	pthread_mutex_unlock(&y->mu);
	json_object_set_new(o, "enabled", json_boolean(p != NULL && nrules > 0));
	json_object_set_new(o, "budget_ms", json_integer(cfg->scan_budget_ms));
	json_object_set_new(o, "max_bytes", json_integer((json_int_t)cfg->scan_max_bytes));
	json_object_set_new(o, "rules", ward_yarascan_rules_json(y));
	json_object_set_new(o, "submitted", json_integer((json_int_t)st.submitted));
	json_object_set_new(o, "scans", json_integer((json_int_t)st.scans));
	json_object_set_new(o, "matched", json_integer((json_int_t)st.matched));
	json_object_set_new(o, "blocked", json_integer((json_int_t)st.blocked));
	json_object_set_new(o, "audited", json_integer((json_int_t)st.audited));
	json_object_set_new(o, "timed_out", json_integer((json_int_t)st.pending));
	json_object_set_new(o, "late", json_integer((json_int_t)st.late));
	json_object_set_new(o, "late_logged", json_integer((json_int_t)atomic_load(&y->late_logged)));
	json_object_set_new(o, "aborted", json_integer((json_int_t)st.aborted));
	json_object_set_new(o, "busy", json_integer((json_int_t)st.busy));
	json_object_set_new(o, "skipped", json_integer((json_int_t)(st.skipped + big)));
	json_object_set_new(o, "failed", json_integer((json_int_t)st.failed));
	json_object_set_new(o, "cache_hits", json_integer((json_int_t)st.cache_hits));
	json_object_set_new(o, "joined", json_integer((json_int_t)st.joined));
	j = json_object();
	json_object_set_new(j, "depth", json_integer(st.queue_depth));
	json_object_set_new(j, "capacity", json_integer(st.queue_capacity));
	json_object_set_new(j, "running", json_integer(st.running));
	json_object_set_new(j, "workers", json_integer(st.workers));
	json_object_set_new(o, "queue", j);
	j = json_object();
	json_object_set_new(j, "mean", json_integer((json_int_t)st.scan_us_mean));
	json_object_set_new(j, "p50", json_integer((json_int_t)st.scan_us_p50));
	json_object_set_new(j, "p99", json_integer((json_int_t)st.scan_us_p99));
	json_object_set_new(j, "max", json_integer((json_int_t)st.scan_us_max));
	json_object_set_new(o, "scan_us", j);
	return o;
}

json_t *ward_yarascan_lookup_json(ward_yarascan_t *y, const ward_scan_key_t *key)
{
	ward_scanpool_t *p = atomic_load(&y->pool);
	ward_scan_verdict_t v;
	json_t *o = json_object();
	uint64_t gen;
	uint32_t nrules;
	bool found;

	pthread_mutex_lock(&y->mu);
	gen = y->generation;
	nrules = y->nrules;
	pthread_mutex_unlock(&y->mu);
	found = p != NULL && ward_scanpool_lookup(p, key, &v);
	json_object_set_new(o, "scanning", json_boolean(p != NULL && nrules > 0));
	json_object_set_new(o, "generation", json_integer((json_int_t)gen));
	json_object_set_new(o, "found", json_boolean(found));
	if (found) {
		json_object_set_new(o, "status", json_string(ward_scan_status_name(v.status)));
		json_object_set_new(o, "action", json_string(ward_scan_action_name(v.action)));
		json_object_set_new(o, "reason", v.reason[0] ? json_string(v.reason) : json_null());
		json_object_set_new(o, "matches", json_integer(v.nmatches));
		json_object_set_new(o, "size", json_integer((json_int_t)v.file_size));
		json_object_set_new(o, "scan_ms", json_real((double)v.scan_us / 1000.0));
	}
	return o;
}

void ward_yarascan_destroy(ward_yarascan_t *y)
{
	ward_scanpool_t *p;
	ward_scanpool_stats_t st;

	if (y == NULL)
		return;
	pthread_mutex_lock(&y->mu);
	y->closing = true;
	pthread_mutex_unlock(&y->mu);
	if ((p = atomic_load(&y->pool)) != NULL) {
		ward_scanpool_stats(p, &st);
		if (st.running > 0) {
			/* Destroying would wait for the scan (up to the hard limit): the process
			 * is about to exit, let it take the threads. */
			log_debug("leaving %u running scan(s) to the exit", st.running);
			return;
		}
		ward_scanpool_destroy(p);
	}
	pthread_mutex_destroy(&y->mu);
	free(y);
}

void ward_yarascan_forget(void *arg, const ward_filekey_t *k)
{
	ward_yarascan_t *y = arg;
	ward_scanpool_t *p = atomic_load_explicit(&y->pool, memory_order_acquire);

	if (p != NULL)
		ward_scanpool_forget(p, k);
}
