"""Spans inside one kept line (stub: lines stay whole)."""
from __future__ import annotations

from transforms.clean.rows import Span
from transforms.clean.state import PageState


def split_kept_lines(st: PageState) -> dict[int, list[Span]]:
    return {}
