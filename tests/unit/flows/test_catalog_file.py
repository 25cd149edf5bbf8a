"""flows/warehouse/catalog.py: a views-only warehouse.duckdb in the 1.x storage format whose
relative globs follow the folder when it is copied and the original deleted.

Opening the file with a real DuckDB 1.x needs another DuckDB: the test installs the oldest 1.x
Python package (duckdb 1.0.0) and the newest 1.x CLI (duckdb-cli 1.5.6) with the project's uv
into a cache folder outside the checkout (~/.cache/newsetl-tests, or $XDG_CACHE_HOME), once per
machine. Without a reachable package index it is skipped with the reason; any other install
failure fails. NEWSETL_DUCKDB1_PYTHONS (colon-separated pythons with duckdb 1.x) replaces the
installed package with your own."""
from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from flows.warehouse.catalog import (CatalogError, oldest_reader, open_catalog, storage_number,
                                     view_globs)
from flows.warehouse.catalog import write_views_file as write_catalog

VIEWS = {"articles": "articles/**/*.parquet", "removed": "removed/**/*.parquet"}
DERIVED = {"canonical_articles": "SELECT * FROM articles WHERE duplicate_of IS NULL",
           "_newsetl_catalog": "SELECT 3 AS schema_version"}


def make_warehouse(root, marker: str) -> None:
    """The layout of the real warehouse: per-table symlinks into `current`, a relative
    `current` symlink into .versions, hive partitions."""
    part = root / ".versions" / "v1" / "articles" / "source=seed"
    part.mkdir(parents=True)
    (root / ".versions" / "v1" / "removed").mkdir()
    os.symlink(os.path.join(".versions", "v1"), root / "current")
    for table in ("articles", "removed"):
        os.symlink(os.path.join("current", table), root / table)
    con = duckdb.connect()
    con.execute(f"""COPY (SELECT * FROM (VALUES (1, NULL::BIGINT, '{marker}'), (2, 1, '{marker}'))
                   t(article_id, duplicate_of, title)) TO '{part}/part-0.parquet' (FORMAT parquet)""")
    con.execute(f"COPY (SELECT 2 AS article_id, 'dedup.exact' AS reason) "
                f"TO '{root}/.versions/v1/removed/part-0.parquet' (FORMAT parquet)")
    con.close()


def test_written_at_the_1x_storage_version(tmp_path):
    make_warehouse(tmp_path, "a")
    db = tmp_path / "warehouse.duckdb"
    write_catalog(db, VIEWS, DERIVED)
    assert storage_number(db) == 64 and oldest_reader(db) == "1.0.0"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".warehouse")) == []
    plain = tmp_path / "default.duckdb"                  # what duckdb 2.0 writes by default
    duckdb.connect(str(plain)).close()
    assert oldest_reader(plain) is None


def test_views_hold_relative_paths(tmp_path):
    make_warehouse(tmp_path, "a")
    db = tmp_path / "warehouse.duckdb"
    write_catalog(db, VIEWS, DERIVED)
    sql = view_globs(db)
    assert "read_parquet('articles/**/*.parquet'" in sql["articles"]
    assert str(tmp_path) not in "".join(sql.values())


def test_a_copied_warehouse_reads_its_own_files_from_any_directory(tmp_path, monkeypatch):
    original = tmp_path / "A"
    original.mkdir()
    make_warehouse(original, "original")
    write_catalog(original / "warehouse.duckdb", VIEWS, DERIVED)
    copy = tmp_path / "B"
    shutil.copytree(original, copy, symlinks=True)
    shutil.rmtree(original)
    elsewhere = tmp_path / "elsewhere"
    make_warehouse(elsewhere, "decoy")                    # same relative paths in the cwd
    monkeypatch.chdir(elsewhere)
    con = open_catalog(copy / "warehouse.duckdb")
    try:
        assert con.execute("SELECT article_id, title FROM canonical_articles").fetchall() == [(1, "original")]
        assert con.execute("SELECT reason FROM removed").fetchall() == [("dedup.exact",)]
        assert con.execute("SELECT DISTINCT source FROM articles").fetchall() == [("seed",)]
    finally:
        con.close()


