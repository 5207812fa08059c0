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
	m = expect_fail("bplist00\x01\x02", WARD_E_TRUNCATED); /* binary: read, too short */
	assert_non_null(strstr(m, "binary plist"));
	m = expect_fail("bplist15 a later format version nobody writes for preferences", WARD_E_UNSUPPORTED);
	assert_non_null(strstr(m, "bplist00"));
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

/* A binary plist (as Python's plistlib writes it, like macOS's managed preferences)
 * gives the same tree as its XML form: every type, document order, UTF-16 strings with
 * a surrogate pair, dates, data in base64. */
static const unsigned char bp_every_type[] = {
	0x62, 0x70, 0x6c, 0x69, 0x73, 0x74, 0x30, 0x30, 0xdb, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06,
	0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15,
	0x1b, 0x5a, 0x43, 0x6c, 0x69, 0x65, 0x6e, 0x74, 0x4d, 0x6f, 0x64, 0x65, 0x55, 0x43, 0x6f,
	0x75, 0x6e, 0x74, 0x53, 0x42, 0x69, 0x67, 0x54, 0x57, 0x69, 0x64, 0x65, 0x52, 0x4f, 0x6e,
	0x53, 0x4f, 0x66, 0x66, 0x55, 0x52, 0x61, 0x74, 0x69, 0x6f, 0x54, 0x57, 0x68, 0x65, 0x6e,
	0x54, 0x42, 0x6c, 0x6f, 0x62, 0x54, 0x4c, 0x69, 0x73, 0x74, 0x54, 0x4e, 0x61, 0x6d, 0x65,
	0x58, 0x4c, 0x4f, 0x43, 0x4b, 0x44, 0x4f, 0x57, 0x4e, 0x10, 0x2a, 0x13, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xfb, 0x12, 0x00, 0x01, 0x11, 0x70, 0x09, 0x08, 0x23, 0x3f, 0xe0,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x33, 0x41, 0xc8, 0x60, 0x82, 0xca, 0x80, 0x00, 0x00,
	0x49, 0x00, 0x01, 0xfe, 0x77, 0x61, 0x72, 0x64, 0x65, 0x6e, 0xa3, 0x16, 0x17, 0x18, 0x51,
	0x61, 0x10, 0x01, 0xd1, 0x19, 0x1a, 0x51, 0x6b, 0x51, 0x76, 0x67, 0x00, 0x63, 0x00, 0x61,
	0x00, 0x66, 0x00, 0xe9, 0x00, 0x20, 0xd8, 0x3d, 0xde, 0x00, 0x08, 0x1f, 0x2a, 0x30, 0x34,
	0x39, 0x3c, 0x40, 0x46, 0x4b, 0x50, 0x55, 0x5a, 0x63, 0x65, 0x6e, 0x73, 0x74, 0x75, 0x7e,
	0x87, 0x91, 0x95, 0x97, 0x99, 0x9c, 0x9e, 0xa0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xaf
};

static void test_binary_plist_maps_to_json(void **state)
{
	json_t *t = NULL, *want;
	ward_plist_lines_t *l = NULL;
	ward_error_t e = { 0 };
	const char *k;
	json_t *v;
	size_t i = 0;
	static const char *const order[] = { "ClientMode", "Count", "Big", "Wide", "On", "Off",
	                                     "Ratio", "When", "Blob", "List", "Name" };

	(void)state;
	assert_int_equal(ward_plist_parse(bp_every_type, sizeof(bp_every_type), &t, &l, &e), WARD_OK);
	want = json_loads("{\"ClientMode\": \"LOCKDOWN\", \"Count\": 42, \"Big\": -5, \"Wide\": 70000,"
	                  " \"On\": true, \"Off\": false, \"Ratio\": 0.5, \"When\": \"2026-12-03T02:04:05Z\","
	                  " \"Blob\": \"AAH+d2FyZGVu\", \"List\": [\"a\", 1, {\"k\": \"v\"}],"
	                  " \"Name\": \"caf\\u00e9 \\ud83d\\ude00\"}", 0, NULL);
	assert_non_null(want);
	assert_true(json_equal(t, want));
	json_object_foreach(t, k, v)
		assert_string_equal(k, order[i++]);
	assert_int_equal(i, 11);
	assert_non_null(l); /* a table with no lines */
	assert_int_equal(ward_plist_line_root(l), 0);
	assert_int_equal(ward_plist_line_key(l, t, "Count"), 0);
	ward_plist_lines_free(l);
	json_decref(want);
	json_decref(t);
}

