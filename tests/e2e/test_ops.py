"""Operations (issue 6): rasn-sysctl inside a fresh network namespace, the systemd units
(systemd-analyze verify and security), `meson install --destdir` against the layout docs/operations.md gives,
and the man pages.

rasn-sysctl is only ever run inside `unshare -n`, so the host's settings are never changed:
a new network namespace has its own copy of the per-namespace net.* settings (somaxconn,
tcp_fastopen, tcp_tw_reuse, tcp_window_scaling), while net.core.rmem_max and wmem_max are
host-wide and read-only in it. That gives the read-only case for free; the tests raise the
rmem_max target above the host's value through the config so it is below target on any host.

How read-only settings count (rasn-sysctl --help): exit 1 means "below target and root could
raise it here", exit 3 means "the only settings below target are read-only here". So in a
namespace, `check` exits 1 before `apply` and 3 after it when rmem_max's target is above the
host's value, and 0 when it is not.

The install test installs the build directory that `meson test` runs from: $RASN_BUILDDIR
(set in tests/meson.build), else the build root found from $RASND (BUILD/daemon/rasnd). It
is the very build under test and takes a second, where a fresh `meson setup` + compile would
take a minute and test a different configuration. It runs `meson install --no-rebuild
--destdir TMP`, so nothing outside TMP is written.
"""
import json
import os
import pathlib
import re
import shutil
import subprocess

import pytest

import harness

SRCDIR = harness.SRCDIR
SCRIPT = SRCDIR / "scripts" / "rasn-sysctl"
UNIT_SRC = SRCDIR / "systemd"

# The targets (rasn-sysctl's defaults, the [sysctl] defaults, conf/sysctl.d/60-rasn.conf).
DEFAULTS = {
    "net.core.rmem_max": 16777216,
    "net.core.wmem_max": 16777216,
    "net.ipv4.tcp_window_scaling": 1,
    "net.ipv4.tcp_fastopen": 3,
    "net.core.somaxconn": 4096,
    "net.ipv4.tcp_tw_reuse": 1,
}
CONF_KEYS = {
    "net.core.rmem_max": "rmem_max", "net.core.wmem_max": "wmem_max",
    "net.ipv4.tcp_window_scaling": "tcp_window_scaling", "net.ipv4.tcp_fastopen": "tcp_fastopen",
    "net.core.somaxconn": "somaxconn", "net.ipv4.tcp_tw_reuse": "tcp_tw_reuse",
}


def proc_path(key):
    return "/proc/sys/" + key.replace(".", "/")


def host_value(key):
    return int(pathlib.Path(proc_path(key)).read_text().split()[0])


def netns_missing():
    """Why rasn-sysctl cannot be tested in a network namespace here, or None."""
    if os.geteuid() != 0:
        return "needs root: sysctls are written inside a fresh network namespace (unshare -n)"
    if not shutil.which("unshare"):
        return "unshare (util-linux) is missing"
    r = subprocess.run(["unshare", "-n", "--", "true"], capture_output=True)
    if r.returncode != 0:
        return f"unshare -n does not work here: {r.stderr.decode().strip()}"
    return None


needs_netns = pytest.mark.skipif(netns_missing() is not None, reason=netns_missing() or "")


class Step:
    def __init__(self, rc, out):
        self.rc, self.out = rc, out
        self.lines = out.splitlines()

    def line(self, key):
        """The one output line about sysctl `key`."""
        got = [l for l in self.lines if re.search(rf"(^|\s){re.escape(key)}(:|\s|$)", l)]
        assert len(got) == 1, f"expected one line about {key}, got {got} in:\n{self.out}"
        return got[0]

    def __repr__(self):
        return f"rc={self.rc}\n{self.out}"


def in_netns(tmp_path, setup, steps):
    """Run, in ONE fresh network namespace: `setup` (shell lines writing /proc/sys values),
    then each command of `steps` (a list of shell command strings, where $SYSCTL is the
    script). Returns a Step per command, plus a final dict of the namespace's values."""
    work = tmp_path / "ns"
    work.mkdir(exist_ok=True)
    lines = ["set -u", f"SYSCTL={str(SCRIPT)!r}"]
    for key, value in setup.items():
        lines.append(f"echo {value} > {proc_path(key)} || exit 99")
    for i, cmd in enumerate(steps):
        lines.append(f"{cmd} > {work}/{i}.out 2>&1; echo $? > {work}/{i}.rc")
    for key in DEFAULTS:
        lines.append(f"echo \"{key} $(cat {proc_path(key)})\" >> {work}/values")
    r = subprocess.run(["unshare", "-n", "--", "bash", "-c", "\n".join(lines)],
                       capture_output=True, timeout=60)
    assert r.returncode == 0, f"namespace script failed ({r.returncode}): {r.stderr.decode()}"
    out = [Step(int((work / f"{i}.rc").read_text()), (work / f"{i}.out").read_text())
           for i in range(len(steps))]
    values = dict((l.split()[0], int(l.split()[1])) for l in (work / "values").read_text().splitlines())
    return out, values


