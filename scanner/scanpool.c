/*
 * The bounded-time scan pool (scanner/scan.h): fixed workers, a fixed ring queue, a
 * fixed job table, a set-associative verdict cache, all under one mutex.
 *
 * Time: libyara's timeout counts whole seconds, so a caller's budget is enforced here,
 * by a timed wait on the job's condition variable (CLOCK_MONOTONIC, immune to clock
 * steps). A caller whose budget runs out leaves with PENDING; the job keeps running on
 * its worker, bounded by the hard limit, and its verdict goes to the cache.
 *
 * Lifetime of a job: the queue/worker holds one reference and every waiting submitter
 * one more; the last to let go returns the slot to the free list. The worker closes the
 * file and drops the rule-set reference as soon as the scan ends.
 */
#include "scanner/scan.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include "common/platform.h"

enum { JOB_FREE, JOB_QUEUED, JOB_RUNNING, JOB_DONE };

struct job {
	int state;
	unsigned refs;
	bool pending_answered;   /* some submitter left with PENDING: the verdict is late */
	int fd;                  /* our dup, or -1 until the worker opens path */
	ward_yrules_t *rules;    /* the set this scan runs with (its generation keys it) */
	ward_scan_key_t key;
	uint64_t gen;
	ward_scan_verdict_t v;   /* valid in JOB_DONE */
	pthread_cond_t cv;       /* CLOCK_MONOTONIC; broadcast on JOB_DONE */
	struct job *next_free;
	char path[PATH_MAX];     /* "" when none */
};

struct worker {
	pthread_t thread;
	ward_scanpool_t *pool;
	ward_yscanner_t *scanner; /* rebuilt when the job's rule set differs */
};

#define CACHE_WAYS 4u

struct cache_ent {
	bool used;
	uint64_t stamp;          /* last use, for LRU within a set */
	ward_scan_key_t key;
	uint64_t gen;
	ward_scan_verdict_t v;
};

/* Scan-time histogram: exact below 16 us, then 8 buckets per power of two (< 12.5%). */
#define HIST_BUCKETS 512u

struct ward_scanpool {
	pthread_mutex_t mu;
	pthread_cond_t work_cv;
	ward_scanpool_opts_t o;
	atomic_bool stop;

	ward_yrules_t *rules;
	ward_yrules_status_t rstat;

	struct job **queue;
	unsigned qcap, qhead, qlen;
	struct job *jobs;
	unsigned njobs;
	struct job *free_jobs;

	struct worker *workers;
	unsigned nworkers;       /* started */
	unsigned running;

	struct cache_ent *cache;
	unsigned cache_sets;     /* power of two */
	uint64_t cache_clock;

