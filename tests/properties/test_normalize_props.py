"""Properties of normalize_text: never raises, idempotent, NFC, keeps the line count."""
from __future__ import annotations

import unicodedata

from hypothesis import example, given, settings
from hypothesis import strategies as st

from transforms.normalize import normalize_text, normalize_word

# Vietnamese letters in both precomposed and decomposed form, odd spaces, controls and separators.
_ALPHABET = st.sampled_from(
    list("aăâeêioôơuưyđngqhkt AOUYĐQ.,-'“”…")
    + list("àáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵÐð")
    + ["\u0300", "\u0301", "\u0309", "\u0303", "\u0323", "\u0302", "\u031b", "\u0306"]
    + ["\n", "\r", "\t", "\x00", "\x0b", "\x0c", "\x85", "\u2028", "\u00a0", "\u200b", "\ufeff", "\u202f"]
)
_TEXT = st.one_of(st.text(_ALPHABET, max_size=200), st.text(max_size=200))


@settings(max_examples=500, deadline=None)
@given(_TEXT)
@example("hoà\u200bbình")
@example("Ðaị hoà thuỷ trênGoogle qui")
@example(unicodedata.normalize("NFD", "Khánh Hoà\n\nthuỷ"))
def test_normalize_text_properties(text):
    once = normalize_text(text)
    assert normalize_text(once) == once
    assert unicodedata.is_normalized("NFC", once)
    assert len(once.split("\n")) == len(text.split("\n"))
    assert "\u00a0" not in once and "\u200b" not in once and "\x00" not in once


@settings(max_examples=300, deadline=None)
@given(st.text(_ALPHABET, max_size=12))
def test_normalize_word_is_idempotent(word):
    once = normalize_word(word)
    assert normalize_word(once) == once
    assert unicodedata.is_normalized("NFC", once)
