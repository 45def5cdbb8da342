"""The decoding study's measures and its grammar; the held-out judge never sees what it judges."""

from __future__ import annotations

import pytest

from tests.conftest import english_corpus, write_csv
from training.bench.decoding import (
    added_repeats,
    format_decoding_table,
    parse_setting,
    run_decoding_study,
    word_change_ratio,
)
from training.fluency import NgramLM
from training.sampler import DecodeConfig


def test_word_change_ratio_by_hand():
    assert word_change_ratio("the movie was great", "the movie was great") == 0.0
    assert word_change_ratio("the film was great", "the movie was great") == pytest.approx(0.25)
    assert word_change_ratio("a b", "the movie was great") == 1.0
    # An insertion changes no original word; a deletion changes one.
    assert word_change_ratio("the movie really was great", "the movie was great") == 0.0
    assert word_change_ratio("the movie great", "the movie was great") == pytest.approx(0.25)


def test_added_repeats_by_hand():
    original = "The rain came through the roof."
    assert added_repeats("The rain in the roof kept up on the roof.", original) == 1  # roof twice
    assert added_repeats("The rain, the rain, the rain and the roof.", original) == 2  # rain three times
    assert added_repeats("It is the the end of it all.", original) == 0  # function words are English
    # a repeat the original already has is not added by the rewrite
    assert added_repeats("Home, sweet home, my house.", "Home sweet home, they say.") == 0
    assert added_repeats("Home, home, home, my house.", "Home sweet home, they say.") == 1


def test_parse_setting():
    s = parse_setting("k8:steps=10-12,rounds=8,temperature=0.7,top_p=0.9,guidance=2,min_label_prob=0.5")
    assert (s.name, s.steps, s.rounds, s.temperature, s.top_p, s.guidance_scale, s.min_label_prob) == (
        "k8",
        (10, 12),
        8,
        0.7,
        0.9,
        2.0,
        0.5,
    )
    assert parse_setting("default").rounds == DecodeConfig.rounds and parse_setting("one:steps=14").steps == (
        14,
        14,
    )
    with pytest.raises(ValueError):
        parse_setting("x:colour=red")
    assert parse_setting("default").ban_content_repeats is True
    assert parse_setting("old:ban_content_repeats=0").ban_content_repeats is False
    with pytest.raises(ValueError, match="1 or 0"):
        parse_setting("x:ban_content_repeats=yes")
    first2 = parse_setting("g5f2:guidance=5,guided_rounds=2")
    assert (first2.guidance_scale, first2.guided_rounds, parse_setting("default").guided_rounds) == (
        5.0,
        2,
        0,
    )


def test_study_runs_and_reports_every_measure(tiny_augmenter):
    rows = english_corpus(per_label=6)
    texts, labels = [t for t, _ in rows], [y for _, y in rows]
    lm = NgramLM.train([t for t, _ in english_corpus(per_label=40, seed=5)], min_count=1)
    result = run_decoding_study(
        tiny_augmenter,
        texts,
        labels,
        settings=[parse_setting("a:rounds=2"), parse_setting("b:rounds=8,temperature=0.5")],
        lm=lm,
        judge=tiny_augmenter.scorer,
        log=lambda *_: None,
    )
    assert [r["setting"] for r in result["rows"]] == ["a", "b"]
    for row in result["rows"]:
        assert row["outputs"] == len(texts)
        assert 0 <= row["fluent_share"] <= 1 and 0 <= row["label_kept"] <= 1 and 0 < row["word_change"] <= 1
        assert 0 <= row["added_repeat_share"] <= 1
    assert 0 <= result["judge_ceiling"] <= 1
    assert "| a |" in format_decoding_table(result)


def test_judge_is_fitted_on_its_own_data_only(tmp_path, tiny_mlm):
    from training.bench.judge import load_or_fit_judge

    judged = english_corpus(per_label=8, seed=0)
    judged_texts = {t for t, _ in judged}
    held_out = [(t, y) for t, y in english_corpus(per_label=30, seed=9) if t not in judged_texts]
    csv = write_csv(tmp_path / "judge.csv", held_out)
    model, tokenizer = load_or_fit_judge(csv, base=str(tiny_mlm), out=tmp_path / "judge", device="cpu")
    assert (tmp_path / "judge" / "judge.json").exists()
    assert set(model.config.label2id) == {"joy", "anger", "sad"}
    # Reloaded, not refitted, the second time.
    again, _ = load_or_fit_judge(csv, base=str(tiny_mlm), out=tmp_path / "judge", device="cpu")
    assert again.config.label2id == model.config.label2id
    assert not judged_texts & {t for t, _ in held_out}


def test_the_table_names_the_guided_rounds_only_where_there_is_guidance():
    def row(name, scale, rounds):
        return {
            "setting": name,
            "steps": (13, 16),
            "rounds": 8,
            "temperature": 0.7,
            "top_p": 0.9,
            "guidance_scale": scale,
            "guided_rounds": rounds,
            "min_label_prob": 0.0,
            "whole_words": True,
            "fluent_share": 0.1,
            "word_change": 0.5,
            "distinct_2": 0.6,
            "samples_per_s": 5.0,
        }

    table = format_decoding_table({"rows": [row("a", 5.0, 2), row("b", 1.0, 2), row("c", 3.0, 0)]})
    assert "| a | 13-16 | 8 | 0.7 | 0.9 | 5 (rounds 1-2) |" in table
    assert "| b | 13-16 | 8 | 0.7 | 0.9 | 1 |" in table  # scale 1: no guidance, whatever the rounds
    assert "| c | 13-16 | 8 | 0.7 | 0.9 | 3 |" in table  # every round
