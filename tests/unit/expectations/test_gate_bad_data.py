"""Crafted bad data for every critical expectation of every suite: the frames are built by the
same functions the flow uses (flows/gates.py), from a real transformed batch of the seeds that
is then damaged in one place. Each case asserts that exactly the intended expectation fails and
what the gate decides: block the stage, or quarantine the row with its reason code."""
from __future__ import annotations

import unicodedata
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from expectations.gate import run_gate
from flows import gates
from flows.audit import AuditLog
from flows.run_report import RunStats
from flows.sources import read_entries, scan_source
from flows.warehouse import Changes, Warehouse
from transforms import tables as T
from transforms.pipeline import BatchConfig, BatchResult, transform_batch

SEEDS = Path(__file__).resolve().parents[3] / "seeds"


@pytest.fixture(scope="module")
def docs() -> pa.Table:
    return read_entries(list(scan_source(SEEDS)))


@pytest.fixture(scope="module")
def batch(docs) -> BatchResult:
    result = transform_batch(docs, BatchConfig(run_id="test", with_tokens=False))
    assert result.articles.num_rows == 5 and result.rejects.num_rows == 0
    return result


def setcol(t: pa.Table, name: str, row: int, value) -> pa.Table:
    values = t[name].to_pylist()
    values[row] = value
    return t.set_column(t.schema.get_field_index(name), name, pa.array(values, t.schema.field(name).type))


def replace(result: BatchResult, **tables) -> BatchResult:
    return BatchResult(**{**result.__dict__, **tables})


def outcome(report, expectation: str, column: str):
    found = [o for o in report.outcomes if o.expectation == expectation and o.column == column]
    assert len(found) == 1, [(o.expectation, o.column) for o in report.outcomes]
    return found[0]


def only_failure(report, expectation: str, column: str):
    o = outcome(report, expectation, column)
    assert not o.success, o
    others = [(x.expectation, x.column) for x in report.outcomes if not x.success and x is not o]
    assert others == [], others
    return o


def test_the_untouched_batch_passes_every_transform_suite(batch):
    for suite, frame in (("clean_articles", gates.articles_frame(batch)),
                         ("clean_paragraphs", gates.paragraphs_frame(batch)),
                         ("clean_removed", gates.removed_frame(batch))):
        rep = run_gate(suite, frame, "transform")
        assert [o for o in rep.outcomes if not o.success and o.severity == "critical"] == [], suite
        assert not rep.blocking and rep.quarantined == {}


# -- raw_documents (extract) ------------------------------------------------------------------

RAW_BLOCKING = [
    ("expect_column_values_to_not_be_null", "source_path", lambda d: setcol(d, "source_path", 0, None)),
    ("expect_column_values_to_be_unique", "source_path",
     lambda d: setcol(d, "source_path", 1, d["source_path"][0].as_py())),
    ("expect_column_values_to_match_regex", "source_sha256", lambda d: setcol(d, "source_sha256", 2, "ABC")),
    ("expect_column_values_to_be_between", "size_bytes", lambda d: setcol(d, "size_bytes", 3, -5)),
    ("expect_column_values_to_be_in_set", "reject_reason",
     lambda d: setcol(d, "reject_reason", 4, "clean.no_article")),      # not an extract reason
]


@pytest.mark.parametrize("expectation,column,damage", RAW_BLOCKING, ids=[c[1] + "-" + c[0] for c in RAW_BLOCKING])
def test_raw_documents_blocks(docs, expectation, column, damage):
    rep = run_gate("raw_documents", gates.raw_frame(damage(docs)), "extract")
    only_failure(rep, expectation, column)
    assert rep.blocking and expectation in rep.summary()


def test_raw_documents_warns_when_most_files_are_unreadable(docs):
    d = docs
    for i in range(4):
        d = setcol(d, "reject_reason", i, "extract.binary")
    rep = run_gate("raw_documents", gates.raw_frame(d), "extract")
    o = only_failure(rep, "expect_column_values_to_be_null", "reject_reason")
    assert o.severity == "warning" and not rep.blocking and rep.warnings == [o]


# -- clean_articles (transform) ---------------------------------------------------------------

def _arts(batch, column, row, value):
    return replace(batch, articles=setcol(batch.articles, column, row, value))


ARTICLE_BLOCKING = [
    ("expect_column_values_to_not_be_null", "article_id", lambda b: _arts(b, "article_id", 0, None)),
    ("expect_column_values_to_be_unique", "article_id",
     lambda b: _arts(b, "article_id", 1, b.articles["article_id"][0].as_py())),
    ("expect_column_values_to_be_in_set", "lines_accounted",
     lambda b: _arts(b, "line_count", 2, b.articles["line_count"][2].as_py() + 1)),
]


