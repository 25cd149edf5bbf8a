"""The versioned warehouse: published snapshots, stable paths, atomic publish.

Layout under the warehouse root::

    articles -> current/articles          stable paths for readers (symlinks, made once)
    current  -> .versions/<version>       swapped atomically (os.replace of a symlink)
    .versions/<seq>-<run_id>/<table>/[part=YYYY-MM/]*.parquet
    .versions/<seq>-<run_id>/_manifest.json   run_id, schema_version, rows/files/bytes per table
    .staging/<run_id>/                    the next version (staging.py)
    .lock                                 flock held by the one writer (faults.py)
    warehouse.duckdb                      views over the stable paths (catalog.py)

Write, audit, publish: a run stages its new rows and builds the next version (staging.py),
the load gate reads that version back, and only then `publish()` renames it into
`.versions/` and swaps `current` with one `os.replace`. A process killed at any instant
leaves `current` pointing at either the old or the new version. Readers that resolved an
older version keep reading it: the last KEEP_VERSIONS versions stay on disk.
"""
from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from flows.errors import CorruptFile, WarehouseError
from flows.warehouse import catalog, faults
from flows.warehouse.faults import crash_point, fs_error
from flows.warehouse.files import (file_schema, file_sha256, fsync, manifest_sums, parquet_files, row_count,
                                   version_key)
from flows.warehouse.staging import Staging
from transforms.tables import ALL_TABLES, DATA_TABLES as T_DATA, PARTITIONED

