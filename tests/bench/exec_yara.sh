#!/usr/bin/env bash
# Decision latency of the real agent during an exec storm with YARA scanning (issue 6):
# 1000 distinct binaries (950 of 64 KB, 50 of 4 MB: the static no-libc program of
# exec.sh padded with random bytes), started by 4 concurrent spawners, wardend in
# MONITOR with the 400 generated rules of bench_scan (XProtect-like shapes) and
# ScanBudgetMs 100. Target: p99 of the agent's decision latency <= budget + 5 ms and no
# deadline misses (no decision later than that).
#
# Figures come from the agent itself: every unknown program is logged once, when it is
# decided, with latency_us (event read -> answer written). Side by side in the same
# run, interleaved round by round on the same files: the same storm with no rules
# loaded (no scanning), so the scan step's share is visible.
#
# Also: what an idle pool costs cached decisions. --no-kernel-cache makes every exec of
# one program a round trip answered from the agent's user-space cache; per-pair ratios
# (agent chunk / adjacent ramfs baseline chunk, as exec.sh) with rules loaded vs none.
#
# Safety as exec.sh: a private mount namespace; wardend marks only its private tmpfs.
# Needs root; exits 0 with a note otherwise. Runtime about a minute.
set -u
ROUNDS=${BENCH_ROUNDS:-2}
SPAWNERS=4
BUDGET=100
here=$(cd "$(dirname "$0")" && pwd)
WARDEN_BUILD=${WARDEN_BUILD:-$here/../../build}

. "$here/lib.sh"
if [ "$(id -u)" = 0 ] && [ ! -x "$WARDEN_BUILD/bench/bench_scan" ]; then
	echo "exec_yara bench: no $WARDEN_BUILD/bench/bench_scan (make bench builds it)"
	exit 1
fi
bench_init exec_yara 320m "$0" "$@"

cc -O2 -static -nostdlib -o "$WORK/prog" "$here/nolibc_exit.c" || exit 1
cc -O2 -o "$WORK/spawn" "$here/spawn.c" || exit 1
"$WARDEN_BUILD/bench/bench_scan" --write-rules "$WORK/rules.yar" || exit 1
printf '{"ClientMode":"MONITOR","ScanBudgetMs":%d}\n' "$BUDGET" >"$WORK/warden.conf"
mkdir "$MNT/d"
for i in $(seq 0 999); do
	f=$MNT/d/$i
	cp "$WORK/prog" "$f"
	if [ $((i % 20)) = 7 ]; then head -c $((4 << 20)) /dev/urandom >>"$f"; else head -c 65536 /dev/urandom >>"$f"; fi
	printf 'bench-yara-%d' "$i" >>"$f"
done
cp "$WORK/prog" "$MNT/prog"
cp "$WORK/prog" "$BASE/prog"
SPAWN=$WORK/spawn

status() { "$WARDEN_BUILD/wardenctl" status --json --socket "$WORK/ctl.sock"; }

# storm CONFIG: 1000 distinct binaries, SPAWNERS at once (interleaved slices)
declare -A LAT OVER PEND MISS WALL SCANS
storm() {
	local name=$1 t0 t1 pids=() s
	shift
	start_wardend --config "$WORK/warden.conf" --profiles-dir "" "$@"
	t0=$(date +%s%N)
	for s in $(seq 0 $((SPAWNERS - 1))); do
		"$SPAWN" $((1000 / SPAWNERS)) $(seq -f "$MNT/d/%g" "$s" "$SPAWNERS" 999) >/dev/null &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p" || { echo "exec_yara bench: a spawner failed"; exit 1; }; done
	t1=$(date +%s%N)
	for _ in $(seq 100); do   # the log writer is asynchronous
		[ "$(jq -s '[.[] | select(.kind == "exec")] | length' "$WORK/events.jsonl")" -ge 1000 ] && break
		sleep 0.05
	done
	LAT[$name]="${LAT[$name]:-} $(jq -r 'select(.kind == "exec") | .latency_us' "$WORK/events.jsonl" | tr '\n' ' ')"
	OVER[$name]=$(( ${OVER[$name]:-0} + $(jq -s --argjson b $(((BUDGET + 5) * 1000)) \
		'[.[] | select(.kind == "exec" and .latency_us > $b)] | length' "$WORK/events.jsonl") ))
	PEND[$name]=$(( ${PEND[$name]:-0} + $(jq -s '[.[] | select(.scan_pending == true)] | length' "$WORK/events.jsonl") ))
	local st; st=$(status)
	MISS[$name]=$(( ${MISS[$name]:-0} + $(echo "$st" | jq '.deadline.misses') ))
	SCANS[$name]="${SCANS[$name]:-}$(echo "$st" | jq -r '"\(.scan.scans)/\(.scan.timed_out)/\(.scan.busy) "')"
	WALL[$name]="${WALL[$name]:-} $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", (b - a) / 1e9}')"
	stop_agent
}

