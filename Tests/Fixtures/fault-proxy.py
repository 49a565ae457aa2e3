#!/usr/bin/python3
"""A fault-injecting HTTP proxy in front of a real registry, for layoutfs's tests.

Usage: fault-proxy.py UPSTREAM_PORT STATE_DIR
Listens on 127.0.0.1 (a free port, written to STATE_DIR/port once listening). Before each
request it reads STATE_DIR/faults.json, a list of rules:
  {"match": "/blobs/", "fault": "stall|trickle|reset|status500|status403|status429|ignore-range|bad-content-range|flip-byte|redirect",
   "times": 1}
The first rule whose "match" is a substring of the path and whose "times" is not used up
applies (rules without "times" apply forever). After each request it rewrites
STATE_DIR/stats.json: {"requests": [[method, path, fault, bytes_sent, range_header], ...],
"body_bytes": N}. A rule with the fault "pass" forwards unchanged (to fault only later requests).
Everything else is forwarded unchanged (headers included, Host rewritten).
"redirect" answers 307 to http://localhost:PORT/__redirected<path> (another host name for the
same proxy, as a storage URL would be); that request is recorded with the fault
"redirected-with-auth" or "redirected-without-auth" and served with the Authorization of the
request that was redirected (as a presigned URL needs none).
"""
import http.client
import http.server
import json
import os
import socket
import struct
import sys
import threading
import time

UPSTREAM = int(sys.argv[1])
STATE = sys.argv[2]
lock = threading.Lock()
used = {}
redirected_auth = {}
stats = {"requests": [], "body_bytes": 0}


def pick_fault(path):
    try:
        with open(os.path.join(STATE, "faults.json")) as f:
            rules = json.load(f)
    except (OSError, ValueError):
        return None
    with lock:
        for i, rule in enumerate(rules):
            if rule.get("match", "") not in path:
                continue
            times = rule.get("times")
            if times is not None and used.get(i, 0) >= times:
                continue
            used[i] = used.get(i, 0) + 1
            return rule["fault"]
    return None


def record(method, path, fault, sent, byte_range=None):
    with lock:
        stats["requests"].append([method, path, fault, sent, byte_range])
        stats["body_bytes"] += sent
        tmp = os.path.join(STATE, "stats.json.tmp")
        with open(tmp, "w") as f:
            json.dump(stats, f)
        os.replace(tmp, os.path.join(STATE, "stats.json"))


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_HEAD(self):
        self.forward()

    def do_GET(self):
        self.forward()

    def abort(self):
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True

    def forward(self):
        if self.path.startswith("/__redirected/"):
            original = self.path[len("/__redirected"):]
            fault = "redirected-with-auth" if self.headers.get("Authorization") else "redirected-without-auth"
            return self.relay(original, fault, redirected_auth.get(original))
        fault = pick_fault(self.path)
        if fault == "redirect":
            with lock:
                redirected_auth[self.path] = self.headers.get("Authorization")
            self.send_response(307)
            self.send_header("Location", "http://localhost:%d/__redirected%s" % (self.server.server_address[1], self.path))
            self.send_header("Content-Length", "0")
            self.end_headers()
            record(self.command, self.path, fault, 0)
            return
        self.relay(self.path, fault, None)

    def relay(self, path, fault, authorization):
        if fault == "stall":
            record(self.command, self.path, fault, 0)
            # Hold the connection open, silent, until the client gives up (bounded).
            self.connection.settimeout(60)
            try:
                self.connection.recv(1)
            except OSError:
                pass
            self.close_connection = True
            return
        if fault in ("status500", "status403", "status429"):
            code = {"status500": 500, "status403": 403, "status429": 429}[fault]
            body = json.dumps({"errors": [{"code": "INJECTED", "message": "fault injected by the test proxy"}]}).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            if code == 429:
                self.send_header("Retry-After", "1")
            self.end_headers()
            self.wfile.write(body)
            record(self.command, self.path, fault, 0)
            return
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection", "authorization")}
        if authorization or self.headers.get("Authorization"):
            headers["Authorization"] = authorization or self.headers.get("Authorization")
        if fault == "ignore-range":
            headers.pop("Range", None)
            headers.pop("range", None)
        upstream = http.client.HTTPConnection("127.0.0.1", UPSTREAM, timeout=60)
        upstream.request(self.command, path, headers=headers)
        response = upstream.getresponse()
        body = response.read() if self.command != "HEAD" else b""
        length = response.getheader("Content-Length")
        self.send_response(response.status)
        for k, v in response.getheaders():
            if k.lower() in ("connection", "transfer-encoding", "content-length"):
                continue
            if k.lower() == "location" and v.startswith("http://127.0.0.1:%d" % UPSTREAM):
                v = v.replace(":%d" % UPSTREAM, ":%d" % self.server.server_address[1], 1)
            if fault == "bad-content-range" and k.lower() == "content-range":
                v = "bytes 1-2/3"
            self.send_header(k, v)
        self.send_header("Content-Length", length if self.command == "HEAD" and length else str(len(body)))
        self.end_headers()
        if self.command == "HEAD":
            record(self.command, self.path, fault, 0)
            return
        if fault == "flip-byte" and body:
            middle = len(body) // 2
            body = body[:middle] + bytes([body[middle] ^ 0xFF]) + body[middle + 1:]
        if fault == "trickle":
            # A byte every 0.2 s: never silent long enough for a read timeout.
            sent = 0
            try:
                for i in range(len(body)):
                    self.wfile.write(body[i:i + 1])
                    self.wfile.flush()
                    sent += 1
                    time.sleep(0.2)
            except OSError:
                pass
            record(self.command, self.path, fault, sent, self.headers.get("Range"))
            self.close_connection = True
            return
        if fault == "reset" and len(body) > 1:
            half = len(body) // 2
            self.wfile.write(body[:half])
            self.wfile.flush()
            record(self.command, self.path, fault, half)
            self.abort()
            return
        # Recorded before the body goes out: a client that has every byte may ask for the stats
        # at once, before this thread would get to write them.
        record(self.command, self.path, fault, len(body), self.headers.get("Range"))
        self.wfile.write(body)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


server = Server(("127.0.0.1", 0), Handler)

with open(os.path.join(STATE, "port.tmp"), "w") as f:
    f.write(str(server.server_address[1]))
os.replace(os.path.join(STATE, "port.tmp"), os.path.join(STATE, "port"))
server.serve_forever()
