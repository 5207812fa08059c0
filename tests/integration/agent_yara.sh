#!/usr/bin/env bash
# YARA scanning in the running agent (decision path step 5), MONITOR mode:
#   - a block rule matching a marker string denies the binary (EPERM), reason
#     yara:<namespace>:<rule> in the event log; an audit rule only logs;
#   - a deliberately slow rule (a costly regular expression over 384 KiB of 'a's, about
#     1 s of scanning here; see tests/unit/test_scan.c) with ScanBudgetMs=100: the exec is
#     decided within the budget plus a generous margin (the agent's own latency_us), the
#     line says scan_pending, the late verdict arrives as a "scan" line, and the next
#     exec is decided from it (denied: the slow rule is a block rule);
#   - wardenctl fileinfo shows the agent's cached verdict; status shows the counters;
#   - a broken rule file on reload leaves the old rules active and status names the
#     error; a fixed set reloads on SIGHUP even while the configuration is broken, and
#     flushes the caches itself (a kernel-cached allow is decided again under the new
#     rules); unchanged rule files rebuild nothing (no file scans again);
#   - no rules found: no scanning, no error; rules that do not compile at start: the
#     agent runs without scanning and says why.
. "$(dirname "$0")/lib.sh"
w_setup
CTL=$WARDEN_BUILD/wardenctl
BUDGET=100
MARGIN=400   # ms: a correctness bound (the slow scan takes ~1 s), not a benchmark

Y=$W_WORK/yara
mkdir "$Y"
cat >"$Y/marker.yar" <<'R'
rule marked : block { strings: $m = "WARDEN-YARA-BLOCK-MARK" condition: $m }
R
cat >"$Y/audit.yar" <<'R'
rule watched { meta: warden_action = "audit" strings: $m = "WARDEN-YARA-AUDIT-MARK" condition: $m }
R
cat >"$Y/slow.yar" <<'R'
rule slow : block { strings: $r = /aa[a-z]{1,100}b/ condition: $r }
R

# prog PATH TAG [MARKER]: a copy of true, unique by TAG, with MARKER appended
prog() { w_prog "$1" "$2"; [ -z "${3:-}" ] || printf '%s' "$3" >>"$1"; }
prog "$W_MNT/marked" marked WARDEN-YARA-BLOCK-MARK
prog "$W_MNT/audited" audited WARDEN-YARA-AUDIT-MARK
prog "$W_MNT/clean" clean
w_prog "$W_MNT/slow" slow
head -c $((384 << 10)) /dev/zero | tr '\0' a >>"$W_MNT/slow"
printf b >>"$W_MNT/slow"

printf '{"ClientMode":"MONITOR","ScanBudgetMs":%d}\n' "$BUDGET" >"$W_WORK/warden.conf"
w_start_agent --config "$W_WORK/warden.conf" --yara "$Y/*.yar"
st=$(w_ctl_ok '{"cmd":"status"}')
echo "$st" | jq -e '.scan.enabled == true and .scan.rules.count == 3 and .scan.rules.files == 3 and
	.scan.rules.generation > 0 and .scan.rules.error == null and .scan.budget_ms == 100' >/dev/null ||
	w_fail "status after start: $(echo "$st" | jq -c .scan)"
GEN=$(echo "$st" | jq .scan.rules.generation)
w_log "3 rules loaded from --yara, generation $GEN: ok"

# --- block rule: denied in MONITOR, reason names the rule
w_expect_denied "$W_MNT/marked"
line=$(w_log_wait ".path == \"$W_MNT/marked\" and .decision == \"DENY\"")
echo "$line" | jq -e '.reason == "scan" and .mode == "MONITOR" and .cached == false and
	(.detail | test("yara:marker:marked \\(block\\)")) and (.sha256 | length) == 64' >/dev/null ||
	w_fail "block line: $line"
w_expect_denied "$W_MNT/marked"
w_log "block rule denies in MONITOR (EPERM), reason yara:marker:marked: ok"

