#!/usr/bin/env bash
# Attack (issue 12, item 2): borrowed privilege by pid reuse. An unprivileged user
# connects to the control socket from a child process that then exits, keeps the
# connection, and waits until that pid belongs to a member of ApproverGroup (the test
# forces the reuse with /proc/sys/kernel/ns_last_pid). The user then sends "approve" for
# their own request over the old connection. The agent must judge the connection by
# the credentials captured at accept (SO_PEERCRED + SO_PEERGROUPS): refused. Old code
# read /proc/<pid>/status when the command arrived and approved.
. "$(dirname "$0")/lib.sh"
w_setup
command -v useradd >/dev/null || w_skip "no useradd"
[ -x /usr/bin/python3 ] || w_skip "no /usr/bin/python3"
[ -w /proc/sys/kernel/ns_last_pid ] || w_skip "cannot steer pid allocation (ns_last_pid)"

A=wpra$$ B=wprb$$ G=wprg$$
made=
pr_cleanup() {
	local rc=$?
	for p in $W_EXTRA_PIDS; do kill -KILL "$p" 2>/dev/null; done
	for p in $W_EXTRA_PIDS; do wait "$p" 2>/dev/null; done # userdel refuses a user with processes
	case $made in *B*) userdel "$B" 2>/dev/null;; esac
	case $made in *A*) userdel "$A" 2>/dev/null;; esac
	case $made in *G*) groupdel "$G" 2>/dev/null;; esac
	(exit $rc)
	w_cleanup
}
trap pr_cleanup EXIT
groupadd "$G" || w_fail "groupadd"; made="$made G"
useradd --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin --user-group "$A" || w_fail "useradd $A"; made="$made A"
useradd --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin --user-group -G "$G" "$B" || w_fail "useradd $B"; made="$made B"
uida=$(id -u "$A") gida=$(id -g "$A") uidb=$(id -u "$B") gidb=$(id -g "$B") gg=$(getent group "$G" | cut -d: -f3)

cat >"$W_WORK/warden.conf" <<EOF2
{"ClientMode": "LOCKDOWN", "ExceptionPolicy": {"ApproverGroup": "$G"}}
EOF2
w_start_agent --config "$W_WORK/warden.conf"
prog=$W_MNT/mine
w_prog "$prog" pid-reuse
AS_A="setpriv --reuid=$uida --regid=$gida --clear-groups --"
r=$(printf '%s\n' "{\"cmd\":\"request\",\"path\":\"$prog\",\"reason\":\"pid reuse\"}" |
	$AS_A socat -t 15 - "UNIX-CONNECT:$W_SOCK")
id=$(echo "$r" | jq -r '.request.id')
[ "$id" != null ] && [ -n "$id" ] || w_fail "request as $A: $r"

# The attacker: a child connects and exits; the parent keeps the socket, prints the
# child's pid, waits for "go" on stdin, then approves its own request.
cat >"$W_WORK/attacker.py" <<'PY'
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
pid = os.fork()
if pid == 0:
    s.connect(sys.argv[1]); os._exit(0)
os.waitpid(pid, 0)
print(pid, flush=True)
sys.stdin.readline()
s.sendall(('{"cmd":"approve","id":%s}\n' % sys.argv[2]).encode())
s.settimeout(20)
buf = b""
while not buf.endswith(b"\n"):
    d = s.recv(4096)
    if not d: break
    buf += d
print(buf.decode().strip(), flush=True)
PY
chmod 0644 "$W_WORK/attacker.py"
coproc ATT { exec $AS_A /usr/bin/python3 "$W_WORK/attacker.py" "$W_SOCK" "$id"; }
W_EXTRA_PIDS="$W_EXTRA_PIDS $ATT_PID"
read -r -t 10 cpid <&"${ATT[0]}" || w_fail "attacker did not start"
# Give the dead child's pid to a process of B (a member of the approver group).
got=
for _ in $(seq 200); do
	echo $((cpid - 1)) >/proc/sys/kernel/ns_last_pid
	setpriv --reuid="$uidb" --regid="$gidb" --groups="$gg" -- sleep 60 &
	p=$!
	if [ "$p" = "$cpid" ]; then got=1; W_EXTRA_PIDS="$W_EXTRA_PIDS $p"; break; fi
	kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null
done
[ -n "$got" ] || w_skip "could not get pid $cpid reused (busy machine)"
# setpriv sets the groups after the fork: wait for it (and for sleep's exec)
for _ in $(seq 100); do
	grep -q "^Groups:.*\b$gg\b" "/proc/$cpid/status" && [ "$(cat /proc/$cpid/comm)" = sleep ] && break
	sleep 0.02
done
grep -q "^Groups:.*\b$gg\b" "/proc/$cpid/status" || w_fail "pid $cpid is not in $G: $(grep Groups /proc/$cpid/status)"
w_log "pid $cpid (connected as $A, exited) now belongs to $B, a member of $G"
echo go >&"${ATT[1]}"
read -r -t 25 reply <&"${ATT[0]}" || w_fail "no reply to the approval"
echo "$reply" | jq -e '.ok == false and .code == "permission denied"' >/dev/null ||
	w_fail "approval over a connection whose pid was reused: $reply"
st=$(w_ctl "{\"cmd\":\"request-status\",\"id\":$id}" | jq -r '.request.state')
[ "$st" = pending ] || w_fail "request $id is $st"
w_expect_denied setpriv --reuid="$uida" --regid="$gida" --clear-groups -- "$prog"
w_log "the approval was refused (credentials of the connection, not of the pid): ok"
