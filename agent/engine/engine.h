/*
 * The decision engine: joins a backend (agent/backend.h), decide(), the verdict cache,
 * the queue, the workers and the deadline keeper, and hands every decision record to
 * its subscribers once the kernel has its answer. It knows no platform: wardend (or a
 * test) creates the backend, the cache and the queue, and gives them to the engine.
 *
 * Answering (one path, exactly once): every permission event is answered by
 * engine_answer() (pipeline.c), whoever gets there first: the reader (the agent's own
 * pid, a cache hit, a full queue), a worker (a decision), or the deadline keeper (the
 * fallback). A slot's atomic claim decides who; the keeper pins what it claimed so the
 * worker cannot give the event back under its write. No lock another answer needs is
 * held while /proc is read or anything is logged.
 *
 * Threads: one reader (the backend's run loop), nworkers workers, one deadline keeper.
 */
#ifndef WARD_AGENT_ENGINE_H
#define WARD_AGENT_ENGINE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "agent/backend.h"
#include "agent/compiler.h"
#include "agent/engine/cache.h"
#include "agent/engine/decide.h"
#include "agent/engine/metrics.h"
#include "agent/engine/policy.h"
#include "agent/engine/queue.h"
#include "agent/engine/record.h"
#include "common/clock.h"
#include "common/limits.h"
#include "rules/rules.h"

typedef struct ward_engine ward_engine_t;

/*
 * A subscriber: called with every record that is logged (ward_decide_loggable) after
 * its answer was written, and with the records given to ward_engine_emit, on the thread
 * that answered. It must not block: copy what it needs into a bounded ring of its own.
 */
typedef void (*ward_record_fn)(void *arg, const ward_record_t *r);

/* Told when a file was modified, renamed or unlinked: caches outside the engine (the
 * scan results) forget it too. */
typedef void (*ward_forget_fn)(void *arg, const ward_filekey_t *k);

typedef struct ward_engine_opts {
	ward_backend_t *backend;
	ward_cache_t *cache;         /* NULL: no user-space cache */
	ward_queue_t *queue;
	unsigned nworkers;           /* 1..WARD_MAX_WORKERS */
	bool kernel_cache;           /* let the kernel remember plain ALLOWs */
	ward_scan_fn scan;           /* the scan step; NULL: none (settable later) */
	void *scan_arg;
	bool (*scan_idle)(void *scan_arg); /* true: the scan step would not scan anything now
	                                      (no rules); lets the reader decide unknown files */
	ward_forget_fn forget;       /* NULL: none */
	void *forget_arg;
	ward_compilers_t *compilers; /* NULL: ALLOWLIST_COMPILER allows but is not transitive */
	ward_fileaccess_t *fileaccess; /* decides OPEN events; NULL: every OPEN is allowed */
	/* Called with the mode of every snapshot published (creation included), under
	 * policy_mu: the BPF ground follows the mode (ward_bpfground_set_mode). NULL: none. */
	void (*on_publish)(void *arg, ward_mode_t mode);
	void *on_publish_arg;
	/* Called on the answer path just BEFORE an EXEC is answered ALLOW: user_writable
	 * true when no cache will remember the answer because a user other than root can write
	 * the file (the BPF ground then checks, once execve has denied writes, that the
	 * file still has key's ctime and size: ward_bpfground_note_allow); false for the
	 * other ALLOWs. Must not block. NULL: none. */
	void (*on_exec_allow)(void *arg, const ward_filekey_t *key, bool user_writable);
	void *on_exec_allow_arg;
} ward_engine_opts_t;

/* Create the engine with its first snapshot (ownership passes). No thread yet. */
ward_err_t ward_engine_create(const ward_engine_opts_t *o, ward_snapshot_t *snap,
                              ward_engine_t **out, ward_error_t *err);

/* Add a subscriber (before ward_engine_start; at most WARD_ENGINE_SUBSCRIBERS). */
ward_err_t ward_engine_subscribe(ward_engine_t *e, ward_record_fn fn, void *arg, ward_error_t *err);

/* Set the scan step (before ward_engine_start); idle (NULL ok) as scan_idle above. */
void ward_engine_set_scan(ward_engine_t *e, ward_scan_fn fn, void *arg, ward_forget_fn forget,
                          void *forget_arg);
void ward_engine_set_scan_idle(ward_engine_t *e, bool (*idle)(void *scan_arg));

/* Start the reader, the workers and the deadline keeper. */
ward_err_t ward_engine_start(ward_engine_t *e, ward_error_t *err);

/*
 * Stop: the reader stops reading, queued events are given back unanswered, workers in
 * a decision finish it. The caller then destroys the backend (the kernel allows what
 * is pending when the group closes).
 */
void ward_engine_stop(ward_engine_t *e);

/* Free the engine and its snapshot (after stop). NULL ok. */
void ward_engine_destroy(ward_engine_t *e);

/* The current snapshot, referenced (release with ward_snapshot_unref); *epoch if not NULL. */
ward_snapshot_t *ward_engine_snapshot(ward_engine_t *e, uint64_t *epoch);

/* Publish snap (ownership passes) as current, and flush every verdict cache. */
void ward_engine_publish(ward_engine_t *e, ward_snapshot_t *snap);

/* Flush every verdict cache (the flush-cache command, a new YARA rule set). */
void ward_engine_flush(ward_engine_t *e);

/* Start or stop modified-file reporting to match the current snapshot's compiler rules. */
void ward_engine_watch_writes(ward_engine_t *e);

/*
 * The store watcher: if st's generation differs from the current snapshot's (or force),
 * build a new snapshot with cfg and publish it. *changed tells whether it did.
 */
ward_err_t ward_engine_refresh(ward_engine_t *e, ward_store_t *st, const ward_config_t *cfg,
                               bool force, bool *changed, ward_error_t *err);

/* Hand r to the subscribers (a late scan verdict: agent/yarascan.c). Any thread. */
void ward_engine_emit(ward_engine_t *e, const ward_record_t *r);

/* The mode in force (lock-free). */
ward_mode_t ward_engine_mode(const ward_engine_t *e);

/* What status shows. */
typedef struct ward_engine_info {
	const char *backend;         /* the backend's name */
	pid_t self;
	uint64_t started_ns;         /* CLOCK_MONOTONIC */
	unsigned nworkers;
	unsigned share;              /* workers one non-root user may hold at once */
	bool watching_writes;
	bool started;
	uint64_t cache_flushes;
	int64_t last_refresh;        /* unix seconds of the last index rebuild */
} ward_engine_info_t;
void ward_engine_info(ward_engine_t *e, ward_engine_info_t *out);
ward_metrics_t *ward_engine_metrics(ward_engine_t *e);

/* Whether the reader stopped on an error (why in *err if not NULL). */
bool ward_engine_failed(ward_engine_t *e, ward_error_t *err);

#endif