# --- audit rule: allowed, the match logged
w_expect_allowed "$W_MNT/audited"
line=$(w_log_wait ".path == \"$W_MNT/audited\"")
echo "$line" | jq -e '.decision == "ALLOW" and .reason == "unknown" and
	(.detail | test("yara:audit:watched \\(audit\\)"))' >/dev/null || w_fail "audit line: $line"
w_log "audit rule: exec allowed, match logged: ok"

w_expect_allowed "$W_MNT/clean"
line=$(w_log_wait ".path == \"$W_MNT/clean\"")
echo "$line" | jq -e '.decision == "ALLOW" and (.detail | test("yara: no match")) and
	(has("scan_pending") | not)' >/dev/null || w_fail "clean line: $line"

# --- the budget holds: decided in budget + margin, pending, late verdict, then denied
w_expect_allowed "$W_MNT/slow"
line=$(w_log_wait ".path == \"$W_MNT/slow\" and .kind == \"exec\"")
lat=$(echo "$line" | jq .latency_us)
echo "$line" | jq -e --argjson lo $((BUDGET * 1000)) --argjson hi $(((BUDGET + MARGIN) * 1000)) \
	'.decision == "ALLOW" and .reason == "unknown" and .scan_pending == true and
	 (.detail | test("scan pending")) and .latency_us >= $lo and .latency_us < $hi' >/dev/null ||
	w_fail "slow exec: expected pending within ${BUDGET}+${MARGIN} ms: $line"
w_log "slow scan: exec allowed after $lat us (budget ${BUDGET} ms), marked scan_pending: ok"
late=
for _ in $(seq 250); do   # the scan takes 1-2 s here; its hard limit is 30 s
	late=$(jq -c "select(.kind == \"scan\" and .path == \"$W_MNT/slow\")" "$W_EVLOG" | tail -n 1)
	[ -n "$late" ] && break
	sleep 0.1
done
[ -n "$late" ] || w_fail "no late verdict line for the slow file"
echo "$late" | jq -e --arg sha "$(w_sha "$W_MNT/slow")" '.decision == "DENY" and .reason == "scan" and
	(.detail | test("late scan verdict: yara:slow:slow \\(block\\)")) and .sha256 == $sha' >/dev/null ||
	w_fail "late verdict line: $late"
w_expect_denied "$W_MNT/slow"
line=$(w_log_wait ".path == \"$W_MNT/slow\" and .kind == \"exec\" and .decision == \"DENY\"")
echo "$line" | jq -e '.reason == "scan" and (has("scan_pending") | not) and .latency_us < 100000' \
	>/dev/null || w_fail "exec after the late verdict: $line"
w_log "late verdict logged (block), next exec denied from the scan cache: ok"

st=$(w_ctl_ok '{"cmd":"status"}')
echo "$st" | jq -e '.scan.timed_out >= 1 and .scan.late >= 1 and .scan.late_logged >= 1 and
	.scan.blocked >= 2 and .scan.audited >= 1 and .scan.matched >= 3 and .scan.scans >= 4 and
	.scan.scan_us.max >= 100000 and .scan.scan_us.p99 > 0 and .scan.scan_us.mean > 0 and
	.scan.queue.workers >= 1 and .scan.queue.capacity > 0 and .decisions.DENY.scan >= 2' >/dev/null ||
	w_fail "status counters: $(echo "$st" | jq -c .scan)"
out=$("$CTL" status --socket "$W_SOCK") || w_fail "wardenctl status"
grep -q "Rules .*| 3 from 3 files, generation $GEN" <<<"$out" && grep -q "Timed out (budget) *| [1-9]" <<<"$out" ||
	w_fail "status text: $out"
w_log "status: scans, matched, timed out, late, scan time, queue: ok"

# --- fileinfo shows the agent's cached verdict (and nothing without an agent)
out=$(WARDEN_SOCKET=$W_SOCK "$CTL" fileinfo "$W_MNT/marked") || w_fail "fileinfo"
grep -q "^Agent scan *: done, block (yara:marker:marked), 1 matching rules, generation $GEN" <<<"$out" ||
	w_fail "fileinfo text: $out"
