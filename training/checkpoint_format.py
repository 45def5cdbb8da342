"""The checkpoint's settings file, read once for everyone: its name, its format marker and version, and
the checks every reader makes before trusting it.

`training.checkpoint` (the writer, and the full reader that loads models) and `worker.checkpoint_info`
(the torch-free reader the service validates requests with) both open the file through
`read_settings_file`, so a folder is accepted or refused the same way, with the same message.
Standard library only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SETTINGS_FILE = "diffusioncls.json"
FORMAT = "diffusioncls-checkpoint"
FORMAT_VERSION = 1


class CheckpointError(ValueError):
    """A folder that is not a checkpoint this code can read, or a checkpoint that cannot be written."""


def read_settings_file(folder: str | Path) -> tuple[bytes, dict[str, Any]]:
    """(the file's bytes, its JSON body) of `folder`'s settings file, once its format is checked."""
    path = Path(folder) / SETTINGS_FILE
    if not path.is_file():
        raise CheckpointError(
            f"{Path(folder).resolve()} is not a checkpoint folder ({SETTINGS_FILE} is missing); "
            "`bash scripts/run.sh` fits the sample one and serves it, `python -m training fit` fits "
            "one on your data; or point CHECKPOINT_DIR at one"
        )
    raw = path.read_bytes()
    try:
        body = json.loads(raw)
    except json.JSONDecodeError as err:
        raise CheckpointError(f"{path} is not valid JSON: {err}") from None
    if not isinstance(body, dict) or body.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a {FORMAT} settings file")
    if body.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: checkpoint format version {body.get('format_version')} is not supported "
            f"(expected {FORMAT_VERSION})"
        )
    return raw, body
