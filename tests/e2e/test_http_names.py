"""HTTPS origins by name: resolved on the loop through the daemon's DNS pool (c-ares, daemon/dns.c
rasnd_dns_resolve) against a real knotd on loopback, whose own query count proves the lookups;
a name the resolver does not know fails with the resolver's reason and reaches no server. (An
address needs no DNS: every other HTTPS test uses 127.0.0.1 with the harness's dead resolver.)"""
import shutil

import pytest

import harness
from test_http import check_ip, conf, distinct_24s, stats  # (it puts tests/servers on sys.path)
import knot  # noqa: E402
import nginx  # noqa: E402

pytestmark = [pytest.mark.skipif(harness.missing_rasnd() is not None, reason=harness.missing_rasnd() or ""),
              pytest.mark.skipif(shutil.which("knotd") is None, reason="knotd (package knot) missing")]

ZONE = ("@ IN SOA ns.rasn.test. admin.rasn.test. 1 3600 600 86400 300\n@ IN NS ns.rasn.test.\n"
        "ripe IN A 127.0.0.1\n")


def dns(k):
    return f"[dns]\nservers = 127.0.0.1:{k.port}\n"


def test_an_origin_name_is_resolved_through_the_dns_pool(tmp_path):
    """base_url https://ripe.rasn.test:PORT (the certificate names it): knotd answers the
    lookup (its own count goes up by the A and AAAA queries), the answer comes over that
    connection, and the next lookup reuses it without asking DNS again."""
    ips = distinct_24s(2, skip=960)
    ripe = nginx.RipeFixtures.for_addresses(ips)
    with knot.Knot(tmp_path / "knot", {"rasn.test": ZONE}, stats=True) as k, \
            nginx.Nginx(tmp_path / "ngx", ripestat=ripe) as ngx:
        before = k.zone_queries("rasn.test")
        with harness.Rasnd(tmp_path / "d", config_text=conf(ngx, base=ngx.url("h2", "ripe.rasn.test"),
                                                            extra=dns(k))) as d:
            check_ip(d.query([f"{ips[0]} @ripestat"])[0], ips[0])
            asked = k.zone_queries("rasn.test") - before
            assert 1 <= asked <= 2, asked                 # A (and AAAA), once
            check_ip(d.query([f"{ips[1]} @ripestat"])[0], ips[1])
            assert k.zone_queries("rasn.test") - before == asked
            h = stats(d)["http"]
            # every request (a lookup makes several) on the one connection
            assert h["conns_opened"] == 1 and h["tls_full"] == 1, h
            assert h["requests"] == h["responses"] == h["conns_reused"] + 1 >= 2, h
            assert [o["origin"] for o in h["origins"]] == [f"ripe.rasn.test:{ngx.port['h2']}"]
            assert len(ngx.log("h2")) == h["requests"]


def test_a_name_the_resolver_does_not_know_fails_to_connect(tmp_path):
    """NXDOMAIN from knotd: the request fails as a connect error naming the name and the
    resolver's reason; nginx sees no request."""
    ips = distinct_24s(1, skip=962)
    ripe = nginx.RipeFixtures.for_addresses(ips)
    with knot.Knot(tmp_path / "knot", {"rasn.test": ZONE}, stats=True) as k, \
            nginx.Nginx(tmp_path / "ngx", ripestat=ripe) as ngx:
        before = k.zone_queries("rasn.test")
        with harness.Rasnd(tmp_path / "d", config_text=conf(ngx, base=ngx.url("h2", "nope.rasn.test"),
                                                            extra=dns(k))) as d:
            r = d.query([f"{ips[0]} @ripestat"])[0]
            assert r["status"] == "error" and "cannot resolve nope.rasn.test" in r["error"], r
            assert k.zone_queries("rasn.test") > before
            h = stats(d)["http"]
            # each try (the upstream layer retries) failed the same way, before any TLS
            assert h["errors_connect"] == h["requests"] >= 1, h
            assert h["conns_opened"] == h["closed_error"] and h["tls_full"] == h["tls_failed"] == 0, h
            assert ngx.log("h2") == []


def test_a_client_leaving_and_a_shutdown_while_the_name_is_being_resolved(tmp_path):
    """A resolver that drops every query: the RIPEstat lookup waits on the origin's name; its
    client leaves without the answer, then the daemon stops with the name lookup still pending
    (the HTTPS client goes first, c-ares then ends the lookup into nothing): a clean exit, and
    under ASan no leak and no use after free."""
    from test_dns import Fault
    from test_hostile import clients, send_and_leave, stop_clean
    ips = distinct_24s(1, skip=964)
    fault = Fault(tmp_path, "f")
    try:
        fault.cmd("mode drop")
        with nginx.Nginx(tmp_path / "ngx", ripestat=nginx.RipeFixtures.for_addresses(ips)) as ngx:
            c = conf(ngx, base=ngx.url("h2", "ripe.rasn.test"),
                     extra=f"[dns]\nservers = 127.0.0.1:{fault.port}\ntimeout_ms = 60000\ntries = 1\n")
            d = harness.Rasnd(tmp_path / "d", config_text=c).start()
            try:
                send_and_leave(d, ["8.8.8.8", f"{ips[0]} @ripestat"])
                fault.wait_for(lambda e: e["ev"] == "drop" and e.get("name", "").startswith("ripe.rasn.test"))
                harness.wait_for(lambda: clients(d) == 1, 30, "the client gone")
                conns = [x for o in stats(d)["http"]["origins"] for x in o["conns"]]
                assert [x["state"] for x in conns] == ["resolving"], conns
            finally:
                stop_clean(d)
            assert ngx.log("h2") == []
    finally:
        fault.stop()
