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
most 5 words, or a domain name (ending in one of WEB_TLDS: .vn .com .net .org .info .tv),
followed by a dash or colon, is a credit. A bare all-caps acronym ('TTO', 'WPP') followed by a dash is a credit
only when (a) the text after the dash starts with a capital or a digit (an apposition such
as 'WPP - tập đoàn ...' starts lower case), (b) the acronym does not occur again in the lede
or in `rest` (a story about WPP names WPP again; an outlet does not name itself), and (c)
unless it ends like an outlet's acronym ('O' for online: TTO, TPO, NLĐO; or 'VN'), the first
clause after the dash holds no second dash (an apposition closed by a dash). An acronym
joined to the next word by a bare hyphen is a compound word, never a credit ('VN-Index',
'PGS-TS').

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
from typing import NamedTuple

from transforms import lexicon

__all__ = ["ChromeSpan", "find_chrome_spans", "outlet_credit_prefix", "menu_spans", "font_control_spans",
           "player_spans", "counter_spans", "url_spans", "prompt_spans", "SECTION_NAMES", "trie_pattern"]


class ChromeSpan(NamedTuple):
    start: int        # 0-based offset into the line
    end: int          # exclusive
    reason: str       # a REMOVED_REASONS code
    detail: str


# section names through the one lexicon loader (transforms/lexicon.py), lower-cased for matching
SECTION_NAMES = frozenset(unicodedata.normalize("NFC", c.lower()) for c in lexicon.cues("navigation.txt"))
_SEPARATORS = frozenset("| - – — » › > >> / • · :: ||".split())
_ARROWS = frozenset("» › > >>".split())



# -- menus -----------------------------------------------------------------------------------

def _capitalized_forms(name: str) -> set[str]:
    words = name.split()
    return {" ".join([words[0].capitalize()] + words[1:]), " ".join(w.capitalize() for w in words), name.upper()}


