"""benchmarks.report: targets with PASS / MISS / N/A, the bottleneck of a MISS, the written reports."""
from __future__ import annotations

from benchmarks import report


def _results(**over) -> dict:
    stages = {"scan": 1.0, "extract": 2.0, "transform": 9.0, "gates": 3.0, "dedup": 1.0, "load": 1.0}
    r = {
        "mode": "full", "date": "2026-01-01", "corpus": "c.tar.gz", "corpus_docs": 1000, "corpus_mb": 3.5,
        "floor_s": 1.0, "fixed_startup_s": 5.0, "full_no_tokens_s": 25.0, "full_tokens_s": 60.0,
        "segmenter_speedup": 14.0, "segmenter_identical": True, "segmenter_mismatches": 0, "noop_rerun_s": 9.0, "incremental_1pct_s": 8.0,
        "normalizer_speedup": 80.0, "normalizer_word_agreement": 0.9995, "normalizer_roundtrip": 0.9999,
        "normalizer": {"disagreements": [{"ours": "hoà", "theirs": "hòa", "count": 3}]},
        "neardup_speedup": 6.0, "neardup_precision": 1.0, "neardup_recall": 0.97, "neardup": {},
        "stage_seconds": stages,
        "scaling": [{"fraction": 0.25, "docs": 250, "seconds": 10.0, "peak_rss_mb": 500.0},
                    {"fraction": 0.5, "docs": 500, "seconds": 15.0, "peak_rss_mb": 520.0},
                    {"fraction": 1.0, "docs": 1000, "seconds": 25.0, "peak_rss_mb": 600.0}],
        "runs": {
            "full_no_tokens": {"wall_s": 25.0, "peak_rss_mb": 600.0, "stage_seconds": stages},
            "full_tokens": {"wall_s": 60.0, "peak_rss_mb": 900.0, "stage_seconds": {"transform": 50.0}},
            "noop_rerun": {"wall_s": 9.0, "peak_rss_mb": 300.0, "stage_seconds": {"scan": 0.5, "gates": 1.0}},
            "incremental_1pct": {"wall_s": 8.0, "peak_rss_mb": 300.0, "stage_seconds": {"dedup": 1.0}},
        },
    }
    r.update(over)
    return r


def by_name(rows):
    return {t["name"]: t for t in rows}


def test_every_target_has_a_row_in_order():
    rows = report.evaluate_targets(_results())
    assert [t["name"] for t in rows] == [name for name, _ in report.TARGETS]


def test_pass_and_miss_with_bottleneck():
    t = by_name(report.evaluate_targets(_results()))
    assert t["flow_vs_floor"]["status"] == "MISS"          # 25 - 5 = 20 > 15 x 1.0
    assert t["flow_vs_floor"]["bottleneck"].startswith("transform: 9.00 s")
    assert t["flow_vs_datatrove"]["status"] == "PASS"
    assert t["tokens_overhead"]["status"] == "MISS"       # 60 / 25 = 2.4 > 2
    assert t["segmenter_speedup"]["status"] == "PASS"     # 14 >= 10
    assert t["segmenter_identical"]["status"] == "PASS"
    # noop: 9 - 5 = 4 > 2; the largest part is orchestration: 9 - 5 - 1.5 = 2.5
    assert t["noop_rerun"]["status"] == "MISS"
    assert t["noop_rerun"]["bottleneck"].startswith("orchestration")
    assert t["incremental_1pct"]["status"] == "PASS"
    assert t["peak_rss"]["status"] == "PASS" and t["peak_rss"]["value"] == 900.0
    assert t["rss_flat"]["status"] == "PASS"              # 600 / 500 = 1.2
    assert t["time_linear"]["status"] == "PASS"           # (25-5)/(10-5) = 4
    assert t["normalizer_word_agreement"]["status"] == "PASS"
    assert t["neardup_speedup"]["status"] == "PASS"


def test_missing_figures_and_quick_mode_are_not_applicable():
    r = _results(mode="quick", full_tokens_s=None, segmenter_speedup=None, fixed_startup_s=None)
    t = by_name(report.evaluate_targets(r))
    assert t["flow_vs_datatrove"]["status"] == "N/A"
    assert t["tokens_overhead"]["status"] == "N/A"
    assert t["segmenter_speedup"]["status"] == "N/A"
    assert t["noop_rerun"]["status"] == "N/A"
    assert t["flow_vs_floor"]["status"] == "N/A"


def test_machinery_split_adds_up():
    m = report.machinery(25.0, 5.0, {"transform": 9.0, "gates": 3.0, "transform_gate": 99.0})
    # an explicit 'gates' entry wins over names containing 'gate'
    assert m["gates_s"] == 3.0
    assert m["orchestration_s"] == round(25.0 - 5.0 - 111.0, 3)     # negative: the stages overlap
    m = report.machinery(20.0, 4.0, {"transform": 9.0, "transform_gate": 1.0, "load_gate": 2.0})
    assert (m["gates_s"], m["own_transforms_s"], m["orchestration_s"]) == (3.0, 9.0, 4.0)
    assert m["share_prefect_gx"] == round((4.0 + 3.0 + 4.0) / 20.0, 4)


def test_reports_are_written(tmp_path):
    r = _results()
    r["targets"] = report.evaluate_targets(r)
    r["machinery"] = report.machinery(25.0, 5.0, r["stage_seconds"])
    report.write_chart(r, tmp_path / "x.png")
    report.write_markdown(r, tmp_path / "x.md", "x.png")
    assert (tmp_path / "x.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = (tmp_path / "x.md").read_text(encoding="utf-8")
    assert "| noop_rerun |" in md and "**MISS**" in md and "**PASS**" in md
    assert "![stage seconds and scaling](x.png)" in md
