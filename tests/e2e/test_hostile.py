"""Hostile local clients (issue 11): clients that leave while an answer is pending (reload,
refresh, domain, Cymru, RIPEstat), floods of expensive requests from a client that never
reads while another client is served, SIGTERM during a flood, connections hoarded at
max_clients, and idle_timeout. Against the real rasnd and real upstreams (nginx); a delay
that no real DNS server can be told to add comes from tests/servers/dnsfault.py. Under the
ASan build, every daemon must also exit 0 with no sanitizer report (stop_clean)."""
import json
import os
import pathlib
import selectors
import shutil
import socket
import sys
import time

import pytest

import harness
from reference import Reference
from test_dns import Fault, dns_conf   # (it puts tests/servers on sys.path)
from test_resilience import serve_blocks, block
import nginx  # noqa: E402

pytestmark = pytest.mark.skipif(harness.missing_rasnd() is not None,
                                reason=harness.missing_rasnd() or "")
REF = Reference(harness.FIXTURE_DATASETS)

# the AS with the most ranges in the fixture dataset, and a word in many AS names
BIG_AS = max(REF.as_name, key=lambda a: len(REF.prefixes(a)))
COMMON_WORD = "inc"
PROBE = ["8.8.8.8", "1.1.1.1", f"AS{BIG_AS}", "ping", "2001:4860::8888", "9.9.9.9"]


@pytest.fixture
def fault(tmp_path):
    f = Fault(tmp_path, "f")
    yield f
    f.stop()


def asan_build() -> bool:
    with open(harness.rasnd_path(), "rb") as f:
        return b"AddressSanitizer" in f.read()


def stop_clean(d):
    """SIGTERM; the daemon exits 0 and no sanitizer report is in its output."""
    rc = d.stop(timeout=120)
    err = d.stderr_text()
    assert rc == 0, f"rasnd exited with {rc}\n{err[-4000:]}"
    assert "ERROR: AddressSanitizer" not in err and "runtime error:" not in err, err[-4000:]


rss_kib = harness.rss_kib


def stats(d):
    return harness.stats(d.sock)


def try_stats(d):
    """stats, or None when the connection was refused (max_clients)."""
    r = d.query(["stats"])[0]
    return r.get("stats")


def clients(d):
    st = try_stats(d)
    return st["connections"]["current"] if st else None


def probe_ok(d):
    """Another client is answered completely and in order, as the dataset says."""
    r = d.query(PROBE)
    assert [x["query"] for x in r] == PROBE
    for q, x in zip(PROBE, r):
        if q[0].isdigit():
            want = REF.lookup(q)
            assert x.get("asn") == (want["asn"] if want else None), (q, x)
    assert r[2]["status"] == "ok" and r[2]["asn"] == BIG_AS
    assert r[3]["status"] == "ok"


def connect(d):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(30)
    s.connect(d.sock)
    return s


def send_and_leave(d, lines, wait=True):
    """Ask, and close at once. A first line answered at once stays unread in the client's
    socket: its close then resets the connection, so the daemon sees the client gone while
    the rest is pending (a clean half-close would keep the session until it has answered)."""
    s = connect(d)
    s.sendall(b"".join(l.encode() + b"\n" for l in ["ping"] + lines))
    if wait:
        harness.wait_for(lambda: select_readable(s), 30, "the first answer")
    s.close()


def select_readable(s):
    sel = selectors.DefaultSelector()
    sel.register(s, selectors.EVENT_READ)
    try:
        return bool(sel.select(0))
    finally:
        sel.close()


# ---- a client leaves while its answer is pending ----------------------------------------

def test_leaving_during_reload(tmp_path):
    """The issue's reproduction: `8.8.8.8`, `reload`, close at once (the reload answers into
    a session that is gone), many times over."""
    d = harness.Rasnd(tmp_path / "d").start()
    try:
        before = stats(d)["reloads"]["ok"]
        for _ in range(20):
            send_and_leave(d, ["8.8.8.8", "reload", "8.8.4.4"], wait=False)
        harness.wait_for(lambda: stats(d)["reloads"]["ok"] > before, 60, "a reload ending")
        probe_ok(d)
        assert d.query(["reload"])[0]["status"] == "ok"
        probe_ok(d)
    finally:
        stop_clean(d)


