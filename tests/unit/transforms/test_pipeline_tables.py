"""Text tables in `articles.body`: rows of kind 'table' are article text.

The pages below are written for this test in the styles of a few outlets (a football league
table with ' | ' separators, a fuel price list typed with tabs, a round of results, a stock
board); none is program output. What a reader of the corpus expects, and what is asserted:

- every table row is in `articles.body`, whole, in page order between the story paragraphs
  around it, joined like the other paragraphs (a blank line), so that `body` is exactly the
  body and table paragraphs of `paragraphs` in position order;
- a short story with a table is article text, not a page of chrome: its lede + body reach the
  clean_articles suite's `text_chars` minimum (gate.too_short), while the same story without
  the table does not (so the table is what carries it);
- the table changes the exact-duplicate key: two pages with the same story and different
  tables are not exact duplicates.
"""
from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest

from transforms import tables as T
from transforms.checks import article_checks
from transforms.pipeline import BatchConfig, transform_batch

ROOT = Path(__file__).resolve().parents[3]


def _too_short_min() -> int:
    """min_value of the text_chars expectation that quarantines as gate.too_short."""
    suite = json.loads((ROOT / "expectations" / "clean_articles.json").read_text(encoding="utf-8"))
    for e in suite["expectations"]:
        if e.get("meta", {}).get("reason") == "gate.too_short":
            assert e["kwargs"]["column"] == "text_chars"
            return e["kwargs"]["min_value"]
    raise AssertionError("clean_articles.json has no gate.too_short expectation")


TOO_SHORT_MIN = _too_short_min()

# --- pages ---------------------------------------------------------------------------------
# Each: (name, page text, story paragraphs in order, table rows in order, where the table sits
# among the story paragraphs: index of the first story paragraph after the table).

LEAGUE_STORY = ["Quảng Nam vươn lên dẫn đầu sau trận thắng Hà Nội.", ]
LEAGUE_ROWS = [
    "1 | Quảng Nam | 10 | 6 | 2 | 2 | 20",
    "2 | Hà Nội | 10 | 5 | 3 | 2 | 18",
    "3 | FLC Thanh Hóa | 10 | 5 | 2 | 3 | 17",
    "4 | SHB Đà Nẵng | 10 | 4 | 4 | 2 | 16",
]
LEAGUE = "\n".join([
    "Bảng xếp hạng V-League 2017 sau vòng 10",
    "Thứ Bảy, 20/05/2017 21:00",
    "",
    LEAGUE_STORY[0],
    "",
    *LEAGUE_ROWS,
    "",
])

FUEL_STORY = [
    "Liên bộ Công Thương - Tài chính vừa điều chỉnh giá bán lẻ xăng dầu từ 15 giờ chiều nay.",
    "Đây là lần tăng giá thứ hai liên tiếp trong tháng, sau khi giá dầu thế giới đi lên.",
]
# typed with tabs: the normalizer turns each tab into a space, the rows stay numeric rows
FUEL_RAW_ROWS = [
    "Xăng RON 95-III\t19.200\t19.350\t+150",
    "Xăng E5 RON 92\t17.600\t17.740\t+140",
    "Dầu diesel 0,05S\t14.300\t14.480\t+180",
    "Dầu hỏa\t13.100\t13.230\t+130",
]
FUEL_ROWS = [r.replace("\t", " ") for r in FUEL_RAW_ROWS]
FUEL = "\n".join([
    "Giá xăng tăng gần 150 đồng mỗi lít",
    "(Dân trí) - 12/06/2017 15:30",
    "",
    FUEL_STORY[0],
    "",
    "Giá bán lẻ mới (đồng/lít):",
    *FUEL_RAW_ROWS,
    "",
    FUEL_STORY[1],
    "",
])

RESULTS_STORY = ["Becamex Bình Dương thắng đậm trên sân nhà ở vòng 12."]
RESULTS_ROWS = [
    "SLNA 2-1 Hải Phòng",
    "Sanna Khánh Hòa 0-0 XSKT Cần Thơ",
    "Becamex Bình Dương 4-1 Long An",
    "Than Quảng Ninh 1-1 Hoàng Anh Gia Lai",
]
RESULTS = "\n".join([
    "Kết quả vòng 12 V-League 2017",
    "",
    RESULTS_STORY[0],
    "",
    *RESULTS_ROWS,
    "",
])

STOCK_STORY = ["Chỉ số VN-Index giảm nhẹ phiên cuối tuần, thanh khoản thấp."]
STOCK_ROWS = [
    "Mã CK | Giá đóng cửa | Thay đổi | Khối lượng",
    "VNM | 145.000 | -1.000 | 512.340",
    "FPT | 47.500 | +300 | 1.204.100",
    "HPG | 31.200 | -150 | 3.050.000",
]
STOCK = "\n".join([
    "Chứng khoán: VN-Index mất gần 2 điểm",
    "NDH - 16/06/2017",
    "",
    STOCK_STORY[0],
    *STOCK_ROWS,
])

