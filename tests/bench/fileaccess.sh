#!/usr/bin/env bash
# Open overhead of file-access authorization: read every file of a 20 000-file tree
# (200 directories of 100 small files; `find | xargs cat`), paired with the same tree on
# a ramfs no agent watches, in alternating chunks while the agent runs, so drift on this
# shared machine hits both sides of a pair alike. Ratios are medians of the pairs:
#   fs          no agent (the pairing is fair: ~1.00)
#   elsewhere   wardend, 50 watch items on other paths of the same filesystem,
#               Interpreters [] (file access only): target <= 1.02
#   tree        wardend, the tree watched by an item that allows the reader (every
#               open decided, plain ALLOWs remembered per opener): target <= 1.10
#   programs    wardend with the default Interpreters and 50 items elsewhere: the
#               loader/interpreter check sees every open of the watched filesystem
#   fapolicyd   fapolicyd 1.1.7 with its recommended default rule set (README-rules:
#               10-languages ... 95-allow-open), permissive, watch_fs = tmpfs: every
#               open of the tree decided (fanotify mount marks in this namespace only)
# and the agent's own decision latency (p50/p99/max) for the opens it decided.
# Safety: a private mount namespace; the agent marks only its tmpfs. Needs root.
set -u
PAIRS=${BENCH_PAIRS:-5}
here=$(cd "$(dirname "$0")" && pwd)
WARDEN_BUILD=${WARDEN_BUILD:-$here/../../build}
if [ "$(id -u)" != 0 ]; then echo "fileaccess bench: skipped (needs root)"; exit 0; fi
if [ -z "${WARD_BENCH_IN_NS:-}" ]; then
	WARD_BENCH_IN_NS=1 exec unshare -m --propagation private bash "$0" "$@"
