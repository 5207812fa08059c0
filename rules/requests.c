/*
 * Exception requests and the audit trail: tables `requests` and `audit` of the rule
 * store (schema version 2, rules/store.c). Every change is one BEGIN IMMEDIATE
 * transaction that writes the request, the rule it grants and its audit row together.
 */
#include "rules/requests.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rules/store_internal.h"

#define SLOT_ADMIN_SQL "1" /* WARD_SLOT_ADMIN, as SQL */

static const char *const state_names[WARD_REQ__COUNT] = {
	[WARD_REQ_PENDING] = "pending",
	[WARD_REQ_APPROVED] = "approved",
	[WARD_REQ_DENIED] = "denied",
	[WARD_REQ_EXPIRED] = "expired",
	[WARD_REQ_REVOKED] = "revoked",
};

const char *ward_req_state_name(ward_req_state_t s)
{
	return (unsigned)s < WARD_REQ__COUNT ? state_names[s] : "?";
}

ward_err_t ward_req_state_parse(const char *s, ward_req_state_t *out, ward_error_t *err)
{
	for (int i = 0; i < WARD_REQ__COUNT; i++)
		if (s != NULL && strcmp(s, state_names[i]) == 0) {
			*out = (ward_req_state_t)i;
			return WARD_OK;
		}
	return ward_error_set(err, WARD_E_INVAL, "status '%.40s': expected pending, approved, "
	                      "denied, expired or revoked", s ? s : "");
}

ward_err_t ward_req_scope_parse(const char *s, ward_rule_type_t *out, ward_error_t *err)
{
	static const struct { const char *name; ward_rule_type_t t; } scopes[] = {
		{ "cdhash", WARD_RT_CDHASH },
		{ "binary", WARD_RT_BINARY },
		{ "signingid", WARD_RT_SIGNINGID },
		{ "teamid", WARD_RT_TEAMID },
	};

	for (size_t i = 0; i < sizeof(scopes) / sizeof(scopes[0]); i++)
		if (s != NULL && strcasecmp(s, scopes[i].name) == 0) {
			*out = scopes[i].t;
			return WARD_OK;
		}
	return ward_error_set(err, WARD_E_INVAL, "scope '%.40s': expected cdhash, binary, "
	                      "signingid or teamid", s ? s : "");
}

bool ward_req_scan_matched(const char *s)
{
	return s != NULL && strncmp(s, "match", 5) == 0;
}

void ward_req_filter_init(ward_req_filter_t *f)
{
	memset(f, 0, sizeof(*f));
	f->uid = -1;
	f->state = WARD_REQ__COUNT;
}

/* ---------------------------------------------------------------- text */

/* Length of the UTF-8 sequence at s (n bytes left), or 0 if it is not valid
 * (overlong forms, surrogates and code points above U+10FFFF are invalid). */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, cp = c & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

ward_err_t ward_req_text_check(const char *text, size_t max, bool required, const char *field,
                               ward_error_t *err)
{
	const unsigned char *s = (const unsigned char *)(text ? text : "");
	size_t n = strnlen((const char *)s, max + 1);

	if (n == 0 && required)
		return ward_error_set(err, WARD_E_INVAL, "%s: empty; say why", field);
	if (n > max)
		return ward_error_set(err, WARD_E_LIMIT, "%s: longer than %zu bytes", field, max);
	for (size_t i = 0; i < n;) {
		size_t l;
		if (s[i] < 0x20 || s[i] == 0x7f)
			return ward_error_set(err, WARD_E_INVAL, "%s: control character at byte %zu",
			                      field, i);
		if ((l = utf8_len(s + i, n - i)) == 0)
			return ward_error_set(err, WARD_E_INVAL, "%s: not valid UTF-8 at byte %zu",
			                      field, i);
		i += l;
	}
	return WARD_OK;
}

/* ---------------------------------------------------------------- SQL helpers */

static ward_err_t prep(ward_store_t *st, const char *sql, sqlite3_stmt **s, ward_error_t *err)
{
	if (sqlite3_prepare_v2(ward_store_sqlite(st), sql, -1, s, NULL) != SQLITE_OK) {
		*s = NULL;
		return ward_store_dberr(st, err, "preparing a request query");
	}
	return WARD_OK;
}

