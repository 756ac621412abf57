"""The upstream call path under load and faults (issue 5, DNS side): the batcher coalesces
and flushes, retries back off with jitter, the circuit breaker cuts a dead resolver off and
lets it back in, the queue is bounded. Against a real knotd (counting its own queries with
mod-stats) and tests/servers/dnsfault.py (its own event log, with timestamps, is the proof)."""
import os
import shutil
import threading
import time

import pytest

import harness
from test_dns import Fault, dns_conf   # (it puts tests/servers on sys.path)
import knot  # noqa: E402

pytestmark = pytest.mark.skipif(harness.missing_rasnd() is not None,
                                reason=harness.missing_rasnd() or "")

ORIGIN = "origin.asn.cymru.com"
AS_ZONE = "asn.cymru.com"
SOA = "@ IN SOA ns.cymru.test. admin.cymru.test. 1 3600 600 86400 300\n@ IN NS ns.cymru.test.\n"


def block(i):
    """The i-th test /24 (not in the fixture dataset, not routed anywhere)."""
    return f"45.0.{i}"


def asn_of(i):
    return 64500 + i % 10


def origin_txt(i):
    return f"{asn_of(i)} | {block(i)}.0/24 | NL | ripencc | 2001-01-{1 + i % 28:02d}"


def as_txt(asn):
    return f"{asn} | NL | ripencc | 2001-01-01 | TEST-{asn} Test network {asn}"


def knot_zones(n):
    origin = [f'*.{i}.0.45 IN TXT "{origin_txt(i)}"' for i in range(n)]
    names = [f'AS{a} IN TXT "{as_txt(a)}"' for a in sorted({asn_of(i) for i in range(n)})]
    return {ORIGIN: SOA + "\n".join(origin) + "\n", AS_ZONE: SOA + "\n".join(names) + "\n",
            "origin6.asn.cymru.com": SOA}


def serve_blocks(fault, blocks):
    """Cymru records for these /24s on the dnsfault server (wildcards: every address)."""
    for i in blocks:
        fault.cmd(f"add *.{i}.0.45.{ORIGIN} TXT {origin_txt(i)}")
    for a in sorted({asn_of(i) for i in blocks}):
        fault.cmd(f"add AS{a}.{AS_ZONE} TXT {as_txt(a)}")


def origin_queries(fault, since=0):
    return [e for e in list(fault.events)[since:]
            if e["ev"] == "query" and e.get("name", "").endswith("." + ORIGIN + ".")]


def stats(d):
    return d.query(["stats"])[0]["stats"]


def up(d):
    return stats(d)["upstreams"]["cymru"]


def wait_until(pred, what, timeout=20):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def check_answer(r, i, sources=("cymru", "cache")):
    assert r["status"] == "ok", r
    assert (r["asn"], r["prefix"], r["source"] in sources) == (asn_of(i), f"{block(i)}.0/24", True), r
    assert r["as_name"] == f"TEST-{asn_of(i)} Test network {asn_of(i)}", r


@pytest.mark.skipif(shutil.which("knotd") is None or shutil.which("knotc") is None,
                    reason="knotd/knotc (package knot) missing")
def test_burst_on_few_prefixes_makes_one_call_per_prefix(tmp_path):
    """10,000 pipelined lookups for 100 uncached /24s (100 addresses each, interleaved): at most
    one origin query per /24 reaches the server (its own count), plus one AS name query per
    distinct origin AS (10 here), every reply right and in order."""
    with knot.Knot(tmp_path / "knot", knot_zones(100), stats=True) as k, \
            harness.Rasnd(tmp_path / "d", config_text=dns_conf(k.port)) as d:
        base = k.zone_queries(ORIGIN)      # knot.py's readiness probe asked there
        base_as = k.zone_queries(AS_ZONE)
        lines, want = [], []
        for host in range(1, 101):
            for i in range(100):
                lines.append(f"{block(i)}.{host} @cymru")
                want.append(i)
        r = d.query(lines, timeout=120)
        assert [x["query"] for x in r] == lines
        for x, i in zip(r, want):
            check_answer(x, i)
        served = k.zone_queries(ORIGIN) - base
        names = k.zone_queries(AS_ZONE) - base_as
        u = up(d)
        st = stats(d)
        print(f"origin queries at knotd: {served}; AS queries: {names}; upstream: {u}")
        assert served <= 100
        assert names == 10                                  # one per origin AS: coalesced too
        assert st["upstream"]["cymru"] == served + names    # each one counted by rasnd too
        assert u["calls"] == served + names and u["tries"] == u["calls"] and u["retries"] == 0
        assert u["batches"] >= 2 and u["batched_keys"] == u["calls"]
        assert u["coalesced"] > 0
        assert sum(1 for x in r if x["source"] == "cymru") + sum(1 for x in r if x["source"] == "cache") == 10000
        assert (u["queued"], u["in_flight"], u["waiters"]) == (0, 0, 0)


