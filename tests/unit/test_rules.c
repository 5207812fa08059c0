/* Unit tests for rules/: names, validation, expiry, match keys, precedence, Santa JSON. */
#include "tests/unit/testutil.h"

#include <stdio.h>
#include <unistd.h>

#include "common/hex.h"
#include "rules/rules.h"

#define NOW ((int64_t)1800000000) /* 2027-01-15 */

#define TEAM_A "EQHXZ8M8AV"
#define TEAM_B "UBF8T346G9"
#define CDH_A  "0123456789abcdef0123456789abcdef01234567"
#define SHA_A  "84de9c61777ca36b13228e2446d53e966096e78db7a72c632b5c185b2ffe68a6"
#define CERT_A "7ae2c8a1d0b4a7d3d9c3b5f7c1e8a2b6d4f0e9c8b7a6d5e4f3c2b1a0f9e8d7c6"
#define SID_A  TEAM_A ":com.example.tool"
#define MSAL_ARM64_CDH "1ae36b0e8d1cd431b97a3a78610ad3547ce1cc7d"
#define MSAL_X86_CDH   "3471a5e71a1d53127fc83a04c12750554ecd8df9"

/* ---------------------------------------------------------------- helpers */

static ward_store_t *mem_store(void)
{
	ward_store_t *st = NULL;
	ward_error_t err = { 0 };

	assert_int_equal(ward_store_open(":memory:", WARD_STORE_CREATE, &st, &err), WARD_OK);
	assert_non_null(st);
	return st;
}

static void put(ward_store_t *st, ward_rule_type_t t, const char *id, ward_policy_t p,
                ward_rule_source_t src, int64_t expires)
{
	ward_rule_t r = { .type = t, .identifier = id, .policy = p, .source = src,
	                  .expires_at = expires, .created_by = "test" };
	ward_error_t err = { 0 };

	if (ward_store_put(st, &r, &err) != WARD_OK)
		fail_msg("put %s %s: %s", ward_rule_type_name(t), id, err.msg);
}

static ward_index_t *build(ward_store_t *st)
{
	ward_index_t *ix = NULL;
	ward_error_t err = { 0 };

	if (ward_index_build(st, &ix, &err) != WARD_OK)
		fail_msg("index build: %s", err.msg);
	return ix;
}

/* A key carrying every identity of one signed Mach-O. */
static ward_match_key_t full_key(void)
{
	ward_match_key_t k;

	memset(&k, 0, sizeof(k));
	strcpy(k.cdhash, CDH_A);
	strcpy(k.sha256, SHA_A);
	strcpy(k.signing_id, SID_A);
	strcpy(k.certificate, CERT_A);
	strcpy(k.team_id, TEAM_A);
	return k;
}

/* ---------------------------------------------------------------- names */

static void test_names_and_parsing(void **state)
{
	ward_rule_type_t t;
	ward_policy_t p;
	ward_rule_source_t s;
	ward_error_t err = { 0 };
	(void)state;

	for (int i = 0; i < WARD_RT__COUNT; i++) {
		assert_int_equal(ward_rule_type_parse(ward_rule_type_name((ward_rule_type_t)i), &t, &err), WARD_OK);
		assert_int_equal(t, i);
	}
	for (int i = 0; i < WARD_POL__COUNT; i++) {
		assert_int_equal(ward_policy_parse(ward_policy_name((ward_policy_t)i), &p, &err), WARD_OK);
		assert_int_equal(p, i);
	}
	for (int i = 0; i < WARD_SRC__COUNT; i++) {
		assert_int_equal(ward_rule_source_parse(ward_rule_source_name((ward_rule_source_t)i), &s, &err), WARD_OK);
		assert_int_equal(s, i);
	}
	assert_int_equal(ward_rule_type_parse("teamid", &t, &err), WARD_OK);
	assert_int_equal(t, WARD_RT_TEAMID);
	assert_int_equal(ward_rule_type_parse("SHA256", &t, &err), WARD_E_INVAL);
	assert_non_null(strstr(err.msg, "rule_type"));

	/* Santa's older names. */
	assert_int_equal(ward_policy_parse("WHITELIST", &p, &err), WARD_OK);
	assert_int_equal(p, WARD_POL_ALLOWLIST);
	assert_int_equal(ward_policy_parse("blacklist", &p, &err), WARD_OK);
	assert_int_equal(p, WARD_POL_BLOCKLIST);
	assert_int_equal(ward_policy_parse("SILENT_BLACKLIST", &p, &err), WARD_OK);
	assert_int_equal(p, WARD_POL_SILENT_BLOCKLIST);
	assert_int_equal(ward_policy_parse("WHITELIST_COMPILER", &p, &err), WARD_OK);
	assert_int_equal(p, WARD_POL_ALLOWLIST_COMPILER);
	assert_int_equal(ward_policy_parse("SILENT_GUI_BLOCKLIST", &p, &err), WARD_OK);
	assert_int_equal(p, WARD_POL_SILENT_BLOCKLIST);
	assert_int_equal(ward_policy_parse("CEL", &p, &err), WARD_E_UNSUPPORTED);
	assert_int_equal(ward_policy_parse("ALLOW", &p, &err), WARD_E_INVAL);
	assert_non_null(strstr(err.msg, "policy 'ALLOW'"));
	assert_true(ward_policy_blocks(WARD_POL_BLOCKLIST));
	assert_true(ward_policy_blocks(WARD_POL_SILENT_BLOCKLIST));
	assert_false(ward_policy_blocks(WARD_POL_ALLOWLIST));
	assert_false(ward_policy_blocks(WARD_POL_ALLOWLIST_COMPILER));
}

/* ---------------------------------------------------------------- identifiers */

static void expect_canon(ward_rule_type_t t, const char *in, const char *want)
{
	char out[WARD_RULE_ID_MAX + 1];
	ward_error_t err = { 0 };

	if (ward_rule_identifier_canon(t, in, out, &err) != WARD_OK)
		fail_msg("%s '%s' rejected: %s", ward_rule_type_name(t), in, err.msg);
	assert_string_equal(out, want);
}

static void expect_reject(ward_rule_type_t t, const char *in, const char *msg_part)
{
	char out[WARD_RULE_ID_MAX + 1];
	ward_error_t err = { 0 };

	if (ward_rule_identifier_canon(t, in, out, &err) != WARD_E_INVAL)
		fail_msg("%s '%s' accepted as '%s'", ward_rule_type_name(t), in, out);
	assert_int_equal(err.code, WARD_E_INVAL);
	/* The error names the field. */
	assert_non_null(strstr(err.msg, "identifier"));
	if (msg_part && strstr(err.msg, msg_part) == NULL)
		fail_msg("error '%s' does not say '%s'", err.msg, msg_part);
}

