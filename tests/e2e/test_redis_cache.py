"""The shared cache level ([cache] redis): two rasnd with state directories of their own and
one real redis-server (a user process on a Unix socket, persistence off). What the first asked
the upstreams (a real knotd serving Cymru's zones, a real nginx serving RIPEstat over HTTP/2 +
TLS), the second answers from Redis: proven by knotd's own query counts (mod-stats), nginx's
access log, Redis's own command counts (INFO commandstats) and `stats`. Then failures: Redis
stopped and back (the level's breaker), values planted with redis-cli (garbage, another
version), a password required, a client gone while its Redis lookup is pending."""
import itertools
import json
import shutil
import struct
import subprocess
import sys
import zlib

import pytest

import harness
import test_metrics
from test_dns import CYMRU_SAMPLES, ZONE, cymru_zones, dns_conf

sys.path.insert(0, str(harness.SRCDIR / "tests" / "servers"))
import knot  # noqa: E402
import nginx  # noqa: E402
import redis  # noqa: E402

pytestmark = [pytest.mark.skipif(harness.missing_rasnd() is not None, reason=harness.missing_rasnd() or ""),
              pytest.mark.skipif(shutil.which("knotd") is None or shutil.which("nginx") is None or
                                 shutil.which("redis-server") is None,
                                 reason="knotd, nginx or redis-server missing")]

RIPE_ONLY = ["1.1.1.1", "1.0.4.1"]         # not in Cymru's zones: RIPEstat answers them
NOWHERE = "1.0.0.1"                        # not in Cymru's zones: asked of Cymru alone, not announced
CYMRU = ["8.8.8.8", "9.9.9.9", "215.0.1.1", "2001:4860::8888"]
ZONES = ("origin.asn.cymru.com", "origin6.asn.cymru.com", "asn.cymru.com")


def conf(k, ngx, rd, order="cymru ripestat", extra="", redis_extra=""):
    return (dns_conf(k.port, order=order) +
            f"[ripestat]\nbase_url = {ngx.url('h2')}\n[http]\nca_file = {ngx.ca_file}\n" +
            f"[cache]\nredis = {rd.sock}\nredis_timeout = 5\n{redis_extra}" + extra)


def stats(d):
    return d.query(["stats"])[0]["stats"]


def rstats(d):
    return stats(d)["cache"]["redis"]


def knot_queries(k):
    return sum(k.zone_queries(z) for z in ZONES)


def ripe_asked(ngx):
    return [e["resource"] for e in ngx.log() if "/network-info/" in e["uri"]]


def pkey(prefix="rasn:", family=4, addr=bytes(), plen=24):
    """The Redis key of a prefix entry: prefix, schema, then lib/cache's key bytes in hex."""
    raw = bytes([ord("P"), family]) + bytes(16 - len(addr)) + addr + bytes([plen])
    return prefix + "v1:" + raw.hex()


def value(key_hex, payload, version=1, flags=0, expires_ms=None):
    """A value in lib/rediscodec.h's layout (CRC-32 and all), of any version."""
    import time
    key = bytes.fromhex(key_hex.split("v1:", 1)[1])
    exp = expires_ms or int(time.time() * 1000) + 3600_000
    b = b"rc" + bytes([version, 1, flags, 0]) + struct.pack(">HIQ", len(key), len(payload), exp) + key + payload
    return b + struct.pack(">I", zlib.crc32(b))


def fresh(net):
    """Addresses of net (two octets) that no zone announces, asked of Cymru alone: each one a
    miss in memory and on disk (a negative answer is kept for the address only), so each one
    asks Redis when its circuit lets it."""
    for i in itertools.count():
        yield f"{net}.{i // 250 % 256}.{i % 250 + 1} @cymru"


def lookup_while_open(d, addrs):
    """One lookup made while the Redis circuit stays open from before it to after it: the state
    is "open" on both sides and no new opening came between (a half-open probe that failed
    would have counted one). Tries fresh addresses until such a window is seen, so that a slow
    machine, where open_ms may run out between two requests, only makes it try again.
    Returns (reply, rstats before, rstats after)."""
    for addr in addrs:
        before = rstats(d)
        r = d.query([addr])[0]
        after = rstats(d)
        if before["state"] == after["state"] == "open" and after["opened"] == before["opened"]:
            return r, before, after
    raise AssertionError("the circuit was never open across one lookup")


def wait_writes_landed(d, rd, since=0):
    """Every SET the daemon sent (since its writes counter was at since) has been run by Redis,
    by Redis's own count (which starts at 0 with each redis-server)."""
    harness.wait_for(lambda: rd.calls("set") >= rstats(d)["writes"] - since > 0, 30,
                     "Redis to run the daemon's writes")


