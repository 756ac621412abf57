#!/usr/bin/python3
"""A tiny stand-in for rasnd, for the client tests a real daemon cannot produce on command.

It listens on a Unix socket and answers each request line, in order, with canned JSON in the
shapes of docs/protocol.md (8.8.8.x is Google, 1.1.1.x Cloudflare, other addresses not found).
Faults, chosen on the command line:
  --close-after N         answer the first N requests of a connection, then close it
  --close-partial         ... and send half of reply N+1 before closing
  --close-reason TEXT     ... and send rasnd's refusal line with TEXT (daemon/server.c
                          reject()) before closing
  --stall-after N         after N requests, stall for --stall-seconds S:
  --stall-mode read       ... neither reading nor answering (the client's writes back up)
  --stall-mode answer     ... reading but not answering (the client's window must hold it)
  --log FILE              write a JSON summary per connection (requests, max outstanding)

Only the client tests use it; everything else runs against the real rasnd.
"""
import argparse
import ipaddress
import json
import os
import signal
import socket
import sys
import threading
import time

LINE_MAX = 4096


def reply_for(line: bytes) -> dict:
    """The canned reply to one request line (no terminator)."""
    if line.endswith(b"\r"):
        line = line[:-1]
    if len(line) > LINE_MAX:
        return {"query": line[:64].decode("utf-8", "replace"), "type": "invalid",
                "status": "error", "error": "line longer than 4096 bytes"}
    text = line.decode("utf-8", "replace")
    q = text.strip(" \t")
    low = q.lower()
    words = low.split()
    if low == "ping":
        return {"query": text, "type": "ping", "status": "ok", "version": "0.1.0"}
    if low == "stats":
        return {"query": text, "type": "stats", "status": "ok",
                "stats": {"queries": {"ip": 1, "as": 0}, "table": {"ranges_v4": 2}}}
    if low == "help":
        return {"query": text, "type": "help", "status": "ok", "help": "ask me\nanything\n"}
    if low.startswith("as") and low[2:].strip().isdigit():
        asn = int(low[2:].strip())
        if asn == 15169:
            return {"query": text, "type": "as", "status": "ok", "asn": asn,
                    "as_name": "Google LLC", "ranges_v4": 1, "ranges_v6": 0, "prefixes_v4": 1,
                    "prefixes_v6": 0, "addresses_v4": 256, "source": "table"}
        return {"query": text, "type": "as", "status": "not_found", "asn": asn, "source": "table"}
    if len(words) == 2 and words[0] == "org":
        if "google" in words[1]:
            return {"query": text, "type": "org", "status": "ok", "count": 1, "truncated": False,
                    "matches": [{"asn": 15169, "as_name": "Google LLC"}], "source": "table"}
        return {"query": text, "type": "org", "status": "not_found", "count": 0,
                "truncated": False, "matches": [], "source": "table"}
    addr = q[3:].strip() if low.startswith("ip ") else q
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return {"query": text, "type": "invalid", "status": "error",
                "error": "not an address, AS number, domain or command"}
    known = {"8.8.8.": (15169, "Google LLC", "8.8.8.0/24", "8.8.8.0", "8.8.8.255"),
             "1.1.1.": (13335, "Cloudflare, Inc.", "1.1.1.0/24", "1.1.1.0", "1.1.1.255")}
    for pfx, (asn, name, cidr, first, last) in known.items():
        if str(ip).startswith(pfx):
            return {"query": text, "type": "ip", "status": "ok", "ip": str(ip), "asn": asn,
                    "as_name": name, "prefix": cidr, "first_ip": first, "last_ip": last,
                    "source": "table"}
    return {"query": text, "type": "ip", "status": "not_found", "ip": str(ip), "source": "table"}


def encode(obj: dict) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


class Conn:
    def __init__(self, sock, opts, conn_id):
        self.sock, self.opts, self.id = sock, opts, conn_id
        self.read = 0          # request lines received
        self.answered = 0      # replies handed to the socket
        self.max_outstanding = 0
        self.stalled = False

    def log(self, event):
        if not self.opts.log:
            return
        rec = {"conn": self.id, "event": event, "read": self.read, "answered": self.answered,
               "max_outstanding": self.max_outstanding}
        with open(self.opts.log, "a") as f:
            f.write(json.dumps(rec) + "\n")

    def stall_due(self):
        o = self.opts
        return o.stall_after is not None and not self.stalled and self.read >= o.stall_after

    def serve(self):
        o = self.opts
        buf = b""
        pending = []
        stall_until = None
        try:
            while True:
                if self.stall_due():
                    self.stalled = True
                    self.log("stall")
                    if o.stall_mode == "read":
                        time.sleep(o.stall_seconds)
                    else:
                        stall_until = time.monotonic() + o.stall_seconds
                if stall_until is not None:
                    left = stall_until - time.monotonic()
                    if left <= 0:
                        stall_until = None
                        self.sock.settimeout(None)
                        self.send(pending)
                        pending = []
                        continue
                    self.sock.settimeout(left)
                try:
                    data = self.sock.recv(1 << 16)
                except socket.timeout:
                    continue
                if not data:
                    break
                buf += data
                lines = buf.split(b"\n")
                buf = lines.pop()
                for line in lines:
                    self.read += 1
                    pending.append(encode(reply_for(line)))
                    self.max_outstanding = max(self.max_outstanding,
                                               self.read - self.answered)
                    if o.close_after is not None and self.read > o.close_after:
                        pending.pop()
                        self.send(pending)
                        if o.close_partial:
                            half = encode(reply_for(line))
                            self.sock.sendall(half[:len(half) // 2])
                        if o.close_reason:
                            self.sock.sendall(encode({"query": "", "type": "invalid", "status": "error",
                                                      "error": o.close_reason}))
                        self.log("close")
                        return
                if stall_until is None and not self.stall_due():
                    self.send(pending)
                    pending = []
            self.send(pending)
            self.log("eof")
        except (BrokenPipeError, ConnectionResetError):
            self.log("reset")
        finally:
            self.sock.close()

    def send(self, replies):
        if replies:
            self.sock.sendall(b"".join(replies))
            self.answered += len(replies)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-s", "--socket", required=True)
    ap.add_argument("--close-after", type=int)
    ap.add_argument("--close-partial", action="store_true")
    ap.add_argument("--close-reason")
    ap.add_argument("--stall-after", type=int)
    ap.add_argument("--stall-seconds", type=float, default=2.0)
    ap.add_argument("--stall-mode", choices=["read", "answer"], default="read")
    ap.add_argument("--log")
    opts = ap.parse_args()

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if os.path.exists(opts.socket):
        os.unlink(opts.socket)
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(opts.socket)
    srv.listen(64)
    n = 0
    try:
        while True:
            s, _ = srv.accept()
            n += 1
            threading.Thread(target=Conn(s, opts, n).serve, daemon=True).start()
    finally:
        srv.close()
        try:
            os.unlink(opts.socket)
        except OSError:
            pass


if __name__ == "__main__":
    main()
