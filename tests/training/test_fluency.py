"""The n-gram fluency measure: normalised Kneser-Ney probabilities, hand-computed on a toy corpus."""

from __future__ import annotations

import math

import numpy as np
import pytest

from training.fluency import DISCOUNT, EOS, NgramLM, fluency_report, words

CORPUS = ["the cat sat .", "the dog sat .", "a cat ran ."]


def test_words_split_punctuation_and_lower_case():
    assert words("I can't, REALLY!") == ["i", "can't", ",", "really", "!"]


def test_distributions_sum_to_one_for_every_context():
    lm = NgramLM.train(CORPUS, min_count=1)
    every = np.arange(lm.size)
    for u in range(lm.size):
        for v in range(lm.size):
            total = lm.probs(np.full(lm.size, u), np.full(lm.size, v), every).sum()
            assert total == pytest.approx(1.0)


def test_kneser_ney_by_hand():
    lm = NgramLM.train(CORPUS, min_count=1)
    the, cat, sat = lm.vocab["the"], lm.vocab["cat"], lm.vocab["sat"]
    # Continuation unigram: "sat" follows 2 distinct words (cat, dog); 11 distinct bigram types
    # ((B,the) (the,cat) (cat,sat) (sat,.) (.,E) (the,dog) (dog,sat) (B,a) (a,cat) (cat,ran) (ran,.)),
    # add-one over the vocabulary of size 3 + 7 words.
    p1_sat = (2 + 1) / (11 + 10)
    assert lm.size == 10
    # Bigram level for context "cat": continuation counts (cat, sat) = 1 (after "the"), (cat, ran) = 1.
    p2 = (1 - DISCOUNT) / 2 + DISCOUNT * 2 / 2 * p1_sat
    # Trigram level for context (the, cat): seen once, followed by "sat" once.
    p3 = (1 - DISCOUNT) / 1 + DISCOUNT * 1 / 1 * p2
    assert lm.probs(np.array([the]), np.array([cat]), np.array([sat]))[0] == pytest.approx(p3)


def test_scrambled_text_is_less_fluent_and_report(tmp_path):
    lm = NgramLM.train(CORPUS * 3, min_count=1)
    assert lm.log_ppl_ratio("sat cat the .", "the cat sat .") > math.log(2)
    assert lm.log_ppl_ratio("the dog sat .", "the cat sat .") == pytest.approx(0.0, abs=0.5)
    lm.save(tmp_path / "lm.npz")
    again = NgramLM.load(tmp_path / "lm.npz")
    assert again.log_perplexity("a dog ran .") == pytest.approx(lm.log_perplexity("a dog ran ."))
    report = fluency_report(lm, ["the dog sat .", "sat . the the"], ["the cat sat .", "the cat sat ."])
    assert report["fluent_share"] == 0.5
    assert EOS == 2


def test_agreement_statistics_by_hand():
    from training.bench.rating import auc, cohen_kappa

    # 4 items: both say yes on 2, disagree on 1, both no on 1 -> p_o = 3/4;
    # p(a yes) = 3/4, p(b yes) = 2/4 -> p_e = 3/8 + 1/8 = 1/2 -> kappa = (3/4 - 1/2) / (1/2) = 1/2
    assert cohen_kappa([True, True, True, False], [True, True, False, False]) == pytest.approx(0.5)
    assert auc([3.0, 2.0, 1.0], [True, False, False]) == 1.0
    assert auc([1.0, 1.0], [True, False]) == 0.5
