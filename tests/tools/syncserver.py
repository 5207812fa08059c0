#!/usr/bin/env python3
"""A Santa sync server for warden's tests, written from Santa's sync protocol docs.

Stages: POST <prefix>/preflight/<machine_id>, /eventupload/, /ruledownload/,
/postflight/, and /xsrf/ for the XSRF round trip. Bodies are JSON, zlib-compressed
when the client says Content-Encoding: deflate (as Santa does).

Flavours (--flavor) imitate what real servers insist on:
  santa    paths at the root, string cursors "page-N"
  moroz    paths under /v1/santa/, bodies always zlib-decoded (plain JSON refused),
           all rules in one page (no cursor)
  rudolph  opaque string cursors (base64 of a JSON object)
  zentral  Authorization: Bearer <--secret> required, the machine id must be a UUID,
           preflight must carry serial_num; integer-looking string cursors
  xsrf     every stage answers 403 until the client fetched /xsrf/<id> and sends the
           X-XSRF-TOKEN it got

What the server says is read from --state (a JSON file, re-read on every request), so a
test changes behaviour between syncs without restarting it:
  client_mode, batch_size, full_sync_interval, sync_type, clean_sync,
  allowed_path_regex, blocked_path_regex, enable_transitive_rules   (preflight answer)
  rules: [...]            the rules to hand out, or
  generate: N, policy     N BINARY rules with made-up hashes (sha256 of "rule-<i>"),
  extra: [...]            followed by these
  page_size: P            rules per ruledownload page (default 1000)
  fail: {stage: K}        answer HTTP 500 to the first K requests of that stage
  truncate_page: K        cut ruledownload page K (1-based) in the middle
  malformed_page: K       put a rule with a bad identifier on page K
  block_page: K           hold page K until --state's "release" is true (or 60 s)
  status: {stage: code}   answer that HTTP status to every request of that stage
Every request is logged to --log (JSON lines: stage, status, path, cursor, headers of
interest); every uploaded event to --events (one JSON line per event).
"""
import argparse
import base64
import hashlib
import http.server
import json
import os
import re
import socket
import ssl
import sys
import threading
import time
import zlib

UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
lock = threading.Lock()
counts = {}
xsrf_token = "xsrf-" + os.urandom(8).hex()


def state(args):
    try:
        with open(args.state) as f:
            return json.load(f)
    except FileNotFoundError:
        return {}


def log(args, rec):
    with lock, open(args.log, "a") as f:
        f.write(json.dumps(rec) + "\n")


def all_rules(st):
    if "rules" in st:
        return st["rules"]
    n = int(st.get("generate", 0))
    pol = st.get("policy", "ALLOWLIST")
    key = (n, pol)
    if getattr(all_rules, "key", None) != key:
        all_rules.key = key
        all_rules.cache = [{"identifier": hashlib.sha256(b"rule-%d" % i).hexdigest(), "policy": pol,
                            "rule_type": "BINARY"} for i in range(n)]
    return all_rules.cache + st.get("extra", [])


def make_cursor(flavor, page):
    if flavor == "rudolph":
        return base64.b64encode(json.dumps({"p": page, "k": "rudolph"}).encode()).decode()
    if flavor == "zentral":
        return str(page)
    return "page-%d" % page


