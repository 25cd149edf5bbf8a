"""Quality gates: run a GX suite from expectations/<suite>.json over a batch and decide.

GX evaluates; this module decides (GX records `severity` but does not act on it):

- a failed `critical` expectation with `meta.quarantine: true` is row level: the failing rows
  (GX's unexpected index list) are quarantined to `rejects` with the expectation's
  `meta.reason` code (a `gate.*` code of transforms/reasons.py); the rest goes on;
- any other failed `critical` expectation is table level and blocks the stage;
- `warning` and `info` failures are recorded and shown, never blocking;
- quarantining more than `max_quarantine_share` of the rows blocks the stage too.

Every result, passed or not, becomes one `dq_results` row (`GateReport.dq_table`), and the
GX results of a run are rendered into a GX Data Docs site (`build_data_docs`).

Cost: GX spends about 20-30 ms per expectation whatever the batch size, so a batch is
validated once with result_format BASIC (counts only); only when a row-level expectation
fails is that expectation validated again with COMPLETE to get the failing row indices.

This is the only module that imports great_expectations.
"""
from __future__ import annotations

import copy
import functools
import hashlib
import json
import logging
import os
import re
import shutil
import threading
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from transforms.tables import DQ_RESULTS

SUITE_DIR = resources.files("expectations")
_lock = threading.RLock()
_context = None
_PARAM = re.compile(r"^\$([A-Z][A-Z0-9_]*)$")
_EXAMPLES = 5                     # unexpected values kept per expectation for dq_results and Data Docs
_EXAMPLE_CHARS = 160              # ... each cut to this many characters
DOCS_KEEP_RUNS = 30               # Data Docs keep the validation pages of the last N runs


def _quiet_gx() -> None:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    for name in ["great_expectations", *[n for n in logging.root.manager.loggerDict
                                         if n.startswith("great_expectations")]]:
        logging.getLogger(name).setLevel(logging.ERROR)
    import warnings
    warnings.filterwarnings("ignore", module="great_expectations")


def warm_up() -> None:
    """Import GX and create the context (about 3-6 s); the flow calls this in a thread early."""
    _get_context()


def _get_context():
    global _context
    with _lock:
        if _context is None:
            _quiet_gx()
            import great_expectations as gx
            from great_expectations.data_context.types.base import ProgressBarsConfig

            _quiet_gx()   # again: importing GX resets its logger level

            # GX fingerprints every in-memory batch (md5 over pandas' hash of every value, 2 s a
            # run here) unless it is larger than HASH_THRESHOLD; the fingerprint is only a batch
            # marker, and every frame we validate is new, so it is switched off
            from great_expectations.execution_engine import pandas_execution_engine
            pandas_execution_engine.HASH_THRESHOLD = 0

            ctx = gx.get_context(mode="ephemeral")
            ctx.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
            ctx.data_sources.add_pandas("newsetl")
            _context = ctx
        return _context


# -- suites -----------------------------------------------------------------------------------

def load_suite_json(name: str) -> dict[str, Any]:
    return json.loads(SUITE_DIR.joinpath(f"{name}.json").read_text(encoding="utf-8"))


def suite_names() -> list[str]:
    return sorted(p.name[:-5] for p in SUITE_DIR.iterdir() if p.name.endswith(".json"))


def _substitute(value: Any, params: dict[str, Any]) -> Any:
    """Replace every string that is exactly "$NAME" by params[NAME] (KeyError when missing)."""
    if isinstance(value, str):
        m = _PARAM.match(value)
        return params[m.group(1)] if m else value
    if isinstance(value, dict):
        return {k: _substitute(v, params) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, params) for v in value]
    return value


# Lexicon files whose cues are whole lines of site chrome wherever they sit (transforms/clean.py
# removes such a line as boilerplate.*): a lede/body/caption line that is only one of these cues
# means cleaning failed for the page. Left out on purpose: navigation.txt (a one-word section
# name can be a legitimate sub-heading, and tiling names needs a nested, backtracking pattern),
# follow_cues.txt (matched as substrings inside prose), and the label lists (bylines, photo
# credits, tags, surnames), which are metadata rather than chrome.
BOILERPLATE_LEXICONS = ("related_cues.txt", "comment_cues.txt", "comment_labels.txt",
                        "share_cues.txt", "ad_cues.txt", "error_cues.txt")
