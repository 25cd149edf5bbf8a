"""Spans inside one kept line: captions with their credit, bare credits, video labels,
inline related links, and the byline or source note after the article's last sentence.

Grain: one kept lede/body line (captions kept as whole lines are left whole). Most pages of
the corpus hold the whole body on one line, with what the page showed between paragraphs
glued in: "<story>. <caption sentence>. Ảnh: <name> <story goes on> ... <byline>". This
step finds those pieces by their features, not by one site's strings:

- a credit marker: a photo/source label followed by ':' ("Ảnh:", "Nguồn ảnh:", "Đồ họa:",
  "Nguồn:"), a label in brackets ("(Ảnh: Reuters)", "(Nguồn: TTXVN)", "(ảnh: CA cung
  cấp)"), "Ảnh minh họa" with or without a source, "Ảnh <NAME IN CAPITALS>";
- the credit's extent (`credit_end`): the name after the label ends at a '.', at the start
  of the next sentence (a capitalised word followed by a lower-case one: "Ảnh: Quang Liêm
  Đánh giá ..." -> "Quang Liêm"), after an agency-like token (capitals, '/', domain) that is
  followed by a capitalised word ("Ảnh: AP Express đưa tin" -> "AP"), or after 8 words;
- the caption: the sentence right before the credit (from the previous sentence end,
  sentences.py), when it has at most CAPTION_MAX_WORDS words. Caption and credit together
  become one `caption` paragraph. A credit with no sentence before it (at the start of a
  piece, or right after another cut), or after a sentence too long to be a caption, goes
  to `removed` as boilerplate.photo_credit and the sentence stays in the body;
- "Video: <title>", "Clip: <title>", "Nguồn video: <name>": boilerplate.video_label; ">> Xem
  thêm: <headline>", "Tin liên quan: <headline>": boilerplate.related_list. A label whose
  title has no clear end within LABEL_MAX_WORDS words is left in the text;
- "Nguồn: <name>" (no brackets) that ends the line after a sentence is a source note:
  metadata.source_credit, fills `credit`; the sentence before it stays story text;
- after the last sentence of the article's last body line, a byline or source note
  (tail.parse_tail_note: "Thống Nhất", "Hòa Lê (T/h)", "Bích Lan/VOV.VN", "Theo VnExpress",
  "Tin, ảnh: HOÀI PHƯƠNG", "Nhóm PV") goes to `removed` as metadata.byline or
  metadata.source_credit and fills author / credit.

Story text before and after a cut becomes separate body paragraphs (on the page a caption
sat between paragraphs). A story sentence is never removed: only credits, labels and notes
are; captions are kept (as captions). Pieces with no letter or digit left between cuts
(a lone '-' or '.') go to `removed` as boilerplate.short_fragment.
"""
from __future__ import annotations

import re
from bisect import bisect_left
from typing import NamedTuple

from transforms.chrome import trie_pattern
from transforms.clean.lines import CAPTION_MAX_WORDS
from transforms.clean.rows import Span
from transforms.clean.sentences import sentence_ends
from transforms.clean.state import PageState
from transforms.clean.tail import NOTE_MAX_CHARS, names_only as _names, parse_tail_note

CREDIT_MAX_WORDS = 8                    # a photo credit's name is at most this long
LABEL_MAX_WORDS = 20                    # a video / related title is looked for up to this long
PAREN_MAX_CHARS = 100                   # "(Ảnh: ...)" closes within this many characters
CAPTION_LOOKBACK_CHARS = 600            # the caption's start is looked for this far before its credit

