"""End-to-end harness shared by the pytest files: start the real rasnd (or the client tests'
stand-in) on a private Unix socket, wait for the socket with a deadline while checking that
the child is alive, query it over one pipelined connection, and stop it by PID with SIGTERM.

Environment (set by meson test): RASND and RASN are the built daemon and client, RASN_SRCDIR
the source root. Run by hand:
    RASND=build/daemon/rasnd RASN=build/client/rasn RASN_SRCDIR=. /usr/bin/python3 -m pytest tests/e2e
"""
import ctypes
import json
import os
import pathlib
import platform
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
SRCDIR = pathlib.Path(os.environ.get("RASN_SRCDIR") or HERE.parents[1])
FIXTURES = SRCDIR / "tests" / "fixtures"
FIXTURE_DATASETS = [FIXTURES / "asn-v4.csv", FIXTURES / "asn-v6.csv"]
FAKE = HERE / "fakerasnd.py"

# sockaddr_un.sun_path holds 108 bytes with the NUL; pytest's tmp_path can be longer.
_SUN_PATH_MAX = 107
_POLL_STEP = 0.02


def rasnd_path() -> str:
    return os.environ.get("RASND", "")


def rasn_path() -> str:
    return os.environ.get("RASN", "")


def _missing_binary(var: str, what: str):
    path = os.environ.get(var, "")
    if not path:
        return f"${var} is not set: run through 'meson test' or point {var} at a built {what}"
    if not os.path.isfile(path):
        return f"{what} is not built yet: {path} does not exist"
    if not os.access(path, os.X_OK):
        return f"{path} is not executable"
    return None


def missing_rasnd():
    """Why tests that need the real daemon cannot run (a skip reason), or None."""
    reason = _missing_binary("RASND", "rasnd")
    if reason:
        return reason
    for f in FIXTURE_DATASETS:
        if not f.is_file():
            return f"fixture dataset {f} is missing"
    return None


def missing_rasn():
    """Why tests that need the client cannot run (a skip reason), or None."""
    return _missing_binary("RASN", "rasn")


def wait_for_socket(path: str, proc: subprocess.Popen, timeout: float, what: str = "server"):
    """Return once path accepts a connection. Raises RuntimeError if proc exits first and
    TimeoutError after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        rc = proc.poll()
        if rc is not None:
            raise RuntimeError(f"{what} exited with status {rc} before {path} accepted connections")
        if os.path.exists(path):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.settimeout(max(0.1, deadline - time.monotonic()))
                s.connect(path)
                return
            except OSError:
                pass
            finally:
                s.close()
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{what} did not accept connections on {path} within {timeout} s")
        time.sleep(_POLL_STEP)


def _encode_lines(lines) -> bytes:
    return b"".join((l if isinstance(l, bytes) else l.encode()) + b"\n" for l in lines)


def _pipeline(s, payload, want: int, deadline: float, timeout: float, to_eof: bool) -> list:
    """Write payload on the connected socket s while reading reply lines, until want lines
    came and all of payload is written. With to_eof, then shut down the sending side and read
    until the daemon closes: a line past the expected ones (a request answered twice) is an
    error, not something left unread."""
    replies, buf, sent = [], bytearray(), 0
    sel = selectors.DefaultSelector()
    was_blocking = s.getblocking()
    try:
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
        shut = False
        while True:
            if len(replies) >= want and sent >= len(payload):
                if not to_eof:
                    break
                if not shut:
                    s.shutdown(socket.SHUT_WR)
                    shut = True
            events = selectors.EVENT_READ | (selectors.EVENT_WRITE if sent < len(payload) else 0)
            sel.modify(s, events)
            left = deadline - time.monotonic()
            if left <= 0:
                what = "EOF after" if shut else "replies after"
                raise TimeoutError(f"{len(replies)} of {want} replies, no {what} {timeout} s")
            for _, ev in sel.select(left):
                if ev & selectors.EVENT_WRITE:
                    try:
                        sent += s.send(payload[sent:sent + (1 << 16)])
                    except BlockingIOError:
                        pass
                if ev & selectors.EVENT_READ:
                    try:
                        data = s.recv(1 << 20)
                    except BlockingIOError:
                        continue
                    if not data:
                        if shut:
                            if buf:     # a last line without its LF is a reply too
                                replies.append(bytes(buf).decode(errors="replace"))
                            if len(replies) != want:
                                raise AssertionError(
                                    f"{len(replies)} reply lines for {want} expected; "
                                    f"the extra ones: {replies[want:][:3]!r}")
                            return replies
                        raise ConnectionError(
                            f"connection closed after {len(replies)} of {want} replies")
                    buf += data
                    end = buf.rfind(b"\n")
                    if end >= 0:
                        replies.extend(l.decode() for l in bytes(buf[:end]).split(b"\n"))
                        del buf[:end + 1]
                    if not shut and len(replies) > want:
                        raise AssertionError(f"{len(replies)} reply lines for {want} expected; "
                                             f"the extra ones: {replies[want:][:3]!r}")
        if buf:
            raise AssertionError(f"a partial reply line after the last expected one: {bytes(buf)[:200]!r}")
        return replies
    finally:
        sel.close()
        s.setblocking(was_blocking)


def query_raw(sock_path: str, lines, timeout: float = 60.0, expect=None, to_eof: bool = True) -> list:
    """Send request lines over one new connection, pipelined (writing while reading), and
    return the reply lines (str, no terminator): one per request unless expect says how many.
    After the last one the sending side is shut down and the connection read to its end, so
    exactly that many lines must come (to_eof=False: stop reading after them)."""
    payload = memoryview(_encode_lines(lines))
    want = len(lines) if expect is None else expect
    deadline = time.monotonic() + timeout
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.settimeout(timeout)
        s.connect(sock_path)
        return _pipeline(s, payload, want, deadline, timeout, to_eof)
    finally:
        s.close()


def query_raw_on(s, lines, timeout: float = 60.0, expect=None, to_eof: bool = False) -> list:
    """query_raw on a connection the caller already has (connected beforehand, or kept for
    more requests): by default it stays open for the caller; to_eof=True ends it as query_raw
    does and checks that nothing follows the expected replies."""
    want = len(lines) if expect is None else expect
    return _pipeline(s, memoryview(_encode_lines(lines)), want, time.monotonic() + timeout, timeout, to_eof)


def exchange(sock_path: str, chunks, timeout: float = 60.0) -> bytes:
    """Send raw bytes (one sendall per chunk), close the sending side, and return everything
    the daemon writes until it closes: for tests about framing (partial lines, CRLF, a last
    line without LF, multi-line replies)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(sock_path)
        for c in ([chunks] if isinstance(chunks, bytes) else chunks):
            s.sendall(c)
        s.shutdown(socket.SHUT_WR)
        data = bytearray()
        while True:
            d = s.recv(1 << 16)
            if not d:
                return bytes(data)
            data += d


