"""The warehouse seen from outside: DuckDB views from `newsetl query` and from warehouse.duckdb,
partition pruning, compaction over many small runs, reconciliation, the writer lock with
readers querying during a publish, and damaged / read-only / full warehouses (exit 2, one
line, nothing published). Subprocess runs use the session's Prefect test server."""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import textwrap
import threading
import time
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flows import warehouse as W
from flows.warehouse import Warehouse
from flows.warehouse.catalog import open_catalog
from tests.conftest import NEWSETL, ROOT, SEEDS, duck, tree_digest
from transforms import tables as T


# -- helpers shared with test_crash_safety.py -----------------------------------------------

def cli_env(tmp_path: Path, **extra: str) -> dict:
    """Environment for a `newsetl` subprocess: its own PREFECT_HOME, and the API of the session's
    Prefect test server (saves starting an ephemeral server per process)."""
    from prefect.settings import PREFECT_API_URL
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect-home"), **extra}
    env.pop("PREFECT_API_URL", None)
    if PREFECT_API_URL.value():
        env["PREFECT_API_URL"] = PREFECT_API_URL.value()
    for k in ("NEWSETL_CRASH_AT", "NEWSETL_PAUSE_AT"):
        if k not in extra:
            env.pop(k, None)
    return env


def start(args: list[str], env: dict, prefix: list[str] | None = None) -> subprocess.Popen:
    return subprocess.Popen([*(prefix or []), *NEWSETL, *args], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                            start_new_session=True)


def finish(proc: subprocess.Popen, timeout: float = 300) -> tuple[int, str, str]:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        out, err = proc.communicate()
        raise AssertionError(f"newsetl did not finish in {timeout}s: {err[-2000:]}")
    return proc.returncode, out, err


def run_cli(args: list[str], env: dict, prefix: list[str] | None = None, timeout: float = 300):
    return finish(start(args, env, prefix), timeout)


def source_of(tmp_path: Path, names: list[str], name: str = "source") -> Path:
    d = tmp_path / name
    d.mkdir()
    for n in names:
        shutil.copy(SEEDS / n, d / n)
    return d


SEED_NAMES = sorted(p.name for p in SEEDS.iterdir())


def file_state(root: Path) -> dict:
    """Every file reachable from `current` (path -> sha256), plus where `current` points."""
    cur = (root / "current").resolve()
    out = {"current": cur.name}
    for f in sorted(cur.rglob("*")):
        if f.is_file():
            out[str(f.relative_to(cur))] = hashlib.sha256(f.read_bytes()).hexdigest()
    return out


def one_line_error(rc: int, err: str, code: int) -> str:
    """The exit code, and exactly one `newsetl:` line on stderr: no traceback, no ERROR log
    line. (Prefect's own WARNING lines at shutdown, e.g. "EventsWorker - Still processing
    items", are not the CLI's and are tolerated, and so are the `run <id>: <url>` link to the run
    in the Prefect UI that the CLI prints first when a server is configured, and the progress
    lines of a stderr that is not a terminal, `news-etl <stage>: ...` (flows/progress.py).)"""
    assert rc == code, err
    assert "Traceback" not in err, err
    ours = [l for l in err.splitlines() if l.startswith("newsetl: ")]
    assert len(ours) == 1, err
    assert not [l for l in err.splitlines() if "| ERROR" in l or "| CRITICAL" in l], err
    others = [l for l in err.splitlines() if l.strip() and l not in ours
              and not re.fullmatch(r"run \S+: https?://\S+", l)
              and not re.fullmatch(r"news-etl [\w?]+: (done )?\d+ ?/?\d* files.*", l)]
    assert all("| WARNING |" in l for l in others), err
    return ours[0]


@pytest.fixture
def seeded(run_etl, tmp_path) -> tuple[Path, Path]:
    """A warehouse holding 3 of the 5 seeds, and a source folder with all 5."""
    wh = tmp_path / "wh"
    assert run_etl(source_of(tmp_path, SEED_NAMES[:3], "first"), wh).is_completed()
    return wh, source_of(tmp_path, SEED_NAMES)


# -- DuckDB ----------------------------------------------------------------------------------