KEEP_VERSIONS = 3                    # published versions kept on disk (current + 2 older ones)


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
            raise fs_error(e, "create the warehouse folder") from None
        for d in (self.root, self.root / ".versions", self.root / ".staging"):
            if not d.is_dir():
                continue
            probe = d / f".probe-{os.getpid()}"
            try:
                probe.write_bytes(b"")
                probe.unlink()
            except OSError as e:
                raise fs_error(OSError(e.errno, e.strerror), "write to the warehouse folder", d) from None

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
            raise fs_error(e, "set up the warehouse folder") from None

    def lock(self, wait_seconds: float = 0.0):
        """The single-writer lock (a context manager). Raises WarehouseBusy when still held
        after wait_seconds."""
        return faults.writer_lock(self.root, wait_seconds)

    def clean_staging(self) -> None:
        """Remove what killed runs left behind (call with the lock held)."""
        faults.clean_leftovers(self.root, catalog.CATALOG, self.current, self._versions())

    # -- reading --------------------------------------------------------------------------
    def table_files(self, table: str, version: Path | None = None) -> list[Path]:
        """Parquet files of a table, sorted. An unreadable folder raises OSError instead of
        being skipped, so a run can never drop rows it could not see."""
        base = version or self.current
        return [] if base is None else parquet_files(base / table)

    def read(self, table: str, columns: list[str] | None = None, version: Path | None = None,
             filter=None) -> pa.Table:
        """Read a table of the current (or given) version; empty with the declared schema if absent."""
        base = version or self.current
        try:
            files = self.table_files(table, base)
        except OSError as e:
            raise fs_error(e, f"read table {table} in", base) from None
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

    def source_digests(self) -> dict[str, str]:
        """source_path -> the key a new read must equal for the file to count as unchanged
        (flows.sources.unchanged_key): the sha256 for articles and for rejects of a clean
        read, `<reason>:<size>` for a stable scan verdict, NEVER_UNCHANGED for a file that
        vanished, changed or could not be read (the next run reads it again and replaces its row)."""
        from flows.sources import stored_key
        r = self.read("rejects", ["source_path", "source_sha256", "size_bytes", "reason"])
        known = {path: stored_key(sha, reason, size)
                 for path, sha, size, reason in zip(*(r[c].to_pylist() for c in r.column_names))}
        a = self.read("articles", ["source_path", "source_sha256"])
        known.update(zip(a["source_path"].to_pylist(), a["source_sha256"].to_pylist()))
        return known

    def count_paths(self, table: str, paths: set[str]) -> int:
        """Rows of `table` whose source_path is one of `paths`."""
        if not paths:
            return 0
        t = self.read(table, ["source_path"])
        return pc.sum(pc.is_in(t["source_path"], pa.array(sorted(paths), pa.string()))).as_py() or 0

    def row_count(self, table: str, version: Path | None = None) -> int:
        return row_count(self.table_files(table, version))

    def verify(self, version: Path | None = None, tables: Iterable[str] = ALL_TABLES) -> None:
        """Check every file of a version (the current one by default): its bytes against the
        sha256 recorded in the version's manifest (damage anywhere in the file, footer intact
        or not), then its footer and schema. Raises CorruptFile naming the first bad file.
        Versions published before manifests had sha256 get the footer and schema check only."""
        base = version or self.current
        if base is None:
            return
        sums = manifest_sums(base)
        for table in tables:
            declared = file_schema(table)
            try:
                files = self.table_files(table, base)
            except OSError as e:
                raise fs_error(e, f"read table {table} in", base) from None
            for f in files:
                want = sums.get(f.relative_to(base).as_posix())
                if want is not None:        # a file put there behind the runs' back has no sum:
                    try:                    # the schema check below and the load gate judge it
                        got = file_sha256(f)
                    except OSError as e:
                        raise faults.corrupt(f, self.root, table, f"cannot be read: {e.strerror}") from None
                    if got != want:
                        raise faults.corrupt(f, self.root, table, "its bytes differ from the sha256 recorded "
                                                                  "when it was published")
                self._check_schema(f, table, declared)

    def _check_schema(self, f: Path, table: str, declared: pa.Schema) -> None:
        """The footer reads and every column is declared with its type; else CorruptFile."""
        try:
            got = pq.read_schema(f)
        except (pa.ArrowException, OSError) as e:
            why = str(e).splitlines()[0].split(". Either")[0].replace(f"'{f}': ", "")
            raise faults.corrupt(f, self.root, table, why) from None
        for col in got:
            i = declared.get_field_index(col.name)
            if i < 0:
                raise faults.corrupt(f, self.root, table, f"unknown column {col.name}")
            if not col.type.equals(declared.field(i).type):
                raise faults.corrupt(f, self.root, table, f"column {col.name} is {col.type}, "
                                                          f"declared {declared.field(i).type}")

    # -- writing --------------------------------------------------------------------------
    def begin(self, run_id: str, full_refresh: bool = False) -> "Staging":
        """Start a new version; first verifies every file of the current one that the run will
        read or link (verify). A full refresh rebuilds the data tables from the source, so only
        the audit tables are verified: it repairs a warehouse with damaged data files."""
        self.verify(tables=[t for t in ALL_TABLES if t not in T_DATA] if full_refresh else ALL_TABLES)
        return Staging(self, run_id)

    def _versions(self) -> list[Path]:
        d = self.root / ".versions"
        return sorted((v for v in d.iterdir() if v.is_dir()), key=version_key) if d.is_dir() else []

    def gc_versions(self) -> None:
        """Keep the current version and the KEEP_VERSIONS - 1 published before it."""
        cur = self.current
        if cur is None:
            return
        versions = self._versions()
        older = [v for v in versions if version_key(v) < version_key(cur)]
        for v in older[:max(0, len(older) - (KEEP_VERSIONS - 1))]:
            shutil.rmtree(v, ignore_errors=True)

    def publish(self, staging: Staging) -> Path:
        """Make the version built in `staging` current in one atomic step, then refresh
        warehouse.duckdb and remove old versions (problems with those two become
        `staging.warnings`, never errors)."""
        versions = self.root / ".versions"
        try:
            versions.mkdir(exist_ok=True)
            seq = max([version_key(v)[0] for v in self._versions()] + [0]) + 1
            final = versions / f"{seq:06d}-{staging.run_id}"
            for f in sorted(staging.version_dir.rglob("*"), reverse=True):     # files before their folders
                if f.is_dir():
                    fsync(f, directory=True)
                elif f.stat().st_nlink == 1:                                 # written by this run
                    fsync(f)
            fsync(staging.version_dir, directory=True)
            crash_point("after_fsync")
            os.rename(staging.version_dir, final)
            fsync(versions, directory=True)
            crash_point("after_rename")
            tmp = self.root / f".current.{staging.run_id}"
            tmp.unlink(missing_ok=True)
            os.symlink(Path(".versions") / final.name, tmp)
            crash_point("before_swap")
            os.replace(tmp, self.root / "current")          # the atomic step
            fsync(self.root, directory=True)
        except OSError as e:
            staging.discard()
            raise fs_error(e, "publish the new version in", self.root) from None
        crash_point("after_swap")
        staging.discard()
        crash_point("after_discard")
        warning = self.refresh_catalog()
        if warning:
            staging.warnings.append(warning)
        crash_point("after_catalog")
        try:
            self.gc_versions()
        except OSError as e:
            staging.warnings.append(f"could not remove old versions: {e}")
        crash_point("after_gc")
        return final

    # -- DuckDB (catalog.py) --------------------------------------------------------------------
    def view_sql(self, base: Path | None = None) -> list[str]:
        """CREATE VIEW statements: one per table plus canonical_articles."""
        return catalog.view_sql(base or self.root)

    def connect(self, base: Path | None = None):
        """An in-memory DuckDB connection with every table as a view (catalog.connect)."""
        return catalog.connect(self, base)

    def query(self, sql: str):
        """Run SQL over the views; a pandas DataFrame, or None for statements without rows."""
        return catalog.query(self, sql)

    def catalog_is_current(self) -> bool | None:
        return catalog.catalog_is_current(self.root)

    def write_catalog(self) -> None:
        catalog.write_catalog(self.root)

    def refresh_catalog(self) -> str | None:
        """Rewrite warehouse.duckdb when missing or stale; a warning line instead of an error."""
        return catalog.refresh_catalog(self.root)
