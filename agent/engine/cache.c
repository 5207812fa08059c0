/*
 * The verdict cache. A 4-way set-associative table: the set comes from (dev, ino); a
 * lookup compares the whole key, so a file whose ctime or size changed misses and its
 * stale entry is overwritten by the next insert. One mutex: a hit costs a hash, four
 * compares and an uncontended lock.
 */
#include "agent/engine/cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define WAYS 4u

struct entry {
	ward_filekey_t key;
	ward_verdict_t v;
	uint64_t expires_ms; /* 0 = never */
	uint64_t used;       /* LRU tick; 0 = empty */
};

struct ward_cache {
	pthread_mutex_t mu;
	struct entry *tab;
	size_t nsets;        /* power of two */
	uint32_t deny_ttl_ms;
	uint64_t tick;
	uint64_t entries;
	uint64_t hits, misses, evictions, expired, inserts, flushes, forgotten;
};

static struct entry *set_of(ward_cache_t *c, const ward_filekey_t *k)
{
	return &c->tab[(ward_filekey_file_hash(k) & (c->nsets - 1)) * WAYS];
}

ward_err_t ward_cache_create(size_t min_entries, uint32_t deny_ttl_ms, ward_cache_t **out,
                             ward_error_t *err)
{
	ward_cache_t *c;
	size_t nsets = 1;

	*out = NULL;
	if (min_entries > ((size_t)1 << 26))
		return ward_error_set(err, WARD_E_LIMIT, "cache: %zu entries is too many", min_entries);
	while (nsets * WAYS < min_entries)
		nsets <<= 1;
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->tab = calloc(nsets * WAYS, sizeof(*c->tab))) == NULL) {
		free(c);
		return ward_error_set(err, WARD_E_NOMEM, "cache: out of memory");
	}
	pthread_mutex_init(&c->mu, NULL);
	c->nsets = nsets;
	c->deny_ttl_ms = deny_ttl_ms;
	*out = c;
	return WARD_OK;
}

void ward_cache_destroy(ward_cache_t *c)
{
	if (c == NULL)
		return;
	pthread_mutex_destroy(&c->mu);
	free(c->tab);
	free(c);
}

bool ward_cache_lookup(ward_cache_t *c, const ward_filekey_t *k, uint64_t now_ms,
                       ward_verdict_t *out)
{
	bool hit = false;

	pthread_mutex_lock(&c->mu);
	struct entry *s = set_of(c, k);
	for (unsigned w = 0; w < WAYS; w++) {
		struct entry *e = &s[w];
		if (e->used == 0 || !ward_filekey_eq(&e->key, k))
			continue;
		if (e->expires_ms != 0 && now_ms >= e->expires_ms) {
			e->used = 0;
			c->entries--;
			c->expired++;
			break;
		}
		e->used = ++c->tick;
		*out = e->v;
		out->cached = true;
		hit = true;
		break;
	}
	if (hit)
		c->hits++;
	else
		c->misses++;
	pthread_mutex_unlock(&c->mu);
	return hit;
}

void ward_cache_insert(ward_cache_t *c, const ward_filekey_t *k, const ward_verdict_t *v,
                       uint64_t now_ms)
{
	struct entry *victim = NULL;

	if (!v->cacheable)
		return;
	pthread_mutex_lock(&c->mu);
	struct entry *s = set_of(c, k);
	/* Same inode (any ctime/size): replace it, the old key is stale. */
	for (unsigned w = 0; w < WAYS && victim == NULL; w++)
		if (s[w].used != 0 && s[w].key.ino == k->ino && s[w].key.dev == k->dev)
			victim = &s[w];
	for (unsigned w = 0; w < WAYS && victim == NULL; w++)
		if (s[w].used == 0) {
			victim = &s[w];
			c->entries++;
		}
	if (victim == NULL) {
		victim = &s[0];
		for (unsigned w = 1; w < WAYS; w++)
			if (s[w].used < victim->used)
				victim = &s[w];
		c->evictions++;
	}
	victim->key = *k;
	victim->v = *v;
	victim->v.cached = false;
	victim->expires_ms = v->decision == WARD_DENY ? now_ms + c->deny_ttl_ms : 0;
	victim->used = ++c->tick;
	c->inserts++;
	pthread_mutex_unlock(&c->mu);
}

void ward_cache_forget(ward_cache_t *c, const ward_filekey_t *k)
{
	pthread_mutex_lock(&c->mu);
	struct entry *s = set_of(c, k);
	for (unsigned w = 0; w < WAYS; w++)
		if (s[w].used != 0 && ward_filekey_same_file(&s[w].key, k)) {
			s[w].used = 0;
			c->entries--;
			c->forgotten++;
		}
	pthread_mutex_unlock(&c->mu);
}

void ward_cache_flush(ward_cache_t *c)
{
	pthread_mutex_lock(&c->mu);
	memset(c->tab, 0, c->nsets * WAYS * sizeof(*c->tab));
	c->entries = 0;
	c->flushes++;
	pthread_mutex_unlock(&c->mu);
}

void ward_cache_stats(ward_cache_t *c, ward_cache_stats_t *out)
{
	pthread_mutex_lock(&c->mu);
	out->capacity = c->nsets * WAYS;
	out->entries = c->entries;
	out->bytes = c->nsets * WAYS * sizeof(*c->tab);
	out->hits = c->hits;
	out->misses = c->misses;
	out->evictions = c->evictions;
	out->expired = c->expired;
	out->inserts = c->inserts;
	out->flushes = c->flushes;
	out->forgotten = c->forgotten;
	pthread_mutex_unlock(&c->mu);
}
