#!/usr/bin/env bash
# Exception requests end to end, with a real unprivileged user the test creates (and
# removes in its trap): exec denied in LOCKDOWN -> `wardenctl blocked` and the event log
# hint -> `wardenctl request` as that user -> the user cannot approve (nor with a forged
# uid) -> root approves with a 2 s expiry -> exec allowed -> after expiry denied again and
# the request reads "expired" -> the audit trail and the event log show all of it. Then
# deny, the ApproverGroup, the policy's maximum expiry, export and all-or-nothing bulk
# decisions, bad input and a request flood.
. "$(dirname "$0")/lib.sh"
w_setup
command -v useradd >/dev/null && command -v groupadd >/dev/null || w_skip "no useradd/groupadd"

U=wexc$$ G=wexcg$$
W_USER_MADE= W_GROUP_MADE=
exc_cleanup() {
	local rc=$?
	[ -n "$W_USER_MADE" ] && userdel "$U" 2>/dev/null
	[ -n "$W_GROUP_MADE" ] && groupdel "$G" 2>/dev/null
	(exit $rc)
	w_cleanup
}
trap exc_cleanup EXIT
groupadd "$G" || w_fail "groupadd $G"
W_GROUP_MADE=1
useradd --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin --user-group "$U" ||
	w_fail "useradd $U"
W_USER_MADE=1
uid=$(id -u "$U") gid=$(id -g "$U") agid=$(getent group "$G" | cut -d: -f3)
AS="setpriv --reuid=$uid --regid=$gid --clear-groups --"
AS_APPROVER="setpriv --reuid=$uid --regid=$gid --groups=$agid --"
w_log "user $U (uid $uid), approver group $G (gid $agid)"

cat >"$W_WORK/warden.conf" <<EOF
{"ClientMode": "LOCKDOWN",
 "ExceptionPolicy": {"ApproverGroup": "$G", "MaxExpirySeconds": 3600}}
EOF
w_start_agent --config "$W_WORK/warden.conf"
[ "$(w_status '.mode')" = LOCKDOWN ] || w_fail "agent not in LOCKDOWN"
cp "$WARDEN_BUILD/wardenctl" "$W_WORK/wardenctl"   # reachable by the unprivileged user
CTL="$W_WORK/wardenctl"
export WARDEN_SOCKET=$W_SOCK

# As the user: one raw control request line; prints the reply.
user_ctl() { printf '%s\n' "$1" | $AS socat -t 5 - "UNIX-CONNECT:$W_SOCK"; }

prog=$W_MNT/tool
w_prog "$prog" tool
sha=$(w_sha "$prog")

# ---- denied, and told how to ask
w_expect_denied $AS "$prog"
line=$(w_log_wait ".decision == \"DENY\" and .uid == $uid and .path == \"$prog\"")
hint=$(echo "$line" | jq -r '.request_hint')
[ "$hint" = "wardenctl request '$prog' --reason 'why you need it'" ] ||
	w_fail "denial line has no request hint: $line"
b=$($AS "$CTL" blocked --json) || w_fail "blocked --json as the user"
echo "$b" | jq -e --arg p "$prog" --arg s "$sha" --arg h "$hint" \
	'.uid == '"$uid"' and (.denials | length) == 1 and .denials[0].path == $p and
	 .denials[0].sha256 == $s and .denials[0].request_hint == $h and .denials[0].request == null' \
	>/dev/null || w_fail "blocked: $b"
[ "$("$CTL" blocked --json | jq '.denials | length')" = 0 ] || w_fail "root sees the user's denials"
$AS "$CTL" blocked | grep -qF "$hint" || w_fail "blocked (text) does not show the hint"
w_log "denied; event log hint and 'blocked' agree: ok"

