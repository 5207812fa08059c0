#!/usr/bin/env bash
# Run every tests/integration/*.sh scenario against the built binaries in $1.
# Each scenario is a standalone script that exits 0 on success; scenarios that need
# root (fanotify) skip themselves with exit 77 when not root.
set -u
cd "$(dirname "$0")/.."
build=${1:-build}
export WARDEN_BUILD=$(cd "$build" && pwd)
pass=0 fail=0 skip=0 failed=()
for t in tests/integration/*.sh; do
	[ -e "$t" ] || continue
	case $(basename "$t") in lib.sh | *_lib.sh) continue ;; esac   # helpers, not scenarios
	echo "=== $t"
	bash "$t"
	rc=$?
	case $rc in
	0) pass=$((pass + 1)) ;;
	77) skip=$((skip + 1)); echo "--- skipped $t" ;;
	*) fail=$((fail + 1)); failed+=("$t"); echo "--- FAILED $t (exit $rc)" ;;
	esac
done
echo "integration: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ] || { printf 'FAILED: %s\n' "${failed[@]}"; exit 1; }
