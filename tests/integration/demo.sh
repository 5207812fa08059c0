#!/usr/bin/env bash
# `make demo` must keep working: run it unattended; it exits non-zero when any step's
# outcome (allowed / denied) is not the one it shows.
set -u
[ "$(id -u)" = 0 ] || exit 77
cd "$(dirname "$0")/../.."
bash tests/demo.sh "$WARDEN_BUILD" </dev/null >/tmp/warden-demo-test.$$ 2>&1
rc=$?
[ "$rc" = 0 ] || cat /tmp/warden-demo-test.$$
rm -f /tmp/warden-demo-test.$$
exit $rc
