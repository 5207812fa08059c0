/*
 * The rule store: one SQLite database in WAL mode.
 *
 * Who may touch it is decided by the file system: the database is created 0600 in a
 * 0700 directory, and we refuse to open one that anybody but root or the caller could
 * have written (a rule planted there would be trusted by the agent). Every change bumps
 * store_state.generation in the same transaction, by triggers, so a writer that is not
 * us (another wardenctl, the sqlite3 shell) still moves it, and the agent notices a
 * change by reading one row.
 */
#include "rules/store_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BUSY_TIMEOUT_MS  5000
#define WAL_KEEP_BYTES   (4 << 20)
#define BULK_CACHE_KIB   262144 /* page cache while applying a large batch */
#define BULK_ROWS        10000

struct ward_store {
	sqlite3 *db;
	sqlite3_stmt *state_stmt;
	int version;
	bool readonly;
	char path[PATH_MAX];
};

/*
 * Forward migrations: migrations[i] takes schema version i to i + 1. Append, never
 * edit: a database in the field may be at any earlier version. Version 2 is where the
 * exception-request and audit tables go.
 */
static const char *const migrations[] = {
	/* 0 -> 1: rules and the change counter. */
	"CREATE TABLE rules ("
	"  id          INTEGER PRIMARY KEY,"
	/* ward_rule_type_t: 0 CDHASH .. 4 TEAMID, precedence order */
	"  type        INTEGER NOT NULL CHECK (type BETWEEN 0 AND 4),"
	"  identifier  TEXT NOT NULL CHECK (length(identifier) BETWEEN 1 AND 300),"
	/* 0 managed (profile), 1 administrator (local, import, exception), 2 transitive */
	"  slot        INTEGER NOT NULL,"
	/* ward_policy_t: 0 ALLOWLIST, 1 BLOCKLIST, 2 SILENT_BLOCKLIST, 3 ALLOWLIST_COMPILER */
	"  policy      INTEGER NOT NULL CHECK (policy BETWEEN 0 AND 3),"
	/* ward_rule_source_t: 0 local, 1 profile, 2 exception, 3 import, 4 transitive */
	"  source      INTEGER NOT NULL CHECK (source BETWEEN 0 AND 4),"
	"  custom_msg  TEXT NOT NULL DEFAULT '',"
	"  custom_url  TEXT NOT NULL DEFAULT '',"
	"  comment     TEXT NOT NULL DEFAULT '',"
	"  expires_at  INTEGER NOT NULL DEFAULT 0 CHECK (expires_at >= 0),"
	"  created_at  INTEGER NOT NULL,"
	"  created_by  TEXT NOT NULL DEFAULT '',"
	"  CHECK (slot = CASE source WHEN 1 THEN 0 WHEN 4 THEN 2 ELSE 1 END),"
	"  UNIQUE (type, identifier, slot)"
	");"
	"CREATE TABLE store_state ("
	"  id          INTEGER PRIMARY KEY CHECK (id = 1),"
	"  generation  INTEGER NOT NULL,"
	"  rule_count  INTEGER NOT NULL"
	");"
	"INSERT INTO store_state VALUES (1, 1, 0);"
	"CREATE TRIGGER rules_insert AFTER INSERT ON rules BEGIN"
	"  UPDATE store_state SET generation = generation + 1, rule_count = rule_count + 1;"
	"END;"
	"CREATE TRIGGER rules_update AFTER UPDATE ON rules BEGIN"
	"  UPDATE store_state SET generation = generation + 1;"
	"END;"
	"CREATE TRIGGER rules_delete AFTER DELETE ON rules BEGIN"
	"  UPDATE store_state SET generation = generation + 1, rule_count = rule_count - 1;"
	"END;",
	/* 1 -> 2: exception requests and their audit trail (rules/requests.c). Rows are
	 * never deleted, audit rows never changed, and a decided request never goes back
	 * to pending: triggers refuse it, whoever writes. */
	"CREATE TABLE requests ("
	"  id              INTEGER PRIMARY KEY,"
	/* 0 pending, 1 approved, 2 denied, 3 expired */
	"  state           INTEGER NOT NULL DEFAULT 0 CHECK (state BETWEEN 0 AND 3),"
	"  requester_uid   INTEGER NOT NULL CHECK (requester_uid >= 0),"
	"  requester_name  TEXT NOT NULL,"
	"  host            TEXT NOT NULL DEFAULT '',"
	"  created_at      INTEGER NOT NULL,"
	"  path            TEXT NOT NULL,"
	"  reason          TEXT NOT NULL,"
	"  sha256          TEXT NOT NULL CHECK (length(sha256) = 64),"
	"  cdhash          TEXT NOT NULL DEFAULT '',"
	"  team_id         TEXT NOT NULL DEFAULT '',"
	"  signing_id      TEXT NOT NULL DEFAULT '',"
	"  scan_result     TEXT NOT NULL DEFAULT '',"
	"  proposed_scope  INTEGER NOT NULL CHECK (proposed_scope BETWEEN 0 AND 4),"
	"  decided_at      INTEGER NOT NULL DEFAULT 0,"
	"  decided_uid     INTEGER,"
	"  decided_by      TEXT NOT NULL DEFAULT '',"
	"  decision_text   TEXT NOT NULL DEFAULT '',"
	"  scope           INTEGER CHECK (scope BETWEEN 0 AND 4),"
	"  rule_identifier TEXT NOT NULL DEFAULT '',"
	"  expires_at      INTEGER NOT NULL DEFAULT 0 CHECK (expires_at >= 0),"
	"  rule_id         INTEGER,"
	"  forced          INTEGER NOT NULL DEFAULT 0,"
	"  CHECK (state = 0 OR decided_at > 0),"
	"  CHECK (state NOT IN (1, 3) OR (rule_id IS NOT NULL AND scope IS NOT NULL))"
	");"
	"CREATE INDEX requests_by_uid ON requests (requester_uid, created_at);"
	"CREATE INDEX requests_by_sha256 ON requests (sha256, requester_uid);"
	"CREATE INDEX requests_by_state ON requests (state, expires_at);"
	"CREATE TABLE audit ("
	"  id          INTEGER PRIMARY KEY,"
	"  time        INTEGER NOT NULL,"
	"  uid         INTEGER,"                 /* NULL: the agent itself (expiry) */
	"  who         TEXT NOT NULL,"
	"  action      TEXT NOT NULL,"
	"  request_id  INTEGER,"
	"  rule_id     INTEGER,"
	"  detail      TEXT NOT NULL DEFAULT ''"  /* JSON object */
	");"
	"CREATE INDEX audit_by_request ON audit (request_id);"
	"CREATE TRIGGER requests_no_delete BEFORE DELETE ON requests BEGIN"
	"  SELECT RAISE(ABORT, 'exception requests are never deleted');"
	"END;"
	"CREATE TRIGGER requests_forward BEFORE UPDATE OF state ON requests"
	"  WHEN NOT (OLD.state = NEW.state OR OLD.state = 0 OR (OLD.state = 1 AND NEW.state = 3)) BEGIN"
	"  SELECT RAISE(ABORT, 'a decided exception request cannot change its decision');"
	"END;"
	"CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN"
	"  SELECT RAISE(ABORT, 'the audit trail is append-only');"
	"END;"
	"CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN"
	"  SELECT RAISE(ABORT, 'the audit trail is append-only');"
	"END;",
	/* 2 -> 3: source 5 (sync) in its own slot 3. SQLite cannot change a CHECK, so the
	 * rules table is rebuilt (ids kept: requests name rules by id) and its triggers
	 * made again. */
	"CREATE TABLE rules_v3 ("
	"  id          INTEGER PRIMARY KEY,"
	"  type        INTEGER NOT NULL CHECK (type BETWEEN 0 AND 4),"
	"  identifier  TEXT NOT NULL CHECK (length(identifier) BETWEEN 1 AND 300),"
	/* 0 managed (profile), 1 administrator (local, import, exception), 2 transitive,
	 * 3 sync; match order 0, 3, 1, 2 */
	"  slot        INTEGER NOT NULL,"
	"  policy      INTEGER NOT NULL CHECK (policy BETWEEN 0 AND 3),"
	/* ward_rule_source_t: 0 local, 1 profile, 2 exception, 3 import, 4 transitive, 5 sync */
	"  source      INTEGER NOT NULL CHECK (source BETWEEN 0 AND 5),"
	"  custom_msg  TEXT NOT NULL DEFAULT '',"
	"  custom_url  TEXT NOT NULL DEFAULT '',"
	"  comment     TEXT NOT NULL DEFAULT '',"
	"  expires_at  INTEGER NOT NULL DEFAULT 0 CHECK (expires_at >= 0),"
	"  created_at  INTEGER NOT NULL,"
	"  created_by  TEXT NOT NULL DEFAULT '',"
	"  CHECK (slot = CASE source WHEN 1 THEN 0 WHEN 4 THEN 2 WHEN 5 THEN 3 ELSE 1 END),"
	"  UNIQUE (type, identifier, slot)"
	");"
	"INSERT INTO rules_v3 SELECT id, type, identifier, slot, policy, source, custom_msg, "
	"  custom_url, comment, expires_at, created_at, created_by FROM rules;"
	"DROP TABLE rules;"
	"ALTER TABLE rules_v3 RENAME TO rules;"
	"CREATE INDEX rules_by_source ON rules (source);"
	"CREATE TRIGGER rules_insert AFTER INSERT ON rules BEGIN"
	"  UPDATE store_state SET generation = generation + 1, rule_count = rule_count + 1;"
	"END;"
	"CREATE TRIGGER rules_update AFTER UPDATE ON rules BEGIN"
	"  UPDATE store_state SET generation = generation + 1;"
	"END;"
	"CREATE TRIGGER rules_delete AFTER DELETE ON rules BEGIN"
	"  UPDATE store_state SET generation = generation + 1, rule_count = rule_count - 1;"
	"END;"
	"UPDATE store_state SET generation = generation + 1;",
};
#define SCHEMA_VERSION ((int)(sizeof(migrations) / sizeof(migrations[0])))

