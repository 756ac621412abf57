"""A real knotd on loopback for the end-to-end tests: zones written from text the test
gives, a free port, started as a direct child and stopped by PID."""
import os
import pathlib
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time


def free_udp_port():
    """A port free for UDP and TCP both (knotd binds the two), below the ephemeral range so no
    outgoing connection can take it before knotd binds it (ports.py)."""
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
    import ports
    return ports.free_ports(1, udp=True)[0]


def dns_query_once(port, name, qtype=1, timeout=0.5):
    """A minimal UDP query (for readiness only); returns the rcode or None on no answer."""
    qid = os.getpid() & 0xffff
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\0" + struct.pack(">HH", qtype, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        s.sendto(q, ("127.0.0.1", port))
        data, _ = s.recvfrom(4096)
        return data[3] & 0x0f
    except OSError:
        return None
    finally:
        s.close()


class Knot:
    def __init__(self, tmpdir, zones, port=None, stats=False):
        """zones: {origin: zone file text (without $ORIGIN)}. stats: count queries per zone
        (knotd's mod-stats, read with knotc through a control socket): zone_queries()."""
        self.stats = stats
        self.ctl = None
        self.dir = pathlib.Path(tmpdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.zones = zones
        self.port = port or free_udp_port()
        self.proc = None

    def start(self, timeout=30):
        zdir = self.dir / "zones"
        zdir.mkdir(exist_ok=True)
        (self.dir / "db").mkdir(exist_ok=True)
        conf = [
            "server:",
            f'    rundir: "{self.dir}"',
            f"    listen: 127.0.0.1@{self.port}",
            "log:",
            "  - target: stderr",
            "    any: info",
            "database:",
            f'    storage: "{self.dir}/db"',
        ]
        if self.stats:
            # a short path: sun_path holds 108 bytes, pytest's tmp_path can be longer
            self.ctl = tempfile.mkdtemp(prefix="knot-", dir="/tmp")
            conf += ["control:", f'    listen: "{self.ctl}/knot.sock"',
                     "mod-stats:", "  - id: default", "    query-type: on"]
        conf += [
            "template:",
            "  - id: default",
            f'    storage: "{zdir}"',
            "    zonefile-sync: -1",
            "    journal-content: none",
            "    semantic-checks: off",
        ] + (["    module: mod-stats/default"] if self.stats else []) + [
            "zone:",
        ]
        for origin, text in self.zones.items():
            fn = origin.rstrip(".") + ".zone"
            (zdir / fn).write_text(f"$ORIGIN {origin.rstrip('.')}.\n$TTL 300\n" + text)
            conf += [f"  - domain: {origin.rstrip('.')}", f"    file: {fn}"]
        (self.dir / "knot.conf").write_text("\n".join(conf) + "\n")
        self.log = open(self.dir / "knotd.log", "wb")
        self.proc = subprocess.Popen(["knotd", "-c", str(self.dir / "knot.conf")],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        # ready when every zone is loaded: its SOA answers NOERROR (knotd loads zones one by
        # one, and a zone not loaded yet answers REFUSED)
        deadline = time.monotonic() + timeout
        for zone in self.zones:
            while dns_query_once(self.port, zone, 6) != 0:
                if self.proc.poll() is not None:
                    raise RuntimeError("knotd exited:\n" + (self.dir / "knotd.log").read_text())
                if time.monotonic() > deadline:
                    raise TimeoutError(f"knotd did not answer for {zone}")
                time.sleep(0.05)
        return self

    def zone_queries(self, zone):
        """Queries the server has answered for zone, by its own count (mod-stats); start()'s
        readiness probe counts one per zone."""
        out = subprocess.run(["knotc", "-s", f"{self.ctl}/knot.sock", "zone-stats", zone.rstrip(".") + ".",
                              "mod-stats.server-operation"], capture_output=True, text=True, timeout=30)
        n = 0
        for line in out.stdout.splitlines():
            if "server-operation[query]" in line:
                n += int(line.rsplit("=", 1)[1])
        if out.returncode != 0 and "no data" not in (out.stdout + out.stderr).lower():
            raise RuntimeError(f"knotc zone-stats: {out.stdout}{out.stderr}")
        return n

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.log.close()
        self.proc = None
        if self.ctl:
            shutil.rmtree(self.ctl, ignore_errors=True)
            self.ctl = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *a):
        self.stop()
