#!/usr/bin/python3
"""A stateful HTTP/1.1 backend that fails on command, for nginx to proxy_pass to (stdlib only).

    flaky.py --root WWW [--port 0]

nginx.py's Nginx(..., flaky=True) starts it and routes /flaky/ on every TLS block to it, so
rasnd still speaks HTTP/2 + TLS to a real nginx, and nginx's access log has a line (with $msec
and $upstream_status) for every try. A rasnd [ripestat] base_url of
"https://127.0.0.1:<h2 port>/flaky" (Nginx.flaky_base_url()) sends its RIPEstat calls here.

It serves the files nginx serves, from the same directory (WWW = Nginx.www):
    /data/CALL/data.json?resource=R   WWW/data/CALL/by-resource/<key>.json (key as nginx's map:
                                      tests/servers/nginx.py file_key), else a JSON 404; a
                                      resource nginx would refuse gets a JSON 400
    /files/NAME                       WWW/files/NAME, with an ETag (sha1 of the content) and 304
                                      for a matching If-None-Match
Commands on stdin, one per line (KEY: the raw resource= value as it is in the URL, or a path
beginning with '/' such as /files/asn-v4.csv or /data/network-info/data.json, or '*' for any
request; a request takes the first of: its resource, its path, '*'):
    fail KEY N STATUS [RETRY_AFTER]   the next N requests for KEY get STATUS with a JSON error
                                      body (and Retry-After), then the real answer
    delay KEY MS [N]                  answer the next N (default: all following) requests for
                                      KEY MS milliseconds late
    reset KEY N                       close the connection without answering, N times (nginx
                                      answers 502)
    hang KEY N                        hold the next N requests without answering until `release`
    release                           answer the held requests (with the real answer)
    clear                             forget every pending fail/delay/reset/hang
Every event is one JSON line on stdout: {"ev":"ready","port":N}, {"ev":"command","cmd":...},
{"ev":"request","method","path","resource","key","status","action","t","wall","t_arrival",
"wall_arrival"} (t, wall: when the answer was written; t_arrival, wall_arrival: when the
request's head had been read, before any delay or hang; t: monotonic, comparable across events
of this process; wall: time.time(), comparable with nginx's $msec). Arrival stamps are the
ones to measure a client's retry gaps with: they do not move with how long answering took.
RETRY_AFTER may contain spaces (an HTTP-date): the rest of the line is the value.
"""
import argparse
import hashlib
import json
import pathlib
import re
import subprocess
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

lock = threading.Lock()
rules = {}        # key -> list of [kind, remaining (None: forever), args...]
held_cv = threading.Condition()
release_gen = 0
ROOT = None


def log(**kw):
    kw["t"] = time.monotonic()
    kw["wall"] = time.time()
    with lock:
        sys.stdout.write(json.dumps(kw) + "\n")
        sys.stdout.flush()


def file_key(resource):
    m = re.fullmatch(r"([0-9A-Fa-f.:]+)(?:/|%2[Ff])([0-9]{1,3})", resource)
    if m:
        return f"{m.group(1)}_{m.group(2)}"
    if re.fullmatch(r"[A-Za-z0-9._~:@%+,-]+", resource) and resource not in (".", ".."):
        return resource
    return None


def raw_arg(query, name):
    """The raw (not decoded) value of name= in the query string, as nginx's $arg_name."""
    for part in query.split("&"):
        k, _, v = part.partition("=")
        if k == name:
            return v
    return None


