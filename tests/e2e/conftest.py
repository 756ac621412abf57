"""Fixtures shared by the end-to-end tests (the harness itself is in harness.py)."""
import pytest

import harness


@pytest.fixture
def rasnd(tmp_path):
    """A started real rasnd on the fixture datasets; skipped while rasnd is not built."""
    reason = harness.missing_rasnd()
    if reason:
        pytest.skip(reason)
    d = harness.Rasnd(tmp_path / "rasnd")
    d.start()
    yield d
    rc = d.stop()
    assert rc == 0, f"rasnd exited with {rc} on SIGTERM\n{d.stderr_text()}"


_SYSCTLS = ("net/core/rmem_max", "net/core/wmem_max", "net/ipv4/tcp_window_scaling",
            "net/ipv4/tcp_fastopen", "net/core/somaxconn", "net/ipv4/tcp_tw_reuse")


def _host_sysctls():
    out = {}
    for k in _SYSCTLS:
        try:
            with open("/proc/sys/" + k) as f:
                out[k] = f.read().strip()
        except OSError:
            out[k] = None
    return out


@pytest.fixture(autouse=True, scope="session")
def host_kernel_untouched():
    """Tests run as root next to a daemon that raises sysctls: none may change the host's."""
    before = _host_sysctls()
    yield
    after = _host_sysctls()
    assert after == before, f"the host's sysctls changed during the tests: {before} -> {after}"