# ---- the user asks (the hint, as printed, is a command that works)
r=$($AS "$CTL" request "$prog" --reason "build the release for OPS-42" --json) || w_fail "request: $r"
id=$(echo "$r" | jq -r '.request.id')
echo "$r" | jq -e --arg s "$sha" --arg u "$U" '.existing == false and .request.state == "pending" and
	.request.requester.uid == '"$uid"' and .request.requester.name == $u and .request.sha256 == $s and
	.request.proposed_scope == "BINARY" and .request.decided == null' >/dev/null ||
	w_fail "request reply: $r"
r=$(cd "$W_WORK" && PATH="$W_WORK:$PATH" $AS sh -c "$hint --json") || w_fail "the hint did not run: $r"
echo "$r" | jq -e ".existing == true and .request.id == $id" >/dev/null ||
	w_fail "asking again did not return request $id: $r"
$AS "$CTL" blocked --json | jq -e ".denials[0].request.id == $id and .denials[0].request.state == \"pending\"" \
	>/dev/null || w_fail "blocked does not show the request"
w_log "request $id filed by $U; asking again returns it: ok"

# ---- a forged identity in the JSON changes nothing
prog2=$W_MNT/tool2
w_prog "$prog2" tool2
r=$(user_ctl "{\"cmd\":\"request\",\"path\":\"$prog2\",\"reason\":\"forged\",\"uid\":0,\"requester_uid\":0,\"requester\":{\"uid\":0,\"name\":\"root\"},\"peer\":{\"uid\":0}}")
echo "$r" | jq -e '.ok and .request.requester.uid == '"$uid"' and .request.requester.name == "'"$U"'"' \
	>/dev/null || w_fail "forged uid was believed: $r"
id2=$(echo "$r" | jq -r '.request.id')
for req in "{\"cmd\":\"approve\",\"id\":$id}" "{\"cmd\":\"approve\",\"id\":$id,\"uid\":0,\"peer\":{\"uid\":0,\"admin\":true}}" \
	"{\"cmd\":\"deny\",\"id\":$id,\"reason\":\"x\",\"uid\":0}" "{\"cmd\":\"requests\"}" \
	"{\"cmd\":\"audit\"}" "{\"cmd\":\"decide\",\"decisions\":[{\"id\":$id,\"decision\":\"approve\"}]}"; do
	r=$(user_ctl "$req")
	echo "$r" | jq -e '.ok == false and .code == "permission denied"' >/dev/null ||
		w_fail "unprivileged $req -> $r"
done
w_log "forged uids ignored; approver commands refused to the user: ok"

# ---- the user cannot approve through wardenctl either; still denied
rc=0; out=$($AS "$CTL" approve "$id" 2>&1) || rc=$?
[ "$rc" = 1 ] && [[ "$out" == *"needs root"* ]] || w_fail "user approve: exit $rc: $out"
rc=0; $AS "$CTL" requests >/dev/null 2>&1 || rc=$?
[ "$rc" = 1 ] || w_fail "user listed every request (exit $rc)"
$AS "$CTL" requests --mine --json | jq -e "[.requests[].id] == [$id, $id2]" >/dev/null ||
	w_fail "requests --mine"
$AS "$CTL" request --status "$id" --json | jq -e '.request.state == "pending"' >/dev/null ||
	w_fail "request --status as the user"
w_expect_denied $AS "$prog"
w_log "the user cannot approve; exec still denied: ok"

# ---- the policy's maximum expiry; then root approves for 2 s
rc=0; out=$("$CTL" approve "$id" --expires 2h 2>&1) || rc=$?
[ "$rc" = 1 ] && [[ "$out" == *"MaxExpirySeconds"* ]] || w_fail "2h approval under a 1h policy: $rc: $out"
rc=0; out=$("$CTL" approve "$id" --scope teamid 2>&1) || rc=$?
[ "$rc" = 1 ] && [[ "$out" == *"AllowedScopes"* ]] || w_fail "teamid scope: $rc: $out"
r=$("$CTL" approve "$id" --expires 2s --comment "OPS-42 approved" --json) || w_fail "approve: $r"
echo "$r" | jq -e --arg s "$sha" '.request.state == "approved" and .rule.type == "BINARY" and
	.rule.identifier == $s and .rule.source == "exception" and .effective.decision == "ALLOW" and
	.request.decided.by.uid == 0 and .request.decided.rule_id == .rule.id' >/dev/null ||
	w_fail "approve reply: $r"
