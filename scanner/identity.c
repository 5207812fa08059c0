/*
 * File identity: type sniffing, whole-file SHA-256, and dispatch to the Mach-O parser.
 */
#include "scanner/identity.h"

#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "scanner/macho.h"
#include "common/platform.h"

const char *ward_filetype_name(ward_filetype_t t)
{
	switch (t) {
	case WARD_FT_MACHO: return "macho";
	case WARD_FT_FAT: return "fat";
	case WARD_FT_ELF: return "elf";
	case WARD_FT_SCRIPT: return "script";
	case WARD_FT_OTHER: break;
	}
	return "other";
}

const char *ward_sigstatus_name(ward_sigstatus_t s)
{
	switch (s) {
	case WARD_SIG_ADHOC: return "adhoc";
	case WARD_SIG_SIGNED: return "signed";
	case WARD_SIG_INVALID: return "invalid";
	case WARD_SIG_UNSIGNED: break;
	}
	return "unsigned";
}

ward_err_t ward_reader_read(const ward_reader_t *r, uint64_t off, void *dst, size_t len,
                            ward_error_t *err)
{
	if (off > r->size || len > r->size - off)
		return ward_error_set(err, WARD_E_TRUNCATED,
		                      "read of %zu bytes at offset %llu past end of file (%llu bytes)",
		                      len, (unsigned long long)off, (unsigned long long)r->size);
	if (r->fd < 0) {
		memcpy(dst, r->buf + off, len);
		return WARD_OK;
	}
	size_t done = 0;
	while (done < len) {
		ssize_t n = ward_pread(r->fd, (uint8_t *)dst + done, len - done, (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return ward_error_set(err, WARD_E_IO, "read at offset %llu: %s",
			                      (unsigned long long)(off + done), strerror(errno));
		if (n == 0)
			return ward_error_set(err, WARD_E_TRUNCATED, "file shrank while reading at offset %llu",
			                      (unsigned long long)(off + done));
		done += (size_t)n;
	}
	return WARD_OK;
}

/* Read up to len bytes at off, retrying on EINTR; returns bytes read, 0 at EOF, -1 on error. */
static ssize_t pread_some(int fd, void *buf, size_t len, off_t off)
{
	ssize_t n;

	do
		n = ward_pread(fd, buf, len, off);
	while (n < 0 && errno == EINTR);
	return n;
}

/*
 * The reader/hasher ring for large files: the helper thread fills slots in order, the
 * caller hashes them in order. len[i] > 0: filled; 0: end of file; -1: read error
 * (errno in rd_errno). A slot is free again once the hasher moved past it.
 */
struct sha_ring {
	int fd;
	uint8_t *buf[WARD_SHA256_RING];
	ssize_t len[WARD_SHA256_RING];
	unsigned filled, hashed;   /* slots produced / consumed so far */
	int stop, rd_errno;
	off_t err_off;
	pthread_mutex_t mu;
	pthread_cond_t cv;
};

static void *sha_reader(void *arg)
{
	struct sha_ring *rg = arg;
	off_t off = 0;

	for (;;) {
		unsigned slot;

		pthread_mutex_lock(&rg->mu);
		while (!rg->stop && rg->filled - rg->hashed == WARD_SHA256_RING)
			pthread_cond_wait(&rg->cv, &rg->mu);
		if (rg->stop) {
			pthread_mutex_unlock(&rg->mu);
			return NULL;
		}
		slot = rg->filled % WARD_SHA256_RING;
		pthread_mutex_unlock(&rg->mu);

		ssize_t n = pread_some(rg->fd, rg->buf[slot], WARD_IO_CHUNK, off);

		pthread_mutex_lock(&rg->mu);
		rg->len[slot] = n;
		if (n < 0) {
			rg->rd_errno = errno;
			rg->err_off = off;
		}
		rg->filled++;
		pthread_cond_broadcast(&rg->cv);
		pthread_mutex_unlock(&rg->mu);
		if (n <= 0)
			return NULL;
		off += n;
	}
}

/* CLOCK_MONOTONIC in ns, for read deadlines. */
static uint64_t id_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static bool past(uint64_t deadline_ns)
{
	return deadline_ns != 0 && id_mono_ns() >= deadline_ns;
}

static ward_err_t sha256_threaded(int fd, EVP_MD_CTX *ctx, uint64_t deadline_ns, ward_error_t *err)
{
	struct sha_ring rg = { .fd = fd };
	pthread_t th;
	ward_err_t rc = WARD_OK;
	unsigned nbuf = 0;

	for (; nbuf < WARD_SHA256_RING; nbuf++)
		if ((rg.buf[nbuf] = malloc(WARD_IO_CHUNK)) == NULL)
			break;
	if (nbuf < WARD_SHA256_RING) {
		rc = ward_error_set(err, WARD_E_NOMEM, "sha256: out of memory");
		goto free;
	}
	pthread_mutex_init(&rg.mu, NULL);
	pthread_cond_init(&rg.cv, NULL);
	if (pthread_create(&th, NULL, sha_reader, &rg) != 0) {
		rc = ward_error_set(err, WARD_E_NOMEM, "sha256: cannot start reader thread");
		goto destroy;
	}
	for (;;) {
		unsigned slot;
		ssize_t n;

		pthread_mutex_lock(&rg.mu);
		while (rg.filled == rg.hashed)
			pthread_cond_wait(&rg.cv, &rg.mu);
		slot = rg.hashed % WARD_SHA256_RING;
		n = rg.len[slot];
		pthread_mutex_unlock(&rg.mu);
		if (n < 0) {
			rc = ward_error_set(err, WARD_E_IO, "sha256: read at offset %lld: %s",
			                    (long long)rg.err_off, strerror(rg.rd_errno));
			break;
		}
		if (n == 0)
			break;
		if (past(deadline_ns)) {
			rc = ward_error_set(err, WARD_E_TIMEOUT, "sha256: out of time");
			break;
		}
		if (EVP_DigestUpdate(ctx, rg.buf[slot], (size_t)n) != 1) {
			rc = ward_error_set(err, WARD_E_CRYPTO, "sha256: EVP_DigestUpdate failed");
			break;
		}
		pthread_mutex_lock(&rg.mu);
		rg.hashed++;
		pthread_cond_broadcast(&rg.cv);
		pthread_mutex_unlock(&rg.mu);
	}
	pthread_mutex_lock(&rg.mu);
	rg.stop = 1;
	pthread_cond_broadcast(&rg.cv);
	pthread_mutex_unlock(&rg.mu);
	pthread_join(th, NULL);
destroy:
	pthread_cond_destroy(&rg.cv);
	pthread_mutex_destroy(&rg.mu);
free:
	for (unsigned i = 0; i < nbuf; i++)
		free(rg.buf[i]);
	return rc;
}

ward_err_t ward_sha256_fd(int fd, uint8_t out[WARD_SHA256_LEN], ward_error_t *err)
{
	return ward_sha256_fd_until(fd, 0, out, err);
}

ward_err_t ward_sha256_fd_until(int fd, uint64_t deadline_ns, uint8_t out[WARD_SHA256_LEN],
                                ward_error_t *err)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t *buf = NULL;
	ward_err_t rc = WARD_OK;
	struct stat st;
	off_t off = 0;

	if (ctx == NULL) {
		rc = ward_error_set(err, WARD_E_NOMEM, "sha256: out of memory");
		goto out;
	}
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		rc = ward_error_set(err, WARD_E_CRYPTO, "sha256: EVP_DigestInit_ex failed");
		goto out;
	}
	ward_fadvise_sequential(fd);
	if (fstat(fd, &st) == 0 && st.st_size >= (off_t)WARD_SHA256_THREADED_MIN) {
		if (ward_nowait_active()) { /* a helper thread's reads are not in the mode */
			ward_nowait_mark_blocked();
			rc = ward_error_set(err, WARD_E_IO, "sha256: too big to read without waiting");
			goto out;
		}
		if ((rc = sha256_threaded(fd, ctx, deadline_ns, err)) != WARD_OK)
			goto out;
		goto final;
	}
	if ((buf = malloc(WARD_IO_CHUNK)) == NULL) {
		rc = ward_error_set(err, WARD_E_NOMEM, "sha256: out of memory");
		goto out;
	}
	for (;;) {
		ssize_t n = pread_some(fd, buf, WARD_IO_CHUNK, off);
		if (n < 0) {
			rc = ward_error_set(err, WARD_E_IO, "sha256: read at offset %lld: %s",
			                    (long long)off, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		if (past(deadline_ns)) {
			rc = ward_error_set(err, WARD_E_TIMEOUT, "sha256: out of time at offset %lld",
			                    (long long)off);
			goto out;
		}
		if (EVP_DigestUpdate(ctx, buf, (size_t)n) != 1) {
			rc = ward_error_set(err, WARD_E_CRYPTO, "sha256: EVP_DigestUpdate failed");
			goto out;
		}
		off += n;
	}
final:
	if (EVP_DigestFinal_ex(ctx, out, NULL) != 1)
		rc = ward_error_set(err, WARD_E_CRYPTO, "sha256: EVP_DigestFinal_ex failed");
out:
	free(buf);
	EVP_MD_CTX_free(ctx);
	return rc;
}

/* Copy the program of a "#!" line (up to whitespace) into id->interpreter. */
static void read_interpreter(const ward_reader_t *r, ward_identity_t *id)
{
	char line[sizeof(id->interpreter) + 2];
	size_t n = r->size - 2 < sizeof(line) - 1 ? (size_t)(r->size - 2) : sizeof(line) - 1;
	size_t i = 0, j = 0;

	if (ward_reader_read(r, 2, line, n, NULL) != WARD_OK)
		return;
	line[n] = '\0';
	while (i < n && (line[i] == ' ' || line[i] == '\t'))
		i++;
	while (i < n && j + 1 < sizeof(id->interpreter) && line[i] != ' ' && line[i] != '\t' &&
	       line[i] != '\n' && line[i] != '\r' && line[i] != '\0')
		id->interpreter[j++] = line[i++];
	id->interpreter[j] = '\0';
}

static ward_err_t identity_read(const ward_reader_t *r, unsigned flags, ward_identity_t *out,
                                ward_error_t *err)
{
	uint8_t magic[4] = { 0 };

	memset(out, 0, sizeof(*out));
	out->file_size = r->size;
	if (r->size >= 4 && ward_reader_read(r, 0, magic, 4, err) != WARD_OK)
		return err ? err->code : WARD_E_IO;
	if (r->size >= 4 && ward_macho_is_magic(magic)) {
		ward_err_t rc = ward_macho_read(r, flags, out, err);
		if (rc != WARD_OK)
			return rc;
	} else if (r->size >= 4 && memcmp(magic, "\177ELF", 4) == 0) {
		out->type = WARD_FT_ELF;
	} else if (r->size >= 2 && magic[0] == '#' && magic[1] == '!') {
		out->type = WARD_FT_SCRIPT;
		read_interpreter(r, out);
	} else {
		out->type = WARD_FT_OTHER;
	}
	if ((flags & WARD_ID_SHA256) && r->fd >= 0) {
		ward_err_t rc = ward_sha256_fd_until(r->fd, r->deadline_ns, out->sha256, err);
		if (rc != WARD_OK)
			return rc;
		out->has_sha256 = true;
	} else if ((flags & WARD_ID_SHA256) && r->fd < 0) {
		unsigned int len = 0;
		if (EVP_Digest(r->buf, r->size, out->sha256, &len, EVP_sha256(), NULL) != 1)
			return ward_error_set(err, WARD_E_CRYPTO, "sha256 failed");
		out->has_sha256 = true;
	}
	return WARD_OK;
}

ward_err_t ward_identity_read(int fd, unsigned flags, ward_identity_t *out, ward_error_t *err)
{
	return ward_identity_read_until(fd, flags, 0, out, err);
}

ward_err_t ward_identity_read_until(int fd, unsigned flags, uint64_t deadline_ns,
                                    ward_identity_t *out, ward_error_t *err)
{
	struct stat st;
	ward_reader_t r = { .fd = fd, .buf = NULL, .size = 0, .deadline_ns = deadline_ns };

	if (fstat(fd, &st) != 0)
		return ward_error_set(err, WARD_E_IO, "fstat: %s", strerror(errno));
	if (!S_ISREG(st.st_mode))
		return ward_error_set(err, WARD_E_UNSUPPORTED, "not a regular file");
	r.size = (uint64_t)st.st_size;
	return identity_read(&r, flags, out, err);
}

/* Identity of an in-memory image (tests and fuzzing). */
ward_err_t ward_identity_read_buf(const uint8_t *buf, size_t len, unsigned flags,
                                  ward_identity_t *out, ward_error_t *err)
{
	ward_reader_t r = { .fd = -1, .buf = buf, .size = len };
	return identity_read(&r, flags, out, err);
}

ward_err_t ward_identity_read_path(const char *path, unsigned flags, ward_identity_t *out,
                                   ward_error_t *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ward_err_t rc;

	if (fd < 0)
		return ward_error_set(err, WARD_E_IO, "%s", strerror(errno));
	rc = ward_identity_read(fd, flags, out, err);
	close(fd);
	return rc;
}

const ward_slice_t *ward_identity_primary(const ward_identity_t *id)
{
	static const char *const pref[] = { "arm64", "x86_64" };

	if (id->nslices == 0)
		return NULL;
	for (size_t p = 0; p < sizeof(pref) / sizeof(pref[0]); p++)
		for (unsigned i = 0; i < id->nslices; i++)
			if (strcmp(id->slices[i].arch, pref[p]) == 0)
				return &id->slices[i];
	return &id->slices[0];
}

bool ward_arch_name_valid(const char *name)
{
	static const char *const names[] = {
		"arm64", "arm64e", "x86_64", "x86_64h", "i386", "arm", "arm64_32", "ppc", "ppc64",
	};
	const char *p;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(name, names[i]) == 0)
			return true;
	if (strncmp(name, "cpu:", 4) != 0 || name[4] == '\0' || strlen(name) > 14)
		return false;
	for (p = name + 4; *p; p++)
		if (*p < '0' || *p > '9')
			return false;
	return true;
}

ward_err_t ward_identity_find_arch(const ward_identity_t *id, const char *arch, unsigned *index,
                                   ward_error_t *err)
{
	char have[WARD_MAX_SLICES * 18] = "";
	size_t len = 0;

	if (id->nslices == 0)
		return ward_error_set(err, WARD_E_NOTFOUND, "a%s %s file has no architecture slices "
		                      "(--arch is for Mach-O files)",
		                      id->type == WARD_FT_ELF || id->type == WARD_FT_OTHER ? "n" : "",
		                      ward_filetype_name(id->type));
	for (unsigned i = 0; i < id->nslices && i < WARD_MAX_SLICES; i++) {
		if (strcmp(id->slices[i].arch, arch) == 0) {
			*index = i;
			return WARD_OK;
		}
		len += (size_t)snprintf(have + len, sizeof(have) - len, "%s%s", i ? ", " : "",
		                        id->slices[i].arch);
		if (len >= sizeof(have))
			len = sizeof(have) - 1;
	}
	return ward_error_set(err, WARD_E_NOTFOUND, "no %.20s slice (it has %s)", arch, have);
}
