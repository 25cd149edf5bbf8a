"""decode_bytes: each encoding recovers NFC Vietnamese after normalize; rejects carry exact codes."""
from __future__ import annotations

import tarfile
import time
import unicodedata
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from transforms.decode import decode_bytes, repair_mojibake
from transforms.normalize import normalize_text
from transforms.reasons import REJECT_REASONS

TEXT = ("Tiếng Việt là ngôn ngữ của người Việt và là ngôn ngữ chính thức tại Việt Nam.\n"
        "Thủ tướng Nguyễn Xuân Phúc dự hội nghị phát triển ngành tôm ở Khánh Hòa.")
_TONES = "\u0300\u0301\u0303\u0309\u0323"


def to_cp1258(text: str) -> bytes:
    """cp1258 holds â ê ô ă ơ ư đ precomposed but the five tones only as combining marks."""
    out = []
    for ch in unicodedata.normalize("NFC", text):
        parts = unicodedata.normalize("NFD", ch)
        base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in _TONES))
        out.append(base + "".join(c for c in parts if c in _TONES))
    return "".join(out).encode("cp1258")


def roundtrip(data: bytes) -> tuple[str, str]:
    d = decode_bytes(data)
    assert d.reason is None, d.detail
    return normalize_text(d.text), d.encoding


@pytest.mark.parametrize("data, encoding", [
    (TEXT.encode("utf-8"), "utf-8"),
    (TEXT.encode("utf-8-sig"), "utf-8-sig"),
    (TEXT.encode("utf-16"), "utf-16"),
    (TEXT.encode("utf-32"), "utf-32"),
    (TEXT.encode("utf-16-le"), "utf-16-le"),
    (to_cp1258(TEXT), "cp1258"),
    (unicodedata.normalize("NFD", TEXT).encode("utf-8"), "utf-8"),
    (TEXT.encode("utf-8").decode("latin-1").encode("utf-8"), "utf-8+mojibake-repaired"),
])
def test_each_encoding_decodes_to_nfc_vietnamese(data, encoding):
    text, got = roundtrip(data)
    assert got == encoding
    assert text == TEXT


def test_mojibake_through_cp1252_is_repaired():
    broken = "Việt Nam".encode("utf-8").decode("cp1252", errors="replace")
    assert broken == "Viá»‡t Nam"
    text, enc = roundtrip(("Tin tức " + broken + " hôm nay").encode("utf-8"))
    assert enc == "utf-8+mojibake-repaired"
    assert text == "Tin tức Việt Nam hôm nay"


def test_cp1258_wins_over_cp1252_for_vietnamese():
    text, enc = roundtrip(to_cp1258("Hoà bình cho thuỷ thủ và người dân của đất nước"))
    assert enc == "cp1258"
    assert text == "Hòa bình cho thủy thủ và người dân của đất nước"


def test_line_endings_are_unified():
    d = decode_bytes("một\r\nhai\rba\nbốn".encode("utf-8"))
    assert d.text == "một\nhai\nba\nbốn"


def test_sprinkled_nuls_and_inner_bom_decode_and_normalize_away():
    data = TEXT.encode("utf-8").replace(b" ", b" \x00", 5) + "\ufeffthêm".encode("utf-8")
    text, enc = roundtrip(data)
    assert enc == "utf-8"
    assert "\x00" not in text and "\ufeff" not in text
    assert text.endswith("thêm")


@pytest.mark.parametrize("data, reason", [
    (b"", "extract.empty"),
    (b" \r\n\t \n", "extract.whitespace_only"),
    ("\u00a0\ufeff\u200b \n".encode("utf-8"), "extract.whitespace_only"),
    (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "extract.binary"),
    (b"\x7fELF\x02\x01\x01" + bytes(300), "extract.binary"),
    (bytes(1000) + b"abc", "extract.binary"),
    (bytes(range(0, 32)) * 50 + "Việt".encode(), "extract.binary"),
    (bytes(range(0x80, 0x100)) * 20, "decode.undecodable"),
])
def test_rejects_carry_exact_reason(data, reason):
    d = decode_bytes(data)
    assert d.text is None
    assert d.reason == reason
    assert d.reason in REJECT_REASONS
    assert d.detail


def test_binary_detail_names_the_share():
    d = decode_bytes(bytes(1000) + b"abc")
    assert "NUL bytes make up" in d.detail


def test_a_few_broken_utf8_bytes_do_not_reject_the_file():
    data = ("Thủ tướng " * 200).encode("utf-8") + b"\xff" + "Việt Nam".encode("utf-8")
    d = decode_bytes(data)
    assert d.reason is None
    assert d.encoding == "utf-8+replaced"
    assert d.text.endswith("\ufffdViệt Nam")


