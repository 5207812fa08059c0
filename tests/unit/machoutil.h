/*
 * Test helpers for Mach-O surgery on fixture images in memory: find the code signature
 * and its blobs, patch big-endian fields, rebuild the SuperBlob with one blob replaced.
 * They trust the (good) fixture they are given; they are not a parser to learn from.
 */
#ifndef WARD_TESTS_MACHOUTIL_H
#define WARD_TESTS_MACHOUTIL_H

#include "tests/unit/testutil.h"

#include "scanner/identity.h"

static inline uint32_t mu_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void mu_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

static inline uint32_t mu_le32(const uint8_t *p)
{
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static inline void mu_put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}

/* Offset of the LC_CODE_SIGNATURE load command of a thin little-endian Mach-O. */
static inline size_t mu_lc_sig(const uint8_t *img)
{
	uint32_t magic = mu_le32(img), ncmds = mu_le32(img + 16);
	size_t off = magic == 0xfeedfacfu ? 32 : 28;

	for (uint32_t i = 0; i < ncmds; i++) {
		if (mu_le32(img + off) == 0x1d)
			return off;
		off += mu_le32(img + off + 4);
	}
	fail_msg("fixture has no LC_CODE_SIGNATURE");
	return 0;
}

static inline size_t mu_sig_off(const uint8_t *img)
{
	return mu_le32(img + mu_lc_sig(img) + 8);
}

/* Offset in the file of the index entry (type, offset) of blob i of the SuperBlob. */
static inline size_t mu_index(const uint8_t *img, uint32_t i)
{
	return mu_sig_off(img) + 12 + 8 * (size_t)i;
}

/* Offset in the file of the blob for slot type, or 0 when absent. */
static inline size_t mu_blob(const uint8_t *img, uint32_t type)
{
	size_t sig = mu_sig_off(img);
	uint32_t count = mu_be32(img + sig + 8);

	for (uint32_t i = 0; i < count; i++)
		if (mu_be32(img + sig + 12 + 8 * i) == type)
			return sig + mu_be32(img + sig + 16 + 8 * i);
	return 0;
}

/*
 * A copy of img (len bytes) whose SuperBlob has the blob of slot type replaced by
 * blob[0, blen) (or added when absent; removed when blob is NULL). The signature stays
 * where it was and the file ends right after it; LC_CODE_SIGNATURE's datasize follows.
 */
static inline uint8_t *mu_replace_blob(const uint8_t *img, size_t len, uint32_t type,
                                       const uint8_t *blob, size_t blen, size_t *outlen)
{
	size_t lc = mu_lc_sig(img), sig = mu_sig_off(img);
	uint32_t count = mu_be32(img + sig + 8), n = 0;
	size_t cap = sig + 12 + 8 * ((size_t)count + 1) + mu_be32(img + sig + 4) + blen + 16;
	uint8_t *out = calloc(1, cap);
	size_t pos;
	int done = 0;

	(void)len;
	assert_non_null(out);
	memcpy(out, img, sig);
	uint32_t newcount = count + 1;
	pos = sig + 12 + 8 * (size_t)newcount;
	for (uint32_t i = 0; i <= count; i++) {
		const uint8_t *src;
		uint32_t t, l;
		if (i < count) {
			t = mu_be32(img + sig + 12 + 8 * i);
			src = img + sig + mu_be32(img + sig + 16 + 8 * i);
			l = mu_be32(src + 4);
			if (t == type) {
				done = 1;
				if (blob == NULL)
					continue;
				src = blob;
				l = (uint32_t)blen;
			}
		} else {
			if (done || blob == NULL)
				break;
			t = type;
			src = blob;
			l = (uint32_t)blen;
		}
		mu_put_be32(out + sig + 12 + 8 * n, t);
		mu_put_be32(out + sig + 16 + 8 * n, (uint32_t)(pos - sig));
		memcpy(out + pos, src, l);
		pos += l;
		n++;
	}
	/* Index was sized for count+1 entries; shift blobs if fewer were written. */
	if (n < newcount) {
		size_t gap = 8 * (size_t)(newcount - n);
		memmove(out + sig + 12 + 8 * n, out + sig + 12 + 8 * newcount, pos - (sig + 12 + 8 * newcount));
		pos -= gap;
		for (uint32_t i = 0; i < n; i++)
			mu_put_be32(out + sig + 16 + 8 * i, mu_be32(out + sig + 16 + 8 * i) - (uint32_t)gap);
	}
	mu_put_be32(out + sig, 0xfade0cc0u);
	mu_put_be32(out + sig + 4, (uint32_t)(pos - sig));
	mu_put_be32(out + sig + 8, n);
	mu_put_le32(out + lc + 12, (uint32_t)(pos - sig));
	*outlen = pos;
	return out;
}

/* Read the identity of an in-memory image; returns the code, fills *id and *err. */
static inline ward_err_t mu_read(const uint8_t *img, size_t len, unsigned flags,
                                 ward_identity_t *id, ward_error_t *err)
{
	ward_error_clear(err);
	return ward_identity_read_buf(img, len, flags, id, err);
}

#endif