@pytest.fixture
def servers(tmp_path):
    fx = nginx.RipeFixtures.for_addresses(RIPE_ONLY)
    zones = dict(cymru_zones(CYMRU_SAMPLES), **{"test.example": ZONE})
    with knot.Knot(tmp_path / "knot", zones, stats=True) as k, \
            nginx.Nginx(tmp_path / "ngx", ripestat=fx) as ngx, \
            redis.Redis(tmp_path / "redis") as rd:
        yield k, ngx, rd


def test_second_daemon_answers_from_redis_with_no_upstream_calls(tmp_path, servers):
    k, ngx, rd = servers
    asked = CYMRU + RIPE_ONLY + ["AS15169", NOWHERE + " @cymru"]
    with harness.Rasnd(tmp_path / "d1", config_text=conf(k, ngx, rd)) as d1:
        first = d1.query(asked)
        assert [r.get("source") for r in first] == ["cymru"] * 4 + ["ripestat"] * 2 + ["cymru"] * 2, first
        assert first[-1]["status"] == "not_found", first[-1]
        st1 = rstats(d1)
        assert st1["state"] == "closed" and st1["misses"] + st1["hits"] == st1["lookups"] > 0, st1
        print(st1)
        # a domain lookup is kept locally but not shared
        assert d1.query(["domain www.test.example"])[0]["status"] == "ok"
        wait_writes_landed(d1, rd)
    assert rd.keys("rasn:v1:*"), "nothing written through"
    assert rd.keys("rasn:v1:" + b"Nwww.test.example".hex()) == []
    assert rd.keys("rasn:v1:" + b"Nas15169.asn.cymru.com".hex()) != []
    # the negative answer is shared with its own TTL ([cache] negative_ttl, 300 s), the
    # positive ones with theirs (ttl, 21600 s): Redis's own count of what is left
    neg_ttl = int(rd.cli("PTTL", pkey(addr=bytes([1, 0, 0, 1]), plen=32)).stdout)
    pos_ttl = int(rd.cli("PTTL", pkey(addr=bytes([8, 8, 8, 0]))).stdout)
    assert 0 < neg_ttl <= 300_000 and 300_000 < pos_ttl <= 21600_000, (neg_ttl, pos_ttl)
    q0, mgets0 = knot_queries(k), rd.calls("mget")
    ngx.wait_log(lambda e: "/network-info/" in e["uri"], count=len(RIPE_ONLY))
    ripe0 = ripe_asked(ngx)
    with harness.Rasnd(tmp_path / "d2", config_text=conf(k, ngx, rd)) as d2:
        second = d2.query(asked)
        for a, b in zip(first, second):
            assert b["source"] == "cache", b
            assert (b["status"], b.get("asn"), b.get("prefix"), b.get("as_name")) == \
                (a["status"], a.get("asn"), a.get("prefix"), a.get("as_name")), (a, b)
        st = stats(d2)
        r = st["cache"]["redis"]
        assert r["hits"] == len(asked) and r["misses"] == 0 and r["garbage"] == 0, r
        # one pipelined round trip for the burst (the lines came in one write)
        assert 1 <= r["rounds"] <= 2 and rd.calls("mget") - mgets0 == r["rounds"], r
        assert r["rounds_answered"] == r["rounds"] and r["round_seconds"] > 0, r
        assert st["upstreams"]["cymru"]["calls"] == 0 and st["upstreams"]["ripestat"]["calls"] == 0, st["upstreams"]
        assert sum(s["sent"] for s in st["dns"]["servers"]) == 0
        # asked again: memory answers now (the Redis hit was stored locally), Redis is not asked
        d2.query(asked)
        assert rstats(d2)["lookups"] == r["lookups"]
        # the same counters in the Prometheus text, which passes the strict checker
        data = harness.exchange(d2.sock, b"stats\nstats prometheus\n")
        js, _, text = data.decode().partition("\n")
        fams = test_metrics.parse_strict(text)
        test_metrics.check_covers(json.loads(js)["stats"], fams)
        samples = test_metrics.samples_of(fams)
        assert samples[("rasnd_cache_redis_hits_total", ())] == len(asked)
        assert samples[("rasnd_cache_redis_state", (("state", "closed"),))] == 1
    assert knot_queries(k) == q0              # knotd's own count: not one query from d2
    assert ripe_asked(ngx) == ripe0           # nginx's own log: not one request from d2


