#!/usr/bin/env bash
# A Santa profile's keys decide real execs as Santa documents them, on a private tmpfs:
#   AllowedPathRegex allows in LOCKDOWN; BlockedPathRegex denies (EPERM) even in MONITOR;
#   a rule beats both; the path is the file's real path (symlinks, /proc/self/fd, a
#   deleted file); EnableBadSignatureProtection denies a tampered Mach-O in MONITOR;
#   a CEL rule is refused by name and the rest of the profile applies; every other Santa
#   key is listed by name in status; ClientMode 3 is refused with what to use instead.
. "$(dirname "$0")/lib.sh"
w_setup
CTL=$WARDEN_BUILD/wardenctl
export WARDEN_SOCKET=$W_SOCK
mkdir -p "$W_WORK/profiles" "$W_MNT/ok" "$W_MNT/blocked" "$W_MNT/other"
w_prog "$W_MNT/ok/prog" ok
w_prog "$W_MNT/blocked/prog" blocked
w_prog "$W_MNT/other/prog" other
w_prog "$W_MNT/other/listed" listed
printf '{"EventLogAllows": true}\n' >"$W_WORK/warden.conf"

# santa_profile MODE [extra plist lines]: the Santa payload, as an MDM would install it
santa_profile() {
	cat >"$W_WORK/profiles/com.google.santa.plist" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0">
<dict>
	<key>ClientMode</key><integer>$1</integer>
	<key>AllowedPathRegex</key><string>^$W_MNT/ok/</string>
	<key>BlockedPathRegex</key><string>^$W_MNT/blocked/</string>
	<key>MoreInfoURL</key><string>https://help.example.com</string>
	<key>StaticRules</key>
	<array>
		<dict>
			<key>identifier</key><string>platform:com.apple.curl</string>
			<key>rule_type</key><string>SIGNINGID</string>
			<key>policy</key><string>CEL</string>
			<key>cel_expr</key><string>args.size() &lt; 3</string>
		</dict>
		<dict>
			<key>identifier</key><string>$(w_sha "$W_MNT/other/listed")</string>
			<key>rule_type</key><string>BINARY</string>
			<key>policy</key><string>ALLOWLIST</string>
		</dict>
	</array>
${2:-}
</dict>
</plist>
EOF
}

reload() {
	w_ctl_ok '{"cmd":"reload"}' >/dev/null
	[ "$(w_status .mode)" = "$1" ] || w_fail "mode after reload is $(w_status .mode), not $1"
}

# ---- LOCKDOWN: allowed by path, blocked by path, unknown denied, the CEL rule refused
santa_profile 2
w_start_agent --config "$W_WORK/warden.conf"
[ "$(w_status .mode)" = LOCKDOWN ] || w_fail "ClientMode 2 did not give LOCKDOWN"
w_expect_allowed "$W_MNT/ok/prog"
w_log_wait ".reason == \"allowed_path_regex\" and .path == \"$W_MNT/ok/prog\"" >/dev/null
w_expect_denied "$W_MNT/blocked/prog"
w_log_wait ".reason == \"blocked_path_regex\" and .path == \"$W_MNT/blocked/prog\"" >/dev/null
w_expect_denied "$W_MNT/other/prog"
w_log "LOCKDOWN: AllowedPathRegex allows, BlockedPathRegex and unknown deny (EPERM): ok"
# the rest of the profile applies: the BINARY rule next to the CEL rule
w_expect_allowed "$W_MNT/other/listed"
st=$("$CTL" status --json)
echo "$st" | jq -e '.configuration.refused_rules | length == 1 and
	(.[0].rule == "SIGNINGID platform:com.apple.curl") and (.[0].origin | test("com.google.santa.plist:14$"))' \
	>/dev/null || w_fail "refused CEL rule not in status: $(echo "$st" | jq -c .configuration.refused_rules)"
echo "$st" | jq -e '.configuration.not_enforced | any(.key == "MoreInfoURL" and (.origin | test("com.google.santa.plist:7$")))' \
	>/dev/null || w_fail "MoreInfoURL not listed as not enforced: $(echo "$st" | jq -c .configuration.not_enforced)"
txt=$("$CTL" status)
grep -q "NOT ENFORCED (keys).*MoreInfoURL (.*com.google.santa.plist:7): warden has no GUI" <<<"$txt" ||
	w_fail "status text does not list MoreInfoURL: $txt"
grep -q "Refused rules.*SIGNINGID platform:com.apple.curl" <<<"$txt" || w_fail "status text does not list the CEL rule"
grep -q "com.google.santa.plist:14: warning: StaticRules\[0\]: rule SIGNINGID platform:com.apple.curl is a CEL rule" \
	<(env -u WARDEN_SOCKET "$CTL" profile validate "$W_WORK/profiles/com.google.santa.plist" 2>&1) ||
	w_fail "profile validate does not warn about the CEL rule at its line"
w_log "CEL rule refused by name, the other rule applies; unenforced keys listed (status, --json, validate): ok"

