"""The cue lexicon (transforms/lexicon/*.txt), read once per process.

One cue per line; blank lines and comment lines ('# ...' or '##...') are skipped; a lone '#'
is a cue. Files are package data read through importlib.resources, so this module never
opens a path itself. transforms/ and expectations/ read the lexicon only through here.
"""
from __future__ import annotations

import functools
import re
import unicodedata
from importlib import resources

_NON_LETTERS = re.compile(r"[\W\d_]+")


@functools.cache
def cues(name: str) -> tuple[str, ...]:
    """The cues of lexicon file `name` (e.g. 'related_cues.txt'), stripped, in file order."""
    text = resources.files("transforms").joinpath("lexicon", name).read_text(encoding="utf-8")
    out = []
    for raw in text.splitlines():
        cue = raw.strip()
        if cue and not (cue.startswith("#") and len(cue) > 1 and cue[1] in " #"):
            out.append(cue)
    return tuple(out)


@functools.cache
def cue_words(name: str) -> tuple[tuple[str, ...], ...]:
    """Each cue of `name` as its words: NFC, lower case, digits and punctuation dropped
    ('- Cùng chuyên mục:' -> ('cùng', 'chuyên', 'mục')); cues with no letter are left out."""
    out = []
    for cue in cues(name):
        words = tuple(_NON_LETTERS.sub(" ", unicodedata.normalize("NFC", cue.lower())).split())
        if words:
            out.append(words)
    return tuple(out)


def names() -> list[str]:
    """The lexicon files, sorted."""
    return sorted(p.name for p in resources.files("transforms").joinpath("lexicon").iterdir()
                  if p.name.endswith(".txt"))
