"""A real nginx 1.22 on loopback as the HTTP/2 + TLS upstream of the end-to-end tests:
RIPEstat-shaped JSON computed from the fixture dataset, static files with ETags, injected
faults and delays, certificates good and bad, and an access log that shows connection reuse,
multiplexing and TLS resumption from the server's side.

    from nginx import Nginx, RipeFixtures
    ripe = RipeFixtures.for_addresses(["8.8.8.8", "2001:4860::8888"], searchcomplete=["google"])
    with Nginx(tmp_path / "ngx", ripestat=ripe, files={"asn-v4.csv": data},
               faults={"network-info": {"9.9.9.0/24": (503, None)}}) as ngx:
        conf = (f"[ripestat]\\nbase_url = {ngx.url('h2')}\\n"
                f"[http]\\nca_file = {ngx.ca_file}\\n")
        ...
        ngx.wait_log(lambda e: e["block"] == "h2" and e["status"] == 200)

Blocks (self.port[name], self.url(name)), each on its own free 127.0.0.1 port, each serving
the same locations:
    h2         ssl http2, keepalive_requests 100000, keepalive_timeout 300s, 128 streams
    oneshot    ssl http2, keepalive_requests 1: one request per connection (then GOAWAY /
               Connection: close)
    h1         ssl without http2: ALPN gives http/1.1, HTTP/1.1 keep-alive
    expired    a certificate for localhost/127.0.0.1 from the trusted CA, expired in 2020
    wronghost  a certificate for DNS:wrong.example only, from the trusted CA
    untrusted  a certificate for localhost/127.0.0.1 from a second CA nobody trusts
    noetag     as h2 with `etag off`: files carry Last-Modified only (If-Modified-Since)
    tls12      as h2 but TLS 1.2 only (where resuming a session saves a round trip)
    nostreams  as h2 but SETTINGS_MAX_CONCURRENT_STREAMS 0: no request is ever allowed
self.ca_file is the trusted CA (PEM).

Locations:
    /data/network-info/data.json?resource=R    (also as-overview, announced-prefixes,
    /data/CALL/data.json?resource=R             searchcomplete) the file
                          WWW/data/CALL/by-resource/<file_key(R)>.json, else a JSON 404
                          {"status":"error","status_code":404,...}; R is the raw query value
                          (not URL-decoded): an address, a prefix (the '/' or '%2F' becomes
                          '_'), an AS number, or a search term made of [A-Za-z0-9._~:@%+,-];
                          anything else gets a JSON 400.
    /files/NAME           static files (files=, set_file()); ETag and Last-Modified, 304 on a
                          matching If-None-Match.
    /flaky/...            (flaky=True) proxied over HTTP/1.1 keep-alive to tests/servers/flaky.py,
                          which serves the same fixture files and fails on command: a rasnd
                          [ripestat] base_url of self.flaky_base_url() (= url("h2") + "/flaky")
                          makes rasnd ask /flaky/data/CALL/data.json?resource=R.
    /__gen                the config generation (reload()).
    anything else         a JSON 404.

Search terms: the file names are the percent-encoded forms rasnd sends (rasn_ripe_url():
everything but unreserved characters and ':' '@' is %XX-encoded, upper-case hex), written
also with lower-case hex and '+' for spaces; the term is matched case-insensitively against
the dataset's names, as reference.py's org() does. A term containing '/' is not supported.

Faults and delays (static, per call and raw resource; "files" is keyed by file name; "*" is
any resource): faults={"network-info": {"9.9.9.0/24": (503, None), "1.1.1.0/24": (429, 1)}}
answers that status with a JSON error body (and Retry-After: N when N is not None);
delays={("network-info", "8.8.8.0/24"): 0.5} makes nginx sleep (echo_sleep) before serving the
file. Change both at run time with set_faults()/set_delays() + reload(), or use the flaky
backend, which needs no reload.

Log: self.log() parses the access log (one JSON object a line, nginx's escape=json) into dicts
with keys block, msec (float, s since the epoch), connection, connection_requests (int),
ssl_session_reused ("r" or "."), ssl_protocol, alpn, protocol ("HTTP/2.0", "HTTP/1.1"),
status (int), method, uri (= $request_uri), args, resource (raw $arg_resource), body_bytes_sent
(int), if_none_match, if_modified_since, etag (sent), last_modified (sent), retry_after (sent),
request_time (float), upstream_status, host. nginx writes a line when a request ends: use wait_log(pred) rather than reading at once.

Files that workers read live in self.www: tmpdir/www when every directory above tmpdir is
world-searchable, else a private mkdtemp under /tmp (pytest's tmp_path sits under a 0700
directory, and workers run as nobody when nginx is started as root); close() removes it.
"""
import datetime
import ipaddress
import json
import os
import pathlib
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

