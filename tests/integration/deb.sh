#!/usr/bin/env bash
# make deb: the package installs with dpkg on this machine, runs in MONITOR with its own
# defaults until configured, is stopped by prerm, leaves only configuration after
# `dpkg -r` and nothing after `dpkg -P` (docs/agent.md, "The Debian package").
#
# Safety: it runs only where no warden is installed (package, `make install`, state
# dirs): purge would take them. Only one run at a time on the machine (a lock). Nothing
# is ever started by the package here: without systemd postinst starts nothing, and
# under systemd a policy-rc.d forbids starting while the package is installed. The one
# wardend this test starts is the installed binary on its defaults but watching only a
# private tmpfs, without the BPF ground; prerm must stop it, and the EXIT trap purges
# the package and stops anything left on every path.
set -u
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || w_skip "needs root (dpkg -i)"
for t in dpkg-deb dpkg-shlibdeps start-stop-daemon man; do
	command -v $t >/dev/null || w_fail "$t missing (make deps)"
done
cd "$(dirname "$0")/../.."
repo=$PWD

exec 9>/run/lock/warden-deb-test.lock
flock -w 300 9 || w_fail "another deb.sh holds /run/lock/warden-deb-test.lock"
if dpkg-query -W -f='${Status}' warden 2>/dev/null | grep -q 'installed\|config-files'; then
	w_skip "a warden package is on this machine: this test would purge it"
fi
for p in /etc/warden /var/lib/warden /var/log/warden /run/warden /usr/sbin/wardend /usr/bin/wardenctl \
         /usr/local/sbin/wardend /usr/local/bin/wardenctl /lib/systemd/system/wardend.service \
         /etc/systemd/system/wardend.service; do
	[ -e "$p" ] || [ -L "$p" ] && w_skip "$p exists: warden is installed here (make install?); this test would remove it"
done
had_user=$(getent passwd warden-sync)
POLICY_RC=
installed= S=

w_setup   # a private tmpfs for the agent to watch, and lib.sh's cleanup
T=$W_WORK
deb_cleanup() {
	local rc=$?
	trap - EXIT
	w_stop_agent
	if [ -n "$installed" ]; then
		start-stop-daemon --stop --quiet --oknodo --exec /usr/sbin/wardend --retry TERM/5/KILL/2 >/dev/null 2>&1
		dpkg -P warden >/dev/null 2>&1 || echo "deb.sh: dpkg -P warden failed in the cleanup" >&2
	fi
	[ -n "$POLICY_RC" ] && rm -f /usr/sbin/policy-rc.d
	# none of these existed before the test (checked at its start)
	rm -rf /etc/warden /var/lib/warden /var/log/warden /run/warden
	[ -n "${S:-}" ] && rm -rf "$S"
	if [ -z "$had_user" ] && getent passwd warden-sync >/dev/null; then
		userdel warden-sync 2>/dev/null; groupdel warden-sync 2>/dev/null
	fi
	(exit $rc)
	w_cleanup
}
trap deb_cleanup EXIT

# ------------------------------------------------------------------ build
make -C "$repo" --no-print-directory BUILD="$WARDEN_BUILD" DEBDIR="$T/deb" deb >"$T/make.out" 2>&1 ||
	{ cat "$T/make.out"; w_fail "make deb failed"; }
deb=$(ls "$T"/deb/warden_*.deb 2>/dev/null)
[ -f "$deb" ] || w_fail "make deb made no .deb in $T/deb"
version=$(sed -n 's/^#define WARD_VERSION "\(.*\)"$/\1/p' agent/version.h)
[ "$(dpkg-deb -f "$deb" Package Version Architecture | tr '\n' ' ')" = \
  "Package: warden Version: $version Architecture: $(dpkg --print-architecture) " ] ||
	w_fail "control fields: $(dpkg-deb -f "$deb" Package Version Architecture)"
