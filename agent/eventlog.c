/*
 * The event log writer: a subscriber of the engine. Producers (reader, workers, keeper,
 * after their answer) copy a fixed-size record into a ring under a mutex; the writer
 * thread takes it out, formats a JSON line with jansson and write(2)s it with O_APPEND.
 */
#include "agent/eventlog.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "agent/denials.h"
#include "common/hex.h"

struct ward_evlog {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	char path[PATH_MAX];
	int fd;
	ward_evrec_t *ring;
	unsigned cap, head, count;
	bool stop, reopen, started;
	uint64_t written, dropped, errors;
	int last_errno;             /* of the last failed write or reopen */
	int64_t last_error_at;      /* unix seconds; 0: never */
	char *lines[WARD_EVLOG_LINES]; /* preformatted lines (ward_evlog_submit_json) */
	unsigned lhead, lcount;
	ward_evlog_hook_fn hook;    /* sees each record before it is written (agent/exceptions.c) */
	void *hook_arg;
};

static json_t *str_or_null(const char *s)
{
	return s && s[0] ? json_string(s) : json_null();
}

/* Paths and argv are bytes, JSON strings are UTF-8: invalid text becomes "hex:<hex>". */
static json_t *json_bytes(const char *s, size_t n)
{
	json_t *j = json_stringn(s, n);
	char *h;

	if (j != NULL)
		return j;
	if ((h = malloc(2 * n + 5)) == NULL)
		return json_null();
	memcpy(h, "hex:", 4);
	ward_hex_encode((const uint8_t *)s, n, h + 4);
	j = json_string(h);
	free(h);
	return j ? j : json_null();
}

char *ward_evlog_format(const ward_evrec_t *r)
{
	const ward_procinfo_t *pi = &r->pinfo;
	char ts[64], hex[2 * WARD_SHA256_LEN + 1], detail[WARD_ERRMSG_MAX + 64 + WARD_SCAN_REASON_MAX];
	struct tm tm;
	json_t *o = json_object();
	char *line;

	if (o == NULL)
		return NULL;
	gmtime_r(&r->when.tv_sec, &tm);
	snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
	         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	         r->when.tv_nsec / 1000000);
	json_object_set_new(o, "time", json_string(ts));
	json_object_set_new(o, "kind", json_string(ward_event_kind_name(r->kind)));
	json_object_set_new(o, "decision", json_string(ward_decision_name(r->v.decision)));
	json_object_set_new(o, "reason", json_string(ward_reason_name(r->v.reason)));
	json_object_set_new(o, "cached", json_boolean(r->v.cached));
	json_object_set_new(o, "mode", json_string(ward_mode_name(r->mode)));
	if (r->v.has_rule) {
		json_t *rule = json_object();
		json_object_set_new(rule, "type", json_string(ward_rule_type_name(r->v.rule_type)));
		json_object_set_new(rule, "policy", json_string(ward_policy_name(r->v.rule_policy)));
		json_object_set_new(rule, "id", json_integer(r->v.rule_id));
		if (r->rule_identifier[0])
			json_object_set_new(rule, "identifier", json_string(r->rule_identifier));
		json_object_set_new(o, "rule", rule);
	} else {
		json_object_set_new(o, "rule", json_null());
	}
	if (r->v.silent)
		json_object_set_new(o, "silent", json_true());
	if (r->v.scan_pending)
		json_object_set_new(o, "scan_pending", json_true());
	json_object_set_new(o, "path", r->path[0] ? json_bytes(r->path, strnlen(r->path, sizeof(r->path)))
	                                          : json_null());
	if (r->v.has_sha256) {
		ward_hex_encode(r->v.sha256, WARD_SHA256_LEN, hex);
		json_object_set_new(o, "sha256", json_string(hex));
	} else {
		json_object_set_new(o, "sha256", json_null());
	}
	if (r->v.has_cdhash) {
		ward_hex_encode(r->v.cdhash, WARD_CDHASH_LEN, hex);
		json_object_set_new(o, "cdhash", json_string(hex));
	} else {
		json_object_set_new(o, "cdhash", json_null());
	}
	json_object_set_new(o, "team_id", str_or_null(r->team_id));
	json_object_set_new(o, "signing_id", str_or_null(r->signing_id));
	/* A universal binary: which slice the identity above is of, out of how many (the
	 * most restrictive slice's result decided, docs/rules.md). */
	if (r->arch[0])
		json_object_set_new(o, "arch", json_string(r->arch));
	if (r->nslices > 1)
		json_object_set_new(o, "slices", json_integer(r->nslices));
	json_object_set_new(o, "pid", r->kind == WARD_EV_SCAN ? json_null() : json_integer(r->proc.pid));
	if (pi->ok) {
		json_t *argv = json_array();
		size_t i = 0;
		json_object_set_new(o, "ppid", json_integer(pi->ppid));
		json_object_set_new(o, "uid", json_integer(pi->uid));
		while (i < pi->argv_len) {
			const char *a = pi->argv + i;
			size_t n = strnlen(a, pi->argv_len - i);
			json_t *s = json_bytes(a, n);
			json_array_append_new(argv, s);
			i += n + 1;
		}
		/* Named for what it is: Linux reads it before the exec completes (the caller's).
		 * Not read at all by the event reader (it never waits on another process's lock). */
		if (pi->argv_not_read) {
			json_decref(argv);
			json_object_set_new(o, "argv", json_null());
			json_object_set_new(o, "argv_not_read", json_true());
		} else {
			json_object_set_new(o, pi->argv_is_caller ? "caller_argv" : "argv", argv);
		}
		if (pi->argv_truncated)
			json_object_set_new(o, "argv_truncated", json_true());
	} else {
		json_object_set_new(o, "ppid", json_null());
		json_object_set_new(o, "uid", json_null());
		json_object_set_new(o, "argv", json_null());
	}
	json_object_set_new(o, "latency_us", json_integer((json_int_t)r->latency_us));
	if (r->kind == WARD_EV_OPEN && r->access) {
		json_t *acc = json_array();
		if (r->access & WARD_ACC_READ)
			json_array_append_new(acc, json_string("read"));
		if (r->access & WARD_ACC_WRITE)
			json_array_append_new(acc, json_string("write"));
		json_object_set_new(o, "access", acc);
	}
	if (r->kind == WARD_EV_OPEN && r->v.reason == WARD_RSN_FILE_ACCESS) {
		/* Santa's names: the watch item (policy_name), its version, what was done */
		json_object_set_new(o, "watch_item", json_string(r->faa_item));
		json_object_set_new(o, "policy_version", json_string(r->faa_version));
		json_object_set_new(o, "file_access", json_string(r->v.decision == WARD_DENY ? "DENIED"
		                                                  : r->v.audit ? "AUDIT_ONLY" : "ALLOWED"));
		json_object_set_new(o, "opener", str_or_null(r->faa_opener));
		if (r->faa_has_opener_sha) {
			ward_hex_encode(r->faa_opener_sha, 32, hex);
			json_object_set_new(o, "opener_sha256", json_string(hex));
		}
	}
	ward_record_detail(r, detail, sizeof(detail));
	if (detail[0])
		json_object_set_new(o, "detail", json_string(detail));
	/* A denial an exception could lift says how to ask for one (docs/exceptions.md). */
	if (r->v.decision == WARD_DENY && !r->v.silent && ward_denial_requestable(r->v.reason)) {
		char hint[PATH_MAX * 4 + 64];
		if (ward_request_hint(r->path, hint, sizeof(hint)))
			json_object_set_new(o, "request_hint", str_or_null(hint));
	}
	line = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(o);
	return line;
}

