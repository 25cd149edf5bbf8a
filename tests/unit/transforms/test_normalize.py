"""normalize_text / normalize_word: one test per rule, with real Vietnamese."""
from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest

from transforms.normalize import normalize_lines, normalize_text, normalize_word

SEEDS = Path(__file__).resolve().parents[3] / "seeds"


@pytest.mark.parametrize("word, expected", [
    # tone placement: underthesea's convention (first vowel of open oa/oe/uy)
    ("hoà", "hòa"), ("thuỷ", "thủy"), ("khoẻ", "khỏe"), ("Hoà", "Hòa"), ("HOÀ", "HÒA"),
    ("loà", "lòa"), ("xoà", "xòa"), ("Thuỵ", "Thụy"), ("tuỳ", "tùy"),
    # already in the convention: unchanged
    ("hòa", "hòa"), ("hoàn", "hoàn"), ("quý", "quý"), ("già", "già"), ("giữa", "giữa"), ("gìn", "gìn"),
    ("khuỷu", "khuỷu"), ("người", "người"), ("của", "của"), ("ngoài", "ngoài"), ("thuở", "thuở"),
    ("huơ", "huơ"), ("Huỳnh", "Huỳnh"), ("quốc", "quốc"), ("thuyền", "thuyền"),
    # typing errors: tone on the wrong vowel
    ("baỏ", "bảo"), ("đaị", "đại"), ("gìa", "già"), ("qúa", "quá"), ("ngòai", "ngoài"), ("hòan", "hoàn"),
    # typing errors: wrongly composed clusters, doubled tone marks
    ("lựơng", "lượng"), ("nghịêm", "nghiệm"), ("thuơng", "thương"), ("bưóc", "bước"), ("tạị", "tại"),
    # spelling variants rewritten by underthesea
    ("nghành", "ngành"), ("qui", "quy"), ("Qui", "Quy"),
    # the look-alike Ð (U+00D0) and ð (U+00F0)
    ("Ðà", "Đà"), ("ðại", "đại"), ("Ðaị", "Đại"), ("HÐND", "HĐND"), ("Ðắk", "Đắk"),
    # NFD input comes back NFC
    (unicodedata.normalize("NFD", "Khoẻ"), "Khỏe"),
])
def test_normalize_word(word, expected):
    assert normalize_word(word) == expected


@pytest.mark.parametrize("word", [
    "Chloé", "café", "José", "Guðmundsson", "iPhone", "eBay", "YouTube", "HTML5", "COVID",
    "Pokémon", "Zoé", "André", "x86", "abc123",
])
def test_foreign_words_and_codes_are_left_alone(word):
    assert normalize_word(word) == word


@pytest.mark.parametrize("text, expected", [
    ("Theo dõi Báo Gia Lai trênGoogle News", "Theo dõi Báo Gia Lai trên Google News"),
    ("Đội tuyển ViệtNam thắng", "Đội tuyển Việt Nam thắng"),
    ("về Hà NộiTheo lịch", "về Hà Nội Theo lịch"),
    ("Mua iPhone và MacBook ở McDonald's", "Mua iPhone và MacBook ở McDonald's"),
    ("xem trên YouTube, eBay, VnExpress, VinFast", "xem trên YouTube, eBay, VnExpress, VinFast"),
    ("tại TP.HCM, PGS.TS Nguyễn Văn A", "tại TP.HCM, PGS.TS Nguyễn Văn A"),
    ("Ông là giám đốC công ty", "Ông là giám đốC công ty"),       # a typo: 'đố C' would be worse
    ("niêm yết bằngUSD", "niêm yết bằng USD"),
])
def test_glued_words(text, expected):
    assert normalize_text(text) == expected


def test_khanh_hoa_in_a_sentence():
    assert normalize_text("Tỉnh Khánh Hoà, ngày 8-7.") == "Tỉnh Khánh Hòa, ngày 8-7."


def test_spaces_zero_width_and_controls():
    raw = "Hà\u00a0Nội\u200b  có\u2009mưa\t\x00to\ufeff \u202f"
    assert normalize_text(raw) == "Hà Nội có mưa to"


def test_other_line_separators_become_spaces():
    raw = "một\u2028hai\x0bba\x0cbốn\x85năm"
    assert normalize_text(raw) == "một hai ba bốn năm"


def test_line_count_is_preserved_and_lines_are_stripped():
    raw = "  Tiêu đề  \n\n \u00a0 \nĐoạn một.\r\n  Đoạn hai  "
    out = normalize_text(raw)
    assert out.split("\n") == ["Tiêu đề", "", "", "Đoạn một.", "Đoạn hai"]


