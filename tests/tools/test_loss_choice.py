"""The loss-choice table read off quality runs, on hand-made records."""

import pytest

from tools.loss_choice import chosen_runs, header, table_row

GOLD = [0, 1, 0, 1]


def record(method, seed, predictions, val):
    from training.metrics import macro_f1

    return {
        "method": method,
        "seed": seed,
        "gold": GOLD,
        "predictions": predictions,
        "n_classes": 2,
        "macro_f1": macro_f1(GOLD, predictions, 2),
        "val_macro_f1": val,
    }


def test_each_seed_keeps_the_loss_validation_prefers_and_a_tie_keeps_lc():
    runs = [
        record("none", 0, [0, 0, 0, 0], 0.5),
        record("diffusioncls", 0, [0, 1, 0, 0], 0.6),  # validation prefers Lc on seed 0
        record("diffusioncls-no-nrt", 0, GOLD, 0.4),
        record("none", 1, [0, 0, 0, 0], 0.5),
        record("diffusioncls", 1, [0, 0, 0, 0], 0.7),  # a tie on seed 1: Lc kept
        record("diffusioncls-no-nrt", 1, GOLD, 0.7),
        record("diffusioncls", 2, GOLD, 0.1),  # seed 2 lacks the other loss and none: left out
    ]
    out, kept = chosen_runs(runs)
    assert kept == [0, 0]
    chosen = [r for r in out if r["method"] == "chosen"]
    assert [r["predictions"] for r in chosen] == [[0, 1, 0, 0], [0, 0, 0, 0]]
    assert {r["seed"] for r in out} == {0, 1}
    runs[5]["val_macro_f1"] = 0.8  # now cross-entropy wins seed 1
    assert chosen_runs(runs)[1] == [0, 1]
    row = table_row("toy", runs)
    # none 1/3 on both seeds; chosen: seed 0 11/15, seed 1 1 -> mean 13/15
    assert row.startswith("| toy | 2 | 1 / 1 | 33.33 | ") and "| 86.67 |" in row


def test_with_none_plain_fine_tuning_is_a_third_candidate():
    runs = [
        record("none", 0, GOLD, 0.9),  # validation prefers plain fine-tuning on seed 0
        record("diffusioncls", 0, [0, 0, 0, 0], 0.6),
        record("diffusioncls-no-nrt", 0, [0, 0, 0, 0], 0.4),
        record("none", 1, [0, 0, 0, 0], 0.5),
        record("diffusioncls", 1, GOLD, 0.5),  # a three-way tie on seed 1: Lc kept
        record("diffusioncls-no-nrt", 1, [0, 0, 0, 0], 0.5),
    ]
    candidates = ("diffusioncls", "diffusioncls-no-nrt", "none")
    assert chosen_runs(runs, candidates)[1] == [2, 0]
    row = table_row("toy", runs, candidates)
    # none: 1 and 1/3; Lc: 1/3 and 1; CE: 1/3 twice; chosen 1 on both seeds
    assert row.startswith("| toy | 2 | 1 / 0 / 1 | 66.67 | 66.67 | 33.33 | 100.00 | ")
    assert header(candidates).startswith(
        "| setting | seeds | kept Lc / CE / none | none | with Lc | CE alone |"
    )


def test_records_of_several_files_merge_once_and_must_agree():
    from tools.loss_choice import merged_records

    earlier = [record("none", 0, GOLD, 0.9), record("diffusioncls-filter", 0, [0, 0, 0, 0], 0.6)]
    later = [record("none", 0, GOLD, 0.9), record("diffusioncls-no-nrt-filter", 0, GOLD, 0.7)]
    merged = merged_records([earlier, later])
    assert sorted(r["method"] for r in merged) == [
        "diffusioncls-filter",
        "diffusioncls-no-nrt-filter",
        "none",
    ]
    candidates = ("diffusioncls-filter", "diffusioncls-no-nrt-filter", "none")
    assert chosen_runs(merged, candidates)[1] == [2]  # plain fine-tuning's 0.9 on validation
    later[0] = record("none", 0, [1, 1, 0, 1], 0.9)  # a none that is not the earlier one
    with pytest.raises(ValueError, match="do not pair"):
        merged_records([earlier, later])


def test_against_pairs_the_choice_with_another_method_of_the_same_runs():
    runs = [
        record("none", 0, [0, 0, 0, 0], 0.5),
        record("diffusioncls", 0, GOLD, 0.6),  # kept: macro-F1 1
        record("diffusioncls-no-nrt", 0, [0, 0, 0, 0], 0.4),
        record("eda", 0, [0, 1, 0, 0], 0.9),  # macro-F1 11/15; not a candidate, whatever its validation
    ]
    row = table_row("toy", runs, against=("eda",))
    # chosen − eda on the one seed: 1 − 11/15 = 4/15 = +26.67 points
    assert row.split(" | ")[-1].startswith("+26.67 [")
    assert (
        header(("diffusioncls", "diffusioncls-no-nrt"), ("eda",))
        .split("\n")[0]
        .endswith("| chosen − none | chosen − eda |")
    )
