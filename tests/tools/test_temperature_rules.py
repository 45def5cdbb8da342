"""tools.temperature_rules: rules for choosing T scored on the test curves of hand-made records."""

import json
import math

import pytest

from tools.temperature_rules import best_test_index, log_prior, main, rule_index
from training.classifier.calibration import TEMPERATURES

GRID = len(TEMPERATURES)


def record(val_texts, val_nll, test_nll):
    """A bench record whose curves are `val_nll` and `test_nll` (mean NLL by temperature index)."""
    curves = {
        "texts": {"val": val_texts, "test": 100},
        "val": {"nll": val_nll, "ece": [0.0] * GRID},
        "test": {"nll": test_nll, "ece": [k / 100 for k in range(GRID)]},
    }
    return {"method": "none", "seed": 0, "calibration": {"curves": curves}}


def valley(at):
    """An NLL curve with its minimum at index `at`."""
    return [abs(k - at) / 10 + 1 for k in range(GRID)]


def test_the_prior_is_the_spread_of_the_test_best_temperatures():
    records = [record(2, valley(0), valley(10)), record(2, valley(0), valley(30))]
    assert [best_test_index(r) for r in records] == [10, 30]
    mu, sigma = log_prior(records)
    # ln T at index k is k ln10 / 20: mean at k = 20, spread 10 indices
    assert mu == pytest.approx(20 * math.log(10) / 20) and sigma == pytest.approx(10 * math.log(10) / 20)
    # records that agree: the spread of one grid step, not 0
    assert log_prior(records[:1])[1] == pytest.approx(math.log(10) / 20)


def test_each_rule_picks_its_index():
    prior = (12 * math.log(10) / 20, 0.01)  # a sharp prior at index 12
    two_texts = record(2, valley(34), valley(8))
    assert rule_index("T = 1", two_texts, prior) == 0
    assert rule_index("fitted", two_texts, prior) == 34
    assert rule_index("prior", two_texts, prior) == 12  # two texts cannot move a sharp prior
    assert rule_index("fixed", two_texts, prior) == 12
    assert rule_index("test-best", two_texts, prior) == 8


def test_main_scores_each_setting_with_a_prior_from_the_others(tmp_path, capsys):
    # setting a: validation says 34 (T = 50), the test best is 10; b's test best are 10 and 12
    a = [record(2, valley(34), valley(10))]
    b = [record(2, valley(10), valley(10)), record(2, valley(12), valley(12))]
    paths = []
    for name, runs in (("a", a), ("b", b)):
        paths.append(tmp_path / f"{name}.json")
        paths[-1].write_text(json.dumps({"runs": runs}))
    assert main([f"a={paths[0]}", f"b={paths[1]}"]) == 0
    out = capsys.readouterr().out
    lines = {
        tuple(c.strip() for c in line.split("|")[1:5]): line
        for line in out.splitlines()
        if line.startswith("| a")
    }
    # a's prior from b: mean at index 11, spread one index (ln 10 / 20), so its penalty is (k - 11)^2 / 2;
    # two texts add 0.2 (34 - k): the posterior's minimum is at k = 11.2, grid point 11, T = 10^(11/20)
    assert "| 3.55-3.55 |" in lines[("a", "1", "2", "prior")]
    assert "| 50.12-50.12 |" in lines[("a", "1", "2", "fitted")]
    assert "| a | -" in out and "(1 / 0 of 1)" in out  # prior − fitted in test NLL: lower
