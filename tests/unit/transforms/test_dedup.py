"""Cross-corpus duplicate marking (transforms.dedup): exact copies, near copies, canonical rule,
incremental runs equal to one go. Quality/speed numbers live in benchmarks/neardup.py."""
from __future__ import annotations

import random
import re
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from transforms import dedup as D
from transforms import tables as T

SEEDS = Path(__file__).resolve().parents[3] / "seeds"
BASE_TIME = datetime(2024, 1, 1, 8, 0, tzinfo=__import__("zoneinfo").ZoneInfo(T.VN_TZ))


def seed_texts() -> list[str]:
    return [D.dedup_text(None, None, p.read_text(encoding="utf-8", errors="replace"))
            for p in sorted(SEEDS.glob("*.txt"))]


def replace_words(text: str, n: int, seed: int) -> str:
    words = text.split(" ")
    rng = random.Random(seed)
    for i in rng.sample(range(len(words)), n):
        words[i] = "thaythế"
    return " ".join(words)


# -- a tiny in-memory warehouse that calls mark_run like the flow does -------------------------

class Warehouse:
    def __init__(self) -> None:
        self.meta: dict[str, dict] = {}        # article_id -> row (text parts, published_at, sha)
        self.duplicate_of: dict[str, str | None] = {}
        self.sigs = T.empty(T.DEDUP_SIGNATURES)
        self.clusters = T.empty(T.DUPLICATE_CLUSTERS)
        self.fetched: list[str] = []

    def run(self, docs: list[dict], threshold: float = 0.8) -> dict[str, str | None]:
        ids = [d["article_id"] for d in docs]
        texts = [D.dedup_text(d.get("title"), d.get("lede"), d.get("body")) for d in docs]
        sig, n_sh = D.minhash_signatures(texts)
        new_sigs = D.signatures_table(ids, sig, n_sh)
        new_meta = pa.table({
            "article_id": ids,
            "content_sha256": [D.content_sha256(t) for t in texts],
            "published_at": pa.array([d.get("published_at") for d in docs], T.TS_VN),
            "title": [d.get("title") for d in docs], "lede": [d.get("lede") for d in docs],
            "body": [d.get("body") for d in docs],
        })
        old_ids = sorted(self.meta)
        old_meta = pa.table({
            "article_id": pa.array(old_ids, pa.string()),
            "source_path": pa.array(old_ids, pa.string()),
            "content_sha256": pa.array([self.meta[a]["sha"] for a in old_ids], pa.string()),
            "published_at": pa.array([self.meta[a]["published_at"] for a in old_ids], T.TS_VN),
            "duplicate_of": pa.array([self.duplicate_of.get(a) for a in old_ids], pa.string()),
        })

        def fetch(want: list[str]) -> dict[str, str]:
            self.fetched.extend(want)
            return {a: self.meta[a]["text"] for a in want}

        clusters, updates = D.mark_run(new_meta, new_sigs, old_meta, self.sigs, self.clusters, threshold, fetch)
        for d, t in zip(docs, texts):
            self.meta[d["article_id"]] = {"sha": D.content_sha256(t), "published_at": d.get("published_at"),
                                          "text": t}
            self.duplicate_of.setdefault(d["article_id"], None)
        self.duplicate_of.update(updates)
        self.sigs = pa.concat_tables([self.sigs, new_sigs])
        self.clusters = clusters
        return updates

    def links(self) -> dict[str, str]:
        return {a: d for a, d in self.duplicate_of.items() if d is not None}


def doc(aid: str, body: str, hours: int | None = 0, title: str | None = None) -> dict:
    return {"article_id": aid, "title": title, "lede": None, "body": body,
            "published_at": None if hours is None else BASE_TIME + timedelta(hours=hours)}


def run_once(docs: list[dict]) -> Warehouse:
    wh = Warehouse()
    wh.run(docs)
    return wh


# -- text, shingles, signatures ----------------------------------------------------------------

def test_dedup_text_folds_whitespace_and_keeps_part_order():
    assert D.dedup_text("  Tiêu  đề ", None, "Đoạn  một.\n\n\nĐoạn hai. ") == "Tiêu đề\nĐoạn một.\nĐoạn hai."
    assert D.dedup_text(None, None, None) == ""


def test_vectorised_shingles_equal_python_trigrams():
    texts = seed_texts() + ["Một", "Hai từ", "Ba từ đây!", "", "...", "x_y  Z9 — “Hà Nội”"]
    for text, hashed in zip(texts, D.shingle_sets(texts)):
        w = D.syllables(text)
        ref = {tuple(w[i:i + 3]) for i in range(max(1, len(w) - 2))} if w else set()
        assert hashed.size == len(ref)
    assert D.syllables("x_y  Z9 — “Hà Nội”") == ["x", "y", "z9", "hà", "nội"]


