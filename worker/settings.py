"""Settings of a worker process, from the environment (documented in docs/API.md), checked at start."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from worker.contracts import DEFAULT_QUEUE


class WorkerSettings(BaseSettings):
    # A refused value is never echoed (API_KEY, or a password in REDIS_URL): messages name the variable.
    model_config = SettingsConfigDict(
        env_prefix="", case_sensitive=False, extra="ignore", hide_input_in_errors=True
    )

    redis_url: str | None = Field(
        None,
        description="redis://host:port/db of the job queue; the worker needs it, the service without it "
        "runs jobs itself (embedded mode)",
    )
    queue_name: str = Field(DEFAULT_QUEUE, min_length=1, max_length=64)
    checkpoint_dir: Path = Field(
        Path("checkpoints/sample"), description="checkpoint folder, loaded read-only"
    )
    device: str = Field("auto", description="auto (cuda when available), cpu, cuda or cuda:N")
    torch_threads: int | None = Field(
        None, ge=1, description="CPU threads for torch; default: torch's choice"
    )
    heartbeat_s: float = Field(
        10.0,
        gt=0,
        le=600,
        description="a running job's heartbeat; it counts as abandoned after 3 missed beats",
    )
    log_level: str = Field("INFO", pattern=r"(?i)^(debug|info|warning|error)$")
    metrics_port: int | None = Field(
        None, ge=1, le=65535, description="serve this worker's Prometheus metrics on this port (/metrics)"
    )
    classify_quantize: Literal["none", "int8"] = Field(
        "none",
        description="int8: the classifier's linear layers in int8 on the CPU (1.6-1.8x the /classify "
        "calls/s for about 1 point of accuracy; docs/SPEED.md); none: as trained",
    )
    log_format: Literal["plain", "json"] = Field(
        "plain", description="plain text lines, or one JSON object per line (with request_id and job_id)"
    )

    @field_validator("device")
    @classmethod
    def _device(cls, value: str) -> str:
        if value not in ("auto", "cpu", "cuda") and not (value.startswith("cuda:") and value[5:].isdigit()):
            raise ValueError("DEVICE must be auto, cpu, cuda or cuda:N")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            return None  # REDIS_URL= (empty) means unset: embedded mode
        if value is not None and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("REDIS_URL must start with redis://, rediss:// or unix://")
        return value


SettingsT = TypeVar("SettingsT", bound=BaseSettings)


def settings_help(settings: type[BaseSettings], usage: str) -> str:
    """`--help` of an entry point configured by the environment: `usage`, then every variable with
    its default and what it does."""
    lines = [usage, "", "Settings, from environment variables (docs/API.md: Settings):"]
    for name, field in settings.model_fields.items():
        default = field.get_default(call_default_factory=True)
        shown = "unset" if default is None else str(default)
        lines.append(f"  {name.upper():<26} {shown:<20} {field.description or ''}".rstrip())
    return "\n".join(lines)


def describe_settings_error(err: ValidationError) -> str:
    """One line per refused variable, naming it and why (never its value: it may hold a secret)."""
    lines = []
    for problem in err.errors():
        name = ".".join(str(part) for part in problem["loc"]).upper() or "settings"
        lines.append(f"  {name}: {problem['msg']}")
    return "\n".join(lines)


def settings_from_environment(
    settings: type[SettingsT], prog: str, usage: str, argv: list[str]
) -> tuple[SettingsT | None, int]:
    """The start of an entry point configured by the environment: (its settings, 0), or (None, the
    exit code) after `--help` (0), an argument (2) or a refused setting (2), each said on the way."""
    if argv:
        if argv[0] in ("-h", "--help"):
            print(settings_help(settings, usage))
            return None, 0
        print(
            f"{prog}: takes no arguments (settings come from the environment; see --help): {argv[0]}",
            file=sys.stderr,
        )
        return None, 2
    try:
        return settings(), 0
    except ValidationError as err:
        print(f"{prog}: bad settings:\n{describe_settings_error(err)}", file=sys.stderr)
    except SettingsError as err:  # a value pydantic-settings cannot even parse (a list that is not JSON)
        print(f"{prog}: bad settings: {err}", file=sys.stderr)
    return None, 2
