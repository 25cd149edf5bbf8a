"""Head of a page: site chrome above the title, and the title itself.

Grain: the first HEAD_MAX_ITEMS non-blank lines of one page. Lines above the title are
site chrome: a date there is the site header's date (boilerplate.header_date, never
published_at), breadcrumbs and menus are boilerplate.navigation, cue-matched chrome keeps
its cue's reason. The title is the first line that is not chrome and looks like a headline
(2..40 words, not ending in a single '.'); if the first non-chrome line is already prose,
the page has no title. Each decision is one named function (`head_line_reason`,
`pick_title`) so that more classifiers can be plugged in.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from transforms.dates import parse_date_line
from transforms.clean.cues import NAV_NAMES
from transforms.clean.lines import Line, chrome_reason, is_navigation, is_title_like, tail_start_cue

HEAD_MAX_ITEMS = 25                     # the title is looked for among the first N non-blank lines
TITLE_LABEL_MAX_WORDS = 4               # head lines this short may be section labels, not the title
TITLE_OVERRIDE_MAX_WORDS = 20           # ... and are passed over only for a headline-sized line


@dataclass
class Head:
    title: Line | None
    start: int                                  # index into the items of the first line after the head
    removed: list[tuple[Line, str, str]] = field(default_factory=list)   # (line, reason, detail)


def head_line_reason(ln: Line, recurring: frozenset[str]) -> tuple[str, str] | None:
    """Why a line above the title is chrome, or None when it may be the title or prose.
    The pseudo-reason 'date' marks a date line (its final reason depends on the title)."""
    chrome = chrome_reason(ln)
    if chrome:
        return chrome
    if ln.key and ln.key in recurring and not ln.prose:
        return "boilerplate.recurring_line", ""
    if ln.words <= 15 and parse_date_line(ln.s) is not None:
        return "date", ""
    if is_navigation(ln, strict=False):
        return "boilerplate.navigation", ""
    if tail_start_cue(ln) or (ln.key in NAV_NAMES):
        return "boilerplate.navigation", "list heading above the article"
    return None


def pick_title(items: list[Line], candidates: list[int]) -> int:
    """The title among headline-like candidates: the first of TITLE_LABEL_MAX_WORDS+1 words
    or more (section labels such as "Bóng đá Việt Nam" are shorter). If all are short, the
    first; a later candidate replaces a short first one only if it is headline-sized
    (<= TITLE_OVERRIDE_MAX_WORDS): an unpunctuated sapo under a short title is longer."""
    first = candidates[0]
    if items[first].words > TITLE_LABEL_MAX_WORDS:
        return first
    later = [c for c in candidates[1:] if TITLE_LABEL_MAX_WORDS < items[c].words <= TITLE_OVERRIDE_MAX_WORDS]
    return later[0] if later else first


def read_head(items: list[Line], recurring: frozenset[str]) -> Head:
    """The title line (or None) and the chrome above it, each with its reason."""
    pending: dict[int, tuple[str, str]] = {}       # head position -> (reason, detail)
    candidates: list[int] = []
    pos = 0
    while pos < len(items) and pos < HEAD_MAX_ITEMS:
        ln = items[pos]
        why = head_line_reason(ln, recurring)
        if why:
            pending[pos] = why
        elif ln.prose and (candidates or not is_title_like(ln)):
            break
        elif is_title_like(ln):
            candidates.append(pos)
            if ln.prose:
                pos += 1
                break
        elif candidates:
            break
        else:
            pending[pos] = ("boilerplate.navigation", "short line above the article")
        pos += 1
    if candidates:
        best = pick_title(items, candidates)
        head = Head(items[best], best + 1)
    else:
        best = pos
        head = Head(None, pos)
    for p, (reason, detail) in pending.items():
        if p < best:
            if reason == "date":
                reason, detail = "boilerplate.header_date", "date above the title: the site's, not the article's"
            head.removed.append((items[p], reason, detail))
    for c in candidates:
        if c < best:
            head.removed.append((items[c], "boilerplate.navigation", "short line above the title"))
    return head