def test_nfd_line_becomes_nfc():
    raw = unicodedata.normalize("NFD", "Thủ tướng Nguyễn Xuân Phúc")
    out = normalize_text(raw)
    assert out == "Thủ tướng Nguyễn Xuân Phúc"
    assert unicodedata.is_normalized("NFC", out)


def test_typography_policy():
    raw = "“Hàn Quốc–Việt Nam” ‘ok’ \"x\" 2017\u20102018 chờ đợi…"
    assert normalize_text(raw) == "“Hàn Quốc–Việt Nam” ‘ok’ \"x\" 2017-2018 chờ đợi..."


def test_normalize_lines_matches_normalize_text():
    lines = ["Hoà  bình", "", "thuỷ\u00a0thủ"]
    assert normalize_lines(lines) == ["Hòa bình", "", "thủy thủ"]


def test_urls_and_codes_untouched():
    raw = "https://example.com/hoà?id=trênGoogle www.hoà.vn hoà@mail.vn Mã 43H-0530, NĐ-CP"
    assert normalize_text(raw) == raw


# Words written in the other convention (tone on the second vowel of open oa/oe/uy).
_OTHER_CONVENTION = re.compile(r"(?<![qQ])[oOuU][àáảãạèéẻẽẹỳýỷỹỵÀÁẢÃẠÈÉẺẼẸỲÝỶỸỴ](?![^\W\d_])")


@pytest.mark.parametrize("path", sorted(SEEDS.glob("*.txt")), ids=lambda p: p.name)
def test_seeds_after_normalize_are_clean(path):
    raw = path.read_text(encoding="utf-8")
    out = normalize_text(raw)
    assert len(out.split("\n")) == len(raw.split("\n"))
    assert not _OTHER_CONVENTION.search(out)
    assert not re.search("[\u200b-\u200f\u2060\ufeff\u00a0\u202f]", out)
    assert unicodedata.is_normalized("NFC", out)
    assert "trênGoogle" not in out


def _oracle_pairs(lines: list[str]) -> list[tuple[str, str, str]]:
    from underthesea import text_normalize
    from underthesea.pipeline.word_tokenize.regex_tokenize import tokenize

    pairs = []
    for line in lines:
        tokens = tokenize(line)
        theirs = text_normalize(line).split(" ")
        assert len(tokens) == len(theirs)
        pairs.extend((tok, normalize_word(tok), th) for tok, th in zip(tokens, theirs))
    return pairs


def test_agrees_with_underthesea_word_by_word_on_seed_text():
    lines = [line for p in sorted(SEEDS.glob("*.txt")) for line in p.read_text(encoding="utf-8").split("\n")
             if line.strip()]
    pairs = _oracle_pairs(lines)
    assert len(pairs) > 3000
    assert [(tok, ours, th) for tok, ours, th in pairs if ours != th] == []


def test_agrees_with_underthesea_on_the_other_convention_and_typing_errors():
    line = ("Khánh Hoà hoà bình thuỷ lợi khoẻ mạnh Thuỷ Tuỳ uỷ ban baỏ đaị lựơng nghịêm "
            "gìa qúa ngòai hòan nghành thuơng bưóc tạị qui Ðà")
    pairs = _oracle_pairs([line])
    assert [(tok, ours, th) for tok, ours, th in pairs if ours != th] == []


# --- the fast path (section 5 of transforms/normalize.py) must give the exact path's output ---
from hypothesis import example, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from transforms import normalize as N  # noqa: E402

# Pieces that hit each window (and near misses), plus characters each branch of the fast
# path treats differently: replaced, deleted, decomposed, outside the four pages, astral.
_PIECES = [
    "hoà", "thuỷ", "baỏ", "quá", "già", "giá", "ngoài", "của", "gìa", "qúa", "gũi", "ngụy", "qui",
    "quí", "Qui", "Quick", "nghành", "nghĩa", "tạị", "đấú", "lựơng", "nghịêm", "hòan", "bưóc",
    "thuơng", "thuở", "Quới", "Ðà", "ðại", "HÐND", "Ðắk", "trênGoogle", "ViệtNam", "iPhone",
    "YouTube", "TP.HCM", "https://x.vn/hoà", "hoà@mail.vn", "www.hoà.vn", " ", "  ", "\n", " \n",
    "\n ", "\u00a0", "\u200b", "\t", "\r\n", "…", "\u2010", "\u00ad", "\x00", "\u0301", "\u0323",
    "\u2028", "😀", "жёлтый", "Müller", "●", "²", "_", "3", ".", ",", "“", "”",
]
_CHARS = st.sampled_from(
    list("aăâeêioôơuưyđbcdghklmnpqrstvxAĂÂEÊIOÔƠUƯYĐGHQ .,'-\n")
    + list("àáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵÐð")
    + list("ÀÁẢÃẠẦẤỒỐÙÚỦŨỤỲÝ")
)
_TEXTS = st.one_of(
    st.lists(st.sampled_from(_PIECES), max_size=30).map("".join),
    st.lists(st.one_of(st.sampled_from(_PIECES), _CHARS), max_size=60).map("".join),
    st.text(max_size=80),
)


