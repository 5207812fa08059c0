/*
 * Unit tests for the denied user's terminal line: Santa's placeholders in
 * EventDetailURL (common/blockmsg.c), the plain text a terminal shows literally, the
 * composed line and its bounds, the loader's checks, the per-terminal rate limiter
 * and the device check (agent/ttymsg.c), and the /proc/<pid>/stat fields it relies
 * on (agent/backends/procinfo.c).
 */
#include "tests/unit/testutil.h"

#include <sys/sysmacros.h>

#include "agent/backends/procinfo.h"
#include "agent/ttymsg.h"
#include "common/blockmsg.h"

#define SHA "398f1a4ac687e57c39b6073f581a6ee4b0a53651b2034b041aa22c6bb311345c"

static const ward_blockmsg_facts_t facts = {
	.file_sha256 = SHA, .team_id = "EQHXZ8M8AV", .signing_id = "EQHXZ8M8AV:com.google.Chrome",
	.cdhash = "a1b2", .username = "jo smith", .machine_id = "m-7", .hostname = "host.example",
	.uuid = "U-U", .serial = "S1",
};

static void test_expand_every_placeholder(void **state)
{
	char out[1024];

	(void)state;
	assert_true(ward_blockmsg_expand_url(
		"https://s/%file_sha%/%file_identifier%/%bundle_or_file_identifier%?b=%file_bundle_id%"
		"&t=%team_id%&s=%signing_id%&c=%cdhash%&m=%machine_id%&u=%username%&se=%serial%"
		"&uu=%uuid%&h=%hostname%", &facts, out, sizeof(out)));
	assert_string_equal(out, "https://s/" SHA "/" SHA "/" SHA "?b=&t=EQHXZ8M8AV"
	                         "&s=EQHXZ8M8AV:com.google.Chrome&c=a1b2&m=m-7&u=jo%20smith&se=S1"
	                         "&uu=U-U&h=host.example");
}

static void test_expand_unknown_and_escapes(void **state)
{
	char out[256];
	ward_blockmsg_facts_t evil = { .username = "a&admin=1/../x?y#z\x1b" };

	(void)state;
	/* unknown words and percent-escapes are kept as they are (as Santa does) */
	assert_true(ward_blockmsg_expand_url("https://s/%20a%zz%%user%%username", &facts, out, sizeof(out)));
	assert_string_equal(out, "https://s/%20a%zz%%user%%username");
	/* a value cannot add a query parameter, leave the path or carry a control byte */
	assert_true(ward_blockmsg_expand_url("https://s/?u=%username%&k=v", &evil, out, sizeof(out)));
	assert_string_equal(out, "https://s/?u=a%26admin%3D1%2F..%2Fx%3Fy%23z%1B&k=v");
	/* missing values: the placeholder becomes "" */
	assert_true(ward_blockmsg_expand_url("x%cdhash%y", &evil, out, sizeof(out)));
	assert_string_equal(out, "xy");
	/* Santa's "null": no URL */
	assert_true(ward_blockmsg_expand_url("null", &facts, out, sizeof(out)));
	assert_string_equal(out, "");
}

static void test_expand_too_small(void **state)
{
	char out[16];

	(void)state;
	assert_false(ward_blockmsg_expand_url("https://s/%file_sha%", &facts, out, sizeof(out)));
	assert_string_equal(out, ""); /* never a cut URL */
	assert_false(ward_blockmsg_expand_url("https://0123456789", &facts, out, 5));
	assert_true(ward_blockmsg_expand_url("https://s/", &facts, out, 11));
	assert_string_equal(out, "https://s/");
	assert_false(ward_blockmsg_expand_url("https://s/", &facts, out, 10));
}

static void test_uses(void **state)
{
	(void)state;
	assert_true(ward_blockmsg_uses("https://s/%username%", "username"));
	assert_false(ward_blockmsg_uses("https://s/%username", "username"));
	assert_false(ward_blockmsg_uses("https://s/%usernames%", "username"));
}

