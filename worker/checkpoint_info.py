"""What a checkpoint folder promises, read from its `diffusioncls.json` without torch.

The service validates requests (labels, step ranges, decoding defaults) against the checkpoint it
serves without loading a model, so it reads the settings file directly. `training.checkpoint` remains
the one writer and full reader of the format; this reader only needs the public JSON keys and checks
the same format marker and version.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from training.defaults import DEFAULT_STEPS  # imports nothing

SETTINGS_FILE = "diffusioncls.json"
FORMAT = "diffusioncls-checkpoint"
FORMAT_VERSION = 1


class CheckpointInfoError(ValueError):
    pass


@dataclass(frozen=True)
class CheckpointInfo:
    folder: Path
    checkpoint_id: str  # digest of the settings file: tells two checkpoints apart across processes
    labels: list[str]
    base_model: str
    total_steps: int
    sampler: dict[str, Any]  # steps [lo, hi], rounds, temperature, top_k, top_p, guidance_scale
    components: list[str]
    created_at: str = ""
    versions: dict[str, str] = field(default_factory=dict)

    @property
    def classifier_component(self) -> str | None:
        """The sequence classifier /classify uses: the task classifier when trained, else the proxy."""
        for name in ("classifier", "proxy"):
            if name in self.components:
                return name
        return None

    @property
    def default_steps(self) -> tuple[int, int]:
        low, high = self.sampler.get("steps", DEFAULT_STEPS)
        return int(low), int(high)


def read_checkpoint_info(folder: str | Path) -> CheckpointInfo:
    folder = Path(folder)
    path = folder / SETTINGS_FILE
    if not path.is_file():
        raise CheckpointInfoError(
            f"{folder} is not a checkpoint folder ({SETTINGS_FILE} is missing); "
            "create one with `python -m training fit` or point CHECKPOINT_DIR at one"
        )
    raw = path.read_bytes()
    try:
        body = json.loads(raw)
    except json.JSONDecodeError as err:
        raise CheckpointInfoError(f"{path} is not valid JSON: {err}") from None
    if body.get("format") != FORMAT:
        raise CheckpointInfoError(f"{path} is not a {FORMAT} settings file")
    if body.get("format_version") != FORMAT_VERSION:
        raise CheckpointInfoError(
            f"{path}: checkpoint format version {body.get('format_version')} is not supported "
            f"(expected {FORMAT_VERSION})"
        )
    try:
        return CheckpointInfo(
            folder=folder,
            checkpoint_id=hashlib.sha256(raw).hexdigest()[:16],
            labels=list(body["labels"]),
            base_model=str(body["base_model"]),
            total_steps=int(body["schedule"]["total_steps"]),
            sampler=dict(body["sampler"]),
            components=list(body.get("components", [])),
            created_at=str(body.get("created_at", "")),
            versions=dict(body.get("versions", {})),
        )
    except (KeyError, TypeError, ValueError) as err:
        raise CheckpointInfoError(f"{path} lacks or has a bad field: {err}") from None
