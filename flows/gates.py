"""Wiring between the flow and the quality gates: build the frame each suite checks and act on
the decision (block, or quarantine rows to `rejects`). Every report goes to the run's
AuditLog (flows/audit.py), which keeps them for `dq_results` and the Data Docs.

One frame builder per suite; tests build their bad data with the same functions:

    raw_documents                       raw_frame(docs)                 extract, per batch
    clean_articles / _paragraphs / _removed
                                        articles_frame / paragraphs_frame / removed_frame(result)
                                                                        transform, per batch
    warehouse_articles / _paragraphs / _removed / _rejects
                                        warehouse_frames(wh, version)   load, the staged version
    warehouse_run                       run_frame(...)                  load, one row per run

The expectations themselves live in expectations/*.json; the decision rules in
expectations/gate.py.
"""
from __future__ import annotations

import logging
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from expectations.gate import GateReport, Outcome, run_gate
from flows.audit import AuditLog
from transforms.checks import article_checks
from transforms import tables as T
from transforms.pipeline import BatchResult

log = logging.getLogger(__name__)


# -- extract ------------------------------------------------------------------------------

RAW_COLUMNS = ["source_path", "source_sha256", "size_bytes", "reject_reason"]


def raw_frame(docs: pa.Table) -> pd.DataFrame:
    """Grain: one row per file read in the batch (rejected-at-read files included)."""
    return docs.select(RAW_COLUMNS).to_pandas()


def gate_raw(docs: pa.Table, audit: AuditLog, stats=None) -> GateReport:
    return audit.add(run_gate("raw_documents", raw_frame(docs), "extract", max_quarantine_share=1.0), stats)


# -- transform ----------------------------------------------------------------------------

def articles_frame(result: BatchResult, checks: pa.Table | None = None) -> pd.DataFrame:
    """Grain: one row per article of the batch: its id, title, language, date and the features
    of its text in `checks` (transforms.checks.article_checks; the worker that transformed the
    batch computes them, tests let this function do it)."""
    if checks is None:
        checks = article_checks(result)
    frame = checks.to_pandas()
    frame["published_at"] = pd.to_datetime(frame["published_at"], utc=True)
    return frame


def paragraphs_frame(result: BatchResult, drop_ids: pa.Array | None = None) -> pd.DataFrame:
    """Grain: one row per kept paragraph, its text as a length; `positions_contiguous` is its
    article's verdict (positions 0..n-1, each once). Paragraphs of the articles in `drop_ids`
    (quarantined) are left out; the other articles' verdicts do not depend on them."""
    p = result.paragraphs
    per = p.group_by("article_id").aggregate([("position", "count"), ("position", "count_distinct"),
                                              ("position", "min"), ("position", "max")])
    ok = pc.and_(pc.and_(pc.equal(per["position_min"], 0),
                         pc.equal(per["position_count"], pc.add(per["position_max"], 1))),
                 pc.equal(per["position_count"], per["position_count_distinct"]))
    verdict = pc.take(ok, pc.index_in(p["article_id"], per["article_id"]))
    frame = pa.table({"kind": p["kind"], "text_chars": pc.utf8_length(p["text"]), "line_no": p["line_no"],
                      "positions_contiguous": verdict})
    return _without(frame, p["article_id"], drop_ids).to_pandas()


def removed_frame(result: BatchResult, drop_ids: pa.Array | None = None) -> pd.DataFrame:
    """Grain: one row per removed line (lines of the articles in `drop_ids` left out)."""
    r = result.removed
    return _without(r.select(["reason"]), r["article_id"], drop_ids).to_pandas()


def _without(frame: pa.Table, article_ids, drop_ids: pa.Array | None) -> pa.Table:
    """`frame` without the rows whose article id (`article_ids`, aligned with it) is in `drop_ids`."""
    if drop_ids is None or not len(drop_ids):
        return frame
    return frame.filter(pc.invert(pc.is_in(article_ids, drop_ids)))


