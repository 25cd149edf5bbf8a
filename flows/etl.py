"""The `news-etl` Prefect flow: extract -> transform -> load, every stage gated.

The flow body reads like the story; tasks sit at I/O and side effects and pass Arrow
tables or paths, never one document. CPU-heavy transform batches run in a process pool
(one underthesea load per worker); Prefect tasks wrap each batch so the UI shows
`extract-0003`, `transform-0003`, ... with their counts.
"""
from __future__ import annotations

import json
import os
import sys
import threading
import time
import uuid
from collections import Counter, deque
import contextvars
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.states import Failed
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.utilities.annotations import quote

from flows import gates
from flows.remote import SourceError, check_source, is_url
from flows.sources import SourceEntry, file_sha256, read_entries, scan_source
from flows.warehouse import Changes, Staging, Warehouse, WarehouseError
from transforms import tables as T
from flows.checks import transform_and_check
from transforms.pipeline import BatchConfig, BatchResult


class UsageError(Exception):
    """Bad arguments or environment: the CLI prints one line and exits 2."""


_STATS_LOCK = threading.Lock()


@dataclass
class RunStats:
    run_id: str
    files_read: int = 0
    files_skipped: int = 0
    articles_new: int = 0
    articles_replaced: int = 0
    rejects_replaced: int = 0
    rejects_new: int = 0
    quarantined: int = 0
    removed_lines: int = 0
    duplicates_marked: int = 0
    gates_passed: int = 0
    gates_failed: int = 0
    rejects_by_reason: Counter = field(default_factory=Counter)
    stage_seconds: dict[str, float] = field(default_factory=dict)

    def add_time(self, stage: str, seconds: float) -> None:
        with _STATS_LOCK:            # the main loop and the stager thread both add
            self.stage_seconds[stage] = round(self.stage_seconds.get(stage, 0.0) + seconds, 3)


# -- worker pool -------------------------------------------------------------------------------

def _init_worker(with_tokens: bool) -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    if with_tokens:
        from transforms.segment import segment_words
        segment_words(["Khởi động bộ tách từ."])


class _Inline:
    """Runs batches in this process (small inputs: no pool start-up)."""

    def submit(self, fn, *args):
        f: Future = Future()
        try:
            f.set_result(fn(*args))
        except BaseException as e:  # noqa: BLE001 - handed to the caller through the future
            f.set_exception(e)
        return f

    def shutdown(self, *a, **k):
        pass


class _DaskPool:
    """CPU-bound batches on a Dask cluster: the given scheduler, or a LocalCluster of `workers`
    single-threaded worker processes. Prefect tasks still wrap every batch (UI, logs)."""

    def __init__(self, workers: int, with_tokens: bool, address: str | None):
        from distributed import Client, LocalCluster

        self.cluster = None
        if address:
            self.client = Client(address)
        else:
            self.cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                        dashboard_address=None)
            self.client = Client(self.cluster)
        self.client.run(_init_worker, with_tokens)

    def submit(self, fn, *args):
        return self.client.submit(fn, *args, pure=False)

    def shutdown(self, *a, **k):
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


class _LazyPool:
    """The worker pool, started on the first batch that needs it (a re-run with nothing new
    starts no process and no Dask cluster)."""

    def __init__(self, make):
        self._make, self._pool = make, None

    def get(self):
        if self._pool is None:
            self._pool = self._make()
        return self._pool

    def shutdown(self) -> None:
        if isinstance(self._pool, ProcessPoolExecutor):
            self._pool.shutdown(cancel_futures=True)
        elif self._pool is not None:
            self._pool.shutdown()


def _make_pool(workers: int, with_tokens: bool, n_batches: int, task_runner: str = "process",
               dask_address: str | None = None):
    if task_runner == "dask":
        return _DaskPool(workers, with_tokens, dask_address)
    if workers <= 1 or n_batches <= 1:
        _init_worker(with_tokens)
        return _Inline()
    import multiprocessing as mp
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["flows.checks"])
    return ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker,
                               initargs=(with_tokens,))


# -- tasks -----------------------------------------------------------------------------------

