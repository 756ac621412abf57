#!/usr/bin/python3
"""A TCP proxy that adds latency in user space (the kernel here has no netem).

    latproxy.py --target HOST:PORT --rtt-ms MS [--port 0] [--quiet]

Listens on 127.0.0.1:PORT and, for each accepted connection, connects to the target; every
chunk read from either side is written to the other side RTT/2 later, in order (one queue and
one timer per direction; asyncio protocols, so hundreds of connections and many MB/s are fine).
An EOF (half-close), a close and a reset (sent on as a reset) travel with the same delay. Reading from a side pauses while
more than 8 MiB wait for the other side, or while the other side's socket is full.

Not delayed: the TCP handshake. The kernel completes the client's SYN/SYN-ACK at once (the
listening socket is the proxy's), so connect() returns after the loopback RTT; only the bytes
that follow pay RTT/2 each way. A TLS 1.3 handshake through the proxy therefore costs about
one RTT, an HTTP request/response one more; a real network would add one more for the SYN.

Commands on stdin: `rtt MS` changes the delay for chunks read from then on (never reordering:
a chunk is never sent before one read earlier); `stats` prints counters. EOF on stdin exits.
Events, one JSON line each on stdout: {"ev":"ready","port":N}, {"ev":"accept","id":N},
{"ev":"close","id":N,"up":BYTES,"down":BYTES,"error":null or why}, {"ev":"connect-failed","id":N,"error":...},
{"ev":"command","cmd":...}, {"ev":"stats",...}. --quiet drops accept/close.
"""
import argparse
import asyncio
import collections
import json
import socket
import struct
import subprocess
import sys
import threading
import time

MAX_QUEUED = 8 << 20
EOF = object()
CLOSE = object()   # the peer closed: close the other side after its queue
ABORT = object()   # the peer reset: reset the other side (SO_LINGER 0 close)


def _reset(transport):
    """Close with an RST (SO_LINGER 0), as the peer did."""
    sock = transport.get_extra_info("socket")
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    transport.abort()


def emit(**kw):
    kw.setdefault("t", time.monotonic())
    sys.stdout.write(json.dumps(kw) + "\n")
    sys.stdout.flush()


class State:
    def __init__(self, rtt_ms, quiet):
        self.half = rtt_ms / 2000.0
        self.quiet = quiet
        self.next_id = 0
        self.open = 0
        self.total = 0


class Direction:
    """Bytes read from src, written to dst after the delay, in order."""

    def __init__(self, conn, src_name, dst_name):
        self.conn = conn
        self.src, self.dst = src_name, dst_name
        self.q = collections.deque()   # (due, item)
        self.queued = 0
        self.timer = None
        self.last_due = 0.0
        self.src_paused = False
        self.dst_full = False
        self.done = False               # EOF or CLOSE delivered
        self.bytes = 0

    def push(self, item, loop):
        due = max(loop.time() + self.conn.st.half, self.last_due)
        self.last_due = due
        self.q.append((due, item))
        if isinstance(item, (bytes, bytearray)):
            self.queued += len(item)
            self.bytes += len(item)
            if self.queued > MAX_QUEUED:
                self._pause_src()
        if self.timer is None:
            self.flush(loop)

    def _pause_src(self):
        t = self.conn.transport(self.src)
        if t is not None and not self.src_paused:
            self.src_paused = True
            t.pause_reading()

    def _resume_src(self):
        t = self.conn.transport(self.src)
        if t is not None and self.src_paused and not self.dst_full and self.queued <= MAX_QUEUED // 2:
            self.src_paused = False
            try:
                t.resume_reading()
            except RuntimeError:
                pass

    def flush(self, loop):
        self.timer = None
        dst = self.conn.transport(self.dst)
        if dst is None:
            return   # the upstream is not connected yet: flushed again once it is
        now = loop.time()
        while self.q and self.q[0][0] <= now + 0.0005:
            _, item = self.q.popleft()
            if item is EOF:
                self.done = True
                if dst.can_write_eof() and not dst.is_closing():
                    try:
                        dst.write_eof()
                    except OSError:
                        pass  # the peer is gone already: nothing left to half-close
                self.conn.check_done()
            elif item is CLOSE or item is ABORT:
                self.done = True
                self.conn.close_all(abort=item is ABORT)
                return
            else:
                self.queued -= len(item)
                if not dst.is_closing():
                    dst.write(item)
        self._resume_src()
        if self.q:
            self.timer = loop.call_at(self.q[0][0], self.flush, loop)


class Side(asyncio.Protocol):
    def __init__(self, conn, name):
        self.conn, self.name = conn, name
        self.t = None

    def connection_made(self, transport):
        self.t = transport
        self.conn.made(self.name, transport)

    def data_received(self, data):
        self.conn.out_of(self.name).push(bytes(data), self.conn.loop)

    def eof_received(self):
        self.conn.out_of(self.name).push(EOF, self.conn.loop)
        return True   # keep the other direction open (half-close)

    def connection_lost(self, exc):
        self.conn.lost(self.name, exc)

    def pause_writing(self):
        d = self.conn.into(self.name)
        d.dst_full = True
        d._pause_src()

    def resume_writing(self):
        d = self.conn.into(self.name)
        d.dst_full = False
        d._resume_src()


