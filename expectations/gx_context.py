"""The one Great Expectations context of a process, and the call that validates a frame.

Importing GX and creating its context costs 3-6 s, so `warm_up_in_background()` starts that
in a thread as early as a run can (the CLI's start-up, or the flow's first line, whichever
comes first; later calls do nothing) and the first gate waits for it. GX is quieted: no
analytics, no progress bars, its loggers at ERROR.
"""
from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

lock = threading.RLock()          # one GX call at a time (GX work holds the GIL anyway)
_context = None
_warming: threading.Thread | None = None


def _quiet_gx() -> None:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    for name in ["great_expectations", *[n for n in logging.root.manager.loggerDict
                                         if n.startswith("great_expectations")]]:
        logging.getLogger(name).setLevel(logging.ERROR)
    import warnings
    warnings.filterwarnings("ignore", module="great_expectations")


def warm_up() -> None:
    """Import GX and create the context (about 3-6 s)."""
    get_context()


def warm_up_in_background(then: Callable[[], None] | None = None) -> None:
    """Start `warm_up` in a daemon thread, once per process (later calls return at once),
    then run `then` in the same thread. Failures are left for the real calls to report."""
    global _warming
    with lock:
        if _warming is not None or _context is not None:
            return
        _warming = threading.Thread(target=_warm_quietly, args=(then,), name="newsetl-warm-up", daemon=True)
    _warming.start()


def _warm_quietly(then: Callable[[], None] | None) -> None:
    for step in (warm_up, then):
        try:
            if step is not None:
                step()
        except Exception:  # noqa: BLE001 - only a warm-up: the real call reports any problem
            pass


def get_context():
    """The process's ephemeral GX context with one pandas data source, `newsetl`."""
    global _context
    with lock:
        if _context is None:
            _quiet_gx()
            import great_expectations as gx
            from great_expectations.data_context.types.base import ProgressBarsConfig

            _quiet_gx()   # again: importing GX resets its logger level

            # GX fingerprints every in-memory batch (md5 over pandas' hash of every value, 2 s a
            # run here) unless it is larger than HASH_THRESHOLD; the fingerprint is only a batch
            # marker, and every frame we validate is new, so it is switched off
            from great_expectations.execution_engine import pandas_execution_engine
            pandas_execution_engine.HASH_THRESHOLD = 0

            ctx = gx.get_context(mode="ephemeral")
            ctx.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
            ctx.data_sources.add_pandas("newsetl")
            _context = ctx
        return _context


def validate(suite, df: pd.DataFrame, result_format: str, examples: int):
    """Validate `df` against the GX `suite` with `result_format` (BASIC or COMPLETE), keeping
    `examples` unexpected values per expectation."""
    ctx = get_context()          # waits for a warm-up running in another thread
    with lock:
        source = ctx.data_sources.get("newsetl")
        asset_name = f"batch-{threading.get_ident()}"
        try:
            asset = source.get_asset(asset_name)
        except LookupError:
            asset = source.add_dataframe_asset(asset_name)
        try:
            bd = asset.get_batch_definition("whole")
        except (KeyError, LookupError, ValueError):
            bd = asset.add_batch_definition_whole_dataframe("whole")
        batch = bd.get_batch(batch_parameters={"dataframe": df})
        # one validation at a time (the flow gates extract and transform batches from two
        # threads; GX work holds the GIL anyway)
        return batch.validate(suite, result_format={"result_format": result_format,
                                                    "partial_unexpected_count": examples,
                                                    "include_unexpected_rows": False})

