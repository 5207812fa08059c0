/*
 * libFuzzer target: bulk exception decisions (`wardenctl approve --from FILE`): the
 * JSON Lines splitter, the decision validator, and the batch applied to an in-memory
 * store holding a few requests. Beyond "does not crash": a batch either applies whole
 * or changes nothing (requests, rules and audit rows all counted before and after), a
 * decided request is never pending, and every approval left a linked exception rule.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "rules/requests.h"
#include "rules/store_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW 1700000000

static int64_t count(ward_store_t *st, const char *sql)
{
	sqlite3_stmt *s;
	int64_t n = -1;

	if (sqlite3_prepare_v2(ward_store_sqlite(st), sql, -1, &s, NULL) != SQLITE_OK)
		abort();
	if (sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return n;
}

/* Requests 1..4: plain, team-signed, scan-matched, and one already denied. */
static void seed(ward_store_t *st)
{
	static const char *const sha[] = {
		"0000000000000000000000000000000000000000000000000000000000000001",
		"0000000000000000000000000000000000000000000000000000000000000002",
		"0000000000000000000000000000000000000000000000000000000000000003",
		"0000000000000000000000000000000000000000000000000000000000000004",
	};
	ward_actor_t root = { .uid = 0, .name = "root" };
	ward_req_policy_t pol = { .allowed_scopes = 0x1f, .max_expiry_s = 86400 };
	ward_req_decision_t deny = { .id = 4, .text = "no" };

	for (int i = 0; i < 4; i++) {
		ward_request_t r = {
			.requester_uid = 1000 + i, .requester_name = "user", .host = "h",
			.path = "/opt/tool", .reason = "why", .sha256 = sha[i],
			.proposed_scope = WARD_RT_BINARY,
		};
		int64_t id;
		bool existing;
		if (i == 1) {
			r.team_id = "EQHXZ8M8AV";
			r.signing_id = "EQHXZ8M8AV:com.example.tool";
			r.cdhash = "0123456789abcdef0123456789abcdef01234567";
			r.proposed_scope = WARD_RT_SIGNINGID;
		}
		if (i == 2)
			r.scan_result = "match: X";
		if (ward_request_file(st, &r, NOW, &id, &existing, NULL) != WARD_OK || id != i + 1)
			abort();
	}
	if (ward_requests_decide(st, &deny, 1, &pol, &root, NOW, NULL, NULL) != WARD_OK)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ward_actor_t root = { .uid = 0, .name = "root" };
	ward_req_policy_t pol = { .allowed_scopes = (1u << WARD_RT_BINARY) | (1u << WARD_RT_SIGNINGID) |
	                                            (1u << WARD_RT_CDHASH),
	                          .max_expiry_s = 86400 };
	ward_req_decision_t ds[WARD_MAX_BULK_DECISIONS];
	ward_req_outcome_t outs[WARD_MAX_BULK_DECISIONS];
	ward_store_t *st = NULL;
	ward_error_t err = { 0 };
	json_t *arr = NULL;
	size_t n;
	int64_t before[3], after[3];

	if (ward_req_decisions_parse((const char *)data, size, &arr, &err) != WARD_OK) {
		if (arr != NULL)
			abort();
		return 0;
	}
	n = json_array_size(arr);
	if (n == 0 || n > WARD_MAX_BULK_DECISIONS)
		abort();
	for (size_t i = 0; i < n; i++)
		if (ward_req_decision_from_json(json_array_get(arr, i), NOW, &ds[i], &err) != WARD_OK) {
			json_decref(arr);
			return 0;
		}
	if (ward_store_open(":memory:", WARD_STORE_CREATE, &st, NULL) != WARD_OK)
		abort();
	seed(st);
	before[0] = count(st, "SELECT count(*) FROM requests WHERE state = 0");
	before[1] = count(st, "SELECT count(*) FROM rules");
	before[2] = count(st, "SELECT count(*) FROM audit");
	ward_err_t rc = ward_requests_decide(st, ds, n, &pol, &root, NOW, outs, &err);
	after[0] = count(st, "SELECT count(*) FROM requests WHERE state = 0");
	after[1] = count(st, "SELECT count(*) FROM rules");
	after[2] = count(st, "SELECT count(*) FROM audit");
	if (rc != WARD_OK) {
		if (memcmp(before, after, sizeof(before)) != 0 || err.msg[0] == '\0')
			abort();
	} else {
		/* n decisions: n fewer pending, n audit rows, one rule per distinct approval. */
		if (before[0] - after[0] != (int64_t)n || after[2] - before[2] != (int64_t)n)
			abort();
		for (size_t i = 0; i < n; i++)
			if (ds[i].approve && (outs[i].rule_id <= 0 || outs[i].expires_at <= NOW ||
			                      outs[i].expires_at > NOW + 86400))
				abort();
		if (count(st, "SELECT count(*) FROM requests r LEFT JOIN rules ru ON ru.id = r.rule_id "
		              "WHERE r.state = 1 AND (ru.id IS NULL OR ru.source != 2)") != 0)
			abort();
	}
	ward_store_close(st);
	json_decref(arr);
	return 0;
}
