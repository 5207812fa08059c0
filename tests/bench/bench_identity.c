/*
 * bench_identity: what file identity costs.
 *
 * 1. SHA-256 of a 256 MiB file (ward_sha256_fd, page cache warm) in MB/s, next to
 *    `openssl speed -evp sha256 -bytes 16384 -seconds 3` run in the same process run,
 *    interleaved (ours, openssl, ours), and the ratio (target >= 90%).
 * 2. Identity of signed Mach-Os without page verification (what the agent does per
 *    exec): median microseconds over many reads, for the Developer ID fixture, the same
 *    file grown past 100 MiB (bytes appended after the signature: the CodeDirectory is
 *    unchanged), and a 128 MiB file signed by tests/tools/mksig.py, whose CodeDirectory
 *    holds one hash per 4 KiB page (1 MiB of hashes) and must be hashed for the CDHash.
 *    Target: <= 100 us, not growing with file size. "first" is the first read in the
 *    process: for a signed file it includes parsing and chain-verifying the vendor's
 *    certificates, which scanner/cms.c then caches.
 *
 * Run from the repository root (make bench does). Files go to a mktemp directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "scanner/identity.h"
#include "tests/bench/benchutil.h"

#define HASH_FILE_BYTES (256ull << 20)
#define ID_RUNS 2001

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int make_hash_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	uint8_t *buf = malloc(1 << 20);
	uint64_t x = 0x9e3779b97f4a7c15ull;

	if (fd < 0 || buf == NULL)
		return -1;
	for (size_t i = 0; i < (1 << 20); i += 8) {
		x ^= x << 13; x ^= x >> 7; x ^= x << 17;
		memcpy(buf + i, &x, 8);
	}
	for (uint64_t done = 0; done < HASH_FILE_BYTES; done += 1 << 20) {
		buf[0] = (uint8_t)done;   /* no two MiB alike */
		if (write(fd, buf, 1 << 20) != 1 << 20)
			return -1;
	}
	free(buf);
	return close(fd);
}

static double our_sha256_mbs(const char *path)
{
	uint8_t h[WARD_SHA256_LEN];
	ward_error_t err;
	int fd = open(path, O_RDONLY);
	double t0, t1;

	if (fd < 0)
		return -1;
	t0 = now();
	if (ward_sha256_fd(fd, h, &err) != WARD_OK) {
		fprintf(stderr, "sha256: %s\n", err.msg);
		close(fd);
		return -1;
	}
	t1 = now();
	close(fd);
	return (double)HASH_FILE_BYTES / (t1 - t0) / 1e6;
}

/* `openssl speed` prints "sha256  <16B>k ... <16384B>k"; with -bytes 16384 only one column. */
static double openssl_mbs(void)
{
	FILE *p = popen("openssl speed -evp sha256 -bytes 16384 -seconds 3 2>/dev/null", "r");
	char line[512];
	double v = -1;

	if (p == NULL)
		return -1;
	while (fgets(line, sizeof(line), p) != NULL) {
		char name[64];
		double k;
		if (sscanf(line, "%63s %lfk", name, &k) == 2 &&
		    (strcmp(name, "sha256") == 0 || strcmp(name, "SHA256") == 0))
			v = k * 1000.0 / 1e6;
	}
	pclose(p);
	return v;
}

struct idcase {
	const char *label, *path;
	int fd;
	off_t size;
	double us[ID_RUNS];
	ward_identity_t id;
};

/*
 * Median and 90th percentile microseconds of ward_identity_read(fd, 0) on each case,
 * the cases interleaved run by run so that load from elsewhere hits them alike.
 */
