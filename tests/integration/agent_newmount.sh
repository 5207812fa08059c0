#!/usr/bin/env bash
# New mounts are marked as they appear (every-local-filesystem mode): a tmpfs mounted
# after the agent started gets marked, its unknown program is denied in LOCKDOWN and
# its allowed one runs. With --watch only the listed filesystems are marked.
#
# Safety: "every local filesystem" must never mean the machine's. The agent runs in a
# private mount namespace (unshare -m, propagation slave) with --mount-marks, so its
# marks sit on that namespace's copies of the mounts, which only processes that enter
# it (nsenter) use. A shared bind mount at $W_WORK/pm carries the test's new tmpfs
# into the namespace, as a mount the agent has never seen.
. "$(dirname "$0")/lib.sh"
w_setup
command -v nsenter >/dev/null || w_fail "nsenter missing (util-linux)"
mkdir -m 0755 "$W_WORK/pm"
mount --bind "$W_WORK/pm" "$W_WORK/pm" || w_fail "bind mount"
W_EXTRA_MOUNTS="$W_WORK/pm $W_EXTRA_MOUNTS"
mount --make-shared "$W_WORK/pm" || w_fail "make-shared"

W_WATCH=none W_AGENT_PREFIX="unshare -m --propagation slave --" w_start_agent --mode lockdown --mount-marks
rescans=$(w_status .mount_rescans)

# In the agent's namespace (nsenter itself runs from the host's unmarked mounts).
in_ns() { nsenter -t "$W_PID" -m -- "$@"; }

mkdir -m 0755 "$W_WORK/pm/new"
mount -t tmpfs -o size=8m,mode=0755 warden-test-new "$W_WORK/pm/new" || w_fail "mount new tmpfs"
W_EXTRA_MOUNTS="$W_WORK/pm/new $W_EXTRA_MOUNTS"
# The sentinel: the agent saw the mount table change and marked what appeared.
for _ in $(seq 100); do [ "$(w_status .mount_rescans)" -gt "$rescans" ] && break; sleep 0.05; done
[ "$(w_status .mount_rescans)" -gt "$rescans" ] || w_fail "the agent did not see the new mount"
nsenter -t "$W_PID" -m -- findmnt -n "$W_WORK/pm/new" >/dev/null 2>&1 ||
	w_fail "the new tmpfs did not propagate into the agent's namespace"
w_prog "$W_WORK/pm/new/unknown" newmount-unknown
w_prog "$W_WORK/pm/new/good" newmount-good
w_allow_sha "$(w_sha "$W_WORK/pm/new/good")"

w_expect_denied nsenter -t "$W_PID" -m -- "$W_WORK/pm/new/unknown"
w_log_wait ".decision == \"DENY\" and .path == \"$W_WORK/pm/new/unknown\"" >/dev/null
w_log "unknown program on a tmpfs mounted after start denied: ok ($W_OUT)"
w_expect_allowed nsenter -t "$W_PID" -m -- "$W_WORK/pm/new/good"
w_log "allowed program on it runs: ok"
# The host's own view of the same file is not the agent's business (not marked there).
w_expect_allowed "$W_WORK/pm/new/unknown"
w_log "outside the agent's namespace nothing is marked: ok"
w_stop_agent

# --watch: exactly the listed filesystems; a later mount is not marked.
umount "$W_WORK/pm/new"
mount -t tmpfs -o size=8m,mode=0755 warden-test-new "$W_WORK/pm/new" || w_fail "mount new tmpfs"
W_AGENT_PREFIX="unshare -m --propagation slave --" w_start_agent --mode lockdown --mount-marks \
	--watch "$W_WORK/pm/new"
w_prog "$W_WORK/pm/new/unknown" newmount-unknown2
w_expect_denied nsenter -t "$W_PID" -m -- "$W_WORK/pm/new/unknown"
mkdir -m 0755 "$W_WORK/pm/new/sub"
mount -t tmpfs -o size=8m,mode=0755 warden-test-sub "$W_WORK/pm/new/sub" || w_fail "mount sub tmpfs"
W_EXTRA_MOUNTS="$W_WORK/pm/new/sub $W_EXTRA_MOUNTS"
w_prog "$W_WORK/pm/new/sub/unknown" newmount-sub
[ "$(w_status .mount_rescans)" = 0 ] || w_fail "--watch agent rescans mounts"
w_expect_allowed nsenter -t "$W_PID" -m -- "$W_WORK/pm/new/sub/unknown"
w_log "--watch: a later mount stays unmarked, as documented: ok"
echo "agent_newmount: ok"
