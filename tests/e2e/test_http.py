"""The HTTPS upstream against a real nginx 1.22 on loopback (HTTP/2 and TLS; certificates made
by the test; RIPEstat-shaped answers computed from the fixture dataset): connection reuse and
multiplexing, TLS resumption, refused certificates, idle timeout and PING, HTTP/1.1 fallback,
dataset refresh with conditional requests, and hostile bodies. Every claim is read twice: from
rasnd's `stats` and from nginx's own access log."""
import ipaddress
import struct
import math
import socket
import ssl
import sys
import threading
import time

import pytest

import harness
from reference import Reference

sys.path.insert(0, str(harness.SRCDIR / "tests" / "servers"))
import nginx  # noqa: E402
from latproxy import LatProxy  # noqa: E402

pytestmark = pytest.mark.skipif(harness.missing_rasnd() is not None,
                                reason=harness.missing_rasnd() or "")
REF = Reference(harness.FIXTURE_DATASETS)


def distinct_24s(n, skip=0):
    """n IPv4 addresses from the fixture table, each in its own /24 (the address one past the
    start of a range, so some are not the first of their /24)."""
    out, seen = [], set()
    for first, last, asn, name in REF.segs[4]:
        v = first + 1 if last > first else first
        net = v >> 8
        if net in seen:
            continue
        seen.add(net)
        out.append(str(ipaddress.IPv4Address(v)))
    assert len(out) >= skip + n, "fixture too small"
    return out[skip:skip + n]


def conf(ngx, block="h2", extra="", base=None):
    return (f"[ripestat]\nbase_url = {base or ngx.url(block)}\n"
            f"[http]\nca_file = {ngx.ca_file}\n" + extra)


def stats(d):
    return d.query(["stats"])[0]["stats"]


def wait_stat(d, pred, timeout=20):
    deadline = time.monotonic() + timeout
    while True:
        st = stats(d)
        if pred(st):
            return st
        assert time.monotonic() < deadline, st["http"]
        time.sleep(0.02)


def origin(st, port):
    """The stats entry of the origin on 127.0.0.1:port."""
    return next(o for o in st["http"]["origins"] if o["origin"] == f"127.0.0.1:{port}")


def wait_for(pred, what, timeout=20):
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def check_ip(r, ip):
    """An @ripestat answer agrees with the dataset the fixtures were made from."""
    want = REF.lookup(ip)
    assert r["status"] == "ok", r
    assert r["asn"] == want["asn"], (r, want)
    assert r["as_name"] == REF.as_name[want["asn"]]
    assert ipaddress.ip_address(ip) in ipaddress.ip_network(r["prefix"]), r
    assert r["source"] in ("ripestat", "cache"), r


def test_concurrent_lookups_share_few_http2_connections(tmp_path):
    """500 pipelined lookups for addresses in 500 distinct /24s, each network-info answer held
    back 0.5 s by nginx (echo_sleep), so that the requests must be in flight together: they go
    over HTTP/2 as streams of as few connections as nginx's 128-stream limit requires (not
    500), with more than 100 at once on one connection; nginx's log and rasnd's stats count
    the same connections and requests."""
    ips = distinct_24s(500)
    ripe = nginx.RipeFixtures.for_addresses(ips)
    with nginx.Nginx(tmp_path / "ngx", ripestat=ripe, delays={("network-info", "*"): 0.5}) as ngx, \
            harness.Rasnd(tmp_path / "d", config_text=conf(ngx)) as d:
        t0 = time.monotonic()
        r = d.query([f"{ip} @ripestat" for ip in ips])
        took = time.monotonic() - t0
        for x, ip in zip(r, ips):
            check_ip(x, ip)
        st = stats(d)
        h = st["http"]
        o = origin(st, ngx.port["h2"])
        # one at a time, 500 delayed answers would take 250 s; many streams at once on one
        # connection is what multiplexing means, and nginx allows 128
        assert 100 <= o["in_flight_max"] <= 128, o
        assert max(c["in_flight_max"] for c in o["conns"]) >= 100, o
        assert o["streams_mean"] >= 100 and o["conns_total"] == h["conns_opened"], o
        print(f"500 delayed lookups in {took:.2f} s, {o['in_flight_max']} streams at once, "
              f"{h['conns_opened']} connections")
        log = ngx.wait_log(lambda e: e["block"] == "h2", count=h["requests"])
        assert all(e["protocol"] == "HTTP/2.0" and e["status"] == 200 for e in log)
        conns = {e["connection"] for e in log}
        assert len(conns) <= 8, conns   # 500 at once need 4 connections of 128 streams
        # a connection opened when every stream was busy may find the queue empty by the time
        # its handshake is done: it carries nothing, and nginx logs nothing for it
        assert len(conns) <= h["conns_opened"] == h["h2_conns"]
        # at most 128 streams at once per connection: more than 128 requests in flight need
        # a second connection, and never more than the requests could fill
        assert h["conns_opened"] <= math.ceil(h["requests"] / 128), (len(conns), h)
        assert h["streams_max"] >= 128 and max(e["connection_requests"] for e in log) >= 128
        assert h["tls_full"] + h["tls_resumed"] == h["conns_opened"] and h["requests"] == len(log)
        # the /24 answers and the AS names were asked once each: a network-info per /24, at
        # most one exact retry per address the /24 answer did not cover
        ni = [e for e in log if "/network-info/" in e["uri"]]
        assert len({e["resource"] for e in ni}) == len(ni)
        assert 500 <= len(ni) <= 1000
        asks = [e["resource"] for e in log if "/as-overview/" in e["uri"]]
        assert len(asks) == len(set(asks)) == len({x["asn"] for x in r})


def test_one_connection_carries_everything_when_the_pool_allows_one(tmp_path):
    """With max_conns_per_host = 1 the 129th and later requests wait for a free stream: one
    connection carries all 300 lookups, the queue shows how many waited."""
    ips = distinct_24s(300, skip=500)
    ripe = nginx.RipeFixtures.for_addresses(ips)
    with nginx.Nginx(tmp_path / "ngx", ripestat=ripe) as ngx, \
            harness.Rasnd(tmp_path / "d", config_text=conf(ngx, extra="max_conns_per_host = 1\n")) as d:
        r = d.query([f"{ip} @ripestat" for ip in ips])
        for x, ip in zip(r, ips):
            check_ip(x, ip)
        h = stats(d)["http"]
        log = ngx.wait_log(lambda e: e["block"] == "h2", count=h["requests"])
        assert len({e["connection"] for e in log}) == 1 == h["conns_opened"]
        assert max(e["connection_requests"] for e in log) == h["requests"] == h["streams_max"]
        assert h["conns_reused"] == h["requests"] - 1


