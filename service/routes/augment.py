"""POST /augment: check a request against the limits and the checkpoint, then enqueue a job."""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, Response

from service.body import JSONRoute
from service.deps import ApiKey, AppState, State
from service.errors import ApiError, error_responses
from service.queue import BackendUnavailable, IdempotencyConflict, QueueFull
from service.schemas import AugmentRequest, JobAccepted
from service.texts import check_texts
from training.steps import parse_steps  # the one step-range grammar (standard library only)
from worker.checkpoint_info import CheckpointInfo
from worker.contracts import PSEUDO_PER_ORIGINAL, AugmentPayload, Decoding
from worker.methods import DIFFUSION, check_classic_params, method_descriptions

router = APIRouter(tags=["augment"], dependencies=[ApiKey], route_class=JSONRoute)

MAX_IDEMPOTENCY_KEY = 200
# Visible ASCII only: a key is an opaque token (a UUID is a good one), compared byte for byte.
IDEMPOTENCY_KEY_CHARS = r"[\x21-\x7e]"  # visible ASCII, no spaces
_IDEMPOTENCY_KEY = re.compile(rf"{IDEMPOTENCY_KEY_CHARS}{{1,{MAX_IDEMPOTENCY_KEY}}}")


def _invalid(message: str, details: Any = None) -> ApiError:
    return ApiError(422, "invalid_request", message, details=details)


def build_payload(body: AugmentRequest, state: AppState) -> AugmentPayload:
    """The job payload for a request, or an ApiError saying what to change."""
    settings, info = state.settings, state.info
    if len(body.items) > settings.max_items:
        raise ApiError(
            413,
            "too_large",
            f"{len(body.items)} items in one request; at most {settings.max_items} (MAX_ITEMS): split it",
            details={"limit": settings.max_items, "received": len(body.items)},
        )
    check_texts(
        [item.text for item in body.items],
        what="the texts of items",
        max_chars=settings.max_text_chars,
        field="items.text",
    )
    check_texts(
        [item.label for item in body.items], what="the labels of items", max_chars=None, field="items.label"
    )
    methods = method_descriptions()
    if body.method not in methods:
        raise _invalid(
            f"unknown method {body.method!r}; supported: {sorted(methods)}", {"supported": sorted(methods)}
        )
    if body.policy == "bd" and body.n is not None:
        raise _invalid("n applies to policy 'ge' only; policy 'bd' decides how many texts each class needs")
    n = body.n if body.n is not None else PSEUDO_PER_ORIGINAL
    if n > settings.max_n:
        raise _invalid(
            f"n={n} is over {settings.max_n} (MAX_N); ask for fewer new texts per item",
            {"field": "n", "limit": settings.max_n},
        )
    labels = [item.label for item in body.items]
    steps = None
    if body.method == DIFFUSION:
        steps = _diffusion_steps(body, labels, info)
    else:
        _check_classic(body)
    return AugmentPayload(
        checkpoint_id=info.checkpoint_id,
        method=body.method,
        texts=[item.text for item in body.items],
        labels=labels,
        policy=body.policy,
        n=n,
        steps=steps,
        decoding=Decoding(**body.decoding.model_dump()),
        params=body.params,
        seed=body.seed,
        min_label_prob=_label_filter(body, info),
        max_output_chars=settings.max_text_chars,
    )


def _label_filter(body: AugmentRequest, info: CheckpointInfo) -> float:
    """The request's min_label_prob; left out, the checkpoint's for diffusioncls (the filter `fit` used
    for its own pseudo samples), none for a classic method."""
    if body.min_label_prob is not None:
        return body.min_label_prob
    return info.default_min_label_prob if body.method == DIFFUSION else 0.0


def _diffusion_steps(body: AugmentRequest, labels: list[str], info: CheckpointInfo) -> tuple[int, int] | None:
    """A diffusioncls request's checks against the checkpoint; its step range (None: the default)."""
    unknown = sorted(set(labels) - set(info.labels))
    if unknown:
        raise _invalid(
            f"unknown label(s) {unknown}; this checkpoint knows {info.labels}",
            {"unknown": unknown, "known": info.labels},
        )
    if body.params:
        raise _invalid(
            "diffusioncls takes no params; use steps and decoding", {"params": sorted(body.params)}
        )
    if body.steps is None:
        return None
    try:
        return parse_steps(body.steps, info.total_steps)
    except ValueError as err:
        raise _invalid(str(err), {"field": "steps"}) from None


def _check_classic(body: AugmentRequest) -> None:
    """A classic method's request: no diffusion settings, and parameters the method takes."""
    # min_label_prob None (left out) or 0 asks for no filter
    if body.steps is not None or body.decoding.model_dump(exclude_none=True) or body.min_label_prob:
        raise _invalid(
            f"steps, decoding and min_label_prob apply to {DIFFUSION} only; pass {body.method}'s options "
            "in params"
        )
    try:
        check_classic_params(body.method, body.params)
    except ValueError as err:
        raise _invalid(str(err), {"params": sorted(body.params or {})}) from None


