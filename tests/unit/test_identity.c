/*
 * Unit tests for scanner/: identities of real signed binaries, checked against values
 * from independent sources (tests/tools/csinfo.py, sha256sum, the vendors' team IDs),
 * page and slot verification, CodeDirectory ranking, and a team ID that cannot be
 * forged with a self-made certificate.
 */
#include "tests/unit/machoutil.h"

#include <fcntl.h>
#include <unistd.h>

#include <openssl/cms.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "common/hex.h"

/* Expected values: printed by tests/tools/csinfo.py on the committed fixtures. */
struct expect {
	const char *file, *arch, *cdhash, *signing_id, *team_id, *status;
	uint8_t hash_type;
	uint32_t cd_version, cd_flags;
	const char *cert_sha256, *cert_cn, *cert_ou;
};

static const struct expect expected[] = {
	{ "go-hello-arm64", "arm64", "9d4a1e2efe83d8a9bbe984f252e46266c737fb64", "a.out", "", "adhoc",
	  2, 0x20400, 0x20002, NULL, NULL, NULL },
	{ "go-hello-x86_64", "x86_64", "4da97f08758084784a8c8a133742ec5c2ff332c3", "go-hello-x86_64", "",
	  "adhoc", 2, 0x20400, 0x2, NULL, NULL, NULL },
	{ "tiny-i386", "i386", "4bba6040f0c4acbacd73ee5b25bccfc6bc1ada65", "tiny-i386", "", "adhoc",
	  2, 0x20100, 0x2, NULL, NULL, NULL },
	{ "tiny-ppc", "ppc", "616aea190db677d265ebb4aba90ff5167ac0f63a", "tiny-ppc", "", "adhoc",
	  2, 0x20001, 0x2, NULL, NULL, NULL },
	{ "tiny-scatter", "x86_64", "fe67837698443b8d89afc6f427ca7bd33ccf208c", "tiny-scatter", "", "adhoc",
	  2, 0x20100, 0x2, NULL, NULL, NULL },
	/* SHA-384 alternate wins over SHA-1, SHA-256-truncated and SHA-256. */
	{ "tiny-alt", "x86_64", "4aa290ffc81be4f522faee315199625d22cd5f36", "tiny-alt", "", "adhoc",
	  4, 0x20600, 0x2, NULL, NULL, NULL },
	{ "sentry-cli-2.43.0-arm64", "arm64", "f785335164a9feafb29cc45c9b4afcd5e8f76c0a",
	  "sentry_cli-15e6857c8fd52f9f", "97JCY7859U", "signed", 2, 0x20500, 0x10000,
	  "dc4f1d4c1136a21483c9cbd65c2201e593d3c57707877318c36a878d867cf705",
	  "Developer ID Application: GetSentry LLC (97JCY7859U)", "97JCY7859U" },
	{ "msal-node-runtime-0.20.7-arm64.node", "arm64", "1ae36b0e8d1cd431b97a3a78610ad3547ce1cc7d",
	  "msal-node-runtime", "UBF8T346G9", "signed", 2, 0x20400, 0x0,
	  "78e5ba39022953e1964e3d0e21a3cf51dfb15cfab5dd97c604629e187cfe501f",
	  "3rd Party Mac Developer Application: Microsoft Corporation (UBF8T346G9)", "UBF8T346G9" },
};

static void check_slice(const ward_slice_t *s, const struct expect *e, unsigned flags)
{
	char hex[2 * WARD_SHA256_LEN + 1];

	assert_string_equal(s->arch, e->arch);
	assert_string_equal(ward_sigstatus_name(s->status), e->status);
	assert_true(s->has_cdhash);
	ward_hex_encode(s->cdhash, WARD_CDHASH_LEN, hex);
	assert_string_equal(hex, e->cdhash);
	assert_string_equal(s->signing_id, e->signing_id);
	assert_string_equal(s->team_id, e->team_id);
	assert_int_equal(s->hash_type, e->hash_type);
	assert_int_equal(s->cd_version, e->cd_version);
	assert_int_equal(s->cd_flags, e->cd_flags);
	if (e->cert_sha256 != NULL) {
		assert_true(s->has_cert);
		ward_hex_encode(s->cert_sha256, WARD_SHA256_LEN, hex);
		assert_string_equal(hex, e->cert_sha256);
		assert_string_equal(s->cert_cn, e->cert_cn);
		assert_string_equal(s->cert_ou, e->cert_ou);
	} else {
		assert_false(s->has_cert);
	}
	if (flags & WARD_ID_VERIFY_PAGES)
		assert_true(s->pages_checked > 0);
	else
		assert_int_equal(s->pages_checked, 0);
}

