/*
 * The ES emulation's contract, exercised through the same API the backend uses. Run as
 * root by tests/integration/es_emul_contract.sh with WARD_ES_EMUL_WATCH set to a private
 * tmpfs W; each scenario prints "ok <name>" on success and exits 0.
 *   es_contract deny W | cache W | open-flags W | mute W | late W | leak W | version W
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/backends/es/es_map.h"
#include "agent/backends/es_emul/es_emul.h"

static const char *g_dir;
static atomic_int g_calls;
static atomic_int g_bad;
static const char *g_scn;

#define CHECK(c)                                                                   \
	do {                                                                       \
		if (!(c)) {                                                        \
			fprintf(stderr, "es_contract %s: %s:%d: %s\n", g_scn, __FILE__, \
			        __LINE__, #c);                                     \
			atomic_fetch_add(&g_bad, 1);                               \
		}                                                                  \
	} while (0)

static bool ends_with(const es_string_token_t *t, const char *suffix)
{
	size_t n = strlen(suffix);
	return t->length >= n && memcmp(t->data + t->length - n, suffix, n) == 0;
}

static const es_file_t *target_file(const es_message_t *m)
{
	return m->event_type == ES_EVENT_TYPE_AUTH_OPEN ? m->event.open.file
	                                                : m->event.exec.target->executable;
}

/* Run path in a child; its exit status, 126 when execve failed with EPERM. */
static int run(const char *path)
{
	pid_t pid = fork();
	int st;
	if (pid == 0) {
		execl(path, path, (char *)NULL);
		_exit(errno == EPERM ? 126 : 127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void prog(const char *name, char *out, size_t len)
{
	char cmd[2200];
	snprintf(out, len, "%s/%s", g_dir, name);
	snprintf(cmd, sizeof(cmd), "cp /usr/bin/true '%s' && chmod 0755 '%s'", out, out);
	if (system(cmd) != 0) {
		fprintf(stderr, "cannot make %s\n", out);
		exit(2);
	}
}

/* ---- deny: answers reach the kernel; a second answer and a wrong-kind answer fail */
static void h_deny(void *ctx, es_client_t *c, const es_message_t *m)
{
	(void)ctx;
	atomic_fetch_add(&g_calls, 1);
	bool bad = ends_with(&target_file(m)->path, "/bad");
	CHECK(es_respond_flags_result(c, m, 0, false) == ES_RESPOND_RESULT_ERR_EVENT_TYPE);
	CHECK(es_respond_auth_result(c, m, bad ? ES_AUTH_RESULT_DENY : ES_AUTH_RESULT_ALLOW,
	                             false) == ES_RESPOND_RESULT_SUCCESS);
	CHECK(es_respond_auth_result(c, m, ES_AUTH_RESULT_ALLOW, false) ==
	      ES_RESPOND_RESULT_ERR_DUPLICATE_RESPONSE);
}

/* ---- cache: a cached ALLOW is not delivered again until the file changes */
static void h_cache(void *ctx, es_client_t *c, const es_message_t *m)
{
	(void)ctx;
	atomic_fetch_add(&g_calls, 1);
	CHECK(es_respond_auth_result(c, m, ES_AUTH_RESULT_ALLOW, true) ==
	      ES_RESPOND_RESULT_SUCCESS);
}

/* ---- open-flags: AUTH_OPEN is answered with flags; none authorized = EPERM */
static void h_open(void *ctx, es_client_t *c, const es_message_t *m)
{
	(void)ctx;
	CHECK(m->event_type == ES_EVENT_TYPE_AUTH_OPEN);
	atomic_fetch_add(&g_calls, 1);
	CHECK(es_respond_auth_result(c, m, ES_AUTH_RESULT_ALLOW, false) ==
	      ES_RESPOND_RESULT_ERR_EVENT_TYPE);
	bool secret = ends_with(&m->event.open.file->path, "/secret");
	CHECK((m->event.open.fflag & WARD_DARWIN_FREAD) != 0);
	CHECK(es_respond_flags_result(c, m, secret ? 0 : UINT32_MAX, false) ==
	      ES_RESPOND_RESULT_SUCCESS);
}

/* ---- mute: deny everything that is delivered */
static void h_denyall(void *ctx, es_client_t *c, const es_message_t *m)
{
	(void)ctx;
	atomic_fetch_add(&g_calls, 1);
	CHECK(es_respond_auth_result(c, m, ES_AUTH_RESULT_DENY, false) ==
	      ES_RESPOND_RESULT_SUCCESS);
}

/* ---- late / leak: keep the message */
static void h_keep(void *ctx, es_client_t *c, const es_message_t *m)
{
	bool answer = ctx != NULL;
	atomic_fetch_add(&g_calls, 1);
	es_retain_message(m);
	if (answer)
		CHECK(es_respond_auth_result(c, m, ES_AUTH_RESULT_ALLOW, false) ==
		      ES_RESPOND_RESULT_SUCCESS);
}

/* ---- version: fields newer than the version are poison; the mapping never reads them */
static void h_version(void *ctx, es_client_t *c, const es_message_t *m)
{
	uint32_t want = (uint32_t)(uintptr_t)ctx;
	ward_es_clock_t clk = {1, 1, m->mach_time, 0};
	ward_es_event_t ev;

	atomic_fetch_add(&g_calls, 1);
	CHECK(m->version == want);
	if (want < 2) {
		CHECK(m->seq_num == 0);
		CHECK((uintptr_t)m->event.exec.script == 1);
	}
	if (want < 4)
		CHECK((uintptr_t)m->thread == 1);
	else
		CHECK(m->thread != NULL && (uintptr_t)m->thread != 1);
	CHECK(ward_es_map(m, &clk, &ev, NULL) == WARD_OK);
	CHECK(ev.kind == WARD_ES_K_EXEC && ev.auth && !ev.script.present);
	CHECK(ev.proc.pid > 0 && ev.proc.pidversion != 0);
	CHECK(ev.file.key_ok && ev.file.path_ok);
	CHECK(ev.left_ns > 0 && ev.deadline_ns > 0);
	CHECK(es_respond_auth_result(c, m, ES_AUTH_RESULT_ALLOW, false) ==
	      ES_RESPOND_RESULT_SUCCESS);
}

static es_client_t *client(ward_es_handler_fn fn, void *ctx, es_event_type_t ev)
{
	es_client_t *c;
	es_new_client_result_t r = ward_es_new_client(&c, fn, ctx);
	if (r != ES_NEW_CLIENT_RESULT_SUCCESS) {
		fprintf(stderr, "es_contract: es_new_client: %u\n", (unsigned)r);
		exit(2);
	}
	if (es_subscribe(c, &ev, 1) != ES_RETURN_SUCCESS) {
		fprintf(stderr, "es_contract: es_subscribe failed\n");
		exit(2);
	}
	return c;
}

int main(int argc, char **argv)
{
	char good[512], bad[512], path[1100];
	es_client_t *c;

	if (argc != 3) {
		fprintf(stderr, "usage: es_contract SCENARIO DIR\n");
		return 2;
	}
	g_scn = argv[1];
	g_dir = argv[2];
	prog("good", good, sizeof(good));
	prog("bad", bad, sizeof(bad));

	if (!strcmp(g_scn, "deny")) {
		c = client(h_deny, NULL, ES_EVENT_TYPE_AUTH_EXEC);
		CHECK(run(good) == 0);
		CHECK(run(bad) == 126);
		CHECK(atomic_load(&g_calls) == 2);
		es_delete_client(c);
	} else if (!strcmp(g_scn, "cache")) {
		c = client(h_cache, NULL, ES_EVENT_TYPE_AUTH_EXEC);
		CHECK(run(good) == 0);
		CHECK(run(good) == 0);
		CHECK(run(good) == 0);
		CHECK(atomic_load(&g_calls) == 1);
		/* modified: delivered again */
		snprintf(path, sizeof(path), "printf x >> '%s'", good);
		CHECK(system(path) == 0);
		CHECK(run(good) == 0);
		CHECK(atomic_load(&g_calls) == 2);
		/* cleared: delivered again */
		CHECK(es_clear_cache(c) == ES_CLEAR_CACHE_RESULT_SUCCESS);
		CHECK(run(good) == 0);
		CHECK(atomic_load(&g_calls) == 3);
		ward_es_emul_stats_t st;
		ward_es_emul_stats(&st);
		CHECK(st.cache_hits == 2);
		/* es_clear_cache is throttled when called in a burst */
		es_clear_cache_result_t last = ES_CLEAR_CACHE_RESULT_SUCCESS;
		for (int i = 0; i < 100 && last == ES_CLEAR_CACHE_RESULT_SUCCESS; i++)
			last = es_clear_cache(c);
		CHECK(last == ES_CLEAR_CACHE_RESULT_ERR_THROTTLE);
		es_delete_client(c);
	} else if (!strcmp(g_scn, "open-flags")) {
		snprintf(path, sizeof(path), "%s/secret", g_dir);
		int fd = open(path, O_CREAT | O_WRONLY, 0644); /* made before the client */
		CHECK(fd >= 0);
		close(fd);
		c = client(h_open, NULL, ES_EVENT_TYPE_AUTH_OPEN);
		/* the opens come from a child: the client's own process is muted by es.c, and
		 * here we keep the test process out of its own way too */
		pid_t pid = fork();
		if (pid == 0) {
			int a = open(path, O_RDONLY), e = errno;
			int b = open(good, O_RDONLY);
			_exit(a < 0 && e == EPERM && b >= 0 ? 0 : 1);
		}
		int st;
		CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
		CHECK(atomic_load(&g_calls) >= 2);
		es_delete_client(c);
	} else if (!strcmp(g_scn, "mute")) {
		char sub[600], watched[700];
		snprintf(sub, sizeof(sub), "%s/watched", g_dir);
		mkdir(sub, 0755);
		snprintf(watched, sizeof(watched), "%s/watched/p", g_dir);
		snprintf(path, sizeof(path), "cp /usr/bin/true '%s'", watched);
		CHECK(system(path) == 0);
		c = client(h_denyall, NULL, ES_EVENT_TYPE_AUTH_EXEC);
		/* inverted target-path muting: only the watch items are delivered */
		CHECK(es_invert_muting(c, ES_MUTE_INVERSION_TYPE_TARGET_PATH) == ES_RETURN_SUCCESS);
		CHECK(es_mute_path(c, sub, ES_MUTE_PATH_TYPE_TARGET_PREFIX) == ES_RETURN_SUCCESS);
		CHECK(run(watched) == 126);
		CHECK(run(good) == 0);
		CHECK(atomic_load(&g_calls) == 1);
		/* not inverted: the same list now mutes */
		CHECK(es_invert_muting(c, ES_MUTE_INVERSION_TYPE_TARGET_PATH) == ES_RETURN_SUCCESS);
		CHECK(run(watched) == 0);
		CHECK(run(good) == 126);
		CHECK(es_unmute_all_target_paths(c) == ES_RETURN_SUCCESS);
		CHECK(run(watched) == 126);
		es_delete_client(c);
	} else if (!strcmp(g_scn, "late")) {
		/* never answered: ES kills this process; the exec then goes ahead */
		char mark[1100];
		snprintf(mark, sizeof(mark), "%s/late.sh", g_dir);
		FILE *f = fopen(mark, "w");
		CHECK(f != NULL);
		fprintf(f, "#!/bin/sh\ntouch '%s/late.done'\n", g_dir);
		fclose(f);
		chmod(mark, 0755);
		c = client(h_keep, NULL, ES_EVENT_TYPE_AUTH_EXEC);
		if (fork() == 0) {
			/* A forked child shares the fanotify group until its exec succeeds (an
			 * emulation artefact ES does not have): let go of it, or the group
			 * outlives the client and the exec waits forever. */
			setsid();
			close_range(3, ~0u, 0);
			execl(mark, mark, (char *)NULL);
			_exit(127);
		}
		for (;;)
			pause(); /* the emulation's watchdog ends this */
	} else if (!strcmp(g_scn, "leak")) {
		c = client(h_keep, (void *)1, ES_EVENT_TYPE_AUTH_EXEC);
		CHECK(run(good) == 0);
		es_delete_client(c);
		ward_es_emul_stats_t st;
		ward_es_emul_stats(&st);
		CHECK(st.leaked == 1);
	} else if (!strcmp(g_scn, "version")) {
		const char *v = getenv("WARD_ES_EMUL_VERSION");
		c = client(h_version, (void *)(uintptr_t)(v ? atoi(v) : 6), ES_EVENT_TYPE_AUTH_EXEC);
		CHECK(run(good) == 0);
		CHECK(atomic_load(&g_calls) == 1);
		es_delete_client(c);
	} else {
		fprintf(stderr, "es_contract: unknown scenario %s\n", g_scn);
		return 2;
	}
	if (atomic_load(&g_bad) != 0)
		return 1;
	printf("ok %s\n", g_scn);
	return 0;
}
