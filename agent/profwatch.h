/*
 * The configuration sources watcher and the record of reloads. wardend watches
 * warden.conf and the profiles directory (agent/dirwatch.h: inotify on Linux, kqueue on
 * macOS) from its main loop (never from
 * the fanotify reader: a reload reads files, parses XML and writes the store) and
 * reloads a short quiet period after the last change, so an editor or an MDM client
 * that writes a file in several steps causes one reload, not several.
 *
 * What is watched (directories, not files, so a file replaced by rename is seen):
 *   - the directory holding warden.conf, for that one name;
 *   - the profiles directory, for *.mobileconfig and *.plist names (not dotfiles: a
 *     client that writes ".x.plist" and renames it is seen at the rename);
 *   - the profiles directory's parent, for the directory itself being created, removed
 *     or renamed (the watch follows it).
 *
 * The record says which configuration is in force, since when, from which sources, and
 * why the last attempt failed if it did: `wardenctl status` shows it.
 *
 * Main thread only: no locking.
 */
#ifndef WARD_AGENT_PROFWATCH_H
#define WARD_AGENT_PROFWATCH_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "common/error.h"
#include "profiles/config.h"

typedef struct ward_profwatch ward_profwatch_t;

/*
 * Create the watcher for conf_file and profile_dir (either may be NULL or ""). Missing
 * paths are fine: their parents are watched so they are seen when they appear. If
 * the platform's watch mechanism is unavailable the watcher still exists, without watches (reload by SIGHUP
 * or the reload command still works); *why says so. *out NULL only on out of memory.
 */
ward_err_t ward_profwatch_create(const char *conf_file, const char *profile_dir,
                                 ward_profwatch_t **out, ward_error_t *why);
void ward_profwatch_destroy(ward_profwatch_t *pw); /* NULL ok */

/* The watch descriptor to poll for POLLIN, or -1 when nothing is watched. */
int ward_profwatch_fd(const ward_profwatch_t *pw);

/*
 * Drain the watch events (call when the fd is readable). now_ms: CLOCK_MONOTONIC in
 * milliseconds. A relevant change schedules a reload WARD_RELOAD_QUIET_MS after the
 * last change, and at most WARD_RELOAD_MAX_DELAY_MS after the first one.
 */
void ward_profwatch_read(ward_profwatch_t *pw, uint64_t now_ms);

/* Milliseconds until a scheduled reload is due (0: now), or -1 when none is. */
int ward_profwatch_timeout(const ward_profwatch_t *pw, uint64_t now_ms);

/* True (once) when a scheduled reload is due at now_ms; it is then no longer scheduled. */
bool ward_profwatch_due(ward_profwatch_t *pw, uint64_t now_ms);

/*
 * Watch again what is not watched (a directory that was missing or was removed). Call
 * it now and then (the main loop does every WARD_STORE_POLL_MS): when a directory
 * appears, a reload is scheduled. Costs one failing syscall per missing directory.
 */
void ward_profwatch_tick(ward_profwatch_t *pw, uint64_t now_ms);

/* Count of watch events that scheduled a reload (for tests and status). */
uint64_t ward_profwatch_changes(const ward_profwatch_t *pw);

/* ------------------------------------------------------------- the reload record */

/*
 * Record a successful load: cs is the configuration now in force (borrowed: the caller
 * keeps it alive until the next ward_profwatch_loaded or destroy). Clears the last error.
 * trigger says what caused it ("start", "inotify" or "kqueue", "SIGHUP", "reload command").
 */
void ward_profwatch_loaded(ward_profwatch_t *pw, const ward_confset_t *cs, const char *trigger);

/*
 * Record a failed attempt: err is the first error, diags (borrowed, may be NULL) every
 * diagnostic of the load. The previous configuration stays in force.
 */
void ward_profwatch_failed(ward_profwatch_t *pw, const ward_error_t *err, const json_t *diags,
                           const char *trigger);

/*
 * Record a start from the last good configuration (agent/lastgood.h) because the
 * sources did not load: file is the snapshot, saved_at when it was written, sources
 * (borrowed, NULL ok) the sources it came from then; err and diags as for
 * ward_profwatch_failed. The fallback stays marked, across failed reloads, until a load
 * of the sources succeeds (ward_profwatch_loaded).
 */
void ward_profwatch_fallback(ward_profwatch_t *pw, const char *file, int64_t saved_at,
                             const json_t *sources, const ward_error_t *err, const json_t *diags);

/* Whether the configuration in force is the last good one (the sources never loaded). */
bool ward_profwatch_in_fallback(const ward_profwatch_t *pw);

/* Whether the last attempt failed (its error is still shown). */
bool ward_profwatch_in_error(const ward_profwatch_t *pw);

/*
 * The record as JSON (a new reference), the "configuration" object of the status reply:
 *   {"config_file", "profiles_dir", "watching", "watch_error", "sources": [...],
 *    "fallback": bool, "fallback_saved_at", "fallback_file" (null unless fallback; the
 *    sources are then those of the last good configuration, as they were),
 *    "loaded_at", "loaded_trigger", "last_attempt", "reloads", "failures",
 *    "warnings": [text...], "last_error": null | {"message", "at", "trigger",
 *    "errors": [diag...]}}
 * Times are ISO-8601 UTC strings (null before the first event).
 */
json_t *ward_profwatch_status(const ward_profwatch_t *pw);

#endif
