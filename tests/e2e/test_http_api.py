"""[http_api]: the JSON API over HTTP/1.1 (docs/http-api.md), spoken to by real clients (curl,
Python's urllib and http.client): answers equal the query socket's for the same request lines,
every status code, keep-alive reuse (curl's own connection count and rasnd's counters), bulk
NDJSON streamed in order, the allow list, per-address limits, and abuse (slow, non-reading and
oversize clients, many connections from one address) without loss for well-behaved clients."""
import http.client
import json
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest

import harness

sys.path.insert(0, str(harness.SRCDIR / "tests" / "servers"))
import ports  # noqa: E402

pytestmark = pytest.mark.skipif(harness.missing_rasnd() is not None,
                                reason=harness.missing_rasnd() or "")

CURL = shutil.which("curl")


def free_port():
    return ports.free_ports(1)[0]


def api_conf(port, extra="", host="127.0.0.1"):
    return f"[http_api]\nlisten = {host}:{port}\n{extra}"


def wait_tcp(port, d, host="127.0.0.1"):
    def up():
        assert d.proc.poll() is None, d.stderr_text()
        try:
            socket.create_connection((host, port), timeout=1).close()
            return True
        except OSError:
            return False
    harness.wait_for(up, 30, f"the HTTP API on {host}:{port}")


def get(port, path, host="127.0.0.1"):
    """(status, body) for a GET with urllib (an error status is not an exception here)."""
    try:
        with urllib.request.urlopen(f"http://{host}:{port}{path}", timeout=60) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def api_stats(d):
    return harness.stats(d.sock)["http_api"]


@pytest.fixture
def api(tmp_path):
    port = free_port()
    with harness.Rasnd(tmp_path / "d", config_text=api_conf(port)) as d:
        wait_tcp(port, d)
        yield d, port


LINES = ["ip 8.8.8.8", "ip 2001:4860:4860::8888", "ip 10.0.0.1", "as AS15169", "as 13335",
         "as AS64512", "prefixes AS15169", "prefixes 13335", "org Google", "org nobody-here-xyz"]
PATHS = ["/v1/ip/8.8.8.8", "/v1/ip/2001:4860:4860::8888", "/v1/ip/10.0.0.1", "/v1/as/AS15169",
         "/v1/as/13335", "/v1/as/AS64512", "/v1/as/AS15169/prefixes", "/v1/as/13335/prefixes",
         "/v1/org?q=Google", "/v1/org?q=nobody-here-xyz"]


def test_answers_equal_the_sockets(api):
    d, port = api
    want = d.query(LINES)
    for path, w in zip(PATHS, want):
        status, body = get(port, path)
        assert body.endswith(b"\n") and body.count(b"\n") == 1, body
        got = json.loads(body)
        assert got == w, (path, got, w)
        assert status == {"ok": 200, "not_found": 404, "error": 400}[w["status"]], (path, status, w)
    # the bodies are byte for byte the socket's lines
    raw = d.query_raw(LINES)
    for path, line in zip(PATHS, raw):
        assert get(port, path)[1].rstrip(b"\n") == (line.encode() if isinstance(line, str) else line).rstrip(b"\n")


