"""The three answers of a quality run, on hand-made predictions."""

import pytest

from training.bench.verdict import VERDICT_HEADER, format_interval, verdict_row, verdicts

GOLD = [0, 1, 0, 1]


def run(method: str, seed: int, predictions: list[int]) -> dict:
    from training.metrics import macro_f1

    return {
        "method": method,
        "seed": seed,
        "gold": GOLD,
        "predictions": predictions,
        "n_classes": 2,
        "macro_f1": macro_f1(GOLD, predictions, 2),
    }


def test_each_answer_pairs_diffusioncls_with_the_right_method_by_hand():
    runs = []
    for seed in (0, 1):
        runs += [
            run("none", seed, [0, 0, 0, 0]),  # macro-F1 (2/3 + 0) / 2 = 1/3
            run("diffusioncls", seed, [0, 1, 0, 1]),  # 1
            run("eda", seed, [0, 1, 0, 0]),  # class 0: P 2/3 R 1 F 0.8; class 1: P 1 R 1/2 F 2/3 -> 11/15
            run("aeda", seed, [0, 0, 0, 0]),  # 1/3: eda is the best classic
            run("diffusioncls-no-nrt", seed, [0, 1, 0, 1]),  # as good as the full method
        ]
    v = verdicts(runs)
    assert v["vs_none"]["delta"] == pytest.approx(1 - 1 / 3) and v["vs_none"]["seeds_won"] == 2
    assert v["vs_best_classic"]["baseline"] == "eda"
    assert v["vs_best_classic"]["delta"] == pytest.approx(1 - 11 / 15)
    ablation = v["ablations"]["diffusioncls-no-nrt"]
    assert ablation["delta"] == 0 and ablation["seeds_won"] == 0 and not ablation["significant"]
    row = verdict_row("toy", runs)
    assert (
        row.startswith("| toy | 2 | +66.67 [") and "(vs eda)" in row and "no-nrt: +0.00 [+0.00, +0.00]" in row
    )
    assert VERDICT_HEADER.count("|") == 12  # header and separator rows of 5 columns


def test_missing_methods_give_dashes():
    runs = [run("none", 0, [0, 0, 0, 0]), run("eda", 0, [0, 1, 0, 0])]
    assert verdicts(runs) == {"vs_none": None, "vs_best_classic": None, "ablations": {}}
    assert format_interval(None) == "–"
    assert verdict_row("x", runs) == "| x | 1 | – | – | – |"
    old = [{k: v for k, v in r.items() if k != "predictions"} for r in [*runs, run("diffusioncls", 0, GOLD)]]
    assert verdicts(old)["vs_none"] is None  # results written before predictions were kept


def test_the_chosen_loss_row_answers_when_the_papers_row_is_absent_and_never_over_it():
    runs = [run("none", 0, [0, 0, 0, 0]), run("diffusioncls-chosen", 0, [0, 1, 0, 0])]
    assert verdicts(runs)["vs_none"]["method"] == "diffusioncls-chosen"
    assert verdicts(runs)["vs_none"]["delta"] == pytest.approx(11 / 15 - 1 / 3)
    both = [*runs, run("diffusioncls", 0, GOLD)]
    assert verdicts(both)["vs_none"]["method"] == "diffusioncls"
