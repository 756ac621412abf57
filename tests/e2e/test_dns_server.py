"""[dns_server]: rasnd as an authoritative server for Team Cymru's DNS names, asked by real DNS
software: kdig for every case, unbound as a caching resolver with stub zones pointing at rasnd,
and a second rasnd whose Cymru source asks the first. rasnd's own counters (stats.dns_server)
prove what reached it."""
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time

import pytest

import harness
from reference import Reference

sys.path.insert(0, str(harness.SRCDIR / "tests" / "servers"))
import ports  # noqa: E402

pytestmark = [
    pytest.mark.skipif(harness.missing_rasnd() is not None, reason=harness.missing_rasnd() or ""),
    pytest.mark.skipif(shutil.which("kdig") is None, reason="kdig (package knot-dnsutils) missing"),
]
REF = Reference(harness.FIXTURE_DATASETS)
ORIGIN, ORIGIN6, ASZ = "origin.asn.cymru.com", "origin6.asn.cymru.com", "asn.cymru.com"
LONG_NS = "".join(f"ns = ns{i}.a-rather-long-name-for-a-name-server-number-{i}.in-a-test.example.net\n"
                  for i in range(16))


def conf(port, extra="", listen=None):
    listen = listen or [f"127.0.0.1:{port}"]
    return ("[lookup]\norder = table\n[dns_server]\n" + "".join(f"listen = {l}\n" for l in listen)
            + "rrl_rate = 0\n" + extra)


def rev4(ip):
    return ".".join(reversed(ip.split(".")))


def rev6(ip):
    import ipaddress
    return ".".join(reversed(ipaddress.IPv6Address(ip).exploded.replace(":", "")))


class Dig:
    """One kdig run, its output read into sections."""

    def __init__(self, out):
        self.text = out
        m = re.search(r"status: (\w+)", out)
        self.status = m.group(1) if m else None
        m = re.search(r"Flags: ([^;]*);", out)
        self.flags = set(m.group(1).split()) if m else set()
        self.sections = {}
        cur = None
        for line in out.splitlines():
            h = re.match(r";; (\w+) SECTION:", line)
            if h:
                cur = h.group(1)
                self.sections[cur] = []
            elif cur and line.strip() and not line.startswith(";;"):
                self.sections[cur].append(line.split(None, 4))
            elif not line.strip():
                cur = None
        m = re.search(r"From [^ ]+\((\w+)\)", out)
        self.proto = m.group(1) if m else None
        m = re.search(r"UDP size: (\d+) B", out)
        self.edns_size = int(m.group(1)) if m else None

    def rrs(self, section="ANSWER"):
        return self.sections.get(section, [])

    def txt(self):
        return [r[4] for r in self.rrs() if r[3] == "TXT"]


def kdig(port, qtype, name, *opts, server="127.0.0.1"):
    out = subprocess.run(["kdig", "@" + server, "-p", str(port), "+retry=0", "+timeout=5", *opts, qtype, name],
                         capture_output=True, text=True, timeout=60)
    return Dig(out.stdout + out.stderr)


def dns_stats(d):
    return harness.stats(d.sock)["dns_server"]


def start(tmp_path, config_text, datasets=None, name="d"):
    d = harness.Rasnd(tmp_path / name, config_text=config_text, datasets=datasets).start()
    return d


def wait_dns(port, server="127.0.0.1"):
    """The DNS listener comes up just after the query socket: wait until it answers."""
    harness.wait_for(lambda: kdig(port, "SOA", ORIGIN, server=server).status == "NOERROR", 30,
                     "the DNS listener")


def expected_origin(ip):
    r = REF.lookup(ip)
    return f'"{r["asn"]} | {r["prefix"]} |  |  | "'


