"""What travels between the service and the worker: job payloads, job results, shared key names.

Everything here is JSON (the queue uses rq's JSON serializer, never pickle) and this module imports
neither torch nor any of `training` but `training.defaults` (which imports nothing), so the service
can validate and enqueue work without loading a model.
The service's request schemas live apart (`service/schemas.py`): the HTTP API may evolve without
changing what a worker expects.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from training.defaults import DECODING_KNOBS, PSEUDO_PER_ORIGINAL, STEP_GROUPS  # imports nothing

CONTRACT_VERSION = 1
AUGMENT_JOB = "worker.jobs.augment"  # enqueued by import path; the worker resolves it
DEFAULT_QUEUE = "augment"
KEY_PREFIX = "dcls"


def cancel_key(job_id: str) -> str:
    """Redis key set by the service when a running job should stop; polled by the running job."""
    return f"{KEY_PREFIX}:cancel:{job_id}"


def idempotency_key(digest: str) -> str:
    return f"{KEY_PREFIX}:idempotency:{digest}"


def _knob_limits(name: str) -> Any:
    """pydantic constraints of decoding knob `name` (training.defaults.DECODING_KNOBS)."""
    knob = DECODING_KNOBS[name]
    if knob.kind is int:
        low, high = int(knob.low), int(knob.high)
        return Field(gt=low, le=high) if knob.open_low else Field(ge=low, le=high)
    if knob.open_low:
        return Field(gt=knob.low, le=knob.high, allow_inf_nan=False)
    return Field(ge=knob.low, le=knob.high, allow_inf_nan=False)


class Decoding(BaseModel):
    """Decoding settings of the diffusion sampler; None means the checkpoint's default.

    The limits are training.defaults.DECODING_KNOBS', inside each number's type (so an optional field's
    JSON schema keeps them on its number branch); the API's request body extends this model."""

    model_config = ConfigDict(extra="forbid")

    rounds: Annotated[int, _knob_limits("rounds")] | None = Field(
        None, description=DECODING_KNOBS["rounds"].help
    )
    temperature: Annotated[float, _knob_limits("temperature")] | None = Field(
        None, description=DECODING_KNOBS["temperature"].help
    )
    top_k: Annotated[int, _knob_limits("top_k")] | None = Field(
        None, description=DECODING_KNOBS["top_k"].help
    )
    top_p: Annotated[float, _knob_limits("top_p")] | None = Field(
        None, description=DECODING_KNOBS["top_p"].help
    )
    guidance_scale: Annotated[float, _knob_limits("guidance_scale")] | None = Field(
        None, description=DECODING_KNOBS["guidance_scale"].help
    )
    guided_rounds: Annotated[int, _knob_limits("guided_rounds")] | None = Field(
        None, description=DECODING_KNOBS["guided_rounds"].help
    )
    repetition_penalty: Annotated[float, _knob_limits("repetition_penalty")] | None = Field(
        None, description=DECODING_KNOBS["repetition_penalty"].help
    )
    prior_correction: Annotated[float, _knob_limits("prior_correction")] | None = Field(
        None, description=DECODING_KNOBS["prior_correction"].help
    )


class AugmentPayload(BaseModel):
    """One augmentation job, as the worker receives it (already validated by the service)."""

    model_config = ConfigDict(extra="forbid")

    contract_version: int = CONTRACT_VERSION
    checkpoint_id: str | None = None  # the service's checkpoint; a worker with another one refuses the job
    method: str
    texts: list[str]
    labels: list[str]
    policy: Literal["ge", "bd"] = "ge"  # ge: n per text; bd: top up minority classes to the largest
    n: int = PSEUDO_PER_ORIGINAL
    steps: tuple[int, int] | None = None  # inclusive corruption step range; None: checkpoint default
    decoding: Decoding = Field(default_factory=Decoding)
    params: dict[str, Any] = Field(default_factory=dict)  # method-specific options (classic augmenters)
    seed: int = 0
    min_label_prob: float = 0.0  # diffusioncls: the label-probability filter with top-up (0 = off)
    # Outputs longer than this are dropped (reported as shortfalls), so every output can be sent back
    # as input; the service sets its MAX_TEXT_CHARS. None: no limit.
    max_output_chars: int | None = None


class _Provenance(BaseModel):
    # forbid: a fact a method adds without declaring it here fails the worker's tests, not a client
    model_config = ConfigDict(extra="forbid", validate_by_name=True, serialize_by_alias=True)

    seed: int = Field(description="the job's seed")


