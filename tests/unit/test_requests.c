/*
 * Unit tests for rules/requests.c: filing (validation, dedupe, rate limits), approval
 * and denial (policy, scan, existing rules, double decisions, bulk all-or-nothing),
 * exact expiry, revocation, the audit trail and the append-only schema, and the JSON
 * decision parsers. Every store is :memory: and every clock is given explicitly.
 */
#include "tests/unit/testutil.h"

#include <sqlite3.h>

#include "rules/requests.h"
#include "rules/store_internal.h"

#define T0      1700000000LL
#define SHA_A   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SHA_B   "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define CDH_A   "0123456789abcdef0123456789abcdef01234567"
#define TEAM    "EQHXZ8M8AV"
#define SIGID   "EQHXZ8M8AV:com.example.tool"

static const ward_req_policy_t POL = {
	.allowed_scopes = (1u << WARD_RT_CDHASH) | (1u << WARD_RT_BINARY) | (1u << WARD_RT_SIGNINGID),
	.max_expiry_s = 30 * 86400,
};
static const ward_actor_t ROOT = { .uid = 0, .name = "root" };

static int setup(void **state)
{
	ward_store_t *st = NULL;
	ward_error_t err = { 0 };

	if (ward_store_open(":memory:", WARD_STORE_CREATE, &st, &err) != WARD_OK)
		fail_msg("open: %s", err.msg);
	assert_true(ward_store_schema_version(st) >= 2); /* the request tables came with version 2 */
	*state = st;
	return 0;
}

static int teardown(void **state)
{
	ward_store_close(*state);
	return 0;
}

static ward_request_t req(int64_t uid, const char *sha)
{
	ward_request_t r = {
		.requester_uid = uid,
		.requester_name = uid == 1001 ? "alice" : "bob",
		.host = "testhost",
		.path = "/opt/tools/thing",
		.reason = "I need it to build the release",
		.sha256 = sha,
		.proposed_scope = WARD_RT_BINARY,
	};
	return r;
}

static int64_t file_ok(ward_store_t *st, const ward_request_t *r, int64_t now, bool want_existing)
{
	ward_error_t err = { 0 };
	int64_t id = 0;
	bool existing = !want_existing;

	if (ward_request_file(st, r, now, &id, &existing, &err) != WARD_OK)
		fail_msg("file: %s", err.msg);
	assert_true(id > 0);
	assert_int_equal(existing, want_existing);
	return id;
}

static void file_fails(ward_store_t *st, const ward_request_t *r, int64_t now, ward_err_t code,
                       const char *part)
{
	ward_error_t err = { 0 };
	int64_t id = 99;
	bool existing = true;

	assert_int_equal(ward_request_file(st, r, now, &id, &existing, &err), code);
	assert_int_equal(id, 0);
	assert_false(existing);
	if (strstr(err.msg, part) == NULL)
		fail_msg("error '%s' does not mention '%s'", err.msg, part);
}

/* A copy of one request, read at now. */
struct got {
	int n;
	ward_req_state_t state;
	int64_t rule_id, expires_at, decided_uid, requester_uid;
	char decided_by[64], text[600], ident[300];
	bool forced, has_scope;
	ward_rule_type_t scope;
};

static int got_one(const ward_request_t *r, void *arg)
{
	struct got *g = arg;

	g->n++;
	g->state = r->state;
	g->rule_id = r->rule_id;
	g->expires_at = r->expires_at;
	g->decided_uid = r->decided_uid;
	g->requester_uid = r->requester_uid;
	g->forced = r->forced;
	g->has_scope = r->has_scope;
	g->scope = r->scope;
	snprintf(g->decided_by, sizeof(g->decided_by), "%s", r->decided_by);
	snprintf(g->text, sizeof(g->text), "%s", r->decision_text);
	snprintf(g->ident, sizeof(g->ident), "%s", r->rule_identifier);
	return 0;
}

static struct got get(ward_store_t *st, int64_t id, int64_t now)
{
	ward_req_filter_t f;
	ward_error_t err = { 0 };
	struct got g = { 0 };

	ward_req_filter_init(&f);
	f.id = id;
	if (ward_requests_foreach(st, &f, now, got_one, &g, &err) != WARD_OK)
		fail_msg("foreach: %s", err.msg);
	assert_int_equal(g.n, 1);
	return g;
}

static ward_req_decision_t approve(int64_t id)
{
	ward_req_decision_t d = { .id = id, .approve = true };
	return d;
}

static ward_req_decision_t deny(int64_t id, const char *why)
{
	ward_req_decision_t d = { .id = id, .approve = false, .text = why };
	return d;
}

