#!/usr/bin/env bash
# Allowed by a rule, unknown denied with EPERM in LOCKDOWN, and the event log says so.
. "$(dirname "$0")/lib.sh"
w_setup
w_prog "$W_MNT/good" good
w_prog "$W_MNT/unknown" unknown
w_start_agent --mode lockdown
w_allow_sha "$(w_sha "$W_MNT/good")"

w_expect_allowed "$W_MNT/good"
w_log "allowed by a BINARY rule: ok"
w_expect_denied "$W_MNT/unknown"
w_log "unknown denied in LOCKDOWN: ok ($W_OUT)"
line=$(w_log_wait ".decision == \"DENY\" and .path == \"$W_MNT/unknown\"")
echo "$line" | jq -e --arg sha "$(w_sha "$W_MNT/unknown")" \
	'.reason == "unknown" and .mode == "LOCKDOWN" and .sha256 == $sha and (.pid > 0) and (.latency_us >= 0) and (.uid == 0) and ((.caller_argv // .argv) | type == "array")' >/dev/null ||
	w_fail "event log line lacks fields: $line"
w_log "event log line: ok"
# A second exec of the denied program is answered from the user-space cache.
w_expect_denied "$W_MNT/unknown"
[ "$(w_status '.cache.hits')" -ge 1 ] || w_fail "no cache hit on the second denied exec"
[ "$(w_status '.decisions.DENY.unknown')" -ge 2 ] || w_fail "decision counters"
# SIGHUP reopens the event log (logrotate moved it away).
mv "$W_EVLOG" "$W_EVLOG.1"
kill -HUP "$W_PID"
for _ in $(seq 40); do [ -e "$W_EVLOG" ] && break; sleep 0.05; done
[ -e "$W_EVLOG" ] || w_fail "SIGHUP did not reopen the event log"
w_prog "$W_MNT/unknown2" unknown2
w_expect_denied "$W_MNT/unknown2"
w_log_wait ".path == \"$W_MNT/unknown2\"" >/dev/null
grep -q unknown2 "$W_EVLOG.1" && w_fail "logged to the rotated file"
w_log "SIGHUP reopens the event log: ok"
w_stop_agent
[ "$W_AGENT_STATUS" = 0 ] || w_fail "wardend exit status $W_AGENT_STATUS after SIGTERM"
# With the agent gone, nothing is enforced.
w_expect_allowed "$W_MNT/unknown"

# Without --foreground it detaches (diagnostics to syslog) and still enforces.
# (--no-ground: as every test agent, never the BPF ground for the whole machine.)
rm -f "$W_SOCK"
"$WARDEN_BUILD/$W_WARDEND" --no-ground --mode lockdown --watch "$W_MNT" --db "$W_DB" --socket "$W_SOCK" \
	--event-log "$W_EVLOG" </dev/null || w_fail "detached start failed"
for _ in $(seq 100); do [ -S "$W_SOCK" ] && w_ctl '{"cmd":"status"}' | grep -q '"ok":true' && break; sleep 0.05; done
dpid=$(w_status '.pid')
[ -n "$dpid" ] && [ "$dpid" != null ] || w_fail "detached agent not answering"
W_EXTRA_PIDS="$W_EXTRA_PIDS $dpid"
[ "$(ps -o ppid= -p "$dpid" | tr -d ' ')" != "$$" ] || w_fail "not detached"
w_expect_denied "$W_MNT/unknown"
kill -TERM "$dpid"
# gone, or a zombie waiting for init to reap it (its parent is no longer us)
alive() { [ -e "/proc/$1" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }
for _ in $(seq 50); do alive "$dpid" || break; sleep 0.1; done
alive "$dpid" && w_fail "detached agent did not stop on SIGTERM"
[ -e "$W_SOCK" ] && w_fail "socket left behind"
w_log "detached mode: ok"
echo "ok"