static void test_identifier_hashes(void **state)
{
	char sid255[300], sid256[300];
	(void)state;

	expect_canon(WARD_RT_CDHASH, "0123456789ABCDEF0123456789abcdef01234567", CDH_A);
	expect_reject(WARD_RT_CDHASH, "0123456789abcdef0123456789abcdef0123456", "40 hex");
	expect_reject(WARD_RT_CDHASH, "0123456789abcdef0123456789abcdef012345678", "40 hex");
	expect_reject(WARD_RT_CDHASH, "0123456789abcdef0123456789abcdef0123456g", "not hex");
	expect_reject(WARD_RT_CDHASH, SHA_A, "40 hex");
	expect_reject(WARD_RT_CDHASH, "", NULL);
	expect_canon(WARD_RT_BINARY, "84DE9C61777CA36B13228E2446D53E966096E78DB7A72C632B5C185B2FFE68A6", SHA_A);
	expect_reject(WARD_RT_BINARY, CDH_A, "64 hex");
	expect_reject(WARD_RT_BINARY, " " SHA_A, NULL);
	expect_canon(WARD_RT_CERTIFICATE, CERT_A, CERT_A);
	expect_reject(WARD_RT_CERTIFICATE, "7ae2c8a1d0b4a7d3d9c3b5f7c1e8a2b6d4f0e9c8b7a6d5e4f3c2b1a0f9e8d7c", "64 hex");

	expect_canon(WARD_RT_TEAMID, TEAM_A, TEAM_A);
	expect_canon(WARD_RT_TEAMID, "eqhxz8m8av", TEAM_A);
	expect_reject(WARD_RT_TEAMID, "EQHXZ8M8A", "10 of A-Z0-9");
	expect_reject(WARD_RT_TEAMID, "EQHXZ8M8AVX", "10 of A-Z0-9");
	expect_reject(WARD_RT_TEAMID, "EQHXZ-M8AV", "10 of A-Z0-9");
	expect_reject(WARD_RT_TEAMID, "EQHXZ8M8\xc3\xa9", NULL);

	expect_canon(WARD_RT_SIGNINGID, "eqhxz8m8av:com.Example.Tool", TEAM_A ":com.Example.Tool");
	expect_canon(WARD_RT_SIGNINGID, "PLATFORM:com.apple.ls", "platform:com.apple.ls");
	expect_canon(WARD_RT_SIGNINGID, TEAM_A ":a:b", TEAM_A ":a:b");
	expect_reject(WARD_RT_SIGNINGID, "com.apple.ls", "TEAMID:signing.id");
	expect_reject(WARD_RT_SIGNINGID, TEAM_A ":", "empty");
	expect_reject(WARD_RT_SIGNINGID, "EQHXZ8M8A:com.x", "team ID");
	expect_reject(WARD_RT_SIGNINGID, "platformx:com.x", "team ID");
	expect_reject(WARD_RT_SIGNINGID, TEAM_A ":com x", "printable");
	expect_reject(WARD_RT_SIGNINGID, TEAM_A ":com\tx", "printable");
	expect_reject(WARD_RT_SIGNINGID, TEAM_A ":com.\xc3\xa9", "printable");

	/* The signing ID may be as long as a code signature allows, no longer. */
	memset(sid255, 'a', sizeof(sid255));
	memcpy(sid255, TEAM_A ":", 11);
	sid255[11 + WARD_MAX_SIGNING_ID] = '\0';
	expect_canon(WARD_RT_SIGNINGID, sid255, sid255);
	memcpy(sid256, sid255, sizeof(sid255));
	sid256[11 + WARD_MAX_SIGNING_ID] = 'a';
	sid256[12 + WARD_MAX_SIGNING_ID] = '\0';
	expect_reject(WARD_RT_SIGNINGID, sid256, "longer than");
}

static void test_rule_validate_limits(void **state)
{
	char big[WARD_MAX_RULE_TEXT + 2];
	ward_rule_t r = { .type = WARD_RT_TEAMID, .policy = WARD_POL_ALLOWLIST, .identifier = TEAM_A };
	ward_error_t err = { 0 };
	(void)state;

	assert_int_equal(ward_rule_validate(&r, &err), WARD_OK);
	memset(big, 'x', sizeof(big));
	big[WARD_MAX_RULE_TEXT] = '\0';
	r.custom_msg = big;
	assert_int_equal(ward_rule_validate(&r, &err), WARD_OK);
	big[WARD_MAX_RULE_TEXT] = 'x';
	big[WARD_MAX_RULE_TEXT + 1] = '\0';
	assert_int_equal(ward_rule_validate(&r, &err), WARD_E_LIMIT);
	assert_non_null(strstr(err.msg, "custom_msg"));
	r.custom_msg = NULL;
	r.comment = big;
	assert_int_equal(ward_rule_validate(&r, &err), WARD_E_LIMIT);
	assert_non_null(strstr(err.msg, "comment"));
	r.comment = NULL;
	r.identifier = "eqhxz8m8av"; /* valid but not canonical: the store must not hold it */
	assert_int_equal(ward_rule_validate(&r, &err), WARD_E_INVAL);
	assert_non_null(strstr(err.msg, "canonical"));
	r.identifier = TEAM_A;
	r.policy = (ward_policy_t)42;
	assert_int_equal(ward_rule_validate(&r, &err), WARD_E_INVAL);
	assert_non_null(strstr(err.msg, "policy"));
}

/* ---------------------------------------------------------------- time */

static void test_time_parse(void **state)
{
	ward_error_t err = { 0 };
	int64_t t;
	char buf[32];
	(void)state;

	assert_int_equal(ward_rule_time_parse("7d", NOW, &t, &err), WARD_OK);
	assert_int_equal(t, NOW + 7 * 86400);
	assert_int_equal(ward_rule_time_parse("90s", NOW, &t, &err), WARD_OK);
	assert_int_equal(t, NOW + 90);
	assert_int_equal(ward_rule_time_parse("2w", NOW, &t, &err), WARD_OK);
	assert_int_equal(t, NOW + 14 * 86400);
	assert_int_equal(ward_rule_time_parse("2026-12-31", NOW, &t, &err), WARD_OK);
	assert_int_equal(t, 1798675200);
	assert_int_equal(ward_rule_time_parse("2026-12-31T00:00:00Z", NOW, &t, &err), WARD_OK);
	assert_int_equal(t, 1798675200);
	assert_int_equal(ward_rule_time_parse("2026-12-31T02:00:00+02:00", NOW, &t, &err), WARD_OK);
	assert_int_equal(t, 1798675200);
	assert_int_equal(ward_rule_time_parse("2026-12-30T19:00-0500", NOW, &t, &err), WARD_OK);
	assert_int_equal(t, 1798675200);
	ward_rule_time_format(1798675200, buf);
	assert_string_equal(buf, "2026-12-31T00:00:00Z");

	assert_int_equal(ward_rule_time_parse("0d", NOW, &t, &err), WARD_E_INVAL);
	assert_int_equal(ward_rule_time_parse("7", NOW, &t, &err), WARD_E_INVAL);
	assert_int_equal(ward_rule_time_parse("7x", NOW, &t, &err), WARD_E_INVAL);
	assert_int_equal(ward_rule_time_parse("-7d", NOW, &t, &err), WARD_E_INVAL);
	assert_int_equal(ward_rule_time_parse("99999999999d", NOW, &t, &err), WARD_E_INVAL);
	assert_int_equal(ward_rule_time_parse("2026-02-30", NOW, &t, &err), WARD_E_INVAL);
	assert_int_equal(ward_rule_time_parse("2026-13-01", NOW, &t, &err), WARD_E_INVAL);
	assert_int_equal(ward_rule_time_parse("2026-12-31T00:00:00", NOW, &t, &err), WARD_E_INVAL);
	assert_non_null(strstr(err.msg, "zone"));
	assert_int_equal(ward_rule_time_parse("2026-12-31T25:00:00Z", NOW, &t, &err), WARD_E_INVAL);
	assert_int_equal(ward_rule_time_parse("2026-12-31Tjunk", NOW, &t, &err), WARD_E_INVAL);
	assert_int_equal(ward_rule_time_parse("", NOW, &t, &err), WARD_E_INVAL);
}

