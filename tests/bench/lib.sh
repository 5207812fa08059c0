# tests/bench/lib.sh: shared by the scripted benchmarks (exec.sh, exec_yara.sh, fileaccess.sh): a private mount
# namespace, a watched tmpfs ($MNT) and an unwatched ramfs baseline ($BASE) under $WORK,
# wardend and fapolicyd started and stopped there, cleanup on every exit path.
# Source it, then call bench_init NAME "$@" first.
#
# Safety: everything runs in a private mount namespace (unshare -m): the tmpfs and
# ramfs exist only there, wardend marks only that tmpfs, and fapolicyd's mount marks land
# on the namespace's private copies of the mounts, so no process outside the benchmark
# is ever stopped by either agent.

WORK= AGENT= FAPD= BENCH_NAME=
bench_cleanup() {
	local rc=$?
	trap - EXIT INT TERM HUP
	[ -n "$AGENT" ] && { kill -TERM "$AGENT" 2>/dev/null; wait "$AGENT" 2>/dev/null; }
	[ -n "$FAPD" ] && { kill -TERM "$FAPD" 2>/dev/null; wait "$FAPD" 2>/dev/null; }
	[ -n "$WORK" ] && { umount "$WORK/mnt" "$WORK/base" 2>/dev/null; rm -rf "$WORK"; }
	exit $rc
}

# bench_init NAME TMPFS_SIZE SCRIPT ARGS...: root or skip; re-exec SCRIPT in a private
# mount namespace; then $WORK, $MNT (tmpfs) and $BASE (ramfs), removed on exit.
bench_init() {
	BENCH_NAME=$1
	local size=$2 script=$3
	shift 3
	if [ "$(id -u)" != 0 ]; then
		echo "$BENCH_NAME bench: skipped (needs root for fanotify)"
		exit 0
	fi
	if [ -z "${WARD_BENCH_IN_NS:-}" ]; then
		WARD_BENCH_IN_NS=1 exec unshare -m --propagation private bash "$script" "$@"
	fi
	trap bench_cleanup EXIT
	trap 'exit 1' INT TERM HUP
	WORK=$(mktemp -d -p /run warden-bench.XXXXXX)
	MNT=$WORK/mnt BASE=$WORK/base
	mkdir "$MNT" "$BASE"
	mount -t tmpfs -o "size=$size,mode=0755" warden-bench "$MNT" &&
		mount -t ramfs -o mode=0755 warden-bench-base "$BASE" ||
		{ echo "$BENCH_NAME bench: cannot mount"; exit 1; }
}

# start_wardend [ARGS...]: wardend (or $WARDEND_BIN) watching $MNT, ready on return; no
# BPF ground (it would decide execs outside the namespace's tmpfs too).
start_wardend() {
	rm -f "$WORK/ctl.sock" "$WORK/rules.db" "$WORK/events.jsonl"
	"$WARDEN_BUILD/${WARDEND_BIN:-wardend}" --foreground --no-ground --mode monitor --watch "$MNT" --db "$WORK/rules.db" \
		--socket "$WORK/ctl.sock" --event-log "$WORK/events.jsonl" "$@" 2>>"$WORK/wardend.err" &
	AGENT=$!
	for _ in $(seq 300); do
		"$WARDEN_BUILD/wardenctl" status --socket "$WORK/ctl.sock" >/dev/null 2>&1 && return 0
		sleep 0.02
	done
	echo "$BENCH_NAME bench: wardend did not start"; cat "$WORK/wardend.err"; exit 1
}
stop_agent() { kill -TERM "$AGENT" 2>/dev/null; wait "$AGENT" 2>/dev/null; AGENT=; }
agent_status() { "$WARDEN_BUILD/wardenctl" status --json --socket "$WORK/ctl.sock"; }

# fapd_prepare RULE...: fapolicyd with a private /etc/fapolicyd, /var/lib/fapolicyd and
# /run/fapolicyd (bind mounts in this namespace only): uid root, trust = file,
# permissive, watch tmpfs; each RULE is a line of rules.d/10-bench.rules, or a file
# (an absolute path) copied into rules.d. Returns 1 (with a note) if it cannot be set up.
fapd_prepare() {
	command -v fapolicyd >/dev/null && command -v fagenrules >/dev/null || return 1
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
	local r
	for r in "$@"; do
		case $r in
		/*) cp "$r" "$WORK/fapd/etc/rules.d/" 2>/dev/null ;;
		*) echo "$r" >>"$WORK/fapd/etc/rules.d/10-bench.rules" ;;
		esac
	done
	: >"$WORK/fapd/etc/fapolicyd.trust"
	[ -f /etc/fapolicyd/fapolicyd-filter.conf ] && cp /etc/fapolicyd/fapolicyd-filter.conf "$WORK/fapd/etc/"
	mkdir -p /etc/fapolicyd /var/lib/fapolicyd /run/fapolicyd
	if mount --bind "$WORK/fapd/etc" /etc/fapolicyd && mount --bind "$WORK/fapd/lib" /var/lib/fapolicyd &&
	   mount --bind "$WORK/fapd/run" /run/fapolicyd && fagenrules >/dev/null 2>&1 &&
	   [ -s /etc/fapolicyd/compiled.rules ]; then
		return 0
	fi
	echo "$BENCH_NAME bench: fapolicyd could not be configured: its column is skipped"
	return 1
}

# start_fapolicyd: running and marking $MNT on return (1: it did not start).
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
	echo "$BENCH_NAME bench: fapolicyd did not start"; tail -5 "$WORK/fapolicyd.log"
	kill "$FAPD" 2>/dev/null; wait "$FAPD" 2>/dev/null; FAPD=
	return 1
}
stop_fapolicyd() { kill -TERM "$FAPD" 2>/dev/null; wait "$FAPD" 2>/dev/null; FAPD=; }