def test_over_tcp(tmp_path, servers):
    """The same sharing with Redis on a loopback TCP port (HOST:PORT) instead of a socket."""
    k, ngx, _ = servers
    with redis.Redis(tmp_path / "redis-tcp", tcp=True) as rd:
        c = conf(k, ngx, rd).replace(f"redis = {rd.sock}", f"redis = 127.0.0.1:{rd.port}")
        with harness.Rasnd(tmp_path / "d1", config_text=c) as d1:
            assert d1.query(["8.8.8.8", "AS15169"])[0]["source"] == "cymru"
            wait_writes_landed(d1, rd)
        q0 = knot_queries(k)
        with harness.Rasnd(tmp_path / "d2", config_text=c) as d2:
            assert [r["source"] for r in d2.query(["8.8.8.8", "AS15169"])] == ["cache", "cache"]
            assert rstats(d2)["hits"] == 2
        assert knot_queries(k) == q0


def test_breaker_opens_when_redis_stops_and_closes_when_it_is_back(tmp_path, servers):
    k, ngx, rd = servers
    extra = "[breaker]\nopen_ms = 1000\n"
    with harness.Rasnd(tmp_path / "d", config_text=conf(k, ngx, rd, extra=extra)) as d:
        assert d.query(["215.0.1.1"])[0]["source"] == "cymru"
        harness.wait_for(lambda: rstats(d)["connected"] == 1, 30, "the connection to Redis")
        rd.stop()
        # Redis gone: the lookup still gets its answer from the upstream, the circuit opens
        r = d.query(["215.0.2.1"])[0]
        assert (r["status"], r["source"], r["asn"]) == ("ok", "cymru", 721), r
        st = rstats(d)
        assert st["state"] in ("open", "half-open") and st["opened"] >= 1 and st["errors"] >= 1, st
        # lookups go on without waiting for Redis: answered, nothing sent to it while open
        addrs = fresh("102.66")
        r, before, after = lookup_while_open(d, itertools.islice(addrs, 10000))
        assert (r["status"], r["source"]) == ("not_found", "cymru") and after["rounds"] == before["rounds"], \
            (r, before, after)
        assert after["skipped"] == before["skipped"] + 1 and after["errors"] == before["errors"], (before, after)
        assert "failing" in d.stderr_text()
        # Redis back on the same socket: a probe after open_ms finds it and the circuit closes
        rd.start()
        w0 = rstats(d)["writes"]

        def closed():
            d.query([next(addrs)])
            return rstats(d)["state"] == "closed"
        harness.wait_for(closed, 30, "the Redis circuit to close")
        st = rstats(d)
        assert st["connects"] >= 2 and st["opened"] >= 1, st
        assert "answers again" in d.stderr_text()
        d.query([next(addrs)])                # written through again once closed
        wait_writes_landed(d, rd, since=w0)


def test_a_slow_redis_costs_one_timeout_then_nothing_until_it_answers(tmp_path, servers):
    """Redis paused (CLIENT PAUSE) longer than redis_timeout: the burst's one MGET times out,
    its lookups are answered by the upstream, the connection is dropped and the circuit opens;
    lookups made while it is open send nothing to Redis; once Redis answers again a probe
    closes it."""
    k, ngx, rd = servers
    extra = "[breaker]\nopen_ms = 1000\n"
    with harness.Rasnd(tmp_path / "d", config_text=conf(k, ngx, rd, extra=extra,
                                                        redis_extra="redis_timeout = 0.5\n")) as d:
        assert d.query(["215.0.1.1"])[0]["source"] == "cymru"
        harness.wait_for(lambda: rstats(d)["connected"] == 1, 30, "the connection to Redis")
        rd.cli("CLIENT", "PAUSE", "4000")
        before = rstats(d)
        r = d.query(["215.0.2.1", "215.0.3.1", "215.0.4.1"])
        assert [(x["source"], x["asn"]) for x in r] == [("cymru", 721)] * 3, r
        st = rstats(d)
        assert st["timeouts"] >= before["timeouts"] + 1 and st["opened"] >= before["opened"] + 1, st
        assert st["skipped"] >= before["skipped"] + 3, st
        # open: nothing more is sent to the paused Redis
        addrs = fresh("102.67")
        r, before, after = lookup_while_open(d, itertools.islice(addrs, 10000))
        assert (r["status"], r["source"]) == ("not_found", "cymru") and after["rounds"] == before["rounds"], \
            (r, before, after)
        assert after["skipped"] == before["skipped"] + 1, (before, after)

        def closed():
            d.query([next(addrs)])
            return rstats(d)["state"] == "closed"
        harness.wait_for(closed, 60, "the Redis circuit to close after the pause")
        assert rstats(d)["connects"] >= 2              # the slow connection was dropped


