/*
 * bench_scan — YARA scanning cost (make bench; docs/benchmarks.md "scanning").
 *
 *  1. throughput: a generated set of 400 rules of XProtect-like shape (text strings,
 *     wide/nocase strings, hex patterns with jumps and wildcards, a few regular
 *     expressions, filesize and header conditions) over generated binary-like files of
 *     100 KB, 10 MB and 100 MB; read + scan through ward_yscanner_scan_fd, side by side
 *     with a SHA-256 of the same file (the identity path's own full read) in the same run.
 *  2. exec storm: 1000 distinct files submitted by 8 threads to a pool with the budget
 *     at 100 ms: submit latency p50/p99/max and deadline misses (latency > budget + 5 ms).
 *  3. idle pool: the cost of a cached decision (a hash-table hit) with no pool vs with an
 *     idle pool alive, interleaved, medians and ratio; and the pool's own cache hit.
 *
 * Everything is generated in a temp dir and removed; total runtime well under a minute.
 * `bench_scan --write-rules FILE` only writes the rule set (for tests/bench/exec_yara.sh).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "scanner/scan.h"

#define NRULES 400
#define STORM_FILES 1000
#define STORM_THREADS 8
#define STORM_BUDGET_MS 100
#define STORM_SLACK_MS 5

static char dir[] = "/tmp/warden-bench-scan-XXXXXX";
static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dull;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static uint64_t median(uint64_t *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	return v[n / 2];
}

static void die(const char *what, const char *msg)
{
	fprintf(stderr, "bench_scan: %s: %s\n", what, msg);
	exit(1);
}

/* ------------------------------------------------------------------ rules */

static const char *const words[] = {
	"libSystem", "_objc_msgSend", "/usr/lib/", "CFBundleIdentifier", "NSUserDefaults",
	"LaunchAgents", "com.apple.", "_dlopen", "keychain", "/bin/sh", "curl", "base64",
	"__TEXT", "__DATA", "__LINKEDIT", "_strcmp", "password", "http://", "ioreg",
	"sysctl", "IOPlatformUUID", "osascript", "/tmp/", "Library/Application Support",
};
#define NWORDS (sizeof(words) / sizeof(words[0]))

