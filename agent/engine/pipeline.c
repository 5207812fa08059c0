/*
 * The pipeline: the reader's sink, the worker pool, the one answer path, the record's
 * subscribers, publishing policy snapshots. The order on every path: the kernel is
 * answered first, then the caches learn the verdict, then the subscribers (event log,
 * denials, sync spool) get the record.
 *
 * Epochs: a verdict may only enter a cache (ours or, through the answer's cache bit,
 * the kernel's) if no flush happened since the snapshot it was decided with was taken.
 * Cache inserts and cache-bit answers hold flush_lk shared and compare the epoch; a
 * flush holds it exclusive and bumps the epoch, so a rule change can never be undone by
 * a decision that was in flight.
 */
#include "agent/engine/engine_int.h"

#include "agent/confine.h"

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/log.h"

/* ------------------------------------------------------------ snapshots, caches */

static void set_scalars(ward_engine_t *e, const ward_snapshot_t *s)
{
	atomic_store(&e->cur_mode, (int)s->cfg.mode);
	atomic_store(&e->cur_fail_closed, s->cfg.fail_closed);
	atomic_store(&e->cur_log_allows, s->cfg.event_log_allows);
	atomic_store(&e->cur_budget_ms, s->cfg.decision_budget_ms);
	if (e->o.on_publish)
		e->o.on_publish(e->o.on_publish_arg, s->cfg.mode);
}

ward_err_t ward_engine_create(const ward_engine_opts_t *o, ward_snapshot_t *snap,
                              ward_engine_t **out, ward_error_t *err)
{
	ward_engine_t *e;

	*out = NULL;
	if (o->backend == NULL || o->queue == NULL)
		return ward_error_set(err, WARD_E_INVAL, "engine: a backend and a queue are needed");
	if (o->nworkers == 0 || o->nworkers > WARD_MAX_WORKERS)
		return ward_error_set(err, WARD_E_INVAL, "workers: %u not in [1, %u]", o->nworkers,
		                      WARD_MAX_WORKERS);
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return ward_error_set(err, WARD_E_NOMEM, "engine: out of memory");
	e->o = *o;
	ward_metrics_init(&e->metrics);
	e->self = getpid();
	e->started_ns = ward_mono_ns();
	pthread_rwlock_init(&e->flush_lk, NULL);
	pthread_mutex_init(&e->policy_mu, NULL);
	pthread_mutex_init(&e->keeper_mu, NULL);
	pthread_cond_init(&e->keeper_cv, NULL);
	e->snap = snap;
	e->epoch = 1;
	snap->epoch = 1;
	set_scalars(e, snap);
	atomic_store(&e->last_refresh, (int64_t)time(NULL));
	/* One user may hold half the workers (at least one): the rest always serve others. */
	e->share = o->nworkers / 2 ? o->nworkers / 2 : 1;
	if (o->nworkers > 1)
		ward_queue_set_share(o->queue, e->share);
	*out = e;
	return WARD_OK;
}

ward_err_t ward_engine_subscribe(ward_engine_t *e, ward_record_fn fn, void *arg, ward_error_t *err)
{
	if (e->started_threads)
		return ward_error_set(err, WARD_E_INVAL, "engine: subscribe before start");
	if (e->nsubs >= WARD_ENGINE_SUBSCRIBERS)
		return ward_error_set(err, WARD_E_LIMIT, "engine: more than %u subscribers",
		                      WARD_ENGINE_SUBSCRIBERS);
	e->subs[e->nsubs].fn = fn;
	e->subs[e->nsubs].arg = arg;
	e->nsubs++;
	return WARD_OK;
}

void ward_engine_set_scan(ward_engine_t *e, ward_scan_fn fn, void *arg, ward_forget_fn forget,
                          void *forget_arg)
{
	e->o.scan = fn;
	e->o.scan_arg = arg;
	e->o.forget = forget;
	e->o.forget_arg = forget_arg;
}

void ward_engine_set_scan_idle(ward_engine_t *e, bool (*idle)(void *scan_arg))
{
	e->o.scan_idle = idle;
}

