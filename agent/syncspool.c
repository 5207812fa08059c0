/*
 * The sync spool (agent/syncspool.h): one SQLite file, one table of events in
 * Santa's upload shape, a row of counters. WAL with synchronous=NORMAL: an insert is
 * one append to the WAL, no fsync, so the event log's writer thread keeps up with a
 * storm; a power cut may lose the last events, never corrupt the spool.
 */
#include "agent/syncspool.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "common/hex.h"
#include "common/proc.h"

struct ward_syncspool {
	pthread_mutex_t mu;
	sqlite3 *db;
	sqlite3_stmt *ins, *count_stmt;
	uint64_t max, depth, errors;
	char path[PATH_MAX];
};

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS events ("
	"  id    INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  event TEXT NOT NULL"
	");"
	"CREATE TABLE IF NOT EXISTS counters ("
	"  id       INTEGER PRIMARY KEY CHECK (id = 1),"
	"  spooled  INTEGER NOT NULL DEFAULT 0,"
	"  uploaded INTEGER NOT NULL DEFAULT 0,"
	"  dropped  INTEGER NOT NULL DEFAULT 0"
	");"
	"INSERT OR IGNORE INTO counters (id) VALUES (1);";

static ward_err_t dberr(ward_syncspool_t *sp, ward_error_t *err, const char *what)
{
	return ward_error_set(err, WARD_E_DB, "%s: %s: %s", sp->path, what, sqlite3_errmsg(sp->db));
}

static ward_err_t exec(ward_syncspool_t *sp, const char *sql, const char *what, ward_error_t *err)
{
	if (sqlite3_exec(sp->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return dberr(sp, err, what);
	return WARD_OK;
}

static uint64_t count_events(ward_syncspool_t *sp)
{
	uint64_t n = 0;

	if (sqlite3_step(sp->count_stmt) == SQLITE_ROW)
		n = (uint64_t)sqlite3_column_int64(sp->count_stmt, 0);
	sqlite3_reset(sp->count_stmt);
	return n;
}

ward_err_t ward_syncspool_open(const char *path, uint64_t max, ward_syncspool_t **out,
                               ward_error_t *err)
{
	ward_syncspool_t *sp;
	ward_err_t rc;
	int fd;

	*out = NULL;
	if (strlen(path) >= PATH_MAX)
		return ward_error_set(err, WARD_E_INVAL, "%.64s...: path too long", path);
	if (max == 0)
		return ward_error_set(err, WARD_E_INVAL, "sync spool: a bound of 0 events");
	/* 0600 before SQLite sees it: the spool holds paths and user names. */
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return ward_error_set(err, WARD_E_IO, "%s: %s", path, strerror(errno));
	if (fchmod(fd, 0600) != 0) {
		int e = errno;
		close(fd);
		return ward_error_set(err, WARD_E_IO, "%s: chmod: %s", path, strerror(e));
	}
	close(fd);
	if ((sp = calloc(1, sizeof(*sp))) == NULL)
		return ward_error_set(err, WARD_E_NOMEM, "out of memory");
	pthread_mutex_init(&sp->mu, NULL);
	snprintf(sp->path, sizeof(sp->path), "%s", path);
	sp->max = max;
	if (sqlite3_open_v2(path, &sp->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW |
	                    SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK) {
		rc = sp->db ? dberr(sp, err, "open") : ward_error_set(err, WARD_E_NOMEM, "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(sp->db, 5000);
	if ((rc = exec(sp, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL", "pragmas", err)) != WARD_OK ||
	    (rc = exec(sp, schema, "creating the spool", err)) != WARD_OK)
		goto fail;
	if (sqlite3_prepare_v2(sp->db, "INSERT INTO events (event) VALUES (?1)", -1, &sp->ins, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(sp->db, "SELECT count(*) FROM events", -1, &sp->count_stmt, NULL) != SQLITE_OK) {
		rc = dberr(sp, err, "preparing");
		goto fail;
	}
	sp->depth = count_events(sp);
	*out = sp;
	return WARD_OK;
fail:
	ward_syncspool_close(sp);
	return rc;
}

void ward_syncspool_close(ward_syncspool_t *sp)
{
	if (sp == NULL)
		return;
	sqlite3_finalize(sp->ins);
	sqlite3_finalize(sp->count_stmt);
	sqlite3_close_v2(sp->db);
	pthread_mutex_destroy(&sp->mu);
	free(sp);
}

bool ward_syncspool_wanted(const ward_evrec_t *r)
{
	if (r->kind != WARD_EV_EXEC)
		return false;
	if (r->v.decision == WARD_DENY)
		return true;
	/* ALLOW_UNKNOWN: MONITOR let a program no rule names run (or its scan was late). */
	return r->v.reason == WARD_RSN_MODE || r->v.reason == WARD_RSN_DEADLINE ||
	       r->v.reason == WARD_RSN_QUEUE_FULL || r->v.reason == WARD_RSN_ERROR;
}

/* Santa's decision names (SNTSyncConstants: ALLOW_BINARY, BLOCK_UNKNOWN, ...). */
static const char *santa_decision(const ward_verdict_t *v)
{
	static const char *const allow[WARD_RT__COUNT] = {
		[WARD_RT_CDHASH] = "ALLOW_CDHASH", [WARD_RT_BINARY] = "ALLOW_BINARY",
		[WARD_RT_SIGNINGID] = "ALLOW_SIGNINGID", [WARD_RT_CERTIFICATE] = "ALLOW_CERTIFICATE",
		[WARD_RT_TEAMID] = "ALLOW_TEAMID",
	};
	static const char *const block[WARD_RT__COUNT] = {
		[WARD_RT_CDHASH] = "BLOCK_CDHASH", [WARD_RT_BINARY] = "BLOCK_BINARY",
		[WARD_RT_SIGNINGID] = "BLOCK_SIGNINGID", [WARD_RT_CERTIFICATE] = "BLOCK_CERTIFICATE",
		[WARD_RT_TEAMID] = "BLOCK_TEAMID",
	};
	bool by_rule = v->reason == WARD_RSN_RULE && v->has_rule && (unsigned)v->rule_type < WARD_RT__COUNT;

	if (v->reason == WARD_RSN_PATH_BLOCKED)
		return "BLOCK_SCOPE";
	if (v->reason == WARD_RSN_PATH_ALLOWED)
		return "ALLOW_SCOPE";
	if (v->reason == WARD_RSN_BAD_SIGNATURE)
		return "BLOCK_CERTIFICATE"; /* Santa's decision for a bad signature */
	if (v->decision == WARD_DENY)
		return by_rule ? block[v->rule_type] : "BLOCK_UNKNOWN";
	return by_rule ? allow[v->rule_type] : "ALLOW_UNKNOWN";
}

static void parent_name(pid_t ppid, char *out, size_t cap)
{
	(void)ward_proc_name(ppid, out, cap);
}

json_t *ward_syncspool_event_json(const ward_evrec_t *r)
{
	char hex[2 * WARD_SHA256_LEN + 1], dir[PATH_MAX], user[64] = "", parent[64];
	const char *slash = strrchr(r->path, '/');
	json_t *o = json_object();
	struct passwd pw, *res = NULL;
	char pwbuf[1024];

	if (o == NULL)
		return NULL;
	if (slash != NULL) {
		snprintf(dir, sizeof(dir), "%.*s", slash == r->path ? 1 : (int)(slash - r->path), r->path);
		json_object_set_new(o, "file_path", json_string(dir));
		json_object_set_new(o, "file_name", json_string(slash + 1));
	} else {
		json_object_set_new(o, "file_path", json_string(""));
		json_object_set_new(o, "file_name", json_string(r->path));
	}
	if (r->v.has_sha256) {
		ward_hex_encode(r->v.sha256, WARD_SHA256_LEN, hex);
		json_object_set_new(o, "file_sha256", json_string(hex));
	}
	if (r->v.has_cdhash) {
		ward_hex_encode(r->v.cdhash, WARD_CDHASH_LEN, hex);
		json_object_set_new(o, "cdhash", json_string(hex));
	}
	if (r->team_id[0])
		json_object_set_new(o, "team_id", json_string(r->team_id));
	if (r->signing_id[0])
		json_object_set_new(o, "signing_id", json_string(r->signing_id));
	json_object_set_new(o, "decision", json_string(santa_decision(&r->v)));
	json_object_set_new(o, "execution_time",
	                    json_real((double)r->when.tv_sec + (double)r->when.tv_nsec / 1e9));
	json_object_set_new(o, "pid", json_integer(r->proc.pid));
	if (r->pinfo.ok || r->proc.creds_ok) {
		/* the real uid from the process's details; if it exited before they were read,
		 * the effective uid the event was decided with */
		uid_t u = r->pinfo.ok ? r->pinfo.uid : r->proc.uid;
		if (getpwuid_r(u, &pw, pwbuf, sizeof(pwbuf), &res) == 0 && res != NULL)
			snprintf(user, sizeof(user), "%s", pw.pw_name);
		else
			snprintf(user, sizeof(user), "%u", (unsigned)u);
		json_object_set_new(o, "executing_user", json_string(user));
	}
	if (r->pinfo.ok) {
		json_object_set_new(o, "ppid", json_integer(r->pinfo.ppid));
		parent_name(r->pinfo.ppid, parent, sizeof(parent));
		if (parent[0])
			json_object_set_new(o, "parent_name", json_string(parent));
	}
	json_object_set_new(o, "logged_in_users", json_array());
	json_object_set_new(o, "current_sessions", json_array());
	json_object_set_new(o, "signing_chain", json_array());
	return o;
}

ward_err_t ward_syncspool_add(ward_syncspool_t *sp, const json_t *event, ward_error_t *err)
{
	char *text = json_dumps(event, JSON_COMPACT);
	ward_err_t rc = WARD_OK;
	uint64_t dropped = 0;
	int step;

	if (text == NULL)
		return ward_error_set(err, WARD_E_NOMEM, "out of memory");
	pthread_mutex_lock(&sp->mu);
	if (sp->depth >= sp->max) {
		/* Full: the oldest goes, counted, in the same transaction as the newest. */
		char sql[160];
		uint64_t excess = sp->depth - sp->max + 1;
		snprintf(sql, sizeof(sql), "DELETE FROM events WHERE id IN (SELECT id FROM events "
		         "ORDER BY id LIMIT %llu)", (unsigned long long)excess);
		if ((rc = exec(sp, "BEGIN", "spooling an event", err)) != WARD_OK)
			goto out;
		if ((rc = exec(sp, sql, "dropping the oldest event", err)) != WARD_OK) {
			(void)sqlite3_exec(sp->db, "ROLLBACK", NULL, NULL, NULL);
			goto out;
		}
		dropped = (uint64_t)sqlite3_changes(sp->db);
		snprintf(sql, sizeof(sql), "UPDATE counters SET dropped = dropped + %llu",
		         (unsigned long long)dropped);
		if ((rc = exec(sp, sql, "dropping the oldest event", err)) != WARD_OK) {
			(void)sqlite3_exec(sp->db, "ROLLBACK", NULL, NULL, NULL);
			goto out;
		}
	} else if ((rc = exec(sp, "BEGIN", "spooling an event", err)) != WARD_OK) {
		goto out;
	}
	sqlite3_reset(sp->ins);
	sqlite3_bind_text(sp->ins, 1, text, -1, SQLITE_STATIC);
	step = sqlite3_step(sp->ins);
	sqlite3_reset(sp->ins);
	if (step != SQLITE_DONE ||
	    sqlite3_exec(sp->db, "UPDATE counters SET spooled = spooled + 1; COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		rc = dberr(sp, err, "spooling an event");
		(void)sqlite3_exec(sp->db, "ROLLBACK", NULL, NULL, NULL);
		goto out;
	}
	sp->depth = sp->depth - dropped + 1;
out:
	if (rc != WARD_OK)
		sp->errors++;
	pthread_mutex_unlock(&sp->mu);
	free(text);
	return rc;
}

void ward_syncspool_hook(void *arg, const ward_evrec_t *r)
{
	ward_syncspool_t *sp = arg;
	json_t *ev;

	if (sp == NULL || !ward_syncspool_wanted(r))
		return;
	if ((ev = ward_syncspool_event_json(r)) == NULL) {
		pthread_mutex_lock(&sp->mu);
		sp->errors++;
		pthread_mutex_unlock(&sp->mu);
		return;
	}
	(void)ward_syncspool_add(sp, ev, NULL);
	json_decref(ev);
}

ward_err_t ward_syncspool_take(ward_syncspool_t *sp, int64_t after, size_t max, size_t max_bytes,
                               json_t **out, ward_error_t *err)
{
	sqlite3_stmt *s = NULL;
	json_t *a = json_array();
	size_t bytes = 0;
	ward_err_t rc = WARD_OK;
	int step;

	*out = NULL;
	if (a == NULL)
		return ward_error_set(err, WARD_E_NOMEM, "out of memory");
	pthread_mutex_lock(&sp->mu);
	if (sqlite3_prepare_v2(sp->db, "SELECT id, event FROM events WHERE id > ?2 ORDER BY id LIMIT ?1", -1, &s,
	                       NULL) != SQLITE_OK) {
		rc = dberr(sp, err, "reading events");
		goto out;
	}
	sqlite3_bind_int64(s, 1, (sqlite3_int64)max);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)after);
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		const char *text = (const char *)sqlite3_column_text(s, 1);
		size_t len = (size_t)sqlite3_column_bytes(s, 1);
		json_t *ev;
		if (json_array_size(a) > 0 && bytes + len > max_bytes)
			break;
		/* Our own rows; one that does not parse (a hand edit) is dropped at ack. */
		ev = text ? json_loadb(text, len, 0, NULL) : NULL;
		json_array_append_new(a, json_pack("{s:I, s:o}", "id", (json_int_t)sqlite3_column_int64(s, 0),
		                                   "event", ev ? ev : json_object()));
		bytes += len + 32;
	}
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		rc = dberr(sp, err, "reading events");
out:
	sqlite3_finalize(s);
	pthread_mutex_unlock(&sp->mu);
	if (rc != WARD_OK) {
		json_decref(a);
		return rc;
	}
	*out = a;
	return WARD_OK;
}

ward_err_t ward_syncspool_ack(ward_syncspool_t *sp, const int64_t *ids, size_t n, size_t *removed,
                              ward_error_t *err)
{
	sqlite3_stmt *s = NULL;
	ward_err_t rc = WARD_OK;
	size_t gone = 0;

	*removed = 0;
	pthread_mutex_lock(&sp->mu);
	if ((rc = exec(sp, "BEGIN", "acknowledging events", err)) != WARD_OK)
		goto out;
	if (sqlite3_prepare_v2(sp->db, "DELETE FROM events WHERE id = ?1", -1, &s, NULL) != SQLITE_OK) {
		rc = dberr(sp, err, "acknowledging events");
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		sqlite3_reset(s);
		sqlite3_bind_int64(s, 1, ids[i]);
		if (sqlite3_step(s) != SQLITE_DONE) {
			rc = dberr(sp, err, "acknowledging events");
			goto fail;
		}
		gone += (size_t)sqlite3_changes(sp->db);
	}
	sqlite3_finalize(s);
	s = NULL;
	{
		char sql[96];
		snprintf(sql, sizeof(sql), "UPDATE counters SET uploaded = uploaded + %zu; COMMIT", gone);
		if ((rc = exec(sp, sql, "acknowledging events", err)) != WARD_OK)
			goto fail;
	}
	sp->depth = sp->depth >= gone ? sp->depth - gone : 0;
	*removed = gone;
	goto out;
fail:
	sqlite3_finalize(s);
	(void)sqlite3_exec(sp->db, "ROLLBACK", NULL, NULL, NULL);
out:
	pthread_mutex_unlock(&sp->mu);
	return rc;
}

void ward_syncspool_stats(ward_syncspool_t *sp, ward_syncspool_stats_t *st)
{
	sqlite3_stmt *s = NULL;

	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&sp->mu);
	st->depth = sp->depth;
	st->errors = sp->errors;
	if (sqlite3_prepare_v2(sp->db, "SELECT spooled, uploaded, dropped FROM counters WHERE id = 1",
	                       -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW) {
		st->spooled = (uint64_t)sqlite3_column_int64(s, 0);
		st->uploaded = (uint64_t)sqlite3_column_int64(s, 1);
		st->dropped = (uint64_t)sqlite3_column_int64(s, 2);
	}
	sqlite3_finalize(s);
	pthread_mutex_unlock(&sp->mu);
}
