"""`stats prometheus` and the optional /metrics endpoint: the output must pass a strict checker
of the Prometheus text format, and hold every number that `stats` shows, wherever it sits in
the JSON tree, named by the rules docs/operations.md (Metrics) gives."""
import json
import math
import os
import re
import shutil
import socket
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

import harness

pytestmark = pytest.mark.skipif(harness.missing_rasnd() is not None,
                                reason=harness.missing_rasnd() or "")

NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
VALUE = re.compile(r"^(?:[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[+-]?Inf|NaN)$")
HELP = re.compile(r"^# HELP (\S+) (\S.*)$")
TYPE = re.compile(r"^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$")
SUFFIXES = {"histogram": ("_bucket", "_sum", "_count"), "summary": ("", "_sum", "_count")}


def parse_labels(s, line):
    """'{a="x",b="y\\"z"}' -> (('a', 'x'), ('b', 'y"z')), in order; asserts the syntax."""
    assert s[0] == "{" and s[-1] == "}", line
    out, i, body = [], 0, s[1:-1]
    while i < len(body):
        m = re.match(r"[a-zA-Z_][a-zA-Z0-9_]*", body[i:])
        assert m, f"bad label name in {line!r}"
        name = m.group(0)
        assert not name.startswith("__"), f"reserved label name in {line!r}"
        i += len(name)
        assert body[i:i + 2] == '="', f"label without =\" in {line!r}"
        i += 2
        val = []
        while True:
            assert i < len(body), f"unterminated label value in {line!r}"
            c = body[i]
            if c == "\\":
                nxt = body[i + 1:i + 2]
                assert nxt in ("\\", '"', "n"), f"bad escape \\{nxt} in {line!r}"
                val.append({"\\": "\\", '"': '"', "n": "\n"}[nxt])
                i += 2
            elif c == '"':
                i += 1
                break
            else:
                assert c != "\n", line
                val.append(c)
                i += 1
        assert name not in [n for n, _ in out], f"label {name} twice in {line!r}"
        out.append((name, "".join(val)))
        if i < len(body):
            assert body[i] == ",", f"labels not separated by ',' in {line!r}"
            i += 1
            assert i < len(body), f"trailing ',' in {line!r}"
    return tuple(out)


def split_sample(line):
    """'name{labels} value' -> (name, labels, value)."""
    if "{" in line:
        name, rest = line.split("{", 1)
        # the label block ends at the last '}' (values may hold '}')
        end = rest.rindex("}")
        labels = parse_labels("{" + rest[:end + 1], line)
        tail = rest[end + 1:]
    else:
        name, _, tail = line.partition(" ")
        tail = " " + tail
        labels = ()
    assert tail.startswith(" "), f"no space before the value: {line!r}"
    parts = tail[1:].split(" ")
    assert len(parts) in (1, 2), f"junk after the value: {line!r}"   # value [timestamp]
    assert VALUE.match(parts[0]), f"bad value in {line!r}"
    if len(parts) == 2:
        assert re.match(r"^-?[0-9]+$", parts[1]), f"bad timestamp in {line!r}"
    return name, labels, float(parts[0])