def test_new_connections_resume_tls(tmp_path):
    """Against a server block that closes every connection after one request, each lookup
    needs a new connection: all but the first resume the TLS session (nginx logs `r`)."""
    ips = distinct_24s(6, skip=900)
    ripe = nginx.RipeFixtures.for_addresses(ips)
    with nginx.Nginx(tmp_path / "ngx", ripestat=ripe) as ngx, \
            harness.Rasnd(tmp_path / "d", config_text=conf(ngx, "oneshot")) as d:
        for ip in ips:  # one at a time: each request on a connection of its own
            check_ip(d.query([f"{ip} @ripestat"])[0], ip)
        h = stats(d)["http"]
        log = ngx.wait_log(lambda e: e["block"] == "oneshot", count=h["requests"])
        assert len({e["connection"] for e in log}) == len(log) == h["conns_opened"] >= 6
        assert log[0]["ssl_session_reused"] == "."
        assert all(e["ssl_session_reused"] == "r" for e in log[1:]), [e["ssl_session_reused"] for e in log]
        assert h["tls_full"] == 1 and h["tls_resumed"] == len(log) - 1


def test_no_resumption_when_the_session_cache_is_off(tmp_path):
    """session_cache = 0: every connection pays a full handshake (the control for the test
    above: resumption is rasnd's doing, not nginx's)."""
    ips = distinct_24s(3, skip=910)
    ripe = nginx.RipeFixtures.for_addresses(ips)
    with nginx.Nginx(tmp_path / "ngx", ripestat=ripe) as ngx, \
            harness.Rasnd(tmp_path / "d", config_text=conf(ngx, "oneshot", "session_cache = 0\n")) as d:
        for ip in ips:
            check_ip(d.query([f"{ip} @ripestat"])[0], ip)
        h = stats(d)["http"]
        log = ngx.wait_log(lambda e: e["block"] == "oneshot", count=h["requests"])
        assert all(e["ssl_session_reused"] == "." for e in log)
        assert h["tls_resumed"] == 0 and h["tls_full"] == len(log)


@pytest.mark.parametrize("block,why", [
    ("expired", "certificate has expired"),
    ("wronghost", "mismatch"),
    ("untrusted", "unable to get local issuer certificate"),
])
def test_bad_certificates_are_refused_and_nothing_is_sent(tmp_path, block, why):
    ips = distinct_24s(1, skip=920)
    ripe = nginx.RipeFixtures.for_addresses(ips)
    # a refused certificate is the origin failing: two in a row open its breaker (short
    # retry waits so the second try comes soon)
    extra = "[breaker]\nfailures = 2\nopen_ms = 600000\n[retry]\ninitial_ms = 10\nmax_ms = 20\n"
    with nginx.Nginx(tmp_path / "ngx", ripestat=ripe) as ngx, \
            harness.Rasnd(tmp_path / "d", config_text=conf(ngx, block, extra)) as d:
        r = d.query([f"{ips[0]} @ripestat", "ping"])
        assert r[0]["status"] == "error" and why in r[0]["error"], r[0]
        assert "certificate" in r[0]["error"]
        assert r[1]["status"] == "ok"
        st = stats(d)
        h = st["http"]
        assert h["tls_failed"] >= 1 and h["requests"] >= 1 and h["responses"] == 0
        # the breaker counted both refusals as failures and opened (never as successes)
        (ep,) = st["upstreams"]["ripestat"]["endpoints"]
        assert ep["state"] == "open" and ep["failures"] == 2 and ep["successes"] == 0, ep
        assert ep["opened"] == 1 and [(t["from"], t["to"]) for t in ep["transitions"]] == [("closed", "open")]
        assert "circuit open" in d.stderr_text() and why in d.stderr_text()
        # while open the origin is not tried: answered at once, no new handshake
        r = d.query([f"{ips[0]} @ripestat"])[0]
        assert r["status"] == "error" and "upstream unavailable" in r["error"], r
        assert stats(d)["http"]["tls_failed"] == h["tls_failed"]
        # nginx saw handshakes it refused (it logs them when the connection ends: poll), and
        # not one HTTP request
        wait_for(lambda: "ssl" in ngx.error_log_text().lower(), "nginx logged no TLS failure")
        assert ngx.log(block) == []
    if block == "wronghost":
        with nginx.Nginx(tmp_path / "ngx2", ripestat=ripe) as ngx, \
                harness.Rasnd(tmp_path / "d2", config_text=conf(ngx, base=ngx.url("h2", "localhost"))) as d:
            check_ip(d.query([f"{ips[0]} @ripestat"])[0], ips[0])  # control: localhost is in the SAN


def test_a_certificate_for_another_name_is_refused_when_reached_by_name(tmp_path):
    """base_url https://localhost:PORT on the block whose certificate names wrong.example
    only: the name path (resolution off the loop, SNI, SSL_set1_host) refuses it as well as
    the address path does; the control above reaches a good certificate by the same name."""
    ips = distinct_24s(1, skip=921)
    ripe = nginx.RipeFixtures.for_addresses(ips)
    with nginx.Nginx(tmp_path / "ngx", ripestat=ripe) as ngx, \
            harness.Rasnd(tmp_path / "d", config_text=conf(ngx, base=ngx.url("wronghost", "localhost"))) as d:
        r = d.query([f"{ips[0]} @ripestat"])[0]
        assert r["status"] == "error" and "mismatch" in r["error"] and "certificate" in r["error"], r
        h = stats(d)["http"]
        assert h["tls_failed"] >= 1 and h["responses"] == 0 and h["tls_full"] == 0
        wait_for(lambda: "ssl" in ngx.error_log_text().lower(), "nginx logged no TLS failure")
        assert ngx.log("wronghost") == []


