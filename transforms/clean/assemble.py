"""Rows of one page, in page order: the title, kept spans and removed spans.

Grain: one page. A kept line becomes one `Paragraph` per kept span and one `Removed` per
dropped span (inline.py cuts a line into spans; a line it leaves whole is one span). The
outlet's credit at the start of the first story paragraph ("(Dân trí) - ", "TTO - ",
"VOV.VN - ") is cut as boilerplate.outlet_credit and fills `credit` when it is empty; a
bracketed credit such as "(ĐCSVN) - " at the start of a later paragraph goes to `removed`
as metadata.source_credit. Site chrome inside any kept span (menus, font controls, player
codes, counters, URLs, follow prompts) is cut by chrome_cut.cut_chrome. A line no step
decided (defensive; none is expected) goes to `removed` as boilerplate.short_fragment
("unclassified"). Spans index the line as given.
"""
from __future__ import annotations

from transforms.clean.chrome_cut import cut_chrome, cut_outlet_credit
from transforms.clean.cues import CREDIT_PREFIX
from transforms.clean.lines import Line
from transforms.clean.rows import Paragraph, Removed, Span
from transforms.clean.state import PageState


def whole(ln: Line, kind: str = "", reason: str = "", detail: str = "") -> Span:
    lead = len(ln.raw) - len(ln.raw.lstrip())
    return Span(lead, lead + len(ln.s), kind, reason, detail)


def cut_credit_prefix(st: PageState, ln: Line, spans: list[Span]) -> list[Span]:
    """Cut "(ĐCSVN) - " from the start of a later kept lede/body line when it is kept
    prose; the prefix becomes a removed span (metadata.source_credit)."""
    if not spans or not spans[0].kept or spans[0].kind not in ("lede", "body"):
        return spans
    sp = spans[0]
    text = ln.raw[sp.start:sp.end]
    m = CREDIT_PREFIX.match(text)
    if m is None or m.end() >= len(text):
        return spans
    credit = m.group(1).strip()
    if st.out.credit is None:
        st.out.credit = credit
    prefix_end = sp.start + len(m.group(0).rstrip())
    return [Span(sp.start, prefix_end, reason="metadata.source_credit", detail=credit),
            Span(sp.start + m.end(), sp.end, sp.kind)] + spans[1:]


def assemble(st: PageState, items: list[Line], spans_of: dict[int, list[Span]]) -> None:
    """Write title, paragraphs and removed rows of `st.out` in page order."""
    out = st.out
    kept_spans: dict[int, list[Span]] = {}
    first_story = next((n for n, (_, kind) in enumerate(st.kept) if kind in ("lede", "body")), -1)
    for n, (ln, kind) in enumerate(st.kept):
        spans = spans_of.get(ln.i) or [whole(ln, kind)]
        if n == first_story:
            rest = " ".join(other.s for m, (other, k) in enumerate(st.kept) if m != n and k != "table")
            spans, credit = cut_outlet_credit(ln.raw, spans, rest)
            if credit is not None:
                st.set_credit(credit)
            if credit is None:
                spans = cut_credit_prefix(st, ln, spans)
        else:
            spans = cut_credit_prefix(st, ln, spans)
        kept_spans[ln.i] = cut_chrome(ln.raw, spans)
    for ln in items:
        no = ln.i + 1
        if st.title is not None and ln.i == st.title.i:
            lead = len(ln.raw) - len(ln.raw.lstrip())
            out.title_char_start, out.title_char_end = lead, lead + len(ln.s)
            continue
        spans = kept_spans.get(ln.i)
        if spans is None:
            reason, detail = st.removed.get(ln.i, ("boilerplate.short_fragment", "unclassified"))
            out.removed.append(Removed(no, ln.raw, reason, detail, 0, len(ln.raw)))
            continue
        if len(spans) == 1 and spans[0].kept and spans[0].start == len(ln.raw) - len(ln.raw.lstrip()) \
                and spans[0].end == len(ln.raw.rstrip()):
            out.paragraphs.append(Paragraph(no, spans[0].kind, ln.raw, 0, len(ln.raw)))
            continue
        for sp in spans:
            text = ln.raw[sp.start:sp.end]
            if sp.kept:
                out.paragraphs.append(Paragraph(no, sp.kind, text, sp.start, sp.end))
            else:
                out.removed.append(Removed(no, text, sp.reason, sp.detail, sp.start, sp.end))
