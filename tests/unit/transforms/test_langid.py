"""detect_language / is_vietnamese: offline score on Vietnamese letters and function words."""
from __future__ import annotations

import pytest

from transforms.langid import (
    VI_THRESHOLD,
    detect_language,
    is_vietnamese,
    looks_unaccented,
    looks_unaccented_line,
    vietnamese_score,
)

VI = ("Tại hội nghị phát triển ngành tôm Việt Nam được tổ chức tại Cà Mau, Bộ NN&PTNT đưa ra "
      "mục tiêu đến năm 2030 giá trị tôm xuất khẩu sẽ đạt 10 tỉ USD.")


@pytest.mark.parametrize("text, lang", [
    (VI, "vi"),
    ("Top 10 xe SUV bán chạy nhất thế giới năm 2016", "vi"),
    ("Ảnh minh họa.", "vi"),
    ("The Prime Minister said the shrimp industry must grow faster than it has in the past.", "en"),
    ("Le ministre a déclaré que la pêche est une priorité pour le pays et pour la région.", "fr"),
    ("Der Minister sagte, dass die Fischerei für das Land wichtig ist und auch bleibt.", "de"),
    ("越南政府宣布对虾出口目标", "zh"),
    ("ベトナム政府はエビの輸出目標を発表した", "ja"),
    ("베트남 정부는 새우 수출 목표를 발표했다", "ko"),
    ("Правительство Вьетнама объявило цели экспорта", "ru"),
    ("รัฐบาลเวียดนามประกาศเป้าหมาย", "th"),
    ("", "und"),
    ("12345 67,89 %", "und"),
])
def test_detect_language(text, lang):
    assert detect_language(text)[0] == lang


def test_vietnamese_prose_scores_one_and_english_near_zero():
    assert vietnamese_score(VI) == 1.0
    assert vietnamese_score("The shrimp industry must grow faster than it has in the past") == 0.0
    assert vietnamese_score("Nguyễn Xuân Phúc met the US president in Washington on Tuesday") < VI_THRESHOLD


def test_is_vietnamese_decision():
    assert is_vietnamese(VI)
    assert not is_vietnamese("The Prime Minister said the shrimp industry must grow faster.")
    assert not is_vietnamese(VI, threshold=1.01)


def test_unaccented_vietnamese_is_flagged_and_not_accepted():
    text = "Co loi xay ra, vui long thu lai sau\nBan can dang nhap de binh luan"
    assert looks_unaccented(text)
    assert detect_language(text)[0] == "vi"
    assert not is_vietnamese(text)
    assert not looks_unaccented(VI)


@pytest.mark.parametrize("line, flagged", [
    ("Ban can dang nhap de binh luan", True),
    ("Co loi xay ra, vui long thu lai sau", True),
    ("The quick brown fox jumps over the lazy dog", False),
    ("Bạn cần đăng nhập để bình luận", False),
    ("iPhone 8 Plus 64GB", False),
])
def test_looks_unaccented_line(line, flagged):
    assert looks_unaccented_line(line) is flagged
