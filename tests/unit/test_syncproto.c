/* Unit tests for agent/sync/proto.c: every response checked before use. */
#include "tests/unit/testutil.h"

#include "agent/sync/proto.h"

static ward_err_t settings(const char *js, ward_sync_settings_t *s, ward_error_t *e)
{
	json_t *o = json_loads(js, 0, NULL);
	ward_err_t rc;

	assert_non_null(o);
	rc = ward_sync_settings_from_json(o, s, e);
	json_decref(o);
	return rc;
}

static void test_settings(void **state)
{
	ward_sync_settings_t s;
	ward_error_t e = { 0 };
	json_t *j, *o;

	(void)state;
	assert_int_equal(settings("{\"client_mode\": \"LOCKDOWN\", \"batch_size\": 100, "
	                          "\"full_sync_interval\": 600, \"enable_transitive_rules\": true, "
	                          "\"allowed_path_regex\": \"^/opt/\", \"blocked_path_regex\": \"\", "
	                          "\"sync_type\": \"clean_all\", \"enable_bundles\": true}", &s, &e), WARD_OK);
	assert_true(s.has_mode && s.mode == WARD_MODE_LOCKDOWN);
	assert_true(s.has_batch_size && s.batch_size == 100);
	assert_true(s.has_full_sync_interval && s.full_sync_interval_s == 600);
	assert_true(s.has_transitive && s.enable_transitive);
	assert_true(s.has_allowed_regex);
	assert_string_equal(s.allowed_regex, "^/opt/");
	assert_true(s.has_blocked_regex); /* "" clears */
	assert_int_equal(s.sync_type, WARD_SYNC_CLEAN_ALL);
	/* round trip through the control message */
	j = ward_sync_settings_to_json(&s);
	ward_sync_settings_t back;
	assert_int_equal(ward_sync_settings_from_json(j, &back, &e), WARD_OK);
	assert_memory_equal(&s, &back, sizeof(s));
	json_decref(j);
	/* the older clean_sync flag; nothing said: nothing set */
	assert_int_equal(settings("{\"clean_sync\": true}", &s, &e), WARD_OK);
	assert_int_equal(s.sync_type, WARD_SYNC_CLEAN);
	assert_false(s.has_mode);
	/* a list of regexes, as some servers send them: their alternation */
	assert_int_equal(settings("{\"blocked_path_regex\": [\"^/tmp/\", \"^/var/tmp/\"]}", &s, &e), WARD_OK);
	assert_string_equal(s.blocked_regex, "(?:^/tmp/)|(?:^/var/tmp/)");
	assert_int_equal(settings("{\"blocked_path_regex\": [\"/tmp/\", \"/var/tmp/\"]}", &s, &e), WARD_OK);
	assert_string_equal(s.blocked_regex, "(?:^/tmp/)|(?:^/var/tmp/)"); /* each anchored, as Santa anchors one */
	assert_int_not_equal(settings("{\"blocked_path_regex\": [\"(\"]}", &s, &e), WARD_OK);
	assert_int_equal(settings("{}", &s, &e), WARD_OK);
	assert_int_equal(s.sync_type, WARD_SYNC_NORMAL);
	(void)o;

	static const struct { const char *js, *part; } bad[] = {
		{ "{\"client_mode\": \"PERMISSIVE\"}", "client_mode" },
		{ "{\"client_mode\": 1}", "client_mode: not a string" },
		{ "{\"batch_size\": 0}", "batch_size" },
		{ "{\"batch_size\": 100000}", "batch_size" },
		{ "{\"batch_size\": \"10\"}", "batch_size: not an integer" },
		{ "{\"full_sync_interval\": 5}", "full_sync_interval" },
		{ "{\"allowed_path_regex\": \"(\"}", "allowed_path_regex" },
		{ "{\"sync_type\": \"wipe\"}", "sync_type" },
		{ "{\"enable_transitive_rules\": \"yes\"}", "enable_transitive_rules" },
		{ "[]", "not a JSON object" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (settings(bad[i].js, &s, &e) == WARD_OK || strstr(e.msg, bad[i].part) == NULL)
			fail_msg("%s: expected an error naming \"%s\", got \"%s\"", bad[i].js, bad[i].part, e.msg);
	}
}

static void test_rule_pages(void **state)
{
	ward_rule_batch_t *b = NULL;
	ward_error_t e = { 0 };
	json_t *cur = NULL;
	const ward_rule_t *r;
	size_t idx = 0, n;
	const char *p1 = "{\"rules\": [{\"identifier\": \"EQHXZ8M8AV\", \"policy\": \"ALLOWLIST\", "
	                 "\"rule_type\": \"TEAMID\", \"custom_msg\": \"ok\"}], \"cursor\": \"abc\"}";
	const char *p2 = "{\"cursor\": null, \"rules\": [{\"sha256\": \"" \
	                 "AB00000000000000000000000000000000000000000000000000000000000000\", "
	                 "\"policy\": \"BLACKLIST\", \"rule_type\": \"BINARY\"}]}";

	const char *p3 = "{\"rules\": [], \"cursor\": 7}", *p4 = "{\"rules\": null, \"cursor\": \"\"}";

	(void)state;
	assert_int_equal(ward_rule_batch_create(&b, &e), WARD_OK);
	assert_int_equal(ward_sync_parse_rules(p1, strlen(p1), b, &idx, &cur, &e), WARD_OK);
	assert_non_null(cur);
	assert_string_equal(json_string_value(cur), "abc");
	json_decref(cur);
	assert_int_equal(ward_sync_parse_rules(p2, strlen(p2), b, &idx, &cur, &e), WARD_OK);
	assert_null(cur); /* the last page */
	assert_int_equal(idx, 2);
	r = ward_rule_batch_rules(b, &n);
	assert_int_equal(n, 2);
	assert_int_equal(r[0].source, WARD_SRC_SYNC);
	assert_int_equal(r[1].policy, WARD_POL_BLOCKLIST);
	assert_string_equal(r[1].identifier, "ab00000000000000000000000000000000000000000000000000000000000000");

	/* numeric cursors are kept as numbers; "" means the end */
	assert_int_equal(ward_sync_parse_rules(p3, strlen(p3), b, &idx, &cur, &e), WARD_OK);
	assert_true(json_is_integer(cur));
	json_decref(cur);
	assert_int_equal(ward_sync_parse_rules(p4, strlen(p4), b, &idx, &cur, &e), WARD_OK);
	assert_null(cur);

	static const struct { const char *body, *part; } bad[] = {
		{ "{\"rules\": [{\"identifier\": \"x\", \"policy\": \"ALLOWLIST\", \"rule_type\": \"BINARY\"}]}",
		  "rules[2]" }, /* named by its index over every page */
		{ "{\"rules\": [", "not valid JSON" },
		{ "{\"rules\": {}}", "\"rules\" array" },
		{ "{\"rules\": [], \"cursor\": {}}", "cursor" },
		{ "[1]", "top level" },
		{ "", "empty" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (ward_sync_parse_rules(bad[i].body, strlen(bad[i].body), b, &idx, &cur, &e) == WARD_OK ||
		    strstr(e.msg, bad[i].part) == NULL)
			fail_msg("%s: expected an error naming \"%s\", got \"%s\"", bad[i].body, bad[i].part, e.msg);
		assert_null(cur);
	}
	/* a cursor beyond the limit */
	{
		size_t len = WARD_MAX_SYNC_CURSOR + 64;
		char *big = malloc(len + 64);
		assert_non_null(big);
		int k = sprintf(big, "{\"rules\": [], \"cursor\": \"");
		memset(big + k, 'c', WARD_MAX_SYNC_CURSOR + 1);
		strcpy(big + k + WARD_MAX_SYNC_CURSOR + 1, "\"}");
		assert_int_equal(ward_sync_parse_rules(big, strlen(big), b, &idx, &cur, &e), WARD_E_LIMIT);
		free(big);
	}
	/* a NUL byte in a response */
	assert_int_equal(ward_sync_parse_rules("{\"rules\": []}\0", 14, b, &idx, &cur, &e), WARD_E_MALFORMED);
	ward_rule_batch_free(b);
}

static void test_objects_and_zlib(void **state)
{
	json_t *o = NULL;
	ward_error_t e = { 0 };
	unsigned char *z = NULL;
	char *back = NULL;
	size_t zlen, blen;
	const char *text = "{\"serial_num\": \"X\", \"hostname\": \"h\"}";

	(void)state;
	assert_int_equal(ward_sync_parse_object("  \n", 3, &o, &e), WARD_OK); /* empty: {} */
	assert_true(json_is_object(o));
	json_decref(o);
	assert_int_equal(ward_sync_parse_object("{\"a\": 1, \"a\": 2}", 16, &o, &e), WARD_E_MALFORMED);
	assert_int_equal(ward_sync_parse_object("[]", 2, &o, &e), WARD_E_MALFORMED);
	assert_int_equal(ward_sync_deflate(text, strlen(text), &z, &zlen, &e), WARD_OK);
	assert_true(z[0] == 0x78); /* zlib header, as Santa's compressed bodies */
	assert_int_equal(ward_sync_inflate(z, zlen, 1024, &back, &blen, &e), WARD_OK);
	assert_int_equal(blen, strlen(text));
	assert_memory_equal(back, text, blen);
	free(back);
	assert_int_equal(ward_sync_inflate(z, zlen, 8, &back, &blen, &e), WARD_E_LIMIT);
	assert_int_equal(ward_sync_inflate(z, zlen - 3, 1024, &back, &blen, &e), WARD_E_MALFORMED);
	free(z);
}

static void test_hash(void **state)
{
	ward_rule_t a = { .type = WARD_RT_TEAMID, .policy = WARD_POL_ALLOWLIST, .identifier = "EQHXZ8M8AV" };
	ward_rule_t b = a;
	char h1[65], h2[65], h0[65];
	ward_sync_hash_t *h;

	(void)state;
	b.policy = WARD_POL_BLOCKLIST;
	h = ward_sync_hash_new();
	ward_sync_hash_add(h, &a);
	ward_sync_hash_final(h, h1);
	h = ward_sync_hash_new();
	ward_sync_hash_add(h, &b);
	ward_sync_hash_final(h, h2);
	h = ward_sync_hash_new();
	ward_sync_hash_final(h, h0);
	assert_int_equal(strlen(h1), 64);
	assert_string_not_equal(h1, h2); /* a policy change changes the hash */
	assert_string_equal(h0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_settings),
		cmocka_unit_test(test_rule_pages),
		cmocka_unit_test(test_objects_and_zlib),
		cmocka_unit_test(test_hash),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
