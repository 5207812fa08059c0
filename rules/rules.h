/*
 * warden — the rule model, the SQLite store and the in-memory match index.
 *
 * Contract between rules/ and its users (wardenctl, wardend):
 *  - ward_rule_t is a small value whose strings are borrowed pointers: on input (put,
 *    apply) the caller owns them and NULL means ""; on output (foreach, find, match) they
 *    are never NULL and live as long as documented at the function (the callback, or the
 *    index). Keeping strings out of the struct is what lets a 1M-rule index fit in
 *    ~150 MB instead of 3.5 GB (see docs/rules.md).
 *  - The store (SQLite) is for wardenctl and the agent's control path, never the hot path.
 *  - The index is an immutable snapshot built from the store; the agent matches against
 *    it on every decision (no SQLite, no allocation) and swaps in a new one when the
 *    store's generation changes. ward_index_match is thread-safe on one snapshot.
 *
 * Slots. For one type+identifier there is at most one rule per slot: the managed slot
 * (source PROFILE), the sync slot (SYNC: rules a sync server sent, see docs/sync.md),
 * the administrator slot (sources LOCAL, IMPORT, EXCEPTION: the last writer replaces the
 * rule, as in Santa) and the transitive slot (TRANSITIVE). At match time managed beats
 * sync beats administrator beats transitive.
 */
#ifndef WARD_RULES_RULES_H
#define WARD_RULES_RULES_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <jansson.h>

#include "common/error.h"
#include "common/limits.h"
#include "common/paths.h"
#include "scanner/identity.h"

#define WARD_STORE_DEFAULT_PATH WARD_DEFAULT_DB

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
	WARD_SRC_SYNC,      /* from the fleet's sync server (warden-sync) */
	WARD_SRC__COUNT
} ward_rule_source_t;

#define WARD_RULE_ID_MAX 300 /* longest identifier (a signing ID with team prefix) */

typedef struct ward_rule {
	int64_t id;                 /* store row id, 0 when not stored */
	ward_rule_type_t type;
	ward_policy_t policy;
	ward_rule_source_t source;
	const char *identifier;     /* canonical: hex lowercase, team IDs uppercase */
	const char *custom_msg;     /* at most WARD_MAX_RULE_TEXT bytes each */
	const char *custom_url;
	const char *comment;
	int64_t expires_at;         /* unix seconds; 0 = never; matches while now < expires_at */
	int64_t created_at;
	const char *created_by;     /* user name or "uid:N"; at most 63 bytes */
} ward_rule_t;

/* The identities of one file that rules can match, in canonical string form
 * (empty string = this identity is absent). Filled by ward_match_key_from_slice. */
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
const char *ward_rule_source_name(ward_rule_source_t s); /* "local", "profile", ... */
/* Case-insensitive. Policies also accept Santa's older WHITELIST / BLACKLIST /
 * SILENT_BLACKLIST / WHITELIST_COMPILER and map SILENT_GUI_BLOCKLIST and
 * SILENT_TTY_BLOCKLIST to SILENT_BLOCKLIST; CEL and ALLOWLIST_LOCAL_* are
 * WARD_E_UNSUPPORTED, anything else WARD_E_INVAL. */
ward_err_t ward_rule_type_parse(const char *s, ward_rule_type_t *out, ward_error_t *err);
ward_err_t ward_policy_parse(const char *s, ward_policy_t *out, ward_error_t *err);
ward_err_t ward_rule_source_parse(const char *s, ward_rule_source_t *out, ward_error_t *err);

/* True for BLOCKLIST and SILENT_BLOCKLIST. */
bool ward_policy_blocks(ward_policy_t p);

/* Validate and canonicalize identifier for type (hex lowercased). Error names the field. */
ward_err_t ward_rule_identifier_canon(ward_rule_type_t type, const char *in,
                                      char out[WARD_RULE_ID_MAX + 1], ward_error_t *err);

/*
 * Check a whole rule before it is stored: policy and source in range, identifier
 * canonical for its type, texts within WARD_MAX_RULE_TEXT, created_by within 63 bytes,
 * expires_at >= 0. The error names the field.
 */
ward_err_t ward_rule_validate(const ward_rule_t *r, ward_error_t *err);

/*
 * Parse an expiry: a duration from now ("90s", "30m", "12h", "7d", "2w") or an
 * ISO-8601 UTC instant ("2026-12-31", "2026-12-31T00:00:00Z", "...+02:00"). *out is
 * unix seconds. Durations must be positive.
 */
