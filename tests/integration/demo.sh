#!/usr/bin/env bash
# `make demo` must keep working, and cleanly: it is a user's first impression. Run it
# unattended; it fails when it exits non-zero (a step's outcome, allowed / denied / the
# event log, is not the one it shows), when it writes anything to stderr (the demo's own
# output all goes to stdout: stderr is only for failures and for noise such as a jq error),
# or when its output carries an error that went to stdout.
set -u
[ "$(id -u)" = 0 ] || exit 77
cd "$(dirname "$0")/../.."
out=$(mktemp /tmp/warden-demo-test.XXXXXX) err=$(mktemp /tmp/warden-demo-test.XXXXXX)
trap 'rm -f "$out" "$err"' EXIT
bash tests/demo.sh "$WARDEN_BUILD" </dev/null >"$out" 2>"$err"
rc=$?
show() { cat "$out"; echo "--- stderr:"; cat "$err"; }
[ "$rc" = 0 ] || { show; echo "demo.sh: the demo failed (exit $rc)" >&2; exit 1; }
[ -s "$err" ] && { show; echo "demo.sh: the demo wrote to stderr (above)" >&2; exit 1; }
noise='^jq: |: command not found|No such file or directory|Segmentation fault|runtime error:|Sanitizer|Traceback|^sed: |^grep: '
if grep -Eq "$noise" "$out"; then
	show; echo "demo.sh: error noise in the demo's output:" >&2; grep -E "$noise" "$out" >&2; exit 1
fi
grep -q '^==> Done: stopping wardend' "$out" || { show; echo "demo.sh: the demo did not reach its end" >&2; exit 1; }
exit 0
