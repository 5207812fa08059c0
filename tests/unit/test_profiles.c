/*
 * Unit tests for profiles/: .mobileconfig and Santa payloads, signed profiles, every
 * configuration key, the merge of warden.conf and the profiles directory, and that a
 * bad source changes nothing.
 *
 * Golden tests: tests/fixtures/profiles/golden/<case>/{warden.conf,profiles/} in,
 * expected.json (ward_confset_to_json) out. WARD_UPDATE_GOLDEN=1 rewrites them.
 */
#include "tests/unit/testutil.h"

#include <ftw.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/limits.h"
#include "common/paths.h"
#include "profiles/config.h"
#include "profiles/diag.h"
#include "profiles/mobileconfig.h"

#define PF FIXTURES "/profiles"

/* ---------------------------------------------------------------- helpers */

static char tmpdir[64];

static int setup_tmp(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/warden-test-profiles-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	chmod(tmpdir, 0755);
	return 0;
}

static int teardown_tmp(void **state)
{
	(void)state;
	tu_rmtree(tmpdir);
	return 0;
}

static void write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

static void copy_file(const char *from, const char *to)
{
	size_t len;
	uint8_t *b = tu_slurp(from, &len);

	write_file(to, b, len, 0644);
	free(b);
}

/* tmpdir/<sub> as a fresh profiles directory */
static const char *mkdir_sub(const char *sub)
{
	static char path[256];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, sub);
	assert_int_equal(mkdir(path, 0755), 0);
	return path;
}

static char *dump(const json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);

	assert_non_null(s);
	return s;
}

/* The load must fail with code and an error message containing want. */
static void expect_load_fail(const char *conf, const char *dir, unsigned flags, ward_err_t code,
                             const char *want)
{
	ward_error_t e = { 0 };
	ward_confset_t *cs = (ward_confset_t *)1;

	assert_int_equal(ward_config_load_sources(conf, dir, flags, &cs, NULL, &e), code);
	assert_null(cs);
	if (strstr(e.msg, want) == NULL)
		fail_msg("error \"%s\" does not contain \"%s\"", e.msg, want);
}

/* ---------------------------------------------------------------- golden */

static void golden(const char *name)
{
	char conf[PATH_MAX], dir[PATH_MAX], exp[PATH_MAX];
	ward_error_t e = { 0 };
	ward_confset_t *cs = NULL;
	json_t *got, *want;
	json_error_t je;
	struct stat sb;

	snprintf(conf, sizeof(conf), PF "/golden/%s/warden.conf", name);
	snprintf(dir, sizeof(dir), PF "/golden/%s/profiles", name);
	snprintf(exp, sizeof(exp), PF "/golden/%s/expected.json", name);
	if (ward_config_load_sources(stat(conf, &sb) == 0 ? conf : NULL, dir, 0, &cs, NULL, &e) != WARD_OK)
		fail_msg("golden %s: %s", name, e.msg);
	got = ward_confset_to_json(cs);
	assert_non_null(got);
	if (getenv("WARD_UPDATE_GOLDEN")) {
		assert_int_equal(json_dump_file(got, exp, JSON_INDENT(2)), 0);
		print_message("updated %s\n", exp);
	}
	want = json_load_file(exp, 0, &je);
	if (want == NULL)
		fail_msg("%s: %s", exp, je.text);
	if (!json_equal(got, want)) {
		char *g = dump(got), *w = dump(want);
		print_error("golden %s differs.\n--- expected\n%s\n--- got\n%s\n", name, w, g);
		free(g);
		free(w);
		fail();
	}
	json_decref(got);
	json_decref(want);
	ward_confset_free(cs);
}

static void test_golden_defaults(void **state)
{
	(void)state;
	golden("defaults");
}

static void test_golden_merge(void **state)
{
	(void)state;
	golden("merge");
}

static void test_golden_santa(void **state)
{
	(void)state;
	golden("santa");
}

static void test_golden_examples(void **state)
{
	(void)state;
	golden("examples");
}

/* The merge rules, spelled out (the golden file holds the same, less readably). */
static void test_merge_order_and_provenance(void **state)
{
	ward_error_t e = { 0 };
	ward_confset_t *cs = NULL;
	const ward_config_t *cfg;
	const ward_rule_t *r;
	json_t *diags = json_array();
	size_t n;

	(void)state;
	assert_int_equal(ward_config_load_sources(PF "/golden/merge/warden.conf",
	                                          PF "/golden/merge/profiles", 0, &cs, diags, &e), WARD_OK);
	cfg = ward_confset_config(cs);
	/* conf says LOCKDOWN, 10-base says 1, 20-override says "lockdown": the last wins */
	assert_int_equal(cfg->mode, WARD_MODE_LOCKDOWN);
	assert_string_equal(ward_confset_origin(cs, "ClientMode"),
	                    PF "/golden/merge/profiles/20-override.mobileconfig:16");
	/* the disabled payload (ClientMode 1) was skipped; .hidden.plist and README.txt too */
	assert_true(cfg->fail_closed);
	assert_int_equal(cfg->decision_budget_ms, 3000);
	assert_string_equal(ward_confset_origin(cs, "DecisionBudgetMs"),
	                    PF "/golden/merge/profiles/10-base.plist:7");
	assert_string_equal(cfg->event_log_path, "/var/log/warden/site.jsonl");
	assert_string_equal(ward_confset_origin(cs, "EventLogPath"), PF "/golden/merge/warden.conf");
	assert_string_equal(ward_confset_origin(cs, "EventLogAllows"), "default");
	assert_int_equal(cfg->ntrusted_paths, 2); /* replaced, not appended */
	assert_string_equal(cfg->trusted_paths[1], "/opt/site");
	/* ExceptionPolicy replaced whole: unset sub-keys are defaults */
	assert_string_equal(cfg->exception_policy.approver_group, "approvers");
	assert_int_equal(cfg->exception_policy.allowed_scopes, 1u << WARD_RT_BINARY);
	assert_int_equal(cfg->exception_policy.max_expiry_s, 30u * 24 * 3600);
	assert_true(cfg->file_access_policy_set);
	assert_non_null(ward_confset_file_access_policy(cs));
	/* StaticRules concatenated in source order, canonical, managed */
	r = ward_confset_rules(cs, &n);
	assert_int_equal(n, 3);
	assert_int_equal(r[0].type, WARD_RT_TEAMID);
	assert_int_equal(r[1].type, WARD_RT_CDHASH);
	assert_string_equal(r[1].identifier, "54a8ec11bcea48a276b1fdce556a29108ba77de4");
	assert_int_equal(r[1].policy, WARD_POL_BLOCKLIST);
	assert_int_equal(r[2].type, WARD_RT_SIGNINGID);
	assert_string_equal(r[2].custom_msg, "Chrome & friends");
	for (size_t i = 0; i < n; i++)
		assert_int_equal(r[i].source, WARD_SRC_PROFILE);
	assert_string_equal(r[1].created_by, "profile:10-base.plist");
	/* unknown keys are warnings, not errors */
	assert_int_equal(ward_diag_count(diags, WARD_DIAG_ERROR), 0);
	assert_int_equal(ward_diag_count(diags, WARD_DIAG_WARNING), 4);
	assert_int_equal(json_array_size(ward_confset_warnings(cs)), 4);
	ward_confset_free(cs);
	json_decref(diags);
}

/* ---------------------------------------------------------------- bad profiles */

struct bad_case {
	const char *file;
	ward_err_t code;
	const char *want; /* in the error message */
};

