/*
 * The path of an open file descriptor, as the kernel names it now (Linux: the
 * /proc/self/fd/N link; macOS: fcntl F_GETPATH). For logs and trusted-path checks, never
 * for access decisions by itself: a path can change the moment after it is read.
 */
#ifndef WARD_COMMON_FDPATH_H
#define WARD_COMMON_FDPATH_H

#include <stdbool.h>
#include <stddef.h>

/* Fill buf (len > 0) with fd's path; false (buf "") if it has none or does not fit. */
bool ward_fd_path(int fd, char *buf, size_t len);

#endif
