#!/usr/bin/env bash
# wardenctl scan, standalone: what a match means, JSON, exit codes, limits, rule errors.
set -u
W=${WARDEN_BUILD:-build}/wardenctl
[ -x "$W" ] || { echo "no $W"; exit 1; }
command -v jq >/dev/null || { echo "jq missing (make deps)"; exit 77; }
T=$(mktemp -d /tmp/warden-scan-it.XXXXXX)
trap 'rm -rf "$T"' EXIT
fail=0
check() { # name, condition already evaluated as $?
	if [ "$2" -eq 0 ]; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi
}

cat >"$T/rules.yar" <<'R'
rule marked : block { strings: $m = "WARDEN-IT-BLOCK" condition: $m }
rule by_meta { meta: warden_action = "block" strings: $m = "WARDEN-IT-META" condition: $m }
rule watched : audit { strings: $m = "WARDEN-IT-AUDIT" condition: $m }
rule noted { strings: $m = "WARDEN-IT-NOTE" condition: $m }
rule slow { strings: $r = /aa[a-z]{1,100}b/ condition: $r }
R
printf 'xx WARDEN-IT-BLOCK xx' >"$T/bad.bin"
printf 'xx WARDEN-IT-META xx' >"$T/meta.bin"
printf 'xx WARDEN-IT-AUDIT xx' >"$T/audit.bin"
printf 'xx WARDEN-IT-NOTE xx' >"$T/note.bin"
printf 'nothing here' >"$T/clean.bin"
head -c 4194304 /dev/zero | tr '\0' a >"$T/slow.bin"

out=$("$W" scan --rules "$T/rules.yar" "$T/bad.bin" 2>&1); rc=$?
[ $rc -eq 0 ] && grep -q "bad.bin: block (yara:rules:marked), 1 match" <<<"$out"; check "tag block: text, exit 0" $?

out=$("$W" scan --json --rules "$T/rules.yar" "$T/meta.bin" "$T/audit.bin" "$T/note.bin" "$T/clean.bin"); rc=$?
[ $rc -eq 0 ] && [ "$(wc -l <<<"$out")" -eq 4 ]; check "json: one line per file, exit 0" $?
sel() { jq -r --arg p "$T/$1" "select(.path == \$p) | $2" <<<"$out"; }
[ "$(sel meta.bin .action)" = block ] && [ "$(sel meta.bin .reason)" = yara:rules:by_meta ]; check "meta warden_action block" $?
[ "$(sel audit.bin .action)" = audit ] && [ "$(sel audit.bin '.matches[0].tags[0]')" = audit ]; check "audit tag" $?
[ "$(sel note.bin .action)" = none ] && [ "$(sel note.bin '.matches[0].rule')" = noted ] \
	&& [ "$(sel note.bin '.matches[0].action')" = none ]; check "rule without meaning: match, no effect" $?
[ "$(sel clean.bin .action)" = none ] && [ "$(sel clean.bin '.matches | length')" = 0 ] \
	&& [ "$(sel clean.bin .status)" = done ]; check "no match" $?
[ "$(sel clean.bin '.scan_ms | type')" = number ]; check "time taken reported" $?

"$W" scan --rules "$T/rules.yar" "$T/bad.bin" "$T/missing.bin" >"$T/o" 2>"$T/e"; rc=$?
[ $rc -eq 1 ] && grep -q "missing.bin: not scanned" "$T/e" && grep -q "bad.bin: block" "$T/o"
check "missing file: named, others still scanned, exit 1" $?

"$W" scan --rules "$T/rules.yar" --max-bytes 5 "$T/bad.bin" 2>"$T/e"; rc=$?
[ $rc -eq 1 ] && grep -q "over ScanMaxBytes (5)" "$T/e"; check "over --max-bytes: not scanned, exit 1" $?

start=$(date +%s)
"$W" scan --json --rules "$T/rules.yar" --timeout 1 "$T/slow.bin" >"$T/o" 2>"$T/e"; rc=$?
took=$(( $(date +%s) - start ))
[ $rc -eq 1 ] && [ "$(jq -r .status "$T/o")" = aborted ] && grep -q "hard limit of 1 s" "$T/e" && [ $took -le 5 ]
check "--timeout stops a slow scan (took ${took}s), exit 1" $?

printf 'rule ok { condition: true }\nrule broken { condition: and }\n' >"$T/broken.yar"
"$W" scan --rules "$T/broken.yar" "$T/bad.bin" 2>"$T/e"; rc=$?
[ $rc -eq 1 ] && grep -q "broken.yar:2:" "$T/e"; check "compile error names file:line, exit 1" $?

printf 'rule t { meta: warden_action = "deny" condition: true }\n' >"$T/typo.yar"
"$W" scan --rules "$T/typo.yar" "$T/bad.bin" 2>"$T/e"; rc=$?
[ $rc -eq 1 ] && grep -q 'warden_action must be' "$T/e"; check "unknown warden_action refused" $?

mkdir "$T/d"; cp "$T/rules.yar" "$T/d/one.yar"
printf 'rule marked { condition: false }\n' >"$T/d/two.yar"
out=$("$W" scan --json --rules "$T/d/*.yar" "$T/bad.bin"); rc=$?
[ $rc -eq 0 ] && [ "$(jq -r .reason <<<"$out")" = yara:one:marked ]; check "glob: namespace per file" $?

"$W" scan --rules "$T/nothing/*.yar" "$T/bad.bin" 2>"$T/e"; rc=$?
[ $rc -eq 1 ] && grep -q "no YARA rules" "$T/e"; check "no rules found: exit 1" $?

if command -v yarac >/dev/null; then
	yarac "$T/rules.yar" "$T/rules.yarc" && chmod 644 "$T/rules.yarc"
	out=$("$W" scan --json --rules "$T/rules.yarc" "$T/bad.bin"); rc=$?
	[ $rc -eq 0 ] && [ "$(jq -r .action <<<"$out")" = block ]; check "compiled rules (yarac)" $?
	chmod 666 "$T/rules.yarc"
	"$W" scan --rules "$T/rules.yarc" "$T/bad.bin" 2>"$T/e"; rc=$?
	[ $rc -eq 1 ] && grep -q "not group/other writable" "$T/e"; check "writable compiled rules refused" $?
fi

"$W" scan >/dev/null 2>&1; check "no path: exit 2" $(( $? == 2 ? 0 : 1 ))
"$W" scan --bogus x >/dev/null 2>&1; check "unknown option: exit 2" $(( $? == 2 ? 0 : 1 ))
"$W" scan --timeout 0 x >/dev/null 2>&1; check "bad --timeout: exit 2" $(( $? == 2 ? 0 : 1 ))
"$W" scan --help | grep -q -- "--json"; check "--help" $?
"$W" help | grep -q "^  scan "; check "listed in wardenctl help" $?

exit $fail