def parse_strict(text, eof=True):
    """Check the text format strictly and return {family: {"type", "help", "samples":
    {(name, labels): value}}}. Asserts: every line is HELP, TYPE or a sample (no other
    comments); each family has exactly one HELP then one TYPE, before its samples, and its
    samples are contiguous (no family comes back later); sample names belong to their family
    (histograms: _bucket/_sum/_count); valid metric and label names, no label twice, valid
    escapes and values; no sample twice; counters end in _total; histogram buckets are
    cumulative with le="+Inf" equal to _count; with eof, the text ends in '# EOF\\n'."""
    assert text.endswith("\n"), "must end with a newline"
    lines = text[:-1].split("\n")
    if eof:
        assert lines[-1] == "# EOF", "must end with '# EOF'"
        lines = lines[:-1]
    assert "# EOF" not in lines, "'# EOF' before the end"
    fams, cur, seen = {}, None, set()
    state = None     # None, "help" (HELP seen, TYPE due), "samples"
    for ln in lines:
        if m := HELP.match(ln):
            name = m.group(1)
            assert NAME.match(name), ln
            assert name not in fams, f"family {name} again (not contiguous, or HELP twice): {ln}"
            assert state != "help", f"HELP without TYPE before: {ln}"
            cur = name
            fams[name] = {"help": m.group(2), "type": None, "samples": {}}
            state = "help"
        elif m := TYPE.match(ln):
            assert state == "help" and m.group(1) == cur, f"TYPE not right after its HELP: {ln}"
            fams[cur]["type"] = m.group(2)
            state = "samples"
        elif ln.startswith("#"):
            raise AssertionError(f"unexpected comment line: {ln!r}")
        else:
            assert state == "samples", f"sample outside a typed family: {ln!r}"
            name, labels, value = split_sample(ln)
            assert NAME.match(name), ln
            typ = fams[cur]["type"]
            allowed = [cur + s for s in SUFFIXES.get(typ, ("",))]
            assert name in allowed, f"sample {name} in family {cur} ({typ}): {ln}"
            if typ == "counter":
                assert name.endswith("_total"), ln
            key = (name, frozenset(labels))
            assert key not in seen, f"duplicate sample: {ln}"
            seen.add(key)
            fams[cur]["samples"][(name, labels)] = value
    assert state != "help", "last HELP without TYPE"
    for name, f in fams.items():
        assert f["samples"], f"family {name} without samples"
        if f["type"] == "histogram":
            check_histogram(name, f["samples"])
    return fams


def check_histogram(name, samples):
    series = {}
    for (n, labels), v in samples.items():
        rest = tuple(l for l in labels if l[0] != "le")
        s = series.setdefault(rest, {"buckets": [], "sum": None, "count": None})
        if n == name + "_bucket":
            le = dict(labels)["le"]
            s["buckets"].append((math.inf if le == "+Inf" else float(le), v))
        elif n == name + "_sum":
            s["sum"] = v
        else:
            s["count"] = v
    for rest, s in series.items():
        b = s["buckets"]
        assert b and b[-1][0] == math.inf, f"{name}{rest}: no le=\"+Inf\" bucket last"
        assert [x for x, _ in b] == sorted(x for x, _ in b), f"{name}{rest}: le not increasing"
        assert all(b[i][1] <= b[i + 1][1] for i in range(len(b) - 1)), f"{name}{rest}: not cumulative"
        assert s["count"] == b[-1][1], f"{name}{rest}: _count differs from the +Inf bucket"
        assert s["sum"] is not None, f"{name}{rest}: no _sum"


def samples_of(fams):
    return {k: v for f in fams.values() for k, v in f["samples"].items()}


# How the JSON tree is named in Prometheus (docs/operations.md, Metrics; daemon/metrics.h).
# Objects are groups whose keys join the name, except these maps, whose keys become a label:
MAPS = {"queries": "type", "upstreams": "upstream", "upstreams.*.retries_by": "reason"}
# Arrays of objects named by id fields (field -> label), or by their index (a label name):
LISTS = {
    "table.files": {"path": "path", "format": "format", "io": "io"},
    "dns.servers": {"server": "server"},
    "http.origins": {"origin": "origin"},
    "upstreams.*.endpoints": {"name": "endpoint"},
    "dns.channel_sent": "channel",
    "dns.sockets": "socket",
}
# Counts per batch-size bucket i in [2^i, 2^(i+1)): histograms; the sibling key holds _sum.
HISTOGRAMS = {"upstreams.*.batch_hist": "batched_keys"}
# Strings with a known set of values: one 0/1 sample per value.
ENUMS = {"upstreams.*.endpoints[].state": ("state", ("closed", "open", "half-open"))}
# Left out of the Prometheus output on purpose; everything else in the tree must be there.
EXEMPT = {
    # texts for people: reloads.failed and refresh.rejected/download_errors count the failures
    "reloads.last_error", "reloads.refresh.last_error",
    # a log of the last few breaker changes with their times; transitions_total counts them
    "upstreams.*.endpoints[].transitions",
}
# Gauges that move by themselves between the two replies (compared loosely).
MOVING = {"uptime_seconds", "upstreams.*.endpoints[].open_remaining_seconds"}


