#!/usr/bin/env bash
# Time is not a way in (docs/agent.md "Deadlines"; issue 12, attack 1). In LOCKDOWN a
# decision that runs out of time because of the file itself (too big to hash, slower to
# read than the budget) denies, whatever FailClosed says; FailClosed governs only the
# agent's own failures. On the old agent, an unprivileged user's 256 MiB or 20 GiB
# sparse unknown program ran once the budget was spent (the fallback allowed it).
# SHA-256 is on the decision path only while BINARY rules exist: one is added first.
. "$(dirname "$0")/lib.sh"
W_TMPFS_SIZE=700m
w_setup
big() { w_prog "$1" "$2"; head -c $((256 << 20)) /dev/zero >>"$1"; }
sparse() { w_prog "$1" "$2"; truncate -s 20G "$1"; }
big "$W_MNT/big1" big1
sparse "$W_MNT/huge" huge
for i in 1 2 3 4; do sparse "$W_MNT/storm$i" "storm$i"; done
w_prog "$W_MNT/small" small
w_prog "$W_MNT/allowed" allowed
AS_USER="setpriv --reuid=65534 --regid=65534 --clear-groups"

printf '{"ClientMode":"LOCKDOWN","DecisionBudgetMs":20,"FailClosed":false}\n' >"$W_WORK/warden.conf"
w_start_agent --config "$W_WORK/warden.conf"
w_allow_sha "$(w_sha "$W_MNT/allowed")"
w_expect_allowed "$W_MNT/allowed"

w_expect_denied $AS_USER "$W_MNT/big1"
# two records: the keeper's fallback ("no verdict within") and the worker's late verdict,
# in either order within a millisecond: wait for the worker's, which says why
line=$(w_log_wait ".path == \"$W_MNT/big1\" and .reason == \"deadline\" and (.detail | test(\"ran out of the decision.s time\"))")
echo "$line" | jq -e '.decision == "DENY" and .latency_us < 2000000' >/dev/null || w_fail "deadline line: $line"
w_log "a 256 MiB unknown program, slower to hash than the 20 ms budget: denied (FailClosed false): ok"

w_expect_denied $AS_USER "$W_MNT/huge"
line=$(w_log_wait ".path == \"$W_MNT/huge\" and .reason == \"deadline\"")
echo "$line" | jq -e '.decision == "DENY" and (.detail | test("too big to hash"))' >/dev/null ||
	w_fail "too-big line: $line"
w_log "a 20 GiB sparse unknown program: denied without reading it: ok"

# Four at once, then a small unknown program: nothing the storm does buys an ALLOW.
pids=
for i in 1 2 3 4; do (w_expect_denied $AS_USER "$W_MNT/storm$i") & pids="$pids $!"; done
w_expect_denied $AS_USER "$W_MNT/small"
for p in $pids; do wait "$p" || w_fail "a storm program was not denied"; done
w_expect_allowed "$W_MNT/allowed"
w_log "a storm of huge programs and a small unknown one: all denied; root's allowed program runs: ok"
w_stop_agent

printf '{"ClientMode":"MONITOR","DecisionBudgetMs":20}\n' >"$W_WORK/warden.conf"
w_start_agent --config "$W_WORK/warden.conf"
w_allow_sha "$(w_sha "$W_MNT/allowed")"
w_expect_allowed $AS_USER "$W_MNT/big1"
w_log_wait ".path == \"$W_MNT/big1\" and .reason == \"deadline\" and .decision == \"ALLOW\"" >/dev/null
w_log "MONITOR: the same program runs and is logged: ok"
w_stop_agent

printf '{"ClientMode":"LOCKDOWN","DecisionBudgetMs":20,"FailClosed":true}\n' >"$W_WORK/warden.conf"
w_start_agent --config "$W_WORK/warden.conf"
w_allow_sha "$(w_sha "$W_MNT/allowed")"
pids=
for i in 1 2 3 4; do (w_expect_denied $AS_USER "$W_MNT/storm$i") & pids="$pids $!"; done
w_expect_allowed "$W_MNT/allowed"
for p in $pids; do wait "$p" || w_fail "a storm program was not denied"; done
w_log "FailClosed true: a user's storm does not make root's allowed program fail: ok"
echo ok
