/*
 * What the event log says about the process behind an event: parent, real uid, argv.
 * Read from /proc just before a logged event is answered, while the caller is still
 * blocked in execve: fanotify reports FAN_OPEN_EXEC_PERM before the new image exists,
 * so argv is that of the image calling execve (a shell, a launcher), never the new
 * program's (Linux does not expose those before the exec completes).
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
