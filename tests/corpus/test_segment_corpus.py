"""2,000 corpus files: segment_words gives underthesea.word_tokenize's words for every line.

Reads the members straight out of ../shared/corpora/baomoi-2017.tar.gz (the first 2,000
.txt files in archive order); skipped when the tarball is absent.
"""
from __future__ import annotations

import tarfile
from pathlib import Path

import pytest
from underthesea import word_tokenize

from transforms.segment import MAX_CHUNK_CHARS, _chunks, segment_words, segmenter_backend

ROOT = Path(__file__).resolve().parents[2]
TARBALL = ROOT.parent / "shared" / "corpora" / "baomoi-2017.tar.gz"
N_FILES = 2_000


def _lines(n_files: int) -> list[str]:
    out: list[str] = []
    seen = 0
    with tarfile.open(TARBALL, "r:gz") as tar:
        for member in tar:
            if not (member.isfile() and member.name.endswith(".txt")):
                continue
            text = tar.extractfile(member).read().decode("utf-8", errors="replace")
            out.extend(line for line in text.split("\n") if line.strip())
            seen += 1
            if seen == n_files:
                break
    return out


def _word_tokenize_in_chunks(line: str) -> list[str]:
    # segment_words cuts a line longer than MAX_CHUNK_CHARS first; underthesea sees the pieces
    return [w for piece in _chunks(line, MAX_CHUNK_CHARS) for w in word_tokenize(piece)]


@pytest.mark.slow
@pytest.mark.skipif(not TARBALL.exists(), reason=f"corpus tarball not found at {TARBALL}")
def test_2000_corpus_files_segment_exactly_like_underthesea():
    assert segmenter_backend() == "crf-numpy"
    lines = _lines(N_FILES)
    assert len(lines) > 4_000
    expected = [_word_tokenize_in_chunks(line) for line in lines]
    got = segment_words(lines)
    bad = [i for i, (g, e) in enumerate(zip(got, expected)) if g != e]
    assert len(got) == len(lines)
    assert not bad, f"{len(bad)} of {len(lines)} lines differ, first: {lines[bad[0]][:200]!r}"
