"""Where the CPU-heavy transform batches run: one Prefect task per batch, on a Prefect task
runner chosen in one place (`BatchRunner`).

    inline    one batch, or --workers 1: the task runs in the flow's process (no pool start-up)
    process   prefect.task_runners.ProcessPoolTaskRunner, --workers processes (default)
    dask      prefect_dask.DaskTaskRunner: --dask-address, or a LocalCluster of --workers
              single-threaded worker processes

Whatever the runner, the UI shows `transform-0000`, `transform-0001`, ... as task runs of the
flow run, with their logs. A worker loads what the transforms need (and the word segmenter,
with tokens) once, at its first batch. The runner starts at the first batch submitted, so a
re-run with nothing new starts no process. This module is imported by every worker: it
imports only Prefect and transforms/, never pandas, GX or DuckDB.
"""
from __future__ import annotations

import os
from concurrent.futures import Future
from contextlib import ExitStack

import pyarrow as pa
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.utilities.annotations import quote

from transforms.checks import article_checks
from transforms.pipeline import BatchConfig, BatchResult, transform_batch

RUNNERS = ("process", "dask")
_warmed: set[str] = set()          # what this process has warmed up: "transforms", "tokens"


def warm_up_worker(with_tokens: bool) -> None:
    """Once per process: the transforms' lookup tables, and the word segmenter with tokens."""
    if "transforms" not in _warmed:
        os.environ.setdefault("OMP_NUM_THREADS", "1")            # one thread per worker process
        from transforms.pipeline import warm_up
        warm_up()
        _warmed.add("transforms")
    if with_tokens and "tokens" not in _warmed:
        from transforms.segment import segment_words
        segment_words(["Khởi động bộ tách từ."])
        _warmed.add("tokens")


@task(name="transform", cache_policy=NO_CACHE, persist_result=False)
def transform_task(docs: pa.Table, cfg: BatchConfig) -> tuple[BatchResult, pa.Table]:
    """One batch of documents -> its table rows, and the features of its articles that the
    transform gate checks (transforms.checks; computed here, in parallel with other batches)."""
    warm_up_worker(cfg.with_tokens)
    result = transform_batch(docs, cfg)
    get_run_logger().info("batch: %d documents -> %d articles, %d rejects, %d removed lines",
                          docs.num_rows, result.articles.num_rows, result.rejects.num_rows,
                          result.removed.num_rows)
    return result, article_checks(result)


def make_task_runner(kind: str, workers: int, dask_address: str | None = None):
    """The Prefect task runner for transform batches: the one place to swap it."""
    if kind == "dask":
        from prefect_dask import DaskTaskRunner
        if dask_address:
            return DaskTaskRunner(address=dask_address)
        return DaskTaskRunner(cluster_kwargs={"n_workers": workers, "threads_per_worker": 1,
                                              "processes": True, "dashboard_address": None})
    from prefect.task_runners import ProcessPoolTaskRunner

    from flows.api_watch import report_lost_api_once
    return ProcessPoolTaskRunner(max_workers=workers, initializer=report_lost_api_once)


class BatchRunner:
    """Submit transform batches; each future's result() is (BatchResult, article checks).

        with BatchRunner("process", workers=2, n_batches=18) as runner:
            fut = runner.submit(7, docs, cfg)       # task run transform-0007
    """

    def __init__(self, kind: str, workers: int, n_batches: int, dask_address: str | None = None):
        self.inline = kind != "dask" and (workers <= 1 or n_batches <= 1)
        self.kind, self.workers, self.dask_address = kind, workers, dask_address
        self._stack = ExitStack()
        self._runner = None

    def submit(self, i: int, docs: pa.Table, cfg: BatchConfig):
        named = transform_task.with_options(task_run_name=f"transform-{i:04d}")
        if self.inline:
            done: Future = Future()
            done.set_result(named(quote(docs), cfg))      # an exception ends the flow, as before
            return done
        if self._runner is None:
            self._runner = self._stack.enter_context(make_task_runner(self.kind, self.workers,
                                                                      self.dask_address))
        # no quote() here: the Dask runner passes parameters on as they are (an Arrow table is
        # not a collection, so Prefect does not walk it)
        return self._runner.submit(named, {"docs": docs, "cfg": cfg})

    def __enter__(self) -> "BatchRunner":
        return self

    def __exit__(self, *exc) -> None:
        self._stack.close()
