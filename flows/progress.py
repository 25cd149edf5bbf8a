"""Progress of a run while it works: a live bar per stage on a terminal, a plain line every few
seconds anywhere else (cron, CI, a served deployment), and the same counts to a log callback
(the Prefect run logger).

Counting and drawing are apart. `Stage.advance(n)` only adds to a counter under a lock, so
any thread (a batch callback, a task runner's done-callback) can call it per batch at no cost.
One daemon thread wakes every `refresh` seconds (bars) or `interval` seconds (plain lines)
and draws; `close()` stops it at once (an Event, not a sleep), so a finished run does not
linger.

    with Progress(log=logger.info) as progress:
        with progress.stage("extract", total=len(paths)) as stage:
            for batch in batches:
                ...
                stage.advance(len(batch))

A plain line reads `news-etl transform: 1200/35440 files, 240.0 files/s, eta 2m23s`; when a
stage ends, `news-etl transform: done 35440 files in 2m27s (241.1 files/s)`.
"""
from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from typing import NamedTuple, TextIO

PROGRESS_MODES = ("auto", "bar", "plain", "off")     # --progress; checked with the run's other inputs


class StageCounts(NamedTuple):
    name: str
    done: int
    total: int | None
    unit: str
    elapsed: float            # seconds since the stage opened (to its end, once finished)
    finished: bool

    @property
    def rate(self) -> float:
        """Units per second over the whole stage so far."""
        return self.done / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta(self) -> float | None:
        """Seconds left at the stage's average rate; None without a total or a rate."""
        if self.total is None or self.rate <= 0:
            return None
        return max(self.total - self.done, 0) / self.rate


def format_duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def format_line(counts: StageCounts, desc: str = "news-etl") -> str:
    """The plain line for one stage (the same text goes to the stream and to the log)."""
    unit = counts.unit
    if counts.finished:
        return (f"{desc} {counts.name}: done {counts.done} {unit} in "
                f"{format_duration(counts.elapsed)} ({counts.rate:.1f} {unit}/s)")
    done = f"{counts.done}/{counts.total}" if counts.total is not None else f"{counts.done}"
    eta = counts.eta
    tail = f", eta {format_duration(eta)}" if eta is not None else ""
    return f"{desc} {counts.name}: {done} {unit}, {counts.rate:.1f} {unit}/s{tail}"


class Stage:
    """The counter of one stage. `advance` is safe from any thread."""

    def __init__(self, progress: Progress, name: str, total: int | None, unit: str) -> None:
        self._progress = progress
        self.name = name
        self.unit = unit
        self._lock = threading.Lock()
        self._done = 0
        self._total = total
        self._started = time.monotonic()
        self._ended: float | None = None
        self._bar = None                       # tqdm bar, drawn only under progress._draw_lock

    def advance(self, n: int = 1) -> None:
        with self._lock:
            self._done += n

    def set_total(self, total: int | None) -> None:
        with self._lock:
            self._total = total

    @property
    def done(self) -> int:
        with self._lock:
            return self._done

    def counts(self) -> StageCounts:
        with self._lock:
            end = self._ended if self._ended is not None else time.monotonic()
            return StageCounts(self.name, self._done, self._total, self.unit,
                               end - self._started, self._ended is not None)

    def finish(self) -> None:
        """End the stage: its bar shows the final count and stays; a `done` line is written
        and logged. Calling it twice does nothing the second time."""
        with self._lock:
            if self._ended is not None:
                return
            self._ended = time.monotonic()
        self._progress._finished(self)

    def __enter__(self) -> Stage:
        return self

    def __exit__(self, *exc) -> None:
        self.finish()