/* ---------------------------------------------------------------- match key */

static void signed_slice(ward_slice_t *s, const char *arch, uint8_t fill)
{
	memset(s, 0, sizeof(*s));
	strcpy(s->arch, arch);
	s->status = WARD_SIG_SIGNED;
	s->has_cdhash = true;
	memset(s->cdhash, fill, sizeof(s->cdhash));
	strcpy(s->team_id, TEAM_A);
	strcpy(s->signing_id, "com.example.tool");
	s->has_cert = true;
	memset(s->cert_sha256, fill, sizeof(s->cert_sha256));
}

static void test_match_key_from_identity(void **state)
{
	ward_identity_t id;
	ward_match_key_t k, keys[WARD_MAX_SLICES];
	(void)state;

	/* ELF: only the SHA-256. */
	memset(&id, 0, sizeof(id));
	id.type = WARD_FT_ELF;
	id.has_sha256 = true;
	assert_true(ward_hex_decode(SHA_A, id.sha256, WARD_SHA256_LEN));
	assert_int_equal(ward_match_keys_from_identity(&id, keys), 1);
	k = keys[0];
	assert_string_equal(k.sha256, SHA_A);
	assert_string_equal(k.cdhash, "");
	assert_string_equal(k.team_id, "");
	assert_string_equal(k.signing_id, "");

	/* Fat binary: one key per slice, in the file's order, each with the file's SHA-256;
	 * no slice is "the" identity. */
	id.type = WARD_FT_FAT;
	id.nslices = 2;
	signed_slice(&id.slices[0], "x86_64", 0x11);
	signed_slice(&id.slices[1], "arm64", 0x22);
	assert_int_equal(ward_match_keys_from_identity(&id, keys), 2);
	assert_string_equal(keys[0].cdhash, "1111111111111111111111111111111111111111");
	assert_string_equal(keys[1].cdhash, "2222222222222222222222222222222222222222");
	assert_string_equal(keys[0].sha256, SHA_A);
	assert_string_equal(keys[1].sha256, SHA_A);
	/* What both share names the whole file; a CDHash never does. */
	ward_match_key_common(keys, 2, &k);
	assert_string_equal(k.cdhash, "");
	assert_string_equal(k.certificate, "");
	assert_string_equal(k.team_id, TEAM_A);
	assert_string_equal(k.signing_id, SID_A);
	assert_string_equal(k.sha256, SHA_A);
	/* WARD_NO_SLICE (or an index past the slices): the SHA-256 alone. */
	ward_match_key_from_slice(&id, WARD_NO_SLICE, &k);
	assert_string_equal(k.sha256, SHA_A);
	assert_string_equal(k.cdhash, "");
	ward_match_key_from_slice(&id, 2, &k);
	assert_string_equal(k.team_id, "");
	ward_match_key_from_slice(&id, 1, &k);
	assert_string_equal(k.cdhash, "2222222222222222222222222222222222222222");
	assert_string_equal(k.certificate, "2222222222222222222222222222222222222222222222222222222222222222");
	assert_string_equal(k.team_id, TEAM_A);
	assert_string_equal(k.signing_id, SID_A);

	/* Ad hoc: the CDHash names it, nothing else does. */
	id.slices[1].status = WARD_SIG_ADHOC;
	ward_match_key_from_slice(&id, 1, &k);
	assert_string_equal(k.cdhash, "2222222222222222222222222222222222222222");
	assert_string_equal(k.team_id, "");
	assert_string_equal(k.signing_id, "");
	assert_string_equal(k.certificate, "");

	/* A broken signature vouches for nothing. */
	id.slices[1].status = WARD_SIG_INVALID;
	ward_match_key_from_slice(&id, 1, &k);
	assert_string_equal(k.cdhash, "");
	assert_string_equal(k.team_id, "");
	assert_string_equal(k.sha256, SHA_A);

	/* No team ID: the signing ID cannot be scoped, so it is not a key (no "platform:"
	 * without the kernel's word). A team ID not of rule form is not a key either. */
	id.slices[1].status = WARD_SIG_SIGNED;
	id.slices[1].team_id[0] = '\0';
	ward_match_key_from_slice(&id, 1, &k);
	assert_string_equal(k.signing_id, "");
	assert_string_equal(k.team_id, "");
	assert_string_not_equal(k.cdhash, "");
	strcpy(id.slices[1].team_id, "eqhxz8m8av");
	ward_match_key_from_slice(&id, 1, &k);
	assert_string_equal(k.team_id, "");
	assert_string_equal(k.signing_id, "");
	strcpy(id.slices[1].team_id, TEAM_A);
	strcpy(id.slices[1].signing_id, "com.evil tool");
	ward_match_key_from_slice(&id, 1, &k);
	assert_string_equal(k.team_id, TEAM_A);
	assert_string_equal(k.signing_id, "");
}

/* A real Developer ID signed Mach-O (tests/fixtures/README.md: team 97JCY7859U): the
 * key carries its team, its team-scoped signing ID, CDHash, certificate and SHA-256. */
static void test_match_key_from_signed_macho(void **state)
{
	ward_identity_t id;
	ward_match_key_t k, keys[WARD_MAX_SLICES];
	ward_error_t err = { 0 };
	(void)state;

	if (ward_identity_read_path(FIXTURES "/sentry-cli-2.43.0-arm64", WARD_ID_SHA256, &id, &err) != WARD_OK)
		fail_msg("identity: %s", err.msg);
	assert_int_equal(ward_match_keys_from_identity(&id, keys), 1);
	k = keys[0];
	assert_string_equal(k.team_id, "97JCY7859U");
	assert_string_equal(k.signing_id, "97JCY7859U:sentry_cli-15e6857c8fd52f9f");
	assert_int_equal(strlen(k.cdhash), 40);
	assert_int_equal(strlen(k.certificate), 64);
	assert_int_equal(strlen(k.sha256), 64);
	/* Ad hoc, two slices: a key each; no team, so no signing ID key. */
	if (ward_identity_read_path(FIXTURES "/go-hello-fat", WARD_ID_SHA256, &id, &err) != WARD_OK)
		fail_msg("identity: %s", err.msg);
	assert_int_equal(ward_match_keys_from_identity(&id, keys), 2);
	assert_string_equal(keys[0].cdhash, "9d4a1e2efe83d8a9bbe984f252e46266c737fb64");
	assert_string_equal(keys[1].cdhash, "4da97f08758084784a8c8a133742ec5c2ff332c3");
	assert_string_equal(keys[0].team_id, "");
	assert_string_equal(keys[1].signing_id, "");
	/* Two slices signed by one team (Microsoft's, tests/fixtures/README.md): the team
	 * and signing ID are shared, the CDHashes are not. */
	if (ward_identity_read_path(FIXTURES "/msal-node-runtime-0.20.7-fat.node", WARD_ID_SHA256, &id,
	                            &err) != WARD_OK)
		fail_msg("identity: %s", err.msg);
	assert_int_equal(ward_match_keys_from_identity(&id, keys), 2);
	assert_string_equal(keys[0].cdhash, MSAL_ARM64_CDH);
	assert_string_equal(keys[1].cdhash, MSAL_X86_CDH);
	assert_string_equal(keys[0].team_id, "UBF8T346G9");
	assert_string_equal(keys[1].team_id, "UBF8T346G9");
	assert_string_equal(keys[1].signing_id, "UBF8T346G9:msal-node-runtime");
	assert_string_equal(keys[0].certificate, keys[1].certificate);
}