@task(name="scan-source", retries=2, retry_delay_seconds=1, cache_policy=NO_CACHE)
def scan_task(source: str, max_bytes: int) -> list[SourceEntry]:
    entries = list(scan_source(source, max_bytes=max_bytes))
    get_run_logger().info("found %d files under %s", len(entries), source)
    return entries


@task(name="skip-unchanged", retries=2, retry_delay_seconds=1,
      cache_policy=NO_CACHE)
def skip_unchanged_task(entries: list[SourceEntry], known: dict[str, str],
                        max_bytes: int) -> tuple[list[SourceEntry], int]:
    """The entries to extract: all but the files loaded before with the same sha256 (one task
    for the whole source, so a re-run with little new costs one read of every file, not a task
    per batch). The extract tasks compare digests again for what this lets through."""
    todo, skipped = [], 0
    for e in entries:
        old = known.get(e.source_path) if e.reject_reason is None else None
        if old is not None and file_sha256(e.abs_path, max_bytes) == old:
            skipped += 1
        else:
            todo.append(e)
    if skipped:
        get_run_logger().info("%d of %d files unchanged since they were loaded; %d to extract",
                              skipped, len(entries), len(todo))
    return todo, skipped


@task(name="extract", retries=2, retry_delay_seconds=1, cache_policy=NO_CACHE)
def extract_task(entries: list[SourceEntry], max_bytes: int, known: dict[str, str]) -> tuple[pa.Table, int]:
    """Read a batch of files; drop the ones already loaded with the same sha256."""
    docs = read_entries(entries, max_bytes=max_bytes)
    if known and docs.num_rows:
        keep = [known.get(p) != s for p, s in zip(docs["source_path"].to_pylist(),
                                                  docs["source_sha256"].to_pylist())]
        skipped = keep.count(False)
        docs = docs.filter(pa.array(keep))
    else:
        skipped = 0
    return docs, skipped


@task(name="transform", cache_policy=NO_CACHE)
def transform_task(pool, docs: pa.Table, cfg: BatchConfig) -> tuple[BatchResult, pa.Table]:
    """One batch in a worker: its tables, and the checks of its articles (flows.checks)."""
    result, checks = pool.submit(transform_and_check, docs, cfg).result()
    get_run_logger().info("batch: %d documents -> %d articles, %d rejects, %d removed lines",
                          docs.num_rows, result.articles.num_rows, result.rejects.num_rows,
                          result.removed.num_rows)
    return result, checks


@task(name="stage-batch", cache_policy=NO_CACHE)
def stage_task(staging: Staging, result: BatchResult) -> None:
    staging.add("articles", result.articles)
    staging.add("paragraphs", result.paragraphs)
    staging.add("removed", result.removed)
    staging.add("rejects", result.rejects)
    staging.add("dedup_signatures", result.signatures)


@task(name="dedup", cache_policy=NO_CACHE)
def dedup_task(wh: Warehouse, staging: Staging, replaced_paths: set[str], full_refresh: bool,
               threshold: float) -> tuple[pa.Table, dict[str, str | None]]:
    from flows.dedup_io import mark_duplicates
    return mark_duplicates(wh, staging, replaced_paths, full_refresh, threshold)


@task(name="build-version", cache_policy=NO_CACHE)
def build_task(staging: Staging, changes: Changes) -> Path:
    return staging.build(changes)


@task(name="publish", cache_policy=NO_CACHE)
def publish_task(wh: Warehouse, staging: Staging) -> Path:
    final = staging.publish()            # also refreshes warehouse.duckdb and removes old versions
    for warning in staging.warnings:
        get_run_logger().warning(warning)
    return final


# -- the flow -----------------------------------------------------------------------------

# the transform tasks wait in threads for their batch in the process pool: enough threads that
# every batch in flight (2 per worker) is already queued there when a worker frees up
@flow(name="news-etl", persist_result=False, log_prints=False,
      task_runner=ThreadPoolTaskRunner(max_workers=4 * (os.cpu_count() or 2) + 2))