exp=$(date -d "$(echo "$r" | jq -r '.request.decided.expires_at')" +%s)
w_expect_allowed $AS "$prog"
w_log "approved until $(date -u -d @"$exp" +%T): exec allowed: ok"

# ---- exact expiry: denied again, request expired, audit trail complete
while [ "$(date +%s)" -lt "$exp" ]; do sleep 0.1; done
w_expect_denied $AS "$prog"
$AS "$CTL" request --status "$id" --json | jq -e '.request.state == "expired"' >/dev/null ||
	w_fail "request not expired after its expiry"
for _ in $(seq 40); do
	a=$("$CTL" requests --audit --id "$id" --json)
	[ "$(echo "$a" | jq -c '[.audit[].action]')" = '["request","approve","expire"]' ] && break
	sleep 0.1
done
echo "$a" | jq -e --arg u "$U" '[.audit[].action] == ["request","approve","expire"] and
	.audit[0].uid == '"$uid"' and .audit[0].who == $u and .audit[1].uid == 0 and
	.audit[1].who == "root" and .audit[1].detail.comment == "OPS-42 approved" and
	.audit[2].uid == null and .audit[2].who == "wardend"' >/dev/null || w_fail "audit trail: $a"
for act in request approve expire; do
	w_log_wait ".kind == \"exception\" and .action == \"$act\" and .request_id == $id" >/dev/null
done
w_log "expired on the second: denied again, request expired, audit + event log complete: ok"

# ---- deny; an ApproverGroup member decides; decided requests stay decided
r=$($AS_APPROVER "$CTL" deny "$id2" --reason "use the packaged build" --json) ||
	w_fail "ApproverGroup member could not deny: $r"
echo "$r" | jq -e '.request.state == "denied" and .request.decided.by.uid == '"$uid" >/dev/null ||
	w_fail "deny reply: $r"
rc=0; out=$("$CTL" approve "$id2" 2>&1) || rc=$?
[ "$rc" = 1 ] && [[ "$out" == *"is already denied"* ]] || w_fail "approving a denied request: $rc: $out"
rc=0; out=$("$CTL" approve 999999 2>&1) || rc=$?
[ "$rc" = 1 ] && [[ "$out" == *"no request 999999"* ]] || w_fail "unknown id: $rc: $out"
rc=0; out=$($AS "$CTL" request --status "$id2" 2>&1) || rc=$?
[[ "$out" == *"use the packaged build"* ]] || w_fail "requester does not see the deny reason: $out"
w_log "deny by an ApproverGroup member; denied/unknown requests refused: ok"

# ---- export, then bulk decisions: all or nothing
progs=()
for i in 3 4; do w_prog "$W_MNT/tool$i" "tool$i"; progs+=("$W_MNT/tool$i"); done
ida=$($AS "$CTL" request "${progs[0]}" --reason "a" --json | jq -r .request.id)
idb=$($AS "$CTL" request "${progs[1]}" --reason "b" --json | jq -r .request.id)
"$CTL" requests --export "$W_WORK/export.jsonl" --status pending 2>/dev/null || w_fail "export"
[ "$(stat -c %a "$W_WORK/export.jsonl")" = 600 ] || w_fail "export file mode"
jq -e -s "[.[].id] == [$ida, $idb] and all(.state == \"pending\")" "$W_WORK/export.jsonl" >/dev/null ||
	w_fail "export: $(cat "$W_WORK/export.jsonl")"
