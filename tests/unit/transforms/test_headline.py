"""headline: the class of a head line, title repeats, and the publication date near the title."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from transforms.headline import KIND_REASON, date_near_title, line_kind, repeats_title
from transforms.reasons import REMOVED_REASONS

VN = timezone(timedelta(hours=7))


@pytest.mark.parametrize("line, kind", [
    ("VnExpress.net", "site_name"),
    ("www.tienphong.vn", "site_name"),
    ("Báo Lao Động", "site_name"),
    ("Cổng thông tin điện tử Chính phủ", "site_name"),
    ("© 2017 Báo Thanh Niên. Giấy phép số 123/GP-BTTTT", "site_name"),
    ("Thể thao", "section"),
    ("KINH DOANH", "section"),
    ("Thời sự | Thế giới | Kinh doanh", "menu"),
    ("Trang chủ » Pháp luật » An ninh trật tự", "menu"),
    ("Hotline: 0912 345 678", "hotline"),
    ("Đường dây nóng: 1900 6789", "hotline"),
    ("Email: toasoan@baomoi-example.vn", "hotline"),
    ("Theo Reuters", "credit"),
    ("(Nguồn: TTXVN)", "credit"),
    ("Bài và ảnh: Hoàng Long", "credit"),
    ("Ảnh: Ngọc Thắng", "caption"),
    ("Thủ tướng phát biểu tại hội nghị. Ảnh: VGP", "caption"),
    ("Người dân chờ xe buýt dưới mưa (Ảnh minh họa)", "caption"),
    ("• Giá xăng tăng mạnh từ chiều nay", "related"),
    ("Xem thêm: Giá vàng hôm nay", "related"),
    ("Khởi công cao tốc Bắc - Nam đoạn qua Nghệ An 12/05/2017", "related"),
    ("Thứ Hai, 15/05/2017 08:30 (GMT+7)", "date"),
    ("Cập nhật lúc: 15/05/2017 08:30", "date"),
    ("Minh Anh | 12/08/2017 07:30", "date"),
    # titles: all caps, with a date, starting with a lower-case brand, with a colon
    ("ĐỘI TUYỂN VIỆT NAM THẮNG ĐẬM TIMOR LESTE", "title"),
    ("Giá vàng hôm nay 12/5/2017: SJC tăng mạnh", "title"),
    ("Giá vàng 12/5/2017", "title"),
    ("iPhone 8 ra mắt với giá 999 USD", "title"),
    ("eBay đóng cửa chi nhánh tại Việt Nam?", "title"),
    ("Báo Mỹ: Ông Trump sẽ thăm Việt Nam", "title"),
    ("Ngày 8-7, tại Hà Nội, Bộ Công Thương tổ chức hội nghị.", "prose"),
])
def test_line_kind(line, kind):
    assert line_kind(line) == kind


def test_kind_reasons_are_known_codes():
    assert set(KIND_REASON.values()) <= set(REMOVED_REASONS)


def test_all_caps_title_repeated_in_normal_case():
    assert repeats_title("ĐỘI TUYỂN VIỆT NAM THẮNG ĐẬM", "Đội tuyển Việt Nam thắng đậm.")
    assert not repeats_title("ĐỘI TUYỂN VIỆT NAM THẮNG ĐẬM", "Đội tuyển Việt Nam thắng đậm Lào 5-0.")


# pages' heads in the styles of several outlets: (lines, title index, expected date, expected line index)
HEADS = [
    # vnexpress: date above the title with time and GMT+7
    (["Thời sự", "Thứ hai, 15/5/2017, 08:30 (GMT+7)", "Giá xăng tăng mạnh từ chiều nay",
      "Giá xăng RON 92 tăng 500 đồng mỗi lít."], 2, datetime(2017, 5, 15, 8, 30, tzinfo=VN), 1),
    # tuoitre / thanhnien: date below the title
    (["Giá xăng tăng mạnh từ chiều nay", "15/05/2017 14:05", "TTO - Chiều nay giá xăng tăng."], 0,
     datetime(2017, 5, 15, 14, 5, tzinfo=VN), 1),
    # dantri: weekday, date, time below the title, with a blank line between
    (["Hà Nội: Cháy lớn ở chợ Quang", "", "Thứ Ba, 16/05/2017 - 07:12", "(Dân trí) - Rạng sáng nay..."], 0,
     datetime(2017, 5, 16, 7, 12, tzinfo=VN), 2),
    # an explicit GMT offset is kept
    (["Hội nghị G20 khai mạc", "Cập nhật: 07/07/2017 10:00 GMT+2", "Hội nghị khai mạc tại Hamburg."], 0,
     datetime(2017, 7, 7, 10, 0, tzinfo=timezone(timedelta(hours=2))), 1),
    # laodong / nld: author and date on one line
    (["Công nhân được tăng lương", "Minh Anh | 12/08/2017 07:30", "Ngày 12/8, ..."], 0,
     datetime(2017, 8, 12, 7, 30, tzinfo=VN), 1),
]


@pytest.mark.parametrize("lines, title, at, index", HEADS)
def test_date_near_title(lines, title, at, index):
    near = date_near_title(lines, title)
    assert near is not None
    assert near.at == at and near.at.utcoffset() == at.utcoffset()
    assert near.index == index


@pytest.mark.parametrize("lines, title", [
    # the site header's date of today (no time), far above the title: not the publication date
    (["Thứ Hai, ngày 15/05/2017", "Thời sự | Thế giới | Kinh doanh", "Giá xăng tăng mạnh",
      "Sáng nay giá xăng tăng."], 2),
    # a date inside a story sentence never is
    (["Giá xăng tăng mạnh", "Ngày 12/5/2017, tại Hà Nội, Bộ Công Thương cho biết giá xăng sẽ tăng vào tuần tới."], 0),
    # a title that holds a date is not a date line
    (["Giá vàng hôm nay 12/5/2017: SJC tăng mạnh", "Giá vàng SJC sáng nay tăng 100.000 đồng."], 0),
])
def test_no_date_near_title(lines, title):
    assert date_near_title(lines, title) is None