ward_err_t ward_rule_time_parse(const char *s, int64_t now, int64_t *out, ward_error_t *err);

/* Format t as "YYYY-MM-DDTHH:MM:SSZ" into buf (at least 32 bytes). */
void ward_rule_time_format(int64_t t, char buf[32]);

/*
 * Fill key from one slice of a file identity (slice < id->nslices; WARD_NO_SLICE for a
 * file without slices, or to key on the SHA-256 alone): sha256 when the identity has it;
 * from the slice, the cdhash when the signature is adhoc or signed, and team ID, signing
 * ID ("TEAMID:id") and leaf certificate only when it is signed. An invalid signature
 * gives no signing identities. Never produces "platform:" signing IDs: only the kernel
 * (ES's is_platform_binary) can say a binary is Apple's, and a backend that knows it
 * fills key->signing_id itself. Values not in canonical rule form are left empty.
 */
#define WARD_NO_SLICE (~0u)
void ward_match_key_from_slice(const ward_identity_t *id, unsigned slice, ward_match_key_t *key);

/*
 * The keys of a whole file: one per slice (keys[i] is slices[i]), or one (SHA-256 only)
 * for a file without slices. Returns how many (1..WARD_MAX_SLICES). A universal binary
 * has no single identity: which slice runs is the kernel's choice on the machine that
 * runs it, so every slice is a key and ward_index_match_keys says what the file gets.
 */
unsigned ward_match_keys_from_identity(const ward_identity_t *id,
                                       ward_match_key_t keys[WARD_MAX_SLICES]);

/* The identities that all n keys share (the others left empty): what names a whole
 * universal binary, e.g. its SHA-256 and, when every slice has the same, its team ID and
 * signing ID; never a CDHash of one slice. */
void ward_match_key_common(const ward_match_key_t *keys, unsigned n, ward_match_key_t *out);

/*
 * The key of a signature a kernel already verified (EndpointSecurity: cdhash, team ID,
 * signing ID, platform binary). cdhash may be NULL; a malformed team or signing ID is
 * left out (it could never be a rule). A platform binary's signing ID is keyed
 * "platform:<id>", another's "<team>:<id>". No SHA-256 or certificate: the caller adds
 * them if it read the file.
 */
void ward_match_key_from_signature(const uint8_t *cdhash, const char *team_id,
                                   const char *signing_id, bool platform, ward_match_key_t *key);

/* ---------------------------------------------------------------- store */
typedef struct ward_store ward_store_t;

#define WARD_STORE_READONLY 0x1u
#define WARD_STORE_CREATE   0x2u

/*
 * Open (and migrate) the store at path. *out is NULL on error. path ":memory:" opens a
 * private in-memory store (tests, fuzzing). Refuses (WARD_E_PERM) a database file, its
 * -wal/-shm files or its directory that is owned by a user other than root or the
 * caller, or writable by group or others. With WARD_STORE_CREATE a missing file is
 * created 0600 (and a missing last directory 0700); without it a missing file is
 * WARD_E_NOTFOUND. A file that is not a warden database, or is corrupt, is WARD_E_DB.
 * A handle is used by one thread at a time.
 */
ward_err_t ward_store_open(const char *path, unsigned flags, ward_store_t **out, ward_error_t *err);
void ward_store_close(ward_store_t *st); /* NULL ok */

/* Schema version of the open store (== the newest this build knows after open). */
int ward_store_schema_version(ward_store_t *st);

/* Insert or replace the rule in its slot (type+identifier+slot of source); REMOVE
 * deletes that slot's rule (no error if absent). created_at 0 means now. */
ward_err_t ward_store_put(ward_store_t *st, const ward_rule_t *rule, ward_error_t *err);

/* Delete the rule of type+identifier in the slot of source (LOCAL, IMPORT and EXCEPTION
 * share the administrator slot). WARD_E_NOTFOUND if there is none. */
ward_err_t ward_store_remove(ward_store_t *st, ward_rule_type_t type, const char *identifier,
                             ward_rule_source_t source, ward_error_t *err);

typedef struct ward_apply_stats {
	size_t put;      /* rules inserted or replaced */
	size_t removed;  /* REMOVE rules that deleted a rule */
	size_t absent;   /* REMOVE rules that found nothing to delete */
	size_t cleared;  /* rules deleted by ward_store_replace_source before the batch */
	size_t refused;  /* Santa JSON: CEL rules (cel_expr, policy CEL) left out */
	char refused_names[512]; /* ... named "TYPE identifier, ..." (truncated with "...") */
} ward_apply_stats_t;

