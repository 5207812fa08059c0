/* Process facts from /proc (common/proc.h), Linux. */
#include "common/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/platform.h"

static bool read_link(const char *link, char *out, size_t cap)
{
	ssize_t n;

	if (cap == 0)
		return false;
	n = readlink(link, out, cap - 1);
	out[n > 0 ? n : 0] = '\0';
	return n > 0;
}

int ward_proc_exe_open(pid_t pid, char *path, size_t cap)
{
	char link[48];
	int fd;

	snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
	if ((fd = open(link, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	if (path != NULL)
		(void)read_link(link, path, cap);
	return fd;
}

bool ward_proc_exe_stat_nosync(pid_t pid, struct stat *st)
{
	char link[48];

	snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
	return ward_stat_nosync(link, st);
}

bool ward_proc_exe_path(pid_t pid, char *path, size_t cap)
{
	char link[48];

	snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
	return read_link(link, path, cap);
}

bool ward_proc_name(pid_t pid, char *out, size_t cap)
{
	char p[64];
	ssize_t n;
	int fd;

	if (cap == 0)
		return false;
	out[0] = '\0';
	if (pid <= 0)
		return false;
	snprintf(p, sizeof(p), "/proc/%d/comm", (int)pid);
	if ((fd = open(p, O_RDONLY | O_CLOEXEC)) < 0)
		return false;
	n = read(fd, out, cap - 1);
	close(fd);
	if (n <= 0) {
		out[0] = '\0';
		return false;
	}
	out[n] = '\0';
	out[strcspn(out, "\n")] = '\0';
	return true;
}

bool ward_proc_self_exe(char *out, size_t cap)
{
	return read_link("/proc/self/exe", out, cap);
}