def test_every_table_is_a_view_in_newsetl_query_and_in_warehouse_duckdb(seeded, cli, tmp_path):
    wh, _ = seeded
    want = set(T.ALL_TABLES) | {"canonical_articles"}
    r = cli("query", "select table_name from information_schema.tables order by 1", "--warehouse", str(wh),
            "--format", "json")
    assert r.returncode == 0, r.stderr
    assert {row["table_name"] for row in json.loads(r.stdout)} == want
    con = open_catalog(wh / W.CATALOG)
    try:
        names = {n for (n,) in con.execute("select table_name from information_schema.tables").fetchall()}
        assert names == want | {"_newsetl_catalog"}
        for table in sorted(want):
            n_file = con.execute(f"select count(*) from {table}").fetchone()[0]
            assert [(n_file,)] == duck(wh, f"select count(*) from {table}"), table
    finally:
        con.close()
    assert duck(wh, "select count(*) from articles") == [(3,)]


def test_a_filter_on_part_reads_only_that_partitions_files(seeded):
    wh, _ = seeded
    parts = duck(wh, "select part, count(*) from articles group by 1 order by 1")
    assert len(parts) >= 2
    one = parts[0][0]
    con = Warehouse(wh).connect()
    try:
        def scanned(sql: str) -> tuple[int, str]:
            plan = con.execute("EXPLAIN ANALYZE " + sql).fetchall()[0][1]
            (files,) = re.findall(r"Total Files Read: (\d+)", plan)
            return int(files), "".join(re.findall(r"Scanning Files: (\d+/\d+)", plan))
        all_files, _ = scanned("select sum(length(body)) from articles")          # reads data, not just counts
        pruned, ratio = scanned(f"select sum(length(body)) from articles where part = '{one}'")
    finally:
        con.close()
    assert all_files == len(Warehouse(wh).table_files("articles")) >= 2
    assert pruned == 1 and ratio == f"1/{all_files}"


# -- compaction --------------------------------------------------------------------------------

def _variants(n: int) -> list[tuple[str, str]]:
    """n different pages published in the same month (one seed with an extra paragraph each)."""
    lines = (SEEDS / SEED_NAMES[4]).read_text(encoding="utf-8").splitlines()
    first = next(i for i, line in enumerate(lines) if len(line) > 200)      # the first body paragraph
    out = []
    for i in range(n):
        extra = (f" Bản tin số {i} ghi thêm rằng có {i + 3} đại biểu dự phiên họp thứ {i + 1} "
                 f"và {2 * i + 5} kiến nghị đã được gửi tới ban tổ chức.")
        out.append((f"v{i:02d}.txt", "\n".join(lines[:first] + [lines[first] + extra] + lines[first + 1:]) + "\n"))
    return out


@pytest.mark.slow
def test_twelve_small_incremental_runs_compact_and_equal_one_run(run_etl, tmp_path):
    src, wh = tmp_path / "src", tmp_path / "wh"
    src.mkdir()
    pages = _variants(12)
    for name, text in pages:
        (src / name).write_text(text, encoding="utf-8")
        state = run_etl(src, wh)
        assert state.is_completed(), state.message
        cur = Warehouse(wh).current
        for d in {f.parent for f in cur.rglob("*.parquet")}:
            assert len(list(d.glob("*.parquet"))) <= W.MAX_FILES_PER_PARTITION, d
    assert duck(wh, "select count(*), count(distinct part) from articles") == [(12, 1)]
    assert duck(wh, "select count(*) from runs") == [(12,)]
    one = tmp_path / "one"
    assert run_etl(src, one, full_refresh=True).is_completed()
    assert tree_digest(wh) == tree_digest(one)


# -- reconciliation ----------------------------------------------------------------------------

def test_rows_written_behind_the_runs_back_fail_the_reconciliation(run_etl, seeded, monkeypatch):
    """Someone adds a file to the published version while a run is between build and gate: the
    run's counts no longer add up, the load gate blocks, and the run's rows are not published."""
    wh, src = seeded
    W._reached.clear()
    monkeypatch.setenv("NEWSETL_PAUSE_AT", "after_build#1:5")
    cur = Warehouse(wh).current
    intruder = Warehouse(wh).read("articles").slice(0, 1)
    intruder = intruder.set_column(intruder.schema.get_field_index("source_path"), "source_path",
                                   pa.array(["intruder.txt"]))

    def sneak_in():
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if list((wh / ".staging").glob("*/version/_manifest.json")):
                part = intruder["part"][0].as_py()
                pq.write_table(intruder.drop_columns(["part"]), cur / "articles" / f"part={part}" / "x.parquet")
                return
            time.sleep(0.05)
    t = threading.Thread(target=sneak_in)
    t.start()
    state = run_etl(src, wh)
    t.join()
    assert state.is_failed()
    assert "warehouse_run" in state.message and "articles_published" in state.message, state.message
    assert duck(wh, "select count(*) from articles") == [(4,)]            # 3 + the intruder, none of the run's
    assert duck(wh, "select status from runs order by started_at") == [("completed",), ("failed",)]


