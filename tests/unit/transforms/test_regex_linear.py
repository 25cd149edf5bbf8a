"""Every regular expression of the cleaning rules, and every text step, runs in linear time.

By construction: the test walks the globals of the transforms modules (re.Pattern objects,
also inside lists, tuples and dicts, which covers the patterns built from the lexicon at
import) and the regexes of expectations/*.json as the gate fills them in, runs each one
with `finditer` (every start position: the worst case of search/match/sub/split) over
pathological strings, and checks that the time at 4n is at most ~8x the time at n
(quadratic growth gives 16x), plus an absolute bound. The step functions are checked the
same way on whole documents, because a linear regex called once per match inside a loop
over the text is quadratic too (that is what was found and fixed in normalize and decode).

Timing on a shared 2-core machine is noisy: minimum of repeats, a 1 ms floor below which
ratios are not judged, a re-measure before failing, and generous absolute bounds.
"""
from __future__ import annotations

import gc
import hashlib
import importlib
import json
import re
import time
from importlib import resources
from typing import Callable

import pyarrow as pa
import pytest

TRANSFORM_MODULES = ["clean.cues", "clean.lines", "clean.inline", "clean.tail", "chrome", "headline", "text_tables", "dates", "normalize", "decode", "langid", "features", "dedup", "segment",
                     "pipeline"]
N = 25_000                # the small size; the large one is 4 * N = 100k characters
RATIO = 8.0               # linear is 4x; quadratic is 16x
FLOOR_S = 10e-3           # below this, timings are noise: ratios use max(t_n, FLOOR_S). A
                          # quadratic scan of 25k characters takes far longer than this.
BOUND_S = 2.0             # absolute bound for one call on 100k characters


# -- what to measure -------------------------------------------------------------------------

def _walk(value, name: str, out: dict[str, re.Pattern], depth: int = 0) -> None:
    if isinstance(value, re.Pattern):
        out.setdefault(name, value)
    elif depth < 2 and isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _walk(v, f"{name}[{i}]", out, depth + 1)
    elif depth < 2 and isinstance(value, dict):
        for k, v in value.items():
            _walk(v, f"{name}[{k!r}]", out, depth + 1)


def transform_patterns() -> dict[str, re.Pattern]:
    """Every compiled pattern reachable from the globals of the transforms modules."""
    out: dict[str, re.Pattern] = {}
    for mod in TRANSFORM_MODULES:
        m = importlib.import_module(f"transforms.{mod}")
        for name, value in vars(m).items():
            if name.startswith("__") or isinstance(value, type(re)):
                continue
            _walk(value, f"{mod}.{name}", out)
    return out


