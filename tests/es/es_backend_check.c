/*
 * agent/backends/es.c against the ES emulation, with a fake engine (the sink) that this
 * program drives, so ES's contract is checked where the backend owns it:
 *   es_backend_check timer DIR   the engine never answers: the backend's own timer
 *                                answers with the fallback (DENY here) a quarter into the
 *                                headroom, before ES would kill the client; the engine's
 *                                late answer is a no-op
 *   es_backend_check cache DIR   the cache bit goes with a plain ALLOW only: an allowed
 *                                file is answered by ES's cache next time, a denied one
 *                                reaches the engine again; a file modified before the
 *                                answer gets WARD_RESPOND_STALE (nothing written)
 *   es_backend_check open DIR    watch items: AUTH_OPEN only under them (inverted
 *                                target-path muting), answered with flags
 *   es_backend_check notify DIR  a write reaches the engine as WARD_EV_MODIFIED
 *   es_backend_check stop DIR    events given back unanswered are answered (fallback)
 * Run as root by tests/integration/es_emul_contract.sh (WARD_ES_EMUL_WATCH=DIR).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/backends/es/es_backend.h"
#include "agent/backends/es_emul/es_emul.h"

static ward_backend_t *g_b;
static const char *g_scn;
static atomic_int g_bad, g_events;
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cv = PTHREAD_COND_INITIALIZER;
static ward_event_t g_ev[16];
static int g_nev;
static atomic_int g_modified;

#define CHECK(c)                                                                            \
	do {                                                                                \
		if (!(c)) {                                                                 \
			fprintf(stderr, "es_backend_check %s: %s:%d: %s\n", g_scn, __FILE__, \
			        __LINE__, #c);                                              \
			atomic_fetch_add(&g_bad, 1);                                        \
		}                                                                           \
	} while (0)

static ward_decision_t deny_fallback(void *arg)
{
	(void)arg;
	return WARD_DENY;
}

/* The fake engine: keep the event for main to answer. */
static void sink(void *arg, ward_event_t *ev)
{
	(void)arg;
	if (!ward_event_is_perm(ev->kind)) {
		if (ev->kind == WARD_EV_MODIFIED && ev->key_ok && ev->path != NULL)
			atomic_fetch_add(&g_modified, 1);
		g_b->ops->release(g_b, ev);
		return;
	}
	atomic_fetch_add(&g_events, 1);
	pthread_mutex_lock(&g_mu);
	if (g_nev < 16)
		g_ev[g_nev++] = *ev;
	pthread_cond_broadcast(&g_cv);
	pthread_mutex_unlock(&g_mu);
}

static void *run_main(void *arg)
{
	ward_error_t err;
	(void)arg;
	if (g_b->ops->run(g_b, sink, NULL, &err) != WARD_OK) {
		fprintf(stderr, "run: %s\n", err.msg);
		exit(2);
	}
	return NULL;
}

static ward_event_t wait_event(int n)
{
	ward_event_t ev;
	pthread_mutex_lock(&g_mu);
	while (g_nev < n)
		pthread_cond_wait(&g_cv, &g_mu);
	ev = g_ev[n - 1];
	pthread_mutex_unlock(&g_mu);
	return ev;
}

static pid_t spawn(const char *path)
{
	pid_t pid = fork();
	if (pid == 0) {
		close_range(3, ~0u, 0); /* do not hold the emulation's fanotify group */
		execl(path, path, (char *)NULL);
		_exit(errno == EPERM ? 126 : 127);
	}
	return pid;
}

