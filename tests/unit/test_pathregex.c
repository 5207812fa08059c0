/*
 * Unit tests for profiles/pathregex.c: Santa's ICU path regexes on PCRE2. Anchoring as
 * Santa anchors, ICU meaning of what is accepted, a named offset for what is not, bytes
 * that are not UTF-8, bounded work, concurrent matching.
 */
#include "tests/unit/testutil.h"

#include <pthread.h>
#include <time.h>

#include "profiles/pathregex.h"

static ward_pathregex_t *rx(const char *p, unsigned flags)
{
	ward_error_t e = { 0 };
	ward_pathregex_t *re = NULL;

	if (ward_pathregex_compile(p, flags, &re, &e) != WARD_OK)
		fail_msg("\"%s\" did not compile: %s", p, e.msg);
	return re;
}

static bool m(const char *p, const char *path)
{
	ward_pathregex_t *re = rx(p, 0);
	bool r = ward_pathregex_match(re, path);

	ward_pathregex_free(re);
	return r;
}

static void test_anchored_like_santa(void **state)
{
	(void)state;
	/* '^' is prepended when missing, as SNTConfigurator does */
	assert_true(m("/tmp/", "/tmp/x"));
	assert_false(m("/tmp/", "/var/tmp/x"));
	assert_false(m("tmp/", "/tmp/x"));
	assert_true(m("^/opt/ok", "/opt/ok/bin/tool")); /* the rest of the path is free */
	/* ... to the string: the first alternative only (Santa's reading too) */
	assert_true(m("/a/|/b/", "/x/b/y"));
	assert_false(m("(?:/a/|/b/)", "/x/b/y"));
	assert_true(m("^/Users/[^/]+/Downloads/", "/Users/jo/Downloads/evil"));
	assert_false(m("^/Users/[^/]+/Downloads/", "/Users/jo/x/Downloads/evil"));
}

static void test_icu_meaning(void **state)
{
	(void)state;
	/* code points, not bytes */
	assert_true(m("^/x/.$", "/x/\xc3\xa9"));
	assert_true(m("^/x/\\w+$", "/x/\xc3\xa9t\xc3\xa9"));
	/* ICU escapes PCRE2 spells otherwise */
	assert_true(m("^/x/\\u00e9$", "/x/\xc3\xa9"));
	assert_true(m("^/x/\\U0001F600$", "/x/\xf0\x9f\x98\x80"));
	assert_true(m("^/x/\\0101$", "/x/A")); /* ICU: \0 + three octal digits */
	assert_false(m("^/x/\\0101$", "/x/\0101"));
	assert_true(m("^/x/\\x{e9}$", "/x/\xc3\xa9"));
	assert_true(m("^/x/\\Q.*\\E$", "/x/.*"));
	assert_false(m("^/x/\\Q.*\\E$", "/x/ab"));
	assert_true(m("(?i)^/X/", "/x/y"));
	assert_true(m("^/x/(?<name>a)\\k<name>", "/x/aa"));
	assert_true(m("^/x/a{2,3}$", "/x/aaa"));
	assert_true(m("^/x/[^/]+\\.app/", "/x/Foo.app/Contents"));
	/* '.' does not cross a newline in an allowed regex (ICU) ... */
	assert_false(m("^/tmp/.*\\.sh$", "/tmp/a\nb.sh"));
	/* ... and does in a blocked one: a newline cannot hide a file from it */
	{
		ward_pathregex_t *re = rx("^/tmp/.*\\.sh$", WARD_PATHREGEX_BLOCKING);
		assert_true(ward_pathregex_match(re, "/tmp/a\nb.sh"));
		assert_string_equal(ward_pathregex_pattern(re), "^/tmp/.*\\.sh$");
		ward_pathregex_free(re);
	}
}

