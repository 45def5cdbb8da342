"""Trained models of quality-bench runs kept on disk, so a later run (other methods, an ablation, a
resumed run) loads the proxy, the generators and the judge of a seed instead of training them again.

An entry is keyed by everything that determines its weights: the stage, the dataset's bytes, the
setting, the seed and the split, the base model's files, the stage's configuration, and
`FORMAT` (raise it when a training change makes old entries wrong). Training is deterministic for a
given seed (every stage draws from its own seeded streams), so a loaded model is the model the run
would have trained.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

import torch

FORMAT = 1


def file_fingerprint(path: str | Path) -> str:
    """sha256 of a file's bytes (the dataset split a run reads)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def folder_fingerprint(path: str | Path) -> str:
    """Names, sizes and modification times of a folder's files (a base model), or the string itself
    when it is not a folder (a hub id). Cheap: base weights are tens of MB and read by every stage."""
    folder = Path(path)
    if not folder.is_dir():
        return str(path)
    entries = sorted(
        (p.relative_to(folder).as_posix(), p.stat().st_size, int(p.stat().st_mtime))
        for p in folder.rglob("*")
        if p.is_file()
    )
    return hashlib.sha256(json.dumps(entries).encode()).hexdigest()


def entry_key(stage: str, parts: dict[str, Any]) -> str:
    """A stable name for one entry: the stage and a hash of its parts (JSON, keys sorted)."""
    body = json.dumps({"format": FORMAT, "stage": stage, **parts}, sort_keys=True, default=str)
    return f"{stage}-{hashlib.sha256(body.encode()).hexdigest()[:20]}"


class ModelCache:
    """A folder of entries, each `<stage>-<hash>/` with `weights.pt` (a state dict) and `meta.json`.

    Entries are written to a temporary folder and renamed into place, so an interrupted write leaves
    no entry (and two runs writing the same entry both end with a whole one)."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.hits = 0  # entries loaded
        self.misses = 0  # entries that were not there, trained and saved

    def has(self, key: str) -> bool:
        """Whether the entry exists (ask before building a model to load it into)."""
        return (self.root / key / "meta.json").is_file()

    def load(self, key: str, model: torch.nn.Module) -> dict | None:
        """Load the entry's weights into `model` and return its metadata, or None when absent."""
        folder = self.root / key
        if not self.has(key):
            return None
        state = torch.load(folder / "weights.pt", map_location="cpu", weights_only=True)
        model.load_state_dict(state)
        self.hits += 1
        return json.loads((folder / "meta.json").read_text())

    def save(self, key: str, model: torch.nn.Module, meta: dict) -> None:
        self.misses += 1
        folder = self.root / key
        tmp = self.root / f".{key}.{os.getpid()}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, tmp / "weights.pt")
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1, default=str) + "\n")
        try:
            tmp.rename(folder)
        except OSError:  # another run wrote the same entry first: keep theirs
            shutil.rmtree(tmp, ignore_errors=True)