HERE = pathlib.Path(__file__).resolve().parent
SRCDIR = pathlib.Path(os.environ.get("RASN_SRCDIR") or HERE.parents[1])
FIXTURE_DATASETS = [SRCDIR / "tests" / "fixtures" / "asn-v4.csv", SRCDIR / "tests" / "fixtures" / "asn-v6.csv"]
ECHO_MODULE = "/usr/lib/nginx/modules/ngx_http_echo_module.so"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
BLOCKS = ("h2", "oneshot", "h1", "expired", "wronghost", "untrusted", "noetag", "tls12", "nostreams")
CALLS = ("network-info", "as-overview", "announced-prefixes", "searchcomplete")
_POLL = 0.02

_ref = None
_ref_lock = threading.Lock()


def reference():
    """tests/e2e/reference.py's Reference over the fixture datasets, built once."""
    global _ref
    with _ref_lock:
        if _ref is None:
            e2e = str(SRCDIR / "tests" / "e2e")
            if e2e not in sys.path:
                sys.path.insert(0, e2e)
            from reference import Reference
            _ref = Reference(FIXTURE_DATASETS)
        return _ref


def free_tcp_ports(n):
    """n distinct free loopback ports, below the ephemeral range (see ports.py)."""
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    import ports
    return ports.free_ports(n)


def free_tcp_port():
    return free_tcp_ports(1)[0]


# ---------------------------------------------------------------- RIPEstat fixtures

def file_key(resource: str):
    """The file name (without .json) nginx's map gives a raw resource= value, or None when
    nginx answers 400 for it. Mirrors the map in the generated nginx.conf."""
    m = re.fullmatch(r"([0-9A-Fa-f.:]+)(?:/|%2[Ff])([0-9]{1,3})", resource)
    if m:
        return f"{m.group(1)}_{m.group(2)}"
    if re.fullmatch(r"[A-Za-z0-9._~:@%+,-]+", resource) and resource not in (".", ".."):
        return resource
    return None


def rasn_encode(term: str) -> str:
    """A resource as rasn_ripe_url() puts it in the query: unreserved and ':' '/' '@' kept,
    everything else %XX (upper-case hex) of its UTF-8 bytes."""
    return urllib.parse.quote(term, safe=":/@~")


def envelope(call, resource, data, status="ok", status_code=200, messages=None):
    return {
        "messages": messages or [],
        "see_also": [],
        "version": "1.0",
        "data_call_name": call,
        "data_call_status": "supported",
        "cached": False,
        "data": data,
        "query_id": f"20240101000000-rasn-test-{call}",
        "process_time": 1,
        "server_id": "app-test",
        "build_version": "rasn-test",
        "status": status,
        "status_code": status_code,
        "time": "2024-01-01T00:00:00.000000",
    }


def error_body(code, message):
    return {"status": "error", "status_code": code, "messages": [["error", message]], "data": {}}


def _first_address(resource):
    r = resource.strip()
    try:
        if "/" in r:
            return ipaddress.ip_network(r, strict=False).network_address
        return ipaddress.ip_address(r)
    except ValueError:
        return None


def _asn_of(resource):
    r = str(resource).strip()
    if r[:2].upper() == "AS":
        r = r[2:]
    if not r.isdigit():
        raise ValueError(f"not an AS number: {resource!r}")
    return int(r)


def network_info_data(resource, ref=None):
    """data for network-info: the row holding the resource's first address."""
    ref = ref or reference()
    a = _first_address(resource)
    hit = ref.lookup(str(a)) if a is not None else None
    if hit is None:
        return {"asns": [], "prefix": None}
    return {"asns": [str(hit["asn"])], "prefix": hit["prefix"]}


def as_overview_data(resource, ref=None):
    ref = ref or reference()
    asn = _asn_of(resource)
    holder = ref.as_name.get(asn)
    return {
        "type": "as",
        "resource": str(asn),
        "block": {"resource": "1-64495", "desc": "Assigned by the RIRs",
                  "name": "IANA 16-bit Autonomous System (AS) Numbers Registry"},
        "holder": holder,
        "announced": bool(ref.by_as.get(asn)),
        "query_starttime": "2024-01-01T00:00:00",
        "query_endtime": "2024-01-01T00:00:00",
    }


def announced_prefixes_data(resource, ref=None):
    ref = ref or reference()
    asn = _asn_of(resource)
    tl = [{"starttime": "2023-12-18T00:00:00", "endtime": "2024-01-01T00:00:00"}]
    return {
        "prefixes": [{"prefix": p, "timelines": tl} for p in ref.prefixes(asn)],
        "query_starttime": "2023-12-18T00:00:00",
        "query_endtime": "2024-01-01T00:00:00",
        "resource": str(asn),
        "resource_start_time": "2023-12-18T00:00:00",
        "resource_end_time": "2024-01-01T00:00:00",
        "latest_time": "2024-01-01T00:00:00",
        "earliest_time": "2000-01-01T00:00:00",
    }