sqlite3 *ward_store_sqlite(ward_store_t *st)
{
	return st->db;
}

int ward_store_schema_version(ward_store_t *st)
{
	return st->version;
}

ward_err_t ward_store_dberr(ward_store_t *st, ward_error_t *err, const char *what)
{
	int code = sqlite3_extended_errcode(st->db);

	if ((code & 0xff) == SQLITE_NOTADB || (code & 0xff) == SQLITE_CORRUPT)
		return ward_error_set(err, WARD_E_DB, "%s: %s: the database is corrupt or not a "
		                      "SQLite database (%s)", st->path, what, sqlite3_errmsg(st->db));
	if ((code & 0xff) == SQLITE_BUSY)
		return ward_error_set(err, WARD_E_BUSY, "%s: %s: the database stayed locked by another "
		                      "process for %d ms", st->path, what, BUSY_TIMEOUT_MS);
	if ((code & 0xff) == SQLITE_READONLY || (code & 0xff) == SQLITE_CANTOPEN ||
	    (code & 0xff) == SQLITE_PERM)
		return ward_error_set(err, WARD_E_PERM, "%s: %s: %s (reading needs read access to the "
		                      "database and its -wal/-shm files; changing it needs root)",
		                      st->path, what, sqlite3_errmsg(st->db));
	return ward_error_set(err, WARD_E_DB, "%s: %s: %s", st->path, what, sqlite3_errmsg(st->db));
}

