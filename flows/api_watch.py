"""Watching the Prefect API during `newsetl run`, and waiting for the data work once it is gone.

Tasks that run in this process do not wait for the API (Prefect sends their states as
events); the flow's own state changes block in Prefect's client retries. `watch` polls
/health once a second; when the API is gone it calls back (Stops in flows/stops.py), which
silences Prefect's API logging (`quiet_prefect_api_logging`), waits here for the data work
to end (`wait_for_data_work`: the writer lock released by this process,
flows/warehouse/faults.LOCK) and then ends the run by what the warehouse shows.

Limit: batches on a process pool are task runs in the workers, and those wait for the API;
when nothing under .staging/ or .versions/ changes for STALL_SECONDS the wait ends, and the
run ends unpublished (exit 3) instead of waiting for Prefect's client retries.

Standard library only, like flows/stops.py.
"""
from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from flows.procs import probe

API_POLL_SECONDS = 1.0
API_REFUSED_MISSES = 2          # /health refused this many times in a row: the API is gone
API_TIMEOUT_MISSES = 6          # /health silent this many times (busy machine): gone too
LOCK_GRACE_SECONDS = 5.0        # API gone before the run took its lock: nothing will be published
STALL_SECONDS = 8.0             # API gone and nothing written for this long: the run cannot finish


def watch(url: str, process, on_lost: Callable[[], None]) -> None:
    """Poll <url>/health in a daemon thread; once the API is gone (or `process`, the embedded
    API, has ended), call `on_lost` in that thread."""
    threading.Thread(target=_watch, args=(url, process, on_lost), name="newsetl-api-watch", daemon=True).start()


def _watch(url: str, process, on_lost: Callable[[], None]) -> None:
    refused = silent = 0
    while True:
        time.sleep(API_POLL_SECONDS)
        state = "refused" if process is not None and process.poll() is not None else probe(url)
        refused = refused + 1 if state == "refused" else 0
        silent = silent + 1 if state == "silent" else 0
        if refused >= API_REFUSED_MISSES or silent >= API_TIMEOUT_MISSES:
            break
    on_lost()


def wait_for_data_work(root: Path | None) -> None:
    """The API is gone: return once this run's data work is over - its writer lock released,
    or never taken within LOCK_GRACE_SECONDS, or nothing written under the warehouse `root`
    for STALL_SECONDS."""
    lock = _lock_state()
    lost_at = time.monotonic()
    seen, moved_at = _work_signature(root), time.monotonic()
    while True:
        if lock is not None and lock.released.is_set():
            return
        if (lock is None or not lock.taken.is_set()) and time.monotonic() - lost_at > LOCK_GRACE_SECONDS:
            return
        # batch workers on a process pool report their task runs to the API and wait for
        # it: a run whose staging area stops changing will not finish without it
        now = _work_signature(root)
        if now != seen:
            seen, moved_at = now, time.monotonic()
        elif time.monotonic() - moved_at > STALL_SECONDS:
            return
        time.sleep(0.25)
        lock = lock or _lock_state()


def _work_signature(root: Path | None) -> tuple:
    """What the data work has written so far: files and bytes under .staging/ and .versions/,
    and the version `current` points at."""
    if root is None:
        return ()
    n = size = 0
    for top in (root / ".staging", root / ".versions"):
        for dirpath, _, files in os.walk(top):
            for f in files:
                try:
                    size += os.stat(os.path.join(dirpath, f)).st_size
                    n += 1
                except OSError:
                    pass
    try:
        current = os.readlink(root / "current")
    except OSError:
        current = None
    return n, size, current


def _lock_state():
    """This process's writer lock (flows/warehouse/faults.LOCK), None before the warehouse code
    is imported; read from sys.modules so this module imports nothing of the warehouse."""
    faults = sys.modules.get("flows.warehouse.faults")
    return getattr(faults, "LOCK", None)


def quiet_prefect_api_logging() -> None:
    """No more log records for the API (each failed batch would print "Error logging to API")."""
    for name in ("prefect", "prefect.flow_runs", "prefect.task_runs", ""):
        lg = logging.getLogger(name)
        for h in list(lg.handlers):
            if type(h).__name__ == "APILogHandler":
                lg.removeHandler(h)
    logging.getLogger("prefect._internal.concurrency").setLevel(logging.CRITICAL)
    logging.getLogger("prefect.events.clients").setLevel(logging.CRITICAL)
