"""How `newsetl query` writes a result: DuckDB renders it, never pandas.

    table       box(): DuckDB's own box (what the DuckDB CLI prints), NULL as NULL
    markdown    markdown(): a GitHub table of DuckDB's text for each value, NULL as NULL
    csv, json   copy_text(): DuckDB's COPY to a temporary file, read back (NULL: an empty
                field in csv, null in json)
    parquet     copy_file(): DuckDB's COPY, to a temporary name beside the target, then renamed

A file is never left half written: copy_file and atomic_text write under a temporary name in
the target's folder and rename at the end. TIMESTAMPTZ values print in the connection's
TimeZone setting (the caller sets it once). Statements are run in flows/query.py; this module
takes their relations.
"""
from __future__ import annotations

import contextlib
import io
import os
import shutil
import tempfile
from pathlib import Path

_RESULT = "_newsetl_result"          # name a result has inside the COPY that renders it


def box(rel, max_rows, max_width, out) -> str:
    """DuckDB's own box rendering (what the DuckDB CLI prints), NULL as NULL."""
    if max_width is None:
        tty = getattr(out, "isatty", lambda: False)()
        max_width = shutil.get_terminal_size((120, 24)).columns if tty else int(
            os.environ.get("COLUMNS", "120"))
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rel.show(max_width=max_width, max_rows=max_rows or 10**9, null_value="NULL")
    return buf.getvalue()


def copy_file(rel, fmt: str, path: Path) -> int:
    """COPY the result to `path` (temporary name first, renamed at the end); its row count."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    options = {"csv": "FORMAT csv, HEADER true", "json": "FORMAT json, ARRAY true",
               "parquet": "FORMAT parquet"}[fmt]
    target = tmp.replace("'", "''")
    try:
        counted = rel.query(_RESULT, f"COPY (FROM {_RESULT}) TO '{target}' ({options})")
        rows = counted.fetchall()[0][0] if counted is not None else -1
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return rows


def copy_text(rel, fmt: str) -> tuple[str, int]:
    """The result as csv or json text (DuckDB's COPY through a temporary file); its row count."""
    with tempfile.TemporaryDirectory(prefix="newsetl-query-") as d:
        path = Path(d) / f"result.{fmt}"
        rows = copy_file(rel, fmt, path)
        body = path.read_text(encoding="utf-8")
    if fmt == "json" and not body.endswith("\n"):
        body += "\n"
    return body, rows


def markdown(rel) -> str:
    """A GitHub table. Each cell is DuckDB's own text for the value (CAST AS VARCHAR), NULL
    as NULL; `|` is escaped and line breaks become spaces so a cell stays on its line."""
    names = rel.columns
    cells = [f"coalesce(replace(replace(replace(CAST({_quote(n)} AS VARCHAR), '|', '\\|'), "
             f"chr(13), ' '), chr(10), ' '), 'NULL')" for n in names]
    line = "'| ' || concat_ws(' | ', " + ", ".join(cells) + ") || ' |'" if cells else "'||'"
    rows = rel.query(_RESULT, f"SELECT {line} FROM {_RESULT}").fetchall()
    header = "| " + " | ".join(n.replace("|", "\\|") for n in names) + " |"
    rule = "|" + "|".join("---" for _ in names) + "|"
    return "\n".join([header, rule, *(r[0] for r in rows)]) + "\n"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@contextlib.contextmanager
def atomic_text(path: Path):
    """A text file to write the results to: `path` appears only when the block ends without
    an exception (written under a temporary name beside it, then renamed)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            yield f
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
