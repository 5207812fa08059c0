/*
 * EndpointSecurity emulation over fanotify (see es_emul.h for the contract it enforces).
 * Time: mach absolute time is CLOCK_MONOTONIC in ns here (timebase 1/1).
 */
#include "agent/backends/es_emul/es_emul.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_MUTED_PROCS 64
#define MAX_MUTED_PATHS 256
#define CACHE_SLOTS 4096
#define POISON ((void *)(uintptr_t)0x1) /* a field newer than the message version */

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static ward_es_emul_opts_t g_opts;
static char g_watch_buf[4096];
static bool g_configured;
static ward_es_emul_stats_t g_st;
static bool g_atexit;

typedef struct emsg emsg_t;

struct es_client_s {
	int fan, stopfd;
	pthread_t reader, watchdog;
	ward_es_handler_fn fn;
	void *ctx;
	pthread_mutex_t mu;
	bool subs[256];
	bool marked;
	struct { pid_t pid; uint32_t ver; } muted_procs[MAX_MUTED_PROCS];
	size_t nmuted_procs;
	struct { es_mute_path_type_t type; char path[PATH_MAX]; } muted_paths[MAX_MUTED_PATHS];
	size_t nmuted_paths;
	bool inverted[3];
	struct cslot { bool used; es_event_type_t type; uint64_t dev, ino; int64_t cs, cn;
	               uint64_t size; uint32_t flags; } cache[CACHE_SLOTS];
	uint64_t clear_window_ns;
	unsigned clear_count;
	atomic_bool stop;
	uint64_t seq;
	/* ES calls the handler on its own queue, not on the thread that reads the kernel:
	 * the reader keeps answering muted and cached events (the client's own opens among
	 * them) while a handler runs. */
	pthread_t deliverer;
	pthread_cond_t qcv;
	emsg_t *qhead, *qtail; /* cl->mu */
};

struct emsg {
	emsg_t *prev, *next; /* live list (g_mu) */
	emsg_t *qnext;       /* delivery queue (cl->mu) */
	atomic_int refs;
	es_client_t *cl;
	int fd;
	bool auth;
	bool responded; /* g_mu */
	bool cached_ok; /* the file key below is valid */
	uint64_t deadline_ns;
	uint64_t dev, ino, size;
	int64_t cs, cn;
	es_process_t proc, target;
	es_file_t proc_exe, file;
	es_thread_t thread;
	char proc_path[PATH_MAX], file_path[PATH_MAX];
	es_message_t msg; /* last: opaque[] */
};

static emsg_t g_live = { .prev = &g_live, .next = &g_live };

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void leak_check_at_exit(void)
{
	if (g_opts.strict && g_st.leaked > 0) {
		fprintf(stderr, "es_emul: %llu retained message(s) were never released\n",
		        (unsigned long long)g_st.leaked);
		_exit(WARD_ES_EMUL_LEAK_EXIT);
	}
}

void ward_es_emul_configure(const ward_es_emul_opts_t *o)
{
	pthread_mutex_lock(&g_mu);
	g_opts = *o;
	if (g_opts.version == 0)
		g_opts.version = 6;
	if (g_opts.deadline_ns == 0)
		g_opts.deadline_ns = 60ull * 1000000000ull;
	if (g_opts.clear_cache_per_s == 0)
		g_opts.clear_cache_per_s = 20;
	g_configured = true;
	if (!g_atexit) {
		atexit(leak_check_at_exit);
		g_atexit = true;
	}
	pthread_mutex_unlock(&g_mu);
}

static void configure_from_env(void)
{
	ward_es_emul_opts_t o = {0};
	const char *w = getenv("WARD_ES_EMUL_WATCH"), *v = getenv("WARD_ES_EMUL_VERSION"),
	           *d = getenv("WARD_ES_EMUL_DEADLINE_MS"), *s = getenv("WARD_ES_EMUL_STRICT");
	size_t n = 0;

	if (w != NULL && strlen(w) < sizeof(g_watch_buf)) {
		char *save = NULL, *tok;
		strcpy(g_watch_buf, w);
		for (tok = strtok_r(g_watch_buf, ":", &save); tok && n < WARD_ES_EMUL_MAX_WATCH;
		     tok = strtok_r(NULL, ":", &save))
			o.watch[n++] = tok;
	}
	o.version = v ? (uint32_t)strtoul(v, NULL, 10) : 0;
	o.deadline_ns = d ? strtoull(d, NULL, 10) * 1000000ull : 0;
	o.strict = s && strcmp(s, "1") == 0;
	ward_es_emul_configure(&o);
}

