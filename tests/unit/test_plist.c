/* Unit tests for profiles/plist.c: the XML property list reader. */
#include "tests/unit/testutil.h"

#include <time.h>

#include "common/limits.h"
#include "profiles/plist.h"

#define HDR "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
#define DOCTYPE "<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" " \
                "\"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n"

static ward_err_t parse(const char *s, json_t **out, ward_error_t *e)
{
	return ward_plist_parse(s, strlen(s), out, NULL, e);
}

/* Parse that must fail with code; returns the message for further checks. */
static const char *expect_fail(const char *doc, ward_err_t code)
{
	static ward_error_t e;
	json_t *t = (json_t *)1;

	memset(&e, 0, sizeof(e));
	assert_int_equal(ward_plist_parse(doc, strlen(doc), &t, NULL, &e), code);
	assert_null(t);
	assert_int_equal(e.code, code);
	return e.msg;
}

static void test_every_type_maps_to_json(void **state)
{
	const char *doc = HDR DOCTYPE
		"<plist version=\"1.0\">\n"
		"<dict>\n"
		"  <key>s</key><string>a &amp; b &#65; <![CDATA[<raw>]]></string>\n"
		"  <!-- a comment -->\n"
		"  <key>empty</key><string/>\n"
		"  <key>i</key><integer> -42 </integer>\n"
		"  <key>max</key><integer>9223372036854775807</integer>\n"
		"  <key>min</key><integer>-9223372036854775808</integer>\n"
		"  <key>hex</key><integer>0x10</integer>\n"
		"  <key>r</key><real>2.5e1</real>\n"
		"  <key>d</key><date>2024-02-29T23:59:59Z</date>\n"
		"  <key>b</key><data>\n   aGVs\n   bG8=\n  </data>\n"
		"  <key>t</key><true/>\n"
		"  <key>f</key><false/>\n"
		"  <key>a</key><array><integer>1</integer><dict/><array/></array>\n"
		"</dict>\n"
		"</plist>\n";
	json_t *t, *expect;
	json_error_t je;
	ward_error_t e = { 0 };

	(void)state;
	assert_int_equal(parse(doc, &t, &e), WARD_OK);
	expect = json_loads("{\"s\":\"a & b A <raw>\",\"empty\":\"\",\"i\":-42,"
	                    "\"max\":9223372036854775807,\"min\":-9223372036854775808,\"hex\":16,"
	                    "\"r\":25.0,\"d\":\"2024-02-29T23:59:59Z\",\"b\":\"aGVsbG8=\","
	                    "\"t\":true,\"f\":false,\"a\":[1,{},[]]}", 0, &je);
	assert_non_null(expect);
	assert_true(json_equal(t, expect));
	/* document order is kept */
	assert_string_equal(json_object_iter_key(json_object_iter(t)), "s");
	json_decref(expect);
	json_decref(t);
}

static void test_line_table_points_at_values(void **state)
{
	const char *doc = HDR
		"<plist>\n"                           /* 2 */
		"<dict>\n"                            /* 3 */
		"  <key>one</key>\n"                  /* 4 */
		"  <string>x</string>\n"              /* 5 */
		"  <key>list</key>\n"                 /* 6 */
		"  <array>\n"                         /* 7 */
		"    <true/>\n"                       /* 8 */
		"\n"
		"    <integer>3</integer>\n"          /* 10 */
		"  </array>\n"
		"</dict>\n"
		"</plist>\n";
	ward_plist_lines_t *l;
	ward_error_t e = { 0 };
	json_t *t;

	(void)state;
	assert_int_equal(ward_plist_parse(doc, strlen(doc), &t, &l, &e), WARD_OK);
	assert_int_equal(ward_plist_line_root(l), 3);
	assert_int_equal(ward_plist_line_key(l, t, "one"), 5);
	assert_int_equal(ward_plist_line_key(l, t, "list"), 7);
	assert_int_equal(ward_plist_line_key(l, t, "nope"), 0);
	assert_int_equal(ward_plist_line_at(l, json_object_get(t, "list"), 0), 8);
	assert_int_equal(ward_plist_line_at(l, json_object_get(t, "list"), 1), 10);
	assert_int_equal(ward_plist_line_at(l, json_object_get(t, "list"), 2), 0);
	assert_int_equal(ward_plist_line_at(NULL, t, 0), 0);
	ward_plist_lines_free(l);
	json_decref(t);
}

static void test_malformed_xml_names_the_line(void **state)
{
	const char *m;

	(void)state;
	m = expect_fail(HDR "<plist>\n<dict>\n<key>a</key>\n<string>x</strin>\n</dict></plist>\n",
	                WARD_E_MALFORMED);
	assert_non_null(strstr(m, "line 5:"));
	assert_non_null(strstr(m, "mismatch"));
	m = expect_fail(HDR "<plist>\n<dict>\n<key>a</key>\n<string>x</string>\n", WARD_E_MALFORMED);
	assert_non_null(strstr(m, "line "));
	m = expect_fail("", WARD_E_MALFORMED);
	assert_non_null(strstr(m, "empty"));
}

