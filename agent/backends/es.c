/*
 * The EndpointSecurity backend: ES messages in, ward_event_t out; verdicts back as ES
 * responses. The same source runs on macOS (libEndpointSecurity) and on Linux against
 * the emulation (agent/backends/es_emul/), which enforces ES's contract in the tests.
 *
 * Two clients, as Apple recommends and Santa does: an AUTH client (AUTH_EXEC) whose
 * handler maps, retains the message and hands it to the engine, and a NOTIFY client
 * (CLOSE, EXIT, RENAME, UNLINK, UNMOUNT) that only observes. Both mute this process by
 * audit token (our own opens of the files we decide on must not come back to us).
 *
 * The ES contract (EndpointSecurity docs: es_respond_auth_result, es_retain_message):
 *   - every AUTH message is answered exactly once, before msg->deadline, or ES kills the
 *     client: an atomic "answered" flag arbitrates between the engine's answer and this
 *     backend's own timer, which answers with the fallback verdict at the budget
 *     ward_es_budget_ns() gives (Santa's discipline: keep 1-5 s of headroom);
 *   - a message handed to another thread is retained first and released once, after
 *     the answer (ops->release);
 *   - the cache bit goes with the answer itself, and only on a plain ALLOW;
 *   - es_clear_cache runs on its own thread, never on the event path, and is retried
 *     when ES throttles it.
 * ES gives no file descriptor: the backend opens the path and checks that the file it
 * opened is the one ES described (device and inode), or decides without one.
 */
#include "agent/backends/es/es_backend.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/backends/es/es_api.h"
#include "agent/backends/es/es_map.h"
#include "common/platform.h"

typedef struct esb esb_t;

typedef struct es_ev {
	ward_event_t ev;
	struct es_ev *prev, *next; /* in flight (b->mu) */
	const es_message_t *msg;
	atomic_bool answered;
	atomic_bool cache;
	uint64_t fallback_ns; /* when the backend answers by itself */
	bool path_ok;
	char path[WARD_ES_MAX_PATH];
} es_ev_t;

struct esb {
	ward_backend_t base;
	ward_es_opts_t o;
	es_client_t *auth, *notify;
	ward_event_sink_fn sink;
	void *sink_arg;
	pthread_mutex_t mu;
	pthread_cond_t cv;    /* stop, new in-flight message, flush request */
	es_ev_t inflight;     /* list head */
	bool stop, flush;
	bool threads;
	atomic_bool ready;
	pthread_t timer, flusher;
	struct {
		_Atomic uint64_t auth, notify, modified, renamed, unlinked, exited, unmounted;
		_Atomic uint64_t late_fallbacks, mismatched, clear_throttled;
	} n;
};

static ward_decision_t fallback(esb_t *b)
{
	return b->o.fallback ? b->o.fallback(b->o.fallback_arg) : WARD_ALLOW;
}

static void answer(esb_t *b, const es_message_t *msg, ward_decision_t d, bool cache)
{
	/* Our own answer can only fail for a message ES no longer knows; nothing to do. */
	(void)es_respond_auth_result(b->auth, msg,
	                             d == WARD_DENY ? ES_AUTH_RESULT_DENY : ES_AUTH_RESULT_ALLOW,
	                             cache && d == WARD_ALLOW);
}

static void read_clock(ward_es_clock_t *clk)
{
	ward_es_clock_now(&clk->numer, &clk->denom, &clk->now_mach, &clk->now_ns);
}

/* Open what ES described, and only that: same device and inode, else no fd. */
static int open_checked(esb_t *b, const char *path, const ward_filekey_t *key)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) != 0 || (uint64_t)(uint32_t)st.st_dev != key->dev ||
	    (uint64_t)st.st_ino != key->ino) {
		atomic_fetch_add(&b->n.mismatched, 1);
		close(fd);
		return -1;
	}
	return fd;
}

