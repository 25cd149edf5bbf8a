"""Cross-corpus duplicate marking: exact copies and near-duplicates (MinHash + LSH), marked, never deleted.

Grain of the outputs: `duplicate_clusters` has one row per member of a cluster (canonical
included); `articles.duplicate_of` holds the canonical article_id for every other member and
stays null for the canonical and for articles in no cluster. Nothing is removed: a consumer
who wants one copy per story selects `duplicate_of IS NULL`.

How a run goes (the flow calls `mark_run`, which chains the pure steps below):

1. `dedup_text(title, lede, body)` is the text every later step sees; the flow stores
   `content_sha256 = sha256(dedup_text(...).encode())` (`content_sha256()` here).
2. `minhash_signatures(texts)` turns each text into shingles and a MinHash signature
   (persisted in `dedup_signatures`, so later runs never re-hash old text).
3. `find_candidates(new, index)` pairs new articles with each other and with the warehouse:
   equal `content_sha256` -> an `exact` pair; a shared LSH band -> an `lsh` pair, kept only if
   the shingle counts and the signature agreement make J >= threshold possible.
4. `verify_candidates(candidates, texts)` computes the exact Jaccard of the shingle sets of
   each `lsh` pair (texts of old articles are read back for candidates only); pairs below
   the threshold are dropped. `exact` pairs have similarity 1.0 without reading text.
5. `link_duplicates(pairs, meta, existing_clusters)` merges the verified pairs into the
   existing clusters (connected components), picks each touched cluster's canonical, and
   returns the full clusters table plus the `duplicate_of` rows that change.

Definitions (change any of them -> bump tables.RULES_VERSION and run a full refresh, because
stored signatures and clusters depend on them):

* Syllables: maximal runs of characters with `str.isalnum()` in the lowercased NFC text
  (`[^\\W_]+`); punctuation, spaces and `_` separate syllables and are dropped.
* Shingles: SHINGLE_SIZE = 3 consecutive syllables of one article (a text of 1-2 syllables
  is one shingle). A syllable is hashed with a polynomial over its code points, mixed with
  splitmix64; a shingle hash combines its three syllable hashes (64 bits). Similarity is
  the exact Jaccard of the sets of 64-bit shingle hashes (exact up to 2^-64 collisions).
* MinHash: the high 32 bits x of each distinct shingle hash go through NUM_PERM hash
  functions h_i(x) = ((a_i * x + b_i) mod 2^64) >> 32 with random 64-bit a_i (odd), b_i
  (multiply-add-shift, strongly universal for 32-bit keys; no modulo prime needed and
  no uint64 overflow). Constants come from a fixed splitmix64 stream, not from numpy's RNG,
  so stored signatures stay valid across numpy versions. `n_shingles` counts distinct
  32-bit shingle keys.
* LSH: BANDS x ROWS of the signature; two articles are candidates when any band is equal.
  P(candidate | J) = 1 - (1 - J**ROWS)**BANDS. With NUM_PERM = 128 we take the largest
  ROWS whose curve still gives >= 0.99 at the threshold: ROWS = 6, BANDS = 21 (126 of the
  128 values; all 128 are used for the estimate). The S-curve:
      J     0.2     0.3    0.5    0.6    0.7    0.75   0.8     0.85    0.9
      P   0.0013  0.015  0.28   0.63   0.92   0.98   0.998   >0.999  >0.999
  (16 x 8 would give only 0.947 at J = 0.8.) `lsh_params(threshold)` recomputes it for
  another threshold.
* Candidate filter before reading any text: n_small / n_large >= threshold - 0.02 (J can
  never exceed the size ratio) and signature agreement >= threshold - ESTIMATE_MARGIN
  (0.15 is about 4 standard deviations of the 128-value estimate at J = 0.8).
* Clusters: connected components of the graph whose edges are verified pairs
  (J >= threshold). Chosen over a greedy canonical-star rule because components only
  grow when articles are added, so the incremental result is exactly the one-go result
  without storing edges. The price: a member linked through a chain can be below the
  threshold against the canonical; its `similarity` column then says so (< threshold).
* Canonical: earliest `published_at` (nulls last), then longest `body_len`, then smallest
  article_id. cluster_id = the canonical article_id. Every other member gets
  duplicate_of = canonical (a star: nobody points at itself, no chains).
* similarity: exact Jaccard of the member to the canonical, 1.0 for the canonical.

Incremental == one go: candidacy (shared band), the filters and the verification are
properties of a pair, every pair with at least one new article is examined when the newer
one arrives, and components/canonicals depend only on the edge set. Exact copies share
text and signature, so one representative per content_sha256 enters LSH (preferring a new
article) and the copies are joined by `exact` pairs to it. Limitation: when an article
leaves the warehouse (a replaced file), the rest of its cluster stays together with a new
canonical (the edges are not stored, so a split cannot be detected).

Memory: band keys are NUM_PERM -> BANDS uint64 per article (21 x 8 B; 1M articles ~
170 MB); texts are only held for new articles and the candidates' old articles.
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from transforms import tables as T

NUM_PERM = 128
SHINGLE_SIZE = 3
DEFAULT_THRESHOLD = 0.8
MIN_BAND_RECALL = 0.99
BANDS, ROWS = 21, 6
ESTIMATE_MARGIN = 0.15
LENGTH_SLACK = 0.02

_M64 = (1 << 64) - 1
_U64 = np.uint64
_CHUNK_CHARS = 1 << 22          # characters per vectorised tokenisation chunk
_CHUNK_SHINGLES = 8192          # shingles per MinHash block (128 x 8192 x 8 B = 8 MB)
_SYLLABLE = re.compile(r"[^\W_]+")

CANDIDATES = pa.schema([
    ("a", pa.string()),             # smaller article_id of the pair
    ("b", pa.string()),
    ("kind", pa.string()),          # exact | lsh
    ("estimate", pa.float32()),     # share of equal signature values (1.0 for exact)
])
VERIFIED = pa.schema([
    ("a", pa.string()),
    ("b", pa.string()),
    ("kind", pa.string()),
    ("similarity", pa.float64()),   # exact Jaccard of the shingle sets
])
DUPLICATE_OF = pa.schema([
    ("article_id", pa.string()),
    ("duplicate_of", pa.string()),  # null: the article is (now) a canonical or in no cluster
])


# -- constants ---------------------------------------------------------------------------------

def _splitmix64(seed: int, n: int) -> list[int]:
    out, x = [], seed & _M64
    for _ in range(n):
        x = (x + 0x9E3779B97F4A7C15) & _M64
        z = x
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
        out.append(z ^ (z >> 31))
    return out


_POLY = 0x100000001B3                     # odd: invertible mod 2^64
_POLY_INV = pow(_POLY, -1, 1 << 64)
_SHINGLE_MUL = np.array([v | 1 for v in _splitmix64(0x5EED_5819, SHINGLE_SIZE)], dtype=_U64)


def _perm_constants(num_perm: int) -> tuple[np.ndarray, np.ndarray]:
    a = np.array([v | 1 for v in _splitmix64(0xA11CE, num_perm)], dtype=_U64)
    b = np.array(_splitmix64(0xB0B, num_perm), dtype=_U64)
    return a, b


def _band_constants(rows: int) -> np.ndarray:
    return np.array([v | 1 for v in _splitmix64(0xBA4D, rows)], dtype=_U64)


def lsh_params(threshold: float = DEFAULT_THRESHOLD, num_perm: int = NUM_PERM,
               min_recall: float = MIN_BAND_RECALL) -> tuple[int, int]:
    """(bands, rows): the largest `rows` whose S-curve still reaches `min_recall` at the threshold."""
    best = (num_perm, 1)
    for rows in range(1, num_perm + 1):
        bands = num_perm // rows
        if 1.0 - (1.0 - threshold ** rows) ** bands >= min_recall:
            best = (bands, rows)
    return best


assert lsh_params() == (BANDS, ROWS)


def _mix(z: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser, vectorised (uint64 arithmetic wraps mod 2^64)."""
    z = z ^ (z >> _U64(30))
    z *= _U64(0xBF58476D1CE4E5B9)
    z ^= z >> _U64(27)
    z *= _U64(0x94D049BB133111EB)
    z ^= z >> _U64(31)
    return z