ward_snapshot_t *ward_engine_snapshot(ward_engine_t *e, uint64_t *epoch)
{
	ward_snapshot_t *s;

	pthread_mutex_lock(&e->policy_mu);
	s = ward_snapshot_ref(e->snap);
	if (epoch)
		*epoch = atomic_load(&e->epoch);
	pthread_mutex_unlock(&e->policy_mu);
	return s;
}

/* Caller holds policy_mu. After it returns no answer decided before carries a cache
 * bit and no earlier verdict enters a cache. */
static void flush_locked(ward_engine_t *e)
{
	pthread_rwlock_wrlock(&e->flush_lk);
	atomic_fetch_add(&e->epoch, 1);
	if (e->o.cache)
		ward_cache_flush(e->o.cache);
	e->o.backend->ops->cache_flush(e->o.backend);
	pthread_rwlock_unlock(&e->flush_lk);
	atomic_fetch_add(&e->cache_flushes, 1);
	atomic_fetch_add_explicit(&e->metrics.kernel_cache_flushes, 1, memory_order_relaxed);
}

/* Modified-file events are only worth their cost while compiler rules exist (a
 * backend that always reports them has no watch_writes). */
static void watch_writes(ward_engine_t *e, const ward_snapshot_t *s)
{
	bool want = e->o.compilers != NULL && ward_snapshot_has_compilers(s);

	if (want == e->watching_writes || e->o.backend->ops->watch_writes == NULL)
		return;
	if (!e->o.backend->ops->watch_writes(e->o.backend, want))
		log_warnx("cannot %s modified-file events for compiler rules", want ? "watch" : "unwatch");
	e->watching_writes = want;
}

void ward_engine_publish(ward_engine_t *e, ward_snapshot_t *snap)
{
	ward_snapshot_t *old;

	pthread_mutex_lock(&e->policy_mu);
	old = e->snap;
	e->snap = snap;
	flush_locked(e);
	snap->epoch = atomic_load(&e->epoch);
	set_scalars(e, snap);
	watch_writes(e, snap);
	pthread_mutex_unlock(&e->policy_mu);
	ward_snapshot_unref(old);
}

void ward_engine_watch_writes(ward_engine_t *e)
{
	pthread_mutex_lock(&e->policy_mu);
	watch_writes(e, e->snap);
	pthread_mutex_unlock(&e->policy_mu);
}

void ward_engine_flush(ward_engine_t *e)
{
	pthread_mutex_lock(&e->policy_mu);
	flush_locked(e);
	pthread_mutex_unlock(&e->policy_mu);
}

ward_err_t ward_engine_refresh(ward_engine_t *e, ward_store_t *st, const ward_config_t *cfg,
                               bool force, bool *changed, ward_error_t *err)
{
	ward_snapshot_t *cur, *next;
	uint64_t gen = 0;
	ward_err_t rc;

	*changed = false;
	if (!force) {
		if (st == NULL)
			return WARD_OK;
		if ((rc = ward_store_generation(st, &gen, err)) != WARD_OK)
			return rc;
		cur = ward_engine_snapshot(e, NULL);
		bool same = cur->store_gen == gen;
		ward_snapshot_unref(cur);
		if (same)
			return WARD_OK;
	}
	if ((rc = ward_snapshot_build(cfg, st, &next, err)) != WARD_OK)
		return rc;
	ward_engine_publish(e, next);
	atomic_fetch_add_explicit(&e->metrics.index_rebuilds, 1, memory_order_relaxed);
	atomic_store(&e->last_refresh, (int64_t)time(NULL));
	*changed = true;
	return WARD_OK;
}

/* Teach the user-space cache v for ev, unless a flush happened since epoch. */
static void remember(ward_engine_t *e, const ward_event_t *ev, const ward_verdict_t *v,
                     uint64_t epoch)
{
	if (e->o.cache == NULL || !v->cacheable || v->cached || !ev->key_ok ||
	    ev->kind != WARD_EV_EXEC) /* an OPEN's cacheable means its directory (decide.c) */
		return;
	pthread_rwlock_rdlock(&e->flush_lk);
	if (atomic_load(&e->epoch) == epoch)
		ward_cache_insert(e->o.cache, &ev->key, v, ward_mono_ns() / 1000000);
	pthread_rwlock_unlock(&e->flush_lk);
}

