#!/usr/bin/env bash
# Exec overhead of wardend (and of fapolicyd, the peer), per BENCH-NOTES.md:
# posix_spawn of a static no-libc program on a private tmpfs, interleaved rounds in one
# run, medians, ratios to the no-agent baseline. Configurations:
#   base        no agent, one program exec'd N times
#   base-1000   no agent, 1000 distinct programs, each once
#   cold        wardend MONITOR, 1000 distinct programs never seen: a full decision each
#   warm        wardend MONITOR, one program: kernel cache (inode ignore mark) warm
#   ucache      wardend MONITOR --no-kernel-cache: every exec answered from the
#               user-space cache (one round trip through the agent)
#   fapolicyd   fapolicyd 1.1.7, permissive, one "allow perm=any all : all" rule
# Also the agent's own decision latency (p50/p99/max from its histogram) over each
# storm of 1000 distinct binaries.
#
# Safety: everything runs in a private mount namespace (unshare -m): the tmpfs exists
# only there, wardend marks only that tmpfs's superblock, and fapolicyd's mount marks
# land on the namespace's private copies of the mounts, so no process outside the
# benchmark is ever stopped by either agent. Needs root; exits 0 with a note otherwise.
set -u
ROUNDS=${BENCH_ROUNDS:-5}
N=${BENCH_EXECS:-2000}
here=$(cd "$(dirname "$0")" && pwd)
WARDEN_BUILD=${WARDEN_BUILD:-$here/../../build}

if [ "$(id -u)" != 0 ]; then
	echo "exec bench: skipped (needs root for fanotify)"
	exit 0
fi
if [ -z "${WARD_BENCH_IN_NS:-}" ]; then
	# fapolicyd is the peer; install it here (not a build dependency).
	if ! command -v fapolicyd >/dev/null; then
		echo "exec bench: installing fapolicyd (Debian package) for the comparison"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fapolicyd >/dev/null 2>&1 ||
			echo "exec bench: fapolicyd not installable: its column is skipped"
	fi
	WARD_BENCH_IN_NS=1 exec unshare -m --propagation private bash "$0" "$@"
fi

