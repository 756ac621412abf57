"""Self-tests of the test-side servers (tests/servers/nginx.py, flaky.py, latproxy.py), with
Python's ssl and http.client and a minimal HTTP/2 client: no rasnd needed. Every wait is a
poll with a deadline; timing assertions are lower bounds only."""
import hashlib
import http.client
import json
import os
import shutil
import socket
import socketserver
import ssl
import struct
import threading
import time
import urllib.parse

import pytest

import harness
from reference import Reference

import sys
sys.path.insert(0, str(harness.SRCDIR / "tests" / "servers"))
import nginx as ngxmod  # noqa: E402
from latproxy import LatProxy  # noqa: E402


def _missing():
    if not shutil.which("nginx") and not os.path.exists(ngxmod.NGINX):
        return "nginx is not installed"
    if not os.path.exists(ngxmod.ECHO_MODULE):
        return f"{ngxmod.ECHO_MODULE} missing (package libnginx-mod-http-echo)"
    if not shutil.which("openssl"):
        return "openssl CLI missing"
    return None


pytestmark = pytest.mark.skipif(_missing() is not None, reason=_missing() or "")
REF = Reference(harness.FIXTURE_DATASETS)
ADDRS = ["8.8.8.8", "1.1.1.1", "2001:4860::8888", "192.0.2.1"]
BIG = os.urandom(1 << 20) * 20          # 20 MiB
MALFORMED = b'{"status":"ok","data":{"asns":[15169],"prefix":'
CSV1 = b"1.0.0.0,1.0.0.255,13335,Cloudflare\n"
CSV2 = b"1.0.0.0,1.0.0.255,13335,Cloudflare, changed\n"


@pytest.fixture(scope="module")
def ngx(tmp_path_factory):
    ripe = ngxmod.RipeFixtures.for_addresses(
        ADDRS, network_info=["1.0.0.0/24"], searchcomplete=["google", "Cloudflare, Inc."],
        extra={("network-info", "5.5.5.5"): MALFORMED, ("network-info", "6.6.6.6"): BIG})
    n = ngxmod.Nginx(tmp_path_factory.mktemp("ngx"), ripestat=ripe, flaky=True,
                     files={"asn-v4.csv": CSV1},
                     faults={"network-info": {"9.9.9.0/24": (503, None), "1.1.1.0/24": (429, 1)},
                             "files": {"broken.csv": (500, None)}},
                     delays={("network-info", "1.0.0.0/24"): 0.3})
    n.start()
    yield n
    n.close()


# ---------------------------------------------------------------- helpers

def get(ngx, path, block="h2", headers=None, host="127.0.0.1", timeout=30):
    """One HTTP/1.1 GET over TLS (ALPN http/1.1), verified against the test CA."""
    ctx = ngx.ssl_context(alpn=("http/1.1",))
    c = http.client.HTTPSConnection(host, ngx.port[block], context=ctx, timeout=timeout)
    try:
        c.request("GET", path, headers=headers or {})
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        c.close()


def ni_path(resource, call="network-info"):
    return f"/data/{call}/data.json?resource={ngxmod.rasn_encode(resource)}&sourceapp=rasn"


def tls_connect(port, ctx, host="127.0.0.1", timeout=10):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        return ctx.wrap_socket(s, server_hostname=host)
    except BaseException:
        s.close()
        raise


def _hp_int(value, prefix, flags=0):
    mx = (1 << prefix) - 1
    if value < mx:
        return bytes([flags | value])
    out = [flags | mx]
    value -= mx
    while value >= 128:
        out.append((value & 0x7f) | 0x80)
        value >>= 7
    return bytes(out + [value])


def _hp_lit(index, value: bytes):
    """Literal header field without indexing, indexed name, no Huffman."""
    return _hp_int(index, 4) + _hp_int(len(value), 7) + value


_STATIC_STATUS = {0x88: 200, 0x89: 204, 0x8a: 206, 0x8b: 304, 0x8c: 400, 0x8d: 404, 0x8e: 500}