/* Forget a modified file everywhere user space remembers it. */
static void forget(ward_engine_t *e, const ward_filekey_t *k)
{
	if (e->o.cache)
		ward_cache_forget(e->o.cache, k);
	if (e->o.forget)
		e->o.forget(e->o.forget_arg, k);
	atomic_fetch_add_explicit(&e->metrics.forgotten, 1, memory_order_relaxed);
}

/* ------------------------------------------------------------ answering */

ward_err_t ward_engine_answer(ward_engine_t *e, const ward_event_t *ev, ward_record_t *r,
                              uint64_t epoch)
{
	ward_backend_t *b = e->o.backend;
	const ward_verdict_t *v = &r->v;
	ward_answer_t *a = &r->answer;
	bool want_cache = e->o.kernel_cache && v->decision == WARD_ALLOW && v->cacheable &&
	                  !v->compiler && ev->key_ok;
	ward_err_t rc;

	a->decision = v->decision;
	a->allowed = ev->kind == WARD_EV_OPEN && v->decision == WARD_ALLOW ? v->allowed : 0;
	a->cache = false;
	a->cache_opens = false;
	/* Before the answer: the exec may reach the BPF ground microseconds after it. */
	if (e->o.on_exec_allow != NULL && ev->kind == WARD_EV_EXEC && v->decision == WARD_ALLOW &&
	    ev->key_ok)
		e->o.on_exec_allow(e->o.on_exec_allow_arg, &ev->key, ward_decide_user_writable(ev));
	if (!want_cache)
		return b->ops->respond(b, ev, a);
	if (ev->kind == WARD_EV_EXEC) {
		/* Opens of an allowed program: the loader/interpreter check would allow them
		 * as this exec; only a watch item covering its path needs to see them. */
		char path[PATH_MAX];
		const char *p = r->path[0] ? r->path : ev->path;
		if (p == NULL && b->ops->path != NULL && b->ops->path(b, ev, path, sizeof(path)))
			p = path;
		a->cache_opens = p != NULL && !ward_fileaccess_may_cover(e->o.fileaccess, p);
	}
	/* Not a compiler's ALLOW: its next exec must reach us to be remembered. */
	pthread_rwlock_rdlock(&e->flush_lk);
	a->cache = atomic_load(&e->epoch) == epoch;
	rc = b->ops->respond(b, ev, a);
	pthread_rwlock_unlock(&e->flush_lk);
	if (rc == WARD_OK && a->cache)
		atomic_fetch_add_explicit(&e->metrics.kernel_cache_adds, 1, memory_order_relaxed);
	return rc;
}

/* Details of the asking process for a record that will be logged. */
static void capture(ward_engine_t *e, const ward_event_t *ev, ward_record_t *r)
{
	ward_backend_t *b = e->o.backend;

	if (!r->pinfo.ok && b->ops->proc_info != NULL)
		b->ops->proc_info(b, ev, &r->pinfo);
}

static bool loggable(ward_engine_t *e, const ward_record_t *r)
{
	return e->nsubs > 0 && ward_decide_loggable(&r->v, atomic_load(&e->cur_log_allows));
}

void ward_engine_post(ward_engine_t *e, const ward_event_t *ev, ward_record_t *r)
{
	ward_backend_t *b = e->o.backend;

	ward_metrics_decision(&e->metrics, &r->v);
	if (!loggable(e, r))
		return;
	clock_gettime(CLOCK_REALTIME, &r->when);
	r->kind = ev->kind;
	r->proc = ev->proc;
	r->key_ok = ev->key_ok;
	r->key = ev->key;
	r->access = ev->access;
	r->mode = (ward_mode_t)atomic_load(&e->cur_mode);
	if (r->path[0] == '\0') {
		if (ev->path != NULL)
			snprintf(r->path, sizeof(r->path), "%s", ev->path);
		else
			b->ops->path(b, ev, r->path, sizeof(r->path));
	}
	capture(e, ev, r);
	for (unsigned i = 0; i < e->nsubs; i++)
		e->subs[i].fn(e->subs[i].arg, r);
}