/* ---------------------------------------------------------------- universal binaries */

/* Rules on the msal universal fixture's identities: each slice's result, and the file's. */
static void fat_match(ward_store_t *st, ward_file_match_t *m, ward_index_t **ix)
{
	ward_identity_t id;
	ward_match_key_t keys[WARD_MAX_SLICES];
	ward_error_t err = { 0 };
	unsigned n;

	if (ward_identity_read_path(FIXTURES "/msal-node-runtime-0.20.7-fat.node", WARD_ID_SHA256, &id,
	                            &err) != WARD_OK)
		fail_msg("identity: %s", err.msg);
	n = ward_match_keys_from_identity(&id, keys);
	ward_index_free(*ix);
	*ix = build(st);
	ward_index_match_keys(*ix, keys, n, NOW, m);
	/* The snapshot of the file's rules alone must say the same. */
	{
		ward_index_t *few = NULL;
		ward_file_match_t m2;
		if (ward_index_build_for_keys(st, keys, n, &few, &err) != WARD_OK)
			fail_msg("build for keys: %s", err.msg);
		ward_index_match_keys(few, keys, n, NOW, &m2);
		assert_int_equal(m2.decisive, m->decisive);
		assert_int_equal(m2.rule == NULL, m->rule == NULL);
		if (m->rule)
			assert_string_equal(m2.rule->identifier, m->rule->identifier);
		ward_index_free(few);
	}
}

/* The issue this answers: the x86_64 slice's CDHash blocked, the team allowed. An Intel
 * Mac would block the file; so must the file's answer, whichever slice is listed first. */
static void test_fat_most_restrictive_slice(void **state)
{
	ward_store_t *st = mem_store();
	ward_index_t *ix = NULL;
	ward_file_match_t m;
	(void)state;

	put(st, WARD_RT_TEAMID, "UBF8T346G9", WARD_POL_ALLOWLIST, WARD_SRC_LOCAL, 0);
	fat_match(st, &m, &ix);
	assert_int_equal(m.n, 2);
	assert_non_null(m.rule);
	assert_int_equal(m.rule->policy, WARD_POL_ALLOWLIST); /* both slices allowed */
	assert_false(m.expiring);

	put(st, WARD_RT_CDHASH, MSAL_X86_CDH, WARD_POL_BLOCKLIST, WARD_SRC_LOCAL, 0);
	fat_match(st, &m, &ix);
	assert_int_equal(m.decisive, 1);
	assert_int_equal(m.rule->type, WARD_RT_CDHASH);
	assert_int_equal(m.rule->policy, WARD_POL_BLOCKLIST);
	assert_int_equal(m.each[0]->type, WARD_RT_TEAMID);   /* arm64 alone: allowed */
	assert_int_equal(m.each[0]->policy, WARD_POL_ALLOWLIST);

	/* No rule for one slice beats an allow for the other (LOCKDOWN denies it). */
	ward_store_remove(st, WARD_RT_CDHASH, MSAL_X86_CDH, WARD_SRC_LOCAL, NULL);
	ward_store_remove(st, WARD_RT_TEAMID, "UBF8T346G9", WARD_SRC_LOCAL, NULL);
	put(st, WARD_RT_CDHASH, MSAL_ARM64_CDH, WARD_POL_ALLOWLIST, WARD_SRC_LOCAL, 0);
	fat_match(st, &m, &ix);
	assert_null(m.rule);
	assert_int_equal(m.decisive, 1);
	assert_non_null(m.each[0]);

	/* A silent block and a block: the user is told. A block beats no rule. */
	put(st, WARD_RT_CDHASH, MSAL_ARM64_CDH, WARD_POL_SILENT_BLOCKLIST, WARD_SRC_LOCAL, 0);
	put(st, WARD_RT_CDHASH, MSAL_X86_CDH, WARD_POL_BLOCKLIST, WARD_SRC_LOCAL, 0);
	fat_match(st, &m, &ix);
	assert_int_equal(m.rule->policy, WARD_POL_BLOCKLIST);
	assert_int_equal(m.decisive, 1);
	ward_store_remove(st, WARD_RT_CDHASH, MSAL_X86_CDH, WARD_SRC_LOCAL, NULL);
	fat_match(st, &m, &ix);
	assert_int_equal(m.rule->policy, WARD_POL_SILENT_BLOCKLIST);
	assert_int_equal(m.decisive, 0);

	/* An allow and a compiler allow: the file is allowed, not a compiler. */
	put(st, WARD_RT_CDHASH, MSAL_ARM64_CDH, WARD_POL_ALLOWLIST_COMPILER, WARD_SRC_LOCAL, 0);
	put(st, WARD_RT_CDHASH, MSAL_X86_CDH, WARD_POL_ALLOWLIST, WARD_SRC_LOCAL, 0);
	fat_match(st, &m, &ix);
	assert_int_equal(m.rule->policy, WARD_POL_ALLOWLIST);
	assert_int_equal(m.decisive, 1);

	/* Ties go to the stronger rule type: both blocked, by TEAMID and by CDHASH. */
	put(st, WARD_RT_CDHASH, MSAL_ARM64_CDH, WARD_POL_BLOCKLIST, WARD_SRC_LOCAL, 0);
	ward_store_remove(st, WARD_RT_CDHASH, MSAL_X86_CDH, WARD_SRC_LOCAL, NULL);
	put(st, WARD_RT_TEAMID, "UBF8T346G9", WARD_POL_BLOCKLIST, WARD_SRC_LOCAL, 0);
	fat_match(st, &m, &ix);
	assert_int_equal(m.rule->type, WARD_RT_CDHASH);
	assert_int_equal(m.decisive, 0);
	assert_int_equal(m.each[1]->type, WARD_RT_TEAMID);

	/* An expiring rule on any slice: an allow of the file may end with it. */
	ward_store_remove(st, WARD_RT_TEAMID, "UBF8T346G9", WARD_SRC_LOCAL, NULL);
	put(st, WARD_RT_CDHASH, MSAL_ARM64_CDH, WARD_POL_ALLOWLIST, WARD_SRC_LOCAL, 0);
	put(st, WARD_RT_CDHASH, MSAL_X86_CDH, WARD_POL_ALLOWLIST, WARD_SRC_LOCAL, NOW + 60);
	fat_match(st, &m, &ix);
	assert_int_equal(m.rule->policy, WARD_POL_ALLOWLIST);
	assert_true(m.expiring);

	/* No index at all: no rule for any key. */
	ward_index_match_keys(NULL, NULL, 0, NOW, &m);
	assert_int_equal(m.n, 0);
	assert_null(m.rule);
	ward_index_free(ix);
	ward_store_close(st);
}

/* ---------------------------------------------------------------- precedence */

static void test_blocked_cdhash_beats_allowed_teamid(void **state)
{
	ward_store_t *st = mem_store();
	ward_match_key_t k = full_key();
	ward_index_t *ix;
	const ward_rule_t *r;
	(void)state;

	put(st, WARD_RT_TEAMID, TEAM_A, WARD_POL_ALLOWLIST, WARD_SRC_LOCAL, 0);
	put(st, WARD_RT_CDHASH, CDH_A, WARD_POL_BLOCKLIST, WARD_SRC_LOCAL, 0);
	ix = build(st);
	r = ward_index_match(ix, &k, NOW);
	assert_non_null(r);
	assert_int_equal(r->type, WARD_RT_CDHASH);
	assert_int_equal(r->policy, WARD_POL_BLOCKLIST);
	assert_true(ward_policy_blocks(r->policy));
	ward_index_free(ix);
	ward_store_close(st);
}