static const struct bad_case bad_cases[] = {
	{ "malformed.mobileconfig", WARD_E_MALFORMED, "malformed.mobileconfig:12: Opening and ending tag mismatch" },
	{ "wrong-types.plist", WARD_E_INVAL, "wrong-types.plist:5: ClientMode: expected 1, 2" },
	{ "billion-laughs.mobileconfig", WARD_E_UNSUPPORTED, "billion-laughs.mobileconfig:3: DTD entity declaration 'lol'" },
	{ "xxe.mobileconfig", WARD_E_UNSUPPORTED, "xxe.mobileconfig:3: DTD entity declaration 'xxe' (external)" },
	{ "bad-rules.mobileconfig", WARD_E_INVAL, "bad-rules.mobileconfig:17: StaticRules[0].identifier" },
	{ "trust-in-profile.plist", WARD_E_PERM, "may only be set in warden.conf" },
};

/*
 * Each bad profile, dropped next to a good one, fails the whole load with its reason;
 * the configuration loaded before is untouched (what a failed reload keeps in force).
 */
static void test_bad_profiles_rejected_previous_kept(void **state)
{
	ward_error_t e = { 0 };
	ward_confset_t *good = NULL;
	char *before, *after, path[PATH_MAX], from[PATH_MAX];
	const char *dir;
	json_t *j;

	(void)state;
	dir = mkdir_sub("p");
	snprintf(path, sizeof(path), "%s/10-good.mobileconfig", dir);
	copy_file("profiles/examples/lockdown-engineering.mobileconfig", path);
	assert_int_equal(ward_config_load_sources(NULL, dir, WARD_LOAD_STRICT_PERMS, &good, NULL, &e), WARD_OK);
	assert_int_equal(ward_confset_config(good)->mode, WARD_MODE_LOCKDOWN);
	j = ward_confset_to_json(good);
	before = dump(j);
	json_decref(j);

	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		snprintf(from, sizeof(from), PF "/bad/%s", bad_cases[i].file);
		snprintf(path, sizeof(path), "%s/50-%s", dir, bad_cases[i].file);
		copy_file(from, path);
		expect_load_fail(NULL, dir, WARD_LOAD_STRICT_PERMS, bad_cases[i].code, bad_cases[i].want);
		assert_int_equal(unlink(path), 0);
	}
	/* a profile above the element limit */
	{
		size_t cnt = WARD_MAX_PLIST_NODES, len = 0;
		const char *head = "<plist><dict><key>TrustedPaths</key><array>";
		const char *tail = "</array></dict></plist>";
		char *doc = malloc(strlen(head) + cnt * 7 + strlen(tail) + 1);
		assert_non_null(doc);
		len = (size_t)sprintf(doc, "%s", head);
		for (size_t k = 0; k < cnt; k++, len += 7)
			memcpy(doc + len, "<true/>", 7);
		len += (size_t)sprintf(doc + len, "%s", tail);
		snprintf(path, sizeof(path), "%s/60-huge.plist", dir);
		write_file(path, doc, len, 0644);
		free(doc);
		expect_load_fail(NULL, dir, 0, WARD_E_LIMIT, "60-huge.plist:1: more than");
		assert_int_equal(unlink(path), 0);
	}
	/* the same rule from two profiles */
	snprintf(path, sizeof(path), "%s/70-dup-a.plist", dir);
	copy_file(PF "/bad/dup-a.plist", path);
	snprintf(path, sizeof(path), "%s/71-dup-b.plist", dir);
	copy_file(PF "/bad/dup-b.plist", path);
	expect_load_fail(NULL, dir, 0, WARD_E_EXISTS, "71-dup-b.plist:6: StaticRules[0]: duplicate rule CDHASH 54a8ec11bcea48a276b1fdce556a29108ba77de4 (first at ");
	expect_load_fail(NULL, dir, 0, WARD_E_EXISTS, "70-dup-a.plist:6)");

	j = ward_confset_to_json(good);
	after = dump(j);
	json_decref(j);
	assert_string_equal(before, after);
	assert_int_equal(ward_confset_config(good)->mode, WARD_MODE_LOCKDOWN);
	free(before);
	free(after);
	ward_confset_free(good);
}

/* Every error of a file is reported, each with its line and key. */
static void test_every_error_reported_with_line(void **state)
{
	static const struct { unsigned long line; const char *key; } want[] = {
		{ 5, "ClientMode" }, { 7, "FailClosed" }, { 9, "DecisionBudgetMs" },
		{ 13, "TrustedPaths[1]" }, { 16, "AllowedPathRegex" }, { 18, "ScanMaxBytes" },
		{ 20, "EventLogPath" }, { 22, "AdminGroup" }, { 27, "ExceptionPolicy.AllowedScopes[0]" },
		{ 30, "ExceptionPolicy.MaxExpirySeconds" }, { 33, "FileAccessPolicy" },
	};
	json_t *diags = json_array(), *errs = json_array();
	ward_error_t e = { 0 };
	ward_confset_t *cs = NULL;
	size_t i;
	json_t *d;

	(void)state;
	assert_int_equal(ward_config_validate_file(PF "/bad/wrong-types.plist", NULL, &cs, diags, &e),
	                 WARD_E_INVAL);
	assert_null(cs);
	assert_non_null(strstr(e.msg, "(and 10 more errors)"));
	json_array_foreach(diags, i, d)
		if (strcmp(json_string_value(json_object_get(d, "severity")), "error") == 0)
			json_array_append(errs, d);
	assert_int_equal(json_array_size(errs), sizeof(want) / sizeof(want[0]));
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		d = json_array_get(errs, i);
		assert_string_equal(json_string_value(json_object_get(d, "file")), PF "/bad/wrong-types.plist");
		assert_int_equal(json_integer_value(json_object_get(d, "line")), want[i].line);
		assert_string_equal(json_string_value(json_object_get(d, "key")), want[i].key);
	}
	json_decref(errs);
	json_decref(diags);
}

static void test_bad_rules_each_named(void **state)
{
	json_t *diags = json_array();
	ward_error_t e = { 0 };
	ward_confset_t *cs = NULL;
	const char *text;

	(void)state;
	assert_int_equal(ward_config_validate_file(PF "/bad/bad-rules.mobileconfig", NULL, &cs, diags, &e),
	                 WARD_E_INVAL);
	assert_int_equal(ward_diag_count(diags, WARD_DIAG_ERROR), 5);
	text = ward_diag_text(json_array_get(diags, 1));
	assert_string_equal(text, PF "/bad/bad-rules.mobileconfig:27: StaticRules[1].policy: "
	                    "REMOVE is an import action; a profile lists the rules it wants");
	assert_non_null(strstr(ward_diag_text(json_array_get(diags, 2)), "rule_type 'PATH' is not one of"));
	assert_non_null(strstr(ward_diag_text(json_array_get(diags, 4)), ":45: StaticRules[4].identifier: missing"));
	json_decref(diags);
}

/* ---------------------------------------------------------------- signed */

static void write_conf(const char *path, const char *json)
{
	write_file(path, json, strlen(json), 0644);
}

