/*
 * An emulation of the EndpointSecurity C API subset in agent/backends/es/es_api.h, on
 * Linux, over fanotify(7): the test double that lets agent/backends/es.c run unchanged
 * against real execs and opens on a private tmpfs. It enforces ES's contract as Apple
 * documents it, so a backend that breaks it fails here before it fails on a Mac:
 *   - an AUTH message not answered by its deadline kills the client (SIGKILL) and the
 *     pending operation proceeds (the fanotify group dies with the process);
 *   - a second response to a message is ES_RESPOND_RESULT_ERR_DUPLICATE_RESPONSE, a
 *     response of the wrong kind (auth result for AUTH_OPEN) ES_RESPOND_RESULT_ERR_EVENT_TYPE;
 *   - a response to a message that is no longer alive (released, never retained) aborts;
 *   - cached results answer later events for the same file until it is modified;
 *   - process muting, path and target-path muting, inverted target-path muting;
 *   - AUTH_OPEN is answered with flags: the open fails unless every flag it asked for
 *     is authorized;
 *   - es_retain_message/es_release_message are counted: a message still retained when
 *     its client is deleted is a leak, and with strict on the process exits 86;
 *   - the message version is configurable; fields newer than it hold a poison pointer,
 *     so a backend that reads past its version gate crashes.
 * Limits (fanotify has no equivalent): AUTH_OPEN reports FREAD only (fanotify does not
 * say which mode was asked for); NOTIFY_EXIT, RENAME, UNLINK and UNMOUNT are never
 * delivered; there are no code signatures (codesigning_flags 0); a child forked by the
 * client holds the fanotify group until its exec succeeds.
 *
 * Configuration: ward_es_emul_configure() before the first es_new_client, or the
 * environment: WARD_ES_EMUL_WATCH (':'-separated paths whose mounts are marked,
 * required), WARD_ES_EMUL_VERSION (1..7, default 6), WARD_ES_EMUL_DEADLINE_MS (default
 * 60000), WARD_ES_EMUL_STRICT (1: exit 86 at exit if a retained message leaked).
 */
#ifndef WARD_ES_EMUL_H
#define WARD_ES_EMUL_H

#include <stdbool.h>
#include <stdint.h>

#include "agent/backends/es/es_api.h"

#define WARD_ES_EMUL_MAX_WATCH 16
#define WARD_ES_EMUL_LEAK_EXIT 86

typedef struct ward_es_emul_opts {
	const char *watch[WARD_ES_EMUL_MAX_WATCH + 1]; /* NULL-terminated */
	uint32_t version;
	uint64_t deadline_ns;
	unsigned clear_cache_per_s; /* es_clear_cache calls a second before ERR_THROTTLE */
	bool strict;
} ward_es_emul_opts_t;

/* Replace the configuration (copied). Call before es_new_client. */
void ward_es_emul_configure(const ward_es_emul_opts_t *o);

typedef struct ward_es_emul_stats {
	uint64_t delivered;     /* messages given to a handler */
	uint64_t cache_hits;    /* AUTH events answered from the cache */
	uint64_t muted;         /* events not delivered because of muting */
	uint64_t live;          /* messages alive now (delivered and not yet freed) */
	uint64_t leaked;        /* messages still retained when their client was deleted */
	uint64_t duplicates;    /* second responses refused */
} ward_es_emul_stats_t;

void ward_es_emul_stats(ward_es_emul_stats_t *out);

#endif
