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
#include "agent/cache.h"
#include "agent/eventlog.h"
#include "agent/policy.h"
#include "agent/verdict.h"

/*
 * The scan step (issue 6 plugs the bounded-time YARA pool, scanner/scan.h, in here: an
 * adapter maps its verdicts onto these). Called for a file no rule and no trusted path
 * decided, with at most budget_ms to spend. Returns WARD_SCANSTEP_BLOCK to deny (detail
 * names the YARA rule), WARD_SCANSTEP_CLEAN or WARD_SCANSTEP_SKIPPED to let the mode
 * decide, WARD_SCANSTEP_PENDING when the budget ran out (the mode decides and the
 * verdict is not cached).
 */
typedef enum {
	WARD_SCANSTEP_SKIPPED = 0,
	WARD_SCANSTEP_CLEAN,
	WARD_SCANSTEP_BLOCK,
	WARD_SCANSTEP_PENDING,
} ward_scanstep_t;

typedef ward_scanstep_t (*ward_scan_fn)(void *arg, int fd, const ward_filekey_t *key,
                                           const ward_identity_t *id, uint32_t budget_ms,
                                           char *detail, size_t detail_len);

typedef struct ward_decide_ctx {
	const ward_snapshot_t *snap;
	ward_cache_t *cache;        /* NULL: no user-space cache */
	ward_backend_t *backend;    /* for the target's path */
	ward_scan_fn scan;          /* NULL until the YARA pool exists */
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
