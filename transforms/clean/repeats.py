"""Repeats inside one article: the title, the lede, a caption or a paragraph printed twice.

Grain: one kept line at a time, in page order. The first copy is kept; a later copy is
reported with its reason (dedup.repeated_title / _lede / _caption / _paragraph) and goes
to `removed` (see article.py). Exact copies are caught by the line key, near copies by
`is_near_repeat` on word sets among the last NEAR_REPEAT_WINDOW kept lines.
"""
from __future__ import annotations

import re
from typing import Callable, NamedTuple

from transforms.clean.cues import line_key
from transforms.headline import repeats_title
from transforms.clean.lines import Line

NEAR_REPEAT_MIN_WORDS = 8               # below this, only exact (normalized) repeats count
NEAR_REPEAT_COVERAGE = 0.8              # share of the first copy's words the repeat must contain
NEAR_REPEAT_ADDED_PER = 20              # the repeat may add 1 new word per this many words (min 1)
NEAR_REPEAT_WINDOW = 3                  # near repeats are looked for among the last N kept lines
MAX_WORDSET_CHARS = 20_000              # longer lines are compared exactly, not by word sets

_PUNCT = ".,;:!?…\"'“”‘’()[]{}«»-–—/|*"
# each of these characters becomes a space before the split (one regex pass: str.translate
# with a dict looks every character of a non-Latin-1 string up in the dict, about 2x slower)
_PUNCT_TO_SPACE = re.compile("[%s]" % re.escape(".,;:!?…\"'“”‘’()[]{}«»-–—/\\|*+=<>#%&@^~`_"))


def word_set(text: str) -> frozenset[str]:
    """Lower-cased words of a line (punctuation split off), for near-repeat tests."""
    return _words_of_low(text[:MAX_WORDSET_CHARS].lower())


def _words_of_low(low: str) -> frozenset[str]:
    """word_set of a line from `low`, its first MAX_WORDSET_CHARS characters lower-cased."""
    return frozenset(_PUNCT_TO_SPACE.sub(" ", low).split())


