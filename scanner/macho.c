/*
 * Mach-O container parsing: universal (fat) headers, thin 32/64-bit headers in either
 * byte order, load commands, and the LC_CODE_SIGNATURE that points at the signature.
 * The signature itself is read by scanner/codesign.c.
 *
 * Layouts follow <mach-o/fat.h> and <mach-o/loader.h>. Fat headers are big-endian on
 * disk; thin headers are in the byte order their magic says. A problem with the
 * container (truncated, overlapping, absurd counts) is an error; a problem inside the
 * signature bytes is a slice status (WARD_SIG_INVALID), see codesign.c.
 */
#include "scanner/macho.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FAT_MAGIC       0xcafebabeu
#define FAT_MAGIC_64    0xcafebabfu
#define MH_MAGIC        0xfeedfaceu
#define MH_CIGAM        0xcefaedfeu
#define MH_MAGIC_64     0xfeedfacfu
#define MH_CIGAM_64     0xcffaedfeu

#define FAT_HEADER_SIZE   8u
#define FAT_ARCH_SIZE     20u  /* cputype, cpusubtype, offset, size, align (all u32) */
#define FAT_ARCH64_SIZE   32u  /* cputype, cpusubtype, offset u64, size u64, align, reserved */
#define MH_HEADER_SIZE    28u
#define MH_HEADER64_SIZE  32u

#define LC_CODE_SIGNATURE 0x1du
#define LINKEDIT_DATA_SIZE 16u  /* struct linkedit_data_command */

#define CPU_ARCH_ABI64    0x01000000u
#define CPU_ARCH_ABI64_32 0x02000000u
#define CPU_SUBTYPE_MASK  0xff000000u
#define CPU_TYPE_X86      7u
#define CPU_TYPE_ARM      12u
#define CPU_TYPE_POWERPC  18u
#define CPU_SUBTYPE_ARM64E 2u
#define CPU_SUBTYPE_X86_64_H 8u /* Haswell: lipo keeps it beside a plain x86_64 slice */

/*
 * A Java class file starts with 0xcafebabe too, followed by minor and major version
 * (u16 each, major >= 45). A fat header with that many architectures is not one, so
 * such a file is "other", as file(1) decides.
 */
#define JAVA_MIN_MAJOR 45u

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const uint8_t *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

