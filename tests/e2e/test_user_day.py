"""Issue 19 as a user meets it, through real `newsetl` processes: progress lines while a run
works with stderr not a terminal, a script of several statements, NULL printed as NULL, and
warehouse.duckdb opened from a copy of the warehouse after the original is gone."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import pytest

from flows.warehouse.catalog import oldest_reader, storage_number
from tests.conftest import SEEDS

LINE = re.compile(r"^news-etl (extract|transform|stage): (\d+)/(\d+) files, [\d.]+ files/s")


@pytest.fixture
def warehouse(cli, seeds_dir, tmp_path):
    wh = tmp_path / "wh"
    r = cli("run", "--source", str(seeds_dir), "--warehouse", str(wh), "--no-tokens")
    assert r.returncode == 0, r.stderr
    return wh


def test_progress_lines_off_a_terminal_while_the_run_works(cli, tmp_path):
    src = tmp_path / "many"
    src.mkdir()
    for i in range(40):                              # 200 files in batches of 10: 20 batches
        for p in sorted(SEEDS.iterdir()):
            (src / f"{i:02d}_{p.name}").write_bytes(p.read_bytes() + f"\n{i}\n".encode())
    r = cli("run", "--source", str(src), "--warehouse", str(tmp_path / "wh"), "--no-tokens",
            "--batch-size", "10", "--workers", "1", env={"NEWSETL_PROGRESS_INTERVAL": "0.2"})
    assert r.returncode == 0, r.stderr
    moving = [LINE.match(line) for line in r.stderr.splitlines()]
    moving = [(m[1], int(m[2]), int(m[3])) for m in moving if m]
    assert moving, r.stderr                              # lines while it worked, not only at the end
    assert {total for _, _, total in moving} == {200}
    assert any(0 < done < 200 for _, done, _ in moving), moving      # seen part-way
    for stage in ("extract", "transform", "stage"):
        assert f"news-etl {stage}: done 200 files in" in r.stderr, r.stderr
    assert "\r" not in r.stderr                          # no bar redraws in a log file
    assert r.stderr.count("news-etl stage: done") == 1   # once: not echoed again by Prefect's console


def test_every_statement_of_a_script_runs(cli, warehouse, tmp_path):
    r = cli("query", "select count(*) as n from articles; select count(*) as m from runs",
            "--warehouse", str(warehouse), "--format", "csv")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["n", "5", "m", "1"]
    script = tmp_path / "q.sql"
    script.write_text("create temp table t as select 41 as x;\nselect x + 1 as y from t;\n", encoding="utf-8")
    r = cli("query", "-f", str(script), "--warehouse", str(warehouse), "--format", "json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == [{"y": 42}]


def test_null_prints_as_null(cli, warehouse):
    sql = "select 'a' as k, null::varchar as v, null::timestamptz as t"
    r = cli("query", sql, "--warehouse", str(warehouse))
    assert r.returncode == 0, r.stderr
    row = [line for line in r.stdout.splitlines() if "│ a" in line][0]
    assert row.count("NULL") == 2 and "NaN" not in r.stdout and "NaT" not in r.stdout
    r = cli("query", sql, "--warehouse", str(warehouse), "--format", "markdown")
    assert r.stdout.splitlines()[-1] == "| a | NULL | NULL |"
    r = cli("query", sql, "--warehouse", str(warehouse), "--format", "json")
    assert json.loads(r.stdout) == [{"k": "a", "v": None, "t": None}]


def test_a_bad_statement_prints_duckdbs_whole_message_and_a_hint(cli, warehouse):
    r = cli("query", "select 1; select nope from articles", "--warehouse", str(warehouse))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "statement 2 of 2 failed" in r.stderr and "Binder Error" in r.stderr
    assert "hint: articles has article_id" in r.stderr
    assert "│ 1 │" in r.stdout.replace(" ", "").replace("│1│", "│ 1 │")   # statement 1 still printed


def test_the_catalog_opens_from_a_copied_warehouse_with_the_original_gone(warehouse, tmp_path):
    assert storage_number(warehouse / "warehouse.duckdb") == 64 and oldest_reader(warehouse / "warehouse.duckdb") == "1.0.0"
    copy = tmp_path / "elsewhere" / "wh"
    shutil.copytree(warehouse, copy, symlinks=True)
    shutil.rmtree(warehouse)
    # as a DuckDB CLI user would: `cd wh && duckdb warehouse.duckdb`
    code = ("import duckdb; con = duckdb.connect('warehouse.duckdb', read_only=True); "
            "print(con.execute('select count(*) from canonical_articles').fetchone()[0], "
            "con.execute('select count(*) from runs').fetchone()[0])")
    r = subprocess.run([sys.executable, "-c", code], cwd=copy, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["5", "1"]