def news_etl(source: str = "seeds", warehouse: str = "warehouse", full_refresh: bool = False,
             with_tokens: bool = True, batch_size: int = 2000, workers: int = 0, gate_rows: int = 10_000,
             max_bytes: int = 5 * 1024 * 1024, max_quarantine_share: float = 0.2,
             dedup_threshold: float = 0.8, lock_wait: float = 0.0, progress: bool = False,
             task_runner: str = "process", dask_address: str | None = None):
    """Load every file under `source` into the warehouse; returns the run summary (a dict)."""
    started = datetime.now(timezone.utc)
    log = get_run_logger()
    threading.Thread(target=gates.warm_up, daemon=True).start()      # GX import overlaps the scan
    try:
        check_source(source)
    except SourceError as e:
        raise UsageError(str(e)) from None
    src = source if is_url(source) else Path(source)      # a URL: listed and read through fsspec
    wh = Warehouse(warehouse)
    wh.check_writable()
    workers = workers or (os.cpu_count() or 1)
    from prefect.runtime import flow_run
    run_id = f"{started.strftime('%Y%m%dT%H%M%SZ')}-{uuid.uuid4().hex[:6]}"
    stats = RunStats(run_id=run_id)
    audit = gates.AuditLog(run_id, started)

    with wh.lock(wait_seconds=lock_wait):
        wh.ensure_layout()
        wh.clean_staging()
        staging = wh.begin(run_id)
        # -- extract ---------------------------------------------------------------------
        t = time.perf_counter()
        known = {} if full_refresh else _known_files(wh)
        entries = scan_task(str(src), max_bytes)
        stats.files_read = len(entries)
        stats.add_time("scan", time.perf_counter() - t)
        if known:
            t = time.perf_counter()
            entries, stats.files_skipped = skip_unchanged_task(quote(entries), quote(known), max_bytes)
            stats.add_time("extract", time.perf_counter() - t)
        batches = [entries[i:i + batch_size] for i in range(0, len(entries), batch_size)]
        cfg = BatchConfig(run_id=run_id, with_tokens=with_tokens)
        pool = _LazyPool(lambda: _make_pool(workers, with_tokens, len(batches), task_runner, dask_address))
        bar = _progress(stats.files_read, progress)
        bar.update(stats.files_skipped)
        processed_paths: set[str] = set()
        failure: str | None = None
        buf = _GateBuffer(gate_rows)
        raw: list[pa.Table] = []         # extracted batches waiting for the extract gate
        stager = _Stager()
        try:
            inflight: deque = deque()
            for i, batch in enumerate(batches):
                t = time.perf_counter()
                # quote(): Prefect would otherwise walk every entry of large arguments (~11 s a run)
                docs, skipped = extract_task.with_options(task_run_name=f"extract-{i:04d}")(
                    quote(batch), max_bytes, quote(known))
                stats.files_skipped += skipped
                processed_paths.update(docs["source_path"].to_pylist())
                stats.add_time("extract", time.perf_counter() - t)
                raw.append(docs.select(gates.RAW_COLUMNS))
                if sum(d.num_rows for d in raw) >= gate_rows:
                    failure = _gate_raw(raw, audit, stats)
                    if failure:
                        break
                if not docs.num_rows:                  # every file of the batch loaded before
                    bar.update(skipped)
                    failure = stager.poll()
                    if failure:
                        break
                    continue
                inflight.append((i, docs.num_rows + skipped, transform_task.with_options(
                    task_run_name=f"transform-{i:04d}").submit(quote(pool.get()), quote(docs), cfg)))
                while len(inflight) > workers:
                    failure = _finish_batch(inflight.popleft(), buf, stager, staging, audit, stats, bar, log)
                    if failure:
                        break
                if failure:
                    break
            if not failure:
                failure = _gate_raw(raw, audit, stats)
            while inflight and not failure:
                failure = _finish_batch(inflight.popleft(), buf, stager, staging, audit, stats, bar, log)
            if not failure:
                failure = _finish_batch(None, buf, stager, staging, audit, stats, bar, log, flush=True)
            failure = stager.wait() or failure
        finally:
            stager.shutdown()
            pool.shutdown()
            bar.close()
        accepted = stats.articles_new + stats.quarantined
        if not failure and accepted and stats.quarantined / accepted > max_quarantine_share:
            failure = (f"Quality gate clean_articles blocked the transform stage: {stats.quarantined} of "
                       f"{accepted} documents ({stats.quarantined / accepted:.0%}) were quarantined, more "
                       f"than the allowed {max_quarantine_share:.0%}. Nothing was published; see the rejects "
                       "reasons in dq_results and the Data Docs.")
        if failure:
            return _fail(wh, staging, audit, stats, failure, started, src, full_refresh, with_tokens, log)

        # -- dedup + load ----------------------------------------------------------------------
        t = time.perf_counter()
        old_paths = set() if full_refresh else set(known)
        replaced = processed_paths & old_paths
        stats.articles_replaced = len(_paths_in(wh, "articles", replaced)) if replaced else 0
        stats.rejects_replaced = len(_paths_in(wh, "rejects", replaced)) if replaced else 0
        clusters, dup_updates = dedup_task(quote(wh), quote(staging), quote(replaced), full_refresh,
                                           dedup_threshold)
        stats.duplicates_marked = sum(1 for v in dup_updates.values() if v is not None)
        stats.add_time("dedup", time.perf_counter() - t)
        t = time.perf_counter()
        changes = Changes(replaced_paths=replaced, duplicate_of=dup_updates,
                          full_tables={"duplicate_clusters": clusters}, drop_all_data=full_refresh)
        changes.audit = {"dq_results": audit.table(),
                         "runs": _run_row(stats, started, src, full_refresh, with_tokens, "completed", "")}
        version = build_task(quote(staging), quote(changes))
        stats.add_time("load", time.perf_counter() - t)
        t = time.perf_counter()
        data_changed = bool(full_refresh or wh.current is None or replaced or dup_updates
                            or stats.articles_new or stats.rejects_new)
        reports = gates.gate_warehouse(wh, version, stats, audit, full_refresh, data_changed)
        stats.add_time("gates", time.perf_counter() - t)
        blocking = [r for r in reports if r.blocking]
        if blocking:
            return _fail(wh, staging, audit, stats, " ".join(r.summary() for r in blocking), started, src,
                         full_refresh, with_tokens, log)
        # rebuild the audit rows so the load gate's own results are recorded too
        changes.audit = {"dq_results": audit.table(),
                         "runs": _run_row(stats, started, src, full_refresh, with_tokens, "completed", "")}
        t = time.perf_counter()
        version = staging.build(changes, only={"runs", "dq_results"})
        final = publish_task(quote(wh), quote(staging))
        stats.add_time("publish", time.perf_counter() - t)
        t = time.perf_counter()
        docs = audit.build_docs(wh.root / "docs")          # outside .versions: survives publish
        stats.add_time("docs", time.perf_counter() - t)
    summary = _summary(stats, wh, final, "completed", "")
    _artifacts(summary, audit, docs)
    log.info("run %s completed: %s", run_id, json.dumps({k: summary[k] for k in (
        "files_read", "articles_new", "rejects_new", "files_skipped", "duplicates_marked")}))
    return summary


