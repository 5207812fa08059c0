/*
 * Embedded code signatures: SuperBlob -> CodeDirectory (+ alternates) -> CDHash, signing
 * ID, team ID, flags; the CMS blob -> leaf certificate; and, when asked, every code page
 * and special slot hash.
 *
 * Layouts and rules follow xnu's osfmk/kern/cs_blobs.h and bsd/kern/ubc_subr.c
 * (cs_validate_csblob, cs_validate_codedirectory, hash_rank): all fields are big-endian;
 * a CodeDirectory has only the fields its version has; among the CodeDirectory and its
 * alternates the kernel uses the one whose hash type ranks highest
 * (SHA-1 < SHA-256-truncated < SHA-256 < SHA-384) and rejects two of the same rank.
 *
 * The kernel trusts amfid for the CMS part; on Linux nobody checks it for us, so we do
 * (scanner/cms.c: signer, messageDigest over slot 0, listed alternates, chain to a pinned
 * Apple root, the CodeDirectory's team ID against the leaf's OU). Anyone can write a
 * CodeDirectory with any team ID in it; only this makes it mean something.
 *
 * Every offset and length comes from the file: each is checked against the blob that
 * contains it before use, with subtraction instead of addition so nothing overflows.
 */
#include "scanner/macho.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#define CSMAGIC_REQUIREMENTS              0xfade0c01u
#define CSMAGIC_CODEDIRECTORY             0xfade0c02u
#define CSMAGIC_EMBEDDED_SIGNATURE        0xfade0cc0u
#define CSMAGIC_EMBEDDED_ENTITLEMENTS     0xfade7171u
#define CSMAGIC_EMBEDDED_DER_ENTITLEMENTS 0xfade7172u
#define CSMAGIC_BLOBWRAPPER               0xfade0b01u
#define CSMAGIC_LAUNCH_CONSTRAINT         0xfade8181u

#define CSSLOT_CODEDIRECTORY     0u
#define CSSLOT_INFOSLOT          1u
#define CSSLOT_REQUIREMENTS      2u
#define CSSLOT_RESOURCEDIR       3u
#define CSSLOT_APPLICATION       4u
#define CSSLOT_ENTITLEMENTS      5u
#define CSSLOT_DER_ENTITLEMENTS  7u
#define CSSLOT_LIBRARY_CONSTRAINT 11u
#define CSSLOT_ALTERNATE_CDS     0x1000u
#define CSSLOT_ALTERNATE_LIMIT   0x1005u
#define CSSLOT_SIGNATURESLOT     0x10000u

#define CS_SUPPORTSSCATTER     0x20100u
#define CS_SUPPORTSTEAMID      0x20200u
#define CS_SUPPORTSCODELIMIT64 0x20300u
#define CS_SUPPORTSEXECSEG     0x20400u
#define CS_SUPPORTSRUNTIME     0x20500u
#define CS_SUPPORTSLINKAGE     0x20600u
#define CS_EARLIEST_VERSION    0x20001u

#define CS_ADHOC 0x2u

#define CS_HASHTYPE_SHA1             1u
#define CS_HASHTYPE_SHA256           2u
#define CS_HASHTYPE_SHA256_TRUNCATED 3u
#define CS_HASHTYPE_SHA384           4u
#define CS_HASH_MAX                  48u

/* CodeDirectory header size for each version (offsets of the end_with* markers). */
#define CD_SIZE_EARLIEST  44u
#define CD_SIZE_SCATTER   48u
#define CD_SIZE_TEAM      52u
#define CD_SIZE_CODELIM64 64u
#define CD_SIZE_EXECSEG   88u
#define CD_SIZE_RUNTIME   96u
#define CD_SIZE_LINKAGE   108u

#define SB_HEADER   12u  /* magic, length, count */
#define BLOB_INDEX  8u   /* type, offset */
#define BLOB_HEADER 8u   /* magic, length */

struct blob {
	uint32_t type, off, len;
};