def searchcomplete_data(term, ref=None, limit=None):
    """ASNs whose dataset name contains term, ASCII case-insensitively (reference.org)."""
    ref = ref or reference()
    asns = ref.org(term)
    if limit is not None:
        asns = asns[:limit]
    sugg = [{"value": f"AS{a}", "label": f"AS{a}", "description": ref.as_name[a]} for a in asns]
    return {"categories": [{"category": "ASNs", "suggestions": sugg},
                           {"category": "Countries", "suggestions": []}],
            "query": term, "limit": limit if limit is not None else len(sugg)}


class RipeFixtures:
    """What RIPEstat would answer, computed from the fixture dataset through reference.py.

    network_info: resources exactly as rasnd will send them ("8.8.8.8", "8.8.8.0/24",
        "2001:db8::/48"); as_overview, announced_prefixes: AS numbers (int or "AS15169"),
        written for "15169", "AS15169" and "as15169"; searchcomplete: search terms as rasnd has
        them before encoding (see module doc); extra: {(call, raw resource): bytes} served
        verbatim instead (malformed JSON, wrong types, huge bodies)."""

    def __init__(self, network_info=(), as_overview=(), announced_prefixes=(), searchcomplete=(),
                 extra=None, ref=None, searchcomplete_limit=None):
        self.ref = ref
        self.network_info = list(network_info)
        self.as_overview = list(as_overview)
        self.announced_prefixes = list(announced_prefixes)
        self.searchcomplete = list(searchcomplete)
        self.extra = dict(extra or {})
        self.searchcomplete_limit = searchcomplete_limit

    @classmethod
    def for_addresses(cls, addrs, v4_prefix=24, v6_prefix=48, **kw):
        """network-info for each address and its /24 (/48 for IPv6), as-overview and
        announced-prefixes for every AS those map to; kw as for the constructor (extra,
        searchcomplete, more network_info...)."""
        ref = kw.get("ref") or reference()
        ni, asns = list(kw.pop("network_info", ())), set(kw.pop("as_overview", ()))
        for a in addrs:
            ip = ipaddress.ip_address(a)
            ni.append(str(ip))
            ni.append(str(ipaddress.ip_network((ip, v4_prefix if ip.version == 4 else v6_prefix),
                                               strict=False)))
            for r in (str(ip), ni[-1]):
                for s in network_info_data(r, ref)["asns"]:
                    asns.add(int(s))
        ap = set(kw.pop("announced_prefixes", ())) | asns
        return cls(network_info=ni, as_overview=sorted(asns, key=_asn_of),
                   announced_prefixes=sorted(ap, key=_asn_of), **kw)

    def data(self, call, resource):
        """The "data" member for (call, resource) as served (also useful as the expectation)."""
        if call == "network-info":
            return network_info_data(resource, self.ref)
        if call == "as-overview":
            return as_overview_data(resource, self.ref)
        if call == "announced-prefixes":
            return announced_prefixes_data(resource, self.ref)
        if call == "searchcomplete":
            return searchcomplete_data(resource, self.ref, self.searchcomplete_limit)
        raise ValueError(call)

    def bodies(self):
        """{(call, raw resource as in the URL): body bytes}."""
        out = {}

        def put(call, raw, resource):
            out[(call, raw)] = json.dumps(envelope(call, resource, self.data(call, resource))).encode()

        for r in self.network_info:
            put("network-info", str(r), str(r))
        for call, lst in (("as-overview", self.as_overview), ("announced-prefixes", self.announced_prefixes)):
            for a in lst:
                n = _asn_of(a)
                for raw in (str(n), f"AS{n}", f"as{n}"):
                    put(call, raw, str(n))
        for t in self.searchcomplete:
            if "/" in t:
                raise ValueError(f"search term with '/' not supported: {t!r}")
            enc = rasn_encode(t)
            # as rasnd sends it, with '+' for spaces, and with lower-case hex digits
            variants = {enc, enc.replace("%20", "+"),
                        re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), enc)}
            for raw in variants:
                put("searchcomplete", raw, t)
        for (call, raw), body in self.extra.items():
            out[(call, raw)] = body if isinstance(body, bytes) else body.encode()
        return out


# ---------------------------------------------------------------- certificates

def _run(argv, cwd):
    p = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({p.returncode}):\n{p.stdout}{p.stderr}")


_CA_CNF = """[ca]
default_ca = tca
[tca]
dir = .
database = {db}/index.txt
serial = {db}/serial
new_certs_dir = {db}
default_md = sha256
policy = pol
unique_subject = no
copy_extensions = none
email_in_dn = no
[pol]
commonName = supplied
[ext_localhost]
subjectAltName = DNS:localhost, DNS:ripe.rasn.test, IP:127.0.0.1
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
[ext_wrong]
subjectAltName = DNS:wrong.example
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
"""


