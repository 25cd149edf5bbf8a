"""Cross-corpus duplicate marking: gathers what transforms.dedup needs from the staged rows and
the published warehouse (signatures, never re-hashing old text), and hands back the full
`duplicate_clusters` table plus the `duplicate_of` values that change in this run."""
from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from flows.warehouse import Staging, Warehouse
from transforms import dedup


def mark_duplicates(wh: Warehouse, staging: Staging, replaced_paths: set[str], full_refresh: bool,
                    threshold: float) -> tuple[pa.Table, dict[str, str | None]]:
    new_meta = staging.staged("articles", ["article_id", "content_sha256", "published_at"])
    new_sigs = staging.staged("dedup_signatures")
    if full_refresh:
        # nothing old is read: --full-refresh also repairs a warehouse whose data files are damaged
        from transforms.tables import ALL_TABLES
        old_meta = ALL_TABLES["articles"].empty_table().select(["article_id", "source_path", "content_sha256",
                                                                "published_at", "duplicate_of"])
        old_sigs = ALL_TABLES["dedup_signatures"].empty_table()
        old_clusters = ALL_TABLES["duplicate_clusters"].empty_table()
    else:
        old_meta = wh.read("articles", ["article_id", "source_path", "content_sha256", "published_at", "duplicate_of"])
        old_sigs = wh.read("dedup_signatures")
        old_clusters = wh.read("duplicate_clusters")
    if replaced_paths:
        gone = pc.is_in(old_meta["source_path"], pa.array(sorted(replaced_paths), pa.string()))
        gone_ids = old_meta.filter(gone)["article_id"]
        old_meta = old_meta.filter(pc.invert(gone))
        old_sigs = old_sigs.filter(pc.invert(pc.is_in(old_sigs["article_id"], gone_ids)))
        old_clusters = old_clusters.filter(pc.invert(pc.is_in(old_clusters["article_id"], gone_ids)))
    return dedup.mark_run(new_meta=new_meta, new_sigs=new_sigs, old_meta=old_meta, old_sigs=old_sigs,
                          old_clusters=old_clusters, threshold=threshold,
                          fetch_old_text=lambda ids: _old_texts(wh, ids),
                          fetch_new_text=lambda ids: _texts(staging.staged("articles", _TEXT_COLS), ids))


_TEXT_COLS = ["article_id", "title", "lede", "body"]


def _old_texts(wh: Warehouse, ids: list[str]) -> dict[str, str]:
    """Cleaned text of published articles, for verifying candidate pairs (candidates only)."""
    if not ids:
        return {}
    return _texts(wh.read("articles", _TEXT_COLS, filter=pc.field("article_id").isin(ids)), ids)


def _texts(t: pa.Table, ids: list[str]) -> dict[str, str]:
    if not ids:
        return {}
    t = t.filter(pc.is_in(t["article_id"], pa.array(ids, pa.string())))
    return {a: dedup.dedup_text(ti, le, bo) for a, ti, le, bo in zip(
        t["article_id"].to_pylist(), t["title"].to_pylist(), t["lede"].to_pylist(), t["body"].to_pylist())}