def test_every_status_code(tmp_path):
    port = free_port()
    conf = api_conf(port, "rate = 1\nburst = 8\nmax_body = 2048\nmax_header_size = 2048\n")
    with harness.Rasnd(tmp_path / "d", config_text=conf) as d:
        wait_tcp(port, d)
        seen = {}
        for path in ["/v1/ip/8.8.8.8", "/v1/ip/10.0.0.1", "/v1/ip/not-an-address", "/v1/nothing",
                     "/v1/as/15169/prefixes?source=cymru", "/v1/ip/8.8.8.8?source=cymru"]:
            status, body = get(port, path)
            seen[path] = (status, json.loads(body))
        assert seen["/v1/ip/8.8.8.8"][0] == 200
        assert seen["/v1/ip/10.0.0.1"][0] == 404 and seen["/v1/ip/10.0.0.1"][1]["status"] == "not_found"
        assert seen["/v1/ip/not-an-address"][0] == 400 and seen["/v1/ip/not-an-address"][1]["type"] == "invalid"
        assert seen["/v1/nothing"][0] == 404 and seen["/v1/nothing"][1]["status"] == "error"
        # a source that does not answer this kind: the client's error
        assert seen["/v1/as/15169/prefixes?source=cymru"][0] == 400
        # an upstream that fails (Cymru's resolver refuses here): the daemon's
        assert seen["/v1/ip/8.8.8.8?source=cymru"][0] == 503
        assert seen["/v1/ip/8.8.8.8?source=cymru"][1]["status"] == "error"
        # 405: a lookup posted, the bulk endpoint fetched (one token left at most: may be 429)
        req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/ip/8.8.8.8", data=b"x", method="POST")
        try:
            urllib.request.urlopen(req, timeout=60)
            code = 200
        except urllib.error.HTTPError as e:
            code = e.code
        assert code in (405, 429)
        # 429: the bucket holds 5 and refills one a second; 30 more cannot all pass
        codes = [get(port, "/v1/ip/8.8.8.8")[0] for _ in range(30)]
        assert 429 in codes and set(codes) <= {200, 429}
        st = api_stats(d)
        assert st["refused_rate"] == st["status_429"] >= codes.count(429)
        assert st["status_400"] == 2 and st["status_404"] == 2


def test_busy_and_too_big(tmp_path):
    """503 when answers pending reach [server] max_pending (a Cymru answer held back by a slow
    resolver keeps one pending); 413 (evhttp's own) for a body over max_body."""
    from test_dns import Fault, dns_conf
    fault = Fault(tmp_path, "f")
    try:
        fault.cmd("add *.1.0.45.origin.asn.cymru.com TXT 64501 | 45.0.1.0/24 | NL | ripencc | 2001-01-01")
        fault.cmd("add AS64501.asn.cymru.com TXT 64501 | NL | ripencc | 2001-01-01 | TEST-64501")
        fault.cmd("delay 1500")
        port = free_port()
        conf = dns_conf(fault.port, timeout_ms=5000, tries=1) + "[server]\nmax_pending = 1\n" + \
            api_conf(port, "max_body = 4096\n")
        with harness.Rasnd(tmp_path / "d", config_text=conf) as d:
            wait_tcp(port, d)
            slow = {}
            t = threading.Thread(target=lambda: slow.update(r=get(port, "/v1/ip/45.0.1.7?source=cymru")))
            t.start()
            harness.wait_for(lambda: any(e["ev"] == "query" and "45.origin" in e.get("name", "")
                                         for e in list(fault.events)), 30, "the Cymru query")
            status, body = get(port, "/v1/ip/8.8.8.8")
            assert status == 503 and b"busy" in body
            t.join(60)
            assert slow["r"][0] == 200 and json.loads(slow["r"][1])["asn"] == 64501
            assert get(port, "/v1/ip/8.8.8.8")[0] == 200      # free again
            req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/bulk", data=b"8.8.8.8\n" * 1000)
            with pytest.raises(urllib.error.HTTPError) as e:
                urllib.request.urlopen(req, timeout=60)
            assert e.value.code == 413
            st = api_stats(d)
            assert st["refused_busy"] == 1 and st["status_503"] == 1 and st["status_200"] == 2
    finally:
        fault.stop()


@pytest.mark.skipif(CURL is None, reason="curl missing")
def test_keepalive_reuse_curl(api):
    d, port = api
    urls = [f"http://127.0.0.1:{port}{p}" for p in PATHS]
    args = [a for u in urls for a in ("-o", "/dev/null", u)]
    out = subprocess.run([CURL, "-s", "-w", "%{http_code} %{num_connects}\\n"] + args,
                         capture_output=True, text=True, timeout=60, check=True).stdout.split("\n")
    got = [tuple(map(int, x.split())) for x in out if x]
    assert len(got) == len(urls)
    assert [c for _, c in got] == [1] + [0] * (len(urls) - 1)   # one connection for all
    st = api_stats(d)
    assert st["accepted"] == 1 and st["requests"] == len(urls)


def test_keepalive_reuse_http_client(api):
    d, port = api
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    for i in range(200):
        c.request("GET", f"/v1/ip/8.8.{i % 256}.1")
        r = c.getresponse()
        assert r.status in (200, 404)
        json.loads(r.read())
    c.close()
    assert api_stats(d)["accepted"] == 1


