/*
 * warden — exception requests and their audit trail, in the rule store.
 *
 * A user whose program is blocked files a request (who, which file, why); an approver
 * approves it, which creates an ALLOWLIST rule of source EXCEPTION linked to the
 * request, or denies it. Every state change is one SQLite transaction that also appends
 * an audit row, so a crash leaves each request either before or after the change.
 * Nothing is ever deleted: triggers in the schema refuse deleting requests, changing
 * audit rows, and taking a decision back (docs/exceptions.md).
 *
 * Identity of the caller: these functions record the uid and name they are given. The
 * agent passes what the kernel said about the control-socket peer (SO_PEERCRED); no
 * value from a request message ever reaches them as an identity.
 *
 * Time: every function takes now (unix seconds) so tests control the clock.
 *
 * Strings in ward_request_t / ward_audit_t handed to a callback are borrowed from the
 * database statement and live only during the call. On input the caller owns them;
 * NULL means "".
 */
#ifndef WARD_RULES_REQUESTS_H
#define WARD_RULES_REQUESTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/error.h"
#include "common/limits.h"
#include "rules/rules.h"

/* What a request shows. PENDING, APPROVED, DENIED and EXPIRED are stored; an APPROVED
 * request reads as EXPIRED from its expiry on (before the agent records it), and as
 * REVOKED when its rule was removed or replaced by an administrator. */
typedef enum {
	WARD_REQ_PENDING = 0,
	WARD_REQ_APPROVED,
	WARD_REQ_DENIED,
	WARD_REQ_EXPIRED,
	WARD_REQ_REVOKED,
	WARD_REQ__COUNT
} ward_req_state_t;

/* "pending", "approved", "denied", "expired", "revoked". */
const char *ward_req_state_name(ward_req_state_t s);
/* Case-sensitive inverse of ward_req_state_name; WARD_E_INVAL names the accepted values. */
ward_err_t ward_req_state_parse(const char *s, ward_req_state_t *out, ward_error_t *err);

/* Scope of an approval: a rule type. Accepts cdhash, binary, signingid, teamid (any
 * case); CERTIFICATE is not a scope for exceptions. */
ward_err_t ward_req_scope_parse(const char *s, ward_rule_type_t *out, ward_error_t *err);

typedef struct ward_request {
	int64_t id;
	ward_req_state_t state;       /* effective state at the time of the read */
	int64_t requester_uid;
	const char *requester_name;   /* user name, or "uid:N" */
	const char *host;
	int64_t created_at;
	const char *path;             /* absolute, as the requester named it */
	const char *reason;
	const char *sha256;           /* 64 hex, always present */
	const char *cdhash;           /* "" when the file has none */
	const char *team_id;
	const char *signing_id;       /* "TEAMID:id" */
	const char *scan_result;      /* "" not scanned, "clean", "skipped", "pending",
	                                 or "match: <what matched>" */
	ward_rule_type_t proposed_scope; /* SIGNINGID for a team-signed file, else BINARY */
	/* The decision (decided_at 0: none yet). */
	int64_t decided_at;
	int64_t decided_uid;          /* -1: none (or the agent itself) */
	const char *decided_by;
	const char *decision_text;    /* approval comment or deny reason */
	bool has_scope;
	ward_rule_type_t scope;       /* granted scope */
	const char *rule_identifier;
	int64_t expires_at;           /* of this grant; 0 none */
	int64_t rule_id;              /* the linked rule (0: none) */
	bool forced;                  /* approved over a matching scan */
} ward_request_t;

/* Who acts: uid from the kernel, name from the password database ("uid:N" if none).
 * uid -1 is the agent itself (recording an expiry). */
typedef struct ward_actor {
	int64_t uid;
	const char *name;
} ward_actor_t;

/* True if s is a scan result that blocks approval without --force ("match..."). */
bool ward_req_scan_matched(const char *s);

