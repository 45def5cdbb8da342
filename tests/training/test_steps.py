"""The one step-range grammar (training/steps.py), read by the CLI, the registry, the API and the bench."""

import pytest

from training.steps import parse_steps, step_group


def test_step_groups_of_the_paper():
    assert step_group(4) == (13, 16)
    assert step_group(1) == (1, 4)
    assert step_group(8) == (29, 32)
    with pytest.raises(ValueError):
        step_group(9)
    with pytest.raises(ValueError):
        step_group(1, total_steps=30, n_groups=8)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("13-16", (13, 16)),
        ("14", (14, 14)),
        ("group:4", (13, 16)),
        ("group:1", (1, 4)),
        (" 2:5 ", (2, 5)),
        (" 3 - 5 ", (3, 5)),
        ("1-32", (1, 32)),
        ("16-13", (13, 16)),  # either order names the same steps
        ([16, 13], (13, 16)),
        ([9], (9, 9)),
    ],
)
def test_the_forms_of_a_step_range(spec, expected):
    assert parse_steps(spec, 32) == expected


@pytest.mark.parametrize(
    "spec", ["0-3", "33", "40", "abc", "soon", "group:0", "group:9", "1-2-3", "16-33", [1, 2, 3], [True, 3]]
)
def test_bad_step_ranges_are_refused(spec):
    with pytest.raises(ValueError):
        parse_steps(spec, 32)


def test_a_refusal_names_the_forms_and_the_bounds():
    with pytest.raises(ValueError, match="13-16"):
        parse_steps([1, 2, 3], 32)
    with pytest.raises(ValueError, match=r"1 <= low <= high <= 32"):
        parse_steps("16-33", 32)