def test_jaccard_is_exact_on_syllable_trigrams():
    a, b = seed_texts()[0], replace_words(seed_texts()[0], 5, seed=1)
    wa, wb = D.syllables(a), D.syllables(b)
    sa = {tuple(wa[i:i + 3]) for i in range(len(wa) - 2)}
    sb = {tuple(wb[i:i + 3]) for i in range(len(wb) - 2)}
    assert D.jaccard(a, b) == pytest.approx(len(sa & sb) / len(sa | sb))
    assert D.jaccard(a, a) == 1.0
    assert D.jaccard("", "") == 1.0 and D.jaccard(a, "") == 0.0


def test_signature_does_not_depend_on_batch_or_chunking(monkeypatch):
    texts = seed_texts()
    alone = np.vstack([D.minhash_signatures([t])[0] for t in texts])
    monkeypatch.setattr(D, "_CHUNK_CHARS", 3000)
    monkeypatch.setattr(D, "_CHUNK_SHINGLES", 100)
    batched, n_sh = D.minhash_signatures(texts)
    assert (alone == batched).all()
    assert batched.dtype == np.uint32 and batched.shape == (5, D.NUM_PERM)
    assert (n_sh > 500).all()


def test_empty_text_has_empty_signature():
    sig, n_sh = D.minhash_signatures(["", "!!!"])
    assert n_sh.tolist() == [0, 0]
    assert (sig == 0xFFFFFFFF).all()


def test_signature_agreement_estimates_jaccard():
    base = seed_texts()[3]
    for k, seed in ((10, 1), (40, 2), (120, 3)):
        other = replace_words(base, k, seed)
        sig, _ = D.minhash_signatures([base, other])
        assert abs((sig[0] == sig[1]).mean() - D.jaccard(base, other)) < 0.15


def test_lsh_parameters_follow_the_s_curve():
    assert (D.BANDS, D.ROWS) == (21, 6) and D.BANDS * D.ROWS <= D.NUM_PERM
    p = 1 - (1 - 0.8 ** D.ROWS) ** D.BANDS
    assert p >= 0.99
    assert 1 - (1 - 0.3 ** D.ROWS) ** D.BANDS < 0.02


def test_signatures_table_round_trips():
    sig, n_sh = D.minhash_signatures(seed_texts()[:2])
    t = D.signatures_table(["a", "b"], sig, n_sh)
    assert t.schema == T.DEDUP_SIGNATURES
    assert t["signature"][1].as_py() == sig[1].astype("<u4").tobytes()
    assert (D._signature_matrix(t["signature"], D.NUM_PERM) == sig).all()


# -- what gets linked ---------------------------------------------------------------------------

def test_exact_copy_is_linked_to_the_canonical():
    body = seed_texts()[0]
    wh = run_once([doc("b2", body, hours=5), doc("a1", body, hours=1)])
    assert wh.links() == {"b2": "a1"}
    rows = wh.clusters.to_pylist()
    assert rows == [{"cluster_id": "a1", "article_id": "a1", "similarity": 1.0, "is_canonical": True},
                    {"cluster_id": "a1", "article_id": "b2", "similarity": 1.0, "is_canonical": False}]


@pytest.mark.parametrize("edit", ["few_words", "sentence_added", "byline"])
def test_near_copy_is_linked(edit):
    body = seed_texts()[1]
    if edit == "few_words":
        other = replace_words(body, 6, seed=7)
    elif edit == "sentence_added":
        other = body + "\nBài viết được cập nhật thêm thông tin từ phóng viên thường trú tại Seoul vào chiều cùng ngày."
    else:
        other = "Nguyễn Văn An - Trần Thị Bình\n" + body + "\nTheo TTXVN"
    wh = run_once([doc("orig", body, hours=0), doc("copy", other, hours=3)])
    assert wh.links() == {"copy": "orig"}
    sim = {r["article_id"]: r["similarity"] for r in wh.clusters.to_pylist()}
    assert 0.8 <= sim["copy"] < 1.0
    assert sim["copy"] == pytest.approx(D.jaccard(body, other), abs=1e-6)


def test_five_seed_articles_on_one_topic_are_not_linked():
    wh = run_once([doc(f"s{i}", t, hours=i) for i, t in enumerate(seed_texts())])
    assert wh.links() == {}
    assert wh.clusters.num_rows == 0


def test_rewritten_story_below_threshold_is_not_linked():
    body = seed_texts()[2]
    other = replace_words(body, 120, seed=3)           # J well below 0.8
    assert D.jaccard(body, other) < 0.7
    assert run_once([doc("a", body), doc("b", other, hours=1)]).links() == {}


