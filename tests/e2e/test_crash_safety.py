"""SIGKILL a real `newsetl run` and check the warehouse: readable, equal to the state before or
after the run (references computed with clean runs), and the next run completes and cleans
.staging. Deterministic kill points come from NEWSETL_CRASH_AT (flows/warehouse.py); timed
kills land at random moments of the write phase. The fast variant kills at three points; the
slow one at every point a run passes plus timed kills."""
from __future__ import annotations

import os
import random
import shutil
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from flows import warehouse as W
from flows.warehouse import Warehouse
from tests.conftest import tree_digest
from tests.e2e.test_warehouse import SEED_NAMES, cli_env, finish, source_of, start

# points a run adding articles passes, in order; from "after_swap" on the run is published
RUN_POINTS = ["after_lock", "after_stage_write", *(f"after_merge:{t}" for t in W.ALL_TABLES), "after_build",
              "after_merge:runs#2", "after_build#2", "after_fsync", "after_rename", "before_swap", "after_swap",
              "after_discard", "after_catalog", "after_gc"]
PUBLISHED_FROM = RUN_POINTS.index("after_swap")
FAST_POINTS = ["after_merge:paragraphs", "before_swap", "after_swap"]


@pytest.fixture
def refs(run_etl, tmp_path) -> dict:
    """A warehouse with 3 seeds (before), the same plus a run over all 5 (after), their digests."""
    before = tmp_path / "before"
    assert run_etl(source_of(tmp_path, SEED_NAMES[:3], "first"), before).is_completed()
    src = source_of(tmp_path, SEED_NAMES)
    after = tmp_path / "after"
    shutil.copytree(before, after, symlinks=True)
    assert run_etl(src, after).is_completed()
    out = {"before": before, "src": src, "want_before": tree_digest(before), "want_after": tree_digest(after)}
    assert out["want_before"] != out["want_after"]
    return out


def _killed_copy(refs: dict, tmp_path: Path, name: str) -> Path:
    wh = tmp_path / "killed" / name.replace(":", "_").replace("#", "_")
    shutil.copytree(refs["before"], wh, symlinks=True)
    return wh


def _check_after_kill(refs: dict, wh: Path, expect: str | None, run_etl, what: str) -> str:
    """Readable, before-or-after (or exactly `expect`), then the next run repairs everything."""
    con = Warehouse(wh).connect()
    try:
        n = con.execute("select count(*) from articles").fetchone()[0]
    finally:
        con.close()
    got = tree_digest(wh)
    state = "before" if got == refs["want_before"] else "after" if got == refs["want_after"] else "neither"
    assert state != "neither", what
    assert n == (3 if state == "before" else 5), what
    if expect:
        assert state == expect, what
    nxt = run_etl(refs["src"], wh)
    assert nxt.is_completed(), (what, nxt.message)
    assert tree_digest(wh) == refs["want_after"], what
    assert list((wh / ".staging").iterdir()) == [], what
    assert len(list((wh / ".versions").iterdir())) <= W.KEEP_VERSIONS, what
    return state


def _kill_at(refs: dict, tmp_path: Path, points: list[str], run_etl) -> None:
    env = cli_env(tmp_path)

    def one(point: str) -> tuple[str, Path, int, str]:
        wh = _killed_copy(refs, tmp_path, point)
        proc = start(["run", "--source", str(refs["src"]), "--warehouse", str(wh), "--no-tokens"],
                     {**env, "NEWSETL_CRASH_AT": point})
        rc, _, err = finish(proc)
        _reap(proc)
        return point, wh, rc, err
    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(one, points))
    for point, wh, rc, err in results:
        assert rc == -signal.SIGKILL, (point, err[-3000:])
        expect = "after" if RUN_POINTS.index(point) >= PUBLISHED_FROM else "before"
        _check_after_kill(refs, wh, expect, run_etl, point)


def _reap(proc) -> None:
    """Kill what the killed CLI may have left in its process group (it started it; nothing else)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def test_kill_points_fast(refs, tmp_path, run_etl):
    _kill_at(refs, tmp_path, FAST_POINTS, run_etl)


@pytest.mark.slow
def test_kill_at_every_point_of_a_run(refs, tmp_path, run_etl):
    _kill_at(refs, tmp_path, [p for p in RUN_POINTS if p not in FAST_POINTS], run_etl)


@pytest.mark.slow
def test_kill_at_random_moments_of_the_write_phase(refs, tmp_path, run_etl):
    """The kill lands 0-1.5 s after the run starts staging (seeded, printed on failure)."""
    rng = random.Random(int(os.environ.get("NEWSETL_KILL_SEED", "20261124")))
    env = cli_env(tmp_path)
    states, codes = [], []
    for i in range(6):
        delay = rng.uniform(0.0, 1.5)
        wh = _killed_copy(refs, tmp_path, f"timed-{i}")
        proc = start(["run", "--source", str(refs["src"]), "--warehouse", str(wh), "--no-tokens"], env)
        deadline = time.monotonic() + 300
        while not list((wh / ".staging").glob("*/new")) and proc.poll() is None:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        time.sleep(delay)
        _reap(proc)
        rc, _, err = finish(proc)
        codes.append(rc)
        states.append(_check_after_kill(refs, wh, None, run_etl, f"timed kill {i} after {delay:.2f}s (rc {rc})"))
    # a run that finished before its kill tests nothing: most kills must land mid-run
    assert codes.count(-signal.SIGKILL) >= 3, (codes, states)
