#!/bin/bash
# Fleet sync, rules: a full sync of 100 000 rules in pages reaches the agent (a synced
# BLOCKLIST rule really denies), a mode change from the server reaches the agent, a
# clean sync replaces only the synced rules, REMOVE works, and a truncated or malformed
# page, or warden-sync killed mid-sync, changes nothing.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sync_lib.sh"

w_setup
s_require
s_pki a
w_prog "$W_MNT/blocked" blocked
w_prog "$W_MNT/local" local
w_prog "$W_MNT/unknown" unknown
BLOCKED=$(w_sha "$W_MNT/blocked")
LOCAL=$(w_sha "$W_MNT/local")

s_state '{}'
s_server santa a
s_conf "\"SyncBaseURL\": \"https://127.0.0.1:$S_PORT/\", \"ServerAuthRootsFile\": \"$W_WORK/pki/a-ca.pem\", \"MachineID\": \"host-1\""
w_start_agent --config "$W_WORK/warden.conf"
w_allow_sha "$LOCAL"

w_log "full sync: 100 000 rules in pages of 10 000, one of them blocks a program"
s_state "{\"generate\": 100000, \"page_size\": 10000, \"extra\": [{\"identifier\": \"$BLOCKED\", \"policy\": \"BLOCKLIST\", \"rule_type\": \"BINARY\", \"custom_msg\": \"fleet says no\"}]}"
w_expect_allowed "$W_MNT/blocked"
s_sync_ok
[ "$(s_synced_rules)" = 100001 ] || w_fail "expected 100001 synced rules, got $(s_synced_rules)"
[ "$(s_requests ruledownload)" = 11 ] || w_fail "expected 11 ruledownload pages, got $(s_requests ruledownload)"
[[ "$W_OUT" == *"100001 rules in 11 pages"* ]] || w_fail "stages not printed: $W_OUT"
w_expect_denied "$W_MNT/blocked"
w_expect_allowed "$W_MNT/local"
[ "$(w_status '.sync.last_error')" = null ] || w_fail "last_error after a good sync"
[ "$(w_status '.sync.last_success')" != null ] || w_fail "no last_success"

w_log "postflight reports what was received and the hash wardend computed"
post=$(jq -c 'select(.stage == "postflight")' "$W_WORK/srv-requests.jsonl" | tail -n 1)
[ "$(echo "$post" | jq -r '.request.rules_received')" = 100001 ] || w_fail "postflight: $post"
hash=$(echo "$post" | jq -r '.request.rules_hash')
[ "$hash" = "$(w_ctl '{"cmd":"sync-config"}' | jq -r .rules_hash)" ] || w_fail "rules_hash differs"

w_log "a mode change from the server reaches the agent"
s_state "{\"client_mode\": \"LOCKDOWN\", \"rules\": [{\"identifier\": \"$BLOCKED\", \"policy\": \"BLOCKLIST\", \"rule_type\": \"BINARY\"}]}"
w_expect_allowed "$W_MNT/unknown"
s_sync_ok
[ "$(w_status .mode)" = LOCKDOWN ] || w_fail "mode is $(w_status .mode), expected LOCKDOWN"
[ "$(w_ctl '{"cmd":"config"}' | jq -r '.origin.ClientMode')" = "sync server" ] || w_fail "config does not say who set the mode"
w_expect_denied "$W_MNT/unknown"
w_expect_allowed "$W_MNT/local"
w_log "the server's mode survives an agent restart"
w_stop_agent
w_start_agent --config "$W_WORK/warden.conf"
[ "$(w_status .mode)" = LOCKDOWN ] || w_fail "after restart mode is $(w_status .mode)"
s_state '{"client_mode": "MONITOR", "rules": []}'
s_sync_ok
[ "$(w_status .mode)" = MONITOR ] || w_fail "mode is $(w_status .mode), expected MONITOR"
w_expect_allowed "$W_MNT/unknown"

