#!/usr/bin/env bash
# Run each libFuzzer target for a bounded time over its checked-in corpus
# (tests/fuzz/corpus/<target>/); new inputs go to build/fuzz/corpus/<target>/.
set -u
cd "$(dirname "$0")/.."
secs=$1; shift
rc=0
for f in "$@"; do
	name=$(basename "$f")
	seed=tests/fuzz/corpus/$name
	work=build/fuzz/corpus/$name
	mkdir -p "$work" "$seed"
	echo "=== fuzz $name for ${secs}s"
	"$f" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix=build/fuzz/ "$work" "$seed" 2>&1 | tail -n 12 || rc=1
	[ "${PIPESTATUS[0]}" -eq 0 ] || rc=1
done
exit $rc
