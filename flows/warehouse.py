"""The Parquet warehouse: versioned snapshots, one writer at a time, atomic publish.

Layout under the warehouse root::

    articles -> current/articles          stable paths for readers (symlinks, made once)
    current  -> .versions/<version>       swapped atomically (os.replace of a symlink)
    .versions/<version>/<table>/[part=YYYY-MM/]*.parquet
    .versions/<version>/_manifest.json    run_id, row and file counts per table
    .staging/<run_id>/                    a version under construction
    .lock                                 flock held by the one writer
    warehouse.duckdb                      views over the stable paths, for the DuckDB CLI

A run builds a complete new version in `.staging/<run_id>/`: files of tables it does not
touch are hard links to the previous version (no copy), partitions it touches are rewritten,
new rows become one file per partition. The load gate reads the staged version back, and
only then `publish()` renames it into `.versions/` and swaps `current`. A process killed at
any instant leaves `current` pointing at either the old or the new version; leftovers in
`.staging/` are removed by the next writer. Readers that opened files of an older version
keep reading it (old versions are kept for a while, see KEEP_VERSIONS).

This is the only module that writes Parquet or opens DuckDB.
"""
from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from transforms.tables import VN_TZ, ALL_TABLES, DATA_TABLES as T_DATA, PARTITIONED, UNKNOWN_PART

KEEP_VERSIONS = 3
MAX_FILES_PER_PARTITION = 8          # more than this after a run -> the partition is compacted
ROW_GROUP_ROWS = 32_768
PARQUET_OPTS = dict(compression="zstd", compression_level=3)


class WarehouseError(Exception):
    """The warehouse cannot be used as asked (unwritable, corrupt, busy)."""


class QueryError(WarehouseError):
    """The SQL of `newsetl query` did not run."""


class WarehouseBusy(WarehouseError):
    """Another run holds the writer lock."""


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