static void test_refused_with_offset(void **state)
{
	static const struct { const char *p, *want; } bad[] = {
		{ "^/a/[[a-z]]", "at offset 5: a set inside a set" },
		{ "^/a/[a-z&&[aeiou]]", "at offset 8: set intersection" },
		{ "^/a/[\\p{L}--a]", "at offset 10: set difference" },
		{ "^/a/[[:alpha:]]", "at offset 5: [:name:]" },
		{ "^/a/\\N{LATIN SMALL LETTER E}", "at offset 4: \\N{NAME}" },
		{ "(?w)^/a/", "at offset 0: the (?w) flag" },
		{ "(*UTF)^/a/", "at offset 0: (*...)" },
		{ "^/a/(?|b|c)", "at offset 4: \"(?|b|c)\" is not ICU" },
		{ "^/a/(?R)", "not ICU syntax" },
		{ "^/a/(b)(?1)", "at offset 7" },
		{ "^/a/(?P<n>b)", "not ICU syntax" },
		{ "^/a/b\\Kc", "at offset 5: \\K is not ICU" },
		{ "^/a/\\g1", "\\g is not ICU" },
		{ "^/a/{", "at offset 4: a '{' that does not start" },
		{ "^/a/b{,3}", "at offset 5: a '{'" },
		{ "^/a/[]b]", "at offset 5: a ']' first in a set" },
		{ "^/a/[b", "at offset 4: the set is never closed" },
		{ "^/a/\\u12", "\\u needs 4 hex digits" },
		{ "^/a/\\uD800", "not a Unicode scalar value" },
		{ "^/a/(b", "at offset 6: missing closing parenthesis" },
		{ "^/a/\\", "a trailing \\" },
		{ "^/a/\\p{NoSuchProperty}", "unknown property" },
		{ "", "empty pattern" },
	};
	ward_error_t e;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&e, 0, sizeof(e));
		if (ward_pathregex_check(bad[i].p, &e) == WARD_OK)
			fail_msg("\"%s\" was accepted", bad[i].p);
		if (strstr(e.msg, bad[i].want) == NULL)
			fail_msg("\"%s\": \"%s\" does not say \"%s\"", bad[i].p, e.msg, bad[i].want);
	}
}

static void test_not_utf8(void **state)
{
	ward_pathregex_t *re = rx("^/tmp/[^/]+$", WARD_PATHREGEX_BLOCKING);

	(void)state;
	/* an invalid byte is one U+FFFD: a negated set and '.' match it, no literal does */
	assert_true(ward_pathregex_match(re, "/tmp/\xff"));
	assert_true(ward_pathregex_match(re, "/tmp/a\xc3(b"));
	ward_pathregex_free(re);
	assert_true(m("^/tmp/.$", "/tmp/\xff"));
	assert_false(m("^/tmp/\\xff$", "/tmp/\xff"));
	assert_false(m("^/tmp/\\u00e9$", "/tmp/\xe9"));
}

static void test_bounded_work(void **state)
{
	char path[64];
	struct timespec a, b;
	ward_pathregex_t *blk = rx("^/x/(a+)+$", WARD_PATHREGEX_BLOCKING), *alw = rx("^/x/(a+)+$", 0);

	(void)state;
	snprintf(path, sizeof(path), "/x/%s!", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	clock_gettime(CLOCK_MONOTONIC, &a);
	/* out of work: the stricter answer (blocked matches, allowed does not) */
	assert_true(ward_pathregex_match(blk, path));
	assert_false(ward_pathregex_match(alw, path));
	clock_gettime(CLOCK_MONOTONIC, &b);
	assert_true((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000 < 500);
	ward_pathregex_free(blk);
	ward_pathregex_free(alw);
}

struct par {
	ward_pathregex_t *re;
	int hits;
};

static void *par_run(void *arg)
{
	struct par *p = arg;

	for (int i = 0; i < 2000; i++)
		p->hits += ward_pathregex_match(p->re, i % 2 ? "/opt/ok/x" : "/opt/no/x");
	return NULL;
}

static void test_concurrent(void **state)
{
	ward_pathregex_t *re = rx("^/opt/ok/", 0);
	pthread_t t[40]; /* more threads than match blocks in the pool */
	struct par p[40];

	(void)state;
	for (int i = 0; i < 40; i++) {
		p[i] = (struct par){ re, 0 };
		assert_int_equal(pthread_create(&t[i], NULL, par_run, &p[i]), 0);
	}
	for (int i = 0; i < 40; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(p[i].hits, 1000);
	}
	ward_pathregex_free(re);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_anchored_like_santa),
		cmocka_unit_test(test_icu_meaning),
		cmocka_unit_test(test_refused_with_offset),
		cmocka_unit_test(test_not_utf8),
		cmocka_unit_test(test_bounded_work),
		cmocka_unit_test(test_concurrent),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
