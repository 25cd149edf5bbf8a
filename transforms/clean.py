"""Article structure and boilerplate removal: raw page lines -> title, date, credit, lede,
body, captions, and a reason for every line that was dropped.

Grain: one call per document; one `Paragraph` per kept line, one `Removed` per dropped
non-blank line, blank lines only counted. Every input line index is accounted for exactly
once: title line + paragraphs + removed + blank_lines == len(lines). Kept texts are the
input lines unchanged, except that a credit prefix such as "(ĐCSVN) - " is cut from the
start of a kept paragraph and stored in `credit`.

How a page is read (rules, not per-site patterns):

1. Head. Lines above the title are site chrome: a date there is the site header's date
   (boilerplate.header_date, never published_at), breadcrumbs and menus are
   boilerplate.navigation. The title is the first line that is not chrome and looks like a
   headline (2..40 words, not ending in a single '.'). If the first non-chrome line is
   already prose, the page has no title (None).
2. Metadata between the title and the first paragraph: a date line (metadata.date_line,
   parsed into published_at), a byline (metadata.byline), a source credit
   (metadata.source_credit), a repeat of the title (dedup.repeated_title).
3. Tail. After the article has begun, a line that is a related-list heading ("Có thể bạn
   quan tâm", "- Cùng chuyên mục", ...) or a comment-section heading starts the tail:
   that line and every later one are removed (boilerplate.related_list /
   boilerplate.comment_form, or a more specific reason when a cue matches). Dates in the
   tail belong to list items and never become published_at.
4. The article is a contiguous run of prose: it ends at the last prose line (sentence-final
   punctuation, or >= PROSE_MIN_WORDS_UNPUNCTUATED words) before the tail. After it,
   credits, bylines, photo credits and tag lines are consumed; the first line that is none
   of these (typically a related headline without a heading) turns the rest into
   boilerplate.tail (boilerplate.related_list when the line ends with a date).
5. Inside the article, every line is kept unless a cue or a feature says otherwise.
   Captions are kept with kind 'caption': a line carrying a photo credit ("... Ảnh: Vũ
   Chi", "(Nguồn: TTXVN)", "Ảnh minh họa."), or a line without sentence-final punctuation
   of CAPTION_MIN_WORDS..CAPTION_MAX_WORDS words that sits between paragraphs. Shorter
   unpunctuated lines there are kept as body (sub-headings). A line that is only a credit
   ("Tin ảnh: Mạnh Hùng") is boilerplate.photo_credit.
6. Repeats inside one article (keep the first, drop later copies): see `is_near_repeat`.
7. The lede is the first kept paragraph when the page has a title and that paragraph is
   prose of at most LEDE_MAX_WORDS words; at most one, and it comes first.

Cue phrases live in transforms/lexicon/*.txt (one per line, '#' comments) and are read
once at import through importlib.resources.
"""
from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable
from datetime import datetime
from importlib import resources

from transforms.dates import parse_date_line, ends_with_date
from transforms.features import VI_SPECIFIC, looks_like_unaccented_vietnamese

# -- thresholds (documented where used) ---------------------------------------------------
PROSE_MIN_WORDS = 4                     # a punctuated line shorter than this is not prose
PROSE_MIN_WORDS_UNPUNCTUATED = 40       # a line this long is prose even without a final '.'
TITLE_MIN_WORDS = 2
TITLE_MAX_WORDS = 40
CAPTION_MIN_WORDS = 9                   # shorter unpunctuated lines between paragraphs are sub-headings
TITLE_LABEL_MAX_WORDS = 4               # head lines this short may be section labels, not the title
TITLE_OVERRIDE_MAX_WORDS = 20           # ... and are passed over only for a headline-sized line
HEAD_MAX_ITEMS = 25                     # the title is looked for among the first N non-blank lines
CAPTION_MAX_WORDS = 45
LEDE_MAX_WORDS = 150
SHORT_LINE_WORDS = 12                   # cue lookups and recurring-line evidence only for short lines
CUE_LINE_MAX_CHARS = 300                # longer lines are never chrome cues
NEAR_REPEAT_MIN_WORDS = 8               # below this, only exact (normalized) repeats count
NEAR_REPEAT_COVERAGE = 0.8              # share of the first copy's words the repeat must contain
NEAR_REPEAT_ADDED_PER = 20              # the repeat may add 1 new word per this many words (min 1)
NEAR_REPEAT_WINDOW = 3                  # near repeats are looked for among the last N kept lines
MAX_WORDSET_CHARS = 20_000              # longer lines are compared exactly, not by word sets
RECURRING_MIN_SHARE = 0.01              # structure_batch: share of the batch a recurring line needs