static void rand_ident(char *out, size_t len)
{
	static const char al[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

	for (size_t i = 0; i < len; i++)
		out[i] = al[rnd() % (sizeof(al) - 1)];
	out[len] = '\0';
}

/* A hex byte that makes a usable atom (not 00/FF/90/CC, which real rules avoid too). */
static unsigned hexbyte(void)
{
	unsigned b;

	do
		b = (unsigned)(rnd() & 0xff);
	while (b == 0 || b == 0xff || b == 0x90 || b == 0xcc);
	return b;
}

static size_t add(char *buf, size_t cap, size_t used, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static size_t add(char *buf, size_t cap, size_t used, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf + used, cap - used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= cap - used)
		die("rules", "buffer too small");
	return used + (size_t)n;
}

static char *gen_rules(void)
{
	size_t cap = 4u << 20, u = 0;
	char *b = malloc(cap);
	char id[24];

	if (!b)
		die("rules", "out of memory");
	for (unsigned i = 0; i < NRULES; i++) {
		unsigned kind = i % 20;
		const char *tag = i % 50 == 0 ? " : block" : i % 37 == 0 ? " : audit" : "";

		u = add(b, cap, u, "rule r%03u%s {\n  meta:\n    description = \"generated %u\"\n"
		        "  strings:\n", i, tag, i);
		if (kind < 9) {          /* text strings, XProtect style */
			unsigned n = 2 + (unsigned)(rnd() % 3);
			for (unsigned k = 0; k < n; k++) {
				rand_ident(id, 8 + rnd() % 10);
				u = add(b, cap, u, "    $s%u = \"%s%s\"%s\n", k, words[rnd() % NWORDS], id,
				        k == 1 ? " wide ascii" : k == 2 ? " nocase" : "");
			}
			u = add(b, cap, u, "  condition:\n    filesize < %uMB and %s\n}\n",
			        1u + (unsigned)(rnd() % 200), i % 2 ? "2 of them" : "any of them");
		} else if (kind < 15) {  /* hex with wildcards and jumps, Mach-O header */
			unsigned n = 1 + (unsigned)(rnd() % 3);
			for (unsigned k = 0; k < n; k++) {
				u = add(b, cap, u, "    $h%u = { %02X %02X %02X %02X ?? %02X [2-%u] %02X %02X ?%X %02X }\n",
				        k, hexbyte(), hexbyte(), hexbyte(), hexbyte(), hexbyte(),
				        4u + (unsigned)(rnd() % 12), hexbyte(), hexbyte(),
				        (unsigned)(rnd() % 16), hexbyte());
			}
			u = add(b, cap, u, "  condition:\n    %sfilesize < %uMB and all of them\n}\n",
			        i % 3 ? "(uint32(0) == 0xfeedfacf or uint32(0) == 0xcafebabe) and " : "",
			        2u + (unsigned)(rnd() % 100));
		} else if (kind < 19) {  /* mixed text + hex, size window, counts */
			rand_ident(id, 10);
			u = add(b, cap, u, "    $a = \"%s%s\"\n", words[rnd() % NWORDS], id);
			u = add(b, cap, u, "    $h = { %02X %02X [1-8] %02X %02X %02X }\n", hexbyte(),
			        hexbyte(), hexbyte(), hexbyte(), hexbyte());
			u = add(b, cap, u, "  condition:\n    filesize > 10KB and filesize < 50MB and "
			        "(#a > 1 or ($a and $h))\n}\n");
		} else {                 /* a regular expression with a literal atom: 20 rules */
			rand_ident(id, 6);
			u = add(b, cap, u, "    $r = /https?:\\/\\/%s[a-z0-9]{4,12}\\.(com|net|org)\\/[a-z]{2,8}/\n"
			        "  condition:\n    $r\n}\n", id);
		}
	}
	return b;
}

/* ------------------------------------------------------------------ files */

/* Binary-like content: code-ish random runs, zero padding, and strings. */
static void fill(uint8_t *p, size_t len)
{
	size_t i = 0;

	while (i < len) {
		size_t run = 256 + (size_t)(rnd() % 4096), kind = rnd() % 10;
		if (run > len - i)
			run = len - i;
		if (kind < 5) {
			for (size_t k = 0; k < run; k += 8) {
				uint64_t r = rnd();
				memcpy(p + i + k, &r, run - k < 8 ? run - k : 8);
			}
		} else if (kind < 7) {
			memset(p + i, 0, run);
		} else {
			size_t k = 0;
			while (k < run) {
				const char *w = words[rnd() % NWORDS];
				size_t wl = strlen(w) + 1;
				if (wl > run - k)
					wl = run - k;
				memcpy(p + i + k, w, wl);
				k += wl;
			}
		}
		i += run;
	}
	if (len >= 4)
		memcpy(p, "\xcf\xfa\xed\xfe", 4); /* MH_MAGIC_64, little endian */
}

static void write_file(const char *path, size_t len)
{
	uint8_t *buf = malloc(len ? len : 1);
	int fd;

	if (!buf)
		die(path, "out of memory");
	fill(buf, len);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, buf, len) != (ssize_t)len)
		die(path, strerror(errno));
	close(fd);
	free(buf);
}

static uint64_t sha256_file_ns(const char *path)
{
	static uint8_t buf[1u << 18];
	unsigned char md[32];
	unsigned mdlen;
	uint64_t t0 = now_ns();
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0 || !c)
		die(path, "open");
	EVP_DigestInit_ex(c, EVP_sha256(), NULL);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		EVP_DigestUpdate(c, buf, (size_t)n);
	EVP_DigestFinal_ex(c, md, &mdlen);
	EVP_MD_CTX_free(c);
	close(fd);
	return now_ns() - t0;
}