void ward_engine_emit(ward_engine_t *e, const ward_record_t *r)
{
	for (unsigned i = 0; i < e->nsubs; i++)
		e->subs[i].fn(e->subs[i].arg, r);
}

/*
 * Answer and count. Nothing the log wants is read before the answer but the details of
 * a denied process (its exec fails, so it stays what it was, but it may exit at once):
 * an ALLOW is never delayed by logging. Returns the backend's code.
 */
static ward_err_t answer_counted(ward_engine_t *e, const ward_event_t *ev, ward_record_t *r,
                                  uint64_t epoch)
{
	ward_err_t rc;

	if (r->v.decision == WARD_DENY && loggable(e, r))
		capture(e, ev, r);
	rc = ward_engine_answer(e, ev, r, epoch);
	if (rc == WARD_RESPOND_STALE)
		return rc;
	if (rc != WARD_OK)
		atomic_fetch_add_explicit(&e->metrics.respond_errors, 1, memory_order_relaxed);
	r->latency_us = (ward_mono_ns() - ev->t_recv_ns) / 1000;
	ward_metrics_latency(&e->metrics, r->latency_us);
	return rc;
}

/* ------------------------------------------------------------ the reader's sink */

static _Thread_local ward_record_t reader_rec;

/* A modified file: forget it; a compiler's output goes to the main thread. */
static void notified(ward_engine_t *e, ward_event_t *ev)
{
	ward_backend_t *b = e->o.backend;
	uint64_t pv;
	ward_filekey_t exe;

	if (ev->key_ok && (ev->kind == WARD_EV_MODIFIED || ev->kind == WARD_EV_RENAME ||
	                   ev->kind == WARD_EV_UNLINK))
		forget(e, &ev->key);
	if (ev->kind == WARD_EV_MODIFIED && ev->fd >= 0 && ev->proc.pid != e->self &&
	    e->o.compilers != NULL && ward_compilers_lookup(e->o.compilers, ev->proc.pid, &pv, &exe)) {
		/*
		 * Still that compiler? A live process with this pid must be the one that exec'd
		 * the compiler (same start time) and still run it. A process that is gone is
		 * accepted: a group's events arrive in order, so this write came after the
		 * compiler's exec, and a compiler that writes its output and exits at once is
		 * the common case; the start time rules out a reused pid that is alive.
		 */
		int st;
		if (b->ops->proc_fill == NULL && ev->proc.exe_ok)
			/* the kernel named the writer's image in the event itself (ES: the
			 * message's process): the compiler still runs in it, or it is another
			 * program (a pid reused by the same compiler is that compiler too) */
			st = ward_filekey_eq(&ev->proc.exe, &exe) ? WARD_PROC_SAME : WARD_PROC_OTHER;
		else if (b->ops->proc_fill == NULL && ev->proc.pidversion != 0 && ev->proc.pidversion == pv)
			/* no image in the message (the ES emulation once the writer is a zombie),
			 * but the very process whose exec of the compiler was allowed: as
			 * fanotify's check accepts a writer that is gone */
			st = WARD_PROC_SAME;
		else
			st = b->ops->proc_state ? b->ops->proc_state(b, ev->proc.pid, pv, &exe) : WARD_PROC_OTHER;
		if (st == WARD_PROC_SAME || st == WARD_PROC_GONE) {
			ward_compilers_push_output(e->o.compilers, ev->fd, ev->proc.pid);
			ev->fd = -1;
		}
	}
	b->ops->release(b, ev);
}

/* The fallback for an event no worker could take: the user's own storm is the user's
 * fault (LOCKDOWN denies); otherwise FailClosed decides. */
static void queue_full(ward_engine_t *e, ward_event_t *ev, ward_record_t *r)
{
	bool own = ev->proc.creds_ok && ev->proc.uid != 0 &&
	           ward_queue_user_load(e->o.queue, ev->proc.uid) >= e->share;

	ward_decide_fallback((ward_mode_t)atomic_load(&e->cur_mode), atomic_load(&e->cur_fail_closed),
	                     own ? WARD_RSN_DEADLINE : WARD_RSN_QUEUE_FULL, own, &r->v);
	if (own)
		r->notes |= WARD_NOTE_BUSY_USER;
	atomic_fetch_add_explicit(&e->metrics.queue_full, 1, memory_order_relaxed);
}

