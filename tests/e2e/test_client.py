"""End-to-end tests of the rasn client.

Normal behaviour is tested against the real rasnd on the fixture datasets (the `rasnd`
fixture; skipped while the daemon is not built). The stand-in fakerasnd.py is used only for
what a real daemon cannot be told to do: close the connection mid-stream, or stall.
"""
import csv
import io
import json
import os
import re
import select
import shutil
import socket
import subprocess
import threading
import time

import pytest

import harness
from harness import FakeRasnd

RASN = harness.rasn_path()
pytestmark = pytest.mark.skipif(harness.missing_rasn() is not None,
                                reason=harness.missing_rasn() or "")

CSV_HEADER = ["query", "type", "status", "ip", "asn", "prefix", "first_ip", "last_ip", "as_name",
              "cc", "error"]
CYMRU_HEADER = ("AS      | IP               | BGP Prefix          | CC | Registry | Allocated  "
                "| AS Name")


def rasn(*args, sock=None, input=None, env=None, timeout=120):
    """Run the client; RASN_SOCKET comes only from env, never from the caller's environment."""
    e = {k: v for k, v in os.environ.items() if k != "RASN_SOCKET"}
    e.update(env or {})
    argv = [RASN] + (["-s", sock] if sock else []) + list(args)
    if input is None:
        return subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, env=e,
                              timeout=timeout)
    return subprocess.run(argv, input=input, capture_output=True, env=e, timeout=timeout)


def out_lines(r):
    return r.stdout.decode().splitlines()


# --- usage and connection errors (no daemon needed) ----------------------------------------

def test_help_lists_everything():
    r = rasn("--help")
    assert r.returncode == 0, r.stderr
    text = r.stdout.decode()
    for word in ["-s, --socket", "--json", "--csv", "--cymru", "-q, --quiet", "-h, --help",
                 "-V, --version", "RASN_SOCKET", "Exit status", "blank lines", "'-'",
                 "query,type,status,ip,asn,prefix,first_ip,last_ip,as_name,cc,error"]:
        assert word in text, f"--help does not mention {word!r}"
    for code in "0123":
        assert re.search(rf"^\s+{code}\s", text, re.M), f"--help does not explain exit {code}"


def test_version():
    r = rasn("-V")
    assert r.returncode == 0
    assert re.fullmatch(rb"rasn \d+\.\d+\.\d+\S*\n", r.stdout), r.stdout


@pytest.mark.parametrize("args", [
    ["--bogus", "8.8.8.8"],
    ["-x", "8.8.8.8"],
    ["--json", "--csv", "8.8.8.8"],
    ["--cymru", "--json", "8.8.8.8"],
    ["-s"],
    ["8.8.8.8", "-"],
    ["8.8.8.8\n1.1.1.1"],
])
def test_exit_2_usage(tmp_path, args):
    # A socket that does not exist: usage errors must be reported before any connect.
    r = rasn(*args, env={"RASN_SOCKET": str(tmp_path / "absent.sock")})
    assert r.returncode == 2, (r.returncode, r.stderr)
    err = r.stderr.decode()
    assert err.startswith("rasn: ") and "usage: rasn" in err, err
    assert r.stdout == b""


def test_exit_3_socket_absent(tmp_path):
    sock = str(tmp_path / "absent.sock")
    r = rasn("8.8.8.8", sock=sock)
    assert r.returncode == 3
    err = r.stderr.decode()
    assert f"rasn: cannot connect to {sock}: No such file or directory" in err, err
    assert f"rasnd -s {sock}" in err and "systemctl start rasnd" in err, err
    assert "RASN_SOCKET" in err
    assert r.stdout == b""


