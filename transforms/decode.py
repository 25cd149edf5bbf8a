"""Turn the raw bytes of one file into text, recovering Vietnamese instead of rejecting it.

One call per file. The result is either text (line endings unified to '\\n') with the encoding
that produced it, or no text and a reject reason from `transforms.reasons.REJECT_REASONS`:

- ``extract.empty``: zero bytes;
- ``extract.binary``: a known binary signature (PNG, JPEG, GIF, PDF, ZIP, gzip, ELF, ...) or
  more than `MAX_CONTROL_SHARE` of the bytes are NUL/C0 control bytes (tab, LF, CR, FF, VT and
  ESC do not count). A few NULs sprinkled in text stay below that and decode normally;
  normalize removes them;
- ``extract.whitespace_only``: the decoded text has nothing but whitespace, BOMs and zero-width
  characters;
- ``decode.undecodable``: no candidate decoding gives plausible text.

Candidates, in order:

1. a BOM decides: UTF-32 LE/BE, UTF-16 LE/BE, UTF-8 ('utf-8-sig'); UTF-16/32 without a BOM are
   tried when NUL bytes line up on one byte parity;
2. strict UTF-8 ('utf-8'); when the text carries mojibake signatures ("Viá»‡t", "Ã¡"), each
   affected space-delimited run is re-read as UTF-8, one sequence at a time, and the
   repair of a run is kept only when it cannot have made things worse (`repair_mojibake`):
   it round-trips (encoding the repaired run as UTF-8 and reading the bytes back as
   cp1252/latin-1 gives the run again), it has fewer signatures, and every letter it adds is a
   Latin letter (a false signature in valid Vietnamese - 'quá…”', 'giá””' - re-reads as a
   Hangul jamo or a Canadian syllabic and is left alone). The whole text is kept repaired
   ('utf-8+mojibake-repaired') when it has fewer signatures and is not less Vietnamese;
   otherwise the original text stays, byte for byte;
3. otherwise Windows-1258 ('cp1258', tones as combining marks, composed to NFC later) and
   Windows-1252 ('cp1252'); a UTF-8 file with a few broken bytes ('utf-8+replaced', bad bytes
   become U+FFFD) competes with them. The candidate with the highest `vietnamese_score` wins,
   provided it is plausible text (`text_plausibility` >= `MIN_PLAUSIBILITY`);
   `transforms.langid.vietnamese_score` documents the score.

Legacy font encodings (TCVN3/ABC, VNI) are not decoded here yet: such files come out as
cp1252 text with a low Vietnamese score and are rejected by the language step.
"""
from __future__ import annotations

import codecs
import re
import unicodedata
from dataclasses import dataclass

from transforms.langid import vietnamese_score

__all__ = ["Decoded", "decode_bytes", "repair_mojibake", "text_plausibility"]

MAX_CONTROL_SHARE = 0.05     # share of NUL/C0 control bytes above which a file is binary
MIN_PLAUSIBILITY = 0.90      # share of characters that look like text in an accepted decoding
MAX_REPLACED_SHARE = 0.01    # broken UTF-8 bytes tolerated before UTF-8 stops being a candidate
SAMPLE_CHARS = 65_536        # scores are computed on a prefix: fast on 5 MB files

_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "PNG image"), (b"\xff\xd8\xff", "JPEG image"), (b"GIF87a", "GIF image"),
    (b"GIF89a", "GIF image"), (b"%PDF-", "PDF document"), (b"PK\x03\x04", "ZIP archive"),
    (b"\x1f\x8b", "gzip data"), (b"\x7fELF", "ELF executable"), (b"MZ", "Windows executable"),
    (b"BZh", "bzip2 data"), (b"\xfd7zXZ\x00", "xz data"), (b"7z\xbc\xaf\x27\x1c", "7-Zip archive"),
    (b"RIFF", "RIFF media"), (b"OggS", "Ogg media"),
    (b"SQLite format 3\x00", "SQLite database"),
)
_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 11, 12, 13, 27))
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le", "utf-32"), (codecs.BOM_UTF32_BE, "utf-32-be", "utf-32"),
    (codecs.BOM_UTF8, "utf-8", "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "utf-16"), (codecs.BOM_UTF16_BE, "utf-16-be", "utf-16"),
)
# UTF-8 lead byte read as cp1252/latin-1 followed by a continuation byte read the same way.
_MOJIBAKE = re.compile("[ÂÃÄÅÆáâ][\u0080-\u00bf€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ]")
_RUN_END = re.compile("[ \n]")
_INVISIBLE = frozenset("\ufeff\u200b\u200c\u200d\u2060\u00ad\x00")


