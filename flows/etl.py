"""The `news-etl` Prefect flow: extract -> transform -> gate -> load -> publish.

Read `news_etl` top to bottom; each step names the module that does the work:

    check        check_inputs here: task runner, source, writable warehouse, progress mode (exit 2)
    extract      scan_task here; then per batch flows.stream (read, extract gate)
    transform    flows.batches (one Prefect task per batch on the task runner), transform gate
    stage        flows.stream -> flows.warehouse.staging  (.staging/<run_id>/new/)
    dedup        flows.dedup_io -> transforms.dedup       (duplicate_of across the warehouse)
    load         Staging.build: the complete next version (.staging/<run_id>/version/)
    load gate    flows.gates.gate_warehouse: the staged version read back through DuckDB
    publish      Warehouse.publish: one atomic rename; then Data Docs and artifacts

A blocking gate ends the run with `Failed(message=...)` and records only `runs` and
`dq_results`; no data table changes. Counters and stage timings: flows.run_report; every gate
report of the run: flows.audit.
"""
from __future__ import annotations

import logging
import os
import re
import sys
import uuid
from datetime import datetime, timezone
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.states import Failed
from prefect.utilities.annotations import quote

from expectations.gx_context import warm_up_in_background
from flows import gates
from flows.audit import AuditLog
from flows.batches import RUNNERS, BatchRunner
from flows.dedup_io import mark_duplicates
from flows.errors import UsageError
from flows.progress import PROGRESS_MODES, Progress
from flows.run_report import RunStats, publish_artifacts, run_row, summary
from flows.sources import SourceEntry, check_source, file_sha256, is_url, scan_source
from flows.stops import reclaim_signals
from flows.stream import stream_batches
from flows.warehouse import Changes, Staging, Warehouse
from transforms.pipeline import BatchConfig

__all__ = ["news_etl", "UsageError"]


def new_run_id() -> str:
    """`20261124T211502Z-3f9c1a`: UTC start time and 6 random hex digits. It is also the
    Prefect flow run's name, so the id the CLI prints finds the run in the UI."""
    return f"{datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%SZ')}-{uuid.uuid4().hex[:6]}"


_RUN_ID = re.compile(r"\d{8}T\d{6}Z-[0-9a-f]{6}")


def _this_run_id() -> str:
    from prefect.runtime import flow_run
    name = flow_run.get_name() or ""
    return name if _RUN_ID.fullmatch(name) else new_run_id()


@task(name="scan-source", task_run_name="scan-source", retries=2, retry_delay_seconds=1, cache_policy=NO_CACHE)
def scan_task(source: str, max_bytes: int) -> list[SourceEntry]:
    entries = list(scan_source(source, max_bytes=max_bytes))
    get_run_logger().info("found %d files under %s", len(entries), source)
    return entries


@task(name="skip-unchanged", task_run_name="skip-unchanged", retries=2, retry_delay_seconds=1,
      cache_policy=NO_CACHE)
def skip_unchanged_task(entries: list[SourceEntry], known: dict[str, str], max_bytes: int,
                        stage=None) -> tuple[list, int]:
    """The entries to extract: all but the files loaded before with the same sha256 (one task
    for the whole source; the extract tasks compare digests again for what this lets through).
    `stage` (a progress stage) advances per file hashed."""
    todo = []
    for e in entries:
        if e.reject_reason is not None or known.get(e.source_path) is None \
                or file_sha256(e.abs_path, max_bytes) != known[e.source_path]:
            todo.append(e)
        if stage is not None:
            stage.advance(1)
    skipped = len(entries) - len(todo)
    if skipped:
        get_run_logger().info("%d of %d files unchanged since they were loaded; %d to extract",
                              skipped, len(entries), len(todo))
    return todo, skipped


@task(name="dedup", task_run_name="dedup", cache_policy=NO_CACHE)
def dedup_task(wh: Warehouse, staging: Staging, replaced: set[str], full_refresh: bool, threshold: float):
    return mark_duplicates(wh, staging, replaced, full_refresh, threshold)


@task(name="build-version", task_run_name="build-version", cache_policy=NO_CACHE)
def build_task(staging: Staging, changes: Changes) -> Path:
    return staging.build(changes)


@task(name="publish", task_run_name="publish", cache_policy=NO_CACHE)
def publish_task(staging: Staging) -> Path:
    final = staging.publish()            # also refreshes warehouse.duckdb and removes old versions
    for warning in staging.warnings:
        get_run_logger().warning(warning)
    return final


