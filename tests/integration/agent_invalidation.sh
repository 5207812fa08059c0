#!/usr/bin/env bash
# A file allowed (and cached, in the kernel and in user space) is decided again after it
# is modified in place, replaced by rename or truncated. Run once with the kernel cache
# (inode ignore marks) and once with only the user-space cache (dev, ino, ctime, size).
. "$(dirname "$0")/lib.sh"
w_setup

run_case() {
	local label=$1; shift
	w_start_agent --mode lockdown "$@"
	local p=$W_MNT/$label

	# --- modified in place: one byte changes, same size
	w_prog "$p.inplace" "$label-inplace"
	w_allow_sha "$(w_sha "$p.inplace")"
	w_expect_allowed "$p.inplace"
	local ev0 ev1
	ev0=$(w_status '.events')
	w_expect_allowed "$p.inplace"
	ev1=$(w_status '.events')
	if [ "$label" = kernel ]; then
		[ "$ev1" = "$ev0" ] || w_fail "$label: second exec of an allowed file reached the agent ($ev0 -> $ev1 events)"
	else
		[ "$(w_status '.cache.hits')" -ge 1 ] || w_fail "$label: no user-space cache hit"
	fi
	local size; size=$(stat -c %s "$p.inplace")
	printf 'Z' | dd of="$p.inplace" bs=1 seek=$((size - 1)) conv=notrunc status=none
	[ "$(stat -c %s "$p.inplace")" = "$size" ] || w_fail "size changed"
	w_expect_denied "$p.inplace"
	w_log_wait ".decision == \"DENY\" and .path == \"$p.inplace\" and .sha256 == \"$(w_sha "$p.inplace")\"" >/dev/null
	w_log "$label: BINARY-allowed file denied after one byte changed in place: ok"

	# --- replaced by rename
	w_prog "$p.renamed" "$label-renamed"
	w_allow_sha "$(w_sha "$p.renamed")"
	w_expect_allowed "$p.renamed"
	w_expect_allowed "$p.renamed"
	w_prog "$p.other" "$label-other"
	mv -f "$p.other" "$p.renamed"
	w_expect_denied "$p.renamed"
	w_log "$label: allowed file replaced by rename is denied: ok"

	# --- truncated (the end of the tag goes; the program still runs if allowed)
	w_prog "$p.trunc" "$label-trunc"
	w_allow_sha "$(w_sha "$p.trunc")"
	w_expect_allowed "$p.trunc"
	w_expect_allowed "$p.trunc"
	truncate -s "$(($(stat -c %s "$p.trunc") - 3))" "$p.trunc"
	w_expect_denied "$p.trunc"
	w_log "$label: allowed file truncated is denied: ok"

	# --- and back: allowing the new content lets it run again (caches were flushed)
	w_allow_sha "$(w_sha "$p.trunc")"
	w_expect_allowed "$p.trunc"
	w_stop_agent
}

run_case kernel
run_case usercache --no-kernel-cache
echo ok
