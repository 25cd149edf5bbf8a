"""The baseline the flow is measured against, run in the benchmark's own process.

- `floor`: the least any loader must do: read every file, decode UTF-8, NFC, sha256, in one
  process. Nothing is kept.

Word segmentation is measured by `benchmarks/segmenter.py`: underthesea.word_tokenize and the
batch segmenter on the same paragraphs in one process.

Nothing here is imported by the pipeline.
"""
from __future__ import annotations

import hashlib
import os
import time
import unicodedata
from pathlib import Path

__all__ = ["floor"]


def floor(source: Path) -> tuple[float, int, int]:
    """(seconds, files, bytes) to read + decode + NFC + sha256 every file directly under `source`."""
    names = sorted(os.listdir(source))
    t0 = time.perf_counter()
    n_bytes = 0
    for name in names:
        with open(source / name, "rb") as fh:
            raw = fh.read()
        n_bytes += len(raw)
        text = unicodedata.normalize("NFC", raw.decode("utf-8", "replace"))
        hashlib.sha256(text.encode("utf-8")).digest()
    return time.perf_counter() - t0, len(names), n_bytes

