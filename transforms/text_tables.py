"""Text tables: lines that are rows of a table, to be kept as table rows, never dropped.

Pages copied to text keep their tables as lines whose cells are split by a column separator:
'|' ('MANUEL NEUER | Bayern | 8 trận'), a tab, or runs of 2+ spaces; and sports pages print
standings and score tables with single spaces ('1. Man City 38 32 4 2 106-27 100'). Such
lines are short, rarely end in a sentence, and look like chrome or fragments to the cleaning
rules, which then drop them (the tables of the corpus were lost that way).

Features of one line (`row_features`): the separator, the cells, how many cells hold a
number. Decision (`table_row_kind`): 'pipe' / 'tab' / 'spaces' when the line splits into 2+
non-empty cells on that separator (pipes: 2 or more '|' characters, or one with numbers in
the cells; 2+ spaces: 3 or more cells, so a double space typed by mistake is not a table);
'numeric' for a standings or score row: a label, then 3 or more numeric cells
('W-L', '106-27', '+79', '45%', '1.234' count as numeric), at most 3 words of label per
number, and no sentence end; 'score' for a result line of at most 14 words: a score 'N-N'
between a team and a capitalized team ('U20 Việt Nam 0-0 U20 New Zealand'), no sentence end. A line can be one glued row or a whole table flattened into
one line ('A | B | 8 trận. C | D | 9 trận'): it is still 'pipe'.

`table_blocks(lines)` groups consecutive table rows (blank lines end a block) into
`TableBlock(first, last, kind, columns)`; a block of 2+ rows, or 1 row with 3+ cells, is a
table. How to call (for the clean package): run `table_blocks` on the non-blank lines of the
body before the chrome and fragment rules; give every line of a block the paragraph kind
'table' (or 'body' until the tables schema has that kind) and skip the fragment/short-line
rules for it. Chrome rules (`transforms.chrome`) still apply inside its cells.
"""
from __future__ import annotations

import re
from typing import NamedTuple

__all__ = ["RowFeatures", "TableBlock", "row_features", "table_row_kind", "is_table_row", "table_blocks"]

_MULTI_SPACE = re.compile(r" {2,}")
_NUMERIC = re.compile(r"[+-]?\d[\d.,]*(?:[-:/]\d[\d.,]*)?%?")
_SENTENCE_END = (".", "!", "?", "…", ".”", ".\"")
_SCORE = re.compile(r"\d{1,2}-\d{1,2}")
_DATE_WORDS = frozenset("ngày sáng trưa chiều tối đêm hôm tháng từ đến qua nay".split())   # 'Ngày 12-5 ...'
SCORE_MAX_WORDS = 14          # 'U20 Việt Nam 0-0 U20 New Zealand'
MAX_ROW_CHARS = 2_000         # a pipe-table flattened into one line can be long; prose is longer


class RowFeatures(NamedTuple):
    sep: str                  # '|', '\t', '  ' or ' ' (single spaces: numeric rows only)
    cells: list[str]
    numeric_cells: int
    ends_sentence: bool


def _cells(line: str, sep: str) -> list[str]:
    parts = _MULTI_SPACE.split(line.strip()) if sep == "  " else line.split(sep)
    return [c.strip() for c in parts if c.strip()]


def _is_numeric(cell: str) -> bool:
    m = _NUMERIC.fullmatch(cell)
    return m is not None


def row_features(line: str) -> RowFeatures:
    """Separator, cells and numeric cells of one line (the most specific separator present)."""
    s = line.strip()
    if "|" in s:
        sep = "|"
    elif "\t" in s:
        sep = "\t"
    elif "  " in s:
        sep = "  "
    else:
        sep = " "
    cells = _cells(s, sep) if sep != " " else s.split()
    numeric = sum(_is_numeric(c) for c in cells)
    return RowFeatures(sep, cells, numeric, s.endswith(_SENTENCE_END))


def table_row_kind(line: str) -> str | None:
    """'pipe' | 'tab' | 'spaces' | 'numeric' | 'score' for a table row, else None (see module docstring)."""
    s = line.strip()
    if not s or len(s) > MAX_ROW_CHARS:
        return None
    ends_sentence = s.endswith(_SENTENCE_END)      # as row_features gives it
    if "|" in s or "\t" in s or "  " in s:
        f = row_features(s)
        if f.sep == "|":
            bars = s.count("|")
            if len(f.cells) >= 2 and (bars >= 2 or f.numeric_cells or any(_NUMERIC.search(c) for c in f.cells)):
                return "pipe"
            return None
        if f.sep == "\t":
            return "tab" if len(f.cells) >= 2 else None
        if len(f.cells) >= 3 and not (ends_sentence and len(s.split()) > 12):
            return "spaces"
        # a double space inside prose: fall through to the numeric test on single tokens
    tokens = s.split()
    trailing = 0
    for t in reversed(tokens):
        if not _is_numeric(t):
            break
        trailing += 1
    if trailing >= 3:                              # a numeric row ends in 3+ numbers
        numbers = trailing + sum(_is_numeric(t) for t in tokens[:len(tokens) - trailing])
        words = len(tokens) - numbers
        if words <= 3 * numbers and not ends_sentence and words >= 1:
            return "numeric"
    if len(tokens) <= SCORE_MAX_WORDS and not ends_sentence:
        for i in range(1, len(tokens) - 1):
            t = tokens[i]
            if ("-" in t and _SCORE.fullmatch(t) and tokens[i - 1][:1].isalnum()
                    and tokens[i + 1][:1].isupper() and tokens[i - 1].lower() not in _DATE_WORDS):
                return "score"
    return None


def is_table_row(line: str) -> bool:
    return table_row_kind(line) is not None


class TableBlock(NamedTuple):
    first: int        # index into `lines` of the first row
    last: int         # index of the last row (inclusive)
    kind: str         # the kind of most rows
    columns: int      # the most common number of cells


def table_blocks(lines: list[str]) -> list[TableBlock]:
    """Runs of consecutive table rows (a blank line ends a run) that make a table: 2+ rows,
    or a single row with 3+ cells (a table flattened into one line)."""
    out: list[TableBlock] = []
    run: list[tuple[int, str, int]] = []          # (index, kind, cells)

    def close() -> None:
        if not run:
            return
        kinds = [k for _, k, _ in run]
        cols = [c for _, _, c in run]
        kind = max(set(kinds), key=kinds.count)
        columns = max(set(cols), key=cols.count)
        if len(run) >= 2 or columns >= 3:
            out.append(TableBlock(run[0][0], run[-1][0], kind, columns))
        run.clear()

    for i, line in enumerate(lines):
        kind = table_row_kind(line) if line.strip() else None
        if kind is None:
            close()
            continue
        run.append((i, kind, len(row_features(line).cells)))
    close()
    return out
