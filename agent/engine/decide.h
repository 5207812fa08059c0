/*
 * decide(): the hot path, in the order of ../DESIGN.md — verdict cache, identity, rules,
 * trusted paths, scan, mode. Platform-free: a backend turned the kernel event into a
 * ward_event_t; the pipeline answers the kernel with the verdict.
 */
#ifndef WARD_AGENT_DECIDE_H
#define WARD_AGENT_DECIDE_H

#include <stddef.h>
#include <stdint.h>

#include "agent/backend.h"
#include "agent/engine/cache.h"
#include "agent/eventlog.h"
#include "agent/engine/policy.h"
#include "agent/engine/verdict.h"

/*
 * The scan step: the bounded-time YARA pool (scanner/scan.h) behind an adapter,
 * agent/yarascan.c. Called for a file no rule and no trusted path decided, with
 * budget_ms counted from the event's arrival (ev->t_recv_ns), so that a decision never
 * waits on a scan past that point whatever came before it. path is the target's path
 * (NULL when the backend has none). Returns:
 *   WARD_SCANSTEP_BLOCK      a block rule matched: deny in every mode (detail names
 *                            "yara:<namespace>:<rule>")
 *   WARD_SCANSTEP_CLEAN      scanned: the mode decides, cacheable (an audit match is
 *                            named in detail)
 *   WARD_SCANSTEP_SKIPPED    not scanned and never will be as things stand (no rules,
 *                            over ScanMaxBytes, hard limit hit once): the mode decides,
 *                            cacheable
 *   WARD_SCANSTEP_PENDING    the budget ran out; the scan goes on: the mode decides, NOT
 *                            cached, the log line says scan_pending
 *   WARD_SCANSTEP_UNSCANNED  not scanned this time (scan queue full, read error): the
 *                            mode decides, NOT cached (a flood of scans must not buy an
 *                            unscanned file a cached ALLOW)
 * detail receives a sentence for the log (may be left empty).
 */
typedef enum {
	WARD_SCANSTEP_SKIPPED = 0,
	WARD_SCANSTEP_CLEAN,
	WARD_SCANSTEP_BLOCK,
	WARD_SCANSTEP_PENDING,
	WARD_SCANSTEP_UNSCANNED,
} ward_scanstep_t;

/* Room for the scan step's sentence: a "yara:<ns>:<rule>" reason plus words. */
#define WARD_SCAN_DETAIL_MAX (WARD_SCAN_REASON_MAX + 96)

typedef ward_scanstep_t (*ward_scan_fn)(void *arg, const ward_event_t *ev, const char *path,
                                        const ward_identity_t *id, uint32_t budget_ms,
                                        char *detail, size_t detail_len);

typedef struct ward_decide_ctx {
	const ward_snapshot_t *snap;
	ward_cache_t *cache;        /* NULL: no user-space cache */
	ward_backend_t *backend;    /* for the target's path */
	ward_scan_fn scan;          /* NULL: no scan step */
	void *scan_arg;
	uint64_t now_ms;            /* CLOCK_MONOTONIC, for the cache */
	int64_t now;                /* unix seconds, for rule expiry */
} ward_decide_ctx_t;

/*
 * Decide ev. Fills *v, and in rec the identity strings, path (when it was needed) and a
 * detail sentence for the log. Never fails: an unreadable file is decided by the mode
 * with reason "error" and is not cacheable.
 */
void ward_decide(const ward_decide_ctx_t *ctx, const ward_event_t *ev, ward_verdict_t *v,
                 ward_evrec_t *rec);

/* Step 1 alone (the reader's fast path): true and *v filled on a cache hit. */
bool ward_decide_cached(const ward_decide_ctx_t *ctx, const ward_event_t *ev, ward_verdict_t *v);

/* The verdict when no decision could be made in time (or at all): FailClosed in
 * LOCKDOWN denies, everything else allows. Never cacheable. */
void ward_decide_fallback(ward_mode_t mode, bool fail_closed, ward_reason_t why,
                          ward_verdict_t *v);

/* Whether a verdict is written to the event log: denies, unknowns and fallbacks always;
 * allows by rule, trusted path or the agent itself only with EventLogAllows. */
bool ward_decide_loggable(const ward_verdict_t *v, bool log_allows);

#endif