void ward_es_emul_stats(ward_es_emul_stats_t *out)
{
	pthread_mutex_lock(&g_mu);
	*out = g_st;
	pthread_mutex_unlock(&g_mu);
}

/* ------------------------------------------------------------ process facts (/proc) */
static void fill_stat(ward_darwin_stat_t *d, const struct stat *st)
{
	memset(d, 0, sizeof(*d));
	d->st_dev = (int32_t)st->st_dev;
	d->st_mode = (uint16_t)st->st_mode;
	d->st_nlink = (uint16_t)st->st_nlink;
	d->st_ino = st->st_ino;
	d->st_uid = st->st_uid;
	d->st_gid = st->st_gid;
	d->st_rdev = (int32_t)st->st_rdev;
	d->st_atimespec = st->st_atim;
	d->st_mtimespec = st->st_mtim;
	d->st_ctimespec = st->st_ctim;
	d->st_size = st->st_size;
	d->st_blocks = st->st_blocks;
	d->st_blksize = (int32_t)st->st_blksize;
}

static void fill_file(es_file_t *f, char *buf, const char *path, const struct stat *st)
{
	memset(f, 0, sizeof(*f));
	snprintf(buf, PATH_MAX, "%s", path);
	f->path.data = buf;
	f->path.length = strlen(buf);
	if (st)
		fill_stat(&f->stat, st);
}

static void fill_proc(es_process_t *p, es_file_t *exe, char *exe_path, pid_t pid,
                      uint32_t version)
{
	char path[64], line[512], link[PATH_MAX];
	unsigned long long start = 0;
	unsigned r[4] = {0}, g[4] = {0};
	int ppid = 0;
	struct stat st;
	ssize_t n;
	FILE *f;

	memset(p, 0, sizeof(*p));
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "re")) != NULL) {
		while (fgets(line, sizeof(line), f)) {
			if (!strncmp(line, "Uid:", 4))
				sscanf(line + 4, "%u %u %u %u", &r[0], &r[1], &r[2], &r[3]);
			else if (!strncmp(line, "Gid:", 4))
				sscanf(line + 4, "%u %u %u %u", &g[0], &g[1], &g[2], &g[3]);
		}
		fclose(f);
	}
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "re")) != NULL) {
		if (fgets(line, sizeof(line), f)) {
			char *q = strrchr(line, ')');
			/* fields after comm: state(3) ppid(4) ... starttime(22) */
			if (q && sscanf(q + 2, "%*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d "
			                "%*d %*d %*d %*d %*d %llu", &ppid, &start) != 2)
				start = 0;
		}
		fclose(f);
	}
	p->audit_token.val[WARD_AT_AUID] = r[0];
	p->audit_token.val[WARD_AT_EUID] = r[1];
	p->audit_token.val[WARD_AT_EGID] = g[1];
	p->audit_token.val[WARD_AT_RUID] = r[0];
	p->audit_token.val[WARD_AT_RGID] = g[0];
	p->audit_token.val[WARD_AT_PID] = (unsigned)pid;
	p->audit_token.val[WARD_AT_PIDVERSION] = (unsigned)start;
	p->ppid = ppid;
	p->original_ppid = ppid;
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	n = readlink(path, link, sizeof(link) - 1);
	link[n > 0 ? n : 0] = '\0';
	fill_file(exe, exe_path, link, n > 0 && stat(link, &st) == 0 ? &st : NULL);
	p->executable = exe;
	p->tty = version >= 2 ? NULL : POISON;
	if (version >= 4) {
		p->responsible_audit_token = p->audit_token;
		p->parent_audit_token.val[WARD_AT_PID] = (unsigned)ppid;
	}
}

