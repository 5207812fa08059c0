/*
 * Hostile Mach-O input: each case is a good fixture with one thing broken in memory.
 * A broken container is an error naming what and where; a broken signature inside a
 * well-formed container is status "invalid" with the reason. Never a crash (the
 * sanitizer build runs these too).
 */
#include "tests/unit/machoutil.h"

static uint8_t *load(const char *name, size_t *len)
{
	char path[256];

	snprintf(path, sizeof(path), FIXTURES "/%s", name);
	return tu_slurp(path, len);
}

static void expect_error(const uint8_t *img, size_t len, ward_err_t code, const char *msg)
{
	ward_identity_t id;
	ward_error_t err;
	ward_err_t rc = mu_read(img, len, WARD_ID_VERIFY_PAGES, &id, &err);

	if (rc != code)
		fail_msg("expected error %s (%s), got %s: %s", ward_strerror(code), msg, ward_strerror(rc),
		         rc == WARD_OK ? ward_sigstatus_name(id.slices[0].status) : err.msg);
	if (strstr(err.msg, msg) == NULL)
		fail_msg("error \"%s\" does not contain \"%s\"", err.msg, msg);
}

static void expect_invalid(const uint8_t *img, size_t len, const char *reason)
{
	ward_identity_t id;
	ward_error_t err;

	if (mu_read(img, len, WARD_ID_VERIFY_PAGES, &id, &err) != WARD_OK)
		fail_msg("expected status invalid (%s), got error: %s", reason, err.msg);
	if (id.slices[0].status != WARD_SIG_INVALID)
		fail_msg("expected invalid (%s), got %s", reason, ward_sigstatus_name(id.slices[0].status));
	if (strstr(id.slices[0].invalid_reason, reason) == NULL)
		fail_msg("reason \"%s\" does not contain \"%s\"", id.slices[0].invalid_reason, reason);
}

/* ---------------------------------------------------------------- truncation */

static void test_truncated_everywhere(void **state)
{
	size_t len;
	uint8_t *img = load("tiny-i386", &len);
	ward_identity_t id;
	ward_error_t err;
	(void)state;

	/* Every prefix of a small signed file (from 4 bytes: shorter is not a Mach-O). */
	for (size_t n = 4; n < len; n++) {
		ward_err_t rc = mu_read(img, n, WARD_ID_VERIFY_PAGES, &id, &err);
		if (rc == WARD_OK)
			fail_msg("prefix of %zu bytes read as a good Mach-O", n);
		assert_int_equal(rc, WARD_E_TRUNCATED);
		assert_true(err.msg[0] != '\0');
	}
	free(img);

	/* A real binary cut inside its signature, and a fat file cut inside a slice. */
	img = load("sentry-cli-2.43.0-arm64", &len);
	expect_error(img, len - 1, WARD_E_TRUNCATED, "code signature (106496 bytes at offset 11553584) runs past end");
	expect_error(img, 100, WARD_E_TRUNCATED, "load commands");
	free(img);
	img = load("go-hello-fat", &len);
	expect_error(img, len - 5000, WARD_E_TRUNCATED, "fat slice 1");
	expect_error(img, 30, WARD_E_TRUNCATED, "fat header lists 2 architectures but the file ends at 30");
	free(img);
}

/* ---------------------------------------------------------------- fat header */

static void test_fat_hostile(void **state)
{
	size_t len;
	uint8_t *img = load("go-hello-fat", &len);
	uint8_t save[64];
	(void)state;

	memcpy(save, img, sizeof(save));
	/* Absurd counts. */
	mu_put_be32(img + 4, 17);
	expect_error(img, len, WARD_E_LIMIT, "17 architectures (limit 16)");
	mu_put_be32(img + 4, 0xffffffffu);
	expect_error(img, len, WARD_E_LIMIT, "4294967295 architectures");
	mu_put_be32(img + 4, 0);
	expect_error(img, len, WARD_E_MALFORMED, "no architectures");
	memcpy(img, save, sizeof(save));
	/* A slice overlapping the fat header. */
	mu_put_be32(img + 8 + 8, 0);
	expect_error(img, len, WARD_E_MALFORMED, "fat slice 0 at offset 0 overlaps the fat header");
	memcpy(img, save, sizeof(save));
	/* Slices overlapping each other. */
	mu_put_be32(img + 28 + 8, mu_be32(img + 8 + 8) + 4096);
	expect_error(img, len, WARD_E_MALFORMED, "fat slices 0 and 1 overlap");
	memcpy(img, save, sizeof(save));
	/* offset + size past the end, and wrapping around 2^32. */
	mu_put_be32(img + 28 + 12, 0xfffffff0u);
	expect_error(img, len, WARD_E_TRUNCATED, "fat slice 1");
	memcpy(img, save, sizeof(save));
	mu_put_be32(img + 28 + 8, 0xffffff00u);
	mu_put_be32(img + 28 + 12, 0x200);
	expect_error(img, len, WARD_E_TRUNCATED, "runs past end of file");
	memcpy(img, save, sizeof(save));
	/* Wrong magic inside a slice, and a cputype that disagrees with the fat header. */
	img[mu_be32(img + 8 + 8)] ^= 0xff;
	expect_error(img, len, WARD_E_BADMAGIC, "fat slice 0: no Mach-O magic");
	img[mu_be32(img + 8 + 8)] ^= 0xff;
	mu_put_be32(img + 8, 7);
	expect_error(img, len, WARD_E_MALFORMED, "fat header says cputype 7");
	memcpy(img, save, sizeof(save));
	/* An empty slice. */
	mu_put_be32(img + 28 + 12, 0);
	expect_error(img, len, WARD_E_MALFORMED, "fat slice 1 is empty");
	free(img);
}

