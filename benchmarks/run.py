"""`make bench`: every figure of issue 8 measured in one run, on one machine, at one time.

    python -m benchmarks.run [--corpus PATH] [--docs N] [--out FILE]    (make bench; newsetl bench)

The benchmark drives the product from outside: `newsetl run` in subprocesses, and the
warehouse read back. The product never imports this package.

The corpus tarball is extracted to a temporary folder first (not timed); with --docs N a
deterministic sample of N files is taken. Then, in this order:

 1. floor: read + decode + NFC + sha256 of every file, in this process;
 2. fixed start-up F: `newsetl run` on a one-file source into a fresh warehouse (after one
    warm-up run that pays for the fresh PREFECT_HOME database); then the same against a
    Prefect server started with `newsetl ui` for the benchmark (fixed_startup_server_s);
 3. the full flow without word segmentation into a fresh warehouse: wall, MB/s, docs/s, peak
    RSS of the process tree, stage_seconds from `runs`, and the split into F, gates,
    orchestration and own transforms (report.machinery);
 4. scaling: the same on 25% and 50% of the files (fresh warehouses); and 25% of the files
    with --task-runner dask on a LocalCluster of 1, then 2 workers (dask_speedup);
 5. the full flow with word segmentation (fresh warehouse), and raw
    underthesea.word_tokenize over `select text from paragraphs` of run 3 with os.cpu_count()
    processes;
 6. the tone normalizer against text_normalize (benchmarks.normalizer.compare, 2,000 files or
    the whole sample);
 7. near duplicates against datasketch (benchmarks.neardup.compare, every file);
 8. a no-op re-run on the warehouse of run 3, then an incremental run after writing
    perturbed copies of 1% of the files under new names into the source folder.

Every flow runs as a subprocess `python -m flows.cli run ...` with PREFECT_HOME set to a
folder of this benchmark (shared by its runs, deleted at the end). PREFECT_API_URL is passed
on only when the caller has it set and the server answers /health; F is always measured with
the embedded API, and F against a server with the caller's or a `newsetl ui` started here. Results go to --out (JSON), the same name with .md and .png, and for a full run a
dated copy <YYYY-MM-DD>.json. Quick mode (--docs N) writes quick.json/.md/.png unless --out is
given (an --out equal to the CLI default counts as not given). Exit code 0 when every step
ran (PASS or MISS), 1 when a step failed (the report is still written, with the error), 2 when
the corpus is missing.

Environment: NEWSETL_BENCH_TMP (parent of the work folder, default the system temp dir),
NEWSETL_BENCH_KEEP=1 (keep the work folder for inspection).
"""
from __future__ import annotations

import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path

from benchmarks import baselines, report
from benchmarks.rss import Measured, run_measured
from flows.procs import api_healthy, die_with_parent, free_port, stop_process, wait_healthy

__all__ = ["run_benchmark"]

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
CLI_DEFAULT_OUT = Path("benchmarks/results/latest.json")      # the default of --out
SEED = 2017
NORMALIZER_SAMPLE = 2000
SCALING_FRACTIONS = (0.25, 0.5)
INCREMENTAL_SHARE = 0.01
DASK_FRACTION = 0.25                 # the Dask 1 -> 2 workers comparison runs on this share of the files
RUN_TIMEOUT_S = 4 * 3600


class StepFailed(Exception):
    """A flow run or a comparison failed; recorded under `errors`, later steps that need it skip."""


class _Progress:
    def __init__(self) -> None:
        self.t0 = time.perf_counter()

    def __call__(self, msg: str) -> None:
        print(f"bench [{time.perf_counter() - self.t0:7.1f} s] {msg}", file=sys.stderr, flush=True)


# -- corpus -------------------------------------------------------------------------------------