def _gentime(dt):
    return dt.strftime("%Y%m%d%H%M%SZ")


def make_certs(d: pathlib.Path):
    """A CA, and under it certs: good (localhost, ripe.rasn.test, 127.0.0.1), expired (2020), wronghost
    (wrong.example); a second CA and an untrusted cert from it. Returns {name: (cert, key)}
    and the CA path. OpenSSL 3.0's x509 cannot set notBefore, so leaves are signed by
    `openssl ca` with -startdate/-enddate."""
    d.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)
    valid = (_gentime(now - datetime.timedelta(days=1)), _gentime(now + datetime.timedelta(days=30)))
    out = {}
    for ca in ("ca", "ca2"):
        _run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
              "-nodes", "-keyout", f"{ca}.key", "-out", f"{ca}.pem", "-days", "60",
              "-subj", f"/CN=rasn test {ca}", "-addext", "basicConstraints=critical,CA:TRUE",
              "-addext", "keyUsage=critical,keyCertSign,cRLSign"], d)
        db = d / f"{ca}.db"
        db.mkdir(exist_ok=True)
        (db / "index.txt").write_text("")
        (db / "serial").write_text("1000\n")
        (d / f"{ca}.cnf").write_text(_CA_CNF.format(db=f"{ca}.db"))
    leaves = [("good", "ca", "ext_localhost", valid), ("expired", "ca", "ext_localhost",
              ("20200101000000Z", "20200201000000Z")), ("wronghost", "ca", "ext_wrong", valid),
              ("untrusted", "ca2", "ext_localhost", valid)]
    for name, ca, ext, (start, end) in leaves:
        cn = "wrong.example" if ext == "ext_wrong" else "localhost"
        _run(["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
              "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={cn}"], d)
        _run(["openssl", "ca", "-batch", "-config", f"{ca}.cnf", "-cert", f"{ca}.pem", "-keyfile",
              f"{ca}.key", "-in", f"{name}.csr", "-out", f"{name}.pem", "-startdate", start,
              "-enddate", end, "-extensions", ext, "-notext"], d)
        out[name] = (d / f"{name}.pem", d / f"{name}.key")
    return out, d / "ca.pem"


# ---------------------------------------------------------------- nginx

_LOG_FORMAT = (
    '{"block":"$server_name","msec":"$msec","connection":"$connection",'
    '"connection_requests":"$connection_requests","ssl_session_reused":"$ssl_session_reused",'
    '"ssl_protocol":"$ssl_protocol","alpn":"$ssl_alpn_protocol","protocol":"$server_protocol",'
    '"status":"$status","method":"$request_method","uri":"$request_uri","args":"$args",'
    '"resource":"$arg_resource","body_bytes_sent":"$body_bytes_sent",'
    '"if_none_match":"$http_if_none_match","if_modified_since":"$http_if_modified_since",'
    '"etag":"$sent_http_etag","last_modified":"$sent_http_last_modified",'
    '"retry_after":"$sent_http_retry_after","request_time":"$request_time",'
    '"upstream_status":"$upstream_status","host":"$host"}')
_LOG_INT = ("connection", "connection_requests", "status", "body_bytes_sent")
_LOG_FLOAT = ("msec", "request_time")


def _q(s: str) -> str:
    """An nginx config string literal."""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _mapkey(s: str) -> str:
    """A map source value matched literally (not as a regex or a keyword)."""
    if s[:1] in ("~", "\\") or s in ("default", "hostnames", "include", "volatile"):
        s = "\\" + s
    return _q(s)


def _fault_body(code):
    msg = {429: "Too Many Requests (injected)", 503: "Service Unavailable (injected)"}.get(
        code, f"injected fault {code}")
    return json.dumps(error_body(code, msg))


def _varname(call):
    return call.replace("-", "_")


def _world_searchable(p: pathlib.Path):
    p = p.resolve()
    for q in [p] + list(p.parents):
        try:
            if not os.stat(q).st_mode & 0o001:
                return False
        except OSError:
            return False
    return True


