"""Wiring between the flow and the quality gates: build the frame each suite checks, act on
the decision (block, or quarantine rows to `rejects`), and keep every result for `dq_results`.

The expectations themselves live in expectations/*.json; the decision rules in
expectations/gate.py.
"""
from __future__ import annotations

import unicodedata
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from expectations.gate import GateReport, run_gate
from expectations.gate import warm_up as _warm_up
from transforms import tables as T
from transforms.pipeline import BatchResult


def warm_up() -> None:
    try:
        _warm_up()
    except Exception:  # noqa: BLE001 - the real gate call reports any problem
        pass


class AuditLog:
    """Every gate report of one run, in order."""

    def __init__(self, run_id: str):
        self.run_id = run_id
        self.reports: list[GateReport] = []

    def add(self, report: GateReport, stats=None) -> GateReport:
        self.reports.append(report)
        if stats is not None:
            if report.blocking:
                stats.gates_failed += 1
            else:
                stats.gates_passed += 1
        return report

    def table(self) -> pa.Table:
        if not self.reports:
            return T.DQ_RESULTS.empty_table()
        return pa.concat_tables([r.dq_table(self.run_id) for r in self.reports])

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


def gate_raw(docs: pa.Table, audit: AuditLog, stats=None) -> GateReport:
    df = docs.select(["source_path", "source_sha256", "size_bytes", "reject_reason"]).to_pandas()
    return audit.add(run_gate("raw_documents", df, "extract", max_quarantine_share=1.0), stats)


def _is_nfc(values: list[str | None]) -> list[bool]:
    return [v is None or unicodedata.is_normalized("NFC", v) for v in values]


def articles_frame(result: BatchResult) -> pd.DataFrame:
    a = result.articles
    paras = result.paragraphs
    captions: dict[str, list[str]] = {}
    for aid, kind, text in zip(paras["article_id"].to_pylist(), paras["kind"].to_pylist(),
                               paras["text"].to_pylist()):
        if kind == "caption":
            captions.setdefault(aid, []).append(text)
    ids = a["article_id"].to_pylist()
    titles, ledes, bodies = a["title"].to_pylist(), a["lede"].to_pylist(), a["body"].to_pylist()
    body_lines = ["\n".join(x for x in (l, (b or "").replace("\n\n", "\n")) if x) for l, b in zip(ledes, bodies)]
    all_text = ["\n".join(x for x in (t, bl, "\n".join(captions.get(i, []))) if x)
                for i, t, bl in zip(ids, titles, body_lines)]
    published = pd.to_datetime(pc.cast(a["published_at"], pa.timestamp("us", tz="UTC")).to_pandas(), utc=True)
    accounted = [(1 if t is not None else 0) + n + r + b == lc for t, n, r, b, lc in zip(
        titles, a["n_paragraphs"].to_pylist(), a["removed_count"].to_pylist(),
        a["blank_line_count"].to_pylist(), a["line_count"].to_pylist())]
    return pd.DataFrame({
        "article_id": ids, "title": titles, "language": a["language"].to_pylist(),
        "published_at": published,
        "text_chars": [len(l or "") + len(b or "") for l, b in zip(ledes, bodies)],
        "text_is_nfc": _is_nfc(all_text), "all_text": all_text, "body_lines": body_lines,
        "lines_accounted": accounted,
    })


def paragraphs_frame(result: BatchResult) -> pd.DataFrame:
    p = result.paragraphs
    ids = p["article_id"].to_pylist()
    pos = p["position"].to_pylist()
    seen: dict[str, list[int]] = {}
    for i, q in zip(ids, pos):
        seen.setdefault(i, []).append(q)
    ok = {i: sorted(v) == list(range(len(v))) for i, v in seen.items()}
    return pd.DataFrame({"kind": p["kind"].to_pylist(), "text": p["text"].to_pylist(),
                         "line_no": p["line_no"].to_pylist(), "positions_contiguous": [ok[i] for i in ids]})


def gate_transform(result: BatchResult, audit: AuditLog, stats) -> tuple[BatchResult, str | None]:
    """Gate one transformed batch. Quarantined articles move to rejects; returns a failure text
    when a table-level critical expectation failed."""
    if result.articles.num_rows == 0:
        return result, None
    rep = audit.add(run_gate("clean_articles", articles_frame(result), "transform", max_quarantine_share=1.0), stats)
    failures = [r.summary() for r in (rep,) if r.blocking]
    quarantined = rep.quarantined
    if quarantined:
        result = _quarantine(result, quarantined, rep, stats)
    for suite, frame in (("clean_paragraphs", paragraphs_frame(result)),
                         ("clean_removed", result.removed.select(["reason"]).to_pandas())):
        if len(frame):
            r = audit.add(run_gate(suite, frame, "transform", max_quarantine_share=1.0), stats)
            if r.blocking:
                failures.append(r.summary())
    return result, (" ".join(failures) or None)


