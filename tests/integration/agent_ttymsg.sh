#!/usr/bin/env bash
# Telling the user (docs/agent.md): a denied program's terminal gets one line with the
# rule's message (or BannedBlockMessage / the default) and EventDetailURL with Santa's
# placeholders expanded; none for SILENT_BLOCKLIST, with EnableSilentTTYMode, on a
# terminal that is not the user's; one line per terminal per interval; a file name's
# escape sequences never reach the terminal; a file-access denial shows its watch item's
# BlockMessage and EventDetailURL. Each "no line" is checked after the
# writer has counted that denial (status tty_messages), never after a sleep.
. "$(dirname "$0")/lib.sh"
w_setup
PY=/usr/bin/python3 # not a per-user shim: the sessions run as W_USER
[ -x "$PY" ] || w_skip "no /usr/bin/python3"
PTYRUN="$(cd "$(dirname "$0")/.." && pwd)/tools/ptyrun.py"
w_add_user
esc=$'\033'
w_prog "$W_MNT/blocked" blocked
w_prog "$W_MNT/silent" silent
w_prog "$W_MNT/unknown${esc}[31mred" unknown
w_prog "$W_MNT/other" other
chmod 0755 "$W_WORK"
mkdir -p "$W_WORK/profiles" "$W_WORK/s"
chmod 0777 "$W_WORK/s"

# A profile with Santa's keys (a placeholder Santa does not document is kept as is).
prof=$W_WORK/profiles/10-notify.plist
conf() {
	cat >"$prof.tmp" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0">
<dict>
	<key>EventDetailURL</key>
	<string>https://warden.example/blockables/%file_sha%?m=%machine_id%&amp;u=%username%&amp;h=%hostname%&amp;t=%team_id%&amp;x=%not_a_thing%</string>
	<key>MachineID</key>
	<string>test-machine-7</string>
	<key>EventDetailText</key>
	<string>Open &lt;b&gt;the portal&lt;/b&gt;</string>
	<key>UnknownBlockMessage</key>
	<string>Unknown programs need an approval&lt;br /&gt;Ask IT</string>
	<key>EnableSilentTTYMode</key>
	<$1/>
</dict>
</plist>
EOF
	mv "$prof.tmp" "$prof"
}
conf false
out=$("$WARDEN_BUILD/wardenctl" profile validate --json "$prof") || w_fail "validate: $out"
echo "$out" | jq -e '[.files[0].warnings[] | select(.key == "EventDetailURL" and (.message | test("not_a_thing")) and .line == 5)] | length == 1' >/dev/null ||
	w_fail "no warning with the line for an unknown placeholder: $out"
w_log "an unknown placeholder is warned about with its line: ok"

w_start_agent --mode lockdown
w_ctl_ok "{\"cmd\":\"rule-add\",\"type\":\"BINARY\",\"policy\":\"BLOCKLIST\",\"identifier\":\"$(w_sha "$W_MNT/blocked")\",\"custom_msg\":\"Blocked by <b>IT</b> policy &amp; co\"}" >/dev/null
w_ctl_ok "{\"cmd\":\"rule-add\",\"type\":\"BINARY\",\"policy\":\"SILENT_BLOCKLIST\",\"identifier\":\"$(w_sha "$W_MNT/silent")\"}" >/dev/null
w_status '.tty_messages.denials' | grep -qx 0 || w_fail "tty_messages missing from status"

# session NAME [--as-root-pty] SCRIPT: the script runs in sh on a pty of its own, as
# W_USER (the pty is W_USER's; with --as-root-pty it is root's), then waits for
# $W_WORK/s/NAME.done so the terminal stays open until the test has its answer.
sess_pids=
session() {
	local name=$1 drop=() runner=(w_as_user)
	shift
	if [ "$1" = --as-root-pty ]; then
		shift
		runner=()
		drop=(setpriv --reuid "$W_UID" --regid "$(id -g "$W_USER")" --clear-groups --)
	fi
	"${runner[@]}" "$PY" "$PTYRUN" "$W_WORK/s/$name.out" "$W_WORK/s/$name.tty" -- "${drop[@]}" \
		sh -c "$1; while [ ! -e $W_WORK/s/$name.done ]; do sleep 0.05; done" &
	sess_pids="$sess_pids $!"
	W_EXTRA_PIDS="$W_EXTRA_PIDS $!"
	for _ in $(seq 100); do [ -e "$W_WORK/s/$name.tty" ] && return 0; sleep 0.05; done
	w_fail "session $name did not start"
}
# The writer has handled n denials (the sentinel every check below waits for).
wait_denials() {
	for _ in $(seq 100); do
		[ "$(w_status '.tty_messages.denials')" -ge "$1" ] && return 0
		sleep 0.05
	done
	w_fail "the terminal writer handled $(w_status '.tty_messages.denials') denials, not $1: $(w_status '.tty_messages')"
}
finish() {
	for n in "$@"; do touch "$W_WORK/s/$n.done"; done
	for p in $sess_pids; do wait "$p" 2>/dev/null; done
	sess_pids=
}
# The line warden wrote to a session's terminal (CR stripped), or nothing.
wline() { tr -d '\r' <"$W_WORK/s/$1.out" | grep '^warden: ' || true; }

# Three terminals open at once (so each is a different pty): a blocked program twice,
# an unknown program, a silently blocked one.
session a "$W_MNT/blocked; $W_MNT/blocked"
session a2 "$W_MNT/blocked" # from the verdict cache: the rule's texts all the same
session b "'$W_MNT/unknown${esc}[31mred'"
session c "$W_MNT/silent"
wait_denials 5
st=$(w_status '.tty_messages')
echo "$st" | jq -e '.written == 3 and .rate_limited == 1 and .silent_rule == 1 and .refused == 0' >/dev/null ||
	w_fail "counters after 5 denials: $st"
