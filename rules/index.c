/*
 * The match index: an immutable snapshot of the rules, built from the store and
 * matched on every decision.
 *
 * One open-addressing table (linear probing, load <= 1/2) keyed by type+identifier.
 * A slot holds 32 bits of the key's hash and where the key's first rule is, so a probe
 * that does not match costs no pointer chase. Each rule is a record with its
 * identifier stored right behind it, so confirming a hit touches one place in memory,
 * not two. Rules of the same key (at most one per slot: managed, administrator,
 * transitive) are chained in match order. A match is at most five lookups, one per
 * identity type, and touches nothing mutable: any number of threads may match on one
 * snapshot.
 *
 * With a million rules the index does not fit in any cache, so what a match costs is
 * the number of dependent cache misses: the five table slots are loaded together
 * (prefetched), then a hit reads its record. Two misses in a row, whatever the count.
 */
#include "rules/store_internal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "rules/arena.h"
#include "common/platform.h"

/* Records live in one buffer and are addressed in 8-byte units (32 bits reach 32 GiB). */
#define REC_ALIGN 8u

struct ix_rec {
	ward_rule_t rule;
	uint32_t next; /* unit + 1 of the next rule of the same key; 0 = end */
	char id[];     /* the identifier; rule.identifier points here */
};

struct ix_slot {
	uint32_t tag;  /* high 32 bits of the key hash */
	uint32_t rec;  /* unit + 1 of the key's first record; 0 = empty */
};

struct ward_index {
	uint64_t generation;
	uint64_t seed;
	size_t count;
	size_t per_type[WARD_RT__COUNT];
	char *recs;            /* the records */
	size_t recs_len;
	uint32_t *units;       /* unit of each record, in store order */
	struct ix_slot *table;
	size_t mask;
	int64_t *expiries;     /* distinct expires_at values, ascending */
	size_t nexpiries;
	ward_arena_t arena;    /* texts other than the identifier */
};

static const char empty[] = "";

static inline struct ix_rec *rec_at(const ward_index_t *ix, uint32_t unit)
{
	return (struct ix_rec *)(ix->recs + (size_t)unit * REC_ALIGN);
}

void ward_index_free(ward_index_t *ix)
{
	if (ix == NULL)
		return;
	free(ix->recs);
	free(ix->units);
	free(ix->table);
	free(ix->expiries);
	ward_arena_free(&ix->arena);
	free(ix);
}

uint64_t ward_index_generation(const ward_index_t *ix)
{
	return ix->generation;
}

size_t ward_index_count(const ward_index_t *ix)
{
	return ix->count;
}

static const struct ix_rec *lookup(const ward_index_t *ix, ward_rule_type_t type, const char *id,
                                   uint64_t h)
{
	uint32_t tag = (uint32_t)(h >> 32);

	for (size_t i = (size_t)h & ix->mask;; i = (i + 1) & ix->mask) {
		const struct ix_slot *s = &ix->table[i];
		const struct ix_rec *r;
		if (s->rec == 0)
			return NULL;
		if (s->tag != tag)
			continue;
		r = rec_at(ix, s->rec - 1);
		if (r->rule.type == type && strcmp(r->id, id) == 0)
			return r;
	}
}

const ward_rule_t *ward_index_match(const ward_index_t *ix, const ward_match_key_t *key,
                                    int64_t now)
{
	return ward_index_match_skip(ix, key, now, 0);
}

const ward_rule_t *ward_index_match_skip(const ward_index_t *ix, const ward_match_key_t *key,
                                         int64_t now, uint32_t skip_sources)
{
	const char *ids[WARD_RT__COUNT] = {
		[WARD_RT_CDHASH] = key->cdhash,
		[WARD_RT_BINARY] = key->sha256,
		[WARD_RT_SIGNINGID] = key->signing_id,
		[WARD_RT_CERTIFICATE] = key->certificate,
		[WARD_RT_TEAMID] = key->team_id,
	};
	uint64_t h[WARD_RT__COUNT];
	bool want[WARD_RT__COUNT];

	/* Hash every identity and start loading its table slot before probing any: five
	 * overlapping cache misses cost about one. */
	for (int t = 0; t < WARD_RT__COUNT; t++) {
		want[t] = ids[t][0] != '\0' && ix->per_type[t] != 0;
		if (!want[t])
			continue;
		h[t] = ward_rule_hash(ix->seed, (unsigned)t, ids[t], strlen(ids[t]));
		__builtin_prefetch(&ix->table[(size_t)h[t] & ix->mask]);
	}
	for (int t = 0; t < WARD_RT__COUNT; t++) {
		const struct ix_rec *r;
		if (!want[t])
			continue;
		for (r = lookup(ix, (ward_rule_type_t)t, ids[t], h[t]); r != NULL;
		     r = r->next ? rec_at(ix, r->next - 1) : NULL)
			if ((r->rule.expires_at == 0 || now < r->rule.expires_at) &&
			    !(skip_sources & (1u << r->rule.source)))
				return &r->rule;
	}
	return NULL;
}