def test_idle_connections_are_pinged_then_closed(tmp_path):
    """An idle HTTP/2 connection is PINGed every ping_interval_ms (the server ACKs) and closed
    after idle_timeout_ms; the next lookup opens a new one."""
    ips = distinct_24s(2, skip=930)
    ripe = nginx.RipeFixtures.for_addresses(ips)
    # pings are seen after ~0.4 s; the idle timeout is 10 times that, so a loaded machine
    # cannot close the connection before the first check
    extra = "idle_timeout_ms = 4000\nping_interval_ms = 200\nping_timeout_ms = 1000\n"
    with nginx.Nginx(tmp_path / "ngx", ripestat=ripe) as ngx, \
            harness.Rasnd(tmp_path / "d", config_text=conf(ngx, extra=extra)) as d:
        check_ip(d.query([f"{ips[0]} @ripestat"])[0], ips[0])
        st = wait_stat(d, lambda s: s["http"]["pings_acked"] >= 2)
        assert st["http"]["closed_idle"] == 0 and st["http"]["conns_open"] == 1
        st = wait_stat(d, lambda s: s["http"]["closed_idle"] == 1)
        assert st["http"]["conns_open"] == 0 and st["http"]["closed_ping"] == 0
        check_ip(d.query([f"{ips[1]} @ripestat"])[0], ips[1])
        h = stats(d)["http"]
        log = ngx.wait_log(lambda e: e["block"] == "h2", count=h["requests"])
        assert h["conns_opened"] == 2 == len({e["connection"] for e in log})


def test_an_unanswered_ping_closes_the_connection(tmp_path):
    """Through a proxy whose round trip then grows to 30 s, the PING sent on the idle
    connection gets no ACK within ping_timeout_ms: rasnd closes it (closed_ping) and the next
    lookup opens a new connection."""
    ips = distinct_24s(2, skip=932)
    ripe = nginx.RipeFixtures.for_addresses(ips)
    extra = "idle_timeout_ms = 60000\nping_interval_ms = 300\nping_timeout_ms = 600\n"
    with nginx.Nginx(tmp_path / "ngx", ripestat=ripe) as ngx, \
            LatProxy(ngx.port["h2"], 2) as lp, \
            harness.Rasnd(tmp_path / "d", config_text=conf(ngx, base=lp.url(), extra=extra)) as d:
        check_ip(d.query([f"{ips[0]} @ripestat"])[0], ips[0])
        wait_stat(d, lambda s: s["http"]["pings_acked"] >= 1)     # pings work through the proxy
        lp.set_rtt(30000)
        t0 = time.monotonic()
        st = wait_stat(d, lambda s: s["http"]["closed_ping"] == 1)
        h = st["http"]
        assert h["conns_open"] == 0 and h["closed_idle"] == 0 and h["pings_sent"] > h["pings_acked"], h
        assert time.monotonic() - t0 >= 0.6 - 0.05   # not before the timeout
        lp.set_rtt(2)
        check_ip(d.query([f"{ips[1]} @ripestat"])[0], ips[1])
        assert stats(d)["http"]["conns_opened"] == 2


def test_upstream_socket_options_are_the_configured_ones(tmp_path):
    """[tcp] options reach every HTTPS socket: read back from the kernel per connection in
    `stats` (http.origins[].conns[].sock), with values that differ from the defaults."""
    ips = distinct_24s(1, skip=935)
    ripe = nginx.RipeFixtures.for_addresses(ips)
    extra = ("[tcp]\nnodelay = yes\nsndbuf = 65536\nrcvbuf = 98304\nkeepalive = yes\n"
             "keepalive_idle = 33\nkeepalive_interval = 7\nkeepalive_count = 4\n")
    with nginx.Nginx(tmp_path / "ngx", ripestat=ripe) as ngx, \
            harness.Rasnd(tmp_path / "d", config_text=conf(ngx, extra=extra)) as d:
        check_ip(d.query([f"{ips[0]} @ripestat"])[0], ips[0])
        o = origin(stats(d), ngx.port["h2"])
        assert len(o["conns"]) == 1 and o["conns"][0]["state"] == "ready" and o["conns"][0]["http2"], o
        sock = o["conns"][0]["sock"]
        # the kernel reports twice the buffer size asked for
        assert sock == {"proto": "tcp", "sndbuf": 131072, "rcvbuf": 196608, "nodelay": 1, "keepalive": 1,
                        "keepidle": 33, "keepintvl": 7, "keepcnt": 4}, sock
    extra = "[tcp]\nnodelay = no\nkeepalive = no\n"
    with nginx.Nginx(tmp_path / "ngx2", ripestat=ripe) as ngx, \
            harness.Rasnd(tmp_path / "d2", config_text=conf(ngx, extra=extra)) as d:
        check_ip(d.query([f"{ips[0]} @ripestat"])[0], ips[0])
        sock = origin(stats(d), ngx.port["h2"])["conns"][0]["sock"]
        assert sock["nodelay"] == 0 and sock["keepalive"] == 0, sock


def test_a_server_that_allows_no_streams_gets_one_connection_and_timeouts(tmp_path):
    """nginx with http2_max_concurrent_streams 0 announces SETTINGS_MAX_CONCURRENT_STREAMS 0:
    rasnd opens one connection, not max_conns_per_host of them, and the requests that wait in
    the queue end when request_timeout_ms runs out (the whole request is bounded, queue time
    included); nothing reaches nginx."""
    ips = distinct_24s(3, skip=937)
    ripe = nginx.RipeFixtures.for_addresses(ips)
    # 3 s: the requests first go out on the new connection (before nginx's SETTINGS), are
    # refused and queue again; under ASan on a busy machine handshake and refusal took over
    # 1 s once, and the timeout then caught a request still on its stream
    extra = "request_timeout_ms = 3000\n[retry]\ngive_up_ms = 1\n[cache]\nenabled = no\n"
    with nginx.Nginx(tmp_path / "ngx", ripestat=ripe) as ngx, \
            harness.Rasnd(tmp_path / "d", config_text=conf(ngx, "nostreams", extra)) as d:
        t0 = time.monotonic()
        r = d.query([f"{ip} @ripestat" for ip in ips])
        took = time.monotonic() - t0
        for x in r:
            # mostly still queued ("waited for a free stream"); on a loaded machine the timer can
            # also catch one that went out before nginx's SETTINGS and was not refused yet
            assert x["status"] == "error" and "no complete response within 3000 ms" in x["error"], \
                (x, took, stats(d)["http"])
        assert took >= 3.0 - 0.05
        st = stats(d)
        h = st["http"]
        assert h["conns_opened"] == 1 and h["errors_timeout"] == len(ips) and h["responses"] == 0, h
        assert origin(st, ngx.port["nostreams"])["max_streams"] == 0
        assert ngx.log("nostreams") == []


