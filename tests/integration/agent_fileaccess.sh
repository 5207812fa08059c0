#!/usr/bin/env bash
# File-access authorization with the real agent on a private tmpfs: each RuleType,
# AuditOnly, AllowReadAccess (reads told from writes), literal vs prefix vs glob and the
# longest match, openers allowed and denied by identity (SHA-256), a reload that takes
# effect on the next open, the kernel ignoring directories no item reaches, and warden's
# own files protected from root's other programs.
. "$(dirname "$0")/lib.sh"
w_setup
M=$W_MNT
mkdir -p "$M/bin" "$M/secret" "$M/audit" "$M/ro" "$M/pub" "$M/pdeny" "$M/pallow" "$M/other" \
	"$M/lm" "$M/plain"
# Openers: copies of cat and tee, each with its own SHA-256.
mkreader() { cp /usr/bin/cat "$M/bin/$1" && printf 'warden-test:%s' "$1" >>"$M/bin/$1" && chmod 0755 "$M/bin/$1"; }
mkwriter() { cp /usr/bin/tee "$M/bin/$1" && printf 'warden-test:%s' "$1" >>"$M/bin/$1" && chmod 0755 "$M/bin/$1"; }
mkreader r1; mkreader r2; mkreader r3; mkreader r4; mkwriter w1; mkwriter w2
for d in secret audit ro pub pdeny pallow other lm plain; do echo "data of $d" >"$M/$d/f.txt"; done
echo "open" >"$M/lm/open.txt"
echo "key" >"$M/pdeny/x.key"
for i in $(seq 50); do echo "$i" >"$M/plain/$i"; done
R1=$(w_sha "$M/bin/r1"); R2=$(w_sha "$M/bin/r2"); R3=$(w_sha "$M/bin/r3"); R4=$(w_sha "$M/bin/r4")
W1=$(w_sha "$M/bin/w1")

policy() { # $1: the SHA-256 allowed to read secret/; $2: "pallow" to include PAllow
	jq -n --arg m "$M" --arg ok "$1" --arg pa "${2:-}" --arg r1 "$R1" --arg r2 "$R2" --arg r3 "$R3" --arg r4 "$R4" --arg w1 "$W1" '{
	  ClientMode: "MONITOR",
	  Interpreters: [],
	  FileAccessPolicy: { Version: "it-1", WatchItems: {
	    Secret: { Paths: [{Path: ($m + "/secret/"), IsPrefix: true}],
	              Options: {AuditOnly: false, BlockMessage: "secret"},
	              Processes: [{Sha256: $ok}] },
	    Audit:  { Paths: [{Path: ($m + "/audit/"), IsPrefix: true}],
	              Processes: [{Sha256: $r1}] },
	    ReadOnly: { Paths: [{Path: ($m + "/ro/"), IsPrefix: true}],
	              Options: {AuditOnly: false, AllowReadAccess: true},
	              Processes: [{Sha256: $w1}] },
	    Pub:    { Paths: [{Path: ($m + "/pub/"), IsPrefix: true}],
	              Options: {AuditOnly: false, RuleType: "PathsWithDeniedProcesses"},
	              Processes: [{Sha256: $r2}] },
	    PDeny:  { Paths: [($m + "/pdeny/*.txt")],
	              Options: {AuditOnly: false, RuleType: "ProcessesWithDeniedPaths"},
	              Processes: [{Sha256: $r3}] },
	    PAllow: { Paths: [{Path: ($m + "/pallow/"), IsPrefix: true}],
	              Options: {AuditOnly: false, RuleType: "ProcessesWithAllowedPaths"},
	              Processes: [{Sha256: $r4}] },
	    LmDir:  { Paths: [{Path: ($m + "/lm/"), IsPrefix: true}],
	              Options: {AuditOnly: false}, Processes: [{Sha256: $r1}] },
	    LmFile: { Paths: [($m + "/lm/open.txt")],
	              Options: {AuditOnly: false}, Processes: [{Sha256: $r2}] }
	  } } } | if $pa == "pallow" then . else del(.FileAccessPolicy.WatchItems.PAllow) end'
}
# warden's own files live on the watched filesystem, so their built-in items apply
mkdir -p "$M/state/bin" "$M/state/profiles" "$M/state/yara"
W_DB=$M/state/rules.db
W_EVLOG=$M/state/events.jsonl
CONF=$M/state/warden.conf
echo 'rule r { condition: false }' >"$M/state/yara/a.yar"
# the agent runs from copies on the watched filesystem, so its binaries are protected
cp "$WARDEN_BUILD/wardend" "$WARDEN_BUILD/wardenctl" "$M/state/bin/"
WARDEN_BUILD=$M/state/bin
policy "$R1" pallow >"$CONF"
w_start_agent --config "$CONF" --profiles-dir "$M/state/profiles" --yara "$M/state/yara/*.yar"
w_status '.fileaccess.not_enforced' | jq -e 'length == 0' >/dev/null ||
	w_fail "some of warden's own files are not enforced: $(w_status '.fileaccess.not_enforced')"
