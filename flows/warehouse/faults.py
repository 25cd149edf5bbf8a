"""What can go wrong with a warehouse on disk, and how a run survives it.

- The writer lock: one run writes at a time (flock on `.lock`); WarehouseBusy after --wait.
- Crash recovery: what a killed run left in `.staging/` or `.versions/` is removed by the
  next writer (`clean_leftovers`, called with the lock held).
- File-system errors become one-line WarehouseUnwritable / CorruptFile messages (what, which
  file, what to do).
- Crash points: test hooks between the file-system steps of a run (below).
"""
from __future__ import annotations

import errno
import fcntl
import os
import shutil
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flows.errors import CorruptFile, WarehouseBusy, WarehouseUnwritable
from flows.warehouse.files import version_key
from transforms.tables import ALL_TABLES, DATA_TABLES as T_DATA

# Test hooks. NEWSETL_CRASH_AT=<point> SIGKILLs this process when it reaches <point>;
# NEWSETL_PAUSE_AT=<point>:<seconds> sleeps there, and NEWSETL_PAUSE_AT=<point>:<file> waits
# (at most 10 minutes) until <file> exists. `<point>#<n>` names the n-th time the point is
# reached (build() runs twice in a successful run). The points sit between the file-system
# steps of a run, in this order.
CRASH_POINTS = (
    "after_lock",                     # the writer lock is held
    "after_stage_write",              # one batch file written under .staging/<run_id>/new/
    *(f"after_merge:{t}" for t in ALL_TABLES),   # one table of the next version assembled
    "after_build",                    # the next version is complete (manifest written)
    "after_fsync",                    # its files are on disk
    "after_rename",                   # it was renamed into .versions/
    "before_swap",                    # the new `current` link exists under a temporary name
    "after_swap",                     # `current` points at the new version
    "after_discard",                  # .staging/<run_id>/ is gone
    "after_catalog",                  # warehouse.duckdb checked / rewritten
    "after_gc",                       # old versions removed
)
_reached: Counter = Counter()


class LockState:
    """Whether this process took the writer lock and released it again (flows/api_watch.py waits
    on `released` when the Prefect API is lost: the data work is over then)."""

    def __init__(self) -> None:
        self.taken, self.released = threading.Event(), threading.Event()


LOCK = LockState()


def crash_point(point: str) -> None:
    crash, pause = os.environ.get("NEWSETL_CRASH_AT"), os.environ.get("NEWSETL_PAUSE_AT")
    if not crash and not pause:
        return
    _reached[point] += 1
    names = (point, f"{point}#{_reached[point]}")
    if pause:
        where, _, until = pause.rpartition(":")
        if where in names:
            try:
                time.sleep(float(until))
            except ValueError:
                deadline = time.monotonic() + 600
                while not os.path.exists(until) and time.monotonic() < deadline:
                    time.sleep(0.05)
    if crash in names:
        os.kill(os.getpid(), signal.SIGKILL)


_HINTS = {
    errno.ENOSPC: "free space on that file system and run again",
    errno.EDQUOT: "free space (the disk quota is exhausted) and run again",
    errno.EACCES: "give this user read and write access to the warehouse folder and everything "
                  "under it, or pass another --warehouse",
    errno.EPERM: "give this user read and write access to the warehouse folder and everything "
                 "under it, or pass another --warehouse",
    errno.EROFS: "pass a --warehouse on a writable file system",
}


def fs_error(e: OSError, doing: str, path: Path | str | None = None) -> WarehouseUnwritable:
    where = e.filename or path
    why = os.strerror(e.errno) if e.errno else str(e).splitlines()[0]
    hint = _HINTS.get(e.errno or 0, "fix the file system problem and run again")
    return WarehouseUnwritable(f"cannot {doing} {where}: {why}; nothing was published ({hint})")


def corrupt(path: Path, root: Path, table: str, why: str) -> CorruptFile:
    fix = ("run `newsetl run --full-refresh` (it rebuilds the data tables from the source files "
           "without reading this one), or restore the file from a backup" if table in T_DATA else
           f"restore it from a backup, or delete it (the {table} rows it holds are lost) and run again")
    try:
        shown = path.relative_to(root)
    except ValueError:
        shown = path
    return CorruptFile(f"{root / shown} is not a readable {table} Parquet file ({why}); nothing was "
                       f"changed: {fix}")


@contextmanager
def writer_lock(root: Path, wait_seconds: float = 0.0) -> Iterator[None]:
    """The single-writer lock on root/.lock. Raises WarehouseBusy when still held after
    wait_seconds."""
    try:
        root.mkdir(parents=True, exist_ok=True)
        fd = os.open(root / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as e:
        raise fs_error(e, "open the writer lock", root / ".lock") from None
    deadline = time.monotonic() + wait_seconds
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as e:
                if e.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 200, 0).decode(errors="replace").strip()
                    raise WarehouseBusy.at(root, holder) from None
                time.sleep(0.2)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}, since {time.strftime('%Y-%m-%d %H:%M:%S')}".encode(), 0)
        LOCK.released.clear()
        LOCK.taken.set()
        crash_point("after_lock")
        yield
    finally:
        os.close(fd)
        if LOCK.taken.is_set():
            LOCK.released.set()


def clean_leftovers(root: Path, catalog: str, current: Path | None, versions: list[Path]) -> None:
    """Remove what killed runs left behind (call with the lock held): staging folders,
    temporary links and catalog files, and versions that were renamed into .versions/ but
    never became current."""
    staging = root / ".staging"
    if staging.is_dir():
        for child in staging.iterdir():
            shutil.rmtree(child, ignore_errors=True)
    for pattern in (".current.*", f".{catalog}.*.tmp", ".probe-*"):
        for leftover in root.glob(pattern):
            leftover.unlink(missing_ok=True)
    for v in versions:
        if current is not None and version_key(v) > version_key(current):
            shutil.rmtree(v, ignore_errors=True)