def write_conf(tmp_path, body, name="rasnd.conf"):
    p = tmp_path / name
    p.write_text(body)
    return p


def conf_targets_ok_for_buffers(tmp_path, extra=""):
    """A config whose rmem_max/wmem_max targets are met on any host (0), so the read-only
    settings do not affect the exit status."""
    return write_conf(tmp_path, "[server]\nmax_clients = 10\n\n[sysctl]\nrmem_max = 0\nwmem_max = 0\n" + extra)


@pytest.fixture(autouse=True)
def _host_untouched():
    """The host's per-namespace settings are the same after each test (never changed here)."""
    keys = ["net.core.somaxconn", "net.ipv4.tcp_window_scaling"]
    before = {k: host_value(k) for k in keys if os.path.exists(proc_path(k))}
    yield
    after = {k: host_value(k) for k in before}
    assert after == before, "a host sysctl changed during the test"


# ---- rasn-sysctl ------------------------------------------------------------------------------

@needs_netns
def test_check_names_values_below_target(tmp_path):
    conf = conf_targets_ok_for_buffers(tmp_path)
    (chk, dflt), _ = in_netns(tmp_path, {
        "net.core.somaxconn": 128, "net.ipv4.tcp_fastopen": 1,
        "net.ipv4.tcp_window_scaling": 1, "net.ipv4.tcp_tw_reuse": 1,
    }, [f"$SYSCTL check -c {conf}", "$SYSCTL check"])
    assert chk.rc == 1, chk
    assert chk.line("net.core.somaxconn") == "net.core.somaxconn: below target: 128 < 4096"
    assert chk.line("net.ipv4.tcp_fastopen").startswith("net.ipv4.tcp_fastopen: below target: 1 ")
    assert chk.line("net.ipv4.tcp_window_scaling") == "net.ipv4.tcp_window_scaling: ok at 1"
    assert chk.line("net.ipv4.tcp_tw_reuse") == "net.ipv4.tcp_tw_reuse: ok at 1"
    assert chk.line("net.core.rmem_max").startswith("net.core.rmem_max: ok at ")
    assert len(chk.lines) == 6, chk
    # without a config the defaults apply; still non-zero (somaxconn is writable here)
    assert dflt.rc == 1, dflt
    assert "net.core.somaxconn: below target: 128 < 4096" in dflt.lines


@needs_netns
def test_apply_raises_below_and_keeps_above(tmp_path):
    conf = conf_targets_ok_for_buffers(tmp_path)
    (before, apply, after), values = in_netns(tmp_path, {
        "net.core.somaxconn": 8192, "net.ipv4.tcp_fastopen": 1, "net.ipv4.tcp_tw_reuse": 2,
        "net.ipv4.tcp_window_scaling": 0,
    }, [f"$SYSCTL check -c {conf}", f"$SYSCTL apply -c {conf}", f"$SYSCTL check -c {conf}"])
    assert before.rc == 1, before
    # 2 (loopback-only reuse) counts as below a target of 1
    assert "net.ipv4.tcp_tw_reuse: below target: 2 (loopback only)" in before.line("net.ipv4.tcp_tw_reuse")
    assert apply.rc == 0, apply
    assert apply.line("net.core.somaxconn") == "kept net.core.somaxconn at 8192 (target 4096)"
    assert apply.line("net.ipv4.tcp_fastopen") == "raised net.ipv4.tcp_fastopen from 1 to 3"
    assert apply.line("net.ipv4.tcp_tw_reuse") == "raised net.ipv4.tcp_tw_reuse from 2 to 1"
    assert apply.line("net.ipv4.tcp_window_scaling") == "raised net.ipv4.tcp_window_scaling from 0 to 1"
    assert values["net.core.somaxconn"] == 8192  # never lowered
    assert values["net.ipv4.tcp_fastopen"] == 3
    assert values["net.ipv4.tcp_tw_reuse"] == 1
    assert after.rc == 0, after
    assert all(": ok at " in l for l in after.lines), after


@needs_netns
def test_fastopen_is_a_bit_mask(tmp_path):
    conf = conf_targets_ok_for_buffers(tmp_path)
    # 4 (TFO_CLIENT_NO_COOKIE) is numerically above 3 but lacks both of its bits
    (chk, apply), values = in_netns(tmp_path, {"net.ipv4.tcp_fastopen": 4},
                                    [f"$SYSCTL check -c {conf}", f"$SYSCTL apply -c {conf}"])
    assert chk.rc == 1 and "below target" in chk.line("net.ipv4.tcp_fastopen"), chk
    assert apply.line("net.ipv4.tcp_fastopen") == "raised net.ipv4.tcp_fastopen from 4 to 7"
    assert values["net.ipv4.tcp_fastopen"] == 7