_tables: dict[str, np.ndarray] = {}


def _alnum_table() -> np.ndarray:
    t = _tables.get("alnum")
    if t is None:
        t = np.fromiter((chr(c).isalnum() for c in range(0x110000)), dtype=bool, count=0x110000)
        _tables["alnum"] = t
    return t


def _powers(n: int) -> tuple[np.ndarray, np.ndarray]:
    """POLY^i and POLY^-i mod 2^64 for i < n (cached, grown on demand)."""
    p = _tables.get("pow")
    if p is None or p.size < n:
        size = max(n, _CHUNK_CHARS + 1)
        p = np.full(size, _POLY, dtype=_U64)
        p[0] = 1
        np.cumprod(p, out=p)
        q = np.full(size, _POLY_INV, dtype=_U64)
        q[0] = 1
        np.cumprod(q, out=q)
        _tables["pow"], _tables["inv"] = p, q
    return _tables["pow"], _tables["inv"]


# -- text and shingles -------------------------------------------------------------------------

def dedup_text(title: str | None, lede: str | None, body: str | None) -> str:
    """The text that is hashed and shingled: title, lede and body paragraphs, one per line.

    Each part is split into lines, whitespace runs fold to one space, empty lines go; the
    parts keep their order (title, lede, body). Site chrome is already gone (cleaning ran
    before), so two scrapes of one article give the same string.
    """
    lines: list[str] = []
    for part in (title, lede, body):
        if part:
            lines.extend(_fold_spaces(ln) for ln in part.splitlines())
    return "\n".join(ln for ln in lines if ln)


