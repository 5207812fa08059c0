/*
 * The deadline keeper. Every event in flight has a deadline (ev.deadline_ns: the
 * kernel's, or read time + DecisionBudgetMs on Linux, where a process blocked in execve
 * waits forever). The keeper sleeps until the earliest one (at most 100 ms at a time,
 * woken when an event is queued), claims every late event under the queue lock, and
 * answers each with the fallback verdict outside it, through the engine's one answer
 * path: nothing is read from /proc or logged while a lock another answer needs is held.
 * The worker's verdict, when it comes, still goes to the cache and the log.
 *
 * Which fallback (ward_decide_fallback): in LOCKDOWN a decision that ran out of time
 * because of the file (a worker was deciding it) or because of its own user's load (the
 * user had other events in flight) denies: time is not a way in. Only an event that
 * waited behind other users' work is the agent's own failure, where FailClosed decides.
 */
#include "agent/engine/engine_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agent/log.h"

#define LATE_BATCH 64

void ward_deadline_kick(ward_engine_t *e, uint64_t deadline_ns)
{
	/* Only a deadline before the keeper's wake-up is worth a wake-up (with one budget
	 * for every event, new deadlines come later than the ones it sleeps to). */
	if (deadline_ns >= atomic_load(&e->keeper_wake_ns))
		return;
	pthread_mutex_lock(&e->keeper_mu);
	pthread_cond_signal(&e->keeper_cv);
	pthread_mutex_unlock(&e->keeper_mu);
}

static void answer_late(ward_engine_t *e, const ward_late_t *l, ward_record_t *r)
{
	const ward_event_t *ev = &l->slot->ev;
	bool own = l->working || l->user_busy;

	ward_record_reset(r, ev->kind);
	ward_decide_fallback((ward_mode_t)atomic_load(&e->cur_mode), atomic_load(&e->cur_fail_closed),
	                     WARD_RSN_DEADLINE, own, &r->v);
	if (l->user_busy)
		r->notes |= WARD_NOTE_BUSY_USER;
	r->budget_ms = atomic_load(&e->cur_budget_ms);
	atomic_fetch_add_explicit(&e->metrics.deadline_misses, 1, memory_order_relaxed);
	if (ward_engine_answer(e, ev, r, 0) != WARD_OK)
		atomic_fetch_add_explicit(&e->metrics.respond_errors, 1, memory_order_relaxed);
	r->latency_us = (ward_mono_ns() - ev->t_recv_ns) / 1000;
	ward_metrics_latency(&e->metrics, r->latency_us);
	ward_engine_post(e, ev, r);
}

void *ward_deadline_main(void *arg)
{
	ward_engine_t *e = arg;
	ward_record_t *r = malloc(sizeof(*r));
	ward_late_t late[LATE_BATCH];

	if (r == NULL)
		fatalx("deadline keeper: out of memory");
	pthread_mutex_lock(&e->keeper_mu);
	while (!e->keeper_stop) {
		uint64_t now = ward_mono_ns(), next = ward_queue_next_deadline(e->o.queue);
		uint64_t wake = now + 100 * 1000000ull;
		struct timespec ts;

		if (next != 0 && next < wake)
			wake = next;
		atomic_store(&e->keeper_wake_ns, wake);
		if (wake > now) {
			/* CLOCK_REALTIME for the condvar: convert the monotonic wait. */
			uint64_t wait = wake - now;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += (time_t)(wait / 1000000000ull);
			ts.tv_nsec += (long)(wait % 1000000000ull);
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			int rc = pthread_cond_timedwait(&e->keeper_cv, &e->keeper_mu, &ts);
			if (e->keeper_stop)
				break;
			if (rc != 0 && rc != ETIMEDOUT)
				continue;
		}
		pthread_mutex_unlock(&e->keeper_mu);
		size_t n;
		do {
			n = ward_queue_claim_late(e->o.queue, ward_mono_ns(), late, LATE_BATCH);
			for (size_t i = 0; i < n; i++) {
				answer_late(e, &late[i], r);
				ward_queue_unpin(e->o.queue, late[i].slot);
			}
		} while (n == LATE_BATCH);
		pthread_mutex_lock(&e->keeper_mu);
	}
	pthread_mutex_unlock(&e->keeper_mu);
	free(r);
	return NULL;
}
