#!/usr/bin/env bash
# Confinement and crash survival (issue 12): threads that parse hostile bytes run under a
# seccomp allowlist (status: confinement); a forbidden system call kills wardend with
# SIGSYS (tests/unit/test_confine.c proves the filter does that). Here: an exec waiting
# on an agent that dies of SIGSYS is released by the kernel; the next start counts the
# unclean exit (status: restarts), a clean stop does not.
. "$(dirname "$0")/lib.sh"
w_setup
w_prog "$W_MNT/known" known
w_start_agent --mode lockdown
w_allow_sha "$(w_sha "$W_MNT/known")"
w_expect_allowed "$W_MNT/known"
[ "$(w_status '.confinement.enabled')" = true ] || w_fail "confinement disabled: $(w_status '.confinement')"
[ "$(w_status '.confinement.failures')" = 0 ] || w_fail "confinement failed: $(w_status '.confinement')"
# every decision worker, the control-line parser and the configuration loader
want=$(( $(w_status '.queue.workers') + 2 ))
[ "$(w_status '.confinement.confined_threads')" -ge "$want" ] ||
	w_fail "fewer than $want confined threads: $(w_status '.confinement')"
[ "$(w_status '.restarts.unclean_exits')" = 0 ] || w_fail "unclean exits at a first start"
w_log "decision workers, control parser and configuration loader confined; no unclean exit yet: ok"

# An exec waits on a stopped agent; the agent then dies of SIGSYS.
w_prog "$W_MNT/waiting" waiting
pid=$W_PID
kill -STOP "$pid"
timeout -k 2 20 "$W_MNT/waiting" & waiter=$!
W_EXTRA_PIDS="$W_EXTRA_PIDS $waiter"
for _ in $(seq 100); do [ -e "/proc/$waiter" ] && grep -q "^State:.*S" "/proc/$waiter/status" && break; sleep 0.02; done
kill -SYS "$pid"
kill -CONT "$pid"
wait "$pid" 2>/dev/null; st=$?
W_PID=
[ "$st" = $((128 + 31)) ] || w_fail "wardend exit status $st, expected death by SIGSYS"
wait "$waiter"; rc=$?
[ "$rc" = 0 ] || w_fail "the waiting exec was not released (exit $rc)"
w_log "agent died of SIGSYS; the waiting exec was released by the kernel: ok"

w_start_agent --mode lockdown
[ "$(w_status '.restarts.unclean_exits')" = 1 ] || w_fail "unclean exit not counted: $(w_status '.restarts')"
[ "$(w_status '.restarts.last_unclean_exit')" != null ] || w_fail "no time of the unclean exit"
grep -q "did not stop cleanly" "$W_WORK/wardend.err" || w_fail "the log does not say the last run crashed"
w_stop_agent
w_start_agent --mode lockdown
[ "$(w_status '.restarts.unclean_exits')" = 1 ] || w_fail "a clean stop was counted: $(w_status '.restarts')"
w_log "the unclean exit is counted once, and kept across a clean restart: ok"