def test_leaving_during_domain_and_cymru_answers(tmp_path, fault):
    """A delayed resolver: each client asks, is seen by the server, and leaves before the
    answer comes; the answers then arrive into sessions that are gone."""
    serve_blocks(fault, [0, 1])
    fault.cmd("delay 700")
    conf = dns_conf(fault.port, timeout_ms=5000, tries=1, order="table")
    d = harness.Rasnd(tmp_path / "d", config_text=conf).start()
    try:
        cases = [["domain a.wild.test"], [f"{block(0)}.7 @cymru"],
                 [f"AS64500 @cymru"], ["x.wild.test", f"{block(1)}.9 @cymru", "reload"]]
        for lines in cases:
            n = len([e for e in fault.events if e["ev"] == "query"])
            send_and_leave(d, lines)
            # the server has the question: the answer is pending in rasnd
            fault.wait_for(lambda e, n=n: len([x for x in fault.events if x["ev"] == "query"]) > n)
        # every delayed answer has gone back to rasnd
        harness.wait_for(lambda: len([e for e in fault.events if e["ev"] == "answer"]) >=
                         len([e for e in fault.events if e["ev"] == "query"]), 30, "the delayed answers")
        harness.wait_for(lambda: clients(d) == 1, 30, "the clients gone")
        probe_ok(d)
        fault.cmd("delay 0")
        r = d.query(["b.wild.test", f"{block(0)}.8 @cymru", "8.8.8.8"])
        assert r[0]["status"] == "ok" and {a["ip"] for a in r[0]["addresses"]} == {"192.0.2.7", "2001:db8::7"}
        assert r[1]["status"] == "ok" and r[1]["asn"] == 64500, r[1]
        assert r[2]["asn"] == 15169
    finally:
        stop_clean(d)


@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx missing")
def test_leaving_during_ripestat_and_refresh(tmp_path):
    """nginx holds RIPEstat answers and the dataset files for a while (echo_sleep): the client
    leaves after rasnd has sent the request, before the answer."""
    v4 = harness.FIXTURE_DATASETS[0].read_bytes()
    v6 = harness.FIXTURE_DATASETS[1].read_bytes()
    ripe = nginx.RipeFixtures.for_addresses(["8.8.8.8", "1.1.1.1"])
    delays = {("network-info", "*"): 0.7, ("as-overview", "*"): 0.7, ("files", "*"): 0.7}
    with nginx.Nginx(tmp_path / "ngx", ripestat=ripe, delays=delays,
                     files={"asn-v4.csv": v4, "asn-v6.csv": v6}) as ngx:
        a4, a6 = tmp_path / "a4.csv", tmp_path / "a6.csv"
        a4.write_bytes(v4)
        a6.write_bytes(v6)
        conf = (f"[ripestat]\nbase_url = {ngx.url('h2')}\n[http]\nca_file = {ngx.ca_file}\n"
                f"[dataset]\nfile = {a4}\nfile = {a6}\nurl = {ngx.file_url('asn-v4.csv')}\n"
                f"url = {ngx.file_url('asn-v6.csv')}\nrefresh = 0\n")
        d = harness.Rasnd(tmp_path / "d", datasets=[], config_text=conf).start()
        try:
            for lines in (["8.8.8.8 @ripestat"], ["AS13335 @ripestat", "1.1.1.1 @ripestat"]):
                sent = stats(d)["upstream"]["ripestat"]
                send_and_leave(d, lines)
                harness.wait_for(lambda: stats(d)["upstream"]["ripestat"] > sent, 30, "the request sent")
            mark = ngx.log_mark()
            send_and_leave(d, ["refresh", "8.8.8.8"])
            # nginx logs a request when it ends: the answers went back to a client that is gone
            ngx.wait_log(lambda e: e["uri"].startswith("/files/"), count=2, since=mark)
            ngx.wait_log(lambda e: "/network-info/" in e["uri"], count=2, timeout=60)
            harness.wait_for(lambda: clients(d) == 1, 30, "the clients gone")
            probe_ok(d)
            r = d.query(["8.8.8.8 @ripestat", "refresh", "8.8.8.8"])
            assert r[0]["status"] == "ok" and r[0]["asn"] == 15169, r[0]
            assert r[1]["status"] == "ok", r[1]
            assert r[2]["asn"] == 15169
        finally:
            stop_clean(d)


# ---- floods from a client that never reads ----------------------------------------------

def flood(d, line, n):
    """A client that writes up to n copies of line and never reads, until the daemon stops
    reading it (its unread replies passed the high-water mark: read_pauses counts it); it is
    returned still open."""
    paused = stats(d)["connections"]["read_pauses"]
    s = connect(d)
    s.setblocking(False)
    payload = (line + "\n").encode() * n
    sent = 0
    sel = selectors.DefaultSelector()
    sel.register(s, selectors.EVENT_WRITE)
    deadline = time.monotonic() + 120
    while sent < len(payload):
        assert time.monotonic() < deadline, f"the daemon kept reading {sent} bytes of {line!r}"
        if not sel.select(0.2):
            st = try_stats(d)
            # (refused at max_clients: no client is idle, this one included)
            if st is None or st["connections"]["read_pauses"] > paused:
                break
        try:
            sent += s.send(payload[sent:sent + 65536])
        except BlockingIOError:
            pass
    sel.close()
    return s


@pytest.mark.parametrize("line", [f"prefixes AS{BIG_AS}", f"org {COMMON_WORD}", f"AS{BIG_AS}",
                                  "stats prometheus", "8.8.8.8"])
