/*
 * Unit tests for agent/engine/pipeline.c and agent/engine/deadline.c with a fake backend: every event
 * is answered exactly once; the agent's own pid is allowed; a full queue gets the
 * fallback at once; late decisions get the fallback from the deadline keeper and their
 * real verdict still reaches the cache; stop returns with nothing left unanswered.
 */
#include "tests/unit/testutil.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent/engine/engine.h"

#define MAXEV 16

struct fake {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	ward_event_t events[MAXEV];
	int nevents;
	bool stop;
	int answers[MAXEV];              /* per event index: how many responses */
	ward_decision_t decision[MAXEV];
	int order[MAXEV], nanswered;     /* event indices in answer order */
	int released, kernel_marks;
};

static struct fake fk;

static int index_of(int fd)
{
	for (int i = 0; i < fk.nevents; i++)
		if (fk.events[i].fd == fd)
			return i;
	return -1;
}

static ward_err_t f_run(ward_backend_t *b, ward_event_sink_fn sink, void *arg, ward_error_t *err)
{
	(void)b;
	(void)err;
	for (int i = 0; i < fk.nevents; i++) {
		ward_event_t ev = fk.events[i];
		ev.t_recv_ns = ward_mono_ns();
		sink(arg, &ev);
	}
	pthread_mutex_lock(&fk.mu);
	while (!fk.stop)
		pthread_cond_wait(&fk.cv, &fk.mu);
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

static ward_err_t f_respond(ward_backend_t *b, const ward_event_t *ev, ward_decision_t d)
{
	int i = index_of(ev->fd);
	(void)b;
	assert_true(i >= 0);
	pthread_mutex_lock(&fk.mu);
	fk.answers[i]++;
	fk.decision[i] = d;
	fk.order[fk.nanswered++] = i;
	pthread_cond_broadcast(&fk.cv);
	pthread_mutex_unlock(&fk.mu);
	return WARD_OK;
}

static void f_cache_allow(ward_backend_t *b, const ward_event_t *ev)
{
	(void)b;
	(void)ev;
	pthread_mutex_lock(&fk.mu);
	fk.kernel_marks++;
	pthread_mutex_unlock(&fk.mu);
}

static void f_cache_flush(ward_backend_t *b)
{
	(void)b;
}

static bool f_path(ward_backend_t *b, const ward_event_t *ev, char *buf, size_t len)
{
	(void)b;
	snprintf(buf, len, "/fake/%d", ev->fd);
	return true;
}

static void f_release(ward_backend_t *b, ward_event_t *ev)
{
	(void)b;
	pthread_mutex_lock(&fk.mu);
	fk.released++;
	pthread_mutex_unlock(&fk.mu);
	/* the fd stays open: the test closes them (indices must stay unique) */
	ev->fd = -1;
}

static const struct ward_backend_ops fake_ops = {
	.name = "fake", .run = f_run, .stop = f_stop, .respond = f_respond,
	.cache_allow = f_cache_allow, .cache_flush = f_cache_flush, .path = f_path,
	.release = f_release,
};
static ward_backend_t fake_backend = { .ops = &fake_ops };

/* The scan hook stands in for a slow decision: it blocks until the test opens the gate. */
static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static bool gate_open;

static ward_scanstep_t slow_scan(void *arg, const ward_event_t *ev, const char *path,
                                    const ward_identity_t *id, uint32_t budget_ms,
                                    char *detail, size_t len)
{
	(void)arg; (void)ev; (void)path; (void)id; (void)budget_ms; (void)detail; (void)len;
	pthread_mutex_lock(&gate_mu);
	while (!gate_open)
		pthread_cond_wait(&gate_cv, &gate_mu);
	pthread_mutex_unlock(&gate_mu);
	return WARD_SCANSTEP_CLEAN;
}

/* Wait (up to 10 s) until n answers were given. */
static void wait_answers(int n)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 10;
	pthread_mutex_lock(&fk.mu);
	while (fk.nanswered < n)
		if (pthread_cond_timedwait(&fk.cv, &fk.mu, &ts) != 0)
			break;
	pthread_mutex_unlock(&fk.mu);
}

