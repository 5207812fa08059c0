/*
 * bench_rules — what a decision costs in the rule index, with 10, 10 000 and 1 000 000
 * rules side by side (it must stay flat and under 1 us), and what building the index
 * for 1 000 000 rules costs in time and memory.
 *
 * Per decision: a full match key (all five identities, as a signed Mach-O has) against
 * the index. "hit" keys match a TEAMID rule (four misses first: the longest path to a
 * hit), "miss" keys match nothing (five misses), "binary" keys are ELF-like (only a
 * SHA-256) and match a BINARY rule. 64 Ki keys name random rules, so a large index is
 * not cache resident, as in life; the keys themselves are read in order (the agent
 * matches a key it has just computed). Figures are medians over batches.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rules/rules.h"
#include "tests/bench/benchutil.h"

#define NKEYS  65536
#define BATCH  1000
#define ROUNDS 301

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static long rss_kib(void)
{
	long pages = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f == NULL)
		return 0;
	if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
		resident = 0;
	fclose(f);
	return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static void hexid(char *out, int digits, uint64_t seed)
{
	static const char hex[] = "0123456789abcdef";
	uint64_t s = seed * 0x9e3779b97f4a7c15ull + 1;

	for (int i = 0; i < digits; i++) {
		if (i % 16 == 0)
			s = s * 6364136223846793005ull + 1442695040888963407ull;
		out[i] = hex[(s >> (4 * (i % 16))) & 0xf];
	}
	out[digits] = '\0';
}

static void teamid(char *out, uint64_t seed)
{
	static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

	for (int i = 0; i < 10; i++) {
		out[i] = al[seed % 36];
		seed /= 36;
	}
	out[10] = '\0';
}

/* Rule i of a store: a fleet-like mix by i % 20: 0 TEAMID, 1 CERTIFICATE, 2-3 SIGNINGID,
 * 4-7 CDHASH, 8-19 BINARY (so even 10 rules have every type). */
static void make_rule(size_t i, ward_rule_t *r, char *id)
{
	unsigned m = (unsigned)(i % 20);

	memset(r, 0, sizeof(*r));
	r->policy = i % 7 ? WARD_POL_ALLOWLIST : WARD_POL_BLOCKLIST;
	r->source = WARD_SRC_IMPORT;
	if (m == 0) {
		r->type = WARD_RT_TEAMID;
		teamid(id, i);
	} else if (m == 1) {
		r->type = WARD_RT_CERTIFICATE;
		hexid(id, 64, i);
	} else if (m < 4) {
		char t[11];
		r->type = WARD_RT_SIGNINGID;
		teamid(t, i);
		snprintf(id, WARD_RULE_ID_MAX + 1, "%s:com.vendor%zu.app", t, i);
	} else if (m < 8) {
		r->type = WARD_RT_CDHASH;
		hexid(id, 40, i);
	} else {
		r->type = WARD_RT_BINARY;
		hexid(id, 64, i);
	}
	r->identifier = id;
}

static ward_store_t *fill_store(size_t n, double *fill_ms)
{
	ward_store_t *st = NULL;
	ward_error_t err = { 0 };
	ward_rule_t *rules = calloc(n, sizeof(*rules));
	char (*ids)[WARD_RULE_ID_MAX + 1] = calloc(n, sizeof(*ids));
	double t0;

	if (!rules || !ids || ward_store_open(":memory:", WARD_STORE_CREATE, &st, &err) != WARD_OK) {
		fprintf(stderr, "bench_rules: setup: %s\n", err.msg);
		exit(1);
	}
	for (size_t i = 0; i < n; i++)
		make_rule(i, &rules[i], ids[i]);
	t0 = now_ns();
	if (ward_store_apply(st, rules, n, NULL, &err) != WARD_OK) {
		fprintf(stderr, "bench_rules: apply: %s\n", err.msg);
		exit(1);
	}
	*fill_ms = (now_ns() - t0) / 1e6;
	free(rules);
	free(ids);
	return st;
}

/* Keys of the three kinds (0 hit, 1 miss, 2 binary), naming rules of a store of n. */
static void make_keys(ward_match_key_t *keys, size_t n, int kind)
{
	size_t groups = (n + 19) / 20;

	for (size_t k = 0; k < NKEYS; k++) {
		ward_match_key_t *key = &keys[k];
		uint64_t miss = (uint64_t)1 << 40 | next_rand() >> 24; /* never a rule seed */
		memset(key, 0, sizeof(*key));
		if (kind == 2) { /* ELF-like: only a SHA-256, with a BINARY rule */
			size_t i = (size_t)(next_rand() % groups) * 20 + 8 + next_rand() % 12;
			hexid(key->sha256, 64, i < n ? i : 8);
			continue;
		}
		hexid(key->cdhash, 40, miss);
		hexid(key->sha256, 64, miss);
		hexid(key->certificate, 64, miss);
		teamid(key->team_id, miss);
		snprintf(key->signing_id, sizeof(key->signing_id), "%s:com.vendor.nothing", key->team_id);
		if (kind == 0) /* four misses, then a TEAMID rule */
			teamid(key->team_id, (size_t)(next_rand() % groups) * 20);
	}
}