def test_five_megabytes_decode_fast():
    data = (TEXT + "\n").encode("utf-8") * (5_000_000 // len(TEXT.encode("utf-8")))
    t0 = time.thread_time()
    d = decode_bytes(data)
    assert d.encoding == "utf-8"
    assert time.thread_time() - t0 < 1.0


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_never_raises_on_any_bytes(data):
    d = decode_bytes(data)
    assert (d.text is None) == (d.reason is not None)
    if d.reason is not None:
        assert d.reason in REJECT_REASONS
    else:
        assert "\r" not in d.text


# -- mojibake repair cannot make things worse (issue 16, item 5) ------------------------------

CORPUS = Path(__file__).resolve().parents[3].parent / "shared" / "corpora" / "baomoi-2017.tar.gz"


@pytest.mark.parametrize("line", [
    # the lines of the three baomoi-2017 files (21486561, 22374545, 22602449) that the old
    # repair turned into U+1154 HANGUL JAMO and U+1514 CANADIAN SYLLABICS
    "“Tôi đã nhiều lần đi lộng. Chỉ tiếc thuyền mình bé quá…”. Tư tưởng bó hẹp của ngư dân.",
    "Đó là giá ảo, bởi có thể do môi giới tự “thổi giá””, ông Hiếu nêu dấu hiệu.",
    "“Con không muốn về, nhưng mẹ bảo phải về đây. Nhà dạo này nhiều việc quá…” – V. xem đồng hồ",
    "BÀ NGÃ” và “CHỊ NGÃ…",                 # weak signatures only: an all-caps word, then punctuation
    "Giá vàng “lên cao” ở mức kỷ lục tháng trước, sau đó giá… “rơi” mạnh.",
])
def test_valid_utf8_with_false_signatures_is_kept_byte_for_byte(line):
    d = decode_bytes(line.encode("utf-8"))
    assert d.encoding == "utf-8"
    assert d.text == line


@pytest.mark.parametrize("broken, fixed", [
    ("Tin tức Viá»‡t Nam hôm nay", "Tin tức Việt Nam hôm nay"),
    # a run mixing intact Vietnamese with a mojibake quote; the old ftfy fallback needed the run whole
    ("â€œCâu nói” cá»§a Ã”ng Ba", "“Câu nói” của Ông Ba"),
    # a weak sequence ('Ã–', then '–') is repaired because the text holds strong ones
    ("Ã–zil ghi bàn trong tráº­n Ä‘áº¥u", "Özil ghi bàn trong trận đấu"),
])
def test_real_mojibake_is_still_repaired(broken, fixed):
    d = decode_bytes(broken.encode("utf-8"))
    assert d.encoding == "utf-8+mojibake-repaired"
    assert d.text == fixed


def test_repair_mojibake_leaves_a_sequence_of_another_script_alone():
    # 'á' + '€' + '…' is E1 80 85, U+1005 MYANMAR LETTER CHA: not repaired, though valid UTF-8
    text = "Viá»‡t và giá€… hôm nay"
    assert repair_mojibake(text) == "Việt và giá€… hôm nay"


def _letters(text) -> set[str]:
    return {c for c in text if c.isalpha()}


# Text that is not itself mojibake: no Latin-1 symbols (U+0080-00BF) and none of the 2-byte
# lead letters Â Ã Ä Å Æ, which together are what UTF-8 Vietnamese read as cp1252 looks like.
# It still holds every lead that appears in Vietnamese (á â) next to cp1252 punctuation.
_TRICKY = list("áâàãéêíóôúýăđơư…“”‘’–—•€‚ƒ„†‡ˆ‰Š‹ŒŽ˜™š›œžŸ.,;:!?\"' \n")
_NOT_MOJIBAKE = st.one_of(
    st.sampled_from(_TRICKY),
    st.sampled_from(["quá", "giá", "Việt", "Nam", "nhiều", "đã", "Ông", "BÀ", "NGÔ"]),
    st.characters(blacklist_categories=("Cs",),
                  blacklist_characters=[chr(c) for c in range(0x80, 0xC0)] + list("ÂÃÄÅÆ")),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_NOT_MOJIBAKE, max_size=60).map("".join))
def test_valid_text_gains_no_letter_it_lacks(text):
    data = text.encode("utf-8")
    assume(data.count(0) * 4 < len(data))     # NUL on every other byte is UTF-16 evidence, not UTF-8
    d = decode_bytes(data)
    if d.text is not None:
        assert _letters(d.text) <= _letters(text)


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=80))
def test_any_text_gains_only_latin_letters(text):
    """On any text, real mojibake included, a letter the repair adds is a Latin letter."""
    data = text.encode("utf-8")
    assume(data.count(0) * 4 < len(data))
    d = decode_bytes(data)
    if d.text is not None:
        assert all(c < "\u0250" or "\u1e00" <= c <= "\u1eff" for c in _letters(d.text) - _letters(text))


@pytest.mark.slow
def test_no_valid_utf8_corpus_file_gains_a_letter():
    """Every valid-UTF-8 file of baomoi-2017: the decoded text holds no letter its bytes lack."""
    if not CORPUS.exists():
        pytest.skip(f"corpus not found at {CORPUS} (shared/corpora/baomoi-2017.tar.gz beside the project)")
    checked = 0
    gained = {}
    with tarfile.open(CORPUS) as tf:
        for member in tf:
            if not member.isfile():
                continue
            data = tf.extractfile(member).read()
            try:
                source = data.decode("utf-8")
            except UnicodeDecodeError:
                continue
            checked += 1
            d = decode_bytes(data)
            if d.text is not None:
                extra = _letters(set(d.text) - set(source))
                if extra:
                    gained[member.name] = "".join(sorted(extra))
    assert checked > 30_000
    assert not gained, f"{len(gained)} files gained letters: {dict(list(gained.items())[:10])}"
