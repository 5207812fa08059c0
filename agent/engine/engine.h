/*
 * The running agent: the pipeline that joins a backend, decide(), the caches, the
 * queue, the workers, the deadline keeper and the event log. wardend.c fills the
 * configuration part, calls ward_agent_start, and drives the control socket and the
 * store watcher from its main loop.
 *
 * Threads: one reader (the backend's run loop; answers cache hits, its own pid and
 * queue-full fallbacks itself), nworkers workers (decide and answer), one deadline
 * keeper, the event log writer, and the main thread (signals, control, store watch).
 */
#ifndef WARD_AGENT_ENGINE_H
#define WARD_AGENT_ENGINE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "agent/backend.h"
#include "agent/engine/cache.h"
#include "agent/compiler.h"
#include "agent/engine/decide.h"
#include "agent/eventlog.h"
#include "agent/engine/metrics.h"
#include "agent/engine/policy.h"
#include "agent/engine/queue.h"
#include "common/limits.h"
#include "rules/rules.h"

typedef struct ward_agent {
	/* ---- set by the caller before ward_agent_start ---- */
	ward_backend_t *backend;
	ward_cache_t *cache;       /* NULL: no user-space cache */
	ward_queue_t *queue;
	ward_evlog_t *evlog;       /* NULL: no event log */
	ward_store_t *store;       /* NULL: no rules */
	ward_compilers_t *compilers; /* NULL: ALLOWLIST_COMPILER allows but is not transitive */
	unsigned nworkers;
	bool kernel_cache;         /* the backend adds kernel cache marks for ALLOWs */
	ward_scan_fn scan;         /* the YARA scan step (agent/yarascan.c); NULL: none */
	void *scan_arg;
	/* Called with the mode of every snapshot published (init included), under
	 * policy_mu: the BPF ground follows the mode (ward_bpfground_set_mode). NULL: none. */
	void (*on_publish)(void *arg, ward_mode_t mode);
	void *on_publish_arg;

	/* ---- state ---- */
	ward_metrics_t metrics;
	pid_t self;
	time_t started;
	uint64_t started_ns;
	pthread_mutex_t policy_mu; /* guards snap and epoch, and orders cache inserts vs flushes */
	ward_snapshot_t *snap;
	_Atomic uint64_t epoch;    /* changed under policy_mu; the reader may peek without it */
	/* Copies of the snapshot's scalars the reader and keeper read without the lock. */
	_Atomic int cur_mode;
	atomic_bool cur_fail_closed;
	atomic_bool cur_log_allows;
	_Atomic uint32_t cur_budget_ms;
	atomic_bool stopping;
	_Atomic uint64_t cache_flushes;
	_Atomic int64_t last_refresh; /* unix seconds of the last index rebuild */
	bool watching_writes;      /* compiler rules exist: the backend reports close-writes */

	pthread_t reader, keeper, workers[WARD_MAX_WORKERS];
	pthread_mutex_t keeper_mu;
	pthread_cond_t keeper_cv;
	bool keeper_stop;
	bool started_threads;
	ward_error_t reader_err;   /* why the reader stopped, if it failed */
	atomic_bool reader_failed;
} ward_agent_t;

/* Initialise the state part and publish the first snapshot (takes ownership of snap). */
void ward_agent_init(ward_agent_t *a, ward_snapshot_t *snap);

/* Start the reader, the workers and the deadline keeper. */
ward_err_t ward_agent_start(ward_agent_t *a, ward_error_t *err);

/*
 * Stop: the reader stops reading, queued events are given back unanswered, workers in
 * a decision finish it, then the group is closed (the kernel allows what is pending).
 */
void ward_agent_stop(ward_agent_t *a);

/* The current snapshot, referenced (release with ward_snapshot_unref); *epoch if not NULL. */
ward_snapshot_t *ward_agent_snapshot(ward_agent_t *a, uint64_t *epoch);

/* Publish snap (ownership passes) as current, and flush both verdict caches. */
void ward_agent_publish(ward_agent_t *a, ward_snapshot_t *snap);

/* Start or stop close-write reporting to match the current snapshot's compiler rules. */
void ward_agent_watch_writes(ward_agent_t *a);

/* Flush both verdict caches (the flush-cache command). */
void ward_agent_flush(ward_agent_t *a);

/*
 * The store watcher: if the store's generation differs from the current snapshot's (or
 * force), build a new snapshot with cfg and publish it. *changed tells whether it did.
 */
ward_err_t ward_agent_refresh(ward_agent_t *a, const ward_config_t *cfg, bool force,
                              bool *changed, ward_error_t *err);

/* CLOCK_MONOTONIC in ns. */
uint64_t ward_mono_ns(void);

/* The deadline keeper's thread (agent/engine/deadline.c). */
void *ward_deadline_main(void *arg);

/* Answer ev with v now, count it, and log it if it is loggable (used by every thread
 * that answers: reader, workers, keeper). Returns the latency in microseconds. */
uint64_t ward_agent_answer(ward_agent_t *a, const ward_event_t *ev, const ward_verdict_t *v,
                           ward_evrec_t *rec);

/* Submit a log record for ev/v if loggable (rec may be partly filled by decide). */
void ward_agent_log(ward_agent_t *a, const ward_event_t *ev, const ward_verdict_t *v,
                    uint64_t latency_us, ward_evrec_t *rec);

#endif