def _write(path: Path, data: pa.Table) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(data, path, row_group_size=ROW_GROUP_ROWS, **PARQUET_OPTS)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


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
        link = self.root / "current"
        return link.resolve() if link.is_symlink() and link.resolve().is_dir() else None

    def check_writable(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            probe = self.root / f".probe-{os.getpid()}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as e:
            raise WarehouseError(f"cannot write to warehouse {self.root}: {e.strerror or e}") from None

    def ensure_layout(self) -> None:
        """Create the stable per-table symlinks and the DuckDB catalog file (idempotent)."""
        for d in (".versions", ".staging"):
            (self.root / d).mkdir(parents=True, exist_ok=True)
        for table in ALL_TABLES:
            link = self.root / table
            if not link.is_symlink():
                if link.exists():
                    raise WarehouseError(f"{link} exists and is not a warehouse link; move it away")
                os.symlink(Path("current") / table, link)

    @contextmanager
    def lock(self, wait_seconds: float = 0.0) -> Iterator[None]:
        """The single-writer lock. Raises WarehouseBusy when still held after wait_seconds."""
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
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
            os.pwrite(fd, f"pid {os.getpid()}".encode(), 0)
            yield
        finally:
            os.close(fd)

    def clean_staging(self) -> None:
        """Remove leftovers of runs that were killed (call with the lock held)."""
        staging = self.root / ".staging"
        if staging.is_dir():
            for child in staging.iterdir():
                shutil.rmtree(child, ignore_errors=True)

    # -- reading --------------------------------------------------------------------------
    def table_files(self, table: str, version: Path | None = None) -> list[Path]:
        base = (version or self.current)
        if base is None:
            return []
        d = base / table
        return sorted(d.rglob("*.parquet")) if d.is_dir() else []

    def read(self, table: str, columns: list[str] | None = None, version: Path | None = None,
             filter=None) -> pa.Table:
        """Read a table of the current (or given) version; empty with the declared schema if absent."""
        files = self.table_files(table, version)
        schema = ALL_TABLES[table]
        if not files:
            t = schema.empty_table()
            return t.select(columns) if columns else t
        try:
            part = "hive" if table in PARTITIONED else None
            dataset = ds.dataset([str(f) for f in files], format="parquet", partitioning=None)
            if part:
                dataset = ds.dataset([str(f) for f in files], format="parquet",
                                     partitioning=ds.partitioning(pa.schema([("part", pa.string())]), flavor="hive"),
                                     partition_base_dir=str((version or self.current) / table))
            return dataset.to_table(columns=columns, filter=filter)
        except (pa.ArrowInvalid, OSError) as e:
            raise WarehouseError(f"cannot read table {table} of {self.root}: {e}. A Parquet file is "
                                 "corrupt or unreadable; restore it or run with --full-refresh") from None

    def row_count(self, table: str, version: Path | None = None) -> int:
        return sum(pq.ParquetFile(f).metadata.num_rows for f in self.table_files(table, version))

    # -- writing --------------------------------------------------------------------------
    def begin(self, run_id: str) -> "Staging":
        return Staging(self, run_id)

    def gc_versions(self) -> None:
        versions = sorted((self.root / ".versions").iterdir()) if (self.root / ".versions").is_dir() else []
        cur = self.current
        for v in versions[:-KEEP_VERSIONS]:
            if cur is None or v.resolve() != cur:
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
        """An in-memory DuckDB connection with every table as a view."""
        if (base or self.current) is None:
            raise WarehouseError(f"{self.root} holds no warehouse yet; run `newsetl run` first")
        con = duckdb.connect()
        con.execute(f"SET TimeZone = '{VN_TZ}'")      # show TIMESTAMPTZ in Vietnam time
        for stmt in self.view_sql(base):
            con.execute(stmt)
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

    def write_catalog(self) -> None:
        """(Re)create warehouse.duckdb with the views, for `duckdb warehouse/warehouse.duckdb`."""
        target = self.root / "warehouse.duckdb"
        tmp = self.root / f".warehouse.duckdb.{os.getpid()}.tmp"
        tmp.unlink(missing_ok=True)
        con = duckdb.connect(str(tmp))
        try:
            for stmt in self.view_sql():
                con.execute(stmt)
        finally:
            con.close()
        os.replace(tmp, target)


class Staging:
    """A new warehouse version being built in .staging/<run_id>/."""

    def __init__(self, wh: Warehouse, run_id: str):
        self.wh = wh
        self.run_id = run_id
        self.dir = wh.root / ".staging" / run_id
        self.new_dir = self.dir / "new"
        self.version_dir = self.dir / "version"
        self.dir.mkdir(parents=True, exist_ok=True)
        self._batches: dict[str, int] = {}

    def add(self, table: str, data: pa.Table) -> None:
        """Stage new rows of a table (one file per call; merged per partition at build())."""
        if data.num_rows == 0:
            return
        n = self._batches.get(table, 0)
        self._batches[table] = n + 1
        _write(self.new_dir / table / f"b{n:06d}.parquet", conform(table, data))

    def staged(self, table: str, columns: list[str] | None = None) -> pa.Table:
        d = self.new_dir / table
        files = sorted(d.glob("*.parquet")) if d.is_dir() else []
        if not files:
            t = ALL_TABLES[table].empty_table()
            return t.select(columns) if columns else t
        return ds.dataset([str(f) for f in files], format="parquet").to_table(columns=columns)

    def build(self, changes: Changes, only: set[str] | None = None) -> Path:
        """Assemble the complete next version (hard links + rewrites + new files).

        With `only`, an already built version gets just those tables rebuilt (the flow uses
        this to add the load gate's own results to the audit tables without redoing the data).
        """
        if only is None and self.version_dir.exists():
            shutil.rmtree(self.version_dir)
        self.version_dir.mkdir(parents=True, exist_ok=True)
        cur = self.wh.current
        old_articles = self.wh.read("articles", ["article_id", "source_path", "part"])
        if changes.drop_all_data:
            old_articles = old_articles.slice(0, 0)
        gone_ids = set(pc.filter(old_articles["article_id"],
                                 pc.is_in(old_articles["source_path"],
                                          pa.array(sorted(changes.replaced_paths), pa.string()))).to_pylist())
        # partitions touched by deletions or duplicate_of updates
        touched_ids = gone_ids | set(changes.duplicate_of)
        id_to_part = dict(zip(old_articles["article_id"].to_pylist(), old_articles["part"].to_pylist()))
        touched_parts = {id_to_part[i] for i in touched_ids if i in id_to_part}
        manifest = self.version_dir / "_manifest.json"
        counts = json.loads(manifest.read_text())["tables"] if only and manifest.exists() else {}
        for table in ALL_TABLES:
            if only is not None and table not in only:
                continue
            out = self.version_dir / table
            if out.exists():
                shutil.rmtree(out)
            out.mkdir(parents=True)
            if table in changes.full_tables:
                _write(out / f"{self.run_id}.parquet",
                       conform(table, changes.full_tables[table]).select(file_schema(table).names))
            else:
                base = None if (changes.drop_all_data and table in T_DATA) else cur
                self._merge_table(table, base, out, changes, gone_ids, touched_parts)
            if not any(out.rglob("*.parquet")):
                empty_target = out / f"part={UNKNOWN_PART}" / "empty.parquet" if table in PARTITIONED \
                    else out / "empty.parquet"
                _write(empty_target, file_schema(table).empty_table())
            counts[table] = {"rows": self.wh.row_count(table, self.version_dir),
                             "files": len(list(out.rglob("*.parquet")))}
        (self.version_dir / "_manifest.json").write_text(json.dumps(
            {"run_id": self.run_id, "tables": counts}, indent=1))
        return self.version_dir

    def _merge_table(self, table: str, cur: Path | None, out: Path, changes: Changes,
                     gone_ids: set[str], touched_parts: set[str]) -> None:
        new = self.staged(table)
        if table in changes.audit:
            new = pa.concat_tables([new, conform(table, changes.audit[table])]) if new.num_rows else \
                conform(table, changes.audit[table])
        partitioned = table in PARTITIONED
        # group new rows by partition
        if table == "articles" and changes.duplicate_of and new.num_rows:
            new = _apply_duplicate_of(new, changes.duplicate_of)
        new_parts: dict[str, pa.Table] = {}
        if new.num_rows:
            if partitioned:
                for p in pc.unique(new["part"]).to_pylist():
                    new_parts[p] = new.filter(pc.equal(new["part"], p)).drop_columns(["part"])
            else:
                new_parts[""] = new.select(file_schema(table).names)
        old_parts: dict[str, list[Path]] = {}
        if cur is not None and (cur / table).is_dir():
            for f in sorted((cur / table).rglob("*.parquet")):
                if f.name == "empty.parquet":
                    continue
                key = f.parent.name.split("=", 1)[1] if partitioned else ""
                old_parts.setdefault(key, []).append(f)
        key_col, gone = self._delete_key(table, changes, gone_ids)
        for p in sorted(set(old_parts) | set(new_parts)):
            dest = out / f"part={p}" if partitioned else out
            dest.mkdir(parents=True, exist_ok=True)
            olds = old_parts.get(p, [])
            fresh = new_parts.get(p)
            must_rewrite = bool(olds) and (
                (gone and (not partitioned or p in touched_parts or table not in ("articles", "paragraphs", "removed")))
                or (table == "articles" and p in touched_parts and changes.duplicate_of)
                or len(olds) + (1 if fresh is not None else 0) > MAX_FILES_PER_PARTITION)
            if must_rewrite:
                old = pa.concat_tables([pq.read_table(f, schema=file_schema(table)) for f in olds])
                if gone:
                    old = old.filter(pc.invert(pc.is_in(old[key_col], pa.array(sorted(gone), pa.string()))))
                if table == "articles" and changes.duplicate_of:
                    old = _apply_duplicate_of(old, changes.duplicate_of)
                merged = pa.concat_tables([old, fresh]) if fresh is not None else old
                if merged.num_rows:
                    _write(dest / f"{self.run_id}-c.parquet", merged)
            else:
                for f in olds:
                    os.link(f, dest / f.name)
                if fresh is not None:
                    _write(dest / f"{self.run_id}.parquet", fresh)
            if not any(dest.iterdir()):
                dest.rmdir()

    @staticmethod
    def _delete_key(table: str, changes: Changes, gone_ids: set[str]) -> tuple[str, set[str]]:
        if table in ("articles", "rejects"):
            return "source_path", changes.replaced_paths
        if table in ("paragraphs", "removed", "dedup_signatures"):
            return "article_id", gone_ids
        return "", set()

    def publish(self) -> Path:
        """Make the built version current in one atomic step."""
        versions = self.wh.root / ".versions"
        versions.mkdir(exist_ok=True)
        final = versions / f"{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{self.run_id}"
        for f in self.version_dir.rglob("*"):
            if f.is_file() and f.stat().st_nlink == 1:
                fd = os.open(f, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
        os.rename(self.version_dir, final)
        _fsync_dir(versions)
        tmp = self.wh.root / f".current.{self.run_id}"
        tmp.unlink(missing_ok=True)
        os.symlink(Path(".versions") / final.name, tmp)
        os.replace(tmp, self.wh.root / "current")          # the atomic step
        _fsync_dir(self.wh.root)
        self.discard()
        return final

    def discard(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def _apply_duplicate_of(articles: pa.Table, updates: dict[str, str | None]) -> pa.Table:
    ids = articles["article_id"].to_pylist()
    cur = articles["duplicate_of"].to_pylist()
    new = [updates[i] if i in updates else c for i, c in zip(ids, cur)]
    idx = articles.schema.get_field_index("duplicate_of")
    return articles.set_column(idx, "duplicate_of", pa.array(new, pa.string()))


def iter_batches(items: list, size: int) -> Iterable[list]:
    for i in range(0, len(items), size):
        yield items[i:i + size]