_PHOTO = "photo"
_VIDEO = "video"
_RELATED = "related"
_BYLINE = "byline"
_IN_PHOTO = "in_photo"                  # "Trong ảnh: <description>": the caption follows the label
# label -> role; matched case-sensitively, longest first (capitalised: a label starts a piece)
_LABELS = {
    **dict.fromkeys(["Ảnh minh họa", "Ảnh minh hoạ", "ẢNH MINH HỌA", "Ảnh tư liệu", "Ảnh chụp màn hình", "Nguồn ảnh",
                     "Ảnh nguồn", "Ảnh", "ẢNH", "Photo", "Đồ họa", "Đồ hoạ", "Biểu đồ", "Bản đồ", "Nguồn", "NGUỒN"],
                    _PHOTO),
    **dict.fromkeys(["Video", "VIDEO", "Clip", "CLIP", "Xem video", "Xem clip", "Nguồn video", "Nguồn clip",
                     "Nguồn Clip", "Nguồn Video"], _VIDEO),
    **dict.fromkeys(["Xem thêm", "XEM THÊM", "Đọc thêm", "Tin liên quan", "TIN LIÊN QUAN", "Xem tiếp"], _RELATED),
    **dict.fromkeys(["Bài và ảnh", "Bài, ảnh", "Tin, ảnh", "Tin và ảnh", "Tin ảnh", "Tin - ảnh", "Tin-ảnh",
                     "Tin- ảnh", "Bài- ảnh", "Tin –ảnh", "Bài - ảnh", "Phóng sự ảnh", "Bài và clip"], _BYLINE),
    **dict.fromkeys(["Trong ảnh", "TRONG ẢNH"], _IN_PHOTO),
}
_MINH_HOA = ("Ảnh minh họa", "Ảnh minh hoạ", "ẢNH MINH HỌA", "Ảnh tư liệu", "Ảnh chụp màn hình")
# Labels are found by a literal alternation of the capitalised labels (the regex engine skips
# through the text by their first characters) and by str.find for lower-case "ảnh"/"nguồn"
# in brackets or before ':' (a bare "nguồn" or "ảnh" is a word of the sentence). The character
# before a label and what follows it are checked in Python (`_opener`, `_cut_marker`).
# (the alternation is written as a character trie, chrome.trie_pattern: the same longest-first
# match at each position, with fewer branches tried at each capital letter)
_MARK = re.compile(r"(?:%s)(?=[\s:.,)])" % trie_pattern(set(_LABELS)))
# lower-case labels: (needle, offset of the label in the needle, label); found with str.find
_LOWER = (("(nguồn ảnh", 1, "nguồn ảnh"), ("( nguồn ảnh", 2, "nguồn ảnh"), ("(nguồn", 1, "nguồn"),
          ("( nguồn", 2, "nguồn"), ("(ảnh", 1, "ảnh"), ("( ảnh", 2, "ảnh"), ("ảnh:", 0, "ảnh"), ("ảnh :", 0, "ảnh"))
_LABEL_FOLLOW = frozenset(" \t:.,)")


class _Hit(NamedTuple):
    start: int                                 # where the label starts
    end: int                                   # where it ends
    label: str


def _hits(text: str) -> list[_Hit]:
    """Label hits of both scans, in text order (a longer label first at the same start)."""
    out = [_Hit(m.start(), m.end(), m.group(0)) for m in _MARK.finditer(text)]
    anh, nguon = "ảnh" in text, "nguồn" in text
    if anh or nguon:
        paren = "(" in text
        for needle, offset, label in _LOWER:
            if (needle[0] == "(" and not paren) or ("ảnh" in needle and not anh) \
                    or ("nguồn" in needle and not nguon):
                continue                       # the needle cannot occur: skip its scan
            i = text.find(needle)
            while i >= 0:
                start = i + offset
                end = start + len(label)
                if end == len(text) or text[end] in _LABEL_FOLLOW:
                    out.append(_Hit(start, end, label))
                i = text.find(needle, i + 1)
        out.sort(key=lambda h: (h.start, -h.end))
    return out


_TOKEN = re.compile(r"\S+")
# function words a headline does not end with: a capitalised word after one is a name
# inside a sentence, not the start of the next sentence
_NO_HEADLINE_END = frozenset("với của và về tại cho từ trong ở là được bị đến theo như khi mà thì các những một "
                             "đã sẽ đang cùng bởi do nhưng hay hoặc".split())


