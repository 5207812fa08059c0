/*
 * Linux "platform" trust: a program under one of the TrustedPaths that only root could
 * have put there. On macOS the kernel tells us a binary is a platform binary; on Linux
 * the closest honest equivalent is ownership: the file and every directory above it
 * must be root-owned and not writable by group or others, so a user-writable copy of
 * /bin/sh in /tmp (or anywhere a user can write) is never trusted.
 */
#ifndef WARD_AGENT_TRUST_H
#define WARD_AGENT_TRUST_H

#include <stdbool.h>
#include <stddef.h>

#include "profiles/config.h"

/* The outcome of a trust check. */
typedef enum {
	WARD_TRUST_OK = 0,
	WARD_TRUST_NOT_UNDER,       /* under no trusted path (not worth a log word) */
	WARD_TRUST_NOT_REGULAR,     /* not a regular file */
	WARD_TRUST_FILE_WRITABLE,   /* not root-owned, or group/other-writable */
	WARD_TRUST_MOVED,           /* the path no longer names the file */
	WARD_TRUST_DIR_WRITABLE,    /* a directory above is not root-owned or is writable */
	WARD_TRUST__COUNT
} ward_trust_t;

/*
 * WARD_TRUST_OK if the regular file open as fd, whose canonical path is path, lies under
 * one of cfg's trusted paths (whole components: /usr matches /usr/bin/x, not /usrx) and
 * it and its directory chain up to / are root-owned and not group/other-writable, and
 * path still names the same inode as fd; otherwise which check failed. cfg's trusted
 * paths must be canonical (ward_trust_canon). With WARD_TRUST_DIR_WRITABLE, *dirlen (if
 * not NULL) is the length of the prefix of path that names the offending directory.
 */
ward_trust_t ward_trust_check(const ward_config_t *cfg, int fd, const char *path, size_t *dirlen);

/* The log's words for a trust outcome. */
const char *ward_trust_name(ward_trust_t t);

/* Replace each trusted path by its realpath(3) when it resolves (/bin -> /usr/bin on a
 * merged-/usr system) and strip trailing slashes. Paths that do not exist stay as given. */
void ward_trust_canon(ward_config_t *cfg);

/* Whether path is dir or lies below it, comparing whole components. */
bool ward_path_under(const char *path, const char *dir);

#endif
