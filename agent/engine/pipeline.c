/*
 * The pipeline: the reader's sink, the worker pool, answering and logging, publishing
 * policy snapshots. The rule for every path here: the kernel is answered first, then
 * the caches learn the verdict, then the event log gets a record.
 *
 * Epochs: a verdict may only enter a cache if no flush happened since the snapshot it
 * was decided with was taken. Inserts and flushes both run under policy_mu and compare
 * the epoch, so a rule change can never be undone by a decision that was in flight.
 */
#include "agent/engine/engine.h"

#include "agent/confine.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/log.h"

uint64_t ward_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ------------------------------------------------------------ snapshots, caches */

static void set_scalars(ward_agent_t *a, const ward_snapshot_t *s)
{
	atomic_store(&a->cur_mode, (int)s->cfg.mode);
	atomic_store(&a->cur_fail_closed, s->cfg.fail_closed);
	atomic_store(&a->cur_log_allows, s->cfg.event_log_allows);
	atomic_store(&a->cur_budget_ms, s->cfg.decision_budget_ms);
}

void ward_agent_init(ward_agent_t *a, ward_snapshot_t *snap)
{
	ward_metrics_init(&a->metrics);
	a->self = getpid();
	a->started = time(NULL);
	a->started_ns = ward_mono_ns();
	pthread_mutex_init(&a->policy_mu, NULL);
	pthread_mutex_init(&a->keeper_mu, NULL);
	pthread_cond_init(&a->keeper_cv, NULL);
	a->snap = snap;
	a->epoch = 1;
	snap->epoch = 1;
	set_scalars(a, snap);
	atomic_store(&a->last_refresh, (int64_t)time(NULL));
}


ward_snapshot_t *ward_agent_snapshot(ward_agent_t *a, uint64_t *epoch)
{
	ward_snapshot_t *s;

	pthread_mutex_lock(&a->policy_mu);
	s = ward_snapshot_ref(a->snap);
	if (epoch)
		*epoch = a->epoch;
	pthread_mutex_unlock(&a->policy_mu);
	return s;
}

/* Caller holds policy_mu. */
static void flush_locked(ward_agent_t *a)
{
	a->epoch++;
	if (a->cache)
		ward_cache_flush(a->cache);
	a->backend->ops->cache_flush(a->backend);
	atomic_fetch_add(&a->cache_flushes, 1);
	atomic_fetch_add_explicit(&a->metrics.kernel_cache_flushes, 1, memory_order_relaxed);
}

/* Close-write events are only worth their cost while compiler rules exist. */
static void watch_writes(ward_agent_t *a, const ward_snapshot_t *s)
{
	bool want = a->compilers != NULL && ward_snapshot_has_compilers(s);

	if (want == a->watching_writes || a->backend->ops->watch_writes == NULL)
		return;
	if (!a->backend->ops->watch_writes(a->backend, want))
		log_warnx("cannot %s close-write events for compiler rules", want ? "watch" : "unwatch");
	a->watching_writes = want;
}

void ward_agent_publish(ward_agent_t *a, ward_snapshot_t *snap)
{
	ward_snapshot_t *old;

	pthread_mutex_lock(&a->policy_mu);
	old = a->snap;
	a->snap = snap;
	flush_locked(a);
	snap->epoch = a->epoch;
	set_scalars(a, snap);
	watch_writes(a, snap);
	pthread_mutex_unlock(&a->policy_mu);
	ward_snapshot_unref(old);
}

/* Called once the backend exists (the first snapshot is published before). */
void ward_agent_watch_writes(ward_agent_t *a)
{
	pthread_mutex_lock(&a->policy_mu);
	watch_writes(a, a->snap);
	pthread_mutex_unlock(&a->policy_mu);
}

void ward_agent_flush(ward_agent_t *a)
{
	pthread_mutex_lock(&a->policy_mu);
	flush_locked(a);
	pthread_mutex_unlock(&a->policy_mu);
}