/*
 * The reader's try at a cold exec or an open: a worker's decision costs a thread hand-off (tens of
 * microseconds on a VM), which is most of a small binary's decision. The reader decides
 * itself when nothing can make it wait: the backend says its targets can be read without
 * blocking (ward_nowait_begin: a read that would wait on the disk fails instead), the file
 * is small (its Mach-O signature or SHA-256 costs little CPU), no scan is due, and what the
 * log wants after the answer is cheap. Anything else, and any read that would have
 * waited, gives up with nothing answered and nothing remembered: the event goes to the
 * queue as before. Returns true when it answered.
 */
static bool key_now(const ward_event_t *ev, ward_filekey_t *k);

static bool reader_decides(ward_engine_t *e, ward_event_t *ev, ward_record_t *r)
{
	ward_backend_t *b = e->o.backend;
	uint64_t epoch;
	ward_snapshot_t *snap;
	ward_filekey_t now;
	bool blocked, hash_after;

	if (!b->reader_decides || !ev->key_ok || ev->fd < 0 ||
	    (ev->kind == WARD_EV_EXEC && ev->key.size > WARD_READER_MAX_BYTES) ||
	    !ward_nowait_begin(ev->fd))
		return false;
	snap = ward_engine_snapshot(e, &epoch);
	ward_decide_ctx_t ctx = {
		.snap = snap,
		.backend = b,
		.fa = e->o.fileaccess,
		.scan = e->o.scan,
		.scan_arg = e->o.scan_arg,
		.scan_idle = e->o.scan_idle,
		.now_ms = ev->t_recv_ns / 1000000,
		.now = time(NULL),
		.fast = true,
	};
	ward_record_reset(r, ev->kind);
	ward_decide(&ctx, ev, r);
	/* the log's SHA-256 of a small file: on tmpfs after the answer (its pages are
	 * memory), elsewhere now, while reads cannot wait (later they could) */
	hash_after = false;
	if (!(r->notes & WARD_NOTE_TO_WORKER) && !r->v.has_sha256 && loggable(e, r)) {
		if (ev->key.size > WARD_READER_LOG_HASH_MAX)
			r->notes |= WARD_NOTE_TO_WORKER;
		else if (ward_nowait_memory())
			hash_after = true;
		else if (ward_sha256_fd(ev->fd, r->v.sha256, NULL) == WARD_OK)
			r->v.has_sha256 = true;
	}
	blocked = ward_nowait_end();
	/* A logged DENY: its process details (the command line the user ran) are read
	 * before the answer, from the process's memory under its lock: a worker's job (the
	 * deadline keeper covers a worker that waits; nothing covers the reader). */
	if (blocked || (r->notes & WARD_NOTE_TO_WORKER) || r->v.reason == WARD_RSN_ERROR ||
	    (r->v.decision == WARD_DENY && loggable(e, r)) || r->v.compiler || (r->v.decision == WARD_ALLOW && (!key_now(ev, &now) ||
	                                                     !ward_filekey_eq(&now, &ev->key)))) {
		/* a worker decides it again, with the time to wait, retry, or scan */
		ward_snapshot_unref(snap);
		return false;
	}
	if (answer_counted(e, ev, r, epoch) == WARD_RESPOND_STALE) {
		ward_snapshot_unref(snap);
		return false; /* nothing was written: the worker decides the new content */
	}
	atomic_fetch_add_explicit(&e->metrics.reader_decisions, 1, memory_order_relaxed);
	remember(e, ev, &r->v, epoch);
	if (loggable(e, r))
		capture(e, ev, r); /* the process may exit at once: its details before the hash */
	if (hash_after && ward_sha256_fd(ev->fd, r->v.sha256, NULL) == WARD_OK)
		r->v.has_sha256 = true;
	ward_engine_post(e, ev, r);
	ward_snapshot_unref(snap);
	return true;
}