def test_exit_3_stale_socket(tmp_path):
    # A socket file nobody listens on (what a killed daemon leaves behind).
    sock = str(tmp_path / "stale.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(sock)
    s.close()
    r = rasn("8.8.8.8", sock=sock)
    assert r.returncode == 3
    err = r.stderr.decode()
    assert f"cannot connect to {sock}: Connection refused" in err, err
    assert "is rasnd running?" in err


# --- against the real daemon -----------------------------------------------------------------

def test_exit_0_all_found(rasnd):
    r = rasn("8.8.8.8", "1.1.1.1", "AS15169", sock=rasnd.sock)
    assert r.returncode == 0, r.stderr
    rows = {l.split()[0]: l for l in out_lines(r) if l.strip()}
    assert rows["IP"].split()[:4] == ["IP", "ASN", "PREFIX", "AS"]
    assert rows["8.8.8.8"].split()[:3] == ["8.8.8.8", "15169", "8.8.8.0/24"]
    assert rows["8.8.8.8"].endswith("Google LLC")
    assert rows["1.1.1.1"].split()[:3] == ["1.1.1.1", "13335", "1.1.1.0/24"]
    assert rows["1.1.1.1"].endswith("Cloudflare, Inc.")
    assert rows["AS15169"].startswith("AS15169  Google LLC")
    # columns line up: the ASN column starts at the same offset in the header and the rows
    assert len({rows[k].index(rows[k].split()[1]) for k in ("IP", "8.8.8.8", "1.1.1.1")}) == 1


def test_exit_1_not_found(rasnd):
    r = rasn("8.8.8.8", "10.0.0.1", sock=rasnd.sock)
    assert r.returncode == 1, r.stderr
    row = [l for l in out_lines(r) if l.startswith("10.0.0.1")]
    assert row and "not found" in row[0], r.stdout


def test_exit_1_error(rasnd):
    r = rasn("1.2.3", sock=rasnd.sock)
    assert r.returncode == 1
    assert out_lines(r)[0].startswith("1.2.3") and "error:" in out_lines(r)[0], r.stdout


QUERIES = ["8.8.8.8", "1.1.1.1", "10.0.0.1", "AS15169", "as 13335", "AS64512",
           "prefixes AS15169", "org google", "org zzzz-no-such-org", "1.2.3", "ping",
           "2001:db8::1", "ip 8.8.8.8"]


def test_json_is_the_daemons_lines(rasnd):
    want = rasnd.query_raw(QUERIES)
    r = rasn("--json", *QUERIES, sock=rasnd.sock)
    assert r.returncode == 1, r.stderr     # 10.0.0.1, AS64512, zzzz, 1.2.3 are not ok
    assert out_lines(r) == want


def test_csv(rasnd):
    qs = ["8.8.8.8", "1.1.1.1", "6.6.6.6", "1.2.3", "AS15169"]   # 6.6.6.6: in no fixture range
    replies = dict(zip(qs, rasnd.query(qs)))
    r = rasn("--csv", *qs, sock=rasnd.sock)
    assert r.returncode == 1, r.stderr
    raw = r.stdout.decode()
    # RFC 4180: CRLF after every record
    assert raw.endswith("\r\n") and raw.count("\n") == raw.count("\r\n")
    rows = list(csv.reader(io.StringIO(raw, newline="")))
    assert rows[0] == CSV_HEADER
    assert all(len(row) == len(CSV_HEADER) for row in rows)
    by_query = {row[0]: dict(zip(CSV_HEADER, row)) for row in rows[1:]}
    assert set(by_query) == set(qs)
    g = by_query["8.8.8.8"]
    assert (g["type"], g["status"], g["ip"], g["asn"], g["prefix"], g["as_name"]) == \
        ("ip", "ok", "8.8.8.8", "15169", "8.8.8.0/24", "Google LLC")
    assert '"Cloudflare, Inc."' in raw       # the comma forces quoting
    assert by_query["1.1.1.1"]["as_name"] == "Cloudflare, Inc."
    assert by_query["6.6.6.6"]["status"] == "not_found"
    assert by_query["1.2.3"]["status"] == "error" and by_query["1.2.3"]["error"]
    assert by_query["AS15169"]["asn"] == "15169" and by_query["AS15169"]["type"] == "as"
    # every column says what the daemon's reply says
    for q, rep in replies.items():
        for col in CSV_HEADER:
            v = rep.get(col)
            assert by_query[q][col] == ("" if v is None else str(v)), (q, col)


def test_cymru(rasnd):
    qs = ["8.8.8.8", "6.6.6.6", "1.1.1.1"]   # special-purpose addresses: test_special.py
    replies = rasnd.query(qs)
    r = rasn("--cymru", *qs, sock=rasnd.sock)
    assert r.returncode == 1, r.stderr
    lines = out_lines(r)
    assert lines[0] == CYMRU_HEADER
    assert lines[1] == ("15169   | 8.8.8.8          | 8.8.8.0/24          |    |          |"
                        "            | Google LLC")
    assert lines[2] == ("NA      | 6.6.6.6          | NA                  |    |          |"
                        "            | NA")
    cf = replies[2]
    assert lines[3] == (f"{cf['asn']:<8}| {'1.1.1.1':<17}| {cf['prefix']:<20}| {cf.get('cc', ''):<3}"
                        f"|          |            | {cf['as_name']}")
    assert len(lines) == 4


def test_stdin_100k_lines_in_order(rasnd):
    n = 100_000
    lines = [f"{1 + i // 65536}.{(i // 256) % 256}.{i % 256}.9" if i % 50 else "8.8.8.8"
             for i in range(n)]
    r = rasn("--json", input=("\n".join(lines) + "\n").encode(), sock=rasnd.sock, timeout=300)
    assert r.returncode in (0, 1), r.stderr
    got = out_lines(r)
    assert len(got) == n
    assert [json.loads(l)["query"] for l in got] == lines
    assert json.loads(got[0])["asn"] == 15169


def test_stdin_dash_crlf_and_blank_lines(rasnd):
    r = rasn("--json", "-", input=b"8.8.8.8\r\n\r\n\n \t \n1.1.1.1", sock=rasnd.sock)
    assert r.returncode == 0, r.stderr
    assert [json.loads(l)["query"] for l in out_lines(r)] == ["8.8.8.8", "1.1.1.1"]


def test_overlong_lines_are_sent(rasnd):
    data = b"8.8.8.8\n" + b"x" * 5000 + b"\n" + b"y" * (1 << 20) + b"\n1.1.1.1\n"
    r = rasn("--json", input=data, sock=rasnd.sock)
    assert r.returncode == 1, r.stderr
    got = [json.loads(l) for l in out_lines(r)]
    assert [g["status"] for g in got] == ["ok", "error", "error", "ok"]
    assert got[3]["query"] == "1.1.1.1"


def test_a_long_overlong_line_does_not_hang_the_client(rasnd):
    """While rasn streams an over-long line no reply is due; once its send buffer had filled
    and then drained, it slept with stdin out of its poll set and hung (8 runs in 10 with a
    16 MiB line before the fix in client/rasn.c run()). Three runs: each gives many chances."""
    data = b"8.8.8.8\n" + b"y" * (16 << 20) + b"\n1.1.1.1\n"
    for _ in range(3):
        r = rasn("--json", input=data, sock=rasnd.sock, timeout=60)
        assert r.returncode == 1, r.stderr
        assert [json.loads(l)["status"] for l in out_lines(r)] == ["ok", "error", "ok"]


def test_rasn_socket_env(rasnd, tmp_path):
    r = rasn("8.8.8.8", env={"RASN_SOCKET": rasnd.sock})
    assert r.returncode == 0, r.stderr
    assert "Google LLC" in r.stdout.decode()
    # -s wins over the environment
    bogus = str(tmp_path / "bogus.sock")
    r = rasn("8.8.8.8", sock=rasnd.sock, env={"RASN_SOCKET": bogus})
    assert r.returncode == 0, r.stderr
    r = rasn("8.8.8.8", env={"RASN_SOCKET": bogus})
    assert r.returncode == 3 and f"cannot connect to {bogus}" in r.stderr.decode()


def test_human_forms_of_specials(rasnd):
    r = rasn("ping", "stats", "help", "org google", "prefixes AS15169", sock=rasnd.sock)
    assert r.returncode == 0, r.stderr
    text = r.stdout.decode()
    assert not any(l.lstrip().startswith("{") for l in text.splitlines()), text
    assert "ping: rasnd" in text and "stats:" in text
    assert re.search(r"^org google: \d+ match", text, re.M)
    assert re.search(r"^    AS15169 +Google LLC$", text, re.M)
    assert re.search(r"^AS15169  Google LLC: \d+ prefix", text, re.M)
    assert re.search(r"^    8\.8\.8\.0/24$", text, re.M)


def test_stats_prometheus_is_one_reply(rasnd):
    # The one multi-line reply: text up to "# EOF". The client frames it, so the replies after
    # it still pair with their queries.
    r = rasn("--json", "stats prometheus", "8.8.8.8", "STATS Prometheus", "ping",
             sock=rasnd.sock)
    assert r.returncode == 0, r.stderr
    lines = out_lines(r)
    eofs = [i for i, l in enumerate(lines) if l == "# EOF"]
    assert len(eofs) == 2 and lines[0].startswith("# ")
    assert json.loads(lines[eofs[0] + 1])["query"] == "8.8.8.8"
    assert json.loads(lines[-1])["query"] == "ping"
    r = rasn("--csv", "stats prometheus", "ping", sock=rasnd.sock)
    assert r.returncode == 0, r.stderr
    rows = list(csv.reader(io.StringIO(r.stdout.decode(), newline="")))
    assert [row[:3] for row in rows[1:]] == [["stats prometheus", "stats", "ok"],
                                             ["ping", "ping", "ok"]]


def test_cymru_bulk_input_is_accepted(rasnd):
    # A list written for `nc whois.cymru.com 43`: the block markers and option words are not
    # sent (rasnd would answer them with a varying number of rows), the rest are queries.
    data = b"begin\nverbose\nnoheader\n8.8.8.8\n10.0.0.1\nend\n"
    r = rasn("--cymru", input=data, sock=rasnd.sock)
    assert r.returncode == 1, r.stderr     # 10.0.0.1 is not found
    lines = out_lines(r)
    assert lines[0] == CYMRU_HEADER
    assert lines[1].startswith("15169   | 8.8.8.8 ") and lines[2].startswith("NA      | 10.0.0.1 ")
    assert len(lines) == 3
    assert "begin/end and option lines are skipped" in r.stderr.decode()


def readme_one_liners():
    """The commands under README's "From other programs:", as written there."""
    text = (harness.SRCDIR / "README.md").read_text()
    block = text.split("From other programs", 1)[1].split("\n\n", 2)[1]
    cmds = [l[4:] for l in block.splitlines() if l.startswith("    ")]
    assert len(cmds) == 3, cmds
    return cmds


@pytest.mark.parametrize("which", ["socat", "nc", "python3"])
def test_readme_one_liners(rasnd, tmp_path, which):
    cmd = next(c for c in readme_one_liners() if c.startswith(which + " ") or f"| {which} " in c)
    tool = shutil.which(which)
    if tool is None:
        pytest.fail(f"{which} is not installed: scripts/setup --tests installs it "
                    "(Debian packages socat, netcat-openbsd)")
    qs = [f"{1 + i % 200}.{i % 256}.{i % 7}.1" for i in range(5000)] + ["8.8.8.8"]
    (tmp_path / "addresses.txt").write_text("".join(q + "\n" for q in qs))
    r = subprocess.run(["bash", "-c", cmd.replace("/run/rasn/rasnd.sock", rasnd.sock)],
                       cwd=tmp_path, capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    got = r.stdout.decode().splitlines()
    if which == "nc":
        want_q = qs
    elif which == "socat":
        want_q = ["8.8.8.8", "1.1.1.1"]
    else:
        want_q = ["8.8.8.8"]
        got = [g for g in got if g]           # print() adds a blank line after the reply
    assert got == rasnd.query_raw(want_q)


def _hold_the_only_slot(d):
    """A connection to d (max_clients = 1) that has work pending: admitted (its ping answered;
    retried while the start-up probe's connection still holds the slot), then many requests
    sent and nothing more read (its answers stay queued: no fair policy may close it as idle)."""
    def admitted():
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(d.sock)
        try:
            (r,) = harness.query_on(s, ["ping"], timeout=30)
        except (OSError, TimeoutError, ValueError):
            r = None
        if r and r["status"] == "ok":
            return s
        s.close()
        return None
    s = harness.wait_for(admitted, 30, "a connection admitted at max_clients = 1")
    s.setblocking(False)
    payload, sent = b"8.8.8.8\n" * 50_000, 0
    try:
        while sent < len(payload):
            sent += s.send(payload[sent:])
    except BlockingIOError:
        pass
    harness.wait_for(lambda: select.select([s], [], [], 0)[0], 30, "the held connection's replies")
    return s


def test_too_many_clients_is_exit_3_not_an_answer(tmp_path):
    """At max_clients rasnd refuses with one line and closes: rasn must say so and exit 3, not
    take the refusal for the answer to its first query (it exited 1), whether its write
    succeeded or hit EPIPE/ECONNRESET (a long stdin still being sent)."""
    with harness.Rasnd(tmp_path / "d", config_text="[server]\nmax_clients = 1\n") as d:
        held = _hold_the_only_slot(d)
        try:
            for args, inp in [(["8.8.8.8"], None), (["stats prometheus"], None),
                              (["--json"], b"8.8.8.8\n" * 200_000)]:
                r = rasn(*args, sock=d.sock, input=inp, timeout=60)
                err = r.stderr.decode()
                assert r.returncode == 3, (r.returncode, err, r.stdout[:300])
                assert "rasnd refused the connection: too many clients" in err, err
                assert "max_clients" in err
                assert b"8.8.8.8" not in r.stdout and b"error" not in r.stdout, r.stdout[:300]
        finally:
            held.close()
        # the slot is free once rasnd has seen the close: the same client then succeeds
        harness.wait_for(lambda: rasn("8.8.8.8", sock=d.sock, timeout=60).returncode == 0, 30,
                         "rasn answered after the held connection closed")


def test_a_closed_stdout_is_a_quiet_end(rasnd):
    """rasn ... | head -1: head leaves after one line, rasn's next write is EPIPE; it ends
    quietly with the status of the replies so far (0), not killed by SIGPIPE (141)."""
    data = b"8.8.8.8\n" * 200_000   # megabytes of output: far more than a pipe holds
    rd, wr = os.pipe()
    p = subprocess.Popen([RASN, "-s", rasnd.sock, "--json"], stdin=subprocess.PIPE, stdout=wr,
                         stderr=subprocess.PIPE)
    os.close(wr)
    head = subprocess.Popen(["head", "-1"], stdin=rd, stdout=subprocess.PIPE)
    os.close(rd)
    def feed():
        try:
            p.stdin.write(data)
            p.stdin.close()
        except BrokenPipeError:
            pass                       # rasn left before reading all of it: expected
    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    first = head.communicate(timeout=60)[0]
    assert head.returncode == 0 and json.loads(first)["query"] == "8.8.8.8"
    err = p.stderr.read()
    assert p.wait(60) == 0, (p.returncode, err)
    assert err == b""
    feeder.join(60)


# --- faults only the stand-in can produce ---------------------------------------------------

@pytest.fixture
def fake(tmp_path):
    servers = []

    def start(*fault_args):
        s = FakeRasnd(tmp_path / f"fake{len(servers)}", *fault_args)
        servers.append(s)
        return s.start()
    yield start
    for s in servers:
        s.stop()


@pytest.mark.parametrize("partial", [False, True])
def test_daemon_closes_mid_stream(fake, partial):
    d = fake("--close-after", 5, *(["--close-partial"] if partial else []))
    qs = [f"8.8.8.{i}" for i in range(20)]
    r = rasn("--json", *qs, sock=d.sock, timeout=60)
    assert r.returncode == 3
    got = out_lines(r)
    assert [json.loads(l)["query"] for l in got] == qs[:5]   # no half line printed
    err = r.stderr.decode()
    assert "closed the connection" in err and "15 of 20 queries sent were unanswered" in err, err


def test_a_reason_line_mid_stream_is_no_answer(fake):
    """A line that answers no request (rasnd's refusal shape, sent before it closes) after
    some answers: reported as why rasnd closed, not printed or counted as an answer; exit 3."""
    d = fake("--close-after", 5, "--close-reason", "idle connection closed")
    qs = [f"8.8.8.{i}" for i in range(20)]
    r = rasn("--json", *qs, sock=d.sock, timeout=60)
    assert r.returncode == 3
    assert [json.loads(l)["query"] for l in out_lines(r)] == qs[:5]
    err = r.stderr.decode()
    assert "rasnd closed the connection: idle connection closed" in err, err
    assert "15 of 20 queries sent were unanswered" in err, err


def test_an_empty_request_is_answered_not_a_refusal(rasnd):
    """rasnd answers an empty line with an empty query ("empty request"): that is an answer."""
    r = rasn("--json", "", "8.8.8.8", sock=rasnd.sock)
    got = [json.loads(l) for l in out_lines(r)]
    assert r.returncode == 1, r.stderr
    assert [g["query"] for g in got] == ["", "8.8.8.8"] and got[0]["error"] == "empty request"


def test_daemon_closes_during_big_stdin(fake):
    d = fake("--close-after", 1000)
    data = b"8.8.8.8\n" * 200_000
    t0 = time.monotonic()
    r = rasn("--json", input=data, sock=d.sock, timeout=60)
    assert r.returncode == 3
    assert len(out_lines(r)) == 1000
    assert "unanswered" in r.stderr.decode()
    assert time.monotonic() - t0 < 30


def test_daemon_stalls_reading(fake):
    # The daemon stops reading for 2 s: the client's writes back up, it must keep reading
    # replies and finish once the daemon resumes.
    d = fake("--stall-after", 1000, "--stall-seconds", 2, "--stall-mode", "read")
    lines = [f"8.8.8.{i % 256}" for i in range(100_000)]
    r = rasn("--json", input=("\n".join(lines) + "\n").encode(), sock=d.sock, timeout=120)
    assert r.returncode == 0, r.stderr
    assert [json.loads(l)["query"] for l in out_lines(r)] == lines


def test_window_bounds_outstanding_requests(fake, tmp_path):
    # The daemon reads but does not answer for 2 s: the client must stop sending after its
    # window of outstanding requests instead of pushing the whole input.
    log = tmp_path / "fake.log"
    d = fake("--stall-after", 10, "--stall-seconds", 2, "--stall-mode", "answer", "--log", log)
    n = 200_000
    r = rasn("--json", input=b"1.1.1.1\n" * n, sock=d.sock, timeout=120)
    assert r.returncode == 0, r.stderr
    assert len(out_lines(r)) == n
    recs = [json.loads(l) for l in log.read_text().splitlines()]
    worst = max(rec["max_outstanding"] for rec in recs)
    assert 10 <= worst <= 65536, recs


def test_stdin_is_streamed_not_slurped(fake):
    # While the daemon reads nothing, the client may buffer only a bounded amount of stdin.
    # The stand-in answers nothing during its stall, so the first reply marks the stall's
    # end: how much stdin was taken by then is what the client took while the daemon stalled.
    d = fake("--stall-after", 1, "--stall-seconds", 3, "--stall-mode", "read")
    line = b"8.8.8.8" + b" " * 1000 + b"\n"   # trailing blanks are ignored by the daemon
    n = 20_000                                # about 20 MB of input
    p = subprocess.Popen([RASN, "-s", d.sock, "--json"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    written = [0]
    at_first_reply = []
    out = bytearray()
    err = []

    def feed():
        try:
            for _ in range(n):
                p.stdin.write(line)
                written[0] += len(line)
            p.stdin.close()
        except BrokenPipeError:
            pass

    def drain_out():
        fd = p.stdout.fileno()
        while True:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return
            if not at_first_reply:
                at_first_reply.append(written[0])
            out.extend(chunk)

    threads = [threading.Thread(target=feed, daemon=True),
               threading.Thread(target=drain_out, daemon=True),
               threading.Thread(target=lambda: err.append(p.stderr.read()), daemon=True)]
    for t in threads:
        t.start()
    try:
        p.wait(120)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    for t in threads:
        t.join(10)
    assert p.returncode == 0, err
    assert len(out.splitlines()) == n
    during_stall = at_first_reply[0]
    # a client that slurps has taken all 20 MB by then (writing them into a pipe is fast)
    assert during_stall < 6 * 1024 * 1024, f"{during_stall} bytes of stdin taken during a stall"


def _run_on_pty(argv):
    """Run argv with stderr on a pseudo-terminal; returns (process result, stderr bytes)."""
    import pty
    master, slave = pty.openpty()
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    got = bytearray()
    out_chunks = []
    t = threading.Thread(target=lambda: out_chunks.append(p.stdout.read()), daemon=True)
    t.start()
    while True:
        r, _, _ = select.select([master], [], [], 0.1)
        if r:
            try:
                chunk = os.read(master, 4096)
            except OSError:        # EIO: the child closed the terminal
                break
            if not chunk:
                break
            got += chunk
        elif p.poll() is not None:
            break
    p.wait(60)
    t.join(10)
    os.close(master)
    return p, b"".join(out_chunks), bytes(got)


@pytest.mark.parametrize("quiet", [False, True])
def test_progress_on_a_terminal(fake, quiet):
    d = fake("--stall-after", 1, "--stall-seconds", 2.5, "--stall-mode", "answer")
    argv = [RASN, "-s", d.sock, "--json"] + (["-q"] if quiet else []) + ["8.8.8.8", "1.1.1.1"]
    p, out, err = _run_on_pty(argv)
    assert p.returncode == 0, err
    assert len(out.splitlines()) == 2
    if quiet:
        assert err == b""
    else:
        assert re.search(rb"rasn: 2 sent, 0 answered", err), err
