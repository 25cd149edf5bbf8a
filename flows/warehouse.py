"""The Parquet warehouse: versioned snapshots, one writer at a time, atomic publish.

Layout under the warehouse root::

    articles -> current/articles          stable paths for readers (symlinks, made once)
    current  -> .versions/<version>       swapped atomically (os.replace of a symlink)
    .versions/<seq>-<run_id>/<table>/[part=YYYY-MM/]*.parquet
    .versions/<seq>-<run_id>/_manifest.json   run_id, schema_version, rows/files/bytes per table
    .staging/<run_id>/new/                rows staged by this run (one file per batch)
    .staging/<run_id>/version/            the next version under construction
    .lock                                 flock held by the one writer
    warehouse.duckdb                      views over the stable paths, for the DuckDB CLI

Write, audit, publish: a run stages its new rows, `build()` assembles a complete next version
in `.staging/<run_id>/version/` (files it does not touch are hard links to the current
version, never copies), the load gate reads that version back, and only then `publish()`
renames it into `.versions/` and swaps `current` with one `os.replace`. A process killed at
any instant leaves `current` pointing at either the old or the new version; what the killed
run left in `.staging/` or `.versions/` is removed by the next writer. Readers that resolved
an older version keep reading it: the last KEEP_VERSIONS versions stay on disk.

Files: zstd, rows sorted by each table's SORT_KEYS, row groups of about ROW_GROUP_BYTES, at
most MAX_FILES_PER_PARTITION files per partition (more and the small ones are merged), the
Arrow schema of transforms/tables.py plus `newsetl.schema_version` in the footer.

Errors: a full disk, a permission problem or a Parquet file someone else damaged raise a
WarehouseError subclass with a one-line message (what, which file, what to do); the CLI prints
it and exits 2 (75 for WarehouseBusy). Nothing is published by a run that raised.

This is the only module that writes Parquet or opens DuckDB.
"""
from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import logging
import os
import shutil
import signal
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from transforms.tables import (ALL_TABLES, DATA_TABLES as T_DATA, PARTITIONED, SCHEMA_VERSION,
                               UNKNOWN_PART, VN_TZ)

KEEP_VERSIONS = 3                    # published versions kept on disk (current + 2 older ones)
MAX_FILES_PER_PARTITION = 8          # more than this after a run -> the small files are merged
SMALL_FILE_BYTES = 32 << 20          # files below this size (on disk) are merged by compaction
MAX_FILE_ARROW_BYTES = 512 << 20     # one written file holds at most this much (in memory) data
ROW_GROUP_BYTES = 64 << 20           # in-memory bytes per row group: a DuckDB thread's unit of scan
ROW_GROUP_ROWS = (1_024, 122_880)    # bounds on rows per row group (DuckDB's own default is 122,880)
PARQUET_OPTS = dict(compression="zstd", compression_level=3)
CATALOG = "warehouse.duckdb"

# Rows of each table are written in this order: deterministic files for the same input, and
# min/max statistics that let DuckDB skip row groups on date or id filters.
SORT_KEYS: dict[str, list[str]] = {
    "articles": ["published_at", "article_id"],
    "paragraphs": ["article_id", "position"],
    "removed": ["article_id", "line_no"],
    "rejects": ["source_path"],
    "duplicate_clusters": ["cluster_id", "article_id"],
    "dedup_signatures": ["article_id"],
}

# Test hooks. NEWSETL_CRASH_AT=<point> SIGKILLs this process when it reaches <point>;
# NEWSETL_PAUSE_AT=<point>:<seconds> sleeps there, and NEWSETL_PAUSE_AT=<point>:<file> waits
# (at most 10 minutes) until <file> exists. `<point>#<n>` names the n-th time the point is
# reached (build() runs twice in a successful run). The points sit between the file-system
# steps of a run, in this order.
CRASH_POINTS = (
    "after_lock",                     # the writer lock is held
    "after_stage_write",              # one batch file written under .staging/<run_id>/new/
    *(f"after_merge:{t}" for t in ALL_TABLES),   # one table of the next version assembled
    "after_build",                    # the next version is complete (manifest written)
    "after_fsync",                    # its files are on disk
    "after_rename",                   # it was renamed into .versions/
    "before_swap",                    # the new `current` link exists under a temporary name
    "after_swap",                     # `current` points at the new version
    "after_discard",                  # .staging/<run_id>/ is gone
    "after_catalog",                  # warehouse.duckdb checked / rewritten
    "after_gc",                       # old versions removed
)
_reached: Counter = Counter()


