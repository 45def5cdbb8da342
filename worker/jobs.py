"""Job functions, enqueued by import path (`worker.jobs.augment`) with a JSON payload.

The same function runs under an rq worker and in the service's embedded mode; `worker.control`
gives it its progress sink, cancellation and deadline either way.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

from worker.contracts import AugmentJobResult, AugmentPayload, JobError, JobStats, Output, ShortfallOut
from worker.control import JobCanceled, JobGuard, JobTimedOut, current_context
from worker.logs import log_context
from worker.metrics import busy, record_job

log = logging.getLogger(__name__)


class ModelMismatch(ValueError):
    """The job was validated against another checkpoint than the one this worker serves."""


def augment(payload: dict[str, Any]) -> dict[str, Any]:
    """Augment labelled texts; returns an `AugmentJobResult` as a JSON-ready dict."""
    context = current_context()
    with log_context(
        request_id=getattr(context, "request_id", None), job_id=getattr(context, "job_id", None)
    ):
        return _augment(context, payload)


def _augment(context: Any, payload: dict[str, Any]) -> dict[str, Any]:
    context.start_attempt()
    started = time.perf_counter()
    status, produced, method, error_type = "failed", 0, str(payload.get("method", "unknown")), None
    chains, chain_seconds = 0, 0.0
    busy.set(1)
    try:
        request = AugmentPayload.model_validate(payload)
        from worker import runtime as runtime_module

        runtime = runtime_module.current()
        _check_checkpoint(request, runtime)
        if request.policy == "ge":  # the total is known up front; bd learns it from the class counts
            context.report_progress(0, len(request.texts) * request.n)
        log.info(
            "augment: %d texts, method %s, policy %s, n %d",
            len(request.texts),
            request.method,
            request.policy,
            request.n,
        )
        with JobGuard(context.cancel_requested, context.timeout_s):
            result = run_augment(runtime, request, context.report_progress)
        context.report_progress(result.stats.produced, result.stats.requested)
        log.info(
            "augment done: %d outputs, %d shortfalls in %.1f s",
            len(result.outputs),
            len(result.shortfalls),
            time.perf_counter() - started,
        )
        status, produced = "succeeded", len(result.outputs)
        if result.stats.decode_seconds is not None:  # diffusioncls: the sampler's own throughput
            chains, chain_seconds = result.stats.chains_decoded or 0, result.stats.decode_seconds
        return result.model_dump(mode="json")
    except JobCanceled:
        status = "canceled"
        raise
    except Exception as err:
        error = describe_error(err, context.limit_s)
        error_type = error.type
        context.record_error(error)
        raise
    finally:
        from worker.runtime import release_memory  # torch-bound: imported where jobs run

        release_memory()
        busy.set(0)
        record_job(
            method=method,
            status=status,
            seconds=time.perf_counter() - started,
            produced=produced,
            error_type=error_type,
            chains=chains,
            chain_seconds=chain_seconds,
        )


def _check_checkpoint(request: AugmentPayload, runtime: Any) -> None:
    """The service checked the job against its checkpoint: refuse it if this worker serves another."""
    if request.checkpoint_id and request.checkpoint_id != runtime.info.checkpoint_id:
        raise ModelMismatch(
            f"the job was checked against checkpoint {request.checkpoint_id} but this worker serves "
            f"{runtime.info.checkpoint_id} ({runtime.info.folder.name}); give the service and the "
            "worker the same CHECKPOINT_DIR"
        )


def run_augment(runtime: Any, request: AugmentPayload, progress: Any = None) -> AugmentJobResult:
    """Build the requested method, apply the policy, and turn the result into the job contract."""
    from training.policies import augment_balanced, each_counts

    augmenter = build_method(runtime, request)
    if request.policy == "bd":
        result = augment_balanced(
            augmenter, request.texts, request.labels, seed=request.seed, progress=progress
        )
    else:
        counts = each_counts(len(request.texts), request.n)
        result = augmenter.augment(
            request.texts, request.labels, counts, seed=request.seed, progress=progress
        )
    if request.method != "diffusioncls" and runtime.classifier is not None and result.augmentations:
        from training.augmenters.diffusion import score_augmentations

        score_augmentations(runtime.classifier, result.augmentations)  # diffusioncls scores its own
    outputs = []
    too_long: dict[int, int] = {}
    for a in result.augmentations:
        if request.max_output_chars is not None and len(a.text) > request.max_output_chars:
            too_long[a.source_index] = too_long.get(a.source_index, 0) + 1
            continue
        outputs.append(_output(a))
    shortfalls = [
        ShortfallOut(
            source_index=s.source_index,
            requested=s.requested,
            produced=s.produced - too_long.pop(s.source_index, 0),
            reason=s.reason,
            # A per-input shortfall names its input's label too (a whole-class one already has it).
            label=s.label if s.label is not None or s.source_index < 0 else request.labels[s.source_index],
        )
        for s in result.shortfalls
    ]
    per_input = each_counts(len(request.texts), request.n) if request.policy == "ge" else None
    for index, dropped in sorted(too_long.items()):
        requested = per_input[index] if per_input is not None else dropped
        shortfalls.append(
            ShortfallOut(
                source_index=index,
                requested=requested,
                produced=requested - dropped,
                reason=f"{dropped} output(s) over the {request.max_output_chars}-character limit were dropped",
                label=request.labels[index],
            )
        )
    shortfalls.sort(key=lambda s: s.source_index)
    stats = JobStats(**{**result.stats, "produced": len(outputs)})
    return AugmentJobResult(method=request.method, outputs=outputs, shortfalls=shortfalls, stats=stats)


def _output(augmentation: Any) -> Output:
    """One augmentation as the job contract's output: the classifier's view out of its provenance."""
    provenance = dict(augmentation.provenance)
    label_prob = provenance.pop("label_prob", None)
    if isinstance(label_prob, float) and math.isnan(label_prob):
        label_prob = None  # the classifier does not know this label; JSON has no NaN
    return Output(
        text=augmentation.text,
        label=augmentation.label,
        source_index=augmentation.source_index,
        label_prob=label_prob,
        predicted_label=provenance.pop("predicted_label", None),
        provenance=provenance,
    )


def build_method(runtime: Any, request: AugmentPayload) -> Any:
    """The requested method behind the plain `Augmenter` interface, with this request's settings."""
    from worker.methods import DIFFUSION, build_classic

    if request.method != DIFFUSION:
        return build_classic(
            request.method, request.params, checkpoint=runtime.checkpoint, device=runtime.device
        )
    from dataclasses import replace

    from training.augmenters.diffusion import DiffusionOptions

    if runtime.augmenter is None:
        raise RuntimeError("this process loaded the checkpoint for classification only")
    # The request's decoding settings over the checkpoint's defaults (None = the default).
    given = {**request.decoding.model_dump(exclude_none=True), "steps": request.steps}
    defaults = replace(
        runtime.checkpoint.settings.sampler, **{k: v for k, v in given.items() if v is not None}
    )
    options = DiffusionOptions.from_settings(defaults, min_label_prob=request.min_label_prob)
    return runtime.augmenter.configured(options)


def describe_error(err: BaseException, limit_s: float | None) -> JobError:
    """A failure reason a person can act on."""
    if isinstance(err, JobTimedOut) or type(err).__name__ == "JobTimeoutException":  # ours or rq's
        limit = f" of {limit_s:g} s" if limit_s else ""
        return JobError(
            type="timeout",
            message=f"the job ran past its time limit{limit} (JOB_TIMEOUT_S); send fewer items or a smaller n",
        )
    if isinstance(err, ModelMismatch):
        return JobError(type="model_mismatch", message=str(err))
    if isinstance(err, ValueError):
        return JobError(type="invalid_request", message=str(err))
    return JobError(type="internal", message=f"{type(err).__name__}: {err}")
