"""transforms.dates: date lines as Vietnamese outlets print them."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from transforms.dates import ends_with_date, find_datetime, parse_date_line

VN = timezone(timedelta(hours=7))


@pytest.mark.parametrize("text, expected", [
    ("Thứ tư, 23/06/2021 19:45", datetime(2021, 6, 23, 19, 45, tzinfo=VN)),
    ("22:00 25/06/2024", datetime(2024, 6, 25, 22, 0, tzinfo=VN)),
    ("Thứ Sáu, 31/10/2025, 18:21 (GMT+7)", datetime(2025, 10, 31, 18, 21, tzinfo=VN)),
    ("12-08-2024 - 07:30", datetime(2024, 8, 12, 7, 30, tzinfo=VN)),
    ("Cập nhật: 12/08/2024 07:30:15", datetime(2024, 8, 12, 7, 30, 15, tzinfo=VN)),
    ("Thứ Hai, 07:00, 12/08/2024", datetime(2024, 8, 12, 7, 0, tzinfo=VN)),
    ("19h45 ngày 23/6/2021", datetime(2021, 6, 23, 19, 45, tzinfo=VN)),
    ("ngày 23 tháng 6 năm 2021", datetime(2021, 6, 23, tzinfo=VN)),
    ("2024-06-25T22:00:00+07:00", datetime(2024, 6, 25, 22, 0, tzinfo=VN)),
    ("12.3.2023", datetime(2023, 3, 12, tzinfo=VN)),
    ("Chủ nhật, 5/3/2023 10:12 PM", datetime(2023, 3, 5, 22, 12, tzinfo=VN)),
])
def test_date_line_formats(text, expected):
    got = parse_date_line(text)
    assert got is not None and got.at == expected and got.rest == ""
    assert got.at.utcoffset() == timedelta(hours=7)


def test_explicit_offset_wins_over_vietnam_time():
    got = parse_date_line("Thứ Hai, 12/08/2024 - 07:30 (GMT+9)")
    assert got is not None and got.at.utcoffset() == timedelta(hours=9)
    assert parse_date_line("2024-06-25T15:00:00Z").at.utcoffset() == timedelta(0)


def test_date_line_keeps_a_short_remainder():
    got = parse_date_line("Minh Anh | 12/08/2024 07:30")
    assert got is not None and got.rest == "Minh Anh"
    assert parse_date_line("Sự kiện - 12/08/2025 18:00").rest == "Sự kiện"


@pytest.mark.parametrize("text", [
    "Ngày 8-7, tại Hà Nội, Học viện Ngoại giao tổ chức hội thảo.",   # no year, a sentence
    "Chiều 25/6, tại Hà Nội, Phó Chủ tịch Quốc hội chủ trì cuộc gặp mặt các thành viên nhóm.",
    "31/02/2024",                    # not a calendar date
    "13/13/2024",
    "25/06/1890",                    # out of range
    "(18/11/1930-18/11/2024)",       # a range inside a sentence
    "Update 2 month ago",
    "Kỷ niệm 30 năm quan hệ ngoại giao 1992 - 2022 với nhiều hoạt động giao lưu 12/08/2024",
    "",
    "22:00",                         # a time alone is not a date
])
def test_not_date_lines(text):
    assert parse_date_line(text) is None


def test_ends_with_date_marks_list_items():
    assert ends_with_date("Bộ đội dốc sức ứng cứu Nhân dân 31/10/2025")
    assert ends_with_date("Sự kiện - 12/08/2025 18:00")
    assert not ends_with_date("Ngày 31/10/2025, bộ đội đã dốc sức ứng cứu Nhân dân vùng lũ.")


def test_find_datetime_on_huge_input_is_bounded():
    assert find_datetime("x" * 5_000_000) is None
    assert parse_date_line("1/" * 100_000) is None