static ward_err_t begin(ward_store_t *st, ward_error_t *err)
{
	if (sqlite3_exec(ward_store_sqlite(st), "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return ward_store_dberr(st, err, "starting a change");
	return WARD_OK;
}

static ward_err_t commit(ward_store_t *st, ward_error_t *err)
{
	if (sqlite3_exec(ward_store_sqlite(st), "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		return ward_store_dberr(st, err, "committing the change");
	return WARD_OK;
}

static void rollback(ward_store_t *st)
{
	sqlite3 *db = ward_store_sqlite(st);

	if (!sqlite3_get_autocommit(db))
		(void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

static const char *col_text(sqlite3_stmt *s, int i)
{
	const char *t = (const char *)sqlite3_column_text(s, i);
	return t ? t : "";
}

/* One integer from a query with up to two integer parameters. */
static ward_err_t query_int(ward_store_t *st, const char *sql, int64_t a, int64_t b,
                            int64_t *out, ward_error_t *err)
{
	sqlite3_stmt *s;
	ward_err_t rc;
	int step;

	if ((rc = prep(st, sql, &s, err)) != WARD_OK)
		return rc;
	if (sqlite3_bind_parameter_count(s) >= 1)
		sqlite3_bind_int64(s, 1, a);
	if (sqlite3_bind_parameter_count(s) >= 2)
		sqlite3_bind_int64(s, 2, b);
	step = sqlite3_step(s);
	*out = step == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
	sqlite3_finalize(s);
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		return ward_store_dberr(st, err, "reading requests");
	return WARD_OK;
}

/* Append an audit row. detail: a JSON object (borrowed), or NULL for {}. */
static ward_err_t audit_add(ward_store_t *st, int64_t now, const ward_actor_t *who,
                            const char *action, int64_t request_id, int64_t rule_id,
                            json_t *detail, ward_error_t *err)
{
	sqlite3_stmt *s;
	char *text = detail ? json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	ward_err_t rc;

	if (detail != NULL && text == NULL)
		return ward_error_set(err, WARD_E_NOMEM, "audit: cannot encode the detail");
	if ((rc = prep(st, "INSERT INTO audit (time, uid, who, action, request_id, rule_id, detail) "
	                   "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)", &s, err)) != WARD_OK) {
		free(text);
		return rc;
	}
	sqlite3_bind_int64(s, 1, now);
	if (who->uid >= 0)
		sqlite3_bind_int64(s, 2, who->uid);
	sqlite3_bind_text(s, 3, who->name ? who->name : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, action, -1, SQLITE_STATIC);
	if (request_id > 0)
		sqlite3_bind_int64(s, 5, request_id);
	if (rule_id > 0)
		sqlite3_bind_int64(s, 6, rule_id);
	sqlite3_bind_text(s, 7, text ? text : "{}", -1, SQLITE_STATIC);
	if (sqlite3_step(s) != SQLITE_DONE)
		rc = ward_store_dberr(st, err, "appending to the audit trail");
	sqlite3_finalize(s);
	free(text);
	return rc;
}

/* ---------------------------------------------------------------- reading */

/* Columns read by row_request, in its order. rule_ok: the linked rule still exists and
 * is the exception rule this request wrote (an administrator may have removed it or
 * replaced it with a rule of another source). */
#define REQ_COLUMNS \
	"r.id, r.state, r.requester_uid, r.requester_name, r.host, r.created_at, r.path, " \
	"r.reason, r.sha256, r.cdhash, r.team_id, r.signing_id, r.scan_result, " \
	"r.proposed_scope, r.decided_at, r.decided_uid, r.decided_by, r.decision_text, " \
	"r.scope, r.rule_identifier, r.expires_at, r.rule_id, r.forced, " \
	"(ru.id IS NOT NULL AND ru.source = 2 AND ru.type = r.scope AND " \
	" ru.identifier = r.rule_identifier) " \
	"FROM requests r LEFT JOIN rules ru ON ru.id = r.rule_id "

static ward_req_state_t effective_state(int stored, int64_t expires_at, bool rule_ok, int64_t now)
{
	if (stored != WARD_REQ_APPROVED)
		return (ward_req_state_t)stored;
	if (expires_at > 0 && expires_at <= now)
		return WARD_REQ_EXPIRED;
	return rule_ok ? WARD_REQ_APPROVED : WARD_REQ_REVOKED;
}

static ward_err_t row_request(ward_store_t *st, sqlite3_stmt *s, int64_t now, ward_request_t *r,
                              ward_error_t *err)
{
	int64_t stored = sqlite3_column_int64(s, 1), prop = sqlite3_column_int64(s, 13);

	memset(r, 0, sizeof(*r));
	r->id = sqlite3_column_int64(s, 0);
	if (stored < 0 || stored > WARD_REQ_EXPIRED || prop < 0 || prop >= WARD_RT__COUNT)
		return ward_error_set(err, WARD_E_DB, "request %lld: out-of-range state or scope in "
		                      "the database", (long long)r->id);
	r->requester_uid = sqlite3_column_int64(s, 2);
	r->requester_name = col_text(s, 3);
	r->host = col_text(s, 4);
	r->created_at = sqlite3_column_int64(s, 5);
	r->path = col_text(s, 6);
	r->reason = col_text(s, 7);
	r->sha256 = col_text(s, 8);
	r->cdhash = col_text(s, 9);
	r->team_id = col_text(s, 10);
	r->signing_id = col_text(s, 11);
	r->scan_result = col_text(s, 12);
	r->proposed_scope = (ward_rule_type_t)prop;
	r->decided_at = sqlite3_column_int64(s, 14);
	r->decided_uid = sqlite3_column_type(s, 15) == SQLITE_NULL ? -1 : sqlite3_column_int64(s, 15);
	r->decided_by = col_text(s, 16);
	r->decision_text = col_text(s, 17);
	if (sqlite3_column_type(s, 18) != SQLITE_NULL) {
		int64_t sc = sqlite3_column_int64(s, 18);
		if (sc < 0 || sc >= WARD_RT__COUNT)
			return ward_error_set(err, WARD_E_DB, "request %lld: out-of-range scope",
			                      (long long)r->id);
		r->has_scope = true;
		r->scope = (ward_rule_type_t)sc;
	}
	r->rule_identifier = col_text(s, 19);
	r->expires_at = sqlite3_column_int64(s, 20);
	r->rule_id = sqlite3_column_int64(s, 21);
	r->forced = sqlite3_column_int64(s, 22) != 0;
	r->state = effective_state((int)stored, r->expires_at, sqlite3_column_int(s, 23) != 0, now);
	(void)st;
	return WARD_OK;
}

/* The stored states that can read as the effective state f. */
static const char *stored_states_sql(ward_req_state_t f)
{
	switch (f) {
	case WARD_REQ_PENDING: return " AND r.state = 0";
	case WARD_REQ_APPROVED:
	case WARD_REQ_REVOKED: return " AND r.state = 1";
	case WARD_REQ_DENIED: return " AND r.state = 2";
	case WARD_REQ_EXPIRED: return " AND r.state IN (1, 3)";
	case WARD_REQ__COUNT: break;
	}
	return "";
}

ward_err_t ward_requests_foreach(ward_store_t *st, const ward_req_filter_t *f, int64_t now,
                                 int (*fn)(const ward_request_t *r, void *arg), void *arg,
                                 ward_error_t *err)
{
	char sql[1024];
	sqlite3_stmt *s;
	ward_request_t r;
	ward_err_t rc = WARD_OK;
	size_t seen = 0;
	int step;

	if ((unsigned)f->state > WARD_REQ__COUNT)
		return ward_error_set(err, WARD_E_INVAL, "status: out of range");
	snprintf(sql, sizeof(sql), "SELECT " REQ_COLUMNS "WHERE r.id > ?1%s%s%s ORDER BY r.id",
	         f->uid >= 0 ? " AND r.requester_uid = ?2" : "", f->id > 0 ? " AND r.id = ?3" : "",
	         stored_states_sql(f->state));
	if ((rc = prep(st, sql, &s, err)) != WARD_OK)
		return rc;
	sqlite3_bind_int64(s, 1, f->after_id > 0 ? f->after_id : 0);
	if (f->uid >= 0)
		sqlite3_bind_int64(s, 2, f->uid);
	if (f->id > 0)
		sqlite3_bind_int64(s, 3, f->id);
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		if ((rc = row_request(st, s, now, &r, err)) != WARD_OK)
			break;
		if (f->state != WARD_REQ__COUNT && r.state != f->state)
			continue;
		if (fn(&r, arg) != 0 || (f->limit > 0 && ++seen >= f->limit))
			break;
	}
	if (rc == WARD_OK && step != SQLITE_ROW && step != SQLITE_DONE)
		rc = ward_store_dberr(st, err, "reading requests");
	sqlite3_finalize(s);
	return rc;
}

/* ---------------------------------------------------------------- filing */

static ward_err_t check_ident(ward_rule_type_t t, const char *v, bool required, const char *field,
                              ward_error_t *err)
{
	char canon[WARD_RULE_ID_MAX + 1];
	ward_error_t e = { 0 };

	if (v == NULL || v[0] == '\0') {
		if (required)
			return ward_error_set(err, WARD_E_INVAL, "%s: missing", field);
		return WARD_OK;
	}
	if (ward_rule_identifier_canon(t, v, canon, &e) != WARD_OK || strcmp(canon, v) != 0)
		return ward_error_set(err, WARD_E_INVAL, "%s: '%.80s' is not a canonical %s", field, v,
		                      ward_rule_type_name(t));
	return WARD_OK;
}

/* The request's identifier for a scope ("" when it has none). */
static const char *ident_for(const ward_request_t *r, ward_rule_type_t t)
{
	const char *v = NULL;

	switch (t) {
	case WARD_RT_CDHASH: v = r->cdhash; break;
	case WARD_RT_BINARY: v = r->sha256; break;
	case WARD_RT_SIGNINGID: v = r->signing_id; break;
	case WARD_RT_TEAMID: v = r->team_id; break;
	case WARD_RT_CERTIFICATE:
	case WARD_RT__COUNT: break;
	}
	return v ? v : "";
}

static ward_err_t validate_new(const ward_request_t *in, ward_error_t *err)
{
	ward_err_t rc;

	if (in->requester_uid < 0 || in->requester_uid > UINT32_MAX)
		return ward_error_set(err, WARD_E_INVAL, "requester uid %lld out of range",
		                      (long long)in->requester_uid);
	if (in->path == NULL || in->path[0] != '/')
		return ward_error_set(err, WARD_E_INVAL, "path: must be absolute");
	if ((rc = ward_req_text_check(in->path, PATH_MAX - 1, true, "path", err)) != WARD_OK ||
	    (rc = ward_req_text_check(in->reason, WARD_MAX_REQUEST_TEXT, true, "reason", err)) != WARD_OK ||
	    (rc = ward_req_text_check(in->requester_name, 63, true, "requester name", err)) != WARD_OK ||
	    (rc = ward_req_text_check(in->host, 255, false, "host", err)) != WARD_OK ||
	    (rc = ward_req_text_check(in->scan_result, WARD_MAX_REQUEST_TEXT, false, "scan result",
	                              err)) != WARD_OK)
		return rc;
	if ((rc = check_ident(WARD_RT_BINARY, in->sha256, true, "sha256", err)) != WARD_OK ||
	    (rc = check_ident(WARD_RT_CDHASH, in->cdhash, false, "cdhash", err)) != WARD_OK ||
	    (rc = check_ident(WARD_RT_TEAMID, in->team_id, false, "team_id", err)) != WARD_OK ||
	    (rc = check_ident(WARD_RT_SIGNINGID, in->signing_id, false, "signing_id", err)) != WARD_OK)
		return rc;
	if ((unsigned)in->proposed_scope >= WARD_RT__COUNT || in->proposed_scope == WARD_RT_CERTIFICATE)
		return ward_error_set(err, WARD_E_INVAL, "proposed scope: not a request scope");
	if (ident_for(in, in->proposed_scope)[0] == '\0')
		return ward_error_set(err, WARD_E_INVAL, "proposed scope %s: the file has no such identity",
		                      ward_rule_type_name(in->proposed_scope));
	return WARD_OK;
}

struct dup {
	int64_t id;
};

static int find_dup(const ward_request_t *r, void *arg)
{
	struct dup *d = arg;

	if (r->state == WARD_REQ_PENDING || r->state == WARD_REQ_APPROVED)
		d->id = r->id;
	return 0; /* keep going: the newest wins */
}

/* The requester's live request for sha256, or 0. */
static ward_err_t existing_request(ward_store_t *st, int64_t uid, const char *sha256, int64_t now,
                                   int64_t *id, ward_error_t *err)
{
	sqlite3_stmt *s;
	ward_request_t r;
	struct dup d = { 0 };
	ward_err_t rc;
	int step;

	if ((rc = prep(st, "SELECT " REQ_COLUMNS "WHERE r.requester_uid = ?1 AND r.sha256 = ?2 "
	                   "AND r.state IN (0, 1) ORDER BY r.id", &s, err)) != WARD_OK)
		return rc;
	sqlite3_bind_int64(s, 1, uid);
	sqlite3_bind_text(s, 2, sha256, -1, SQLITE_STATIC);
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		if ((rc = row_request(st, s, now, &r, err)) != WARD_OK)
			break;
		find_dup(&r, &d);
	}
	if (rc == WARD_OK && step != SQLITE_DONE && step != SQLITE_ROW)
		rc = ward_store_dberr(st, err, "reading requests");
	sqlite3_finalize(s);
	*id = d.id;
	return rc;
}

static ward_err_t check_limits(ward_store_t *st, int64_t uid, int64_t now, ward_error_t *err)
{
	int64_t n, oldest;
	ward_err_t rc;

	if ((rc = query_int(st, "SELECT count(*) FROM requests WHERE requester_uid = ?1 AND "
	                        "created_at > ?2", uid, now - 3600, &n, err)) != WARD_OK)
		return rc;
	if (n >= WARD_REQUESTS_PER_HOUR) {
		if ((rc = query_int(st, "SELECT min(created_at) FROM requests WHERE requester_uid = ?1 "
		                        "AND created_at > ?2", uid, now - 3600, &oldest, err)) != WARD_OK)
			return rc;
		return ward_error_set(err, WARD_E_BUSY, "rate limit: uid %lld filed %lld requests in the "
		                      "last hour (at most %u); try again in %lld s", (long long)uid,
		                      (long long)n, WARD_REQUESTS_PER_HOUR,
		                      (long long)(oldest + 3600 - now > 0 ? oldest + 3600 - now : 1));
	}
	if ((rc = query_int(st, "SELECT count(*) FROM requests WHERE requester_uid = ?1 AND "
	                        "state = 0", uid, 0, &n, err)) != WARD_OK)
		return rc;
	if (n >= WARD_MAX_PENDING_PER_UID)
		return ward_error_set(err, WARD_E_LIMIT, "uid %lld already has %lld pending requests "
		                      "(at most %u); wait for a decision", (long long)uid, (long long)n,
		                      WARD_MAX_PENDING_PER_UID);
	if ((rc = query_int(st, "SELECT count(*) FROM requests WHERE state = 0", 0, 0, &n,
	                    err)) != WARD_OK)
		return rc;
	if (n >= WARD_MAX_PENDING)
		return ward_error_set(err, WARD_E_LIMIT, "%lld requests are pending (at most %u); "
		                      "an administrator must decide some first", (long long)n,
		                      WARD_MAX_PENDING);
	return WARD_OK;
}

ward_err_t ward_request_check_limits(ward_store_t *st, int64_t uid, int64_t now, ward_error_t *err)
{
	return check_limits(st, uid, now, err);
}

ward_err_t ward_request_file(ward_store_t *st, const ward_request_t *in, int64_t now,
                             int64_t *id, bool *existing, ward_error_t *err)
{
	sqlite3_stmt *s = NULL;
	ward_actor_t who = { .uid = in->requester_uid, .name = in->requester_name };
	json_t *detail;
	ward_err_t rc;

	*id = 0;
	*existing = false;
	if ((rc = validate_new(in, err)) != WARD_OK)
		return rc;
	if ((rc = begin(st, err)) != WARD_OK)
		return rc;
	if ((rc = existing_request(st, in->requester_uid, in->sha256, now, id, err)) != WARD_OK)
		goto fail;
	if (*id != 0) {
		*existing = true;
		rollback(st);
		return WARD_OK;
	}
	if ((rc = check_limits(st, in->requester_uid, now, err)) != WARD_OK)
		goto fail;
	if ((rc = prep(st, "INSERT INTO requests (state, requester_uid, requester_name, host, "
	                   "created_at, path, reason, sha256, cdhash, team_id, signing_id, "
	                   "scan_result, proposed_scope) VALUES (0, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
	                   "?9, ?10, ?11, ?12)", &s, err)) != WARD_OK)
		goto fail;
	sqlite3_bind_int64(s, 1, in->requester_uid);
	sqlite3_bind_text(s, 2, in->requester_name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, in->host ? in->host : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, now);
	sqlite3_bind_text(s, 5, in->path, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 6, in->reason, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 7, in->sha256, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 8, in->cdhash ? in->cdhash : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 9, in->team_id ? in->team_id : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 10, in->signing_id ? in->signing_id : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 11, in->scan_result ? in->scan_result : "", -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 12, (int)in->proposed_scope);
	if (sqlite3_step(s) != SQLITE_DONE) {
		rc = ward_store_dberr(st, err, "storing the request");
		goto fail;
	}
	*id = sqlite3_last_insert_rowid(ward_store_sqlite(st));
	sqlite3_finalize(s);
	s = NULL;
	detail = json_pack("{s:s, s:s, s:s, s:s}", "path", in->path, "sha256", in->sha256,
	                   "reason", in->reason, "proposed_scope",
	                   ward_rule_type_name(in->proposed_scope));
	rc = audit_add(st, now, &who, "request", *id, 0, detail, err);
	json_decref(detail);
	if (rc != WARD_OK || (rc = commit(st, err)) != WARD_OK)
		goto fail;
	return WARD_OK;
fail:
	sqlite3_finalize(s);
	rollback(st);
	*id = 0;
	return rc;
}

/* ---------------------------------------------------------------- deciding */

/* Copies of the fields of one request that a decision needs (the statement that read
 * them is gone by the time we write). */
struct req_copy {
	ward_req_state_t state;
	char sha256[2 * WARD_SHA256_LEN + 1];
	char ident[WARD_RULE_ID_MAX + 1];
	char decided_by[64];
	bool scan_matched;
	ward_rule_type_t proposed;
	char path[PATH_MAX];
};

struct load_one {
	const ward_req_decision_t *d;
	ward_rule_type_t scope;
	struct req_copy *c;
	bool found;
};

static int copy_request(const ward_request_t *r, void *arg)
{
	struct load_one *l = arg;

	l->found = true;
	l->c->state = r->state;
	l->c->proposed = r->proposed_scope;
	l->scope = l->d->has_scope ? l->d->scope : r->proposed_scope;
	snprintf(l->c->sha256, sizeof(l->c->sha256), "%s", r->sha256);
	snprintf(l->c->ident, sizeof(l->c->ident), "%s", ident_for(r, l->scope));
	snprintf(l->c->decided_by, sizeof(l->c->decided_by), "%s", r->decided_by);
	snprintf(l->c->path, sizeof(l->c->path), "%s", r->path);
	l->c->scan_matched = ward_req_scan_matched(r->scan_result);
	return 1;
}

/* What rules for type+identifier exist that are in force at now. */
struct existing {
	bool blocks;            /* a blocking rule in any slot */
	int64_t block_id;
	bool allows_other;      /* an allowing managed, local or import rule */
	int64_t allow_id;
	ward_rule_source_t allow_source;
	int64_t exc_expires;    /* the exception rule in force: its expiry (0 never), or -1 */
};

static ward_err_t existing_rules(ward_store_t *st, ward_rule_type_t t, const char *ident,
                                 int64_t now, struct existing *ex, ward_error_t *err)
{
	sqlite3_stmt *s;
	ward_err_t rc;
	int step;

	memset(ex, 0, sizeof(*ex));
	ex->exc_expires = -1;
	if ((rc = prep(st, "SELECT id, slot, policy, source, expires_at FROM rules WHERE type = ?1 "
	                   "AND identifier = ?2 AND (expires_at = 0 OR expires_at > ?3)", &s,
	               err)) != WARD_OK)
		return rc;
	sqlite3_bind_int(s, 1, (int)t);
	sqlite3_bind_text(s, 2, ident, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, now);
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(s, 0);
		int slot = sqlite3_column_int(s, 1);
		int policy = sqlite3_column_int(s, 2), source = sqlite3_column_int(s, 3);
		if (policy == WARD_POL_BLOCKLIST || policy == WARD_POL_SILENT_BLOCKLIST) {
			ex->blocks = true;
			ex->block_id = id;
		} else if (source == WARD_SRC_EXCEPTION) {
			ex->exc_expires = sqlite3_column_int64(s, 4);
		} else if (slot != WARD_SLOT_TRANSITIVE) {
			ex->allows_other = true;
			ex->allow_id = id;
			ex->allow_source = (ward_rule_source_t)source;
		}
	}
	sqlite3_finalize(s);
	if (step != SQLITE_DONE)
		return ward_store_dberr(st, err, "reading rules");
	return WARD_OK;
}

static ward_err_t write_rule(ward_store_t *st, const ward_rule_t *r, int64_t *rule_id,
                             ward_error_t *err)
{
	sqlite3_stmt *s;
	ward_err_t rc;

	if ((rc = ward_rule_validate(r, err)) != WARD_OK)
		return rc;
	/* The administrator slot's upsert, as ward_store_apply writes it. */
	if ((rc = prep(st, "INSERT INTO rules (type, identifier, slot, policy, source, custom_msg, "
	                   "custom_url, comment, expires_at, created_at, created_by) "
	                   "VALUES (?1, ?2, " SLOT_ADMIN_SQL ", ?3, ?4, '', '', ?5, ?6, ?7, ?8) "
	                   "ON CONFLICT (type, identifier, slot) DO UPDATE SET policy = ?3, "
	                   "source = ?4, custom_msg = '', custom_url = '', comment = ?5, "
	                   "expires_at = ?6, created_at = ?7, created_by = ?8", &s, err)) != WARD_OK)
		return rc;
	sqlite3_bind_int(s, 1, (int)r->type);
	sqlite3_bind_text(s, 2, r->identifier, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 3, (int)r->policy);
	sqlite3_bind_int(s, 4, (int)r->source);
	sqlite3_bind_text(s, 5, r->comment ? r->comment : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 6, r->expires_at);
	sqlite3_bind_int64(s, 7, r->created_at);
	sqlite3_bind_text(s, 8, r->created_by ? r->created_by : "", -1, SQLITE_STATIC);
	if (sqlite3_step(s) != SQLITE_DONE) {
		sqlite3_finalize(s);
		return ward_store_dberr(st, err, "writing the exception rule");
	}
	sqlite3_finalize(s);
	/* The upsert keeps the row id of a replaced rule: read it back by its key. */
	if ((rc = prep(st, "SELECT id FROM rules WHERE type = ?1 AND identifier = ?2 AND "
	                   "slot = " SLOT_ADMIN_SQL, &s, err)) != WARD_OK)
		return rc;
	sqlite3_bind_int(s, 1, (int)r->type);
	sqlite3_bind_text(s, 2, r->identifier, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW)
		*rule_id = sqlite3_column_int64(s, 0);
	else
		rc = ward_store_dberr(st, err, "reading back the exception rule");
	sqlite3_finalize(s);
	return rc;
}

static ward_err_t decide_one(ward_store_t *st, const ward_req_decision_t *d,
                             const ward_req_policy_t *pol, const ward_actor_t *who, int64_t now,
                             ward_req_outcome_t *out, ward_error_t *err)
{
	struct req_copy *c = calloc(1, sizeof(*c));
	struct load_one l = { .d = d, .c = c };
	ward_req_filter_t f;
	sqlite3_stmt *s = NULL;
	struct existing ex;
	ward_rule_t r;
	json_t *detail = NULL;
	char comment[WARD_MAX_RULE_TEXT + 1];
	int64_t rule_id = 0, expires = 0;
	ward_err_t rc;

	if (c == NULL)
		return ward_error_set(err, WARD_E_NOMEM, "out of memory");
	ward_req_filter_init(&f);
	f.id = d->id;
	if (d->id <= 0) {
		rc = ward_error_set(err, WARD_E_INVAL, "id: %lld is not a request id", (long long)d->id);
		goto out;
	}
	if ((rc = ward_requests_foreach(st, &f, now, copy_request, &l, err)) != WARD_OK)
		goto out;
	if (!l.found) {
		rc = ward_error_set(err, WARD_E_NOTFOUND, "no request %lld", (long long)d->id);
		goto out;
	}
	if (c->state != WARD_REQ_PENDING) {
		rc = ward_error_set(err, c->state == WARD_REQ_APPROVED ? WARD_E_EXISTS : WARD_E_INVAL,
		                    "request %lld is already %s (decided by %s); only a pending "
		                    "request can be decided", (long long)d->id,
		                    ward_req_state_name(c->state), c->decided_by);
		goto out;
	}
	if (d->expect_sha256 != NULL && strcasecmp(d->expect_sha256, c->sha256) != 0) {
		rc = ward_error_set(err, WARD_E_INVAL, "request %lld is for sha256 %.16s..., not "
		                    "%.16s...: the decision was made about another file",
		                    (long long)d->id, c->sha256, d->expect_sha256);
		goto out;
	}
	if ((rc = ward_req_text_check(d->text, WARD_MAX_REQUEST_TEXT, !d->approve,
	                              d->approve ? "comment" : "reason", err)) != WARD_OK)
		goto out;

	if (!d->approve) {
		if ((rc = prep(st, "UPDATE requests SET state = 2, decided_at = ?2, decided_uid = ?3, "
		                   "decided_by = ?4, decision_text = ?5 WHERE id = ?1 AND state = 0",
		               &s, err)) != WARD_OK)
			goto out;
		sqlite3_bind_int64(s, 1, d->id);
		sqlite3_bind_int64(s, 2, now);
		sqlite3_bind_int64(s, 3, who->uid);
		sqlite3_bind_text(s, 4, who->name ? who->name : "", -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 5, d->text, -1, SQLITE_STATIC);
		if (sqlite3_step(s) != SQLITE_DONE || sqlite3_changes(ward_store_sqlite(st)) != 1) {
			rc = ward_store_dberr(st, err, "recording the denial");
			goto out;
		}
		detail = json_pack("{s:s}", "reason", d->text);
		rc = audit_add(st, now, who, "deny", d->id, 0, detail, err);
		goto out;
	}

	/* Approve. */
	if (l.scope == WARD_RT_CERTIFICATE || (unsigned)l.scope >= WARD_RT__COUNT) {
		rc = ward_error_set(err, WARD_E_INVAL, "scope: not an exception scope");
		goto out;
	}
	if (!(pol->allowed_scopes & (1u << l.scope))) {
		rc = ward_error_set(err, WARD_E_PERM, "scope %s is not allowed by ExceptionPolicy."
		                    "AllowedScopes", ward_rule_type_name(l.scope));
		goto out;
	}
	if (c->ident[0] == '\0') {
		rc = ward_error_set(err, WARD_E_INVAL, "request %lld has no %s identity (the file is "
		                    "not %s, or is a universal binary whose slices differ in it); "
		                    "approve with --scope binary", (long long)d->id,
		                    ward_rule_type_name(l.scope),
		                    l.scope == WARD_RT_CDHASH ? "code-signed" : "team-signed");
		goto out;
	}
	expires = d->expires_at ? d->expires_at : now + (int64_t)pol->max_expiry_s;
	if (expires <= now) {
		rc = ward_error_set(err, WARD_E_INVAL, "expires: in the past");
		goto out;
	}
	if (expires - now > (int64_t)pol->max_expiry_s) {
		rc = ward_error_set(err, WARD_E_PERM, "expires: %lld s from now; ExceptionPolicy."
		                    "MaxExpirySeconds allows at most %u s", (long long)(expires - now),
		                    pol->max_expiry_s);
		goto out;
	}
	if (c->scan_matched && !(d->force && d->text != NULL && d->text[0] != '\0')) {
		rc = ward_error_set(err, WARD_E_PERM, "request %lld: the YARA scan matched this file; "
		                    "approve only with --force and a --comment saying why",
		                    (long long)d->id);
		goto out;
	}
	if ((rc = existing_rules(st, l.scope, c->ident, now, &ex, err)) != WARD_OK)
		goto out;
	if (ex.blocks) {
		rc = ward_error_set(err, WARD_E_EXISTS, "rule %lld blocks %s %.80s; an exception cannot "
		                    "override it (remove that rule first)", (long long)ex.block_id,
		                    ward_rule_type_name(l.scope), c->ident);
		goto out;
	}
	if (ex.allows_other) {
		rc = ward_error_set(err, WARD_E_EXISTS, "%s rule %lld already allows %s %.80s; nothing "
		                    "to grant (deny the request, or remove that rule first)",
		                    ward_rule_source_name(ex.allow_source), (long long)ex.allow_id,
		                    ward_rule_type_name(l.scope), c->ident);
		goto out;
	}
	memset(&r, 0, sizeof(r));
	r.type = l.scope;
	r.policy = WARD_POL_ALLOWLIST;
	r.source = WARD_SRC_EXCEPTION;
	r.identifier = c->ident;
	r.comment = comment;
	/* An exception in force for the same identity keeps the later expiry. */
	r.expires_at = ex.exc_expires == 0 ? 0 : ex.exc_expires > expires ? ex.exc_expires : expires;
	r.created_at = now;
	r.created_by = who->name;
	snprintf(comment, sizeof(comment), "exception request #%lld%s%s", (long long)d->id,
	         d->text && d->text[0] ? ": " : "", d->text ? d->text : "");
	if ((rc = write_rule(st, &r, &rule_id, err)) != WARD_OK)
		goto out;
	if ((rc = prep(st, "UPDATE requests SET state = 1, decided_at = ?2, decided_uid = ?3, "
	                   "decided_by = ?4, decision_text = ?5, scope = ?6, rule_identifier = ?7, "
	                   "expires_at = ?8, rule_id = ?9, forced = ?10 WHERE id = ?1 AND state = 0",
	               &s, err)) != WARD_OK)
		goto out;
	sqlite3_bind_int64(s, 1, d->id);
	sqlite3_bind_int64(s, 2, now);
	sqlite3_bind_int64(s, 3, who->uid);
	sqlite3_bind_text(s, 4, who->name ? who->name : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, d->text ? d->text : "", -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 6, (int)l.scope);
	sqlite3_bind_text(s, 7, c->ident, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 8, expires);
	sqlite3_bind_int64(s, 9, rule_id);
	sqlite3_bind_int(s, 10, c->scan_matched && d->force);
	if (sqlite3_step(s) != SQLITE_DONE || sqlite3_changes(ward_store_sqlite(st)) != 1) {
		rc = ward_store_dberr(st, err, "recording the approval");
		goto out;
	}
	detail = json_pack("{s:s, s:s, s:I, s:I, s:s, s:b}", "scope", ward_rule_type_name(l.scope),
	                   "identifier", c->ident, "expires_at", (json_int_t)expires,
	                   "rule_expires_at", (json_int_t)r.expires_at, "comment", d->text ? d->text : "",
	                   "forced", c->scan_matched && d->force);
	if ((rc = audit_add(st, now, who, "approve", d->id, rule_id, detail, err)) != WARD_OK)
		goto out;
	if (out != NULL) {
		out->rule_id = rule_id;
		out->scope = l.scope;
		snprintf(out->identifier, sizeof(out->identifier), "%s", c->ident);
		out->expires_at = expires;
		out->rule_expires_at = r.expires_at;
	}
out:
	json_decref(detail);
	sqlite3_finalize(s);
	free(c);
	return rc;
}

ward_err_t ward_requests_decide(ward_store_t *st, const ward_req_decision_t *d, size_t n,
                                const ward_req_policy_t *pol, const ward_actor_t *who,
                                int64_t now, ward_req_outcome_t *out, ward_error_t *err)
{
	ward_err_t rc;

	if (n > WARD_MAX_BULK_DECISIONS)
		return ward_error_set(err, WARD_E_LIMIT, "%zu decisions at once: at most %u", n,
		                      WARD_MAX_BULK_DECISIONS);
	if (pol->max_expiry_s == 0)
		return ward_error_set(err, WARD_E_INVAL, "policy: max expiry is 0");
	if ((rc = ward_req_text_check(who->name, 63, true, "approver name", err)) != WARD_OK)
		return rc;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < i; j++)
			if (d[i].id == d[j].id) {
				if (d[i].line)
					return ward_error_set(err, WARD_E_EXISTS, "line %u: request %lld is "
					                      "decided twice in one file (first at line %u)",
					                      d[i].line, (long long)d[i].id, d[j].line);
				return ward_error_set(err, WARD_E_EXISTS, "request %lld is decided twice "
				                      "in one batch", (long long)d[i].id);
			}
	if ((rc = begin(st, err)) != WARD_OK)
		return rc;
	for (size_t i = 0; i < n; i++) {
		ward_error_t e = { 0 };
		if ((rc = decide_one(st, &d[i], pol, who, now, out ? &out[i] : NULL, &e)) != WARD_OK) {
			rollback(st);
			if (d[i].line)
				return ward_error_set(err, rc, "line %u: %s", d[i].line, e.msg);
			return ward_error_set(err, rc, "%s", e.msg);
		}
	}
	if ((rc = commit(st, err)) != WARD_OK) {
		rollback(st);
		return rc;
	}
	return WARD_OK;
}

/* ---------------------------------------------------------------- expiry */

ward_err_t ward_requests_sweep(ward_store_t *st, int64_t now, int64_t *ids, size_t cap,
                               size_t *n, ward_error_t *err)
{
	static const ward_actor_t agent = { .uid = -1, .name = "wardend" };
	sqlite3_stmt *s = NULL, *u = NULL;
	ward_err_t rc;
	int step;

	*n = 0;
	if ((rc = begin(st, err)) != WARD_OK)
		return rc;
	if ((rc = prep(st, "SELECT id, rule_id, expires_at FROM requests WHERE state = 1 AND "
	                   "expires_at > 0 AND expires_at <= ?1 ORDER BY id", &s, err)) != WARD_OK ||
	    (rc = prep(st, "UPDATE requests SET state = 3 WHERE id = ?1 AND state = 1", &u,
	               err)) != WARD_OK)
		goto fail;
	sqlite3_bind_int64(s, 1, now);
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(s, 0), rule = sqlite3_column_int64(s, 1);
		json_t *detail = json_pack("{s:I}", "expires_at", (json_int_t)sqlite3_column_int64(s, 2));
		sqlite3_reset(u);
		sqlite3_bind_int64(u, 1, id);
		if (sqlite3_step(u) != SQLITE_DONE) {
			json_decref(detail);
			rc = ward_store_dberr(st, err, "recording an expiry");
			goto fail;
		}
		rc = audit_add(st, now, &agent, "expire", id, rule, detail, err);
		json_decref(detail);
		if (rc != WARD_OK)
			goto fail;
		if (ids != NULL && *n < cap)
			ids[*n] = id;
		(*n)++;
	}
	if (step != SQLITE_DONE) {
		rc = ward_store_dberr(st, err, "reading expiries");
		goto fail;
	}
	sqlite3_finalize(s);
	sqlite3_finalize(u);
	s = u = NULL;
	if (*n == 0) {
		rollback(st);
		return WARD_OK;
	}
	if ((rc = commit(st, err)) != WARD_OK)
		goto fail;
	return WARD_OK;
fail:
	sqlite3_finalize(s);
	sqlite3_finalize(u);
	rollback(st);
	*n = 0;
	return rc;
}

ward_err_t ward_requests_next_expiry(ward_store_t *st, int64_t *t, ward_error_t *err)
{
	return query_int(st, "SELECT coalesce(min(expires_at), 0) FROM requests WHERE state = 1 "
	                 "AND expires_at > 0", 0, 0, t, err);
}

/* ---------------------------------------------------------------- audit */

ward_err_t ward_audit_foreach(ward_store_t *st, int64_t request_id, int64_t after_id,
                              size_t limit, int (*fn)(const ward_audit_t *a, void *arg),
                              void *arg, ward_error_t *err)
{
	sqlite3_stmt *s;
	ward_audit_t a;
	ward_err_t rc;
	size_t seen = 0;
	int step;

	if ((rc = prep(st, request_id > 0
	                   ? "SELECT id, time, uid, who, action, request_id, rule_id, detail FROM audit "
	                     "WHERE id > ?1 AND request_id = ?2 ORDER BY id"
	                   : "SELECT id, time, uid, who, action, request_id, rule_id, detail FROM audit "
	                     "WHERE id > ?1 ORDER BY id", &s, err)) != WARD_OK)
		return rc;
	sqlite3_bind_int64(s, 1, after_id > 0 ? after_id : 0);
	if (request_id > 0)
		sqlite3_bind_int64(s, 2, request_id);
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		a.id = sqlite3_column_int64(s, 0);
		a.time = sqlite3_column_int64(s, 1);
		a.uid = sqlite3_column_type(s, 2) == SQLITE_NULL ? -1 : sqlite3_column_int64(s, 2);
		a.who = col_text(s, 3);
		a.action = col_text(s, 4);
		a.request_id = sqlite3_column_int64(s, 5);
		a.rule_id = sqlite3_column_int64(s, 6);
		a.detail = col_text(s, 7);
		if (fn(&a, arg) != 0 || (limit > 0 && ++seen >= limit))
			break;
	}
	sqlite3_finalize(s);
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		return ward_store_dberr(st, err, "reading the audit trail");
	return WARD_OK;
}

