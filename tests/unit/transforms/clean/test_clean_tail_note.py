"""transforms.clean.tail.parse_tail_note: bylines and source notes after the last sentence."""
from __future__ import annotations

import pytest

from transforms.clean.tail import parse_tail_note


@pytest.mark.parametrize("note, expected", [
    ("Thống Nhất", ("Thống Nhất", None)),
    ("HẢI SÂM (Dân trí)", ("HẢI SÂM", "Dân trí")),
    ("Hòa Lê (T/h)", ("Hòa Lê", None)),
    ("Minh Hằng (Tổng hợp)", ("Minh Hằng", None)),
    ("Bích Lan/VOV.VN", ("Bích Lan", "VOV.VN")),
    ("Toàn Nguyễn, Theo Trí Thức Trẻ", ("Toàn Nguyễn", "Theo Trí Thức Trẻ")),
    ("H.Bình (Theo China Topix)", ("H.Bình", "Theo China Topix")),
    ("Dương - Hằng", ("Dương - Hằng", None)),
    ("Đàm Huy - Đức Tiến (thực hiện)", ("Đàm Huy - Đức Tiến", None)),
    ("(Còn tiếp) Đàm Huy", ("Đàm Huy", None)),
    ("Trọng Nhân -", ("Trọng Nhân", None)),
    ("T.Lê", ("T.Lê", None)),
    ("Tin, ảnh: HOÀI PHƯƠNG", ("HOÀI PHƯƠNG", None)),
    ("Nhóm PV", ("Nhóm PV", None)),
    ("PV", ("PV", None)),
    ("Theo VnExpress", (None, "Theo VnExpress")),
    ("Theo Thế Anh/Người đưa tin", ("Thế Anh", "Theo Thế Anh/Người đưa tin")),
    ("Nguồn: Dân trí", (None, "Dân trí")),
    ("TTXVN/Tin Tức", (None, "TTXVN/Tin Tức")),
    ("Kinhtedothi.vn", (None, "Kinhtedothi.vn")),
])
def test_notes(note, expected):
    assert parse_tail_note(note) == expected


@pytest.mark.parametrize("text", [
    "Báo Gia đình và Xã hội cập nhật tin tức trong ngày liên tục, mới nhất",   # lower-case words: prose
    "Cùng ngắm một số hình ảnh về chiếc xe:",
    "Tuấn",                                           # one word without an initial: not enough
    "\"Tôi sẽ về\"",
    "Theo dõi chúng tôi",
    "Ông Nguyễn Văn A cho biết sẽ kiểm tra lại toàn bộ hồ sơ của dự án này trong tháng tới",
])
def test_not_notes(text):
    assert parse_tail_note(text) is None
