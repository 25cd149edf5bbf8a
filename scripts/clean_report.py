"""Precision/recall of transforms.clean on the annotated test pages (tests/pages/*.txt).

Usage:
    .venv/bin/python scripts/clean_report.py                      # pages report
    .venv/bin/python scripts/clean_report.py --corpus DIR --sample 5000
        # plus: share of lines removed on a sample of clean-ish articles, and docs/s

A kept line is the title line or a paragraph (lede, body, caption). Per page and in total:
  recall(article)  = gold article lines (T/L/B) kept / gold article lines
  recall(caption)  = gold captions kept / gold captions
  precision        = kept lines that gold keeps / kept lines
  kind accuracy    = kept gold lines whose kind (title/lede/body/caption) matches gold
  reason mismatches: removed lines whose asserted reason differs
  metadata: published_at / author / credit compared with the page header.
"""
from __future__ import annotations

import argparse
import os
import random
import re
import sys
import time
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from transforms.clean import Structured, structure_article  # noqa: E402

PAGES = ROOT / "tests" / "pages"
KIND_OF_TAG = {"T": "title", "L": "lede", "B": "body", "C": "caption"}
_WS = re.compile(r"\s+")


def prepare_lines(text: str) -> list[str]:
    """What the flow hands to structure_article: split, NFC, NBSP -> space, collapse, strip."""
    out = []
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = unicodedata.normalize("NFC", line).replace("\u00a0", " ")
        out.append(_WS.sub(" ", line).strip())
    return out


@dataclass
class Page:
    name: str
    meta: dict[str, str | None]
    lines: list[str]
    gold: list[str | None]            # per line: kind, '-' or '-reason', None for blank
    spans: list[tuple[str, str]] = field(default_factory=list)   # ('## span:' lines) (kind | -reason, text)


def load_page(path: Path) -> Page:
    meta: dict[str, str | None] = {}
    lines: list[str] = []
    gold: list[str | None] = []
    spans: list[tuple[str, str]] = []
    for raw in path.read_text(encoding="utf-8").split("\n"):
        if raw.startswith("## span: "):
            tag, _, text = raw[len("## span: "):].partition("| ")
            spans.append((tag, text))
            continue
        if raw.startswith("## "):
            key, _, value = raw[3:].partition(":")
            value = value.strip()
            meta[key.strip()] = None if value == "null" else value
            continue
        if not raw.strip():
            lines.append("")
            gold.append(None)
            continue
        tag, sep, text = raw.partition("| ")
        if not sep:
            raise ValueError(f"{path.name}: line without 'TAG| ': {raw!r}")
        lines.append(text)
        gold.append(KIND_OF_TAG.get(tag, tag))
    while lines and not lines[-1]:
        lines.pop()
        gold.pop()
    return Page(path.stem, meta, prepare_lines("\n".join(lines)), gold, spans)


def load_pages(folder: Path = PAGES) -> list[Page]:
    return [load_page(p) for p in sorted(folder.glob("*.txt"))]


