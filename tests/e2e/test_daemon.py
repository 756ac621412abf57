"""End-to-end tests of rasnd: the real daemon on the committed fixture, over its real socket.
Expected answers come from reference.py (an independent Python implementation), never from
rasnd itself."""
import ipaddress
import json
import os
import random
import select
import shutil
import signal
import socket
import stat
import subprocess
import threading
import time

import pytest

import harness
from reference import Reference

pytestmark = pytest.mark.skipif(harness.missing_rasnd() is not None,
                                reason=harness.missing_rasnd() or "")

REF = Reference(harness.FIXTURE_DATASETS)


def ip_str(fam, v):
    return str(ipaddress.IPv4Address(v) if fam == 4 else ipaddress.IPv6Address(v))


def probe_addresses():
    """Both edges of every effective range, the address just outside each (gaps), and a few
    inside, for both families."""
    out = []
    rnd = random.Random(7)
    for fam in (4, 6):
        segs = REF.segs[fam]
        top = (1 << (32 if fam == 4 else 128)) - 1
        for first, last, _, _ in segs:
            out += [ip_str(fam, first), ip_str(fam, last), ip_str(fam, rnd.randint(first, last))]
            if first > 0:
                out.append(ip_str(fam, first - 1))
            if last < top:
                out.append(ip_str(fam, last + 1))
    return out


def check_ip_reply(q, r):
    want = REF.lookup(q)
    assert r["query"] == q
    assert r["type"] == "ip"
    if want is None:
        assert r["status"] == "not_found", r
        return
    assert r["status"] == "ok", r
    for k, v in want.items():
        assert r[k] == v, (q, k, r[k], v)
    assert r["source"] == "table"


def test_every_range_edge_and_gap(rasnd):
    qs = probe_addresses()
    assert len(qs) > 15000
    replies = rasnd.query(qs)
    assert len(replies) == len(qs)
    for q, r in zip(qs, replies):
        check_ip_reply(q, r)
    # The fixture holds what the issue asked for; make sure the probes met it.
    by_q = dict(zip(qs, replies))
    assert by_q["215.0.0.0"]["asn"] == 721 and by_q["214.255.255.255"]["asn"] == 749
    assert any(r.get("asn", 0) > 65535 for r in replies)           # 32-bit ASNs
    assert any("," in r.get("as_name", "") for r in replies)      # quoted names
    assert any(r["status"] == "not_found" for r in replies)       # gaps


def test_known_answers(rasnd):
    r = rasnd.query(["8.8.8.8", "::ffff:8.8.8.8", "1.1.1.1", "ip 8.8.8.8", "  8.8.8.8\t"])
    assert r[0] == {"query": "8.8.8.8", "type": "ip", "status": "ok", "ip": "8.8.8.8",
                    "asn": 15169, "as_name": "Google LLC", "prefix": "8.8.8.0/24",
                    "first_ip": "8.8.8.0", "last_ip": "8.8.8.255", "source": "table"}
    assert r[1]["ip"] == "8.8.8.8" and r[1]["asn"] == 15169
    assert r[2]["as_name"] == "Cloudflare, Inc."
    assert r[3]["asn"] == 15169 and r[4]["asn"] == 15169


def test_as_prefixes_org(rasnd):
    asns = sorted(REF.by_as, key=lambda a: -len(REF.by_as[a]))[:20] + [15169, 13335, 4294967294]
    asns = [a for a in dict.fromkeys(asns) if a in REF.by_as]
    lines = []
    for a in asns:
        lines += [f"AS{a}", f"prefixes AS{a}"]
    lines += ["as 64496", "prefixes 64496", "AS4294967296"]
    replies = rasnd.query(lines)
    for i, a in enumerate(asns):
        info, pfx = replies[2 * i], replies[2 * i + 1]
        want = REF.prefixes(a)
        assert info["status"] == "ok" and info["asn"] == a
        assert info["as_name"] == REF.as_name[a]
        v4 = sum(1 for f, _, _ in REF.by_as[a] if f == 4)
        assert info["ranges_v4"] == v4
        assert info["ranges_v6"] == len(REF.by_as[a]) - v4
        assert info["prefixes_v4"] + info["prefixes_v6"] == len(want)
        assert info["addresses_v4"] == sum(l - f + 1 for fam, f, l in REF.by_as[a] if fam == 4)
        assert pfx["prefixes"] == want, a
        assert pfx["count"] == len(want)
    assert replies[-3]["status"] == "not_found" and replies[-3]["asn"] == 64496
    assert replies[-2]["status"] == "not_found" and replies[-2]["count"] == 0
    assert replies[-1]["status"] == "error"
    for text in ["google", "TELECOM", "ltda", "zzzz-no-such"]:
        r = rasnd.query([f"org {text}"])[0]
        want = REF.org(text)
        assert r["count"] == len(want), text
        assert [m["asn"] for m in r["matches"]] == want[:100]
        assert r["truncated"] == (len(want) > 100)
        assert r["status"] == ("ok" if want else "not_found")


