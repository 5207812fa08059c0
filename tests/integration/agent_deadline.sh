#!/usr/bin/env bash
# The deadline keeper answers when a decision is late. What makes it late here is real:
# a 256 MiB executable takes far longer to hash (SHA-256, ~1.7 GB/s at best) than a
# 20 ms DecisionBudgetMs. FailClosed false: the fallback allows, even in LOCKDOWN;
# FailClosed true: it denies. The worker's late verdict still lands in the cache and
# the log, so the next exec of the file gets the real verdict.
. "$(dirname "$0")/lib.sh"
W_TMPFS_SIZE=700m
w_setup
big() { w_prog "$1" "$2"; head -c $((256 << 20)) /dev/zero >>"$1"; }
big "$W_MNT/big1" big1
big "$W_MNT/big2" big2
w_prog "$W_MNT/small" small

printf '{"ClientMode":"LOCKDOWN","DecisionBudgetMs":20,"FailClosed":false}\n' >"$W_WORK/warden.conf"
w_start_agent --config "$W_WORK/warden.conf"
w_expect_allowed "$W_MNT/big1"
line=$(w_log_wait ".path == \"$W_MNT/big1\" and .reason == \"deadline\"")
echo "$line" | jq -e '.decision == "ALLOW" and .latency_us >= 20000 and .latency_us < 2000000' >/dev/null ||
	w_fail "deadline line: $line"
w_log "late decision answered by the keeper (allow, FailClosed false) after $(echo "$line" | jq .latency_us) us: ok"
late=$(w_log_wait ".path == \"$W_MNT/big1\" and .reason == \"unknown\" and (.detail | test(\"late verdict\"))")
echo "$late" | jq -e '.decision == "DENY"' >/dev/null || w_fail "late verdict: $late"
w_expect_denied "$W_MNT/big1"
w_log "the late verdict (DENY) was logged and cached: the next exec is denied: ok"
[ "$(w_status '.deadline.misses')" -ge 1 ] || w_fail "deadline misses not counted"
[ "$(w_status '.deadline.late_verdicts')" -ge 1 ] || w_fail "late verdicts not counted"
w_expect_denied "$W_MNT/small"
w_log "a small unknown program is still decided in time (denied): ok"
w_stop_agent

printf '{"ClientMode":"LOCKDOWN","DecisionBudgetMs":20,"FailClosed":true}\n' >"$W_WORK/warden.conf"
w_start_agent --config "$W_WORK/warden.conf"
w_expect_denied "$W_MNT/big2"
w_log_wait ".path == \"$W_MNT/big2\" and .reason == \"deadline\" and .decision == \"DENY\"" >/dev/null
w_log "FailClosed true: the keeper denies: ok"
echo ok
