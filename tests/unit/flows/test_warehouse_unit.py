"""flows/warehouse.py without the flow: file format, compaction, replacement, versions and
garbage collection, damaged files, the DuckDB catalog, the lock, and SIGKILL at every
file-system step of build/publish (real subprocesses, real kills, real full disk)."""
from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flows import warehouse as W
from flows.warehouse import Changes, CorruptFile, Warehouse, WarehouseBusy
from flows.warehouse.catalog import open_catalog
from transforms import tables as T

ROOT = Path(__file__).resolve().parents[3]
VN = ZoneInfo(T.VN_TZ)
DATA = tuple(T.DATA_TABLES)


def article(n: int, month: str = "2024-06", path: str | None = None) -> dict:
    day = 1 + n % 28
    return {"article_id": f"{n:016x}", "source_path": path or f"site/a{n:03d}.txt", "source_sha256": f"{n:064x}",
            "title": f"Bài {n}", "published_at": datetime(int(month[:4]), int(month[5:]), day, 8, tzinfo=VN),
            "body": f"Nội dung bài {n}.", "run_id": "r", "part": month}


def paragraphs(n: int, month: str = "2024-06") -> list[dict]:
    return [{"article_id": f"{n:016x}", "position": i, "kind": "body", "line_no": i + 2,
             "text": f"Đoạn {i} của bài {n}.", "part": month} for i in range(2)]


def publish(wh: Warehouse, run_id: str, ns: list[int], month: str = "2024-06",
            changes: Changes | None = None) -> Path:
    """One write-audit-publish cycle that adds articles `ns` (two paragraphs each)."""
    wh.ensure_layout()
    wh.clean_staging()
    st = wh.begin(run_id)
    if ns:
        st.add("articles", pa.Table.from_pylist([article(n, month) for n in ns], schema=T.ARTICLES))
        st.add("paragraphs", pa.Table.from_pylist([p for n in ns for p in paragraphs(n, month)],
                                                  schema=T.PARAGRAPHS))
    changes = changes or Changes()
    changes.audit = {"runs": pa.Table.from_pylist([{"run_id": run_id, "status": "completed"}], schema=T.RUNS)}
    st.build(changes)
    st.build(changes, only={"runs", "dq_results"})
    return st.publish()


def rows(wh: Warehouse, table: str) -> list:
    t = wh.read(table)
    drop = [c for c in ("run_id", "loaded_at") if c in t.column_names]
    return sorted(map(repr, t.drop_columns(drop).to_pylist()))


def snapshot(wh: Warehouse) -> dict:
    return {t: rows(wh, t) for t in DATA}


def files_per_partition(version: Path) -> dict[str, int]:
    out: dict[str, int] = {}
    for f in version.rglob("*.parquet"):
        key = str(f.parent.relative_to(version))
        out[key] = out.get(key, 0) + 1
    return out


# -- file format ---------------------------------------------------------------------------

def test_files_have_the_declared_schema_zstd_and_sorted_rows(tmp_path):
    wh = Warehouse(tmp_path / "wh")
    version = publish(wh, "r1", [5, 3, 9, 1])
    for table in T.ALL_TABLES:
        for f in wh.table_files(table):
            meta = pq.read_metadata(f)
            schema = meta.schema.to_arrow_schema()
            assert schema.remove_metadata().equals(W.file_schema(table)), f
            assert schema.metadata[b"newsetl.schema_version"] == str(T.SCHEMA_VERSION).encode()
            for rg in range(meta.num_row_groups):
                for c in range(meta.num_columns):
                    assert meta.row_group(rg).column(c).compression == "ZSTD"
    (f,) = wh.table_files("articles")
    assert f.parent.name == "part=2024-06"
    published = pq.read_table(f)["published_at"].to_pylist()
    assert published == sorted(published)
    manifest = (version / "_manifest.json").read_text()
    assert '"schema_version": %d' % T.SCHEMA_VERSION in manifest