def h2_get(port, ctx, paths, authority="127.0.0.1", timeout=30):
    """A minimal HTTP/2 client: GET each path as its own stream on one TLS connection, all
    sent before reading. Returns ([(status, body)], alpn). Only :status is decoded (nginx
    sends it first: indexed, or a literal with raw digits)."""
    s = tls_connect(port, ctx, timeout=timeout)
    try:
        alpn = s.selected_alpn_protocol()
        assert alpn == "h2", alpn

        def frame(ftype, flags, sid, payload=b""):
            return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", sid) + payload

        out = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
        out += frame(4, 0, 0, struct.pack(">HI", 4, (1 << 31) - 1))          # INITIAL_WINDOW_SIZE
        out += frame(8, 0, 0, struct.pack(">I", (1 << 31) - 1 - 65535))     # connection window
        sids = []
        for i, p in enumerate(paths):
            sid = 1 + 2 * i
            sids.append(sid)
            block = b"\x82\x87" + _hp_lit(4, p.encode()) + _hp_lit(1, authority.encode())
            out += frame(1, 0x5, sid, block)                                   # END_STREAM|END_HEADERS
        s.sendall(out)
        status, body, done = {}, {sid: bytearray() for sid in sids}, set()
        buf = bytearray()
        deadline = time.monotonic() + timeout
        while len(done) < len(sids):
            assert time.monotonic() < deadline, "h2 responses did not complete"
            while len(buf) >= 9 and len(buf) >= 9 + int.from_bytes(buf[:3], "big"):
                ln = int.from_bytes(buf[:3], "big")
                ftype, flags = buf[3], buf[4]
                sid = int.from_bytes(buf[5:9], "big") & 0x7fffffff
                payload = bytes(buf[9:9 + ln])
                del buf[:9 + ln]
                if ftype == 4 and not flags & 1:
                    s.sendall(frame(4, 1, 0))                                  # SETTINGS ACK
                elif ftype == 1:
                    b0 = payload[0]
                    if b0 in _STATIC_STATUS:
                        status[sid] = _STATIC_STATUS[b0]
                    else:
                        assert b0 == 0x48 and payload[1] == 3, payload[:8]
                        status[sid] = int(payload[2:5])
                elif ftype == 0:
                    body[sid] += payload
                elif ftype == 7:
                    raise ConnectionError(f"GOAWAY {payload.hex()}")
                elif ftype == 3:
                    raise ConnectionError(f"RST_STREAM on {sid}: {payload.hex()}")
                if ftype in (0, 1) and flags & 1:
                    done.add(sid)
            if len(done) < len(sids):
                data = s.recv(1 << 16)
                if not data:
                    raise ConnectionError("connection closed")
                buf += data
        return [(status[sid], bytes(body[sid])) for sid in sids], alpn
    finally:
        s.close()


# ---------------------------------------------------------------- TLS

def test_tls_certificates_and_alpn(ngx):
    ctx = ngx.ssl_context()
    for block, want in (("h2", "h2"), ("oneshot", "h2"), ("h1", "http/1.1")):
        for host in ("127.0.0.1", "localhost"):
            with tls_connect(ngx.port[block], ctx, host) as s:
                assert s.selected_alpn_protocol() == want, (block, host)
                assert s.version() in ("TLSv1.2", "TLSv1.3")
    # a client offering only h2 to the HTTP/1.1 block is refused (no_application_protocol)
    only_h2 = ngx.ssl_context(alpn=("h2",))
    with pytest.raises(ssl.SSLError):
        tls_connect(ngx.port["h1"], only_h2).close()

    bad = {"expired": "certificate has expired",
           "untrusted": "unable to get local issuer certificate",
           "wronghost": "hostname mismatch"}
    for block, reason in bad.items():
        with pytest.raises(ssl.SSLCertVerificationError) as ei:
            tls_connect(ngx.port[block], ctx, "localhost").close()
        assert reason in ei.value.verify_message.lower(), (block, ei.value.verify_message)
    # the bad blocks are up and serve the same content, once verification is off
    loose = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    loose.check_hostname = False
    loose.verify_mode = ssl.CERT_NONE
    for block in bad:
        c = http.client.HTTPSConnection("127.0.0.1", ngx.port[block], context=loose, timeout=30)
        c.request("GET", ni_path("8.8.8.8"))
        r = c.getresponse()
        assert r.status == 200 and json.loads(r.read())["data"]["asns"] == ["15169"]
        c.close()
    # the wrong-host cert is the CA's own: only its name is wrong
    ctx_noname = ngx.ssl_context()
    ctx_noname.check_hostname = False
    tls_connect(ngx.port["wronghost"], ctx_noname).close()
    assert ngx.url("h2") == f"https://127.0.0.1:{ngx.port['h2']}"
    assert ngx.url("h1", host="localhost") == f"https://localhost:{ngx.port['h1']}"
    assert len(set(ngx.port.values())) == len(ngxmod.BLOCKS)


