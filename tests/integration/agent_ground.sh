#!/usr/bin/env bash
# The ground under fanotify (docs/threat-model.md, "Filesystems the agent never
# marked"): an unprivileged user's own tmpfs in a user namespace and a memfd program
# are out of fanotify's reach. The BPF ground runs and logs them in MONITOR, and stops
# them in LOCKDOWN (EPERM with the LSM hook; killed before running with the tracepoint
# fallback on kernels that refuse BPF LSM programs). It is scoped to the test's user
# (--ground-uid): nothing else on the machine is ever denied, and it is gone with the
# agent.
. "$(dirname "$0")/lib.sh"
w_setup
command -v bpftool >/dev/null || w_fail "bpftool missing (make deps)"
command -v setpriv >/dev/null || w_fail "setpriv missing (util-linux)"
w_add_user g
AS_USER=(setpriv --reuid "$W_UID" --regid "$(id -g "$W_USER")" --clear-groups --)
"${AS_USER[@]}" unshare -Urm true 2>/dev/null ||
	w_skip "unprivileged user namespaces are off here (the sysctl closes that hole)"
mkdir -m 0755 "$W_WORK/umnt"
cp /usr/bin/echo "$W_WORK/prog" && chmod 0755 "$W_WORK/prog"
cc -O2 -Wall -Werror -o "$W_WORK/memfd_exec" "$(dirname "$0")/../tools/memfd_exec.c" || w_fail "cc memfd_exec"
chmod 0755 "$W_WORK/memfd_exec"

ground_progs() { bpftool prog show -j 2>/dev/null | jq -r '.[] | select(.name | startswith("ward_ground")) | .id' | sort; }
before=$(ground_progs)

# The user mounts a tmpfs in their own user and mount namespaces and runs a copied
# program from it; prints MARK-$1 when the program ran.
userns_run() {
	w_exec "${AS_USER[@]}" unshare -Urm sh -c 'mount -t tmpfs none "$1" && cp "$2" "$1/p" && exec "$1/p" "$3"' \
		sh "$W_WORK/umnt" "$W_WORK/prog" "MARK-$1"
}
memfd_run() { w_exec "${AS_USER[@]}" "$W_WORK/memfd_exec" "$W_WORK/prog" "MARK-$1"; }

# Stopped: the program's output is absent, and the exec failed with EPERM (LSM hook)
# or the process was killed by SIGKILL before it ran (tracepoint fallback).
expect_stopped() {
	local what=$1 rc=0
	shift
	"$@" || rc=$?
	[[ "$W_OUT" != *MARK-* ]] || w_fail "$what ran under LOCKDOWN: $W_OUT"
	case $HOOK in
	lsm) [ "$rc" = 126 ] && [[ "$W_OUT" == *"Operation not permitted"* ]] ||
		w_fail "$what: expected EPERM, exit $rc: $W_OUT" ;;
	*) [ "$rc" = 137 ] || w_fail "$what: expected SIGKILL (137), exit $rc: $W_OUT" ;;
	esac
}

echo '{"ClientMode": "MONITOR"}' >"$W_WORK/warden.conf"
W_GROUND_UID=$W_UID w_start_agent --config "$W_WORK/warden.conf"
state=$(w_status .ground.state)
if [ "$state" != active ]; then
	w_status .ground.warning | grep -q "vm.memfd_noexec=2" || w_fail "ground $state without a warning in status"
	w_skip "bpf ground $state here: $(w_status .ground.reason)"
fi
HOOK=$(w_status .ground.hook)
ours=$(comm -13 <(echo "$before") <(ground_progs))
[ -n "$ours" ] || w_fail "no ward_ground program loaded while the agent runs"
w_log "ground active: hook $HOOK, program id(s) $ours"

# MONITOR: both run, and each is logged.
userns_run monitor || w_fail "user-namespace program did not run in MONITOR: $W_OUT"
[[ "$W_OUT" == *MARK-monitor* ]] || w_fail "no output in MONITOR: $W_OUT"
w_log_wait ".reason == \"unseen_filesystem\" and .decision == \"ALLOW\" and .mode == \"MONITOR\" and .uid == $W_UID and (.path | endswith(\"/p\"))" >/dev/null
w_log "user-namespace tmpfs program runs and is logged in MONITOR: ok"
memfd_run monitor || w_fail "memfd program did not run in MONITOR: $W_OUT"
[[ "$W_OUT" == *MARK-monitor* ]] || w_fail "no output in MONITOR: $W_OUT"
w_log_wait ".reason == \"unseen_filesystem\" and .decision == \"ALLOW\" and .uid == $W_UID and (.detail | test(\"memfd\"))" >/dev/null
w_log "memfd program runs and is logged in MONITOR: ok"

# LOCKDOWN through a reload: the ground follows every published policy.
echo '{"ClientMode": "LOCKDOWN"}' >"$W_WORK/warden.conf"
w_ctl_ok '{"cmd":"reload"}' >/dev/null
[ "$(w_status .mode)" = LOCKDOWN ] || w_fail "reload did not switch to LOCKDOWN"
expect_stopped "user-namespace tmpfs program" userns_run lockdown
w_log_wait ".reason == \"unseen_filesystem\" and .decision == \"DENY\" and .uid == $W_UID and (.path | endswith(\"/p\"))" >/dev/null
w_log "user-namespace tmpfs program stopped in LOCKDOWN: ok ($W_OUT)"
expect_stopped "memfd program" memfd_run lockdown
w_log_wait ".reason == \"unseen_filesystem\" and .decision == \"DENY\" and .uid == $W_UID and (.detail | test(\"memfd\"))" >/dev/null
w_log "memfd program stopped in LOCKDOWN: ok ($W_OUT)"
# The user's own mount namespace holds copies of every mount: a filesystem mark (the
# default) covers them, so an unknown program on a marked filesystem stays denied.
w_prog "$W_MNT/unknown" ground-unknown
w_expect_denied "${AS_USER[@]}" unshare -Urm "$W_MNT/unknown"
w_log "unknown program on a marked filesystem, run through a user-namespace copy of its mount, denied: ok"
[ "$(w_status .ground.counters.denied)" -ge 2 ] || w_fail "ground counters: $(w_status .ground.counters)"

# Scope: root's memfd program and the user's ordinary programs are not the ground's.
w_exec "$W_WORK/memfd_exec" "$W_WORK/prog" MARK-root || w_fail "root's memfd program (outside the scope) stopped: $W_OUT"
w_exec "${AS_USER[@]}" /usr/bin/echo ordinary || w_fail "the user's ordinary program stopped: $W_OUT"
w_log "outside the scope nothing is decided: ok"

# Gone with the agent: SIGKILL, no clean-up code runs, the kernel detaches it.
kill -KILL "$W_PID"
wait "$W_PID" 2>/dev/null
W_PID=
for id in $ours; do
	for _ in $(seq 100); do bpftool prog show id "$id" >/dev/null 2>&1 || break; sleep 0.05; done
	bpftool prog show id "$id" >/dev/null 2>&1 && w_fail "ground program $id still loaded after SIGKILL"
done
userns_run after || w_fail "user-namespace program stopped after the agent died: $W_OUT"
w_log "SIGKILL of the agent detaches and unloads the ground: ok"
echo "agent_ground: ok"
