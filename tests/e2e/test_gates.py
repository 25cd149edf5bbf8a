"""The gates in the real flow: dq_results holds every declared expectation, the Data Docs site
exists for passed and failed runs, a blocking gate leaves the data tables untouched, and any
bytes at all end as articles or rejects without crashing the flow."""
from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from expectations.gate import load_suite_json, suite_names
from tests.conftest import duck, tree_digest
from tests.e2e.test_cli import CHROME_ONLY


def declared() -> set[tuple[str, str, str | None]]:
    out = set()
    for suite in suite_names():
        for e in load_suite_json(suite)["expectations"]:
            kw = e["kwargs"]
            col = kw.get("column") or (f"{kw['column_A']},{kw['column_B']}" if "column_A" in kw else None)
            out.add((suite, e["type"], col))
    return out


def docs_links(warehouse: Path, run_id: str) -> dict[str, Path]:
    """suite -> validation page of `run_id` linked from index.html (the page must exist)."""
    index = warehouse / "docs" / "index.html"
    assert index.is_file()
    html = index.read_text(encoding="utf-8")
    links = {}
    for href in set(re.findall(r'validations/[^"\'\\]+?\.html', html)):
        parts = href.split("/")
        if parts[2] == run_id:
            assert (warehouse / "docs" / href).is_file(), href
            links[parts[1]] = warehouse / "docs" / href
    return links


def test_a_run_records_every_expectation_and_renders_data_docs(run_etl, seeds_dir, warehouse_dir):
    state = run_etl(seeds_dir, warehouse_dir)
    assert state.is_completed(), state.message
    run_id = state.result()["run_id"]
    rows = duck(warehouse_dir, f"select suite, expectation, \"column\", stage, observed_value from dq_results "
                               f"where run_id = '{run_id}'")
    assert {(s, e, c) for s, e, c, _, _ in rows} == declared()
    assert {st_ for _, _, _, st_, _ in rows} == {"extract", "transform", "load"}
    assert all(obs for *_, obs in rows), [r for r in rows if not r[-1]]      # every result says what was seen
    links = docs_links(warehouse_dir, run_id)
    assert set(links) == set(suite_names())
    page = links["clean_articles"].read_text(encoding="utf-8")
    assert "expect_column_values_to_be_between" in page or "text_chars" in page


def test_a_blocked_run_changes_no_data_table_and_still_gets_docs(run_etl, seeds_dir, tmp_path, warehouse_dir):
    assert run_etl(seeds_dir, warehouse_dir).is_completed()
    before = tree_digest(warehouse_dir)
    chrome = tmp_path / "chrome"
    chrome.mkdir()
    for i in range(3):
        (chrome / f"page{i}.txt").write_text(CHROME_ONLY.replace("24/11", f"2{i}/11"), encoding="utf-8")
    state = run_etl(chrome, warehouse_dir)
    assert state.is_failed() and "quarantined" in state.message
    assert tree_digest(warehouse_dir) == before
    failed_run = duck(warehouse_dir, "select run_id from runs where status = 'failed'")[0][0]
    assert duck(warehouse_dir, f"select count(*) from dq_results where run_id = '{failed_run}' and not success")[0][0]
    assert "clean_articles" in docs_links(warehouse_dir, failed_run)


def test_max_quarantine_zero_blocks_one_bad_page(run_etl, seeds_dir, warehouse_dir):
    assert run_etl(seeds_dir, warehouse_dir).is_completed()
    before = tree_digest(warehouse_dir)
    (seeds_dir / "zz_chrome.txt").write_text(CHROME_ONLY, encoding="utf-8")
    state = run_etl(seeds_dir, warehouse_dir, max_quarantine_share=0.0)
    assert state.is_failed() and "1 of 1 documents (100%) were quarantined" in state.message
    assert tree_digest(warehouse_dir) == before
    # the default threshold (20%) lets the good pages through and quarantines the bad one
    assert run_etl(seeds_dir, warehouse_dir, full_refresh=True).is_completed()
    assert duck(warehouse_dir, "select source_path, stage, reason from rejects") == [
        ("zz_chrome.txt", "gate", "gate.too_short")]


def test_warnings_are_shown_but_do_not_block(run_etl, seeds_dir, warehouse_dir, capsys):
    for i in range(25):
        os.mkfifo(seeds_dir / f"pipe{i}.txt")          # rejected at read: extract.not_regular_file
    state = run_etl(seeds_dir, warehouse_dir)
    assert state.is_completed(), state.message
    summary = state.result()
    assert [w.split(" (")[0] for w in summary["gate_warnings"]] == [
        "raw_documents: expect_column_values_to_be_null(reject_reason)"]
    from flows.cli import _print_summary
    _print_summary(summary)
    out = capsys.readouterr().out
    assert "1 warning(s)" in out and "warning: raw_documents" in out


files = st.lists(st.one_of(st.binary(max_size=3000), st.text(max_size=3000).map(lambda s: s.encode("utf-8", "surrogatepass"))),
                 min_size=1, max_size=4)


@settings(max_examples=8, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(contents=files)
def test_any_bytes_end_in_articles_or_rejects(run_etl, seeds_dir, contents):
    root = Path(tempfile.mkdtemp(prefix="gates-prop-"))
    try:
        src = root / "src"
        src.mkdir()
        seed = sorted(seeds_dir.iterdir())[0]
        shutil.copy(seed, src / seed.name)
        for i, data in enumerate(contents):
            (src / f"random_{i}.txt").write_bytes(data)
        state = run_etl(src, root / "wh")
        # a gate may block (too many quarantined), but the flow never crashes
        assert state.is_completed() or (state.is_failed() and "Quality gate" in (state.message or "")), state
        n_files = 1 + len(contents)
        if state.is_completed():
            got = duck(root / "wh", "select (select count(*) from articles) + (select count(*) from rejects)")
            assert got == [(n_files,)]
        else:
            assert duck(root / "wh", "select status from runs") == [("failed",)]
    finally:
        shutil.rmtree(root, ignore_errors=True)
