#!/usr/bin/env bash
# Profiles under a running agent: wardend watches its profiles directory and warden.conf
# and reloads by itself. MONITOR -> a LOCKDOWN .mobileconfig is dropped in -> the unknown
# program is denied; a StaticRules profile allows one binary by SHA-256; a broken profile
# changes nothing (status names file:line, the last good configuration keeps enforcing)
# until it is removed; RequireSignedProfiles refuses an unsigned profile and takes the
# signed example.
. "$(dirname "$0")/lib.sh"
w_setup
REPO=$(cd "$(dirname "$0")/../.." && pwd)
P=$W_WORK/profiles
CONF=$W_WORK/warden.conf
mkdir -m 0755 "$P"
w_prog "$W_MNT/unknown" unknown
w_prog "$W_MNT/tool" tool
TOOL_SHA=$(w_sha "$W_MNT/tool")
ms=0

# Install a profile the way an MDM client does: write a dotfile, rename it into place.
install_profile() { # SRC NAME
	cp "$1" "$P/.$2.tmp" && chmod 0644 "$P/.$2.tmp" && mv "$P/.$2.tmp" "$P/$2" || w_fail "install $2"
}

denied_now() {
	local rc=0
	w_exec "$1" || rc=$?
	[ "$rc" = 126 ] && [[ "$W_OUT" == *"Operation not permitted"* ]]
}
allowed_now() { w_exec "$1"; }

# wait_for WHAT CMD...: poll CMD every 50 ms for at most 3 s; sets ms to the time taken.
wait_for() {
	local what=$1 t0 i
	shift
	t0=$(date +%s%N)
	for i in $(seq 60); do
		if "$@"; then
			ms=$((($(date +%s%N) - t0) / 1000000))
			return 0
		fi
		sleep 0.05
	done
	w_fail "$what: not within 3 s"
}

mode_is() { [ "$(w_status '.mode')" = "$1" ]; }
in_error() { [ "$(w_status '.configuration.last_error != null')" = true ]; }
no_error() { [ "$(w_status '.configuration.last_error == null')" = true ]; }

printf '{"ClientMode": "MONITOR"}\n' >"$CONF"
w_start_agent --config "$CONF"
[ "$(w_status '.configuration.profiles_dir')" = "$P" ] || w_fail "status: profiles_dir"
[ "$(w_status '.configuration.watching')" = true ] || w_fail "status: not watching"
[ "$(w_status '.configuration.sources | map(.file) | join(",")')" = "$CONF" ] || w_fail "status: sources"
w_expect_allowed "$W_MNT/unknown"
w_log "MONITOR from warden.conf: the unknown program runs: ok"

# --- a LOCKDOWN profile (the example from profiles/examples) is dropped in
install_profile "$REPO/profiles/examples/lockdown-engineering.mobileconfig" 20-lockdown.mobileconfig
wait_for "LOCKDOWN profile enforced" denied_now "$W_MNT/unknown"
w_log "LOCKDOWN .mobileconfig dropped in: unknown exec denied (EPERM) after ${ms} ms: ok"
mode_is LOCKDOWN || w_fail "status mode is not LOCKDOWN"
[ "$(w_status '.configuration.sources | map(.file) | join(",")')" = "$CONF,$P/20-lockdown.mobileconfig" ] ||
	w_fail "status sources: $(w_status '.configuration.sources')"
[ "$(w_status '.configuration.loaded_trigger')" = inotify ] || w_fail "loaded_trigger is not inotify"
[ "$(w_status '.deadline.budget_ms')" = 4000 ] || w_fail "DecisionBudgetMs of the profile not in force"
# its TEAMID StaticRules are managed rules in the store
[ "$(w_status '.rules.by_type.TEAMID.ALLOWLIST')" -ge 3 ] || w_fail "the profile's TEAMID rules are not in the index"

# --- a StaticRules profile allows the tool by SHA-256 (written in place, not renamed:
# the agent waits for the writer to finish)
cat >"$P/30-allow-tool.plist" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0">
<dict>
	<key>StaticRules</key>
	<array>
		<dict>
			<key>rule_type</key> <string>BINARY</string>
			<key>identifier</key> <string>$TOOL_SHA</string>
			<key>policy</key> <string>ALLOWLIST</string>
			<key>comment</key> <string>agent_profiles.sh</string>
		</dict>
	</array>
