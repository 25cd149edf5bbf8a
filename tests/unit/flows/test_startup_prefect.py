"""flows/startup.py starts Prefect's ephemeral API itself, copying how Prefect does it. If an
upgraded Prefect starts it differently (another command, other environment), these tests fail
and name the difference: then update startup.api_command / api_env, or drop the overlap.

Prefect's own start is run for real (SubprocessASGIServer._run_uvicorn_command starts the
uvicorn process); its command line and environment are read from /proc and the process is
stopped at once.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from flows import startup
from flows.procs import free_port

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


@pytest.fixture(scope="module")
def prefects_own_start(tmp_path_factory):
    """(argv, environ) of the process Prefect starts for its ephemeral API."""
    from prefect.server.api.server import SubprocessASGIServer

    port = free_port()
    server = SubprocessASGIServer(port=port)
    old_home = os.environ.get("PREFECT_HOME")
    os.environ["PREFECT_HOME"] = str(tmp_path_factory.mktemp("prefect-home"))
    try:
        caller = dict(os.environ)
        proc = server._run_uvicorn_command()
        ours = startup.api_env()
        try:
            proc_dir = Path("/proc") / str(proc.pid)
            deadline = time.monotonic() + 30
            while not (raw := proc_dir.joinpath("cmdline").read_bytes()) and time.monotonic() < deadline:
                time.sleep(0.01)                   # not yet exec'd
            argv = raw.decode().split("\0")[:-1]
            env = dict(kv.split("=", 1) for kv in proc_dir.joinpath("environ").read_bytes().decode(
                errors="surrogateescape").split("\0") if "=" in kv)
        finally:
            proc.kill()
            proc.wait()
        yield port, argv, env, caller, ours
    finally:
        SubprocessASGIServer._instances.pop(port, None)
        if old_home is None:
            os.environ.pop("PREFECT_HOME", None)
        else:
            os.environ["PREFECT_HOME"] = old_home


def test_the_api_command_is_prefects(prefects_own_start):
    port, argv, _, _, _ = prefects_own_start
    assert startup.api_command(port) == argv, (
        "Prefect starts its ephemeral API with another command now; update flows/startup.api_command")


def test_the_api_environment_is_prefects(prefects_own_start):
    """What each adds to or changes in the caller's environment is the same, except the
    settings Prefect passes on explicitly (`to_environment_variables(exclude_unset=True)`):
    the server process reads those itself from the same environment and PREFECT_HOME."""
    from prefect.settings import get_current_settings

    _, _, env, caller, ours = prefects_own_start
    settings = get_current_settings().to_environment_variables(exclude_unset=True)
    theirs = {k: v for k, v in env.items() if caller.get(k) != v and k not in settings}
    ours = {k: v for k, v in ours.items() if caller.get(k) != v}
    assert ours == theirs, (
        "Prefect starts its ephemeral API with another environment now; update flows/startup.api_env")