def test_answers_every_case(tmp_path):
    port = ports.free_ports(1, udp=True)[0]
    listen = [f"127.0.0.1:{port}", f"[::1]:{port}"]
    with harness.Rasnd(tmp_path / "d", config_text=conf(port, "ttl = 1800\nnegative_ttl = 120\n", listen=listen)) as d:
        wait_dns(port)
        wait_dns(port, server="::1")
        assert kdig(port, "TXT", f"8.8.8.8.{ORIGIN}", server="::1").txt() == [expected_origin("8.8.8.8")]
        assert dns_stats(d)["listeners"] == 2
        # IPv4: a host name and its /24 both answer the covering prefix, as Cymru's do
        for name in (rev4("8.8.8.8"), rev4("8.8.8")):
            r = kdig(port, "TXT", f"{name}.{ORIGIN}")
            assert r.status == "NOERROR" and "aa" in r.flags and "ra" not in r.flags
            assert r.txt() == [expected_origin("8.8.8.8")]
            assert r.rrs()[0][1] == "1800"
        # IPv6: reversed nibbles, all 32 or fewer
        r = kdig(port, "TXT", f"{rev6('2001:4860::8888')}.{ORIGIN6}")
        assert r.txt() == [expected_origin("2001:4860::8888")]
        # AS names
        r = kdig(port, "TXT", f"AS15169.{ASZ}")
        assert r.txt() == [f'"15169 |  |  |  | {REF.as_name[15169]}"']
        # NXDOMAIN: nothing there or below; the SOA in authority with the negative TTL
        r = kdig(port, "TXT", f"1.0.0.127.{ORIGIN}")
        assert r.status == "NXDOMAIN" and "aa" in r.flags
        soa = r.rrs("AUTHORITY")
        assert len(soa) == 1 and soa[0][3] == "SOA" and soa[0][1] == "120"
        assert soa[0][4].split()[-1] == "120"                # SOA minimum: the negative TTL
        assert kdig(port, "TXT", f"AS64496.{ASZ}").status == "NXDOMAIN"
        assert kdig(port, "TXT", f"1.8.8.8.8.{ORIGIN}").status == "NXDOMAIN"
        # NODATA: a name with data asked for another type (empty non-terminals: below)
        r = kdig(port, "A", f"8.8.8.8.{ORIGIN}")
        assert r.status == "NOERROR" and not r.rrs() and r.rrs("AUTHORITY")[0][3] == "SOA"
        r = kdig(port, "TXT", f"{rev4('1.0.8')}.{ORIGIN}")  # 1.0.8.0/24: nothing at or in it
        assert r.status == "NXDOMAIN"
        # the apex: SOA and NS; ANY gets one RRset (RFC 8482)
        r = kdig(port, "NS", ASZ)
        assert [x[3] for x in r.rrs()] == ["NS"] and r.rrs()[0][4] == "localhost."
        r = kdig(port, "ANY", ORIGIN)
        assert len(r.rrs()) == 1
        r = kdig(port, "ANY", f"8.8.8.8.{ORIGIN}")
        assert len(r.rrs()) == 1 and r.rrs()[0][3] == "TXT"
        # REFUSED outside the zones; no recursion offered
        for q in (("A", "example.com"), ("TXT", "cymru.com")):
            r = kdig(port, *q)
            assert r.status == "REFUSED" and "aa" not in r.flags, r.text
        assert "replied with error 'REFUSED'" in kdig(port, "AXFR", ORIGIN).text
        # EDNS: our UDP size in the OPT; version 1 is BADVERS
        r = kdig(port, "TXT", f"8.8.8.8.{ORIGIN}", "+bufsize=4096")
        assert r.edns_size == 1232
        assert kdig(port, "TXT", f"8.8.8.8.{ORIGIN}", "+edns=1").status == "BADVERS"
        st = dns_stats(d)
        assert st["answers"] >= 7 and st["nxdomain"] >= 4 and st["refused"] >= 2
        assert st["nodata"] >= 1 and st["badvers"] == 1 and st["edns"] >= 2 and st["from_table"] >= 5


