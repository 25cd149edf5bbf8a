"""segment_words equals underthesea.word_tokenize on generated text (one text or a batch)."""
from __future__ import annotations

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from underthesea import word_tokenize

from transforms.segment import segment_words

_SYLLABLES = ["Hà", "Nội", "việt", "Nam", "NGƯỜI", "thành", "phố", "Hồ", "Chí", "Minh", "ông", "bà",
              "khởi", "nghiệp", "Th", "ThS", "Tp", "Mr", "Đà", "Nẵng", "ðà", "Ð", "quốc", "gia",
              "x", "D", "v", "e", "mail", "TP", "HCM", "UBND", "NĐ", "CP", "H", "M", "T", "Ư"]
_PIECES = st.one_of(
    st.sampled_from(_SYLLABLES),
    st.text(st.sampled_from(list(".,;:!?…-–—()[]{}\"'“”‘’/\\@#%&*+=<>^_~`|$°×÷ʺ♥‿")), min_size=1,
            max_size=6),                                                   # punctuation runs
    st.integers(-10**12, 10**12).map(str),                                 # numbers
    st.from_regex(r"\d{1,4}[./-]\d{1,4}([./-]\d{1,4})?", fullmatch=True),  # dates, fractions
    st.from_regex(r"\d{1,2}:\d{2}(:\d{2})?", fullmatch=True),              # times
    st.from_regex(r"\d{1,3}([.,]\d{3}){0,3}(,\d{1,2})?", fullmatch=True),  # 60.542.000
    st.from_regex(r"(https?://)?[a-z0-9]{1,8}\.(vn|com|net)(/[a-z0-9._()-]{0,10})?",
                  fullmatch=True),                                         # URLs
    st.from_regex(r"[a-z0-9._+-]{1,8}@[a-z0-9-]{1,8}\.[a-z.]{2,6}", fullmatch=True),  # e-mails
    st.from_regex(r"[A-ZĐ]{1,4}(\.[A-Za-zđ]{1,3}){0,2}\.?|\d+[A-Z]+\d*(-\d+)?", fullmatch=True),
    st.sampled_from(["😀", "🇻🇳", "👍🏽", "❤️", ":D", ":))", "=))", "<3", "♥‿♥", "©", "™", "№"]),
    st.sampled_from(["Σίσυφος", "Москва", "東京", "한국", "ﬁ", "ǅ", "İ", "ß", "ŉ", "Ⅻ", "Ⓐ", "ｗ"]),
    st.text(max_size=4),                                                   # anything at all
)
_GLUE = st.sampled_from(["", " ", " ", " ", "  ", "\n", "\t", "\u00a0", "\u3000", " \n"])


@st.composite
def _texts(draw):
    parts = draw(st.lists(st.tuples(_PIECES, _GLUE), max_size=25))
    return draw(_GLUE) + "".join(p + g for p, g in parts)


def _expected(text: str) -> list[str]:
    return [] if not text or text.isspace() else word_tokenize(text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_texts())
@example("")
@example("   \n\t ")
@example("Ông ABC.")
@example("Ông ABC. \n")
@example("ThuSa Thiso :D")
@example("ΣΑΣ. Σ")
def test_one_text_equals_word_tokenize(text):
    assert segment_words([text]) == [_expected(text)]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_texts(), max_size=12))
def test_a_batch_equals_word_tokenize_per_text(texts):
    assert segment_words(texts) == [_expected(t) for t in texts]