@pytest.mark.parametrize("expectation,column,damage", ARTICLE_BLOCKING, ids=[c[1] for c in ARTICLE_BLOCKING])
def test_clean_articles_blocks(batch, expectation, column, damage):
    rep = run_gate("clean_articles", gates.articles_frame(damage(batch)), "transform", max_quarantine_share=1.0)
    only_failure(rep, expectation, column)
    assert rep.blocking


def _body(b, row, body):
    return replace(b, articles=setcol(setcol(b.articles, "body", row, body), "lede", row, None))


FUTURE = datetime.now(timezone.utc) + timedelta(days=3)
ARTICLE_QUARANTINE = [
    ("expect_column_values_to_be_between", "text_chars", "gate.too_short", lambda b: _body(b, 2, "Ngắn quá.")),
    ("expect_column_values_to_be_in_set", "text_is_nfc", "gate.not_nfc",
     lambda b: _arts(b, "body", 2, unicodedata.normalize("NFD", b.articles["body"][2].as_py()))),
    ("expect_column_values_to_not_match_regex", "unusual_chars", "gate.bad_characters",
     lambda b: _arts(b, "body", 2, b.articles["body"][2].as_py().replace(" ", "\u200b", 1))),
    ("expect_column_values_to_not_match_regex", "short_lines", "gate.boilerplate_left",
     lambda b: _arts(b, "body", 2, b.articles["body"][2].as_py() + "\n\n- Có thể bạn quan tâm:")),
    ("expect_column_values_to_be_between", "published_at", "gate.date_out_of_range",
     lambda b: _arts(b, "published_at", 2, datetime(1985, 6, 1, tzinfo=timezone.utc))),
    ("expect_column_values_to_be_between", "published_at", "gate.date_out_of_range",
     lambda b: _arts(b, "published_at", 2, FUTURE)),
    ("expect_column_values_to_be_in_set", "language", "gate.not_vietnamese", lambda b: _arts(b, "language", 2, "en")),
]


@pytest.mark.parametrize("expectation,column,reason,damage", ARTICLE_QUARANTINE,
                         ids=[c[2] + "-" + c[1] for c in ARTICLE_QUARANTINE])
def test_clean_articles_quarantines_the_bad_row(batch, expectation, column, reason, damage):
    rep = run_gate("clean_articles", gates.articles_frame(damage(batch)), "transform", max_quarantine_share=1.0)
    o = only_failure(rep, expectation, column)
    assert o.unexpected_count == 1 and o.reason == reason
    assert set(rep.quarantined) == {2} and not rep.blocking
    # more quarantined rows than the allowed share blocks the stage
    assert run_gate("clean_articles", gates.articles_frame(damage(batch)), "transform",
                    max_quarantine_share=0.1).blocking


def test_transform_gate_moves_quarantined_article_to_rejects(batch):
    """The flow's path: judge_transform decides, TransformVerdict.keep drops the quarantined
    article's rows table by table (flows/stream.stage_task), its rejects row is added."""
    bad = _body(batch, 2, "Ngắn quá.")
    aid = bad.articles["article_id"][2].as_py()
    stats = RunStats(run_id="test")
    verdict = gates.judge_transform(bad, AuditLog("test"), stats)
    assert verdict.failure is None and stats.quarantined == 1 and stats.gates_failed == 0
    assert stats.gates_passed == 3          # clean_articles, clean_paragraphs, clean_removed
    kept = {name: verdict.keep(getattr(bad, name)) for name in ("articles", "paragraphs", "removed", "signatures")}
    assert aid not in kept["articles"]["article_id"].to_pylist()
    assert aid not in kept["paragraphs"]["article_id"].to_pylist() + kept["removed"]["article_id"].to_pylist()
    assert aid not in kept["signatures"]["article_id"].to_pylist()
    rej = verdict.rejects.to_pylist()
    assert [(r["source_path"], r["stage"], r["reason"]) for r in rej] == [
        (bad.articles["source_path"][2].as_py(), "gate", "gate.too_short")]
    assert "text_chars" in rej[0]["detail"]
    # every input row is in articles or rejects
    assert kept["articles"].num_rows + verdict.rejects.num_rows == batch.articles.num_rows


# -- clean_paragraphs, clean_removed (transform) ----------------------------------------------

def _paras(b, column, row, value):
    return replace(b, paragraphs=setcol(b.paragraphs, column, row, value))


PARA_BLOCKING = [
    ("expect_column_values_to_be_in_set", "kind", lambda b: _paras(b, "kind", 3, "footer")),
    ("expect_column_values_to_be_between", "text_chars", lambda b: _paras(b, "text", 3, "")),
    ("expect_column_values_to_be_between", "line_no", lambda b: _paras(b, "line_no", 3, 0)),
    ("expect_column_values_to_be_in_set", "positions_contiguous",
     lambda b: _paras(b, "position", 3, b.paragraphs["position"][3].as_py() + 7)),
]


