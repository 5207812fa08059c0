#!/usr/bin/env bash
# Issue 12, attack 3: a cached ALLOW must not outlive the content it was given for.
# An unprivileged user owns a program that a BINARY rule allows. On the old agent the
# first run left a kernel ignore mark; the user then patched the file through a shared
# writable mapping (no modify event, and tmpfs keeps ctime), and the patched program
# ran. A file a user other than root can write is now never cached: every exec of it is
# decided again, and the patched content (a new SHA-256) is unknown: denied.
. "$(dirname "$0")/lib.sh"
w_setup
[ -x /usr/bin/python3 ] || w_fail "/usr/bin/python3 missing (make deps)"
AS_USER="setpriv --reuid=65534 --regid=65534 --clear-groups"
mkdir "$W_MNT/home"
chown 65534:65534 "$W_MNT/home"
w_prog "$W_MNT/home/tool" tool
chown 65534:65534 "$W_MNT/home/tool"
w_prog "$W_MNT/rootprog" rootprog

w_start_agent --mode lockdown
w_allow_sha "$(w_sha "$W_MNT/home/tool")"
w_allow_sha "$(w_sha "$W_MNT/rootprog")"
w_expect_allowed $AS_USER "$W_MNT/home/tool"
w_expect_allowed $AS_USER "$W_MNT/home/tool"
w_expect_allowed "$W_MNT/rootprog"
marks=$(w_status '.kernel_cache.marks_added')
[ "$marks" = 1 ] || w_fail "expected one kernel mark (root's program only), got $marks"
w_log "the user's own allowed program runs, and is never put in the kernel cache: ok"

# Patch the tag at the end of the file through a shared writable mapping.
$AS_USER /usr/bin/python3 - "$W_MNT/home/tool" <<'PY' || w_fail "mmap patch failed"
import mmap, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
m = mmap.mmap(fd, 0, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
os.close(fd)
m[-4:] = b"XXXX"
m.flush()
m.close()
PY
w_expect_denied $AS_USER "$W_MNT/home/tool"
w_log_wait ".path == \"$W_MNT/home/tool\" and .decision == \"DENY\" and .reason == \"unknown\"" >/dev/null
w_log "patched through a shared mapping: denied (decided again, new SHA-256 unknown): ok"

# A group-writable root-owned program is not cached either.
chmod 0775 "$W_MNT/rootprog"
w_ctl_ok '{"cmd":"flush-cache"}' >/dev/null
before=$(w_status '.kernel_cache.marks_added')
w_expect_allowed "$W_MNT/rootprog"
w_expect_allowed "$W_MNT/rootprog"
[ "$(w_status '.kernel_cache.marks_added')" = "$before" ] || w_fail "a group-writable program got a kernel mark"
w_log "a group-writable program: allowed by its rule, never cached: ok"
echo ok
