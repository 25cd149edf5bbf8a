"""Issue 16 wiring inside transforms.clean: chrome spans cut out of kept lines, the outlet's
credit before the lede, text tables kept, a source note that ends a story paragraph, and a
title repeated in another case. Exact reason codes; every page must stay accounted for."""
from __future__ import annotations

from transforms.clean import spans_cover, structure_article
from transforms.clean.chrome_cut import cut_chrome, cut_outlet_credit
from transforms.clean.rows import Span


def rows(r):
    return ([(p.kind, p.text) for p in r.paragraphs], [(x.reason, x.text) for x in r.removed])


def test_chrome_inside_a_body_line_is_cut_and_the_story_stays():
    line = ("Giá vàng tăng mạnh trong phiên sáng nay. 1.234 lượt xem Nhà đầu tư đổ xô mua vào "
            "khi giá thế giới lập đỉnh mới. 00:00 / 02:35 Theo các chuyên gia, xu hướng còn kéo dài.")
    lines = ["Giá vàng lập đỉnh mới", "Giá vàng trong nước tăng theo giá thế giới.", line]
    r = structure_article(lines)
    kept, removed = rows(r)
    assert ("boilerplate.view_counter", "1.234 lượt xem") in removed
    assert ("boilerplate.media_player", "00:00 / 02:35") in removed
    assert ("body", "Nhà đầu tư đổ xô mua vào khi giá thế giới lập đỉnh mới.") in kept
    assert ("body", "Theo các chuyên gia, xu hướng còn kéo dài.") in kept
    assert spans_cover(lines, r)


def test_a_line_that_is_only_a_menu_is_removed_whole():
    sp = cut_chrome("Thời sự | Kinh doanh | Thể thao | Giải trí", [Span(0, 42, kind="body")])
    assert [(s.start, s.end, s.reason) for s in sp] == [(0, 42, "boilerplate.navigation")]


def test_separator_between_two_cuts_takes_a_cut_reason():
    raw = "www.example-news.vn/thoi-su | 12K views"
    sp = cut_chrome(raw, [Span(0, len(raw), kind="body")])
    assert [s.reason for s in sp] == ["boilerplate.url", "boilerplate.url", "boilerplate.view_counter"]
    assert all(not s.kept for s in sp)


def test_outlet_credit_is_cut_but_a_company_subject_is_not():
    lines = ["Doanh nghiệp xuất khẩu thủy sản tăng tốc cuối năm",
             "TTO - Kim ngạch xuất khẩu thủy sản 11 tháng đạt 8,2 tỉ USD, tăng 10% so với cùng kỳ.",
             "Các doanh nghiệp cho biết đơn hàng đã kín đến tháng 3 năm sau."]
    r = structure_article(lines)
    assert ("boilerplate.outlet_credit", "TTO -") in rows(r)[1] and r.credit == "TTO"
    assert spans_cover(lines, r)
    raw = "WPP - tập đoàn quảng cáo lớn nhất thế giới - vừa công bố lợi nhuận giảm."
    spans, credit = cut_outlet_credit(raw, [Span(0, len(raw), kind="lede")], "WPP cho biết ...")
    assert credit is None and spans == [Span(0, len(raw), kind="lede")]


def test_text_table_rows_are_kept_as_table_paragraphs():
    lines = ["Bảng xếp hạng Ngoại hạng Anh sau vòng 38",
             "Man City đã lên ngôi vô địch với thành tích kỷ lục 100 điểm.",
             "",
             "1. Man City 38 32 4 2 106-27 100",
             "2. Man United 38 25 6 7 68-28 81",
             "3. Tottenham 38 23 8 7 74-36 77",
             "",
             "Mùa giải tới sẽ khởi tranh vào tháng 8."]
    r = structure_article(lines)
    kinds = {p.line_no: p.kind for p in r.paragraphs}
    assert [kinds.get(n) for n in (4, 5, 6)] == ["table", "table", "table"]
    assert kinds[8] == "body"
    assert spans_cover(lines, r)