static void test_allowed_cdhash_beats_blocked_teamid(void **state)
{
	ward_store_t *st = mem_store();
	ward_match_key_t k = full_key();
	ward_index_t *ix;
	const ward_rule_t *r;
	(void)state;

	put(st, WARD_RT_TEAMID, TEAM_A, WARD_POL_BLOCKLIST, WARD_SRC_LOCAL, 0);
	put(st, WARD_RT_CDHASH, CDH_A, WARD_POL_ALLOWLIST, WARD_SRC_LOCAL, 0);
	ix = build(st);
	r = ward_index_match(ix, &k, NOW);
	assert_non_null(r);
	assert_int_equal(r->type, WARD_RT_CDHASH);
	assert_int_equal(r->policy, WARD_POL_ALLOWLIST);
	/* Without the CDHash the team rule decides. */
	k.cdhash[0] = '\0';
	r = ward_index_match(ix, &k, NOW);
	assert_non_null(r);
	assert_int_equal(r->type, WARD_RT_TEAMID);
	assert_int_equal(r->policy, WARD_POL_BLOCKLIST);
	ward_index_free(ix);
	ward_store_close(st);
}

/* With a rule on every identity, taking the winner away hands the decision to the next
 * type, in exactly the documented order. */
static void test_full_precedence_order(void **state)
{
	ward_store_t *st = mem_store();
	ward_match_key_t k = full_key();
	const char *ids[WARD_RT__COUNT] = { CDH_A, SHA_A, SID_A, CERT_A, TEAM_A };
	(void)state;

	for (int t = WARD_RT__COUNT - 1; t >= 0; t--)
		put(st, (ward_rule_type_t)t, ids[t], t % 2 ? WARD_POL_BLOCKLIST : WARD_POL_ALLOWLIST,
		    WARD_SRC_LOCAL, 0);
	for (int t = 0; t < WARD_RT__COUNT; t++) {
		ward_index_t *ix = build(st);
		const ward_rule_t *r = ward_index_match(ix, &k, NOW);
		ward_error_t err = { 0 };
		assert_non_null(r);
		assert_int_equal(r->type, t);
		assert_string_equal(r->identifier, ids[t]);
		assert_int_equal(r->policy, t % 2 ? WARD_POL_BLOCKLIST : WARD_POL_ALLOWLIST);
		ward_index_free(ix);
		assert_int_equal(ward_store_remove(st, (ward_rule_type_t)t, ids[t], WARD_SRC_LOCAL, &err), WARD_OK);
	}
	{
		ward_index_t *ix = build(st);
		assert_null(ward_index_match(ix, &k, NOW));
		assert_int_equal(ward_index_count(ix), 0);
		ward_index_free(ix);
	}
	ward_store_close(st);
}

static void test_expiry(void **state)
{
	ward_store_t *st = mem_store();
	ward_match_key_t k = full_key();
	ward_index_t *ix;
	const ward_rule_t *r;
	(void)state;

	put(st, WARD_RT_BINARY, SHA_A, WARD_POL_ALLOWLIST, WARD_SRC_LOCAL, NOW + 100);
	put(st, WARD_RT_TEAMID, TEAM_A, WARD_POL_BLOCKLIST, WARD_SRC_LOCAL, 0);
	put(st, WARD_RT_CDHASH, CDH_A, WARD_POL_ALLOWLIST, WARD_SRC_LOCAL, NOW - 1);
	ix = build(st);
	/* The CDHash rule has expired: it never matches, the BINARY rule does... */
	r = ward_index_match(ix, &k, NOW);
	assert_non_null(r);
	assert_int_equal(r->type, WARD_RT_BINARY);
	assert_int_equal(r->expires_at, NOW + 100);
	r = ward_index_match(ix, &k, NOW + 99);
	assert_int_equal(r->type, WARD_RT_BINARY);
	/* ...until it expires too (at expires_at exactly), then the team rule blocks. */
	r = ward_index_match(ix, &k, NOW + 100);
	assert_non_null(r);
	assert_int_equal(r->type, WARD_RT_TEAMID);
	assert_int_equal(r->policy, WARD_POL_BLOCKLIST);
	/* Earliest future expiry, for cache flushing. */
	assert_int_equal(ward_index_next_expiry(ix, NOW - 10), NOW - 1);
	assert_int_equal(ward_index_next_expiry(ix, NOW), NOW + 100);
	assert_int_equal(ward_index_next_expiry(ix, NOW + 100), 0);
	ward_index_free(ix);
	ward_store_close(st);
}

static void test_managed_beats_local(void **state)
{
	ward_match_key_t k;
	(void)state;

	memset(&k, 0, sizeof(k));
	strcpy(k.team_id, TEAM_A);
	/* Whichever is written first, the profile rule wins for the same identifier. */
	for (int order = 0; order < 2; order++) {
		ward_store_t *st = mem_store();
		ward_index_t *ix;
		const ward_rule_t *r;
		ward_error_t err = { 0 };
		if (order == 0) {
			put(st, WARD_RT_TEAMID, TEAM_A, WARD_POL_BLOCKLIST, WARD_SRC_PROFILE, NOW + 50);
			put(st, WARD_RT_TEAMID, TEAM_A, WARD_POL_ALLOWLIST, WARD_SRC_LOCAL, 0);
		} else {
			put(st, WARD_RT_TEAMID, TEAM_A, WARD_POL_ALLOWLIST, WARD_SRC_LOCAL, 0);
			put(st, WARD_RT_TEAMID, TEAM_A, WARD_POL_BLOCKLIST, WARD_SRC_PROFILE, NOW + 50);
		}
		ix = build(st);
		assert_int_equal(ward_index_count(ix), 2);
		r = ward_index_match(ix, &k, NOW);
		assert_non_null(r);
		assert_int_equal(r->source, WARD_SRC_PROFILE);
		assert_int_equal(r->policy, WARD_POL_BLOCKLIST);
		/* An expired managed rule steps aside for the local one. */
		r = ward_index_match(ix, &k, NOW + 50);
		assert_non_null(r);
		assert_int_equal(r->source, WARD_SRC_LOCAL);
		assert_int_equal(r->policy, WARD_POL_ALLOWLIST);
		ward_index_free(ix);
		/* Removing the local rule leaves the managed one. */
		assert_int_equal(ward_store_remove(st, WARD_RT_TEAMID, TEAM_A, WARD_SRC_LOCAL, &err), WARD_OK);
		ix = build(st);
		r = ward_index_match(ix, &k, NOW);
		assert_non_null(r);
		assert_int_equal(r->source, WARD_SRC_PROFILE);
		ward_index_free(ix);
		ward_store_close(st);
	}
}

/* Managed beats local only for the same identifier: a local CDHash rule still beats a
 * managed team ID rule, since precedence between types comes first. */
static void test_type_precedence_before_source(void **state)
{
	ward_store_t *st = mem_store();
	ward_match_key_t k = full_key();
	ward_index_t *ix;
	const ward_rule_t *r;
	(void)state;

	put(st, WARD_RT_TEAMID, TEAM_A, WARD_POL_BLOCKLIST, WARD_SRC_PROFILE, 0);
	put(st, WARD_RT_CDHASH, CDH_A, WARD_POL_ALLOWLIST, WARD_SRC_LOCAL, 0);
	ix = build(st);
	r = ward_index_match(ix, &k, NOW);
	assert_non_null(r);
	assert_int_equal(r->type, WARD_RT_CDHASH);
	assert_int_equal(r->source, WARD_SRC_LOCAL);
	ward_index_free(ix);
	ward_store_close(st);
}