/*
 * Apply n rules in one transaction: all or nothing. Every rule is validated first; the
 * same type+identifier twice in one batch is WARD_E_EXISTS. Errors name the rule as
 * "rules[i]". stats may be NULL.
 */
ward_err_t ward_store_apply(ward_store_t *st, const ward_rule_t *rules, size_t n,
                            ward_apply_stats_t *stats, ward_error_t *err);

/*
 * A clean sync: in one transaction delete every rule of source, then apply rules (as
 * ward_store_apply, each of them of that same source). All or nothing; rules of other
 * sources are not touched. stats->cleared counts the deleted rules.
 */
ward_err_t ward_store_replace_source(ward_store_t *st, ward_rule_source_t source,
                                     const ward_rule_t *rules, size_t n,
                                     ward_apply_stats_t *stats, ward_error_t *err);

/* Same, deleting the rules of every source whose bit (1u << source) is in clear_mask
 * (a Santa "clean_all" sync also drops TRANSITIVE rules); rules may be of any source. */
ward_err_t ward_store_replace_sources(ward_store_t *st, unsigned clear_mask,
                                      const ward_rule_t *rules, size_t n,
                                      ward_apply_stats_t *stats, ward_error_t *err);

/* Number of stored rules of one source; counts[t] (may be NULL, WARD_RT__COUNT entries)
 * gets them per type. */
ward_err_t ward_store_count_source(ward_store_t *st, ward_rule_source_t source, size_t *n,
                                   size_t *counts, ward_error_t *err);

/* Monotonic counter bumped by every change (any process); cheap to poll. */
ward_err_t ward_store_generation(ward_store_t *st, uint64_t *gen, ward_error_t *err);

/* Number of stored rules. */
ward_err_t ward_store_count(ward_store_t *st, size_t *n, ward_error_t *err);

/*
 * Call fn for every rule (ordered by type, identifier, slot). fn returns non-zero to
 * stop. The rule and its strings are valid only during the call.
 */
ward_err_t ward_store_foreach(ward_store_t *st, int (*fn)(const ward_rule_t *r, void *arg),
                              void *arg, ward_error_t *err);

/* Same, for the rules of one type+identifier (identifier canonical), managed first. */
ward_err_t ward_store_find(ward_store_t *st, ward_rule_type_t type, const char *identifier,
                           int (*fn)(const ward_rule_t *r, void *arg), void *arg,
                           ward_error_t *err);

/* ---------------------------------------------------------------- index */
typedef struct ward_index ward_index_t;

/* Build an immutable snapshot of every rule in st. *out NULL on error. */
ward_err_t ward_index_build(ward_store_t *st, ward_index_t **out, ward_error_t *err);

/* Build a snapshot of only the rules that name one of key's identities: for one-off
 * checks (wardenctl rule --check) without loading every rule. */
ward_err_t ward_index_build_for_key(ward_store_t *st, const ward_match_key_t *key,
                                    ward_index_t **out, ward_error_t *err);

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

/* The same, as if the rules of the sources in skip_sources (bits 1u << ward_rule_source_t)
 * did not exist: EnableTransitiveRules off hides TRANSITIVE rules. */
const ward_rule_t *ward_index_match_skip(const ward_index_t *ix, const ward_match_key_t *key,
                                         int64_t now, uint32_t skip_sources);
/*
 * What the rules say about a file with several keys (a universal binary's slices, see
 * ward_match_keys_from_identity) when nothing tells which slice will run: each key's
 * rule (ward_index_match), and the file's answer, the most restrictive of them:
 * BLOCKLIST > SILENT_BLOCKLIST > no rule (the mode decides; LOCKDOWN denies) >
 * ALLOWLIST > ALLOWLIST_COMPILER; ties go to the rule of the stronger type, then to
 * the earlier key. So a file is allowed only when every slice is, and blocked when any
 * slice is. The rules are ix's (NULL ix: no rules); they live as long as ix.
 */
typedef struct ward_file_match {
	const ward_rule_t *rule;                  /* the file's answer (== each[decisive]), or NULL */
	unsigned decisive;                        /* the key whose result is the file's */
	unsigned n;                               /* keys matched */
	const ward_rule_t *each[WARD_MAX_SLICES]; /* per key: the rule that decides it, or NULL */
	bool expiring;                            /* some key's rule expires: the answer may
	                                             change then, so an ALLOW is not cached */
} ward_file_match_t;

void ward_index_match_keys(const ward_index_t *ix, const ward_match_key_t *keys, unsigned n,
                           int64_t now, ward_file_match_t *out);