def _gate_raw(waiting: list[pa.Table], audit, stats: RunStats) -> str | None:
    """The extract gate over the batches waiting for it (GX pays a fixed cost per validation,
    so up to `gate_rows` documents are validated at once; nothing is published before every
    batch has passed). Returns the failure text of a blocking result."""
    if not waiting:
        return None
    t = time.perf_counter()
    docs = pa.concat_tables(waiting)
    waiting.clear()
    report = gates.gate_raw(docs, audit, stats)
    stats.add_time("gates", time.perf_counter() - t)
    return report.summary() if report.blocking else None


class _GateBuffer:
    """Transformed batches waiting for the transform gate: GX pays a fixed cost per validation,
    so batches are gated together once `rows` articles are waiting (bounded memory)."""

    def __init__(self, rows: int):
        self.rows = rows
        self.items: list[tuple[int, int, tuple[BatchResult, pa.Table]]] = []

    @property
    def articles(self) -> int:
        return sum(r.articles.num_rows for _, _, (r, _) in self.items)


class _Stager:
    """Gates and stages full buffers in one background thread, so the main loop goes on
    extracting and submitting batches meanwhile (the workers never wait for a gate). One
    buffer at a time: submitting the next one first waits for the previous one."""

    def __init__(self):
        self._ex = ThreadPoolExecutor(max_workers=1, thread_name_prefix="newsetl-stage")
        self._pending: Future | None = None

    def submit(self, fn, *args) -> str | None:
        failure = self.wait()
        if failure is None:
            ctx = contextvars.copy_context()        # the flow run's context, for Prefect tasks and logs
            self._pending = self._ex.submit(ctx.run, fn, *args)
        return failure

    def poll(self) -> str | None:
        """The failure text of a finished buffer, without waiting."""
        return self.wait() if self._pending is not None and self._pending.done() else None

    def wait(self) -> str | None:
        """Wait for the buffer in progress; its failure text, or its exception raised here."""
        pending, self._pending = self._pending, None
        return pending.result() if pending is not None else None

    def shutdown(self) -> None:
        self._ex.shutdown(wait=True, cancel_futures=True)