/* ------------------------------------------------------------ muting and cache */
static bool path_matches(es_mute_path_type_t t, const char *pat, const char *path)
{
	switch (t) {
	case ES_MUTE_PATH_TYPE_PREFIX:
	case ES_MUTE_PATH_TYPE_TARGET_PREFIX:
		return strncmp(path, pat, strlen(pat)) == 0;
	default:
		return strcmp(path, pat) == 0;
	}
}

/* Called with cl->mu held. true: do not deliver. */
static bool is_muted(es_client_t *cl, const emsg_t *m)
{
	pid_t pid = (pid_t)m->proc.audit_token.val[WARD_AT_PID];
	uint32_t ver = m->proc.audit_token.val[WARD_AT_PIDVERSION];
	bool target_hit = false;

	for (size_t i = 0; i < cl->nmuted_procs; i++)
		if (cl->muted_procs[i].pid == pid && cl->muted_procs[i].ver == ver)
			return true;
	for (size_t i = 0; i < cl->nmuted_paths; i++) {
		es_mute_path_type_t t = cl->muted_paths[i].type;
		if (t == ES_MUTE_PATH_TYPE_PREFIX || t == ES_MUTE_PATH_TYPE_LITERAL) {
			if (path_matches(t, cl->muted_paths[i].path, m->proc_path))
				return true;
		} else if (path_matches(t, cl->muted_paths[i].path, m->file_path)) {
			target_hit = true;
		}
	}
	/* inverted target muting: only targets in the list are delivered */
	return cl->inverted[ES_MUTE_INVERSION_TYPE_TARGET_PATH] ? !target_hit : target_hit;
}

static struct cslot *cache_slot(es_client_t *cl, const emsg_t *m)
{
	uint64_t h = (m->ino * 0x9e3779b97f4a7c15ull) ^ m->dev ^ (uint64_t)m->msg.event_type;
	return &cl->cache[h % CACHE_SLOTS];
}

static bool cache_lookup(es_client_t *cl, const emsg_t *m, uint32_t *flags)
{
	struct cslot *s = cache_slot(cl, m);
	if (!m->cached_ok || !s->used || s->type != m->msg.event_type || s->dev != m->dev ||
	    s->ino != m->ino || s->cs != m->cs || s->cn != m->cn || s->size != m->size)
		return false; /* a modified file has a new ctime: a miss, delivered again */
	*flags = s->flags;
	return true;
}

/* ------------------------------------------------------------ message life */
static void msg_free(emsg_t *m)
{
	pthread_mutex_lock(&g_mu);
	m->prev->next = m->next;
	m->next->prev = m->prev;
	g_st.live--;
	pthread_mutex_unlock(&g_mu);
	if (m->fd >= 0)
		close(m->fd);
	free(m);
}

static emsg_t *from_msg(const es_message_t *msg)
{
	return (emsg_t *)(void *)((char *)msg - offsetof(emsg_t, msg));
}

/* Is m a live message? Called with g_mu held. */
static bool is_live(const emsg_t *m)
{
	for (emsg_t *p = g_live.next; p != &g_live; p = p->next)
		if (p == m)
			return true;
	return false;
}

void es_retain_message(const es_message_t *msg)
{
	emsg_t *m = from_msg(msg);
	pthread_mutex_lock(&g_mu);
	if (!is_live(m)) {
		fprintf(stderr, "es_emul: es_retain_message on a message that is not alive\n");
		abort();
	}
	pthread_mutex_unlock(&g_mu);
	atomic_fetch_add(&m->refs, 1);
}

void es_release_message(const es_message_t *msg)
{
	emsg_t *m = from_msg(msg);
	pthread_mutex_lock(&g_mu);
	if (!is_live(m)) {
		fprintf(stderr, "es_emul: es_release_message on a message that is not alive\n");
		abort();
	}
	pthread_mutex_unlock(&g_mu);
	if (atomic_fetch_sub(&m->refs, 1) == 1)
		msg_free(m);
}

static void kernel_answer(int fan, int fd, bool allow)
{
	struct fanotify_response r = { .fd = fd, .response = allow ? FAN_ALLOW : FAN_DENY };
	ssize_t n;
	do
		n = write(fan, &r, sizeof(r));
	while (n < 0 && errno == EINTR);
}

