/*
 * Unit tests for the engine (agent/engine/pipeline.c, deadline.c) through the fake
 * backend (tests/unit/fakebackend.h), one per contract point: exactly one answer per
 * event whoever answers (reader, worker, keeper), also under a storm; the agent's own
 * pid; a full queue; the keeper's fallback; the epoch rule (a verdict decided before a
 * flush enters no cache); a MODIFIED notification evicts; an OPEN is never decided by
 * exec rules; kernel hints decide without the file; one user's storm does not hold
 * another user's decision; a stale cache answer is decided again.
 */
#include "tests/unit/testutil.h"

#include <fcntl.h>
#include <pthread.h>
#include <errno.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "agent/engine/engine.h"
#include "common/hex.h"
#include "common/platform.h"
#include "tests/unit/fakebackend.h"

/* ---------------------------------------------------------------- gated scans */

/* The scan hook stands in for a slow decision: it blocks until the test opens the gate
 * (for events of gated_uid only, when that is set). */
static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static bool gate_open;
static int gate_waiting;
static bool gate_by_uid;
static uid_t gated_uid;

static void gate_set(bool open)
{
	pthread_mutex_lock(&gate_mu);
	gate_open = open;
	pthread_cond_broadcast(&gate_cv);
	pthread_mutex_unlock(&gate_mu);
}

/* Wait until n scans are blocked at the gate. */
static void gate_wait_blocked(int n)
{
	pthread_mutex_lock(&gate_mu);
	while (gate_waiting < n)
		pthread_cond_wait(&gate_cv, &gate_mu);
	pthread_mutex_unlock(&gate_mu);
}

static ward_scanstep_t gated_scan(void *arg, const ward_event_t *ev, const char *path,
                                  const ward_identity_t *id, uint64_t deadline_ns, ward_scan_out_t *out)
{
	(void)arg; (void)path; (void)id; (void)deadline_ns; (void)out;
	pthread_mutex_lock(&gate_mu);
	if (!gate_by_uid || (ev->proc.creds_ok && ev->proc.uid == gated_uid)) {
		gate_waiting++;
		pthread_cond_broadcast(&gate_cv);
		while (!gate_open)
			pthread_cond_wait(&gate_cv, &gate_mu);
		gate_waiting--;
	}
	pthread_mutex_unlock(&gate_mu);
	return WARD_SCANSTEP_CLEAN;
}

/* ---------------------------------------------------------------- fixture */

struct fx {
	char path[64];
	int fd;
	ward_filekey_t key;
	ward_store_t *st;
	ward_cache_t *cache;
	ward_queue_t *queue;
	ward_engine_t *e;
	ward_config_t cfg;
	int records;            /* seen by the subscriber */
	int records_unanswered; /* records whose event had no answer yet: must stay 0 */
	int forgotten;          /* the forget hook */
};

static struct fx F;

static void subscriber(void *arg, const ward_record_t *r)
{
	struct fx *f = arg;
	unsigned i = (unsigned)r->proc.pid; /* the tests number pids like cookies */

	pthread_mutex_lock(&fk.mu);
	f->records++;
	if (r->kind != WARD_EV_SCAN && i < FK_MAX && fk.answers[i] == 0 && !(r->notes & WARD_NOTE_LATE))
		f->records_unanswered++;
	pthread_mutex_unlock(&fk.mu);
}

static void forget_hook(void *arg, const ward_filekey_t *k)
{
	struct fx *f = arg;
	(void)k;
	__atomic_add_fetch(&f->forgotten, 1, __ATOMIC_SEQ_CST);
}

static void fx_file(struct fx *f)
{
	struct stat sb;

	strcpy(f->path, "/tmp/warden-pipeline-XXXXXX");
	f->fd = mkstemp(f->path);
	assert_true(f->fd >= 0);
	assert_int_equal(write(f->fd, "\177ELF-pipeline", 13), 13);
	assert_int_equal(fchmod(f->fd, 0755), 0);
	assert_int_equal(fstat(f->fd, &sb), 0);
	ward_filekey_from_stat(&sb, &f->key);
}

