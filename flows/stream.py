"""The batches of one run, from files to staged rows:

    extract (this process)  ->  extract gate  ->  transform (task runner, batches.py)
        ->  transform gate  ->  stage (.staging/<run_id>/new/)

The main loop extracts batch i+1 while the workers transform batch i; at most `workers` + 1
batches are in flight. GX pays a fixed cost per validation, so both gates validate up to
`gate_rows` rows at once. The transform gate and the staging of its rows run in one
background thread (`_GateBuffer`), so the workers never wait for a gate; one buffer at a time.
Nothing is published here: a blocking gate stops the loop and returns its failure text.

Memory of the main process: at most two buffers of transformed batches (one being gated and
staged, one filling) and the batches in flight. The gate reads the rows without copying
them; quarantined rows are dropped table by table while staging, and each table is freed
once written; then the freed memory goes back to the system (_give_back_memory).
"""
from __future__ import annotations

import contextvars
import ctypes
import gc
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import fields

import pyarrow as pa
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.utilities.annotations import quote

from flows import gates
from flows.audit import AuditLog
from flows.batches import BatchRunner
from flows.run_report import RunStats
from flows.sources import SourceEntry, read_entries, unchanged_key
from flows.warehouse import Staging
from transforms.pipeline import BatchConfig, BatchResult
from transforms.tables import ALL_TABLES


@task(name="extract", retries=2, retry_delay_seconds=1, cache_policy=NO_CACHE)
def extract_task(entries: list[SourceEntry], max_bytes: int, known: dict[str, str]) -> tuple[pa.Table, int]:
    """Read a batch of files; drop the ones already loaded unchanged: a clean read whose sha256
    equals the stored one, or the same stable scan verdict (flows.sources.unchanged_key). A
    file that vanished or changed is never "unchanged": it goes on as a reject row."""
    docs = read_entries(entries, max_bytes=max_bytes)
    if not known or not docs.num_rows:
        return docs, 0
    cols = (docs[c].to_pylist() for c in ("source_path", "source_sha256", "reject_reason", "size_bytes"))
    keep = [(key := unchanged_key(sha, reason, size)) is None or known.get(p) != key
            for p, sha, reason, size in zip(*cols)]
    return docs.filter(pa.array(keep)), keep.count(False)


_TABLE_OF = {"signatures": "dedup_signatures"}      # BatchResult field -> warehouse table, when they differ


@task(name="stage-batch", cache_policy=NO_CACHE)
def stage_task(staging: Staging, tables: dict[str, pa.Table], verdict: gates.TransformVerdict) -> tuple[int, pa.Table, int]:
    """Every warehouse table of the gated rows, as one staged file per table and partition,
    without the rows of the articles the gate quarantined and with their rejects rows
    (in-memory results such as lineage_gaps are not published). Each table is taken out of
    `tables` as it is staged, so its memory goes as soon as it is written. Returns what was
    staged: articles, the rejects rows, removed lines (RunStats.count_staged)."""
    counts = {}
    for name in list(tables):
        data = verdict.keep(tables.pop(name))
        if name == "rejects":
            data = pa.concat_tables([data, verdict.rejects])
        if (table := _TABLE_OF.get(name, name)) in ALL_TABLES:
            staging.add(table, data)
        counts[name] = data if name == "rejects" else data.num_rows
        del data
    return counts["articles"], counts["rejects"], counts["removed"]


def stream_batches(batches: list[list[SourceEntry]], known: dict[str, str], cfg: BatchConfig,
                   runner: BatchRunner, staging: Staging, audit: AuditLog, stats: RunStats,
                   gate_rows: int, max_bytes: int, progress) -> tuple[str | None, set[str]]:
    """Extract, gate, transform, gate and stage every batch. Returns the failure text of the
    first blocking gate (None when all passed) and the source paths extracted.

    `progress` (flows.progress.Progress) gets three stages counted in files, each moving per
    batch: extract (read), transform (a worker finished the batch), stage (gated and staged)."""
    gc.freeze()     # what is alive now (imported modules: Prefect, GX, pandas...) is never rescanned,
                    # so _release_futures' collection per batch costs little in every kind of run
    processed: set[str] = set()
    listed = stats.listed_paths                # every path handed to extract: the load gate finds each one
    raw: list[pa.Table] = []                   # extracted batches waiting for the extract gate
    inflight: deque = deque()                  # (batch no, files, future) being transformed
    total = sum(len(b) for b in batches)
    extracted, transformed = progress.stage("extract", total), progress.stage("transform", total)
    buf = _GateBuffer(gate_rows, staging, audit, stats, progress.stage("stage", total))
    failure = None
    try:
        for i, batch in enumerate(batches):
            with stats.timed("extract"):
                docs, skipped = extract_task.with_options(task_run_name=f"extract-{i:04d}")(
                    quote(batch), max_bytes, quote(known))    # quote(): no walk over 2000 entries
            extracted.advance(len(batch))
            listed.update(e.source_path for e in batch)
            stats.files_skipped += skipped
            processed.update(docs["source_path"].to_pylist())
            raw.append(docs.select(gates.RAW_COLUMNS))
            if sum(d.num_rows for d in raw) >= gate_rows and (failure := _gate_raw(raw, audit, stats)):
                break
            if not docs.num_rows:                  # every file of the batch loaded before
                transformed.advance(skipped)
                buf.bar.advance(skipped)
                if failure := buf.poll():
                    break
                continue
            fut = runner.submit(i, docs, cfg)
            _count_when_done(fut, transformed, docs.num_rows + skipped)
            inflight.append((i, docs.num_rows + skipped, fut))
            while len(inflight) > runner.workers and not failure:
                failure = buf.collect(inflight)
            if failure:
                break
        extracted.finish()
        failure = failure or _gate_raw(raw, audit, stats)
        while inflight and not failure:
            failure = buf.collect(inflight)
        transformed.finish()
        failure = failure or buf.flush()
        return buf.wait() or failure, processed
    finally:
        buf.shutdown()
        for stage in (extracted, transformed, buf.bar):
            stage.finish()


