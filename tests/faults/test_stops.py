"""Stops that stop, with real processes: a busy lock, SIGINT and SIGTERM mid-run, the exit
after the summary. Bounds are the issue's (75 within 2 s, a signal within 3 s, exit within 1 s
of the summary) with slack for a loaded 2-core machine; the measured figures are in the README."""
from __future__ import annotations

import fcntl
import os
import signal
import time

import pytest

from tests.faults.conftest import newsetl_lines, wait_for

SIGNAL_BOUND_S = 10.0       # measured 0.2-0.3 s on an idle machine, under 3 s at load 15


def test_busy_lock_exits_75_before_prefect_starts(tmp_path, start_run, seeds_dir):
    wh = tmp_path / "wh"
    wh.mkdir()
    fd = os.open(wh / ".lock", os.O_RDWR | os.O_CREAT)
    os.write(fd, b"pid 4242, since a while")
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        t = time.monotonic()
        p = start_run("--source", str(seeds_dir), "--warehouse", str(wh), "--no-tokens")
        _, err = p.communicate(timeout=60)
        took = time.monotonic() - t
    finally:
        os.close(fd)
    assert p.returncode == 75, err
    assert newsetl_lines(err) == [newsetl_lines(err)[0]] and "pid 4242" in err
    assert "Traceback" not in err
    assert took < 5.0, took            # the issue asks 2 s; measured 0.6 s at load 15
    assert sorted(x.name for x in wh.iterdir()) == [".lock"]


@pytest.mark.parametrize("sig, code, word", [(signal.SIGINT, 130, "interrupted"),
                                             (signal.SIGTERM, 143, "terminated")])
def test_signal_mid_run_one_line_documented_code_nothing_published(tmp_path, start_run, busy_source,
                                                                    sig, code, word):
    wh = tmp_path / "wh"
    p = start_run("--source", str(busy_source), "--warehouse", str(wh), "--no-tokens", "--batch-size", "100")
    assert wait_for(lambda: any((wh / ".staging").glob("*/")), 240, p), p.communicate()[1][-2000:]
    time.sleep(1.0)
    assert p.poll() is None, "the run ended before the signal; make the source bigger"
    t = time.monotonic()
    p.send_signal(sig)
    _, err = p.communicate(timeout=60)
    took = time.monotonic() - t
    assert p.returncode == code, err[-2000:]
    lines = newsetl_lines(err)
    assert len(lines) == 1 and word in lines[0] and "nothing was published" in lines[0], err[-2000:]
    assert "Traceback" not in err and "Crash detected" not in err and "leaked" not in err, err[-2000:]
    assert took < SIGNAL_BOUND_S, took
    assert not (wh / "current").exists()          # the first run: nothing published


def test_finished_run_exits_right_after_its_summary(tmp_path, start_run, seeds_dir):
    p = start_run("--source", str(seeds_dir), "--warehouse", str(tmp_path / "wh"), "--no-tokens")
    summary_at = None
    for line in p.stdout:                         # the summary opens with "run <id>: completed"
        if summary_at is None and line.startswith("run ") and ": completed" in line:
            summary_at = time.monotonic()
    p.wait(timeout=60)
    assert summary_at is not None, "no summary line on stdout"
    gap = time.monotonic() - summary_at
    err = p.stderr.read()
    assert p.returncode == 0, err
    assert "Still processing items" not in err and "Traceback" not in err
    assert gap < 3.0, gap                         # the issue asks 1 s; measured 0.3 s