def query(sock_path: str, lines, timeout: float = 60.0) -> list:
    """query_raw, each reply parsed as JSON."""
    return [json.loads(r) for r in query_raw(sock_path, lines, timeout)]


def query_on(s, lines, timeout: float = 60.0, to_eof: bool = False) -> list:
    """query_raw_on, each reply parsed as JSON."""
    return [json.loads(r) for r in query_raw_on(s, lines, timeout, to_eof=to_eof)]


def stats(sock_path: str, timeout: float = 60.0) -> dict:
    """The daemon's `stats` object, over a connection of its own."""
    return query(sock_path, ["stats"], timeout)[0]["stats"]


def rss_kib(pid: int) -> int:
    """A process's resident set size (VmRSS) in KiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def wait_for(cond, timeout: float, what: str, step: float = _POLL_STEP):
    """Poll cond() until it returns something true (returned) or raise TimeoutError."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{what}: not within {timeout} s")
        time.sleep(step)


# io_uring_setup(2) has the same number on x86_64 and aarch64 (the generic table).
_NR_IO_URING_SETUP = 425
_AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}


def io_uring_available() -> bool:
    """Can this process create an io_uring (kernel, sysctl kernel.io_uring_disabled, seccomp)?
    What rasnd must then report as the dataset files' io method."""
    if platform.machine() not in _AUDIT_ARCH:
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    params = ctypes.create_string_buffer(120)        # struct io_uring_params, zeroed
    fd = libc.syscall(ctypes.c_long(_NR_IO_URING_SETUP), ctypes.c_uint(4), params)
    if fd < 0:
        return False
    os.close(fd)
    return True


def deny_io_uring():
    """Install a seccomp filter in this process that fails io_uring_setup with EPERM, as
    Docker's default profile and systemd's SystemCallFilter= do; inherited across exec.
    Raises OSError when the filter cannot be installed."""
    arch = _AUDIT_ARCH.get(platform.machine())
    if arch is None:
        raise OSError(f"no seccomp filter for {platform.machine()}")

    class SockFilter(ctypes.Structure):
        _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8),
                    ("k", ctypes.c_uint32)]

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(SockFilter))]

    ld_abs, jeq_k, ret_k = 0x20, 0x15, 0x06
    prog = (SockFilter * 6)(
        SockFilter(ld_abs, 0, 0, 4),                       # seccomp_data.arch
        SockFilter(jeq_k, 0, 3, arch),                     # another ABI: allow
        SockFilter(ld_abs, 0, 0, 0),                       # seccomp_data.nr
        SockFilter(jeq_k, 0, 1, _NR_IO_URING_SETUP),
        SockFilter(ret_k, 0, 0, 0x00050000 | 1),           # SECCOMP_RET_ERRNO | EPERM
        SockFilter(ret_k, 0, 0, 0x7FFF0000))               # SECCOMP_RET_ALLOW
    fprog = SockFprog(len(prog), prog)
    libc = ctypes.CDLL(None, use_errno=True)
    PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 or \
            libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
        e = ctypes.get_errno()
        raise OSError(e, f"seccomp: {os.strerror(e)}")


