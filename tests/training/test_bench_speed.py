import pytest

from tests.conftest import english_corpus
from training.bench.speed import SpeedConfig, format_speed_table, run_speed_bench


def test_speed_bench_measures_limit_sampler_and_naive_decoder(tiny_augmenter):
    config = SpeedConfig(seq_len=16, batch_sizes=(1, 4), rounds=(1, 2), min_seconds=0.0, naive_samples=1)
    texts = [t for t, _ in english_corpus(per_label=4)]
    result = run_speed_bench(tiny_augmenter, texts, config, log=lambda _: None)
    assert [row["batch"] for row in result["limit"]] == [1, 4]
    assert [(r["batch"], r["rounds"]) for r in result["sampler"]] == [(1, 1), (1, 2), (4, 1), (4, 2)]
    for row in result["sampler"]:
        assert row["samples_per_s"] > 0 and row["ratio_to_limit"] > 0
        assert row["ratio_to_encoder"] == pytest.approx(
            row["ratio_to_limit"]
            * (
                result["limit"][[1, 4].index(row["batch"])]["sequences_per_s"]
                / result["limit"][[1, 4].index(row["batch"])]["encoder_sequences_per_s"]
            )
        )
        assert row["passes_per_sample"] == row["rounds"]  # 12 content tokens, about half masked: >= K
        assert abs(sum(row["share"].values()) - 1) < 0.2
    assert result["naive"]["passes_per_sample"] >= 1
    assert result["nlpaug"] == {
        "available": False,
        "reason": "no model folder for nlpaug (give --nlpaug-model)",
    }
    table = format_speed_table(result)
    assert "| 4 | 2 |" in table and "ratio to encoder alone" in table and "nlpaug: not measured" in table
    assert tiny_augmenter.max_content != 12  # the bench worked on a copy


def test_naive_decoder_handles_words_of_several_pieces(tiny_augmenter):
    from training.bench.speed import naive_decode

    words = english_corpus(per_label=1)[0][0].rstrip("!.").split()
    text = " ".join(w + "s" for w in words)  # word + "##s": two pieces, one mask unit
    encoded = tiny_augmenter.codec.encode([text], tiny_augmenter.max_content)[0]
    assert encoded.n_units < len(encoded)  # some word is split into pieces: units != tokens
    passes = naive_decode(tiny_augmenter, text, tiny_augmenter.labels[0], seed=0, steps=(13, 16))
    assert 1 <= passes <= len(encoded)
