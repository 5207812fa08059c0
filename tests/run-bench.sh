#!/usr/bin/env bash
# Run every benchmark: compiled ones in $1/bench/, scripted ones in tests/bench/*.sh.
set -u
cd "$(dirname "$0")/.."
build=${1:-build}
export WARDEN_BUILD=$(cd "$build" && pwd)
echo "machine: $(nproc) cores, $(uname -r), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
rc=0
for b in "$build"/bench/bench_*; do
	[ -x "$b" ] || continue
	echo "=== $(basename "$b")"
	"$b" || rc=1
done
for s in tests/bench/*.sh; do
	[ -e "$s" ] || continue
	[ "$(basename "$s")" = lib.sh ] && continue # sourced by the others, not a benchmark
	echo "=== $s"
	bash "$s" || rc=1
done
exit $rc
