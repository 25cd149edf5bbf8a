"""Normalize Vietnamese text line by line: Unicode, spaces, tone marks, typing errors, glued words.

No row is dropped here: every input line yields exactly one output line (possibly empty), so
``len(normalize_text(t).split('\\n')) == len(t.split('\\n'))`` and line numbers still point into
the raw file. Lines that end up empty are dropped later by the cleaning step, not here.

Per line, in this order:

1. Characters (one ``str.translate`` table, applied only when such a character occurs):
   zero-width and format characters (U+200B-U+200F, U+2060-U+2064, U+FEFF, U+00AD soft hyphen,
   bidi controls U+202A-U+202E and U+2066-U+2069) and C0/C1 control characters other than tab
   and newline (NUL included) are deleted; tab, CR, VT, FF, NEL (U+0085), U+2028, U+2029,
   NBSP (U+00A0), U+1680, U+2000-U+200A, U+202F, U+205F and U+3000 become a plain space.
2. NFC (only when the text is not NFC already).
3. Typography policy, kept deliberately small:
   - quotes are kept as written (curly “ ” ‘ ’ and straight " '): the opening/closing
     distinction is information, the corpus uses both, and mapping straight quotes to curly
     ones would need guessing. Comparisons that need to ignore the difference fold them on the
     fly instead of rewriting stored text;
   - dashes: the invisible hyphen variants U+2010 and U+2011 become '-', U+2012 (figure dash)
     becomes '–' and U+2015 (horizontal bar) becomes '—'; en and em dashes are kept because they
     carry meaning (ranges, asides);
   - the ellipsis character '…' becomes '...', the form typed on keyboards and the one
     underthesea's tokenizer treats as one token.
4. Whitespace: runs collapse to one space; each line is stripped.
5. Words (only on lines where a cheap candidate regex finds something to do):
   - tone marks are placed by the convention underthesea.text_normalize uses (see
     `place_tone`): hòa, khỏe, thủy (tone on the first vowel of the open clusters oa, oe, uy),
     hoàn, quý, già;
   - typing errors common with Telex/VNI input are repaired when the result is a valid
     Vietnamese syllable: a tone on the wrong vowel (baỏ -> bảo, đaị -> đại), a wrongly composed
     cluster (lựơng -> lượng, nghịêm -> nghiệm, thuơng -> thương), a doubled tone mark
     (tạị -> tại), 'ngh' before a back vowel (nghành -> ngành), 'qui' -> 'quy' (with its tones),
     and the look-alikes Ð/ð (U+00D0/U+00F0) for Đ/đ (also in capitalised abbreviations such
     as HÐND and in highland names ending in k such as Ðắk);
   - words glued by scraping are split where a Vietnamese syllable with a diacritic runs into
     a capitalised word (trênGoogle -> trên Google, ViệtNam -> Việt Nam). Mixed-case names
     without a Vietnamese diacritic on the left (iPhone, eBay, YouTube, McDonald's, VinFast)
     and dotted abbreviations (TP.HCM, PGS.TS) are left alone.
   A word that does not parse as a Vietnamese syllable (foreign words, names in Latin script,
   codes) is never changed by these rules, nor is any word inside a URL or e-mail address
   (a space-delimited token holding '://', 'www.' or '@').

Speed: a document is checked with one table lookup per character (numpy, see section 5),
which finds the few lines that a word rule or a space rule can change; only those lines go
through the regexes and the word code, and word results are cached (word -> normalized word).
On 6,000 baomoi-2017 articles (20 MB) this is 5-6x the throughput of running the regexes over
every line and 80-100x that of underthesea.text_normalize, with the same output.
"""
from __future__ import annotations

import functools
import re
import unicodedata

import numpy as np

__all__ = ["normalize_text", "normalize_lines", "normalize_word", "place_tone", "split_glued", "is_syllable"]

