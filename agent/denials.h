/*
 * Recent denials per user, for `wardenctl blocked`: a small bounded memory the event
 * log writer feeds (off the decision path) and the control socket reads. At most
 * WARD_DENIAL_UIDS users (the least recently denied one is forgotten first) and
 * WARD_DENIALS_PER_UID files per user (the oldest is forgotten first); the same file
 * denied again updates its entry. Thread-safe. Silent denials are not kept: a
 * SILENT_BLOCKLIST rule must not tell the user anything.
 */
#ifndef WARD_AGENT_DENIALS_H
#define WARD_AGENT_DENIALS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "agent/engine/verdict.h"
#include "common/error.h"

typedef struct ward_denials ward_denials_t;

ward_err_t ward_denials_create(ward_denials_t **out, ward_error_t *err);
void ward_denials_destroy(ward_denials_t *d); /* NULL ok */

/*
 * Remember that uid was denied path (sha256: 64 hex or "" when unknown) at when, for
 * reason. Paths longer than PATH_MAX - 1 are ignored. Never blocks on I/O.
 */
void ward_denials_note(ward_denials_t *d, uid_t uid, int64_t when, const char *path,
                       const char *sha256, ward_reason_t reason);

/*
 * uid's remembered denials, newest first, as a JSON array of
 * {"time", "path", "sha256", "reason", "count", "request_hint"} (request_hint null when
 * an exception request cannot help: see ward_denial_requestable). New reference.
 */
json_t *ward_denials_json(ward_denials_t *d, uid_t uid);

/* Whether an exception request can lift a denial of this reason: the mode denied an
 * unknown program, or the YARA scan did. A rule's block, a fallback verdict (deadline,
 * queue full, shutdown) or an unreadable file cannot. */
bool ward_denial_requestable(ward_reason_t r);

/*
 * The ready-to-run request command for path, shell-quoted:
 *   wardenctl request '/path/to/tool' --reason 'why you need it'
 * Returns false (buf empty) if it does not fit in cap or path is not printable text.
 */
bool ward_request_hint(const char *path, char *buf, size_t cap);

#endif