	ward_scanpool_stats_t st;
	uint64_t hist[HIST_BUCKETS];
	uint64_t hist_n, hist_sum_us;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ------------------------------------------------------------------ cache */

static struct cache_ent *cache_set(ward_scanpool_t *p, const ward_scan_key_t *k)
{
	/* By file (device, inode) only: one file's entries share a set, so a modified file
	 * is forgotten (ward_scanpool_forget) and a new content replaces the old. */
	return &p->cache[(ward_filekey_file_hash(k) & (p->cache_sets - 1)) * CACHE_WAYS];
}

static bool cache_get(ward_scanpool_t *p, const ward_scan_key_t *k, uint64_t gen,
                      ward_scan_verdict_t *v)
{
	struct cache_ent *e = cache_set(p, k);

	for (unsigned i = 0; i < CACHE_WAYS; i++) {
		if (e[i].used && e[i].gen == gen && ward_filekey_eq(&e[i].key, k)) {
			e[i].stamp = ++p->cache_clock;
			*v = e[i].v;
			v->cached = true;
			return true;
		}
	}
	return false;
}

static void cache_put(ward_scanpool_t *p, const ward_scan_key_t *k, uint64_t gen,
                      const ward_scan_verdict_t *v)
{
	struct cache_ent *e = cache_set(p, k), *slot = NULL;

	for (unsigned i = 0; i < CACHE_WAYS && slot == NULL; i++)
		if (e[i].used && ward_filekey_same_file(&e[i].key, k))
			slot = &e[i]; /* same file, older content or generation: replace */
	for (unsigned i = 0; i < CACHE_WAYS && slot == NULL; i++)
		if (!e[i].used)
			slot = &e[i];
	if (slot == NULL) {
		slot = &e[0];
		for (unsigned i = 1; i < CACHE_WAYS; i++)
			if (e[i].stamp < slot->stamp)
				slot = &e[i];
	}
	slot->used = true;
	slot->stamp = ++p->cache_clock;
	slot->key = *k;
	slot->gen = gen;
	slot->v = *v;
	slot->v.cached = false;
}

void ward_scanpool_forget(ward_scanpool_t *p, const ward_scan_key_t *k)
{
	pthread_mutex_lock(&p->mu);
	struct cache_ent *e = cache_set(p, k);
	for (unsigned i = 0; i < CACHE_WAYS; i++)
		if (e[i].used && ward_filekey_same_file(&e[i].key, k))
			e[i].used = false;
	pthread_mutex_unlock(&p->mu);
}

/* ------------------------------------------------------------------ stats */

static unsigned hist_index(uint64_t us)
{
	unsigned msb;

	if (us < 16)
		return (unsigned)us;
	msb = 63u - (unsigned)__builtin_clzll(us);
	return 16u + (msb - 4u) * 8u + (unsigned)((us >> (msb - 3u)) & 7u);
}

static uint64_t hist_upper(unsigned idx)
{
	unsigned msb, sub;

	if (idx < 16)
		return idx;
	msb = 4u + (idx - 16u) / 8u;
	sub = (idx - 16u) % 8u;
	return ((8ull + sub) << (msb - 3u)) + (1ull << (msb - 3u)) - 1u;
}

static uint64_t hist_quantile(const ward_scanpool_t *p, uint64_t per_mille)
{
	uint64_t want, seen = 0;

	if (p->hist_n == 0)
		return 0;
	want = (p->hist_n * per_mille + 999u) / 1000u;
	if (want == 0)
		want = 1;
	for (unsigned i = 0; i < HIST_BUCKETS; i++) {
		seen += p->hist[i];
		if (seen >= want) {
			uint64_t u = hist_upper(i);
			return u < p->st.scan_us_max ? u : p->st.scan_us_max;
		}
	}
	return p->st.scan_us_max;
}

/* ------------------------------------------------------------------ jobs */

static void job_unref(ward_scanpool_t *p, struct job *j)
{
	if (--j->refs > 0)
		return;
	j->state = JOB_FREE;
	j->next_free = p->free_jobs;
	p->free_jobs = j;
}

static struct job *find_inflight(ward_scanpool_t *p, const ward_scan_key_t *k, uint64_t gen)
{
	for (unsigned i = 0; i < p->njobs; i++) {
		struct job *j = &p->jobs[i];
		if ((j->state == JOB_QUEUED || j->state == JOB_RUNNING) && j->gen == gen &&
		    ward_filekey_eq(&j->key, k))
			return j;
	}
	return NULL;
}

/* Run one job on worker w, without the lock. Returns whether the verdict may be cached. */
static bool run_job(ward_scanpool_t *p, struct worker *w, struct job *j, ward_scan_verdict_t *v)
{
	ward_error_t e = { 0 };
	ward_scan_key_t now;
	struct stat st;
	bool cacheable;

	memset(v, 0, sizeof(*v));
	v->generation = j->gen;
	if (w->scanner && ward_yscanner_rules(w->scanner) != j->rules) {
		ward_yscanner_destroy(w->scanner);
		w->scanner = NULL;
	}
	if (w->scanner == NULL &&
	    ward_yscanner_create(j->rules, p->o.hard_limit_s, &w->scanner, &e) != WARD_OK)
		goto failed;
	if (j->fd < 0) {
		j->fd = open(j->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
		if (j->fd < 0) {
			ward_error_set(&e, WARD_E_IO, "%s: %s", j->path, strerror(errno));
			goto failed;
		}
	}
	if (fstat(j->fd, &st) != 0) {
		ward_error_set(&e, WARD_E_IO, "fstat: %s", strerror(errno));
		goto failed;
	}
	ward_scan_key_from_stat(&st, &now);
	if (!ward_filekey_eq(&now, &j->key)) {
		ward_error_set(&e, WARD_E_INVAL, "file changed since it was submitted");
		goto failed;
	}
	if (ward_yscanner_scan_fd(w->scanner, j->fd, p->o.max_bytes, &p->stop, NULL, NULL, NULL, v,
	                          &e) != WARD_OK)
		return false;
	/* Written while we read it: the verdict is about bytes that may be gone. */
	cacheable = (v->status == WARD_SCAN_DONE || v->status == WARD_SCAN_ABORTED) &&
	            fstat(j->fd, &st) == 0;
	if (cacheable) {
		ward_scan_key_from_stat(&st, &now);
		cacheable = ward_filekey_eq(&now, &j->key);
	}
	return cacheable;
failed:
	v->status = WARD_SCAN_FAILED;
	v->err = e.code;
	snprintf(v->reason, sizeof(v->reason), "%s", e.msg);
	return false;
}

static void record(ward_scanpool_t *p, const ward_scan_verdict_t *v)
{
	p->st.scans++;
	switch (v->status) {
	case WARD_SCAN_DONE:
		if (v->nmatches)
			p->st.matched++;
		if (v->action == WARD_SCAN_BLOCK)
			p->st.blocked++;
		else if (v->action == WARD_SCAN_AUDIT)
			p->st.audited++;
		break;
	case WARD_SCAN_ABORTED:
		p->st.aborted++;
		break;
	case WARD_SCAN_SKIPPED:
		p->st.skipped++;
		return;
	default:
		p->st.failed++;
		return;
	}
	p->hist[hist_index(v->scan_us)]++;
	p->hist_n++;
	p->hist_sum_us += v->scan_us;
	if (v->scan_us > p->st.scan_us_max)
		p->st.scan_us_max = v->scan_us;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	ward_scanpool_t *p = w->pool;

	/* Best effort: a worker at default priority still works, only less politely. */
	if (p->o.worker_nice > 0) {
		ward_thread_nice(p->o.worker_nice);
	}
	if (p->o.on_thread_start != NULL)
		p->o.on_thread_start();
	pthread_mutex_lock(&p->mu);
	for (;;) {
		struct job *j;
		ward_scan_verdict_t v;
		bool cacheable, late;

		while (!atomic_load(&p->stop) && p->qlen == 0) {
			/* Idle with a scanner for an old set: let that set go now. */
			if (w->scanner && ward_yscanner_rules(w->scanner) != p->rules) {
				ward_yscanner_t *old = w->scanner;
				w->scanner = NULL;
				pthread_mutex_unlock(&p->mu);
				ward_yscanner_destroy(old);
				pthread_mutex_lock(&p->mu);
				continue;
			}
			pthread_cond_wait(&p->work_cv, &p->mu);
		}
		if (atomic_load(&p->stop))
			break;
		j = p->queue[p->qhead];
		p->qhead = (p->qhead + 1) % p->qcap;
		p->qlen--;
		j->state = JOB_RUNNING;
		p->running++;
		pthread_mutex_unlock(&p->mu);

		cacheable = run_job(p, w, j, &v);
		if (j->fd >= 0) {
			close(j->fd);
			j->fd = -1;
		}
		ward_yrules_unref(j->rules);
		j->rules = NULL;

		pthread_mutex_lock(&p->mu);
		j->v = v;
		j->state = JOB_DONE;
		pthread_cond_broadcast(&j->cv);
		p->running--;
		record(p, &v);
		if (cacheable)
			cache_put(p, &j->key, j->gen, &v);
		late = j->pending_answered;
		if (late)
			p->st.late++;
		if (p->o.on_done) {
			pthread_mutex_unlock(&p->mu);
			p->o.on_done(p->o.on_done_ctx, &j->key, j->path[0] ? j->path : NULL, &v, late);
			pthread_mutex_lock(&p->mu);
		}
		job_unref(p, j);
	}
	pthread_mutex_unlock(&p->mu);
	ward_yscanner_destroy(w->scanner);
	w->scanner = NULL;
	return NULL;
}

/* ------------------------------------------------------------------ lifecycle */

void ward_scanpool_opts_default(ward_scanpool_opts_t *o)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	memset(o, 0, sizeof(*o));
	o->workers = n < 1 ? 1u : n > (long)WARD_SCAN_MAX_WORKERS ? WARD_SCAN_MAX_WORKERS : (unsigned)n;
	o->queue_len = WARD_SCAN_QUEUE_DEFAULT;
	o->cache_entries = WARD_SCAN_CACHE_DEFAULT;
	o->max_bytes = 256ull << 20;
	o->hard_limit_s = WARD_SCAN_HARD_LIMIT_S;
	o->worker_nice = WARD_SCAN_WORKER_NICE;
}

static void pool_free(ward_scanpool_t *p)
{
	if (p->jobs)
		for (unsigned i = 0; i < p->njobs; i++)
			pthread_cond_destroy(&p->jobs[i].cv);
	free(p->jobs);
	free(p->queue);
	free(p->workers);
	free(p->cache);
	pthread_cond_destroy(&p->work_cv);
	pthread_mutex_destroy(&p->mu);
	free(p);
}

ward_err_t ward_scanpool_create(const ward_scanpool_opts_t *o, ward_scanpool_t **out,
                                ward_error_t *err)
{
	ward_scanpool_t *p;
	unsigned entries;

	*out = NULL;
	if (o == NULL || o->workers == 0 || o->workers > WARD_SCAN_MAX_WORKERS)
		return ward_error_set(err, WARD_E_INVAL, "scan pool: workers must be 1..%u",
		                      WARD_SCAN_MAX_WORKERS);
	if (o->queue_len == 0 || o->queue_len > WARD_SCAN_MAX_QUEUE)
		return ward_error_set(err, WARD_E_INVAL, "scan pool: queue length must be 1..%u",
		                      WARD_SCAN_MAX_QUEUE);
	if (o->cache_entries == 0 || o->cache_entries > WARD_SCAN_MAX_CACHE)
		return ward_error_set(err, WARD_E_INVAL, "scan pool: cache entries must be 1..%u",
		                      WARD_SCAN_MAX_CACHE);
	if (o->hard_limit_s == 0 || o->hard_limit_s > WARD_SCAN_MAX_HARD_LIMIT_S)
		return ward_error_set(err, WARD_E_INVAL, "scan pool: hard limit must be 1..%u s",
		                      WARD_SCAN_MAX_HARD_LIMIT_S);
	if (o->worker_nice < 0 || o->worker_nice > 19)
		return ward_error_set(err, WARD_E_INVAL, "scan pool: worker nice must be 0..19");
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return ward_error_set(err, WARD_E_NOMEM, "scan pool: out of memory");
	p->o = *o;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->work_cv, NULL);
	atomic_init(&p->stop, false);

