#!/usr/bin/env bash
# wardenctl rule end to end against a private store: add, list, check, remove, import,
# export; bad input changes nothing; a non-root user cannot change rules; SIGKILL in the
# middle of a 500k-rule import leaves the store exactly as it was.
set -u
cd "$(dirname "$0")/../.."
build=${WARDEN_BUILD:-build}
W=$build/wardenctl
[ -x "$W" ] || { echo "no $W" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "needs root (to test root vs non-root)"; exit 77; }
command -v jq >/dev/null && command -v sqlite3 >/dev/null && command -v setpriv >/dev/null ||
	{ echo "needs jq, sqlite3, setpriv (make deps)"; exit 77; }

tmp=$(mktemp -d)
bg=""
cleanup() {
	[ -n "$bg" ] && kill -9 "$bg" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

export WARDEN_DB=$tmp/state/warden.db
export WARDEN_SOCKET=$tmp/no-agent.sock # never poke a real agent from a test
fails=0
ok() { echo "ok   - $*"; }
bad() { echo "FAIL - $*"; fails=$((fails + 1)); }

# Run wardenctl; remember stdout, stderr and exit status.
run() {
	"$W" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
}
# expect STATUS DESCRIPTION -- ARGS...: run and compare the exit status.
expect() {
	local want=$1 what=$2
	shift 3
	run "$@"
	if [ "$rc" = "$want" ]; then ok "$what (exit $rc)"; else
		bad "$what: exit $rc, wanted $want"; sed 's/^/    /' "$tmp/out" "$tmp/err"; fi
}
# The store's full content, for before/after comparisons.
snapshot() {
	"$W" rule --list --json --db "${1:-$WARDEN_DB}" | jq -S '.rules | map(del(.expired))'
}
same_as() {
	if diff -q <(snapshot) "$1" >/dev/null; then ok "$2: store unchanged"; else
		bad "$2: store changed"; diff <(snapshot) "$1" | head -5; fi
}

TEAM=EQHXZ8M8AV
CDH=0123456789abcdef0123456789abcdef01234567
elf=$tmp/prog
cp /bin/true "$elf"
sha=$(sha256sum "$elf" | cut -d' ' -f1)

# ------------------------------------------------------------------ basics
expect 0 "--help" -- rule --help
grep -q "usage: wardenctl rule" "$tmp/out" || bad "--help prints usage"
expect 2 "no action is a usage error" -- rule --teamid --identifier $TEAM
expect 2 "two actions" -- rule --allow --block --teamid --identifier $TEAM
expect 2 "two types" -- rule --allow --teamid --cdhash --identifier $TEAM
expect 2 "identifier and path" -- rule --allow --identifier $sha --path "$elf"
expect 2 "--message with --remove" -- rule --remove --teamid --identifier $TEAM --message x
expect 2 "unknown option" -- rule --allow --frobnicate
expect 0 "list with no database yet" -- rule --list
grep -q "No rules." "$tmp/out" || bad "empty list says so"
[ ! -e "$WARDEN_DB" ] || bad "reading created a database"

# ------------------------------------------------------------------ add / list / check
expect 0 "allow a team ID" -- rule --allow --teamid --identifier eqhxz8m8av --comment "vendor"
expect 0 "block a CDHash with message" -- rule --block --cdhash --identifier ${CDH^^} --message "no" --url https://x
expect 0 "block a file by path (BINARY)" -- rule --block --path "$elf" --expires 7d
grep -q "$sha" "$tmp/out" || bad "path rule names the SHA-256"
expect 0 "silent block with --json" -- rule --silent-block --signingid --identifier $TEAM:com.example.tool --json
[ "$(jq -r .rule.policy "$tmp/out")" = SILENT_BLOCKLIST ] || bad "json add output"
expect 0 "compiler" -- rule --compiler --certificate --identifier $(printf 'ab%.0s' {1..32})
[ "$(stat -c %a "$WARDEN_DB")" = 600 ] && ok "database is 0600" || bad "database mode $(stat -c %a "$WARDEN_DB")"
[ "$(stat -c %a "$(dirname "$WARDEN_DB")")" = 700 ] && ok "directory is 0700" || bad "directory mode"

expect 0 "list --json" -- rule --list --json
[ "$(jq '.rules | length' "$tmp/out")" = 5 ] || bad "5 rules listed"
[ "$(jq -r '.rules[] | select(.rule_type=="TEAMID") | .identifier' "$tmp/out")" = $TEAM ] ||
	bad "team ID stored uppercase"
[ "$(jq -r '.rules[] | select(.rule_type=="CDHASH") | .identifier' "$tmp/out")" = $CDH ] ||
	bad "CDHash stored lowercase"
[ "$(jq -r '.rules[0].rule_type' "$tmp/out")" = CDHASH ] || bad "list in precedence order"

expect 0 "check the blocked file" -- rule --check --path "$elf" --json
[ "$(jq -r .decision "$tmp/out")" = block ] || bad "file decision is block"
[ "$(jq -r .rule.rule_type "$tmp/out")" = BINARY ] || bad "BINARY rule decides"
[ "$(jq -r '[.identities[].rule_type] | join(",")' "$tmp/out")" = CDHASH,BINARY,SIGNINGID,CERTIFICATE,TEAMID ] ||
	bad "identities in precedence order"
[ "$(jq -r '.identities[1].identifier' "$tmp/out")" = "$sha" ] || bad "identity SHA-256"
expect 0 "check text output" -- rule --check --path "$elf"
grep -q "<- decides" "$tmp/out" && grep -q "Decision *: blocked" "$tmp/out" || bad "check text"
expect 0 "check a team ID" -- rule --check --teamid --identifier $TEAM --json
[ "$(jq -r .decision "$tmp/out")" = allow ] || bad "team decision is allow"
expect 0 "check an identifier without a rule" -- rule --check --teamid --identifier AAAAAAAAAA --json
[ "$(jq -r .decision "$tmp/out")" = none ] && [ "$(jq -r .rule "$tmp/out")" = null ] || bad "no rule"
expect 1 "team ID of an ELF file" -- rule --allow --teamid --path "$elf"
grep -q "no Team ID" "$tmp/err" || bad "says the ELF file has no team ID"
expect 1 "missing file" -- rule --allow --path "$tmp/nope"
grep -q "$tmp/nope" "$tmp/err" || bad "names the missing file"

# ------------------------------------------------------------------ a signed Mach-O
macho=tests/fixtures/sentry-cli-2.43.0-arm64
if [ -f "$macho" ] && "$W" fileinfo "$macho" >/dev/null 2>&1; then
	expect 0 "team ID from a signed Mach-O" -- rule --allow --teamid --path "$macho" --json
	[ "$(jq -r .rule.identifier "$tmp/out")" = 97JCY7859U ] || bad "team ID read from the file"
	expect 0 "signing ID from a signed Mach-O" -- rule --allow --signingid --path "$macho" --json
	[ "$(jq -r .rule.identifier "$tmp/out")" = 97JCY7859U:sentry_cli-15e6857c8fd52f9f ] ||
		bad "signing ID read from the file, team-prefixed"
	expect 0 "block its CDHash" -- rule --block --cdhash --path "$macho"
	expect 0 "check: blocked CDHash beats allowed team ID" -- rule --check --path "$macho" --json
	[ "$(jq -r .decision "$tmp/out")/$(jq -r .rule.rule_type "$tmp/out")" = block/CDHASH ] ||
		bad "blocked CDHash + allowed team ID -> blocked"
	[ "$(jq -r '.identities[4].rule.policy' "$tmp/out")" = ALLOWLIST ] || bad "team rule shown too"
	expect 0 "allow its CDHash, block its team" -- rule --allow --cdhash --path "$macho"
	expect 0 "block the team" -- rule --block --teamid --identifier 97JCY7859U
	expect 0 "check: allowed CDHash beats blocked team ID" -- rule --check --path "$macho" --json
	[ "$(jq -r .decision "$tmp/out")/$(jq -r .rule.rule_type "$tmp/out")" = allow/CDHASH ] ||
		bad "allowed CDHash + blocked team ID -> allowed"
	expect 0 "remove the CDHash rule" -- rule --remove --cdhash --path "$macho"
	expect 0 "check: now the signing ID decides" -- rule --check --path "$macho" --json
	[ "$(jq -r .rule.rule_type "$tmp/out")" = SIGNINGID ] || bad "SIGNINGID next in precedence"
	for t in teamid signingid; do
		"$W" rule --remove --$t --path "$macho" >/dev/null 2>&1 || bad "remove $t"
	done
	expect 1 "team ID of an ad hoc signed file" -- rule --allow --teamid --path tests/fixtures/go-hello-fat
	grep -q "adhoc" "$tmp/err" || bad "says the signature is ad hoc"
else
	echo "skip - no Mach-O parser or fixture on this branch"
fi

# ------------------------------------------------------------------ a universal binary
# Both slices signed by one team (Microsoft's), each with its own CDHash. Its own store,
# so the counts below stay as they are.
fat=tests/fixtures/msal-node-runtime-0.20.7-fat.node
FDB=$tmp/state/fat.db
X86=3471a5e71a1d53127fc83a04c12750554ecd8df9
ARM=1ae36b0e8d1cd431b97a3a78610ad3547ce1cc7d
expect 0 "fat: allow the team from the file" -- rule --allow --teamid --path $fat --db "$FDB" --json
[ "$(jq -c '[.rules[] | .identifier + ":" + (.arches | join(","))]' "$tmp/out")" = '["UBF8T346G9:arm64,x86_64"]' ] ||
	bad "fat: one team rule, shared by both slices: $(cat "$tmp/out")"
expect 0 "fat: block the x86_64 slice's CDHash" -- rule --block --cdhash --arch x86_64 --path $fat --db "$FDB"
grep -q "^Added BLOCKLIST rule for CDHash: $X86 (x86_64 slice)\.$" "$tmp/out" || bad "fat: names the x86_64 CDHash: $(cat "$tmp/out")"
# The issue: this said "allowed" (the arm64 slice alone), while an Intel Mac blocks it.
expect 0 "fat: check evaluates every slice" -- rule --check --path $fat --db "$FDB"
grep -q "^Decision *: blocked$" "$tmp/out" || bad "fat: the file is blocked"
grep -q "^Decided by *: the x86_64 slice, the most restrictive of 2 (arm64, x86_64)" "$tmp/out" || bad "fat: says which slice decides"
grep -Eq "^  arm64 +$ARM +allowed \(TEAMID ALLOWLIST, local\)$" "$tmp/out" || bad "fat: arm64 line (arch, CDHash, decision)"
grep -Eq "^  x86_64 +$X86 +blocked \(CDHASH BLOCKLIST, local\)  <- decides$" "$tmp/out" || bad "fat: x86_64 line (arch, CDHash, decision)"
[ "$(grep -c '^Identities of the .* slice, in precedence order:$' "$tmp/out")" = 2 ] || bad "fat: identities per slice"
expect 0 "fat: check --json" -- rule --check --path $fat --db "$FDB" --json
[ "$(jq -r '.decision + " " + .arch + " " + .rule.rule_type' "$tmp/out")" = "block x86_64 CDHASH" ] || bad "fat json: decision, arch, rule"
[ "$(jq -c '[.slices[] | [.arch, .cdhash, .decision, .decides]]' "$tmp/out")" = \
  "[[\"arm64\",\"$ARM\",\"allow\",false],[\"x86_64\",\"$X86\",\"block\",true]]" ] || bad "fat json: slices $(jq -c .slices "$tmp/out" | head -c 300)"
[ "$(jq -r '.slices[0].identities[4].rule.policy' "$tmp/out")" = ALLOWLIST ] || bad "fat json: per-slice identities"
[ "$(jq -r '.selected_arch' "$tmp/out")" = null ] || bad "fat json: no --arch"
expect 0 "fat: --arch arm64 checks one slice" -- rule --check --path $fat --arch arm64 --db "$FDB" --json
[ "$(jq -r '.decision + " " + .arch + " " + .rule.rule_type + " " + .selected_arch + " " + (.slices | length | tostring)' "$tmp/out")" = \
  "allow arm64 TEAMID arm64 1" ] || bad "fat --arch arm64: allowed by the team: $(cat "$tmp/out" | head -c 300)"
expect 0 "fat: --arch x86_64 text" -- rule --check --path $fat --arch x86_64 --db "$FDB"
grep -q "^Decision *: blocked$" "$tmp/out" && grep -q "^Decided by *: the x86_64 slice (--arch; the file has arm64, x86_64)$" "$tmp/out" ||
	bad "fat --arch x86_64 text"
expect 1 "fat: --arch ppc, a slice it lacks" -- rule --check --path $fat --arch ppc --db "$FDB"
grep -q "msal-node-runtime-0.20.7-fat.node: no ppc slice (it has arm64, x86_64)$" "$tmp/err" || bad "fat --arch ppc: names the slices it has: $(cat "$tmp/err")"
[ -s "$tmp/out" ] && bad "fat --arch ppc: printed a decision"
expect 2 "--arch with an unknown name" -- rule --check --path $fat --arch amd64 --db "$FDB"
grep -q "'amd64': not an architecture name" "$tmp/err" || bad "unknown arch name: $(cat "$tmp/err")"
expect 2 "--arch with --identifier" -- rule --check --cdhash --identifier $X86 --arch x86_64 --db "$FDB"
expect 2 "--arch with a BINARY rule" -- rule --block --path $fat --arch x86_64 --db "$FDB"
grep -q "names the whole file" "$tmp/err" || bad "--arch BINARY says why"
expect 1 "--arch on an ELF file" -- rule --check --path "$elf" --arch x86_64 --db "$FDB"
grep -q "an elf file has no architecture slices" "$tmp/err" || bad "--arch on ELF: $(cat "$tmp/err")"
# A CDHASH rule from the file: one rule per slice, in one transaction.
expect 0 "fat: remove the x86_64 block" -- rule --remove --cdhash --arch x86_64 --path $fat --db "$FDB"
expect 0 "fat: block every slice's CDHash" -- rule --block --cdhash --path $fat --db "$FDB" --json
[ "$(jq -c '[.rules[] | .identifier + ":" + (.arches | join(","))]' "$tmp/out")" = "[\"$ARM:arm64\",\"$X86:x86_64\"]" ] ||
	bad "fat: two CDHash rules: $(cat "$tmp/out")"
[ "$(jq -r .rule.identifier "$tmp/out")" = $ARM ] || bad "fat: .rule is the first of .rules"
[ "$(jq -r '[.rules[] | select(.rule_type=="CDHASH") | .identifier] | sort | join(",")' <("$W" rule --list --json --db "$FDB"))" = "$ARM,$X86" ] ||
	bad "fat: both CDHash rules stored"
expect 0 "fat: both slices blocked" -- rule --check --path $fat --arch arm64 --db "$FDB" --json
[ "$(jq -r .decision "$tmp/out")" = block ] || bad "fat: arm64 blocked too"
expect 0 "fat: remove every slice's CDHash rule" -- rule --remove --cdhash --path $fat --db "$FDB" --json
[ "$(jq -c .identifiers "$tmp/out")" = "[\"$ARM\",\"$X86\"]" ] || bad "fat: removed both: $(cat "$tmp/out")"
expect 1 "fat: nothing left to remove" -- rule --remove --cdhash --path $fat --db "$FDB"
grep -q "no local CDHASH rule for any slice" "$tmp/err" || bad "fat: says no slice had one"
expect 0 "fat: signing ID shared by both slices: one rule" -- rule --allow --signingid --path $fat --db "$FDB"
[ "$(grep -c '^Added' "$tmp/out")" = 1 ] && grep -q "UBF8T346G9:msal-node-runtime (arm64, x86_64 slices)" "$tmp/out" ||
	bad "fat: one signing ID rule: $(cat "$tmp/out")"
expect 0 "fat: allowed on both slices" -- rule --check --path $fat --db "$FDB" --json
[ "$(jq -r '.decision + " " + .rule.rule_type' "$tmp/out")" = "allow SIGNINGID" ] || bad "fat: allowed by signing ID"
# A universal file whose x86_64 slice has no team: a team rule would cover half of it.
python3 tests/tools/mkfat.py "$tmp/mixed" tests/fixtures/msal-node-runtime-0.20.7-arm64.node tests/fixtures/go-hello-x86_64
expect 1 "mixed fat: a team rule needs every slice signed" -- rule --allow --teamid --path "$tmp/mixed" --db "$FDB"
grep -q "its adhoc code signature (x86_64 slice) has no usable Team ID; --arch ARCH makes the rule for one slice (it has arm64, x86_64)" "$tmp/err" ||
	bad "mixed fat: says which slice and what to do: $(cat "$tmp/err")"
expect 0 "mixed fat: --arch arm64 makes it" -- rule --allow --teamid --arch arm64 --path "$tmp/mixed" --db "$FDB"
expect 0 "mixed fat: unknown x86_64 slice" -- rule --check --path "$tmp/mixed" --db "$FDB" --json
[ "$(jq -r '.decision + " " + .arch' "$tmp/out")" = "none x86_64" ] || bad "mixed fat: no rule for x86_64 decides (the mode)"

# ------------------------------------------------------------------ export / import
expect 0 "export" -- rule --export "$tmp/exported.json"
[ "$(jq '.rules | length' "$tmp/exported.json")" = 5 ] || bad "export has 5 rules"
jq -e '.rules[] | select(.rule_type=="BINARY") | .expires_at' "$tmp/exported.json" >/dev/null ||
	bad "export keeps the expiry"
before=$tmp/before.json
snapshot >"$before"

# ------------------------------------------------------------------ bad input
expect 1 "invalid CDHash" -- rule --allow --cdhash --identifier 1234
grep -q -- "--identifier '1234'" "$tmp/err" || bad "error names --identifier"
expect 1 "invalid team ID" -- rule --block --teamid --identifier EQHXZ8M8A
expect 1 "signing ID without team" -- rule --block --signingid --identifier com.example.tool
expect 1 "bad --expires" -- rule --allow --teamid --identifier AAAAAAAAAA --expires soon
expect 1 "--expires in the past" -- rule --allow --teamid --identifier AAAAAAAAAA --expires 2001-01-01
expect 1 "remove a rule that does not exist" -- rule --remove --teamid --identifier AAAAAAAAAA
echo '{"rules":[{"identifier":"AAAAAAAAAA","policy":"ALLOWLIST","rule_type":"TEAMID"},' >"$tmp/trunc.json"
expect 1 "truncated JSON" -- rule --import "$tmp/trunc.json"
grep -q "nothing was imported" "$tmp/err" || bad "says nothing was imported"
cat >"$tmp/badpol.json" <<EOF
{"rules":[{"identifier":"AAAAAAAAAA","policy":"ALLOWLIST","rule_type":"TEAMID"},
          {"identifier":"BBBBBBBBBB","policy":"PERMIT","rule_type":"TEAMID"}]}
EOF
expect 1 "unknown policy" -- rule --import "$tmp/badpol.json"
grep -q "rules\[1\].policy" "$tmp/err" || bad "error names rules[1].policy"
cat >"$tmp/badtype.json" <<EOF
{"rules":[{"identifier":"AAAAAAAAAA","policy":"ALLOWLIST","rule_type":"TEAM"}]}
EOF
expect 1 "unknown rule type" -- rule --import "$tmp/badtype.json"
cat >"$tmp/dup.json" <<EOF
{"rules":[{"identifier":"AAAAAAAAAA","policy":"ALLOWLIST","rule_type":"TEAMID"},
          {"identifier":"$sha","policy":"ALLOWLIST","rule_type":"BINARY"},
          {"identifier":"aaaaaaaaaa","policy":"BLOCKLIST","rule_type":"TEAMID"}]}
EOF
expect 1 "duplicate rule in one import" -- rule --import "$tmp/dup.json"
grep -q "rules\[2\]" "$tmp/err" || bad "error names the duplicate"
truncate -s 300M "$tmp/huge.json"
expect 1 "huge JSON" -- rule --import "$tmp/huge.json"
grep -q "more than" "$tmp/err" || bad "says it is too big"
rm -f "$tmp/huge.json"
same_as "$before" "after bad input"

# A corrupt database: clear error, file untouched.
head -c 65536 /dev/urandom >"$tmp/state/corrupt.db"
chmod 600 "$tmp/state/corrupt.db"
sum=$(sha256sum <"$tmp/state/corrupt.db")
expect 1 "corrupt database (read)" -- rule --list --db "$tmp/state/corrupt.db"
grep -q "corrupt" "$tmp/err" || bad "says corrupt"
expect 1 "corrupt database (write)" -- rule --allow --teamid --identifier AAAAAAAAAA --db "$tmp/state/corrupt.db"
[ "$(sha256sum <"$tmp/state/corrupt.db")" = "$sum" ] && ok "corrupt file untouched" || bad "corrupt file changed"
# A database someone else could write.
chmod 666 "$WARDEN_DB"
expect 1 "world-writable database refused" -- rule --list
grep -q "writable by everyone" "$tmp/err" || bad "says why"
expect 1 "world-writable database refused for writing" -- rule --allow --teamid --identifier AAAAAAAAAA
chmod 600 "$WARDEN_DB"
same_as "$before" "after refused databases"

# ------------------------------------------------------------------ non-root
nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
chmod 755 "$tmp" "$tmp/state"
chmod 644 "$WARDEN_DB" "$WARDEN_DB-wal" "$WARDEN_DB-shm"
nobody "$W" rule --allow --teamid --identifier AAAAAAAAAA >"$tmp/out" 2>"$tmp/err"
[ $? = 1 ] && grep -q "requires root" "$tmp/err" && ok "non-root cannot add" || bad "non-root add"
nobody "$W" rule --remove --teamid --identifier $TEAM >"$tmp/out" 2>"$tmp/err"
[ $? = 1 ] && grep -q "requires root" "$tmp/err" && ok "non-root cannot remove" || bad "non-root remove"
nobody "$W" rule --import "$tmp/exported.json" >"$tmp/out" 2>"$tmp/err"
[ $? = 1 ] && grep -q "requires root" "$tmp/err" && ok "non-root cannot import" || bad "non-root import"
nobody "$W" rule --check --teamid --identifier $TEAM --json >"$tmp/out" 2>"$tmp/err"
[ $? = 0 ] && [ "$(jq -r .decision "$tmp/out")" = allow ] && ok "non-root can check (readable store)" ||
	{ bad "non-root check"; cat "$tmp/err"; }
chmod 600 "$WARDEN_DB" "$WARDEN_DB-wal" "$WARDEN_DB-shm"
chmod 700 "$tmp/state"
nobody "$W" rule --list >"$tmp/out" 2>"$tmp/err"
[ $? = 1 ] && grep -q "$tmp/state" "$tmp/err" && ok "non-root without read access: clear error" ||
	bad "non-root unreadable store"
chmod 700 "$tmp"
same_as "$before" "after non-root attempts"

# ------------------------------------------------------------------ remove, round trip
expect 0 "remove by path" -- rule --remove --path "$elf"
expect 0 "check after remove" -- rule --check --path "$elf" --json
[ "$(jq -r .decision "$tmp/out")" = none ] || bad "no rule after remove"
expect 0 "import the export back" -- rule --import "$tmp/exported.json" --json
[ "$(jq -r .added_or_replaced "$tmp/out")" = 5 ] || bad "5 imported"
expect 0 "export again" -- rule --export "$tmp/again.json"
diff -q "$tmp/exported.json" "$tmp/again.json" >/dev/null && ok "export/import/export round trip" ||
	{ bad "round trip differs"; diff "$tmp/exported.json" "$tmp/again.json" | head; }
expect 0 "import Santa fixture" -- rule --import tests/fixtures/rules/santa_rules.json
expect 0 "REMOVE in an import" -- rule --import <(echo '{"rules":[{"identifier":"EQHXZ8M8AV","policy":"REMOVE","rule_type":"TEAMID"}]}')
expect 0 "check removed team" -- rule --check --teamid --identifier $TEAM --json
[ "$(jq -r .decision "$tmp/out")" = none ] || bad "REMOVE deleted the team rule"

# ------------------------------------------------------------------ SIGKILL mid-import
n=500000
awk -v n=$n 'BEGIN { printf "{\"rules\":[\n";
	for (i = 0; i < n; i++)
		printf "%s{\"identifier\":\"%016x%016x%016x%016x\",\"policy\":\"BLOCKLIST\",\"rule_type\":\"BINARY\",\"custom_msg\":\"bulk %d\"}\n",
		       (i ? "," : ""), i, i * 7, i * 13, i * 31, i;
	printf "]}\n" }' >"$tmp/big.json"
