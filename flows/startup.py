"""The fixed cost of one `newsetl run`, overlapped.

A run pays three start-up costs before its first document: importing Prefect and our modules
(in this process), booting the Prefect API and importing Great Expectations. With no API
configured, Prefect's embedded ("ephemeral") API is a uvicorn subprocess that Prefect starts
on its first client call, after importing the whole server package in the caller (about 2 s)
and then waiting for /health (4-5 s): 10-15 s one after the other on a 2-core machine.

`begin()` starts that same subprocess, with the command and environment Prefect uses for its
ephemeral API (prefect.server.api.server.SubprocessASGIServer: same database in PREFECT_HOME,
no UI, ephemeral mode), as the very first thing the CLI does, and imports GX in a thread while
this process imports Prefect and our modules. The flow then talks to it through
PREFECT_API_URL, like any Prefect server. When an API is configured (PREFECT_API_URL in the
environment or the active Prefect profile), nothing is started.

    boot = startup.begin()      # returns at once
    ...                         # imports
    boot.wait_for_api()         # before the first Prefect call
"""
from __future__ import annotations

import atexit
import importlib.util
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from flows.procs import die_with_parent, free_port, wait_healthy


class Boot:
    def __init__(self) -> None:
        self.process: subprocess.Popen | None = None
        self.api_url: str | None = None
        self._ready = threading.Event()
        self._error: str | None = None

    # -- start ---------------------------------------------------------------------------------
    def start(self) -> "Boot":
        # an API named in the environment: Prefect's settings decide, as usual
        if not (os.environ.get("PREFECT_API_URL")
                or os.environ.get("PREFECT_SERVER_EPHEMERAL_ENABLED", "").lower() in ("0", "false", "no")):
            self._launch()
            threading.Thread(target=self._wait_healthy, name="newsetl-prefect-api", daemon=True).start()
        # GX first (the first gate needs it), then the transforms' lookup tables (the flow
        # transforms small inputs in this process); the flow's own warm-up call is then a no-op
        from expectations.gx_context import warm_up_in_background
        warm_up_in_background(then=_warm_up_transforms)
        return self

    def _launch(self) -> None:
        port = free_port()
        self._stderr = tempfile.TemporaryFile()      # read back only if the server fails to start
        self.process = subprocess.Popen(api_command(port), env=api_env(), stdin=subprocess.DEVNULL,
                                        stderr=self._stderr, preexec_fn=die_with_parent)
        self.api_url = f"http://127.0.0.1:{port}/api"
        atexit.register(self.stop)

    def _wait_healthy(self) -> None:
        # `proc` is this thread's own reference: stop() may set self.process to None at any
        # moment (an exit-2 run stops the API while this still waits), which once printed
        # "Exception in thread newsetl-prefect-api" with a cut-off traceback
        proc = self.process
        timeout = float(os.environ.get("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS") or 120)
        try:
            if proc is None or wait_healthy(self.api_url, proc, timeout=timeout, interval=0.05):
                return
            if proc.poll() is None:
                self._error = (f"it did not answer within {timeout:.0f} s "
                               "(PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS)")
            else:
                err = ""
                try:
                    self._stderr.seek(0)
                    err = self._stderr.read().decode("utf-8", "replace").strip()
                except (OSError, ValueError):
                    pass
                self._error = f"it exited with code {proc.returncode}" + (f": {err[-500:]}" if err else "")
        except Exception as e:  # noqa: BLE001 - a thread must not print a traceback at exit
            self._error = f"{type(e).__name__}: {e}"
        finally:
            self._ready.set()

    # -- use -----------------------------------------------------------------------------------
    def wait_for_api(self) -> None:
        """Before the first Prefect call: point Prefect at the started API, or, when Prefect's
        settings (a profile) name an API after all, stop ours. Raises RuntimeError (as Prefect
        does for an API it cannot reach) when the API did not start."""
        if self.process is None:
            return
        import prefect.context
        from prefect.settings import PREFECT_API_URL, PREFECT_SERVER_EPHEMERAL_ENABLED

        if PREFECT_API_URL.value() or not PREFECT_SERVER_EPHEMERAL_ENABLED.value():
            self.stop()
            return
        self._ready.wait()
        if self._error:
            self.stop()
            raise RuntimeError(f"the embedded Prefect API did not start: {self._error}.")
        os.environ["PREFECT_API_URL"] = self.api_url
        prefect.context.refresh_global_settings_context()

    def api_url_in_use(self) -> str | None:
        """The API this run reports to (ours, or the one Prefect's settings name)."""
        if self.process is not None:
            return self.api_url
        try:
            from prefect.settings import PREFECT_API_URL
            return PREFECT_API_URL.value() or None
        except Exception:  # noqa: BLE001
            return os.environ.get("PREFECT_API_URL") or None

    def stop(self) -> None:
        proc, self.process = self.process, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def api_command(port: int) -> list[str]:
    """The command of Prefect's ephemeral API, as SubprocessASGIServer._run_uvicorn_command
    builds it (tests/unit/flows/test_startup_prefect.py compares the two)."""
    spec = importlib.util.find_spec("prefect")
    app_dir = Path(next(iter(spec.submodule_search_locations))).parent
    return [sys.executable, "-m", "uvicorn", "--app-dir", str(app_dir), "--factory",
            "prefect.server.api.server:create_app", "--host", "127.0.0.1", "--port", str(port),
            "--log-level", "error", "--lifespan", "on"]


def api_env() -> dict[str, str]:
    """Its environment: ours, with the UI off and the server in ephemeral mode. (Prefect also
    adds the settings of the active profile; with no profile settings they are the same.)"""
    return {**os.environ, "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1", "PREFECT__SERVER_FINAL": "1"}


def _warm_up_transforms() -> None:
    from flows.batches import warm_up_worker
    warm_up_worker(with_tokens=False)


def begin() -> Boot:
    return Boot().start()


def fast_exit(code: int) -> None:
    """Exit without the interpreter's final garbage collection of every module (1-2 s after a
    run that loaded Prefect, GX and pandas). Does the rest of a normal exit first, in its order:
    join the non-daemon threads and run the threads' exit hooks (Prefect drains its log and
    event workers there), then the atexit handlers (Prefect stops its API subprocess), then
    flush stdout and stderr."""
    shutdown = getattr(threading, "_shutdown", None)
    if shutdown is None:            # not CPython: the normal exit
        sys.exit(code)
    import logging
    logging.getLogger("prefect._internal.concurrency").setLevel(logging.ERROR)   # "Still processing items"

    # bounded: a slow or lost API must not hold the process after its last line. threading's
    # shutdown must run in the main thread (it waits for the main thread's own lock elsewhere),
    # so a daemon thread ends the process if it takes longer than EXIT_SECONDS
    from flows.stops import EXIT_SECONDS

    def _deadline():
        time.sleep(EXIT_SECONDS)
        _flush()
        os._exit(code)
    threading.Thread(target=_deadline, name="newsetl-exit", daemon=True).start()
    try:
        shutdown()
        atexit._run_exitfuncs()
    except BaseException:  # noqa: BLE001 - the exit code is already decided
        pass
    finally:
        _flush()
        os._exit(code)


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, RuntimeError):
            pass
