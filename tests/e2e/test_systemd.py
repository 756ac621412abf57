"""rasnd under a service manager, played by the test: readiness notification to
$NOTIFY_SOCKET (path and abstract), and socket activation through LISTEN_FDS."""
import os
import signal
import socket
import subprocess
import time

import pytest

import harness

pytestmark = pytest.mark.skipif(harness.missing_rasnd() is not None,
                                reason=harness.missing_rasnd() or "")


def recv_until(sock, want, deadline_s=30.0):
    """Collect notify datagrams until one holds the line `want`; returns all received."""
    got = []
    deadline = time.monotonic() + deadline_s
    while True:
        left = deadline - time.monotonic()
        assert left > 0, f"no {want!r} within {deadline_s} s; got {got}"
        sock.settimeout(left)
        msg = sock.recv(4096).decode()
        got.append(msg)
        if want in msg.split("\n"):
            return got


def can_query(path):
    try:
        return harness.query(path, ["ping"], timeout=5)[0]["status"] == "ok"
    except OSError:
        return False


def status_of(msg):
    """The STATUS= value of a notify datagram (exactly one)."""
    st = [l[len("STATUS="):] for l in msg.split("\n") if l.startswith("STATUS=")]
    assert len(st) == 1, msg
    return st[0]


def serving(stats):
    t = stats["table"]
    return f"serving {t['ranges_v4']} IPv4 and {t['ranges_v6']} IPv6 ranges, {t['asns']} ASes"


def mono_usec():
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000


@pytest.mark.parametrize("abstract", [False, True])
def test_notify_ready_reload_stopping(tmp_path, abstract):
    n = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if abstract:
        name = f"rasn-test-{os.getpid()}-{time.monotonic_ns()}"
        n.bind("\0" + name)
        env_path = "@" + name
    else:
        env_path = str(tmp_path / "notify")
        n.bind(env_path)
    # a dataset of our own, changed between reloads
    v4 = tmp_path / "v4.csv"
    rows = harness.FIXTURE_DATASETS[0].read_text().splitlines(keepends=True)
    v4.write_text("".join(rows))
    d = harness.Rasnd(tmp_path / "d", datasets=[v4, harness.FIXTURE_DATASETS[1]])
    d.prepare()
    errf = open(d.stderr_path, "wb")
    d.proc = subprocess.Popen(d.argv(), stdout=errf, stderr=subprocess.STDOUT,
                              env=dict(os.environ, NOTIFY_SOCKET=env_path))
    try:
        msgs = recv_until(n, "READY=1")
        # READY is sent only once the socket answers from the loaded table: a real lookup,
        # right now, no waiting
        r = harness.query(d.sock, ["8.8.8.8", "stats"], timeout=5)
        assert r[0]["asn"] == 15169 and r[0]["source"] == "table", r[0]
        first = r[1]["stats"]
        assert status_of(msgs[-1]) == serving(first)
        assert first["table"]["ranges_v4"] == len(rows)

        # a smaller dataset: STATUS after the reload counts the new table, not the old one
        v4.write_text("".join(rows[:len(rows) // 2]))
        before = mono_usec()
        d.proc.send_signal(signal.SIGHUP)
        msgs = recv_until(n, "RELOADING=1")
        after = mono_usec()
        usec = [int(l.split("=", 1)[1]) for l in msgs[-1].split("\n") if l.startswith("MONOTONIC_USEC=")]
        # the daemon's CLOCK_MONOTONIC, read between our SIGHUP and our receiving it
        assert len(usec) == 1 and before <= usec[0] <= after, (before, usec, after)
        msgs = recv_until(n, "READY=1")
        second = d.query(["stats"])[0]["stats"]
        assert second["reloads"]["ok"] == 1
        assert second["table"]["ranges_v4"] == len(rows) // 2
        assert status_of(msgs[-1]) == serving(second)

        # a broken dataset: the old table stays, and STATUS says the reload failed and why
        v4.write_text("".join(rows[:10]) + "this line is garbage\n")
        d.proc.send_signal(signal.SIGHUP)
        recv_until(n, "RELOADING=1")
        msgs = recv_until(n, "READY=1")
        third = d.query(["stats"])[0]["stats"]
        assert third["reloads"]["failed"] == 1 and third["table"] == second["table"] | {
            "hits": third["table"]["hits"], "misses": third["table"]["misses"]}
        st = status_of(msgs[-1])
        assert st.startswith(serving(second) + "; last reload failed: "), st
        assert f"{v4}:11" in st, st      # file:line of the bad row

        d.proc.send_signal(signal.SIGTERM)
        msgs = recv_until(n, "STOPPING=1")
        assert d.proc.wait(30) == 0
    finally:
        if d.proc.poll() is None:
            d.proc.kill()
            d.proc.wait()
        errf.close()
        n.close()


def test_socket_activation(tmp_path):
    path = str(tmp_path / "activated.sock")
    ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ls.bind(path)
    ls.listen(16)
    conf = tmp_path / "rasnd.conf"
    conf.write_text(harness.Rasnd.NO_SYSCTL)
    other = str(tmp_path / "unused.sock")  # the configured path must not be used
    argv = [harness.rasnd_path(), "-c", str(conf), "-s", other]
    for f in harness.FIXTURE_DATASETS:
        argv += ["-d", str(f)]
    fd = ls.fileno()
    # the shell makes LISTEN_PID its own pid, which exec keeps for rasnd; fd -> 3
    p = subprocess.Popen(["/bin/bash", "-c", f'LISTEN_PID=$$ LISTEN_FDS=1 exec "$@" 3<&{fd}', "sh"] + argv,
                         pass_fds=(fd,), stderr=subprocess.PIPE, text=True)
    ls.close()  # only rasnd holds it now
    try:
        deadline = time.monotonic() + 30
        while not can_query(path):
            assert p.poll() is None, p.stderr.read()
            assert time.monotonic() < deadline
            time.sleep(0.02)
        r = harness.query(path, ["8.8.8.8"])[0]
        assert r["asn"] == 15169
        assert not os.path.exists(other)
        p.send_signal(signal.SIGTERM)
        assert p.wait(30) == 0
        assert os.path.exists(path), "rasnd removed a socket file it did not create"
        assert "passed by the service manager" in p.stderr.read()
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