def test_empty_non_terminal_is_nodata(tmp_path):
    # one range, 10.1.2.0/24: 10/8, 10.1/16 and 10.1.0/24... hold data below them without
    # being covered themselves
    port = ports.free_ports(1, udp=True)[0]
    ds = tmp_path / "ent.csv"
    ds.write_text("10.1.2.0,10.1.2.255,64500,Test One\n")
    with harness.Rasnd(tmp_path / "d", datasets=[ds], config_text=conf(port)) as d:
        wait_dns(port)
        for name in ("10", "1.10"):
            r = kdig(port, "TXT", f"{name}.{ORIGIN}")
            assert r.status == "NOERROR" and not r.rrs() and r.rrs("AUTHORITY")[0][3] == "SOA", (name, r.text)
        assert kdig(port, "TXT", f"2.1.10.{ORIGIN}").txt() == ['"64500 | 10.1.2.0/24 |  |  | "']
        for name in ("11", "2.10", "3.1.10", "0.1.10", "0.2.1.10.10"):
            assert kdig(port, "TXT", f"{name}.{ORIGIN}").status == "NXDOMAIN", name
        assert dns_stats(d)["nodata"] == 2


def test_case_is_echoed(tmp_path):
    # kdig folds names to lower case, so a raw query shows 0x20 case echo
    port = ports.free_ports(1, udp=True)[0]
    with harness.Rasnd(tmp_path / "d", config_text=conf(port)):
        wait_dns(port)
        import dnslib
        q = dnslib.DNSRecord.question("8.8.8.8.OrIgIn.AsN.CyMrU.cOm", "TXT")
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(10)
        s.sendto(q.pack(), ("127.0.0.1", port))
        a = dnslib.DNSRecord.parse(s.recv(4096))
        s.close()
        assert str(a.q.qname) == "8.8.8.8.OrIgIn.AsN.CyMrU.cOm."
        assert str(a.rr[0].rname) == "8.8.8.8.OrIgIn.AsN.CyMrU.cOm."


def test_tc_then_tcp_retry(tmp_path):
    port = ports.free_ports(1, udp=True)[0]
    with harness.Rasnd(tmp_path / "d", config_text=conf(port, LONG_NS)) as d:
        wait_dns(port)
        r = kdig(port, "NS", ORIGIN, "+noedns", "+ignore")
        assert "tc" in r.flags and not r.rrs() and r.proto == "UDP"
        # kdig retries over TCP on TC=1 by itself
        r = kdig(port, "NS", ORIGIN, "+noedns")
        assert "tc" not in r.flags and len(r.rrs()) == 16 and r.proto == "TCP"
        st = dns_stats(d)
        assert st["truncated"] >= 2 and st["queries_tcp"] >= 1 and st["tcp_accepted"] >= 1


def _q(name, qid):
    import dnslib
    q = dnslib.DNSRecord.question(name, "TXT")
    q.header.id = qid
    return q.pack()


def test_tcp_pipelined_idle_and_unread(tmp_path):
    port = ports.free_ports(1, udp=True)[0]
    with harness.Rasnd(tmp_path / "d", config_text=conf(port, "tcp_idle_timeout = 1\n")) as d:
        wait_dns(port)
        import dnslib
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        msgs = [_q(f"{rev4(ip)}.{ORIGIN}", i) for i, ip in enumerate(["8.8.8.8", "1.1.1.1", "9.9.9.9"])]
        s.sendall(b"".join(struct.pack(">H", len(m)) + m for m in msgs))   # three in one write
        got, buf = [], b""
        while len(got) < 3:
            chunk = s.recv(65536)
            assert chunk, "closed early"
            buf += chunk
            while len(buf) >= 2 and len(buf) >= 2 + struct.unpack(">H", buf[:2])[0]:
                n = struct.unpack(">H", buf[:2])[0]
                got.append(dnslib.DNSRecord.parse(buf[2:2 + n]))
                buf = buf[2 + n:]
        assert [g.header.id for g in got] == [0, 1, 2]
        assert str(got[0].rr[0].rdata).startswith('"15169 |')
        # idle: the server closes it after tcp_idle_timeout
        s.settimeout(30)
        assert s.recv(1) == b""
        s.close()
        assert dns_stats(d)["tcp_idle_closed"] == 1
        # a client that sends a flood of queries and never reads: the server stops reading
        # it, and everyone else is still answered
        f = socket.create_connection(("127.0.0.1", port), timeout=30)
        f.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        one = _q(f"{rev4('8.8.8.8')}.{ORIGIN}", 7)
        block = (struct.pack(">H", len(one)) + one) * 2000
        f.setblocking(False)
        import select

        def paused():
            # keep the pipe full until rasnd says it stopped reading this client
            try:
                f.send(block)
            except BlockingIOError:
                select.select([], [f], [], 0.05)
            return dns_stats(d)["tcp_read_pauses"] >= 1
        harness.wait_for(paused, 60, "rasnd to stop reading a client that does not read")
        assert kdig(port, "TXT", f"8.8.8.8.{ORIGIN}").txt() == [expected_origin("8.8.8.8")]
        f.close()
        st = dns_stats(d)
        assert st["queries_tcp"] >= 3 and st["tcp_read_pauses"] >= 1