static void test_signed_profiles(void **state)
{
	char ca[PATH_MAX], conf[PATH_MAX], conf_noanchor[PATH_MAX], buf[PATH_MAX * 2], path[PATH_MAX];
	ward_error_t e = { 0 };
	ward_confset_t *cs = NULL;
	json_t *diags, *j, *src;
	const char *dir;

	(void)state;
	assert_non_null(realpath("profiles/examples/signing/test-ca.pem", ca));
	snprintf(conf, sizeof(conf), "%s/warden.conf", tmpdir);
	snprintf(buf, sizeof(buf), "{\"ProfileTrustAnchors\": [\"%s\"], \"RequireSignedProfiles\": true}", ca);
	write_conf(conf, buf);
	snprintf(conf_noanchor, sizeof(conf_noanchor), "%s/noanchor.conf", tmpdir);
	write_conf(conf_noanchor, "{\"ClientMode\": 1}");
	dir = mkdir_sub("signed");

	/* genuine, verified against the anchor: LOCKDOWN from the signed content */
	snprintf(path, sizeof(path), "%s/20-signed.mobileconfig", dir);
	copy_file("profiles/examples/signed-lockdown-engineering.mobileconfig", path);
	assert_int_equal(ward_config_load_sources(conf, dir, WARD_LOAD_STRICT_PERMS, &cs, NULL, &e), WARD_OK);
	assert_int_equal(ward_confset_config(cs)->mode, WARD_MODE_LOCKDOWN);
	j = ward_confset_to_json(cs);
	src = json_array_get(json_object_get(j, "sources"), 1);
	assert_true(json_is_true(json_object_get(src, "signed")));
	assert_true(json_is_true(json_object_get(src, "verified")));
	assert_string_equal(json_string_value(json_object_get(src, "signer")),
	                    "CN=warden TEST profile signer,O=warden test");
	json_decref(j);
	ward_confset_free(cs);

	/* without anchors: the signature over the content is checked, the signer is not */
	diags = json_array();
	assert_int_equal(ward_config_load_sources(conf_noanchor, dir, 0, &cs, diags, &e), WARD_OK);
	assert_int_equal(ward_diag_count(diags, WARD_DIAG_WARNING), 1);
	assert_non_null(strstr(ward_diag_text(json_array_get(diags, 0)), "the signer is not verified"));
	ward_confset_free(cs);
	json_decref(diags);
	assert_int_equal(unlink(path), 0);

	/* content changed after signing (LOCKDOWN -> MONITOR): rejected, anchors or not */
	snprintf(path, sizeof(path), "%s/20-tampered.mobileconfig", dir);
	copy_file(PF "/signed/tampered.mobileconfig", path);
	expect_load_fail(conf, dir, 0, WARD_E_CRYPTO, "20-tampered.mobileconfig: bad signature: the content was modified after signing");
	expect_load_fail(conf_noanchor, dir, 0, WARD_E_CRYPTO, "modified after signing");
	assert_int_equal(unlink(path), 0);

	/* signed by a CA that is not an anchor */
	snprintf(path, sizeof(path), "%s/20-rogue.mobileconfig", dir);
	copy_file(PF "/signed/rogue-signed.mobileconfig", path);
	expect_load_fail(conf, dir, 0, WARD_E_CRYPTO, "unable to get local issuer certificate");
	assert_int_equal(unlink(path), 0);

	/* unsigned while RequireSignedProfiles */
	snprintf(path, sizeof(path), "%s/20-plain.mobileconfig", dir);
	copy_file("profiles/examples/lockdown-engineering.mobileconfig", path);
	expect_load_fail(conf, dir, 0, WARD_E_PERM, "20-plain.mobileconfig: profile is not signed and RequireSignedProfiles is set");
	assert_int_equal(unlink(path), 0);

	/* DER garbage that looks signed */
	snprintf(path, sizeof(path), "%s/20-junk.mobileconfig", dir);
	write_file(path, "\x30\x82\x01\x00garbage", 11, 0644);
	expect_load_fail(conf, dir, 0, WARD_E_MALFORMED, "neither an XML plist nor a DER CMS");
	assert_int_equal(unlink(path), 0);

	/* the rogue CA's certificate file itself is a fine anchor for its own profile */
	assert_non_null(realpath(PF "/signed/rogue-ca.pem", ca));
	snprintf(buf, sizeof(buf), "{\"ProfileTrustAnchors\": \"%s\"}", ca);
	write_conf(conf, buf);
	snprintf(path, sizeof(path), "%s/20-rogue.mobileconfig", dir);
	copy_file(PF "/signed/rogue-signed.mobileconfig", path);
	assert_int_equal(ward_config_load_sources(conf, dir, 0, &cs, NULL, &e), WARD_OK);
	ward_confset_free(cs);

	/* anchors that cannot be used */
	write_conf(conf, "{\"RequireSignedProfiles\": true}");
	expect_load_fail(conf, dir, 0, WARD_E_INVAL, "RequireSignedProfiles: set, but no ProfileTrustAnchors");
	write_conf(conf, "{\"ProfileTrustAnchors\": [\"/nonexistent/ca.pem\"]}");
	expect_load_fail(conf, dir, 0, WARD_E_IO, "/nonexistent/ca.pem: cannot read");
	write_conf(conf, "{\"ProfileTrustAnchors\": [\"/etc/hostname\"]}");
	expect_load_fail(conf, dir, 0, WARD_E_INVAL, "no PEM certificate");
}

/* ---------------------------------------------------------------- API, keys */

static void test_apply_leaves_cfg_unchanged_on_error(void **state)
{
	static const struct { const char *json, *want; } cases[] = {
		{ "{\"ClientMode\": 3}", "STANDALONE" },
		{ "{\"ClientMode\": \"monitor\", \"FailClosed\": 1}", "FailClosed: expected a boolean" },
		{ "{\"ScanBudgetMs\": 0}", "ScanBudgetMs: 0 is out of range" },
		{ "{\"YaraRulesPaths\": [\"rules.yar\"]}", "YaraRulesPaths[0]" },
		{ "{\"BlockedPathRegex\": \"[\"}", "BlockedPathRegex: at offset 0: the set is never closed" },
		{ "{\"AllowedPathRegex\": \"^/a/[[:alpha:]]\"}", "AllowedPathRegex: at offset 5: [:name:]" },
		{ "{\"StaticRules\": [{\"rule_type\": \"CDHASH\", \"identifier\": \"00\", \"policy\": \"BLOCKLIST\"}]}",
		  "StaticRules[0].identifier" },
		{ "{\"ExceptionPolicy\": []}", "ExceptionPolicy: expected a dictionary" },
		{ "{\"AdminGroup\": \"-x\"}", "not a valid group name" },
		{ "{\"TrustedPaths\": \"/usr\"}", "TrustedPaths: expected an array" },
	};
	ward_config_t cfg, copy;
	json_error_t je;

	(void)state;
	ward_config_defaults(&cfg);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ward_error_t e = { 0 };
		json_t *d = json_loads(cases[i].json, 0, &je);
		assert_non_null(d);
		memcpy(&copy, &cfg, sizeof(cfg));
		assert_int_not_equal(ward_config_apply(&cfg, d, &e), WARD_OK);
		if (strstr(e.msg, cases[i].want) == NULL)
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, e.msg, cases[i].want);
		assert_memory_equal(&cfg, &copy, sizeof(cfg));
		json_decref(d);
	}
}