@dataclass
class TransformVerdict:
    """The transform gate's decision on a buffer of batches: the articles it quarantines (their
    ids, and one rejects row each, stage 'gate') and the failure text when a table-level
    critical expectation blocks."""
    bad_ids: pa.Array = field(default_factory=lambda: pa.array([], pa.string()))
    rejects: pa.Table = field(default_factory=lambda: T.REJECTS.empty_table())
    failure: str | None = None

    def keep(self, table: pa.Table) -> pa.Table:
        """`table` without the rows of quarantined articles (a table without article_id: as it is)."""
        if "article_id" not in table.column_names:
            return table
        return _without(table, table["article_id"], self.bad_ids)


def judge_transform(result: BatchResult, audit: AuditLog, stats,
                    checks: pa.Table | None = None) -> TransformVerdict:
    """Gate transformed rows without changing them (`checks`: their article checks, see
    articles_frame): clean_articles on the articles; clean_paragraphs and clean_removed on the
    rows of the articles it did not quarantine. The caller drops the quarantined articles' rows
    (TransformVerdict.keep) table by table, so no second copy of every table is made here."""
    if result.articles.num_rows == 0:
        return TransformVerdict()
    rep = audit.add(run_gate("clean_articles", articles_frame(result, checks), "transform",
                             max_quarantine_share=1.0), stats)
    failures = [rep.summary()] if rep.blocking else []
    verdict = _quarantine(result.articles, rep.quarantined, stats) if rep.quarantined else TransformVerdict()
    for suite, frame in (("clean_paragraphs", paragraphs_frame(result, verdict.bad_ids)),
                         ("clean_removed", removed_frame(result, verdict.bad_ids))):
        if len(frame):
            r = audit.add(run_gate(suite, frame, "transform", max_quarantine_share=1.0), stats)
            if r.blocking:
                failures.append(r.summary())
    verdict.failure = " ".join(failures) or None
    return verdict


def _quarantine(arts: pa.Table, quarantined: dict[int, Outcome], stats) -> TransformVerdict:
    idx = sorted(quarantined)
    bad_ids = pa.array([arts["article_id"][i].as_py() for i in idx], pa.string())
    now = datetime.now(timezone.utc)
    rows = []
    for i in idx:
        o = quarantined[i]
        rows.append({"source_path": arts["source_path"][i].as_py(), "source_sha256": arts["source_sha256"][i].as_py(),
                     "size_bytes": None, "stage": "gate", "reason": o.reason,
                     "detail": f"{o.label} failed: {o.why}", "run_id": arts["run_id"][i].as_py(),
                     "rejected_at": now})
    stats.count_quarantined(len(rows))
    return TransformVerdict(bad_ids, pa.Table.from_pylist(rows, schema=T.REJECTS))


# -- load ---------------------------------------------------------------------------------

@contextmanager
def _connection(wh, version: Path, con=None):
    """`con` when given (the caller closes it), else a new connection to `version`, closed after."""
    if con is not None:
        yield con
        return
    con = wh.connect(base=version)
    try:
        yield con
    finally:
        con.close()


def warehouse_frames(wh, version: Path, con=None) -> dict[str, pd.DataFrame]:
    """The staged version read back through DuckDB: one frame per load suite (text columns as
    lengths or left out, so a large warehouse stays cheap to check)."""
    with _connection(wh, version, con) as con:
        articles = con.execute("""
            SELECT a.* REPLACE (NULL::VARCHAR AS body, NULL::VARCHAR AS lede),
                   (a.duplicate_of IS NULL OR (a.duplicate_of <> a.article_id AND t.article_id IS NOT NULL
                                               AND t.duplicate_of IS NULL)) AS duplicate_of_ok,
                   coalesce(p.n = p.maxpos + 1 AND p.minpos = 0 AND p.n = p.npos, true) AS positions_ok
            FROM articles a
            LEFT JOIN articles t ON t.article_id = a.duplicate_of
            LEFT JOIN (SELECT article_id, count(*) AS n, count(DISTINCT position) AS npos,
                              max(position) AS maxpos, min(position) AS minpos
                       FROM paragraphs GROUP BY 1) p ON p.article_id = a.article_id
        """).df()
        paragraphs = con.execute("""
            SELECT p.kind, p.line_no, length(p.text) AS text_chars,
                   p.article_id IN (SELECT article_id FROM articles) AS has_article
            FROM paragraphs p
        """).df()
        removed = con.execute("SELECT reason FROM removed").df()
        rejects = con.execute("SELECT reason, stage FROM rejects").df()
    return {"warehouse_articles": articles, "warehouse_paragraphs": paragraphs,
            "warehouse_removed": removed, "warehouse_rejects": rejects}