def _part(k):
    return re.sub(r"[^A-Za-z0-9_]", "_", k)


def expected(stats):
    """Every leaf of the stats tree as (kind, path, name, labels, json value)."""
    out = []

    def walk(v, path, name, labels, key, parent):
        if path in EXEMPT:
            return
        if isinstance(v, dict):
            for k, c in v.items():
                if path in MAPS:
                    walk(c, path + ".*", name, labels + ((MAPS[path], k),), k, v)
                else:
                    p = f"{path}.{k}" if path else k
                    walk(c, p, f"{name}_{_part(k)}", labels, k, v)
        elif isinstance(v, list):
            if path in HISTOGRAMS:
                out.append(("histogram", path, name, labels, (v, parent[HISTOGRAMS[path]])))
                return
            ids = LISTS.get(path)
            for i, el in enumerate(v):
                if isinstance(ids, dict) and isinstance(el, dict):
                    lab = labels + tuple((lb, el[f]) for f, lb in ids.items())
                    rest = {k: c for k, c in el.items() if k not in ids}
                    walk(rest, path + "[]", name, lab, key, v)
                else:
                    walk(el, path + "[]", name, labels + ((ids or key, str(i)),), key, v)
        elif isinstance(v, str):
            if path in ENUMS:
                out.append(("enum", path, name, labels, v))
            else:
                out.append(("string", path, name, labels + ((key, v),), 1))
        elif isinstance(v, (bool, int, float)):
            out.append(("number", path, name, labels, float(v)))
        else:
            assert v is None, f"{path}: unexpected {v!r}"

    walk(stats, "", "rasnd", (), "", None)
    return out


def check_covers(stats, fams, moving=()):
    """Every leaf of stats is in fams, with the same value (counters: not lower; moving
    gauges, MOVING and moving: present). Returns how many leaves were checked."""
    samples = samples_of(fams)
    types = {n: f["type"] for n, f in fams.items()}
    missing, wrong = [], []
    leaves = expected(stats)
    for kind, path, name, labels, v in leaves:
        if kind == "histogram":
            counts, total = v
            cum = 0
            for i, c in enumerate(counts):
                cum += c
                le = "+Inf" if i == len(counts) - 1 else str(2 ** (i + 1) - 1)
                key = (name + "_bucket", labels + (("le", le),))
                if key not in samples:
                    missing.append((path, key))
                elif samples[key] != cum:
                    wrong.append((path, key, samples[key], cum))
            if samples.get((name + "_count", labels)) != cum:
                wrong.append((path, "_count", samples.get((name + "_count", labels)), cum))
            if samples.get((name + "_sum", labels)) != total:
                wrong.append((path, "_sum", samples.get((name + "_sum", labels)), total))
            continue
        if kind == "enum":
            label, values = ENUMS[path]
            assert v in values, f"{path}: state {v!r} not among {values}"
            for val in values:
                key = (name, labels + ((label, val),))
                if samples.get(key) != (1 if val == v else 0):
                    wrong.append((path, key, samples.get(key), val == v))
            continue
        key = next(((n, labels) for n in (name, name + "_total") if (n, labels) in samples), None)
        if key is None:
            missing.append((path, name, labels))
            continue
        got = samples[key]
        if types[key[0]] == "counter":
            ok = got >= v
        elif path in MOVING or path in moving:
            ok = True
        else:
            ok = got == v
        if not ok:
            wrong.append((path, key, got, v))
    assert not missing, f"in stats but not in prometheus: {missing}"
    assert not wrong, f"values differ (path, sample, prometheus, stats): {wrong}"
    return len(leaves)


