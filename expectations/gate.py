"""Quality gates: run a GX suite from expectations/<suite>.json over a batch and decide.

GX evaluates; this module decides (GX records `severity` but does not act on it):

- a failed `critical` expectation with `meta.quarantine: true` is row level: the failing rows
  (GX's unexpected index list) are quarantined to `rejects` with the expectation's
  `meta.reason` code (a `gate.*` code of transforms/reasons.py); the rest goes on;
- any other failed `critical` expectation is table level and blocks the stage;
- `warning` and `info` failures are recorded and shown, never blocking;
- quarantining more than `max_quarantine_share` of the rows blocks the stage too.

Every result, passed or not, becomes one `dq_results` row (`GateReport.dq_table`), and the
GX results of a run are rendered into a GX Data Docs site (`build_data_docs`).

Cost: GX spends about 20-30 ms per expectation whatever the batch size, so a batch is
validated once with result_format BASIC (counts only); only when a row-level expectation
fails is that expectation validated again with COMPLETE to get the failing row indices.

The rooms of expectations/: gx_context.py (the GX context, the validate call), suites.py
(suite files and their parameters), data_docs.py (the Data Docs site), this module (the
decision). Only expectations/ imports great_expectations.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import pandas as pd
import pyarrow as pa

from expectations import gx_context
from expectations.gx_context import warm_up, warm_up_in_background  # noqa: F401 - the flow's entry points
from expectations.suites import (_PARAM, _substitute, _suite, _sub_suite,  # noqa: F401 - tests use these
                                 boilerplate_line_regex, default_params, load_suite_json, suite_names)
from transforms.lexicon import cue_words as _lexicon_cues  # noqa: F401 - a test reads cues through the gate
from transforms.tables import DQ_RESULTS

EXAMPLES = 5                      # unexpected values kept per expectation for dq_results and Data Docs
_EXAMPLE_CHARS = 160              # ... each cut to this many characters


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
    reason: str = "gate.quarantined"     # rejects.reason of the rows it quarantines
    unexpected_index: list[int] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.expectation + (f"({self.column})" if self.column else "")


@dataclass
class GateReport:
    stage: str
    suite: str
    rows: int
    outcomes: list[Outcome]
    max_quarantine_share: float
    gx_result: Any = None     # GX ExpectationSuiteValidationResult (for Data Docs)

    @property
    def quarantined(self) -> dict[int, Outcome]:
        """Row index -> the first failed row-level expectation for that row."""
        out: dict[int, Outcome] = {}
        for o in self.outcomes:
            if o.quarantine and not o.success and o.severity == "critical":
                for i in o.unexpected_index:
                    out.setdefault(int(i), o)
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
            obs = f" (observed: {o.observed_value})" if o.observed_value not in (None, "", "None") else ""
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


def short(v: Any) -> Any:
    if isinstance(v, str) and len(v) > _EXAMPLE_CHARS:
        return v[:_EXAMPLE_CHARS] + "…"
    return v


def _observed(result: dict[str, Any], success: bool) -> str | None:
    """What GX saw, as one short string: the aggregate it computed, or the unexpected share of a
    row-wise expectation with a few of the unexpected values when it failed."""
    if "observed_value" in result:
        v = result["observed_value"]
        mismatch = (result.get("details") or {}).get("mismatched")
        if mismatch and not success:
            v = {"observed": v, "mismatched": mismatch}
        return None if v is None else (v if isinstance(v, str) else json.dumps(v, default=str,
                                                                                ensure_ascii=False))[:500]
    if "element_count" in result:
        n = int(result.get("element_count") or 0) - int(result.get("missing_count") or 0)
        k = int(result.get("unexpected_count") or 0)
        # expect_column_values_to_not_be_null counts the nulls themselves: no missing_count
        what = "non-null values" if "missing_count" in result else "values"
        text = f"{k} of {n} {what} unexpected ({(100.0 * k / n) if n else 0.0:.3g}%)"
        examples = [short(x) for x in (result.get("partial_unexpected_list") or [])[:EXAMPLES]]
        if examples:
            text += "; e.g. " + json.dumps(examples, default=str, ensure_ascii=False)
        return text[:500]
    return None


def meta_key(cfg) -> str:
    """Identity of an expectation across suite and results (GX adds batch_id to result kwargs)."""
    kwargs = {k: v for k, v in cfg.kwargs.items() if k not in ("batch_id", "result_format")}
    return json.dumps([cfg.type, kwargs], sort_keys=True, default=str)



def run_gate(suite: str, df: pd.DataFrame, stage: str, max_quarantine_share: float = 0.2,
             params: dict[str, Any] | None = None) -> GateReport:
    """Validate `df` (whole batch at once) against expectations/<suite>.json and return the decision.

    Values written "$NAME" in a suite file are filled from `params` (default_params() plus yours).
    Row indices in the report are positions in `df` (its index is reset).
    """
    spec, gx_suite = _suite(suite, {**default_params(), **(params or {})})
    df = df.reset_index(drop=True)
    result = gx_context.validate(gx_suite, df, "BASIC", EXAMPLES)
    meta_of = {meta_key(e.configuration): e.meta or {} for e in gx_suite.expectations}

    # second pass, only for row-level expectations that failed: which rows
    redo = [e for e, r in _pair(gx_suite, result) if not r.success and (e.meta or {}).get("quarantine")]
    indices: dict[str, list[int]] = {}
    if redo:
        again = gx_context.validate(_sub_suite(gx_suite, redo), df, "COMPLETE", EXAMPLES)
        for r in again.results:
            res = r.result or {}
            indices[meta_key(r.expectation_config)] = [
                int(i) for i in (res.get("unexpected_index_list") or []) if isinstance(i, int)]

    outcomes = []
    for r in result.results:
        cfg = r.expectation_config
        key = meta_key(cfg)
        meta = meta_of.get(key, cfg.meta or {})
        res = r.result or {}
        error = _exception_message(r.exception_info)
        sev = getattr(cfg.severity, "value", str(cfg.severity)) if getattr(cfg, "severity", None) else "critical"
        kw = cfg.kwargs
        column = kw.get("column") or (",".join(kw["column_list"]) if "column_list" in kw else None) or (
            f"{kw['column_A']},{kw['column_B']}" if "column_A" in kw else None)
        outcomes.append(Outcome(
            expectation=cfg.type, column=column, severity=sev,
            success=bool(r.success) and error is None,
            unexpected_count=int(res.get("unexpected_count") or (0 if r.success and error is None else 1)),
            observed_value=f"error: {error[:300]}" if error is not None else _observed(res, bool(r.success)),
            quarantine=bool(meta.get("quarantine")),
            why=meta.get("why", ""),
            reason=meta.get("reason", "gate.quarantined"),
            unexpected_index=indices.get(key, []),
        ))
    return GateReport(stage=stage, suite=suite, rows=len(df), outcomes=outcomes,
                      max_quarantine_share=max_quarantine_share, gx_result=result)


def _exception_message(info: Any) -> str | None:
    """The message of an exception GX caught while computing an expectation, if any. GX 1.x
    reports {"raised_exception": ..., "exception_message": ...} or one such dict per metric."""
    if not isinstance(info, dict):
        return None
    if info.get("raised_exception"):
        return str(info.get("exception_message") or "exception while computing the expectation")
    for v in info.values():
        msg = _exception_message(v)
        if msg is not None:
            return msg
    return None


def _pair(suite, result):
    by_key = {meta_key(r.expectation_config): r for r in result.results}
    return [(e, by_key[meta_key(e.configuration)]) for e in suite.expectations
            if meta_key(e.configuration) in by_key]


