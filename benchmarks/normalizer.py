"""Benchmark of transforms.normalize against underthesea.text_normalize (the oracle for spelling).

`perturb(text, seed)` builds a deterministic, degraded copy of a text: ~30% of the words that
carry a movable tone mark are rewritten into the other placement convention (hòa -> hoà,
thủy -> thuỷ, khỏe -> khoẻ), ~1% of the toned words get a Telex/VNI typing error (tone on the
wrong vowel: bảo -> baỏ, hoàn -> hòan; tone on ư of ươ: lượng -> lựơng), ~2% of the Đ become
the look-alike Ð, ~10% of the lines are decomposed to NFD, ~2% of the spaces become NBSP and
~1% get a zero-width space beside them.

`compare(texts)` returns
- normalizer_mb_s / text_normalize_mb_s / normalizer_speedup: UTF-8 MB per second of
  `normalize_text` on whole documents vs `text_normalize` on their lines;
- word_agreement_original / word_agreement_perturbed: share of tokens (underthesea's regex
  tokenizer, the same tokens for both sides) where our `normalize_word` equals
  underthesea's `text_normalize`. For the perturbed copy the Unicode-level damage (NFD,
  NBSP, zero-width spaces) is undone first for both sides, since text_normalize does not
  handle it and it is not a spelling question;
- roundtrip_rate: share of words of `normalize_text(perturb(t))` equal to the words of
  `normalize_text(t)`, line by line;
- disagreements: one entry per (ours, theirs) pair with its count and why ours is kept.

Nothing here is imported by the pipeline; `make bench` calls `compare` on a sample.
"""
from __future__ import annotations

import random
import time
import unicodedata
from collections import Counter

from transforms.normalize import _COMPOSE, _TONED, _parse, normalize_text, normalize_word

__all__ = ["perturb", "compare"]

_HAT = frozenset("ăâêôơư")


def _split_tone(word: str) -> tuple[str, int, int] | None:
    """lower-case word -> (tone-free base, tone, index of the toned letter), None if no tone."""
    bases, tone, at = [], 0, -1
    for i, ch in enumerate(word):
        b, t = _TONED.get(ch, (ch, 0))
        if t:
            if tone:
                return None
            tone, at = t, i
        bases.append(b)
    return ("".join(bases), tone, at) if tone else None


def _retone(word: str, base: str, tone: int, at: int) -> str:
    """Put `tone` on base[at], keeping the case pattern of `word` (same length)."""
    chars = list(base)
    chars[at] = _COMPOSE[(chars[at], tone)]
    out = "".join(chars)
    return "".join(o.upper() if w.isupper() else o for w, o in zip(word, out))


def _other_convention(word: str) -> str | None:
    """hòa -> hoà, thủy -> thuỷ, khỏe -> khoẻ; None when the word has no movable tone."""
    split = _split_tone(word.lower())
    if split is None:
        return None
    base, tone, at = split
    parsed = _parse(base)
    if parsed is None:
        return None
    onset, vowels, coda = parsed
    if coda or vowels not in ("oa", "oe", "uy") or onset in ("qu", "gi"):
        return None
    if at != len(onset):          # not in our convention to begin with
        return None
    return _retone(word, base, tone, at + 1)


def _typing_error(word: str, rng: random.Random) -> str | None:
    """Move the tone to another vowel of the cluster: bảo -> baỏ, lượng -> lựơng."""
    split = _split_tone(word.lower())
    if split is None:
        return None
    base, tone, at = split
    parsed = _parse(base)
    if parsed is None:
        return None
    onset, vowels, coda = parsed
    if len(vowels) < 2:
        return None
    start = len(base) - len(coda) - len(vowels)
    others = [start + i for i in range(len(vowels)) if start + i != at]
    return _retone(word, base, tone, rng.choice(others))


def perturb(text: str, seed: int) -> str:
    """Deterministic degraded copy of `text` (see the module docstring); same line count."""
    rng = random.Random(seed)
    out_lines = []
    for line in text.split("\n"):
        words = line.split(" ")
        for i, token in enumerate(words):
            core_start = 0
            while core_start < len(token) and not token[core_start].isalpha():
                core_start += 1
            core_end = core_start
            while core_end < len(token) and token[core_end].isalpha():
                core_end += 1
            core = token[core_start:core_end]
            if not core:
                continue
            new = None
            other = _other_convention(core)
            if other is not None and rng.random() < 0.30:
                new = other
            elif rng.random() < 0.01:
                new = _typing_error(core, rng)
            if "Đ" in core and rng.random() < 0.02:
                new = (new or core).replace("Đ", "\u00d0")
            if new is not None:
                words[i] = token[:core_start] + new + token[core_end:]
        pieces = []
        for i, w in enumerate(words):
            if i:
                r = rng.random()
                pieces.append("\u00a0" if r < 0.02 else " \u200b" if r < 0.03 else " ")
            pieces.append(w)
        line = "".join(pieces)
        if rng.random() < 0.10:
            line = unicodedata.normalize("NFD", line)
        out_lines.append(line)
    return "\n".join(out_lines)


