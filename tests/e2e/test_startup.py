"""The CLI's start-up (flows/startup.py): the embedded Prefect API it starts itself."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import NEWSETL, ROOT, SEEDS

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def _children(pid: int) -> list[int]:
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if int((d / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(d.name))
            except (OSError, IndexError, ValueError):
                pass
    return out


def _cmdline(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_killed_run_leaves_no_api_server_behind(tmp_path):
    go = tmp_path / "go"
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect-home"),
           "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180", "NEWSETL_PAUSE_AT": f"after_lock:{go}"}
    env.pop("PREFECT_API_URL", None)
    wh = tmp_path / "wh"
    run = subprocess.Popen([*NEWSETL, "run", "--source", str(SEEDS), "--warehouse", str(wh), "--no-tokens"],
                           cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while not ((wh / ".lock").exists() and (wh / ".lock").read_text().startswith(f"pid {run.pid}")):
            assert run.poll() is None and time.monotonic() < deadline, "the run never reached its lock"
            time.sleep(0.1)
        servers = [p for p in _children(run.pid) if "uvicorn" in _cmdline(p)]
        assert len(servers) == 1, [_cmdline(p) for p in _children(run.pid)]
        run.send_signal(signal.SIGKILL)            # no atexit handler runs
        run.wait(10)
        deadline = time.monotonic() + 15
        while _alive(servers[0]) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(servers[0]), "the embedded API outlived the run that started it"
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
        for p in _children(run.pid):
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass


def test_a_configured_api_is_used_and_no_server_is_started(tmp_path):
    """With PREFECT_API_URL pointing nowhere, the run says the API cannot be reached (exit 3)
    instead of starting its own: the user's setting wins."""
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect-home"), "PREFECT_API_URL": "http://127.0.0.1:9/api"}
    r = subprocess.run([*NEWSETL, "run", "--source", str(SEEDS), "--warehouse", str(tmp_path / "wh"), "--no-tokens"],
                       cwd=ROOT, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=240)
    assert r.returncode == 3, (r.returncode, r.stderr[-2000:])
    assert "could not reach the Prefect API" in r.stderr and "Traceback" not in r.stderr, r.stderr[-2000:]
    assert not (tmp_path / "wh" / "current").exists()