@dataclass
class Score:
    article_gold: int = 0
    article_kept: int = 0
    caption_gold: int = 0
    caption_kept: int = 0
    kept: int = 0
    kept_correct: int = 0
    kind_ok: int = 0
    reason_checked: int = 0
    reason_ok: int = 0
    span_checked: int = 0
    span_ok: int = 0
    problems: list[str] = field(default_factory=list)

    def add(self, other: "Score") -> None:
        for name in ("article_gold", "article_kept", "caption_gold", "caption_kept", "kept",
                     "kept_correct", "kind_ok", "reason_checked", "reason_ok", "span_checked", "span_ok"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.problems += other.problems

    @property
    def recall_article(self) -> float:
        return self.article_kept / self.article_gold if self.article_gold else 1.0

    @property
    def recall_caption(self) -> float:
        return self.caption_kept / self.caption_gold if self.caption_gold else 1.0

    @property
    def precision(self) -> float:
        return self.kept_correct / self.kept if self.kept else 1.0


def kinds_of(result: Structured) -> dict[int, str]:
    """1-based line number -> kept kind (of the line's first kept span), including the title line."""
    out: dict[int, str] = {}
    for p in result.paragraphs:
        out.setdefault(p.line_no, p.kind)
    if result.title_line_no is not None:
        out[result.title_line_no] = "title"
    return out


def score_page(page: Page, result: Structured) -> Score:
    sc = Score()
    kept = kinds_of(result)
    reasons = {r.line_no: r.reason for r in result.removed}
    for i, g in enumerate(page.gold, start=1):
        if g is None:
            continue
        got = kept.get(i)
        if g in ("title", "lede", "body"):
            sc.article_gold += 1
            sc.article_kept += got is not None
        elif g == "caption":
            sc.caption_gold += 1
            sc.caption_kept += got is not None
        if got is not None:
            sc.kept += 1
            if not g.startswith("-"):
                sc.kept_correct += 1
                if got == g:
                    sc.kind_ok += 1
                else:
                    sc.problems.append(f"{page.name}:{i} kind {got} != gold {g}")
            else:
                sc.problems.append(f"{page.name}:{i} kept as {got}, gold removes: {page.lines[i-1][:70]}")
        elif not g.startswith("-"):
            sc.problems.append(f"{page.name}:{i} LOST {g} ({reasons.get(i)}): {page.lines[i-1][:70]}")
        if g.startswith("-") and len(g) > 1 and got is None:
            sc.reason_checked += 1
            if reasons.get(i) == g[1:]:
                sc.reason_ok += 1
            else:
                sc.problems.append(f"{page.name}:{i} reason {reasons.get(i)} != gold {g[1:]}")
    rows = {(p.kind, p.text) for p in result.paragraphs} | {("-" + r.reason, r.text) for r in result.removed}
    bodies = [p.text for p in result.paragraphs if p.kind in ("lede", "body")]
    for tag, text in page.spans:
        sc.span_checked += 1
        if (tag, text) in rows or (tag == "body" and any(b.startswith(text) for b in bodies)):
            sc.span_ok += 1
        else:
            sc.problems.append(f"{page.name}: span {tag}| {text[:60]!r} not found")
    for key, got in (("published_at", result.published_at.isoformat() if result.published_at else None),
                     ("author", result.author), ("credit", result.credit)):
        if key in page.meta and page.meta[key] != got:
            sc.problems.append(f"{page.name}: {key} {got!r} != gold {page.meta[key]!r}")
    return sc


def report_pages(folder: Path = PAGES) -> Score:
    total = Score()
    print(f"{'page':28s} {'rec.art':>7s} {'rec.cap':>7s} {'prec':>6s} {'kinds':>6s} {'reasons':>8s}")
    for page in load_pages(folder):
        sc = score_page(page, structure_article(page.lines))
        total.add(sc)
        kept_gold = sc.kept_correct or 1
        print(f"{page.name:28s} {sc.recall_article:7.3f} {sc.recall_caption:7.3f} {sc.precision:6.3f} "
              f"{sc.kind_ok / kept_gold:6.3f} {sc.reason_ok:>3d}/{sc.reason_checked:<4d}")
    print(f"{'TOTAL':28s} {total.recall_article:7.3f} {total.recall_caption:7.3f} {total.precision:6.3f} "
          f"{total.kind_ok / (total.kept_correct or 1):6.3f} {total.reason_ok:>3d}/{total.reason_checked:<4d}")
    print(f"article lines {total.article_gold}, captions {total.caption_gold}, kept {total.kept}; "
          f"spans inside lines {total.span_ok}/{total.span_checked}")
    for p in total.problems:
        print("  !", p)
    return total


def report_corpus(folder: Path, sample: int, seed: int = 1) -> None:
    names = sorted(n for n in os.listdir(folder) if n.endswith(".txt"))
    random.Random(seed).shuffle(names)
    docs = [prepare_lines((folder / n).read_text(encoding="utf-8", errors="replace")) for n in names[:sample]]
    t0 = time.perf_counter()
    results = [structure_article(d) for d in docs]
    elapsed = time.perf_counter() - t0
    lines = sum(1 for d in docs for x in d if x)
    reasons = Counter(r.reason for res in results for r in res.removed)
    removed = sum(reasons.values())
    print(f"corpus sample: {len(docs)} docs, {lines} non-blank lines, removed {removed} "
          f"({removed / max(lines, 1):.2%}); {len(docs) / elapsed:,.0f} docs/s on one core")
    print("  no title:", sum(r.title is None for r in results), " with lede:",
          sum(bool(r.paragraphs) and r.paragraphs[0].kind == "lede" for r in results))
    for reason, n in reasons.most_common():
        print(f"  {reason:32s} {n}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=Path, default=PAGES)
    ap.add_argument("--corpus", type=Path, help="folder of extracted corpus .txt files")
    ap.add_argument("--sample", type=int, default=5000)
    args = ap.parse_args(argv)
    report_pages(args.pages)
    if args.corpus:
        report_corpus(args.corpus, args.sample)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
