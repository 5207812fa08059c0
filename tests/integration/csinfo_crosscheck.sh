#!/usr/bin/env bash
# Cross-check: for every Mach-O fixture, wardenctl fileinfo --json and the independent
# Python reader tests/tools/csinfo.py must agree on arch, status, CDHash, hash type,
# CodeDirectory version and flags, signing ID and (for signed slices) team ID and leaf
# certificate. Skips (77) when python3 or its `cryptography` package is missing.
set -u
cd "$(dirname "$0")/../.."
ctl=${WARDEN_BUILD:-build}/wardenctl
python3 -c 'import cryptography' 2>/dev/null || { echo "skip: python3 cryptography not installed"; exit 77; }
fails=0 passes=0
for f in tests/fixtures/go-hello-* tests/fixtures/tiny-* tests/fixtures/sentry-cli-* tests/fixtures/msal-*; do
	ours=$("$ctl" fileinfo --json "$f" | jq -c '[.slices[] | [.arch, .signature, .cdhash, .hash_type,
		.cd_version, .cd_flags, .signing_id, .team_id, .certificate_sha256, .certificate_cn,
		.certificate_ou]]')
	theirs=$(python3 tests/tools/csinfo.py "$f" 2>/dev/null | jq -s -c '[.[] |
		[(if .arch == "cpu:18" then "ppc" else .arch end), .signature, .cdhash, .hash_type,
		 .cd_version, .cd_flags, .signing_id, (if .signature == "signed" then .team_id else null end),
		 .certificate_sha256, .certificate_cn, .certificate_ou]]')
	if [ "$ours" = "$theirs" ]; then
		echo "ok   - $f"; passes=$((passes + 1))
	else
		echo "FAIL - $f"; echo "  wardenctl: $ours"; echo "  csinfo.py: $theirs"; fails=$((fails + 1))
	fi
done
echo "csinfo crosscheck: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
