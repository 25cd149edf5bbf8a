"""Site chrome inside one line: the spans to cut, each with its reason (feature first).

Real pages glue widgets into lines of story text. `find_chrome_spans(line)` finds, in one
decoded, normalized line, the character spans `(start, end)` (0-based, end exclusive) that are
chrome, with a REMOVED_REASONS code and a human detail; the caller cuts them out as
`Removed` rows and keeps the rest of the line (see "How to call" below). Classes:

- menu: a run of section names (the `lexicon/navigation.txt` names, each capitalized), with
  or without separators ``| - – » › > / • ·``: at least 4 names, or 3 joined by separators,
  or 2 with a breadcrumb arrow, or 2 joined by a separator that make up the whole line ->
  ``boilerplate.navigation``. 'Bộ Văn hóa, Thể thao và Du lịch' is 2 names split by 'và': prose;
- font-size control: 'A A A', 'A- A A+', a 'Cỡ chữ' / 'Font size' label with or without its
  A buttons -> ``boilerplate.share_prompt`` (the share / print / font-size widgets code);
- player time code: '00:00 / 02:35' (the first time 0, as a player shows before playing, or
  any time code when a player word such as 'Tắt tiếng', 'Toàn màn hình' is on the line),
  with those player words -> ``boilerplate.media_player``;
- view counter: '1.234 lượt xem', '12K views', 'Lượt xem: 1.234', '56 bình luận' when it is
  not part of a sentence: no lower-case word right after the noun, and before the number
  no lower-case word at all for 'bình luận' / 'chia sẻ' / 'thích', no quantity-taking word
  ('có', 'đạt', 'hơn', 'vượt' ...) for 'lượt ...' / 'views' ('Video có 12 bình luận về...',
  'đạt 1.000 lượt xem.' are prose) -> ``boilerplate.view_counter``;
- URL: a token with '://', starting 'www.', a domain followed by a path, or a URL slug (ASCII
  lower-case words joined by '-': 5 or more, or 3 or more ending in a page number or a web
  extension '.html'); 'state-of-the-art' (4 words) is not a slug -> ``boilerplate.url``;
- watch / follow prompt: a sentence that starts with an invitation ('Mời quý độc giả xem',
  'Hãy theo dõi', 'Đăng ký kênh', 'Xem thêm video') and names a channel ('video', 'kênh',
  'fanpage', 'Facebook', 'YouTube', 'Zalo', 'Google News', 'chúng tôi'), up to its end ->
  ``boilerplate.follow_prompt``. 'Mời quý độc giả theo dõi diễn biến trận đấu...' names no
  channel and stays.

`outlet_credit_prefix(lede, rest)` is separate because it is only valid at the start of the
first lede line: '(Dân trí) - ', 'TTO - ', 'VOV.VN - ', '(NLĐO)- ', 'GDVN - ' ->
``boilerplate.outlet_credit``. Features, not a list of outlets: a parenthesized group of at
most 5 words, or a domain name (ending .vn .com .net .org .info), followed by a dash or
colon, is a credit. A bare all-caps acronym ('TTO', 'WPP') followed by a dash is a credit
only when (a) the text after the dash starts with a capital or a digit (an apposition such
as 'WPP - tập đoàn ...' starts lower case), (b) the acronym does not occur again in the lede
or in `rest` (a story about WPP names WPP again; an outlet does not name itself), and (c)
unless it ends like an outlet's acronym ('O' for online: TTO, TPO, NLĐO; or 'VN'), the first
clause after the dash holds no second dash (an apposition closed by a dash).

How to call (for the clean package): for every line that would be kept (lede, body,
caption), `spans = find_chrome_spans(text)`; each span becomes a `Removed` row
`(line_no, start, end, reason, detail)` and the pieces between spans stay in the line's
paragraph (strip each piece; drop pieces that are only whitespace or separators, or give
them the neighbouring span's reason). A line whose spans cover all its letters is removed
whole. For the first lede line only, first call `outlet_credit_prefix(lede, rest=body)`
and cut its span the same way (the credit may also fill `credit` when that is empty).
All regexes run in linear time; the work is one pass over the tokens of the line.
"""
from __future__ import annotations

