"""Settings of the API process: one object from the environment, checked at start (docs/API.md lists them).

The model and queue settings are the worker's (REDIS_URL, QUEUE_NAME, CHECKPOINT_DIR, DEVICE, ...);
this adds limits, timeouts and the API key. Model paths come only from here, never from a request.
"""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator

from service.http_protocol import HttpParser
from worker.settings import WorkerSettings


class Settings(WorkerSettings):
    api_key: SecretStr | None = Field(None, description="when set, every route but health needs it")
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)

    # Request limits (413 for sizes, 422 for values, 429 for a full queue).
    max_body_bytes: int = Field(1_000_000, ge=1_000)
    max_items: int = Field(256, ge=1, description="items per /augment request")
    max_text_chars: int = Field(2_000, ge=1, description="characters per text (augment and classify)")
    max_n: int = Field(16, ge=1, description="largest n (new texts per item)")
    max_classify_texts: int = Field(256, ge=1, description="texts per /classify request")
    max_queue_depth: int = Field(100, ge=1, description="queued augment jobs before 429")
    request_read_timeout_s: float = Field(
        15.0,
        gt=0,
        le=3_600,
        description="seconds a client has to send a whole request (headers and body) once it starts one, "
        "or once it connects; then 408 and the connection is closed (slow clients, slowloris)",
    )
    http_parser: HttpParser = Field(
        "httptools", description="HTTP/1.1 parser: httptools (C, the faster) or h11 (pure Python)"
    )

    # Jobs.
    job_timeout_s: float = Field(900, gt=0, description="a job running longer fails as timed out")
    result_ttl_s: int = Field(86_400, ge=1, description="how long a finished job's result is kept")
    failure_ttl_s: int = Field(86_400, ge=1, description="how long a failed or canceled job is kept")
    job_retries: int = Field(1, ge=0, le=10, description="re-runs of a job whose worker died mid-job")

    # Logging.
    log_redact_params: list[str] = Field(
        default_factory=list,
        description="query parameters whose values the access log masks, beyond the key/token-like names",
    )

    # /classify micro-batching.
    classify_enabled: bool = Field(True, description="load the classifier for /classify (needs torch)")
    classify_batch_wait_ms: float = Field(0.0, ge=0, le=1_000)
    classify_max_batch: int = Field(64, ge=1, description="texts per batched forward pass")

    @field_validator("api_key")
    @classmethod
    def _api_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value():
            return None  # API_KEY= (empty) means no key
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError("API_KEY must be at least 16 characters (or unset to disable the key)")
        return value

    @property
    def embedded(self) -> bool:
        return self.redis_url is None

    @property
    def api_key_bytes(self) -> bytes | None:
        return self.api_key.get_secret_value().encode() if self.api_key is not None else None
