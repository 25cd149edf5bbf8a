"""chrome: spans of site chrome inside one line, with exact reasons; outlet credits vs subjects."""
from __future__ import annotations

import time

import pytest

from transforms.chrome import ChromeSpan, find_chrome_spans, outlet_credit_prefix
from transforms.reasons import REMOVED_REASONS


def cut(line: str) -> list[tuple[str, str]]:
    return [(line[s.start:s.end], s.reason) for s in find_chrome_spans(line)]


@pytest.mark.parametrize("line, expected", [
    # menus, with and without separators (vnexpress, tuoitre, thanhnien, dantri, laodong styles)
    ("Thời sự Góc nhìn Thế giới Kinh doanh Giải trí Thể thao Pháp luật Giáo dục",
     [("Thời sự Góc nhìn Thế giới Kinh doanh Giải trí Thể thao Pháp luật Giáo dục", "boilerplate.navigation")]),
    ("Trang chủ » Thể thao » Bóng đá", [("Trang chủ » Thể thao » Bóng đá", "boilerplate.navigation")]),
    ("Thời sự | Thế giới | Kinh tế", [("Thời sự | Thế giới | Kinh tế", "boilerplate.navigation")]),
    ("Xã hội - Pháp luật", [("Xã hội - Pháp luật", "boilerplate.navigation")]),
    ("THỜI SỰ CHÍNH TRỊ XÃ HỘI KINH TẾ Hà Nội: Tàu điện trên cao chạy thử",
     [("THỜI SỰ CHÍNH TRỊ XÃ HỘI KINH TẾ", "boilerplate.navigation")]),
    # font-size controls (vietnamnet, cand, qdnd)
    ("Cỡ chữ: A- A A+", [("Cỡ chữ: A- A A+", "boilerplate.share_prompt")]),
    ("A A A In bài viết", [("A A A", "boilerplate.share_prompt")]),
    # player time codes (vov, zing)
    ("00:00 / 02:35 Tắt tiếng Toàn màn hình", [("00:00 / 02:35", "boilerplate.media_player"),
                                              ("Tắt tiếng", "boilerplate.media_player"),
                                              ("Toàn màn hình", "boilerplate.media_player")]),
    ("Clip: Cầu Long Biên ngập nước 0:00 / 1:12", [("0:00 / 1:12", "boilerplate.media_player")]),
    # view counters (zing, kenh14-like, tienphong)
    ("Lượt xem: 12.345", [("Lượt xem: 12.345", "boilerplate.view_counter")]),
    ("Clip ghi lại vụ việc 1.234 lượt xem", [("1.234 lượt xem", "boilerplate.view_counter")]),
    ("12K views | 56 bình luận", [("12K views", "boilerplate.view_counter"), ("56 bình luận", "boilerplate.view_counter")]),
    # URLs and slugs
    # a URL inside a sentence or after a label is what the story cites: it stays (cutting it
    # left labels such as 'Facebook:' alone in the body, and removed cited sources)
    ("Xem tại https://tuoitre.vn/gia-xang-tang-20170515.htm nhé", []),
    ("Giá xăng tăng. https://tuoitre.vn/gia-xang-tang-20170515.htm Người dân lo lắng.",
     [("https://tuoitre.vn/gia-xang-tang-20170515.htm", "boilerplate.url")]),
    ("Bộ Văn hóa - Thể thao - Du lịch vừa ban hành quy định mới.", []),
    ("Kết quả: 15-26-29-32-34-38.", []),
    ("thu-tuong-chu-tri-hoi-nghi-truc-tuyen-voi-dia-phuong-post123456.html",
     [("thu-tuong-chu-tri-hoi-nghi-truc-tuyen-voi-dia-phuong-post123456.html", "boilerplate.url")]),
    ("Nguồn: baochinhphu.vn/Thoi-su/Thu-tuong/123.vgp", []),
    # watch / follow prompts (vietnamnet, tuoitre, nld)
    ("Trận đấu kết thúc với tỉ số 2-1. Mời quý độc giả xem video bàn thắng dưới đây.",
     [("Mời quý độc giả xem video bàn thắng dưới đây.", "boilerplate.follow_prompt")]),
    ("Hãy theo dõi Người Lao Động trên Zalo để cập nhật tin nhanh nhất",
     [("Hãy theo dõi Người Lao Động trên Zalo để cập nhật tin nhanh nhất", "boilerplate.follow_prompt")]),
    ("Xem thêm video: Cháy lớn ở quận 8", [("Xem thêm video: Cháy lớn ở quận 8", "boilerplate.follow_prompt")]),
])
def test_chrome_spans_and_reasons(line, expected):
    assert cut(line) == expected
    assert all(s.reason in REMOVED_REASONS for s in find_chrome_spans(line))


@pytest.mark.parametrize("line", [
    "Bộ Văn hóa, Thể thao và Du lịch vừa công bố kế hoạch tổ chức lễ hội.",
    "Giáo dục, y tế và văn hóa là ba lĩnh vực được ưu tiên đầu tư.",
    "Video có 12 bình luận về vụ việc chỉ sau một giờ.",
    "Clip đã đạt 1.000.000 lượt xem sau 2 ngày.",
    "Đây là công nghệ state-of-the-art trong ngành ô tô.",
    "Mời quý độc giả Thể thao VietNamNet theo dõi diễn biến trận đấu, lúc 1h ngày 30/6.",
    "Giờ mở cửa từ 8:00 / 17:00 các ngày trong tuần.",
    "Theo dõi sát diễn biến thời tiết, Ban chỉ huy phòng chống thiên tai đã họp khẩn.",
    "Đăng ký kinh doanh tại Sở Kế hoạch và Đầu tư mất 3 ngày.",
    "Nhiều người cho rằng cỡ chữ trên biển báo quá nhỏ.",
    "Ông A, cựu giám đốc, nói: “Chúng tôi đã cố hết sức”.",
])
def test_prose_has_no_chrome(line):
    assert find_chrome_spans(line) == []


