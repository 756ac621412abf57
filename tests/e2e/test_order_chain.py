"""[lookup] order with both upstreams in it: a source that has no answer, fails or is cut off by
its circuit breaker hands the lookup on to the next one in the order, and the last one's answer
(or `upstream unavailable`) is the reply. Against a real knotd serving Cymru's zones and a real
nginx serving RIPEstat over HTTP/2 + TLS; which source answered is in each reply, what was
asked is in nginx's access log and in `stats` (DNS queries sent, upstream calls, breakers)."""
import shutil
import subprocess
import sys
import time

import pytest

import harness
from reference import Reference
from test_dns import CYMRU_SAMPLES, cymru_zones, dns_conf

sys.path.insert(0, str(harness.SRCDIR / "tests" / "servers"))
import knot  # noqa: E402
import nginx  # noqa: E402

pytestmark = [pytest.mark.skipif(harness.missing_rasnd() is not None, reason=harness.missing_rasnd() or ""),
              pytest.mark.skipif(shutil.which("knotd") is None or shutil.which("nginx") is None,
                                 reason="knotd or nginx missing")]
REF = Reference(harness.FIXTURE_DATASETS)

# in the table and known to RIPEstat's fixtures, but not in Cymru's zones (CYMRU_SAMPLES)
RIPE_ONLY = ["1.1.1.1", "1.0.4.1", "1.0.16.1", "1.0.64.1"]
# in the table, known to neither upstream (RIPEstat's stand-in answers 404 for it)
TABLE_ONLY = ["1.0.0.1", "1.0.197.1"]


def conf(k, ngx, order, extra=""):
    return (dns_conf(k.port, order=order) +
            f"[ripestat]\nbase_url = {ngx.url('h2')}\n[http]\nca_file = {ngx.ca_file}\n" + extra)


def stats(d):
    return d.query(["stats"])[0]["stats"]


def dns_sent(d):
    return sum(s["sent"] for s in stats(d)["dns"]["servers"])


def ripe_asked(ngx, since=0):
    """The resources of the network-info requests nginx has logged since the mark."""
    return [e["resource"] for e in ngx.log()[since:] if "/network-info/" in e["uri"]]


@pytest.fixture(scope="module", autouse=True)
def check_fixture_addresses():
    for ip in RIPE_ONLY + TABLE_ONLY:
        assert REF.lookup(ip) is not None, ip
    assert not {ip for ip, *_ in CYMRU_SAMPLES} & set(RIPE_ONLY + TABLE_ONLY)


def test_each_source_answers_what_the_ones_before_it_lack(tmp_path):
    """order = cymru ripestat table, all three up: Cymru answers what it has (RIPEstat is not
    asked for it), RIPEstat what Cymru has not announced, the table what neither knows."""
    fx = nginx.RipeFixtures.for_addresses(RIPE_ONLY)
    with knot.Knot(tmp_path / "knot", cymru_zones(CYMRU_SAMPLES)) as k, \
            nginx.Nginx(tmp_path / "ngx", ripestat=fx) as ngx, \
            harness.Rasnd(tmp_path / "d", config_text=conf(k, ngx, "cymru ripestat table")) as d:
        r = d.query(["8.8.8.8", RIPE_ONLY[0], TABLE_ONLY[0], "AS15169", "2001:4860::8888", "8.8.8.8 @table"])
        assert (r[0]["source"], r[0]["asn"], r[0]["registry"]) == ("cymru", 15169, "arin"), r[0]
        want = REF.lookup(RIPE_ONLY[0])
        assert (r[1]["status"], r[1]["source"], r[1]["asn"]) == ("ok", "ripestat", want["asn"]), r[1]
        want = REF.lookup(TABLE_ONLY[0])
        assert (r[2]["status"], r[2]["source"], r[2]["asn"], r[2]["prefix"]) == \
            ("ok", "table", want["asn"], want["prefix"]), r[2]
        assert (r[3]["source"], r[3]["asn"], r[3]["cc"]) == ("cymru", 15169, "US"), r[3]
        assert (r[4]["source"], r[4]["asn"]) == ("cymru", 15169), r[4]
        assert r[5]["source"] == "table" and "registry" not in r[5]
        # RIPEstat was asked for the two addresses Cymru lacked, and for nothing Cymru answered
        for p in ("1.0.0.", "1.1.1."):
            ngx.wait_log(lambda e, p=p: "/network-info/" in e["uri"] and e["resource"].startswith(p))
        asked = ripe_asked(ngx)
        assert not any(a.startswith(("8.8.8.", "2001:4860")) for a in asked), asked
        st = stats(d)
        assert st["upstreams"]["cymru"]["calls"] >= 4 and st["upstreams"]["ripestat"]["calls"] >= 2, st
        # asked again: from the cache, whichever source gave the answer, and nothing goes out
        # (Cymru's cached "not announced" for 1.1.1.1 no longer hides RIPEstat's answer)
        sent = dns_sent(d)
        r = d.query(["8.8.8.8", RIPE_ONLY[0], "2001:4860::8888"])
        assert [(x["source"], x["asn"]) for x in r] == \
            [("cache", 15169), ("cache", REF.lookup(RIPE_ONLY[0])["asn"]), ("cache", 15169)], r
        assert dns_sent(d) == sent
        up = stats(d)["upstreams"]
        assert (up["cymru"]["calls"], up["ripestat"]["calls"]) == \
            (st["upstreams"]["cymru"]["calls"], st["upstreams"]["ripestat"]["calls"])