static uint64_t yara_file_ns(ward_yscanner_t *s, const char *path, uint32_t *nmatch)
{
	ward_scan_verdict_t v;
	ward_error_t e = { 0 };
	uint64_t t0 = now_ns();
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		die(path, "open");
	if (ward_yscanner_scan_fd(s, fd, UINT64_MAX, NULL, NULL, NULL, NULL, &v, &e) != WARD_OK ||
	    v.status != WARD_SCAN_DONE)
		die(path, e.msg[0] ? e.msg : v.reason);
	close(fd);
	*nmatch = v.nmatches;
	return now_ns() - t0;
}

/* The yara command on the same file, precompiled rules (-C): a reference implementation
 * (mmap'ed scan) measured side by side. 0 when yara/yarac are not installed. */
static char compiled_rules[256];

static uint64_t yara_cli_ns(const char *path)
{
	char cmd[800];
	uint64_t t0;

	if (!compiled_rules[0])
		return 0;
	snprintf(cmd, sizeof(cmd), "yara -C -w %s %s >/dev/null 2>&1", compiled_rules, path);
	t0 = now_ns();
	if (system(cmd) != 0)
		return 0;
	return now_ns() - t0;
}

static void prepare_yara_cli(const char *src)
{
	char srcpath[256], cmd[700];
	FILE *f;

	if (system("command -v yara >/dev/null && command -v yarac >/dev/null") != 0)
		return;
	snprintf(srcpath, sizeof(srcpath), "%s/bench.yar", dir);
	if ((f = fopen(srcpath, "w")) == NULL)
		return;
	fputs(src, f);
	fclose(f);
	snprintf(compiled_rules, sizeof(compiled_rules), "%s/bench.yarc", dir);
	snprintf(cmd, sizeof(cmd), "yarac -w %s %s", srcpath, compiled_rules);
	if (system(cmd) != 0)
		compiled_rules[0] = '\0';
}

static void bench_throughput(ward_yrules_t *r)
{
	static const struct { const char *name; size_t len; unsigned reps; } sizes[] = {
		{ "100 KB", 100u << 10, 200 },
		{ "10 MB", 10u << 20, 5 },
		{ "100 MB", 100u << 20, 3 },
	};
	ward_yscanner_t *s = NULL;
	ward_error_t e = { 0 };

	if (ward_yscanner_create(r, 0, &s, &e) != WARD_OK)
		die("scanner", e.msg);
	printf("throughput (read + scan, median of interleaved runs; sha256 = full read + hash;\n"
	       "  yara -C = the yara command with the same rules precompiled, process start included):\n");
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char path[256];
		uint64_t ty[200], th[200], tc[200], my, mh, mc = 0;
		uint32_t nm = 0;

		snprintf(path, sizeof(path), "%s/tp%zu.bin", dir, i);
		write_file(path, sizes[i].len);
		yara_file_ns(s, path, &nm); /* warm the page cache and the scanner */
		for (unsigned k = 0; k < sizes[i].reps; k++) {
			ty[k] = yara_file_ns(s, path, &nm);
			th[k] = sha256_file_ns(path);
			if (sizes[i].len >= (10u << 20))
				tc[k] = yara_cli_ns(path);
		}
		my = median(ty, sizes[i].reps);
		mh = median(th, sizes[i].reps);
		if (sizes[i].len >= (10u << 20))
			mc = median(tc, sizes[i].reps);
		printf("  %-7s warden %7.1f MB/s (%8.2f ms)   sha256 %7.1f MB/s (x%.1f faster)",
		       sizes[i].name, (double)sizes[i].len / 1e6 / ((double)my / 1e9), (double)my / 1e6,
		       (double)sizes[i].len / 1e6 / ((double)mh / 1e9), (double)my / (double)mh);
		if (mc)
			printf("   yara -C command %7.1f MB/s (warden/yara time %.2f)",
			       (double)sizes[i].len / 1e6 / ((double)mc / 1e9), (double)my / (double)mc);
		printf("   matches %u\n", nm);
		unlink(path);
	}
	ward_yscanner_destroy(s);
}