@dataclass
class Decoded:
    text: str | None        # decoded text, line endings unified to '\n'; None when rejected
    encoding: str | None    # codec that produced `text` (see module docstring)
    reason: str | None      # None, or a REJECT code
    detail: str = ""        # human explanation


def text_plausibility(text: str) -> float:
    """Share of characters that are letters, digits, marks, spaces or common punctuation."""
    sample = text[:SAMPLE_CHARS]
    if not sample:
        return 0.0
    good = 0
    for c in sample:
        if c.isalnum() or c.isspace() or c in ".,;:!?\"'()[]{}-–—/%&@#*+=<>“”‘’…·•_$€°":
            good += 1
        elif unicodedata.category(c)[0] in "MP":
            good += 1
    return good / len(sample)


def _unify_newlines(text: str) -> str:
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def _finish(text: str, encoding: str) -> Decoded:
    text = _unify_newlines(text)
    if all(c.isspace() or c in _INVISIBLE for c in text):
        return Decoded(None, encoding, "extract.whitespace_only", f"{len(text)} characters, all whitespace")
    return Decoded(text, encoding, None)


def repair_mojibake(text: str) -> str:
    """Re-read as UTF-8 each byte sequence that cp1252/latin-1 turned into mojibake.

    Only the space-delimited runs that carry a signature are searched (`_MOJIBAKE`); inside a
    run each UTF-8 sequence spelled in cp1252 or latin-1 characters ('á»‡' for E1 BB 87,
    'Ã¡', 'â€œ') is replaced by the character it encodes, so a run can mix intact Vietnamese
    ('tức', which cp1252 cannot encode) with mojibake. A sequence is replaced only when
    that cannot make things worse:

    - it round-trips: the bytes read back in one codec (cp1252 with its five undefined bytes
      as C1 controls, or latin-1) give the sequence exactly, and they are valid UTF-8;
    - the character it gives is not a letter, or is a Latin letter (U+0000-024F,
      U+1E00-1EFF). A false signature in valid Vietnamese gives another script: 'quá…”' is
      E1 85 94, U+1154 HANGUL JAMO; 'giá””' is U+1514 CANADIAN SYLLABICS;
    - a weak sequence, whose continuation characters are all common typographic punctuation
      (… “ ” ‘ ’ – — •: 'NGÃ”' could be an all-caps 'NGÃ' then a closing quote), is replaced
      only when the same text also holds a strong one (» º ¡ © € ‡ ™ ... as in 'Viá»‡t').

    Everything else is returned unchanged, character for character.
    """
    # Linear time: a signature inside the run found last is skipped before any search, and
    # the searches are bounded by that run (searching the whole text around every signature
    # was quadratic on a 100k-character line of mojibake).
    spans = []
    for m in _MOJIBAKE.finditer(text):
        lo = spans[-1][1] if spans else 0
        if m.start() < lo:
            continue
        start = max(text.rfind(" ", lo, m.start()), text.rfind("\n", lo, m.start())) + 1
        sep = _RUN_END.search(text, m.end())
        end = sep.start() if sep else len(text)
        spans.append((max(start, lo), end))
    fixes: list[tuple[int, int, str, bool]] = []     # (start, end, character, strong)
    for start, end in spans:
        for m in _SEQUENCE.finditer(text, start, end):
            fixed = _reread(m.group())
            if fixed is not None:
                fixes.append((m.start(), m.end(), fixed, not _is_weak(m.group())))
    if not any(strong for *_, strong in fixes):
        return text
    out = []
    pos = 0
    for start, end, fixed, _ in fixes:
        out.append(text[pos:start])
        out.append(fixed)
        pos = end
    out.append(text[pos:])
    return "".join(out)


_CONT = "\u0080-\u00bf€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ"
# one UTF-8 sequence as cp1252/latin-1 shows it: a 2-byte lead (C2-C6) or a 3-byte lead (E1, E2)
# and its continuation bytes; fixed length, so linear
_SEQUENCE = re.compile(f"[ÂÃÄÅÆ][{_CONT}]|[áâ][{_CONT}][{_CONT}]")
_WEAK = frozenset("…“”‘’–—•")
_SLOPPY_CP1252 = {c: b for b in range(0x80, 0x100)
                  for c in [bytes([b]).decode("cp1252", errors="ignore") or chr(b)]}
_LATIN1 = {chr(b): b for b in range(0x80, 0x100)}


def _is_weak(seq: str) -> bool:
    return all(c in _WEAK for c in seq[1:])


