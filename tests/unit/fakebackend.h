/*
 * The engine's test double: a backend whose events the test injects one by one and
 * whose answers it records. It checks the backend contract from the other side: every
 * permission event is answered exactly once (a second answer is counted as an error),
 * every event is given back exactly once, and nothing is answered after it was given
 * back. Events are numbered by ev->cookie (the test sets it).
 */
#ifndef WARD_TESTS_FAKEBACKEND_H
#define WARD_TESTS_FAKEBACKEND_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "agent/backend.h"
#include "common/clock.h"

#define FK_MAX 4096

struct fake {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	ward_event_t inbox[FK_MAX];
	unsigned in_head, in_count;
	bool stop;
	/* per cookie */
	int answers[FK_MAX];
	int released[FK_MAX];
	ward_answer_t answer[FK_MAX];
	int answered_after_release;
	int order[FK_MAX], nanswered;
	int nreleased;
	int flushes;
	int stale_left;           /* answers with the cache bit to refuse as stale */
	int stale_given;
	int cache_bits;           /* answers that carried the cache bit */
};

static struct fake fk;

static void fk_reset(void)
{
	memset(&fk, 0, sizeof(fk));
	pthread_mutex_init(&fk.mu, NULL);
	pthread_cond_init(&fk.cv, NULL);
}

/* Queue ev for the reader (t_recv_ns is set now). */
static void fk_inject(ward_event_t ev)
{
	ev.t_recv_ns = ward_mono_ns();
	pthread_mutex_lock(&fk.mu);
	fk.inbox[(fk.in_head + fk.in_count) % FK_MAX] = ev;
	fk.in_count++;
	pthread_cond_broadcast(&fk.cv);
	pthread_mutex_unlock(&fk.mu);
}

static ward_err_t f_run(ward_backend_t *b, ward_event_sink_fn sink, void *arg, ward_error_t *err)
{
	(void)b;
	(void)err;
	pthread_mutex_lock(&fk.mu);
	for (;;) {
		while (fk.in_count == 0 && !fk.stop)
			pthread_cond_wait(&fk.cv, &fk.mu);
		if (fk.stop)
			break;
		ward_event_t ev = fk.inbox[fk.in_head];
		fk.in_head = (fk.in_head + 1) % FK_MAX;
		fk.in_count--;
		pthread_mutex_unlock(&fk.mu);
		sink(arg, &ev);
		pthread_mutex_lock(&fk.mu);
	}
	pthread_mutex_unlock(&fk.mu);
	return WARD_OK;
}

static void f_stop(ward_backend_t *b)
{
	(void)b;
	pthread_mutex_lock(&fk.mu);
	fk.stop = true;
	pthread_cond_broadcast(&fk.cv);
	pthread_mutex_unlock(&fk.mu);
}

static ward_err_t f_respond(ward_backend_t *b, const ward_event_t *ev, const ward_answer_t *a)
{
	unsigned i = (unsigned)ev->cookie;
	(void)b;
	pthread_mutex_lock(&fk.mu);
	if (a->cache && fk.stale_left > 0) {
		fk.stale_left--;
		fk.stale_given++;
		pthread_mutex_unlock(&fk.mu);
		return WARD_RESPOND_STALE; /* nothing written */
	}
	if (i < FK_MAX) {
		fk.answers[i]++;
		fk.answer[i] = *a;
		if (fk.released[i])
			fk.answered_after_release++;
	}
	if (a->cache)
		fk.cache_bits++;
	fk.order[fk.nanswered++ % FK_MAX] = (int)i;
	pthread_cond_broadcast(&fk.cv);
	pthread_mutex_unlock(&fk.mu);
	return WARD_OK;
}

static void f_cache_flush(ward_backend_t *b)
{
	(void)b;
	pthread_mutex_lock(&fk.mu);
	fk.flushes++;
	pthread_mutex_unlock(&fk.mu);
}

static bool f_path(ward_backend_t *b, const ward_event_t *ev, char *buf, size_t len)
{
	(void)b;
	snprintf(buf, len, "/fake/%llu", (unsigned long long)ev->cookie);
	return true;
}

static void f_release(ward_backend_t *b, ward_event_t *ev)
{
	unsigned i = (unsigned)ev->cookie;
	(void)b;
	pthread_mutex_lock(&fk.mu);
	if (i < FK_MAX)
		fk.released[i]++;
	fk.nreleased++;
	pthread_cond_broadcast(&fk.cv);
	pthread_mutex_unlock(&fk.mu);
	/* the descriptor belongs to the test */
	ev->fd = -1;
}

static const struct ward_backend_ops fake_ops = {
	.name = "fake", .run = f_run, .stop = f_stop, .respond = f_respond,
	.cache_flush = f_cache_flush, .path = f_path, .release = f_release,
};
static ward_backend_t fake_backend = { .ops = &fake_ops };

/* Wait (up to 10 s) until n answers were written and n events given back. */
static bool fk_wait(int answers, int released)
{
	struct timespec ts;
	bool ok = true;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 10;
	pthread_mutex_lock(&fk.mu);
	while (fk.nanswered < answers || fk.nreleased < released)
		if (pthread_cond_timedwait(&fk.cv, &fk.mu, &ts) != 0) {
			ok = false;
			break;
		}
	pthread_mutex_unlock(&fk.mu);
	return ok;
}

#endif
