/*
 * Internal to scanner/: the Mach-O and code-signature parser behind ward_identity_read.
 * Works on a bounds-checked reader so the same code parses a file (pread) and a memory
 * buffer (fuzzing, tests).
 */
#ifndef WARD_SCANNER_MACHO_H
#define WARD_SCANNER_MACHO_H

#include <stdint.h>

#include "scanner/identity.h"

typedef struct ward_reader {
	int fd;              /* >= 0: read with pread */
	const uint8_t *buf;  /* fd < 0: read from buf */
	uint64_t size;       /* bytes available */
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
 * Read the code signature sig[0, len) (the bytes LC_CODE_SIGNATURE points to) of the
 * Mach-O in window w into the signature fields of *s. A wrong signature is not an error:
 * it sets s->status = WARD_SIG_INVALID and s->invalid_reason. Errors are only for what
 * stops us from judging (out of memory, OpenSSL failure, I/O while hashing pages).
 * flags: WARD_ID_VERIFY_PAGES hashes every code page and special slot.
 */
ward_err_t ward_codesign_read(const uint8_t *sig, size_t len, const ward_window_t *w,
                              unsigned flags, ward_slice_t *s, ward_error_t *err);

/* True if the 4 bytes at the start of a file are a Mach-O or fat magic (either order). */
int ward_macho_is_magic(const uint8_t magic[4]);

#endif