def test_threshold_is_configurable():
    body = seed_texts()[2]
    other = replace_words(body, 60, seed=5)
    j = D.jaccard(body, other)
    assert 0.5 < j < 0.8
    wh = Warehouse()
    wh.run([doc("a", body), doc("b", other, hours=1)], threshold=j - 0.05)
    assert wh.links() == {"b": "a"}


# -- the canonical rule -------------------------------------------------------------------------

def test_canonical_is_earliest_published_then_longest_then_smallest_id():
    body = seed_texts()[0]
    longer = body + "\nThêm một câu ngắn ở cuối bài."
    # earliest published wins even when it is shorter and has the larger id
    assert run_once([doc("a", longer, hours=5), doc("z", body, hours=1)]).links() == {"a": "z"}
    # unknown dates come last
    assert run_once([doc("a", longer, hours=None), doc("z", body, hours=9)]).links() == {"a": "z"}
    # same time: the longer text wins
    assert run_once([doc("a", body, hours=2), doc("z", longer, hours=2)]).links() == {"a": "z"}
    # same time, same text: the smaller article_id wins
    assert run_once([doc("z", body, hours=2), doc("a", body, hours=2)]).links() == {"z": "a"}


def _family(base: str, n: int, tag: str, start_hour: int) -> list[dict]:
    out = [doc(f"{tag}0", base, hours=start_hour)]
    for i in range(1, n):
        out.append(doc(f"{tag}{i}", replace_words(base, 3 + i, seed=i), hours=start_hour + i))
    return out


def test_no_self_links_and_no_chains():
    texts = seed_texts()
    docs = _family(texts[3], 5, "x", 10) + _family(texts[4], 3, "y", 0) + [doc("x9", texts[3], hours=20)]
    wh = run_once(docs)
    links = wh.links()
    assert len(links) == 7
    for a, target in links.items():
        assert a != target
        assert links.get(target) is None                  # the target is canonical
    canon = {r["cluster_id"] for r in wh.clusters.to_pylist() if r["is_canonical"]}
    assert canon == {"x0", "y0"} == set(links.values())


# -- incremental runs ---------------------------------------------------------------------------

def _corpus() -> list[dict]:
    texts = seed_texts()
    paras = [p for t in texts[3:5] for p in t.splitlines() if len(p) > 80][:24]
    bridge = "\n".join(paras)
    left = "\n".join(paras[4:])                          # J(left, bridge) and J(right, bridge) >= 0.8,
    right = "\n".join(paras[:-4])                        # J(left, right) < 0.8
    return [
        *_family(texts[0], 4, "a", 30),
        doc("a_copy", texts[0], hours=60),
        doc("a_early", replace_words(texts[0], 4, seed=99), hours=1),   # arrives late, becomes canonical
        *_family(texts[1], 3, "b", 40),
        doc("c_left", left, hours=10), doc("c_right", right, hours=11), doc("c_bridge", bridge, hours=12),
        doc("s2", texts[2], hours=3),
    ]


def _state(wh: Warehouse) -> tuple[list[dict], dict[str, str]]:
    return wh.clusters.to_pylist(), wh.links()


def test_slices_give_the_same_clusters_as_one_go():
    docs = _corpus()
    one = run_once(docs)
    by_id = {d["article_id"]: d for d in docs}
    sliced = Warehouse()
    for part in (["a1", "a3", "c_left", "b0", "s2"], ["c_right", "a0", "b2", "a_copy"],
                 ["a2", "b1", "a_early", "c_bridge"]):
        sliced.run([by_id[a] for a in part])
    assert _state(sliced) == _state(one)
    clusters, links = _state(one)
    assert links["a0"] == "a_early" and links["a_copy"] == "a_early"
    assert {links["c_right"], links["c_bridge"]} == {"c_left"}
    assert "s2" not in links and links["b1"] == "b0"


def test_later_runs_read_only_candidate_text():
    docs = _corpus()
    by_id = {d["article_id"]: d for d in docs}
    wh = Warehouse()
    wh.run([by_id[a] for a in ("a0", "a1", "b0", "b1", "s2")])
    wh.fetched.clear()
    wh.run([by_id["a2"]])
    assert set(wh.fetched) <= {"a0", "a1"}                  # never b*, never s2


def test_one_article_at_a_time_equals_one_go():
    docs = _corpus()
    one = run_once(docs)
    wh = Warehouse()
    for d in reversed(docs):
        wh.run([d])
    assert _state(wh) == _state(one)


def test_rerun_with_same_input_is_deterministic():
    docs = _corpus()
    first = run_once(docs)
    shuffled = docs[:]
    random.Random(4).shuffle(shuffled)
    assert _state(run_once(shuffled)) == _state(first)
    again = Warehouse()
    again.run(docs)
    assert again.run([]) == {}                               # nothing new: nothing changes
    assert _state(again) == _state(first)


