"""Word segmentation with underthesea, for `paragraphs.tokens`.

One list of words per input text, in order; a word keeps underthesea's form (syllables joined
by a space: 'Việt Nam'). Empty or whitespace-only text gives []. No text is dropped.

underthesea's CRF tagger is the most expensive step of the pipeline (about 64 articles/s per
core); the flow runs batches in worker processes, each importing underthesea once. A paragraph
longer than `MAX_CHUNK_CHARS` is cut at sentence ends (then at spaces) before tagging, so one
runaway line cannot stall a worker; the tokens of the pieces are concatenated.
"""
from __future__ import annotations

import re

__all__ = ["segment_words", "MAX_CHUNK_CHARS"]

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


def segment_words(texts: list[str]) -> list[list[str]]:
    """underthesea.word_tokenize per text; [] for empty text. Same length and order as `texts`."""
    tokenize = _tokenizer()
    out: list[list[str]] = []
    for text in texts:
        if not text or text.isspace():
            out.append([])
            continue
        words: list[str] = []
        for chunk in _chunks(text, MAX_CHUNK_CHARS):
            words.extend(tokenize(chunk))
        out.append(words)
    return out
