"""Offline language identification for paragraphs and articles (feature first, decision second).

underthesea's `lang_detect` downloads a model, so it cannot be used here. Instead:

**Script.** Letters are counted by script. When more than half of them belong to one non-Latin
script, that script names the language: Han -> 'zh' (with kana -> 'ja'), Hangul -> 'ko',
Cyrillic -> 'ru', Thai -> 'th', Lao -> 'lo', Khmer -> 'km', Arabic -> 'ar', Greek -> 'el',
Devanagari -> 'hi'. Han and kana count together; at least 10% kana makes it 'ja'. The score is that script's share of the letters.

**Vietnamese score** for Latin text, in [0, 1]:

    score = a * (0.5 + 0.5 * b),   a = min(1, r / R),   b = min(1, d / D)

- r: share of letters that only Vietnamese writing uses (ă â đ ê ô ơ ư and the 5 tones),
  `features.vi_letter_ratio`;
- d: share of words that are one of ~70 frequent Vietnamese function words,
  `features.function_word_density` (the stopword-density idea of jusText, Pomikálek 2011).
- R = 0.20 and D = 0.15 sit just below the 5th percentiles measured on 3,000 articles of the
  baomoi-2017 corpus (r: 0.23, d: 0.15), so ordinary Vietnamese prose scores 1.0. Articles made
  mostly of product names (car rankings) still score about 0.5; English scores < 0.05 (about
  0.15 when it names Vietnamese people) and
  French (é è à ê are shared letters) under 0.1. Letters weigh more than function words
  (a = 0 gives 0) because Vietnamese typed without diacritics shares the function words
  ('ra', 'sau', 'cho') but is not the text this corpus wants; a short caption with no
  function word ('Ảnh minh họa.') still gets 0.5.

**What is not a name.** Sports and listing pages are dense with foreign names, score lines and
tables ('DAVID DE GEA | MU | 9 trận', 'Juventus: Buffon; Chiellini (Benatia 85')'): the names
dilute both features and such pages scored 0.20-0.30 on the whole text; the other way round,
Vietnamese names lift English text ('Nguyễn Xuân Phúc met ...' scores 0.25) and the á é í ý of
Czech or Hungarian lift those languages to 0.25-0.34. `content_score` therefore scores only the
words that are not names - words written all in lower case (a capitalized or all-caps word,
'iPhone', digits and score lines drop out; so do tokens holding '/', '@' or '=', the URLs and
slugs of page chrome) - with the same formula, except that a Vietnamese-specific letter counts
only inside a word that spells one Vietnamese syllable (`normalize.is_syllable`), so 'déclaré',
'não', 'návštěvu' add nothing. It is computed per paragraph (split on '\n') and averaged,
weighted by each paragraph's lower-case letters, so a Vietnamese lede outweighs a short English
quote and the reverse.

The article's score is the whole-text score when that is 1 (no foreign text reaches it: 20% of
its letters would have to be Vietnamese-specific and 15% of its words Vietnamese function
words); otherwise the content score, when its letters reach `MIN_CONTENT_LETTERS` (30);
otherwise the whole-text score. So the content score is computed for about 4% of the corpus
(1,348 of 35,385 articles) and the common case costs nothing more. Measured on baomoi-2017:
the 8 sports pages rejected before score 0.69-1.0; no article whose whole-text score is below 1
scores under 0.45 on content; short English, French, Spanish, Portuguese, Italian, Czech,
Hungarian, Polish, Turkish and Indonesian news paragraphs score 0.00-0.07.

`is_vietnamese` compares the score with `VI_THRESHOLD` (0.3). Below it, a Latin text is labelled
'en', 'fr', 'de', 'es' or 'id' when that language's own function words cover at least 15% of
the words, else 'und'.

**No diacritics.** Vietnamese typed without diacritics ('Co loi xay ra') scores low on both
features. `looks_unaccented_line` flags such lines (extending
`features.looks_like_unaccented_vietnamese` with a syllable-shape test) so the cleaning step can drop them as
`language.no_diacritics`; an article made only of such lines gets `is_vietnamese == False`.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import numpy as np

from transforms.features import (
    VI_FUNCTION_WORDS,
    VI_SPECIFIC,
    ascii_function_word_density,
    looks_like_unaccented_vietnamese,
)
from transforms.normalize import is_syllable

__all__ = ["detect_language", "is_vietnamese", "vietnamese_score", "content_score", "looks_unaccented",
           "looks_unaccented_line", "VI_THRESHOLD", "MIN_CONTENT_LETTERS"]

VI_THRESHOLD = 0.3
R_FULL = 0.20      # vi-specific letter share that counts as fully Vietnamese
D_FULL = 0.15      # function-word density that counts as fully Vietnamese
MAX_CHARS = 5_000    # longer texts are scored on their first MAX_CHARS characters (stable by then)
MIN_CONTENT_LETTERS = 30   # lower-case letters below which content_score does not count

_OTHER_FUNCTION_WORDS = {
    "en": frozenset("the of and to in is that for it was on with as are be by this at from his "
                    "have an or not but they which you has had were their will we".split()),
    "fr": frozenset("le la les de des du et est un une en que qui dans pour pas sur au avec il "
                    "elle ne se par sont ce plus".split()),
    "de": frozenset("der die das und ist nicht ein eine zu den mit von sich des auf für im dem "
                    "sie es ich auch".split()),
    "es": frozenset("el la los las de del y que en un una es por con para no se lo al como más".split()),
    "id": frozenset("yang dan di ini itu dengan untuk dari tidak akan pada adalah dalam ke ada juga".split()),
}
_SCRIPT_LANG = (
    ("HANGUL", "ko"), ("HIRAGANA", "ja"), ("KATAKANA", "ja"), ("CJK", "zh"), ("CYRILLIC", "ru"),
    ("THAI", "th"), ("LAO", "lo"), ("KHMER", "km"), ("ARABIC", "ar"), ("GREEK", "el"),
    ("DEVANAGARI", "hi"),
)
_WORD = re.compile(r"[^\W\d_]+")
# Code point tables for the BMP below U+2000 (Latin, Greek, Cyrillic, ... and Latin Extended
# Additional at U+1E00-1EFF): counting letters with numpy instead of a per-character loop.
_TABLE_SIZE = 0x2000
_IS_LETTER = np.array([chr(i).isalpha() for i in range(_TABLE_SIZE)], dtype=bool)
_IS_VI = np.zeros(_TABLE_SIZE, dtype=bool)
_IS_VI[[ord(c) for c in VI_SPECIFIC]] = True


def _code_points(text: str) -> tuple[int, int, np.ndarray]:
    """(letters, Vietnamese-specific letters, the code points) of a text."""
    cps = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4")
    low = cps[cps < _TABLE_SIZE]
    letters = int(_IS_LETTER[low].sum())
    if len(low) != len(cps):
        letters += sum(1 for c in cps[cps >= _TABLE_SIZE].tolist() if chr(c).isalpha())
    return letters, int(_IS_VI[low].sum()), cps


# letters outside Latin, Latin-1 Supplement, Latin Extended-A/B, IPA and Latin Extended Additional
_NON_LATIN_LETTER = re.compile(r"[^\W\d_\u0000-\u02af\u1e00-\u1eff]")
_IS_NON_LATIN_LETTER = np.array([bool(_NON_LATIN_LETTER.match(chr(i))) for i in range(_TABLE_SIZE)], dtype=bool)


def _non_latin_letters(cps: np.ndarray) -> list[str]:
    """The characters _NON_LATIN_LETTER finds, in order (numpy below U+2000, the regex above)."""
    cand = cps[(cps > 0x2AF) & ((cps < 0x1E00) | (cps > 0x1EFF))]
    if not cand.size:
        return []
    low = cand < _TABLE_SIZE
    keep = np.zeros(cand.size, dtype=bool)
    keep[low] = _IS_NON_LATIN_LETTER[cand[low]]
    if not low.all():
        high = np.flatnonzero(~low)
        keep[high] = [bool(_NON_LATIN_LETTER.match(chr(c))) for c in cand[high].tolist()]
    return [chr(c) for c in cand[keep].tolist()]


_BMP_BITS: np.ndarray | None = None     # per BMP code point: 1 letter, 2 Vietnamese-specific, 4 non-Latin letter


def _bmp_bits() -> np.ndarray:
    """The _BMP_BITS table, built at first use (the same tests as _code_points and
    _non_latin_letters, for every BMP code point)."""
    global _BMP_BITS
    if _BMP_BITS is None:
        chars = [chr(i) for i in range(0x10000)]
        cp = np.arange(0x10000)
        letter = np.fromiter(map(str.isalpha, chars), dtype=bool, count=0x10000)
        # _NON_LATIN_LETTER: a word character ([^\W\d_]: alphanumeric, not a decimal digit)
        # outside U+0000-02AF and U+1E00-1EFF
        word = np.fromiter(map(str.isalnum, chars), dtype=bool, count=0x10000) & \
            ~np.fromiter(map(str.isdecimal, chars), dtype=bool, count=0x10000)
        non_latin = word & (cp > 0x2AF) & ((cp < 0x1E00) | (cp > 0x1EFF))
        bits = letter.astype(np.uint8) | (non_latin.astype(np.uint8) << 2)
        bits[[ord(c) for c in VI_SPECIFIC]] |= 2
        _BMP_BITS = bits
    return _BMP_BITS


def _letter_profile(sample: str) -> tuple[int, int, np.ndarray, bool]:
    """(letters, Vietnamese-specific letters, code points, whether _non_latin_letters finds any)
    with one table lookup and one bincount; text outside the BMP goes the per-part way."""
    cps = np.frombuffer(sample.encode("utf-32-le", "surrogatepass"), dtype="<u4")
    if cps.size and int(cps.max()) > 0xFFFF:
        letters, vi, cps = _code_points(sample)
        return letters, vi, cps, True
    counts = np.bincount(_bmp_bits()[cps], minlength=8)
    return int(counts[1::2].sum()), int(counts[2:4].sum() + counts[6:8].sum()), cps, bool(counts[4:].sum())


def _script(c: str) -> str:
    if c < "\u0250":
        return "LATIN"
    if "\u1e00" <= c <= "\u1eff":
        return "LATIN"
    name = unicodedata.name(c, "")
    for script, _ in _SCRIPT_LANG:
        if name.startswith(script):
            return script
    return "LATIN" if name.startswith("LATIN") else "OTHER"


def vietnamese_score(text: str) -> float:
    """a * (0.5 + 0.5 * b) with a = min(1, r/R_FULL), b = min(1, d/D_FULL); see the module docstring."""
    text = unicodedata.normalize("NFC", text[:MAX_CHARS])
    letters, vi, _ = _code_points(text)
    return _score(text, letters, vi)


def _score(nfc: str, letters: int, vi: int) -> float:
    if not letters:
        return 0.0
    words = _WORD.findall(nfc.lower())
    d = sum(map(VI_FUNCTION_WORDS.__contains__, words)) / len(words)
    a = min(1.0, vi / letters / R_FULL)
    b = min(1.0, d / D_FULL)
    return a * (0.5 + 0.5 * b)


@lru_cache(maxsize=1 << 16)
def _syllable_vi_letters(word: str) -> int:
    """Vietnamese-specific letters of a lower-case word that spells one Vietnamese syllable, else 0."""
    n = sum(map(VI_SPECIFIC.__contains__, word))
    return n if n and is_syllable(word) else 0


def content_score(text: str) -> tuple[float, int]:
    """(score, letters) of the words that are not names, per paragraph; see the module docstring.

    Words are runs of letters in whitespace tokens without '/', '@' or '='; only those written
    all in lower case count. Each paragraph (a line of `text`) gets a * (0.5 + 0.5 * b) as in
    `vietnamese_score`, with r counted on letters inside Vietnamese syllables; the result is
    the mean over paragraphs weighted by their lower-case letters, which are returned too
    (0 when there are none).
    """
    nfc = unicodedata.normalize("NFC", text[:MAX_CHARS])
    total = 0
    acc = 0.0
    for para in nfc.split("\n"):
        if "/" in para or "@" in para or "=" in para:
            para = " ".join(t for t in para.split() if "/" not in t and "@" not in t and "=" not in t)
        words = [w for w in _WORD.findall(para) if w.islower()]
        if not words:
            continue
        letters = sum(map(len, words))
        vi = sum(map(_syllable_vi_letters, words))
        d = sum(map(VI_FUNCTION_WORDS.__contains__, words)) / len(words)
        a = min(1.0, vi / letters / R_FULL)
        b = min(1.0, d / D_FULL)
        acc += a * (0.5 + 0.5 * b) * letters
        total += letters
    return (acc / total if total else 0.0), total


def _decide_score(sample: str, whole: float) -> float:
    """The whole-text score when it is 1, else the content score when it has enough letters."""
    if whole >= 1.0:
        return whole
    content, letters = content_score(sample)
    return content if letters >= MIN_CONTENT_LETTERS else whole


def detect_language(text: str) -> tuple[str, float]:
    """('vi', score) for Vietnamese, else another ISO 639-1 code or 'und', with its score.

    For Latin text the score is vietnamese_score when that is 1, else content_score when it has
    MIN_CONTENT_LETTERS, else vietnamese_score; 'vi' when it reaches VI_THRESHOLD.
    """
    sample = text[:MAX_CHARS]
    letters, vi, cps, non_latin = _letter_profile(sample)
    if not letters:
        return "und", 0.0
    other = _non_latin_letters(cps) if non_latin else []
    counts: dict[str, int] = {"LATIN": letters - len(other)}
    for c in other:                       # per character only for the (rare) non-Latin letters
        s = _script(c)
        counts[s] = counts.get(s, 0) + 1
    kana = counts.pop("HIRAGANA", 0) + counts.pop("KATAKANA", 0)
    if kana or "CJK" in counts:
        han = counts.pop("CJK", 0)
        counts["CJK"] = han + kana
    script, n = max(counts.items(), key=lambda kv: kv[1])
    if script not in ("LATIN", "OTHER") and n * 2 > letters:
        share = n / letters
        if script == "CJK":
            return ("ja" if kana * 10 >= n else "zh"), share
        return dict(_SCRIPT_LANG)[script], share
    # the counts above are those of the NFC text when the sample is NFC already (the usual
    # case: the pipeline normalized it), so the score counts again only otherwise
    if unicodedata.is_normalized("NFC", sample):
        score = _score(sample, letters, vi)
    else:
        score = vietnamese_score(sample)
    score = _decide_score(sample, score)
    if score >= VI_THRESHOLD:
        return "vi", score
    words = _WORD.findall(sample.lower())
    best, best_d = "und", 0.0
    for lang, vocab in _OTHER_FUNCTION_WORDS.items():
        d = sum(w in vocab for w in words) / max(len(words), 1)
        if d > best_d:
            best, best_d = lang, d
    if best_d >= 0.15:
        return best, min(1.0, best_d / 0.3)
    return ("vi", score) if looks_unaccented(sample) else ("und", score)


def is_vietnamese(text: str, threshold: float = VI_THRESHOLD) -> bool:
    """True when the Vietnamese score of a Latin-script text reaches `threshold`."""
    lang, score = detect_language(text)
    return lang == "vi" and score >= threshold


def looks_unaccented(text: str) -> bool:
    """True for Vietnamese written without diacritics ('Co loi xay ra, vui long thu lai')."""
    lines = [line for line in text.split("\n") if line.strip()]
    if not lines:
        return False
    flagged = sum(looks_unaccented_line(line) for line in lines)
    return flagged * 2 > len(lines)


def looks_unaccented_line(line: str) -> bool:
    """One line of Vietnamese without diacritics.

    `features.looks_like_unaccented_vietnamese` (half the words are function words), or: no
    Vietnamese-specific letter, at least 3 words, at least 80% of them spell a toneless
    Vietnamese syllable ('ban can dang nhap de binh luan'; English fails: 'quick', 'brown')
    and at least 20% are function words.
    """
    if looks_like_unaccented_vietnamese(line):
        return True
    if any(c in VI_SPECIFIC for c in line):
        return False
    words = _WORD.findall(line)
    if len(words) < 3 or not all(w.isascii() for w in words):
        return False
    syllables = sum(is_syllable(w) for w in words)
    return syllables >= 0.8 * len(words) and ascii_function_word_density(line) >= 0.2