def test_tcp_max_clients(tmp_path):
    port = ports.free_ports(1, udp=True)[0]
    with harness.Rasnd(tmp_path / "d", config_text=conf(port, "tcp_max_clients = 1\n")) as d:
        wait_dns(port)
        c1 = socket.create_connection(("127.0.0.1", port), timeout=30)
        m = _q(f"8.8.8.8.{ORIGIN}", 1)
        c1.sendall(struct.pack(">H", len(m)) + m)
        assert len(c1.recv(2)) >= 1                  # accepted and answered
        c2 = socket.create_connection(("127.0.0.1", port), timeout=30)
        try:
            assert c2.recv(1) == b""                  # accepted and closed at once
        except ConnectionResetError:
            pass
        c2.close()
        c1.close()
        st = dns_stats(d)
        assert st["tcp_rejected"] == 1 and st["tcp_accepted"] == 1


def test_allow_list_refuses_at_the_client(tmp_path):
    port = ports.free_ports(1, udp=True)[0]
    listen = [f"127.0.0.1:{port} allow=127.0.0.2/32,::1"]
    with harness.Rasnd(tmp_path / "d", config_text=conf(port, listen=listen)) as d:
        harness.wait_for(lambda: kdig(port, "SOA", ORIGIN, "-b", "127.0.0.2").status == "NOERROR", 30,
                         "the DNS listener")
        r = kdig(port, "TXT", f"8.8.8.8.{ORIGIN}", "-b", "127.0.0.1")
        assert r.status == "REFUSED" and not r.rrs()
        r = kdig(port, "TXT", f"8.8.8.8.{ORIGIN}", "-b", "127.0.0.2")
        assert r.txt() == [expected_origin("8.8.8.8")]
        r = kdig(port, "TXT", f"8.8.8.8.{ORIGIN}", "-b", "127.0.0.1", "+tcp")
        assert r.status == "REFUSED"
        st = dns_stats(d)
        assert st["allow_refused"] == 2
    # a bad allow value is a config error naming the line
    bad = tmp_path / "bad.conf"
    bad.write_text("[dns_server]\nlisten = 127.0.0.1:53 allow=10.0.0.1/8\n")
    out = subprocess.run([harness.rasnd_path(), "--check-config", "-c", str(bad)], capture_output=True, text=True)
    assert out.returncode != 0 and "bad.conf:2" in out.stderr and "host bits" in out.stderr


def test_rrl_drops_and_slips(tmp_path):
    port = ports.free_ports(1, udp=True)[0]
    with harness.Rasnd(tmp_path / "d", config_text=conf(port).replace("rrl_rate = 0", "rrl_rate = 1\nrrl_slip = 2")) as d:
        wait_dns(port)
        before = dns_stats(d)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.5", 0))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        # few enough that rasnd's receive buffer holds them all even if it is slow to read
        # (every query must be counted), many more than the rate
        n = 60
        for i in range(n):
            s.sendto(_q(f"{rev4('8.8.8.8')}.{ORIGIN}", i), ("127.0.0.1", port))
        st = harness.wait_for(lambda: (lambda x: x if x["queries_udp"] - before["queries_udp"] >= n else None)(dns_stats(d)),
                              30, "the burst read")
        dropped = st["rrl_dropped"] - before["rrl_dropped"]
        slipped = st["rrl_slipped"] - before["rrl_slipped"]
        assert dropped >= 1 and slipped >= 1
        # the client sees exactly the answers that were not dropped, the slipped ones with TC
        import dnslib
        s.settimeout(30)
        full = tc = 0
        for _ in range(n - dropped):
            a = dnslib.DNSRecord.parse(s.recv(4096))
            if a.header.tc:
                assert not a.rr
                tc += 1
            else:
                full += 1
        assert tc == slipped and full == n - dropped - slipped
        s.close()
        assert "dns server: rate limiting 127.0.0.0/24" in d.stderr_text()