/* The scan step's idle test for the next fx_start (NULL: a scan may always happen). */
static bool (*fx_scan_idle)(void *arg);
/* The exec-ALLOW hook for the next fx_start (NULL: none). */
static void (*fx_on_exec_allow)(void *arg, const ward_filekey_t *key, bool user_writable);

/* Start an engine on the fake backend: nworkers, queue capacity, the config in f->cfg. */
static void fx_start(struct fx *f, unsigned nworkers, unsigned qcap, ward_scan_fn scan)
{
	ward_snapshot_t *snap;
	ward_engine_opts_t o;

	fk_reset();
	assert_int_equal(ward_snapshot_build(&f->cfg, f->st, &snap, NULL), WARD_OK);
	assert_int_equal(ward_cache_create(64, 5000, &f->cache, NULL), WARD_OK);
	assert_int_equal(ward_queue_create(qcap, &f->queue, NULL), WARD_OK);
	memset(&o, 0, sizeof(o));
	o.backend = &fake_backend;
	o.cache = f->cache;
	o.queue = f->queue;
	o.nworkers = nworkers;
	o.kernel_cache = true;
	o.scan = scan;
	o.scan_idle = fx_scan_idle;
	o.forget = forget_hook;
	o.forget_arg = f;
	o.on_exec_allow = fx_on_exec_allow;
	o.on_exec_allow_arg = f;
	assert_int_equal(ward_engine_create(&o, snap, &f->e, NULL), WARD_OK);
	assert_int_equal(ward_engine_subscribe(f->e, subscriber, f, NULL), WARD_OK);
	assert_int_equal(ward_engine_start(f->e, NULL), WARD_OK);
}

static void fx_stop(struct fx *f)
{
	ward_engine_stop(f->e);
	ward_engine_destroy(f->e);
	ward_cache_destroy(f->cache);
	ward_queue_destroy(f->queue);
	f->e = NULL;
}

static int setup(void **state)
{
	memset(&F, 0, sizeof(F));
	fx_file(&F);
	assert_int_equal(ward_store_open(":memory:", WARD_STORE_CREATE, &F.st, NULL), WARD_OK);
	ward_config_defaults(&F.cfg);
	F.cfg.ntrusted_paths = 0;
	gate_set(false);
	gate_by_uid = false;
	fx_on_exec_allow = NULL;
	*state = &F;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	gate_set(true);
	if (f->e)
		fx_stop(f);
	close(f->fd);
	unlink(f->path);
	ward_store_close(f->st);
	return 0;
}

/* An EXEC of the fixture file, numbered n (cookie and pid). */
static ward_event_t exec_ev(struct fx *f, unsigned n)
{
	ward_event_t ev = { .kind = WARD_EV_EXEC, .fd = f->fd, .cookie = n, .key_ok = true,
	                    .key = f->key, .st_uid = 0, .st_mode = 0100755 };
	ev.proc.pid = (pid_t)n;
	return ev;
}

static void add_rule(struct fx *f, ward_rule_type_t t, ward_policy_t p, const char *id)
{
	ward_rule_t r = { .type = t, .policy = p, .source = WARD_SRC_LOCAL, .identifier = id };
	assert_int_equal(ward_store_put(f->st, &r, NULL), WARD_OK);
}

static void sha_of(struct fx *f, char hex[65])
{
	uint8_t sha[32];
	assert_int_equal(ward_sha256_fd(f->fd, sha, NULL), WARD_OK);
	ward_hex_encode(sha, 32, hex);
}

/* ---------------------------------------------------------------- tests */

/* Reader answers (self, full queue), keeper answers (late), and the real verdicts of
 * the late ones still reach the cache: every event exactly once. */