def _opener(text: str, start: int) -> str | None:
    """'(' or '>>' or '' when the label at `start` begins a piece; None inside a word."""
    if start == 0:
        return ""
    before = text[start - 1]
    if before in ".-–" and text[start:start + 3] in ("Ảnh", "ẢNH", "Ngu"):
        return ""                              # "Friedland.Ảnh: AP", "thành phố-Ảnh: Q.Huy": glued
    if before == "(":
        return "("
    if before in ">»":
        return ">>"
    if not before.isspace():
        return None
    if start >= 2 and text[start - 2] == "(":
        return "("
    return ">>" if start >= 2 and text[start - 2] in ">»" else ""


def _is_caps(tok: str) -> bool:
    letters = [c for c in tok if c.isalpha()]
    return len(letters) >= 2 and all(c.isupper() for c in letters)


def _is_title(tok: str) -> bool:
    t = tok.lstrip("\"'“‘(")
    return bool(t) and t[0].isupper()


def _starts_lower(tok: str) -> bool:
    t = tok.lstrip("\"'“‘(")
    return bool(t) and t[0].isalpha() and t[0].islower()


def _agency_like(tok: str) -> bool:
    """'REUTERS', 'AFP/TTXVN', 'Moit.gov.vn' end a credit; 'VGP/Thành' does not (a name
    goes on after it)."""
    core = tok.rstrip(".,;:")
    last = core.rsplit("/", 1)[-1]
    return _is_caps(last) or ("." in last and last[-1:].isalpha() and last[-1].islower())


def credit_end(text: str, pos: int, limit: int | None = None) -> int:
    """End offset of the credit name that starts at `pos` (after 'Ảnh:'); `pos` when no
    name follows. See the module docstring for the rules."""
    limit = len(text) if limit is None else limit
    toks = [(m.start(), m.end(), m.group(0)) for _, m in zip(range(CREDIT_MAX_WORDS + 2),
                                                               _TOKEN.finditer(text, pos, limit))]
    if not toks:
        return pos
    end = pos
    for k, (s, e, tok) in enumerate(toks[:CREDIT_MAX_WORDS]):
        nxt = toks[k + 1][2] if k + 1 < len(toks) else ""
        if k >= 1:
            if _is_title(tok) and _starts_lower(nxt):
                break                          # "Quang Liêm | Đánh giá": the next sentence starts
            if tok.startswith("(") or tok in ("Theo", "theo") or tok.endswith(":"):
                break                          # "(T/h)", "Theo ...", "Video:": what follows the credit
            prev = toks[k - 1][2]
            if _agency_like(prev) and _is_title(tok) and not _is_caps(tok) and tok not in ("-", "–"):
                break                          # "AP | Express đưa tin"
            if _starts_lower(tok) and not _starts_lower(toks[k - 1][2]) and k >= 2:
                break                          # "Reuters Anh | đã ..." (names are capitalised)
        end = e
        core = tok.rstrip("\"'”’)")
        if core.endswith((".", "!", "?", "…")) and not _initial(core):
            break                              # "Ảnh: Trung Le." ends here
    return end


def _initial(tok: str) -> bool:
    """'N.' / 'H.A.' / 'Th.': an initial, not a sentence end."""
    core = tok.rstrip(".")
    return 0 < len(core) <= 3 and core.replace(".", "").isalpha() and core[0].isupper() and "." in tok[1:]