class Nginx:
    def __init__(self, tmpdir, ripestat=None, files=None, faults=None, delays=None, flaky=False,
                 upstream_backend=None, extra=None):
        """ripestat: RipeFixtures (or None); files: {name: bytes} under /files/; faults:
        {call: {resource: (status, retry_after or None)}} (call "files" keys by file name);
        delays: {(call, resource): seconds}; flaky: also start tests/servers/flaky.py behind
        /flaky/; upstream_backend: (host, port) of another HTTP/1.1 server to proxy /backend/
        to; extra: {(call, raw resource): bytes}, as RipeFixtures(extra=)."""
        self.dir = pathlib.Path(tmpdir).resolve()
        self.dir.mkdir(parents=True, exist_ok=True)
        self._private = None
        if _world_searchable(self.dir):
            pub = self.dir
        else:
            self._private = tempfile.mkdtemp(prefix="rasn-nginx-", dir="/tmp")
            pub = pathlib.Path(self._private)
        os.chmod(pub, 0o755)
        self.www = pub / "www"
        self.tmp = pub / "tmp"
        for d in (self.www, self.tmp, self.www / "files"):
            d.mkdir(parents=True, exist_ok=True)
            os.chmod(d, 0o755)
        self.ripestat = ripestat
        self.faults = {k: dict(v) for k, v in (faults or {}).items()}
        self.delays = dict(delays or {})
        self.extra = dict(extra or {})
        self.upstream_backend = upstream_backend
        self.conf = self.dir / "nginx.conf"
        self.error_log = self.dir / "error.log"
        self.access_log = self.dir / "access.log"
        self.pidfile = self.dir / "nginx.pid"
        self.stderr_path = self.dir / "nginx.stderr"
        self.proc = None
        self._errf = None
        self.gen = 0
        self._file_mtime = {}
        certs, self.ca_file = make_certs(self.dir / "certs")
        self.certs = certs
        ports = free_tcp_ports(len(BLOCKS) + 1)
        self.port = dict(zip(BLOCKS, ports))
        self.flaky = None
        if flaky:
            if str(HERE) not in sys.path:
                sys.path.insert(0, str(HERE))
            import flaky as flaky_mod
            self.flaky = flaky_mod.Flaky(self.www, self.dir / "flaky", port=ports[-1])
        self._write_fixtures()
        for name, body in (files or {}).items():
            self.set_file(name, body)

    # ---- URLs
    def url(self, name="h2", host="127.0.0.1"):
        return f"https://{host}:{self.port[name]}"

    def flaky_base_url(self, name="h2", host="127.0.0.1"):
        """The [ripestat] base_url that routes rasnd through the flaky backend."""
        return self.url(name, host) + "/flaky"

    def file_url(self, fname, name="h2", host="127.0.0.1"):
        return f"{self.url(name, host)}/files/{fname}"

    def ripe_url(self, call, resource, name="h2", host="127.0.0.1", base=None):
        """The URL rasnd would build (rasn_ripe_url): resource encoded as rasn does."""
        base = base or self.url(name, host)
        return f"{base}/data/{call}/data.json?resource={rasn_encode(resource)}&sourceapp=rasn"

    def ssl_context(self, alpn=("h2", "http/1.1")):
        """A client context trusting only self.ca_file."""
        ctx = ssl.create_default_context(cafile=str(self.ca_file))
        if alpn:
            ctx.set_alpn_protocols(list(alpn))
        return ctx

    # ---- content
    def _public_write(self, path: pathlib.Path, data: bytes, mtime=None):
        path.parent.mkdir(parents=True, exist_ok=True)
        for p in [path.parent] + list(path.parent.parents):
            if p == self.www.parent:
                break
            os.chmod(p, 0o755)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.chmod(tmp, 0o644)
            if mtime is not None:
                os.utime(tmp, (mtime, mtime))
            os.rename(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise

    def set_resource(self, call, raw_resource, body):
        """Serve body (bytes, or a dict wrapped in the RIPEstat envelope) for call/raw resource;
        takes effect at once, no reload."""
        key = file_key(raw_resource)
        if key is None:
            raise ValueError(f"nginx answers 400 for resource {raw_resource!r}")
        if isinstance(body, dict):
            body = json.dumps(envelope(call, raw_resource, body)).encode()
        self._public_write(self.www / "data" / call / "by-resource" / f"{key}.json", body)

    def remove_resource(self, call, raw_resource):
        try:
            os.unlink(self.www / "data" / call / "by-resource" / f"{file_key(raw_resource)}.json")
        except FileNotFoundError:
            pass

    def _write_fixtures(self):
        for call in CALLS:
            d = self.www / "data" / call / "by-resource"
            d.mkdir(parents=True, exist_ok=True)
        bodies = self.ripestat.bodies() if self.ripestat is not None else {}
        bodies.update(self.extra)
        for (call, raw), body in bodies.items():
            self.set_resource(call, raw, body)

    def set_file(self, name, data: bytes):
        """Replace /files/NAME atomically (temp + rename). Its mtime moves on by at least a
        second each time, so the ETag (mtime-size) always changes."""
        if "/" in name or name in (".", ".."):
            raise ValueError(name)
        now = time.time()
        prev = self._file_mtime.get(name)
        mtime = float(int(now)) if prev is None else float(max(int(now), int(prev) + 1))
        self._file_mtime[name] = mtime
        self._public_write(self.www / "files" / name, data, mtime)

    def file_etag(self, name):
        """The ETag nginx sends for /files/NAME now: "<mtime hex>-<size hex>"."""
        st = os.stat(self.www / "files" / name)
        return f'"{int(st.st_mtime):x}-{st.st_size:x}"'

    # ---- config
    def _maps(self):
        out = []
        out.append("map $arg_resource $rfile {\n"
                   '    "~^(?<a>[0-9A-Fa-f.:]+)(?:/|%2[Ff])(?<b>[0-9]{1,3})$" "${a}_$b";\n'
                   '    "~^(?<a>[A-Za-z0-9._~:@%+,-]+)$" $a;\n'
                   '    "." "";\n    ".." "";\n'
                   '    default "";\n}\n')
        for call in CALLS + ("files",):
            v = _varname(call)
            src = "$arg_resource" if call != "files" else "$fname"
            f = self.faults.get(call, {})
            fl, ra = [], []
            fdef, radef = '""', '""'
            for res, (code, retry) in f.items():
                if res == "*":
                    fdef = str(code)
                    radef = _q(str(retry)) if retry is not None else '""'
                    continue
                fl.append(f"    {_mapkey(res)} {code};")
                if retry is not None:
                    ra.append(f"    {_mapkey(res)} {_q(str(retry))};")
            out.append(f"map {src} $fault_{v} {{\n    default {fdef};\n" + "\n".join(fl) + "\n}\n")
            out.append(f"map {src} $ra_{v} {{\n    default {radef};\n" + "\n".join(ra) + "\n}\n")
            dl, ddef = [], '""'
            for (c, res), secs in self.delays.items():
                if c != call:
                    continue
                if res == "*":
                    ddef = _q(f"{secs:.3f}")
                else:
                    dl.append(f"    {_mapkey(res)} {_q(f'{secs:.3f}')};")
            out.append(f"map {src} $delay_{v} {{\n    default {ddef};\n" + "\n".join(dl) + "\n}\n")
        return "".join(out)

    def _fault_ifs(self, call):
        v = _varname(call)
        codes = sorted({c for c, _ in self.faults.get(call, {}).values()})
        return "".join(f"        if ($fault_{v} = {c}) {{ return {c} '{_fault_body(c)}'; }}\n" for c in codes)

    def _locations(self):
        L = []
        L.append("    default_type application/json;\n")
        L.append("    error_page 404 @e404;\n")
        L.append(f"    location @e404 {{ default_type application/json; "
                 f"return 404 '{json.dumps(error_body(404, 'not found'))}'; }}\n")
        L.append(f"    location = /__gen {{ default_type text/plain; return 200 '{self.gen}'; }}\n")
        bad = json.dumps(error_body(400, "invalid resource"))
        for call in CALLS:
            v = _varname(call)
            tf = f"try_files /data/{call}/by-resource/$rfile.json @e404;"
            L.append(f"    location = /data/{call}/data.json {{\n"
                     f"        add_header Retry-After $ra_{v} always;\n"
                     f"        if ($rfile = \"\") {{ return 400 '{bad}'; }}\n"
                     + self._fault_ifs(call) +
                     f"        if ($delay_{v}) {{ echo_sleep $delay_{v}; echo_exec @serve_{v}; }}\n"
                     f"        {tf}\n    }}\n")
            L.append(f"    location @serve_{v} {{ {tf} }}\n")
        L.append("    location /files/ {\n"
                 "        default_type application/octet-stream;\n"
                 "        add_header Retry-After $ra_files always;\n"
                 + self._fault_ifs("files") +
                 "        if ($delay_files) { echo_sleep $delay_files; echo_exec @serve_files; }\n"
                 "    }\n"
                 "    location @serve_files { default_type application/octet-stream; }\n")
        if self.flaky is not None:
            L.append("    location /flaky/ {\n"
                     "        proxy_pass http://flaky_backend/;\n"
                     "        proxy_http_version 1.1;\n"
                     '        proxy_set_header Connection "";\n'
                     "        proxy_set_header X-Block $server_name;\n"
                     "        proxy_buffering off;\n"
                     "        proxy_read_timeout 300s;\n"
                     "        proxy_next_upstream off;\n"
                     "    }\n")
        if self.upstream_backend is not None:
            L.append("    location /backend/ {\n"
                     "        proxy_pass http://other_backend/;\n"
                     "        proxy_http_version 1.1;\n"
                     '        proxy_set_header Connection "";\n'
                     "        proxy_buffering off;\n"
                     "        proxy_read_timeout 300s;\n"
                     "        proxy_next_upstream off;\n"
                     "    }\n")
        L.append("    location / { return 404; }\n")
        return "".join(L)

    def config_text(self):
        t = self.tmp
        servers = []
        locs = self._locations()
        cert_of = {"h2": "good", "oneshot": "good", "h1": "good", "expired": "expired",
                   "wronghost": "wronghost", "untrusted": "untrusted", "noetag": "good", "tls12": "good",
                   "nostreams": "good"}
        for b in BLOCKS:
            http2 = " http2" if b != "h1" else ""
            cert, key = self.certs[cert_of[b]]
            ka = "1" if b == "oneshot" else "100000"
            own = ("    etag off;\n" if b == "noetag" else
                   "    ssl_protocols TLSv1.2;\n" if b == "tls12" else "")
            streams = 0 if b == "nostreams" else 128
            servers.append(
                f"  server {{\n"
                f"    listen 127.0.0.1:{self.port[b]} ssl{http2};\n"
                f"    server_name {b};\n"
                f"    ssl_certificate {cert};\n    ssl_certificate_key {key};\n"
                f"    keepalive_requests {ka};\n    keepalive_timeout 300s;\n"
                f"    http2_max_concurrent_streams {streams};\n" + own +
                f"    root {self.www};\n"
                + locs + "  }\n")
        ups = ""
        if self.flaky is not None:
            ups += f"  upstream flaky_backend {{ server 127.0.0.1:{self.flaky.port}; keepalive 16; }}\n"
        if self.upstream_backend is not None:
            h, p = self.upstream_backend
            ups += f"  upstream other_backend {{ server {h}:{p}; keepalive 16; }}\n"
        return (
            f"# generated by tests/servers/nginx.py, generation {self.gen}\n"
            f"load_module {ECHO_MODULE};\n"
            "daemon off;\nmaster_process on;\nworker_processes 1;\n"
            f"pid {self.pidfile};\n"
            f"error_log {self.error_log} info;\n"
            "events { worker_connections 4096; }\n"
            "http {\n"
            f"  client_body_temp_path {t}/client_body;\n  proxy_temp_path {t}/proxy;\n"
            f"  fastcgi_temp_path {t}/fastcgi;\n  uwsgi_temp_path {t}/uwsgi;\n  scgi_temp_path {t}/scgi;\n"
            "  types { application/json json; text/csv csv; text/plain txt; "
            "text/tab-separated-values tsv; }\n"
            "  default_type application/octet-stream;\n"
            "  server_tokens off;\n  sendfile on;\n  tcp_nodelay on;\n  gzip off;\n"
            "  etag on;\n  if_modified_since exact;\n"
            f"  log_format rasn escape=json '{_LOG_FORMAT}';\n"
            f"  access_log {self.access_log} rasn;\n"
            "  ssl_protocols TLSv1.2 TLSv1.3;\n"
            "  ssl_session_cache shared:SSL:4m;\n  ssl_session_timeout 1h;\n  ssl_session_tickets on;\n"
            "  map $uri $fname { \"~^/files/(?<n>[^/]+)$\" $n; default \"\"; }\n"
            + self._maps() + ups + "".join(servers) + "}\n")

    # ---- process
    def _probe(self, name, timeout):
        """One TLS handshake on the block's port (verifying only where the cert is good)."""
        if name in ("h2", "oneshot", "h1", "noetag", "tls12", "nostreams"):
            ctx = self.ssl_context()
        else:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        with socket.create_connection(("127.0.0.1", self.port[name]), timeout=timeout) as s:
            with ctx.wrap_socket(s, server_hostname="127.0.0.1"):
                pass

    def _get_gen(self, timeout):
        ctx = self.ssl_context(alpn=("http/1.1",))
        import http.client
        c = http.client.HTTPSConnection("127.0.0.1", self.port["h2"], context=ctx, timeout=timeout)
        try:
            c.request("GET", "/__gen", headers={"Connection": "close"})
            return c.getresponse().read().decode()
        finally:
            c.close()

    def error_log_text(self):
        out = ""
        for p in (self.stderr_path, self.error_log):
            try:
                out += f"--- {p.name} ---\n" + p.read_text(errors="replace")[-20000:]
            except FileNotFoundError:
                pass
        return out

    def _check_alive(self):
        rc = self.proc.poll()
        if rc is not None:
            raise RuntimeError(f"nginx exited with status {rc}\n{self.error_log_text()}")

    def start(self, timeout=30.0):
        if self.proc is not None and self.proc.poll() is None:
            raise RuntimeError("nginx already running")
        if self.flaky is not None and self.flaky.proc is None:
            self.flaky.start()
        self.conf.write_text(self.config_text())
        self._errf = open(self.stderr_path, "ab")
        self.proc = subprocess.Popen([NGINX, "-p", str(self.dir), "-c", str(self.conf), "-e", str(self.error_log)],
                                     stdin=subprocess.DEVNULL, stdout=self._errf, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        try:
            for name in BLOCKS:
                while True:
                    self._check_alive()
                    try:
                        self._probe(name, max(0.1, min(2.0, deadline - time.monotonic())))
                        break
                    except (OSError, ssl.SSLError):
                        if time.monotonic() >= deadline:
                            raise TimeoutError(f"nginx block {name} (port {self.port[name]}) did not "
                                               f"accept TLS within {timeout} s\n{self.error_log_text()}")
                        time.sleep(_POLL)
        except BaseException:
            self.stop()
            raise
        return self

    def pid(self):
        return self.proc.pid if self.proc else None

    def worker_pids(self):
        """The master's children (its workers), from /proc."""
        if not self.proc:
            return []
        out = []
        for e in os.listdir("/proc"):
            if not e.isdigit():
                continue
            try:
                with open(f"/proc/{e}/stat") as f:
                    st = f.read()
            except OSError:
                continue
            fields = st[st.rfind(")") + 2:].split()
            if int(fields[1]) == self.proc.pid:
                out.append(int(e))
        return out

    def stop(self, graceful=False, timeout=30.0):
        """SIGTERM (fast shutdown) or SIGQUIT (graceful: finishes requests in flight); waits
        with a deadline. Returns the exit status, None if not running."""
        rc = None
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGQUIT if graceful else signal.SIGTERM)
            try:
                rc = self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                workers = self.worker_pids()
                self.proc.kill()
                for w in workers:
                    try:
                        os.kill(w, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                self.proc.wait()
                raise RuntimeError(f"nginx did not exit within {timeout} s\n{self.error_log_text()}")
            finally:
                self.proc = None
                if self._errf:
                    self._errf.close()
                    self._errf = None
        return rc

    def restart(self, timeout=30.0, graceful=False):
        """stop() then start() on the same ports (the breaker's "upstream went away and came
        back"). TLS session tickets do not survive it: nginx makes new ticket keys."""
        self.stop(graceful=graceful, timeout=timeout)
        return self.start(timeout)

    def reload(self, timeout=30.0):
        """Rewrite the config (faults, delays) and SIGHUP the master; returns once fresh
        connections see the new generation and every old worker has exited (old workers
        finish their requests in flight first; idle keep-alive connections are closed)."""
        old = set(self.worker_pids())
        self.gen += 1
        self.conf.write_text(self.config_text())
        self.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + timeout
        while True:
            self._check_alive()
            try:
                if self._get_gen(2.0) == str(self.gen) and not (old & set(self.worker_pids())):
                    return self
            except (OSError, ssl.SSLError):
                pass
            if time.monotonic() >= deadline:
                raise TimeoutError(f"nginx reload not done within {timeout} s\n{self.error_log_text()}")
            time.sleep(_POLL)

    def set_faults(self, faults):
        """New faults (as for the constructor); call reload() to apply."""
        self.faults = {k: dict(v) for k, v in (faults or {}).items()}

    def set_delays(self, delays):
        self.delays = dict(delays or {})

    def close(self):
        """stop() and the flaky backend, and remove the private /tmp directory if any."""
        try:
            self.stop()
        finally:
            if self.flaky is not None:
                self.flaky.stop()
            if self._private:
                shutil.rmtree(self._private, ignore_errors=True)
                self._private = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

    # ---- access log
    def log(self, block=None):
        """Access log entries (dicts, see module doc) written so far, in order."""
        try:
            data = self.access_log.read_bytes()
        except FileNotFoundError:
            return []
        end = data.rfind(b"\n")
        out = []
        for line in data[:end + 1].splitlines():
            if not line.strip():
                continue
            e = json.loads(line.decode("utf-8", "replace"))
            for k in _LOG_INT:
                e[k] = int(e[k]) if e.get(k, "").isdigit() else None
            for k in _LOG_FLOAT:
                try:
                    e[k] = float(e[k])
                except (TypeError, ValueError):
                    e[k] = None
            if block is None or e["block"] == block:
                out.append(e)
        return out

    def log_mark(self):
        """The number of entries so far: pass as since= to wait_log() / log_since(). nginx
        writes a line just after sending the response, so a client may read a response before
        its line exists: wait_log() for the lines you expect before taking the next mark."""
        return len(self.log())

    def log_since(self, mark):
        return self.log()[mark:]

    def wait_log(self, pred, timeout=30.0, count=1, since=0):
        """Poll the access log until at least count entries (after the first `since`) satisfy
        pred; returns them all. TimeoutError (with the log's tail) after timeout seconds."""
        deadline = time.monotonic() + timeout
        while True:
            got = [e for e in self.log()[since:] if pred(e)]
            if len(got) >= count:
                return got
            if self.proc is not None:
                self._check_alive()
            if time.monotonic() >= deadline:
                tail = self.log()[-10:]
                raise TimeoutError(f"{len(got)} of {count} matching access log entries after "
                                   f"{timeout} s; last entries: {json.dumps(tail, indent=1)}")
            time.sleep(_POLL)