depends=$(dpkg-deb -f "$deb" Depends)
for lib in libc6 libyara9 libxml2 libjansson4 libsqlite3-0 libssl3 libseccomp2 libbpf1 libcurl4 adduser; do
	echo "$depends" | grep -Eq "(^|, )$lib( |,|$)" || w_fail "Depends lacks $lib: $depends"
done
dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|' >"$T/contents"
for f in /usr/sbin/wardend /usr/bin/wardenctl /usr/sbin/warden-sync /lib/systemd/system/wardend.service \
         /lib/systemd/system/warden-sync.service /etc/warden/warden.conf /usr/share/doc/warden/copyright \
         /usr/share/doc/warden/agent.md; do
	grep -qx "$f" "$T/contents" || w_fail "the package lacks $f"
done
for m in docs/man/*.[58]; do
	n=$(basename "$m"); grep -qx "/usr/share/man/man${n##*.}/$n.gz" "$T/contents" || w_fail "the package lacks the man page $n"
done
[ "$(dpkg-deb -I "$deb" conffiles)" = /etc/warden/warden.conf ] || w_fail "conffiles: $(dpkg-deb -I "$deb" conffiles)"
dpkg-deb --fsys-tarfile "$deb" | tar -xO ./lib/systemd/system/wardend.service | grep -qx 'ExecStart=/usr/sbin/wardend --foreground' ||
	w_fail "wardend.service does not run /usr/sbin/wardend"
dpkg-deb --fsys-tarfile "$deb" | tar -xO ./etc/warden/warden.conf | jq -e '.ClientMode == "MONITOR"' >/dev/null ||
	w_fail "the shipped warden.conf does not say MONITOR"
w_log "make deb: $(basename "$deb"), Depends: $depends"

# ------------------------------------------------------------------ install
if [ -d /run/systemd/system ]; then
	# systemd runs here: postinst would start wardend for the whole machine. Forbid it.
	[ -e /usr/sbin/policy-rc.d ] && w_skip "systemd runs and /usr/sbin/policy-rc.d exists: not replacing it"
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 0755 /usr/sbin/policy-rc.d && POLICY_RC=1
fi
installed=1
dpkg -i "$deb" >"$T/dpkg-i.out" 2>&1 || { cat "$T/dpkg-i.out"; w_fail "dpkg -i failed"; }
[ "$(dpkg-query -W -f='${Status}' warden)" = "install ok installed" ] || w_fail "dpkg says: $(dpkg-query -W -f='${Status}' warden)"
start-stop-daemon --stop --test --quiet --exec /usr/sbin/wardend &&
	w_fail "installing the package started wardend"
if [ -z "$POLICY_RC" ]; then
	grep -q "systemd is not running: wardend was not started" "$T/dpkg-i.out" ||
		{ cat "$T/dpkg-i.out"; w_fail "postinst did not say that it did not start wardend"; }
fi
[ "$(stat -c '%a %U' /var/lib/warden)" = "700 root" ] || w_fail "/var/lib/warden: $(stat -c '%a %U' /var/lib/warden)"
[ "$(stat -c '%a %U' /var/log/warden)" = "750 root" ] || w_fail "/var/log/warden: $(stat -c '%a %U' /var/log/warden)"
[ "$(stat -c '%a %U' /etc/warden/profiles)" = "755 root" ] || w_fail "/etc/warden/profiles missing or wrong"
getent passwd warden-sync | grep -q ':/usr/sbin/nologin$' || w_fail "no warden-sync system user"
[ "$(man -w wardenctl 2>/dev/null)" = /usr/share/man/man8/wardenctl.8.gz ] || w_fail "man -w wardenctl: $(man -w wardenctl 2>&1)"
[ "$(man -w 5 warden.conf 2>/dev/null)" = /usr/share/man/man5/warden.conf.5.gz ] || w_fail "man 5 warden.conf not found"
w_log "dpkg -i: installed, nothing started, directories and user made"

# ------------------------------------------------------------------ run
[ "$(/usr/bin/wardenctl version)" = "wardenctl $version" ] || w_fail "wardenctl version: $(/usr/bin/wardenctl version)"
out=$(/usr/bin/wardenctl status 2>&1) && w_fail "wardenctl status with no agent succeeded: $out"
echo "$out" | grep -q "cannot reach the agent at /run/warden/control.sock: .*wardend is not running (start it: systemctl start wardend)" ||
	w_fail "wardenctl status with no agent does not say so: $out"
w_log "wardenctl version: ok; status without the agent: $out"

# The installed agent on the package's defaults (config, store, socket, event log); only
# the watched filesystem is the test's.
/usr/sbin/wardend --foreground --watch "$W_MNT" --no-ground </dev/null 2>>"$T/wardend.err" &
W_PID=$!
for _ in $(seq 100); do
	/usr/bin/wardenctl status >/dev/null 2>&1 && break
	kill -0 "$W_PID" 2>/dev/null || { cat "$T/wardend.err" >&2; W_PID=; w_fail "the installed wardend exited at start"; }
	sleep 0.05
done
st=$(/usr/bin/wardenctl status --json) || w_fail "wardenctl status against the installed agent failed"
[ "$(echo "$st" | jq -r .mode)" = MONITOR ] || w_fail "the installed agent is not in MONITOR: $(echo "$st" | jq -c .mode)"
[ "$(echo "$st" | jq -r .config)" = /etc/warden/warden.conf ] ||
	w_fail "the installed agent does not read /etc/warden/warden.conf: $(echo "$st" | jq -c .config)"
/usr/bin/wardenctl status | grep -Eq '^ *Mode +\| MONITOR$' || w_fail "wardenctl status does not show Mode MONITOR"
w_prog "$W_MNT/unknown" deb
w_expect_allowed "$W_MNT/unknown"   # MONITOR: an unknown program runs, and is logged
for _ in $(seq 100); do grep -q '"unknown"' /var/log/warden/events.jsonl 2>/dev/null && break; sleep 0.05; done
jq -e 'select(.path | endswith("/unknown")) | .decision == "ALLOW" and .mode == "MONITOR" and .reason == "unknown"' \
	/var/log/warden/events.jsonl >/dev/null || w_fail "the MONITOR allow is not in /var/log/warden/events.jsonl"
/usr/bin/wardenctl rule --allow --path "$W_MNT/unknown" --comment deb-test >/dev/null ||
	w_fail "wardenctl rule against the installed agent failed"
[ -s /var/lib/warden/warden.db ] || w_fail "no rule store at /var/lib/warden/warden.db"
w_log "installed wardend: MONITOR from /etc/warden/warden.conf, event log and rule store in place"

# ------------------------------------------------------------------ remove
# The agent is left running: prerm must stop it (no systemd here: start-stop-daemon).
dpkg -r warden >"$T/dpkg-r.out" 2>&1 || { cat "$T/dpkg-r.out"; w_fail "dpkg -r failed"; }
grep -i "warning" "$T/dpkg-r.out" && w_fail "dpkg -r warned (above)"
for _ in $(seq 100); do kill -0 "$W_PID" 2>/dev/null || break; sleep 0.05; done
kill -0 "$W_PID" 2>/dev/null && w_fail "dpkg -r left the agent running"
wait "$W_PID"; st=$?; W_PID=
[ "$st" = 0 ] || w_fail "the agent stopped by prerm exited $st, not 0 (a clean stop)"
[ "$(dpkg-query -W -f='${Status}' warden)" = "deinstall ok config-files" ] || w_fail "after dpkg -r: $(dpkg-query -W -f='${Status}' warden)"
while read -r f; do
	[ -d "$f" ] && continue
	case $f in /etc/warden/warden.conf) [ -f "$f" ] || w_fail "dpkg -r removed the conffile $f" ;;
	*) [ -e "$f" ] && w_fail "dpkg -r left $f" ;;
	esac
done <"$T/contents"
left=$(find /etc/warden /var/lib/warden /var/log/warden /run/warden 2>/dev/null | grep -Ev '^/var/lib/warden/warden\.db-(wal|shm)$' | sort | tr '\n' ' ')
[ "$left" = "/etc/warden /etc/warden/profiles /etc/warden/warden.conf /var/lib/warden /var/lib/warden/warden.db /var/log/warden /var/log/warden/events.jsonl " ] ||
	w_fail "after dpkg -r, more (or less) than configuration is left: $left"
w_log "dpkg -r: agent stopped, left only $left"

# ------------------------------------------------------------------ purge
dpkg -P warden >"$T/dpkg-p.out" 2>&1 || { cat "$T/dpkg-p.out"; w_fail "dpkg -P failed"; }
installed=
[ -z "$(dpkg-query -W -f='${Status}' warden 2>/dev/null | grep -v 'not-installed')" ] ||
	w_fail "after dpkg -P: $(dpkg-query -W -f='${Status}' warden)"
left=$(find /etc/warden /var/lib/warden /var/log/warden /run/warden /etc/systemd/system \
	/var/lib/systemd/deb-systemd-helper-enabled /var/lib/systemd/deb-systemd-helper-masked \
	-name '*warden*' 2>/dev/null | tr '\n' ' ')
[ -z "$left" ] || w_fail "after dpkg -P, left: $left"
w_log "dpkg -P: nothing left (the warden-sync system user stays, as Debian keeps system users)"

# ------------------------------------------------------------------ maintainer scripts under systemd
# The systemd branches, run in a private mount namespace where /run/systemd/system
# exists, with deb-systemd-helper, deb-systemd-invoke and systemctl replaced by stand-ins
# that only record their arguments: a first install enables and starts wardend (MONITOR,
# from the conffile), not warden-sync; an upgrade restarts only what ran; remove stops.
S=$(mktemp -d /tmp/warden-deb-sim.XXXXXX)   # not under /run: the namespace hides /run
mkdir -p "$S/fake" "$S/scripts"
dpkg-deb -e "$deb" "$S/scripts"
for t in deb-systemd-helper deb-systemd-invoke systemctl; do
	printf '#!/bin/sh\necho "%s $*" >>%s/calls\nexit 0\n' "$t" "$S" >"$S/fake/$t"
	chmod 0755 "$S/fake/$t"
done
sim() {   # sim SCRIPT ARGS...: run a maintainer script as if systemd ran; prints its calls
	local script=$1; shift
	: >"$S/calls"
	unshare -m sh -c 'mount -t tmpfs sim /run && mkdir -p /run/systemd/system && PATH="$0:$PATH" "$@"' \
		"$S/fake" "$S/scripts/$script" "$@" >"$S/out" 2>&1 || { cat "$S/out"; echo "FAILED: $*"; return; }
	cat "$S/calls"
}
# (postinst configure also makes the directories again, on the real /etc and /var: they
# did not exist before this test, and are removed below and by the cleanup.)
calls=$(sim postinst configure)
echo "$calls" | grep -qx "deb-systemd-helper enable wardend.service" || w_fail "first install does not enable wardend: $calls"
echo "$calls" | grep -qx "deb-systemd-invoke start wardend.service" || w_fail "first install does not start wardend: $calls"
echo "$calls" | grep -Eq "(enable|start) .*warden-sync" && w_fail "first install enables or starts warden-sync: $calls"
calls=$(sim postinst configure 0.0.1)
echo "$calls" | grep -qx "deb-systemd-invoke try-restart wardend.service warden-sync.service" ||
	w_fail "upgrade does not try-restart: $calls"
echo "$calls" | grep -q "invoke start" && w_fail "upgrade starts services: $calls"
calls=$(sim prerm remove)
echo "$calls" | grep -qx "deb-systemd-invoke stop warden-sync.service wardend.service" || w_fail "prerm remove does not stop: $calls"
calls=$(sim prerm upgrade)
[ -z "$calls" ] || w_fail "prerm upgrade stops services: $calls"
rm -rf /etc/warden /var/lib/warden /var/log/warden   # what the simulated postinst made
w_log "maintainer scripts under systemd: install enables+starts wardend only, upgrade try-restarts, remove stops"
exit 0