/* Many rules: every stored identifier is found with its own policy, nothing else
 * matches, and a key of one type never matches a rule of another. */
static void test_index_many_rules(void **state)
{
	enum { N = 20000 };
	ward_store_t *st = mem_store();
	ward_rule_t *rules = calloc(N, sizeof(*rules));
	char (*ids)[65] = calloc(N, sizeof(*ids));
	ward_error_t err = { 0 };
	ward_index_t *ix;
	uint64_t gen;
	(void)state;

	assert_non_null(rules);
	assert_non_null(ids);
	for (int i = 0; i < N; i++) {
		snprintf(ids[i], sizeof(ids[i]), "%064x", i * 2654435761u);
		rules[i] = (ward_rule_t){ .type = WARD_RT_BINARY, .identifier = ids[i],
		                          .policy = i % 3 ? WARD_POL_ALLOWLIST : WARD_POL_BLOCKLIST,
		                          .source = WARD_SRC_IMPORT };
	}
	assert_int_equal(ward_store_apply(st, rules, N, NULL, &err), WARD_OK);
	ix = build(st);
	assert_int_equal(ward_index_count(ix), N);
	assert_int_equal(ward_store_generation(st, &gen, &err), WARD_OK);
	assert_int_equal(ward_index_generation(ix), gen);
	for (int i = 0; i < N; i++) {
		ward_match_key_t k;
		const ward_rule_t *r;
		memset(&k, 0, sizeof(k));
		strcpy(k.sha256, ids[i]);
		r = ward_index_match(ix, &k, NOW);
		assert_non_null(r);
		assert_string_equal(r->identifier, ids[i]);
		assert_int_equal(r->policy, i % 3 ? WARD_POL_ALLOWLIST : WARD_POL_BLOCKLIST);
		/* The same string as a certificate hash is a different key. */
		memset(&k, 0, sizeof(k));
		strcpy(k.certificate, ids[i]);
		assert_null(ward_index_match(ix, &k, NOW));
		/* A near miss does not match. */
		memset(&k, 0, sizeof(k));
		strcpy(k.sha256, ids[i]);
		k.sha256[63] = k.sha256[63] == 'f' ? 'e' : 'f';
		r = ward_index_match(ix, &k, NOW);
		if (r != NULL)
			assert_string_equal(r->identifier, k.sha256);
	}
	ward_index_free(ix);
	free(ids);
	free(rules);
	ward_store_close(st);
}

static void test_index_for_key_agrees(void **state)
{
	ward_store_t *st = mem_store();
	ward_match_key_t k = full_key(), other;
	ward_index_t *all, *one;
	ward_error_t err = { 0 };
	(void)state;

	put(st, WARD_RT_TEAMID, TEAM_A, WARD_POL_ALLOWLIST, WARD_SRC_LOCAL, 0);
	put(st, WARD_RT_TEAMID, TEAM_B, WARD_POL_BLOCKLIST, WARD_SRC_LOCAL, 0);
	put(st, WARD_RT_SIGNINGID, SID_A, WARD_POL_BLOCKLIST, WARD_SRC_PROFILE, 0);
	put(st, WARD_RT_SIGNINGID, SID_A, WARD_POL_ALLOWLIST, WARD_SRC_LOCAL, 0);
	all = build(st);
	assert_int_equal(ward_index_build_for_key(st, &k, &one, &err), WARD_OK);
	assert_int_equal(ward_index_count(one), 3); /* not TEAM_B */
	assert_ptr_not_equal(ward_index_match(all, &k, NOW), NULL);
	assert_int_equal(ward_index_match(all, &k, NOW)->policy, ward_index_match(one, &k, NOW)->policy);
	assert_int_equal(ward_index_match(one, &k, NOW)->source, WARD_SRC_PROFILE);
	ward_index_free(one);
	memset(&other, 0, sizeof(other));
	assert_int_equal(ward_index_build_for_key(st, &other, &one, &err), WARD_OK);
	assert_int_equal(ward_index_count(one), 0);
	assert_null(ward_index_match(one, &k, NOW));
	ward_index_free(one);
	ward_index_free(all);
	ward_store_close(st);
}

/* ---------------------------------------------------------------- Santa JSON */

static char *export_string(ward_store_t *st, size_t *count)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	ward_error_t err = { 0 };

	assert_non_null(f);
	if (ward_santa_json_export(st, f, count, &err) != WARD_OK)
		fail_msg("export: %s", err.msg);
	fclose(f);
	return buf;
}

static void test_santa_import_export_round_trip(void **state)
{
	ward_store_t *a = mem_store(), *b = mem_store();
	ward_apply_stats_t stats;
	ward_error_t err = { 0 };
	ward_match_key_t k;
	ward_index_t *ix;
	const ward_rule_t *r;
	char *first, *second, *golden;
	size_t n1, n2, glen;
	(void)state;

	if (ward_santa_json_import_file(a, FIXTURES "/rules/santa_rules.json", WARD_SRC_IMPORT,
	                                "test", &stats, &err) != WARD_OK)
		fail_msg("import: %s", err.msg);
	assert_int_equal(stats.put, 8);

	/* What Santa's fields became. */
	ix = build(a);
	memset(&k, 0, sizeof(k));
	strcpy(k.sha256, SHA_A); /* given uppercase */
	r = ward_index_match(ix, &k, NOW);
	assert_non_null(r);
	assert_int_equal(r->policy, WARD_POL_BLOCKLIST);
	assert_string_equal(r->custom_msg, "/bin/ls block for demo");
	assert_int_equal(r->source, WARD_SRC_IMPORT);
	assert_string_equal(r->created_by, "test");
	memset(&k, 0, sizeof(k));
	strcpy(k.certificate, CERT_A); /* the old "sha256" key, policy WHITELIST */
	r = ward_index_match(ix, &k, NOW);
	assert_non_null(r);
	assert_int_equal(r->policy, WARD_POL_ALLOWLIST);
	assert_string_equal(r->custom_msg, "");
	memset(&k, 0, sizeof(k));
	strcpy(k.signing_id, TEAM_B ":com.microsoft.VSCode"); /* lowercase team in the file */
	r = ward_index_match(ix, &k, NOW);
	assert_non_null(r);
	assert_int_equal(r->policy, WARD_POL_ALLOWLIST_COMPILER);
	memset(&k, 0, sizeof(k));
	strcpy(k.cdhash, "dbe8c3926ba8ba5ea1b5cba6d2a6c1f04f0b3a7e"); /* capitalised keys */
	r = ward_index_match(ix, &k, NOW);
	assert_non_null(r);
	assert_int_equal(r->policy, WARD_POL_BLOCKLIST);
	assert_string_equal(r->custom_url, "https://help.example.com/blocked?id=%file_sha%");
	memset(&k, 0, sizeof(k));
	strcpy(k.team_id, "9Y6P2QKP8R");
	r = ward_index_match(ix, &k, NOW);
	assert_non_null(r);
	assert_int_equal(r->policy, WARD_POL_SILENT_BLOCKLIST);
	assert_string_equal(r->custom_msg, "caf\xc3\xa9 \"quoted\" \\ backslash");
	memset(&k, 0, sizeof(k));
	strcpy(k.sha256, "0000000000000000000000000000000000000000000000000000000000000001");
	r = ward_index_match(ix, &k, NOW);
	assert_non_null(r);
	assert_int_equal(r->expires_at, 4070908800); /* 2099-01-01 */
	ward_index_free(ix);

	/* Export matches the golden file, and re-importing the export gives it again. */
	first = export_string(a, &n1);
	assert_int_equal(n1, 8);
	golden = (char *)tu_slurp(FIXTURES "/rules/santa_rules.expected.json", &glen);
	golden[glen] = '\0';
	assert_string_equal(first, golden);
	assert_int_equal(ward_santa_json_import(b, first, strlen(first), WARD_SRC_IMPORT, "test",
	                                        &stats, &err), WARD_OK);
	second = export_string(b, &n2);
	assert_int_equal(n2, 8);
	assert_string_equal(first, second);
	free(golden);
	free(first);
	free(second);
	ward_store_close(a);
	ward_store_close(b);
}

