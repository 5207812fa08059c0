/*
 * Unit tests for rules/faa: golden policies (tests/fixtures/faa/good/X.plist parsed and
 * dumped must equal X.expected.json), every bad policy rejected with its line and key
 * (bad/X.plist -> bad/X.expected), and the matcher on Santa's documented examples and on
 * a Linux policy using every RuleType. WARD_UPDATE_GOLDEN=1 rewrites the expected files.
 */
#include "tests/unit/testutil.h"

#include <dirent.h>

#include "common/hex.h"
#include "profiles/config.h"
#include "profiles/diag.h"
#include "profiles/plist.h"
#include "rules/faa.h"

#define FD FIXTURES "/faa"

static unsigned long line_cb(void *arg, const json_t *c, const char *key, size_t idx)
{
	const ward_plist_lines_t *l = arg;

	return key ? ward_plist_line_key(l, c, key) : ward_plist_line_at(l, c, idx);
}

struct loaded {
	ward_faa_t *p;
	json_t *warnings;
};

static void diag_cb(void *arg, bool is_error, unsigned long line, const char *key, const char *msg)
{
	struct loaded *ld = arg;

	if (!is_error)
		json_array_append_new(ld->warnings, json_sprintf("line %lu: %s: %s", line, key, msg));
}

struct lcb {
	ward_plist_lines_t *lines;
	struct loaded *ld;
};

static unsigned long line_cb2(void *arg, const json_t *c, const char *key, size_t idx)
{
	return line_cb(((struct lcb *)arg)->lines, c, key, idx);
}

static void diag_cb2(void *arg, bool is_error, unsigned long line, const char *key, const char *msg)
{
	diag_cb(((struct lcb *)arg)->ld, is_error, line, key, msg);
}

/* Parse a plist policy file; returns the plist or policy error (or WARD_OK). */
static ward_err_t load(const char *path, struct loaded *ld, ward_error_t *e)
{
	size_t len;
	uint8_t *buf = tu_slurp(path, &len);
	json_t *tree = NULL;
	ward_plist_lines_t *lines = NULL;
	ward_err_t rc;

	memset(ld, 0, sizeof(*ld));
	ld->warnings = json_array();
	rc = ward_plist_parse(buf, len, &tree, &lines, e);
	free(buf);
	if (rc != WARD_OK)
		return rc;
	{
		struct lcb a = { lines, ld };
		ward_faa_src_t src = { line_cb2, diag_cb2, &a, false, ward_plist_line_root(lines) };
		rc = ward_faa_parse(tree, &src, &ld->p, e);
	}
	json_decref(tree);
	ward_plist_lines_free(lines);
	return rc;
}

static void unload(struct loaded *ld)
{
	ward_faa_free(ld->p);
	json_decref(ld->warnings);
}

static json_t *dump(const struct loaded *ld)
{
	json_t *o = json_object(), *items = json_array();

	json_object_set_new(o, "version", json_string(ward_faa_version(ld->p)));
	for (size_t i = 0; i < ward_faa_nitems(ld->p); i++)
		json_array_append_new(items, ward_faa_item_json(ld->p, i));
	json_object_set_new(o, "items", items);
	json_object_set(o, "warnings", ld->warnings);
	return o;
}

static bool update_golden(void)
{
	const char *u = getenv("WARD_UPDATE_GOLDEN");
	return u && *u == '1';
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static char *read_text(const char *path)
{
	size_t len;
	char *b = (char *)tu_slurp(path, &len); /* it allocates len + 1 bytes */

	b[len] = '\0';
	return b;
}

static void for_each_plist(const char *dir, void (*fn)(const char *path, const char *stem))
{
	DIR *d = opendir(dir);
	struct dirent *de;
	unsigned n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);
		char path[512], stem[512];
		if (l < 7 || strcmp(de->d_name + l - 6, ".plist") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		snprintf(stem, sizeof(stem), "%s/%.*s", dir, (int)(l - 6), de->d_name);
		fn(path, stem);
		n++;
	}
	closedir(d);
	assert_true(n > 0);
}