static void test_queue_full_deadline_self(void **state)
{
	struct fx *f = *state;
	ward_metrics_t *m;

	f->cfg.mode = WARD_MODE_LOCKDOWN;
	f->cfg.fail_closed = true;
	f->cfg.decision_budget_ms = 50;
	fx_start(f, 1, 2, gated_scan);
	/* e1, e2: slow (the worker blocks on e1, e2 waits in the queue); e3: queue full;
	 * e4: the agent itself. */
	fk_inject(exec_ev(f, 1));
	fk_inject(exec_ev(f, 2));
	fk_inject(exec_ev(f, 3));
	ward_event_t self = exec_ev(f, 4);
	self.proc.pid = getpid();
	fk_inject(self);
	assert_true(fk_wait(4, 2));
	assert_int_equal(fk.answers[3], 1);
	assert_int_equal(fk.answer[3].decision, WARD_DENY);   /* FailClosed in LOCKDOWN */
	assert_int_equal(fk.answers[4], 1);
	assert_int_equal(fk.answer[4].decision, WARD_ALLOW);  /* the agent's own pid */
	assert_int_equal(fk.answer[1].decision, WARD_DENY);
	assert_int_equal(fk.answer[2].decision, WARD_DENY);
	assert_false(fk.answer[1].cache || fk.answer[2].cache || fk.answer[3].cache);

	/* Open the gate: the worker finishes both late; their real verdict (LOCKDOWN,
	 * unknown: DENY) reaches the cache, and nobody answers a second time. */
	gate_set(true);
	assert_true(fk_wait(4, 4));
	m = ward_engine_metrics(f->e);
	assert_int_equal(atomic_load(&m->late_verdicts), 2);
	ward_verdict_t v;
	assert_true(ward_cache_lookup(f->cache, &f->key, ward_mono_ns() / 1000000, &v));
	assert_int_equal(v.decision, WARD_DENY);
	assert_int_equal(v.reason, WARD_RSN_MODE);
	ward_engine_stop(f->e);
	assert_int_equal(atomic_load(&m->queue_full), 1);
	assert_int_equal(atomic_load(&m->deadline_misses), 2);
	assert_int_equal(atomic_load(&m->decisions[1][WARD_RSN_DEADLINE]), 2);
	assert_int_equal(atomic_load(&m->decisions[1][WARD_RSN_QUEUE_FULL]), 1);
	assert_int_equal(atomic_load(&m->decisions[0][WARD_RSN_SELF]), 1);
	for (int i = 1; i <= 4; i++) {
		assert_int_equal(fk.answers[i], 1);
		assert_int_equal(fk.released[i], 1);
	}
	assert_int_equal(fk.answered_after_release, 0);
	assert_int_equal(f->records_unanswered, 0);
	assert_int_equal(fk.cache_bits, 0); /* nothing was allowed by a decision */
}

/* The keeper's fallback when the file itself took the time (a worker was deciding it):
 * LOCKDOWN denies with FailClosed off; the same in MONITOR allows. */
static void test_keeper_near_deadline(void **state)
{
	struct fx *f = *state;

	f->cfg.mode = WARD_MODE_LOCKDOWN;
	f->cfg.fail_closed = false;
	f->cfg.decision_budget_ms = 5000;
	fx_start(f, 2, 8, gated_scan);
	ward_event_t ev = exec_ev(f, 1);
	ev.deadline_ns = ward_mono_ns() + 20 * 1000000ull; /* the kernel's: near */
	fk_inject(ev);
	assert_true(fk_wait(1, 0));
	assert_int_equal(fk.answer[1].decision, WARD_DENY);
	gate_set(true);
	assert_true(fk_wait(1, 1));
	/* counted after the answer; the event is given back only after the keeper let go */
	assert_int_equal(atomic_load(&ward_engine_metrics(f->e)->decisions[1][WARD_RSN_DEADLINE]), 1);
	fx_stop(f);
	assert_int_equal(fk.answers[1], 1);

	f->cfg.mode = WARD_MODE_MONITOR;
	gate_set(false);
	fx_start(f, 2, 8, gated_scan);
	ev = exec_ev(f, 2);
	ev.deadline_ns = ward_mono_ns() + 20 * 1000000ull;
	fk_inject(ev);
	assert_true(fk_wait(1, 0));
	assert_int_equal(fk.answer[2].decision, WARD_ALLOW);
	gate_set(true);
	assert_true(fk_wait(1, 1));
	assert_int_equal(fk.answers[2], 1);
}

