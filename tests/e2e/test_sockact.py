"""Socket activation with named sockets (daemon/sockact.h): rasnd started the way systemd
starts it, by tests/e2e/sdactivate.py (any mix of stream and datagram sockets, and wrong values
on purpose) and by systemd's own systemd-socket-activate, each listener then asked through the
socket passed to it by a real client: the Unix query socket, Debian's whois, curl, kdig (UDP and
TCP). A socket that does not fit its listener, or a name no listener takes, stops rasnd at
start-up with one line and exit status 78; sockets for another LISTEN_PID are ignored."""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys

import pytest

import harness

sys.path.insert(0, str(harness.SRCDIR / "tests" / "servers"))
import ports  # noqa: E402

pytestmark = pytest.mark.skipif(harness.missing_rasnd() is not None,
                                reason=harness.missing_rasnd() or "")

LAUNCHER = harness.HERE / "sdactivate.py"
WHOIS, CURL, KDIG = shutil.which("whois"), shutil.which("curl"), shutil.which("kdig")
SSA = shutil.which("systemd-socket-activate")
ORIGIN = "origin.asn.cymru.com"


def tcp_listener(host="127.0.0.1", port=0):
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port))
    s.listen(64)
    return s


def udp_socket(host="127.0.0.1", port=0):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((host, port))
    return s


def unix_listener(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.listen(64)
    return s


def dns_pair():
    """A UDP and a TCP socket on one loopback port, as one .socket unit with ListenDatagram=
    and ListenStream= on the same address gives them."""
    for _ in range(100):
        u = udp_socket()
        try:
            return u, tcp_listener(port=u.getsockname()[1])
        except OSError:
            u.close()
    raise OSError("no port free for both UDP and TCP")


def port_of(s):
    return s.getsockname()[1]


class Activated(harness.Rasnd):
    """rasnd under sdactivate.py: sockets [(name, socket)] become descriptors 3, 4, ...; the
    test's own copies are closed once rasnd holds them."""

    def __init__(self, tmpdir, sockets, launcher_args=(), **kw):
        super().__init__(tmpdir, **kw)
        self.sockets = sockets
        self.launcher_args = list(launcher_args)

    def launch(self):
        self.prepare()
        fds = [s.fileno() for _, s in self.sockets]
        names = ":".join(n for n, _ in self.sockets)
        argv = [sys.executable, str(LAUNCHER), "--names", names] + self.launcher_args + \
            [str(f) for f in fds] + ["--"] + self.argv()
        self._errf = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self._errf,
                                     stderr=subprocess.STDOUT, pass_fds=fds)
        for _, s in self.sockets:
            s.close()
        return self

    def start(self, timeout=30.0, query_path=None):
        """Launch, then wait until the query socket (passed or bound by rasnd) answers."""
        self.launch()
        path = query_path or self.sock
        try:
            harness.wait_for(lambda: self._answers(path), timeout, "rasnd's query socket")
        except Exception:
            self.stop()
            raise
        return self

    def __enter__(self):
        return self  # started by start(), which takes the query socket's path

    def _answers(self, path):
        assert self.proc.poll() is None, self.stderr_text()
        try:
            return harness.query(path, ["ping"], timeout=10)[0]["status"] == "ok"
        except OSError:
            return False

    def start_fails(self, timeout=60.0):
        """Launch; rasnd must exit by itself. Returns (status, its output)."""
        self.launch()
        try:
            rc = self.proc.wait(timeout)
        finally:
            self.stop()
        return rc, self.stderr_text()


def whois_ip(port, ip):
    return subprocess.run([WHOIS, "-h", "127.0.0.1", "-p", str(port), "--", f" -v {ip}"],
                          capture_output=True, text=True, timeout=60).stdout


def curl(url, *args):
    return subprocess.run([CURL, "-s", "--max-time", "30", *args, url], capture_output=True, text=True,
                          timeout=60).stdout


def kdig_txt(port, name, *opts):
    out = subprocess.run([KDIG, "@127.0.0.1", "-p", str(port), "+retry=0", "+timeout=5", *opts, "TXT", name],
                         capture_output=True, text=True, timeout=60).stdout
    return out


