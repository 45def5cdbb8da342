"""One method paired across result files, on hand-made records."""

import json

import pytest

from tools.compare_runs import paired_across, table

GOLD = [0, 1, 0, 1]


def record(method, seed, predictions, gold=GOLD, val=0.5):
    from training.metrics import macro_f1

    return {
        "method": method,
        "seed": seed,
        "gold": gold,
        "predictions": predictions,
        "n_classes": 2,
        "macro_f1": macro_f1(gold, predictions, 2),
        "val_macro_f1": val,
    }


def test_a_method_pairs_across_files_by_seed_and_other_test_rows_are_refused(tmp_path):
    base = [record("none", 0, [0, 0, 0, 0]), record("none", 1, [0, 0, 0, 0])]
    longer = [record("none", 0, GOLD), record("none", 1, [0, 1, 0, 0])]
    paired = paired_across(base, longer)
    # macro-F1: base 1/3 on both seeds; longer 1 and 11/15 -> +2/3 and +2/5, mean +8/15
    assert paired["delta"] == pytest.approx(8 / 15) and paired["seeds_won"] == 2
    with pytest.raises(ValueError, match="seed 1: the two runs scored different test rows"):
        paired_across(base, [record("none", 1, GOLD, gold=[1, 1, 0, 0])])
    files = []
    for name, runs in (("old", base), ("new", longer)):
        files.append(tmp_path / f"{name}.json")
        files[-1].write_text(json.dumps({"runs": runs}))
    lines = table([str(f) for f in files], "none").splitlines()
    assert lines[2] == "| old | 2 | 33.33 | – | – |"
    assert lines[3].startswith("| new | 2 | 86.67 | +53.33 [") and lines[3].endswith("| 2 / 2 |")


def test_chosen_is_the_loss_validation_kept_in_each_file(tmp_path):
    runs = [
        record("none", 0, [0, 0, 0, 0]),
        record("diffusioncls", 0, [0, 0, 0, 0], val=0.4),
        record("diffusioncls-no-nrt", 0, GOLD, val=0.9),  # validation keeps cross-entropy
    ]
    path = tmp_path / "run.json"
    path.write_text(json.dumps({"runs": runs}))
    assert table([str(path)], "chosen").splitlines()[2] == "| run | 1 | 100.00 | – | – |"
