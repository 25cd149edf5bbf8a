"""Data Docs pages for every run id the flow can make.

Run ids are 'YYYYMMDDTHHMMSSZ-' and six hex digits. GX's page renderer parses the run name with
dateutil to decide the page title, and dateutil reads some of these ids as a time with a zone
offset beyond 24 hours ('...Z-3720ad' gives -37:20); GX then dropped the page and logged a
traceback (seen in CI; about one random run id in 2,000, and a test session makes
hundreds)."""
from __future__ import annotations

from datetime import datetime

import pytest

from expectations.data_docs import build_data_docs
from expectations.gate import run_gate
from flows import gates
from flows.sources import read_entries, scan_source
from tests.conftest import SEEDS


def _gx_title_trips(run_id: str) -> bool:
    """What GX's title code does: parse the name (a failure is fine), then compare it."""
    from dateutil.parser import parse
    try:
        as_time = parse(run_id)
    except ValueError:
        return False
    try:
        as_time != datetime(2026, 12, 6)
    except ValueError:
        return True
    return False


@pytest.fixture(scope="module")
def report():
    return run_gate("raw_documents", gates.raw_frame(read_entries(list(scan_source(SEEDS)))), "extract")


@pytest.mark.parametrize("run_id", ["20261206T233819Z-3720ad", "20261206T233819Z-0000ff"])
def test_every_run_id_gets_its_validation_page(tmp_path, report, run_id, caplog):
    if run_id.endswith("3720ad"):
        assert _gx_title_trips(run_id), "dateutil no longer trips on this id; pick another"
    index = build_data_docs(tmp_path / "docs", run_id, datetime(2026, 12, 6, 23, 38, 19), [report])
    pages = list((tmp_path / "docs" / "validations" / "raw_documents" / run_id).rglob("*.html"))
    assert len(pages) == 1
    page = pages[0].read_text(encoding="utf-8")
    assert f"Validations / raw_documents / extract stage of run {run_id} / {run_id} / " in page
    assert f"validations/raw_documents/{run_id}/" in index.read_text(encoding="utf-8")
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