static void test_loader_checks(void **state)
{
	char w[64];

	(void)state;
	assert_null(ward_blockmsg_check_url(""));
	assert_null(ward_blockmsg_check_url("null"));
	assert_null(ward_blockmsg_check_url("https://s/%file_sha%"));
	assert_non_null(ward_blockmsg_check_url("javascript:alert(1)"));
	assert_non_null(ward_blockmsg_check_url("https://s/a b"));
	assert_non_null(ward_blockmsg_check_url("https://s/\x1b[2J"));
	assert_null(ward_blockmsg_check_text("Blocked<br />Ask IT\n\tnow"));
	assert_non_null(ward_blockmsg_check_text("red \x1b[31m"));
	assert_non_null(ward_blockmsg_check_text("del \x7f"));
	assert_true(ward_blockmsg_unknown_placeholder("https://s/%file_sha%?%user_name%", w, sizeof(w)));
	assert_string_equal(w, "user_name");
	assert_true(ward_blockmsg_unknown_placeholder("https://s/%user%", w, sizeof(w)));
	/* %ef%bb%bf are escapes, %ab% too short or hex: not reported */
	assert_false(ward_blockmsg_unknown_placeholder("https://s/%ef%bb%bf%abc%x", w, sizeof(w)));
	assert_false(ward_blockmsg_unknown_placeholder("https://s/%file_sha%%machine_id%", w, sizeof(w)));
}

static void plain(const char *in, bool html, const char *want)
{
	char out[256];
	size_t len = 0;

	out[0] = '\0';
	ward_blockmsg_plain(out, sizeof(out), &len, in, html);
	assert_string_equal(out, want);
	assert_int_equal(len, strlen(want));
}

static void test_plain(void **state)
{
	(void)state;
	plain("Blocked<br />because <b>policy</b>", true, "Blocked because policy");
	plain("a &amp; b &lt;c&gt; &quot;d&quot; &#39;e&#39;&nbsp;f &unknown;", true,
	      "a & b <c> \"d\" 'e' f &unknown;");
	plain("  lots \t of\n\r space  ", true, "lots of space");
	plain("1 < 2 and no closing", true, "1 < 2 and no closing");
	plain("<b>not html</b>", false, "<b>not html</b>");
	/* a terminal must not act on anything in a file name */
	plain("x\x1b]0;owned\x07y", false, "x?]0;owned?y");
	plain("c1 \xc2\x9b" "31m", false, "c1 ?31m");
	plain("bidi \xe2\x80\xae" "gpj.exe", false, "bidi ?gpj.exe");
	plain("bad \xff\xfe utf8 \xc3", false, "bad ?? utf8 ?");
	plain("overlong \xc0\xaf", false, "overlong ??");
	plain("caf\xc3\xa9 \xe6\x97\xa5", false, "caf\xc3\xa9 \xe6\x97\xa5");
}

static void test_plain_bounds(void **state)
{
	char out[8];
	size_t len = 0;

	(void)state;
	out[0] = '\0';
	ward_blockmsg_plain(out, sizeof(out), &len, "abcdefghijkl", false);
	assert_string_equal(out, "abcdefg");
	/* never half a character */
	len = 0;
	ward_blockmsg_plain(out, sizeof(out), &len, "abcde\xc3\xa9\xc3\xa9", false);
	assert_string_equal(out, "abcde\xc3\xa9");
	len = 0;
	ward_blockmsg_plain(out, 1, &len, "abc", false);
	assert_string_equal(out, "");
}

static void test_compose(void **state)
{
	char out[WARD_TTYMSG_LINE_MAX];
	ward_blockmsg_line_t l = { .message = "Blocked by <b>IT</b>", .path = "/opt/x/tool",
	                           .url = "https://s/b/" SHA, .url_label = "", .suppressed = 0 };
	size_t n;

	(void)state;
	n = ward_blockmsg_compose(out, sizeof(out), &l);
	assert_string_equal(out, "\r\nwarden: Blocked by IT: /opt/x/tool. More info: https://s/b/" SHA "\r\n");
	assert_int_equal(n, strlen(out));
	l.url = "";
	l.suppressed = 3;
	l.message = NULL;
	n = ward_blockmsg_compose(out, sizeof(out), &l);
	assert_string_equal(out, "\r\nwarden: " WARD_BLOCKMSG_DEFAULT_UNKNOWN ": /opt/x/tool (3 more not shown)\r\n");
	assert_int_equal(n, strlen(out));
}

