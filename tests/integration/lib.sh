# Helpers for the agent integration tests. Source it, then call w_setup.
#
# Safety: the agent only ever marks a private tmpfs mounted under a fresh directory in
# /run (root-owned, 0755 up to /, so it can also stand in for a trusted system dir).
# An EXIT trap stops every process the test started and unmounts on every path.
set -u

WARDEN_BUILD=${WARDEN_BUILD:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build}
# The daemon under test: wardend (fanotify) or wardend-es (the ES backend on the ES
# emulation; tests/integration/es_agent.sh runs the agent scenarios with it).
W_WARDEND=${W_WARDEND:-wardend}
W_WORK= W_MNT= W_PID= W_EXTRA_PIDS= W_EXTRA_MOUNTS= W_USERS=

w_log() { printf '  %s\n' "$*"; }
w_skip() { echo "skip: $*"; exit 77; }
w_fail() {
	echo "FAIL: $*" >&2
	if [ -n "$W_WORK" ]; then
		[ -s "$W_WORK/wardend.err" ] && { echo "--- wardend stderr" >&2; tail -n 20 "$W_WORK/wardend.err" >&2; }
		[ -s "$W_WORK/events.jsonl" ] && { echo "--- event log" >&2; tail -n 10 "$W_WORK/events.jsonl" >&2; }
	fi
	# Inside $(...) or ( ) an exit ends only the subshell: line=$(w_log_wait ...) went
	# on with an empty line, which `jq -e` accepts. Stop the test itself (its TERM trap
	# exits 1 through the cleanup).
	[ "${BASH_SUBSHELL:-0}" -gt 0 ] && kill -TERM $$ 2>/dev/null
	exit 1
}

w_require_root() {
	[ "$(id -u)" = 0 ] || w_skip "needs root (fanotify permission events)"
	[ -x "$WARDEN_BUILD/$W_WARDEND" ] || w_fail "no $WARDEN_BUILD/$W_WARDEND (run make)"
	command -v socat >/dev/null || w_fail "socat missing (make deps)"
	command -v jq >/dev/null || w_fail "jq missing (make deps)"
}

# Stop the agent (TERM, then KILL after 5 s). Safe to call twice.
w_stop_agent() {
	[ -n "$W_PID" ] || return 0
	kill -TERM "$W_PID" 2>/dev/null
	for _ in $(seq 50); do kill -0 "$W_PID" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$W_PID" 2>/dev/null
	wait "$W_PID" 2>/dev/null
	W_AGENT_STATUS=$?
	W_PID=
}

w_cleanup() {
	local rc=$?
	trap - EXIT INT TERM HUP
	w_stop_agent
	for p in $W_EXTRA_PIDS; do kill -KILL "$p" 2>/dev/null; done
	for m in $W_EXTRA_MOUNTS $W_MNT; do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
	done
	# a throw-away user's processes go with it (a background function's $! is its
	# subshell, not the program it started as the user)
	for u in $W_USERS; do pkill -KILL -u "$u" 2>/dev/null; done
	for u in $W_USERS; do
		for _ in $(seq 20); do userdel "$u" 2>/dev/null && break; sleep 0.05; done
	done
	[ -n "$W_WORK" ] && rm -rf "$W_WORK"
	exit $rc
}

# Make a private work dir and a tmpfs the agent watches ($W_MNT).
w_setup() {
	w_require_root
	W_WORK=$(mktemp -d -p /run warden-test.XXXXXX) || w_fail "mktemp"
	trap w_cleanup EXIT
	trap 'exit 1' INT TERM HUP
	chmod 0755 "$W_WORK"
	mkdir "$W_WORK/mnt"
	mount -t tmpfs -o "size=${W_TMPFS_SIZE:-64m},mode=0755" warden-test "$W_WORK/mnt" ||
		w_skip "cannot mount a tmpfs"
	W_MNT=$W_WORK/mnt
	W_SOCK=$W_WORK/ctl.sock
	W_DB=$W_WORK/rules.db
	W_EVLOG=$W_WORK/events.jsonl
}

# Mount another private tmpfs at $W_WORK/<name> (mode 0755) and set W_TMPFS to it.
# (Not a $(...) helper: the mount must be recorded in this shell for the cleanup.)
w_extra_tmpfs() {
	W_TMPFS=$W_WORK/$1
	mkdir -p "$W_TMPFS"
	mount -t tmpfs -o "size=${2:-16m},mode=0755" "warden-test-$1" "$W_TMPFS" || w_fail "mount $W_TMPFS"
	W_EXTRA_MOUNTS="$W_TMPFS $W_EXTRA_MOUNTS"
}

