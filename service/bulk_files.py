"""What a bulk run is and its files: `BulkJob` (the input rows, the settings and the chunks they are
cut into), the input CSV read into rows, the resumable `OUT.parts/` folder of finished chunks, and the
output CSV written from it in input order. Standard library only: `service.client` submits the chunks
through the API.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

# Bumped when the saved parts change shape (2: the row column renamed source_row -> source_index, the
# CLI's name), so a resumed run starts afresh instead of mixing old parts into the new CSV.
PARTS_FORMAT = 2


@dataclass(frozen=True)
class BulkJob:
    rows: list[tuple[str, str]]  # (text, label) of the input, in order
    out: Path
    n: int
    method: str = "diffusioncls"
    seed: int = 0
    steps: str | None = None
    decoding: dict[str, Any] = field(default_factory=dict)
    chunk_size: int = 64
    in_flight: int = 4
    attempts: int = 3  # submissions of one chunk before the run gives up

    def fingerprint(self) -> str:
        """What the outputs depend on: a resumed run must have the same, or it starts afresh."""
        spec = {
            "parts_format": PARTS_FORMAT,
            "rows": self.rows,
            "n": self.n,
            "method": self.method,
            "seed": self.seed,
            "steps": self.steps,
            "decoding": self.decoding,
            "chunk_size": self.chunk_size,
        }
        return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()

    @cached_property  # read per chunk in the loops below: built once (a million rows make 15k chunks)
    def chunks(self) -> list[range]:
        return [
            range(s, min(s + self.chunk_size, len(self.rows)))
            for s in range(0, len(self.rows), self.chunk_size)
        ]


class BulkState:
    """`OUT.parts/`: a manifest (the run's fingerprint) and one JSON file per finished chunk; a
    chunk's file is written atomically, so an interrupted run never leaves half of one."""

    def __init__(self, job: BulkJob):
        self.folder = job.out.with_name(job.out.name + ".parts")
        self.folder.mkdir(parents=True, exist_ok=True)
        manifest = self.folder / "manifest.json"
        fingerprint = job.fingerprint()
        if manifest.exists() and json.loads(manifest.read_text()).get("fingerprint") != fingerprint:
            for old in self.folder.glob("chunk-*.json"):  # another input or other settings
                old.unlink()
        manifest.write_text(json.dumps({"fingerprint": fingerprint, "chunks": len(job.chunks)}) + "\n")
        self.fingerprint = fingerprint

    def path(self, index: int) -> Path:
        return self.folder / f"chunk-{index:06d}.json"

    def done(self, index: int) -> bool:
        return self.path(index).exists()

    def save(self, index: int, outputs: list[dict[str, Any]], shortfalls: list[dict[str, Any]]) -> None:
        tmp = self.path(index).with_suffix(".tmp")
        tmp.write_text(json.dumps({"outputs": outputs, "shortfalls": shortfalls}))
        os.replace(tmp, self.path(index))

    def load(self, index: int) -> dict[str, Any]:
        return json.loads(self.path(index).read_text())


def write_outputs(job: BulkJob, state: BulkState) -> dict[str, int]:
    tmp = job.out.with_name(job.out.name + ".tmp")
    outputs = shortfalls = 0
    with tmp.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["text", "label", "source_index", "label_prob"])
        writer.writeheader()
        for index in range(len(job.chunks)):
            part = state.load(index)
            writer.writerows(part["outputs"])
            outputs += len(part["outputs"])
            shortfalls += len(part["shortfalls"])
    os.replace(tmp, job.out)
    return {"outputs": outputs, "shortfalls": shortfalls}


def read_rows(path: Path, text_column: str, label_column: str) -> list[tuple[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = {text_column, label_column} - set(reader.fieldnames or [])
        if missing:
            raise SystemExit(
                f"error: {path} has no column {', '.join(sorted(missing))} (has {reader.fieldnames})"
            )
        rows = [(r[text_column], r[label_column]) for r in reader]
    if not rows:
        raise SystemExit(f"error: {path} has no rows")
    return rows