def read_cursor(flavor, c):
    if c is None:
        return 0
    if flavor == "rudolph":
        return int(json.loads(base64.b64decode(c))["p"])
    if flavor == "zentral":
        return int(c)
    return int(str(c).split("-")[1])


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def setup(self):
        # headers and body are two writes: without this, Nagle and the client's delayed
        # ACK add 40 ms to every answer on a kept-alive connection
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().setup()

    def reply(self, code, obj=None, raw=None, headers=None):
        body = raw if raw is not None else (json.dumps(obj).encode() if obj is not None else b"")
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        a = self.server.args
        st = state(a)
        n = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(n) if n else b""
        prefix = "/v1/santa" if a.flavor == "moroz" else ""
        path = self.path
        rec = {"path": path, "encoding": self.headers.get("Content-Encoding"),
               "auth": self.headers.get("Authorization"), "xsrf": self.headers.get("X-XSRF-TOKEN")}
        if not path.startswith(prefix + "/"):
            rec.update(stage="?", status=404)
            log(a, rec)
            return self.reply(404, {"error": "no such path"})
        parts = path[len(prefix) + 1:].split("/")
        if len(parts) != 2 or not parts[1]:
            rec.update(stage="?", status=404)
            log(a, rec)
            return self.reply(404, {"error": "expected /<stage>/<machine_id>"})
        stage, mid = parts
        rec.update(stage=stage, machine_id=mid)

        def done(code, obj=None, raw_body=None, headers=None):
            rec["status"] = code
            log(a, rec)
            self.reply(code, obj, raw_body, headers)

        if a.flavor == "zentral":
            if self.headers.get("Authorization") != "Bearer " + a.secret:
                return done(403, {"error": "bad secret"})
            if not UUID_RE.match(mid):
                return done(400, {"error": "machine id must be a UUID"})
        if stage == "xsrf":
            return done(200, {}, headers={"X-XSRF-TOKEN": xsrf_token})
        if a.flavor == "xsrf" and self.headers.get("X-XSRF-TOKEN") != xsrf_token:
            return done(403, {"error": "xsrf"})
        # the body
        enc = self.headers.get("Content-Encoding")
        try:
            if enc in ("deflate", "zlib") or a.flavor == "moroz":
                raw = zlib.decompress(raw)
            body = json.loads(raw) if raw else {}
        except Exception as e:  # noqa: BLE001
            return done(400, {"error": "bad body: %s" % e})
        with lock:
            counts[stage] = counts.get(stage, 0) + 1
            k = counts[stage]
        fail = st.get("fail", {}).get(stage, 0)
        if k <= fail:
            return done(500, {"error": "injected failure %d of %d" % (k, fail)})
        if stage in st.get("status", {}):
            return done(int(st["status"][stage]), {"error": "injected status"})

        if stage == "preflight":
            rec["request"] = body
            if a.flavor == "zentral" and not body.get("serial_num"):
                return done(400, {"error": "serial_num required"})
            resp = {}
            for key in ("client_mode", "batch_size", "full_sync_interval", "sync_type", "clean_sync",
                        "allowed_path_regex", "blocked_path_regex", "enable_transitive_rules"):
                if key in st:
                    resp[key] = st[key]
            return done(200, resp)
        if stage == "eventupload":
            events = body.get("events", [])
            rec["events"] = len(events)
            with lock, open(a.events, "a") as f:
                for e in events:
                    f.write(json.dumps(e) + "\n")
            return done(200, {})
        if stage == "ruledownload":
            rules = all_rules(st)
            cursor = body.get("cursor")
            rec["cursor"] = cursor
            size = len(rules) if a.flavor == "moroz" else int(st.get("page_size", 1000))
            page = read_cursor(a.flavor, cursor)
            chunk = rules[page * size:(page + 1) * size]
            resp = {"rules": chunk}
            if a.flavor != "moroz" and (page + 1) * size < len(rules):
                resp["cursor"] = make_cursor(a.flavor, page + 1)
            rec["page"] = page + 1
            if st.get("block_page") == page + 1:
                rec["blocked"] = True
                log(a, dict(rec, status=0))
                for _ in range(600):
                    if state(a).get("release"):
                        break
                    time.sleep(0.1)
            if st.get("malformed_page") == page + 1:
                resp["rules"] = chunk + [{"identifier": "not-a-hash", "policy": "ALLOWLIST",
                                          "rule_type": "BINARY"}]
            out = json.dumps(resp).encode()
            if st.get("truncate_page") == page + 1:
                out = out[:len(out) // 2]
            return done(200, raw_body=out)
        if stage == "postflight":
            rec["request"] = body
            return done(200, {})
        return done(404, {"error": "unknown stage"})


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--client-ca")
    p.add_argument("--flavor", default="santa", choices=["santa", "moroz", "rudolph", "zentral", "xsrf"])
    p.add_argument("--secret", default="")
    p.add_argument("--state", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--events", required=True)
    p.add_argument("--port-file", required=True)
    p.add_argument("--port", type=int, default=0)
    args = p.parse_args()
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    srv.daemon_threads = True
    srv.args = args
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    if args.client_ca:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(args.client_ca)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, args.port_file)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
