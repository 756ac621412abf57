"""[whois]: Team Cymru's whois protocol over TCP (docs/whois.md), spoken to by real clients:
Debian's whois (single queries with Cymru's flags; it reads until the server closes) and nc
with a bulk file (begin ... end). Answers are the query socket's bulk block rows for the same
lines; the allow list, per-address limits and abuse (a client that floods without reading, a
silent one, an over-long line, many connections) leave well-behaved clients their answers."""
import shutil
import socket
import subprocess
import sys

import pytest

import harness

sys.path.insert(0, str(harness.SRCDIR / "tests" / "servers"))
import ports  # noqa: E402

pytestmark = pytest.mark.skipif(harness.missing_rasnd() is not None,
                                reason=harness.missing_rasnd() or "")

WHOIS = shutil.which("whois")
NC = shutil.which("nc")


def free_port():
    return ports.free_ports(1)[0]


def whois_conf(port, extra="", host="127.0.0.1"):
    return f"[whois]\nlisten = {host}:{port}\n{extra}"


def wait_tcp(port, d):
    def up():
        assert d.proc.poll() is None, d.stderr_text()
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=1)
        except OSError:
            return False
        s.sendall(b"help\r\n")          # a probe that takes an answer (and one token)
        while s.recv(4096):
            pass
        s.close()
        return True
    harness.wait_for(up, 30, f"the whois listener on port {port}")


def whois_stats(d):
    return harness.stats(d.sock)["whois"]


def exchange(port, data, src=None, reset_ok=False):
    """Send data and end the sending side (as nc -N does), then read until the server closes
    (a reset: only where reset_ok)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=60,
                                 source_address=(src, 0) if src else None)
    out = b""
    try:
        s.sendall(data)
        try:
            s.shutdown(socket.SHUT_WR)
        except OSError:
            if not reset_ok:
                raise
        while True:
            b = s.recv(65536)
            if not b:
                break
            out += b
    except ConnectionResetError:
        if not reset_ok:
            raise
    s.close()
    return out


def socket_block(d, lines):
    """The query socket's answer to a begin ... end block, without its banner line."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(d.sock)
    s.settimeout(60)
    s.sendall(("begin\n" + "".join(x + "\n" for x in lines) + "end\nping\n").encode())
    out = b""
    while b'"type":"ping"' not in out:
        b = s.recv(65536)
        assert b, out
        out += b
    s.close()
    text = out.decode()
    body = text[:text.index('{"query":"ping"')]
    assert body.startswith("Bulk mode; rasnd [")
    return body.split("\n", 1)[1]


@pytest.fixture
def srv(tmp_path):
    port = free_port()
    with harness.Rasnd(tmp_path / "d", config_text=whois_conf(port, "rate = 0\n")) as d:
        wait_tcp(port, d)
        yield d, port


@pytest.mark.skipif(WHOIS is None, reason="whois (Debian's client) missing")
def test_debian_whois_single_queries(srv):
    d, port = srv
    cases = [(" -v 8.8.8.8", ["verbose"], "8.8.8.8"),
             (" -v AS15169", ["verbose"], "AS15169"),
             ("8.8.8.8", [], "8.8.8.8"),
             (" -v 2001:4860:4860::8888", ["verbose"], "2001:4860:4860::8888"),
             (" -v 10.0.0.1", ["verbose"], "10.0.0.1"),
             (" -c -p 1.1.1.1", ["countrycode", "prefix"], "1.1.1.1"),
             (" -r -a AS13335", ["registry", "allocdate"], "AS13335")]
    for query, opts, target in cases:
        out = subprocess.run([WHOIS, "-h", "127.0.0.1", "-p", str(port), "--", query],
                             capture_output=True, timeout=60, check=True).stdout.decode()
        assert out == socket_block(d, opts + [target]), (query, out)
    out = subprocess.run([WHOIS, "-h", "127.0.0.1", "-p", str(port), "--", " -v 8.8.8.8"],
                         capture_output=True, timeout=60, check=True).stdout.decode()
    assert out.splitlines() == [
        "AS      | IP               | BGP Prefix          | CC | Registry | Allocated  | AS Name",
        "15169   | 8.8.8.8          | 8.8.8.0/24          |    |          |            | Google LLC"]
    bad = subprocess.run([WHOIS, "-h", "127.0.0.1", "-p", str(port), "--", "not-a-thing"],
                         capture_output=True, timeout=60).stdout.decode()
    assert bad == "Error: no ASN or IP match on line 1.\n"