static void test_fat64_offset_overflow(void **state)
{
	uint8_t img[4096] = { 0 };
	(void)state;

	mu_put_be32(img, 0xcafebabfu);
	mu_put_be32(img + 4, 1);
	mu_put_be32(img + 8, 0x0100000c);
	/* offset 0xffffffffffffff00, size 0x200: offset + size wraps past 2^64. */
	mu_put_be32(img + 16, 0xffffffffu);
	mu_put_be32(img + 20, 0xffffff00u);
	mu_put_be32(img + 28, 0x200);
	expect_error(img, sizeof(img), WARD_E_TRUNCATED, "fat slice 0");
}

/* ---------------------------------------------------------------- thin header */

static void test_load_commands_hostile(void **state)
{
	size_t len;
	uint8_t *img = load("go-hello-arm64", &len);
	uint8_t save[64];
	size_t lc = mu_lc_sig(img);
	(void)state;

	memcpy(save, img, sizeof(save));
	mu_put_le32(img + 16, 0xffffffffu);
	expect_error(img, len, WARD_E_LIMIT, "4294967295 load commands");
	memcpy(img, save, sizeof(save));
	mu_put_le32(img + 20, 0x7fffffffu);
	expect_error(img, len, WARD_E_LIMIT, "bytes of load commands");
	memcpy(img, save, sizeof(save));
	/* More commands than sizeofcmds holds. */
	mu_put_le32(img + 16, mu_le32(img + 16) + 1);
	expect_error(img, len, WARD_E_MALFORMED, "runs past sizeofcmds");
	memcpy(img, save, sizeof(save));
	/* cmdsize 0 would loop forever in a naive reader. */
	mu_put_le32(img + 32 + 4, 0);
	expect_error(img, len, WARD_E_MALFORMED, "bad cmdsize 0");
	memcpy(img, save, sizeof(save));

	/* LC_CODE_SIGNATURE pointing outside the file, with and without 32-bit wrap. */
	uint32_t dataoff = mu_le32(img + lc + 8), datasize = mu_le32(img + lc + 12);
	mu_put_le32(img + lc + 8, (uint32_t)len);
	expect_error(img, len, WARD_E_TRUNCATED, "code signature");
	mu_put_le32(img + lc + 8, 0xfffffff0u);
	mu_put_le32(img + lc + 12, 0x20);
	expect_error(img, len, WARD_E_TRUNCATED, "runs past end of slice");
	mu_put_le32(img + lc + 12, 0xffffffffu);
	expect_error(img, len, WARD_E_LIMIT, "code signature of 4294967295 bytes");
	mu_put_le32(img + lc + 8, 16);
	mu_put_le32(img + lc + 12, datasize);
	expect_error(img, len, WARD_E_MALFORMED, "overlaps the load commands");
	mu_put_le32(img + lc + 8, dataoff);
	mu_put_le32(img + lc + 4, 8);
	expect_error(img, len, WARD_E_MALFORMED, "LC_CODE_SIGNATURE has cmdsize 8, not 16");
	mu_put_le32(img + lc + 4, 16);
	free(img);
}

