"""The rows the cleaning step produces for one page, and the span every row points at.

Grain: one `Paragraph` per kept span (lede, body, caption), one `Removed` per dropped
non-blank span; blank lines are only counted. A span is `(line_no, char_start, char_end)`:
1-based line of the decoded, normalized page and 0-based character offsets into that line,
end exclusive, so `text == lines[line_no - 1][char_start:char_end]` for every row. A
whole line is the span `(0, len(line))`; a line cut in pieces (a caption and its credit
inside a body line, a byline after the last sentence) gives one row per piece.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class Paragraph:
    line_no: int      # 1-based line number in the input lines
    kind: str         # 'lede' | 'body' | 'caption'
    text: str
    char_start: int = 0
    char_end: int = -1    # -1: to the end of `text` from char_start (filled in by assemble)


@dataclass
class Removed:
    line_no: int
    text: str
    reason: str       # a code from transforms/reasons.py REMOVED_REASONS
    detail: str = ""
    char_start: int = 0
    char_end: int = -1


@dataclass
class Structured:
    title: str | None
    title_line_no: int | None
    published_at: datetime | None   # tz-aware; +07:00 unless the text says otherwise
    author: str | None
    credit: str | None
    paragraphs: list[Paragraph] = field(default_factory=list)
    removed: list[Removed] = field(default_factory=list)
    blank_lines: int = 0
    title_char_start: int = 0
    title_char_end: int = 0


@dataclass(frozen=True)
class Span:
    """One piece of a line decided by a step: kept (`kind` lede/body/caption) or removed
    (`reason`, a REMOVED_REASONS code). Offsets index the line as given (not stripped)."""
    start: int
    end: int
    kind: str = ""        # lede | body | caption when kept
    reason: str = ""      # set when removed
    detail: str = ""

    @property
    def kept(self) -> bool:
        return not self.reason