# --------------------------------------------------------------------------------------------
# 1. characters
_DELETE = (
    [c for c in range(0x00, 0x20) if c not in (0x09, 0x0A, 0x0B, 0x0C, 0x0D)]
    + [0x7F]
    + [c for c in range(0x80, 0xA0) if c != 0x85]
    + [0x00AD, 0x180E, 0x200B, 0x200C, 0x200D, 0x200E, 0x200F, 0x2060, 0x2061, 0x2062, 0x2063,
       0x2064, 0xFEFF, 0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069]
)
_TO_SPACE = [0x09, 0x0B, 0x0C, 0x0D, 0x85, 0xA0, 0x1680, 0x202F, 0x205F, 0x3000, 0x2028, 0x2029,
             *range(0x2000, 0x200B)]
_TYPOGRAPHY = {0x2010: "-", 0x2011: "-", 0x2012: "\u2013", 0x2015: "\u2014", 0x2026: "..."}

_CHAR_TABLE: dict[int, str | None] = {c: None for c in _DELETE}
_CHAR_TABLE.update({c: " " for c in _TO_SPACE})
_CHAR_TABLE.update(_TYPOGRAPHY)
_ODD_CHAR = re.compile("[" + "".join(re.escape(chr(c)) for c in sorted(_CHAR_TABLE)) + "]")



def _replace_odd_char(m: re.Match) -> str:
    return _CHAR_TABLE[ord(m.group())] or ""


