/*
 * The platform half of agent/reqfile.c: opening a user-named file with the user's
 * rights, and telling a kernel pseudo filesystem. One file per platform:
 * reqfile_linux.c (setfsuid/setfsgid and no supplementary groups on this thread;
 * openat2 RESOLVE_NO_MAGICLINKS; statfs magic numbers), reqfile_darwin.c
 * (pthread_setugid_np on this thread; no symlink anywhere in the path, O_NOFOLLOW_ANY,
 * and nothing under devfs, whose /dev/fd/N would resolve inside the agent).
 */
#ifndef WARD_AGENT_REQFILE_OS_H
#define WARD_AGENT_REQFILE_OS_H

#include <stdbool.h>

#include "agent/control.h"
#include "common/error.h"

/* Open path read-only (O_CLOEXEC|O_NONBLOCK|O_NOCTTY) as peer. The fd, or -1 with err
 * filled (WARD_E_NOTFOUND, WARD_E_PERM, WARD_E_IO). */
int ward_reqfile_os_open(const ward_ctl_peer_t *peer, const char *path, ward_error_t *err);

/* The error of an open that failed with errno e for a reason common to every platform
 * (not found, not the user's to read, I/O): set in err (agent/reqfile.c). */
void ward_reqfile_open_errno(const char *path, int e, ward_error_t *err);

/* *name: the pseudo filesystem fd is on ("procfs", "devfs", ...) or NULL for an
 * ordinary one. false with err filled when the filesystem cannot be read. */
bool ward_reqfile_os_pseudo(int fd, const char *path, const char **name, ward_error_t *err);

#endif
