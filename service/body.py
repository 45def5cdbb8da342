"""Strict JSON request bodies: every route is an `APIRoute` whose request parses JSON as RFC 8259 says.

Python's `json.loads` (what FastAPI uses) accepts things JSON does not: `NaN`, `Infinity`, numbers that
overflow to infinity (`1e999`), unpaired UTF-16 surrogates (`"\\ud800"`, which no response can encode
as UTF-8 again) and repeated keys in one object (the last silently wins). Bytes that are not UTF-8 and
bodies nested past Python's recursion limit end up as a bare "There was an error parsing the body".
Here each of these is a 422 in the one error shape, saying what to send instead; a body that is not
JSON at all (no or another Content-Type) is a 415.

The body-size cap (`service.middleware.BodySizeLimit`) runs before any of this reads a byte.
"""

from __future__ import annotations

import email.message
import json
import re
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import HTTPException, Request, Response
from fastapi.routing import APIRoute

_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


class BodyError(HTTPException):
    """A body the API cannot read; an `HTTPException` so FastAPI passes it through unchanged."""

    def __init__(self, status: int, type: str, message: str, *, details: Any = None):
        super().__init__(status_code=status, detail=message)
        self.type = type
        self.message = message
        self.details = details


def _invalid(message: str, details: Any = None) -> BodyError:
    return BodyError(422, "invalid_request", message, details=details)


def _reject_constant(name: str) -> Any:
    raise _invalid(
        f"the body has {name}, which JSON does not allow; send a finite number (or leave the field out "
        "for its default)",
        {"value": name},
    )


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise _invalid(
            f"the number {text[:40]} is too large for a 64-bit float; send a finite number",
            {"value": text[:40]},
        )
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object whose keys repeat is refused: `json.loads` would keep the last value silently."""
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise _invalid(
                f"the key {key[:40]!r} appears twice in one object; send each key once",
                {"key": key[:40]},
            )
        seen[key] = value
    return seen


def _has_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        return any("\ud800" <= ch <= "\udfff" for ch in value)
    if isinstance(value, dict):
        return any(_has_surrogate(k) or _has_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_surrogate(v) for v in value)
    return False


def parse_json(body: bytes) -> Any:
    """JSON as RFC 8259 defines it, or a `BodyError` saying what is wrong and what to send."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as err:
        raise _invalid(
            f"the body is not valid UTF-8 (byte 0x{body[err.start]:02x} at offset {err.start}); "
            "send JSON encoded as UTF-8",
            {"offset": err.start},
        ) from None
    try:
        value = json.loads(
            text, parse_constant=_reject_constant, parse_float=_finite_float, object_pairs_hook=_unique_keys
        )
    except RecursionError:
        raise _invalid("the body is nested too deeply to be read; send a flatter JSON object") from None
    # json.loads turns "\ud83d\ude00" into one emoji but keeps a lone "\ud800" as an unencodable character.
    if _SURROGATE_ESCAPE.search(text) and _has_surrogate(value):
        raise _invalid(
            "the body has an unpaired UTF-16 surrogate escape (\\ud800-\\udfff) in a string; send valid "
            "Unicode text"
        )
    return value


def is_json_media_type(content_type: str | None) -> bool:
    if not content_type:
        return False
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


class StrictJSONRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = parse_json(await self.body())
        return self._json


class JSONRoute(APIRoute):
    """The route class of every router: strict JSON parsing, and 415 for a body that is not JSON."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        takes_body = self.body_field is not None

        async def route(request: Request) -> Response:
            strict = StrictJSONRequest(request.scope, request.receive)
            if (
                takes_body
                and not is_json_media_type(strict.headers.get("content-type"))
                and await strict.body()
            ):
                raise BodyError(
                    415,
                    "unsupported_media_type",
                    "the body must be JSON: send it with Content-Type: application/json",
                    details={"content_type": strict.headers.get("content-type")},
                )
            return await handler(strict)

        return route
