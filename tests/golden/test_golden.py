"""Golden structured output of transforms.clean.structure_article, compared in full.

Each case is tests/golden/<case>/expected.json. Its `source` field names the raw page
relative to the repository root (the seeds stay byte-identical in seeds/, never copied);
a case may instead carry its own input.txt. The page is split and normalized the way the
flow does it, structured, and the whole result (title, published_at, author, credit, lede,
body, captions, every removed span with its reason, each with its span [char_start,
char_end] in its line, blank_lines) must equal expected.json.
`pytest tests/golden --update-golden` rewrites the files; review the diff before committing.
"""
from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

import pytest

from transforms.clean import structure_article

ROOT = Path(__file__).resolve().parents[2]
CASES = sorted(p for p in Path(__file__).parent.iterdir() if (p / "expected.json").exists())
_WS = re.compile(r"\s+")


def flow_lines(text: str) -> list[str]:
    out = []
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        out.append(_WS.sub(" ", unicodedata.normalize("NFC", line).replace("\u00a0", " ")).strip())
    return out


def render(case: Path, source: str | None) -> dict:
    raw_path = ROOT / source if source else case / "input.txt"
    result = structure_article(flow_lines(raw_path.read_text(encoding="utf-8")))
    paras = result.paragraphs
    lede = [p for p in paras if p.kind == "lede"]
    return {
        "source": source,
        "title": result.title,
        "title_line_no": result.title_line_no,
        "published_at": result.published_at.isoformat() if result.published_at else None,
        "author": result.author,
        "credit": result.credit,
        "lede": {"line_no": lede[0].line_no, "span": [lede[0].char_start, lede[0].char_end],
                 "text": lede[0].text} if lede else None,
        "body": [{"line_no": p.line_no, "span": [p.char_start, p.char_end], "text": p.text}
                 for p in paras if p.kind == "body"],
        "captions": [{"line_no": p.line_no, "span": [p.char_start, p.char_end], "text": p.text}
                     for p in paras if p.kind == "caption"],
        "removed": [{"line_no": r.line_no, "span": [r.char_start, r.char_end], "reason": r.reason,
                     "text": r.text} for r in result.removed],
        "blank_lines": result.blank_lines,
    }


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_golden(case: Path, request: pytest.FixtureRequest) -> None:
    expected_path = case / "expected.json"
    expected = json.loads(expected_path.read_text(encoding="utf-8"))
    got = render(case, expected.get("source"))
    if request.config.getoption("--update-golden", default=False):
        expected_path.write_text(json.dumps(got, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        pytest.skip("golden file rewritten; review the diff")
    assert got == expected
