"""Arrow schemas of every table: the contract between transforms, gates and the warehouse.

Bump SCHEMA_VERSION when a column is added, removed or changes type; bump RULES_VERSION
when a cleaning/normalization/dedup rule changes what lands in the tables. Both are
recorded per run in `runs`.
"""
from __future__ import annotations

import pyarrow as pa

SCHEMA_VERSION = 2                  # 2: paragraphs/removed carry char_start/char_end (issue 15)
RULES_VERSION = "2026.12.2"          # 2026.12.2: text-table rows are part of body (issue 16)

VN_TZ = "Asia/Ho_Chi_Minh"
TS = pa.timestamp("us", tz="UTC")          # audit timestamps
TS_VN = pa.timestamp("us", tz=VN_TZ)       # published_at: shown in Vietnam time
UNKNOWN_PART = "unknown"                    # partition bucket for articles without a date

# Raw documents handed from extract to transform (in memory / staging only, not published).
DOCUMENTS = pa.schema([
    ("source_path", pa.string()),        # relative to --source, unambiguous (see flows/sources.py)
    ("source_sha256", pa.string()),      # hex sha256 of exactly the bytes that were read
    ("size_bytes", pa.int64()),
    ("content", pa.large_binary()),      # null when the file was rejected at extract
    ("reject_reason", pa.string()),      # null, or a code from transforms.reasons.REJECT_REASONS
    ("reject_detail", pa.string()),
])

# One row per accepted input document (duplicates included and marked).
ARTICLES = pa.schema([
    ("article_id", pa.string()),         # 16 hex chars of sha256(source_path NUL source_sha256)
    ("source_path", pa.string()),
    ("source_sha256", pa.string()),
    ("source_encoding", pa.string()),
    ("title", pa.string()),
    ("published_at", TS_VN),
    ("author", pa.string()),
    ("credit", pa.string()),
    ("lede", pa.string()),
    ("body", pa.string()),               # body and table paragraphs (one per table row), in page order, separated by a blank line
    ("language", pa.string()),
    ("language_score", pa.float32()),
    ("content_sha256", pa.string()),     # sha256 of the cleaned title+lede+body (exact-dup key)
    ("duplicate_of", pa.string()),       # canonical article_id, or null
    ("n_paragraphs", pa.int32()),
    ("n_captions", pa.int32()),
    ("n_words", pa.int32()),             # null when the run used --no-tokens
    ("line_count", pa.int32()),          # lines in the decoded file
    ("blank_line_count", pa.int32()),    # blank lines (not recorded one by one in `removed`)
    ("removed_count", pa.int32()),
    ("run_id", pa.string()),
    ("loaded_at", TS),
    ("part", pa.string()),               # partition key: published YYYY-MM, or 'unknown'
])

# Spans: a row of `paragraphs` or `removed` is the piece line[char_start:char_end] of line
# `line_no` of the decoded, normalized file (0-based offsets, end exclusive), so `text` equals
# that slice. A whole line is (0, its length); a line cut into pieces (a caption and its credit
# inside a body line, a byline after the last sentence) gives one row per piece. Title + kept
# spans + removed spans + blank lines cover every non-space character of every line, once.

# One row per kept span of an article: lede, body paragraphs and captions, in page order.
PARAGRAPHS = pa.schema([
    ("article_id", pa.string()),
    ("position", pa.int32()),            # 0..n-1 per article, contiguous
    ("kind", pa.string()),               # lede | body | caption | table
    ("line_no", pa.int32()),             # 1-based line in the decoded raw file
    ("char_start", pa.int32()),          # span in that line: text == line[char_start:char_end]
    ("char_end", pa.int32()),
    ("text", pa.string()),
    ("tokens", pa.list_(pa.string())),   # underthesea words; null with --no-tokens
    ("part", pa.string()),
])

# One row per non-blank span of a raw line that was not kept, with the reason it was dropped.
REMOVED = pa.schema([
    ("article_id", pa.string()),
    ("line_no", pa.int32()),
    ("char_start", pa.int32()),          # span in that line: text == line[char_start:char_end]
    ("char_end", pa.int32()),
    ("text", pa.string()),
    ("reason", pa.string()),
    ("detail", pa.string()),
    ("part", pa.string()),
])