static void test_two_code_signature_commands(void **state)
{
	size_t len;
	uint8_t *img = load("tiny-i386", &len);
	(void)state;

	/* tiny-i386 has one load command; make the header claim a copy of it right after. */
	uint8_t *big = calloc(1, len + 16);
	assert_non_null(big);
	memcpy(big, img, 28 + 16);
	memcpy(big + 28 + 16, img + 28, 16);
	mu_put_le32(big + 16, 2);
	mu_put_le32(big + 20, 32);
	/* The copy overwrote 16 bytes of "code"; the error comes before any hashing. */
	memcpy(big + 28 + 32, img + 28 + 32, len - 28 - 32);
	expect_error(big, len, WARD_E_MALFORMED, "second LC_CODE_SIGNATURE");
	free(big);
	free(img);
}

/* ---------------------------------------------------------------- SuperBlob */

static void test_superblob_hostile(void **state)
{
	size_t len;
	uint8_t *img = load("sentry-cli-2.43.0-arm64", &len);
	size_t sig = mu_sig_off(img);
	uint8_t save[12 + 8 * 5];
	(void)state;

	memcpy(save, img + sig, sizeof(save));
	img[sig] ^= 1;
	expect_invalid(img, len, "SuperBlob has magic 0xfbde0cc0");
	memcpy(img + sig, save, sizeof(save));
	mu_put_be32(img + sig + 4, 0xffffffffu);
	expect_invalid(img, len, "SuperBlob length 4294967295 does not fit");
	memcpy(img + sig, save, sizeof(save));
	mu_put_be32(img + sig + 8, 0xffffffffu);
	expect_invalid(img, len, "SuperBlob lists 4294967295 blobs");
	memcpy(img + sig, save, sizeof(save));
	/* A blob pointing back at the SuperBlob itself (a loop for a recursive reader). */
	mu_put_be32(img + mu_index(img, 1) + 4, 0);
	expect_invalid(img, len, "overlaps the SuperBlob index");
	memcpy(img + sig, save, sizeof(save));
	/* Two index entries for one blob. */
	mu_put_be32(img + mu_index(img, 2) + 4, mu_be32(img + mu_index(img, 1) + 4));
	expect_invalid(img, len, "overlap");
	memcpy(img + sig, save, sizeof(save));
	/* Blob offset past the end, and a blob length that would wrap. */
	mu_put_be32(img + mu_index(img, 3) + 4, 0xfffffffcu);
	expect_invalid(img, len, "is past the end of the SuperBlob");
	memcpy(img + sig, save, sizeof(save));
	size_t req = mu_blob(img, 2);
	uint32_t reqlen = mu_be32(img + req + 4);
	mu_put_be32(img + req + 4, 0xfffffff8u);
	expect_invalid(img, len, "has length 4294967288");
	mu_put_be32(img + req + 4, 4);
	expect_invalid(img, len, "has length 4");
	mu_put_be32(img + req + 4, reqlen);
	/* Two blobs for one slot. */
	mu_put_be32(img + mu_index(img, 2), 2);
	expect_invalid(img, len, "two blobs for slot 0x2");
	memcpy(img + sig, save, sizeof(save));
	/* A blob of the wrong kind in a slot the kernel checks. */
	img[mu_blob(img, 5) + 3] ^= 1;
	expect_invalid(img, len, "entitlements blob (slot 0x5) has magic");
	img[mu_blob(img, 5) + 3] ^= 1;
	/* No CodeDirectory at all. */
	mu_put_be32(img + mu_index(img, 0), 0x2000);
	expect_invalid(img, len, "no CodeDirectory");
	memcpy(img + sig, save, sizeof(save));
	free(img);
}

/* ---------------------------------------------------------------- CodeDirectory */

