"""Sentence boundaries inside one line, for cutting spans (not for linguistics).

`sentence_ends(text)` returns the offsets just after each sentence end: a run of '.', '!',
'?' or '…' (with closing quotes or brackets after it) followed by a space and a character
that can start a sentence (upper case letter, digit, opening quote or bracket, dash).
A single '.' after an initial ("N. Hà") or a title or abbreviation ("TP.", "PGS.BS.",
"ThS.") is not an end. One regex pass, linear in the line.

Measured against underthesea.sent_tokenize on corpus lines (scripts/clean_report.py
--sentences): see the module's test for the agreement it must keep.
"""
from __future__ import annotations

import re

# a terminator run, its closers, then one space; the next character is checked in Python
_END = re.compile(r"[.!?…]+[\"'”’»)\]]*(?= )")
_STARTERS = "\"'“‘«([-–—•*>"
# lower-cased tokens before a '.' that do not end a sentence (titles, places, units)
ABBREVIATIONS = frozenset("""
tp tx tt q p x h k ths ts pgs gs bs bsck bsckii ks ls lg ncs cn đ ct mr mrs ms dr st jr sr no vs co inc ltd
nxb tr gđ pgđ ubnd hđnd
""".split())


def _is_abbreviation(text: str, dot: int) -> bool:
    """True when the '.' at `dot` closes an initial or a listed abbreviation."""
    start = dot
    while start > 0 and not text[start - 1].isspace() and dot - start < 12:
        start -= 1
    token = text[start:dot]
    last = token.rsplit(".", 1)[-1].lstrip("(\"'“")
    if len(last) == 1 and last.isalpha() and last.isupper():
        return True                              # an initial: "N. Hà", "Đ. Long"
    return last.lower() in ABBREVIATIONS


def sentence_ends(text: str, start: int = 0, end: int | None = None) -> list[int]:
    """Offsets (into `text`) just after each sentence end within text[start:end]."""
    end = len(text) if end is None else end
    out = []
    for m in _END.finditer(text, start, end):
        nxt = m.end() + 1
        if nxt >= len(text):
            continue
        c = text[nxt]
        if not (c.isupper() or c.isdigit() or c in _STARTERS):
            continue
        run = m.group(0)
        if run[0] == "." and len(run.rstrip("\"'”’»)]")) == 1 and _is_abbreviation(text, m.start()):
            continue
        out.append(m.end())
    return out


def split_sentences(text: str) -> list[str]:
    """The sentences of a line, whitespace-trimmed (for tests and measurement)."""
    out, pos = [], 0
    for e in sentence_ends(text):
        piece = text[pos:e].strip()
        if piece:
            out.append(piece)
        pos = e
    last = text[pos:].strip()
    if last:
        out.append(last)
    return out