/* ---------------------------------------------------------------- JSON */

static json_t *time_json(int64_t t)
{
	char buf[32];

	if (t <= 0)
		return json_null();
	ward_rule_time_format(t, buf);
	return json_string(buf);
}

static json_t *str_or_null(const char *s)
{
	json_t *j;

	if (s == NULL || s[0] == '\0')
		return json_null();
	j = json_string(s);
	return j ? j : json_null();
}

json_t *ward_request_to_json(const ward_request_t *r)
{
	json_t *o = json_object(), *who, *dec;

	if (o == NULL)
		return NULL;
	json_object_set_new(o, "id", json_integer(r->id));
	json_object_set_new(o, "state", json_string(ward_req_state_name(r->state)));
	who = json_object();
	json_object_set_new(who, "uid", json_integer(r->requester_uid));
	json_object_set_new(who, "name", str_or_null(r->requester_name));
	json_object_set_new(o, "requester", who);
	json_object_set_new(o, "host", str_or_null(r->host));
	json_object_set_new(o, "created_at", time_json(r->created_at));
	json_object_set_new(o, "path", str_or_null(r->path));
	json_object_set_new(o, "reason", str_or_null(r->reason));
	json_object_set_new(o, "sha256", str_or_null(r->sha256));
	json_object_set_new(o, "cdhash", str_or_null(r->cdhash));
	json_object_set_new(o, "team_id", str_or_null(r->team_id));
	json_object_set_new(o, "signing_id", str_or_null(r->signing_id));
	json_object_set_new(o, "scan", str_or_null(r->scan_result));
	json_object_set_new(o, "proposed_scope", json_string(ward_rule_type_name(r->proposed_scope)));
	if (r->decided_at > 0) {
		bool approved = r->has_scope;
		dec = json_object();
		json_object_set_new(dec, "action", json_string(approved ? "approve" : "deny"));
		who = json_object();
		json_object_set_new(who, "uid", r->decided_uid >= 0 ? json_integer(r->decided_uid) : json_null());
		json_object_set_new(who, "name", str_or_null(r->decided_by));
		json_object_set_new(dec, "by", who);
		json_object_set_new(dec, "at", time_json(r->decided_at));
		json_object_set_new(dec, approved ? "comment" : "reason", str_or_null(r->decision_text));
		if (approved) {
			json_object_set_new(dec, "scope", json_string(ward_rule_type_name(r->scope)));
			json_object_set_new(dec, "identifier", str_or_null(r->rule_identifier));
			json_object_set_new(dec, "expires_at", time_json(r->expires_at));
			json_object_set_new(dec, "rule_id", r->rule_id > 0 ? json_integer(r->rule_id) : json_null());
			json_object_set_new(dec, "forced", json_boolean(r->forced));
		}
		json_object_set_new(o, "decided", dec);
	} else {
		json_object_set_new(o, "decided", json_null());
	}
	return o;
}

