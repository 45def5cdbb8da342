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
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        type: str,
        message: str,
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
    status: int, type: str, message: str, details: Any = None, headers: dict[str, str] | None = None
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


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.type, exc.message, exc.details, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = _validation_details(exc)
        if any(d["type"] == "json_invalid" for d in details):
            message = "the body is not valid JSON; send Content-Type: application/json with a JSON object"
        else:
            fields = ", ".join(d["field"] + ": " + d["message"] for d in details[:5])
            message = f"invalid request: {fields}"
        return error_response(422, "invalid_request", message, details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            message = f"no route {request.method} {request.url.path}; see /docs for the API"
        elif exc.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path}; see /docs for the API"
        else:
            message = str(exc.detail)
        kind = _STATUS_TYPES.get(exc.status_code, "error")
        return error_response(exc.status_code, kind, message, None, getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(500, "internal", "internal error; the server log has the details")