PAGES = {
    "league_pipes": (LEAGUE, LEAGUE_STORY, LEAGUE_ROWS, 1),
    "fuel_tabs": (FUEL, FUEL_STORY, FUEL_ROWS, 1),
    "results_scores": (RESULTS, RESULTS_STORY, RESULTS_ROWS, 1),
    "stock_pipes": (STOCK, STOCK_STORY, STOCK_ROWS, 1),
}


def _run(pages: dict[str, str]):
    rows = [{"source_path": f"{name}.txt", "source_sha256": f"{i:064x}", "size_bytes": len(text.encode()),
             "content": text.encode("utf-8"), "reject_reason": None, "reject_detail": None}
            for i, (name, text) in enumerate(pages.items())]
    return transform_batch(pa.Table.from_pylist(rows, schema=T.DOCUMENTS), BatchConfig("t", with_tokens=False))


@pytest.fixture(scope="module")
def result():
    return _run({name: page for name, (page, *_) in PAGES.items()})


def _article(result, name: str) -> dict:
    arts = [a for a in result.articles.to_pylist() if a["source_path"] == f"{name}.txt"]
    assert len(arts) == 1, (name, result.rejects.to_pylist())
    return arts[0]


@pytest.mark.parametrize("name", sorted(PAGES))
def test_table_rows_are_in_the_body_in_page_order(result, name):
    _, story, rows, at = PAGES[name]
    art = _article(result, name)
    text = "\n\n".join(x for x in (art["lede"], art["body"]) if x)
    # the story paragraphs and the table rows, in the order they are printed on the page
    expected = story[:at] + rows + story[at:]
    pos = 0
    for piece in expected:
        found = text.find(piece, pos)
        assert found >= 0, f"{piece!r} missing or out of order in {name}:\n{text}"
        pos = found + len(piece)
    for row in rows:
        assert row in art["body"].split("\n\n"), f"table row {row!r} is not a paragraph of the body"


@pytest.mark.parametrize("name", sorted(PAGES))
def test_body_is_the_body_and_table_paragraphs_joined(result, name):
    art = _article(result, name)
    paras = sorted((p for p in result.paragraphs.to_pylist() if p["article_id"] == art["article_id"]),
                   key=lambda p: p["position"])
    kinds = [p["kind"] for p in paras]
    assert "table" in kinds, f"{name}: no table rows kept: {kinds}"
    assert art["body"] == "\n\n".join(p["text"] for p in paras if p["kind"] in ("body", "table"))
    assert [p["text"] for p in paras if p["kind"] == "table"] == PAGES[name][2]


@pytest.mark.parametrize("name", ["league_pipes", "results_scores", "stock_pipes"])
def test_a_short_story_with_a_table_is_not_too_short(result, name):
    page, story, rows, _ = PAGES[name]
    checks = {c["article_id"]: c for c in article_checks(result).to_pylist()}
    art = _article(result, name)
    assert checks[art["article_id"]]["text_chars"] >= TOO_SHORT_MIN
    # the story alone is below the gate's minimum: without the table the page is too short
    assert len("".join(story)) < TOO_SHORT_MIN


@pytest.mark.parametrize("name", ["league_pipes", "results_scores", "stock_pipes"])
def test_the_same_page_without_its_table_would_be_too_short(name):
    """The control: the page with its table lines deleted falls under the minimum, so the
    gate would quarantine it as gate.too_short; with the table it passes."""
    page, _, table_rows, _ = PAGES[name]
    without = "\n".join(line for line in page.split("\n") if line not in table_rows)
    out = _run({"no_table": without, "with_table": page})
    chars = {a["source_path"]: c["text_chars"]
             for a, c in zip(out.articles.to_pylist(), article_checks(out).to_pylist())}
    assert chars["no_table.txt"] < TOO_SHORT_MIN <= chars["with_table.txt"]


def test_a_different_table_makes_a_different_article():
    """Same title and story, other numbers: not an exact duplicate (content_sha256 covers the
    table rows)."""
    other = LEAGUE.replace("| 20", "| 21").replace("| 18", "| 19")
    out = _run({"a": LEAGUE, "b": other})
    a, b = out.articles.to_pylist()
    assert a["body"] != b["body"]
    assert a["content_sha256"] != b["content_sha256"]


def test_language_is_decided_on_the_story_not_the_table(result):
    for name in PAGES:
        assert _article(result, name)["language"] == "vi"
    assert result.rejects.num_rows == 0, result.rejects.to_pylist()
