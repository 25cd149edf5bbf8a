"""segment_words: underthesea words per text, safe on odd and very long input."""
from __future__ import annotations

from transforms.segment import MAX_CHUNK_CHARS, _chunks, segment_words


def test_words_keep_underthesea_form():
    [words] = segment_words(["Chàng trai 9X Quảng Trị khởi nghiệp từ nấm sò"])
    assert words == ["Chàng", "trai", "9X", "Quảng Trị", "khởi nghiệp", "từ", "nấm", "sò"]


def test_one_result_per_text_in_order_and_empty_for_blank():
    out = segment_words(["", "   ", "Hà Nội", "😀 Việt Nam 🇻🇳 vô địch!!!"])
    assert len(out) == 4
    assert out[0] == [] and out[1] == []
    assert out[2] == ["Hà Nội"]
    assert "Việt Nam" in out[3]


def test_long_paragraph_is_cut_at_sentence_ends():
    text = "Hà Nội là thủ đô của Việt Nam. " * 1500
    pieces = _chunks(text, MAX_CHUNK_CHARS)
    assert len(pieces) > 1
    assert all(len(p) <= MAX_CHUNK_CHARS for p in pieces)
    assert all(p.endswith(".") for p in pieces)
    [words] = segment_words([text])
    assert words.count("Hà Nội") == 1500


def test_a_run_without_sentence_end_or_space_is_cut_hard():
    pieces = _chunks("a" * (2 * MAX_CHUNK_CHARS + 5), MAX_CHUNK_CHARS)
    assert [len(p) for p in pieces] == [MAX_CHUNK_CHARS, MAX_CHUNK_CHARS, 5]
