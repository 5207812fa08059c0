/*
 * The EndpointSecurity backend: ES messages in, ward_event_t out; one ward_answer_t back
 * as one ES response. The same source runs on macOS (libEndpointSecurity) and on Linux
 * against the emulation (agent/backends/es_emul/), which enforces ES's contract in tests.
 *
 * Clients, as Apple recommends and Santa does: an AUTH client (AUTH_EXEC), a NOTIFY
 * client (CLOSE with modified, EXIT, RENAME, UNLINK, UNMOUNT: cache eviction), and, when
 * there are watch items, an OPEN client (AUTH_OPEN) whose target-path muting is
 * inverted so only opens under the watch items reach us. Each mutes this process by
 * audit token: our own reads of the files we decide on must not come back to us.
 *
 * The ES contract (EndpointSecurity docs: es_respond_auth_result, es_respond_flags_result,
 * es_retain_message, es_clear_cache):
 *   - every AUTH message is answered exactly once, before msg->deadline, or ES kills the
 *     client. The event's deadline_ns is ES's less headroom (ward_es_budget_ns: Santa's
 *     discipline), and the engine answers by then. If the engine has not answered half
 *     way into the headroom, this backend's timer answers with the fallback; an atomic
 *     "answered" flag makes whichever comes second a no-op;
 *   - a message handed to the engine is retained first and released once (ops->release);
 *   - the cache bit goes with the answer, only for a plain ALLOW (an open: every flag
 *     asked for), and only if the file still has the key the verdict was about;
 *   - es_clear_cache runs on its own thread, never on the event path, and is retried
 *     when ES throttles it.
 * ES gives no file descriptor: the backend opens the path and checks that the file it
 * opened is the one ES described (device and inode), or hands the engine no fd.
 */
#include "agent/backends/es/es_backend.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
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
	struct es_ev *prev, *next; /* in flight (b->mu), permission events only */
	es_client_t *client;       /* the client that delivered it (answers go back there) */
	const es_message_t *msg;
	atomic_bool answered;
	uint32_t fflag;
	uint64_t last_ns;          /* the backend's own fallback answer is due */
	pid_t ppid;
	uid_t ruid;
	ward_id_hints_t hints;
	char path[WARD_ES_MAX_PATH];
} es_ev_t;

struct esb {
	ward_backend_t base;
	ward_es_opts_t o;
	es_client_t *auth, *notify, *open;
	ward_event_sink_fn sink;
	void *sink_arg;
	pthread_mutex_t sink_mu; /* the engine's sink expects one reader; ES has one per client */
	pthread_mutex_t mu;
	pthread_cond_t cv;       /* stop, a new in-flight message, a flush request */
	es_ev_t inflight;        /* list head */
	bool stop, flush, threads;
	atomic_bool ready;
	atomic_bool closed;      /* ops->stop was called: the sink is never called again */
	atomic_bool want_writes; /* compiler rules exist: a modified file comes with its fd */
	char **open_paths;       /* watch_opens' prefixes (under mu), NULL: none given yet */
	bool opens_given;        /* watch_opens was called: it, not o.open_prefixes, decides */
	pthread_t timer, flusher;
	struct {
		_Atomic uint64_t auth, opens, notify, modified, renamed, unlinked, exited, unmounted;
		_Atomic uint64_t late_fallbacks, mismatched, clear_throttled, stale, clears;
	} n;
};

static ward_decision_t fallback(esb_t *b)
{
	return b->o.fallback ? b->o.fallback(b->o.fallback_arg) : WARD_ALLOW;
}

static void read_clock(ward_es_clock_t *clk)
{
	ward_es_clock_now(&clk->numer, &clk->denom, &clk->now_mach, &clk->now_ns);
}

/* One ES response. Only a plain ALLOW may carry the cache bit. */
static void es_answer(es_client_t *c, const es_message_t *msg, uint32_t fflag,
                      ward_decision_t d, uint32_t allowed, bool cache)
{
	/* Our own answer can only fail for a message ES no longer knows: nothing to do. */
	if (msg->event_type == ES_EVENT_TYPE_AUTH_OPEN) {
		uint32_t flags = d == WARD_DENY ? 0 : ward_es_flags_result(fflag, allowed);
		(void)es_respond_flags_result(c, msg, flags, cache && flags == UINT32_MAX);
	} else {
		(void)es_respond_auth_result(c, msg, d == WARD_DENY ? ES_AUTH_RESULT_DENY
		                                                    : ES_AUTH_RESULT_ALLOW,
		                             cache && d == WARD_ALLOW);
	}
}

