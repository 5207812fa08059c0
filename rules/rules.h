/*
 * warden — the rule model, the SQLite store and the in-memory match index.
 *
 * Contract between rules/ and its users (wardenctl, wardend):
 *  - ward_rule_t is a plain value; strings are fixed-size and NUL-terminated.
 *  - The store (SQLite) is for wardenctl and the agent's control path, never the hot path.
 *  - The index is an immutable snapshot built from the store; the agent matches against
 *    it on every decision (no SQLite, no allocation) and swaps in a new one when the
 *    store's generation changes. ward_index_match is thread-safe on one snapshot.
 */
#ifndef WARD_RULES_RULES_H
#define WARD_RULES_RULES_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "common/error.h"
#include "common/limits.h"
#include "scanner/identity.h"

/* Rule types, in precedence order: the first type that matches wins. */
typedef enum {
	WARD_RT_CDHASH = 0,  /* 40 hex */
	WARD_RT_BINARY,      /* file SHA-256, 64 hex */
	WARD_RT_SIGNINGID,   /* "TEAMID:signing.id" or "platform:signing.id" */
	WARD_RT_CERTIFICATE, /* leaf certificate SHA-256, 64 hex */
	WARD_RT_TEAMID,      /* 10 chars A-Z0-9 */
	WARD_RT__COUNT
} ward_rule_type_t;

typedef enum {
	WARD_POL_ALLOWLIST = 0,
	WARD_POL_BLOCKLIST,
	WARD_POL_SILENT_BLOCKLIST,
	WARD_POL_ALLOWLIST_COMPILER,
	WARD_POL_REMOVE, /* import only: deletes the rule */
	WARD_POL__COUNT
} ward_policy_t;

typedef enum {
	WARD_SRC_LOCAL = 0,
	WARD_SRC_PROFILE,   /* managed: beats local for the same type+identifier */
	WARD_SRC_EXCEPTION,
	WARD_SRC_IMPORT,
	WARD_SRC_TRANSITIVE,
	WARD_SRC__COUNT
} ward_rule_source_t;

#define WARD_RULE_ID_MAX 300 /* longest identifier (a signing ID with team prefix) */

typedef struct ward_rule {
	int64_t id;                 /* store row id, 0 when not stored */
	ward_rule_type_t type;
	ward_policy_t policy;
	ward_rule_source_t source;
	char identifier[WARD_RULE_ID_MAX + 1]; /* canonical: hex lowercase */
	char custom_msg[WARD_MAX_RULE_TEXT + 1];
	char custom_url[WARD_MAX_RULE_TEXT + 1];
	char comment[WARD_MAX_RULE_TEXT + 1];
	int64_t expires_at;         /* unix seconds; 0 = never */
	int64_t created_at;
	char created_by[64];
} ward_rule_t;

/* The identities of one file that rules can match, in canonical string form
 * (empty string = this identity is absent). Filled by ward_match_key_from_identity. */
typedef struct ward_match_key {
	char cdhash[2 * WARD_CDHASH_LEN + 1];
	char sha256[2 * WARD_SHA256_LEN + 1];
	char signing_id[WARD_RULE_ID_MAX + 1]; /* already prefixed "TEAMID:" or "platform:" */
	char certificate[2 * WARD_SHA256_LEN + 1];
	char team_id[WARD_MAX_TEAM_ID + 1];
} ward_match_key_t;

/* Names as in Santa's JSON: "CDHASH", "BINARY", ...; "ALLOWLIST", "BLOCKLIST", ... */
const char *ward_rule_type_name(ward_rule_type_t t);
const char *ward_policy_name(ward_policy_t p);
const char *ward_rule_source_name(ward_rule_source_t s);
ward_err_t ward_rule_type_parse(const char *s, ward_rule_type_t *out, ward_error_t *err);
ward_err_t ward_policy_parse(const char *s, ward_policy_t *out, ward_error_t *err);

/* Validate and canonicalize identifier for type (hex lowercased). Error names the field. */
ward_err_t ward_rule_identifier_canon(ward_rule_type_t type, const char *in,
                                      char out[WARD_RULE_ID_MAX + 1], ward_error_t *err);

/* Fill key from a file identity (primary slice for Mach-O; sha256 if present). */
void ward_match_key_from_identity(const ward_identity_t *id, ward_match_key_t *key);

/* ---------------------------------------------------------------- store */
typedef struct ward_store ward_store_t;

#define WARD_STORE_READONLY 0x1u
#define WARD_STORE_CREATE   0x2u

/* Open (and migrate) the store at path. *out is NULL on error. */
ward_err_t ward_store_open(const char *path, unsigned flags, ward_store_t **out, ward_error_t *err);
void ward_store_close(ward_store_t *st); /* NULL ok */

/* Insert or replace (same type+identifier+source) one rule; REMOVE deletes. */
ward_err_t ward_store_put(ward_store_t *st, const ward_rule_t *rule, ward_error_t *err);
ward_err_t ward_store_remove(ward_store_t *st, ward_rule_type_t type, const char *identifier,
                             ward_rule_source_t source, ward_error_t *err);

/* Monotonic counter bumped by every change (any process); cheap to poll. */
ward_err_t ward_store_generation(ward_store_t *st, uint64_t *gen, ward_error_t *err);

/* Call fn for every rule (ordered by type, identifier). fn returns non-zero to stop. */
ward_err_t ward_store_foreach(ward_store_t *st, int (*fn)(const ward_rule_t *r, void *arg),
                              void *arg, ward_error_t *err);

/* ---------------------------------------------------------------- index */
typedef struct ward_index ward_index_t;

/* Build an immutable snapshot of every rule in st. *out NULL on error. */
ward_err_t ward_index_build(ward_store_t *st, ward_index_t **out, ward_error_t *err);
void ward_index_free(ward_index_t *ix); /* NULL ok */
uint64_t ward_index_generation(const ward_index_t *ix);
size_t ward_index_count(const ward_index_t *ix);

/*
 * The rule that decides key at time now (first hit in precedence order; managed beats
 * local for the same type+identifier; expired rules never match), or NULL. The
 * returned pointer lives as long as ix. No allocation, no locks.
 */
const ward_rule_t *ward_index_match(const ward_index_t *ix, const ward_match_key_t *key,
                                    int64_t now);

#endif