static ward_err_t exec(ward_store_t *st, const char *sql, const char *what, ward_error_t *err)
{
	if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return ward_store_dberr(st, err, what);
	return WARD_OK;
}

static void rollback(ward_store_t *st)
{
	if (!sqlite3_get_autocommit(st->db))
		(void)sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
}

/* ---------------------------------------------------------------- file checks */

/*
 * A file or directory we trust: owned by root or by us, and not writable by group or
 * others. lstat, so a symlink is reported as one rather than followed.
 */
static ward_err_t check_trusted(const char *path, bool want_dir, ward_error_t *err)
{
	struct stat sb;
	uid_t me = geteuid();

	if (lstat(path, &sb) != 0)
		return ward_error_set(err, errno == ENOENT ? WARD_E_NOTFOUND : WARD_E_IO, "%s: %s",
		                      path, strerror(errno));
	if (S_ISLNK(sb.st_mode))
		return ward_error_set(err, WARD_E_PERM, "%s: is a symbolic link; give the real path",
		                      path);
	if (want_dir && !S_ISDIR(sb.st_mode))
		return ward_error_set(err, WARD_E_INVAL, "%s: not a directory", path);
	if (!want_dir && !S_ISREG(sb.st_mode))
		return ward_error_set(err, WARD_E_INVAL, "%s: not a regular file", path);
	if (sb.st_uid != 0 && sb.st_uid != me)
		return ward_error_set(err, WARD_E_PERM,
		                      "%s: owned by uid %u, not root%s: refusing a rule database another "
		                      "user controls", path, (unsigned)sb.st_uid, me ? " or you" : "");
	if (sb.st_mode & (S_IWGRP | S_IWOTH))
		return ward_error_set(err, WARD_E_PERM,
		                      "%s: writable by %s (mode %04o): refusing a rule database another "
		                      "user can change (chmod go-w %s)", path,
		                      (sb.st_mode & S_IWOTH) ? "everyone" : "its group",
		                      (unsigned)(sb.st_mode & 07777), path);
	return WARD_OK;
}

/* Check (and with create, make 0700) the directory that holds path. */
static ward_err_t check_dir(const char *path, bool create, ward_error_t *err)
{
	char buf[PATH_MAX], *dir;
	ward_err_t rc;

	if (strlen(path) >= sizeof(buf))
		return ward_error_set(err, WARD_E_INVAL, "%.64s...: path too long", path);
	strcpy(buf, path);
	dir = dirname(buf);
	if (create && mkdir(dir, 0700) == 0) {
		/* Whatever the umask was, the directory is ours alone. */
		if (chmod(dir, 0700) != 0)
			return ward_error_set(err, WARD_E_IO, "%s: chmod: %s", dir, strerror(errno));
	} else if (create && errno != EEXIST) {
		return ward_error_set(err, WARD_E_IO, "%s: cannot create directory: %s", dir,
		                      strerror(errno));
	}
	rc = check_trusted(dir, true, err);
	if (rc == WARD_E_NOTFOUND)
		return ward_error_set(err, WARD_E_NOTFOUND, "%s: no such directory (no rule database "
		                      "at %s)", dir, path);
	return rc;
}

/*
 * Create path 0600 before SQLite sees it: SQLite would create it with the umask, and
 * it gives the -wal and -shm files the mode of the database file.
 */
static ward_err_t create_file(const char *path, ward_error_t *err)
{
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd < 0 && errno == EEXIST)
		return WARD_OK;
	if (fd < 0)
		return ward_error_set(err, WARD_E_IO, "%s: cannot create: %s", path, strerror(errno));
	if (fchmod(fd, 0600) != 0) {
		int e = errno;
		close(fd);
		return ward_error_set(err, WARD_E_IO, "%s: chmod: %s", path, strerror(e));
	}
	close(fd);
	return WARD_OK;
}

