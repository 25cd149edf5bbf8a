"""underthesea.word_tokenize re-done for batches: same words, same order, same spelling.

underthesea 9.5 segments one text at a time: a regex tokenizer cuts syllables, underthesea_core
builds 43 feature strings per syllable ('T[-1,0].lower=hà nội', ...) and a two-label CRF
(B-W / I-W) tags them with Viterbi. Corpus text repeats the same syllables and pairs millions
of times, so this module does each piece of work once per distinct value:

* tokenizer: the text is NFC- and character-normalized by underthesea's own function and cut
  at whitespace. No alternative of underthesea's token regex can match or look past a
  whitespace character except `$` (end of text), so the tokens of the text are the tokens of
  its whitespace-separated chunks, each run through underthesea's own `tokenize` with one
  space appended (the last chunk with the text's real trailing whitespace instead). The
  result of each distinct chunk is cached. Chunks with a character outside `_SAFE_RANGES`
  (Greek, Cyrillic, CJK letters, unassigned code points ...), where Python's and Rust's case
  tables might disagree, send the whole text to underthesea's word_tokenize itself.
* features: syllables are interned to ids. Unigram templates are looked up once per id; the
  pair and triple templates are found by `searchsorted` of id keys in tables built from the
  model's attribute names and the dictionary. Emission scores are summed with numpy in
  template order, the same float additions underthesea_core does, so ties break alike.
* Viterbi runs over all sequences of a batch at once, position by position, with
  underthesea_core's tie rule (the lower label wins a tie).

The model, its feature templates, its dictionary and underthesea's own tokenizer functions come
from `transforms.segment_model`, read from the installed distribution when the first batch is
segmented. `load_segmenter()` returns None, after logging one warning line, when that model is
not the supported kind (`UnsupportedModel`); the caller then uses underthesea.word_tokenize for
all text.
"""
from __future__ import annotations

import logging
import unicodedata

import numpy as np

from transforms.segment_model import MAX_OFFSET, UnsupportedModel, load_installed, parse_templates

__all__ = ["CrfSegmenter", "load_segmenter"]

log = logging.getLogger(__name__)

_I32_MAX = 2**31 - 1
_BOS, _EOS = 0, 1            # reserved ids of the padding around each sequence
_SHIFT = np.int64(1 << 32)
_SLICE_TOKENS = 100_000      # tokens tagged at once (arrays of about 1 MB each)

# Characters whose lower/upper mapping, \w and \s class are the same in Python 3.11's Unicode
# tables and in any Unicode version underthesea_core (Rust) may be built with. Anything else
# sends its text to underthesea itself. Ranges at or above U+2000 also need an assigned code
# point (new letters there could be cased in a newer Unicode).
_SAFE_RANGES = (
    (0x0000, 0x024F),    # Basic Latin, Latin-1, Latin Extended-A/B
    (0x0300, 0x036F),    # combining diacritical marks
    (0x1E00, 0x1EFF),    # Latin Extended Additional (Vietnamese precomposed letters)
    (0x2000, 0x27BF),    # punctuation, super/subscripts, currency, letterlike, arrows, math,
                         # technical, enclosed alphanumerics, box drawing, shapes, dingbats
    (0x2B00, 0x2BFF),    # miscellaneous symbols and arrows
    (0x3000, 0x303F),    # CJK punctuation
    (0xFE00, 0xFE0F),    # variation selectors
    (0xFF00, 0xFFEF),    # half- and full-width forms
    (0x1F000, 0x1FAFF),  # emoji and pictographs
    (0xE0000, 0xE007F),  # tags (emoji flags)
)


def _is_safe_char(ch: str) -> bool:
    cp = ord(ch)
    for lo, hi in _SAFE_RANGES:
        if lo <= cp <= hi:
            return cp < 0x2000 or unicodedata.category(ch) != "Cn"
    return False


def _rust_isdigit(s: str) -> bool:
    """`s.parse::<i32>().is_ok()`: optional sign, ASCII digits, in range."""
    body = s[1:] if s[:1] in "+-" else s
    if not body or not body.isascii() or not body.isdigit():
        return False
    digits = body.lstrip("0")
    if len(digits) > 10:            # past i32 whatever the digits (and past int()'s 4,300-digit limit)
        return False
    value = int(digits or "0")
    return value <= _I32_MAX if s[:1] != "-" else value <= _I32_MAX + 1


def _is_title(s: str) -> bool:
    """underthesea_core's istitle of one space-free token: its first character is upper-case."""
    first = s[0]
    return first.upper() == first