def test_row_groups_are_sized_by_bytes_within_bounds():
    small = pa.table({"x": pa.array(range(10), pa.int64())})
    big = pa.table({"x": ["v" * 200_000] * 10})
    assert W._row_group_rows(small) == W.ROW_GROUP_ROWS[1]              # tiny rows: DuckDB's default
    assert W._row_group_rows(big) == W.ROW_GROUP_ROWS[0]                # 200 KB rows: the floor
    mid = pa.table({"x": ["v" * 2_000] * 10})
    assert W.ROW_GROUP_ROWS[0] < W._row_group_rows(mid) < W.ROW_GROUP_ROWS[1]


def test_partitions_split_by_month_with_a_bucket_for_unknown_dates(tmp_path):
    wh = Warehouse(tmp_path / "wh")
    wh.ensure_layout()
    st = wh.begin("r1")
    undated = {**article(2, "2024-06"), "published_at": None, "part": None}
    st.add("articles", pa.Table.from_pylist([article(1, "2024-05"), undated], schema=T.ARTICLES))
    st.build(Changes())
    st.publish()
    parts = sorted(f.parent.name for f in wh.table_files("articles"))
    assert parts == ["part=2024-05", f"part={T.UNKNOWN_PART}"]
    assert sorted(wh.read("articles", ["part"])["part"].to_pylist()) == ["2024-05", T.UNKNOWN_PART]


# -- compaction and replacement ------------------------------------------------------------

def test_twelve_small_runs_leave_at_most_eight_files_per_partition(tmp_path):
    wh = Warehouse(tmp_path / "wh")
    most = 0
    for i in range(12):
        version = publish(wh, f"r{i:02d}", [i])
        counts = files_per_partition(version)
        most = max(most, *counts.values())
        assert all(n <= W.MAX_FILES_PER_PARTITION for n in counts.values()), (i, counts)
    assert most == W.MAX_FILES_PER_PARTITION          # it did grow to the limit, then compacted
    one_go = Warehouse(tmp_path / "one-go")
    publish(one_go, "all", list(range(12)))
    assert snapshot(wh) == snapshot(one_go)
    assert len(rows(wh, "articles")) == 12 and len(rows(wh, "paragraphs")) == 24
    assert wh.row_count("runs") == 12


def test_a_replaced_file_rewrites_only_the_files_that_hold_its_rows(tmp_path):
    wh = Warehouse(tmp_path / "wh")
    publish(wh, "r1", [1])
    publish(wh, "r2", [2])
    before = {f.name: f.stat().st_ino for f in wh.table_files("articles")}
    assert len(before) == 2
    # a new version of article 1's file: same source_path, new id
    wh.ensure_layout()
    st = wh.begin("r3")
    new = {**article(7), "source_path": article(1)["source_path"]}
    st.add("articles", pa.Table.from_pylist([new], schema=T.ARTICLES))
    st.add("paragraphs", pa.Table.from_pylist(paragraphs(7), schema=T.PARAGRAPHS))
    st.build(Changes(replaced_paths={article(1)["source_path"]}))
    st.publish()
    ids = sorted(wh.read("articles", ["article_id"])["article_id"].to_pylist())
    assert ids == [article(2)["article_id"], article(7)["article_id"]]
    assert article(1)["article_id"] not in wh.read("paragraphs", ["article_id"])["article_id"].to_pylist()
    after = {f.name: f.stat().st_ino for f in wh.table_files("articles")}
    untouched = [n for n in before if n.startswith("r2")]
    assert untouched and all(after[n] == before[n] for n in untouched)   # a hard link, not a copy


def test_duplicate_of_updates_reach_old_and_new_rows(tmp_path):
    wh = Warehouse(tmp_path / "wh")
    publish(wh, "r1", [1, 2])
    a1, a2, a3 = (article(n)["article_id"] for n in (1, 2, 3))
    publish(wh, "r2", [3], changes=Changes(duplicate_of={a2: a1, a3: a1}))
    got = dict(zip(*wh.read("articles", ["article_id", "duplicate_of"]).to_pydict().values()))
    assert got == {a1: None, a2: a1, a3: a1}


def test_full_refresh_empties_data_tables_and_keeps_the_audit_trail(tmp_path):
    wh = Warehouse(tmp_path / "wh")
    publish(wh, "r1", [1, 2])
    publish(wh, "r2", [3], changes=Changes(drop_all_data=True))
    assert wh.read("articles", ["article_id"])["article_id"].to_pylist() == [article(3)["article_id"]]
    assert wh.row_count("runs") == 2