def take_rule(keys):
    """The first pending action for the first key that has one: (key, kind, args) or None."""
    with lock:
        for k in keys:
            lst = rules.get(k)
            while lst:
                r = lst[0]
                if r[1] is not None and r[1] <= 0:
                    lst.pop(0)
                    continue
                if r[1] is not None:
                    r[1] -= 1
                return k, r[0], r[2:]
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "flaky"
    sys_version = ""

    def log_message(self, *a):
        pass

    def send_body(self, status, body, ctype="application/json", headers=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD" and status != 304:
            self.wfile.write(body)

    def error_json(self, status, msg, headers=()):
        body = json.dumps({"status": "error", "status_code": status, "messages": [["error", msg]],
                           "data": {}}).encode()
        self.send_body(status, body, headers=headers)

    def real_answer(self):
        path, _, query = self.path.partition("?")
        m = re.fullmatch(r"/data/([a-z-]+)/data\.json", path)
        if m:
            res = raw_arg(query, "resource")
            key = file_key(res) if res is not None else None
            if key is None:
                return self.error_json(400, "invalid resource") or 400
            f = ROOT / "data" / m.group(1) / "by-resource" / f"{key}.json"
            try:
                body = f.read_bytes()
            except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
                return self.error_json(404, "not found") or 404
            self.send_body(200, body)
            return 200
        m = re.fullmatch(r"/files/([^/]+)", path)
        if m:
            name = urllib.parse.unquote(m.group(1))
            try:
                body = (ROOT / "files" / name).read_bytes()
            except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
                return self.error_json(404, "not found") or 404
            etag = '"' + hashlib.sha1(body).hexdigest() + '"'
            inm = self.headers.get("If-None-Match")
            if inm and etag in [t.strip() for t in inm.split(",")]:
                self.send_body(304, b"", "text/csv", [("ETag", etag)])
                return 304
            self.send_body(200, body, "text/csv", [("ETag", etag)])
            return 200
        self.error_json(404, "not found")
        return 404

    def do_GET(self):
        arrival = {"t_arrival": time.monotonic(), "wall_arrival": time.time()}
        path, _, query = self.path.partition("?")
        res = raw_arg(query, "resource")
        keys = ([res] if res is not None else []) + [path, "*"]
        rule = take_rule(keys)
        action, key, status = "serve", None, None
        if rule:
            key, kind, args = rule
            if kind == "fail":
                code, retry = args
                hdrs = [("Retry-After", retry)] if retry is not None else []
                self.error_json(code, f"injected fault {code}", hdrs)
                action, status = "fail", code
            elif kind == "reset":
                log(ev="request", method=self.command, path=path, resource=res, key=key,
                    status=None, action="reset", **arrival)
                self.close_connection = True
                try:
                    self.connection.shutdown(2)
                except OSError:
                    pass
                return
            elif kind == "delay":
                time.sleep(args[0] / 1000.0)
                action = "delay"
            elif kind == "hang":
                log(ev="held", path=path, resource=res, key=key)
                with held_cv:
                    g = release_gen
                    while release_gen == g:
                        held_cv.wait()
                action = "held"
        if status is None:
            status = self.real_answer()
        log(ev="request", method=self.command, path=path, resource=res, key=key, status=status,
            action=action, **arrival)

    do_HEAD = do_GET


def command(line):
    global release_gen
    w = line.split()
    if not w:
        return
    try:
        if w[0] == "fail":
            key, n, code = w[1], int(w[2]), int(w[3])
            retry = " ".join(w[4:]) if len(w) > 4 else None
            with lock:
                rules.setdefault(key, []).append(["fail", n, code, retry])
        elif w[0] == "delay":
            key, ms = w[1], int(w[2])
            n = int(w[3]) if len(w) > 3 and int(w[3]) > 0 else None
            with lock:
                rules.setdefault(key, []).append(["delay", n, ms])
        elif w[0] in ("reset", "hang"):
            with lock:
                rules.setdefault(w[1], []).append([w[0], int(w[2])])
        elif w[0] == "release":
            with held_cv:
                release_gen += 1
                held_cv.notify_all()
        elif w[0] == "clear":
            with lock:
                rules.clear()
        else:
            log(ev="bad-command", cmd=line.strip())
            return
    except (IndexError, ValueError) as e:
        log(ev="bad-command", cmd=line.strip(), error=str(e))
        return
    log(ev="command", cmd=line.strip())


def main():
    global ROOT
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--port", type=int, default=0)
    a = ap.parse_args()
    ROOT = pathlib.Path(a.root)
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer.request_queue_size = 128
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    log(ev="ready", port=srv.server_address[1])
    for line in sys.stdin:
        command(line)
    srv.shutdown()


# ---------------------------------------------------------------- wrapper

class Flaky:
    """flaky.py as a direct child: start(), cmd(line), events, wait_for(pred), stop()."""

    def __init__(self, root, logdir=None, port=0):
        self.root = pathlib.Path(root)
        self.logdir = pathlib.Path(logdir) if logdir else None
        self.want_port = port
        self.port = None
        self.proc = None
        self.events = []
        self._lock = threading.Lock()

    def start(self, timeout=30.0):
        err = subprocess.DEVNULL
        if self.logdir:
            self.logdir.mkdir(parents=True, exist_ok=True)
            err = open(self.logdir / "flaky.stderr", "ab")
        self.proc = subprocess.Popen(["/usr/bin/python3", __file__, "--root", str(self.root),
                                      "--port", str(self.want_port or 0)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, text=True)
        if err is not subprocess.DEVNULL:
            err.close()
        self._t = threading.Thread(target=self._read, daemon=True)
        self._t.start()
        ev = self.wait_for(lambda e: e["ev"] == "ready", timeout)[0]
        self.port = ev["port"]
        self.want_port = self.port   # a restart keeps the port
        return self

    def _read(self):
        for line in self.proc.stdout:
            try:
                e = json.loads(line)
            except ValueError:
                continue
            with self._lock:
                self.events.append(e)

    def wait_for(self, pred, timeout=30.0, count=1, since=0):
        """Poll until count events (after the first `since`) satisfy pred; returns them."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                got = [e for e in self.events[since:] if pred(e)]
            if len(got) >= count:
                return got
            if self.proc.poll() is not None:
                raise RuntimeError(f"flaky.py exited with {self.proc.returncode}; events {self.events[-5:]}")
            if time.monotonic() >= deadline:
                raise TimeoutError(f"{len(got)} of {count} matching events in {timeout} s; "
                                   f"last: {self.events[-5:]}")
            time.sleep(0.01)

    def cmd(self, line):
        """Send a command, wait for its acknowledgement; returns the event index before it."""
        with self._lock:
            n = len(self.events)
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        self.wait_for(lambda e: e["ev"] in ("command", "bad-command") and e["cmd"] == line.strip(), since=n)
        if any(e["ev"] == "bad-command" and e["cmd"] == line.strip() for e in self.events[n:]):
            raise ValueError(f"flaky.py refused {line!r}")
        return n

    def requests(self, since=0):
        with self._lock:
            return [e for e in self.events[since:] if e["ev"] == "request"]

    def stop(self, timeout=30.0):
        if self.proc is None:
            return None
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.proc = None
        return rc


if __name__ == "__main__":
    main()
