"""Quality gates: run a GX suite from expectations/<suite>.json over a batch and decide.

GX evaluates; this module decides (GX records `severity` but does not act on it):

- a failed expectation with severity `critical` and `meta.quarantine: true` is row level:
  the failing rows (GX's unexpected index list) are quarantined, the rest goes on;
- any other failed `critical` expectation is table level and blocks the stage;
- `warning` and `info` failures are recorded and shown, never blocking;
- quarantining more than `max_quarantine_share` of the rows blocks the stage too.

This is the only module that imports great_expectations.
"""
from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import resources
from typing import Any

import pandas as pd
import pyarrow as pa

from transforms.tables import DQ_RESULTS

SUITE_DIR = resources.files("expectations")
_lock = threading.Lock()
_context = None


def _quiet_gx() -> None:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    for name in ["great_expectations", *[n for n in logging.root.manager.loggerDict
                                         if n.startswith("great_expectations")]]:
        logging.getLogger(name).setLevel(logging.ERROR)
    import warnings
    warnings.filterwarnings("ignore", module="great_expectations")


def warm_up() -> None:
    """Import GX and create the context (about 3-6 s); the flow calls this in a thread early."""
    _get_context()


def _get_context():
    global _context
    with _lock:
        if _context is None:
            _quiet_gx()
            import great_expectations as gx
            from great_expectations.data_context.types.base import ProgressBarsConfig

            _quiet_gx()   # again: importing GX resets its logger level

            ctx = gx.get_context(mode="ephemeral")
            ctx.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
            ctx.data_sources.add_pandas("newsetl")
            _context = ctx
        return _context


def load_suite_json(name: str) -> dict[str, Any]:
    return json.loads(SUITE_DIR.joinpath(f"{name}.json").read_text(encoding="utf-8"))


def suite_names() -> list[str]:
    return sorted(p.name[:-5] for p in SUITE_DIR.iterdir() if p.name.endswith(".json"))


@dataclass
class Outcome:
    expectation: str          # e.g. expect_column_values_to_match_regex
    column: str | None
    severity: str
    success: bool
    unexpected_count: int
    observed_value: str | None
    quarantine: bool
    why: str
    unexpected_index: list[int] = field(default_factory=list)


@dataclass
class GateReport:
    stage: str
    suite: str
    rows: int
    outcomes: list[Outcome]
    max_quarantine_share: float

    @property
    def quarantined(self) -> dict[int, str]:
        """Row index -> the first failed row-level expectation for that row."""
        out: dict[int, str] = {}
        for o in self.outcomes:
            if o.quarantine and not o.success and o.severity == "critical":
                for i in o.unexpected_index:
                    out.setdefault(int(i), o.expectation + (f"({o.column})" if o.column else ""))
        return out

    @property
    def blocking_outcomes(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.success and o.severity == "critical" and not o.quarantine]

    @property
    def quarantine_share(self) -> float:
        return len(self.quarantined) / self.rows if self.rows else 0.0

    @property
    def blocking(self) -> bool:
        return bool(self.blocking_outcomes) or self.quarantine_share > self.max_quarantine_share

    @property
    def warnings(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.success and o.severity != "critical"]

    def summary(self) -> str:
        """One readable paragraph: what failed, on how many rows, and what to do."""
        if not self.blocking:
            q = len(self.quarantined)
            return (f"Gate {self.suite} ({self.stage}) passed on {self.rows} rows"
                    + (f"; {q} row(s) quarantined to rejects" if q else "")
                    + (f"; {len(self.warnings)} warning(s)" if self.warnings else "") + ".")
        parts = []
        for o in self.blocking_outcomes:
            col = f" on column {o.column}" if o.column else ""
            obs = f" (observed {o.observed_value})" if o.observed_value not in (None, "", "None") else ""
            parts.append(f"{o.expectation}{col} failed for {o.unexpected_count} of {self.rows} rows{obs}: {o.why}")
        if self.quarantine_share > self.max_quarantine_share:
            parts.append(f"{len(self.quarantined)} of {self.rows} rows ({self.quarantine_share:.0%}) would be "
                         f"quarantined, more than the allowed {self.max_quarantine_share:.0%}")
        return (f"Quality gate {self.suite} blocked the {self.stage} stage: " + "; ".join(parts)
                + ". Nothing was published; see dq_results and the Data Docs for details.")

    def dq_table(self, run_id: str) -> pa.Table:
        now = datetime.now(timezone.utc)
        rows = [{
            "run_id": run_id, "stage": self.stage, "suite": self.suite, "expectation": o.expectation,
            "column": o.column, "severity": o.severity, "success": o.success,
            "unexpected_count": o.unexpected_count, "observed_value": o.observed_value,
            "evaluated_at": now,
        } for o in self.outcomes]
        return pa.Table.from_pylist(rows, schema=DQ_RESULTS)