struct cd {
	const uint8_t *p;   /* the CodeDirectory blob, len bytes */
	uint32_t len, slot;
	uint32_t version, flags, hashoff, identoff, nspecial, ncode, scatteroff, teamoff;
	uint64_t codelimit;
	uint8_t hashsize, hashtype, pageshift;
	const EVP_MD *md;
	unsigned rank;
};

struct sig {
	const uint8_t *p;
	uint32_t len;
	uint32_t nblobs;
	struct blob blobs[WARD_MAX_BLOB_INDEXES];
};

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const uint8_t *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

#define invalid ward_slice_invalid

ward_err_t ward_slice_invalid(ward_slice_t *s, const char *fmt, ...)
{
	va_list ap;

	if (s->status == WARD_SIG_INVALID)
		return WARD_OK;
	s->status = WARD_SIG_INVALID;
	va_start(ap, fmt);
	vsnprintf(s->invalid_reason, sizeof(s->invalid_reason), fmt, ap);
	va_end(ap);
	return WARD_OK;
}

/* ---------------------------------------------------------------- digests */

/* Fetched once: OpenSSL 3 would otherwise look the algorithm up on every init. */
static EVP_MD *md_sha1, *md_sha256, *md_sha384;
static pthread_once_t md_once = PTHREAD_ONCE_INIT;

static void md_fetch(void)
{
	md_sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
	md_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	md_sha384 = EVP_MD_fetch(NULL, "SHA384", NULL);
}

/* The digest and the hash size a CodeDirectory of this type must declare; NULL if unknown. */
static const EVP_MD *hashtype_md(uint8_t type, uint8_t *size)
{
	pthread_once(&md_once, md_fetch);
	switch (type) {
	case CS_HASHTYPE_SHA1: *size = 20; return md_sha1;
	case CS_HASHTYPE_SHA256: *size = 32; return md_sha256;
	case CS_HASHTYPE_SHA256_TRUNCATED: *size = 20; return md_sha256;
	case CS_HASHTYPE_SHA384: *size = 48; return md_sha384;
	}
	return NULL;
}

/* xnu hash_rank(): higher is stronger, 0 = unsupported. */
static unsigned hashtype_rank(uint8_t type)
{
	static const uint8_t prio[] = { CS_HASHTYPE_SHA1, CS_HASHTYPE_SHA256_TRUNCATED,
	                                CS_HASHTYPE_SHA256, CS_HASHTYPE_SHA384 };
	for (unsigned i = 0; i < sizeof(prio); i++)
		if (prio[i] == type)
			return i + 1;
	return 0;
}

static ward_err_t digest(const EVP_MD *md, const uint8_t *p, size_t n, uint8_t out[CS_HASH_MAX],
                         ward_error_t *err)
{
	unsigned int olen = 0;

	if (md == NULL || EVP_Digest(p, n, out, &olen, md, NULL) != 1)
		return ward_error_set(err, WARD_E_CRYPTO, "code signature: digest failed");
	return WARD_OK;
}

static const char *slot_name(uint32_t slot)
{
	switch (slot) {
	case CSSLOT_INFOSLOT: return "Info.plist";
	case CSSLOT_REQUIREMENTS: return "requirements";
	case CSSLOT_RESOURCEDIR: return "resource directory";
	case CSSLOT_APPLICATION: return "application specific";
	case CSSLOT_ENTITLEMENTS: return "entitlements";
	case CSSLOT_DER_ENTITLEMENTS: return "DER entitlements";
	case 8: return "launch constraint (self)";
	case 9: return "launch constraint (parent)";
	case 10: return "launch constraint (responsible)";
	case CSSLOT_LIBRARY_CONSTRAINT: return "library constraint";
	}
	return "unknown";
}

/* ---------------------------------------------------------------- SuperBlob */

static const struct blob *find_blob(const struct sig *sg, uint32_t type)
{
	for (uint32_t i = 0; i < sg->nblobs; i++)
		if (sg->blobs[i].type == type)
			return &sg->blobs[i];
	return NULL;
}

