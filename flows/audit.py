"""The record of one run's quality gates: every GateReport in the order the gates ran.

It becomes the run's `dq_results` rows (one per expectation and validation), the gate table
and page of the Prefect artifacts, the warning lines of the CLI summary, and the run's pages
in the GX Data Docs. It only records: the gates themselves run in flows/gates.py.
"""
from __future__ import annotations

import logging
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa

from expectations.data_docs import build_data_docs
from expectations.gate import GateReport, Outcome
from transforms import tables as T

log = logging.getLogger(__name__)


class AuditLog:
    """Every gate report of one run, in order."""

    def __init__(self, run_id: str, started: datetime | None = None):
        self.run_id = run_id
        self.started = started or datetime.now(timezone.utc)
        self.reports: list[GateReport] = []

    def add(self, report: GateReport, stats=None) -> GateReport:
        self.reports.append(report)
        if stats is not None:
            stats.count_gate(report.blocking)
        return report

    def table(self) -> pa.Table:
        if not self.reports:
            return T.DQ_RESULTS.empty_table()
        return pa.concat_tables([r.dq_table(self.run_id) for r in self.reports])

    @property
    def warnings(self) -> list[tuple[str, Outcome]]:
        """(suite, outcome) of every failed warning/info expectation, once per expectation."""
        seen: dict[tuple[str, str], tuple[str, Outcome]] = {}
        for r in self.reports:
            for o in r.warnings:
                seen.setdefault((r.suite, o.label), (r.suite, o))
        return list(seen.values())

    def summary_rows(self) -> list[dict]:
        """One row per (stage, suite): validations, failed expectations, quarantined rows."""
        rows: dict[tuple[str, str], dict] = {}
        for r in self.reports:
            row = rows.setdefault((r.stage, r.suite), {"stage": r.stage, "suite": r.suite, "validations": 0,
                                                      "result": "passed", "failed_expectations": 0,
                                                      "quarantined_rows": 0, "warnings": 0})
            row["validations"] += 1
            row["failed_expectations"] += len(r.blocking_outcomes)
            row["quarantined_rows"] += len(r.quarantined)
            row["warnings"] += len(r.warnings)
            if r.blocking:
                row["result"] = "FAILED"
        return list(rows.values())

    def warning_lines(self) -> list[str]:
        """One line per failed warning/info expectation of the run (shown, never blocking)."""
        return [f"{s}: {o.label} ({o.severity}): {o.observed_value or 'failed'}" for s, o in self.warnings]

    def markdown(self, docs: Path | None) -> str:
        """The gate summary of a run for a Prefect artifact: suites x result, warnings, Data Docs."""
        lines = [f"# Quality gates of run `{self.run_id}`", "",
                 "| stage | suite | validations | result | failed critical | quarantined rows | warnings |",
                 "|---|---|---|---|---|---|---|"]
        for r in self.summary_rows():
            lines.append(f"| {r['stage']} | {r['suite']} | {r['validations']} | **{r['result']}** | "
                         f"{r['failed_expectations']} | {r['quarantined_rows']} | {r['warnings']} |")
        blocking = [r.summary() for r in self.reports if r.blocking]
        if blocking:
            lines += ["", "## Blocking", ""] + [f"- {b}" for b in blocking]
        if self.warnings:
            lines += ["", "## Warnings (not blocking)", ""] + [f"- {w}" for w in self.warning_lines()]
        lines += ["", f"Data Docs: [{docs}]({docs.as_uri()})" if docs else "Data Docs: not built (see the flow logs)",
                  "", f"Every result: `newsetl query \"select * from dq_results where run_id = '{self.run_id}'\"`"]
        return "\n".join(lines)

    def build_docs(self, docs_dir: Path) -> Path | None:
        """Render this run's results into the GX Data Docs site; None (and a log line) if that fails.
        Docs are a view of dq_results, so a rendering problem never fails a run."""
        if not self.reports:
            return None
        try:
            return build_data_docs(docs_dir, self.run_id, self.started, self.reports)
        except Exception as e:  # noqa: BLE001
            log.warning("could not build Data Docs in %s: %s", docs_dir, e)
            return None