@task(name="gate", cache_policy=NO_CACHE)
def gate_failed_task(message: str):
    """The verdict of the gate that stopped the run, as a Failed task run of its stage
    (`gate-extract`, `gate-transform`, `gate-load`), so the UI shows where it stopped."""
    return Failed(message=message)


_CHECKED: set[tuple[str, str, str, str]] = set()      # inputs the CLI checked for the run it starts


def check_inputs(source: str, warehouse: str, task_runner: str = "process", progress: str = "auto",
                 for_flow: bool = False) -> None:
    """The run's usage checks: a known task runner, a source that exists (folder or URL), a
    local warehouse folder this process can write, a known progress mode. Raises a
    NewsetlError (exit 2).

    Each run checks once: the CLI calls this with for_flow=True before it starts the flow (so a
    typo exits at once, before any flow run exists), and the flow's own call for the same
    inputs is then skipped; a flow started any other way (tests, deployments) checks itself."""
    key = (source, warehouse, task_runner, progress)
    if not for_flow and key in _CHECKED:
        _CHECKED.discard(key)
        return
    if task_runner not in RUNNERS:
        raise UsageError(f"unknown task runner {task_runner!r}; use {' or '.join(RUNNERS)}")
    check_source(source)
    if is_url(warehouse):
        raise UsageError(f"--warehouse must be a local or mounted folder, not {warehouse}: publishing is an "
                         "atomic rename under a file lock, which object stores do not offer. Write the "
                         "warehouse locally and copy it (e.g. `aws s3 sync warehouse/current s3://...`).")
    Warehouse(warehouse).check_writable()
    if progress not in PROGRESS_MODES:
        raise UsageError(f"unknown --progress {progress!r}; use {', '.join(PROGRESS_MODES[:-1])} "
                         f"or {PROGRESS_MODES[-1]}")
    if for_flow:
        _CHECKED.add(key)


@flow(name="news-etl", flow_run_name=new_run_id, persist_result=False, log_prints=False)
def news_etl(source: str = "seeds", warehouse: str = "warehouse", full_refresh: bool = False,
             with_tokens: bool = True, batch_size: int = 2000, workers: int = 0, gate_rows: int = 10_000,
             max_bytes: int = 5 * 1024 * 1024, max_quarantine_share: float = 0.2,
             dedup_threshold: float = 0.8, lock_wait: float = 0.0, progress: str = "auto",
             task_runner: str = "process", dask_address: str | None = None):
    """Load every file under `source` into the warehouse; returns the run summary (a dict).

    `progress`: auto (a bar per stage on a terminal, else a plain line every 5 s on stderr),
    bar, plain or off; the same lines go to the run's log every 5 s in every mode."""
    reclaim_signals()                            # `newsetl run`: its SIGTERM path, not Prefect's
    warm_up_in_background()                      # GX import overlaps the checks and the scan
    started = datetime.now(timezone.utc)
    stats = RunStats(run_id=_this_run_id())
    check_inputs(source, warehouse, task_runner, progress)
    wh = Warehouse(warehouse)
    workers = workers or (os.cpu_count() or 1)
    src = source if is_url(source) else str(Path(source))
    audit = AuditLog(stats.run_id, started)

    def record(status: str, message: str = ""):           # the run's row of `runs`, as of now
        return run_row(stats, started, src, full_refresh, with_tokens, status, message)

    with wh.lock(wait_seconds=lock_wait), _progress(progress) as bars:
        wh.ensure_layout()
        wh.clean_staging()
        staging = wh.begin(stats.run_id, full_refresh)        # verifies what the run reads
        # -- extract: what to read ---------------------------------------------------------
        with stats.timed("scan"):
            known = {} if full_refresh else wh.source_digests()
            entries = scan_task(src, max_bytes)
            stats.files_read = len(entries)
        if known:
            with stats.timed("extract"), bars.stage("unchanged?", len(entries)) as hashed:
                entries, stats.files_skipped = skip_unchanged_task(quote(entries), quote(known), max_bytes,
                                                                   quote(hashed))
        # -- extract, transform, gate and stage, batch by batch -----------------------------
        batches = [entries[i:i + batch_size] for i in range(0, len(entries), batch_size)]
        cfg = BatchConfig(run_id=stats.run_id, with_tokens=with_tokens)
        with BatchRunner(task_runner, workers, len(batches), dask_address) as runner:
            failure, processed = stream_batches(batches, known, cfg, runner, staging, audit, stats,
                                                gate_rows, max_bytes, bars)
        failure = failure or _too_many_quarantined(stats, max_quarantine_share)
        if failure:
            return _fail(wh, staging, audit, stats, failure, record)
        # -- dedup and load: the next version, complete, in .staging/<run_id>/version/ -----
        replaced = processed & set(known)
        with stats.timed("dedup"):
            stats.articles_replaced = wh.count_paths("articles", replaced)
            stats.rejects_replaced = wh.count_paths("rejects", replaced)
            clusters, dup_updates = dedup_task(quote(wh), quote(staging), quote(replaced), full_refresh,
                                               dedup_threshold)
            stats.duplicates_marked = sum(1 for v in dup_updates.values() if v is not None)
        changes = Changes(replaced_paths=replaced, duplicate_of=dup_updates,
                          full_tables={"duplicate_clusters": clusters}, drop_all_data=full_refresh,
                          audit={"dq_results": audit.table(), "runs": record("completed")})
        with stats.timed("load"):
            version = build_task(quote(staging), quote(changes))
        # -- load gate: the staged version read back ----------------------------------------
        data_changed = bool(full_refresh or wh.current is None or replaced or dup_updates
                            or stats.articles_new or stats.rejects_new)
        with stats.timed("gates"):
            reports = gates.gate_warehouse(wh, version, stats, audit, full_refresh, data_changed)
        blocking = " ".join(r.summary() for r in reports if r.blocking)
        if blocking:
            return _fail(wh, staging, audit, stats, blocking, record)
        # -- publish: the audit rows again (with the load gate's results), then one rename --
        with stats.timed("publish"):
            changes.audit = {"dq_results": audit.table(), "runs": record("completed")}
            staging.build(changes, only={"runs", "dq_results"})
            final = publish_task(quote(staging))
        with stats.timed("docs"):
            docs = audit.build_docs(wh.root / "docs")          # outside .versions: survives publish
    result = summary(stats, wh.root, final, "completed", "")
    publish_artifacts(result, audit, docs)
    get_run_logger().info("run %s completed: %d files read, %d articles new, %d rejects new, %d skipped",
                          stats.run_id, stats.files_read, stats.articles_new, stats.rejects_new,
                          stats.files_skipped)
    return result


