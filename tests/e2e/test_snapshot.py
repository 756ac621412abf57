"""Table snapshots ([dataset] snapshot): after a parse rasnd writes STATE/table.snap; the next
start (and a reload of unchanged files) reads it instead of parsing, with answers identical to
the parsed table's; a changed dataset file makes it stale (ignored, parsed, rewritten); a
damaged image is refused with the reason in the log and the files are parsed.

Where the table came from is proven twice: by `stats` (table.from_snapshot) and by rasnd's own
log ("read from their snapshot", or why the image was not used). The image is written off the
loop after the first answers, so tests wait for the log line that says it was written (with a
deadline), never for a fixed time.
"""
import json
import os
import shutil
import time

import pytest

import harness

pytestmark = pytest.mark.skipif(harness.missing_rasnd() is not None, reason=harness.missing_rasnd() or "")

# A documentation range (RFC 5737) not in the fixture: appended to prove a parse happened.
EXTRA_ROW = '7.7.8.0,7.7.8.255,64496,"Snapshot Test, Appended"\n'


def dataset_copy(tmp_path):
    """The fixture files copied where the test may change them."""
    d = tmp_path / "data"
    d.mkdir()
    out = []
    for f in harness.FIXTURE_DATASETS:
        shutil.copy(f, d / f.name)
        out.append(d / f.name)
    return out