def _regexes_in(value, path: str, out: dict[str, str]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            if k == "regex" and isinstance(v, str):
                out[path] = v
            elif k == "regex_list" and isinstance(v, list):
                for i, r in enumerate(v):
                    out[f"{path}[{i}]"] = r
            else:
                _regexes_in(v, f"{path}.{k}", out)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _regexes_in(v, f"{path}[{i}]", out)


def expectation_patterns() -> dict[str, re.Pattern]:
    """The regexes of expectations/*.json, with "$NAME" values filled in as the gate does.

    GX's pandas engine evaluates them with Python's `re` (Series.str.match/contains)."""
    from expectations import gate
    params = gate.default_params()
    out: dict[str, str] = {}
    for p in sorted(resources.files("expectations").iterdir(), key=lambda p: p.name):
        if p.name.endswith(".json"):
            spec = gate._substitute(json.loads(p.read_text(encoding="utf-8")), params)
            _regexes_in(spec, p.name[:-5], out)
    return {name: re.compile(rx) for name, rx in out.items()}


def _lexicon_cues() -> list[str]:
    cues = []
    for p in resources.files("transforms").joinpath("lexicon").iterdir():
        if p.name.endswith(".txt"):
            cues += [c.strip() for c in p.read_text(encoding="utf-8").splitlines()
                     if c.strip() and not c.startswith("# ")]
    return cues


def _fill(unit: str, n: int) -> str:
    return (unit * (n // max(1, len(unit)) + 1))[:n]


_CUES = _lexicon_cues()
# Each input is a function of n giving about n characters; the last character often breaks a
# match that an engine could otherwise complete, forcing every start position to fail.
PATHOLOGICAL: dict[str, Callable[[int], str]] = {
    "a_bang": lambda n: "a" * n + "!",
    "spaces": lambda n: " " * n,
    "spaces_x": lambda n: " " * n + "x",
    "dashes": lambda n: "-" * n,
    "digits": lambda n: "7" * n + "x",
    "dots": lambda n: "." * n,
    "newlines": lambda n: "\n" * n,
    "dash_newline": lambda n: _fill("-\n", n),
    "space_newline": lambda n: _fill(" \n", n),
    "bullet_space": lambda n: _fill("• ", n) + "x",
    "alternating": lambda n: _fill("ab", n),
    "alt_case": lambda n: _fill("aA", n),
    "digit_dot": lambda n: _fill("1.", n),
    "digit_slash": lambda n: _fill("1/", n),
    "digit_space": lambda n: _fill("1 ", n),
    "digit_dash": lambda n: _fill("1-", n),
    "date_repeat": lambda n: _fill("12/12/20 ", n),
    "clock_repeat": lambda n: _fill("12:3", n),
    "thang": lambda n: _fill("12 tháng 1", n),
    "gmt": lambda n: _fill("(GMT+", n),
    "weekday": lambda n: _fill("Thứ ", n),
    "parens": lambda n: "(" * n,
    "paren_text": lambda n: _fill("(a", n),
    "hash": lambda n: _fill("#a", n),
    "tone_glued": lambda n: _fill("hoà", n),
    "tone_spaced": lambda n: _fill("hoà ", n),
    "hat_tone": lambda n: _fill("ấú", n),
    "horn": lambda n: _fill("ưo", n),
    "camel": lambda n: _fill("trênGoogle", n),
    "mojibake": lambda n: _fill("Viá»‡t", n),
    "mojibake_lead": lambda n: _fill("Ã", n),
    "eth": lambda n: _fill("Ðð", n),
    "qui": lambda n: _fill("qui ", n),
    "vi_no_space": lambda n: _fill("ViệtNam", n),
    "theo": lambda n: _fill("Theo ", n),
    "anh_label": lambda n: _fill("Ảnh: ", n),
    "anh_paren": lambda n: _fill("(Ảnh ", n),
    "url_like": lambda n: _fill("www.a", n),
    "emoji": lambda n: _fill("😀🎉", n),
    "nul_bom": lambda n: _fill("a\x00\ufeff", n),
    "cue_prefixes": lambda n: _fill(" ".join(c[:-1] for c in _CUES if len(c) > 2) + " ", n),
    "cue_prefix_lines": lambda n: _fill("\n".join("- " + c[:-1] for c in _CUES if len(c) > 2) + "\n", n),
    "cues_glued": lambda n: _fill("".join(c.replace(" ", "")[:-1] for c in _CUES if len(c) > 2), n),
}


def _best(fn: Callable[[], object], repeats: int) -> float:
    """Minimum CPU time of this thread over `repeats` calls (not wall time: on a machine shared
    with other work a call waiting for a core is not slower code), with the cyclic GC off (its
    passes grow with the number of live objects and made linear scans that allocate match
    objects look 10x)."""
    best = float("inf")
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(repeats):
            t0 = time.thread_time()
            fn()
            best = min(best, time.thread_time() - t0)
    finally:
        if was_enabled:
            gc.enable()
    return best


def scaling(fn: Callable[[str], object], make: Callable[[int], str], n: int = N,
            repeats: int = 3) -> tuple[float, float]:
    """(time at n, time at 4n), min of repeats; measured again with more repeats if the ratio
    looks super-linear, so that one noisy sample does not fail the test."""
    small, large = make(n), make(4 * n)
    t1 = _best(lambda: fn(small), repeats)
    if t1 > BOUND_S / 4:
        return t1, float("inf")      # already too slow at n: fail now instead of waiting for 4n
    t4 = _best(lambda: fn(large), repeats)
    if t4 > RATIO * max(t1, FLOOR_S) and t4 < BOUND_S:
        t1, t4 = _best(lambda: fn(small), 2 * repeats + 1), _best(lambda: fn(large), 2 * repeats + 1)
    return t1, t4


def assert_linear(fn: Callable[[str], object], what: str, inputs=PATHOLOGICAL, n: int = N,
                  repeats: int = 3, bound_s: float = BOUND_S) -> None:
    slow = []
    for name, make in inputs.items():
        t1, t4 = scaling(fn, make, n, repeats)
        if t4 > bound_s or t4 > RATIO * max(t1, FLOOR_S):
            # a second opinion: a busy machine slows one sample down; backtracking slows every one
            t1, t4 = scaling(fn, make, n, 2 * repeats + 1)
        if t4 > bound_s or t4 > RATIO * max(t1, FLOOR_S):
            slow.append(f"{name}: {t1 * 1e3:.1f} ms at {n}, {t4 * 1e3:.1f} ms at {4 * n} characters")
    assert not slow, f"{what} is not linear on: " + "; ".join(slow)


def _exhaust(rx: re.Pattern) -> Callable[[str], object]:
    def run(s: str) -> None:
        for _ in rx.finditer(s):
            pass
    return run


# -- the walker finds what it should ------------------------------------------------------------

def test_walker_finds_the_patterns_of_every_module_and_the_lexicon():
    names = set(transform_patterns())
    for expected in ["clean.cues.FOLLOW_RE", "clean.cues.ERROR_RE", "clean.cues.TAG_PREFIX",
                     "clean.cues.PHOTO_CREDIT_LINE", "clean.cues.BYLINE_LABEL", "clean.cues.CAPTION_CREDIT_END",
                     "dates._DMY", "dates._TIME",
                     "dates._LABELS", "normalize._CANDIDATES[0]", "normalize._CANDIDATES[3]",
                     "decode._MOJIBAKE", "langid._WORD", "features._WORD", "dedup._SYLLABLE",
                     "segment._SENTENCE_END"]:
        assert expected in names, f"{expected} not found; the walker is broken"
    assert len(names) >= 35
    assert len(expectation_patterns()) >= 3      # hex digests, control characters, boilerplate lines


# -- regexes: by construction ---------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(transform_patterns()))
def test_transform_regex_is_linear(name):
    assert_linear(_exhaust(transform_patterns()[name]), name, repeats=2)


@pytest.mark.parametrize("name", sorted(expectation_patterns()))
def test_expectation_regex_is_linear(name):
    rx = expectation_patterns()[name]
    # GX matches one column value at a time; values can be whole articles with many lines
    assert_linear(_exhaust(rx), name, repeats=2)


def test_the_timing_harness_catches_a_quadratic_regex():
    """A known-bad pattern fails the same check: a MULTILINE anchor followed by a class that
    also eats newlines (the shape of the gate's first boilerplate regex) rescans the rest of
    the text from every line start."""
    bad = re.compile(r"(?m)^[-\s]*x")
    with pytest.raises(AssertionError, match="dash_newline"):
        assert_linear(_exhaust(bad), "bad", {"dash_newline": PATHOLOGICAL["dash_newline"]}, n=8_000,
                      repeats=1)


# -- the text steps, on whole documents -------------------------------------------------------------

PROSE = ("Hà Nội hôm nay có mưa lớn ở nhiều nơi và người dân được khuyến cáo không ra đường "
         "khi không cần thiết.\n")


def _as_document(make: Callable[[int], str]) -> Callable[[int], str]:
    """The pathological string as one line between two prose paragraphs of a page."""
    return lambda n: "Tiêu đề của bài báo hôm nay\n" + PROSE + make(n) + "\n" + PROSE


DOC_INPUTS = {**{k: _as_document(v) for k, v in PATHOLOGICAL.items()},
              "many_short_lines": lambda n: "".join(f"dòng {i}\n" for i in range(n // 8)),
              "punct_lines": lambda n: PROSE + "".join(
                  "-*•– "[i % 5] * (1 + i % 7) + "*" * (i // 5 % 9) + " -" * (i % 3) + "\n"
                  for i in range(n // 10)) + PROSE,
              "digits90": lambda n: "".join("Mã " + str(i) * 9 + "\n" for i in range(n // 40))}


def test_decode_bytes_is_linear():
    from transforms.decode import decode_bytes
    assert_linear(lambda s: decode_bytes(s.encode("utf-8", "surrogatepass")), "decode_bytes", DOC_INPUTS,
                  repeats=2)


def test_decode_of_cp1252_read_utf8_is_linear():
    """Mojibake repair: one long line of 'Viá»‡t' glued (was 0.5 s at 125 kB and quadratic)."""
    from transforms.decode import decode_bytes
    inputs = {k: DOC_INPUTS[k] for k in ("mojibake", "mojibake_lead", "tone_spaced")}
    assert_linear(lambda s: decode_bytes(s.encode()), "decode_bytes", inputs, repeats=2)
    assert decode_bytes("Viá»‡t Nam".encode()).text == "Việt Nam"


def test_normalize_text_is_linear():
    """Was 107 s on 125 kB of 'trênGoogle' or 'Viá»‡t' glued (every match re-expanded its word)."""
    from transforms.normalize import normalize_text
    assert_linear(normalize_text, "normalize_text", DOC_INPUTS, repeats=2)


def test_normalize_fixes_still_apply_inside_long_lines():
    from transforms.normalize import normalize_text
    assert normalize_text("hoà " * 3 + "trênGoogle") == "hòa hòa hòa trên Google"
    assert normalize_text("xem http://a.vn/hoà và hoà") == "xem http://a.vn/hoà và hòa"
    assert normalize_text("a@hoà.vn hoà\nwww.hoà.vn hoà") == "a@hoà.vn hòa\nwww.hoà.vn hòa"
    long_word = "hoà" * 1000
    assert normalize_text(long_word) == long_word       # not a syllable: left alone


def test_structure_article_is_linear():
    from transforms.clean import structure_article
    from transforms.normalize import normalize_text
    docs = {k: DOC_INPUTS[k] for k in DOC_INPUTS}
    assert_linear(lambda s: structure_article(normalize_text(s).split("\n")), "structure_article", docs,
                  repeats=1, bound_s=4.0)


def test_dates_and_language_are_linear():
    from transforms.dates import ends_with_date, find_datetime, parse_date_line
    from transforms.langid import detect_language, looks_unaccented, vietnamese_score
    for fn in (parse_date_line, ends_with_date, find_datetime, detect_language, vietnamese_score, looks_unaccented):
        assert_linear(fn, fn.__name__, repeats=2)


def _doc_table(text: str) -> pa.Table:
    from transforms.tables import DOCUMENTS
    body = text.encode("utf-8", "surrogatepass")
    return pa.Table.from_pylist([{"source_path": "x.txt", "source_sha256": hashlib.sha256(body).hexdigest(),
                                  "size_bytes": len(body), "content": body, "reject_reason": None,
                                  "reject_detail": None}], schema=DOCUMENTS)


@pytest.mark.slow
def test_transform_batch_is_linear_on_every_input():
    """The whole batch transform (without word segmentation) on every document input."""
    from transforms.pipeline import BatchConfig, transform_batch
    cfg = BatchConfig("t", with_tokens=False)
    assert_linear(lambda s: transform_batch(_doc_table(s), cfg), "transform_batch", DOC_INPUTS, repeats=1,
                  bound_s=6.0)


def test_transform_batch_never_raises_and_accounts_for_each_document():
    """One document per pathological input, 100k characters each: every one ends as an
    article or a reject, nothing raises, and the batch stays within a generous bound."""
    from transforms.pipeline import BatchConfig, transform_batch
    texts = [make(4 * N) for make in DOC_INPUTS.values()]
    texts += ["", " \n\t", "\x00" * 100, "a\x00b" * 1000, "\ufeff" * 50, "\r\n\r" * 1000]
    docs = pa.concat_tables([_doc_table(t).set_column(0, "source_path", pa.array([f"{i:03d}"]))
                             for i, t in enumerate(texts)])
    t0 = time.perf_counter()
    out = transform_batch(docs, BatchConfig("t", with_tokens=False))
    assert time.perf_counter() - t0 < 60
    paths = out.articles["source_path"].to_pylist() + out.rejects["source_path"].to_pylist()
    assert sorted(paths) == [f"{i:03d}" for i in range(len(texts))]


# -- word segmentation ------------------------------------------------------------------------------

# underthesea's regex_tokenize backtracks super-linearly inside a whitespace-free run such as
# 'a.a.a.' (7.5 s for 20k characters); this test was a strict xfail until transforms/segment.py
# stopped calling it (issue 17: its own tokenizer, proven equal on the corpus)
@pytest.mark.slow                # loads the segmenter's model
def test_segment_words_is_linear_on_runs_without_spaces():
    from transforms.segment import segment_words
    segment_words(["Khởi động."])
    inputs = {"letter_dot": PATHOLOGICAL["alternating"], "digit_dot": PATHOLOGICAL["digit_dot"]}
    inputs["letter_dot"] = lambda n: _fill("a.", n)
    assert_linear(lambda s: segment_words([s]), "segment_words", inputs, n=1_500, repeats=1)