import re
import unicodedata
from importlib import resources
from typing import NamedTuple

__all__ = ["ChromeSpan", "find_chrome_spans", "outlet_credit_prefix", "menu_spans", "font_control_spans",
           "player_spans", "counter_spans", "url_spans", "prompt_spans", "SECTION_NAMES"]


class ChromeSpan(NamedTuple):
    start: int        # 0-based offset into the line
    end: int          # exclusive
    reason: str       # a REMOVED_REASONS code
    detail: str


def _load_sections() -> frozenset[str]:
    text = resources.files("transforms").joinpath("lexicon", "navigation.txt").read_text(encoding="utf-8")
    names = {unicodedata.normalize("NFC", ln.strip().lower()) for ln in text.splitlines()
             if ln.strip() and not ln.startswith("#")}
    return frozenset(names)


SECTION_NAMES = _load_sections()
_MAX_NAME_WORDS = max(n.count(" ") + 1 for n in SECTION_NAMES)
_TOKEN = re.compile(r"\S+")
_SEPARATORS = frozenset("| - – — » › > >> / • · :: ||".split())
_ARROWS = frozenset("» › > >>".split())
_TOKEN_TRIM = ",;"


def _tokens(line: str) -> list[tuple[int, int, str]]:
    return [(m.start(), m.end(), m.group()) for m in _TOKEN.finditer(line)]


# -- menus -----------------------------------------------------------------------------------

def menu_spans(line: str) -> list[ChromeSpan]:
    """Runs of capitalized section names (see the module docstring for the counts)."""
    toks = _tokens(line)
    out: list[ChromeSpan] = []
    i = 0
    n = len(toks)
    while i < n:
        run_start = i
        names = seps = arrows = 0
        last_name_end = i
        j = i
        while j < n:
            tok = toks[j][2]
            if tok in _SEPARATORS:
                if names == 0:
                    break
                seps += 1
                arrows += tok in _ARROWS
                j += 1
                continue
            k = _match_name(toks, j)
            if not k:
                break
            names += 1
            j += k
            last_name_end = j
        whole = run_start == 0 and last_name_end == n
        if names and (names >= 4 or (names >= 3 and seps >= names - 1)
                      or (names >= 2 and arrows) or (whole and names >= 2 and seps)):
            start, end = toks[run_start][0], toks[last_name_end - 1][1]
            out.append(ChromeSpan(start, end, "boilerplate.navigation", f"menu of {names} section names"))
            i = max(last_name_end, i + 1)
        else:
            i = max(j, i + 1) if names == 0 else i + 1
    return out


def _match_name(toks: list[tuple[int, int, str]], j: int) -> int:
    """Number of tokens (longest first) from j that spell a capitalized section name, else 0."""
    first = toks[j][2]
    if not first[0].isupper():
        return 0
    for k in range(min(_MAX_NAME_WORDS, len(toks) - j), 0, -1):
        words = [t[2] for t in toks[j:j + k]]
        if any(w in _SEPARATORS for w in words):
            continue
        name = " ".join(words).rstrip(_TOKEN_TRIM).lower()
        if name in SECTION_NAMES:
            return k
    return 0


# -- font-size controls ----------------------------------------------------------------------

_FONT_LABEL = re.compile(r"(?<!\w)(?:Cỡ chữ|Kích (?:thước|cỡ) chữ|Font size|Phông chữ|Tăng cỡ chữ|Giảm cỡ chữ)"
                         r"(?: ?:)?", re.IGNORECASE)
_A_BUTTON = frozenset(["A", "A+", "A-", "a", "a+", "a-", "A–", "+A", "-A"])