static ward_err_t check_files(const char *path, bool create, ward_error_t *err)
{
	char side[PATH_MAX + 8];
	ward_err_t rc;

	if ((rc = check_dir(path, create, err)) != WARD_OK)
		return rc;
	if (create && (rc = create_file(path, err)) != WARD_OK)
		return rc;
	rc = check_trusted(path, false, err);
	if (rc == WARD_E_NOTFOUND)
		return ward_error_set(err, WARD_E_NOTFOUND, "%s: no rule database here (it is created "
		                      "by the first rule change, as root)", path);
	if (rc != WARD_OK)
		return rc;
	for (int i = 0; i < 2; i++) {
		snprintf(side, sizeof(side), "%s%s", path, i ? "-shm" : "-wal");
		rc = check_trusted(side, false, err);
		if (rc != WARD_OK && rc != WARD_E_NOTFOUND)
			return rc;
	}
	return WARD_OK;
}

/* ---------------------------------------------------------------- schema */

/* Schema version; -1 for an empty database (no schema_version table yet). */
static ward_err_t read_version(ward_store_t *st, int *version, ward_error_t *err)
{
	sqlite3_stmt *s = NULL;
	int have_table = 0, other_tables = 0, rc;

	/* The first read of the file: a corrupt or foreign file fails here. */
	if (sqlite3_prepare_v2(st->db,
	                       "SELECT name = 'schema_version', count(*) FROM sqlite_master "
	                       "WHERE type = 'table' AND name NOT LIKE 'sqlite_%' GROUP BY 1",
	                       -1, &s, NULL) != SQLITE_OK)
		return ward_store_dberr(st, err, "reading the schema");
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (sqlite3_column_int(s, 0))
			have_table = 1;
		else
			other_tables = sqlite3_column_int(s, 1);
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return ward_store_dberr(st, err, "reading the schema");
	if (!have_table) {
		if (other_tables)
			return ward_error_set(err, WARD_E_DB, "%s: a SQLite database but not a warden "
			                      "rule database (no schema_version table)", st->path);
		*version = -1;
		return WARD_OK;
	}
	if (sqlite3_prepare_v2(st->db, "SELECT version FROM schema_version", -1, &s, NULL) != SQLITE_OK)
		return ward_store_dberr(st, err, "reading the schema version");
	rc = sqlite3_step(s);
	*version = rc == SQLITE_ROW ? sqlite3_column_int(s, 0) : -1;
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return ward_store_dberr(st, err, "reading the schema version");
	if (*version < 0)
		return ward_error_set(err, WARD_E_DB, "%s: schema_version table is empty or negative",
		                      st->path);
	return WARD_OK;
}

static ward_err_t migrate(ward_store_t *st, ward_error_t *err)
{
	char sql[64];
	ward_err_t rc;
	int v;

	if (st->readonly) {
		if ((rc = exec(st, "BEGIN", "starting a read", err)) != WARD_OK)
			return rc;
		rc = read_version(st, &v, err);
		rollback(st);
		if (rc != WARD_OK)
			return rc;
		if (v > SCHEMA_VERSION)
			goto newer;
		if (v < 0)
			return ward_error_set(err, WARD_E_DB, "%s: empty database, not yet a rule database; "
			                      "run any rule change as root first", st->path);
		if (v < SCHEMA_VERSION)
			return ward_error_set(err, WARD_E_DB, "%s: schema version %d needs migrating to %d; "
			                      "run any rule change as root first", st->path, v, SCHEMA_VERSION);
		st->version = v;
		return WARD_OK;
	}
	/* IMMEDIATE: two processes opening a fresh store must not both migrate it. */
	if ((rc = exec(st, "BEGIN IMMEDIATE", "starting the schema migration", err)) != WARD_OK)
		return rc;
	if ((rc = read_version(st, &v, err)) != WARD_OK)
		goto fail;
	if (v > SCHEMA_VERSION) {
		rollback(st);
		goto newer;
	}
	if (v < 0 && (rc = exec(st, "CREATE TABLE schema_version (version INTEGER NOT NULL);"
	                         "INSERT INTO schema_version VALUES (0);",
	                         "creating the schema", err)) != WARD_OK)
		goto fail;
	if (v < 0)
		v = 0;
	for (; v < SCHEMA_VERSION; v++) {
		if ((rc = exec(st, migrations[v], "migrating the schema", err)) != WARD_OK)
			goto fail;
		snprintf(sql, sizeof(sql), "UPDATE schema_version SET version = %d", v + 1);
		if ((rc = exec(st, sql, "migrating the schema", err)) != WARD_OK)
			goto fail;
	}
	if ((rc = exec(st, "COMMIT", "committing the schema migration", err)) != WARD_OK)
		goto fail;
	st->version = v;
	return WARD_OK;
fail:
	rollback(st);
	return rc;
newer:
	return ward_error_set(err, WARD_E_UNSUPPORTED, "%s: schema version %d is newer than this "
	                      "warden knows (%d); upgrade warden", st->path, v, SCHEMA_VERSION);
}

/* ---------------------------------------------------------------- open / close */