/*
 * File a request for in (requester_uid/name, host, path, reason, identities, scan
 * result, proposed scope; id, state and decision fields are ignored) at now.
 * Validation: path absolute, at most PATH_MAX - 1 bytes; reason 1..WARD_MAX_REQUEST_TEXT
 * bytes; every text valid UTF-8 without control characters; sha256 canonical; other
 * identities canonical or empty; the proposed scope's identity present.
 *
 * The same requester asking again for the same sha256 while an earlier request is
 * pending or approved and in force gets that request: *id is its id and *existing
 * true, and nothing is written. Otherwise, limits: WARD_E_BUSY when the uid filed
 * WARD_REQUESTS_PER_HOUR requests in the hour before now; WARD_E_LIMIT when it has
 * WARD_MAX_PENDING_PER_UID pending or all users have WARD_MAX_PENDING. A new request
 * is stored with an audit row "request" in one transaction.
 */
ward_err_t ward_request_file(ward_store_t *st, const ward_request_t *in, int64_t now,
                             int64_t *id, bool *existing, ward_error_t *err);

/*
 * The limits ward_request_file enforces for a new request of uid at now (WARD_E_BUSY,
 * WARD_E_LIMIT, as above), checked alone: the agent asks before it reads the file, so
 * a user past the limit cannot make it read anything.
 */
ward_err_t ward_request_check_limits(ward_store_t *st, int64_t uid, int64_t now, ward_error_t *err);

/* Which requests to read. uid < 0: every requester; state WARD_REQ__COUNT: every state
 * (state filters the effective state); id > 0: only that request; after_id: only ids
 * greater (paging); limit 0: no limit. */
typedef struct ward_req_filter {
	int64_t uid;
	ward_req_state_t state;
	int64_t id;
	int64_t after_id;
	size_t limit;
} ward_req_filter_t;

/* An all-requests filter. */
void ward_req_filter_init(ward_req_filter_t *f);

/* Call fn for each request that f selects, by ascending id, with effective states at
 * now. fn returns non-zero to stop. */
ward_err_t ward_requests_foreach(ward_store_t *st, const ward_req_filter_t *f, int64_t now,
                                 int (*fn)(const ward_request_t *r, void *arg), void *arg,
                                 ward_error_t *err);

/* What an approver may grant (from ExceptionPolicy). */
typedef struct ward_req_policy {
	uint32_t allowed_scopes;      /* bit (1u << ward_rule_type_t) */
	uint32_t max_expiry_s;        /* > 0 */
} ward_req_policy_t;

/* One decision on one request. */
typedef struct ward_req_decision {
	int64_t id;
	bool approve;                 /* false: deny */
	bool has_scope;               /* approve: false = the proposed scope */
	ward_rule_type_t scope;
	int64_t expires_at;           /* approve: absolute unix seconds; 0 = now + policy max */
	const char *text;             /* approve: comment (optional); deny: reason (required) */
	bool force;                   /* approve over a matching scan (needs a comment) */
	const char *expect_sha256;    /* NULL, or the sha256 the decider saw: must match */
	unsigned line;                /* for messages: 0, or the line of a bulk file */
} ward_req_decision_t;

/* What an approval did. */
typedef struct ward_req_outcome {
	int64_t rule_id;
	ward_rule_type_t scope;
	char identifier[WARD_RULE_ID_MAX + 1];
	int64_t expires_at;           /* of this grant */
	int64_t rule_expires_at;      /* of the rule: later than expires_at when an earlier
	                                 exception for the same identity outlives this one */
} ward_req_outcome_t;