# ---------------------------------------------------------------- RIPEstat fixtures

def test_network_info_matches_reference(ngx):
    for res in ["8.8.8.8", "8.8.8.0/24", "1.1.1.1", "2001:4860::8888", "2001:4860::/48", "192.0.2.1",
                "192.0.2.0/24"]:
        st, h, body = get(ngx, ni_path(res))
        assert st == 200, (res, body)
        assert h["content-type"] == "application/json"
        doc = json.loads(body)
        assert doc["status"] == "ok" and doc["status_code"] == 200 and doc["messages"] == []
        first = res.split("/")[0]
        want = REF.lookup(first)
        if want is None:
            assert doc["data"] == {"asns": [], "prefix": None}, res
        else:
            assert doc["data"] == {"asns": [str(want["asn"])], "prefix": want["prefix"]}, res
    assert json.loads(get(ngx, ni_path("8.8.8.0/24"))[2])["data"]["prefix"] == "8.8.8.0/24"
    # '/' may also arrive as %2F
    st, _, body = get(ngx, "/data/network-info/data.json?resource=8.8.8.0%2F24")
    assert st == 200 and json.loads(body)["data"]["asns"] == ["15169"]


def test_other_calls_match_reference(ngx):
    for raw in ("AS15169", "15169", "as15169"):
        st, _, body = get(ngx, ni_path(raw, "as-overview"))
        assert st == 200
        d = json.loads(body)["data"]
        assert d["holder"] == REF.as_name[15169] and d["resource"] == "15169" and d["announced"] is True
    st, _, body = get(ngx, ni_path("AS13335", "announced-prefixes"))
    assert st == 200
    d = json.loads(body)["data"]
    assert [p["prefix"] for p in d["prefixes"]] == REF.prefixes(13335) and d["resource"] == "13335"
    for term in ("google", "Cloudflare, Inc."):
        for raw in (ngxmod.rasn_encode(term), ngxmod.rasn_encode(term).replace("%20", "+")):
            st, _, body = get(ngx, f"/data/searchcomplete/data.json?resource={raw}&sourceapp=rasn")
            assert st == 200, (term, raw)
            cats = json.loads(body)["data"]["categories"]
            asns = [c for c in cats if c["category"] == "ASNs"][0]["suggestions"]
            assert [s["value"] for s in asns] == [f"AS{a}" for a in REF.org(term)]
            assert all(s["description"] == REF.as_name[int(s["value"][2:])] for s in asns)
    assert ngxmod.rasn_encode("Cloudflare, Inc.") == "Cloudflare%2C%20Inc."


def test_errors_are_json(ngx):
    for path, code in ((ni_path("7.7.7.7"), 404), (ni_path("AS64500", "as-overview"), 404),
                       ("/data/network-info/data.json?resource=../../etc/passwd", 400),
                       ("/data/network-info/data.json", 400), ("/nowhere", 404),
                       ("/data/unknown-call/data.json?resource=8.8.8.8", 404)):
        st, h, body = get(ngx, path)
        assert st == code, (path, st, body)
        assert h["content-type"] == "application/json"
        doc = json.loads(body)
        assert doc["status"] == "error" and doc["status_code"] == code


def test_faults_and_retry_after(ngx):
    st, h, body = get(ngx, ni_path("9.9.9.0/24"))
    assert st == 503 and "retry-after" not in h
    assert json.loads(body)["status_code"] == 503
    st, h, body = get(ngx, ni_path("1.1.1.0/24"))
    assert st == 429 and h["retry-after"] == "1"
    st, h, _ = get(ngx, ni_path("1.1.1.1"))          # only the listed resource fails
    assert st == 200 and "retry-after" not in h
    assert get(ngx, "/files/broken.csv")[0] == 500
    e = ngx.wait_log(lambda e: e["resource"] == "1.1.1.0/24" and e["status"] == 429)[0]
    assert e["retry_after"] == "1" and e["block"] == "h2"


