"""Files that change or vanish between the listing and the read become reject rows, never
"unchanged", and the load gate finds every extracted path in articles or rejects.

The faults are real file-system changes made between the real scan and the real read."""
from __future__ import annotations


import pyarrow as pa

from flows.sources import scan_source
from flows.stream import extract_task
from tests.conftest import SEEDS, duck


def _reasons(docs: pa.Table) -> dict:
    return dict(zip(docs["source_path"].to_pylist(), docs["reject_reason"].to_pylist()))


def test_rewritten_and_deleted_new_files_are_rejects_not_skipped(seeds_dir):
    src = seeds_dir
    names = sorted(p.name for p in src.iterdir())
    entries = list(scan_source(str(src)))
    (src / names[0]).write_text("rewritten after the listing, longer than before " * 50, encoding="utf-8")
    (src / names[1]).unlink()
    # a warehouse that knows other files (the bug needed a non-empty `known`), not these two
    known = {"some/other.txt": "0" * 64}
    docs, skipped = extract_task.fn(entries, 5 << 20, known)
    got = _reasons(docs)
    assert skipped == 0
    assert got[names[0]] == "extract.changed_during_run"
    assert got[names[1]] == "extract.vanished"
    assert len(got) == len(names)


def test_unchanged_needs_a_real_equal_hash(seeds_dir):
    src = seeds_dir
    first = extract_task.fn(list(scan_source(str(src))), 5 << 20, {})[0]
    known = dict(zip(first["source_path"].to_pylist(), first["source_sha256"].to_pylist()))
    names = sorted(known)
    entries = list(scan_source(str(src)))
    (src / names[2]).unlink()                     # known path, now gone: a reject row, not skipped
    docs, skipped = extract_task.fn(entries, 5 << 20, known)
    assert skipped == len(names) - 1
    assert _reasons(docs) == {names[2]: "extract.vanished"}


def test_changed_files_reach_rejects_through_the_flow(run_etl, seeds_dir, warehouse_dir, monkeypatch):
    """Second run: one new file deleted and one rewritten right after the scan (the scan's
    result is taken, then the files change, then the flow reads) - both end in rejects, and
    warehouse_run's paths_unaccounted is 0."""
    src, wh = seeds_dir, warehouse_dir
    assert run_etl(src, wh).is_completed()
    (src / "new_a.txt").write_text((SEEDS / sorted(p.name for p in SEEDS.iterdir())[0]).read_text() + "\nA.\n")
    (src / "new_b.txt").write_text((SEEDS / sorted(p.name for p in SEEDS.iterdir())[1]).read_text() + "\nB.\n")
    import flows.sources as sources
    real_scan = sources.scan_local

    def scan_then_change(root, max_bytes):       # the fault is real: the files change on disk
        out = list(real_scan(root, max_bytes))
        (src / "new_a.txt").unlink()
        (src / "new_b.txt").write_text("rewritten during the run " * 40)
        return iter(out)
    monkeypatch.setattr(sources, "scan_local", scan_then_change)
    state = run_etl(src, wh)
    assert state.is_completed(), state.message
    assert sorted(duck(wh, "select source_path, reason from rejects")) == [
        ("new_a.txt", "extract.vanished"), ("new_b.txt", "extract.changed_during_run")]
    assert duck(wh, "select success from dq_results where suite = 'warehouse_run' "
                    "and \"column\" = 'paths_unaccounted'") == [(True,), (True,)]


def test_a_listed_path_without_a_row_blocks_the_load_gate(run_etl, seeds_dir, warehouse_dir):
    from types import SimpleNamespace

    from expectations.gate import run_gate
    from flows import gates
    from flows.warehouse import Warehouse
    assert run_etl(seeds_dir, warehouse_dir).is_completed()
    wh = Warehouse(warehouse_dir)
    n = len(list(seeds_dir.iterdir()))
    stats = SimpleNamespace(files_read=n, articles_new=n, rejects_new=0, files_skipped=0, articles_replaced=0,
                            rejects_replaced=0, listed_paths={p.name for p in seeds_dir.iterdir()})
    frame = gates.run_frame(wh, wh.current, stats, True)
    assert not run_gate("warehouse_run", frame, "load").blocking
    stats.listed_paths.add("lost/in/the/run.txt")
    frame = gates.run_frame(wh, wh.current, stats, True)
    assert frame["paths_unaccounted"].tolist() == [1]
    assert run_gate("warehouse_run", frame, "load").blocking
