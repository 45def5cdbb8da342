"""Temperature scaling (Guo et al., 2017, "On Calibration of Modern Neural Networks"): one number T
that divides a classifier's logits so that its probabilities say how often it is right.

A classifier fine-tuned to its last epoch on a few hundred texts is near 100% sure of almost every
prediction, right or wrong; the probability it gives a rewrite's intended label (`label_prob`, what
`--min-label-prob` filters on) and /classify's scores then say little. T is fitted on the validation
split, which the classifier never trained on, under a prior (`TEMPERATURE_PRIOR`) that decides when that
split is a handful of texts. Dividing by T > 0 keeps every prediction's argmax, so accuracy and macro-F1
do not move.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from training.classifier.model import ClassifierRunner, gold_and_probabilities
from training.data import LabelledData

# The temperatures tried: 1 to 50, log-spaced (20 steps per decade). Never below 1: a validation split
# of 20-30 texts that the classifier gets all right would ask for ever sharper probabilities, which is
# fitting its luck, not calibrating.
TEMPERATURES = tuple(10 ** (k / 20) for k in range(35))

# A log-normal prior on T: (mean, standard deviation) of ln T. A validation split of two or six texts
# (10 texts a label keep one each for validation) cannot fit T alone: one confidently wrong text asks
# for T = 50, which makes every probability near 1 / labels, and all right ask for T = 1. The prior is
# the spread of the test-best ln T of plain fine-tuning over 80 bench runs of 11 settings, 5 to 100
# texts a label (median T 2.58; `python -m tools.temperature_rules`, docs/RESULTS.md "A prior on the
# temperature"). Scored leave-one-setting-out (each setting under the prior of the other ten), it
# lowered the mean test NLL against the validation-only fit on 9 settings (by 0.33 on ten-shot SST-2,
# 0.16 on ten-shot India-COVID-X), left it on one and raised it by 0.007 on one (SST-2 `kshot:100`).
# From a few dozen validation texts on, the data outweigh it.
TEMPERATURE_PRIOR: tuple[float, float] | None = (0.947, 0.638)


def mean_nll(log_probs: torch.Tensor, labels: Sequence[int], temperature: float = 1.0) -> float:
    """Mean negative log-likelihood of `labels` under softmax(log_probs / temperature).

    `log_probs` (N, C) are a classifier's log-probabilities (its logits up to a per-row constant,
    which the softmax ignores, so scaling them is scaling the logits)."""
    scaled = torch.log_softmax(log_probs.double() / temperature, dim=-1)
    gold = torch.as_tensor(list(labels), dtype=torch.long)
    return float(-scaled[torch.arange(len(gold)), gold].mean())


def prior_penalty(temperature: float, prior: tuple[float, float] | None) -> float:
    """-log of a log-normal prior's density at `temperature` up to a constant: (ln T - mu)^2 / (2 sigma^2)
    for `prior` = (mu, sigma) of ln T; 0 without a prior."""
    if prior is None:
        return 0.0
    mu, sigma = prior
    return (math.log(temperature) - mu) ** 2 / (2 * sigma**2)


def pick_temperature(nll_sums: Sequence[float], prior: tuple[float, float] | None = None) -> int:
    """Index into `TEMPERATURES` of the most probable temperature a posteriori: `nll_sums[k]` is the
    validation NLL summed over texts at `TEMPERATURES[k]`, `prior` as in `prior_penalty` (the smallest
    index on a tie). With many texts the sum outweighs the prior; with two or six it cannot."""
    scores = [nll + prior_penalty(t, prior) for nll, t in zip(nll_sums, TEMPERATURES, strict=True)]
    return min(range(len(scores)), key=lambda k: (scores[k], k))


def fit_temperature(
    log_probs: torch.Tensor, labels: Sequence[int], prior: tuple[float, float] | None = TEMPERATURE_PRIOR
) -> float:
    """The temperature of `TEMPERATURES` that `pick_temperature` picks on validation (the prior's
    mode, rounded to the grid, when there is no validation text)."""
    sums = [len(labels) * mean_nll(log_probs, labels, t) if len(labels) else 0.0 for t in TEMPERATURES]
    return TEMPERATURES[pick_temperature(sums, prior)]


def expected_calibration_error(probs: torch.Tensor, labels: Sequence[int], bins: int = 10) -> float:
    """ECE: the predictions grouped by confidence (their top probability) into `bins` equal-width
    bins; the mean over bins of |accuracy - mean confidence|, each weighted by its share of predictions."""
    confidence, predicted = probs.double().max(dim=-1)
    correct = (predicted == torch.as_tensor(list(labels))).double()
    # a confidence of exactly 1 falls in the last bin; 1/C (the lowest possible) in the first
    which = torch.clamp((confidence * bins).long(), max=bins - 1)
    total = 0.0
    for b in range(bins):
        inside = which == b
        if inside.any():
            total += float(
                inside.double().mean() * (correct[inside].mean() - confidence[inside].mean()).abs()
            )
    return total


def log_probabilities(probs: torch.Tensor) -> torch.Tensor:
    """log(probs) in float64, a probability that underflowed to 0 taken as 1e-30 (finite logs)."""
    return probs.double().clamp_min(1e-30).log()


def calibration_summary(probs: torch.Tensor, labels: Sequence[int], temperature: float) -> dict:
    """What scaling by `temperature` does to `probs` (a classifier's, T = 1) on `labels`: mean NLL
    and ECE before and after, each as [before, after]."""
    log_probs = log_probabilities(probs)
    scaled = torch.softmax(log_probs / temperature, dim=-1)
    return {
        "temperature": temperature,
        "nll": [mean_nll(log_probs, labels), mean_nll(log_probs, labels, temperature)],
        "ece": [expected_calibration_error(probs, labels), expected_calibration_error(scaled, labels)],
    }


def temperature_curves(probs: torch.Tensor, labels: Sequence[int]) -> dict:
    """Mean NLL and ECE of `probs` (a classifier's, T = 1) on `labels` after scaling by each of
    `TEMPERATURES`, in that order: lets a study score any rule that picks one of them afterwards."""
    log_probs = log_probabilities(probs)
    return {
        "nll": [round(mean_nll(log_probs, labels, t), 5) for t in TEMPERATURES],
        "ece": [
            round(expected_calibration_error(torch.softmax(log_probs / t, dim=-1), labels), 5)
            for t in TEMPERATURES
        ],
    }


def calibrate(
    probs: torch.Tensor, labels: Sequence[int], prior: tuple[float, float] | None = TEMPERATURE_PRIOR
) -> dict:
    """The temperature fitted on validation `probs` (a classifier's, T = 1) and `labels`
    (`fit_temperature`), with the validation NLL and ECE before and after (`calibration_summary`), the
    number of validation texts and the prior on ln T."""
    temperature = fit_temperature(log_probabilities(probs), labels, prior)
    return {**calibration_summary(probs, labels, temperature), "texts": len(labels), "prior": prior}


def calibrate_on(runner: ClassifierRunner, data: LabelledData) -> dict:
    """`calibrate` on the probabilities `runner` (unscaled: temperature 1) gives the texts of `data`,
    a validation split, against its labels."""
    gold, probs = gold_and_probabilities(runner, data)
    return calibrate(probs, gold)


def calibrated_copy(runner: ClassifierRunner, data: LabelledData) -> ClassifierRunner:
    """A runner of the same model whose probabilities are scaled by the temperature `calibrate_on`
    fits on `data` (a validation split), as a checkpoint's classifier serves them."""
    temperature = calibrate_on(runner, data)["temperature"]
    return ClassifierRunner(
        runner.model,
        runner.codec,
        runner.max_length,
        batch_size=runner.batch_size,
        precision=runner.precision,
        temperature=temperature,
    )