def test_the_duckdb_cli_way_cwd_inside_the_warehouse(tmp_path, monkeypatch):
    """`cd warehouse && duckdb warehouse.duckdb`: no setting needed."""
    make_warehouse(tmp_path, "a")
    write_catalog(tmp_path / "warehouse.duckdb", VIEWS, DERIVED)
    monkeypatch.chdir(tmp_path)
    con = duckdb.connect("warehouse.duckdb", read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM articles").fetchone() == (2,)
    finally:
        con.close()


def test_rewrite_replaces_the_file_and_a_bad_glob_keeps_the_old_one(tmp_path):
    make_warehouse(tmp_path, "a")
    db = tmp_path / "warehouse.duckdb"
    write_catalog(db, VIEWS, DERIVED)
    with pytest.raises(CatalogError, match="view dq_results of the catalog: IO Error: No files found"):
        write_catalog(db, {**VIEWS, "dq_results": "dq_results/**/*.parquet"}, DERIVED)
    assert set(view_globs(db)) == {"articles", "removed", "canonical_articles", "_newsetl_catalog"}
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith((".tmp", ".wal"))] == []
    write_catalog(db, {"articles": VIEWS["articles"]})
    assert set(view_globs(db)) == {"articles"}


@pytest.mark.parametrize("glob", ["/abs/articles/*.parquet", "../other/*.parquet", "s3://b/x.parquet"])
def test_absolute_or_escaping_globs_are_refused(tmp_path, glob):
    with pytest.raises(ValueError, match="view articles"):
        write_catalog(tmp_path / "warehouse.duckdb", {"articles": glob})
    assert not (tmp_path / "warehouse.duckdb").exists()


DUCKDB1_PACKAGES = ("duckdb==1.0.0", "duckdb-cli==1.5.6")
_NO_INDEX = ("failed to fetch", "error sending request", "dns error", "connect", "timed out", "offline",
             "network")


@pytest.fixture(scope="session")
def duckdb1():
    """(pythons with duckdb 1.x, the DuckDB 1.x CLI or None), installed once per machine."""
    mine = [p for p in os.environ.get("NEWSETL_DUCKDB1_PYTHONS", "").split(":") if p]
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "newsetl-tests"
    venv = cache / ("duckdb1-" + "-".join(p.replace("==", "") for p in DUCKDB1_PACKAGES))
    uv = Path(sys.executable).parent / "uv"
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / ".lock", "w") as lock:            # xdist workers: one installs, the others wait
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (venv / ".complete").exists():
            shutil.rmtree(venv, ignore_errors=True)
            steps = ([str(uv), "venv", "-q", str(venv), "--python", sys.executable],
                     [str(uv), "pip", "install", "-q", "--python", str(venv / "bin" / "python"), *DUCKDB1_PACKAGES])
            for cmd in steps:
                r = subprocess.run(cmd, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
                if r.returncode != 0:
                    if mine:
                        return mine, None
                    why = (r.stderr.strip().splitlines() or ["no message"])[-1]
                    # only an unreachable index is a reason to skip; a bad pin or a missing wheel fails
                    assert any(m in r.stderr.lower() for m in _NO_INDEX), f"{' '.join(cmd)}: {r.stderr}"
                    pytest.skip(f"no package index to install {' '.join(DUCKDB1_PACKAGES)} from: {why}")
            (venv / ".complete").touch()
    return (mine or [str(venv / "bin" / "python")]), str(venv / "bin" / "duckdb")


def test_duckdb_1x_opens_the_copied_catalog(tmp_path, duckdb1):
    pythons, cli = duckdb1
    (tmp_path / "A").mkdir()
    make_warehouse(tmp_path / "A", "a")
    write_catalog(tmp_path / "A" / "warehouse.duckdb", VIEWS, DERIVED)
    shutil.copytree(tmp_path / "A", tmp_path / "B", symlinks=True)
    shutil.rmtree(tmp_path / "A")
    probe = ("import duckdb; con = duckdb.connect('warehouse.duckdb', read_only=True); "
             "print(duckdb.__version__, con.execute('SELECT count(*) FROM canonical_articles').fetchone()[0])")
    for python in pythons:
        proc = subprocess.run([python, "-c", probe], cwd=tmp_path / "B", capture_output=True,
                              text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        version, count = proc.stdout.split()
        assert version.startswith("1.") and count == "1", proc.stdout
    if cli:
        version = subprocess.run([cli, "-version"], capture_output=True, text=True, timeout=60).stdout
        assert version.startswith("v1."), version
        proc = subprocess.run([cli, "-readonly", "-csv", "-noheader", "warehouse.duckdb", "-c",
                               "SELECT count(*), min(title) FROM canonical_articles"],
                              cwd=tmp_path / "B", capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0 and proc.stdout.split() == ["1,a"], proc.stdout + proc.stderr
