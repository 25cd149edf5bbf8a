"""Sources given as URLs go through fsspec (flows/remote.py); here its in-memory file system,
which the in-process flow shares with the test."""
from __future__ import annotations

import fsspec
import pytest

from tests.conftest import SEEDS, duck


LIMIT = max(p.stat().st_size for p in SEEDS.iterdir())      # every seed fits, big.txt does not


@pytest.fixture
def memory_source():
    fs = fsspec.filesystem("memory")
    root = "/newsetl-test-source"
    for p in sorted(SEEDS.iterdir()):
        fs.pipe(f"{root}/2026/{p.name}", p.read_bytes())
    fs.pipe(f"{root}/big.txt", b"x" * (LIMIT + 1))
    yield f"memory://{root}"
    fs.rm(root, recursive=True)


def test_a_url_source_loads_like_the_same_files_on_disk(run_etl, memory_source, tmp_path):
    state = run_etl(memory_source, tmp_path / "wh", max_bytes=LIMIT)
    assert state.is_completed(), state.message
    local = tmp_path / "local" / "2026"
    local.mkdir(parents=True)
    for p in SEEDS.iterdir():
        (local / p.name).write_bytes(p.read_bytes())
    assert run_etl(local.parent, tmp_path / "wh-local", max_bytes=LIMIT).is_completed()
    sql = "select article_id, source_path, content_sha256 from articles order by 1"
    assert duck(tmp_path / "wh", sql) == duck(tmp_path / "wh-local", sql)
    assert len(duck(tmp_path / "wh", sql)) == len(list(SEEDS.iterdir()))
    assert duck(tmp_path / "wh", "select source_path, reason from rejects") == [("big.txt", "extract.too_large")]
    again = run_etl(memory_source, tmp_path / "wh", max_bytes=LIMIT)
    assert again.is_completed() and again.result()["files_skipped"] == len(list(SEEDS.iterdir())) + 1


def test_an_unknown_or_missing_url_is_a_usage_error(run_etl, tmp_path):
    from flows.etl import UsageError
    state = run_etl("memory:///no/such/prefix", tmp_path / "wh")
    assert state.is_failed()
    with pytest.raises(UsageError, match="does not exist"):
        state.result()