[ "$(w_status '.fileaccess.active')" = true ] || w_fail "no file-access policy in force"
[ "$(w_status '.fileaccess.opens_reported')" = true ] || w_fail "opens are not reported"

ok() { w_exec "$@" || w_fail "expected allowed: $*: $W_OUT"; }
no() { # an open denied by fanotify fails with EPERM
	local rc=0
	w_exec "$@" || rc=$?
	[ "$rc" != 0 ] && [[ "$W_OUT" == *"Operation not permitted"* ]] || w_fail "expected EPERM: $* (exit $rc): $W_OUT"
}

# PathsWithAllowedProcesses, enforcing
ok "$M/bin/r1" "$M/secret/f.txt"
no "$M/bin/r2" "$M/secret/f.txt"
no cat "$M/secret/f.txt"
w_log "PathsWithAllowedProcesses: the listed opener reads, others get EPERM: ok"
line=$(w_log_wait ".watch_item == \"Secret\" and .file_access == \"DENIED\" and .opener == \"$M/bin/r2\"")
echo "$line" | jq -e --arg sha "$R2" --arg p "$M/secret/f.txt" \
	'.opener_sha256 == $sha and .path == $p and .policy_version == "it-1" and .decision == "DENY"' >/dev/null ||
	w_fail "event log record of the denied open: $line"
w_log "event log: the item, the opener, the path: ok"

# AuditOnly (the default): allowed and logged
ok "$M/bin/r2" "$M/audit/f.txt"
w_log_wait ".watch_item == \"Audit\" and .file_access == \"AUDIT_ONLY\" and .decision == \"ALLOW\"" >/dev/null
w_log "AuditOnly: allowed and logged: ok"

# AllowReadAccess: anyone reads, only w1 writes (reads are told from writes)
ok "$M/bin/r2" "$M/ro/f.txt"
ok sh -c "echo more | '$M/bin/w1' -a '$M/ro/f.txt' >/dev/null"
rc=0; out=$(echo x | timeout 10 "$M/bin/w2" -a "$M/ro/f.txt" 2>&1) || rc=$?
[ "$rc" != 0 ] && [[ "$out" == *"Operation not permitted"* ]] || w_fail "a write by w2 was not denied: $out"
grep -q "^x$" "$M/ro/f.txt" && w_fail "the denied write happened"
w_log "AllowReadAccess: reads pass, an unlisted writer gets EPERM: ok"

# PathsWithDeniedProcesses
no "$M/bin/r2" "$M/pub/f.txt"
ok "$M/bin/r1" "$M/pub/f.txt"
w_log "PathsWithDeniedProcesses: ok"

# ProcessesWithDeniedPaths with a glob
no "$M/bin/r3" "$M/pdeny/f.txt"
ok "$M/bin/r3" "$M/pdeny/x.key"
ok "$M/bin/r1" "$M/pdeny/f.txt"
w_log "ProcessesWithDeniedPaths (glob): ok"

# ProcessesWithAllowedPaths: r4 may open only pallow/ on the watched filesystem
ok "$M/bin/r4" "$M/pallow/f.txt"
no "$M/bin/r4" "$M/other/f.txt"
ok "$M/bin/r1" "$M/other/f.txt"
w_log "ProcessesWithAllowedPaths: ok"

# the longest match: the literal beats the prefix
ok "$M/bin/r2" "$M/lm/open.txt"
no "$M/bin/r1" "$M/lm/open.txt"
no "$M/bin/r2" "$M/lm/f.txt"
ok "$M/bin/r1" "$M/lm/f.txt"
w_log "longest match (literal over prefix): ok"

# a cached ALLOW never serves another opener
ok "$M/bin/r1" "$M/secret/f.txt"
no "$M/bin/r2" "$M/secret/f.txt"
[ "$(w_status '.fileaccess.cache_hits')" -ge 1 ] || w_fail "no remembered ALLOW"
w_log "remembered ALLOWs are per opener: ok"

# wardenctl fileaccess check says the same
"$WARDEN_BUILD/wardenctl" fileaccess check --config "$CONF" --dir "$W_WORK/profiles" \
	--path "$M/secret/f.txt" --process "$M/bin/r2" >"$W_WORK/check.out" && w_fail "check: exit 0 for a denial"
grep -q "^DENY: item Secret" "$W_WORK/check.out" || w_fail "check: $(cat "$W_WORK/check.out")"
w_log "wardenctl fileaccess check: ok"