def _unicode_cleanup(line: str) -> str:
    line = unicodedata.normalize("NFC", line.replace("\u200b", "").replace("\u00a0", " "))
    return " ".join(line.split())


def _base(word: str) -> str:
    return "".join(_TONED.get(c, (c, 0))[0] for c in word.lower())


def _why(token: str, ours: str, theirs: str) -> str:
    if len(token) > 6 and theirs == token:
        return "underthesea leaves tokens longer than 6 characters untouched; ours applies the same rule to every syllable"
    if not unicodedata.is_normalized("NFC", theirs) or any(unicodedata.combining(c) for c in unicodedata.normalize("NFC", theirs)):
        return "underthesea's table entry holds a stray combining mark (two tone marks); ours gives the plain syllable"
    if _base(theirs) in ("qui",) and _base(ours) == "quy":
        return "ours extends underthesea's qui -> quy to the toned forms (quí -> quý)"
    split = _split_tone(theirs.lower())
    if split is not None:
        base, tone, at = split
        parsed = _parse(base)
        if parsed is not None and parsed[1] in ("oa", "oe", "uy") and not parsed[2] and at == len(parsed[0]) + 1:
            return ("underthesea is inconsistent: its table keeps the tone on the second vowel here "
                    "(loà) but moves it elsewhere (xoà -> xòa); ours uses one rule for all")
    if theirs == token and _base(theirs) == _base(ours):
        return ("a typing error (tone on the wrong vowel of the cluster) that underthesea's table "
                "does not list; ours re-places the tone by rule and the result is a valid syllable")
    if theirs == token:
        return "underthesea's table has no entry for this form; ours repairs it by the placement rule"
    return "other"


def compare(texts: list[str], seed: int = 13) -> dict:
    """Speed, word agreement with underthesea and round-trip rate on `texts` (see module docstring)."""
    from underthesea import text_normalize
    from underthesea.pipeline.word_tokenize.regex_tokenize import tokenize

    n_bytes = sum(len(t.encode("utf-8")) for t in texts)
    t0 = time.perf_counter()
    ours_docs = [normalize_text(t) for t in texts]
    ours_s = time.perf_counter() - t0

    lines = [line for t in texts for line in t.split("\n") if line.strip()]
    t0 = time.perf_counter()
    theirs_lines = [text_normalize(line) for line in lines]
    theirs_s = time.perf_counter() - t0

    disagreements: Counter = Counter()
    tokens_for_why: dict = {}

    def agreement(line_pairs) -> float:
        same = total = 0
        for line, theirs_line in line_pairs:
            tokens = tokenize(line)
            theirs = theirs_line.split(" ")
            if len(theirs) != len(tokens):
                continue
            for tok, th in zip(tokens, theirs):
                ours = normalize_word(tok)
                total += 1
                if ours == th:
                    same += 1
                else:
                    disagreements[(ours, th)] += 1
                    tokens_for_why[(ours, th)] = tok
        return same / max(total, 1)

    word_agreement_original = agreement(zip(lines, theirs_lines))

    perturbed = [perturb(t, seed + i) for i, t in enumerate(texts)]
    p_lines = [_unicode_cleanup(line) for t in perturbed for line in t.split("\n")]
    p_lines = [line for line in p_lines if line]
    word_agreement_perturbed = agreement((line, text_normalize(line)) for line in p_lines)

    same = total = 0
    for orig, pert in zip(ours_docs, (normalize_text(p) for p in perturbed)):
        for a, b in zip(orig.split("\n"), pert.split("\n")):
            wa, wb = a.split(" "), b.split(" ")
            total += len(wa)
            if len(wa) == len(wb):
                same += sum(x == y for x, y in zip(wa, wb))

    mb = n_bytes / 1e6
    return {
        "documents": len(texts),
        "megabytes": round(mb, 2),
        "normalizer_mb_s": round(mb / ours_s, 1),
        "text_normalize_mb_s": round(mb / theirs_s, 2),
        "normalizer_speedup": round(theirs_s / ours_s, 1),
        "word_agreement_original": round(word_agreement_original, 5),
        "word_agreement_perturbed": round(word_agreement_perturbed, 5),
        "roundtrip_rate": round(same / max(total, 1), 5),
        "disagreements": [
            {"ours": o, "theirs": t, "count": c, "why": _why(tokens_for_why[(o, t)], o, t)}
            for (o, t), c in disagreements.most_common()
        ],
    }
