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
. "$here/lib.sh"
bench_init fileaccess 256m "$0" "$@"
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
	start_wardend --config "$WORK/warden.conf" --profiles-dir "$WORK/profiles"
	read -r r a b < <(pairs)
	lat=$(agent_status | jq -r '"\(.fileaccess.decisions) open decisions, agent latency p50/p99/max \(.latency_us.p50)/\(.latency_us.p99)/\(.latency_us.max) us"')
	printf '%-10s ratio %s (tmpfs %s us vs ramfs %s us); %s\n' "$kind" "$r" "$a" "$b" "$lat"
	stop_agent
done

# fapolicyd with its recommended default rules, permissive, in this namespace only
if [ -z "${BENCH_KINDS:-}" ] && command -v fapolicyd >/dev/null && command -v fagenrules >/dev/null &&
   [ -d /usr/share/fapolicyd/sample-rules ]; then
	rules=
	for r in 10-languages 20-dracut 21-updaters 30-patterns 40-bad-elf 41-shared-obj 42-trusted-elf \
	         70-trusted-lang 72-shell 90-deny-execute 95-allow-open; do
		rules="$rules /usr/share/fapolicyd/sample-rules/$r.rules"
	done
	# shellcheck disable=SC2086
	if fapd_prepare $rules; then
		if start_fapolicyd; then
			read -r r a b < <(pairs)
			printf '%-10s ratio %s (tmpfs %s us vs ramfs %s us); rules: %s\n' fapolicyd "$r" "$a" "$b" \
				"$(grep -vc '^#' /etc/fapolicyd/compiled.rules 2>/dev/null) compiled"
			stop_fapolicyd
		fi
	fi
fi
