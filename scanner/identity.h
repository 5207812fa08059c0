/*
 * warden — file identity: what is this file, and who signed it?
 *
 * The identity is what every rule keys on. Reading it must be exact, fast (a signed
 * Mach-O's CDHash and team ID come from the CodeDirectory alone, without hashing the
 * whole file) and safe on hostile input (every read is bounds-checked against the file
 * size and the limits in common/limits.h).
 *
 * Structures are fixed-size: no allocation, so the agent can read an identity on the
 * hot path and callers never free anything.
 */
#ifndef WARD_SCANNER_IDENTITY_H
#define WARD_SCANNER_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "common/limits.h"

#define WARD_SHA256_LEN 32
#define WARD_CDHASH_LEN 20

typedef enum {
	WARD_FT_OTHER = 0,
	WARD_FT_MACHO,   /* thin Mach-O, 32 or 64 bit */
	WARD_FT_FAT,     /* universal binary (FAT_MAGIC / FAT_MAGIC_64) */
	WARD_FT_ELF,
	WARD_FT_SCRIPT,  /* starts with "#!" */
} ward_filetype_t;

typedef enum {
	WARD_SIG_UNSIGNED = 0, /* no LC_CODE_SIGNATURE */
	WARD_SIG_ADHOC,        /* CodeDirectory without a CMS signer (CS_ADHOC); team_id left empty */
	WARD_SIG_SIGNED,       /* CMS signer verified over the CodeDirectory, chain to an Apple
	                          root CA, team ID checked against the leaf (docs/identity.md) */
	WARD_SIG_INVALID,      /* present but wrong: see ward_slice_t.invalid_reason */
} ward_sigstatus_t;

/* One architecture slice of a Mach-O (a thin file has exactly one). */
typedef struct ward_slice {
	char arch[16];              /* "arm64", "x86_64", "arm64e", "i386", or "cpu:<n>" */
	uint32_t cputype, cpusubtype;
	uint64_t offset, size;      /* of the slice within the file */
	ward_sigstatus_t status;
	char invalid_reason[160];   /* for WARD_SIG_INVALID: which page/slot/blob */
	bool has_cdhash;
	uint8_t cdhash[WARD_CDHASH_LEN];
	uint8_t hash_type;          /* CS_HASHTYPE_* of the chosen CodeDirectory */
	uint32_t cd_version;
	uint32_t cd_flags;          /* CS_ADHOC 0x2, CS_RUNTIME 0x10000, CS_LINKER_SIGNED 0x20000 */
	char signing_id[WARD_MAX_SIGNING_ID + 1];
	char team_id[WARD_MAX_TEAM_ID + 1];   /* empty when none */
	bool has_cert;
	uint8_t cert_sha256[WARD_SHA256_LEN]; /* leaf certificate (DER) SHA-256 */
	char cert_cn[128];
	char cert_ou[64];
	uint32_t pages_checked;     /* code slots verified (0 when not asked) */
} ward_slice_t;

typedef struct ward_identity {
	ward_filetype_t type;
	uint64_t file_size;
	bool has_sha256;
	uint8_t sha256[WARD_SHA256_LEN];
	unsigned nslices;
	ward_slice_t slices[WARD_MAX_SLICES];
	char interpreter[256];      /* WARD_FT_SCRIPT: the #! line's program */
} ward_identity_t;

/* Flags for ward_identity_read(). */
#define WARD_ID_SHA256       0x1u /* hash the whole file (streaming) */
#define WARD_ID_VERIFY_PAGES 0x2u /* check every code slot up to codeLimit (special slots
                                     and the CMS signature are always checked) */

/*
 * Read the identity of the open file fd (read with pread: the file offset is not
 * moved). flags selects the costly parts. Returns WARD_OK and fills *out; on error
 * returns the code and fills err with the reason (what and at which offset).
 * A Mach-O whose signature is present but wrong is NOT an error: it is WARD_OK with
 * that slice's status WARD_SIG_INVALID and the reason in invalid_reason. Errors are
 * for files that cannot be read or are not well-formed containers.
 */
ward_err_t ward_identity_read(int fd, unsigned flags, ward_identity_t *out, ward_error_t *err);

/* Same, giving up with WARD_E_TIMEOUT once CLOCK_MONOTONIC passes deadline_ns while the
 * whole file is hashed (0: no deadline). The decision path passes the event's deadline
 * so that a huge or slow file cannot hold a worker past it. */
ward_err_t ward_identity_read_until(int fd, unsigned flags, uint64_t deadline_ns,
                                    ward_identity_t *out, ward_error_t *err);

/* Same, on an in-memory image of len bytes (tests, fuzzing). */
ward_err_t ward_identity_read_buf(const uint8_t *buf, size_t len, unsigned flags,
                                  ward_identity_t *out, ward_error_t *err);

/* Same, opening path read-only (O_CLOEXEC|O_NOFOLLOW is NOT used: paths follow links). */
ward_err_t ward_identity_read_path(const char *path, unsigned flags, ward_identity_t *out,
                                   ward_error_t *err);

/*
 * One slice to show when only one is shown: arm64, then x86_64, then the first. NULL if
 * no slices. Decisions do NOT key on it: a universal binary is decided on every slice,
 * the most restrictive result winning (rules/rules.h, ward_index_match_keys), or on the
 * slice the kernel says runs (EndpointSecurity's cdhash).
 */
const ward_slice_t *ward_identity_primary(const ward_identity_t *id);

/*
 * The slice of a Mach-O named arch (a name as ward_slice_t.arch gives it: arm64, arm64e,
 * x86_64, x86_64h, i386, arm, arm64_32, ppc, ppc64, cpu:<n>): WARD_OK and *index, or
 * WARD_E_NOTFOUND with err saying what the file has instead ("no ppc slice (it has
 * arm64, x86_64)", or "an elf file has no architecture slices (--arch is for Mach-O
 * files)"). The one message every `--arch` of wardenctl gives.
 */
ward_err_t ward_identity_find_arch(const ward_identity_t *id, const char *arch, unsigned *index,
                                   ward_error_t *err);

/* True when name is an architecture name ward_slice_t.arch can hold (the list above). */
bool ward_arch_name_valid(const char *name);

/* The names ward_arch_name_valid() knows, comma-separated, for usage messages. */
#define WARD_ARCH_NAMES "arm64, arm64e, x86_64, x86_64h, i386, arm, arm64_32, ppc, ppc64, cpu:<n>"

/*
 * Streaming SHA-256 of the whole file behind fd (pread from offset 0, OpenSSL EVP).
 * Files of WARD_SHA256_THREADED_MIN bytes or more are read by one short-lived helper
 * thread into a small ring of buffers while the caller's thread hashes, so the kernel's
 * copy out of the page cache overlaps the hashing instead of adding to it.
 */
ward_err_t ward_sha256_fd(int fd, uint8_t out[WARD_SHA256_LEN], ward_error_t *err);

/* Same, giving up with WARD_E_TIMEOUT once CLOCK_MONOTONIC passes deadline_ns (0: never). */
ward_err_t ward_sha256_fd_until(int fd, uint64_t deadline_ns, uint8_t out[WARD_SHA256_LEN],
                                ward_error_t *err);

/* Names for printing: "macho", "fat", "elf", "script", "other"; and
 * "unsigned", "adhoc", "signed", "invalid". */
const char *ward_filetype_name(ward_filetype_t t);
const char *ward_sigstatus_name(ward_sigstatus_t s);

#endif