fi
WORK= AGENT= FAPD=
cleanup() {
	local rc=$?
	trap - EXIT INT TERM HUP
	[ -n "$AGENT" ] && { kill -TERM "$AGENT" 2>/dev/null; wait "$AGENT" 2>/dev/null; }
	[ -n "$FAPD" ] && { kill -TERM "$FAPD" 2>/dev/null; wait "$FAPD" 2>/dev/null; }
	[ -n "$WORK" ] && { umount "$WORK/mnt" "$WORK/base" 2>/dev/null; rm -rf "$WORK"; }
	exit $rc
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
WORK=$(mktemp -d -p /run warden-bench.XXXXXX)
MNT=$WORK/mnt BASE=$WORK/base
mkdir "$MNT" "$BASE"
mount -t tmpfs -o size=256m,mode=0755 warden-bench "$MNT" &&
	mount -t ramfs -o mode=0755 warden-bench-base "$BASE" || { echo "fileaccess bench: cannot mount"; exit 1; }
for root in "$MNT" "$BASE"; do
	mkdir -p "$root/tree"
	for d in $(seq 0 199); do
		mkdir "$root/tree/$d"
		(cd "$root/tree/$d" && for f in $(seq 0 99); do echo "$d/$f" >"$f"; done)
	done
done
mkdir -p "$MNT/elsewhere"
for i in $(seq 1 50); do mkdir -p "$MNT/elsewhere/$i"; echo x >"$MNT/elsewhere/$i/secret"; done
CAT=$(readlink -f "$(command -v cat)")

conf() { # $1: tree|elsewhere|programs
	jq -n --arg m "$MNT" --arg kind "$1" --arg cat "$CAT" '
	  [range(1; 51) | {key: "E\(.)", value: {Paths: [{Path: "\($m)/elsewhere/\(.)/", IsPrefix: true}],
	                                          Options: {AuditOnly: false},
	                                          Processes: [{BinaryPath: "/nonexistent"}]}}] | from_entries
	  | if $kind == "tree" then del(.["E50"]) + {Tree: {Paths: [{Path: "\($m)/tree/", IsPrefix: true}],
	                                               Options: {AuditOnly: false},
	                                               Processes: [{BinaryPath: $cat}]}} else . end
	  | {ClientMode: "MONITOR", FileAccessPolicy: {Version: "bench", WatchItems: .}}
	  + (if $kind == "programs" then {} else {Interpreters: []} end)' >"$WORK/warden.conf"
}
start_wardend() {
	rm -f "$WORK/ctl.sock" "$WORK/rules.db"
	"$WARDEN_BUILD/wardend" --foreground --mode monitor --watch "$MNT" --db "$WORK/rules.db" \
		--socket "$WORK/ctl.sock" --event-log "$WORK/events.jsonl" --config "$WORK/warden.conf" \
		--profiles-dir "$WORK/profiles" 2>>"$WORK/wardend.err" &
	AGENT=$!
	for _ in $(seq 200); do
		"$WARDEN_BUILD/wardenctl" status --socket "$WORK/ctl.sock" >/dev/null 2>&1 && return 0
		sleep 0.02
	done
	echo "fileaccess bench: wardend did not start"; cat "$WORK/wardend.err"; exit 1
}
stop_agent() { kill -TERM "$AGENT" 2>/dev/null; wait "$AGENT" 2>/dev/null; AGENT=; }
status() { "$WARDEN_BUILD/wardenctl" status --json --socket "$WORK/ctl.sock"; }

readall() { # $1: root; prints seconds
	local t0 t1
	t0=$(date +%s%N)
	find "$1/tree" -type f -print0 | xargs -0 cat >/dev/null
	t1=$(date +%s%N)
	echo $(( (t1 - t0) / 1000 ))
}
median() { sort -n | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else printf "%.4f\n", (a[NR/2]+a[NR/2+1])/2}'; }
pairs() { # prints "median-ratio agent-us base-us"
	local ratios="" as="" bs="" a b
	readall "$MNT" >/dev/null; readall "$BASE" >/dev/null # warm both
	for _ in $(seq "$PAIRS"); do
		a=$(readall "$MNT"); b=$(readall "$BASE")
		ratios="$ratios $(awk -v a="$a" -v b="$b" 'BEGIN {printf "%.4f", a / b}')"
		as="$as $a"; bs="$bs $b"
	done
	echo "$(tr ' ' '\n' <<<"$ratios" | grep . | median) $(tr ' ' '\n' <<<"$as" | grep . | median) $(tr ' ' '\n' <<<"$bs" | grep . | median)"
}

echo "tree: 20 000 files in 200 directories; $PAIRS pairs per configuration (medians)"
read -r r a b < <(pairs)
printf '%-10s ratio %s (tmpfs %s us vs ramfs %s us)\n' fs "$r" "$a" "$b"
for kind in ${BENCH_KINDS:-elsewhere tree programs}; do
	conf "$kind"
	start_wardend
	read -r r a b < <(pairs)
	lat=$(status | jq -r '"\(.fileaccess.decisions) open decisions, agent latency p50/p99/max \(.latency_us.p50)/\(.latency_us.p99)/\(.latency_us.max) us"')
	printf '%-10s ratio %s (tmpfs %s us vs ramfs %s us); %s\n' "$kind" "$r" "$a" "$b" "$lat"
	stop_agent
done

# fapolicyd with its recommended default rules, permissive, in this namespace only
if [ -z "${BENCH_KINDS:-}" ] && command -v fapolicyd >/dev/null && command -v fagenrules >/dev/null &&
   [ -d /usr/share/fapolicyd/sample-rules ]; then
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
	for r in 10-languages 20-dracut 21-updaters 30-patterns 40-bad-elf 41-shared-obj 42-trusted-elf \
	         70-trusted-lang 72-shell 90-deny-execute 95-allow-open; do
		cp "/usr/share/fapolicyd/sample-rules/$r.rules" "$WORK/fapd/etc/rules.d/" 2>/dev/null
	done
	: >"$WORK/fapd/etc/fapolicyd.trust"
	[ -f /etc/fapolicyd/fapolicyd-filter.conf ] && cp /etc/fapolicyd/fapolicyd-filter.conf "$WORK/fapd/etc/"
	mkdir -p /etc/fapolicyd /var/lib/fapolicyd /run/fapolicyd
	if mount --bind "$WORK/fapd/etc" /etc/fapolicyd && mount --bind "$WORK/fapd/lib" /var/lib/fapolicyd &&
	   mount --bind "$WORK/fapd/run" /run/fapolicyd && fagenrules >/dev/null 2>&1; then
		fapolicyd --debug-deny </dev/null >"$WORK/fapolicyd.log" 2>&1 &
		FAPD=$!
		mnt_id=$(awk -v m="$MNT" '$5 == m {print $1}' /proc/self/mountinfo)
		for _ in $(seq 500); do
			grep -qs "fanotify mnt_id:$(printf '%x' "$mnt_id") " /proc/"$FAPD"/fdinfo/* && break
			kill -0 "$FAPD" 2>/dev/null || break
			sleep 0.02
		done
		if kill -0 "$FAPD" 2>/dev/null; then
			read -r r a b < <(pairs)
			printf '%-10s ratio %s (tmpfs %s us vs ramfs %s us); rules: %s\n' fapolicyd "$r" "$a" "$b" \
				"$(grep -vc '^#' /etc/fapolicyd/compiled.rules 2>/dev/null) compiled"
		else
			echo "fapolicyd   did not start: $(tail -2 "$WORK/fapolicyd.log")"
		fi
		kill -TERM "$FAPD" 2>/dev/null; wait "$FAPD" 2>/dev/null; FAPD=
	else
		echo "fapolicyd   could not be configured: skipped"
	fi
fi