static void test_export_leaves_out_managed_rules(void **state)
{
	ward_store_t *st = mem_store();
	size_t n;
	char *s;
	(void)state;

	put(st, WARD_RT_TEAMID, TEAM_A, WARD_POL_BLOCKLIST, WARD_SRC_PROFILE, 0);
	put(st, WARD_RT_TEAMID, TEAM_B, WARD_POL_ALLOWLIST, WARD_SRC_TRANSITIVE, 0);
	s = export_string(st, &n);
	assert_int_equal(n, 0);
	assert_string_equal(s, "{\n  \"rules\": []\n}\n");
	free(s);
	put(st, WARD_RT_TEAMID, TEAM_A, WARD_POL_ALLOWLIST, WARD_SRC_LOCAL, 0);
	s = export_string(st, &n);
	assert_int_equal(n, 1);
	assert_non_null(strstr(s, "\"ALLOWLIST\""));
	assert_null(strstr(s, "BLOCKLIST"));
	free(s);
	ward_store_close(st);
}

/* A bad file changes nothing: the error names the rule and field, the store keeps its
 * rules and its generation. */
static void expect_import_fails(const char *json, ward_err_t code, const char *msg_part)
{
	ward_store_t *st = mem_store();
	ward_error_t err = { 0 };
	uint64_t g0, g1;
	size_t n;

	put(st, WARD_RT_TEAMID, TEAM_A, WARD_POL_BLOCKLIST, WARD_SRC_LOCAL, 0);
	assert_int_equal(ward_store_generation(st, &g0, &err), WARD_OK);
	if (ward_santa_json_import(st, json, strlen(json), WARD_SRC_IMPORT, "t", NULL, &err) != code)
		fail_msg("import of %s: expected %s, got %s (%s)", json, ward_strerror(code),
		         ward_strerror(err.code), err.msg);
	if (msg_part && strstr(err.msg, msg_part) == NULL)
		fail_msg("error '%s' does not say '%s'", err.msg, msg_part);
	assert_int_equal(ward_store_generation(st, &g1, &err), WARD_OK);
	assert_int_equal(g0, g1);
	assert_int_equal(ward_store_count(st, &n, &err), WARD_OK);
	assert_int_equal(n, 1);
	ward_store_close(st);
}

#define OK_RULE "{\"identifier\":\"" TEAM_B "\",\"policy\":\"ALLOWLIST\",\"rule_type\":\"TEAMID\"}"

static void test_santa_import_rejects(void **state)
{
	(void)state;
	expect_import_fails("", WARD_E_MALFORMED, "not valid JSON");
	expect_import_fails("{\"rules\":[", WARD_E_MALFORMED, "line 1");
	expect_import_fails("[" OK_RULE "]", WARD_E_MALFORMED, "\"rules\" array");
	expect_import_fails("{\"rules\":{}}", WARD_E_MALFORMED, "\"rules\" array");
	expect_import_fails("{\"rules\":[" OK_RULE ",42]}", WARD_E_MALFORMED, "rules[1]: not an object");
	expect_import_fails("{\"rules\":[" OK_RULE ",{\"identifier\":\"" TEAM_A "\",\"policy\":\"ALLOW\","
	                    "\"rule_type\":\"TEAMID\"}]}", WARD_E_INVAL, "rules[1].policy");
	expect_import_fails("{\"rules\":[{\"identifier\":\"" TEAM_A "\",\"policy\":\"ALLOWLIST\","
	                    "\"rule_type\":\"PATH\"}]}", WARD_E_INVAL, "rules[0].rule_type");
	expect_import_fails("{\"rules\":[{\"identifier\":\"" TEAM_A "\",\"policy\":\"ALLOWLIST\"}]}",
	                    WARD_E_INVAL, "rules[0].rule_type: missing");
	expect_import_fails("{\"rules\":[{\"policy\":\"ALLOWLIST\",\"rule_type\":\"TEAMID\"}]}",
	                    WARD_E_INVAL, "rules[0].identifier: missing");
	expect_import_fails("{\"rules\":[" OK_RULE ",{\"identifier\":\"abc\",\"policy\":\"ALLOWLIST\","
	                    "\"rule_type\":\"BINARY\"}]}", WARD_E_INVAL, "rules[1].identifier");
	expect_import_fails("{\"rules\":[{\"identifier\":\"" TEAM_A "\",\"policy\":\"ALLOWLIST\","
	                    "\"rule_type\":\"TEAMID\",\"custom_msg\":7}]}", WARD_E_MALFORMED,
	                    "rules[0].custom_msg");
	expect_import_fails("{\"rules\":[{\"identifier\":\"" TEAM_A "\",\"policy\":\"ALLOWLIST\","
	                    "\"rule_type\":\"TEAMID\",\"expires_at\":\"7d\"}]}", WARD_E_INVAL,
	                    "rules[0].expires_at");
	expect_import_fails("{\"rules\":[{\"identifier\":\"" TEAM_A "\",\"Identifier\":\"" TEAM_B "\","
	                    "\"policy\":\"ALLOWLIST\",\"rule_type\":\"TEAMID\"}]}", WARD_E_MALFORMED,
	                    "given twice");
	expect_import_fails("{\"rules\":[" OK_RULE "],\"rules\":[]}", WARD_E_MALFORMED, NULL);
	/* Duplicates in one file, even spelt differently. */
	expect_import_fails("{\"rules\":[" OK_RULE ",{\"identifier\":\"ubf8t346g9\",\"policy\":\"BLOCKLIST\","
	                    "\"rule_type\":\"teamid\"}]}", WARD_E_EXISTS, "rules[1]");
}

