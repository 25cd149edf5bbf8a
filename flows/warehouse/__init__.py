"""The Parquet warehouse: versioned snapshots, one writer at a time, atomic publish.

    store.py     Warehouse: the published versions, reading, publish, old versions removed
    staging.py   Staging: a run's new rows and the next version it builds; Changes
    files.py     Parquet files: schema, sort order, row groups, write and read
    catalog.py   DuckDB views and warehouse.duckdb
    faults.py    the writer lock, crash recovery, one-line file-system errors, crash points

Only this package writes Parquet or opens DuckDB (the load gate reads through `connect`).
"""
from flows.errors import CorruptFile, QueryError, WarehouseBusy, WarehouseError, WarehouseUnwritable
from flows.warehouse.catalog import CATALOG
from flows.warehouse.faults import CRASH_POINTS, _reached  # noqa: F401 - tests reset the crash-point counts
from flows.warehouse.files import (MAX_FILES_PER_PARTITION, ROW_GROUP_ROWS, _row_group_rows,  # noqa: F401
                                   conform, file_schema)
from flows.warehouse.staging import Changes, Staging
from flows.warehouse.store import KEEP_VERSIONS, Warehouse
from transforms.tables import ALL_TABLES

__all__ = ["Warehouse", "Staging", "Changes", "WarehouseError", "WarehouseBusy", "WarehouseUnwritable",
           "CorruptFile", "QueryError", "CATALOG", "CRASH_POINTS", "KEEP_VERSIONS", "MAX_FILES_PER_PARTITION",
           "ROW_GROUP_ROWS", "ALL_TABLES", "conform", "file_schema"]