/*
 * How much a key's result takes away: a block more than no rule (which LOCKDOWN denies),
 * no rule more than an allow, an allow more than a compiler's allow (which also makes
 * transitive rules). BLOCKLIST outranks SILENT_BLOCKLIST: both deny; the user is told.
 */
static int restrictiveness(const ward_rule_t *r)
{
	if (r == NULL)
		return 3;
	switch (r->policy) {
	case WARD_POL_BLOCKLIST: return 5;
	case WARD_POL_SILENT_BLOCKLIST: return 4;
	case WARD_POL_ALLOWLIST: return 2;
	case WARD_POL_ALLOWLIST_COMPILER: return 1;
	case WARD_POL_REMOVE:
	case WARD_POL__COUNT:
		break;
	}
	return 3;
}

void ward_index_match_keys(const ward_index_t *ix, const ward_match_key_t *keys, unsigned n,
                           int64_t now, ward_file_match_t *out)
{
	ward_index_match_keys_skip(ix, keys, n, now, 0, out);
}

void ward_index_match_keys_skip(const ward_index_t *ix, const ward_match_key_t *keys, unsigned n,
                                int64_t now, uint32_t skip_sources, ward_file_match_t *out)
{
	memset(out, 0, sizeof(*out));
	out->n = n < WARD_MAX_SLICES ? n : WARD_MAX_SLICES;
	for (unsigned k = 0; k < out->n; k++) {
		const ward_rule_t *r = ix != NULL ? ward_index_match_skip(ix, &keys[k], now, skip_sources) : NULL;
		const ward_rule_t *best = out->each[out->decisive];
		int a, b;

		out->each[k] = r;
		if (r != NULL && r->expires_at != 0)
			out->expiring = true;
		if (k == 0)
			continue;
		a = restrictiveness(r);
		b = restrictiveness(best);
		/* ties: the rule of the stronger type, then the earlier slice */
		if (a > b || (a == b && r != NULL && best != NULL && r->type < best->type))
			out->decisive = k;
	}
	out->rule = out->n > 0 ? out->each[out->decisive] : NULL;
}

int64_t ward_index_next_expiry(const ward_index_t *ix, int64_t now)
{
	size_t lo = 0, hi = ix->nexpiries;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ix->expiries[mid] <= now)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < ix->nexpiries ? ix->expiries[lo] : 0;
}

/* ---------------------------------------------------------------- build */

/* Copy a string into the arena; empty strings and repeats of the previous value of the
 * same field (imports repeat created_by and messages) share storage. */
static const char *keep(ward_index_t *ix, const char *s, const char **last)
{
	size_t n = strlen(s);
	const char *p;

	if (n == 0)
		return empty;
	if (*last && strcmp(*last, s) == 0)
		return *last;
	p = ward_arena_strndup(&ix->arena, s, n);
	if (p)
		*last = p;
	return p;
}

/* Append a record for r (identifier copied behind it); false when out of memory or
 * past what 32-bit units address. */
static bool add_rec(ward_index_t *ix, size_t *cap, const ward_rule_t *r, uint32_t *unit)
{
	size_t idlen = strlen(r->identifier);
	size_t size = (sizeof(struct ix_rec) + idlen + 1 + REC_ALIGN - 1) & ~(size_t)(REC_ALIGN - 1);
	struct ix_rec *d;

	if (ix->recs_len + size > *cap) {
		size_t ncap = *cap ? *cap : 1 << 16;
		char *grown;
		while (ncap < ix->recs_len + size)
			ncap *= 2;
		if (ncap / REC_ALIGN > UINT32_MAX - 1 || (grown = realloc(ix->recs, ncap)) == NULL)
			return false;
		ix->recs = grown;
		*cap = ncap;
	}
	*unit = (uint32_t)(ix->recs_len / REC_ALIGN);
	d = rec_at(ix, *unit);
	d->rule = *r;
	d->rule.identifier = NULL; /* set once the buffer stops moving */
	d->next = 0;
	memcpy(d->id, r->identifier, idlen + 1);
	ix->recs_len += size;
	return true;
}

