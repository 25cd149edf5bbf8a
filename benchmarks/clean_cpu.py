"""CPU time of the batch transform (no word segmentation), and a content hash of its output.

Runs `transforms.pipeline.transform_batch` the way the flow does (flows/batches.py: batches
of 2,000 documents, `BatchConfig(with_tokens=False)` here), in this one process, on a fixed
sample of the real corpus: `random.Random(2017).sample(sorted(names), N)` of the `*.txt`
files of --corpus (default /tmp/corpus/baomoi-2017, the extracted tarball). The files are
read before any timing. Reported:

- cpu_first_s: process CPU seconds (time.process_time) of the first pass over the whole sample
  (a warm-up run on 50 documents first, not timed): per-process memo caches (normalize's word
  cache, langid's) are cold, as in a worker's first batch; cpu_s: best of --repeats passes,
  with those caches warm (the sample's own words); runs: every pass;
- sha256: per output table (articles, paragraphs, removed, rejects, signatures,
  lineage_gaps when the revision has it), the sha256 of its rows sorted by their repr, with
  the wall-clock columns (loaded_at, rejected_at) left out: equal hashes mean equal content;
- transforms_from: the folder `transforms` was imported from (which revision ran).

    python -m benchmarks.clean_cpu [--docs 4000] [--repeats 3] [--profile 30]
    python -m benchmarks.clean_cpu --rev 9075163        # an older commit, via a git worktree

With --rev, the commit is checked out with `git worktree add /tmp/wt-<rev> <rev>` (removed
afterwards unless --keep-worktree) and this file runs in a subprocess with PYTHONPATH set to
that worktree (then any PYTHONPATH already set), so the older `transforms` is the one imported. --profile N runs cProfile over
one more pass and prints the N entries with the most own time (tottime). Prints JSON.
Nothing here is imported by the pipeline.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

DEFAULT_CORPUS = "/tmp/corpus/baomoi-2017"
BATCH_SIZE = 2_000                               # flows.cli --batch-size default
TABLES = ("articles", "paragraphs", "removed", "rejects", "signatures", "lineage_gaps")
WALL_CLOCK_COLUMNS = ("loaded_at", "rejected_at")


def sample_names(corpus: Path, n: int) -> list[str]:
    names = sorted(p.name for p in corpus.glob("*.txt"))
    return random.Random(2017).sample(names, min(n, len(names)))


def read_docs(corpus: Path, names: list[str]) -> list[dict]:
    out = []
    for name in names:
        data = (corpus / name).read_bytes()
        out.append({"source_path": name, "source_sha256": hashlib.sha256(data).hexdigest(),
                    "size_bytes": len(data), "content": data, "reject_reason": None, "reject_detail": None})
    return out


def _batches(docs: list[dict]):
    import pyarrow as pa

    from transforms import tables as T
    return [pa.Table.from_pylist(docs[i:i + BATCH_SIZE], schema=T.DOCUMENTS)
            for i in range(0, len(docs), BATCH_SIZE)]


def run_once(batches) -> list:
    from transforms.pipeline import BatchConfig, transform_batch
    cfg = BatchConfig(run_id="clean-cpu", with_tokens=False)
    return [transform_batch(b, cfg) for b in batches]


def content_hashes(results: list) -> dict[str, str]:
    """sha256 per table of the rows of every batch, sorted by repr, wall-clock columns left out."""
    out = {}
    for name in TABLES:
        tabs = [getattr(r, name) for r in results if hasattr(r, name)]
        if not tabs:
            continue
        rows = []
        for t in tabs:
            keep = [c for c in t.column_names if c not in WALL_CLOCK_COLUMNS]
            rows.extend(repr(tuple(row[c] for c in keep)) for row in t.select(keep).to_pylist())
        rows.sort()
        h = hashlib.sha256()
        for r in rows:
            h.update(r.encode("utf-8", "surrogatepass"))
            h.update(b"\n")
        out[name] = f"{h.hexdigest()} ({len(rows)} rows)"
    return out


def measure(corpus: Path, n_docs: int, repeats: int, profile: int = 0) -> dict:
    import transforms
    docs = read_docs(corpus, sample_names(corpus, n_docs))
    batches = _batches(docs)
    run_once(_batches(docs[:50]))                 # lazy tables and regexes built, not timed
    runs, results = [], None
    for _ in range(repeats):
        t0 = time.process_time()
        results = run_once(batches)
        runs.append(round(time.process_time() - t0, 3))
    report = {"transforms_from": os.path.dirname(transforms.__file__), "docs": len(docs),
              "cpu_first_s": runs[0], "cpu_s": min(runs), "runs": runs, "sha256": content_hashes(results)}
    if profile:
        import cProfile
        import io
        import pstats
        prof = cProfile.Profile()
        prof.enable()
        run_once(batches)
        prof.disable()
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(profile)
        report["profile"] = buf.getvalue()
    return report


def measure_rev(rev: str, argv: list[str], keep: bool) -> dict:
    """Run this file against commit `rev`, checked out in a worktree under /tmp."""
    repo = Path(__file__).resolve().parents[1]
    sha = subprocess.run(["git", "rev-parse", "--short", rev], cwd=repo, check=True,
                         capture_output=True, text=True).stdout.strip()
    wt = Path(f"/tmp/wt-{sha}")
    created = not wt.exists()
    if created:
        subprocess.run(["git", "worktree", "add", "--detach", str(wt), sha], cwd=repo, check=True,
                       capture_output=True)
    try:
        extra = os.environ.get("PYTHONPATH")           # kept after the worktree (e.g. a package an old commit needs)
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(wt)] + ([extra] if extra else [])))
        proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), *argv], cwd=wt, env=env,
                              check=True, capture_output=True, text=True)
        sys.stderr.write(proc.stderr)
        report = json.loads(proc.stdout)
        report["rev"] = sha
        return report
    finally:
        if created and not keep:
            subprocess.run(["git", "worktree", "remove", "--force", str(wt)], cwd=repo, check=False,
                           capture_output=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", default=DEFAULT_CORPUS)
    ap.add_argument("--docs", type=int, default=4000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--profile", type=int, default=0, metavar="N", help="print cProfile's top N by tottime")
    ap.add_argument("--rev", help="measure this commit (git worktree under /tmp) instead of this checkout")
    ap.add_argument("--keep-worktree", action="store_true")
    args = ap.parse_args(argv)
    if args.rev:
        sub = ["--corpus", args.corpus, "--docs", str(args.docs), "--repeats", str(args.repeats),
               "--profile", str(args.profile)]
        report = measure_rev(args.rev, sub, args.keep_worktree)
    else:
        report = measure(Path(args.corpus), args.docs, args.repeats, args.profile)
    profile = report.pop("profile", None)
    print(json.dumps(report, indent=2, ensure_ascii=False))
    if profile:
        print(profile, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