static es_respond_result_t respond(es_client_t *cl, const es_message_t *msg, bool flags_kind,
                                   bool allow, uint32_t flags, bool cache)
{
	emsg_t *m = from_msg(msg);

	pthread_mutex_lock(&g_mu);
	if (!is_live(m)) {
		pthread_mutex_unlock(&g_mu);
		/* ES: the message memory is gone; responding to it is a use after free. */
		fprintf(stderr, "es_emul: response to a message that was released\n");
		abort();
	}
	if (m->cl != cl || !m->auth) {
		pthread_mutex_unlock(&g_mu);
		return ES_RESPOND_RESULT_ERR_INVALID_ARGUMENT;
	}
	if ((msg->event_type == ES_EVENT_TYPE_AUTH_OPEN) != flags_kind) {
		pthread_mutex_unlock(&g_mu);
		return ES_RESPOND_RESULT_ERR_EVENT_TYPE;
	}
	if (m->responded) {
		g_st.duplicates++;
		pthread_mutex_unlock(&g_mu);
		return ES_RESPOND_RESULT_ERR_DUPLICATE_RESPONSE;
	}
	m->responded = true;
	pthread_mutex_unlock(&g_mu);

	if (flags_kind) /* every flag the open asked for must be authorized */
		allow = ((uint32_t)msg->event.open.fflag & ~flags) == 0;
	/* Cached before the kernel hears the answer: the next event for the file (which the
	 * answer lets happen) must find it, as with ES. */
	if (cache && m->cached_ok) {
		pthread_mutex_lock(&cl->mu);
		struct cslot *s = cache_slot(cl, m);
		*s = (struct cslot){ true, msg->event_type, m->dev, m->ino, m->cs, m->cn, m->size,
		                     flags_kind ? flags : (allow ? UINT32_MAX : 0) };
		pthread_mutex_unlock(&cl->mu);
	}
	kernel_answer(cl->fan, m->fd, allow);
	close(m->fd);
	m->fd = -1;
	return ES_RESPOND_RESULT_SUCCESS;
}

es_respond_result_t es_respond_auth_result(es_client_t *client, const es_message_t *msg,
                                           es_auth_result_t result, bool cache)
{
	return respond(client, msg, false, result == ES_AUTH_RESULT_ALLOW,
	               result == ES_AUTH_RESULT_ALLOW ? UINT32_MAX : 0, cache);
}

es_respond_result_t es_respond_flags_result(es_client_t *client, const es_message_t *msg,
                                            uint32_t authorized_flags, bool cache)
{
	return respond(client, msg, true, authorized_flags != 0, authorized_flags, cache);
}

