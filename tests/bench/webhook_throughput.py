#!/usr/bin/env python3
"""Webhook delivery throughput: one rosterd endpoint delivering to a local receiver that answers
200 at once (python's ThreadingHTTPServer, itself part of what is measured).

The endpoint is disabled while N events are written, then enabled: the time until its cursor
reaches the head is pure delivery (read, render, sign, connect, POST, answer), one message in
flight as in production.

Usage: tests/bench/webhook_throughput.py build/rosterd [N=2000]
"""
import json
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

rosterd = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
received = 0


class handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        global received
        self.rfile.read(int(self.headers.get("content-length", "0")))
        received += 1
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()


sink = ThreadingHTTPServer(("127.0.0.1", 0), handler)
sink.daemon_threads = True
threading.Thread(target=sink.serve_forever, daemon=True).start()

tmp = tempfile.mkdtemp(prefix="webhook-bench-")
server = subprocess.Popen([rosterd, "--listen", "127.0.0.1:0", "--data-dir", tmp + "/data"], stdout=subprocess.PIPE,
                          stderr=open(tmp + "/stderr.log", "w"), text=True)
port = None
for line in server.stdout:
    if line.startswith("listening on"):
        port = int(line.rsplit(":", 1)[1])
        break
token = open(tmp + "/data/operator.token").read().strip()


def call(method, path, body=None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method,
                                 data=None if body is None else json.dumps(body).encode(),
                                 headers={"authorization": "Bearer " + token, "content-type": "application/json"})
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read() or b"{}")


try:
    hook = call("POST", "/v1/admin/webhooks", {"url": f"http://127.0.0.1:{sink.server_port}/hook"})["webhook_id"]
    call("PATCH", f"/v1/admin/webhooks/{hook}", {"enabled": False})
    for i in range(n):
        call("POST", "/v1/accounts", {"id": f"bench-{i}", "name": "Bench", "kind": "customer"})
    start = time.monotonic()
    call("PATCH", f"/v1/admin/webhooks/{hook}", {"enabled": True})
    while call("GET", f"/v1/admin/webhooks/{hook}")["status"]["lag"] > 0:
        time.sleep(0.01)
    elapsed = time.monotonic() - start
    print(f"{received} messages in {elapsed:.2f} s: {received / elapsed:.0f} events/s")
finally:
    server.terminate()
    server.wait()