	for (entries = CACHE_WAYS; entries < o->cache_entries; entries <<= 1)
		;
	p->cache_sets = entries / CACHE_WAYS;
	p->qcap = o->queue_len;
	/* Queued + running, plus finished jobs whose waiters have not woken yet. */
	p->njobs = 2 * o->queue_len + o->workers;
	p->cache = calloc(entries, sizeof(*p->cache));
	p->queue = calloc(p->qcap, sizeof(*p->queue));
	p->jobs = calloc(p->njobs, sizeof(*p->jobs));
	p->workers = calloc(o->workers, sizeof(*p->workers));
	if (!p->cache || !p->queue || !p->jobs || !p->workers) {
		free(p->jobs);
		p->jobs = NULL;
		pool_free(p);
		return ward_error_set(err, WARD_E_NOMEM, "scan pool: out of memory");
	}
	for (unsigned i = p->njobs; i-- > 0;) {
		struct job *j = &p->jobs[i];
		ward_cond_init_mono(&j->cv);
		j->fd = -1;
		j->next_free = p->free_jobs;
		p->free_jobs = j;
	}

	p->st.workers = o->workers;
	p->st.queue_capacity = p->qcap;
	for (unsigned i = 0; i < o->workers; i++) {
		int rc;

		p->workers[i].pool = p;
		if ((rc = pthread_create(&p->workers[i].thread, NULL, worker_main, &p->workers[i])) != 0) {
			ward_scanpool_destroy(p);
			return ward_error_set(err, WARD_E_NOMEM, "scan pool: thread %u: %s", i,
			                      strerror(rc));
		}
		p->nworkers++;
	}
	*out = p;
	return WARD_OK;
}

