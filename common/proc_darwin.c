/* Process facts from libproc (common/proc.h), macOS. */
#include "common/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <libproc.h>
#include <stdio.h>
#include <string.h>
#include <sys/param.h>
#include <unistd.h>

bool ward_proc_exe_stat_nosync(pid_t pid, struct stat *st)
{
	(void)pid;
	(void)st;
	return false; /* no stat that promises not to ask the filesystem */
}

bool ward_proc_exe_path(pid_t pid, char *path, size_t cap)
{
	char buf[PROC_PIDPATHINFO_MAXSIZE];

	if (cap == 0)
		return false;
	path[0] = '\0';
	if (proc_pidpath(pid, buf, sizeof(buf)) <= 0 || strlen(buf) >= cap)
		return false;
	memcpy(path, buf, strlen(buf) + 1);
	return true;
}

int ward_proc_exe_open(pid_t pid, char *path, size_t cap)
{
	char buf[PROC_PIDPATHINFO_MAXSIZE];

	if (proc_pidpath(pid, buf, sizeof(buf)) <= 0) {
		if (errno == 0)
			errno = ESRCH;
		return -1;
	}
	if (path != NULL && cap > 0)
		snprintf(path, cap, "%s", buf);
	return open(buf, O_RDONLY | O_CLOEXEC);
}

bool ward_proc_name(pid_t pid, char *out, size_t cap)
{
	if (cap == 0)
		return false;
	out[0] = '\0';
	if (pid <= 0)
		return false;
	return proc_name(pid, out, (uint32_t)(cap > UINT32_MAX ? UINT32_MAX : cap)) > 0;
}

bool ward_proc_self_exe(char *out, size_t cap)
{
	return ward_proc_exe_path(getpid(), out, cap);
}
