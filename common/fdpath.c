/* The path of an open descriptor (common/fdpath.h). */
#include "common/fdpath.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

bool ward_fd_path(int fd, char *buf, size_t len)
{
	if (len == 0)
		return false;
	buf[0] = '\0';
	if (fd < 0)
		return false;
#ifdef F_GETPATH /* macOS: needs a MAXPATHLEN buffer */
	char tmp[PATH_MAX];
	if (fcntl(fd, F_GETPATH, tmp) == -1 || strlen(tmp) >= len)
		return false;
	memcpy(buf, tmp, strlen(tmp) + 1);
	return true;
#else
	char link[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, buf, len - 1);
	if (n < 0 || (size_t)n >= len - 1) {
		buf[0] = '\0';
		return false;
	}
	buf[n] = '\0';
	return true;
#endif
}
