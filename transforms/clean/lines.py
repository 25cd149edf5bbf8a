"""Features of one non-blank line and the line-level predicates the steps decide with.

Feature first, decision second: `Line` computes word count, final punctuation, prose-ness
and the comparison key once; the predicates below (chrome, navigation, credit, byline,
caption credit, title-likeness) each answer one question about a line and never decide
where it goes - head.py, tail.py and article.py do that.
"""
from __future__ import annotations

from transforms.dates import ends_with_date, parse_date_line
from transforms.features import VI_SPECIFIC, looks_like_unaccented_vietnamese
from transforms.clean.cues import (
    AD_CUES, BYLINE_LABEL, CAPTION_CREDIT_END, CAPTION_START, CLOSERS, COMMENT_HEADS, COMMENT_LABELS,
    CUE_LINE_MAX_CHARS, ERROR_RE, FOLLOW_RE, NAV_NAMES, NGUON, PHOTO_CREDIT_LINE, RELATED_CUES,
    SEGMENT_SPLIT, SENTENCE_END, SHARE_CUES, SHORT_LINE_WORDS, SPEAKER, SURNAMES, TAG_PREFIX, TAG_SPLIT,
    THEO, fold, line_key)

PROSE_MIN_WORDS = 4                     # a punctuated line shorter than this is not prose
PROSE_MIN_WORDS_UNPUNCTUATED = 40       # a line this long is prose even without a final '.'
TITLE_MIN_WORDS = 2
TITLE_MAX_WORDS = 40
CAPTION_MAX_WORDS = 45


class Line:
    """Features of one non-blank line, computed once (feature first, decision second)."""

    __slots__ = ("i", "raw", "s", "words", "ends", "prose", "short", "key")

    def __init__(self, i: int, raw: str, s: str):
        self.i = i
        self.raw = raw
        self.s = s
        self.words = s.count(" ") + 1 if len(s) < 100_000 else len(s) // 6
        core = s.rstrip(CLOSERS)
        self.ends = bool(core) and core[-1] in SENTENCE_END
        self.prose = (self.ends and self.words >= PROSE_MIN_WORDS) or self.words >= PROSE_MIN_WORDS_UNPUNCTUATED
        self.short = len(s) <= CUE_LINE_MAX_CHARS and self.words <= 25
        self.key = line_key(s) if self.short else ""


def has_diacritics(s: str) -> bool:
    return not s.isascii() and any(c in VI_SPECIFIC for c in s)


def chrome_reason(ln: Line) -> tuple[str, str] | None:
    """Cue-matched site chrome, wherever it sits. Returns (reason, detail) or None."""
    s = ln.s
    if s.isascii() and 3 <= ln.words <= 40 and not THEO.match(s) and looks_like_unaccented_vietnamese(s):
        return "language.no_diacritics", "Vietnamese function words written without diacritics"
    if not ln.short:
        return None
    key = ln.key
    if ln.words <= SHORT_LINE_WORDS:
        m = ERROR_RE.search(fold(key))
        if m:
            if not has_diacritics(s):
                return "language.no_diacritics", f"error string without diacritics: {m.group(0)!r}"
            return "boilerplate.error_message", m.group(0)
    if ln.words <= 20 and not (ln.ends and ln.words > 12):
        m = FOLLOW_RE.search(s.lower().replace(" ", ""))
        if m:
            return "boilerplate.follow_prompt", m.group(0)
    if key in COMMENT_HEADS or key in COMMENT_LABELS:
        return "boilerplate.comment_form", key
    if key in SHARE_CUES:
        return "boilerplate.share_prompt", key
    if key in AD_CUES:
        return "boilerplate.advertisement", key
    if is_tag_line(ln):
        return "boilerplate.tag_line", ""
    return None


def is_tag_line(ln: Line) -> bool:
    s = ln.s
    if TAG_PREFIX.match(s):
        return True
    if ln.ends or ln.words > 30 or not s[0].isalpha() or not s[0].islower():
        return False
    if any(c.isupper() for c in s[1:4]):
        return False                        # 'iPhone 8, iPhone X ra mắt': a brand starts a headline
    parts = [p.strip() for p in TAG_SPLIT.split(s)]
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


def is_navigation(ln: Line, strict: bool) -> bool:
    """Menus and breadcrumbs. strict=True (inside the article) needs >= 2 section names."""
    if not ln.short or ln.words > 15 or (ln.ends and ln.s[-1] != ":"):
        return False
    segments = [seg.split() for seg in SEGMENT_SPLIT.split(ln.s.rstrip(":")) if seg.strip()]
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


def credit_line(ln: Line) -> str | None:
    """'Theo Nguyễn Hồng Điệp (TTXVN/Vietnam+)', 'Nguồn: TTXVN', '(TTXVN)' -> the credit."""
    if not ln.short or ln.words > 14:
        return None
    s = ln.s
    m = THEO.match(s)
    if m:
        rest = m.group(1)
        if (rest[0].isupper() or rest[0] == "(") and "," not in outside_parens(rest) \
                and not (s.endswith(".") and ln.words > 6):
            return s.rstrip(".")
        return None
    m = NGUON.match(s)
    if m:
        rest = m.group(1).rstrip(".")      # "" for "Nguồn: ...": not a credit (rest[0] raised)
        if (rest[:1] == "(" or rest[:1].isupper()) and ln.words <= 10 and "," not in outside_parens(rest):
            return rest
        return None
    core = s.rstrip(".")
    if core.startswith("(") and core.endswith(")") and 2 <= len(core) <= 42 and ln.words <= 5:
        core = core[1:-1].strip()
        if core[:1].isupper() and any(c.isupper() for c in core[1:]) and not PHOTO_CREDIT_LINE.match(core):
            return core
        return None
    if " " in core or len(core) > 30:
        return None
    letters = [c for c in core if c.isalpha()]
    if len(letters) >= 3 and sum(c.isupper() for c in letters) / len(letters) >= 0.6 and core[:1].isupper():
        return core
    return None