static void golden_good(const char *path, const char *stem)
{
	struct loaded ld;
	ward_error_t e = { 0 };
	char exp[600], *got, *want;
	json_t *j;

	if (load(path, &ld, &e) != WARD_OK)
		fail_msg("%s: %s", path, e.msg);
	j = dump(&ld);
	got = json_dumps(j, JSON_INDENT(1) | JSON_SORT_KEYS);
	json_decref(j);
	snprintf(exp, sizeof(exp), "%s.expected.json", stem);
	if (update_golden())
		write_text(exp, got);
	want = read_text(exp);
	if (strcmp(got, want) != 0)
		fail_msg("%s differs from %s:\n%s", path, exp, got);
	free(got);
	free(want);
	unload(&ld);
}

static void golden_bad(const char *path, const char *stem)
{
	struct loaded ld;
	ward_error_t e = { 0 };
	char exp[600], *want, got[WARD_ERRMSG_MAX + 2];

	assert_int_not_equal(load(path, &ld, &e), WARD_OK);
	assert_null(ld.p);
	snprintf(got, sizeof(got), "%s\n", e.msg);
	snprintf(exp, sizeof(exp), "%s.expected", stem);
	if (update_golden())
		write_text(exp, got);
	want = read_text(exp);
	if (strcmp(got, want) != 0)
		fail_msg("%s: got \"%s\", expected \"%s\"", path, got, want);
	/* every policy error names its line */
	assert_true(strncmp(e.msg, "line ", 5) == 0);
	free(want);
	unload(&ld);
}

static void test_golden_good(void **state)
{
	(void)state;
	for_each_plist(FD "/good", golden_good);
}

static void test_golden_bad(void **state)
{
	(void)state;
	for_each_plist(FD "/bad", golden_bad);
}

/* ---------------------------------------------------------------- matching */

static ward_faa_outcome_t m(const ward_faa_t *p, const char *path, const ward_faa_proc_t *pr,
                            uint32_t acc, const char *item)
{
	ward_faa_result_t r;

	ward_faa_match(p, path, pr, acc, &r);
	if (item && strcmp(r.item_name, item) != 0)
		fail_msg("%s: decided by \"%s\", expected \"%s\" (%s)", path, r.item_name, item, r.why);
	assert_true(r.cacheable == (r.outcome == WARD_FAA_ALLOW));
	assert_true(r.why[0] != '\0');
	return r.outcome;
}

/* Santa's basic example: AuditOnly (the default) audits a stranger, listed ones pass. */
static void test_santa_basic(void **state)
{
	struct loaded ld;
	ward_error_t e = { 0 };
	ward_faa_proc_t cat = { .path = "/bin/cat", .platform = true, .signing_id = "com.apple.cat" };
	ward_faa_proc_t ls = { .path = "/bin/ls", .platform = true, .signing_id = "com.apple.ls" };
	ward_faa_proc_t helper = { .path = "/x", .team_id = "EQHXZ8M8AV", .signing_id = "com.google.Chrome.helper" };
	ward_faa_proc_t chrome = { .path = "/x", .team_id = "EQHXZ8M8AV", .signing_id = "com.google.Chrome" };
	ward_faa_proc_t slack = { .path = "/y", .team_id = "BQR82RBBHL", .signing_id = "com.tinyspeck.slack" };
	ward_faa_proc_t writer = { .path = "/usr/local/bin/my_foo_writer" };
	ward_faa_proc_t writer_t = { .path = "/usr/local/bin/my_foo_writer", .team_id = "ABCDEF1234" };
	ward_faa_result_t r;

	(void)state;
	assert_int_equal(load(FD "/good/santa-basic.plist", &ld, &e), WARD_OK);
	assert_int_equal(m(ld.p, "/Users/local/tmp/foo/text.txt", &cat, WARD_FAA_READ, "UserFoo"), WARD_FAA_AUDIT);
	assert_int_equal(m(ld.p, "/Users/local/tmp/foo", &cat, WARD_FAA_READ, "UserFoo"), WARD_FAA_AUDIT);
	assert_int_equal(m(ld.p, "/Users/local/tmp/foo/text.txt", &ls, WARD_FAA_WRITE, "UserFoo"), WARD_FAA_ALLOW);
	assert_int_equal(m(ld.p, "/Users/local/tmp/foo/a", &helper, WARD_FAA_WRITE, "UserFoo"), WARD_FAA_ALLOW);
	/* the signing ID has no '*': Chrome itself is not the helper */
	assert_int_equal(m(ld.p, "/Users/local/tmp/foo/a", &chrome, WARD_FAA_READ, "UserFoo"), WARD_FAA_AUDIT);
	assert_int_equal(m(ld.p, "/Users/local/tmp/foo/a", &slack, WARD_FAA_READ, "UserFoo"), WARD_FAA_ALLOW);
	/* BinaryPath AND TeamID: the path alone is not enough */
	assert_int_equal(m(ld.p, "/Users/local/tmp/foo/a", &writer, WARD_FAA_WRITE, "UserFoo"), WARD_FAA_AUDIT);
	assert_int_equal(m(ld.p, "/Users/local/tmp/foo/a", &writer_t, WARD_FAA_WRITE, "UserFoo"), WARD_FAA_ALLOW);
	/* '*' stays inside one component */
	assert_int_equal(m(ld.p, "/Users/a/b/tmp/foo/x", &cat, WARD_FAA_READ, ""), WARD_FAA_UNWATCHED);
	assert_int_equal(m(ld.p, "/Users/local/tmp/bar", &cat, WARD_FAA_READ, ""), WARD_FAA_UNWATCHED);
	ward_faa_match(ld.p, "/Users/local/tmp/foo/text.txt", &cat, WARD_FAA_READ, &r);
	assert_string_equal(r.event_detail_text, "Details");
	assert_non_null(strstr(r.event_detail_url, "%rule_name%")); /* the policy's, placeholders kept */
	assert_int_equal(r.allowed, WARD_FAA_READ | WARD_FAA_WRITE); /* audit: allowed */
	unload(&ld);
}