# idle CONFIG: user-space cache hits of one program, paired with ramfs chunks
declare -A R
ratio() { R[$1]="${R[$1]:-} $(awk -v a="$2" -v b="$3" 'BEGIN {printf "%.4f", a / b}')"; }
idle() {
	local name=$1 b t
	shift
	start_wardend --config "$WORK/warden.conf" --profiles-dir "" --no-kernel-cache "$@"
	"$SPAWN" 1 "$MNT/prog" >/dev/null
	for p in $(seq 6); do
		if [ $((p % 2)) = 1 ]; then
			b=$($SPAWN 250 "$BASE/prog") && t=$($SPAWN 250 "$MNT/prog") || exit 1
		else
			t=$($SPAWN 250 "$MNT/prog") && b=$($SPAWN 250 "$BASE/prog") || exit 1
		fi
		ratio "$name" "$t" "$b"
	done
	stop_agent
}

NORULES=(--yara "$WORK/none/*.yar")
YARA=(--yara "$WORK/rules.yar")
for r in $(seq "$ROUNDS"); do
	if [ $((r % 2)) = 1 ]; then storm none "${NORULES[@]}"; storm yara "${YARA[@]}"
	else storm yara "${YARA[@]}"; storm none "${NORULES[@]}"; fi
	idle none "${NORULES[@]}"
	idle yara "${YARA[@]}"
done

q() { # quantile Q of the numbers on stdin, in ms
	tr ' ' '\n' | grep -v '^$' | sort -n | awk -v q="$1" '{a[NR]=$1} END {
		if (NR == 0) { print "nan"; exit } i = int(q * NR + 0.999999); if (i < 1) i = 1; if (i > NR) i = NR
		printf "%.2f", a[i] / 1000 }'
}
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {if (NR==0) print "nan"; else if (NR%2) print a[(NR+1)/2]; else printf "%.4f\n", (a[NR/2]+a[NR/2+1])/2}'; }
echo "exec storm with YARA: $ROUNDS rounds x 1000 distinct binaries (950 x 64 KB, 50 x 4 MB), $SPAWNERS spawners,"
echo "  MONITOR, ScanBudgetMs $BUDGET; 'yara' = the 400 rules of bench_scan, 'none' = no rules (no scanning)"
printf '  %-5s %30s %18s %13s %16s %20s %s\n' config "decision p50/p99/max ms" "> budget+5 ms" "scan_pending" \
	"deadline misses" "scans/timed out/busy" "storm wall s"
for c in none yara; do
	l=${LAT[$c]}
	printf '  %-5s %30s %18s %13s %16s %20s %s\n' "$c" "$(echo "$l" | q 0.5) / $(echo "$l" | q 0.99) / $(echo "$l" | q 1)" \
		"${OVER[$c]}" "${PEND[$c]}" "${MISS[$c]}" "${SCANS[$c]}" "${WALL[$c]}"
done
p99=$(echo "${LAT[yara]}" | q 0.99)
awk -v p="$p99" -v b=$((BUDGET + 5)) -v o="${OVER[yara]}" 'BEGIN {
	printf "target (yara): p99 %s ms <= %d ms: %s; decisions over it: %d (target 0): %s\n", p, b,
		(p <= b ? "met" : "NOT met"), o, (o == 0 ? "met" : "NOT met") }'
echo "idle pool, cached decisions (user-space cache hits, --no-kernel-cache), median per-pair ratio to ramfs:"
echo "  no rules $(echo "${R[none]}" | median)x, 400 rules loaded (pool idle) $(echo "${R[yara]}" | median)x"
