"""Every door a decoding setting comes through accepts and refuses the same values.

The doors: the CLI flags of `fit` and `bench quality`, the API's request body (`decoding`), the
worker's job contract, the registry's diffusioncls parameters (`augment --param`, the Python API) and
training.sampler.DecodeConfig. Their limits are defined once (training/defaults.py DECODING_KNOBS);
the cases below are written out by hand, so a door that drifts from them, or a limit that changes
unnoticed, fails here.
"""

from __future__ import annotations

import dataclasses
import inspect
import math

import pytest
from pydantic import ValidationError

from service.schemas import DecodingRequest
from training.api import Augmenter
from training.augmenters.registry import PARAMS, parse_params
from training.cli import build_parser
from training.defaults import DECODING_KNOBS
from training.sampler import DecodeConfig
from worker.contracts import AugmentPayload, Decoding

CASES = [  # knob, value, accepted
    ("rounds", 1, True),
    ("rounds", 64, True),
    ("rounds", 0, False),
    ("rounds", 65, False),
    ("temperature", 0.0, True),
    ("temperature", 100.0, True),
    ("temperature", -0.01, False),
    ("temperature", 100.5, False),
    ("temperature", math.nan, False),
    ("temperature", math.inf, False),
    ("top_k", 0, True),
    ("top_k", 100_000, True),
    ("top_k", -1, False),
    ("top_k", 100_001, False),
    ("top_p", 1e-6, True),
    ("top_p", 1.0, True),
    ("top_p", 0.0, False),
    ("top_p", 1.0001, False),
    ("guidance_scale", -100.0, True),
    ("guidance_scale", 100.0, True),
    ("guidance_scale", 100.5, False),
    ("guidance_scale", -math.inf, False),
    ("guided_rounds", 0, True),
    ("guided_rounds", 64, True),
    ("guided_rounds", -1, False),
    ("guided_rounds", 65, False),
    ("repetition_penalty", 1.0, True),
    ("repetition_penalty", 100.0, True),
    ("repetition_penalty", 0.99, False),
    ("repetition_penalty", 100.5, False),
    ("repetition_penalty", math.nan, False),
    ("prior_correction", 0.0, True),
    ("prior_correction", 10.0, True),
    ("prior_correction", -0.01, False),
    ("prior_correction", 10.5, False),
    ("prior_correction", math.nan, False),
]


def _cli(command: list[str], name: str, value) -> bool:
    flag = "--" + name.replace("_", "-")
    try:
        build_parser().parse_args([*command, flag, str(value)])
    except SystemExit:
        return False
    return True


def _refused_by(check, *args) -> bool:
    try:
        check(*args)
    except (ValueError, ValidationError):  # pydantic's ValidationError is a ValueError too
        return False
    return True


DOORS = {
    "fit flags": lambda n, v: _cli(["fit", "--train", "t.csv", "--base", "b", "--out", "o"], n, v),
    "bench quality flags": lambda n, v: _cli(
        ["bench", "quality", "--data", "d", "--base", "b", "--out", "o"], n, v
    ),
    "API request": lambda n, v: _refused_by(DecodingRequest.model_validate, {n: v}),
    "worker contract": lambda n, v: _refused_by(
        AugmentPayload.model_validate,
        {"method": "diffusioncls", "texts": ["a"], "labels": ["x"], "decoding": {n: v}},
    ),
    "registry": lambda n, v: _refused_by(parse_params, "diffusioncls", {n: v}),
    "DecodeConfig": lambda n, v: _refused_by(lambda: DecodeConfig(**{n: v})),
}


@pytest.mark.parametrize(("name", "value", "accepted"), CASES, ids=[f"{n}={v}" for n, v, _ in CASES])
def test_every_door_accepts_and_refuses_the_same_values(name, value, accepted):
    verdicts = {door: check(name, value) for door, check in DOORS.items()}
    assert verdicts == dict.fromkeys(DOORS, accepted)


def test_every_knob_has_one_name_everywhere():
    names = set(DECODING_KNOBS)
    assert names == set(Decoding.model_fields) == set(DecodingRequest.model_fields)
    assert names <= set(PARAMS["diffusioncls"])
    assert names <= {f.name for f in dataclasses.fields(DecodeConfig)}
    fit = build_parser().parse_args(["fit", "--train", "t", "--base", "b", "--out", "o"])
    assert names <= set(vars(fit))
    assert names <= set(inspect.signature(Augmenter.augment).parameters)  # the Python API


@pytest.mark.parametrize("name", [n for n, knob in DECODING_KNOBS.items() if knob.kind is int])
def test_the_api_reads_a_whole_number_with_a_point_as_an_integer_knob(name):
    # JSON Schema's `integer` admits 2.0 (a schema-driven client may send it); 2.5 stays refused
    assert getattr(DecodingRequest.model_validate({name: 2.0}), name) == 2
    with pytest.raises(ValidationError):
        DecodingRequest.model_validate({name: 2.5})