# reload: the next open follows the new policy
# (warden.conf is one of warden's own files: a shell may not write it, but it may
# replace it by a rename, which fanotify cannot refuse: docs/threat-model.md)
policy "$R2" >"$M/state/new.conf"
mv "$M/state/new.conf" "$CONF"
kill -HUP "$W_PID"
for _ in $(seq 100); do
	[ "$(w_status '.fileaccess.items | map(select(.name == "Secret"))[0].allowed')" = 0 ] && break
	sleep 0.05
done
[ "$(w_status '.fileaccess.items | map(select(.name == "Secret"))[0].allowed')" = 0 ] ||
	w_fail "the reload did not put a new policy in force"
ok "$M/bin/r2" "$M/secret/f.txt"
no "$M/bin/r1" "$M/secret/f.txt"
w_log "reload takes effect on the next open: ok"

# the kernel stops reporting a directory no item reaches: 50 opens, at most a few events
# (only without a ProcessesWithAllowedPaths item, whose processes are checked everywhere)
before=$(w_status '.fileaccess.decisions')
for i in $(seq 50); do cat "$M/plain/$i" >/dev/null; done
after=$(w_status '.fileaccess.decisions')
[ $((after - before)) -le 10 ] || w_fail "opens of an unwatched directory reached the agent $((after - before)) times"
w_log "unwatched directory filtered in the kernel ($((after - before)) events for 50 opens): ok"

# warden's own files: root's other programs may read, not write
no sh -c "echo tamper >> '$W_EVLOG'"
no sh -c "echo '{}' > '$CONF'"
no sh -c "echo x >> '$W_DB'"
no sh -c "echo x >> '$M/state/bin/wardenctl'"  # (wardend itself: the kernel says ETXTBSY first)
no cp /usr/bin/true "$M/state/bin/wardenctl"
no sh -c "echo 'rule evil { condition: true }' > '$M/state/yara/a.yar'"
no sh -c "echo x > '$M/state/profiles/evil.mobileconfig'"
# the open is refused after the kernel created the name: an empty file stays behind
# (docs/threat-model.md); nothing was written into it
[ -s "$M/state/profiles/evil.mobileconfig" ] && w_fail "a profile was written"
rm -f "$M/state/profiles/evil.mobileconfig"
ok cat "$CONF"
w_log_wait ".watch_item == \"warden:eventlog\" and .file_access == \"DENIED\"" >/dev/null
"$WARDEN_BUILD/wardenctl" rule --db "$W_DB" --allow --identifier "$R3" >/dev/null ||
	w_fail "wardenctl could not write the rule database"
w_log "warden's own files (log, config, rules, binaries, YARA rules, profiles): root's shell denied, wardenctl allowed: ok"

# FileAccessPolicyPlist: the policy in its own plist, re-read when it changes
mkdir -p "$M/plist"; echo p >"$M/plist/f.txt"
plist() { # $1: the SHA-256 allowed
	cat <<-PL
	<?xml version="1.0" encoding="UTF-8"?>
	<plist version="1.0"><dict>
	<key>Version</key><string>plist-$1</string>
	<key>WatchItems</key><dict><key>FromPlist</key><dict>
	<key>Paths</key><array><dict><key>Path</key><string>$M/plist/</string><key>IsPrefix</key><true/></dict></array>
	<key>Options</key><dict><key>AuditOnly</key><false/></dict>
	<key>Processes</key><array><dict><key>Sha256</key><string>$1</string></dict></array>
	</dict></dict></dict></plist>
	PL
}
plist "$R1" >"$W_WORK/faa.plist"
jq -n --arg p "$W_WORK/faa.plist" '{ClientMode: "MONITOR", Interpreters: [], FileAccessPolicyPlist: $p}' >"$M/state/new.conf"
mv "$M/state/new.conf" "$CONF"
for _ in $(seq 100); do [ "$(w_status '.fileaccess.version')" = "plist-$R1" ] && break; sleep 0.05; done
[ "$(w_status '.fileaccess.version')" = "plist-$R1" ] || w_fail "FileAccessPolicyPlist not in force"
ok "$M/bin/r1" "$M/plist/f.txt"
no "$M/bin/r2" "$M/plist/f.txt"
plist "$R2" >"$W_WORK/faa.plist.new" && mv "$W_WORK/faa.plist.new" "$W_WORK/faa.plist"
for _ in $(seq 100); do [ "$(w_status '.fileaccess.version')" = "plist-$R2" ] && break; sleep 0.05; done
[ "$(w_status '.fileaccess.version')" = "plist-$R2" ] || w_fail "a changed FileAccessPolicyPlist was not re-read"
ok "$M/bin/r2" "$M/plist/f.txt"
no "$M/bin/r1" "$M/plist/f.txt"
w_log "FileAccessPolicyPlist: in force, re-read when it changes: ok"
echo "ok"