static void test_codedirectory_hostile(void **state)
{
	size_t len;
	uint8_t *img = load("sentry-cli-2.43.0-arm64", &len);
	size_t cd = mu_blob(img, 0);
	uint8_t save[128];
	(void)state;

	memcpy(save, img + cd, sizeof(save));
#define RESTORE() memcpy(img + cd, save, sizeof(save))
	img[cd + 3] ^= 1;
	expect_invalid(img, len, "not a CodeDirectory");
	RESTORE();
	mu_put_be32(img + cd + 8, 0x10000);
	expect_invalid(img, len, "CodeDirectory version 0x10000 is not supported");
	RESTORE();
	mu_put_be32(img + cd + 8, 0x30000);
	expect_invalid(img, len, "CodeDirectory version 0x30000 is not supported");
	RESTORE();
	/* hashOffset, identOffset, teamOffset far out, and near 2^32 to tempt a wrap. */
	mu_put_be32(img + cd + 16, 0xffffffffu);
	expect_invalid(img, len, "hash offset 4294967295");
	RESTORE();
	mu_put_be32(img + cd + 20, 0xfffffff0u);
	expect_invalid(img, len, "identifier at offset 4294967280");
	RESTORE();
	mu_put_be32(img + cd + 48, 0xffffffffu);
	expect_invalid(img, len, "team ID at offset 4294967295");
	RESTORE();
	/* Absurd counts. */
	mu_put_be32(img + cd + 28, 0xffffffffu);
	expect_invalid(img, len, "4294967295 code slots");
	RESTORE();
	mu_put_be32(img + cd + 28, mu_be32(img + cd + 28) + 1000);
	expect_invalid(img, len, "code slots run past its end");
	RESTORE();
	mu_put_be32(img + cd + 24, 0xffffffffu);
	expect_invalid(img, len, "4294967295 special slots");
	RESTORE();
	mu_put_be32(img + cd + 24, 60);
	expect_invalid(img, len, "leaves no room for 60 special slots");
	RESTORE();
	/* Hash type and size. */
	img[cd + 37] = 9;
	expect_invalid(img, len, "unsupported hash type 9");
	RESTORE();
	img[cd + 36] = 20;
	expect_invalid(img, len, "hash size 20 does not match hash type 2");
	RESTORE();
	img[cd + 39] = 40;
	expect_invalid(img, len, "page size 2^40");
	RESTORE();
	/* An identifier without its NUL. */
	{
		uint32_t io = mu_be32(img + cd + 20);
		size_t n = strlen((char *)img + cd + io);
		uint8_t *scratch = malloc(len);
		assert_non_null(scratch);
		memcpy(scratch, img, len);
		memset(scratch + cd + io, 'A', mu_be32(img + cd + 4) - io);
		expect_invalid(scratch, len, "identifier at offset");
		free(scratch);
		(void)n;
	}
	/* Header shorter than its version needs. */
	mu_put_be32(img + cd + 4, 60);
	mu_put_be32(img + mu_index(img, 0) + 4, mu_be32(img + mu_index(img, 0) + 4));
	expect_invalid(img, len, "needs a 96-byte header");
	RESTORE();
#undef RESTORE
	free(img);
}

/* Checks made while verifying pages (an ad-hoc file: no CMS to trip over first). */
static void test_codelimit_hostile(void **state)
{
	size_t len;
	uint8_t *img = load("go-hello-arm64", &len);
	size_t cd = mu_blob(img, 0);
	uint32_t limit = mu_be32(img + cd + 32);
	(void)state;

	mu_put_be32(img + cd + 32, 0xfffffff0u);
	expect_invalid(img, len, "codeLimit 4294967280 is not the code signature's offset");
	/* Short of the signature: the bytes in between would be covered by no hash. */
	mu_put_be32(img + cd + 32, limit - 8192);
	expect_invalid(img, len, "is not the code signature's offset");
	mu_put_be32(img + cd + 32, limit);
	/* One code slot fewer than codeLimit needs (the CD still fits: it just ends early). */
	uint32_t ncode = mu_be32(img + cd + 28);
	mu_put_be32(img + cd + 28, ncode - 1);
	expect_invalid(img, len, "code slots but codeLimit");
	mu_put_be32(img + cd + 28, ncode);
	/* An executable segment that ends past codeLimit. */
	mu_put_be32(img + cd + 72, 0xffffffffu);
	expect_invalid(img, len, "executable segment");
	free(img);
}

static void test_scatter_and_linkage_bounds(void **state)
{
	size_t len;
	uint8_t *img = load("tiny-alt", &len);   /* version 0x20600: has every field */
	size_t cd = mu_blob(img, 0);
	uint8_t save[128];
	(void)state;

	memcpy(save, img + cd, sizeof(save));
	/* A scatter vector that starts near the end: no terminating entry inside the CD. */
	mu_put_be32(img + cd + 44, mu_be32(img + cd + 4) - 8);
	expect_invalid(img, len, "scatter vector runs past its end");
	memcpy(img + cd, save, sizeof(save));
	/* Linkage data reaching past the CD, with an offset + size that wraps. */
	img[cd + 96] = 2;
	mu_put_be32(img + cd + 100, 0x10);
	mu_put_be32(img + cd + 104, 0xfffffff8u);
	expect_invalid(img, len, "linkage");
	memcpy(img + cd, save, sizeof(save));
	free(img);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_truncated_everywhere),
		cmocka_unit_test(test_fat_hostile),
		cmocka_unit_test(test_fat64_offset_overflow),
		cmocka_unit_test(test_load_commands_hostile),
		cmocka_unit_test(test_two_code_signature_commands),
		cmocka_unit_test(test_superblob_hostile),
		cmocka_unit_test(test_codedirectory_hostile),
		cmocka_unit_test(test_codelimit_hostile),
		cmocka_unit_test(test_scatter_and_linkage_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