/* Santa's cookie example enforces (AuditOnly false); AirDrop's is process-centric. */
static void test_santa_cookies(void **state)
{
	static const char *ck = "/Users/bob/Library/Application Support/Google/Chrome/Default/Cookies";
	static const char *ckj = "/Users/bob/Library/Application Support/Google/Chrome/Profile 1/Cookies-journal";
	struct loaded ld;
	ward_error_t e = { 0 };
	ward_faa_proc_t chrome = { .path = "/x", .team_id = "EQHXZ8M8AV", .signing_id = "com.google.Chrome" };
	ward_faa_proc_t helper = { .path = "/x", .team_id = "EQHXZ8M8AV", .signing_id = "com.google.Chrome.helper.GPU" };
	ward_faa_proc_t fake = { .path = "/x", .team_id = "ZMCG7MLDV9", .signing_id = "com.google.Chrome" };
	ward_faa_proc_t mdw = { .path = "/x", .platform = true, .signing_id = "com.apple.mdworker_shared" };
	ward_faa_proc_t mdw_np = { .path = "/x", .signing_id = "com.apple.mdworker_shared" };
	ward_faa_proc_t curl = { .path = "/usr/bin/curl", .platform = true, .signing_id = "com.apple.curl" };
	ward_faa_proc_t airdrop = { .path = "/a", .platform = true, .signing_id = "com.apple.finder.Open-AirDrop" };
	ward_faa_result_t r;

	(void)state;
	assert_int_equal(load(FD "/good/santa-cookies.plist", &ld, &e), WARD_OK);
	assert_int_equal(m(ld.p, ck, &chrome, WARD_FAA_READ | WARD_FAA_WRITE, "ChromeCookies"), WARD_FAA_ALLOW);
	assert_int_equal(m(ld.p, ckj, &helper, WARD_FAA_WRITE, "ChromeCookies"), WARD_FAA_ALLOW);
	assert_int_equal(m(ld.p, ck, &fake, WARD_FAA_READ, "ChromeCookies"), WARD_FAA_DENY);
	assert_int_equal(m(ld.p, ck, &mdw, WARD_FAA_READ, "ChromeCookies"), WARD_FAA_ALLOW);
	assert_int_equal(m(ld.p, ck, &mdw_np, WARD_FAA_READ, "ChromeCookies"), WARD_FAA_DENY);
	ward_faa_match(ld.p, ck, &curl, WARD_FAA_READ, &r);
	assert_int_equal(r.outcome, WARD_FAA_DENY);
	assert_int_equal(r.allowed, 0); /* AllowReadAccess false: not even reads */
	assert_false(r.cacheable);
	assert_non_null(strstr(r.why, "ChromeCookies"));
	/* glob(3): '*' does not match a leading '.' */
	assert_int_equal(m(ld.p, "/Users/.x/Library/Application Support/Google/Chrome/D/Cookies", &curl,
	                   WARD_FAA_READ, ""), WARD_FAA_UNWATCHED);
	/* AirDrop: audited on the listed paths only, others untouched */
	assert_int_equal(m(ld.p, "/Users/bob/Documents/confidential/plan.txt", &airdrop, WARD_FAA_READ, "AirDrop"),
	                 WARD_FAA_AUDIT);
	assert_int_equal(m(ld.p, "/Users/bob/Documents/public/plan.txt", &airdrop, WARD_FAA_READ, ""),
	                 WARD_FAA_UNWATCHED);
	assert_int_equal(m(ld.p, "/Users/bob/Documents/confidential/plan.txt", &curl, WARD_FAA_READ, ""),
	                 WARD_FAA_UNWATCHED);
	unload(&ld);
}