UNBOUND_CONF = """server:
    do-daemonize: no
    username: ""
    chroot: ""
    directory: "{dir}"
    pidfile: "{dir}/unbound.pid"
    use-syslog: no
    logfile: ""
    verbosity: 1
    do-not-query-localhost: no
    module-config: "iterator"
    interface: 127.0.0.1@{port}
    port: {port}
    access-control: 127.0.0.0/8 allow
    use-caps-for-id: yes
    qname-minimisation: no
    harden-referral-path: no
remote-control:
    control-enable: no
""" + "".join("""stub-zone:
    name: "{z}"
    stub-addr: 127.0.0.1@{rport}
""".replace("{z}", z) for z in (ORIGIN, ORIGIN6, ASZ))


@pytest.mark.skipif(shutil.which("unbound") is None, reason="unbound missing")
def test_unbound_stub_zones_cache_rasnd_answers(tmp_path):
    rport, uport = ports.free_ports(2, udp=True)
    udir = tmp_path / "unbound"
    udir.mkdir()
    (udir / "unbound.conf").write_text(UNBOUND_CONF.format(dir=udir, port=uport, rport=rport))
    with harness.Rasnd(tmp_path / "d", config_text=conf(rport)) as d:
        wait_dns(rport)
        log = open(udir / "unbound.log", "wb")
        ub = subprocess.Popen(["unbound", "-d", "-c", str(udir / "unbound.conf")], stdout=log, stderr=subprocess.STDOUT)
        try:
            harness.wait_for(lambda: ub.poll() is None and kdig(uport, "SOA", ORIGIN).status == "NOERROR", 30,
                             "unbound")
            name = f"{rev4('8.8.8.8')}.{ORIGIN}"
            before = dns_stats(d)["queries_udp"] + dns_stats(d)["queries_tcp"]
            r = kdig(uport, "TXT", name)
            assert r.status == "NOERROR" and "ra" in r.flags and r.txt() == [expected_origin("8.8.8.8")]
            mid = dns_stats(d)["queries_udp"] + dns_stats(d)["queries_tcp"]
            assert mid > before                                       # unbound asked rasnd
            r2 = kdig(uport, "TXT", name)
            assert r2.txt() == r.txt() and int(r2.rrs()[0][1]) <= 3600
            after = dns_stats(d)["queries_udp"] + dns_stats(d)["queries_tcp"]
            assert after == mid                                       # the second: unbound's cache
            # v6, AS and a negative answer, end to end
            assert kdig(uport, "TXT", f"{rev6('2001:4860::8888')}.{ORIGIN6}").txt() == [expected_origin("2001:4860::8888")]
            assert kdig(uport, "TXT", f"AS15169.{ASZ}").txt() == [f'"15169 |  |  |  | {REF.as_name[15169]}"']
            assert kdig(uport, "TXT", f"1.0.0.127.{ORIGIN}").status == "NXDOMAIN"
        finally:
            ub.send_signal(signal.SIGTERM)
            try:
                ub.wait(30)
            except subprocess.TimeoutExpired:
                ub.kill()
                ub.wait()
            log.close()


ZONES_OWN = {"origin_zone": "o4.asn.test", "origin6_zone": "o6.asn.test", "as_zone": "asn.test"}