# A ticketing system adds its decisions to the exported lines; the last names an unknown id.
{
	jq -c 'select(.id == '"$ida"') + {decision: "approve", expires: "1h", comment: "T-1"}' "$W_WORK/export.jsonl"
	jq -c 'select(.id == '"$idb"') + {decision: "deny", comment: "T-2"}' "$W_WORK/export.jsonl"
	echo '{"id": 424242, "decision": "approve"}'
} >"$W_WORK/decisions.jsonl"
rc=0; out=$("$CTL" approve --from "$W_WORK/decisions.jsonl" 2>&1) || rc=$?
[ "$rc" = 1 ] && [[ "$out" == *"line 3: no request 424242"* ]] || w_fail "bulk with a bad line: $rc: $out"
"$CTL" requests --status pending --json | jq -e "[.requests[].id] == [$ida, $idb]" >/dev/null ||
	w_fail "a failed bulk decision changed something"
w_expect_denied $AS "${progs[0]}"
sed -i '$d' "$W_WORK/decisions.jsonl"
# A line whose sha256 no longer matches the request is refused too.
jq -c '.sha256 = "'"$(printf 0%.0s {1..64})"'"' "$W_WORK/decisions.jsonl" >"$W_WORK/tampered.jsonl"
rc=0; out=$("$CTL" approve --from "$W_WORK/tampered.jsonl" 2>&1) || rc=$?
[ "$rc" = 1 ] && [[ "$out" == *"another file"* ]] || w_fail "sha256 mismatch: $rc: $out"
r=$("$CTL" approve --from "$W_WORK/decisions.jsonl" --json) || w_fail "bulk: $r"
echo "$r" | jq -e '.approved == 1 and .denied == 1' >/dev/null || w_fail "bulk reply: $r"
w_expect_allowed $AS "${progs[0]}"
w_expect_denied $AS "${progs[1]}"
rc=0; out=$("$CTL" approve "$ida" 2>&1) || rc=$?
[ "$rc" = 1 ] && [[ "$out" == *"is already approved"* ]] || w_fail "double approval: $rc: $out"
w_log "export; bulk decisions all or nothing: ok"

# ---- bad input
rc=0; "$CTL" request "$prog" --reason "$(head -c 600 /dev/zero | tr '\0' x)" >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || w_fail "oversized --reason: exit $rc"
r=$(user_ctl "{\"cmd\":\"request\",\"path\":\"$prog\",\"reason\":\"$(head -c 600 /dev/zero | tr '\0' x)\"}")
echo "$r" | jq -e '.ok == false and .code == "limit exceeded"' >/dev/null || w_fail "oversized reason: $r"
r=$(user_ctl '{"cmd":"request","path":"relative/x","reason":"x"}')
echo "$r" | jq -e '.ok == false and .code == "invalid"' >/dev/null || w_fail "relative path: $r"
secret=$W_WORK/secret
w_prog "$secret" secret
chmod 0700 "$secret"
r=$(user_ctl "{\"cmd\":\"request\",\"path\":\"$secret\",\"reason\":\"x\"}")
echo "$r" | jq -e '.ok == false and .code == "permission denied"' >/dev/null ||
	w_fail "the agent read a file the requester cannot: $r"
rc=0; $AS "$CTL" approve 1 --scope everything >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || w_fail "bad --scope: exit $rc"
w_log "oversized reason, relative path, unreadable file, bad scope: refused: ok"

# ---- a flood of requests hits the per-user rate limit
n=0 refused=
for i in $(seq 5 20); do
	w_prog "$W_MNT/flood$i" "flood$i"
	r=$(user_ctl "{\"cmd\":\"request\",\"path\":\"$W_MNT/flood$i\",\"reason\":\"flood\"}")
	if echo "$r" | jq -e '.ok' >/dev/null; then
		n=$((n + 1))
	else
		refused=$r
		break
	fi
done
# The user filed 4 requests above; 10 per hour are allowed.
[ "$n" = 6 ] && echo "$refused" | jq -e '.code == "busy" and (.error | test("rate limit"))' >/dev/null ||
	w_fail "flood: $n accepted, then: $refused"
kill -0 "$W_PID" || w_fail "the agent died"
w_log "flood: rate limited after 10 requests in an hour: ok"
