/*
 * agent/reqfile.c: what a user may name in a request. Regular files on ordinary
 * filesystems are read (SHA-256 equal to the streaming reader's); /proc magic links,
 * procfs, devices and FIFOs are refused; a file over the cap is refused before any read;
 * a read past its deadline stops with WARD_E_TIMEOUT.
 */
#include "tests/unit/testutil.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/reqfile.h"
#include "common/limits.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/warden-reqfile.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return tu_rmtree(dir);
}

static void expect_refused(const char *path, ward_err_t code)
{
	ward_ctl_peer_t root = { .uid = 0 };
	ward_error_t err = { 0 };
	struct stat sb;
	int fd = ward_reqfile_open(&root, path, &sb, &err);

	if (fd >= 0)
		close(fd);
	assert_int_equal(fd, -1);
	assert_int_equal(err.code, code);
}

static void test_regular_file_read_and_hashed(void **state)
{
	ward_ctl_peer_t root = { .uid = 0 };
	ward_identity_t id, ref;
	ward_error_t err = { 0 };
	char path[128];
	struct stat sb;
	int fd;

	(void)state;
	snprintf(path, sizeof(path), "%s/prog", dir);
	fd = open(path, O_CREAT | O_WRONLY, 0644);
	assert_true(fd >= 0);
	for (int i = 0; i < 3000; i++)
		assert_int_equal(write(fd, "0123456789abcdef0123456789abcdef", 32), 32);
	close(fd);
	fd = ward_reqfile_open(&root, path, &sb, &err);
	assert_true(fd >= 0);
	assert_int_equal(ward_reqfile_identity(fd, &sb, UINT64_MAX, &id, &err), WARD_OK);
	assert_int_equal(ward_identity_read(fd, WARD_ID_SHA256, &ref, &err), WARD_OK);
	assert_true(id.has_sha256);
	assert_memory_equal(id.sha256, ref.sha256, WARD_SHA256_LEN);
	/* a deadline already past: stopped, not a hash of part of the file */
	assert_int_equal(ward_reqfile_identity(fd, &sb, 1, &id, &err), WARD_E_TIMEOUT);
	close(fd);
}

static void test_kernel_files_and_magic_links_refused(void **state)
{
	char path[128], link[64];
	int fd;

	(void)state;
	expect_refused("/proc/self/status", WARD_E_INVAL);        /* procfs */
	if (access("/sys/kernel/uevent_seqnum", R_OK) == 0)
		expect_refused("/sys/kernel/uevent_seqnum", WARD_E_INVAL); /* sysfs */
	expect_refused("/dev/zero", WARD_E_INVAL);                /* a device */
	snprintf(path, sizeof(path), "%s/fifo", dir);
	assert_int_equal(mkfifo(path, 0644), 0);
	expect_refused(path, WARD_E_INVAL);                       /* a FIFO: never blocks */
	/* a magic link to a perfectly regular file of ours */
	snprintf(path, sizeof(path), "%s/regular", dir);
	fd = open(path, O_CREAT | O_RDWR, 0644);
	assert_true(fd >= 0);
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	expect_refused(link, WARD_E_PERM);
	close(fd);
}

static void test_too_large_refused_before_reading(void **state)
{
	char path[128];
	int fd;

	(void)state;
	snprintf(path, sizeof(path), "%s/huge", dir);
	fd = open(path, O_CREAT | O_WRONLY, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)WARD_REQ_MAX_FILE_BYTES + 1), 0); /* sparse */
	close(fd);
	expect_refused(path, WARD_E_LIMIT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_regular_file_read_and_hashed),
		cmocka_unit_test(test_kernel_files_and_magic_links_refused),
		cmocka_unit_test(test_too_large_refused_before_reading),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