def test_http1_fallback_keeps_its_connection(tmp_path):
    """A server block without http2: ALPN gives http/1.1, requests go one at a time over one
    kept-alive connection."""
    ips = distinct_24s(5, skip=940)
    ripe = nginx.RipeFixtures.for_addresses(ips)
    with nginx.Nginx(tmp_path / "ngx", ripestat=ripe) as ngx, \
            harness.Rasnd(tmp_path / "d", config_text=conf(ngx, "h1", "max_conns_per_host = 1\n")) as d:
        for ip in ips:
            check_ip(d.query([f"{ip} @ripestat"])[0], ip)
        h = stats(d)["http"]
        log = ngx.wait_log(lambda e: e["block"] == "h1", count=h["requests"])
        assert all(e["protocol"] == "HTTP/1.1" for e in log)
        assert len({e["connection"] for e in log}) == 1 == h["conns_opened"] == h["h1_conns"]
        assert [e["connection_requests"] for e in log] == list(range(1, len(log) + 1))
        assert h["h2_conns"] == 0 and h["conns_reused"] == len(log) - 1


def test_as_prefixes_and_org_from_ripestat(tmp_path):
    asn = 15169
    ripe = nginx.RipeFixtures(as_overview=[asn, 64496], announced_prefixes=[asn],
                              searchcomplete=["google", "no such org at all"])
    with nginx.Nginx(tmp_path / "ngx", ripestat=ripe) as ngx, \
            harness.Rasnd(tmp_path / "d", config_text=conf(ngx)) as d:
        r = d.query([f"AS{asn} @ripestat", "AS64496 @ripestat", f"prefixes AS{asn} @ripestat",
                     "org google @ripestat", "org no such org at all @ripestat", "domain x.test @ripestat"])
        assert r[0]["status"] == "ok" and r[0]["as_name"] == REF.as_name[asn] and r[0]["source"] == "ripestat"
        assert r[1]["status"] == "not_found"
        assert r[2]["status"] == "ok" and r[2]["prefixes"] == REF.prefixes(asn)
        assert [m["asn"] for m in r[3]["matches"]] == REF.org("google")
        assert all(m["as_name"] == REF.as_name[m["asn"]] for m in r[3]["matches"])
        assert r[4]["status"] == "not_found" and r[4]["count"] == 0
        assert r[5]["status"] == "error" and "@ripestat answers" in r[5]["error"]
        # the AS answer is cached: asked again, nginx sees nothing new
        n = len(ngx.wait_log(lambda e: "/as-overview/" in e["uri"]))
        assert d.query([f"AS{asn} @ripestat"])[0]["source"] == "cache"
        assert len([e for e in ngx.log() if "/as-overview/" in e["uri"]]) == n


def test_answers_are_cached_prefix_aware_and_survive_a_restart(tmp_path):
    ips = distinct_24s(1, skip=950)
    net = ipaddress.ip_network(ips[0] + "/24", strict=False)
    other = str(net.network_address + 200)
    ripe = nginx.RipeFixtures.for_addresses(ips + [other])
    with nginx.Nginx(tmp_path / "ngx", ripestat=ripe) as ngx:
        with harness.Rasnd(tmp_path / "d", config_text=conf(ngx)) as d:
            check_ip(d.query([f"{ips[0]} @ripestat"])[0], ips[0])
            ngx.wait_log(lambda e: "/as-overview/" in e["uri"])
            mark = ngx.log_mark()
        with harness.Rasnd(tmp_path / "d", config_text=conf(ngx)) as d:
            r = d.query([f"{ips[0]} @ripestat", f"{other} @ripestat"])
            check_ip(r[0], ips[0])
            assert r[0]["source"] == "cache"
            # another address of the same /24 (inside the answer's prefix): the stored prefix
            # answers it, from disk, with no request
            want = REF.lookup(other)
            assert ipaddress.ip_address(other) in ipaddress.ip_network(r[0]["prefix"]), (r[0], other)
            assert r[1]["source"] == "cache" and r[1]["asn"] == want["asn"] == r[0]["asn"], r[1]
            assert r[1]["prefix"] == r[0]["prefix"] and r[1]["as_name"] == r[0]["as_name"]
            assert stats(d)["http"]["requests"] == 0
        assert len(ngx.log()) == mark


def test_malformed_bodies_are_errors_and_the_daemon_goes_on(tmp_path):
    bad = {
        "5.5.5.0/24": b"{not json",
        "5.5.6.0/24": b'{"status":"ok","data":{"asns":[15169.5],"prefix":"5.5.6.0/24"}}',
        "5.5.7.0/24": b'{"status":"ok","data":{"asns":["15169"],"prefix":"9.9.9.0/24"}}',
        "5.5.8.0/24": b'{"status":"ok","data":{"asns":["15169"],"prefix":"5.5.8.0/24"},' + b" " * (20 << 20) + b"}",
        "5.5.9.0/24": b'{"status":"error","messages":[["error","resource not found"]],"data":{}}',
        "5.5.10.0/24": b"",
    }
    good = distinct_24s(1, skip=960)
    ripe = nginx.RipeFixtures.for_addresses(good, extra={("network-info", k): v for k, v in bad.items()})
    with nginx.Nginx(tmp_path / "ngx", ripestat=ripe) as ngx, \
            harness.Rasnd(tmp_path / "d", config_text=conf(ngx)) as d:
        qs = ["5.5.5.5", "5.5.6.6", "5.5.7.7", "5.5.8.8", "5.5.9.9", "5.5.10.10"]
        r = d.query([f"{q} @ripestat" for q in qs] + ["ping", f"{good[0]} @ripestat"])
        for x in r[:6]:
            assert x["status"] == "error" and "ripestat" in x["error"], x
        assert "malformed" in r[0]["error"] and "malformed" in r[1]["error"]
        assert "resource not found" in r[4]["error"]
        # 20 MiB: refused at the HTTP layer by [ripestat] max_body (16 MiB), not read whole
        assert "larger than 16777216 bytes" in r[3]["error"], r[3]
        assert r[6]["status"] == "ok"
        check_ip(r[7], good[0])
        h = stats(d)["http"]
        assert h["errors_too_big"] == 1 and h["bytes_in"] < 20 << 20, h
        # malformed answers are final: asked once each, never retried (the cut stream is
        # logged when nginx notices the reset)
        log = ngx.wait_log(lambda e: "/network-info/" in e["uri"], count=7)
        ngx.wait_log(lambda e: e["resource"] == "5.5.8.0/24")
        log = ngx.log()
        for k in bad:
            assert len([e for e in log if e["resource"] == k]) == 1, k
        assert d.proc.poll() is None