def label_title_end(text: str, pos: int, limit: int) -> int | None:
    """End of a video / related headline starting at `pos`, or None when it has no clear end.

    Clear ends, within LABEL_MAX_WORDS words: the end of the line; a token ending in '.',
    '!', '?', ':' or a closing quote; before a capitalised word, from the fourth word on,
    that is followed by a lower-case one ("... thời học trò | Bên cạnh đó", "... sông Sài
    Gòn | Lực lượng"). The earliest end wins: ending too early leaves a few headline words
    in the body, ending too late would remove story text. A capitalised word after a
    function word is a name inside a sentence ("CLIP: Trao đổi với | VietNamNet, ông ..."):
    None, and the caller cuts the label alone, leaving the text in the body."""
    toks = [(m.start(), m.end(), m.group(0)) for _, m in zip(range(LABEL_MAX_WORDS + 2),
                                                               _TOKEN.finditer(text, pos, limit))]
    end = None
    for k, (s, e, tok) in enumerate(toks[:LABEL_MAX_WORDS]):
        if k >= 3 and _is_title(tok) and k + 1 < len(toks) and _starts_lower(toks[k + 1][2]):
            if toks[k - 1][2].lower() in _NO_HEADLINE_END:
                return None                    # "Trao đổi với | VietNamNet": mid-sentence
            end = toks[k - 1][1]
            break
        if tok.rstrip("\"'”’)").endswith((".", "!", "?", ":")) and not _initial(tok):
            end = e
            break
        if k + 1 == len(toks):
            end = e                            # the headline runs to the end of the line
    return end


def _opener_start(text: str, start: int, opener: str) -> int:
    """Where the cut begins: at the '(' or the '>>' before the label."""
    if opener == "(":
        return text.rfind("(", max(0, start - 2), start)
    if opener == ">>":
        j = start
        while j > 0 and text[j - 1] == " ":
            j -= 1
        while j > 0 and text[j - 1] in ">»":
            j -= 1
        return j
    return start


def _cut_marker(text: str, m: _Hit, opener: str, limit: int) -> tuple[int, str] | None:
    """(end, role) of the credit / label that `m` found, or None when it is not one."""
    label = m.label
    role = _LABELS.get(label)
    after = m.end
    if opener.startswith("("):
        close = text.find(")", after, min(limit, after + PAREN_MAX_CHARS))
        if close < 0 or "(" in text[after:close]:
            return None
        if role in (_VIDEO, _RELATED, _BYLINE) and not text.startswith((":", " :"), after) and close > after:
            return None                        # "(Video Assistant Referee)" is a word in brackets
        end = close + 1
        if text[end:end + 1] == ".":
            end += 1
        return end, role or _PHOTO
    rest = text[after:after + 3]
    if role is None:
        # lower-case "ảnh:" is a label only after a sentence end or a comma ("..., ảnh: Nam")
        j = m.start
        while j > 0 and text[j - 1] == " ":
            j -= 1
        before = text[j - 1] if j else ""
        if label == "ảnh" and rest.startswith((":", " :")) and (before in ".,-–" or not before):
            role = _PHOTO
        else:
            return None                        # a word of the sentence ("hình ảnh", "nguồn tin")
    if role == _IN_PHOTO:
        if not rest.startswith((":", " :")):
            return None
        ends = sentence_ends(text, after, min(limit, after + CAPTION_LOOKBACK_CHARS))
        end = ends[0] if ends else None
        if end is None and len(text) - after <= CAPTION_LOOKBACK_CHARS:
            end = len(text.rstrip())
        return (end, role) if end is not None and _words(text[after:end]) <= CAPTION_MAX_WORDS else None
    if label in _MINH_HOA:
        end = after
        if rest.startswith((":", " :")):
            colon = text.index(":", after)
            end = credit_end(text, colon + 1, limit)
            end = max(end, colon + 1)
        elif text.startswith((", nguồn", ", Nguồn"), after):
            end = credit_end(text, after + 8, limit)
        elif text.startswith(". (Nguồn", after) or text.startswith(" (Nguồn", after):
            close = text.find(")", after, min(limit, after + PAREN_MAX_CHARS))
            if close > 0:
                end = close + 1
        if text[end:end + 1] == ".":
            end += 1
        return end, _PHOTO
    if rest.startswith((":", " :")):
        colon = text.index(":", after)
        if role in (_PHOTO, _BYLINE):
            end = credit_end(text, colon + 1, limit)
            return (end, role) if end > colon + 1 else None
        if label.startswith("Nguồn"):        # "Nguồn video: YouTube/Wrzzer."
            end = credit_end(text, colon + 1, limit)
            return (end, role) if end > colon + 1 else None
        end = label_title_end(text, colon + 1, limit)
        return (end, role) if end is not None and end > colon + 1 else (colon + 1, role)
    if role == _PHOTO and label in ("Ảnh", "ẢNH") and rest[:1] == " ":
        return _bare_credit(text, after, limit)
    return None


