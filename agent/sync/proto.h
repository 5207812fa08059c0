/*
 * Santa's sync protocol (JSON flavour), the parts that need no network: request bodies,
 * the checks on every response, zlib. Shared by warden-sync (agent/sync/warden-sync.c),
 * which speaks to the server, and wardend (agent/syncd.c), which checks again what
 * warden-sync hands it. docs/sync.md has the protocol as warden speaks it.
 *
 * Every response is untrusted: at most WARD_MAX_SYNC_RESPONSE bytes, a JSON object,
 * each field checked for type and range; rules are read one object at a time exactly as
 * a rule import reads them (ward_rule_batch_add_santa). Errors name the field.
 */
#ifndef WARD_AGENT_SYNC_PROTO_H
#define WARD_AGENT_SYNC_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/error.h"
#include "common/limits.h"
#include "profiles/config.h"
#include "rules/rules.h"

typedef enum {
	WARD_SYNC_NORMAL = 0, /* rules are added / replaced / REMOVEd */
	WARD_SYNC_CLEAN,      /* the synced rules are replaced by the download */
	WARD_SYNC_CLEAN_ALL,  /* ... and transitive rules are dropped too */
} ward_sync_type_t;

const char *ward_sync_type_name(ward_sync_type_t t); /* "normal", "clean", "clean_all" */

/* What a preflight response may set; has_* false: the server did not say. */
typedef struct ward_sync_settings {
	bool has_mode;
	ward_mode_t mode;                 /* client_mode: MONITOR / LOCKDOWN */
	bool has_batch_size;
	uint32_t batch_size;              /* batch_size: events per eventupload, 1..WARD_SYNC_MAX_BATCH */
	bool has_allowed_regex, has_blocked_regex; /* allowed_path_regex / blocked_path_regex */
	char allowed_regex[WARD_MAX_PATH_REGEX + 1];
	char blocked_regex[WARD_MAX_PATH_REGEX + 1];
	bool has_transitive;
	bool enable_transitive;           /* enable_transitive_rules */
	bool has_full_sync_interval;
	uint32_t full_sync_interval_s;    /* full_sync_interval: 60 s .. 7 days */
	ward_sync_type_t sync_type;       /* sync_type, or the older clean_sync: true */
} ward_sync_settings_t;

/*
 * The settings of a preflight response object (also what warden-sync sends wardend in
 * sync_commit). Unknown keys are ignored (servers send more than Santa reads); a key
 * with a wrong type or out of range is an error naming it. A regex must compile as
 * wardend compiles path regexes.
 */
ward_err_t ward_sync_settings_from_json(const json_t *o, ward_sync_settings_t *out, ward_error_t *err);
json_t *ward_sync_settings_to_json(const ward_sync_settings_t *s);

/* A response body that must be one JSON object (preflight, postflight): *out a new
 * reference. Empty bodies are an empty object (some servers answer postflight so). */
ward_err_t ward_sync_parse_object(const char *body, size_t len, json_t **out, ward_error_t *err);

/*
 * One ruledownload page: its rules go into batch (source SYNC; *index counts rules over
 * all pages, for error messages), *cursor gets the page's cursor (a new reference, a
 * string or a number as the server sent it; NULL: this was the last page).
 */
ward_err_t ward_sync_parse_rules(const char *body, size_t len, ward_rule_batch_t *batch,
                                 size_t *index, json_t **cursor, ward_error_t *err);

/* Compress in with zlib (RFC 1950), as Santa sends request bodies (Content-Encoding:
 * deflate). *out malloc'd. */
ward_err_t ward_sync_deflate(const void *in, size_t len, unsigned char **out, size_t *outlen,
                             ward_error_t *err);

/* Decompress a zlib body into at most max bytes (tests and the fuzz target). */
ward_err_t ward_sync_inflate(const void *in, size_t len, size_t max, char **out, size_t *outlen,
                             ward_error_t *err);

/* The SHA-256 (hex) of a set of synced rules, as sent in preflight and postflight
 * (rules_hash): over "TYPE:identifier:POLICY\n" lines in (type, identifier) order. */
typedef struct ward_sync_hash ward_sync_hash_t;
ward_sync_hash_t *ward_sync_hash_new(void);
void ward_sync_hash_add(ward_sync_hash_t *h, const ward_rule_t *r);
void ward_sync_hash_final(ward_sync_hash_t *h, char out[65]); /* frees h */

#endif
