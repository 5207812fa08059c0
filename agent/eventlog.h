/*
 * The event log: one JSON object per line per decision, written by its own thread from
 * a bounded ring so that no decision ever waits on the disk. When the ring is full the
 * record is dropped and counted. Reopened on request (SIGHUP, for logrotate).
 *
 * Line format (docs/agent.md): time, kind, decision, reason, cached, mode, rule, path,
 * sha256, cdhash, team_id, signing_id, pid, ppid, uid, argv, latency_us, detail.
 */
#ifndef WARD_AGENT_EVENTLOG_H
#define WARD_AGENT_EVENTLOG_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "agent/backend.h"
#include "agent/backends/procinfo.h"
#include "agent/engine/verdict.h"
#include "common/error.h"
#include "profiles/config.h"

typedef struct ward_evrec {
	struct timespec when;       /* CLOCK_REALTIME of the decision */
	ward_event_kind_t kind;
	ward_verdict_t v;
	ward_mode_t mode;
	pid_t pid;
	uint64_t latency_us;        /* event read -> response written */
	char path[PATH_MAX];
	char team_id[WARD_MAX_TEAM_ID + 1];
	char signing_id[WARD_RULE_ID_MAX + 1];
	char rule_identifier[WARD_RULE_ID_MAX + 1]; /* empty when unknown (cache hits) */
	char detail[WARD_ERRMSG_MAX + 64]; /* why, when the reason needs words (error text, trust) */
	ward_procinfo_t proc;       /* the caller, read from /proc when the event was decided */
} ward_evrec_t;

typedef struct ward_evlog ward_evlog_t;

/* Open (append, create 0640) path. *out NULL on error. Records submitted before
 * ward_evlog_start wait in the ring. */
ward_err_t ward_evlog_open(const char *path, unsigned ring, ward_evlog_t **out, ward_error_t *err);

/* Start the writer thread (separate from open so a daemon can fork in between: fork
 * copies only the calling thread). */
ward_err_t ward_evlog_start(ward_evlog_t *l, ward_error_t *err);

/* Copy r into the ring. Never blocks on I/O; returns false (and counts a drop) if full. */
bool ward_evlog_submit(ward_evlog_t *l, const ward_evrec_t *r);

/* Called by the writer thread with every record, before it is formatted (never on the
 * decision path). Used by agent/exceptions.c to remember recent denials per user.
 * (A denial an exception could lift also gets "request_hint" in its line.) */
typedef void (*ward_evlog_hook_fn)(void *arg, const ward_evrec_t *r);
void ward_evlog_set_hook(ward_evlog_t *l, ward_evlog_hook_fn fn, void *arg);

/* Ask the writer to reopen the file (after the next wakeup). */
void ward_evlog_reopen(ward_evlog_t *l);

void ward_evlog_stats(ward_evlog_t *l, uint64_t *written, uint64_t *dropped, uint64_t *errors);
/* The errno of the last failed write (or reopen) and when (unix s); 0, 0: none. NULL ok. */
void ward_evlog_last_error(ward_evlog_t *l, int *err_no, int64_t *at);

/* Write what is queued, stop the thread, close. NULL ok. */
void ward_evlog_close(ward_evlog_t *l);

/* Format one line (without the newline) into a malloc'd string. */
char *ward_evlog_format(const ward_evrec_t *r);

#endif