"$W" rule --export "$tmp/pre-kill.json" >/dev/null || bad "export before kill"
"$W" rule --import "$tmp/big.json" >/dev/null 2>&1 &
bg=$!
# Wait until the import is inside its write transaction: SQLite then holds the WAL
# write lock, a POSIX lock on byte 120 of the -shm file (see /proc/locks). Kill it a
# moment later, while it is inserting (the commit at the end is short).
shm_ino=$(stat -c %i "$WARDEN_DB-shm")
killed=0
for _ in $(seq 1 1200); do
	if ! kill -0 "$bg" 2>/dev/null; then break; fi
	if grep -qE "^[0-9]+: POSIX +ADVISORY +WRITE +$bg +[0-9a-f]+:[0-9a-f]+:$shm_ino 120 120\$" /proc/locks; then
		sleep 0.3
		kill -9 "$bg" && killed=1
		break
	fi
	sleep 0.05
done
wait "$bg" 2>/dev/null
st=$?
bg=""
if [ $killed = 1 ] && [ $st = 137 ]; then
	ok "import killed inside its write transaction"
else
	bad "could not kill the import in the middle (killed=$killed exit=$st)"
fi
"$W" rule --export "$tmp/post-kill.json" >/dev/null || bad "export after kill"
diff -q "$tmp/pre-kill.json" "$tmp/post-kill.json" >/dev/null && ok "store exactly as before the killed import" ||
	bad "killed import left changes"
[ "$(sqlite3 "$WARDEN_DB" 'PRAGMA integrity_check')" = ok ] && ok "integrity_check ok" || bad "integrity_check"
# And the same import, not killed, goes through whole.
expect 0 "the 500k import completes" -- rule --import "$tmp/big.json" --json
[ "$(jq -r .added_or_replaced "$tmp/out")" = $n ] || bad "500k imported"

echo "rules.sh: $fails failure(s)"
[ $fails = 0 ]
