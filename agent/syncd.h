/*
 * wardend's side of fleet sync (docs/sync.md). wardend never touches the network:
 * warden-sync, an unprivileged process, talks to the sync server and hands wardend what
 * it received over the control socket, where it is checked again:
 *
 *   sync-config              what warden-sync needs: the sync keys, machine facts, rule
 *                            counts and hash, mode, spool depth
 *   sync-begin {clean}       start staging synced rules -> {token}
 *   sync-rules {token, rules}  add Santa rule objects to the staging (checked one by one,
 *                            as an import; an error drops the staging)
 *   sync-commit {token, settings, sync_type}  apply the staged rules in one transaction
 *                            (clean: the synced rules are replaced; clean_all: transitive
 *                            rules go too) and the server's settings (mode, path regexes,
 *                            intervals), then flush caches. Nothing changes on error.
 *   sync-events {max}        the oldest spooled events; sync-ack {ids} removes them
 *   sync-report {ok, error, stage, next_run}  the outcome of a run, for status
 *
 * Only root, the AdminGroup and SyncUser may use them. A staging not committed within
 * WARD_SYNC_STAGE_TTL_S (warden-sync killed mid-sync) is dropped: the rules stay as they
 * were. The server's settings and the last outcome are kept in sync-state.json next to
 * the store, so they survive restarts; the server's client_mode and path regexes are a
 * layer over the configuration sources (below --mode).
 *
 * Main thread only (the control handlers), except the spool (its own lock).
 */
#ifndef WARD_AGENT_SYNCD_H
#define WARD_AGENT_SYNCD_H

#include <jansson.h>

#include "agent/control.h"
#include "agent/syncspool.h"
#include "common/error.h"
#include "profiles/config.h"

typedef struct ward_syncd ward_syncd_t;

/* state_dir: where sync-state.json and sync-spool.db live (the store's directory). */
ward_err_t ward_syncd_create(const char *state_dir, ward_syncd_t **out, ward_error_t *err);
void ward_syncd_destroy(ward_syncd_t *s); /* NULL ok */

ward_syncspool_t *ward_syncd_spool(ward_syncd_t *s);

/* Apply the server's settings (client_mode, path regexes) onto cfg. s NULL: nothing. */
void ward_syncd_overlay(const ward_syncd_t *s, ward_config_t *cfg);

/* The "sync" object of the status reply (a new reference). */
json_t *ward_syncd_status(ward_syncd_t *s, const ward_config_t *cfg);

/* Control handlers; ctx is the ward_daemon_t. */
json_t *ward_syncd_cmd_config(void *ctx, const ward_ctl_peer_t *peer, json_t *req, ward_error_t *err);
json_t *ward_syncd_cmd_begin(void *ctx, const ward_ctl_peer_t *peer, json_t *req, ward_error_t *err);
json_t *ward_syncd_cmd_rules(void *ctx, const ward_ctl_peer_t *peer, json_t *req, ward_error_t *err);
json_t *ward_syncd_cmd_commit(void *ctx, const ward_ctl_peer_t *peer, json_t *req, ward_error_t *err);
json_t *ward_syncd_cmd_events(void *ctx, const ward_ctl_peer_t *peer, json_t *req, ward_error_t *err);
json_t *ward_syncd_cmd_ack(void *ctx, const ward_ctl_peer_t *peer, json_t *req, ward_error_t *err);
json_t *ward_syncd_cmd_report(void *ctx, const ward_ctl_peer_t *peer, json_t *req, ward_error_t *err);

#endif