static void test_structure_errors(void **state)
{
	const char *m;

	(void)state;
	m = expect_fail(HDR "<plist>\n<dict>\n<key>a</key><true/>\n<key>a</key><false/>\n</dict></plist>",
	                WARD_E_MALFORMED);
	assert_non_null(strstr(m, "line 5: duplicate key \"a\""));
	m = expect_fail(HDR "<plist><dict><key>a</key></dict></plist>", WARD_E_MALFORMED);
	assert_non_null(strstr(m, "has no value"));
	m = expect_fail(HDR "<plist><dict><string>a</string></dict></plist>", WARD_E_MALFORMED);
	assert_non_null(strstr(m, "expected <key>"));
	m = expect_fail(HDR "<plist><dict>text<key>a</key><true/></dict></plist>", WARD_E_MALFORMED);
	assert_non_null(strstr(m, "unexpected text"));
	m = expect_fail(HDR "<plist><true/><false/></plist>", WARD_E_MALFORMED);
	assert_non_null(strstr(m, "more than one value"));
	m = expect_fail(HDR "<plist/>", WARD_E_MALFORMED);
	assert_non_null(strstr(m, "no value"));
	m = expect_fail(HDR "<dict/>", WARD_E_BADMAGIC);
	assert_non_null(strstr(m, "not <plist>"));
	m = expect_fail(HDR "<plist><set/></plist>", WARD_E_MALFORMED);
	assert_non_null(strstr(m, "unknown plist element <set>"));
	m = expect_fail(HDR "<plist><string>a<b/></string></plist>", WARD_E_MALFORMED);
	assert_non_null(strstr(m, "cannot contain"));
	m = expect_fail(HDR "<plist><true>x</true></plist>", WARD_E_MALFORMED);
	m = expect_fail("bplist00\x01\x02", WARD_E_UNSUPPORTED);
	assert_non_null(strstr(m, "binary"));
}

static void test_bad_scalars(void **state)
{
	(void)state;
	expect_fail("<plist><integer>12a</integer></plist>", WARD_E_MALFORMED);
	expect_fail("<plist><integer></integer></plist>", WARD_E_MALFORMED);
	expect_fail("<plist><integer>9223372036854775808</integer></plist>", WARD_E_MALFORMED);
	expect_fail("<plist><integer>-9223372036854775809</integer></plist>", WARD_E_MALFORMED);
	expect_fail("<plist><integer>99999999999999999999999</integer></plist>", WARD_E_MALFORMED);
	expect_fail("<plist><real>nan</real></plist>", WARD_E_MALFORMED);
	expect_fail("<plist><real>inf</real></plist>", WARD_E_MALFORMED);
	expect_fail("<plist><real>1e999</real></plist>", WARD_E_MALFORMED);
	expect_fail("<plist><real>1.5x</real></plist>", WARD_E_MALFORMED);
	expect_fail("<plist><date>2023-02-29T00:00:00Z</date></plist>", WARD_E_MALFORMED);
	expect_fail("<plist><date>2024-13-01T00:00:00Z</date></plist>", WARD_E_MALFORMED);
	expect_fail("<plist><date>2024-01-01 00:00:00</date></plist>", WARD_E_MALFORMED);
	expect_fail("<plist><data>aGVsbG8</data></plist>", WARD_E_MALFORMED);
	expect_fail("<plist><data>aG=sbG8=</data></plist>", WARD_E_MALFORMED);
	expect_fail("<plist><data>a*==</data></plist>", WARD_E_MALFORMED);
}

/*
 * Billion laughs: ten levels of ten references would expand to 10^9 "lol"s. The
 * declaration itself stops the parse, so nothing is expanded: this returns at once.
 */
static void test_billion_laughs_rejected(void **state)
{
	const char *doc = HDR
		"<!DOCTYPE plist [\n"
		" <!ENTITY lol \"lol\">\n"
		" <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
		" <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"
		" <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
		" <!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n"
		" <!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">\n"
		" <!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">\n"
		" <!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">\n"
		" <!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">\n"
		" <!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">\n"
		"]>\n"
		"<plist><dict><key>ClientMode</key><string>&lol9;</string></dict></plist>\n";
	const char *m;

	(void)state;
	m = expect_fail(doc, WARD_E_UNSUPPORTED);
	assert_non_null(strstr(m, "line 3:"));
	assert_non_null(strstr(m, "entity declaration 'lol'"));
	/* parameter entities too */
	m = expect_fail(HDR "<!DOCTYPE plist [ <!ENTITY % p \"x\"> %p; ]><plist><true/></plist>",
	                WARD_E_UNSUPPORTED);
	assert_non_null(strstr(m, "entity declaration"));
	/* and any other declaration */
	m = expect_fail(HDR "<!DOCTYPE plist [ <!ELEMENT plist ANY> ]><plist><true/></plist>",
	                WARD_E_UNSUPPORTED);
	m = expect_fail(HDR "<!DOCTYPE plist [ <!ATTLIST plist v CDATA \"1\"> ]><plist><true/></plist>",
	                WARD_E_UNSUPPORTED);
}