/* Many events, a budget of 1 ms so the keeper races the workers, some cache hits: each
 * event answered exactly once and given back exactly once, never answered after. */
static ward_scanstep_t jitter_scan(void *arg, const ward_event_t *ev, const char *path,
                                   const ward_identity_t *id, uint64_t deadline_ns, ward_scan_out_t *out)
{
	(void)arg; (void)path; (void)id; (void)deadline_ns; (void)out;
	usleep((useconds_t)(ev->cookie % 3) * 700);
	return WARD_SCANSTEP_UNSCANNED; /* never cached: every event reaches a worker */
}

static void test_exactly_once_storm(void **state)
{
	struct fx *f = *state;
	enum { N = 1500 };

	f->cfg.mode = WARD_MODE_MONITOR;
	f->cfg.decision_budget_ms = 1;
	fx_start(f, 4, 64, jitter_scan);
	for (unsigned i = 1; i <= N; i++)
		fk_inject(exec_ev(f, i));
	assert_true(fk_wait(N, N));
	fx_stop(f);
	for (unsigned i = 1; i <= N; i++) {
		assert_int_equal(fk.answers[i], 1);
		assert_int_equal(fk.released[i], 1);
	}
	assert_int_equal(fk.answered_after_release, 0);
	assert_int_equal(f->records_unanswered, 0);
}

/* The epoch rule: a verdict decided with a snapshot older than a flush never enters the
 * user-space cache nor carries the kernel's cache bit; the next one does. */
static void test_epoch_rule(void **state)
{
	struct fx *f = *state;
	ward_verdict_t v;

	f->cfg.mode = WARD_MODE_MONITOR; /* unknown, scanned clean: a cacheable ALLOW */
	fx_start(f, 1, 8, gated_scan);
	fk_inject(exec_ev(f, 1));
	gate_wait_blocked(1);          /* decided with the current snapshot, not answered */
	ward_engine_flush(f->e);        /* a rule change lands meanwhile */
	gate_set(true);
	assert_true(fk_wait(1, 1));
	assert_int_equal(fk.answer[1].decision, WARD_ALLOW);
	assert_false(fk.answer[1].cache);
	assert_false(ward_cache_lookup(f->cache, &f->key, ward_mono_ns() / 1000000, &v));
	/* decided after the flush: both caches learn it */
	fk_inject(exec_ev(f, 2));
	assert_true(fk_wait(2, 2));
	assert_true(fk.answer[2].cache);
	assert_true(ward_cache_lookup(f->cache, &f->key, ward_mono_ns() / 1000000, &v));
	assert_int_equal(fk.flushes, 1);
}

/* A MODIFIED notification evicts the file from the user-space caches (ours and, through
 * the forget hook, the scan results). */
static void test_modified_evicts(void **state)
{
	struct fx *f = *state;
	ward_verdict_t v;
	char sha[65];

	sha_of(f, sha);
	add_rule(f, WARD_RT_BINARY, WARD_POL_ALLOWLIST, sha);
	fx_start(f, 1, 8, NULL);
	fk_inject(exec_ev(f, 1));
	assert_true(fk_wait(1, 1));
	assert_true(fk.answer[1].cache);
	assert_true(ward_cache_lookup(f->cache, &f->key, ward_mono_ns() / 1000000, &v));
	ward_event_t mod = { .kind = WARD_EV_MODIFIED, .fd = -1, .cookie = 2, .key_ok = true, .key = f->key };
	mod.key.ctime_nsec++; /* the file's new key: same inode */
	fk_inject(mod);
	assert_true(fk_wait(1, 2));
	assert_false(ward_cache_lookup(f->cache, &f->key, ward_mono_ns() / 1000000, &v));
	assert_int_equal(__atomic_load_n(&f->forgotten, __ATOMIC_SEQ_CST), 1);
	assert_int_equal(fk.answers[2], 0); /* a notification is never answered */
}