/* Answer a message nobody will decide on (unmappable, out of memory). */
static void answer_now(esb_t *b, es_client_t *c, const es_message_t *msg)
{
	ward_decision_t d = fallback(b);
	uint32_t fflag = msg->event_type == ES_EVENT_TYPE_AUTH_OPEN ? (uint32_t)msg->event.open.fflag : 0;
	es_answer(c, msg, fflag, d, d == WARD_ALLOW ? WARD_ACC_READ | WARD_ACC_WRITE : 0, false);
}

/* Open what ES described, and only that: same device and inode, else no fd. */
static int open_checked(esb_t *b, const char *path, const ward_filekey_t *key)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);

	if (fd < 0)
		return -1;
	ward_filekey_t k = { 0 };
	bool ok = fstat(fd, &st) == 0;
	if (ok)
		ward_filekey_from_stat(&st, &k);
	if (!ok || k.dev != key->dev || k.ino != key->ino) {
		atomic_fetch_add(&b->n.mismatched, 1);
		close(fd);
		return -1;
	}
	return fd;
}

static void hints_of(const ward_es_hints_t *h, ward_id_hints_t *out)
{
	memset(out, 0, sizeof(*out));
	out->signature_valid = h->valid;
	out->cs_flags = h->cs_flags;
	if (!h->valid)
		return;
	out->has_cdhash = true;
	memcpy(out->cdhash, h->cdhash, sizeof(out->cdhash));
	memcpy(out->team_id, h->team_id, sizeof(out->team_id));
	memcpy(out->signing_id, h->signing_id, sizeof(out->signing_id));
	out->platform = h->platform;
}

static void subject_of(const ward_es_proc_t *p, ward_subject_t *s)
{
	s->pid = p->pid;
	s->pidversion = p->pidversion;
	s->creds_ok = true;
	s->uid = p->euid;
	s->gid = p->egid;
	s->exe_ok = p->exe.key_ok;
	s->exe = p->exe.key;
}

/*
 * Hand an event to the engine, unless the engine has stopped: ES keeps delivering on its
 * own queues until the clients are deleted, after the engine stopped reading. Then a
 * permission event gets the fallback answer here (fanotify: the kernel allows what a
 * closing group held) and is given back. es_stop waits for a sink call in progress.
 */
static void give_back(ward_backend_t *base, ward_event_t *ev);

static void deliver(esb_t *b, es_ev_t *w)
{
	pthread_mutex_lock(&b->sink_mu);
	if (!atomic_load(&b->closed)) {
		b->sink(b->sink_arg, &w->ev);
		pthread_mutex_unlock(&b->sink_mu);
		return;
	}
	pthread_mutex_unlock(&b->sink_mu);
	give_back(&b->base, &w->ev);
}

/* AUTH_EXEC and AUTH_OPEN: map, retain, hand to the engine. */
static void h_auth(void *ctx, es_client_t *c, const es_message_t *msg)
{
	esb_t *b = ctx;
	ward_es_clock_t clk;
	ward_es_event_t *m = malloc(sizeof(*m));
	es_ev_t *w = NULL;

	atomic_fetch_add(msg->event_type == ES_EVENT_TYPE_AUTH_OPEN ? &b->n.opens : &b->n.auth, 1);
	read_clock(&clk);
	if (m == NULL || ward_es_map(msg, &clk, m, NULL) != WARD_OK ||
	    (m->kind != WARD_ES_K_EXEC && m->kind != WARD_ES_K_OPEN) || !m->auth ||
	    (w = calloc(1, sizeof(*w))) == NULL) {
		if (msg->action_type == ES_ACTION_TYPE_AUTH)
			answer_now(b, c, msg);
		free(m);
		return;
	}
	es_retain_message(msg);
	w->msg = msg;
	w->client = c;
	atomic_init(&w->answered, false);
	w->fflag = m->fflag;
	w->ppid = m->proc.ppid;
	w->ruid = m->proc.ruid;
	/* The engine answers by deadline_ns; if it has not, we do a quarter of the way into
	 * the headroom, leaving three quarters of it for the answer to reach ES. */
	w->last_ns = m->deadline_ns + (clk.now_ns + m->left_ns - m->deadline_ns) / 4;
	w->ev.kind = m->kind == WARD_ES_K_EXEC ? WARD_EV_EXEC : WARD_EV_OPEN;
	subject_of(&m->proc, &w->ev.proc);
	w->ev.key_ok = m->file.key_ok;
	w->ev.key = m->file.key;
	w->ev.st_uid = m->file.st_uid;
	w->ev.st_mode = m->file.st_mode;
	w->ev.access = m->kind == WARD_ES_K_OPEN ? m->access : 0;
	w->ev.t_recv_ns = clk.now_ns;
	w->ev.deadline_ns = m->deadline_ns;
	if (m->file.path_ok) {
		memcpy(w->path, m->file.path, sizeof(w->path));
		w->ev.path = w->path;
	}
	if (m->kind == WARD_ES_K_EXEC) {
		/* The kernel validated the new image's signature: hints for decide(). */
		hints_of(&m->target.hints, &w->hints);
		w->ev.hints = &w->hints;
	}
	w->ev.cookie = (uint64_t)(uintptr_t)w;
	w->ev.fd = w->ev.path && w->ev.key_ok ? open_checked(b, w->path, &w->ev.key) : -1;
	free(m);

	pthread_mutex_lock(&b->mu);
	w->next = &b->inflight;
	w->prev = b->inflight.prev;
	b->inflight.prev->next = w;
	b->inflight.prev = w;
	pthread_cond_broadcast(&b->cv);
	pthread_mutex_unlock(&b->mu);
	deliver(b, w);
}

