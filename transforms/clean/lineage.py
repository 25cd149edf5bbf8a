"""Lineage at the span grain: does every character of a page land somewhere, once?

Grain: one page. The title span, each kept paragraph span and each removed span is
`(line_no, char_start, char_end)` into the decoded, normalized lines (1-based line, 0-based
offsets, end exclusive). Blank lines and whitespace between spans need no span. A page is
accounted for when every non-whitespace character of every line is inside exactly one
span, and every span lies inside its line. `uncovered` lists what breaks that, so a check
can say which characters were lost (kind 'gap'), counted twice ('overlap') or pointed at
outside the line ('out_of_range').
"""
from __future__ import annotations

from typing import Iterable, NamedTuple

from transforms.clean.rows import Structured


class Gap(NamedTuple):
    line_no: int
    char_start: int
    char_end: int
    kind: str          # gap | overlap | out_of_range


def uncovered(lines: list[str], spans: Iterable[tuple[int, int, int]]) -> list[Gap]:
    """Characters of `lines` not covered exactly once by `spans` (see module docstring).
    Linear in the characters of the lines that have spans, plus the number of spans."""
    by_line: dict[int, list[tuple[int, int]]] = {}
    out: list[Gap] = []
    for line_no, start, end in spans:
        if not 1 <= line_no <= len(lines) or not 0 <= start <= end <= len(lines[line_no - 1] or ""):
            out.append(Gap(line_no, start, end, "out_of_range"))
            continue
        by_line.setdefault(line_no, []).append((start, end))
    for no, line in enumerate(lines, 1):
        line = line or ""
        covered = sorted(by_line.get(no, ()))
        pos = 0                                    # first character not yet covered
        for start, end in covered:
            if start < pos:
                out.append(Gap(no, start, min(pos, end), "overlap"))
            elif line[pos:start].strip():
                out.extend(_runs(line, pos, start, no))
            pos = max(pos, end)
        if line[pos:].strip():
            out.extend(_runs(line, pos, len(line), no))
    return out


def _runs(line: str, start: int, end: int, no: int) -> list[Gap]:
    """The whitespace-trimmed piece line[start:end] as one gap."""
    piece = line[start:end]
    lead = len(piece) - len(piece.lstrip())
    return [Gap(no, start + lead, start + len(piece.rstrip()), "gap")]


def structured_spans(st: Structured) -> list[tuple[int, int, int]]:
    """Every span a `Structured` page result claims: title, paragraphs, removed."""
    spans = []
    if st.title_line_no is not None:
        spans.append((st.title_line_no, st.title_char_start, st.title_char_end))
    spans.extend((p.line_no, p.char_start, p.char_end) for p in st.paragraphs)
    spans.extend((r.line_no, r.char_start, r.char_end) for r in st.removed)
    return spans


def article_gaps(lines: list[str], st: Structured) -> list[Gap]:
    """`uncovered` for one page result, plus each row whose text is not its span's text
    (kind 'text_mismatch'). Empty when the page is accounted for."""
    out = uncovered(lines, structured_spans(st))
    if out:
        return out
    for row in [*st.paragraphs, *st.removed]:
        if (lines[row.line_no - 1] or "")[row.char_start:row.char_end] != row.text:
            out.append(Gap(row.line_no, row.char_start, row.char_end, "text_mismatch"))
    return out


def spans_cover(lines: list[str], st: Structured) -> bool:
    """True when title + kept spans + removed spans cover every non-space character of
    every line exactly once, and each row's text is its span's text."""
    return not article_gaps(lines, st)
