#!/usr/bin/env bash
# File-access watch items (FileAccessPolicy) on the EndpointSecurity backend, through
# the ES emulation (wardend-es): the configuration's watch items become the AUTH_OPEN
# client's target-path prefixes (inverted muting), a listed opener reads, another gets
# EPERM, a file under no watch item is readable; a reload that changes the policy
# changes who may read, and one that removes every watch item lets everyone read.
# (The emulation reports opens as reads only: reads told from writes are
# agent_fileaccess.sh's, on fanotify.)
. "$(dirname "$0")/lib.sh"
export W_WARDEND=wardend-es WARD_ES_EMUL_STRICT=1
w_setup
M=$W_MNT
mkdir -p "$M/bin" "$M/secret" "$M/plain"
mkreader() { cp /usr/bin/cat "$M/bin/$1" && printf 'warden-test:%s' "$1" >>"$M/bin/$1" && chmod 0755 "$M/bin/$1"; }
mkreader r1; mkreader r2
echo "data of secret" >"$M/secret/f.txt"
echo "data of plain" >"$M/plain/f.txt"
R1=$(w_sha "$M/bin/r1"); R2=$(w_sha "$M/bin/r2")
CONF=$W_WORK/warden.conf
policy() { # $1: the SHA-256 allowed to read secret/, or "" for no watch item
	jq -n --arg m "$M" --arg ok "$1" '{ ClientMode: "MONITOR", Interpreters: [] } +
	  if $ok == "" then {} else { FileAccessPolicy: { Version: "es-1", WatchItems: {
	    Secret: { Paths: [{Path: ($m + "/secret/"), IsPrefix: true}],
	              Options: {AuditOnly: false}, Processes: [{Sha256: $ok}] } } } } end'
}
reload_to() { # write the policy by rename and wait for the agent to load it
	local before
	before=$(w_status '.configuration.reloads')
	policy "$1" >"$CONF.tmp" && mv "$CONF.tmp" "$CONF"
	for _ in $(seq 60); do
		[ "$(w_status '.configuration.reloads')" -gt "$before" ] && return 0
		sleep 0.05
	done
	w_fail "the changed policy was not reloaded"
}
ok() { w_exec "$@" || w_fail "expected allowed: $*: $W_OUT"; }
no() {
	local rc=0
	w_exec "$@" || rc=$?
	[ "$rc" != 0 ] && [[ "$W_OUT" == *"Operation not permitted"* ]] || w_fail "expected EPERM: $* (exit $rc): $W_OUT"
}

policy "$R1" >"$CONF"
w_start_agent --config "$CONF"
[ "$(w_status '.fileaccess.active')" = true ] || w_fail "no file-access policy in force"
ok "$M/bin/r1" "$M/secret/f.txt"
no "$M/bin/r2" "$M/secret/f.txt"
ok "$M/bin/r2" "$M/plain/f.txt"
line=$(w_log_wait ".watch_item == \"Secret\" and .file_access == \"DENIED\" and .opener == \"$M/bin/r2\"") ||
	w_fail "no event-log line for the denied open"
w_log "watch items from the configuration reach the ES backend (AUTH_OPEN): ok"

reload_to "$R2"
ok "$M/bin/r2" "$M/secret/f.txt"
no "$M/bin/r1" "$M/secret/f.txt"
w_log "a reloaded policy changes who may open: ok"

reload_to ""
ok "$M/bin/r1" "$M/secret/f.txt"
ok "$M/bin/r2" "$M/secret/f.txt"
w_log "no watch item left: every opener reads: ok"
echo ok