finish a a2 b c
grep -q "Operation not permitted" "$W_WORK/s/a.out" || w_fail "session a: the exec was not denied: $(cat "$W_WORK/s/a.out")"
sha=$(w_sha "$W_MNT/blocked")
want="warden: Blocked by IT policy & co: $W_MNT/blocked. Open the portal: https://warden.example/blockables/$sha?m=test-machine-7&u=$W_USER&h=$(hostname)&t=&x=%not_a_thing%"
got=$(wline a)
[ "$got" = "$want" ] || w_fail "session a: line
  got:  $got
  want: $want"
w_log "the rule's message and the expanded URL on the terminal: ok"
[ "$(wline a | wc -l)" = 1 ] || w_fail "session a: the second denial within the interval was not rate-limited: $(wline a)"
w_log "one line per terminal per interval: ok"
[ "$(jq -c "select(.path == \"$W_MNT/blocked\" and .cached == true)" "$W_EVLOG" | wc -l)" -ge 2 ] ||
	w_fail "the later denials of blocked did not come from the verdict cache"
got=$(wline a2)
[ "$got" = "$want" ] || w_fail "session a2 (a cached denial): line
  got:  $got
  want: $want"
w_log "a denial from the verdict cache shows the rule's message too: ok"
got=$(wline b)
[[ "$got" == "warden: Unknown programs need an approval Ask IT: $W_MNT/unknown?[31mred. Open the portal: https://warden.example/blockables/"* ]] ||
	w_fail "session b: line: $got"
[[ "$got" == *"$esc"* ]] && w_fail "session b: an escape byte of the file name reached the terminal"
w_log "UnknownBlockMessage, HTML made plain, the file name's escape sequence neutralised: ok"
grep -q "Operation not permitted" "$W_WORK/s/c.out" || w_fail "session c: not denied"
[ -z "$(wline c)" ] || w_fail "session c: a SILENT_BLOCKLIST denial wrote a line: $(wline c)"
w_log "SILENT_BLOCKLIST: no line: ok"

# A terminal that is not the denied user's (root's pty, the program run as W_USER, as
# `sudo -u` does): refused.
session d --as-root-pty "$W_MNT/other"
wait_denials 6
st=$(w_status '.tty_messages')
echo "$st" | jq -e '.refused == 1 and .written == 3' >/dev/null || w_fail "counters after a foreign terminal: $st"
finish d
grep -q "Operation not permitted" "$W_WORK/s/d.out" || w_fail "session d: not denied"
[ -z "$(wline d)" ] || w_fail "session d: wrote to a terminal the user does not own: $(wline d)"
w_log "a terminal owned by another user: refused: ok"

# EnableSilentTTYMode, by reload.
conf true
r=$(w_ctl_ok '{"cmd":"reload"}')
[ "$(w_status '.tty_messages.denials')" = 6 ] || w_fail "denials counted twice"
session e "$W_MNT/blocked"
wait_denials 7
st=$(w_status '.tty_messages')
echo "$st" | jq -e '.silent_config == 1 and .written == 3' >/dev/null || w_fail "counters with EnableSilentTTYMode: $st"
finish e
grep -q "Operation not permitted" "$W_WORK/s/e.out" || w_fail "session e: not denied"
[ -z "$(wline e)" ] || w_fail "session e: EnableSilentTTYMode wrote a line: $(wline e)"
w_log "EnableSilentTTYMode: no line: ok"
"$WARDEN_BUILD/wardenctl" status --socket "$W_SOCK" | grep -q "Terminal messages" || w_fail "status text lacks the terminal messages"

# A file-access denial: the watch item's BlockMessage and EventDetailURL; none for an
# item with EnableSilentTTYMode.
conf false
printf 'top secret\n' >"$W_MNT/secret"
printf 'quiet secret\n' >"$W_MNT/quiet"
chmod 0644 "$W_MNT/secret" "$W_MNT/quiet"
jq -n --arg s "$W_MNT/secret" --arg q "$W_MNT/quiet" '{ClientMode: "LOCKDOWN", FileAccessPolicy: {Version: "t",
  WatchItems: {
    Secrets: {Paths: [$s], Options: {AuditOnly: false, BlockMessage: "Secrets live in the vault",
      EventDetailURL: "https://warden.example/faa/%username%"}, Processes: [{BinaryPath: "/nonexistent"}]},
    Quiet: {Paths: [$q], Options: {AuditOnly: false, EnableSilentTTYMode: true},
      Processes: [{BinaryPath: "/nonexistent"}]}}}}' >"$W_WORK/faa.conf"
w_stop_agent
w_start_agent --config "$W_WORK/faa.conf"
session f "cat $W_MNT/secret"
session g "cat $W_MNT/quiet"
wait_denials 2
st=$(w_status '.tty_messages')
echo "$st" | jq -e '.written == 1 and .silent_rule == 1' >/dev/null || w_fail "counters after two file-access denials: $st"
finish f g
grep -q "Operation not permitted" "$W_WORK/s/f.out" || w_fail "session f: the open was not denied: $(cat "$W_WORK/s/f.out")"
want="warden: Secrets live in the vault: $W_MNT/secret. Open the portal: https://warden.example/faa/$W_USER"
got=$(wline f)
[ "$got" = "$want" ] || w_fail "session f: line
  got:  $got
  want: $want"
grep -q "Operation not permitted" "$W_WORK/s/g.out" || w_fail "session g: not denied"
[ -z "$(wline g)" ] || w_fail "session g: EnableSilentTTYMode item wrote a line: $(wline g)"
w_log "file access: the item's BlockMessage and EventDetailURL on the terminal; none with EnableSilentTTYMode: ok"
echo "ok"
