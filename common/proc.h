/*
 * Another process's executable and name, and this process's own executable: the few
 * process facts the agent's non-backend code needs, one file per platform
 * (common/proc_linux.c: /proc; common/proc_darwin.c: libproc).
 */
#ifndef WARD_COMMON_PROC_H
#define WARD_COMMON_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * Open the executable pid runs, read-only and close-on-exec; path (NULL ok, cap bytes)
 * gets its path. Linux: /proc/<pid>/exe opens the very inode the process runs, even if
 * its path was replaced since. macOS: proc_pidpath(3) then open(2) of that path, which
 * may name another file by then: callers that need the running image compare a file
 * key the kernel reported (ES messages carry one). Returns the fd, or -1 with errno.
 */
int ward_proc_exe_open(pid_t pid, char *path, size_t cap);

/* stat(2) of pid's executable from what the kernel has cached, never asking its
 * filesystem (ward_stat_nosync: Linux statx AT_STATX_DONT_SYNC on /proc/<pid>/exe).
 * false where that cannot be promised (macOS) or the process is gone. */
#include <sys/stat.h>
bool ward_proc_exe_stat_nosync(pid_t pid, struct stat *st);

/* The path of pid's executable, as it is now. false if gone or unreadable. */
bool ward_proc_exe_path(pid_t pid, char *path, size_t cap);

/* pid's short name (Linux comm, macOS p_comm). false (and "" in out) if gone. */
bool ward_proc_name(pid_t pid, char *out, size_t cap);

/* This process's executable path. false (and "" in out) if unknown. */
bool ward_proc_self_exe(char *out, size_t cap);

#endif