static int reap(pid_t pid)
{
	int st;
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int main(int argc, char **argv)
{
	char prog[600], cmd[4000];
	ward_es_opts_t o = { .fallback = deny_fallback };
	ward_error_t err;
	pthread_t t;

	if (argc != 3)
		return 2;
	g_scn = argv[1];
	snprintf(prog, sizeof(prog), "%s/p", argv[2]);
	snprintf(cmd, sizeof(cmd), "cp /usr/bin/true '%s'", prog);
	if (system(cmd) != 0)
		return 2;
	char watched[700];
	const char *prefixes[] = { watched, NULL };
	snprintf(watched, sizeof(watched), "%s/watched/", argv[2]);
	if (!strcmp(g_scn, "open")) {
		snprintf(cmd, sizeof(cmd), "mkdir -p '%s' && echo s > '%ssecret' && echo o > '%s/other'",
		         watched, watched, argv[2]);
		if (system(cmd) != 0)
			return 2;
		o.open_prefixes = prefixes;
	}
	if (ward_es_open(&o, &g_b, &err) != WARD_OK) {
		fprintf(stderr, "ward_es_open: %s\n", err.msg);
		return 2;
	}
	pthread_create(&t, NULL, run_main, NULL);
	for (;;) { /* the clients subscribe on the run thread: wait for it */
		ward_es_counts_t n;
		ward_es_counts(g_b, &n);
		if (n.ready)
			break;
		usleep(1000);
	}

	ward_answer_t allow = { .decision = WARD_ALLOW }, allow_cache = { .decision = WARD_ALLOW, .cache = true };
	ward_answer_t deny_cache = { .decision = WARD_DENY, .cache = true };
	if (!strcmp(g_scn, "timer")) {
		pid_t pid = spawn(prog);
		ward_event_t ev = wait_event(1);
		CHECK(ev.kind == WARD_EV_EXEC && ev.proc.pid == pid && ev.proc.creds_ok && ev.key_ok &&
		      ev.fd >= 0 && ev.proc.pidversion != 0);
		CHECK(ev.path != NULL && !strcmp(ev.path, prog));
		CHECK(ev.deadline_ns > ev.t_recv_ns && ev.hints != NULL && !ev.hints->signature_valid);
		/* no answer from the engine: the backend's timer denies before ES's deadline */
		CHECK(reap(pid) == 126);
		ward_es_counts_t n;
		ward_es_counts(g_b, &n);
		CHECK(n.late_fallbacks == 1);
		/* the engine's late ALLOW is swallowed: ES takes one answer */
		CHECK(g_b->ops->respond(g_b, &ev, &allow) == WARD_OK);
		g_b->ops->release(g_b, &ev);
		ward_es_emul_stats_t st;
		ward_es_emul_stats(&st);
		CHECK(st.duplicates == 0);
	} else if (!strcmp(g_scn, "cache")) {
		pid_t pid = spawn(prog);
		ward_event_t ev = wait_event(1);
		CHECK(g_b->ops->respond(g_b, &ev, &allow_cache) == WARD_OK);
		g_b->ops->release(g_b, &ev);
		CHECK(reap(pid) == 0);
		CHECK(reap(spawn(prog)) == 0); /* from ES's cache: the engine never saw it */
		CHECK(atomic_load(&g_events) == 1);
		/* a rule change flushes ES's cache (on the flusher thread) */
		g_b->ops->cache_flush(g_b);
		for (int i = 0; i < 5000; i++) { /* the flusher thread clears ES's cache */
			ward_es_counts_t n;
			ward_es_counts(g_b, &n);
			if (n.clears >= 1)
				break;
			usleep(1000);
		}
		pid = spawn(prog);
		ev = wait_event(2);
		CHECK(g_b->ops->respond(g_b, &ev, &deny_cache) == WARD_OK); /* no bit on a DENY */
		g_b->ops->release(g_b, &ev);
		CHECK(reap(pid) == 126);
		pid = spawn(prog);
		ev = wait_event(3);
		/* modified after the verdict: the bit must not be written; nothing is */
		snprintf(cmd, sizeof(cmd), "printf x >> '%s'", prog);
		CHECK(system(cmd) == 0);
		CHECK(g_b->ops->respond(g_b, &ev, &allow_cache) == WARD_RESPOND_STALE);
		CHECK(g_b->ops->respond(g_b, &ev, &allow) == WARD_OK);
		g_b->ops->release(g_b, &ev);
		CHECK(reap(pid) == 0);
		pid = spawn(prog);
		ev = wait_event(4); /* not cached: delivered again */
		CHECK(g_b->ops->respond(g_b, &ev, &allow) == WARD_OK);
		g_b->ops->release(g_b, &ev);
		CHECK(reap(pid) == 0);
	} else if (!strcmp(g_scn, "notify")) {
		snprintf(cmd, sizeof(cmd), "printf x >> '%s/written'", argv[2]);
		CHECK(system(cmd) == 0);
		for (int i = 0; i < 5000 && atomic_load(&g_modified) == 0; i++)
			usleep(1000);
		CHECK(atomic_load(&g_modified) >= 1);
	} else if (!strcmp(g_scn, "stop")) {
		pid_t pid = spawn(prog);
		ward_event_t ev = wait_event(1);
		g_b->ops->release(g_b, &ev); /* given back unanswered: the fallback answers */
		CHECK(reap(pid) == 126);
	} else if (!strcmp(g_scn, "open")) {
		char secret[800], other[800];
		snprintf(secret, sizeof(secret), "%ssecret", watched);
		snprintf(other, sizeof(other), "%s/other", argv[2]);
		pid_t pid = fork();
		if (pid == 0) {
			close_range(3, ~0u, 0);
			int a = open(other, O_RDONLY);       /* not a watch item: never asked */
			int x = open(secret, O_RDONLY), e = errno; /* denied */
			int y = open(secret, O_RDONLY);      /* allowed with the cache bit */
			int z = open(secret, O_RDONLY);      /* from ES's cache */
			_exit(a >= 0 && x < 0 && e == EPERM && y >= 0 && z >= 0 ? 0 : 1);
		}
		ward_answer_t deny = { .decision = WARD_DENY };
		ward_answer_t read_ok = { .decision = WARD_ALLOW, .allowed = WARD_ACC_READ, .cache = true };
		ward_event_t ev = wait_event(1);
		CHECK(ev.kind == WARD_EV_OPEN && ev.access == WARD_ACC_READ && ev.hints == NULL);
		CHECK(ev.path != NULL && !strcmp(ev.path, secret));
		CHECK(g_b->ops->respond(g_b, &ev, &deny) == WARD_OK);
		g_b->ops->release(g_b, &ev);
		ev = wait_event(2);
		CHECK(g_b->ops->respond(g_b, &ev, &read_ok) == WARD_OK);
		g_b->ops->release(g_b, &ev);
		CHECK(reap(pid) == 0);
		CHECK(atomic_load(&g_events) == 2);
	} else {
		return 2;
	}
	g_b->ops->stop(g_b);
	pthread_join(t, NULL);
	g_b->ops->destroy(g_b);
	if (atomic_load(&g_bad))
		return 1;
	printf("ok %s\n", g_scn);
	return 0;
}
