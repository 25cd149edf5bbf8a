"""`warehouse.duckdb` that the DuckDB 1.x CLI opens and that still works after the warehouse
folder is moved or copied.

Two facts, measured with duckdb 2.0.1 writing and DuckDB 1.0.0, 1.1.3, 1.2.2, 1.3.2, 1.4.4
(Python) and the 1.5.6 CLI reading:

- By default duckdb 2.0 writes storage version number 999, which no 1.x release reads
  ("Trying to read a database file with version number 999"). Attached with
  `(STORAGE_VERSION 'v1.0.0')` it writes number 64, which every release from 1.0.0 to 1.5.6
  (and 2.0) opens, views included. 'v1.2.0' writes 65 (1.2.0 and later), 'v1.3.0' 66,
  'v1.4.0' 67, 'v1.5.0' 68 (1.5 only).
- DuckDB resolves a relative path in a view against `file_search_path` when it is set, else
  against the process's current directory, never against the database file. So the views
  hold paths relative to the warehouse folder: `duckdb warehouse.duckdb` run inside that
  folder works as is; from elsewhere, `open_catalog` (or `SET file_search_path`) points
  them at the folder. A copy of the folder reads its own files, not the original's.

The views are created (and so bound) with `file_search_path` set to the warehouse, so a
glob that matches no file fails here, at write time, not in the user's session.
"""
from __future__ import annotations

import os
import struct
import tempfile
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

import duckdb

STORAGE_VERSION = "v1.0.0"           # file format 64: opened by DuckDB 1.0.0 ... 1.5.x and 2.0
# File-format number of the DuckDB main header -> the oldest DuckDB release that reads it.
STORAGE_NUMBERS = {64: "1.0.0", 65: "1.2.0", 66: "1.3.0", 67: "1.4.0", 68: "1.5.0"}
PARQUET_OPTIONS = "hive_partitioning = true, union_by_name = true"


class CatalogError(Exception):
    """warehouse.duckdb could not be written; the message names the view and DuckDB's error.
    The previous file, if any, is left as it was."""


def write_catalog(db_path: Path, views: Mapping[str, str], derived: Mapping[str, str] | None = None,
                  *, parquet_options: str = PARQUET_OPTIONS,
                  storage_version: str = STORAGE_VERSION) -> None:
    """(Re)write the DuckDB file `db_path` holding only views.

    `views` maps a view name to a Parquet glob relative to the folder of `db_path`
    (e.g. {"articles": "articles/**/*.parquet"}); `derived` maps a name to a SELECT over
    those views (e.g. {"canonical_articles": "SELECT * FROM articles WHERE duplicate_of
    IS NULL"}), created in the given order after them. The file is written under a temporary
    name in the same folder and renamed over `db_path`, so a reader sees the old file or
    the new one, never half of one. Raises ValueError for an absolute or escaping glob,
    CatalogError when DuckDB refuses a view (e.g. a glob matching no file)."""
    db_path = Path(db_path)
    root = db_path.parent.resolve()
    for name, glob in views.items():
        _check_relative(name, glob)
    fd, tmp = tempfile.mkstemp(prefix=f".{db_path.name}.", suffix=".tmp", dir=root)
    os.close(fd)
    os.unlink(tmp)                      # DuckDB creates the file itself; only the name is kept
    con = duckdb.connect()
    try:
        con.execute(f"SET file_search_path = {_literal(str(root))}")
        con.execute(f"ATTACH {_literal(tmp)} AS newsetl_catalog "
                    f"(STORAGE_VERSION {_literal(storage_version)})")
        con.execute("USE newsetl_catalog")
        for name, glob in views.items():
            _create(con, name, f"SELECT * FROM read_parquet({_literal(glob)}, {parquet_options})")
        for name, select in (derived or {}).items():
            _create(con, name, select)
        con.execute("USE memory")
        con.execute("DETACH newsetl_catalog")
        con.close()
        os.replace(tmp, db_path)
    finally:
        con.close()
        for leftover in (tmp, tmp + ".wal"):
            if os.path.exists(leftover):
                os.unlink(leftover)


def open_catalog(db_path: Path, *, read_only: bool = True,
                 time_zone: str | None = None) -> duckdb.DuckDBPyConnection:
    """A connection to `db_path` whose relative view paths resolve against its folder,
    whatever the current directory. `time_zone` sets how TIMESTAMPTZ values print."""
    db_path = Path(db_path)
    con = duckdb.connect(str(db_path), read_only=read_only)
    try:
        con.execute(f"SET file_search_path = {_literal(str(db_path.parent.resolve()))}")
        if time_zone:
            con.execute(f"SET TimeZone = {_literal(time_zone)}")
    except duckdb.Error:
        con.close()
        raise
    return con


def storage_number(db_path: Path) -> int:
    """The file-format number in the main header of a DuckDB file (64 for 'v1.0.0')."""
    with open(db_path, "rb") as f:
        head = f.read(20)
    if len(head) < 20 or head[8:12] != b"DUCK":
        raise CatalogError(f"{db_path} is not a DuckDB database file")
    return struct.unpack("<Q", head[12:20])[0]


def oldest_reader(db_path: Path) -> str | None:
    """The oldest DuckDB release that opens `db_path` ("1.0.0"), None for a number no 1.x
    release reads (duckdb 2.0's own default)."""
    return STORAGE_NUMBERS.get(storage_number(db_path))


def view_globs(db_path: Path) -> dict[str, str]:
    """The SQL of each view in `db_path`, read without binding (no Parquet file is opened)."""
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        rows = con.execute("SELECT view_name, sql FROM duckdb_views() "
                           "WHERE NOT internal AND database_name = current_database()").fetchall()
    finally:
        con.close()
    return dict(rows)


def _create(con, name: str, select: str) -> None:
    try:
        con.execute(f"CREATE OR REPLACE VIEW {_ident(name)} AS {select}")
    except duckdb.Error as e:
        raise CatalogError(f"view {name} of the catalog: {str(e).splitlines()[0]}") from None


def _check_relative(name: str, glob: str) -> None:
    path = PurePosixPath(glob)
    if path.is_absolute() or "://" in glob or Path(glob).is_absolute():
        raise ValueError(f"view {name}: {glob!r} must be relative to the warehouse folder")
    if ".." in path.parts:
        raise ValueError(f"view {name}: {glob!r} leaves the warehouse folder")


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
