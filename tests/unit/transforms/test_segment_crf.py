"""segment_crf (with the model read by segment_model) gives underthesea.word_tokenize's words."""
from __future__ import annotations

import logging
import pickle
import subprocess
import sys
import zlib
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from underthesea import word_tokenize

import transforms.segment_crf as crf
import transforms.segment_model as model
from transforms.segment import segment_words

ROOT = Path(__file__).resolve().parents[3]

# each line hits one rule of underthesea's regex tokenizer or one feature function
TRICKY = [
    "Chàng trai 9X Quảng Trị khởi nghiệp từ nấm sò",
    "ThuSa và Thiso",                                 # unescaped "Th.S"/"Th.s" in the abbr rule
    "Ông ABC. Bà XYZ.",                               # "[A-ZĐ]+\\.(?!$)": differs at the very end
    "Ông ABC.\n",                                     # `$` also matches before a final newline
    "Ông ABC. \n",
    "Đạo diễn :Dương Tuấn Anh cười :D :D",
    "Xem http://baomoi.com/a-b/c(1).epi hoặc vnexpress.net/x, gửi ban.doc@gmail.com.",
    "Ngày 02/05/2014, 20.08.2014 lúc 10:20:50; giá 4.123,2 đồng; 60.542.000 và 100,000,000.",
    "Xe 43H-0530, TP.HCM, H&M, T.Ư, NĐ-CP, Th.S, Mr. Smith, H'Mông, N’Thôn Hạ, e-mail",
    "1.600m-2.000m, 3x4, 4K, v.v... ==> -> => >> -- ...",
    "Số 2147483647 và 2147483648, -5, +7, 0007",       # isdigit is Rust's i32 parse
    "😀 Việt Nam 🇻🇳 vô địch!!! ♥‿♥ <3 =))",
    "ÐÀ NẴNG ðà nẵng Ð",                              # character map: Ð -> Đ
    "Hoa\u0300 bi\u0300nh",                           # decomposed marks: NFC first
    "a\u00a0b\u2003c\u3000d\te\r\nf",                 # unicode whitespace
    "x",
    ".",
]


@pytest.fixture(scope="module")
def seg():
    s = crf.load_segmenter()
    assert s is not None, "installed underthesea model should be supported"
    return s


def test_tricky_texts_equal_word_tokenize(seg):
    assert seg.segment(TRICKY) == [word_tokenize(t) for t in TRICKY]


def test_each_text_alone_equals_the_batch(seg):
    batch = seg.segment(TRICKY)
    assert [seg.segment([t])[0] for t in TRICKY] == batch


def test_text_outside_the_safe_set_goes_to_underthesea(seg):
    texts = ["Ông Σίσυφος ΣΑΣ ở Hà Nội", "Москва và Hà Nội", "東京 và Hà Nội"]
    assert [seg.token_ids(t) for t in texts] == [None, None, None]
    assert seg.segment(texts) == [word_tokenize(t) for t in texts]


def test_whitespace_only_gives_no_words(seg):
    assert seg.segment(["", " ", "\n\t\u00a0"]) == [[], [], []]
    assert segment_words(["", " ", "Hà Nội"]) == [[], [], ["Hà Nội"]]


def test_small_cache_limit_resets_without_changing_words():
    s = crf.CrfSegmenter(*model.load_installed(), cache_limit=50)
    first = [s.segment([t])[0] for t in TRICKY]
    assert len(s._strs) > s._base          # the texts added syllables past the base ...
    s._cache_limit = 0
    s._reset_if_large()                     # ... and are cut back (segment() does this first)
    assert len(s._strs) == s._base and not s._mid and not s._last
    again = s.segment(TRICKY)
    assert first == again == [word_tokenize(t) for t in TRICKY]


def _reference_viterbi(em, trans):
    """underthesea_core's loop: strict '>' so the lower label wins a tie."""
    n = len(em)
    score = [list(em[0])]
    back = [[0, 0]]
    for t in range(1, n):
        row, b = [], []
        for y in range(2):
            best, arg = -np.inf, 0
            for yp in range(2):
                s = score[t - 1][yp] + trans[yp][y]
                if s > best:
                    best, arg = s, yp
            row.append(best + em[t][y])
            b.append(arg)
        score.append(row)
        back.append(b)
    last = 1 if score[-1][1] > score[-1][0] else 0
    out = [last]
    for t in range(n - 1, 0, -1):
        out.append(back[t][out[-1]])
    return out[::-1]


