"""Word segmentation with underthesea, for `paragraphs.tokens`.

One list of words per input text, in order; a word keeps underthesea's form (syllables joined
by a space: 'Việt Nam'). Empty or whitespace-only text gives []. No text is dropped.

The words are those of underthesea.word_tokenize, computed for the whole batch at once by
`transforms.segment_crf` (the installed underthesea model, read at first use; interned
syllables, numpy emission sums, one vectorized Viterbi), which is many times faster and equal
token for token. A text with characters outside that module's safe set goes to
word_tokenize itself; if the installed model is not a supported one, one warning line is
logged and every text goes to word_tokenize (`segmenter_backend()` then says "underthesea").
A paragraph longer than `MAX_CHUNK_CHARS` is cut at sentence ends (then at spaces) before
tagging, so one runaway line cannot stall a worker; the tokens of the pieces are concatenated.
"""
from __future__ import annotations

import re

__all__ = ["segment_words", "segmenter_backend", "MAX_CHUNK_CHARS"]

MAX_CHUNK_CHARS = 20_000
_SENTENCE_END = re.compile(r"(?<=[.!?…;])\s+")

_word_tokenize = None


def _tokenizer():
    global _word_tokenize
    if _word_tokenize is None:
        from underthesea import word_tokenize  # heavy import: once per process, on first use

        _word_tokenize = word_tokenize
    return _word_tokenize


def _chunks(text: str, limit: int) -> list[str]:
    if len(text) <= limit:
        return [text]
    out: list[str] = []
    current = ""
    for sentence in _SENTENCE_END.split(text):
        if not sentence:
            continue
        while len(sentence) > limit:          # a "sentence" without an end: cut at a space
            cut = sentence.rfind(" ", 0, limit)
            cut = cut if cut > 0 else limit
            out.append(sentence[:cut])
            sentence = sentence[cut:].lstrip()
        if current and len(current) + 1 + len(sentence) > limit:
            out.append(current)
            current = sentence
        else:
            current = f"{current} {sentence}" if current else sentence
    if current:
        out.append(current)
    return out


def segmenter_backend() -> str:
    """'crf-numpy' when the batch segmenter serves the installed model, else 'underthesea'."""
    from transforms.segment_crf import load_segmenter

    return "crf-numpy" if load_segmenter() is not None else "underthesea"


def segment_words(texts: list[str]) -> list[list[str]]:
    """underthesea.word_tokenize per text; [] for empty text. Same length and order as `texts`."""
    from transforms.segment_crf import load_segmenter

    pieces: list[str] = []
    owner: list[int] = []
    for n, text in enumerate(texts):
        if not text or text.isspace():
            continue
        for chunk in _chunks(text, MAX_CHUNK_CHARS):
            pieces.append(chunk)
            owner.append(n)
    segmenter = load_segmenter()
    if segmenter is not None:
        words_of = segmenter.segment(pieces)
    else:
        tokenize = _tokenizer()
        words_of = [tokenize(p) for p in pieces]
    out: list[list[str]] = [[] for _ in texts]
    for n, words in zip(owner, words_of):
        if out[n]:
            out[n].extend(words)            # a later piece of a cut paragraph
        else:
            out[n] = words
    return out