def schema_mismatches(wh, version: Path) -> str:
    """'' when every Parquet file of every table has its declared schema, else the differences."""
    from flows.warehouse import file_schema
    diffs = []
    for table in T.ALL_TABLES:
        want = file_schema(table)
        for f in wh.table_files(table, version):
            got = pq.read_schema(f)
            if not got.remove_metadata().equals(want.remove_metadata()):
                have = {x.name: str(x.type) for x in got}
                need = {x.name: str(x.type) for x in want}
                # wrong types first, then missing and undeclared columns
                bad = sorted((k not in have, k not in need, f"{k}: {have.get(k, 'missing')} (declared "
                              f"{need.get(k, 'none')})") for k in need.keys() | have.keys() if have.get(k) != need.get(k))
                bad = [b[2] for b in bad]
                diffs.append(f"{table}/{f.name}: " + ", ".join(bad or ["column order"]))
    return "; ".join(diffs)


def run_frame(wh, version: Path, stats, full_refresh: bool, con=None) -> pd.DataFrame:
    """Grain: one row, this run's reconciliation of files and rows against the current version."""
    before_a = 0 if full_refresh or wh.current is None else wh.row_count("articles")
    before_r = 0 if full_refresh or wh.current is None else wh.row_count("rejects")
    with _connection(wh, version, con) as con:
        published_a = con.execute("SELECT count(*) FROM articles").fetchone()[0]
        published_r = con.execute("SELECT count(*) FROM rejects").fetchone()[0]
        # by path: every file this run extracted (RunStats.listed_paths) has its row in articles
        # or rejects (a file that vanished or changed during the run is a reject row, never
        # nothing); the tests' stand-ins for RunStats without listed paths skip this check
        listed = set(getattr(stats, "listed_paths", ()))
        if listed:
            for table in ("articles", "rejects"):
                found = con.execute(f"SELECT DISTINCT source_path FROM {table}").fetchall()
                listed.difference_update(p for (p,) in found)
        unaccounted = len(listed)
        orphans = con.execute("""
            SELECT (SELECT count(*) FROM paragraphs WHERE article_id NOT IN (SELECT article_id FROM articles))
                 + (SELECT count(*) FROM removed WHERE article_id NOT IN (SELECT article_id FROM articles))
                 + (SELECT count(*) FROM dedup_signatures WHERE article_id NOT IN (SELECT article_id FROM articles))
                 + (SELECT count(*) FROM duplicate_clusters WHERE article_id NOT IN (SELECT article_id FROM articles))
        """).fetchone()[0]
    return pd.DataFrame([{
        "files_read": stats.files_read,
        "files_accounted": stats.articles_new + stats.rejects_new + stats.files_skipped,
        "articles_expected": before_a - stats.articles_replaced + stats.articles_new,
        "articles_published": published_a,
        "rejects_expected": before_r - stats.rejects_replaced + stats.rejects_new,
        "rejects_published": published_r,
        "orphan_rows": orphans,
        "paths_unaccounted": unaccounted,
        "schema_mismatches": schema_mismatches(wh, version),
    }])


def gate_warehouse(wh, version: Path, stats, audit: AuditLog, full_refresh: bool,
                   data_changed: bool = True) -> list[GateReport]:
    """Read the staged version back and gate it before it is published (every load suite runs,
    empty tables included, so dq_results always holds every expectation). When this run
    changes no data table (nothing new, replaced or re-marked: the tables are the files of the
    current version, which passed these suites when it was published), only warehouse_run
    reconciles the counts."""
    reports = []
    with _connection(wh, version) as con:           # one connection: its views read every footer once
        if data_changed:
            reports = [audit.add(run_gate(suite, frame, "load"), stats)
                       for suite, frame in warehouse_frames(wh, version, con).items()]
        else:
            log.info("load gate: no data table changed since version %s; only warehouse_run runs",
                     wh.current.name if wh.current else "-")
        run = run_frame(wh, version, stats, full_refresh, con)
    reports.append(audit.add(run_gate("warehouse_run", run, "load"), stats))
    return reports