@pytest.mark.skipif(NC is None, reason="nc missing")
def test_nc_bulk_file(srv, tmp_path):
    d, port = srv
    targets = ["8.8.8.8", "1.1.1.1", "2001:4860:4860::8888", "10.0.0.1", "AS15169", "garbage", "AS13335"]
    lines = ["verbose"] + targets
    f = tmp_path / "list.txt"
    f.write_text("begin\r\n" + "".join(x + "\r\n" for x in lines) + "end\r\n")
    out = subprocess.run([NC, "-N", "127.0.0.1", str(port)], stdin=open(f, "rb"),
                         capture_output=True, timeout=60, check=True).stdout.decode()
    assert out.startswith("Bulk mode; rasnd [")
    body = out.split("\n", 1)[1]
    assert body == socket_block(d, lines)
    assert "Error: no ASN or IP match on line 6.\n" in body
    # noheader, noasname; a block the client ends by closing (no "end")
    out = exchange(port, b"begin\nnoheader\nnoasname\n8.8.8.8\n").decode()
    assert out.split("\n", 1)[1] == socket_block(d, ["noheader", "noasname", "8.8.8.8"])
    assert out.split("\n", 1)[1].startswith("15169   | 8.8.8.8 ") and "|" not in out.split("\n")[1][10:]
    st = whois_stats(d)
    assert st["lines"] == len(targets) + 1 and st["requests"] >= 2


def test_client_outside_allow_is_refused(tmp_path):
    port = free_port()
    with harness.Rasnd(tmp_path / "d", config_text=whois_conf(port, "allow = 127.0.0.2\n")) as d:
        harness.wait_for(lambda: whois_stats(d)["refused_allow"] >= 0, 30, "stats")
        assert exchange(port, b" -v 8.8.8.8\r\n", reset_ok=True) == b""   # closed without a word
        assert whois_stats(d)["refused_allow"] >= 1
        out = exchange(port, b" -v 8.8.8.8\r\n", src="127.0.0.2")
        assert b"15169   | 8.8.8.8" in out


def test_abuse_flood_silent_long_many(tmp_path):
    """A client sends a huge bulk block and reads nothing; another connects and says nothing;
    another sends an over-long line; one address opens more connections than allowed and
    asks faster than its rate; a well-behaved client from another address gets every answer."""
    port = free_port()
    conf = whois_conf(port, "allow = 127.0.0.0/8\nmax_conns_per_addr = 2\nrate = 1\nburst = 4\ntimeout = 2\n",
                      host="0.0.0.0")
    with harness.Rasnd(tmp_path / "d", config_text=conf) as d:
        harness.wait_for(lambda: whois_stats(d)["accepted"] >= 0, 30, "stats")
        flood = socket.create_connection(("127.0.0.3", port), source_address=("127.0.0.3", 0))
        flood.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        flood.setblocking(False)
        chunk = b"begin\nverbose\n" + b"8.8.8.8\n" * 5000
        sent = 0
        try:
            for _ in range(200):
                sent += flood.send(chunk)
        except BlockingIOError:
            pass
        # rasnd stops answering the flood once 256 KiB of its answers wait unread (its own gauge)
        harness.wait_for(lambda: whois_stats(d)["queued_max_bytes"] >= 200 * 1024, 60, "the output bound")
        silent = socket.create_connection(("127.0.0.4", port), source_address=("127.0.0.4", 0))
        long_line = exchange(port, b"8" * 5000 + b"\n", src="127.0.0.5")
        assert long_line == b"Error: line too long.\n"
        # two at once from 127.0.0.6; a third is refused
        a = socket.create_connection(("127.0.0.6", port), source_address=("127.0.0.6", 0))
        b = socket.create_connection(("127.0.0.6", port), source_address=("127.0.0.6", 0))
        harness.wait_for(lambda: whois_stats(d)["accepted"] >= 5, 30, "the connections")
        third = exchange(port, b"8.8.8.8\n", src="127.0.0.6")
        assert third.startswith(b"Error: ")
        a.close()
        b.close()
        # more requests than the bucket holds: some refused with Cymru-style error lines
        outs = [exchange(port, b"8.8.8.8\n", src="127.0.0.7") for _ in range(12)]
        assert any(o == b"Error: rate limited; try again later.\n" for o in outs)
        assert all(o.startswith(b"AS ") or o.startswith(b"Error: ") for o in outs)
        # the well-behaved client
        want = socket_block(d, ["verbose", "8.8.8.8", "AS15169"])
        got = exchange(port, b"begin\nverbose\n8.8.8.8\nAS15169\nend\n", src="127.0.0.8").decode()
        assert got.split("\n", 1)[1] == want
        st = whois_stats(d)
        assert st["refused_conns"] >= 1 and st["refused_rate"] >= 1 and st["too_long"] == 1
        assert st["queued_max_bytes"] <= 256 * 1024 + 8192      # the bound plus one answer
        # the silent client is closed by the timeout; the flood's connection too
        harness.wait_for(lambda: whois_stats(d)["timeouts"] >= 1, 60, "the silent client's timeout")
        assert silent.recv(10) == b""
        silent.close()
        flood.close()
        harness.wait_for(lambda: whois_stats(d)["connections"] == 0, 60, "every connection to close")


