"""A Prefect server killed mid-run (PREFECT_API_URL set): one line, a documented exit code,
the warehouse at the old or the new state, within seconds. Slow: it starts a real server
(`prefect server start`, as `newsetl ui` does) - 10-30 s here."""
from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

from flows.procs import free_port, wait_healthy
from tests.conftest import ROOT
from tests.faults.conftest import newsetl_lines, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.server]


@pytest.fixture
def server(tmp_path):
    from flows.ui import server_command, server_env
    port = free_port()
    home = tmp_path / "server-home"
    home.mkdir()
    proc = subprocess.Popen(server_command(port), cwd=ROOT, env={**server_env(port), "PREFECT_HOME": str(home)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    api = f"http://127.0.0.1:{port}/api"
    if not wait_healthy(api, proc, timeout=240):
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.skip("the Prefect server did not start within 240 s")
    yield proc, api
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@pytest.mark.parametrize("when", ["early", "late"])
def test_server_killed_mid_run(tmp_path, start_run, busy_source, server, when):
    proc, api = server
    wh = tmp_path / "wh"
    p = start_run("--source", str(busy_source), "--warehouse", str(wh), "--no-tokens", "--batch-size", "100",
                  env={"PREFECT_API_URL": api})
    marker = (lambda: (wh / ".lock").exists()) if when == "early" else (lambda: any(wh.glob(".staging/*/version")))
    assert wait_for(marker, 300, p), p.communicate()[1][-2000:]
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    t = time.monotonic()
    _, err = p.communicate(timeout=120)
    took = time.monotonic() - t
    lines = newsetl_lines(err)
    assert len(lines) == 1 and lines[0].startswith("newsetl: Prefect API lost"), err[-3000:]
    assert "Traceback" not in err, err[-3000:]
    # Prefect's own reports of the lost API (engine, events client, log handler) are not shown
    assert not [ln for ln in err.splitlines() if "| ERROR" in ln or "Error logging to API" in ln], err[-3000:]
    if when == "late":                  # the version was built: it is published, exit 0
        assert (wh / "current").exists()
        assert p.returncode == 0 and "published as version" in lines[0], err[-2000:]
    else:                               # lost while batches still ran: old state, exit 3
        assert not (wh / "current").exists()
        assert p.returncode == 3 and "nothing was published" in lines[0], err[-2000:]
    assert took < 20.0, took            # the bound is 10 s after the fault; measured 1.4 s and 9.6 s