def _finish_batch(item, buf: _GateBuffer, stager: _Stager, staging: Staging, audit, stats: RunStats, bar,
                  log, flush: bool = False) -> str | None:
    """Collect one transformed batch; hand the buffer to the stager once it is full."""
    if item is not None:
        i, n_docs, fut = item
        t = time.perf_counter()
        buf.items.append((i, n_docs, fut.result()))
        stats.add_time("transform", time.perf_counter() - t)
    if not buf.items or (not flush and buf.articles < buf.rows):
        return stager.poll()
    items, buf.items = buf.items, []
    return stager.submit(_gate_and_stage, items, staging, audit, stats, bar, log)


def _gate_and_stage(items, staging: Staging, audit, stats: RunStats, bar, log) -> str | None:
    """The transform gate over buffered batches, then their rows staged (the stager thread)."""
    result = BatchResult(*(pa.concat_tables([getattr(r, f) for _, _, (r, _) in items])
                           for f in ("articles", "paragraphs", "removed", "rejects", "signatures")))
    checks = pa.concat_tables([c for _, _, (_, c) in items])
    t = time.perf_counter()
    result, report_text = gates.gate_transform(result, audit, stats, checks)
    stats.add_time("gates", time.perf_counter() - t)
    if report_text:
        return report_text
    t = time.perf_counter()
    first, last = items[0][0], items[-1][0]
    stage_task.with_options(task_run_name=f"stage-{first:04d}" + (f"-{last:04d}" if last != first else ""))(
        quote(staging), quote(result))
    stats.add_time("stage", time.perf_counter() - t)
    stats.articles_new += result.articles.num_rows
    stats.rejects_new += result.rejects.num_rows
    stats.removed_lines += result.removed.num_rows
    stats.rejects_by_reason.update(result.rejects["reason"].to_pylist())
    bar.update(sum(n for _, n, _ in items))
    log.info("progress: batches %d-%d staged; %d files done so far: %d articles, %d rejects, %d skipped",
             first, last, bar.n, stats.articles_new, stats.rejects_new, stats.files_skipped)
    return None


def _known_files(wh: Warehouse) -> dict[str, str]:
    known: dict[str, str] = {}
    for table in ("rejects", "articles"):
        t = wh.read(table, ["source_path", "source_sha256"])
        known.update(zip(t["source_path"].to_pylist(), t["source_sha256"].to_pylist()))
    return known


def _paths_in(wh: Warehouse, table: str, paths: set[str]) -> list[str]:
    t = wh.read(table, ["source_path"])
    return pc.filter(t["source_path"], pc.is_in(t["source_path"], pa.array(sorted(paths), pa.string()))).to_pylist()


