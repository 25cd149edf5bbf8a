"""Publication dates as Vietnamese outlets print them.

Only whole *date lines* are parsed: a line that, once the date, the time, the weekday, a
GMT offset and a few labels ("Cập nhật:", "Đăng lúc", "Ngày đăng") are taken away, has at
most a short remainder (an author name, a section name). A date inside a sentence
("Ngày 8-7, tại Hà Nội ...") is never a date line. Which date line is the publication date
is decided by the caller from the line's position (see transforms/clean.py); this module
only reads what a line says.

Formats read (weekday, seconds and the GMT offset are optional, separators / - . ):
    "Thứ tư, 23/06/2021 19:45"          "22:00 25/06/2024"
    "Thứ Sáu, 31/10/2025, 18:21 (GMT+7)" "12-08-2024 - 07:30"
    "Cập nhật: 12/08/2024 07:30:15"     "19h45 ngày 23/6/2021"
    "ngày 23 tháng 6 năm 2021"          "2024-06-25T22:00:00+07:00"
Day comes before month (Vietnamese order); a day/month pair that is not a real calendar
date gives None rather than a guess, because a wrong date is worse than a missing one.
Times are Vietnam time (+07:00) unless the line carries an explicit GMT/UTC offset. The
+07:00 zone is a fixed offset (Vietnam has had no DST since 1975), so no tz database is read.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

VN_OFFSET = timezone(timedelta(hours=7))
MIN_YEAR = 1990
MAX_YEAR = 2100
MAX_DATE_LINE_CHARS = 160      # longer lines are prose, never date lines
MAX_REST_WORDS = 6             # a date line may carry this many other words (a name, a section)

_DMY = re.compile(r"(?<![\d/.\-])(\d{1,2})\s?[/.\-]\s?(\d{1,2})\s?[/.\-]\s?(\d{4})(?![\d/])")
_YMD = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,6})?)?)?"
                  r"(?:\s?(Z|[+-]\d{2}:?\d{2}))?(?!\d)")
_TEXTUAL = re.compile(r"(?<!\d)(\d{1,2})\s+tháng\s+(\d{1,2})\s*(?:năm|,)\s*(\d{4})(?!\d)", re.IGNORECASE)
_TIME = re.compile(r"(?<![\d:])(\d{1,2})\s?(?::|h|giờ)\s?(\d{2})(?:\s?:\s?(\d{2}))?(?:\s?(AM|PM|SA|CH)\b)?(?![\d:])",
                   re.IGNORECASE)
_TZ = re.compile(r"\(?\s?(?:GMT|UTC)\s?(?:([+-])\s?(\d{1,2})(?::?(\d{2}))?)?\s?\)?", re.IGNORECASE)
_WEEKDAY = re.compile(r"\b(?:thứ\s?(?:hai|ba|tư|năm|sáu|bảy|bẩy|[2-7])|chủ\s?nhật|CN|T[2-7])\b", re.IGNORECASE)
# Label words that may sit around a date on a date line; removed before judging the rest.
_LABELS = re.compile(
    r"\b(?:cập nhật(?: lúc| ngày)?|ngày đăng|đăng lúc|đăng ngày|đăng|xuất bản|thời gian|"
    r"lúc|ngày|giờ|updated?|published|posted|last update)\b", re.IGNORECASE)
_DIGIT = re.compile(r"\d")
_SEPARATORS = str.maketrans({c: " " for c in ",|-–—:;/()[]•·"})


@dataclass(frozen=True)
class DateLine:
    """What a date line says: the instant, and the words left once the date parts are gone."""

    at: datetime
    rest: str          # e.g. "Minh Anh" in "Minh Anh | 12/08/2024 07:30"; "" for a bare date


def _valid(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> bool:
    if not (MIN_YEAR <= y <= MAX_YEAR and 1 <= mo <= 12 and 1 <= d <= 31):
        return False
    if not (0 <= h <= 23 and 0 <= mi <= 59 and 0 <= s <= 59):
        return False
    try:
        datetime(y, mo, d)
    except ValueError:
        return False
    return True


def _tz_from(match: re.Match[str] | None) -> timezone:
    if match is None or match.group(1) is None:
        return VN_OFFSET
    hours = int(match.group(2))
    minutes = int(match.group(3) or 0)
    if hours > 14 or minutes > 59:
        return VN_OFFSET
    delta = timedelta(hours=hours, minutes=minutes)
    return timezone(-delta if match.group(1) == "-" else delta)


def _parse_iso(m: re.Match[str]) -> datetime | None:
    y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
    h = int(m.group(4) or 0)
    mi = int(m.group(5) or 0)
    s = int(m.group(6) or 0)
    if not _valid(y, mo, d, h, mi, s):
        return None
    tz = VN_OFFSET
    off = m.group(7)
    if off == "Z":
        tz = timezone.utc
    elif off:
        sign = -1 if off[0] == "-" else 1
        digits = off[1:].replace(":", "")
        tz = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:4])))
    return datetime(y, mo, d, h, mi, s, tzinfo=tz)


def find_datetime(text: str) -> tuple[datetime, tuple[int, int]] | None:
    """The first calendar date in `text` (with the time next to it, if any) and its span.

    Returns None when the text holds no valid date. The span covers the date and its time.
    """
    if len(text) > MAX_DATE_LINE_CHARS * 4:
        text = text[: MAX_DATE_LINE_CHARS * 4]
    m = _YMD.search(text)
    if m is not None:
        dt = _parse_iso(m)
        if dt is not None:
            return dt, m.span()
    m = _DMY.search(text) or _TEXTUAL.search(text)
    if m is None:
        return None
    d, mo, y = int(m.group(1)), int(m.group(2)), int(m.group(3))
    if not _valid(y, mo, d):
        return None
    start, end = m.span()
    h = mi = s = 0
    t = _nearest_time(text, start, end)
    if t is not None:
        tm, (ts, te) = t
        h, mi, s = tm
        start, end = min(start, ts), max(end, te)
    tz = _tz_from(_TZ.search(text)) if ("GMT" in text or "UTC" in text or "gmt" in text) else VN_OFFSET
    return datetime(y, mo, d, h, mi, s, tzinfo=tz), (start, end)


def _nearest_time(text: str, start: int, end: int) -> tuple[tuple[int, int, int], tuple[int, int]] | None:
    """A clock time within 20 characters before or after the date span."""
    best = None
    for m in _TIME.finditer(text):
        if m.end() <= start and start - m.end() <= 20 or m.start() >= end and m.start() - end <= 20:
            h, mi = int(m.group(1)), int(m.group(2))
            s = int(m.group(3) or 0)
            ampm = (m.group(4) or "").upper()
            if ampm in ("PM", "CH") and h < 12:
                h += 12
            elif ampm in ("AM", "SA") and h == 12:
                h = 0
            if 0 <= h <= 23 and 0 <= mi <= 59 and 0 <= s <= 59:
                best = ((h, mi, s), m.span())
                if m.start() >= end:
                    break
    return best


def parse_date_line(text: str) -> DateLine | None:
    """Read `text` as a date line, or return None when it is something else.

    A date line holds one valid date and, once date, time, weekday, GMT offset, labels and
    separators are removed, at most MAX_REST_WORDS other words. Sentences with a date in
    them ("Ngày 8-7, tại Hà Nội, ...") are not date lines.
    """
    if not text or len(text) > MAX_DATE_LINE_CHARS or _DIGIT.search(text) is None:
        return None
    found = find_datetime(text)
    if found is None:
        return None
    at, (start, end) = found
    rest = text[:start] + " " + text[end:]
    rest = _TZ.sub(" ", rest) if ("GMT" in rest or "UTC" in rest or "gmt" in rest) else rest
    rest = _WEEKDAY.sub(" ", rest)
    rest = _LABELS.sub(" ", rest)
    rest = _TIME.sub(" ", rest)
    words = rest.translate(_SEPARATORS).split()
    if _DIGIT.search(" ".join(words)):
        return None        # another number left over: a sentence or a list item, not a date line
    if len(words) > MAX_REST_WORDS:
        return None
    return DateLine(at=at, rest=" ".join(words))


def ends_with_date(text: str) -> bool:
    """True for 'Some headline 31/10/2025' or '... Sự kiện - 12/08/2025 18:00' (list items)."""
    tail = text[-40:]
    found = find_datetime(tail)
    if found is None:
        return False
    _, (_, end) = found
    return not tail[end:].strip(" )]-–|·•")