static void test_fixtures_match_independent_values(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
		for (unsigned flags = 0; flags <= WARD_ID_VERIFY_PAGES; flags += WARD_ID_VERIFY_PAGES) {
			char path[256];
			ward_identity_t id;
			ward_error_t err;

			snprintf(path, sizeof(path), FIXTURES "/%s", expected[i].file);
			if (ward_identity_read_path(path, flags, &id, &err) != WARD_OK)
				fail_msg("%s: %s", path, err.msg);
			assert_int_equal(id.type, WARD_FT_MACHO);
			assert_int_equal(id.nslices, 1);
			check_slice(&id.slices[0], &expected[i], flags);
		}
	}
}

static void test_fat_shows_every_slice_and_fat64_too(void **state)
{
	size_t len;
	uint8_t *img = tu_slurp(FIXTURES "/go-hello-fat", &len);
	ward_identity_t id;
	ward_error_t err;
	(void)state;

	assert_int_equal(mu_read(img, len, WARD_ID_VERIFY_PAGES, &id, &err), WARD_OK);
	assert_int_equal(id.type, WARD_FT_FAT);
	assert_int_equal(id.nslices, 2);
	check_slice(&id.slices[0], &expected[0], WARD_ID_VERIFY_PAGES);
	check_slice(&id.slices[1], &expected[1], WARD_ID_VERIFY_PAGES);
	assert_int_equal(id.slices[0].offset, 16384);
	assert_ptr_equal(ward_identity_primary(&id), &id.slices[0]);   /* arm64 */

	/* --arch: a slice by name, or the one message naming the slices there are. */
	unsigned k = 99;
	assert_int_equal(ward_identity_find_arch(&id, "x86_64", &k, &err), WARD_OK);
	assert_int_equal(k, 1);
	assert_int_equal(ward_identity_find_arch(&id, "ppc", &k, &err), WARD_E_NOTFOUND);
	assert_string_equal(err.msg, "no ppc slice (it has arm64, x86_64)");
	assert_int_equal(ward_identity_find_arch(&id, "arm64e", &k, &err), WARD_E_NOTFOUND);
	{
		ward_identity_t elf = { .type = WARD_FT_ELF };
		assert_int_equal(ward_identity_find_arch(&elf, "x86_64", &k, &err), WARD_E_NOTFOUND);
		assert_non_null(strstr(err.msg, "an elf file has no architecture slices"));
	}
	assert_true(ward_arch_name_valid("x86_64h") && ward_arch_name_valid("cpu:18") &&
	            ward_arch_name_valid("ppc64"));
	{
		/* Haswell's x86_64h is its own name: lipo keeps it beside a plain x86_64 slice. */
		size_t xlen;
		uint8_t *x = tu_slurp(FIXTURES "/go-hello-x86_64", &xlen);
		ward_identity_t xid;
		x[8] = 8; /* cpusubtype (little-endian) = CPU_SUBTYPE_X86_64_H */
		assert_int_equal(mu_read(x, xlen, 0, &xid, &err), WARD_OK);
		assert_string_equal(xid.slices[0].arch, "x86_64h");
		free(x);
	}
	assert_false(ward_arch_name_valid("amd64") || ward_arch_name_valid("cpu:") ||
	             ward_arch_name_valid("cpu:1x") || ward_arch_name_valid("") ||
	             ward_arch_name_valid("ARM64"));

	/* Same slices under a FAT_MAGIC_64 header (fat_arch_64: u64 offset and size). */
	uint8_t *img64 = calloc(1, len);
	assert_non_null(img64);
	memcpy(img64, img, len);
	memset(img64, 0, 16384);
	mu_put_be32(img64, 0xcafebabfu);
	mu_put_be32(img64 + 4, 2);
	for (int i = 0; i < 2; i++) {
		const uint8_t *a = img + 8 + 20 * i;
		uint8_t *b = img64 + 8 + 32 * i;
		memcpy(b, a, 8);                         /* cputype, cpusubtype */
		mu_put_be32(b + 12, mu_be32(a + 8));     /* offset (low half) */
		mu_put_be32(b + 20, mu_be32(a + 12));    /* size (low half) */
		mu_put_be32(b + 24, mu_be32(a + 16));    /* align */
	}
	assert_int_equal(mu_read(img64, len, WARD_ID_VERIFY_PAGES, &id, &err), WARD_OK);
	assert_int_equal(id.type, WARD_FT_FAT);
	assert_int_equal(id.nslices, 2);
	check_slice(&id.slices[0], &expected[0], WARD_ID_VERIFY_PAGES);
	check_slice(&id.slices[1], &expected[1], WARD_ID_VERIFY_PAGES);
	free(img64);
	free(img);
}

