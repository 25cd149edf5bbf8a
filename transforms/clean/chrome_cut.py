"""Site chrome inside kept lines, cut out as spans; the outlet's credit before the lede.

Grain: one kept span (lede, body, caption or table piece) of one line. `transforms.chrome`
finds the widgets a page glued into a line (menus of section names, font-size controls,
player time codes, view counters, URLs and slugs, watch/follow prompts); each becomes a
removed span with that module's reason (boilerplate.navigation, boilerplate.share_prompt,
boilerplate.media_player, boilerplate.view_counter, boilerplate.url,
boilerplate.follow_prompt). The story text between two cuts stays as its own piece: the first
piece keeps the span's kind, later pieces of a lede become body, captions and tables stay
what they were. A piece with no letter or digit left between cuts (a lone '|' or '-') goes
to `removed` with the reason of the cut before it (or after it, at the line start). A span
covered entirely by chrome is removed whole. A line already cut in several pieces is
searched once, whole, and each chrome span goes to the piece that contains it.

`cut_outlet_credit` cuts the outlet's credit ('(Dân trí) - ', 'TTO - ', 'VOV.VN - ') from
the start of the first story paragraph as boilerplate.outlet_credit (it fills `credit` when
that is still empty); an acronym that is the subject of the story ('WPP - tập đoàn ...', or
named again in the article) is not a credit and stays (`chrome.outlet_credit_prefix`).
"""
from __future__ import annotations

from transforms.chrome import ChromeSpan, find_chrome_spans, outlet_credit_prefix
from transforms.clean.rows import Span



def _kind_after_cut(kind: str) -> str:
    return "body" if kind == "lede" else kind


def cut_chrome(raw: str, spans: list[Span]) -> list[Span]:
    """`spans` of line `raw` with chrome cut out of every kept span (see module docstring)."""
    out: list[Span] = []
    kept = [sp for sp in spans if sp.kept]
    on_line = find_chrome_spans(raw) if len(kept) > 1 else None     # one pass for a line cut in pieces
    for sp in spans:
        if not sp.kept:
            out.append(sp)
            continue
        text = raw[sp.start:sp.end]
        if on_line is None:
            found = find_chrome_spans(text)
        else:
            found = [ChromeSpan(c.start - sp.start, c.end - sp.start, c.reason, c.detail) for c in on_line
                     if sp.start <= c.start and c.end <= sp.end]
        if not found:
            out.append(sp)
            continue
        pieces: list[Span] = []
        pos = 0
        first = True
        for n, ch in enumerate(found):
            _piece(text, sp, pos, ch.start, pieces, first, found[n - 1].reason if n else ch.reason)
            if pieces and pieces[-1].kept:
                first = False
            pieces.append(Span(sp.start + ch.start, sp.start + ch.end, reason=ch.reason, detail=ch.detail[:80]))
            pos = ch.end
        _piece(text, sp, pos, len(text), pieces, first, found[-1].reason)
        out.extend(pieces)
    return out


def _piece(text: str, sp: Span, start: int, end: int, pieces: list[Span], first: bool, reason: str) -> None:
    """The text between two cuts: kept when it holds a letter or digit, else removed with
    the neighbouring cut's reason."""
    piece = text[start:end]
    if not piece.strip():
        return
    s = start + len(piece) - len(piece.lstrip())
    e = start + len(piece.rstrip())
    if any(c.isalnum() for c in text[s:e]):
        pieces.append(Span(sp.start + s, sp.start + e, kind=sp.kind if first else _kind_after_cut(sp.kind)))
    else:
        pieces.append(Span(sp.start + s, sp.start + e, reason=reason, detail="separator next to site chrome"))


def cut_outlet_credit(raw: str, spans: list[Span], rest: str) -> tuple[list[Span], str | None]:
    """Cut the outlet's credit from the start of the first kept lede/body span of the first
    story line; returns (spans, credit or None). `rest` is the rest of the article's text."""
    if not spans or not spans[0].kept or spans[0].kind not in ("lede", "body"):
        return spans, None
    sp = spans[0]
    text = raw[sp.start:sp.end]
    cs = outlet_credit_prefix(text, rest)
    if cs is None:
        return spans, None
    body = text[cs.end:]
    if not any(c.isalnum() for c in body):
        return spans, None
    cut_end = sp.start + len(text[:cs.end].rstrip())
    new_start = sp.start + cs.end + len(body) - len(body.lstrip())
    cut_start = sp.start + len(text) - len(text.lstrip())
    return [Span(cut_start, cut_end, reason=cs.reason, detail=cs.detail),
            Span(new_start, sp.end, sp.kind)] + spans[1:], cs.detail
