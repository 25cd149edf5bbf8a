"""text_tables: which lines are table rows (kept), and how rows group into tables."""
from __future__ import annotations

import time

import pytest

from transforms.text_tables import TableBlock, is_table_row, table_blocks, table_row_kind


@pytest.mark.parametrize("line, kind", [
    ("MANUEL NEUER | Bayern | 8 trận", "pipe"),
    ("STT | Họ và tên | Đơn vị | Điểm", "pipe"),
    ("Hạng\tĐội\tTrận\tĐiểm", "tab"),
    ("Hà Nội      12,5 tỷ      15%      tăng", "spaces"),
    ("1. Man City 38 32 4 2 106-27 100", "numeric"),
    ("Arsenal 2 1 0 1 3-3 3", "numeric"),
    ("SJC Hà Nội 36,45 36,65 +0,10", "numeric"),
    ("U20 Việt Nam 0-0 U20 New Zealand", "score"),
    ("Juventus 2-1 Monaco", "score"),
])
def test_table_row_kind(line, kind):
    assert table_row_kind(line) == kind


@pytest.mark.parametrize("line", [
    "Ông A cho biết năm 2016 có 3 vụ, năm 2017 có 5 vụ và năm nay có 7 vụ.",
    "Thời sự | Thế giới",                  # a menu, not a table: chrome.py handles it
    "Ngày 12-5 Thủ tướng dự hội nghị",
    "Tỷ số 2-1",
    "Giá xăng tăng  500 đồng mỗi lít từ 15 giờ chiều nay.",
    "",
])
def test_not_table_rows(line):
    assert not is_table_row(line)


def test_table_blocks_group_rows_and_blank_lines_end_them():
    lines = [
        "Bảng xếp hạng Ngoại hạng Anh sau vòng 38:",
        "1. Chelsea 38 30 3 5 85-33 93",
        "2. Tottenham 38 26 8 4 86-26 86",
        "3. Man City 38 23 9 6 80-39 78",
        "",
        "Chelsea vô địch sớm hai vòng.",
        "MANUEL NEUER | Bayern | 8 trận. DAVID DE GEA | MU | 9 trận",
    ]
    assert table_blocks(lines) == [TableBlock(1, 3, "numeric", 8), TableBlock(6, 6, "pipe", 5)]


def test_linear_on_long_lines():
    for s in ["1 " * 50_000, "| " * 50_000, "a  " * 30_000, "1-1 " * 25_000]:
        t0 = time.thread_time()
        table_row_kind(s)
        table_row_kind(s[:1_900])
        assert time.thread_time() - t0 < 5.0
