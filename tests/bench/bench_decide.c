/*
 * In-process cost of a decision, without the kernel: ward_decide() answered from the
 * user-space cache (the path every exec takes when the kernel cache is off or evicted),
 * the cache lookup alone, a full decision of a small program (SHA-256 of the file, rule
 * index match, trusted-path check, mode) with BINARY rules and without them (lazy
 * identity: no SHA-256), and a decision with kernel identity hints for a 100 MiB target
 * and no BINARY rule (no byte read). Interleaved rounds; medians.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent/engine/decide.h"
#include "tests/bench/benchutil.h"
#include "common/hex.h"

static bool path_fn(ward_backend_t *b, const ward_event_t *ev, char *buf, size_t len)
{
	(void)b;
	(void)ev;
	snprintf(buf, len, "/tmp/warden-bench-decide");
	return true;
}

static const struct ward_backend_ops ops = { .name = "bench", .path = path_fn };
static ward_backend_t backend = { .ops = &ops };

int main(void)
{
	enum { ROUNDS = 9, HITS = 200000, MISSES = 2000 };
	double hit[ROUNDS], lookup[ROUNDS], miss[ROUNDS];
	char path[] = "/tmp/warden-bench-decide-XXXXXX";
	int fd = mkstemp(path);
	struct stat sb;
	ward_store_t *st;
	ward_cache_t *cache;
	ward_snapshot_t *snap;
	ward_config_t cfg;
	ward_identity_t id;
	ward_verdict_t v;
	static ward_record_t rec;
	char sha[65];
	volatile int sink = 0;

	/* A 16 KiB "program" and 1000 rules, one of which allows it. */
	static char body[16384];
	memset(body, 0x5a, sizeof(body));
	memcpy(body, "\177ELF", 4);
	if (fd < 0 || write(fd, body, sizeof(body)) != (ssize_t)sizeof(body) || fstat(fd, &sb) != 0)
		return 1;
	if (ward_identity_read(fd, WARD_ID_SHA256, &id, NULL) != WARD_OK ||
	    ward_store_open(":memory:", WARD_STORE_CREATE, &st, NULL) != WARD_OK ||
	    ward_cache_create(WARD_CACHE_ENTRIES, WARD_CACHE_DENY_TTL_MS, &cache, NULL) != WARD_OK)
		return 1;
	ward_hex_encode(id.sha256, 32, sha);
	for (int i = 0; i < 1000; i++) {
		char ident[65];
		ward_rule_t r = { .type = WARD_RT_BINARY, .policy = WARD_POL_ALLOWLIST,
		                  .source = WARD_SRC_LOCAL, .identifier = ident };
		if (i == 0)
			memcpy(ident, sha, 65);
		else
			snprintf(ident, sizeof(ident), "%064x", i);
		if (ward_store_put(st, &r, NULL) != WARD_OK)
			return 1;
	}
	ward_config_defaults(&cfg);
	if (ward_snapshot_build(&cfg, st, &snap, NULL) != WARD_OK)
		return 1;
	ward_event_t ev = { .kind = WARD_EV_EXEC, .fd = fd, .proc = { .pid = 1 }, .key_ok = true };
	ward_filekey_from_stat(&sb, &ev.key);

	/* The lazy-identity and hints fixtures: no BINARY rule at all, 1000 TEAMID rules. */
	ward_store_t *st2;
	ward_snapshot_t *snap2;
	char big[] = "/tmp/warden-bench-decide-big-XXXXXX";
	int bigfd = mkstemp(big);
	struct stat bsb;
	if (bigfd < 0 || ftruncate(bigfd, 100 << 20) != 0 || fstat(bigfd, &bsb) != 0 ||
	    ward_store_open(":memory:", WARD_STORE_CREATE, &st2, NULL) != WARD_OK)
		return 1;
	for (int i = 0; i < 1000; i++) {
		char ident[16];
		ward_rule_t r = { .type = WARD_RT_TEAMID, .policy = WARD_POL_ALLOWLIST,
		                  .source = WARD_SRC_LOCAL, .identifier = ident };
		snprintf(ident, sizeof(ident), "A%09d", i);
		if (ward_store_put(st2, &r, NULL) != WARD_OK)
			return 1;
	}
	if (ward_snapshot_build(&cfg, st2, &snap2, NULL) != WARD_OK)
		return 1;
	static const ward_id_hints_t hints = { .has_cdhash = true, .team_id = "A000000500",
	                                       .signing_id = "com.example.tool", .signature_valid = true };
	ward_event_t hev = { .kind = WARD_EV_EXEC, .fd = bigfd, .proc = { .pid = 1 }, .key_ok = true,
	                     .hints = &hints };
	ward_filekey_from_stat(&bsb, &hev.key);
	ward_decide_ctx_t lazyctx = { .snap = snap2, .cache = NULL, .backend = &backend, .now = time(NULL) };
	double lazy[ROUNDS], hinted[ROUNDS];
	ward_decide_ctx_t hitctx = { .snap = snap, .cache = cache, .backend = &backend, .now = time(NULL) };
	ward_decide_ctx_t missctx = { .snap = snap, .cache = NULL, .backend = &backend, .now = time(NULL) };

	ward_decide(&missctx, &ev, &rec);
	v = rec.v;
	if (v.decision != WARD_ALLOW || v.reason != WARD_RSN_RULE)
		return 1;
	ward_decide(&lazyctx, &hev, &rec);
	if (rec.v.decision != WARD_ALLOW || rec.v.rule_type != WARD_RT_TEAMID || rec.v.has_sha256)
		return 1;
	ward_cache_insert(cache, &ev.key, &v, 0);
	for (int r = 0; r < ROUNDS; r++) {
		double t0 = now_ns();
		for (int i = 0; i < HITS; i++) {
			ward_decide(&hitctx, &ev, &rec);
			sink += rec.v.cached;
		}
		double t1 = now_ns();
		for (int i = 0; i < HITS; i++) {
			sink += ward_cache_lookup(cache, &ev.key, 0, &v);
		}
		double t2 = now_ns();
		for (int i = 0; i < MISSES; i++) {
			ward_decide(&missctx, &ev, &rec);
			sink += rec.v.decision;
		}
		double t3 = now_ns();
		for (int i = 0; i < MISSES; i++) {
			ward_decide(&lazyctx, &ev, &rec);
			sink += rec.v.decision;
		}
		double t4 = now_ns();
		for (int i = 0; i < MISSES; i++) {
			ward_decide(&lazyctx, &hev, &rec);
			sink += rec.v.decision;
		}
		double t5 = now_ns();
		hit[r] = (t1 - t0) / HITS;
		lookup[r] = (t2 - t1) / HITS;
		miss[r] = (t3 - t2) / MISSES;
		lazy[r] = (t4 - t3) / MISSES;
		hinted[r] = (t5 - t4) / MISSES;
	}
	qsort(hit, ROUNDS, sizeof(double), cmp_double);
	qsort(lookup, ROUNDS, sizeof(double), cmp_double);
	qsort(miss, ROUNDS, sizeof(double), cmp_double);
	qsort(lazy, ROUNDS, sizeof(double), cmp_double);
	qsort(hinted, ROUNDS, sizeof(double), cmp_double);
	printf("decide, cache hit:              %8.0f ns  (median of %d rounds x %d)\n", hit[ROUNDS / 2], ROUNDS, HITS);
	printf("cache lookup alone:             %8.0f ns\n", lookup[ROUNDS / 2]);
	printf("decide, full (16 KiB, 1000 rules): %5.1f us  (SHA-256 + index + trust check + mode)\n",
	       miss[ROUNDS / 2] / 1000);
	printf("decide, full, no BINARY rule:   %5.1f us  (no SHA-256: lazy identity)\n", lazy[ROUNDS / 2] / 1000);
	printf("decide, kernel hints, 100 MiB:  %5.1f us  (1000 TEAMID rules, no BINARY: no byte read)\n",
	       hinted[ROUNDS / 2] / 1000);
	printf("target: cache hit <= 1 us: %s\n", hit[ROUNDS / 2] <= 1000 ? "met" : "NOT MET");
	printf("target: hints, 100 MiB <= 20 us: %s\n", hinted[ROUNDS / 2] <= 20000 ? "met" : "NOT MET");
	ward_snapshot_unref(snap2);
	ward_store_close(st2);
	close(bigfd);
	unlink(big);
	(void)sink;
	ward_snapshot_unref(snap);
	ward_store_close(st);
	ward_cache_destroy(cache);
	close(fd);
	unlink(path);
	return 0;
}
