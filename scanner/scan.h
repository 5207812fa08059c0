/*
 * warden — YARA scanning of unknown binaries, in bounded time.
 *
 * Three objects, each usable alone:
 *
 *   ward_yrules_t    one compiled rule set (libyara YR_RULES), shared read-only by every
 *                    thread, reference counted, with a process-unique generation number
 *                    and the warden meaning of each rule (block / audit / none).
 *   ward_yscanner_t  one scanner per thread (libyara YR_SCANNER) with its read buffer:
 *                    scans one open file synchronously (wardenctl scan, the pool workers).
 *   ward_scanpool_t  the agent's bounded-time pool: N workers fed by a bounded queue, a
 *                    verdict cache keyed by (file key, rule-set generation), one scan per
 *                    key however many callers ask, and a time budget per caller.
 *
 * What a match means (docs/scanning.md): a rule with meta `warden_action = "block"` or
 * the tag `block` blocks, reason "yara:<namespace>:<rule>"; `warden_action = "audit"` or
 * the tag `audit` is logged only; any other matching rule has no effect. Block wins
 * over audit. A warden_action meta with any other value makes the rule set invalid.
 *
 * Files are read into a private buffer and scanned from memory, never mmap'd: a file
 * truncated under an mmap raises SIGBUS, and libyara 4.2's SIGBUS guard installs
 * process-wide signal handlers per scan, which is not safe with concurrent scans.
 *
 * Library code: never prints, never exits; errors through ward_error_t.
 */
#ifndef WARD_SCANNER_SCAN_H
#define WARD_SCANNER_SCAN_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "common/error.h"
#include "common/filekey.h"
#include "common/limits.h"

/* Rules compiled when no YaraRulesPaths is configured. */
#define WARD_SCAN_DEFAULT_RULES "/etc/warden/yara/*.yar"

typedef enum {
	WARD_SCAN_NONE = 0,  /* no match, or only matches without a warden meaning */
	WARD_SCAN_AUDIT = 1, /* log the match; the decision is unchanged */
	WARD_SCAN_BLOCK = 2, /* deny, in every mode */
} ward_scan_action_t;

typedef enum {
	WARD_SCAN_DONE = 0, /* scanned: action, reason, nmatches are the verdict */
	WARD_SCAN_PENDING,  /* the budget ran out first; the scan goes on, its verdict will
	                       land in the cache (and on_done is called) */
	WARD_SCAN_BUSY,     /* queue full: not queued; nothing will happen */
	WARD_SCAN_SKIPPED,  /* not scanned: over ScanMaxBytes, not a regular file, or no
	                       rules loaded; reason says which */
	WARD_SCAN_ABORTED,  /* the scan hit the hard time limit; no verdict. Cached, so the
	                       file is not rescanned until the rules change */
	WARD_SCAN_FAILED,   /* could not read or scan; err and reason say why; not cached */
} ward_scan_status_t;

/*
 * The identity of a file's contents as the cache sees it: any write changes ctime (and
 * usually size), so a modified file has a new key and never hits an old verdict.
 */
typedef ward_filekey_t ward_scan_key_t; /* one file-key type: common/filekey.h */

/* The outcome of a scan or a submission. Fixed size: nothing to free. */
typedef struct ward_scan_verdict {
	ward_scan_status_t status;
	ward_scan_action_t action;       /* DONE only */
	ward_err_t err;                  /* FAILED only */
	uint32_t nmatches;               /* matching public rules, whatever their action */
	uint64_t generation;             /* of the rule set that produced it (0: none) */
	uint64_t scan_us;                /* read + scan time of the scan itself */
	uint64_t file_size;
	bool cached;                     /* answered from the verdict cache */
	bool has_sha256;                 /* the scan read the whole file and hashed it too */
	uint8_t sha256[32];
	char reason[WARD_SCAN_REASON_MAX]; /* "yara:<ns>:<rule>" of the deciding match (first
	                                    block, else first audit, else first match); why
	                                    for SKIPPED/ABORTED/FAILED */
} ward_scan_verdict_t;

/* One matching rule, as handed to a ward_scan_match_fn (valid during the call only). */
typedef struct ward_scan_match {
	const char *ns;
	const char *rule;
	const char *tags;                /* space separated, "" when none */
	ward_scan_action_t action;       /* this rule's own meaning */
} ward_scan_match_t;

typedef void (*ward_scan_match_fn)(void *ctx, const ward_scan_match_t *m);

/* Compiler diagnostics: file may be NULL (string source), line 0 when unknown. */
typedef void (*ward_yrules_diag_fn)(void *ctx, bool warning, const char *file, int line,
                                    const char *msg);

/* Fill key from a stat of the file (dev, ino, ctime, size). */
void ward_scan_key_from_stat(const struct stat *st, ward_scan_key_t *key);

/* Names for printing: "none" "audit" "block"; "done" "pending" "busy" "skipped"
 * "aborted" "failed". Never NULL. */
const char *ward_scan_action_name(ward_scan_action_t a);
const char *ward_scan_status_name(ward_scan_status_t s);