ward_err_t ward_agent_refresh(ward_agent_t *a, const ward_config_t *cfg, bool force,
                              bool *changed, ward_error_t *err)
{
	ward_snapshot_t *cur, *next;
	uint64_t gen = 0;
	ward_err_t rc;

	*changed = false;
	if (a->store != NULL && !force) {
		if ((rc = ward_store_generation(a->store, &gen, err)) != WARD_OK)
			return rc;
		cur = ward_agent_snapshot(a, NULL);
		bool same = cur->store_gen == gen;
		ward_snapshot_unref(cur);
		if (same)
			return WARD_OK;
	} else if (a->store == NULL && !force) {
		return WARD_OK;
	}
	if ((rc = ward_snapshot_build(cfg, a->store, &next, err)) != WARD_OK)
		return rc;
	ward_agent_publish(a, next);
	atomic_fetch_add_explicit(&a->metrics.index_rebuilds, 1, memory_order_relaxed);
	atomic_store(&a->last_refresh, (int64_t)time(NULL));
	*changed = true;
	return WARD_OK;
}

/* Teach the caches v for ev, unless a flush happened since epoch. ALLOWs also go to the
 * kernel; DENYs stay in user space (briefly: the cache gives them a TTL). */
static void remember(ward_agent_t *a, const ward_event_t *ev, const ward_verdict_t *v,
                     uint64_t epoch, bool user_cache)
{
	bool kernel = a->kernel_cache && v->decision == WARD_ALLOW && !v->compiler;

	if (!v->cacheable || !ev->key_ok || (!kernel && (!user_cache || a->cache == NULL)))
		return;
	pthread_mutex_lock(&a->policy_mu);
	if (a->epoch == epoch) {
		if (user_cache && a->cache)
			ward_cache_insert(a->cache, &ev->key, v, ward_mono_ns() / 1000000);
		/* Not a compiler's ALLOW: its next exec must reach us to be remembered. */
		if (kernel) {
			a->backend->ops->cache_allow(a->backend, ev);
			atomic_fetch_add_explicit(&a->metrics.kernel_cache_adds, 1, memory_order_relaxed);
		}
	}
	pthread_mutex_unlock(&a->policy_mu);
}

/* ------------------------------------------------------------ answering, logging */

/* The caller's details, while it still is the process that asked: only for events
 * that will be logged (a /proc read costs ~20 us; the verdict is not waiting on disk). */
static void capture(ward_agent_t *a, const ward_event_t *ev, const ward_verdict_t *v,
                    ward_evrec_t *rec)
{
	if (a->evlog == NULL || !ward_decide_loggable(v, atomic_load(&a->cur_log_allows)))
		return;
	ward_procinfo_read(ev->pid, &rec->proc);
}

void ward_agent_log(ward_agent_t *a, const ward_event_t *ev, const ward_verdict_t *v,
                    uint64_t latency_us, ward_evrec_t *rec)
{
	if (a->evlog == NULL || !ward_decide_loggable(v, atomic_load(&a->cur_log_allows)))
		return;
	clock_gettime(CLOCK_REALTIME, &rec->when);
	rec->kind = ev->kind;
	rec->v = *v;
	rec->mode = (ward_mode_t)atomic_load(&a->cur_mode);
	rec->pid = ev->pid;
	rec->latency_us = latency_us;
	if (rec->path[0] == '\0')
		a->backend->ops->path(a->backend, ev, rec->path, sizeof(rec->path));
	if (!rec->proc.ok)
		ward_procinfo_read(ev->pid, &rec->proc);
	ward_evlog_submit(a->evlog, rec);
}

static void rec_reset(ward_evrec_t *rec)
{
	rec->path[0] = rec->team_id[0] = rec->signing_id[0] = '\0';
	rec->rule_identifier[0] = rec->detail[0] = '\0';
	rec->proc.ok = false;
	rec->proc.argv_len = 0;
}

