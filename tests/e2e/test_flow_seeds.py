"""The real flow on seeds/, checked through DuckDB over the published Parquet."""
from __future__ import annotations

import shutil
from pathlib import Path

from tests.conftest import SEEDS, duck, tree_digest


def test_seeds_load_five_articles(run_etl, seeds_dir, warehouse_dir):
    state = run_etl(seeds_dir, warehouse_dir)
    assert state.is_completed(), state.message
    assert duck(warehouse_dir, "select count(*) from articles") == [(5,)]
    assert duck(warehouse_dir, "select count(*) from rejects") == [(0,)]
    # every file's sha256 is recorded and matches the bytes on disk
    import hashlib
    rows = dict(duck(warehouse_dir, "select source_path, source_sha256 from articles"))
    for p in SEEDS.iterdir():
        assert rows[p.name] == hashlib.sha256(p.read_bytes()).hexdigest()
    # the run is recorded with its gates
    (status, files_read), = duck(warehouse_dir, "select status, files_read from runs")
    assert (status, files_read) == ("completed", 5)
    stages = {s for (s,) in duck(warehouse_dir, "select distinct stage from dq_results")}
    assert stages == {"extract", "transform", "load"}
    # no line is lost: lines with kept or removed spans + blank + title = lines of the file
    # (a line cut into spans gives several rows; see transforms.clean.lineage for the spans)
    bad = duck(warehouse_dir, """
        select a.article_id from articles a
        left join (select article_id, count(distinct line_no) n from
                   (select article_id, line_no from paragraphs union all select article_id, line_no from removed)
                   group by 1) x using (article_id)
        where coalesce(x.n,0) + a.blank_line_count + (a.title is not null)::int <> a.line_count""")
    assert bad == []


def test_rerun_is_idempotent(run_etl, seeds_dir, warehouse_dir):
    assert run_etl(seeds_dir, warehouse_dir).is_completed()
    first = tree_digest(warehouse_dir)
    ids = duck(warehouse_dir, "select article_id from articles order by 1")
    state = run_etl(seeds_dir, warehouse_dir)
    assert state.is_completed()
    assert state.result()["files_skipped"] == 5
    assert tree_digest(warehouse_dir) == first
    assert duck(warehouse_dir, "select article_id from articles order by 1") == ids
    assert duck(warehouse_dir, "select count(*) from runs") == [(2,)]
    # nothing new: nothing extracted or transformed, and the data tables (the files of the
    # version that passed the load gate) are not validated again; the counts are reconciled
    second = state.result()["run_id"]
    suites = duck(warehouse_dir, f"select distinct stage, suite from dq_results where run_id = '{second}'")
    assert suites == [("load", "warehouse_run")]


def test_full_refresh_gives_same_rows(run_etl, seeds_dir, warehouse_dir):
    assert run_etl(seeds_dir, warehouse_dir).is_completed()
    first = tree_digest(warehouse_dir)
    assert run_etl(seeds_dir, warehouse_dir, full_refresh=True).is_completed()
    assert tree_digest(warehouse_dir) == first


def test_changed_file_replaces_its_article(run_etl, seeds_dir, warehouse_dir):
    assert run_etl(seeds_dir, warehouse_dir).is_completed()
    target = sorted(seeds_dir.iterdir())[1]
    old_id = duck(warehouse_dir, f"select article_id from articles where source_path = '{target.name}'")
    target.write_text(target.read_text(encoding="utf-8") + "\nMột đoạn văn mới được thêm vào bài báo sau khi xuất bản lần đầu.\n",
                      encoding="utf-8")
    state = run_etl(seeds_dir, warehouse_dir)
    assert state.is_completed(), state.message
    s = state.result()
    assert (s["articles_new"], s["articles_replaced"], s["files_skipped"]) == (1, 1, 4)
    assert duck(warehouse_dir, "select count(*) from articles") == [(5,)]
    new_id = duck(warehouse_dir, f"select article_id from articles where source_path = '{target.name}'")
    assert new_id != old_id
    assert duck(warehouse_dir, f"select count(*) from paragraphs where article_id = '{old_id[0][0]}'") == [(0,)]


def test_incremental_add(run_etl, seeds_dir, warehouse_dir, tmp_path):
    keep = sorted(seeds_dir.iterdir())
    for p in keep[3:]:
        shutil.move(p, tmp_path / p.name)
    assert run_etl(seeds_dir, warehouse_dir).is_completed()
    assert duck(warehouse_dir, "select count(*) from articles") == [(3,)]
    for p in keep[3:]:
        shutil.move(tmp_path / p.name, seeds_dir / p.name)
    state = run_etl(seeds_dir, warehouse_dir)
    assert state.result()["articles_new"] == 2
    assert duck(warehouse_dir, "select count(*) from articles") == [(5,)]
