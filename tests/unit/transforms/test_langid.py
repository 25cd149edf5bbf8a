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


# -- pages dense with names: decide on what is not a name (issue 16, item 4) -------------------

from pathlib import Path  # noqa: E402

from transforms.langid import MIN_CONTENT_LETTERS, content_score  # noqa: E402

# Vietnamese sports and listing pages written in the styles of several outlets: most of the
# letters are foreign names, all-caps names, score lines and table cells.
VI_DENSE = {
    "line-ups (vietnamnet)": (
        "Real Madrid thắng Barcelona 2-1 trên sân nhà và giữ vững ngôi đầu bảng.\n"
        "Đội hình ra sân: Real Madrid: Navas; Carvajal, Varane, Ramos, Marcelo; Modric, Casemiro "
        "(Kovacic 77'), Kroos; Isco (Asensio 68'), Benzema (Morata 80'), Ronaldo. Barcelona: "
        "ter Stegen; Sergi Roberto, Pique, Umtiti, Jordi Alba; Busquets, Rakitic (Andre Gomes 85'), "
        "Iniesta; Messi, Suarez, Neymar. Bàn thắng: Ronaldo 28', Ramos 86' - Messi 33', 90'+2."),
    "table (thanhnien)": (
        "Thủ môn giữ sạch lưới nhiều nhất:\n"
        "MANUEL NEUER | Bayern Munich | 9 trận\nJAN OBLAK | Atletico Madrid | 11 trận\n"
        "THIBAUT COURTOIS | Chelsea FC | 13 trận\nDAVID DE GEA | Manchester United | 9 trận\n"
        "HUGO LLORIS | Tottenham Hotspur | 9 trận\nKEYLOR NAVAS | Real Madrid | 8 trận\n"
        "GIANLUIGI BUFFON | Juventus | 14 trận\nSTEVE MANDANDA | Crystal Palace | 6 trận"),
    "schedule (tuoitre)": (
        "Lịch thi đấu và truyền hình trực tiếp cuối tuần này.\n"
        "PREMIER LEAGUE - Thứ Bảy 13.5: 18 : 30 Manchester City - Leicester City, "
        "21 : 00 Bournemouth - Burnley, Chelsea - West Brom, Everton - Watford, Stoke City - Arsenal, "
        "23 : 30 Liverpool - Southampton. Chủ Nhật 14.5: 20 : 00 Tottenham - Manchester United."),
    "ranking (zing)": (
        "Danh sách 10 bàn thắng đẹp nhất mùa: 01. Zlatan Ibrahimovic vs Saint-Etienne 02. Henrikh "
        "Mkhitaryan vs Sunderland 03. Olivier Giroud vs Crystal Palace 04. Emre Can vs Watford 05. "
        "Andy Carroll vs Crystal Palace 06. Dele Alli vs Chelsea."),
}

FOREIGN = {
    "en": ("Vietnam's central bank kept its policy rate unchanged on Tuesday, saying inflation "
           "was under control and credit growth would reach about 18 percent this year.", "en"),
    "en, Vietnamese names": ("Nguyễn Xuân Phúc met Donald Trump at the White House on Wednesday, "
                             "and Trần Đại Quang will travel to Đà Nẵng for the summit in November.", "en"),
    "en, sports": ("Manchester United beat Ajax 2-0 in Stockholm to win the Europa League. Pogba "
                   "18', Mkhitaryan 48'. The win sends the club back into the Champions League.", "en"),
    "fr": ("Le Premier ministre vietnamien a été reçu à l'Élysée mercredi. « C'est une étape "
           "décisive », a déclaré le président après la signature des accords.", "fr"),
    "fr, sports": ("Le PSG s'est imposé 3-0 face à Monaco au Parc des Princes. Buts: Cavani 12', "
                   "Neymar 40', Mbappé 77'. L'équipe a dominé la rencontre et conserve la tête.", "fr"),
    "pt": ("O primeiro-ministro do Vietnã chegou na quarta-feira a Lisboa. Segundo o comunicado, "
           "os dois países vão assinar acordos; não há previsão de visita ao Porto.", None),
    "cs": ("Vietnamský premiér přijel ve středu do Prahy na oficiální návštěvu. Podle prohlášení "
           "obě země podepíší dohody o spolupráci v energetice a vzdělávání.", None),
    "hu": ("A vietnámi miniszterelnök szerdán hivatalos látogatásra érkezett Budapestre. A "
           "közlemény szerint a két ország együttműködési megállapodást ír alá.", None),
    "id": ("Perdana Menteri Vietnam tiba di Jakarta pada hari Rabu untuk kunjungan resmi. Ia juga "
           "akan bertemu dengan Presiden Joko Widodo di Istana Merdeka.", "id"),
    "zh": ("越南总理周三抵达北京进行正式访问。根据声明，两国将签署能源和教育领域的合作协议。", "zh"),
    "th": ("นายกรัฐมนตรีเวียดนามเดินทางถึงกรุงเทพฯ เมื่อวันพุธเพื่อเยือนอย่างเป็นทางการ", "th"),
}


