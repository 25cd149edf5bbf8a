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

import re

from transforms.chrome import WEB_TLDS
from transforms.dates import ends_with_date, parse_date_line
from transforms.clean.lines import (
    Line, byline_name, chrome_reason, continues_article, credit_line, is_caption_credit, is_navigation,
    is_photo_credit_only, tail_start_cue)
from transforms.clean.cues import NGUON, THEO
from transforms.clean.state import PageState


def find_tail(items: list[Line], start: int) -> tuple[int, str]:
    """(index of the tail heading or len(items), 'related' | 'comment')."""
    for j in range(start, len(items)):
        cue = tail_start_cue(items[j])
        if cue:
            return j, cue
    return len(items), "related"


def find_last_prose(items: list[Line], start: int, tail: int, tables: frozenset[int] = frozenset()) -> int:
    """Index of the last prose line before the tail (tail - 1 when there is none). A text
    table's row (`tables`, item indices) after some prose counts as article text: a table
    that ends the story is kept, not read as the tail."""
    prose_seen = any(items[j].prose for j in range(start, tail)) if tables else False
    for j in range(tail - 1, start - 1, -1):
        ln = items[j]
        if (ln.prose and not (ln.short and chrome_reason(ln))) or (prose_seen and j in tables):
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


# -- a note glued after the last sentence of a line ------------------------------------------
NOTE_MAX_CHARS = 90
NOTE_MAX_WORDS = 12
# notes in brackets after a name that say how the text was made, not where it came from
_COMPILED = frozenset({"t/h", "th", "tổng hợp", "lược dịch", "dịch", "tổng hợp từ", "thực hiện", "còn tiếp",
                       "còn nữa", "hết", "kỳ sau", "còn tiếp)"})
_GROUP_CREDITS = frozenset({"pv", "nhóm pv", "nhóm phóng viên", "ctv", "pv-ctv", "nhóm ctv", "phóng viên"})
_NOTE_LABEL = re.compile(r"^(?:Tin|Bài|Ảnh|Bài viết|Thực hiện|Ghi chép|Tin và ảnh|Bài và ảnh|Tin, ảnh|"
                         r"Bài, ảnh|Tin - ảnh|Tin-ảnh|Bài - ảnh|Bài-ảnh|Tin ảnh|Nhóm phóng viên|Phóng viên)"
                         r"\s?:\s?(\S.*)$", re.IGNORECASE)


def _name_token(tok: str) -> bool:
    """'Minh', 'NAM', 'H.Bình', 'N.NAM', 'BS.', 'Nguyễn': capitalised, no digits."""
    t = tok.strip(",;")
    return bool(t) and t[0].isupper() and not any(c.isdigit() for c in t) and all(
        c.isalpha() or c in ".-'’" for c in t)


def is_person(text: str, single_ok: bool = False) -> bool:
    """1..5 capitalised words ('Thống Nhất', 'ĐÌNH VĂN', 'H.Bình', 'BS. Hoàng Văn Thái');
    one word only with an initial's '.' ('H.Bình') unless single_ok."""
    words = text.split()
    if not 1 <= len(words) <= 5 or not all(_name_token(w) for w in words):
        return False
    if len(words) == 1:
        w = words[0]
        return single_ok or ("." in w.rstrip(".") and not _is_domain(w))
    return not (len(words) == 1 and words[0].isupper())


def _is_domain(tok: str) -> bool:
    """'Kinhtedothi.vn', 'VOV.VN', 'Zing.vn': a site name used as a credit."""
    core = tok.rstrip(".")
    tld = core.rsplit(".", 1)[-1].lower() if "." in core else ""
    return tld in WEB_TLDS


def _agency(text: str) -> bool:
    """'TTXVN', 'VOV', 'TTXVN/Tin Tức', 'Kinhtedothi.vn'."""
    words = text.split("/")[0].split()
    if not words:
        return False
    first = words[0]
    letters = [c for c in first if c.isalpha()]
    return _is_domain(first) or (len(letters) >= 2 and first.isupper() and first.isascii() and len(text.split()) <= 4)


def names_only(text: str) -> bool:
    """One name, or several joined by ' - ', ', ', ' và ', ' – '."""
    parts = [p.strip() for p in re.split(r" [-–] |, | và ", text) if p.strip()]
    if not parts or len(parts) > 4:
        return False
    return all(is_person(p, single_ok=len(parts) > 1) for p in parts)


def parse_tail_note(note: str) -> tuple[str | None, str | None] | None:
    """(author, credit) of a byline or source note glued after the last sentence, or None
    when `note` is not one. Forms: 'Theo <outlet or name>' and 'Nguồn: <x>' (credit);
    'Tin, ảnh: <name>' and other labels (author); a group credit ('Nhóm PV'); one or several
    names, optionally with '(T/h)', '(<outlet>)', '/<outlet>', ' - <outlet>' or ', Theo
    <outlet>' after them (author, and credit for the outlet); an agency code or a site name
    alone ('TTXVN', 'Kinhtedothi.vn': credit)."""
    s = note.strip()
    while s.endswith(("./.", ".", "-", "–")) and len(s) > 1:
        s = s[:-3] if s.endswith("./.") else s[:-1]
        s = s.rstrip()
    if s.startswith("(") and ")" in s and s[1:s.index(")")].strip().lower() in _COMPILED:
        s = s[s.index(")") + 1:].strip()       # "(T/h) Theo Đời sống Plus": the note goes on
    if not s or len(s) > NOTE_MAX_CHARS or len(s.split()) > NOTE_MAX_WORDS or s[0] in "\"'“‘-–—(":
        return None
    if s.lower() in _GROUP_CREDITS:
        return s, None
    m = THEO.match(s)
    if m:
        rest = m.group(1)
        if not (rest[0].isupper() or rest[0] == "("):
            return None
        name = rest.split("/")[0].split(" (")[0].strip()
        author = name if "/" in rest and is_person(name) else None
        return author, s
    m = NGUON.match(s)
    if m:
        rest = m.group(1)
        return (None, rest) if rest[:1].isupper() or rest[:1] == "(" else None
    m = _NOTE_LABEL.match(s)
    if m:
        rest = m.group(1).split(" (")[0].strip()
        return (rest, None) if names_only(rest) or rest.lower() in _GROUP_CREDITS else None
    credit = None
    body = s
    for sep in (", Theo ", " - Theo ", " (Theo ", ", theo ", " - theo ", " Theo "):
        i = body.find(sep)
        if i > 0:
            credit = body[i:].lstrip(" ,-–(").rstrip(" )")
            body = body[:i].strip()
            break
    if body.endswith(")") and " (" in body:
        i = body.rindex(" (")
        inner = body[i + 2:-1].strip()
        body = body[:i].strip()
        if inner.lower() not in _COMPILED and credit is None:
            credit = inner
    if "/" in body:
        name, _, outlet = body.partition("/")
        if names_only(name.strip()) and outlet.strip():
            return name.strip(), credit or outlet.strip()
    if names_only(body):
        return body, credit
    if _agency(body) and credit is None:
        return None, body
    return None
