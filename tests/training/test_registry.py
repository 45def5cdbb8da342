"""The method registry: names, parameter checking with clear errors, building every method."""

import pytest

from training.augmenters.aeda import AEDAAugmenter
from training.augmenters.eda import EDAAugmenter
from training.augmenters.mlm_substitution import MLMSubstitutionAugmenter
from training.augmenters.registry import METHODS, PARAMS, Resources, build_augmenter, describe_params
from training.augmenters.resample import ResampleAugmenter


def test_every_method_is_described_and_has_a_parameter_table():
    assert set(METHODS) == {"diffusioncls", "eda", "aeda", "resample", "mlm_substitution"} == set(PARAMS)
    assert all(METHODS[m] and describe_params(m) for m in METHODS)


def test_unknown_method_lists_the_known_ones():
    with pytest.raises(
        ValueError, match=r"unknown augmentation method 'gpt2'; choose one of: diffusioncls, eda"
    ):
        build_augmenter("gpt2", {})


def test_unknown_parameter_lists_the_accepted_ones():
    with pytest.raises(
        ValueError, match=r"unknown parameter\(s\) \['alpah'\] for method 'eda'; accepted: alpha,"
    ):
        build_augmenter("eda", {"alpah": 0.2})
    with pytest.raises(ValueError, match=r"\['ratio'\] for method 'resample'; accepted: none"):
        build_augmenter("resample", {"ratio": 0.2})


@pytest.mark.parametrize(
    "name, params, message",
    [
        (
            "eda",
            {"alpha": "lots"},
            r"bad parameter alpha='lots' for method 'eda': not a number; expected float in \[0, 1\]",
        ),
        ("eda", {"alpha": 1.5}, r"alpha=1.5 .*out of range \(<= 1.0 required\)"),
        ("eda", {"operations": "sr,flip"}, r"operations='sr,flip' .*non-empty list of sr, ri, rs, rd"),
        ("eda", {"wordnet": "/nowhere"}, r"/nowhere is not a WordNet database folder"),
        ("eda", {"tries_per_output": True}, r"a boolean is not a number"),
        ("aeda", {"ratio": 0}, r"ratio=0 .*\(> 0.0 required\)"),
        ("aeda", {"ratio": "nan"}, r"not a finite number"),
        ("mlm_substitution", {"top_k": 2.5}, r"top_k=2.5 .*not an integer"),
        ("mlm_substitution", {"temperature": 0}, r"temperature=0 .*\(> 0.0 required\)"),
        ("diffusioncls", {"score": "maybe"}, r"score='maybe' .*not a boolean"),
        ("diffusioncls", {"top_p": 1.2}, r"top_p=1.2 .*<= 1.0 required"),
    ],
)
def test_bad_parameters_say_what_is_expected(name, params, message):
    with pytest.raises(ValueError, match=message):
        build_augmenter(name, params)


def test_string_parameters_are_converted_like_typed_ones():
    eda = build_augmenter("eda", {"alpha": "0.2", "p_rd": 0.3, "operations": "rd,rs", "wordnet": "none"})
    assert isinstance(eda, EDAAugmenter)
    assert eda.rates == {"sr": 0.2, "ri": 0.2, "rs": 0.2, "rd": 0.3} and eda.operations == ("rs", "rd")
    assert eda.source is None
    aeda = build_augmenter("aeda", {"ratio": "0.2", "tries_per_output": "3"})
    assert isinstance(aeda, AEDAAugmenter) and (aeda.ratio, aeda.tries_per_output) == (0.2, 3)
    assert isinstance(build_augmenter("resample"), ResampleAugmenter)


def test_model_methods_say_what_resource_they_need():
    with pytest.raises(ValueError, match=r"method 'diffusioncls': needs a loaded checkpoint"):
        build_augmenter("diffusioncls", {})
    with pytest.raises(ValueError, match=r"method 'mlm_substitution': needs a masked LM"):
        build_augmenter("mlm_substitution", {"p": 0.2})
    with pytest.raises(ValueError, match=r"unknown resource\(s\) \['model'\]; accepted: device, diffusion"):
        build_augmenter("mlm_substitution", {}, {"model": object()})


def test_mlm_substitution_loads_its_base_once(tiny_mlm):
    resources = Resources(mlm_base=str(tiny_mlm))
    first = build_augmenter("mlm_substitution", {"p": "0.3", "top_k": "5"}, resources)
    assert isinstance(first, MLMSubstitutionAugmenter) and (first.p, first.top_k) == (0.3, 5)
    second = build_augmenter("mlm_substitution", {}, resources)
    assert isinstance(second, MLMSubstitutionAugmenter) and second.model is first.model
    third = build_augmenter("mlm_substitution", {}, {"mlm_model": first.model, "mlm_codec": first.codec})
    assert third.model is first.model


def test_diffusioncls_parameters_become_options(tiny_augmenter):
    method = build_augmenter(
        "diffusioncls",
        {"steps": "group:4", "rounds": "2", "top_k": 5, "guidance_scale": "1.5", "score": "false"},
        Resources(diffusion=tiny_augmenter),
    )
    options = method.options
    assert options.steps == (13, 16) and options.decode.rounds == 2 and options.decode.top_k == 5
    assert options.decode.guidance_scale == 1.5 and options.score is False
    assert build_augmenter(
        "diffusioncls", {"steps": [3, 5]}, {"diffusion": tiny_augmenter}
    ).options.steps == (3, 5)
    with pytest.raises(ValueError, match=r"method 'diffusioncls': step range 40-50 must satisfy"):
        build_augmenter("diffusioncls", {"steps": "40-50"}, Resources(diffusion=tiny_augmenter))
    result = method.augment(["The movie was great today!"], ["joy"], [2], seed=0)
    assert len(result.augmentations) == 2


def test_effort_parameters_are_bounded():
    import pytest

    from training.augmenters.registry import parse_params

    for method, key in (
        ("eda", "tries_per_output"),
        ("aeda", "tries_per_output"),
        ("mlm_substitution", "max_attempts"),
    ):
        with pytest.raises(ValueError, match="out of range"):
            parse_params(method, {key: 10_000})
    assert parse_params("eda", {"tries_per_output": 100}) == {"tries_per_output": 100}


def test_the_json_schema_of_eda_operations_names_edas_operations():
    from training.augmenters.eda import OPERATIONS
    from training.augmenters.registry import params_json_schema

    assert params_json_schema("eda")["properties"]["operations"]["items"]["enum"] == list(OPERATIONS)