static void test_apply_every_key(void **state)
{
	const char *js =
		"{\"ClientMode\": \"LOCKDOWN\", \"FailClosed\": true, \"DecisionBudgetMs\": 2000,"
		" \"TrustedPaths\": [\"/usr\"], \"AllowedPathRegex\": \"^/opt/ok/\","
		" \"BlockedPathRegex\": \"/tmp/\", \"YaraRulesPaths\": \"/etc/y.yar\","
		" \"ScanBudgetMs\": 300, \"ScanMaxBytes\": 1000, \"EventLogPath\": \"/var/log/e.jsonl\","
		" \"EventLogAllows\": true, \"AdminGroup\": \"sec-ops\","
		" \"ExceptionPolicy\": {\"Enabled\": false, \"ApproverGroup\": \"leads\","
		"   \"AllowedScopes\": [\"TEAMID\", \"cdhash\"], \"MaxExpirySeconds\": 3600, \"Extra\": 1},"
		" \"FileAccessPolicy\": {\"Version\": \"1\"},"
		" \"ProfileTrustAnchors\": [\"/etc/warden/ca.pem\"], \"RequireSignedProfiles\": true,"
		" \"UnknownKey\": 1, \"PayloadUUID\": \"x\"}";
	ward_error_t e = { 0 };
	ward_config_t cfg;
	json_error_t je;
	json_t *d = json_loads(js, 0, &je);

	(void)state;
	assert_non_null(d);
	ward_config_defaults(&cfg);
	assert_int_equal(ward_config_apply(&cfg, d, &e), WARD_OK);
	assert_int_equal(cfg.mode, WARD_MODE_LOCKDOWN);
	assert_true(cfg.fail_closed);
	assert_int_equal(cfg.decision_budget_ms, 2000);
	assert_int_equal(cfg.ntrusted_paths, 1);
	assert_string_equal(cfg.allowed_path_regex, "^/opt/ok/");
	assert_string_equal(cfg.blocked_path_regex, "/tmp/");
	assert_int_equal(cfg.nyara_rules_paths, 1);
	assert_string_equal(cfg.yara_rules_paths[0], "/etc/y.yar");
	assert_int_equal(cfg.scan_budget_ms, 300);
	assert_int_equal(cfg.scan_max_bytes, 1000);
	assert_string_equal(cfg.event_log_path, "/var/log/e.jsonl");
	assert_true(cfg.event_log_allows);
	assert_string_equal(cfg.admin_group, "sec-ops");
	assert_false(cfg.exception_policy.enabled);
	assert_string_equal(cfg.exception_policy.approver_group, "leads");
	assert_int_equal(cfg.exception_policy.allowed_scopes, (1u << WARD_RT_TEAMID) | (1u << WARD_RT_CDHASH));
	assert_int_equal(cfg.exception_policy.max_expiry_s, 3600);
	assert_true(cfg.file_access_policy_set);
	assert_int_equal(cfg.ntrust_anchors, 1);
	assert_true(cfg.require_signed_profiles);
	json_decref(d);
}

/* Every field of two configurations, compared one by one (bytes after a string's NUL
 * may differ). */
static void assert_config_equal(const ward_config_t *a, const ward_config_t *b)
{
	assert_int_equal(a->mode, b->mode);
	assert_int_equal(a->fail_closed, b->fail_closed);
	assert_int_equal(a->decision_budget_ms, b->decision_budget_ms);
	assert_int_equal(a->ntrusted_paths, b->ntrusted_paths);
	for (unsigned i = 0; i < a->ntrusted_paths; i++)
		assert_string_equal(a->trusted_paths[i], b->trusted_paths[i]);
	assert_string_equal(a->event_log_path, b->event_log_path);
	assert_int_equal(a->event_log_allows, b->event_log_allows);
	assert_string_equal(a->admin_group, b->admin_group);
	assert_int_equal(a->scan_budget_ms, b->scan_budget_ms);
	assert_int_equal(a->scan_max_bytes, b->scan_max_bytes);
	assert_string_equal(a->allowed_path_regex, b->allowed_path_regex);
	assert_string_equal(a->blocked_path_regex, b->blocked_path_regex);
	assert_int_equal(a->nyara_rules_paths, b->nyara_rules_paths);
	for (unsigned i = 0; i < a->nyara_rules_paths; i++)
		assert_string_equal(a->yara_rules_paths[i], b->yara_rules_paths[i]);
	assert_int_equal(a->exception_policy.enabled, b->exception_policy.enabled);
	assert_string_equal(a->exception_policy.approver_group, b->exception_policy.approver_group);
	assert_int_equal(a->exception_policy.allowed_scopes, b->exception_policy.allowed_scopes);
	assert_int_equal(a->exception_policy.max_expiry_s, b->exception_policy.max_expiry_s);
	assert_int_equal(a->file_access_policy_set, b->file_access_policy_set);
	assert_int_equal(a->require_signed_profiles, b->require_signed_profiles);
	assert_int_equal(a->ntrust_anchors, b->ntrust_anchors);
	for (unsigned i = 0; i < a->ntrust_anchors; i++)
		assert_string_equal(a->trust_anchors[i], b->trust_anchors[i]);
	assert_string_equal(a->sync.base_url, b->sync.base_url);
	assert_string_equal(a->sync.machine_id, b->sync.machine_id);
	assert_string_equal(a->sync.machine_id_plist, b->sync.machine_id_plist);
	assert_string_equal(a->sync.machine_id_key, b->sync.machine_id_key);
	assert_string_equal(a->sync.machine_owner, b->sync.machine_owner);
	assert_string_equal(a->sync.client_cert, b->sync.client_cert);
	assert_string_equal(a->sync.client_key, b->sync.client_key);
	assert_string_equal(a->sync.server_roots, b->sync.server_roots);
	assert_string_equal(a->sync.extra_headers, b->sync.extra_headers);
	assert_int_equal(a->sync.full_sync_interval_s, b->sync.full_sync_interval_s);
	assert_string_equal(a->sync.user, b->sync.user);
	assert_int_equal(a->enable_transitive_rules, b->enable_transitive_rules);
	assert_int_equal(a->enable_bad_signature_protection, b->enable_bad_signature_protection);
}

/* ---------------------------------------------------------------- Santa keys */

