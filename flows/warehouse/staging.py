"""A new warehouse version being built in .staging/<run_id>/.

    .staging/<run_id>/new/<table>/...      rows staged by this run (one file per batch)
    .staging/<run_id>/version/             the next version under construction

`add()` stages a batch's rows; `build(changes)` assembles the complete next version: files of
the current version that no change touches are hard links, never copies; files holding a
replaced row (or an article whose duplicate_of changes) are rewritten; staged files move in as
they are. `publish()` hands the built version to the warehouse (store.py), which makes it
current in one atomic step. The warehouse object is duck-typed here (root, current, read,
publish) so this module does not import the store.
"""
from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from flows.errors import WarehouseError
from flows.warehouse.faults import crash_point, fs_error
from flows.warehouse.files import (MAX_FILES_PER_PARTITION, SMALL_FILE_BYTES, conform, file_schema, file_sha256, link,
                                   manifest_sums, parquet_files, read_file, row_count, write)
from transforms.tables import ALL_TABLES, DATA_TABLES as T_DATA, PARTITIONED, SCHEMA_VERSION, UNKNOWN_PART


@dataclass
class Changes:
    """What a run changes in the warehouse, besides the new rows it staged."""
    replaced_paths: set[str] = field(default_factory=set)       # source_paths whose old rows go away
    duplicate_of: dict[str, str | None] = field(default_factory=dict)  # article_id -> new duplicate_of
    full_tables: dict[str, pa.Table] = field(default_factory=dict)    # tables replaced wholesale
    audit: dict[str, pa.Table] = field(default_factory=dict)          # runs / dq_results rows to append
    drop_all_data: bool = False                                       # --full-refresh: data tables start empty


class Staging:
    """A new warehouse version being built in .staging/<run_id>/."""

    def __init__(self, wh, run_id: str):
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
            raise fs_error(e, "create the staging folder", self.dir) from None

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
                    write(table, self.new_dir / table / f"part={p}", f"b{n:06d}",
                           data.filter(pc.equal(parts, p)))
            else:
                write(table, self.new_dir / table, f"b{n:06d}", data)
        except OSError as e:
            self.discard()
            raise fs_error(e, "stage new rows in", self.new_dir / table) from None
        crash_point("after_stage_write")

    def _staged_files(self, table: str, part: str | None = None) -> list[Path]:
        d = self.new_dir / table
        if part is not None:
            d = d / f"part={part}"
        return parquet_files(d)

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
            raise fs_error(e, "build the next version in", self.version_dir) from None
        except WarehouseError:
            self.discard()
            raise

    def _build(self, changes: Changes, only: set[str] | None) -> Path:
        cur = self.wh.current
        manifest = self.version_dir / "_manifest.json"
        if only is None or not manifest.exists():
            if self.version_dir.exists():
                shutil.rmtree(self.version_dir)
            self.version_dir.mkdir(parents=True)
            tables = list(ALL_TABLES)
            counts, sums = {}, {}
        else:               # the first build counted and summed the tables not rebuilt now
            tables = [t for t in ALL_TABLES if t in only]
            built = json.loads(manifest.read_text())
            counts = built["tables"]
            sums = {k: v for k, v in built.get("sha256", {}).items() if k.split("/", 1)[0] not in tables}
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
        files: dict[str, list[Path]] = {}               # each table's files in the version, listed once
        for table in tables:
            out = self.version_dir / table
            if out.exists():
                shutil.rmtree(out)
            out.mkdir(parents=True)
            if table in changes.full_tables:
                data = conform(table, changes.full_tables[table])
                if data.num_rows:
                    write(table, out, self.run_id, data)
            else:
                base = None if (changes.drop_all_data and table in T_DATA) else cur
                self._merge_table(table, base, out, changes, gone_ids, touched_parts)
            files[table] = parquet_files(out)
            if not files[table]:
                dest = out / f"part={UNKNOWN_PART}" if table in PARTITIONED else out
                files[table] = write(table, dest, "empty", file_schema(table).empty_table())
            crash_point(f"after_merge:{table}")
        # rows/files/bytes per table, and a sha256 per file, checked by Warehouse.verify before
        # the next run reads or links it: damage inside a file (its footer intact) is found
        # before anything is built on it. A file linked from the current version keeps the sum
        # recorded there (verified by begin()); a file this run wrote is hashed.
        cur_sums = manifest_sums(cur)
        for table in tables:
            size = 0
            for f in files[table]:
                st = f.stat()
                size += st.st_size
                rel = f.relative_to(self.version_dir).as_posix()
                linked = cur is not None and st.st_nlink > 1 and rel in cur_sums
                sums[rel] = cur_sums[rel] if linked else file_sha256(f)
            counts[table] = {"rows": row_count(files[table]), "files": len(files[table]), "bytes": size}
        manifest.write_text(json.dumps(
            {"run_id": self.run_id, "schema_version": SCHEMA_VERSION, "tables": counts, "sha256": sums}, indent=1))
        crash_point("after_build")
        return self.version_dir

    def _merge_table(self, table: str, cur: Path | None, out: Path, changes: Changes,
                     gone_ids: set[str], touched_parts: set[str]) -> None:
        partitioned = table in PARTITIONED
        key_col, gone = _delete_key(table, changes, gone_ids)
        updates = changes.duplicate_of if table == "articles" else {}
        audit = conform(table, changes.audit[table]) if table in changes.audit else None
        old_parts: dict[str, list[Path]] = {}
        if cur is not None:
            for f in parquet_files(cur / table):
                if f.name != "empty.parquet":
                    old_parts.setdefault(f.parent.name.split("=", 1)[1] if partitioned else "", []).append(f)
        new_parts = self._staged_parts(table) if partitioned else [""]
        for p in sorted(set(old_parts) | set(new_parts)):
            dest = out / f"part={p}" if partitioned else out
            # staged files: moved into the version as they are, unless a duplicate_of changes
            moved, fresh = [], []
            for f in self._staged_files(table, p if partitioned else None):
                if updates and _file_has(f, table, key_col, set(), updates):
                    fresh.append(_apply_duplicate_of(read_file(table, f), updates))
                else:
                    moved.append(f)
            if audit is not None and audit.num_rows:
                fresh.append(audit.select(file_schema(table).names))
            # old files: keep (hard link) unless a change touches one of their rows
            kept, rewritten = [], []
            may_change = (gone or updates) and (not partitioned or p in touched_parts)
            for f in old_parts.get(p, []):
                if may_change and _file_has(f, table, key_col, gone, updates):
                    t = read_file(table, f)
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
                pool = [read_file(table, f) for f in small + moved] + pool
                moved = []
            for f in kept:
                link(f, dest / f.name)
            for f in moved:
                dest.mkdir(parents=True, exist_ok=True)
                os.replace(f, dest / f"{self.run_id}-{f.stem}.parquet")
            if pool:
                write(table, dest, self.run_id, pa.concat_tables(pool))

    def publish(self) -> Path:
        """Make the built version current (Warehouse.publish); returns its folder."""
        return self.wh.publish(self)

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


def _apply_duplicate_of(articles: pa.Table, updates: dict[str, str | None]) -> pa.Table:
    ids = articles["article_id"].to_pylist()
    cur = articles["duplicate_of"].to_pylist()
    new = [updates[i] if i in updates else c for i, c in zip(ids, cur)]
    idx = articles.schema.get_field_index("duplicate_of")
    return articles.set_column(idx, "duplicate_of", pa.array(new, pa.string()))
