"""GET /healthz (alive), /readyz (models loaded and queue answers), /info, /metrics."""

from __future__ import annotations

import contextlib
from typing import Any

from fastapi import APIRouter, Response
from fastapi.concurrency import run_in_threadpool

from service import __version__
from service.body import JSONRoute
from service.deps import ApiKey, State
from service.errors import ApiError, error_responses
from service.metrics import CONTENT_TYPE
from service.schemas import Info, Liveness, Readiness
from training.defaults import DECODING_KNOBS  # imports nothing
from worker.methods import method_descriptions

router = APIRouter(tags=["health"], route_class=JSONRoute)


def _public_name(base_model: str) -> str:
    """An HF id as it is; a local folder by its last part (the server's paths are nobody's business)."""
    looks_local = base_model.startswith(("/", ".", "~")) or "\\" in base_model or base_model.count("/") > 1
    return base_model.rstrip("/").rsplit("/", 1)[-1] if looks_local else base_model


@router.get("/healthz", summary="Liveness: the process answers", response_model=Liveness)
def healthz() -> dict[str, str]:
    return {"status": "alive"}


@router.get(
    "/readyz",
    summary="Readiness: models loaded and the queue answers (503 until then)",
    response_model=Readiness,
    response_model_exclude_none=True,
    responses=error_responses(503, s503="not ready: details.models and details.queue say what is missing"),
)
async def readyz(state: State) -> dict[str, Any]:
    models = state.models
    queue_ok = await run_in_threadpool(state.backend.ping)
    checks: dict[str, Any] = {
        "models": models.state,
        "queue": "ok" if queue_ok else "unreachable",
        "mode": state.backend.mode,
    }
    if models.error:
        checks["models_error"] = models.error
    state.metrics.model_ready.set(1 if models.ready else 0)
    if not (models.ready and queue_ok):
        waiting = []
        if not models.ready:
            waiting.append(f"models are {models.state}")
        if not queue_ok:
            waiting.append("Redis does not answer")
        raise ApiError(
            503,
            "not_ready",
            "not ready: " + " and ".join(waiting),
            details=checks,
            headers={"Retry-After": "5"},
        )
    status = "ready"
    if queue_ok and state.backend.mode == "redis":
        workers = await run_in_threadpool(state.backend.workers)
        checks["workers"] = workers
        state.metrics.workers.set(workers or 0)
        if not workers:
            # Still 200: the API takes jobs (they wait in the queue), but nothing runs them yet.
            status = "degraded"
            checks["warning"] = "no worker is serving the queue: augment jobs wait until one starts"
    return {"status": status, "checks": checks}


@router.get(
    "/info",
    summary="Model, labels, methods, limits, version",
    response_model=Info,
    dependencies=[ApiKey],
    responses=error_responses(401),
)
def info(state: State) -> dict[str, Any]:
    s, i, models = state.settings, state.info, state.models
    return {
        "version": __version__,
        "mode": state.backend.mode,
        "model": {
            "checkpoint": i.folder.name,
            "checkpoint_id": i.checkpoint_id,
            "base_model": _public_name(i.base_model),
            "labels": i.labels,
            "components": i.components,
            "classify_with": models.classifier_name,
            "created_at": i.created_at,
            "versions": i.versions,
            "state": models.state,
            "device": str(models.runtime.device) if models.runtime is not None else None,
        },
        "defaults": {
            "n": 4,
            "policy": "ge",
            "steps": list(i.default_steps),
            "total_steps": i.total_steps,
            "decoding": {k: v for k, v in i.sampler.items() if k in DECODING_KNOBS},
            "min_label_prob": i.default_min_label_prob,
        },
        "methods": method_descriptions(),
        "limits": {
            "max_items": s.max_items,
            "max_text_chars": s.max_text_chars,
            "max_n": s.max_n,
            "max_body_bytes": s.max_body_bytes,
            "max_queue_depth": s.max_queue_depth,
            "max_classify_texts": s.max_classify_texts,
            "job_timeout_s": s.job_timeout_s,
            "result_ttl_s": s.result_ttl_s,
        },
        "auth": s.api_key is not None,
    }


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    dependencies=[ApiKey],
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}, **error_responses(401)},
)
def metrics(state: State) -> Response:
    state.metrics.model_ready.set(1 if state.models.ready else 0)
    if state.backend.mode == "redis":
        with contextlib.suppress(Exception):  # Redis down: the other metrics still answer
            state.metrics.workers.set(state.backend.workers() or 0)
    return Response(state.metrics.render(), media_type=CONTENT_TYPE)
