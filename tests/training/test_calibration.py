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
    pick_temperature,
    prior_penalty,
)


def test_mean_nll_by_hand_and_a_temperature_of_two_takes_square_roots():
    log_probs = torch.tensor([[0.5, 0.5], [0.9, 0.1]]).log()
    assert mean_nll(log_probs, [0, 1]) == pytest.approx((math.log(2) + math.log(10)) / 2)
    # at T = 2 each probability goes to its square root, renormalised: 0.9, 0.1 -> 3/4, 1/4
    assert mean_nll(log_probs, [0, 1], 2.0) == pytest.approx((math.log(2) + math.log(4)) / 2)


def test_the_fitted_temperature_makes_confidence_match_accuracy():
    # without a prior, the lowest validation NLL. Four predictions of 0.9 for label 0, one of them
    # wrong: right 3/4 of the time. 1 / (1 + 9^(-1/T)) = 3/4 at T = 2, whose nearest grid point is
    # 10^(6/20) = 1.995
    log_probs = torch.tensor([[0.9, 0.1]] * 4).log()
    assert fit_temperature(log_probs, [0, 0, 0, 1], prior=None) == pytest.approx(10**0.3)
    # all right: the NLL would fall further below T = 1, which the grid does not go
    assert fit_temperature(log_probs, [0, 0, 0, 0], prior=None) == 1.0
    # half wrong at 0.99: the best is 1/2 each, as flat as the grid allows
    assert fit_temperature(torch.tensor([[0.99, 0.01]] * 2).log(), [0, 1], prior=None) == TEMPERATURES[-1]
    assert fit_temperature(torch.empty(0, 2), [], prior=None) == 1.0


def test_the_prior_penalty_by_hand():
    prior = (math.log(4), 0.5)
    assert prior_penalty(4.0, prior) == pytest.approx(0.0)
    # (ln 1 - ln 4)^2 / (2 * 0.25) = 2 (ln 4)^2; ln 16 is as far above as ln 1 is below
    assert prior_penalty(1.0, prior) == pytest.approx(2 * math.log(4) ** 2)
    assert prior_penalty(16.0, prior) == pytest.approx(prior_penalty(1.0, prior))
    assert prior_penalty(50.0, None) == 0.0


def test_the_picked_temperature_is_the_posterior_mode_on_the_grid():
    prior = (math.log(4), 0.5)
    # validation says nothing (a flat NLL): the grid point nearest 4 in ln T, 10^(12/20) = 3.98
    assert pick_temperature([1.0] * len(TEMPERATURES), prior) == 12
    # NLL sums 0.1 k, rising with the index k = 20 log10 T: the posterior adds
    # (k ln10 / 20 - ln 4)^2 / 0.5, whose real minimum, at k = 12.04 - 0.05 * (20 / ln 10)^2 / 2 = 10.16,
    # lies between grid points 10 (score 1.0 + 0.0515) and 11 (1.1 + 0.0124): 10 wins
    assert pick_temperature([0.1 * k for k in range(len(TEMPERATURES))], prior) == 10
    assert pick_temperature([0.1 * k for k in range(len(TEMPERATURES))], None) == 0


def test_the_prior_decides_on_two_texts_and_the_data_on_many():
    # one of two validation texts confidently wrong: alone it asks for T = 50 (probabilities near 1/2)
    prior = (math.log(4), 0.5)
    two = torch.tensor([[0.99, 0.01]] * 2).log()
    assert 4 <= fit_temperature(two, [0, 1], prior=prior) < 10
    # 200 texts saying the same thing pull it far from the prior (the NLL flattens towards T = 50)
    many = torch.tensor([[0.99, 0.01]] * 200).log()
    assert fit_temperature(many, [0, 1] * 100, prior=prior) > 10
    # no validation text: the prior's mode
    assert fit_temperature(torch.empty(0, 2), [], prior=prior) == TEMPERATURES[12]


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
    report = calibrate(probs, [0, 0, 0, 1], prior=None)
    assert report["temperature"] == pytest.approx(10**0.3)
    before, after = report["nll"]
    assert before == pytest.approx((3 * math.log(1 / 0.9) + math.log(10)) / 4) and after < before
    # every prediction at 0.9 and 3/4 right: ECE 0.15 before, about 0 after (3/4 at T = 2)
    assert report["ece"][0] == pytest.approx(0.15) and report["ece"][1] == pytest.approx(0.0, abs=0.002)
    # the same temperature on other data: scored, not refitted
    other = calibration_summary(torch.tensor([[0.6, 0.4]]), [0], report["temperature"])
    assert other["temperature"] == report["temperature"] and other["nll"][1] > other["nll"][0]