class Progress:
    """Draws the open stages. `mode`: "bar" (tqdm bars on `stream`), "plain" (a line per open
    stage every `interval` s), "off" (nothing on `stream`), "auto" (bar when `stream` is a
    terminal, else plain). `log`, when given, receives the plain lines every `log_interval` s
    (default `interval`) and each stage's `done` line, in every mode."""

    def __init__(self, mode: str = "auto", *, stream: TextIO | None = None, interval: float = 5.0,
                 refresh: float = 0.5, log: Callable[[str], None] | None = None,
                 log_interval: float | None = None, desc: str = "news-etl") -> None:
        if mode not in PROGRESS_MODES:
            raise ValueError(f"progress mode {mode!r}: use one of {', '.join(PROGRESS_MODES)}")
        self.stream = stream if stream is not None else sys.stderr
        if mode == "auto":
            mode = "bar" if _isatty(self.stream) else "plain"
        self.mode = mode
        self.interval = interval
        self.refresh = refresh
        self.log = log
        self.log_interval = log_interval if log_interval is not None else interval
        self.desc = desc
        self._stages: list[Stage] = []
        self._stages_lock = threading.Lock()
        self._draw_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- public ---------------------------------------------------------------------------
    def stage(self, name: str, total: int | None = None, unit: str = "files") -> Stage:
        """Open a stage; its bar or lines start at once. Close it with `finish()` or `with`."""
        stage = Stage(self, name, total, unit)
        with self._stages_lock:
            self._stages.append(stage)
        if self.mode == "bar":
            with self._draw_lock:
                stage._bar = self._new_bar(stage)
        self._start()
        return stage

    def close(self) -> None:
        """Finish every open stage and stop the drawing thread (returns within one tick)."""
        for stage in self._open_stages():
            stage.finish()
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=max(self.refresh, 1.0) + 1.0)

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- drawing ------------------------------------------------------------------------------
    def _open_stages(self) -> list[Stage]:
        with self._stages_lock:
            return [s for s in self._stages if s._ended is None]

    def _start(self) -> None:
        if self._thread is None and (self.mode in ("bar", "plain") or self.log is not None):
            self._thread = threading.Thread(target=self._run, name="newsetl-progress", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        tick = self.refresh if self.mode == "bar" else self.interval
        if self.log is not None:
            tick = min(tick, self.log_interval)
        next_line = time.monotonic() + self.interval
        next_log = time.monotonic() + self.log_interval
        while not self._stop.wait(tick):
            now = time.monotonic()
            stages = self._open_stages()
            if self.mode == "bar":
                with self._draw_lock:
                    for stage in stages:
                        self._draw_bar(stage)
            if self.mode == "plain" and now >= next_line:
                next_line = now + self.interval
                self._write("\n".join(format_line(s.counts(), self.desc) for s in stages))
            if self.log is not None and now >= next_log:
                next_log = now + self.log_interval
                for stage in stages:
                    self._log(format_line(stage.counts(), self.desc))

    def _finished(self, stage: Stage) -> None:
        line = format_line(stage.counts(), self.desc)
        if self.mode == "bar":
            with self._draw_lock:
                if stage._bar is not None:
                    self._draw_bar(stage)
                    stage._bar.close()
                    stage._bar = None
        elif self.mode == "plain":
            self._write(line)
        self._log(line)

    def _new_bar(self, stage: Stage):
        from tqdm import tqdm
        # disable=False explicitly: TQDM_DISABLE in the environment (any value, even "0")
        # would otherwise turn the bar off.
        # A terminal that reports 0 columns (a fresh pty, some `docker exec -t`) would get a
        # bar cut to nothing: draw it at $COLUMNS (else 100) columns instead.
        width = _columns(self.stream)
        return tqdm(total=stage._total, desc=f"{self.desc} {stage.name}", unit=f" {stage.unit}",
                    file=self.stream, leave=True, disable=False, dynamic_ncols=width > 0,
                    ncols=None if width > 0 else _env_columns(), mininterval=0, miniters=0,
                    nrows=_rows(self.stream) or 24)    # 0 rows: tqdm would hide every bar

    def _draw_bar(self, stage: Stage) -> None:
        counts = stage.counts()
        bar = stage._bar
        if bar is None:
            return
        if counts.total != bar.total:
            bar.total = counts.total
        if counts.done != bar.n:
            bar.update(counts.done - bar.n)
        bar.refresh()                         # elapsed and ETA move even when the count does not

    def _write(self, text: str) -> None:
        if not text:
            return
        try:
            self.stream.write(text + "\n")
            self.stream.flush()
        except (OSError, ValueError):         # a closed pipe must not kill the run
            pass

    def _log(self, line: str) -> None:
        if self.log is not None:
            try:
                self.log(line)
            except Exception:  # noqa: BLE001 - a failing log handler must not stop the run
                pass


def _isatty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _columns(stream) -> int:
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError):
        return 0


def _rows(stream) -> int:
    try:
        return os.get_terminal_size(stream.fileno()).lines
    except (AttributeError, OSError, ValueError):
        return 0


def _env_columns() -> int:
    try:
        return max(int(os.environ.get("COLUMNS", "")), 20)
    except ValueError:
        return 100
