#!/usr/bin/env bash
# Fleet sync benchmark (docs/benchmarks.md, "sync"):
#   1. a full sync of 100 000 rules in pages of 10 000 from the test sync server on
#      127.0.0.1: wall time and peak RSS of warden-sync; baseline: `wardenctl rule
#      --import` of the same 100 000 rules (the same store work without the network);
#   2. the agent's exec latency while that sync runs vs just before it (wardend
#      --no-kernel-cache: every exec of one allowed program is a round trip through
#      the agent), so a stall of the decision path during the apply would show;
#   3. upload throughput of 100 000 spooled events, batches of 50 (Santa's default)
#      and 500.
# Runs on the private tmpfs of the integration helpers. Needs root.
set -u
here=$(cd "$(dirname "$0")" && pwd)
export WARDEN_BUILD=${WARDEN_BUILD:-$here/../../build}
if [ "$(id -u)" != 0 ]; then
	echo "sync bench: skipped (needs root for fanotify)"
	exit 0
fi
. "$here/../integration/lib.sh"
. "$here/../integration/sync_lib.sh"
w_setup
s_require
s_pki a
N=${BENCH_SYNC_RULES:-100000}
EV=${BENCH_SYNC_EVENTS:-100000}

# run CMD...: wall seconds and the peak RSS (KiB) of the command, as "wall rss".
cat >"$W_WORK/run.py" <<'PY'
import resource, subprocess, sys, time
t = time.monotonic()
rc = subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL)
wall = time.monotonic() - t
print("%.3f %d %d" % (wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, rc))
PY
# lat PROG SECONDS|-PIDFILE: exec PROG again and again (for SECONDS, or while the pid
# in PIDFILE lives); per-exec median and p99 in microseconds, and the count.
cat >"$W_WORK/lat.py" <<'PY'
import os, sys, time
prog, until = sys.argv[1], sys.argv[2]
lat = []
end = time.monotonic() + float(until) if not until.startswith("-") else None
pid = None
if end is None:
    for _ in range(200):
        try:
            pid = int(open(until[1:]).read())
            break
        except (OSError, ValueError):
            time.sleep(0.01)
def alive():
    if end is not None:
        return time.monotonic() < end
    try:
        os.kill(pid, 0)
        return os.waitpid(pid, os.WNOHANG) == (0, 0) if False else True
    except OSError:
        return False
while alive():
    t = time.monotonic_ns()
    p = os.posix_spawn(prog, [prog], {})
    os.waitpid(p, 0)
    lat.append((time.monotonic_ns() - t) / 1000)
lat.sort()
n = len(lat)
print("%d %.0f %.0f" % (n, lat[n // 2] if n else 0, lat[min(n - 1, n * 99 // 100)] if n else 0))
PY

s_state "{\"generate\": $N, \"page_size\": 10000}"
s_server santa a
s_conf "\"SyncBaseURL\": \"https://127.0.0.1:$S_PORT\", \"ServerAuthRootsFile\": \"$W_WORK/pki/a-ca.pem\", \"MachineID\": \"bench-1\""
w_start_agent --config "$W_WORK/warden.conf" --no-kernel-cache
w_prog "$W_MNT/p" bench
w_allow_sha "$(w_sha "$W_MNT/p")"

echo "sync bench: $N rules, pages of 10000; machine load $(cut -d' ' -f1-3 /proc/loadavg)"
# baseline: the same rules imported locally into a fresh store
python3 - "$N" >"$W_WORK/rules.json" <<'PY'
import hashlib, json, sys
n = int(sys.argv[1])
json.dump({"rules": [{"identifier": hashlib.sha256(b"rule-%d" % i).hexdigest(), "policy": "ALLOWLIST",
                      "rule_type": "BINARY"} for i in range(n)]}, sys.stdout)
PY
read -r iw irss irc < <(WARDEN_DB="$W_WORK/import.db" python3 "$W_WORK/run.py" "$WARDEN_BUILD/wardenctl" rule --import "$W_WORK/rules.json")
[ "$irc" = 0 ] || w_fail "baseline import failed"

read -r bn bp50 bp99 < <(python3 "$W_WORK/lat.py" "$W_MNT/p" 3)
rm -f "$W_WORK/sync.pid"
( python3 "$W_WORK/lat.py" "$W_MNT/p" "-$W_WORK/sync.pid" >"$W_WORK/lat.during" ) &
lp=$!
read -r sw srss src < <(python3 -c '
import os, resource, subprocess, sys, time
t = time.monotonic()
p = subprocess.Popen(sys.argv[2:], stdout=subprocess.DEVNULL)
open(sys.argv[1], "w").write(str(p.pid))
rc = p.wait()
print("%.3f %d %d" % (time.monotonic() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, rc))
' "$W_WORK/sync.pid" "$WARDEN_BUILD/warden-sync" --once --socket "$W_SOCK")
wait "$lp"
read -r dn dp50 dp99 <"$W_WORK/lat.during"
[ "$src" = 0 ] || w_fail "the sync failed"
[ "$(s_synced_rules)" = "$N" ] || w_fail "synced $(s_synced_rules) rules"
printf '  %-58s %8.2f s   (baseline wardenctl rule --import: %.2f s, ratio %.2f)\n' \
	"full sync, $N rules, $(( (N + 9999) / 10000 )) pages: wall time" "$sw" "$iw" "$(echo "$sw / $iw" | bc -l)"
printf '  %-58s %8d KiB (wardenctl rule --import: %d KiB)\n' "full sync: peak RSS of warden-sync" "$srss" "$irss"
printf '  %-58s p50 %d us, p99 %d us (%d execs); before: p50 %d us, p99 %d us (%d execs)\n' \
	"exec through the agent during the sync" "$dp50" "$dp99" "$dn" "$bp50" "$bp99" "$bn"

# upload throughput: EV events put straight into the spool (the agent stopped), then one sync
for batch in 50 500; do
	w_stop_agent
	python3 - "$W_WORK/sync-spool.db" "$EV" <<'PY'
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
ev = {"file_sha256": "ab" * 32, "file_path": "/opt/app/bin", "file_name": "tool", "executing_user": "root",
      "execution_time": 1764700000.5, "decision": "BLOCK_UNKNOWN", "pid": 4242, "ppid": 1, "parent_name": "bash",
      "logged_in_users": [], "current_sessions": [], "signing_chain": []}
db.execute("DELETE FROM events")
db.executemany("INSERT INTO events (event) VALUES (?)", ((json.dumps(dict(ev, pid=i)),) for i in range(int(sys.argv[2]))))
db.commit()
PY
	w_start_agent --config "$W_WORK/warden.conf" --no-kernel-cache
	[ "$(w_status .sync.spool.depth)" = "$EV" ] || w_fail "spool holds $(w_status .sync.spool.depth)"
	s_state "{\"batch_size\": $batch}"
	rm -f "$W_WORK/srv-events.jsonl"
	read -r uw urss urc < <(python3 "$W_WORK/run.py" "$WARDEN_BUILD/warden-sync" --once --socket "$W_SOCK")
	[ "$urc" = 0 ] || w_fail "upload sync failed"
	[ "$(wc -l <"$W_WORK/srv-events.jsonl")" = "$EV" ] || w_fail "server got $(wc -l <"$W_WORK/srv-events.jsonl") events"
	printf '  %-58s %8.0f events/s (%.1f s, peak RSS %d KiB)\n' "upload $EV spooled events, batches of $batch" \
		"$(echo "$EV / $uw" | bc -l)" "$uw" "$urss"
done
