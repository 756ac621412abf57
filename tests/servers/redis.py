"""A real redis-server on a Unix socket for the end-to-end tests and benchmarks: a user
process, persistence off, started as a direct child and stopped by PID (with wait()).
Restartable on the same socket path. Read and written with the real redis-cli."""
import os
import pathlib
import shutil
import signal
import subprocess
import tempfile
import time


class Redis:
    def __init__(self, tmpdir, password=None, tcp=False):
        """tcp: listen on a free loopback port too (self.port), besides the Unix socket."""
        self.dir = pathlib.Path(tmpdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        # a short path: sun_path holds 108 bytes, pytest's tmp_path can be longer
        self._sockdir = tempfile.mkdtemp(prefix="redis-", dir="/tmp")
        self.sock = os.path.join(self._sockdir, "redis.sock")
        self.password = password
        self.port = None
        if tcp:
            import sys
            sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
            import ports
            self.port = ports.free_ports(1)[0]
        self.proc = None
        self.log_path = self.dir / "redis.log"

    def argv(self):
        a = ["redis-server", "--port", str(self.port or 0), "--bind", "127.0.0.1", "--unixsocket", self.sock, "--unixsocketperm", "700",
             "--save", "", "--appendonly", "no", "--daemonize", "no", "--dir", str(self.dir)]
        if self.password:
            a += ["--requirepass", self.password]
        return a

    def start(self, timeout=30.0):
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited: {self.log_path.read_text(errors='replace')}")
            if os.path.exists(self.sock) and self.cli("PING", check=False).stdout.strip() == b"PONG":
                return self
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("redis-server did not answer PING")
            time.sleep(0.02)

    def cli(self, *args, stdin=None, check=True):
        """redis-cli on the socket; stdin (bytes) becomes the last argument with -x."""
        argv = ["redis-cli", "-s", self.sock]
        if self.password:
            argv += ["--no-auth-warning", "-a", self.password]
        if stdin is not None:
            argv.append("-x")
        p = subprocess.run(argv + [str(a) for a in args], input=stdin, capture_output=True, timeout=30)
        if check and p.returncode != 0:
            raise RuntimeError(f"redis-cli {args}: {p.stderr!r}")
        return p

    def get(self, key):
        """The raw value (bytes, without the newline redis-cli adds), or None."""
        p = self.cli("--no-raw", "STRLEN", key)
        n = int(p.stdout.split()[-1])
        if n == 0:
            return None
        return self.cli("--raw", "GET", key).stdout[:n]

    def info_stat(self, section, key):
        for line in self.cli("INFO", section).stdout.decode().splitlines():
            if line.startswith(key + ":"):
                return line.split(":", 1)[1]
        return None

    def calls(self, cmd):
        """How many times the server ran cmd (INFO commandstats: its own count)."""
        v = self.info_stat("commandstats", f"cmdstat_{cmd.lower()}")
        if not v:
            return 0
        return int(dict(kv.split("=") for kv in v.split(","))["calls"])

    def keys(self, pattern="*"):
        return [k for k in self.cli("--scan", "--pattern", pattern).stdout.decode().split("\n") if k]

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self._log.close()
        self.proc = None

    def close(self):
        self.stop()
        shutil.rmtree(self._sockdir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *a):
        self.close()