void ward_scanpool_destroy(ward_scanpool_t *p)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	atomic_store(&p->stop, true);
	/* Queued scans never start: answer them and let them go. */
	while (p->qlen > 0) {
		struct job *j = p->queue[p->qhead];
		p->qhead = (p->qhead + 1) % p->qcap;
		p->qlen--;
		if (j->fd >= 0)
			close(j->fd);
		j->fd = -1;
		ward_yrules_unref(j->rules);
		j->rules = NULL;
		memset(&j->v, 0, sizeof(j->v));
		j->v.status = WARD_SCAN_FAILED;
		j->v.err = WARD_E_BUSY;
		snprintf(j->v.reason, sizeof(j->v.reason), "scan pool shutting down");
		j->state = JOB_DONE;
		pthread_cond_broadcast(&j->cv);
		job_unref(p, j);
	}
	pthread_cond_broadcast(&p->work_cv);
	pthread_mutex_unlock(&p->mu);
	for (unsigned i = 0; i < p->nworkers; i++)
		pthread_join(p->workers[i].thread, NULL);
	ward_yrules_unref(p->rules);
	pool_free(p);
}

void ward_scanpool_set_rules(ward_scanpool_t *p, ward_yrules_t *r)
{
	ward_yrules_t *old;

	ward_yrules_ref(r);
	pthread_mutex_lock(&p->mu);
	old = p->rules;
	p->rules = r;
	p->rstat.generation = ward_yrules_generation(r);
	p->rstat.nrules = ward_yrules_count(r);
	p->rstat.nfiles = ward_yrules_files(r);
	p->rstat.loaded_at = (int64_t)time(NULL);
	p->rstat.reload_failed = false;
	p->rstat.failed_at = 0;
	p->rstat.error[0] = '\0';
	p->st.generation = p->rstat.generation;
	pthread_cond_broadcast(&p->work_cv); /* idle workers drop scanners of the old set */
	pthread_mutex_unlock(&p->mu);
	ward_yrules_unref(old);
}

