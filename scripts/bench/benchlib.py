"""Shared helpers of the scripts/bench/* benchmarks (run them with /usr/bin/python3).

Where things are:
  RASN_BUILD_DIR   meson build directory (default: <repo>/build); must be built already
  RASN_DATA_DIR    dataset directory holding asn-ipv4.csv and asn-ipv6.csv (default: <repo>/data)
  RASN_BENCH_CACHE where the pyasn (ipasn) conversion of the dataset is kept
                   (default: /tmp/rasn-bench-cache); rebuilt when the dataset changes

Every benchmark prints, besides its own report, one line per headline figure:
  SUMMARY<TAB>{json}
which scripts/bench/run collects into its table. Nothing here asserts on timings: a missed
target is reported, never turned into a failure."""
import hashlib
import json
import os
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def build_dir():
    return os.path.abspath(os.environ.get("RASN_BUILD_DIR") or os.path.join(REPO, "build"))


def data_dir():
    return os.path.abspath(os.environ.get("RASN_DATA_DIR") or os.path.join(REPO, "data"))


def datasets():
    d = data_dir()
    files = [os.path.join(d, "asn-ipv4.csv"), os.path.join(d, "asn-ipv6.csv")]
    missing = [f for f in files if not os.path.exists(f)]
    if missing:
        die("dataset missing: %s (run scripts/fetch-dataset, or set RASN_DATA_DIR)" % ", ".join(missing))
    return files


def binary(rel):
    """A built program, e.g. binary('daemon/rasnd')."""
    p = os.path.join(build_dir(), rel)
    if not os.access(p, os.X_OK):
        die("%s is not built: meson setup %s %s && ninja -C %s (or set RASN_BUILD_DIR)"
            % (p, build_dir(), REPO, build_dir()))
    return p


def die(msg):
    print("bench: " + msg, file=sys.stderr)
    sys.exit(2)


def buildtype():
    try:
        with open(os.path.join(build_dir(), "meson-info", "intro-buildoptions.json")) as f:
            for o in json.load(f):
                if o["name"] == "buildtype":
                    return o["value"]
    except (OSError, ValueError, KeyError):
        pass
    return "unknown"


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def header(name):
    print("== %s  (build %s, %s; load average %s; %d CPUs)" % (name, build_dir(), buildtype(), loadavg(),
                                                              os.cpu_count() or 0))
    sys.stdout.flush()


def rerun(script, extra=""):
    """The command that reruns this benchmark on its own."""
    env = "RASN_BUILD_DIR=%s" % shlex.quote(build_dir())
    if os.environ.get("RASN_DATA_DIR"):
        env += " RASN_DATA_DIR=%s" % shlex.quote(data_dir())
    cmd = "%s %s%s" % (env, os.path.relpath(os.path.join(HERE, script), REPO), (" " + extra) if extra else "")
    print("rerun: (cd %s && %s)" % (REPO, cmd))
    print("load average at end: %s" % loadavg())
    sys.stdout.flush()


def summary(bench, metric, value, unit, baseline=None, baseline_value=None, ratio=None, ratio_note="",
            target="", met=None):
    row = dict(bench=bench, metric=metric, value=value, unit=unit, baseline=baseline,
               baseline_value=baseline_value, ratio=ratio, ratio_note=ratio_note, target=target, met=met)
    print("SUMMARY\t" + json.dumps(row))
    sys.stdout.flush()


def median(xs):
    return statistics.median(xs)


def fmt_ratio(r):
    return "%.2fx" % r if r < 10 else "%.1fx" % r


# ---------------------------------------------------------------- pyasn data