/* Check the SuperBlob and its index: every blob inside it, none overlapping. */
static int superblob_parse(struct sig *sg, ward_slice_t *s)
{
	uint32_t sblen, count, table_end;

	if (sg->len < SB_HEADER)
		return invalid(s, "signature of %u bytes is too short for a SuperBlob", sg->len), -1;
	if (be32(sg->p) != CSMAGIC_EMBEDDED_SIGNATURE)
		return invalid(s, "SuperBlob has magic 0x%08x, not 0x%08x", be32(sg->p),
		               CSMAGIC_EMBEDDED_SIGNATURE), -1;
	sblen = be32(sg->p + 4);
	count = be32(sg->p + 8);
	if (sblen < SB_HEADER || sblen > sg->len)
		return invalid(s, "SuperBlob length %u does not fit the %u-byte signature", sblen,
		               sg->len), -1;
	if (count > WARD_MAX_BLOB_INDEXES)
		return invalid(s, "SuperBlob lists %u blobs (limit %u)", count, WARD_MAX_BLOB_INDEXES), -1;
	if (count > (sblen - SB_HEADER) / BLOB_INDEX)
		return invalid(s, "SuperBlob index of %u entries runs past its length %u", count, sblen), -1;
	table_end = SB_HEADER + count * BLOB_INDEX;
	sg->len = sblen;
	for (uint32_t i = 0; i < count; i++) {
		struct blob *b = &sg->blobs[i];

		b->type = be32(sg->p + SB_HEADER + i * BLOB_INDEX);
		b->off = be32(sg->p + SB_HEADER + i * BLOB_INDEX + 4);
		if (b->off < table_end)
			return invalid(s, "blob %u (slot 0x%x) at offset %u overlaps the SuperBlob index",
			               i, b->type, b->off), -1;
		if (b->off > sblen || sblen - b->off < BLOB_HEADER)
			return invalid(s, "blob %u (slot 0x%x) at offset %u is past the end of the SuperBlob",
			               i, b->type, b->off), -1;
		b->len = be32(sg->p + b->off + 4);
		if (b->len < BLOB_HEADER || b->len > sblen - b->off)
			return invalid(s, "blob %u (slot 0x%x) has length %u, %u bytes left", i, b->type,
			               b->len, sblen - b->off), -1;
		for (uint32_t j = 0; j < i; j++) {
			const struct blob *o = &sg->blobs[j];
			if (o->type == b->type)
				return invalid(s, "two blobs for slot 0x%x", b->type), -1;
			if (b->off < o->off + o->len && o->off < b->off + b->len)
				return invalid(s, "blobs %u and %u (slots 0x%x, 0x%x) overlap", j, i,
				               o->type, b->type), -1;
		}
		sg->nblobs = i + 1;
	}
	return 0;
}

/* ---------------------------------------------------------------- CodeDirectory */

/* A NUL-terminated string at off inside the CD, at most max bytes long. */
static int cd_string(const struct cd *cd, uint32_t off, size_t max, char *out, size_t outlen)
{
	const uint8_t *nul;

	if (off >= cd->len)
		return -1;
	nul = memchr(cd->p + off, 0, cd->len - off);
	if (nul == NULL || (size_t)(nul - (cd->p + off)) > max || (size_t)(nul - (cd->p + off)) >= outlen)
		return -1;
	memcpy(out, cd->p + off, (size_t)(nul - (cd->p + off)) + 1);
	return 0;
}