def test_garbage_and_other_version_values_are_ignored_and_counted(tmp_path, servers):
    k, ngx, rd = servers
    garbage_key = pkey(addr=bytes([8, 8, 8, 0]))
    version_key = pkey(addr=bytes([9, 9, 9, 0]))
    host_key = pkey(addr=bytes([215, 0, 1, 1]), plen=32)
    rd.cli("SET", garbage_key, stdin=b"\x00\xffnot a rasn value")
    rd.cli("SET", version_key, stdin=value(version_key, b"x" * 40, version=2))
    # well formed, right version, but under another key than the one it names
    rd.cli("SET", host_key, stdin=value(pkey(addr=bytes([215, 0, 9, 0])), b"x" * 40))
    q0 = knot_queries(k)
    with harness.Rasnd(tmp_path / "d", config_text=conf(k, ngx, rd)) as d:
        r = d.query(["8.8.8.8", "9.9.9.9", "215.0.1.1"])
        assert [(x["status"], x["source"]) for x in r] == [("ok", "cymru")] * 3, r
        assert [x["asn"] for x in r] == [15169, 19281, 721], r
        st = rstats(d)
        assert (st["garbage"], st["version_mismatch"], st["hits"]) == (2, 1, 0), st
        assert knot_queries(k) > q0           # asked upstream instead
        wait_writes_landed(d, rd)
    # the upstream's answers replaced the planted values
    for key in (garbage_key, version_key):
        assert rd.get(key)[:3] == b"rc\x01", key


def test_password_right_and_wrong(tmp_path, servers):
    k, ngx, _ = servers
    with redis.Redis(tmp_path / "redis-auth", password="s3cret pass") as rd:
        good = tmp_path / "good.pw"
        good.write_text("s3cret pass\n")
        bad = tmp_path / "bad.pw"
        bad.write_text("wrong\n")
        with harness.Rasnd(tmp_path / "d1", config_text=conf(k, ngx, rd, redis_extra=f"redis_password_file = {good}\n")) as d1:
            assert d1.query(["8.8.8.8"])[0]["source"] == "cymru"
            wait_writes_landed(d1, rd)
            assert rstats(d1)["auth_failures"] == 0
            assert ("readable by every user" in d1.stderr_text()) == bool(good.stat().st_mode & 0o004)
        good.chmod(0o600)
        with harness.Rasnd(tmp_path / "d2", config_text=conf(k, ngx, rd, redis_extra=f"redis_password_file = {good}\n")) as d2:
            assert d2.query(["8.8.8.8"])[0]["source"] == "cache"
            assert rstats(d2)["hits"] == 1
        with harness.Rasnd(tmp_path / "d3", config_text=conf(k, ngx, rd, redis_extra=f"redis_password_file = {bad}\n")) as d3:
            r = d3.query(["8.8.8.8", "9.9.9.9"])
            assert [(x["status"], x["source"]) for x in r] == [("ok", "cymru")] * 2, r
            harness.wait_for(lambda: "refused the password" in d3.stderr_text(), 30, "the AUTH log line")
            st = rstats(d3)
            assert st["auth_failures"] >= 1 and st["hits"] == 0 and st["opened"] >= 1, st
        # without a password file at all: NOAUTH, logged when the circuit opens
        with harness.Rasnd(tmp_path / "d4", config_text=conf(k, ngx, rd)) as d4:
            assert d4.query(["8.8.8.8"])[0]["source"] == "cymru"
            harness.wait_for(lambda: "NOAUTH" in d4.stderr_text(), 30, "the NOAUTH log line")


