/* Unit tests for rules/store.c: files and modes, migrations, generation, atomicity. */
#include "tests/unit/testutil.h"

#include <fcntl.h>
#include <ftw.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rules/rules.h"

#define TEAM_A "EQHXZ8M8AV"
#define TEAM_B "UBF8T346G9"

#define fx tu_dir /* path: dir/sub/warden.db, sub does not exist yet */

static int setup(void **state)
{
	*state = tu_dir_new("store", "sub/warden.db");
	return 0;
}

#define teardown tu_dir_teardown

static ward_store_t *open_ok(const char *path, unsigned flags)
{
	ward_store_t *st = NULL;
	ward_error_t err = { 0 };

	if (ward_store_open(path, flags, &st, &err) != WARD_OK)
		fail_msg("open %s: %s", path, err.msg);
	return st;
}

static void expect_open_fails(const char *path, unsigned flags, ward_err_t code, const char *part)
{
	ward_store_t *st = (ward_store_t *)1;
	ward_error_t err = { 0 };
	ward_err_t rc = ward_store_open(path, flags, &st, &err);

	if (rc != code)
		fail_msg("open %s: expected %s, got %s (%s)", path, ward_strerror(code),
		         ward_strerror(rc), err.msg);
	assert_null(st);
	if (part && strstr(err.msg, part) == NULL)
		fail_msg("error '%s' does not say '%s'", err.msg, part);
}

static void put(ward_store_t *st, ward_rule_type_t t, const char *id, ward_policy_t p,
                ward_rule_source_t src)
{
	ward_rule_t r = { .type = t, .identifier = id, .policy = p, .source = src };
	ward_error_t err = { 0 };

	if (ward_store_put(st, &r, &err) != WARD_OK)
		fail_msg("put: %s", err.msg);
}

static uint64_t gen(ward_store_t *st)
{
	ward_error_t err = { 0 };
	uint64_t g = 0;

	assert_int_equal(ward_store_generation(st, &g, &err), WARD_OK);
	return g;
}

static size_t count(ward_store_t *st)
{
	ward_error_t err = { 0 };
	size_t n = 0;

	assert_int_equal(ward_store_count(st, &n, &err), WARD_OK);
	return n;
}

/* Run SQL on the file behind the store's back, as another program would. */
static void raw_sql(const char *path, const char *sql)
{
	sqlite3 *db;
	char *msg = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
	sqlite3_close(db);
}

/* ---------------------------------------------------------------- files */