uint64_t ward_agent_answer(ward_agent_t *a, const ward_event_t *ev, const ward_verdict_t *v,
                           ward_evrec_t *rec)
{
	uint64_t us;

	capture(a, ev, v, rec);
	if (v->compiler && v->decision == WARD_ALLOW && a->compilers && ev->key_ok)
		ward_compilers_add(a->compilers, ev->pid, ev->key.dev, ev->key.ino);
	if (a->backend->ops->respond(a->backend, ev, v->decision) != WARD_OK)
		atomic_fetch_add_explicit(&a->metrics.respond_errors, 1, memory_order_relaxed);
	us = (ward_mono_ns() - ev->t_recv_ns) / 1000;
	ward_metrics_decision(&a->metrics, v);
	ward_metrics_latency(&a->metrics, us);
	ward_agent_log(a, ev, v, us, rec);
	return us;
}

/* ------------------------------------------------------------ the reader's sink */

static _Thread_local ward_evrec_t reader_rec;

static void sink(void *arg, ward_event_t *ev)
{
	ward_agent_t *a = arg;
	ward_verdict_t v;
	ward_slot_t *slot;

	/* A file closed after writing: a compiler's output goes to the main thread. */
	if (ev->kind == WARD_EV_WRITTEN) {
		if (ev->pid != a->self && a->compilers && ward_compilers_is_compiler(a->compilers, ev->pid)) {
			ward_compilers_push_output(a->compilers, ev->fd, ev->pid);
			ev->fd = -1;
		} else {
			a->backend->ops->release(a->backend, ev);
		}
		return;
	}
	atomic_fetch_add_explicit(&a->metrics.events, 1, memory_order_relaxed);
	rec_reset(&reader_rec);

	/* The agent's own process is never waited on (it would wait on itself). */
	if (ev->pid == a->self) {
		memset(&v, 0, sizeof(v));
		v.reason = WARD_RSN_SELF;
		ward_agent_answer(a, ev, &v, &reader_rec);
		a->backend->ops->release(a->backend, ev);
		return;
	}

	/* Cache hit: answered here, without a trip through the queue. */
	if (a->cache != NULL && ev->key_ok) {
		/* A stale peek only means remember() below declines to add a mark. */
		uint64_t epoch = atomic_load(&a->epoch);
		ward_decide_ctx_t ctx = { .cache = a->cache, .now_ms = ev->t_recv_ns / 1000000 };
		if (ward_decide_cached(&ctx, ev, &v)) {
			ward_agent_answer(a, ev, &v, &reader_rec);
			/* The kernel asked although we had said ALLOW: its mark was evicted or
			 * flushed; give it back. */
			remember(a, ev, &v, epoch, false);
			a->backend->ops->release(a->backend, ev);
			return;
		}
	}

	/* Queue full: the fallback verdict now, never block the reader. */
	if ((slot = ward_queue_get(a->queue)) == NULL) {
		ward_decide_fallback((ward_mode_t)atomic_load(&a->cur_mode),
		                     atomic_load(&a->cur_fail_closed), WARD_RSN_QUEUE_FULL, &v);
		atomic_fetch_add_explicit(&a->metrics.queue_full, 1, memory_order_relaxed);
		ward_agent_answer(a, ev, &v, &reader_rec);
		a->backend->ops->release(a->backend, ev);
		return;
	}
	slot->ev = *ev;
	slot->deadline_ns = ev->t_recv_ns + (uint64_t)atomic_load(&a->cur_budget_ms) * 1000000ull;
	ward_queue_push(a->queue, slot);
}

static void *reader_main(void *arg)
{
	ward_agent_t *a = arg;

	if (a->backend->ops->run(a->backend, sink, a, &a->reader_err) != WARD_OK) {
		atomic_store(&a->reader_failed, true);
		log_warnx("event reader stopped: %s", a->reader_err.msg);
		/* wake the main loop: it checks reader_failed and exits (the kernel then
		 * allows whatever is pending when the group closes) */
		kill(getpid(), SIGTERM);
	}
	return NULL;
}

/* ------------------------------------------------------------ workers */