/* ------------------------------------------------------------------ rule sets */

typedef struct ward_yrules ward_yrules_t;

/*
 * Build a rule set from npaths paths or glob patterns (YaraRulesPaths). A pattern with
 * glob characters may match nothing; a plain path must exist. Each source file is
 * compiled in the namespace named by its base name without extension ("/x/mal.yar" ->
 * "mal"). A file starting with libyara's compiled-rules magic is loaded with
 * yr_rules_load instead; it must then be the only file, owned by root or by us, and
 * not writable by group or others (compiled rules are trusted code for libyara).
 * Errors name file and line ("x.yar:3: syntax error ..."); every diagnostic also goes
 * to diag (may be NULL). On success *out holds one reference; on failure *out is NULL.
 * Zero files is not an error: the set is empty and matches nothing.
 */
ward_err_t ward_yrules_open(const char *const *paths, size_t npaths, ward_yrules_diag_fn diag,
                            void *diag_ctx, ward_yrules_t **out, ward_error_t *err);

/* Compile rules from a string, in namespace ns (NULL: "default"). Same contract. */
ward_err_t ward_yrules_compile_string(const char *src, const char *ns, ward_yrules_diag_fn diag,
                                      void *diag_ctx, ward_yrules_t **out, ward_error_t *err);

/* Take / drop a reference. unref(NULL) is a no-op; the last unref frees the set. */
ward_yrules_t *ward_yrules_ref(ward_yrules_t *r);
void ward_yrules_unref(ward_yrules_t *r);

uint64_t ward_yrules_generation(const ward_yrules_t *r); /* unique in the process, > 0 */
uint32_t ward_yrules_count(const ward_yrules_t *r);      /* rules, private ones included */
uint32_t ward_yrules_files(const ward_yrules_t *r);      /* source or compiled files read */

/* ------------------------------------------------------------------ one scanner */

typedef struct ward_yscanner ward_yscanner_t;

/*
 * A scanner for one thread over rule set r (it takes its own reference). hard_limit_s
 * is libyara's timeout in whole seconds (0: WARD_SCAN_HARD_LIMIT_S).
 */
ward_err_t ward_yscanner_create(ward_yrules_t *r, unsigned hard_limit_s, ward_yscanner_t **out,
                                ward_error_t *err);
void ward_yscanner_destroy(ward_yscanner_t *s); /* NULL is a no-op */
ward_yrules_t *ward_yscanner_rules(const ward_yscanner_t *s); /* borrowed */

/*
 * Scan the regular file behind fd (read with pread from offset 0; the file offset is
 * not moved; fd is not closed). A file over max_bytes is not read: WARD_OK with status
 * SKIPPED. The hard limit gives status ABORTED. Each matching public rule is passed to
 * match (may be NULL) before this returns. stop (may be NULL) is polled while reading:
 * when it becomes true the read ends with WARD_E_TIMEOUT. If st is not NULL it receives
 * the fstat taken before reading (for key checks). Returns WARD_OK with *v filled
 * (status DONE, SKIPPED or ABORTED), or an error (v->status FAILED, v->reason = err).
 */
ward_err_t ward_yscanner_scan_fd(ward_yscanner_t *s, int fd, uint64_t max_bytes,
                                 const atomic_bool *stop, ward_scan_match_fn match,
                                 void *match_ctx, struct stat *st, ward_scan_verdict_t *v,
                                 ward_error_t *err);

/* Scan an in-memory buffer (tests, fuzzing). Same verdict contract, no size limit. */
ward_err_t ward_yscanner_scan_mem(ward_yscanner_t *s, const uint8_t *buf, size_t len,
                                  ward_scan_match_fn match, void *match_ctx,
                                  ward_scan_verdict_t *v, ward_error_t *err);

/* ------------------------------------------------------------------ the pool */

typedef struct ward_scanpool ward_scanpool_t;

/*
 * Called on a worker thread after every scan the pool ran (not for cache hits, BUSY or
 * SKIPPED answers), outside the pool lock. late is true when at least one submitter
 * was answered PENDING for this scan: the verdict reached nobody, log it. path is the
 * request's path (NULL if none). Must not block for long: it holds a worker.
 */
typedef void (*ward_scan_done_fn)(void *ctx, const ward_scan_key_t *key, const char *path,
                                  const ward_scan_verdict_t *v, bool late);

typedef struct ward_scanpool_opts {
	unsigned workers;        /* threads, each with its own YR_SCANNER */
	unsigned queue_len;      /* queued scans at most; more -> BUSY */
	unsigned cache_entries;  /* verdicts kept (rounded up to a power of two) */
	uint64_t max_bytes;      /* ScanMaxBytes: larger files are SKIPPED */
	unsigned hard_limit_s;   /* libyara timeout: a background scan never runs longer */
	int worker_nice;         /* added to the workers' nice value (0..19; Linux sets it per
	                            thread), so threads deciding preempt threads scanning */
	ward_scan_done_fn on_done; /* may be NULL */
	void *on_done_ctx;
} ward_scanpool_opts_t;

