"""Near-duplicate benchmark: quality against exact Jaccard, speed against datasketch.

    .venv/bin/python -m benchmarks.neardup /tmp/baomoi/baomoi-2017 [--limit N] [--threshold 0.8]

Each input file is one article (title line + paragraphs); its text goes through
`dedup_text` as the body, so both sides see the cleaned text the flow hashes.

Ground truth: every pair with exact shingle Jaccard >= threshold, found by an exact
all-pairs similarity join with prefix filtering (shingles ordered rarest first; a pair with
J >= t must share one of the first |x| - ceil(t*|x|) + 1 shingles of each side), then
verified with exact Jaccard. A brute-force check (one sampled article against every
article, exact Jaccard) counts true pairs the join missed: it must be 0.

Linked pairs: all pairs of articles in one cluster (connected components of verified
edges, as the flow stores them), for our candidates and for datasketch's candidates
alike; precision = share of linked pairs with J >= t, recall = share of true pairs linked.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tarfile
import time
from collections.abc import Sequence

import numpy as np
import pyarrow as pa

from transforms import dedup as D
from transforms import tables as T


def load_corpus(path: str, limit: int | None = None) -> tuple[list[str], list[str]]:
    """(texts, ids) from a folder of .txt files or a .tar.gz of them, sorted by name."""
    items: list[tuple[str, str]] = []
    if os.path.isdir(path):
        for name in sorted(os.listdir(path))[:limit]:
            with open(os.path.join(path, name), "rb") as fh:
                items.append((name, fh.read().decode("utf-8", "replace")))
    else:
        with tarfile.open(path) as tar:
            members = sorted((m for m in tar.getmembers() if m.isfile()), key=lambda m: m.name)[:limit]
            for m in members:
                items.append((os.path.basename(m.name), tar.extractfile(m).read().decode("utf-8", "replace")))
    return [D.dedup_text(None, None, t) for _, t in items], [os.path.splitext(n)[0] for n, _ in items]


# -- ground truth -------------------------------------------------------------------------------

def _flatten(sets: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    sizes = np.fromiter((s.size for s in sets), dtype=np.int64, count=len(sets))
    flat = np.concatenate(sets) if sets else np.empty(0, np.uint64)
    doc = np.repeat(np.arange(len(sets)), sizes)
    return flat, doc, sizes


def _pairs_in_runs(keys: np.ndarray, members: np.ndarray, n: int) -> np.ndarray:
    """Codes i*n+j (i<j) of members sharing a key; keys need not be sorted."""
    if keys.size == 0:
        return np.empty(0, np.int64)
    order = np.argsort(keys, kind="stable")
    ks, ms = keys[order], members[order]
    run_start = np.r_[True, ks[1:] != ks[:-1]]
    run_id = np.cumsum(run_start) - 1
    run_len = np.bincount(run_id)
    keep = run_len[run_id] >= 2
    rid, ms = run_id[keep], ms[keep]
    out = []
    if rid.size:
        for d in range(1, int(run_len.max())):
            same = rid[:-d] == rid[d:]
            i, j = ms[:-d][same], ms[d:][same]
            ok = i != j
            out.append(np.minimum(i[ok], j[ok]).astype(np.int64) * n + np.maximum(i[ok], j[ok]))
    return np.unique(np.concatenate(out)) if out else np.empty(0, np.int64)


def _exact_jaccard(sets: Sequence[np.ndarray], codes: np.ndarray, n: int) -> np.ndarray:
    out = np.empty(codes.size, dtype=np.float64)
    for k, c in enumerate(codes.tolist()):
        i, j = divmod(c, n)
        out[k] = D._jaccard_sets(sets[i], sets[j])
    return out


def true_pairs(sets: Sequence[np.ndarray], threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """All pairs with exact Jaccard >= threshold (prefix-filtered all-pairs join): (codes, J)."""
    n = len(sets)
    flat, doc, sizes = _flatten(sets)
    uniq, inverse, counts = np.unique(flat, return_inverse=True, return_counts=True)
    freq = counts[inverse]
    order = np.lexsort((flat, freq, doc))                   # per doc: rarest shingle first
    doc_o = doc[order]
    first = np.searchsorted(doc_o, np.arange(n))
    rank = np.arange(doc_o.size) - first[doc_o]
    prefix = sizes - np.ceil(threshold * sizes - 1e-9).astype(np.int64) + 1
    keep = (rank < prefix[doc_o]) & (freq[order] >= 2)
    codes = _pairs_in_runs(inverse[order][keep], doc_o[keep], n)
    i, j = codes // n, codes % n
    ratio = np.minimum(sizes[i], sizes[j]) / np.maximum(np.maximum(sizes[i], sizes[j]), 1)
    codes = codes[ratio >= threshold - 1e-9]
    sims = _exact_jaccard(sets, codes, n)
    ok = sims >= threshold
    return codes[ok], sims[ok]


def brute_force_missed(sets: Sequence[np.ndarray], truth: set[int], threshold: float,
                       sample: int, seed: int) -> tuple[int, int]:
    """(true pairs involving a sampled article, of which missing from `truth`), exact over all articles."""
    n = len(sets)
    flat, doc, sizes = _flatten(sets)
    order = np.argsort(flat, kind="stable")
    flat_s, doc_s = flat[order], doc[order]
    rng = np.random.default_rng(seed)
    found = missed = 0
    for i in rng.choice(n, size=min(sample, n), replace=False).tolist():
        if sets[i].size == 0:
            continue
        lo = np.searchsorted(flat_s, sets[i], side="left")
        hi = np.searchsorted(flat_s, sets[i], side="right")
        hits = np.concatenate([doc_s[a:b] for a, b in zip(lo.tolist(), hi.tolist())])
        inter = np.bincount(hits, minlength=n)
        jac = inter / np.maximum(sizes[i] + sizes - inter, 1)
        for j in np.flatnonzero(jac >= threshold).tolist():
            if j != i:
                found += 1
                missed += (min(i, j) * n + max(i, j)) not in truth
    return found, missed


# -- clustering both candidate sets the same way ------------------------------------------------

def _clusters(edges_a: list[str], edges_b: list[str], sims: list[float], ids: list[str],
              texts: dict[str, str], threshold: float) -> pa.Table:
    pairs = pa.table({"a": edges_a, "b": edges_b, "kind": ["lsh"] * len(edges_a), "similarity": sims},
                     schema=D.VERIFIED)
    meta = pa.table({"article_id": ids, "published_at": pa.nulls(len(ids), pa.int64()),
                     "body_len": [len(texts[a]) for a in ids]})
    clusters, _ = D.link_duplicates(pairs, meta, T.empty(T.DUPLICATE_CLUSTERS), threshold, texts)
    return clusters


def _linked_codes(clusters: pa.Table, pos: dict[str, int], n: int) -> np.ndarray:
    by: dict[str, list[int]] = {}
    for c, a in zip(clusters["cluster_id"].to_pylist(), clusters["article_id"].to_pylist()):
        by.setdefault(c, []).append(pos[a])
    out = []
    for members in by.values():
        m = np.array(sorted(members), dtype=np.int64)
        i, j = np.triu_indices(m.size, 1)
        out.append(m[i] * n + m[j])
    return np.unique(np.concatenate(out)) if out else np.empty(0, np.int64)


def _datasketch_pairs(texts: Sequence[str], ids: Sequence[str], threshold: float, num_perm: int):
    from datasketch import MinHash, MinHashLSH
    syl = re.compile(r"[^\W_]+")
    k = D.SHINGLE_SIZE
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    sketches = []
    for text in texts:
        w = syl.findall(text.lower())
        shingles = {" ".join(w[i:i + k]).encode() for i in range(max(1, len(w) - k + 1))} if w else set()
        m = MinHash(num_perm=num_perm)
        if shingles:
            m.update_batch(list(shingles))
        sketches.append((m, bool(shingles)))
    with lsh.insertion_session() as session:
        for aid, (m, nonempty) in zip(ids, sketches):
            if nonempty:
                session.insert(aid, m)
    pairs = set()
    for aid, (m, nonempty) in zip(ids, sketches):
        if nonempty:
            for other in lsh.query(m):
                if other != aid:
                    pairs.add((min(aid, other), max(aid, other)))
    return sorted(pairs), (lsh.b, lsh.r)


# -- the comparison -----------------------------------------------------------------------------

def compare(texts: list[str], ids: list[str], threshold: float = D.DEFAULT_THRESHOLD,
            num_perm: int = D.NUM_PERM, sample: int = 500, seed: int = 0) -> dict:
    """Run ours and datasketch on the same texts; quality against exact Jaccard.

    Returns ours_s / datasketch_s (text -> candidate pairs, same shingles, num_perm and
    threshold), neardup_speedup, precision/recall of linked pairs (ours and datasketch's
    recall after the same verification and clustering), the share of articles that are
    exact copies / near duplicates, and n_pairs (true pairs at J >= threshold).
    """
    n = len(texts)
    text_of = dict(zip(ids, texts))
    pos = {a: i for i, a in enumerate(ids)}
    D._alnum_table()
    D._powers(1)                                      # one-time tables, not part of either timing

    t0 = time.perf_counter()
    sig, n_sh = D.minhash_signatures(texts, num_perm)
    t_sig = time.perf_counter() - t0
    table = D.signatures_table(ids, sig, n_sh).append_column(
        "content_sha256", pa.array([D.content_sha256(t) for t in texts], pa.string()))
    t1 = time.perf_counter()
    cands = D.find_candidates(table, table.slice(0, 0), threshold, num_perm)
    ours_s = t_sig + time.perf_counter() - t1
    t2 = time.perf_counter()
    verified = D.verify_candidates(cands, text_of, threshold)
    verify_s = time.perf_counter() - t2
    ours_clusters = _clusters(verified["a"].to_pylist(), verified["b"].to_pylist(),
                              verified["similarity"].to_pylist(), ids, text_of, threshold)

    t3 = time.perf_counter()
    ds_pairs, (ds_b, ds_r) = _datasketch_pairs(texts, ids, threshold, num_perm)
    datasketch_s = time.perf_counter() - t3
    ds_cand = pa.table({"a": [p for p, _ in ds_pairs], "b": [q for _, q in ds_pairs],
                        "kind": ["lsh"] * len(ds_pairs), "estimate": [0.0] * len(ds_pairs)},
                       schema=D.CANDIDATES)
    ds_verified = D.verify_candidates(ds_cand, text_of, threshold)
    ds_clusters = _clusters(ds_verified["a"].to_pylist(), ds_verified["b"].to_pylist(),
                            ds_verified["similarity"].to_pylist(), ids, text_of, threshold)

    t4 = time.perf_counter()
    sets = D.shingle_sets(texts)
    truth_codes, _ = true_pairs(sets, threshold)
    truth = set(truth_codes.tolist())
    truth_s = time.perf_counter() - t4
    bf_found, bf_missed = brute_force_missed(sets, truth, threshold, sample, seed)

    linked = _linked_codes(ours_clusters, pos, n)
    ds_linked = _linked_codes(ds_clusters, pos, n)
    linked_true = np.isin(linked, truth_codes)
    sim_col = ours_clusters["similarity"].to_numpy()
    canon = ours_clusters["is_canonical"].to_numpy(zero_copy_only=False)
    members = int((~canon).sum())
    exact_dup_share = (n - len(set(table["content_sha256"].to_pylist()))) / n
    return {
        "n_docs": n, "threshold": threshold, "num_perm": num_perm, "bands_rows": [D.BANDS, D.ROWS],
        "datasketch_bands_rows": [ds_b, ds_r],
        "ours_s": round(ours_s, 3), "ours_signature_s": round(t_sig, 3), "ours_verify_s": round(verify_s, 3),
        "datasketch_s": round(datasketch_s, 3),
        "neardup_speedup": round(datasketch_s / ours_s, 2),
        "n_candidates": cands.num_rows, "n_verified": verified.num_rows,
        "datasketch_candidates": len(ds_pairs),
        "n_pairs": len(truth),
        "n_linked_pairs": int(linked.size),
        "neardup_precision": float(linked_true.mean()) if linked.size else 1.0,
        "neardup_recall": float(np.isin(truth_codes, linked).mean()) if truth_codes.size else 1.0,
        "datasketch_recall": float(np.isin(truth_codes, ds_linked).mean()) if truth_codes.size else 1.0,
        "members_below_threshold": int(((sim_col < threshold) & ~canon).sum()),
        "n_clusters": int(canon.sum()),
        "exact_dup_share": exact_dup_share,
        "near_dup_share": members / n - exact_dup_share,
        "brute_force_sample_true_pairs": bf_found, "brute_force_sample_missed_by_truth": bf_missed,
        "truth_s": round(truth_s, 2),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", help="folder of .txt files or a .tar.gz of them")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--threshold", type=float, default=D.DEFAULT_THRESHOLD)
    ap.add_argument("--sample", type=int, default=500)
    args = ap.parse_args(argv)
    texts, ids = load_corpus(args.corpus, args.limit)
    json.dump(compare(texts, ids, args.threshold, sample=args.sample), sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