ward_err_t ward_store_open(const char *path, unsigned flags, ward_store_t **out, ward_error_t *err)
{
	bool memory = strcmp(path, ":memory:") == 0;
	bool ro = (flags & WARD_STORE_READONLY) != 0;
	ward_store_t *st;
	ward_err_t rc;
	int oflags;

	*out = NULL;
	if (strlen(path) >= PATH_MAX)
		return ward_error_set(err, WARD_E_INVAL, "%.64s...: path too long", path);
	if (path[0] == '\0')
		return ward_error_set(err, WARD_E_INVAL, "database path is empty");
	if (memory && ro)
		return ward_error_set(err, WARD_E_INVAL, ":memory: store cannot be read-only");
	if (!memory && (rc = check_files(path, !ro && (flags & WARD_STORE_CREATE), err)) != WARD_OK)
		return rc;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return ward_error_set(err, WARD_E_NOMEM, "out of memory");
	strcpy(st->path, path);
	st->readonly = ro;
	oflags = (ro ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) | SQLITE_OPEN_NOFOLLOW;
	if (sqlite3_open_v2(path, &st->db, oflags, NULL) != SQLITE_OK) {
		rc = st->db ? ward_store_dberr(st, err, "open")
		            : ward_error_set(err, WARD_E_NOMEM, "%s: out of memory", path);
		goto fail;
	}
	sqlite3_extended_result_codes(st->db, 1);
	sqlite3_busy_timeout(st->db, BUSY_TIMEOUT_MS);
	if (!memory) {
		int one = 1;
		/* Keep -wal and -shm when the last connection closes (whoever it is): a reader
		 * that may not create files in the directory can still open the database. */
		sqlite3_file_control(st->db, "main", SQLITE_FCNTL_PERSIST_WAL, &one);
	}
	if (!ro && !memory) {
		if ((rc = exec(st, "PRAGMA journal_mode = WAL", "enabling WAL", err)) != WARD_OK)
			goto fail;
	}
	if (!ro) {
		char sql[96];
		snprintf(sql, sizeof(sql), "PRAGMA synchronous = FULL; PRAGMA journal_size_limit = %d",
		         WAL_KEEP_BYTES);
		if ((rc = exec(st, sql, "setting pragmas", err)) != WARD_OK)
			goto fail;
	}
	if ((rc = migrate(st, err)) != WARD_OK)
		goto fail;
	if (sqlite3_prepare_v3(st->db, "SELECT generation, rule_count FROM store_state WHERE id = 1",
	                       -1, SQLITE_PREPARE_PERSISTENT, &st->state_stmt, NULL) != SQLITE_OK) {
		rc = ward_store_dberr(st, err, "preparing the generation query");
		goto fail;
	}
	*out = st;
	return WARD_OK;
fail:
	ward_store_close(st);
	return rc;
}

void ward_store_close(ward_store_t *st)
{
	if (st == NULL)
		return;
	sqlite3_finalize(st->state_stmt);
	sqlite3_close_v2(st->db);
	free(st);
}

/* ---------------------------------------------------------------- reads */

ward_err_t ward_store_state(ward_store_t *st, uint64_t *gen, size_t *count, ward_error_t *err)
{
	sqlite3_stmt *s = st->state_stmt;
	int rc = sqlite3_step(s);
	ward_err_t ret = WARD_OK;

	if (rc == SQLITE_ROW) {
		sqlite3_int64 g = sqlite3_column_int64(s, 0), c = sqlite3_column_int64(s, 1);
		if (g < 0 || c < 0) {
			ret = ward_error_set(err, WARD_E_DB, "%s: store_state holds negative values", st->path);
		} else {
			if (gen)
				*gen = (uint64_t)g;
			if (count)
				*count = (size_t)c;
		}
	} else if (rc == SQLITE_DONE) {
		ret = ward_error_set(err, WARD_E_DB, "%s: store_state row is missing", st->path);
	} else {
		ret = ward_store_dberr(st, err, "reading the generation");
	}
	sqlite3_reset(s);
	return ret;
}

ward_err_t ward_store_generation(ward_store_t *st, uint64_t *gen, ward_error_t *err)
{
	return ward_store_state(st, gen, NULL, err);
}

ward_err_t ward_store_count(ward_store_t *st, size_t *n, ward_error_t *err)
{
	return ward_store_state(st, NULL, n, err);
}

static const char *col_text(sqlite3_stmt *s, int i)
{
	const char *t = (const char *)sqlite3_column_text(s, i);
	return t ? t : "";
}

ward_err_t ward_store_row_rule(ward_store_t *st, sqlite3_stmt *s, ward_rule_t *r,
                               ward_error_t *err)
{
	sqlite3_int64 type = sqlite3_column_int64(s, 1), policy = sqlite3_column_int64(s, 3);
	sqlite3_int64 source = sqlite3_column_int64(s, 4);

	r->id = sqlite3_column_int64(s, 0);
	if (type < 0 || type >= WARD_RT__COUNT || policy < 0 || policy >= WARD_POL_REMOVE ||
	    source < 0 || source >= WARD_SRC__COUNT)
		return ward_error_set(err, WARD_E_DB, "%s: rule row %lld holds an out-of-range type, "
		                      "policy or source", st->path, (long long)r->id);
	r->type = (ward_rule_type_t)type;
	r->policy = (ward_policy_t)policy;
	r->source = (ward_rule_source_t)source;
	r->identifier = col_text(s, 2);
	r->custom_msg = col_text(s, 5);
	r->custom_url = col_text(s, 6);
	r->comment = col_text(s, 7);
	r->expires_at = sqlite3_column_int64(s, 8);
	r->created_at = sqlite3_column_int64(s, 9);
	r->created_by = col_text(s, 10);
	return WARD_OK;
}

