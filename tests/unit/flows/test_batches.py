"""flows/batches.py: transform batches on Prefect's ProcessPoolTaskRunner give the same tables
as in the flow's process, and each batch is a task run of the flow run, named by its number."""
from __future__ import annotations

import asyncio

from flows.batches import BatchRunner
from tests.conftest import duck, tree_digest


def _task_run_names(flow_run_id) -> list[str]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    async def names():
        async with get_client() as client:
            runs = await client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
            return sorted(r.name for r in runs)
    return asyncio.run(names())


def test_batches_on_a_process_pool_give_the_tables_of_one_process(run_etl, seeds_dir, tmp_path):
    inline, pooled = tmp_path / "inline", tmp_path / "pooled"
    assert run_etl(seeds_dir, inline, batch_size=2, workers=1, with_tokens=False).is_completed()
    state = run_etl(seeds_dir, pooled, batch_size=2, workers=2, with_tokens=False)
    assert state.is_completed(), state.message
    assert duck(pooled, "select count(*) from articles") == [(5,)]
    assert tree_digest(pooled) == tree_digest(inline)
    names = _task_run_names(state.state_details.flow_run_id)
    assert [n for n in names if n.startswith("transform")] == ["transform-0000", "transform-0001", "transform-0002"]
    assert [n for n in names if n.startswith("extract")] == ["extract-0000", "extract-0001", "extract-0002"]


def test_one_batch_or_one_worker_runs_in_the_flows_process():
    assert BatchRunner("process", workers=4, n_batches=1).inline
    assert BatchRunner("process", workers=1, n_batches=9).inline
    assert not BatchRunner("process", workers=2, n_batches=2).inline
    assert not BatchRunner("dask", workers=1, n_batches=1).inline        # a cluster was asked for