def test_100k_pipelined_in_one_write(rasnd):
    rnd = random.Random(1)
    qs = [str(ipaddress.IPv4Address(rnd.getrandbits(32))) for _ in range(100000)]
    payload = "".join(q + "\n" for q in qs).encode()
    s = socket.socket(socket.AF_UNIX)
    s.connect(rasnd.sock)
    got = bytearray()

    def reader():
        while True:
            d = s.recv(1 << 20)
            if not d:
                return
            got.extend(d)

    t = threading.Thread(target=reader)
    t.start()
    s.sendall(payload)           # one write of all 100,000 lines
    s.shutdown(socket.SHUT_WR)
    t.join(120)
    assert not t.is_alive()
    s.close()
    lines = got.decode().split("\n")
    assert lines[-1] == ""
    replies = [json.loads(l) for l in lines[:-1]]
    assert len(replies) == 100000
    for q, r in zip(qs, replies):   # in request order
        assert r["query"] == q
    for q, r in list(zip(qs, replies))[::97]:
        check_ip_reply(q, r)


BAD = [
    (b"garbage here", "not an address"),
    (b"", "empty"),
    (b"x" * 5000, "too long"),
    (b"\x00\x01\x02\xff\xfe", None),
    (b"8.8.8.8\x00", None),
    (b"1.2.3", None),
    (b"01.2.3.4", None),
    (b"1.2.3.4.5", None),
    (b"AS99999999999", None),
    (b"org", None),
    (b"end", None),
    (b"\xc3\x28 invalid utf8", None),
]


def test_bad_lines_each_get_an_error_and_the_connection_goes_on(rasnd):
    lines = []
    for bad, _ in BAD:
        lines += [bad, b"8.8.8.8"]
    raw = rasnd.query_raw(lines)
    assert len(raw) == len(lines)
    for i, (bad, words) in enumerate(BAD):
        err, ok = json.loads(raw[2 * i]), json.loads(raw[2 * i + 1])
        assert err["status"] == "error", (bad, err)
        assert err["error"]
        if words:
            assert words in err["error"], err
        assert ok["status"] == "ok" and ok["asn"] == 15169
    # an over-long line arriving in pieces, then more requests on the same connection
    data = harness.exchange(rasnd.sock, [b"y" * 1000] * 10 + [b"\n1.1.1.1\n"])
    out = [json.loads(l) for l in data.decode().splitlines()]
    assert len(out) == 2
    assert out[0]["status"] == "error" and "too long" in out[0]["error"]
    assert out[1]["asn"] == 13335


def test_crlf_and_last_line_without_newline(rasnd):
    data = harness.exchange(rasnd.sock, b"8.8.8.8\r\n1.1.1.1")
    out = [json.loads(l) for l in data.decode().splitlines()]
    assert [o["query"] for o in out] == ["8.8.8.8", "1.1.1.1"]


def fill_until_paused(sock_path, s, payload: bytes) -> int:
    """Write payload on the non-blocking socket s, reading nothing, until rasnd stops reading
    s because its unread replies passed the high-water mark: the read_pauses counter rises.
    Returns the bytes written (all of payload if rasnd never paused)."""
    before = harness.stats(sock_path)["connections"]["read_pauses"]
    view = memoryview(payload)
    sent = 0
    deadline = time.monotonic() + 60
    while sent < len(view):
        try:
            sent += s.send(view[sent:sent + (1 << 16)])
            continue
        except BlockingIOError:
            pass
        # the socket is full: either rasnd paused us or it has not caught up yet
        if harness.stats(sock_path)["connections"]["read_pauses"] > before:
            return sent
        assert time.monotonic() < deadline, "rasnd neither read nor paused a client for 60 s"
        select.select([], [s], [], 0.05)
    return sent