/* NOTIFY: modified, renamed, unlinked files and exits go to the engine (no answer). */
static void h_notify(void *ctx, es_client_t *c, const es_message_t *msg)
{
	esb_t *b = ctx;
	ward_es_clock_t clk;
	ward_es_event_t *m = malloc(sizeof(*m));
	ward_event_kind_t kind = 0;
	const ward_es_file_t *f = NULL;

	(void)c;
	atomic_fetch_add(&b->n.notify, 1);
	read_clock(&clk);
	if (m == NULL || ward_es_map(msg, &clk, m, NULL) != WARD_OK) {
		free(m);
		return;
	}
	switch (m->kind) {
	case WARD_ES_K_MODIFIED:
		atomic_fetch_add(&b->n.modified, 1);
		kind = WARD_EV_MODIFIED;
		f = &m->file;
		break;
	case WARD_ES_K_RENAME:
		atomic_fetch_add(&b->n.renamed, 1);
		kind = WARD_EV_RENAME;
		f = &m->file;
		break;
	case WARD_ES_K_UNLINK:
		atomic_fetch_add(&b->n.unlinked, 1);
		kind = WARD_EV_UNLINK;
		f = &m->file;
		break;
	case WARD_ES_K_EXIT:
		atomic_fetch_add(&b->n.exited, 1);
		kind = WARD_EV_EXIT;
		break;
	case WARD_ES_K_UNMOUNT:
		/* The verdict keys hold the device: a remount's files get new keys anyway. */
		atomic_fetch_add(&b->n.unmounted, 1);
		break;
	default:
		break;
	}
	es_ev_t *w = kind ? calloc(1, sizeof(*w)) : NULL;
	if (w != NULL) {
		atomic_init(&w->answered, true); /* nothing to answer */
		w->ev.kind = kind;
		subject_of(&m->proc, &w->ev.proc);
		w->ev.fd = -1;
		w->ev.t_recv_ns = clk.now_ns;
		if (f != NULL && f->present) {
			w->ev.key_ok = f->key_ok;
			w->ev.key = f->key;
			w->ev.st_uid = f->st_uid;
			w->ev.st_mode = f->st_mode;
			if (f->path_ok) {
				memcpy(w->path, f->path, sizeof(w->path));
				w->ev.path = w->path;
			}
			/* A compiler's output is read for its transitive rule: the file ES named,
			 * only while compiler rules exist (an open per written file otherwise) */
			if (kind == WARD_EV_MODIFIED && f->path_ok && f->key_ok &&
			    atomic_load(&b->want_writes))
				w->ev.fd = open_checked(b, w->path, &w->ev.key);
		}
		w->ev.cookie = (uint64_t)(uintptr_t)w;
		deliver(b, w);
	}
	/* RENAME over an existing file replaces it: forget the replaced one too. */
	if (m->kind == WARD_ES_K_RENAME && m->dest.present && m->dest.key_ok &&
	    (w = calloc(1, sizeof(*w))) != NULL) {
		atomic_init(&w->answered, true);
		w->ev.kind = WARD_EV_UNLINK;
		subject_of(&m->proc, &w->ev.proc);
		w->ev.fd = -1;
		w->ev.t_recv_ns = clk.now_ns;
		w->ev.key_ok = true;
		w->ev.key = m->dest.key;
		w->ev.cookie = (uint64_t)(uintptr_t)w;
		deliver(b, w);
	}
	free(m);
}

