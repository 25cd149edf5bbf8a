"""Inside the article, line by line: metadata between the title and the first paragraph,
then every line kept unless a cue or a feature says otherwise.

Grain: the lines from the end of the head to the last prose line of one page. A date line
right under the title becomes published_at (metadata.date_line); later date lines are
boilerplate.short_fragment. Credit lines fill `credit` (metadata.source_credit), a byline
before the first paragraph fills `author` (metadata.byline). Captions are kept with kind
'caption': a line carrying a photo credit ("... Ảnh: Vũ Chi", "(Nguồn: TTXVN)", "Ảnh minh
họa."), or a line without sentence-final punctuation of CAPTION_MIN_WORDS..CAPTION_MAX_WORDS
words that sits between paragraphs; shorter unpunctuated lines there are sub-headings
(body); a story paragraph ending in 'Nguồn: <name>' is not a caption
(`story_with_source_note`). A line that is only a credit ("Tin ảnh: Mạnh Hùng") is boilerplate.photo_credit.
The lede is the first kept paragraph when the page has a title and that paragraph is prose
of at most LEDE_MAX_WORDS words. Rows of a text table (tables.table_rows) are kept whole
with kind 'table' before any other rule looks at them. Repeats go to `removed` (repeats.py).
"""
from __future__ import annotations

from transforms.chrome import find_chrome_spans
from transforms.dates import parse_date_line
from transforms.clean.cues import INLINE_RELATED
from transforms.clean.lines import (
    CAPTION_MAX_WORDS, Line, byline_name, chrome_reason, credit_line, is_caption_credit, is_name,
    is_navigation, is_photo_credit_only, source_note_start)
from transforms.clean.sentences import sentence_ends
from transforms.clean.state import PageState

CAPTION_MIN_WORDS = 9                   # shorter unpunctuated lines between paragraphs are sub-headings
LEDE_MAX_WORDS = 150


def date_line_reason(st: PageState, ln: Line, in_head: bool) -> tuple[str, str] | None:
    """A date line inside the article: published_at when it sits under the title."""
    dl = parse_date_line(ln.s) if ln.short and ln.words <= 15 else None
    if dl is None:
        return None
    out = st.out
    if in_head and st.title is not None and out.published_at is None:
        out.published_at = dl.at
        if dl.rest and out.author is None and is_name(dl.rest):
            out.author = dl.rest
        return "metadata.date_line", dl.at.isoformat()
    if in_head and st.title is not None:
        return "metadata.date_line", "second date line; published_at keeps the first"
    if in_head:
        return "boilerplate.header_date", "date before the article with no title above it"
    return "boilerplate.short_fragment", "date line inside the article; not published_at"


WIDGET_LINE_MAX_WORDS = 12


def whole_line_chrome(ln: Line) -> tuple[str, str] | None:
    """(reason, detail) when a short line is nothing but site widgets ('A- A A+',
    '2.345 lượt xem', '00:00 / 02:35'): chrome.find_chrome_spans covers every letter and
    digit of it. Checked before the byline rule, which would read 'A- A A+' as a name."""
    if not ln.short or ln.words > WIDGET_LINE_MAX_WORDS:
        return None
    found = find_chrome_spans(ln.s)
    if not found:
        return None
    pos = 0
    for sp in found:
        if any(c.isalnum() for c in ln.s[pos:sp.start]):
            return None
        pos = sp.end
    if any(c.isalnum() for c in ln.s[pos:]):
        return None
    return found[0].reason, found[0].detail


def story_with_source_note(ln: Line, in_head: bool) -> bool:
    """A story paragraph ending in a source note ('... nằm bất tỉnh. Nguồn: Facebook'): the
    first paragraph, or two or more sentences before the note. It stays body (the note is
    cut by inline.py as metadata.source_credit); a one-sentence line between paragraphs
    with such a note is a caption."""
    at = source_note_start(ln.s)
    if at is None:
        return False
    return in_head or len(sentence_ends(ln.s, 0, at)) >= 2


def read_body(st: PageState, items: list[Line], start: int, last: int, recurring: frozenset[str],
              tables: frozenset[int] = frozenset()) -> None:
    in_head = True                                 # before the first kept paragraph
    seen_prose = False
    for j in range(start, last + 1):
        ln = items[j]
        chrome = chrome_reason(ln) if ln.short or ln.s.isascii() else None
        if chrome:
            st.remove(ln, *chrome)
            continue
        widget = whole_line_chrome(ln)
        if widget:
            st.remove(ln, *widget)
            continue
        if ln.short and not ln.prose and is_navigation(ln, strict=True):
            st.remove(ln, "boilerplate.navigation")
            continue
        if j in tables:                            # a share bar or a menu split by '|' is not a
            st.keep(ln, "table")                   # table (above); no fragment/short-line rule
            continue
        why = date_line_reason(st, ln, in_head)
        if why:
            st.remove(ln, *why)
            continue
        credit = credit_line(ln)
        if credit:
            st.set_credit(credit)
            st.remove(ln, "metadata.source_credit", credit)
            continue
        if in_head:
            author = byline_name(ln, loose=True)
            if author and not ln.prose:
                st.set_author(author)
                st.remove(ln, "metadata.byline", author)
                continue
        if is_photo_credit_only(ln):
            st.remove(ln, "boilerplate.photo_credit")
            continue
        if ln.short and INLINE_RELATED.match(ln.s):
            st.remove(ln, "boilerplate.related_list", "inline related link")
            continue
        if ln.key and ln.key in recurring and not ln.prose:
            st.remove(ln, "boilerplate.recurring_line")
            continue
        if is_caption_credit(ln) and not story_with_source_note(ln, in_head):
            kind = "caption"
        elif seen_prose and not ln.ends and CAPTION_MIN_WORDS <= ln.words <= CAPTION_MAX_WORDS:
            kind = "caption"
        else:
            kind = "body"
        rep = st.repeats.check(ln, kind)
        if rep:
            st.remove(ln, rep)
            continue
        if kind == "body" and in_head and st.title is not None and ln.prose and ln.words <= LEDE_MAX_WORDS:
            kind = "lede"
            st.repeats.mark_lede(ln)
        in_head = False
        if ln.prose:
            seen_prose = True
        st.keep(ln, kind)