/* cs_validate_codedirectory(), reading only the fields the version has. */
static int cd_parse(const struct blob *b, const struct sig *sg, struct cd *cd, ward_slice_t *s)
{
	uint32_t need;

	memset(cd, 0, sizeof(*cd));
	cd->p = sg->p + b->off;
	cd->len = b->len;
	cd->slot = b->type;
	if (cd->len < CD_SIZE_EARLIEST)
		return invalid(s, "CodeDirectory in slot 0x%x is %u bytes, shorter than its header",
		               b->type, cd->len), -1;
	if (be32(cd->p) != CSMAGIC_CODEDIRECTORY)
		return invalid(s, "blob in slot 0x%x has magic 0x%08x, not a CodeDirectory", b->type,
		               be32(cd->p)), -1;
	cd->version = be32(cd->p + 8);
	cd->flags = be32(cd->p + 12);
	cd->hashoff = be32(cd->p + 16);
	cd->identoff = be32(cd->p + 20);
	cd->nspecial = be32(cd->p + 24);
	cd->ncode = be32(cd->p + 28);
	cd->codelimit = be32(cd->p + 32);
	cd->hashsize = cd->p[36];
	cd->hashtype = cd->p[37];
	cd->pageshift = cd->p[39];

	if (cd->version < CS_EARLIEST_VERSION || cd->version >> 16 != 2)
		return invalid(s, "CodeDirectory version 0x%x is not supported", cd->version), -1;
	need = cd->version >= CS_SUPPORTSLINKAGE ? CD_SIZE_LINKAGE :
	       cd->version >= CS_SUPPORTSRUNTIME ? CD_SIZE_RUNTIME :
	       cd->version >= CS_SUPPORTSEXECSEG ? CD_SIZE_EXECSEG :
	       cd->version >= CS_SUPPORTSCODELIMIT64 ? CD_SIZE_CODELIM64 :
	       cd->version >= CS_SUPPORTSTEAMID ? CD_SIZE_TEAM :
	       cd->version >= CS_SUPPORTSSCATTER ? CD_SIZE_SCATTER : CD_SIZE_EARLIEST;
	if (cd->len < need)
		return invalid(s, "CodeDirectory version 0x%x needs a %u-byte header, blob is %u bytes",
		               cd->version, need, cd->len), -1;
	if (cd->version >= CS_SUPPORTSSCATTER)
		cd->scatteroff = be32(cd->p + 44);
	if (cd->version >= CS_SUPPORTSTEAMID)
		cd->teamoff = be32(cd->p + 48);
	if (cd->version >= CS_SUPPORTSCODELIMIT64 && be64(cd->p + 56) != 0)
		cd->codelimit = be64(cd->p + 56);
	if (cd->version >= CS_SUPPORTSEXECSEG) {
		uint64_t base = be64(cd->p + 64), limit = be64(cd->p + 72);
		if (base > cd->codelimit || limit > cd->codelimit - base)
			return invalid(s, "CodeDirectory executable segment [%llu, +%llu) is past codeLimit %llu",
			               (unsigned long long)base, (unsigned long long)limit,
			               (unsigned long long)cd->codelimit), -1;
	}
	if (cd->version >= CS_SUPPORTSRUNTIME) {
		uint32_t preenc = be32(cd->p + 92);
		if (preenc != 0 && (preenc > cd->len || cd->len - preenc < (uint64_t)cd->ncode * cd->hashsize))
			return invalid(s, "CodeDirectory pre-encryption hashes at %u run past its end", preenc), -1;
	}
	if (cd->version >= CS_SUPPORTSLINKAGE && cd->p[96] != 0) {
		uint32_t loff = be32(cd->p + 100), lsize = be32(cd->p + 104);
		if (loff > cd->len || lsize > cd->len - loff)
			return invalid(s, "CodeDirectory linkage (%u bytes at %u) runs past its end", lsize,
			               loff), -1;
	}

	{
		uint8_t want = 0;
		cd->md = hashtype_md(cd->hashtype, &want);
		if (cd->md == NULL)
			return invalid(s, "CodeDirectory in slot 0x%x has unsupported hash type %u",
			               b->type, cd->hashtype), -1;
		if (cd->hashsize != want)
			return invalid(s, "CodeDirectory hash size %u does not match hash type %u",
			               cd->hashsize, cd->hashtype), -1;
	}
	cd->rank = hashtype_rank(cd->hashtype);
	if (cd->pageshift != 0 && (cd->pageshift < 9 || cd->pageshift > 16))
		return invalid(s, "CodeDirectory page size 2^%u is not supported", cd->pageshift), -1;
	if (cd->nspecial > WARD_MAX_SPECIAL_SLOTS)
		return invalid(s, "CodeDirectory has %u special slots (limit %u)", cd->nspecial,
		               WARD_MAX_SPECIAL_SLOTS), -1;
	if (cd->ncode > WARD_MAX_CODE_SLOTS)
		return invalid(s, "CodeDirectory has %u code slots (limit %u)", cd->ncode,
		               WARD_MAX_CODE_SLOTS), -1;
	if (cd->hashoff > cd->len || cd->hashoff < need ||
	    (cd->hashoff - need) / cd->hashsize < cd->nspecial)
		return invalid(s, "CodeDirectory hash offset %u leaves no room for %u special slots",
		               cd->hashoff, cd->nspecial), -1;
	if ((cd->len - cd->hashoff) / cd->hashsize < cd->ncode)
		return invalid(s, "CodeDirectory's %u code slots run past its end (%u bytes)", cd->ncode,
		               cd->len), -1;
	if (cd->scatteroff != 0) {
		uint32_t off = cd->scatteroff;
		uint64_t pages = 0;
		for (;;) {
			if (off > cd->len || cd->len - off < 16)
				return invalid(s, "CodeDirectory scatter vector runs past its end"), -1;
			uint32_t count = be32(cd->p + off);
			if (count == 0)
				break;
			pages += count;
			if (pages > cd->ncode)
				return invalid(s, "CodeDirectory scatter vector covers more than %u code slots",
				               cd->ncode), -1;
			off += 16;
		}
	}
	if (cd->identoff < need || cd_string(cd, cd->identoff, WARD_MAX_SIGNING_ID, s->signing_id,
	                                     sizeof(s->signing_id)) != 0)
		return invalid(s, "CodeDirectory identifier at offset %u is not a string inside it",
		               cd->identoff), -1;
	if (cd->teamoff != 0 && (cd->teamoff < need ||
	    cd_string(cd, cd->teamoff, WARD_MAX_TEAM_ID, s->team_id, sizeof(s->team_id)) != 0))
		return invalid(s, "CodeDirectory team ID at offset %u is not a string inside it",
		               cd->teamoff), -1;
	return 0;
}