static ward_err_t foreach_stmt(ward_store_t *st, sqlite3_stmt *s,
                               int (*fn)(const ward_rule_t *r, void *arg), void *arg,
                               ward_error_t *err)
{
	ward_err_t ret = WARD_OK;
	ward_rule_t r;
	int rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if ((ret = ward_store_row_rule(st, s, &r, err)) != WARD_OK)
			break;
		if (fn(&r, arg) != 0)
			break;
	}
	if (ret == WARD_OK && rc != SQLITE_ROW && rc != SQLITE_DONE)
		ret = ward_store_dberr(st, err, "reading rules");
	return ret;
}

ward_err_t ward_store_foreach(ward_store_t *st, int (*fn)(const ward_rule_t *r, void *arg),
                              void *arg, ward_error_t *err)
{
	sqlite3_stmt *s = NULL;
	ward_err_t ret;

	if (sqlite3_prepare_v2(st->db, "SELECT " WARD_RULE_COLUMNS " FROM rules "
	                       "ORDER BY type, identifier, slot", -1, &s, NULL) != SQLITE_OK)
		return ward_store_dberr(st, err, "reading rules");
	ret = foreach_stmt(st, s, fn, arg, err);
	sqlite3_finalize(s);
	return ret;
}

ward_err_t ward_store_find(ward_store_t *st, ward_rule_type_t type, const char *identifier,
                           int (*fn)(const ward_rule_t *r, void *arg), void *arg,
                           ward_error_t *err)
{
	sqlite3_stmt *s = NULL;
	ward_err_t ret;

	if (sqlite3_prepare_v2(st->db, "SELECT " WARD_RULE_COLUMNS " FROM rules "
	                       "WHERE type = ?1 AND identifier = ?2 ORDER BY " WARD_SLOT_RANK_SQL, -1, &s,
	                       NULL) != SQLITE_OK)
		return ward_store_dberr(st, err, "finding a rule");
	sqlite3_bind_int(s, 1, (int)type);
	sqlite3_bind_text(s, 2, identifier, -1, SQLITE_STATIC);
	ret = foreach_stmt(st, s, fn, arg, err);
	sqlite3_finalize(s);
	return ret;
}

/* ---------------------------------------------------------------- writes */

struct writer {
	sqlite3_stmt *upsert, *del;
};

static void writer_done(struct writer *w)
{
	sqlite3_finalize(w->upsert);
	sqlite3_finalize(w->del);
}

