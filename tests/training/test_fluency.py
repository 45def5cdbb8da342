"""The n-gram fluency measure: normalised Kneser-Ney probabilities, hand-computed on a toy corpus."""

from __future__ import annotations

import json
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


def test_sign_test_by_hand():
    from training.bench.rating import sign_test_p

    # 5 wins, 1 loss: P(<= 1 of 6) = (1 + 6) / 64 = 7/64, two-sided 14/64
    assert sign_test_p(5, 1) == pytest.approx(14 / 64)
    assert sign_test_p(1, 5) == pytest.approx(14 / 64)
    assert sign_test_p(3, 3) == 1.0  # capped at 1
    assert sign_test_p(0, 0) == 1.0
    assert sign_test_p(6, 0) == pytest.approx(2 / 64)


def test_pair_sheet_is_blind_and_scores_back_through_its_key(tmp_path):
    from training.bench.rating import make_pair_sheet, score_pairs

    def rows(outputs):
        return [{"original": f"o{i}", "label": "x", "output": o} for i, o in enumerate(outputs)]

    result = {"examples": {"d": rows(["s0", "d1", "d2", "d3"]), "r": rows(["s0", "r1", "r2", "r3"])}}
    sheet, key = tmp_path / "sheet.csv", tmp_path / "key.json"
    assert make_pair_sheet(result, "d", "r", seed=3, sheet=sheet, key=key) == 3  # the equal pair is left out
    lines = sheet.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "id,a,b"  # nothing says which setting wrote which text
    for line in lines[1:]:  # each row: the two rewrites of one original
        _, a, b = line.split(",")
        assert {a[1:], b[1:]} == {a[1:]} and {a[0], b[0]} == {"d", "r"}
    pairs = json.loads(key.read_text(encoding="utf-8"))["pairs"]
    # the reader prefers whichever text came from r in the first two pairs, calls the third the same
    answers = (
        ["id,choice"]
        + [f"{p['id']},{'a' if p['a'] == 'r' else 'b'}" for p in pairs[:2]]
        + [f"{pairs[2]['id']},same"]
    )
    (tmp_path / "answers.csv").write_text("\n".join(answers) + "\n", encoding="utf-8")
    scored = score_pairs(key, tmp_path / "answers.csv")
    assert scored["wins"] == {"d": 0, "r": 2} and scored["ties"] == 1
    assert scored["sign_test_p"] == pytest.approx(0.5)  # 2 of 2: 2 * 1/4


def test_wilson_interval_by_hand():
    from training.bench.rating import wilson_interval

    # 8 of 10, z = 1.96: z^2 = 3.8416, d = 1.38416, centre = (0.8 + 0.19208) / d = 0.716738,
    # half = 1.96 * sqrt(0.016 + 0.009604) / d = 0.226581 -> [0.490157, 0.943319]
    low, high = wilson_interval(8, 10)
    assert low == pytest.approx(0.490157, abs=1e-6) and high == pytest.approx(0.943319, abs=1e-6)
    assert wilson_interval(0, 10)[0] == 0.0 and wilson_interval(10, 10)[1] == pytest.approx(1.0)
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_label_sheet_is_blind_and_scores_each_source_back_through_its_key(tmp_path):
    from training.bench.rating import make_label_sheet, score_label_sheet

    def record(method, seed, texts):
        examples = [{"label": "pos", "original": f"orig {i}", "text": t} for i, t in enumerate(texts)]
        return {"method": method, "seed": seed, "samples": {"examples": examples}}

    result = {"runs": [record("none", 0, []), record("gen", 0, ["g0", "g1"]), record("eda", 0, ["e0", "e1"])]}
    sheet, key = tmp_path / "sheet.csv", tmp_path / "key.json"
    assert make_label_sheet(result, ["gen", "eda"], seed=1, sheet=sheet, key=key) == 6  # 2 + 2 + 2 originals
    lines = sheet.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "id,text" and sorted(line.split(",")[1] for line in lines[1:]) == [
        "e0", "e1", "g0", "g1", "orig 0", "orig 1"
    ]  # fmt: skip
    items = json.loads(key.read_text(encoding="utf-8"))
    # the reader gives every original and g0 the label, calls only the originals fluent
    answers = ["id,label,fluent"] + [
        f"{it['id']},{'pos' if it['text'] in ('orig 0', 'orig 1', 'g0') else 'neg'},"
        f"{'yes' if it['source'] == 'original' else 'no'}"
        for it in items
    ]
    (tmp_path / "answers.csv").write_text("\n".join(answers) + "\n", encoding="utf-8")
    scored = score_label_sheet(key, tmp_path / "answers.csv")
    assert {s: (row["rated"], row["label_kept"], row["fluent"]) for s, row in scored.items()} == {
        "original": (2, 2, 2), "gen": (2, 1, 0), "eda": (2, 0, 0)
    }  # fmt: skip
    (tmp_path / "short.csv").write_text("\n".join(answers[:3]) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match="every text needs an answer"):
        score_label_sheet(key, tmp_path / "short.csv")
