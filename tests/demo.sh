#!/usr/bin/env bash
# make demo: a real wardend in LOCKDOWN, enforcing on a private tmpfs and nothing else.
# Shows a program allowed by a rule, an unknown one denied, an allowed one denied after
# it was modified, and an administrator approving an exception with wardenctl.
# Unattended, a few seconds; cleans up (agent, mount, files) on every exit path.
set -u
build=${1:-build}
BUILD=$(cd "$build" 2>/dev/null && pwd) || { echo "demo: no build dir $build (run make)" >&2; exit 1; }
if [ "$(id -u)" != 0 ]; then
	echo "make demo needs root: wardend uses fanotify permission events (CAP_SYS_ADMIN)" >&2
	exit 1
fi
for t in jq; do command -v $t >/dev/null || { echo "demo: $t missing (make deps)" >&2; exit 1; }; done

WORK= MNT= AGENT=
cleanup() {
	local rc=$?
	trap - EXIT INT TERM HUP
	if [ -n "$AGENT" ]; then
		kill -TERM "$AGENT" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$AGENT" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$AGENT" 2>/dev/null
		wait "$AGENT" 2>/dev/null
	fi
	[ -n "$MNT" ] && { umount "$MNT" 2>/dev/null || umount -l "$MNT"; }
	[ -n "$WORK" ] && rm -rf "$WORK"
	exit $rc
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

WORK=$(mktemp -d -p /run warden-demo.XXXXXX)
chmod 0755 "$WORK"
mkdir "$WORK/mnt"
mount -t tmpfs -o size=16m,mode=0755 warden-demo "$WORK/mnt" || { echo "demo: cannot mount a tmpfs" >&2; exit 1; }
MNT=$WORK/mnt
export WARDEN_SOCKET=$WORK/control.sock WARDEN_DB=$WORK/rules.db
CTL=$BUILD/wardenctl
B= N=
[ -t 1 ] && { B=$(tput bold 2>/dev/null || true); N=$(tput sgr0 2>/dev/null || true); }
step() { printf '\n%s==> %s%s\n' "$B" "$*" "$N"; }
show() { printf '$ %s\n' "$*"; }
run() {   # run EXPECT PROGRAM ARGS...: run it the way a user would, from a shell; show
          # what the shell says; the demo fails if the outcome is not EXPECT (allow|deny)
	local expect=$1; shift
	show "$*"
	bash -c '"$@"' bash "$@" 2>&1 | sed "s|$MNT/||g; s|^bash: line 1: |bash: |"
	local rc=${PIPESTATUS[0]} got=deny
	[ "$rc" = 0 ] && got=allow
	[ "$got" = allow ] && echo "  (exit 0: allowed)" || echo "  (exit $rc: denied)"
	[ "$got" = "$expect" ] || { echo "demo: expected $expect, got $got" >&2; exit 1; }
}

step "Start wardend in LOCKDOWN, watching only a private tmpfs ($MNT)"
# --no-ground: the BPF ground would decide memfd and user-namespace programs of every
# user on this machine, not only the demo's.
echo '{"ClientMode": "LOCKDOWN", "EventLogAllows": true}' >"$WORK/warden.conf"
show "cat warden.conf"; sed 's/^/  /' "$WORK/warden.conf"
show "wardend --foreground --no-ground --config warden.conf --watch $MNT --db ... --socket ... --event-log ..."
"$BUILD/wardend" --foreground --no-ground --config "$WORK/warden.conf" --watch "$MNT" --db "$WARDEN_DB" \
	--socket "$WARDEN_SOCKET" --event-log "$WORK/events.jsonl" </dev/null 2>"$WORK/wardend.log" &
AGENT=$!
for _ in $(seq 100); do
	"$CTL" status >/dev/null 2>&1 && break
	kill -0 "$AGENT" 2>/dev/null || { cat "$WORK/wardend.log" >&2; AGENT=; exit 1; }
	sleep 0.05
done
sed 's/^/  /' "$WORK/wardend.log"

step "Copy two programs in: 'approved-tool' and 'unknown-tool' (copies of echo)"
for p in approved-tool unknown-tool; do
	cp /usr/bin/echo "$MNT/$p" && printf 'warden-demo:%s' "$p" >>"$MNT/$p" && chmod 0755 "$MNT/$p"
done
show "wardenctl rule --allow --path approved-tool --comment 'vetted by IT'"
"$CTL" rule --allow --path "$MNT/approved-tool" --comment "vetted by IT" </dev/null | sed 's/^/  /'

step "1. A program a rule allows runs"
run allow "$MNT/approved-tool" "hello from approved-tool"

step "2. A program no rule names is denied (execve fails with EPERM)"
run deny "$MNT/unknown-tool" "hello from unknown-tool"

step "3. The allowed program, modified in place (one byte), is denied: its SHA-256 changed"
size=$(stat -c %s "$MNT/approved-tool")
show "printf X | dd of=approved-tool bs=1 seek=$((size - 1)) conv=notrunc"
printf 'X' | dd of="$MNT/approved-tool" bs=1 seek=$((size - 1)) conv=notrunc status=none
run deny "$MNT/approved-tool" "hello again"

step "4. A user asks for an exception for unknown-tool; the administrator approves it"
show "(as user nobody) wardenctl request unknown-tool --reason 'needed for the build'"
req=$(setpriv --reuid=65534 --regid=65534 --clear-groups \
	"$CTL" request "$MNT/unknown-tool" --reason "needed for the build" --json </dev/null) ||
	{ echo "demo: the request was refused: $req" >&2; exit 1; }
id=$(printf '%s' "$req" | jq -r '.request.id // .id')
echo "  filed request $id"
show "(as user nobody) wardenctl approve $id    # refused: users cannot approve"
setpriv --reuid=65534 --regid=65534 --clear-groups "$CTL" approve "$id" </dev/null 2>&1 | sed 's/^/  /'
show "wardenctl approve $id --expires 1h --comment 'ticket 42'"
"$CTL" approve "$id" --expires 1h --comment "ticket 42" </dev/null | sed 's/^/  /'
run allow "$MNT/unknown-tool" "hello from unknown-tool, now approved"

step "wardenctl status"
"$CTL" status </dev/null | sed 's/^/  /'

step "The event log ($WORK/events.jsonl): one JSON line per decision"
sleep 0.2
jq -c '{time, decision, reason, rule: (.rule.policy // null), path: (.path | sub(".*/"; "")), sha256: .sha256[0:16], pid, uid, argv}' \
	"$WORK/events.jsonl" | sed 's/^/  /'
step "Done: stopping wardend, unmounting the tmpfs"
