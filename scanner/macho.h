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

/* True if the 4 bytes at the start of a file are a Mach-O or fat magic (either order). */
int ward_macho_is_magic(const uint8_t magic[4]);

#endif
