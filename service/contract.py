"""The OpenAPI document as this deployment's exact contract: what is known only at start-up (the
checkpoint's labels, the methods served, the MAX_* settings) is written into the schemas, so a
generated client or a fuzzer can build a valid request without patching the document."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from service.routes.augment import IDEMPOTENCY_KEY_CHARS, MAX_IDEMPOTENCY_KEY
from service.settings import Settings
from service.texts import text_pattern
from worker.checkpoint_info import CheckpointInfo
from worker.contracts import steps_json_schema
from worker.methods import DIFFUSION, method_descriptions, params_schema


def _integer_branch(prop: dict[str, Any]) -> dict[str, Any]:
    """The integer schema of an optional field (`anyOf: [{integer}, {null}]`), or the field itself."""
    for branch in prop.get("anyOf", []):
        if branch.get("type") == "integer":
            return branch
    return prop


def drop_framework_validation_errors(schema: dict[str, Any]) -> None:
    """FastAPI declares a 422 with its own `HTTPValidationError` body on every route with a parameter.
    The routes that can answer 422 declare it with the project's error body; on the others (the job
    routes take any id: a malformed one is a 404) it cannot happen, so it goes."""
    for operations in schema["paths"].values():
        for operation in operations.values():
            declared = operation.get("responses", {}).get("422", {})
            body = declared.get("content", {}).get("application/json", {}).get("schema", {})
            if body.get("$ref", "").endswith("/HTTPValidationError"):
                del operation["responses"]["422"]
    for name in ("HTTPValidationError", "ValidationError"):
        schema["components"]["schemas"].pop(name, None)


def apply_runtime_contract(
    schema: dict[str, Any], settings: Settings, info: CheckpointInfo
) -> dict[str, Any]:
    drop_framework_validation_errors(schema)
    models = schema["components"]["schemas"]
    item = models["Item"]["properties"]
    item["label"]["pattern"] = text_pattern()  # any label for classic methods; diffusioncls: below
    item["text"]["maxLength"] = settings.max_text_chars
    item["text"]["pattern"] = text_pattern()
    augment = models["AugmentRequest"]["properties"]
    augment["method"]["enum"] = sorted(method_descriptions())
    models["AugmentRequest"]["allOf"] = request_rules(info, list(models["DecodingRequest"]["properties"]))
    augment["steps"] = {
        **steps_json_schema(info.total_steps),
        "description": augment["steps"].get("description", ""),
    }
    augment["items"]["maxItems"] = settings.max_items
    _integer_branch(augment["n"])["maximum"] = settings.max_n
    for parameter in schema["paths"]["/augment"]["post"].get("parameters", []):
        if parameter["name"] == "Idempotency-Key":  # the route's own check, as a schema
            parameter["schema"] = {
                "type": "string",
                "minLength": 1,
                "maxLength": MAX_IDEMPOTENCY_KEY,
                "pattern": f"^{IDEMPOTENCY_KEY_CHARS}+$",
            }
    texts = models["ClassifyRequest"]["properties"]["texts"]
    texts["maxItems"] = settings.max_classify_texts
    texts["items"] = {
        **texts.get("items", {}),
        "minLength": 1,
        "maxLength": settings.max_text_chars,
        "pattern": text_pattern(),
    }
    return schema


def request_rules(info: CheckpointInfo, decoding_fields: list[str]) -> list[dict[str, Any]]:
    """The rules of `/augment` that tie one field to another, as JSON Schema `if`/`then`: what
    `build_payload` refuses across fields, so that the schema admits exactly what is accepted."""
    rules: list[dict[str, Any]] = [
        {  # policy bd sizes the output per class: no n
            "if": {"properties": {"policy": {"const": "bd"}}, "required": ["policy"]},
            "then": {"properties": {"n": {"type": "null"}}},
        }
    ]
    for name in sorted(method_descriptions()):
        when: dict[str, Any] = {"properties": {"method": {"const": name}}}
        then: dict[str, Any] = {"properties": {"params": params_schema(name)}}
        if name == DIFFUSION:  # also when `method` is left out: it is the default
            # the generator knows the checkpoint's labels only
            then["properties"]["items"] = {"items": {"properties": {"label": {"enum": list(info.labels)}}}}
        else:
            when["required"] = ["method"]
            then["properties"].update(  # the diffusion settings are not a classic method's
                steps={"type": "null"},
                decoding={"properties": {field: {"type": "null"} for field in decoding_fields}},
                min_label_prob={"enum": [0, None]},
            )
        rules.append({"if": when, "then": then})
    return rules


def contract_openapi(app: FastAPI, settings: Settings, info: CheckpointInfo) -> Callable[[], dict[str, Any]]:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            app.openapi_schema = apply_runtime_contract(schema, settings, info)
        return app.openapi_schema

    return openapi