def _observed(result: dict[str, Any]) -> str | None:
    if "observed_value" in result:
        v = result["observed_value"]
        return None if v is None else (json.dumps(v, default=str) if not isinstance(v, str) else v)[:500]
    if "unexpected_percent" in result and result["unexpected_percent"] is not None:
        return f"{result['unexpected_percent']:.3g}% unexpected"
    return None


def _substitute(value: Any, params: dict[str, Any]) -> Any:
    if isinstance(value, str) and value.startswith("$"):
        return params[value[1:]]
    if isinstance(value, dict):
        return {k: _substitute(v, params) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, params) for v in value]
    return value


def default_params() -> dict[str, Any]:
    from datetime import timedelta

    from transforms.reasons import REMOVED_REASONS
    from transforms.tables import ARTICLES

    return {
        "NOW_PLUS_1D": (datetime.now(timezone.utc) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S+00:00"),
        "REMOVED_REASONS": sorted(REMOVED_REASONS),
        # the read-back frame carries two derived check columns besides the declared ones
        "ARTICLES_COLUMNS": list(ARTICLES.names) + ["duplicate_of_ok", "positions_ok"],
    }


def run_gate(suite: str, df: pd.DataFrame, stage: str, max_quarantine_share: float = 0.2,
             params: dict[str, Any] | None = None) -> GateReport:
    """Validate `df` (whole batch at once) against expectations/<suite>.json and return the decision.

    Values written "$NAME" in a suite file are filled from `params` (default_params() plus yours).
    """
    ctx = _get_context()          # first: waits for a warm-up import running in another thread
    from great_expectations.core import ExpectationSuite

    spec = _substitute(load_suite_json(suite), {**default_params(), **(params or {})})
    gx_suite = ExpectationSuite(name=spec["name"], expectations=[
        {k: v for k, v in e.items() if k in ("type", "kwargs", "severity", "meta")} for e in spec["expectations"]
    ])
    with _lock:
        source = ctx.data_sources.get("newsetl")
        asset_name = f"{suite}-{threading.get_ident()}"
        try:
            asset = source.get_asset(asset_name)
        except LookupError:
            asset = source.add_dataframe_asset(asset_name)
        try:
            bd = asset.get_batch_definition("whole")
        except (KeyError, LookupError, ValueError):
            bd = asset.add_batch_definition_whole_dataframe("whole")
        batch = bd.get_batch(batch_parameters={"dataframe": df.reset_index(drop=True)})
    result = batch.validate(gx_suite, result_format={"result_format": "COMPLETE", "partial_unexpected_count": 0,
                                                     "include_unexpected_rows": False})
    outcomes = []
    for pos, r in enumerate(result.results):
        cfg = r.expectation_config
        meta = cfg.meta or {}          # GX may reorder results; the meta travels with each one
        res = r.result or {}
        sev = getattr(cfg.severity, "value", str(cfg.severity)) if getattr(cfg, "severity", None) else "critical"
        outcomes.append(Outcome(
            expectation=cfg.type,
            column=cfg.kwargs.get("column") or (",".join(cfg.kwargs["column_list"]) if "column_list" in cfg.kwargs else None),
            severity=sev,
            success=bool(r.success) and not r.exception_info.get("raised_exception", False),
            unexpected_count=int(res.get("unexpected_count") or (0 if r.success else 1)),
            observed_value=_observed(res) if not r.exception_info.get("raised_exception") else
            str(r.exception_info.get("exception_message"))[:300],
            quarantine=bool(meta.get("quarantine")),
            why=meta.get("why", ""),
            unexpected_index=[int(i) for i in (res.get("unexpected_index_list") or []) if isinstance(i, (int,))],
        ))
    return GateReport(stage=stage, suite=suite, rows=len(df), outcomes=outcomes,
                      max_quarantine_share=max_quarantine_share)