/* An OPEN of a file a BINARY rule blocks: not the exec policy's business. */
static void test_open_not_exec_policy(void **state)
{
	struct fx *f = *state;
	char sha[65];

	sha_of(f, sha);
	add_rule(f, WARD_RT_BINARY, WARD_POL_BLOCKLIST, sha);
	f->cfg.mode = WARD_MODE_LOCKDOWN;
	fx_start(f, 1, 8, NULL);
	ward_event_t ev = exec_ev(f, 1);
	ev.kind = WARD_EV_OPEN;
	ev.access = WARD_ACC_READ | WARD_ACC_WRITE;
	fk_inject(ev);
	fk_inject(exec_ev(f, 2));
	assert_true(fk_wait(2, 2));
	assert_int_equal(fk.answer[1].decision, WARD_ALLOW);
	assert_int_equal(fk.answer[1].allowed, WARD_ACC_READ | WARD_ACC_WRITE);
	assert_false(fk.answer[1].cache);
	assert_int_equal(fk.answer[2].decision, WARD_DENY);
	assert_int_equal(fk.answer[2].allowed, 0);
}

/* Kernel hints, no BINARY rule: answered by the TEAMID rule with no descriptor at all,
 * so no byte of the file can have been read before the answer. */
static void test_hints_no_file(void **state)
{
	struct fx *f = *state;
	static ward_id_hints_t h = { .team_id = "EQHXZ8M8AV", .signing_id = "com.google.Chrome" };

	add_rule(f, WARD_RT_TEAMID, WARD_POL_ALLOWLIST, "EQHXZ8M8AV");
	f->cfg.mode = WARD_MODE_LOCKDOWN;
	fx_start(f, 1, 8, gated_scan); /* a scan would block: it must not be reached */
	ward_event_t ev = exec_ev(f, 1);
	ev.fd = -1;
	ev.hints = &h;
	fk_inject(ev);
	assert_true(fk_wait(1, 1));
	assert_int_equal(fk.answer[1].decision, WARD_ALLOW);
	assert_int_equal(atomic_load(&ward_engine_metrics(f->e)->decisions[0][WARD_RSN_RULE]), 1);
}

/* One user's storm of slow decisions holds at most its share of the workers: another
 * user's event is decided meanwhile, and root's too. */
static void test_fair_share(void **state)
{
	struct fx *f = *state;

	f->cfg.mode = WARD_MODE_MONITOR;
	gate_by_uid = true;
	gated_uid = 1000;
	fx_start(f, 2, 16, gated_scan); /* share: 1 worker per user */
	for (unsigned i = 1; i <= 4; i++) {
		ward_event_t ev = exec_ev(f, i);
		ev.proc.creds_ok = true;
		ev.proc.uid = 1000;
		fk_inject(ev);
	}
	gate_wait_blocked(1);
	ward_event_t other = exec_ev(f, 10);
	other.proc.creds_ok = true;
	other.proc.uid = 2000;
	fk_inject(other);
	assert_true(fk_wait(1, 1));
	assert_int_equal(fk.answers[10], 1); /* decided while 1000's scans hold their worker */
	for (unsigned i = 1; i <= 4; i++)
		assert_int_equal(fk.answers[i], 0);
	gate_set(true);
	assert_true(fk_wait(5, 5));
}

/* The backend saw the file change before its cache mark held: nothing was written; the
 * engine decides again and answers once, without the cache bit. */