static void test_unsigned_macho(void **state)
{
	ward_identity_t id;
	ward_error_t err;
	(void)state;

	assert_int_equal(ward_identity_read_path(FIXTURES "/tiny-unsigned", WARD_ID_VERIFY_PAGES, &id, &err),
	                 WARD_OK);
	assert_int_equal(id.type, WARD_FT_MACHO);
	assert_int_equal(id.nslices, 1);
	assert_string_equal(id.slices[0].arch, "arm64");
	assert_int_equal(id.slices[0].status, WARD_SIG_UNSIGNED);
	assert_false(id.slices[0].has_cdhash);
}

/* SHA-256 of each fixture equals what sha256sum recorded in SHA256SUMS. */
static void test_sha256_equals_sha256sum(void **state)
{
	size_t len;
	uint8_t *sums = tu_slurp(FIXTURES "/SHA256SUMS", &len);
	char *line, *save = NULL;
	int n = 0;
	(void)state;

	sums[len] = '\0';
	for (line = strtok_r((char *)sums, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char path[256], hex[2 * WARD_SHA256_LEN + 1];
		ward_identity_t id;
		ward_error_t err;

		assert_true(strlen(line) > 66);
		snprintf(path, sizeof(path), FIXTURES "/%s", line + 66);
		if (ward_identity_read_path(path, WARD_ID_SHA256, &id, &err) != WARD_OK)
			fail_msg("%s: %s", path, err.msg);
		assert_true(id.has_sha256);
		ward_hex_encode(id.sha256, WARD_SHA256_LEN, hex);
		assert_memory_equal(hex, line, 64);
		n++;
	}
	assert_true(n >= 9);
	free(sums);
}

static void test_other_file_types(void **state)
{
	char dir[] = "/tmp/ward-test-XXXXXX", path[300];
	ward_identity_t id;
	ward_error_t err;
	FILE *f;
	(void)state;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/script", dir);
	assert_non_null(f = fopen(path, "w"));
	fputs("#! /usr/bin/env python3\nprint('hi')\n", f);
	fclose(f);
	assert_int_equal(ward_identity_read_path(path, WARD_ID_SHA256, &id, &err), WARD_OK);
	assert_int_equal(id.type, WARD_FT_SCRIPT);
	assert_string_equal(id.interpreter, "/usr/bin/env");
	assert_int_equal(id.nslices, 0);
	unlink(path);

	/* A Java class file shares the fat magic; it is "other", not a broken fat file. */
	snprintf(path, sizeof(path), "%s/A.class", dir);
	assert_non_null(f = fopen(path, "wb"));
	fwrite("\xca\xfe\xba\xbe\x00\x00\x00\x3d\x00\x10", 1, 10, f);
	fclose(f);
	assert_int_equal(ward_identity_read_path(path, 0, &id, &err), WARD_OK);
	assert_int_equal(id.type, WARD_FT_OTHER);
	unlink(path);

	snprintf(path, sizeof(path), "%s/text", dir);
	assert_non_null(f = fopen(path, "w"));
	fputs("hello\n", f);
	fclose(f);
	assert_int_equal(ward_identity_read_path(path, 0, &id, &err), WARD_OK);
	assert_int_equal(id.type, WARD_FT_OTHER);
	unlink(path);
	rmdir(dir);

	assert_int_equal(ward_identity_read_path("/bin/true", WARD_ID_SHA256, &id, &err), WARD_OK);
	assert_int_equal(id.type, WARD_FT_ELF);
	assert_true(id.has_sha256);

	assert_int_equal(ward_identity_read_path("/nonexistent/x", 0, &id, &err), WARD_E_IO);
	assert_non_null(strstr(err.msg, "No such file"));
	assert_int_equal(ward_identity_read_path("/tmp", 0, &id, &err), WARD_E_UNSUPPORTED);
}

/* ---------------------------------------------------------------- tampering */

static void expect_invalid(const uint8_t *img, size_t len, unsigned flags, const char *reason)
{
	ward_identity_t id;
	ward_error_t err;

	if (mu_read(img, len, flags, &id, &err) != WARD_OK)
		fail_msg("expected status invalid (%s), got error: %s", reason, err.msg);
	assert_int_equal(id.nslices, 1);
	if (id.slices[0].status != WARD_SIG_INVALID)
		fail_msg("expected invalid (%s), got %s", reason, ward_sigstatus_name(id.slices[0].status));
	if (strstr(id.slices[0].invalid_reason, reason) == NULL)
		fail_msg("reason \"%s\" does not contain \"%s\"", id.slices[0].invalid_reason, reason);
}

static void test_flipped_code_byte_names_the_page(void **state)
{
	size_t len;
	uint8_t *img = tu_slurp(FIXTURES "/sentry-cli-2.43.0-arm64", &len);
	ward_identity_t id;
	ward_error_t err;
	(void)state;

	img[100 * 4096 + 123] ^= 0x01;
	expect_invalid(img, len, WARD_ID_VERIFY_PAGES, "code page 100 (offset 409600) hash mismatch");
	/* Without page verification the CodeDirectory alone still looks right. */
	assert_int_equal(mu_read(img, len, 0, &id, &err), WARD_OK);
	assert_int_equal(id.slices[0].status, WARD_SIG_SIGNED);
	img[100 * 4096 + 123] ^= 0x01;

	/* The last page is partial: codeLimit is the signature's offset. */
	size_t sig = mu_sig_off(img);
	uint32_t last = (uint32_t)((sig - 1) / 4096);
	assert_true(sig % 4096 != 0);
	img[sig - 1] ^= 0x80;
	char want[96];
	snprintf(want, sizeof(want), "code page %u (offset %u)", last, last * 4096);
	expect_invalid(img, len, WARD_ID_VERIFY_PAGES, want);
	img[sig - 1] ^= 0x80;

	assert_int_equal(mu_read(img, len, WARD_ID_VERIFY_PAGES, &id, &err), WARD_OK);
	assert_int_equal(id.slices[0].status, WARD_SIG_SIGNED);
	assert_int_equal(id.slices[0].pages_checked, last + 1);
	free(img);
}

/* Pages listed by a scatter vector are checked run by run. */
static void test_scatter_pages(void **state)
{
	size_t len;
	uint8_t *img = tu_slurp(FIXTURES "/tiny-scatter", &len);
	ward_identity_t id;
	ward_error_t err;
	(void)state;

	assert_int_equal(mu_read(img, len, WARD_ID_VERIFY_PAGES, &id, &err), WARD_OK);
	assert_int_equal(id.slices[0].pages_checked, 5);
	img[3 * 4096 + 1] ^= 0x10;   /* in the second run */
	expect_invalid(img, len, WARD_ID_VERIFY_PAGES, "code page 3 (offset 12288) hash mismatch");
	free(img);
}

static void test_special_slots(void **state)
{
	size_t len, len2;
	uint8_t *img = tu_slurp(FIXTURES "/sentry-cli-2.43.0-arm64", &len), *img2;
	size_t ent = mu_blob(img, 5), req = mu_blob(img, 2), der = mu_blob(img, 7);
	(void)state;

	assert_true(ent && req && der);
	img[ent + 20] ^= 1;
	expect_invalid(img, len, 0, "special slot 5 (entitlements) hash mismatch");
	img[ent + 20] ^= 1;
	img[req + 10] ^= 1;
	expect_invalid(img, len, 0, "special slot 2 (requirements) hash mismatch");
	img[req + 10] ^= 1;
	img[der + 9] ^= 1;
	expect_invalid(img, len, 0, "special slot 7 (DER entitlements) hash mismatch");
	img[der + 9] ^= 1;

	/* Entitlements removed: the slot still holds their hash. */
	img2 = mu_replace_blob(img, len, 5, NULL, 0, &len2);
	expect_invalid(img2, len2, 0, "special slot 5 (entitlements) has a hash but the signature has no");
	free(img2);

	/* Entitlements added to a signature whose CodeDirectory has no slot for them. */
	size_t glen;
	uint8_t *go = tu_slurp(FIXTURES "/go-hello-arm64", &glen);
	static const uint8_t ents[] = { 0xfa, 0xde, 0x71, 0x71, 0, 0, 0, 16, '<', 'd', 'i', 'c', 't', '/', '>', 0 };
	img2 = mu_replace_blob(go, glen, 5, ents, sizeof(ents), &len2);
	expect_invalid(img2, len2, 0, "entitlements blob (slot 5) is not covered by the CodeDirectory");
	free(img2);
	free(go);
	free(img);
}

static void test_tampered_cd_breaks_cms(void **state)
{
	size_t len;
	uint8_t *img = tu_slurp(FIXTURES "/sentry-cli-2.43.0-arm64", &len);
	size_t cd = mu_blob(img, 0);
	uint32_t teamoff = mu_be32(img + cd + 48);
	(void)state;

	/* Change one letter of the team ID inside the signed CodeDirectory. */
	assert_memory_equal(img + cd + teamoff, "97JCY7859U", 10);
	img[cd + teamoff] = '8';
	expect_invalid(img, len, 0, "messageDigest mismatch");
	img[cd + teamoff] = '9';
	/* A CMS blob that is not DER. */
	size_t cms = mu_blob(img, 0x10000);
	img[cms + 8] ^= 0xff;
	expect_invalid(img, len, 0, "is not a BER ContentInfo");
	img[cms + 8] ^= 0xff;
	/* A signed attribute changed (the signing time): the signer's signature breaks. */
	static const uint8_t signing_time[] = { 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x05 };
	uint8_t *st = memmem(img + cms, mu_be32(img + cms + 4), signing_time, sizeof(signing_time));
	assert_non_null(st);
	st[sizeof(signing_time) + 6] ^= 0x01;   /* SET, UTCTime header, then a digit */
	expect_invalid(img, len, 0, "CMS signature does not verify with the signer's certificate");
	st[sizeof(signing_time) + 6] ^= 0x01;
	/* Back to good: the cached certificate set changes nothing. */
	ward_identity_t id;
	ward_error_t err;
	assert_int_equal(mu_read(img, len, 0, &id, &err), WARD_OK);
	assert_int_equal(id.slices[0].status, WARD_SIG_SIGNED);
	free(img);
}

/* ---------------------------------------------------------------- CodeDirectory ranking */

static void cd_hash_of(const uint8_t *img, uint32_t slot, const EVP_MD *md, char hex[41])
{
	size_t cd = mu_blob(img, slot);
	uint8_t h[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	assert_true(cd != 0);
	assert_int_equal(EVP_Digest(img + cd, mu_be32(img + cd + 4), h, &n, md, NULL), 1);
	ward_hex_encode(h, WARD_CDHASH_LEN, hex);
}

static void test_cd_ranking(void **state)
{
	size_t len;
	uint8_t *img = tu_slurp(FIXTURES "/tiny-alt", &len);
	ward_identity_t id;
	ward_error_t err;
	char want[41], got[41];
	/* tiny-alt: slot 0 SHA-1, 0x1000 SHA-256, 0x1001 SHA-256-truncated, 0x1002 SHA-384. */
	static const struct { uint32_t drop; uint8_t type; uint32_t slot; } steps[] = {
		{ 0, 4, 0x1002 },       /* all present: SHA-384 */
		{ 0x1002, 2, 0x1000 },  /* without SHA-384: SHA-256 */
		{ 0x1000, 3, 0x1001 },  /* without SHA-256: SHA-256-truncated */
		{ 0x1001, 1, 0 },       /* only SHA-1 left */
	};
	(void)state;

	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		if (steps[i].drop) {
			/* Move the CD out of the alternate range (slot 0x2000 is ignored). */
			for (uint32_t k = 0; k < mu_be32(img + mu_sig_off(img) + 8); k++)
				if (mu_be32(img + mu_index(img, k)) == steps[i].drop)
					mu_put_be32(img + mu_index(img, k), 0x2000 + k);
		}
		assert_int_equal(mu_read(img, len, WARD_ID_VERIFY_PAGES, &id, &err), WARD_OK);
		assert_int_equal(id.slices[0].status, WARD_SIG_ADHOC);
		assert_int_equal(id.slices[0].hash_type, steps[i].type);
		cd_hash_of(img, steps[i].slot,
		           steps[i].type == 4 ? EVP_sha384() : steps[i].type == 1 ? EVP_sha1() : EVP_sha256(), want);
		ward_hex_encode(id.slices[0].cdhash, WARD_CDHASH_LEN, got);
		assert_string_equal(got, want);
	}
	free(img);

	/* Two CodeDirectories of one hash type: the kernel rejects that, so do we. */
	img = tu_slurp(FIXTURES "/tiny-alt", &len);
	size_t cd384 = mu_blob(img, 0x1002);
	img[cd384 + 36] = 32;   /* hashSize */
	img[cd384 + 37] = 2;    /* hashType SHA-256, like slot 0x1000 */
	expect_invalid(img, len, 0, "two CodeDirectories with hash type 2");
	free(img);
}

/* ---------------------------------------------------------------- forged signers */

/* A self-made certificate claiming Sentry's team ID, and a CMS over data with it. */
static uint8_t *forge_cms(const uint8_t *content, size_t clen, const char *ou,
                          const char *cdhashes_plist, STACK_OF(X509) *extra, size_t *outlen)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *cert = X509_new();
	X509_NAME *name = X509_NAME_new();
	BIO *in = BIO_new_mem_buf(content, (int)clen);
	CMS_ContentInfo *cms;
	uint8_t *der = NULL;
	int n;

	assert_non_null(key);
	X509_set_version(cert, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	                           (const unsigned char *)"Developer ID Application: GetSentry LLC (97JCY7859U)", -1, -1, 0);
	X509_NAME_add_entry_by_txt(name, "OU", MBSTRING_ASC, (const unsigned char *)ou, -1, -1, 0);
	X509_set_subject_name(cert, name);
	X509_set_issuer_name(cert, name);
	X509_gmtime_adj(X509_getm_notBefore(cert), 0);
	X509_gmtime_adj(X509_getm_notAfter(cert), 86400);
	X509_set_pubkey(cert, key);
	assert_true(X509_sign(cert, key, EVP_sha256()) > 0);

	cms = CMS_sign(NULL, NULL, extra, NULL, CMS_BINARY | CMS_DETACHED | CMS_PARTIAL);
	assert_non_null(cms);
	CMS_SignerInfo *si = CMS_add1_signer(cms, cert, key, EVP_sha256(), CMS_BINARY);
	assert_non_null(si);
	if (cdhashes_plist != NULL)
		assert_int_equal(CMS_signed_add1_attr_by_txt(si, "1.2.840.113635.100.9.1", V_ASN1_OCTET_STRING,
		                                             cdhashes_plist, (int)strlen(cdhashes_plist)), 1);
	assert_int_equal(CMS_final(cms, in, NULL, CMS_BINARY | CMS_DETACHED), 1);
	n = i2d_CMS_ContentInfo(cms, &der);
	assert_true(n > 0);

	uint8_t *blob = malloc((size_t)n + 8);
	assert_non_null(blob);
	mu_put_be32(blob, 0xfade0b01u);
	mu_put_be32(blob + 4, (uint32_t)n + 8);
	memcpy(blob + 8, der, (size_t)n);
	*outlen = (size_t)n + 8;
	OPENSSL_free(der);
	CMS_ContentInfo_free(cms);
	BIO_free(in);
	X509_NAME_free(name);
	X509_free(cert);
	EVP_PKEY_free(key);
	return blob;
}