@pytest.mark.parametrize("zones", [None, ZONES_OWN], ids=["cymru-zones", "own-zones"])
def test_second_rasnd_asks_the_first(tmp_path, zones):
    """rasnd B's Cymru source is rasnd A's DNS listener: B answers as A's table does (with
    Cymru's zone names, and with zones of our own set on both sides)."""
    aport = ports.free_ports(1, udp=True)[0]
    small = tmp_path / "small.csv"
    small.write_text("7.7.7.0,7.7.7.255,64496,Documentation\n")  # absent from A's table
    zconf = "".join(f"{k} = {v}\n" for k, v in (zones or {}).items())
    with harness.Rasnd(tmp_path / "a", config_text=conf(aport, zconf)) as a:
        harness.wait_for(lambda: kdig(aport, "SOA", (zones or {}).get("origin_zone", ORIGIN)).status == "NOERROR",
                         30, "the DNS listener")
        bconf = f"[dns]\nservers = 127.0.0.1:{aport}\n[lookup]\norder = cymru table\n"
        if zones:
            bconf += "[cymru]\n" + zconf
        with harness.Rasnd(tmp_path / "b", datasets=[small], config_text=bconf) as b:
            for ip in ("8.8.8.8", "1.1.1.1", "2001:4860::8888"):
                r = b.query([ip])[0]
                want = REF.lookup(ip)
                assert (r["source"], r["asn"], r["prefix"]) == ("cymru", want["asn"], want["prefix"]), r
                assert r["as_name"] == want["as_name"]
            r = b.query(["AS15169 @cymru", "6.6.6.6 @cymru", "7.7.7.1"])
            assert r[0]["source"] in ("cymru", "cache") and r[0]["as_name"] == REF.as_name[15169]
            assert r[1]["status"] == "not_found"
            assert r[2]["source"] == "table" or r[2]["asn"] == 64496
        st = dns_stats(a)
        assert st["answers"] >= 4 and st["nxdomain"] >= 1


def test_sighup_applies_new_ttl(tmp_path):
    port = ports.free_ports(1, udp=True)[0]
    d = harness.Rasnd(tmp_path / "d", config_text=conf(port, "ttl = 100\n"))
    with d:
        wait_dns(port)
        assert kdig(port, "TXT", f"8.8.8.8.{ORIGIN}").rrs()[0][1] == "100"
        d.config_text = conf(port, "ttl = 200\n")
        d.prepare()
        d.sighup()
        assert kdig(port, "TXT", f"8.8.8.8.{ORIGIN}").rrs()[0][1] == "200"


@pytest.mark.skipif(shutil.which("knotd") is None, reason="knotd (package knot) missing")
def test_answers_from_the_cache_never_from_upstream(tmp_path):
    """What the table lacks, the cache of upstream answers gives (with Cymru's country, registry
    and date); a DNS query never makes rasnd ask the upstream, by knotd's own count."""
    sys.path.insert(0, str(harness.SRCDIR / "tests" / "e2e"))
    import knot
    import test_dns
    zones = test_dns.cymru_zones([("9.9.9.9", [19281], "9.9.9.0/24", "US", "arin", "2017-09-13")])
    zones[ORIGIN] += '5.6.7.8 IN TXT "64511 | 5.6.7.8/32 | ZZ | test | 2020-01-01"\n'
    port = ports.free_ports(1, udp=True)[0]
    with knot.Knot(tmp_path / "knot", zones, stats=True) as k:
        c = conf(port).replace("[lookup]\norder = table\n", f"[lookup]\norder = table cymru\n[dns]\nservers = 127.0.0.1:{k.port}\n")
        with harness.Rasnd(tmp_path / "d", config_text=c) as d:
            wait_dns(port)
            r = d.query(["9.9.9.9"])[0]
            assert r["source"] == "cymru" and r["asn"] == 19281
            asked = k.zone_queries(ORIGIN)
            r = kdig(port, "TXT", f"9.9.9.9.{ORIGIN}")
            assert r.txt() == ['"19281 | 9.9.9.0/24 | US | arin | 2017-09-13"']
            # the prefix-aware cache serves the whole /24
            assert kdig(port, "TXT", f"1.9.9.9.{ORIGIN}").txt() == r.txt()
            # known upstream, never asked by a DNS client: NXDOMAIN
            assert kdig(port, "TXT", f"8.7.6.5.{ORIGIN}").status == "NXDOMAIN"
            st = dns_stats(d)
            assert st["from_cache"] == 2
            assert k.zone_queries(ORIGIN) == asked