# -- segmenter -------------------------------------------------------------------------------

class CrfSegmenter:
    """Segments texts as underthesea.word_tokenize does, a batch at a time.

    Interned syllables and chunk results are kept between batches and cleared, before a
    batch, once they pass `cache_limit` entries, so a long-lived worker does not grow without
    bound. A 2,000-document batch of corpus paragraphs adds about 65,000 entries when cold;
    over 8 such batches in one process the limit of 100,000 (cleared every other batch or so)
    peaked 21 MB lower than 200,000 for at most a few per cent more CPU time, within the noise
    of the measurement (five runs each on a shared machine: mean 30.4 s against 29.3 s, runs
    spread over 27-33 s).
    """

    def __init__(self, labels, attrs, state, trans, templates, dictionary, normalize, tokenize,
                 word_tokenize, cache_limit=100_000):
        self._normalize = normalize
        self._regex_tokenize = tokenize
        self._word_tokenize = word_tokenize
        self._iw = labels.index("I-W")
        self._trans = trans
        self._templates = parse_templates(templates)
        self._dictionary = dictionary
        self._cache_limit = cache_limit
        attr_id = {a: i for i, a in enumerate(attrs)}
        zero = np.zeros(2)

        def weight(attr: str) -> np.ndarray:
            i = attr_id.get(attr)
            return state[i] if i is not None else zero

        self._weight = weight
        self._attr_id = attr_id
        self._state = state
        # state weights by label, with a zero row at the end for "no such attribute"
        self._zero_attr = len(attrs)
        self._state_cols = tuple(np.ascontiguousarray(np.append(state[:, y], 0.0)) for y in (0, 1))
        # one weight pair per template for the BOS / EOS value
        self._bos = [weight(f"{t[0]}=BOS") for t in self._templates]
        self._eos = [weight(f"{t[0]}=EOS") for t in self._templates]
        self._bool_w = [(weight(f"{t[0]}=True"), weight(f"{t[0]}=False")) for t in self._templates]
        self._uni = [j for j, t in enumerate(self._templates) if t[1] == t[2]]
        self._uni_col = {j: c for c, j in enumerate(self._uni)}

        self._strs: list[str | None] = [None, None]
        self._vocab: dict[str, int] = {}
        self._cap = 0
        self._grow(1 << 15)
        self._build_ngram_tables(attrs)
        self._base = len(self._strs)
        self._mid: dict[str, tuple | bool] = {}
        self._last: dict[str, tuple | bool] = {}

    # vocabulary ---------------------------------------------------------------------------

    def _grow(self, cap: int) -> None:
        ua = np.full((len(self._uni), cap), self._zero_attr, dtype=np.int32)
        lower = np.zeros(cap, dtype=np.int32)
        title = np.zeros(cap, dtype=bool)
        ready = np.zeros(cap, dtype=bool)
        if self._cap:
            ua[:, :self._cap] = self._ua
            lower[:self._cap] = self._lower
            title[:self._cap] = self._title
            ready[:self._cap] = self._ready
        else:
            for c, j in enumerate(self._uni):
                syntax = self._templates[j][0]
                ua[c, _BOS] = self._attr_id.get(f"{syntax}=BOS", self._zero_attr)
                ua[c, _EOS] = self._attr_id.get(f"{syntax}=EOS", self._zero_attr)
            lower[_BOS], lower[_EOS] = _BOS, _EOS
            ready[_BOS] = ready[_EOS] = True
        self._ua, self._lower, self._title, self._ready, self._cap = ua, lower, title, ready, cap

    def _intern(self, s: str) -> int:
        i = self._vocab.get(s)
        if i is None:
            i = len(self._strs)
            self._vocab[s] = i
            self._strs.append(s)
            if i >= self._cap:
                self._grow(2 * self._cap)
        return i

    def _prepare(self, ids: np.ndarray) -> None:
        """Unigram attribute ids, lower-case id and title flag of every id not prepared yet."""
        todo = np.unique(ids[~self._ready[ids]])
        if not len(todo):
            return
        attr_id, dictionary, zero = self._attr_id, self._dictionary, self._zero_attr
        rows = np.empty((len(todo), len(self._uni)), dtype=np.int32)
        for n, i in enumerate(todo.tolist()):
            s = self._strs[i]
            low = s.lower()
            lid = self._intern(low)
            row = rows[n]
            for c, j in enumerate(self._uni):
                syntax, _, _, fn = self._templates[j]
                if fn is None:
                    value = s
                elif fn == "lower":
                    value = low
                elif fn == "isdigit":
                    value = "True" if _rust_isdigit(s) else "False"
                elif fn == "istitle":
                    value = "True" if _is_title(s) else "False"
                else:
                    value = "True" if low in dictionary else "False"
                row[c] = attr_id.get(f"{syntax}={value}", zero)
            self._lower[i] = lid
            self._title[i] = _is_title(s)
            self._ready[i] = True
        self._ua[:, todo] = rows.T

    def _build_ngram_tables(self, attrs: list[str]) -> None:
        """For each (space, length) with a template: the sorted keys of the n-grams the model or
        the dictionary knows, and per template the weight pair of each n-gram (+ a last row for
        an n-gram not in the table)."""
        self._tables = {}
        by_kind: dict[tuple[str, int], list[int]] = {}
        for j, (_syntax, k1, k2, fn) in enumerate(self._templates):
            n = k2 - k1 + 1
            if n == 1 or fn in ("istitle", "isdigit"):
                continue
            space = "raw" if fn is None else "lower"
            by_kind.setdefault((space, n), []).append(j)
        for (space, n), js in by_kind.items():
            grams: dict[tuple[int, ...], int] = {}

            def add(parts: list[str]) -> int | None:
                if len(parts) != n or not all(parts):
                    return None
                key = tuple(self._intern(p) for p in parts)
                return grams.setdefault(key, len(grams))

            per_template: dict[int, dict[int, int]] = {}
            for j in js:
                syntax, _, _, fn = self._templates[j]
                if fn == "is_in_dict":
                    continue
                prefix = f"{syntax}="
                found = per_template.setdefault(j, {})
                for a in attrs:
                    if a.startswith(prefix):
                        g = add(a[len(prefix):].split(" "))
                        if g is not None:
                            found[g] = self._attr_id[a]
            in_dict: set[int] = set()
            if any(self._templates[j][3] == "is_in_dict" for j in js):
                for entry in self._dictionary:
                    g = add(entry.split(" "))
                    if g is not None:
                        in_dict.add(g)
            keys = np.array(sorted(grams, key=grams.get), dtype=np.int64).reshape(-1, n) \
                if grams else np.zeros((0, n), dtype=np.int64)
            size = len(grams)
            # key tables: pairs directly; triples through the index of their first pair
            pair_keys = keys[:, 0] * _SHIFT + keys[:, 1]
            if n == 2:
                order = np.argsort(pair_keys)
                prefix_keys = None
                sorted_keys = pair_keys[order]
            else:
                prefix_keys = np.unique(pair_keys)
                pidx = np.searchsorted(prefix_keys, pair_keys)
                tkeys = pidx.astype(np.int64) * _SHIFT + keys[:, 2]
                order = np.argsort(tkeys)
                sorted_keys = tkeys[order]
            flags = np.zeros(size + 1, dtype=bool)
            if in_dict:
                flags[np.fromiter(in_dict, dtype=np.int64)] = True
            weights = {}
            for j in js:
                fn = self._templates[j][3]
                table = np.zeros((size + 3, 2))
                if fn == "is_in_dict":
                    w_true, w_false = self._bool_w[j]
                    table[:] = w_false
                    table[:size + 1][flags] = w_true
                else:
                    found = per_template.get(j, {})
                    if found:
                        g = np.fromiter(found.keys(), dtype=np.int64)
                        table[g] = self._state[np.fromiter(found.values(), dtype=np.int64)]
                # rows in sorted-key order, then: not found, BOS, EOS
                table = table[np.concatenate((order, [size, size + 1, size + 2]))]
                table[size + 1], table[size + 2] = self._bos[j], self._eos[j]
                weights[j] = (np.ascontiguousarray(table[:, 0]), np.ascontiguousarray(table[:, 1]))
            self._tables[(space, n)] = (prefix_keys, sorted_keys, weights)

    def _reset_if_large(self) -> None:
        if len(self._strs) - self._base + len(self._mid) + len(self._last) <= self._cache_limit:
            return
        for s in self._strs[self._base:]:
            del self._vocab[s]
        del self._strs[self._base:]
        self._ready[:] = False
        self._ready[_BOS] = self._ready[_EOS] = True
        self._mid.clear()
        self._last.clear()

    # tokenizer -----------------------------------------------------------------------------

    def _chunk_ids(self, chunk: str, context: str) -> tuple | bool:
        if not all(map(_is_safe_char, chunk + context)):
            return False
        return tuple(self._intern(t) for t in self._regex_tokenize(chunk + context))

    def token_ids(self, text: str) -> list[int] | None:
        """Interned underthesea tokens of `text`, or None when it must go to underthesea."""
        t = self._normalize(text)
        parts = t.split()
        if not parts:
            return []
        mid, out = self._mid, []
        last = parts.pop()
        for c in parts:
            v = mid.get(c)
            if v is None:
                v = mid[c] = self._chunk_ids(c, " ")
            if v is False:
                return None
            out.extend(v)
        key = last + t[len(t.rstrip()):]
        v = self._last.get(key)
        if v is None:
            v = self._last[key] = self._chunk_ids(last, key[len(last):])
        if v is False:
            return None
        out.extend(v)
        return out

    # tagging -------------------------------------------------------------------------------

    def _emissions(self, seqs: list[list[int]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Emission score pairs of every token (sequence-major), sequence starts and lengths."""
        P = MAX_OFFSET
        lengths = np.fromiter((len(s) for s in seqs), dtype=np.int64, count=len(seqs))
        padded = np.empty(int(lengths.sum()) + 2 * P * len(seqs), dtype=np.int64)
        flat = np.fromiter((i for s in seqs for i in s), dtype=np.int64, count=int(lengths.sum()))
        pstart = np.concatenate(([0], np.cumsum(lengths + 2 * P)[:-1]))
        starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
        # padded layout: BOS BOS t0 .. tn-1 EOS EOS, sequence after sequence
        real = np.repeat(pstart + P - starts, lengths) + np.arange(len(flat))
        padded[:] = _EOS
        for k in range(P):
            padded[pstart + k] = _BOS
        padded[real] = flat
        self._prepare(padded)
        is_bos = padded == _BOS
        is_eos = padded == _EOS
        low = self._lower[padded].astype(np.int64)

        def shifted(arr, k, fill):
            out = np.full(len(arr), fill, dtype=arr.dtype)
            if k >= 0:
                out[:len(arr) - k] = arr[k:]
            else:
                out[-k:] = arr[:k]
            return out

        # per (space, length): row of each padded position's n-gram in the template tables,
        # with underthesea_core's precedence: BOS if the first token is before the sequence,
        # else EOS if the last one is after it
        gram_idx = {}
        for (space, n), (prefix_keys, keys, _w) in self._tables.items():
            ids = padded if space == "raw" else low
            pair = ids * _SHIFT + shifted(ids, 1, _EOS)
            if n == 2:
                q = pair
            else:
                pi = np.searchsorted(prefix_keys, pair)
                ok = pi < len(prefix_keys)
                ok[ok] = prefix_keys[pi[ok]] == pair[ok]
                q = np.where(ok, pi, -1) * _SHIFT + shifted(ids, 2, _EOS)
            gi = np.searchsorted(keys, q)
            hit = gi < len(keys)
            hit[hit] = keys[gi[hit]] == q[hit]
            size = len(keys)
            gi[~hit] = size
            gi[shifted(is_eos, n - 1, True)] = size + 2
            gi[is_bos] = size + 1
            gram_idx[(space, n)] = gi
        title_code = {}
        for n in {k2 - k1 + 1 for _s, k1, k2, fn in self._templates if fn in ("istitle", "isdigit")}:
            first = self._title[padded].astype(np.int64)         # 0 False, 1 True
            code = first.copy()
            for k in range(1, n):
                code &= shifted(first, k, 1)
            code[shifted(is_eos, n - 1, True)] = 3
            code[is_bos] = 2
            title_code[n] = code

        em0 = np.zeros(len(flat))
        em1 = np.zeros(len(flat))
        tok_at = {}
        for j, (_syntax, k1, k2, fn) in enumerate(self._templates):
            n = k2 - k1 + 1
            if n == 1:
                if k1 not in tok_at:
                    tok_at[k1] = np.take(padded, real + k1)
                idx = tok_at[k1]
                idx = np.take(self._ua[self._uni_col[j]], idx)
                col0, col1 = self._state_cols
            elif fn in ("istitle", "isdigit"):
                w_true, w_false = self._bool_w[j]
                if fn == "isdigit":                  # "a b" never parses as an integer
                    w_true = w_false
                table = np.array([w_false, w_true, self._bos[j], self._eos[j]])
                col0, col1 = table[:, 0].copy(), table[:, 1].copy()
                idx = np.take(title_code[n], real + k1)
            else:
                space = "raw" if fn is None else "lower"
                col0, col1 = self._tables[(space, n)][2][j]
                idx = np.take(gram_idx[(space, n)], real + k1)
            em0 += np.take(col0, idx)
            em1 += np.take(col1, idx)
        return np.stack([em0, em1], axis=1), starts, lengths

    def _viterbi(self, em: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Best label per token, all sequences at once, position by position; the same float
        additions and the same tie rule (the lower label wins) as underthesea_core."""
        labels = np.zeros(len(em), dtype=np.int8)
        if not len(em):
            return labels
        order = np.argsort(-lengths, kind="stable")
        st, ln = starts[order], lengths[order]
        maxlen = int(ln[0])
        # active[t]: how many sequences (a prefix of the sorted ones) have a token at t
        active = np.append(np.searchsorted(-ln, -np.arange(1, maxlen + 1), side="right"), 0)
        T = self._trans
        final = np.zeros(len(st), dtype=np.int8)
        score = em[st]
        back = []
        for t in range(maxlen):
            a, a_next = int(active[t]), int(active[t + 1])
            if t:
                prev = score[:a]
                s00, s10 = prev[:, 0] + T[0, 0], prev[:, 1] + T[1, 0]
                s01, s11 = prev[:, 0] + T[0, 1], prev[:, 1] + T[1, 1]
                b0, b1 = s10 > s00, s11 > s01
                e = em[st[:a] + t]
                score = np.empty((a, 2))
                score[:, 0] = np.where(b0, s10, s00) + e[:, 0]
                score[:, 1] = np.where(b1, s11, s01) + e[:, 1]
                back.append((b0, b1))
            if a_next < a:                      # sequences whose last token is at t
                done = score[a_next:a]
                final[a_next:a] = done[:, 1] > done[:, 0]
        cur = np.zeros(len(st), dtype=np.int8)
        for t in range(maxlen - 1, -1, -1):
            a, a_next = int(active[t]), int(active[t + 1])
            cur[a_next:a] = final[a_next:a]
            labels[st[:a] + t] = cur[:a]
            if t:
                b0, b1 = back[t - 1]
                cur[:a] = np.where(cur[:a] == 1, b1, b0)
        return labels

    def load_fallback(self) -> None:
        """Load the model of the word_tokenize that unsafe texts go to now, instead of at the
        first such text (it is underthesea's own code and model, loaded on first use)."""
        self._word_tokenize("Khởi động.")

    def segment(self, texts: list[str]) -> list[list[str]]:
        """Words of each text as underthesea.word_tokenize gives them; one list per text, in
        order. A text with a character outside the safe set is handed to word_tokenize."""
        self._reset_if_large()
        seqs: list[list[int]] = []
        where: list[int] = []          # index into seqs, or -1 for underthesea
        for text in texts:
            ids = self.token_ids(text)
            if ids is None:
                where.append(-1)
            else:
                where.append(len(seqs))
                seqs.append(ids)
        # tag in slices of about _SLICE_TOKENS tokens: bounded memory, same result; one label
        # byte per token, sequence after sequence
        labels = bytearray()
        i = 0
        while i < len(seqs):
            j, total = i, 0
            while j < len(seqs) and (total == 0 or total + len(seqs[j]) <= _SLICE_TOKENS):
                total += len(seqs[j])
                j += 1
            if total:
                labels += self._viterbi(*self._emissions(seqs[i:j])).tobytes()
            i = j
        out: list[list[str]] = []
        strs, iw = self._strs, self._iw
        joined: dict[str, str] = {}     # one copy of each multi-syllable word of this batch
        at = 0
        for text, k in zip(texts, where):
            if k < 0:
                out.append(self._word_tokenize(text))
                continue
            ids = seqs[k]
            words: list[str] = []
            for i, tag in zip(ids, labels[at:at + len(ids)]):
                if tag == iw and words:
                    w = f"{words[-1]} {strs[i]}"
                    words[-1] = joined.setdefault(w, w)
                else:
                    words.append(strs[i])
            at += len(ids)
            out.append(words)
        return out


_UNSET = object()
_segmenter = _UNSET


def load_segmenter() -> CrfSegmenter | None:
    """The process-wide segmenter for the installed model, built on first call; None (after one
    warning line) when the model is not a supported one."""
    global _segmenter
    if _segmenter is _UNSET:
        try:
            _segmenter = CrfSegmenter(*load_installed())
        except (UnsupportedModel, OSError, ValueError, KeyError, ImportError) as e:
            log.warning("word segmentation: installed underthesea model not supported (%s); "
                        "using underthesea.word_tokenize (slow path)", e)
            _segmenter = None
    return _segmenter
