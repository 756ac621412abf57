"""[lookup] order = auto turns Team Cymru on only when the probe, the TXT record of
AS15169 under the AS zone, comes back as a well-formed Cymru AS record. A resolver that
answers NXDOMAIN or NODATA for every outside name (offline and locked-down networks), a
malformed TXT, SERVFAIL or no answer at all keep the table alone, and the log says why.
The resolvers are a real knotd (NXDOMAIN, NODATA, malformed and proper answers from its
zones) and the dnslib stand-in for SERVFAIL and silence, which no real server gives on command."""
import shutil

import pytest

import harness
from test_dns import CYMRU_SAMPLES, Fault, cymru_zones, dns_conf
import knot

pytestmark = [pytest.mark.skipif(harness.missing_rasnd() is not None, reason=harness.missing_rasnd() or ""),
              pytest.mark.skipif(shutil.which("knotd") is None, reason="knotd (package knot) missing")]

SOA = "@ IN SOA ns.test. admin.test. 1 3600 600 86400 300\n@ IN NS ns.test.\n"


def order_line(d):
    """The log line that says what the probe decided (waited for with a deadline)."""
    harness.wait_for(lambda: "lookup order:" in d.stderr_text(), 30, "the probe's verdict in the log")
    return next(ln for ln in d.stderr_text().splitlines() if "lookup order:" in ln)


def lookup_stats(d):
    return d.query(["stats"])[0]["stats"]["lookup"]


def zones_with_as15169(record):
    z = cymru_zones(CYMRU_SAMPLES)
    z["asn.cymru.com"] = SOA + record
    return z


@pytest.mark.parametrize("case,zones,why", [
    # authoritative for com. only: every name under it is NXDOMAIN, as an offline resolver says
    ("nxdomain", {"com": SOA}, "NXDOMAIN"),
    # the name exists, with an address but no TXT
    ("nodata", zones_with_as15169("AS15169 IN A 192.0.2.1\n"), "NODATA"),
    # a TXT that is not Cymru's AS record shape, and one about another AS
    ("malformed", zones_with_as15169('AS15169 IN TXT "hello world"\n'), "malformed"),
    ("other-as", zones_with_as15169('AS15169 IN TXT "13335 | US | arin | 2010-07-14 | CLOUDFLARENET"\n'),
     "malformed"),
])
def test_auto_keeps_cymru_off_without_a_proper_answer(tmp_path, case, zones, why):
    with knot.Knot(tmp_path / "knot", zones, stats=True) as k:
        before = {z: k.zone_queries(z) for z in zones}
        with harness.Rasnd(tmp_path / "d", config_text=dns_conf(k.port, order=None)) as d:
            line = order_line(d)
            assert "lookup order: table alone" in line and "AS15169.asn.cymru.com" in line and why in line, line
            assert lookup_stats(d) == {"auto": 1, "cymru": 0, "ripestat": 0}
            # an address the table lacks is not sent anywhere: the table answers not_found
            r = d.query(["9.9.9.9", "8.8.8.8"])
            assert (r[0]["status"], r[0]["source"]) == ("not_found", "table"), r[0]
            assert r[1]["source"] == "table" and "registry" not in r[1], r[1]
            st = d.query(["stats"])[0]["stats"]
        # the server's own count: the probe, and nothing after it
        after = {z: k.zone_queries(z) for z in zones}
        assert sum(after.values()) - sum(before.values()) == 1, (before, after)
    assert st["upstreams"]["cymru"]["submitted"] == 0, st["upstreams"]["cymru"]


def test_auto_turns_cymru_on_for_the_proper_record(tmp_path):
    zones = cymru_zones(CYMRU_SAMPLES)
    assert "AS15169 IN TXT" in zones["asn.cymru.com"]
    with knot.Knot(tmp_path / "knot", zones) as k, \
            harness.Rasnd(tmp_path / "d", config_text=dns_conf(k.port, order=None)) as d:
        line = order_line(d)
        assert "lookup order: table cymru" in line and "AS15169" in line, line
        assert lookup_stats(d) == {"auto": 1, "cymru": 1, "ripestat": 0}
        r = d.query(["8.8.8.8", "9.9.9.9"])
        assert r[0]["source"] == "table" and r[0]["registry"] == "arin", r[0]
        assert (r[1]["source"], r[1]["asn"]) == ("cymru", 19281), r[1]


@pytest.mark.parametrize("mode,why", [("servfail", "SERVFAIL"), ("drop", "Timeout")])
def test_auto_keeps_cymru_off_on_servfail_and_silence(tmp_path, mode, why):
    f = Fault(tmp_path, "f")
    try:
        f.cmd(f"mode {mode}")
        with harness.Rasnd(tmp_path / "d", config_text=dns_conf(f.port, timeout_ms=100, tries=1, order=None)) as d:
            line = order_line(d)
            assert "lookup order: table alone" in line and why.lower() in line.lower(), line
            assert lookup_stats(d)["cymru"] == 0
        # the stand-in saw the probe itself, a TXT question for the right name
        assert any(e["ev"] == "query" and e["name"].lower() == "as15169.asn.cymru.com." and e["type"] == "TXT"
                   for e in f.events), f.events[-5:]
    finally:
        f.stop()