def test_a_small_max_body_over_http2(tmp_path):
    """[ripestat] max_body = 2048: a 3000-byte answer is refused over HTTP/2 (its stream reset,
    errors_too_big), a small one on the same connection is still answered."""
    big = b'{"status":"ok","data":{"asns":["15169"],"prefix":"5.5.8.0/24"}' + b" " * 3000 + b"}"
    good = distinct_24s(1, skip=965)
    ripe = nginx.RipeFixtures.for_addresses(good, extra={("network-info", "5.5.8.0/24"): big})
    with nginx.Nginx(tmp_path / "ngx", ripestat=ripe) as ngx, \
            harness.Rasnd(tmp_path / "d", config_text=conf(ngx, extra="[ripestat]\nmax_body = 2048\n")) as d:
        r = d.query(["5.5.8.8 @ripestat", f"{good[0]} @ripestat"])
        assert r[0]["status"] == "error" and "larger than 2048 bytes" in r[0]["error"], r[0]
        check_ip(r[1], good[0])
        h = stats(d)["http"]
        assert h["errors_too_big"] == 1 and h["h2_conns"] == 1 == h["conns_opened"], h
        log = ngx.wait_log(lambda e: e["block"] == "h2", count=3)
        assert all(e["protocol"] == "HTTP/2.0" for e in log)


def _refresh_conf(ngx, tmp_path, v4, v6):
    a4, a6 = tmp_path / "a4.csv", tmp_path / "a6.csv"
    a4.write_bytes(v4)
    a6.write_bytes(v6)
    return a4, a6, (f"[dataset]\nfile = {a4}\nfile = {a6}\nurl = {ngx.file_url('asn-v4.csv')}\n"
                    f"url = {ngx.file_url('asn-v6.csv')}\nrefresh = 0\n[http]\nca_file = {ngx.ca_file}\n")