# --------------------------------------------------------------------------------------------
# 2. Vietnamese letters: base vowel + tone
_TONE_MARKS = ("", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323")  # none, huyền, sắc, hỏi, ngã, nặng
_BASES = "aăâeêioôơuưy"
_HAT = frozenset("ăâêôơư")          # vowels with a circumflex, breve or horn
_TONED: dict[str, tuple[str, int]] = {}   # 'ộ' -> ('ô', 5); plain bases map to tone 0
_COMPOSE: dict[tuple[str, int], str] = {}
for _b in _BASES:
    for _t, _mark in enumerate(_TONE_MARKS):
        _ch = unicodedata.normalize("NFC", _b + _mark)
        _TONED[_ch] = (_b, _t)
        _COMPOSE[(_b, _t)] = _ch

_VOWELS_LOWER = "".join(_TONED)
_VOWELS = _VOWELS_LOWER + _VOWELS_LOWER.upper()
_TONED_PLAIN = "".join(c for c, (b, t) in _TONED.items() if t and b not in _HAT)   # à á ... ỵ
_TONED_PLAIN += _TONED_PLAIN.upper()
_TONED_ANY = "".join(c for c, (b, t) in _TONED.items() if t)
_TONED_ANY += _TONED_ANY.upper()
_UNTONED = "aăâeêioôơuưy" + "AĂÂEÊIOÔƠUƯY"
_HAT_ANY = "".join(c for c, (b, t) in _TONED.items() if b in _HAT)
_HAT_ANY += _HAT_ANY.upper()
_VI_SPECIFIC = frozenset(_TONED_ANY + "ăâêôơưđĂÂÊÔƠƯĐ")

_ONSETS = ("ngh", "ng", "nh", "ch", "gh", "gi", "kh", "ph", "th", "tr", "qu",
           "b", "c", "d", "đ", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "x", "")
_CODAS = frozenset(("", "c", "ch", "m", "n", "ng", "nh", "p", "t"))
_STOP_CODAS = frozenset(("c", "ch", "p", "t"))
# Vowel clusters (no tone) that may end a syllable / that need a final consonant.
_OPEN = frozenset("""a e ê i o ô ơ u ư y ai ao au ay âu ây eo êu ia iu oa oe oi ôi ơi ua uê ui uơ uy
ưa ưi ưu oai oay oeo uây uôi ươi ươu uya uyu iêu yêu""".split())
_CLOSED = frozenset("""a ă â e ê i o ô ơ u ư y iê yê oa oă oe oo uâ uê uô ươ uy uyê""".split())


def _parse(base: str) -> tuple[str, str, str] | None:
    """Split a lower-case, tone-free word into (onset, vowels, coda); None if not a syllable."""
    for onset in _ONSETS:
        if base.startswith(onset):
            break
    rest = base[len(onset):]
    if onset == "gi" and (not rest or rest[0] not in _BASES):
        onset, rest = "g", base[1:]          # gìn, gịt: the i is the vowel
    if onset == "qu" and not rest:
        return None
    i = 0
    while i < len(rest) and rest[i] in _BASES:
        i += 1
    vowels, coda = rest[:i], rest[i:]
    if not vowels or coda not in _CODAS:
        return None
    if coda:
        if vowels not in _CLOSED:
            return None
    elif vowels not in _OPEN:
        return None
    return onset, vowels, coda


def place_tone(vowels: str, coda: str) -> int:
    """Index of the vowel that carries the tone mark (underthesea's convention).

    A vowel with a circumflex, breve or horn takes it (the last one: ươ -> ơ); otherwise the
    last vowel when a final consonant follows (hoàn, thuyết); otherwise the middle of three
    vowels (ngoài, khuỷu) or the first of two (hòa, khỏe, thủy, mùa). The onsets qu and gi are
    not part of `vowels`, so quý, già, quả come out right.
    """
    for i in range(len(vowels) - 1, -1, -1):
        if vowels[i] in _HAT:
            return i
    if coda:
        return len(vowels) - 1
    if len(vowels) == 3:
        return 1
    return 0


def _apply_case(template: str, word: str) -> str | None:
    if template.islower() or not any(c.isalpha() for c in template):
        return word
    if template.isupper():
        return word.upper()
    if template[0].isupper() and (len(template) == 1 or template[1:].islower()):
        return word[0].upper() + word[1:]
    return None      # mixed case (iÀ, ThuỶ): not an ordinary word, left as written


def _fix_syllable(word: str) -> str:
    """Tone placement and spelling repair for one NFC word made of letters only."""
    lower = word.lower()
    lower = lower.replace("ð", "đ")
    bases = []
    tone = 0
    for ch in lower:
        bt = _TONED.get(ch)
        if bt is None:
            if not ("a" <= ch <= "z" or ch == "đ"):
                return word
            bases.append(ch)
            continue
        b, t = bt
        if t:
            if tone and t != tone:
                return word          # two different tones: not a typing slip we can undo
            tone = t
        bases.append(b)
    base = "".join(bases)
    vietnamese = tone or any(c in _HAT or c == "đ" for c in base)
    if vietnamese:
        if base.startswith("ngh") and len(base) > 3 and base[3] in "aăâoôơuư":
            base = "ng" + base[3:]                        # nghành -> ngành
        if "uơ" in base:
            j = base.index("uơ")
            if j + 2 < len(base) and base[j + 2] not in _BASES and not base[:j].endswith("q"):
                base = base[:j] + "ươ" + base[j + 2:]      # thuơng -> thương (not thuở, huơ)
        if "ưo" in base:
            base = base.replace("ưo", "ươ")                # bưóc -> bước
    if base == "qui":
        base = "quy"
    parsed = _parse(base)
    if parsed is None:
        if "ð" in word.lower() and (word.isupper() or (base.endswith("k") and _parse(base[:-1] + "c"))):
            return word.replace("Ð", "Đ").replace("ð", "đ")     # HÐND -> HĐND, Ðắk -> Đắk
        return word
    onset, vowels, coda = parsed
    if tone and coda in _STOP_CODAS and tone not in (2, 5):
        return word
    if tone:
        k = place_tone(vowels, coda)
        vowels = vowels[:k] + _COMPOSE[(vowels[k], tone)] + vowels[k + 1:]
    out = onset + vowels + coda
    cased = _apply_case(word, out)
    return word if cased is None else cased


_WORD_CACHE: dict[str, str] = {}
_CACHE_MAX = 500_000


def normalize_word(word: str) -> str:
    """Tone placement and spelling for one word: 'hoà' -> 'hòa', 'baỏ' -> 'bảo', 'Ðà' -> 'Đà'.

    The word is NFC-normalized first. Anything that is not a Vietnamese syllable after the
    repairs (English, names in Latin script, numbers, codes) comes back NFC but otherwise as is.
    """
    hit = _WORD_CACHE.get(word)
    if hit is not None:
        return hit
    nfc = unicodedata.normalize("NFC", word)
    out = _fix_syllable(nfc) if nfc.isalpha() else nfc
    if len(_WORD_CACHE) >= _CACHE_MAX:
        _WORD_CACHE.clear()
    _WORD_CACHE[word] = out
    return out


# --------------------------------------------------------------------------------------------
# 3. glued words
_LOWER_LETTERS = "a-zđ" + "".join(c for c in _VOWELS_LOWER if not c.isascii())
_UPPER_LETTERS = "A-ZĐ" + "".join(c for c in _VOWELS_LOWER.upper() if not c.isascii())
_LOWER_UPPER = re.compile(f"[{_LOWER_LETTERS}](?=[{_UPPER_LETTERS}])")


_MAX_SYLLABLE_CHARS = 8     # the longest syllables ('nghiêng', 'nghuếch') have 7 letters


def split_glued(word: str) -> str:
    """'trênGoogle' -> 'trên Google'; 'iPhone', 'YouTube', 'VinFast' unchanged.

    Splits before a capital letter when the letters before it form one Vietnamese syllable
    that carries a diacritic and is lower case after its first letter, and at least two
    characters follow the cut: a lone capital at the end ('giám đốC') is a typo inside the
    word, and 'đố C' would be worse than the input.
    """
    out = []
    start = 0
    for m in _LOWER_UPPER.finditer(word):
        cut = m.end()
        if cut - start > _MAX_SYLLABLE_CHARS:
            # The piece since the last cut only grows from here on, so it can never be a
            # syllable again: stop. (Testing ever longer pieces was quadratic on a glued run
            # of 100k letters such as 'trênGoogletrênGoogle...'.)
            break
        if len(word) - cut < 2:
            break
        left = word[start:cut]
        if (any(c in _VI_SPECIFIC for c in left) and (len(left) == 1 or left[1:].islower())
                and is_syllable(left)):
            out.append(left)
            start = cut
    if not out:
        return word
    out.append(word[start:])
    return " ".join(out)


def is_syllable(word: str) -> bool:
    """True when `word` (letters only, NFC) spells one Vietnamese syllable, with or without tone."""
    lower = word.lower()
    bases = []
    tone = 0
    for ch in lower:
        bt = _TONED.get(ch)
        if bt is None:
            bases.append(ch)
            continue
        if bt[1]:
            if tone:
                return False
            tone = bt[1]
        bases.append(bt[0])
    parsed = _parse("".join(bases))
    return parsed is not None and not (tone and parsed[2] in _STOP_CODAS and tone not in (2, 5))


# --------------------------------------------------------------------------------------------
# 4. candidate finder: cheap test for "this line may need a word-level fix"
_LETTER = r"[^\W\d_]"
_BACK = "".join(c for c, (b, t) in _TONED.items() if b in "aăâoôơuư")
_BACK += _BACK.upper()
_U_HORN = "ưừứửữựƯỪỨỬỮỰ"
_O_HORN = "ơờớởỡợƠỜỚỞỠỢ"
_O_PLAIN = "oòóỏõọOÒÓỎÕỌ"
_HAT_TONED = "".join(c for c, (b, t) in _TONED.items() if t and b in _HAT)
_HAT_TONED += _HAT_TONED.upper()
_BACK_TONED = "".join(c for c in _BACK if c in _TONED_ANY)
# A few regexes, each led by one character class (the engine scans for it in C) followed by
# fixed-width look-behinds; a line is looked at word by word only when one of them matches.
_CANDIDATES = [
    # a toned plain vowel (à á ả ã ạ ... ỵ) that is...
    re.compile(f"[{_TONED_PLAIN}](?:" + "|".join([
        # ...at the end of the word after another vowel: hoà, thuỷ, baỏ, caí (not quý, già)
        f"(?!{_LETTER})(?<=[{_VOWELS}].)(?<![qQ][uU].)(?<![gG][iI].)",
        # ...before a hat/horn vowel (nghịêm, lụơng) or another tone mark (tạị)
        f"[{_HAT_ANY}{_TONED_ANY}]",
        # ...before a plain vowel and a letter: hòan, ngòai
        f"[{_UNTONED}]{_LETTER}",
        # ...on the i/u of the onsets gi/qu: gìa, qúa
        f"(?<=[gG][ìíỉĩịÌÍỈĨỊ])[{_VOWELS}]",
        f"(?<=[qQ][ùúủũụÙÚỦŨỤ])[{_VOWELS}]",
        # ...after ngh: nghành, nghã
        f"(?<=[nN][gG][hH][{_BACK_TONED}])",
    ]) + ")"),
    # a toned hat/horn vowel before another tone mark (đấú), ự before ơ (lựơng), nghắm;
    # ư before o (bưóc); uơ before a final consonant (thuơng); the look-alikes Ð ð; qui
    re.compile(f"[{_HAT_TONED}{_U_HORN}{_O_HORN}Ððq](?:" + "|".join([
        f"(?<=[{_HAT_TONED}])[{_TONED_ANY}{_O_HORN}]",
        f"(?<=[nN][gG][hH][{_BACK_TONED}])",
        f"(?<=[{_U_HORN}])[{_O_PLAIN}]",
        f"(?<=[uU][{_O_HORN}])[a-zA-Z]",
        "(?<=[Ðð])",
        r"(?<=\b[qQ])[uU][iIìíỉĩịÌÍỈĨỊ]\b",
    ]) + ")"),
    # a capital right after a lower-case letter: trênGoogle (and iPhone, checked later)
    re.compile(f"[{_UPPER_LETTERS}](?<=[{_LOWER_LETTERS}].)"),
    re.compile(r"Q(?<=\bQ)[uU][iIìíỉĩịÌÍỈĨỊ]\b"),
]
_SPACE_RUN = re.compile("  +")


def _in_word(c: str) -> bool:
    # Combining marks left over after NFC (ì + U+0300) belong to the word, so that the word
    # is seen whole and left alone rather than half-rewritten.
    return c.isalpha() or unicodedata.combining(c) != 0


def _fix_words(text: str) -> str:
    """Rewrite only the words (letter runs) that hold a candidate match; other text is untouched."""
    # Linear time: a match inside the word found by the previous match of the same regex is
    # skipped (expanding each one to its whole word again was quadratic on a 100k-letter
    # word), and each space-delimited token is looked at once, in order (see _url_tokens).
    spans = set()
    for rx in _CANDIDATES:
        word_end = -1
        for m in rx.finditer(text):
            if m.start() < word_end:
                continue
            start = m.start()
            end = m.end()
            while start > 0 and _in_word(text[start - 1]):
                start -= 1
            while end < len(text) and _in_word(text[end]):
                end += 1
            spans.add((start, end))
            word_end = end
    if not spans:
        return text
    out = []
    pos = 0
    in_url = _url_tokens(text)
    for start, end in sorted(spans):
        if start < pos:          # overlapping spans are the same word
            continue
        if in_url(start, end):
            continue
        out.append(text[pos:start])
        out.append(_fix_letters(text[start:end]))
        pos = end
    out.append(text[pos:])
    return "".join(out)


_TOKEN_SEP = re.compile("[ \n]")


def _url_tokens(text: str):
    """in_url(start, end): True when the space-delimited token around text[start:end] is a URL
    or an e-mail address. Calls must come in ascending order of start; each token is found
    once, with searches bounded by the previous token, so a line of 100k words costs O(n)
    (a fresh rfind/find per word scanned the whole line each time: quadratic)."""
    state = {"left": 0, "right": -1, "url": False}

    def in_url(start: int, end: int) -> bool:
        if start > state["right"]:
            lo = state["right"] + 1 if state["right"] >= 0 else 0
            left = max(text.rfind(" ", lo, start), text.rfind("\n", lo, start)) + 1
            m = _TOKEN_SEP.search(text, end)
            right = m.start() if m else len(text)
            token = text[max(left, lo):right]
            state.update(left=left, right=right, url="://" in token or "www." in token or "@" in token)
        return state["url"]
    return in_url


def _fix_letters(word: str) -> str:
    if _LOWER_UPPER.search(word):
        parts = split_glued(word).split(" ")
        if len(parts) > 1:
            return " ".join(normalize_word(p) for p in parts)
    return normalize_word(word)


# --------------------------------------------------------------------------------------------
# 5. fast path: which lines can the rules of stages 4 and 5 change at all?
#
# Nearly every line of real text needs no word-level fix, but proving that with the regexes
# above costs a character-class test per character in the regex engine, four times over. The
# fast path asks the same question with one table lookup per character: each BMP character
# has a 64-bit entry in _TABLE made of four 16-bit fields, field k holding the windows (below)
# for which the character fits position k. A window starts at character i when field 0 of
# character i, field 1 of character i+1, field 2 of i+2 and field 3 of i+3 all have its bit;
# numpy does the lookup (take) and the ANDs for a whole document at once (_hits).
#
# Each branch of _CANDIDATES is covered by a window of 1-4 consecutive character properties
# that matches wherever the branch matches (and sometimes more). _fix_words gives the same
# result on each line alone as on the whole text and leaves a line without a window hit
# unchanged, so only the lines with a hit are passed to it (_fix_lines). The properties are
# exact for the characters of four pages (Basic Latin + Latin-1, Latin Extended-A/B, Latin
# Extended Additional, General Punctuation). Every other character, and every character that
# stage 1 replaces or deletes or that NFC may change, hits the SPECIAL window: replaced ones
# (_MARK_CHARS) are handled in place, anything else sends the document through stages 1-4 of
# the general code and its lines holding such a character through _fix_words.
_FAST_PAGES = (0x00, 0x01, 0x1E, 0x20)
_TI = "ìíỉĩịÌÍỈĨỊ"
_TU = "ùúủũụÙÚỦŨỤ"
_PROP_SETS = {            # property -> its characters; LET, NL, notq, notg, case and marks below
    "V1": _VOWELS.translate({ord(c): None for c in "uUiI"}),
    "P": _TONED_PLAIN, "u": "uU", "i": "iI", "q": "qQ", "g": "gG", "h": "hH",
    "PHT": _TONED_PLAIN + _HAT_TONED, "HATTON": _HAT_ANY + _TONED_ANY, "UNT": _UNTONED,
    "TI": _TI, "TU": _TU, "VOW": _VOWELS, "IANY": "iI" + _TI, "BT": _BACK_TONED,
    "UH": _U_HORN, "OP": _O_PLAIN, "OH": _O_HORN, "LF": "\n",
    "ASC": "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
}
# Windows: one property per position, at most 4 positions (the four fields of a table entry);
# the bit of a window is its index in _WINDOWS_A + _WINDOWS_B. The comment names the regex
# branch (of _CANDIDATES) or the stage it covers.
_WINDOWS_A = (
    ("V1", "P", "NL"),          # cand 0: toned plain vowel ending a word after a vowel (not u, i),
    ("notq", "u", "P", "NL"),   #   after u (not qu: quá)
    ("notg", "i", "P", "NL"),   #   after i (not gi: già)
    ("PHT", "HATTON"),          # cand 0 before a hat/toned vowel (nghịệm); cand 1: đấú
    ("P", "UNT", "LET"),        # cand 0: hòan, ngòai
    ("g", "TI", "VOW"),         # cand 0: gìa
    ("q", "u", "IANY"),         # cand 1 and cand 3: qui, quí
    ("g", "h", "BT"),           # cand 0 and cand 1: nghành
)
_WINDOWS_B = (
    ("q", "TU", "VOW"),         # cand 0: qúa
    ("UH", "OP"),               # cand 1: bưóc
    ("u", "OH", "ASC"),         # cand 1: thuơng
    ("LOWER", "UPPER"),         # cand 2: trênGoogle, then checked by _glued_may_split
    ("SP", "SP"),               # stage 4: two spaces,
    ("SP", "LF"),               #   a space before a line break,
    ("LF", "SP"),               #   a space after one
    ("SPECIAL",),               # a character stage 1 changes, Ð ð (cand 1), or one not modelled
)
assert len(_WINDOWS_A + _WINDOWS_B) == 16 and all(len(w) <= 4 for w in _WINDOWS_A + _WINDOWS_B)
_BITS_WORDS = 0xFF | 0x7 << 8   # windows that send their line to _fix_words
_BIT_GLUED = 1 << 11
_BIT_SPSP = 1 << 12
_BIT_SPLF = 1 << 13
_BIT_LFSP = 1 << 14
_BIT_SPECIAL = 1 << 15
_BIT_ASTRAL = 1 << 16           # not a window: see _hits


def _slow_char(ch: str) -> bool:
    """Characters that stage 1 deletes or that NFC may change, alone or after another one."""
    if ord(ch) in _CHAR_TABLE and _CHAR_TABLE[ord(ch)] is None:
        return True
    return unicodedata.combining(ch) != 0 or unicodedata.normalize("NFC", ch) != ch


# Characters with SPECIAL that the fast path handles: replaced by stage 1, or Ð ð.
_MARK_CHARS = frozenset(chr(c) for c, rep in _CHAR_TABLE.items() if rep) | frozenset("Ðð")


def _char_props(ch: str) -> frozenset[str]:
    """The properties (see _PROP_SETS and _WINDOWS_A/B) of one character of the fast pages."""
    props = {name for name, chars in _PROP_SETS.items() if ch in chars}
    props.add("LET" if re.match(_LETTER, ch) else "NL")
    props.update(("notq",) if ch not in "qQ" else ())
    props.update(("notg",) if ch not in "gG" else ())
    if re.match(f"[{_LOWER_LETTERS}]", ch):
        props.add("LOWER")
    if re.match(f"[{_UPPER_LETTERS}]", ch):
        props.add("UPPER")
    if ch == " " or _CHAR_TABLE.get(ord(ch)) == " ":
        props.add("SP")
    if ord(ch) in _CHAR_TABLE or ch in "Ðð" or _slow_char(ch):
        props.add("SPECIAL")
    return frozenset(props)


@functools.lru_cache(maxsize=None)
def _table_entry(props: frozenset[str]) -> int:
    entry = 0
    for pos in range(4):
        field = 0
        for bit, window in enumerate(_WINDOWS_A + _WINDOWS_B):
            if pos >= len(window) or window[pos] in props:
                field |= 1 << bit
        entry |= field << (16 * pos)
    return entry


def _build_table() -> np.ndarray:
    table = np.full(65536, _table_entry(frozenset(["SPECIAL"])), dtype="<u8")
    for page in _FAST_PAGES:
        for low in range(256):
            table[page << 8 | low] = _table_entry(_char_props(chr(page << 8 | low)))
    return table


_TABLE = _build_table()


def _hits(padded: str) -> tuple[np.ndarray, np.ndarray, int]:
    """(positions in `padded` where a window starts, their window bits, the OR of all bits);
    bits _BIT_ASTRAL when `padded` holds a character outside the BMP (two UTF-16 code units,
    so positions no longer match)."""
    units = np.frombuffer(padded.encode("utf-16-le"), dtype="<u2")
    if len(units) != len(padded):
        return _NO_HITS, _NO_HITS, _BIT_ASTRAL
    fields = _TABLE.take(units).view("<u2")
    # fields[4*i + k] is field k of character i; the windows starting at character i are
    # fields[4i] & fields[4i+5] & fields[4i+10] & fields[4i+15]: two contiguous ANDs
    pairs = fields[:-5] & fields[5:]
    np.bitwise_and(pairs[:-10], pairs[10:], out=pairs[:-10])
    acc = pairs[:-10:4]
    at = acc.nonzero()[0]
    if not len(at):
        return _NO_HITS, _NO_HITS, 0
    found = acc[at]
    return at, found, int(np.bitwise_or.reduce(found))


_NO_HITS = np.zeros(0, dtype=np.intp)


def _where(at: np.ndarray, found: np.ndarray, bits: int) -> list[int]:
    """The positions among `at` whose window bits include one of `bits`."""
    return at[(found & bits) != 0].tolist()


def _glued_may_split(raw: str, upper: int) -> bool:
    """False when split_glued cannot cut the word before raw[upper]: a cut needs a letter that
    is not ASCII among the at most 8 letters of the same word before the capital."""
    seg = raw[max(0, upper - _MAX_SYLLABLE_CHARS):upper]
    k = len(seg)
    while k and seg[k - 1].isalpha():
        k -= 1
    return not seg[k:].isascii()


def _fix_lines(text: str, raw: str, starts: list[int]) -> str:
    """_fix_words on the lines of `text` touched by a window starting at one of `starts`
    (indexes in `raw`, which has the same lines as `text`); the other lines are kept."""
    n = len(raw)
    points = sorted({min(max(s + d, 0), n) for s in starts for d in (0, 3)})
    todo = []
    line = prev = 0
    for x in points:
        line += raw.count("\n", prev, x)
        prev = x
        if not todo or todo[-1] != line:
            todo.append(line)
    lines = text.split("\n")
    for k in todo:
        lines[k] = _fix_words(lines[k])
    return "\n".join(lines)


def _clean_spaces(text: str) -> str:
    if "  " in text:
        text = _SPACE_RUN.sub(" ", text)
    if " \n" in text or "\n " in text:
        text = text.replace(" \n", "\n").replace("\n ", "\n")
    return text.strip(" ")


def _clean_chars(text: str) -> str:
    """Stages 1-4 for any text: character table, NFC, spaces."""
    if _ODD_CHAR.search(text) is not None:
        text = _ODD_CHAR.sub(_replace_odd_char, text)
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    return _clean_spaces(text)


def normalize_text(text: str) -> str:
    """Normalize a decoded document; one output line per input line (split on '\\n').

    See the module docstring for the rules and their order. Idempotent: normalizing twice
    gives the same text as normalizing once.
    """
    if not _SHORT_TEXT <= len(text) <= _LONG_TEXT:
        return _normalize_exact(text)
    return _normalize_fast(text)


_SHORT_TEXT = 64        # below this the fixed cost of the numpy calls outweighs the regexes
_LONG_TEXT = 1 << 22    # above this the fast path's arrays (about 18 bytes a character) get big


def _normalize_exact(text: str) -> str:
    """normalize_text by the general code: stages 1-4, then _fix_words on the whole text."""
    return _fix_words(_clean_chars(text))


def _normalize_fast(text: str) -> str:
    """normalize_text with the fast path (section 5); the same result as _normalize_exact."""
    raw = text
    at, found, bits = _hits("." + raw + "...")     # raw[i] is at i + 1; '.' stands for "no letter"
    if bits & _BIT_ASTRAL:
        return _normalize_exact(text)
    marks = {raw[k - 1] for k in _where(at, found, _BIT_SPECIAL)} if bits & _BIT_SPECIAL else set()
    unmodelled = []
    if not _MARK_CHARS.issuperset(marks):
        # a character outside the fast pages, one that stage 1 deletes or one NFC may change:
        # stages 1-4 by the general code, then the windows of the result; lines that still
        # hold such a character go to _fix_words whatever their windows say
        text = raw = _clean_chars(text)
        at, found, bits = _hits("." + raw + "...")
        special = _where(at, found, _BIT_SPECIAL) if bits & _BIT_SPECIAL else []
        marks = {raw[k - 1] for k in special}
        unmodelled = [k - 1 for k in special if raw[k - 1] not in _MARK_CHARS]
    else:
        for ch in marks:
            # characters replaced one for one (or '…' by '...'): non-letters like their
            # replacements, so the windows found on `raw` hit the same lines
            rep = _CHAR_TABLE.get(ord(ch))
            if rep:
                text = text.replace(ch, rep)
        # stage 4 without the searches: each window says whether its operation has work
        if bits & _BIT_SPSP:
            text = _SPACE_RUN.sub(" ", text)
        if bits & _BIT_SPLF:
            text = text.replace(" \n", "\n")
        if bits & _BIT_LFSP:
            text = text.replace("\n ", "\n")
        text = text.strip(" ")
    starts = unmodelled
    if bits & _BITS_WORDS:
        starts += [k - 1 for k in _where(at, found, _BITS_WORDS)]
    if bits & _BIT_GLUED:
        starts += [k - 1 for k in _where(at, found, _BIT_GLUED) if _glued_may_split(raw, k)]
    if "Ð" in marks or "ð" in marks:
        starts += [k - 1 for k in _where(at, found, _BIT_SPECIAL) if raw[k - 1] in "Ðð"]
    if not starts:
        return text
    return _fix_lines(text, raw, starts)


def normalize_lines(lines: list[str]) -> list[str]:
    """`normalize_text` for a batch of single lines; a line holding '\\n' is joined back with a space."""
    out = []
    for line in lines:
        if "\n" in line:
            line = line.replace("\n", " ")
        out.append(normalize_text(line))
    return out