def trie_pattern(words: set[str]) -> str:
    """A regex matching any of `words`, longest first, written as a character trie so that
    the engine compares one character per step instead of trying each word in turn."""
    trie: dict = {}
    for w in words:
        node = trie
        for ch in w:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: dict) -> str:
        branches = [re.escape(ch) + emit(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return "(?:" + body + ")?" if "" in node else body

    return emit(trie)


# case-sensitive alternation of the capitalized forms: the regex engine skips ahead to a
# capital letter, so a line of prose costs little; token boundaries are checked in Python
_NAME_RE = re.compile("(?:%s)[,;]*" % trie_pattern({f for n in SECTION_NAMES for f in _capitalized_forms(n)}))


def menu_spans(line: str, low: str | None = None) -> list[ChromeSpan]:
    """Runs of capitalized section names (see the module docstring for the counts). Names
    are found by one regex over the line (C speed); runs are hits separated only by
    separator tokens."""
    hits = [(m.start(), m.end()) for m in _NAME_RE.finditer(line)
            if (m.start() == 0 or line[m.start() - 1].isspace()) and (m.end() == len(line) or line[m.end()].isspace())]
    if len(hits) < 2:
        return []
    first_tok = len(line) - len(line.lstrip())
    last_tok = len(line.rstrip())
    out: list[ChromeSpan] = []
    k = 0
    while k < len(hits):
        names, seps, arrows = 1, 0, 0
        run_seps = 0
        j = k
        while j + 1 < len(hits):
            gap = line[hits[j][1]:hits[j + 1][0]].split()
            if any(t not in _SEPARATORS for t in gap):
                break
            seps += len(gap)
            arrows += sum(t in _ARROWS for t in gap)
            names += 1
            j += 1
        after = line[hits[j][1]:].split(None, 3)
        for t in after[:3]:
            if t not in _SEPARATORS:
                break
            run_seps += 1
            arrows += t in _ARROWS
        seps += run_seps
        whole = hits[k][0] == first_tok and hits[j][1] == last_tok
        qualifies = names >= 4 or (names >= 3 and seps >= names - 1) or (names >= 2 and arrows) or (
            whole and names >= 2 and seps)
        if qualifies and not whole and _in_sentence(line, hits[k][0], hits[j][1]):
            qualifies = False                  # 'Bộ Văn hóa - Thể thao - Du lịch', '... lĩnh vực Giáo dục, Văn hóa, ...'
        if qualifies:
            out.append(ChromeSpan(hits[k][0], hits[j][1], "boilerplate.navigation", f"menu of {names} section names"))
        k = j + 1
    return out


_BOUNDARY = frozenset(".!?:;|»›>-–—•·…)\"”")


def _in_sentence(line: str, start: int, end: int) -> bool:
    """True when the text at line[start:end] is glued into a sentence: the word before it
    does not end a sentence or a separator run (a lower-case word, or a name such as 'Bộ'),
    or a lower-case word follows it."""
    before = line[:start].rstrip()
    if before and before[-1] not in _BOUNDARY:
        return True
    after = line[end:].lstrip()
    return bool(after) and after[0].isalpha() and after[0].islower()


# -- font-size controls ----------------------------------------------------------------------

_FONT_LABEL = re.compile(r"(?<!\w)(?:Cỡ chữ|Kích (?:thước|cỡ) chữ|Font size|Phông chữ|Tăng cỡ chữ|Giảm cỡ chữ)"
                         r"(?: ?:)?", re.IGNORECASE)
_A_BUTTON = frozenset(["A", "A+", "A-", "a", "a+", "a-", "A–", "+A", "-A"])


_A_SPACED = re.compile(r" [+-]?[Aa][+\-–]? ")      # a button token between spaces (literal-first: fast)
_FONT_WORDS_RE = re.compile(r"cỡ chữ|thước chữ|font size|phông chữ")
_A_RE = re.compile(r"(?<!\S)(?:[+-]?[Aa][+\-–]?)(?!\S)")


def _may_have_button(low: str) -> bool:
    """Cheap necessary condition for `_A_SPACED` on the line: ' a' followed by a space or
    a sign, or '+a' / '-a', in the lower-cased line padded with spaces (str.find, no regex)."""
    if not PREFILTER:
        return True
    s = " " + low + " "
    i = s.find(" a")
    while i >= 0:
        if s[i + 2] in " +-–":
            return True
        i = s.find(" a", i + 2)
    return "+a" in s or "-a" in s


def font_control_spans(line: str, low: str | None = None) -> list[ChromeSpan]:
    """'A A A' / 'A- A A+' button runs and 'Cỡ chữ' labels (capitalized or followed by
    buttons; 'cỡ chữ quá nhỏ' in a sentence is prose)."""
    out: list[ChromeSpan] = []
    low = lower_same_length(line) if low is None else low
    label = (not PREFILTER or "chữ" in low or "font size" in low) and _FONT_WORDS_RE.search(low) is not None
    if not _may_have_button(low) or _A_SPACED.search(" " + line + " ") is None:
        if not label:
            return out
        buttons = []
    else:
        buttons = [(m.start(), m.end(), m.group()) for m in _A_RE.finditer(line) if m.group() in _A_BUTTON]
    k = 0
    while k < len(buttons):
        j = k
        while j + 1 < len(buttons) and not line[buttons[j][1]:buttons[j + 1][0]].strip():
            j += 1
        run = [t[2] for t in buttons[k:j + 1]]
        if len(run) >= 3 or (len(run) >= 2 and any(len(t) > 1 for t in run)):
            out.append(ChromeSpan(buttons[k][0], buttons[j][1], "boilerplate.share_prompt", "font-size buttons"))
        k = j + 1
    for m in (_FONT_LABEL.finditer(line) if label else ()):
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
_TIMECODE_CORE = re.compile(r":\d\d ?/ ?\d")
_PLAYER_WORDS = re.compile(r"(?<!\w)(?:Tắt tiếng|Bật tiếng|Toàn màn hình|Thoát toàn màn hình|Tạm dừng|Phát lại|"
                           r"Chất lượng|Tốc độ phát|Fullscreen|Mute|Unmute|Play|Pause|Replay)(?!\w)")


def player_spans(line: str, low: str | None = None) -> list[ChromeSpan]:
    """'00:00 / 02:35' and, when a time code is on the line, the player's button words."""
    if _TIMECODE_CORE.search(line) is None:
        return []
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
_COUNTER_NOUN = re.compile(r"(?:lượt (?:xem|đọc|thích|chia sẻ|bình luận|nghe)|views?|likes?|comments?|shares?|"
                           r"bình luận|chia sẻ|thích)(?!\w)")
_COUNTER_LABEL_CUE = re.compile(r"Lượt|View|Bình luận")
_STRONG_COUNTER = ("lượt", "view", "like")
# words that take a quantity in a sentence: 'có 1.234 lượt xem', 'vượt 1 triệu lượt xem'
_QUANTITY_WORDS = frozenset("có đạt hút với hơn gần khoảng tới đến được trên dưới mốc vượt thêm nhận tổng chỉ "
                            "lên xuống hàng cả những các mỗi tăng giảm".split())


_COUNTER_NOUN_STARTS = ("lượt", "view", "like", "comment", "share", "bình luận", "chia sẻ", "thích")


def _may_have_counter(line: str, low: str) -> bool:
    """Cheap necessary condition for a span of `counter_spans`: a counter label ('Lượt xem:
    ...'), or a counter noun right after a digit, 'k' or 'm' (with at most one space between),
    found by str.find on the lower-cased line. A line with a character that the
    case-insensitive regexes fold onto an ASCII letter ('İ', 'ı', 'ſ', Kelvin sign) is not
    filtered."""
    if not PREFILTER or ":" in line and ("Lượt" in line or "View" in line or "Bình luận" in line):
        return True
    if _odd_folds(line):
        return True
    for noun in _COUNTER_NOUN_STARTS:
        i = low.find(noun)
        while i >= 0:
            j = i - 1 if i and low[i - 1] != " " else i - 2
            if j >= 0 and (low[j].isdigit() or low[j] in "km"):
                return True
            i = low.find(noun, i + 1)
    return False


def counter_spans(line: str, low: str | None = None) -> list[ChromeSpan]:
    """View/like/comment counters that are not part of a sentence."""
    out = []
    low = lower_same_length(line) if low is None else low
    if not _may_have_counter(line, low):
        return out
    matches = {}
    for h in _COUNTER_NOUN.finditer(low):
        ws = line.rfind(" ", 0, max(0, h.start() - 24)) + 1
        for m in _COUNTER.finditer(line, ws, min(len(line), h.end() + 1)):
            matches.setdefault(m.start(), m)
    for m in sorted(matches.values(), key=lambda m: m.start()):
        if m.end() < len(line) and (line[m.end()].isalnum() or line[m.end()] == "_"):
            continue
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
    for m in (_COUNTER_LABEL.finditer(line) if ":" in line and _COUNTER_LABEL_CUE.search(line) else ()):
        out.append(ChromeSpan(m.start(), m.end(), "boilerplate.view_counter", m.group()))
    return out


# -- URLs and slugs --------------------------------------------------------------------------

# the web top-level domains a page's own links and credits use: one list for chrome, headline
# (a bare domain line) and clean.tail (a site name used as a credit)
WEB_TLDS = ("vn", "com", "net", "org", "info", "tv")
_TLD_ALT = "|".join(WEB_TLDS)
_WEB_EXT = (".html", ".htm", ".chn", ".tpo", ".ldo", ".vnp", ".aspx", ".php", ".amp")
_DOMAIN_PATH = re.compile(r"(?<![\w.-])(?:[\w-]+\.)+(?:%s)/" % _TLD_ALT, re.IGNORECASE)
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
    if sum(not p.isdigit() for p in parts) < 2:
        return False                           # '15-26-29-32-34-38': lottery numbers, a score list
    if len(parts) >= 5:
        return True
    return len(parts) >= 3 and (ext_found or (parts[-1].isdigit() and len(parts[-1]) >= 5)
                                or (parts[-1][:4] == "post" and parts[-1][4:].isdigit()))


_URL_CUE = re.compile(r"[-/]|www")
_URL_MARK = re.compile(r"://|www\.|[a-z0-9]-[a-z0-9]+-|\.(?:%s)/|[a-z0-9]-[a-z0-9]+\.(?:html?|chn|tpo|ldo|vnp|aspx|php|amp)" % _TLD_ALT,
                       re.IGNORECASE)


_SLUG_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")
_TLD_SLASH = tuple("." + t for t in WEB_TLDS)


def _may_have_url(line: str, low: str) -> bool:
    """Cheap necessary condition for a span of `url_spans` (str.find, no regex): '://', a
    'www.' in any case, a TLD before a '/' ('.vn/', '.com/', ...), or a token with two or more
    hyphens, one of them between lower-case ASCII letters or digits, and a lower-case ASCII
    letter (a slug; '5-2-2017' has no letter). A line with a character that the
    case-insensitive regexes fold onto an ASCII letter is not filtered."""
    if not PREFILTER or "://" in line or "www." in low or _odd_folds(line):
        return True
    i = low.find("/")
    while i >= 0:
        if low.endswith(_TLD_SLASH, 0, i):
            return True
        i = low.find("/", i + 1)
    i = line.find("-")
    n = len(line)
    while i >= 0:
        if 0 < i < n - 1 and line[i - 1] in _SLUG_CHARS and line[i + 1] in _SLUG_CHARS:
            start = line.rfind(" ", 0, i) + 1
            end = line.find(" ", i)
            tok = line[start:n if end < 0 else end]
            if tok.count("-") >= 2 and _ASCII_LOWER.search(tok) is not None:
                return True
            if end < 0:
                return False
            i = line.find("-", end)
            continue
        i = line.find("-", i + 1)
    return False


_ASCII_LOWER = re.compile(r"[a-z]")


def url_spans(line: str, low: str | None = None) -> list[ChromeSpan]:
    """Tokens that are URLs, domains with a path, or URL slugs, standing alone: a URL the
    story cites ('xem tại www.example.vn.', 'Website: http://...') is part of a sentence
    and stays. Candidate tokens are found
    by a marker regex (a scheme, 'www.', a domain before '/', two hyphens between letters
    or digits, a hyphen before a web extension), then judged whole."""
    if "-" not in line and "/" not in line and "www" not in line:
        return []
    if not _may_have_url(line, lower_same_length(line) if low is None else low):
        return []
    out = []
    last_end = -1
    for m in _URL_CUE.finditer(line):
        if m.start() < last_end:
            continue
        start = line.rfind(" ", 0, m.start()) + 1
        end = line.find(" ", m.end())
        end = len(line) if end < 0 else end
        last_end = end
        tok = line[start:end]
        if not ("://" in tok or "www" in tok or tok.count("-") >= 2 or "/" in tok and "." in tok
                or "-" in tok and "." in tok):
            continue
        if _URL_MARK.search(tok) is None:
            continue
        core = tok.strip(_URL_TRIM)
        if not core:
            continue
        url = "://" in tok or core.lower().startswith("www.") or _DOMAIN_PATH.match(core) is not None
        if not url and "/" in core:
            url = any(_is_slug(seg) for seg in core.split("/") if seg)
        if (url or _is_slug(core)) and not _in_sentence(line, start, end) \
                and not line[:start].rstrip().endswith(":"):
            out.append(ChromeSpan(start, end, "boilerplate.url", core[:80]))
    return out


# -- watch / follow prompts ------------------------------------------------------------------

_PROMPT_START = re.compile(
    r"(?:mời (?:quý )?(?:độc giả|bạn đọc|bạn|quý vị|các bạn)(?: \S+){0,4}? (?:xem|theo dõi|đón xem|đón đọc|"
    r"cùng xem|bấm|nhấn|click)|(?:hãy |vui lòng |bạn hãy )?(?:theo dõi|đăng ký|đăng kí|like|follow|bấm|nhấn|"
    r"click|ấn|tải)(?: vào| ngay)? |xem (?:thêm )?(?:video|clip))", re.IGNORECASE)
_CHANNEL = re.compile(r"(?<!\w)(?:video|clip|kênh|fanpage|facebook|youtube|zalo|tiktok|google news|instagram|"
                      r"twitter|podcast|ứng dụng|app|chúng tôi)(?!\w)", re.IGNORECASE)
_CHANNEL_LOW = re.compile(r"(?:video|clip|kênh|fanpage|facebook|youtube|zalo|tiktok|google news|instagram|"
                          r"twitter|podcast|ứng dụng|app|chúng tôi)(?!\w)")
_PROMPT_LOOKBACK = 400          # characters: a prompt sentence is at most PROMPT_MAX_WORDS words
_SENTENCE_BREAK = re.compile(r"(?<![.!?…])[.!?…]+[\"”’)]* +(?=\S)")   # from a run's first mark: linear
PROMPT_MAX_WORDS = 40


# cheap necessary condition for _PROMPT_START at a sentence start (after _SENTENCE_BREAK):
# the first word of each of its branches after a terminator run, on the lower-cased line
_PROMPT_WORDS = r"(?:mời|hãy|vui lòng|bạn hãy|theo dõi|đăng ký|đăng kí|like|follow|bấm|nhấn|click|ấn|tải|xem)"
# split by the terminator: after '.', the literal first character lets the engine skip through
# the line; '!', '?' and '…' are rare, and their pattern runs only when the line holds one
_PROMPT_GATE_DOT = re.compile(r"\.[\"”’)]* +" + _PROMPT_WORDS)
_PROMPT_GATE_OTHER = re.compile(r"[!?…][\"”’)]* +" + _PROMPT_WORDS)


def _may_start_prompt(line: str, low: str) -> bool:
    """Cheap necessary condition for a span of `prompt_spans`: the line, or a sentence after a
    terminator run, starts with the first word of an invitation (lower-cased line); a line
    with a character that the case-insensitive regexes fold onto an ASCII letter is not
    filtered."""
    if not PREFILTER or _PROMPT_START.match(line) is not None or _PROMPT_GATE_DOT.search(low) is not None:
        return True
    if ("!" in low or "?" in low or "…" in low) and _PROMPT_GATE_OTHER.search(low) is not None:
        return True
    return _odd_folds(line)


def prompt_spans(line: str, low: str | None = None) -> list[ChromeSpan]:
    """Sentences that invite the reader to watch or follow the outlet (see module docstring).
    Found from the channel word back to the start of its sentence (at most
    _PROMPT_LOOKBACK characters before it), where the invitation must begin. A line where
    no sentence (nor the line) starts with an invitation word is skipped first."""
    low = lower_same_length(line) if low is None else low
    if not _may_start_prompt(line, low):
        return []
    out = []
    seen: set[int] = set()
    for ch in _CHANNEL_LOW.finditer(low):
        lo = max(0, ch.start() - _PROMPT_LOOKBACK)
        s = 0 if lo == 0 else -1
        for br in _SENTENCE_BREAK.finditer(line, lo, ch.start()):
            s = br.end()
        if s < 0 or s in seen:
            continue                           # no sentence start close enough, or done already
        seen.add(s)
        m = _PROMPT_START.match(line, s)
        if m is None:
            continue
        nxt = _SENTENCE_BREAK.search(line, m.end())
        e = nxt.end() if nxt else len(line)
        sentence = line[s:e].rstrip()
        if sentence.count(" ") + 1 > PROMPT_MAX_WORDS or _CHANNEL.search(sentence) is None:
            continue
        out.append(ChromeSpan(s, s + len(sentence), "boilerplate.follow_prompt", sentence[:60]))
    out.sort()
    return out


# The finders first run a cheap necessary test per line (str.find on the lower-cased line, or one
# regex with a rare first character) and skip the line when it fails: on the corpus, 29 of
# 7,906 story lines hold chrome. The tests compare the finders with PREFILTER on and off.
PREFILTER = True
# characters that a case-insensitive regex matches as an ASCII letter although str.lower()
# does not map them onto it ('İ' ~ i, 'ı' ~ i, 'ſ' ~ s, Kelvin sign ~ k): the str.find
# pre-filters of the finders, which look at the lower-cased line, do not filter such lines
def _odd_folds(line: str) -> bool:
    return not line.isascii() and ("\u0130" in line or "\u0131" in line or "\u017f" in line or "\u212a" in line)


def lower_same_length(line: str) -> str:
    """line.lower(), with offsets that still index `line` (a character whose lower case is
    longer, such as 'İ', stays as it is)."""
    low = line.lower()
    if len(low) == len(line):
        return low
    return "".join(c if len(c.lower()) != 1 else c.lower() for c in line)


# -- everything on one line ------------------------------------------------------------------

_FINDERS = (menu_spans, font_control_spans, player_spans, counter_spans, url_spans, prompt_spans)


CHROME_MAX_CHARS = 50_000      # longer lines are not searched (a page's widgets sit in ordinary lines)


def find_chrome_spans(line: str) -> list[ChromeSpan]:
    """All chrome spans of one line, sorted and non-overlapping (on overlap the longer wins,
    then the earlier). An empty list means the line has no chrome inside it."""
    if not line or line.isspace() or len(line) > CHROME_MAX_CHARS:
        return []
    low = lower_same_length(line)
    found: list[ChromeSpan] = []
    for finder in _FINDERS:
        spans = finder(line, low)
        if spans:
            found += spans
    if len(found) < 2:
        return found
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
_DOMAIN_CREDIT = re.compile(r" {0,3}([\w-]{2,30}(?:\.[\w-]{1,20}){0,2}\.(?:%s))" % _TLD_ALT + _DASH,
                            re.IGNORECASE)
_ACRONYM_CREDIT = re.compile(r" {0,3}([A-ZĐ]{2,7})" + r" {0,3}[-–—] {0,3}")
_OUTLET_SUFFIXES = ("O", "VN")


def _names_again(name: str, text: str) -> bool:
    """`name` occurs in `text` as a word of its own, in any case (str.find first: no regex is
    compiled for a text that does not hold it)."""
    low, key = text.lower(), name.lower()
    at = low.find(key)
    while at >= 0:
        end = at + len(key)
        if (at == 0 or not low[at - 1].isalnum() and low[at - 1] != "_") and \
                (end == len(low) or not low[end].isalnum() and low[end] != "_"):
            return True
        at = low.find(key, at + 1)
    return False


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
    if m.group(0).strip() == name + "-":
        return None                                           # a compound word: 'VN-Index', 'PGS-TS'
    if not after or not (after[0].isupper() or after[0].isdigit()):
        return None                                           # (a) an apposition: 'WPP - tập đoàn ...'
    if _names_again(name, after) or _names_again(name, rest):
        return None                                           # (b) the story names it again
    if not name.endswith(_OUTLET_SUFFIXES):
        clause = re.split(r"[,.;:!?]", after, maxsplit=1)[0]
        if " - " in clause or " – " in clause or " — " in clause:
            return None                                       # (c) 'SGGP - ... - cho biết'
    return ChromeSpan(0, m.end(), "boilerplate.outlet_credit", name)