def test_delay_is_a_lower_bound(ngx):
    t0 = time.monotonic()
    st, _, body = get(ngx, ni_path("1.0.0.0/24"))
    took = time.monotonic() - t0
    assert st == 200 and json.loads(body)["data"]["asns"] == ["13335"]
    assert took >= 0.3, took
    e = ngx.wait_log(lambda e: e["resource"] == "1.0.0.0/24")[-1]
    assert e["request_time"] >= 0.3 and e["status"] == 200


def test_extra_bodies_verbatim(ngx):
    st, _, body = get(ngx, ni_path("5.5.5.5"))
    assert st == 200 and body == MALFORMED
    st, h, body = get(ngx, ni_path("6.6.6.6"), timeout=120)
    assert st == 200 and len(body) == len(BIG) and hashlib.sha256(body).digest() == hashlib.sha256(BIG).digest()
    # replaced at run time, no reload
    ngx.set_resource("network-info", "5.5.5.5", b"[]")
    assert get(ngx, ni_path("5.5.5.5"))[2] == b"[]"
    ngx.set_resource("network-info", "5.5.5.5", MALFORMED)


# ---------------------------------------------------------------- files

def test_files_etag_and_304(ngx):
    st, h, body = get(ngx, "/files/asn-v4.csv")
    assert st == 200 and body == CSV1 and "last-modified" in h
    etag = h["etag"]
    assert etag == ngx.file_etag("asn-v4.csv")
    st, h2, body = get(ngx, "/files/asn-v4.csv", headers={"If-None-Match": etag})
    assert st == 304 and body == b""
    ngx.set_file("asn-v4.csv", CSV2)
    st, h3, body = get(ngx, "/files/asn-v4.csv", headers={"If-None-Match": etag})
    assert st == 200 and body == CSV2 and h3["etag"] != etag
    assert get(ngx, "/files/asn-v4.csv", headers={"If-None-Match": h3["etag"]})[0] == 304
    # the same size again within the same second still gets a new ETag
    ngx.set_file("asn-v4.csv", CSV1[:len(CSV2)].ljust(len(CSV2), b"\n"))
    st, h4, _ = get(ngx, "/files/asn-v4.csv", headers={"If-None-Match": h3["etag"]})
    assert st == 200 and h4["etag"] != h3["etag"]
    ngx.wait_log(lambda e: e["uri"] == "/files/asn-v4.csv" and e["status"] == 304 and e["if_none_match"] == etag)
    ngx.set_file("asn-v4.csv", CSV1)


# ---------------------------------------------------------------- log, connections, HTTP/2

