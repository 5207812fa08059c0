/*
 * Apple's eslogger(1) output, one JSON object per line (es_message_t as JSON), read back
 * into the mapping layer's event so a recording of a pilot Mac can be replayed through
 * the policy (wardenctl simulate --eslogger). Untrusted input: bounded by
 * WARD_ESLOGGER_MAX_LINE, every field type-checked, fuzzed (tests/fuzz/fuzz_eslogger.c).
 */
#ifndef WARD_ES_ESLOGGER_H
#define WARD_ES_ESLOGGER_H

#include <stddef.h>

#include "agent/backends/es/es_map.h"
#include "common/error.h"

/*
 * Parse one line. Exec events (event_type 9 NOTIFY_EXEC, 0 AUTH_EXEC) fill kind EXEC,
 * proc (the caller), target (the new image: hints from cdhash, team_id, signing_id,
 * is_platform_binary, codesigning_flags) and file (the image's path). Open events (10
 * NOTIFY_OPEN, 1 AUTH_OPEN) fill kind OPEN, proc, file, fflag and access. Returns
 * WARD_E_UNSUPPORTED for other event types, WARD_E_MALFORMED / WARD_E_LIMIT with the
 * field named for bad input.
 */
ward_err_t ward_eslogger_parse(const char *line, size_t len, ward_es_event_t *out,
                               ward_error_t *err);

#endif