def test_flood_from_a_client_that_does_not_read(tmp_path, line):
    d = harness.Rasnd(tmp_path / "d").start()
    try:
        probe_ok(d)
        base = rss_kib(d.proc.pid)
        hogs = [flood(d, line, 200000) for _ in range(2)]
        # the daemon stopped reading them: their unread replies passed the high-water mark
        harness.wait_for(lambda: stats(d)["connections"]["read_pauses"] >= 2, 60, "reading paused")
        for _ in range(3):
            probe_ok(d)
        # their lines were answered in bounded passes, the rest left for later ones
        assert stats(d)["connections"]["pass_yields"] >= 1
        if not asan_build():  # (ASan's quarantine holds freed memory)
            grown = rss_kib(d.proc.pid) - base
            assert grown < 512 * 1024, f"RSS grew {grown} KiB"
        for h in hogs:
            h.close()
        harness.wait_for(lambda: clients(d) == 1, 60, "the floods gone")
        probe_ok(d)
    finally:
        stop_clean(d)


def test_one_pass_is_bounded_and_the_rest_continues(tmp_path):
    """One read holds many more lines than one pass answers: the rest is answered on later
    passes (pass_yields counts them), completely and in order."""
    d = harness.Rasnd(tmp_path / "d").start()
    try:
        lines = [f"AS{BIG_AS}", "8.8.8.8", f"prefixes AS{BIG_AS}"] * 6000
        r = harness.query_raw(d.sock, lines, timeout=300)
        assert len(r) == len(lines)
        for q, x in zip(lines, r):
            assert json.loads(x)["query"] == q
        assert stats(d)["connections"]["pass_yields"] >= 1
    finally:
        stop_clean(d)


def test_sigterm_during_a_flood_honours_drain_timeout(tmp_path):
    d = harness.Rasnd(tmp_path / "d", config_text="[server]\ndrain_timeout = 1\n").start()
    try:
        hog = flood(d, f"prefixes AS{BIG_AS}", 200000)
        harness.wait_for(lambda: stats(d)["connections"]["read_pauses"] >= 1, 60, "reading paused")
    finally:
        stop_clean(d)   # a generous deadline; the drain timer must be able to fire
    assert "drain timeout" in d.stderr_text()
    hog.close()


# ---- connection policy --------------------------------------------------------------------

def read_all(s, timeout=30):
    s.settimeout(timeout)
    out = bytearray()
    while True:
        try:
            b = s.recv(65536)
        except ConnectionResetError:
            return bytes(out), "reset"
        if not b:
            return bytes(out), "eof"
        out += b


def test_hoarding_at_max_clients(tmp_path):
    d = harness.Rasnd(tmp_path / "d", config_text="[server]\nmax_clients = 5\n").start()
    try:
        idle = []
        for i in range(5):
            s = connect(d)
            assert harness.query_on(s, ["ping"])[0]["status"] == "ok"
            idle.append(s)
        # full: a new client is admitted and the longest-idle one is closed
        assert d.query(["8.8.8.8"])[0]["asn"] == 15169
        assert read_all(idle[0]) == (b"", "eof")
        for s in idle[1:]:   # the others are still served
            assert harness.query_on(s, ["ping"])[0]["status"] == "ok"
        for s in idle:
            s.close()
        harness.wait_for(lambda: clients(d) == 1, 30, "the clients gone")
        # five clients with work in flight (replies they do not read): nobody can be evicted
        hogs = [flood(d, f"prefixes AS{BIG_AS}", 20000) for _ in range(5)]
        # a client that writes first still reads why it was refused
        s = connect(d)
        s.sendall(b"8.8.8.8\n" * 2000)
        data, how = read_all(s)
        s.close()
        assert how == "eof", data
        lines = data.decode().splitlines()
        assert len(lines) == 1 and json.loads(lines[0])["error"] == "too many clients", data[:300]
        for h in hogs:
            h.close()
        harness.wait_for(lambda: clients(d) == 1, 60, "the floods gone")
        st = stats(d)["connections"]
        assert st["evicted"] >= 1 and st["rejected"] >= 1, st
    finally:
        stop_clean(d)


def test_idle_timeout_closes_an_idle_client(tmp_path):
    d = harness.Rasnd(tmp_path / "d", config_text="[server]\nidle_timeout = 0.5\n").start()
    try:
        # quiet longer than the idle one, but with replies it has not read: not idle
        hog = flood(d, f"prefixes AS{BIG_AS}", 200000)
        s = connect(d)
        assert harness.query_on(s, ["ping"])[0]["status"] == "ok"
        assert read_all(s) == (b"", "eof")
        s.close()
        # the hog is still served (it and the stats connection are left)
        harness.wait_for(lambda: clients(d) == 2, 30, "the idle one gone, the hog kept")
        assert stats(d)["connections"]["idle_closed"] >= 1
        hog.close()
        probe_ok(d)
    finally:
        stop_clean(d)


def test_idle_timeout_config_errors(tmp_path):
    conf = tmp_path / "bad.conf"
    conf.write_text("[server]\nidle_timeout = -1\n")
    import subprocess
    p = subprocess.run([harness.rasnd_path(), "-c", str(conf), "--check-config"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode != 0 and "idle_timeout" in p.stderr and f"{conf}:2" in p.stderr, p.stderr
