/*
 * The access an open asks for, from /proc/<tid>/syscall: see openmode.h.
 */
#include "agent/backends/openmode.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "rules/faa.h" /* WARD_FAA_READ/WRITE == the engine's WARD_ACC_* */

static uint32_t from_flags(unsigned long flags)
{
	uint32_t acc;

	switch (flags & O_ACCMODE) {
	case O_RDONLY: acc = WARD_FAA_READ; break;
	case O_WRONLY: acc = WARD_FAA_WRITE; break;
	default: acc = WARD_FAA_READ | WARD_FAA_WRITE; break; /* O_RDWR, and 3 */
	}
	if (flags & O_TRUNC)
		acc |= WARD_FAA_WRITE;
	return acc;
}

uint32_t ward_openmode_parse(const char *line, bool *exec)
{
	unsigned long a[6];
	long nr;
	char *end;

	if (exec)
		*exec = false;
	nr = strtol(line, &end, 10);
	if (end == line || *end != ' ')
		return 0; /* "running", or malformed */
	for (int i = 0; i < 6; i++) {
		const char *p = end;
		a[i] = strtoul(p, &end, 16);
		if (end == p)
			return 0;
	}
#ifdef SYS_open
	if (nr == SYS_open)
		return from_flags(a[1]);
#endif
#ifdef SYS_creat
	if (nr == SYS_creat)
		return WARD_FAA_WRITE;
#endif
	if (nr == SYS_openat)
		return from_flags(a[2]);
	if (nr == SYS_execve
#ifdef SYS_execveat
	    || nr == SYS_execveat
#endif
	) {
		if (exec)
			*exec = true;
		return WARD_FAA_READ;
	}
	return 0;
}

uint32_t ward_openmode_of(pid_t tid, bool *exec)
{
	char path[48], buf[256];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/syscall", (int)tid);
	if (exec)
		*exec = false;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return ward_openmode_parse(buf, exec);
}
