"""What a checkpoint folder promises, read from its `diffusioncls.json` without torch.

The service validates requests (labels, step ranges, decoding defaults) against the checkpoint it
serves without loading a model. The file is opened and its format checked by
`training.checkpoint_format.read_settings_file`, as `training.checkpoint` does; this reader then keeps
only the public JSON keys the service needs.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from training.checkpoint_format import (  # standard library only
    SETTINGS_FILE,
    CheckpointError,
    read_settings_file,
)
from training.defaults import DEFAULT_STEPS  # imports nothing

# One error for a folder that is not a readable checkpoint, whichever reader finds it
CheckpointInfoError = CheckpointError


@dataclass(frozen=True)
class CheckpointInfo:
    folder: Path
    checkpoint_id: str  # digest of the settings file: tells two checkpoints apart across processes
    labels: list[str]
    base_model: str
    total_steps: int
    # steps [lo, hi], the decoding knobs (training.defaults.DECODING_KNOBS) and min_label_prob
    sampler: dict[str, Any]
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
    def default_min_label_prob(self) -> float:
        """The label filter a diffusioncls request gets when it does not set one: the one `fit` used
        (training.checkpoint.SamplerDefaults.min_label_prob; a checkpoint without it, none)."""
        return float(self.sampler.get("min_label_prob", 0.0))

    @property
    def default_steps(self) -> tuple[int, int]:
        low, high = self.sampler.get("steps", DEFAULT_STEPS)
        return int(low), int(high)


def read_checkpoint_info(folder: str | Path) -> CheckpointInfo:
    folder = Path(folder)
    raw, body = read_settings_file(folder)
    path = folder / SETTINGS_FILE
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
