"""Text tables inside the article: which lines are rows of a table (kept, kind 'table').

Grain: the non-blank lines of one page between the head and the tail. `text_tables.table_blocks`
groups consecutive table rows (a blank line ends a block) into tables: 2+ rows, or one row
with 3+ cells. body.read_body keeps every line of a block whole as a `table` paragraph once
the chrome and navigation rules have passed it (a share bar or a menu split by '|' looks like
a one-row table), before the fragment and short-line rules (which would drop a row such as
'1. Man City 38 32 4 2 106-27 100'); chrome_cut still cuts widgets inside its cells. A row
longer than TABLE_ROW_MAX_WORDS words is never a table row: it holds story sentences (a
table flattened into a story line stays in the body, whole, as before). Table rows are part
of the article's `body` column (transforms.pipeline.BODY_KINDS).
"""
from __future__ import annotations

from transforms.clean.lines import Line
from transforms.text_tables import SCORE_MAX_WORDS, table_blocks

TABLE_ROW_MAX_WORDS = 40


def _may_be_row(ln: Line) -> bool:
    """Cheap necessary condition for text_tables.table_row_kind: a '|' or a tab, a short
    line (a score row), or a line ending in a number (a standings row)."""
    s = ln.s
    return "|" in s or "\t" in s or ln.words <= SCORE_MAX_WORDS or s[-1].isdigit() or s[-1] == "%"


def table_rows(items: list[Line], start: int, end: int) -> frozenset[int]:
    """Indices into `items` (start <= j < end) of lines that are rows of a text table."""
    texts: list[str] = []
    index: list[int] = []
    prev = None
    for j in range(start, end):
        ln = items[j]
        if prev is not None and ln.i != prev + 1:
            texts.append("")                       # a blank line between: ends a block
            index.append(-1)
        keep = ln.words <= TABLE_ROW_MAX_WORDS and _may_be_row(ln)
        texts.append(ln.s if keep and len(ln.s) <= 2_000 else "")
        index.append(j if keep else -1)
        prev = ln.i
    out: set[int] = set()
    for block in table_blocks(texts):
        out.update(index[k] for k in range(block.first, block.last + 1) if index[k] >= 0)
    return frozenset(out)