/* ------------------------------------------------------------ delivery */
static emsg_t *build(es_client_t *cl, const struct fanotify_event_metadata *md,
                     es_event_type_t type)
{
	uint32_t v = g_opts.version;
	char link[64], path[PATH_MAX];
	struct stat st;
	ssize_t n;
	emsg_t *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return NULL;
	m->fd = md->fd;
	m->auth = type == ES_EVENT_TYPE_AUTH_EXEC || type == ES_EVENT_TYPE_AUTH_OPEN;
	atomic_init(&m->refs, 1);
	m->cl = cl;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", md->fd);
	n = readlink(link, path, sizeof(path) - 1);
	path[n > 0 ? n : 0] = '\0';
	if (fstat(md->fd, &st) == 0) {
		fill_file(&m->file, m->file_path, path, &st);
		m->cached_ok = true;
		m->dev = (uint32_t)(int32_t)st.st_dev;
		m->ino = st.st_ino;
		m->cs = st.st_ctim.tv_sec;
		m->cn = st.st_ctim.tv_nsec;
		m->size = (uint64_t)st.st_size;
	} else {
		fill_file(&m->file, m->file_path, path, NULL);
	}
	fill_proc(&m->proc, &m->proc_exe, m->proc_path, md->pid, v);

	es_message_t *msg = &m->msg;
	uint64_t now = mono_ns();
	msg->version = v;
	clock_gettime(CLOCK_REALTIME, &msg->time);
	msg->mach_time = now;
	msg->deadline = m->auth ? now + g_opts.deadline_ns : 0;
	m->deadline_ns = msg->deadline;
	msg->process = &m->proc;
	msg->seq_num = v >= 2 ? ++cl->seq : 0;
	msg->action_type = m->auth ? ES_ACTION_TYPE_AUTH : ES_ACTION_TYPE_NOTIFY;
	msg->event_type = type;
	msg->thread = v >= 4 ? &m->thread : POISON;
	msg->global_seq_num = v >= 4 ? cl->seq : 0;
	m->thread.thread_id = (uint64_t)md->pid;

	switch (type) {
	case ES_EVENT_TYPE_AUTH_EXEC:
	case ES_EVENT_TYPE_NOTIFY_EXEC:
		/* the new image: same process, its executable is the file being exec'd */
		m->target = m->proc;
		m->target.executable = &m->file;
		m->target.tty = m->proc.tty;
		msg->event.exec.target = &m->target;
		msg->event.exec.script = v >= 2 ? NULL : POISON;
		msg->event.exec.cwd = v >= 3 ? NULL : POISON;
		msg->event.exec.last_fd = v >= 4 ? 2 : 0;
		break;
	case ES_EVENT_TYPE_AUTH_OPEN:
		msg->event.open.fflag = WARD_DARWIN_FREAD; /* fanotify does not tell the mode */
		msg->event.open.file = &m->file;
		break;
	case ES_EVENT_TYPE_NOTIFY_CLOSE:
		msg->event.close.modified = true;
		msg->event.close.target = &m->file;
		break;
	default:
		break;
	}
	pthread_mutex_lock(&g_mu);
	m->next = &g_live;
	m->prev = g_live.prev;
	g_live.prev->next = m;
	g_live.prev = m;
	g_st.live++;
	pthread_mutex_unlock(&g_mu);
	return m;
}

static void deliver(es_client_t *cl, const struct fanotify_event_metadata *md)
{
	es_event_type_t type;
	bool perm = md->mask & (FAN_OPEN_EXEC_PERM | FAN_OPEN_PERM);
	uint32_t flags;

	if (md->mask & FAN_OPEN_EXEC_PERM)
		type = ES_EVENT_TYPE_AUTH_EXEC; /* an exec's open is not also an AUTH_OPEN (ES) */
	else if (md->mask & FAN_OPEN_PERM)
		type = ES_EVENT_TYPE_AUTH_OPEN;
	else if (md->mask & FAN_CLOSE_WRITE)
		type = ES_EVENT_TYPE_NOTIFY_CLOSE;
	else if (md->mask & FAN_OPEN_EXEC)
		type = ES_EVENT_TYPE_NOTIFY_EXEC;
	else {
		close(md->fd);
		return;
	}
	pthread_mutex_lock(&cl->mu);
	bool sub = cl->subs[type];
	pthread_mutex_unlock(&cl->mu);
	if (!sub) {
		if (perm)
			kernel_answer(cl->fan, md->fd, true);
		close(md->fd);
		return;
	}
	emsg_t *m = build(cl, md, type);
	if (m == NULL) {
		if (perm)
			kernel_answer(cl->fan, md->fd, true);
		close(md->fd);
		return;
	}
	pthread_mutex_lock(&cl->mu);
	bool muted = is_muted(cl, m), hit = !muted && m->auth && cache_lookup(cl, m, &flags);
	pthread_mutex_unlock(&cl->mu);
	if (muted || hit) {
		/* ES answers muted AUTH events and cache hits itself: allow, or the cached result */
		bool allow = true;
		if (hit)
			allow = type == ES_EVENT_TYPE_AUTH_OPEN
			            ? ((uint32_t)m->msg.event.open.fflag & ~flags) == 0
			            : flags != 0;
		if (perm)
			kernel_answer(cl->fan, m->fd, allow);
		pthread_mutex_lock(&g_mu);
		m->responded = true;
		if (muted)
			g_st.muted++;
		else
			g_st.cache_hits++;
		pthread_mutex_unlock(&g_mu);
		es_release_message(&m->msg);
		return;
	}
	pthread_mutex_lock(&cl->mu);
	m->qnext = NULL;
	if (cl->qtail)
		cl->qtail->qnext = m;
	else
		cl->qhead = m;
	cl->qtail = m;
	pthread_cond_signal(&cl->qcv);
	pthread_mutex_unlock(&cl->mu);
}