@dataclass
class Paragraph:
    line_no: int      # 1-based line number in the input lines
    kind: str         # 'lede' | 'body' | 'caption'
    text: str


@dataclass
class Removed:
    line_no: int
    text: str
    reason: str       # a code from transforms/reasons.py REMOVED_REASONS
    detail: str = ""


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


# -- lexicon ------------------------------------------------------------------------------
def _load_cues(name: str) -> tuple[str, ...]:
    text = resources.files("transforms").joinpath("lexicon", name).read_text(encoding="utf-8")
    out = []
    for raw in text.splitlines():
        cue = raw.strip()
        if cue and not (cue.startswith("#") and len(cue) > 1 and cue[1] in " #"):
            out.append(cue.lower())
    return tuple(out)


_NON_LETTER = re.compile(r"[\W\d_]+")


def line_key(text: str) -> str:
    """Comparison key of a line: lower case, letters only, single spaces ('- Cùng chuyên mục'
    -> 'cùng chuyên mục', 'Bình luận (12)' -> 'bình luận')."""
    return _NON_LETTER.sub(" ", text.lower()).strip()


def _keys(name: str) -> frozenset[str]:
    return frozenset(k for k in (line_key(c) for c in _load_cues(name)) if k)


def _fold(text: str) -> str:
    """'có lỗi xảy ra' -> 'co loi xay ra' (C-level NFD + ASCII drop; đ -> d first)."""
    text = text.replace("đ", "d").replace("Đ", "D")
    return unicodedata.normalize("NFD", text).encode("ascii", "ignore").decode("ascii")


RELATED_CUES = _keys("related_cues.txt")
COMMENT_HEADS = _keys("comment_cues.txt")
COMMENT_LABELS = _keys("comment_labels.txt")
SHARE_CUES = _keys("share_cues.txt")
AD_CUES = _keys("ad_cues.txt")
FOLLOW_CUES = tuple(c.replace(" ", "") for c in _load_cues("follow_cues.txt"))
ERROR_CUES = tuple(line_key(_fold(c)) for c in _load_cues("error_cues.txt"))
NAV_NAMES = _keys("navigation.txt")
_FOLLOW_RE = re.compile("|".join(re.escape(c) for c in sorted(FOLLOW_CUES, key=len, reverse=True)))
_ERROR_RE = re.compile(r"^(?:%s)\b" % "|".join(re.escape(c) for c in sorted(ERROR_CUES, key=len, reverse=True)))
SURNAMES = _keys("surnames.txt")
_BYLINE_LABELS = sorted(_load_cues("byline_labels.txt"), key=len, reverse=True)
_PHOTO_LABELS = sorted(_load_cues("photo_labels.txt"), key=len, reverse=True)
_TAG_PREFIXES = _load_cues("tag_prefixes.txt")


def _alternation(words: list[str]) -> str:
    return "|".join(re.escape(w) for w in words)


# "Tags: a, b" / "Từ khóa: ..." / "#a #b"
_TAG_PREFIX = re.compile(
    r"^(?:(?:%s)\s?:|#\w)" % _alternation([t for t in _TAG_PREFIXES if t != "#"]), re.IGNORECASE)
# "Tin ảnh: Mạnh Hùng", "Ảnh: TTXVN", "(Ảnh: Vũ Chi)"
_PHOTO_CREDIT_LINE = re.compile(
    r"^\(?\s?(?:%s)\s?:\s?(\S.{0,80})$" % _alternation(_PHOTO_LABELS), re.IGNORECASE)
# a photo credit at the end of a caption: ". Ảnh: N.N", " - Ảnh: Vũ Chi", "(Nguồn: TTXVN)", ". Ảnh Yonhap News"
_CAPTION_CREDIT_END = re.compile(
    r"(?:[.\-–—:]\s?|\s)\(?(?:Ảnh|ẢNH|Nguồn|NGUỒN|Photo|Ảnh minh họa|Ảnh minh hoạ|Ảnh tư liệu|Ảnh chụp màn hình)"
    r"(?:\s?:\s?|\s)[^\s()][^()]{0,60}\)?\.?$|\((?:Ảnh|Nguồn|Photo)\s?:?\s?[^()]{1,60}\)\.?$"
    r"|\(?[Ảả]nh minh h[ọo]ạ?\)?\.?$")
