"""Which augmentation methods a worker runs, and how it builds the classic ones.

`diffusioncls` is built by the job from the loaded checkpoint (its request carries steps and decoding
settings). The classic augmenters (EDA, AEDA, resampling, MLM substitution) come from
`training.augmenters.registry`: adding a method there is the only step needed to serve it.

Listing the methods imports no torch (the service calls `method_descriptions()` on its request
path); building one may.
"""

from __future__ import annotations

from typing import Any

DIFFUSION = "diffusioncls"


def method_descriptions() -> dict[str, str]:
    """Every method name this deployment serves -> one line saying what it does."""
    from training.augmenters.registry import METHODS  # light: the registry imports no torch

    return dict(METHODS)


# Parameters that may name a file or folder on the command line, and what a request may say instead:
# files and models come from the worker's settings, never from a request.
_REQUEST_VALUES = {("eda", "wordnet"): ("auto", "none")}


def _no_paths(name: str, params: dict[str, Any] | None) -> None:
    for key, value in (params or {}).items():
        allowed = _REQUEST_VALUES.get((name, key))
        if allowed is not None and str(value).strip() not in allowed:
            raise ValueError(
                f"bad parameter {key}={value!r} for method {name!r}: a request may only choose "
                f"{' or '.join(allowed)}; folders and models are the server's settings"
                + (" (DIFFUSIONCLS_WORDNET on the worker)" if key == "wordnet" else "")
            )


def check_classic_params(name: str, params: dict[str, Any] | None) -> None:
    """Raise ValueError (saying what is accepted) for bad parameters, before anything is queued.

    Strict JSON types, as everywhere in the API (`"0.3"` is not a number), then the registry's
    names and ranges: exactly what `params_schema(name)` admits."""
    from training.augmenters.registry import json_type_error, parse_params  # light: no torch

    _no_paths(name, params)
    properties = params_schema(name)["properties"]
    for key, value in (params or {}).items():
        problem = json_type_error(properties[key], value) if key in properties else None
        if problem:
            raise ValueError(f"bad parameter {key}={value!r} for method {name!r}: {problem}")
    parse_params(name, params)


def params_schema(name: str) -> dict[str, Any]:
    """JSON Schema of the `params` a request may give method `name` (none for diffusioncls, whose
    settings are the request's own fields)."""
    from training.augmenters.registry import params_json_schema

    if name == DIFFUSION:
        return {"type": "object", "properties": {}, "additionalProperties": False}
    schema = params_json_schema(name)
    for (method, key), allowed in _REQUEST_VALUES.items():  # files are the server's, never a request's
        if method == name:
            schema["properties"][key] = {**schema["properties"][key], "enum": list(allowed)}
    return schema


def build_classic(name: str, params: dict[str, Any], *, checkpoint: Any, device: Any) -> Any:
    """A classic augmenter behind the plain `Augmenter` interface (training/augmenters/base.py).

    MLM substitution uses the checkpoint's generator as its masked LM (its label-token rows are
    banned from sampling), so a worker needs no second model for it.
    """
    from training.augmenters.registry import METHODS, Resources, build_augmenter
    from training.text import TextCodec

    if name == DIFFUSION or name not in METHODS:
        raise ValueError(f"unknown classic method {name!r}; this worker serves {sorted(METHODS)}")
    _no_paths(name, params)  # the worker does not trust the payload to have passed the service's checks
    resources = Resources(device=str(device))
    if name == "mlm_substitution":
        if checkpoint.generator is None:
            raise RuntimeError("this process loaded the checkpoint for classification only")
        resources.mlm_model = checkpoint.generator
        resources.mlm_codec = TextCodec(checkpoint.tokenizer)
    return build_augmenter(name, params, resources)
