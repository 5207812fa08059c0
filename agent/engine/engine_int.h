/*
 * The engine's state, shared by pipeline.c (reader, workers, answering, publishing) and
 * deadline.c (the keeper). Nothing outside agent/engine/ includes this file.
 */
#ifndef WARD_AGENT_ENGINE_INT_H
#define WARD_AGENT_ENGINE_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "agent/engine/engine.h"

struct ward_engine {
	ward_engine_opts_t o;
	ward_metrics_t metrics;
	pid_t self;
	uint64_t started_ns;

	/* Answers that let the kernel cache take it shared; a flush takes it exclusive, so
	 * no cache bit decided before a flush can be written after it. */
	pthread_rwlock_t flush_lk;
	pthread_mutex_t policy_mu;   /* guards snap and the epoch's changes */
	ward_snapshot_t *snap;
	_Atomic uint64_t epoch;      /* changed under flush_lk (exclusive) */
	/* Copies of the snapshot's scalars the reader and keeper read without a lock. */
	_Atomic int cur_mode;
	atomic_bool cur_fail_closed;
	atomic_bool cur_log_allows;
	_Atomic uint32_t cur_budget_ms;
	atomic_bool stopping;
	_Atomic uint64_t cache_flushes;
	_Atomic int64_t last_refresh;
	bool watching_writes;
	unsigned share;

	struct { ward_record_fn fn; void *arg; } subs[WARD_ENGINE_SUBSCRIBERS];
	unsigned nsubs;

	pthread_t reader, keeper, workers[WARD_MAX_WORKERS];
	pthread_mutex_t keeper_mu;
	pthread_cond_t keeper_cv;
	bool keeper_stop;
	_Atomic uint64_t keeper_wake_ns; /* when the keeper wakes next (CLOCK_MONOTONIC) */
	bool started_threads;
	ward_error_t reader_err;
	atomic_bool reader_failed;
};

/* The one answer path (pipeline.c): answer ev with r->v, filling r->answer. epoch is
 * the flush epoch r->v was decided under. Returns the backend's code. */
ward_err_t ward_engine_answer(ward_engine_t *e, const ward_event_t *ev, ward_record_t *r,
                              uint64_t epoch);

/* After an answer: fill what the log wants, count, and hand r to the subscribers. */
void ward_engine_post(ward_engine_t *e, const ward_event_t *ev, ward_record_t *r);

/* The keeper's thread (deadline.c). */
void *ward_deadline_main(void *arg);

/* Wake the keeper if deadline_ns is earlier than the one it sleeps to. */
void ward_deadline_kick(ward_engine_t *e, uint64_t deadline_ns);

#endif