def test_misbehaving_clients_do_not_disturb_200_others(rasnd):
    """200 clients connected at once, sending together (a barrier), next to one client that
    never reads its replies and one that hangs up while its replies are being written."""
    n = 200
    never = socket.socket(socket.AF_UNIX)
    never.connect(rasnd.sock)
    never.setblocking(False)
    flood = b"8.8.8.8\n" * 2000000
    assert fill_until_paused(rasnd.sock, never, flood) < len(flood), "the non-reader was never paused"
    quitter = socket.socket(socket.AF_UNIX)
    quitter.connect(rasnd.sock)
    quitter.setblocking(False)
    assert fill_until_paused(rasnd.sock, quitter, b"1.1.1.1\n" * 2000000) > 0
    before = harness.stats(rasnd.sock)["connections"]

    barrier = threading.Barrier(n + 2)   # the clients, the quitter, this thread
    errors = []
    quitter_read = [0]

    def client(k):
        try:
            rnd = random.Random(k)
            qs = [str(ipaddress.IPv4Address(rnd.getrandbits(32))) for _ in range(200)]
            with socket.socket(socket.AF_UNIX) as s:
                s.connect(rasnd.sock)
                barrier.wait(120)
                rs = harness.query_on(s, qs, timeout=120, to_eof=True)
            assert [r["query"] for r in rs] == qs
            for q, r in zip(qs[:20], rs[:20]):
                check_ip_reply(q, r)
        except Exception as e:  # collected: assertions in threads do not fail the test
            errors.append(f"client {k}: {e!r}")

    def quit_mid_reply():
        # rasnd holds megabytes of replies for it: read a little, then hang up while rasnd
        # is still writing them, as the other clients are being served
        try:
            barrier.wait(120)
            quitter.setblocking(True)
            quitter.settimeout(60)
            while quitter_read[0] < 256 * 1024:
                quitter_read[0] += len(quitter.recv(1 << 16))
        except Exception as e:
            errors.append(f"quitter: {e!r}")
        finally:
            quitter.close()

    threads = [threading.Thread(target=client, args=(k,)) for k in range(n)]
    threads.append(threading.Thread(target=quit_mid_reply))
    for t in threads:
        t.start()
    try:
        # every client holds a connection before any sends: this stats call is one more
        peak = harness.wait_for(
            lambda: (lambda c: c if c >= n + 3 else 0)(harness.stats(rasnd.sock)["connections"]["current"]),
            120, f"{n} clients connected at once")
    except Exception:
        barrier.abort()
        raise
    finally:
        if not barrier.broken:
            barrier.wait(120)
        for t in threads:
            t.join(180)
    assert not errors, errors[:5]
    assert peak >= n + 3
    st = harness.stats(rasnd.sock)["connections"]
    assert quitter_read[0] >= 256 * 1024
    # the quitter's hang-up hit rasnd in the middle of writing its replies
    assert st["write_errors"] > before["write_errors"], st
    assert st["accepted"] - before["accepted"] >= n
    assert st["peak"] >= n + 3 and st["current"] < n   # rasnd's own high-water mark
    never.close()