static int open_log(const char *path)
{
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
}

static bool write_line(int fd, const char *line)
{
	size_t len = strlen(line), done = 0;
	char *buf = malloc(len + 1);

	if (buf == NULL)
		return false;
	memcpy(buf, line, len);
	buf[len++] = '\n';
	/* One write(2) per line, O_APPEND: lines never interleave with another writer. */
	while (done < len) {
		ssize_t n = write(fd, buf + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0)
			errno = ENOSPC;
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	free(buf);
	return done == len;
}

static void *writer_main(void *arg)
{
	ward_evlog_t *l = arg;
	ward_evrec_t *rec = malloc(sizeof(*rec));

	if (rec == NULL)
		return NULL;
	pthread_mutex_lock(&l->mu);
	for (;;) {
		while (l->count == 0 && l->lcount == 0 && !l->stop && !l->reopen)
			pthread_cond_wait(&l->cv, &l->mu);
		if (l->lcount > 0) {
			char *pre = l->lines[l->lhead];
			l->lhead = (l->lhead + 1) % WARD_EVLOG_LINES;
			l->lcount--;
			pthread_mutex_unlock(&l->mu);
			bool wok = write_line(l->fd, pre);
			int we = errno;
			free(pre);
			pthread_mutex_lock(&l->mu);
			if (wok) {
				l->written++;
			} else {
				l->errors++;
				l->last_errno = we;
				l->last_error_at = (int64_t)time(NULL);
			}
			continue;
		}
		if (l->reopen) {
			l->reopen = false;
			pthread_mutex_unlock(&l->mu);
			int fd = open_log(l->path);
			int e = errno;
			if (fd >= 0) {
				close(l->fd);
				l->fd = fd;
			}
			pthread_mutex_lock(&l->mu);
			if (fd < 0) {
				l->errors++;
				l->last_errno = e;
				l->last_error_at = (int64_t)time(NULL);
			}
			continue;
		}
		if (l->count == 0) {
			if (l->stop)
				break;
			continue;
		}
		*rec = l->ring[l->head];
		l->head = (l->head + 1) % l->cap;
		l->count--;
		ward_evlog_hook_fn hook = l->hook;
		void *hook_arg = l->hook_arg;
		pthread_mutex_unlock(&l->mu);
		if (hook != NULL)
			hook(hook_arg, rec);

		/* Outside the lock: producers never wait for jansson or the disk. Only this
		 * thread touches l->fd. */
		char *line = ward_evlog_format(rec);
		errno = ENOMEM;
		bool ok = line != NULL && write_line(l->fd, line);
		int e = errno;
		free(line);

		pthread_mutex_lock(&l->mu);
		if (ok) {
			l->written++;
		} else {
			l->errors++;
			l->last_errno = e;
			l->last_error_at = (int64_t)time(NULL);
		}
	}
	pthread_mutex_unlock(&l->mu);
	free(rec);
	return NULL;
}

ward_err_t ward_evlog_open(const char *path, unsigned ring, ward_evlog_t **out, ward_error_t *err)
{
	ward_evlog_t *l;

	*out = NULL;
	if (ring == 0 || ring > 65536)
		return ward_error_set(err, WARD_E_LIMIT, "event log: ring of %u records", ring);
	if (strlen(path) >= PATH_MAX)
		return ward_error_set(err, WARD_E_LIMIT, "event log: path too long");
	if ((l = calloc(1, sizeof(*l))) == NULL || (l->ring = calloc(ring, sizeof(*l->ring))) == NULL) {
		free(l);
		return ward_error_set(err, WARD_E_NOMEM, "event log: out of memory");
	}
	snprintf(l->path, sizeof(l->path), "%s", path);
	l->cap = ring;
	if ((l->fd = open_log(path)) < 0) {
		ward_error_set(err, WARD_E_IO, "event log %s: %s", path, strerror(errno));
		free(l->ring);
		free(l);
		return WARD_E_IO;
	}
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->cv, NULL);
	*out = l;
	return WARD_OK;
}