@pytest.mark.parametrize("name", sorted(VI_DENSE))
def test_vietnamese_dense_with_names_is_vietnamese(name):
    text = VI_DENSE[name]
    assert vietnamese_score(text) < VI_THRESHOLD          # the whole-text score alone rejected these
    lang, score = detect_language(text)
    assert lang == "vi" and score >= VI_THRESHOLD


@pytest.mark.parametrize("name", sorted(FOREIGN))
def test_foreign_text_is_still_rejected(name):
    text, lang = FOREIGN[name]
    got, score = detect_language(text)
    assert got != "vi", (got, score)
    if lang is not None:
        assert got == lang
    assert content_score(text)[0] < 0.1


def test_content_score_ignores_names_digits_and_score_lines():
    # capitalized, all-caps and mixed-case words and digits are not content
    assert content_score("Real Madrid 2-1 BARCELONA, iPhone 8 Plus") == (0.0, 0)
    score, letters = content_score("MANUEL NEUER | Bayern | 8 trận sạch lưới")
    assert letters == len("trậnsạchlưới")
    assert score == 0.5            # Vietnamese letters, but no function word among the three


def test_content_score_weighs_paragraphs_by_their_letters():
    vi = "hai ngôi sao hàng đầu đều có tên trong danh sách bàn đẹp nhất mùa này"
    en = "the two stars are on the list"
    mixed, letters = content_score(vi + "\n" + en)
    vi_only, vi_letters = content_score(vi)
    en_only, en_letters = content_score(en)
    assert letters == vi_letters + en_letters
    assert mixed == pytest.approx((vi_only * vi_letters + en_only * en_letters) / letters)
    assert en_only == 0.0 < mixed < vi_only == 1.0


def test_few_content_letters_fall_back_to_the_whole_text_score():
    text = "Ronaldo, Messi, Neymar, Suarez, Griezmann, Lewandowski: hết"   # 3 lower-case letters
    assert content_score(text)[1] < MIN_CONTENT_LETTERS
    assert detect_language(text) == ("und", vietnamese_score(text))


def test_toned_letters_of_other_languages_do_not_count():
    # é, á, ã inside words that do not spell a Vietnamese syllable
    assert content_score("déclaré été américaine développement")[0] == 0.0
    assert content_score("não são também através")[0] < 0.3
    assert content_score("những bàn thắng đẹp nhất của mùa")[0] == 1.0


CORPUS = Path(__file__).resolve().parents[3].parent / "shared" / "corpora" / "baomoi-2017.tar.gz"
# the sports pages of baomoi-2017 that were rejected as language.not_vietnamese (scores 0.20-0.30)
DENSE_CORPUS_FILES = ["21487569", "21512474", "22220325", "22228034", "22364615", "22449498",
                      "22643290", "22655806"]


@pytest.mark.slow
def test_corpus_sports_pages_are_accepted():
    if not CORPUS.exists():
        pytest.skip(f"corpus not found at {CORPUS} (shared/corpora/baomoi-2017.tar.gz beside the project)")
    import tarfile

    import pyarrow as pa

    from transforms import tables as T
    from transforms.pipeline import BatchConfig, transform_batch

    wanted = {f"baomoi-2017/{n}.txt" for n in DENSE_CORPUS_FILES}
    rows = []
    with tarfile.open(CORPUS) as tf:
        for member in tf:
            if member.name in wanted:
                data = tf.extractfile(member).read()
                body = data.decode("utf-8").split("\n", 1)[1]      # without the title line
                assert detect_language(body)[0] == "vi", member.name
                rows.append({"source_path": member.name, "source_sha256": "0" * 64, "size_bytes": len(data),
                             "content": data, "reject_reason": None, "reject_detail": None})
    assert len(rows) == len(DENSE_CORPUS_FILES)
    out = transform_batch(pa.Table.from_pylist(rows, schema=T.DOCUMENTS),
                          BatchConfig(run_id="t", with_tokens=False))
    assert out.rejects.num_rows == 0, out.rejects.to_pylist()
    assert out.articles.num_rows == len(DENSE_CORPUS_FILES)
    assert set(out.articles["language"].to_pylist()) == {"vi"}


def test_letter_profile_equals_per_part_counts():
    """detect_language counts letters with one BMP table (_letter_profile); it must agree with
    _code_points and _non_latin_letters, character by character and on mixed texts."""
    from transforms import langid

    bits = langid._bmp_bits()
    for i in range(0x10000):
        c = chr(i)
        want = c.isalpha() | (2 if c in langid.VI_SPECIFIC else 0) | (4 if langid._NON_LATIN_LETTER.match(c) else 0)
        assert int(bits[i]) == want, hex(i)
    for text in ["Hà Nội, ngày 5/2", "Привет và мир", "日本語のテキスト", "Ⅻ và ⅰ ²", "abc 😀 và", "", "12 345"]:
        letters, vi, cps = langid._code_points(text)
        l2, v2, _, non_latin = langid._letter_profile(text)
        assert (l2, v2) == (letters, vi)
        assert non_latin == bool(langid._non_latin_letters(cps)) or any(ord(c) > 0xFFFF for c in text)
