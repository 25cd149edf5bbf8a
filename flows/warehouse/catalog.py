"""DuckDB over the warehouse: one view per table, and warehouse.duckdb for the DuckDB CLI.

`connect(wh)` opens an in-memory DuckDB connection whose views read one version (the current
one when the connection is made). `warehouse.duckdb` holds the same views over the stable
paths (`articles -> current/articles`), so `duckdb warehouse/warehouse.duckdb` follows every
publish; it is rewritten only when its views are stale. Together with files.py, the only code
that opens DuckDB or writes Parquet.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import duckdb

from flows.errors import CorruptFile, QueryError, WarehouseError
from transforms.tables import ALL_TABLES, SCHEMA_VERSION, VN_TZ

CATALOG = "warehouse.duckdb"


def view_sql(base: Path) -> list[str]:
    """CREATE VIEW statements: one per table plus canonical_articles."""
    base = base or root
    stmts = []
    for table in ALL_TABLES:
        glob = str(base / table / "**" / "*.parquet").replace("'", "''")
        stmts.append(f"CREATE OR REPLACE VIEW {table} AS SELECT * FROM read_parquet('{glob}', "
                     "hive_partitioning = true, union_by_name = true)")
    stmts.append("CREATE OR REPLACE VIEW canonical_articles AS "
                 "SELECT * FROM articles WHERE duplicate_of IS NULL")
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
    for table, stmt in zip([*ALL_TABLES, "canonical_articles"], view_sql(base)):
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
    """Run SQL over the views; returns a pandas DataFrame (or None for statements without rows)."""
    con = connect(wh)
    try:
        rel = con.sql(sql)
        return None if rel is None else rel.df()
    except duckdb.Error as e:
        raise QueryError(f"query failed: {str(e).splitlines()[0]}") from None
    finally:
        con.close()

def _catalog_sql(root: Path) -> tuple[list[str], str]:
    stmts = view_sql(root)
    digest = hashlib.sha256("\n".join(stmts).encode()).hexdigest()
    stmts.append(f"CREATE OR REPLACE VIEW _newsetl_catalog AS SELECT {SCHEMA_VERSION} AS schema_version, "
                 f"'{digest}' AS views_sha256")
    return stmts, digest

def catalog_is_current(root: Path) -> bool | None:
    """True when warehouse.duckdb has today's views, False when missing or stale, None when
    another process holds it open for writing (it cannot be checked)."""
    path = root / CATALOG
    if not path.exists():
        return False
    _, digest = _catalog_sql(root)
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

def write_catalog(root: Path) -> None:
    """(Re)create warehouse.duckdb with the views, for `duckdb warehouse/warehouse.duckdb`.
    Written under a temporary name and renamed, so a reader never sees half a file."""
    target = root / CATALOG
    tmp = root / f".{CATALOG}.{os.getpid()}.tmp"
    tmp.unlink(missing_ok=True)
    con = duckdb.connect(str(tmp))
    try:
        for stmt in _catalog_sql(root)[0]:
            con.execute(stmt)
    finally:
        con.close()
    os.replace(tmp, target)

def refresh_catalog(root: Path) -> str | None:
    """Rewrite warehouse.duckdb when it is missing or its views are stale (new tables, the
    warehouse moved). Never raises: returns a warning line instead, e.g. when a DuckDB
    session holds the file open for writing."""
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

