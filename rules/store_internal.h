/*
 * Internal to rules/: what index.c and santa_json.c share with store.c. Not an API.
 */
#ifndef WARD_RULES_STORE_INTERNAL_H
#define WARD_RULES_STORE_INTERNAL_H

#include <sqlite3.h>

#include "rules/rules.h"

/* Slots as stored (the numbers are in the schema: never renumber). Match order is
 * ward_rule_rank: managed, sync, administrator, transitive (see rules.h). */
enum { WARD_SLOT_MANAGED = 0, WARD_SLOT_ADMIN = 1, WARD_SLOT_TRANSITIVE = 2, WARD_SLOT_SYNC = 3,
       WARD_SLOT__COUNT };

static inline int ward_rule_slot(ward_rule_source_t s)
{
	switch (s) {
	case WARD_SRC_PROFILE: return WARD_SLOT_MANAGED;
	case WARD_SRC_TRANSITIVE: return WARD_SLOT_TRANSITIVE;
	case WARD_SRC_SYNC: return WARD_SLOT_SYNC;
	case WARD_SRC_LOCAL:
	case WARD_SRC_EXCEPTION:
	case WARD_SRC_IMPORT:
	case WARD_SRC__COUNT:
		break;
	}
	return WARD_SLOT_ADMIN;
}

/* Precedence of a source's slot: lower matches first. */
static inline int ward_rule_rank(ward_rule_source_t s)
{
	switch (ward_rule_slot(s)) {
	case WARD_SLOT_MANAGED: return 0;
	case WARD_SLOT_SYNC: return 1;
	case WARD_SLOT_ADMIN: return 2;
	default: return 3;
	}
}

/* SQL: the rank of a row's slot, for ORDER BY. */
#define WARD_SLOT_RANK_SQL "CASE slot WHEN 0 THEN 0 WHEN 3 THEN 1 WHEN 1 THEN 2 ELSE 3 END"

/* Columns read by ward_store_row_rule, in its order. */
#define WARD_RULE_COLUMNS \
	"id, type, identifier, policy, source, custom_msg, custom_url, comment, " \
	"expires_at, created_at, created_by"

sqlite3 *ward_store_sqlite(ward_store_t *st);

/* Record the connection's last SQLite error as WARD_E_DB: "<path>: <what>: <sqlite>". */
ward_err_t ward_store_dberr(ward_store_t *st, ward_error_t *err, const char *what);

/*
 * Read the current row of s (selected with WARD_RULE_COLUMNS) into r; strings point
 * into the statement and are valid until the next step. Out-of-range values (a
 * hand-edited database) are WARD_E_DB.
 */
ward_err_t ward_store_row_rule(ward_store_t *st, sqlite3_stmt *s, ward_rule_t *r,
                               ward_error_t *err);

/* Generation and rule count, read in the caller's transaction. */
ward_err_t ward_store_state(ward_store_t *st, uint64_t *gen, size_t *count, ward_error_t *err);

/* 64-bit hash of type+identifier (n bytes), shared by the index and the batch
 * duplicate check. */
static inline uint64_t ward_rule_hash(uint64_t seed, unsigned type, const char *s, size_t n)
{
	const uint64_t k = 0x9e3779b97f4a7c15ull;
	uint64_t h = seed ^ ((uint64_t)type * k) ^ ((uint64_t)n << 32);

	while (n >= 8) {
		uint64_t v;
		__builtin_memcpy(&v, s, 8);
		h = (h ^ v) * 0xbf58476d1ce4e5b9ull;
		h ^= h >> 31;
		s += 8;
		n -= 8;
	}
	if (n > 0) {
		uint64_t v = 0;
		__builtin_memcpy(&v, s, n);
		h = (h ^ v) * 0xbf58476d1ce4e5b9ull;
		h ^= h >> 31;
	}
	h = (h ^ (h >> 30)) * 0x94d049bb133111ebull;
	return h ^ (h >> 31);
}

#endif