static void *worker_main(void *arg)
{
	ward_agent_t *a = arg;
	ward_evrec_t *rec = malloc(sizeof(*rec));
	ward_slot_t *slot;

	if (rec == NULL)
		fatalx("worker: out of memory");
	ward_confine_thread(WARD_CONFINE_DECIDE); /* parses Mach-O/CMS of any file (agent/confine.h) */
	while ((slot = ward_queue_pop(a->queue)) != NULL) {
		ward_event_t ev = slot->ev;
		ward_verdict_t v;
		uint64_t epoch, us = 0;

		if (atomic_load(&a->stopping)) {
			/* Unanswered on purpose: closing the group allows it (see ward_agent_stop). */
			ward_queue_put(a->queue, slot);
			a->backend->ops->release(a->backend, &ev);
			continue;
		}
		ward_snapshot_t *snap = ward_agent_snapshot(a, &epoch);
		ward_decide_ctx_t ctx = {
			.snap = snap,
			.cache = NULL, /* the reader looked it up before queueing: one lookup per event */
			.backend = a->backend,
			.scan = a->scan,
			.scan_arg = a->scan_arg,
			.now_ms = ward_mono_ns() / 1000000,
			.now = time(NULL),
		};
		rec_reset(rec);
		ward_decide(&ctx, &ev, &v, rec);
		if (v.reason == WARD_RSN_ERROR)
			atomic_fetch_add_explicit(&a->metrics.identity_errors, 1, memory_order_relaxed);
		if (ward_slot_claim(slot)) {
			us = ward_agent_answer(a, &ev, &v, rec);
		} else {
			/* The keeper answered with the fallback; the real verdict still teaches the
			 * caches and is logged, so the next exec of this file gets it. */
			atomic_fetch_add_explicit(&a->metrics.late_verdicts, 1, memory_order_relaxed);
			snprintf(rec->detail + strlen(rec->detail), sizeof(rec->detail) - strlen(rec->detail),
			         "%slate verdict: the deadline keeper had answered", rec->detail[0] ? "; " : "");
			ward_agent_log(a, &ev, &v, (ward_mono_ns() - ev.t_recv_ns) / 1000, rec);
		}
		(void)us;
		remember(a, &ev, &v, epoch, !v.cached);
		ward_snapshot_unref(snap);
		/* Give the slot back before closing the fd: the keeper answers under the queue
		 * lock, so once put returns nobody can still write a response for this fd. */
		ward_queue_put(a->queue, slot);
		a->backend->ops->release(a->backend, &ev);
	}
	free(rec);
	return NULL;
}

/* ------------------------------------------------------------ start / stop */

ward_err_t ward_agent_start(ward_agent_t *a, ward_error_t *err)
{
	if (a->nworkers == 0 || a->nworkers > WARD_MAX_WORKERS)
		return ward_error_set(err, WARD_E_INVAL, "workers: %u not in [1, %u]", a->nworkers,
		                      WARD_MAX_WORKERS);
	for (unsigned i = 0; i < a->nworkers; i++)
		if (pthread_create(&a->workers[i], NULL, worker_main, a) != 0)
			return ward_error_set(err, WARD_E_NOMEM, "cannot start worker %u", i);
	if (pthread_create(&a->keeper, NULL, ward_deadline_main, a) != 0)
		return ward_error_set(err, WARD_E_NOMEM, "cannot start the deadline keeper");
	if (pthread_create(&a->reader, NULL, reader_main, a) != 0)
		return ward_error_set(err, WARD_E_NOMEM, "cannot start the event reader");
	a->started_threads = true;
	return WARD_OK;
}

void ward_agent_stop(ward_agent_t *a)
{
	if (!a->started_threads)
		return;
	atomic_store(&a->stopping, true);
	a->backend->ops->stop(a->backend);
	pthread_join(a->reader, NULL);
	ward_queue_shutdown(a->queue);
	for (unsigned i = 0; i < a->nworkers; i++)
		pthread_join(a->workers[i], NULL);
	pthread_mutex_lock(&a->keeper_mu);
	a->keeper_stop = true;
	pthread_cond_signal(&a->keeper_cv);
	pthread_mutex_unlock(&a->keeper_mu);
	pthread_join(a->keeper, NULL);
	a->started_threads = false;
	/* Only now close the group (the caller destroys the backend): no thread can write a
	 * response to a reused descriptor number. */
}
