"""Benchmark of the batch word segmenter (transforms.segment_crf) against underthesea.word_tokenize.

`compare(texts)` runs both on the same paragraphs in this one process and returns
- paragraphs, tokens (underthesea's words), chars;
- underthesea_s: word_tokenize on every paragraph, one call each (as the flow used to);
- ours_load_s: reading the installed model, templates and dictionary into a fresh segmenter,
  and loading the model of its fallback word_tokenize (underthesea's own model load is not
  in underthesea_s either);
- ours_cold_s: that fresh segmenter on the paragraphs in batches of `batch_size` (empty caches,
  as a new worker starts); ours_warm_s: the same paragraphs again (caches filled);
- speedup_cold / speedup_warm: underthesea_s / ours_*_s; ours_paragraphs_s, ours_words_s;
- identical: every paragraph gave the same words; mismatches: how many paragraphs did not (in
  either pass);
- fallback_paragraphs: paragraphs the segmenter handed to word_tokenize (unsafe characters);
- backend: 'crf-numpy', or 'underthesea' when the installed model is not supported (then
  only underthesea is timed);
- peak_rss_mb_underthesea / peak_rss_mb_both: the process high-water mark (ru_maxrss) after
  the underthesea pass and after ours (ours runs second, so the difference is a lower bound of
  its extra: the high-water mark already holds underthesea's peak);
- worker_base_rss_mb / worker_segmenter_rss_mb: peak RSS (VmHWM, Linux) of a fresh
  interpreter after importing numpy, pandas and pyarrow (as a batch worker has them), and
  after transforms.segment then segmented two short texts, one handed to word_tokenize;
  worker_imported: which of underthesea, joblib, requests that process imported.

    python -m benchmarks.segmenter [--corpus DIR_OR_TARBALL] [--docs N]

reads the first N .txt files (sorted by name, every non-blank line a paragraph) and prints the
dict as JSON. Nothing here is imported by the pipeline.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tarfile
import time
from pathlib import Path

__all__ = ["compare", "load_paragraphs", "worker_rss"]

ROOT = Path(__file__).resolve().parents[1]
_WORKER = """
import json, sys
import numpy, pandas, pyarrow
def mb():  # VmHWM: ru_maxrss would carry the parent's peak over the exec
    with open("/proc/self/status") as fh:
        return round(next(int(x.split()[1]) for x in fh if x.startswith("VmHWM:")) / 1024, 1)
base = mb()
from transforms.segment import segment_words
segment_words(["Khởi động bộ tách từ.", "Москва và Hà Nội"])
print(json.dumps({"worker_base_rss_mb": base, "worker_segmenter_rss_mb": mb(),
                  "worker_imported": sorted(m for m in ("underthesea", "joblib", "requests")
                                            if m in sys.modules)}))
"""


def _peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def worker_rss() -> dict:
    """The segmenter's memory in a fresh process, as a batch worker loads it (see above)."""
    done = subprocess.run([sys.executable, "-c", _WORKER], capture_output=True, text=True,
                          cwd=ROOT, timeout=300, check=True)
    return json.loads(done.stdout)


def compare(texts: list[str], batch_size: int = 2_000) -> dict:
    """Time underthesea.word_tokenize and the batch segmenter on `texts`; check equality."""
    from underthesea import word_tokenize

    from transforms import segment_crf, segment_model

    texts = [t for t in texts if t and not t.isspace()]
    word_tokenize("Khởi động.")                        # model load is not timed
    t0 = time.perf_counter()
    ref = [word_tokenize(t) for t in texts]
    under_s = time.perf_counter() - t0
    r: dict = {
        "paragraphs": len(texts), "tokens": sum(map(len, ref)), "chars": sum(map(len, texts)),
        "underthesea_s": round(under_s, 3), "peak_rss_mb_underthesea": _peak_rss_mb(),
    }
    t0 = time.perf_counter()
    try:
        seg = segment_crf.CrfSegmenter(*segment_model.load_installed())
        seg.load_fallback()     # its model load is timed here, as word_tokenize's is left out above
    except segment_model.UnsupportedModel as e:
        r.update(backend="underthesea", unsupported=str(e))
        return r
    r["ours_load_s"] = round(time.perf_counter() - t0, 3)

    def run() -> tuple[float, list[list[str]]]:
        out: list[list[str]] = []
        t = time.perf_counter()
        for i in range(0, len(texts), batch_size):
            out.extend(seg.segment(texts[i:i + batch_size]))
        return time.perf_counter() - t, out

    cold_s, ours = run()
    warm_s, ours2 = run()
    fallback = sum(seg.token_ids(t) is None for t in texts)
    mismatches = sum(a != r or b != r for a, b, r in zip(ours, ours2, ref))     # paragraphs, either pass
    r.update(
        backend="crf-numpy", batch_size=batch_size,
        ours_cold_s=round(cold_s, 3), ours_warm_s=round(warm_s, 3),
        speedup_cold=round(under_s / cold_s, 2) if cold_s else None,
        speedup_warm=round(under_s / warm_s, 2) if warm_s else None,
        underthesea_paragraphs_s=round(len(texts) / under_s, 1) if under_s else None,
        ours_paragraphs_s=round(len(texts) / cold_s, 1) if cold_s else None,
        ours_words_s=round(r["tokens"] / cold_s) if cold_s else None,
        identical=mismatches == 0, mismatches=mismatches, fallback_paragraphs=fallback,
        peak_rss_mb_both=_peak_rss_mb(),
    )
    r.update(worker_rss())
    return r


def load_paragraphs(corpus: Path, docs: int) -> list[str]:
    """Non-blank lines of the first `docs` .txt files by name, from a folder or a .tar.gz."""
    blobs: list[bytes] = []
    if corpus.is_dir():
        blobs = [p.read_bytes() for p in sorted(corpus.rglob("*.txt"))[:docs]]
    else:
        with tarfile.open(corpus, "r:gz") as tar:
            members = sorted((m for m in tar if m.isfile() and m.name.endswith(".txt")),
                             key=lambda m: m.name)[:docs]
            blobs = [tar.extractfile(m).read() for m in members]
    return [line for b in blobs for line in b.decode("utf-8", errors="replace").split("\n")
            if line.strip()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", type=Path, default=Path("../shared/corpora/baomoi-2017.tar.gz"))
    ap.add_argument("--docs", type=int, default=2_000)
    ap.add_argument("--batch-size", type=int, default=2_000)
    args = ap.parse_args()
    print(json.dumps(compare(load_paragraphs(args.corpus, args.docs), args.batch_size), indent=2))


if __name__ == "__main__":
    main()