w_log "clean sync: the synced rules are replaced, the local rule stays"
[ "$(s_synced_rules)" = 100001 ] || w_fail "a normal sync with no rules must keep them: $(s_synced_rules)"
s_state '{"sync_type": "clean", "rules": [{"identifier": "EQHXZ8M8AV", "policy": "ALLOWLIST", "rule_type": "TEAMID"}]}'
s_sync_ok
[ "$(s_synced_rules)" = 1 ] || w_fail "clean sync left $(s_synced_rules) synced rules"
[ "$(w_status .rules.total)" = 2 ] || w_fail "expected the local rule and one synced rule, got $(w_status .rules.total)"
w_expect_allowed "$W_MNT/blocked"
w_expect_allowed "$W_MNT/local"
w_log "wardenctl-style clean request: --clean asks the server (request_clean_sync)"
s_state '{"rules": [{"identifier": "UBF8T346G9", "policy": "ALLOWLIST", "rule_type": "TEAMID"}]}'
s_sync_ok --clean
[ "$(jq -c 'select(.stage == "preflight")' "$W_WORK/srv-requests.jsonl" | tail -n 1 | jq -r .request.request_clean_sync)" = true ] ||
	w_fail "preflight did not carry request_clean_sync"
[ "$(s_synced_rules)" = 1 ] || w_fail "--clean left $(s_synced_rules) synced rules"

w_log "normal sync: REMOVE deletes a synced rule"
s_state '{"rules": [{"identifier": "UBF8T346G9", "policy": "REMOVE", "rule_type": "TEAMID"}]}'
s_sync_ok
[ "$(s_synced_rules)" = 0 ] || w_fail "REMOVE left $(s_synced_rules)"

gen=$(w_status .rules.generation)
w_log "a truncated page changes nothing"
s_state '{"generate": 3000, "page_size": 1000, "truncate_page": 2, "client_mode": "LOCKDOWN"}'
s_sync && w_fail "a truncated page must fail the sync: $W_OUT"
[[ "$W_OUT" == *"ruledownload"*"not valid JSON"* ]] || w_fail "error does not say why: $W_OUT"
[ "$(w_status .rules.generation)" = "$gen" ] || w_fail "the store changed after a failed sync"
[ "$(w_status .mode)" = MONITOR ] || w_fail "the server's mode was applied by a failed sync"
[ "$(w_status '.sync.last_error.stage')" = ruledownload ] || w_fail "status: $(w_status .sync.last_error)"

w_log "a malformed rule changes nothing"
s_state '{"generate": 3000, "page_size": 1000, "malformed_page": 3}'
s_sync && w_fail "a malformed rule must fail the sync: $W_OUT"
[[ "$W_OUT" == *"rules[3000]"* ]] || w_fail "error does not name the rule: $W_OUT"
[ "$(w_status .rules.generation)" = "$gen" ] || w_fail "the store changed after a failed sync"

w_log "warden-sync killed mid-sync leaves the rules as before"
s_state '{"generate": 5000, "page_size": 1000, "block_page": 3}'
"$WARDEN_BUILD/warden-sync" --once --socket "$W_SOCK" --retries 0 >/dev/null 2>&1 &
spid=$!
W_EXTRA_PIDS="$spid $W_EXTRA_PIDS"
for _ in $(seq 200); do
	jq -s -e 'any(.blocked == true)' "$W_WORK/srv-requests.jsonl" >/dev/null 2>&1 && break
	sleep 0.05
done
jq -s -e 'any(.blocked == true)' "$W_WORK/srv-requests.jsonl" >/dev/null || w_fail "page 3 never requested"
kill -KILL "$spid"
wait "$spid" 2>/dev/null
s_state '{"generate": 5000, "page_size": 1000, "release": true}'
[ "$(w_status .rules.generation)" = "$gen" ] || w_fail "the store changed after a killed sync"
[ "$(s_synced_rules)" = 0 ] || w_fail "synced rules after a killed sync: $(s_synced_rules)"
w_log "...and the next sync applies in full"
s_sync_ok
[ "$(s_synced_rules)" = 5000 ] || w_fail "expected 5000 synced rules, got $(s_synced_rules)"

w_log "a killed sync that got as far as staging rules in wardend: never committed"
tok=$(w_ctl_ok '{"cmd":"sync-begin"}' | jq -r .token)
w_ctl_ok "{\"cmd\":\"sync-rules\",\"token\":$tok,\"rules\":[{\"identifier\":\"$LOCAL\",\"policy\":\"BLOCKLIST\",\"rule_type\":\"BINARY\"}]}" >/dev/null
[ "$(w_status .sync.staging)" = true ] || w_fail "nothing staged"
s_sync_ok
w_ctl "{\"cmd\":\"sync-commit\",\"token\":$tok}" | jq -e '.ok == false' >/dev/null || w_fail "a replaced staging committed"
w_expect_allowed "$W_MNT/local"
echo "ok: sync rules"