def test_input_files_not_accounted_for_is_a_critical_failure(run_etl, seeded, monkeypatch):
    """A fault that cannot be caused from outside: the scan counted a file that no stage
    accounted for. The stats handed to the load gate are bumped by one."""
    from flows import gates
    wh, src = seeded
    before = tree_digest(wh)
    real = gates.gate_warehouse

    def one_file_lost(wh_, version, stats, audit, full_refresh, data_changed=True):
        stats.files_read += 1
        return real(wh_, version, stats, audit, full_refresh, data_changed)
    monkeypatch.setattr(gates, "gate_warehouse", one_file_lost)
    state = run_etl(src, wh)
    assert state.is_failed()
    assert "files_accounted" in state.message, state.message
    assert tree_digest(wh) == before
    (ok,) = duck(wh, "select success from dq_results where suite = 'warehouse_run' and expectation = "
                     "'expect_column_pair_values_to_be_equal' and \"column\" like 'files_read%' and run_id = "
                     "(select run_id from runs where status = 'failed')")
    assert ok == (False,)


# -- the lock, and readers during a publish ----------------------------------------------------

def test_a_second_run_is_told_busy_a_waiting_run_follows_and_readers_keep_reading(seeded, tmp_path):
    wh, src = seeded
    env = cli_env(tmp_path)
    go = tmp_path / "go"                                  # the first run holds the lock until this exists
    first = start(["run", "--source", str(src), "--warehouse", str(wh), "--no-tokens"],
                  {**env, "NEWSETL_PAUSE_AT": f"after_lock:{go}"})
    deadline = time.monotonic() + 120
    while (wh / ".lock").read_text().split(",")[0] != f"pid {first.pid}":
        assert first.poll() is None and time.monotonic() < deadline, "the first run never took the lock"
        time.sleep(0.1)
    busy = start(["run", "--source", str(src), "--warehouse", str(wh), "--no-tokens"], env)
    waiting = start(["run", "--source", str(src), "--warehouse", str(wh), "--no-tokens", "--wait", "300"], env)
    seen, catalog_seen, errors = [], [], []
    released = None
    while waiting.poll() is None or first.poll() is None:
        if released is None and (busy.poll() is not None or time.monotonic() > deadline + 120):
            released = time.monotonic() + 2               # let the waiting run reach the lock too
        if released is not None and time.monotonic() > released and not go.exists():
            go.touch()
        try:
            seen.append(Warehouse(wh).query("select count(*) as n from articles")["n"][0])
            con = open_catalog(wh / W.CATALOG)
            try:
                catalog_seen.append(con.execute("select count(*) from articles").fetchone()[0])
            finally:
                con.close()
        except Exception as e:  # noqa: BLE001 - every failed read is a finding
            errors.append(repr(e))
        time.sleep(0.05)
    rc, _, err = finish(busy)
    line = one_line_error(rc, err, 75)
    assert "another newsetl run is writing" in line and f"pid {first.pid}" in line and "--wait" in line
    rc, out, err = finish(first)
    assert rc == 0, err
    assert "articles 2 new" in out
    rc, out, err = finish(waiting)
    assert rc == 0, err
    assert "skipped (unchanged) 5" in out
    assert errors == []
    assert set(seen) == {3, 5} and seen[0] == 3 and seen[-1] == 5
    assert set(catalog_seen) <= {3, 5} and catalog_seen[-1] == 5
    assert list((wh / ".staging").iterdir()) == []


# -- damaged, read-only and full warehouses ------------------------------------------------------

