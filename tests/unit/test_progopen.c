/*
 * Unit tests for agent/progopen: which opens load a program. Command lines are parsed
 * as each interpreter does; then real processes (the dynamic loader run as a command,
 * sh reading a script) are classified while they wait on a pipe this test holds.
 */
#include "tests/unit/testutil.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/progopen.h"

static int arg(const char *interp, const char *words[])
{
	char buf[512];
	size_t off = 0;

	for (int i = 0; words[i]; i++) {
		size_t l = strlen(words[i]) + 1;
		memcpy(buf + off, words[i], l);
		off += l;
	}
	return ward_progopen_script_arg(interp, buf, off);
}

static void test_script_arg(void **state)
{
	(void)state;
	assert_int_equal(arg("/usr/bin/dash", (const char *[]){ "sh", "./x.sh", NULL }), 1);
	assert_int_equal(arg("/usr/bin/bash", (const char *[]){ "bash", "-x", "-o", "errexit", "x.sh", "a", NULL }), 4);
	assert_int_equal(arg("/usr/bin/bash", (const char *[]){ "bash", "-c", "echo hi", NULL }), -1);
	assert_int_equal(arg("/usr/bin/bash", (const char *[]){ "bash", "-ec", "echo hi", NULL }), -1);
	assert_int_equal(arg("/usr/bin/bash", (const char *[]){ "bash", NULL }), -1); /* stdin */
	assert_int_equal(arg("/usr/bin/dash", (const char *[]){ "sh", "-s", "x", NULL }), -1);
	assert_int_equal(arg("/usr/bin/dash", (const char *[]){ "sh", "--", "-x.sh", NULL }), 2);
	assert_int_equal(arg("/usr/bin/python3.11", (const char *[]){ "python3", "-u", "-W", "ignore", "t.py", NULL }), 4);
	assert_int_equal(arg("/usr/bin/python3.11", (const char *[]){ "python3", "-m", "http.server", NULL }), -1);
	assert_int_equal(arg("/usr/bin/python3.11", (const char *[]){ "python3", "-sE", "t.py", NULL }), 2);
	assert_int_equal(arg("/usr/bin/perl", (const char *[]){ "perl", "-I", "lib", "t.pl", NULL }), 3);
	assert_int_equal(arg("/usr/bin/perl", (const char *[]){ "perl", "-we", "print 1", NULL }), -1);
	assert_int_equal(arg("/usr/bin/node", (const char *[]){ "node", "-r", "m", "app.js", NULL }), 3);
	assert_int_equal(arg("/usr/bin/node", (const char *[]){ "node", "--eval", "1", NULL }), -1);
	assert_int_equal(arg("/usr/bin/busybox", (const char *[]){ "busybox", "sh", "x.sh", NULL }), 2);
}

static void test_names(void **state)
{
	ward_config_t cfg;

	(void)state;
	ward_config_defaults(&cfg);
	assert_true(ward_progopen_is_loader("/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"));
	assert_true(ward_progopen_is_loader("/lib/ld-musl-x86_64.so.1"));
	assert_false(ward_progopen_is_loader("/usr/bin/ldd"));
	assert_true(ward_progopen_is_interpreter(&cfg, "/usr/bin/dash"));
	assert_true(ward_progopen_is_interpreter(&cfg, "/usr/bin/python3.11"));
	assert_false(ward_progopen_is_interpreter(&cfg, "/usr/bin/cat"));
	cfg.ninterpreters = 0;
	assert_false(ward_progopen_is_interpreter(&cfg, "/usr/bin/dash"));
}

/* Start argv with stdin from a pipe we keep open; return once it runs argv[0]'s program. */
static pid_t spawn(char *const argv[], const char *expect_exe_base, int *wfd)
{
	int p[2];
	pid_t pid;
	char link[64], exe[1024];

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(p[0], 0);
		close(p[1]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(p[0]);
	*wfd = p[1];
	snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
	for (;;) {
		/* wait until the new program runs and waits on our pipe: its executable is the
		 * new one and it is blocked in read(0, ...) (cmdline is set late in execve) */
		char sc[64], sys[128] = "";
		ssize_t n = readlink(link, exe, sizeof(exe) - 1);
		int fd;
		assert_true(n > 0);
		exe[n] = '\0';
		snprintf(sc, sizeof(sc), "/proc/%d/syscall", (int)pid);
		if ((fd = open(sc, O_RDONLY)) >= 0) {
			ssize_t k = read(fd, sys, sizeof(sys) - 1);
			sys[k > 0 ? k : 0] = '\0';
			close(fd);
		}
		if (strstr(exe, expect_exe_base) && strncmp(sys, "0 0x0 ", 6) == 0)
			break;
		sched_yield();
	}
	return pid;
}

static void reap(pid_t pid, int wfd)
{
	close(wfd);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static void test_live(void **state)
{
	char dir[] = "/tmp/test_progopen.XXXXXX", script[300], why[256];
	const char *ld = "/lib64/ld-linux-x86-64.so.2";
	ward_config_t cfg;
	int wfd, fd;
	pid_t pid;
	FILE *f;

	(void)state;
	ward_config_defaults(&cfg);
	if (access(ld, X_OK) != 0)
		skip();
	/* the loader run as a command: the program is LOADER, a library is not */
	pid = spawn((char *[]){ (char *)ld, "/bin/cat", NULL }, "ld-linux", &wfd);
	fd = open("/bin/cat", O_RDONLY);
	assert_int_equal(ward_progopen_classify(&cfg, pid, fd, why, sizeof(why)), WARD_PROG_LOADER);
	assert_non_null(strstr(why, "run as a command"));
	close(fd);
	fd = open("/lib/x86_64-linux-gnu/libm.so.6", O_RDONLY);
	if (fd >= 0) {
		assert_int_equal(ward_progopen_classify(&cfg, pid, fd, NULL, 0), WARD_PROG_NONE);
		close(fd);
	}
	reap(pid, wfd);

	/* sh reading its script: SCRIPT for the script, NONE for another file */
	assert_non_null(mkdtemp(dir));
	snprintf(script, sizeof(script), "%s/wait.sh", dir);
	f = fopen(script, "w");
	fputs("read x\n", f);
	fclose(f);
	pid = spawn((char *[]){ "/bin/sh", script, NULL }, "sh", &wfd);
	fd = open(script, O_RDONLY);
	assert_int_equal(ward_progopen_classify(&cfg, pid, fd, why, sizeof(why)), WARD_PROG_SCRIPT);
	close(fd);
	fd = open("/etc/hostname", O_RDONLY);
	if (fd >= 0) {
		assert_int_equal(ward_progopen_classify(&cfg, pid, fd, NULL, 0), WARD_PROG_NONE);
		close(fd);
	}
	/* cat is no interpreter */
	reap(pid, wfd);
	pid = spawn((char *[]){ "/bin/cat", "-", script, NULL }, "cat", &wfd);
	fd = open(script, O_RDONLY);
	assert_int_equal(ward_progopen_classify(&cfg, pid, fd, NULL, 0), WARD_PROG_NONE);
	close(fd);
	reap(pid, wfd);
	tu_rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_script_arg),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_live),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