_SEP = r"(?:[^\w\n]|[\d_])"       # a non-letter on the same line (what clean.line_key drops)


def _lexicon_cues(name: str) -> list[str]:
    text = resources.files("transforms").joinpath("lexicon", name).read_text(encoding="utf-8")
    out = []
    for raw in text.splitlines():
        cue = raw.strip()
        if cue and not (cue.startswith("#") and len(cue) > 1 and cue[1] in " #"):
            words = re.sub(r"[\W\d_]+", " ", unicodedata.normalize("NFC", cue.lower())).split()
            if words:
                out.append(words)
    return out


_FOLD: dict[str, str] = {}


def _folded_class(ch: str) -> str:
    """'a' -> '[aàáảãạăằắ...]': every Vietnamese letter that folds to `ch` (error cues are written
    without diacritics and match the text folded to ASCII)."""
    if not _FOLD:
        for cp in range(0x00C0, 0x1EFA):
            c = chr(cp)
            if c.isalpha() and c.islower():
                base = "d" if c == "đ" else unicodedata.normalize("NFD", c)[0]
                if base.isascii() and base != c:
                    _FOLD[base] = _FOLD.get(base, base) + c
    chars = _FOLD.get(ch, ch)
    return f"[{chars}]" if len(chars) > 1 else re.escape(ch)


@functools.lru_cache(maxsize=1)
def boilerplate_line_regex() -> str:
    """One multiline regex: a line made only of a lexicon cue plus digits and punctuation.

    Built from transforms/lexicon at gate time, so the gate follows the lexicon. Linear: the
    cues form a trie (one small alternation per character, so a line start costs a few
    steps, not one try per cue), and every quantifier is possessive and stays on its line.
    """
    trie: dict = {}
    for name in BOILERPLATE_LEXICONS:
        for words in _lexicon_cues(name):
            fold = name == "error_cues.txt"
            tokens: list[str] = []
            for n, w in enumerate(words):
                if n:
                    tokens.append(_SEP + "++")
                tokens += [_folded_class(c) if fold else re.escape(c) for c in w]
            node = trie
            for tok in tokens:
                node = node.setdefault(tok, {})
            node[""] = {}                       # end of a cue
    return rf"(?im)^{_SEP}*+{_trie_regex(trie)}{_SEP}*+$"


def _trie_regex(node: dict) -> str:
    ends = "" in node
    alts = [tok + _trie_regex(child) for tok, child in sorted(node.items()) if tok]
    if not alts:
        return ""
    body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
    if ends:
        body = f"(?:{body})?"
    return body


