"""One real Prefect server for the server tests, started the way users start it (`newsetl ui`,
which runs `prefect server start --host 127.0.0.1`), with its own PREFECT_HOME.

Starting a server takes 10-30 s here, so the pytest-xdist workers share one: the first worker
that needs it starts it and writes its address to a file next to the per-worker temp dirs; each
worker that uses it leaves a file with its pid. The worker that started it stops it with SIGINT
(as Ctrl-C would) once no other live worker uses it, and checks that it stopped cleanly; if
that worker is killed, the server gets SIGTERM (PR_SET_PDEATHSIG) and stops too.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from filelock import FileLock

from flows.procs import die_with_parent, free_port, wait_healthy
from tests.conftest import NEWSETL, ROOT, SEEDS, duck

START_TIMEOUT = 240.0


@dataclass(frozen=True)
class PrefectServer:
    url: str            # http://127.0.0.1:<port>   (the UI)
    api_url: str        # http://127.0.0.1:<port>/api
    port: int
    home: Path          # PREFECT_HOME of the server
    log: Path           # stdout + stderr of `newsetl ui`
    pid: int

    def env(self, home: Path, **extra: str) -> dict[str, str]:
        """Environment for a `newsetl` subprocess that reports to this server."""
        return {**os.environ, "PREFECT_HOME": str(home), "PREFECT_API_URL": self.api_url, **extra}

    def client(self):
        """A sync Prefect client for this server, whatever API the test process points at."""
        return _Client(self.api_url)


class _Client:
    def __init__(self, api_url: str):
        self.api_url = api_url

    def __enter__(self):
        from prefect.client.orchestration import get_client
        from prefect.settings import PREFECT_API_URL, temporary_settings
        self._settings = temporary_settings(updates={PREFECT_API_URL: self.api_url})
        self._settings.__enter__()
        self._client = get_client(sync_client=True)
        return self._client.__enter__()

    def __exit__(self, *exc):
        try:
            self._client.__exit__(*exc)
        finally:
            self._settings.__exit__(*exc)


def _alive(pid: int) -> bool:
    """Running, not a zombie (a parent that exited leaves it to a reaper that may be slow)."""
    try:
        if os.waitpid(pid, os.WNOHANG) != (0, 0):
            return False                        # our child, now reaped
    except ChildProcessError:
        pass
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _start(shared: Path) -> tuple[PrefectServer, subprocess.Popen]:
    for _ in range(3):
        # two ports free a moment ago (port + 1, the default of --docs-port, can be the local
        # end of a connection another test holds); taken again in between: try other ports
        port, docs_port = free_port(), free_port()
        home = shared / f"prefect-server-{port}"
        home.mkdir()
        log = home / "newsetl-ui.log"
        env = {**os.environ, "PREFECT_HOME": str(home)}
        env.pop("PREFECT_API_URL", None)
        with open(log, "w") as out:
            proc = subprocess.Popen([*NEWSETL, "ui", "--port", str(port), "--docs-port", str(docs_port)],
                                    cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True, preexec_fn=die_with_parent)
        url = f"http://127.0.0.1:{port}"
        t = time.monotonic()
        healthy = wait_healthy(url + "/api", proc, timeout=START_TIMEOUT)
        if healthy or "is in use" not in log.read_text(errors="replace"):
            break
    if not healthy:
        proc.kill()
        proc.wait()
        pytest.fail(f"`newsetl ui` did not serve {url}/api/health within {START_TIMEOUT:.0f}s:\n"
                    + log.read_text(errors="replace")[-3000:])
    # The health check can answer before `newsetl ui` prints its hint; give it a moment.
    while "export PREFECT_API_URL" not in log.read_text() and time.monotonic() - t < START_TIMEOUT:
        time.sleep(0.2)
    (home / "startup_seconds").write_text(f"{time.monotonic() - t:.1f}")
    return PrefectServer(url, url + "/api", port, home, log, proc.pid), proc


def _stop(proc: subprocess.Popen, log: Path) -> tuple[int, str]:
    """SIGINT, as Ctrl-C in the terminal would send; returns (exit code, output)."""
    proc.send_signal(signal.SIGINT)
    try:
        code = proc.wait(60)
    except subprocess.TimeoutExpired:
        proc.kill()
        code = proc.wait()
    return code, log.read_text(errors="replace")


def _live_users(users: Path, me: str) -> list[str]:
    live = []
    for f in users.iterdir():
        if f.name != me and _alive(int(f.read_text() or 0)):
            live.append(f.name)
    return live


def _shared_dir(tmp_path_factory) -> Path:
    """A folder all xdist workers of this session see (the parent of their basetemps)."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return tmp_path_factory.getbasetemp().parent
    return tmp_path_factory.getbasetemp()


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory) -> PrefectServer:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    shared = _shared_dir(tmp_path_factory)
    lock, info, users = shared / "prefect-server.lock", shared / "prefect-server.json", shared / "users"
    users.mkdir(exist_ok=True)
    proc = None
    with FileLock(str(lock)):
        server = None
        if info.exists():
            d = json.loads(info.read_text())
            server = PrefectServer(**{**d, "home": Path(d["home"]), "log": Path(d["log"])})
            if not wait_healthy(server.api_url, timeout=5):
                server = None
        if server is None:
            server, proc = _start(shared)
            info.write_text(json.dumps({**server.__dict__, "home": str(server.home), "log": str(server.log)}))
        (users / worker).write_text(str(os.getpid()))
    yield server
    (users / worker).unlink(missing_ok=True)
    if proc is None:
        return                              # the worker that started it stops it
    deadline = time.monotonic() + 3 * 3600
    while True:
        with FileLock(str(lock)):           # new users register under the same lock
            if not _live_users(users, worker) or time.monotonic() > deadline:
                info.unlink(missing_ok=True)
                code, log = _stop(proc, server.log)
                break
        time.sleep(1)
    assert "Traceback" not in log, log
    assert "Prefect server stopped" in log, log
    assert code == 0, f"`newsetl ui` exited {code} on SIGINT:\n{log}"


