#!/usr/bin/env bash
# Run each cmocka unit-test binary from the repository root; print one summary line.
set -u
cd "$(dirname "$0")/.."
pass=0 fail=0 failed=()
for t in "$@"; do
	if "$t"; then pass=$((pass + 1)); else fail=$((fail + 1)); failed+=("$t"); fi
done
echo "unit test programs: $pass passed, $fail failed"
[ "$fail" -eq 0 ] || { printf 'FAILED: %s\n' "${failed[@]}"; exit 1; }