@pytest.mark.parametrize("text,why", [
    ("[whois]\nlisten = 127.0.0.1:0\n", "bad port"),
    ("[whois]\nlisten = localhost:43\n", "not a numeric address"),
    ("[whois]\nlisten = ::1:43\n", "not a numeric address"),
    ("[http_api]\nallow = 10.0.0.1/8\n", "not a list of CIDR prefixes"),
    ("[http_api]\nallow = 10.0.0.300\n", "not a list of CIDR prefixes"),
    ("[http_api]\nmax_body = 1\n", "out of range"),
    ("[whois]\n" + "listen = 127.0.0.1:4343\n" * 9, "too many listen addresses"),
])
def test_check_config_names_bad_listener_keys(tmp_path, text, why):
    conf = tmp_path / "rasnd.conf"
    conf.write_text("[sysctl]\napply = no\n" + text)
    p = subprocess.run([harness.rasnd_path(), "--check-config", "-c", str(conf)],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 1, p
    line = len(("[sysctl]\napply = no\n" + text).splitlines())
    assert f"{conf}:" in p.stderr and why in p.stderr, p.stderr
    assert f"{conf}:{line}:" in p.stderr or why.startswith("too many"), p.stderr


def test_check_config_accepts_listener_keys(tmp_path):
    conf = tmp_path / "rasnd.conf"
    conf.write_text("[sysctl]\napply = no\n[whois]\nlisten = 127.0.0.1:4343\nlisten = [::1]:4343\n"
                    "allow = 127.0.0.0/8, ::1/128 192.0.2.0/24 ::1 192.0.2.7\n[http_api]\nlisten = 0.0.0.0:8080\n"
                    "metrics = yes\nrate = 0\n")
    p = subprocess.run([harness.rasnd_path(), "--check-config", "-c", str(conf)],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr


@pytest.mark.skipif(NC is None, reason="nc missing")
def test_big_bulk_file_with_early_eof(srv, tmp_path):
    """nc -N sends EOF right after the file: a block whose answer is far beyond the output
    bound (256 KiB) is still answered whole, in order, after the client's EOF."""
    d, port = srv
    lines = [f"{1 + i % 223}.{i % 256}.{(i * 7) % 256}.1" for i in range(40000)]
    f = tmp_path / "big.txt"
    f.write_text("begin\nverbose\n" + "\n".join(lines) + "\n")      # no "end": EOF ends it
    out = subprocess.run([NC, "-N", "127.0.0.1", str(port)], stdin=open(f, "rb"),
                         capture_output=True, timeout=120, check=True).stdout.decode()
    body = out.split("\n", 1)[1]
    assert len(body) > 4 * 256 * 1024
    assert body == socket_block(d, ["verbose"] + lines)


@pytest.mark.skipif(shutil.which("ss") is None, reason="ss (iproute2) missing")
def test_listening_socket_tuning(tmp_path):
    """The listener's backlog is [sysctl] somaxconn (as the kernel caps it: `ss` shows the
    queue's limit), and rasnd's log says what TCP_NODELAY and TCP_FASTOPEN it set."""
    port = free_port()
    with harness.Rasnd(tmp_path / "d", config_text=whois_conf(port) + "[sysctl]\nsomaxconn = 777\n") as d:
        harness.wait_for(lambda: f"listening on 127.0.0.1:{port}: backlog 777, TCP_NODELAY on" in d.stderr_text(),
                         30, "the listener's log line")
        out = subprocess.run(["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True,
                             timeout=30, check=True).stdout.split()
        cap = int(open("/proc/sys/net/core/somaxconn").read())
        assert out[0] == "LISTEN" and int(out[2]) == min(777, cap), out
