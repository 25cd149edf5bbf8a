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

Speed: whole-text fast paths (``is_normalized``, one ``search`` per rule family) skip the
work that is not needed, and word results are cached (word -> normalized word).
"""
from __future__ import annotations

import re
import unicodedata

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


def split_glued(word: str) -> str:
    """'trênGoogle' -> 'trên Google'; 'iPhone', 'YouTube', 'VinFast' unchanged.

    Splits before a capital letter when the letters before it form one Vietnamese syllable
    that carries a diacritic and is lower case after its first letter.
    """
    out = []
    start = 0
    for m in _LOWER_UPPER.finditer(word):
        cut = m.end()
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
_SPACE_RUN = re.compile(" {2,}")


def _in_word(c: str) -> bool:
    # Combining marks left over after NFC (ì + U+0300) belong to the word, so that the word
    # is seen whole and left alone rather than half-rewritten.
    return c.isalpha() or unicodedata.combining(c) != 0


def _fix_words(text: str) -> str:
    """Rewrite only the words (letter runs) that hold a candidate match; other text is untouched."""
    spans = set()
    for rx in _CANDIDATES:
        for m in rx.finditer(text):
            start = m.start()
            end = m.end()
            while start > 0 and _in_word(text[start - 1]):
                start -= 1
            while end < len(text) and _in_word(text[end]):
                end += 1
            if not _in_url(text, start, end):
                spans.add((start, end))
    if not spans:
        return text
    out = []
    pos = 0
    for start, end in sorted(spans):
        if start < pos:          # overlapping spans are the same word
            continue
        out.append(text[pos:start])
        out.append(_fix_letters(text[start:end]))
        pos = end
    out.append(text[pos:])
    return "".join(out)


def _in_url(text: str, start: int, end: int) -> bool:
    """True when the space-delimited token around text[start:end] is a URL or an e-mail address."""
    left = max(text.rfind(" ", 0, start), text.rfind("\n", 0, start)) + 1
    right = min(i for i in (text.find(" ", end), text.find("\n", end), len(text)) if i >= 0)
    token = text[left:right]
    return "://" in token or "www." in token or "@" in token


def _fix_letters(word: str) -> str:
    if _LOWER_UPPER.search(word):
        parts = split_glued(word).split(" ")
        if len(parts) > 1:
            return " ".join(normalize_word(p) for p in parts)
    return normalize_word(word)


def normalize_text(text: str) -> str:
    """Normalize a decoded document; one output line per input line (split on '\\n').

    See the module docstring for the rules and their order. Idempotent: normalizing twice
    gives the same text as normalizing once.
    """
    if _ODD_CHAR.search(text) is not None:
        text = _ODD_CHAR.sub(_replace_odd_char, text)
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    if "  " in text:
        text = _SPACE_RUN.sub(" ", text)
    if " \n" in text or "\n " in text:
        text = text.replace(" \n", "\n").replace("\n ", "\n")
    text = text.strip(" ")
    return _fix_words(text)


def normalize_lines(lines: list[str]) -> list[str]:
    """`normalize_text` for a batch of single lines; a line holding '\\n' is joined back with a space."""
    out = []
    for line in lines:
        if "\n" in line:
            line = line.replace("\n", " ")
        out.append(normalize_text(line))
    return out