class Conn:
    def __init__(self, st, loop, cid):
        self.st, self.loop, self.id = st, loop, cid
        self.t = {"client": None, "server": None}
        self.alive = {"client": False, "server": False}
        self.up = Direction(self, "client", "server")
        self.down = Direction(self, "server", "client")
        self.closed = False
        self.error = None

    def transport(self, name):
        return self.t[name]

    def out_of(self, name):
        return self.up if name == "client" else self.down

    def into(self, name):
        return self.down if name == "client" else self.up

    def made(self, name, transport):
        self.t[name] = transport
        self.alive[name] = True
        if name == "server":
            self.up.flush(self.loop)

    def lost(self, name, exc):
        self.alive[name] = False
        if exc is not None and self.error is None:
            self.error = f"{name}: {exc}"
        d = self.out_of(name)
        if not d.done:
            # the close (or reset) travels with the delay too
            d.push(CLOSE if exc is None else ABORT, self.loop)
        if not any(self.alive.values()):
            self.finish()

    def check_done(self):
        if self.up.done and self.down.done:
            self.close_all()

    def close_all(self, abort=False):
        for t in self.t.values():
            if t is not None and not t.is_closing():
                if abort:
                    _reset(t)
                else:
                    t.close()
        if not any(self.alive.values()):
            self.finish()

    def finish(self):
        if self.closed:
            return
        self.closed = True
        for d in (self.up, self.down):
            if d.timer:
                d.timer.cancel()
        self.st.open -= 1
        if not self.st.quiet:
            emit(ev="close", id=self.id, up=self.up.bytes, down=self.down.bytes, error=self.error)


async def serve(args):
    loop = asyncio.get_running_loop()
    st = State(args.rtt_ms, args.quiet)
    host, _, port = args.target.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    port = int(port)

    def accept():
        st.next_id += 1
        st.open += 1
        st.total += 1
        conn = Conn(st, loop, st.next_id)
        if not st.quiet:
            emit(ev="accept", id=conn.id)

        async def connect():
            try:
                await loop.create_connection(lambda: Side(conn, "server"), host, port)
            except OSError as e:
                emit(ev="connect-failed", id=conn.id, error=str(e))
                t = conn.t["client"]
                if t is not None:
                    _reset(t)
                else:
                    conn.finish()

        loop.create_task(connect())
        return Side(conn, "client")

    server = await loop.create_server(accept, "127.0.0.1", args.port, backlog=1024, reuse_address=True)
    emit(ev="ready", port=server.sockets[0].getsockname()[1], rtt_ms=args.rtt_ms)
    stdin_done = asyncio.Event()

    def on_line(line):
        w = line.split()
        if not w:
            return
        if w[0] == "rtt":
            st.half = float(w[1]) / 2000.0
        elif w[0] == "stats":
            emit(ev="stats", open=st.open, total=st.total, rtt_ms=st.half * 2000.0)
        emit(ev="command", cmd=line.strip())

    def read_stdin():
        for line in sys.stdin:
            loop.call_soon_threadsafe(on_line, line)
        loop.call_soon_threadsafe(stdin_done.set)

    threading.Thread(target=read_stdin, daemon=True).start()
    await stdin_done.wait()
    server.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--target", required=True, help="HOST:PORT")
    ap.add_argument("--rtt-ms", type=float, required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--quiet", action="store_true")
    asyncio.run(serve(ap.parse_args()))


class LatProxy:
    """latproxy.py as a direct child. LatProxy(target_port, rtt_ms).start(); .port; .url();
    set_rtt(ms); events; wait_for(pred); stop()."""

    def __init__(self, target_port, rtt_ms, target_host="127.0.0.1", port=0, quiet=True, logdir=None):
        self.target = f"{target_host}:{target_port}"
        self.rtt_ms = rtt_ms
        self.want_port = port
        self.quiet = quiet
        self.port = None
        self.proc = None
        self.events = []
        self._lock = threading.Lock()
        self.logdir = logdir

    def start(self, timeout=30.0):
        argv = ["/usr/bin/python3", __file__, "--target", self.target, "--rtt-ms", str(self.rtt_ms),
                "--port", str(self.want_port or 0)] + (["--quiet"] if self.quiet else [])
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        threading.Thread(target=self._read, daemon=True).start()
        self.port = self.wait_for(lambda e: e["ev"] == "ready", timeout)[0]["port"]
        self.want_port = self.port
        return self

    def url(self, scheme="https", host="127.0.0.1"):
        return f"{scheme}://{host}:{self.port}"

    def _read(self):
        for line in self.proc.stdout:
            try:
                e = json.loads(line)
            except ValueError:
                continue
            with self._lock:
                self.events.append(e)

    def wait_for(self, pred, timeout=30.0, since=0):
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                got = [e for e in self.events[since:] if pred(e)]
            if got:
                return got
            if self.proc.poll() is not None:
                raise RuntimeError(f"latproxy exited with {self.proc.returncode}")
            if time.monotonic() >= deadline:
                raise TimeoutError(f"no matching latproxy event in {timeout} s; last {self.events[-5:]}")
            time.sleep(0.01)

    def cmd(self, line):
        with self._lock:
            n = len(self.events)
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        self.wait_for(lambda e: e["ev"] == "command" and e["cmd"] == line.strip(), since=n)

    def set_rtt(self, ms):
        self.cmd(f"rtt {ms}")
        self.rtt_ms = ms

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

    def __enter__(self):
        return self.start()

    def __exit__(self, *a):
        self.stop()


if __name__ == "__main__":
    main()
