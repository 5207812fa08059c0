#!/usr/bin/env bash
# TrustedPaths: a program under a trusted dir runs in LOCKDOWN only if it and every
# directory above it are root-owned and not group/other-writable. A private tmpfs
# stands in for the system dir (the chain above it, /run and /, is root's).
. "$(dirname "$0")/lib.sh"
w_setup
w_extra_tmpfs sys
T=$W_TMPFS
mkdir -p "$T/bin" "$T/open"
chmod 0755 "$T/bin"
w_prog "$T/bin/rootprog" rootprog
w_prog "$T/bin/userprog" userprog
chown 65534:65534 "$T/bin/userprog"
w_prog "$T/bin/gwprog" gwprog
chmod 0775 "$T/bin/gwprog"
chmod 0777 "$T/open"
w_prog "$T/open/rootprog" open-rootprog
cp "$T/bin/rootprog" "$W_MNT/rootcopy"      # same bytes, not under a trusted path
chmod 0755 "$W_MNT/rootcopy"
printf '{"ClientMode":"LOCKDOWN","TrustedPaths":["%s"]}\n' "$T" >"$W_WORK/warden.conf"
w_start_agent --config "$W_WORK/warden.conf" --watch "$T"

w_expect_allowed "$T/bin/rootprog"
w_log "root-owned program in a root-owned trusted dir runs: ok"
w_expect_denied "$T/bin/userprog"
line=$(w_log_wait ".path == \"$T/bin/userprog\"")
echo "$line" | jq -e '.reason == "unknown" and (.detail | test("not root-owned"))' >/dev/null || w_fail "log: $line"
w_log "user-owned program under the trusted dir denied: ok"
w_expect_denied "$T/bin/gwprog"
w_log "group-writable program denied: ok"
w_expect_denied "$T/open/rootprog"
w_log_wait ".path == \"$T/open/rootprog\" and (.detail | test(\"directory $T/open\"))" >/dev/null
w_log "root-owned program in a world-writable dir denied: ok"
w_expect_denied "$W_MNT/rootcopy"
w_log "same bytes outside the trusted paths denied: ok"

# Becoming unsafe later: once the dir turns group-writable and caches are flushed, the
# trusted program is no longer trusted.
chmod 0775 "$T/bin"
w_ctl_ok '{"cmd":"flush-cache"}' >/dev/null
w_expect_denied "$T/bin/rootprog"
w_log "trust re-checked after the directory became group-writable: ok"
echo ok