@settings(max_examples=400, deadline=None)
@given(_TEXTS)
@example("Khánh Hoà\n\nthuỷ  lợi \n Ðà Nẵng…trênGoogle")
@example(unicodedata.normalize("NFD", "Khánh Hoà thuỷ lợi") + "\nhoà")
@example("😀 hoà")
@example("hoà 😀")
@example("Москва hoà\nhoà")
def test_fast_path_gives_the_exact_result(text):
    exact = N._normalize_exact(text)
    assert N._normalize_fast(text) == exact
    assert normalize_text(text) == exact


@pytest.mark.parametrize("line, expected", [
    # one window per line (the window's name in transforms/normalize.py in the comment)
    ("Khánh Hoà", "Khánh Hòa"),                    # (V1, P, NL)
    ("thuỷ lợi", "thủy lợi"),                      # (notq, u, P, NL)
    ("điạ phương", "địa phương"),                  # (notg, i, P, NL)
    ("nghịệm thu", "nghiệm thu"),                  # (PHT, HATTON)
    ("hòan thành", "hoàn thành"),                  # (P, UNT, LET)
    ("gìa yếu", "già yếu"),                        # (g, TI, VOW)
    ("qui định", "quy định"),                      # (q, u, IANY)
    ("nghành nghề", "ngành nghề"),                 # (g, h, BT)
    ("qúa trình", "quá trình"),                    # (q, TU, VOW)
    ("bưóc đi", "bước đi"),                        # (UH, OP)
    ("thuơng mại", "thương mại"),                  # (u, OH, ASC)
    ("trênGoogle", "trên Google"),                 # (LOWER, UPPER)
    ("Ðà Nẵng", "Đà Nẵng"),                        # (SPECIAL,) for Ð
    ("Hà  Nội", "Hà Nội"),                         # (SP, SP)
    ("Hà Nội ", "Hà Nội"),                         # (SP, LF)
    (" Hà Nội", "Hà Nội"),                         # (LF, SP)
    ("Hà\u00a0Nội…", "Hà Nội..."),                 # (SPECIAL,) for replaced characters
    ("quá già giá qua iPhone", "quá già giá qua iPhone"),   # near misses: no change
])
def test_fast_path_on_each_kind_of_window(line, expected):
    # long enough for normalize_text to take the fast path, with the line in the middle
    filler = "Người dân ở đây cho biết, việc này đã được chính quyền địa phương quan tâm."
    text = "\n".join([filler, line, filler])
    assert len(text) >= N._SHORT_TEXT
    assert normalize_text(text).split("\n") == [filler, expected, filler]


def test_fast_path_finds_no_window_in_clean_seed_lines():
    # the point of the fast path: on already normalized real text, no line needs the regexes
    for path in sorted(SEEDS.glob("*.txt")):
        out = normalize_text(path.read_text(encoding="utf-8"))
        at, found, bits = N._hits("." + out + "...")
        word_hits = (N._where(at, found, N._BITS_WORDS)
                     + [k for k in N._where(at, found, N._BIT_GLUED) if N._glued_may_split(out, k)])
        assert word_hits == [], path.name


def test_nfc_second_characters_are_not_modelled():
    # The fast path skips the NFC check when every character is in the four pages and not
    # SPECIAL, which is sound only if none of them can be the second half of a canonical
    # composition: scan the Unicode database for one.
    seconds = set()
    for cp in range(0x110000):
        dec = unicodedata.decomposition(chr(cp))
        if dec and not dec.startswith("<") and len(dec.split()) == 2:
            seconds.add(int(dec.split()[1], 16))
    assert 0x0301 in seconds and 0x0323 in seconds        # the scan sees the tone marks
    in_pages = [cp for cp in seconds if cp < 0x10000 and cp >> 8 in N._FAST_PAGES]
    # none today; a Unicode version that adds one must see it marked SPECIAL by the fast path
    assert [hex(cp) for cp in in_pages if "SPECIAL" not in N._char_props(chr(cp))] == []
    assert in_pages == [], "new composition partners in the fast pages: check the line above still holds"


def test_fast_path_is_linear_on_many_lines_to_fix():
    import time

    text = "hoà thuỷ\n" * 20_000 + "Ðà  Nẵng …" * 10_000
    start = time.perf_counter()
    out = normalize_text(text)
    assert time.perf_counter() - start < 30        # generous: well under a second unloaded
    assert out.startswith("hòa thủy\nhòa thủy\n")
    assert out.endswith("Đà Nẵng ...")