def test_bulk_streams_in_order(api):
    d, port = api
    lines = []
    for i in range(20000):
        lines.append(f"{(i * 7) % 223 + 1}.{i % 256}.{(i * 13) % 256}.1" if i % 5 else f"AS{i}")
    lines[7] = "not a request at all"
    body = ("\n".join(lines) + "\n").encode()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    c.request("POST", "/v1/bulk", body=body, headers={"Content-Type": "text/plain"})
    r = c.getresponse()
    assert r.status == 200
    assert r.getheader("Transfer-Encoding") == "chunked"     # streamed, not buffered whole
    assert r.getheader("Content-Type") == "application/x-ndjson"
    got = r.read().decode().splitlines()
    want = d.query_raw(lines)
    assert got == [w.rstrip("\n") if isinstance(w, str) else w.decode().rstrip("\n") for w in want]
    # the connection stays usable after a bulk answer
    c.request("GET", "/v1/ip/8.8.8.8")
    assert c.getresponse().status == 200
    c.close()
    st = api_stats(d)
    assert st["lines"] == 20000 and st["accepted"] == 1


def test_client_outside_allow_is_refused(tmp_path):
    port = free_port()
    conf = api_conf(port, "allow = 127.0.0.2/32\n")
    with harness.Rasnd(tmp_path / "d", config_text=conf) as d:
        wait_tcp(port, d)
        status, body = get(port, "/v1/ip/8.8.8.8")
        assert status == 403 and json.loads(body)["status"] == "error"
        assert api_stats(d)["refused_allow"] == 1
        # from 127.0.0.2 (source bound) the same request is answered
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=60, source_address=("127.0.0.2", 0))
        c.request("GET", "/v1/ip/8.8.8.8")
        assert c.getresponse().status == 200
        c.close()


