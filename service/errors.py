"""One error body for every 4xx/5xx: {"error": {"type": ..., "message": ..., "details": ...}}.

Messages say what to change. FastAPI's own validation errors and Starlette's 404/405 are rewritten
into the same shape, so a client needs one error parser.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.body import BodyError

log = logging.getLogger(__name__)


class ErrorInfo(BaseModel):
    type: str = Field(description="machine-readable kind: invalid_request, too_large, unauthorized, ...")
    message: str = Field(description="what went wrong and what to change, in words")
    details: Any = Field(None, description="the fields, items or limits concerned (shape depends on type)")


class ErrorBody(BaseModel):
    """The body of every 4xx and 5xx answer."""

    error: ErrorInfo


_DESCRIPTIONS = {
    401: "missing or wrong API key (when the server has one)",
    404: "no such job (unknown or expired) or route",
    409: "the job already finished",
    413: "too large: the body (MAX_BODY_BYTES) or the number of items or texts",
    415: "the body is not JSON (send Content-Type: application/json)",
    422: "invalid request: the message and details say which field and why",
    429: "the queue is full; retry later",
    503: "not ready: models loading, Redis down or classification switched off",
}


def error_responses(*statuses: int, **descriptions: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these error statuses, all with the `ErrorBody` schema.

    `descriptions` override the default wording per status (keys like `s413`)."""
    return {
        status: {"model": ErrorBody, "description": descriptions.get(f"s{status}", _DESCRIPTIONS[status])}
        for status in statuses
    }


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        type: str,
        message: str,
        *,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.type = type
        self.message = message
        self.details = details
        self.headers = headers


def error_body(type: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"type": type, "message": message, "details": details}}


def error_response(
    status: int, type: str, message: str, *, details: Any = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(error_body(type, message, details), status_code=status, headers=headers)


_STATUS_TYPES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "queue_full",
    503: "not_ready",
}


def _validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    details = []
    for e in exc.errors():
        loc = [str(part) for part in e.get("loc", ()) if part != "body"]
        details.append(
            {"field": ".".join(loc) or "body", "message": e.get("msg", ""), "type": e.get("type", "")}
        )
    return details


def _leaf_routes(routes: Any) -> Any:
    for route in routes:
        if hasattr(route, "path_regex") and getattr(route, "methods", None):
            yield route
        elif hasattr(route, "original_router"):  # FastAPI wraps an included router
            yield from _leaf_routes(route.original_router.routes)


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves on this path (Starlette names only the first matching route's)."""
    path = request.url.path
    methods: set[str] = set()
    for route in _leaf_routes(request.app.router.routes):
        if route.path_regex.fullmatch(path):
            methods.update(route.methods)
    return sorted(methods)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.type, exc.message, details=exc.details, headers=exc.headers)

    @app.exception_handler(BodyError)
    async def _body_error(request: Request, exc: BodyError) -> JSONResponse:
        return error_response(exc.status_code, exc.type, exc.message, details=exc.details)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = _validation_details(exc)
        if any(d["type"] == "json_invalid" for d in details):
            message = "the body is not valid JSON; send Content-Type: application/json with a JSON object"
        elif any(d["field"] == "body" and d["type"] == "missing" for d in details):
            message = "the request has no body; send a JSON object (the fields are in /docs)"
        elif any(d["field"] == "body" and d["type"] == "model_attributes_type" for d in details):
            message = (
                "the body must be a JSON object (the fields are in /docs), not an array or a single value"
            )
        else:
            fields = ", ".join(d["field"] + ": " + d["message"] for d in details[:5])
            message = f"invalid request: {fields}"
        return error_response(422, "invalid_request", message, details=details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            message = f"no route {request.method} {request.url.path}; see /docs for the API"
        elif exc.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path}; see /docs for the API"
            allowed = allowed_methods(request)
            if allowed:  # Starlette names only the first matching route's methods
                headers = {**(getattr(exc, "headers", None) or {}), "Allow": ", ".join(allowed)}
                return error_response(
                    405, "method_not_allowed", message, details={"allowed": allowed}, headers=headers
                )
        elif exc.status_code == 400:  # FastAPI's "There was an error parsing the body"
            message = "the body could not be read; send a JSON object with Content-Type: application/json"
        else:
            message = str(exc.detail)
        kind = _STATUS_TYPES.get(exc.status_code, "error")
        return error_response(exc.status_code, kind, message, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(500, "internal", "internal error; the server log has the details")
