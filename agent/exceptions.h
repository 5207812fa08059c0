/*
 * Exception requests in the agent: the control commands users and approvers call
 * (wardenctl request, requests, approve, deny, blocked), the recent-denials memory fed
 * by the event log writer, and the expiry sweep of the main loop. The store logic is
 * rules/requests.c; this file adds who is asking (from SO_PEERCRED only), what the
 * file is (read by the agent with the caller's file-system rights), the policy
 * (ExceptionPolicy, AdminGroup), cache flushes and the event log.
 *
 * Control commands (newline-delimited JSON, docs/exceptions.md):
 *   request          {path, reason}                        anyone
 *   request-status   {id}                                  the requester, or an approver
 *   requests         {mine, status, after_id, limit}       mine: anyone; all: approvers
 *   approve          {id, scope, expires, comment, force}  approvers
 *   deny             {id, reason}                          approvers
 *   decide           {decisions: [decision...]}            approvers (all or nothing)
 *   blocked          {}                                    anyone (their own denials)
 *   audit            {request_id, after_id, limit}         approvers
 * Approvers: root, members of AdminGroup, members of ExceptionPolicy.ApproverGroup.
 */
#ifndef WARD_AGENT_EXCEPTIONS_H
#define WARD_AGENT_EXCEPTIONS_H

#include "agent/control.h"
#include "agent/engine/engine.h"
#include "agent/eventlog.h"
#include "profiles/config.h"
#include "rules/rules.h"

typedef struct ward_exc ward_exc_t;
struct ward_yarascan;

/* What the module uses of the agent, and nothing more: the store, the engine (its
 * snapshot, and a rebuild after a change), the configuration in force (updated in
 * place on reload), the event log, the scan step and the control server (deferred
 * replies). */
typedef struct ward_exc_env {
	ward_store_t *store;
	ward_engine_t *engine;
	const ward_config_t *cfg;
	ward_evlog_t *evlog;          /* NULL: no event log */
	struct ward_yarascan *yara;   /* NULL: no scan step */
	ward_ctl_server_t *ctl;
	ward_exc_t *exc;              /* the module itself (set by ward_exc_bind) */
} ward_exc_env_t;

ward_err_t ward_exc_create(ward_exc_t **out, ward_error_t *err);
void ward_exc_destroy(ward_exc_t *x); /* NULL ok */

/* Give the module what it works with (copied), once they all exist and before the
 * first command or tick. */
void ward_exc_bind(ward_exc_t *x, const ward_exc_env_t *env);

/*
 * Files named by request and approve are read off the main thread (agent/reqfile.h),
 * at most WARD_REQ_JOBS at once and one per uid, after the rate limit; those handlers
 * answer WARD_CTL_LATER. The main loop polls ward_exc_wakefd and calls
 * ward_exc_jobs_finish, which stores what was read and sends the replies.
 * ward_exc_stop waits for the reading threads (each ends within its budget); call it
 * before the pipeline and the scan pool stop.
 */
int ward_exc_wakefd(const ward_exc_t *x);
void ward_exc_jobs_finish(ward_exc_t *x);
void ward_exc_stop(ward_exc_t *x);

/* Event log hook (ward_evlog_set_hook, arg = the ward_exc_t): remembers denials. */
void ward_exc_evlog_hook(void *arg, const ward_evrec_t *r);

/* Main loop, at each store poll: record the expiries that are due (audit trail and
 * event log). Cheap when nothing is due: one comparison. */
void ward_exc_tick(ward_exc_t *x);

/* Control handlers; ctx is the ward_exc_t (agent/commands.c passes it). */
json_t *ward_exc_cmd_request(void *ctx, const ward_ctl_peer_t *peer, json_t *req, ward_error_t *err);
json_t *ward_exc_cmd_status(void *ctx, const ward_ctl_peer_t *peer, json_t *req, ward_error_t *err);
json_t *ward_exc_cmd_requests(void *ctx, const ward_ctl_peer_t *peer, json_t *req, ward_error_t *err);
json_t *ward_exc_cmd_approve(void *ctx, const ward_ctl_peer_t *peer, json_t *req, ward_error_t *err);
json_t *ward_exc_cmd_deny(void *ctx, const ward_ctl_peer_t *peer, json_t *req, ward_error_t *err);
json_t *ward_exc_cmd_decide(void *ctx, const ward_ctl_peer_t *peer, json_t *req, ward_error_t *err);
json_t *ward_exc_cmd_blocked(void *ctx, const ward_ctl_peer_t *peer, json_t *req, ward_error_t *err);
json_t *ward_exc_cmd_audit(void *ctx, const ward_ctl_peer_t *peer, json_t *req, ward_error_t *err);

#endif