def font_control_spans(line: str) -> list[ChromeSpan]:
    """'A A A' / 'A- A A+' button runs and 'Cỡ chữ' labels (capitalized or followed by
    buttons; 'cỡ chữ quá nhỏ' in a sentence is prose)."""
    toks = _tokens(line)
    out: list[ChromeSpan] = []
    i = 0
    while i < len(toks):
        if toks[i][2] in _A_BUTTON:
            j = i
            while j < len(toks) and toks[j][2] in _A_BUTTON:
                j += 1
            run = [t[2] for t in toks[i:j]]
            if len(run) >= 3 or (len(run) >= 2 and any(len(t) > 1 for t in run)):
                out.append(ChromeSpan(toks[i][0], toks[j - 1][1], "boilerplate.share_prompt", "font-size buttons"))
            i = j
        else:
            i += 1
    for m in _FONT_LABEL.finditer(line):
        end = m.end()
        after = line[end:end + 3].strip()
        if m.group()[0].isupper() or m.group().endswith(":") or after[:1] in ("A", "a") and (
                after[1:2] in ("", " ", "+", "-")):
            glued = [s for s in out if s.start >= end and line[end:s.start].strip() == ""]
            if glued:
                out.remove(glued[0])
                out.append(ChromeSpan(m.start(), glued[0].end, "boilerplate.share_prompt", "font-size control"))
            else:
                out.append(ChromeSpan(m.start(), end, "boilerplate.share_prompt", "font-size label"))
    return out


# -- player time codes -----------------------------------------------------------------------

_TIMECODE = re.compile(r"(?<![\d:])(\d{1,2}):(\d{2})(?::(\d{2}))? ?/ ?\d{1,2}:\d{2}(?::\d{2})?(?![\d:])")
_PLAYER_WORDS = re.compile(r"(?<!\w)(?:Tắt tiếng|Bật tiếng|Toàn màn hình|Thoát toàn màn hình|Tạm dừng|Phát lại|"
                           r"Chất lượng|Tốc độ phát|Fullscreen|Mute|Unmute|Play|Pause|Replay)(?!\w)")


def player_spans(line: str) -> list[ChromeSpan]:
    """'00:00 / 02:35' and, when a time code is on the line, the player's button words."""
    codes = list(_TIMECODE.finditer(line))
    if not codes:
        return []
    words = list(_PLAYER_WORDS.finditer(line))
    out = []
    for m in codes:
        zero = int(m.group(1)) == 0 and int(m.group(2)) == 0 and not int(m.group(3) or 0)
        if zero or words:
            out.append(ChromeSpan(m.start(), m.end(), "boilerplate.media_player", "player time code"))
    if out:
        out += [ChromeSpan(m.start(), m.end(), "boilerplate.media_player", "player control") for m in words]
    return out


# -- view counters ---------------------------------------------------------------------------

_COUNTER = re.compile(
    r"(?<![\w.,])(\d{1,3}(?:[.,]\d{3})+|\d+(?:[.,]\d)?[KkMm]?|\d+) ?"
    r"(lượt xem|lượt đọc|lượt thích|lượt chia sẻ|lượt bình luận|lượt nghe|views?|likes?|comments?|shares?|"
    r"bình luận|chia sẻ|thích)(?!\w)", re.IGNORECASE)
_COUNTER_LABEL = re.compile(r"(?<!\w)(?:Lượt xem|Lượt đọc|Lượt thích|Views?|Bình luận) ?: ?\d[\d.,]*[KkMm]?(?!\w)")
_STRONG_COUNTER = ("lượt", "view", "like")
# words that take a quantity in a sentence: 'có 1.234 lượt xem', 'vượt 1 triệu lượt xem'
_QUANTITY_WORDS = frozenset("có đạt hút với hơn gần khoảng tới đến được trên dưới mốc vượt thêm nhận tổng chỉ "
                            "lên xuống hàng cả những các mỗi tăng giảm".split())