def extract_corpus(tarball: Path, dest: Path, docs: int, seed: int = SEED) -> list[str]:
    """Extract the regular files of `tarball` flat into `dest`; all, or a sample of `docs` of them.

    The sample is random.Random(seed).sample over the member names sorted, so the same
    --docs gives the same files on every machine. Returns the file names, sorted.
    """
    dest.mkdir(parents=True)
    with tarfile.open(tarball, "r:*") as tar:
        members = sorted((m for m in tar.getmembers() if m.isfile()), key=lambda m: m.name)
        if docs and docs < len(members):
            members = random.Random(seed).sample(members, docs)
        names = {os.path.basename(m.name) for m in members}
        if len(names) != len(members):
            raise StepFailed(f"{tarball} holds two files with the same name in different folders")
        for m in sorted(members, key=lambda m: m.offset):
            (dest / os.path.basename(m.name)).write_bytes(tar.extractfile(m).read())
    return sorted(names)


def _link_subset(src: Path, dest: Path, names: list[str]) -> None:
    dest.mkdir(parents=True)
    for name in names:
        try:
            os.link(src / name, dest / name)
        except OSError:
            shutil.copy2(src / name, dest / name)


def _read_texts(src: Path, names: list[str]) -> list[str]:
    return [(src / n).read_bytes().decode("utf-8", "replace") for n in names]


# -- flow runs ----------------------------------------------------------------------------------

def _prefect_env(home: Path, api_url: str | None) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env["PREFECT_HOME"] = str(home)
    # the first run creates the database of the fresh PREFECT_HOME; on a loaded machine that
    # takes longer than Prefect's default 20 s wait for the ephemeral server
    env.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
    if api_url:
        env["PREFECT_API_URL"] = api_url
    return env


def _last_run_row(warehouse: Path) -> dict:
    from flows.warehouse import Warehouse
    df = Warehouse(warehouse).query(
        "select status, files_read, files_skipped, articles_new, rejects_new, duplicates_marked, "
        "stage_seconds from runs order by started_at desc limit 1")
    row = df.iloc[0].to_dict()
    out = {k: (int(v) if k not in ("status", "stage_seconds") else v) for k, v in row.items()}
    out["stage_seconds"] = json.loads(row["stage_seconds"] or "{}")
    return out


def _why_failed(stderr: str) -> str:
    """The CLI's own one-line message when there is one, else the last meaningful lines."""
    lines = [x.strip() for x in stderr.splitlines() if x.strip().strip("^~ ")]
    own = [x for x in lines if x.startswith("newsetl:")]
    return own[-1] if own else " | ".join(lines[-3:]) or "(no stderr)"


def flow_run(name: str, source: Path, warehouse: Path, *, tokens: bool, env: dict, log,
             extra: list[str] | None = None) -> dict:
    """One `newsetl run` subprocess, measured; its `runs` row joined in. Raises StepFailed."""
    args = [sys.executable, "-m", "flows.cli", "run", "--source", str(source), "--warehouse", str(warehouse)]
    if not tokens:
        args.append("--no-tokens")
    args += extra or []
    docs = sum(1 for _ in os.scandir(source))
    log(f"  flow run '{name}': {docs} files, {'with' if tokens else 'without'} word segmentation ...")
    m: Measured = run_measured(args, env=env, cwd=ROOT, timeout=RUN_TIMEOUT_S)
    if m.returncode != 0:
        raise StepFailed(f"flow run '{name}' exited {m.returncode} after {m.wall_s:.1f} s: {_why_failed(m.stderr)}")
    rec = {"docs": docs, "tokens": tokens, "wall_s": round(m.wall_s, 3), "peak_rss_mb": round(m.peak_rss_mb, 1),
           "max_process_hwm_mb": round(m.max_process_hwm_mb, 1), "max_processes": m.max_processes,
           "rss_samples": m.samples}
    rec.update(_last_run_row(warehouse))
    log(f"  flow run '{name}': {m.wall_s:.1f} s, peak RSS {m.peak_rss_mb:.0f} MB, stages {rec['stage_seconds']}")
    return rec


# -- the benchmark ------------------------------------------------------------------------------

def _git_commit() -> str | None:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, timeout=10).stdout.strip() or None
    except OSError:
        return None


def _resolve_paths(corpus: Path, docs: int, out: Path) -> tuple[Path | None, Path]:
    if not corpus.is_absolute() and not corpus.exists():
        corpus = ROOT / corpus
    if out == CLI_DEFAULT_OUT:
        out = RESULTS / ("quick.json" if docs else "latest.json")
    return (corpus.resolve() if corpus.exists() else None), out


