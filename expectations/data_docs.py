"""The GX Data Docs site of a warehouse: one validation page per (stage, suite) of a run,
merged over its batches, and an index of the last DOCS_KEEP_RUNS runs. Docs are a view of
dq_results: the flow never fails a run over them.

The site works offline: GX's page templates load Bootstrap, jQuery, Font Awesome and
bootstrap-table from CDNs, and none of them ships in an installed package, so after each
build every `<link>`/`<script>` to http(s) is removed from the pages and one local
stylesheet (`static/styles/newsetl-offline.css`, written here) lays out the tables GX
renders on the server side. Nothing on a page is fetched from the network. Each page names
its run (GX shows "Run Name" from the result's meta). `.newsetl-docs` marks the folder as a
Data Docs site that `newsetl ui` / `newsetl docs --serve` may serve over http.
"""
from __future__ import annotations

import copy
import functools
import hashlib
import os
import re
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

from expectations.gate import EXAMPLES, GateReport, meta_key, short
from expectations.gx_context import get_context, lock

DOCS_KEEP_RUNS = 30               # Data Docs keep the validation pages of the last N runs


@functools.cache
def _page_renderer():
    """GX's validation page renderer, with a title that does not read the run name as a time.

    GX titles a page "Validations / suite / asset [/ run name] / run time", and decides whether
    to show the run name by parsing it with dateutil and comparing it to the run time. dateutil
    reads some run ids as a time with an impossible zone offset ('20261206T233819Z-3720ad' gives
    -37:20), the comparison raises, and GX drops the page with a logged traceback. A run id is
    never a time, so the title always names it.
    """
    from great_expectations.render.renderer import ValidationResultsPageRenderer

    class RunNamedPageRenderer(ValidationResultsPageRenderer):
        def _determine_page_title(self, run_name, run_time, data_asset_name, expectation_suite_name):
            parts = ["Validations", expectation_suite_name, data_asset_name, run_name, run_time]
            return " / ".join(str(p) for p in parts if p and p != "__none__")

    return RunNamedPageRenderer


def __getattr__(name: str):
    # GX instantiates the renderer by module and class name; the class is made on first use so
    # that importing this module does not import GX's renderers
    if name == "RunNamedPageRenderer":
        return _page_renderer()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _merge_results(results: list, run_id: str = "", run_time: datetime | None = None, stage: str = ""):
    """One GX validation result for a suite over all batches of a run: counts summed, success
    only when every batch passed, a few unexpected values kept."""
    from great_expectations.core import ExpectationSuiteValidationResult

    merged: dict[str, Any] = {}
    order: list[str] = []
    for res in results:
        for r in res.results:
            key = meta_key(r.expectation_config)
            if key not in merged:
                first = copy.deepcopy(r)
                first.result = {k: v for k, v in (first.result or {}).items()
                                if k not in ("unexpected_list", "unexpected_index_list",
                                             "partial_unexpected_index_list", "unexpected_index_query")}
                first.result["partial_unexpected_list"] = [
                    short(v) for v in (first.result.get("partial_unexpected_list") or [])][:EXAMPLES]
                merged[key] = first
                order.append(key)
                continue
            acc, new = merged[key], r.result or {}
            if "element_count" in new:
                for k in ("element_count", "missing_count", "unexpected_count"):
                    acc.result[k] = int(acc.result.get(k) or 0) + int(new.get(k) or 0)
                n, miss, k_ = acc.result["element_count"], acc.result["missing_count"], acc.result["unexpected_count"]
                acc.result["missing_percent"] = 100.0 * miss / n if n else None
                acc.result["unexpected_percent"] = 100.0 * k_ / (n - miss) if n - miss else None
                acc.result["unexpected_percent_total"] = 100.0 * k_ / n if n else None
                acc.result["unexpected_percent_nonmissing"] = acc.result["unexpected_percent"]
                room = EXAMPLES - len(acc.result.get("partial_unexpected_list") or [])
                if room > 0:
                    acc.result["partial_unexpected_list"] = (acc.result.get("partial_unexpected_list") or []) + [
                        short(v) for v in (new.get("partial_unexpected_list") or [])][:room]
            elif acc.success and not r.success:
                acc.result = copy.deepcopy(new)          # aggregate: show the first failing batch
            acc.success = bool(acc.success and r.success)
            if r.exception_info and r.exception_info.get("raised_exception") and not (
                    acc.exception_info or {}).get("raised_exception"):
                acc.exception_info = r.exception_info
    out = [merged[k] for k in order]
    n_ok = sum(1 for r in out if r.success)
    meta = copy.deepcopy(results[-1].meta) if results else {}
    meta["batches"] = len(results)
    if run_id:       # GX pages read "Run Name" / "Run Time" from here (else they say __none__)
        meta["run_id"] = {"run_name": run_id, "run_time": (run_time or datetime.now()).isoformat()}
        meta["batch_spec"] = {"data_asset_name": f"{stage} stage of run {run_id}", "batches": len(results)}
    return ExpectationSuiteValidationResult(
        success=all(r.success for r in out), results=out, suite_name=results[0].suite_name, meta=meta,
        statistics={"evaluated_expectations": len(out), "successful_expectations": n_ok,
                    "unsuccessful_expectations": len(out) - n_ok,
                    "success_percent": 100.0 * n_ok / len(out) if out else None})


