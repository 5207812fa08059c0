/*
 * Internal to scanner/: the Mach-O and code-signature parser behind ward_identity_read.
 * Works on a bounds-checked reader so the same code parses a file (pread) and a memory
 * buffer (fuzzing, tests).
 */
#ifndef WARD_SCANNER_MACHO_H
#define WARD_SCANNER_MACHO_H

#include <stdint.h>

#include <openssl/evp.h>

#include "scanner/identity.h"

typedef struct ward_reader {
	int fd;              /* >= 0: read with pread */
	const uint8_t *buf;  /* fd < 0: read from buf */
	uint64_t size;       /* bytes available */
	uint64_t deadline_ns; /* CLOCK_MONOTONIC: whole-file hashing stops past it (0: none) */
} ward_reader_t;

/*
 * Copy len bytes at off into dst. Fails with WARD_E_TRUNCATED (off+len past size,
 * overflow-safe) or WARD_E_IO; never reads outside [0, size).
 */
ward_err_t ward_reader_read(const ward_reader_t *r, uint64_t off, void *dst, size_t len,
                            ward_error_t *err);

/*
 * Parse a thin or fat Mach-O into id->type, id->nslices and id->slices. The caller has
 * already seen a Mach-O or fat magic at offset 0. flags: WARD_ID_VERIFY_PAGES.
 */
ward_err_t ward_macho_read(const ward_reader_t *r, unsigned flags, ward_identity_t *id,
                           ward_error_t *err);

/*
 * One slice of the file as a window [base, base+size) on a reader: every read is checked
 * against the window first, then against the file by ward_reader_read.
 */
typedef struct ward_window {
	const ward_reader_t *r;
	uint64_t base;
	uint64_t size;
} ward_window_t;

/* Copy len bytes at off (relative to the window) into dst; WARD_E_TRUNCATED past its end. */
ward_err_t ward_window_read(const ward_window_t *w, uint64_t off, void *dst, size_t len,
                            ward_error_t *err);

/*
 * Read the code signature sig[0, len) (the bytes LC_CODE_SIGNATURE points to, at sigoff
 * in the slice) of the Mach-O in window w into the signature fields of *s. A wrong signature is not an error:
 * it sets s->status = WARD_SIG_INVALID and s->invalid_reason. Errors are only for what
 * stops us from judging (out of memory, OpenSSL failure, I/O while hashing pages).
 * flags: WARD_ID_VERIFY_PAGES hashes every code page and special slot.
 */
ward_err_t ward_codesign_read(const uint8_t *sig, size_t len, uint64_t sigoff,
                              const ward_window_t *w, unsigned flags, ward_slice_t *s,
                              ward_error_t *err);

/*
 * Mark slice s invalid with a printf-style reason (the first reason found wins).
 * Returns WARD_OK: an invalid signature is a finding, not an error.
 */
ward_err_t ward_slice_invalid(ward_slice_t *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Check the CMS blob (DER/BER SignedData, without the 8-byte blob header) of a code
 * signature: fills s->cert_* from the signer's (leaf) certificate, and sets
 * s->status = WARD_SIG_SIGNED when its signature over the signed attributes verifies,
 * their messageDigest is the digest of cd0 (the CodeDirectory in slot 0), alt_cdhash
 * (the chosen CodeDirectory's CDHash when it is not cd0, else NULL) is listed in Apple's
 * CDHashes attribute, the leaf chains to a pinned Apple root CA, and s->team_id (from the
 * CodeDirectory) is empty or the leaf's OU or the leaf is Apple's own. Otherwise the slice
 * is marked invalid with the reason. cd0_md/cd0_digest, when not NULL, are a digest of
 * cd0 already computed (so a large CodeDirectory is not hashed twice). Errors only for
 * memory and OpenSSL failures.
 * Thread-safe: verified certificate sets are cached process-wide (scanner/cms.c).
 */
ward_err_t ward_cms_check(const uint8_t *der, size_t len, const uint8_t *cd0, size_t cd0len,
                          const EVP_MD *cd0_md, const uint8_t *cd0_digest,
                          const uint8_t *alt_cdhash, ward_slice_t *s, ward_error_t *err);

/* True if the 4 bytes at the start of a file are a Mach-O or fat magic (either order). */
int ward_macho_is_magic(const uint8_t magic[4]);

#endif