/* Linux: each RuleType, AllowReadAccess, literal vs prefix vs glob and the longest match. */
static void test_linux_rule_types(void **state)
{
	struct loaded ld;
	ward_error_t e = { 0 };
	uint8_t git_sha[32], cat_sha[32], other_sha[32];
	ward_faa_proc_t git, cat, other, ssh = { .path = "/usr/bin/ssh", .platform = true };
	ward_faa_proc_t fake_ssh = { .path = "/usr/bin/ssh", .platform = false };

	(void)state;
	memset(git_sha, 0xaa, 32);
	memset(cat_sha, 0xbb, 32);
	memset(other_sha, 0xcc, 32);
	git = (ward_faa_proc_t){ .path = "/usr/bin/git", .sha256 = git_sha, .platform = true };
	cat = (ward_faa_proc_t){ .path = "/usr/bin/cat", .sha256 = cat_sha, .platform = true };
	other = (ward_faa_proc_t){ .path = "/tmp/x", .sha256 = other_sha };
	assert_int_equal(load(FD "/good/linux.plist", &ld, &e), WARD_OK);

	/* PathsWithAllowedProcesses, prefix with glob, BinaryPath + PlatformBinary */
	assert_int_equal(m(ld.p, "/home/ann/.ssh/id_rsa", &ssh, WARD_FAA_READ, "SshKeys"), WARD_FAA_ALLOW);
	assert_int_equal(m(ld.p, "/home/ann/.ssh/id_rsa", &fake_ssh, WARD_FAA_READ, "SshKeys"), WARD_FAA_DENY);
	assert_int_equal(m(ld.p, "/home/ann/.ssh/id_rsa", &cat, WARD_FAA_READ, "SshKeys"), WARD_FAA_DENY);
	/* literal: exactly that path */
	assert_int_equal(m(ld.p, "/root/.ssh/id_ed25519", &cat, WARD_FAA_READ, "SshKeys"), WARD_FAA_DENY);
	assert_int_equal(m(ld.p, "/root/.ssh/id_ed25519.pub", &cat, WARD_FAA_READ, ""), WARD_FAA_UNWATCHED);

	/* PathsWithDeniedProcesses + AllowReadAccess: cat may read, not write; others both */
	assert_int_equal(m(ld.p, "/srv/data/report", &cat, WARD_FAA_READ, "Data"), WARD_FAA_ALLOW);
	assert_int_equal(m(ld.p, "/srv/data/report", &cat, WARD_FAA_WRITE, "Data"), WARD_FAA_DENY);
	assert_int_equal(m(ld.p, "/srv/data/report", &cat, WARD_FAA_READ | WARD_FAA_WRITE, "Data"), WARD_FAA_DENY);
	assert_int_equal(m(ld.p, "/srv/data/report", &other, WARD_FAA_WRITE, "Data"), WARD_FAA_ALLOW);

	/* longest match: the literal and the glob of DataSecret beat the prefix of Data */
	assert_int_equal(m(ld.p, "/srv/data/secret", &other, WARD_FAA_READ, "DataSecret"), WARD_FAA_DENY);
	assert_int_equal(m(ld.p, "/srv/data/secret", &git, WARD_FAA_READ, "DataSecret"), WARD_FAA_ALLOW);
	assert_int_equal(m(ld.p, "/srv/data/tls.key", &other, WARD_FAA_READ, "DataSecret"), WARD_FAA_DENY);
	/* ... but the glob does not reach into subdirectories, nor the literal past its end */
	assert_int_equal(m(ld.p, "/srv/data/sub/tls.key", &other, WARD_FAA_READ, "Data"), WARD_FAA_ALLOW);
	assert_int_equal(m(ld.p, "/srv/data/secret2", &other, WARD_FAA_READ, "Data"), WARD_FAA_ALLOW);

	/* ProcessesWithAllowedPaths: git may only write under /srv/repo/, may read anything */
	assert_int_equal(m(ld.p, "/srv/repo/.git/HEAD", &git, WARD_FAA_WRITE, "GitOnlyRepo"), WARD_FAA_ALLOW);
	assert_int_equal(m(ld.p, "/home/ann/notes", &git, WARD_FAA_WRITE, "GitOnlyRepo"), WARD_FAA_DENY);
	assert_int_equal(m(ld.p, "/home/ann/notes", &git, WARD_FAA_READ, "GitOnlyRepo"), WARD_FAA_ALLOW);
	assert_int_equal(m(ld.p, "/home/ann/notes", &cat, WARD_FAA_WRITE, ""), WARD_FAA_UNWATCHED);

	/* ProcessesWithDeniedPaths, AuditOnly by default */
	assert_int_equal(m(ld.p, "/etc/shadow", &cat, WARD_FAA_READ, "CatNoEtc"), WARD_FAA_AUDIT);
	assert_int_equal(m(ld.p, "/etc/shadow", &other, WARD_FAA_READ, ""), WARD_FAA_UNWATCHED);
	assert_int_equal(m(ld.p, "/etc/shadow", &git, WARD_FAA_READ, "GitOnlyRepo"), WARD_FAA_ALLOW);

	/* the strictest wins: a data-centric ALLOW does not undo a process-centric DENY */
	assert_int_equal(m(ld.p, "/srv/data/secret", &git, WARD_FAA_WRITE, "GitOnlyRepo"), WARD_FAA_DENY);
	assert_true(ward_faa_needs_all_opens(ld.p));
	unload(&ld);
}