/* ---------------------------------------------------------------- special slots */

/*
 * Slots whose data lives outside the signature (the bundle's Info.plist, its
 * _CodeSignature/CodeResources, application-specific data): a single file cannot check
 * them unless the blob happens to be embedded.
 */
static int slot_external(uint32_t slot)
{
	return slot == CSSLOT_INFOSLOT || slot == CSSLOT_RESOURCEDIR || slot == CSSLOT_APPLICATION;
}

static ward_err_t special_slots_check(const struct sig *sg, const struct cd *cd, ward_slice_t *s,
                                      ward_error_t *err)
{
	static const uint8_t zero[CS_HASH_MAX];
	uint8_t h[CS_HASH_MAX];
	ward_err_t rc;

	for (uint32_t i = 0; i < sg->nblobs; i++) {
		uint32_t t = sg->blobs[i].type;
		if (t >= 1 && t <= CSSLOT_LIBRARY_CONSTRAINT && t > cd->nspecial)
			return invalid(s, "%s blob (slot %u) is not covered by the CodeDirectory (%u special slots)",
			               slot_name(t), t, cd->nspecial);
	}
	for (uint32_t slot = 1; slot <= cd->nspecial; slot++) {
		const uint8_t *want = cd->p + cd->hashoff - (size_t)slot * cd->hashsize;
		const struct blob *b = find_blob(sg, slot);

		if (b == NULL) {
			if (!slot_external(slot) && memcmp(want, zero, cd->hashsize) != 0)
				return invalid(s, "special slot %u (%s) has a hash but the signature has no %s blob",
				               slot, slot_name(slot), slot_name(slot));
			continue;
		}
		if ((rc = digest(cd->md, sg->p + b->off, b->len, h, err)) != WARD_OK)
			return rc;
		if (memcmp(h, want, cd->hashsize) != 0)
			return invalid(s, "special slot %u (%s) hash mismatch", slot, slot_name(slot));
	}
	return WARD_OK;
}