static void test_stale_answer(void **state)
{
	struct fx *f = *state;
	char sha[65];

	sha_of(f, sha);
	add_rule(f, WARD_RT_BINARY, WARD_POL_ALLOWLIST, sha);
	fx_start(f, 1, 8, NULL);
	pthread_mutex_lock(&fk.mu);
	fk.stale_left = 1;
	pthread_mutex_unlock(&fk.mu);
	fk_inject(exec_ev(f, 1));
	assert_true(fk_wait(1, 1));
	assert_int_equal(fk.stale_given, 1);
	assert_int_equal(fk.answers[1], 1);
	assert_int_equal(fk.answer[1].decision, WARD_ALLOW);
	assert_false(fk.answer[1].cache);
}


/* A write that races the decision: the content checked is not what would run. The worker
 * sees the file's key change after deciding, decides the new content, and only that
 * verdict is answered and cached. */
static int race_fd = -1;
static int race_writes;
static ward_scanstep_t racing_scan(void *arg, const ward_event_t *ev, const char *path,
                                   const ward_identity_t *id, uint64_t deadline_ns, ward_scan_out_t *out)
{
	(void)arg; (void)ev; (void)path; (void)id; (void)deadline_ns; (void)out;
	if (race_writes++ == 0)
		assert_int_equal(pwrite(race_fd, "X", 1, 3), 1); /* same size, new ctime */
	return WARD_SCANSTEP_CLEAN;
}

static void test_write_races_decision(void **state)
{
	struct fx *f = *state;
	ward_verdict_t v;
	struct stat sb;
	ward_filekey_t now;

	race_fd = open(f->path, O_WRONLY);
	race_writes = 0;
	assert_true(race_fd >= 0);
	f->cfg.mode = WARD_MODE_MONITOR;
	fx_start(f, 1, 8, racing_scan);
	fk_inject(exec_ev(f, 1));
	assert_true(fk_wait(1, 1));
	assert_int_equal(fk.answers[1], 1);
	assert_int_equal(race_writes, 2);  /* decided twice */
	assert_int_equal(atomic_load(&ward_engine_metrics(f->e)->changed_while_deciding), 1);
	assert_int_equal(fstat(f->fd, &sb), 0);
	ward_filekey_from_stat(&sb, &now);
	assert_false(ward_filekey_eq(&f->key, &now));
	assert_false(ward_cache_lookup(f->cache, &f->key, ward_mono_ns() / 1000000, &v)); /* old content */
	assert_true(ward_cache_lookup(f->cache, &now, ward_mono_ns() / 1000000, &v));
	close(race_fd);
}

/* ---------------------------------------------------------------- the reader decides */

static bool always_idle(void *arg)
{
	(void)arg;
	return true;
}

static uint64_t reader_decisions(struct fx *f)
{
	return atomic_load(&ward_engine_metrics(f->e)->reader_decisions);
}

/* A backend whose reads can be tried without waiting lets the reader decide a small cold
 * exec itself (no hand-off), answered once, remembered, logged; a logged DENY and a scan
 * that could run send it to a worker, and the reader never calls the scan step. */
