"""Domain lookups through the c-ares pool: against a real knotd (A, AAAA, CNAME, TTLs,
NXDOMAIN), and against tests/servers/dnsfault.py for what knotd cannot be told to do (hold
answers until both families were asked, drop, SERVFAIL), with its own event log as proof."""
import json
import re
import shutil
import subprocess
import sys
import threading
import time

import pytest

import harness
from reference import Reference

sys.path.insert(0, str(harness.SRCDIR / "tests" / "servers"))
import knot  # noqa: E402

pytestmark = pytest.mark.skipif(harness.missing_rasnd() is not None,
                                reason=harness.missing_rasnd() or "")
REF = Reference(harness.FIXTURE_DATASETS)

ZONE = """
@       IN SOA ns.test.example. admin.test.example. 1 3600 600 86400 300
@       IN NS  ns.test.example.
ns      IN A   127.0.0.1
www 300 IN A   8.8.8.8
www 300 IN A   1.1.1.1
www 60  IN AAAA 2001:4860::8888
v4only  IN A   8.8.4.4
alias   IN CNAME www
chain   IN CNAME alias
"""


def dns_conf(*ports, timeout_ms=2000, tries=2, order="table"):
    """[dns] for the test's own servers; order "table" unless asked (no probe query in the
    servers' counts), None for the default (auto)."""
    servers = ",".join(f"127.0.0.1:{p}" for p in ports)
    conf = f"[dns]\nservers = {servers}\ntimeout_ms = {timeout_ms}\ntries = {tries}\n"
    return conf + (f"[lookup]\norder = {order}\n" if order else "")


@pytest.mark.skipif(shutil.which("knotd") is None, reason="knotd (package knot) missing")
def test_domain_lookups_against_knotd(tmp_path):
    with knot.Knot(tmp_path / "knot", {"test.example": ZONE}) as k, \
            harness.Rasnd(tmp_path / "d", config_text=dns_conf(k.port)) as d:
        r = d.query(["domain www.test.example", "www.test.example.", "chain.test.example",
                     "v4only.test.example", "nope.test.example", "domain bad..name", "8.8.8.8"])
        www = r[0]
        assert www["status"] == "ok" and www["name"] == "www.test.example" and www["source"] == "dns"
        got = {a["ip"]: a for a in www["addresses"]}
        assert set(got) == {"8.8.8.8", "1.1.1.1", "2001:4860::8888"}
        for ip, a in got.items():
            want = REF.lookup(ip)
            assert a["asn"] == want["asn"] and a["prefix"] == want["prefix"]
            assert a["as_name"] == want["as_name"]
        assert got["8.8.8.8"]["ttl"] == 300 and got["2001:4860::8888"]["ttl"] == 60
        assert r[1]["status"] == "ok" and len(r[1]["addresses"]) == 3   # trailing dot
        assert r[2]["status"] == "ok"
        assert {a["ip"] for a in r[2]["addresses"]} == set(got)       # CNAME chain followed
        assert [a["ip"] for a in r[3]["addresses"]] == ["8.8.4.4"]     # A only: not an error
        assert r[4]["status"] == "not_found" and r[4]["error"] == "NXDOMAIN"
        assert r[5]["status"] == "error"                                  # never sent
        assert r[6]["asn"] == 15169                                       # order kept
        st = d.query(["stats"])[0]["stats"]["dns"]
        # 4 names x (A + AAAA): "www.test.example." joined the calls of "domain www.test.example"
        # (in flight together, one key per family and name); the bad one never left
        assert st["servers"][0]["sent"] == 8
        assert st["servers"][0]["nxdomain"] == 2