def test_a_truncated_parquet_file_stops_the_run_with_one_line(seeded, tmp_path, run_etl, cli):
    wh, src = seeded
    victim = Warehouse(wh).table_files("paragraphs")[0]
    victim.write_bytes(victim.read_bytes()[: victim.stat().st_size // 2])
    before = file_state(wh)
    rc, _, err = run_cli(["run", "--source", str(src), "--warehouse", str(wh), "--no-tokens"], cli_env(tmp_path))
    line = one_line_error(rc, err, 2)
    assert str(victim.relative_to(wh)) in line and "--full-refresh" in line
    assert file_state(wh) == before
    r = cli("query", "select count(*) from paragraphs", "--warehouse", str(wh))
    # a query error is printed whole (the statement, DuckDB's message, a hint): one `newsetl:`
    # line heads it, no traceback, and it names the damaged file
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert [l for l in r.stderr.splitlines() if l.startswith("newsetl: ")] == [r.stderr.splitlines()[0]], r.stderr
    assert victim.name in r.stderr, r.stderr
    # what the message says to do works
    victim.unlink()
    assert run_etl(src, wh, full_refresh=True).is_completed()
    assert duck(wh, "select count(*) from articles") == [(5,)]


def _as_unprivileged_root() -> list[str]:
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root and setpriv is missing: root writes everywhere")
    drop = "-dac_override,-dac_read_search"
    return ["setpriv", f"--bounding-set={drop}", f"--inh-caps={drop}"]


def _chmod_tree(root: Path, writable: bool) -> None:
    for d, dirs, files in os.walk(root):
        os.chmod(d, 0o755 if writable else 0o555)
        for f in files:
            if not os.path.islink(os.path.join(d, f)):
                os.chmod(os.path.join(d, f), 0o644 if writable else 0o444)


def test_permission_denied_is_one_line_and_exit_2(seeded, tmp_path):
    wh, src = seeded
    prefix = _as_unprivileged_root()
    env = cli_env(tmp_path)
    before = file_state(wh)
    args = ["run", "--source", str(src), "--warehouse", str(wh), "--no-tokens"]
    _chmod_tree(wh, writable=False)                       # the whole warehouse read-only
    try:
        rc, _, err = run_cli(args, env, prefix)
    finally:
        _chmod_tree(wh, writable=True)
    line = one_line_error(rc, err, 2)
    assert "Permission denied" in line and "write access" in line
    assert file_state(wh) == before


@pytest.mark.slow
def test_an_unreadable_folder_deep_inside_is_one_line_and_exit_2(seeded, tmp_path):
    wh, src = seeded
    prefix = _as_unprivileged_root()
    env = cli_env(tmp_path)
    before = file_state(wh)
    args = ["run", "--source", str(src), "--warehouse", str(wh), "--no-tokens"]
    locked = Warehouse(wh).current / "articles"           # found by the run, not by the CLI's check
    part = sorted(locked.glob("part=*"))[0]
    part.chmod(0o000)
    try:
        rc, _, err = run_cli(args, env, prefix)
    finally:
        part.chmod(0o755)
    line = one_line_error(rc, err, 2)
    assert "cannot read table articles" in line and "Permission denied" in line
    assert file_state(wh) == before


@pytest.mark.slow
def test_a_full_disk_is_one_line_exit_2_and_publishes_nothing(seeded, tmp_path):
    if shutil.which("unshare") is None or os.geteuid() != 0:
        pytest.skip("needs root and unshare to mount a small tmpfs")
    wh, src = seeded
    before = tree_digest(wh)
    mnt, out = tmp_path / "mnt", tmp_path / "after-copy"
    mnt.mkdir()
    env = cli_env(tmp_path)
    cmd = " ".join(NEWSETL)
    script = textwrap.dedent(f"""
        mount -t tmpfs -o size=16m tmpfs {mnt} || exit 99
        cp -a {wh} {mnt}/wh
        dd if=/dev/zero of={mnt}/filler bs=4k 2>/dev/null
        truncate -s -8k {mnt}/filler
        {cmd} run --source {src} --warehouse {mnt}/wh --no-tokens
        rc=$?
        cp -a {mnt}/wh {out}
        exit $rc
    """)
    done = subprocess.run(["unshare", "-m", "sh", "-c", script], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env=env)
    if done.returncode == 99:
        pytest.skip(f"cannot mount tmpfs here: {done.stderr.strip()}")
    line = one_line_error(done.returncode, done.stderr, 2)
    assert "No space left on device" in line and "nothing was published" in line
    assert tree_digest(out) == before
    assert list((out / ".staging").iterdir()) == []
