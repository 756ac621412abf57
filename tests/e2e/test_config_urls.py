"""[ripestat] base_url and [dataset] url are checked at load time by the HTTPS client's own
URL parser (lib/url.c): a URL it would refuse is a `file:line: problem` configuration error
(`rasnd --check-config`), not a lookup error later. (A host over 253 bytes is refused too,
tests/unit/test_url.c; the INI reader's line limit stops such a line first.)"""
import subprocess

import pytest

import harness

pytestmark = pytest.mark.skipif(harness.missing_rasnd() is not None, reason=harness.missing_rasnd() or "")


def check(conf, text):
    conf.write_text(text)
    return subprocess.run([harness.rasnd_path(), "--check-config", "-c", str(conf)],
                          capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize("url,why", [
    ("http://stat.ripe.net", "not an https:// URL"),
    ("https://stat ripe.net", "not https://HOST"),
    ("https://user@stat.ripe.net", "not https://HOST"),
    ("https://stat.ripe.net:0", "not https://HOST"),
    ("https://stat.ripe.net:65536/", "not https://HOST"),
    ("https://[1::2::3]/", "not https://HOST"),
])
def test_bad_urls_are_config_errors(tmp_path, url, why):
    conf = tmp_path / "c.conf"
    p = check(conf, f"[ripestat]\nbase_url = {url}\n")
    assert p.returncode == 1 and f"{conf}:2:" in p.stderr and why in p.stderr, p.stderr
    ds = harness.FIXTURE_DATASETS[0]
    p = check(conf, f"[dataset]\nfile = {ds}\nurl = {url}\n")
    assert p.returncode == 1 and f"{conf}:3:" in p.stderr and why in p.stderr, p.stderr


@pytest.mark.parametrize("url", ["https://stat.ripe.net", "HTTPS://127.0.0.1:8443/x?y=1#f",
                                 "https://[::1]:443/data"])
def test_good_urls_pass(tmp_path, url):
    p = check(tmp_path / "c.conf", f"[ripestat]\nbase_url = {url}\n")
    assert p.returncode == 0, p.stderr
