#!/bin/bash
# Fleet sync, events: decisions worth uploading are spooled on disk while the server is
# down (kept across an agent restart), then each is uploaded exactly once, in batches,
# with Santa's field names; a batch the server refused stays spooled; the spool is
# bounded (tested in test_syncspool).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sync_lib.sh"

w_setup
s_require
s_pki a

# A port for the server, then no server on it: "down".
s_server santa a
s_server_stop
w_log "no SyncBaseURL: nothing to upload, nothing spooled"
s_conf "\"ClientMode\": \"MONITOR\""
w_start_agent --config "$W_WORK/warden.conf"
w_prog "$W_MNT/prog0" "prog0"
w_expect_allowed "$W_MNT/prog0"
# the spool hook runs before the log line is written: the line is the sentinel
w_log_wait ".path == \"$W_MNT/prog0\"" >/dev/null
[ "$(w_status .sync.spool.depth)" = 0 ] || w_fail "spooled with no sync server: $(w_status .sync.spool)"
w_stop_agent

s_conf "\"SyncBaseURL\": \"https://127.0.0.1:$S_PORT\", \"ServerAuthRootsFile\": \"$W_WORK/pki/a-ca.pem\", \"MachineID\": \"host-2\", \"ClientMode\": \"MONITOR\""
w_start_agent --config "$W_WORK/warden.conf"

spool_wait() { # spool depth reaches $1
	for _ in $(seq 100); do
		[ "$(w_status .sync.spool.depth)" = "$1" ] && return 0
		sleep 0.05
	done
	w_fail "spool depth $(w_status .sync.spool.depth), expected $1"
}

w_log "unknown programs allowed in MONITOR are spooled"
for i in 1 2 3 4 5; do
	w_prog "$W_MNT/prog$i" "prog$i"
	w_expect_allowed "$W_MNT/prog$i"
done
spool_wait 5

w_log "server down: the sync fails at preflight, the events stay"
s_sync && w_fail "sync with the server down succeeded: $W_OUT"
[[ "$W_OUT" == *preflight*"FAILED"* ]] || w_fail "stage not named: $W_OUT"
[ "$(w_status .sync.spool.depth)" = 5 ] || w_fail "events lost"
[ "$(w_status .sync.last_error.stage)" = preflight ] || w_fail "status: $(w_status .sync.last_error)"
[ "$(w_status .sync.failures)" = 1 ] || w_fail "failures not counted"

w_log "the spool survives an agent restart"
w_stop_agent
w_start_agent --config "$W_WORK/warden.conf"
[ "$(w_status .sync.spool.depth)" = 5 ] || w_fail "spool depth after restart: $(w_status .sync.spool.depth)"

w_log "server back (batches of 2): each event uploaded exactly once"
s_state '{"batch_size": 2}'
s_server santa a
s_sync_ok
[[ "$W_OUT" == *"5 events uploaded"* ]] || w_fail "stage output: $W_OUT"
[ "$(wc -l <"$W_WORK/srv-events.jsonl")" = 5 ] || w_fail "server got $(wc -l <"$W_WORK/srv-events.jsonl") events"
[ "$(jq -r .file_name "$W_WORK/srv-events.jsonl" | sort -u | wc -l)" = 5 ] || w_fail "duplicates uploaded"
[ "$(s_requests eventupload)" = 3 ] || w_fail "expected 3 batches (2+2+1), got $(s_requests eventupload)"
[ "$(w_status .sync.spool.depth)" = 0 ] || w_fail "spool not emptied"
[ "$(w_status .sync.spool.uploaded)" = 5 ] || w_fail "uploaded counter: $(w_status .sync.spool.uploaded)"
w_log "Santa's field names"
ev=$(jq -c 'select(.file_name == "prog3")' "$W_WORK/srv-events.jsonl")
[ "$(echo "$ev" | jq -r .decision)" = ALLOW_UNKNOWN ] || w_fail "decision: $ev"
[ "$(echo "$ev" | jq -r .file_sha256)" = "$(w_sha "$W_MNT/prog3")" ] || w_fail "file_sha256: $ev"
[ "$(echo "$ev" | jq -r .file_path)" = "$W_MNT" ] || w_fail "file_path: $ev"
[ "$(echo "$ev" | jq -r .executing_user)" = root ] || w_fail "executing_user: $ev"
echo "$ev" | jq -e '(.pid | type) == "number" and (.ppid | type) == "number" and (.execution_time | type) == "number" and .parent_name != null' >/dev/null ||
	w_fail "pid/ppid/execution_time/parent_name: $ev"

w_log "a second sync uploads nothing again"
s_sync_ok
[ "$(wc -l <"$W_WORK/srv-events.jsonl")" = 5 ] || w_fail "events uploaded twice"

w_log "a denial is spooled as BLOCK_BINARY; a batch the server refuses stays spooled"
w_prog "$W_MNT/bad" bad
w_ctl_ok "{\"cmd\":\"rule-add\",\"type\":\"BINARY\",\"policy\":\"BLOCKLIST\",\"identifier\":\"$(w_sha "$W_MNT/bad")\"}" >/dev/null
w_expect_denied "$W_MNT/bad"
spool_wait 1
s_state '{"fail": {"eventupload": 100}}'
s_sync && w_fail "sync with eventupload failing succeeded"
[ "$(w_status .sync.last_error.stage)" = eventupload ] || w_fail "status: $(w_status .sync.last_error)"
[ "$(w_status .sync.spool.depth)" = 1 ] || w_fail "a refused event left the spool"
s_state '{}'
s_sync_ok
[ "$(jq -c 'select(.file_name == "bad")' "$W_WORK/srv-events.jsonl" | wc -l)" = 1 ] || w_fail "the denial was not uploaded once"
[ "$(jq -r 'select(.file_name == "bad") | .decision' "$W_WORK/srv-events.jsonl")" = BLOCK_BINARY ] || w_fail "decision of the denial"
[ "$(w_status .sync.spool.depth)" = 0 ] || w_fail "spool not emptied"
w_log "wardenctl sync prints each stage; wardenctl status shows the sync"
out=$("$WARDEN_BUILD/wardenctl" sync --socket "$W_SOCK") || w_fail "wardenctl sync: $out"
for st in preflight eventupload ruledownload apply postflight; do
	[[ "$out" == *"$st"* ]] || w_fail "wardenctl sync did not print $st: $out"
done
"$WARDEN_BUILD/wardenctl" sync --json --socket "$W_SOCK" | jq -e '.ok == true and (.stages | length) == 5' >/dev/null ||
	w_fail "wardenctl sync --json"
out=$("$WARDEN_BUILD/wardenctl" status --socket "$W_SOCK")
[[ "$out" == *"Fleet sync"*"Last success"*"Next run"*"Spool"*"0 waiting"* ]] || w_fail "status: $out"
echo "ok: sync events"