def _fold_spaces(line: str) -> str:
    """" ".join(line.split()), without splitting a line that needs nothing: a printable line
    (str.isprintable: its only whitespace is ' ') with no double, leading or trailing space
    is already folded."""
    if line.isprintable() and "  " not in line and not line.startswith(" ") and not line.endswith(" "):
        return line
    return " ".join(line.split())


def content_sha256(text: str) -> str:
    """The exact-duplicate key stored in articles.content_sha256."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def syllables(text: str) -> list[str]:
    """Reference tokeniser (pure Python): lowercased alphanumeric runs. The vectorised path equals it."""
    return _SYLLABLE.findall(text.lower())


def _shingles_chunk(lows: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """64-bit shingle hashes (with repeats) and the index of their text, for lowercased texts."""
    n = len(lows)
    joined = "\n".join(lows)                       # "\n" is not alphanumeric: no syllable spans texts
    cp = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype="<u4")
    if cp.size == 0:
        return np.empty(0, _U64), np.empty(0, np.int64)
    word = _alnum_table()[cp]
    edges = np.diff(word.astype(np.int8), prepend=np.int8(0), append=np.int8(0))
    tok_s = np.flatnonzero(edges == 1)
    tok_e = np.flatnonzero(edges == -1)            # exclusive
    if tok_s.size == 0:
        return np.empty(0, _U64), np.empty(0, np.int64)
    pw, inv = _powers(cp.size)
    prefix = np.cumsum(cp.astype(_U64) * inv[:cp.size], dtype=_U64)
    before = np.where(tok_s > 0, prefix[np.maximum(tok_s - 1, 0)], _U64(0))
    tok = _mix((prefix[tok_e - 1] - before) * pw[tok_e - 1])   # sum cp_i * POLY^(end-1-i)
    lens = np.fromiter(map(len, lows), dtype=np.int64, count=n)
    starts = np.zeros(n, dtype=np.int64)
    starts[1:] = np.cumsum(lens[:-1] + 1)
    tok_doc = np.searchsorted(starts, tok_s, side="right") - 1

    k = SHINGLE_SIZE
    hashes, docs = [], []
    if tok.size >= k:
        idx = np.flatnonzero(tok_doc[:-(k - 1)] == tok_doc[k - 1:])
        acc = tok[idx] * _SHINGLE_MUL[0]
        for j in range(1, k):
            acc += tok[idx + j] * _SHINGLE_MUL[j]
        hashes.append(_mix(acc))
        docs.append(tok_doc[idx])
    counts = np.bincount(tok_doc, minlength=n)
    short = np.flatnonzero((counts > 0) & (counts < k))
    if short.size:                                  # 1..k-1 syllables: one shingle of all of them
        first = np.searchsorted(tok_doc, short, side="left")
        acc = np.zeros(short.size, dtype=_U64)
        for j in range(k - 1):
            has = counts[short] > j
            acc[has] += tok[first[has] + j] * _SHINGLE_MUL[j]
        hashes.append(_mix(acc))
        docs.append(short)
    if not hashes:
        return np.empty(0, _U64), np.empty(0, np.int64)
    return np.concatenate(hashes), np.concatenate(docs)


def _iter_chunks(texts: Sequence[str]) -> Iterable[tuple[int, list[str]]]:
    start, chunk, size = 0, [], 0
    for i, t in enumerate(texts):
        low = t.lower()
        if chunk and size + len(low) > _CHUNK_CHARS:
            yield start, chunk
            start, chunk, size = i, [], 0
        chunk.append(low)
        size += len(low) + 1
    if chunk:
        yield start, chunk


def shingle_sets(texts: Sequence[str]) -> list[np.ndarray]:
    """Sorted distinct 64-bit shingle hashes of each text (what Jaccard is computed on)."""
    out: list[np.ndarray] = []
    for _, lows in _iter_chunks(texts):
        h, d = _shingles_chunk(lows)
        order = np.lexsort((h, d))
        h, d = h[order], d[order]
        bounds = np.searchsorted(d, np.arange(len(lows) + 1))
        out.extend(np.unique(h[bounds[i]:bounds[i + 1]]) for i in range(len(lows)))
    return out


def jaccard(a: str, b: str) -> float:
    """Exact Jaccard of the shingle sets of two texts (two texts without syllables: 1.0 if equal)."""
    sa, sb = shingle_sets([a, b])
    return _jaccard_sets(sa, sb, a == b)


def _jaccard_sets(sa: np.ndarray, sb: np.ndarray, equal_if_empty: bool = False) -> float:
    if sa.size == 0 or sb.size == 0:
        return 1.0 if (sa.size == sb.size and equal_if_empty) else 0.0
    inter = np.intersect1d(sa, sb, assume_unique=True).size
    return inter / (sa.size + sb.size - inter)


def minhash_signatures(texts: Sequence[str], num_perm: int = NUM_PERM) -> tuple[np.ndarray, np.ndarray]:
    """MinHash signature and distinct-shingle count of each text.

    Returns (uint32 [n, num_perm], int32 [n]). A text without syllables gets n_shingles 0 and
    a signature of 0xFFFFFFFF; such rows never become LSH candidates. Work is vectorised per
    chunk of ~4M characters: every permutation of every distinct shingle is computed as one
    (num_perm x 8192) block and reduced per text with np.minimum.reduceat.
    """
    n = len(texts)
    a, b = _perm_constants(num_perm)
    a, b = a[:, None], b[:, None]
    sig = np.full((n, num_perm), np.iinfo(np.uint64).max, dtype=_U64)
    n_sh = np.zeros(n, dtype=np.int32)
    buf = np.empty((num_perm, _CHUNK_SHINGLES), dtype=_U64)
    for start, lows in _iter_chunks(texts):
        h, d = _shingles_chunk(lows)
        if h.size == 0:
            continue
        keys = (d.astype(_U64) << _U64(32)) | (h >> _U64(32))
        keys.sort()
        keys = keys[np.r_[True, keys[1:] != keys[:-1]]]                   # distinct per text, sorted
        doc = (keys >> _U64(32)).astype(np.int64)
        x = keys & _U64(0xFFFFFFFF)
        n_sh[start:start + len(lows)] = np.bincount(doc, minlength=len(lows))
        new_doc = np.flatnonzero(np.r_[True, doc[1:] != doc[:-1]])
        for s in range(0, x.size, _CHUNK_SHINGLES):
            e = min(s + _CHUNK_SHINGLES, x.size)
            block = buf[:, :e - s]
            np.multiply(a, x[s:e], out=block)
            np.add(block, b, out=block)
            inner = new_doc[(new_doc > s) & (new_doc < e)] - s
            seg = np.r_[0, inner]
            mins = np.minimum.reduceat(block, seg, axis=1)
            rows = start + doc[s + seg]
            np.minimum(sig[rows], mins.T, out=mins.T)
            sig[rows] = mins.T
    out = (sig >> _U64(32)).astype(np.uint32)
    return out, n_sh


def signatures_table(article_ids: Sequence[str], signatures: np.ndarray, n_shingles: np.ndarray) -> pa.Table:
    """Rows for `dedup_signatures` (signature = num_perm little-endian uint32)."""
    sig = np.ascontiguousarray(signatures, dtype="<u4")
    width = sig.shape[1] * 4
    offsets = pa.array(np.arange(0, (len(sig) + 1) * width, width, dtype=np.int32))
    binary = pa.BinaryArray.from_buffers(pa.binary(), len(sig), [None, offsets.buffers()[1],
                                                                  pa.py_buffer(sig.tobytes())])
    return pa.table({"article_id": pa.array(article_ids, pa.string()), "signature": binary,
                     "n_shingles": pa.array(n_shingles, pa.int32())}, schema=T.DEDUP_SIGNATURES)


def _signature_matrix(col: pa.ChunkedArray | pa.Array, num_perm: int) -> np.ndarray:
    """binary column of num_perm uint32 -> uint32 [n, num_perm] (one copy)."""
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
    n = len(col)
    if n == 0:
        return np.empty((0, num_perm), dtype=np.uint32)
    if col.null_count:
        raise ValueError("dedup_signatures.signature has nulls")
    lengths = pc.binary_length(col).to_numpy()
    if not (lengths == num_perm * 4).all():
        raise ValueError(f"signatures are not {num_perm} x uint32")
    offs = np.frombuffer(col.buffers()[1], dtype=np.int32)[col.offset:col.offset + n + 1]
    data = np.frombuffer(col.buffers()[2], dtype=np.uint8)[offs[0]:offs[-1]]
    return data.view("<u4").reshape(n, num_perm).astype(np.uint32)


def band_keys(signatures: np.ndarray, bands: int = BANDS, rows: int = ROWS) -> np.ndarray:
    """uint64 [n, bands]: a hash of each band of `rows` signature values."""
    k = _band_constants(rows)
    out = np.empty((signatures.shape[0], bands), dtype=_U64)
    for j in range(bands):
        acc = np.zeros(signatures.shape[0], dtype=_U64)
        for r in range(rows):
            acc = _mix(acc ^ (signatures[:, j * rows + r].astype(_U64) * k[r]))
        out[:, j] = acc
    return out


# -- candidates --------------------------------------------------------------------------------

def find_candidates(new: pa.Table, index: pa.Table, threshold: float = DEFAULT_THRESHOLD,
                    num_perm: int = NUM_PERM) -> pa.Table:
    """Candidate pairs that involve at least one new article (new-new and new-old).

    new / index: article_id, signature, n_shingles, content_sha256 (index = articles already
    in the warehouse; an id present in both counts as new). Returns CANDIDATES sorted by
    (a, b), a < b, each pair once. Equal content_sha256 -> `exact` pairs: the group's
    representative (smallest new article_id) paired with each other copy, or, when the
    representative is old, with each new copy. Only one row per content_sha256 enters LSH;
    rows with n_shingles = 0 never do. An LSH pair survives only if the size ratio and the
    signature agreement leave J >= threshold possible; the others are not returned.
    """
    bands, rows = lsh_params(threshold, num_perm)
    new_ids = set(new["article_id"].to_pylist())
    index = index.filter(pc.invert(pc.is_in(index["article_id"], pa.array(sorted(new_ids), pa.string()))))
    cols = ["article_id", "signature", "n_shingles", "content_sha256"]
    both = pa.concat_tables([new.select(cols).cast(_INDEX_SCHEMA), index.select(cols).cast(_INDEX_SCHEMA)])
    n_new = new.num_rows
    ids = np.array(both["article_id"].to_pylist(), dtype=object)
    is_new = np.zeros(len(ids), dtype=bool)
    is_new[:n_new] = True

    # exact copies: groups by content_sha256 that contain a new article
    sha = both["content_sha256"].to_pylist()
    groups: dict[str, list[int]] = {}
    new_shas = {s for s in sha[:n_new] if s is not None}
    for i, s in enumerate(sha):
        if s is not None and s in new_shas:
            groups.setdefault(s, []).append(i)
    pairs_a: list[str] = []
    pairs_b: list[str] = []
    kinds: list[str] = []
    estimates: list[float] = []
    rep_of_group: dict[str, int] = {}
    for s, members in groups.items():
        news = [i for i in members if is_new[i]]
        rep = min(news, key=lambda i: ids[i])
        rep_of_group[s] = rep
        for i in members:
            if i != rep:
                lo, hi = sorted((ids[rep], ids[i]))
                pairs_a.append(lo)
                pairs_b.append(hi)
                kinds.append("exact")
                estimates.append(1.0)
    # one LSH row per content_sha256: new groups -> their rep; old-only groups -> smallest id
    lsh_rows = np.ones(len(ids), dtype=bool)
    old_rep: dict[str, int] = {}
    for i, s in enumerate(sha):
        if s is None:
            continue
        if s in rep_of_group:
            lsh_rows[i] = i == rep_of_group[s]
        else:
            j = old_rep.get(s)
            if j is None or ids[i] < ids[j]:
                if j is not None:
                    lsh_rows[j] = False
                old_rep[s] = i
            else:
                lsh_rows[i] = False
    n_sh = both["n_shingles"].to_numpy(zero_copy_only=False).astype(np.int64)
    lsh_rows &= n_sh > 0
    rows_idx = np.flatnonzero(lsh_rows)
    if rows_idx.size and is_new[rows_idx].any():
        sig = _signature_matrix(both["signature"].take(pa.array(rows_idx)), num_perm)
        pa_i, pa_j = _lsh_pairs(band_keys(sig, bands, rows), is_new[rows_idx])
        if pa_i.size:
            na, nb = n_sh[rows_idx[pa_i]], n_sh[rows_idx[pa_j]]
            ratio = np.minimum(na, nb) / np.maximum(na, nb)
            est = np.empty(pa_i.size, dtype=np.float64)
            for s in range(0, pa_i.size, 65536):
                est[s:s + 65536] = (sig[pa_i[s:s + 65536]] == sig[pa_j[s:s + 65536]]).mean(axis=1)
            ok = (ratio >= threshold - LENGTH_SLACK) & (est >= threshold - ESTIMATE_MARGIN)
            ia, ib = ids[rows_idx[pa_i[ok]]], ids[rows_idx[pa_j[ok]]]
            swap = ia > ib
            lo = np.where(swap, ib, ia)
            hi = np.where(swap, ia, ib)
            pairs_a.extend(lo.tolist())
            pairs_b.extend(hi.tolist())
            kinds.extend(["lsh"] * int(ok.sum()))
            estimates.extend(est[ok].tolist())
    out = pa.table({"a": pa.array(pairs_a, pa.string()), "b": pa.array(pairs_b, pa.string()),
                    "kind": pa.array(kinds, pa.string()), "estimate": pa.array(estimates, pa.float32())},
                   schema=CANDIDATES)
    return out.sort_by([("a", "ascending"), ("b", "ascending")])


_INDEX_SCHEMA = pa.schema([("article_id", pa.string()), ("signature", pa.binary()),
                           ("n_shingles", pa.int32()), ("content_sha256", pa.string())])


def _lsh_pairs(keys: np.ndarray, is_new: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row pairs (i < j) sharing a band key, at least one of them new; each pair once."""
    n = keys.shape[0]
    found = []
    for band in range(keys.shape[1]):
        k = keys[:, band]
        order = np.argsort(k, kind="stable")
        ks = k[order]
        run_start = np.r_[True, ks[1:] != ks[:-1]]
        run_id = np.cumsum(run_start) - 1
        run_len = np.bincount(run_id)
        run_new = np.bincount(run_id, weights=is_new[order]) > 0
        keep = np.flatnonzero((run_len[run_id] >= 2) & run_new[run_id])
        if keep.size == 0:
            continue
        rid, members = run_id[keep], order[keep]
        for d in range(1, int(run_len[rid].max())):
            same = rid[:-d] == rid[d:]
            i, j = members[:-d][same], members[d:][same]
            m = is_new[i] | is_new[j]
            lo, hi = np.minimum(i[m], j[m]), np.maximum(i[m], j[m])
            found.append(lo.astype(np.int64) * n + hi)
    if not found:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    codes = np.unique(np.concatenate(found))
    return codes // n, codes % n


