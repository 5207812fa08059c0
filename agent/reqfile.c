/* Reading a user-named file within bounds (see reqfile.h). */
#include "agent/reqfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "agent/reqfile_os.h"
#include "common/limits.h"

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void ward_reqfile_open_errno(const char *path, int e, ward_error_t *err)
{
	ward_error_set(err, e == ENOENT ? WARD_E_NOTFOUND : e == EACCES || e == EPERM ? WARD_E_PERM : WARD_E_IO,
	               "%s: %s%s", path, strerror(e),
	               e == EACCES ? " (you must be able to read the file you ask for)" : "");
}

int ward_reqfile_open(const ward_ctl_peer_t *peer, const char *path, struct stat *sb,
                      ward_error_t *err)
{
	const char *pseudo;
	int fd;

	if ((fd = ward_reqfile_os_open(peer, path, err)) < 0)
		return -1;
	if (fstat(fd, sb) != 0 || !S_ISREG(sb->st_mode)) {
		ward_error_set(err, WARD_E_INVAL, "%s: not a regular file (devices, FIFOs, sockets and "
		               "directories are refused)", path);
		goto fail;
	}
	if (!ward_reqfile_os_pseudo(fd, path, &pseudo, err))
		goto fail;
	if (pseudo != NULL) {
		ward_error_set(err, WARD_E_INVAL, "%s: a file of %s, not a program (refused)", path, pseudo);
		goto fail;
	}
	if ((uint64_t)sb->st_size > WARD_REQ_MAX_FILE_BYTES) {
		ward_error_set(err, WARD_E_LIMIT, "%s: %lld bytes; a request may name a file of at most "
		               "%llu bytes", path, (long long)sb->st_size,
		               (unsigned long long)WARD_REQ_MAX_FILE_BYTES);
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

ward_err_t ward_reqfile_identity(int fd, const struct stat *sb, uint64_t deadline_ns,
                                 ward_identity_t *id, ward_error_t *err)
{
	EVP_MD_CTX *ctx = NULL;
	uint8_t *buf = NULL;
	uint64_t left = (uint64_t)sb->st_size, off = 0;
	ward_error_t e2 = { 0 };
	ward_err_t rc;

	/* The container first (headers and signature: bounded by the file size and the
	 * Mach-O limits); then the SHA-256, bounded here. */
	memset(id, 0, sizeof(*id));
	if ((rc = ward_identity_read(fd, 0, id, &e2)) != WARD_OK)
		return ward_error_set(err, rc, "%s", e2.msg);
	if ((ctx = EVP_MD_CTX_new()) == NULL || (buf = malloc(WARD_IO_CHUNK)) == NULL) {
		rc = ward_error_set(err, WARD_E_NOMEM, "out of memory");
		goto out;
	}
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		rc = ward_error_set(err, WARD_E_CRYPTO, "sha256: init failed");
		goto out;
	}
	while (left > 0) {
		size_t want = left < WARD_IO_CHUNK ? (size_t)left : WARD_IO_CHUNK;
		ssize_t n = pread(fd, buf, want, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = ward_error_set(err, WARD_E_IO, "read at offset %llu: %s",
			                    (unsigned long long)off, strerror(errno));
			goto out;
		}
		if (n == 0) {
			rc = ward_error_set(err, WARD_E_IO, "the file shrank while it was read");
			goto out;
		}
		if (EVP_DigestUpdate(ctx, buf, (size_t)n) != 1) {
			rc = ward_error_set(err, WARD_E_CRYPTO, "sha256: update failed");
			goto out;
		}
		off += (uint64_t)n;
		left -= (uint64_t)n;
		if (mono_ns() > deadline_ns) {
			rc = ward_error_set(err, WARD_E_TIMEOUT, "reading the file took longer than %u ms "
			                    "(stopped after %llu of %lld bytes)", WARD_REQ_HASH_BUDGET_MS,
			                    (unsigned long long)off, (long long)sb->st_size);
			goto out;
		}
	}
	if (EVP_DigestFinal_ex(ctx, id->sha256, NULL) != 1) {
		rc = ward_error_set(err, WARD_E_CRYPTO, "sha256: final failed");
		goto out;
	}
	id->has_sha256 = true;
	id->file_size = (uint64_t)sb->st_size;
	rc = WARD_OK;
out:
	EVP_MD_CTX_free(ctx);
	free(buf);
	return rc;
}