/* The backend's last resort: answer before ES would kill us. */
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
			if (w->last_ns <= clk.now_ns) {
				if (!atomic_exchange(&w->answered, true)) {
					ward_decision_t d = fallback(b);
					es_answer(w->client, w->msg, w->fflag, d,
					          d == WARD_ALLOW ? w->ev.access : 0, false);
					atomic_fetch_add(&b->n.late_fallbacks, 1);
				}
			} else if (w->last_ns < next) {
				next = w->last_ns;
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
		es_clear_cache_result_t r = ES_CLEAR_CACHE_RESULT_SUCCESS;
		if (b->auth)
			r = es_clear_cache(b->auth);
		if (r == ES_CLEAR_CACHE_RESULT_SUCCESS && b->open)
			r = es_clear_cache(b->open);
		pthread_mutex_lock(&b->mu);
		if (r == ES_CLEAR_CACHE_RESULT_SUCCESS)
			atomic_fetch_add(&b->n.clears, 1);
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
                             const es_event_type_t *ev, uint32_t n,
                             const char *const *targets, ward_error_t *err)
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
	bool ok = ward_es_self_token(&self) && es_mute_process(*c, &self) == ES_RETURN_SUCCESS;
	if (ok && targets != NULL) {
		/* Inverted target-path muting: only the watch items' targets are delivered. */
		ok = es_invert_muting(*c, ES_MUTE_INVERSION_TYPE_TARGET_PATH) == ES_RETURN_SUCCESS;
		for (size_t i = 0; ok && targets[i] != NULL; i++)
			ok = es_mute_path(*c, targets[i], ES_MUTE_PATH_TYPE_TARGET_PREFIX) == ES_RETURN_SUCCESS;
	}
	if (!ok || es_subscribe(*c, ev, n) != ES_RETURN_SUCCESS) {
		es_delete_client(*c);
		*c = NULL;
		return ward_error_set(err, WARD_E_IO, "es: cannot mute or subscribe");
	}
	return WARD_OK;
}

/*
 * The OPEN client's target paths are the watch items (b->open_paths; mu held): created
 * with inverted target-path muting on the first prefix, muting replaced on later calls
 * (es_unmute_all_target_paths, then one es_mute_path per prefix: only opens under a
 * watch item are ever delivered); with no prefix left the client stays and nothing is
 * delivered. ES's cached open results outlive a change of watch items: the engine's
 * flush on every new policy clears them (es_clear_cache).
 */
static ward_err_t apply_opens(esb_t *b, ward_error_t *err)
{
	static const es_event_type_t open_ev[] = { ES_EVENT_TYPE_AUTH_OPEN };
	bool ok;

	if (b->open == NULL) {
		if (b->open_paths == NULL || b->open_paths[0] == NULL)
			return WARD_OK;
		return new_client(b, &b->open, h_auth, open_ev, 1, (const char *const *)b->open_paths, err);
	}
	ok = es_unmute_all_target_paths(b->open) == ES_RETURN_SUCCESS;
	for (size_t i = 0; ok && b->open_paths != NULL && b->open_paths[i] != NULL; i++)
		ok = es_mute_path(b->open, b->open_paths[i], ES_MUTE_PATH_TYPE_TARGET_PREFIX) == ES_RETURN_SUCCESS;
	return ok ? WARD_OK : ward_error_set(err, WARD_E_IO, "es: cannot set the watch items' paths");
}