@pytest.mark.parametrize("lede, rest, name, end", [
    ("(Dân trí) - Sáng 15/5, tại Hà Nội, Bộ Y tế tổ chức hội nghị.", "", "Dân trí", 12),
    ("TTO - Sáng nay, UBND TP.HCM đã họp bàn về ngập nước.", "", "TTO", 6),
    ("VOV.VN - Chiều 3/4, Chủ tịch nước tiếp Đại sứ Nhật Bản.", "", "VOV.VN", 9),
    ("(NLĐO)- Ngày 5-6, Công an TP Hà Nội cho biết.", "", "NLĐO", 8),
    ("TPO - Rạng sáng nay, một vụ cháy lớn xảy ra.", "", "TPO", 6),
    ("GDVN - Bộ Giáo dục và Đào tạo vừa công bố lịch thi.", "", "GDVN", 7),
    ("(Chinhphu.vn) - Thủ tướng vừa ký quyết định.", "", "Chinhphu.vn", 16),
    ("Zing.vn - Chiều 12/5, cơ quan chức năng cho biết.", "", "Zing.vn", 10),
    ("(QĐND) - Sáng 20-7, tại Hà Nội, Bộ Quốc phòng tổ chức lễ.", "", "QĐND", 9),
    ("ANTĐ - Chiều 8/11, Công an quận Cầu Giấy cho biết.", "", "ANTĐ", 7),
])
def test_outlet_credit_prefix(lede, rest, name, end):
    span = outlet_credit_prefix(lede, rest)
    assert span == ChromeSpan(0, end, "boilerplate.outlet_credit", name)
    assert span.reason in REMOVED_REASONS


@pytest.mark.parametrize("lede, rest", [
    ("WPP - tập đoàn quảng cáo lớn nhất thế giới - vừa công bố lợi nhuận quý I.", ""),
    ("WPP - Tập đoàn quảng cáo lớn nhất thế giới vừa công bố lợi nhuận.", "Cổ phiếu của WPP tăng 3%."),
    ("SGGP - Ông Nguyễn Văn A - giám đốc sở - cho biết", ""),
    ("UNESCO - Tổ chức này vừa công nhận vịnh Hạ Long.", "Theo UNESCO, ..."),
    ("Apple - hãng công nghệ lớn nhất thế giới - vừa ra mắt iPhone.", ""),
    ("HUẾ - Sáng nay, lễ hội bắt đầu.", ""),
    ("(12/5) - ngày hội sách", ""),
    ("Sáng 15/5, tại Hà Nội, Bộ Y tế tổ chức hội nghị.", ""),
    ("VN-Index giảm nhẹ 2 điểm trong phiên sáng nay.", ""),      # a compound word, not 'VN -'
    ("PGS-TS Nguyễn Văn B, Trưởng khoa, cho biết bệnh nhân đã ổn định.", ""),
])
def test_sentence_subject_is_not_an_outlet_credit(lede, rest):
    assert outlet_credit_prefix(lede, rest) is None


@pytest.mark.parametrize("s", ["a-" * 50_000, "Thời sự " * 12_500, "A " * 50_000, "00:00 / " * 12_500,
                               "1.234 lượt " * 9_000, "(" * 100_000, "Mời bạn xem " * 8_000, "x" * 100_000])
def test_linear_on_long_lines(s):
    t0 = time.thread_time()
    find_chrome_spans(s)
    outlet_credit_prefix(s, s)
    assert time.thread_time() - t0 < 5.0


# -- the cheap per-line pre-filters of the finders never skip a line a finder would cut ------

_FRAGMENTS = ["Thời sự", "Thế giới", "|", "»", "-", "A", "A-", "A+", "+A", "a", "Cỡ chữ:", "font size", "00:00 / 02:35",
              "Tắt tiếng", "1.234 lượt xem", "12K views", "30K lıke", "5 chia sẻ", "56 bình luận", "Lượt xem: 1.234",
              "VIEWS", "http://x.vn/a", "www.Abc.VN", "abc.İnfo/x", "tin-moi-nhat-12345.html", "a-b-c-d-e",
              "15-26-29", "Mời quý độc giả xem video", ".", "!", "”", "Hãy theo dõi kênh YouTube", "Đăng ký kênh",
              "Xem thêm video:", "chúng tôi", "và", "của", "nhà", "Hà Nội", "ngày 5-2-2017", "tỷ đồng", "\u212alike"]


def _finders(line: str) -> list:
    import transforms.chrome as chrome
    low = chrome.lower_same_length(line)
    return [f(line, low) for f in chrome._FINDERS]


def test_prefilters_keep_every_span(monkeypatch):
    import random

    import transforms.chrome as chrome
    rnd = random.Random(2017)
    lines = [" ".join(rnd.choice(_FRAGMENTS) for _ in range(rnd.randrange(1, 14))) for _ in range(3000)]
    lines += [line for line, _ in [
        ("Trận đấu kết thúc. Mời quý độc giả xem video bàn thắng dưới đây.", 0),
        ("Clip ghi lại vụ việc 1.234 lượt xem", 0), ("Giá xăng tăng. https://tuoitre.vn/a-b-c.htm Người dân lo.", 0)]]
    with_filter = [_finders(line) for line in lines]
    monkeypatch.setattr(chrome, "PREFILTER", False)
    without = [_finders(line) for line in lines]
    assert with_filter == without
    assert sum(1 for spans in without if any(spans)) > 1000        # the sample does hold chrome
