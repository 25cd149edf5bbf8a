"""`newsetl query`: run a SQL script over the warehouse views and print what DuckDB returns.

Every statement of the script runs, in order, on one connection (DuckDB splits the script,
`extract_statements`); a script that does not parse runs nothing. A statement that returns
rows (SELECT, FROM, DESCRIBE, SHOW, SUMMARIZE, PRAGMA, EXPLAIN, CALL, PIVOT) has its rows
written in the chosen format; statements that only change state (SET, CREATE, INSERT, ...)
print nothing, as in the DuckDB CLI. The first statement that fails stops the script: the
results printed before it stay printed, and `QueryError` carries DuckDB's whole message plus
a hint (the views' names, or the columns of the views the statement names).

Values are rendered by DuckDB, never by pandas (flows/query_render.py): NULL prints as NULL
in `table` and `markdown`, as an empty field in `csv` and as null in `json`; TIMESTAMPTZ
columns all print in the connection's TimeZone setting (the caller sets it once).
"""
from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple, TextIO

import duckdb

from flows import query_render as render

FORMATS = ("table", "csv", "json", "markdown", "parquet")
TABLE_MAX_ROWS = 40                  # the DuckDB CLI's default `.maxrows` for its box output

# Statements that answer with rows. INSERT/UPDATE/DELETE answer with rows only with RETURNING.
_ROW_STATEMENTS = {"SELECT", "PRAGMA", "EXPLAIN", "CALL", "MULTI", "RELATION"}
_DML = {"INSERT", "UPDATE", "DELETE"}


class QueryUsageError(Exception):
    """The options of `newsetl query` do not fit together (unknown format, parquet without a
    file, two sources of SQL). The CLI prints the message and exits 2."""


class QueryError(Exception):
    """A statement of the script failed. `str()` is the full report: which statement, its
    text, DuckDB's whole message, and a hint when one applies. The CLI prints it and exits 2
    (bad SQL is a usage error, as in the README's exit codes)."""

    def __init__(self, detail: str, *, statement_no: int = 0, statement_count: int = 0,
                 statement: str = "", hint: str = "") -> None:
        self.detail = detail
        self.statement_no = statement_no
        self.statement_count = statement_count
        self.statement = statement
        self.hint = hint
        super().__init__(self._report())

    def _report(self) -> str:
        lines = []
        if self.statement_no:
            lines.append(f"statement {self.statement_no} of {self.statement_count} failed:")
            lines += ["  " + line for line in self.statement.strip().splitlines()]
        lines.append(self.detail.rstrip())
        if self.hint:
            lines.append(f"hint: {self.hint}")
        return "\n".join(lines)


class ScriptResult(NamedTuple):
    statements: int          # statements run
    results: int             # statements whose rows were written
    rows_written: int | None  # rows in the file for --format parquet/csv/json to a file, else None


def load_script(sql: str | None, file: Path | None, stdin: TextIO | None = None) -> str:
    """The SQL text from the argument or from `-f FILE` (`-f -` reads standard input)."""
    if (sql is None) == (file is None):
        raise QueryUsageError("give the SQL either as an argument or with -f FILE, not both"
                              if sql is not None else "no SQL: give it as an argument or with -f FILE")
    if file is None:
        return sql
    if str(file) == "-":
        return (stdin or sys.stdin).read()
    try:
        return file.read_text(encoding="utf-8")
    except OSError as e:
        raise QueryUsageError(f"cannot read {file}: {e.strerror or e}") from None
    except UnicodeDecodeError:
        raise QueryUsageError(f"{file} is not UTF-8 text") from None


def run_script(con: duckdb.DuckDBPyConnection, sql: str, fmt: str = "table",
               out: TextIO | None = None, output_path: Path | None = None, *,
               max_rows: int | None = TABLE_MAX_ROWS, max_width: int | None = None) -> ScriptResult:
    """Run every statement of `sql` on `con`; write each row-returning result to `out`.

    `fmt` is one of FORMATS. `parquet` writes the single row-returning statement of the script
    to `output_path` (written beside it under a temporary name, then renamed, so a failed
    query leaves no half file); for the text formats `output_path`, when given, replaces
    `out`. `max_rows` caps the `table` box (None or 0: every row, up to DuckDB's box limit);
    `max_width` defaults to the terminal's width (COLUMNS), 120 off a terminal.
    Raises QueryUsageError for options that do not fit, QueryError when a statement fails."""
    if fmt not in FORMATS:
        raise QueryUsageError(f"unknown --format {fmt!r}; use one of: {', '.join(FORMATS)}")
    if fmt == "parquet" and output_path is None:
        raise QueryUsageError("--format parquet writes a file: add -o FILE.parquet")
    out = out if out is not None else sys.stdout
    statements = split_statements(con, sql)
    if fmt == "parquet":
        return _run_to_parquet(con, statements, output_path)
    if output_path is not None:
        with render.atomic_text(output_path) as f:
            return _run_to_text(con, statements, fmt, f, max_rows, max_width)
    return _run_to_text(con, statements, fmt, out, max_rows, max_width)