static void test_santa_import_top_level(void **state)
{
	ward_store_t *st = mem_store();
	ward_apply_stats_t stats;
	ward_error_t err = { 0 };
	const char *other_keys =
		" {\"version\": 2, \"meta\": {\"a\": [1, {\"rules\": 3}]}, \"note\": \"x, }\\\"]\",\n"
		"  \"rules\": [ " OK_RULE " ] , \"flag\": true, \"n\": null, \"f\": -1.5e3 }\n ";
	(void)state;

	/* Keys other than "rules" are checked and ignored, wherever they are. */
	assert_int_equal(ward_santa_json_import(st, other_keys, strlen(other_keys), WARD_SRC_IMPORT,
	                                        "t", &stats, &err), WARD_OK);
	assert_int_equal(stats.put, 1);
	assert_int_equal(ward_santa_json_import(st, "{\"rules\":[]}", 12, WARD_SRC_IMPORT, "t", &stats,
	                                        &err), WARD_OK);
	assert_int_equal(stats.put, 0);
	ward_store_close(st);

	expect_import_fails("{}", WARD_E_MALFORMED, "\"rules\" array");
	expect_import_fails("{\"rules\":[]} x", WARD_E_MALFORMED, "end of file expected");
	expect_import_fails("{\"rules\":[]}}", WARD_E_MALFORMED, "end of file expected");
	expect_import_fails("{\"rules\":[" OK_RULE " " OK_RULE "]}", WARD_E_MALFORMED, "expected ','");
	expect_import_fails("{\"rules\":[" OK_RULE ",]}", WARD_E_MALFORMED, "rules[1]");
	expect_import_fails("{\"rules\":[" OK_RULE "],}", WARD_E_MALFORMED, "string key");
	expect_import_fails("{\"rules\" [" OK_RULE "]}", WARD_E_MALFORMED, "':'");
	expect_import_fails("{\"x\": tru, \"rules\":[]}", WARD_E_MALFORMED, "not valid JSON");
	expect_import_fails("{\"x\": \"open, \"rules\":[]}", WARD_E_MALFORMED, "not valid JSON");
	expect_import_fails("{\"rules\":\n[\n" OK_RULE ",\n{\"identifier\": }\n]}", WARD_E_MALFORMED,
	                    "line 4");
	expect_import_fails("{\"rules\":[[1]]}", WARD_E_MALFORMED, "rules[0]: not an object");
	expect_import_fails("{\"rules\":[" OK_RULE ",\"x\"]}", WARD_E_MALFORMED, "rules[1]: not an object");
	expect_import_fails("{\"rules\":[{\"identifier\":\"" TEAM_A "\",\"identifier\":\"" TEAM_B "\"}]}",
	                    WARD_E_MALFORMED, "duplicate");
}

static void test_santa_import_remove_and_replace(void **state)
{
	ward_store_t *st = mem_store();
	ward_apply_stats_t stats;
	ward_error_t err = { 0 };
	const char *json =
		"{\"rules\":[{\"identifier\":\"" TEAM_A "\",\"policy\":\"REMOVE\",\"rule_type\":\"TEAMID\"},"
		"{\"identifier\":\"" TEAM_B "\",\"policy\":\"REMOVE\",\"rule_type\":\"TEAMID\"},"
		"{\"identifier\":\"" SHA_A "\",\"policy\":\"ALLOWLIST\",\"rule_type\":\"BINARY\"}]}";
	ward_index_t *ix;
	ward_match_key_t k;
	size_t n;
	(void)state;

	put(st, WARD_RT_TEAMID, TEAM_A, WARD_POL_BLOCKLIST, WARD_SRC_LOCAL, 0);
	put(st, WARD_RT_BINARY, SHA_A, WARD_POL_BLOCKLIST, WARD_SRC_LOCAL, 0);
	assert_int_equal(ward_santa_json_import(st, json, strlen(json), WARD_SRC_IMPORT, "t", &stats,
	                                        &err), WARD_OK);
	assert_int_equal(stats.put, 1);
	assert_int_equal(stats.removed, 1);
	assert_int_equal(stats.absent, 1);
	assert_int_equal(ward_store_count(st, &n, &err), WARD_OK);
	assert_int_equal(n, 1);
	ix = build(st);
	memset(&k, 0, sizeof(k));
	strcpy(k.sha256, SHA_A);
	/* The import replaced the local rule of the same identifier: last writer wins. */
	assert_int_equal(ward_index_match(ix, &k, NOW)->policy, WARD_POL_ALLOWLIST);
	assert_int_equal(ward_index_match(ix, &k, NOW)->source, WARD_SRC_IMPORT);
	ward_index_free(ix);
	ward_store_close(st);
}

static void test_santa_import_file_limit(void **state)
{
	char path[] = "/tmp/warden-test-rules-XXXXXX";
	int fd = mkstemp(path);
	ward_store_t *st = mem_store();
	ward_error_t err = { 0 };
	(void)state;

	assert_true(fd >= 0);
	/* A sparse file one byte over the limit: refused before it is read. */
	assert_int_equal(ftruncate(fd, (off_t)WARD_MAX_IMPORT_BYTES + 1), 0);
	close(fd);
	assert_int_equal(ward_santa_json_import_file(st, path, WARD_SRC_IMPORT, "t", NULL, &err),
	                 WARD_E_LIMIT);
	assert_non_null(strstr(err.msg, path));
	unlink(path);
	assert_int_equal(ward_santa_json_import_file(st, path, WARD_SRC_IMPORT, "t", NULL, &err),
	                 WARD_E_IO);
	assert_non_null(strstr(err.msg, path));
	ward_store_close(st);
}

/* A CEL rule is refused by name (not imported, not an error); the other rules are. */
static void test_santa_import_refuses_cel_rules(void **state)
{
	ward_store_t *st = mem_store();
	ward_apply_stats_t stats;
	ward_error_t err = { 0 };
	const char *json = "{\"rules\":[" OK_RULE ","
	                   "{\"identifier\":\"platform:com.apple.ls\",\"policy\":\"CEL\",\"rule_type\":\"SIGNINGID\","
	                   "\"cel_expr\":\"args.size() > 1\"},"
	                   "{\"identifier\":\"" CERT_A "\",\"policy\":\"ALLOWLIST\",\"rule_type\":\"CERTIFICATE\","
	                   "\"CEL_Expr\":\"true\"},"
	                   "{\"identifier\":\"" SHA_A "\",\"policy\":\"BLOCKLIST\",\"rule_type\":\"BINARY\","
	                   "\"cel_expr\":\"\"}]}";

	(void)state;
	assert_int_equal(ward_santa_json_import(st, json, strlen(json), WARD_SRC_IMPORT, "t", &stats, &err),
	                 WARD_OK);
	assert_int_equal(stats.put, 2); /* OK_RULE and the rule with an empty cel_expr */
	assert_int_equal(stats.refused, 2);
	assert_non_null(strstr(stats.refused_names, "SIGNINGID platform:com.apple.ls"));
	assert_non_null(strstr(stats.refused_names, "CERTIFICATE " CERT_A));
	ward_store_close(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_and_parsing),
		cmocka_unit_test(test_identifier_hashes),
		cmocka_unit_test(test_rule_validate_limits),
		cmocka_unit_test(test_time_parse),
		cmocka_unit_test(test_match_key_from_identity),
		cmocka_unit_test(test_match_key_from_signed_macho),
		cmocka_unit_test(test_fat_most_restrictive_slice),
		cmocka_unit_test(test_blocked_cdhash_beats_allowed_teamid),
		cmocka_unit_test(test_allowed_cdhash_beats_blocked_teamid),
		cmocka_unit_test(test_full_precedence_order),
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_managed_beats_local),
		cmocka_unit_test(test_type_precedence_before_source),
		cmocka_unit_test(test_index_many_rules),
		cmocka_unit_test(test_index_for_key_agrees),
		cmocka_unit_test(test_santa_import_export_round_trip),
		cmocka_unit_test(test_export_leaves_out_managed_rules),
		cmocka_unit_test(test_santa_import_rejects),
		cmocka_unit_test(test_santa_import_refuses_cel_rules),
		cmocka_unit_test(test_santa_import_top_level),
		cmocka_unit_test(test_santa_import_remove_and_replace),
		cmocka_unit_test(test_santa_import_file_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
