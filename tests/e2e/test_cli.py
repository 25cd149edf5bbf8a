"""`newsetl` as users call it: a subprocess, exit codes 0 / 1 / 2, no traceback."""
from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import duck, tree_digest

CHROME_ONLY = """Trang chủ Thời sự Kinh tế Thế giới
Thứ Hai, 24/11/2025
Theo dõi chúng tôi trên Google News
Có thể bạn quan tâm
Co loi xay ra
Ý kiến bình luận
Họ và tên
Email
Xác thực
"""


def test_run_query_and_exit_codes(cli, seeds_dir, tmp_path):
    wh = tmp_path / "wh"
    r = cli("run", "--source", str(seeds_dir), "--warehouse", str(wh), "--no-tokens")
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr + r.stdout
    assert "articles 5 new" in r.stdout
    q = cli("query", "select count(*) as n from articles", "--warehouse", str(wh), "--format", "json")
    assert q.returncode == 0, q.stderr
    assert json.loads(q.stdout) == [{"n": 5}]
    q = cli("query", "select count(*) from canonical_articles", "--warehouse", str(wh), "--format", "csv")
    assert q.stdout.strip().splitlines()[-1] == "5"
    # the DuckDB catalog file works without newsetl
    from flows.warehouse.catalog import open_catalog
    con = open_catalog(wh / "warehouse.duckdb")        # relative views: from any cwd
    assert con.execute("select count(*) from articles").fetchone() == (5,)
    con.close()


def test_missing_source_is_a_usage_error(cli, tmp_path):
    r = cli("run", "--source", "/nonexistent", "--warehouse", str(tmp_path / "wh"))
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "/nonexistent" in r.stderr


def test_unwritable_warehouse_is_a_usage_error(cli, seeds_dir, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    r = cli("run", "--source", str(seeds_dir), "--warehouse", str(blocker / "wh"))
    assert r.returncode == 2
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_bad_sql_is_a_usage_error(cli, seeds_dir, tmp_path):
    wh = tmp_path / "wh"
    assert cli("run", "--source", str(seeds_dir), "--warehouse", str(wh), "--no-tokens").returncode == 0
    r = cli("query", "select nope from articles", "--warehouse", str(wh))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    # SQL that starts with a comment is SQL, not an option
    r = cli("query", "-- how many\nselect count(*) as n from articles", "--warehouse", str(wh), "--format", "csv")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["n", "5"]


def test_chrome_only_source_fails_the_gate_and_changes_nothing(cli, seeds_dir, tmp_path):
    wh = tmp_path / "wh"
    assert cli("run", "--source", str(seeds_dir), "--warehouse", str(wh), "--no-tokens").returncode == 0
    before = tree_digest(wh)
    chrome = tmp_path / "chrome"
    chrome.mkdir()
    for i in range(3):
        (chrome / f"page{i}.txt").write_text(CHROME_ONLY.replace("24/11", f"2{i}/11"), encoding="utf-8")
    r = cli("run", "--source", str(chrome), "--warehouse", str(wh), "--no-tokens")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "Traceback" not in r.stderr
    assert "quarantined" in r.stderr
    assert tree_digest(wh) == before
    assert duck(wh, "select status from runs order by started_at") == [("completed",), ("failed",)]
    assert duck(wh, "select count(*) from dq_results where not success and run_id = "
                    "(select run_id from runs where status = 'failed')")[0][0] >= 1


def test_one_chrome_page_among_good_ones_is_quarantined(cli, seeds_dir, tmp_path):
    (seeds_dir / "zz_chrome.txt").write_text(CHROME_ONLY, encoding="utf-8")
    wh = tmp_path / "wh"
    r = cli("run", "--source", str(seeds_dir), "--warehouse", str(wh), "--no-tokens")
    assert r.returncode == 0, r.stderr
    assert duck(wh, "select count(*) from articles") == [(5,)]
    rows = duck(wh, "select source_path, stage, reason from rejects")
    assert [(p, s) for p, s, _ in rows] == [("zz_chrome.txt", "gate")]
    assert rows[0][2].startswith("gate.")
