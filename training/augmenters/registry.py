"""Every augmentation method by name: what it is, what parameters it takes, how to build it.

`build_augmenter(name, params, resources)` checks the parameters (names, types, ranges) and returns
an object with the `Augmenter` interface. Parameters may come typed (JSON) or as strings (the CLI's
`--param key=value`); either way a bad one is a ValueError that says what is accepted.
`resources` carries what cannot be a parameter: loaded models.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from training.augmenters.base import Augmenter
from training.defaults import DECODING_KNOBS

METHODS: dict[str, str] = {
    "diffusioncls": "label-aware diffusion LM rewrites the label-bearing words, conditioned on the label "
    "(needs a checkpoint)",
    "eda": "EDA: synonym replacement, random insertion, random swap, random deletion "
    "(WordNet synonyms when installed)",
    "aeda": "AEDA: random punctuation marks inserted between words (full-width marks in CJK text)",
    "resample": "random oversampling: copies of the originals, the plain baseline (exempt from the "
    "new-and-distinct rule)",
    "mlm_substitution": "a plain masked LM replaces a fraction of the words, label-agnostic "
    "(needs a base masked LM)",
}


@dataclass
class Resources:
    """Loaded models the methods may need (anything absent is simply not available)."""

    diffusion: Any = None  # a DiffusionAugmenter (a checkpoint's generator and classifier)
    diffusion_options: Any = None  # DiffusionOptions to start from (e.g. the checkpoint's sampler defaults)
    mlm_model: Any = None  # a masked LM for mlm_substitution (a checkpoint's generator works too)
    mlm_codec: Any = None  # the TextCodec of mlm_model's base tokenizer
    mlm_base: str | None = None  # a masked-LM folder or HF id, loaded when mlm_model is not given
    device: str = "cpu"


@dataclass(frozen=True)
class Param:
    parse: Callable[[Any], Any]  # raises ValueError with the reason
    describe: str
    default: Any = None


# -- parsers ------------------------------------------------------------------------------------------
def _number(value: Any, kind: type) -> float | int:
    if isinstance(value, bool):
        raise ValueError("a boolean is not a number")
    if isinstance(value, str):
        value = value.strip()
        try:
            return kind(value)
        except ValueError:
            raise ValueError(f"not {'an integer' if kind is int else 'a number'}") from None
    if kind is int:
        if isinstance(value, float) and not value.is_integer():
            raise ValueError("not an integer")
        if not isinstance(value, int | float):
            raise ValueError("not an integer")
        return int(value)
    if not isinstance(value, int | float):
        raise ValueError("not a number")
    return float(value)


def _real(
    low: float | None = None, high: float | None = None, open_low: bool = False
) -> Callable[[Any], float]:
    def parse(value: Any) -> float:
        x = float(_number(value, float))
        if not math.isfinite(x):
            raise ValueError("not a finite number")
        if low is not None and (x < low or (open_low and x == low)):
            raise ValueError(f"out of range ({'>' if open_low else '>='} {low} required)")
        if high is not None and x > high:
            raise ValueError(f"out of range (<= {high} required)")
        return x

    schema: dict[str, Any] = {"type": "number"}
    if low is not None:
        schema["exclusiveMinimum" if open_low else "minimum"] = low
    if high is not None:
        schema["maximum"] = high
    parse.json_schema = schema  # type: ignore[attr-defined]
    return parse


def _integer(low: int, high: int | None = None) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        x = int(_number(value, int))
        if x < low or (high is not None and x > high):
            bound = f">= {low}" if high is None else f"{low}..{high}"
            raise ValueError(f"out of range ({bound} required)")
        return x

    parse.json_schema = {"type": "integer", "minimum": low, **({} if high is None else {"maximum": high})}  # type: ignore[attr-defined]
    return parse


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError("not a boolean (true/false)")


_boolean.json_schema = {"type": "boolean"}  # type: ignore[attr-defined]


def _operations(value: Any) -> tuple[str, ...]:
    from training.augmenters.eda import OPERATIONS

    items = value.split(",") if isinstance(value, str) else list(value)
    ops = tuple(str(op).strip().lower() for op in items if str(op).strip())
    bad = [op for op in ops if op not in OPERATIONS]
    if bad or not ops:
        raise ValueError(f"must be a non-empty list of {', '.join(OPERATIONS)}")
    return ops


# In JSON a list (the CLI's comma-separated string is for the command line). The names are eda's
# OPERATIONS, written out because eda imports torch and this module must not (a test checks them).
_operations.json_schema = {"type": "array", "items": {"enum": ["sr", "ri", "rs", "rd"]}, "minItems": 1}  # type: ignore[attr-defined]


def _wordnet(value: Any) -> str:
    from training.augmenters.wordnet import is_wordnet_folder

    text = str(value).strip()
    if text in ("auto", "none"):
        return text
    if not is_wordnet_folder(Path(text).expanduser()):
        raise ValueError(f"{text} is not a WordNet database folder (index.* and data.* files)")
    return text


# A folder on the command line; what a request may say is narrowed by the worker (worker/methods.py)
_wordnet.json_schema = {"type": "string"}  # type: ignore[attr-defined]


def _steps(value: Any) -> str | tuple[int, int]:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return (value, value)
    if isinstance(value, Sequence) and len(value) == 2:
        return (int(_number(value[0], int)), int(_number(value[1], int)))
    raise ValueError("must be like 13-16, 14, group:4 or [low, high]")


def _knob(name: str) -> Param:
    """A diffusioncls decoding parameter with the limits every entry point shares (DECODING_KNOBS)."""
    knob = DECODING_KNOBS[name]
    parse: Callable[[Any], int | float]
    if knob.kind is int:
        parse = _integer(int(knob.low), int(knob.high))
    else:
        parse = _real(knob.low, knob.high, open_low=knob.open_low)
    return Param(parse, f"{knob.describe()}: {knob.help}; default: the checkpoint's")


_TRIES = Param(
    _integer(1, 100), "int in 1..100: tries per requested output before a shortfall is reported", 10
)
_RATE = "float in [0, 1]: share of the words changed by this operation (default: alpha)"

PARAMS: dict[str, dict[str, Param]] = {
    "diffusioncls": {
        "steps": Param(_steps, "corruption steps: 13-16, 14, group:4 or [low, high] (default 13-16 of T=32)"),
        # The decoding knobs, their limits shared with the CLI, the API and DecodeConfig; their defaults
        # are the checkpoint's.
        **{name: _knob(name) for name in DECODING_KNOBS},
        "min_label_prob": Param(
            _real(0.0, 1.0),
            "float in [0, 1): keep outputs the classifier gives their label at least this probability, "
            "topping up with fresh rewrites (0 = off)",
            0.0,
        ),
        "max_attempts": Param(_integer(1, 16), "int in 1..16: decoding passes before a shortfall", 4),
        "batch_size": Param(_integer(1, 1024), "int in 1..1024: chains per forward pass", 64),
        "score": Param(_boolean, "bool: add the classifier's probability of the intended label", True),
    },
    "eda": {
        "alpha": Param(_real(0.0, 1.0), "float in [0, 1]: share of the words each operation changes", 0.1),
        "alpha_sr": Param(_real(0.0, 1.0), _RATE),
        "alpha_ri": Param(_real(0.0, 1.0), _RATE),
        "alpha_rs": Param(_real(0.0, 1.0), _RATE),
        "p_rd": Param(_real(0.0, 1.0), "float in [0, 1]: probability of deleting each word (default: alpha)"),
        "operations": Param(_operations, "comma list of sr, ri, rs, rd", "sr,ri,rs,rd"),
        "wordnet": Param(_wordnet, "auto, none, or a WordNet database folder", "auto"),
        "tries_per_output": _TRIES,
    },
    "aeda": {
        "ratio": Param(
            _real(0.0, 1.0, open_low=True), "float in (0, 1]: marks = U{1..int(ratio*words)+1}", 0.3
        ),
        "tries_per_output": _TRIES,
    },
    "resample": {},
    "mlm_substitution": {
        "p": Param(_real(0.0, 1.0, open_low=True), "float in (0, 1]: share of the words masked (>= 1)", 0.15),
        "top_k": Param(_integer(1, 1000), "int in 1..1000: sample each replacement among the k best", 10),
        "temperature": Param(_real(0.0, open_low=True), "float > 0: sampling temperature", 1.0),
        "max_attempts": Param(_integer(1, 16), "int in 1..16: forward passes before a shortfall", 4),
        "batch_size": Param(_integer(1, 1024), "int in 1..1024: texts per forward pass", 64),
        "max_length": Param(_integer(3), "int >= 3: tokens per input, specials included (default: model's)"),
        "whole_words": Param(
            _boolean, "bool: replace whole words by whole words (false: each word piece on its own)", True
        ),
    },
}


def describe_params(name: str) -> str:
    spec = PARAMS[name]
    if not spec:
        return f"{name} takes no parameters"
    return "; ".join(
        f"{key} ({p.describe}{'' if p.default is None else f', default {p.default}'})"
        for key, p in spec.items()
    )


def params_json_schema(name: str) -> dict[str, Any]:
    """The JSON Schema of method `name`'s parameters as JSON values (numbers as numbers, lists as
    lists): what the REST API accepts in `params`."""
    return {
        "type": "object",
        "properties": {
            key: {**p.parse.json_schema, "description": p.describe}  # type: ignore[attr-defined]
            for key, p in PARAMS[name].items()
        },
        "additionalProperties": False,
    }


def json_type_error(schema: Mapping[str, Any], value: Any) -> str | None:
    """Why `value` (decoded JSON) does not have the JSON type `schema` names, or None: the strict half
    of a check whose ranges `parse_params` applies (the CLI's strings pass only through the CLI)."""
    if "enum" in schema:
        return None if value in schema["enum"] else f"must be one of {schema['enum']}"
    kind = schema["type"]
    if kind == "boolean":
        return None if isinstance(value, bool) else "must be true or false"
    if isinstance(value, bool):
        return f"must be {'an' if kind == 'integer' else 'a'} {kind}, not a boolean"
    if kind == "number":
        return None if isinstance(value, int | float) else "must be a JSON number"
    if kind == "integer":
        ok = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
        return None if ok else "must be a JSON integer"
    if kind == "array":
        if not isinstance(value, list):
            return "must be a JSON array"
        errors = [json_type_error(schema["items"], v) for v in value]
        return next((e for e in errors if e), None)
    raise AssertionError(f"unhandled JSON type {kind}")


def parse_params(name: str, params: Mapping[str, Any] | None) -> dict[str, Any]:
    """Checked, typed parameters of method `name` (only those given)."""
    if name not in METHODS:
        raise ValueError(f"unknown augmentation method {name!r}; choose one of: {', '.join(METHODS)}")
    spec = PARAMS[name]
    params = dict(params or {})
    unknown = sorted(set(params) - set(spec))
    if unknown:
        accepted = ", ".join(spec) if spec else "none"
        raise ValueError(f"unknown parameter(s) {unknown} for method {name!r}; accepted: {accepted}")
    out = {}
    for key, value in params.items():
        try:
            out[key] = spec[key].parse(value)
        except (ValueError, TypeError) as err:
            raise ValueError(
                f"bad parameter {key}={value!r} for method {name!r}: {err}; expected {spec[key].describe}"
            ) from None
    return out


def as_resources(resources: Resources | Mapping[str, Any] | None) -> Resources:
    if resources is None:
        return Resources()
    if isinstance(resources, Resources):
        return resources
    known = {f.name for f in fields(Resources)}
    unknown = sorted(set(resources) - known)
    if unknown:
        raise ValueError(f"unknown resource(s) {unknown}; accepted: {', '.join(sorted(known))}")
    return Resources(**resources)


def build_augmenter(
    name: str, params: Mapping[str, Any] | None = None, resources: Resources | Mapping[str, Any] | None = None
) -> Augmenter:
    """An augmenter for method `name` with `params` (see PARAMS) and the models in `resources`."""
    parsed = parse_params(name, params)
    res = as_resources(resources)
    try:
        return _BUILDERS[name](parsed, res)
    except ValueError as err:
        raise ValueError(f"method {name!r}: {err}") from None


def _build_diffusion(p: dict[str, Any], res: Resources) -> Augmenter:
    from training.augmenters.diffusion import DiffusionOptions
    from training.steps import parse_steps

    if res.diffusion is None:
        raise ValueError("needs a loaded checkpoint (resources.diffusion: a DiffusionAugmenter)")
    base = res.diffusion_options or DiffusionOptions()
    total = res.diffusion.schedule.total_steps
    steps = base.steps
    if "steps" in p:
        raw = p["steps"]
        steps = parse_steps(raw, total) if isinstance(raw, str) else raw
        if not 1 <= steps[0] <= steps[1] <= total:
            raise ValueError(f"steps {list(steps)} must satisfy 1 <= low <= high <= {total}")
    decode = replace(base.decode, **{name: p[name] for name in DECODING_KNOBS if name in p})
    options = replace(
        base,
        steps=steps,
        decode=decode,
        max_attempts=p.get("max_attempts", base.max_attempts),
        batch_size=p.get("batch_size", base.batch_size),
        score=p.get("score", base.score),
        min_label_prob=p.get("min_label_prob", base.min_label_prob),
    )
    return res.diffusion.configured(options)


def _build_eda(p: dict[str, Any], res: Resources) -> Augmenter:
    from training.augmenters.eda import EDAAugmenter

    wordnet = p.pop("wordnet", "auto")
    return EDAAugmenter(synonyms=wordnet, **p)


def _build_aeda(p: dict[str, Any], res: Resources) -> Augmenter:
    from training.augmenters.aeda import AEDAAugmenter

    return AEDAAugmenter(**p)


def _build_resample(p: dict[str, Any], res: Resources) -> Augmenter:
    from training.augmenters.resample import ResampleAugmenter

    return ResampleAugmenter()


def _build_mlm(p: dict[str, Any], res: Resources) -> Augmenter:
    from training.augmenters.mlm_substitution import MLMSubstitutionAugmenter
    from training.text import TextCodec

    if res.mlm_model is None:
        if res.mlm_base is None:
            raise ValueError(
                "needs a masked LM: resources.mlm_model with mlm_codec, or resources.mlm_base "
                "(a model folder or HF id; --base on the command line)"
            )
        loaded = MLMSubstitutionAugmenter.from_pretrained(res.mlm_base, res.device, **p)
        res.mlm_model, res.mlm_codec = loaded.model, loaded.codec  # later builds reuse the loaded model
        return loaded
    codec = res.mlm_codec
    if codec is None:
        raise ValueError("resources.mlm_model needs resources.mlm_codec (a TextCodec of its base tokenizer)")
    if not isinstance(codec, TextCodec):
        codec = TextCodec(codec)  # a tokenizer was given
    return MLMSubstitutionAugmenter(res.mlm_model, codec, **p)


_BUILDERS: dict[str, Callable[[dict[str, Any], Resources], Augmenter]] = {
    "diffusioncls": _build_diffusion,
    "eda": _build_eda,
    "aeda": _build_aeda,
    "resample": _build_resample,
    "mlm_substitution": _build_mlm,
}