@pytest.mark.parametrize("expectation,column,damage", PARA_BLOCKING, ids=[c[1] for c in PARA_BLOCKING])
def test_clean_paragraphs_blocks(batch, expectation, column, damage):
    rep = run_gate("clean_paragraphs", gates.paragraphs_frame(damage(batch)), "transform")
    only_failure(rep, expectation, column)
    assert rep.blocking


@pytest.mark.parametrize("value,expectation", [(None, "expect_column_values_to_not_be_null"),
                                               ("boilerplate.made_up", "expect_column_values_to_be_in_set")])
def test_clean_removed_blocks(batch, value, expectation):
    bad = replace(batch, removed=setcol(batch.removed, "reason", 0, value))
    rep = run_gate("clean_removed", gates.removed_frame(bad), "transform")
    only_failure(rep, expectation, "reason")
    assert rep.blocking


# -- load: the staged warehouse read back from Parquet ----------------------------------------

def stage(tmp_path: Path, tables: dict[str, pa.Table]) -> tuple[Warehouse, Path]:
    wh = Warehouse(tmp_path / "wh")
    wh.ensure_layout()
    staging = wh.begin("test")
    for name, t in tables.items():
        staging.add(name, t)
    return wh, staging.build(Changes())


def tables_of(b: BatchResult, **over) -> dict[str, pa.Table]:
    return {"articles": b.articles, "paragraphs": b.paragraphs, "removed": b.removed, "rejects": b.rejects,
            "dedup_signatures": b.signatures, **over}


def load_reports(wh, version) -> dict:
    return {s: run_gate(s, f, "load") for s, f in gates.warehouse_frames(wh, version).items()}


def test_the_untouched_warehouse_passes_every_load_suite(tmp_path, batch):
    wh, version = stage(tmp_path, tables_of(batch))
    for suite, rep in load_reports(wh, version).items():
        assert not [o for o in rep.outcomes if not o.success], suite
    stats = SimpleNamespace(files_read=5, articles_new=5, rejects_new=0, files_skipped=0, articles_replaced=0,
                            rejects_replaced=0)
    assert not run_gate("warehouse_run", gates.run_frame(wh, version, stats, False), "load").blocking


def _dup(t: pa.Table, row: int, **values) -> pa.Table:
    extra = t.slice(row, 1)
    for k, v in values.items():
        extra = setcol(extra, k, 0, v)
    return pa.concat_tables([t, extra])


def _a(b):
    return b.articles


WAREHOUSE_BLOCKING = [
    ("warehouse_articles", "expect_column_values_to_not_be_null", "article_id",
     lambda b: tables_of(b, articles=setcol(_a(b), "article_id", 0, None),
                         paragraphs=b.paragraphs.filter(pa.compute.not_equal(b.paragraphs["article_id"],
                                                                             _a(b)["article_id"][0])))),
    ("warehouse_articles", "expect_column_values_to_be_unique", "article_id",
     lambda b: tables_of(b, articles=_dup(_a(b), 0, source_path="other.txt"))),
    ("warehouse_articles", "expect_column_values_to_be_unique", "source_path",
     lambda b: tables_of(b, articles=_dup(_a(b), 0, article_id="ffffffffffffffff"))),
    ("warehouse_articles", "expect_column_values_to_be_in_set", "duplicate_of_ok",
     lambda b: tables_of(b, articles=setcol(_a(b), "duplicate_of", 0, _a(b)["article_id"][0].as_py()))),
    ("warehouse_articles", "expect_column_values_to_be_in_set", "duplicate_of_ok",
     lambda b: tables_of(b, articles=setcol(_a(b), "duplicate_of", 0, "0000000000000000"))),
    ("warehouse_articles", "expect_column_values_to_be_in_set", "duplicate_of_ok",       # a chain a -> b -> c
     lambda b: tables_of(b, articles=setcol(setcol(_a(b), "duplicate_of", 0, _a(b)["article_id"][1].as_py()),
                                            "duplicate_of", 1, _a(b)["article_id"][2].as_py()))),
    ("warehouse_articles", "expect_column_values_to_be_in_set", "positions_ok",
     lambda b: tables_of(b, paragraphs=setcol(b.paragraphs, "position", 0, 1))),   # position 1 twice
    ("warehouse_articles", "expect_column_values_to_be_in_set", "language",
     lambda b: tables_of(b, articles=setcol(_a(b), "language", 0, "en"))),
    ("warehouse_paragraphs", "expect_column_values_to_be_in_set", "has_article",
     lambda b: tables_of(b, paragraphs=_dup(b.paragraphs, 0, article_id="0000000000000000"))),
    ("warehouse_paragraphs", "expect_column_values_to_be_in_set", "kind",
     lambda b: tables_of(b, paragraphs=setcol(b.paragraphs, "kind", 0, "footer"))),
    ("warehouse_paragraphs", "expect_column_values_to_be_between", "text_chars",
     lambda b: tables_of(b, paragraphs=setcol(b.paragraphs, "text", 0, ""))),
    ("warehouse_paragraphs", "expect_column_values_to_be_between", "line_no",
     lambda b: tables_of(b, paragraphs=setcol(b.paragraphs, "line_no", 0, 0))),
    ("warehouse_removed", "expect_column_values_to_not_be_null", "reason",
     lambda b: tables_of(b, removed=setcol(b.removed, "reason", 0, None))),
    ("warehouse_removed", "expect_column_values_to_be_in_set", "reason",
     lambda b: tables_of(b, removed=setcol(b.removed, "reason", 0, "boilerplate.made_up"))),
]


