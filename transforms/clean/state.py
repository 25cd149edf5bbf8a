"""What the line-level steps have decided so far about one page.

Grain: one page. Every non-blank line gets exactly one decision: removed (reason, detail),
kept (kind), or the title. `assemble.py` turns the decisions, plus the spans that
`inline.py` cuts out of kept lines, into `Structured` rows.
"""
from __future__ import annotations

from transforms.clean.lines import Line, is_name
from transforms.clean.repeats import RepeatTracker
from transforms.clean.rows import Structured
from transforms.clean.cues import SURNAMES, line_key


class PageState:
    def __init__(self, out: Structured, title: Line | None):
        self.out = out
        self.title = title
        self.removed: dict[int, tuple[str, str]] = {}     # line index -> (reason, detail)
        self.kept: list[tuple[Line, str]] = []            # (line, kind) in page order
        self.repeats = RepeatTracker(title)

    def remove(self, ln: Line, reason: str, detail: str = "") -> None:
        self.removed[ln.i] = (reason, detail)

    def keep(self, ln: Line, kind: str) -> None:
        self.kept.append((ln, kind))

    def keep_unless_repeat(self, ln: Line, kind: str) -> bool:
        """Keep the line, or remove it as a repeat; True when kept."""
        rep = self.repeats.check(ln, kind)
        if rep:
            self.remove(ln, rep)
            return False
        self.keep(ln, kind)
        return True

    def set_credit(self, credit: str) -> None:
        """The first credit wins; a credit naming a person ('Theo <name> (<outlet>)') also
        fills author when author is still empty."""
        if self.out.credit is None:
            self.out.credit = credit
        author_from_credit(self.out, credit)

    def set_author(self, author: str) -> None:
        if self.out.author is None:
            self.out.author = author


def author_from_credit(out: Structured, credit: str) -> None:
    """'Theo Nguyễn Hồng Điệp (TTXVN/Vietnam+)' names a person before the outlet: author."""
    if out.author is not None or not credit.startswith(("Theo ", "theo ")) or "(" not in credit:
        return
    name = credit[5:credit.index("(")].strip()
    if is_name(name) and line_key(name.split()[0]) in SURNAMES:
        out.author = name
