"""tools.pair: paired differences between any two methods, across result files, on hand-made records."""

import json

import pytest

from tools.pair import main, pair_cell, parse_pairs

GOLD = [0, 1, 0, 1]


def record(method, seed, predictions):
    return {"method": method, "seed": seed, "gold": GOLD, "predictions": predictions, "n_classes": 2}


def test_pairs_are_baseline_colon_method():
    assert parse_pairs("none:a,b:c") == [("none", "a"), ("b", "c")]
    with pytest.raises(ValueError, match="BASELINE:METHOD"):
        parse_pairs("none-a")


def test_a_pair_across_two_files_sharing_none(tmp_path, capsys):
    # file 1: none and method a; file 2: the same none and method b. b is right everywhere, a where
    # none is (half the texts, one class always): b − a is the difference of macro-F1 over both seeds.
    none = [record("none", s, [0, 0, 0, 0]) for s in (0, 1)]
    first = none + [record("a", s, [0, 0, 0, 0]) for s in (0, 1)]
    second = none + [record("b", s, GOLD) for s in (0, 1)]
    paths = []
    for i, runs in enumerate((first, second)):
        paths.append(tmp_path / f"{i}.json")
        paths[-1].write_text(json.dumps({"runs": runs}))
    # macro-F1: [0,0,0,0] against GOLD is (2/3 + 0) / 2 = 33.33, GOLD itself 100: b − a = +66.67 on
    # each seed (the cell starts with the point estimate)
    assert pair_cell(first + second[2:], "a", "b").startswith("+66.67")
    assert pair_cell(first, "a", "b") == "–"  # b is not in the first file
    assert main([f"set={paths[0]},{paths[1]}", "--pairs", "a:b,none:a"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0] == "| setting | b − a | a − none |"
    assert table[2].startswith("| set | +66.67") and "(2 of 2)" in table[2]
    assert "+0.00" in table[2].split("|")[3]  # a predicts as none does


def test_files_whose_none_differ_do_not_pair(tmp_path):
    paths = []
    for i, predictions in enumerate(([0, 0, 0, 0], [1, 1, 1, 1])):
        paths.append(tmp_path / f"{i}.json")
        paths[-1].write_text(json.dumps({"runs": [record("none", 0, predictions)]}))
    with pytest.raises(ValueError, match="do not pair"):
        main([f"set={paths[0]},{paths[1]}", "--pairs", "none:a"])
