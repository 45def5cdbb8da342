"""Diversity and consistency metrics against hand-computed values."""

import math

import pytest

from training.augmenters.words import metric_tokens
from training.bench.diversity import (
    consistency,
    distinct_n,
    diversity_report,
    ngrams,
    self_bleu,
    sentence_bleu,
)


def test_tokens_split_words_punctuation_and_cjk_characters():
    assert metric_tokens("The movie, great!") == ["the", "movie", ",", "great", "!"]
    assert metric_tokens("我爱NLP！") == ["我", "爱", "nlp", "！"]
    assert ngrams(["a", "b", "c"], 2) == [("a", "b"), ("b", "c")] and ngrams(["a"], 2) == []


def test_distinct_n_by_hand():
    # unigrams: a b a | a b c -> 6 in all, {a, b, c} distinct; bigrams: ab ba | ab bc -> 4, 3 distinct
    assert distinct_n(["a b a", "a b c"], 1) == pytest.approx(3 / 6)
    assert distinct_n(["a b a", "a b c"], 2) == pytest.approx(3 / 4)
    # CJK by character: 我 爱 你 | 我 爱 他 -> 6 unigrams, 4 distinct; 4 bigrams, 3 distinct
    assert distinct_n(["我爱你", "我爱他"], 1) == pytest.approx(4 / 6)
    assert distinct_n(["我爱你", "我爱他"], 2) == pytest.approx(3 / 4)
    assert distinct_n(["a"], 2) == 0.0 and distinct_n([], 1) == 0.0
    with pytest.raises(ValueError):
        distinct_n(["a"], 0)


def test_sentence_bleu_by_hand():
    hyp, ref = ["the", "cat", "sat", "on", "the", "mat"], ["the", "cat", "is", "on", "the", "mat"]
    # p1 = 5/6 (the x2 clipped to 2, cat, on, mat); p2..p4 with add-one: (3+1)/(5+1), (1+1)/(4+1), (0+1)/(3+1)
    expected = (5 / 6 * 4 / 6 * 2 / 5 * 1 / 4) ** 0.25
    assert sentence_bleu(hyp, ref) == pytest.approx(expected) == pytest.approx(0.485492, abs=1e-6)
    assert sentence_bleu(ref, ref) == pytest.approx(1.0)
    # Brevity: 'the cat' against 6 reference tokens: p1 = 1, p2 = (1+1)/(1+1), p3 = p4 = 1/1; BP = e^(1-3)
    assert sentence_bleu(["the", "cat"], ref) == pytest.approx(math.exp(1 - 6 / 2))
    assert sentence_bleu(["dog"], ref) == 0.0 and sentence_bleu([], ref) == 0.0


def test_self_bleu_pairs_each_output_with_its_original():
    outputs = ["the cat sat on the mat", "the cat is on the mat"]
    originals = ["the cat is on the mat", "the cat is on the mat"]
    assert self_bleu(outputs, originals) == pytest.approx((0.485492 + 1.0) / 2, abs=1e-6)
    assert self_bleu(["我爱你"], ["我爱你"]) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        self_bleu(["a"], [])
    # unigrams: the cat sat on mat is -> 6 distinct of 12; bigrams: 7 distinct of 10 (the-cat, on-the, the-mat shared)
    report = diversity_report(outputs, originals)
    assert report == {"distinct_1": round(6 / 12, 4), "distinct_2": round(7 / 10, 4), "self_bleu": 0.7427}


def test_consistency_is_the_share_given_the_intended_label():
    def classify(texts):
        return ["joy" if "great" in t else "anger" for t in texts]

    texts = ["great day", "awful day", "great food", "rude"]
    assert consistency(texts, ["joy", "joy", "joy", "anger"], classify) == pytest.approx(3 / 4)
    assert consistency([], [], classify) == 0.0
    with pytest.raises(ValueError):
        consistency(["a"], ["joy"], lambda texts: [])


def test_inserted_words_are_the_output_words_the_original_lacks():
    from training.bench.diversity import inserted_words

    got = inserted_words(
        "The storm hit the roof.", "The wind hit our roof, again!", ignore=frozenset({"our"})
    )
    assert got == {"wind", "again"}  # "the", "hit", "roof" were there; "our" ignored; marks are no words


def test_stock_word_share_counts_outputs_holding_a_top_word():
    from training.bench.diversity import stock_word_share

    # "rain" is inserted by 3 outputs, "roof" by 2, the rest once: with k = 1 the outputs holding
    # "rain" (3 of 5) count; with k = 2 also the one with "roof" alone (4 of 5)
    inserted = [{"rain", "roof"}, {"rain"}, {"roof", "cat"}, {"rain", "dog"}, {"sun"}]
    assert stock_word_share(inserted, 1) == (0.6, [("rain", 3)])
    share, top = stock_word_share(inserted, 2)
    assert share == 0.8 and top == [("rain", 3), ("roof", 2)]
    assert stock_word_share([], 3) == (0.0, [])
