"""POST /classify: label and class probabilities per text, synchronous, micro-batched."""

from __future__ import annotations

from fastapi import APIRouter

from service.deps import ApiKey, State
from service.errors import ApiError
from service.schemas import ClassifyRequest, ClassifyResponse, ClassifyResult

router = APIRouter(tags=["classify"], dependencies=[ApiKey])


@router.post(
    "/classify",
    response_model=ClassifyResponse,
    summary="Classify texts",
    responses={
        413: {"description": "too many texts"},
        422: {"description": "empty or too long texts"},
        503: {"description": "classifier loading or disabled"},
    },
)
async def classify(body: ClassifyRequest, state: State) -> ClassifyResponse:
    settings, models = state.settings, state.models
    if len(body.texts) > settings.max_classify_texts:
        raise ApiError(
            413,
            "too_large",
            f"{len(body.texts)} texts in one request; at most {settings.max_classify_texts} "
            "(MAX_CLASSIFY_TEXTS): split it",
            {"limit": settings.max_classify_texts, "received": len(body.texts)},
        )
    empty = [i for i, t in enumerate(body.texts) if not t.strip()]
    long = [i for i, t in enumerate(body.texts) if len(t) > settings.max_text_chars]
    if empty or long:
        parts = []
        if empty:
            parts.append(f"texts {empty[:10]} are empty")
        if long:
            parts.append(f"texts {long[:10]} are over {settings.max_text_chars} characters (MAX_TEXT_CHARS)")
        raise ApiError(422, "invalid_request", "; ".join(parts), {"empty": empty, "too_long": long})
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
