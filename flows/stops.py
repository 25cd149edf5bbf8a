"""How `newsetl run` stops: on a signal, when the Prefect API goes away, and at its end.

Every stop takes one path, `Stops.exit(code, line)`: one `newsetl:` line on stderr, the
processes this run started are ended (batch workers, the embedded API), then os._exit. No
Prefect shutdown runs after a stop: its engines would report a crash to the API (seconds to
minutes when the API is gone) and print "Crash detected!" with a traceback.

    SIGINT (Ctrl-C)     exit 130    SIGTERM (kill, systemd stop)    exit 143
    Prefect API lost    exit 0 published, 1 a gate failed, 3 nothing published

What a stop leaves in the warehouse is the state of a process killed at that instant (see
flows/warehouse/faults.py): `current` points at the old version, or at the new one when the
publish had already swapped it (the line then says so). The next run removes the leftovers.

When the Prefect API goes away (flows/api_watch.py finds it, and waits for the data work),
the run ends by what the warehouse shows.

Standard library only: the CLI installs this before it imports Prefect.
"""
from __future__ import annotations

import errno
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path

from flows import api_watch
from flows.errors import EXIT_CRASH, EXIT_GATE, EXIT_OK

DRAIN_SECONDS = 3.0             # at the end of a run: Prefect's event and log queues get this long
EXIT_SECONDS = 0.8              # after the last line: the rest of a normal exit gets this long

_SIGNAL_WORDS = {signal.SIGINT: "interrupted (Ctrl-C)", signal.SIGTERM: "terminated (SIGTERM)"}


def current_version(root: Path) -> str | None:
    """The name of the published version folder (`current` link target), None before the first."""
    try:
        return Path(os.readlink(root / "current")).name
    except OSError:
        return None


def version_words(name: str) -> str:
    """`000007-20261206T...` -> `7 (000007-20261206T...)`."""
    head = name.split("-", 1)[0]
    return f"{int(head)} ({name})" if head.isdigit() else name


