"""flows/progress.py in real processes: plain lines when output is a pipe, a tqdm bar on a
pseudo-terminal (even with TQDM_DISABLE=0 in the environment), counts to the log callback."""
from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

import pytest

from flows.progress import Progress, StageCounts, format_line

ROOT = Path(__file__).resolve().parents[3]

# 40 files in 8 batches of 5, 0.15 s apart (about 1.2 s), advanced from worker threads.
SCRIPT = """
import sys, threading, time
from flows.progress import Progress
logged = []
with Progress(interval={interval}, refresh=0.1, log=logged.append) as progress:
    stage = progress.stage("transform", total=40)
    for _ in range(8):
        threads = [threading.Thread(target=stage.advance) for _ in range(5)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        time.sleep(0.15)
    stage.finish()
print("LOGGED", len(logged), logged[-1], flush=True)
"""


def _env() -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT), TQDM_DISABLE="0", COLUMNS="100")
    return env


def test_plain_lines_when_output_is_not_a_terminal():
    proc = subprocess.run([sys.executable, "-c", SCRIPT.format(interval=0.25)], cwd=ROOT,
                          env=_env(), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    periodic = [ln for ln in lines if ln.startswith("news-etl transform: ") and "/40 files" in ln]
    assert len(periodic) >= 2, proc.stderr                # about 1.2 s at one line per 0.25 s
    assert all("files/s" in ln for ln in periodic)
    assert lines[-1].startswith("news-etl transform: done 40 files in ")
    assert "\r" not in proc.stderr and "\x1b[" not in proc.stderr    # no bar drawing in a pipe
    done = [int(ln.split(": ")[1].split("/")[0]) for ln in periodic]
    assert done == sorted(done) and all(0 <= d <= 40 for d in done)
    # the log callback got the periodic lines too, and the done line last
    count, last = proc.stdout.strip().removeprefix("LOGGED ").split(" ", 1)
    assert int(count) >= 3 and last.startswith("news-etl transform: done 40 files in ")


@pytest.mark.parametrize("columns", [120, 0], ids=["sized", "zero-width"])
def test_a_bar_is_drawn_on_a_terminal(columns):
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT.format(interval=30)], cwd=ROOT,
                            env=_env(), stdin=slave, stdout=slave, stderr=slave, close_fds=True)
    os.close(slave)
    chunks = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:                   # the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    proc.wait(timeout=10)
    os.close(master)
    screen = b"".join(chunks).decode("utf-8", "replace")
    assert proc.returncode == 0, screen
    assert "news-etl transform" in screen
    assert "\r" in screen and "|" in screen            # tqdm redraws one line in place
    assert "40/40" in screen and " files/s" in screen
    assert screen.count("\r") >= 4                     # refreshed while it worked, not once at the end
    assert "/40 files," not in screen                  # no plain lines on a terminal


def test_advance_from_many_threads_loses_nothing():
    with Progress("off") as progress:
        stage = progress.stage("dedup", total=None)

        def work():
            for _ in range(1000):
                stage.advance()
        threads = [threading.Thread(target=work) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert stage.done == 8000


def test_log_gets_periodic_lines_and_the_done_line_in_bar_mode(tmp_path):
    logged: list[str] = []
    with open(tmp_path / "tty-less", "w") as stream:
        with Progress("bar", stream=stream, refresh=0.05, log=logged.append, log_interval=0.1) as p:
            stage = p.stage("extract", total=10)
            for _ in range(10):
                stage.advance()
                time.sleep(0.05)
    assert any(line.startswith("news-etl extract: ") and "/10 files" in line for line in logged)
    assert logged[-1].startswith("news-etl extract: done 10 files in ")


def test_close_returns_promptly():
    progress = Progress("plain", interval=30, stream=open(os.devnull, "w"))
    progress.stage("load", total=1)
    started = time.monotonic()
    progress.close()
    assert time.monotonic() - started < 2.0           # does not wait out the 30 s interval


def test_format_line():
    counts = StageCounts("transform", 1200, 35440, "files", 5.0, False)
    assert format_line(counts) == "news-etl transform: 1200/35440 files, 240.0 files/s, eta 2m23s"
    assert format_line(counts._replace(total=None)) == "news-etl transform: 1200 files, 240.0 files/s"
    assert format_line(counts._replace(done=35440, elapsed=147.0, finished=True)) == \
        "news-etl transform: done 35440 files in 2m27s (241.1 files/s)"
