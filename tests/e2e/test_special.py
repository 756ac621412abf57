"""Special-purpose addresses (lib/special.c: private-use, loopback, link-local, documentation,
multicast, ...) are answered by rasnd itself as not_found with the registry's reason, whatever
[lookup] order or @SOURCE says, and never reach an upstream: a real knotd serving Cymru's
zones counts the queries it answered (mod-stats), a real nginx standing in for RIPEstat logs
every request. Also for the addresses of a domain answer, in the Team Cymru bulk block, over a
dataset row that covers one, and in each of the client's output forms."""
import csv
import io
import json
import os
import shutil
import subprocess
import sys

import pytest

import harness
from test_dns import CYMRU_SAMPLES, cymru_zones, dns_conf

sys.path.insert(0, str(harness.SRCDIR / "tests" / "servers"))
import knot  # noqa: E402
import nginx  # noqa: E402

pytestmark = pytest.mark.skipif(harness.missing_rasnd() is not None, reason=harness.missing_rasnd() or "")
need_knot = pytest.mark.skipif(shutil.which("knotd") is None or shutil.which("knotc") is None,
                               reason="knotd (package knot) missing")

SPECIALS = {
    "10.0.0.1": "private-use (RFC 1918)",
    "192.168.1.1": "private-use (RFC 1918)",
    "::1": "loopback address (RFC 4291)",
    "fe80::1": "link-local unicast (RFC 4291)",
    "2001:db8::1": "documentation (RFC 3849)",
    "224.0.0.1": "multicast (RFC 5771)",
    "::ffff:172.16.5.4": "private-use (RFC 1918)",   # IPv4-mapped: its IPv4 address decides
}
ORIGIN_ZONES = ("origin.asn.cymru.com", "origin6.asn.cymru.com")


def check_special(r, q):
    assert (r["query"], r["type"], r["status"], r["reason"], r["source"]) == \
        (q, "ip", "not_found", SPECIALS[q.split(" @")[0]], "special"), r
    assert "asn" not in r


def stats(d):
    return d.query(["stats"])[0]["stats"]


@need_knot
@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx missing")
def test_special_addresses_never_reach_an_upstream(tmp_path):
    """order = ripestat cymru table, both upstreams up: every special address, asked plainly
    and with @cymru, @ripestat and @table, is answered at once; then an ordinary address on the
    same connection goes to both upstreams, which proves they were reachable and counting."""
    with knot.Knot(tmp_path / "knot", cymru_zones(CYMRU_SAMPLES), stats=True) as k, \
            nginx.Nginx(tmp_path / "ngx", ripestat=nginx.RipeFixtures()) as ngx:
        conf = (dns_conf(k.port, order="ripestat cymru table") +
                f"[ripestat]\nbase_url = {ngx.url('h2')}\n[http]\nca_file = {ngx.ca_file}\n")
        before = {z: k.zone_queries(z) for z in ORIGIN_ZONES}   # knot.py's readiness probe
        with harness.Rasnd(tmp_path / "d", config_text=conf) as d:
            qs = [q + sfx for sfx in ("", " @cymru", " @ripestat", " @table") for q in SPECIALS]
            r = d.query(qs + ["9.9.9.9"])
            for x, q in zip(r, qs):
                check_special(x, q)
            # RIPEstat has no answer for 9.9.9.9 (404): handed on to Cymru, which has one
            assert (r[-1]["status"], r[-1]["source"], r[-1]["asn"]) == ("ok", "cymru", 19281), r[-1]
            ngx.wait_log(lambda e: "/network-info/" in e["uri"])
            st = stats(d)
        asked = [e["resource"] for e in ngx.log() if "/network-info/" in e["uri"]]
        assert asked and all(a.startswith("9.9.9.") for a in asked), asked
        # knotd's own counts: 9.9.9.9's origin query and nothing else under the origin zones
        assert k.zone_queries("origin.asn.cymru.com") == before["origin.asn.cymru.com"] + 1
        assert k.zone_queries("origin6.asn.cymru.com") == before["origin6.asn.cymru.com"]
    assert st["special_addresses"] == len(qs), st
    # RIPEstat was asked once (9.9.9.9); what Cymru sent is 9.9.9.9's (its origin, counted by
    # knotd above, and its AS name), every query of it sent to the one resolver
    assert st["upstreams"]["cymru"]["submitted"] == sum(s["sent"] for s in st["dns"]["servers"]) >= 2, st
    assert st["upstreams"]["ripestat"]["submitted"] == 1, st["upstreams"]["ripestat"]
    assert st["table"]["hits"] + st["table"]["misses"] == 0, st["table"]


DOMAIN_ZONE = """
@       IN SOA ns.special.test. admin.special.test. 1 3600 600 86400 300
@       IN NS  ns.special.test.
ns      IN A   127.0.0.1
mixed   IN A   10.0.0.1
mixed   IN A   8.8.8.8
mixed   IN AAAA fe80::1
mixed   IN AAAA 2001:db8::1
"""


