#!/usr/bin/env bash
# MONITOR: unknown programs run and are logged; BLOCKLIST and SILENT_BLOCKLIST still
# deny; allows by rule are logged only with EventLogAllows.
. "$(dirname "$0")/lib.sh"
w_setup
w_prog "$W_MNT/unknown" unknown
w_prog "$W_MNT/blocked" blocked
w_prog "$W_MNT/silent" silent
w_prog "$W_MNT/allowed" allowed
w_start_agent --mode monitor
w_allow_sha "$(w_sha "$W_MNT/blocked")" BLOCKLIST
w_allow_sha "$(w_sha "$W_MNT/silent")" SILENT_BLOCKLIST
w_allow_sha "$(w_sha "$W_MNT/allowed")" ALLOWLIST

w_expect_allowed "$W_MNT/unknown"
w_log_wait ".decision == \"ALLOW\" and .reason == \"unknown\" and .mode == \"MONITOR\" and .path == \"$W_MNT/unknown\"" >/dev/null
w_log "unknown allowed and logged in MONITOR: ok"

w_expect_denied "$W_MNT/blocked"
line=$(w_log_wait ".decision == \"DENY\" and .path == \"$W_MNT/blocked\"")
echo "$line" | jq -e '.reason == "rule" and .rule.type == "BINARY" and .rule.policy == "BLOCKLIST" and (has("silent") | not)' >/dev/null ||
	w_fail "blocklist log line: $line"
w_log "BLOCKLIST denied in MONITOR: ok"

w_expect_denied "$W_MNT/silent"
w_log_wait ".decision == \"DENY\" and .path == \"$W_MNT/silent\" and .silent == true and .rule.policy == \"SILENT_BLOCKLIST\"" >/dev/null
w_log "SILENT_BLOCKLIST denied in MONITOR, marked silent: ok"

w_expect_allowed "$W_MNT/allowed"
sleep 0.3
if jq -e "select(.path == \"$W_MNT/allowed\")" "$W_EVLOG" >/dev/null 2>&1; then
	w_fail "an allow by rule was logged without EventLogAllows"
fi
w_stop_agent

# With EventLogAllows the allow by rule is logged too (config file, reload path).
echo '{"EventLogAllows": true, "ClientMode": "MONITOR"}' >"$W_WORK/warden.conf"
w_prog "$W_MNT/allowed2" allowed2
w_start_agent --config "$W_WORK/warden.conf"
w_allow_sha "$(w_sha "$W_MNT/allowed2")"
w_expect_allowed "$W_MNT/allowed2"
w_log_wait ".decision == \"ALLOW\" and .reason == \"rule\" and .path == \"$W_MNT/allowed2\"" >/dev/null
w_log "EventLogAllows logs allows by rule: ok"

# reload switches the mode from the config file; caches are flushed. (The agent also
# sees the change by itself, agent_profiles.sh; the reload command must work either way.)
w_expect_allowed "$W_MNT/unknown"
echo '{"ClientMode": "LOCKDOWN"}' >"$W_WORK/warden.conf"
w_ctl_ok '{"cmd":"reload"}' >/dev/null
[ "$(w_status '.mode')" = LOCKDOWN ] || w_fail "reload did not switch the mode"
w_expect_denied "$W_MNT/unknown"
w_log "reload into LOCKDOWN flushes the cached MONITOR allow: ok"
echo ok