ward_err_t ward_scanpool_reload(ward_scanpool_t *p, const char *const *paths, size_t npaths,
                                ward_error_t *err)
{
	ward_error_t e = { 0 };
	ward_yrules_t *r;
	ward_err_t rc;

	rc = ward_yrules_open(paths, npaths, NULL, NULL, &r, &e);
	if (rc != WARD_OK) {
		pthread_mutex_lock(&p->mu);
		p->rstat.reload_failed = true;
		p->rstat.failed_at = (int64_t)time(NULL);
		snprintf(p->rstat.error, sizeof(p->rstat.error), "%s", e.msg);
		pthread_mutex_unlock(&p->mu);
		return ward_error_set(err, rc, "%s", e.msg);
	}
	ward_scanpool_set_rules(p, r);
	ward_yrules_unref(r);
	return WARD_OK;
}

void ward_scanpool_rules_status(ward_scanpool_t *p, ward_yrules_status_t *st)
{
	pthread_mutex_lock(&p->mu);
	*st = p->rstat;
	pthread_mutex_unlock(&p->mu);
}

/* ------------------------------------------------------------------ submitting */

static void verdict_set(ward_scan_verdict_t *v, ward_scan_status_t s, uint64_t gen, const char *fmt,
                        ...) __attribute__((format(printf, 4, 5)));

static void verdict_set(ward_scan_verdict_t *v, ward_scan_status_t s, uint64_t gen, const char *fmt,
                        ...)
{
	va_list ap;

	memset(v, 0, sizeof(*v));
	v->status = s;
	v->generation = gen;
	va_start(ap, fmt);
	vsnprintf(v->reason, sizeof(v->reason), fmt, ap);
	va_end(ap);
}