def test_client_leaving_while_pending(tmp_path):
    """Single lookups and a bulk request whose answers wait on a slow resolver; the clients
    close before the answers come. The answers come later and go nowhere; rasnd keeps serving
    and exits cleanly (under ASan: no use after free, no leak)."""
    from test_dns import Fault, dns_conf
    fault = Fault(tmp_path, "f")
    try:
        for i in range(4):
            fault.cmd(f"add *.{i}.0.45.origin.asn.cymru.com TXT 6450{i} | 45.0.{i}.0/24 | NL | ripencc | 2001-01-01")
            fault.cmd(f"add AS6450{i}.asn.cymru.com TXT 6450{i} | NL | ripencc | 2001-01-01 | TEST-{i}")
        fault.cmd("delay 700")
        port = free_port()
        conf = dns_conf(fault.port, timeout_ms=5000, tries=1) + api_conf(port)
        with harness.Rasnd(tmp_path / "d", config_text=conf) as d:
            wait_tcp(port, d)
            socks = []
            for i in range(3):
                s = socket.create_connection(("127.0.0.1", port))
                s.sendall(f"GET /v1/ip/45.0.{i}.9?source=cymru HTTP/1.1\r\nHost: x\r\n\r\n".encode())
                socks.append(s)
            body = "".join(f"45.0.{i % 4}.{i} @cymru\n8.8.8.8\n" for i in range(50)).encode()
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(b"POST /v1/bulk HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
            socks.append(s)
            harness.wait_for(lambda: sum(1 for e in list(fault.events) if e["ev"] == "query") >= 3, 30,
                             "the Cymru queries")
            for s in socks:
                s.close()
            harness.wait_for(lambda: harness.stats(d.sock)["http_api"]["connections"] == 0, 30,
                             "the connections to close")
            harness.wait_for(lambda: harness.stats(d.sock)["upstreams"]["cymru"]["in_flight"] == 0, 30,
                             "the upstream answers")
            assert get(port, "/v1/ip/45.0.1.1?source=cymru")[0] == 200
            assert get(port, "/v1/ip/8.8.8.8")[0] == 200
    finally:
        fault.stop()


def test_abuse_slow_flood_oversize_many(tmp_path):
    """While a slow client trickles a request, a client pipelines requests without reading,
    another sends an oversize header, and one address opens more connections than allowed:
    a well-behaved client from another address gets every answer."""
    port = free_port()
    conf = api_conf(port, "max_conns_per_addr = 4\nmax_header_size = 2048\nrate = 0\n",
                    host="0.0.0.0") + "allow = 127.0.0.0/8\n"
    with harness.Rasnd(tmp_path / "d", config_text=conf) as d:
        wait_tcp(port, d)
        slow = socket.create_connection(("127.0.0.3", port), source_address=("127.0.0.3", 0))
        slow.sendall(b"GET /v1/ip/8.8")
        flood = socket.create_connection(("127.0.0.4", port), source_address=("127.0.0.4", 0))
        flood.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        req = b"GET /v1/as/AS15169/prefixes HTTP/1.1\r\nHost: x\r\n\r\n"
        flood.setblocking(False)
        sent = 0
        try:
            for _ in range(20000):
                sent += flood.send(req)
        except BlockingIOError:
            pass
        big = socket.create_connection(("127.0.0.5", port), source_address=("127.0.0.5", 0))
        big.sendall(b"GET /v1/ip/8.8.8.8 HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 8192 + b"\r\n\r\n")
        head = big.recv(4096)
        assert head == b"" or head.split(b" ")[1] in (b"400", b"413", b"431"), head[:60]
        many = []
        codes = []
        for _ in range(8):
            c = http.client.HTTPConnection("127.0.0.6", port, timeout=60, source_address=("127.0.0.6", 0))
            c.request("GET", "/v1/ip/8.8.8.8")
            r = c.getresponse()
            codes.append(r.status)
            r.read()
            many.append(c)
        assert codes.count(200) == 4 and codes.count(429) == 4
        good = http.client.HTTPConnection("127.0.0.7", port, timeout=60, source_address=("127.0.0.7", 0))
        want = d.query(LINES)
        for path, w in zip(PATHS * 20, want * 20):
            good.request("GET", path)
            r = good.getresponse()
            assert json.loads(r.read()) == w
        st = api_stats(d)
        assert st["refused_conns"] == 4
        for s in [slow, flood, big, good] + many:
            s.close()
        harness.wait_for(lambda: api_stats(d)["connections"] == 0, 60, "every connection to close")


def test_async_answers_in_order_domain_metrics_ipv6(tmp_path):
    """Answers that wait on upstreams (Cymru through a slow resolver, a domain lookup) come back
    as the socket gives them: a bulk request mixing them with table answers keeps its order;
    /v1/domain equals `domain NAME`. /metrics is served when asked for, and the listener works
    on IPv6 too."""
    from test_dns import Fault, dns_conf
    fault = Fault(tmp_path, "f")
    try:
        for i in range(3):
            fault.cmd(f"add *.{i}.0.45.origin.asn.cymru.com TXT 6450{i} | 45.0.{i}.0/24 | NL | ripencc | 2001-01-01")
            fault.cmd(f"add AS6450{i}.asn.cymru.com TXT 6450{i} | NL | ripencc | 2001-01-01 | TEST-{i}")
        fault.cmd("delay 200")
        port, port6 = ports.free_ports(2)
        conf = dns_conf(fault.port, timeout_ms=5000, tries=1) + api_conf(port, "metrics = yes\n") + \
            f"listen = [::1]:{port6}\n"
        with harness.Rasnd(tmp_path / "d", config_text=conf) as d:
            wait_tcp(port, d)
            lines = []
            for i in range(60):
                lines.append(f"45.0.{i % 3}.{i} @cymru" if i % 2 else f"8.8.{i}.8")
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            c.request("POST", "/v1/bulk", body=("\n".join(lines) + "\n").encode())
            r = c.getresponse()
            got = [json.loads(x) for x in r.read().decode().splitlines()]
            assert [x["query"] for x in got] == lines
            want = d.query(lines)          # now from the cache for the @cymru lines
            for g, w in zip(got, want):
                g.pop("source"), w.pop("source")
                assert g == w
            # a domain lookup: the same object as on the socket (TTLs and source aside)
            status, body = get(port, "/v1/domain/pair.test")
            assert status == 200
            dom = json.loads(body)
            sock = d.query(["domain pair.test"])[0]
            strip = lambda o: [{k: v for k, v in a.items() if k != "ttl"} for a in o["addresses"]]  # noqa: E731
            assert strip(dom) == strip(sock) and dom["name"] == "pair.test"
            assert sorted(a["ip"] for a in dom["addresses"]) == ["192.0.2.1", "2001:db8::1"]
            status, body = get(port, "/v1/domain/nope..test")
            assert status == 400
            # /metrics, here because metrics = yes
            status, body = get(port, "/metrics")
            assert status == 200 and b"rasnd_http_api_requests_total" in body and body.rstrip().endswith(b"# EOF")
            # IPv6
            c6 = http.client.HTTPConnection("::1", port6, timeout=60)
            c6.request("GET", "/v1/ip/8.8.8.8")
            assert c6.getresponse().status == 200
            c6.close()
    finally:
        fault.stop()


def test_metrics_off_by_default(api):
    d, port = api
    assert get(port, "/metrics")[0] == 404


def test_sighup_changes_allow_and_limits_live(tmp_path):
    """allow and the limits are read at each use: a SIGHUP that lets 127.0.0.1 in takes effect
    on the running listener; a changed listen address is only warned about."""
    port, other = ports.free_ports(2)
    with harness.Rasnd(tmp_path / "d", config_text=api_conf(port, "allow = 127.0.0.2/32\n")) as d:
        wait_tcp(port, d)
        assert get(port, "/v1/ip/8.8.8.8")[0] == 403
        d.conf.write_text(d.NO_SYSCTL + api_conf(other, "allow = 127.0.0.0/8\n"))
        d.sighup()
        assert get(port, "/v1/ip/8.8.8.8")[0] == 200
        harness.wait_for(lambda: "listen changed: takes effect at restart" in d.stderr_text(), 30,
                         "the warning about listen")


def test_bulk_from_a_client_that_does_not_read(tmp_path):
    """A bulk request whose client does not read: rasnd holds at most ~256 KiB of its answers
    (its own gauge: the bound plus one window of answers), a well-behaved client meanwhile gets
    every answer, and once the first client reads, all its answers come, in order."""
    port = free_port()
    with harness.Rasnd(tmp_path / "d", config_text=api_conf(port, "max_body = 4M\nrate = 0\n")) as d:
        wait_tcp(port, d)
        lines = [f"{1 + i % 223}.{i % 251}.{i % 241}.1" for i in range(100000)]
        body = ("\n".join(lines) + "\n").encode()
        slow = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        slow.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        slow.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        slow.sock.settimeout(300)
        slow.sock.connect(("127.0.0.1", port))
        slow.request("POST", "/v1/bulk", body=body)
        harness.wait_for(lambda: api_stats(d)["queued_max_bytes"] >= 200 * 1024, 60, "the output bound")
        good = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        want = d.query(LINES)
        for path, w in zip(PATHS * 5, want * 5):
            good.request("GET", path)
            assert json.loads(good.getresponse().read()) == w
        good.close()
        assert api_stats(d)["lines"] < len(lines)         # still held back
        r = slow.getresponse()
        got = r.read().decode().splitlines()
        assert [json.loads(x)["query"] for x in got] == lines
        st = api_stats(d)
        assert st["lines"] == len(lines)
        assert st["queued_max_bytes"] <= 512 * 1024, st
        slow.close()


def test_idle_and_slow_clients_are_closed_by_the_timeout(tmp_path):
    """A connection that sends nothing, and one that stops halfway through its request head,
    are closed after [http_api] timeout; a keep-alive client that behaves is answered."""
    port = free_port()
    with harness.Rasnd(tmp_path / "d", config_text=api_conf(port, "timeout = 1\n")) as d:
        wait_tcp(port, d)
        idle = socket.create_connection(("127.0.0.1", port))
        half = socket.create_connection(("127.0.0.1", port))
        half.sendall(b"GET /v1/ip/8.8.8.8 HTTP/1.1\r\nHost: x\r\n")
        for s in (idle, half):
            s.settimeout(60)          # the wait is rasnd's timeout; this only bounds the test
            got = b""
            while True:
                b = s.recv(4096)
                if not b:
                    break             # closed by rasnd
                got += b
            assert got == b"" or got.startswith(b"HTTP/1.1 4"), got[:80]
            s.close()
        assert get(port, "/v1/ip/8.8.8.8")[0] == 200