static void *deliverer_main(void *arg)
{
	es_client_t *cl = arg;

	pthread_mutex_lock(&cl->mu);
	for (;;) {
		while (cl->qhead == NULL && !atomic_load(&cl->stop))
			pthread_cond_wait(&cl->qcv, &cl->mu);
		if (cl->qhead == NULL)
			break;
		emsg_t *m = cl->qhead;
		cl->qhead = m->qnext;
		if (cl->qhead == NULL)
			cl->qtail = NULL;
		pthread_mutex_unlock(&cl->mu);
		pthread_mutex_lock(&g_mu);
		g_st.delivered++;
		pthread_mutex_unlock(&g_mu);
		cl->fn(cl->ctx, cl, &m->msg);
		es_release_message(&m->msg); /* ES's own reference: the handler retained if it kept it */
		pthread_mutex_lock(&cl->mu);
	}
	pthread_mutex_unlock(&cl->mu);
	return NULL;
}

static void *reader_main(void *arg)
{
	es_client_t *cl = arg;
	static _Thread_local char buf[8192]
		__attribute__((aligned(__alignof__(struct fanotify_event_metadata))));
	struct pollfd pfd[2] = { { .fd = cl->fan, .events = POLLIN },
	                         { .fd = cl->stopfd, .events = POLLIN } };

	while (!atomic_load(&cl->stop)) {
		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			break;
		if (pfd[1].revents)
			break;
		ssize_t n = read(cl->fan, buf, sizeof(buf));
		if (n <= 0)
			continue;
		const struct fanotify_event_metadata *md = (const void *)buf;
		for (; FAN_EVENT_OK(md, n); md = FAN_EVENT_NEXT(md, n)) {
			if (md->fd < 0)
				continue;
			if (md->pid == getpid() && !(md->mask & (FAN_OPEN_EXEC_PERM | FAN_OPEN_PERM))) {
				close(md->fd);
				continue;
			}
			deliver(cl, md);
		}
	}
	return NULL;
}

/* ES kills a client that lets an AUTH deadline pass; the kernel then lets the operation
 * proceed (here: the fanotify group is released with the process). */
static void *watchdog_main(void *arg)
{
	es_client_t *cl = arg;

	while (!atomic_load(&cl->stop)) {
		uint64_t now = mono_ns();
		pthread_mutex_lock(&g_mu);
		for (emsg_t *m = g_live.next; m != &g_live; m = m->next) {
			if (m->cl == cl && m->auth && !m->responded && now > m->deadline_ns) {
				fprintf(stderr, "es_emul: client missed the deadline of AUTH message %llu "
				        "(event type %u): killed, as EndpointSecurity does\n",
				        (unsigned long long)m->msg.seq_num, (unsigned)m->msg.event_type);
				fflush(stderr);
				kill(getpid(), SIGKILL);
			}
		}
		pthread_mutex_unlock(&g_mu);
		struct timespec ts = { 0, 5 * 1000000 };
		nanosleep(&ts, NULL);
	}
	return NULL;
}

