"""The Prefect UI in a real browser (headless Chromium from Debian's `chromium` package): the flow
run page of a `newsetl run` renders with its state, and the run-summary artifact renders as
tables. Screenshots are kept in the test's tmp dir for a human to look at."""
from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.server

CHROMIUM = Path("/usr/bin/chromium")


def _chromium(url: str, tmp: Path, name: str, offline: bool = False) -> tuple[Path, str]:
    """Load `url`, let its scripts run for 15 s of virtual time, save a screenshot; returns
    (png, rendered DOM). `offline`: every host but 127.0.0.1 resolves to nothing (no network)."""
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is not installed (Debian: apt-get install chromium chromium-driver)")
    png = tmp / f"{name}.png"
    profile = tmp / f"profile-{name}"
    r = subprocess.run(
        [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={profile}", f"--screenshot={png}", "--window-size=1400,900",
         "--virtual-time-budget=15000", "--dump-dom",
         *(["--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1", "--proxy-server=http://127.0.0.1:9",
             "--proxy-bypass-list=127.0.0.1"] if offline else []), url],
        capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL)
    shutil.rmtree(profile, ignore_errors=True)
    assert r.returncode == 0, r.stderr[-3000:]
    (tmp / f"{name}.html").write_text(r.stdout, encoding="utf-8")     # what was checked, for a failure
    return png, r.stdout


def _png_size(png: Path) -> tuple[int, int]:
    head = png.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR"
    return struct.unpack(">II", head[16:24])


def test_flow_run_page_renders_the_run(prefect_server, etl_run, tmp_path):
    with prefect_server.client() as c:
        run = c.read_flow_run(etl_run.flow_run_id)
    png, dom = _chromium(f"{prefect_server.url}/runs/flow-run/{run.id}", tmp_path, "flow-run")
    assert png.exists() and png.stat().st_size > 20_000
    assert _png_size(png) == (1400, 900)
    assert "Can't connect to Server API" not in dom
    assert run.name in dom and "news-etl" in dom and "Completed" in dom


def test_the_run_is_found_in_the_ui_by_its_run_id(prefect_server, etl_run, tmp_path):
    """The run id the CLI printed is the flow run's name: the runs list filtered by it shows it."""
    from tests.conftest import duck
    (run_id,) = duck(etl_run.warehouse, "select run_id from runs")[0]
    assert f"run {run_id}: completed" in etl_run.stdout
    with prefect_server.client() as c:
        run = c.read_flow_run(etl_run.flow_run_id)
    assert run.name == run_id
    _, dom = _chromium(f"{prefect_server.url}/runs/flow-run/{run.id}", tmp_path, "by-run-id")
    assert run_id in dom


def test_data_docs_open_from_the_artifact_link_with_the_network_off(prefect_server, etl_run, tmp_path):
    """The quality-gates artifact links the Data Docs over http (served by `newsetl ui`); the page
    renders its validation table with every request outside 127.0.0.1 refused."""
    import re

    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, ArtifactFilterKey
    with prefect_server.client() as c:
        [art] = c.read_artifacts(artifact_filter=ArtifactFilter(
            flow_run_id=ArtifactFilterFlowRunId(any_=[etl_run.flow_run_id]),
            key=ArtifactFilterKey(any_=["quality-gates"])))
    links = re.findall(r"\]\((http://127\.0\.0\.1:\d+/[^)]+index\.html)\)", art.data)
    assert links, art.data
    index = links[0]
    _, dom = _chromium(index, tmp_path, "docs-index", offline=True)
    pages = re.findall(r'href="(validations/[^"]+\.html)"', dom)
    assert pages, dom[:2000]
    _, page = _chromium(index.rsplit("/", 1)[0] + "/" + pages[0], tmp_path, "docs-page", offline=True)
    # GX renders each expectation in prose ("values must never be null."), not by its name
    assert "<table" in page and "Expectation Validation Result" in page, page[:2000]
    assert "values must" in page and "Observed Value" in page, page[:2000]
    assert "__none__" not in page and etl_run.stdout.split()[1].rstrip(":") in page      # named after the run
    assert not re.search(r'<(?:script|link)[^>]+(?:src|href)="https?://(?!127\.0\.0\.1)', page)


def test_run_summary_artifact_renders_as_tables(prefect_server, etl_run, tmp_path):
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, ArtifactFilterKey
    with prefect_server.client() as c:
        [art] = c.read_artifacts(artifact_filter=ArtifactFilter(
            flow_run_id=ArtifactFilterFlowRunId(any_=[etl_run.flow_run_id]),
            key=ArtifactFilterKey(any_=["run-summary"])))
    png, dom = _chromium(f"{prefect_server.url}/artifacts/artifact/{art.id}", tmp_path, "run-summary")
    assert _png_size(png) == (1400, 900)
    assert "markdown-renderer__heading" in dom and "news-etl run" in dom
    assert dom.count("<table") >= 2                     # counts, and seconds per stage
    assert "articles_new" in dom and "Data Docs" in dom