</dict>
</plist>
EOF
wait_for "StaticRules profile enforced" allowed_now "$W_MNT/tool"
w_log "StaticRules BINARY allow profile: the tool runs after ${ms} ms: ok"
w_expect_denied "$W_MNT/unknown"
rule=$(jq -nc --arg sha "$TOOL_SHA" '{cmd:"check", sha256:$sha}')
w_ctl_ok "$rule" | jq -e '.decision == "ALLOW" and .rule.source == "profile"' >/dev/null ||
	w_fail "check: the tool's rule is not a managed (profile) rule: $(w_ctl "$rule")"
# a local rule-remove cannot take a managed rule away
w_ctl "{\"cmd\":\"rule-remove\",\"type\":\"BINARY\",\"identifier\":\"$TOOL_SHA\"}" >/dev/null
w_expect_allowed "$W_MNT/tool"

# --- a broken profile changes nothing
reloads=$(w_status '.configuration.reloads')
cat >"$P/40-broken.mobileconfig" <<'EOF'
<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0">
<dict>
	<key>PayloadType</key>
	<string>Configuration</string>
	<key>PayloadContent</key>
	<array>
		<dict>
			<key>PayloadType</key>
			<string>com.warden.agent</string>
			<key>ClientMode</key>
			<integer>1</integr>
		</dict>
	</array>
</dict>
</plist>
EOF
wait_for "the broken profile shows in status" in_error
st=$(w_ctl '{"cmd":"status"}')
echo "$st" | jq -e --arg f "$P/40-broken.mobileconfig" '
	.configuration.last_error.trigger == "inotify" and
	(.configuration.last_error.message | startswith($f + ":12: ")) and
	(.configuration.last_error.errors[0].file == $f) and (.configuration.last_error.errors[0].line == 12) and
	.configuration.failures >= 1 and .mode == "LOCKDOWN"' >/dev/null ||
	w_fail "status after the broken profile: $(echo "$st" | jq -c .configuration)"
[ "$(w_status '.configuration.reloads')" = "$reloads" ] || w_fail "a failed reload counted as a reload"
"$WARDEN_BUILD/wardenctl" status --socket "$W_SOCK" >"$W_WORK/status.txt" || w_fail "wardenctl status"
grep -q "Last reload .*FAILED" "$W_WORK/status.txt" || w_fail "text status: no FAILED line: $(cat "$W_WORK/status.txt")"
grep -q "$P/40-broken.mobileconfig:12: " "$W_WORK/status.txt" || w_fail "text status does not name file:line"
grep -q "configuration: $P/40-broken.mobileconfig:12: " "$W_WORK/wardend.err" || w_fail "the error was not logged with file:line"
# the last good configuration still enforces: LOCKDOWN, the tool allowed, unknown denied
w_expect_allowed "$W_MNT/tool"
w_expect_denied "$W_MNT/unknown"
mode_is LOCKDOWN || w_fail "the broken profile changed the mode"
# the reload command and SIGHUP report the same error and change nothing
r=$(w_ctl '{"cmd":"reload"}')
echo "$r" | jq -e --arg f "$P/40-broken.mobileconfig:12: " '.ok == false and (.error | startswith($f))' >/dev/null ||
	w_fail "reload command with a broken profile: $r"
kill -HUP "$W_PID"
hup_tried() { [ "$(w_status '.configuration.last_error.trigger')" = SIGHUP ]; }
wait_for "SIGHUP reloads (and fails the same way)" hup_tried
w_expect_denied "$W_MNT/unknown"
w_expect_allowed "$W_MNT/tool"
w_log "broken profile: status names file:line, the previous configuration still enforces: ok"
# profile show --agent: what the agent has in force (the files themselves do not load now)
"$WARDEN_BUILD/wardenctl" profile show --agent --json --socket "$W_SOCK" >"$W_WORK/show.json" ||
	w_fail "profile show --agent failed"
jq -e --arg p "$P" --arg sha "$TOOL_SHA" '
	.config.ClientMode == "LOCKDOWN" and (.origin.ClientMode | startswith($p + "/20-lockdown.mobileconfig:")) and
	any(.config.StaticRules[]; .identifier == $sha and (.origin | startswith($p + "/30-allow-tool.plist:"))) and
	.configuration.last_error != null' "$W_WORK/show.json" >/dev/null ||
	w_fail "profile show --agent --json: $(jq -c '{c: .config.ClientMode, o: .origin.ClientMode}' "$W_WORK/show.json")"
"$WARDEN_BUILD/wardenctl" profile show --agent --socket "$W_SOCK" >"$W_WORK/show.txt" || w_fail "profile show --agent"
grep -q "The last reload FAILED" "$W_WORK/show.txt" || w_fail "profile show --agent does not say the reload failed"
grep -q "^  ClientMode .*\"LOCKDOWN\" .*20-lockdown.mobileconfig:" "$W_WORK/show.txt" ||
	w_fail "profile show --agent text: $(cat "$W_WORK/show.txt")"