def split_statements(con: duckdb.DuckDBPyConnection, sql: str) -> list:
    """DuckDB's own split of the script. Raises QueryError when it does not parse or is empty."""
    try:
        statements = con.extract_statements(sql)
    except duckdb.Error as e:
        raise QueryError(str(e), hint="nothing ran: the script does not parse") from None
    if not statements:
        raise QueryError("the script holds no SQL statement")
    return statements


# -- running ---------------------------------------------------------------------------------

def _results(con, statements) -> Iterator[tuple[int, str, duckdb.DuckDBPyRelation]]:
    """Run the statements in order; yield (number, text, relation) for each that returns rows.
    A SELECT's relation is lazy: it runs when the caller renders it, inside `_failing`."""
    total = len(statements)
    for no, stmt in enumerate(statements, 1):
        text = stmt.query
        with _failing(con, no, total, text):
            rel = con.sql(text)
        if rel is None or not _returns_rows(stmt, rel):
            continue
        yield no, text, rel


def _returns_rows(stmt, rel) -> bool:
    kind = stmt.type.name
    if kind in _ROW_STATEMENTS:
        return True
    return kind in _DML and rel.columns != ["Count"]      # INSERT ... RETURNING


@contextlib.contextmanager
def _failing(con, no: int, total: int, text: str):
    try:
        yield
    except duckdb.Error as e:
        raise QueryError(str(e), statement_no=no, statement_count=total, statement=text,
                         hint=hint_for(con, str(e), text)) from None


def _run_to_text(con, statements, fmt, out, max_rows, max_width) -> ScriptResult:
    shown = 0
    rows_written = 0
    for no, text, rel in _results(con, statements):
        with _failing(con, no, len(statements), text):
            if fmt == "table":
                body, count = render.box(rel, max_rows, max_width, out), None
            else:
                # run the statement once, now: rendering names the result as a view, and a
                # lazy relation over information_schema would then list that view as well
                rel = con.from_arrow(rel.to_arrow_table())
                body, count = (render.markdown(rel), None) if fmt == "markdown" else render.copy_text(rel, fmt)
        if fmt in ("table", "markdown"):
            body = ("\n" if shown else "") + body.rstrip("\n") + "\n"
        out.write(body)
        shown += 1
        rows_written = None if count is None or rows_written is None else rows_written + count
    out.flush()
    return ScriptResult(len(statements), shown, rows_written if shown else None)


def _run_to_parquet(con, statements, output_path: Path) -> ScriptResult:
    row_statements = [n for n, s in enumerate(statements, 1) if s.type.name in _ROW_STATEMENTS]
    if len(row_statements) > 1:                 # refused before anything runs
        second = row_statements[1]
        raise QueryError("--format parquet writes one result, and this statement returns a "
                         "second one", statement_no=second, statement_count=len(statements),
                         statement=statements[second - 1].query,
                         hint="nothing ran: split the script, or use --format csv")
    results = 0
    rows = None
    for no, text, rel in _results(con, statements):
        results += 1
        if results > 1:
            raise QueryError("--format parquet writes one result, and this statement returns a "
                             "second one", statement_no=no, statement_count=len(statements),
                             statement=text, hint="split the script, or write the other results "
                                                  "with --format csv")
        with _failing(con, no, len(statements), text):
            rows = render.copy_file(rel, "parquet", output_path)
    if results == 0:
        raise QueryError("--format parquet needs a statement that returns rows; none did")
    return ScriptResult(len(statements), results, rows)


# -- hints --------------------------------------------------------------------------------------

_MISSING_COLUMN = re.compile(r'Referenced column "([^"]*)" not found')
_MISSING_TABLE = re.compile(r"Table with name (\S+) does not exist")


def hint_for(con: duckdb.DuckDBPyConnection, message: str, statement: str) -> str:
    """One line that helps with the usual mistakes: an unknown table lists the views; an
    unknown column lists the columns of the views the statement names; a "string" in double
    quotes says that SQL strings take single quotes. Empty when nothing applies."""
    column = _MISSING_COLUMN.search(message)
    if column:
        name = column.group(1)
        if f'"{name}"' in statement:
            return (f'"{name}" in double quotes is a column name; a string takes single quotes: '
                    f"'{name}'")
        listed = _columns_of_named_views(con, statement)
        if listed:
            return "; ".join(f"{view} has {', '.join(cols)}" for view, cols in listed.items())
        return ""
    if _MISSING_TABLE.search(message):
        views = _views(con)
        return f"the views are: {', '.join(views)}" if views else "there are no views here"
    if "No files found that match the pattern" in message:
        return "relative paths are read from the current directory: " + os.getcwd()
    return ""


def _views(con) -> list[str]:
    try:
        rows = con.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_catalog = current_database() AND table_schema = current_schema() "
            "ORDER BY 1").fetchall()
    except duckdb.Error:
        return []
    return [r[0] for r in rows if not r[0].startswith("_")]


def _columns_of_named_views(con, statement: str) -> dict[str, list[str]]:
    words = set(re.findall(r"\w+", statement.lower()))
    named = [v for v in _views(con) if v.lower() in words]
    listed = {}
    for view in named:
        try:
            rows = con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
                "AND table_catalog = current_database() AND table_schema = current_schema() "
                "ORDER BY ordinal_position", [view]).fetchall()
        except duckdb.Error:        # a view whose files cannot be read has no column list
            continue
        listed[view] = [r[0] for r in rows]
    return listed