static void test_glob(void **state)
{
	(void)state;
	assert_int_equal(ward_faa_glob_match("/a/b", "/a/b", false), 4);
	assert_int_equal(ward_faa_glob_match("/a/b", "/a/bc", false), 0);
	assert_int_equal(ward_faa_glob_match("/a/b", "/a/bc", true), 4);
	assert_int_equal(ward_faa_glob_match("/a/*", "/a/x", false), 4);
	assert_int_equal(ward_faa_glob_match("/a/*", "/a/x/y", false), 0);
	assert_int_equal(ward_faa_glob_match("/a/*", "/a/x/y", true), 4);
	assert_int_equal(ward_faa_glob_match("/a/*/c", "/a/xyz/cd/e", true), 8);
	assert_int_equal(ward_faa_glob_match("/a/?", "/a/xy", true), 4);
	assert_int_equal(ward_faa_glob_match("/a/[xy]z", "/a/yz", false), 5);
	assert_int_equal(ward_faa_glob_match("/a/[!xy]z", "/a/yz", false), 0);
	assert_int_equal(ward_faa_glob_match("/", "/anything", true), 1);
	assert_int_equal(ward_faa_glob_match("/a/*", "/a/.hidden", false), 0);
	assert_int_equal(ward_faa_glob_match("/a/*", "/b/x", true), 0);
}

