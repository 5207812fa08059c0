/*
 * The agent's scan step (decision path step 5): the bounded-time YARA pool
 * (scanner/scan.h) behind decide()'s ward_scan_fn, the rule set it runs with, reloads
 * and their status, the event-log records of late verdicts, and what `wardenctl status`
 * and `wardenctl fileinfo` show of it. docs/scanning.md, "In the agent".
 *
 * Threads: ward_yarascan_step runs on decision workers; the late-verdict callback on
 * the pool's scan workers; create, reload, the JSON views and destroy on the main
 * thread only.
 */
#ifndef WARD_AGENT_YARASCAN_H
#define WARD_AGENT_YARASCAN_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "agent/engine/decide.h"
#include "agent/engine/record.h"
#include "profiles/config.h"
#include "scanner/scan.h"

typedef struct ward_yarascan ward_yarascan_t;

/* What the scan step needs of the engine, and nothing more. */
typedef struct ward_yarascan_hooks {
	/* A new rule set is in: flush every verdict cache (NULL: none to flush). */
	void (*flush)(void *arg);
	/* A late verdict's record (kind WARD_EV_SCAN) for the subscribers (NULL: dropped). */
	void (*emit)(void *arg, const ward_record_t *r);
	/* The mode in force (what the late verdict's record says the mode made of it). */
	ward_mode_t (*mode)(void *arg);
	void *arg;
} ward_yarascan_hooks_t;

/*
 * A scan step with these hooks (copied). No rules and no pool yet: the first
 * ward_yarascan_reload loads them. Creates no thread: the pool is started by the first
 * reload that finds at least one rule (call it after any fork).
 */
ward_err_t ward_yarascan_create(const ward_yarascan_hooks_t *h, ward_yarascan_t **out,
                                ward_error_t *err);

/* Use these rule paths (wardend --yara) instead of YaraRulesPaths, from now on.
 * WARD_E_LIMIT past WARD_MAX_YARA_PATHS, WARD_E_INVAL for an empty or too long path. */
ward_err_t ward_yarascan_override(ward_yarascan_t *y, const char *const *paths, size_t n,
                                  ward_error_t *err);

/*
 * Bring the active rule set in line with the rule files: cfg's YaraRulesPaths (or the
 * override) expanded, each file's (path, device, inode, size, mtime, ctime) compared
 * with those the active set was built from. Unchanged: nothing is rebuilt (SIGHUP from
 * logrotate must not make every file scan again) and any earlier reload error is
 * cleared. Changed: a new set is compiled and swapped in atomically, and the agent's
 * verdict caches are flushed (the flush hook), so no verdict of the
 * old set outlives it. A set that does not compile leaves the previous one active (or
 * none: scanning stays off); the error is kept for the status and returned. A missing
 * directory or a pattern that matches nothing is an empty set: no scanning, no error.
 * Also takes ScanMaxBytes from cfg. Logs what it did. *changed (may be NULL) tells
 * whether a new set was installed.
 */
ward_err_t ward_yarascan_reload(ward_yarascan_t *y, const ward_config_t *cfg, bool *changed,
                                ward_error_t *err);

/* decide()'s ward_scan_fn (arg: the ward_yarascan_t). See agent/engine/decide.h. */
/* True when no scan can happen now (no rules loaded): the engine's scan_idle. */
bool ward_yarascan_idle(void *arg);

ward_scanstep_t ward_yarascan_step(void *arg, const ward_event_t *ev, const char *path,
                                   const ward_identity_t *id, uint64_t deadline_ns,
                                   ward_scan_out_t *out);

/* The engine's ward_forget_fn (arg: the ward_yarascan_t): a modified file's verdicts
 * are forgotten. */
void ward_yarascan_forget(void *arg, const ward_filekey_t *k);

/*
 * `wardenctl status` "scan" object (a new reference): enabled, budget_ms and max_bytes
 * (from cfg), rules {generation, count, files, paths, loaded_at, error, failed_at,
 * reloads, reload_failures}, the pool's counters (submitted, scans, matched, blocked,
 * audited, timed_out, late, late_logged, aborted, busy, skipped, failed, cache_hits,
 * joined), queue {depth, capacity, running, workers}, scan_us {mean, p50, p99, max}.
 */
json_t *ward_yarascan_status_json(ward_yarascan_t *y, const ward_config_t *cfg);

/* The "rules" object of the status alone (the reload reply carries it). */
json_t *ward_yarascan_rules_json(ward_yarascan_t *y);

/*
 * The cached verdict for a file key, as `wardenctl fileinfo` shows it (a new
 * reference): {scanning, generation, found, and when found: status, action, reason,
 * matches, size, scan_ms}. Only verdicts of the active generation count.
 */
json_t *ward_yarascan_lookup_json(ward_yarascan_t *y, const ward_scan_key_t *key);

/*
 * Stop writing to the event log, then stop the pool: queued scans are dropped; if a
 * scan is still running (a slow one can run up to the hard limit), the pool and y are
 * left to the process exit instead of being waited for. Call after ward_engine_stop and
 * before the event log is closed. NULL is a no-op.
 */
void ward_yarascan_destroy(ward_yarascan_t *y);

#endif
