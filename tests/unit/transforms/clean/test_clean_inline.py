"""transforms.clean.inline: spans cut out of one kept line (exact reason codes)."""
from __future__ import annotations

from transforms.clean import structure_article
from transforms.clean.inline import credit_end, split_text


def pieces(text: str, last: bool = False, lede: str | None = None):
    spans, author, credit = split_text(text, "body", last, lede)
    return [(s.kind or s.reason, text[s.start:s.end]) for s in spans], author, credit


def test_caption_with_credit_inside_a_body_line():
    text = ("Ông A nói tại hội nghị. Tổng thống Mỹ Donald Trump. Ảnh: Reuters Bài học từ chính ông "
            "Obama. Chính ông nói vậy.")
    got, _, _ = pieces(text)
    assert got == [("body", "Ông A nói tại hội nghị."), ("caption", "Tổng thống Mỹ Donald Trump. Ảnh: Reuters"),
                   ("body", "Bài học từ chính ông Obama. Chính ông nói vậy.")]


def test_credit_end_rules():
    def credit(s):
        return s[:credit_end(s, 0)]
    assert credit("Quang Liêm Đánh giá về cơ hội") == "Quang Liêm"
    assert credit("AP Express đưa tin") == "AP"
    assert credit("Thanh Tuấn - TTXVN Theo phóng viên") == "Thanh Tuấn - TTXVN"
    assert credit("VGP/Thành Chung Tham dự còn có") == "VGP/Thành Chung"
    assert credit("Trung Le. Các thanh niên") == "Trung Le."
    assert credit("Cắt từ clip. Lập tức") == "Cắt từ clip."
    assert credit("Google Maps") == "Google Maps"


def test_bracketed_and_bare_credits():
    got, _, _ = pieces("Câu A dài. Dinh tổng thống Hàn Quốc. (Ảnh: Reuters) Ngày 10/5, ông nói.")
    assert got[1] == ("caption", "Dinh tổng thống Hàn Quốc. (Ảnh: Reuters)")
    got, _, _ = pieces("Câu một hai. Nước tràn ra đường. Ảnh Mạnh Khánh-TTXVN Về việc khắc phục, đơn vị làm.")
    assert got[1] == ("caption", "Nước tràn ra đường. Ảnh Mạnh Khánh-TTXVN")
    got, _, _ = pieces("Câu. Các lóng gỗ. Ảnh ĐÌNH VĂN Các lóng gỗ nằm san sát.")
    assert got[1] == ("caption", "Các lóng gỗ. Ảnh ĐÌNH VĂN")


def test_credit_without_description_is_removed():
    got, _, _ = pieces("Ảnh minh họa. (Nguồn: Internet) Vừa qua, tòa đã mở phiên xử.")
    assert got == [("boilerplate.photo_credit", "Ảnh minh họa. (Nguồn: Internet)"),
                   ("body", "Vừa qua, tòa đã mở phiên xử.")]
    long_sentence = " ".join(["từ"] * 60)
    got, _, _ = pieces(f"Câu. Đây {long_sentence}. (Ảnh: Vy Vũ). Câu sau.")
    assert ("boilerplate.photo_credit", "(Ảnh: Vy Vũ).") in got


def test_words_that_look_like_labels_stay():
    for text in ["Ảnh hưởng của bão rất lớn, người dân lo lắng.", "Hình ảnh: không có gì ở đây cả, ông nói.",
                 "\"Ảnh của Minh Béo được ghép\", ông giải thích.", "Nguồn tin cho biết vụ việc đã rõ."]:
        assert pieces(text) == ([], None, None), text


def test_video_and_related_labels():
    got, _, _ = pieces("Câu chuyện. Video: Sơn Tùng chia sẻ về thời học trò Bên cạnh đó, anh nói thêm.")
    assert got[1] == ("boilerplate.video_label", "Video: Sơn Tùng chia sẻ về thời học trò")
    got, _, _ = pieces("Câu tốt. >> Xem thêm: Kỹ thuật trồng cây mật gấu tại nhà Sắc nước: dùng 20g.")
    assert got[1] == ("boilerplate.related_list", ">> Xem thêm: Kỹ thuật trồng cây mật gấu tại nhà")


def test_byline_after_the_last_sentence():
    got, author, credit = pieces("Câu cuối của bài. Bích Lan/VOV.VN", last=True)
    assert got[-1] == ("metadata.byline", "Bích Lan/VOV.VN") and (author, credit) == ("Bích Lan", "VOV.VN")
    got, author, credit = pieces("Câu cuối của bài. Theo VnExpress", last=True)
    assert got[-1] == ("metadata.source_credit", "Theo VnExpress") and credit == "Theo VnExpress"
    assert pieces("Câu cuối của bài. Bích Lan/VOV.VN", last=False) == ([], None, None)


def test_labelled_byline_and_name_before_photo_credit():
    got, author, _ = pieces("Câu. Đối tượng bị bắt. Tin- ảnh: Ngọc Giang")
    assert got[-1] == ("metadata.byline", "Tin- ảnh: Ngọc Giang") and author == "Ngọc Giang"
    got, author, _ = pieces("Câu hai đã xong./. Song Đào, ảnh: Nam Nguyễn", last=True)
    assert got[-1] == ("metadata.byline", "Song Đào, ảnh: Nam Nguyễn") and author == "Song Đào"


def test_repeated_lede_prefix():
    lede = "Essential Phone sẽ lên kệ vào tháng tới với trợ lí riêng."
    got, _, _ = pieces(lede + " Máy làm bằng titan.", lede=lede)
    assert got == [("dedup.repeated_lede", lede), ("body", "Máy làm bằng titan.")]


def test_article_rows_author_and_separate_paragraphs():
    lines = ["Tiêu đề bài viết về lễ hội", "Đoạn mở đầu có dấu chấm ở cuối câu.",
             "Câu đầu của thân bài. Người dân xem pháo hoa. Ảnh: Minh Anh Câu sau của thân bài. Thống Nhất"]
    st = structure_article(lines)
    assert [(p.kind, p.text, p.char_start) for p in st.paragraphs] == [
        ("lede", lines[1], 0), ("body", "Câu đầu của thân bài.", 0),
        ("caption", "Người dân xem pháo hoa. Ảnh: Minh Anh", 22), ("body", "Câu sau của thân bài.", 60)]
    assert [(r.reason, r.text) for r in st.removed] == [("metadata.byline", "Thống Nhất")]
    assert st.author == "Thống Nhất"


def test_unclear_video_headline_cuts_the_label_alone():
    got, _, _ = pieces("Câu. CLIP: Trao đổi với VietNamNet, ông A cho biết sẽ kiểm tra.")
    assert got == [("body", "Câu."), ("boilerplate.video_label", "CLIP:"),
                   ("body", "Trao đổi với VietNamNet, ông A cho biết sẽ kiểm tra.")]
    assert pieces("Câu hai. Luật mới (Video Assistant Referee) được dùng.") == ([], None, None)