ward_err_t ward_scanpool_submit(ward_scanpool_t *p, const ward_scan_req_t *req,
                                ward_scan_verdict_t *v, ward_error_t *err)
{
	uint64_t t0 = mono_ns(), gen;
	struct job *j;

	if (p == NULL || req == NULL || (req->fd < 0 && (req->path == NULL || req->path[0] == '\0'))) {
		verdict_set(v, WARD_SCAN_FAILED, 0, "scan request without a file");
		v->err = WARD_E_INVAL;
		return ward_error_set(err, WARD_E_INVAL, "%s", v->reason);
	}
	if (req->budget_ms > WARD_SCAN_MAX_BUDGET_MS ||
	    (req->fd < 0 && strlen(req->path) >= sizeof(j->path))) {
		verdict_set(v, WARD_SCAN_FAILED, 0, "scan request: budget over %u ms or path too long",
		            WARD_SCAN_MAX_BUDGET_MS);
		v->err = WARD_E_INVAL;
		return ward_error_set(err, WARD_E_INVAL, "%s", v->reason);
	}

	pthread_mutex_lock(&p->mu);
	p->st.submitted++;
	if (p->rules == NULL || ward_yrules_count(p->rules) == 0) {
		p->st.skipped++;
		pthread_mutex_unlock(&p->mu);
		verdict_set(v, WARD_SCAN_SKIPPED, 0, "no YARA rules loaded");
		return WARD_OK;
	}
	gen = ward_yrules_generation(p->rules);
	if (cache_get(p, &req->key, gen, v)) {
		p->st.cache_hits++;
		pthread_mutex_unlock(&p->mu);
		return WARD_OK;
	}
	if (req->key.size > p->o.max_bytes) {
		p->st.skipped++;
		pthread_mutex_unlock(&p->mu);
		verdict_set(v, WARD_SCAN_SKIPPED, gen, "%llu bytes is over ScanMaxBytes (%llu)",
		            (unsigned long long)req->key.size, (unsigned long long)p->o.max_bytes);
		v->file_size = req->key.size;
		return WARD_OK;
	}
	if ((j = find_inflight(p, &req->key, gen)) != NULL) {
		p->st.joined++;
		j->refs++;
	} else {
		int fd = -1;

		if (p->qlen == p->qcap || p->free_jobs == NULL || atomic_load(&p->stop)) {
			p->st.busy++;
			pthread_mutex_unlock(&p->mu);
			verdict_set(v, WARD_SCAN_BUSY, gen, "scan queue full (%u queued)", p->qcap);
			return WARD_OK;
		}
		if (req->fd >= 0 && (fd = fcntl(req->fd, F_DUPFD_CLOEXEC, 0)) < 0) {
			int e = errno;
			pthread_mutex_unlock(&p->mu);
			verdict_set(v, WARD_SCAN_FAILED, gen, "dup: %s", strerror(e));
			v->err = WARD_E_IO;
			return WARD_OK;
		}
		j = p->free_jobs;
		p->free_jobs = j->next_free;
		j->next_free = NULL;
		j->state = JOB_QUEUED;
		j->refs = 2; /* the queue/worker, and us */
		j->pending_answered = false;
		j->fd = fd;
		j->rules = ward_yrules_ref(p->rules);
		j->key = req->key;
		j->gen = gen;
		snprintf(j->path, sizeof(j->path), "%s", req->path ? req->path : "");
		p->queue[(p->qhead + p->qlen) % p->qcap] = j;
		p->qlen++;
		pthread_cond_signal(&p->work_cv);
	}

	if (req->budget_ms > 0) {
		uint64_t deadline = t0 + (uint64_t)req->budget_ms * 1000000u;

		while (j->state != JOB_DONE)
			if (ward_cond_wait_until(&j->cv, &p->mu, deadline) == ETIMEDOUT)
				break;
	}
	if (j->state == JOB_DONE) {
		*v = j->v;
	} else {
		j->pending_answered = true;
		p->st.pending++;
		verdict_set(v, WARD_SCAN_PENDING, gen, "scan budget of %u ms ran out; scan continues",
		            req->budget_ms);
		v->file_size = req->key.size;
	}
	job_unref(p, j);
	pthread_mutex_unlock(&p->mu);
	return WARD_OK;
}

bool ward_scanpool_lookup(ward_scanpool_t *p, const ward_scan_key_t *key, ward_scan_verdict_t *v)
{
	bool hit = false;

	pthread_mutex_lock(&p->mu);
	if (p->rules)
		hit = cache_get(p, key, ward_yrules_generation(p->rules), v);
	pthread_mutex_unlock(&p->mu);
	return hit;
}

void ward_scanpool_flush(ward_scanpool_t *p)
{
	pthread_mutex_lock(&p->mu);
	memset(p->cache, 0, (size_t)p->cache_sets * CACHE_WAYS * sizeof(*p->cache));
	pthread_mutex_unlock(&p->mu);
}

void ward_scanpool_stats(ward_scanpool_t *p, ward_scanpool_stats_t *st)
{
	pthread_mutex_lock(&p->mu);
	*st = p->st;
	st->queue_depth = p->qlen;
	st->running = p->running;
	st->scan_us_mean = p->hist_n ? p->hist_sum_us / p->hist_n : 0;
	st->scan_us_p50 = hist_quantile(p, 500);
	st->scan_us_p99 = hist_quantile(p, 990);
	pthread_mutex_unlock(&p->mu);
}
