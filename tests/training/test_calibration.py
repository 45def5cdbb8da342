"""Temperature scaling and the calibration error, on hand-computed cases."""

import math

import pytest
import torch

from training.classifier.calibration import (
    TEMPERATURES,
    calibrate,
    calibration_summary,
    expected_calibration_error,
    fit_temperature,
    mean_nll,
)


def test_mean_nll_by_hand_and_a_temperature_of_two_takes_square_roots():
    log_probs = torch.tensor([[0.5, 0.5], [0.9, 0.1]]).log()
    assert mean_nll(log_probs, [0, 1]) == pytest.approx((math.log(2) + math.log(10)) / 2)
    # at T = 2 each probability goes to its square root, renormalised: 0.9, 0.1 -> 3/4, 1/4
    assert mean_nll(log_probs, [0, 1], 2.0) == pytest.approx((math.log(2) + math.log(4)) / 2)


def test_the_fitted_temperature_makes_confidence_match_accuracy():
    # four predictions of 0.9 for label 0, one of them wrong: right 3/4 of the time. 1 / (1 + 9^(-1/T))
    # = 3/4 at T = 2, whose nearest grid point is 10^(6/20) = 1.995
    log_probs = torch.tensor([[0.9, 0.1]] * 4).log()
    assert fit_temperature(log_probs, [0, 0, 0, 1]) == pytest.approx(10**0.3)
    # all right: the NLL would fall further below T = 1, which the grid does not go
    assert fit_temperature(log_probs, [0, 0, 0, 0]) == 1.0
    # half wrong at 0.99: the best is 1/2 each, as flat as the grid allows
    assert fit_temperature(torch.tensor([[0.99, 0.01]] * 2).log(), [0, 1]) == TEMPERATURES[-1]
    assert fit_temperature(torch.empty(0, 2), []) == 1.0


def test_expected_calibration_error_by_hand():
    probs = torch.tensor([[0.95, 0.05], [0.85, 0.15], [0.65, 0.35], [0.25, 0.75]])
    labels = [0, 1, 0, 1]  # confidences 0.95 right, 0.85 wrong, 0.65 right, 0.75 right
    # ten bins, one prediction in each of four: (0.05 + 0.85 + 0.35 + 0.25) / 4
    assert expected_calibration_error(probs, labels) == pytest.approx(0.375)
    # two bins: all four in the upper one, accuracy 3/4 and mean confidence 0.8
    assert expected_calibration_error(probs, labels, bins=2) == pytest.approx(0.05)
    # a confidence of exactly 1 counts in the last bin
    assert expected_calibration_error(torch.tensor([[1.0, 0.0]]), [1]) == pytest.approx(1.0)


def test_calibrate_reports_the_fitted_temperature_and_what_it_did_on_validation():
    probs = torch.tensor([[0.9, 0.1]] * 4)
    report = calibrate(probs, [0, 0, 0, 1])
    assert report["temperature"] == pytest.approx(10**0.3)
    before, after = report["nll"]
    assert before == pytest.approx((3 * math.log(1 / 0.9) + math.log(10)) / 4) and after < before
    # every prediction at 0.9 and 3/4 right: ECE 0.15 before, about 0 after (3/4 at T = 2)
    assert report["ece"][0] == pytest.approx(0.15) and report["ece"][1] == pytest.approx(0.0, abs=0.002)
    # the same temperature on other data: scored, not refitted
    other = calibration_summary(torch.tensor([[0.6, 0.4]]), [0], report["temperature"])
    assert other["temperature"] == report["temperature"] and other["nll"][1] > other["nll"][0]