/* The kernel insists on the right magic for the blobs it uses (cs_validate_csblob). */
static int blob_magics_check(const struct sig *sg, ward_slice_t *s)
{
	for (uint32_t i = 0; i < sg->nblobs; i++) {
		const struct blob *b = &sg->blobs[i];
		uint32_t magic = be32(sg->p + b->off), want = 0;

		switch (b->type) {
		case CSSLOT_REQUIREMENTS: want = CSMAGIC_REQUIREMENTS; break;
		case CSSLOT_ENTITLEMENTS: want = CSMAGIC_EMBEDDED_ENTITLEMENTS; break;
		case CSSLOT_DER_ENTITLEMENTS: want = CSMAGIC_EMBEDDED_DER_ENTITLEMENTS; break;
		case 8: case 9: case 10: case CSSLOT_LIBRARY_CONSTRAINT:
			want = CSMAGIC_LAUNCH_CONSTRAINT; break;
		case CSSLOT_SIGNATURESLOT: want = CSMAGIC_BLOBWRAPPER; break;
		default: continue;
		}
		if (magic != want)
			return invalid(s, "%s blob (slot 0x%x) has magic 0x%08x, not 0x%08x",
			               b->type == CSSLOT_SIGNATURESLOT ? "CMS" : slot_name(b->type),
			               b->type, magic, want), -1;
	}
	return 0;
}

/* ---------------------------------------------------------------- code pages */

static ward_err_t page_mismatch(ward_slice_t *s, uint64_t page, uint64_t off)
{
	return invalid(s, "code page %llu (offset %llu) hash mismatch", (unsigned long long)page,
	               (unsigned long long)off);
}

/* Hash pages [first, first+count) of the slice and compare them with hash slots from hidx. */
static ward_err_t pages_run(const ward_window_t *w, const struct cd *cd, uint64_t first,
                            uint64_t count, uint64_t hidx, uint8_t *buf, size_t bufsize,
                            ward_slice_t *s, ward_error_t *err)
{
	uint64_t page = cd->pageshift ? (uint64_t)1 << cd->pageshift : cd->codelimit;
	uint64_t npages = page == 0 ? 0 : cd->codelimit / page + (cd->codelimit % page != 0);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t h[CS_HASH_MAX];
	ward_err_t rc = WARD_OK;

	if (ctx == NULL)
		return ward_error_set(err, WARD_E_NOMEM, "page hashing: out of memory");
	for (uint64_t k = 0; k < count; k++) {
		uint64_t p = first + k;
		uint64_t start, end;

		if (p >= npages) {
			rc = invalid(s, "code slot %llu is past codeLimit %llu", (unsigned long long)p,
			             (unsigned long long)cd->codelimit);
			goto out;
		}
		start = p * page;
		end = cd->codelimit - start < page ? cd->codelimit : start + page;
		if (EVP_DigestInit_ex(ctx, cd->md, NULL) != 1) {
			rc = ward_error_set(err, WARD_E_CRYPTO, "page hashing: digest init failed");
			goto out;
		}
		for (uint64_t off = start; off < end;) {
			size_t n = end - off < bufsize ? (size_t)(end - off) : bufsize;
			if ((rc = ward_window_read(w, off, buf, n, err)) != WARD_OK)
				goto out;
			if (EVP_DigestUpdate(ctx, buf, n) != 1) {
				rc = ward_error_set(err, WARD_E_CRYPTO, "page hashing: digest failed");
				goto out;
			}
			off += n;
		}
		if (EVP_DigestFinal_ex(ctx, h, NULL) != 1) {
			rc = ward_error_set(err, WARD_E_CRYPTO, "page hashing: digest failed");
			goto out;
		}
		if (memcmp(h, cd->p + cd->hashoff + (hidx + k) * cd->hashsize, cd->hashsize) != 0) {
			rc = page_mismatch(s, p, start);
			goto out;
		}
		s->pages_checked++;
	}
out:
	EVP_MD_CTX_free(ctx);
	return rc;
}