@needs_netns
def test_read_only_setting_is_reported_with_the_command(tmp_path):
    host_rmem = host_value("net.core.rmem_max")
    if host_rmem >= 2147483647:
        pytest.skip("the host's rmem_max is already at the largest target")
    want = host_rmem + 4096
    conf = write_conf(tmp_path, f"[sysctl]\nrmem_max = {want}\nwmem_max = 0\n")
    (before, dry, apply, after), values = in_netns(
        tmp_path, {"net.core.somaxconn": 128},
        [f"$SYSCTL check -c {conf}", f"$SYSCTL apply --dry-run -c {conf}",
         f"$SYSCTL apply -c {conf}", f"$SYSCTL check -c {conf}"])
    # before: somaxconn is writable and below target, so 1 (not 3)
    assert before.rc == 1, before
    assert before.line("net.core.rmem_max") == (
        f"net.core.rmem_max: below target: {host_rmem} < {want}; "
        "read-only in this network namespace or container")
    assert dry.rc == 3, dry
    assert dry.line("net.core.somaxconn") == "would raise net.core.somaxconn from 128 to 4096"
    assert apply.rc == 3, apply
    assert apply.line("net.core.rmem_max") == (
        "could not raise net.core.rmem_max: read-only in this network namespace or container "
        f"(run: sysctl -w net.core.rmem_max={want} as root on the host)")
    assert apply.line("net.core.somaxconn") == "raised net.core.somaxconn from 128 to 4096"
    assert values["net.core.rmem_max"] == host_rmem
    # after apply only the read-only setting is below target: 3, naming it alone
    assert after.rc == 3, after
    assert [l for l in after.lines if "below target" in l] == [after.line("net.core.rmem_max")]


@needs_netns
def test_default_targets_in_a_namespace(tmp_path):
    """With no config: check is 1 before apply; after it 0, or 3 when the host's own
    rmem_max/wmem_max are below 16 MiB (read-only here)."""
    (before, apply, after), values = in_netns(tmp_path, {"net.core.somaxconn": 128},
                                              ["$SYSCTL check", "$SYSCTL apply", "$SYSCTL check"])
    assert before.rc == 1, before
    ro_below = [k for k in ("net.core.rmem_max", "net.core.wmem_max") if host_value(k) < DEFAULTS[k]]
    assert apply.rc == (3 if ro_below else 0), apply
    assert after.rc == (3 if ro_below else 0), after
    for k in ro_below:
        assert after.line(k).endswith("read-only in this network namespace or container"), after
    for k in DEFAULTS:
        if k not in ro_below:
            assert after.line(k).startswith(f"{k}: ok at "), after
    assert values["net.core.somaxconn"] == 4096


@needs_netns
def test_dry_run_changes_nothing(tmp_path):
    conf = conf_targets_ok_for_buffers(tmp_path)
    (dry,), values = in_netns(tmp_path, {"net.core.somaxconn": 128, "net.ipv4.tcp_fastopen": 1},
                              [f"$SYSCTL apply --dry-run -c {conf}"])
    assert dry.rc == 0, dry
    assert dry.line("net.core.somaxconn") == "would raise net.core.somaxconn from 128 to 4096"
    assert dry.line("net.ipv4.tcp_fastopen") == "would raise net.ipv4.tcp_fastopen from 1 to 3"
    assert values["net.core.somaxconn"] == 128 and values["net.ipv4.tcp_fastopen"] == 1


@needs_netns
def test_config_targets_and_apply_no(tmp_path):
    conf = write_conf(tmp_path, "[server]\nsocket = /tmp/x.sock\n[sysctl]\n"
                      "rmem_max = 0\nwmem_max = 1K ; inline comment\nsomaxconn: 5000\napply = no\n")
    on = write_conf(tmp_path, "[sysctl]\nrmem_max=0\nwmem_max=0\nsomaxconn = 5000\n", "on.conf")
    (chk, off, apply), values = in_netns(tmp_path, {"net.core.somaxconn": 4096}, [
        f"$SYSCTL check -c {conf}", f"$SYSCTL apply -c {conf}", f"$SYSCTL apply -c {on}"])
    assert chk.rc == 1 and chk.line("net.core.somaxconn") == "net.core.somaxconn: below target: 4096 < 5000"
    assert off.rc == 0, off
    assert off.line("net.core.somaxconn") == f"not raising net.core.somaxconn from 4096 to 5000: apply = no in {conf}"
    assert apply.line("net.core.somaxconn") == "raised net.core.somaxconn from 4096 to 5000"
    assert values["net.core.somaxconn"] == 5000