def build_data_docs(docs_dir: str | os.PathLike, run_id: str, run_time: datetime,
                    reports: list[GateReport], keep_runs: int = DOCS_KEEP_RUNS) -> Path:
    """Render this run's gate results into the GX Data Docs site at `docs_dir` (index.html).

    One validation page per (stage, suite) of the run, merged over its batches. Results are kept
    in a GX validation-results store at `docs_dir/.results`, so the index lists earlier runs
    too; only the last `keep_runs` runs are kept. Returns the path of index.html.
    """
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier, ValidationResultIdentifier)

    docs = Path(docs_dir).absolute()
    store_dir = docs / ".results"
    ctx = get_context()
    by_suite: dict[tuple[str, str], list] = {}
    for r in reports:
        if r.gx_result is not None:
            by_suite.setdefault((r.stage, r.suite), []).append(r.gx_result)
    tag = hashlib.sha1(str(docs).encode()).hexdigest()[:10]
    store_name, site_name = f"results-{tag}", f"docs-{tag}"
    with lock:
        if store_name not in ctx.stores:
            ctx.add_store(store_name, {"class_name": "ValidationResultsStore", "store_backend": {
                "class_name": "TupleFilesystemStoreBackend", "base_directory": str(store_dir)}})
        sites = dict(ctx.variables.data_docs_sites or {})
        if site_name not in sites:
            sites[site_name] = {
                "class_name": "SiteBuilder", "show_how_to_buttons": False,
                "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs)},
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
                "site_section_builders": {"validations": {
                    "source_store_name": store_name,
                    "renderer": {"module_name": __name__, "class_name": "RunNamedPageRenderer"}},
                                          "expectations": "None", "profiling": "None"},
            }
            ctx.variables.data_docs_sites = sites
        store = ctx.stores[store_name]
        rid = RunIdentifier(run_name=run_id, run_time=run_time)
        keys = []
        for (stage, suite), results in by_suite.items():
            key = ValidationResultIdentifier(ExpectationSuiteIdentifier(name=suite), rid, stage)
            store.set(key, _merge_results(results, run_id, run_time, stage))
            keys.append(key)
        _prune(store_dir, keep_runs)
        ctx.build_data_docs(site_names=[site_name], resource_identifiers=keys)
    for d in sorted((docs / "validations").rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if d.is_dir() and not any(d.iterdir()):
            d.rmdir()                   # GX removes pruned pages but leaves their folders
    make_offline(docs)
    return docs / "index.html"


MARKER = ".newsetl-docs"
OFFLINE_CSS = "static/styles/newsetl-offline.css"
_REMOTE_TAG = re.compile(r'<(?:link|script)\b[^>]*?(?:href|src)="https?://[^"]*"[^>]*>(?:\s*</script>)?')
_REMOTE_IMG = re.compile(r'src="https://great-expectations-web-assets[^"/]*/([\w.-]+?)(?:\?[^"]*)?"')
_CSS = """/* newsetl: what the Data Docs pages need from Bootstrap, written locally (no CDN). */
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#212529;font-size:14px}
.container-fluid{padding:0 16px}.row{display:flex;flex-wrap:wrap}
.col-md-2,.col-md-3{flex:0 0 20%;max-width:20%}.col-md-8,.col-md-9,.col-md-10{flex:1 1 0;min-width:0}
.d-none{display:none}.collapse{display:block}.sticky{position:sticky;top:0}
nav.navbar{background:#f8f9fa;padding:8px 16px;border-bottom:1px solid #dee2e6}
.card{border:1px solid #dee2e6;border-radius:4px;margin:12px 0;padding:8px 12px}
table{border-collapse:collapse;margin:6px 0;max-width:100%}
th,td{border:1px solid #dee2e6;padding:4px 8px;vertical-align:top;text-align:left}
thead th{background:#f1f3f5}.table-hover tbody tr:hover{background:#f8f9fa}
.text-danger{color:#c92a2a}.text-success{color:#2b8a3e}.badge{padding:1px 6px;border-radius:8px;background:#e9ecef}
.alert{padding:8px 12px;border-radius:4px;background:#fff3bf}
a{color:#1c7ed6}ul.list-group{padding-left:16px}img{max-height:40px}
"""


_ROW_LINK = re.compile(r"'_table_row_link_path': '(validations/([^/']+)/([^/']+)/[^/']+/([^/']+)\.html)'")
_INDEX_START, _INDEX_END = "<!-- newsetl: static index -->", "<!-- /newsetl: static index -->"


def _static_index(text: str) -> str:
    """GX's index lists the validation pages through bootstrap-table (JavaScript from a CDN);
    without it the list is empty. Add the same links as a plain HTML table: newest run first."""
    rows = sorted(set(_ROW_LINK.findall(text)), key=lambda r: (r[2], r[3], r[1]), reverse=True)
    if not rows:
        return text
    if _INDEX_START in text:
        text = text[:text.index(_INDEX_START)] + text[text.index(_INDEX_END) + len(_INDEX_END):]
    cells = "".join(f'<tr><td>{run}</td><td>{stage}</td><td><a href="{link}">{suite}</a></td></tr>'
                    for link, suite, run, stage in rows)
    block = (f'{_INDEX_START}<div class="container-fluid"><h3>Validation results</h3><table>'
             f"<thead><tr><th>run</th><th>stage</th><th>suite</th></tr></thead><tbody>{cells}</tbody>"
             f"</table></div>{_INDEX_END}")
    return text.replace("</body>", block + "\n</body>", 1)


def make_offline(docs: Path) -> int:
    """Strip the CDN `<link>`/`<script>` tags from every page under `docs`, link the local
    stylesheet instead, and mark the folder as a Data Docs site. Returns the pages changed."""
    css = docs / OFFLINE_CSS
    css.parent.mkdir(parents=True, exist_ok=True)
    css.write_text(_CSS, encoding="utf-8")
    (docs / MARKER).write_text("GX Data Docs built by newsetl; served by `newsetl ui`\n", encoding="utf-8")
    changed = 0
    for page in docs.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        if "newsetl-offline.css" in text and not (_REMOTE_TAG.search(text) or _REMOTE_IMG.search(text)
                                                     or page.name == "index.html"):
            continue
        depth = len(page.relative_to(docs).parts) - 1
        local = f'<link rel="stylesheet" href="{"../" * depth}{OFFLINE_CSS}">'
        text = _REMOTE_TAG.sub("", text)
        text = _static_index(text)
        text = _REMOTE_IMG.sub(f'src="{"../" * depth}static/images/\\1"', text)    # GX's logo, shipped locally
        if "newsetl-offline.css" not in text:
            text = text.replace("</head>", local + "\n</head>", 1)
        tmp = page.with_name(f".{page.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, page)
        changed += 1
    return changed


def _prune(store_dir: Path, keep_runs: int) -> None:
    """Delete stored results of all but the newest `keep_runs` runs (their pages go at the next
    index build)."""
    runs: dict[str, float] = {}
    for suite_dir in store_dir.iterdir() if store_dir.is_dir() else []:
        for run_dir in suite_dir.iterdir() if suite_dir.is_dir() else []:
            runs[run_dir.name] = max(runs.get(run_dir.name, 0.0), run_dir.stat().st_mtime)
    old = sorted(runs, key=lambda r: (runs[r], r))[:-keep_runs] if len(runs) > keep_runs else []
    for suite_dir in store_dir.iterdir() if old else []:
        for name in old:
            shutil.rmtree(suite_dir / name, ignore_errors=True)