/* The same without the rules of skip_sources (see ward_index_match_skip). */
void ward_index_match_keys_skip(const ward_index_t *ix, const ward_match_key_t *keys, unsigned n,
                                int64_t now, uint32_t skip_sources, ward_file_match_t *out);

/* Build a snapshot of only the rules that name an identity of one of keys[0..n-1]
 * (n <= WARD_MAX_SLICES): for `wardenctl rule --check --path` on a universal file. */
ward_err_t ward_index_build_for_keys(ward_store_t *st, const ward_match_key_t *keys, size_t n,
                                     ward_index_t **out, ward_error_t *err);

/* The earliest expires_at later than now, or 0 if no rule expires after now: the agent
 * flushes its verdict caches then, since a cached ALLOW may rest on that rule. */
int64_t ward_index_next_expiry(const ward_index_t *ix, int64_t now);

/* ---------------------------------------------------------------- Santa JSON */

/*
 * Import Santa's rule JSON ({"rules":[{"identifier","policy","rule_type","custom_msg",
 * "custom_url","comment"}]}, see docs/rules.md) from buf into st as rules of source
 * (IMPORT for wardenctl, PROFILE for managed rules), created_by as given. The whole
 * file is validated before anything is written and applied in one transaction: on any
 * error nothing changes. Errors name the rule ("rules[3].identifier: ...").
 * A CEL rule (a "cel_expr" key, or policy "CEL") is not an error and not applied:
 * warden has no CEL evaluator, and its plain policy would allow or block more than the
 * expression does. stats->refused counts them and refused_names names them.
 */
ward_err_t ward_santa_json_import(ward_store_t *st, const char *buf, size_t len,
                                  ward_rule_source_t source, const char *created_by,
                                  ward_apply_stats_t *stats, ward_error_t *err);

/*
 * Read a Santa rule document ({"rules": [...], other keys}) from buf without building a
 * tree of it: rule_fn gets each rule object (borrowed, its index i), key_fn (NULL: other
 * keys are only checked) every other top-level key and its value (borrowed). A callback
 * that fails stops the scan with its error. Without key_fn a missing "rules" is an error;
 * "rules": null reads as no rules. At most max_rules rules.
 */
typedef ward_err_t (*ward_santa_rule_fn)(void *arg, json_t *rule, size_t i, ward_error_t *err);
typedef ward_err_t (*ward_santa_key_fn)(void *arg, const char *key, json_t *value, ward_error_t *err);
ward_err_t ward_santa_json_scan(const char *buf, size_t len, size_t max_rules,
                                ward_santa_rule_fn rule_fn, ward_santa_key_fn key_fn, void *arg,
                                ward_error_t *err);

/*
 * A batch of rules parsed one Santa rule object at a time (a sync's ruledownload pages,
 * the sync_rules control messages), owning its strings. Each object is read exactly as
 * ward_santa_json_import reads one entry of "rules" (same fields, same checks, errors
 * name "rules[index]"). At most WARD_MAX_SYNC_RULES rules.
 */
typedef struct ward_rule_batch ward_rule_batch_t;

ward_err_t ward_rule_batch_create(ward_rule_batch_t **out, ward_error_t *err);
void ward_rule_batch_free(ward_rule_batch_t *b); /* NULL ok */
ward_err_t ward_rule_batch_add_santa(ward_rule_batch_t *b, json_t *obj, size_t index,
                                     ward_rule_source_t source, const char *created_by,
                                     ward_error_t *err);
/* The rules so far (valid until the next add or free). */
const ward_rule_t *ward_rule_batch_rules(const ward_rule_batch_t *b, size_t *n);
/* CEL rules ward_rule_batch_add_santa left out (not an error): their count, and *names
 * (NULL ok) "TYPE identifier, ..." (borrowed). */
size_t ward_rule_batch_refused(const ward_rule_batch_t *b, const char **names);
/* The rule as a Santa rule object (a new reference). */
json_t *ward_rule_santa_json(const ward_rule_t *r);

/* Same, reading path (at most WARD_MAX_IMPORT_BYTES). */
ward_err_t ward_santa_json_import_file(ward_store_t *st, const char *path,
                                       ward_rule_source_t source, const char *created_by,
                                       ward_apply_stats_t *stats, ward_error_t *err);

/*
 * Write every rule except managed (PROFILE), SYNC and TRANSITIVE ones to out in the same
 * format, ordered by type and identifier; *count (may be NULL) gets the number written.
 */
ward_err_t ward_santa_json_export(ward_store_t *st, FILE *out, size_t *count, ward_error_t *err);

#endif