def test_a_share_bar_or_menu_split_by_pipes_is_not_a_table_row():
    """'Chia sẻ | Bình luận | In bài' has the shape of a one-row table; the chrome and
    navigation rules decide it before the table rule keeps it (it would land in body)."""
    lines = ["Giá xăng giảm mạnh từ chiều nay",
             "Chiều 5/3, liên Bộ Công Thương - Tài chính điều chỉnh giá xăng dầu, mức giảm lớn nhất từ đầu năm.",
             "Theo đó, giá các mặt hàng như sau.",
             "Mặt hàng | Giá mới | Mức giảm", "Xăng RON95 | 21.500 | 650", "Xăng E5 | 20.400 | 600",
             "Chia sẻ | Bình luận | In bài",
             "Các cửa hàng áp dụng giá mới từ 15h chiều nay trên toàn quốc, theo thông báo của liên bộ.",
             "Trang chủ | Liên hệ | Quảng cáo | Đặt báo"]
    r = structure_article(lines)
    kept, removed = rows(r)
    assert [t for k, t in kept if k == "table"] == lines[3:6]
    assert ("boilerplate.navigation", "Chia sẻ | Bình luận | In bài") in removed
    assert ("boilerplate.navigation", "Trang chủ | Liên hệ | Quảng cáo | Đặt báo") in removed
    assert spans_cover(lines, r)


def test_table_at_the_end_of_the_story_is_not_the_tail():
    lines = ["Kết quả vòng 5 V-League", "Vòng 5 V-League diễn ra sôi động với nhiều bàn thắng.",
             "Hà Nội 2-1 SLNA", "HAGL 0-0 Đà Nẵng", "Bình Dương 3-1 Thanh Hóa"]
    r = structure_article(lines)
    assert [p.kind for p in r.paragraphs] == ["lede", "table", "table", "table"]


def test_story_paragraph_ending_in_a_source_note_stays_body():
    lines = ["Ngã xe máy nằm bất tỉnh vì không đội mũ bảo hiểm",
             "Sau khi tránh một ôtô sang đường, người đàn ông ngã đập đầu xuống đất và nằm bất tỉnh. "
             "Vụ tai nạn xảy ra chiều 5/2 ở ngã tư Nguyễn Văn Huyên (Hà Nội). Nguồn: Facebook"]
    r = structure_article(lines)
    kept, removed = rows(r)
    assert [k for k, _ in kept] == ["body"]        # no final '.': story text, not a caption
    assert ("metadata.source_credit", "Nguồn: Facebook") in removed and r.credit == "Facebook"
    assert spans_cover(lines, r)


def test_all_caps_title_repeated_in_normal_case_is_a_repeat():
    title = "ĐỘI TUYỂN VIỆT NAM THẮNG ĐẬM TRONG TRẬN GIAO HỮU CUỐI CÙNG TRƯỚC THỀM GIẢI ĐẤU KHU VỰC ĐÔNG NAM Á NĂM NAY"
    lines = [title, "Đội tuyển Việt Nam thắng đậm trong trận giao hữu cuối cùng trước thềm giải đấu khu vực "
                    "Đông Nam Á năm nay.", "Huấn luyện viên hài lòng với màn trình diễn của các cầu thủ trẻ."]
    r = structure_article(lines)
    assert ("dedup.repeated_title", lines[1]) in rows(r)[1]


def test_recurring_keys_equals_eager_signatures():
    """recurring_keys computes a document's signature only when a frequent key needs it; the
    keys must be those of counting every signature up front."""
    import random
    from collections import Counter

    from transforms.clean import line_key, recurring_keys
    from transforms.clean.cues import CUE_LINE_MAX_CHARS, SHORT_LINE_WORDS

    def eager(docs, min_docs):
        need = max(min_docs, int(0.01 * len(docs) + 0.999999))
        counts, sigs = Counter(), {}
        for doc in docs:
            keys, longest = set(), ""
            for raw in doc:
                s = raw.strip()
                longest = s if len(s) > len(longest) else longest
                if s and len(s) <= CUE_LINE_MAX_CHARS and s.count(" ") < SHORT_LINE_WORDS and line_key(s):
                    keys.add(line_key(s))
            for k in keys:
                counts[k] += 1
                if counts[k] <= need * 4:
                    sigs.setdefault(k, set()).add(line_key(longest[:2000]))
        return frozenset(k for k, c in counts.items() if c >= need and len(sigs.get(k, ())) >= need)

    rnd = random.Random(7)
    short = ["Bình luận", "Chia sẻ", "Tin liên quan", "Theo VnExpress", "Ảnh minh họa", "Xem thêm"]
    names = ["An", "Bình", "Cường", "Dũng", "Giang", "Hà", "Khánh", "Lan", "Minh", "Nam", "Oanh", "Phúc"]
    bodies = [f"Bài viết kể chuyện anh {a} và chị {b} ở xã bên sông làm ăn khấm khá hơn trước."
              for a in names for b in names[:4]]
    docs = [[rnd.choice(bodies)] + rnd.sample(short, rnd.randrange(0, 4)) for _ in range(300)]
    for min_docs in (2, 5, 30):
        assert recurring_keys(docs, min_docs) == eager(docs, min_docs)
    assert recurring_keys(docs, 5)                   # the case holds recurring lines
