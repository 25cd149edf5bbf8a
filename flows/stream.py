"""The batches of one run, from files to staged rows:

    extract (this process)  ->  extract gate  ->  transform (task runner, batches.py)
        ->  transform gate  ->  stage (.staging/<run_id>/new/)

The main loop extracts batch i+1 while the workers transform batch i; at most `workers` + 1
batches are in flight. GX pays a fixed cost per validation, so both gates validate up to
`gate_rows` rows at once. The transform gate and the staging of its rows run in one
background thread (`_Stager`), so the workers never wait for a gate; one buffer at a time.
Nothing is published here: a blocking gate stops the loop and returns its failure text.
"""
from __future__ import annotations

import contextvars
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
def stage_task(staging: Staging, result: BatchResult) -> None:
    """Every warehouse table of the batch result, as one staged file per table and partition
    (in-memory results such as lineage_gaps are not published)."""
    for f in fields(result):
        if (table := _TABLE_OF.get(f.name, f.name)) in ALL_TABLES:
            staging.add(table, getattr(result, f.name))


def stream_batches(batches: list[list[SourceEntry]], known: dict[str, str], cfg: BatchConfig,
                   runner: BatchRunner, staging: Staging, audit: AuditLog, stats: RunStats,
                   gate_rows: int, max_bytes: int, progress) -> tuple[str | None, set[str]]:
    """Extract, gate, transform, gate and stage every batch. Returns the failure text of the
    first blocking gate (None when all passed) and the source paths extracted.

    `progress` (flows.progress.Progress) gets three stages counted in files, each moving per
    batch: extract (read), transform (a worker finished the batch), stage (gated and staged)."""
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
                failure = buf.collect(inflight.popleft())
            if failure:
                break
        extracted.finish()
        failure = failure or _gate_raw(raw, audit, stats)
        while inflight and not failure:
            failure = buf.collect(inflight.popleft())
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

    def collect(self, item: tuple[int, int, Future]) -> str | None:
        """Wait for one transformed batch; hand the buffer on once it holds `rows` articles."""
        i, n_files, fut = item
        with self.stats.timed("transform"):
            self.items.append((i, n_files, fut.result()))
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
        """The transform gate over buffered batches, then their rows staged (stager thread)."""
        result = BatchResult(**{f.name: pa.concat_tables([getattr(r, f.name) for _, _, (r, _) in items])
                                for f in fields(BatchResult)})
        checks = pa.concat_tables([c for _, _, (_, c) in items])
        with self.stats.timed("gates"):
            result, failure = gates.gate_transform(result, self.audit, self.stats, checks)
        if failure:
            return failure
        first, last = items[0][0], items[-1][0]
        with self.stats.timed("stage"):
            stage_task.with_options(task_run_name=f"stage-{first:04d}" + (f"-{last:04d}" if last != first else ""))(
                quote(self.staging), quote(result))
        self.stats.count_staged(result.articles.num_rows, result.rejects, result.removed.num_rows)
        self.bar.advance(sum(n for _, n, _ in items))
        get_run_logger().info("progress: batches %d-%d staged; %d files done so far: %d articles, %d rejects, "
                              "%d skipped", first, last, self.bar.done, self.stats.articles_new,
                              self.stats.rejects_new, self.stats.files_skipped)
        return None