def wait_log(srv, text, timeout=30.0):
    """Wait until rasnd's log holds text (the snapshot writer runs after the first answers)."""
    deadline = time.monotonic() + timeout
    while text not in srv.stderr_text():
        if srv.proc.poll() is not None:
            raise AssertionError(f"rasnd exited waiting for {text!r}:\n{srv.stderr_text()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"no {text!r} in rasnd's log after {timeout} s:\n{srv.stderr_text()}")
        time.sleep(0.02)


def table_stats(srv):
    (st,) = srv.query(["stats"])
    assert st["status"] == "ok"
    return st["stats"]["table"]


def probe_lines(datasets):
    """Address lines at both edges of every fixture range and just outside them, AS,
    prefixes and org queries: every kind of answer the table gives."""
    lines = []
    for path in datasets:
        with open(path) as f:
            for row in f:
                first, last = row.split(",", 2)[:2]
                lines += [first, last]
    lines += ["0.0.0.0", "255.255.255.255", "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
              "7.7.8.7", "AS13335", "AS15169", "AS721", "AS64496", "AS4294967295",
              "prefixes AS13335", "prefixes AS15169", "prefixes AS64496", "org google", "org inc",
              "org snapshot test", "org no such organisation"]
    return lines


def answers(srv, lines):
    replies = srv.query_raw(lines)
    assert len(replies) == len(lines)
    return replies


def snap_path(srv):
    return srv.state_dir / "table.snap"


def first_run(tmp_path, datasets, config_text=""):
    """Start on parsed files, wait for the image; returns (server stopped, answers)."""
    srv = harness.Rasnd(tmp_path, datasets=datasets, config_text=config_text)
    with srv:
        wait_log(srv, "snapshot " + str(snap_path(srv)) + " written")
        assert "none yet, parsing the dataset" in srv.stderr_text()
        assert table_stats(srv)["from_snapshot"] == 0
        got = answers(srv, probe_lines(datasets))
    assert snap_path(srv).is_file()
    return srv, got


def test_second_start_reads_snapshot_with_identical_answers(tmp_path):
    datasets = dataset_copy(tmp_path)
    srv, parsed = first_run(tmp_path, datasets)
    assert sum('"status":"ok"' in a for a in parsed) > 5000
    with srv:
        log = srv.stderr_text()
        assert "read from their snapshot" in log, log
        assert "parsing the dataset" not in log
        assert "written" not in log  # nothing to write: the image is current
        t = table_stats(srv)
        assert t["from_snapshot"] == 1
        assert answers(srv, probe_lines(datasets)) == parsed
        # the files the table records are the configured ones, with their row counts
        assert [f["path"] for f in t["files"]] == [str(p) for p in datasets]
        assert all(f["rows"] > 0 for f in t["files"])


def test_changed_dataset_makes_snapshot_stale(tmp_path):
    datasets = dataset_copy(tmp_path)
    srv, parsed = first_run(tmp_path, datasets)
    assert '"status":"not_found"' in parsed[-13]  # 7.7.8.7 before the change
    with open(datasets[0], "a") as f:
        f.write(EXTRA_ROW)
    with srv:
        log = srv.stderr_text()
        assert "not used, parsing the dataset" in log and str(datasets[0]) in log, log
        assert table_stats(srv)["from_snapshot"] == 0
        (r,) = srv.query(["7.7.8.7"])
        assert r["status"] == "ok" and r["asn"] == 64496
        wait_log(srv, "snapshot " + str(snap_path(srv)) + " written")
        changed = answers(srv, probe_lines(datasets))
    # the rewritten image now answers for the changed file
    with srv:
        assert table_stats(srv)["from_snapshot"] == 1
        assert answers(srv, probe_lines(datasets)) == changed
        (r,) = srv.query(["7.7.8.7"])
        assert r["asn"] == 64496 and r["as_name"] == "Snapshot Test, Appended"


def flip_middle(p):
    data = bytearray(p.read_bytes())
    data[len(data) // 2] ^= 0x01
    p.write_bytes(bytes(data))


def truncate_half(p):
    data = p.read_bytes()
    p.write_bytes(data[:len(data) // 2])


def garbage(p):
    p.write_bytes(os.urandom(100000))


def empty(p):
    p.write_bytes(b"")


def other_version(p):
    data = bytearray(p.read_bytes())
    data[8] ^= 0x7f  # the format version field, right after the magic
    p.write_bytes(bytes(data))


@pytest.mark.parametrize("damage,reason", [
    (flip_middle, ("checksum mismatch", "padding damaged")),
    (truncate_half, ("truncated",)),
    (garbage, ("not a rasn table snapshot",)),
    (empty, ("truncated",)),
    (other_version, ("format version",)),
])
def test_damaged_snapshot_is_parsed_around(tmp_path, damage, reason):
    datasets = dataset_copy(tmp_path)
    srv, parsed = first_run(tmp_path, datasets)
    damage(snap_path(srv))
    with srv:
        log = srv.stderr_text()
        assert "not used, parsing the dataset" in log and any(r in log for r in reason), log
        assert table_stats(srv)["from_snapshot"] == 0
        assert answers(srv, probe_lines(datasets)) == parsed
        # and replaced by a good one
        wait_log(srv, "snapshot " + str(snap_path(srv)) + " written")
    with srv:
        assert table_stats(srv)["from_snapshot"] == 1
        assert answers(srv, probe_lines(datasets)) == parsed


def test_reload_reads_snapshot_of_unchanged_files(tmp_path):
    datasets = dataset_copy(tmp_path)
    srv = harness.Rasnd(tmp_path, datasets=datasets)
    with srv:
        wait_log(srv, "snapshot " + str(snap_path(srv)) + " written")
        before = answers(srv, probe_lines(datasets))
        (r,) = srv.query(["reload"])
        assert r["status"] == "ok", r
        assert table_stats(srv)["from_snapshot"] == 1
        assert answers(srv, probe_lines(datasets)) == before
        # a changed file: parsed, and the image written again by the reload's worker
        with open(datasets[0], "a") as f:
            f.write(EXTRA_ROW)
        (r,) = srv.query(["reload"])
        assert r["status"] == "ok", r
        assert table_stats(srv)["from_snapshot"] == 0
        (r,) = srv.query(["7.7.8.7"])
        assert r["asn"] == 64496
        log = srv.stderr_text()
        assert log.count("snapshot " + str(snap_path(srv)) + " written") == 2, log


def test_snapshot_off_writes_and_reads_nothing(tmp_path):
    datasets = dataset_copy(tmp_path)
    # a good image from a run with snapshots on ...
    srv, parsed = first_run(tmp_path, datasets)
    mtime = snap_path(srv).stat().st_mtime_ns
    # ... is not read with them off, and no image is written
    off = harness.Rasnd(tmp_path / "off", datasets=datasets, config_text="[dataset]\nsnapshot = no\n")
    off.state_dir = srv.state_dir
    with off:
        assert table_stats(off)["from_snapshot"] == 0
        assert answers(off, probe_lines(datasets)) == parsed
        log = off.stderr_text()
        assert "table.snap" not in log and "their snapshot" not in log, log
    assert snap_path(srv).stat().st_mtime_ns == mtime
    fresh = harness.Rasnd(tmp_path / "fresh", datasets=datasets, config_text="[dataset]\nsnapshot = no\n")
    with fresh:
        assert table_stats(fresh)["from_snapshot"] == 0
    assert not (fresh.state_dir / "table.snap").exists()


def test_unwritable_state_dir_still_serves(tmp_path):
    """A state directory that cannot be made: the image is not written, the log says why, and
    the daemon answers from the parsed table."""
    datasets = dataset_copy(tmp_path)
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the state directory should be\n")
    srv = harness.Rasnd(tmp_path, datasets=datasets, config_text="[cache]\ndisk = no\n")
    srv.state_dir = blocker / "state"
    with srv:
        wait_log(srv, "snapshot not written")
        (r,) = srv.query(["8.8.8.8"])
        assert r["status"] == "ok" and r["asn"] == 15169
        assert table_stats(srv)["from_snapshot"] == 0


def test_kill_9_during_the_snapshot_write_then_a_clean_start_removes_what_it_left(tmp_path):
    """kill -9 while the image is written leaves STATE/table.snap.tmp.PID; the next start
    removes it (and every other file named as rasnd names its temporaries, whose writer is
    gone), logs each removal, and answers. The fixture's image is written in milliseconds, so
    the kill may land before, during or after the write: the file the kill leaves is then
    planted under the same name with the dead PID, as the kill leaves it on a large table.
    Files of other names, and the temporary of a rasnd still running, are left alone."""
    datasets = dataset_copy(tmp_path)
    urls = "".join(f"url = https://127.0.0.1:1/{f.name}\n" for f in datasets)
    cfg = "[cache]\ndisk = no\n[dataset]\nrefresh = 0\n" + urls
    killed = harness.Rasnd(tmp_path / "killed", datasets=datasets, config_text=cfg)
    state = killed.state_dir
    killed.start()
    harness.wait_for(lambda: state.is_dir() and any(p.name.startswith("table.snap") for p in state.iterdir()),
                     30, "the snapshot write to begin")
    killed.proc.kill()
    assert killed.stop() == -9
    # a rasnd running on the same state directory (another socket) keeps its file; started
    # first, as its own start would clean what is planted below
    live_srv = harness.Rasnd(tmp_path / "live", datasets=datasets,
                             config_text="[cache]\ndisk = no\n[dataset]\nsnapshot = no\n")
    live_srv.state_dir = state
    with live_srv:
        busy = state / f"table.snap.tmp.{live_srv.proc.pid}"
        busy.write_bytes(b"being written")
        dead = state / f"table.snap.tmp.{killed.proc.pid}"
        if not dead.exists():
            dead.write_bytes(b"RASNSNAP" + os.urandom(1 << 20))
        # a temporary of a process that is alive but not rasnd (a reused PID): stale as well
        reused = state / f"table.snap.tmp.{os.getpid()}"
        reused.write_bytes(b"partial")
        # refresh's temporaries beside the dataset files (their urls are configured)
        downloads = [datasets[0].with_name(datasets[0].name + ".new"),
                     datasets[1].with_name(datasets[1].name + ".http.tmp")]
        for f in downloads:
            f.write_text("cut short")
        keep = [state / "table.snap.tmp.", state / "table.snap.tmp.12x", state / "table.snap.tmpx.1",
                state / "other.tmp.1", datasets[0].with_name("unrelated.new")]
        for f in keep:
            f.write_text("not rasnd's\n")
        clean = harness.Rasnd(tmp_path / "clean", datasets=datasets, config_text=cfg)
        clean.state_dir = state
        with clean:
            (r,) = clean.query(["8.8.8.8"])
            assert r["status"] == "ok" and r["asn"] == 15169
            log = clean.stderr_text()
            for f in [dead, reused] + downloads:
                assert not f.exists(), f
                assert f"removed stale temporary file {f}" in log, log
            for f in keep + [busy]:
                assert f.exists(), f
            assert str(busy) not in log and "other.tmp" not in log
            assert live_srv.query(["ping"])[0]["status"] == "ok"