# Cymru and RIPEstat pointed at refused ports, breakers that open on the first failure: the
# upstream counters, breaker states, batch histograms and the HTTP origin list are non-zero.
BUSY_CONF = ("[lookup]\norder = cymru table\n[breaker]\nfailures = 1\n"
             "[ripestat]\nbase_url = https://127.0.0.1:1\n")


def test_stats_prometheus_has_every_counter(tmp_path):
    with harness.Rasnd(tmp_path / "d", config_text=BUSY_CONF) as d:
        r = d.query(["8.8.8.8", "10.0.0.1", "bogus", "AS15169", "9.9.9.9 @ripestat"])
        assert r[0]["asn"] == 15169 and r[2]["status"] == "error"
        # both in one write: they are answered in the same loop pass
        data = harness.exchange(d.sock, b"stats\nstats prometheus\nping\n")
        js, _, rest = data.decode().partition("\n")
        text, _, tail = rest.partition("# EOF\n")
        text += "# EOF\n"
        assert '"type":"ping"' in tail   # the connection goes on after the text
    stats = json.loads(js)["stats"]
    fams = parse_strict(text)
    n = check_covers(stats, fams)
    assert n > 150, n      # the whole tree was walked, not some of it
    # the parts an earlier version left out are really there, with what happened
    s = samples_of(fams)
    cy = (("upstream", "cymru"),)
    assert s[("rasnd_upstreams_tries_total", cy)] == stats["upstreams"]["cymru"]["tries"] >= 1
    ep = cy + (("endpoint", "127.0.0.1:1"),)
    assert s[("rasnd_upstreams_endpoints_state", ep + (("state", "open"),))] == 1
    assert s[("rasnd_upstreams_endpoints_opened_total", ep)] == 1
    assert s[("rasnd_upstreams_batch_hist_count", cy)] >= 1
    assert ("rasnd_http_origins_open", (("origin", "127.0.0.1:1"),)) in s
    assert s[("rasnd_queries_total", (("type", "invalid"),))] == 1
    assert s[("rasnd_table_hits_total", ())] == stats["table"]["hits"] >= 1
    assert fams["rasnd_table_hits_total"]["type"] == "counter"
    assert fams["rasnd_upstreams_endpoints_state"]["type"] == "gauge"
    # a number nobody described yet still appears (untyped, its path as HELP): the walk, not
    # a list, decides what is exported; daemon/stats.c's nested[] gives it a type and a text
    assert all(f["type"] != "untyped" or "no description yet" in f["help"] for f in fams.values())


def test_refresh_counters_are_exported(tmp_path):
    # [dataset] url set: reloads.refresh becomes an object (null otherwise) and must follow
    conf = (f"[dataset]\nfile = {harness.FIXTURE_DATASETS[0]}\nurl = https://127.0.0.1:1/asn.csv\n"
            "refresh = 0\n")
    with harness.Rasnd(tmp_path / "d", datasets=[], config_text=conf) as d:
        data = harness.exchange(d.sock, b"stats\nstats prometheus\n")
    js, _, text = data.decode().partition("\n")
    stats = json.loads(js)["stats"]
    assert isinstance(stats["reloads"]["refresh"], dict), stats["reloads"]
    fams = parse_strict(text)
    check_covers(stats, fams)
    assert "rasnd_reloads_refresh_runs_total" in fams
    assert samples_of(fams)[("rasnd_reloads_refresh_urls", ())] == 1