static void test_reader_decides(void **state)
{
	struct fx *f = *state;
	ward_verdict_t v;

	fake_backend.reader_decides = true;
	f->cfg.mode = WARD_MODE_MONITOR;
	fx_start(f, 1, 8, NULL);
	fk_inject(exec_ev(f, 1));
	assert_true(fk_wait(1, 1));
	assert_int_equal(fk.answers[1], 1);
	assert_int_equal(fk.answer[1].decision, WARD_ALLOW);
	assert_int_equal(reader_decisions(f), 1);
	assert_true(ward_cache_lookup(f->cache, &f->key, ward_mono_ns() / 1000000, &v));
	fx_stop(f);
	assert_int_equal(f->records, 1);
	assert_int_equal(f->records_unanswered, 0);

	/* a logged DENY reads the process's details before the answer (its memory, under
	 * its lock): a worker's job, never the reader's */
	f->cfg.mode = WARD_MODE_LOCKDOWN;
	fx_start(f, 1, 8, NULL);
	fk_inject(exec_ev(f, 5));
	assert_true(fk_wait(1, 1));
	assert_int_equal(fk.answer[5].decision, WARD_DENY);
	assert_int_equal(reader_decisions(f), 0);
	fx_stop(f);
	f->cfg.mode = WARD_MODE_MONITOR;

	/* a scan could run: the gate is closed, so only a worker may be stuck there; the
	 * keeper's fallback answers at the deadline and the reader decided nothing */
	f->cfg.decision_budget_ms = 50;
	gate_set(false);
	fx_start(f, 1, 8, gated_scan);
	fk_inject(exec_ev(f, 2));
	gate_wait_blocked(1);
	assert_true(fk_wait(1, 0));
	assert_int_equal(reader_decisions(f), 0);
	gate_set(true);
	assert_true(fk_wait(1, 1));
	fx_stop(f);
	assert_int_equal(fk.answers[2], 1);

	/* no scan can happen (no YARA rules): the reader decides, the gate stays shut */
	gate_set(false);
	fx_scan_idle = always_idle;
	fx_start(f, 1, 8, gated_scan);
	fk_inject(exec_ev(f, 3));
	assert_true(fk_wait(1, 1));
	assert_int_equal(reader_decisions(f), 1);
	assert_int_equal(fk.answer[3].decision, WARD_ALLOW);
	fx_stop(f);
	gate_set(true);

	/* a backend that cannot promise non-blocking reads: always a worker */
	fake_backend.reader_decides = false;
	fx_start(f, 1, 8, NULL);
	fk_inject(exec_ev(f, 4));
	assert_true(fk_wait(1, 1));
	assert_int_equal(reader_decisions(f), 0);
	fx_stop(f);
}

/* A file whose pages are not in memory: the reader's read would wait on the disk, so it
 * gives up and a worker decides (and reads). Needs a disk filesystem under /var/tmp. */
