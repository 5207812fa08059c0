/*
 * The EndpointSecurity backend (agent/backends/es.c) behind agent/backend.h. On macOS it
 * talks to libEndpointSecurity; on Linux the same source runs against the emulation in
 * agent/backends/es_emul/ (wardend-es, the integration tests).
 */
#ifndef WARD_ES_BACKEND_H
#define WARD_ES_BACKEND_H

#include "agent/backend.h"

typedef struct ward_es_opts {
	/* The verdict when the engine has not answered by the event's deadline_ns plus a
	 * quarter of the headroom (the last line before ES kills the client). NULL: ALLOW.
	 * Called from the backend's timer thread, lock-free. */
	ward_decision_t (*fallback)(void *arg);
	void *fallback_arg;
	/* Watch items: path prefixes whose opens are authorized (AUTH_OPEN on a third
	 * client with inverted target-path muting, so no other open reaches warden).
	 * NULL-terminated; NULL or empty: no AUTH_OPEN. */
	const char *const *open_prefixes;
} ward_es_opts_t;

/*
 * Create the backend: an AUTH client (AUTH_EXEC), a NOTIFY client (CLOSE, EXIT,
 * RENAME, UNLINK, UNMOUNT) and, with open_prefixes, an OPEN client (AUTH_OPEN), with
 * this process muted on each. The clients start in ops->run. *out NULL on error (no
 * entitlement, not root, too many clients: the message says which).
 */
ward_err_t ward_es_open(const ward_es_opts_t *opts, ward_backend_t **out, ward_error_t *err);

/* Counters of the NOTIFY client, by mapped kind (WARD_ES_K_*), for status and tests. */
typedef struct ward_es_counts {
	uint64_t auth, opens, notify, modified, renamed, unlinked, exited, unmounted;
	uint64_t stale;          /* cache bit withheld: the file changed before the answer */
	uint64_t late_fallbacks; /* AUTH answered by the backend's own deadline timer */
	uint64_t mismatched;     /* file opened by path was not the file ES reported */
	uint64_t clear_throttled;
	uint64_t clears;         /* es_clear_cache calls that succeeded */
	bool ready;              /* both clients subscribed: events flow */
} ward_es_counts_t;
void ward_es_counts(const ward_backend_t *b, ward_es_counts_t *out);

#endif