def counter_spans(line: str) -> list[ChromeSpan]:
    """View/like/comment counters that are not part of a sentence."""
    out = []
    for m in _COUNTER.finditer(line):
        before = line[:m.start()].rstrip()
        prev = before.rsplit(None, 1)[-1] if before else ""
        after = line[m.end():].lstrip()
        nxt = after.split(None, 1)[0] if after else ""
        noun = m.group(2).lower()
        strong = noun.startswith(_STRONG_COUNTER)
        if prev[:1].isalpha() and prev[:1].islower() and (not strong or prev.lower() in _QUANTITY_WORDS):
            continue                               # 'video có 12 bình luận', 'đạt 1.000 lượt xem': a sentence
        if nxt[:1].isalpha() and nxt[:1].islower():
            continue                               # '12 bình luận về ...'
        if not strong and prev[:1].isalpha():
            continue                               # 'Anh 2 chia sẻ': too weak without 'lượt'
        out.append(ChromeSpan(m.start(), m.end(), "boilerplate.view_counter", m.group()))
    for m in _COUNTER_LABEL.finditer(line):
        out.append(ChromeSpan(m.start(), m.end(), "boilerplate.view_counter", m.group()))
    return out


# -- URLs and slugs --------------------------------------------------------------------------

_WEB_EXT = (".html", ".htm", ".chn", ".tpo", ".ldo", ".vnp", ".aspx", ".php", ".amp")
_DOMAIN_PATH = re.compile(r"[\w-]+(?:\.[\w-]+)*\.(?:vn|com|net|org|info|tv)/", re.IGNORECASE)
_URL_TRIM = "\"'()[]<>,;.!?“”‘’"


def _is_slug(tok: str) -> bool:
    low = tok
    for ext in _WEB_EXT:
        if low.endswith(ext):
            low = low[: -len(ext)]
            ext_found = True
            break
    else:
        ext_found = False
    if not low or not low.isascii() or low.lower() != low:
        return False
    parts = low.split("-")
    if any(not p or not p.isalnum() for p in parts):
        return False
    if len(parts) >= 5:
        return True
    return len(parts) >= 3 and (ext_found or (parts[-1].isdigit() and len(parts[-1]) >= 5)
                                or (parts[-1][:4] == "post" and parts[-1][4:].isdigit()))


def url_spans(line: str) -> list[ChromeSpan]:
    """Tokens that are URLs, domains with a path, or URL slugs."""
    if "-" not in line and "/" not in line and "www" not in line:
        return []
    out = []
    for start, end, tok in _tokens(line):
        core = tok.strip(_URL_TRIM)
        if not core:
            continue
        url = "://" in tok or core.lower().startswith("www.") or _DOMAIN_PATH.match(core) is not None
        if not url and "/" in core:
            url = any(_is_slug(seg) for seg in core.split("/") if seg)
        if url or _is_slug(core):
            out.append(ChromeSpan(start, end, "boilerplate.url", core[:80]))
    return out


# -- watch / follow prompts ------------------------------------------------------------------

_PROMPT_START = re.compile(
    r"(?:mời (?:quý )?(?:độc giả|bạn đọc|bạn|quý vị|các bạn)(?: \S+){0,4}? (?:xem|theo dõi|đón xem|đón đọc|"
    r"cùng xem|bấm|nhấn|click)|(?:hãy |vui lòng |bạn hãy )?(?:theo dõi|đăng ký|đăng kí|like|follow|bấm|nhấn|"
    r"click|ấn|tải)(?: vào| ngay)? |xem (?:thêm )?(?:video|clip))", re.IGNORECASE)
_CHANNEL = re.compile(r"(?<!\w)(?:video|clip|kênh|fanpage|facebook|youtube|zalo|tiktok|google news|instagram|"
                      r"twitter|podcast|ứng dụng|app|chúng tôi)(?!\w)", re.IGNORECASE)
_SENTENCE_BREAK = re.compile(r"[.!?…]+[\"”’)]* +(?=\S)")
PROMPT_MAX_WORDS = 40


