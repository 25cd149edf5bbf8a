"""What a run reports about itself: counters, time per stage, the `runs` row, the summary
the CLI prints, the Prefect artifacts and the progress bar.

Timing is one helper: `with stats.timed("extract"): ...` adds the block's wall time to
`stage_seconds["extract"]` (thread-safe: the gate-and-stage thread adds too). Stage names are
the keys of `runs.stage_seconds`: scan, extract, transform, gates, stage, dedup, load,
publish, docs.
"""
from __future__ import annotations

import json
import threading
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import datetime
from pathlib import Path

import pyarrow as pa

from transforms import tables as T


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
    # every source_path handed to extract (flows.stream); the load gate's warehouse_run counts
    # those with no row in articles or rejects (paths_unaccounted). Not part of the summary.
    listed_paths: set[str] = field(default_factory=set, repr=False)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    @contextmanager
    def timed(self, stage: str):
        """Add the wall time of the block to stage_seconds[stage]."""
        t = time.perf_counter()
        try:
            yield
        finally:
            seconds = time.perf_counter() - t
            with self._lock:
                self.stage_seconds[stage] = round(self.stage_seconds.get(stage, 0.0) + seconds, 3)

    def count_gate(self, blocking: bool) -> None:
        """One gate report (the stager thread and the main loop both gate)."""
        with self._lock:
            if blocking:
                self.gates_failed += 1
            else:
                self.gates_passed += 1

    def count_quarantined(self, articles: int) -> None:
        with self._lock:
            self.quarantined += articles

    def count_staged(self, articles: int, rejects: pa.Table, removed: int) -> None:
        """Rows of a transformed, gated batch that were staged."""
        with self._lock:
            self.articles_new += articles
            self.rejects_new += rejects.num_rows
            self.removed_lines += removed
            self.rejects_by_reason.update(rejects["reason"].to_pylist())


def run_row(stats: RunStats, started: datetime, source: str, full_refresh: bool, with_tokens: bool,
            status: str, message: str) -> pa.Table:
    """The run's one row of `runs`."""
    from prefect.runtime import flow_run
    row = {
        "run_id": stats.run_id, "flow_run_id": str(flow_run.get_id() or ""), "started_at": started,
        "finished_at": datetime.now(started.tzinfo), "status": status, "message": message,
        "schema_version": T.SCHEMA_VERSION, "rules_version": T.RULES_VERSION, "source": source,
        "full_refresh": full_refresh, "with_tokens": with_tokens,
        "files_read": stats.files_read, "files_skipped": stats.files_skipped,
        "articles_new": stats.articles_new, "articles_replaced": stats.articles_replaced,
        "rejects_new": stats.rejects_new, "removed_lines": stats.removed_lines,
        "duplicates_marked": stats.duplicates_marked, "gates_passed": stats.gates_passed,
        "gates_failed": stats.gates_failed, "stage_seconds": json.dumps(stats.stage_seconds),
    }
    return pa.Table.from_pylist([row], schema=T.RUNS)


_NOT_SUMMARIZED = {"listed_paths"}         # RunStats fields the summary leaves out (one path per file)


def summary(stats: RunStats, root: Path, version: Path, status: str, message: str) -> dict:
    """What the flow returns (and the CLI prints): the counters plus where the results are."""
    d = {f.name: getattr(stats, f.name) for f in fields(stats) if f.name not in _NOT_SUMMARIZED}
    d["rejects_by_reason"] = dict(stats.rejects_by_reason)
    d["stage_seconds"] = dict(stats.stage_seconds)
    d.update(status=status, message=message, warehouse=str(root), version=version.name,
             docs=str(root / "docs" / "index.html"))
    return d


_COUNTS = ("files_read", "files_skipped", "articles_new", "articles_replaced", "rejects_new",
           "quarantined", "removed_lines", "duplicates_marked", "gates_passed", "gates_failed")