ward_err_t ward_evlog_start(ward_evlog_t *l, ward_error_t *err)
{
	if (l->started)
		return WARD_OK;
	if (pthread_create(&l->thread, NULL, writer_main, l) != 0)
		return ward_error_set(err, WARD_E_NOMEM, "event log: cannot start the writer thread");
	l->started = true;
	return WARD_OK;
}

bool ward_evlog_submit(ward_evlog_t *l, const ward_evrec_t *r)
{
	bool ok = false;

	if (l == NULL)
		return false;
	pthread_mutex_lock(&l->mu);
	if (l->count < l->cap && !l->stop) {
		l->ring[(l->head + l->count) % l->cap] = *r;
		l->count++;
		ok = true;
		pthread_cond_signal(&l->cv);
	} else {
		l->dropped++;
	}
	pthread_mutex_unlock(&l->mu);
	return ok;
}

bool ward_evlog_submit_json(ward_evlog_t *l, json_t *o)
{
	struct timespec ts;
	struct tm tm;
	char when[64], *line;
	bool ok = false;

	if (l == NULL || o == NULL)
		return false;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(when, sizeof(when), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
	         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
	json_object_set_new(o, "time", json_string(when));
	if ((line = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_SORT_KEYS)) == NULL)
		return false;
	pthread_mutex_lock(&l->mu);
	if (l->lcount < WARD_EVLOG_LINES && !l->stop) {
		l->lines[(l->lhead + l->lcount) % WARD_EVLOG_LINES] = line;
		l->lcount++;
		line = NULL;
		ok = true;
		pthread_cond_signal(&l->cv);
	} else {
		l->dropped++;
	}
	pthread_mutex_unlock(&l->mu);
	free(line);
	return ok;
}

void ward_evlog_set_hook(ward_evlog_t *l, ward_evlog_hook_fn fn, void *arg)
{
	if (l == NULL)
		return;
	pthread_mutex_lock(&l->mu);
	l->hook = fn;
	l->hook_arg = arg;
	pthread_mutex_unlock(&l->mu);
}

void ward_evlog_reopen(ward_evlog_t *l)
{
	if (l == NULL)
		return;
	pthread_mutex_lock(&l->mu);
	l->reopen = true;
	pthread_cond_signal(&l->cv);
	pthread_mutex_unlock(&l->mu);
}

void ward_evlog_stats(ward_evlog_t *l, uint64_t *written, uint64_t *dropped, uint64_t *errors)
{
	if (l == NULL) {
		*written = *dropped = *errors = 0;
		return;
	}
	pthread_mutex_lock(&l->mu);
	*written = l->written;
	*dropped = l->dropped;
	*errors = l->errors;
	pthread_mutex_unlock(&l->mu);
}

void ward_evlog_last_error(ward_evlog_t *l, int *err_no, int64_t *at)
{
	*err_no = 0;
	*at = 0;
	if (l == NULL)
		return;
	pthread_mutex_lock(&l->mu);
	*err_no = l->last_errno;
	*at = l->last_error_at;
	pthread_mutex_unlock(&l->mu);
}

void ward_evlog_close(ward_evlog_t *l)
{
	if (l == NULL)
		return;
	pthread_mutex_lock(&l->mu);
	l->stop = true;
	pthread_cond_signal(&l->cv);
	pthread_mutex_unlock(&l->mu);
	if (l->started)
		pthread_join(l->thread, NULL);
	close(l->fd);
	while (l->lcount > 0) {
		free(l->lines[l->lhead]);
		l->lhead = (l->lhead + 1) % WARD_EVLOG_LINES;
		l->lcount--;
	}
	pthread_cond_destroy(&l->cv);
	pthread_mutex_destroy(&l->mu);
	free(l->ring);
	free(l);
}