static int time_identity(struct idcase *c, int n)
{
	ward_error_t err;
	struct stat st;

	for (int k = 0; k < n; k++) {
		c[k].fd = open(c[k].path, O_RDONLY);
		if (c[k].fd < 0 || fstat(c[k].fd, &st) != 0) {
			fprintf(stderr, "%s: %s\n", c[k].path, strerror(errno));
			return -1;
		}
		c[k].size = st.st_size;
	}
	for (int i = 0; i < ID_RUNS; i++) {
		for (int k = 0; k < n; k++) {
			double t0 = now();
			if (ward_identity_read(c[k].fd, 0, &c[k].id, &err) != WARD_OK) {
				fprintf(stderr, "%s: %s\n", c[k].path, err.msg);
				return -1;
			}
			c[k].us[i] = (now() - t0) * 1e6;
		}
	}
	for (int k = 0; k < n; k++) {
		const ward_slice_t *s = ward_identity_primary(&c[k].id);
		double first = c[k].us[0];
		double p50 = median(c[k].us, ID_RUNS), p90 = c[k].us[ID_RUNS * 9 / 10];
		close(c[k].fd);
		printf("identity %-44s %6.1f MiB  %-7s first %7.1f us  median %6.1f us  p90 %6.1f us  %s\n",
		       c[k].label, (double)c[k].size / (1 << 20), s ? ward_sigstatus_name(s->status) : "-",
		       first, p50, p90, p50 <= 100.0 ? "(<= 100 us: ok)" : "(> 100 us)");
	}
	return 0;
}

int main(void)
{
	char dir[] = "/tmp/ward-bench-XXXXXX", path[256], cmd[1200];
	double ours[4], ssl[2];
	int rc = 0;

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}

	/* ---- 1. SHA-256 throughput */
	snprintf(path, sizeof(path), "%s/hash.bin", dir);
	if (make_hash_file(path) != 0) {
		perror("write 256 MiB file");
		return 1;
	}
	(void)our_sha256_mbs(path);   /* warm the page cache */
	ours[0] = our_sha256_mbs(path);
	ours[1] = our_sha256_mbs(path);
	ssl[0] = openssl_mbs();
	ours[2] = our_sha256_mbs(path);
	ours[3] = our_sha256_mbs(path);
	ssl[1] = openssl_mbs();
	unlink(path);
	double o = median(ours, 4), s = (ssl[0] + ssl[1]) / 2;
	printf("sha256 file (256 MiB, page cache)   %8.0f MB/s  (median of 4)\n", o);
	printf("openssl speed -evp sha256 16 KiB    %8.0f MB/s  (mean of 2, same run)\n", s);
	printf("ratio ours/openssl                  %8.1f %%  %s\n", 100.0 * o / s,
	       o >= 0.9 * s ? "(>= 90%: ok)" : "(< 90%)");

	/* ---- 2. identity of signed Mach-Os, no page verification, interleaved */
	static struct idcase cases[4];
	char grown[300], big[300];
	snprintf(grown, sizeof(grown), "%s/sentry-grown", dir);
	snprintf(big, sizeof(big), "%s/big-signed", dir);
	snprintf(cmd, sizeof(cmd), "cp tests/fixtures/sentry-cli-2.43.0-arm64 %s && truncate -s 120M %s && "
	         "python3 tests/tools/mksig.py tiny x86_64 %s --size %d", grown, grown, big, 128 << 20);
	if (system(cmd) != 0) {
		fprintf(stderr, "cannot make the large test files\n");
		rc = 1;
	} else {
		cases[0] = (struct idcase){ .label = "sentry-cli (Developer ID, 2821 pages)",
		                            .path = "tests/fixtures/sentry-cli-2.43.0-arm64" };
		cases[1] = (struct idcase){ .label = "sentry-cli + 108 MiB after the signature", .path = grown };
		cases[2] = (struct idcase){ .label = "go-hello-arm64 (ad hoc)", .path = "tests/fixtures/go-hello-arm64" };
		cases[3] = (struct idcase){ .label = "128 MiB signed by mksig (1 MiB CodeDirectory)", .path = big };
		rc |= time_identity(cases, 4);
	}
	unlink(grown);
	unlink(big);
	rmdir(dir);
	return rc ? 1 : 0;
}
