#!/usr/bin/env bash
# SIGKILL of the agent in the middle of an exec storm leaves no process stuck: the
# kernel allows pending permission events when the group's last descriptor closes.
# Also: SIGTERM during a storm stops cleanly (exit 0) with nothing stuck.
. "$(dirname "$0")/lib.sh"
w_setup
mkdir "$W_MNT/p"
for i in $(seq 40); do w_prog "$W_MNT/p/$i" "storm-$i"; done

storm() {   # 6 loops exec'ing the 40 programs for $1 seconds each; pids in STORM
	STORM=
	for j in $(seq 6); do
		timeout -k 1 "$(( $1 + 10 ))" bash -c '
			end=$((SECONDS + '"$1"'))
			while [ $SECONDS -lt $end ]; do
				for f in '"$W_MNT"'/p/*; do "$f" 2>/dev/null; done
			done' &
		STORM="$STORM $!"
	done
	W_EXTRA_PIDS="$W_EXTRA_PIDS $STORM"
}

check_storm() {   # every loop must end by itself (exit 0), none killed by its timeout
	for p in $STORM; do
		wait "$p"; rc=$?
		[ "$rc" = 0 ] || w_fail "storm loop $p ended with $rc (stuck exec killed by timeout?)"
	done
	# Only this test's processes: other agents may run on the machine (their tmpfs,
	# their waits). A process blocked in execve still has its caller's command line,
	# which names this test's mount.
	stuck=0
	for w in $(grep -l fanotify /proc/[0-9]*/wchan 2>/dev/null); do
		tr '\0' ' ' <"${w%/wchan}/cmdline" 2>/dev/null | grep -qF "$W_MNT" && stuck=$((stuck + 1))
	done
	[ "$stuck" = 0 ] || w_fail "$stuck processes still wait in fanotify"
}

# user-space only (no kernel cache), so that every exec goes through the agent
w_start_agent --mode monitor --no-kernel-cache --no-cache
storm 4
for _ in $(seq 50); do
	ev=$(w_status '.events')
	[ "$ev" -ge 30 ] && break
	sleep 0.1
done
[ "$ev" -ge 30 ] || w_fail "storm did not reach the agent ($ev events)"
kill -KILL "$W_PID"
wait "$W_PID" 2>/dev/null
W_PID=
check_storm
w_log "SIGKILL after $ev events: every exec completed, nothing stuck: ok"

w_start_agent --mode monitor --no-kernel-cache --no-cache
storm 3
sleep 1
w_stop_agent
[ "$W_AGENT_STATUS" = 0 ] || w_fail "SIGTERM during a storm: exit $W_AGENT_STATUS"
check_storm
w_log "SIGTERM during a storm: clean exit, nothing stuck: ok"
echo ok
