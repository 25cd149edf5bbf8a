"""transforms.clean.head: chrome above the title and the title itself."""
from __future__ import annotations

from transforms.clean.head import head_line_reason, pick_title, read_head
from transforms.clean.lines import Line


def items(lines):
    return [Line(i, s, s.strip()) for i, s in enumerate(lines) if s.strip()]


def test_read_head_title_and_chrome():
    its = items(["Thời sự › Giao thông", "Thứ năm, 12/9/2024, 10:12 (GMT+7)",
                 "Cầu Phong Châu mới sẽ được xây dựng trong 12 tháng", "Bộ yêu cầu khởi công cầu mới trong tháng 10."])
    head = read_head(its, frozenset())
    assert head.title.s == "Cầu Phong Châu mới sẽ được xây dựng trong 12 tháng" and head.start == 3
    # the date with its clock time just above the title, and none under it: the article's date
    assert [(ln.i, r) for ln, r, _ in head.removed] == [(0, "boilerplate.navigation"), (1, "metadata.date_line")]
    assert head.published_at.isoformat() == "2024-09-12T10:12:00+07:00"


def test_date_above_title_without_time_is_the_header_date():
    its = items(["Thứ năm, 12/9/2024", "Cầu Phong Châu mới sẽ được xây dựng trong 12 tháng",
                 "Bộ yêu cầu khởi công cầu mới trong tháng 10."])
    head = read_head(its, frozenset())
    assert [(ln.i, r) for ln, r, _ in head.removed] == [(0, "boilerplate.header_date")]
    assert head.published_at is None


def test_site_name_hotline_and_credit_above_the_title():
    its = items(["Báo Lao Động", "Hotline: 0912 345 678", "Theo TTXVN",
                 "Giá xăng giảm lần thứ ba liên tiếp từ 15 giờ chiều nay",
                 "Liên Bộ Công Thương - Tài chính vừa điều chỉnh giá bán lẻ xăng dầu."])
    head = read_head(its, frozenset())
    assert head.title.i == 3
    assert [(ln.i, r) for ln, r, _ in head.removed] == [
        (0, "boilerplate.site_name"), (1, "boilerplate.contact_line"), (2, "metadata.source_credit")]
    assert head.credit == "Theo TTXVN"


def test_clip_label_gives_way_to_a_later_title_but_is_a_title_alone():
    its = items(["Clip: Khoảnh khắc giao thừa", "Hàng nghìn người chen kín phố đi bộ đón năm mới",
                 "Người dân đổ về trung tâm từ chiều."])
    head = read_head(its, frozenset())
    assert head.title.i == 1 and [ln.i for ln in head.captions] == [0]
    alone = read_head(items(["Clip: Khỉ đầu chó bị rắn dọa chết ngất", "Đoạn video ghi lại cảnh con khỉ."]), frozenset())
    assert alone.title.s == "Clip: Khỉ đầu chó bị rắn dọa chết ngất"


def test_title_with_a_date_and_lower_case_brand_titles_stay_titles():
    head = read_head(items(["Giá vàng hôm nay 12/5/2017: SJC tăng mạnh", "Giá vàng trong nước tăng theo thế giới."]),
                     frozenset())
    assert head.title.s == "Giá vàng hôm nay 12/5/2017: SJC tăng mạnh" and head.removed == []
    head = read_head(items(["iPhone 8, iPhone X ra mắt, giá từ 20 triệu", "Apple vừa giới thiệu ba mẫu iPhone mới."]),
                     frozenset())
    assert head.title.s == "iPhone 8, iPhone X ra mắt, giá từ 20 triệu"


def test_team_names_and_headlines_are_not_contact_or_site_lines():
    for title in ["ĐT Việt Nam: Xuân Trường chân đất đại náo sân tập", "Báo động tình trạng bùng nổ phát ấn"]:
        head = read_head(items([title, "Đây là câu mở đầu của bài báo."]), frozenset())
        assert head.title.s == title


def test_no_title_when_prose_comes_first():
    head = read_head(items(["Đây là một câu văn xuôi dài có dấu chấm ở cuối."]), frozenset())
    assert head.title is None and head.start == 0


def test_named_decisions():
    its = items(["Bóng đá Việt Nam", "Đội tuyển Việt Nam hội quân chuẩn bị cho hai trận giao hữu"])
    assert pick_title(its, [0, 1]) == 1
    assert head_line_reason(its[0], frozenset({"bóng đá việt nam"})) == ("boilerplate.recurring_line", "")