@needs_netns
@pytest.mark.parametrize("body,err", [
    ("[sysctl]\nbogus = 1\n", ":2: unknown key 'bogus' in section [sysctl]"),
    ("[sysctl]\n\nsomaxconn = -5\n", ":3: [sysctl] somaxconn = -5: not a non-negative whole number"),
    ("[sysctl]\ntcp_tw_reuse = 3\n", ":2: [sysctl] tcp_tw_reuse = 3: out of range"),
    ("[sysctl]\napply = maybe\n", ":2: [sysctl] apply = maybe: not yes or no"),
    ("[sysctl]\nsomaxconn\n", ":2: syntax error"),
])
def test_bad_config_is_78_with_file_line(tmp_path, body, err):
    conf = write_conf(tmp_path, body)
    (r,), values = in_netns(tmp_path, {"net.core.somaxconn": 128}, [f"$SYSCTL apply -c {conf}"])
    assert r.rc == 78, r
    assert r.out.strip() == f"rasn-sysctl: {conf}{err}" or f"{conf}{err}" in r.out, r
    assert values["net.core.somaxconn"] == 128


@needs_netns
def test_usage(tmp_path):
    (none, bad, both, missing, hlp), _ = in_netns(tmp_path, {}, [
        "$SYSCTL", "$SYSCTL frobnicate", "$SYSCTL check apply",
        f"$SYSCTL check -c {tmp_path}/nonexistent.conf", "$SYSCTL --help"])
    assert none.rc == 2 and bad.rc == 2 and both.rc == 2
    assert missing.rc == 78 and "cannot read" in missing.out
    assert hlp.rc == 0
    for code in ("0 ", "1 ", "2 ", "3 ", "78 "):
        assert re.search(rf"^\s+{code}", hlp.out, re.M), f"--help does not document exit {code}"


def test_sysctl_d_file_matches_the_targets():
    got = {}
    for line in (SRCDIR / "conf" / "sysctl.d" / "60-rasn.conf").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith(("#", ";")):
            k, v = (x.strip() for x in line.split("=", 1))
            got[k] = int(v)
    assert got == DEFAULTS


def test_rasnd_conf_sysctl_defaults_match():
    """conf/rasnd.conf's [sysctl] section (commented defaults) names the same targets."""
    text = (SRCDIR / "conf" / "rasnd.conf").read_text()
    if "[sysctl]" not in text:
        pytest.skip("conf/rasnd.conf has no [sysctl] section yet")
    section = text.split("[sysctl]", 1)[1].split("\n[", 1)[0]
    for key, name in CONF_KEYS.items():
        m = re.search(rf"^[#;]?\s*{name}\s*=\s*(\S+)", section, re.M)
        assert m, f"conf/rasnd.conf [sysctl] does not show {name}"
        v = m.group(1)
        mul = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(v[-1:].upper(), 1)
        assert int(v.rstrip("KMGkmg")) * mul == DEFAULTS[key], f"{name} = {v}"
    assert re.search(r"^[#;]?\s*apply\s*=\s*yes", section, re.M)


# ---- meson install ----------------------------------------------------------------------------

def build_dir():
    d = os.environ.get("RASN_BUILDDIR")
    if d:
        return pathlib.Path(d)
    rasnd = os.environ.get("RASND")
    if rasnd:
        root = pathlib.Path(rasnd).resolve().parents[1]
        if (root / "meson-private").is_dir():
            return root
    return None


def install_missing():
    if not shutil.which("meson"):
        return "meson is not installed"
    d = build_dir()
    if d is None:
        return "no build directory: set RASN_BUILDDIR (meson test does) or RASND=BUILD/daemon/rasnd"
    if not (d / "meson-private").is_dir():
        return f"{d} is not a meson build directory"
    return None


needs_install = pytest.mark.skipif(install_missing() is not None, reason=install_missing() or "")


# the network listeners' socket units: the name each passes (FileDescriptorName=, daemon/sockact.h)
NET_SOCKETS = {"rasnd-whois.socket": "whois", "rasnd-http-api.socket": "http-api", "rasnd-dns.socket": "dns"}


def layout(opts):
    """Where each installed file goes, from the build's directory options (what
    docs/operations.md says, for the default prefix /usr/local)."""
    p = pathlib.Path(opts["prefix"])
    j = lambda d, *rest: p.joinpath(opts[d], *rest) if d in opts else p.joinpath(d, *rest)
    return {
        "rasnd": j("sbindir", "rasnd"),
        "rasn": j("bindir", "rasn"),
        "rasn-sysctl": j("sbindir", "rasn-sysctl"),
        "rasnd.conf": j("sysconfdir", "rasn", "rasnd.conf"),
        "60-rasn.conf": p / "lib" / "sysctl.d" / "60-rasn.conf",
        "rasnd.service": p / "lib" / "systemd" / "system" / "rasnd.service",
        "rasnd.socket": p / "lib" / "systemd" / "system" / "rasnd.socket",
        **{u: p / "lib" / "systemd" / "system" / u for u in NET_SOCKETS},
        "rasnd.8": j("mandir", "man8", "rasnd.8"),
        "rasn.1": j("mandir", "man1", "rasn.1"),
        "rasnd.conf.5": j("mandir", "man5", "rasnd.conf.5"),
    }