# -- verification --------------------------------------------------------------------------------

def texts_needed(candidates: pa.Table, existing_clusters: pa.Table, have: Iterable[str] = ()) -> list[str]:
    """article_ids whose dedup_text verification and linking need, minus those in `have`.

    = both ends of every `lsh` candidate, plus every member of an existing cluster that
    contains an end of any candidate (a new canonical means new similarities).
    """
    ends = set(pc.filter(candidates["a"], pc.equal(candidates["kind"], "lsh")).to_pylist())
    ends |= set(pc.filter(candidates["b"], pc.equal(candidates["kind"], "lsh")).to_pylist())
    all_ends = set(candidates["a"].to_pylist()) | set(candidates["b"].to_pylist())
    if existing_clusters.num_rows and all_ends:
        hit = pc.is_in(existing_clusters["article_id"], pa.array(sorted(all_ends), pa.string()))
        cids = pc.unique(existing_clusters["cluster_id"].filter(hit))
        members = existing_clusters["article_id"].filter(pc.is_in(existing_clusters["cluster_id"], cids))
        ends |= set(members.to_pylist())
    return sorted(ends - set(have))


def verify_candidates(candidates: pa.Table, texts: Mapping[str, str],
                      threshold: float = DEFAULT_THRESHOLD) -> pa.Table:
    """Exact Jaccard for each `lsh` candidate; keep pairs with J >= threshold.

    `exact` candidates pass with similarity 1.0 (same content_sha256 = same text). Returns
    VERIFIED sorted by (a, b); rejected pairs are simply not returned (they are not
    duplicates). Raises KeyError if an `lsh` pair's text is missing (a flow bug).
    """
    kind = candidates["kind"].to_pylist()
    a, b = candidates["a"].to_pylist(), candidates["b"].to_pylist()
    need = sorted({x for k, p, q in zip(kind, a, b) if k == "lsh" for x in (p, q)})
    sets = dict(zip(need, shingle_sets([texts[x] for x in need])))
    out_a, out_b, out_k, out_s = [], [], [], []
    for k, p, q in zip(kind, a, b):
        s = 1.0 if k == "exact" else _jaccard_sets(sets[p], sets[q], texts[p] == texts[q])
        if s >= threshold:
            out_a.append(p)
            out_b.append(q)
            out_k.append(k)
            out_s.append(s)
    return pa.table({"a": out_a, "b": out_b, "kind": out_k, "similarity": out_s}, schema=VERIFIED)


