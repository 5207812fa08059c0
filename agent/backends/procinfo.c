/* Reading /proc/<pid> for the fanotify backend (agent/backends/procinfo.h). */
#include "agent/backends/procinfo.h"
#include "common/platform.h"
#include "common/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static ssize_t read_file(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t done = 0;

	if (fd < 0)
		return -1;
	while (done < cap) {
		ssize_t n = read(fd, buf + done, cap - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	close(fd);
	return (ssize_t)done;
}

static bool field_num(const char *text, const char *name, long long *out)
{
	size_t len = strlen(name);
	const char *p = text;

	while (p && *p) {
		if (strncmp(p, name, len) == 0) {
			char *end;
			errno = 0;
			long long v = strtoll(p + len, &end, 10);
			if (errno != 0 || end == p + len)
				return false;
			*out = v;
			return true;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return false;
}

bool ward_procinfo_parse_status(const char *text, pid_t *ppid, uid_t *uid)
{
	long long p, u;

	if (!field_num(text, "PPid:", &p) || !field_num(text, "Uid:", &u))
		return false;
	if (p < 0 || u < 0)
		return false;
	*ppid = (pid_t)p;
	*uid = (uid_t)u;
	return true;
}

bool ward_procinfo_read(pid_t pid, ward_procinfo_t *out)
{
	char path[64], status[2048];
	ssize_t n;

	memset(out, 0, sizeof(*out));
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	n = read_file(path, status, sizeof(status) - 1);
	if (n <= 0)
		return false;
	status[n] = '\0';
	out->ok = ward_procinfo_parse_status(status, &out->ppid, &out->uid);
	if (out->ok)
		(void)ward_procinfo_stat(pid, &out->sid, &out->tty, &out->start_time);
	if (ward_thread_no_waits()) {
		/* the command line is read from the process's memory, under its lock */
		out->argv_not_read = true;
		return out->ok;
	}
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	n = read_file(path, out->argv, sizeof(out->argv));
	if (n > 0) {
		out->argv_len = (size_t)n;
		if ((size_t)n == sizeof(out->argv)) {
			out->argv_truncated = true;
			out->argv[n - 1] = '\0';
		}
	}
	return out->ok;
}

uint64_t ward_procinfo_parse_start_time(const char *text)
{
	/* "pid (comm) state ppid ...": comm may hold spaces and parentheses, so count the
	 * fields from the last ')'. starttime is field 22, the 20th after it. */
	const char *p = strrchr(text, ')');
	unsigned field = 2;

	if (p == NULL)
		return 0;
	for (p++; *p != '\0'; p++) {
		if (*p != ' ')
			continue;
		if (++field == 22) {
			char *end;
			errno = 0;
			unsigned long long v = strtoull(p + 1, &end, 10);
			return errno == 0 && end != p + 1 ? (uint64_t)v : 0;
		}
	}
	return 0;
}

bool ward_procinfo_parse_stat(const char *text, pid_t *sid, uint32_t *tty, uint64_t *start)
{
	/* "pid (comm) state ppid pgrp session tty_nr ... starttime(22)" */
	const char *p = strrchr(text, ')');
	unsigned long long v[23] = { 0 };
	unsigned field = 2;

	if (p == NULL)
		return false;
	for (p++; *p != '\0' && field < 22;) {
		char *end;
		if (*p != ' ')
			return false;
		p++;
		field++;
		if (field == 3) { /* state: one letter */
			if (*p == '\0' || *p == ' ')
				return false;
			p++;
			continue;
		}
		if (*p == '-')
			p++; /* tpgid and a few others may be -1 */
		if (*p < '0' || *p > '9')
			return false;
		errno = 0;
		v[field] = strtoull(p, &end, 10);
		if (errno != 0)
			return false;
		p = end;
	}
	if (field != 22 || v[6] > 0x7fffffff || v[7] > 0xffffffffull)
		return false;
	*sid = (pid_t)v[6];
	*tty = (uint32_t)v[7];
	*start = (uint64_t)v[22];
	return true;
}

bool ward_procinfo_stat(pid_t pid, pid_t *sid, uint32_t *tty, uint64_t *start)
{
	char path[64], text[1024];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	n = read_file(path, text, sizeof(text) - 1);
	if (n <= 0)
		return false;
	text[n] = '\0';
	return ward_procinfo_parse_stat(text, sid, tty, start);
}

uint64_t ward_procinfo_start_time(pid_t pid)
{
	char path[64], text[1024];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	n = read_file(path, text, sizeof(text) - 1);
	if (n <= 0)
		return 0;
	text[n] = '\0';
	return ward_procinfo_parse_start_time(text);
}

bool ward_procinfo_creds(pid_t pid, uid_t *uid, gid_t *gid)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	if (stat(path, &st) != 0)
		return false;
	*uid = st.st_uid;
	*gid = st.st_gid;
	return true;
}

bool ward_procinfo_exe(pid_t pid, ward_filekey_t *out)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	/* stat follows the link to the executable's filesystem: from the event reader, only
	 * what the kernel has cached (a FUSE server answers getattr when it likes) */
	if (ward_thread_no_waits() ? !ward_proc_exe_stat_nosync(pid, &st) : stat(path, &st) != 0)
		return false;
	ward_filekey_from_stat(&st, out);
	return true;
}