OPS_DOC = SRCDIR / "docs" / "operations.md"


def ops_table(first_header):
    """The docs/operations.md table whose header row starts with `| first_header |`: {row name: (paths
    in the default-prefix column, paths in the --prefix=/usr column)}, paths being the
    `code spans` of each cell."""
    lines = OPS_DOC.read_text().splitlines()
    start = [i for i, l in enumerate(lines) if l.startswith(f"| {first_header} |")]
    assert len(start) == 1, f"docs/operations.md has {len(start)} tables headed {first_header!r}"
    header = [c.strip() for c in lines[start[0]].strip("|").split("|")]
    assert header[1:] == ["default prefix `/usr/local`", "`--prefix=/usr`"], header
    rows = {}
    for l in lines[start[0] + 2:]:
        if not l.startswith("|"):
            break
        cells = [c.strip() for c in l.strip().strip("|").split("|")]
        assert len(cells) == 3, l
        spans = [re.findall(r"`([^`]+)`", c) for c in cells[1:]]
        for paths in spans:
            assert paths and all(p.startswith("/") and "{" not in p for p in paths), \
                f"docs/operations.md cell is not a list of whole paths: {l}"
        rows[cells[0]] = tuple(spans)
    return rows


def ops_install_paths(column):
    """Every installed file docs/operations.md names, for column 0 (/usr/local) or 1 (/usr)."""
    return {p for cols in ops_table("file").values() for p in cols[column]}


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    reason = install_missing()
    if reason:
        pytest.skip(reason)
    bd = build_dir()
    r = subprocess.run(["meson", "introspect", "--buildoptions", str(bd)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    opts = {o["name"]: o["value"] for o in json.loads(r.stdout)}
    dest = tmp_path_factory.mktemp("destdir")
    r = subprocess.run(["meson", "install", "-C", str(bd), "--no-rebuild", "--destdir", str(dest)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, f"meson install failed:\n{r.stdout}\n{r.stderr}"
    return dest, opts


def under(dest, path):
    return dest / str(path).lstrip("/")


@needs_install
def test_meson_install_layout(installed):
    dest, opts = installed
    want = layout(opts)
    for name, path in want.items():
        f = under(dest, path)
        assert f.is_file(), f"{name} not installed at {path}"
    for name in ("rasnd", "rasn", "rasn-sysctl"):
        assert os.access(under(dest, want[name]), os.X_OK), f"{name} is not executable"
    # nothing else is installed (a new file needs a line in docs/operations.md and here)
    files = {"/" + str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file() or p.is_symlink()}
    assert files == {str(p) for p in want.values()}


@needs_install
def test_meson_install_matches_the_docs(installed):
    # `meson install --destdir` of the build under test puts exactly the files the
    # /usr/local column of docs/operations.md names where it says
    dest, opts = installed
    if opts["prefix"] != "/usr/local":
        pytest.skip(f"the build under test has prefix {opts['prefix']}, not the default /usr/local")
    files = {"/" + str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file() or p.is_symlink()}
    assert files == ops_install_paths(0)


@pytest.fixture(scope="module")
def usr_prefix_build(tmp_path_factory):
    """A `meson setup --prefix=/usr` of the source tree (configured, not compiled)."""
    if not shutil.which("meson"):
        pytest.skip("meson is not installed")
    bd = tmp_path_factory.mktemp("prefix-usr") / "build"
    r = subprocess.run(["meson", "setup", "--prefix=/usr", str(bd), str(SRCDIR)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, f"meson setup --prefix=/usr failed:\n{r.stdout}\n{r.stderr}"
    return bd


def test_prefix_usr_layout_matches_the_docs(usr_prefix_build):
    r = subprocess.run(["meson", "introspect", "--installed", str(usr_prefix_build)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert set(json.loads(r.stdout).values()) == ops_install_paths(1)


def compiled_defaults(build_config_h):
    """The paths a build compiles in (build_config.h)."""
    got = dict(re.findall(r'^#define (RASN_\w+) "([^"]*)"$', build_config_h.read_text(), re.M))
    return {
        "config": got["RASN_SYSCONFDIR"] + "/rasnd.conf",
        "datasets": [got["RASN_DEFAULT_DATADIR"] + "/asn-ipv4.csv", got["RASN_DEFAULT_DATADIR"] + "/asn-ipv6.csv"],
        "state": got["RASN_DEFAULT_STATEDIR"],
        "socket": got["RASN_DEFAULT_SOCKET"],
    }


def ops_defaults(column):
    t = ops_table("default")
    pick = lambda prefix: next(v[column] for k, v in t.items() if k.startswith(prefix))
    return {"config": pick("config file")[0], "datasets": pick("dataset files"),
            "state": pick("state directory")[0], "socket": pick("query socket")[0]}


def test_compiled_in_defaults_match_the_docs(usr_prefix_build):
    # --prefix=/usr: what its configure step wrote into build_config.h
    assert compiled_defaults(usr_prefix_build / "build_config.h") == ops_defaults(1)
    # the default prefix: what the built rasnd says in --help
    prog = os.environ.get("RASND", "")
    if not prog or not os.access(prog, os.X_OK):
        pytest.skip("$RASND is not a built program")
    bd = build_dir()
    if bd is None or not (bd / "build_config.h").is_file():
        pytest.skip("no build directory of the program under test")
    r = subprocess.run(["meson", "introspect", "--buildoptions", str(bd)], capture_output=True, text=True,
                       timeout=120)
    if {o["name"]: o["value"] for o in json.loads(r.stdout)}["prefix"] != "/usr/local":
        pytest.skip("the build under test does not have the default prefix")
    want = ops_defaults(0)
    assert compiled_defaults(bd / "build_config.h") == want
    hlp = subprocess.run([prog, "--help"], capture_output=True, text=True, timeout=30).stdout
    assert f"(default {want['config']};" in hlp and f"(default {want['state']})" in hlp, hlp


def unit_for_verify(dest, opts, tmp_path):
    """The installed units, with the installed programs' paths pointed into DESTDIR so
    systemd-analyze finds them (it checks every Exec command exists)."""
    want = layout(opts)
    out = tmp_path / "units"
    out.mkdir()
    for unit in ("rasnd.service", "rasnd.socket", *NET_SOCKETS):
        text = under(dest, want[unit]).read_text()
        for name in ("rasnd", "rasn-sysctl", "rasnd.conf"):
            text = re.sub(rf"(?<![\w/.-]){re.escape(str(want[name]))}(?![\w/.-])",
                          str(under(dest, want[name])), text)
        (out / unit).write_text(text)
    return out


@needs_install
def test_units_point_at_installed_files(installed):
    dest, opts = installed
    want = layout(opts)
    svc = under(dest, want["rasnd.service"]).read_text()
    exec_lines = dict(re.findall(r"^(Exec\w+)=(.*)$", svc, re.M))
    assert exec_lines["ExecStart"].split()[:3] == [str(want["rasnd"]), "-c", str(want["rasnd.conf"])]
    assert exec_lines["ExecStartPre"].split()[:4] == [
        "-+" + str(want["rasn-sysctl"]), "apply", "-c", str(want["rasnd.conf"])]
    assert exec_lines["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert "@" not in "".join(exec_lines.values()), "an unconfigured @VAR@ is left"
    for needle in ("Type=notify", "Requires=rasnd.socket", "Restart=on-failure",
                   # the hardening the issue names
                   "DynamicUser=yes", "StateDirectory=rasn", "RuntimeDirectory=rasn/rasnd",
                   "ProtectSystem=strict", "PrivateTmp=yes", "NoNewPrivileges=yes",
                   "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
                   "SystemCallFilter=@system-service",
                   # no restart loop when the dataset is missing (66) or the config bad (78)
                   "RestartPreventExitStatus=66 78"):
        assert re.search(rf"^{re.escape(needle)}$", svc, re.M), needle
    # /run/rasn is rasnd.socket's: never the service's RuntimeDirectory (DynamicUser= would
    # chown and delete it on stop, or hide it under /run/private)
    assert not re.search(r"^RuntimeDirectory=rasn\s*$", svc, re.M)
    assert not re.search(r"^RuntimeDirectoryPreserve=", svc, re.M)
    sock = under(dest, want["rasnd.socket"]).read_text()
    for needle in ("ListenStream=/run/rasn/rasnd.sock", "SocketMode=0660", "Service=rasnd.service",
                   "FileDescriptorName=query"):
        assert re.search(rf"^{re.escape(needle)}$", sock, re.M), needle
    for unit, name in NET_SOCKETS.items():
        text = under(dest, want[unit]).read_text()
        for needle in (f"FileDescriptorName={name}", "Service=rasnd.service"):
            assert re.search(rf"^{re.escape(needle)}$", text, re.M), (unit, needle)
        # loopback only, as shipped
        listens = re.findall(r"^Listen(?:Stream|Datagram)=(.*)$", text, re.M)
        assert listens and all(l.startswith(("127.", "[::1]:")) for l in listens), (unit, listens)
        if name == "dns":   # UDP and TCP on each address
            assert sorted(re.findall(r"^ListenDatagram=(.*)$", text, re.M)) == \
                sorted(re.findall(r"^ListenStream=(.*)$", text, re.M)), text


needs_analyze = pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is missing")


@needs_install
@needs_analyze
def test_units_pass_systemd_analyze_verify(installed, tmp_path):
    dest, opts = installed
    units = unit_for_verify(dest, opts, tmp_path)
    r = subprocess.run(["systemd-analyze", "verify", "--man=no",
                        str(units / "rasnd.service"), str(units / "rasnd.socket")]
                       + [str(units / u) for u in NET_SOCKETS],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stderr == "", f"rc={r.returncode}\n{r.stderr}"


@needs_install
@needs_analyze
def test_service_security_score(installed, tmp_path):
    dest, opts = installed
    units = unit_for_verify(dest, opts, tmp_path)
    r = subprocess.run(["systemd-analyze", "security", "--offline=yes", "--no-pager",
                        str(units / "rasnd.service")],
                       capture_output=True, text=True, timeout=120)
    m = re.search(r"Overall exposure level for rasnd\.service: (\d+\.\d+) (\S+)", r.stdout)
    assert m, f"no score in:\n{r.stdout}\n{r.stderr}"
    score, rating = m.group(1), m.group(2)
    assert float(score) <= 2.0, f"exposure {score} {rating}:\n{r.stdout}"
    # systemd's ratings from best: PERFECT, SAFE, OK, MEDIUM, EXPOSED, UNSAFE
    assert rating in ("PERFECT", "SAFE", "OK"), f"exposure {score} {rating}:\n{r.stdout}"
    # docs/operations.md records what is measured here
    doc = OPS_DOC.read_text()
    said = re.findall(r"`systemd-analyze security --offline=yes` scores it \*\*(\d+\.\d+), \"(\w+)\"\*\*",
                      doc)
    assert said == [(score, rating)], f"docs/operations.md says {said}, measured {score} {rating}"


# ---- man pages --------------------------------------------------------------------------------

MAN = {"rasnd.8": "rasnd", "rasn.1": "rasn", "rasnd.conf.5": None}


@pytest.mark.skipif(not shutil.which("man"), reason="man (man-db) is missing")
@pytest.mark.parametrize("page", sorted(MAN))
def test_man_page_renders_without_warnings(page):
    r = subprocess.run(["man", "--warnings", "-l", str(SRCDIR / "man" / page)],
                       capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, MANWIDTH="80", MAN_KEEP_FORMATTING="", LC_ALL="C.UTF-8"))
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert len(r.stdout) > 500


def man_text(page):
    text = (SRCDIR / "man" / page).read_text()
    return text.replace("\\-", "-").replace("\\fB", "").replace("\\fR", "").replace("\\fI", "")


@pytest.mark.parametrize("page,var", [("rasnd.8", "RASND"), ("rasn.1", "RASN")])
def test_man_page_documents_every_option(page, var):
    prog = os.environ.get(var, "")
    if not prog or not os.access(prog, os.X_OK):
        pytest.skip(f"${var} is not a built program")
    r = subprocess.run([prog, "--help"], capture_output=True, text=True, timeout=30)
    opts = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]+|-[a-zA-Z])\b", r.stdout))
    text = man_text(page)
    missing = sorted(o for o in opts if not re.search(rf"(?<![\w-]){re.escape(o)}(?![\w-])", text))
    assert opts and not missing, f"{page} does not document {missing}"


def doc_exit_statuses(heading):
    """The status column of the first table under `heading` in docs/operations.md."""
    text = OPS_DOC.read_text().split(heading + "\n", 1)
    assert len(text) == 2, f"docs/operations.md has no {heading!r}"
    rows = re.findall(r"^\| (\d+) \|", text[1].split("\n#", 1)[0], re.M)
    assert rows, f"no status table under {heading!r}"
    return sorted(int(r) for r in rows)


def test_exit_statuses_agree():
    # rasnd's exit statuses are written in docs/operations.md and in rasnd(8); rasn-sysctl's
    # in docs/operations.md and in its --help: each pair must name the same codes
    man = man_text("rasnd.8").split(".SH EXIT STATUS", 1)[1].split("\n.SH ", 1)[0]
    assert doc_exit_statuses("## Exit status") == sorted(int(c) for c in re.findall(r"^\.B (\d+)$", man, re.M))
    r = subprocess.run([str(SRCDIR / "scripts" / "rasn-sysctl"), "--help"], capture_output=True, text=True,
                       timeout=30)
    hlp = r.stdout.split("Exit status:", 1)[1]
    assert doc_exit_statuses("## Kernel settings") == sorted(int(c) for c in re.findall(r"^  (\d+) ", hlp, re.M))


def test_rasnd_conf_5_documents_every_key():
    text = man_text("rasnd.conf.5")
    keys = []
    section = None
    for line in (SRCDIR / "conf" / "rasnd.conf").read_text().splitlines():
        m = re.match(r"^\[(\w+)\]", line)
        if m:
            section = m.group(1)
            continue
        m = re.match(r"^[#;]?(\w+)\s*=", line)
        if m and section:
            keys.append((section, m.group(1)))
    keys += [("sysctl", k) for k in ["apply"] + list(CONF_KEYS.values())]
    for section, key in keys:
        assert f".SH [{section}]" in text, f"rasnd.conf(5) has no [{section}] section"
        body = text.split(f".SH [{section}]", 1)[1].split("\n.SH ", 1)[0]
        assert re.search(rf"^\.BR {re.escape(key)} \" \(default", body, re.M), \
            f"rasnd.conf(5) does not document [{section}] {key} with its default"


# ---- logging ----------------------------------------------------------------------------------
# One line per event on stderr: "<N>text" (a syslog level the journal reads) when stderr is not
# a terminal, "rasnd: LEVEL: text" when it is; [log] level drops what is less severe; libevent's
# messages go through the same logger ("libevent: ..."), its debug messages at debug level.

needs_rasnd = pytest.mark.skipif(harness.missing_rasnd() is not None, reason=harness.missing_rasnd() or "")

# Cymru pointed at a refused port with a breaker that opens at once: a warning; then a reload
# of a broken dataset: an error. Info lines come from start-up itself.
LOG_CONF = "[lookup]\norder = cymru table\n[breaker]\nfailures = 1\n"
PREFIXED = re.compile(r"^<([0-7])>(\S.*)$")


def log_events(tmp_path, conf="", extra_args=()):
    """Run rasnd through a warning and an error; returns its stderr lines."""
    v4 = tmp_path / "v4.csv"
    v4.write_text(harness.FIXTURE_DATASETS[0].read_text())
    with harness.Rasnd(tmp_path / "d", datasets=[v4, harness.FIXTURE_DATASETS[1]],
                       config_text=LOG_CONF + conf, extra_args=extra_args) as d:
        r = d.query(["8.8.8.8"])[0]
        assert r["asn"] == 15169 and r["source"] == "table", r    # Cymru failed, the table answered
        v4.write_text("this line is garbage\n")
        r = d.query(["reload"])[0]
        assert r["status"] == "error", r
    return d.stderr_text().splitlines()


def levels(lines):
    """{level: [texts]} of prefixed lines; asserts every line is prefixed and whole."""
    out = {}
    for l in lines:
        m = PREFIXED.match(l)
        assert m, f"log line without a <N> prefix: {l!r}"
        out.setdefault(int(m.group(1)), []).append(m.group(2))
    return out


@needs_rasnd
def test_log_lines_have_syslog_prefixes(tmp_path):
    lv = levels(log_events(tmp_path))
    assert any(re.match(r"^rasnd \S+ ready$", t) for t in lv[6]), lv
    assert any(t.startswith("upstream cymru: 127.0.0.1:1 failing") for t in lv[4]), lv
    assert any(t.startswith("reload failed, still serving the previous table: ") and "v4.csv" in t
               for t in lv[3]), lv
    assert 7 not in lv, lv[7]          # info is the default level: no debug lines


@needs_rasnd
@pytest.mark.parametrize("level,shown", [("warning", {3, 4}), ("err", {3})])
def test_log_level_filters(tmp_path, level, shown):
    lv = levels(log_events(tmp_path, f"[log]\nlevel = {level}\n"))
    assert set(lv) == shown, lv


@needs_rasnd
def test_debug_level_routes_libevent(tmp_path):
    lv = levels(log_events(tmp_path, extra_args=["-v"]))
    ev = [t for t in lv.get(7, []) if t.startswith("libevent: ")]
    # libevent's own debug messages, one line each, through rasnd's logger
    assert any(t.startswith("libevent: event_add: event") for t in ev), lv.get(7)
    assert {3, 4, 6} <= set(lv)
    # (at info level libevent says nothing: test_log_lines_have_syslog_prefixes finds no <7>)


@needs_rasnd
def test_log_on_a_terminal_is_plain(tmp_path):
    import pty
    import select
    master, slave = pty.openpty()
    d = harness.Rasnd(tmp_path / "d")
    d.prepare()
    p = subprocess.Popen(d.argv(), stdin=subprocess.DEVNULL, stdout=slave, stderr=slave)
    os.close(slave)
    out = b""
    try:
        harness.wait_for_socket(d.sock, p, 30)
        p.send_signal(15)
        assert p.wait(30) == 0
        while select.select([master], [], [], 5)[0]:
            try:
                chunk = os.read(master, 65536)
            except OSError:       # EIO: the other side is closed and drained
                break
            if not chunk:
                break
            out += chunk
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        os.close(master)
    lines = out.decode().replace("\r\n", "\n").splitlines()
    assert any(re.match(r"^rasnd: info: rasnd \S+ ready$", l) for l in lines), lines
    assert lines and all(l.startswith("rasnd: ") for l in lines), lines