def default_params() -> dict[str, Any]:
    from transforms.reasons import REJECT_REASONS, REMOVED_REASONS
    from transforms.tables import ARTICLES

    # minute resolution, so the suite cache below is reused within a run
    now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    return {
        "NOW_PLUS_1D": (now + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S+00:00"),
        "REMOVED_REASONS": sorted(REMOVED_REASONS),
        "REJECT_REASONS": sorted(REJECT_REASONS),
        "EXTRACT_REJECT_REASONS": sorted(r for r in REJECT_REASONS if r.startswith(("extract.", "decode."))),
        "BOILERPLATE_LINE_REGEX": boilerplate_line_regex(),
        # the read-back frame carries two derived check columns besides the declared ones
        "ARTICLES_COLUMNS": list(ARTICLES.names) + ["duplicate_of_ok", "positions_ok"],
    }


_suite_cache: dict[tuple[str, str], tuple[dict, Any]] = {}


def _suite(name: str, params: dict[str, Any]):
    """(spec, ExpectationSuite) for `name` with `params` filled in; built once per distinct params."""
    from great_expectations.core import ExpectationSuite

    key = (name, hashlib.sha1(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest())
    with _lock:
        hit = _suite_cache.get(key)
        if hit is None:
            spec = _substitute(load_suite_json(name), params)
            suite = ExpectationSuite(name=spec["name"], expectations=[
                {k: v for k, v in e.items() if k in ("type", "kwargs", "severity", "meta")}
                for e in spec["expectations"]])
            if len(_suite_cache) > 64:
                _suite_cache.clear()
            hit = _suite_cache[key] = (spec, suite)
        return hit


def _sub_suite(suite, keep: list[Any]):
    from great_expectations.core import ExpectationSuite
    return ExpectationSuite(name=suite.name, expectations=[e.configuration.to_json_dict() for e in keep])


# -- results ----------------------------------------------------------------------------------

@dataclass
class Outcome:
    expectation: str          # e.g. expect_column_values_to_match_regex
    column: str | None
    severity: str
    success: bool
    unexpected_count: int
    observed_value: str | None
    quarantine: bool
    why: str
    reason: str = "gate.quarantined"     # rejects.reason of the rows it quarantines
    unexpected_index: list[int] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.expectation + (f"({self.column})" if self.column else "")


@dataclass
class GateReport:
    stage: str
    suite: str
    rows: int
    outcomes: list[Outcome]
    max_quarantine_share: float
    gx_result: Any = None     # GX ExpectationSuiteValidationResult (for Data Docs)

    @property
    def quarantined(self) -> dict[int, Outcome]:
        """Row index -> the first failed row-level expectation for that row."""
        out: dict[int, Outcome] = {}
        for o in self.outcomes:
            if o.quarantine and not o.success and o.severity == "critical":
                for i in o.unexpected_index:
                    out.setdefault(int(i), o)
        return out

    @property
    def blocking_outcomes(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.success and o.severity == "critical" and not o.quarantine]

    @property
    def quarantine_share(self) -> float:
        return len(self.quarantined) / self.rows if self.rows else 0.0

    @property
    def blocking(self) -> bool:
        return bool(self.blocking_outcomes) or self.quarantine_share > self.max_quarantine_share

    @property
    def warnings(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.success and o.severity != "critical"]

    def summary(self) -> str:
        """One readable paragraph: what failed, on how many rows, and what to do."""
        if not self.blocking:
            q = len(self.quarantined)
            return (f"Gate {self.suite} ({self.stage}) passed on {self.rows} rows"
                    + (f"; {q} row(s) quarantined to rejects" if q else "")
                    + (f"; {len(self.warnings)} warning(s)" if self.warnings else "") + ".")
        parts = []
        for o in self.blocking_outcomes:
            col = f" on column {o.column}" if o.column else ""
            obs = f" (observed: {o.observed_value})" if o.observed_value not in (None, "", "None") else ""
            parts.append(f"{o.expectation}{col} failed for {o.unexpected_count} of {self.rows} rows{obs}: {o.why}")
        if self.quarantine_share > self.max_quarantine_share:
            parts.append(f"{len(self.quarantined)} of {self.rows} rows ({self.quarantine_share:.0%}) would be "
                         f"quarantined, more than the allowed {self.max_quarantine_share:.0%}")
        return (f"Quality gate {self.suite} blocked the {self.stage} stage: " + "; ".join(parts)
                + ". Nothing was published; see dq_results and the Data Docs for details.")

    def dq_table(self, run_id: str) -> pa.Table:
        now = datetime.now(timezone.utc)
        rows = [{
            "run_id": run_id, "stage": self.stage, "suite": self.suite, "expectation": o.expectation,
            "column": o.column, "severity": o.severity, "success": o.success,
            "unexpected_count": o.unexpected_count, "observed_value": o.observed_value,
            "evaluated_at": now,
        } for o in self.outcomes]
        return pa.Table.from_pylist(rows, schema=DQ_RESULTS)


def _short(v: Any) -> Any:
    if isinstance(v, str) and len(v) > _EXAMPLE_CHARS:
        return v[:_EXAMPLE_CHARS] + "…"
    return v


def _observed(result: dict[str, Any], success: bool) -> str | None:
    """What GX saw, as one short string: the aggregate it computed, or the unexpected share of a
    row-wise expectation with a few of the unexpected values when it failed."""
    if "observed_value" in result:
        v = result["observed_value"]
        mismatch = (result.get("details") or {}).get("mismatched")
        if mismatch and not success:
            v = {"observed": v, "mismatched": mismatch}
        return None if v is None else (v if isinstance(v, str) else json.dumps(v, default=str,
                                                                                ensure_ascii=False))[:500]
    if "element_count" in result:
        n = int(result.get("element_count") or 0) - int(result.get("missing_count") or 0)
        k = int(result.get("unexpected_count") or 0)
        # expect_column_values_to_not_be_null counts the nulls themselves: no missing_count
        what = "non-null values" if "missing_count" in result else "values"
        text = f"{k} of {n} {what} unexpected ({(100.0 * k / n) if n else 0.0:.3g}%)"
        examples = [_short(x) for x in (result.get("partial_unexpected_list") or [])[:_EXAMPLES]]
        if examples:
            text += "; e.g. " + json.dumps(examples, default=str, ensure_ascii=False)
        return text[:500]
    return None


def _meta_key(cfg) -> str:
    """Identity of an expectation across suite and results (GX adds batch_id to result kwargs)."""
    kwargs = {k: v for k, v in cfg.kwargs.items() if k not in ("batch_id", "result_format")}
    return json.dumps([cfg.type, kwargs], sort_keys=True, default=str)


def _validate(ctx, suite, df: pd.DataFrame, result_format: str):
    with _lock:
        source = ctx.data_sources.get("newsetl")
        asset_name = f"batch-{threading.get_ident()}"
        try:
            asset = source.get_asset(asset_name)
        except LookupError:
            asset = source.add_dataframe_asset(asset_name)
        try:
            bd = asset.get_batch_definition("whole")
        except (KeyError, LookupError, ValueError):
            bd = asset.add_batch_definition_whole_dataframe("whole")
        batch = bd.get_batch(batch_parameters={"dataframe": df})
        # one validation at a time (the flow gates extract and transform batches from two
        # threads; GX work holds the GIL anyway)
        return batch.validate(suite, result_format={"result_format": result_format,
                                                    "partial_unexpected_count": _EXAMPLES,
                                                    "include_unexpected_rows": False})


def run_gate(suite: str, df: pd.DataFrame, stage: str, max_quarantine_share: float = 0.2,
             params: dict[str, Any] | None = None) -> GateReport:
    """Validate `df` (whole batch at once) against expectations/<suite>.json and return the decision.

    Values written "$NAME" in a suite file are filled from `params` (default_params() plus yours).
    Row indices in the report are positions in `df` (its index is reset).
    """
    ctx = _get_context()          # first: waits for a warm-up import running in another thread
    spec, gx_suite = _suite(suite, {**default_params(), **(params or {})})
    df = df.reset_index(drop=True)
    result = _validate(ctx, gx_suite, df, "BASIC")
    meta_of = {_meta_key(e.configuration): e.meta or {} for e in gx_suite.expectations}

    # second pass, only for row-level expectations that failed: which rows
    redo = [e for e, r in _pair(gx_suite, result) if not r.success and (e.meta or {}).get("quarantine")]
    indices: dict[str, list[int]] = {}
    if redo:
        again = _validate(ctx, _sub_suite(gx_suite, redo), df, "COMPLETE")
        for r in again.results:
            res = r.result or {}
            indices[_meta_key(r.expectation_config)] = [
                int(i) for i in (res.get("unexpected_index_list") or []) if isinstance(i, int)]

    outcomes = []
    for r in result.results:
        cfg = r.expectation_config
        key = _meta_key(cfg)
        meta = meta_of.get(key, cfg.meta or {})
        res = r.result or {}
        error = _exception_message(r.exception_info)
        sev = getattr(cfg.severity, "value", str(cfg.severity)) if getattr(cfg, "severity", None) else "critical"
        kw = cfg.kwargs
        column = kw.get("column") or (",".join(kw["column_list"]) if "column_list" in kw else None) or (
            f"{kw['column_A']},{kw['column_B']}" if "column_A" in kw else None)
        outcomes.append(Outcome(
            expectation=cfg.type, column=column, severity=sev,
            success=bool(r.success) and error is None,
            unexpected_count=int(res.get("unexpected_count") or (0 if r.success and error is None else 1)),
            observed_value=f"error: {error[:300]}" if error is not None else _observed(res, bool(r.success)),
            quarantine=bool(meta.get("quarantine")),
            why=meta.get("why", ""),
            reason=meta.get("reason", "gate.quarantined"),
            unexpected_index=indices.get(key, []),
        ))
    return GateReport(stage=stage, suite=suite, rows=len(df), outcomes=outcomes,
                      max_quarantine_share=max_quarantine_share, gx_result=result)


def _exception_message(info: Any) -> str | None:
    """The message of an exception GX caught while computing an expectation, if any. GX 1.x
    reports {"raised_exception": ..., "exception_message": ...} or one such dict per metric."""
    if not isinstance(info, dict):
        return None
    if info.get("raised_exception"):
        return str(info.get("exception_message") or "exception while computing the expectation")
    for v in info.values():
        msg = _exception_message(v)
        if msg is not None:
            return msg
    return None


def _pair(suite, result):
    by_key = {_meta_key(r.expectation_config): r for r in result.results}
    return [(e, by_key[_meta_key(e.configuration)]) for e in suite.expectations
            if _meta_key(e.configuration) in by_key]


# -- Data Docs --------------------------------------------------------------------------------

def _merge_results(results: list):
    """One GX validation result for a suite over all batches of a run: counts summed, success
    only when every batch passed, a few unexpected values kept."""
    from great_expectations.core import ExpectationSuiteValidationResult

    merged: dict[str, Any] = {}
    order: list[str] = []
    for res in results:
        for r in res.results:
            key = _meta_key(r.expectation_config)
            if key not in merged:
                first = copy.deepcopy(r)
                first.result = {k: v for k, v in (first.result or {}).items()
                                if k not in ("unexpected_list", "unexpected_index_list",
                                             "partial_unexpected_index_list", "unexpected_index_query")}
                first.result["partial_unexpected_list"] = [
                    _short(v) for v in (first.result.get("partial_unexpected_list") or [])][:_EXAMPLES]
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
                room = _EXAMPLES - len(acc.result.get("partial_unexpected_list") or [])
                if room > 0:
                    acc.result["partial_unexpected_list"] = (acc.result.get("partial_unexpected_list") or []) + [
                        _short(v) for v in (new.get("partial_unexpected_list") or [])][:room]
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
    ctx = _get_context()
    by_suite: dict[tuple[str, str], list] = {}
    for r in reports:
        if r.gx_result is not None:
            by_suite.setdefault((r.stage, r.suite), []).append(r.gx_result)
    tag = hashlib.sha1(str(docs).encode()).hexdigest()[:10]
    store_name, site_name = f"results-{tag}", f"docs-{tag}"
    with _lock:
        if store_name not in ctx.stores:
            ctx.add_store(store_name, {"class_name": "ValidationResultsStore", "store_backend": {
                "class_name": "TupleFilesystemStoreBackend", "base_directory": str(store_dir)}})
        sites = dict(ctx.variables.data_docs_sites or {})
        if site_name not in sites:
            sites[site_name] = {
                "class_name": "SiteBuilder", "show_how_to_buttons": False,
                "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs)},
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
                "site_section_builders": {"validations": {"source_store_name": store_name},
                                          "expectations": "None", "profiling": "None"},
            }
            ctx.variables.data_docs_sites = sites
        store = ctx.stores[store_name]
        rid = RunIdentifier(run_name=run_id, run_time=run_time)
        keys = []
        for (stage, suite), results in by_suite.items():
            key = ValidationResultIdentifier(ExpectationSuiteIdentifier(name=suite), rid, stage)
            store.set(key, _merge_results(results))
            keys.append(key)
        _prune(store_dir, keep_runs)
        ctx.build_data_docs(site_names=[site_name], resource_identifiers=keys)
    for d in sorted((docs / "validations").rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if d.is_dir() and not any(d.iterdir()):
            d.rmdir()                   # GX removes pruned pages but leaves their folders
    return docs / "index.html"


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