def ipasn_file():
    """The dataset as a pyasn ipasn file (NETWORK/BITS<TAB>ASN): each CSV range cut into CIDRs
    with ipaddress.summarize_address_range, overlaps resolved first, narrowest row wins (the
    rule rasnd follows; tests/e2e/reference.py implements it independently). Cached."""
    files = datasets()
    h = hashlib.sha256()
    for f in files:
        st = os.stat(f)
        h.update(("%s %d %d\n" % (os.path.abspath(f), st.st_size, st.st_mtime_ns)).encode())
    with open(os.path.join(REPO, "tests", "e2e", "reference.py"), "rb") as f:
        h.update(f.read())
    cache = os.environ.get("RASN_BENCH_CACHE") or "/tmp/rasn-bench-cache"
    os.makedirs(cache, exist_ok=True)
    out = os.path.join(cache, "ipasn-%s.dat" % h.hexdigest()[:16])
    if os.path.exists(out):
        return out
    print("converting the dataset to pyasn's ipasn format (once; cached in %s) ..." % out)
    sys.stdout.flush()
    t0 = time.monotonic()
    sys.path.insert(0, os.path.join(REPO, "tests", "e2e"))
    import ipaddress
    import reference
    rows = []
    for f in files:
        rows.extend(reference.read_ipldb_csv(f))
    segs = reference.resolve(rows)
    n = 0
    fd, tmp = tempfile.mkstemp(dir=cache, prefix=".ipasn-")
    with os.fdopen(fd, "w") as w:
        w.write("; rasn benchmark: %s, converted for pyasn\n" % ", ".join(os.path.basename(f) for f in files))
        for fam, cls in ((4, ipaddress.IPv4Address), (6, ipaddress.IPv6Address)):
            for first, last, asn, _name in segs[fam]:
                for net in ipaddress.summarize_address_range(cls(first), cls(last)):
                    w.write("%s\t%d\n" % (net, asn))
                    n += 1
    os.chmod(tmp, 0o644)
    os.rename(tmp, out)
    print("  %d prefixes in %.1f s" % (n, time.monotonic() - t0))
    return out


# ---------------------------------------------------------------- processes

class Server:
    """A server started as a direct child, its stderr in a log file, stopped by its PID."""

    def __init__(self, argv, sock, ready_text, log, timeout=120):
        self.sock, self.log = sock, log
        self.logf = open(log, "wb")
        self.t_start = time.monotonic()
        self.p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self.logf)
        deadline = time.monotonic() + timeout
        while True:
            with open(log, "rb") as f:
                if ready_text.encode() in f.read():
                    break
            if self.p.poll() is not None:
                self.logf.close()
                raise RuntimeError("%s exited with %d before ready; its log:\n%s"
                                   % (argv[0], self.p.returncode, self.log_text()[-2000:]))
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("%s not ready after %d s; its log:\n%s" % (argv[0], timeout, self.log_text()[-2000:]))
            time.sleep(0.01)
        self.t_ready = time.monotonic()

    @property
    def pid(self):
        return self.p.pid

    def log_text(self):
        with open(self.log, "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(timeout=20)
        self.logf.close()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.stop()


def rasnd_argv(sock, extra_conf="", state_dir=None, program=None):
    # A benchmark must not retune this machine's kernel (rasnd raises sysctls when run as
    # root unless [sysctl] apply = no), nor send DNS anywhere but loopback (the system's
    # resolver is not ours: a closed loopback port unless the benchmark brings a server).
    conf = os.path.join(os.path.dirname(sock), os.path.basename(sock)[:-len(".sock")] + "-bench.conf")
    with open(conf, "w") as f:
        f.write("[sysctl]\napply = no\n" + (extra_conf or "[dns]\nservers = 127.0.0.1:1\n"))
    state_dir = state_dir or os.path.join(os.path.dirname(sock), "state")
    argv = [program or binary("daemon/rasnd"), "-c", conf, "-s", sock, "-S", state_dir]
    for f in datasets():
        argv += ["-d", f]
    return argv


def start_rasnd(workdir, name="rasnd", extra_conf="", state_dir=None, program=None):
    """program: another rasnd binary (an A/B against another build); default this build's."""
    sock = os.path.join(workdir, name + ".sock")
    return Server(rasnd_argv(sock, extra_conf, state_dir, program), sock, "ready", os.path.join(workdir, name + ".log"))


def query(sock, line, timeout=10):
    """One request line over a fresh connection; the reply line."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(sock)
        s.sendall(line.encode() + b"\n")
        buf = b""
        while b"\n" not in buf:
            d = s.recv(65536)
            if not d:
                break
            buf += d
        return buf.split(b"\n", 1)[0].decode()


def proc_status(pid):
    """VmRSS, VmHWM, RssAnon, RssFile of a process, in kB."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM", "RssAnon", "RssFile", "VmSize"):
                out[k] = int(v.split()[0])
    return out


def workdir():
    return tempfile.mkdtemp(prefix="rasn-bench-")
