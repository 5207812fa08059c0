/* Reading /proc/<pid>/{status,cmdline} for the event log. */
#include "agent/backends/procinfo.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
