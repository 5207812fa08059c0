/*
 * The match index: an immutable snapshot of the rules, built from the store and
 * matched on every decision.
 *
 * One open-addressing table (linear probing, load <= 1/2) keyed by type+identifier.
 * A slot holds 32 bits of the key's hash and the position of the key's first rule, so
 * a probe that does not match costs no pointer chase. Rules of the same key (at most
 * one per slot: managed, administrator, transitive) are chained in match order. A
 * match is at most five lookups, one per identity type, and touches nothing mutable:
 * any number of threads may match on one snapshot.
 */
#include "rules/store_internal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "rules/arena.h"

struct ix_slot {
	uint32_t tag;  /* high 32 bits of the key hash */
	uint32_t rule; /* position + 1 of the key's first rule; 0 = empty */
};

struct ward_index {
	uint64_t generation;
	uint64_t seed;
	size_t count;
	size_t per_type[WARD_RT__COUNT];
	ward_rule_t *rules;
	uint32_t *next;        /* position + 1 of the next rule of the same key; 0 = end */
	struct ix_slot *table;
	size_t mask;
	int64_t *expiries;     /* distinct expires_at values, ascending */
	size_t nexpiries;
	ward_arena_t arena;
};

static const char empty[] = "";

void ward_index_free(ward_index_t *ix)
{
	if (ix == NULL)
		return;
	free(ix->rules);
	free(ix->next);
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

static const ward_rule_t *lookup(const ward_index_t *ix, ward_rule_type_t type, const char *id)
{
	size_t len = strlen(id);
	uint64_t h = ward_rule_hash(ix->seed, (unsigned)type, id, len);
	uint32_t tag = (uint32_t)(h >> 32);

	for (size_t i = (size_t)h & ix->mask;; i = (i + 1) & ix->mask) {
		const struct ix_slot *s = &ix->table[i];
		const ward_rule_t *r;
		if (s->rule == 0)
			return NULL;
		if (s->tag != tag)
			continue;
		r = &ix->rules[s->rule - 1];
		if (r->type == type && strcmp(r->identifier, id) == 0)
			return r;
	}
}

const ward_rule_t *ward_index_match(const ward_index_t *ix, const ward_match_key_t *key,
                                    int64_t now)
{
	const char *ids[WARD_RT__COUNT] = {
		[WARD_RT_CDHASH] = key->cdhash,
		[WARD_RT_BINARY] = key->sha256,
		[WARD_RT_SIGNINGID] = key->signing_id,
		[WARD_RT_CERTIFICATE] = key->certificate,
		[WARD_RT_TEAMID] = key->team_id,
	};

	for (int t = 0; t < WARD_RT__COUNT; t++) {
		const ward_rule_t *r;
		if (ids[t][0] == '\0' || ix->per_type[t] == 0)
			continue;
		for (r = lookup(ix, (ward_rule_type_t)t, ids[t]); r != NULL;
		     r = ix->next[r - ix->rules] ? &ix->rules[ix->next[r - ix->rules] - 1] : NULL)
			if (r->expires_at == 0 || now < r->expires_at)
				return r;
	}
	return NULL;
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
	if (last && *last && strcmp(*last, s) == 0)
		return *last;
	p = ward_arena_strndup(&ix->arena, s, n);
	if (last && p)
		*last = p;
	return p;
}

/* Link rule i into the table, after the rules of its key that match before it. */
static void insert(ward_index_t *ix, uint32_t i)
{
	const ward_rule_t *r = &ix->rules[i];
	uint64_t h = ward_rule_hash(ix->seed, (unsigned)r->type, r->identifier, strlen(r->identifier));
	uint32_t tag = (uint32_t)(h >> 32);
	int slot = ward_rule_slot(r->source);

	for (size_t k = (size_t)h & ix->mask;; k = (k + 1) & ix->mask) {
		struct ix_slot *s = &ix->table[k];
		uint32_t *link;
		if (s->rule == 0) {
			s->tag = tag;
			s->rule = i + 1;
			return;
		}
		if (s->tag != tag)
			continue;
		if (ix->rules[s->rule - 1].type != r->type ||
		    strcmp(ix->rules[s->rule - 1].identifier, r->identifier) != 0)
			continue;
		for (link = &s->rule; *link != 0; link = &ix->next[*link - 1])
			if (ward_rule_slot(ix->rules[*link - 1].source) > slot)
				break;
		ix->next[i] = *link;
		*link = i + 1;
		return;
	}
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static ward_err_t build(ward_store_t *st, const ward_match_key_t *key, ward_index_t **out,
                        ward_error_t *err)
{
	sqlite3 *db = ward_store_sqlite(st);
	const char *ids[WARD_RT__COUNT] = { 0 };
	const char *last_msg = NULL, *last_url = NULL, *last_comment = NULL, *last_by = NULL;
	char sql[512];
	sqlite3_stmt *s = NULL;
	ward_index_t *ix;
	size_t cap = 16, n = 0, nexp = 0, total;
	ward_err_t ret = WARD_OK;
	int rc, nbind = 0;

	*out = NULL;
	if ((ix = calloc(1, sizeof(*ix))) == NULL)
		return ward_error_set(err, WARD_E_NOMEM, "index: out of memory");
	if (getrandom(&ix->seed, sizeof(ix->seed), GRND_NONBLOCK) != sizeof(ix->seed))
		ix->seed = (uint64_t)(uintptr_t)ix ^ (uint64_t)time(NULL);

	snprintf(sql, sizeof(sql), "SELECT " WARD_RULE_COLUMNS " FROM rules");
	if (key) {
		ids[WARD_RT_CDHASH] = key->cdhash;
		ids[WARD_RT_BINARY] = key->sha256;
		ids[WARD_RT_SIGNINGID] = key->signing_id;
		ids[WARD_RT_CERTIFICATE] = key->certificate;
		ids[WARD_RT_TEAMID] = key->team_id;
		strcat(sql, " WHERE 0");
		for (int t = 0; t < WARD_RT__COUNT; t++) {
			char term[64];
			if (ids[t][0] == '\0')
				continue;
			snprintf(term, sizeof(term), " OR (type = %d AND identifier = ?%d)", t, ++nbind);
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
	if (key == NULL && total > WARD_MAX_RULES) {
		ret = ward_error_set(err, WARD_E_LIMIT, "index: store holds %zu rules, more than %u",
		                     total, WARD_MAX_RULES);
		goto out;
	}
	if (key == NULL)
		cap = total > 0 ? total : 1;
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK) {
		ret = ward_store_dberr(st, err, "reading rules");
		goto out;
	}
	nbind = 0;
	for (int t = 0; key && t < WARD_RT__COUNT; t++)
		if (ids[t][0] != '\0')
			sqlite3_bind_text(s, ++nbind, ids[t], -1, SQLITE_STATIC);
	if ((ix->rules = malloc(cap * sizeof(*ix->rules))) == NULL)
		goto nomem;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		ward_rule_t r, *d;
		if ((ret = ward_store_row_rule(st, s, &r, err)) != WARD_OK)
			goto out;
		if (n == cap) {
			/* The row count moved under us only if the store is not what it says;
			 * grow anyway, within the limit. */
			ward_rule_t *grown;
			if (cap >= WARD_MAX_RULES) {
				ret = ward_error_set(err, WARD_E_LIMIT, "index: more than %u rules",
				                     WARD_MAX_RULES);
				goto out;
			}
			if ((grown = realloc(ix->rules, 2 * cap * sizeof(*grown))) == NULL)
				goto nomem;
			ix->rules = grown;
			cap *= 2;
		}
		d = &ix->rules[n];
		*d = r;
		d->identifier = keep(ix, r.identifier, NULL);
		d->custom_msg = keep(ix, r.custom_msg, &last_msg);
		d->custom_url = keep(ix, r.custom_url, &last_url);
		d->comment = keep(ix, r.comment, &last_comment);
		d->created_by = keep(ix, r.created_by, &last_by);
		if (!d->identifier || !d->custom_msg || !d->custom_url || !d->comment || !d->created_by)
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

	/* Table: a power of two at least twice the rules, so probes stay short. */
	cap = 16;
	while (cap < 2 * n)
		cap <<= 1;
	ix->mask = cap - 1;
	if ((ix->table = calloc(cap, sizeof(*ix->table))) == NULL ||
	    (ix->next = calloc(n ? n : 1, sizeof(*ix->next))) == NULL)
		goto nomem;
	for (size_t i = 0; i < n; i++)
		insert(ix, (uint32_t)i);

	if (nexp > 0) {
		size_t k = 0;
		if ((ix->expiries = malloc(nexp * sizeof(*ix->expiries))) == NULL)
			goto nomem;
		for (size_t i = 0; i < n; i++)
			if (ix->rules[i].expires_at > 0)
				ix->expiries[k++] = ix->rules[i].expires_at;
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
	return build(st, NULL, out, err);
}

ward_err_t ward_index_build_for_key(ward_store_t *st, const ward_match_key_t *key,
                                    ward_index_t **out, ward_error_t *err)
{
	return build(st, key, out, err);
}