# A throw-away unprivileged user (removed by the cleanup); sets W_USER and W_UID.
w_add_user() {
	W_USER=wt$$${1:-u}
	useradd -M -N -d /nonexistent -s /bin/sh "$W_USER" || w_fail "useradd $W_USER"
	W_USERS="$W_USER $W_USERS"
	W_UID=$(id -u "$W_USER")
}

# Run a command as W_USER (no PAM, no supplementary groups).
w_as_user() {
	setpriv --reuid "$W_UID" --regid "$(id -g "$W_USER")" --clear-groups -- "$@"
}

# Start wardend watching $W_MNT (extra args are passed on); wait for its socket.
# Profiles come from $W_WORK/profiles (none unless a test makes it), never the host's.
# W_WATCH=none: no --watch (every local filesystem; only ever inside a private mount
# namespace with --mount-marks, via W_AGENT_PREFIX). The BPF ground is not loaded
# unless W_GROUND_UID names the only uid it may decide for (it must never touch the
# machine's other users).
w_start_agent() {
	local watch=(--watch "$W_MNT") ground=(--no-ground)
	[ "${W_WATCH:-}" = none ] && watch=()
	[ -n "${W_GROUND_UID:-}" ] && ground=(--ground-uid "$W_GROUND_UID")
	rm -f "$W_SOCK"
	${W_AGENT_PREFIX:-} "$WARDEN_BUILD/$W_WARDEND" --foreground "${watch[@]}" "${ground[@]}" --db "$W_DB" --socket "$W_SOCK" \
		--event-log "$W_EVLOG" --profiles-dir "$W_WORK/profiles" "$@" 2>>"$W_WORK/wardend.err" &
	W_PID=$!
	for _ in $(seq 100); do
		[ -S "$W_SOCK" ] && w_ctl '{"cmd":"status"}' | grep -q '"ok":true' && return 0
		if ! kill -0 "$W_PID" 2>/dev/null; then
			wait "$W_PID"
			W_PID=
			grep -q "fanotify_init" "$W_WORK/wardend.err" && w_skip "no fanotify permission events here"
			w_fail "wardend exited at start"
		fi
		sleep 0.05
	done
	w_fail "wardend did not come up"
}

# One request line to the control socket; prints the reply line.
w_ctl() {
	printf '%s\n' "$1" | socat -t 5 - "UNIX-CONNECT:$W_SOCK"
}

# Request that must succeed.
w_ctl_ok() {
	local r
	r=$(w_ctl "$1")
	echo "$r" | jq -e '.ok == true' >/dev/null || w_fail "control request $1 -> $r"
	echo "$r"
}

# A status field, e.g. w_status '.deadline.misses'
w_status() { w_ctl '{"cmd":"status"}' | jq -r "$1"; }

# w_prog PATH [TAG]: a working program (a copy of true) whose SHA-256 is unique to TAG.
w_prog() {
	cp /usr/bin/true "$1" || w_fail "cp to $1"
	printf 'warden-test:%s' "${2:-$1}" >>"$1"
	chmod 0755 "$1"
}

w_sha() { sha256sum "$1" | cut -d' ' -f1; }

# Run a program under a timeout; sets W_OUT and returns its exit status.
w_exec() {
	W_OUT=$(timeout -k 2 10 "$@" 2>&1)
}

w_expect_allowed() {
	w_exec "$@" || w_fail "expected $1 to run; exit $? : $W_OUT"
}

# Denied exec: execve fails with EPERM (FAN_DENY), which timeout reports as
# "Operation not permitted" with exit status 126.
w_expect_denied() {
	local rc=0
	w_exec "$@" || rc=$?
	[ "$rc" = 126 ] && [[ "$W_OUT" == *"Operation not permitted"* ]] ||
		w_fail "expected $1 to be denied (EPERM); exit $rc : $W_OUT"
}

w_allow_sha() {
	w_ctl_ok "{\"cmd\":\"rule-add\",\"type\":\"BINARY\",\"policy\":\"${2:-ALLOWLIST}\",\"identifier\":\"$1\"}" >/dev/null
}

# Wait (up to 3 s) for an event-log line matching a jq filter; prints it.
w_log_wait() {
	local line
	for _ in $(seq 60); do
		line=$(jq -c "select($1)" "$W_EVLOG" 2>/dev/null | tail -n 1)
		[ -n "$line" ] && { echo "$line"; return 0; }
		sleep 0.05
	done
	w_fail "no event log line matches: $1"
}