# One row per piece of an article's lines that its rows do not account for (in memory only,
# not published): a non-space run no span covers ('gap'), a run two spans cover ('overlap'),
# a span outside its line ('out_of_range') or a row whose text is not its span's text
# ('text_mismatch'). Empty when every character landed exactly once (see
# transforms.clean.lineage); the per-article check `lines_accounted` reads it.
LINEAGE_GAPS = pa.schema([
    ("article_id", pa.string()),
    ("line_no", pa.int32()),
    ("char_start", pa.int32()),
    ("char_end", pa.int32()),
    ("kind", pa.string()),
])

# One row per input file that did not become an article.
REJECTS = pa.schema([
    ("source_path", pa.string()),
    ("source_sha256", pa.string()),
    ("size_bytes", pa.int64()),
    ("stage", pa.string()),              # extract | transform | gate
    ("reason", pa.string()),
    ("detail", pa.string()),
    ("run_id", pa.string()),
    ("rejected_at", TS),
])

# One row per member of a near/exact duplicate cluster (canonical included).
DUPLICATE_CLUSTERS = pa.schema([
    ("cluster_id", pa.string()),         # the canonical article_id
    ("article_id", pa.string()),
    ("similarity", pa.float32()),        # Jaccard to the canonical (1.0 for the canonical itself)
    ("is_canonical", pa.bool_()),
])

# One row per article: its MinHash signature, so later runs never re-hash old text.
DEDUP_SIGNATURES = pa.schema([
    ("article_id", pa.string()),
    ("signature", pa.binary()),          # num_perm little-endian uint32
    ("n_shingles", pa.int32()),
])

# One row per expectation evaluated, per stage, per run.
DQ_RESULTS = pa.schema([
    ("run_id", pa.string()),
    ("stage", pa.string()),
    ("suite", pa.string()),
    ("expectation", pa.string()),
    ("column", pa.string()),
    ("severity", pa.string()),
    ("success", pa.bool_()),
    ("unexpected_count", pa.int64()),
    ("observed_value", pa.string()),
    ("evaluated_at", TS),
])

# One row per run, failed runs included.
RUNS = pa.schema([
    ("run_id", pa.string()),
    ("flow_run_id", pa.string()),
    ("started_at", TS),
    ("finished_at", TS),
    ("status", pa.string()),             # completed | failed
    ("message", pa.string()),
    ("schema_version", pa.int32()),
    ("rules_version", pa.string()),
    ("source", pa.string()),
    ("full_refresh", pa.bool_()),
    ("with_tokens", pa.bool_()),
    ("files_read", pa.int64()),
    ("files_skipped", pa.int64()),       # unchanged since an earlier run
    ("articles_new", pa.int64()),
    ("articles_replaced", pa.int64()),
    ("rejects_new", pa.int64()),
    ("removed_lines", pa.int64()),
    ("duplicates_marked", pa.int64()),
    ("gates_passed", pa.int64()),
    ("gates_failed", pa.int64()),
    ("stage_seconds", pa.string()),      # JSON object: stage -> seconds
])

DATA_TABLES: dict[str, pa.Schema] = {
    "articles": ARTICLES,
    "paragraphs": PARAGRAPHS,
    "removed": REMOVED,
    "rejects": REJECTS,
    "duplicate_clusters": DUPLICATE_CLUSTERS,
    "dedup_signatures": DEDUP_SIGNATURES,
}
AUDIT_TABLES: dict[str, pa.Schema] = {"runs": RUNS, "dq_results": DQ_RESULTS}
ALL_TABLES: dict[str, pa.Schema] = {**DATA_TABLES, **AUDIT_TABLES}
PARTITIONED = {"articles", "paragraphs", "removed"}   # hive partition column: part


def empty(schema: pa.Schema) -> pa.Table:
    return schema.empty_table()