static uint32_t rd32(const uint8_t *p, int swap)
{
	if (swap)
		return be32(p);
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

int ward_macho_is_magic(const uint8_t m[4])
{
	switch (be32(m)) {
	case MH_MAGIC: case MH_CIGAM: case MH_MAGIC_64: case MH_CIGAM_64:
	case FAT_MAGIC: case FAT_MAGIC_64:
		return 1;
	}
	return 0;
}

ward_err_t ward_window_read(const ward_window_t *w, uint64_t off, void *dst, size_t len,
                            ward_error_t *err)
{
	if (off > w->size || len > w->size - off)
		return ward_error_set(err, WARD_E_TRUNCATED,
		                      "read of %zu bytes at offset %llu past end of slice (%llu bytes)",
		                      len, (unsigned long long)off, (unsigned long long)w->size);
	return ward_reader_read(w->r, w->base + off, dst, len, err);
}

static void arch_name(uint32_t cputype, uint32_t cpusubtype, char *out, size_t outlen)
{
	const char *n = NULL;

	switch (cputype) {
	case CPU_TYPE_X86: n = "i386"; break;
	case CPU_TYPE_X86 | CPU_ARCH_ABI64:
		n = (cpusubtype & ~CPU_SUBTYPE_MASK) == CPU_SUBTYPE_X86_64_H ? "x86_64h" : "x86_64";
		break;
	case CPU_TYPE_ARM: n = "arm"; break;
	case CPU_TYPE_ARM | CPU_ARCH_ABI64:
		n = (cpusubtype & ~CPU_SUBTYPE_MASK) == CPU_SUBTYPE_ARM64E ? "arm64e" : "arm64";
		break;
	case CPU_TYPE_ARM | CPU_ARCH_ABI64_32: n = "arm64_32"; break;
	case CPU_TYPE_POWERPC: n = "ppc"; break;
	case CPU_TYPE_POWERPC | CPU_ARCH_ABI64: n = "ppc64"; break;
	}
	if (n != NULL)
		snprintf(out, outlen, "%s", n);
	else
		snprintf(out, outlen, "cpu:%u", cputype);
}

/*
 * Parse the thin Mach-O in window w into *s. fat_cpu is the cputype the fat header
 * announced for this slice, or -1 for a thin file.
 */
static ward_err_t thin_read(const ward_window_t *w, long long fat_cpu, unsigned flags,
                            ward_slice_t *s, ward_error_t *err)
{
	uint8_t hdr[MH_HEADER64_SIZE];
	uint8_t *cmds = NULL, *sig = NULL;
	uint32_t magic, ncmds, sizeofcmds, hdrsize;
	uint32_t sigoff = 0, sigsize = 0;
	int swap, have_sig = 0;
	ward_err_t rc;

	if ((rc = ward_window_read(w, 0, hdr, MH_HEADER_SIZE, err)) != WARD_OK)
		return ward_error_set(err, rc, "Mach-O header truncated (slice of %llu bytes)",
		                      (unsigned long long)w->size);
	magic = be32(hdr);
	switch (magic) {
	case MH_MAGIC: swap = 1; hdrsize = MH_HEADER_SIZE; break;
	case MH_CIGAM: swap = 0; hdrsize = MH_HEADER_SIZE; break;
	case MH_MAGIC_64: swap = 1; hdrsize = MH_HEADER64_SIZE; break;
	case MH_CIGAM_64: swap = 0; hdrsize = MH_HEADER64_SIZE; break;
	default:
		return ward_error_set(err, WARD_E_BADMAGIC, "no Mach-O magic at offset %llu (found 0x%08x)",
		                      (unsigned long long)w->base, magic);
	}
	if (hdrsize > MH_HEADER_SIZE &&
	    (rc = ward_window_read(w, 0, hdr, hdrsize, err)) != WARD_OK)
		return ward_error_set(err, rc, "Mach-O header truncated (slice of %llu bytes)",
		                      (unsigned long long)w->size);
	s->cputype = rd32(hdr + 4, swap);
	s->cpusubtype = rd32(hdr + 8, swap);
	ncmds = rd32(hdr + 16, swap);
	sizeofcmds = rd32(hdr + 20, swap);
	arch_name(s->cputype, s->cpusubtype, s->arch, sizeof(s->arch));
	s->offset = w->base;
	s->size = w->size;
	s->status = WARD_SIG_UNSIGNED;

	if (fat_cpu >= 0 && (uint32_t)fat_cpu != s->cputype)
		return ward_error_set(err, WARD_E_MALFORMED,
		                      "slice at offset %llu: fat header says cputype %u, Mach-O header says %u",
		                      (unsigned long long)w->base, (uint32_t)fat_cpu, s->cputype);
	if (ncmds > WARD_MAX_LOAD_COMMANDS)
		return ward_error_set(err, WARD_E_LIMIT, "%u load commands (limit %u)", ncmds,
		                      WARD_MAX_LOAD_COMMANDS);
	if (sizeofcmds > WARD_MAX_SIZEOFCMDS)
		return ward_error_set(err, WARD_E_LIMIT, "%u bytes of load commands (limit %u)",
		                      sizeofcmds, WARD_MAX_SIZEOFCMDS);
	if ((uint64_t)hdrsize + sizeofcmds > w->size)
		return ward_error_set(err, WARD_E_TRUNCATED,
		                      "load commands (%u bytes) run past end of slice (%llu bytes)",
		                      sizeofcmds, (unsigned long long)w->size);
	if (sizeofcmds > 0 && (cmds = malloc(sizeofcmds)) == NULL)
		return ward_error_set(err, WARD_E_NOMEM, "load commands: out of memory");
	if (sizeofcmds > 0 && (rc = ward_window_read(w, hdrsize, cmds, sizeofcmds, err)) != WARD_OK)
		goto out;

	uint32_t off = 0;
	for (uint32_t i = 0; i < ncmds; i++) {
		uint32_t cmd, cmdsize;

		if (sizeofcmds - off < 8) {
			rc = ward_error_set(err, WARD_E_MALFORMED,
			                    "load command %u at offset %u runs past sizeofcmds %u",
			                    i, hdrsize + off, sizeofcmds);
			goto out;
		}
		cmd = rd32(cmds + off, swap);
		cmdsize = rd32(cmds + off + 4, swap);
		if (cmdsize < 8 || cmdsize > sizeofcmds - off) {
			rc = ward_error_set(err, WARD_E_MALFORMED,
			                    "load command %u at offset %u has bad cmdsize %u",
			                    i, hdrsize + off, cmdsize);
			goto out;
		}
		if (cmd == LC_CODE_SIGNATURE) {
			if (have_sig) {
				rc = ward_error_set(err, WARD_E_MALFORMED,
				                    "second LC_CODE_SIGNATURE (load command %u)", i);
				goto out;
			}
			if (cmdsize != LINKEDIT_DATA_SIZE) {
				rc = ward_error_set(err, WARD_E_MALFORMED,
				                    "LC_CODE_SIGNATURE has cmdsize %u, not %u",
				                    cmdsize, LINKEDIT_DATA_SIZE);
				goto out;
			}
			sigoff = rd32(cmds + off + 8, swap);
			sigsize = rd32(cmds + off + 12, swap);
			have_sig = 1;
		}
		off += cmdsize;
	}
	if (!have_sig) {
		rc = WARD_OK;
		goto out;
	}
	if (sigsize > WARD_MAX_SIGNATURE_BYTES) {
		rc = ward_error_set(err, WARD_E_LIMIT, "code signature of %u bytes (limit %u)",
		                    sigsize, WARD_MAX_SIGNATURE_BYTES);
		goto out;
	}
	if ((uint64_t)sigoff + sigsize > w->size) {
		rc = ward_error_set(err, WARD_E_TRUNCATED,
		                    "code signature (%u bytes at offset %u) runs past end of slice (%llu bytes)",
		                    sigsize, sigoff, (unsigned long long)w->size);
		goto out;
	}
	if (sigoff < (uint64_t)hdrsize + sizeofcmds) {
		rc = ward_error_set(err, WARD_E_MALFORMED,
		                    "code signature at offset %u overlaps the load commands", sigoff);
		goto out;
	}
	if (sigsize > 0 && (sig = malloc(sigsize)) == NULL) {
		rc = ward_error_set(err, WARD_E_NOMEM, "code signature: out of memory");
		goto out;
	}
	if (sigsize > 0 && (rc = ward_window_read(w, sigoff, sig, sigsize, err)) != WARD_OK)
		goto out;
	rc = ward_codesign_read(sig, sigsize, sigoff, w, flags, s, err);
out:
	free(sig);
	free(cmds);
	return rc;
}

/* Read the fat header and check every slice before parsing any. */
static ward_err_t fat_read(const ward_reader_t *r, uint32_t magic, unsigned flags,
                           ward_identity_t *id, ward_error_t *err)
{
	uint8_t hdr[FAT_HEADER_SIZE], ent[FAT_ARCH64_SIZE];
	uint64_t offs[WARD_MAX_SLICES], sizes[WARD_MAX_SLICES];
	uint32_t cpus[WARD_MAX_SLICES];
	uint32_t n, entsize = magic == FAT_MAGIC_64 ? FAT_ARCH64_SIZE : FAT_ARCH_SIZE;
	uint64_t table_end;
	ward_err_t rc;

	if ((rc = ward_reader_read(r, 0, hdr, sizeof(hdr), err)) != WARD_OK)
		return ward_error_set(err, rc, "fat header truncated");
	n = be32(hdr + 4);
	if (magic == FAT_MAGIC && n >= JAVA_MIN_MAJOR && n <= 0xffff) {
		id->type = WARD_FT_OTHER;   /* a Java class file */
		return WARD_OK;
	}
	if (n == 0)
		return ward_error_set(err, WARD_E_MALFORMED, "fat header lists no architectures");
	if (n > WARD_MAX_SLICES)
		return ward_error_set(err, WARD_E_LIMIT, "fat header lists %u architectures (limit %u)",
		                      n, WARD_MAX_SLICES);
	table_end = FAT_HEADER_SIZE + (uint64_t)n * entsize;
	if (table_end > r->size)
		return ward_error_set(err, WARD_E_TRUNCATED,
		                      "fat header lists %u architectures but the file ends at %llu",
		                      n, (unsigned long long)r->size);
	for (uint32_t i = 0; i < n; i++) {
		if ((rc = ward_reader_read(r, FAT_HEADER_SIZE + (uint64_t)i * entsize, ent, entsize,
		                           err)) != WARD_OK)
			return rc;
		cpus[i] = be32(ent);
		if (magic == FAT_MAGIC_64) {
			offs[i] = be64(ent + 8);
			sizes[i] = be64(ent + 16);
		} else {
			offs[i] = be32(ent + 8);
			sizes[i] = be32(ent + 12);
		}
		if (offs[i] > r->size || sizes[i] > r->size - offs[i])
			return ward_error_set(err, WARD_E_TRUNCATED,
			                      "fat slice %u (%llu bytes at offset %llu) runs past end of file (%llu bytes)",
			                      i, (unsigned long long)sizes[i], (unsigned long long)offs[i],
			                      (unsigned long long)r->size);
		if (offs[i] < table_end)
			return ward_error_set(err, WARD_E_MALFORMED,
			                      "fat slice %u at offset %llu overlaps the fat header (ends at %llu)",
			                      i, (unsigned long long)offs[i], (unsigned long long)table_end);
		if (sizes[i] == 0)
			return ward_error_set(err, WARD_E_MALFORMED, "fat slice %u is empty", i);
		for (uint32_t j = 0; j < i; j++)
			if (offs[i] < offs[j] + sizes[j] && offs[j] < offs[i] + sizes[i])
				return ward_error_set(err, WARD_E_MALFORMED, "fat slices %u and %u overlap", j, i);
	}
	id->type = WARD_FT_FAT;
	for (uint32_t i = 0; i < n; i++) {
		ward_window_t w = { .r = r, .base = offs[i], .size = sizes[i] };
		ward_slice_t *s = &id->slices[i];

		memset(s, 0, sizeof(*s));
		if ((rc = thin_read(&w, cpus[i], flags, s, err)) != WARD_OK) {
			char msg[WARD_ERRMSG_MAX];
			if (err != NULL) {
				snprintf(msg, sizeof(msg), "%s", err->msg);
				ward_error_set(err, rc, "fat slice %u: %s", i, msg);
			}
			return rc;
		}
		id->nslices = i + 1;
	}
	return WARD_OK;
}

ward_err_t ward_macho_read(const ward_reader_t *r, unsigned flags, ward_identity_t *id,
                           ward_error_t *err)
{
	uint8_t m[4];
	uint32_t magic;
	ward_err_t rc;

	id->nslices = 0;
	if ((rc = ward_reader_read(r, 0, m, sizeof(m), err)) != WARD_OK)
		return rc;
	magic = be32(m);
	if (magic == FAT_MAGIC || magic == FAT_MAGIC_64)
		return fat_read(r, magic, flags, id, err);

	ward_window_t w = { .r = r, .base = 0, .size = r->size };
	memset(&id->slices[0], 0, sizeof(id->slices[0]));
	if ((rc = thin_read(&w, -1, flags, &id->slices[0], err)) != WARD_OK)
		return rc;
	id->type = WARD_FT_MACHO;
	id->nslices = 1;
	return WARD_OK;
}