/*
 * Contiguous pages: read WARD_IO_CHUNK at a time and hash every page in it, so a big
 * binary costs a few hundred reads, not one per page.
 */
static ward_err_t pages_linear(const ward_window_t *w, const struct cd *cd, uint8_t *buf,
                               size_t bufsize, ward_slice_t *s, ward_error_t *err)
{
	uint64_t page = (uint64_t)1 << cd->pageshift;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t h[CS_HASH_MAX];
	ward_err_t rc = WARD_OK;
	uint64_t pos = 0, idx = 0;

	if (ctx == NULL)
		return ward_error_set(err, WARD_E_NOMEM, "page hashing: out of memory");
	bufsize -= bufsize % page;   /* whole pages per read; page <= 64 KiB <= bufsize */
	while (pos < cd->codelimit) {
		size_t n = cd->codelimit - pos < bufsize ? (size_t)(cd->codelimit - pos) : bufsize;
		if ((rc = ward_window_read(w, pos, buf, n, err)) != WARD_OK)
			goto out;
		for (size_t o = 0; o < n; o += page, idx++) {
			size_t len = n - o < page ? n - o : (size_t)page;
			if (EVP_DigestInit_ex(ctx, cd->md, NULL) != 1 ||
			    EVP_DigestUpdate(ctx, buf + o, len) != 1 ||
			    EVP_DigestFinal_ex(ctx, h, NULL) != 1) {
				rc = ward_error_set(err, WARD_E_CRYPTO, "page hashing: digest failed");
				goto out;
			}
			if (memcmp(h, cd->p + cd->hashoff + idx * cd->hashsize, cd->hashsize) != 0) {
				rc = page_mismatch(s, idx, pos + o);
				goto out;
			}
			s->pages_checked++;
		}
		pos += n;
	}
out:
	EVP_MD_CTX_free(ctx);
	return rc;
}

static ward_err_t pages_check(const ward_window_t *w, const struct cd *cd, ward_slice_t *s,
                              ward_error_t *err)
{
	uint64_t page = cd->pageshift ? (uint64_t)1 << cd->pageshift : cd->codelimit;
	uint64_t need = page == 0 ? 0 : cd->codelimit / page + (cd->codelimit % page != 0);
	uint8_t *buf;
	ward_err_t rc = WARD_OK;

	if (cd->codelimit > w->size)
		return invalid(s, "codeLimit %llu is past the end of the slice (%llu bytes)",
		               (unsigned long long)cd->codelimit, (unsigned long long)w->size);
	if (cd->scatteroff == 0 && cd->ncode != need)
		return invalid(s, "CodeDirectory has %u code slots but codeLimit %llu needs %llu",
		               cd->ncode, (unsigned long long)cd->codelimit, (unsigned long long)need);
	if ((buf = malloc(WARD_IO_CHUNK)) == NULL)
		return ward_error_set(err, WARD_E_NOMEM, "page hashing: out of memory");
	if (cd->scatteroff == 0 && cd->pageshift != 0) {
		rc = pages_linear(w, cd, buf, WARD_IO_CHUNK, s, err);
	} else if (cd->scatteroff == 0) {
		rc = pages_run(w, cd, 0, cd->ncode, 0, buf, WARD_IO_CHUNK, s, err);
	} else {
		/* Scatter (cs_blobs.h SC_Scatter): runs of pages {count, base}, hashes in order. */
		uint64_t hidx = 0;
		for (uint32_t off = cd->scatteroff; rc == WARD_OK && s->status != WARD_SIG_INVALID; off += 16) {
			uint32_t count = be32(cd->p + off), base = be32(cd->p + off + 4);
			if (count == 0)
				break;
			rc = pages_run(w, cd, base, count, hidx, buf, WARD_IO_CHUNK, s, err);
			hidx += count;
		}
	}
	free(buf);
	return rc;
}

/* ---------------------------------------------------------------- entry point */