/* ------------------------------------------------------------------ storm */

struct storm {
	ward_scanpool_t *pool;
	unsigned first, n;
	uint64_t *lat_ns;
	unsigned counts[6];
};

static void *storm_thread(void *arg)
{
	struct storm *st = arg;

	for (unsigned i = st->first; i < st->first + st->n; i++) {
		ward_scan_req_t req = { .budget_ms = STORM_BUDGET_MS };
		ward_scan_verdict_t v;
		char path[256];
		struct stat sb;
		uint64_t t0;

		snprintf(path, sizeof(path), "%s/storm%04u.bin", dir, i);
		/* What the agent has per exec: the fd and its fstat. */
		req.fd = open(path, O_RDONLY | O_CLOEXEC);
		if (req.fd < 0 || fstat(req.fd, &sb) != 0)
			die(path, strerror(errno));
		ward_scan_key_from_stat(&sb, &req.key);
		req.path = path;
		t0 = now_ns();
		ward_scanpool_submit(st->pool, &req, &v, NULL);
		close(req.fd);
		st->lat_ns[i] = now_ns() - t0;
		st->counts[v.status]++;
	}
	return NULL;
}

/*
 * Baseline for lateness: a thread doing nothing but 10 ms CLOCK_MONOTONIC timed waits
 * during the storm. Its overshoot is what the scheduler gives any waiter on this
 * machine at that moment; the pool cannot answer more punctually than that.
 */
#define PROBE_MAX 4096
static atomic_bool probe_stop;
static uint64_t probe_late[PROBE_MAX];
static unsigned probe_n;

static void *probe_thread(void *arg)
{
	pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	pthread_condattr_t ca;
	pthread_cond_t cv;

	(void)arg;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&cv, &ca);
	pthread_mutex_lock(&mu);
	while (!atomic_load(&probe_stop) && probe_n < PROBE_MAX) {
		uint64_t dl = now_ns() + 10000000u;
		struct timespec ts = { .tv_sec = (time_t)(dl / 1000000000u), .tv_nsec = (long)(dl % 1000000000u) };
		while (pthread_cond_timedwait(&cv, &mu, &ts) != ETIMEDOUT)
			;
		probe_late[probe_n++] = now_ns() - dl;
	}
	pthread_mutex_unlock(&mu);
	pthread_cond_destroy(&cv);
	return NULL;
}

