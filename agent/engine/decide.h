/*
 * decide(): the hot path, in the order of ../DESIGN.md. Platform-free: a backend turned
 * the kernel event into a ward_event_t; the pipeline answers the kernel with the
 * verdict and hands the record to its subscribers afterwards.
 *
 *   EXEC: cache -> identity -> rules -> platform (trusted paths) -> scan -> mode
 *   OPEN: never the exec policy: the file-access policy decides (none: allow, not
 *         cached, the kernel should not have asked)
 */
#ifndef WARD_AGENT_DECIDE_H
#define WARD_AGENT_DECIDE_H

#include <stddef.h>
#include <stdint.h>

#include "agent/backend.h"
#include "agent/fileaccess.h"
#include "agent/engine/cache.h"
#include "agent/engine/policy.h"
#include "agent/engine/record.h"
#include "agent/engine/verdict.h"

/*
 * The scan step: the bounded-time YARA pool (scanner/scan.h) behind an adapter,
 * agent/yarascan.c. Called for a file no rule and no trusted path decided; it must
 * return by deadline_ns (CLOCK_MONOTONIC; the event's), whatever came before it.
 * path is the target's path (NULL when the backend has none). Returns:
 *   WARD_SCANSTEP_BLOCK      a block rule matched: deny in every mode (out->what names
 *                            "yara:<namespace>:<rule>")
 *   WARD_SCANSTEP_CLEAN      scanned: the mode decides, cacheable (an audit match is
 *                            named in out->what)
 *   WARD_SCANSTEP_SKIPPED    not scanned and never will be as things stand (no rules,
 *                            over ScanMaxBytes, hard limit hit once): the mode decides,
 *                            cacheable
 *   WARD_SCANSTEP_PENDING    the budget ran out; the scan goes on: the mode decides, NOT
 *                            cached, the log line says scan_pending
 *   WARD_SCANSTEP_UNSCANNED  not scanned this time (scan queue full, read error): the
 *                            mode decides, NOT cached (a flood of scans must not buy an
 *                            unscanned file a cached ALLOW)
 * When the scan read the file it may fill sha256 (*has_sha256 = true): one read of an
 * unknown file feeds both YARA and the log's SHA-256.
 */
typedef enum {
	WARD_SCANSTEP_SKIPPED = 0,
	WARD_SCANSTEP_CLEAN,
	WARD_SCANSTEP_BLOCK,
	WARD_SCANSTEP_PENDING,
	WARD_SCANSTEP_UNSCANNED,
} ward_scanstep_t;

typedef struct ward_scan_out {
	char what[WARD_SCAN_REASON_MAX]; /* the deciding match ("yara:<ns>:<rule>"), or why
	                                    the file was not scanned ("" nothing to say) */
	bool audit;                      /* what is an audit match */
	uint32_t other_matches;          /* matching rules that neither block nor audit */
	bool has_sha256;
	uint8_t sha256[WARD_SHA256_LEN];
} ward_scan_out_t;

typedef ward_scanstep_t (*ward_scan_fn)(void *arg, const ward_event_t *ev, const char *path,
                                        const ward_identity_t *id, uint64_t deadline_ns,
                                        ward_scan_out_t *out);

typedef struct ward_decide_ctx {
	const ward_snapshot_t *snap;
	ward_cache_t *cache;        /* NULL: step 1 was done by the caller (the reader) */
	ward_backend_t *backend;    /* for the target's path */
	ward_fileaccess_t *fa;      /* the file-access policy (OPEN events); NULL: none */
	ward_scan_fn scan;          /* NULL: no scan step */
	void *scan_arg;
	uint64_t now_ms;            /* CLOCK_MONOTONIC, for the cache */
	int64_t now;                /* unix seconds, for rule expiry */
	/* The event reader's try (agent/engine/pipeline.c): reads must not wait (the caller
	 * set ward_nowait_begin) and the scan step is never run: a decision that would scan
	 * stops with WARD_NOTE_TO_WORKER, unless scan_idle says no scan can happen now. */
	bool fast;
	bool (*scan_idle)(void *scan_arg); /* NULL: a scan may always happen */
} ward_decide_ctx_t;

/*
 * Decide ev into r (r->v is the verdict; r's identity fields, notes and the path when
 * it was needed are filled). Never fails: an unreadable file is decided by the mode
 * with reason "error" and is not cacheable. Reads the file only when a rule type that
 * needs its bytes exists (BINARY, CERTIFICATE without kernel hints) or a scan runs;
 * whole-file reads stop at ev->deadline_ns.
 */
void ward_decide(const ward_decide_ctx_t *ctx, const ward_event_t *ev, ward_record_t *r);

/* Step 1 alone (the reader's fast path): true and *v filled on a cache hit. */
bool ward_decide_cached(const ward_decide_ctx_t *ctx, const ward_event_t *ev, ward_verdict_t *v);

/*
 * The verdict when no decision was made in time (or at all). why says who failed:
 *   WARD_RSN_DEADLINE with own_fault: the file itself or its own user's load took the
 *     time (a decision was running, or the user had others in flight): LOCKDOWN denies
 *     whatever FailClosed says (time is not a way in);
 *   anything else is the agent's own failure: FailClosed in LOCKDOWN denies, everything
 *     else allows. Never cacheable.
 */
/* Whether a user other than root can change the file's bytes (its owner, or anyone
 * through group/other write bits): no verdict of such a file is cached. */
bool ward_decide_user_writable(const ward_event_t *ev);

void ward_decide_fallback(ward_mode_t mode, bool fail_closed, ward_reason_t why, bool own_fault,
                          ward_verdict_t *v);

/* Whether a verdict is written to the event log: denies, unknowns and fallbacks always;
 * allows by rule, trusted path or the agent itself only with EventLogAllows. */
bool ward_decide_loggable(const ward_verdict_t *v, bool log_allows);

#endif