ward_err_t ward_codesign_read(const uint8_t *p, size_t len, uint64_t sigoff,
                              const ward_window_t *w, unsigned flags, ward_slice_t *s,
                              ward_error_t *err)
{
	struct sig sg = { .p = p, .len = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len };
	struct cd cds[1 + CSSLOT_ALTERNATE_LIMIT - CSSLOT_ALTERNATE_CDS];
	const struct cd *best = NULL, *slot0 = NULL;
	uint8_t h[CS_HASH_MAX];
	unsigned ncd = 0;
	const struct blob *cmsb;
	ward_err_t rc;

	s->status = WARD_SIG_ADHOC;   /* until shown otherwise */
	if (superblob_parse(&sg, s) != 0 || blob_magics_check(&sg, s) != 0)
		return WARD_OK;

	for (uint32_t i = 0; i < sg.nblobs; i++) {
		const struct blob *b = &sg.blobs[i];
		struct cd *cd = &cds[ncd];
		char team[sizeof(s->team_id)], ident[sizeof(s->signing_id)];

		if (b->type != CSSLOT_CODEDIRECTORY &&
		    (b->type < CSSLOT_ALTERNATE_CDS || b->type >= CSSLOT_ALTERNATE_LIMIT))
			continue;
		/* cd_parse writes the strings into s; keep the best CD's. */
		memcpy(team, s->team_id, sizeof(team));
		memcpy(ident, s->signing_id, sizeof(ident));
		s->team_id[0] = '\0';
		if (cd_parse(b, &sg, cd, s) != 0)
			return WARD_OK;
		ncd++;
		if (cd->slot == CSSLOT_CODEDIRECTORY)
			slot0 = cd;
		if (best != NULL && cd->rank == best->rank)
			return invalid(s, "two CodeDirectories with hash type %u (slots 0x%x and 0x%x)",
			               cd->hashtype, best->slot, cd->slot);
		if (best == NULL || cd->rank > best->rank) {
			best = cd;
		} else {
			memcpy(s->team_id, team, sizeof(team));
			memcpy(s->signing_id, ident, sizeof(ident));
		}
	}
	if (best == NULL)
		return invalid(s, "signature has no CodeDirectory");
	if (slot0 == NULL)
		return invalid(s, "signature has alternate CodeDirectories but none in slot 0");

	if ((rc = digest(best->md, best->p, best->len, h, err)) != WARD_OK)
		return rc;
	memcpy(s->cdhash, h, WARD_CDHASH_LEN);
	s->has_cdhash = true;
	s->hash_type = best->hashtype;
	s->cd_version = best->version;
	s->cd_flags = best->flags;

	/*
	 * codesign and the linkers hash everything up to the signature. A shorter codeLimit
	 * leaves bytes no hash covers; a longer one would have to cover the signature itself.
	 */
	if (best->codelimit != sigoff)
		return invalid(s, "codeLimit %llu is not the code signature's offset %llu",
		               (unsigned long long)best->codelimit, (unsigned long long)sigoff);
	if ((rc = special_slots_check(&sg, best, s, err)) != WARD_OK || s->status == WARD_SIG_INVALID)
		return rc;
	cmsb = find_blob(&sg, CSSLOT_SIGNATURESLOT);
	if (cmsb != NULL && cmsb->len > BLOB_HEADER) {
		rc = ward_cms_check(sg.p + cmsb->off + BLOB_HEADER, cmsb->len - BLOB_HEADER, slot0->p,
		                    slot0->len, best == slot0 ? best->md : NULL, best == slot0 ? h : NULL,
		                    best == slot0 ? NULL : s->cdhash, s, err);
		if (rc != WARD_OK || s->status == WARD_SIG_INVALID)
			return rc;
	} else {
		/* No signer: whatever team ID the CodeDirectory claims, nobody vouches for it. */
		s->team_id[0] = '\0';
	}
	if (flags & WARD_ID_VERIFY_PAGES)
		return pages_check(w, best, s, err);
	return WARD_OK;
}
