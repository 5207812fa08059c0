#!/usr/bin/env bash
# Attacks (issue 12, item 6), as an unprivileged user against the real agent:
#   - /proc/self/fd/N named in a request resolves inside the agent: the user learned the
#     hash of files the agent holds open (the rule store in a 0700 directory). Refused.
#   - approving a request whose file was changed after the request: the approver is
#     warned that the file on disk no longer has the requested SHA-256.
#   - the rule store deleted under the running agent: status and the log say so, and
#     `wardenctl rule` fails loudly instead of printing "Added".
#   - event-log writes failing (a full filesystem): status and the log say so.
. "$(dirname "$0")/lib.sh"
w_setup
command -v useradd >/dev/null || w_skip "no useradd"
U=wsml$$
made=
sm_cleanup() {
	local rc=$?
	[ -n "$made" ] && userdel "$U" 2>/dev/null
	(exit $rc)
	w_cleanup
}
trap sm_cleanup EXIT
useradd --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin --user-group "$U" || w_fail "useradd"
made=1
uid=$(id -u "$U") gid=$(id -g "$U")
AS="setpriv --reuid=$uid --regid=$gid --clear-groups --"
user_ctl() { printf '%s\n' "$1" | $AS socat -t 15 - "UNIX-CONNECT:$W_SOCK"; }

# the store in a 0700 directory, the event log on a tiny tmpfs we can fill
mkdir -m 0700 "$W_WORK/private"
W_DB=$W_WORK/private/rules.db
w_extra_tmpfs evfs 256k
W_EVLOG=$W_TMPFS/events.jsonl
cat >"$W_WORK/warden.conf" <<EOF2
{"ClientMode": "LOCKDOWN"}
EOF2
w_start_agent --config "$W_WORK/warden.conf"
chmod 0644 "$W_DB"
export WARDEN_SOCKET=$W_SOCK

# ---- /proc/self/fd/N
leaked=
for n in $(seq 0 40); do
	r=$(user_ctl "{\"cmd\":\"request\",\"path\":\"/proc/self/fd/$n\",\"reason\":\"peek\"}")
	if echo "$r" | jq -e '.ok == true' >/dev/null; then leaked="$leaked $n"; fi
	echo "$r" | jq -e '.ok == false' >/dev/null || true
done
[ -z "$leaked" ] || w_fail "requests for /proc/self/fd/{$leaked} were read inside the agent"
r=$(user_ctl '{"cmd":"request","path":"/proc/self/fd/3","reason":"peek"}')
echo "$r" | jq -e '.ok == false' >/dev/null || w_fail "/proc/self/fd/3: $r"
w_log "/proc/self/fd/N: refused for every N: ok"

# ---- approve a request whose file changed since
mkdir "$W_MNT/u" && chown "$uid:$gid" "$W_MNT/u"
prog=$W_MNT/u/tool
$AS cp /usr/bin/true "$prog" && $AS sh -c "printf 'small:%s' $$ >>'$prog'" || w_fail "user's program"
r=$(user_ctl "{\"cmd\":\"request\",\"path\":\"$prog\",\"reason\":\"tool\"}")
id=$(echo "$r" | jq -r '.request.id')
[ "$id" != null ] || w_fail "request: $r"
$AS sh -c "printf 'changed' >>'$prog'"
r=$(w_ctl_ok "{\"cmd\":\"approve\",\"id\":$id}")
echo "$r" | jq -e '.request.state == "approved" and (.warning | test("no longer has the requested SHA-256"))' \
	>/dev/null || w_fail "approve of a changed file: no warning: $r"
w_log "approve warns when the file changed after the request: ok"

# ---- event log on a full filesystem
dd if=/dev/zero of="$W_TMPFS/fill" bs=4k 2>/dev/null
w_prog "$W_MNT/evprog" evprog
# (the log's last page may still have room for a few lines: run until a write fails)
ok=
for _ in $(seq 100); do
	setpriv --reuid="$uid" --regid="$gid" --clear-groups -- "$W_MNT/evprog" 2>/dev/null
	[ "$(w_status '.event_log.last_error')" = "No space left on device" ] && { ok=1; break; }
done
[ -n "$ok" ] || w_fail "status does not report the event log error: $(w_status '.event_log')"
for _ in $(seq 60); do grep -q "event log .*write error" "$W_WORK/wardend.err" && break; sleep 0.05; done
grep -q "event log .*write error.*No space left on device" "$W_WORK/wardend.err" ||
	w_fail "the log does not report the event log error"
rm -f "$W_TMPFS/fill"
w_log "event log write errors: in status and in the log: ok"

# ---- the store replaced, then deleted, under the agent
cp "$W_DB" "$W_DB.new" && mv "$W_DB.new" "$W_DB"
ok=
for _ in $(seq 60); do
	[ "$(w_status '.rules.store_problem')" = replaced ] && { ok=1; break; }
	sleep 0.05
done
[ -n "$ok" ] || w_fail "status does not report the replaced store: $(w_status '.rules')"
grep -q "rule store .* was replaced under the running agent" "$W_WORK/wardend.err" ||
	w_fail "the log does not report the replaced store"
rm -f "$W_DB" "$W_DB-wal" "$W_DB-shm"
ok=
for _ in $(seq 60); do
	[ "$(w_status '.rules.store_problem')" = deleted ] && { ok=1; break; }
	sleep 0.05
done
[ -n "$ok" ] || w_fail "status does not report the deleted store: $(w_status '.rules')"
grep -q "rule store .* was deleted under the running agent" "$W_WORK/wardend.err" ||
	w_fail "the log does not report the deleted store"
rc=0
out=$("$WARDEN_BUILD/wardenctl" rule --db "$W_DB" --block --sha256 "$(w_sha "$W_MNT/evprog")" 2>&1) || rc=$?
[ "$rc" = 1 ] && [[ "$out" == *"did not confirm"*"deleted"* ]] ||
	w_fail "rule --block with the agent's store deleted: exit $rc: $out"
w_log "store replaced, then deleted: status, log, and wardenctl rule fails loudly: ok"
