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
    assert [(ln.i, r) for ln, r, _ in head.removed] == [(0, "boilerplate.navigation"), (1, "boilerplate.header_date")]


def test_no_title_when_prose_comes_first():
    head = read_head(items(["Đây là một câu văn xuôi dài có dấu chấm ở cuối."]), frozenset())
    assert head.title is None and head.start == 0


def test_named_decisions():
    its = items(["Bóng đá Việt Nam", "Đội tuyển Việt Nam hội quân chuẩn bị cho hai trận giao hữu"])
    assert pick_title(its, [0, 1]) == 1
    assert head_line_reason(its[0], frozenset({"bóng đá việt nam"})) == ("boilerplate.recurring_line", "")