def test_dataset_refresh_conditional_get_swap_and_rejects(tmp_path):
    v4 = harness.FIXTURE_DATASETS[0].read_bytes()
    v6 = harness.FIXTURE_DATASETS[1].read_bytes()
    line = next(l for l in v4.splitlines() if l.startswith(b"8.8.8.0,"))
    changed = v4.replace(line, b"8.8.8.0,8.8.8.255,64500,Changed Org")
    with nginx.Nginx(tmp_path / "ngx", files={"asn-v4.csv": v4, "asn-v6.csv": v6}) as ngx:
        a4, a6, c = _refresh_conf(ngx, tmp_path, v4, v6)
        with harness.Rasnd(tmp_path / "d", datasets=[], config_text=c) as d:
            assert d.query(["8.8.8.8"])[0]["asn"] == 15169
            # first run: no validators yet, both downloaded (same bytes), swapped
            r = d.query(["refresh"])[0]
            assert r["status"] == "ok" and len(r["changed"]) == 2, r
            # second run: both 304, nothing downloaded
            mark = ngx.log_mark()
            r = d.query(["refresh"])[0]
            assert r["status"] == "ok" and r["changed"] == [] and len(r["unchanged"]) == 2, r
            log = ngx.wait_log(lambda e: e["uri"].startswith("/files/"), count=2, since=mark)
            assert [e["status"] for e in log] == [304, 304]
            assert all(e["if_none_match"] for e in log)
            # a changed file: new ETag, downloaded, parsed off the loop, swapped in
            ngx.set_file("asn-v4.csv", changed)
            r = d.query(["refresh", "8.8.8.8"])
            assert r[0]["status"] == "ok" and r[0]["changed"] == [ngx.file_url("asn-v4.csv")], r[0]
            assert r[1]["asn"] == 64500 and r[1]["as_name"] == "Changed Org"
            assert a4.read_bytes() == changed and not (tmp_path / "a4.csv.new").exists()
            # truncated mid-line, cut at a line boundary (it parses, with half the rows), then
            # garbage: refused or rejected, the table and the file stay
            rows = changed.count(b"\n")
            half = changed[: changed.index(b"\n", len(changed) // 2) + 1]
            half_rows = half.count(b"\n")
            for body, why in ((changed[: len(changed) // 2 + 7], "line feed"), (half, "max_shrink"),
                              (b"\x00\x01garbage\xff\n" * 100, "does not load")):
                ngx.set_file("asn-v4.csv", body)
                r = d.query(["refresh", "8.8.8.8"])
                assert r[0]["status"] == "error" and "previous table" in r[0]["error"], r[0]
                assert why in r[0]["error"], r[0]
                assert r[1]["asn"] == 64500
                assert a4.read_bytes() == changed and not (tmp_path / "a4.csv.new").exists()
                if body is half:
                    assert f"from {rows} to {half_rows} rows" in r[0]["error"], r[0]
            st = stats(d)["reloads"]["refresh"]
            # the mid-line cut never reached the parser (no final line feed); the garbage did
            assert st["swapped"] == 2 and st["rejected"] == 1 and st["download_errors"] == 1
            assert st["refused_shrink"] == 1, st
            assert st["not_modified"] == 6  # both once, then the v6 file in each later run
        # a restart serves the last good file from disk and keeps its validators: the first
        # fetch after it is conditional on that file's ETag (the server's garbage has another,
        # so it is downloaded and rejected again; the v6 file is not modified)
        etag = next(l[6:] for l in (tmp_path / "a4.csv.http").read_text().splitlines() if l.startswith("etag: "))
        assert etag
        with harness.Rasnd(tmp_path / "d", datasets=[], config_text=c) as d:
            assert d.query(["8.8.8.8"])[0]["asn"] == 64500
            mark = ngx.log_mark()
            r = d.query(["refresh", "8.8.8.8"])
            assert r[0]["status"] == "error" and r[1]["asn"] == 64500, r
            log = ngx.wait_log(lambda e: e["uri"].startswith("/files/"), count=2, since=mark)
            by = {e["uri"].rsplit("/", 1)[1]: e for e in log}
            assert by["asn-v4.csv"]["if_none_match"] == etag and by["asn-v4.csv"]["status"] == 200
            assert by["asn-v6.csv"]["status"] == 304


def test_refresh_download_failure_keeps_the_table(tmp_path):
    v4 = harness.FIXTURE_DATASETS[0].read_bytes()
    v6 = harness.FIXTURE_DATASETS[1].read_bytes()
    with nginx.Nginx(tmp_path / "ngx", files={"asn-v4.csv": v4, "asn-v6.csv": v6},
                     faults={"files": {"asn-v6.csv": (503, None)}}) as ngx:
        a4, a6, c = _refresh_conf(ngx, tmp_path, v4, v6)
        with harness.Rasnd(tmp_path / "d", datasets=[], config_text=c) as d:
            r = d.query(["refresh", "8.8.8.8"])
            assert r[0]["status"] == "ok" and r[0]["failed"] == [ngx.file_url("asn-v6.csv")], r[0]
            assert r[1]["asn"] == 15169
            ngx.stop()
            r = d.query(["refresh", "8.8.8.8"])
            assert r[0]["status"] == "error" and "refresh" in r[0]["error"], r[0]
            assert r[1]["asn"] == 15169
            assert stats(d)["reloads"]["refresh"]["download_errors"] >= 3


def test_refresh_without_url_and_bad_url_config(tmp_path):
    with harness.Rasnd(tmp_path / "d") as d:
        r = d.query(["refresh"])[0]
        assert r["status"] == "error" and "no [dataset] url" in r["error"]
    bad = harness.Rasnd(tmp_path / "e", config_text="[dataset]\nurl = http://example.org/x.csv\n")
    with pytest.raises(RuntimeError) as e:
        bad.start()
    assert "https://" in str(e.value)


def test_order_table_then_ripestat(tmp_path):
    """[lookup] order = table ripestat: the table answers what it holds (no request goes out),
    RIPEstat what it lacks, for addresses (single and batched lines) and AS numbers."""
    inside = distinct_24s(3, skip=970)
    outside = "7.7.7.77"                           # in no fixture range (and not special-purpose)
    assert REF.lookup(outside) is None and 64500 not in REF.as_name
    env = lambda data: ('{"status":"ok","data":%s}' % data).encode()
    extra = {("network-info", "7.7.7.0/24"): env('{"asns":["64500"],"prefix":"7.7.7.0/24"}'),
             ("as-overview", "AS64500"): env('{"resource":"64500","holder":"EXAMPLE-AS","announced":true}'),
             ("as-overview", "AS64501"): env('{"resource":"64501","holder":null,"announced":false}')}
    ripe = nginx.RipeFixtures(extra=extra)
    with nginx.Nginx(tmp_path / "ngx", ripestat=ripe) as ngx, \
            harness.Rasnd(tmp_path / "d", config_text=conf(ngx, extra="[lookup]\norder = table ripestat\n")) as d:
        r = d.query(inside + [outside, "AS15169", "AS64500", "AS64501", outside])
        for x, ip in zip(r[:3], inside):
            assert x["source"] == "table" and x["asn"] == REF.lookup(ip)["asn"]
        assert r[3]["source"] == "ripestat" and r[3]["asn"] == 64500 and r[3]["as_name"] == "EXAMPLE-AS", r[3]
        assert r[3]["prefix"] == "7.7.7.0/24"
        assert r[4]["source"] == "table" and r[4]["as_name"] == REF.as_name[15169]
        assert r[5]["source"] in ("ripestat", "cache") and r[5]["as_name"] == "EXAMPLE-AS", r[5]
        assert r[6]["status"] == "not_found" and r[6]["source"] == "ripestat", r[6]
        assert r[7]["asn"] == 64500 and r[7]["source"] in ("ripestat", "cache")
        log = ngx.wait_log(lambda e: e["block"] == "h2", count=3)
        assert sorted(e["resource"] for e in log) == ["7.7.7.0/24", "AS64500", "AS64501"]


def test_announced_prefixes_beyond_the_first_parse(tmp_path):
    """An AS with more prefixes than rasnd's first parse holds (4096): all of them come back,
    in the server's order."""
    pfx = [f"10.{i >> 8}.{i & 255}.0/24" for i in range(5000)]
    body = ('{"status":"ok","data":{"resource":"64999","prefixes":[%s]}}'
            % ",".join('{"prefix":"%s"}' % p for p in pfx)).encode()
    ripe = nginx.RipeFixtures(extra={("announced-prefixes", "AS64999"): body})
    with nginx.Nginx(tmp_path / "ngx", ripestat=ripe) as ngx, \
            harness.Rasnd(tmp_path / "d", config_text=conf(ngx)) as d:
        r = d.query(["prefixes AS64999 @ripestat"])[0]
        assert r["status"] == "ok" and r["count"] == 5000 and r["prefixes"] == pfx, r.get("error")


class RawTLSServer:
    """A TLS server on loopback that answers every request with bytes the test chose and then
    ends the connection the way the test chose: the mock for what nginx cannot be told to do
    (end a body delimited by the connection's end without a TLS close_notify, reset the
    connection mid-body, send fewer bytes than its Content-Length). A real network server:
    rasnd reaches it over TCP and TLS, verified against the test CA."""

    def __init__(self, certdir):
        certs, self.ca_file = nginx.make_certs(certdir)
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(*[str(p) for p in certs["good"]])
        self.ctx.set_alpn_protocols(["http/1.1"])
        self.answer = (b"", "close_notify")      # (bytes, how the connection ends)
        self.requests = 0
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(16)
        self.port = self.lsock.getsockname()[1]
        self.stopping = False
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self):
        while not self.stopping:
            try:
                raw, _ = self.lsock.accept()
            except OSError:
                return
            try:
                self._one(raw)
            except (OSError, ssl.SSLError):
                pass

    def _one(self, raw):
        raw.settimeout(10)
        s = self.ctx.wrap_socket(raw, server_side=True)
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = s.recv(4096)
            if not chunk:
                s.close()
                return
            head += chunk
        self.requests += 1
        data, how = self.answer
        s.sendall(data)
        if how == "close_notify":
            s.unwrap().close()           # close_notify, then FIN
        elif how == "reset":
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            s.close()                    # RST, no close_notify
        else:
            s.close()                    # FIN without close_notify (Python never sends one here)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *a):
        self.stopping = True
        self.lsock.close()
        self.thread.join(10)



def raw_refresh_conf(tmp_path, srv, v4):
    """The file (holding v4 at first) and a config refreshing it from one of the raw test
    servers below, on request only."""
    a4 = tmp_path / "a4.csv"
    a4.write_bytes(v4)
    return a4, (f"[dataset]\nfile = {a4}\nurl = https://127.0.0.1:{srv.port}/asn-v4.csv\nrefresh = 0\n"
                f"[http]\nca_file = {srv.ca_file}\n")

def test_a_body_until_close_counts_only_with_close_notify(tmp_path):
    """A dataset body delimited by the end of the connection (no Content-Length, no chunking)
    is complete only when the server ends with a TLS close_notify. Cut a few lines short and
    ended by a bare FIN or a reset, or shorter than its Content-Length, it is an error and
    the table stays; the cut is at a line boundary and small, so only the HTTP layer can tell."""
    v4 = harness.FIXTURE_DATASETS[0].read_bytes()
    line = next(l for l in v4.splitlines() if l.startswith(b"8.8.8.0,"))
    changed = v4.replace(line, b"8.8.8.0,8.8.8.255,64500,Changed Org")
    lines = changed.splitlines(keepends=True)
    cut = b"".join(lines[:-5])                    # ends with a line feed, 5 rows short
    assert b"64500" in cut
    until_close = b"HTTP/1.1 200 OK\r\nContent-Type: text/csv\r\nConnection: close\r\n\r\n"
    with RawTLSServer(tmp_path / "certs") as srv:
        a4, c = raw_refresh_conf(tmp_path, srv, v4)
        with harness.Rasnd(tmp_path / "d", datasets=[], config_text=c) as d:
            cases = [
                (until_close + cut, "fin", "close_notify"),
                (until_close + cut, "reset", "cut short"),
                (b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (len(changed) + 10) + changed,
                 "close_notify", "closed"),
            ]
            for body, how, why in cases:
                srv.answer = (body, how)
                r = d.query(["refresh", "8.8.8.8"])
                assert r[0]["status"] == "error" and why in r[0]["error"], (how, r[0])
                assert "previous table" in r[0]["error"] and r[1]["asn"] == 15169, r
                assert a4.read_bytes() == v4 and not (tmp_path / "a4.csv.new").exists()
            # the control: the same cut body ended with close_notify is a complete response
            srv.answer = (until_close + cut, "close_notify")
            r = d.query(["refresh", "8.8.8.8"])
            assert r[0]["status"] == "ok" and len(r[0]["changed"]) == 1, r[0]
            assert r[1]["asn"] == 64500 and a4.read_bytes() == cut
            st = stats(d)
            assert st["reloads"]["refresh"]["download_errors"] == 3 and srv.requests == 4
            assert st["http"]["errors_closed"] == 3, st["http"]


def test_periodic_refresh_runs_on_its_own(tmp_path):
    """refresh = 1: runs start from the timer (no `refresh` request), and the second one is a
    304 for both files."""
    v4 = harness.FIXTURE_DATASETS[0].read_bytes()
    v6 = harness.FIXTURE_DATASETS[1].read_bytes()
    with nginx.Nginx(tmp_path / "ngx", files={"asn-v4.csv": v4, "asn-v6.csv": v6}) as ngx:
        a4, a6, c = _refresh_conf(ngx, tmp_path, v4, v6)
        c = c.replace("refresh = 0\n", "refresh = 1\n")
        with harness.Rasnd(tmp_path / "d", datasets=[], config_text=c) as d:
            st = wait_stat(d, lambda s: s["reloads"]["refresh"]["runs"] >= 2 and
                           not s["reloads"]["refresh"]["running"], timeout=30)
            rf = st["reloads"]["refresh"]
            assert rf["every_seconds"] == 1 and rf["swapped"] >= 1 and rf["not_modified"] >= 2, rf
            log = ngx.wait_log(lambda e: e["uri"].startswith("/files/"), count=4)
            assert [e["status"] for e in log[:2]] == [200, 200] and [e["status"] for e in log[2:4]] == [304, 304]


def test_refresh_by_last_modified_when_the_server_sends_no_etag(tmp_path):
    """A server block with `etag off` sends Last-Modified only: the next fetch is conditional
    on it (If-Modified-Since, no If-None-Match) and gets a 304; a changed file (a later
    Last-Modified) is downloaded."""
    v4 = harness.FIXTURE_DATASETS[0].read_bytes()
    v6 = harness.FIXTURE_DATASETS[1].read_bytes()
    with nginx.Nginx(tmp_path / "ngx", files={"asn-v4.csv": v4, "asn-v6.csv": v6}) as ngx:
        a4, a6, c = _refresh_conf(ngx, tmp_path, v4, v6)
        c = c.replace(ngx.url("h2"), ngx.url("noetag"))
        with harness.Rasnd(tmp_path / "d", datasets=[], config_text=c) as d:
            r = d.query(["refresh"])[0]
            assert r["status"] == "ok" and len(r["changed"]) == 2, r
            first = ngx.wait_log(lambda e: e["block"] == "noetag", count=2)
            assert all(e["etag"] == "" and e["last_modified"] and e["status"] == 200 for e in first), first
            mark = ngx.log_mark()
            r = d.query(["refresh"])[0]
            assert r["status"] == "ok" and len(r["unchanged"]) == 2, r
            log = ngx.wait_log(lambda e: e["block"] == "noetag", count=2, since=mark)
            lm = {e["uri"]: e["last_modified"] for e in first}
            for e in log:
                assert e["status"] == 304 and e["if_none_match"] == "", e
                assert e["if_modified_since"] == lm[e["uri"]], e
            ngx.set_file("asn-v4.csv", v4.replace(b"8.8.8.0,8.8.8.255,15169,", b"8.8.8.0,8.8.8.255,64500,"))
            r = d.query(["refresh", "8.8.8.8"])
            assert r[0]["status"] == "ok" and len(r[0]["changed"]) == 1 and r[1]["asn"] == 64500, r


class RawH2Server(RawTLSServer):
    """The same, speaking just enough HTTP/2 (ALPN h2) to answer each request with a
    content-length header of the test's choosing and DATA of the test's choosing: nginx never
    sends a body that disagrees with its own content-length. self.answer = (declared length,
    body bytes)."""

    def __init__(self, certdir):
        super().__init__(certdir)
        self.ctx.set_alpn_protocols(["h2"])

    @staticmethod
    def frame(ftype, flags, sid, payload):
        return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", sid) + payload

    def _one(self, raw):
        raw.settimeout(10)
        s = self.ctx.wrap_socket(raw, server_side=True)
        buf = b""

        def need(n):
            nonlocal buf
            while len(buf) < n:
                chunk = s.recv(65536)
                if not chunk:
                    raise OSError("closed")
                buf += chunk
            out, buf = buf[:n], buf[n:]
            return out

        need(24)                                            # the client preface
        s.sendall(self.frame(4, 0, 0, b""))                 # our SETTINGS: defaults
        while True:
            hd = need(9)
            length, ftype, flags = int.from_bytes(hd[:3], "big"), hd[3], hd[4]
            sid = int.from_bytes(hd[5:9], "big") & 0x7FFFFFFF
            need(length)
            if ftype == 4 and not flags & 1:
                s.sendall(self.frame(4, 1, 0, b""))         # SETTINGS ACK
            elif ftype == 1:                                # HEADERS: answer the request
                self.requests += 1
                declared, body = self.answer
                v = str(declared).encode()
                # HPACK: :status 200 (static 8); content-length (static 28) literal, not indexed
                block = b"\x88" + b"\x0f\x0d" + bytes([len(v)]) + v
                # DATA in frames of at most 16384 bytes (the default SETTINGS_MAX_FRAME_SIZE),
                # END_STREAM on the last
                parts = [body[i:i + 16384] for i in range(0, len(body), 16384)] or [b""]
                s.sendall(self.frame(1, 4, sid, block) + b"".join(
                    self.frame(0, 1 if i == len(parts) - 1 else 0, sid, p) for i, p in enumerate(parts)))
            elif ftype == 7:                                # GOAWAY
                s.unwrap().close()
                return


def test_http2_content_length_must_match_the_data(tmp_path):
    """Over HTTP/2 a body shorter or longer than its content-length is a protocol error
    (nghttp2 checks DATA against it and resets the stream); a matching one is a response."""
    v4 = harness.FIXTURE_DATASETS[0].read_bytes()
    changed = v4.replace(b"8.8.8.0,8.8.8.255,15169,", b"8.8.8.0,8.8.8.255,64500,")
    lines = changed.splitlines(keepends=True)
    cut = b"".join(lines[:-5])
    with RawH2Server(tmp_path / "certs") as srv:
        a4, c = raw_refresh_conf(tmp_path, srv, v4)
        with harness.Rasnd(tmp_path / "d", datasets=[], config_text=c) as d:
            for declared, body in ((len(changed), cut), (len(cut) - 100, cut)):
                srv.answer = (declared, body)
                r = d.query(["refresh", "8.8.8.8"])
                assert r[0]["status"] == "error" and "PROTOCOL_ERROR" in r[0]["error"], r[0]
                assert r[1]["asn"] == 15169 and a4.read_bytes() == v4
            srv.answer = (len(changed), changed)
            r = d.query(["refresh", "8.8.8.8"])
            assert r[0]["status"] == "ok" and r[1]["asn"] == 64500, r
            h = stats(d)["http"]
            assert h["h2_conns"] >= 1 and h["errors_protocol"] == 2 and srv.requests == 3, h


def test_a_failed_rename_keeps_the_old_validators(tmp_path):
    """When FILE.new cannot be moved over FILE, the new table is served (it loaded) but the
    validators stay the old ones: the next fetch is unconditional and downloads the file
    again, where saved ETags would have made it a 304 for a file never in place."""
    v4 = harness.FIXTURE_DATASETS[0].read_bytes()
    v6 = harness.FIXTURE_DATASETS[1].read_bytes()
    with nginx.Nginx(tmp_path / "ngx", files={"asn-v4.csv": v4, "asn-v6.csv": v6}) as ngx:
        a4, a6, c = _refresh_conf(ngx, tmp_path, v4, v6)
        with harness.Rasnd(tmp_path / "d", datasets=[], config_text=c) as d:
            a4.unlink()
            a4.mkdir()                       # rename(FILE.new, FILE) now fails (EISDIR)
            (a4 / "keep").write_text("x")
            for run in range(2):
                mark = ngx.log_mark()
                r = d.query(["refresh", "8.8.8.8"])
                assert r[0]["status"] == "ok" and r[1]["asn"] == 15169, r
                log = ngx.wait_log(lambda e: e["uri"] == "/files/asn-v4.csv", since=mark)
                assert log[0]["status"] == 200 and log[0]["if_none_match"] == "", (run, log)
            rf = stats(d)["reloads"]["refresh"]
            assert rf["rename_errors"] == 2 and "into place" in rf["last_error"], rf
            assert not (tmp_path / "a4.csv.http").exists()
            assert (tmp_path / "a6.csv.http").exists()   # the other file moved in: its validators kept
