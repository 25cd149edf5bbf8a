"""DuckDB over the warehouse: one view per table, and warehouse.duckdb for the DuckDB CLI.

`connect(wh)` opens an in-memory DuckDB connection whose views read one version (the current
one when the connection is made): `newsetl query` and the load gate use it. Together with
files.py, the only code that opens DuckDB or writes Parquet.

`warehouse.duckdb` holds the same views for the DuckDB CLI, written so that:

- **DuckDB 1.x opens it.** duckdb 2.0 writes storage format 999 by default, which no 1.x
  release reads ("Trying to read a database file with version number 999"). Attached with
  `(STORAGE_VERSION 'v1.0.0')` it writes format 64, which every release from 1.0.0 to the
  1.5.6 CLI (and 2.0) opens, views included (measured with 1.0.0, 1.1.3, 1.2.2, 1.3.2, 1.4.4
  and the 1.5.6 CLI). 'v1.2.0' would write 65 (1.2.0 and later), 'v1.3.0' 66, 'v1.4.0' 67,
  'v1.5.0' 68.
- **A moved or copied warehouse keeps working.** The views read `articles/**/*.parquet`,
  relative to the warehouse folder (whose `articles` is a symlink into `current`, so the file
  follows every publish and is rewritten only when stale). DuckDB resolves a relative path
  against `file_search_path` when set, else against the current directory - never against
  the database file's folder. So `cd warehouse && duckdb warehouse.duckdb` works as is; from
  elsewhere `open_catalog` (or `SET file_search_path = 'warehouse'`) points the views at it.

The views are created (so bound) with `file_search_path` set to the warehouse, so a glob
that matches no file fails here, at write time, not in the user's session.
"""
from __future__ import annotations

import hashlib
import os
import struct
import tempfile
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

import duckdb

from flows.errors import CorruptFile, QueryError, WarehouseError
from transforms.tables import ALL_TABLES, SCHEMA_VERSION, VN_TZ

CATALOG = "warehouse.duckdb"
STORAGE_VERSION = "v1.0.0"           # file format 64: opened by DuckDB 1.0.0 ... 1.5.x and 2.0
# File-format number of the DuckDB main header -> the oldest DuckDB release that reads it.
STORAGE_NUMBERS = {64: "1.0.0", 65: "1.2.0", 66: "1.3.0", 67: "1.4.0", 68: "1.5.0"}
PARQUET_OPTIONS = "hive_partitioning = true, union_by_name = true"
DERIVED = {"canonical_articles": "SELECT * FROM articles WHERE duplicate_of IS NULL"}


class CatalogError(WarehouseError):
    """warehouse.duckdb could not be written; the message names the view and DuckDB's error.
    The previous file, if any, is left as it was."""


# -- in-memory views over one version (newsetl query, the load gate) ----------------------------

def view_sql(base: Path) -> list[str]:
    """CREATE VIEW statements over the version folder `base`: one per table plus
    canonical_articles (absolute paths: the connection reads exactly that version)."""
    stmts = []
    for table in ALL_TABLES:
        glob = str(base / table / "**" / "*.parquet").replace("'", "''")
        stmts.append(f"CREATE OR REPLACE VIEW {table} AS SELECT * FROM read_parquet('{glob}', "
                     f"{PARQUET_OPTIONS})")
    stmts += [f"CREATE OR REPLACE VIEW {name} AS {select}" for name, select in DERIVED.items()]
    return stmts


def connect(wh, base: Path | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with every table as a view.

    The views read one version (the current one when the connection is made), so a run
    that publishes while a query runs cannot mix old and new files. When a table's files
    cannot be read, its view raises that error when queried and the other views still
    work; with an explicit `base` (the load gate reading a staged version) it raises
    CorruptFile at once."""
    strict = base is not None
    base = base or wh.current
    if base is None:
        raise WarehouseError(f"{wh.root} holds no warehouse yet; run `newsetl run` first")
    con = duckdb.connect()
    con.execute(f"SET TimeZone = '{VN_TZ}'")      # show TIMESTAMPTZ in Vietnam time
    for table, stmt in zip([*ALL_TABLES, *DERIVED], view_sql(base)):
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


def query(wh, sql: str):
    """Run SQL over the views; returns a pandas DataFrame (or None for statements without rows).
    For scripts and DuckDB's own rendering, see flows/query.py (`newsetl query`)."""
    con = connect(wh)
    try:
        rel = con.sql(sql)
        return None if rel is None else rel.df()
    except duckdb.Error as e:
        raise QueryError(f"query failed: {str(e).splitlines()[0]}") from None
    finally:
        con.close()


# -- warehouse.duckdb -----------------------------------------------------------------------------

def catalog_views() -> dict[str, str]:
    """View name -> Parquet glob relative to the warehouse folder."""
    return {table: f"{table}/**/*.parquet" for table in ALL_TABLES}


def _catalog_digest() -> str:
    text = "\n".join([STORAGE_VERSION, PARQUET_OPTIONS, *(f"{k}={v}" for k, v in catalog_views().items()),
                      *(f"{k}={v}" for k, v in DERIVED.items())])
    return hashlib.sha256(text.encode()).hexdigest()


def _marker() -> str:
    return f"SELECT {SCHEMA_VERSION} AS schema_version, '{_catalog_digest()}' AS views_sha256"


def catalog_is_current(root: Path) -> bool | None:
    """True when warehouse.duckdb has today's views in the 1.x storage format, False when
    missing or stale, None when another process holds it open for writing (not checkable)."""
    path = root / CATALOG
    if not path.exists():
        return False
    try:
        if storage_number(path) not in STORAGE_NUMBERS:
            return False
    except (OSError, CatalogError):
        return False
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.IOException as e:
        if "lock" in str(e).lower():
            return None
        return False
    except duckdb.Error:
        return False
    try:
        return con.execute("SELECT views_sha256 FROM _newsetl_catalog").fetchone() == (_catalog_digest(),)
    except duckdb.Error:
        return False
    finally:
        con.close()


def write_catalog(root: Path) -> None:
    """(Re)create `root`/warehouse.duckdb: a view per table over its relative glob, then
    canonical_articles and the `_newsetl_catalog` marker (schema version, digest of the views)."""
    write_views_file(Path(root) / CATALOG, catalog_views(), {**DERIVED, "_newsetl_catalog": _marker()})


def refresh_catalog(root: Path) -> str | None:
    """Rewrite warehouse.duckdb when it is missing or its views are stale (new tables, an
    older storage format). Never raises: returns a warning line instead, e.g. when a DuckDB
    session holds the file open for writing. Moving the warehouse does not make it stale."""
    try:
        state = catalog_is_current(root)
        if state is None:
            return (f"{root / CATALOG} is open for writing in another DuckDB session; "
                    "its views were not checked (`newsetl query` is unaffected)")
        if not state:
            write_catalog(root)
        return None
    except Exception as e:  # noqa: BLE001 - the catalog is a convenience; the run is published
        return f"could not write {root / CATALOG}: {str(e).splitlines()[0]}"


def write_views_file(db_path: Path, views: Mapping[str, str], derived: Mapping[str, str] | None = None,
                     *, parquet_options: str = PARQUET_OPTIONS, storage_version: str = STORAGE_VERSION) -> None:
    """(Re)write the DuckDB file `db_path` holding only views.

    `views` maps a view name to a Parquet glob relative to the folder of `db_path`
    (e.g. {"articles": "articles/**/*.parquet"}); `derived` maps a name to a SELECT over
    those views, created in the given order after them. The file is written under a temporary
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