static void sink(void *arg, ward_event_t *ev)
{
	ward_engine_t *e = arg;
	ward_backend_t *b = e->o.backend;
	ward_record_t *r = &reader_rec;
	ward_slot_t *slot;

	if (!ward_event_is_perm(ev->kind)) {
		notified(e, ev);
		return;
	}
	atomic_fetch_add_explicit(&e->metrics.events, 1, memory_order_relaxed);
	/* DecisionBudgetMs, or the kernel's own deadline (ES) if that comes first. */
	uint64_t budget_end = ev->t_recv_ns + (uint64_t)atomic_load(&e->cur_budget_ms) * 1000000ull;
	if (ev->deadline_ns == 0 || budget_end < ev->deadline_ns)
		ev->deadline_ns = budget_end;
	ward_record_reset(r, ev->kind);

	/* The agent's own process is never waited on (it would wait on itself). */
	if (ev->proc.pid == e->self) {
		r->v.reason = WARD_RSN_SELF;
		r->v.allowed = ev->access;
		(void)answer_counted(e, ev, r, 0);
		ward_engine_post(e, ev, r);
		b->ops->release(b, ev);
		return;
	}

	/* Cache hit: answered here, without a trip through the queue. An ALLOW the kernel
	 * asks about again lost its kernel mark (evicted or flushed): the answer's cache
	 * bit gives it back. */
	if (e->o.cache != NULL && ev->key_ok && ev->kind == WARD_EV_EXEC) {
		uint64_t epoch = atomic_load(&e->epoch);
		ward_decide_ctx_t ctx = { .cache = e->o.cache, .now_ms = ev->t_recv_ns / 1000000 };
		if (ward_decide_cached(&ctx, ev, &r->v)) {
			if (answer_counted(e, ev, r, epoch) == WARD_RESPOND_STALE) {
				/* Changed since it was read: forget it and answer without the bit. */
				ward_cache_forget(e->o.cache, &ev->key);
				r->v.cacheable = false;
				r->notes |= WARD_NOTE_CHANGED;
				(void)answer_counted(e, ev, r, epoch);
			}
			ward_engine_post(e, ev, r);
			b->ops->release(b, ev);
			return;
		}
	}

	/* Who asks: the fair share of the workers is per user. */
	if (!ev->proc.creds_ok && b->ops->proc_fill != NULL)
		b->ops->proc_fill(b, ev, WARD_PROC_CREDS);

	/* A small cold exec, or an open, the reader can decide without waiting on anything. */
	if (reader_decides(e, ev, r)) {
		b->ops->release(b, ev);
		return;
	}

	/* Queue full: the fallback verdict now, never block the reader. */
	if ((slot = ward_queue_get(e->o.queue)) == NULL) {
		queue_full(e, ev, r);
		(void)answer_counted(e, ev, r, 0);
		ward_engine_post(e, ev, r);
		b->ops->release(b, ev);
		return;
	}
	slot->ev = *ev;
	ward_queue_push(e->o.queue, slot);
	ward_deadline_kick(e, ev->deadline_ns);
}

static void *reader_main(void *arg)
{
	ward_engine_t *e = arg;

	/* everything waits behind this thread: it never waits on another process */
	ward_thread_set_no_waits(true);

	if (e->o.backend->ops->run(e->o.backend, sink, e, &e->reader_err) != WARD_OK) {
		atomic_store(&e->reader_failed, true);
		log_warnx("event reader stopped: %s", e->reader_err.msg);
		/* wake the main loop: it checks ward_engine_failed and exits (the kernel then
		 * allows whatever is pending when the group closes) */
		kill(getpid(), SIGTERM);
	}
	return NULL;
}

/* ------------------------------------------------------------ workers */

/* The target's key now, if it can be read. */
static bool key_now(const ward_event_t *ev, ward_filekey_t *k)
{
	struct stat st;

	if (ev->fd < 0 || fstat(ev->fd, &st) != 0)
		return false;
	ward_filekey_from_stat(&st, k);
	return true;
}

/* The log wants the SHA-256 of what it names; when no rule needed it, it is taken after
 * the answer, bounded in size and time. */