rc=0
"$WARDEN_BUILD/wardenctl" profile show --config "$CONF" --dir "$P" >/dev/null 2>&1 || rc=$?
[ "$rc" = 1 ] || w_fail "profile show of the files with a broken profile: exit $rc"
w_log "profile show --agent: the configuration in force and the failed reload: ok"

rm "$P/40-broken.mobileconfig"
wait_for "the error clears once the broken profile is gone" no_error
w_expect_denied "$W_MNT/unknown"
w_expect_allowed "$W_MNT/tool"
w_log "broken profile removed: error cleared, LOCKDOWN and the rule still in force: ok"

# --- removing a profile takes its rules and its mode away
rm "$P/30-allow-tool.plist"
wait_for "the managed rule is gone" denied_now "$W_MNT/tool"
rm "$P/20-lockdown.mobileconfig"
wait_for "back to MONITOR" allowed_now "$W_MNT/unknown"
[ "$(w_status '.rules.total')" = 0 ] || w_fail "managed rules left in the store: $(w_status '.rules')"
w_log "profiles removed: managed rules dropped, MONITOR again: ok"

# --- RequireSignedProfiles (warden.conf) is honoured
cp "$REPO/profiles/examples/signing/test-ca.pem" "$W_WORK/profile-ca.pem"
install_profile "$REPO/profiles/examples/lockdown-engineering.mobileconfig" 20-unsigned.mobileconfig
wait_for "unsigned LOCKDOWN profile enforced" denied_now "$W_MNT/unknown"
printf '{"ClientMode": "MONITOR", "ProfileTrustAnchors": ["%s"], "RequireSignedProfiles": true}\n' \
	"$W_WORK/profile-ca.pem" >"$CONF.tmp" && mv "$CONF.tmp" "$CONF"
wait_for "the unsigned profile is refused" in_error
w_status '.configuration.last_error.message' | grep -q "20-unsigned.mobileconfig" ||
	w_fail "the refusal does not name the unsigned profile: $(w_status '.configuration.last_error')"
w_expect_denied "$W_MNT/unknown" # the last good configuration (unsigned allowed) stays
rm "$P/20-unsigned.mobileconfig"
wait_for "RequireSignedProfiles in force" no_error
w_expect_allowed "$W_MNT/unknown"
install_profile "$REPO/profiles/examples/signed-lockdown-engineering.mobileconfig" 20-signed.mobileconfig
wait_for "signed LOCKDOWN profile enforced" denied_now "$W_MNT/unknown"
w_status '.configuration.sources[1]' | jq -e '.signed == true and .verified == true' >/dev/null ||
	w_fail "signed source not shown as verified: $(w_status '.configuration.sources')"
no_error || w_fail "error after the signed profile: $(w_status '.configuration.last_error')"
w_log "RequireSignedProfiles: unsigned profile refused, signed example enforced after ${ms} ms: ok"

w_stop_agent
[ "$W_AGENT_STATUS" = 0 ] || w_fail "wardend exit status $W_AGENT_STATUS"

# --- an invalid configuration at start, with no last good configuration to fall back
# on (a store directory that never had a load: agent_lastgood.sh covers the one that
# had), is a configuration error (exit 2), named
[ -s "$W_WORK/last-good-config.json" ] || w_fail "no last good configuration next to the store"
mkdir -m 0700 "$W_WORK/fresh"
cp "$REPO/tests/fixtures/profiles/bad/malformed.mobileconfig" "$P/50-bad.mobileconfig"
printf '{}\n' >"$CONF"
rc=0
timeout -k 2 10 "$WARDEN_BUILD/wardend" --foreground --no-ground --watch "$W_MNT" --db "$W_WORK/fresh/rules.db" --socket "$W_SOCK" \
	--event-log "$W_EVLOG" --profiles-dir "$P" --config "$CONF" 2>"$W_WORK/start.err" || rc=$?
[ "$rc" = 2 ] || w_fail "wardend with a broken profile at start: exit $rc"
grep -q "$P/50-bad.mobileconfig:12: " "$W_WORK/start.err" || w_fail "start error does not name file:line: $(cat "$W_WORK/start.err")"
grep -q "no usable last good configuration" "$W_WORK/start.err" || w_fail "start error does not say why: $(cat "$W_WORK/start.err")"
w_log "a broken profile at start: exit 2 naming file:line: ok"
echo ok
