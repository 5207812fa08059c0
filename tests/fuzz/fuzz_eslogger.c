/*
 * libFuzzer target for the eslogger JSON reader (agent/backends/es/eslogger.c): one
 * input is one recording line, as `wardenctl simulate --eslogger` feeds them. Whatever
 * the bytes, the reader returns an error code or an event whose strings are
 * NUL-terminated within their buffers, and the match key built from it is canonical.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "agent/backends/es/eslogger.h"
#include "rules/rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static ward_es_event_t ev;
	ward_error_t err;
	ward_match_key_t key;

	if (ward_eslogger_parse((const char *)data, size, &ev, &err) != WARD_OK)
		return 0;
	if (memchr(ev.file.path, '\0', sizeof(ev.file.path)) == NULL ||
	    memchr(ev.target.hints.team_id, '\0', sizeof(ev.target.hints.team_id)) == NULL ||
	    memchr(ev.target.hints.signing_id, '\0', sizeof(ev.target.hints.signing_id)) == NULL)
		__builtin_trap();
	ward_es_match_key(&ev.target.hints, &key);
	if (key.cdhash[0] != '\0' && strlen(key.cdhash) != 40)
		__builtin_trap();
	return 0;
}