def _run_row(stats: RunStats, started, src: Path, full_refresh: bool, with_tokens: bool, status: str,
             message: str) -> pa.Table:
    from prefect.runtime import flow_run
    row = {
        "run_id": stats.run_id, "flow_run_id": str(flow_run.get_id() or ""), "started_at": started,
        "finished_at": datetime.now(timezone.utc), "status": status, "message": message,
        "schema_version": T.SCHEMA_VERSION, "rules_version": T.RULES_VERSION, "source": str(src),
        "full_refresh": full_refresh, "with_tokens": with_tokens,
        "files_read": stats.files_read, "files_skipped": stats.files_skipped,
        "articles_new": stats.articles_new, "articles_replaced": stats.articles_replaced,
        "rejects_new": stats.rejects_new, "removed_lines": stats.removed_lines,
        "duplicates_marked": stats.duplicates_marked, "gates_passed": stats.gates_passed,
        "gates_failed": stats.gates_failed, "stage_seconds": json.dumps(stats.stage_seconds),
    }
    return pa.Table.from_pylist([row], schema=T.RUNS)


def _fail(wh: Warehouse, staging: Staging, audit, stats: RunStats, message: str, started, src: Path,
          full_refresh: bool, with_tokens: bool, log):
    """Record the failure in runs and dq_results only; every data table stays as it was."""
    staging.discard()
    record = wh.begin(stats.run_id + "-failed")
    record.build(Changes(audit={"dq_results": audit.table(),
                                "runs": _run_row(stats, started, src, full_refresh, with_tokens, "failed",
                                                 message)}))
    final = record.publish()
    docs = audit.build_docs(wh.root / "docs")              # a failed run gets its docs too
    summary = _summary(stats, wh, final, "failed", message)
    _artifacts(summary, audit, docs)
    log.error(message)
    return Failed(message=message)


def _summary(stats: RunStats, wh: Warehouse, version: Path, status: str, message: str) -> dict:
    d = asdict(stats)
    d["rejects_by_reason"] = dict(stats.rejects_by_reason)
    d.update(status=status, message=message, warehouse=str(wh.root), version=version.name,
             docs=str(wh.root / "docs" / "index.html"))
    return d


def _artifacts(summary: dict, audit, docs: Path | None = None) -> None:
    summary["gate_warnings"] = audit.warning_lines()
    try:
        create_table_artifact(key="gate-results", table=audit.summary_rows(),
                              description=f"Quality gates of run {summary['run_id']} ({summary['status']})")
        create_markdown_artifact(key="quality-gates", markdown=audit.markdown(docs),
                                 description="Suites x result, warnings, and where the Data Docs are")
        lines = [f"# news-etl run `{summary['run_id']}`: **{summary['status']}**", ""]
        if summary["message"]:
            lines += [f"> {summary['message']}", ""]
        lines += ["| count | value |", "|---|---|"]
        for k in ("files_read", "files_skipped", "articles_new", "articles_replaced", "rejects_new",
                  "quarantined", "removed_lines", "duplicates_marked", "gates_passed", "gates_failed"):
            lines.append(f"| {k} | {summary[k]} |")
        lines += ["", "| stage | seconds |", "|---|---|"]
        lines += [f"| {k} | {v} |" for k, v in summary["stage_seconds"].items()]
        if summary["rejects_by_reason"]:
            lines += ["", "| reject reason | files |", "|---|---|"]
            lines += [f"| {k} | {v} |" for k, v in sorted(summary["rejects_by_reason"].items())]
        lines += ["", f"Warehouse: `{summary['warehouse']}` (version `{summary['version']}`)",
                  f"Parquet tables: `{summary['warehouse']}/<table>/` (e.g. `articles/`, `rejects/`), "
                  "or `newsetl query \"select ...\"`",
                  f"Data Docs: `{summary['docs']}`"]
        create_markdown_artifact(key="run-summary", markdown="\n".join(lines),
                                 description="Counts per stage, rejects by reason, time per stage")
    except Exception:  # noqa: BLE001 - artifacts are a convenience; never fail a run over them
        pass


class _NoBar:
    n = 0

    def update(self, k):
        self.n += k

    def close(self):
        pass


def _progress(total: int, enabled: bool):
    if not enabled:
        return _NoBar()
    from tqdm import tqdm
    return tqdm(total=total, unit="file", desc="news-etl", file=sys.stderr, leave=False)