@need_knot
def test_special_wins_in_domains_bulk_and_over_a_dataset_row(tmp_path):
    """A dataset row that covers 10.0.0.0/8 does not make 10.0.0.1 an answer; a domain's
    special addresses are answered the same way inside its reply (Cymru, next in the order,
    is asked only for 8.8.8.8); the Team Cymru bulk block gives them an NA row."""
    ds = tmp_path / "ds.csv"
    ds.write_text("8.8.8.0,8.8.8.255,15169,Google LLC\n10.0.0.0,10.255.255.255,64500,Covers Private\n"
                  "fe80::,febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff,64501,Covers Link Local\n")
    zones = cymru_zones(CYMRU_SAMPLES)
    zones["special.test"] = DOMAIN_ZONE
    with knot.Knot(tmp_path / "knot", zones, stats=True) as k:
        before = {z: k.zone_queries(z) for z in ORIGIN_ZONES}
        with harness.Rasnd(tmp_path / "d", datasets=[ds], config_text=dns_conf(k.port, order="table cymru")) as d:
            r = d.query(["10.0.0.1", "10.0.0.1 @table", "fe80::1", "domain mixed.special.test"])
            check_special(r[0], "10.0.0.1")
            assert (r[1]["status"], r[1]["reason"]) == ("not_found", SPECIALS["10.0.0.1"]), r[1]
            check_special(r[2], "fe80::1")
            dom = r[3]
            assert dom["status"] == "ok", dom
            got = {a["ip"]: a for a in dom["addresses"]}
            assert set(got) == {"10.0.0.1", "8.8.8.8", "fe80::1", "2001:db8::1"}, dom
            for ip in ("10.0.0.1", "fe80::1", "2001:db8::1"):
                check_special(got[ip], ip)
                assert got[ip]["ttl"] == 300
            assert (got["8.8.8.8"]["asn"], got["8.8.8.8"]["registry"]) == (15169, "arin"), got["8.8.8.8"]
            # the bulk block answers from the table: still NA for the special address
            out = harness.exchange(d.sock, b"begin\nverbose\n10.0.0.1\n8.8.8.8\nend\n").decode()
            rows = [ln for ln in out.splitlines() if "|" in ln and not ln.startswith("AS ")]
            assert rows[0].split("|")[0].strip() == "NA" and "64500" not in out, out
            assert rows[1].split("|")[0].strip() == "15169", out
            st = stats(d)
        assert k.zone_queries("origin.asn.cymru.com") == before["origin.asn.cymru.com"] + 1   # 8.8.8.8
        assert k.zone_queries("origin6.asn.cymru.com") == before["origin6.asn.cymru.com"]
    assert st["special_addresses"] == 3 + 3 + 1, st


def rasn(sock, *args):
    e = {k: v for k, v in os.environ.items() if k != "RASN_SOCKET"}
    return subprocess.run([harness.rasn_path(), "-s", sock, *args], stdin=subprocess.DEVNULL,
                          capture_output=True, env=e, timeout=60)


@pytest.mark.skipif(harness.missing_rasn() is not None, reason=harness.missing_rasn() or "")
def test_client_forms_show_the_reason(tmp_path):
    qs = ["10.0.0.1", "2001:db8::1", "8.8.8.8"]
    with harness.Rasnd(tmp_path / "d") as d:
        table = rasn(d.sock, *qs)
        as_csv = rasn(d.sock, "--csv", *qs)
        cymru = rasn(d.sock, "--cymru", *qs)
        as_json = rasn(d.sock, "--json", *qs)
    for p in (table, as_csv, cymru, as_json):
        assert p.returncode == 1, p   # some query not found
    lines = table.stdout.decode().splitlines()
    assert "(not found: private-use (RFC 1918))" in lines[1] and lines[1].startswith("10.0.0.1 "), lines
    assert "(not found: documentation (RFC 3849))" in lines[2], lines
    assert "Google" in lines[3], lines
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout.decode())))
    assert [(x["ip"], x["status"], x["error"]) for x in rows] == [
        ("10.0.0.1", "not_found", "private-use (RFC 1918)"),
        ("2001:db8::1", "not_found", "documentation (RFC 3849)"),
        ("8.8.8.8", "ok", "")], rows
    crow = [[c.strip() for c in ln.split("|")] for ln in cymru.stdout.decode().splitlines()[1:]]
    assert crow[0][:3] == ["NA", "10.0.0.1", "NA"] and crow[0][-1] == "private-use (RFC 1918)", crow
    assert crow[1][-1] == "documentation (RFC 3849)" and crow[2][0] == "15169", crow
    js = [json.loads(x) for x in as_json.stdout.decode().splitlines()]
    assert [x.get("reason") for x in js] == ["private-use (RFC 1918)", "documentation (RFC 3849)", None], js
