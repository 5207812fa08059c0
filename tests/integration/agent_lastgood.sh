#!/usr/bin/env bash
# The last good configuration: a broken profile never leaves a machine without an
# agent. wardend runs LOCKDOWN from a profile and saves what it loaded next to its
# store; it is stopped, the profile is broken (malformed XML), and it starts again:
# it runs (no exit 2, no crash loop), still LOCKDOWN (an unknown exec is denied with
# EPERM), the managed rules of the last sync are kept, status shows the fallback and
# the file:line error; once the profile is fixed the normal reload takes over.
. "$(dirname "$0")/lib.sh"
w_setup
REPO=$(cd "$(dirname "$0")/../.." && pwd)
P=$W_WORK/profiles
CONF=$W_WORK/warden.conf
SNAP=$W_WORK/last-good-config.json
mkdir -m 0755 "$P"
w_prog "$W_MNT/unknown" unknown
w_prog "$W_MNT/tool" tool
TOOL_SHA=$(w_sha "$W_MNT/tool")

wait_for() { # WHAT CMD...: poll for at most 3 s
	local what=$1
	shift
	for _ in $(seq 60); do "$@" && return 0; sleep 0.05; done
	w_fail "$what: not within 3 s"
}
in_fallback() { [ "$(w_status '.configuration.fallback')" = true ]; }
not_fallback() { [ "$(w_status '.configuration.fallback == false and .configuration.last_error == null')" = true ]; }

printf '{"ClientMode": "MONITOR"}\n' >"$CONF"
cp "$REPO/profiles/examples/lockdown-engineering.mobileconfig" "$P/20-lockdown.mobileconfig"
cat >"$P/30-allow-tool.plist" <<EOF2
<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0">
<dict>
	<key>StaticRules</key>
	<array>
		<dict>
			<key>rule_type</key> <string>BINARY</string>
			<key>identifier</key> <string>$TOOL_SHA</string>
			<key>policy</key> <string>ALLOWLIST</string>
		</dict>
	</array>
