"""`newsetl bench --docs 40`: the whole benchmark in quick mode, end to end, as a subprocess.

Slow (eight real flow runs; minutes on a loaded machine). Checks that every step ran and
every figure of issue 8 is in the JSON, not how fast anything was.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


import pytest

from benchmarks.report import TARGETS

ROOT = Path(__file__).resolve().parents[3]
CORPUS = ROOT.parent / "shared" / "corpora" / "baomoi-2017.tar.gz"

KEYS = ["corpus_docs", "corpus_mb", "floor_s", "fixed_startup_s", "full_no_tokens_s", "full_tokens_s",
        "segmenter_speedup", "noop_rerun_s", "incremental_1pct_s", "peak_rss_mb", "normalizer_speedup",
        "normalizer_word_agreement", "neardup_speedup", "neardup_precision", "neardup_recall",
        "stage_seconds", "scaling", "targets"]


@pytest.mark.slow
@pytest.mark.timeout(3600)
@pytest.mark.skipif(not CORPUS.exists(), reason=f"corpus {CORPUS} not available")
def test_quick_benchmark(tmp_path: Path):
    out = tmp_path / "results" / "q.json"
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env["NEWSETL_BENCH_TMP"] = str(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "flows.cli", "bench", "--corpus", str(CORPUS), "--docs", "40",
                           "--out", str(out)], cwd=ROOT, capture_output=True, text=True, env=env,
                          stdin=subprocess.DEVNULL, timeout=3500)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "step full_no_tokens done" in proc.stderr

    r = json.loads(out.read_text(encoding="utf-8"))
    assert r["errors"] == {}
    assert r["mode"] == "quick" and r["corpus_docs"] == 40
    missing = [k for k in KEYS if r.get(k) is None]
    assert not missing, missing
    assert [s["fraction"] for s in r["scaling"]] == [0.25, 0.5, 1.0]
    assert [s["docs"] for s in r["scaling"]] == [10, 20, 40]
    assert all(s["seconds"] > 0 and s["peak_rss_mb"] > 50 for s in r["scaling"])
    assert r["runs"]["noop_rerun"]["files_skipped"] == 40 and r["runs"]["noop_rerun"]["articles_new"] == 0
    assert r["runs"]["incremental_1pct"]["files_read"] - r["runs"]["incremental_1pct"]["files_skipped"] == 1
    assert r["stage_seconds"] and r["machinery"]["stages_total_s"] > 0
    assert [t["name"] for t in r["targets"]] == [name for name, _ in TARGETS]
    assert r["fixed_startup_server_s"] > 0 and r["dask"]["workers_1_s"] > 0 and r["dask"]["workers_2_s"] > 0
    assert next(t for t in r["targets"] if t["name"] == "flow_vs_datatrove")["status"] == "N/A"

    # quick mode with an explicit --out: exactly the three files, no dated copy
    assert sorted(p.name for p in out.parent.iterdir()) == ["q.json", "q.md", "q.png"]
    md = out.with_suffix(".md").read_text(encoding="utf-8")
    assert "| tokens_overhead |" in md and "![stage seconds and scaling](q.png)" in md
    assert out.with_suffix(".png").read_bytes()[:4] == b"\x89PNG"
    # the work folder (extracted corpus, warehouses, PREFECT_HOME) is gone
    assert not list(tmp_path.glob("newsetl-bench-*"))