/* Parse bytes that must fail with code; the message must name the binary plist. */
static void bp_fail(const unsigned char *b, size_t n, ward_err_t code)
{
	ward_error_t e = { 0 };
	json_t *t = (json_t *)1;

	assert_int_equal(ward_plist_parse(b, n, &t, NULL, &e), code);
	assert_null(t);
	assert_non_null(strstr(e.msg, "binary plist"));
}

/* A one-object plist: header, the object's bytes, a 1-byte offset table, the trailer. */
static size_t bp_build(unsigned char *out, const unsigned char *obj, size_t n, uint64_t nobj,
                       uint64_t top)
{
	size_t k = 0;

	memcpy(out, "bplist00", 8);
	k = 8;
	memcpy(out + k, obj, n);
	k += n;
	size_t table = k;
	out[k++] = 8; /* object 0 at offset 8 */
	memset(out + k, 0, 32);
	out[k + 6] = 1; /* offset size */
	out[k + 7] = 1; /* reference size */
	for (int i = 0; i < 8; i++) {
		out[k + 15 - i] = (unsigned char)(nobj >> (8 * i));
		out[k + 23 - i] = (unsigned char)(top >> (8 * i));
		out[k + 31 - i] = (unsigned char)((uint64_t)table >> (8 * i));
	}
	return k + 32;
}

static void test_binary_plist_hostile(void **state)
{
	unsigned char b[512];
	size_t n;

	(void)state;
	/* every prefix of a good one is refused, never read past */
	for (size_t cut = 0; cut < sizeof(bp_every_type); cut++) {
		ward_error_t e = { 0 };
		json_t *t = NULL;
		if (cut >= 6)
			assert_int_not_equal(ward_plist_parse(bp_every_type, cut, &t, NULL, &e), WARD_OK);
		assert_null(t);
	}
	/* an array that holds itself: a loop, stopped by the depth cap */
	n = bp_build(b, (const unsigned char[]){ 0xa1, 0x00 }, 2, 1, 0);
	bp_fail(b, n, WARD_E_LIMIT);
	/* the top object is not there; an object count the table cannot hold */
	n = bp_build(b, (const unsigned char[]){ 0x09 }, 1, 1, 1);
	bp_fail(b, n, WARD_E_MALFORMED);
	n = bp_build(b, (const unsigned char[]){ 0x09 }, 1, 1ull << 62, 0);
	bp_fail(b, n, WARD_E_MALFORMED);
	/* a string whose length runs past the objects; a huge extended length */
	n = bp_build(b, (const unsigned char[]){ 0x5f, 0x10, 0x7f, 'a' }, 4, 1, 0);
	bp_fail(b, n, WARD_E_TRUNCATED);
	n = bp_build(b, (const unsigned char[]){ 0x5f, 0x13, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, 10, 1, 0);
	bp_fail(b, n, WARD_E_TRUNCATED);
	/* a dict whose key is not a string (the integer itself is object 0: the key refers
	 * to its own dict) */
	n = bp_build(b, (const unsigned char[]){ 0xd1, 0x00, 0x00 }, 3, 1, 0);
	bp_fail(b, n, WARD_E_MALFORMED);
	/* an unpaired surrogate; NUL in an ASCII string; a UID; a 128-bit integer */
	n = bp_build(b, (const unsigned char[]){ 0x61, 0xd8, 0x3d }, 3, 1, 0);
	bp_fail(b, n, WARD_E_MALFORMED);
	n = bp_build(b, (const unsigned char[]){ 0x52, 'a', 0 }, 3, 1, 0);
	bp_fail(b, n, WARD_E_MALFORMED);
	n = bp_build(b, (const unsigned char[]){ 0x80, 0x01 }, 2, 1, 0);
	bp_fail(b, n, WARD_E_UNSUPPORTED);
	n = bp_build(b, (const unsigned char[]){ 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 }, 17, 1, 0);
	bp_fail(b, n, WARD_E_LIMIT);
	/* a NaN real */
	n = bp_build(b, (const unsigned char[]){ 0x23, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0 }, 9, 1, 0);
	bp_fail(b, n, WARD_E_MALFORMED);
	/* and a minimal good one still parses: true */
	n = bp_build(b, (const unsigned char[]){ 0x09 }, 1, 1, 0);
	{
		ward_error_t e = { 0 };
		json_t *t = NULL;
		assert_int_equal(ward_plist_parse(b, n, &t, NULL, &e), WARD_OK);
		assert_true(json_is_true(t));
		json_decref(t);
	}
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
		cmocka_unit_test(test_binary_plist_maps_to_json),
		cmocka_unit_test(test_binary_plist_hostile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