static void test_team_id_cannot_be_forged(void **state)
{
	size_t len, clen, len2;
	uint8_t *img = tu_slurp(FIXTURES "/sentry-cli-2.43.0-arm64", &len), *img2, *cms;
	size_t cd = mu_blob(img, 0);
	(void)state;

	/* A valid CMS over Sentry's own CodeDirectory, by a self-made "Sentry" certificate. */
	cms = forge_cms(img + cd, mu_be32(img + cd + 4), "97JCY7859U", NULL, NULL, &clen);
	img2 = mu_replace_blob(img, len, 0x10000, cms, clen, &len2);
	expect_invalid(img2, len2, 0, "certificate chain not trusted: no Apple root CA");
	free(img2);
	free(cms);

	/* Same, with Apple's real root and Developer ID CA copied into the bag. */
	size_t real = mu_blob(img, 0x10000);
	const unsigned char *p = img + real + 8;
	CMS_ContentInfo *orig = d2i_CMS_ContentInfo(NULL, &p, mu_be32(img + real + 4) - 8);
	assert_non_null(orig);
	STACK_OF(X509) *bag = CMS_get1_certs(orig), *cas = sk_X509_new_null();
	for (int i = 0; i < sk_X509_num(bag); i++) {
		X509_NAME *subj = X509_get_subject_name(sk_X509_value(bag, i));
		char cn[128] = "";
		X509_NAME_get_text_by_NID(subj, NID_commonName, cn, sizeof(cn));
		if (strstr(cn, "GetSentry") == NULL)
			sk_X509_push(cas, sk_X509_value(bag, i));
	}
	assert_int_equal(sk_X509_num(cas), 2);
	cms = forge_cms(img + cd, mu_be32(img + cd + 4), "97JCY7859U", NULL, cas, &clen);
	img2 = mu_replace_blob(img, len, 0x10000, cms, clen, &len2);
	expect_invalid(img2, len2, 0, "certificate chain not trusted");
	free(img2);
	free(cms);
	sk_X509_free(cas);
	sk_X509_pop_free(bag, X509_free);
	CMS_ContentInfo_free(orig);

	/* The real CMS pasted onto an ad-hoc binary: it is not over that CodeDirectory. */
	size_t glen;
	uint8_t *go = tu_slurp(FIXTURES "/go-hello-arm64", &glen);
	img2 = mu_replace_blob(go, glen, 0x10000, img + real, mu_be32(img + real + 4), &len2);
	expect_invalid(img2, len2, 0, "messageDigest mismatch");
	free(img2);
	free(go);
	free(img);
}