class Fault:
    def __init__(self, tmp_path, name):
        self.port = knot.free_udp_port()
        self.events = []
        self.p = subprocess.Popen(["/usr/bin/python3", str(harness.SRCDIR / "tests/servers/dnsfault.py"),
                                   str(self.port)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()
        self.wait_for(lambda e: e["ev"] == "ready")

    def _read(self):
        for line in self.p.stdout:
            self.events.append(json.loads(line))

    def wait_for(self, pred, timeout=30):
        deadline = time.monotonic() + timeout
        while not any(pred(e) for e in list(self.events)):
            assert self.p.poll() is None, "dnsfault exited"
            assert time.monotonic() < deadline, f"no such event; got {self.events[-5:]}"
            time.sleep(0.01)

    def cmd(self, line):
        n = len(self.events)
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        self.wait_for(lambda e: e["ev"] == "command" and e["cmd"] == line)
        return n

    def stop(self):
        self.p.stdin.close()
        self.p.wait(30)


@pytest.fixture
def fault(tmp_path):
    f = Fault(tmp_path, "f")
    yield f
    f.stop()


def test_a_and_aaaa_are_asked_in_parallel(tmp_path, fault):
    """The server answers neither A nor AAAA until it has seen both: a resolver that waited for
    the first answer before asking the second would leave it waiting 5 s (pair-timeout)."""
    fault.cmd("hold-pair")
    with harness.Rasnd(tmp_path / "d", config_text=dns_conf(fault.port)) as d:
        r = d.query(["pair.test"], timeout=30)[0]
        assert r["status"] == "ok"
        assert sorted(a["ip"] for a in r["addresses"]) == ["192.0.2.1", "2001:db8::1"]
    fault.wait_for(lambda e: e.get("name") == "pair.test." and e["ev"] == "answer")
    evs = [e for e in fault.events if e.get("name") == "pair.test."]
    kinds = [e["ev"] for e in evs]
    assert "pair-complete" in kinds and "pair-timeout" not in kinds
    first_answer = kinds.index("answer")
    assert sorted(e["type"] for e in evs[:first_answer] if e["ev"] == "query") == ["A", "AAAA"]


def queries(fault, since=0):
    return [e for e in list(fault.events)[since:] if e["ev"] == "query"]


def queries_reach(fault, n, timeout=10):
    """The server's count of queries, once it is n (its log is read by a thread: wait for it
    with a deadline); any other count after the deadline fails."""
    deadline = time.monotonic() + timeout
    while len(queries(fault)) < n and time.monotonic() < deadline:
        time.sleep(0.01)
    return len(queries(fault))


def test_queries_spread_over_two_resolvers_and_their_channels(tmp_path, fault):
    """20 names (40 queries) over two resolvers with 3 c-ares channels each: each server's own
    count shows the spread, and each resolver's queries go round-robin over its channels
    (per-channel sent counters within one of each other)."""
    other = Fault(tmp_path, "g")
    try:
        conf = dns_conf(fault.port, other.port).replace("[dns]\n", "[dns]\nchannels = 3\n")
        with harness.Rasnd(tmp_path / "d", config_text=conf) as d:
            r = d.query([f"n{i}.wild.test" for i in range(20)])
            assert all(x["status"] == "ok" for x in r), r
            st = d.query(["stats"])[0]["stats"]["dns"]
        sent = [s["sent"] for s in st["servers"]]
        a, b = queries_reach(fault, sent[0]), queries_reach(other, sent[1])
        assert a + b == 40 and a >= 10 and b >= 10      # each server's own count
        assert sent == [a, b]
        ch = st["channel_sent"]
        assert len(ch) == 6, ch                          # resolver i owns channels 3i .. 3i+2
        for i, total in enumerate((a, b)):
            mine = ch[3 * i:3 * i + 3]
            assert sum(mine) == total and max(mine) - min(mine) <= 1, ch
    finally:
        other.stop()


def test_same_name_in_flight_shares_one_call_per_family(tmp_path, fault):
    """20 lookups of one name pipelined while the server is slow: one A and one AAAA query
    reach it (its own count), and each of the 20 gets its own full answer."""
    fault.cmd("delay 300")
    with harness.Rasnd(tmp_path / "d", config_text=dns_conf(fault.port)) as d:
        r = d.query(["pair.test"] * 20)
        assert all(sorted(a["ip"] for a in x["addresses"]) == ["192.0.2.1", "2001:db8::1"] for x in r), r
        u = d.query(["stats"])[0]["stats"]["upstreams"]["dns"]
    assert queries_reach(fault, 2) == 2
    assert sorted(e["type"] for e in queries(fault)) == ["A", "AAAA"]
    assert (u["calls"], u["coalesced"], u["answers"]) == (2, 38, 2), u


def test_a_dropping_resolver_is_failed_over_then_cut_off(tmp_path, fault):
    """Two resolvers, one dropping everything: every lookup is answered (a timed-out try is
    retried on the other resolver), the dropping one's breaker opens after 5 timeouts, and
    from then on it is asked nothing (its own count)."""
    good = Fault(tmp_path, "g")
    try:
        fault.cmd("mode drop")
        conf = dns_conf(fault.port, good.port, timeout_ms=200, tries=1) + "[breaker]\nopen_ms = 60000\n"
        with harness.Rasnd(tmp_path / "d", config_text=conf) as d:
            r = d.query([f"n{i}.wild.test" for i in range(20)], timeout=60)
            assert all(x["status"] == "ok" and len(x["addresses"]) == 2 for x in r), r
            u = d.query(["stats"])[0]["stats"]["upstreams"]["dns"]
            assert [e["state"] for e in u["endpoints"]] == ["open", "closed"], u["endpoints"]
            dropped = u["retries_by"]["timeout"]                 # each dropped try was retried
            assert queries_reach(fault, dropped) == dropped and u["give_ups"] == 0
            assert 5 <= dropped <= 20, dropped
            assert queries_reach(good, 40) == 40            # every family answered there in the end
            # cut off: the next lookups all go to the good one, at once
            t0 = time.monotonic()
            r = d.query([f"m{i}.wild.test" for i in range(20)], timeout=60)
            assert all(x["status"] == "ok" for x in r), r
            print(f"20 lookups with one resolver cut off: {(time.monotonic() - t0) * 1000:.0f} ms")
            assert queries_reach(good, 80) == 80
            assert len(queries(fault)) == dropped
            assert d.query(["stats"])[0]["stats"]["upstreams"]["dns"]["retries"] == u["retries"]
    finally:
        good.stop()


def test_dropped_queries_time_out_and_others_are_served(tmp_path, fault):
    """A dropped lookup is answered with a timeout error, no sooner than the configured
    timeout (timeout_ms per try, tries per query), and while it waits other clients are served:
    20 of their lookups are answered before its reply comes."""
    fault.cmd("mode drop")
    timeout_ms, tries = 1000, 2
    # no upstream retry on top of c-ares' own tries: the error comes after one upstream try
    conf = dns_conf(fault.port, timeout_ms=timeout_ms, tries=tries) + "[retry]\ngive_up_ms = 1\n"
    with harness.Rasnd(tmp_path / "d", config_text=conf) as d:
        result = {}

        def slow():
            t0 = time.monotonic()
            r = harness.query(d.sock, ["pair.test", "8.8.8.8"], timeout=30)
            result["elapsed"] = time.monotonic() - t0
            result["r"] = r

        t = threading.Thread(target=slow)
        t.start()
        # while that query is unanswered, other clients are served
        fault.wait_for(lambda e: e["ev"] == "drop")
        for _ in range(20):
            assert d.query(["1.1.1.1"])[0]["asn"] == 13335
        assert "r" not in result, "the dropped query was answered before the 20 others"
        t.join(30)
        assert not t.is_alive(), "a dropped query hung"
        r = result["r"]
        assert r[0]["status"] == "error" and "timeout" in r[0]["error"], r[0]
        assert result["elapsed"] >= timeout_ms * tries / 1000, result["elapsed"]
        assert r[1]["asn"] == 15169     # the reply after it still comes, in order
        st = d.query(["stats"])[0]["stats"]["dns"]
        assert st["servers"][0]["timeouts"] == 2 and st["in_flight"] == 0
    # the server's log is read by a thread: wait for the count to get there, then check it
    deadline = time.monotonic() + 10
    while sum(1 for e in list(fault.events) if e["ev"] == "drop") < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    drops = sum(1 for e in fault.events if e["ev"] == "drop")
    assert drops == 4   # A and AAAA, each tried twice


def test_servfail_and_refused_are_errors(tmp_path, fault):
    """SERVFAIL is retried with backoff, then answered as an error that says SERVFAIL; REFUSED
    is final (asked once) and says so. (The breaker is kept out of it: failures = 100.)"""
    conf = dns_conf(fault.port, timeout_ms=300, tries=1) + \
        "[retry]\ngive_up_ms = 500\n[breaker]\nfailures = 100\n"
    with harness.Rasnd(tmp_path / "d", config_text=conf) as d:
        fault.cmd("mode servfail")
        r = d.query(["pair.test"])[0]
        assert r["status"] == "error" and "SERVFAIL" in r["error"] and "gave up" in r["error"], r
        u = d.query(["stats"])[0]["stats"]["upstreams"]["dns"]
        tried = u["tries"]
        assert tried >= 4 and tried % 2 == 0, u              # A and AAAA, each retried
        assert u["retries_by"]["servfail"] == tried - 2 and u["give_ups"] == 2
        # the server's own count (read by a thread, so waited for) says the same
        assert queries_reach(fault, tried) == tried
        fault.cmd("mode refused")
        r = d.query(["pair.test"])[0]
        assert r["status"] == "error" and "refused" in r["error"], r
        u = d.query(["stats"])[0]["stats"]["upstreams"]["dns"]
        assert u["tries"] - tried == 2, u                    # not retried
        assert queries_reach(fault, tried + 2) == tried + 2
        fault.cmd("mode normal")
        assert d.query(["pair.test"])[0]["status"] == "ok"


@pytest.mark.skipif(shutil.which("knotd") is None, reason="knotd (package knot) missing")
def test_upstream_tcp_socket_options(tmp_path):
    """The options set on upstream sockets, read back from the kernel two ways: through the
    daemon's getsockopt debug stat and through ss(8)."""
    with knot.Knot(tmp_path / "knot", {"test.example": ZONE}) as k:
        conf = (f"[dns]\nservers = 127.0.0.1:{k.port}\ntcp = yes\n"
                "[tcp]\nsndbuf = 131072\nrcvbuf = 196608\nkeepalive_idle = 45\n"
                "keepalive_interval = 7\nkeepalive_count = 4\n")
        with harness.Rasnd(tmp_path / "d", config_text=conf) as d:
            assert d.query(["www.test.example"])[0]["status"] == "ok"
            socks = d.query(["stats"])[0]["stats"]["dns"]["sockets"]
            tcp = [s for s in socks if s["proto"] == "tcp"]
            assert tcp, socks
            for s in tcp:
                assert s["nodelay"] == 1 and s["keepalive"] == 1
                assert (s["keepidle"], s["keepintvl"], s["keepcnt"]) == (45, 7, 4)
                assert s["sndbuf"] == 2 * 131072 and s["rcvbuf"] == 2 * 196608  # the kernel doubles
            if shutil.which("ss"):
                out = subprocess.run(["ss", "-tnmo", "state", "established", "dst", f"127.0.0.1:{k.port}"],
                                     capture_output=True, text=True, timeout=30).stdout
                assert "tb262144" in out and "rb393216" in out, out
                assert "keepalive" in out, out


def rev4(ip):
    return ".".join(reversed(ip.split(".")))


def rev6(ip):
    import ipaddress as _ip
    h = _ip.IPv6Address(ip).exploded.replace(":", "")
    return ".".join(reversed(h))


def prefix_names(prefix):
    """The names under an origin zone that answer for every address of prefix, as the real
    service does: a wildcard per octet- (nibble-) aligned block when the prefix is at least that
    wide, else one name per address (at most a /24's worth for IPv4, a few for IPv6)."""
    import ipaddress as _ip
    net = _ip.ip_network(prefix)
    unit = 8 if net.version == 4 else 4
    bits = net.max_prefixlen
    rev = rev4 if net.version == 4 else rev6
    aligned = -(-net.prefixlen // unit) * unit
    if aligned == bits:
        return [rev(str(a)) for a in net]
    subs = net.subnets(new_prefix=aligned) if aligned > net.prefixlen else [net]
    return ["*." + ".".join(rev(str(n.network_address)).split(".")[(bits - aligned) // unit:]) if aligned else "*"
            for n in subs]


def cymru_zones(samples):
    """Zones in Team Cymru's shapes from (address, asns, prefix, cc, registry, date) samples
    and AS names from the fixture (the real service's data is not reachable here). A record
    answers for every address of its prefix (wildcards), as the real service does: rasnd asks
    for a /24's (a /48's) first address and serves the whole block from the answer."""
    origin, origin6, asn = [], [], []
    soa = "@ IN SOA ns.cymru.test. admin.cymru.test. 1 3600 600 86400 300\n@ IN NS ns.cymru.test.\n"
    seen, names = set(), set()
    for ip, asns, prefix, cc, reg, date in samples:
        txt = f'"{" ".join(map(str, asns))} | {prefix} | {cc} | {reg} | {date}"'
        for name in prefix_names(prefix):
            if (name, txt) in names:
                continue
            names.add((name, txt))
            (origin6 if ":" in ip else origin).append(f"{name} IN TXT {txt}")
        for a in asns:
            if a not in seen and a in REF.as_name:
                seen.add(a)
                asn.append(f'AS{a} IN TXT "{a} | {cc} | {reg} | {date} | {REF.as_name[a].replace(chr(34), "")}"')
    return {"origin.asn.cymru.com": soa + "\n".join(origin) + "\n",
            "origin6.asn.cymru.com": soa + "\n".join(origin6) + "\n",
            "asn.cymru.com": soa + "\n".join(asn) + "\n"}


CYMRU_SAMPLES = [
    ("8.8.8.8", [15169], "8.8.8.0/24", "US", "arin", "1992-12-01"),
    ("9.9.9.9", [19281], "9.9.9.0/24", "US", "arin", "2017-09-13"),          # not in the fixture
    ("215.0.1.1", [721, 749], "215.0.0.0/16", "US", "arin", "1994-08-01"),  # two origins
    ("2001:4860::8888", [15169], "2001:4860::/32", "US", "arin", "2005-03-14"),
]


@pytest.mark.skipif(shutil.which("knotd") is None, reason="knotd (package knot) missing")
@pytest.mark.parametrize("order", ["table cymru", "cymru table"])
def test_cymru_source(tmp_path, order):
    zones = cymru_zones(CYMRU_SAMPLES)
    zones["origin.asn.cymru.com"] += '5.5.5.5 IN TXT "not | a | record"\n'   # malformed
    with knot.Knot(tmp_path / "knot", zones) as k:
        conf = dns_conf(k.port, order=order)
        with harness.Rasnd(tmp_path / "d", config_text=conf) as d:
            r = d.query(["8.8.8.8 @cymru", "9.9.9.9", "215.0.1.1 @cymru", "2001:4860::8888 @cymru",
                         "5.5.5.5 @cymru", "6.6.6.6 @cymru", "AS15169 @cymru", "8.8.8.8"])
            g = r[0]
            assert (g["source"], g["asn"], g["prefix"], g["cc"], g["registry"], g["allocated"]) == \
                ("cymru", 15169, "8.8.8.0/24", "US", "arin", "1992-12-01")
            assert g["as_name"] == REF.as_name[15169]
            assert g["first_ip"] == "8.8.8.0" and g["last_ip"] == "8.8.8.255"
            # not in the table: Cymru answers it whichever comes first
            assert r[1]["source"] == "cymru" and r[1]["asn"] == 19281
            assert r[2]["origins"] == [721, 749] and r[2]["asn"] == 721
            assert r[3]["asn"] == 15169 and r[3]["prefix"] == "2001:4860::/32"
            assert r[4]["status"] == "error" and "malformed" in r[4]["error"]
            assert r[5]["status"] == "not_found" and r[5]["source"] == "cymru"   # NXDOMAIN
            a = r[6]   # AS numbers too: name, country, registry, allocation date
            assert (a["status"], a["source"], a["asn"], a["cc"], a["registry"], a["allocated"]) == \
                ("ok", "cymru", 15169, "US", "arin", "1992-12-01")
            assert a["as_name"] == REF.as_name[15169]
            x = d.query(["AS64496 @cymru", "AS15169 @cymru", "prefixes AS15169 @cymru"])
            assert x[0]["status"] == "not_found"
            assert x[1]["source"] == "cache"                  # the AS answer is kept too
            assert x[2]["status"] == "error"                  # prefixes: the table's business
            # in the order's first source; with the table first, Cymru enriches its answer
            assert r[7]["source"] == ("table" if order.startswith("table") else "cymru")
            assert (r[7]["asn"], r[7]["cc"], r[7]["registry"], r[7]["allocated"]) == \
                (15169, "US", "arin", "1992-12-01")
            t = d.query(["AS15169", "1.1.1.1 @table"])
            assert t[0]["cc"] == "US" and t[0]["registry"] == "arin"       # AS answers too
            # (cymru first: asked above already, so from the cache)
            assert t[0]["source"] == ("table" if order.startswith("table") else "cache")
            assert "registry" not in t[1]                                   # @table: the table alone
            # Cymru first, no answer there: the table answers
            if order.startswith("cymru"):
                x = d.query(["1.1.1.1"])[0]
                assert x["source"] == "table" and x["asn"] == 13335
            st = d.query(["stats"])[0]["stats"]
            assert st["upstream"]["cymru"] >= 6


def test_cymru_unreachable_is_an_error_not_a_hang(tmp_path):
    # the harness points DNS at a closed loopback port; the upstream layer retries a refused
    # query, so give up soon (before the breaker's 5 failures)
    with harness.Rasnd(tmp_path / "d", config_text="[retry]\ngive_up_ms = 300\n") as d:
        r = d.query(["8.8.8.8 @cymru", "8.8.8.8"])
        assert r[0]["status"] == "error" and r[0]["error"].startswith("cymru")
        assert "refused" in r[0]["error"]
        assert r[1]["asn"] == 15169


def many_in_24():
    return [f"8.8.8.{i}" for i in range(1, 101)]


@pytest.mark.skipif(shutil.which("knotd") is None, reason="knotd (package knot) missing")
def test_cymru_cache_prefix_aware_and_survives_restart(tmp_path):
    zones = cymru_zones([("8.8.8.%d" % i, [15169], "8.8.8.0/24", "US", "arin", "1992-12-01")
                         for i in range(1, 101)])
    k = knot.Knot(tmp_path / "knot", zones).start()
    conf = dns_conf(k.port, order="cymru table")
    d = harness.Rasnd(tmp_path / "d", config_text=conf)
    try:
        with d:
            r = d.query(["8.8.8.1"])      # the first one goes upstream...
            assert r[0]["source"] == "cymru"
            r = d.query(many_in_24())    # ...the 100 in the same /24 do not
            assert all(x["source"] == "cache" and x["asn"] == 15169 for x in r)
            assert [x["prefix"] for x in r] == ["8.8.8.0/24"] * 100
            st = d.query(["stats"])[0]["stats"]
            assert st["upstream"]["cymru"] == 2                  # one origin + one AS name query
            assert st["dns"]["servers"][0]["sent"] == 2
            assert st["cache"]["answers"] == 100
        k.stop()   # the upstream is gone: the answer must come from disk
        with d:
            r = d.query(["8.8.8.77", "8.8.8.77"])
            assert r[0]["source"] == "cache" and r[0]["asn"] == 15169 and r[0]["cc"] == "US"
            assert r[0]["as_name"] == REF.as_name[15169]
            st = d.query(["stats"])[0]["stats"]
            assert st["cache"]["l2_hits"] == 1 and st["cache"]["l1_hits"] >= 1   # L2 warmed L1
            assert st["upstream"]["cymru"] == 0
    finally:
        k.stop()


@pytest.mark.skipif(shutil.which("knotd") is None, reason="knotd (package knot) missing")
def test_cymru_cache_ttl_expiry(tmp_path):
    zones = cymru_zones([("8.8.8.8", [15169], "8.8.8.0/24", "US", "arin", "1992-12-01")])
    with knot.Knot(tmp_path / "knot", zones) as k:
        conf = dns_conf(k.port) + "[cache]\nttl = 1\n"
        with harness.Rasnd(tmp_path / "d", config_text=conf) as d:
            assert d.query(["8.8.8.8 @cymru"])[0]["source"] == "cymru"
            assert d.query(["8.8.8.8 @cymru"])[0]["source"] == "cache"
            # after the TTL the next lookup goes upstream again (polled, with a deadline)
            deadline = time.monotonic() + 10
            while d.query(["8.8.8.8 @cymru"])[0]["source"] == "cache":
                assert time.monotonic() < deadline, "the cached answer never expired"
                time.sleep(0.05)
            st = d.query(["stats"])[0]["stats"]
            # twice an origin and its AS name (the name's entry has the same TTL)
            assert st["upstream"]["cymru"] == 4 == st["dns"]["servers"][0]["sent"]


@pytest.mark.skipif(shutil.which("knotd") is None, reason="knotd (package knot) missing")
def test_corrupt_disk_cache_is_moved_aside(tmp_path):
    """A damaged store at start: logged (that exact line), moved aside, replaced by a fresh one
    that works: an answer fetched from knotd now is on disk after a restart (an L2 hit, with
    knotd gone)."""
    k = knot.Knot(tmp_path / "knot", {"test.example": ZONE}).start()
    d = harness.Rasnd(tmp_path / "d", config_text=dns_conf(k.port))
    cache = d.state_dir / "cache"
    cache.mkdir(parents=True)
    (cache / "CURRENT").write_text("MANIFEST-999999\n")          # points nowhere
    (cache / "000001.sst").write_bytes(b"\x00garbage" * 1000)
    try:
        with d:
            assert d.query(["8.8.8.8"])[0]["asn"] == 15169
            st = d.query(["stats"])[0]["stats"]["cache"]
            assert st["l2_active"] == 1 and st["l2_recoveries"] == 1
            r = d.query(["www.test.example"])[0]
            assert r["status"] == "ok" and r["source"] == "dns"
        aside = [p for p in d.state_dir.iterdir() if p.name.startswith("cache.corrupt-")]
        assert len(aside) == 1
        line = f"cache: moved {cache} to {aside[0]}; starting a fresh store"
        assert re.search(r"^(<\d>)?(cache: )?" + re.escape(line) + "$", d.stderr_text(), re.M), d.stderr_text()
        k.stop()
        with d:   # the fresh store kept it
            r = d.query(["www.test.example"])[0]
            assert r["status"] == "ok" and r["source"] == "cache"
            got = {a["ip"]: a for a in r["addresses"]}
            assert set(got) == {"8.8.8.8", "1.1.1.1", "2001:4860::8888"}
            for ip, a in got.items():
                assert (a["asn"], a["prefix"]) == (REF.lookup(ip)["asn"], REF.lookup(ip)["prefix"])
            st = d.query(["stats"])[0]["stats"]
            assert st["cache"]["l2_hits"] == 1 and st["cache"]["l2_recoveries"] == 0
            assert st["dns"]["servers"][0]["sent"] == 0
    finally:
        k.stop()


@pytest.mark.skipif(shutil.which("knotd") is None, reason="knotd (package knot) missing")
def test_domain_answers_are_cached_with_their_ttl(tmp_path):
    k = knot.Knot(tmp_path / "knot", {"test.example": ZONE}).start()
    d = harness.Rasnd(tmp_path / "d", config_text=dns_conf(k.port) + "[cache]\ndns_ttl_floor = 0\n")
    try:
        with d:
            a = d.query(["www.test.example", "nope.test.example"])
            b = d.query(["www.test.example", "nope.test.example"])
            assert a[0]["source"] == "dns" and b[0]["source"] == "cache"
            assert {x["ip"] for x in a[0]["addresses"]} == {x["ip"] for x in b[0]["addresses"]}
            # the cache keeps the smallest TTL of the answer (60, the AAAA) and counts it down
            assert all(x["ttl"] <= 60 for x in b[0]["addresses"])
            assert b[1]["status"] == "not_found" and b[1]["source"] == "cache"   # negative, cached
            st = d.query(["stats"])[0]["stats"]
            assert st["dns"]["servers"][0]["sent"] == 4      # only the first round went out
        k.stop()
        with d:   # restarted, no DNS server: the disk cache answers
            r = d.query(["www.test.example"])[0]
            assert r["source"] == "cache" and len(r["addresses"]) == 3
            assert d.query(["stats"])[0]["stats"]["cache"]["l2_hits"] == 1
    finally:
        k.stop()


SHORT_ZONE = """
@       IN SOA ns.test.example. admin.test.example. 1 3600 600 86400 300
@       IN NS  ns.test.example.
short 1 IN A   8.8.8.8
"""


def sighup_config(d, text):
    """Rewrite d's config and SIGHUP it; returns once the reload it starts is done (the config
    is applied before that reload starts)."""
    d.config_text = text
    d.prepare()
    before = d.query(["stats"])[0]["stats"]["reloads"]["ok"]
    assert d.sighup()["reloads"]["ok"] == before + 1


@pytest.mark.skipif(shutil.which("knotd") is None, reason="knotd (package knot) missing")
def test_domain_answer_expires_on_its_dns_ttl(tmp_path):
    """A record with TTL 1 and dns_ttl_floor 0: cached, then after its TTL asked again (the
    server's own count); negative_ttl = 0 keeps no negative entry; a SIGHUP that raises the
    floor applies to the next answer at once."""
    with knot.Knot(tmp_path / "knot", {"test.example": SHORT_ZONE}, stats=True) as k:
        conf = dns_conf(k.port) + "[cache]\ndns_ttl_floor = 0\nnegative_ttl = 0\n"
        with harness.Rasnd(tmp_path / "d", config_text=conf) as d:
            base = k.zone_queries("test.example")
            a = d.query(["short.test.example"])[0]
            assert a["source"] == "dns" and a["addresses"][0]["ttl"] == 1
            b = d.query(["short.test.example"])[0]
            asked = k.zone_queries("test.example") - base
            if b["source"] == "cache":
                assert asked == 2                            # A and AAAA, once
            deadline = time.monotonic() + 10
            while d.query(["short.test.example"])[0]["source"] == "cache":
                assert time.monotonic() < deadline, "the cached answer never expired"
                time.sleep(0.05)
            assert k.zone_queries("test.example") - base == asked + 2   # asked again, once
            # not found, negative_ttl 0: not kept, every lookup asks
            n0 = k.zone_queries("test.example")
            r = d.query(["nope.test.example"])[0]
            assert r["status"] == "not_found" and r["source"] == "dns"
            r = d.query(["nope.test.example"])[0]
            assert r["status"] == "not_found" and r["source"] == "dns"
            assert k.zone_queries("test.example") - n0 == 4
            # SIGHUP: a floor of 30 s holds the next answer past its 1 s TTL
            sighup_config(d, conf.replace("dns_ttl_floor = 0", "dns_ttl_floor = 30"))
            deadline = time.monotonic() + 10
            while d.query(["short.test.example"])[0]["source"] == "cache":   # the old entry ends
                assert time.monotonic() < deadline
                time.sleep(0.05)
            n1 = k.zone_queries("test.example")
            t0 = time.monotonic()
            while time.monotonic() - t0 < 1.5:       # past the record's TTL: still the cache
                assert d.query(["short.test.example"])[0]["source"] == "cache"
                time.sleep(0.1)
            assert k.zone_queries("test.example") == n1


def mixed_zone():
    return ZONE + "mixed IN A 8.8.8.8\nmixed IN A 9.9.9.9\nmixed IN AAAA 2001:4860::8888\n"


@pytest.mark.skipif(shutil.which("knotd") is None, reason="knotd (package knot) missing")
def test_domain_addresses_follow_the_lookup_order(tmp_path):
    """With order = table cymru a domain's addresses are answered as address lookups are: the
    table's answer enriched by Cymru (cc, registry, allocated), and Cymru's own for an address
    outside the dataset; with @table, the table alone."""
    zones = cymru_zones(CYMRU_SAMPLES)
    zones["test.example"] = mixed_zone()
    with knot.Knot(tmp_path / "knot", zones) as k, \
            harness.Rasnd(tmp_path / "d", config_text=dns_conf(k.port, order="table cymru")) as d:
        r, again, only = d.query(["mixed.test.example", "mixed.test.example", "domain mixed.test.example @table"])
        assert r["status"] == "ok" and r["source"] == "dns"
        got = {a["ip"]: a for a in r["addresses"]}
        assert set(got) == {"8.8.8.8", "9.9.9.9", "2001:4860::8888"}
        g = got["8.8.8.8"]
        assert (g["source"], g["asn"], g["prefix"], g["as_name"]) == \
            ("table", 15169, REF.lookup("8.8.8.8")["prefix"], REF.as_name[15169])
        assert (g["cc"], g["registry"], g["allocated"]) == ("US", "arin", "1992-12-01")
        q = got["9.9.9.9"]                                   # not in the dataset: Cymru answers
        assert REF.lookup("9.9.9.9") is None
        assert (q["status"], q["source"], q["asn"], q["prefix"], q["registry"]) == \
            ("ok", "cymru", 19281, "9.9.9.0/24", "arin")
        assert got["2001:4860::8888"]["registry"] == "arin" and got["2001:4860::8888"]["ttl"] == 300
        # in flight together: the second shares the first's calls and answers the same
        assert {a["ip"]: a["asn"] for a in again["addresses"]} == {ip: a["asn"] for ip, a in got.items()}
        t = {a["ip"]: a for a in only["addresses"]}
        assert t["8.8.8.8"]["source"] == "table" and "registry" not in t["8.8.8.8"]
        assert t["9.9.9.9"]["status"] == "not_found"
        # the domain answer cached: the addresses still go through the order (Cymru's cache)
        c = d.query(["mixed.test.example"])[0]
        assert c["source"] == "cache"
        cg = {a["ip"]: a for a in c["addresses"]}
        assert cg["9.9.9.9"]["source"] == "cache" and cg["9.9.9.9"]["asn"] == 19281
        assert cg["8.8.8.8"]["source"] == "table" and cg["8.8.8.8"]["registry"] == "arin"
        st = d.query(["stats"])[0]["stats"]
        assert st["upstreams"]["dns"]["calls"] == 2          # A and AAAA of one name
        assert "each address answered" in d.query(["help"])[0]["help"]


def rename_zones(zones, suffix):
    """Cymru's zones under another suffix: origin.SUFFIX, origin6.SUFFIX, SUFFIX."""
    return {"origin." + suffix: zones["origin.asn.cymru.com"],
            "origin6." + suffix: zones["origin6.asn.cymru.com"],
            suffix: zones["asn.cymru.com"]}


@pytest.mark.skipif(shutil.which("knotd") is None, reason="knotd (package knot) missing")
def test_cymru_zones_under_another_suffix(tmp_path):
    """[cymru] origin_zone, origin6_zone and as_zone are used as given: knotd serves the zones
    only under a test suffix (the default names would be REFUSED), and every kind of query is
    answered."""
    with knot.Knot(tmp_path / "knot", rename_zones(cymru_zones(CYMRU_SAMPLES), "cymru.test")) as k:
        conf = dns_conf(k.port) + "[cymru]\norigin_zone = origin.cymru.test\n" \
            "origin6_zone = origin6.cymru.test.\nas_zone = cymru.test\n"
        with harness.Rasnd(tmp_path / "d", config_text=conf) as d:
            v4, v6, asn, none = d.query(["8.8.8.8 @cymru", "2001:4860::8888 @cymru", "AS15169 @cymru",
                                         "6.6.6.6 @cymru"])
            assert (v4["source"], v4["asn"], v4["as_name"], v4["allocated"]) == \
                ("cymru", 15169, REF.as_name[15169], "1992-12-01")
            assert (v6["source"], v6["prefix"], v6["allocated"]) == ("cymru", "2001:4860::/32", "2005-03-14")
            assert (asn["source"], asn["as_name"], asn["registry"]) == ("cymru", REF.as_name[15169], "arin")
            assert none["status"] == "not_found" and none["source"] == "cymru"
            # the block's first address, then the address itself: both NXDOMAIN under the suffix
            assert d.query(["stats"])[0]["stats"]["dns"]["servers"][0]["nxdomain"] == 2


def test_check_config_refuses_bad_cymru_zones_and_ttl_bounds(tmp_path):
    conf = tmp_path / "c.conf"
    for text, line, what in [
            ("[cymru]\n# x\norigin_zone = bad..zone!\n", 3, "origin_zone"),
            ("[cymru]\nas_zone = asn cymru.com\n", 2, "as_zone"),
            ("[cache]\ndns_ttl_floor = 600\n\n[log]\nlevel = info\n[cache]\ndns_ttl_cap = 300\n", 7,
             "dns_ttl_floor (600) is above dns_ttl_cap (300)"),
            ("[cache]\ndns_ttl_cap = 10\n", 2, "dns_ttl_floor (30) is above dns_ttl_cap (10)")]:
        conf.write_text(text)
        p = subprocess.run([harness.rasnd_path(), "--check-config", "-c", str(conf)],
                           capture_output=True, text=True, timeout=30)
        assert p.returncode == 1 and f"{conf}:{line}:" in p.stderr and what in p.stderr, (text, p.stderr)
    conf.write_text("[cache]\ndns_ttl_cap = 300\ndns_ttl_floor = 300\n[cymru]\nas_zone = asn.example.\n")
    p = subprocess.run([harness.rasnd_path(), "--check-config", "-c", str(conf)],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr


@pytest.mark.skipif(shutil.which("knotd") is None, reason="knotd (package knot) missing")
def test_order_auto_turns_cymru_on_only_when_a_resolver_answers(tmp_path, rasnd):
    # the harness's resolver refuses: the table alone
    deadline = time.monotonic() + 10
    while "lookup order:" not in rasnd.stderr_text():
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert "lookup order: table alone" in rasnd.stderr_text()
    r = rasnd.query(["8.8.8.8"])[0]
    assert r["source"] == "table" and "registry" not in r
    # a resolver that answers for Cymru's zones: table, enriched by Cymru
    with knot.Knot(tmp_path / "knot", cymru_zones(CYMRU_SAMPLES)) as k, \
            harness.Rasnd(tmp_path / "d", config_text=dns_conf(k.port, order=None)) as d:
        deadline = time.monotonic() + 10
        while "lookup order:" not in d.stderr_text():
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert "lookup order: table cymru" in d.stderr_text()
        r = d.query(["8.8.8.8", "9.9.9.9"])
        assert r[0]["source"] == "table" and r[0]["registry"] == "arin"
        assert r[1]["source"] == "cymru" and r[1]["asn"] == 19281


def test_pending_upstream_work_per_client_is_bounded(tmp_path, fault):
    """A client that pipelines 400 domain lookups while the DNS server drops everything holds
    at most [server] max_pending of them upstream at once; the rest wait unread, nothing is
    lost, other clients are served, and all 400 are answered once answers flow again."""
    fault.cmd("mode drop")
    # 5 s: long enough that all 100 queries are out (and seen dropped) before the first times
    # out, even on a loaded machine; no retries and no breaker: each times out once
    conf = dns_conf(fault.port, timeout_ms=5000, tries=1) + "[server]\nmax_pending = 50\n" + \
        "[retry]\ngive_up_ms = 1\n[breaker]\nfailures = 100000\n"
    with harness.Rasnd(tmp_path / "d", config_text=conf) as d:
        result = {}
        names = [f"n{i}.wild.test" for i in range(400)]
        t = threading.Thread(target=lambda: result.setdefault("r", harness.query(d.sock, names, timeout=60)))
        t.start()
        deadline = time.monotonic() + 10
        while True:
            st = d.query(["stats"])[0]["stats"]["dns"]
            if st["in_flight"] >= 100:
                break
            assert time.monotonic() < deadline, st
            time.sleep(0.01)
        assert st["in_flight"] == 100           # 50 lookups x (A + AAAA), not 800
        assert d.query(["8.8.8.8"])[0]["asn"] == 15169
        # in_flight counts queries handed to c-ares; wait until the server has read them all,
        # or some would arrive after "mode normal" and be answered instead of dropped
        deadline = time.monotonic() + 10
        while sum(1 for e in list(fault.events) if e["ev"] == "drop") < 100:
            assert time.monotonic() < deadline, "the server never saw the 100 queries"
            time.sleep(0.01)
        fault.cmd("mode normal")
        t.join(60)
        r = result["r"]
        assert [x["query"] for x in r] == names  # every one answered, in order
        errors = sum(1 for x in r if x["status"] == "error")
        assert errors >= 1 and all("timeout" in x["error"] for x in r if x["status"] == "error")
        assert sum(1 for x in r if x["status"] == "ok") + errors == 400
    # the server saw the 100 dropped queries first, then the rest: never more than 100 open
    drops = sum(1 for e in fault.events if e["ev"] == "drop")
    assert drops == 100


@pytest.mark.skipif(shutil.which("knotd") is None or shutil.which("nginx") is None,
                    reason="knotd or nginx missing")
def test_domain_addresses_go_to_ripestat_when_the_order_says(tmp_path):
    """order = table ripestat: a domain's address that the dataset holds is the table's answer
    (nothing asked of RIPEstat for it), one it lacks is RIPEstat's, through nginx over HTTP/2."""
    sys.path.insert(0, str(harness.SRCDIR / "tests" / "servers"))
    import nginx
    assert REF.lookup("9.9.9.9") is None and REF.lookup("8.8.8.8") is not None
    ni = {"asns": ["19281"], "prefix": "9.9.9.0/24"}
    extra = {("network-info", r): json.dumps(nginx.envelope("network-info", r, ni))
             for r in ("9.9.9.0/24", "9.9.9.9")}
    for raw in ("19281", "AS19281", "as19281"):
        ov = {"type": "as", "resource": "19281", "holder": "QUAD9-AS-1 - Quad9, CH", "announced": True,
              "block": {"resource": "1-64495", "desc": "", "name": ""},
              "query_starttime": "2024-01-01T00:00:00", "query_endtime": "2024-01-01T00:00:00"}
        extra[("as-overview", raw)] = json.dumps(nginx.envelope("as-overview", "19281", ov))
    fx = nginx.RipeFixtures(extra=extra)
    with knot.Knot(tmp_path / "knot", {"test.example": mixed_zone()}) as k, \
            nginx.Nginx(tmp_path / "ngx", ripestat=fx) as ngx:
        conf = dns_conf(k.port, order="table ripestat") + \
            f"[ripestat]\nbase_url = {ngx.url('h2')}\n[http]\nca_file = {ngx.ca_file}\n"
        with harness.Rasnd(tmp_path / "d", config_text=conf) as d:
            r = d.query(["mixed.test.example"])[0]
            assert r["status"] == "ok" and r["source"] == "dns", r
            got = {a["ip"]: a for a in r["addresses"]}
            assert set(got) == {"8.8.8.8", "9.9.9.9", "2001:4860::8888"}
            assert (got["8.8.8.8"]["source"], got["8.8.8.8"]["asn"]) == ("table", 15169)
            q = got["9.9.9.9"]
            assert (q["status"], q["source"], q["asn"], q["prefix"], q["as_name"]) == \
                ("ok", "ripestat", 19281, "9.9.9.0/24", "QUAD9-AS-1 - Quad9, CH"), q
            asked = [e["resource"] for e in ngx.wait_log(lambda e: "/network-info/" in e["uri"], count=1)]
            assert asked and all(a.startswith("9.9.9.") for a in asked), asked
            assert d.query(["stats"])[0]["stats"]["upstreams"]["ripestat"]["calls"] >= 1
