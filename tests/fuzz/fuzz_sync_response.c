/*
 * libFuzzer target: what a sync server can send warden-sync (agent/sync/proto.c). The
 * first byte picks the stage: preflight (an object, then its settings), ruledownload (a
 * page of rules into a batch), or a zlib body inflated then read as a page. Beyond "does
 * not crash": every rule a page yields is a valid rule of source SYNC, a cursor is a
 * non-empty string within the limit or an integer, and settings survive the round trip
 * through the control message (ward_sync_settings_to_json / _from_json).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/sync/proto.h"

static void check_page(const char *buf, size_t len)
{
	ward_rule_batch_t *b = NULL;
	json_t *cur = NULL;
	size_t idx = 0, n;
	const ward_rule_t *r;

	if (ward_rule_batch_create(&b, NULL) != WARD_OK)
		abort();
	if (ward_sync_parse_rules(buf, len, b, &idx, &cur, NULL) == WARD_OK) {
		r = ward_rule_batch_rules(b, &n);
		if (n != idx)
			abort();
		for (size_t i = 0; i < n; i++)
			if (r[i].source != WARD_SRC_SYNC || ward_rule_validate(&r[i], NULL) != WARD_OK)
				abort();
		if (cur != NULL && !json_is_integer(cur) &&
		    !(json_is_string(cur) && json_string_length(cur) > 0 &&
		      json_string_length(cur) <= WARD_MAX_SYNC_CURSOR))
			abort();
	} else if (cur != NULL) {
		abort();
	}
	json_decref(cur);
	ward_rule_batch_free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data + 1;
	size_t len = size ? size - 1 : 0;

	if (size == 0)
		return 0;
	switch (data[0] % 3) {
	case 0: {
		json_t *o = NULL, *j;
		ward_sync_settings_t s, back;
		if (ward_sync_parse_object(buf, len, &o, NULL) != WARD_OK)
			break;
		if (ward_sync_settings_from_json(o, &s, NULL) == WARD_OK) {
			j = ward_sync_settings_to_json(&s);
			if (ward_sync_settings_from_json(j, &back, NULL) != WARD_OK ||
			    memcmp(&s, &back, sizeof(s)) != 0)
				abort();
			json_decref(j);
		}
		json_decref(o);
		break;
	}
	case 1:
		check_page(buf, len);
		break;
	default: {
		char *out = NULL;
		size_t olen;
		if (ward_sync_inflate(buf, len, 1u << 20, &out, &olen, NULL) == WARD_OK) {
			if (olen > (1u << 20))
				abort();
			check_page(out, olen);
			free(out);
		}
		break;
	}
	}
	return 0;
}