def _bare_credit(text: str, after: int, limit: int) -> tuple[int, str] | None:
    """'Ảnh ĐÌNH VĂN', 'Ảnh Internet Theo nhiều dự báo': a credit without ':' - names in
    capitals, or up to 3 capitalised words followed by the start of a sentence, a '.' or
    the end of the line."""
    toks = [(m.end(), m.group(0)) for _, m in zip(range(5), _TOKEN.finditer(text, after, limit))]
    end = after
    for k, (e, tok) in enumerate(toks[:4]):
        core = tok.rstrip(".,")
        if _is_caps(core) or (k < 3 and _is_title(tok)
                              and not _starts_lower(toks[k + 1][1] if k + 1 < len(toks) else "A")):
            end = e
            if tok.endswith("."):
                break                          # "Ảnh CTV." ends at its '.'
            continue
        break
    if end == after:
        return None
    rest = [t for e, t in toks if e > end][:2]
    starts_sentence = len(rest) == 2 and _is_title(rest[0]) and _starts_lower(rest[1])
    caps = _is_caps(text[after:end].replace(" ", ""))
    if text[end - 1] == "." or end >= len(text.rstrip()) or starts_sentence or caps:
        return end, _PHOTO
    return None


def _words(text: str) -> int:
    return len(text.split())


def split_text(text: str, kind: str, last: bool,
               lede: str | None = None) -> tuple[list[Span], str | None, str | None]:
    """Spans of one kept line `text` whose kind is `kind` (lede | body); `last` when it is
    the article's last story line (a byline may follow its last sentence); `lede` the
    lede's text when this is the first body line after it (a body line that starts with
    the whole lede repeats it: that prefix goes to `removed` as dedup.repeated_lede).
    Returns (spans, author, credit); spans == [] when the line stays whole."""
    cuts: list[Span] = []
    author_credit: list[tuple[str | None, str | None]] = []   # from labelled bylines inside the line
    pos = 0                                    # end of the previous cut
    lead = len(text) - len(text.lstrip())
    if lede and len(lede) >= 20 and text.startswith(lede, lead) and text[lead + len(lede):].strip():
        cuts.append(Span(lead, lead + len(lede), reason="dedup.repeated_lede",
                         detail="the lede again, at the start of the body"))
        pos = lead + len(lede)
    for m in _hits(text):
        if m.start < pos:
            continue
        opener = _opener(text, m.start)
        if opener is None:
            continue
        got = _cut_marker(text, m, opener, len(text))
        if got is None:
            continue
        start = max(_opener_start(text, m.start, opener), pos)   # a '>>' may close the previous cut
        end, role = got
        if role == _VIDEO:
            cuts.append(Span(start, end, reason="boilerplate.video_label", detail=text[start:end][:80]))
        elif role == _RELATED:
            cuts.append(Span(start, end, reason="boilerplate.related_list", detail="inline related link"))
        elif role == _BYLINE:
            name = text[text.index(":", m.end) + 1:end].strip()
            parsed = parse_tail_note(name) or (name, None)
            author_credit.append(parsed)
            cuts.append(Span(start, end, reason="metadata.byline", detail=parsed[0] or name))
        elif role == _IN_PHOTO:
            cuts.append(Span(start, end, kind="caption"))
        elif m.label in ("Nguồn", "NGUỒN") and opener == "" and not text[end:].strip(" ."):
            # "... nằm bất tỉnh. Nguồn: Facebook" ends the line: a source note, not a caption
            name = text[text.index(":", m.end) + 1:end].strip().rstrip(".")
            author_credit.append((None, name))
            cuts.append(Span(start, end, reason="metadata.source_credit", detail=name))
        else:
            stop = start                   # the caption ends where the credit starts
            while stop > pos and text[stop - 1] in " -–—:|":
                stop -= 1
            ends = sentence_ends(text, max(pos, stop - CAPTION_LOOKBACK_CHARS), stop)
            i = bisect_left(ends, stop) - 1
            cap_start = ends[i] if i >= 0 else max(pos, stop - CAPTION_LOOKBACK_CHARS)
            described = text[cap_start:start].strip(" -–—:|,")
            if described and _names(described):
                # "Song Đào, ảnh: Nam Nguyễn": a name, not a description: a byline
                lead = len(text[cap_start:start]) - len(text[cap_start:start].lstrip())
                author_credit.append((described, None))
                cuts.append(Span(cap_start + lead, end, reason="metadata.byline", detail=described))
            elif described and any(c.isalnum() for c in described) and _words(described) <= CAPTION_MAX_WORDS:
                lead = len(text[cap_start:start]) - len(text[cap_start:start].lstrip())
                cuts.append(Span(cap_start + lead, end, kind="caption"))
            else:
                cuts.append(Span(start, end, reason="boilerplate.photo_credit", detail=text[start:end][:80]))
        pos = end
    author = next((a for a, _ in author_credit if a), None)
    credit = next((c for _, c in author_credit if c), None)
    if last:
        tail_from = cuts[-1].end if cuts else 0
        note = _tail_note(text, tail_from, bool(cuts))
        if note is not None:
            span, note_author, note_credit = note
            author, credit = author or note_author, credit or note_credit
            cuts.append(span)
    if not cuts:
        return [], None, None
    return _fill(text, cuts, kind), author, credit


