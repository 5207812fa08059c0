#!/usr/bin/env bash
# wardenctl simulate --eslogger: a recording written from eslogger's documented JSON
# (tests/fixtures/eslogger/pilot.jsonl) replayed through the rules.
set -u
cd "$(dirname "$0")/../.."
B=${WARDEN_BUILD:-build}
W=$(mktemp -d) || exit 1
trap 'rm -rf "$W"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
REC=tests/fixtures/eslogger/pilot.jsonl
export WARDEN_DB=$W/rules.db
$B/wardenctl rule --allow --teamid --identifier EQHXZ8M8AV >/dev/null || fail "rule add"
$B/wardenctl rule --block --signingid --identifier BJ4HAAB9B3:us.zoom.xos >/dev/null || fail "rule add"

out=$($B/wardenctl simulate --eslogger "$REC" --json 2>"$W/err") || fail "simulate exit $?"
echo "$out" | jq -e '.mode == "LOCKDOWN" and .exec == 7 and .open == 1 and .skipped == 2 and .blocked == 5 and .allowed == 2' >/dev/null ||
	fail "totals: $out"
# by rule: the team rule allowed Chrome twice, the signing-ID rule blocked zoom once, 4 unknown
echo "$out" | jq -e '[.by_rule[] | select(.type == "TEAMID" and .identifier == "EQHXZ8M8AV" and .count == 2 and (.blocks | not))] | length == 1' >/dev/null || fail "team rule row"
echo "$out" | jq -e '[.by_rule[] | select(.type == "SIGNINGID" and .policy == "BLOCKLIST" and .count == 1 and .blocks)] | length == 1' >/dev/null || fail "block rule row"
echo "$out" | jq -e '[.by_rule[] | select(.type == null and .reason == "unknown" and .count == 4)] | length == 1' >/dev/null || fail "unknown row"
# by program, with the identities an admin would write a rule for
echo "$out" | jq -e '.by_program[] | select(.path == "/Users/alice/Downloads/tool") | .count == 2 and .blocked == 2 and .cdhash == "cccccccccccccccccccccccccccccccccccccccc" and .team_id == null' >/dev/null ||
	fail "ad-hoc program row (no team for an ad-hoc signature)"
echo "$out" | jq -e '[.by_program[] | select(.path == "/bin/ls" and .signing_id == "platform:com.apple.ls")] | length == 1' >/dev/null || fail "platform signing ID"
echo "$out" | jq -e '[.by_program[] | select(.path == "/usr/local/bin/unsigned" and .cdhash == null)] | length == 1' >/dev/null || fail "unsigned program has no identities"
# the broken line is named by file and line
echo "$out" | jq -e --arg f "$REC" '.errors[0].file == $f and .errors[0].line == 5' >/dev/null || fail "error location: $(echo "$out" | jq -c .errors)"
$B/wardenctl simulate --eslogger "$REC" 2>&1 >/dev/null | grep -q "^$REC:5: " || fail "text mode names FILE:LINE"
echo "  totals, by rule, by program, FILE:LINE of a bad line: ok"

# MONITOR: only the block rule blocks
$B/wardenctl simulate --eslogger "$REC" --mode monitor --json 2>/dev/null | jq -e '.blocked == 1 and .allowed == 6' >/dev/null || fail "monitor"
# A platform rule for ls takes it off the list
$B/wardenctl rule --allow --signingid --identifier platform:com.apple.ls >/dev/null || fail "rule add"
$B/wardenctl simulate --eslogger "$REC" --json 2>/dev/null | jq -e '.blocked == 4' >/dev/null || fail "platform rule not applied"
# stdin, and no database at all (no rules: every execution is unknown in LOCKDOWN)
WARDEN_DB=$W/none.db $B/wardenctl simulate --eslogger - --json <"$REC" 2>/dev/null | jq -e '.blocked == 7' >/dev/null || fail "stdin / no db"
echo "  monitor mode, platform rule, stdin, no database: ok"

# usage errors: 2; an unreadable recording: 1
$B/wardenctl simulate >/dev/null 2>&1; [ $? = 2 ] || fail "no --eslogger: exit 2"
$B/wardenctl simulate --eslogger "$REC" --mode strict >/dev/null 2>&1; [ $? = 2 ] || fail "bad mode: exit 2"
$B/wardenctl simulate --eslogger "$W/missing.jsonl" >/dev/null 2>&1; [ $? = 1 ] || fail "missing file: exit 1"
# a line over the limit is refused by name, not read
{ printf '{"event_type":9,"pad":"'; head -c $((1100 * 1024)) /dev/zero | tr '\0' a; printf '"}\n'; } >"$W/big.jsonl"
$B/wardenctl simulate --eslogger "$W/big.jsonl" --json 2>/dev/null | jq -e '.skipped == 1 and (.errors[0].error | test("longer than"))' >/dev/null || fail "line limit"
echo "  usage errors, missing file, oversized line: ok"
echo ok