# -- versions, leftovers, lock --------------------------------------------------------------

def test_old_versions_and_leftovers_of_killed_runs_are_removed(tmp_path):
    wh = Warehouse(tmp_path / "wh")
    for i in range(5):
        publish(wh, f"r{i}", [i])
    versions = sorted(p.name for p in (wh.root / ".versions").iterdir())
    assert len(versions) == W.KEEP_VERSIONS and wh.current.name == versions[-1]
    # what a run killed at various points leaves behind
    (wh.root / ".staging" / "killed" / "version" / "articles").mkdir(parents=True)
    orphan = wh.root / ".versions" / f"{int(versions[-1][:6]) + 1:06d}-killed"
    shutil.copytree(wh.current, orphan, symlinks=True)
    os.symlink(".versions/" + orphan.name, wh.root / ".current.killed")
    (wh.root / f".{W.CATALOG}.123.tmp").write_bytes(b"half")
    before = snapshot(wh)
    wh.clean_staging()
    assert list((wh.root / ".staging").iterdir()) == []
    assert not orphan.exists() and not (wh.root / ".current.killed").is_symlink()
    assert not list(wh.root.glob(".*.tmp"))
    assert snapshot(wh) == before and wh.current.name == versions[-1]


def test_a_dangling_current_link_is_an_error_not_an_empty_warehouse(tmp_path):
    wh = Warehouse(tmp_path / "wh")
    publish(wh, "r1", [1])
    shutil.rmtree(wh.current)
    with pytest.raises(CorruptFile, match="does not exist"):
        wh.begin("r2")


def test_the_lock_admits_one_writer(tmp_path):
    wh = Warehouse(tmp_path / "wh")
    with wh.lock():
        with pytest.raises(WarehouseBusy, match=f"pid {os.getpid()}.*--wait"):
            with wh.lock(wait_seconds=0.3):
                pass
    with wh.lock(wait_seconds=0.3):
        pass


def test_engine_tracebacks_of_warehouse_errors_are_dropped():
    """Prefect logs exceptions with their traceback; the CLI reports WarehouseErrors in one line."""
    logger = logging.getLogger("prefect.flow_runs")
    for exc, kept in ((WarehouseBusy("busy"), False), (ValueError("a bug"), True)):
        try:
            raise exc
        except Exception:
            record = logger.makeRecord(logger.name, logging.ERROR, __file__, 1, "boom", (), sys.exc_info())
        assert bool(logger.filter(record)) is kept
    task_logger = logging.getLogger("prefect.task_runs")
    for msg, kept in (("Finished in state Failed('Task run encountered an exception WarehouseUnwritable: "
                       "cannot stage ...')", False),
                      ("Finished in state Failed('Task run encountered an exception KeyError: x')", True)):
        record = task_logger.makeRecord(task_logger.name, logging.ERROR, __file__, 1, msg, (), None)
        assert bool(task_logger.filter(record)) is kept


# -- damaged files and permissions -----------------------------------------------------------

def test_a_truncated_file_is_named_with_what_to_do(tmp_path):
    wh = Warehouse(tmp_path / "wh")
    publish(wh, "r1", [1, 2])
    (victim,) = wh.table_files("paragraphs")
    victim.write_bytes(victim.read_bytes()[:100])
    for attempt in (lambda: wh.begin("r2"), lambda: wh.read("paragraphs")):
        with pytest.raises(CorruptFile) as e:
            attempt()
        msg = str(e.value)
        assert str(victim.relative_to(wh.root)) in msg and "--full-refresh" in msg and "\n" not in msg


def test_a_file_with_a_foreign_schema_is_named(tmp_path):
    wh = Warehouse(tmp_path / "wh")
    publish(wh, "r1", [1])
    pq.write_table(pa.table({"article_id": [1]}), wh.current / "dedup_signatures" / "alien.parquet")
    with pytest.raises(CorruptFile, match=r"alien\.parquet.*article_id is int64, declared string"):
        wh.begin("r2")


def _without_permission_bypass(code: str, *args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-c", code, *args]
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("running as root and setpriv is missing: root reads everything")
        drop = "-dac_override,-dac_read_search"
        cmd = ["setpriv", f"--bounding-set={drop}", f"--inh-caps={drop}", *cmd]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)