class Stops:
    """The stop paths of one `newsetl run` in this process (see the module docstring)."""

    def __init__(self, warehouse: str | os.PathLike | None):
        self.root = Path(warehouse).absolute() if warehouse is not None and "://" not in str(warehouse) else None
        self.at_start = current_version(self.root) if self.root else None
        self.processes: list = []         # subprocess.Popen objects to end on a stop
        self.api_lost = threading.Event()
        self._exiting = threading.Lock()

    # -- signals ---------------------------------------------------------------------------------
    def install(self) -> "Stops":
        """SIGINT and SIGTERM both go to `on_signal` (main thread only; a no-op elsewhere)."""
        global _ACTIVE
        _ACTIVE = self
        # batch workers killed on a stop leave their queues' semaphores to multiprocessing's
        # resource tracker, which removes them and warns on our stderr; the removal is wanted,
        # the warning is not (the tracker starts later and reads this from its environment)
        quiet = "ignore::UserWarning:multiprocessing.resource_tracker"
        if quiet not in os.environ.get("PYTHONWARNINGS", ""):
            os.environ["PYTHONWARNINGS"] = ",".join(filter(None, [os.environ.get("PYTHONWARNINGS"), quiet]))
        try:
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, self.on_signal)
        except ValueError:
            pass
        return self

    def on_signal(self, signum: int, frame=None) -> None:
        words = _SIGNAL_WORDS.get(signum, f"stopped by signal {signum}")
        new = self.published()
        if new:
            line = f"{words} after this run published version {version_words(new)}"
        else:
            line = f"{words}; nothing was published by this run, the warehouse is unchanged"
        self.exit(128 + signum, line)

    def published(self) -> str | None:
        """The version this run made current, if it did (None: `current` is as at the start)."""
        if self.root is None:
            return None
        now = current_version(self.root)
        return now if now and now != self.at_start else None

    # -- the one way out ------------------------------------------------------------------------
    def exit(self, code: int, line: str | None) -> None:
        """Print `newsetl: <line>`, end our child processes, leave now. A second caller (a
        signal during an API-loss exit) waits for the first."""
        if not self._exiting.acquire(blocking=False):
            time.sleep(30)
            os._exit(code)
        if line:
            lead = b"\n" if _isatty(2) else b""
            _write(2, lead + f"newsetl: {line}\n".encode())
        end_children(self.processes)
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError, RuntimeError):
                pass
        os._exit(code)

    # -- the Prefect API -----------------------------------------------------------------------
    def watch_api(self, url: str, process=None) -> None:
        """Watch <url>/health in a daemon thread (api_watch.watch); when it is gone, settle the run."""
        api_watch.report_lost_api_once()
        api_watch.watch(url, process, self._api_gone)

    def _api_gone(self) -> None:
        self.api_lost.set()
        api_watch.quiet_prefect_api_logging()
        self.settle_api_loss()

    def settle_api_loss(self) -> None:
        """The API is gone: wait for this run's data work (api_watch.wait_for_data_work), then
        exit by what was published."""
        api_watch.wait_for_data_work(self.root)
        new = self.published()
        if new and not new.endswith("-failed"):
            self.exit(EXIT_OK, f"Prefect API lost; run data published as version {version_words(new)}")
        if new:
            self.exit(EXIT_GATE, f"Prefect API lost; a quality gate failed, so only the runs and dq_results "
                                 f"rows were published (version {version_words(new)}); see `newsetl query "
                                 "\"select message from runs order by started_at desc limit 1\"`")
        self.exit(EXIT_CRASH, "Prefect API lost; nothing was published by this run (the warehouse is "
                              "unchanged); start the API again (or unset PREFECT_API_URL) and run again")

    # -- the end of a run ------------------------------------------------------------------------
    def drain(self, seconds: float = DRAIN_SECONDS) -> None:
        """Give Prefect's event and log queues up to `seconds` to reach the API (task states
        shown in the UI), then stop waiting; silences their "Still processing items" lines."""
        logging.getLogger("prefect._internal.concurrency").setLevel(logging.ERROR)
        if self.api_lost.is_set() or "prefect" not in sys.modules:
            return
        done = threading.Event()

        def _drain():
            try:
                from prefect.events.worker import EventsWorker
                from prefect.logging.handlers import APILogWorker
                for worker in (EventsWorker, APILogWorker):
                    worker.drain_all(timeout=seconds)
            except Exception:  # noqa: BLE001 - the run is over; draining is best effort
                pass
            finally:
                done.set()
        threading.Thread(target=_drain, name="newsetl-drain", daemon=True).start()
        done.wait(seconds)


_ACTIVE: Stops | None = None


def active() -> Stops | None:
    return _ACTIVE


def end_children(processes: list) -> None:
    """SIGKILL the multiprocessing children (batch workers hold nothing of the warehouse) and
    SIGTERM the listed subprocesses (the embedded API), without waiting for either."""
    mp = sys.modules.get("multiprocessing")
    if mp is not None:
        try:
            for child in mp.active_children():
                child.kill()
        except Exception:  # noqa: BLE001
            pass
    for proc in processes:
        try:
            if proc is not None and proc.poll() is None:
                proc.terminate()
        except OSError:
            pass


def _isatty(fd: int) -> bool:
    try:
        return os.isatty(fd)
    except OSError:
        return False


def _write(fd: int, data: bytes) -> None:
    """os.write, whole: safe from a signal handler that interrupted a print()."""
    while data:
        try:
            data = data[os.write(fd, data):]
        except InterruptedError:
            continue
        except OSError as e:
            if e.errno != errno.EAGAIN:
                return
            time.sleep(0.01)


def lock_holder(warehouse: str | os.PathLike) -> str | None:
    """Who holds the writer lock of `warehouse` right now ('pid 123, since ...'), None when
    it is free or the warehouse has none yet. Looks without waiting and without creating
    anything, so a busy warehouse is reported before Prefect starts."""
    import fcntl
    try:
        fd = os.open(Path(warehouse) / ".lock", os.O_RDWR)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.EACCES):
                return None
            return os.pread(fd, 200, 0).decode(errors="replace").strip() or "pid unknown"
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def reclaim_signals() -> None:
    """In the flow body: put back this run's SIGTERM handler, which Prefect's flow engine
    replaced with its own for the run. A no-op outside `newsetl run` (served runs, tests)."""
    if _ACTIVE is not None and threading.current_thread() is threading.main_thread():
        _ACTIVE.install()