def test_vectorized_viterbi_breaks_ties_like_underthesea_core(seg):
    rng = np.random.default_rng(7)
    lengths = rng.integers(1, 12, size=60)
    em = rng.integers(-2, 3, size=(int(lengths.sum()), 2)).astype(float)   # many ties
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    got = seg._viterbi(em, starts, lengths)
    for s0, n in zip(starts, lengths):
        assert got[s0:s0 + n].tolist() == _reference_viterbi(em[s0:s0 + n], seg._trans)


@pytest.mark.parametrize("token,expected", [
    ("123", True), ("0007", True), ("+7", True), ("-5", True), ("2147483647", True),
    ("-2147483648", True), ("2147483648", False), ("-", False), ("+", False), ("", False),
    ("١٢٣", False), ("1_000", False), ("12a", False),
    # long runs (a hostile page): Rust parses leading zeros; int() refuses over 4,300 digits
    ("9" * 20000, False), ("0" * 20000 + "7", True), ("0" * 5000, True), ("12345678901", False),
    ("-" + "0" * 12 + "2147483648", True), ("+" + "0" * 12 + "2147483648", False),
])
def test_isdigit_is_rusts_i32_parse(token, expected):
    assert crf._rust_isdigit(token) is expected


@pytest.mark.parametrize("template", ["T[0][1]", "T[-3]", "T[0,4]", "T[1,0]", "T[0].upper", "W[0]"])
def test_unsupported_templates_are_refused(template):
    with pytest.raises(model.UnsupportedModel):
        model.parse_templates(["T[0]", template])


def test_model_file_is_read_like_underthesea_core():
    labels, attrs, state, trans, templates, dictionary, *_tokenizer = model.load_installed()
    assert sorted(labels) == ["B-W", "I-W"]
    assert len(templates) == 43 and len(dictionary) > 50_000
    assert state.shape == (len(attrs), 2) and trans.shape == (2, 2)
    assert np.count_nonzero(state) > 50_000
    with pytest.raises(model.UnsupportedModel):
        model._read_crfsuite(b"UTCF" + bytes(60))


def test_unsupported_model_logs_one_line_and_falls_back(monkeypatch, caplog):
    # a different model cannot be installed in a test: the loader's refusal is injected
    def refuse():
        raise model.UnsupportedModel("templates changed")

    monkeypatch.setattr(crf, "load_installed", refuse)
    monkeypatch.setattr(crf, "_segmenter", crf._UNSET)
    with caplog.at_level(logging.WARNING, logger="transforms.segment_crf"):
        out = segment_words(TRICKY[:3])
        out2 = segment_words(TRICKY[3:6])
    assert out + out2 == [word_tokenize(t) for t in TRICKY[:6]]
    lines = [r for r in caplog.records if r.name == "transforms.segment_crf"]
    assert len(lines) == 1 and "templates changed" in lines[0].getMessage()
    assert "underthesea.word_tokenize" in lines[0].getMessage()


def test_model_files_are_read_without_importing_underthesea():
    # a fresh interpreter: loading the segmenter must not run underthesea/__init__.py (all
    # its pipelines) nor joblib, and the real package must still import afterwards
    code = """
import sys
import transforms.segment_crf as crf
seg = crf.load_segmenter()
assert seg is not None
heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('underthesea', 'joblib', 'requests'))
print(heavy)
from underthesea import word_tokenize
import underthesea.pipeline.word_tokenize.regex_tokenize as rt
t = 'Ông ABC. Xe 43H-0530, TP.HCM ngày 02/05/2014: ÐÀ NẴNG =))'
assert seg.segment([t]) == [word_tokenize(t)], (seg.segment([t]), word_tokenize(t))
assert seg._regex_tokenize is not rt.tokenize and seg._regex_tokenize(t) == rt.tokenize(t)
print('ok')
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["[]", "ok"]


def test_model_pickles_with_classes_or_compression_are_refused():
    assert model._plain_pickle(pickle.dumps(["T[0]", {"a b"}, {"x": "y"}])) == ["T[0]", {"a b"}, {"x": "y"}]
    with pytest.raises(model.UnsupportedModel, match="fractions.Fraction"):
        model._plain_pickle(pickle.dumps([Fraction(1, 2)]))
    with pytest.raises(model.UnsupportedModel, match="not a plain pickle"):
        model._plain_pickle(zlib.compress(pickle.dumps(["T[0]"])))         # joblib's compress=True