@pytest.fixture(scope="session")
def seeds_copy(tmp_path_factory) -> Path:
    import shutil
    d = tmp_path_factory.mktemp("seeds") / "source"
    shutil.copytree(SEEDS, d)
    return d


def run_newsetl(server: PrefectServer, home: Path, *args: str, timeout: float = 300,
                **extra_env: str) -> subprocess.CompletedProcess:
    """`newsetl <args>` in a subprocess reporting to `server`, as a user with PREFECT_API_URL set."""
    return subprocess.run([*NEWSETL, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          env=server.env(home, **extra_env), stdin=subprocess.DEVNULL)


@dataclass(frozen=True)
class EtlRun:
    flow_run_id: str
    returncode: int
    stdout: str
    stderr: str
    warehouse: Path


@pytest.fixture(scope="session")
def etl_run(prefect_server, tmp_path_factory) -> EtlRun:
    """One `newsetl run` over a copy of the seeds, reported to the shared server; the xdist
    workers share it like the server (keyed by the server's port)."""
    import shutil
    shared = _shared_dir(tmp_path_factory)
    record = shared / f"etl-run-{prefect_server.port}.json"
    with FileLock(str(shared / "etl-run.lock")):
        if record.exists():
            d = json.loads(record.read_text())
            return EtlRun(**{**d, "warehouse": Path(d["warehouse"])})
        tmp = Path(tempfile.mkdtemp(prefix="etl-run-", dir=shared))
        shutil.copytree(SEEDS, tmp / "source")
        wh = tmp / "warehouse"
        r = run_newsetl(prefect_server, tmp / "home", "run", "--source", str(tmp / "source"),
                        "--warehouse", str(wh), "--no-tokens")
        assert r.returncode == 0, r.stdout + r.stderr
        flow_run_id = duck(wh, "select flow_run_id from runs")[0][0]
        assert flow_run_id, "runs.flow_run_id is empty: the run did not report to the server"
        run = EtlRun(flow_run_id, r.returncode, r.stdout, r.stderr, wh)
        record.write_text(json.dumps({**run.__dict__, "warehouse": str(wh)}))
        return run
