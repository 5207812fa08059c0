#!/usr/bin/env bash
# wardenctl fileinfo on the committed fixtures: text and --json output, --arch, and the
# exit status and stderr for a missing file, a truncated Mach-O and a usage error.
set -u
cd "$(dirname "$0")/../.."
ctl=${WARDEN_BUILD:-build}/wardenctl
fx=tests/fixtures
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0 passes=0
ok() { echo "ok   - $1"; passes=$((passes + 1)); }
bad() { echo "FAIL - $1"; fails=$((fails + 1)); }
check() { if [ "$2" = "$3" ]; then ok "$1"; else bad "$1: got '$2', want '$3'"; fi; }

# --- text output: the Developer ID fixture
out=$("$ctl" fileinfo $fx/sentry-cli-2.43.0-arm64); rc=$?
check "text exit status" "$rc" 0
grep -q '^Type *: macho$' <<<"$out" && ok "text type" || bad "text type"
grep -q '^ *Signature *: signed$' <<<"$out" && ok "text signed" || bad "text signed"
grep -q '^ *CDHash *: f785335164a9feafb29cc45c9b4afcd5e8f76c0a$' <<<"$out" && ok "text cdhash" || bad "text cdhash"
grep -q '^ *Team ID *: 97JCY7859U$' <<<"$out" && ok "text team id" || bad "text team id"
grep -q '^ *Certificate CN *: Developer ID Application: GetSentry LLC (97JCY7859U)$' <<<"$out" \
	&& ok "text certificate CN" || bad "text certificate CN"
want=$(sha256sum $fx/sentry-cli-2.43.0-arm64 | cut -d' ' -f1)
grep -q "^SHA-256 *: $want\$" <<<"$out" && ok "text sha256 = sha256sum" || bad "text sha256"

# --- JSON: one object per file, fields per slice
json=$("$ctl" fileinfo --json $fx/go-hello-fat $fx/tiny-unsigned $fx/msal-node-runtime-0.20.7-arm64.node); rc=$?
check "json exit status" "$rc" 0
check "json: one line per file" "$(wc -l <<<"$json")" 3
check "json fat type" "$(jq -r 'select(.path|endswith("go-hello-fat")) | .type' <<<"$json")" fat
check "json fat slices" "$(jq -r 'select(.type=="fat") | [.slices[].arch] | join(",")' <<<"$json")" "arm64,x86_64"
check "json fat cdhashes" "$(jq -r 'select(.type=="fat") | [.slices[].cdhash] | join(",")' <<<"$json")" \
	"9d4a1e2efe83d8a9bbe984f252e46266c737fb64,4da97f08758084784a8c8a133742ec5c2ff332c3"
check "json fat status" "$(jq -r 'select(.type=="fat") | [.slices[].signature] | join(",")' <<<"$json")" "adhoc,adhoc"
check "json fat sha256" "$(jq -r 'select(.type=="fat") | .sha256' <<<"$json")" \
	"$(sha256sum $fx/go-hello-fat | cut -d' ' -f1)"
check "json unsigned" "$(jq -r 'select(.path|endswith("tiny-unsigned")) | .slices[0].signature' <<<"$json")" unsigned
check "json unsigned has no cdhash" "$(jq -r 'select(.path|endswith("tiny-unsigned")) | .slices[0].cdhash' <<<"$json")" null
check "json msal team" "$(jq -r 'select(.path|endswith(".node")) | .slices[0].team_id' <<<"$json")" UBF8T346G9
check "json msal cert" "$(jq -r 'select(.path|endswith(".node")) | .slices[0].certificate_sha256' <<<"$json")" \
	78e5ba39022953e1964e3d0e21a3cf51dfb15cfab5dd97c604629e187cfe501f
check "json adhoc team is null" "$(jq -r 'select(.type=="fat") | .slices[0].team_id' <<<"$json")" null

# --- FAT_MAGIC_64 made on disk by the fixture tool gives the same slices
python3 tests/tools/mkfat.py --64 "$tmp/fat64" $fx/go-hello-arm64 $fx/go-hello-x86_64
check "fat64 cdhashes" "$("$ctl" fileinfo --json "$tmp/fat64" | jq -r '[.slices[].cdhash] | join(",")')" \
	"9d4a1e2efe83d8a9bbe984f252e46266c737fb64,4da97f08758084784a8c8a133742ec5c2ff332c3"

# --- --arch (options may follow the paths)
check "--arch after path" "$("$ctl" fileinfo $fx/go-hello-fat --arch arm64 | grep -c '^Architecture')" 1
check "--arch x86_64 text" "$("$ctl" fileinfo --arch x86_64 $fx/go-hello-fat | grep -c '^Architecture')" 1
check "--arch x86_64 json" "$("$ctl" fileinfo --json --arch x86_64 $fx/go-hello-fat | jq -r '[.slices[].arch]|join(",")')" x86_64
"$ctl" fileinfo --arch ppc64 $fx/go-hello-fat >/dev/null 2>"$tmp/err"; rc=$?
check "--arch missing slice exit" "$rc" 1
grep -q "go-hello-fat: no ppc64 slice (it has arm64, x86_64)$" "$tmp/err" && ok "--arch missing slice named, with the slices it has" ||
	bad "--arch missing slice message: $(cat "$tmp/err")"