def test_a_dead_upstream_hands_on_to_the_next_at_once(tmp_path):
    """order = cymru ripestat table: knotd stopped, Cymru's breaker opens and RIPEstat answers,
    with no DNS query sent while it is open; nginx stopped too, the table answers; @cymru and
    @ripestat say `upstream unavailable`."""
    fx = nginx.RipeFixtures.for_addresses(RIPE_ONLY)
    extra = "[breaker]\nfailures = 1\nopen_ms = 600000\n[retry]\ngive_up_ms = 300\n[cache]\nenabled = no\n"
    with knot.Knot(tmp_path / "knot", cymru_zones(CYMRU_SAMPLES)) as k, \
            nginx.Nginx(tmp_path / "ngx", ripestat=fx) as ngx, \
            harness.Rasnd(tmp_path / "d", config_text=conf(k, ngx, "cymru ripestat table", extra)) as d:
        assert d.query(["8.8.8.8"])[0]["source"] == "cymru"
        k.stop()
        # Cymru's call is refused; with one failure its breaker opens and RIPEstat answers
        r = d.query([RIPE_ONLY[1]])[0]
        assert (r["source"], r["asn"]) == ("ripestat", REF.lookup(RIPE_ONLY[1])["asn"]), r
        cy = stats(d)["upstreams"]["cymru"]
        assert cy["endpoints"][0]["state"] == "open", cy
        sent = dns_sent(d)
        r = d.query([RIPE_ONLY[2], f"{RIPE_ONLY[2]} @cymru"])
        assert (r[0]["source"], r[0]["asn"]) == ("ripestat", REF.lookup(RIPE_ONLY[2])["asn"]), r[0]
        assert r[1]["status"] == "error" and r[1]["error"].startswith("upstream unavailable"), r[1]
        assert dns_sent(d) == sent                       # nothing asked of the dead resolver
        assert stats(d)["upstreams"]["cymru"]["unavailable"] >= cy["unavailable"] + 2
        # RIPEstat goes too: its breaker opens on the refused connection, the table answers
        ngx.stop()
        r = d.query([RIPE_ONLY[3]])[0]
        assert (r["status"], r["source"], r["asn"]) == ("ok", "table", REF.lookup(RIPE_ONLY[3])["asn"]), r
        up = stats(d)["upstreams"]
        assert up["ripestat"]["endpoints"][0]["state"] == "open", up["ripestat"]
        h0 = stats(d)["http"]
        r = d.query([TABLE_ONLY[1], f"{TABLE_ONLY[1]} @ripestat", "AS15169"])
        assert (r[0]["source"], r[0]["asn"]) == ("table", REF.lookup(TABLE_ONLY[1])["asn"]), r[0]
        assert r[1]["status"] == "error" and r[1]["error"].startswith("upstream unavailable"), r[1]
        assert (r[2]["source"], r[2]["asn"]) == ("table", 15169), r[2]   # AS numbers follow the order too
        h1 = stats(d)["http"]
        assert (h1["requests"], h1["conns_opened"]) == (h0["requests"], h0["conns_opened"])
        assert dns_sent(d) == sent


