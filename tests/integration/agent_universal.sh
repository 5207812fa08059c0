#!/usr/bin/env bash
# A universal (fat) Mach-O under the agent: nothing on Linux says which slice a Mac
# would run, so every slice is decided and the most restrictive result is the file's.
# The x86_64 slice's CDHash blocked and the team allowed: denied (EPERM), and the log
# names the slice that decided; with the block gone, the team's rule lets it through.
. "$(dirname "$0")/lib.sh"
w_setup
fat=$W_MNT/fat
cp tests/fixtures/msal-node-runtime-0.20.7-fat.node "$fat" || w_fail "copy fixture"
chmod 0755 "$fat"
w_start_agent --mode lockdown
export WARDEN_DB=$W_DB WARDEN_SOCKET=$W_SOCK # wardenctl waits for the agent to confirm
W=$WARDEN_BUILD/wardenctl
"$W" rule --allow --teamid --path "$fat" >/dev/null || w_fail "team rule"
"$W" rule --block --cdhash --arch x86_64 --path "$fat" >/dev/null || w_fail "x86_64 CDHash rule"

w_expect_denied "$fat"
line=$(w_log_wait ".path == \"$fat\" and .decision == \"DENY\"") || exit 1
echo "$line" | jq -e '.reason == "rule" and .rule.type == "CDHASH" and .arch == "x86_64" and .slices == 2 and
	.cdhash == "3471a5e71a1d53127fc83a04c12750554ecd8df9" and .team_id == "UBF8T346G9"' >/dev/null ||
	w_fail "deny line does not name the x86_64 slice: $line"
w_log "x86_64 CDHash blocked, team allowed: denied, the x86_64 slice named: ok"

# An exception cannot lift the block: the request is refused as blocked (it was filed
# against the arm64 slice's team rule as "already allowed").
if r=$("$W" request "$fat" --reason "needs it" --json 2>&1); then w_fail "request filed for a blocked file: $r"; fi
[[ "$r" == *"is blocked by local rule"*"CDHASH BLOCKLIST"* ]] || w_fail "request refusal does not say blocked: $r"
w_log "exception request for the blocked file refused as blocked: ok"

# --arch arm64 agrees that the arm64 slice alone would be allowed; the file is not.
[ "$("$W" rule --check --path "$fat" --arch arm64 --json | jq -r .decision)" = allow ] || w_fail "check --arch arm64"
[ "$("$W" rule --check --path "$fat" --json | jq -r .decision)" = block ] || w_fail "check (file)"

# Without the block both slices are allowed by the team: the exec gets past the agent
# (Linux then refuses a Mach-O with ENOEXEC, which is not the agent's EPERM).
# (Allows by rule are not logged by default: the decision counter is the sentinel.)
"$W" rule --remove --cdhash --arch x86_64 --path "$fat" >/dev/null || w_fail "remove the block"
allows=$(w_status '.decisions.ALLOW.rule // 0')
w_exec "$fat"
[[ "$W_OUT" == *"Operation not permitted"* ]] && w_fail "still denied after the block was removed: $W_OUT"
for _ in $(seq 60); do [ "$(w_status '.decisions.ALLOW.rule // 0')" -gt "$allows" ] && break; sleep 0.05; done
[ "$(w_status '.decisions.ALLOW.rule // 0')" -gt "$allows" ] || w_fail "no ALLOW by rule counted"
w_log "team allowed on both slices: allowed by rule (then: $W_OUT): ok"

# One slice allowed by CDHash, the other unknown: LOCKDOWN denies the file.
"$W" rule --remove --teamid --path "$fat" >/dev/null || w_fail "remove the team rule"
"$W" rule --allow --cdhash --arch arm64 --path "$fat" >/dev/null || w_fail "arm64 CDHash rule"
w_expect_denied "$fat"
line=$(w_log_wait ".path == \"$fat\" and .decision == \"DENY\" and .reason == \"unknown\"") || exit 1
echo "$line" | jq -e '.arch == "x86_64"' >/dev/null || w_fail "unknown slice not named: $line"
w_log "arm64 allowed, x86_64 unknown: denied in LOCKDOWN: ok"

# A request for it names what both slices share, never one slice's CDHash, so an
# approval allows the whole file: signing ID (the team's) proposed; CDHash refused.
r=$("$W" request "$fat" --reason "needs it" --json) || w_fail "request: $r"
echo "$r" | jq -e '.request.cdhash == null and .request.team_id == "UBF8T346G9" and
	.request.signing_id == "UBF8T346G9:msal-node-runtime" and .request.proposed_scope == "SIGNINGID"' >/dev/null ||
	w_fail "request of a universal file: $r"
id=$(echo "$r" | jq -r .request.id)
if a=$("$W" approve "$id" --scope cdhash 2>&1); then w_fail "approved one slice's CDHash: $a"; fi
[[ "$a" == *"has no CDHASH identity"* ]] || w_fail "approve --scope cdhash refused for another reason: $a"
a=$("$W" approve "$id" --json) || w_fail "approve: $a"
w_exec "$fat"
[[ "$W_OUT" == *"Operation not permitted"* ]] && w_fail "still denied after the approval: $W_OUT"
w_log "request names the shared signing ID; approving it allows the whole file: ok"
echo "ok"