def test_strict_checker_refuses_bad_text():
    # the checker must be able to fail: each of these breaks one rule
    good = "# HELP a_total x\n# TYPE a_total counter\na_total 1\n# EOF\n"
    parse_strict(good)
    bad = [
        "# HELP a_total x\n# TYPE a_total counter\na_total 1\n",                  # no EOF
        "# TYPE a_total counter\na_total 1\n# EOF\n",                             # no HELP
        "# HELP a_total x\na_total 1\n# EOF\n",                                   # no TYPE
        "# HELP a x\n# TYPE a gauge\n# HELP b x\n# TYPE b gauge\nb 1\na 2\n# EOF\n",  # split
        "# HELP a x\n# TYPE a gauge\na 1\n# HELP a x\n# TYPE a gauge\n# EOF\n",   # family twice
        '# HELP a x\n# TYPE a gauge\na{l="1",l="2"} 1\n# EOF\n',                  # label twice
        '# HELP a x\n# TYPE a gauge\na{l="1"} 1\na{l="1"} 2\n# EOF\n',            # sample twice
        '# HELP a x\n# TYPE a gauge\na{1l="1"} 1\n# EOF\n',                       # label name
        '# HELP a x\n# TYPE a gauge\na{l="\\x"} 1\n# EOF\n',                      # escape
        "# HELP a x\n# TYPE a gauge\na 1x\n# EOF\n",                              # value
        "# HELP a x\n# TYPE a counter\na 1\n# EOF\n",                             # no _total
        "# HELP a x\n# TYPE a gauge\nb 1\n# EOF\n",                               # other name
        "# HELP a x\n# TYPE a gauge\na 1\n# other\n# EOF\n",                      # comment
        "# HELP h x\n# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\n"
        "h_sum 1\nh_count 1\n# EOF\n",                                            # not cumulative
    ]
    for t in bad:
        with pytest.raises(AssertionError):
            parse_strict(t)


def free_port():
    sys.path.insert(0, str(harness.SRCDIR / "tests" / "servers"))
    import ports
    return ports.free_ports(1)[0]


def tcp_listening(pid):
    """The local addresses (hex, as /proc/net/tcp writes them) of the TCP sockets in LISTEN
    state that process pid holds."""
    inodes = set()
    fd_dir = f"/proc/{pid}/fd"
    for fd in os.listdir(fd_dir):
        try:
            link = os.readlink(f"{fd_dir}/{fd}")
        except OSError:
            continue        # closed meanwhile
        if link.startswith("socket:[") and link.endswith("]"):
            inodes.add(link[8:-1])
    assert inodes, "rasnd holds no socket at all?"
    out = []
    for f in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(f) as fh:
            for row in fh.readlines()[1:]:
                cols = row.split()
                if len(cols) > 9 and cols[3] == "0A" and cols[9] in inodes:   # 0A: LISTEN
                    out.append(cols[1])
    return out


def test_metrics_http_endpoint(tmp_path):
    port = free_port()
    with harness.Rasnd(tmp_path / "d", config_text=f"[metrics]\nlisten = 127.0.0.1:{port}\n") as d:
        # the same look that finds nothing when the endpoint is off finds it here
        assert tcp_listening(d.proc.pid) == [f"0100007F:{port:04X}"]
        d.query(["8.8.8.8"])
        stats = d.query(["stats"])[0]["stats"]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
            assert r.status == 200
            assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
            fams = parse_strict(r.read().decode())
        # the query socket's client has gone by the time of the scrape
        check_covers(stats, fams, moving={"connections.current"})
        assert samples_of(fams)[("rasnd_table_hits_total", ())] == 1
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/other", timeout=10)
        assert e.value.code == 404
        assert f"metrics: http://127.0.0.1:{port}/metrics" in d.stderr_text()


def test_metrics_http_is_off_by_default(tmp_path):
    # No [metrics] listen: rasnd holds no listening TCP socket at all, and logs no endpoint.
    with harness.Rasnd(tmp_path / "d") as d:
        d.query(["ping"])
        assert tcp_listening(d.proc.pid) == []
        assert "metrics:" not in d.stderr_text()


