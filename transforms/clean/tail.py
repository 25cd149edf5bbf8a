"""Where the article ends, and what follows it: end markers, related lists, comment forms.

Grain: the lines of one page after the head. Line level:
- `find_tail`: the tail starts at the first related-list or comment heading after the
  article began ("Có thể bạn quan tâm", "- Cùng chuyên mục"); that line and every later one
  go to `removed` (`read_tail`: boilerplate.related_list / boilerplate.comment_form, or a
  more specific reason when a cue matches). Dates there belong to list items.
- `find_last_prose`: the article is a contiguous run of prose ending at its last prose line
  (sentence-final punctuation, or >= PROSE_MIN_WORDS_UNPUNCTUATED words) before the tail.
- `read_after`: between the last prose line and the tail heading, credits, bylines, photo
  credits and tag lines are consumed; the first line that is none of these (typically a
  related headline without a heading) turns the rest into boilerplate.tail
  (boilerplate.related_list when it ends with a date).
Inside a line, the byline or source note glued after the last sentence is cut by
`split_tail_note` (see inline.py for the rest of the line's spans).
"""
from __future__ import annotations

from transforms.dates import ends_with_date, parse_date_line
from transforms.clean.lines import (
    Line, byline_name, chrome_reason, continues_article, credit_line, is_caption_credit, is_navigation,
    is_photo_credit_only, tail_start_cue)
from transforms.clean.state import PageState


def find_tail(items: list[Line], start: int) -> tuple[int, str]:
    """(index of the tail heading or len(items), 'related' | 'comment')."""
    for j in range(start, len(items)):
        cue = tail_start_cue(items[j])
        if cue:
            return j, cue
    return len(items), "related"


def find_last_prose(items: list[Line], start: int, tail: int) -> int:
    """Index of the last prose line before the tail (tail - 1 when there is none)."""
    for j in range(tail - 1, start - 1, -1):
        ln = items[j]
        if ln.prose and not (ln.short and chrome_reason(ln)):
            return j
    return tail - 1


def read_after(st: PageState, items: list[Line], last: int, tail: int, recurring: frozenset[str]) -> None:
    """Lines after the last prose line and before the tail heading."""
    junk = False
    ended = False                                  # an end marker (credit, byline, tag...) was seen
    first_after = True
    title_key = st.repeats.title_key
    for j in range(last + 1, tail):
        ln = items[j]
        chrome = chrome_reason(ln)
        if chrome:
            st.remove(ln, *chrome)
            ended = True
            continue
        if ln.key and ln.key in recurring:
            st.remove(ln, "boilerplate.recurring_line")
            ended = True
            continue
        if not junk and not ended and continues_article(ln):
            st.keep_unless_repeat(ln, "body")
            continue
        if not junk:
            credit = credit_line(ln)
            if credit:
                st.set_credit(credit)
                st.remove(ln, "metadata.source_credit", credit)
                ended = True
                continue
            author = byline_name(ln, loose=first_after)
            if author:
                st.set_author(author)
                st.remove(ln, "metadata.byline", author)
                first_after = False
                ended = True
                continue
            if is_photo_credit_only(ln):
                st.remove(ln, "boilerplate.photo_credit")
                first_after = False
                ended = True
                continue
            if first_after and is_caption_credit(ln) and not ends_with_date(ln.s):
                st.keep_unless_repeat(ln, "caption")
                first_after = False
                continue
        if title_key and ln.key == title_key:
            st.remove(ln, "dedup.repeated_title")
            continue
        junk = True
        first_after = False
        if ends_with_date(ln.s) or (ln.words <= 15 and parse_date_line(ln.s) is not None):
            st.remove(ln, "boilerplate.related_list", "list item with its own date")
        elif is_navigation(ln, strict=False):
            st.remove(ln, "boilerplate.navigation")
        else:
            st.remove(ln, "boilerplate.tail", "after the last article paragraph")


def read_tail(st: PageState, items: list[Line], tail: int, tail_kind: str, recurring: frozenset[str]) -> None:
    """The tail proper: every line from the tail heading on is removed."""
    section = "boilerplate.related_list" if tail_kind == "related" else "boilerplate.comment_form"
    for j in range(tail, len(items)):
        ln = items[j]
        cue = tail_start_cue(ln)
        if cue:
            section = "boilerplate.related_list" if cue == "related" else "boilerplate.comment_form"
            st.remove(ln, section, "tail heading")
            continue
        chrome = chrome_reason(ln)
        if chrome:
            st.remove(ln, *chrome)
        elif ln.key and ln.key in recurring:
            st.remove(ln, "boilerplate.recurring_line")
        else:
            st.remove(ln, section)