/* External entities: declared -> refused; referenced without a declaration -> refused. */
static void test_external_entity_to_etc_passwd_rejected(void **state)
{
	const char *m;

	(void)state;
	m = expect_fail(HDR "<!DOCTYPE plist [\n <!ENTITY xxe SYSTEM \"file:///etc/passwd\">\n]>\n"
	                "<plist><string>&xxe;</string></plist>\n", WARD_E_UNSUPPORTED);
	assert_non_null(strstr(m, "line 3:"));
	assert_non_null(strstr(m, "'xxe' (external)"));
	assert_null(strstr(m, "root:"));
	/* an external DTD is never loaded, so the entity stays an unexpanded reference */
	m = expect_fail(HDR "<!DOCTYPE plist SYSTEM \"file:///etc/passwd\">\n"
	                "<plist><string>&xxe;</string></plist>\n", WARD_E_UNSUPPORTED);
	assert_non_null(strstr(m, "line 3: entity reference &xxe; is not allowed"));
	assert_null(strstr(m, "root:"));
	/* XInclude is not processed: an include element is just an error */
	m = expect_fail(HDR "<plist><string><xi:include xmlns:xi=\"http://www.w3.org/2001/XInclude\" "
	                "href=\"/etc/passwd\" parse=\"text\"/></string></plist>", WARD_E_MALFORMED);
	assert_null(strstr(m, "root:"));
}

static char *repeat_doc(const char *open, const char *unit, size_t n, const char *close, size_t *len)
{
	size_t lo = strlen(open), lu = strlen(unit), lc = strlen(close);
	char *s = malloc(lo + lu * n + lc + 1), *p = s;

	assert_non_null(s);
	memcpy(p, open, lo);
	p += lo;
	for (size_t i = 0; i < n; i++, p += lu)
		memcpy(p, unit, lu);
	memcpy(p, close, lc + 1);
	*len = (size_t)(p - s) + lc;
	return s;
}

static void test_huge_array_over_node_limit(void **state)
{
	ward_error_t e = { 0 };
	json_t *t = NULL;
	size_t len;
	char *doc;

	(void)state;
	/* one element more than the limit (the array itself counts) */
	doc = repeat_doc("<plist><array>", "<true/>", WARD_MAX_PLIST_NODES, "</array></plist>", &len);
	assert_true(len <= WARD_MAX_PLIST_BYTES);
	assert_int_equal(ward_plist_parse(doc, len, &t, NULL, &e), WARD_E_LIMIT);
	assert_null(t);
	assert_non_null(strstr(e.msg, "more than"));
	assert_non_null(strstr(e.msg, "elements"));
	free(doc);
	/* just under the limit is fine */
	doc = repeat_doc("<plist><array>", "<true/>", WARD_MAX_PLIST_NODES - 2, "</array></plist>", &len);
	assert_int_equal(ward_plist_parse(doc, len, &t, NULL, &e), WARD_OK);
	assert_int_equal(json_array_size(t), WARD_MAX_PLIST_NODES - 2);
	json_decref(t);
	free(doc);
}

static void test_depth_and_size_limits(void **state)
{
	ward_error_t e = { 0 };
	json_t *t = NULL;
	char *doc, *p;
	size_t len, n;

	(void)state;
	/* WARD_MAX_PLIST_DEPTH nested arrays are fine, one more is not */
	for (unsigned depth = WARD_MAX_PLIST_DEPTH; depth <= WARD_MAX_PLIST_DEPTH + 1; depth++) {
		doc = malloc(64 + 16 * depth);
		assert_non_null(doc);
		p = doc + sprintf(doc, "<plist>");
		for (unsigned i = 0; i < depth; i++)
			p += sprintf(p, "<array>");
		for (unsigned i = 0; i < depth; i++)
			p += sprintf(p, "</array>");
		sprintf(p, "</plist>");
		if (depth == WARD_MAX_PLIST_DEPTH) {
			assert_int_equal(parse(doc, &t, &e), WARD_OK);
			json_decref(t);
		} else {
			assert_int_equal(parse(doc, &t, &e), WARD_E_LIMIT);
			assert_non_null(strstr(e.msg, "nesting deeper"));
		}
		free(doc);
	}
	/* more bytes than the limit: rejected before parsing */
	n = WARD_MAX_PLIST_BYTES + 1;
	doc = malloc(n);
	assert_non_null(doc);
	memset(doc, ' ', n);
	memcpy(doc, "<plist>", 7);
	assert_int_equal(ward_plist_parse(doc, n, &t, NULL, &e), WARD_E_LIMIT);
	free(doc);
	(void)len;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_type_maps_to_json),
		cmocka_unit_test(test_line_table_points_at_values),
		cmocka_unit_test(test_malformed_xml_names_the_line),
		cmocka_unit_test(test_structure_errors),
		cmocka_unit_test(test_bad_scalars),
		cmocka_unit_test(test_billion_laughs_rejected),
		cmocka_unit_test(test_external_entity_to_etc_passwd_rejected),
		cmocka_unit_test(test_huge_array_over_node_limit),
		cmocka_unit_test(test_depth_and_size_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
