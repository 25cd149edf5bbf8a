"""Damage inside a published Parquet file (64 KB of garbage in the middle, footer intact) and
a truncated file: found before anything is built on them, one line naming the file, and
`--full-refresh` repairs the warehouse from the source without reading the damaged file."""
from __future__ import annotations

import json
import os

import pytest

from flows.errors import CorruptFile
from flows.warehouse import Warehouse
from tests.conftest import duck, tree_digest


def _biggest_articles_file(wh: Warehouse):
    return max(wh.table_files("articles"), key=lambda f: f.stat().st_size)


def _damage_middle(path, n=64 * 1024) -> None:
    size = path.stat().st_size
    n = min(n, max(1, size // 3))
    with open(path, "r+b") as f:             # in place: every hard link of the file sees it
        f.seek(size // 2 - n // 2)
        f.write(os.urandom(n))


@pytest.mark.parametrize("damage", ["inner", "truncated"])
def test_damaged_file_is_found_and_full_refresh_repairs(run_etl, seeds_dir, warehouse_dir, damage):
    assert run_etl(seeds_dir, warehouse_dir).is_completed()
    wh = Warehouse(warehouse_dir)
    manifest = json.loads((wh.current / "_manifest.json").read_text())
    assert all(len(v) == 64 for v in manifest["sha256"].values()) and manifest["sha256"]
    good = tree_digest(warehouse_dir)
    victim = _biggest_articles_file(wh)
    if damage == "inner":
        _damage_middle(victim)
    else:
        with open(victim, "r+b") as f:
            f.truncate(victim.stat().st_size // 2)
    before = os.readlink(warehouse_dir / "current")

    state = run_etl(seeds_dir, warehouse_dir)        # an ordinary re-run: stops, names the file
    assert state.is_failed()
    with pytest.raises(CorruptFile) as e:
        state.result()
    assert victim.name in str(e.value) and "--full-refresh" in str(e.value)
    assert os.readlink(warehouse_dir / "current") == before         # nothing published

    assert run_etl(seeds_dir, warehouse_dir, full_refresh=True).is_completed(), "repair"
    assert os.readlink(warehouse_dir / "current") != before
    assert tree_digest(warehouse_dir) == good
    assert duck(warehouse_dir, "select count(*) from articles") == [(len(list(seeds_dir.iterdir())),)]
    Warehouse(warehouse_dir).verify()                # every file of the repaired version checks out