static void test_queue_full_deadline_self(void **state)
{
	char path[] = "/tmp/warden-pipeline-XXXXXX";
	int fd = mkstemp(path);
	struct stat sb;
	ward_config_t cfg;
	ward_snapshot_t *snap;
	static ward_agent_t a;
	(void)state;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "\177ELF-pipeline", 13), 13);
	assert_int_equal(fstat(fd, &sb), 0);
	memset(&fk, 0, sizeof(fk));
	pthread_mutex_init(&fk.mu, NULL);
	pthread_cond_init(&fk.cv, NULL);
	/* e0, e1: slow (the worker blocks on e0, e1 waits in the queue); e2: queue full;
	 * e3: the agent itself. */
	for (int i = 0; i < 4; i++) {
		ward_event_t *ev = &fk.events[i];
		ev->kind = WARD_EV_EXEC;
		ev->fd = open(path, O_RDONLY);
		ev->pid = i == 3 ? getpid() : 1000 + i;
		ev->key_ok = true;
		ev->key.dev = sb.st_dev;
		ev->key.ino = sb.st_ino;
		ev->key.ctime_sec = sb.st_ctim.tv_sec;
		ev->key.ctime_nsec = sb.st_ctim.tv_nsec;
		ev->key.size = (uint64_t)sb.st_size;
	}
	fk.nevents = 4;

	ward_config_defaults(&cfg);
	cfg.mode = WARD_MODE_LOCKDOWN;
	cfg.fail_closed = true;
	cfg.decision_budget_ms = 50;
	cfg.ntrusted_paths = 0;
	assert_int_equal(ward_snapshot_build(&cfg, NULL, &snap, NULL), WARD_OK);
	memset(&a, 0, sizeof(a));
	a.backend = &fake_backend;
	a.nworkers = 1;
	a.kernel_cache = true;
	a.scan = slow_scan;
	assert_int_equal(ward_cache_create(64, 5000, &a.cache, NULL), WARD_OK);
	assert_int_equal(ward_queue_create(2, &a.queue, NULL), WARD_OK);
	ward_agent_init(&a, snap);
	assert_int_equal(ward_agent_start(&a, NULL), WARD_OK);

	/* e2 (queue full) and e3 (self) at once; e0 and e1 by the keeper after 50 ms. */
	wait_answers(4);
	assert_int_equal(fk.nanswered, 4);
	assert_int_equal(fk.answers[2], 1);
	assert_int_equal(fk.decision[2], WARD_DENY);   /* FailClosed in LOCKDOWN */
	assert_int_equal(fk.answers[3], 1);
	assert_int_equal(fk.decision[3], WARD_ALLOW);  /* the agent's own pid */
	assert_int_equal(fk.decision[0], WARD_DENY);
	assert_int_equal(fk.decision[1], WARD_DENY);
	assert_true(fk.order[2] == 0 || fk.order[2] == 1); /* the slow ones come last */
	assert_true(fk.order[3] == 0 || fk.order[3] == 1);

	/* Open the gate: the worker finishes both late; their real verdict (LOCKDOWN,
	 * unknown: DENY) reaches the cache, and nobody answers a second time. */
	pthread_mutex_lock(&gate_mu);
	gate_open = true;
	pthread_cond_broadcast(&gate_cv);
	pthread_mutex_unlock(&gate_mu);
	for (int i = 0; i < 500 && atomic_load(&a.metrics.late_verdicts) < 2; i++)
		usleep(10000);
	assert_int_equal(atomic_load(&a.metrics.late_verdicts), 2);
	ward_verdict_t v;
	assert_true(ward_cache_lookup(a.cache, &fk.events[0].key, ward_mono_ns() / 1000000, &v));
	assert_int_equal(v.decision, WARD_DENY);
	assert_int_equal(v.reason, WARD_RSN_MODE);

	ward_agent_stop(&a);
	/* Counters are bumped after the answer is written: read them once all is joined. */
	assert_int_equal(atomic_load(&a.metrics.queue_full), 1);
	assert_int_equal(atomic_load(&a.metrics.deadline_misses), 2);
	assert_int_equal(atomic_load(&a.metrics.decisions[1][WARD_RSN_DEADLINE]), 2);
	assert_int_equal(atomic_load(&a.metrics.decisions[1][WARD_RSN_QUEUE_FULL]), 1);
	assert_int_equal(atomic_load(&a.metrics.decisions[0][WARD_RSN_SELF]), 1);
	assert_int_equal(atomic_load(&a.metrics.lat_count), 4);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(fk.answers[i], 1);
		close(fk.events[i].fd);
	}
	assert_int_equal(fk.released, 4);
	assert_int_equal(fk.kernel_marks, 0);          /* nothing was allowed by a decision */
	ward_snapshot_unref(a.snap);
	ward_cache_destroy(a.cache);
	ward_queue_destroy(a.queue);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_queue_full_deadline_self),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