/* Median ns per match over ROUNDS batches of BATCH random keys; *hits counts matches
 * so the work cannot be optimised away. */
static double time_match(const ward_index_t *ix, const ward_match_key_t *keys, size_t *hits)
{
	static double samples[ROUNDS];
	size_t h = 0;

	for (int r = 0; r < ROUNDS; r++) {
		size_t base = next_rand() % NKEYS;
		double t0 = now_ns();
		for (int b = 0; b < BATCH; b++)
			h += ward_index_match(ix, &keys[(base + (size_t)b) % NKEYS], 1800000000) != NULL;
		samples[r] = (now_ns() - t0) / BATCH;
	}
	qsort(samples, ROUNDS, sizeof(double), cmp_double);
	*hits = h;
	return samples[ROUNDS / 2];
}

static double time_generation(ward_store_t *st)
{
	static double samples[ROUNDS];
	ward_error_t err = { 0 };
	uint64_t g;

	for (int r = 0; r < ROUNDS; r++) {
		double t0 = now_ns();
		for (int b = 0; b < 100; b++)
			if (ward_store_generation(st, &g, &err) != WARD_OK)
				exit(1);
		samples[r] = (now_ns() - t0) / 100;
	}
	qsort(samples, ROUNDS, sizeof(double), cmp_double);
	return samples[ROUNDS / 2];
}

int main(void)
{
	static const size_t sizes[] = { 10, 10000, 1000000 };
	ward_match_key_t *keys = malloc(NKEYS * sizeof(*keys));
	double hit[3], miss[3], bin[3];

	if (keys == NULL)
		return 1;
	printf("%-9s %9s %9s %9s %10s %10s %10s %10s %9s\n", "rules", "fill_ms", "build_ms",
	       "index_MiB", "hit_ns", "miss_ns", "binary_ns", "hits", "gen_ns");
	for (int s = 0; s < 3; s++) {
		size_t n = sizes[s], hits = 0, h;
		double fill_ms, build_ms, t0, gen_ns;
		ward_index_t *ix = NULL;
		ward_error_t err = { 0 };
		ward_store_t *st = fill_store(n, &fill_ms);
		long rss0 = rss_kib(), rss1;

		t0 = now_ns();
		if (ward_index_build(st, &ix, &err) != WARD_OK) {
			fprintf(stderr, "bench_rules: build: %s\n", err.msg);
			return 1;
		}
		build_ms = (now_ns() - t0) / 1e6;
		rss1 = rss_kib();
		if (ward_index_count(ix) != n) {
			fprintf(stderr, "bench_rules: index holds %zu of %zu rules\n", ward_index_count(ix), n);
			return 1;
		}
		make_keys(keys, n, 0);
		hit[s] = time_match(ix, keys, &h);
		hits += h;
		if (h != (size_t)ROUNDS * BATCH) {
			fprintf(stderr, "bench_rules: hit keys matched %zu of %d\n", h, ROUNDS * BATCH);
			return 1;
		}
		make_keys(keys, n, 1);
		miss[s] = time_match(ix, keys, &h);
		if (h != 0) {
			fprintf(stderr, "bench_rules: miss keys matched %zu\n", h);
			return 1;
		}
		make_keys(keys, n, 2);
		bin[s] = time_match(ix, keys, &h);
		hits += h;
		gen_ns = time_generation(st);
		printf("%-9zu %9.1f %9.1f %9.1f %10.1f %10.1f %10.1f %10zu %9.0f\n", n, fill_ms, build_ms,
		       (double)(rss1 - rss0) / 1024.0, hit[s], miss[s], bin[s], hits, gen_ns);
		fflush(stdout);
		ward_index_free(ix);
		ward_store_close(st);
	}
	printf("ratio 1M/10 rules: hit %.2fx, miss %.2fx, binary %.2fx (flat = about 1; "
	       "budget 1000 ns per decision)\n", hit[2] / hit[0], miss[2] / miss[0], bin[2] / bin[0]);
	free(keys);
	return 0;
}