def run_benchmark(corpus: Path, docs: int, out: Path) -> int:
    """Run every step (see the module docstring), write the reports; returns the exit code."""
    log = _Progress()
    corpus_path, out = _resolve_paths(Path(corpus), docs, Path(out))
    if corpus_path is None:
        print(f"newsetl bench: corpus {corpus} not found (pass --corpus PATH to a .tar.gz of article files)",
              file=sys.stderr)
        return 2
    parent = os.environ.get("NEWSETL_BENCH_TMP") or None
    work = Path(tempfile.mkdtemp(prefix="newsetl-bench-", dir=parent))
    started = datetime.now()
    r: dict = {
        "benchmark_version": 1, "date": started.strftime("%Y-%m-%d"),
        "started_at": started.astimezone(timezone.utc).isoformat(timespec="seconds"),
        "mode": "quick" if docs else "full", "docs_requested": docs or None, "corpus": str(corpus_path),
        "git_commit": _git_commit(),
        "machine": {"cpu_count": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform(), "loadavg_start": [round(x, 2) for x in os.getloadavg()]},
        "runs": {}, "errors": {}, "notes": [],
    }
    try:
        _measure(r, corpus_path, docs, work, log)
    except KeyboardInterrupt:
        log("interrupted; writing what was measured")
        r["errors"]["interrupted"] = "Ctrl-C"
    finally:
        if os.environ.get("NEWSETL_BENCH_KEEP") == "1":
            log(f"work folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    r["machine"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    r["elapsed_s"] = round(time.perf_counter() - log.t0, 1)
    r["targets"] = report.evaluate_targets(r)
    _write(r, out, log)
    for t in r["targets"]:
        log(f"{t['status']:4s} {t['name']}: {report._fmt(t['value'])} (limit {report._fmt(t['limit'])})"
            + (f"; bottleneck {t['bottleneck']}" if t["bottleneck"] else ""))
    return 1 if r["errors"] else 0


def _write(r: dict, out: Path, log) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(r, indent=1, ensure_ascii=False, default=str) + "\n"
    out.write_text(text, encoding="utf-8")
    written = [out]
    if r["mode"] == "full":
        dated = out.parent / f"{r['date']}.json"
        dated.write_text(text, encoding="utf-8")
        written.append(dated)
    png = out.with_suffix(".png")
    try:
        report.write_chart(r, png)
        written.append(png)
    except Exception as e:  # noqa: BLE001 - a chart failure must not lose the figures
        r["notes"].append(f"chart not written: {type(e).__name__}: {e}")
        png = None
    md = out.with_suffix(".md")
    report.write_markdown(r, md, png.name if png else None)
    written.append(md)
    log("wrote " + ", ".join(str(p) for p in written))


def _step(r: dict, name: str, log, fn):
    """Run one step; a failure is recorded under errors[name] and the step's figures stay None."""
    t0 = time.perf_counter()
    log(f"step {name} ...")
    try:
        fn()
    except StepFailed as e:
        r["errors"][name] = str(e)
        log(f"step {name} FAILED: {e}")
    except Exception as e:  # noqa: BLE001 - record, carry on with the steps that do not need it
        r["errors"][name] = f"{type(e).__name__}: {e}"
        log(f"step {name} FAILED:\n{traceback.format_exc()}")
    else:
        log(f"step {name} done in {time.perf_counter() - t0:.1f} s")


def _measure(r: dict, corpus: Path, docs: int, work: Path, log) -> None:
    src = work / "source"
    home = work / "prefect-home"
    log(f"extracting {corpus} to {src} (not timed) ...")
    names = extract_corpus(corpus, src, docs)
    n = len(names)
    sizes = sum((src / x).stat().st_size for x in names)
    r.update(corpus_docs=n, corpus_mb=round(sizes / 1e6, 2))
    if docs and docs > n:
        r["notes"].append(f"--docs {docs} is more than the corpus holds; all {n} files used")
    log(f"{n} files, {sizes / 1e6:.1f} MB")

    api_url = os.environ.get("PREFECT_API_URL")
    if api_url and not api_healthy(api_url, timeout=3):
        r["notes"].append(f"PREFECT_API_URL={api_url} is set but its /health does not answer; "
                          "the runs used the ephemeral API instead")
        api_url = None
    elif api_url:
        r["notes"].append(f"PREFECT_API_URL={api_url} was set: every flow run reported to that server")
    r["prefect"] = {"api_url": api_url, "home": "a folder of this benchmark, shared by its runs"}
    env = _prefect_env(home, api_url)
    runs = r["runs"]

    def floor():
        best = None
        for _ in range(2):
            secs, files, n_bytes = baselines.floor(src)
            best = secs if best is None else min(best, secs)
        r["floor_s"] = round(best, 3)
        r["floor_mb_s"] = round(n_bytes / 1e6 / best, 1)
        log(f"  floor {best:.2f} s ({files} files)")
    _step(r, "floor", log, floor)

    one = work / "one-file"
    _link_subset(src, one, names[:1])

    def fixed_runs(label: str, count: int, run_env: dict) -> dict:
        """`count` one-file runs; the fastest is F (its run is the one kept under `runs`)."""
        recs = [flow_run(f"{label} {i + 1}", one, work / f"wh-{label[:12].replace(' ', '-')}-{i}",
                         tokens=False, env=run_env, log=log) for i in range(count)]
        best = min(recs, key=lambda x: x["wall_s"])
        best["all_walls_s"] = [x["wall_s"] for x in recs]
        return best

    def startup():                       # always against the embedded API, whatever the caller set
        eph = _prefect_env(home, None)
        first = flow_run("warm-up (fresh PREFECT_HOME)", one, work / "wh-warmup", tokens=False, env=eph, log=log)
        r["prefect"]["first_run_s"] = first["wall_s"]
        runs["warmup"] = first
        best = runs["fixed_startup"] = fixed_runs("fixed start-up", 1 if docs else 2, eph)
        r["fixed_startup_s"] = best["wall_s"]
        r["fixed_startup_in_stages_s"] = round(sum(best["stage_seconds"].values()), 3)
        r["fixed_startup_runs_s"] = best["all_walls_s"]
    _step(r, "fixed_startup", log, startup)

    def server_startup():
        """F against a running server: the caller's PREFECT_API_URL, else `newsetl ui` started here."""
        ui = out = None
        url = api_url
        if not url:
            port = free_port()
            url = f"http://127.0.0.1:{port}/api"
            log(f"  starting `newsetl ui --port {port}` (not timed) ...")
            out = tempfile.TemporaryFile()
            ui = subprocess.Popen([sys.executable, "-m", "flows.cli", "ui", "--port", str(port)], cwd=ROOT,
                                  env=_prefect_env(home, None), stdin=subprocess.DEVNULL, stdout=out,
                                  stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=die_with_parent)
        try:
            if ui is not None and not wait_healthy(url, ui, timeout=180):
                stop_process(ui)
                out.seek(0)
                raise StepFailed(f"`newsetl ui` did not answer on {url}: "
                                 f"{out.read().decode('utf-8', 'replace')[-300:]}")
            # the first run warms the server (its first flow and task runs)
            flow_run("warm-up against the server", one, work / "wh-srv-warmup", tokens=False,
                     env=_prefect_env(home, url), log=log)
            best = runs["fixed_startup_server"] = fixed_runs("fixed start-up against a server", 1 if docs else 2,
                                                             _prefect_env(home, url))
            r["fixed_startup_server_s"] = best["wall_s"]
            r["fixed_startup_server_runs_s"] = best["all_walls_s"]
        finally:
            if ui is not None:
                stop_process(ui)
                out.close()
    _step(r, "fixed_startup_server", log, server_startup)

    main_wh = work / "wh-full"

    def full_no_tokens():
        rec = flow_run("full, no tokens", src, main_wh, tokens=False, env=env, log=log)
        runs["full_no_tokens"] = rec
        w = rec["wall_s"]
        r.update(full_no_tokens_s=w, full_no_tokens_mb_s=round(r["corpus_mb"] / w, 2),
                 full_no_tokens_docs_s=round(n / w, 1), peak_rss_mb=rec["peak_rss_mb"],
                 max_process_hwm_mb=rec["max_process_hwm_mb"], stage_seconds=rec["stage_seconds"])
        r["machinery"] = report.machinery(w, r.get("fixed_startup_s"), rec["stage_seconds"])
    _step(r, "full_no_tokens", log, full_no_tokens)

    order = list(names)
    random.Random(SEED + 1).shuffle(order)

    def subset(frac: float) -> tuple[Path, int]:
        """The same random `frac` of the files for every step that uses that share (linked)."""
        k = max(1, round(n * frac))
        sub = work / f"source-{int(frac * 100)}"
        if not sub.exists():
            _link_subset(src, sub, sorted(order[:k]))
        return sub, k

    def scaling():
        out = []
        for frac in SCALING_FRACTIONS:
            sub, k = subset(frac)
            rec = flow_run(f"scaling {frac:.0%}", sub, work / f"wh-{int(frac * 100)}", tokens=False, env=env, log=log)
            runs[f"scaling_{int(frac * 100)}"] = rec
            out.append({"fraction": frac, "docs": k, "seconds": rec["wall_s"], "peak_rss_mb": rec["peak_rss_mb"]})
            shutil.rmtree(work / f"wh-{int(frac * 100)}", ignore_errors=True)
        if "full_no_tokens" in runs:
            out.append({"fraction": 1.0, "docs": n, "seconds": runs["full_no_tokens"]["wall_s"],
                        "peak_rss_mb": runs["full_no_tokens"]["peak_rss_mb"]})
        r["scaling"] = out
    _step(r, "scaling", log, scaling)

    def dask():
        sub, k = subset(DASK_FRACTION)
        out = {"fraction": DASK_FRACTION, "docs": k}
        for w in (1, 2):
            rec = flow_run(f"Dask LocalCluster, {w} worker(s), {DASK_FRACTION:.0%}", sub, work / f"wh-dask-{w}",
                           tokens=False, env=env, log=log, extra=["--task-runner", "dask", "--workers", str(w)])
            runs[f"dask_{w}"] = rec
            out[f"workers_{w}_s"] = rec["wall_s"]
            out[f"workers_{w}_transform_s"] = rec["stage_seconds"].get("transform")
            shutil.rmtree(work / f"wh-dask-{w}", ignore_errors=True)
        out["speedup"] = round(out["workers_1_s"] / out["workers_2_s"], 3)
        F = r.get("fixed_startup_s")
        if F is not None and out["workers_2_s"] > F:
            out["speedup_minus_F"] = round((out["workers_1_s"] - F) / (out["workers_2_s"] - F), 3)
        r["dask"] = out
        r["dask_speedup"] = out["speedup"]
    _step(r, "dask", log, dask)

    def tokens():
        rec = flow_run("full, with tokens", src, work / "wh-tokens", tokens=True, env=env, log=log)
        runs["full_tokens"] = rec
        r.update(full_tokens_s=rec["wall_s"], peak_rss_tokens_mb=rec["peak_rss_mb"],
                 stage_seconds_tokens=rec["stage_seconds"])
        shutil.rmtree(work / "wh-tokens", ignore_errors=True)
    _step(r, "full_tokens", log, tokens)

    def segmenter():
        from benchmarks import segmenter as S
        sample = names if n <= NORMALIZER_SAMPLE else sorted(random.Random(SEED + 3).sample(names, NORMALIZER_SAMPLE))
        lines = [ln for t in _read_texts(src, sample) for ln in t.split("\n") if ln.strip()]
        log(f"  segmenter vs word_tokenize on {len(lines)} paragraphs of {len(sample)} files ...")
        res = S.compare(lines)
        r["segmenter"] = res
        r.update(segmenter_backend=res.get("backend"), segmenter_speedup=res.get("speedup_cold"),
                 segmenter_speedup_warm=res.get("speedup_warm"), segmenter_identical=res.get("identical"),
                 segmenter_mismatches=res.get("mismatches"))
        log(f"  segmenter {res.get('speedup_cold')}x cold, {res.get('speedup_warm')}x warm, "
            f"identical={res.get('identical')}")
    _step(r, "segmenter", log, segmenter)

    def normalizer():
        from benchmarks import normalizer as N
        sample = names if n <= NORMALIZER_SAMPLE else sorted(random.Random(SEED + 2).sample(names, NORMALIZER_SAMPLE))
        log(f"  normalizer vs text_normalize on {len(sample)} files ...")
        res = N.compare(_read_texts(src, sample), seed=13)
        res["disagreements"] = res["disagreements"][:20]
        r["normalizer"] = res
        r.update(normalizer_speedup=res["normalizer_speedup"],
                 normalizer_word_agreement=res["word_agreement_perturbed"],
                 normalizer_word_agreement_original=res["word_agreement_original"],
                 normalizer_roundtrip=res["roundtrip_rate"])
    _step(r, "normalizer", log, normalizer)

    def neardup():
        from benchmarks import neardup as ND
        texts, ids = ND.load_corpus(str(src))
        log(f"  near duplicates vs datasketch on {len(texts)} files ...")
        res = ND.compare(texts, ids)
        r["neardup"] = res
        for k in ("neardup_speedup", "neardup_precision", "neardup_recall", "datasketch_recall",
                  "exact_dup_share", "near_dup_share"):
            r[k] = res[k]
    _step(r, "neardup", log, neardup)

    def noop():
        if "full_no_tokens" not in runs:
            raise StepFailed("needs the warehouse of the full run without tokens")
        rec = flow_run("no-op re-run", src, main_wh, tokens=False, env=env, log=log)
        runs["noop_rerun"] = rec
        r["noop_rerun_s"] = rec["wall_s"]
        if rec["files_skipped"] != n or rec["articles_new"] != 0:
            r["notes"].append(f"the no-op re-run was not a no-op: {rec['files_skipped']} of {n} files skipped, "
                              f"{rec['articles_new']} articles new")
    _step(r, "noop_rerun", log, noop)

    def incremental():
        if "noop_rerun" not in runs:
            raise StepFailed("needs the warehouse after the no-op re-run")
        from benchmarks.normalizer import perturb
        k = max(1, round(n * INCREMENTAL_SHARE))
        picked = sorted(random.Random(SEED + 3).sample(names, k))
        for i, name in enumerate(picked):
            stem, ext = os.path.splitext(name)
            text = (src / name).read_bytes().decode("utf-8", "replace")
            (src / f"{stem}-bench-incr{ext}").write_text(perturb(text, seed=SEED + i), encoding="utf-8")
        rec = flow_run("incremental 1%", src, main_wh, tokens=False, env=env, log=log)
        runs["incremental_1pct"] = rec
        r.update(incremental_1pct_s=rec["wall_s"], incremental_new_files=k)
        if rec["files_read"] - rec["files_skipped"] != k:
            r["notes"].append(f"the incremental run processed {rec['files_read'] - rec['files_skipped']} files, "
                              f"expected {k}")
    _step(r, "incremental_1pct", log, incremental)

    r["notes"].append("noop and incremental runs use --no-tokens, on the warehouse of the full run without "
                      "tokens; F is subtracted from them as measured on a one-file source")


def main(argv: list[str] | None = None) -> int:
    import argparse
    p = argparse.ArgumentParser(prog="python -m benchmarks.run", description=(
        "Benchmark the whole flow on the real corpus; writes JSON, Markdown and a PNG chart."))
    p.add_argument("--corpus", type=Path, default=Path("../shared/corpora/baomoi-2017.tar.gz"))
    p.add_argument("--docs", type=int, default=0, help="quick mode: a sample of N documents (0 = all)")
    p.add_argument("--out", type=Path, default=CLI_DEFAULT_OUT)
    a = p.parse_args(argv)
    if a.docs < 0:
        p.error("--docs must be >= 0")
    return run_benchmark(corpus=a.corpus, docs=a.docs, out=a.out)


if __name__ == "__main__":
    sys.exit(main())
