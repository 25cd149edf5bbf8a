"""Head of a page: site chrome above the title, the title itself, and a date printed
just above it.

Grain: the first HEAD_MAX_ITEMS non-blank lines of one page. Lines above the title are
site chrome, each with its class (`transforms.headline.line_kind`, features of the line
alone): the site's name (boilerplate.site_name), a hotline or newsroom contact line
(boilerplate.contact_line), menus, breadcrumbs and section names (boilerplate.navigation),
related bullets (boilerplate.related_list), a credit line (metadata.source_credit, fills
`credit`); cue-matched chrome keeps its cue's reason. A caption printed above the title is
kept as a caption. A date above the title is the site header's date
(boilerplate.header_date) unless it carries a clock time and no date line sits under the
title (`headline.date_near_title`): then it is the publication date (metadata.date_line,
`published_at`, +07:00 unless the line states another zone). A line that holds a date
inside a headline ('Giá vàng 12/5/2017: SJC tăng mạnh') is a title candidate, not a date.

The title is the first candidate (2..40 words, not ending in a single '.'; all-caps and
lower-case brand starts such as 'iPhone 8 ...' included) that `line_kind` calls a title;
when the first candidate is of another class (a 'Clip: ...' label, a related item ending
in a date, a site or contact line) and a later candidate is a title, the later one wins,
else the first stays the title (most pages start with their title, whatever its words).
If the first non-chrome line is already prose, the page has no title. Each decision is one
named function (`head_line_reason`, `pick_title`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from datetime import datetime

from transforms.dates import parse_date_line
from transforms.headline import KIND_REASON, date_near_title, is_title_with_date, line_kind, starts_with_brand
from transforms.clean.cues import NAV_NAMES
from transforms.clean.lines import Line, chrome_reason, credit_line, is_navigation, is_title_like, tail_start_cue

HEAD_MAX_ITEMS = 25                     # the title is looked for among the first N non-blank lines
TITLE_LABEL_MAX_WORDS = 4               # head lines this short may be section labels, not the title
TITLE_OVERRIDE_MAX_WORDS = 20           # ... and are passed over only for a headline-sized line


@dataclass
class Head:
    title: Line | None
    start: int                                  # index into the items of the first line after the head
    removed: list[tuple[Line, str, str]] = field(default_factory=list)   # (line, reason, detail)
    captions: list[Line] = field(default_factory=list)                   # captions above the title (kept)
    published_at: datetime | None = None        # from a date line just above the title
    date_rest: str = ""                         # what else that date line says (an author?)
    credit: str | None = None                   # from a credit line above the title


_STRONG_KINDS = ("site_name", "hotline", "menu")     # chrome wherever it sits in the head


def head_kind(ln: Line) -> str:
    """`headline.line_kind` of a short line; 'prose' for a long one (never head chrome)."""
    if not ln.short:
        return "prose" if ln.prose else "other"
    return line_kind(ln.s)


def head_line_reason(ln: Line, recurring: frozenset[str]) -> tuple[str, str] | None:
    """Why a line above the title is chrome, or None when it may be the title or prose.
    The pseudo-reason 'date' marks a date line (its final reason depends on the title)."""
    chrome = chrome_reason(ln)
    if chrome:
        return chrome
    if ln.key and ln.key in recurring and not ln.prose:
        return "boilerplate.recurring_line", ""
    if ln.words <= 15 and parse_date_line(ln.s) is not None and not is_title_with_date(ln.s):
        return "date", ""
    if ln.short:
        kind = line_kind(ln.s)
        if kind in _STRONG_KINDS:
            return KIND_REASON[kind], f"{kind.replace('_', ' ')} above the article"
    if is_navigation(ln, strict=False) or is_menu_line(ln):
        return "boilerplate.navigation", ""
    if tail_start_cue(ln) or (ln.key in NAV_NAMES):
        return "boilerplate.navigation", "list heading above the article"
    return None


MENU_MIN_ITEMS = 4                      # a head line of this many short capitalized items between separators


def is_menu_line(ln: Line) -> bool:
    """'Thời sự | Thế giới | Đời sống | Giới trẻ': MENU_MIN_ITEMS+ items of 1..3 words, each
    capitalized, split by one kind of separator; section names the lexicon does not know."""
    if not ln.short or ln.ends:
        return False
    for sep in ("|", "•", "·", "»", "›", " - ", " – "):
        if ln.s.count(sep) >= MENU_MIN_ITEMS - 1:
            items = [x.strip() for x in ln.s.split(sep)]
            return all(x and x[0].isupper() and len(x.split()) <= 3 for x in items)
    return False


def is_candidate(ln: Line) -> bool:
    """Headline-shaped (lines.is_title_like), or a headline starting with a lower-case
    brand ('iPhone 8 ...', 'eBay ...')."""
    if is_title_like(ln):
        return True
    return ln.short and starts_with_brand(ln.s) and not ln.prose and ln.words >= 2


def pick_title(items: list[Line], candidates: list[int]) -> int:
    """The title among headline-like candidates: the first of TITLE_LABEL_MAX_WORDS+1 words
    or more (section labels such as "Bóng đá Việt Nam" are shorter). If all are short, the
    first; a later candidate replaces a short first one only if it is headline-sized
    (<= TITLE_OVERRIDE_MAX_WORDS): an unpunctuated sapo under a short title is longer.
    A first candidate that `line_kind` puts in another class gives way to a later one
    that it calls a title."""
    first = candidates[0]
    if len(candidates) > 1 and head_kind(items[first]) not in ("title", "prose", "other"):
        titled = [c for c in candidates[1:] if head_kind(items[c]) == "title"
                  and items[c].words <= TITLE_OVERRIDE_MAX_WORDS]
        if titled:
            return titled[0]
    if items[first].words > TITLE_LABEL_MAX_WORDS:
        return first
    later = [c for c in candidates[1:] if TITLE_LABEL_MAX_WORDS < items[c].words <= TITLE_OVERRIDE_MAX_WORDS]
    return later[0] if later else first


def _above_title(ln: Line) -> tuple[str, str] | None:
    """Reason for a passed-over candidate above the title, or None to keep it as a caption."""
    kind = head_kind(ln)
    if kind in KIND_REASON:
        return KIND_REASON[kind], f"{kind.replace('_', ' ')} above the title"
    if kind == "credit":
        credit = credit_line(ln)
        return ("metadata.source_credit", credit) if credit else ("boilerplate.navigation", "credit line above the title")
    if kind == "caption":
        return None
    return "boilerplate.navigation", "short line above the title"


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
        elif ln.prose and (candidates or not is_candidate(ln)):
            break
        elif is_candidate(ln):
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
    near = None
    if candidates and any(r == "date" for p, (r, _) in pending.items() if p < best):
        near = date_near_title([ln.s for ln in items[:min(len(items), best + 8)]], best)
        if near is not None and near.position != "above":
            near = None
    for p, (reason, detail) in pending.items():
        if p < best:
            if reason == "date":
                if near is not None and near.index == p:
                    head.published_at, head.date_rest = near.at, near.rest
                    reason, detail = "metadata.date_line", near.at.isoformat()
                else:
                    reason, detail = "boilerplate.header_date", "date above the title: the site's, not the article's"
            head.removed.append((items[p], reason, detail))
    for c in candidates:
        if c < best:
            why = _above_title(items[c])
            if why is None:
                head.captions.append(items[c])
            else:
                if why[0] == "metadata.source_credit" and head.credit is None:
                    head.credit = why[1]
                head.removed.append((items[c], *why))
    return head
