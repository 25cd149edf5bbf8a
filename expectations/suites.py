"""The suites: expectations/<suite>.json loaded into GX, with "$NAME" values filled in.

A suite file is declarative and reviewable; values written "$NAME" are filled from
`default_params()` (the closed reason sets of transforms/reasons.py, the article columns, the
boilerplate-line regex built from the cue lexicon) plus what a caller adds. A filled suite is
built once per distinct set of params.
"""
from __future__ import annotations

import functools
import hashlib
import json
import re
import unicodedata
from datetime import datetime, timedelta, timezone
from importlib import resources
from typing import Any

from expectations.gx_context import lock
from transforms.lexicon import cue_words

SUITE_DIR = resources.files("expectations")
_PARAM = re.compile(r"^\$([A-Z][A-Z0-9_]*)$")


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
        for words in cue_words(name):
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
    with lock:
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


