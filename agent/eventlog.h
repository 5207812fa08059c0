/*
 * The event log: one JSON object per line per decision, written by its own thread from
 * a bounded ring so that no decision ever waits on the disk. When the ring is full the
 * record is dropped and counted. Reopened on request (SIGHUP, for logrotate).
 *
 * Line format (docs/agent.md): time, kind, decision, reason, cached, mode, rule, path,
 * sha256, cdhash, team_id, signing_id, pid, ppid, uid, argv or caller_argv, latency_us,
 * detail. The writer turns the record's typed facts into the detail sentence.
 */
#ifndef WARD_AGENT_EVENTLOG_H
#define WARD_AGENT_EVENTLOG_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "agent/backend.h"
#include "agent/engine/record.h"
#include "common/error.h"
#include "profiles/config.h"

/* The log writes the engine's decision records (agent/engine/record.h). */
typedef ward_record_t ward_evrec_t;

typedef struct ward_evlog ward_evlog_t;

/* Open (append, create 0640) path. *out NULL on error. Records submitted before
 * ward_evlog_start wait in the ring. */
ward_err_t ward_evlog_open(const char *path, unsigned ring, ward_evlog_t **out, ward_error_t *err);

/* Start the writer thread (separate from open so a daemon can fork in between: fork
 * copies only the calling thread). */
ward_err_t ward_evlog_start(ward_evlog_t *l, ward_error_t *err);

/* Copy r into the ring. Never blocks on I/O; returns false (and counts a drop) if full. */
bool ward_evlog_submit(ward_evlog_t *l, const ward_evrec_t *r);

/* Queue a line that is not a decision (an exception's state change: request, approve,
 * deny, expire): "time" is added and o is written as one line by the writer thread, in
 * order with the decisions. Does not take o's reference. False (and a drop counted)
 * when the small ring of such lines is full. */
bool ward_evlog_submit_json(ward_evlog_t *l, json_t *o);

/* Called by the writer thread with every record, before it is formatted (never on the
 * decision path). Used by agent/exceptions.c to remember recent denials per user.
 * (A denial an exception could lift also gets "request_hint" in its line.) */
typedef void (*ward_evlog_hook_fn)(void *arg, const ward_evrec_t *r);
void ward_evlog_set_hook(ward_evlog_t *l, ward_evlog_hook_fn fn, void *arg);

/* Ask the writer to reopen the file (after the next wakeup). */
void ward_evlog_reopen(ward_evlog_t *l);

void ward_evlog_stats(ward_evlog_t *l, uint64_t *written, uint64_t *dropped, uint64_t *errors);

/* Write what is queued, stop the thread, close. NULL ok. */
void ward_evlog_close(ward_evlog_t *l);

/* Format one line (without the newline) into a malloc'd string. */
char *ward_evlog_format(const ward_evrec_t *r);

#endif