/*
 * Apply n decisions by who at now in one transaction: all or nothing. Errors name the
 * decision ("line N: " when line is set, else "request N: "). For each decision, the
 * request must exist (WARD_E_NOTFOUND) and be pending (approved: WARD_E_EXISTS; denied,
 * expired or revoked: WARD_E_INVAL); the same id twice is WARD_E_EXISTS.
 *
 * Approve: scope in pol->allowed_scopes and the request has that identity; expires_at
 * in (now, now + max_expiry_s]; a scan result that matched needs force and a non-empty
 * comment (else WARD_E_PERM); expect_sha256, when set, must equal the request's
 * (WARD_E_INVAL: the decision was made about another file); a blocking rule in force for the same type and
 * identifier, or an allowing managed/local/import rule (nothing to grant), is
 * WARD_E_EXISTS. It writes (upserts) the ALLOWLIST rule of source EXCEPTION in the
 * administrator slot, created_by who, comment "exception request #N[: comment]"; if an
 * exception rule for that identity is still in force, the rule keeps the later expiry.
 * Deny: text required. Each decision appends an audit row. out (n entries, may be
 * NULL) receives what each approval did.
 */
ward_err_t ward_requests_decide(ward_store_t *st, const ward_req_decision_t *d, size_t n,
                                const ward_req_policy_t *pol, const ward_actor_t *who,
                                int64_t now, ward_req_outcome_t *out, ward_error_t *err);

/*
 * Record expiries: every approved request whose expiry is at or before now becomes
 * EXPIRED with an audit row "expire" (uid NULL, who "wardend"), in one transaction.
 * ids (cap entries, may be NULL) receives the first expired ids; *n the count.
 */
ward_err_t ward_requests_sweep(ward_store_t *st, int64_t now, int64_t *ids, size_t cap,
                               size_t *n, ward_error_t *err);

/* The earliest expiry among approved (not yet swept) requests, 0 if none: the agent
 * sweeps when it is reached. */
ward_err_t ward_requests_next_expiry(ward_store_t *st, int64_t *t, ward_error_t *err);

/* ---------------------------------------------------------------- audit */

typedef struct ward_audit {
	int64_t id;
	int64_t time;
	int64_t uid;                  /* -1: the agent itself */
	const char *who;
	const char *action;           /* "request", "approve", "deny", "expire" */
	int64_t request_id;
	int64_t rule_id;              /* 0: none */
	const char *detail;           /* a JSON object */
} ward_audit_t;

/* Audit rows in order; request_id > 0 selects one request's; after_id/limit page. */
ward_err_t ward_audit_foreach(ward_store_t *st, int64_t request_id, int64_t after_id,
                              size_t limit, int (*fn)(const ward_audit_t *a, void *arg),
                              void *arg, ward_error_t *err);

/* ---------------------------------------------------------------- JSON */

/* A request as JSON (docs/exceptions.md, "Export format"). New reference. */
json_t *ward_request_to_json(const ward_request_t *r);
json_t *ward_audit_to_json(const ward_audit_t *a);

/*
 * One decision object, from a bulk file or the control protocol:
 *   {"id": N, "decision": "approve"|"deny", "scope": "binary", "expires": "30d",
 *    "comment": TEXT, "force": BOOL, "reason": TEXT}
 * and "line" (set by ward_req_decisions_parse), plus any key of the export format,
 * ignored except "sha256", which becomes expect_sha256. Any other key is an error, so
 * a typo is not silently ignored. expires is parsed by
 * ward_rule_time_parse against now. d's text borrows from o.
 */
ward_err_t ward_req_decision_from_json(const json_t *o, int64_t now, ward_req_decision_t *d,
                                       ward_error_t *err);

/*
 * Split a bulk decision file (JSON Lines: one decision object per line; blank lines are
 * skipped) into an array of the objects, each given a "line" member. At most
 * WARD_MAX_BULK_BYTES and WARD_MAX_BULK_DECISIONS. Only syntax is checked here; errors
 * name the line. *out is a new reference, NULL on error.
 */
ward_err_t ward_req_decisions_parse(const char *buf, size_t len, json_t **out,
                                    ward_error_t *err);

/* Whether text is acceptable request text: 1..max bytes (0 allowed if !required),
 * valid UTF-8, no control characters. field names it in err. */
ward_err_t ward_req_text_check(const char *text, size_t max, bool required, const char *field,
                               ward_error_t *err);

#endif
