"""Parquet files of the warehouse: how a table's rows are written and read back.

zstd, rows sorted by each table's SORT_KEYS (deterministic files for the same input, and
min/max statistics that let DuckDB skip row groups), row groups of about ROW_GROUP_BYTES, a
file split past MAX_FILE_ARROW_BYTES, the Arrow schema of transforms/tables.py plus
`newsetl.schema_version` in the footer. Also what the store and the staging share: the
file-system helpers (fsync, hard links, listing) and the sha256 sums of a version's manifest.
"""
from __future__ import annotations

import errno
import json
import os
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from transforms.tables import ALL_TABLES, PARTITIONED, SCHEMA_VERSION

MAX_FILES_PER_PARTITION = 8          # more than this after a run -> the small files are merged
SMALL_FILE_BYTES = 32 << 20          # files below this size (on disk) are merged by compaction
MAX_FILE_ARROW_BYTES = 512 << 20     # one written file holds at most this much (in memory) data
ROW_GROUP_BYTES = 64 << 20           # in-memory bytes per row group: a DuckDB thread's unit of scan
ROW_GROUP_ROWS = (1_024, 122_880)    # bounds on rows per row group (DuckDB's own default is 122,880)
PARQUET_OPTS = dict(compression="zstd", compression_level=3)


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


def sort_rows(table: str, data: pa.Table) -> pa.Table:
    keys = [k for k in SORT_KEYS.get(table, []) if k in data.column_names]
    if not keys or data.num_rows < 2:
        return data
    return data.sort_by([(k, "ascending", "at_end") for k in keys])


def write(table: str, dest: Path, stem: str, data: pa.Table) -> list[Path]:
    """Write `data` (file schema of `table`) as dest/<stem>.parquet, split into more files
    (<stem>-1, -2, ...) when it holds more than MAX_FILE_ARROW_BYTES."""
    dest.mkdir(parents=True, exist_ok=True)
    data = sort_rows(table, data.select(file_schema(table).names).cast(
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


def read_file(table: str, path: Path) -> pa.Table:
    """One file of `table` with the declared file schema (columns added since are null)."""
    return ds.dataset(str(path), format="parquet", schema=file_schema(table)).to_table()


def parquet_files(d: Path) -> list[Path]:
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


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes (recorded per file in a version's manifest, checked before use)."""
    import hashlib
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def manifest_sums(version: Path | None) -> dict[str, str]:
    """The sha256 per file (path relative to the version folder) recorded in a version's
    _manifest.json; {} for no version, a version without a manifest or from before manifests
    had sums, or a manifest that cannot be read (its files then get the schema check only)."""
    if version is None:
        return {}
    try:
        return json.loads((version / "_manifest.json").read_text()).get("sha256", {})
    except (OSError, ValueError):
        return {}


def row_count(files: list[Path]) -> int:
    """Rows in these Parquet files, from their footers (no data is read)."""
    return sum(pq.ParquetFile(f).metadata.num_rows for f in files)


def fsync(path: Path, directory: bool = False) -> None:
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if directory else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def version_key(path: Path) -> tuple[int, str]:
    """Versions are named <seq>-<run_id>; seq grows by one per publish (older names sort first)."""
    head = path.name.split("-", 1)[0]
    return (int(head) if head.isdigit() and len(head) <= 9 else -1, path.name)


def link(src: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dest)
    except OSError as e:
        if e.errno not in (errno.EPERM, errno.EXDEV, errno.EMLINK):
            raise
        shutil.copy2(src, dest)          # hard links refused (protected_hardlinks, other device)

