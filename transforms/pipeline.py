"""One batch of raw documents in, the rows of every table out.

Grain in: one row per file read (transforms.tables.DOCUMENTS). Grain out: articles (one
row per accepted document), paragraphs, removed lines, rejects (one row per document that
did not become an article, with its reason) and MinHash signatures. Every input row ends
in exactly one of articles or rejects.

Steps, in order (each one small and in its own module):
    decode_bytes -> normalize_text -> structure_batch (cleaning + intra-article repeats)
    -> detect_language -> segment_words (optional) -> dedup_text + minhash_signatures
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timezone

import pyarrow as pa

from transforms import tables as T
from transforms.clean import structure_batch
from transforms.clean.lineage import article_gaps
from transforms.decode import decode_bytes
from transforms.dedup import dedup_text, minhash_signatures
from transforms.langid import detect_language
from transforms.normalize import normalize_text


# Paragraph kinds that make up `articles.body`, joined in page order by a blank line: story
# paragraphs and the rows of text tables (one paragraph per row). A table is article text a
# reader expects in the body; it counts towards the gate's text_chars (gate.too_short), the
# exact-duplicate key and the MinHash shingles like any other paragraph. Captions stay out.
BODY_KINDS = frozenset({"body", "table"})


@dataclass
class BatchConfig:
    run_id: str
    with_tokens: bool = True
    recurring_min_docs: int = 5


@dataclass
class BatchResult:
    articles: pa.Table
    paragraphs: pa.Table
    removed: pa.Table
    rejects: pa.Table
    signatures: pa.Table
    # one row per character run an article's rows do not account for (tables.LINEAGE_GAPS);
    # empty when every article is accounted for span by span
    lineage_gaps: pa.Table = field(default_factory=lambda: T.LINEAGE_GAPS.empty_table())


def article_id_for(source_path: str, source_sha256: str) -> str:
    """Stable id: the same file (path and bytes) always gets the same id."""
    return hashlib.sha256(f"{source_path}\0{source_sha256}".encode("utf-8", "surrogatepass")).hexdigest()[:16]


def partition_of(published_at: datetime | None) -> str:
    if published_at is None:
        return T.UNKNOWN_PART
    return published_at.astimezone(_VN).strftime("%Y-%m")


try:
    from zoneinfo import ZoneInfo
    _VN = ZoneInfo(T.VN_TZ)
except Exception:  # pragma: no cover - tzdata missing
    from datetime import timedelta
    _VN = timezone(timedelta(hours=7))


def _reject(rows: list, doc: dict, stage: str, reason: str, detail: str, run_id: str, now: datetime) -> None:
    rows.append({"source_path": doc["source_path"], "source_sha256": doc["source_sha256"],
                 "size_bytes": doc["size_bytes"], "stage": stage, "reason": reason, "detail": detail,
                 "run_id": run_id, "rejected_at": now})


def warm_up() -> None:
    """Build the lazy tables of every step (character tables, regexes, shingle hashing) on a
    two-line page, so the first real batch does not pay for them."""
    text = "Khởi động bộ làm sạch\nBài viết ngắn để khởi động các bảng tra cứu của từng bước xử lý văn bản."
    docs = pa.Table.from_pylist([{"source_path": "warm-up", "source_sha256": "0" * 64, "size_bytes": 0,
                                  "content": text.encode("utf-8"), "reject_reason": None, "reject_detail": None}],
                                schema=T.DOCUMENTS)
    transform_batch(docs, BatchConfig(run_id="warm-up", with_tokens=False))


def transform_batch(docs: pa.Table, cfg: BatchConfig) -> BatchResult:
    """Turn a batch of raw documents into table rows; never raises on bad input."""
    now = datetime.now(timezone.utc)
    rejects: list[dict] = []
    pending: list[tuple[dict, str, list[str]]] = []       # (doc, encoding, normalized lines)
    for doc in docs.to_pylist():
        if doc.get("reject_reason"):
            _reject(rejects, doc, "extract", doc["reject_reason"], doc.get("reject_detail") or "", cfg.run_id, now)
            continue
        decoded = decode_bytes(doc["content"] or b"")
        if decoded.reason:
            _reject(rejects, doc, "extract", decoded.reason, decoded.detail, cfg.run_id, now)
            continue
        lines = normalize_text(decoded.text).split("\n")
        pending.append((doc, decoded.encoding, lines))

    structured = structure_batch([lines for _, _, lines in pending], recurring_min_docs=cfg.recurring_min_docs)

    articles, paragraphs, removed, texts, ids, gaps = [], [], [], [], [], []
    for (doc, encoding, lines), st in zip(pending, structured):
        kept = [p for p in st.paragraphs]
        lede = next((p.text for p in kept if p.kind == "lede"), None)
        body_paras = [p.text for p in kept if p.kind in BODY_KINDS]
        # Language is decided on the story text: table rows are mostly names and numbers.
        prose = "\n".join([lede or ""] + [p.text for p in kept if p.kind == "body"]).strip()
        # Without prose (a page of site chrome), the language of the whole page decides: a
        # Vietnamese chrome page goes on to the gate, which quarantines it as too short.
        language, score = detect_language(prose if prose else "\n".join(lines))
        if language != "vi":
            if not prose and not any(c.isalpha() for c in "".join(lines)):
                _reject(rejects, doc, "transform", "clean.no_text",
                        "no letters at all: only digits, punctuation, symbols or emoji", cfg.run_id, now)
            else:
                _reject(rejects, doc, "transform", "language.not_vietnamese",
                        f"language identified as {language!r} (score {score:.2f})", cfg.run_id, now)
            continue
        aid = article_id_for(doc["source_path"], doc["source_sha256"])
        part = partition_of(st.published_at)
        body = "\n\n".join(body_paras) if body_paras else None
        dtext = dedup_text(st.title, lede, body)
        articles.append({
            "article_id": aid, "source_path": doc["source_path"], "source_sha256": doc["source_sha256"],
            "source_encoding": encoding, "title": st.title, "published_at": st.published_at,
            "author": st.author, "credit": st.credit, "lede": lede, "body": body,
            "language": language, "language_score": score,
            "content_sha256": hashlib.sha256(dtext.encode("utf-8")).hexdigest(),
            "duplicate_of": None, "n_paragraphs": len(kept),
            "n_captions": sum(p.kind == "caption" for p in kept), "n_words": None,
            "line_count": len(lines), "blank_line_count": st.blank_lines,
            "removed_count": len(st.removed), "run_id": cfg.run_id, "loaded_at": now, "part": part,
        })
        for pos, p in enumerate(kept):
            paragraphs.append({"article_id": aid, "position": pos, "kind": p.kind, "line_no": p.line_no,
                               "char_start": p.char_start, "char_end": p.char_end,
                               "text": p.text, "tokens": None, "part": part})
        for r in st.removed:
            removed.append({"article_id": aid, "line_no": r.line_no, "char_start": r.char_start,
                            "char_end": r.char_end, "text": r.text, "reason": r.reason,
                            "detail": r.detail, "part": part})
        for g in article_gaps(lines, st):
            gaps.append({"article_id": aid, "line_no": g.line_no, "char_start": g.char_start,
                         "char_end": g.char_end, "kind": g.kind})
        texts.append(dtext)
        ids.append(aid)

    para_table = pa.Table.from_pylist(paragraphs, schema=T.PARAGRAPHS)
    art_table = pa.Table.from_pylist(articles, schema=T.ARTICLES)
    if cfg.with_tokens and para_table.num_rows:
        from transforms.segment import segment_words
        tokens = segment_words(para_table["text"].to_pylist())
        para_table = para_table.set_column(para_table.schema.get_field_index("tokens"), "tokens",
                                           pa.array(tokens, pa.list_(pa.string())))
        counts: dict[str, int] = {}
        for aid, toks in zip(para_table["article_id"].to_pylist(), tokens):
            counts[aid] = counts.get(aid, 0) + sum(1 for t in toks if any(c.isalnum() for c in t))
        art_table = art_table.set_column(art_table.schema.get_field_index("n_words"), "n_words",
                                         pa.array([counts.get(a, 0) for a in ids], pa.int32()))

    sigs, n_shingles = minhash_signatures(texts)
    sig_table = pa.table({
        "article_id": pa.array(ids, pa.string()),
        "signature": pa.array([row.astype("<u4").tobytes() for row in sigs], pa.binary()),
        "n_shingles": pa.array(n_shingles, pa.int32()),
    }, schema=T.DEDUP_SIGNATURES)
    return BatchResult(
        articles=art_table, paragraphs=para_table,
        removed=pa.Table.from_pylist(removed, schema=T.REMOVED),
        rejects=pa.Table.from_pylist(rejects, schema=T.REJECTS),
        signatures=sig_table,
        lineage_gaps=pa.Table.from_pylist(gaps, schema=T.LINEAGE_GAPS),
    )
