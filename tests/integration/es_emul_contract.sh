#!/usr/bin/env bash
# The ES emulation enforces EndpointSecurity's contract (tests/es/es_contract.c): real
# execs and opens on a private tmpfs, answered through the ES API.
. "$(dirname "$0")/lib.sh"
w_setup
C=$WARDEN_BUILD/tests/es_contract
[ -x "$C" ] || w_fail "no $C (run make)"
export WARD_ES_EMUL_WATCH=$W_MNT

scenario() { # name [expected exit]
	local want=${2:-0} rc=0 d=$W_MNT/$1
	mkdir -p "$d"
	# (a subshell: the shell's own "Killed" notice for the late scenario stays quiet)
	(timeout -k 2 30 "$C" "$1" "$d" >"$W_WORK/$1.out" 2>"$W_WORK/$1.err"; exit $?) 2>/dev/null || rc=$?
	if [ "$rc" != "$want" ]; then
		cat "$W_WORK/$1.out" "$W_WORK/$1.err" >&2
		w_fail "es_contract $1: exit $rc, expected $want"
	fi
	w_log "es_contract $1: exit $rc as expected"
}

scenario deny
scenario cache
scenario open-flags
scenario mute
WARD_ES_EMUL_VERSION=1 scenario version
WARD_ES_EMUL_VERSION=3 scenario version
WARD_ES_EMUL_VERSION=7 scenario version

# A retained message never released fails the run (exit 86) in strict mode.
WARD_ES_EMUL_STRICT=1 scenario leak 86
grep -q "retained message(s) were never released" "$W_WORK/leak.err" || w_fail "no leak report"

# A client that lets an AUTH deadline pass is SIGKILLed (exit 137 through timeout's
# child status) and the exec it held goes ahead: the script then leaves its sentinel.
WARD_ES_EMUL_DEADLINE_MS=300 scenario late 137
grep -q "missed the deadline" "$W_WORK/late.err" || w_fail "no deadline report"
for _ in $(seq 100); do [ -e "$W_MNT/late/late.done" ] && break; sleep 0.05; done
[ -e "$W_MNT/late/late.done" ] || w_fail "the exec held by the killed client did not proceed"
w_log "late client killed; its pending exec proceeded"
# The backend (agent/backends/es.c) keeps the contract where it owns it.
B=$WARDEN_BUILD/tests/es_backend_check
backend() { # name
	local rc=0 d=$W_MNT/b-$1
	mkdir -p "$d"
	timeout -k 2 30 "$B" "$1" "$d" >"$W_WORK/b-$1.out" 2>"$W_WORK/b-$1.err" || rc=$?
	[ "$rc" = 0 ] || { cat "$W_WORK/b-$1.out" "$W_WORK/b-$1.err" >&2; w_fail "es_backend_check $1: exit $rc"; }
	w_log "es_backend_check $1: ok"
}
# ES gives 2 s: the engine's deadline is at 1 s (half: the headroom floor), the backend's
# own answer at 1.25 s, ES would kill at 2 s.
WARD_ES_EMUL_DEADLINE_MS=2000 WARD_ES_EMUL_STRICT=1 backend timer
WARD_ES_EMUL_STRICT=1 backend cache
WARD_ES_EMUL_STRICT=1 backend open
WARD_ES_EMUL_STRICT=1 backend notify
WARD_ES_EMUL_STRICT=1 backend stop
echo "es_emul_contract: ok"