def test_duplicate_of_updates_cover_changed_rows_only():
    docs = _corpus()
    by_id = {d["article_id"]: d for d in docs}
    wh = Warehouse()
    assert wh.run([by_id["a0"], by_id["a1"]]) == {"a1": "a0"}
    updates = wh.run([by_id["a_early"]])                     # the new canonical re-points the old ones
    assert updates == {"a0": "a_early", "a1": "a_early"}
    assert wh.run([by_id["s2"]]) == {}


def test_link_duplicates_contract():
    pairs = pa.table({"a": ["p", "q"], "b": ["q", "r"], "kind": ["lsh", "lsh"], "similarity": [0.9, 0.85]},
                     schema=D.VERIFIED)
    meta = pa.table({"article_id": ["p", "q", "r"], "published_at": pa.array([None, 5, 5], pa.int64()),
                     "body_len": [10, 10, 20]})
    texts = {"p": "x", "q": "x", "r": "x"}
    clusters, dup_of = D.link_duplicates(pairs, meta, T.empty(T.DUPLICATE_CLUSTERS), 0.8, texts)
    assert clusters.schema == T.DUPLICATE_CLUSTERS
    assert [(r["cluster_id"], r["article_id"], r["is_canonical"]) for r in clusters.to_pylist()] == [
        ("r", "r", True), ("r", "p", False), ("r", "q", False)]
    assert dup_of.to_pylist() == [{"article_id": "p", "duplicate_of": "r"},
                                  {"article_id": "q", "duplicate_of": "r"}]
    with pytest.raises(ValueError, match="articles_meta lacks"):
        D.link_duplicates(pairs, meta.slice(0, 2), T.empty(T.DUPLICATE_CLUSTERS), 0.8, texts)


def test_find_candidates_pairs_new_with_old_only():
    texts = seed_texts()
    ids = ["o1", "o2", "n1"]
    body = [texts[0], replace_words(texts[0], 3, seed=1), replace_words(texts[0], 4, seed=2)]
    sig, n_sh = D.minhash_signatures(body)
    t = D.signatures_table(ids, sig, n_sh).append_column(
        "content_sha256", pa.array([D.content_sha256(x) for x in body]))
    cands = D.find_candidates(t.slice(2), t.slice(0, 2))
    assert [(r["a"], r["b"], r["kind"]) for r in cands.to_pylist()] == [("n1", "o1", "lsh"), ("n1", "o2", "lsh")]
    assert re.fullmatch(r"[0-9a-f]{64}", D.content_sha256("x"))


def test_exact_copy_of_a_published_article_is_linked_incrementally():
    """A new exact copy of an old article that is in no cluster yet (regression: the old
    article's text was never fetched, so the canonical rule lacked its length)."""
    import hashlib
    from datetime import datetime, timezone

    import pyarrow as pa

    from transforms import dedup
    from transforms.tables import DUPLICATE_CLUSTERS

    text = ("Hà Nội tăng cường thêm các tuyến xe buýt để phục vụ nhu cầu đi lại của người dân "
            "và du khách trong dịp lễ, với tần suất dày hơn vào giờ cao điểm buổi sáng và chiều.")
    def meta(ids):
        return pa.table({"article_id": ids,
                         "content_sha256": [hashlib.sha256(text.encode()).hexdigest()] * len(ids),
                         "published_at": pa.array([datetime(2024, 1, 1, tzinfo=timezone.utc)] * len(ids),
                                                  pa.timestamp("us", tz="UTC")),
                         "duplicate_of": pa.array([None] * len(ids), pa.string())})
    sigs, n = dedup.minhash_signatures([text])
    def sig(ids):
        return dedup.signatures_table(ids, sigs.repeat(len(ids), axis=0), n.repeat(len(ids)))
    clusters, updates = dedup.mark_run(
        new_meta=meta(["b"]).drop_columns(["duplicate_of"]), new_sigs=sig(["b"]),
        old_meta=meta(["a"]), old_sigs=sig(["a"]), old_clusters=DUPLICATE_CLUSTERS.empty_table(),
        fetch_old_text=lambda ids: {i: text for i in ids}, fetch_new_text=lambda ids: {i: text for i in ids})
    assert updates == {"b": "a"}
    assert sorted(clusters["article_id"].to_pylist()) == ["a", "b"]


def test_fold_spaces_equals_split_join():
    from transforms.dedup import _fold_spaces
    cases = ["a b", " a", "a ", "a  b", "a\tb", "a\u00a0b", "a\u2003b", "\u200bab", "", " ", "Hà Nội, ngày 5/2",
             "x\x1cy", "a\u3000b", "a\u202fb", "tab\t", "ok"]
    for s in cases:
        assert _fold_spaces(s) == " ".join(s.split()), repr(s)