def test_servfail_three_times_then_answer_backs_off(tmp_path):
    """A resolver that SERVFAILs 3 times, then answers: the client gets the answer; the
    server's own timestamps show the gaps of the policy (100, 200, 400 ms, jitter 20 %)."""
    f = Fault(tmp_path, "f")
    try:
        serve_blocks(f, [7])
        conf = dns_conf(f.port, timeout_ms=2000, tries=1)
        with harness.Rasnd(tmp_path / "d", config_text=conf) as d:
            f.cmd("servfail-next 3")
            since = len(f.events)
            r = d.query([f"{block(7)}.9 @cymru"])[0]
            check_answer(r, 7, ("cymru",))
            u = up(d)
            assert u["retries"] == 3 and u["retries_by"]["servfail"] == 3
            # two calls: the origin (4 tries) and its AS name (1)
            assert u["calls"] == 2 and u["tries"] == 5 and u["give_ups"] == 0
            ep = u["endpoints"][0]
            assert ep["state"] == "closed" and ep["failures"] == 3 and ep["opened"] == 0
        # the server's log is read by a thread: wait for the fourth try to be in it
        qs = wait_until(lambda: len(origin_queries(f, since)) >= 4 and origin_queries(f, since),
                        "the four tries in the server's log", timeout=10)
        assert len(qs) == 4, qs
        gaps = [(b["t"] - a["t"]) * 1000 for a, b in zip(qs, qs[1:])]
        print("gaps between tries (ms):", [round(g, 1) for g in gaps])
        for gap, base in zip(gaps, (100, 200, 400)):
            # never sooner than the jittered floor; 20 ms of slack because these are the
            # server's receive times (scheduling of its thread and of the packets), not rasnd's
            assert gap >= base * 0.8 - 20, gaps
            assert gap < base * 1.2 + 2000, gaps        # a sanity bound only
    finally:
        f.stop()


