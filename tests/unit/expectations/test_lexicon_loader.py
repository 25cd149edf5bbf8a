"""transforms/lexicon.py: the one loader of the cue lexicon, which the gate's boilerplate regex
is built from."""
from __future__ import annotations

import re

from expectations import suites
from transforms import lexicon


def test_comments_and_blank_lines_are_skipped_a_lone_hash_is_a_cue():
    for name in lexicon.names():
        for cue in lexicon.cues(name):
            assert cue and cue == cue.strip()
            assert not (cue.startswith("# ") or cue.startswith("##")), (name, cue)


def test_cue_words_are_lower_case_letters_only():
    words = lexicon.cue_words("related_cues.txt")
    assert words and all(w and all(x == x.lower() and re.fullmatch(r"[^\W\d_]+", x) for x in w) for w in words)


def test_every_cue_of_the_gated_files_is_a_line_the_gate_recognises():
    rx = re.compile(suites.boilerplate_line_regex())
    for name in suites.BOILERPLATE_LEXICONS:
        for words in lexicon.cue_words(name):
            assert rx.search(" ".join(words).capitalize() + ":"), (name, words)
