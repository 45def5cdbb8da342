"""What the routes depend on: the app's state (settings, backend, models, metrics) and the API key."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader

from service.batching import MicroBatcher
from service.errors import ApiError
from service.metrics import Metrics
from service.model_loader import ModelHolder
from service.queue import JobBackend
from service.settings import Settings
from worker.checkpoint_info import CheckpointInfo


@dataclass
class AppState:
    settings: Settings
    info: CheckpointInfo
    backend: JobBackend
    models: ModelHolder
    batcher: MicroBatcher
    metrics: Metrics


def get_state(request: Request) -> AppState:
    return request.app.state.core


State = Annotated[AppState, Depends(get_state)]

_api_key_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="the API_KEY of the server (when it has one)"
)


def require_api_key(state: State, request: Request, supplied: str | None = Security(_api_key_header)) -> None:
    """Every route but health: compare in constant time; the key is never logged or echoed."""
    expected = state.settings.api_key_bytes
    if expected is None:
        return
    if supplied is None:
        auth = request.headers.get("authorization", "")
        if auth[:7].lower() == "bearer ":
            supplied = auth[7:].strip()  # Prometheus and most HTTP tools send keys this way
    if not supplied or not hmac.compare_digest(supplied.encode(), expected):
        raise ApiError(
            401,
            "unauthorized",
            "missing or wrong API key: send it in the X-API-Key header (or Authorization: Bearer <key>)",
            headers={"WWW-Authenticate": "Bearer"},
        )


ApiKey = Depends(require_api_key)
