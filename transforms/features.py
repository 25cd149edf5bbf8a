"""Cheap line features shared by the cleaning and language steps (feature first, decision second)."""
from __future__ import annotations

import re
import unicodedata

# Letters that only Vietnamese writing uses (precomposed, NFC), lower case.
_VI_BASE = "ăâđêôơư"
_TONED = "àáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ"
VI_SPECIFIC = frozenset(_VI_BASE + _TONED + (_VI_BASE + _TONED).upper())

# Frequent Vietnamese function words (jusText-style stopword density). Written with
# diacritics; the no-diacritics check uses the ASCII-folded list below.
VI_FUNCTION_WORDS = frozenset("""
và của là có được cho các những với trong không này đã đến người một để theo về khi
từ tại cũng như sẽ ra vào thì mà đó nhiều năm hơn lại nên nhưng vì bị do nếu sau
trên đang rất việc cùng chỉ hai còn đều ông bà họ chúng tôi nước ngày đây điều
""".split())

_ASCII_FUNCTION_WORDS = frozenset("""
va cua la co duoc cho cac nhung voi trong khong nay da den nguoi mot de theo ve khi
tu tai cung nhu se ra vao thi ma do nhieu nam hon lai nen nhung vi bi neu sau tren
dang rat viec chi hai con deu ong ba ho chung toi nuoc ngay day dieu xay loi
""".split())

_WORD = re.compile(r"\w+", re.UNICODE)


def fold_diacritics(text: str) -> str:
    """'Có lỗi xảy ra' -> 'Co loi xay ra' (đ -> d)."""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def vi_letter_ratio(text: str) -> float:
    """Share of letters that are Vietnamese-specific (ă â đ ê ô ơ ư or tone-marked)."""
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return 0.0
    return sum(c in VI_SPECIFIC for c in letters) / len(letters)


def function_word_density(text: str) -> float:
    """Share of words that are Vietnamese function words (with diacritics)."""
    words = _WORD.findall(text.lower())
    if not words:
        return 0.0
    return sum(w in VI_FUNCTION_WORDS for w in words) / len(words)


def ascii_function_word_density(text: str) -> float:
    """Share of words that are Vietnamese function words written without diacritics."""
    words = _WORD.findall(text.lower())
    if not words:
        return 0.0
    return sum(w in _ASCII_FUNCTION_WORDS for w in words) / len(words)


def looks_like_unaccented_vietnamese(line: str) -> bool:
    """True for 'Co loi xay ra': ASCII-only letters, yet made of Vietnamese function words."""
    if any(c in VI_SPECIFIC for c in line):
        return False
    words = _WORD.findall(line)
    if len(words) < 2 or not all(w.isascii() for w in words):
        return False
    return ascii_function_word_density(line) >= 0.5
