"""Text features of each article that the clean_articles suite validates.

The clean_articles suite does not read the article texts: it reads a few features of them
(is the text NFC, which unusual characters does it hold, its short lines). Computing them
takes about as long as validating them, so the worker process that transformed a batch
computes them too (in parallel with the other workers) and the flow's process only
validates. Pure pyarrow and the standard library: worker processes do not import pandas
or Great Expectations for this.

Feature first, decision second: these are features only; expectations/clean_articles.json
decides what fails and which rows are quarantined.

Grain: one row per article of the batch, same order as `result.articles`.
"""
from __future__ import annotations

import re
import unicodedata
from collections import Counter

import pyarrow as pa

from transforms.clean import CUE_LINE_MAX_CHARS
from transforms.pipeline import BatchResult

ARTICLE_CHECKS = pa.schema([
    ("article_id", pa.string()), ("title", pa.string()), ("language", pa.string()),
    ("published_at", pa.timestamp("us", tz="UTC")), ("text_chars", pa.int64()),
    ("text_is_nfc", pa.bool_()), ("unusual_chars", pa.string()), ("short_lines", pa.string()),
    ("lines_accounted", pa.bool_()),
])


_LINE_NOS = pa.schema([("article_id", pa.string()), ("line_no", pa.int64())])


def article_checks(result: BatchResult) -> pa.Table:
    """The features of each article's stored text (title, lede, body and captions) that the
    clean_articles suite validates: `text_is_nfc`, `unusual_chars` (see `unusual_chars`),
    `short_lines` (the lede, body and caption lines short enough to be a chrome cue for the
    cleaning step, clean.CUE_LINE_MAX_CHARS), `text_chars` and `lines_accounted`: the title,
    the distinct lines its paragraphs and removed spans come from, and the blank lines add
    up to the lines read, and every character of those lines landed in exactly one span
    (the article has no row in `result.lineage_gaps`). Null when the article's id is null or
    not unique in the batch: its rows cannot be told apart (the article_id expectations
    fail instead)."""
    a = result.articles
    paras = result.paragraphs
    captions: dict[str, list[str]] = {}
    for aid, kind, text in zip(paras["article_id"].to_pylist(), paras["kind"].to_pylist(),
                               paras["text"].to_pylist()):
        if kind == "caption":
            captions.setdefault(aid, []).append(text)
    ids = a["article_id"].to_pylist()
    titles, ledes, bodies = a["title"].to_pylist(), a["lede"].to_pylist(), a["body"].to_pylist()
    body_lines = ["\n".join(x for x in (l, (b or "").replace("\n\n", "\n"), "\n".join(captions.get(i, []))) if x)
                  for i, l, b in zip(ids, ledes, bodies)]
    all_text = ["\n".join(x for x in (t, bl) if x) for t, bl in zip(titles, body_lines)]
    spans = pa.concat_tables([t.select(["article_id", "line_no"]).cast(_LINE_NOS) for t in (paras, result.removed)])
    per = spans.group_by("article_id").aggregate([("line_no", "count_distinct")])
    lines_used = dict(zip(per["article_id"].to_pylist(), per["line_no_count_distinct"].to_pylist()))
    gaps = set(result.lineage_gaps["article_id"].to_pylist())
    seen = Counter(ids)
    accounted = [None if i is None or seen[i] > 1 else
                 i not in gaps and (t is not None) + lines_used.get(i, 0) + b == lc
                 for i, t, b, lc in zip(ids, titles, a["blank_line_count"].to_pylist(), a["line_count"].to_pylist())]
    return pa.table({
        "article_id": ids, "title": titles, "language": a["language"],
        "published_at": a["published_at"].cast(pa.timestamp("us", tz="UTC")),
        "text_chars": [len(l or "") + len(b or "") for l, b in zip(ledes, bodies)],
        "text_is_nfc": [unicodedata.is_normalized("NFC", t) for t in all_text],
        "unusual_chars": unusual_chars(all_text),
        "short_lines": ["\n".join(x for x in bl.split("\n") if len(x) <= CUE_LINE_MAX_CHARS) for bl in body_lines],
        "lines_accounted": accounted,
    }, schema=ARTICLE_CHECKS)


def unusual_chars(texts: list[str]) -> list[str]:
    """Per text, each character that is not a word character (letter, digit, mark, '_') or a
    plain space, once, sorted.

    A regex that looks for characters outside those classes (controls, format characters,
    unusual spaces) matches this string exactly when it matches the text; GX then scans ~20
    characters per article instead of the whole text, which made the check 4x cheaper."""
    return ["".join(sorted(set(_WORDS_AND_SPACES.sub("", t)))) for t in texts]


_WORDS_AND_SPACES = re.compile(r"[\w ]+")