/* ------------------------------------------------------------ client */
es_new_client_result_t ward_es_new_client(es_client_t **out, ward_es_handler_fn fn, void *ctx)
{
	es_client_t *cl;

	*out = NULL;
	pthread_mutex_lock(&g_mu);
	bool conf = g_configured;
	pthread_mutex_unlock(&g_mu);
	if (!conf)
		configure_from_env();
	if (fn == NULL || g_opts.watch[0] == NULL)
		return ES_NEW_CLIENT_RESULT_ERR_INVALID_ARGUMENT;
	if (geteuid() != 0)
		return ES_NEW_CLIENT_RESULT_ERR_NOT_PRIVILEGED;
	if ((cl = calloc(1, sizeof(*cl))) == NULL)
		return ES_NEW_CLIENT_RESULT_ERR_INTERNAL;
	cl->fn = fn;
	cl->ctx = ctx;
	pthread_mutex_init(&cl->mu, NULL);
	pthread_cond_init(&cl->qcv, NULL);
	cl->fan = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC | FAN_UNLIMITED_QUEUE,
	                        O_RDONLY | O_CLOEXEC | O_LARGEFILE);
	cl->stopfd = eventfd(0, EFD_CLOEXEC);
	if (cl->fan < 0 || cl->stopfd < 0) {
		if (cl->fan >= 0)
			close(cl->fan);
		if (cl->stopfd >= 0)
			close(cl->stopfd);
		free(cl);
		return ES_NEW_CLIENT_RESULT_ERR_NOT_PERMITTED;
	}
	if (pthread_create(&cl->reader, NULL, reader_main, cl) != 0) {
		close(cl->fan);
		close(cl->stopfd);
		free(cl);
		return ES_NEW_CLIENT_RESULT_ERR_INTERNAL;
	}
	pthread_create(&cl->watchdog, NULL, watchdog_main, cl);
	pthread_create(&cl->deliverer, NULL, deliverer_main, cl);
	*out = cl;
	return ES_NEW_CLIENT_RESULT_SUCCESS;
}

static uint64_t mask_of(es_client_t *cl)
{
	uint64_t mask = 0;
	if (cl->subs[ES_EVENT_TYPE_AUTH_EXEC])
		mask |= FAN_OPEN_EXEC_PERM;
	if (cl->subs[ES_EVENT_TYPE_AUTH_OPEN])
		mask |= FAN_OPEN_PERM;
	if (cl->subs[ES_EVENT_TYPE_NOTIFY_CLOSE])
		mask |= FAN_CLOSE_WRITE;
	if (cl->subs[ES_EVENT_TYPE_NOTIFY_EXEC])
		mask |= FAN_OPEN_EXEC;
	return mask;
}

static es_return_t remark(es_client_t *cl)
{
	uint64_t mask = mask_of(cl);
	for (size_t i = 0; g_opts.watch[i]; i++) {
		if (cl->marked)
			(void)fanotify_mark(cl->fan, FAN_MARK_FLUSH | FAN_MARK_MOUNT, 0, AT_FDCWD, NULL);
		if (mask && fanotify_mark(cl->fan, FAN_MARK_ADD | FAN_MARK_MOUNT, mask, AT_FDCWD,
		                          g_opts.watch[i]) != 0)
			return ES_RETURN_ERROR;
	}
	cl->marked = mask != 0;
	return ES_RETURN_SUCCESS;
}

es_return_t es_subscribe(es_client_t *cl, const es_event_type_t *events, uint32_t count)
{
	pthread_mutex_lock(&cl->mu);
	for (uint32_t i = 0; i < count; i++) {
		if (events[i] >= 256) {
			pthread_mutex_unlock(&cl->mu);
			return ES_RETURN_ERROR;
		}
		cl->subs[events[i]] = true;
	}
	es_return_t r = remark(cl);
	pthread_mutex_unlock(&cl->mu);
	return r;
}

es_return_t es_unsubscribe_all(es_client_t *cl)
{
	pthread_mutex_lock(&cl->mu);
	memset(cl->subs, 0, sizeof(cl->subs));
	es_return_t r = remark(cl);
	pthread_mutex_unlock(&cl->mu);
	return r;
}

es_return_t es_delete_client(es_client_t *cl)
{
	uint64_t one = 1;

	if (cl == NULL)
		return ES_RETURN_ERROR;
	atomic_store(&cl->stop, true);
	(void)write(cl->stopfd, &one, sizeof(one));
	pthread_join(cl->reader, NULL);
	pthread_mutex_lock(&cl->mu);
	pthread_cond_broadcast(&cl->qcv);
	pthread_mutex_unlock(&cl->mu);
	pthread_join(cl->deliverer, NULL); /* it delivers what was queued, then stops */
	pthread_join(cl->watchdog, NULL);
	close(cl->fan); /* the kernel allows whatever is still pending */
	close(cl->stopfd);
	pthread_mutex_lock(&g_mu);
	for (emsg_t *m = g_live.next; m != &g_live; m = m->next)
		if (m->cl == cl) {
			g_st.leaked++;
			m->cl = NULL;
		}
	pthread_mutex_unlock(&g_mu);
	pthread_mutex_destroy(&cl->mu);
	pthread_cond_destroy(&cl->qcv);
	free(cl);
	return ES_RETURN_SUCCESS;
}

