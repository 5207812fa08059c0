#!/usr/bin/env bash
# Rules live in the store: a change made by another process (wardenctl rule, writing the
# store directly) takes effect within 1 s, also for a file the kernel had cached; rules
# survive a restart of the agent.
. "$(dirname "$0")/lib.sh"
w_setup
w_prog "$W_MNT/a" a
w_prog "$W_MNT/b" b
w_prog "$W_MNT/unknown" unknown
w_start_agent --mode lockdown
CTL=$WARDEN_BUILD/wardenctl

# within 1 s: poll the exec every 50 ms; an expectation that never comes true fails
within_1s() {
	local want=$1 file=$2 start=$(date +%s%N) rc
	while :; do
		rc=0; w_exec "$file" || rc=$?
		[ "$want" = allowed ] && [ "$rc" = 0 ] && break
		[ "$want" = denied ] && [ "$rc" = 126 ] && break
		[ $(( ($(date +%s%N) - start) / 1000000 )) -lt 1000 ] || w_fail "$file not $want within 1 s"
		sleep 0.05
	done
	echo $(( ($(date +%s%N) - start) / 1000000 ))
}

w_expect_denied "$W_MNT/a"
env -u WARDEN_SOCKET "$CTL" rule --allow --path "$W_MNT/a" --db "$W_DB" >/dev/null || w_fail "wardenctl rule --allow"
ms=$(within_1s allowed "$W_MNT/a")
w_log "rule added by another process took effect in ${ms} ms: ok"
w_expect_allowed "$W_MNT/a"           # now in the kernel cache
env -u WARDEN_SOCKET "$CTL" rule --remove --path "$W_MNT/a" --db "$W_DB" >/dev/null || w_fail "wardenctl rule --remove"
ms=$(within_1s denied "$W_MNT/a")
w_log "rule removed: kernel-cached allow revoked in ${ms} ms: ok"

# wardenctl rule pokes the agent through the socket when it can: no wait at all
WARDEN_SOCKET=$W_SOCK "$CTL" rule --allow --path "$W_MNT/b" --db "$W_DB" >/dev/null || w_fail "wardenctl rule"
w_expect_allowed "$W_MNT/b"
w_log "rule added with the agent notified: immediate: ok"

env -u WARDEN_SOCKET "$CTL" rule --allow --path "$W_MNT/a" --db "$W_DB" >/dev/null
w_stop_agent
w_start_agent --mode lockdown
[ "$(w_status '.rules.total')" = 2 ] || w_fail "rules after restart: $(w_status '.rules.total')"
w_expect_allowed "$W_MNT/a"
w_expect_allowed "$W_MNT/b"
w_expect_denied "$W_MNT/unknown"
w_log "restart keeps rules: ok"
echo ok