/* Defaults: workers = online CPUs, WARD_SCAN_QUEUE_DEFAULT, WARD_SCAN_CACHE_DEFAULT,
 * max_bytes = 256 MiB (ScanMaxBytes' default), WARD_SCAN_HARD_LIMIT_S,
 * WARD_SCAN_WORKER_NICE, no callback. */
void ward_scanpool_opts_default(ward_scanpool_opts_t *o);

/*
 * Start the pool (threads run at once; with no rules every submission is SKIPPED).
 * Values out of range (0 workers, more than WARD_SCAN_MAX_WORKERS, ...) are WARD_E_INVAL.
 */
ward_err_t ward_scanpool_create(const ward_scanpool_opts_t *o, ward_scanpool_t **out,
                                ward_error_t *err);

/*
 * Stop the pool: queued scans are dropped, running ones are waited for (each ends
 * within the hard limit), threads joined, everything freed. No submit may be running
 * or start on another thread. NULL is a no-op.
 */
void ward_scanpool_destroy(ward_scanpool_t *p);

/*
 * Make r the active rule set (the pool takes its own reference; r may be NULL to stop
 * scanning). Scans already running finish with the set they started with; cached
 * verdicts of older generations stop matching, so files are rescanned on next submit.
 */
void ward_scanpool_set_rules(ward_scanpool_t *p, ward_yrules_t *r);

/*
 * Build a new rule set (ward_yrules_open) and swap it in. On failure the previous set
 * stays active, the error is returned and kept for ward_scanpool_rules_status.
 */
ward_err_t ward_scanpool_reload(ward_scanpool_t *p, const char *const *paths, size_t npaths,
                                ward_error_t *err);

typedef struct ward_yrules_status {
	uint64_t generation;     /* active set, 0 when none */
	uint32_t nrules, nfiles;
	int64_t loaded_at;       /* unix time the active set was installed */
	bool reload_failed;      /* the last reload failed; the active set is older */
	int64_t failed_at;
	char error[WARD_ERRMSG_MAX]; /* the last failed reload's error ("x.yar:3: ...") */
} ward_yrules_status_t;

void ward_scanpool_rules_status(ward_scanpool_t *p, ward_yrules_status_t *st);

typedef struct ward_scan_req {
	int fd;                  /* file to scan (dup'ed: the caller may close it at once),
	                            or -1 to open path on the worker */
	const char *path;        /* opened when fd < 0; otherwise a label for on_done; may be
	                            NULL when fd >= 0 */
	ward_scan_key_t key;     /* the file's key now; a worker that finds another key
	                            answers FAILED (the file changed) */
	uint32_t budget_ms;      /* wait at most this long (0: never wait) */
} ward_scan_req_t;

/*
 * Get the verdict for req->key within req->budget_ms. In order: a cached verdict of the
 * active generation (DONE/ABORTED, cached = true); SKIPPED when no rules or
 * key.size > max_bytes; join the scan already queued or running for this key and
 * generation, or queue a new one (BUSY if the queue is full); then wait on a
 * CLOCK_MONOTONIC deadline. When the budget ends first: PENDING, at once, and the scan
 * goes on. Never blocks longer than the budget plus a lock hand-off.
 * Returns WARD_OK with *v filled, or WARD_E_INVAL (bad request, *v FAILED).
 */
ward_err_t ward_scanpool_submit(ward_scanpool_t *p, const ward_scan_req_t *req,
                                ward_scan_verdict_t *v, ward_error_t *err);

/* Cache only: true and *v filled when key has a verdict of the active generation. */
bool ward_scanpool_lookup(ward_scanpool_t *p, const ward_scan_key_t *key, ward_scan_verdict_t *v);

/* Forget every cached verdict. */
void ward_scanpool_flush(ward_scanpool_t *p);

/* Forget every verdict held for the file k names (same device and inode, any content):
 * the file was modified. */
void ward_scanpool_forget(ward_scanpool_t *p, const ward_scan_key_t *k);

typedef struct ward_scanpool_stats {
	uint64_t submitted;      /* submit calls */
	uint64_t cache_hits;
	uint64_t joined;         /* submits that joined a scan in flight */
	uint64_t scans;          /* scans finished (any outcome but dropped at shutdown) */
	uint64_t matched;        /* scans with at least one matching rule */
	uint64_t blocked, audited; /* scans whose action was block / audit */
	uint64_t pending;        /* submits answered PENDING (budget ran out) */
	uint64_t late;           /* scans finished after a submitter got PENDING */
	uint64_t busy;           /* submits refused: queue full */
	uint64_t skipped;        /* submits / scans not scanned (size, type, no rules) */
	uint64_t aborted;        /* scans stopped by the hard limit */
	uint64_t failed;         /* scans that could not read or scan */
	uint32_t queue_depth, queue_capacity, running, workers;
	uint64_t scan_us_mean, scan_us_p50, scan_us_p99, scan_us_max;
	uint64_t generation;
} ward_scanpool_stats_t;

void ward_scanpool_stats(ward_scanpool_t *p, ward_scanpool_stats_t *st);

#endif