_CAPTION_START = re.compile(r"^(?:Ảnh minh h[ọo]ạ?|Ảnh\s?:|Ảnh tư liệu)", re.IGNORECASE)
# "(ĐCSVN) - ", "(GLO)- ", "(Chinhphu.vn) -"
_CREDIT_PREFIX = re.compile(r"^\(([^()]{2,40})\)\s?[-–—]\s?")
# "TTO - ", "VOV.VN - ", "NLĐO - ": an agency code before the lede (first paragraph only)
_CODE_PREFIX = re.compile(r"^([A-ZĐ][A-ZĐ0-9.]{1,11})\s?[-–—]\s")
_THEO = re.compile(r"^[Tt]heo\s(?!dõi\b)(\S.*)$")
_NGUON = re.compile(r"^[Nn]guồn\s?(?::\s?|\s(?=[A-ZĐ(]))(\S.*)$")
_BYLINE_LABEL = re.compile(r"^(?:%s)\s?(?::\s?|$|\s(?=[A-ZĐ]))(.*)$" % _alternation(_BYLINE_LABELS),
                           re.IGNORECASE)
_SPEAKER = re.compile(r"^(?:%s)\s?:" % _alternation(_BYLINE_LABELS), re.IGNORECASE)
_SEGMENT_SPLIT = re.compile(r"\s?[>»|/•·›]\s?|\s[-–—]\s")
_TAG_SPLIT = re.compile(r"[,;|]")
_INLINE_RELATED = re.compile(
    r"^[-•*>»\s]{0,3}(?:xem thêm|đọc thêm|tin liên quan|bài liên quan|xem tiếp)\s?[:>»]\s?\S", re.IGNORECASE)

_CLOSERS = "\"'”’»)]}*"
_SENTENCE_END = ".!?…;:"


# -- line features ------------------------------------------------------------------------
class _Line:
    """Features of one non-blank line, computed once (feature first, decision second)."""

    __slots__ = ("i", "raw", "s", "words", "ends", "prose", "short", "key")

    def __init__(self, i: int, raw: str, s: str):
        self.i = i
        self.raw = raw
        self.s = s
        self.words = s.count(" ") + 1 if len(s) < 100_000 else len(s) // 6
        core = s.rstrip(_CLOSERS)
        self.ends = bool(core) and core[-1] in _SENTENCE_END
        self.prose = (self.ends and self.words >= PROSE_MIN_WORDS) or self.words >= PROSE_MIN_WORDS_UNPUNCTUATED
        self.short = len(s) <= CUE_LINE_MAX_CHARS and self.words <= 25
        self.key = line_key(s) if self.short else ""


def _has_diacritics(s: str) -> bool:
    return not s.isascii() and any(c in VI_SPECIFIC for c in s)


def _chrome(ln: _Line) -> tuple[str, str] | None:
    """Cue-matched site chrome, wherever it sits. Returns (reason, detail) or None."""
    s = ln.s
    if s.isascii() and 3 <= ln.words <= 40 and not _THEO.match(s) and looks_like_unaccented_vietnamese(s):
        return "language.no_diacritics", "Vietnamese function words written without diacritics"
    if not ln.short:
        return None
    key = ln.key
    if ln.words <= SHORT_LINE_WORDS:
        m = _ERROR_RE.search(_fold(key))
        if m:
            if not _has_diacritics(s):
                return "language.no_diacritics", f"error string without diacritics: {m.group(0)!r}"
            return "boilerplate.error_message", m.group(0)
    if ln.words <= 20 and not (ln.ends and ln.words > 12):
        m = _FOLLOW_RE.search(s.lower().replace(" ", ""))
        if m:
            return "boilerplate.follow_prompt", m.group(0)
    if key in COMMENT_HEADS or key in COMMENT_LABELS:
        return "boilerplate.comment_form", key
    if key in SHARE_CUES:
        return "boilerplate.share_prompt", key
    if key in AD_CUES:
        return "boilerplate.advertisement", key
    if _is_tag_line(ln):
        return "boilerplate.tag_line", ""
    return None


def _is_tag_line(ln: _Line) -> bool:
    s = ln.s
    if _TAG_PREFIX.match(s):
        return True
    if ln.ends or ln.words > 30 or not s[0].isalpha() or not s[0].islower():
        return False
    parts = [p.strip() for p in _TAG_SPLIT.split(s)]
    return len(parts) >= 2 and all(p and p.count(" ") < 6 for p in parts)


def _nav_covered(words: list[str], need_caps: bool = True) -> int:
    """Number of navigation phrases that exactly tile `words`, or 0 if they do not."""
    i, n, count = 0, len(words), 0
    while i < n:
        for size in (4, 3, 2, 1):
            if i + size <= n:
                phrase = words[i:i + size]
                if (not need_caps or phrase[0][:1].isupper()) and " ".join(phrase).lower() in NAV_NAMES:
                    i += size
                    count += 1
                    break
        else:
            return 0
    return count