static void free_paths(char **v)
{
	for (size_t i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

/* ops->watch_opens: the file-access watch items' paths (FileAccessPolicy) become the
 * AUTH_OPEN client's target prefixes. exec_filesystems (Interpreters) asks for opens of
 * programs loaded without an exec, which this backend does not report (docs/macos.md;
 * wardend says so at start: ward_backend_program_opens). */
static bool es_watch_opens(ward_backend_t *base, const char *const *paths, bool exec_filesystems)
{
	esb_t *b = base->priv;
	ward_error_t err = { 0 };
	size_t n = 0;
	char **v;
	bool ok = true;

	while (paths != NULL && paths[n] != NULL)
		n++;
	if ((v = calloc(n + 1, sizeof(*v))) == NULL)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((v[i] = strdup(paths[i])) == NULL) {
			free_paths(v);
			return false;
		}
	pthread_mutex_lock(&b->mu);
	free_paths(b->open_paths);
	b->open_paths = v;
	b->opens_given = true;
	if (atomic_load(&b->ready))
		ok = apply_opens(b, &err) == WARD_OK;
	pthread_mutex_unlock(&b->mu);
	(void)exec_filesystems;
	return ok;
}

static void es_stop(ward_backend_t *base)
{
	esb_t *b = base->priv;

	atomic_store(&b->closed, true);
	pthread_mutex_lock(&b->sink_mu); /* a sink call in progress ends before we return */
	pthread_mutex_unlock(&b->sink_mu);
	pthread_mutex_lock(&b->mu);
	b->stop = true;
	pthread_cond_broadcast(&b->cv);
	pthread_mutex_unlock(&b->mu);
}

static ward_err_t es_run(ward_backend_t *base, ward_event_sink_fn sink, void *arg, ward_error_t *err)
{
	esb_t *b = base->priv;
	static const es_event_type_t auth_ev[] = { ES_EVENT_TYPE_AUTH_EXEC };
	static const es_event_type_t open_ev[] = { ES_EVENT_TYPE_AUTH_OPEN };
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
	if ((rc = new_client(b, &b->notify, h_notify, notify_ev, 5, NULL, err)) != WARD_OK)
		return rc;
	if ((rc = new_client(b, &b->auth, h_auth, auth_ev, 1, NULL, err)) != WARD_OK)
		return rc;
	pthread_mutex_lock(&b->mu);
	if (b->opens_given)
		rc = apply_opens(b, err);
	else if (b->o.open_prefixes != NULL && b->o.open_prefixes[0] != NULL)
		rc = new_client(b, &b->open, h_auth, open_ev, 1, b->o.open_prefixes, err);
	if (rc != WARD_OK) {
		pthread_mutex_unlock(&b->mu);
		return rc;
	}
	atomic_store(&b->ready, true);
	while (!b->stop)
		pthread_cond_wait(&b->cv, &b->mu);
	pthread_mutex_unlock(&b->mu);
	return WARD_OK;
}

/* Does the file still have the key the verdict was about? (The cache bit must not
 * outlive a modification that raced the decision.) */
static bool unchanged(const ward_event_t *ev)
{
	struct stat st;
	ward_filekey_t k;

	if (ev->fd < 0 || !ev->key_ok || fstat(ev->fd, &st) != 0)
		return false;
	ward_filekey_from_stat(&st, &k);
	return k.ino == ev->key.ino && k.ctime_sec == ev->key.ctime_sec &&
	       k.ctime_nsec == ev->key.ctime_nsec && k.size == ev->key.size;
}

static ward_err_t es_respond(ward_backend_t *base, const ward_event_t *ev, const ward_answer_t *a)
{
	esb_t *b = base->priv;
	es_ev_t *w = (es_ev_t *)(uintptr_t)ev->cookie;
	bool cache = a->cache && a->decision == WARD_ALLOW;

	if (atomic_load(&w->answered))
		return WARD_OK; /* the timer answered first: ES takes one answer only */
	if (cache && !unchanged(ev)) {
		atomic_fetch_add(&b->n.stale, 1);
		atomic_fetch_add(&base->stale, 1);
		return WARD_RESPOND_STALE; /* nothing written: the engine decides again */
	}
	if (atomic_exchange(&w->answered, true))
		return WARD_OK;
	es_answer(w->client, w->msg, w->fflag, a->decision,
	          ev->kind == WARD_EV_OPEN ? a->allowed : 0, cache);
	return WARD_OK;
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
	size_t n;
	(void)base;
	if (ev->path == NULL || (n = strlen(ev->path)) >= len)
		return false;
	memcpy(buf, ev->path, n + 1);
	return true;
}

/* The process details ES gave with the message; the new program's argv is not read. */
static bool es_proc_info(ward_backend_t *base, const ward_event_t *ev, ward_procinfo_t *out)
{
	es_ev_t *w = (es_ev_t *)(uintptr_t)ev->cookie;
	(void)base;
	memset(out, 0, offsetof(ward_procinfo_t, argv) + 1);
	out->ok = true;
	out->ppid = w->ppid;
	out->uid = w->ruid;
	return true;
}

static void give_back(ward_backend_t *base, ward_event_t *ev)
{
	esb_t *b = base->priv;
	es_ev_t *w = (es_ev_t *)(uintptr_t)ev->cookie;

	if (w->msg != NULL) {
		/* Exactly once, whatever happened: the engine gives back unanswered events when
		 * it stops (fanotify allows them when the group closes; ES needs an answer). */
		if (!atomic_exchange(&w->answered, true)) {
			ward_decision_t d = fallback(b);
			es_answer(w->client, w->msg, w->fflag, d, d == WARD_ALLOW ? ev->access : 0, false);
		}
		pthread_mutex_lock(&b->mu);
		w->prev->next = w->next;
		w->next->prev = w->prev;
		pthread_mutex_unlock(&b->mu);
		es_release_message(w->msg);
	}
	if (ev->fd >= 0)
		close(ev->fd);
	ev->fd = -1;
	free(w);
}

static void es_release(ward_backend_t *base, ward_event_t *ev)
{
	give_back(base, ev);
}

static void es_destroy(ward_backend_t *base)
{
	esb_t *b = base->priv;

	es_stop(base);
	if (b->threads) {
		pthread_join(b->timer, NULL);
		pthread_join(b->flusher, NULL);
	}
	if (b->open)
		es_delete_client(b->open);
	if (b->auth)
		es_delete_client(b->auth);
	if (b->notify)
		es_delete_client(b->notify);
	free_paths(b->open_paths);
	pthread_mutex_destroy(&b->mu);
	pthread_mutex_destroy(&b->sink_mu);
	pthread_cond_destroy(&b->cv);
	free(b);
}

/* Compiler rules exist (on) or no longer (off): modified files come with an fd. The
 * writer is named by the message itself (pid, executable's file key), which the engine
 * compares with the compiler it remembered (agent/engine/pipeline.c, notified). */
static bool es_watch_writes(ward_backend_t *base, bool on)
{
	esb_t *b = base->priv;

	atomic_store(&b->want_writes, on);
	return true;
}

/* Only for a message without the process's executable (ES always gives it; the
 * emulation cannot once the process is gone): a process that no longer exists wrote
 * before it exited, as fanotify's check accepts; a live one is not known to be the
 * compiler. */
static int es_proc_state(ward_backend_t *base, pid_t pid, uint64_t pidversion,
                         const ward_filekey_t *exe)
{
	(void)base;
	(void)pidversion;
	(void)exe;
	return kill(pid, 0) != 0 && errno == ESRCH ? WARD_PROC_GONE : WARD_PROC_OTHER;
}

static const struct ward_backend_ops es_ops = {
	.name = "endpointsecurity",
	.run = es_run,
	.stop = es_stop,
	.respond = es_respond,
	.cache_flush = es_cache_flush,
	.path = es_path,
	.proc_info = es_proc_info,
	.proc_fill = NULL,    /* ES messages carry the subject's credentials and image */
	.proc_state = es_proc_state,
	.watch_writes = es_watch_writes, /* NOTIFY_CLOSE(modified) always comes; this adds the fd */
	.watch_opens = es_watch_opens,
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
	/* ES's cache holds results, not inodes: nothing is pinned in memory. */
	atomic_store(&b->base.cache_evictable, true);
	b->inflight.next = b->inflight.prev = &b->inflight;
	pthread_mutex_init(&b->mu, NULL);
	pthread_mutex_init(&b->sink_mu, NULL);
	ward_cond_init_mono(&b->cv);
	*out = &b->base;
	return WARD_OK;
}

void ward_es_counts(const ward_backend_t *base, ward_es_counts_t *out)
{
	esb_t *b = base->priv;
	out->auth = atomic_load(&b->n.auth);
	out->opens = atomic_load(&b->n.opens);
	out->notify = atomic_load(&b->n.notify);
	out->modified = atomic_load(&b->n.modified);
	out->renamed = atomic_load(&b->n.renamed);
	out->unlinked = atomic_load(&b->n.unlinked);
	out->exited = atomic_load(&b->n.exited);
	out->unmounted = atomic_load(&b->n.unmounted);
	out->late_fallbacks = atomic_load(&b->n.late_fallbacks);
	out->mismatched = atomic_load(&b->n.mismatched);
	out->clear_throttled = atomic_load(&b->n.clear_throttled);
	out->stale = atomic_load(&b->n.stale);
	out->clears = atomic_load(&b->n.clears);
	out->ready = atomic_load(&b->ready);
}