def is_near_repeat(new: frozenset[str], first: frozenset[str]) -> bool:
    """Near-verbatim repeat test on lower-cased word sets.

    A later line repeats an earlier one when
      * the earlier line has < NEAR_REPEAT_MIN_WORDS (8) distinct words and the sets are equal; or
      * the later line adds at most max(1, |first| // NEAR_REPEAT_ADDED_PER) (1 per 20) words
        the earlier line lacks, AND it contains >= NEAR_REPEAT_COVERAGE (80 %) of the earlier
        line's words.
    So a copy with a few words dropped is a repeat (seed 000 line 23 vs line 5), while a
    paragraph that starts with the lede and goes on with new information is not (it adds
    many words). Word order is ignored; exact copies are caught by the normalized key first.
    """
    if not first or not new:
        return False
    if len(first) < NEAR_REPEAT_MIN_WORDS:
        return new == first
    allowed = max(1, len(first) // NEAR_REPEAT_ADDED_PER)
    if len(new) > len(first) + allowed or len(new) < NEAR_REPEAT_COVERAGE * len(first):
        return False
    added = len(new - first)
    if added > max(1, len(first) // NEAR_REPEAT_ADDED_PER):
        return False
    return len(new & first) >= NEAR_REPEAT_COVERAGE * len(first)


class _Kept(NamedTuple):
    """A kept line, its first MAX_WORDSET_CHARS characters lower-cased (computed once, for the
    probe test of later lines), its word set (a function: computed at first use) and its kind."""
    line: Line
    low: str
    words: Callable[[], frozenset[str]]
    kind: str


class RepeatTracker:
    """The kept lines of one article so far (`_Kept`), to tell whether the next one repeats them."""

    def __init__(self, title: Line | None):
        self.title = title
        self.title_key = line_key(title.s) if title is not None else None
        self._title_words: frozenset[str] | None = None if title is not None else frozenset()
        self._title_low: str | None = None
        self.kept_keys: dict[str, str] = {}
        self.recent: list[_Kept] = []
        self.captions: list[_Kept] = []
        self.lede: _Kept | None = None

    def title_words(self) -> frozenset[str]:
        """Word set of the title, computed at first use (most pages never need it)."""
        if self._title_words is None:
            self._title_words = word_set(self.title.s)
        return self._title_words

    def title_low(self) -> str:
        """The title's first MAX_WORDSET_CHARS characters lower-cased, computed at first use."""
        if self._title_low is None:
            self._title_low = self.title.s[:MAX_WORDSET_CHARS].lower()
        return self._title_low

    def mark_lede(self, ln: Line) -> None:
        """The line just accepted by `check` became the lede (its word set is computed when a
        later line first needs it)."""
        self.lede = self.recent[-1]
        self.kept_keys[next(reversed(self.kept_keys))] = "lede"

    def check(self, ln: Line, kind: str) -> str | None:
        """The dedup reason when `ln` repeats the title or a kept line; else None, and `ln`
        is remembered as kept with `kind`."""
        low = ln.s[:MAX_WORDSET_CHARS].lower()
        # the key: ln.key for a short line, else the lower-cased line up to MAX_WORDSET_CHARS
        # (a longer line, or an empty key, falls back to its first MAX_WORDSET_CHARS)
        k = (ln.key if ln.short else "") or low
        if self.title_key and k == self.title_key:
            return "dedup.repeated_title"
        if self.title is not None and not ln.short and len(ln.s) <= 2 * len(self.title.s) + 10 \
                and repeats_title(self.title.s, ln.s):
            return "dedup.repeated_title"         # a long title again, in another case
        if k in self.kept_keys:
            prev = self.kept_keys[k]
            if kind == "caption":
                return "dedup.repeated_caption"
            return "dedup.repeated_lede" if prev == "lede" else "dedup.repeated_paragraph"
        cache: list[frozenset[str]] = []

        def words() -> frozenset[str]:
            if not cache:
                cache.append(_words_of_low(low))
            return cache[0]

        probes: list[str] = []

        def close(other: Line, other_low: str) -> bool:
            """Cheap necessary condition for a near repeat of `other` (`other_low`: its first
            MAX_WORDSET_CHARS characters lower-cased): similar word counts, and at most the
            allowed number of added words among up to 8 probe words of this line (a probe
            that is not even a substring of `other` is a word `other` lacks)."""
            if not 0.5 * other.words - 3 <= ln.words <= 1.6 * other.words + 3:
                return False
            if not probes:
                toks = low.split()
                step = max(1, len(toks) // 8)
                probes.extend(t.strip(_PUNCT) or t for t in toks[::step][:8])
            allowed = max(1, other.words // NEAR_REPEAT_ADDED_PER)
            missing = 0
            for pr in probes:                     # stops at the first probe over the allowance
                if pr not in other_low:
                    missing += 1
                    if missing > allowed:
                        return False
            return True

        if self.title is not None and not ln.prose and close(self.title, self.title_low()) \
                and is_near_repeat(words(), self.title_words()):
            return "dedup.repeated_title"
        if self.lede is not None and close(self.lede.line, self.lede.low) \
                and is_near_repeat(words(), self.lede.words()):
            return "dedup.repeated_lede"
        if kind == "caption":
            for other in self.captions[-NEAR_REPEAT_WINDOW:]:
                if close(other.line, other.low) and is_near_repeat(words(), other.words()):
                    return "dedup.repeated_caption"
        for other in self.recent[-NEAR_REPEAT_WINDOW:]:
            if other.kind == kind and close(other.line, other.low) and is_near_repeat(words(), other.words()):
                return "dedup.repeated_caption" if kind == "caption" else "dedup.repeated_paragraph"
        self.kept_keys[k] = kind
        kept = _Kept(ln, low, words, kind)
        self.recent.append(kept)
        if kind == "caption":
            self.captions.append(kept)
        return None
