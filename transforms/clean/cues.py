"""Cue phrases and the patterns built from them, shared by the cleaning steps.

Cue phrases live in transforms/lexicon/*.txt (one per line, '#' comments); they are read
once at import through transforms.lexicon, the one lexicon loader of transforms/ and
expectations/.
"""
from __future__ import annotations

import re
import unicodedata

from transforms import lexicon
from transforms.chrome import trie_pattern

SHORT_LINE_WORDS = 12                   # cue lookups and recurring-line evidence only for short lines
CUE_LINE_MAX_CHARS = 300                # longer lines are never chrome cues


def load_cues(name: str) -> tuple[str, ...]:
    """The cues of lexicon file `name`, lower-cased (read through transforms.lexicon)."""
    return tuple(c.lower() for c in lexicon.cues(name))


_NON_LETTER = re.compile(r"[\W\d_]+")


def line_key(text: str) -> str:
    """Comparison key of a line: lower case, letters only, single spaces ('- Cùng chuyên mục'
    -> 'cùng chuyên mục', 'Bình luận (12)' -> 'bình luận')."""
    return _NON_LETTER.sub(" ", text.lower()).strip()


def _keys(name: str) -> frozenset[str]:
    return frozenset(k for k in (line_key(c) for c in load_cues(name)) if k)


def fold(text: str) -> str:
    """'có lỗi xảy ra' -> 'co loi xay ra' (C-level NFD + ASCII drop; đ -> d first)."""
    text = text.replace("đ", "d").replace("Đ", "D")
    return unicodedata.normalize("NFD", text).encode("ascii", "ignore").decode("ascii")


RELATED_CUES = _keys("related_cues.txt")
COMMENT_HEADS = _keys("comment_cues.txt")
COMMENT_LABELS = _keys("comment_labels.txt")
SHARE_CUES = _keys("share_cues.txt")
AD_CUES = _keys("ad_cues.txt")
FOLLOW_CUES = tuple(c.replace(" ", "") for c in load_cues("follow_cues.txt"))
ERROR_CUES = tuple(line_key(fold(c)) for c in load_cues("error_cues.txt"))
NAV_NAMES = _keys("navigation.txt")
# leftmost cue, the longest one at that position (as an alternation sorted longest first
# would give), written as a character trie: one comparison per character, not one per cue
FOLLOW_RE = re.compile(trie_pattern(set(FOLLOW_CUES)))
ERROR_RE = re.compile(r"^(?:%s)\b" % "|".join(re.escape(c) for c in sorted(ERROR_CUES, key=len, reverse=True)))
SURNAMES = _keys("surnames.txt")
BYLINE_LABELS = sorted(load_cues("byline_labels.txt"), key=len, reverse=True)
PHOTO_LABELS = sorted(load_cues("photo_labels.txt"), key=len, reverse=True)
TAG_PREFIXES = load_cues("tag_prefixes.txt")


def alternation(words: list[str]) -> str:
    return "|".join(re.escape(w) for w in words)


# "Tags: a, b" / "Từ khóa: ..." / "#a #b"
TAG_PREFIX = re.compile(
    r"^(?:(?:%s)\s?:|#\w)" % alternation([t for t in TAG_PREFIXES if t != "#"]), re.IGNORECASE)
# "Tin ảnh: Mạnh Hùng", "Ảnh: TTXVN", "(Ảnh: Vũ Chi)"
PHOTO_CREDIT_LINE = re.compile(
    r"^\(?\s?(?:%s)\s?:\s?(\S.{0,80})$" % alternation(PHOTO_LABELS), re.IGNORECASE)
# a photo credit at the end of a caption: ". Ảnh: N.N", " - Ảnh: Vũ Chi", "(Nguồn: TTXVN)", ". Ảnh Yonhap News"
CAPTION_CREDIT_END = re.compile(
    r"(?:[.\-–—:]\s?|\s)\(?(?:Ảnh|ẢNH|Nguồn|NGUỒN|Photo|Ảnh minh họa|Ảnh minh hoạ|Ảnh tư liệu|Ảnh chụp màn hình)"
    r"(?:\s?:\s?|\s)[^\s()][^()]{0,60}\)?\.?$|\((?:Ảnh|Nguồn|Photo)\s?:?\s?[^()]{1,60}\)\.?$"
    r"|\(?[Ảả]nh minh h[ọo]ạ?\)?\.?$")
CAPTION_START = re.compile(r"^(?:Ảnh minh h[ọo]ạ?|Ảnh\s?:|Ảnh tư liệu)", re.IGNORECASE)
# "(ĐCSVN) - ", "(GLO)- ", "(Chinhphu.vn) -"
CREDIT_PREFIX = re.compile(r"^\(([^()]{2,40})\)\s?[-–—]\s?")
THEO = re.compile(r"^[Tt]heo\s(?!dõi\b)(\S.*)$")
NGUON = re.compile(r"^[Nn]guồn\s?(?::\s?|\s(?=[A-ZĐ(]))(\S.*)$")
BYLINE_LABEL = re.compile(r"^(?:%s)\s?(?::\s?|$|\s(?=[A-ZĐ]))(.*)$" % alternation(BYLINE_LABELS),
                           re.IGNORECASE)
SPEAKER = re.compile(r"^(?:%s)\s?:" % alternation(BYLINE_LABELS), re.IGNORECASE)
SEGMENT_SPLIT = re.compile(r"\s?[>»|/•·›]\s?|\s[-–—]\s")
TAG_SPLIT = re.compile(r"[,;|]")
INLINE_RELATED = re.compile(
    r"^[-•*>»\s]{0,3}(?:xem thêm|đọc thêm|tin liên quan|bài liên quan|xem tiếp)\s?[:>»]\s?\S", re.IGNORECASE)

CLOSERS = "\"'”’»)]}*"
SENTENCE_END = ".!?…;:"