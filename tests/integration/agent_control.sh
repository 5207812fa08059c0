#!/usr/bin/env bash
# The control socket: any user may ask status; rule changes, reload and flush-cache
# are refused to an unprivileged user (whatever the request claims); malformed,
# oversized and slow requests get an error and never hurt the agent.
. "$(dirname "$0")/lib.sh"
w_setup
w_start_agent --mode monitor
cp "$WARDEN_BUILD/wardenctl" "$W_WORK/wardenctl"   # reachable by an unprivileged user
NOBODY="setpriv --reuid=65534 --regid=65534 --clear-groups"

# status, as root and as nobody, through wardenctl
"$W_WORK/wardenctl" status --socket "$W_SOCK" --json | jq -e '.ok and .mode == "MONITOR"' >/dev/null ||
	w_fail "wardenctl status --json"
$NOBODY "$W_WORK/wardenctl" status --socket "$W_SOCK" | grep -q "Mode .*| MONITOR" ||
	w_fail "status refused to an unprivileged user"
w_log "status for root and nobody: ok"

# privileged commands refused to nobody, even with a forged uid in the request
sha=$(printf 'x' | sha256sum | cut -d' ' -f1)
for req in \
	"{\"cmd\":\"rule-add\",\"type\":\"BINARY\",\"policy\":\"ALLOWLIST\",\"identifier\":\"$sha\"}" \
	"{\"cmd\":\"rule-add\",\"uid\":0,\"peer\":{\"uid\":0},\"type\":\"BINARY\",\"policy\":\"ALLOWLIST\",\"identifier\":\"$sha\"}" \
	'{"cmd":"reload"}' '{"cmd":"flush-cache"}' '{"cmd":"rules-changed"}' \
	"{\"cmd\":\"rule-remove\",\"type\":\"BINARY\",\"identifier\":\"$sha\"}"; do
	r=$(printf '%s\n' "$req" | $NOBODY socat -t 5 - "UNIX-CONNECT:$W_SOCK")
	echo "$r" | jq -e '.ok == false and .code == "permission denied"' >/dev/null ||
		w_fail "unprivileged $req -> $r"
done
[ "$(w_status '.rules.total')" = 0 ] || w_fail "a refused rule-add changed the rules"
w_ctl_ok "{\"cmd\":\"rule-add\",\"type\":\"BINARY\",\"policy\":\"ALLOWLIST\",\"identifier\":\"$sha\"}" >/dev/null
[ "$(w_status '.rules.total')" = 1 ] || w_fail "root rule-add did not apply"
w_ctl_ok '{"cmd":"flush-cache"}' >/dev/null
w_log "privileged commands: root only: ok"

# malformed requests: an error reply each, connection and agent fine
expect_code() {
	local r
	r=$(printf '%s\n' "$1" | socat -t 5 - "UNIX-CONNECT:$W_SOCK")
	echo "$r" | jq -e --arg c "$2" '.ok == false and .code == $c' >/dev/null ||
		w_fail "request '$1' -> '$r' (wanted code $2)"
}
expect_code 'not json' malformed
expect_code '[1,2,3]' malformed
expect_code '{"cmd":5}' malformed
expect_code '{"nocmd":true}' malformed
expect_code '{"cmd":"status","cmd":"reload"}' malformed
expect_code '{"cmd":"no-such-command"}' "not found"
expect_code '{"cmd":"check"}' invalid
expect_code '{"cmd":"check","sha256":"zz"}' invalid
expect_code "{\"cmd\":\"rule-add\",\"type\":\"NOPE\",\"policy\":\"ALLOWLIST\",\"identifier\":\"$sha\"}" invalid
expect_code '{"cmd":"rule-add","type":"BINARY","policy":"ALLOWLIST","identifier":"abc"}' invalid
r=$(printf '{"cmd":"st\0atus"}\n' | socat -t 5 - "UNIX-CONNECT:$W_SOCK")
echo "$r" | jq -e '.ok == false' >/dev/null || w_fail "NUL in request -> $r"
# several requests on one connection, answered in order
r=$(printf '{"cmd":"status","id":1}\nbad\n{"cmd":"check","sha256":"%s","id":3}\n' "$sha" |
	socat -t 5 - "UNIX-CONNECT:$W_SOCK" | jq -s -c '[.[] | .ok]')
[ "$r" = "[true,false,true]" ] || w_fail "pipelined requests -> $r"
w_log "malformed requests: ok"

# oversized: a line over the 64 KiB limit, with and without a newline
big=$(head -c 70000 /dev/zero | tr '\0' 'a')
r=$(printf '{"cmd":"status","pad":"%s"}\n' "$big" | socat -t 5 - "UNIX-CONNECT:$W_SOCK")
echo "$r" | jq -e '.ok == false and .code == "limit exceeded"' >/dev/null || w_fail "oversized line -> $r"
r=$(printf '%s' "$big" | socat -t 5 - "UNIX-CONNECT:$W_SOCK")
echo "$r" | jq -e '.ok == false and .code == "limit exceeded"' >/dev/null || w_fail "oversized, no newline -> $r"
w_log "oversized requests refused: ok"

# too many clients: the extra one is told to come back; then all is well again
pids=
for i in $(seq 32); do
	# a request every 2 s keeps each holder within the 5 s read timeout
	(for _ in $(seq 8); do echo '{"cmd":"check","team_id":"EQHXZ8M8AV"}'; sleep 2; done) |
		socat -t 2 - "UNIX-CONNECT:$W_SOCK" >/dev/null 2>&1 &
	pids="$pids $!"
done
W_EXTRA_PIDS="$W_EXTRA_PIDS $pids"
# The sentinel: all 32 accepted by the agent (the server ends of its socket, as ss shows
# them), however long 32 shells take to start on a loaded machine.
held=0
for _ in $(seq 300); do
	held=$(ss -xH state established src "$W_SOCK" 2>/dev/null | wc -l)
	[ "$held" -ge 32 ] && break
	sleep 0.1
done
[ "$held" -ge 32 ] || w_fail "only $held of 32 holders connected"
# Now a request must be refused (until then, while a holder may still be accepted, a
# request is served).
busy=
for _ in $(seq 50); do
	r=$(printf '{"cmd":"status"}\n' | socat -t 5 - "UNIX-CONNECT:$W_SOCK")
	echo "$r" | jq -e '.ok == false and .code == "busy"' >/dev/null && { busy=1; break; }
	echo "$r" | jq -e '.ok == true' >/dev/null || w_fail "request while clients connect -> $r"
	sleep 0.2
done
[ -n "$busy" ] || w_fail "a 33rd client was never refused"
for p in $pids; do kill "$p" 2>/dev/null; done
wait $pids 2>/dev/null
sleep 0.2
w_status '.ok' | grep -q true || w_fail "agent unusable after the client flood"
w_log "client limit: ok"

# a client that never finishes its line is cut off after the read timeout (5 s)
start=$(date +%s)
out=$( { printf '{"cmd":"sta'; sleep 6.5; } | socat -t 0.5 - "UNIX-CONNECT:$W_SOCK" 2>/dev/null |
	{ read -r line; echo "$(date +%s) $line"; } )
took=$(( ${out%% *} - start )); r=${out#* }
echo "$r" | jq -e '.ok == false and .code == "timed out"' >/dev/null || w_fail "slow client -> $r"
[ "$took" -ge 4 ] && [ "$took" -le 6 ] || w_fail "slow client cut off after ${took}s, not ~5s"
w_log "read timeout: ok"

kill -0 "$W_PID" || w_fail "agent died"
echo ok