json_t *ward_audit_to_json(const ward_audit_t *a)
{
	json_t *o = json_object(), *d;

	if (o == NULL)
		return NULL;
	json_object_set_new(o, "id", json_integer(a->id));
	json_object_set_new(o, "time", time_json(a->time));
	json_object_set_new(o, "uid", a->uid >= 0 ? json_integer(a->uid) : json_null());
	json_object_set_new(o, "who", str_or_null(a->who));
	json_object_set_new(o, "action", str_or_null(a->action));
	json_object_set_new(o, "request_id", a->request_id > 0 ? json_integer(a->request_id) : json_null());
	json_object_set_new(o, "rule_id", a->rule_id > 0 ? json_integer(a->rule_id) : json_null());
	d = json_loads(a->detail ? a->detail : "{}", 0, NULL);
	json_object_set_new(o, "detail", d ? d : json_string(a->detail ? a->detail : ""));
	return o;
}

/* Keys of the export format a decision line may carry (and that are ignored). */
static bool export_key(const char *k)
{
	static const char *const keys[] = {
		"state", "requester", "host", "created_at", "path", "reason", "cdhash", "team_id",
		"signing_id", "scan", "proposed_scope", "decided",
	};

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(k, keys[i]) == 0)
			return true;
	return false;
}

static ward_err_t opt_string(const json_t *o, const char *key, const char **out, ward_error_t *err)
{
	const json_t *v = json_object_get(o, key);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return WARD_OK;
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
		return ward_error_set(err, WARD_E_INVAL, "%s: expected a string", key);
	*out = json_string_value(v);
	return WARD_OK;
}

