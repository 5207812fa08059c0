/*
 * What the event log says about the process behind an event: parent, real uid, argv.
 * Read from /proc after the kernel has been answered; best effort (the process may be
 * gone). On Linux a FAN_OPEN_EXEC_PERM event comes before execve completes, so argv
 * is that of the image doing the exec, or, for an allowed exec read a little later,
 * possibly already the new one.
 */
#ifndef WARD_AGENT_PROCINFO_H
#define WARD_AGENT_PROCINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/limits.h"

typedef struct ward_procinfo {
	bool ok;                            /* status was read */
	pid_t ppid;
	uid_t uid;
	size_t argv_len;                    /* bytes of argv used (NUL-separated strings) */
	bool argv_truncated;
	char argv[WARD_EVLOG_MAX_ARGV];
} ward_procinfo_t;

/* Fill out for pid from /proc. Returns out->ok. */
bool ward_procinfo_read(pid_t pid, ward_procinfo_t *out);

/* Parse the text of /proc/<pid>/status (exposed for tests). */
bool ward_procinfo_parse_status(const char *text, pid_t *ppid, uid_t *uid);

#endif