def test_dead_resolver_opens_the_breaker_then_it_closes_again(tmp_path):
    """Everything dropped: after 5 failures the breaker opens; lookups are then answered at once
    (`upstream unavailable` for @cymru, the table with order "cymru table") and the server sees
    nothing; after open_ms, with the server back, half-open probes succeed and it closes."""
    f = Fault(tmp_path, "f")
    try:
        serve_blocks(f, range(20))
        conf = dns_conf(f.port, timeout_ms=100, tries=1, order="cymru table") + \
            "[breaker]\nfailures = 5\nopen_ms = 1000\nsuccesses = 2\n"
        with harness.Rasnd(tmp_path / "d", config_text=conf) as d:
            f.cmd("mode drop")
            # five lookups of five /24s: one call each, each times out once
            r = d.query([f"{block(i)}.1 @cymru" for i in range(5)], timeout=30)
            assert all(x["status"] == "error" for x in r), r
            ep = up(d)["endpoints"][0]
            assert ep["state"] == "open" and ep["opened"] == 1 and ep["failures"] >= 5, ep
            assert [(t["from"], t["to"]) for t in ep["transitions"]] == [("closed", "open")]
            assert abs(ep["transitions"][0]["at"] - time.time()) < 60      # unix time
            wait_until(lambda: len([e for e in f.events if e["ev"] == "drop"]) >= 5, "the drops")
            seen = len(origin_queries(f))
            every = len([e for e in f.events if e["ev"] == "query"])
            # while open: answered at once, nothing sent; domain lookups too (the resolver's
            # breaker is one, whichever upstream opened it)
            lines = [f"{block(i)}.2 @cymru" for i in range(5, 15)] + ["8.8.8.8", f"{block(15)}.3"] + \
                [f"n{i}.wild.test" for i in range(5)]
            times = []
            for line in lines:
                t0 = time.monotonic()
                x = d.query([line])[0]
                ms = (time.monotonic() - t0) * 1000
                times.append(ms)
                print(f"{line}: {ms:.1f} ms while open")
                if line.endswith("@cymru"):
                    assert x["status"] == "error" and x["error"].startswith("upstream unavailable"), x
                elif line == "8.8.8.8":
                    assert x["source"] == "table" and x["asn"] == 15169, x      # the next source
                elif line.endswith(".wild.test"):
                    assert x["status"] == "error" and x["error"].startswith("upstream unavailable: dns"), x
                else:
                    assert x["status"] == "not_found" and x["source"] == "table", x
            times.sort()
            # each answered at once (a connection and one line each): the median well under
            # 10 ms, the slowest within a loose bound for a loaded machine
            assert times[len(times) // 2] < 10 and times[-1] < 1000, times
            u = up(d)
            assert u["unavailable"] >= 12 and u["endpoints"][0]["state"] == "open"
            assert stats(d)["upstreams"]["dns"]["unavailable"] == 10       # A and AAAA of 5 names
            assert len(origin_queries(f)) == seen, "queries reached the server while the breaker was open"
            assert len([e for e in f.events if e["ev"] == "query"]) == every
            # the server comes back; after open_ms the breaker lets probes through
            f.cmd("mode normal")
            wait_until(lambda: up(d)["endpoints"][0]["state"] == "half-open", "half-open", timeout=10)
            check_answer(d.query([f"{block(16)}.1 @cymru"])[0], 16, ("cymru",))
            check_answer(d.query([f"{block(17)}.1 @cymru"])[0], 17, ("cymru",))
            ep = up(d)["endpoints"][0]
            assert ep["state"] == "closed", ep
            assert [(t["from"], t["to"]) for t in ep["transitions"]] == \
                [("closed", "open"), ("open", "half-open"), ("half-open", "closed")]
            ats = [t["at"] for t in ep["transitions"]]
            assert ats == sorted(ats) and ats[1] - ats[0] >= 0.99       # open for open_ms
    finally:
        f.stop()


def test_queue_bound_answers_busy_and_loses_nothing(tmp_path):
    """[batch] max_queued = 4 with a slow resolver: past 4 distinct keys a lookup is answered
    `busy` at once; every request gets exactly one reply, in order."""
    f = Fault(tmp_path, "f")
    try:
        serve_blocks(f, range(40))
        f.cmd("delay 300")
        conf = dns_conf(f.port, timeout_ms=2000, tries=1) + "[batch]\nmax_queued = 4\n"
        with harness.Rasnd(tmp_path / "d", config_text=conf) as d:
            lines = [f"{block(i)}.{h} @cymru" for h in (1, 2) for i in range(40)]
            r = d.query(lines, timeout=60)
            assert [x["query"] for x in r] == lines
            ok = [x for x in r if x["status"] == "ok"]
            busy = [x for x in r if x["status"] == "error"]
            assert all(x["error"] == "busy: cymru queue full" for x in busy), busy[:3]
            assert len(ok) + len(busy) == len(lines)
            assert len(busy) >= 40 and len(ok) >= 4
            for x in ok:
                check_answer(x, int(x["query"].split(".")[2]))
            u = up(d)
            assert u["busy"] >= len(busy)        # and name lookups of calls in flight, refused too
            assert u["calls"] <= len(ok)
            assert (u["queued"], u["in_flight"], u["waiters"]) == (0, 0, 0)
    finally:
        f.stop()


rss_kib = harness.rss_kib


def test_memory_stays_bounded_through_faults(tmp_path, monkeypatch):
    """A fault run (SERVFAIL, drops, the breaker opening, a queue past its bound: 15,000
    lookups), twice: the first run may grow RSS (allocator arenas, c-ares and libevent
    structures warming up: within 30 MiB), the second, the same work again, must not grow it by
    more than 4 MiB; the upstream holds nothing afterwards."""
    # under AddressSanitizer (a sanitized build), freed memory is held in a quarantine that
    # would show as growth: keep it off (no effect on a normal build)
    monkeypatch.setenv("ASAN_OPTIONS", os.environ.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=0")
    f = Fault(tmp_path, "f")
    try:
        serve_blocks(f, range(50))
        conf = dns_conf(f.port, timeout_ms=100, tries=1) + \
            "[breaker]\nopen_ms = 300\n[retry]\ngive_up_ms = 1000\n[batch]\nmax_queued = 32\n[cache]\nenabled = no\n"
        with harness.Rasnd(tmp_path / "d", config_text=conf) as d:
            r = d.query([f"{block(i)}.1 @cymru" for i in range(20)])
            assert all(x["status"] == "ok" for x in r), r
            rss = [rss_kib(d.proc.pid)]
            for cycle in range(2):
                for mode in ("servfail", "drop", "normal"):
                    f.cmd(f"mode {mode}")
                    if mode == "normal":
                        wait_until(lambda: up(d)["endpoints"][0]["state"] != "open", "the breaker to let probes in")
                    lines = [f"{block(i % 50)}.{h} @cymru" for h in range(1, 101) for i in range(50)]
                    r = d.query(lines, timeout=120)
                    assert [x["query"] for x in r] == lines
                    if mode == "normal":
                        # the breaker may still be open for a moment, the queue full
                        assert all(x["status"] == "ok" or x["error"].startswith(("upstream unavailable", "busy"))
                                   for x in r)
                        assert any(x["status"] == "ok" for x in r)
                wait_until(lambda: (lambda u: (u["queued"], u["in_flight"], u["waiters"]) == (0, 0, 0))(up(d)),
                           "an idle upstream")
                rss.append(rss_kib(d.proc.pid))
            print(f"VmRSS before, after cycle 1, after cycle 2: {rss} KiB; upstream {up(d)}")
            assert rss[1] - rss[0] < 30 * 1024
            assert rss[2] - rss[1] < 4 * 1024, rss
    finally:
        f.stop()
