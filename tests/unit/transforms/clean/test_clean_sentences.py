"""transforms.clean.sentences: sentence ends inside one line."""
from __future__ import annotations

from transforms.clean.sentences import sentence_ends, split_sentences


def test_splits_at_terminators_before_a_sentence_start():
    text = "Câu một. Câu hai! Câu ba? “Câu bốn.” Câu năm… 5 người đến."
    assert split_sentences(text) == ["Câu một.", "Câu hai!", "Câu ba?", "“Câu bốn.”", "Câu năm…", "5 người đến."]


def test_no_split_before_lower_case_or_inside_numbers():
    assert split_sentences("Giá 1.217,30 USD. tăng nhẹ so với hôm qua.") == ["Giá 1.217,30 USD. tăng nhẹ so với hôm qua."]


def test_initials_and_abbreviations_do_not_end_a_sentence():
    assert split_sentences("Bà Michelle T. Friedland nói. TP. Hồ Chí Minh mưa. PGS.BS. Đào Ngọc Diễn khám.") == [
        "Bà Michelle T. Friedland nói.", "TP. Hồ Chí Minh mưa.", "PGS.BS. Đào Ngọc Diễn khám."]


def test_end_marker_and_window():
    text = "Hết bài./. Thống Nhất"
    assert sentence_ends(text) == [len("Hết bài./.")]
    assert sentence_ends(text, 0, 5) == []          # the window ends before the terminator


def test_linear_on_long_runs():
    text = ". " * 50_000 + "A"
    assert len(sentence_ends(text)) == 1