def _crash_point(point: str) -> None:
    crash, pause = os.environ.get("NEWSETL_CRASH_AT"), os.environ.get("NEWSETL_PAUSE_AT")
    if not crash and not pause:
        return
    _reached[point] += 1
    names = (point, f"{point}#{_reached[point]}")
    if pause:
        where, _, until = pause.rpartition(":")
        if where in names:
            try:
                time.sleep(float(until))
            except ValueError:
                deadline = time.monotonic() + 600
                while not os.path.exists(until) and time.monotonic() < deadline:
                    time.sleep(0.05)
    if crash in names:
        os.kill(os.getpid(), signal.SIGKILL)


# -- errors ---------------------------------------------------------------------------------

class WarehouseError(Exception):
    """The warehouse cannot be used as asked (unwritable, corrupt, busy). One-line message."""


class QueryError(WarehouseError):
    """The SQL of `newsetl query` did not run."""


class WarehouseBusy(WarehouseError):
    """Another run holds the writer lock."""


class CorruptFile(WarehouseError):
    """A Parquet file of the published warehouse cannot be read or has a foreign schema."""


class WarehouseUnwritable(WarehouseError):
    """The file system refused a write: disk full, permission denied, read-only."""


_HINTS = {
    errno.ENOSPC: "free space on that file system and run again",
    errno.EDQUOT: "free space (the disk quota is exhausted) and run again",
    errno.EACCES: "give this user read and write access to the warehouse folder and everything "
                  "under it, or pass another --warehouse",
    errno.EPERM: "give this user read and write access to the warehouse folder and everything "
                 "under it, or pass another --warehouse",
    errno.EROFS: "pass a --warehouse on a writable file system",
}


def _fs_error(e: OSError, doing: str, path: Path | str | None = None) -> WarehouseUnwritable:
    where = e.filename or path
    why = os.strerror(e.errno) if e.errno else str(e).splitlines()[0]
    hint = _HINTS.get(e.errno or 0, "fix the file system problem and run again")
    return WarehouseUnwritable(f"cannot {doing} {where}: {why}; nothing was published ({hint})")


def _corrupt(path: Path, root: Path, table: str, why: str) -> CorruptFile:
    fix = ("restore it from a backup, or delete it and run `newsetl run --full-refresh` to rebuild "
           "the data tables from the source files" if table in T_DATA else
           f"restore it from a backup, or delete it (the {table} rows it holds are lost)")
    try:
        shown = path.relative_to(root)
    except ValueError:
        shown = path
    return CorruptFile(f"{root / shown} is not a readable {table} Parquet file ({why}); nothing was "
                       f"changed: {fix}")


