"""decode_bytes: each encoding recovers NFC Vietnamese after normalize; rejects carry exact codes."""
from __future__ import annotations

import time
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.decode import decode_bytes
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
    t0 = time.perf_counter()
    d = decode_bytes(data)
    assert d.encoding == "utf-8"
    assert time.perf_counter() - t0 < 1.0


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_never_raises_on_any_bytes(data):
    d = decode_bytes(data)
    assert (d.text is None) == (d.reason is not None)
    if d.reason is not None:
        assert d.reason in REJECT_REASONS
    else:
        assert "\r" not in d.text