# -- clustering --------------------------------------------------------------------------------

def _canonical_key(meta: dict[str, tuple]) -> Callable[[str], tuple]:
    def key(aid: str) -> tuple:
        pub, body_len = meta[aid]
        return (pub is None, pub if pub is not None else 0, -(body_len or 0), aid)
    return key


def link_duplicates(pairs_with_similarity: pa.Table, articles_meta: pa.Table, existing_clusters: pa.Table,
                    threshold: float = DEFAULT_THRESHOLD,
                    texts: Mapping[str, str] | None = None) -> tuple[pa.Table, pa.Table]:
    """Merge verified pairs into the existing clusters and re-pick canonicals.

    pairs_with_similarity: a, b, similarity (VERIFIED); pairs below `threshold` are ignored.
    articles_meta: article_id, published_at, body_len for every pair end and every member of
    a touched cluster. texts: dedup_text for the same articles, needed where a member's
    similarity to its (new) canonical is neither stored nor a verified pair.
    existing_clusters: DUPLICATE_CLUSTERS as stored (rows of departed articles removed).

    Returns (DUPLICATE_CLUSTERS for all clusters after this run, sorted by cluster_id,
    is_canonical desc, article_id; DUPLICATE_OF rows for every article whose duplicate_of
    differs from what existing_clusters implied, null meaning "no longer a duplicate").
    Untouched clusters pass through unchanged.
    """
    pairs = pairs_with_similarity.filter(pc.greater_equal(pairs_with_similarity["similarity"], threshold))
    sim_of = {(p, q): s for p, q, s in zip(pairs["a"].to_pylist(), pairs["b"].to_pylist(),
                                           pairs["similarity"].to_pylist())}
    old_cid = existing_clusters["cluster_id"].to_pylist()
    old_aid = existing_clusters["article_id"].to_pylist()
    old_sim = existing_clusters["similarity"].to_pylist()
    cluster_members: dict[str, list[str]] = {}
    member_of: dict[str, str] = {}
    stored_sim: dict[str, tuple[str, float]] = {}
    for c, m, s in zip(old_cid, old_aid, old_sim):
        cluster_members.setdefault(c, []).append(m)
        member_of[m] = c
        stored_sim[m] = (c, s)

    parent: dict[str, str] = {}

    def find(x: str) -> str:
        root = x
        while parent.get(root, root) != root:
            root = parent[root]
        while parent.get(x, x) != root:
            parent[x], x = root, parent[x]
        return root

    def node(aid: str) -> str:
        return "c:" + member_of[aid] if aid in member_of else "a:" + aid

    for p, q in sim_of:
        rp, rq = find(node(p)), find(node(q))
        if rp != rq:
            parent[max(rp, rq)] = min(rp, rq)
    # clusters that lost their canonical (its article left the warehouse) are recomputed too
    orphaned = {c for c, ms in cluster_members.items() if c not in ms or len(ms) < 2}
    touched_nodes = set(parent) | {find(n) for n in parent} | {"c:" + c for c in orphaned}
    components: dict[str, set[str]] = {}
    for nd in touched_nodes:
        members = set(cluster_members[nd[2:]]) if nd.startswith("c:") else {nd[2:]}
        components.setdefault(find(nd), set()).update(members)

    meta_ids = articles_meta["article_id"].to_pylist()
    pub = articles_meta["published_at"]
    pub_us = pc.cast(pub, pa.int64()).to_pylist() if pa.types.is_timestamp(pub.type) else pub.to_pylist()
    meta = dict(zip(meta_ids, zip(pub_us, articles_meta["body_len"].to_pylist())))
    key = _canonical_key(meta)
    missing = sorted({m for ms in components.values() for m in ms} - set(meta))
    if missing:
        raise ValueError(f"articles_meta lacks {len(missing)} involved articles, e.g. {missing[:3]}")

    touched_clusters = {nd[2:] for nd in touched_nodes if nd.startswith("c:")}
    rows: list[tuple[str, str, float, bool]] = [
        (c, m, s, c == m) for c, m, s in zip(old_cid, old_aid, old_sim) if c not in touched_clusters]
    need_text: list[tuple[str, str]] = []
    new_rows: list[tuple[str, str, float | None, bool]] = []
    for members in components.values():
        if len(members) < 2:
            continue
        canon = min(members, key=key)
        for m in members:
            if m == canon:
                new_rows.append((canon, m, 1.0, True))
                continue
            s = sim_of.get((min(m, canon), max(m, canon)))
            if s is None and stored_sim.get(m, (None,))[0] == canon:
                s = stored_sim[m][1]
            if s is None:
                need_text.append((m, canon))
            new_rows.append((canon, m, s, False))
    if need_text:
        if texts is None:
            raise ValueError("texts are needed to compute similarity to a new canonical")
        ids = sorted({x for pr in need_text for x in pr})
        sets = dict(zip(ids, shingle_sets([texts[x] for x in ids])))
        computed = {pr: _jaccard_sets(sets[pr[0]], sets[pr[1]], texts[pr[0]] == texts[pr[1]]) for pr in need_text}
        new_rows = [(c, m, computed[(m, c)] if s is None else s, k) for c, m, s, k in new_rows]
    rows.extend(new_rows)
    rows.sort(key=lambda r: (r[0], not r[3], r[1]))
    clusters = pa.table({
        "cluster_id": pa.array([r[0] for r in rows], pa.string()),
        "article_id": pa.array([r[1] for r in rows], pa.string()),
        "similarity": pa.array([r[2] for r in rows], pa.float32()),
        "is_canonical": pa.array([r[3] for r in rows], pa.bool_()),
    }, schema=T.DUPLICATE_CLUSTERS)

    before = {m: c for c, m in zip(old_cid, old_aid) if c != m}
    after = {r[1]: r[0] for r in rows if not r[3]}
    changed = sorted(a for a in set(before) | set(after) if before.get(a) != after.get(a))
    dup_of = pa.table({"article_id": pa.array(changed, pa.string()),
                       "duplicate_of": pa.array([after.get(a) for a in changed], pa.string())}, schema=DUPLICATE_OF)
    return clusters, dup_of


