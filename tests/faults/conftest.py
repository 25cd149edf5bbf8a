"""Fixtures for the fault suite: a `newsetl run` started as a real process (so signals,
locks and exits are the user's), and a source big enough to still be running a few seconds in."""
from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import NEWSETL, ROOT, SEEDS, cli_env


@pytest.fixture
def busy_source(tmp_path: Path) -> Path:
    """1,500 distinct articles made from the seeds (each copy gets its own last line)."""
    src = tmp_path / "busy"
    src.mkdir()
    seeds = [p.read_text(encoding="utf-8") for p in sorted(SEEDS.iterdir())]
    for i in range(1500):
        (src / f"{i:05d}.txt").write_text(seeds[i % len(seeds)] + f"\nBản tin số {i} của tòa soạn.\n",
                                          encoding="utf-8")
    return src


@pytest.fixture
def start_run(cli_prefect_home: Path):
    """Start `newsetl run ARGS` in its own process; returns the Popen (stdout/stderr piped)."""
    procs = []

    def _start(*args: str, env: dict | None = None) -> subprocess.Popen:
        p = subprocess.Popen([*NEWSETL, "run", *args], cwd=ROOT, env=cli_env(cli_prefect_home, env),
                             stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        procs.append(p)
        return p
    yield _start
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()


def wait_for(cond, timeout: float, proc: subprocess.Popen | None = None) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        if proc is not None and proc.poll() is not None:
            return False
        time.sleep(0.05)
    return False


def newsetl_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("newsetl:")]
