"""rasnd's start-up sysctl tuning, inside a fresh network namespace (unshare -n) so the host is
never changed: values below target are raised, values above are kept, a key the namespace
makes read-only (net.core.rmem_max) is reported with the command to run, and with
[sysctl] apply = no nothing is written."""
import os
import pathlib
import shutil
import signal
import subprocess
import time

import pytest

import harness

pytestmark = [
    pytest.mark.skipif(harness.missing_rasnd() is not None, reason=harness.missing_rasnd() or ""),
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root to create a network namespace"),
    pytest.mark.skipif(shutil.which("unshare") is None, reason="unshare (util-linux) missing"),
]


def host(key):
    return pathlib.Path("/proc/sys/" + key.replace(".", "/")).read_text().split()[0]


def run_in_netns(tmp_path, conf_text):
    conf = tmp_path / "rasnd.conf"
    conf.write_text(conf_text)
    sock = str(tmp_path / "s.sock")
    pidfile = tmp_path / "pid"
    argv = " ".join([harness.rasnd_path(), "-c", str(conf), "-s", sock] +
                    [f"-d {f}" for f in harness.FIXTURE_DATASETS])
    script = f"""
set -e
echo 128 > /proc/sys/net/core/somaxconn
echo 5 > /proc/sys/net/ipv4/tcp_fastopen
echo 1 > /proc/sys/net/ipv4/tcp_tw_reuse
echo 0 > /proc/sys/net/ipv4/tcp_window_scaling
{argv} 2> {tmp_path}/log &
echo $! > {pidfile}
wait $! || true
echo "after: $(cat /proc/sys/net/core/somaxconn) $(cat /proc/sys/net/ipv4/tcp_fastopen) $(cat /proc/sys/net/ipv4/tcp_tw_reuse)"
"""
    before = {k: host(k) for k in ("net.core.somaxconn", "net.ipv4.tcp_fastopen", "net.ipv4.tcp_tw_reuse",
                                   "net.core.rmem_max", "net.core.wmem_max", "net.ipv4.tcp_window_scaling")}
    p = subprocess.Popen(["unshare", "-n", "--", "bash", "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while not (pidfile.exists() and pidfile.read_text().strip() and os.path.exists(sock)):
            assert p.poll() is None, "the namespace script ended early"
            assert time.monotonic() < deadline, "rasnd did not start in the namespace"
            time.sleep(0.02)
        harness.wait_for_socket(sock, p, 30, "rasnd in netns")
        assert harness.query(sock, ["8.8.8.8"])[0]["asn"] == 15169
        os.kill(int(pidfile.read_text()), signal.SIGTERM)
        out, _ = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert {k: host(k) for k in before} == before, "the host's sysctls changed"
    return (tmp_path / "log").read_text(), out


def test_raises_keeps_and_reports(tmp_path):
    # rmem_max is host-wide, read-only in the namespace: a target above the host's value makes
    # it the read-only case on any host; wmem_max's target at the host's value is "kept"
    rmem, wmem = int(host("net.core.rmem_max")), int(host("net.core.wmem_max"))
    if rmem > 2**31 - 1 - 4096:
        pytest.skip("the host's rmem_max leaves no room for a higher target")
    want = rmem + 4096
    log, out = run_in_netns(tmp_path, f"[sysctl]\nrmem_max = {want}\nwmem_max = {wmem}\n")
    assert "sysctl net.core.somaxconn: raised from 128 to 4096" in log
    assert "sysctl net.ipv4.tcp_fastopen: raised from 5 to 7" in log    # flags: 2 added, 4 kept
    assert "sysctl net.ipv4.tcp_tw_reuse: kept at 1 (target 1)" in log
    assert "sysctl net.ipv4.tcp_window_scaling: raised from 0 to 1" in log
    assert f"sysctl net.core.wmem_max: kept at {wmem} (target {wmem})" in log
    assert "after: 4096 7 1" in out                                     # the kernel's own word
    line = [l for l in log.splitlines() if "sysctl net.core.rmem_max:" in l]
    assert len(line) == 1, log
    assert line[0].startswith(f"<4>sysctl net.core.rmem_max: could not raise {rmem} to {want}: "), line
    assert f"(run as root: sysctl -w net.core.rmem_max={want}, or install 60-rasn.conf" in line[0], line
    assert int(host("net.core.rmem_max")) == rmem


def test_apply_off_changes_nothing(tmp_path):
    log, out = run_in_netns(tmp_path, "[sysctl]\napply = no\nsomaxconn = 2048\n")
    assert "sysctl net.core.somaxconn: 128 is below the target 2048; [sysctl] apply is off" in log
    assert "after: 128 5 1" in out


def test_never_lowered(tmp_path):
    """Values above target stay: somaxconn 8192 over 4096, tcp_tw_reuse 1 over a target of 2
    (1 means everywhere, 2 loopback only)."""
    log, out = run_in_netns(tmp_path, "[sysctl]\nsomaxconn = 100\ntcp_tw_reuse = 2\n")
    assert "sysctl net.core.somaxconn: kept at 128 (target 100)" in log
    assert "sysctl net.ipv4.tcp_tw_reuse: kept at 1 (target 2)" in log
    assert "after: 128 7 1" in out
