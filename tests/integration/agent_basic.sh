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
	'.reason == "unknown" and .mode == "LOCKDOWN" and .sha256 == $sha and (.pid > 0) and (.latency_us >= 0) and (.uid == 0) and (.argv | type == "array")' >/dev/null ||
	w_fail "event log line lacks fields: $line"
w_log "event log line: ok"
# A second exec of the denied program is answered from the user-space cache.
w_expect_denied "$W_MNT/unknown"
[ "$(w_status '.cache.hits')" -ge 1 ] || w_fail "no cache hit on the second denied exec"
[ "$(w_status '.decisions.DENY.unknown')" -ge 2 ] || w_fail "decision counters"
w_stop_agent
[ "$W_AGENT_STATUS" = 0 ] || w_fail "wardend exit status $W_AGENT_STATUS after SIGTERM"
# With the agent gone, nothing is enforced.
w_expect_allowed "$W_MNT/unknown"
echo "ok"
