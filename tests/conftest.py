"""Shared fixtures: one Prefect test harness per session (real ephemeral API, temp database),
a temp copy of seeds/ and a temp warehouse per test."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
NEWSETL = [sys.executable, "-m", "flows.cli"]


@pytest.fixture(scope="session")
def prefect_harness():
    from prefect.testing.utilities import prefect_test_harness
    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def seeds_dir(tmp_path: Path) -> Path:
    d = tmp_path / "source"
    shutil.copytree(SEEDS, d)
    return d


@pytest.fixture
def warehouse_dir(tmp_path: Path) -> Path:
    return tmp_path / "warehouse"


@pytest.fixture
def run_etl(prefect_harness):
    """Run the real news-etl flow in-process; returns its final Prefect state."""
    from flows.etl import news_etl

    def _run(source: Path, warehouse: Path, **kw):
        kw.setdefault("with_tokens", False)
        return news_etl(source=str(source), warehouse=str(warehouse), return_state=True, **kw)
    return _run


@pytest.fixture(scope="session")
def cli_prefect_home(tmp_path_factory) -> Path:
    """One PREFECT_HOME per test worker: the embedded API migrates its database only once."""
    return tmp_path_factory.mktemp("prefect-home")


@pytest.fixture
def cli(cli_prefect_home: Path):
    """Run `newsetl` in a subprocess (embedded Prefect API); returns CompletedProcess."""
    home = cli_prefect_home

    def _cli(*args: str, timeout: float = 300, env: dict | None = None):
        return subprocess.run([*NEWSETL, *args], cwd=ROOT, capture_output=True, text=True,
                              timeout=timeout, env=cli_env(home, env), stdin=subprocess.DEVNULL)
    return _cli


def cli_env(home: Path, env: dict | None = None) -> dict:
    """The environment of a `newsetl` subprocess: its PREFECT_HOME, the embedded API (no
    PREFECT_API_URL unless `env` sets one), compiled bytecode reused."""
    e = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
         **(env or {})}
    if "PREFECT_API_URL" not in (env or {}):
        e.pop("PREFECT_API_URL", None)
    e.pop("PYTHONDONTWRITEBYTECODE", None)      # let subprocesses reuse compiled bytecode
    return e


def duck(warehouse: Path, sql: str):
    """Query a warehouse through the same DuckDB views users get."""
    from flows.warehouse import Warehouse
    con = Warehouse(warehouse).connect()
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def tree_digest(root: Path, tables=("articles", "paragraphs", "removed", "rejects",
                                    "duplicate_clusters", "dedup_signatures")) -> dict:
    """Content of every data table (rows, sorted) - equal digests mean equal tables."""
    import hashlib
    from flows.warehouse import Warehouse
    wh = Warehouse(root)
    out = {}
    for t in tables:
        tbl = wh.read(t)
        drop = [c for c in ("run_id", "loaded_at", "rejected_at") if c in tbl.column_names]
        rows = sorted(map(repr, tbl.drop_columns(drop).to_pylist()))
        out[t] = hashlib.sha256("\n".join(rows).encode()).hexdigest()
    return out