j=$(WARDEN_SOCKET=$W_SOCK "$CTL" fileinfo --json "$W_MNT/slow" "$W_MNT/clean")
[ "$(echo "$j" | jq -s -c '[.[].agent_scan | [.found, .action, .reason]]')" = \
	'[[true,"block","yara:slow:slow"],[true,"none",null]]' ] || w_fail "fileinfo json: $j"
prog "$W_MNT/never" never
j=$(WARDEN_SOCKET=$W_SOCK "$CTL" fileinfo --json "$W_MNT/never")
echo "$j" | jq -e '.agent_scan.found == false and .agent_scan.scanning == true' >/dev/null ||
	w_fail "fileinfo of a file never scanned: $j"
out=$(WARDEN_SOCKET=$W_WORK/none.sock "$CTL" fileinfo "$W_MNT/marked" 2>&1) &&
	! grep -q "Agent scan" <<<"$out" || w_fail "fileinfo without an agent: $out"
w_log "fileinfo shows the agent's cached scan result; silent without an agent: ok"

# --- a broken rule file: the old rules stay, status says why
printf 'rule ok2 { condition: true }\nrule broken { condition: and }\n' >"$Y/broken.yar"
r=$(w_ctl_ok '{"cmd":"reload"}')
echo "$r" | jq -e --argjson g "$GEN" '.yara.generation == $g and (.yara.error | test("broken.yar:2:"))' \
	>/dev/null || w_fail "reload reply with a broken rule file: $r"
st=$(w_ctl_ok '{"cmd":"status"}')
echo "$st" | jq -e --argjson g "$GEN" '.scan.rules.generation == $g and .scan.rules.count == 3 and
	(.scan.rules.error | test("broken.yar:2: syntax error")) and .scan.rules.reload_failures == 1 and
	.scan.enabled == true' >/dev/null || w_fail "status after a broken reload: $(echo "$st" | jq -c .scan.rules)"
out=$("$CTL" status --socket "$W_SOCK")
grep -q "Last reload error .*broken.yar:2:" <<<"$out" || w_fail "status text lacks the error: $out"
prog "$W_MNT/marked2" marked2 WARDEN-YARA-BLOCK-MARK
w_expect_denied "$W_MNT/marked2"
w_log_wait ".path == \"$W_MNT/marked2\" and .reason == \"scan\" and (.detail | test(\"yara:marker:marked\"))" >/dev/null
grep -q "YARA rules: .*broken.yar:2:.*the previous rules stay active" "$W_WORK/wardend.err" ||
	w_fail "the broken reload was not logged"
# (the reload flushed the caches: this allow goes back into the kernel cache, under the
# old rules, for the SIGHUP below to flush)
marks=$(w_status '.kernel_cache.marks_added')
w_expect_allowed "$W_MNT/audited"
[ "$(w_status '.kernel_cache.marks_added')" -gt "$marks" ] || w_fail "the audited allow was not kernel-cached"
w_log "broken rule file on reload: old rules active (marker still denied), error in status and log: ok"

# --- fixed while the configuration itself is broken: SIGHUP's configuration reload
# fails (nothing flushed by it), the YARA rules still reload, and the new set flushes
# the caches itself: the audited file, whose MONITOR allow is in the kernel cache, is
# decided again under the new rules (a new block rule matches it).
cp "$W_WORK/warden.conf" "$W_WORK/warden.conf.good"
echo '{"ClientMode": "MONITOR", "ScanBudgetMs": "fast"}' >"$W_WORK/warden.conf"
rm "$Y/broken.yar"
cat >"$Y/audit.yar" <<'R'
rule watched { meta: warden_action = "audit" strings: $m = "WARDEN-YARA-AUDIT-MARK" condition: $m }
rule now_blocked : block { strings: $m = "WARDEN-YARA-AUDIT-MARK" condition: $m }
R
kill -HUP "$W_PID"
for _ in $(seq 60); do
	[ "$(w_status '.scan.rules.generation')" != "$GEN" ] && break
	sleep 0.05