def prompt_spans(line: str) -> list[ChromeSpan]:
    """Sentences that invite the reader to watch or follow the outlet (see module docstring)."""
    low = line.lower()
    if not any(cue in low for cue in ("mời", "theo dõi", "đăng k", "like", "follow", "bấm", "nhấn", "click",
                                      "ấn", "tải", "video", "clip")):
        return []
    starts = [0] + [m.end() for m in _SENTENCE_BREAK.finditer(line)]
    ends = starts[1:] + [len(line)]
    out = []
    for s, e in zip(starts, ends):
        m = _PROMPT_START.match(line, s)
        if m is None:
            continue
        sentence = line[s:e].rstrip()
        if sentence.count(" ") + 1 > PROMPT_MAX_WORDS or _CHANNEL.search(sentence) is None:
            continue
        out.append(ChromeSpan(s, s + len(sentence), "boilerplate.follow_prompt", sentence[:60]))
    return out


# -- everything on one line ------------------------------------------------------------------

_FINDERS = (menu_spans, font_control_spans, player_spans, counter_spans, url_spans, prompt_spans)


def find_chrome_spans(line: str) -> list[ChromeSpan]:
    """All chrome spans of one line, sorted and non-overlapping (on overlap the longer wins,
    then the earlier). An empty list means the line has no chrome inside it."""
    if not line.strip():
        return []
    found = [s for finder in _FINDERS for s in finder(line)]
    found.sort(key=lambda s: (s.start, -(s.end - s.start)))
    out: list[ChromeSpan] = []
    for s in found:
        if out and s.start < out[-1].end:
            if s.end - s.start > out[-1].end - out[-1].start and s.start == out[-1].start:
                out[-1] = s
            continue
        out.append(s)
    return out


# -- outlet credit at the start of the lede --------------------------------------------------

_DASH = r" {0,3}[-–—:] {0,3}"
_PAREN_CREDIT = re.compile(r" {0,3}\(([^()\n]{1,40})\)" + _DASH)
_DOMAIN_CREDIT = re.compile(r" {0,3}([\w-]{2,30}(?:\.[\w-]{1,20}){0,2}\.(?:vn|com|net|org|info))" + _DASH,
                            re.IGNORECASE)
_ACRONYM_CREDIT = re.compile(r" {0,3}([A-ZĐ]{2,7})" + r" {0,3}[-–—] {0,3}")
_OUTLET_SUFFIXES = ("O", "VN")


def outlet_credit_prefix(lede: str, rest: str = "") -> ChromeSpan | None:
    """The outlet's credit glued to the start of the first lede line, or None.

    `rest` is the rest of the article (body text); it is only searched for the acronym.
    See the module docstring for the features; the span covers the credit and its dash.
    """
    m = _PAREN_CREDIT.match(lede)
    if m is not None:
        inner = m.group(1).strip()
        if (any(c.isalpha() for c in inner) and inner.count(" ") < 5 and inner[0].isupper()
                and not any(c.isdigit() for c in inner[:1])):
            return ChromeSpan(0, m.end(), "boilerplate.outlet_credit", inner)
        return None
    m = _DOMAIN_CREDIT.match(lede)
    if m is not None and any(c.isalpha() for c in m.group(1).split(".")[0]):
        return ChromeSpan(0, m.end(), "boilerplate.outlet_credit", m.group(1))
    m = _ACRONYM_CREDIT.match(lede)
    if m is None:
        return None
    name = m.group(1)
    after = lede[m.end():]
    if not after or not (after[0].isupper() or after[0].isdigit()):
        return None                                           # (a) an apposition: 'WPP - tập đoàn ...'
    pattern = re.compile(r"(?<!\w)" + re.escape(name) + r"(?!\w)", re.IGNORECASE)
    if pattern.search(after) or pattern.search(rest):
        return None                                           # (b) the story names it again
    if not name.endswith(_OUTLET_SUFFIXES):
        clause = re.split(r"[,.;:!?]", after, maxsplit=1)[0]
        if " - " in clause or " – " in clause or " — " in clause:
            return None                                       # (c) 'SGGP - ... - cho biết'
    return ChromeSpan(0, m.end(), "boilerplate.outlet_credit", name)
