"""Request and response bodies of the HTTP API. The job contracts in `worker.contracts` are separate,
except the decoding knobs: `DecodingRequest` extends the worker's `Decoding`, so both share one set of limits.

Strict types: a number is a JSON number and a string a JSON string ("n": "2", 2.0 or true is refused,
not coerced). Static checks live here; the limits that come from settings (items, characters, n) and the checks
against the loaded checkpoint (labels, step range) are made in the routes, with messages naming the
setting or the accepted values.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from training.defaults import (  # imports nothing
    DECODING_KNOBS,
    EVERY_ROUND_GUIDED,
    NO_PRIOR_CORRECTION,
    NO_REPETITION_PENALTY,
)
from worker.contracts import AugmentJobResult, Decoding, JobError, Progress


def _whole_number(value: Any) -> Any:
    """6.0 is the integer 6 in JSON (and in JSON Schema's `integer`); anything else is left to the
    strict check (`"6"` and 6.5 stay refused)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# Integer field types, their limits inside (so an optional field's schema keeps them on its integer branch)
WholeNumber = Annotated[int, BeforeValidator(_whole_number)]
PerItem = Annotated[int, Field(ge=1), BeforeValidator(_whole_number)]
# 2**53 - 1: the largest integer a JSON number keeps exactly in every client (JavaScript, doubles)
Seed = Annotated[int, Field(ge=0, le=2**53 - 1), BeforeValidator(_whole_number)]


JobStatus = Literal["queued", "running", "succeeded", "failed", "canceled"]


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    text: str = Field(min_length=1, description="the labelled text to rewrite")
    label: str = Field(min_length=1, description="its label; one of the checkpoint's labels (GET /info)")


class DecodingRequest(Decoding):
    """Decoding settings; each one left out takes the checkpoint's default (GET /info). The knobs and
    their limits are the worker contract's (`worker.contracts.Decoding`), read strictly here."""

    model_config = ConfigDict(extra="forbid", strict=True)

    @field_validator(*(name for name, knob in DECODING_KNOBS.items() if knob.kind is int), mode="before")
    @classmethod
    def _whole_numbers(cls, value: Any) -> Any:
        return _whole_number(value)


class AugmentRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {"text": "The staff were friendly and the room was spotless.", "label": "positive"},
                        {"text": "I waited an hour and nobody called me back.", "label": "negative"},
                    ],
                    "method": "diffusioncls",
                    "n": 2,
                    "seed": 7,
                }
            ]
        },
    )

    items: list[Item] = Field(min_length=1, description="labelled texts (at most MAX_ITEMS)")
    method: str = Field("diffusioncls", description="augmentation method; GET /info lists them")
    policy: Literal["ge", "bd"] = Field(
        "ge",
        description="ge (generate-each, the paper's G/E): n new texts per item; bd (balance-dataset, the "
        "paper's B/D): new texts for the smaller classes until each matches the largest one",
    )
    n: PerItem | None = Field(
        None, description="new texts per item under policy ge (default 4, at most MAX_N)"
    )
    steps: str | list[WholeNumber] | None = Field(
        None,
        description="corruption step range: '13-16', '14', 'group:4' or [13, 16]; default: the checkpoint's",
    )
    decoding: DecodingRequest = Field(default_factory=DecodingRequest)
    params: dict[str, Any] = Field(default_factory=dict, description="options of a classic method")
    min_label_prob: float | None = Field(
        None,
        ge=0,
        lt=1,
        description="diffusioncls: keep outputs the classifier gives their label at least this probability, "
        "topping up with fresh rewrites; any that never reach it come back flagged "
        "provenance.below_min_label_prob (0 = off; left out: the checkpoint's, GET /info "
        "defaults.min_label_prob: 0.5 for checkpoints fit writes unless fit --min-label-prob named another)",
    )
    seed: Seed = Field(0, description="the same seed and request give the same outputs")


class JobAccepted(BaseModel):
    id: str
    status: JobStatus
    location: str


class JobView(BaseModel):
    id: str
    status: JobStatus
    method: str | None = None
    progress: Progress | None = None
    attempts: int = 0
    cancel_requested: bool = False
    created_at: str | None = None
    started_at: str | None = None
    ended_at: str | None = None
    error: JobError | None = None
    result: AugmentJobResult | None = None


class ClassifyRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid", strict=True, json_schema_extra={"examples": [{"texts": ["What a lovely day!"]}]}
    )

    texts: list[str] = Field(min_length=1, description="texts to classify (at most MAX_CLASSIFY_TEXTS)")


class ClassifyResult(BaseModel):
    label: str
    probabilities: dict[str, float]


class ClassifyResponse(BaseModel):
    model: str = Field(description="which component answered: 'classifier' or, without one, the 'proxy'")
    results: list[ClassifyResult]


class Liveness(BaseModel):
    status: Literal["alive"]


class ReadinessChecks(BaseModel):
    models: str = Field(description="pending, loading, ready or failed")
    queue: Literal["ok", "unreachable"]
    mode: Literal["embedded", "redis"]
    models_error: str | None = Field(None, description="why the models failed to load")
    workers: int | None = Field(None, description="workers serving the queue (Redis mode)")
    warning: str | None = Field(None, description="why the status is degraded")


class Readiness(BaseModel):
    status: Literal["ready", "degraded"] = Field(
        description="degraded: the API takes jobs but no worker serves the queue yet"
    )
    checks: ReadinessChecks


class ModelDescription(BaseModel):
    checkpoint: str
    checkpoint_id: str
    base_model: str
    labels: list[str]
    components: list[str]
    classify_with: str | None = Field(description="classifier, or the proxy when there is no classifier")
    created_at: str | None
    versions: dict[str, str]
    state: str = Field(description="pending, loading, ready or failed")
    device: str | None


class DecodingDefaults(BaseModel):
    rounds: int
    temperature: float
    top_k: int
    top_p: float
    guidance_scale: float
    # checkpoints fitted before a knob existed decode without it: every round guided, no penalty,
    # no prior correction
    guided_rounds: int = EVERY_ROUND_GUIDED
    repetition_penalty: float = NO_REPETITION_PENALTY
    prior_correction: float = NO_PRIOR_CORRECTION


class Defaults(BaseModel):
    n: int
    policy: Literal["ge", "bd"]
    steps: list[int]
    total_steps: int
    decoding: DecodingDefaults
    min_label_prob: float  # what a diffusioncls request that leaves it out gets


class Limits(BaseModel):
    max_items: int
    max_text_chars: int
    max_n: int
    max_body_bytes: int
    max_queue_depth: int
    max_classify_texts: int
    job_timeout_s: float
    result_ttl_s: int


class Info(BaseModel):
    version: str
    mode: Literal["embedded", "redis"]
    model: ModelDescription
    defaults: Defaults
    methods: dict[str, str] = Field(description="method name -> what it does")
    limits: Limits
    auth: bool = Field(description="whether the API wants a key")