static void bench_storm(ward_yrules_t *r)
{
	pthread_t probe;
	ward_scanpool_opts_t o;
	ward_scanpool_t *p = NULL;
	ward_scanpool_stats_t ps;
	struct storm st[STORM_THREADS];
	pthread_t th[STORM_THREADS];
	uint64_t *lat = calloc(STORM_FILES, sizeof(*lat)), t0, wall, misses = 0;
	uint64_t late[STORM_FILES];
	unsigned nlate = 0, probe_over = 0;
	unsigned counts[6] = { 0 };
	ward_error_t e = { 0 };

	if (!lat)
		die("storm", "out of memory");
	/* 1000 distinct binaries: mostly small, 1 in 20 of 4 MB (a big app binary). */
	for (unsigned i = 0; i < STORM_FILES; i++) {
		char path[256];
		snprintf(path, sizeof(path), "%s/storm%04u.bin", dir, i);
		write_file(path, i % 20 == 7 ? 4u << 20 : 64u << 10);
	}
	ward_scanpool_opts_default(&o);
	if (ward_scanpool_create(&o, &p, &e) != WARD_OK)
		die("pool", e.msg);
	ward_scanpool_set_rules(p, r);
	atomic_store(&probe_stop, false);
	probe_n = 0;
	pthread_create(&probe, NULL, probe_thread, NULL);
	t0 = now_ns();
	for (unsigned i = 0; i < STORM_THREADS; i++) {
		st[i] = (struct storm){ .pool = p, .first = i * (STORM_FILES / STORM_THREADS),
		                        .n = STORM_FILES / STORM_THREADS, .lat_ns = lat };
		pthread_create(&th[i], NULL, storm_thread, &st[i]);
	}
	for (unsigned i = 0; i < STORM_THREADS; i++) {
		pthread_join(th[i], NULL);
		for (unsigned k = 0; k < 6; k++)
			counts[k] += st[i].counts[k];
	}
	wall = now_ns() - t0;
	atomic_store(&probe_stop, true);
	pthread_join(probe, NULL);
	/* Lateness of the answers that waited out their budget (PENDING). */
	for (unsigned i = 0; i < STORM_FILES; i++)
		if (lat[i] >= (uint64_t)STORM_BUDGET_MS * 1000000u)
			late[nlate++] = lat[i] - (uint64_t)STORM_BUDGET_MS * 1000000u;
	qsort(late, nlate, sizeof(*late), cmp_u64);
	for (unsigned i = 0; i < STORM_FILES; i++)
		if (lat[i] > (uint64_t)(STORM_BUDGET_MS + STORM_SLACK_MS) * 1000000u)
			misses++;
	qsort(lat, STORM_FILES, sizeof(*lat), cmp_u64);
	ward_scanpool_stats(p, &ps);
	printf("exec storm: %u distinct files (5%% of 4 MB, rest 64 KB), %u submitting threads, "
	       "%u workers, budget %u ms:\n", STORM_FILES, STORM_THREADS, o.workers, STORM_BUDGET_MS);
	printf("  ward_scanpool_submit latency p50 %.2f ms  p99 %.2f ms  max %.2f ms   deadline misses (> %u ms): "
	       "%llu   wall %.2f s\n", (double)lat[STORM_FILES / 2] / 1e6,
	       (double)lat[STORM_FILES * 99 / 100] / 1e6, (double)lat[STORM_FILES - 1] / 1e6,
	       STORM_BUDGET_MS + STORM_SLACK_MS, (unsigned long long)misses, (double)wall / 1e9);
	if (nlate > 0)
		printf("  answers at or past the budget: %u, late by p50 %.2f ms  p99 %.2f ms  "
		       "max %.2f ms\n", nlate, (double)late[nlate / 2] / 1e6,
		       (double)late[nlate * 99 / 100] / 1e6, (double)late[nlate - 1] / 1e6);
	if (probe_n > 0) {
		qsort(probe_late, probe_n, sizeof(*probe_late), cmp_u64);
		for (unsigned i = 0; i < probe_n; i++)
			probe_over += probe_late[i] > (uint64_t)STORM_SLACK_MS * 1000000u;
		printf("  baseline, same run: a bare 10 ms timed wait is late by p50 %.2f ms  p99 %.2f ms  "
		       "max %.2f ms; %.1f%% of %u waits over %u ms\n", (double)probe_late[probe_n / 2] / 1e6,
		       (double)probe_late[probe_n * 99 / 100] / 1e6, (double)probe_late[probe_n - 1] / 1e6,
		       100.0 * probe_over / probe_n, probe_n, STORM_SLACK_MS);
	}
	printf("  answers: done %u  pending %u  busy %u  skipped %u  failed %u   "
	       "scan time mean %.2f ms  p99 %.2f ms\n", counts[WARD_SCAN_DONE],
	       counts[WARD_SCAN_PENDING], counts[WARD_SCAN_BUSY], counts[WARD_SCAN_SKIPPED],
	       counts[WARD_SCAN_FAILED], (double)ps.scan_us_mean / 1e3, (double)ps.scan_us_p99 / 1e3);
	ward_scanpool_destroy(p); /* waits for the pending scans */
	for (unsigned i = 0; i < STORM_FILES; i++) {
		char path[256];
		snprintf(path, sizeof(path), "%s/storm%04u.bin", dir, i);
		unlink(path);
	}
	free(lat);
}