static ward_err_t writer_init(ward_store_t *st, struct writer *w, ward_error_t *err)
{
	memset(w, 0, sizeof(*w));
	if (sqlite3_prepare_v2(st->db,
	                       "INSERT INTO rules (type, identifier, slot, policy, source, custom_msg, "
	                       "custom_url, comment, expires_at, created_at, created_by) "
	                       "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) "
	                       "ON CONFLICT (type, identifier, slot) DO UPDATE SET "
	                       "policy = ?4, source = ?5, custom_msg = ?6, custom_url = ?7, "
	                       "comment = ?8, expires_at = ?9, created_at = ?10, created_by = ?11",
	                       -1, &w->upsert, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(st->db, "DELETE FROM rules WHERE type = ?1 AND identifier = ?2 "
	                       "AND slot = ?3", -1, &w->del, NULL) != SQLITE_OK) {
		ward_err_t rc = ward_store_dberr(st, err, "preparing a change");
		writer_done(w);
		return rc;
	}
	return WARD_OK;
}

static const char *or_empty(const char *s)
{
	return s ? s : "";
}

/* Write one validated rule; *deleted tells whether a REMOVE found a rule. */
static ward_err_t writer_put(ward_store_t *st, struct writer *w, const ward_rule_t *r,
                             int64_t now, bool *deleted, ward_error_t *err)
{
	sqlite3_stmt *s = r->policy == WARD_POL_REMOVE ? w->del : w->upsert;
	int rc;

	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	sqlite3_bind_int(s, 1, (int)r->type);
	sqlite3_bind_text(s, 2, r->identifier, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 3, ward_rule_slot(r->source));
	if (s == w->upsert) {
		sqlite3_bind_int(s, 4, (int)r->policy);
		sqlite3_bind_int(s, 5, (int)r->source);
		sqlite3_bind_text(s, 6, or_empty(r->custom_msg), -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 7, or_empty(r->custom_url), -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 8, or_empty(r->comment), -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 9, r->expires_at);
		sqlite3_bind_int64(s, 10, r->created_at ? r->created_at : now);
		sqlite3_bind_text(s, 11, or_empty(r->created_by), -1, SQLITE_STATIC);
	}
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return ward_store_dberr(st, err, "writing a rule");
	if (deleted)
		*deleted = s == w->del && sqlite3_changes(st->db) > 0;
	return WARD_OK;
}

static ward_err_t check_capacity(ward_store_t *st, ward_error_t *err)
{
	size_t n;
	ward_err_t rc = ward_store_count(st, &n, err);

	if (rc == WARD_OK && n > WARD_MAX_RULES)
		rc = ward_error_set(err, WARD_E_LIMIT, "%s: more than %u rules", st->path, WARD_MAX_RULES);
	return rc;
}

static ward_err_t begin_write(ward_store_t *st, ward_error_t *err)
{
	if (st->readonly)
		return ward_error_set(err, WARD_E_PERM, "%s: opened read-only", st->path);
	return exec(st, "BEGIN IMMEDIATE", "starting a change", err);
}

ward_err_t ward_store_put(ward_store_t *st, const ward_rule_t *rule, ward_error_t *err)
{
	return ward_store_apply(st, rule, 1, NULL, err);
}

ward_err_t ward_store_remove(ward_store_t *st, ward_rule_type_t type, const char *identifier,
                             ward_rule_source_t source, ward_error_t *err)
{
	ward_rule_t r = { .type = type, .policy = WARD_POL_REMOVE, .source = source,
	                  .identifier = identifier };
	ward_apply_stats_t stats;
	ward_err_t rc = ward_store_apply(st, &r, 1, &stats, err);

	if (rc == WARD_OK && stats.removed == 0)
		return ward_error_set(err, WARD_E_NOTFOUND, "no %s rule for %s %s",
		                      ward_rule_slot(source) == WARD_SLOT_MANAGED ? "managed" :
		                      ward_rule_slot(source) == WARD_SLOT_SYNC ? "synced" :
		                      ward_rule_slot(source) == WARD_SLOT_TRANSITIVE ? "transitive" : "local",
		                      ward_rule_type_name(type), identifier);
	return rc;
}

/* Index of an earlier rule with the same type+identifier, or SIZE_MAX: a hash set of
 * positions in rules (open addressing, capacity a power of two >= 2n). */
static ward_err_t find_duplicates(const ward_rule_t *rules, size_t n, ward_error_t *err)
{
	size_t cap = 16, mask;
	uint32_t *set;

	if (n < 2)
		return WARD_OK;
	while (cap < 2 * n)
		cap <<= 1;
	if ((set = calloc(cap, sizeof(*set))) == NULL)
		return ward_error_set(err, WARD_E_NOMEM, "out of memory checking %zu rules", n);
	mask = cap - 1;
	for (size_t i = 0; i < n; i++) {
		const ward_rule_t *r = &rules[i];
		size_t len = strlen(r->identifier);
		size_t h = (size_t)ward_rule_hash(0, (unsigned)r->type, r->identifier, len) & mask;
		for (;; h = (h + 1) & mask) {
			const ward_rule_t *o;
			if (set[h] == 0) {
				set[h] = (uint32_t)(i + 1);
				break;
			}
			o = &rules[set[h] - 1];
			if (o->type == r->type && ward_rule_slot(o->source) == ward_rule_slot(r->source) &&
			    strcmp(o->identifier, r->identifier) == 0) {
				size_t j = set[h] - 1;
				free(set);
				return ward_error_set(err, WARD_E_EXISTS,
				                      "rules[%zu]: %s %.80s appears again (first at rules[%zu]); "
				                      "a file may name each rule once", i,
				                      ward_rule_type_name(r->type), r->identifier, j);
			}
		}
	}
	free(set);
	return WARD_OK;
}

static const ward_rule_t *sort_base;

static int cmp_rule_pos(const void *a, const void *b)
{
	const ward_rule_t *x = &sort_base[*(const uint32_t *)a], *y = &sort_base[*(const uint32_t *)b];

	if (x->type != y->type)
		return x->type < y->type ? -1 : 1;
	return strcmp(x->identifier, y->identifier);
}

/*
 * Write order for a batch: by type and identifier, so the unique index is filled
 * left to right instead of at random (a 1M-rule import into a file store is ~2.5x
 * faster). NULL for small batches (written as given) or when out of memory.
 */
static uint32_t *write_order(const ward_rule_t *rules, size_t n)
{
	uint32_t *order;

	if (n < 1024 || (order = malloc(n * sizeof(*order))) == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		order[i] = (uint32_t)i;
	/* qsort has no context argument; apply runs on one thread per store handle, but
	 * two handles may apply at once, so serialise the sort. */
	{
		static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
		pthread_mutex_lock(&lock);
		sort_base = rules;
		qsort(order, n, sizeof(*order), cmp_rule_pos);
		sort_base = NULL;
		pthread_mutex_unlock(&lock);
	}
	return order;
}

static ward_err_t apply_txn(ward_store_t *st, const ward_rule_t *rules, size_t n, int clear,
                            ward_apply_stats_t *stats, ward_error_t *err);

/* clear: a mask of sources whose rules are deleted first, in the same transaction; -1: none. */
static ward_err_t apply(ward_store_t *st, const ward_rule_t *rules, size_t n, int clear,
                        ward_apply_stats_t *stats, ward_error_t *err);

ward_err_t ward_store_apply(ward_store_t *st, const ward_rule_t *rules, size_t n,
                            ward_apply_stats_t *stats, ward_error_t *err)
{
	return apply(st, rules, n, -1, stats, err);
}

ward_err_t ward_store_replace_source(ward_store_t *st, ward_rule_source_t source,
                                     const ward_rule_t *rules, size_t n,
                                     ward_apply_stats_t *stats, ward_error_t *err)
{
	if ((unsigned)source >= WARD_SRC__COUNT)
		return ward_error_set(err, WARD_E_INVAL, "source: %d is not a source", (int)source);
	for (size_t i = 0; i < n; i++)
		if (rules[i].source != source)
			return ward_error_set(err, WARD_E_INVAL, "rules[%zu]: source %s, expected %s", i,
			                      ward_rule_source_name(rules[i].source),
			                      ward_rule_source_name(source));
	return apply(st, rules, n, (int)(1u << source), stats, err);
}

ward_err_t ward_store_replace_sources(ward_store_t *st, unsigned clear_mask,
                                      const ward_rule_t *rules, size_t n,
                                      ward_apply_stats_t *stats, ward_error_t *err)
{
	if (clear_mask == 0 || clear_mask >= (1u << WARD_SRC__COUNT))
		return ward_error_set(err, WARD_E_INVAL, "no valid source to clear");
	return apply(st, rules, n, (int)clear_mask, stats, err);
}

ward_err_t ward_store_count_source(ward_store_t *st, ward_rule_source_t source, size_t *n,
                                   size_t *counts, ward_error_t *err)
{
	sqlite3_stmt *s = NULL;
	int rc;

	*n = 0;
	if (counts)
		memset(counts, 0, WARD_RT__COUNT * sizeof(*counts));
	if (sqlite3_prepare_v2(st->db, "SELECT type, count(*) FROM rules WHERE source = ?1 GROUP BY type",
	                       -1, &s, NULL) != SQLITE_OK)
		return ward_store_dberr(st, err, "counting rules");
	sqlite3_bind_int(s, 1, (int)source);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int t = sqlite3_column_int(s, 0);
		size_t c = (size_t)sqlite3_column_int64(s, 1);
		*n += c;
		if (counts && t >= 0 && t < WARD_RT__COUNT)
			counts[t] = c;
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return ward_store_dberr(st, err, "counting rules");
	return WARD_OK;
}

static ward_err_t apply(ward_store_t *st, const ward_rule_t *rules, size_t n, int clear,
                        ward_apply_stats_t *stats, ward_error_t *err)
{
	ward_apply_stats_t local = { 0 };
	ward_err_t rc;

	if (stats == NULL)
		stats = &local;
	memset(stats, 0, sizeof(*stats));
	if (n > WARD_MAX_RULES)
		return ward_error_set(err, WARD_E_LIMIT, "%zu rules in one change: more than %u", n,
		                      WARD_MAX_RULES);
	for (size_t i = 0; i < n; i++) {
		ward_error_t e = { 0 };
		if ((rc = ward_rule_validate(&rules[i], &e)) != WARD_OK)
			return n == 1 ? ward_error_set(err, rc, "%s", e.msg)
			              : ward_error_set(err, rc, "rules[%zu]: %s", i, e.msg);
	}
	if ((rc = find_duplicates(rules, n, err)) != WARD_OK)
		return rc;
	/* A big batch spills a small page cache into the WAL again and again; give it room
	 * for the duration (memory is only taken as pages are touched). */
	if (n >= BULK_ROWS) {
		char sql[64];
		snprintf(sql, sizeof(sql), "PRAGMA cache_size = -%d", BULK_CACHE_KIB);
		(void)sqlite3_exec(st->db, sql, NULL, NULL, NULL);
	}
	rc = apply_txn(st, rules, n, clear, stats, err);
	if (n >= BULK_ROWS) {
		(void)sqlite3_exec(st->db, "PRAGMA cache_size = -2000", NULL, NULL, NULL);
		(void)sqlite3_db_release_memory(st->db);
	}
	return rc;
}

static ward_err_t apply_txn(ward_store_t *st, const ward_rule_t *rules, size_t n, int clear,
                            ward_apply_stats_t *stats, ward_error_t *err)
{
	int64_t now = (int64_t)time(NULL);
	uint32_t *order = NULL;
	struct writer w;
	ward_err_t rc;

	if ((rc = begin_write(st, err)) != WARD_OK)
		return rc;
	if (clear >= 0) {
		char sql[96];
		snprintf(sql, sizeof(sql), "DELETE FROM rules WHERE ((1 << source) & %d) != 0", clear);
		if ((rc = exec(st, sql, "clearing rules", err)) != WARD_OK) {
			rollback(st);
			return rc;
		}
		stats->cleared = (size_t)sqlite3_changes(st->db);
	}
	if ((rc = writer_init(st, &w, err)) != WARD_OK) {
		rollback(st);
		return rc;
	}
	order = write_order(rules, n);
	for (size_t k = 0; k < n; k++) {
		size_t i = order ? order[k] : k;
		bool deleted = false;
		if ((rc = writer_put(st, &w, &rules[i], now, &deleted, err)) != WARD_OK)
			goto fail;
		if (rules[i].policy != WARD_POL_REMOVE)
			stats->put++;
		else if (deleted)
			stats->removed++;
		else
			stats->absent++;
	}
	writer_done(&w);
	if ((rc = check_capacity(st, err)) != WARD_OK)
		goto fail_done;
	if ((rc = exec(st, "COMMIT", "committing the change", err)) != WARD_OK)
		goto fail_done;
	free(order);
	return WARD_OK;
fail:
	writer_done(&w);
fail_done:
	free(order);
	rollback(st);
	memset(stats, 0, sizeof(*stats));
	return rc;
}