static void hash_for_log(ward_engine_t *e, const ward_event_t *ev, ward_record_t *r)
{
	if (r->v.has_sha256 || ev->fd < 0 || !ev->key_ok || ev->key.size > WARD_LOG_HASH_MAX_BYTES ||
	    !loggable(e, r))
		return;
	if (ward_sha256_fd_until(ev->fd, ward_mono_ns() + WARD_LOG_HASH_BUDGET_MS * 1000000ull,
	                         r->v.sha256, NULL) == WARD_OK)
		r->v.has_sha256 = true;
}

static void decide_one(ward_engine_t *e, ward_slot_t *slot, ward_record_t *r)
{
	/* A copy: the keeper may read slot->ev while this worker updates the key. */
	ward_event_t evc = slot->ev, *ev = &evc;
	ward_backend_t *b = e->o.backend;
	uint64_t epoch;
	ward_snapshot_t *snap = ward_engine_snapshot(e, &epoch);
	ward_decide_ctx_t ctx = {
		.snap = snap,
		.cache = NULL, /* the reader looked it up before queueing: one lookup per event */
		.backend = b,
		.fa = e->o.fileaccess,
		.scan = e->o.scan,
		.scan_arg = e->o.scan_arg,
		.now_ms = ward_mono_ns() / 1000000,
		.now = time(NULL),
	};
	bool answered = false, stale_once = false;
	ward_filekey_t now;

	for (unsigned attempt = 0;; attempt++) {
		ward_record_reset(r, ev->kind);
		ward_decide(&ctx, ev, r);
		if (r->v.reason == WARD_RSN_ERROR)
			atomic_fetch_add_explicit(&e->metrics.identity_errors, 1, memory_order_relaxed);
		/* A write raced the decision: what was checked is not what would run. */
		if (r->v.decision == WARD_ALLOW && ev->key_ok && key_now(ev, &now) &&
		    !ward_filekey_eq(&now, &ev->key)) {
			ev->key = now;
			atomic_fetch_add_explicit(&e->metrics.changed_while_deciding, 1, memory_order_relaxed);
			if (attempt < 2)
				continue;
			/* Still changing: not a program anyone can vouch for. */
			memset(&r->v, 0, sizeof(r->v));
			r->v.decision = snap->cfg.mode == WARD_MODE_LOCKDOWN ? WARD_DENY : WARD_ALLOW;
			r->v.reason = WARD_RSN_ERROR;
			r->notes |= WARD_NOTE_CHANGED;
		}
		if (!answered && !ward_slot_claim(slot))
			break; /* the keeper answered with the fallback */
		answered = true;
		/* A compiler is remembered before its exec goes on: its first write may be
		 * read before this worker would get to it after the answer. */
		if (r->v.compiler && r->v.decision == WARD_ALLOW && e->o.compilers != NULL && ev->key_ok) {
			if (b->ops->proc_fill != NULL)
				b->ops->proc_fill(b, ev, WARD_PROC_VERSION);
			ward_compilers_add(e->o.compilers, ev->proc.pid, ev->proc.pidversion, &ev->key);
		}
		if (stale_once)
			r->v.cacheable = false;
		if (answer_counted(e, ev, r, epoch) != WARD_RESPOND_STALE)
			break;
		/* The backend saw the file change before its cache mark held: nothing was
		 * written. Decide the new content once more, then answer without the bit. */
		atomic_fetch_add_explicit(&b->stale, 1, memory_order_relaxed);
		stale_once = true;
		if (key_now(ev, &now))
			ev->key = now;
	}
	if (!answered) {
		/* The keeper answered with the fallback; the real verdict still teaches the
		 * cache and is logged, so the next exec of this file gets it. */
		atomic_fetch_add_explicit(&e->metrics.late_verdicts, 1, memory_order_relaxed);
		r->notes |= WARD_NOTE_LATE;
		r->latency_us = (ward_mono_ns() - ev->t_recv_ns) / 1000;
	}
	remember(e, ev, &r->v, epoch);
	if (answered && loggable(e, r))
		capture(e, ev, r); /* the process may exit at once: its details before the hash */
	hash_for_log(e, ev, r);
	ward_engine_post(e, ev, r);
	ward_snapshot_unref(snap);
}