/* Which directories the kernel may stop reporting: only those no item can reach. */
static void test_dir_may_watch(void **state)
{
	json_t *pol = json_pack("{s:s, s:{s:{s:[s, {s:s, s:b}, s]}, s:{s:[s], s:{s:s}, s:[{s:s}]}}}",
	                        "Version", "1", "WatchItems", "A",
	                        "Paths", "/srv/lit", "Path", "/srv/data", "IsPrefix", 1, "/home/*/.ssh/id_*",
	                        "B", "Paths", "/opt/x/", "Options", "RuleType", "ProcessesWithDeniedPaths",
	                        "Processes", "BinaryPath", "/usr/bin/cat");
	ward_faa_t *p = NULL;
	ward_error_t e = { 0 };

	(void)state;
	assert_int_equal(ward_faa_parse(pol, NULL, &p, &e), WARD_OK);
	assert_true(ward_faa_dir_may_watch(p, "/srv"));          /* /srv/lit, /srv/data*, /srv/datafile */
	assert_true(ward_faa_dir_may_watch(p, "/srv/data"));     /* under the prefix */
	assert_true(ward_faa_dir_may_watch(p, "/srv/data2"));    /* string prefix, as Santa */
	assert_true(ward_faa_dir_may_watch(p, "/srv/data/a/b")); /* deep under the prefix */
	assert_false(ward_faa_dir_may_watch(p, "/srv/other"));
	assert_false(ward_faa_dir_may_watch(p, "/"));
	assert_false(ward_faa_dir_may_watch(p, "/home"));
	assert_true(ward_faa_dir_may_watch(p, "/home/ann/.ssh"));
	assert_false(ward_faa_dir_may_watch(p, "/home/ann/.ssh/sub"));
	assert_false(ward_faa_dir_may_watch(p, "/home/ann"));
	/* the literal "/opt/x/" is rewritten "/opt/x": a child of /opt, nothing inside */
	assert_false(ward_faa_dir_may_watch(p, "/opt/x"));
	assert_true(ward_faa_dir_may_watch(p, "/opt"));
	assert_false(ward_faa_dir_may_watch(NULL, "/srv"));
	/* whether the opener must be identified: only when a path of some item matches,
	 * a process-centric item's included; and every match needs it then */
	assert_true(ward_faa_path_may_apply(p, "/srv/lit"));
	assert_true(ward_faa_path_may_apply(p, "/srv/data/x"));
	assert_true(ward_faa_path_may_apply(p, "/home/ann/.ssh/id_rsa"));
	assert_true(ward_faa_path_may_apply(p, "/opt/x"));   /* B: ProcessesWithDeniedPaths */
	assert_false(ward_faa_path_may_apply(p, "/srv/other"));
	assert_false(ward_faa_path_may_apply(p, "/home/ann/.ssh/known_hosts"));
	assert_false(ward_faa_path_may_apply(p, NULL));
	{
		ward_faa_result_t r;
		const char *const unwatched[] = { "/srv/other", "/home/ann/notes", "/tmp/x" };
		ward_faa_proc_t cat = { .path = "/usr/bin/cat" };
		for (size_t i = 0; i < 3; i++) { /* false really means UNWATCHED for any opener */
			ward_faa_match(p, unwatched[i], &cat, WARD_FAA_READ, &r);
			assert_int_equal(r.outcome, WARD_FAA_UNWATCHED);
		}
	}
	ward_faa_free(p);
	json_decref(pol);

	/* a ProcessesWithAllowedPaths item checks its processes everywhere */
	pol = json_pack("{s:s, s:{s:{s:[s], s:{s:s}, s:[{s:s}]}}}", "Version", "1", "WatchItems", "C",
	                "Paths", "/srv/only", "Options", "RuleType", "ProcessesWithAllowedPaths",
	                "Processes", "BinaryPath", "/usr/bin/cat");
	assert_int_equal(ward_faa_parse(pol, NULL, &p, &e), WARD_OK);
	assert_true(ward_faa_path_may_apply(p, "/anything/else"));
	ward_faa_free(p);
	json_decref(pol);
}