def publish_artifacts(summary: dict, audit, docs: Path | None = None) -> None:
    """The run's Prefect artifacts: gate results (a table and a Markdown page) and the run
    summary. Artifacts are a convenience: a failure to create them never fails a run."""
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    summary["gate_warnings"] = audit.warning_lines()
    summary["docs_url"] = docs_url(docs) if docs is not None else None
    gates_md = audit.markdown(docs)
    if docs is not None and summary["docs_url"]:          # browsers block file:// links from the UI
        gates_md = gates_md.replace(docs.as_uri(), summary["docs_url"])
    try:
        create_table_artifact(key="gate-results", table=audit.summary_rows(),
                              description=f"Quality gates of run {summary['run_id']} ({summary['status']})")
        create_markdown_artifact(key="quality-gates", markdown=gates_md,
                                 description="Suites x result, warnings, and where the Data Docs are")
        create_markdown_artifact(key="run-summary", markdown=summary_markdown(summary),
                                 description="Counts per stage, rejects by reason, time per stage")
    except Exception:  # noqa: BLE001 - artifacts are a convenience; never fail a run over them
        pass


def docs_url(index: Path) -> str | None:
    """The http URL of the Data Docs page `index` when a `newsetl ui` serves the Data Docs for
    the Prefect API this run reports to (the Prefect variable `newsetl_docs_url`), else None."""
    try:
        from prefect.variables import Variable

        from flows.ui import DOCS_VARIABLE, docs_url as url_under
        base = Variable.get(DOCS_VARIABLE, default=None)
    except Exception:  # noqa: BLE001 - no API, no variable: the file path stays the link
        return None
    return url_under(index, base) if isinstance(base, str) and base.startswith("http") else None


def summary_markdown(s: dict) -> str:
    lines = [f"# news-etl run `{s['run_id']}`: **{s['status']}**", ""]
    if s["message"]:
        lines += [f"> {s['message']}", ""]
    lines += ["| count | value |", "|---|---|"] + [f"| {k} | {s[k]} |" for k in _COUNTS]
    lines += ["", "| stage | seconds |", "|---|---|"] + [f"| {k} | {v} |" for k, v in s["stage_seconds"].items()]
    if s["rejects_by_reason"]:
        lines += ["", "| reject reason | files |", "|---|---|"]
        lines += [f"| {k} | {v} |" for k, v in sorted(s["rejects_by_reason"].items())]
    lines += ["", f"Warehouse: `{s['warehouse']}` (version `{s['version']}`)",
              f"Parquet tables: `{s['warehouse']}/<table>/` (e.g. `articles/`, `rejects/`), "
              "or `newsetl query \"select ...\"`",
              (f"Data Docs: [{s['docs_url']}]({s['docs_url']})" if s.get("docs_url")
               else f"Data Docs: `{s['docs']}` (over http: `newsetl docs --serve`, or `newsetl ui`)")]
    return "\n".join(lines)


def summary_text(s: dict) -> str:
    """The summary the CLI prints after a completed run."""
    reasons = ", ".join(f"{k}: {v}" for k, v in sorted(s["rejects_by_reason"].items()))
    warnings = s.get("gate_warnings") or []
    return "\n".join([
        f"run {s['run_id']}: {s['status']}",
        f"  files read {s['files_read']}, skipped (unchanged) {s['files_skipped']}",
        f"  articles {s['articles_new']} new, {s['articles_replaced']} replaced; rejects {s['rejects_new']}"
        + (f" ({reasons})" if reasons else ""),
        f"  removed lines {s['removed_lines']}, duplicates marked {s['duplicates_marked']}",
        f"  gates passed {s['gates_passed']}, failed {s['gates_failed']}"
        + (f", {len(warnings)} warning(s)" if warnings else ""),
        *[f"    warning: {w}" for w in warnings[:5]],
        f"  warehouse {s['warehouse']} (query: newsetl query \"select count(*) from articles\")",
        *([f"  data docs {s['docs_url']}"] if s.get("docs_url") else []),
    ])
