"""transforms.clean.lineage: every character of every line lands in exactly one span."""
from __future__ import annotations

from hypothesis import given, settings, strategies as st

from transforms.clean import structure_article
from transforms.clean.lineage import Gap, article_gaps, spans_cover, structured_spans, uncovered
from transforms.clean.rows import Paragraph, Removed, Structured


def test_whitespace_between_spans_needs_no_span():
    lines = ["Tiêu đề", "", "  Câu một.  Câu hai. "]
    assert uncovered(lines, [(1, 0, 7), (3, 2, 10), (3, 12, 20)]) == []


def test_gap_overlap_and_out_of_range_are_reported():
    lines = ["abc def ghi"]
    assert uncovered(lines, [(1, 0, 3), (1, 8, 11)]) == [Gap(1, 4, 7, "gap")]
    assert uncovered(lines, [(1, 0, 5), (1, 4, 11)]) == [Gap(1, 4, 5, "overlap")]
    assert uncovered(lines, [(1, 0, 11), (2, 0, 1)]) == [Gap(2, 0, 1, "out_of_range")]
    assert uncovered(["x", "y"], [(1, 0, 1)]) == [Gap(2, 0, 1, "gap")]


def test_text_mismatch_is_reported():
    lines = ["Tiêu đề", "Câu một. Ảnh: A"]
    st = Structured("Tiêu đề", 1, None, None, None,
                    [Paragraph(2, "body", "Câu một.", 0, 8)],
                    [Removed(2, "Ảnh: B", "boilerplate.photo_credit", "", 9, 15)], 0, 0, 7)
    assert article_gaps(lines, st) == [Gap(2, 9, 15, "text_mismatch")]
    assert not spans_cover(lines, st)


def test_structure_article_covers_a_page_with_cuts():
    lines = ["Tiêu đề bài viết về lễ hội", "Đoạn mở đầu có dấu chấm ở cuối câu.",
             "Câu đầu của thân bài. Người dân xem pháo hoa. Ảnh: Minh Anh Câu sau của thân bài. Thống Nhất"]
    st = structure_article(lines)
    assert spans_cover(lines, st)
    assert len(structured_spans(st)) == 1 + len(st.paragraphs) + len(st.removed)


_WORDS = st.sampled_from(["Câu", "một", "hai.", "Ảnh:", "Reuters", "(Ảnh:", "AFP)", "Video:", "Theo", "VnExpress",
                          "Nguồn:", "TTXVN", "Thống", "Nhất", "minh", "họa.", "Xem", "thêm:", ">>", "-", "./.", "“", "”"])
_LINE = st.lists(_WORDS, max_size=40).map(" ".join)


@settings(max_examples=200, deadline=None)
@given(st.lists(_LINE, min_size=1, max_size=6))
def test_any_page_is_accounted_for(lines):
    assert spans_cover(lines, structure_article(lines))