# -- the whole step, as the flow calls it -----------------------------------------------------

def mark_run(new_meta: pa.Table, new_sigs: pa.Table, old_meta: pa.Table, old_sigs: pa.Table,
             old_clusters: pa.Table, threshold: float = DEFAULT_THRESHOLD,
             fetch_old_text: Callable[[list[str]], Mapping[str, str]] | None = None,
             fetch_new_text: Callable[[list[str]], Mapping[str, str]] | None = None,
             ) -> tuple[pa.Table, dict[str, str | None]]:
    """Mark this run's articles against each other and the warehouse.

    new_meta: article_id, content_sha256, published_at (staged articles), plus title, lede, body
    unless fetch_new_text(ids) -> {id: dedup_text} is given: then only the candidates' text
    is ever built (the common case: almost no article is a candidate).
    new_sigs / old_sigs: DEDUP_SIGNATURES. old_meta: article_id, content_sha256, published_at,
    duplicate_of (published articles still present). fetch_old_text(ids) -> {id: dedup_text}
    is called once, for candidate and touched-cluster articles only.

    Returns (the full duplicate_clusters table, {article_id: duplicate_of} for every article
    whose stored value must change; new articles appear only when they are duplicates).
    `body_len` for the canonical rule is the length of dedup_text on both sides, because
    only that text is read back for old articles; it is consistent across runs.
    """
    new_ids = new_meta["article_id"].to_pylist()
    new_index = _join_sha(new_sigs, new_meta)
    old_index = _join_sha(old_sigs, old_meta)
    cands = find_candidates(new_index, old_index, threshold)
    cand_new = sorted((set(cands["a"].to_pylist()) | set(cands["b"].to_pylist())) & set(new_ids))
    if fetch_new_text is not None:
        new_texts = dict(fetch_new_text(cand_new))
    else:
        wanted = set(cand_new)
        new_texts = {a: dedup_text(t, l, b) for a, t, l, b in zip(
            new_ids, new_meta["title"].to_pylist(), new_meta["lede"].to_pylist(), new_meta["body"].to_pylist())
            if a in wanted}
    orphan_members = _orphan_members(old_clusters)
    # exact pairs need no text for verification, but the canonical rule needs every end's length
    ends = set(cands["a"].to_pylist()) | set(cands["b"].to_pylist())
    need = sorted((set(texts_needed(cands, old_clusters, have=new_texts)) | orphan_members | ends)
                  - set(new_texts))
    texts = dict(new_texts)
    if need:
        if fetch_old_text is None:
            raise ValueError("fetch_old_text is required when old articles are candidates")
        texts.update(fetch_old_text(need))
    verified = verify_candidates(cands, texts, threshold)
    involved = set(new_texts) | set(need) | set(verified["a"].to_pylist()) | set(verified["b"].to_pylist())
    pub: dict[str, object] = {}
    for t in (old_meta, new_meta):
        col = t["published_at"]
        vals = pc.cast(col, pa.int64()).to_pylist() if pa.types.is_timestamp(col.type) else col.to_pylist()
        pub.update((a, v) for a, v in zip(t["article_id"].to_pylist(), vals) if a in involved)
    ids = sorted(involved & set(texts))
    meta = pa.table({"article_id": pa.array(ids, pa.string()),
                     "published_at": pa.array([pub.get(a) for a in ids], pa.int64()),
                     "body_len": pa.array([len(texts[a]) for a in ids], pa.int64())})
    clusters, dup_of = link_duplicates(verified, meta, old_clusters, threshold, texts)
    stored = dict(zip(old_meta["article_id"].to_pylist(), old_meta["duplicate_of"].to_pylist())) \
        if "duplicate_of" in old_meta.column_names else {}
    updates: dict[str, str | None] = {}
    for a, d in zip(dup_of["article_id"].to_pylist(), dup_of["duplicate_of"].to_pylist()):
        if stored.get(a) != d and (a in stored or d is not None):
            updates[a] = d
    return clusters, updates


def _join_sha(sigs: pa.Table, meta: pa.Table) -> pa.Table:
    sha = dict(zip(meta["article_id"].to_pylist(), meta["content_sha256"].to_pylist()))
    return sigs.select(["article_id", "signature", "n_shingles"]).append_column(
        "content_sha256", pa.array([sha.get(a) for a in sigs["article_id"].to_pylist()], pa.string()))


def _orphan_members(clusters: pa.Table) -> set[str]:
    members: dict[str, list[str]] = {}
    for c, m in zip(clusters["cluster_id"].to_pylist(), clusters["article_id"].to_pylist()):
        members.setdefault(c, []).append(m)
    return {m for c, ms in members.items() if c not in ms or len(ms) < 2 for m in ms}