static void decide_ok(ward_store_t *st, ward_req_decision_t d, int64_t now, ward_req_outcome_t *out)
{
	ward_error_t err = { 0 };

	if (ward_requests_decide(st, &d, 1, &POL, &ROOT, now, out, &err) != WARD_OK)
		fail_msg("decide %lld: %s", (long long)d.id, err.msg);
}

static void decide_fails(ward_store_t *st, ward_req_decision_t d, int64_t now, ward_err_t code,
                         const char *part)
{
	ward_error_t err = { 0 };

	assert_int_equal(ward_requests_decide(st, &d, 1, &POL, &ROOT, now, NULL, &err), code);
	if (strstr(err.msg, part) == NULL)
		fail_msg("error '%s' does not mention '%s'", err.msg, part);
}

static int64_t count(ward_store_t *st, const char *sql)
{
	sqlite3_stmt *s;
	int64_t n;

	assert_int_equal(sqlite3_prepare_v2(ward_store_sqlite(st), sql, -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return n;
}

/* The rule that decides sha256 (and the other identities given) at now, or NULL. */
static const ward_rule_t *match(ward_store_t *st, ward_index_t **ix, const char *sha,
                                const char *sigid, int64_t now)
{
	ward_match_key_t key = { 0 };
	ward_error_t err = { 0 };

	ward_index_free(*ix);
	*ix = NULL;
	snprintf(key.sha256, sizeof(key.sha256), "%s", sha);
	if (sigid)
		snprintf(key.signing_id, sizeof(key.signing_id), "%s", sigid);
	if (ward_index_build(st, ix, &err) != WARD_OK)
		fail_msg("index: %s", err.msg);
	return ward_index_match(*ix, &key, now);
}

/* ---------------------------------------------------------------- filing */

static void test_file_and_read(void **state)
{
	ward_store_t *st = *state;
	ward_request_t r = req(1001, SHA_A);
	int64_t id = file_ok(st, &r, T0, false);
	struct got g = get(st, id, T0);

	assert_int_equal(g.state, WARD_REQ_PENDING);
	assert_int_equal(g.requester_uid, 1001);
	assert_int_equal(g.decided_uid, -1);
	assert_int_equal(count(st, "SELECT count(*) FROM audit WHERE action = 'request' AND uid = 1001 "
	                           "AND who = 'alice' AND request_id = 1"), 1);
	/* No rule exists until somebody approves. */
	assert_int_equal(count(st, "SELECT count(*) FROM rules"), 0);
}

static void test_dedupe(void **state)
{
	ward_store_t *st = *state;
	ward_request_t a = req(1001, SHA_A), b = req(1002, SHA_A), c = req(1001, SHA_B);
	int64_t id = file_ok(st, &a, T0, false);

	/* Same requester, same identity (another path, another reason): the same request. */
	a.path = "/home/alice/bin/thing";
	a.reason = "again";
	assert_int_equal(file_ok(st, &a, T0 + 5, true), id);
	/* Another user, or another file: a new request. */
	assert_true(file_ok(st, &b, T0 + 6, false) != id);
	assert_true(file_ok(st, &c, T0 + 7, false) != id);
	assert_int_equal(count(st, "SELECT count(*) FROM requests"), 3);
	assert_int_equal(count(st, "SELECT count(*) FROM audit"), 3);

	/* Approved and in force: still the same request; denied: a new one may be filed. */
	decide_ok(st, approve(id), T0 + 10, NULL);
	assert_int_equal(file_ok(st, &a, T0 + 11, true), id);
	decide_ok(st, deny(3, "no"), T0 + 12, NULL);
	assert_true(file_ok(st, &c, T0 + 13, false) > 3);
}

static void test_file_bad_input(void **state)
{
	ward_store_t *st = *state;
	char big[WARD_MAX_REQUEST_TEXT + 2];
	ward_request_t r;

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	r = req(1001, SHA_A);
	r.reason = big;
	file_fails(st, &r, T0, WARD_E_LIMIT, "reason: longer than 512");
	big[WARD_MAX_REQUEST_TEXT] = '\0'; /* exactly the limit is fine */
	file_ok(st, &r, T0, false);

	r = req(1002, SHA_A);
	r.reason = "";
	file_fails(st, &r, T0, WARD_E_INVAL, "reason: empty");
	r.reason = "line one\nline two";
	file_fails(st, &r, T0, WARD_E_INVAL, "reason: control character");
	r.reason = "bad \xc3\x28 utf8";
	file_fails(st, &r, T0, WARD_E_INVAL, "reason: not valid UTF-8");
	r.reason = "overlong \xc0\xaf slash";
	file_fails(st, &r, T0, WARD_E_INVAL, "not valid UTF-8");
	r = req(1002, SHA_A);
	r.path = "relative/tool";
	file_fails(st, &r, T0, WARD_E_INVAL, "path: must be absolute");
	r = req(1002, "ABCDEF");
	file_fails(st, &r, T0, WARD_E_INVAL, "sha256");
	r = req(1002, SHA_A);
	r.proposed_scope = WARD_RT_SIGNINGID; /* no signing ID */
	file_fails(st, &r, T0, WARD_E_INVAL, "proposed scope SIGNINGID");
	r.signing_id = "not a signing id";
	file_fails(st, &r, T0, WARD_E_INVAL, "signing_id");
	r = req(-1, SHA_A);
	file_fails(st, &r, T0, WARD_E_INVAL, "uid");
	assert_int_equal(count(st, "SELECT count(*) FROM requests"), 1);
}

static void test_flood_rate_limit(void **state)
{
	ward_store_t *st = *state;
	char sha[65];
	ward_request_t r;
	int64_t t = T0;
	unsigned i;

	/* WARD_REQUESTS_PER_HOUR new requests in an hour, then refused. */
	for (i = 0; i < WARD_REQUESTS_PER_HOUR; i++) {
		snprintf(sha, sizeof(sha), "%064x", i);
		r = req(1001, sha);
		file_ok(st, &r, t + i, false);
	}
	snprintf(sha, sizeof(sha), "%064x", 999);
	r = req(1001, sha);
	file_fails(st, &r, t + 60, WARD_E_BUSY, "rate limit");
	/* Asking again for one already filed is not a new request: not limited. */
	snprintf(sha, sizeof(sha), "%064x", 0);
	r = req(1001, sha);
	file_ok(st, &r, t + 61, true);
	/* Another user is not affected. */
	snprintf(sha, sizeof(sha), "%064x", 999);
	r = req(1002, sha);
	file_ok(st, &r, t + 62, false);
	/* An hour after the first, one more may be filed. */
	snprintf(sha, sizeof(sha), "%064x", 1000);
	r = req(1001, sha);
	file_fails(st, &r, t + 3599, WARD_E_BUSY, "rate limit");
	file_ok(st, &r, t + 3600, false);

	/* Pending requests per uid are capped even at the allowed rate. */
	for (i = 1; i < WARD_MAX_PENDING_PER_UID - WARD_REQUESTS_PER_HOUR; i++) {
		snprintf(sha, sizeof(sha), "%064x", 2000 + i);
		r = req(1001, sha);
		file_ok(st, &r, t + 7200 + i, false);
	}
	snprintf(sha, sizeof(sha), "%064x", 3000);
	r = req(1001, sha);
	file_fails(st, &r, t + 3 * 3600, WARD_E_LIMIT, "pending requests");
	assert_int_equal(count(st, "SELECT count(*) FROM requests WHERE requester_uid = 1001"),
	                 WARD_MAX_PENDING_PER_UID);
}

/* ---------------------------------------------------------------- deciding */

static void test_approve_creates_rule(void **state)
{
	ward_store_t *st = *state;
	ward_request_t r = req(1001, SHA_A);
	ward_req_decision_t d;
	ward_req_outcome_t out;
	ward_index_t *ix = NULL;
	const ward_rule_t *m;
	int64_t id = file_ok(st, &r, T0, false);
	struct got g;

	assert_null(match(st, &ix, SHA_A, NULL, T0));
	d = approve(id);
	d.expires_at = T0 + 100 + 2;
	d.text = "ticket OPS-7";
	decide_ok(st, d, T0 + 100, &out);
	assert_true(out.rule_id > 0);
	assert_int_equal(out.scope, WARD_RT_BINARY);
	assert_string_equal(out.identifier, SHA_A);
	assert_int_equal(out.expires_at, T0 + 102);

	g = get(st, id, T0 + 100);
	assert_int_equal(g.state, WARD_REQ_APPROVED);
	assert_int_equal(g.rule_id, out.rule_id);
	assert_int_equal(g.decided_uid, 0);
	assert_string_equal(g.decided_by, "root");
	assert_string_equal(g.text, "ticket OPS-7");

	/* The rule: ALLOWLIST, source exception, linked, matching exactly until expiry. */
	m = match(st, &ix, SHA_A, NULL, T0 + 101);
	assert_non_null(m);
	assert_int_equal(m->id, out.rule_id);
	assert_int_equal(m->source, WARD_SRC_EXCEPTION);
	assert_int_equal(m->policy, WARD_POL_ALLOWLIST);
	assert_int_equal(m->expires_at, T0 + 102);
	assert_string_equal(m->created_by, "root");
	assert_non_null(strstr(m->comment, "exception request #1: ticket OPS-7"));
	assert_null(match(st, &ix, SHA_A, NULL, T0 + 102));
	ward_index_free(ix);

	/* The request reads expired from its expiry on, before any sweep. */
	assert_int_equal(get(st, id, T0 + 101).state, WARD_REQ_APPROVED);
	assert_int_equal(get(st, id, T0 + 102).state, WARD_REQ_EXPIRED);
	assert_int_equal(count(st, "SELECT count(*) FROM audit WHERE action = 'approve' AND uid = 0 "
	                           "AND request_id = 1 AND rule_id IS NOT NULL"), 1);
}

static void test_default_expiry_and_scope(void **state)
{
	ward_store_t *st = *state;
	ward_request_t r = req(1001, SHA_A);
	ward_req_outcome_t out;
	int64_t id;

	r.cdhash = CDH_A;
	r.team_id = TEAM;
	r.signing_id = SIGID;
	r.proposed_scope = WARD_RT_SIGNINGID;
	id = file_ok(st, &r, T0, false);
	decide_ok(st, approve(id), T0 + 1, &out);
	/* No scope: the proposed one; no expiry: the policy's longest. */
	assert_int_equal(out.scope, WARD_RT_SIGNINGID);
	assert_string_equal(out.identifier, SIGID);
	assert_int_equal(out.expires_at, T0 + 1 + POL.max_expiry_s);
}

static void test_decide_refusals(void **state)
{
	ward_store_t *st = *state;
	ward_request_t r = req(1001, SHA_A), r2 = req(1001, SHA_B);
	ward_req_decision_t d;
	int64_t id = file_ok(st, &r, T0, false), id2 = file_ok(st, &r2, T0, false);

	decide_fails(st, approve(77), T0, WARD_E_NOTFOUND, "no request 77");
	decide_fails(st, approve(0), T0, WARD_E_INVAL, "not a request id");
	d = approve(id);
	d.has_scope = true;
	d.scope = WARD_RT_TEAMID; /* not in AllowedScopes */
	decide_fails(st, d, T0, WARD_E_PERM, "AllowedScopes");
	d.scope = WARD_RT_CDHASH; /* allowed, but the file has no CDHash */
	decide_fails(st, d, T0, WARD_E_INVAL, "no CDHASH identity");
	d = approve(id);
	d.expires_at = T0 + POL.max_expiry_s + 1;
	decide_fails(st, d, T0, WARD_E_PERM, "MaxExpirySeconds");
	d.expires_at = T0 - 1;
	decide_fails(st, d, T0, WARD_E_INVAL, "in the past");
	d = approve(id);
	d.expect_sha256 = SHA_B;
	decide_fails(st, d, T0, WARD_E_INVAL, "another file");
	decide_fails(st, deny(id, ""), T0, WARD_E_INVAL, "reason: empty");
	assert_int_equal(get(st, id, T0).state, WARD_REQ_PENDING);

	/* Double approval; approving or denying what is decided. */
	decide_ok(st, approve(id), T0 + 1, NULL);
	decide_fails(st, approve(id), T0 + 2, WARD_E_EXISTS, "is already approved (decided by root)");
	decide_fails(st, deny(id, "changed my mind"), T0 + 2, WARD_E_EXISTS, "only a pending request");
	decide_ok(st, deny(id2, "not needed"), T0 + 3, NULL);
	decide_fails(st, approve(id2), T0 + 4, WARD_E_INVAL, "is already denied (decided by root)");
	assert_int_equal(get(st, id2, T0 + 4).state, WARD_REQ_DENIED);
	assert_string_equal(get(st, id2, T0 + 4).text, "not needed");
	/* One rule only, from the one approval. */
	assert_int_equal(count(st, "SELECT count(*) FROM rules"), 1);
	assert_int_equal(count(st, "SELECT count(*) FROM audit WHERE action IN ('approve', 'deny')"), 2);
}

static void test_approve_expired_request(void **state)
{
	ward_store_t *st = *state;
	ward_request_t r = req(1001, SHA_A);
	ward_req_decision_t d;
	int64_t id = file_ok(st, &r, T0, false);

	d = approve(id);
	d.expires_at = T0 + 2;
	decide_ok(st, d, T0, NULL);
	decide_fails(st, approve(id), T0 + 5, WARD_E_INVAL, "is already expired");
	/* Once expired the requester may ask again: a new request. */
	assert_true(file_ok(st, &r, T0 + 6, false) != id);
}

static void test_scan_match_needs_force(void **state)
{
	ward_store_t *st = *state;
	ward_request_t r = req(1001, SHA_A);
	ward_req_decision_t d;
	int64_t id;

	r.scan_result = "match: Suspicious_Packer";
	id = file_ok(st, &r, T0, false);
	decide_fails(st, approve(id), T0, WARD_E_PERM, "YARA scan matched");
	d = approve(id);
	d.force = true; /* without a comment */
	decide_fails(st, d, T0, WARD_E_PERM, "--comment");
	d.text = "vendor confirmed false positive, OPS-9";
	decide_ok(st, d, T0, NULL);
	assert_true(get(st, id, T0).forced);
}

static void test_existing_rules(void **state)
{
	ward_store_t *st = *state;
	ward_request_t r = req(1001, SHA_A), r2 = req(1001, SHA_B);
	ward_rule_t block = { .type = WARD_RT_BINARY, .policy = WARD_POL_BLOCKLIST,
	                      .source = WARD_SRC_LOCAL, .identifier = SHA_A };
	ward_rule_t allow = { .type = WARD_RT_BINARY, .policy = WARD_POL_ALLOWLIST,
	                      .source = WARD_SRC_LOCAL, .identifier = SHA_B };
	ward_error_t err = { 0 };
	int64_t id = file_ok(st, &r, T0, false), id2 = file_ok(st, &r2, T0, false);

	assert_int_equal(ward_store_put(st, &block, &err), WARD_OK);
	assert_int_equal(ward_store_put(st, &allow, &err), WARD_OK);
	decide_fails(st, approve(id), T0, WARD_E_EXISTS, "blocks BINARY");
	decide_fails(st, approve(id2), T0, WARD_E_EXISTS, "already allows");
	/* The blocklist rule is still there, unchanged. */
	assert_int_equal(count(st, "SELECT count(*) FROM rules WHERE policy = 1 AND source = 0"), 1);
	assert_int_equal(get(st, id, T0).state, WARD_REQ_PENDING);
}

static void test_two_requesters_keep_later_expiry(void **state)
{
	ward_store_t *st = *state;
	ward_request_t a = req(1001, SHA_A), b = req(1002, SHA_A);
	ward_req_decision_t d;
	ward_req_outcome_t out;
	ward_index_t *ix = NULL;
	int64_t ia = file_ok(st, &a, T0, false), ib = file_ok(st, &b, T0, false);

	d = approve(ia);
	d.expires_at = T0 + 1000;
	decide_ok(st, d, T0, &out);
	d = approve(ib);
	d.expires_at = T0 + 10;
	decide_ok(st, d, T0 + 1, &out);
	/* b's grant is 10 s but the rule keeps a's later expiry; each request its own. */
	assert_int_equal(out.expires_at, T0 + 10);
	assert_int_equal(out.rule_expires_at, T0 + 1000);
	assert_int_equal(get(st, ib, T0 + 20).state, WARD_REQ_EXPIRED);
	assert_int_equal(get(st, ia, T0 + 20).state, WARD_REQ_APPROVED);
	assert_non_null(match(st, &ix, SHA_A, NULL, T0 + 20));
	assert_null(match(st, &ix, SHA_A, NULL, T0 + 1000));
	ward_index_free(ix);
	assert_int_equal(count(st, "SELECT count(*) FROM rules"), 1);
}

static void test_revoked(void **state)
{
	ward_store_t *st = *state;
	ward_request_t r = req(1001, SHA_A);
	ward_error_t err = { 0 };
	int64_t id = file_ok(st, &r, T0, false);

	decide_ok(st, approve(id), T0, NULL);
	/* An administrator removes the rule: the request says so, and stays decided. */
	assert_int_equal(ward_store_remove(st, WARD_RT_BINARY, SHA_A, WARD_SRC_LOCAL, &err), WARD_OK);
	assert_int_equal(get(st, id, T0 + 1).state, WARD_REQ_REVOKED);
	decide_fails(st, approve(id), T0 + 1, WARD_E_INVAL, "is already revoked");
}

static void test_bulk_all_or_nothing(void **state)
{
	ward_store_t *st = *state;
	ward_request_t a = req(1001, SHA_A), b = req(1001, SHA_B);
	ward_req_decision_t ds[3];
	ward_error_t err = { 0 };
	int64_t ia = file_ok(st, &a, T0, false), ib = file_ok(st, &b, T0, false);
	int64_t audit0 = count(st, "SELECT count(*) FROM audit");

	ds[0] = approve(ia);
	ds[0].line = 1;
	ds[1] = deny(ib, "duplicate of OPS-1");
	ds[1].line = 2;
	ds[2] = approve(42);
	ds[2].line = 4;
	assert_int_equal(ward_requests_decide(st, ds, 3, &POL, &ROOT, T0, NULL, &err), WARD_E_NOTFOUND);
	assert_non_null(strstr(err.msg, "line 4: no request 42"));
	/* Nothing of lines 1 and 2 happened. */
	assert_int_equal(get(st, ia, T0).state, WARD_REQ_PENDING);
	assert_int_equal(get(st, ib, T0).state, WARD_REQ_PENDING);
	assert_int_equal(count(st, "SELECT count(*) FROM rules"), 0);
	assert_int_equal(count(st, "SELECT count(*) FROM audit"), audit0);

	/* The same request twice in one file. */
	ds[2] = approve(ia);
	ds[2].line = 5;
	assert_int_equal(ward_requests_decide(st, ds, 3, &POL, &ROOT, T0, NULL, &err), WARD_E_EXISTS);
	assert_non_null(strstr(err.msg, "line 5: request 1 is decided twice"));

	/* Both valid: both applied. */
	assert_int_equal(ward_requests_decide(st, ds, 2, &POL, &ROOT, T0, NULL, &err), WARD_OK);
	assert_int_equal(get(st, ia, T0).state, WARD_REQ_APPROVED);
	assert_int_equal(get(st, ib, T0).state, WARD_REQ_DENIED);
	assert_int_equal(count(st, "SELECT count(*) FROM audit"), audit0 + 2);
}

static void test_crash_mid_approval_is_atomic(void **state)
{
	ward_store_t *st = *state;
	ward_request_t r = req(1001, SHA_A);
	ward_error_t err = { 0 };
	ward_req_decision_t d;
	int64_t id = file_ok(st, &r, T0, false);

	/* The audit append, the last write of an approval, fails: the rule written before it
	 * and the request update must be rolled back with it. */
	assert_int_equal(sqlite3_exec(ward_store_sqlite(st),
	                              "CREATE TEMP TRIGGER fail_audit BEFORE INSERT ON audit BEGIN "
	                              "SELECT RAISE(ABORT, 'disk full'); END", NULL, NULL, NULL), SQLITE_OK);
	d = approve(id);
	assert_int_equal(ward_requests_decide(st, &d, 1, &POL, &ROOT, T0, NULL, &err), WARD_E_DB);
	assert_non_null(strstr(err.msg, "disk full"));
	assert_int_equal(count(st, "SELECT count(*) FROM rules"), 0);
	assert_int_equal(get(st, id, T0).state, WARD_REQ_PENDING);
	assert_int_equal(sqlite3_exec(ward_store_sqlite(st), "DROP TRIGGER fail_audit", NULL, NULL, NULL),
	                 SQLITE_OK);
	decide_ok(st, approve(id), T0, NULL);
}

static void test_sweep(void **state)
{
	ward_store_t *st = *state;
	ward_request_t a = req(1001, SHA_A), b = req(1001, SHA_B);
	ward_error_t err = { 0 };
	ward_req_decision_t d;
	int64_t ia = file_ok(st, &a, T0, false), ib = file_ok(st, &b, T0, false), ids[4], next;
	size_t n;

	assert_int_equal(ward_requests_next_expiry(st, &next, &err), WARD_OK);
	assert_int_equal(next, 0);
	d = approve(ia);
	d.expires_at = T0 + 2;
	decide_ok(st, d, T0, NULL);
	d = approve(ib);
	d.expires_at = T0 + 50;
	decide_ok(st, d, T0, NULL);
	assert_int_equal(ward_requests_next_expiry(st, &next, &err), WARD_OK);
	assert_int_equal(next, T0 + 2);

	assert_int_equal(ward_requests_sweep(st, T0 + 1, ids, 4, &n, &err), WARD_OK);
	assert_int_equal(n, 0);
	assert_int_equal(ward_requests_sweep(st, T0 + 2, ids, 4, &n, &err), WARD_OK);
	assert_int_equal(n, 1);
	assert_int_equal(ids[0], ia);
	assert_int_equal(count(st, "SELECT state FROM requests WHERE id = 1"), WARD_REQ_EXPIRED);
	assert_int_equal(count(st, "SELECT count(*) FROM audit WHERE action = 'expire' AND uid IS NULL "
	                           "AND who = 'wardend' AND request_id = 1"), 1);
	assert_int_equal(ward_requests_sweep(st, T0 + 3, ids, 4, &n, &err), WARD_OK);
	assert_int_equal(n, 0);
	assert_int_equal(ward_requests_next_expiry(st, &next, &err), WARD_OK);
	assert_int_equal(next, T0 + 50);
	/* The rule of an expired request stays (nothing is deleted) but no longer matches. */
	assert_int_equal(count(st, "SELECT count(*) FROM rules"), 2);
}

static void test_append_only(void **state)
{
	ward_store_t *st = *state;
	ward_request_t r = req(1001, SHA_A);
	sqlite3 *db = ward_store_sqlite(st);
	int64_t id = file_ok(st, &r, T0, false);

	decide_ok(st, approve(id), T0, NULL);
	assert_int_not_equal(sqlite3_exec(db, "DELETE FROM requests", NULL, NULL, NULL), SQLITE_OK);
	assert_int_not_equal(sqlite3_exec(db, "DELETE FROM audit", NULL, NULL, NULL), SQLITE_OK);
	assert_int_not_equal(sqlite3_exec(db, "UPDATE audit SET who = 'mallory'", NULL, NULL, NULL), SQLITE_OK);
	assert_int_not_equal(sqlite3_exec(db, "UPDATE requests SET state = 0", NULL, NULL, NULL), SQLITE_OK);
	assert_int_not_equal(sqlite3_exec(db, "UPDATE requests SET state = 2", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(get(st, id, T0).state, WARD_REQ_APPROVED);
	assert_int_equal(count(st, "SELECT count(*) FROM audit"), 2);
}

static int count_audit(const ward_audit_t *a, void *arg)
{
	json_t *o = ward_audit_to_json(a);

	assert_non_null(o);
	assert_true(json_is_object(json_object_get(o, "detail")));
	json_decref(o);
	(*(int *)arg)++;
	return 0;
}

static void test_filters_and_json(void **state)
{
	ward_store_t *st = *state;
	ward_request_t a = req(1001, SHA_A), b = req(1002, SHA_B);
	ward_req_filter_t f;
	ward_error_t err = { 0 };
	struct got g = { 0 };
	int64_t ia = file_ok(st, &a, T0, false);
	int n = 0;

	file_ok(st, &b, T0, false);
	decide_ok(st, deny(ia, "no"), T0, NULL);
	ward_req_filter_init(&f);
	f.uid = 1002;
	assert_int_equal(ward_requests_foreach(st, &f, T0, got_one, &g, &err), WARD_OK);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.requester_uid, 1002);
	memset(&g, 0, sizeof(g));
	ward_req_filter_init(&f);
	f.state = WARD_REQ_DENIED;
	assert_int_equal(ward_requests_foreach(st, &f, T0, got_one, &g, &err), WARD_OK);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.state, WARD_REQ_DENIED);
	memset(&g, 0, sizeof(g));
	ward_req_filter_init(&f);
	f.after_id = 1;
	f.limit = 1;
	assert_int_equal(ward_requests_foreach(st, &f, T0, got_one, &g, &err), WARD_OK);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.requester_uid, 1002);

	assert_int_equal(ward_audit_foreach(st, ia, 0, 0, count_audit, &n, &err), WARD_OK);
	assert_int_equal(n, 2); /* request, deny */
}

/* ---------------------------------------------------------------- JSON decisions */

static void decision_fails(const char *text, const char *part)
{
	ward_req_decision_t d;
	ward_error_t err = { 0 };
	json_t *o = json_loads(text, 0, NULL);

	assert_non_null(o);
	assert_int_not_equal(ward_req_decision_from_json(o, T0, &d, &err), WARD_OK);
	if (strstr(err.msg, part) == NULL)
		fail_msg("%s: error '%s' does not mention '%s'", text, err.msg, part);
	json_decref(o);
}

static void test_decision_json(void **state)
{
	ward_req_decision_t d;
	ward_error_t err = { 0 };
	json_t *o;

	(void)state;
	o = json_loads("{\"id\": 3, \"decision\": \"approve\", \"scope\": \"SigningID\", "
	               "\"expires\": \"7d\", \"comment\": \"ok\", \"force\": true, "
	               "\"sha256\": \"" SHA_A "\", \"state\": \"pending\", \"path\": \"/x\", "
	               "\"requester\": {\"uid\": 5}}", 0, NULL);
	assert_int_equal(ward_req_decision_from_json(o, T0, &d, &err), WARD_OK);
	assert_int_equal(d.id, 3);
	assert_true(d.approve && d.has_scope && d.force);
	assert_int_equal(d.scope, WARD_RT_SIGNINGID);
	assert_int_equal(d.expires_at, T0 + 7 * 86400);
	assert_string_equal(d.text, "ok");
	assert_string_equal(d.expect_sha256, SHA_A);
	json_decref(o);

	decision_fails("{\"id\": 3, \"decision\": \"approve\", \"expries\": \"7d\"}", "unknown key \"expries\"");
	decision_fails("{\"id\": 3}", "decision: missing");
	decision_fails("{\"id\": 3, \"decision\": \"maybe\"}", "expected \"approve\" or \"deny\"");
	decision_fails("{\"id\": -3, \"decision\": \"deny\", \"comment\": \"x\"}", "id: expected a positive");
	decision_fails("{\"id\": \"3\", \"decision\": \"deny\", \"comment\": \"x\"}", "id: expected a positive");
	decision_fails("{\"id\": 3, \"decision\": \"deny\"}", "empty");
	decision_fails("{\"id\": 3, \"decision\": \"deny\", \"comment\": \"x\", \"scope\": \"binary\"}",
	               "a denial takes no scope");
	decision_fails("{\"id\": 3, \"decision\": \"approve\", \"scope\": \"certificate\"}", "scope");
	decision_fails("{\"id\": 3, \"decision\": \"approve\", \"expires\": \"soon\"}", "expires");
	decision_fails("{\"id\": 3, \"decision\": \"approve\", \"force\": 1}", "force");
	decision_fails("{\"id\": 3, \"decision\": \"approve\", \"sha256\": \"xyz\"}", "sha256");
	decision_fails("[1]", "must be a JSON object");
}

static void test_decisions_parse(void **state)
{
	const char *file = "{\"id\": 1, \"decision\": \"approve\"}\r\n"
	                   "\n"
	                   "   \n"
	                   "{\"id\": 2, \"decision\": \"deny\", \"comment\": \"no\"}";
	ward_error_t err = { 0 };
	json_t *arr = NULL;
	char *big;
	size_t n;

	(void)state;
	assert_int_equal(ward_req_decisions_parse(file, strlen(file), &arr, &err), WARD_OK);
	assert_int_equal(json_array_size(arr), 2);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(arr, 0), "line")), 1);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(arr, 1), "line")), 4);
	json_decref(arr);

	file = "{\"id\": 1, \"decision\": \"approve\"}\n{\"id\": 2,\n";
	assert_int_equal(ward_req_decisions_parse(file, strlen(file), &arr, &err), WARD_E_MALFORMED);
	assert_null(arr);
	assert_non_null(strstr(err.msg, "line 2: not JSON"));
	file = "[]\n";
	assert_int_equal(ward_req_decisions_parse(file, strlen(file), &arr, &err), WARD_E_MALFORMED);
	assert_non_null(strstr(err.msg, "line 1: not a JSON object"));
	file = "{\"id\": 1, \"id\": 2, \"decision\": \"approve\"}\n";
	assert_int_equal(ward_req_decisions_parse(file, strlen(file), &arr, &err), WARD_E_MALFORMED);
	file = "\n\n";
	assert_int_equal(ward_req_decisions_parse(file, strlen(file), &arr, &err), WARD_E_INVAL);
	file = "{\"id\": 1, \"decision\": \"approve\", \"line\": 9}\n";
	assert_int_equal(ward_req_decisions_parse(file, strlen(file), &arr, &err), WARD_E_INVAL);

	/* Too many lines; too many bytes. */
	n = (WARD_MAX_BULK_DECISIONS + 1) * 4;
	big = malloc(n + 1);
	assert_non_null(big);
	for (size_t i = 0; i < WARD_MAX_BULK_DECISIONS + 1; i++)
		memcpy(big + 4 * i, "{ }\n", 4);
	assert_int_equal(ward_req_decisions_parse(big, n, &arr, &err), WARD_E_LIMIT);
	assert_non_null(strstr(err.msg, "more than 256 decisions"));
	free(big);
	n = WARD_MAX_BULK_BYTES + 1;
	big = calloc(1, n);
	assert_non_null(big);
	memset(big, '\n', n);
	assert_int_equal(ward_req_decisions_parse(big, n, &arr, &err), WARD_E_LIMIT);
	free(big);
}