class DiffusionProvenance(_Provenance):
    """How a DiffusionCLS output was made: which words were masked at which step, and what changed."""

    method: Literal["diffusioncls"]
    chain: int = Field(description="index of the decoding chain among this input's chains")
    step: int = Field(description="corruption step t (of the schedule's T) the input was masked at")
    rounds: int = Field(description="decoding rounds K that filled the masks")
    mask_ratio: float = Field(description="share of the input's word pieces that were masked")
    masked_positions: list[int] = Field(description="positions of the masked word pieces in the input")
    changed_ratio: float = Field(description="share of the input's word pieces that differ in the output")
    below_min_label_prob: bool | None = Field(
        None,
        description="true when the output's label probability is under the job's min_label_prob: the "
        "best of the rest, kept so that n outputs come back",
    )


class _TriedProvenance(_Provenance):
    try_index: int = Field(alias="try", description="which try for this input produced the output")


class EdaProvenance(_TriedProvenance):
    method: Literal["eda"]
    operation: Literal["sr", "ri", "rs", "rd"] = Field(
        description="synonym replacement, random insertion, random swap or random deletion"
    )
    edits: list[dict[str, Any] | list[int]] = Field(
        description="what the operation did: sr {word, synonym, positions}; ri {position, word, source, "
        "of}; rs [word index, word index] per swap; rd {position, word} per deleted word"
    )
    synonym_source: str | None = Field(description="the synonym source used (null: none was available)")


class _Insertion(BaseModel):
    model_config = ConfigDict(extra="forbid")

    position: int = Field(description="word index the mark was inserted before")
    mark: str


class AedaProvenance(_TriedProvenance):
    method: Literal["aeda"]
    insertions: list[_Insertion]
    ratio: float = Field(description="the job's ratio: up to int(ratio * words) + 1 marks")


class _Replacement(BaseModel):
    model_config = ConfigDict(extra="forbid")

    position: int = Field(description="word-piece position in the input")
    old: str
    new: str


class MlmSubstitutionProvenance(_TriedProvenance):
    method: Literal["mlm_substitution"]
    p: float = Field(description="share of the words masked")
    top_k: int
    masked_positions: list[int]
    mask_ratio: float
    changed_ratio: float
    replaced: list[_Replacement]


class ResampleProvenance(_TriedProvenance):
    method: Literal["resample"]
    copy_of_input: Literal[True]
    note: str


Provenance = Annotated[
    DiffusionProvenance | EdaProvenance | AedaProvenance | MlmSubstitutionProvenance | ResampleProvenance,
    Field(discriminator="method"),
]


class Output(BaseModel):
    text: str
    label: str
    source_index: int
    label_prob: float | None = None  # the classifier's probability of `label` for `text`
    predicted_label: str | None = None
    provenance: Provenance = Field(description="how the output was made; its fields depend on the method")


class ShortfallOut(BaseModel):
    """An input (source_index >= 0) or a whole class (source_index -1, label set) left short."""

    source_index: int
    requested: int
    produced: int
    reason: str
    label: str | None = None


class JobStats(BaseModel):
    """What a job did and what it cost; the counters a method does not have are null."""

    model_config = ConfigDict(extra="forbid")

    requested: int = Field(description="outputs asked for")
    produced: int = Field(description="outputs returned")
    seconds: float | None = Field(None, description="time the method took")
    tries: int | None = Field(None, description="candidate texts drawn (classic methods)")
    chains_decoded: int | None = Field(
        None, description="diffusion chains decoded (or masked-LM passes' texts)"
    )
    forward_passes: int | None = Field(None, description="model forward passes")
    importance_seconds: float | None = Field(None, description="DiffusionCLS: token importance")
    draw_seconds: float | None = Field(None, description="DiffusionCLS: drawing the masks")
    decode_seconds: float | None = Field(None, description="DiffusionCLS: filling the masks")
    accept_seconds: float | None = Field(None, description="DiffusionCLS: keeping distinct new texts")


class AugmentJobResult(BaseModel):
    method: str
    outputs: list[Output]
    shortfalls: list[ShortfallOut]
    stats: JobStats


class JobError(BaseModel):
    """Why a job failed, in words a person can act on (never a traceback)."""

    type: str  # invalid_request, timeout, worker_lost, model_mismatch, internal
    message: str


class Progress(BaseModel):
    done: int
    total: int


def steps_json_schema(total_steps: int, n_groups: int = STEP_GROUPS) -> dict[str, Any]:
    """The JSON Schema of exactly the `steps` values `training.steps.parse_steps` accepts for this `total_steps`."""
    numbers = "|".join(str(v) for v in range(total_steps, 0, -1))  # longest first
    step = rf"(?:{numbers})"
    forms = [rf"{step}(?:\s*[-:]\s*{step})?"]
    if total_steps % n_groups == 0:
        forms.append(f"group:(?:{'|'.join(str(g) for g in range(n_groups, 0, -1))})")
    return {
        "anyOf": [
            {"type": "string", "pattern": rf"^\s*(?:{'|'.join(forms)})\s*$"},
            {
                "type": "array",
                "items": {"type": "integer", "minimum": 1, "maximum": total_steps},
                "minItems": 1,
                "maxItems": 2,
            },
            {"type": "null"},
        ]
    }