def _quarantine(result: BatchResult, quarantined: dict[int, str], rep: GateReport, stats) -> BatchResult:
    arts = result.articles
    idx = sorted(quarantined)
    bad_ids = pa.array([arts["article_id"][i].as_py() for i in idx], pa.string())
    why = {o.expectation + (f"({o.column})" if o.column else ""): o.why for o in rep.outcomes}
    now = datetime.now(timezone.utc)
    rows = []
    for i in idx:
        exp = quarantined[i]
        rows.append({"source_path": arts["source_path"][i].as_py(), "source_sha256": arts["source_sha256"][i].as_py(),
                     "size_bytes": None, "stage": "gate", "reason": "gate." + exp.split("(")[0],
                     "detail": f"{exp}: {why.get(exp, '')}", "run_id": arts["run_id"][i].as_py(), "rejected_at": now})
    stats.quarantined += len(rows)

    def keep(t: pa.Table) -> pa.Table:
        return t.filter(pc.invert(pc.is_in(t["article_id"], bad_ids)))
    return BatchResult(articles=keep(arts), paragraphs=keep(result.paragraphs), removed=keep(result.removed),
                       rejects=pa.concat_tables([result.rejects, pa.Table.from_pylist(rows, schema=T.REJECTS)]),
                       signatures=keep(result.signatures))


def gate_warehouse(wh, version: Path, stats, audit: AuditLog, full_refresh: bool) -> list[GateReport]:
    """Read the staged version back through DuckDB and gate it before it is published."""
    con = wh.connect(base=version)
    articles = con.execute("""
        SELECT a.* REPLACE (NULL::VARCHAR AS body, NULL::VARCHAR AS lede),
               (a.duplicate_of IS NULL OR (a.duplicate_of <> a.article_id AND t.article_id IS NOT NULL
                                           AND t.duplicate_of IS NULL)) AS duplicate_of_ok,
               coalesce(p.n = p.maxpos + 1 AND p.minpos = 0, true) AS positions_ok
        FROM articles a
        LEFT JOIN articles t ON t.article_id = a.duplicate_of
        LEFT JOIN (SELECT article_id, count(*) AS n, max(position) AS maxpos, min(position) AS minpos
                   FROM paragraphs GROUP BY 1) p ON p.article_id = a.article_id
    """).df()
    frame = articles.drop(columns=["duplicate_of_ok", "positions_ok"])
    reports = [audit.add(run_gate("warehouse_articles", frame.assign(
        duplicate_of_ok=articles["duplicate_of_ok"], positions_ok=articles["positions_ok"]),
        "load"), stats)] if len(articles) else []
    # reconciliation against the version that is current now
    before_a = 0 if full_refresh or wh.current is None else wh.row_count("articles")
    before_r = 0 if full_refresh or wh.current is None else wh.row_count("rejects")
    replaced_r = stats.rejects_replaced if hasattr(stats, "rejects_replaced") else 0
    published_a = con.execute("SELECT count(*) FROM articles").fetchone()[0]
    published_r = con.execute("SELECT count(*) FROM rejects").fetchone()[0]
    orphans = con.execute("""
        SELECT (SELECT count(*) FROM paragraphs WHERE article_id NOT IN (SELECT article_id FROM articles))
             + (SELECT count(*) FROM removed WHERE article_id NOT IN (SELECT article_id FROM articles))
             + (SELECT count(*) FROM dedup_signatures WHERE article_id NOT IN (SELECT article_id FROM articles))
             + (SELECT count(*) FROM duplicate_clusters WHERE article_id NOT IN (SELECT article_id FROM articles))
    """).fetchone()[0]
    con.close()
    run = pd.DataFrame([{
        "files_read": stats.files_read,
        "files_accounted": stats.articles_new + stats.rejects_new + stats.files_skipped,
        "articles_expected": before_a - stats.articles_replaced + stats.articles_new,
        "articles_published": published_a,
        "rejects_expected": before_r - replaced_r + stats.rejects_new,
        "rejects_published": published_r,
        "orphan_rows": orphans,
    }])
    reports.append(audit.add(run_gate("warehouse_run", run, "load"), stats))
    return reports