# The same wording as `rule --check --arch` (rules.sh); the file without it is not shown.
"$ctl" fileinfo --json --arch ppc $fx/msal-node-runtime-0.20.7-fat.node $fx/tiny-ppc >"$tmp/out" 2>"$tmp/err"; rc=$?
check "--arch ppc: exit" "$rc" 1
check "--arch ppc: only the file that has it" "$(jq -r '.path' "$tmp/out" | xargs -n1 basename)" tiny-ppc
grep -q "msal-node-runtime-0.20.7-fat.node: no ppc slice (it has arm64, x86_64)" "$tmp/err" &&
	ok "--arch ppc: the slices it has" || bad "--arch ppc message: $(cat "$tmp/err")"
"$ctl" fileinfo --arch x86_64 /bin/true >"$tmp/out" 2>"$tmp/err"; rc=$?
check "--arch on an ELF file: exit" "$rc" 1
grep -q "an elf file has no architecture slices" "$tmp/err" && ok "--arch on an ELF file: says why" ||
	bad "--arch on ELF: $(cat "$tmp/err")"
"$ctl" fileinfo --arch amd64 $fx/go-hello-fat >"$tmp/out" 2>"$tmp/err"; rc=$?
check "--arch with an unknown name: usage error" "$rc" 2
grep -q "'amd64': not an architecture name (arm64, arm64e, x86_64" "$tmp/err" && ok "unknown arch name: the names" ||
	bad "unknown arch: $(cat "$tmp/err")"
check "--arch on the signed universal fixture" \
	"$("$ctl" fileinfo --json --arch x86_64 $fx/msal-node-runtime-0.20.7-fat.node | jq -r '.slices[] | .arch + " " + .team_id + " " + .cdhash')" \
	"x86_64 UBF8T346G9 3471a5e71a1d53127fc83a04c12750554ecd8df9"

# --- a flipped byte in a code page: reported as invalid, not an error
cp $fx/go-hello-arm64 "$tmp/flipped"
printf '\x99' | dd of="$tmp/flipped" bs=1 seek=$((3 * 4096 + 7)) conv=notrunc status=none
out=$("$ctl" fileinfo --json "$tmp/flipped"); rc=$?
check "invalid signature exit" "$rc" 0
check "invalid status" "$(jq -r '.slices[0].signature' <<<"$out")" invalid
check "invalid reason" "$(jq -r '.slices[0].invalid_reason' <<<"$out")" "code page 3 (offset 12288) hash mismatch"

# --- a Developer ID binary with a flipped code page: its team ID is shown as unverified
# (issue 12: it was shown like a verified one)
cp $fx/sentry-cli-2.43.0-arm64 "$tmp/flipped-devid"
printf '\x99' | dd of="$tmp/flipped-devid" bs=1 seek=$((3 * 4096 + 7)) conv=notrunc status=none
out=$("$ctl" fileinfo "$tmp/flipped-devid")
grep -q '^ *Team ID *: 97JCY7859U (UNVERIFIED: the signature is invalid' <<<"$out" &&
	ok "invalid signature: team ID marked unverified" || bad "invalid signature team ID: $(grep 'Team ID' <<<"$out")"
check "invalid signature: json identity_verified" \
	"$("$ctl" fileinfo --json "$tmp/flipped-devid" | jq -r '.slices[0].identity_verified')" false
check "valid signature: json identity_verified" \
	"$("$ctl" fileinfo --json $fx/sentry-cli-2.43.0-arm64 | jq -r '.slices[0].identity_verified')" true

# --- other types
printf '#!/bin/sh\necho hi\n' >"$tmp/s.sh"
check "script type" "$("$ctl" fileinfo --json "$tmp/s.sh" | jq -r '.type + " " + .interpreter')" "script /bin/sh"
check "elf type" "$("$ctl" fileinfo --json /bin/true | jq -r .type)" elf

# --- failures: missing file, truncated Mach-O (exit 1, file named); usage (exit 2)
"$ctl" fileinfo "$tmp/nope" $fx/tiny-i386 >"$tmp/out" 2>"$tmp/err"; rc=$?
check "missing file exit" "$rc" 1
grep -q "$tmp/nope: .*No such file" "$tmp/err" && ok "missing file named on stderr" || bad "missing file stderr: $(cat "$tmp/err")"
grep -q "tiny-i386" "$tmp/out" && ok "other files still shown" || bad "other files still shown"
head -c 500000 $fx/go-hello-arm64 >"$tmp/trunc"
"$ctl" fileinfo --json "$tmp/trunc" >"$tmp/out" 2>"$tmp/err"; rc=$?
check "truncated exit" "$rc" 1
grep -q "$tmp/trunc: truncated: code signature" "$tmp/err" && ok "truncated named on stderr" || bad "truncated stderr: $(cat "$tmp/err")"
check "truncated prints no object" "$(wc -c <"$tmp/out")" 0
"$ctl" fileinfo >/dev/null 2>&1; check "no path exit" "$?" 2
"$ctl" fileinfo --bogus $fx/tiny-i386 >/dev/null 2>&1; check "unknown option exit" "$?" 2
"$ctl" fileinfo --arch >/dev/null 2>&1; check "--arch without value exit" "$?" 2
"$ctl" fileinfo --help | grep -q '^usage: wardenctl fileinfo' && ok "--help" || bad "--help"

echo "fileinfo checks: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
