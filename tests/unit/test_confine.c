/*
 * agent/confine.c: a confined thread may do what a parser does; a forbidden system call
 * on it kills the whole process with SIGSYS (as designed: the kernel then releases any
 * process waiting on the agent, and the service manager restarts it); opening a file
 * fails with EACCES; the other threads of the process are not confined. Each case runs
 * in a child process.
 */
#include "tests/unit/testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/confine.h"

enum { DO_ALLOWED, DO_OPEN, DO_SOCKET, DO_PTRACE, DO_EXEC };

static void *confined(void *arg)
{
	int what = *(int *)arg;

	if (!ward_confine_thread(WARD_CONFINE_PARSER))
		_exit(3);
	/* what a parser does: memory, time */
	void *m = malloc(8u << 20);
	memset(m, 1, 8u << 20);
	free(m);
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (what == DO_ALLOWED)
		return NULL;
	if (what == DO_OPEN) {
		int fd = open("/etc/hostname", O_RDONLY);
		_exit(fd < 0 && errno == EACCES ? 0 : 4);
	}
	if (what == DO_SOCKET) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		_exit(fd < 0 && errno == EACCES ? 0 : 8);
	}
	if (what == DO_PTRACE)
		(void)syscall(SYS_ptrace, PTRACE_ATTACH, getppid(), 0, 0); /* the process dies here */
	if (what == DO_EXEC)
		execl("/bin/true", "true", (char *)NULL);
	_exit(5);
}

/* Run `what` on a confined thread of a child; returns the child's wait status. */
static int run(int what)
{
	pid_t pid = fork();
	int st = 0;

	assert_true(pid >= 0);
	if (pid == 0) {
		pthread_t t;
		int fds[2];
		if (pthread_create(&t, NULL, confined, &what) != 0)
			_exit(6);
		pthread_join(t, NULL);
		/* the main thread is not confined */
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0)
			_exit(7);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return st;
}

static void test_allowed_work_survives(void **state)
{
	int st;

	(void)state;
	if (getenv("WARDEN_NO_SECCOMP"))
		skip();
	st = run(DO_ALLOWED);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

static void test_open_and_socket_fail_cleanly(void **state)
{
	int st;

	(void)state;
	st = run(DO_OPEN);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	st = run(DO_SOCKET);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

static void test_forbidden_call_kills_the_process(void **state)
{
	int st;

	(void)state;
	st = run(DO_PTRACE);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGSYS);
	st = run(DO_EXEC);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGSYS);
}

static void test_status_counts(void **state)
{
	json_t *s;

	(void)state;
	s = ward_confine_status();
	assert_non_null(s);
	assert_true(json_is_boolean(json_object_get(s, "enabled")));
	assert_true(json_is_integer(json_object_get(s, "confined_threads")));
	json_decref(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_allowed_work_survives),
		cmocka_unit_test(test_open_and_socket_fail_cleanly),
		cmocka_unit_test(test_forbidden_call_kills_the_process),
		cmocka_unit_test(test_status_counts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