_READ = """
import sys
from flows.warehouse import Warehouse, WarehouseError
try:
    print(Warehouse(sys.argv[1]).read("articles").num_rows)
except WarehouseError as e:
    print("ERROR", e)
"""


def test_an_unreadable_partition_is_an_error_not_missing_rows(tmp_path):
    wh = Warehouse(tmp_path / "wh")
    publish(wh, "r1", [1], month="2024-05")
    publish(wh, "r2", [2], month="2024-06")
    locked = wh.current / "articles" / "part=2024-05"
    locked.chmod(0o000)
    try:
        done = _without_permission_bypass(_READ, str(wh.root))
    finally:
        locked.chmod(0o755)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ERROR cannot read table articles"), done.stdout
    assert "Permission denied" in done.stdout


# -- the DuckDB catalog ----------------------------------------------------------------------

def test_catalog_is_rewritten_when_missing_or_stale(tmp_path):
    wh = Warehouse(tmp_path / "wh")
    publish(wh, "r1", [1, 2])
    cat = wh.root / W.CATALOG
    assert wh.catalog_is_current() is True
    con = open_catalog(cat)
    views = {r[0] for r in con.execute("select view_name from duckdb_views() where not internal").fetchall()}
    assert views == set(T.ALL_TABLES) | {"canonical_articles", "_newsetl_catalog"}
    assert con.execute("select count(*) from articles").fetchone() == (2,)
    con.close()
    cat.unlink()
    assert wh.catalog_is_current() is False
    publish(wh, "r2", [3])
    assert wh.catalog_is_current() is True
    con = duckdb.connect(str(cat))                  # stale: someone dropped a view
    con.execute("drop view articles")
    con.execute("create or replace view _newsetl_catalog as select 0 as schema_version, 'old' as views_sha256")
    con.close()
    assert wh.catalog_is_current() is False
    publish(wh, "r3", [4])
    con = open_catalog(cat)
    assert con.execute("select count(*) from articles").fetchone() == (4,)
    con.close()


_HOLD = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])                   # read-write: holds the file's lock
con.execute("create or replace view mine as select 1")
print("holding", flush=True)
time.sleep(60)
"""


def test_a_catalog_held_open_by_a_writer_never_fails_the_publish(tmp_path):
    wh = Warehouse(tmp_path / "wh")
    publish(wh, "r1", [1])
    holder = subprocess.Popen([sys.executable, "-c", _HOLD, str(wh.root / W.CATALOG)], stdout=subprocess.PIPE,
                              text=True, cwd=ROOT)
    try:
        assert holder.stdout.readline().strip() == "holding"
        assert wh.catalog_is_current() is None
        wh.ensure_layout()
        st = wh.begin("r2")
        st.add("articles", pa.Table.from_pylist([article(2)], schema=T.ARTICLES))
        st.build(Changes())
        st.publish()
        assert st.warnings and "open for writing" in st.warnings[0]
        assert wh.row_count("articles") == 2
    finally:
        holder.kill()
        holder.wait()


# -- SIGKILL at every file-system step of build/publish ----------------------------------------

BEFORE = [1, 2, 3]
CHANGE = [4, 5]
# A small fork server: imports the warehouse once, then forks one child per kill point; the
# child publishes CHANGE with NEWSETL_CRASH_AT set and SIGKILLs itself at that point.
_KILL_SERVER = """
import json, os, sys
from tests.unit.flows.test_warehouse_unit import CHANGE, publish
from flows.warehouse import Warehouse
for line in sys.stdin:
    root, point = json.loads(line)
    pid = os.fork()
    if pid == 0:
        os.environ["NEWSETL_CRASH_AT"] = point
        wh = Warehouse(root)
        with wh.lock():
            publish(wh, "killed", CHANGE)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    print(json.dumps([point, os.waitstatus_to_exitcode(status)]), flush=True)
