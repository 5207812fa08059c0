#!/usr/bin/env bash
# Attack (issue 12, item 5): a starved agent. As an unprivileged user:
#   1. `request` for bottomless or huge files (/proc/<pid>/pagemap, a 20 GiB sparse
#      file, one just under the size cap, a FIFO, a device) while root asks `status`
#      (must answer within 2 s) and blocks a running program with `wardenctl rule
#      --block` (must be confirmed, and the next exec denied at once: the confirmation
#      is the sentinel, no sleep);
#   2. hold many control connections: root's `status` still answers within 2 s.
# Old code hashed the requested file on the main thread before the rate limit (status
# timed out, the block was not enforced), and let one user take every connection.
. "$(dirname "$0")/lib.sh"
W_TMPFS_SIZE=32m
w_setup
command -v useradd >/dev/null || w_skip "no useradd"
[ -x /usr/bin/python3 ] || w_skip "no /usr/bin/python3"
U=wstv$$
made=
st_cleanup() {
	local rc=$?
	for p in $W_EXTRA_PIDS; do kill -KILL "$p" 2>/dev/null; done
	for p in $W_EXTRA_PIDS; do wait "$p" 2>/dev/null; done # userdel refuses a user with processes
	[ -n "$made" ] && userdel "$U" 2>/dev/null
	(exit $rc)
	w_cleanup
}
trap st_cleanup EXIT
useradd --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin --user-group "$U" || w_fail "useradd"
made=1
uid=$(id -u "$U") gid=$(id -g "$U")
AS="setpriv --reuid=$uid --regid=$gid --clear-groups --"

cat >"$W_WORK/warden.conf" <<EOF2
{"ClientMode": "LOCKDOWN"}
EOF2
w_start_agent --config "$W_WORK/warden.conf"
cp "$WARDEN_BUILD/wardenctl" "$W_WORK/wardenctl"
export WARDEN_SOCKET=$W_SOCK

# root's status, bounded: fails the test if it takes more than 2 s
root_status() {
	local r
	r=$(printf '{"cmd":"status"}\n' | timeout 2 socat -t 2 - "UNIX-CONNECT:$W_SOCK") ||
		w_fail "root's status did not answer within 2 s ($1)"
	echo "$r" | jq -e '.ok == true' >/dev/null || w_fail "root's status ($1): $r"
}
user_req() { # path -> reply (background-safe: writes $W_WORK/req.$2)
	printf '%s\n' "{\"cmd\":\"request\",\"path\":\"$1\",\"reason\":\"starve\"}" |
		$AS socat -t 30 - "UNIX-CONNECT:$W_SOCK" >"$W_WORK/req.$2" 2>&1
}

# ---- 1. bottomless and huge files
$AS sleep 300 &
victim=$!
W_EXTRA_PIDS="$W_EXTRA_PIDS $victim"
mkdir "$W_WORK/u" && chown "$uid:$gid" "$W_WORK/u"
$AS truncate -s 20G "$W_WORK/u/huge" || w_fail "sparse file"
$AS truncate -s 500M "$W_WORK/u/big" || w_fail "sparse file"
$AS mkfifo "$W_WORK/u/fifo" || w_fail "mkfifo"
user_req "/proc/$victim/pagemap" pagemap & rq1=$!
root_status "a pagemap request in flight"
wait $rq1
user_req "$W_WORK/u/big" big & rq5=$!
root_status "a 500 MiB request in flight"

prog=$W_MNT/victim-prog
w_prog "$prog" starve
w_allow_sha "$(w_sha "$prog")"
w_expect_allowed "$prog"
out=$("$WARDEN_BUILD/wardenctl" rule --db "$W_DB" --block --sha256 "$(w_sha "$prog")" 2>&1) ||
	w_fail "rule --block not confirmed by the agent: $out"
w_expect_denied "$prog"
root_status "after the block"
w_log "status answered and the block took effect while requests were read: ok"

wait $rq5
# one file per user at a time: these go one after another, each refused before any read
user_req "$W_WORK/u/huge" huge
user_req "$W_WORK/u/fifo" fifo
user_req /dev/zero zero
root_status "after the refused requests"
jq -e '.ok == false and (.error | test("procfs"))' "$W_WORK/req.pagemap" >/dev/null ||
	w_fail "pagemap request: $(cat "$W_WORK/req.pagemap")"
jq -e '.ok == false and .code == "limit exceeded"' "$W_WORK/req.huge" >/dev/null ||
	w_fail "20 GiB request: $(cat "$W_WORK/req.huge")"
jq -e '.ok == false and (.error | test("not a regular file"))' "$W_WORK/req.fifo" >/dev/null ||
	w_fail "FIFO request: $(cat "$W_WORK/req.fifo")"
jq -e '.ok == false and (.error | test("not a regular file"))' "$W_WORK/req.zero" >/dev/null ||
	w_fail "/dev/zero request: $(cat "$W_WORK/req.zero")"
# under the cap: read (or refused as busy: one file per user at a time), never a hang
jq -e '.ok == true or .code == "busy" or .code == "timed out"' "$W_WORK/req.big" >/dev/null ||
	w_fail "500 MiB request: $(cat "$W_WORK/req.big")"
w_log "pagemap, 20 GiB, FIFO and device refused; 500 MiB read off the main thread: ok"

# ---- 2. one user holds many connections
cat >"$W_WORK/hold.py" <<'PY'
import socket, sys, time
socks = []
for i in range(int(sys.argv[2])):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(sys.argv[1]); socks.append(s)
    except OSError:
        pass
print(len(socks), flush=True)
time.sleep(60)
PY
chmod 0644 "$W_WORK/hold.py"
coproc HOLD { exec $AS /usr/bin/python3 "$W_WORK/hold.py" "$W_SOCK" 64; }
W_EXTRA_PIDS="$W_EXTRA_PIDS $HOLD_PID"
read -r -t 10 n <&"${HOLD[0]}" || w_fail "holder did not start"
for i in 1 2 3; do root_status "user holds $n connections ($i)"; done
refused=$(w_status '.control.refused')
[ "$refused" -gt 0 ] || w_fail "no connection of the user was refused"
w_log "$U opened $n connections; root's status answered ($refused refused): ok"