def test_without_the_table_the_last_upstream_has_the_last_word(tmp_path):
    """order = ripestat cymru: nginx down, Cymru answers; knotd down too, `upstream
    unavailable` at once (no table in the order to fall back on)."""
    fx = nginx.RipeFixtures.for_addresses(RIPE_ONLY)
    extra = "[breaker]\nfailures = 1\nopen_ms = 600000\n[retry]\ngive_up_ms = 300\n[cache]\nenabled = no\n"
    with knot.Knot(tmp_path / "knot", cymru_zones(CYMRU_SAMPLES)) as k, \
            nginx.Nginx(tmp_path / "ngx", ripestat=fx) as ngx, \
            harness.Rasnd(tmp_path / "d", config_text=conf(k, ngx, "ripestat cymru", extra)) as d:
        # RIPEstat answers what it has; it has nothing for 9.9.9.9 (a 404, not retried), so
        # Cymru, next in the order, answers that
        r = d.query([RIPE_ONLY[0], "9.9.9.9"])
        assert (r[0]["source"], r[0]["asn"]) == ("ripestat", REF.lookup(RIPE_ONLY[0])["asn"]), r[0]
        assert (r[1]["source"], r[1]["asn"]) == ("cymru", 19281), r[1]
        nine = ngx.wait_log(lambda e: e["resource"].startswith("9.9.9."))
        assert [e["status"] for e in nine] == [404], nine
        ngx.stop()
        r = d.query(["2001:4860::8888"])[0]
        assert (r["source"], r["asn"]) == ("cymru", 15169), r
        assert stats(d)["upstreams"]["ripestat"]["endpoints"][0]["state"] == "open"
        k.stop()
        r = d.query(["215.0.1.1"])[0]
        assert r["status"] == "error" and "cymru" in r["error"], r      # Cymru's own failure
        harness.wait_for(lambda: stats(d)["upstreams"]["cymru"]["endpoints"][0]["state"] == "open", 20,
                         "Cymru's breaker open")
        t0 = time.monotonic()
        r = d.query([TABLE_ONLY[0]])[0]
        took = time.monotonic() - t0
        assert r["status"] == "error" and r["error"].startswith("upstream unavailable"), r
        print(f"both open: answered in {took * 1e3:.2f} ms")


def test_without_an_https_client_ripestat_fails_and_hands_on(tmp_path):
    """The HTTPS client is the daemon's (daemon/main.c): one that cannot be made (a CA file
    that does not load) leaves the ripestat source in place answering an error, which the
    order hands on to the table; asked alone it is the reply. (Before, the source had no
    upstream then, and a lookup reached a NULL one.)"""
    cfg = f"[lookup]\norder = ripestat table\n[http]\nca_file = {tmp_path / 'no-such-ca.pem'}\n"
    with harness.Rasnd(tmp_path / "d", config_text=cfg) as d:
        assert "RIPEstat and dataset refresh are off" in d.stderr_text()
        r = d.query([TABLE_ONLY[0], f"{TABLE_ONLY[0]} @ripestat", "AS15169 @ripestat"])
        assert (r[0]["status"], r[0]["source"], r[0]["asn"]) == ("ok", "table", REF.lookup(TABLE_ONLY[0])["asn"]), r[0]
        for x in r[1:]:
            assert x["status"] == "error" and "no HTTPS client" in x["error"], x
        st = stats(d)
        assert st["upstreams"]["ripestat"]["calls"] >= 1 and st["upstream"]["ripestat"] == 0, st["upstream"]


def test_check_config_takes_both_upstreams_and_refuses_repeats(tmp_path):
    c = tmp_path / "c.conf"
    for order, why in [("cymru ripestat table", None), ("table, ripestat, cymru", None),
                       ("ripestat", None), ("cymru table cymru", "listed twice"),
                       ("table dns", "unknown source")]:
        c.write_text(f"[log]\nlevel = info\n[lookup]\norder = {order}\n")
        p = subprocess.run([harness.rasnd_path(), "--check-config", "-c", str(c)],
                           capture_output=True, text=True, timeout=30)
        if why is None:
            assert p.returncode == 0, (order, p.stderr)
        else:
            assert p.returncode == 1 and f"{c}:4:" in p.stderr and why in p.stderr, (order, p.stderr)