done
st=$(w_ctl_ok '{"cmd":"status"}')
echo "$st" | jq -e --argjson g "$GEN" '.scan.rules.generation > $g and .scan.rules.count == 4 and
	.scan.rules.error == null and .configuration.last_error != null' >/dev/null ||
	w_fail "status after SIGHUP: $(echo "$st" | jq -c '[.scan.rules, .configuration.last_error]')"
GEN2=$(echo "$st" | jq .scan.rules.generation)
w_expect_denied "$W_MNT/audited"
w_log_wait ".path == \"$W_MNT/audited\" and .decision == \"DENY\" and (.detail | test(\"yara:audit:now_blocked\"))" >/dev/null
w_log "SIGHUP with a broken configuration still loads the fixed YARA set (generation $GEN2),"
w_log "  and the new set flushes a kernel-cached allow: rescanned and denied: ok"
mv "$W_WORK/warden.conf.good" "$W_WORK/warden.conf"

# --- unchanged rule files: a reload (here SIGHUP, as logrotate sends) rebuilds nothing,
# so the scan cache stays valid (no file scans again)
w_ctl_ok '{"cmd":"reload"}' >/dev/null
reloads=$(w_status '.scan.rules.reloads')
scans=$(w_status '.scan.scans')
hups=$(grep -c "SIGHUP" "$W_WORK/wardend.err")
kill -HUP "$W_PID"
for _ in $(seq 60); do
	[ "$(grep -c "SIGHUP" "$W_WORK/wardend.err")" -gt "$hups" ] && break
	sleep 0.05
done
[ "$(grep -c "SIGHUP" "$W_WORK/wardend.err")" -gt "$hups" ] || w_fail "SIGHUP not handled"
[ "$(w_status '.scan.rules.generation')" = "$GEN2" ] && [ "$(w_status '.scan.rules.reloads')" = "$reloads" ] ||
	w_fail "SIGHUP with unchanged rule files rebuilt the YARA set"
w_expect_denied "$W_MNT/audited"   # scanned under this generation just above
[ "$(w_status '.scan.scans')" = "$scans" ] || w_fail "a file was scanned again after an unchanged reload"
w_log "reload with unchanged rule files: nothing rebuilt, scan verdicts still valid: ok"
w_stop_agent

# --- LOCKDOWN: a block match is denied as a scan verdict, not as an unknown
w_start_agent --mode lockdown --yara "$Y/marker.yar"
prog "$W_MNT/marked3" marked3 WARDEN-YARA-BLOCK-MARK
w_expect_denied "$W_MNT/marked3"
w_log_wait ".path == \"$W_MNT/marked3\" and .reason == \"scan\" and .mode == \"LOCKDOWN\"" >/dev/null
w_stop_agent

# --- no rules found: no scanning, no error
w_start_agent --yara "$W_WORK/absent/*.yar"
w_status '.scan' | jq -e '.enabled == false and .rules.count == 0 and .rules.error == null' >/dev/null ||
	w_fail "no rules: $(w_status '.scan')"
prog "$W_MNT/plain" plain
w_expect_allowed "$W_MNT/plain"
w_stop_agent

# --- rules that do not compile at start: the agent runs without scanning, says why
printf 'rule broken { condition: and }\n' >"$W_WORK/bad.yar"
w_start_agent --yara "$W_WORK/bad.yar"
w_status '.scan' | jq -e '.enabled == false and (.rules.error | test("bad.yar:1:"))' >/dev/null ||
	w_fail "broken at start: $(w_status '.scan')"
prog "$W_MNT/marked4" marked4 WARDEN-YARA-BLOCK-MARK
w_expect_allowed "$W_MNT/marked4"
w_log "no rules: no scanning, no error; broken at start: runs unscanned, status says why: ok"
echo ok
