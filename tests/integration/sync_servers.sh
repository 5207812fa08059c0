#!/bin/bash
# Fleet sync against the behaviours of the real servers: Moroz (/v1/santa/, zlib
# bodies), Rudolph (opaque string cursors), Zentral (bearer secret, UUID machine id,
# serial number), an XSRF server (403, then the token round trip); 500s retried with
# backoff; a wrong server certificate refused; mutual TLS; only root, AdminGroup or
# SyncUser may hand wardend rules.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sync_lib.sh"

w_setup
s_require
s_pki a
s_pki b
ROOTS="\"ServerAuthRootsFile\": \"$W_WORK/pki/a-ca.pem\""
UUID=6b7e1c1e-9d0a-4a62-9f49-2a8f0c3b1d55

s_state '{"generate": 2500, "page_size": 1000}'
s_server moroz a
s_conf "\"SyncBaseURL\": \"https://127.0.0.1:$S_PORT/v1/santa\", $ROOTS, \"MachineID\": \"moroz-1\""
w_start_agent --config "$W_WORK/warden.conf"

w_log "Moroz: paths under /v1/santa/, zlib bodies, every rule in one page"
s_sync_ok
[ "$(s_synced_rules)" = 2500 ] || w_fail "moroz: $(s_synced_rules) rules"
[ "$(s_requests ruledownload)" = 1 ] || w_fail "moroz: one page expected"
[ "$(jq -r 'select(.stage == "preflight") | .path' "$W_WORK/srv-requests.jsonl")" = /v1/santa/preflight/moroz-1 ] ||
	w_fail "moroz path"
[ "$(jq -r '.encoding' "$W_WORK/srv-requests.jsonl" | sort -u)" = deflate ] || w_fail "a body was not compressed"

restart() { # restart FLAVOR [server args]: the server, same port, fresh logs
	s_server_stop
	rm -f "$W_WORK/srv-requests.jsonl"
	s_server "$@"
}

w_log "Rudolph: opaque string cursors sent back as given"
restart rudolph a
s_conf "\"SyncBaseURL\": \"https://127.0.0.1:$S_PORT\", $ROOTS, \"MachineID\": \"rudolph-1\""
w_ctl_ok '{"cmd":"reload"}' >/dev/null
s_state '{"generate": 2600, "page_size": 1000, "sync_type": "clean"}'
s_sync_ok
[ "$(s_synced_rules)" = 2600 ] || w_fail "rudolph: $(s_synced_rules) rules"
cursors=$(jq -r 'select(.stage == "ruledownload") | .cursor' "$W_WORK/srv-requests.jsonl" | tr '\n' ' ')
[[ "$cursors" == "null ey"*" ey"* ]] || w_fail "rudolph cursors: $cursors"

w_log "Zentral: the bearer secret, a UUID machine id, a serial number"
restart zentral a --secret s3cret
s_state '{"generate": 10, "page_size": 4, "sync_type": "clean"}'
s_conf "\"SyncBaseURL\": \"https://127.0.0.1:$S_PORT\", $ROOTS, \"MachineID\": \"$UUID\""
w_ctl_ok '{"cmd":"reload"}' >/dev/null
s_sync && w_fail "zentral without the secret succeeded"
[[ "$W_OUT" == *"403"* ]] || w_fail "zentral without secret: $W_OUT"
s_conf "\"SyncBaseURL\": \"https://127.0.0.1:$S_PORT\", $ROOTS, \"MachineID\": \"not-a-uuid\", \"SyncExtraHeaders\": {\"Authorization\": \"Bearer s3cret\"}"
w_ctl_ok '{"cmd":"reload"}' >/dev/null
s_sync && w_fail "zentral with a non-UUID machine id succeeded"
[[ "$W_OUT" == *"HTTP 400"* ]] || w_fail "zentral bad id: $W_OUT"
s_conf "\"SyncBaseURL\": \"https://127.0.0.1:$S_PORT\", $ROOTS, \"MachineID\": \"$UUID\", \"SyncExtraHeaders\": {\"Authorization\": \"Bearer s3cret\"}"
w_ctl_ok '{"cmd":"reload"}' >/dev/null
s_sync_ok
[ "$(s_synced_rules)" = 10 ] || w_fail "zentral: $(s_synced_rules) rules"
jq -s -e 'map(select(.stage == "preflight" and .status == 200)) | length > 0 and all(.request.serial_num | length > 0)' "$W_WORK/srv-requests.jsonl" >/dev/null ||
	w_fail "no serial_num in preflight: $(cat "$W_WORK/srv-requests.jsonl")"
w_log "...and the bearer secret is not shown to other users"
out=$(printf '%s\n' '{"cmd":"config"}' | setpriv --reuid nobody --regid nogroup --clear-groups socat -t 5 - "UNIX-CONNECT:$W_SOCK")
echo "$out" | jq -e '.ok == true' >/dev/null || w_fail "config as nobody: $out"
[[ "$out" != *s3cret* ]] || w_fail "the bearer secret leaks through config: $out"
w_ctl '{"cmd":"config"}' | grep -q 's3cret' || w_fail "root does not see the configured header"