def test_client_gone_while_its_redis_lookup_is_pending(tmp_path, servers):
    """Redis paused (CLIENT PAUSE): the lookups' MGET is in flight when the client leaves;
    when Redis answers, the daemon finishes them into the closed connection and serves on."""
    k, ngx, rd = servers
    with harness.Rasnd(tmp_path / "d", config_text=conf(k, ngx, rd)) as d:
        assert d.query(["8.8.8.8"])[0]["source"] == "cymru"      # connected, 8.8.8.0/24 in Redis
        wait_writes_landed(d, rd)
        rd.cli("CLIENT", "PAUSE", "1500")
        before = rstats(d)
        import socket
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(d.sock)
        # Cymru's addresses (both families) and AS names, RIPEstat's addresses: each source's
        # Redis lookup is pending when the client goes
        s.sendall(b"9.9.9.9\n215.0.7.1\n2001:4860::1\nAS721 @cymru\n1.0.4.1 @ripestat\n")
        harness.wait_for(lambda: rstats(d)["lookups"] >= before["lookups"] + 5 and rstats(d)["rounds"] > before["rounds"],
                         30, "the MGET to be sent")
        s.close()
        # Redis answers after the pause; the lookups end (upstream), the daemon serves on
        harness.wait_for(lambda: rstats(d)["misses"] >= before["misses"] + 5, 30, "Redis's answer to the paused MGET")
        harness.wait_for(lambda: stats(d)["upstreams"]["cymru"]["waiters"] == 0 and
                         stats(d)["upstreams"]["ripestat"]["waiters"] == 0, 30, "the upstream calls to end")
        r = d.query(["9.9.9.9", "AS721 @cymru", "1.0.4.1 @ripestat"])
        assert [x.get("source") for x in r] == ["cache"] * 3, r


def test_flood_of_redis_lookups_from_a_client_that_does_not_read(tmp_path, servers):
    """Thousands of distinct unannounced addresses (each a local miss, a Redis lookup, then a
    DNS query) from a client that never reads: the daemon bounds the work ([server]
    max_pending), keeps serving others, and ends it all when the client leaves."""
    k, ngx, rd = servers
    import socket
    with harness.Rasnd(tmp_path / "d", config_text=conf(k, ngx, rd, order="cymru",
                                                        extra="[server]\nmax_pending = 256\n")) as d:
        never = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        never.connect(d.sock)
        never.setblocking(False)
        payload = b"".join(b"102.64.%d.%d\n" % (i // 250, i % 250 + 1) for i in range(60000))
        sent = 0
        try:
            while sent < len(payload):
                sent += never.send(payload[sent:sent + 65536])
        except BlockingIOError:
            pass
        harness.wait_for(lambda: rstats(d)["lookups"] >= 256, 30, "the flood's lookups to reach Redis")
        # another client is served meanwhile, and the flood's work in flight stays bounded
        r = d.query(["8.8.8.8", "stats"])
        assert r[0]["source"] in ("cymru", "cache") and r[0]["asn"] == 15169, r[0]
        st = r[1]["stats"]
        assert st["upstreams"]["cymru"]["waiters"] <= 256 + 1, st["upstreams"]["cymru"]
        never.close()

        def settled():
            st = stats(d)
            rs = st["cache"]["redis"]
            return st["upstreams"]["cymru"]["waiters"] == 0 and rs["lookups"] == rs["hits"] + rs["misses"] + rs["skipped"]
        # every Redis lookup answered (hits, misses or skipped), every upstream call ended
        harness.wait_for(settled, 60, "the flood's lookups to end")
        assert d.query(["215.0.1.1"])[0]["asn"] == 721


def test_check_config_names_bad_redis_values(tmp_path):
    c = tmp_path / "c.conf"
    for line, why in [("redis = localhost:6379", "numeric IP"), ("redis = 127.0.0.1", "PORT"),
                      ("redis = 127.0.0.1:0", "PORT"), ("redis = relative/sock", "not HOST:PORT"),
                      ("redis_timeout = 0", "above 0"), ("redis_timeout = 61", "at most 60"),
                      ("redis_prefix = a b", "spaces"), ("redis = [::1]:6379", None),
                      ("redis = /run/redis/redis.sock", None), ("redis_timeout = 0.05", None)]:
        c.write_text(f"[log]\nlevel = info\n[cache]\n{line}\n")
        p = subprocess.run([harness.rasnd_path(), "--check-config", "-c", str(c)],
                           capture_output=True, text=True, timeout=30)
        if why is None:
            assert p.returncode == 0, (line, p.stderr)
        else:
            assert p.returncode == 1 and f"{c}:4:" in p.stderr and why in p.stderr, (line, p.stderr)


def test_unreadable_password_file_stops_the_start(tmp_path):
    missing = tmp_path / "nope.pw"
    sock = tmp_path / "r.sock"
    c = tmp_path / "c.conf"
    c.write_text(f"[sysctl]\napply = no\n[cache]\nredis = /tmp/nowhere.sock\nredis_password_file = {missing}\n")
    p = subprocess.run([harness.rasnd_path(), "-c", str(c), "-s", str(sock), "-S", str(tmp_path / "st"),
                        "-d", str(harness.FIXTURE_DATASETS[0])], capture_output=True, text=True, timeout=60)
    assert p.returncode != 0 and f"redis_password_file {missing}: No such file or directory" in p.stderr, p.stderr
