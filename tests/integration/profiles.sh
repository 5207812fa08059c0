#!/usr/bin/env bash
# wardenctl profile validate|show against real files: examples, bad profiles, a
# profiles directory that changes under it (MONITOR -> LOCKDOWN, then a broken profile,
# then a signed one). No agent and no fanotify: runs as any user (the permission check
# needs root-owned files, so that part runs as root only).
set -u
cd "$(dirname "$0")/../.."
ctl=${WARDEN_BUILD:-build}/wardenctl
[ -x "$ctl" ] || { echo "profiles.sh: $ctl not built" >&2; exit 1; }
command -v jq >/dev/null || { echo "profiles.sh: jq missing" >&2; exit 77; }
tmp=$(mktemp -d /tmp/warden-profiles-it.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
fails=0
ok()   { echo "ok   - $*"; }
bad()  { echo "FAIL - $*"; fails=$((fails + 1)); }
# expect STATUS DESCRIPTION -- command...: run, keep stdout/stderr in $out/$err
expect() {
	local want=$1 what=$2; shift 3
	"$@" >"$tmp/out" 2>"$tmp/err"; local rc=$?
	out=$(cat "$tmp/out"); err=$(cat "$tmp/err")
	if [ "$rc" -eq "$want" ]; then ok "$what (exit $rc)"; else
		bad "$what: exit $rc, wanted $want"; sed 's/^/    | /' "$tmp/out" "$tmp/err"; fi
}
has() { # has TEXT DESCRIPTION: TEXT in $out or $err
	if printf '%s\n%s\n' "$out" "$err" | grep -qF -- "$1"; then ok "$2"; else
		bad "$2: no \"$1\" in output"; printf '%s\n%s\n' "$out" "$err" | sed 's/^/    | /'; fi
}
hasnt() { # hasnt TEXT DESCRIPTION: TEXT in neither $out nor $err
	if printf '%s\n%s\n' "$out" "$err" | grep -qF -- "$1"; then
		bad "$2: \"$1\" in output"; printf '%s\n%s\n' "$out" "$err" | sed 's/^/    | /'; else ok "$2"; fi
}
jqis() { # jqis FILTER EXPECTED DESCRIPTION, on $out
	local got; got=$(printf '%s' "$out" | jq -r "$1" 2>&1)
	if [ "$got" = "$2" ]; then ok "$3"; else bad "$3: $1 = '$got', wanted '$2'"; fi
}

# ---- usage and help
expect 0 "profile --help" -- "$ctl" profile --help
has "wardenctl profile validate" "help names validate"
has "wardenctl profile show" "help names show"
expect 2 "profile with no verb" -- "$ctl" profile
expect 2 "profile validate with no file" -- "$ctl" profile validate
expect 2 "unknown verb" -- "$ctl" profile frobnicate
expect 2 "unknown option" -- "$ctl" profile show --bogus
expect 0 "wardenctl help lists profile" -- "$ctl" help
has "profile" "command table has profile"

# ---- validate
expect 0 "examples validate" -- "$ctl" profile validate \
	profiles/examples/lockdown-engineering.mobileconfig profiles/examples/monitor-rollout.mobileconfig \
	profiles/examples/santa-compatible.mobileconfig profiles/examples/signed-lockdown-engineering.mobileconfig \
	profiles/examples/santa-file-access.mobileconfig
has "santa-file-access.mobileconfig:55: warning: FileAccessPolicy.WatchItems.ChromeCookies.Processes[0]: SigningID: no Linux process" \
	"a watch item entry no Linux process can match is said, with its line"
expect 1 "explicit missing --config" -- "$ctl" profile validate --config "$tmp/none.conf" profiles/examples/monitor-rollout.mobileconfig
has "none.conf" "missing --config is named"
expect 0 "santa profile: warnings for Santa-only keys" -- "$ctl" profile validate profiles/examples/santa-compatible.mobileconfig
has "santa-compatible.mobileconfig:31: warning: MoreInfoURL: Santa key NOT ENFORCED by warden: warden has no GUI" "warning names file:line and key"
hasnt "BannedBlockMessage" "BannedBlockMessage is read (the denied user's terminal line), not ignored"
expect 1 "malformed XML" -- "$ctl" profile validate tests/fixtures/profiles/bad/malformed.mobileconfig
has "tests/fixtures/profiles/bad/malformed.mobileconfig:12: error: Opening and ending tag mismatch" "malformed: file:line"
expect 1 "wrong types: every error" -- "$ctl" profile validate tests/fixtures/profiles/bad/wrong-types.plist
has "wrong-types.plist:9: error: DecisionBudgetMs: 5 is out of range" "wrong type: file:line: key"
has "wrong-types.plist:33: error: FileAccessPolicy" "later errors in the same file reported too"
has "invalid (11 errors)" "error count"
expect 1 "billion laughs" -- "$ctl" profile validate tests/fixtures/profiles/bad/billion-laughs.mobileconfig
has "billion-laughs.mobileconfig:3: error: DTD entity declaration 'lol' is not allowed" "billion laughs refused"
expect 1 "external entity" -- "$ctl" profile validate tests/fixtures/profiles/bad/xxe.mobileconfig
has "DTD entity declaration 'xxe' (external) is not allowed" "xxe refused"
if printf '%s%s' "$out" "$err" | grep -q 'root:'; then bad "xxe leaked /etc/passwd"; else ok "nothing of /etc/passwd printed"; fi
expect 1 "one bad file among good ones fails the run" -- "$ctl" profile validate \
	profiles/examples/monitor-rollout.mobileconfig tests/fixtures/profiles/bad/bad-rules.mobileconfig
has "monitor-rollout.mobileconfig: valid" "the good one still reported valid"
expect 1 "validate --json" -- "$ctl" profile validate --json tests/fixtures/profiles/bad/malformed.mobileconfig profiles/examples/monitor-rollout.mobileconfig
jqis '.valid' false "json: overall invalid"
jqis '.files[0].errors[0].line' 12 "json: error line"
jqis '.files[1].valid' true "json: second file valid"
jqis '.files[1].sources[0].kind' profile "json: source kind"

# ---- show: a profiles directory changing under wardenctl
etc=$tmp/etc; mkdir -m 755 "$etc" "$etc/profiles"
cat >"$etc/warden.conf" <<JSON
{ "EventLogPath": "/var/log/warden/it.jsonl", "AdminGroup": "wheel" }
JSON
expect 0 "show with no profiles" -- "$ctl" profile show --json --config "$etc/warden.conf" --dir "$etc/profiles"
jqis '.config.ClientMode' MONITOR "defaults: MONITOR"
jqis '.origin.AdminGroup' "$etc/warden.conf" "origin of AdminGroup is warden.conf"
jqis '.origin.ClientMode' default "origin of ClientMode is default"
cp profiles/examples/monitor-rollout.mobileconfig "$etc/profiles/50-fleet.mobileconfig"
expect 0 "show MONITOR profile" -- "$ctl" profile show --json --config "$etc/warden.conf" --dir "$etc/profiles"
jqis '.config.ClientMode' MONITOR "MONITOR from the profile"
jqis '.config.EventLogAllows' true "EventLogAllows from the profile"
jqis '.origin.EventLogPath' "$etc/profiles/50-fleet.mobileconfig:40" "profile beats warden.conf, with its line"
cp profiles/examples/lockdown-engineering.mobileconfig "$etc/profiles/50-fleet.mobileconfig"
expect 0 "show after swapping in LOCKDOWN" -- "$ctl" profile show --json --config "$etc/warden.conf" --dir "$etc/profiles"
jqis '.config.ClientMode' LOCKDOWN "LOCKDOWN after the swap"
jqis '.config.StaticRules | length' 6 "six managed rules"
jqis '[.config.StaticRules[] | select(.rule_type == "TEAMID")] | length' 4 "four team ID rules"
jqis '.config.StaticRules[0].origin' "$etc/profiles/50-fleet.mobileconfig:82" "rule origin file:line"
expect 0 "show text" -- "$ctl" profile show --config "$etc/warden.conf" --dir "$etc/profiles"
has "$etc/profiles/50-fleet.mobileconfig:42" "text shows where ClientMode came from"
cp tests/fixtures/profiles/bad/wrong-types.plist "$etc/profiles/60-broken.plist"
expect 1 "show with a broken profile" -- "$ctl" profile show --config "$etc/warden.conf" --dir "$etc/profiles"
has "60-broken.plist:5: error: ClientMode" "show names the broken file and line"
has "the configuration is invalid" "show says the whole configuration is refused"
expect 1 "show --json with a broken profile" -- "$ctl" profile show --json --config "$etc/warden.conf" --dir "$etc/profiles"
jqis '.valid' false "json: invalid"
jqis '.errors | length' 11 "json: all errors listed"
rm "$etc/profiles/60-broken.plist"
cp tests/fixtures/profiles/bad/dup-a.plist "$etc/profiles/70-dup-a.plist"
cp tests/fixtures/profiles/bad/dup-b.plist "$etc/profiles/71-dup-b.plist"
expect 1 "the same rule in two profiles" -- "$ctl" profile show --config "$etc/warden.conf" --dir "$etc/profiles"
has "71-dup-b.plist:6: error: StaticRules[0]: duplicate rule CDHASH" "duplicate across files named"
rm "$etc/profiles/70-dup-a.plist" "$etc/profiles/71-dup-b.plist"

# ---- signed profiles
ca=$(cd profiles/examples/signing && pwd)/test-ca.pem
printf '{ "ProfileTrustAnchors": ["%s"], "RequireSignedProfiles": true }\n' "$ca" >"$etc/warden.conf"
expect 1 "unsigned profile while signatures are required" -- "$ctl" profile show --config "$etc/warden.conf" --dir "$etc/profiles"
has "50-fleet.mobileconfig: error: profile is not signed and RequireSignedProfiles is set" "unsigned refused"
cp profiles/examples/signed-lockdown-engineering.mobileconfig "$etc/profiles/50-fleet.mobileconfig"
expect 0 "signed profile verified" -- "$ctl" profile show --json --config "$etc/warden.conf" --dir "$etc/profiles"
jqis '.sources[1].verified' true "signer verified against the anchor"
jqis '.config.ClientMode' LOCKDOWN "signed content applied"
cp tests/fixtures/profiles/signed/tampered.mobileconfig "$etc/profiles/50-fleet.mobileconfig"
expect 1 "tampered signed profile" -- "$ctl" profile show --config "$etc/warden.conf" --dir "$etc/profiles"
has "bad signature: the content was modified after signing" "tampering detected"
cp tests/fixtures/profiles/signed/rogue-signed.mobileconfig "$etc/profiles/50-fleet.mobileconfig"
expect 1 "profile signed by another CA" -- "$ctl" profile validate --config "$etc/warden.conf" "$etc/profiles/50-fleet.mobileconfig"
has "unable to get local issuer certificate" "untrusted signer refused"
echo '{ "ClientMode": 2 }' >"$etc/warden.conf"
expect 0 "a warden.conf validates as JSON" -- "$ctl" profile validate "$etc/warden.conf"
cp tests/fixtures/profiles/bad/trust-in-profile.plist "$etc/profiles/50-fleet.mobileconfig"
expect 1 "trust keys inside a profile" -- "$ctl" profile show --config "$etc/warden.conf" --dir "$etc/profiles"
has "ProfileTrustAnchors: may only be set in warden.conf" "a profile cannot pick its own anchors"

# ---- permissions (root: files owned by root)
if [ "$(id -u)" -eq 0 ]; then
	cp profiles/examples/monitor-rollout.mobileconfig "$etc/profiles/50-fleet.mobileconfig"
	chmod 666 "$etc/profiles/50-fleet.mobileconfig"
	expect 1 "world-writable profile" -- "$ctl" profile show --config "$etc/warden.conf" --dir "$etc/profiles"
	has "insecure permissions" "world-writable profile refused"
	chmod 644 "$etc/profiles/50-fleet.mobileconfig"
	expect 0 "fixed permissions" -- "$ctl" profile show --config "$etc/warden.conf" --dir "$etc/profiles"
fi

echo "profiles.sh: $fails failure(s)"
[ "$fails" -eq 0 ]