def whois_exchange(port, src=None):
    """One whois query; what comes back until the server closes (a reset counts as nothing)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=30, source_address=(src, 0) if src else None)
    got = b""
    try:
        s.sendall(b" -v 8.8.8.8\r\n")
        while True:
            b = s.recv(4096)
            if not b:
                break
            got += b
    except ConnectionResetError:
        pass
    finally:
        s.close()
    return got


def refused(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
        return False
    except ConnectionRefusedError:
        return True


@pytest.mark.skipif(not (WHOIS and CURL and KDIG), reason="whois, curl or kdig missing")
def test_every_listener_through_its_named_socket(tmp_path):
    qpath = str(tmp_path / "q.sock")
    udp, tcp = dns_pair()
    whois_s, api_s, metrics_s = tcp_listener(), tcp_listener(), tcp_listener()
    wport, aport, mport, dport = port_of(whois_s), port_of(api_s), port_of(metrics_s), port_of(udp)
    # listen lines as well: the passed sockets win, and these are never bound
    unused = ports.free_ports(4, udp=True)
    conf = (f"[lookup]\norder = table\n[whois]\nlisten = 127.0.0.1:{unused[0]}\n"
            f"[http_api]\nlisten = 127.0.0.1:{unused[1]}\n[metrics]\nlisten = 127.0.0.1:{unused[2]}\n"
            f"[dns_server]\nlisten = 127.0.0.1:{unused[3]}\nrrl_rate = 0\n")
    socks = [("query", unix_listener(qpath)), ("whois", whois_s), ("http-api", api_s),
             ("dns", udp), ("dns", tcp), ("metrics", metrics_s)]
    d = Activated(tmp_path / "d", socks, config_text=conf)
    with d.start(query_path=qpath):
        # the Unix socket passed as "query"; rasnd's own -s path is never bound
        r = harness.query(qpath, ["8.8.8.8"])[0]
        assert r["asn"] == 15169 and r["source"] == "table", r
        assert not os.path.exists(d.sock)
        # whois: Debian's client through the passed TCP socket
        out = whois_ip(wport, "8.8.8.8")
        assert "15169" in out and "8.8.8.0/24" in out, out
        # the HTTP API: curl
        body = json.loads(curl(f"http://127.0.0.1:{aport}/v1/ip/8.8.8.8"))
        assert body["asn"] == 15169, body
        # DNS over the passed UDP socket and the passed TCP socket (one listener)
        u = kdig_txt(dport, f"8.8.8.8.{ORIGIN}")
        t = kdig_txt(dport, f"8.8.8.8.{ORIGIN}", "+tcp")
        for out, proto in ((u, "UDP"), (t, "TCP")):
            assert "status: NOERROR" in out and '"15169 | 8.8.8.0/24' in out and f"({proto})" in out, out
        # metrics
        text = curl(f"http://127.0.0.1:{mport}/metrics")
        assert "rasnd_dns_server_listeners 1" in text, text[:2000]
        st = harness.stats(qpath)
        assert st["dns_server"]["queries_udp"] >= 1 and st["dns_server"]["queries_tcp"] >= 1, st["dns_server"]
        assert st["whois"]["requests"] >= 1 and st["http_api"]["requests"] >= 1
        # every passed descriptor close-on-exec (the launcher's dup2 cleared it) and
        # non-blocking, set by rasnd
        for fd in range(3, 3 + len(socks)):
            flags = int(next(l.split()[1] for l in open(f"/proc/{d.proc.pid}/fdinfo/{fd}") if l.startswith("flags:")), 8)
            assert flags & os.O_CLOEXEC and flags & os.O_NONBLOCK, (fd, oct(flags))
        # the listen lines were not bound
        for p in unused[:3]:
            assert refused(p), p
        log = d.stderr_text()
        for line in ("whois: serving the sockets passed by the service manager; not binding [whois] listen",
                     "http_api: serving the sockets passed by the service manager; not binding [http_api] listen",
                     "dns server: serving the sockets passed by the service manager; not binding [dns_server] listen",
                     f"metrics: serving the sockets passed by the service manager; not binding [metrics] listen = 127.0.0.1:{unused[2]}",
                     f"serving the socket passed by the service manager: {qpath} (fd 3, \"query\")",
                     f"whois: listening on 127.0.0.1:{wport} (fd 4, \"whois\"), passed by the service manager",
                     f"dns server: listening on 127.0.0.1:{dport} (fd 6, \"dns\"), passed by the service manager",
                     f"dns server: listening on 127.0.0.1:{dport} (fd 7, \"dns\"), passed by the service manager"):
            assert line in log, (line, log)
    # the manager's socket file is the manager's to remove
    assert os.path.exists(qpath)


@pytest.mark.skipif(not (SSA and WHOIS and CURL), reason="systemd-socket-activate, whois or curl missing")
def test_systemd_socket_activate(tmp_path):
    """systemd's own launcher: its LISTEN_FDNAMES from --fdname, stream sockets only; it execs
    rasnd on the first connection."""
    qpath = str(tmp_path / "ssa.sock")
    wport, aport = ports.free_ports(2)
    d = harness.Rasnd(tmp_path / "d", config_text="[lookup]\norder = table\n")
    d.prepare()
    env = [a for v in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS") if v in os.environ for a in ("-E", v)]
    argv = [SSA, "-l", qpath, "-l", f"127.0.0.1:{wport}", "-l", f"127.0.0.1:{aport}",
            "--fdname=query:whois:http-api", *env, "--"] + d.argv()
    errf = open(d.stderr_path, "wb")
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=errf, stderr=subprocess.STDOUT)
    try:
        harness.wait_for(lambda: p.poll() is None and os.path.exists(qpath), 30, "systemd-socket-activate's socket")
        # the first connection makes it exec rasnd, which then answers this very query
        r = harness.query(qpath, ["8.8.8.8"], timeout=60)[0]
        assert r["asn"] == 15169, r
        assert "15169" in whois_ip(wport, "8.8.8.8")
        assert json.loads(curl(f"http://127.0.0.1:{aport}/v1/as/15169"))["asn"] == 15169
        assert not os.path.exists(d.sock)
        p.send_signal(signal.SIGTERM)
        assert p.wait(30) == 0
        log = d.stderr_text()
        assert f'127.0.0.1:{wport} (fd 4, "whois"), passed by the service manager' in log, log
        assert f'127.0.0.1:{aport} (fd 5, "http-api"), passed by the service manager' in log, log
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        errf.close()


def only_line(out, needle):
    lines = [l for l in out.splitlines() if "socket activation" in l]
    assert len(lines) == 1 and needle in lines[0], out
    return lines[0]


def test_unknown_name_fails_start(tmp_path):
    qpath = str(tmp_path / "q.sock")
    t = tcp_listener()
    port = port_of(t)
    d = Activated(tmp_path / "d", [("query", unix_listener(qpath)), ("whoami", t)])
    rc, out = d.start_fails()
    assert rc == 78, out
    only_line(out, f'127.0.0.1:{port} (fd 4, "whoami"): no listener takes the name "whoami"')
    assert "ranges" not in out, "failed only after loading the table"


@pytest.mark.parametrize("case", ["udp-as-whois", "unix-as-http-api", "tcp-as-query", "unlistened-as-metrics"])
def test_misfit_socket_fails_start(tmp_path, case):
    if case == "udp-as-whois":
        sock, name, want = udp_socket(), "whois", "IPv4 datagram socket, not listening; this listener needs a listening"
    elif case == "unix-as-http-api":
        sock, name, want = unix_listener(str(tmp_path / "u.sock")), "http-api", "Unix stream socket, listening; this listener needs"
    elif case == "tcp-as-query":
        sock, name, want = tcp_listener(), "query", "the query socket must be a listening Unix stream socket"
    else:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))       # bound, never listen()ed
        name, want = "metrics", "IPv4 stream socket, not listening; this listener needs a listening"
    d = Activated(tmp_path / "d", [(name, sock)])
    rc, out = d.start_fails()
    assert rc == 78, out
    only_line(out, f'(fd 3, "{name}")')
    only_line(out, want)


@pytest.mark.parametrize("args,want", [
    (["--names", "query:whois"], "LISTEN_FDNAMES has more names than LISTEN_FDS sockets"),
    (["--no-names", "--fds", "2"], "LISTEN_FDS=2, but descriptor 4 is not open"),
    (["--names", "query:"], "LISTEN_FDNAMES has more names than LISTEN_FDS sockets"),
    (["--pid", "0"], "LISTEN_PID is not a process id"),
    (["--fds", "x"], "LISTEN_FDS is not a positive number"),
])
def test_malformed_environment_fails_start(tmp_path, args, want):
    qpath = str(tmp_path / "q.sock")
    d = Activated(tmp_path / "d", [("query", unix_listener(qpath))], launcher_args=args)
    rc, out = d.start_fails()
    assert rc == 78, out
    only_line(out, want)


def test_listen_pid_of_another_process_is_ignored(tmp_path):
    """A socket that would stop rasnd (UDP as whois), passed with LISTEN_PID naming another
    live process (this test's): rasnd leaves it alone and serves its own -s socket."""
    d = Activated(tmp_path / "d", [("whois", udp_socket())], launcher_args=["--pid", str(os.getpid())])
    with d.start():
        assert d.query(["8.8.8.8"])[0]["asn"] == 15169
        out = d.stderr_text()
        assert f"socket activation: LISTEN_PID={os.getpid()} is another process" in out, out
        assert "passed by the service manager" not in out, out
        assert "whois" not in harness.stats(d.sock) or harness.stats(d.sock)["whois"]["accepted"] == 0


@pytest.mark.parametrize("names", [None, "unknown", "rasnd.socket", "my-rasnd.socket"])
def test_lone_unnamed_socket_is_the_query_socket(tmp_path, names):
    """As before names existed: one socket without a name of ours (LISTEN_FDNAMES unset, or
    systemd's default, the unit's own name) is the query socket."""
    qpath = str(tmp_path / "lone.sock")
    args = ["--no-names"] if names is None else []
    d = Activated(tmp_path / "d", [(names or "x", unix_listener(qpath))], launcher_args=args)
    with d.start(query_path=qpath):
        assert harness.query(qpath, ["8.8.8.8"])[0]["asn"] == 15169
        assert not os.path.exists(d.sock)
        assert f'{qpath} (fd 3, "{names or "unknown"}")' in d.stderr_text()


@pytest.mark.skipif(not KDIG, reason="kdig missing")
def test_passed_sockets_keep_the_listeners_limits(tmp_path):
    """A passed socket changes where a listener listens, nothing else: [whois] allow still
    refuses a client outside it, and a [dns_server] listen line with the passed socket's
    address still lends its allow= (only UDP passed here: no TCP listener appears)."""
    qpath = str(tmp_path / "q.sock")
    whois_s, udp = tcp_listener(), udp_socket()
    wport, dport = port_of(whois_s), port_of(udp)
    conf = (f"[lookup]\norder = table\n[whois]\nallow = 127.0.0.2\n"
            f"[dns_server]\nlisten = 127.0.0.1:{dport} allow=192.0.2.0/24\nrrl_rate = 0\n")
    d = Activated(tmp_path / "d", [("query", unix_listener(qpath)), ("whois", whois_s), ("dns", udp)],
                  config_text=conf)
    with d.start(query_path=qpath):
        assert whois_exchange(wport) == b""                    # closed without a word
        assert b"15169   | 8.8.8.8" in whois_exchange(wport, src="127.0.0.2")
        assert harness.stats(qpath)["whois"]["refused_allow"] >= 1
        assert "status: REFUSED" in kdig_txt(dport, f"8.8.8.8.{ORIGIN}")
        assert "status:" not in kdig_txt(dport, f"8.8.8.8.{ORIGIN}", "+tcp")
        st = harness.stats(qpath)["dns_server"]
        assert st["listeners"] == 1 and st["allow_refused"] >= 1 and st["queries_tcp"] == 0, st
        # SIGHUP without that listen line: the passed listener falls back to the section's
        # allow list (default: loopback) instead of being reported as no longer configured
        d.config_text = "[lookup]\norder = table\n[whois]\nallow = 127.0.0.2\n[dns_server]\nrrl_rate = 0\n"
        d.prepare()
        d.proc.send_signal(signal.SIGHUP)
        harness.wait_for(lambda: "status: NOERROR" in kdig_txt(dport, f"8.8.8.8.{ORIGIN}"), 30,
                         "the new allow list after SIGHUP")
        assert "no longer configured" not in d.stderr_text()