/* Link record u into the table, after the rules of its key that match before it. */
static void insert(ward_index_t *ix, uint32_t u)
{
	struct ix_rec *r = rec_at(ix, u);
	uint64_t h = ward_rule_hash(ix->seed, (unsigned)r->rule.type, r->id, strlen(r->id));
	uint32_t tag = (uint32_t)(h >> 32);
	int rank = ward_rule_rank(r->rule.source);

	for (size_t k = (size_t)h & ix->mask;; k = (k + 1) & ix->mask) {
		struct ix_slot *s = &ix->table[k];
		struct ix_rec *head;
		uint32_t *link;
		if (s->rec == 0) {
			s->tag = tag;
			s->rec = u + 1;
			return;
		}
		if (s->tag != tag)
			continue;
		head = rec_at(ix, s->rec - 1);
		if (head->rule.type != r->rule.type || strcmp(head->id, r->id) != 0)
			continue;
		for (link = &s->rec; *link != 0; link = &rec_at(ix, *link - 1)->next)
			if (ward_rule_rank(rec_at(ix, *link - 1)->rule.source) > rank)
				break;
		r->next = *link;
		*link = u + 1;
		return;
	}
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* The identifiers of keys (nkeys of them) that a query must name, type by type: each
 * distinct one once (the slices of a fat file share their SHA-256, often their team). */
static size_t key_terms(const ward_match_key_t *keys, size_t nkeys, int types[], const char *ids[])
{
	size_t n = 0;

	for (size_t k = 0; k < nkeys; k++) {
		const char *v[WARD_RT__COUNT] = {
			[WARD_RT_CDHASH] = keys[k].cdhash,
			[WARD_RT_BINARY] = keys[k].sha256,
			[WARD_RT_SIGNINGID] = keys[k].signing_id,
			[WARD_RT_CERTIFICATE] = keys[k].certificate,
			[WARD_RT_TEAMID] = keys[k].team_id,
		};
		for (int t = 0; t < WARD_RT__COUNT; t++) {
			size_t j;
			if (v[t][0] == '\0')
				continue;
			for (j = 0; j < n; j++)
				if (types[j] == t && strcmp(ids[j], v[t]) == 0)
					break;
			if (j == n) {
				types[n] = t;
				ids[n++] = v[t];
			}
		}
	}
	return n;
}

static ward_err_t build(ward_store_t *st, const ward_match_key_t *keys, size_t nkeys,
                        ward_index_t **out, ward_error_t *err)
{
	sqlite3 *db = ward_store_sqlite(st);
	int types[WARD_MAX_SLICES * WARD_RT__COUNT];
	const char *ids[WARD_MAX_SLICES * WARD_RT__COUNT];
	size_t nterms = 0;
	const char *last_msg = NULL, *last_url = NULL, *last_comment = NULL, *last_by = NULL;
	char sql[1024 + WARD_MAX_SLICES * WARD_RT__COUNT * 48]; /* the SELECT, then <= 48 per term */
	sqlite3_stmt *s = NULL;
	ward_index_t *ix;
	size_t ucap = 16, rcap = 0, n = 0, nexp = 0, total;
	ward_err_t ret = WARD_OK;
	int rc, nbind = 0;

	*out = NULL;
	if ((ix = calloc(1, sizeof(*ix))) == NULL)
		return ward_error_set(err, WARD_E_NOMEM, "index: out of memory");
	if (!ward_random(&ix->seed, sizeof(ix->seed)))
		ix->seed = (uint64_t)(uintptr_t)ix ^ (uint64_t)time(NULL);

	snprintf(sql, sizeof(sql), "SELECT " WARD_RULE_COLUMNS " FROM rules");
	if (keys) {
		if (nkeys > WARD_MAX_SLICES) {
			ward_index_free(ix);
			return ward_error_set(err, WARD_E_LIMIT, "index: %zu keys, more than %u", nkeys,
			                      WARD_MAX_SLICES);
		}
		nterms = key_terms(keys, nkeys, types, ids);
		strcat(sql, " WHERE 0");
		for (size_t i = 0; i < nterms; i++) {
			char term[48];
			snprintf(term, sizeof(term), " OR (type = %d AND identifier = ?%d)", types[i], ++nbind);
			strcat(sql, term);
		}
	}

	/* One read transaction: the generation and the rules are the same snapshot. */
	if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		ret = ward_store_dberr(st, err, "starting a read");
		goto out;
	}
	if ((ret = ward_store_state(st, &ix->generation, &total, err)) != WARD_OK)
		goto out;
	if (keys == NULL && total > WARD_MAX_RULES) {
		ret = ward_error_set(err, WARD_E_LIMIT, "index: store holds %zu rules, more than %u",
		                     total, WARD_MAX_RULES);
		goto out;
	}
	if (keys == NULL && total > 0) {
		ucap = total;
		rcap = total * (sizeof(struct ix_rec) + 72);
	}
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK) {
		ret = ward_store_dberr(st, err, "reading rules");
		goto out;
	}
	for (size_t i = 0; i < nterms; i++)
		sqlite3_bind_text(s, (int)i + 1, ids[i], -1, SQLITE_STATIC);
	if ((ix->units = malloc(ucap * sizeof(*ix->units))) == NULL ||
	    (rcap && (ix->recs = malloc(rcap)) == NULL))
		goto nomem;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		ward_rule_t r;
		if ((ret = ward_store_row_rule(st, s, &r, err)) != WARD_OK)
			goto out;
		if (n == ucap) {
			/* More rows than store_state said: only if someone edited the database
			 * by hand. Grow anyway, within the limit. */
			uint32_t *grown;
			if (ucap >= WARD_MAX_RULES) {
				ret = ward_error_set(err, WARD_E_LIMIT, "index: more than %u rules",
				                     WARD_MAX_RULES);
				goto out;
			}
			if ((grown = realloc(ix->units, 2 * ucap * sizeof(*grown))) == NULL)
				goto nomem;
			ix->units = grown;
			ucap *= 2;
		}
		r.custom_msg = keep(ix, r.custom_msg, &last_msg);
		r.custom_url = keep(ix, r.custom_url, &last_url);
		r.comment = keep(ix, r.comment, &last_comment);
		r.created_by = keep(ix, r.created_by, &last_by);
		if (!r.custom_msg || !r.custom_url || !r.comment || !r.created_by ||
		    !add_rec(ix, &rcap, &r, &ix->units[n]))
			goto nomem;
		if (r.expires_at > 0)
			nexp++;
		ix->per_type[r.type]++;
		n++;
	}
	if (rc != SQLITE_DONE) {
		ret = ward_store_dberr(st, err, "reading rules");
		goto out;
	}
	ix->count = n;
	for (size_t i = 0; i < n; i++) {
		struct ix_rec *r = rec_at(ix, ix->units[i]);
		r->rule.identifier = r->id;
	}

	/* Table: a power of two at least twice the rules, so probes stay short. */
	ucap = 16;
	while (ucap < 2 * n)
		ucap <<= 1;
	ix->mask = ucap - 1;
	if ((ix->table = calloc(ucap, sizeof(*ix->table))) == NULL)
		goto nomem;
	for (size_t i = 0; i < n; i++)
		insert(ix, ix->units[i]);

	if (nexp > 0) {
		size_t k = 0;
		if ((ix->expiries = malloc(nexp * sizeof(*ix->expiries))) == NULL)
			goto nomem;
		for (size_t i = 0; i < n; i++) {
			int64_t e = rec_at(ix, ix->units[i])->rule.expires_at;
			if (e > 0)
				ix->expiries[k++] = e;
		}
		qsort(ix->expiries, nexp, sizeof(*ix->expiries), cmp_i64);
		ix->nexpiries = 1;
		for (size_t i = 1; i < nexp; i++)
			if (ix->expiries[i] != ix->expiries[ix->nexpiries - 1])
				ix->expiries[ix->nexpiries++] = ix->expiries[i];
	}
	goto out;
nomem:
	ret = ward_error_set(err, WARD_E_NOMEM, "index: out of memory for %zu rules", n);
out:
	sqlite3_finalize(s);
	if (!sqlite3_get_autocommit(db))
		(void)sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	if (ret != WARD_OK) {
		ward_index_free(ix);
		return ret;
	}
	*out = ix;
	return WARD_OK;
}

ward_err_t ward_index_build(ward_store_t *st, ward_index_t **out, ward_error_t *err)
{
	return build(st, NULL, 0, out, err);
}

ward_err_t ward_index_build_for_key(ward_store_t *st, const ward_match_key_t *key,
                                    ward_index_t **out, ward_error_t *err)
{
	return build(st, key, 1, out, err);
}

ward_err_t ward_index_build_for_keys(ward_store_t *st, const ward_match_key_t *keys, size_t n,
                                     ward_index_t **out, ward_error_t *err)
{
	return build(st, keys, n, out, err);
}