# ---- the path regexes see the real path
ln -s "$W_MNT/other/prog" "$W_MNT/ok/link-to-other"
w_expect_denied "$W_MNT/ok/link-to-other"           # a link's own name never matches
ln -s "$W_MNT/ok/prog" "$W_MNT/other/link-to-ok"
w_expect_allowed "$W_MNT/other/link-to-ok"
w_log "symlinks: the target's path decides: ok"
# a hard link elsewhere of an allowed program: the allow was not cached for the file
w_expect_allowed "$W_MNT/ok/prog"
ln "$W_MNT/ok/prog" "$W_MNT/other/hardlink"
w_expect_denied "$W_MNT/other/hardlink"
w_log "hard link: the allow was for the path, not the file: ok"
# a bind mount over an allowed path in a mount namespace of one's own (what
# `unshare -Urm` gives any user): the agent looks the path up in its own namespace.
# (Not on the ES emulation: it marks mounts, so it never sees a new mount's execs;
# macOS has no per-process mount namespaces.)
if [ "$W_WARDEND" = wardend ]; then
	rc=0; timeout -k 2 10 unshare -m --propagation private sh -c \
		"mount --bind '$W_MNT/other/prog' '$W_MNT/ok/prog' && exec '$W_MNT/ok/prog'" 2>/dev/null || rc=$?
	[ "$rc" = 126 ] || w_fail "a program bind-mounted over an allowed path ran (exit $rc)"
	w_log_wait ".reason == \"unknown\" and .path == \"$W_MNT/ok/prog\" and .decision == \"DENY\"" >/dev/null
	w_expect_allowed "$W_MNT/ok/prog"
	w_log "private bind mount over an allowed path: the path must name the very file: ok"
fi

# ---- a rule beats the regexes
w_allow_sha "$(w_sha "$W_MNT/blocked/prog")"
w_expect_allowed "$W_MNT/blocked/prog"
w_allow_sha "$(w_sha "$W_MNT/ok/prog")" BLOCKLIST
w_expect_denied "$W_MNT/ok/prog"
w_log "an allow rule runs a blocked path, a block rule stops an allowed path: ok"

# ---- MONITOR: BlockedPathRegex still denies with EPERM
santa_profile 1
reload MONITOR
w_prog "$W_MNT/blocked/two" two
w_expect_denied "$W_MNT/blocked/two"
w_log_wait ".reason == \"blocked_path_regex\" and .path == \"$W_MNT/blocked/two\" and .decision == \"DENY\"" >/dev/null
w_expect_allowed "$W_MNT/other/prog"
# through /proc/self/fd, and after the file is deleted: still its (real) path
rc=0; timeout -k 2 10 bash -c "exec 3<'$W_MNT/blocked/two'; exec /proc/self/fd/3" 2>/dev/null || rc=$?
[ "$rc" = 126 ] || w_fail "exec through /proc/self/fd ran a blocked program (exit $rc)"
rc=0; timeout -k 2 10 bash -c "exec 3<'$W_MNT/blocked/two'; rm '$W_MNT/blocked/two'; exec /proc/self/fd/3" 2>/dev/null || rc=$?
[ "$rc" = 126 ] || w_fail "a deleted blocked program ran through /proc/self/fd (exit $rc)"
w_log_wait ".reason == \"blocked_path_regex\" and (.path | endswith(\"(deleted)\"))" >/dev/null
w_log "MONITOR: a blocked path is denied with EPERM (also via /proc/self/fd, also deleted): ok"

# ---- EnableBadSignatureProtection: a Mach-O whose code no longer matches its signature
cp "$(dirname "$0")/../fixtures/go-hello-arm64" "$W_MNT/other/macho"
printf '\xff' | dd of="$W_MNT/other/macho" bs=1 seek=$((4096 + 100)) conv=notrunc status=none
# exec it without a shell fallback: the kernel's answer is the message
mexec() { W_OUT=$(timeout -k 2 10 bash -c 'exec "$1"' _ "$1" 2>&1); }
# off (Santa's default): MONITOR lets the exec through to the kernel (no Mach-O loader here)
mexec "$W_MNT/other/macho"
[[ "$W_OUT" == *"Exec format error"* ]] || w_fail "tampered Mach-O without protection: $W_OUT"
santa_profile 1 '	<key>EnableBadSignatureProtection</key><true/>'
reload MONITOR
cp "$W_MNT/other/macho" "$W_MNT/other/macho2" # a file the verdict cache has never seen
mexec "$W_MNT/other/macho2"
[[ "$W_OUT" == *"Operation not permitted"* ]] || w_fail "tampered Mach-O with protection: $W_OUT"
w_log_wait ".reason == \"bad_signature\" and .path == \"$W_MNT/other/macho2\"" >/dev/null
w_log "EnableBadSignatureProtection: a tampered Mach-O is denied in MONITOR (EPERM): ok"

# ---- ClientMode 3 (STANDALONE): refused, saying what to use instead; nothing changes
santa_profile 3
out=$(env -u WARDEN_SOCKET "$CTL" profile validate "$W_WORK/profiles/com.google.santa.plist" 2>&1) &&
	w_fail "ClientMode 3 validated"
[[ "$out" == *"com.google.santa.plist:4"*"STANDALONE"*"wardenctl request"*"wardenctl approve"* ]] ||
	w_fail "ClientMode 3 message: $out"
r=$(w_ctl '{"cmd":"reload"}')
echo "$r" | jq -e '.ok == false' >/dev/null || w_fail "reload with ClientMode 3 succeeded: $r"
[ "$(w_status .mode)" = MONITOR ] || w_fail "a refused profile changed the mode"
w_log "ClientMode 3 refused with the exception workflow named; the previous configuration stays: ok"
echo ok
