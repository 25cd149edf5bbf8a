"""The Dask path: CPU-heavy batches on a LocalCluster of 2 workers give the same tables."""
from __future__ import annotations

import pytest

from tests.conftest import duck, tree_digest


@pytest.mark.slow
def test_dask_local_cluster_gives_same_tables(run_etl, seeds_dir, tmp_path):
    local = tmp_path / "wh-local"
    dask = tmp_path / "wh-dask"
    assert run_etl(seeds_dir, local, batch_size=2, workers=2).is_completed()
    state = run_etl(seeds_dir, dask, batch_size=2, workers=2, task_runner="dask")
    assert state.is_completed(), state.message
    assert duck(dask, "select count(*) from articles") == [(5,)]
    assert tree_digest(dask) == tree_digest(local)