/* ------------------------------------------------------------------ idle pool */

static uint64_t cpu_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static unsigned ward_pool_workers(void)
{
	ward_scanpool_opts_t o;

	ward_scanpool_opts_default(&o);
	return o.workers;
}

/* Stand-in for the agent's verdict cache: open addressing over file keys. */
#define DCACHE 4096u
static ward_scan_key_t dkeys[DCACHE];
static int dverdict[DCACHE];

static unsigned dslot(const ward_scan_key_t *k)
{
	uint64_t h = (k->ino * 0x9e3779b97f4a7c15ull) ^ (k->dev + (uint64_t)k->ctime_nsec);
	return (unsigned)(h >> 40) & (DCACHE - 1);
}

static void dcache_fill(void)
{
	for (unsigned i = 0; i < DCACHE / 2; i++) {
		ward_scan_key_t k = { .dev = 2049, .ino = 1000 + i, .ctime_sec = 1700000000,
		                      .ctime_nsec = i * 7919, .size = 4096 + i };
		unsigned s = dslot(&k);
		while (dkeys[s].ino)
			s = (s + 1) & (DCACHE - 1);
		dkeys[s] = k;
		dverdict[s] = 1;
	}
}

static int dcache_lookup(const ward_scan_key_t *k)
{
	for (unsigned s = dslot(k);; s = (s + 1) & (DCACHE - 1)) {
		if (dkeys[s].ino == 0)
			return -1;
		if (memcmp(&dkeys[s], k, sizeof(*k)) == 0)
			return dverdict[s];
	}
}

static uint64_t cached_decisions_ns(unsigned n)
{
	volatile int sink = 0;
	uint64_t t0 = now_ns();

	for (unsigned i = 0; i < n; i++) {
		unsigned j = i & (DCACHE / 2 - 1);
		ward_scan_key_t k = { .dev = 2049, .ino = 1000 + j, .ctime_sec = 1700000000,
		                      .ctime_nsec = j * 7919, .size = 4096 + j };
		sink += dcache_lookup(&k);
	}
	(void)sink;
	return now_ns() - t0;
}