static void h_auth(void *ctx, es_client_t *c, const es_message_t *msg)
{
	esb_t *b = ctx;
	ward_es_clock_t clk;
	ward_es_event_t *m = malloc(sizeof(*m));
	es_ev_t *w = NULL;

	(void)c;
	atomic_fetch_add(&b->n.auth, 1);
	read_clock(&clk);
	if (m == NULL || ward_es_map(msg, &clk, m, NULL) != WARD_OK || m->kind != WARD_ES_K_EXEC ||
	    (w = calloc(1, sizeof(*w))) == NULL) {
		/* Nothing the engine could decide on: the fallback, now. */
		if (msg->action_type == ES_ACTION_TYPE_AUTH)
			answer(b, msg, fallback(b), false);
		free(m);
		return;
	}
	es_retain_message(msg);
	w->msg = msg;
	atomic_init(&w->answered, false);
	atomic_init(&w->cache, false);
	w->fallback_ns = m->deadline_ns;
	w->path_ok = m->file.path_ok;
	memcpy(w->path, m->file.path, sizeof(w->path));
	w->ev.kind = WARD_EV_EXEC;
	w->ev.pid = m->proc.pid;
	w->ev.t_recv_ns = clk.now_ns;
	w->ev.key_ok = m->file.key_ok;
	w->ev.key = m->file.key;
	w->ev.st_uid = m->file.st_uid;
	w->ev.st_mode = m->file.st_mode;
	w->ev.cookie = (uint64_t)(uintptr_t)w;
	w->ev.fd = w->path_ok && w->ev.key_ok ? open_checked(b, w->path, &w->ev.key) : -1;
	free(m);

	pthread_mutex_lock(&b->mu);
	w->next = &b->inflight;
	w->prev = b->inflight.prev;
	b->inflight.prev->next = w;
	b->inflight.prev = w;
	pthread_cond_broadcast(&b->cv);
	pthread_mutex_unlock(&b->mu);
	b->sink(b->sink_arg, &w->ev);
}

static void h_notify(void *ctx, es_client_t *c, const es_message_t *msg)
{
	esb_t *b = ctx;
	ward_es_clock_t clk;
	ward_es_event_t *m = malloc(sizeof(*m));

	(void)c;
	atomic_fetch_add(&b->n.notify, 1);
	read_clock(&clk);
	if (m == NULL || ward_es_map(msg, &clk, m, NULL) != WARD_OK) {
		free(m);
		return;
	}
	/* The user-space caches key on (dev, ino, ctime, size): a modified or replaced file
	 * misses on its own. These counters show the traffic; eviction by key joins the
	 * engine's event kinds (MODIFIED, RENAME, UNLINK, EXIT). */
	switch (m->kind) {
	case WARD_ES_K_MODIFIED: atomic_fetch_add(&b->n.modified, 1); break;
	case WARD_ES_K_RENAME: atomic_fetch_add(&b->n.renamed, 1); break;
	case WARD_ES_K_UNLINK: atomic_fetch_add(&b->n.unlinked, 1); break;
	case WARD_ES_K_EXIT: atomic_fetch_add(&b->n.exited, 1); break;
	case WARD_ES_K_UNMOUNT: atomic_fetch_add(&b->n.unmounted, 1); break;
	default: break;
	}
	free(m);
}

/* The backend's own deadline: answer with the fallback before ES would kill us. */
static void *timer_main(void *arg)
{
	esb_t *b = arg;

	pthread_mutex_lock(&b->mu);
	while (!b->stop) {
		ward_es_clock_t clk;
		uint64_t next = UINT64_MAX;

		read_clock(&clk);
		for (es_ev_t *w = b->inflight.next; w != &b->inflight; w = w->next) {
			if (atomic_load(&w->answered))
				continue;
			if (w->fallback_ns <= clk.now_ns) {
				if (!atomic_exchange(&w->answered, true)) {
					answer(b, w->msg, fallback(b), false);
					atomic_fetch_add(&b->n.late_fallbacks, 1);
				}
			} else if (w->fallback_ns < next) {
				next = w->fallback_ns;
			}
		}
		if (next == UINT64_MAX)
			pthread_cond_wait(&b->cv, &b->mu);
		else
			(void)ward_cond_wait_until(&b->cv, &b->mu, next);
	}
	pthread_mutex_unlock(&b->mu);
	return NULL;
}

/* es_clear_cache off the event path; ES throttles frequent clears, so retry later. */
static void *flusher_main(void *arg)
{
	esb_t *b = arg;

	pthread_mutex_lock(&b->mu);
	while (!b->stop) {
		if (!b->flush) {
			pthread_cond_wait(&b->cv, &b->mu);
			continue;
		}
		b->flush = false;
		pthread_mutex_unlock(&b->mu);
		es_clear_cache_result_t r = es_clear_cache(b->auth);
		pthread_mutex_lock(&b->mu);
		if (r != ES_CLEAR_CACHE_RESULT_SUCCESS) {
			ward_es_clock_t clk;
			atomic_fetch_add(&b->n.clear_throttled, 1);
			atomic_fetch_add(&b->base.mark_errors, 1);
			b->flush = true;
			read_clock(&clk);
			(void)ward_cond_wait_until(&b->cv, &b->mu, clk.now_ns + 1000000000ull);
		}
	}
	pthread_mutex_unlock(&b->mu);
	return NULL;
}

