"""When the Prefect API is gone, `wait_for_data_work` waits while this process still works.

Real threads and real CPU: a thread that computes without writing (as the load gate and dedup
do) keeps the wait going; a process whose threads only wait ends it after STALL_SECONDS."""
from __future__ import annotations

import logging
import threading
import time

import pytest

from flows import api_watch
from flows.warehouse import faults


@pytest.fixture
def held_lock(monkeypatch, tmp_path):
    lock = faults.LockState()
    lock.taken.set()                    # this process holds the writer lock, never releases it
    monkeypatch.setattr(faults, "LOCK", lock)
    monkeypatch.setattr(api_watch, "STALL_SECONDS", 1.0)
    (tmp_path / ".staging").mkdir()
    return tmp_path


def _compute(seconds: float, done: threading.Event) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        sum(i * i for i in range(2000))
    done.set()


def test_a_thread_that_computes_keeps_the_wait_going(held_lock):
    done = threading.Event()
    threading.Thread(target=_compute, args=(4.0, done), daemon=True).start()
    t = time.monotonic()
    api_watch.wait_for_data_work(held_lock)
    took = time.monotonic() - t
    assert done.is_set(), f"the wait ended after {took:.1f} s while a thread still computed"
    assert took < 4.0 + 6.0


def test_threads_that_only_wait_end_it_after_the_stall_time(held_lock):
    stop = threading.Event()
    threading.Thread(target=stop.wait, daemon=True).start()     # blocked, as in client retries
    t = time.monotonic()
    api_watch.wait_for_data_work(held_lock)
    took = time.monotonic() - t
    stop.set()
    assert 1.0 <= took < 4.0, took


def test_writing_keeps_the_wait_going(held_lock):
    done = threading.Event()

    def write():
        for i in range(12):
            (held_lock / ".staging" / f"part-{i}").write_bytes(b"x" * (i + 1))
            time.sleep(0.25)
        done.set()
    threading.Thread(target=write, daemon=True).start()
    api_watch.wait_for_data_work(held_lock)
    assert done.is_set()


@pytest.fixture
def prefect_loggers(monkeypatch):
    monkeypatch.setattr(logging, "raiseExceptions", True)
    loggers = logging.getLogger("prefect.engine"), logging.getLogger("prefect._internal.concurrency")
    yield loggers
    for lg in loggers:
        while api_watch._api_unreachable_filter in lg.filters:
            lg.removeFilter(api_watch._api_unreachable_filter)


def test_prefect_reports_of_an_unreachable_api_are_dropped_and_other_errors_kept(caplog, prefect_loggers):
    import httpx
    api_watch.report_lost_api_once()
    api_watch.report_lost_api_once()                  # once per process, however often it is called
    engine, services = prefect_loggers
    assert engine.filters.count(api_watch._api_unreachable_filter) == 1
    try:
        try:
            raise httpx.ConnectError("[Errno 111] Connection refused")
        except httpx.ConnectError as e:
            raise RuntimeError("Failed to reach API at http://127.0.0.1:9/api/") from e
    except RuntimeError:
        engine.error("Execution of flow run 'x' exited with unexpected exception", exc_info=True)
    try:
        raise ConnectionRefusedError(111, "Connect call failed")
    except ConnectionRefusedError:
        services.error("Service 'EventsWorker' failed to process item %r", "event")   # no exc_info
    try:
        raise ValueError("a bug in a batch")
    except ValueError:
        engine.error("Execution of flow run 'y' exited with unexpected exception", exc_info=True)
    services.error("Service 'EventsWorker' failed to process item %r", "other")
    assert [r.getMessage() for r in caplog.records] == [
        "Execution of flow run 'y' exited with unexpected exception",
        "Service 'EventsWorker' failed to process item 'other'"]
    assert logging.raiseExceptions is False           # no "--- Error logging to API ---"
