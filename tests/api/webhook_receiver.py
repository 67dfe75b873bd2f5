#!/usr/bin/env python3
"""A webhook receiver for tests/api/webhooks_test.cpp, on 127.0.0.1 only.

Prints its port, then records one JSON line per request in LOG as it arrives (before
answering), checking the Standard Webhooks signature independently of rosterd's code against
every secret in SECRETS (one per line, re-read on each request). What it answers depends on the
first path segment:
  /ok/...     200 at once
  /down/...   500 always
  /slow/...   200 after 30 ms
  /flaky/...  by the message's log position p (the part of webhook-id after the last ':') and
              the attempt number n of that webhook-id: p % 3 == 0 and n == 1 -> 500;
              p % 4 == 0 and n == 1 -> no answer for longer than rosterd's timeout;
              p % 5 == 0 -> 200 after 100 ms (slow, within the timeout); else 200.
Usage: webhook_receiver.py LOG SECRETS
"""
import base64
import hashlib
import hmac
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOG, SECRETS = sys.argv[1], sys.argv[2]
lock = threading.Lock()
attempts = {}


def signature_ok(msg_id, ts, body, header):
    try:
        with open(SECRETS) as f:
            secrets = [line.strip() for line in f if line.strip()]
    except OSError:
        secrets = []
    given = [s.split(",", 1)[1] for s in header.split(" ") if s.startswith("v1,")]
    for secret in secrets:
        key = base64.b64decode(secret[len("whsec_"):])
        mac = hmac.new(key, msg_id.encode() + b"." + ts.encode() + b"." + body, hashlib.sha256).digest()
        expected = base64.b64encode(mac).decode()
        if any(hmac.compare_digest(expected, g) for g in given):
            return True
    return False


class handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        msg_id = self.headers.get("webhook-id", "")
        ts = self.headers.get("webhook-timestamp", "")
        mode = self.path.strip("/").split("/")[0]
        try:
            position = int(msg_id.rsplit(":", 1)[1])
        except (IndexError, ValueError):
            position = -1
        with lock:
            n = attempts[msg_id] = attempts.get(msg_id, 0) + 1
        status, delay = 200, 0.0
        if mode == "down":
            status = 500
        elif mode == "slow":
            delay = 0.03
        elif mode == "flaky":
            if position % 3 == 0 and n == 1:
                status = 500
            elif position % 4 == 0 and n == 1:
                delay = 2.0
            elif position % 5 == 0:
                delay = 0.1
        try:
            fresh = abs(time.time() - int(ts)) < 300
        except ValueError:
            fresh = False
        try:
            payload = json.loads(body)
        except ValueError:
            payload = {}
        record = {"path": self.path, "id": msg_id, "position": position, "attempt": n, "status": status,
                  "signature_ok": signature_ok(msg_id, ts, body, self.headers.get("webhook-signature", "")),
                  "fresh": fresh, "type": payload.get("type"), "data": payload.get("data")}
        with lock:
            with open(LOG, "a") as f:
                f.write(json.dumps(record) + "\n")
        time.sleep(delay)
        try:
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()
        except OSError:
            pass  # rosterd gave up waiting


server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
server.daemon_threads = True
print(server.server_address[1], flush=True)
server.serve_forever()
