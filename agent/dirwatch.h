/*
 * Watching directories for changes to the names in them, for the configuration
 * watcher (agent/profwatch.c). One implementation per platform, chosen by file:
 *   dirwatch_linux.c   inotify(7) on the directory: every event names the entry;
 *   dirwatch_darwin.c  kqueue EVFILT_VNODE on the directory (entries created, removed,
 *                      renamed: the directory is written, no name is given) and on each
 *                      regular file in it (written in place, attributes), up to
 *                      WARD_DIRWATCH_MAX_FILES files a directory.
 * The caller treats a change without a name as a change to any name. Main thread only.
 */
#ifndef WARD_AGENT_DIRWATCH_H
#define WARD_AGENT_DIRWATCH_H

#include <stdbool.h>
#include <stddef.h>

typedef struct ward_dirwatch ward_dirwatch_t;

/* What happened (a bit set). */
#define WARD_DW_CHANGED  0x1u /* an entry was created, written, removed, renamed, chmod'ed */
#define WARD_DW_SELF     0x2u /* the directory itself was removed or renamed */
#define WARD_DW_DROPPED  0x4u /* the watch no longer exists (its id is free) */
#define WARD_DW_OVERFLOW 0x8u /* events were lost (id -1): assume anything changed */

/* Up to this many files a directory are watched for writes in place (kqueue needs a
 * descriptor per file); beyond it only creation, removal and renaming are seen. */
#define WARD_DIRWATCH_MAX_FILES 256

/* The platform's mechanism, for status ("inotify", "kqueue"). */
extern const char ward_dirwatch_kind[];

/* Create a watcher. NULL with errno when the mechanism is unavailable. */
ward_dirwatch_t *ward_dirwatch_create(void);
void ward_dirwatch_destroy(ward_dirwatch_t *dw); /* NULL ok */

/* The descriptor to poll for POLLIN. */
int ward_dirwatch_fd(const ward_dirwatch_t *dw);

/* Watch dir (not following a final symlink is not promised). Returns an id >= 0 (the
 * same id for the same directory is possible: compare before removing), or -1 with
 * errno (ENOENT, ENOTDIR, EACCES: not there yet; others are errors). */
int ward_dirwatch_add(ward_dirwatch_t *dw, const char *dir);

/* Stop watching id (no DROPPED report follows that the caller must act on). */
void ward_dirwatch_rm(ward_dirwatch_t *dw, int id);

/* What fn receives: the watch id (-1 with OVERFLOW), the entry's name or NULL when the
 * platform cannot tell which entry, and the WARD_DW_* bits. */
typedef void (*ward_dirwatch_fn)(void *arg, int id, const char *name, unsigned what);

/* Deliver every pending change to fn (call when the fd is readable). Never blocks. */
void ward_dirwatch_read(ward_dirwatch_t *dw, ward_dirwatch_fn fn, void *arg);

#endif