def _count_when_done(fut, stage, n_files: int) -> None:
    """Advance `stage` when the batch's future finishes (from the runner's thread), or at once
    for a runner whose futures take no callback."""
    try:
        fut.add_done_callback(lambda _f: stage.advance(n_files))
    except (AttributeError, NotImplementedError):
        stage.advance(n_files)


def _release_futures() -> None:
    """Free what finished transform futures still hold. Prefect's process-pool future sits in
    a reference cycle (the future, its done callback, the future), so after result() it keeps
    the pickled batch (~20 MB) and its unpickled copy until the cyclic collector runs, which
    large objects rarely trigger: the main process held 15 such batches at once (tracemalloc)."""
    gc.collect()


def _malloc_trim():
    try:
        return ctypes.CDLL(None).malloc_trim          # glibc only
    except (AttributeError, OSError):
        return None


_MALLOC_TRIM = _malloc_trim()


def _give_back_memory() -> None:
    """Return the memory a staged buffer freed to the system. Arrow's allocator (mimalloc) and
    glibc's malloc both keep freed pages for later use; while the next buffer fills, that is
    the main process's resident size for nothing (~100-200 MB on the whole corpus)."""
    pa.default_memory_pool().release_unused()
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


def _gate_raw(waiting: list[pa.Table], audit: AuditLog, stats: RunStats) -> str | None:
    """The extract gate over the batches waiting for it; the failure text if it blocks."""
    if not waiting:
        return None
    with stats.timed("gates"):
        docs = pa.concat_tables(waiting)
        waiting.clear()
        report = gates.gate_raw(docs, audit, stats)
    return report.summary() if report.blocking else None


class _GateBuffer:
    """Transformed batches waiting for the transform gate; a full buffer (`rows` articles) is
    gated and staged in a background thread while the main loop goes on."""

    def __init__(self, rows: int, staging: Staging, audit: AuditLog, stats: RunStats, bar):
        self.rows, self.staging, self.audit, self.stats, self.bar = rows, staging, audit, stats, bar
        self.items: list[tuple[int, int, tuple[BatchResult, pa.Table]]] = []
        self._ex = ThreadPoolExecutor(max_workers=1, thread_name_prefix="newsetl-stage")
        self._pending: Future | None = None

    def collect(self, inflight: deque) -> str | None:
        """Wait for the oldest transformed batch of `inflight`; hand the buffer on once it
        holds `rows` articles."""
        i, n_files, fut = inflight.popleft()
        with self.stats.timed("transform"):
            self.items.append((i, n_files, fut.result()))
        del fut
        _release_futures()
        if sum(r.articles.num_rows for _, _, (r, _) in self.items) < self.rows:
            return self.poll()
        return self.flush()

    def flush(self) -> str | None:
        """Hand what is buffered to the stager thread (after the previous buffer finished)."""
        if not self.items:
            return self.poll()
        failure = self.wait()
        if failure is None:
            items, self.items = self.items, []
            ctx = contextvars.copy_context()        # the flow run's context, for Prefect tasks and logs
            self._pending = self._ex.submit(ctx.run, self._gate_and_stage, items)
        return failure

    def poll(self) -> str | None:
        """The failure text of a finished buffer, without waiting."""
        return self.wait() if self._pending is not None and self._pending.done() else None

    def wait(self) -> str | None:
        """Wait for the buffer in progress: its failure text, or its exception raised here."""
        pending, self._pending = self._pending, None
        return pending.result() if pending is not None else None

    def shutdown(self) -> None:
        self._ex.shutdown(wait=True, cancel_futures=True)

    def _gate_and_stage(self, items) -> str | None:
        """The transform gate over buffered batches, then their rows staged (stager thread).
        The batches' tables are concatenated (no copy) and `items` emptied, so each table is
        freed as soon as it is staged; quarantined rows are dropped table by table."""
        first, last, n_files = items[0][0], items[-1][0], sum(n for _, n, _ in items)
        tables = {f.name: pa.concat_tables([getattr(r, f.name) for _, _, (r, _) in items])
                  for f in fields(BatchResult)}
        checks = pa.concat_tables([c for _, _, (_, c) in items])
        items.clear()
        with self.stats.timed("gates"):
            verdict = gates.judge_transform(BatchResult(**tables), self.audit, self.stats, checks)
        del checks
        if verdict.failure:
            return verdict.failure
        with self.stats.timed("stage"):
            staged = stage_task.with_options(task_run_name=f"stage-{first:04d}" + (f"-{last:04d}" if last != first else ""))(
                quote(self.staging), quote(tables), quote(verdict))
        self.stats.count_staged(*staged)
        del tables, staged
        _give_back_memory()
        self.bar.advance(n_files)
        get_run_logger().info("progress: batches %d-%d staged; %d files done so far: %d articles, %d rejects, "
                              "%d skipped", first, last, self.bar.done, self.stats.articles_new,
                              self.stats.rejects_new, self.stats.files_skipped)
        return None
