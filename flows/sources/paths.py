"""One entry of a source listing, and how its path is named in the tables.

source_path
-----------
The path relative to --source, components joined by '/'. File names are bytes on POSIX; they
may hold spaces, Vietnamese letters, newlines and bytes that are not UTF-8. The name is
decoded as UTF-8 with surrogateescape and then escaped, so the result is valid UTF-8 and
the mapping is injective:

    '\\' -> '\\\\'    '\\n' -> '\\n'    '\\r' -> '\\r'    '\\t' -> '\\t'
    other C0 control bytes, DEL, and every byte that is not part of valid UTF-8 -> '\\xNN'

Everything else (Vietnamese letters in NFC or NFD, spaces, emoji) is kept as is; names are
not normalized, since two names that differ only in NFC/NFD are two files.
`source_path_to_bytes` is the inverse. A directory that could not be listed is reported with
a trailing '/' (the root itself as './'), which no file path has.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_MAX_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class SourceEntry:
    """One directory entry under --source, as the scan saw it."""

    source_path: str            # relative to --source, escaped (see module docstring)
    abs_path: str               # what to open; os.fsdecode()d, so os.fsencode() gives the bytes
    size_bytes: int             # st_size at scan time, -1 if unknown
    reject_reason: str | None   # None: a regular file to read; else a REJECT_REASONS code
    reject_detail: str = ""
    file_id: tuple[int, int] | None = None   # (st_dev, st_ino) at scan; read checks it again
    mtime_ns: int = -1          # st_mtime_ns at scan time, -1 if unknown


# -- source_path escaping ------------------------------------------------------------------

_ESCAPE: dict[int, str] = {ord("\\"): "\\\\", ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t"}
for _c in [*range(0x20), 0x7F]:
    _ESCAPE.setdefault(_c, f"\\x{_c:02x}")
for _b in range(0x80, 0x100):             # surrogateescape puts undecodable byte b at U+DC00+b
    _ESCAPE[0xDC00 + _b] = f"\\x{_b:02x}"
_UNESCAPE = {"\\": "\\", "n": "\n", "r": "\r", "t": "\t"}
_HEX = frozenset("0123456789abcdef")


def escape(name: str) -> str:
    """Escape text decoded from UTF-8 with surrogateescape (see module docstring)."""
    # Controls and surrogates are not printable, so printable text without a backslash has
    # nothing to escape; the rest goes through the table (which leaves e.g. NBSP alone).
    if name.isprintable() and "\\" not in name:
        return name
    return name.translate(_ESCAPE)


def source_path_from_bytes(rel: bytes) -> str:
    """Escape a relative path (bytes, '/'-separated) into valid, unambiguous UTF-8 text."""
    return escape(rel.decode("utf-8", "surrogateescape"))


def source_path_to_bytes(source_path: str) -> bytes:
    """Invert `source_path_from_bytes`: the exact bytes of the relative path.

    Raises ValueError for text that no path escapes to (a lone or unknown backslash escape).
    """
    out: list[str] = []
    i = 0
    while True:
        j = source_path.find("\\", i)
        if j < 0:
            out.append(source_path[i:])
            break
        out.append(source_path[i:j])
        c = source_path[j + 1:j + 2]
        if c == "x":
            hh = source_path[j + 2:j + 4]
            if len(hh) != 2 or not _HEX.issuperset(hh):
                raise ValueError(f"not a source_path: bad \\x escape at {j}: {source_path!r}")
            v = int(hh, 16)
            out.append(chr(v) if v < 0x80 else chr(0xDC00 + v))
            i = j + 4
        elif c and c in _UNESCAPE:
            out.append(_UNESCAPE[c])
            i = j + 2
        else:
            raise ValueError(f"not a source_path: bad escape at {j}: {source_path!r}")
    return "".join(out).encode("utf-8", "surrogateescape")



_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


def is_url(source: str) -> bool:
    """'s3://b/x', 'file:///data': yes (read through flows/sources/remote.py); '/data/x',
    'seeds', '/tmp/a://b' (a local name): no."""
    return bool(_URL.match(str(source)))