class _OneLineWarehouseErrors(logging.Filter):
    """Prefect's engines log every exception a flow or task raises, with its traceback, and then
    "Finished in state Failed(... <exception>: ...)", at ERROR. A WarehouseError is an environment
    problem that `newsetl` reports in one line (exit 2, or 75 when busy), so the engines' records
    of it are dropped; the run's state message in the Prefect UI still carries the text."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, WarehouseError):
            return False
        if record.levelno >= logging.ERROR and isinstance(record.msg, str) and "Finished in state" in record.msg:
            return not any(f" {cls.__name__}: " in record.msg for cls in _warehouse_errors())
        return True


def _warehouse_errors() -> list[type]:
    out, todo = [], [WarehouseError]
    while todo:
        cls = todo.pop()
        out.append(cls)
        todo += cls.__subclasses__()
    return out


for _name in ("prefect.flow_runs", "prefect.task_runs"):
    logging.getLogger(_name).addFilter(_OneLineWarehouseErrors())


# -- schemas and files ----------------------------------------------------------------------

def file_schema(table: str) -> pa.Schema:
    """Columns stored inside the Parquet files (the hive partition column lives in the path)."""
    schema = ALL_TABLES[table]
    if table in PARTITIONED:
        return schema.remove(schema.get_field_index("part"))
    return schema


def conform(table: str, data: pa.Table) -> pa.Table:
    """Cast/reorder `data` to the declared schema of `table` (missing nullable columns become null)."""
    schema = ALL_TABLES[table]
    cols = []
    for f in schema:
        if f.name in data.column_names:
            cols.append(data.column(f.name).cast(f.type))
        else:
            cols.append(pa.nulls(len(data), f.type))
    return pa.Table.from_arrays(cols, schema=schema)


def _row_group_rows(data: pa.Table) -> int:
    per_row = max(1, data.nbytes // max(1, data.num_rows))
    lo, hi = ROW_GROUP_ROWS
    return max(lo, min(hi, ROW_GROUP_BYTES // per_row))


def _sorted(table: str, data: pa.Table) -> pa.Table:
    keys = [k for k in SORT_KEYS.get(table, []) if k in data.column_names]
    if not keys or data.num_rows < 2:
        return data
    return data.sort_by([(k, "ascending", "at_end") for k in keys])


def _write(table: str, dest: Path, stem: str, data: pa.Table) -> list[Path]:
    """Write `data` (file schema of `table`) as dest/<stem>.parquet, split into more files
    (<stem>-1, -2, ...) when it holds more than MAX_FILE_ARROW_BYTES."""
    dest.mkdir(parents=True, exist_ok=True)
    data = _sorted(table, data.select(file_schema(table).names).cast(
        file_schema(table).with_metadata({"newsetl.table": table, "newsetl.schema_version": str(SCHEMA_VERSION)})))
    n_files = max(1, -(-data.nbytes // MAX_FILE_ARROW_BYTES))
    per_file = -(-data.num_rows // n_files) if data.num_rows else 0
    out = []
    for k in range(n_files):
        part = data.slice(k * per_file, per_file) if n_files > 1 else data
        path = dest / (f"{stem}.parquet" if k == 0 else f"{stem}-{k}.parquet")
        pq.write_table(part, path, row_group_size=_row_group_rows(part), **PARQUET_OPTS)
        out.append(path)
    return out


def _read_file(table: str, path: Path) -> pa.Table:
    """One file of `table` with the declared file schema (columns added since are null)."""
    return ds.dataset(str(path), format="parquet", schema=file_schema(table)).to_table()


def _parquet_files(d: Path) -> list[Path]:
    """*.parquet under `d` (recursive, sorted); [] when `d` does not exist; OSError when a folder
    cannot be listed (Path.rglob would skip it silently)."""
    try:
        os.stat(d)
    except FileNotFoundError:
        return []

    def fail(e: OSError) -> None:
        raise e
    out = []
    for dirpath, _, filenames in os.walk(d, onerror=fail):
        out += [Path(dirpath) / f for f in filenames if f.endswith(".parquet")]
    return sorted(out)


def _fsync(path: Path, directory: bool = False) -> None:
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if directory else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _version_key(path: Path) -> tuple[int, str]:
    """Versions are named <seq>-<run_id>; seq grows by one per publish (older names sort first)."""
    head = path.name.split("-", 1)[0]
    return (int(head) if head.isdigit() and len(head) <= 9 else -1, path.name)


@dataclass
class Changes:
    """What a run changes in the warehouse, besides the new rows it staged."""
    replaced_paths: set[str] = field(default_factory=set)       # source_paths whose old rows go away
    duplicate_of: dict[str, str | None] = field(default_factory=dict)  # article_id -> new duplicate_of
    full_tables: dict[str, pa.Table] = field(default_factory=dict)    # tables replaced wholesale
    audit: dict[str, pa.Table] = field(default_factory=dict)          # runs / dq_results rows to append
    drop_all_data: bool = False                                       # --full-refresh: data tables start empty


class Warehouse:
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root).absolute()

    # -- layout ---------------------------------------------------------------------------
    @property
    def current(self) -> Path | None:
        """The published version folder; None before the first run."""
        link = self.root / "current"
        if not link.is_symlink():
            return None
        target = link.resolve()
        if not target.is_dir():
            raise CorruptFile(f"{link} points at {target}, which does not exist; nothing was changed: "
                              "point `current` at the newest folder under .versions/ (ln -sfn) or move "
                              "the warehouse away and rebuild it")
        return target

    def check_writable(self) -> None:
        """Fail early, with one line, when this process cannot write where a run writes."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise _fs_error(e, "create the warehouse folder") from None
        for d in (self.root, self.root / ".versions", self.root / ".staging"):
            if not d.is_dir():
                continue
            probe = d / f".probe-{os.getpid()}"
            try:
                probe.write_bytes(b"")
                probe.unlink()
            except OSError as e:
                raise _fs_error(OSError(e.errno, e.strerror), "write to the warehouse folder", d) from None

    def ensure_layout(self) -> None:
        """Create the stable per-table symlinks and the hidden folders (idempotent)."""
        try:
            for d in (".versions", ".staging"):
                (self.root / d).mkdir(parents=True, exist_ok=True)
            for table in ALL_TABLES:
                link = self.root / table
                if not link.is_symlink():
                    if link.exists():
                        raise WarehouseError(f"{link} exists and is not a warehouse link; move it away")
                    os.symlink(Path("current") / table, link)
        except OSError as e:
            raise _fs_error(e, "set up the warehouse folder") from None

    @contextmanager
    def lock(self, wait_seconds: float = 0.0) -> Iterator[None]:
        """The single-writer lock. Raises WarehouseBusy when still held after wait_seconds."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.root / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise _fs_error(e, "open the writer lock", self.root / ".lock") from None
        deadline = time.monotonic() + wait_seconds
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as e:
                    if e.errno not in (errno.EAGAIN, errno.EACCES):
                        raise
                    if time.monotonic() >= deadline:
                        holder = os.pread(fd, 200, 0).decode(errors="replace").strip()
                        raise WarehouseBusy(
                            f"another newsetl run is writing to {self.root} ({holder or 'pid unknown'}); "
                            "wait for it to finish or pass --wait SECONDS") from None
                    time.sleep(0.2)
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"pid {os.getpid()}, since {time.strftime('%Y-%m-%d %H:%M:%S')}".encode(), 0)
            _crash_point("after_lock")
            yield
        finally:
            os.close(fd)

    def clean_staging(self) -> None:
        """Remove what killed runs left behind (call with the lock held): staging folders,
        temporary links and catalog files, and versions that were renamed into .versions/ but
        never became current."""
        staging = self.root / ".staging"
        if staging.is_dir():
            for child in staging.iterdir():
                shutil.rmtree(child, ignore_errors=True)
        for pattern in (".current.*", f".{CATALOG}.*.tmp", ".probe-*"):
            for leftover in self.root.glob(pattern):
                leftover.unlink(missing_ok=True)
        cur = self.current
        for v in self._versions():
            if cur is not None and _version_key(v) > _version_key(cur):
                shutil.rmtree(v, ignore_errors=True)

    # -- reading --------------------------------------------------------------------------
    def table_files(self, table: str, version: Path | None = None) -> list[Path]:
        """Parquet files of a table, sorted. An unreadable folder raises OSError instead of
        being skipped, so a run can never drop rows it could not see."""
        base = version or self.current
        return [] if base is None else _parquet_files(base / table)

    def read(self, table: str, columns: list[str] | None = None, version: Path | None = None,
             filter=None) -> pa.Table:
        """Read a table of the current (or given) version; empty with the declared schema if absent."""
        base = version or self.current
        try:
            files = self.table_files(table, base)
        except OSError as e:
            raise _fs_error(e, f"read table {table} in", base) from None
        schema = ALL_TABLES[table]
        if not files:
            t = schema.empty_table()
            return t.select(columns) if columns else t
        try:
            if table in PARTITIONED:
                dataset = ds.dataset([str(f) for f in files], format="parquet", schema=schema,
                                     partitioning=ds.partitioning(pa.schema([("part", pa.string())]),
                                                                  flavor="hive"),
                                     partition_base_dir=str(base / table))
            else:
                dataset = ds.dataset([str(f) for f in files], format="parquet", schema=schema)
            return dataset.to_table(columns=columns, filter=filter)
        except (pa.ArrowException, OSError) as e:
            self.verify(base, [table])                 # names the file when one is damaged
            raise WarehouseError(f"cannot read table {table} of {self.root}: {str(e).splitlines()[0]}") from None

    def row_count(self, table: str, version: Path | None = None) -> int:
        return sum(pq.ParquetFile(f).metadata.num_rows for f in self.table_files(table, version))

    def verify(self, version: Path | None = None, tables: Iterable[str] = ALL_TABLES) -> None:
        """Check the footer and schema of every file of a version (the current one by default).
        Raises CorruptFile naming the first bad file; reads no data pages."""
        base = version or self.current
        if base is None:
            return
        for table in tables:
            declared = file_schema(table)
            try:
                files = self.table_files(table, base)
            except OSError as e:
                raise _fs_error(e, f"read table {table} in", base) from None
            for f in files:
                try:
                    got = pq.read_schema(f)
                except (pa.ArrowException, OSError) as e:
                    why = str(e).splitlines()[0].split(". Either")[0].replace(f"'{f}': ", "")
                    raise _corrupt(f, self.root, table, why) from None
                for col in got:
                    i = declared.get_field_index(col.name)
                    if i < 0:
                        raise _corrupt(f, self.root, table, f"unknown column {col.name}")
                    if not col.type.equals(declared.field(i).type):
                        raise _corrupt(f, self.root, table, f"column {col.name} is {col.type}, "
                                                            f"declared {declared.field(i).type}")

    # -- writing --------------------------------------------------------------------------
    def begin(self, run_id: str) -> "Staging":
        """Start a new version; first checks that every file of the current one is readable."""
        self.verify()
        return Staging(self, run_id)

    def _versions(self) -> list[Path]:
        d = self.root / ".versions"
        return sorted((v for v in d.iterdir() if v.is_dir()), key=_version_key) if d.is_dir() else []

    def gc_versions(self) -> None:
        """Keep the current version and the KEEP_VERSIONS - 1 published before it."""
        cur = self.current
        if cur is None:
            return
        versions = self._versions()
        older = [v for v in versions if _version_key(v) < _version_key(cur)]
        for v in older[:max(0, len(older) - (KEEP_VERSIONS - 1))]:
            shutil.rmtree(v, ignore_errors=True)

    # -- DuckDB -----------------------------------------------------------------------------
    def view_sql(self, base: Path | None = None) -> list[str]:
        """CREATE VIEW statements: one per table plus canonical_articles."""
        base = base or self.root
        stmts = []
        for table in ALL_TABLES:
            glob = str(base / table / "**" / "*.parquet").replace("'", "''")
            stmts.append(f"CREATE OR REPLACE VIEW {table} AS SELECT * FROM read_parquet('{glob}', "
                         "hive_partitioning = true, union_by_name = true)")
        stmts.append("CREATE OR REPLACE VIEW canonical_articles AS "
                     "SELECT * FROM articles WHERE duplicate_of IS NULL")
        return stmts

    def connect(self, base: Path | None = None) -> duckdb.DuckDBPyConnection:
        """An in-memory DuckDB connection with every table as a view.

        The views read one version (the current one when the connection is made), so a run
        that publishes while a query runs cannot mix old and new files. When a table's files
        cannot be read, its view raises that error when queried and the other views still
        work; with an explicit `base` (the load gate reading a staged version) it raises
        CorruptFile at once."""
        strict = base is not None
        base = base or self.current
        if base is None:
            raise WarehouseError(f"{self.root} holds no warehouse yet; run `newsetl run` first")
        con = duckdb.connect()
        con.execute(f"SET TimeZone = '{VN_TZ}'")      # show TIMESTAMPTZ in Vietnam time
        for table, stmt in zip([*ALL_TABLES, "canonical_articles"], self.view_sql(base)):
            try:
                con.execute(stmt)
            except duckdb.Error as e:
                why = f"table {table} of {base} cannot be read: {str(e).splitlines()[0]}"
                if strict:
                    con.close()
                    raise CorruptFile(why) from None
                msg = "error('" + why.replace("'", "''") + "')"
                con.execute(f"CREATE OR REPLACE VIEW {table} AS SELECT {msg} AS unreadable "
                            f"FROM (VALUES (1)) v(x) WHERE {msg} IS NULL")
        return con

    def query(self, sql: str):
        """Run SQL over the views; returns a pandas DataFrame (or None for statements without rows)."""
        con = self.connect()
        try:
            rel = con.sql(sql)
            return None if rel is None else rel.df()
        except duckdb.Error as e:
            raise QueryError(f"query failed: {str(e).splitlines()[0]}") from None
        finally:
            con.close()

    def _catalog_sql(self) -> tuple[list[str], str]:
        stmts = self.view_sql()
        digest = hashlib.sha256("\n".join(stmts).encode()).hexdigest()
        stmts.append(f"CREATE OR REPLACE VIEW _newsetl_catalog AS SELECT {SCHEMA_VERSION} AS schema_version, "
                     f"'{digest}' AS views_sha256")
        return stmts, digest

    def catalog_is_current(self) -> bool | None:
        """True when warehouse.duckdb has today's views, False when missing or stale, None when
        another process holds it open for writing (it cannot be checked)."""
        path = self.root / CATALOG
        if not path.exists():
            return False
        _, digest = self._catalog_sql()
        try:
            con = duckdb.connect(str(path), read_only=True)
        except duckdb.IOException as e:
            if "lock" in str(e).lower():
                return None
            return False
        except duckdb.Error:
            return False
        try:
            return con.execute("SELECT views_sha256 FROM _newsetl_catalog").fetchone() == (digest,)
        except duckdb.Error:
            return False
        finally:
            con.close()

    def write_catalog(self) -> None:
        """(Re)create warehouse.duckdb with the views, for `duckdb warehouse/warehouse.duckdb`.
        Written under a temporary name and renamed, so a reader never sees half a file."""
        target = self.root / CATALOG
        tmp = self.root / f".{CATALOG}.{os.getpid()}.tmp"
        tmp.unlink(missing_ok=True)
        con = duckdb.connect(str(tmp))
        try:
            for stmt in self._catalog_sql()[0]:
                con.execute(stmt)
        finally:
            con.close()
        os.replace(tmp, target)

    def refresh_catalog(self) -> str | None:
        """Rewrite warehouse.duckdb when it is missing or its views are stale (new tables, the
        warehouse moved). Never raises: returns a warning line instead, e.g. when a DuckDB
        session holds the file open for writing."""
        try:
            state = self.catalog_is_current()
            if state is None:
                return (f"{self.root / CATALOG} is open for writing in another DuckDB session; "
                        "its views were not checked (`newsetl query` is unaffected)")
            if not state:
                self.write_catalog()
            return None
        except Exception as e:  # noqa: BLE001 - the catalog is a convenience; the run is published
            return f"could not write {self.root / CATALOG}: {str(e).splitlines()[0]}"


class Staging:
    """A new warehouse version being built in .staging/<run_id>/."""

    def __init__(self, wh: Warehouse, run_id: str):
        self.wh = wh
        self.run_id = run_id
        self.dir = wh.root / ".staging" / run_id
        self.new_dir = self.dir / "new"
        self.version_dir = self.dir / "version"
        self.warnings: list[str] = []
        self._batches: Counter = Counter()
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise _fs_error(e, "create the staging folder", self.dir) from None

    # -- staged rows ------------------------------------------------------------------------
    def add(self, table: str, data: pa.Table) -> None:
        """Stage new rows of a table: one file per call and partition (merged at build())."""
        if data.num_rows == 0:
            return
        n = self._batches[table]
        self._batches[table] += 1
        data = conform(table, data)
        try:
            if table in PARTITIONED:
                parts = pc.fill_null(data["part"], UNKNOWN_PART)
                for p in sorted(pc.unique(parts).to_pylist()):
                    _write(table, self.new_dir / table / f"part={p}", f"b{n:06d}",
                           data.filter(pc.equal(parts, p)))
            else:
                _write(table, self.new_dir / table, f"b{n:06d}", data)
        except OSError as e:
            self.discard()
            raise _fs_error(e, "stage new rows in", self.new_dir / table) from None
        _crash_point("after_stage_write")

    def _staged_files(self, table: str, part: str | None = None) -> list[Path]:
        d = self.new_dir / table
        if part is not None:
            d = d / f"part={part}"
        return _parquet_files(d)

    def _staged_parts(self, table: str) -> list[str]:
        d = self.new_dir / table
        return sorted(p.name.split("=", 1)[1] for p in d.glob("part=*")) if d.is_dir() else []

    def staged(self, table: str, columns: list[str] | None = None) -> pa.Table:
        """All rows staged so far for `table` (declared schema, `part` included)."""
        files = self._staged_files(table)
        if not files:
            t = ALL_TABLES[table].empty_table()
            return t.select(columns) if columns else t
        kw = {}
        if table in PARTITIONED:
            kw = dict(partitioning=ds.partitioning(pa.schema([("part", pa.string())]), flavor="hive"),
                      partition_base_dir=str(self.new_dir / table))
        return ds.dataset([str(f) for f in files], format="parquet", schema=ALL_TABLES[table],
                          **kw).to_table(columns=columns)

    # -- the next version -------------------------------------------------------------------
    def build(self, changes: Changes, only: Iterable[str] | None = None) -> Path:
        """Assemble the complete next version in .staging/<run_id>/version/.

        Per table and partition: files of the current version that no change touches are hard
        links; files holding a replaced row (or an article whose duplicate_of changes) are
        rewritten without / with the new value; staged files move in as they are (rewritten
        when a duplicate_of in them changes; merged when the partition would hold more than
        MAX_FILES_PER_PARTITION files). `only`
        rebuilds just those tables of an already built version (the audit tables after the
        load gate). On a file-system error the staging folder is removed and
        WarehouseUnwritable is raised."""
        try:
            return self._build(changes, set(only) if only is not None else None)
        except OSError as e:
            self.discard()
            raise _fs_error(e, "build the next version in", self.version_dir) from None
        except WarehouseError:
            self.discard()
            raise

    def _build(self, changes: Changes, only: set[str] | None) -> Path:
        cur = self.wh.current
        if only is None or not (self.version_dir / "_manifest.json").exists():
            if self.version_dir.exists():
                shutil.rmtree(self.version_dir)
            self.version_dir.mkdir(parents=True)
            tables = list(ALL_TABLES)
        else:
            tables = [t for t in ALL_TABLES if t in only]
        gone_ids: set[str] = set()
        touched_parts: set[str] = set()
        if (changes.replaced_paths or changes.duplicate_of) and not changes.drop_all_data:
            # which old articles go, and which partitions hold a row that changes (read only
            # when something is replaced or re-marked; the audit-only rebuild never needs it)
            old_articles = self.wh.read("articles", ["article_id", "source_path", "part"])
            gone_ids = set(pc.filter(old_articles["article_id"], pc.is_in(
                old_articles["source_path"], pa.array(sorted(changes.replaced_paths), pa.string()))).to_pylist())
            id_to_part = dict(zip(old_articles["article_id"].to_pylist(), old_articles["part"].to_pylist()))
            touched_parts = {id_to_part[i] for i in gone_ids | set(changes.duplicate_of) if i in id_to_part}
        for table in tables:
            out = self.version_dir / table
            if out.exists():
                shutil.rmtree(out)
            out.mkdir(parents=True)
            if table in changes.full_tables:
                data = conform(table, changes.full_tables[table])
                if data.num_rows:
                    _write(table, out, self.run_id, data)
            else:
                base = None if (changes.drop_all_data and table in T_DATA) else cur
                self._merge_table(table, base, out, changes, gone_ids, touched_parts)
            if not any(out.rglob("*.parquet")):
                dest = out / f"part={UNKNOWN_PART}" if table in PARTITIONED else out
                _write(table, dest, "empty", file_schema(table).empty_table())
            _crash_point(f"after_merge:{table}")
        manifest = self.version_dir / "_manifest.json"
        counts = json.loads(manifest.read_text())["tables"] if manifest.exists() else {}
        for table in tables:                          # the others were counted by the first build
            files = self.wh.table_files(table, self.version_dir)
            counts[table] = {"rows": self.wh.row_count(table, self.version_dir), "files": len(files),
                             "bytes": sum(f.stat().st_size for f in files)}
        (self.version_dir / "_manifest.json").write_text(json.dumps(
            {"run_id": self.run_id, "schema_version": SCHEMA_VERSION, "tables": counts}, indent=1))
        _crash_point("after_build")
        return self.version_dir

    def _merge_table(self, table: str, cur: Path | None, out: Path, changes: Changes,
                     gone_ids: set[str], touched_parts: set[str]) -> None:
        partitioned = table in PARTITIONED
        key_col, gone = _delete_key(table, changes, gone_ids)
        updates = changes.duplicate_of if table == "articles" else {}
        audit = conform(table, changes.audit[table]) if table in changes.audit else None
        old_parts: dict[str, list[Path]] = {}
        if cur is not None:
            for f in _parquet_files(cur / table):
                if f.name != "empty.parquet":
                    old_parts.setdefault(f.parent.name.split("=", 1)[1] if partitioned else "", []).append(f)
        new_parts = self._staged_parts(table) if partitioned else [""]
        for p in sorted(set(old_parts) | set(new_parts)):
            dest = out / f"part={p}" if partitioned else out
            # staged files: moved into the version as they are, unless a duplicate_of changes
            moved, fresh = [], []
            for f in self._staged_files(table, p if partitioned else None):
                if updates and _file_has(f, table, key_col, set(), updates):
                    fresh.append(_apply_duplicate_of(_read_file(table, f), updates))
                else:
                    moved.append(f)
            if audit is not None and audit.num_rows:
                fresh.append(audit.select(file_schema(table).names))
            # old files: keep (hard link) unless a change touches one of their rows
            kept, rewritten = [], []
            may_change = (gone or updates) and (not partitioned or p in touched_parts)
            for f in old_parts.get(p, []):
                if may_change and _file_has(f, table, key_col, gone, updates):
                    t = _read_file(table, f)
                    if gone:
                        t = t.filter(pc.invert(pc.is_in(t[key_col], pa.array(sorted(gone), pa.string()))))
                    if updates:
                        t = _apply_duplicate_of(t, updates)
                    rewritten.append(t)
                else:
                    kept.append(f)
            pool = [t for t in rewritten + fresh if t.num_rows]
            if len(kept) + len(moved) + (1 if pool else 0) > MAX_FILES_PER_PARTITION:
                small = [f for f in kept if f.stat().st_size < SMALL_FILE_BYTES]
                kept = [f for f in kept if f not in small]
                pool = [_read_file(table, f) for f in small + moved] + pool
                moved = []
            for f in kept:
                _link(f, dest / f.name)
            for f in moved:
                dest.mkdir(parents=True, exist_ok=True)
                os.replace(f, dest / f"{self.run_id}-{f.stem}.parquet")
            if pool:
                _write(table, dest, self.run_id, pa.concat_tables(pool))

    # -- publish ----------------------------------------------------------------------------
    def publish(self) -> Path:
        """Make the built version current in one atomic step, then refresh warehouse.duckdb and
        remove old versions (problems with those two become `self.warnings`, never errors)."""
        versions = self.wh.root / ".versions"
        try:
            versions.mkdir(exist_ok=True)
            seq = max([_version_key(v)[0] for v in self.wh._versions()] + [0]) + 1
            final = versions / f"{seq:06d}-{self.run_id}"
            for f in sorted(self.version_dir.rglob("*"), reverse=True):     # files before their folders
                if f.is_dir():
                    _fsync(f, directory=True)
                elif f.stat().st_nlink == 1:                                 # written by this run
                    _fsync(f)
            _fsync(self.version_dir, directory=True)
            _crash_point("after_fsync")
            os.rename(self.version_dir, final)
            _fsync(versions, directory=True)
            _crash_point("after_rename")
            tmp = self.wh.root / f".current.{self.run_id}"
            tmp.unlink(missing_ok=True)
            os.symlink(Path(".versions") / final.name, tmp)
            _crash_point("before_swap")
            os.replace(tmp, self.wh.root / "current")          # the atomic step
            _fsync(self.wh.root, directory=True)
        except OSError as e:
            self.discard()
            raise _fs_error(e, "publish the new version in", self.wh.root) from None
        _crash_point("after_swap")
        self.discard()
        _crash_point("after_discard")
        warning = self.wh.refresh_catalog()
        if warning:
            self.warnings.append(warning)
        _crash_point("after_catalog")
        try:
            self.wh.gc_versions()
        except OSError as e:
            self.warnings.append(f"could not remove old versions: {e}")
        _crash_point("after_gc")
        return final

    def discard(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def _delete_key(table: str, changes: Changes, gone_ids: set[str]) -> tuple[str, set[str]]:
    """The column that identifies rows a run replaces, and the values that go."""
    if table in ("articles", "rejects"):
        return "source_path", changes.replaced_paths
    if table in ("paragraphs", "removed", "dedup_signatures"):
        return "article_id", gone_ids
    return "", set()


def _file_has(path: Path, table: str, key_col: str, gone: set[str], updates: dict) -> bool:
    """Whether a file holds a row that is deleted or whose duplicate_of changes (reads ids only)."""
    cols = sorted({c for c in (key_col if gone else "", "article_id" if updates else "") if c})
    t = pq.read_table(path, columns=cols)
    if gone and pc.any(pc.is_in(t[key_col], pa.array(sorted(gone), pa.string()))).as_py():
        return True
    return bool(updates) and pc.any(pc.is_in(t["article_id"], pa.array(sorted(updates), pa.string()))).as_py()


def _link(src: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dest)
    except OSError as e:
        if e.errno not in (errno.EPERM, errno.EXDEV, errno.EMLINK):
            raise
        shutil.copy2(src, dest)          # hard links refused (protected_hardlinks, other device)


def _apply_duplicate_of(articles: pa.Table, updates: dict[str, str | None]) -> pa.Table:
    ids = articles["article_id"].to_pylist()
    cur = articles["duplicate_of"].to_pylist()
    new = [updates[i] if i in updates else c for i, c in zip(ids, cur)]
    idx = articles.schema.get_field_index("duplicate_of")
    return articles.set_column(idx, "duplicate_of", pa.array(new, pa.string()))