def without_io_uring(argv: list) -> list:
    """argv run under deny_io_uring(): a Python wrapper installs the filter and execs argv
    (same PID, so the caller still stops it by PID)."""
    code = ("import os, sys; sys.path.insert(0, sys.argv[1]); import harness; "
            "harness.deny_io_uring(); os.execv(sys.argv[2], sys.argv[2:])")
    return [sys.executable, "-c", code, str(HERE)] + list(argv)


class Server:
    """A child process serving a Unix socket: started, waited for, stopped by PID."""

    name = "server"

    def __init__(self, tmpdir):
        self.tmpdir = pathlib.Path(tmpdir)
        self.tmpdir.mkdir(parents=True, exist_ok=True)
        self._sockdir = None
        self.sock = str(self.tmpdir / f"{self.name}.sock")
        if len(self.sock) > _SUN_PATH_MAX - 8:
            self._sockdir = tempfile.mkdtemp(prefix="rasn-", dir="/tmp")
            self.sock = os.path.join(self._sockdir, f"{self.name}.sock")
        self.stderr_path = self.tmpdir / f"{self.name}.stderr"
        self.proc = None
        self._errf = None

    def argv(self) -> list:
        raise NotImplementedError

    def prepare(self):
        """Write whatever files argv() refers to."""

    def start(self, timeout: float = 30.0):
        self.prepare()
        self._errf = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL, stdout=self._errf,
                                     stderr=subprocess.STDOUT)
        try:
            wait_for_socket(self.sock, self.proc, timeout, self.name)
        except Exception as e:
            self.stop()
            raise RuntimeError(f"{e}\n--- {self.name} output ---\n{self.stderr_text()}") from e
        return self

    def stop(self, timeout: float = 30.0):
        """SIGTERM, then wait; returns the exit status (None if never started)."""
        rc = None
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise RuntimeError(f"{self.name} did not exit within {timeout} s of SIGTERM")
            finally:
                if self._errf:
                    self._errf.close()
                    self._errf = None
        if self._sockdir:
            shutil.rmtree(self._sockdir, ignore_errors=True)
            self._sockdir = None
        return rc

    def stderr_text(self) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def query_raw(self, lines, timeout: float = 60.0, expect=None, to_eof: bool = True) -> list:
        return query_raw(self.sock, lines, timeout, expect, to_eof)

    def query(self, lines, timeout: float = 60.0) -> list:
        return query(self.sock, lines, timeout)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class Rasnd(Server):
    """The real daemon: rasnd -c CONF -s SOCK -d DATASET... EXTRA_ARGS."""

    name = "rasnd"

    def __init__(self, tmpdir, datasets=None, config_text: str = "", extra_args=(), binary=None,
                 no_io_uring: bool = False):
        super().__init__(tmpdir)
        self.no_io_uring = no_io_uring  # run under a seccomp filter that refuses io_uring
        self.binary = binary or rasnd_path()
        self.datasets = [str(d) for d in (FIXTURE_DATASETS if datasets is None else datasets)]
        self.config_text = config_text
        self.extra_args = list(extra_args)
        self.conf = self.tmpdir / "rasnd.conf"
        self.state_dir = self.tmpdir / "state"

    # Tests run as root on the host: rasnd must not tune the host's kernel from here (the
    # tuning itself is tested inside a network namespace, test_tuning.py), and no DNS query may
    # leave loopback: the system's resolver is not ours. Port 1 on loopback refuses at once;
    # tests that need DNS set [dns] servers to their own knotd.
    NO_SYSCTL = "[sysctl]\napply = no\n[dns]\nservers = 127.0.0.1:1\n"

    def sighup(self, timeout: float = 30.0) -> dict:
        """SIGHUP, then wait until the reload it starts has ended (ok or failed); returns the
        `stats` object seen then."""
        before = stats(self.sock)["reloads"]
        done = before["ok"] + before["failed"]
        self.proc.send_signal(signal.SIGHUP)
        return wait_for(lambda: (lambda st: st if st["reloads"]["ok"] + st["reloads"]["failed"] > done
                                 else None)(stats(self.sock)), timeout, "the reload SIGHUP starts")

    def prepare(self):
        self.conf.write_text(self.NO_SYSCTL + self.config_text)

    def __exit__(self, exc_type, *exc):
        rc = self.stop()
        # a sanitizer report or a crash on the way out is a failure too
        if exc_type is None and rc != 0:
            raise AssertionError(f"rasnd exited with {rc} on SIGTERM\n{self.stderr_text()}")

    def argv(self) -> list:
        # a state directory of its own: the on-disk cache never leaks between tests
        argv = [self.binary, "-c", str(self.conf), "-s", self.sock, "-S", str(self.state_dir)]
        for d in self.datasets:
            argv += ["-d", d]
        argv += self.extra_args
        return without_io_uring(argv) if self.no_io_uring else argv


class FakeRasnd(Server):
    """tests/e2e/fakerasnd.py: canned replies and faults a real daemon cannot be told to make
    (closing mid-stream, stalling). For client tests only."""

    name = "fakerasnd"

    def __init__(self, tmpdir, *fault_args):
        super().__init__(tmpdir)
        self.fault_args = [str(a) for a in fault_args]

    def argv(self) -> list:
        return [sys.executable, str(FAKE), "-s", self.sock] + self.fault_args
