/*
 * Linux process details from /proc, for the fanotify backend: the event log's parent,
 * uid and command line; the start time that tells a reused pid apart; the effective
 * credentials; the executable's file key.
 *
 * fanotify reports FAN_OPEN_EXEC_PERM before the new image exists, so the command line
 * read while the exec waits is that of the image calling execve (a shell, a launcher),
 * never the new program's: the log names it caller_argv.
 */
#ifndef WARD_AGENT_PROCINFO_H
#define WARD_AGENT_PROCINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "agent/backend.h"

/* Fill out for pid from /proc/<pid>/{status,stat,cmdline}. Returns out->ok. */
bool ward_procinfo_read(pid_t pid, ward_procinfo_t *out);

/* Parse the text of /proc/<pid>/status (exposed for tests). */
bool ward_procinfo_parse_status(const char *text, pid_t *ppid, uid_t *uid);

/* The start time of pid in clock ticks since boot (/proc/<pid>/stat field 22); 0 if
 * the process is gone. Two processes with one pid never share it. */
uint64_t ward_procinfo_start_time(pid_t pid);

/* Parse the text of /proc/<pid>/stat for the start time (exposed for tests). */
uint64_t ward_procinfo_parse_start_time(const char *text);

/* Parse the text of /proc/<pid>/stat: session (field 6), tty_nr (7), starttime (22).
 * comm (field 2) is the process's own choice of bytes: fields are counted from the last
 * ')'. False when the text does not have them. (Exposed for tests and the fuzzer.) */
bool ward_procinfo_parse_stat(const char *text, pid_t *sid, uint32_t *tty, uint64_t *start);

/* The same read from /proc/<pid>/stat; false if gone. */
bool ward_procinfo_stat(pid_t pid, pid_t *sid, uint32_t *tty, uint64_t *start);

/* Effective uid and gid of pid (the owner of /proc/<pid>: one stat). False if gone. */
bool ward_procinfo_creds(pid_t pid, uid_t *uid, gid_t *gid);

/* The file key of /proc/<pid>/exe. False if gone or unreadable. */
bool ward_procinfo_exe(pid_t pid, ward_filekey_t *out);

#endif