def _replay(
    state: AppState, payload: AugmentPayload, *, key_digest: str, job_id: str, response: Response
) -> JobAccepted | None:
    """Claim an Idempotency-Key for `job_id`; the job it already names when the same request used it
    before (None: the key is new), or 409 when another request did."""
    canonical = json.dumps(payload.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    try:
        existing = state.backend.claim_idempotency(key_digest, _digest(canonical), job_id)
    except IdempotencyConflict:
        # 409, not the 422 of the IETF idempotency-key draft: the request itself is valid, only its
        # key is taken (by another request); the same request with a new key is accepted.
        raise ApiError(
            409,
            "conflict",
            "this Idempotency-Key was used with a different request body; use a new key for a new request",
        ) from None
    if existing is None:
        return None
    view = state.backend.get(existing)
    response.headers["Location"] = f"/jobs/{existing}"
    response.headers["Idempotent-Replayed"] = "true"
    return JobAccepted(id=existing, status=view.status if view else "queued", location=f"/jobs/{existing}")


NO_WORKER_WARNING = "no worker is serving the queue; the job waits until one starts"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@router.post(
    "/augment",
    name="augment",
    status_code=202,
    response_model=JobAccepted,
    summary="Start an augmentation job",
    responses={
        # OpenAPI links: how a client (or a stateful fuzzer) goes from the accepted job to its routes
        202: {
            "description": "the job is queued; poll `location` (GET /jobs/{id}) for its progress and result",
            "links": {
                "GetJob": {
                    "operationId": "get_job",
                    "parameters": {"job_id": "$response.body#/id"},
                    "description": "status, progress and result of the job",
                },
                "CancelJob": {
                    "operationId": "cancel_job",
                    "parameters": {"job_id": "$response.body#/id"},
                    "description": "cancel the job",
                },
            },
        },
        **error_responses(
            401,
            409,
            413,
            415,
            422,
            429,
            503,
            s409="the Idempotency-Key was used with a different request body",
            s413="too many items (MAX_ITEMS) or too large a body (MAX_BODY_BYTES)",
            s422="invalid request: unknown label or method, bad step range, empty or too long texts, n over MAX_N, "
            "a bad Idempotency-Key",
            s503="models still loading (embedded mode) or Redis down",
        ),
    },
)
def submit_augment(
    body: AugmentRequest,
    state: State,
    response: Response,
    *,
    idempotency_key: Annotated[
        str | None,
        Header(alias="Idempotency-Key", description="repeat a request with the same key to get the same job"),
    ] = None,
) -> JobAccepted:
    payload = build_payload(body, state)
    if idempotency_key is not None and not _IDEMPOTENCY_KEY.fullmatch(idempotency_key):
        raise _invalid(
            f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} visible ASCII characters (no spaces); "
            "a UUID is a good key",
            {"field": "Idempotency-Key", "length": len(idempotency_key)},
        )
    if state.backend.mode == "embedded" and not state.models.ready:
        raise ApiError(
            503,
            "not_ready",
            "the model is still loading; retry in a few seconds",
            headers={"Retry-After": "5"},
        )
    job_id = uuid.uuid4().hex
    key_digest = None
    if idempotency_key is not None:
        key_digest = _digest(idempotency_key)
        replayed = _replay(state, payload, key_digest=key_digest, job_id=job_id, response=response)
        if replayed is not None:
            return replayed
    try:
        state.backend.submit(job_id, payload.model_dump(mode="json"))
    except (QueueFull, BackendUnavailable) as err:
        if key_digest:  # the key may be used again once the job can be accepted
            with contextlib.suppress(BackendUnavailable):
                state.backend.release_idempotency(key_digest)
        if isinstance(err, BackendUnavailable):
            raise
        raise ApiError(
            429,
            "queue_full",
            f"the queue is full ({err.depth} jobs waiting, MAX_QUEUE_DEPTH={err.limit}); retry later",
            details={"depth": err.depth, "limit": err.limit},
            headers={"Retry-After": "30"},
        ) from None
    state.metrics.jobs_submitted.labels(payload.method).inc()
    response.headers["Location"] = f"/jobs/{job_id}"
    if state.backend.mode == "redis" and not state.backend.workers():
        # Accepted, not refused: workers come and go (a restart, a scale-up), and the job runs as soon
        # as one serves the queue; a 503 would make every client resubmit in a loop meanwhile.
        response.headers["Warning"] = f'199 - "{NO_WORKER_WARNING}"'

    return JobAccepted(id=job_id, status="queued", location=f"/jobs/{job_id}")