def test_log_shows_reuse_multiplexing_and_resumption(ngx):
    ctx = ngx.ssl_context()
    mark = ngx.log_mark()
    res, alpn = h2_get(ngx.port["h2"], ctx, [ni_path("8.8.8.8"), ni_path("1.1.1.1"), ni_path("9.9.9.0/24"),
                                           ni_path("7.7.7.7")])
    assert [r[0] for r in res] == [200, 200, 503, 404]
    assert json.loads(res[0][1])["data"]["asns"] == ["15169"]
    assert json.loads(res[1][1])["data"]["asns"] == ["13335"]
    es = ngx.wait_log(lambda e: e["protocol"] == "HTTP/2.0", count=4, since=mark)
    assert len({e["connection"] for e in es}) == 1
    assert sorted(e["connection_requests"] for e in es) == [1, 2, 3, 4]
    assert all(e["block"] == "h2" and e["alpn"] == "h2" for e in es)

    # HTTP/1.1 keep-alive on h1: one connection, two requests
    mark = ngx.log_mark()
    c = http.client.HTTPSConnection("127.0.0.1", ngx.port["h1"], context=ctx, timeout=30)
    for _ in range(2):
        c.request("GET", ni_path("8.8.8.8"))
        assert c.getresponse().read()
    c.close()
    es = ngx.wait_log(lambda e: e["block"] == "h1", count=2, since=mark)
    assert es[0]["connection"] == es[1]["connection"] and [e["connection_requests"] for e in es] == [1, 2]
    assert es[0]["protocol"] == "HTTP/1.1"

    # oneshot: a new connection per request
    mark = ngx.log_mark()
    c = http.client.HTTPSConnection("127.0.0.1", ngx.port["oneshot"], context=ngx.ssl_context(("http/1.1",)),
                                    timeout=30)
    for _ in range(2):
        c.request("GET", ni_path("8.8.8.8"))
        r = c.getresponse()
        r.read()
        assert r.getheader("connection") == "close"
    c.close()
    es = ngx.wait_log(lambda e: e["block"] == "oneshot", count=2, since=mark)
    assert es[0]["connection"] != es[1]["connection"] and all(e["connection_requests"] == 1 for e in es)

    # TLS resumption: the server says "r" for a resumed session
    mark = ngx.log_mark()
    ctx1 = ngx.ssl_context(("http/1.1",))
    sess = None
    for i in range(2):
        s = tls_connect(ngx.port["h1"], ctx1)
        if sess is not None:
            s.close()
            s = ctx1.wrap_socket(socket.create_connection(("127.0.0.1", ngx.port["h1"]), timeout=10),
                                 server_hostname="127.0.0.1", session=sess)
        s.sendall(f"GET {ni_path('8.8.8.8')} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            data += d
        assert data.startswith(b"HTTP/1.1 200")
        if i == 1:
            assert s.session_reused
        sess = s.session
        s.close()
    es = ngx.wait_log(lambda e: e["block"] == "h1", count=2, since=mark)
    assert [e["ssl_session_reused"] for e in es] == [".", "r"]


def test_h2_128_streams_on_one_connection(ngx):
    mark = ngx.log_mark()
    paths = [ni_path(a) for a in ("8.8.8.8", "1.1.1.1", "8.8.8.0/24", "2001:4860::8888")] * 32
    res, _ = h2_get(ngx.port["h2"], ngx.ssl_context(), paths)
    assert [r[0] for r in res] == [200] * 128
    for p, (_, body) in zip(paths, res):
        res_name = urllib.parse.parse_qs(p.split("?", 1)[1])["resource"][0]
        assert json.loads(body)["data"]["asns"] == [str(REF.lookup(res_name.split("/")[0])["asn"])]
    es = ngx.wait_log(lambda e: e["protocol"] == "HTTP/2.0" and e["block"] == "h2", count=128, since=mark)
    assert len({e["connection"] for e in es}) == 1
    assert sorted(e["connection_requests"] for e in es) == list(range(1, 129))


# ---------------------------------------------------------------- flaky backend

def test_flaky_fails_then_serves(ngx):
    fl = ngx.flaky
    assert ngx.flaky_base_url() == ngx.url("h2") + "/flaky"
    path = "/flaky" + ni_path("8.8.8.0/24")
    fl.cmd("fail 8.8.8.0/24 2 503 1")
    since, mark = len(fl.events), ngx.log_mark()
    got = [get(ngx, path) for _ in range(3)]
    assert [g[0] for g in got] == [503, 503, 200]
    assert got[0][1]["retry-after"] == "1" and "retry-after" not in got[2][1]
    direct = get(ngx, ni_path("8.8.8.0/24"))[2]
    assert got[2][2] == direct
    reqs = fl.wait_for(lambda e: e["ev"] == "request", count=3, since=since)
    assert [(r["resource"], r["status"], r["action"]) for r in reqs] == \
        [("8.8.8.0/24", 503, "fail"), ("8.8.8.0/24", 503, "fail"), ("8.8.8.0/24", 200, "serve")]
    es = ngx.wait_log(lambda e: e["uri"].startswith("/flaky/"), count=3, since=mark)
    assert [(e["status"], e["upstream_status"]) for e in es] == [(503, "503"), (503, "503"), (200, "200")]
    assert es[0]["msec"] <= es[1]["msec"] <= es[2]["msec"]
    # over HTTP/2 as well, and a reset becomes nginx's 502
    fl.cmd("reset 1.1.1.1 1")
    res, _ = h2_get(ngx.port["h2"], ngx.ssl_context(), ["/flaky" + ni_path("1.1.1.1")] * 2)
    assert sorted(r[0] for r in res) == [200, 502]
    # files through the backend: ETag and 304
    st, h, body = get(ngx, "/flaky/files/asn-v4.csv")
    assert st == 200 and body == CSV1
    assert get(ngx, "/flaky/files/asn-v4.csv", headers={"If-None-Match": h["etag"]})[0] == 304
    with pytest.raises(ValueError):
        fl.cmd("fail")


# ---------------------------------------------------------------- reload, restart

def test_reload_and_restart_keep_ports(tmp_path):
    ripe = ngxmod.RipeFixtures(network_info=["8.8.8.8"])
    with ngxmod.Nginx(tmp_path / "n", ripestat=ripe) as n:
        ports = dict(n.port)
        assert get(n, ni_path("8.8.8.8"))[0] == 200
        n.set_faults({"network-info": {"8.8.8.8": (503, 5)}})
        n.reload()
        st, h, _ = get(n, ni_path("8.8.8.8"))
        assert st == 503 and h["retry-after"] == "5"
        n.set_faults({})
        n.reload()
        assert get(n, ni_path("8.8.8.8"))[0] == 200

        ctx = n.ssl_context(("http/1.1",))
        c = http.client.HTTPSConnection("127.0.0.1", n.port["h2"], context=ctx, timeout=30)
        c.request("GET", ni_path("8.8.8.8"))
        c.getresponse().read()
        old = n.pid()
        n.restart()
        assert n.port == ports and n.pid() != old
        with pytest.raises((OSError, http.client.HTTPException)):   # the old connection is gone
            c.request("GET", ni_path("8.8.8.8"))
            c.getresponse().read()
        c.close()
        assert get(n, ni_path("8.8.8.8"))[0] == 200
        assert len(n.wait_log(lambda e: e["status"] == 200, count=4)) >= 4
    assert n.proc is None


# ---------------------------------------------------------------- latency proxy

class _Echo(socketserver.BaseRequestHandler):
    def handle(self):
        while True:
            d = self.request.recv(65536)
            if not d:
                return
            self.request.sendall(d)


def test_latproxy_adds_rtt_and_keeps_bytes(ngx):
    rtt = 0.2
    with LatProxy(ngx.port["h2"], rtt * 1000) as lp:
        ctx = ngx.ssl_context(("http/1.1",))
        t0 = time.monotonic()
        c = http.client.HTTPSConnection("127.0.0.1", lp.port, context=ctx, timeout=60)
        c.connect()                                     # TLS handshake: at least one RTT
        assert time.monotonic() - t0 >= rtt
        t1 = time.monotonic()
        c.request("GET", ni_path("8.8.8.8"))
        r = c.getresponse()
        body = r.read()
        assert time.monotonic() - t1 >= rtt             # one request: at least one RTT
        assert r.status == 200 and json.loads(body)["data"]["asns"] == ["15169"]
        c.request("GET", ni_path("6.6.6.6"))            # 20 MiB through the proxy, intact
        big = c.getresponse().read()
        assert hashlib.sha256(big).digest() == hashlib.sha256(BIG).digest()
        c.close()


def test_latproxy_many_connections_in_order():
    socketserver.ThreadingTCPServer.allow_reuse_address = True
    srv = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Echo, bind_and_activate=False)
    srv.server_bind()
    srv.socket.listen(1024)       # the default backlog of 5 overflows: the kernel resets
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        with LatProxy(srv.server_address[1], 50) as lp:
            errors, n = [], 200

            def one(i):
                try:
                    payload = b"".join(struct.pack(">II", i, k) * 512 for k in range(16))   # 64 KiB
                    with socket.create_connection(("127.0.0.1", lp.port), timeout=60) as s:
                        t0 = time.monotonic()
                        for k in range(16):
                            s.sendall(payload[k * 4096:(k + 1) * 4096])
                        got = bytearray()
                        while len(got) < len(payload):
                            d = s.recv(65536)
                            if not d:
                                break
                            got += d
                        if bytes(got) != payload:
                            errors.append(f"conn {i}: {len(got)} bytes, differ")
                        elif time.monotonic() - t0 < 0.05:
                            errors.append(f"conn {i}: echo faster than the RTT")
                except Exception as e:   # noqa: BLE001
                    errors.append(f"conn {i}: {e!r}")

            ts = [threading.Thread(target=one, args=(i,)) for i in range(n)]
            for t in ts:
                t.start()
            for t in ts:
                t.join(120)
            assert not any(t.is_alive() for t in ts)
            assert errors == []
            lp.set_rtt(0)
            with socket.create_connection(("127.0.0.1", lp.port), timeout=10) as s:
                s.sendall(b"ping")
                assert s.recv(16) == b"ping"
    finally:
        srv.shutdown()
        srv.server_close()
