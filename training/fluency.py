"""A fluency measure that is not the generator grading itself: a word trigram language model with
interpolated Kneser-Ney smoothing (Chen & Goodman 1998, "An Empirical Study of Smoothing Techniques
for Language Modeling"), trained on plain text the generator never wrote.

An augmented text is judged against its own original: `log_ppl_ratio = ln ppl(new) - ln ppl(old)`.
0 means as fluent as the original by this model; ln 2 means twice as perplexing. Comparing with the
original cancels what the n-gram model cannot know about a domain (hashtags, names), so one threshold
works across datasets.

Counts live in sorted numpy arrays (keys packed into one int64 per n-gram), so a model of 17M words
builds in about a minute and loads in a second; lookups are vectorised binary searches.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[^\w\s]", re.UNICODE)
UNK, BOS, EOS = 0, 1, 2
DISCOUNT = 0.75


def words(text: str) -> list[str]:
    """Lower-cased words and punctuation marks, the unit the model counts."""
    return _WORD.findall(text.lower())


@dataclass
class NgramLM:
    vocab: dict[str, int]
    size: int  # ids 0..size-1 (UNK, BOS, EOS first)
    # trigrams (u, v, w): sorted packed keys and counts
    tri_keys: np.ndarray
    tri_counts: np.ndarray
    # trigram contexts (u, v): sorted keys, total count, distinct followers
    ctx3_keys: np.ndarray
    ctx3_total: np.ndarray
    ctx3_types: np.ndarray
    # bigrams (v, w) by continuation count (distinct u before them)
    bi_keys: np.ndarray
    bi_cont: np.ndarray
    # bigram contexts v: total continuation count, distinct followers
    ctx2_total: np.ndarray  # (size,)
    ctx2_types: np.ndarray  # (size,)
    # unigram continuation counts (distinct v before w) and their total
    uni_cont: np.ndarray  # (size,)
    uni_total: int

    # ------------------------------------------------------------------------------------------
    @classmethod
    def train(cls, texts: Iterable[str], min_count: int = 2, max_vocab: int = 200_000) -> NgramLM:
        sentences = [words(t) for t in texts]
        counts = Counter(w for s in sentences for w in s)
        kept = [w for w, c in counts.most_common(max_vocab) if c >= min_count]
        vocab = {w: i + 3 for i, w in enumerate(kept)}
        size = len(vocab) + 3
        ids = [cls._encode(vocab, s) for s in sentences if s]
        u = np.concatenate([a[:-2] for a in ids])
        v = np.concatenate([a[1:-1] for a in ids])
        w = np.concatenate([a[2:] for a in ids])
        tri = (u * size + v) * size + w
        tri_keys, tri_counts = np.unique(tri, return_counts=True)
        ctx3 = tri_keys // size
        ctx3_keys, inverse = np.unique(ctx3, return_inverse=True)
        ctx3_total = np.bincount(inverse, weights=tri_counts).astype(np.int64)
        ctx3_types = np.bincount(inverse).astype(np.int64)
        bi = tri_keys % (size * size)  # (v, w) of every distinct trigram: one per distinct u
        bi_keys, bi_cont = np.unique(bi, return_counts=True)
        bv, bw = bi_keys // size, bi_keys % size
        ctx2_total = np.bincount(bv, weights=bi_cont, minlength=size).astype(np.int64)
        ctx2_types = np.bincount(bv, minlength=size).astype(np.int64)
        uni_cont = np.bincount(bw, minlength=size).astype(np.int64)
        return cls(
            vocab,
            size,
            tri_keys=tri_keys,
            tri_counts=tri_counts.astype(np.int64),
            ctx3_keys=ctx3_keys,
            ctx3_total=ctx3_total,
            ctx3_types=ctx3_types,
            bi_keys=bi_keys,
            bi_cont=bi_cont.astype(np.int64),
            ctx2_total=ctx2_total,
            ctx2_types=ctx2_types,
            uni_cont=uni_cont,
            uni_total=int(len(bi_keys)),
        )

    @staticmethod
    def _encode(vocab: dict[str, int], sentence: Sequence[str]) -> np.ndarray:
        return np.array([BOS, BOS, *(vocab.get(w, UNK) for w in sentence), EOS], dtype=np.int64)

    # ------------------------------------------------------------------------------------------
    @staticmethod
    def _lookup(keys: np.ndarray, values: np.ndarray, query: np.ndarray) -> np.ndarray:
        """values[key] for each query key, 0 where the key is absent."""
        at = np.searchsorted(keys, query)
        at = np.minimum(at, len(keys) - 1)
        found = keys[at] == query
        return np.where(found, values[at], 0)

    def token_logprobs(self, text: str) -> np.ndarray:
        """Natural-log probability of each word of `text` and of its end, given the two before."""
        a = self._encode(self.vocab, words(text))
        return np.log(self.probs(a[:-2], a[1:-1], a[2:]))

    def probs(self, u: np.ndarray, v: np.ndarray, w: np.ndarray) -> np.ndarray:
        """P(w | u, v) for id arrays of one shape; sums to 1 over w for every context."""
        size = self.size
        p1 = (self.uni_cont[w] + 1.0) / (self.uni_total + size)  # add-one keeps unseen words possible
        total2 = self.ctx2_total[v].astype(float)
        cont2 = self._lookup(self.bi_keys, self.bi_cont, v * size + w).astype(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            p2 = np.where(
                total2 > 0,
                np.maximum(cont2 - DISCOUNT, 0) / total2 + DISCOUNT * self.ctx2_types[v] / total2 * p1,
                p1,
            )
            ctx = u * size + v
            total3 = self._lookup(self.ctx3_keys, self.ctx3_total, ctx).astype(float)
            types3 = self._lookup(self.ctx3_keys, self.ctx3_types, ctx).astype(float)
            count3 = self._lookup(self.tri_keys, self.tri_counts, ctx * size + w).astype(float)
            p3 = np.where(
                total3 > 0, np.maximum(count3 - DISCOUNT, 0) / total3 + DISCOUNT * types3 / total3 * p2, p2
            )
        return p3

    def log_perplexity(self, text: str) -> float:
        return float(-self.token_logprobs(text).mean())

    def log_ppl_ratio(self, new: str, original: str) -> float:
        """ln ppl(new) - ln ppl(original): > 0 when the new text reads worse than its original."""
        return self.log_perplexity(new) - self.log_perplexity(original)

    # ------------------------------------------------------------------------------------------
    _ARRAYS = (
        "tri_keys",
        "tri_counts",
        "ctx3_keys",
        "ctx3_total",
        "ctx3_types",
        "bi_keys",
        "bi_cont",
        "ctx2_total",
        "ctx2_types",
        "uni_cont",
    )

    def save(self, path: str | Path) -> None:
        words_by_id = sorted(self.vocab, key=self.vocab.__getitem__)
        np.savez_compressed(
            path,
            words=np.array(words_by_id, dtype=object).astype(str),
            size=self.size,
            uni_total=self.uni_total,
            **{name: getattr(self, name) for name in self._ARRAYS},
        )

    @classmethod
    def load(cls, path: str | Path) -> NgramLM:
        with np.load(path, allow_pickle=False) as data:
            vocab = {w: i + 3 for i, w in enumerate(data["words"].tolist())}
            arrays = {name: data[name] for name in cls._ARRAYS}
            return cls(vocab, int(data["size"]), uni_total=int(data["uni_total"]), **arrays)


FLUENT_LOG_RATIO = math.log(2.0)  # calibrated against blind ratings: see docs/FLUENCY.md


def fluency_report(lm: NgramLM, outputs: Sequence[str], originals: Sequence[str]) -> dict:
    """Mean and median log perplexity ratio, and the share of outputs within FLUENT_LOG_RATIO."""
    ratios = [lm.log_ppl_ratio(n, o) for n, o in zip(outputs, originals, strict=True)]
    if not ratios:
        return {}
    return {
        "log_ppl_ratio_mean": float(np.mean(ratios)),
        "log_ppl_ratio_median": float(np.median(ratios)),
        "fluent_share": float(np.mean([r <= FLUENT_LOG_RATIO for r in ratios])),
    }