</dict>
</plist>
EOF2
chmod 0644 "$P"/*

# --- a good start saves the configuration it put in force
w_start_agent --config "$CONF"
w_expect_denied "$W_MNT/unknown"
w_expect_allowed "$W_MNT/tool"
[ "$(w_status '.configuration.fallback')" = false ] || w_fail "fallback after a good start"
[ -f "$SNAP" ] || w_fail "no $SNAP after a good start"
[ "$(stat -c %a "$SNAP")" = 600 ] || w_fail "$SNAP mode $(stat -c %a "$SNAP"), not 0600"
jq -e '.format == "warden-last-good-config" and .config.ClientMode == "LOCKDOWN" and
	.config.DecisionBudgetMs == 4000' "$SNAP" >/dev/null || w_fail "snapshot: $(jq -c .config "$SNAP")"
w_stop_agent
[ "$W_AGENT_STATUS" = 0 ] || w_fail "wardend exit status $W_AGENT_STATUS"
w_log "good start: LOCKDOWN, snapshot saved (0600): ok"

# --- the profile breaks while the agent is down (the fixture: line 12 is malformed)
cp "$REPO/tests/fixtures/profiles/bad/malformed.mobileconfig" "$P/20-lockdown.mobileconfig"
saved=$(cat "$SNAP")
w_start_agent --config "$CONF"
w_expect_denied "$W_MNT/unknown"
w_expect_allowed "$W_MNT/tool" # the managed rule of the last sync is still in the store
st=$(w_ctl '{"cmd":"status"}')
echo "$st" | jq -e --arg f "$P/20-lockdown.mobileconfig" '
	.mode == "LOCKDOWN" and .configuration.fallback == true and
	(.configuration.fallback_saved_at | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T")) and
	(.configuration.last_error.message | startswith($f + ":12: ")) and
	.configuration.last_error.errors[0].file == $f and .configuration.last_error.errors[0].line == 12 and
	.deadline.budget_ms == 4000' >/dev/null ||
	w_fail "status on the last good configuration: $(echo "$st" | jq -c '{mode, configuration, b: .deadline.budget_ms}')"
[ "$(cat "$SNAP")" = "$saved" ] || w_fail "the snapshot was rewritten by a fallback start"
"$WARDEN_BUILD/wardenctl" status --socket "$W_SOCK" >"$W_WORK/status.txt" || w_fail "wardenctl status"
grep -q "LAST GOOD CONFIGURATION of .*$SNAP" "$W_WORK/status.txt" || w_fail "text status: $(cat "$W_WORK/status.txt")"
grep -q "$P/20-lockdown.mobileconfig:12: " "$W_WORK/status.txt" || w_fail "text status does not name file:line"
grep -q "$P/20-lockdown.mobileconfig:12: " "$W_WORK/wardend.err" || w_fail "the error was not logged with file:line"
grep -q "RUNNING ON THE LAST GOOD CONFIGURATION" "$W_WORK/wardend.err" || w_fail "the fallback was not logged"
"$WARDEN_BUILD/wardenctl" profile show --agent --json --socket "$W_SOCK" >"$W_WORK/show.json" ||
	w_fail "profile show --agent on the last good configuration"
jq -e '.config.ClientMode == "LOCKDOWN" and (.origin.ClientMode | startswith("last good configuration"))' \
	"$W_WORK/show.json" >/dev/null || w_fail "profile show --agent: $(jq -c . "$W_WORK/show.json")"
w_log "broken profile at start: runs on the last good configuration, LOCKDOWN kept (EPERM), status names file:line: ok"

# --- a reload that still fails keeps the fallback; fixing the profile ends it
r=$(w_ctl '{"cmd":"reload"}')
echo "$r" | jq -e '.ok == false' >/dev/null || w_fail "reload with the broken profile: $r"
in_fallback || w_fail "a failed reload cleared the fallback"
w_expect_denied "$W_MNT/unknown"
cp "$REPO/profiles/examples/lockdown-engineering.mobileconfig" "$P/.20.tmp" && chmod 0644 "$P/.20.tmp" &&
	mv "$P/.20.tmp" "$P/20-lockdown.mobileconfig"
wait_for "the fixed profile is loaded" not_fallback
[ "$(w_status '.configuration.fallback_saved_at')" = null ] || w_fail "fallback_saved_at after the fix"
[ "$(w_status '.configuration.sources | length')" = 3 ] || w_fail "sources after the fix: $(w_status '.configuration.sources')"
w_expect_denied "$W_MNT/unknown"
w_expect_allowed "$W_MNT/tool"
w_stop_agent
[ "$W_AGENT_STATUS" = 0 ] || w_fail "wardend exit status $W_AGENT_STATUS"
w_log "profile fixed: the normal reload takes over, fallback cleared: ok"

# --- --mode still overrides the last good configuration
printf '{"ClientMode": 7}\n' >"$CONF"
w_start_agent --config "$CONF" --mode monitor
[ "$(w_status '.mode')" = MONITOR ] || w_fail "--mode monitor on the last good configuration"
in_fallback || w_fail "broken warden.conf: not on the last good configuration"
w_status '.configuration.last_error.message' | grep -q "^$CONF: ClientMode: " ||
	w_fail "warden.conf error: $(w_status '.configuration.last_error.message')"
w_expect_allowed "$W_MNT/unknown"
w_stop_agent
w_log "--mode overrides the last good configuration's mode: ok"

# --- a snapshot others can write is not trusted: exit 2, as with none
chmod 0622 "$SNAP"
rc=0
timeout -k 2 10 "$WARDEN_BUILD/wardend" --foreground --no-ground --watch "$W_MNT" --db "$W_DB" --socket "$W_SOCK" \
	--event-log "$W_EVLOG" --profiles-dir "$P" --config "$CONF" 2>"$W_WORK/start.err" || rc=$?
[ "$rc" = 2 ] || w_fail "wardend with a group-writable snapshot: exit $rc"
grep -q "insecure permissions" "$W_WORK/start.err" || w_fail "start error: $(cat "$W_WORK/start.err")"
w_log "a snapshot others could write: refused, exit 2: ok"
echo ok