w_log "XSRF: 403, the token round trip, then the request again with the token"
restart xsrf a
s_conf "\"SyncBaseURL\": \"https://127.0.0.1:$S_PORT\", $ROOTS, \"MachineID\": \"xsrf-1\""
w_ctl_ok '{"cmd":"reload"}' >/dev/null
s_state '{"generate": 3, "sync_type": "clean"}'
s_sync_ok
[ "$(s_requests preflight 403)" = 1 ] && [ "$(s_requests xsrf)" = 1 ] || w_fail "no XSRF round trip"
[ "$(jq -r 'select(.stage == "postflight") | .xsrf' "$W_WORK/srv-requests.jsonl")" != null ] || w_fail "token not kept"

w_log "500s are retried with backoff"
restart santa a
s_conf "\"SyncBaseURL\": \"https://127.0.0.1:$S_PORT\", $ROOTS, \"MachineID\": \"retry-1\""
w_ctl_ok '{"cmd":"reload"}' >/dev/null
s_state '{"generate": 5, "sync_type": "clean", "fail": {"preflight": 2, "ruledownload": 1}}'
s_sync_ok --retries 3
[ "$(s_requests preflight 500)" = 2 ] && [ "$(s_requests preflight)" = 1 ] || w_fail "preflight retries"
[ "$(s_synced_rules)" = 5 ] || w_fail "after retries: $(s_synced_rules)"
w_log "...and when they do not stop, nothing changes"
gen=$(w_status .rules.generation)
s_state '{"generate": 7, "sync_type": "clean", "status": {"ruledownload": 503}}'
s_sync && w_fail "sync with 503s succeeded"
[[ "$W_OUT" == *"HTTP 503"*"no more retries"* ]] || w_fail "503: $W_OUT"
[ "$(w_status .rules.generation)" = "$gen" ] || w_fail "the store changed"

w_log "a server certificate from another CA is refused, with or without pinned roots"
restart santa b
s_state '{"generate": 9, "sync_type": "clean", "client_mode": "LOCKDOWN"}'
s_sync && w_fail "wrong certificate accepted"
[[ "$W_OUT" == *preflight*"FAILED"*"certificate"* ]] || w_fail "wrong certificate: $W_OUT"
s_conf "\"SyncBaseURL\": \"https://127.0.0.1:$S_PORT\", \"MachineID\": \"retry-1\""
w_ctl_ok '{"cmd":"reload"}' >/dev/null
s_sync && w_fail "an unknown CA accepted by the system roots"
[ "$(s_requests preflight)" = 0 ] || w_fail "a request reached the impostor"
[ "$(w_status .mode)" = MONITOR ] && [ "$(w_status .rules.generation)" = "$gen" ] || w_fail "the impostor changed something"

w_log "mutual TLS: the client certificate is sent; without it the server refuses"
restart santa a --client-ca "$W_WORK/pki/b-ca.pem"
s_conf "\"SyncBaseURL\": \"https://127.0.0.1:$S_PORT\", $ROOTS, \"MachineID\": \"mtls-1\""
w_ctl_ok '{"cmd":"reload"}' >/dev/null
s_sync && w_fail "mutual TLS without a client certificate succeeded"
s_conf "\"SyncBaseURL\": \"https://127.0.0.1:$S_PORT\", $ROOTS, \"MachineID\": \"mtls-1\", \"ClientAuthCertificateFile\": \"$W_WORK/pki/b-srv.pem\", \"ClientAuthKeyFile\": \"$W_WORK/pki/b-srv.key\""
w_ctl_ok '{"cmd":"reload"}' >/dev/null
s_state '{"generate": 4, "sync_type": "clean"}'
s_sync_ok
[ "$(s_synced_rules)" = 4 ] || w_fail "mtls: $(s_synced_rules)"

w_log "a user who is not SyncUser may not hand wardend rules"
id nobody >/dev/null 2>&1 || w_skip "no user nobody"
out=$(setpriv --reuid nobody --regid nogroup --clear-groups "$WARDEN_BUILD/warden-sync" --once --socket "$W_SOCK" --retries 0 2>&1) &&
	w_fail "nobody synced: $out"
[[ "$out" == *"SyncUser"* ]] || w_fail "refusal does not name SyncUser: $out"
w_log "...SyncUser may (unprivileged)"
s_conf "\"SyncBaseURL\": \"https://127.0.0.1:$S_PORT\", $ROOTS, \"MachineID\": \"mtls-1\", \"ClientAuthCertificateFile\": \"$W_WORK/pki/b-srv.pem\", \"ClientAuthKeyFile\": \"$W_WORK/pki/b-srv.key\", \"SyncUser\": \"nobody\""
w_ctl_ok '{"cmd":"reload"}' >/dev/null
s_state '{"generate": 6, "sync_type": "clean"}'
out=$(setpriv --reuid nobody --regid nogroup --clear-groups "$WARDEN_BUILD/warden-sync" --once --socket "$W_SOCK" --retries 0 2>&1) ||
	w_fail "SyncUser could not sync: $out"
[ "$(s_synced_rules)" = 6 ] || w_fail "SyncUser's sync: $(s_synced_rules)"
w_log "...but not add a local rule"
out=$(printf '%s\n' '{"cmd":"rule-add","type":"TEAMID","policy":"ALLOWLIST","identifier":"EQHXZ8M8AV"}' |
	setpriv --reuid nobody --regid nogroup --clear-groups socat -t 5 - "UNIX-CONNECT:$W_SOCK")
echo "$out" | jq -e '.ok == false' >/dev/null || w_fail "SyncUser added a local rule: $out"
echo "ok: sync servers"