def _is_navigation(ln: _Line, strict: bool) -> bool:
    """Menus and breadcrumbs. strict=True (inside the article) needs >= 2 section names."""
    if not ln.short or ln.words > 15 or (ln.ends and ln.s[-1] != ":"):
        return False
    segments = [seg.split() for seg in _SEGMENT_SPLIT.split(ln.s.rstrip(":")) if seg.strip()]
    if not segments:
        return False
    counts = [_nav_covered(seg) for seg in segments]
    if all(counts) and (sum(counts) >= 2 or not strict):
        return True
    if len(segments) >= 2 and any(counts) and all(len(seg) <= 4 for seg in segments) \
            and any(c in ln.s for c in "›»>|"):
        return True                          # "Pháp luật » Điều tra": chevrons join short sections
    if len(segments) >= 2 and counts[-1]:
        prev = segments[-2]
        for size in (4, 3, 2, 1):
            if len(prev) > size and _nav_covered(prev[-size:]) == 1:
                return True
    return False


def _credit_line(ln: _Line) -> str | None:
    """'Theo Nguyễn Hồng Điệp (TTXVN/Vietnam+)', 'Nguồn: TTXVN', '(TTXVN)' -> the credit."""
    if not ln.short or ln.words > 14:
        return None
    s = ln.s
    m = _THEO.match(s)
    if m:
        rest = m.group(1)
        if (rest[0].isupper() or rest[0] == "(") and "," not in _outside_parens(rest) \
                and not (s.endswith(".") and ln.words > 6):
            return s.rstrip(".")
        return None
    m = _NGUON.match(s)
    if m:
        rest = m.group(1).rstrip(".")      # "" for "Nguồn: ...": not a credit (rest[0] raised)
        if (rest[:1] == "(" or rest[:1].isupper()) and ln.words <= 10 and "," not in _outside_parens(rest):
            return rest
        return None
    core = s.rstrip(".")
    if core.startswith("(") and core.endswith(")") and 2 <= len(core) <= 42 and ln.words <= 5:
        core = core[1:-1].strip()
        if core[:1].isupper() and any(c.isupper() for c in core[1:]) and not _PHOTO_CREDIT_LINE.match(core):
            return core
        return None
    if " " in core or len(core) > 30:
        return None
    letters = [c for c in core if c.isalpha()]
    if len(letters) >= 3 and sum(c.isupper() for c in letters) / len(letters) >= 0.6 and core[:1].isupper():
        return core
    return None


def _outside_parens(text: str) -> str:
    depth, out = 0, []
    for c in text[:200]:
        if c == "(":
            depth += 1
        elif c == ")":
            depth = max(0, depth - 1)
        elif depth == 0:
            out.append(c)
    return "".join(out)


def _is_name(text: str) -> bool:
    """2..5 capitalised words ('Minh Anh', 'NGUYỄN VĂN A') or initials ('N.N', 'Th. Hà')."""
    words = text.split()
    if not 1 <= len(words) <= 5 or len(text) > 50 or any(c.isdigit() for c in text):
        return False
    if len(words) == 1:
        return "." in text and text[0].isupper() and len(text) <= 10
    return all(w[0].isupper() or w[0] == "(" for w in words) and not any(c in ".!?;:" for c in text[-1:])


def _byline(ln: _Line, loose: bool) -> str | None:
    """The author's name when the line is a byline. loose=True accepts any short
    capitalised name; otherwise it must carry a byline label or start with a family name."""
    if not ln.short or ln.words > 10 or ln.ends and not ln.s.endswith(")"):
        return None
    s = ln.s
    m = _BYLINE_LABEL.match(s)
    if m:
        rest = m.group(1).strip()
        if not rest:
            return s
        if _is_name(rest.split(" - ")[0].split(" (")[0]):
            return rest
        return None
    name = s.split(" - ")[0].split(" (")[0].strip()
    if not _is_name(name):
        return None
    first = line_key(name.split()[0]) if name else ""
    if loose or first in SURNAMES or "." in name:
        return name
    return None


def _photo_credit_only(ln: _Line) -> bool:
    """'Tin ảnh: Mạnh Hùng', 'Ảnh: TTXVN' - a credit without a description."""
    if not ln.short or ln.words > 10:
        return False
    m = _PHOTO_CREDIT_LINE.match(ln.s)
    if not m:
        return False
    rest = m.group(1).rstrip(").")
    return rest.count(" ") < 8 and not any(c in "!?;" for c in rest) and rest[:1].isupper()


_CREDIT_MARKS = ("Ảnh", "ảnh", "ẢNH", "Nguồn", "NGUỒN", "Photo")