static void bench_idle(ward_yrules_t *r)
{
	enum { ROUNDS = 21, N = 4000000, NHIT = 200000 };
	uint64_t base[ROUNDS], idle[ROUNDS], hit[ROUNDS], sub[ROUNDS], ratio[ROUNDS], mb, mi;
	uint64_t minb = UINT64_MAX, mini = UINT64_MAX;
	int64_t idle_cpu_ns = 0;
	char path[256];
	ward_scan_req_t req = { .fd = -1, .budget_ms = 1000 };
	ward_scan_verdict_t v;
	struct stat sb;

	dcache_fill();
	snprintf(path, sizeof(path), "%s/idle.bin", dir);
	write_file(path, 64u << 10);
	stat(path, &sb);
	ward_scan_key_from_stat(&sb, &req.key);
	req.path = path;
	cached_decisions_ns(N); /* warm */
	for (unsigned k = 0; k < ROUNDS; k++) {
		ward_scanpool_opts_t o;
		ward_scanpool_t *p = NULL;
		uint64_t t0;

		/* Both sides start the same way: after a 20 ms sleep (cache and frequency state). */
		usleep(20000);
		base[k] = cached_decisions_ns(N);
		ward_scanpool_opts_default(&o);
		if (ward_scanpool_create(&o, &p, NULL) != WARD_OK)
			die("pool", "create");
		ward_scanpool_set_rules(p, r);
		ward_scanpool_submit(p, &req, &v, NULL); /* one scan, then the pool is idle */
		usleep(20000);
		idle[k] = cached_decisions_ns(N);
		if (k == 0) {
			/* CPU the idle workers burn: process CPU minus this thread's, over 300 ms. */
			uint64_t p0 = cpu_ns(CLOCK_PROCESS_CPUTIME_ID), t0c = cpu_ns(CLOCK_THREAD_CPUTIME_ID);
			usleep(300000);
			idle_cpu_ns = (int64_t)(cpu_ns(CLOCK_PROCESS_CPUTIME_ID) - p0) -
			              (int64_t)(cpu_ns(CLOCK_THREAD_CPUTIME_ID) - t0c);
		}
		ratio[k] = idle[k] * 1000u / base[k];
		if (base[k] < minb)
			minb = base[k];
		if (idle[k] < mini)
			mini = idle[k];
		t0 = now_ns();
		for (unsigned i = 0; i < NHIT; i++)
			ward_scanpool_lookup(p, &req.key, &v);
		hit[k] = now_ns() - t0;
		t0 = now_ns();
		for (unsigned i = 0; i < NHIT; i++)
			ward_scanpool_submit(p, &req, &v, NULL);
		sub[k] = now_ns() - t0;
		if (!v.cached)
			die("idle", "submit was not a cache hit");
		ward_scanpool_destroy(p);
	}
	mb = median(base, ROUNDS);
	mi = median(idle, ROUNDS);
	printf("idle pool (%u interleaved rounds, medians):\n", ROUNDS);
	printf("  cached decision (hash hit) no pool %.2f ns   idle pool alive %.2f ns   "
	       "ratio of medians %.3f   median ratio per round %.3f   ratio of minima %.3f\n",
	       (double)mb / N, (double)mi / N, (double)mi / (double)mb,
	       (double)median(ratio, ROUNDS) / 1000.0, (double)mini / (double)minb);
	printf("  CPU used by %u idle workers over 300 ms: %lld us\n", ward_pool_workers(),
	       (long long)(idle_cpu_ns > 0 ? idle_cpu_ns / 1000 : 0));
	printf("  pool cache hit: ward_scanpool_lookup %.1f ns   ward_scanpool_submit %.1f ns\n",
	       (double)median(hit, ROUNDS) / NHIT, (double)median(sub, ROUNDS) / NHIT);
	unlink(path);
}

/* ------------------------------------------------------------------ main */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

int main(int argc, char **argv)
{
	ward_yrules_t *r = NULL;
	ward_error_t e = { 0 };
	char *src;
	uint64_t t0, t_all = now_ns();

	/* --write-rules FILE: only write the generated rule set (tests/bench/exec_yara.sh
	 * loads the same 400 rules into the agent). */
	if (argc == 3 && strcmp(argv[1], "--write-rules") == 0) {
		FILE *f = fopen(argv[2], "w");
		src = gen_rules();
		if (f == NULL || fputs(src, f) == EOF || fclose(f) != 0)
			die(argv[2], strerror(errno));
		free(src);
		return 0;
	}
	if (argc != 1) {
		fprintf(stderr, "usage: bench_scan [--write-rules FILE]\n");
		return 2;
	}

	if (!mkdtemp(dir))
		die("mkdtemp", strerror(errno));
	src = gen_rules();
	t0 = now_ns();
	if (ward_yrules_compile_string(src, "bench", NULL, NULL, &r, &e) != WARD_OK)
		die("compile", e.msg);
	printf("rule set: %u rules (%zu bytes of source), compiled in %.1f ms\n",
	       ward_yrules_count(r), strlen(src), (double)(now_ns() - t0) / 1e6);
	prepare_yara_cli(src);
	free(src);

	bench_throughput(r);
	bench_storm(r);
	bench_idle(r);

	ward_yrules_unref(r);
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	printf("bench_scan total %.1f s\n", (double)(now_ns() - t_all) / 1e9);
	return 0;
}