static void *worker_main(void *arg)
{
	ward_engine_t *e = arg;
	ward_record_t *r = malloc(sizeof(*r));
	ward_slot_t *slot;

	if (r == NULL)
		fatalx("worker: out of memory");
	ward_confine_thread(WARD_CONFINE_DECIDE); /* parses Mach-O/CMS of any file (agent/confine.h) */
	while ((slot = ward_queue_pop(e->o.queue)) != NULL) {
		if (atomic_load(&e->stopping)) {
			/* Unanswered on purpose: closing the group allows it (see ward_engine_stop). */
			ward_event_t ev = slot->ev;
			ward_queue_put(e->o.queue, slot);
			e->o.backend->ops->release(e->o.backend, &ev);
			continue;
		}
		decide_one(e, slot, r);
		/* Give the slot back before the event: put waits while the keeper has the slot
		 * pinned, so nobody can still write a response for this event afterwards. */
		ward_event_t ev = slot->ev;
		ward_queue_put(e->o.queue, slot);
		e->o.backend->ops->release(e->o.backend, &ev);
	}
	free(r);
	return NULL;
}

/* ------------------------------------------------------------ start / stop / info */

ward_err_t ward_engine_start(ward_engine_t *e, ward_error_t *err)
{
	for (unsigned i = 0; i < e->o.nworkers; i++)
		if (pthread_create(&e->workers[i], NULL, worker_main, e) != 0)
			return ward_error_set(err, WARD_E_NOMEM, "cannot start worker %u", i);
	if (pthread_create(&e->keeper, NULL, ward_deadline_main, e) != 0)
		return ward_error_set(err, WARD_E_NOMEM, "cannot start the deadline keeper");
	if (pthread_create(&e->reader, NULL, reader_main, e) != 0)
		return ward_error_set(err, WARD_E_NOMEM, "cannot start the event reader");
	e->started_threads = true;
	return WARD_OK;
}

void ward_engine_stop(ward_engine_t *e)
{
	if (e == NULL || !e->started_threads)
		return;
	atomic_store(&e->stopping, true);
	e->o.backend->ops->stop(e->o.backend);
	pthread_join(e->reader, NULL);
	ward_queue_shutdown(e->o.queue);
	for (unsigned i = 0; i < e->o.nworkers; i++)
		pthread_join(e->workers[i], NULL);
	pthread_mutex_lock(&e->keeper_mu);
	e->keeper_stop = true;
	pthread_cond_signal(&e->keeper_cv);
	pthread_mutex_unlock(&e->keeper_mu);
	pthread_join(e->keeper, NULL);
	e->started_threads = false;
	/* Only now may the caller close the group: no thread can write a response to a
	 * reused descriptor number. */
}

void ward_engine_destroy(ward_engine_t *e)
{
	if (e == NULL)
		return;
	ward_engine_stop(e);
	ward_snapshot_unref(e->snap);
	pthread_cond_destroy(&e->keeper_cv);
	pthread_mutex_destroy(&e->keeper_mu);
	pthread_mutex_destroy(&e->policy_mu);
	pthread_rwlock_destroy(&e->flush_lk);
	free(e);
}

ward_mode_t ward_engine_mode(const ward_engine_t *e)
{
	return (ward_mode_t)atomic_load(&e->cur_mode);
}

void ward_engine_info(ward_engine_t *e, ward_engine_info_t *out)
{
	out->backend = e->o.backend->ops->name;
	out->self = e->self;
	out->started_ns = e->started_ns;
	out->nworkers = e->o.nworkers;
	out->share = e->share;
	out->watching_writes = e->watching_writes;
	out->started = e->started_threads;
	out->cache_flushes = atomic_load(&e->cache_flushes);
	out->last_refresh = atomic_load(&e->last_refresh);
}

ward_metrics_t *ward_engine_metrics(ward_engine_t *e)
{
	return &e->metrics;
}

bool ward_engine_failed(ward_engine_t *e, ward_error_t *err)
{
	if (!atomic_load(&e->reader_failed))
		return false;
	if (err)
		*err = e->reader_err;
	return true;
}