ward_err_t ward_req_decision_from_json(const json_t *o, int64_t now, ward_req_decision_t *d,
                                       ward_error_t *err)
{
	const char *key, *decision, *scope, *expires, *comment, *sha;
	const json_t *v;
	ward_err_t rc;

	memset(d, 0, sizeof(*d));
	if (!json_is_object(o))
		return ward_error_set(err, WARD_E_INVAL, "a decision must be a JSON object");
	json_object_foreach((json_t *)o, key, v) {
		if (strcmp(key, "id") && strcmp(key, "decision") && strcmp(key, "scope") &&
		    strcmp(key, "expires") && strcmp(key, "comment") && strcmp(key, "force") &&
		    strcmp(key, "sha256") && strcmp(key, "line") && !export_key(key))
			return ward_error_set(err, WARD_E_INVAL, "unknown key \"%.40s\"", key);
	}
	v = json_object_get(o, "line");
	if (v != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 1000000)
			return ward_error_set(err, WARD_E_INVAL, "line: expected a line number");
		d->line = (unsigned)json_integer_value(v);
	}
	v = json_object_get(o, "id");
	if (!json_is_integer(v) || json_integer_value(v) <= 0)
		return ward_error_set(err, WARD_E_INVAL, "id: expected a positive integer");
	d->id = json_integer_value(v);
	if ((rc = opt_string(o, "decision", &decision, err)) != WARD_OK ||
	    (rc = opt_string(o, "scope", &scope, err)) != WARD_OK ||
	    (rc = opt_string(o, "expires", &expires, err)) != WARD_OK ||
	    (rc = opt_string(o, "comment", &comment, err)) != WARD_OK ||
	    (rc = opt_string(o, "sha256", &sha, err)) != WARD_OK)
		return rc;
	if (decision == NULL)
		return ward_error_set(err, WARD_E_INVAL, "decision: missing (\"approve\" or \"deny\")");
	if (strcmp(decision, "approve") == 0)
		d->approve = true;
	else if (strcmp(decision, "deny") != 0)
		return ward_error_set(err, WARD_E_INVAL, "decision: '%.40s': expected \"approve\" or "
		                      "\"deny\"", decision);
	v = json_object_get(o, "force");
	if (v != NULL && !json_is_boolean(v))
		return ward_error_set(err, WARD_E_INVAL, "force: expected true or false");
	d->force = json_is_true(v);
	if (!d->approve && (scope || expires || d->force))
		return ward_error_set(err, WARD_E_INVAL, "a denial takes no scope, expires or force");
	if (scope != NULL) {
		if ((rc = ward_req_scope_parse(scope, &d->scope, err)) != WARD_OK)
			return rc;
		d->has_scope = true;
	}
	if (expires != NULL && (rc = ward_rule_time_parse(expires, now, &d->expires_at, err)) != WARD_OK)
		return rc;
	if ((rc = ward_req_text_check(comment, WARD_MAX_REQUEST_TEXT, !d->approve,
	                              d->approve ? "comment" : "comment (the reason for a denial)",
	                              err)) != WARD_OK)
		return rc;
	d->text = comment;
	if (sha != NULL) {
		char canon[WARD_RULE_ID_MAX + 1];
		if (ward_rule_identifier_canon(WARD_RT_BINARY, sha, canon, err) != WARD_OK)
			return ward_error_set(err, WARD_E_INVAL, "sha256: not a SHA-256");
		d->expect_sha256 = sha;
	}
	return WARD_OK;
}

