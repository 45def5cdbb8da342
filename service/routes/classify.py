"""POST /classify: label and class probabilities per text, synchronous, micro-batched."""

from __future__ import annotations

from fastapi import APIRouter

from service.body import JSONRoute
from service.deps import ApiKey, State
from service.errors import ApiError, error_responses
from service.schemas import ClassifyRequest, ClassifyResponse, ClassifyResult
from service.texts import check_texts

router = APIRouter(tags=["classify"], dependencies=[ApiKey], route_class=JSONRoute)


@router.post(
    "/classify",
    response_model=ClassifyResponse,
    summary="Classify texts",
    responses=error_responses(
        401,
        413,
        415,
        422,
        503,
        s413="too many texts (MAX_CLASSIFY_TEXTS) or too large a body (MAX_BODY_BYTES)",
        s422="empty, too long or control-character texts",
        s503="classifier loading or switched off",
    ),
)
async def classify(body: ClassifyRequest, state: State) -> ClassifyResponse:
    settings, models = state.settings, state.models
    if len(body.texts) > settings.max_classify_texts:
        raise ApiError(
            413,
            "too_large",
            f"{len(body.texts)} texts in one request; at most {settings.max_classify_texts} "
            "(MAX_CLASSIFY_TEXTS): split it",
            details={"limit": settings.max_classify_texts, "received": len(body.texts)},
        )
    check_texts(body.texts, what="texts", max_chars=settings.max_text_chars, field="texts")
    if models.purpose is None:
        raise ApiError(
            503, "unavailable", "classification is switched off on this server (CLASSIFY_ENABLED=false)"
        )
    if models.state == "failed":
        raise ApiError(503, "not_ready", f"the classifier failed to load: {models.error}")
    if not models.ready:
        raise ApiError(
            503,
            "not_ready",
            "the classifier is still loading; retry in a few seconds",
            headers={"Retry-After": "5"},
        )
    results = await state.batcher.submit(body.texts)
    state.metrics.classify_texts.inc(len(body.texts))
    return ClassifyResponse(
        model=models.classifier_name or "none",
        results=[ClassifyResult(label=r.label, probabilities=r.probabilities) for r in results],
    )