static void test_compose_bounds(void **state)
{
	static char big[8192], url[1500], out[WARD_TTYMSG_LINE_MAX];
	ward_blockmsg_line_t l = { .message = big, .path = big, .url = url, .url_label = "Go" };
	size_t n;

	(void)state;
	memset(big, 'm', sizeof(big) - 1);
	memcpy(url, "https://s/", 10);
	memset(url + 10, 'u', 500);
	for (size_t cap = 64; cap <= sizeof(out); cap = cap * 3 / 2) {
		n = ward_blockmsg_compose(out, cap, &l);
		assert_true(n < cap);
		assert_int_equal(strlen(out), n);
		assert_memory_equal(out + n - 2, "\r\n", 2);
		assert_memory_equal(out, "\r\nwarden: ", 10);
		assert_null(memchr(out + 2, '\n', n - 3)); /* one line */
	}
	/* with room, the URL is whole */
	n = ward_blockmsg_compose(out, sizeof(out), &l);
	assert_non_null(strstr(out, ". Go: https://s/"));
	assert_int_equal(strspn(strstr(out, "https://s/") + 10, "u"), 500);
	/* without room for it, it is absent, never cut */
	memset(url + 10, 'u', sizeof(url) - 11);
	n = ward_blockmsg_compose(out, sizeof(out), &l);
	assert_null(strstr(out, "https://"));
	assert_memory_equal(out + n - 2, "\r\n", 2);
}

static void test_rate_limit(void **state)
{
	static ward_ttyrate_t r;
	unsigned sup = 99;
	uint32_t a = makedev(136, 1), b = makedev(136, 2);

	(void)state;
	ward_ttyrate_init(&r);
	assert_true(ward_ttyrate_take(&r, a, 10000, &sup));
	assert_int_equal(sup, 0);
	assert_false(ward_ttyrate_take(&r, a, 10001, &sup));
	assert_false(ward_ttyrate_take(&r, a, 10000 + WARD_TTYMSG_INTERVAL_MS - 1, &sup));
	assert_true(ward_ttyrate_take(&r, b, 10002, &sup)); /* another terminal: its own */
	assert_true(ward_ttyrate_take(&r, a, 10000 + WARD_TTYMSG_INTERVAL_MS, &sup));
	assert_int_equal(sup, 2); /* the next line says how many were not shown */
	assert_false(ward_ttyrate_take(&r, a, 10000 + WARD_TTYMSG_INTERVAL_MS + 1, &sup));
	assert_true(ward_ttyrate_take(&r, a, 10000 + 2 * WARD_TTYMSG_INTERVAL_MS + 5, &sup));
	assert_int_equal(sup, 1);
}

static void test_rate_limit_global_and_table(void **state)
{
	static ward_ttyrate_t r;
	unsigned sup, ok = 0;
	uint64_t now = 50000;

	(void)state;
	ward_ttyrate_init(&r);
	/* many terminals in one second: at most WARD_TTYMSG_PER_SECOND lines */
	for (unsigned i = 0; i < 3 * WARD_TTYMSG_PER_SECOND; i++)
		ok += ward_ttyrate_take(&r, makedev(136, i), now, &sup);
	assert_int_equal(ok, WARD_TTYMSG_PER_SECOND);
	/* more terminals than the table holds: the one written longest ago is forgotten
	 * (its count of lines not shown with it), nothing grows */
	now += 1000;
	assert_true(ward_ttyrate_take(&r, makedev(138, 9), now, &sup));
	assert_false(ward_ttyrate_take(&r, makedev(138, 9), now + 1, &sup)); /* remembered */
	for (unsigned i = 0; i < 2 * WARD_TTYMSG_TTYS; i++) {
		now += 1000;
		assert_true(ward_ttyrate_take(&r, makedev(137, i), now, &sup));
	}
	assert_false(ward_ttyrate_take(&r, makedev(137, 2 * WARD_TTYMSG_TTYS - 1), now + 1, &sup));
	now += 1000;
	assert_true(ward_ttyrate_take(&r, makedev(138, 9), now, &sup));
	assert_int_equal(sup, 0); /* forgotten: had it been kept, 1 */
}