def _is_caption_credit(ln: _Line) -> bool:
    if ln.words > CAPTION_MAX_WORDS + 10 or len(ln.s) > 600:
        return False
    if not any(mark in ln.s for mark in _CREDIT_MARKS):
        return False
    return bool(_CAPTION_START.match(ln.s) or _CAPTION_CREDIT_END.search(ln.s))


def _title_like(ln: _Line) -> bool:
    s = ln.s
    if _SPEAKER.match(s):
        return False                        # "Phóng viên: ..." opens an interview, not a title
    if not (TITLE_MIN_WORDS <= ln.words <= TITLE_MAX_WORDS) or len(s) > 400:
        return False
    core = s.rstrip(_CLOSERS)
    if core.endswith(".") and not core.endswith(".."):
        return False
    first_word = s.lstrip("\"'“‘([-–— \u200b\ufeff").split(" ", 1)[0]
    if not any(c.isupper() or c.isdigit() for c in first_word[:12]):
        return False
    return sum(c.isalpha() for c in s) >= 6


def _continues_article(ln: _Line) -> bool:
    """After the last punctuated line and before any end marker: a long unpunctuated line
    with sentence breaks inside ('... ngày 5-2-2017). A.D') is still article text."""
    if ends_with_date(ln.s) or (ln.short and ln.words <= 15 and parse_date_line(ln.s) is not None):
        return False
    return ln.words >= 25 or (ln.words >= 10 and (". " in ln.s or ": " in ln.s))


_PUNCT = ".,;:!?…\"'“”‘’()[]{}«»-–—/|*"
_PUNCT_TO_SPACE = str.maketrans({c: " " for c in ".,;:!?…\"'“”‘’()[]{}«»-–—/\\|*+=<>#%&@^~`_"})


def _word_set(text: str) -> frozenset[str]:
    """Lower-cased words of a line (punctuation split off), for near-repeat tests."""
    return frozenset(text[:MAX_WORDSET_CHARS].lower().translate(_PUNCT_TO_SPACE).split())


