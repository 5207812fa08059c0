#!/usr/bin/env bash
# Exec overhead of wardend (and of fapolicyd, the peer), per BENCH-NOTES.md:
# posix_spawn of a static no-libc program, one run, medians, ratios to a no-agent
# baseline measured side by side.
#
# Pairing: the program under test lives on a private tmpfs that the agent watches; the
# baseline copy lives on a private ramfs that no agent watches (wardend marks only the
# tmpfs; fapolicyd is told watch_fs = tmpfs). So baseline and agent samples alternate in
# short chunks while the agent keeps running, and each chunk pair gives one ratio:
# drift on this shared machine hits both sides of a pair alike.
#   fs          no agent: tmpfs copy vs ramfs copy (should be ~1.00: the pairing is fair)
#   cold        wardend MONITOR, 1000 distinct programs never seen (a full decision
#               each) vs 1000 distinct programs on ramfs
#   warm        wardend MONITOR, one program: kernel cache (inode ignore mark) warm
#   ucache      wardend MONITOR --no-kernel-cache: every exec answered from the
#               user-space cache (one round trip through the agent)
#   es-emul     wardend-es (the EndpointSecurity backend on the ES emulation), MONITOR,
#               one program: ES's cache (emulated) warm
#   fapolicyd   fapolicyd 1.1.7, permissive, one "allow perm=any all : all" rule
# Also the agent's own decision latency (p50/p99/max from its histogram) over each
# storm of 1000 distinct binaries.
#
# Safety: a private mount namespace (tests/bench/lib.sh). Needs root; exits 0
# with a note otherwise.
set -u
ROUNDS=${BENCH_ROUNDS:-3}   # agent restarts (cold storms) per configuration
PAIRS=${BENCH_PAIRS:-8}     # baseline/agent chunk pairs per round
CHUNK=${BENCH_CHUNK:-250}   # execs per chunk
here=$(cd "$(dirname "$0")" && pwd)
WARDEN_BUILD=${WARDEN_BUILD:-$here/../../build}

if [ "$(id -u)" = 0 ] && [ -z "${WARD_BENCH_IN_NS:-}" ] && ! command -v fapolicyd >/dev/null; then
	# fapolicyd is the peer; install it here (not a build dependency).
	echo "exec bench: installing fapolicyd (Debian package) for the comparison"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fapolicyd >/dev/null 2>&1 ||
		echo "exec bench: fapolicyd not installable: its column is skipped"
fi
. "$here/lib.sh"
bench_init exec 64m "$0" "$@"

cc -O2 -static -nostdlib -o "$WORK/prog" "$here/nolibc_exit.c" || exit 1
cc -O2 -o "$WORK/spawn" "$here/spawn.c" || exit 1
for dir in "$MNT" "$BASE"; do
	cp "$WORK/prog" "$dir/prog"
	mkdir "$dir/d"
	for i in $(seq 0 999); do cp "$WORK/prog" "$dir/d/$i"; printf 'bench-%d' "$i" >>"$dir/d/$i"; done
done
DISTINCT=$(printf "$MNT/d/%d " $(seq 0 999))
BDISTINCT=$(printf "$BASE/d/%d " $(seq 0 999))
SPAWN=$WORK/spawn

# fapolicyd: one "allow perm=any all : all" rule
HAVE_FAPD=
fapd_prepare 'allow perm=any all : all' && HAVE_FAPD=1

declare -A S R   # per configuration: us/exec samples, and baseline-paired ratios
add() { S[$1]="${S[$1]:-} $2"; }
ratio() { R[$1]="${R[$1]:-} $(awk -v a="$2" -v b="$3" 'BEGIN {printf "%.4f", a / b}')"; }
# pairs CONFIG: alternate baseline (ramfs) and agent (tmpfs) chunks; order flips each pair
pairs() {
	local b t
	for p in $(seq "$PAIRS"); do
		if [ $((p % 2)) = 1 ]; then
			b=$($SPAWN "$CHUNK" "$BASE/prog") && t=$($SPAWN "$CHUNK" "$MNT/prog") || exit 1
		else
			t=$($SPAWN "$CHUNK" "$MNT/prog") && b=$($SPAWN "$CHUNK" "$BASE/prog") || exit 1
		fi
		add "$1" "$t"; add "base" "$b"; ratio "$1" "$t" "$b"
	done
}
LAT=
for r in $(seq "$ROUNDS"); do
	pairs fs

	start_wardend
	b=$($SPAWN 1000 $BDISTINCT) && t=$($SPAWN 1000 $DISTINCT) || exit 1
	add cold "$t"; add base-1000 "$b"; ratio cold "$t" "$b"
	LAT="$LAT $(agent_status |
		jq -r '"\(.latency_us.p50)/\(.latency_us.p99)/\(.latency_us.max)"')"
	"$SPAWN" 1 "$MNT/prog" >/dev/null
	pairs warm
	stop_agent

	start_wardend --no-kernel-cache
	"$SPAWN" 1 "$MNT/prog" >/dev/null
	pairs ucache
	UC=$(agent_status |
		jq -r '"\(.cache.hits) cache hits of \(.events) events, agent p50/p99 \(.latency_us.p50)/\(.latency_us.p99) us"')
	stop_agent

	# the ES backend through the ES emulation (wardend-es): ES's cache, warm
	if [ -x "$WARDEN_BUILD/wardend-es" ]; then
		WARDEND_BIN=wardend-es start_wardend
		"$SPAWN" 1 "$MNT/prog" >/dev/null
		pairs es-emul
		stop_agent
	fi

	if [ -n "$HAVE_FAPD" ] && start_fapolicyd; then
		"$SPAWN" 1 "$MNT/prog" >/dev/null
		pairs fapolicyd
		stop_fapolicyd
	fi
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {if (NR==0) print "nan"; else if (NR%2) print a[(NR+1)/2]; else printf "%.4g\n", (a[NR/2]+a[NR/2+1])/2}'; }
spread() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {if (NR) printf "%.3f..%.3f", a[1], a[NR]}'; }
echo "exec overhead: $ROUNDS rounds x $PAIRS pairs x $CHUNK execs (cold: 1000 distinct per round)"
printf '  %-10s %9s %9s %9s   %-13s %s\n' config "us/exec" "base us" "ratio" "ratio range" "overhead"
b=$(echo "${S[base]}" | median)
for c in fs cold warm ucache es-emul fapolicyd; do
	[ -n "${S[$c]:-}" ] || { printf '  %-10s %9s\n' "$c" "skipped"; continue; }
	m=$(echo "${S[$c]}" | median)
	rb=$b; [ "$c" = cold ] && rb=$(echo "${S[base-1000]}" | median)
	rt=$(echo "${R[$c]}" | median)
	printf '  %-10s %9s %9s %8.3fx   %-13s %+.1f us (%+.1f%%)\n' "$c" "$m" "$rb" "$rt" \
		"$(echo "${R[$c]}" | spread)" "$(awk -v r="$rt" -v b="$rb" 'BEGIN {print (r - 1) * b}')" \
		"$(awk -v r="$rt" 'BEGIN {print (r - 1) * 100}')"
done
echo "  ratio = median of per-pair (agent chunk / adjacent baseline chunk); overhead = (ratio-1) x base"
echo "agent decision latency over each 1000-binary storm, p50/p99/max us:$LAT"
echo "ucache run: $UC"
