#!/usr/bin/env bash
# make demo: a real wardend in LOCKDOWN, enforcing on a private tmpfs and nothing else.
# Shows a program allowed by a rule, an unknown one denied, an allowed one denied after
# it was modified, and an administrator approving an exception with wardenctl.
# Unattended, a few seconds; cleans up (agent, mount, files) on every exit path.
# Every step's outcome is checked: the demo exits non-zero (saying which step, on
# stderr) when one is not what it shows. A clean run writes nothing to stderr
# (tests/integration/demo.sh holds it to that).
set -u -o pipefail
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
die() { echo "demo: $*" >&2; exit 1; }
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
ready=
for _ in $(seq 200); do
	"$CTL" status >/dev/null 2>&1 && { ready=1; break; }
	kill -0 "$AGENT" 2>/dev/null || { cat "$WORK/wardend.log" >&2; AGENT=; die "wardend exited at start"; }
	sleep 0.05
done
[ -n "$ready" ] || { cat "$WORK/wardend.log" >&2; die "wardend did not answer on its control socket within 10 s"; }
grep -q '^wardend: ready: LOCKDOWN' "$WORK/wardend.log" || { cat "$WORK/wardend.log" >&2; die "wardend is not ready in LOCKDOWN"; }
# The agent also says that warden's own files (binaries, config, store, log), being
# outside the watched tmpfs, are not protected by file access: true, and one line here.
own=$(grep -c '^wardend: file access: .* is on no filesystem given with --watch: not enforced$' "$WORK/wardend.log")
grep -v '^wardend: file access: .* is on no filesystem given with --watch: not enforced$' "$WORK/wardend.log" | sed 's/^/  /'
[ "$own" = 0 ] || echo "  ($own lines: warden's own files are outside the watched tmpfs, so file access does not protect them in this demo)"

step "Copy two programs in: 'approved-tool' and 'unknown-tool' (copies of echo)"
for p in approved-tool unknown-tool; do
	cp /usr/bin/echo "$MNT/$p" && printf 'warden-demo:%s' "$p" >>"$MNT/$p" && chmod 0755 "$MNT/$p" ||
		die "cannot copy /usr/bin/echo to $MNT/$p"
done
show "wardenctl rule --allow --path approved-tool --comment 'vetted by IT'"
"$CTL" rule --allow --path "$MNT/approved-tool" --comment "vetted by IT" </dev/null | sed 's/^/  /' ||
	die "wardenctl rule --allow failed"

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
	die "the request was refused: $req"
id=$(printf '%s' "$req" | jq -er '.request.id // .id') || die "no request id in: $req"
echo "  filed request $id"
show "(as user nobody) wardenctl approve $id    # refused: users cannot approve"
setpriv --reuid=65534 --regid=65534 --clear-groups "$CTL" approve "$id" </dev/null 2>&1 | sed 's/^/  /' &&
	die "user nobody approved their own request"
show "wardenctl approve $id --expires 1h --comment 'ticket 42'"
"$CTL" approve "$id" --expires 1h --comment "ticket 42" </dev/null | sed 's/^/  /' || die "wardenctl approve failed"
run allow "$MNT/unknown-tool" "hello from unknown-tool, now approved"

step "wardenctl status"
"$CTL" status </dev/null | sed 's/^/  /' || die "wardenctl status failed"
"$CTL" status --json </dev/null | jq -e '.mode == "LOCKDOWN"' >/dev/null || die "status does not say LOCKDOWN"

step "The event log ($WORK/events.jsonl): one JSON line per decision and per exception change"
# What the steps above must have logged: the decisions in order, the exception changes
# in order (the two kinds are submitted by different threads: their interleaving is not
# part of the contract). The log's thread writes after the answer: wait for the last
# line, up to 5 s.
expect='{"exec": [["ALLOW","approved-tool"],["DENY","unknown-tool"],["DENY","approved-tool"],["ALLOW","unknown-tool"]],
         "exception": [["request","unknown-tool"],["approve",null]]}'
summary='group_by(.kind) | map({key: .[0].kind, value: map([(.decision // .action),
         (.path // null | if . then sub(".*/"; "") else . end)])}) | from_entries'
for _ in $(seq 100); do
	[ "$(wc -l <"$WORK/events.jsonl" 2>/dev/null)" -ge 6 ] 2>/dev/null && break
	sleep 0.05
done
jq -c 'if .kind == "exception"
       then {time, kind, action, request_id, uid, who} +
            (if .path then {path: (.path | sub(".*/"; "")), reason} else {rule_id, expires_at, comment} end)
       else {time, kind, decision, reason, rule: (.rule.policy // null), path: (.path | sub(".*/"; "")),
             sha256: .sha256[0:16], pid, uid}
       end' "$WORK/events.jsonl" | sed 's/^/  /' || die "the event log is not JSON lines"
jq -se --argjson want "$expect" "$summary == \$want" "$WORK/events.jsonl" >/dev/null ||
	die "the event log is not what the steps did: $(jq -sc "$summary" "$WORK/events.jsonl")"
step "Done: stopping wardend, unmounting the tmpfs"
