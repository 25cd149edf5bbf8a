"""Watching the Prefect API during `newsetl run`, and waiting for the data work once it is gone.

Tasks that run in this process do not wait for the API (Prefect sends their states as
events); the flow's own state changes block in Prefect's client retries. `watch` polls
/health once a second; when the API is gone it calls back (Stops in flows/stops.py), which
silences Prefect's API logging (`quiet_prefect_api_logging`), waits here for the data work
to end (`wait_for_data_work`: the writer lock released by this process,
flows/warehouse/faults.LOCK) and then ends the run by what the warehouse shows.

Limit: batches on a process pool are task runs in the workers, and those wait for the API;
when nothing under .staging/ or .versions/ changes for STALL_SECONDS, and no other thread of
this process computes meanwhile, the wait ends, and the run ends unpublished (exit 3) instead
of waiting for Prefect's client retries. The steps that run in this process (the load gate,
dedup, building the version) write nothing for a while but compute: their CPU time keeps the
wait going, so a run that is only reading when the API goes still publishes.

Standard library only, like flows/stops.py.
"""
from __future__ import annotations

import logging
import os
import resource
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
BUSY_SHARE = 0.2                # ... unless this process's other threads used this share of a core


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
    tick_at, cpu = time.monotonic(), _others_cpu()
    while True:
        if lock is not None and lock.released.is_set():
            return
        if (lock is None or not lock.taken.is_set()) and time.monotonic() - lost_at > LOCK_GRACE_SECONDS:
            return
        # batch workers on a process pool report their task runs to the API and wait for
        # it: a run whose staging area stops changing will not finish without it
        now, now_cpu, now_at = _work_signature(root), _others_cpu(), time.monotonic()
        busy = now_cpu - cpu >= BUSY_SHARE * (now_at - tick_at)
        tick_at, cpu = now_at, now_cpu
        if now != seen or busy:
            seen, moved_at = now, now_at
        elif now_at - moved_at > STALL_SECONDS:
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


def _others_cpu() -> float:
    """CPU seconds used so far by the other threads of this process (the flow's in-process
    steps; a thread blocked in Prefect's client retries uses next to none)."""
    use = resource.getrusage(resource.RUSAGE_SELF)
    return use.ru_utime + use.ru_stime - time.thread_time()


def _lock_state():
    """This process's writer lock (flows/warehouse/faults.LOCK), None before the warehouse code
    is imported; read from sys.modules so this module imports nothing of the warehouse."""
    faults = sys.modules.get("flows.warehouse.faults")
    return getattr(faults, "LOCK", None)


def report_lost_api_once() -> None:
    """A lost API is newsetl's one line (flows/stops.py), in this process and in each batch
    worker (ProcessPoolTaskRunner's initializer): Prefect's own reports of it are dropped - the
    engine's traceback when a task run cannot reach the API, the events client's "failed to
    process item", and the log handler's "--- Error logging to API ---" (printed while
    logging.raiseExceptions is true)."""
    logging.raiseExceptions = False
    # the engine logs a task run that cannot start; Prefect's services (the events client) log
    # an item they could not send, without the exception, from inside its handler
    for name in ("prefect.engine", "prefect._internal.concurrency"):
        lg = logging.getLogger(name)
        if _api_unreachable_filter not in lg.filters:
            lg.addFilter(_api_unreachable_filter)


def _api_unreachable_filter(record: logging.LogRecord) -> bool:
    """False for a record whose exception (or the one being handled where it is logged), or one
    of its causes, is a refused or broken connection (the events client's websocket) or an HTTP
    transport error (the REST client)."""
    httpx = sys.modules.get("httpx")
    exc = record.exc_info[1] if record.exc_info else sys.exc_info()[1]
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, ConnectionError) or (httpx is not None and isinstance(exc, httpx.TransportError)):
            return False
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return True


def quiet_prefect_api_logging() -> None:
    """No more log records for the API (each failed batch would print "Error logging to API")."""
    for name in ("prefect", "prefect.flow_runs", "prefect.task_runs", ""):
        lg = logging.getLogger(name)
        for h in list(lg.handlers):
            if type(h).__name__ == "APILogHandler":
                lg.removeHandler(h)
    logging.getLogger("prefect._internal.concurrency").setLevel(logging.CRITICAL)
    logging.getLogger("prefect.events.clients").setLevel(logging.CRITICAL)