static ward_err_t new_client(esb_t *b, es_client_t **c, ward_es_handler_fn fn,
                             const es_event_type_t *ev, uint32_t n, ward_error_t *err)
{
	audit_token_t self;
	es_new_client_result_t r = ward_es_new_client(c, fn, b);

	if (r != ES_NEW_CLIENT_RESULT_SUCCESS) {
		*c = NULL;
		return ward_error_set(err, r == ES_NEW_CLIENT_RESULT_ERR_NOT_ENTITLED ||
		                                   r == ES_NEW_CLIENT_RESULT_ERR_NOT_PERMITTED ||
		                                   r == ES_NEW_CLIENT_RESULT_ERR_NOT_PRIVILEGED
		                               ? WARD_E_PERM : WARD_E_IO,
		                      "es_new_client: %s",
		                      r == ES_NEW_CLIENT_RESULT_ERR_NOT_ENTITLED
		                          ? "not entitled (com.apple.developer.endpoint-security.client)"
		                      : r == ES_NEW_CLIENT_RESULT_ERR_NOT_PERMITTED
		                          ? "not permitted (grant Full Disk Access)"
		                      : r == ES_NEW_CLIENT_RESULT_ERR_NOT_PRIVILEGED ? "not root"
		                      : r == ES_NEW_CLIENT_RESULT_ERR_TOO_MANY_CLIENTS ? "too many clients"
		                                                                       : "failed");
	}
	if (!ward_es_self_token(&self) || es_mute_process(*c, &self) != ES_RETURN_SUCCESS ||
	    es_subscribe(*c, ev, n) != ES_RETURN_SUCCESS) {
		es_delete_client(*c);
		*c = NULL;
		return ward_error_set(err, WARD_E_IO, "es: cannot mute self or subscribe");
	}
	return WARD_OK;
}

static void es_stop(ward_backend_t *base);

static ward_err_t es_run(ward_backend_t *base, ward_event_sink_fn sink, void *arg, ward_error_t *err)
{
	esb_t *b = base->priv;
	static const es_event_type_t auth_ev[] = { ES_EVENT_TYPE_AUTH_EXEC };
	static const es_event_type_t notify_ev[] = {
		ES_EVENT_TYPE_NOTIFY_CLOSE, ES_EVENT_TYPE_NOTIFY_EXIT, ES_EVENT_TYPE_NOTIFY_RENAME,
		ES_EVENT_TYPE_NOTIFY_UNLINK, ES_EVENT_TYPE_NOTIFY_UNMOUNT,
	};
	ward_err_t rc;

	b->sink = sink;
	b->sink_arg = arg;
	/* Threads and clients start here, after wardend has daemonized (fork keeps none). */
	if (!b->threads) {
		if (pthread_create(&b->timer, NULL, timer_main, b) != 0)
			return ward_error_set(err, WARD_E_NOMEM, "es: cannot start the deadline timer");
		if (pthread_create(&b->flusher, NULL, flusher_main, b) != 0) {
			es_stop(base);
			pthread_join(b->timer, NULL);
			return ward_error_set(err, WARD_E_NOMEM, "es: cannot start the cache flusher");
		}
		b->threads = true;
	}
	if ((rc = new_client(b, &b->notify, h_notify, notify_ev, 5, err)) != WARD_OK)
		return rc;
	if ((rc = new_client(b, &b->auth, h_auth, auth_ev, 1, err)) != WARD_OK)
		return rc;
	atomic_store(&b->ready, true);
	pthread_mutex_lock(&b->mu);
	while (!b->stop)
		pthread_cond_wait(&b->cv, &b->mu);
	pthread_mutex_unlock(&b->mu);
	return WARD_OK;
}

static void es_stop(ward_backend_t *base)
{
	esb_t *b = base->priv;

	pthread_mutex_lock(&b->mu);
	b->stop = true;
	pthread_cond_broadcast(&b->cv);
	pthread_mutex_unlock(&b->mu);
}

