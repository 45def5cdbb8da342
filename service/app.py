"""`create_app()`: the FastAPI application. Run with `python -m service` or
`uvicorn service.app:create_app --factory`.

With REDIS_URL set, jobs go to the Redis queue that `python -m worker` serves; without it, the same
job function runs in this process (embedded mode).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from service import __version__
from service.batching import MicroBatcher
from service.contract import contract_openapi
from service.deps import AppState
from service.errors import error_response, install_error_handlers
from service.metrics import Metrics
from service.middleware import BodySizeLimit, RequestId, RequestMetrics
from service.model_loader import ModelHolder
from service.queue import BackendUnavailable, EmbeddedBackend, JobBackend, JobSettings, RedisBackend
from service.redact import install_access_log_redaction
from service.routes import augment, classify, health, jobs, playground
from service.settings import Settings
from worker.checkpoint_info import CheckpointInfo, read_checkpoint_info

log = logging.getLogger(__name__)

DESCRIPTION = """Label-aware text augmentation (DiffusionCLS) as a service.

`POST /augment` starts a job and answers 202 with its id; poll `GET /jobs/{id}` until it is
`succeeded`, `failed` or `canceled`. `POST /classify` answers at once. Errors always have the body
`{"error": {"type", "message", "details"}}`. When the server has an API key, send it in `X-API-Key`.
"""


def create_app(
    settings: Settings | None = None,
    *,
    load_models: bool = True,
    job_function: Callable[[dict[str, Any]], Any] | None = None,
) -> FastAPI:
    """Build the app. `load_models=False` leaves the models unloaded (readiness stays 503) until
    `app.state.core.models.load_now()`; `job_function` replaces `worker.jobs.augment` in embedded mode."""
    settings = settings or Settings()
    info = read_checkpoint_info(settings.checkpoint_dir)  # fail fast on a wrong CHECKPOINT_DIR
    key = settings.api_key.get_secret_value() if settings.api_key is not None else ""
    install_access_log_redaction(settings.log_redact_params, [key])
    metrics = Metrics()

    app = FastAPI(
        title="DiffusionCLS augmentation",
        version=__version__,
        description=DESCRIPTION,
        lifespan=_lifespan(settings, info, metrics, load_models=load_models, job_function=job_function),
        # Operation ids are the routes' names (augment, get_job, ...), not FastAPI's
        # `submit_augment_augment_post`: they become the method names of generated clients.
        generate_unique_id_function=lambda route: route.name,
    )
    install_error_handlers(app)
    app.openapi = contract_openapi(app, settings, info)  # type: ignore[method-assign]

    app.add_exception_handler(BackendUnavailable, _queue_down)
    for module in (augment, jobs, classify, health, playground):
        app.include_router(module.router)
    metrics.watch_jobs(lambda: app.state.core.backend.counts())
    # Starlette runs the last added middleware first: metrics see every response, 413s included.
    app.add_middleware(BodySizeLimit, limit=settings.max_body_bytes)
    app.add_middleware(RequestMetrics, metrics=metrics)
    app.add_middleware(RequestId)  # outermost: even a 413 or a 500 carries the id
    return app


def _lifespan(
    settings: Settings,
    info: CheckpointInfo,
    metrics: Metrics,
    *,
    load_models: bool,
    job_function: Callable[[dict[str, Any]], Any] | None,
):
    """What the app holds while it runs: the job backend, the models (loaded in the background), the
    /classify micro-batcher and, with Redis, the reaper of dead workers' jobs; all stopped on exit."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        backend = _job_backend(settings, job_function)
        models = ModelHolder(settings, info)
        batcher = MicroBatcher(
            models.classify,
            max_batch=settings.classify_max_batch,
            wait_ms=settings.classify_batch_wait_ms,
            on_batch=metrics.classify_batch.observe,
        )
        batcher.start()
        app.state.core = AppState(
            settings=settings, info=info, backend=backend, models=models, batcher=batcher, metrics=metrics
        )
        log.info("mode %s, checkpoint %s (%s)", backend.mode, info.folder.name, info.checkpoint_id)
        if load_models:
            models.start()
        reaper = (
            asyncio.create_task(_reap_forever(backend, settings.heartbeat_s)) if settings.redis_url else None
        )
        try:
            yield
        finally:
            if reaper is not None:
                reaper.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reaper
            await batcher.stop()
            backend.close()

    return lifespan


def _job_backend(settings: Settings, job_function: Callable[[dict[str, Any]], Any] | None) -> JobBackend:
    """Redis/rq when REDIS_URL is set, else the in-process backend (embedded mode)."""
    job_settings = JobSettings(
        timeout_s=settings.job_timeout_s,
        result_ttl_s=settings.result_ttl_s,
        failure_ttl_s=settings.failure_ttl_s,
        retries=settings.job_retries,
        max_depth=settings.max_queue_depth,
    )
    if settings.redis_url:
        return RedisBackend(settings.redis_url, settings.queue_name, job_settings)
    return EmbeddedBackend(job_settings, job_function)


async def _queue_down(request: Request, exc: Exception) -> JSONResponse:
    return error_response(
        503,
        "unavailable",
        "the job queue (Redis) does not answer; retry later",
        headers={"Retry-After": "5"},
    )


async def _reap_forever(backend: JobBackend, interval_s: float) -> None:
    """Retry or fail the jobs of dead workers even when nobody polls them."""
    while True:
        await asyncio.sleep(interval_s)
        try:
            await run_in_threadpool(backend.reap)
        except Exception as err:  # Redis down: /readyz says so; try again next round
            log.warning("reaping abandoned jobs failed: %s", err)