static void test_device_ok(void **state)
{
	(void)state;
	assert_true(ward_ttymsg_device_ok(makedev(136, 0)));   /* /dev/pts/0 */
	assert_true(ward_ttymsg_device_ok(makedev(143, 5)));
	assert_true(ward_ttymsg_device_ok(makedev(4, 1)));     /* tty1 */
	assert_true(ward_ttymsg_device_ok(makedev(4, 64)));    /* ttyS0 */
	assert_true(ward_ttymsg_device_ok(makedev(188, 0)));   /* ttyUSB0 */
	assert_false(ward_ttymsg_device_ok(makedev(4, 0)));    /* tty0: whatever console is current */
	assert_false(ward_ttymsg_device_ok(makedev(5, 0)));    /* /dev/tty */
	assert_false(ward_ttymsg_device_ok(makedev(5, 1)));    /* /dev/console */
	assert_false(ward_ttymsg_device_ok(makedev(5, 2)));    /* /dev/ptmx */
	assert_false(ward_ttymsg_device_ok(makedev(2, 0)));    /* a BSD pty master */
	assert_false(ward_ttymsg_device_ok(makedev(1, 3)));    /* /dev/null */
	assert_false(ward_ttymsg_device_ok(makedev(8, 0)));    /* sda */
	assert_false(ward_ttymsg_device_ok(0));
}

static void test_parse_stat(void **state)
{
	pid_t sid = 0;
	uint32_t tty = 0;
	uint64_t start = 0;
	/* comm with spaces and parentheses, as a process may name itself */
	const char *t = "4242 (a) b (c)) S 4000 4242 4100 34817 4242 4194560 100 0 0 0 1 2 0 0 20 0 1 0 "
	                "987654 1000 200 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 3 0 0 0 0 0\n";

	(void)state;
	assert_true(ward_procinfo_parse_stat(t, &sid, &tty, &start));
	assert_int_equal(sid, 4100);
	assert_int_equal(tty, 34817);       /* 136:1, /dev/pts/1 */
	assert_int_equal(major(tty), 136);
	assert_int_equal(minor(tty), 1);
	assert_int_equal(start, 987654);
	assert_int_equal(ward_procinfo_parse_start_time(t), 987654);
	/* no terminal; tpgid -1 */
	assert_true(ward_procinfo_parse_stat("1 (x) S 0 1 1 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 5 1 1", &sid,
	                                     &tty, &start));
	assert_int_equal(tty, 0);
	assert_int_equal(start, 5);
	/* cut short, garbage, no ')' */
	assert_false(ward_procinfo_parse_stat("1 (x) S 0 1 1 0 -1", &sid, &tty, &start));
	assert_false(ward_procinfo_parse_stat("1 (x) S 0 1 x 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 5", &sid,
	                                      &tty, &start));
	assert_false(ward_procinfo_parse_stat("1 x S 0 1 1 0", &sid, &tty, &start));
	assert_false(ward_procinfo_parse_stat("", &sid, &tty, &start));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_expand_every_placeholder),
		cmocka_unit_test(test_expand_unknown_and_escapes),
		cmocka_unit_test(test_expand_too_small),
		cmocka_unit_test(test_uses),
		cmocka_unit_test(test_loader_checks),
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_plain_bounds),
		cmocka_unit_test(test_compose),
		cmocka_unit_test(test_compose_bounds),
		cmocka_unit_test(test_rate_limit),
		cmocka_unit_test(test_rate_limit_global_and_table),
		cmocka_unit_test(test_device_ok),
		cmocka_unit_test(test_parse_stat),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