static void test_reader_never_waits_on_disk(void **state)
{
	struct fx *f = *state;
	char path[] = "/var/tmp/warden-nowait-XXXXXX", buf[64];
	struct statfs sf;
	struct stat sb;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(fstatfs(fd, &sf), 0);
	if (sf.f_type == TMPFS_MAGIC || sf.f_type == RAMFS_MAGIC) {
		close(fd);
		unlink(path);
		skip(); /* /var/tmp is memory here: nothing can be evicted */
	}
	memset(buf, 'x', sizeof(buf));
	memcpy(buf, "\177ELF", 4);
	assert_int_equal(write(fd, buf, sizeof(buf)), (ssize_t)sizeof(buf));
	assert_int_equal(fsync(fd), 0);
	assert_int_equal(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);

	/* the primitive: in the mode, a read of an evicted page fails at once */
	assert_true(ward_nowait_begin(fd));
	assert_false(ward_nowait_memory());
	errno = 0;
	assert_true(ward_pread(fd, buf, 4, 0) < 0);
	assert_int_equal(errno, EAGAIN);
	assert_true(ward_nowait_end());
	assert_false(ward_nowait_active());

	/* that miss may have started a read-ahead: let it land, then evict again, and
	 * check with mincore that the page is really gone */
	assert_int_equal(pread(fd, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
	assert_int_equal(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
	{
		unsigned char vec = 1;
		void *m = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
		assert_true(m != MAP_FAILED);
		assert_int_equal(mincore(m, 4096, &vec), 0);
		munmap(m, 4096);
		assert_int_equal(vec & 1, 0);
	}
	assert_int_equal(fstat(fd, &sb), 0);
	fake_backend.reader_decides = true;
	f->cfg.mode = WARD_MODE_MONITOR;
	fx_start(f, 1, 8, NULL);
	ward_event_t ev = exec_ev(f, 1);
	ev.fd = fd;
	ward_filekey_from_stat(&sb, &ev.key);
	fk_inject(ev);
	assert_true(fk_wait(1, 1));
	assert_int_equal(reader_decisions(f), 0); /* a worker did */
	assert_int_equal(fk.answers[1], 1);
	assert_int_equal(fk.answer[1].decision, WARD_ALLOW);
	/* now the pages are in memory (the worker read them): the reader decides */
	fk_inject(exec_ev(f, 2));
	assert_true(fk_wait(2, 2));
	assert_int_equal(reader_decisions(f), 1);
	fx_stop(f);
	close(fd);
	unlink(path);
}

/* What the exec-ALLOW hook saw (the BPF ground's ground_decided writer in wardend). */
static struct {
	int calls, calls_after_answer, user_writable, root_only;
	ward_filekey_t key;
} ea;

static void exec_allow_hook(void *arg, const ward_filekey_t *key, bool user_writable)
{
	(void)arg;
	pthread_mutex_lock(&fk.mu);
	ea.calls++;
	/* the tests' events n = 1, 2, 3 are each the n-th call: answered already is too
	 * late for the ground */
	if (ea.calls < FK_MAX && fk.answers[ea.calls] != 0)
		ea.calls_after_answer++;
	if (user_writable)
		ea.user_writable++;
	else
		ea.root_only++;
	ea.key = *key;
	pthread_mutex_unlock(&fk.mu);
}

/* The ground's window check depends on this: every EXEC ALLOW is told to the hook
 * before the kernel gets the answer, user_writable exactly for the files no cache may
 * keep; a DENY, an OPEN and the cacheable ALLOW's are told apart. */
static void test_exec_allow_hook_before_answer(void **state)
{
	struct fx *f = *state;
	ward_event_t ev;
	char sha[65];

	memset(&ea, 0, sizeof(ea));
	fx_on_exec_allow = exec_allow_hook;
	f->cfg.mode = WARD_MODE_LOCKDOWN;
	fx_start(f, 1, 8, NULL);
	fk_inject(exec_ev(f, 1)); /* unknown in LOCKDOWN: DENY, not told */
	assert_true(fk_wait(1, 1));
	assert_int_equal(fk.answer[1].decision, WARD_DENY);
	assert_int_equal(ea.calls, 0);
	fx_stop(f);

	sha_of(f, sha);
	add_rule(f, WARD_RT_BINARY, WARD_POL_ALLOWLIST, sha);
	fx_start(f, 1, 8, NULL);
	ev = exec_ev(f, 1);
	ev.st_uid = 1000; /* its owner can rewrite it: never cached */
	fk_inject(ev);
	assert_true(fk_wait(1, 1));
	assert_int_equal(fk.answer[1].decision, WARD_ALLOW);
	assert_false(fk.answer[1].cache);
	assert_int_equal(ea.calls, 1);
	assert_int_equal(ea.user_writable, 1);
	assert_int_equal(ea.calls_after_answer, 0);
	assert_memory_equal(&ea.key, &f->key, sizeof(f->key));

	ev = exec_ev(f, 2);
	ev.st_mode = 0100775; /* root's, group-writable: never cached either */
	fk_inject(ev);
	assert_true(fk_wait(2, 2));
	assert_int_equal(ea.calls, 2);
	assert_int_equal(ea.user_writable, 2);
	assert_int_equal(ea.calls_after_answer, 0);

	fk_inject(exec_ev(f, 3)); /* root's only: kernel-cached, told as root-only */
	assert_true(fk_wait(3, 3));
	assert_true(fk.answer[3].cache);
	assert_int_equal(ea.calls, 3);
	assert_int_equal(ea.root_only, 1);
	assert_int_equal(ea.calls_after_answer, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_queue_full_deadline_self, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keeper_near_deadline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exactly_once_storm, setup, teardown),
		cmocka_unit_test_setup_teardown(test_epoch_rule, setup, teardown),
		cmocka_unit_test_setup_teardown(test_modified_evicts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_not_exec_policy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hints_no_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fair_share, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_answer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_races_decision, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reader_decides, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reader_never_waits_on_disk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exec_allow_hook_before_answer, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
