/*
 * The deadline keeper. Linux has no deadline for a permission event (a process blocked
 * in execve waits forever), so warden sets its own: every event in flight has a
 * deadline (read time + DecisionBudgetMs). A few times per budget the keeper walks the
 * slots in flight and answers each late one with the fallback verdict: allow, or deny
 * when FailClosed is set in LOCKDOWN. The worker's verdict, when it comes, still goes
 * to the caches and the log (pipeline.c).
 *
 * The check-and-answer runs under the queue lock, so a worker cannot close the event's
 * descriptor between the keeper's claim and its write.
 */
#include "agent/engine/engine.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/log.h"

struct keeper_scan {
	ward_agent_t *a;
	uint64_t now;
	ward_evrec_t *rec;
};

static void check_slot(ward_slot_t *s, void *arg)
{
	struct keeper_scan *k = arg;
	ward_agent_t *a = k->a;
	ward_verdict_t v;

	if (atomic_load(&s->answered) || k->now < s->deadline_ns || !ward_slot_claim(s))
		return;
	ward_decide_fallback((ward_mode_t)atomic_load(&a->cur_mode), atomic_load(&a->cur_fail_closed),
	                     WARD_RSN_DEADLINE, &v);
	atomic_fetch_add_explicit(&a->metrics.deadline_misses, 1, memory_order_relaxed);
	k->rec->path[0] = k->rec->team_id[0] = k->rec->signing_id[0] = '\0';
	k->rec->rule_identifier[0] = '\0';
	k->rec->proc.ok = false;
	snprintf(k->rec->detail, sizeof(k->rec->detail), "no verdict within %u ms",
	         atomic_load(&a->cur_budget_ms));
	ward_agent_answer(a, &s->ev, &v, k->rec);
}

void *ward_deadline_main(void *arg)
{
	ward_agent_t *a = arg;
	struct keeper_scan k = { .a = a, .rec = malloc(sizeof(ward_evrec_t)) };

	if (k.rec == NULL)
		fatalx("deadline keeper: out of memory");
	pthread_mutex_lock(&a->keeper_mu);
	while (!a->keeper_stop) {
		/* Tick at a quarter of the budget (1 ms .. 100 ms): a late event is answered at
		 * most budget/4 after its deadline. */
		uint64_t tick_ms = atomic_load(&a->cur_budget_ms) / 4;
		struct timespec ts;

		if (tick_ms < 1)
			tick_ms = 1;
		if (tick_ms > 100)
			tick_ms = 100;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += (long)(tick_ms * 1000000);
		ts.tv_sec += ts.tv_nsec / 1000000000;
		ts.tv_nsec %= 1000000000;
		int rc = pthread_cond_timedwait(&a->keeper_cv, &a->keeper_mu, &ts);
		if (a->keeper_stop)
			break;
		if (rc != 0 && rc != ETIMEDOUT)
			continue;
		pthread_mutex_unlock(&a->keeper_mu);
		k.now = ward_mono_ns();
		ward_queue_foreach_inflight(a->queue, check_slot, &k);
		pthread_mutex_lock(&a->keeper_mu);
	}
	pthread_mutex_unlock(&a->keeper_mu);
	free(k.rec);
	return NULL;
}
