/*
 * The sync spool: decisions worth telling the fleet's sync server about, kept on disk
 * until warden-sync has uploaded them and the server accepted them (docs/sync.md).
 *
 * Written by the event log's writer thread (ward_syncspool_hook, after the kernel got
 * its answer, never on the decision path); read and acknowledged from the main thread
 * through the control socket (sync_events, sync_ack). One SQLite file next to the rule
 * store, so the spool survives restarts; bounded at max events: when full, the oldest
 * event is dropped and counted. An event leaves the spool only by ward_syncspool_ack
 * (the server accepted it) or by being the oldest of a full spool.
 *
 * Thread-safe (one mutex around the connection).
 */
#ifndef WARD_AGENT_SYNCSPOOL_H
#define WARD_AGENT_SYNCSPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "agent/eventlog.h"
#include "common/error.h"

typedef struct ward_syncspool ward_syncspool_t;

typedef struct ward_syncspool_stats {
	uint64_t depth;    /* events waiting for upload */
	uint64_t spooled;  /* events ever added (kept across restarts) */
	uint64_t uploaded; /* events acknowledged */
	uint64_t dropped;  /* oldest events dropped because the spool was full */
	uint64_t errors;   /* events that could not be written */
} ward_syncspool_stats_t;

/* Open (create 0600) the spool at path, keeping at most max events (1..WARD_SPOOL_MAX_EVENTS
 * is checked by the caller). *out NULL on error. */
ward_err_t ward_syncspool_open(const char *path, uint64_t max, ward_syncspool_t **out,
                               ward_error_t *err);
void ward_syncspool_close(ward_syncspool_t *sp); /* NULL ok */

/* Whether a decision is one Santa's sync uploads: every denial, and programs no rule
 * knew that MONITOR allowed (ALLOW_UNKNOWN). */
bool ward_syncspool_wanted(const ward_evrec_t *r);

/* The event in Santa's eventupload shape (file_sha256, file_path, file_name,
 * executing_user, execution_time, decision, pid, ppid, parent_name, team_id,
 * signing_id, cdhash, ...). A new reference; NULL when out of memory. */
json_t *ward_syncspool_event_json(const ward_evrec_t *r);

/* Add one event (its Santa JSON); drops the oldest when full. */
ward_err_t ward_syncspool_add(ward_syncspool_t *sp, const json_t *event, ward_error_t *err);

/* The event log hook: arg is the spool; adds r when ward_syncspool_wanted. */
void ward_syncspool_hook(void *arg, const ward_evrec_t *r);

/*
 * The oldest events with an id above after, at most max of them and about max_bytes of
 * JSON text: a new array of {"id": n, "event": {...}} in *out. They stay in the spool.
 */
ward_err_t ward_syncspool_take(ward_syncspool_t *sp, int64_t after, size_t max, size_t max_bytes,
                               json_t **out, ward_error_t *err);

/* Remove the events with these ids (the server accepted them); *removed how many were
 * still there. Ids not in the spool are not an error (dropped meanwhile). */
ward_err_t ward_syncspool_ack(ward_syncspool_t *sp, const int64_t *ids, size_t n, size_t *removed,
                              ward_error_t *err);

void ward_syncspool_stats(ward_syncspool_t *sp, ward_syncspool_stats_t *st);

#endif