def _rejects(reason, stage="extract"):
    return pa.Table.from_pylist([{"source_path": "x.bin", "source_sha256": "0" * 64, "size_bytes": 3,
                                  "stage": stage, "reason": reason, "detail": "", "run_id": "test",
                                  "rejected_at": datetime.now(timezone.utc)}], schema=T.REJECTS)


WAREHOUSE_BLOCKING += [
    ("warehouse_rejects", "expect_column_values_to_not_be_null", "reason",
     lambda b: tables_of(b, rejects=_rejects(None))),
    ("warehouse_rejects", "expect_column_values_to_be_in_set", "reason",
     lambda b: tables_of(b, rejects=_rejects("gate.made_up"))),
    ("warehouse_rejects", "expect_column_values_to_be_in_set", "stage",
     lambda b: tables_of(b, rejects=_rejects("extract.binary", stage="load"))),
]


@pytest.mark.parametrize("suite,expectation,column,damage", WAREHOUSE_BLOCKING,
                         ids=[f"{c[0]}-{c[2]}-{i}" for i, c in enumerate(WAREHOUSE_BLOCKING)])
def test_load_suites_block(tmp_path, batch, suite, expectation, column, damage):
    wh, version = stage(tmp_path, damage(batch))
    reports = load_reports(wh, version)
    only_failure(reports[suite], expectation, column)
    assert reports[suite].blocking


def test_load_columns_are_checked_against_the_declared_schema(tmp_path, batch):
    wh, version = stage(tmp_path, tables_of(batch))
    frame = gates.warehouse_frames(wh, version)["warehouse_articles"].assign(extra_column=1)
    rep = run_gate("warehouse_articles", frame, "load")
    o = only_failure(rep, "expect_table_columns_to_match_set", None)
    assert "extra_column" in o.observed_value and rep.blocking


STATS = dict(files_read=5, articles_new=5, rejects_new=0, files_skipped=0, articles_replaced=0, rejects_replaced=0)
RUN_BLOCKING = [
    ("files_read,files_accounted", dict(STATS, files_read=6)),                   # a file went missing
    ("articles_expected,articles_published", dict(STATS, articles_replaced=1)),  # a replaced row stayed
    ("rejects_expected,rejects_published", dict(STATS, rejects_new=1, files_read=6)),
]


@pytest.mark.parametrize("column,stats", RUN_BLOCKING, ids=[c[0] for c in RUN_BLOCKING])
def test_warehouse_run_reconciliation_blocks(tmp_path, batch, column, stats):
    wh, version = stage(tmp_path, tables_of(batch))
    rep = run_gate("warehouse_run", gates.run_frame(wh, version, SimpleNamespace(**stats), False), "load")
    only_failure(rep, "expect_column_pair_values_to_be_equal", column)
    assert rep.blocking


def test_warehouse_run_blocks_on_orphans_and_foreign_schemas(tmp_path, batch):
    orphan = _dup(batch.removed, 0, article_id="0000000000000000")
    wh, version = stage(tmp_path, tables_of(batch, removed=orphan))
    stray = version / "dq_results" / "stray.parquet"
    pq.write_table(pa.table({"run_id": ["x"], "success": ["yes"]}), stray)
    rep = run_gate("warehouse_run", gates.run_frame(wh, version, SimpleNamespace(**STATS), False), "load")
    assert not outcome(rep, "expect_column_values_to_be_between", "orphan_rows").success
    o = outcome(rep, "expect_column_values_to_be_in_set", "schema_mismatches")
    assert not o.success and "dq_results/stray.parquet" in o.observed_value and "success: string" in o.observed_value
    assert rep.blocking
