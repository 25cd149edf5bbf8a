"""The cleaning step: raw page lines -> title, date, author, credit, lede, body, captions,
and a reason for every span of text that was dropped.

Grain: one call of `structure_article` per page; `structure_batch` adds evidence from the
whole batch (lines that recur across documents). Steps, in page order:

    head.read_head         chrome above the title, the title
    tail.find_tail         the related-list / comment heading that starts the tail
    tables.table_rows      text-table rows between the head and the tail (kept, kind 'table')
    tail.find_last_prose   the last prose line before it: the article's end
    body.read_body         metadata under the title; lede, body, captions; repeats
    tail.read_after        end markers after the last prose line (credit, byline, ...)
    tail.read_tail         the tail proper
    inline.split_line      spans inside each kept line: captions with their credit,
                           bare credits, video labels, inline related links, and the
                           byline or source note after the last sentence
    assemble.assemble      rows in page order, with their spans

Accounting: the title span, every kept span, every removed span and the blank lines cover
every non-space character of every line exactly once (lineage.uncovered checks it).
"""
from __future__ import annotations

from collections import Counter

from transforms.clean.assemble import assemble
from transforms.clean.body import read_body
from transforms.clean.cues import CUE_LINE_MAX_CHARS, SHORT_LINE_WORDS, line_key
from transforms.clean.head import read_head
from transforms.clean.inline import split_kept_lines
from transforms.clean.lines import Line, is_name
from transforms.clean.rows import Structured
from transforms.clean.state import PageState
from transforms.clean.tables import table_rows
from transforms.clean.tail import find_last_prose, find_tail, read_after, read_tail

RECURRING_MIN_SHARE = 0.01              # structure_batch: share of the batch a recurring line needs


def structure_article(lines: list[str], recurring: frozenset[str] = frozenset()) -> Structured:
    """Split one page into title, date, author, credit, lede, body and captions.

    Every non-blank span that is not the title or a kept paragraph goes to `removed` with a
    code from REMOVED_REASONS; blank lines are counted in `blank_lines`. `recurring` holds
    line keys (see `line_key`) that structure_batch found in many documents: such short
    non-prose lines become boilerplate.recurring_line unless a metadata rule claims them.
    Never raises on str input.
    """
    out = Structured(None, None, None, None, None, [], [], 0)
    items: list[Line] = []
    for i, raw in enumerate(lines):
        if not isinstance(raw, str):
            raw = "" if raw is None else str(raw)
        s = raw.strip()
        if s:
            items.append(Line(i, raw, s))
        else:
            out.blank_lines += 1
    head = read_head(items, recurring)
    st = PageState(out, head.title)
    for ln, reason, detail in head.removed:
        st.remove(ln, reason, detail)
    if head.title is not None:
        out.title = head.title.s
        out.title_line_no = head.title.i + 1
    if head.published_at is not None:
        out.published_at = head.published_at
        if head.date_rest and is_name(head.date_rest):
            out.author = head.date_rest
    if head.credit is not None:
        st.set_credit(head.credit)
    for ln in head.captions:
        st.keep(ln, "caption")
    tail, tail_kind = find_tail(items, head.start)
    tables = table_rows(items, head.start, tail)
    last = find_last_prose(items, head.start, tail, tables)
    read_body(st, items, head.start, last, recurring, tables)
    read_after(st, items, last, tail, recurring)
    read_tail(st, items, tail, tail_kind, recurring)
    assemble(st, items, split_kept_lines(st))
    return out


def recurring_keys(docs: list[list[str]], recurring_min_docs: int = 5,
                   recurring_min_share: float = RECURRING_MIN_SHARE) -> frozenset[str]:
    """Keys of short lines (<= SHORT_LINE_WORDS words, compared by `line_key`) that occur in
    >= recurring_min_docs documents and in >= recurring_min_share of the batch, counted over
    distinct documents *and* distinct document signatures (the key of each document's
    longest line), so that five copies of one syndicated article do not turn its title into
    boilerplate."""
    need = max(recurring_min_docs, int(recurring_min_share * len(docs) + 0.999999))
    counts: Counter[str] = Counter()
    holders: dict[str, list[int]] = {}          # key -> the first need * 4 documents holding it
    longest_of: list[str] = []
    for n, doc in enumerate(docs):
        keys: set[str] = set()
        longest = ""
        for raw in doc:
            if not isinstance(raw, str):
                continue
            s = raw.strip()
            if len(s) > len(longest):
                longest = s
            if s and len(s) <= CUE_LINE_MAX_CHARS and s.count(" ") < SHORT_LINE_WORDS:
                k = line_key(s)
                if k:
                    keys.add(k)
        longest_of.append(longest)
        for k in keys:
            counts[k] += 1
            if counts[k] <= need * 4:
                holders.setdefault(k, []).append(n)
    # A document's signature is computed only when a frequent key needs it, and only until
    # that key has `need` distinct signatures (most documents never need theirs).
    signature: dict[int, str] = {}
    out = []
    for k, c in counts.items():
        if c < need:
            continue
        distinct: set[str] = set()
        for n in holders[k]:
            sig = signature.get(n)
            if sig is None:
                sig = signature[n] = line_key(longest_of[n][:2000])
            distinct.add(sig)
            if len(distinct) >= need:
                out.append(k)
                break
    return frozenset(out)


def structure_batch(docs: list[list[str]], recurring_min_docs: int = 5,
                    recurring_min_share: float = RECURRING_MIN_SHARE) -> list[Structured]:
    """Structure every document of a batch, using lines that recur across it as evidence:
    such lines (see `recurring_keys`) become boilerplate.recurring_line; everything else is
    decided per document."""
    recurring = recurring_keys(docs, recurring_min_docs, recurring_min_share)
    return [structure_article(doc, recurring) for doc in docs]