/* Warnings that change nothing are warnings; the Linux notes name the entry. */
static void test_linux_notes_and_rewrites(void **state)
{
	json_t *pol = json_pack("{s:s, s:{s:{s:[s, {s:s, s:b}], s:[{s:s}, {s:s, s:b}]}}}",
	                        "Version", "1", "WatchItems", "W",
	                        "Paths", "/srv//x/", "Path", "/srv/y/", "IsPrefix", 1,
	                        "Processes", "TeamID", "EQHXZ8M8AV",
	                        "SigningID", "com.x", "PlatformBinary", 1);
	struct loaded ld = { NULL, json_array() };
	ward_faa_src_t src = { NULL, diag_cb, &ld, true, 0 };
	ward_error_t e = { 0 };
	ward_faa_result_t r;

	(void)state;
	assert_int_equal(ward_faa_parse(pol, &src, &ld.p, &e), WARD_OK);
	assert_int_equal(json_array_size(ld.warnings), 3);
	assert_non_null(strstr(json_string_value(json_array_get(ld.warnings, 0)), "\"/srv/x\""));
	assert_non_null(strstr(json_string_value(json_array_get(ld.warnings, 1)), "Processes[0]: TeamID: no Linux process"));
	assert_non_null(strstr(json_string_value(json_array_get(ld.warnings, 2)), "Processes[1]: SigningID"));
	ward_faa_match(ld.p, "/srv/x", NULL, WARD_FAA_READ, &r);
	assert_int_equal(r.outcome, WARD_FAA_AUDIT);
	json_decref(pol);
	unload(&ld);
}

/* The policy as a profile key and as a FileAccessPolicyPlist file: errors name the file. */
static void test_config_integration(void **state)
{
	char dir[] = "/tmp/test_faa.XXXXXX", conf[256], bad[256];
	json_t *diags = json_array();
	ward_confset_t *cs = NULL;
	ward_error_t e = { 0 };
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(conf, sizeof(conf), "%s/warden.conf", dir);
	/* fixtures may be group-writable in a checkout: copy to a private file */
	{
		char pol[256], cmd[700];
		snprintf(pol, sizeof(pol), "%s/policy.plist", dir);
		snprintf(cmd, sizeof(cmd), "install -m 0644 %s/good/linux.plist %s", FD, pol);
		assert_int_equal(system(cmd), 0);
		f = fopen(conf, "w");
		fprintf(f, "{\"FileAccessPolicyPlist\": \"%s\"}\n", pol);
		fclose(f);
	}
	assert_int_equal(ward_config_load_sources(conf, NULL, WARD_LOAD_CONF_REQUIRED, &cs, diags, &e), WARD_OK);
	assert_non_null(ward_confset_faa(cs));
	assert_int_equal(ward_faa_nitems(ward_confset_faa(cs)), 5);
	assert_true(ward_confset_config(cs)->file_access_policy_set);
	ward_confset_free(cs);
	cs = NULL;

	snprintf(bad, sizeof(bad), "%s/bad.plist", dir);
	{
		char cmd[700];
		snprintf(cmd, sizeof(cmd), "install -m 0644 %s/bad/untied-signingid.plist %s", FD, bad);
		assert_int_equal(system(cmd), 0);
	}
	f = fopen(conf, "w");
	fprintf(f, "{\"FileAccessPolicyPlist\": \"%s\"}\n", bad);
	fclose(f);
	assert_int_not_equal(ward_config_load_sources(conf, NULL, WARD_LOAD_CONF_REQUIRED, &cs, diags, &e), WARD_OK);
	assert_null(cs);
	/* "<policy file>:<line>: WatchItems.Sid.Processes[0].SigningID: ..." */
	assert_true(strncmp(e.msg, bad, strlen(bad)) == 0);
	assert_non_null(strstr(e.msg, ":19: WatchItems.Sid.Processes[0].SigningID: a signing ID must be tied"));
	json_decref(diags);
	tu_rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_good),
		cmocka_unit_test(test_golden_bad),
		cmocka_unit_test(test_santa_basic),
		cmocka_unit_test(test_santa_cookies),
		cmocka_unit_test(test_linux_rule_types),
		cmocka_unit_test(test_glob),
		cmocka_unit_test(test_dir_may_watch),
		cmocka_unit_test(test_linux_notes_and_rewrites),
		cmocka_unit_test(test_config_integration),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