def is_near_repeat(new: frozenset[str], first: frozenset[str]) -> bool:
    """Near-verbatim repeat test on lower-cased word sets.

    A later line repeats an earlier one when
      * the earlier line has < NEAR_REPEAT_MIN_WORDS (8) distinct words and the sets are equal; or
      * the later line adds at most max(1, |first| // NEAR_REPEAT_ADDED_PER) (1 per 20) words
        the earlier line lacks, AND it contains >= NEAR_REPEAT_COVERAGE (80 %) of the earlier
        line's words.
    So a copy with a few words dropped is a repeat (seed 000 line 23 vs line 5), while a
    paragraph that starts with the lede and goes on with new information is not (it adds
    many words). Word order is ignored; exact copies are caught by the normalized key first.
    """
    if not first or not new:
        return False
    if len(first) < NEAR_REPEAT_MIN_WORDS:
        return new == first
    allowed = max(1, len(first) // NEAR_REPEAT_ADDED_PER)
    if len(new) > len(first) + allowed or len(new) < NEAR_REPEAT_COVERAGE * len(first):
        return False
    added = len(new - first)
    if added > max(1, len(first) // NEAR_REPEAT_ADDED_PER):
        return False
    return len(new & first) >= NEAR_REPEAT_COVERAGE * len(first)


# -- the step -----------------------------------------------------------------------------
def _tail_start_cue(ln: _Line) -> str | None:
    """'related' or 'comment' when the line is a list/comment heading that starts the tail."""
    if not ln.short or ln.words > 8:
        return None
    if ln.key in RELATED_CUES:
        return "related"
    if ln.key in COMMENT_HEADS:
        return "comment"
    return None


def structure_article(lines: list[str], recurring: frozenset[str] = frozenset()) -> Structured:
    """Split one page into title, date, author, credit, lede, body and captions.

    Every non-blank line that is not the title or a kept paragraph goes to `removed` with a
    code from REMOVED_REASONS; blank lines are counted in `blank_lines`. `recurring` holds
    line keys (see `line_key`) that structure_batch found in many documents: such short
    non-prose lines become boilerplate.recurring_line unless a metadata rule claims them.
    Never raises on str input.
    """
    out = Structured(None, None, None, None, None, [], [], 0)
    items: list[_Line] = []
    for i, raw in enumerate(lines):
        if not isinstance(raw, str):
            raw = "" if raw is None else str(raw)
        s = raw.strip()
        if s:
            items.append(_Line(i, raw, s))
        else:
            out.blank_lines += 1
    decided: dict[int, tuple[str, str, str]] = {}   # i -> ('removed', reason, detail) | ('kept', kind, text)

    def remove(ln: _Line, reason: str, detail: str = "") -> None:
        decided[ln.i] = ("removed", reason, detail)

    # 1. head: chrome above the title, then the title (or the first prose line)
    pending: dict[int, tuple[str, str]] = {}       # head position -> (reason, detail)
    candidates: list[int] = []
    pos = 0
    while pos < len(items) and pos < HEAD_MAX_ITEMS:
        ln = items[pos]
        chrome = _chrome(ln)
        if chrome:
            pending[pos] = chrome
        elif ln.key and ln.key in recurring and not ln.prose:
            pending[pos] = ("boilerplate.recurring_line", "")
        elif ln.words <= 15 and parse_date_line(ln.s) is not None:
            pending[pos] = ("date", "")
        elif _is_navigation(ln, strict=False):
            pending[pos] = ("boilerplate.navigation", "")
        elif _tail_start_cue(ln) or (ln.key in NAV_NAMES):
            pending[pos] = ("boilerplate.navigation", "list heading above the article")
        elif ln.prose and (candidates or not _title_like(ln)):
            break
        elif _title_like(ln):
            candidates.append(pos)
            if ln.prose:
                pos += 1
                break
        elif candidates:
            break
        else:
            pending[pos] = ("boilerplate.navigation", "short line above the article")
        pos += 1
    title_ln: _Line | None = None
    if candidates:
        # the first candidate of TITLE_LABEL_MAX_WORDS+1 words or more; section labels
        # ("Bóng đá Việt Nam", "Chính sách mới") are shorter. If all are short, the longest.
        # A later candidate replaces a short first one only if it is headline-sized
        # (<= TITLE_OVERRIDE_MAX_WORDS): an unpunctuated sapo under a short title is longer.
        first = candidates[0]
        if items[first].words > TITLE_LABEL_MAX_WORDS:
            best = first
        else:
            later = [c for c in candidates[1:]
                     if TITLE_LABEL_MAX_WORDS < items[c].words <= TITLE_OVERRIDE_MAX_WORDS]
            best = later[0] if later else first
        title_ln = items[best]
        start = best + 1
        out.title = title_ln.s
        out.title_line_no = title_ln.i + 1
        decided[title_ln.i] = ("title", "", "")
    else:
        best = start = pos
    for p, (reason, detail) in pending.items():
        if p < best:
            if reason == "date":
                reason, detail = "boilerplate.header_date", "date above the title: the site's, not the article's"
            remove(items[p], reason, detail)
    for c in candidates:
        if c < best:
            remove(items[c], "boilerplate.navigation", "short line above the title")

    # 2. the tail starts at the first list/comment heading after the article began
    tail = len(items)
    tail_kind = "related"
    for j in range(start, len(items)):
        cue = _tail_start_cue(items[j])
        if cue:
            tail, tail_kind = j, cue
            break
    # 3. the article ends at its last prose line before the tail
    last = -1
    for j in range(tail - 1, start - 1, -1):
        ln = items[j]
        if ln.prose and not (ln.short and _chrome(ln)):
            last = j
            break
    if last < 0:
        last = tail - 1

    title_key = line_key(title_ln.s) if title_ln is not None else None
    title_words = _word_set(title_ln.s) if title_ln is not None else frozenset()
    kept: list[tuple[_Line, str]] = []            # (line, kind) in page order
    kept_keys: dict[str, str] = {}
    recent: list[tuple[_Line, Callable[[], frozenset[str]], str]] = []
    captions_seen: list[tuple[_Line, Callable[[], frozenset[str]]]] = []
    lede_words: tuple[_Line, frozenset[str]] | None = None
    seen_prose = False

    def repeat_reason(ln: _Line, kind: str) -> str | None:
        nonlocal lede_words
        k = ln.key if ln.short else (ln.s.lower() if len(ln.s) <= MAX_WORDSET_CHARS else "")
        if not k:
            k = ln.s[:MAX_WORDSET_CHARS].lower()
        if title_key and k == title_key:
            return "dedup.repeated_title"
        if k in kept_keys:
            prev = kept_keys[k]
            return {"caption": "dedup.repeated_caption"}.get(kind, "dedup.repeated_lede" if prev == "lede"
                                                              else "dedup.repeated_paragraph")
        cache: list[frozenset[str]] = []

        def words() -> frozenset[str]:
            if not cache:
                cache.append(_word_set(ln.s))
            return cache[0]

        probes: list[str] = []

        def close(other: _Line) -> bool:
            """Cheap necessary condition for a near repeat of `other`: similar word counts, and
            at most the allowed number of added words among up to 8 probe words of this line
            (a probe that is not even a substring of `other` is a word `other` lacks)."""
            if not 0.5 * other.words - 3 <= ln.words <= 1.6 * other.words + 3:
                return False
            if not probes:
                toks = ln.s[:MAX_WORDSET_CHARS].lower().split()
                step = max(1, len(toks) // 8)
                probes.extend(t.strip(_PUNCT) or t for t in toks[::step][:8])
            other_low = other.s[:MAX_WORDSET_CHARS].lower()
            missing = sum(pr not in other_low for pr in probes)
            return missing <= max(1, other.words // NEAR_REPEAT_ADDED_PER)

        if title_ln is not None and not ln.prose and close(title_ln) \
                and is_near_repeat(words(), title_words):
            return "dedup.repeated_title"
        if lede_words is not None and close(lede_words[0]) and is_near_repeat(words(), lede_words[1]):
            return "dedup.repeated_lede"
        if kind == "caption":
            for other, ow in captions_seen[-NEAR_REPEAT_WINDOW:]:
                if close(other) and is_near_repeat(words(), ow()):
                    return "dedup.repeated_caption"
        for other, ow, pk in recent[-NEAR_REPEAT_WINDOW:]:
            if pk == kind and close(other) and is_near_repeat(words(), ow()):
                return "dedup.repeated_caption" if kind == "caption" else "dedup.repeated_paragraph"
        kept_keys[k] = kind
        recent.append((ln, words, kind))
        if kind == "caption":
            captions_seen.append((ln, words))
        return None

    # 4. inside the article
    head = True                                    # before the first kept paragraph
    for j in range(start, last + 1):
        ln = items[j]
        chrome = _chrome(ln) if ln.short or ln.s.isascii() else None
        if chrome:
            remove(ln, *chrome)
            continue
        if ln.short and not ln.prose and _is_navigation(ln, strict=True):
            remove(ln, "boilerplate.navigation")
            continue
        dl = parse_date_line(ln.s) if ln.short and ln.words <= 15 else None
        if dl is not None:
            if head and title_ln is not None and out.published_at is None:
                out.published_at = dl.at
                if dl.rest and out.author is None and _is_name(dl.rest):
                    out.author = dl.rest
                remove(ln, "metadata.date_line", dl.at.isoformat())
            elif head and title_ln is not None:
                remove(ln, "metadata.date_line", "second date line; published_at keeps the first")
            elif head:
                remove(ln, "boilerplate.header_date", "date before the article with no title above it")
            else:
                remove(ln, "boilerplate.short_fragment", "date line inside the article; not published_at")
            continue
        credit = _credit_line(ln)
        if credit:
            if out.credit is None:
                out.credit = credit
            _author_from_credit(out, credit)
            remove(ln, "metadata.source_credit", credit)
            continue
        if head:
            author = _byline(ln, loose=True)
            if author and not ln.prose:
                if out.author is None:
                    out.author = author
                remove(ln, "metadata.byline", author)
                continue
        if _photo_credit_only(ln):
            remove(ln, "boilerplate.photo_credit")
            continue
        if ln.short and _INLINE_RELATED.match(ln.s):
            remove(ln, "boilerplate.related_list", "inline related link")
            continue
        if ln.key and ln.key in recurring and not ln.prose:
            remove(ln, "boilerplate.recurring_line")
            continue
        if _is_caption_credit(ln) or (seen_prose and not ln.ends
                                       and CAPTION_MIN_WORDS <= ln.words <= CAPTION_MAX_WORDS):
            kind = "caption"
        else:
            kind = "body"
        rep = repeat_reason(ln, kind)
        if rep:
            remove(ln, rep)
            continue
        if kind == "body" and head and title_ln is not None and ln.prose and ln.words <= LEDE_MAX_WORDS:
            kind = "lede"
            lede_words = (ln, recent[-1][1]())
            kept_keys[next(reversed(kept_keys))] = "lede"
        head = False
        if ln.prose:
            seen_prose = True
        kept.append((ln, kind))

    # 5. after the last prose line, before the tail heading
    junk = False
    ended = False                                  # an end marker (credit, byline, tag...) was seen
    first_after = True
    for j in range(last + 1, tail):
        ln = items[j]
        chrome = _chrome(ln)
        if chrome:
            remove(ln, *chrome)
            ended = True
            continue
        if ln.key and ln.key in recurring:
            remove(ln, "boilerplate.recurring_line")
            ended = True
            continue
        if not junk and not ended and _continues_article(ln):
            rep = repeat_reason(ln, "body")
            if rep:
                remove(ln, rep)
            else:
                kept.append((ln, "body"))
            continue
        if not junk:
            credit = _credit_line(ln)
            if credit:
                if out.credit is None:
                    out.credit = credit
                _author_from_credit(out, credit)
                remove(ln, "metadata.source_credit", credit)
                ended = True
                continue
            author = _byline(ln, loose=first_after)
            if author:
                if out.author is None:
                    out.author = author
                remove(ln, "metadata.byline", author)
                first_after = False
                ended = True
                continue
            if _photo_credit_only(ln):
                remove(ln, "boilerplate.photo_credit")
                first_after = False
                ended = True
                continue
            if first_after and _is_caption_credit(ln) and not ends_with_date(ln.s):
                rep = repeat_reason(ln, "caption")
                if rep:
                    remove(ln, rep)
                else:
                    kept.append((ln, "caption"))
                first_after = False
                continue
        if title_key and ln.key == title_key:
            remove(ln, "dedup.repeated_title")
            continue
        junk = True
        first_after = False
        if ends_with_date(ln.s) or (ln.words <= 15 and parse_date_line(ln.s) is not None):
            remove(ln, "boilerplate.related_list", "list item with its own date")
        elif _is_navigation(ln, strict=False):
            remove(ln, "boilerplate.navigation")
        else:
            remove(ln, "boilerplate.tail", "after the last article paragraph")

    # 6. the tail proper
    section = "boilerplate.related_list" if tail_kind == "related" else "boilerplate.comment_form"
    for j in range(tail, len(items)):
        ln = items[j]
        cue = _tail_start_cue(ln)
        if cue:
            section = "boilerplate.related_list" if cue == "related" else "boilerplate.comment_form"
            remove(ln, section, "tail heading")
            continue
        chrome = _chrome(ln)
        if chrome:
            remove(ln, *chrome)
        elif ln.key and ln.key in recurring:
            remove(ln, "boilerplate.recurring_line")
        else:
            remove(ln, section)

    # 7. assemble, in page order
    for n_kept, (ln, kind) in enumerate(kept):
        text = ln.raw
        m = _CREDIT_PREFIX.match(ln.s) if kind in ("lede", "body") else None
        if m is None and n_kept == 0 and kind in ("lede", "body"):
            m = _CODE_PREFIX.match(ln.s)
        if m:
            if out.credit is None:
                out.credit = m.group(1).strip()
            text = ln.s[m.end():]
        decided[ln.i] = ("kept", kind, text)
    for ln in items:
        d = decided.get(ln.i)
        if d is None:                              # defensive: every line must land somewhere
            out.removed.append(Removed(ln.i + 1, ln.raw, "boilerplate.short_fragment", "unclassified"))
        elif d[0] == "kept":
            out.paragraphs.append(Paragraph(ln.i + 1, d[1], d[2]))
        elif d[0] == "removed":
            out.removed.append(Removed(ln.i + 1, ln.raw, d[1], d[2]))
    return out


def _author_from_credit(out: Structured, credit: str) -> None:
    """'Theo Nguyễn Hồng Điệp (TTXVN/Vietnam+)' names a person before the outlet: author."""
    if out.author is not None or not credit.startswith(("Theo ", "theo ")) or "(" not in credit:
        return
    name = credit[5:credit.index("(")].strip()
    if _is_name(name) and line_key(name.split()[0]) in SURNAMES:
        out.author = name


def structure_batch(docs: list[list[str]], recurring_min_docs: int = 5,
                    recurring_min_share: float = RECURRING_MIN_SHARE) -> list[Structured]:
    """Structure every document of a batch, using lines that recur across it as evidence.

    A short line (<= SHORT_LINE_WORDS words, compared by `line_key`) counts as recurring when
    it occurs in >= recurring_min_docs documents and in >= recurring_min_share of the batch,
    counted over distinct documents *and* distinct document signatures (the key of each
    document's longest line), so that five copies of one syndicated article do not turn its
    title into boilerplate. Such lines become boilerplate.recurring_line (see
    structure_article); everything else is decided per document.
    """
    need = max(recurring_min_docs, int(recurring_min_share * len(docs) + 0.999999))
    counts: Counter[str] = Counter()
    signatures: dict[str, set[str]] = {}
    for doc in docs:
        keys: set[str] = set()
        longest = ""
        for raw in doc:
            if not isinstance(raw, str):
                continue
            s = raw.strip()
            if len(s) > len(longest):
                longest = s
            if s and len(s) <= CUE_LINE_MAX_CHARS and s.count(" ") < SHORT_LINE_WORDS:
                k = line_key(s)
                if k:
                    keys.add(k)
        sig = line_key(longest[:2000])
        for k in keys:
            counts[k] += 1
            if counts[k] <= need * 4:
                signatures.setdefault(k, set()).add(sig)
    recurring = frozenset(k for k, c in counts.items() if c >= need and len(signatures.get(k, ())) >= need)
    return [structure_article(doc, recurring) for doc in docs]