static void test_names(void **state)
{
	ward_req_state_t s;
	ward_rule_type_t t;
	ward_error_t err = { 0 };

	(void)state;
	for (int i = 0; i < WARD_REQ__COUNT; i++) {
		assert_int_equal(ward_req_state_parse(ward_req_state_name((ward_req_state_t)i), &s, &err), WARD_OK);
		assert_int_equal(s, i);
	}
	assert_int_equal(ward_req_state_parse("Pending", &s, &err), WARD_E_INVAL);
	assert_int_equal(ward_req_scope_parse("TEAMID", &t, &err), WARD_OK);
	assert_int_equal(t, WARD_RT_TEAMID);
	assert_int_equal(ward_req_scope_parse("certificate", &t, &err), WARD_E_INVAL);
	assert_true(ward_req_scan_matched("match: X"));
	assert_false(ward_req_scan_matched("clean"));
	assert_false(ward_req_scan_matched(""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_file_and_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dedupe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_bad_input, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flood_rate_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_approve_creates_rule, setup, teardown),
		cmocka_unit_test_setup_teardown(test_default_expiry_and_scope, setup, teardown),
		cmocka_unit_test_setup_teardown(test_decide_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_approve_expired_request, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scan_match_needs_force, setup, teardown),
		cmocka_unit_test_setup_teardown(test_existing_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_requesters_keep_later_expiry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_revoked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bulk_all_or_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_mid_approval_is_atomic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sweep, setup, teardown),
		cmocka_unit_test_setup_teardown(test_append_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_filters_and_json, setup, teardown),
		cmocka_unit_test(test_decision_json),
		cmocka_unit_test(test_decisions_parse),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