static const char santa_profile[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"                 /* 1 */
	"<plist version=\"1.0\">\n"                                       /* 2 */
	"<dict>\n"                                                         /* 3 */
	"\t<key>ClientMode</key><integer>2</integer>\n"                    /* 4 */
	"\t<key>EnableTransitiveRules</key><true/>\n"                      /* 5 */
	"\t<key>EnableBadSignatureProtection</key><true/>\n"               /* 6 */
	"\t<key>AllowedPathRegex</key><string>^/tmp/ok/</string>\n"         /* 7 */
	"\t<key>BlockedPathRegex</key><string>^/var/x/</string>\n"         /* 8 */
	"\t<key>MoreInfoURL</key><string>https://x</string>\n"             /* 9 */
	"\t<key>EnablePageZeroProtection</key><true/>\n"                   /* 10 */
	"\t<key>NoSuchSantaKey</key><true/>\n"                             /* 11 */
	"\t<key>StaticRules</key>\n"                                       /* 12 */
	"\t<array>\n"                                                      /* 13 */
	"\t\t<dict>\n"                                                     /* 14 */
	"\t\t\t<key>identifier</key><string>platform:com.apple.ls</string>\n" /* 15 */
	"\t\t\t<key>rule_type</key><string>SIGNINGID</string>\n"          /* 16 */
	"\t\t\t<key>policy</key><string>CEL</string>\n"                   /* 17 */
	"\t\t\t<key>cel_expr</key><string>args.size() == 1</string>\n"    /* 18 */
	"\t\t</dict>\n"                                                    /* 19 */
	"\t\t<dict>\n"                                                     /* 20 */
	"\t\t\t<key>identifier</key><string>EQHXZ8M8AV</string>\n"        /* 21 */
	"\t\t\t<key>rule_type</key><string>TEAMID</string>\n"             /* 22 */
	"\t\t\t<key>policy</key><string>ALLOWLIST</string>\n"             /* 23 */
	"\t\t</dict>\n"                                                    /* 24 */
	"\t</array>\n"                                                     /* 25 */
	"</dict>\n"
	"</plist>\n";

/* Does a diag array hold one whose text contains want? */
static bool has_diag(const json_t *diags, const char *want)
{
	size_t i;
	json_t *d;

	json_array_foreach(diags, i, d)
		if (strstr(json_string_value(json_object_get(d, "text")), want) != NULL)
			return true;
	return false;
}

static void test_santa_keys(void **state)
{
	char path[512];
	const char *dir = mkdir_sub("santa");
	ward_confset_t *cs = NULL;
	ward_error_t e = { 0 };
	const ward_config_t *cfg;
	const json_t *ne, *rr;
	json_t *diags = json_array(), *o;
	size_t n;

	(void)state;
	snprintf(path, sizeof(path), "%s/com.google.santa.plist", dir);
	write_file(path, santa_profile, strlen(santa_profile), 0644);
	assert_int_equal(ward_config_load_sources(NULL, dir, 0, &cs, diags, &e), WARD_OK);
	cfg = ward_confset_config(cs);
	assert_int_equal(cfg->mode, WARD_MODE_LOCKDOWN);
	assert_true(cfg->enable_transitive_rules);
	assert_true(cfg->enable_bad_signature_protection);
	assert_string_equal(cfg->allowed_path_regex, "^/tmp/ok/");
	assert_string_equal(cfg->blocked_path_regex, "^/var/x/");
	/* the CEL rule is refused by name, at its line; the other rule applies */
	ward_confset_rules(cs, &n);
	assert_int_equal(n, 1);
	rr = ward_confset_refused_rules(cs);
	assert_int_equal(json_array_size(rr), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(rr, 0), "rule")),
	                    "SIGNINGID platform:com.apple.ls");
	snprintf(path, sizeof(path), "%s/santa/com.google.santa.plist:18", tmpdir);
	assert_string_equal(json_string_value(json_object_get(json_array_get(rr, 0), "origin")), path);
	assert_true(has_diag(diags, "com.google.santa.plist:18: StaticRules[0]: rule SIGNINGID "
	                     "platform:com.apple.ls is a CEL rule"));
	/* every other key by name, with its line, in the warnings and in not_enforced */
	assert_true(has_diag(diags, "com.google.santa.plist:9: MoreInfoURL: Santa key NOT ENFORCED"));
	assert_true(has_diag(diags, "com.google.santa.plist:10: EnablePageZeroProtection: Santa key NOT ENFORCED"));
	assert_true(has_diag(diags, "com.google.santa.plist:11: NoSuchSantaKey: Santa key NOT ENFORCED"));
	ne = ward_confset_not_enforced(cs);
	assert_int_equal(json_array_size(ne), 3);
	assert_string_equal(json_string_value(json_object_get(json_array_get(ne, 0), "key")), "MoreInfoURL");
	assert_non_null(strstr(json_string_value(json_object_get(json_array_get(ne, 0), "origin")),
	                       "com.google.santa.plist:9"));
	/* an allowed directory anyone can write is pointed out */
	assert_true(has_diag(diags, "com.google.santa.plist:7: AllowedPathRegex: \"^/tmp/ok/\" allows "
	                     "programs under /tmp/ok, and /tmp is"));
	/* and status shows them (the confset JSON) */
	o = ward_confset_to_json(cs);
	assert_int_equal(json_array_size(json_object_get(o, "not_enforced")), 3);
	assert_int_equal(json_array_size(json_object_get(o, "refused_rules")), 1);
	assert_true(json_is_true(json_object_get(json_object_get(o, "config"), "EnableTransitiveRules")));
	json_decref(o);
	ward_confset_free(cs);
	json_decref(diags);
}

static void test_santa_standalone_refused(void **state)
{
	ward_config_t cfg;
	ward_error_t e = { 0 };
	json_t *j = json_pack("{s:i}", "ClientMode", 3);

	(void)state;
	ward_config_defaults(&cfg);
	assert_int_equal(ward_config_apply(&cfg, j, &e), WARD_E_UNSUPPORTED);
	/* says what to use instead */
	assert_non_null(strstr(e.msg, "wardenctl request"));
	assert_non_null(strstr(e.msg, "wardenctl approve"));
	assert_non_null(strstr(e.msg, "2 (LOCKDOWN)"));
	assert_int_equal(cfg.mode, WARD_MODE_MONITOR);
	json_decref(j);
}

static void test_santa_key_defaults(void **state)
{
	ward_config_t cfg;

	(void)state;
	ward_config_defaults(&cfg);
	/* Santa's defaults: off */
	assert_false(cfg.enable_transitive_rules);
	assert_false(cfg.enable_bad_signature_protection);
}

/* wardend's last good configuration is ward_config_to_json, read back with
 * ward_config_apply onto the defaults: that must give the same configuration, for every
 * key set (none at its default) and for the defaults themselves (unset regexes). */
static void test_to_json_round_trips(void **state)
{
	const char *js =
		"{\"ClientMode\": \"LOCKDOWN\", \"FailClosed\": true, \"DecisionBudgetMs\": 2000,"
		" \"TrustedPaths\": [\"/usr\", \"/opt/site/bin\"], \"AllowedPathRegex\": \"^/opt/ok/\","
		" \"BlockedPathRegex\": \"/tmp/\", \"YaraRulesPaths\": [\"/etc/y.yar\", \"/srv/y/*.yar\"],"
		" \"ScanBudgetMs\": 300, \"ScanMaxBytes\": 1000, \"EventLogPath\": \"/var/log/e.jsonl\","
		" \"EventLogAllows\": true, \"AdminGroup\": \"sec-ops\","
		" \"ExceptionPolicy\": {\"Enabled\": false, \"ApproverGroup\": \"leads\","
		"   \"AllowedScopes\": [\"TEAMID\", \"cdhash\", \"CERTIFICATE\"], \"MaxExpirySeconds\": 3600},"
		" \"FileAccessPolicy\": {\"Version\": \"1\"},"
		" \"ProfileTrustAnchors\": [\"/etc/warden/ca.pem\", \"/etc/warden/ca2.pem\"],"
		" \"RequireSignedProfiles\": true,"
		" \"SyncBaseURL\": \"https://sync.example.com/santa\", \"MachineID\": \"host-1\","
		" \"MachineIDPlist\": \"/etc/mid.plist\", \"MachineIDKey\": \"id\", \"MachineOwner\": \"ann\","
		" \"ClientAuthCertificateFile\": \"/etc/c.pem\", \"ClientAuthKeyFile\": \"/etc/k.pem\","
		" \"ServerAuthRootsFile\": \"/etc/r.pem\", \"FullSyncInterval\": 120, \"SyncUser\": \"nobody\","
		" \"SyncExtraHeaders\": {\"Authorization\": \"Bearer s3cret\", \"X-A\": \"b\"},"
		" \"EnableTransitiveRules\": true, \"EnableBadSignatureProtection\": true}";
	ward_error_t e = { 0 };
	ward_config_t defaults, cfg, back;
	json_error_t je;
	json_t *d = json_loads(js, 0, &je), *j, *j2;

	(void)state;
	assert_non_null(d);
	ward_config_defaults(&defaults);
	cfg = defaults;
	assert_int_equal(ward_config_apply(&cfg, d, &e), WARD_OK);
	/* every field differs from its default, so a key the round trip drops is seen */
	assert_int_not_equal(cfg.mode, defaults.mode);
	assert_int_not_equal(cfg.ntrusted_paths, defaults.ntrusted_paths);
	assert_int_not_equal(cfg.nyara_rules_paths, defaults.nyara_rules_paths);
	assert_int_not_equal(cfg.ntrust_anchors, defaults.ntrust_anchors);
	assert_int_not_equal(cfg.exception_policy.allowed_scopes, defaults.exception_policy.allowed_scopes);
	assert_true(cfg.file_access_policy_set);
	assert_string_equal(cfg.sync.extra_headers, "Authorization: Bearer s3cret\nX-A: b\n");
	assert_non_null(j = ward_config_to_json(&cfg));
	ward_config_defaults(&back);
	assert_int_equal(ward_config_apply(&back, j, &e), WARD_OK);
	assert_config_equal(&cfg, &back);
	assert_non_null(j2 = ward_config_to_json(&back));
	assert_true(json_equal(j, j2));
	json_decref(j);
	json_decref(j2);

	/* the defaults: null regexes, empty AdminGroup and ApproverGroup, no anchors */
	assert_non_null(j = ward_config_to_json(&defaults));
	assert_true(json_is_null(json_object_get(j, "AllowedPathRegex")));
	back = cfg; /* onto a configuration that has them set: each key must reset it */
	assert_int_equal(ward_config_apply(&back, j, &e), WARD_OK);
	back.file_access_policy_set = false; /* the one key an absent entry cannot unset */
	assert_config_equal(&defaults, &back);
	json_decref(j);
	json_decref(d);
}