es_return_t es_mute_process(es_client_t *cl, const audit_token_t *tok)
{
	es_return_t r = ES_RETURN_ERROR;
	pthread_mutex_lock(&cl->mu);
	if (cl->nmuted_procs < MAX_MUTED_PROCS) {
		cl->muted_procs[cl->nmuted_procs].pid = (pid_t)tok->val[WARD_AT_PID];
		cl->muted_procs[cl->nmuted_procs].ver = tok->val[WARD_AT_PIDVERSION];
		cl->nmuted_procs++;
		r = ES_RETURN_SUCCESS;
	}
	pthread_mutex_unlock(&cl->mu);
	return r;
}

es_return_t es_mute_path(es_client_t *cl, const char *path, es_mute_path_type_t type)
{
	es_return_t r = ES_RETURN_ERROR;
	if (path == NULL || strlen(path) >= PATH_MAX || type > ES_MUTE_PATH_TYPE_TARGET_LITERAL)
		return r;
	pthread_mutex_lock(&cl->mu);
	if (cl->nmuted_paths < MAX_MUTED_PATHS) {
		cl->muted_paths[cl->nmuted_paths].type = type;
		strcpy(cl->muted_paths[cl->nmuted_paths].path, path);
		cl->nmuted_paths++;
		r = ES_RETURN_SUCCESS;
	}
	pthread_mutex_unlock(&cl->mu);
	return r;
}

static es_return_t unmute_where(es_client_t *cl, bool target)
{
	size_t j = 0;
	pthread_mutex_lock(&cl->mu);
	for (size_t i = 0; i < cl->nmuted_paths; i++) {
		bool t = cl->muted_paths[i].type >= ES_MUTE_PATH_TYPE_TARGET_PREFIX;
		if (t != target)
			cl->muted_paths[j++] = cl->muted_paths[i];
	}
	cl->nmuted_paths = j;
	pthread_mutex_unlock(&cl->mu);
	return ES_RETURN_SUCCESS;
}

es_return_t es_unmute_all_paths(es_client_t *cl)
{
	return unmute_where(cl, false);
}

es_return_t es_unmute_all_target_paths(es_client_t *cl)
{
	return unmute_where(cl, true);
}

es_return_t es_invert_muting(es_client_t *cl, es_mute_inversion_type_t t)
{
	if (t > ES_MUTE_INVERSION_TYPE_TARGET_PATH)
		return ES_RETURN_ERROR;
	pthread_mutex_lock(&cl->mu);
	cl->inverted[t] = !cl->inverted[t];
	pthread_mutex_unlock(&cl->mu);
	return ES_RETURN_SUCCESS;
}

es_clear_cache_result_t es_clear_cache(es_client_t *cl)
{
	uint64_t now = mono_ns();
	es_clear_cache_result_t r = ES_CLEAR_CACHE_RESULT_SUCCESS;

	pthread_mutex_lock(&cl->mu);
	if (now - cl->clear_window_ns > 1000000000ull) {
		cl->clear_window_ns = now;
		cl->clear_count = 0;
	}
	if (++cl->clear_count > g_opts.clear_cache_per_s)
		r = ES_CLEAR_CACHE_RESULT_ERR_THROTTLE; /* ES throttles frequent clears */
	else
		memset(cl->cache, 0, sizeof(cl->cache));
	pthread_mutex_unlock(&cl->mu);
	return r;
}

bool ward_es_self_token(audit_token_t *out)
{
	es_process_t p;
	es_file_t exe;
	char path[PATH_MAX];

	fill_proc(&p, &exe, path, getpid(), 7);
	*out = p.audit_token;
	return out->val[WARD_AT_PIDVERSION] != 0;
}

void ward_es_clock_now(uint32_t *numer, uint32_t *denom, uint64_t *mach, uint64_t *mono)
{
	*numer = *denom = 1;
	*mach = *mono = mono_ns();
}
