/* Unit tests for agent/backends/openmode: what an open asks for, from /proc/<tid>/syscall. */
#include "tests/unit/testutil.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "agent/backends/openmode.h"
#include "rules/faa.h"

static void line(char *buf, size_t n, long nr, unsigned long a0, unsigned long a1, unsigned long a2)
{
	snprintf(buf, n, "%ld 0x%lx 0x%lx 0x%lx 0x0 0x0 0x0 0x7ffd680c3550 0x7fef08f79011\n", nr, a0, a1, a2);
}

static void test_parse(void **state)
{
	char b[256];

	(void)state;
	line(b, sizeof(b), SYS_openat, (unsigned long)AT_FDCWD, 0x7ffd0000, O_RDONLY);
	assert_int_equal(ward_openmode_parse(b, NULL), WARD_FAA_READ);
	line(b, sizeof(b), SYS_openat, (unsigned long)AT_FDCWD, 0x7ffd0000, O_WRONLY | O_CREAT);
	assert_int_equal(ward_openmode_parse(b, NULL), WARD_FAA_WRITE);
	line(b, sizeof(b), SYS_openat, 3, 0x7ffd0000, O_RDWR);
	assert_int_equal(ward_openmode_parse(b, NULL), WARD_FAA_READ | WARD_FAA_WRITE);
	/* a read-only open that truncates writes */
	line(b, sizeof(b), SYS_openat, 3, 0x7ffd0000, O_RDONLY | O_TRUNC);
	assert_int_equal(ward_openmode_parse(b, NULL), WARD_FAA_READ | WARD_FAA_WRITE);
#ifdef SYS_open
	line(b, sizeof(b), SYS_open, 0x7ffd0000, O_RDONLY | O_CLOEXEC, 0);
	assert_int_equal(ward_openmode_parse(b, NULL), WARD_FAA_READ);
#endif
	/* openat2 keeps its flags in memory another thread may rewrite: unknown */
	line(b, sizeof(b), 437, 3, 0x7ffd0000, 0x7ffd1000);
	assert_int_equal(ward_openmode_parse(b, NULL), 0);
	assert_int_equal(ward_openmode_parse("running\n", NULL), 0);
	assert_int_equal(ward_openmode_parse("-1 0x7ffd 0x7fef\n", NULL), 0);
	assert_int_equal(ward_openmode_parse("", NULL), 0);
	{
		bool exec = false;
		line(b, sizeof(b), SYS_execve, 0x7ffd0000, 0x7ffd1000, 0x7ffd2000);
		assert_int_equal(ward_openmode_parse(b, &exec), WARD_FAA_READ);
		assert_true(exec);
		line(b, sizeof(b), SYS_openat, 3, 0x7ffd0000, O_RDONLY);
		ward_openmode_parse(b, &exec);
		assert_false(exec);
	}
}

/* The live reader on this thread (blocked in read(2), not in an open): unknown. */
static void test_self_is_not_an_open(void **state)
{
	(void)state;
	assert_int_equal(ward_openmode_of(gettid(), NULL), 0);
	assert_int_equal(ward_openmode_of(999999999, NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_self_is_not_an_open),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