def test_backpressure_bounds_memory(rasnd):
    """A client that writes 2,000,000 requests and reads nothing: the daemon stops reading it,
    so its memory stays bounded instead of holding ~400 MB of replies."""
    def rss_kb():
        with open(f"/proc/{rasnd.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    before = rss_kb()
    s = socket.socket(socket.AF_UNIX)
    s.connect(rasnd.sock)
    s.setblocking(False)
    payload = b"8.8.8.8\n" * 2000000
    sent = fill_until_paused(rasnd.sock, s, payload)
    assert sent < len(payload), "the daemon kept reading a client that reads nothing"
    grown = rss_kb() - before
    assert grown < 64 * 1024, f"RSS grew by {grown} kB"
    # and the client is still served once it reads: a line cut by the last write is a
    # request too (it ends at EOF), so ceil(sent / 8) replies
    s.setblocking(True)
    s.settimeout(60)
    s.shutdown(socket.SHUT_WR)
    n = 0
    while True:
        d = s.recv(1 << 20)
        if not d:
            break
        n += d.count(b"\n")
    s.close()
    assert n == -(-sent // 8)


def test_reload_swaps_and_a_broken_file_keeps_the_old_table(tmp_path):
    v4 = tmp_path / "v4.csv"
    v4.write_text("8.8.8.0,8.8.8.255,15169,Google LLC\n")
    d = harness.Rasnd(tmp_path / "d", datasets=[v4])
    with d:
        assert d.query(["1.1.1.1"])[0]["status"] == "not_found"
        shutil.copy(harness.FIXTURES / "asn-v4.csv", v4)
        r = d.query(["reload", "1.1.1.1"])
        assert r[0]["status"] == "ok", r[0]
        assert r[0]["ranges_v4"] == len(REF.segs[4])
        assert r[1]["asn"] == 13335          # the request after reload sees the new table
        shutil.copy(harness.FIXTURES / "broken.csv", v4)
        r = d.query(["reload", "1.1.1.1", "8.8.8.8"])
        assert r[0]["status"] == "error"
        assert "v4.csv:3:" in r[0]["error"] and "previous table" in r[0]["error"]
        assert r[1]["asn"] == 13335 and r[2]["asn"] == 15169
        v4.unlink()
        r = d.query(["reload"])[0]
        assert r["status"] == "error" and "No such file" in r["error"]
        # SIGHUP does the same as reload
        shutil.copy(harness.FIXTURES / "asn-v4.csv", v4)
        v4.write_text("1.1.1.0,1.1.1.255,64512,Changed\n")
        before = harness.stats(d.sock)["reloads"]["ok"]
        assert d.sighup()["reloads"]["ok"] == before + 1
        assert d.query(["1.1.1.1"])[0]["asn"] == 64512
        st = d.query(["stats"])[0]["stats"]
        assert st["reloads"]["failed"] == 2


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_with_replies_in_flight_loses_none(tmp_path, sig):
    """All 200,000 requests read and answered into rasnd's output, none of the replies read
    by the client yet, then the signal: every reply still arrives, and rasnd exits 0."""
    # the high-water mark above the ~40 MB of replies, so rasnd reads every request before
    # the client reads anything (by default it would stop reading at 4 MB)
    d = harness.Rasnd(tmp_path / "d", config_text="[server]\noutput_high_water = 268435456\n")
    d.start()
    qs = [f"{i % 223 + 1}.{i % 251}.{i % 199}.{i % 256}" for i in range(200000)]
    lines0 = harness.stats(d.sock)["lines"]
    s = socket.socket(socket.AF_UNIX)
    s.connect(d.sock)
    s.sendall("".join(q + "\n" for q in qs).encode())
    st = harness.wait_for(lambda: (lambda x: x if x["lines"] >= lines0 + len(qs) else None)(harness.stats(d.sock)),
                          60, "rasnd reading all requests")
    # in flight: every reply is at least 150 bytes, and at most a socket buffer's worth of
    # them has left rasnd (none has been read)
    assert st["bytes_out"] < len(qs) * 150 // 2, st["bytes_out"]
    d.proc.send_signal(sig)
    got = bytearray()
    s.settimeout(60)
    while True:
        x = s.recv(1 << 20)
        if not x:
            break
        got.extend(x)
    s.close()
    assert d.proc.wait(30) == 0
    lines = got.decode().split("\n")
    assert lines[-1] == ""
    lines = lines[:-1]
    assert len(lines) == len(qs)
    assert [json.loads(l)["query"] for l in lines[::1000]] == qs[::1000]
    assert not os.path.exists(d.sock), "socket file left behind"
    assert f"signal {int(sig)}: shutting down" in d.stderr_text()
    d.stop()


def big_dataset(path, n):
    """n adjacent /24s from 1.0.0.0, neighbours in different ASes: a table that takes
    rasnd a noticeable while to build. Returns the AS of row i."""
    asn = lambda i: 64512 + i % 1000
    with open(path, "w") as f:
        for i in range(n):
            a, b, c = 1 + (i >> 16), (i >> 8) & 255, i & 255
            f.write(f"{a}.{b}.{c}.0,{a}.{b}.{c}.255,{asn(i)},Org {i % 5000}\n")
    return asn


def readable(s):
    return bool(select.select([s], [], [], 0)[0])


def test_reload_runs_off_the_loop(tmp_path):
    """While connection A's reload builds a table of 400,000 rows, connection B is answered
    (stats says the reload is running, a ping gets its pong) before A's reply arrives: an
    ordering, not a timing. A reload on the loop could answer B only after A."""
    n = 400000
    v4 = tmp_path / "big.csv"
    asn = big_dataset(v4, n)
    with harness.Rasnd(tmp_path / "d", datasets=[v4]) as d:
        a = socket.socket(socket.AF_UNIX)
        a.connect(d.sock)
        b = socket.socket(socket.AF_UNIX)
        b.connect(d.sock)
        shown = 0
        for attempt in range(5):
            a.sendall(b"reload\n")
            while True:
                st = harness.query_on(b, ["stats"])[0]["stats"]
                if st["reloads"]["running"]:
                    pong, hit = harness.query_on(b, ["ping", "1.0.1.7"])
                    if not readable(a):       # B answered twice, A still waiting
                        assert pong["status"] == "ok" and hit["asn"] == asn(1)
                        shown += 1
                    break
                if readable(a):               # done before B asked: try again
                    break
            r = json.loads(_line(a))
            assert r["status"] == "ok" and r["ranges_v4"] == n, r
            if shown:
                break
        assert shown, "B was never answered while A's reload ran"
        a.close()
        b.close()


def _line(s, timeout=60):
    """One reply line from s (blocking)."""
    s.settimeout(timeout)
    buf = bytearray()
    while not buf.endswith(b"\n"):
        x = s.recv(1)
        if not x:
            raise ConnectionError(f"closed after {bytes(buf)!r}")
        buf += x
    return bytes(buf).decode()


def test_sighup_with_a_broken_file_keeps_the_old_table(tmp_path):
    v4 = tmp_path / "v4.csv"
    shutil.copy(harness.FIXTURES / "asn-v4.csv", v4)
    with harness.Rasnd(tmp_path / "d", datasets=[v4]) as d:
        before = harness.stats(d.sock)["reloads"]
        assert before["last_error"] == ""
        shutil.copy(harness.FIXTURES / "broken.csv", v4)
        st = d.sighup()
        assert st["reloads"]["failed"] == before["failed"] + 1
        assert st["reloads"]["ok"] == before["ok"]
        assert "v4.csv:3:" in st["reloads"]["last_error"], st["reloads"]
        assert st["table"]["ranges_v4"] == len(REF.segs[4])     # the old table, still whole
        r = d.query(["1.1.1.1", "8.8.8.8"])
        assert r[0]["asn"] == 13335 and r[1]["asn"] == 15169
        assert "v4.csv:3:" in d.stderr_text()


def test_cymru_bulk_block(rasnd):
    lines = ["begin", "verbose", "8.8.8.8", "10.0.0.1", "", "AS15169", "bogus", "end", "ping"]
    raw = rasnd.query_raw(lines, expect=8)
    assert raw[0].startswith("Bulk mode; rasnd [")
    assert raw[1].split("|")[0].strip() == "AS" and "BGP Prefix" in raw[1]
    cols = [c.strip() for c in raw[2].split("|")]
    want = REF.lookup("8.8.8.8")
    assert cols == ["15169", "8.8.8.8", want["prefix"], "", "", "", "Google LLC"]
    assert [c.strip() for c in raw[3].split("|")] == ["NA", "10.0.0.1", "NA", "", "", "", "NA"]
    assert raw[4].startswith("AS ") and "AS Name" in raw[4]
    assert [c.strip() for c in raw[5].split("|")] == ["15169", "", "", "", REF.as_name[15169]]
    assert raw[6] == "Error: no ASN or IP match on line 4."
    assert json.loads(raw[7])["type"] == "ping"   # JSON again after end


def test_commands(rasnd):
    r = rasnd.query(["ping", "help", "stats", "PING", "example.com", "8.8.8.8 @table", "8.8.8.8 @nosuch"])
    assert r[0]["status"] == "ok" and r[0]["type"] == "ping"
    assert "prefixes" in r[1]["help"]
    st = r[2]["stats"]
    assert st["table"]["ranges_v4"] == len(REF.segs[4])
    assert st["table"]["ranges_v6"] == len(REF.segs[6])
    assert st["table"]["overlapping_rows"] == 1
    assert st["connections"]["current"] == 1
    # io_uring whenever this machine lets a process set up a ring; read() only when it cannot
    want_io = "io_uring" if harness.io_uring_available() else "read"
    assert [f["io"] for f in st["table"]["files"]] == [want_io] * len(harness.FIXTURE_DATASETS)
    assert r[3]["status"] == "ok"
    # the harness points DNS at a closed loopback port: refused at once, an error reply
    assert r[4]["status"] == "error" and r[4]["type"] == "domain", r[4]
    assert r[5]["asn"] == 15169
    assert r[6]["status"] == "error" and "source" in r[6]["error"]


def test_dataset_read_falls_back_when_io_uring_is_refused(tmp_path):
    """Under a seccomp filter that refuses io_uring_setup (as container runtimes do), ring
    set-up fails and the files are read with read(): same table, same answers."""
    with harness.Rasnd(tmp_path / "d", no_io_uring=True) as d:
        st = d.query(["stats"])[0]["stats"]["table"]
        assert [f["io"] for f in st["files"]] == ["read"] * len(harness.FIXTURE_DATASETS)
        assert st["ranges_v4"] == len(REF.segs[4]) and st["ranges_v6"] == len(REF.segs[6])
        qs = probe_addresses()[::50]
        for q, r in zip(qs, d.query(qs)):
            check_ip_reply(q, r)
        assert d.stderr_text().count("read with read()") == len(harness.FIXTURE_DATASETS)
        # and a reload after start-up takes the same path
        r = d.query(["reload", "stats"])
        assert r[0]["status"] == "ok"
        assert [f["io"] for f in r[1]["stats"]["table"]["files"]] == ["read"] * len(harness.FIXTURE_DATASETS)


def test_other_formats(tmp_path):
    with harness.Rasnd(tmp_path / "d", datasets=[harness.FIXTURES / "sample.pfx2as",
                                                   harness.FIXTURES / "sample.ip2asn.tsv"]) as d:
        st = d.query(["stats"])[0]["stats"]["table"]
        fmts = sorted(f["format"] for f in st["files"])
        assert len(fmts) == 2 and fmts[0] != fmts[1]
        r = d.query(["1.1.1.1"])[0]
        assert r["status"] == "ok" and r["asn"] == 13335


def test_prefix_aggregation_and_longest_match_pfx2as(tmp_path):
    """pfx2as nests prefixes and splits some in halves: the longest match wins, and `prefixes`
    merges siblings and subtracts what more specific prefixes of other ASes hold."""
    with harness.Rasnd(tmp_path / "d", datasets=[harness.FIXTURES / "sample.pfx2as"]) as d:
        r = d.query(["prefixes AS267578", "prefixes AS4761", "prefixes AS3356", "8.8.8.8", "8.8.7.1",
                     "215.0.1.1"])
        assert r[0]["prefixes"] == ["38.226.206.0/23"]
        assert r[1]["prefixes"] == ["223.255.227.0/24", "223.255.228.0/23", "223.255.231.0/24"]
        rest = [ipaddress.ip_network("8.8.0.0/16")]
        for more in ["8.8.1.0/24", "8.8.4.0/24", "8.8.6.0/24", "8.8.8.0/24", "8.8.9.0/24",
                     "8.8.11.0/24", "8.8.30.0/24"]:
            m = ipaddress.ip_network(more)
            rest = [x for n in rest for x in (n.address_exclude(m) if m.subnet_of(n) else [n])]
        assert r[2]["prefixes"] == [str(n) for n in sorted(ipaddress.collapse_addresses(rest))]
        assert r[3]["asn"] == 15169 and r[3]["prefix"] == "8.8.8.0/24"
        assert r[4]["asn"] == 3356 and r[4]["prefix"] == "8.8.7.0/24"
        assert r[5]["origins"] == [721, 749] and r[5]["asn"] == 721


def test_socket_file_mode_and_stale_socket(tmp_path):
    d = harness.Rasnd(tmp_path / "d")
    # a stale socket file (nobody listening) is removed before bind
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(d.sock)
    stale.close()
    with d:
        mode = stat.S_IMODE(os.stat(d.sock).st_mode)
        assert mode == 0o660
        assert "stale socket" in d.stderr_text()
        # a second daemon on the same live socket refuses to start
        p = subprocess.run([harness.rasnd_path(), "-c", str(d.conf), "-s", d.sock, "-d",
                            str(harness.FIXTURE_DATASETS[0])], capture_output=True, text=True, timeout=60)
        assert p.returncode != 0 and "in use" in p.stderr
        assert d.query(["ping"])[0]["status"] == "ok"


def test_a_second_rasnd_on_a_live_socket_and_state_dir_fails_fast(tmp_path):
    """The live socket is checked before the table is loaded and RocksDB opened: one line
    naming the socket, exit 75 (EX_TEMPFAIL), nothing of the first one's state touched."""
    with harness.Rasnd(tmp_path / "d", config_text="[cache]\ndisk = yes\n") as d:
        assert d.query(["8.8.8.8"])[0]["status"] == "ok"
        harness.wait_for(lambda: (d.state_dir / "cache" / "LOCK").exists(), 30, "RocksDB's LOCK file")
        p = subprocess.run([harness.rasnd_path(), "-c", str(d.conf), "-s", d.sock, "-S", str(d.state_dir)]
                           + sum((["-d", str(f)] for f in harness.FIXTURE_DATASETS), []),
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 75, (p.returncode, p.stderr)
        lines = p.stderr.strip().splitlines()
        assert len(lines) == 1 and d.sock in lines[0] and "in use" in lines[0], p.stderr
        assert "LOCK" not in p.stderr and "table" not in p.stderr
        assert d.query(["8.8.8.8"])[0]["status"] == "ok"


def test_config_errors(tmp_path):
    conf = tmp_path / "bad.conf"
    conf.write_text("[server]\nmax_clients = 10\n\n[server]\nno_such_key = 1\n")
    p = subprocess.run([harness.rasnd_path(), "--check-config", "-c", str(conf)],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 1
    assert f"{conf}:5:" in p.stderr and "no_such_key" in p.stderr
    conf.write_text("[lookup]\norg_max_results = -3\n")
    p = subprocess.run([harness.rasnd_path(), "--check-config", "-c", str(conf)],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 1 and f"{conf}:2:" in p.stderr
    p = subprocess.run([harness.rasnd_path(), "--check-config", "-c",
                        str(harness.SRCDIR / "conf" / "rasnd.conf")], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    p = subprocess.run([harness.rasnd_path(), "--bogus"], capture_output=True, text=True, timeout=30)
    assert p.returncode == 2 and "usage" in p.stderr
    # a dataset that does not parse is a clear start-up error
    p = subprocess.run([harness.rasnd_path(), "-c", "/dev/null", "-s", str(tmp_path / "s"), "-d",
                        str(harness.FIXTURES / "broken.csv")], capture_output=True, text=True, timeout=30)
    assert p.returncode != 0 and "broken.csv:3:" in p.stderr


def test_org_max_results_from_config(tmp_path):
    with harness.Rasnd(tmp_path / "d", config_text="[lookup]\norg_max_results = 2\n") as d:
        r = d.query(["org ltda"])[0]
        assert len(r["matches"]) == 2 and r["truncated"] is True
        assert r["count"] == len(REF.org("ltda"))


def test_harness_sees_a_request_answered_twice(tmp_path):
    """query_raw reads to EOF after the expected replies: a server that answers one request
    twice must fail it, not leave the extra line unread."""
    path = str(tmp_path / "twice.sock")
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(path)
    srv.listen(4)

    def serve(n_conns):
        for _ in range(n_conns):
            c, _ = srv.accept()
            with c:
                data = bytearray()
                while not data.endswith(b"\n"):
                    x = c.recv(4096)
                    if not x:
                        break
                    data += x
                c.sendall(b'{"n":1}\n')
                while c.recv(4096):                  # the second answer only after the client's EOF
                    pass
                c.sendall(b'{"n":2}\n')

    t = threading.Thread(target=serve, args=(1,), daemon=True)
    t.start()
    with pytest.raises(AssertionError, match="2 reply lines for 1 expected"):
        harness.query_raw(path, ["ping"], timeout=10)
    t.join(10)
    srv.close()