WORK= AGENT= FAPD=
cleanup() {
	local rc=$?
	trap - EXIT INT TERM HUP
	[ -n "$AGENT" ] && { kill -TERM "$AGENT" 2>/dev/null; wait "$AGENT" 2>/dev/null; }
	[ -n "$FAPD" ] && { kill -TERM "$FAPD" 2>/dev/null; wait "$FAPD" 2>/dev/null; }
	[ -n "$WORK" ] && { umount "$WORK/mnt" 2>/dev/null; rm -rf "$WORK"; }
	exit $rc
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
WORK=$(mktemp -d -p /run warden-bench.XXXXXX)
MNT=$WORK/mnt
mkdir "$MNT"
mount -t tmpfs -o size=64m,mode=0755 warden-bench "$MNT" || { echo "exec bench: cannot mount tmpfs"; exit 1; }

cc -O2 -static -nostdlib -o "$WORK/prog" "$here/nolibc_exit.c" || exit 1
cc -O2 -o "$WORK/spawn" "$here/spawn.c" || exit 1
cp "$WORK/prog" "$MNT/prog"
mkdir "$MNT/d"
for i in $(seq 0 999); do cp "$WORK/prog" "$MNT/d/$i"; printf 'bench-%d' "$i" >>"$MNT/d/$i"; done
DISTINCT=$(printf "$MNT/d/%d " $(seq 0 999))
SPAWN=$WORK/spawn

start_wardend() {
	rm -f "$WORK/ctl.sock" "$WORK/rules.db"
	"$WARDEN_BUILD/wardend" --foreground --mode monitor --watch "$MNT" --db "$WORK/rules.db" \
		--socket "$WORK/ctl.sock" --event-log "$WORK/events.jsonl" "$@" 2>>"$WORK/wardend.err" &
	AGENT=$!
	for _ in $(seq 200); do
		"$WARDEN_BUILD/wardenctl" status --socket "$WORK/ctl.sock" >/dev/null 2>&1 && return 0
		sleep 0.02
	done
	echo "exec bench: wardend did not start"; cat "$WORK/wardend.err"; exit 1
}
stop_agent() {
	kill -TERM "$AGENT" 2>/dev/null; wait "$AGENT" 2>/dev/null; AGENT=
}

# fapolicyd with a private /etc/fapolicyd, /var/lib/fapolicyd, /run/fapolicyd (bind
# mounts in this namespace only): uid root, trust = file, permissive, watch tmpfs.
HAVE_FAPD=
if command -v fapolicyd >/dev/null && command -v fagenrules >/dev/null; then
	mkdir -p "$WORK/fapd/etc/rules.d" "$WORK/fapd/etc/trust.d" "$WORK/fapd/lib" "$WORK/fapd/run"
	cat >"$WORK/fapd/etc/fapolicyd.conf" <<-'CONF'
	permissive = 1
	nice_val = 0
	q_size = 640
	uid = root
	gid = root
	do_stat_report = 0
	detailed_report = 0
	db_max_size = 50
	subj_cache_size = 1549
	obj_cache_size = 8191
	watch_fs = tmpfs
	trust = file
	integrity = none
	syslog_format = rule,dec,perm,auid,pid,exe,:,path,ftype,trust
	rpm_sha256_only = 0
	allow_filesystem_mark = 0
	CONF
	echo 'allow perm=any all : all' >"$WORK/fapd/etc/rules.d/10-allow-all.rules"
	: >"$WORK/fapd/etc/fapolicyd.trust"
	[ -f /etc/fapolicyd/fapolicyd-filter.conf ] && cp /etc/fapolicyd/fapolicyd-filter.conf "$WORK/fapd/etc/"
	mkdir -p /etc/fapolicyd /var/lib/fapolicyd /run/fapolicyd
	if mount --bind "$WORK/fapd/etc" /etc/fapolicyd && mount --bind "$WORK/fapd/lib" /var/lib/fapolicyd &&
	   mount --bind "$WORK/fapd/run" /run/fapolicyd && fagenrules >/dev/null 2>&1 &&
	   grep -q 'allow perm=any all : all' /etc/fapolicyd/compiled.rules; then
		HAVE_FAPD=1
	else
		echo "exec bench: fapolicyd could not be configured: its column is skipped"
	fi
fi
start_fapolicyd() {
	fapolicyd --debug-deny </dev/null >"$WORK/fapolicyd.log" 2>&1 &
	FAPD=$!
	# ready once its fanotify group has marked our tmpfs mount
	local mnt_id; mnt_id=$(awk -v m="$MNT" '$5 == m {print $1}' /proc/self/mountinfo)
	for _ in $(seq 500); do
		grep -qs "fanotify mnt_id:$(printf '%x' "$mnt_id") " /proc/"$FAPD"/fdinfo/* && return 0
		kill -0 "$FAPD" 2>/dev/null || break
		sleep 0.02
	done
	echo "exec bench: fapolicyd did not start"; tail -5 "$WORK/fapolicyd.log"; kill "$FAPD" 2>/dev/null; FAPD=
	return 1
}
stop_fapolicyd() {
	kill -TERM "$FAPD" 2>/dev/null; wait "$FAPD" 2>/dev/null; FAPD=
}

declare -A S   # samples per configuration: space-separated us/exec
add() { S[$1]="${S[$1]:-} $2"; }
LAT=
for r in $(seq "$ROUNDS"); do
	add base "$($SPAWN "$N" "$MNT/prog")" || exit 1
	add base-1000 "$($SPAWN 1000 $DISTINCT)" || exit 1

	start_wardend
	add cold "$($SPAWN 1000 $DISTINCT)" || exit 1
	LAT="$LAT $("$WARDEN_BUILD/wardenctl" status --json --socket "$WORK/ctl.sock" |
		jq -r '"\(.latency_us.p50)/\(.latency_us.p99)/\(.latency_us.max)"')"
	"$SPAWN" 1 "$MNT/prog" >/dev/null
	add warm "$($SPAWN "$N" "$MNT/prog")" || exit 1
	stop_agent

	add base "$($SPAWN "$N" "$MNT/prog")" || exit 1
	start_wardend --no-kernel-cache
	"$SPAWN" 1 "$MNT/prog" >/dev/null
	add ucache "$($SPAWN "$N" "$MNT/prog")" || exit 1
	UC_HITS=$("$WARDEN_BUILD/wardenctl" status --json --socket "$WORK/ctl.sock" | jq .cache.hits)
	stop_agent

	if [ -n "$HAVE_FAPD" ]; then
		add base "$($SPAWN "$N" "$MNT/prog")" || exit 1
		if start_fapolicyd; then
			"$SPAWN" 1 "$MNT/prog" >/dev/null
			add fapolicyd "$($SPAWN "$N" "$MNT/prog")" || exit 1
			stop_fapolicyd
		fi
	fi
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {if (NR==0) print "nan"; else if (NR%2) print a[(NR+1)/2]; else printf "%.1f\n", (a[NR/2]+a[NR/2+1])/2}'; }
b=$(echo "${S[base]}" | median)
b1000=$(echo "${S[base-1000]}" | median)
echo "exec overhead: $ROUNDS interleaved rounds, $N execs per sample (1000 distinct for cold), medians"
printf '  %-10s %10s %9s %11s   %s\n' config "us/exec" "vs base" "overhead" samples
for c in base base-1000 cold warm ucache fapolicyd; do
	[ -n "${S[$c]:-}" ] || { printf '  %-10s %10s\n' "$c" "skipped"; continue; }
	m=$(echo "${S[$c]}" | median)
	ref=$b; [ "$c" = cold ] || [ "$c" = base-1000 ] && ref=$b1000
	printf '  %-10s %10s %8.3fx %+9.1f us   %s\n' "$c" "$m" "$(awk -v a="$m" -v b="$ref" 'BEGIN {print a / b}')" \
		"$(awk -v a="$m" -v b="$ref" 'BEGIN {print a - b}')" "${S[$c]# }"
done
echo "  (cold and base-1000 compare with each other; the rest with base)"
echo "agent decision latency over each 1000-binary storm, p50/p99/max us:$LAT"
echo "user-space cache hits in the last ucache sample: $UC_HITS"