static void test_create_modes(void **state)
{
	struct fx *f = *state;
	char dir[200];
	struct stat sb;
	ward_store_t *st;
	mode_t old = umask(0);

	/* Even with a permissive umask: 0700 directory, 0600 files. */
	st = open_ok(f->path, WARD_STORE_CREATE);
	umask(old);
	put(st, WARD_RT_TEAMID, TEAM_A, WARD_POL_ALLOWLIST, WARD_SRC_LOCAL);
	snprintf(dir, sizeof(dir), "%s/sub", f->dir);
	assert_int_equal(stat(dir, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0700);
	assert_int_equal(stat(f->path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	ward_store_close(st);
	/* The WAL files persist, with the database's mode. */
	snprintf(dir, sizeof(dir), "%s-wal", f->path);
	assert_int_equal(stat(dir, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	snprintf(dir, sizeof(dir), "%s-shm", f->path);
	assert_int_equal(stat(dir, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	/* And it is in WAL mode. */
	{
		sqlite3 *db;
		sqlite3_stmt *s;
		assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
		assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_step(s), SQLITE_ROW);
		assert_string_equal((const char *)sqlite3_column_text(s, 0), "wal");
		sqlite3_finalize(s);
		sqlite3_close(db);
	}
}

static void test_missing_without_create(void **state)
{
	struct fx *f = *state;
	char path[160];

	expect_open_fails(f->path, 0, WARD_E_NOTFOUND, "no such directory");
	expect_open_fails(f->path, WARD_STORE_READONLY, WARD_E_NOTFOUND, NULL);
	snprintf(path, sizeof(path), "%s/none.db", f->dir);
	expect_open_fails(path, WARD_STORE_READONLY, WARD_E_NOTFOUND, "no rule database");
	/* Read-only never creates, even when asked to. */
	expect_open_fails(path, WARD_STORE_READONLY | WARD_STORE_CREATE, WARD_E_NOTFOUND, NULL);
	assert_int_equal(access(path, F_OK), -1);
}

static void test_refuses_writable_by_others(void **state)
{
	struct fx *f = *state;
	char dir[200];

	ward_store_close(open_ok(f->path, WARD_STORE_CREATE));
	snprintf(dir, sizeof(dir), "%s/sub", f->dir);

	assert_int_equal(chmod(f->path, 0666), 0);
	expect_open_fails(f->path, 0, WARD_E_PERM, "writable by everyone");
	expect_open_fails(f->path, WARD_STORE_READONLY, WARD_E_PERM, f->path);
	assert_int_equal(chmod(f->path, 0620), 0);
	expect_open_fails(f->path, 0, WARD_E_PERM, "writable by its group");
	/* Readable by others is fine: only writing is a threat. */
	assert_int_equal(chmod(f->path, 0644), 0);
	ward_store_close(open_ok(f->path, WARD_STORE_READONLY));

	assert_int_equal(chmod(dir, 0777), 0);
	expect_open_fails(f->path, 0, WARD_E_PERM, "/sub: writable by everyone");
	assert_int_equal(chmod(dir, 01777), 0); /* sticky does not make it safe to plant files */
	expect_open_fails(f->path, 0, WARD_E_PERM, "/sub: writable");
	assert_int_equal(chmod(dir, 0755), 0);
	ward_store_close(open_ok(f->path, 0));

	/* The WAL holds rules too. */
	snprintf(dir, sizeof(dir), "%s-wal", f->path);
	assert_int_equal(chmod(dir, 0666), 0);
	expect_open_fails(f->path, 0, WARD_E_PERM, "-wal: writable");
	assert_int_equal(chmod(dir, 0600), 0);
	ward_store_close(open_ok(f->path, 0));
}

static void test_refuses_other_owner_and_symlink(void **state)
{
	struct fx *f = *state;
	char link[160];

	ward_store_close(open_ok(f->path, WARD_STORE_CREATE));
	snprintf(link, sizeof(link), "%s/link.db", f->dir);
	assert_int_equal(symlink(f->path, link), 0);
	expect_open_fails(link, 0, WARD_E_PERM, "symbolic link");
	if (geteuid() != 0) {
		skip();
		return;
	}
	assert_int_equal(chown(f->path, 65534, 65534), 0);
	expect_open_fails(f->path, 0, WARD_E_PERM, "owned by uid 65534");
	expect_open_fails(f->path, WARD_STORE_READONLY, WARD_E_PERM, "owned by uid 65534");
	assert_int_equal(chown(f->path, 0, 0), 0);
	ward_store_close(open_ok(f->path, 0));
}

static void test_corrupt_and_foreign_files(void **state)
{
	struct fx *f = *state;
	char path[160];
	uint8_t junk[8192];
	int fd;

	/* Random bytes. */
	snprintf(path, sizeof(path), "%s/junk.db", f->dir);
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(i * 131 + 7);
	fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, junk, sizeof(junk)), sizeof(junk));
	close(fd);
	expect_open_fails(path, 0, WARD_E_DB, "corrupt");
	expect_open_fails(path, WARD_STORE_READONLY, WARD_E_DB, "corrupt");

	/* A real store whose pages were overwritten in the middle. */
	{
		ward_store_t *st = open_ok(f->path, WARD_STORE_CREATE);
		ward_rule_t *rules = calloc(3000, sizeof(*rules));
		char (*ids)[11] = calloc(3000, sizeof(*ids));
		ward_error_t err = { 0 };
		for (int i = 0; i < 3000; i++) {
			snprintf(ids[i], sizeof(ids[i]), "A%09u", (unsigned)i % 1000000000u);
			rules[i] = (ward_rule_t){ .type = WARD_RT_TEAMID, .identifier = ids[i],
			                          .policy = WARD_POL_ALLOWLIST, .source = WARD_SRC_LOCAL };
		}
		assert_int_equal(ward_store_apply(st, rules, 3000, NULL, &err), WARD_OK);
		free(rules);
		free(ids);
		ward_store_close(st);
		raw_sql(f->path, "PRAGMA wal_checkpoint(TRUNCATE)");
		fd = open(f->path, O_WRONLY);
		assert_true(fd >= 0);
		assert_int_equal(pwrite(fd, junk, sizeof(junk), 4096), sizeof(junk));
		close(fd);
		/* Depending on which page was hit, the open or the first full read finds the
		 * damage; either way it is a database error that says so, never rules. */
		st = NULL;
		if (ward_store_open(f->path, 0, &st, &err) == WARD_OK) {
			ward_index_t *ix = NULL;
			assert_int_equal(ward_index_build(st, &ix, &err), WARD_E_DB);
			assert_null(ix);
			ward_store_close(st);
		}
		assert_int_equal(err.code, WARD_E_DB);
		assert_non_null(strstr(err.msg, "corrupt"));
	}

	/* Some other program's SQLite database. */
	snprintf(path, sizeof(path), "%s/other.db", f->dir);
	raw_sql(path, "CREATE TABLE photos (id INTEGER)");
	chmod(path, 0600);
	expect_open_fails(path, 0, WARD_E_DB, "not a warden rule database");
}

/* ---------------------------------------------------------------- schema */

static int schema_version_on_disk(const char *path)
{
	sqlite3 *db;
	sqlite3_stmt *s;
	int v;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT version FROM schema_version", -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	v = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}

static void test_migrations(void **state)
{
	struct fx *f = *state;
	char path[160];
	ward_store_t *st;
	int latest;

	st = open_ok(f->path, WARD_STORE_CREATE);
	latest = ward_store_schema_version(st);
	assert_true(latest >= 1);
	ward_store_close(st);
	assert_int_equal(schema_version_on_disk(f->path), latest);

	/* A database from before any migration (schema_version at 0, nothing else) is
	 * brought forward when opened read-write, and only then. */
	snprintf(path, sizeof(path), "%s/v0.db", f->dir);
	raw_sql(path, "CREATE TABLE schema_version (version INTEGER NOT NULL);"
	              "INSERT INTO schema_version VALUES (0);");
	chmod(path, 0600);
	expect_open_fails(path, WARD_STORE_READONLY, WARD_E_DB, "needs migrating");
	st = open_ok(path, 0);
	assert_int_equal(ward_store_schema_version(st), latest);
	put(st, WARD_RT_TEAMID, TEAM_A, WARD_POL_ALLOWLIST, WARD_SRC_LOCAL);
	assert_int_equal(count(st), 1);
	ward_store_close(st);
	assert_int_equal(schema_version_on_disk(path), latest);
	/* Reopening does not migrate twice (the rule is still there). */
	st = open_ok(path, 0);
	assert_int_equal(count(st), 1);
	ward_store_close(st);

	/* A newer warden's database is not ours to touch. */
	raw_sql(f->path, "UPDATE schema_version SET version = version + 1");
	expect_open_fails(f->path, 0, WARD_E_UNSUPPORTED, "newer");
	expect_open_fails(f->path, WARD_STORE_READONLY, WARD_E_UNSUPPORTED, "newer");
}

/* ---------------------------------------------------------------- generation */

static void test_generation_bumps(void **state)
{
	struct fx *f = *state;
	ward_store_t *a = open_ok(f->path, WARD_STORE_CREATE);
	ward_store_t *b = open_ok(f->path, WARD_STORE_READONLY);
	ward_error_t err = { 0 };
	uint64_t g0 = gen(a), g;
	ward_rule_t bad = { .type = WARD_RT_TEAMID, .identifier = "nope", .policy = WARD_POL_ALLOWLIST };
	(void)state;

	assert_int_equal(gen(b), g0);
	put(a, WARD_RT_TEAMID, TEAM_A, WARD_POL_ALLOWLIST, WARD_SRC_LOCAL);
	g = gen(a);
	assert_true(g > g0);
	/* Another connection (another process, for SQLite) sees it at once. */
	assert_int_equal(gen(b), g);
	/* Replacing a rule is a change. */
	put(a, WARD_RT_TEAMID, TEAM_A, WARD_POL_BLOCKLIST, WARD_SRC_LOCAL);
	assert_true(gen(b) > g);
	g = gen(b);
	/* A failed change is not. */
	assert_int_equal(ward_store_put(a, &bad, &err), WARD_E_INVAL);
	assert_int_equal(ward_store_remove(a, WARD_RT_TEAMID, TEAM_B, WARD_SRC_LOCAL, &err), WARD_E_NOTFOUND);
	assert_int_equal(gen(b), g);
	assert_int_equal(ward_store_remove(a, WARD_RT_TEAMID, TEAM_A, WARD_SRC_LOCAL, &err), WARD_OK);
	assert_true(gen(b) > g);
	g = gen(b);
	/* Even a writer that is not warden moves it (triggers). */
	raw_sql(f->path, "INSERT INTO rules (type, identifier, slot, policy, source, created_at) "
	                 "VALUES (4, 'ZZZZZZZZZZ', 1, 0, 0, 1)");
	assert_true(gen(b) > g);
	assert_int_equal(count(b), 1);
	/* A read-only handle cannot change anything. */
	{
		ward_rule_t r = { .type = WARD_RT_TEAMID, .identifier = TEAM_B, .policy = WARD_POL_ALLOWLIST };
		assert_int_equal(ward_store_put(b, &r, &err), WARD_E_PERM);
	}
	ward_store_close(a);
	ward_store_close(b);
}

/* ---------------------------------------------------------------- atomicity */

static void fill(ward_rule_t *rules, char (*ids)[11], int n, int base)
{
	for (int i = 0; i < n; i++) {
		snprintf(ids[i], 11, "B%09u", (unsigned)(base + i) % 1000000000u);
		rules[i] = (ward_rule_t){ .type = WARD_RT_TEAMID, .identifier = ids[i],
		                          .policy = WARD_POL_BLOCKLIST, .source = WARD_SRC_IMPORT };
	}
}

static void test_apply_all_or_nothing(void **state)
{
	enum { N = 500 };
	struct fx *f = *state;
	ward_store_t *st = open_ok(f->path, WARD_STORE_CREATE);
	ward_rule_t rules[N];
	char ids[N][11];
	ward_error_t err = { 0 };
	ward_apply_stats_t stats;
	uint64_t g;

	put(st, WARD_RT_TEAMID, TEAM_A, WARD_POL_ALLOWLIST, WARD_SRC_LOCAL);
	g = gen(st);

	/* An invalid rule at the end: nothing of the batch is written. */
	fill(rules, ids, N, 0);
	rules[N - 1].identifier = "bad id";
	assert_int_equal(ward_store_apply(st, rules, N, &stats, &err), WARD_E_INVAL);
	assert_non_null(strstr(err.msg, "rules[499]"));
	assert_int_equal(stats.put, 0);
	assert_int_equal(count(st), 1);
	assert_int_equal(gen(st), g);

	/* A duplicate: same. */
	fill(rules, ids, N, 0);
	rules[N - 1].identifier = ids[3];
	assert_int_equal(ward_store_apply(st, rules, N, NULL, &err), WARD_E_EXISTS);
	assert_non_null(strstr(err.msg, "rules[3]"));
	assert_int_equal(count(st), 1);
	assert_int_equal(gen(st), g);

	/* The database itself refuses the last row (here a trigger; in life a full disk):
	 * the 499 rows before it are rolled back. */
	raw_sql(f->path, "CREATE TRIGGER boom BEFORE INSERT ON rules WHEN NEW.identifier = 'B000000499' "
	                 "BEGIN SELECT RAISE(ABORT, 'disk on fire'); END");
	fill(rules, ids, N, 0);
	assert_int_equal(ward_store_apply(st, rules, N, NULL, &err), WARD_E_DB);
	assert_non_null(strstr(err.msg, "disk on fire"));
	assert_int_equal(count(st), 1);
	assert_int_equal(gen(st), g);
	raw_sql(f->path, "DROP TRIGGER boom");

	/* And then it goes through whole. */
	assert_int_equal(ward_store_apply(st, rules, N, &stats, &err), WARD_OK);
	assert_int_equal(stats.put, N);
	assert_int_equal(count(st), N + 1);
	assert_true(gen(st) > g);
	ward_store_close(st);
}

/* ---------------------------------------------------------------- slots */

struct collect {
	int n;
	ward_rule_source_t src[4];
	ward_policy_t pol[4];
};

static int collect(const ward_rule_t *r, void *arg)
{
	struct collect *c = arg;

	if (c->n < 4) {
		c->src[c->n] = r->source;
		c->pol[c->n] = r->policy;
	}
	c->n++;
	return 0;
}

static void test_slots(void **state)
{
	struct fx *f = *state;
	ward_store_t *st = open_ok(f->path, WARD_STORE_CREATE);
	ward_error_t err = { 0 };
	struct collect c = { 0 };

	put(st, WARD_RT_TEAMID, TEAM_A, WARD_POL_ALLOWLIST, WARD_SRC_LOCAL);
	/* An import of the same identifier replaces the local rule (one administrator
	 * slot, last writer wins)... */
	put(st, WARD_RT_TEAMID, TEAM_A, WARD_POL_BLOCKLIST, WARD_SRC_IMPORT);
	assert_int_equal(count(st), 1);
	/* ...a managed rule sits beside it. */
	put(st, WARD_RT_TEAMID, TEAM_A, WARD_POL_SILENT_BLOCKLIST, WARD_SRC_PROFILE);
	assert_int_equal(count(st), 2);
	assert_int_equal(ward_store_find(st, WARD_RT_TEAMID, TEAM_A, collect, &c, &err), WARD_OK);
	assert_int_equal(c.n, 2);
	assert_int_equal(c.src[0], WARD_SRC_PROFILE); /* managed first */
	assert_int_equal(c.pol[0], WARD_POL_SILENT_BLOCKLIST);
	assert_int_equal(c.src[1], WARD_SRC_IMPORT);
	assert_int_equal(c.pol[1], WARD_POL_BLOCKLIST);
	/* Removing "local" removes the administrator slot, whatever its source. */
	assert_int_equal(ward_store_remove(st, WARD_RT_TEAMID, TEAM_A, WARD_SRC_LOCAL, &err), WARD_OK);
	assert_int_equal(ward_store_remove(st, WARD_RT_TEAMID, TEAM_A, WARD_SRC_LOCAL, &err), WARD_E_NOTFOUND);
	assert_non_null(strstr(err.msg, TEAM_A));
	assert_int_equal(count(st), 1);
	assert_int_equal(ward_store_remove(st, WARD_RT_TEAMID, TEAM_A, WARD_SRC_PROFILE, &err), WARD_OK);
	assert_int_equal(count(st), 0);
	ward_store_close(st);
}

/* Synced rules: their own slot between managed and administrator; a clean sync
 * (replace_source) swaps them in one transaction and touches nothing else. */
static void test_sync_source(void **state)
{
	struct fx *f = *state;
	ward_store_t *st = open_ok(f->path, WARD_STORE_CREATE);
	ward_error_t err = { 0 };
	struct collect c = { 0 };
	ward_apply_stats_t stats;
	ward_index_t *ix = NULL;
	ward_match_key_t key = { 0 };
	size_t n, per[WARD_RT__COUNT];

	put(st, WARD_RT_TEAMID, TEAM_A, WARD_POL_ALLOWLIST, WARD_SRC_LOCAL);
	put(st, WARD_RT_TEAMID, TEAM_A, WARD_POL_BLOCKLIST, WARD_SRC_SYNC);
	put(st, WARD_RT_TEAMID, TEAM_B, WARD_POL_ALLOWLIST, WARD_SRC_SYNC);
	assert_int_equal(count(st), 3);
	assert_int_equal(ward_store_find(st, WARD_RT_TEAMID, TEAM_A, collect, &c, &err), WARD_OK);
	assert_int_equal(c.n, 2);
	assert_int_equal(c.src[0], WARD_SRC_SYNC); /* sync beats administrator */
	assert_int_equal(ward_index_build(st, &ix, &err), WARD_OK);
	strcpy(key.team_id, TEAM_A);
	assert_int_equal(ward_index_match(ix, &key, 0)->source, WARD_SRC_SYNC);
	ward_index_free(ix);
	put(st, WARD_RT_TEAMID, TEAM_A, WARD_POL_ALLOWLIST, WARD_SRC_PROFILE);
	assert_int_equal(ward_index_build(st, &ix, &err), WARD_OK);
	assert_int_equal(ward_index_match(ix, &key, 0)->source, WARD_SRC_PROFILE); /* managed beats sync */
	ward_index_free(ix);

	assert_int_equal(ward_store_count_source(st, WARD_SRC_SYNC, &n, per, &err), WARD_OK);
	assert_int_equal(n, 2);
	assert_int_equal(per[WARD_RT_TEAMID], 2);
	/* A clean sync with one rule: both synced rules go, local and profile stay. */
	ward_rule_t r = { .type = WARD_RT_TEAMID, .policy = WARD_POL_ALLOWLIST,
	                  .source = WARD_SRC_SYNC, .identifier = "ABCDEFGHIJ" };
	assert_int_equal(ward_store_replace_source(st, WARD_SRC_SYNC, &r, 1, &stats, &err), WARD_OK);
	assert_int_equal(stats.cleared, 2);
	assert_int_equal(stats.put, 1);
	assert_int_equal(count(st), 3);
	/* A batch with a bad rule changes nothing, not even the clearing. */
	ward_rule_t bad[2] = { r, r };
	bad[1].identifier = "not a team";
	assert_int_equal(ward_store_replace_source(st, WARD_SRC_SYNC, bad, 2, &stats, &err), WARD_E_INVAL);
	assert_int_equal(ward_store_count_source(st, WARD_SRC_SYNC, &n, NULL, &err), WARD_OK);
	assert_int_equal(n, 1);
	/* Only rules of the source being replaced. */
	bad[1] = r;
	bad[1].source = WARD_SRC_LOCAL;
	bad[1].identifier = TEAM_B;
	assert_int_equal(ward_store_replace_source(st, WARD_SRC_SYNC, bad, 2, &stats, &err), WARD_E_INVAL);
	ward_store_close(st);
}

/* A version-2 database (before the sync slot) keeps its rules through the migration. */
static void test_migrate_v2_rules(void **state)
{
	struct fx *f = *state;
	ward_store_t *st = open_ok(f->path, WARD_STORE_CREATE);
	ward_error_t err = { 0 };
	sqlite3 *db;

	put(st, WARD_RT_TEAMID, TEAM_A, WARD_POL_ALLOWLIST, WARD_SRC_LOCAL);
	ward_store_close(st);
	/* Roll the schema back to what version 2 was: the old CHECK, no sync source. */
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
		"DROP INDEX rules_by_source;"
		"UPDATE schema_version SET version = 2;", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	st = open_ok(f->path, 0);
	assert_int_equal(count(st), 1);
	put(st, WARD_RT_TEAMID, TEAM_B, WARD_POL_ALLOWLIST, WARD_SRC_SYNC);
	assert_int_equal(count(st), 2);
	ward_store_close(st);
	(void)err;
}

static int collect_ids(const ward_rule_t *r, void *arg)
{
	char *buf = arg;

	strcat(buf, ward_rule_type_name(r->type));
	strcat(buf, ":");
	strcat(buf, r->identifier);
	strcat(buf, " ");
	return 0;
}

static void test_foreach_order(void **state)
{
	struct fx *f = *state;
	ward_store_t *st = open_ok(f->path, WARD_STORE_CREATE);
	ward_error_t err = { 0 };
	char buf[1024] = "";

	put(st, WARD_RT_TEAMID, TEAM_B, WARD_POL_ALLOWLIST, WARD_SRC_LOCAL);
	put(st, WARD_RT_TEAMID, TEAM_A, WARD_POL_ALLOWLIST, WARD_SRC_LOCAL);
	put(st, WARD_RT_CDHASH, "0123456789abcdef0123456789abcdef01234567", WARD_POL_ALLOWLIST, WARD_SRC_LOCAL);
	assert_int_equal(ward_store_foreach(st, collect_ids, buf, &err), WARD_OK);
	assert_string_equal(buf, "CDHASH:0123456789abcdef0123456789abcdef01234567 TEAMID:" TEAM_A
	                         " TEAMID:" TEAM_B " ");
	ward_store_close(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_modes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_without_create, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuses_writable_by_others, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuses_other_owner_and_symlink, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_and_foreign_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrations, setup, teardown),
		cmocka_unit_test_setup_teardown(test_generation_bumps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_apply_all_or_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slots, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreach_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sync_source, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_v2_rules, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
