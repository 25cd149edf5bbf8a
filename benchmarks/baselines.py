"""The two baselines the flow is measured against, run in the benchmark's own process.

- `floor`: the least any loader must do: read every file, decode UTF-8, NFC, sha256, in one
  process. Nothing is kept.
- `raw_word_tokenize`: `underthesea.word_tokenize` over a list of texts with a
  multiprocessing Pool of the same size the flow uses (forkserver, one underthesea import per
  worker, chunks mapped in order). The clock includes the pool start-up and the imports,
  because the flow pays them too.

Nothing here is imported by the pipeline.
"""
from __future__ import annotations

import hashlib
import os
import time
import unicodedata
from pathlib import Path

__all__ = ["floor", "raw_word_tokenize"]


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


_tokenize = None


def _init_worker() -> None:
    global _tokenize
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from underthesea import word_tokenize
    word_tokenize("Khởi động bộ tách từ.")
    _tokenize = word_tokenize


def _tokenize_chunk(texts: list[str]) -> int:
    n = 0
    for text in texts:
        if text and not text.isspace():
            n += len(_tokenize(text))
    return n


def raw_word_tokenize(texts: list[str], processes: int) -> tuple[float, int]:
    """(seconds, words) for word_tokenize of every non-blank text with `processes` workers."""
    import multiprocessing as mp

    per_chunk = max(50, len(texts) // max(1, processes * 8))
    chunks = [texts[i:i + per_chunk] for i in range(0, len(texts), per_chunk)]
    ctx = mp.get_context("forkserver")
    t0 = time.perf_counter()
    with ctx.Pool(processes, initializer=_init_worker) as pool:
        words = sum(pool.map(_tokenize_chunk, chunks, chunksize=1))
    return time.perf_counter() - t0, words