def test_metrics_refuses_non_loopback(tmp_path):
    conf = tmp_path / "c.conf"
    conf.write_text("[metrics]\nlisten = 0.0.0.0:9464\n")
    p = subprocess.run([harness.rasnd_path(), "--check-config", "-c", str(conf)],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 1 and "loopback" in p.stderr


@pytest.mark.skipif(shutil.which("promtool") is None or shutil.which("knotd") is None
                    or shutil.which("curl") is None, reason="promtool, knotd or curl missing")
def test_scrape_passes_promtool_lint(tmp_path):
    """A real scrape (curl over the [metrics] listener) of a daemon that has done some work of
    every kind (table hits and misses, Cymru over a real knotd, cache hits, a RIPEstat endpoint
    whose breaker opened, a refresh configured) passes `promtool check metrics` with no lint
    message at all: base units, _total on counters, HELP everywhere. HEAD gets the headers."""
    sys.path.insert(0, str(harness.SRCDIR / "tests" / "servers"))
    import knot
    from test_dns import CYMRU_SAMPLES, cymru_zones, dns_conf
    port = free_port()
    with knot.Knot(tmp_path / "knot", cymru_zones(CYMRU_SAMPLES)) as k:
        conf = (dns_conf(k.port, order="table cymru") +
                f"[metrics]\nlisten = 127.0.0.1:{port}\n[breaker]\nfailures = 1\n"
                "[ripestat]\nbase_url = https://127.0.0.1:1\n"
                f"[dataset]\nfile = {harness.FIXTURE_DATASETS[0]}\nfile = {harness.FIXTURE_DATASETS[1]}\n"
                "url = https://127.0.0.1:1/a.csv\nurl = https://127.0.0.1:1/b.csv\nrefresh = 0\n")
        with harness.Rasnd(tmp_path / "d", datasets=[], config_text=conf) as d:
            r = d.query(["8.8.8.8", "9.9.9.9", "AS15169", "bogus", "9.9.9.9 @ripestat"])
            assert r[0]["registry"] == "arin" and r[1]["source"] == "cymru" and r[3]["status"] == "error"
            assert d.query(["9.9.9.9"])[0]["source"] == "cache"
            st = d.query(["stats"])[0]["stats"]
            assert st["upstreams"]["cymru"]["answers"] >= 2 and st["cache"]["answers"] >= 1
            assert st["upstreams"]["ripestat"]["endpoints"][0]["state"] == "open"
            assert isinstance(st["reloads"]["refresh"], dict)
            url = f"http://127.0.0.1:{port}/metrics"
            scrape = subprocess.run(["curl", "-sS", "--fail", url], capture_output=True, timeout=30)
            assert scrape.returncode == 0, scrape.stderr
            text = scrape.stdout.decode()
            assert "rasnd_upstreams_endpoints_open_remaining_seconds{" in text
            assert "rasnd_table_load_seconds " in text and "rasnd_uptime_seconds " in text
            lint = subprocess.run(["promtool", "check", "metrics"], input=scrape.stdout,
                                  capture_output=True, timeout=60)
            assert lint.returncode == 0 and lint.stdout == b"" and lint.stderr == b"", \
                (lint.returncode, lint.stdout.decode(), lint.stderr.decode())
            # the checker is not blind: the same text with a milliseconds gauge is refused
            bad = text.replace("rasnd_uptime_seconds", "rasnd_uptime_ms")
            lint = subprocess.run(["promtool", "check", "metrics"], input=bad.encode(),
                                  capture_output=True, timeout=60)
            assert lint.returncode != 0 and b"rasnd_uptime_ms" in lint.stdout + lint.stderr
            # HEAD: the GET's headers with the length of the text, and no body
            head = subprocess.run(["curl", "-sS", "--fail", "-I", url], capture_output=True, timeout=30)
            assert head.returncode == 0, head.stderr
            hdrs = head.stdout.decode().split("\r\n")
            assert hdrs[0] == "HTTP/1.1 200 OK", hdrs
            fields = {h.split(":", 1)[0].lower(): h.split(":", 1)[1].strip() for h in hdrs[1:] if ":" in h}
            assert fields["content-type"].startswith("text/plain; version=0.0.4"), fields
            assert int(fields["content-length"]) > 1000, fields
            # curl -I would swallow a body; a raw HEAD shows that none follows the headers
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                s.sendall(b"HEAD /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                raw = b""
                while chunk := s.recv(65536):
                    raw += chunk
            head_part, _, body = raw.partition(b"\r\n\r\n")
            assert head_part.startswith(b"HTTP/1.1 200") and body == b"", raw[:300]