ward_err_t ward_req_decisions_parse(const char *buf, size_t len, json_t **out, ward_error_t *err)
{
	json_t *arr;
	unsigned line = 0;
	size_t off = 0;

	*out = NULL;
	if (len > WARD_MAX_BULK_BYTES)
		return ward_error_set(err, WARD_E_LIMIT, "%zu bytes: a decision file may have at most "
		                      "%u (split it)", len, WARD_MAX_BULK_BYTES);
	if ((arr = json_array()) == NULL)
		return ward_error_set(err, WARD_E_NOMEM, "out of memory");
	while (off < len) {
		const char *p = buf + off, *nl = memchr(p, '\n', len - off);
		size_t n = nl ? (size_t)(nl - p) : len - off;
		json_error_t jerr;
		json_t *o;
		size_t k;

		off += n + (nl ? 1 : 0);
		line++;
		if (n > 0 && p[n - 1] == '\r')
			n--;
		for (k = 0; k < n && (p[k] == ' ' || p[k] == '\t'); k++)
			;
		if (k == n)
			continue;
		if (json_array_size(arr) >= WARD_MAX_BULK_DECISIONS) {
			json_decref(arr);
			return ward_error_set(err, WARD_E_LIMIT, "line %u: more than %u decisions in one "
			                      "file (split it)", line, WARD_MAX_BULK_DECISIONS);
		}
		o = json_loadb(p, n, JSON_REJECT_DUPLICATES, &jerr);
		if (o == NULL || !json_is_object(o)) {
			json_decref(o);
			json_decref(arr);
			if (o == NULL)
				return ward_error_set(err, WARD_E_MALFORMED, "line %u: not JSON: %s at column %d",
				                      line, jerr.text, jerr.column);
			return ward_error_set(err, WARD_E_MALFORMED, "line %u: not a JSON object", line);
		}
		if (json_object_get(o, "line") != NULL) {
			json_decref(o);
			json_decref(arr);
			return ward_error_set(err, WARD_E_INVAL, "line %u: unknown key \"line\"", line);
		}
		json_object_set_new(o, "line", json_integer(line));
		json_array_append_new(arr, o);
	}
	if (json_array_size(arr) == 0) {
		json_decref(arr);
		return ward_error_set(err, WARD_E_INVAL, "no decisions in the file");
	}
	*out = arr;
	return WARD_OK;
}
