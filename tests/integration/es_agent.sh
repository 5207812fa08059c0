#!/usr/bin/env bash
# wardend on the EndpointSecurity backend, run against the ES emulation (wardend-es),
# through the same scenarios as the fanotify agent. Strict: a retained ES message that
# is never released makes wardend-es exit 86, which the scenarios see as a failed stop.
# agent_compiler runs too: the ES backend reads a compiler's output from the file the
# NOTIFY_CLOSE names, and the writer is the message's process (pid, executable's key).
set -u
cd "$(dirname "$0")"
[ "$(id -u)" = 0 ] || { echo "skip: needs root"; exit 77; }
export W_WARDEND=wardend-es WARD_ES_EMUL_STRICT=1
rc=0
for t in agent_basic agent_invalidation agent_monitor agent_trusted agent_restart agent_control \
         agent_deadline agent_storm agent_yara agent_compiler agent_santa_keys; do
	echo "--- $t on wardend-es"
	bash "$t.sh" || { r=$?; [ "$r" = 77 ] && continue; echo "FAILED: $t on wardend-es (exit $r)"; rc=1; }
done
exit $rc
