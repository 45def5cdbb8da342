"""Diversity and consistency of augmented texts: pure functions, no model of their own.

Texts are tokenised by `training.augmenters.words.metric_tokens`: words of space-separated scripts,
one token per CJK character, one per punctuation mark (so AEDA's inserted marks count), case-folded.

- distinct-n: distinct n-grams / all n-grams, pooled over a set of outputs (Li et al., 2016).
- self-BLEU here: BLEU of each output against ITS OWN ORIGINAL (how much of the original survives;
  lower = more rewriting), averaged. Sentence BLEU up to 4-grams with clipped counts, the brevity
  penalty, and add-one smoothing of the 2..4-gram precisions (BLEU+1, Lin & Och 2004), so a short
  output with no matching 4-gram does not score 0.
- consistency: share of outputs a classifier (any callable texts -> labels) gives the intended label.
- inserted words and the stock-word share: the words an output has that its original lacks, and the
  share of a set of outputs that contain one of the set's k most often inserted words (how much the
  generator leans on a few stock words, which distinct-n over whole texts hides: most of each output
  is its original's words).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence

from training.augmenters.words import metric_tokens

Tokenizer = Callable[[str], list[str]]


def ngrams(tokens: Sequence[str], n: int) -> list[tuple[str, ...]]:
    return [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]


def distinct_n(texts: Sequence[str], n: int, tokenize: Tokenizer = metric_tokens) -> float:
    """Distinct n-grams / total n-grams over all `texts` (0.0 when there is no n-gram)."""
    if n < 1:
        raise ValueError("n must be >= 1")
    grams = [g for text in texts for g in ngrams(tokenize(text), n)]
    return len(set(grams)) / len(grams) if grams else 0.0


def sentence_bleu(hypothesis: Sequence[str], reference: Sequence[str], max_n: int = 4) -> float:
    """BLEU of one tokenised hypothesis against one reference, BLEU+1 smoothing for n >= 2."""
    if not hypothesis or not reference:
        return 0.0
    log_sum = 0.0
    for n in range(1, max_n + 1):
        hyp, ref = Counter(ngrams(hypothesis, n)), Counter(ngrams(reference, n))
        matches = sum(min(count, ref[g]) for g, count in hyp.items())
        total = sum(hyp.values())
        if n > 1:
            matches, total = matches + 1, total + 1
        if matches == 0:
            return 0.0
        log_sum += math.log(matches / total)
    c, r = len(hypothesis), len(reference)
    brevity = 1.0 if c > r else math.exp(1.0 - r / c)
    return brevity * math.exp(log_sum / max_n)


def self_bleu(
    outputs: Sequence[str], originals: Sequence[str], *, tokenize: Tokenizer = metric_tokens, max_n: int = 4
) -> float:
    """Mean BLEU of outputs[i] against originals[i] (the text it was made from)."""
    if len(outputs) != len(originals):
        raise ValueError("outputs and originals must pair up one to one")
    if not outputs:
        return 0.0
    scores = [sentence_bleu(tokenize(o), tokenize(s), max_n) for o, s in zip(outputs, originals, strict=True)]
    return sum(scores) / len(scores)


def consistency(
    texts: Sequence[str], intended: Sequence[str], classify: Callable[[Sequence[str]], Sequence[str]]
) -> float:
    """Share of `texts` that `classify` assigns to their intended label (0.0 for no texts)."""
    if len(texts) != len(intended):
        raise ValueError("texts and intended labels must pair up one to one")
    if not texts:
        return 0.0
    predicted = list(classify(list(texts)))
    if len(predicted) != len(texts):
        raise ValueError("the classifier must return one label per text")
    return sum(p == y for p, y in zip(predicted, intended, strict=True)) / len(texts)


def diversity_report(outputs: Sequence[str], originals: Sequence[str]) -> dict[str, float]:
    """distinct-1, distinct-2 over the outputs and self-BLEU against their originals."""
    return {
        "distinct_1": round(distinct_n(outputs, 1), 4),
        "distinct_2": round(distinct_n(outputs, 2), 4),
        "self_bleu": round(self_bleu(outputs, originals), 4),
    }


def inserted_words(
    original: str, output: str, *, ignore: frozenset[str] = frozenset(), tokenize: Tokenizer = metric_tokens
) -> set[str]:
    """The word tokens (letters only) of `output` that `original` lacks, minus `ignore` (case-folded)."""
    had = set(tokenize(original))
    return {t for t in tokenize(output) if t.isalpha() and t not in had and t not in ignore}


def stock_word_share(inserted: Sequence[set[str]], k: int = 5) -> tuple[float, list[tuple[str, int]]]:
    """The share of outputs whose inserted words include one of the k most often inserted over all of
    them, and those k words with the number of outputs that insert each (ties in first-seen order)."""
    if not inserted:
        return 0.0, []
    counts = Counter(w for words in inserted for w in sorted(words))
    top = counts.most_common(k)
    stock = {w for w, _ in top}
    return sum(bool(words & stock) for words in inserted) / len(inserted), top