def _tail_note(text: str, start: int, after_cut: bool) -> tuple[Span, str | None, str | None] | None:
    """The byline / source note after the last sentence of text[start:], if any."""
    stripped_end = len(text.rstrip())
    ends = sentence_ends(text, max(start, stripped_end - NOTE_MAX_CHARS - 8))
    candidates = [e for e in ends if e < stripped_end]
    if candidates:
        note_start = candidates[-1]
    elif after_cut:
        note_start = start
    else:
        return None
    piece = text[note_start:stripped_end]
    lead = len(piece) - len(piece.lstrip())
    parsed = parse_tail_note(piece.strip())
    if parsed is None:
        return None
    author, credit = parsed
    s, e = note_start + lead, stripped_end
    if author:
        return Span(s, e, reason="metadata.byline", detail=author), author, credit
    return Span(s, e, reason="metadata.source_credit", detail=credit or ""), None, credit


def _fill(text: str, cuts: list[Span], kind: str) -> list[Span]:
    """Story pieces between the cuts, whitespace-trimmed; the first keeps `kind`, later
    ones are body. Pieces without a letter or digit are boilerplate.short_fragment."""
    out: list[Span] = []
    pos = 0
    first = True
    for cut in cuts + [Span(len(text), len(text), reason="end")]:
        piece = text[pos:cut.start]
        if piece.strip():
            s = pos + len(piece) - len(piece.lstrip())
            e = pos + len(piece.rstrip())
            if any(c.isalnum() for c in text[s:e]):
                out.append(Span(s, e, kind=kind if first else "body"))
                first = False
            else:
                out.append(Span(s, e, reason="boilerplate.short_fragment", detail="punctuation left between cuts"))
        if cut.reason != "end":
            out.append(cut)
        pos = cut.end
    return out


def split_kept_lines(st: PageState) -> dict[int, list[Span]]:
    """Spans of every kept lede/body line of a page that has something to cut (keyed by
    line index); fills author and credit from a tail note."""
    out: dict[int, list[Span]] = {}
    last_story = max((n for n, (_, kind) in enumerate(st.kept) if kind in ("lede", "body")), default=-1)
    lede: str | None = None
    for n, (ln, kind) in enumerate(st.kept):
        if kind not in ("lede", "body"):
            continue
        spans, author, credit = split_text(ln.raw, kind, last=n == last_story, lede=lede)
        lede = ln.s if kind == "lede" else None
        if spans:
            out[ln.i] = spans
        if author:
            st.set_author(author)
        if credit:
            st.set_credit(credit)
    return out