"""
# points the publish() helper passes (the staging writes, every table, both builds, publish)
WAREHOUSE_POINTS = ["after_lock", "after_stage_write", "after_stage_write#2", "after_merge:articles",
                    "after_merge:paragraphs", "after_merge:dq_results", "after_build", "after_merge:runs#2",
                    "after_build#2", "after_fsync", "after_rename", "before_swap", "after_swap",
                    "after_discard", "after_catalog", "after_gc"]
PUBLISHED_FROM = WAREHOUSE_POINTS.index("after_swap")


@pytest.fixture(scope="module")
def references(tmp_path_factory):
    base = tmp_path_factory.mktemp("kill-refs")
    before = Warehouse(base / "before")
    for i, n in enumerate(BEFORE):
        publish(before, f"b{i}", [n])
    after = Warehouse(base / "after")
    shutil.copytree(before.root, after.root, symlinks=True)
    publish(after, "after", CHANGE)
    return before, snapshot(before), snapshot(after)


def test_sigkill_at_every_step_leaves_the_old_or_the_new_warehouse(tmp_path, references):
    before, want_before, want_after = references
    assert want_before != want_after
    roots = {p: tmp_path / p.replace(":", "_").replace("#", "_") for p in WAREHOUSE_POINTS}
    for root in roots.values():
        shutil.copytree(before.root, root, symlinks=True)
    requests = "".join(json.dumps([str(roots[p]), p]) + "\n" for p in WAREHOUSE_POINTS)
    done = subprocess.run([sys.executable, "-c", _KILL_SERVER], input=requests, cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    results = [json.loads(line) for line in done.stdout.splitlines()]
    assert [p for p, _ in results] == WAREHOUSE_POINTS
    for i, (point, rc) in enumerate(results):
        assert rc == -signal.SIGKILL, (point, done.stderr)
        wh = Warehouse(roots[point])
        con = wh.connect()                                            # readable
        assert con.execute("select count(*) from articles").fetchone()[0] in (3, 5)
        con.close()
        assert snapshot(wh) == (want_after if i >= PUBLISHED_FROM else want_before), point
        # the next writer cleans up and completes
        with wh.lock():
            publish(wh, "next", CHANGE if i < PUBLISHED_FROM else [])
        assert snapshot(wh) == want_after, point
        assert list((wh.root / ".staging").iterdir()) == [], point
        assert len(list((wh.root / ".versions").iterdir())) <= W.KEEP_VERSIONS, point


def test_every_crash_point_is_killed_at_by_a_test():
    """A crash point that no kill test names is one nobody checked (the kill tests prove each
    named point is reached: the process dies there)."""
    from tests.e2e.test_crash_safety import RUN_POINTS
    named = {p.split("#")[0] for p in WAREHOUSE_POINTS + RUN_POINTS}
    assert set(W.CRASH_POINTS) <= named, sorted(set(W.CRASH_POINTS) - named)


# -- a real full disk --------------------------------------------------------------------------

_FULL_DISK = """
import sys
from tests.unit.flows.test_warehouse_unit import publish
from flows.warehouse import Warehouse, WarehouseError
try:
    publish(Warehouse(sys.argv[1]), "big", list(range(100, 3100)))
    print("PUBLISHED")
except WarehouseError as e:
    print("ERROR", type(e).__name__, e)
"""


def test_a_full_disk_publishes_nothing_and_says_so(tmp_path, references):
    if shutil.which("unshare") is None or os.geteuid() != 0:
        pytest.skip("needs root and unshare to mount a small tmpfs")
    before, want_before, _ = references
    mnt, out = tmp_path / "mnt", tmp_path / "after-copy"
    mnt.mkdir()
    script = textwrap.dedent(f"""
        set -e
        mount -t tmpfs -o size=8m tmpfs {mnt}
        cp -a {before.root} {mnt}/wh
        dd if=/dev/zero of={mnt}/filler bs=4k 2>/dev/null || true
        truncate -s -16k {mnt}/filler
        {sys.executable} -c '{_FULL_DISK}' {mnt}/wh
        cp -a {mnt}/wh {out}
    """)
    done = subprocess.run(["unshare", "-m", "sh", "-c", script], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    if "mount" in done.stderr and done.returncode != 0:
        pytest.skip(f"cannot mount tmpfs here: {done.stderr.strip()}")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ERROR WarehouseUnwritable cannot "), done.stdout
    assert "No space left on device" in done.stdout and "nothing was published" in done.stdout
    wh = Warehouse(out)
    assert snapshot(wh) == want_before
    assert list((wh.root / ".staging").iterdir()) == []
