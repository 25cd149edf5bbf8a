"""Title candidates and the publication date printed near the title (feature first).

The head of a page mixes the title with the site's own name, section labels, menus, hotline
lines, credit lines, captions and related-article bullets; each of these was once taken for
the title. `line_kind(line)` names the class of one head line from features of the line
alone (no outlet's strings): 

- 'site_name': a bare domain ('VnExpress.net', 'www.tuoitre.vn'), a copyright line, or a
  short line naming a publication ('Báo Lao Động', 'Cổng thông tin điện tử Chính phủ'):
  starts with Báo / Tạp chí / Đài / Cổng thông tin / Trang thông tin / Thời báo followed by a
  capitalized name (after 'điện tử' / 'thông tin' at most), at most 8 words, no colon, digit
  or final punctuation ('Báo động tình trạng ...' is a headline);
- 'menu' / 'section': the whole line is a run of section names (`chrome.menu_spans`), or
  one capitalized section name ('Thể thao', 'KINH DOANH');
- 'hotline': a contact label ('Hotline:', 'Đường dây nóng', 'Tòa soạn:', 'Email:', 'ĐT:')
  at the start with its ':' or a phone / e-mail ('ĐT Việt Nam: ...' is the national team),
  or a phone number with 8+ digits in a line of at most HOTLINE_BARE_MAX_WORDS words;
- 'credit': 'Theo Reuters', '(Nguồn: TTXVN)', 'Bài và ảnh: ...' of at most 8 words, no comma;
- 'caption': starts with 'Ảnh:' / 'Ảnh minh họa' / 'Video:' / 'Clip:', or ends with a photo
  credit ('... tại hội nghị. Ảnh: VGP', '(Ảnh: Reuters)');
- 'related': starts with a list bullet (• ● ► ▶ » >> + * ◆ ■ ▪ -) or a related cue
  ('Xem thêm', 'Tin liên quan', 'Đọc thêm'), or ends in a date like a list item
  (`dates.ends_with_date`);
- 'date': a date line (`dates.parse_date_line`) that is not a title holding a date;
- 'title': headline-shaped: 2..40 words and not ending in a single '.', including an
  all-caps title, a title holding a date ('Giá vàng hôm nay 12/5/2017: SJC tăng mạnh') and a
  title starting with a lower-case brand ('iPhone 8 ra mắt...', 'eBay ...');
- 'prose' (a sentence or more) or 'other'.

`KIND_REASON` maps the chrome kinds to REMOVED_REASONS codes; 'credit' and 'caption' are
left to the caller (a credit fills `credit` as metadata.source_credit, a caption is kept as
a caption). `repeats_title(title, line)` is True when a body line repeats the title, e.g. an
all-caps title in normal case (-> dedup.repeated_title).

`date_near_title(lines, title_index)` finds the publication date printed just below the title
(within DATE_WINDOW non-blank lines) or just above it with a clock time (the site header's
date of today, above the menus, has no time and is not taken), with its time and its zone
(+07:00 unless the line states GMT/UTC). Only date lines count: a date inside a story
sentence never does.

How to call (for the clean package): in the head, for each candidate line before the title
is decided, `kind = line_kind(text)`; a line whose kind is in KIND_REASON is removed with
that reason; 'credit' / 'caption' / 'date' lines are handled as now; the title is the first
'title' line (all-caps and lower-case-brand titles included). After the title is chosen,
`date_near_title(lines, title_index)` gives `published_at` and the line to remove as
metadata.date_line; later, a body line for which `repeats_title(title, text)` is True goes
to removed as dedup.repeated_title.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import datetime, time
from typing import NamedTuple

from transforms.chrome import SECTION_NAMES, WEB_TLDS, menu_spans
from transforms.dates import ends_with_date, parse_date_line

__all__ = ["KIND_REASON", "NearDate", "line_kind", "is_title_like", "is_title_with_date", "starts_with_brand",
           "repeats_title", "date_near_title", "DATE_WINDOW"]

KIND_REASON = {
    "site_name": "boilerplate.site_name",
    "menu": "boilerplate.navigation",
    "section": "boilerplate.navigation",
    "hotline": "boilerplate.contact_line",
    "related": "boilerplate.related_list",
}
DATE_WINDOW = 3
TITLE_MIN_WORDS = 2
TITLE_MAX_WORDS = 40
PROSE_MIN_WORDS = 4

# starts only where no name character is behind (linear on runs like 'a.a.a.a'); used with fullmatch
_DOMAIN_LINE = re.compile(r"(?<![\w.-])(?:https?://)?(?:www\.)?(?:[\w-]+\.)+(?:%s)/?" % "|".join(WEB_TLDS),
                          re.IGNORECASE)
_PUBLICATION = re.compile(r"(?:Báo|Tạp chí|Đài|Cổng thông tin|Trang thông tin|Thời báo|Tuần báo|Nhật báo|Kênh)"
                          r"(?!\w)", re.IGNORECASE)
_COPYRIGHT = re.compile(r"(?:©|\(c\)|Copyright|Bản quyền thuộc|Giấy phép (?:số|hoạt động))", re.IGNORECASE)
_HOTLINE_LABEL = re.compile(r"\W{0,3}(?:Hotline|Đường dây nóng|Tòa soạn|Toà soạn|E-?mail|Điện thoại|ĐT|Tel|Fax|"
                            r"Liên hệ(?: quảng cáo)?|Trụ sở|Địa chỉ)(?!\w) ?[:：]?", re.IGNORECASE)
_PHONE = re.compile(r"(?<!\d)(?:\+84|0|1900|1800)[\d .]{7,14}\d(?!\d)")
_CREDIT = re.compile(r"\(?(?:Theo|Nguồn|Nguồn tin|Bài và ảnh|Bài, ảnh|Thực hiện|Tổng hợp)(?!\w)(?! dõi)",
                     re.IGNORECASE)
_CAPTION_START = re.compile(r"\(?(?:Ảnh minh họa|Ảnh minh hoạ|Ảnh|Video|Clip|Photo)(?: ?:|\))", re.IGNORECASE)
_CAPTION_END = re.compile(r"(?:^|[\s.(])(?:Ảnh|Nguồn ảnh|Photo)\s?:\s?[^.:()]{1,40}\)?\s*$|\(Ảnh minh h[oọ][aạ]\)\s*$",
                          re.IGNORECASE)
_BULLETS = ("•", "●", "►", "▶", "»", ">>", "+ ", "* ", "◆", "■", "▪", "- ", "– ", "·")
_RELATED_CUE = re.compile(r"(?:Xem thêm|Tin liên quan|Đọc thêm|Bài liên quan|Tin cùng chuyên mục|Có thể bạn quan tâm)"
                          r"(?!\w)", re.IGNORECASE)
_SECTION_TRIM = " |-–—»›>/•·:"


HOTLINE_BARE_MAX_WORDS = 6     # a phone number without a label is a contact line only in a line this short
_PUBLICATION_COMMON = frozenset(["điện", "tử", "online", "thông", "tin"])


def _names_a_publication(s: str) -> bool:
    """'Báo Lao Động', 'Báo điện tử Dân trí', 'Cổng thông tin điện tử Chính phủ': after the
    publication word, a name in capitals follows (possibly after 'điện tử' / 'thông tin');
    'Báo động tình trạng ...' is a headline (a lower-case word that is none of those)."""
    m = _PUBLICATION.match(s)
    rest = [w for w in s[m.end():].split() if w.lower() not in _PUBLICATION_COMMON]
    return bool(rest) and rest[0][:1].isupper()


def _words(s: str) -> int:
    return len(s.split())


def _ends_sentence(s: str) -> bool:
    core = s.rstrip(" \"'”’)»")
    return core.endswith((".", "!", "?", "…")) and not core.endswith("..")


def starts_with_brand(line: str) -> bool:
    """'iPhone 8 ...', 'eBay ...', 'iOS 11 ...': a lower-case first letter, then a capital."""
    first = line.split(None, 1)[0] if line.split() else ""
    return bool(first) and first[0].islower() and any(c.isupper() for c in first[1:4])


def is_title_with_date(line: str) -> bool:
    """A headline that holds a date ('Giá vàng 12/5/2017: SJC tăng'), not a date line: once
    the date is gone, 2+ words remain and one is written in lower case, and they are not a
    section name."""
    return _holds_title(parse_date_line(line))


def _holds_title(dl) -> bool:
    """is_title_with_date for the parsed date line `dl` (None: not a date line)."""
    if dl is None:
        return False
    rest = dl.rest.strip(_SECTION_TRIM)
    if _words(rest) < 2 or rest.lower() in SECTION_NAMES:
        return False
    return any(w[:1].islower() for w in rest.split())


def is_title_like(line: str) -> bool:
    """Headline-shaped: 2..40 words, not a sentence ending in a single '.' (all-caps titles,
    titles with '?', '!' or a date, and lower-case brand starts included)."""
    s = line.strip()
    n = _words(s)
    if not TITLE_MIN_WORDS <= n <= TITLE_MAX_WORDS:
        return False
    core = s.rstrip(" \"'”’)»")
    if core.endswith(".") and not core.endswith(".."):
        return False
    return s[0].isupper() or s[0].isdigit() or s[0] in "\"“'‘(" or starts_with_brand(s)


def line_kind(line: str) -> str:
    """The class of one head line (see the module docstring for the features)."""
    s = unicodedata.normalize("NFC", line.strip())
    if not s:
        return "other"
    n = _words(s)
    if _DOMAIN_LINE.fullmatch(s) or (_COPYRIGHT.match(s) and n <= 30):
        return "site_name"
    if (n <= 8 and _PUBLICATION.match(s) and ":" not in s and not any(c.isdigit() for c in s)
            and not _ends_sentence(s) and _names_a_publication(s)):
        return "site_name"
    bare = s.strip(_SECTION_TRIM)
    if bare and bare[0].isupper() and bare.lower() in SECTION_NAMES:
        return "section"
    menus = menu_spans(s)
    if menus and menus[0].start == 0 and menus[-1].end >= len(s.rstrip(_SECTION_TRIM)):
        return "menu"
    label = _HOTLINE_LABEL.match(s)
    if n <= 20 and label and (_PHONE.search(s) or "@" in s or label.group().rstrip().endswith((":", "："))):
        return "hotline"
    if n <= HOTLINE_BARE_MAX_WORDS and _PHONE.search(s) and sum(c.isdigit() for c in s) >= 8 and not _ends_sentence(s):
        return "hotline"
    if s.startswith(_BULLETS) or _RELATED_CUE.match(s):
        return "related"
    if n <= 8 and _CREDIT.match(s) and "," not in s:
        return "credit"
    if _CAPTION_START.match(s) or ((":" in s or ")" in s) and _CAPTION_END.search(s)):
        return "caption"                  # (_CAPTION_END needs a ':' or a ')': searched only then)
    dl = parse_date_line(s)
    if _holds_title(dl):
        return "title"
    if dl is not None:
        return "date"
    if ends_with_date(s) and n > 3:
        return "related"
    if is_title_like(s):
        return "title"
    if _ends_sentence(s) and n >= PROSE_MIN_WORDS:
        return "prose"
    return "other"


_FOLD_DROP = str.maketrans("", "", ".,;:!?\"'“”‘’()[]…-–—")


def _fold(s: str) -> str:
    return " ".join(unicodedata.normalize("NFC", s).casefold().translate(_FOLD_DROP).split())


def repeats_title(title: str, line: str) -> bool:
    """True when `line` is the title again, in any case and punctuation
    ('ĐỘI TUYỂN VIỆT NAM THẮNG ĐẬM' / 'Đội tuyển Việt Nam thắng đậm.')."""
    t = _fold(title)
    return bool(t) and _fold(line) == t


class NearDate(NamedTuple):
    index: int           # index into `lines` of the date line
    at: datetime         # tz-aware: +07:00 unless the line states another offset
    rest: str            # what else the line says (an author, a section), see dates.DateLine
    position: str        # 'below' | 'above'


def date_near_title(lines: list[str], title_index: int, window: int = DATE_WINDOW) -> NearDate | None:
    """The publication date printed next to the title, or None.

    Looks at up to `window` non-blank lines below the title first, then up to `window`
    above it; only date lines count (`dates.parse_date_line`), never a sentence with a date,
    nor a title holding a date. Above the title a date counts only with a clock time: the
    site header's date of today carries none.
    """
    def scan(indices, position: str) -> NearDate | None:
        seen = 0
        for i in indices:
            text = lines[i].strip()
            if not text:
                continue
            seen += 1
            if seen > window:
                return None
            if is_title_with_date(text):
                continue
            dl = parse_date_line(text)
            if dl is None:
                continue
            if position == "above" and dl.at.timetz().replace(tzinfo=None) == time(0):
                continue
            return NearDate(i, dl.at, dl.rest, position)
        return None

    below = scan(range(title_index + 1, len(lines)), "below")
    if below is not None:
        return below
    return scan(range(title_index - 1, -1, -1), "above")