def _reread(seq: str) -> str | None:
    """The character a mojibake sequence stands for, or None when the repair is not safe."""
    for table in (_SLOPPY_CP1252, _LATIN1):
        if all(c in table for c in seq):
            try:
                fixed = bytes(table[c] for c in seq).decode("utf-8")
            except UnicodeDecodeError:
                continue
            if fixed.isalpha() and not _is_latin_letter(fixed):
                return None
            return fixed
    return None


def _is_latin_letter(c: str) -> bool:
    """Basic Latin to Latin Extended-B and IPA, or Latin Extended Additional (ạ ệ ữ ...)."""
    return c < "\u0250" or "\u1e00" <= c <= "\u1eff"


def _try(data: bytes, codec: str) -> str | None:
    try:
        return data.decode(codec)
    except UnicodeDecodeError:
        return None


def decode_bytes(data: bytes) -> Decoded:
    """Decode one file; never raises. See the module docstring for the order of candidates."""
    if not data:
        return Decoded(None, None, "extract.empty", "0 bytes")
    for magic, what in _MAGIC:
        if data.startswith(magic) and (magic != b"MZ" or b"\x00" in data[:512]):
            return Decoded(None, None, "extract.binary", f"starts with the signature of a {what}")

    for bom, codec, label in _BOMS:
        if data.startswith(bom):
            body = data[len(bom):]
            text = _try(body, codec)
            if text is None:
                text = body.decode(codec, errors="replace")
                bad = text.count("\ufffd")
                if bad > MAX_REPLACED_SHARE * max(len(text), 1):
                    return Decoded(None, label, "decode.undecodable",
                                   f"{label} BOM, but {bad} of {len(text)} code units are invalid")
            return _finish_utf8(text, label) if label == "utf-8-sig" else _finish(text, label)

    n = len(data)
    nul = data.count(0)
    if nul and nul * 4 >= n:
        # UTF-16/32 without a BOM put their NULs on one parity; binary files do not.
        even = data[0::2].count(0)
        for codec, ok in (("utf-16-le", nul - even >= 0.9 * nul), ("utf-16-be", even >= 0.9 * nul)):
            if ok:
                text = _try(data, codec)
                if text is not None and text_plausibility(text) >= MIN_PLAUSIBILITY:
                    return _finish(text, codec)
    control = n - len(data.translate(None, _CONTROL_BYTES))
    if control > MAX_CONTROL_SHARE * n:
        share = control / n
        what = "NUL bytes" if nul * 2 > control else "NUL and control bytes"
        return Decoded(None, None, "extract.binary", f"{what} make up {share:.0%} of the file")

    text = _try(data, "utf-8")
    if text is not None:
        return _finish_utf8(text, "utf-8")

    # On a tie the earlier candidate wins: UTF-8 with a few bad bytes, then the plainer label.
    candidates = []
    lossy = data.decode("utf-8", errors="replace")
    bad = lossy.count("\ufffd")
    if bad <= MAX_REPLACED_SHARE * len(lossy):
        candidates.append(("utf-8+replaced", lossy))
    for codec in ("cp1252", "cp1258"):
        cand = data.decode(codec, errors="replace")
        if cand.count("\ufffd") <= MAX_REPLACED_SHARE * len(cand):
            candidates.append((codec, cand))
    best = None
    for codec, cand in candidates:
        if text_plausibility(cand) < MIN_PLAUSIBILITY:
            continue
        score = vietnamese_score(cand)
        if best is None or score > best[0]:
            best = (score, codec, cand)
    if best is None:
        return Decoded(None, None, "decode.undecodable",
                       "not valid UTF-8 and no single-byte decoding looks like text "
                       f"({bad} invalid UTF-8 sequences in {n} bytes)")
    score, codec, cand = best
    out = _finish(cand, codec)
    if out.reason is None and codec == "utf-8+replaced":
        out.detail = f"{bad} invalid UTF-8 sequences replaced with U+FFFD"
    return out


def _finish_utf8(text: str, label: str) -> Decoded:
    if _MOJIBAKE.search(text, 0, SAMPLE_CHARS * 4) is not None:
        repaired = repair_mojibake(_unify_newlines(text))
        if (repaired != text and vietnamese_score(repaired) >= vietnamese_score(text)
                and len(_MOJIBAKE.findall(repaired)) < len(_MOJIBAKE.findall(text))):
            out = _finish(repaired, "utf-8+mojibake-repaired")
            out.detail = f"decoded as {label}, then repaired: UTF-8 bytes had been read as cp1252/latin-1"
            return out
    return _finish(text, label)
