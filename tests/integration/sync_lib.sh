# Helpers for the fleet sync tests (sync_*.sh): certificates made here with openssl, the
# test sync server (tests/tools/syncserver.py) on 127.0.0.1 only, a warden.conf that
# points at it. Source after lib.sh and w_setup.

S_TOOLS=$(cd "$(dirname "${BASH_SOURCE[0]}")/../tools" && pwd)
S_PORT= S_SRV_PID=

s_require() {
	command -v python3 >/dev/null || w_fail "python3 missing (make deps)"
	command -v openssl >/dev/null || w_fail "openssl missing (make deps)"
	[ -x "$WARDEN_BUILD/warden-sync" ] || w_fail "no $WARDEN_BUILD/warden-sync (run make)"
}

# A CA ($1) and a server certificate for 127.0.0.1 signed by it: $W_WORK/pki/$1-ca.pem,
# $1-srv.pem, $1-srv.key.
s_pki() {
	local d=$W_WORK/pki n=$1
	mkdir -p "$d"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=warden test CA $n" \
		-keyout "$d/$n-ca.key" -out "$d/$n-ca.pem" 2>/dev/null || w_fail "openssl CA"
	openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$d/$n-srv.key" \
		-out "$d/$n-srv.csr" 2>/dev/null || w_fail "openssl csr"
	printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n' >"$d/$n.ext"
	openssl x509 -req -in "$d/$n-srv.csr" -CA "$d/$n-ca.pem" -CAkey "$d/$n-ca.key" \
		-CAcreateserial -days 2 -extfile "$d/$n.ext" -out "$d/$n-srv.pem" 2>/dev/null ||
		w_fail "openssl sign"
	chmod 0644 "$d"/*.pem "$d"/*.key
}

# s_server FLAVOR PKI [extra args]: start the sync server; sets S_PORT. Its state file
# is $W_WORK/srv-state.json (s_state writes it), its logs srv-requests.jsonl and
# srv-events.jsonl.
s_server() {
	local flavor=$1 pki=$2
	shift 2
	rm -f "$W_WORK/srv.port"
	[ -f "$W_WORK/srv-state.json" ] || echo '{}' >"$W_WORK/srv-state.json"
	python3 "$S_TOOLS/syncserver.py" --flavor "$flavor" --cert "$W_WORK/pki/$pki-srv.pem" \
		--key "$W_WORK/pki/$pki-srv.key" --state "$W_WORK/srv-state.json" \
		--log "$W_WORK/srv-requests.jsonl" --events "$W_WORK/srv-events.jsonl" \
		--port-file "$W_WORK/srv.port" ${S_PORT:+--port "$S_PORT"} "$@" 2>>"$W_WORK/srv.err" &
	S_SRV_PID=$!
	disown "$S_SRV_PID" 2>/dev/null # no job notice when the cleanup kills it
	W_EXTRA_PIDS="$S_SRV_PID $W_EXTRA_PIDS"
	for _ in $(seq 200); do
		[ -s "$W_WORK/srv.port" ] && { S_PORT=$(cat "$W_WORK/srv.port"); return 0; }
		kill -0 "$S_SRV_PID" 2>/dev/null || { cat "$W_WORK/srv.err" >&2; w_fail "sync server exited"; }
		sleep 0.05
	done
	w_fail "sync server did not come up"
}

s_server_stop() {
	[ -n "$S_SRV_PID" ] || return 0
	kill -TERM "$S_SRV_PID" 2>/dev/null
	for _ in $(seq 100); do kill -0 "$S_SRV_PID" 2>/dev/null || break; sleep 0.05; done
	kill -KILL "$S_SRV_PID" 2>/dev/null
	S_SRV_PID=
}

# s_state JSON: what the server says from now on.
s_state() {
	printf '%s\n' "$1" >"$W_WORK/srv-state.json.tmp" && mv "$W_WORK/srv-state.json.tmp" "$W_WORK/srv-state.json"
}

# s_conf JSON-MEMBERS: warden.conf with the given members (SyncBaseURL etc.).
s_conf() {
	printf '{%s}\n' "$1" >"$W_WORK/warden.conf"
	chmod 0644 "$W_WORK/warden.conf"
}

# s_sync [args]: one sync as root, quick retries; W_OUT gets stdout+stderr, returns its status.
s_sync() {
	W_OUT=$(timeout -k 5 300 "$WARDEN_BUILD/warden-sync" --once --socket "$W_SOCK" --retries 1 \
		--backoff-ms 100 --timeout 60 "$@" 2>&1)
}

s_sync_ok() {
	s_sync "$@" || w_fail "sync failed: $W_OUT"
}

# Number of requests of a stage the server answered with status (default 200).
s_requests() {
	jq -c "select(.stage == \"$1\" and .status == ${2:-200})" "$W_WORK/srv-requests.jsonl" 2>/dev/null | wc -l
}

# wardend's sync-config reply (root may ask).
s_synced_rules() { w_ctl '{"cmd":"sync-config"}' | jq -r '.synced_rules'; }
