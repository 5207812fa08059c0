#!/usr/bin/env bash
# ALLOWLIST_COMPILER with EnableTransitiveRules (Santa's key, off by default): what an
# allowed compiler writes becomes allowed by a transitive BINARY rule; what anything
# else writes stays unknown. Without the key a compiler rule is a plain allow rule and
# transitive rules do not match, as in Santa. The "compiler" is a copy of cp (any
# program that writes an executable will do).
. "$(dirname "$0")/lib.sh"
w_setup
CTL=$WARDEN_BUILD/wardenctl
cp /usr/bin/cp "$W_MNT/fakecc" && printf 'warden-test:fakecc' >>"$W_MNT/fakecc"
w_prog "$W_WORK/source" source           # outside the watched filesystem
echo "just text" >"$W_WORK/notes.txt"
printf '{"EnableTransitiveRules": true}\n' >"$W_WORK/warden.conf"
w_start_agent --mode lockdown --config "$W_WORK/warden.conf"
env -u WARDEN_SOCKET "$CTL" rule --compiler --path "$W_MNT/fakecc" --db "$W_DB" >/dev/null || w_fail "rule --compiler"
for _ in $(seq 20); do [ "$(w_status '.transitive.watching_writes')" = true ] && break; sleep 0.05; done
[ "$(w_status '.transitive.watching_writes')" = true ] || w_fail "close-writes not watched with a compiler rule"

w_expect_allowed "$W_MNT/fakecc" "$W_WORK/source" "$W_MNT/built"
sha=$(w_sha "$W_MNT/built")
ok=
for _ in $(seq 40); do
	env -u WARDEN_SOCKET "$CTL" rule --list --json --db "$W_DB" |
		jq -e --arg s "$sha" '.rules[] | select(.identifier == $s and .source == "transitive" and .policy == "ALLOWLIST")' >/dev/null &&
		{ ok=1; break; }
	sleep 0.05
done
[ -n "$ok" ] || w_fail "no transitive rule for the compiler's output"
w_expect_allowed "$W_MNT/built"
w_log "output of an allowlisted compiler is allowed by a transitive rule: ok"

# The compiler again (its ALLOW is never kernel-cached, so it is seen every time).
w_prog "$W_WORK/source2" source2
w_expect_allowed "$W_MNT/fakecc" "$W_WORK/source2" "$W_MNT/built2"
for _ in $(seq 40); do
	rc=0; w_exec "$W_MNT/built2" || rc=$?
	[ "$rc" = 0 ] && break
	sleep 0.05
done
[ "$rc" = 0 ] || w_fail "second output not allowed"
w_log "second compile: ok"

# Not a compiler: the system cp (not on the watched filesystem, no compiler rule).
cp "$W_WORK/source" "$W_MNT/copied" && printf 'x' >>"$W_MNT/copied"
sleep 0.3
w_expect_denied "$W_MNT/copied"
# A compiler's non-executable output gets no rule.
w_expect_allowed "$W_MNT/fakecc" "$W_WORK/notes.txt" "$W_MNT/notes.txt"
sleep 0.3
n=$(env -u WARDEN_SOCKET "$CTL" rule --list --json --db "$W_DB" | jq '[.rules[] | select(.source == "transitive")] | length')
[ "$n" = 2 ] || w_fail "expected 2 transitive rules, found $n"
w_log "files written by others, and non-programs, get no rule: ok"

# Without compiler rules the agent stops watching writes.
env -u WARDEN_SOCKET "$CTL" rule --remove --path "$W_MNT/fakecc" --db "$W_DB" >/dev/null
for _ in $(seq 20); do [ "$(w_status '.transitive.watching_writes')" = false ] && break; sleep 0.05; done
[ "$(w_status '.transitive.watching_writes')" = false ] || w_fail "still watching writes"
w_log "close-write watch removed with the last compiler rule: ok"

# EnableTransitiveRules off (the default): the compiler rule allows the compiler, no
# write is watched, and the transitive rules in the store do not match.
w_stop_agent
w_start_agent --mode lockdown
env -u WARDEN_SOCKET "$CTL" rule --compiler --path "$W_MNT/fakecc" --db "$W_DB" >/dev/null || w_fail "rule --compiler"
for _ in $(seq 40); do [ "$(w_status '.rules.by_type.BINARY.ALLOWLIST_COMPILER')" = 1 ] && break; sleep 0.05; done
[ "$(w_status '.rules.by_type.BINARY.ALLOWLIST_COMPILER')" = 1 ] || w_fail "the compiler rule never reached the agent"
[ "$(w_status '.transitive.watching_writes')" = false ] || w_fail "writes watched with EnableTransitiveRules off"
w_expect_denied "$W_MNT/built"          # its transitive rule is in the store, and ignored
w_expect_allowed "$W_MNT/fakecc" "$W_WORK/source" "$W_MNT/built3"
w_expect_denied "$W_MNT/built3"
w_log "EnableTransitiveRules off: compiler rule = allow rule, transitive rules ignored: ok"
echo ok