static ward_err_t es_respond(ward_backend_t *base, const ward_event_t *ev, ward_decision_t d)
{
	esb_t *b = base->priv;
	es_ev_t *w = (es_ev_t *)(uintptr_t)ev->cookie;

	if (atomic_exchange(&w->answered, true))
		return WARD_OK; /* the timer answered first: ES takes one answer only */
	answer(b, w->msg, d, atomic_load(&w->cache));
	return WARD_OK;
}

/* ES remembers a verdict only if told with the answer; the pipeline says "cache" before
 * it answers (the engine's answer record carries it), never after. */
static void es_cache_allow(ward_backend_t *base, const ward_event_t *ev)
{
	es_ev_t *w = (es_ev_t *)(uintptr_t)ev->cookie;
	(void)base;
	atomic_store(&w->cache, true);
}

static void es_cache_flush(ward_backend_t *base)
{
	esb_t *b = base->priv;

	pthread_mutex_lock(&b->mu);
	b->flush = true;
	pthread_cond_broadcast(&b->cv);
	pthread_mutex_unlock(&b->mu);
}

static bool es_path(ward_backend_t *base, const ward_event_t *ev, char *buf, size_t len)
{
	es_ev_t *w = (es_ev_t *)(uintptr_t)ev->cookie;
	size_t n = strlen(w->path);
	(void)base;
	if (!w->path_ok || n >= len)
		return false;
	memcpy(buf, w->path, n + 1);
	return true;
}

static bool es_watch_writes(ward_backend_t *base, bool on)
{
	(void)base;
	return !on; /* compiler output tracking needs the engine's MODIFIED events */
}

static void es_release(ward_backend_t *base, ward_event_t *ev)
{
	esb_t *b = base->priv;
	es_ev_t *w = (es_ev_t *)(uintptr_t)ev->cookie;

	/* Exactly once, whatever happened: the pipeline gives back unanswered events when it
	 * stops (fanotify allows them when the group closes; ES needs an answer). */
	if (!atomic_exchange(&w->answered, true))
		answer(b, w->msg, fallback(b), false);
	pthread_mutex_lock(&b->mu);
	w->prev->next = w->next;
	w->next->prev = w->prev;
	pthread_mutex_unlock(&b->mu);
	if (ev->fd >= 0)
		close(ev->fd);
	ev->fd = -1;
	es_release_message(w->msg);
	free(w);
}

static void es_destroy(ward_backend_t *base)
{
	esb_t *b = base->priv;

	es_stop(base);
	if (b->threads) {
		pthread_join(b->timer, NULL);
		pthread_join(b->flusher, NULL);
	}
	if (b->auth)
		es_delete_client(b->auth);
	if (b->notify)
		es_delete_client(b->notify);
	pthread_mutex_destroy(&b->mu);
	pthread_cond_destroy(&b->cv);
	free(b);
}

static const struct ward_backend_ops es_ops = {
	.name = "endpointsecurity",
	.run = es_run,
	.stop = es_stop,
	.respond = es_respond,
	.cache_allow = es_cache_allow,
	.cache_flush = es_cache_flush,
	.path = es_path,
	.watch_writes = es_watch_writes,
	.release = es_release,
	.destroy = es_destroy,
};

ward_err_t ward_es_open(const ward_es_opts_t *opts, ward_backend_t **out, ward_error_t *err)
{
	esb_t *b = calloc(1, sizeof(*b));

	*out = NULL;
	if (b == NULL)
		return ward_error_set(err, WARD_E_NOMEM, "es: out of memory");
	if (opts)
		b->o = *opts;
	b->base.ops = &es_ops;
	b->base.priv = b;
	b->inflight.next = b->inflight.prev = &b->inflight;
	pthread_mutex_init(&b->mu, NULL);
	ward_cond_init_mono(&b->cv);
	*out = &b->base;
	return WARD_OK;
}

void ward_es_counts(const ward_backend_t *base, ward_es_counts_t *out)
{
	esb_t *b = base->priv;
	out->auth = atomic_load(&b->n.auth);
	out->notify = atomic_load(&b->n.notify);
	out->modified = atomic_load(&b->n.modified);
	out->renamed = atomic_load(&b->n.renamed);
	out->unlinked = atomic_load(&b->n.unlinked);
	out->exited = atomic_load(&b->n.exited);
	out->unmounted = atomic_load(&b->n.unmounted);
	out->late_fallbacks = atomic_load(&b->n.late_fallbacks);
	out->mismatched = atomic_load(&b->n.mismatched);
	out->clear_throttled = atomic_load(&b->n.clear_throttled);
	out->ready = atomic_load(&b->ready);
}