/* The key table is the one source of keys: its defaults are ward_config_defaults, each
 * default applied on its own leaves the defaults unchanged, profile show prints only
 * keys of the table, and refused keys are refused by name. */
static void test_key_table(void **state)
{
	json_t *keys = ward_config_keys_json(), *k, *shown;
	ward_config_t defaults, cfg, all;
	ward_error_t e = { 0 };
	json_t *alld = json_object();
	const char *name;
	size_t i, nrefused = 0, ndefault = 0;
	json_t *v;

	(void)state;
	assert_non_null(keys);
	ward_config_defaults(&defaults);
	assert_int_equal(defaults.mode, WARD_MODE_MONITOR);
	assert_int_equal(defaults.decision_budget_ms, 5000);
	assert_string_equal(defaults.trusted_paths[0], "/usr");
	assert_string_equal(defaults.sync.user, "warden-sync");
	assert_true(defaults.exception_policy.enabled);
	json_array_foreach(keys, i, k) {
		const json_t *d = json_object_get(k, "default");
		name = json_string_value(json_object_get(k, "name"));
		assert_non_null(name);
		assert_non_null(json_string_value(json_object_get(k, "help")));
		assert_non_null(json_string_value(json_object_get(k, "type")));
		for (size_t j = 0; j < i; j++) /* unique */
			assert_string_not_equal(name, json_string_value(json_object_get(json_array_get(keys, j), "name")));
		if (json_is_true(json_object_get(k, "refused"))) {
			json_t *one = json_pack("{s:b}", name, 1);
			cfg = defaults;
			nrefused++;
			assert_int_not_equal(ward_config_apply(&cfg, one, &e), WARD_OK);
			assert_non_null(strstr(e.msg, name));
			json_decref(one);
			continue;
		}
		if (json_is_null(d))
			continue;
		ndefault++;
		{
			json_t *one = json_pack("{s:O}", name, d);
			cfg = defaults;
			assert_int_equal(ward_config_apply(&cfg, one, &e), WARD_OK);
			assert_config_equal(&defaults, &cfg);
			json_decref(one);
		}
		json_object_set(alld, name, (json_t *)d);
	}
	assert_true(nrefused >= 4);
	assert_true(ndefault >= 20);
	/* every default at once, onto a configuration that sets every key, gives the defaults */
	all = defaults;
	all.mode = WARD_MODE_LOCKDOWN;
	all.decision_budget_ms = 77;
	all.ntrusted_paths = 1;
	all.ninterpreters = 0;
	all.scan_max_bytes = 1;
	snprintf(all.sync.user, sizeof(all.sync.user), "x");
	snprintf(all.admin_group, sizeof(all.admin_group), "x");
	assert_int_equal(ward_config_apply(&all, alld, &e), WARD_OK);
	assert_config_equal(&defaults, &all);
	assert_int_equal(all.ninterpreters, defaults.ninterpreters);
	/* profile show prints keys of the table only */
	assert_non_null(shown = ward_config_to_json(&defaults));
	json_object_foreach(shown, name, v) {
		bool found = false;
		json_array_foreach(keys, i, k)
			found |= strcmp(name, json_string_value(json_object_get(k, "name"))) == 0;
		assert_true(found);
	}
	json_decref(shown);
	/* a Santa key is either in the table (enforced, or refused by name) or listed as
	 * read and not enforced, never both */
	{
		json_t *un = ward_config_santa_unenforced_json(), *u;
		size_t j;
		assert_true(json_array_size(un) >= 20);
		json_array_foreach(un, j, u) {
			const char *n = json_string_value(json_object_get(u, "name"));
			assert_non_null(json_string_value(json_object_get(u, "why")));
			json_array_foreach(keys, i, k)
				assert_string_not_equal(n, json_string_value(json_object_get(k, "name")));
		}
		json_decref(un);
	}
	json_decref(alld);
	json_decref(keys);
}

/* Sync keys: values that would travel badly are refused, and so are Santa keys that
 * warden-sync does not implement (never accepted and ignored). */
