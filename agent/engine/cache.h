/*
 * The user-space verdict cache: (dev, ino, ctime, size) -> verdict. Bounded: a fixed
 * number of entries allocated once (4-way set associative, least recently used way
 * evicted), so its memory never grows with input. DENY verdicts expire after a short
 * TTL; ALLOW verdicts live until evicted or flushed. Thread-safe.
 */
#ifndef WARD_AGENT_CACHE_H
#define WARD_AGENT_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/engine/verdict.h"
#include "common/error.h"

typedef struct ward_cache ward_cache_t;

typedef struct ward_cache_stats {
	uint64_t capacity;  /* entries */
	uint64_t entries;   /* in use */
	uint64_t bytes;     /* memory held by the table */
	uint64_t hits, misses, evictions, expired, inserts, flushes, forgotten;
} ward_cache_stats_t;

/* Create a cache of at least min_entries (rounded up to a power of two, >= 4). */
ward_err_t ward_cache_create(size_t min_entries, uint32_t deny_ttl_ms, ward_cache_t **out,
                             ward_error_t *err);
void ward_cache_destroy(ward_cache_t *c); /* NULL ok */

/* Copy the verdict for k into *out (with cached = true) if present and not expired.
 * now_ms is CLOCK_MONOTONIC in milliseconds. Counts a hit or a miss. */
bool ward_cache_lookup(ward_cache_t *c, const ward_filekey_t *k, uint64_t now_ms,
                       ward_verdict_t *out);

/* Remember v for k (replacing any entry for the same dev+ino). Ignores !v->cacheable. */
void ward_cache_insert(ward_cache_t *c, const ward_filekey_t *k, const ward_verdict_t *v,
                       uint64_t now_ms);

/* Forget the file k names (same device and inode, any ctime/size): it was modified. */
void ward_cache_forget(ward_cache_t *c, const ward_filekey_t *k);

/* Forget everything. */
void ward_cache_flush(ward_cache_t *c);

void ward_cache_stats(ward_cache_t *c, ward_cache_stats_t *out);

#endif
