"""flows/run_report.py: the one timing helper and the counters."""
from __future__ import annotations

import threading
import time

import pyarrow as pa
import pytest

from flows.run_report import RunStats, summary_text


def test_timed_adds_the_wall_time_of_each_block_to_its_stage():
    stats = RunStats(run_id="r")
    for _ in range(2):
        with stats.timed("extract"):
            time.sleep(0.05)
    with pytest.raises(ValueError), stats.timed("gates"):         # a block that raises still counts
        raise ValueError
    assert set(stats.stage_seconds) == {"extract", "gates"}
    assert 0.1 <= stats.stage_seconds["extract"] < 5


def test_counts_from_two_threads_add_up():
    stats = RunStats(run_id="r")
    rejects = pa.table({"reason": ["decode.binary"] * 3})

    def stage():
        for _ in range(200):
            stats.count_staged(2, rejects, 1)
            with stats.timed("stage"):
                pass
    threads = [threading.Thread(target=stage) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert (stats.articles_new, stats.rejects_new, stats.removed_lines) == (800, 1200, 400)
    assert stats.rejects_by_reason == {"decode.binary": 1200}


def test_the_summary_names_rejects_by_reason_and_warnings():
    s = {"run_id": "r1", "status": "completed", "files_read": 3, "files_skipped": 0, "articles_new": 2,
         "articles_replaced": 0, "rejects_new": 1, "rejects_by_reason": {"decode.binary": 1},
         "removed_lines": 4, "duplicates_marked": 0, "gates_passed": 9, "gates_failed": 0,
         "gate_warnings": ["raw_documents: x (warning): 1 of 3"], "warehouse": "/w"}
    text = summary_text(s)
    assert "rejects 1 (decode.binary: 1)" in text and "1 warning(s)" in text and "warning: raw_documents" in text
