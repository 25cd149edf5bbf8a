"""The suite files themselves: they load into GX, every "$PARAM" resolves, every row-level
expectation names a reason code of the closed set, and the lexicon regex built at gate time
matches chrome lines, leaves prose alone and runs in linear time."""
from __future__ import annotations

import re
import time

import pytest

from expectations import gate
from transforms.reasons import REJECT_REASONS

SUITES = gate.suite_names()


def test_one_suite_per_stage_and_table():
    assert SUITES == ["clean_articles", "clean_paragraphs", "clean_removed", "raw_documents",
                      "warehouse_articles", "warehouse_paragraphs", "warehouse_rejects",
                      "warehouse_removed", "warehouse_run"]
    stages = {gate.load_suite_json(s)["meta"]["stage"] for s in SUITES}
    assert stages == {"extract", "transform", "load"}


@pytest.mark.parametrize("name", SUITES)
def test_suite_loads_into_gx_with_params_filled(name):
    spec, suite = gate._suite(name, gate.default_params())
    assert spec["name"] == name and len(suite.expectations) == len(spec["expectations"])
    assert not [v for e in spec["expectations"] for v in e["kwargs"].values()
                if isinstance(v, str) and gate._PARAM.match(v)]          # no placeholder left
    for e in gate.load_suite_json(name)["expectations"]:
        assert e["severity"] in ("critical", "warning", "info")
        assert e["meta"]["why"]
        if e["meta"].get("quarantine"):
            assert e["severity"] == "critical"
            assert e["meta"]["reason"] in REJECT_REASONS and e["meta"]["reason"].startswith("gate.")


def test_suites_are_cached_per_params():
    p = gate.default_params()
    assert gate._suite("clean_articles", p)[1] is gate._suite("clean_articles", dict(p))[1]
    assert gate._suite("clean_articles", {**p, "NOW_PLUS_1D": "2000-01-01T00:00:00+00:00"})[1] \
        is not gate._suite("clean_articles", p)[1]


def test_a_missing_param_is_an_error_not_a_literal():
    with pytest.raises(KeyError):
        gate._substitute({"value_set": "$NO_SUCH_PARAM"}, {})
    assert gate._substitute("^[0-9a-f]{64}$", {}) == "^[0-9a-f]{64}$"


CUE_LINES = [
    "Có thể bạn quan tâm",
    "- Cùng chuyên mục:",
    "TIN CÙNG CHUYÊN MỤC",
    "Ý kiến bình luận (12)",
    "Chia sẻ bài viết",
    "Quảng cáo",
    "Đã có lỗi xảy ra",          # error cue, written without diacritics in the lexicon
    "co loi xay ra",
]
PROSE_LINES = [
    "Có thể bạn quan tâm đến chính sách mới của Bộ Giáo dục về học phí năm nay.",
    "Ông A đăng tải bài viết trên mạng xã hội và nhận hàng nghìn bình luận.",
    "Quảng cáo sai sự thật bị phạt đến 100 triệu đồng.",
    "Chia sẻ với phóng viên, ông B cho biết dự án sẽ hoàn thành trong năm nay.",
]


@pytest.mark.parametrize("line", CUE_LINES)
def test_lexicon_regex_finds_a_cue_line_among_prose(line):
    rx = re.compile(gate.boilerplate_line_regex())
    assert rx.search("\n".join([PROSE_LINES[0], line, PROSE_LINES[1]]))


@pytest.mark.parametrize("line", PROSE_LINES)
def test_lexicon_regex_leaves_prose_alone(line):
    assert not re.search(gate.boilerplate_line_regex(), line)


def test_lexicon_regex_follows_the_lexicon_files():
    # every related-list cue of the lexicon is recognised as a line of its own
    cues = [" ".join(w) for w in gate._lexicon_cues("related_cues.txt")]
    rx = re.compile(gate.boilerplate_line_regex())
    assert cues and all(rx.search(f"Bài viết.\n{c.capitalize()}:\n") for c in cues)


@pytest.mark.parametrize("text", ["-\n" * 200_000, "c\n" * 200_000, "có thể bạn " * 40_000,
                                  "có thể bạn quan tâm " * 20_000, "-" * 400_000])
def test_lexicon_regex_is_linear_on_adversarial_text(text):
    rx = re.compile(gate.boilerplate_line_regex())
    t = time.perf_counter()
    rx.search(text)
    assert time.perf_counter() - t < 5.0     # ~0.4 MB; a backtracking pattern would take minutes


def test_a_missing_column_blocks_with_the_gx_error_as_observed_value():
    import pandas as pd

    rep = gate.run_gate("clean_removed", pd.DataFrame({"other": ["x"]}), "transform")
    assert rep.blocking and all(not o.success for o in rep.outcomes)
    assert all(o.observed_value.startswith("error: ") and "reason" in o.observed_value for o in rep.outcomes)