static void test_sync_keys_refused(void **state)
{
	static const struct { const char *js, *part; } bad[] = {
		{ "{\"SyncBaseURL\": \"http://sync.example.com\"}", "only https://" },
		{ "{\"SyncBaseURL\": \"https://a b\"}", "space" },
		{ "{\"MachineID\": \"../x\"}", "only letters" },
		{ "{\"SyncExtraHeaders\": {\"A\": \"x\\r\\nB: y\"}}", "line break" },
		{ "{\"SyncExtraHeaders\": {\"Content-Encoding\": \"gzip\"}}", "set by warden-sync" },
		{ "{\"FullSyncInterval\": 5}", "out of range" },
		{ "{\"SyncEnableProtoTransfer\": true}", "JSON sync protocol only" },
		{ "{\"ClientAuthCertificateCN\": \"me\"}", "PEM files" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ward_config_t cfg;
		ward_error_t e = { 0 };
		json_t *d = json_loads(bad[i].js, 0, NULL);
		assert_non_null(d);
		ward_config_defaults(&cfg);
		if (ward_config_apply(&cfg, d, &e) == WARD_OK || strstr(e.msg, bad[i].part) == NULL)
			fail_msg("%s: expected an error with \"%s\", got \"%s\"", bad[i].js, bad[i].part, e.msg);
		json_decref(d);
	}
}

static void test_load_json_file_names_file(void **state)
{
	char path[PATH_MAX];
	ward_error_t e = { 0 };
	ward_config_t cfg;

	(void)state;
	ward_config_defaults(&cfg);
	snprintf(path, sizeof(path), "%s/bad.conf", tmpdir);
	write_conf(path, "{\n  \"ClientMode\": 2,\n  \"ClientMode\": 1\n}\n");
	assert_int_equal(ward_config_load_json_file(&cfg, path, &e), WARD_E_MALFORMED);
	assert_non_null(strstr(e.msg, path));
	assert_non_null(strstr(e.msg, "duplicate"));
	write_conf(path, "{\"DecisionBudgetMs\": \"fast\"}");
	assert_int_equal(ward_config_load_json_file(&cfg, path, &e), WARD_E_INVAL);
	assert_non_null(strstr(e.msg, "bad.conf: DecisionBudgetMs: expected an integer"));
	write_conf(path, "{\"ClientMode\": \"LOCKDOWN\"}");
	assert_int_equal(ward_config_load_json_file(&cfg, path, &e), WARD_OK);
	assert_int_equal(cfg.mode, WARD_MODE_LOCKDOWN);
}

static void test_regex_check(void **state)
{
	ward_error_t e = { 0 };

	(void)state;
	assert_int_equal(ward_config_regex_check("", &e), WARD_OK); /* unset */
	assert_int_equal(ward_config_regex_check("tmp/", &e), WARD_OK);
	assert_int_equal(ward_config_regex_check("^/(tmp|var/tmp)/", &e), WARD_OK);
	assert_int_equal(ward_config_regex_check("a(", &e), WARD_E_INVAL);
	assert_non_null(strstr(e.msg, "at offset"));
}

static void test_strict_permissions(void **state)
{
	char path[PATH_MAX];
	const char *dir;

	(void)state;
	if (geteuid() != 0)
		skip();
	dir = mkdir_sub("perm");
	snprintf(path, sizeof(path), "%s/10-a.plist", dir);
	copy_file(PF "/bad/dup-a.plist", path);
	assert_int_equal(chmod(path, 0666), 0);
	expect_load_fail(NULL, dir, WARD_LOAD_STRICT_PERMS, WARD_E_PERM, "10-a.plist: insecure permissions");
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(chmod(dir, 0777), 0);
	expect_load_fail(NULL, dir, WARD_LOAD_STRICT_PERMS, WARD_E_PERM, "insecure permissions on the profiles directory");
	assert_int_equal(chmod(dir, 0755), 0);
	/* without the flag (wardenctl validate of a candidate file) it is read */
	assert_int_equal(chmod(path, 0666), 0);
	{
		ward_error_t e = { 0 };
		ward_confset_t *cs = NULL;
		assert_int_equal(ward_config_load_sources(NULL, dir, 0, &cs, NULL, &e), WARD_OK);
		ward_confset_free(cs);
	}
}

static void test_missing_sources(void **state)
{
	ward_error_t e = { 0 };
	ward_confset_t *cs = NULL;

	(void)state;
	/* nothing at all: the embedded defaults */
	assert_int_equal(ward_config_load_sources("/nonexistent/warden.conf", "/nonexistent/profiles", 0,
	                                          &cs, NULL, &e), WARD_OK);
	assert_int_equal(ward_confset_config(cs)->mode, WARD_MODE_MONITOR);
	assert_string_equal(ward_confset_origin(cs, "ClientMode"), "default");
	ward_confset_free(cs);
	expect_load_fail("/nonexistent/warden.conf", NULL, WARD_LOAD_CONF_REQUIRED, WARD_E_NOTFOUND,
	                 "/nonexistent/warden.conf: cannot open");
}

/* macOS's managed preferences: MDM writes each payload as <domain>.plist, often binary.
 * In that directory only warden's and Santa's domains are profiles; elsewhere every
 * *.plist is. A binary Santa domain file sets the mode. */
static const unsigned char santa_bplist[] = {
	0x62, 0x70, 0x6c, 0x69, 0x73, 0x74, 0x30, 0x30, 0xd2, 0x01, 0x02, 0x03, 0x04, 0x5a, 0x43,
	0x6c, 0x69, 0x65, 0x6e, 0x74, 0x4d, 0x6f, 0x64, 0x65, 0x5b, 0x50, 0x61, 0x79, 0x6c, 0x6f,
	0x61, 0x64, 0x55, 0x55, 0x49, 0x44, 0x10, 0x02, 0x59, 0x30, 0x30, 0x30, 0x30, 0x2d, 0x31,
	0x31, 0x31, 0x31, 0x08, 0x0d, 0x18, 0x24, 0x26, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x30
};

static void test_managed_preferences(void **state)
{
	ward_error_t e = { 0 };
	ward_confset_t *cs = NULL;
	const char *dir;
	char path[512];

	(void)state;
	assert_true(ward_config_profile_name(WARD_MANAGED_PREFS_DIR, "com.warden.agent.plist"));
	assert_true(ward_config_profile_name("/Library/Managed Preferences/", "com.google.santa.plist"));
	assert_true(ward_config_profile_name(WARD_MANAGED_PREFS_DIR, "com.northpolesec.santa.plist"));
	assert_false(ward_config_profile_name(WARD_MANAGED_PREFS_DIR, "com.apple.dock.plist"));
	assert_false(ward_config_profile_name(WARD_MANAGED_PREFS_DIR, "com.google.santa.x.plist"));
	assert_false(ward_config_profile_name(WARD_MANAGED_PREFS_DIR, "x.mobileconfig"));
	assert_true(ward_config_profile_name("/Library/Managed Preferences2", "com.apple.dock.plist"));
	assert_true(ward_config_profile_name("/etc/warden/profiles", "com.apple.dock.plist"));
	assert_true(ward_config_profile_name(NULL, "a.mobileconfig"));
	assert_false(ward_config_profile_name(NULL, ".a.plist"));
	/* a binary plist named for Santa's domain: read as a Santa payload */
	dir = mkdir_sub("managed");
	snprintf(path, sizeof(path), "%s/com.google.santa.plist", dir);
	write_file(path, santa_bplist, sizeof(santa_bplist), 0644);
	assert_int_equal(ward_config_load_sources(NULL, dir, 0, &cs, NULL, &e), WARD_OK);
	assert_int_equal(ward_confset_config(cs)->mode, WARD_MODE_LOCKDOWN);
	ward_confset_free(cs);
}

static void test_mobileconfig_shapes(void **state)
{
	const char *no_payload = "<plist><dict><key>PayloadType</key><string>Configuration</string>"
	                         "<key>PayloadContent</key><array/></dict></plist>";
	const char *not_array = "<plist><dict><key>PayloadType</key><string>Configuration</string>"
	                        "<key>PayloadContent</key><dict/></dict></plist>";
	const char *wrong_top = "<plist><dict><key>PayloadType</key><string>com.apple.wifi</string>"
	                        "<key>PayloadContent</key><array/></dict></plist>";
	const char *not_dict = "<plist><array/></plist>";
	const char *setonce = "<plist><dict><key>PayloadType</key><string>Configuration</string>"
	                      "<key>PayloadContent</key><array><dict><key>PayloadType</key>"
	                      "<string>com.apple.ManagedClient.preferences</string><key>PayloadContent</key>"
	                      "<dict><key>com.warden.agent</key><dict><key>Set-Once</key><array/></dict>"
	                      "</dict></dict></array></dict></plist>";
	ward_error_t e = { 0 };
	ward_profile_t *p = NULL;
	json_t *diags = json_array();

	(void)state;
	assert_int_equal(ward_profile_read("x.mobileconfig", no_payload, strlen(no_payload), NULL, 0, &p,
	                                   diags, &e), WARD_OK);
	assert_int_equal(ward_profile_npayloads(p), 0);
	assert_non_null(strstr(ward_diag_text(json_array_get(diags, 0)), "the profile sets nothing"));
	ward_profile_free(p);
	assert_int_equal(ward_profile_read("x", not_array, strlen(not_array), NULL, 0, &p, NULL, &e), WARD_E_INVAL);
	assert_non_null(strstr(e.msg, "PayloadContent: expected an array"));
	assert_int_equal(ward_profile_read("x", wrong_top, strlen(wrong_top), NULL, 0, &p, NULL, &e), WARD_E_INVAL);
	assert_non_null(strstr(e.msg, "must be \"Configuration\""));
	assert_int_equal(ward_profile_read("x", not_dict, strlen(not_dict), NULL, 0, &p, NULL, &e), WARD_E_INVAL);
	assert_int_equal(ward_profile_read("x", setonce, strlen(setonce), NULL, 0, &p, diags, &e), WARD_OK);
	assert_int_equal(ward_profile_npayloads(p), 0);
	assert_non_null(strstr(ward_diag_text(json_array_get(diags, 1)), "Set-Once settings are not managed"));
	ward_profile_free(p);
	json_decref(diags);
}

static void test_validate_file_kinds(void **state)
{
	char path[PATH_MAX];
	ward_error_t e = { 0 };
	ward_confset_t *cs = NULL, *base = NULL;

	(void)state;
	/* a JSON file is a warden.conf: local-only keys allowed, anchors loaded */
	snprintf(path, sizeof(path), "%s/w.conf", tmpdir);
	write_conf(path, "  {\"RequireSignedProfiles\": true, \"ProfileTrustAnchors\": [\"/nonexistent.pem\"]}");
	assert_int_equal(ward_config_validate_file(path, NULL, &cs, NULL, &e), WARD_E_IO);
	/* base's RequireSignedProfiles applies to a validated profile */
	{
		char ca[PATH_MAX], buf[PATH_MAX + 80];
		assert_non_null(realpath("profiles/examples/signing/test-ca.pem", ca));
		snprintf(buf, sizeof(buf), "{\"RequireSignedProfiles\": true, \"ProfileTrustAnchors\": [\"%s\"]}", ca);
		write_conf(path, buf);
	}
	assert_int_equal(ward_config_load_sources(path, NULL, WARD_LOAD_CONF_REQUIRED, &base, NULL, &e), WARD_OK);
	assert_int_equal(ward_config_validate_file("profiles/examples/monitor-rollout.mobileconfig", base,
	                                           &cs, NULL, &e), WARD_E_PERM);
	assert_int_equal(ward_config_validate_file("profiles/examples/signed-lockdown-engineering.mobileconfig",
	                                           base, &cs, NULL, &e), WARD_OK);
	assert_int_equal(ward_confset_config(cs)->mode, WARD_MODE_LOCKDOWN);
	ward_confset_free(cs);
	ward_confset_free(base);
}

static int count_source(const ward_rule_t *r, void *arg)
{
	size_t *n = arg;

	n[r->source == WARD_SRC_PROFILE ? 0 : 1]++;
	return 0;
}

/* StaticRules become the store's managed slot: added, replaced, removed, and nothing
 * written when nothing changed. */
static void test_sync_rules_into_store(void **state)
{
	ward_error_t e = { 0 };
	ward_confset_t *merge = NULL, *santa = NULL;
	ward_store_t *st = NULL;
	ward_apply_stats_t stats;
	ward_rule_t local;
	uint64_t g1, g2;
	size_t n[2];

	(void)state;
	assert_int_equal(ward_store_open(":memory:", WARD_STORE_CREATE, &st, &e), WARD_OK);
	assert_int_equal(ward_config_load_sources(PF "/golden/merge/warden.conf",
	                                          PF "/golden/merge/profiles", 0, &merge, NULL, &e), WARD_OK);
	assert_int_equal(ward_config_load_sources(NULL, PF "/golden/santa/profiles", 0, &santa, NULL, &e), WARD_OK);
	/* a local rule for the same CDHASH as a managed one, and an unrelated local rule */
	memset(&local, 0, sizeof(local));
	local.type = WARD_RT_CDHASH;
	local.policy = WARD_POL_ALLOWLIST;
	local.source = WARD_SRC_LOCAL;
	local.identifier = "54a8ec11bcea48a276b1fdce556a29108ba77de4";
	assert_int_equal(ward_store_put(st, &local, &e), WARD_OK);

	assert_int_equal(ward_confset_sync_rules(merge, st, &stats, &e), WARD_OK);
	assert_int_equal(stats.put, 3);
	memset(n, 0, sizeof(n));
	assert_int_equal(ward_store_foreach(st, count_source, n, &e), WARD_OK);
	assert_int_equal(n[0], 3);
	assert_int_equal(n[1], 1);

	/* the same again: nothing written, generation unchanged */
	assert_int_equal(ward_store_generation(st, &g1, &e), WARD_OK);
	assert_int_equal(ward_confset_sync_rules(merge, st, &stats, &e), WARD_OK);
	assert_int_equal(stats.put + stats.removed, 0);
	assert_int_equal(ward_store_generation(st, &g2, &e), WARD_OK);
	assert_int_equal(g1, g2);

	/* another profile set: the three old managed rules go, three new ones come */
	assert_int_equal(ward_confset_sync_rules(santa, st, &stats, &e), WARD_OK);
	assert_int_equal(stats.put, 3);
	assert_int_equal(stats.removed, 3);
	memset(n, 0, sizeof(n));
	assert_int_equal(ward_store_foreach(st, count_source, n, &e), WARD_OK);
	assert_int_equal(n[0], 3);
	assert_int_equal(n[1], 1); /* the local rule is untouched */

	ward_confset_free(merge);
	ward_confset_free(santa);
	ward_store_close(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_defaults),
		cmocka_unit_test(test_golden_merge),
		cmocka_unit_test(test_golden_santa),
		cmocka_unit_test(test_golden_examples),
		cmocka_unit_test(test_merge_order_and_provenance),
		cmocka_unit_test_setup_teardown(test_bad_profiles_rejected_previous_kept, setup_tmp, teardown_tmp),
		cmocka_unit_test(test_every_error_reported_with_line),
		cmocka_unit_test(test_bad_rules_each_named),
		cmocka_unit_test_setup_teardown(test_signed_profiles, setup_tmp, teardown_tmp),
		cmocka_unit_test(test_apply_leaves_cfg_unchanged_on_error),
		cmocka_unit_test(test_apply_every_key),
		cmocka_unit_test(test_to_json_round_trips),
		cmocka_unit_test(test_sync_keys_refused),
		cmocka_unit_test_setup_teardown(test_load_json_file_names_file, setup_tmp, teardown_tmp),
		cmocka_unit_test(test_regex_check),
		cmocka_unit_test_setup_teardown(test_strict_permissions, setup_tmp, teardown_tmp),
		cmocka_unit_test(test_missing_sources),
		cmocka_unit_test_setup_teardown(test_managed_preferences, setup_tmp, teardown_tmp),
		cmocka_unit_test(test_mobileconfig_shapes),
		cmocka_unit_test_setup_teardown(test_validate_file_kinds, setup_tmp, teardown_tmp),
		cmocka_unit_test(test_sync_rules_into_store),
		cmocka_unit_test_setup_teardown(test_santa_keys, setup_tmp, teardown_tmp),
		cmocka_unit_test(test_santa_standalone_refused),
		cmocka_unit_test(test_santa_key_defaults),
		cmocka_unit_test(test_key_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