def outside_parens(text: str) -> str:
    depth, out = 0, []
    for c in text[:200]:
        if c == "(":
            depth += 1
        elif c == ")":
            depth = max(0, depth - 1)
        elif depth == 0:
            out.append(c)
    return "".join(out)


def is_name(text: str) -> bool:
    """2..5 capitalised words ('Minh Anh', 'NGUYỄN VĂN A') or initials ('N.N', 'Th. Hà')."""
    words = text.split()
    if not 1 <= len(words) <= 5 or len(text) > 50 or any(c.isdigit() for c in text):
        return False
    if len(words) == 1:
        return "." in text and text[0].isupper() and len(text) <= 10
    return all(w[0].isupper() or w[0] == "(" for w in words) and not any(c in ".!?;:" for c in text[-1:])


def byline_name(ln: Line, loose: bool) -> str | None:
    """The author's name when the line is a byline. loose=True accepts any short
    capitalised name; otherwise it must carry a byline label or start with a family name."""
    if not ln.short or ln.words > 10 or ln.ends and not ln.s.endswith(")"):
        return None
    s = ln.s
    m = BYLINE_LABEL.match(s)
    if m:
        rest = m.group(1).strip()
        if not rest:
            return s
        if is_name(rest.split(" - ")[0].split(" (")[0]):
            return rest
        return None
    name = s.split(" - ")[0].split(" (")[0].strip()
    if not is_name(name):
        return None
    first = line_key(name.split()[0]) if name else ""
    if loose or first in SURNAMES or "." in name:
        return name
    return None


def is_photo_credit_only(ln: Line) -> bool:
    """'Tin ảnh: Mạnh Hùng', 'Ảnh: TTXVN' - a credit without a description."""
    if not ln.short or ln.words > 10:
        return False
    m = PHOTO_CREDIT_LINE.match(ln.s)
    if not m:
        return False
    rest = m.group(1).rstrip(").")
    return rest.count(" ") < 8 and not any(c in "!?;" for c in rest) and rest[:1].isupper()


_CREDIT_MARKS = ("Ảnh", "ảnh", "ẢNH", "Nguồn", "NGUỒN", "Photo")


def is_caption_credit(ln: Line) -> bool:
    if ln.words > CAPTION_MAX_WORDS + 10 or len(ln.s) > 600:
        return False
    if not any(mark in ln.s for mark in _CREDIT_MARKS):
        return False
    return bool(CAPTION_START.match(ln.s) or CAPTION_CREDIT_END.search(ln.s))


SOURCE_NOTE_MAX_WORDS = 8


def source_note_start(s: str) -> int | None:
    """Offset of a source note 'Nguồn: <name>' that ends line `s` after a sentence
    ('... nằm bất tỉnh. Nguồn: Facebook'), else None. '(Nguồn: ...)' in brackets and
    'Nguồn ảnh:' are photo credits, not source notes."""
    i = s.rfind("Nguồn")
    if i <= 0:
        return None
    j = i
    while j > 0 and s[j - 1] == " ":
        j -= 1
    if j == i or s[j - 1] not in ".!?…\"”’":
        return None
    rest = s[i + len("Nguồn"):].lstrip(" ")
    if not rest.startswith(":"):
        return None
    name = rest[1:].strip().rstrip(".")
    if not name or "(" in name or ")" in name or len(name.split()) > SOURCE_NOTE_MAX_WORDS:
        return None
    return i


def is_title_like(ln: Line) -> bool:
    s = ln.s
    if SPEAKER.match(s):
        return False                        # "Phóng viên: ..." opens an interview, not a title
    if not (TITLE_MIN_WORDS <= ln.words <= TITLE_MAX_WORDS) or len(s) > 400:
        return False
    core = s.rstrip(CLOSERS)
    if core.endswith(".") and not core.endswith(".."):
        return False
    first_word = s.lstrip("\"'“‘([-–— \u200b\ufeff").split(" ", 1)[0]
    if not any(c.isupper() or c.isdigit() for c in first_word[:12]):
        return False
    return sum(map(str.isalpha, s[:24])) >= 6 or sum(map(str.isalpha, s)) >= 6


def continues_article(ln: Line) -> bool:
    """After the last punctuated line and before any end marker: a long unpunctuated line
    with sentence breaks inside ('... ngày 5-2-2017). A.D') is still article text."""
    if ends_with_date(ln.s) or (ln.short and ln.words <= 15 and parse_date_line(ln.s) is not None):
        return False
    return ln.words >= 25 or (ln.words >= 10 and (". " in ln.s or ": " in ln.s))


def tail_start_cue(ln: Line) -> str | None:
    """'related' or 'comment' when the line is a list/comment heading that starts the tail."""
    if not ln.short or ln.words > 8:
        return None
    if ln.key in RELATED_CUES:
        return "related"
    if ln.key in COMMENT_HEADS:
        return "comment"
    return None