def _progress(mode: str) -> Progress:
    """Progress on stderr and in the run log. Off a terminal, when Prefect's console handler
    already prints INFO records (a served or worker run), the log lines are the progress: the
    plain lines would print everything twice."""
    stream = sys.stderr
    if mode == "auto" and not (hasattr(stream, "isatty") and stream.isatty()) and _console_shows_info():
        mode = "off"
    interval = float(os.environ.get("NEWSETL_PROGRESS_INTERVAL") or 5.0)     # seconds between plain lines
    return Progress(mode, stream=stream, log=get_run_logger().info, desc="news-etl", interval=interval)


def _console_shows_info() -> bool:
    return any(type(h).__name__ == "PrefectConsoleHandler" and h.level <= logging.INFO
               for h in logging.getLogger().handlers)


def _too_many_quarantined(stats: RunStats, max_share: float) -> str | None:
    accepted = stats.articles_new + stats.quarantined
    if not accepted or stats.quarantined / accepted <= max_share:
        return None
    return (f"Quality gate clean_articles blocked the transform stage: {stats.quarantined} of {accepted} "
            f"documents ({stats.quarantined / accepted:.0%}) were quarantined, more than the allowed "
            f"{max_share:.0%}. Nothing was published; see the rejects reasons in dq_results and the Data Docs.")


def _fail(wh: Warehouse, staging: Staging, audit: AuditLog, stats: RunStats, message: str, record):
    """Record the failure in runs and dq_results only; every data table stays as it was. The
    failing stage's gate shows as a Failed task run (`gate-<stage>`)."""
    stage = next((r.stage for r in audit.reports if r.blocking), "transform")
    gate_failed_task.with_options(task_run_name=f"gate-{stage}")(message, return_state=True)
    staging.discard()
    failed = Staging(wh, stats.run_id + "-failed")   # the current version was verified by begin()
    failed.build(Changes(audit={"dq_results": audit.table(), "runs": record("failed", message)}))
    final = failed.publish()
    docs = audit.build_docs(wh.root / "docs")              # a failed run gets its docs too
    publish_artifacts(summary(stats, wh.root, final, "failed", message), audit, docs)
    get_run_logger().error(message)
    return Failed(message=message)
