#!/usr/bin/env bash
# A/B of the agent's own decision latency between two builds, interleaved round by round
# (not part of `make bench`: it needs a second build). For each build and round: a fresh
# wardend (MONITOR, default configuration, no ground) on a private tmpfs, a storm of 2000
# distinct small static programs never seen (cold exec decisions), then `cat` of 2000
# small files (open decisions); prints "BUILD exec_p50 exec_p99 all_p50 all_p99" (us,
# from the agent's histogram; "all" adds the opens to the execs).
#   usage: tests/bench/tools/ab_latency.sh OLD_BUILD_DIR NEW_BUILD_DIR   (as root)
# Example: git worktree add /tmp/old <rev> && make -C /tmp/old all, then
#   tests/bench/tools/ab_latency.sh /tmp/old/build build
set -u
[ $# = 2 ] || { echo "usage: $0 OLD_BUILD NEW_BUILD" >&2; exit 2; }
OLD=$(cd "$1" && pwd) NEW=$(cd "$2" && pwd)
here=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${IN_NS:-}" ]; then IN_NS=1 exec unshare -m --propagation private bash "$0" "$@"; fi
W=$(mktemp -d -p /run ab.XXXX); MNT=$W/mnt; mkdir $MNT
AGENT=
trap '[ -n "$AGENT" ] && kill $AGENT; wait; umount $MNT; rm -rf $W' EXIT
mount -t tmpfs -o size=256m,mode=0755 p $MNT
cc -O2 -static -nostdlib -o $W/prog $here/nolibc_exit.c; cc -O2 -o $W/spawn $here/spawn.c
N=2000
mkdir $MNT/t; for i in $(seq 0 1999); do echo $i > $MNT/t/$i; done
run() { # build-dir round
	local B=$1
	rm -rf $MNT/d; mkdir $MNT/d; for i in $(seq 0 $((N-1))); do cp $W/prog $MNT/d/$i; printf 'b-%d-%s' $i "$2" >>$MNT/d/$i; done
	rm -f $W/ctl.sock $W/rules.db
	$B/wardend --foreground --no-ground --mode monitor --watch $MNT --db $W/rules.db --socket $W/ctl.sock --event-log $W/ev.jsonl 2>$W/err &
	AGENT=$!
	for _ in $(seq 200); do $B/wardenctl status --socket $W/ctl.sock >/dev/null 2>&1 && break; sleep 0.02; done
	$W/spawn $N $(printf "$MNT/d/%d " $(seq 0 $((N-1)))) >/dev/null
	local ex=$($B/wardenctl status --socket $W/ctl.sock --json | jq -r '"\(.latency_us.p50) \(.latency_us.p99)"')
	(cd $MNT/t && ls | xargs cat > /dev/null)
	local all=$($B/wardenctl status --socket $W/ctl.sock --json | jq -r '"\(.latency_us.p50) \(.latency_us.p99)"')
	kill $AGENT; wait $AGENT 2>/dev/null; AGENT=
	echo "$ex $all"
}
for r in $(seq ${ROUNDS:-4}); do
	echo "old $(run "$OLD" o$r)"
	echo "new $(run "$NEW" n$r)"
done