static void test_alternate_cd_must_be_listed_by_signer(void **state)
{
	size_t len, clen, len2;
	uint8_t *img = tu_slurp(FIXTURES "/tiny-alt", &len), *img2, *cms;
	size_t cd0 = mu_blob(img, 0);
	ward_identity_t id;
	ward_error_t err;
	char plist[512], b64[64];
	(void)state;

	/* Signed over slot 0 (SHA-1) without listing the SHA-384 CD that would be used. */
	cms = forge_cms(img + cd0, mu_be32(img + cd0 + 4), "ABCDE12345", NULL, NULL, &clen);
	img2 = mu_replace_blob(img, len, 0x10000, cms, clen, &len2);
	expect_invalid(img2, len2, 0, "chosen CodeDirectory is not among the CDHashes the signer listed");
	free(cms);
	/* Listed: the next check (the self-made chain) is what fails now. */
	assert_int_equal(mu_read(img2, len2, 0, &id, &err), WARD_OK);
	EVP_EncodeBlock((unsigned char *)b64, id.slices[0].cdhash, WARD_CDHASH_LEN);
	snprintf(plist, sizeof(plist),
	         "<?xml version=\"1.0\"?><plist version=\"1.0\"><dict><key>cdhashes</key><array>"
	         "<data>AAAAAAAAAAAAAAAAAAAAAAAAAAA=</data><data>\n%s\n</data></array></dict></plist>", b64);
	free(img2);
	cms = forge_cms(img + cd0, mu_be32(img + cd0 + 4), "ABCDE12345", plist, NULL, &clen);
	img2 = mu_replace_blob(img, len, 0x10000, cms, clen, &len2);
	expect_invalid(img2, len2, 0, "certificate chain not trusted");
	free(img2);
	free(cms);
	free(img);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixtures_match_independent_values),
		cmocka_unit_test(test_fat_shows_every_slice_and_fat64_too),
		cmocka_unit_test(test_unsigned_macho),
		cmocka_unit_test(test_sha256_equals_sha256sum),
		cmocka_unit_test(test_other_file_types),
		cmocka_unit_test(test_flipped_code_byte_names_the_page),
		cmocka_unit_test(test_scatter_pages),
		cmocka_unit_test(test_special_slots),
		cmocka_unit_test(test_tampered_cd_breaks_cms),
		cmocka_unit_test(test_cd_ranking),
		cmocka_unit_test(test_team_id_cannot_be_forged),
		cmocka_unit_test(test_alternate_cd_must_be_listed_by_signer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
